//! The broker over HTTPS (`/api/v1`, bearer token, the pinned broker certificate); every call has a
//! 10 s limit so a hung broker cannot hold the service.

use crate::broker::{Broker, BrokerError, BrokerResult};
use daypass_posture::evaluate::Report;
use daypass_posture::signed_report::ReportClaims;
use daypass_proto::api::{
    AccessRequestView, CreateAccessRequest, EntitledResource, GatewayPeer, GrantView, Me,
};
use daypass_proto::{Problem, Signed};
use serde::de::DeserializeOwned;
use std::time::Duration;
use uuid::Uuid;

const CALL_LIMIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct HttpBroker {
    client: reqwest::Client,
    base: String,
}

impl HttpBroker {
    pub fn new(client: reqwest::Client, base_url: &str) -> Self {
        HttpBroker {
            client,
            base: base_url.trim_end_matches('/').to_string(),
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> BrokerResult<T> {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .timeout(CALL_LIMIT);
        if let Some(b) = body {
            req = req.json(&b);
        }
        // The error text of reqwest never holds the token (it is a header), only the URL.
        let resp = req
            .send()
            .await
            .map_err(|e| BrokerError::Unreachable(e.without_url().to_string()))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| BrokerError::Unreachable(e.without_url().to_string()))?;
        if !status.is_success() {
            return Err(BrokerError::Refused(
                serde_json::from_slice(&bytes).unwrap_or_else(|_| Problem {
                    kind: format!("urn:daypass:problem:http-{}", status.as_u16()),
                    title: status.to_string(),
                    status: status.as_u16(),
                    detail: format!("the broker answered {status} to {path}"),
                }),
            ));
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            BrokerError::Unreachable(format!(
                "an answer to {path} this client does not understand: {e}"
            ))
        })
    }

    async fn get<T: DeserializeOwned>(&self, token: &str, path: &str) -> BrokerResult<T> {
        self.call(token, reqwest::Method::GET, path, None).await
    }

    async fn post<T: DeserializeOwned>(
        &self,
        token: &str,
        path: &str,
        body: serde_json::Value,
    ) -> BrokerResult<T> {
        self.call(token, reqwest::Method::POST, path, Some(body)).await
    }
}

fn json(value: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

#[async_trait::async_trait]
impl Broker for HttpBroker {
    async fn me(&self, token: &str) -> BrokerResult<Me> {
        self.get(token, "/api/v1/me").await
    }

    async fn entitlements(&self, token: &str) -> BrokerResult<Vec<EntitledResource>> {
        self.get(token, "/api/v1/entitlements").await
    }

    async fn create_request(
        &self,
        token: &str,
        body: &CreateAccessRequest,
    ) -> BrokerResult<AccessRequestView> {
        self.post(token, "/api/v1/requests", json(body)).await
    }

    async fn request(&self, token: &str, id: Uuid) -> BrokerResult<AccessRequestView> {
        self.get(token, &format!("/api/v1/requests/{id}")).await
    }

    async fn grant(&self, token: &str, id: Uuid) -> BrokerResult<GrantView> {
        self.get(token, &format!("/api/v1/grants/{id}")).await
    }

    async fn gateway_peer(&self, token: &str, grant: Uuid) -> BrokerResult<Signed<GatewayPeer>> {
        self.get(token, &format!("/api/v1/grants/{grant}/gateway")).await
    }

    async fn posture_nonce(&self, token: &str, device: &str) -> BrokerResult<String> {
        #[derive(serde::Deserialize)]
        struct Nonce {
            nonce: String,
        }
        let n: Nonce = self
            .post(
                token,
                "/api/v1/posture/nonce",
                serde_json::json!({ "device": device }),
            )
            .await?;
        Ok(n.nonce)
    }

    async fn posture_report(
        &self,
        token: &str,
        device: &str,
        report: &Signed<ReportClaims>,
    ) -> BrokerResult<Report> {
        #[derive(serde::Deserialize)]
        struct Record {
            report: Report,
        }
        let record: Record = self
            .post(
                token,
                "/api/v1/posture/reports",
                serde_json::json!({ "device": device, "report": report }),
            )
            .await?;
        Ok(record.report)
    }
}
