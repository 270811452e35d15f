//! The contractors' devices: each enrolled with a software passkey and an Ed25519 device key of its
//! own, then calling the brokers as the tunnel service does (daypass-tunnel's `HttpBroker`: every
//! call on the device-bound session signed with the device key, failing over between brokers).

use crate::cluster::{self, BrokerProcesses};
use crate::org;
use anyhow::Result;
use daypass_posture::facts::Facts;
use daypass_proto::api::{AccessRequestView, CeremonyAnswer, CreateAccessRequest, DeviceToBind, EnrollStart};
use daypass_tunnel::broker::{Broker as _, BrokerResult};
use daypass_tunnel::broker_http::HttpBroker;
use ed25519_dalek::SigningKey;
use secrecy::SecretString;
use webauthn_authenticator_rs::prelude::{CreationChallengeResponse, Url};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator as _;

pub struct Device {
    pub index: usize,
    pub id: String,
    ticket: String,
    session: String,
    key: SigningKey,
    client: HttpBroker,
}

impl Device {
    /// Enrolls contractor `index`'s device with `invite` (its calls start at broker `index`, counting
    /// round) and sends its first posture report.
    pub async fn enroll(
        brokers: &BrokerProcesses,
        http: &reqwest::Client,
        index: usize,
        invite: &SecretString,
        facts: &Facts,
    ) -> Result<Device> {
        use base64::Engine as _;
        let (_, ticket, id) = cluster::contractor(index);
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let client = HttpBroker::new(
            http.clone(),
            daypass_https::Brokers::parse(&brokers.list_from(index))?,
            key.clone(),
        );
        let verifier = format!("load-bench-code-verifier-of-device-{index:06}");
        let challenge = client
            .enroll_start(&EnrollStart {
                invite: cluster::text(invite),
                device: DeviceToBind {
                    id: id.clone(),
                    name: "laptop".into(),
                    wireguard_public_key: org::device_key(index),
                    report_public_key: base64::engine::general_purpose::STANDARD
                        .encode(key.verifying_key().as_bytes()),
                },
                passkey_name: "load".into(),
                code_challenge: daypass_proto::pkce::challenge_of(&verifier),
            })
            .await?;
        let options: CreationChallengeResponse = serde_json::from_value(challenge.options)?;
        let credential = SoftPasskey::new(true)
            .do_registration(Url::parse(&challenge.origin)?, options)
            .map_err(|e| anyhow::anyhow!("the software passkey: {e:?}"))?;
        let session = client
            .enroll_finish(&CeremonyAnswer {
                ceremony: challenge.ceremony,
                credential: serde_json::to_value(credential)?,
                code_verifier: Some(verifier),
            })
            .await?;
        let device = Device {
            index,
            id,
            ticket,
            session: session.token,
            key,
            client,
        };
        device.report_posture(facts).await?;
        Ok(device)
    }

    /// A fresh nonce, and the device's facts signed over it.
    pub async fn report_posture(&self, facts: &Facts) -> BrokerResult<()> {
        let nonce = self.client.posture_nonce(&self.session, &self.id).await?;
        let report = daypass_tunnel::posture_check::sign(&self.id, &nonce, facts.clone(), &self.key);
        self.client
            .posture_report(&self.session, &self.id, &report)
            .await?;
        Ok(())
    }

    /// Asks for `resource` for `duration` under the device's ticket.
    pub async fn request(&self, resource: &str, duration: &str) -> BrokerResult<AccessRequestView> {
        let body = CreateAccessRequest {
            device: self.id.clone(),
            resources: vec![resource.into()],
            ticket: self.ticket.clone(),
            reason: "load".into(),
            duration: duration.into(),
        };
        self.client.create_request(&self.session, &body).await
    }
}
