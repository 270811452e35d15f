//! The broker over HTTPS (`/api/v1`, bearer token, the pinned broker certificate); every call has a
//! 10 s limit so a hung broker cannot hold the service. Calls with a passkey session token are
//! signed with the device's key (`Daypass-Signature`), as the broker demands of device-bound sessions.

use crate::broker::{Broker, BrokerError, BrokerResult};
use daypass_posture::evaluate::Report;
use daypass_posture::signed_report::ReportClaims;
use daypass_proto::api::{
    AccessRequestView, CeremonyAnswer, Challenge, CreateAccessRequest, EnrollStart, EntitledResource,
    GatewayPeer, GrantView, Me, SessionIssued, SignInStart, TicketCheck,
};
use daypass_proto::request_signature;
use daypass_proto::{Problem, Signed};
use ed25519_dalek::SigningKey;
use serde::de::DeserializeOwned;
use std::time::Duration;
use uuid::Uuid;

const CALL_LIMIT: Duration = Duration::from_secs(10);

/// `host[:port]` as an HTTP client names it in `Host` (the port only when not the scheme's own).
fn host_of(base_url: &str) -> String {
    match reqwest::Url::parse(base_url) {
        Ok(url) => {
            let host = url.host_str().unwrap_or_default();
            match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_string(),
            }
        }
        Err(_) => String::new(),
    }
}

#[derive(Clone)]
pub struct HttpBroker {
    client: reqwest::Client,
    /// The brokers (several sharing one database): a call that cannot reach one goes to the next.
    brokers: daypass_https::Brokers,
    /// The device's report-signing key, which signs every request made with a session token.
    device_key: SigningKey,
}

impl std::fmt::Debug for HttpBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpBroker")
            .field("broker", &self.brokers.current())
            .finish_non_exhaustive()
    }
}

impl HttpBroker {
    pub fn new(client: reqwest::Client, brokers: daypass_https::Brokers, device_key: SigningKey) -> Self {
        HttpBroker {
            client,
            brokers,
            device_key,
        }
    }

    /// One call; `token` is an API token, a session token (then the request is signed), or none.
    async fn call<T: DeserializeOwned>(
        &self,
        token: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> BrokerResult<T> {
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        // Built for each broker tried: the signature names the broker's host.
        let request = |base: &str| {
            let mut req = self
                .client
                .request(method.clone(), format!("{base}{path}"))
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .timeout(CALL_LIMIT);
            if let Some(t) = token {
                req = req.bearer_auth(t);
                if t.starts_with("dps_") {
                    let host = host_of(base);
                    let signed = request_signature::Request {
                        method: method.as_str(),
                        host: &host,
                        path_and_query: path,
                        token: t,
                        body: bytes.as_bytes(),
                    };
                    let at = crate::clock::now().unix_timestamp();
                    let nonce = request_signature::nonce(rand::random());
                    let sig = request_signature::sign(&self.device_key, &signed, at, &nonce);
                    req = req.header(request_signature::HEADER, sig);
                }
            }
            if bytes.is_empty() {
                req
            } else {
                req.body(bytes.clone())
            }
        };
        // The error text of reqwest never holds the token (it is a header), only the URL.
        let resp = self
            .brokers
            .send(request)
            .await
            .map_err(|e| BrokerError::Unreachable(daypass_https::failure(e)))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| BrokerError::Unreachable(daypass_https::failure(e)))?;
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
        self.call(Some(token), reqwest::Method::GET, path, None).await
    }

    async fn post<T: DeserializeOwned>(
        &self,
        token: &str,
        path: &str,
        body: serde_json::Value,
    ) -> BrokerResult<T> {
        self.call(Some(token), reqwest::Method::POST, path, Some(body))
            .await
    }

    /// A ceremony step: no token.
    async fn ceremony<T: DeserializeOwned>(&self, path: &str, body: serde_json::Value) -> BrokerResult<T> {
        self.call(None, reqwest::Method::POST, path, Some(body)).await
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

    async fn requests(&self, token: &str) -> BrokerResult<Vec<AccessRequestView>> {
        self.get(token, "/api/v1/requests").await
    }

    async fn check_ticket(&self, token: &str, key: &str) -> BrokerResult<TicketCheck> {
        self.get(token, &format!("/api/v1/tickets/{key}/check")).await
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

    async fn enroll_start(&self, body: &EnrollStart) -> BrokerResult<Challenge> {
        self.ceremony("/api/v1/passkeys/enroll/start", json(body)).await
    }

    async fn enroll_finish(&self, answer: &CeremonyAnswer) -> BrokerResult<SessionIssued> {
        self.ceremony("/api/v1/passkeys/enroll/finish", json(answer))
            .await
    }

    async fn sign_in_start(&self, body: &SignInStart) -> BrokerResult<Challenge> {
        self.ceremony("/api/v1/passkeys/sign-in/start", json(body)).await
    }

    async fn sign_in_finish(&self, answer: &CeremonyAnswer) -> BrokerResult<SessionIssued> {
        self.ceremony("/api/v1/passkeys/sign-in/finish", json(answer))
            .await
    }

    async fn sign_out(&self, token: &str) -> BrokerResult<()> {
        let _: serde_json::Value = self
            .post(token, "/api/v1/passkeys/sign-out", serde_json::json!({}))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_signed_host_is_the_one_the_client_sends() {
        for (url, host) in [
            ("https://broker.example:8443", "broker.example:8443"),
            ("https://broker.example", "broker.example"),
            ("https://broker.example:443/", "broker.example"),
            ("http://127.0.0.1:18443/", "127.0.0.1:18443"),
            ("https://[::1]:8443", "[::1]:8443"),
        ] {
            assert_eq!(super::host_of(url), host, "{url}");
        }
    }
}
