//! The commands that talk to the broker or probe the machine while a tunnel may be up (sign-in,
//! posture, entitlements). They run beside the controller, never inside it, so a slow broker or a
//! slow package manager cannot hold up the expiry the controller enforces; what they change in
//! the session comes back to it as news.

use crate::broker::{Broker, BrokerError};
use crate::messages::{News, Reply};
use crate::posture_check::{self, PostureSource};
use crate::secrets::SecretStore;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use daypass_posture::evaluate::Report;
use daypass_posture::facts::Facts;
use daypass_posture::policy::Policy;
use daypass_proto::api::{
    validate_ticket_key, CeremonyAnswer, Challenge, DeviceToBind, EnrollStart, SignInStart,
};
use daypass_proto::ipc::{self, Answer, Refusal};
use ed25519_dalek::SigningKey;
use secrecy::{ExposeSecret as _, SecretString};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};

pub const TOKEN: &str = "broker-token";

pub fn refusal(code: &str, message: impl Into<String>) -> Refusal {
    Refusal {
        code: code.into(),
        message: message.into(),
    }
}

impl From<BrokerError> for Refusal {
    fn from(e: BrokerError) -> Self {
        refusal(&e.code(), e.to_string())
    }
}

pub struct Errands<B> {
    pub broker: Arc<B>,
    pub secrets: SecretStore,
    pub device: String,
    pub report_key: SigningKey,
    pub posture: Arc<PostureSource>,
    pub policy: Policy,
    pub events: broadcast::Sender<ipc::Event>,
    pub news: mpsc::Sender<News>,
    /// This device's WireGuard public key, bound at enrollment.
    pub wireguard_public: String,
    /// The passkey ceremony handed to the contractor's authenticator and not yet answered.
    pub ceremony: std::sync::Mutex<Option<Pending>>,
}

/// A passkey ceremony waiting for the authenticator's answer, with the PKCE code verifier this
/// service keeps (only its challenge went to the broker; the answer comes back through the
/// unprivileged CLI and the browser, the verifier never does).
#[derive(Debug)]
pub struct Pending {
    kind: CeremonyKind,
    ceremony: uuid::Uuid,
    code_verifier: SecretString,
}

#[derive(Debug, Clone, Copy)]
enum CeremonyKind {
    Enroll,
    SignIn,
}

/// A fresh PKCE code verifier (32 random bytes, base64url) and its S256 challenge.
fn code_verifier() -> (SecretString, String) {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let verifier = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let challenge = daypass_proto::pkce::challenge_of(&verifier);
    (SecretString::from(verifier), challenge)
}

impl<B: Broker> Errands<B> {
    /// The stored broker token, or a refusal saying to sign in.
    pub fn token(&self) -> Result<SecretString, Refusal> {
        let stored = self
            .secrets
            .get(TOKEN)
            .map_err(|e| refusal("device", e.to_string()))?;
        stored
            .and_then(|t| String::from_utf8(t.to_vec()).ok())
            .map(SecretString::from)
            .ok_or_else(|| refusal("not-signed-in", "not signed in: run daypass login first"))
    }

    /// Signs in with a broker token: it must name a person who has this device enrolled.
    pub async fn login(&self, token: String) -> Reply {
        let token = SecretString::from(token.trim().to_string());
        let me = self.broker.me(token.expose_secret()).await?;
        if !me.devices.contains(&self.device) {
            return Err(refusal(
                "device",
                format!(
                    "{} has no device {:?} at the broker: ask IT to enroll it with the keys `daypass device` shows",
                    me.id, self.device
                ),
            ));
        }
        self.signed_in(me.id, &token).await
    }

    /// Keeps the token and tells the controller who is signed in.
    async fn signed_in(&self, person: String, token: &SecretString) -> Reply {
        self.secrets
            .put(TOKEN, token.expose_secret().as_bytes())
            .map_err(|e| refusal("device", e.to_string()))?;
        tracing::info!(person = %person, "signed in");
        let _ = self
            .news
            .send(News::SignedIn {
                person: person.clone(),
            })
            .await;
        Ok(Answer::SignedIn { person })
    }

    fn hand_out(&self, challenge: Challenge, kind: CeremonyKind, code_verifier: SecretString) -> Reply {
        if let Ok(mut slot) = self.ceremony.lock() {
            *slot = Some(Pending {
                kind,
                ceremony: challenge.ceremony,
                code_verifier,
            });
        }
        Ok(Answer::Ceremony {
            ceremony: challenge.ceremony,
            options: challenge.options,
            origin: challenge.origin,
        })
    }

    /// Starts enrolling this device (its keys) from an invite.
    pub async fn enroll(&self, invite: String) -> Reply {
        let (code_verifier, code_challenge) = code_verifier();
        let body = EnrollStart {
            invite: invite.trim().to_string(),
            device: DeviceToBind {
                id: self.device.clone(),
                name: self.device.clone(),
                wireguard_public_key: self.wireguard_public.clone(),
                report_public_key: B64.encode(self.report_key.verifying_key().as_bytes()),
            },
            passkey_name: String::new(),
            code_challenge,
        };
        let challenge = self.broker.enroll_start(&body).await?;
        self.hand_out(challenge, CeremonyKind::Enroll, code_verifier)
    }

    /// Starts signing in with a passkey, for a session bound to this device.
    pub async fn sign_in(&self, person: String) -> Reply {
        let (code_verifier, code_challenge) = code_verifier();
        let body = SignInStart {
            person: person.trim().to_string(),
            device: self.device.clone(),
            code_challenge,
        };
        let challenge = self.broker.sign_in_start(&body).await?;
        self.hand_out(challenge, CeremonyKind::SignIn, code_verifier)
    }

    /// The authenticator answered: the broker checks it and opens a session bound to this device.
    pub async fn finish_ceremony(&self, credential: serde_json::Value) -> Reply {
        let pending = self.ceremony.lock().ok().and_then(|mut slot| slot.take());
        let Some(pending) = pending else {
            return Err(refusal(
                "bad-request",
                "no passkey ceremony is waiting: start with daypass enroll or daypass login --person",
            ));
        };
        let answer = CeremonyAnswer {
            ceremony: pending.ceremony,
            credential,
            code_verifier: Some(pending.code_verifier.expose_secret().to_string()),
        };
        let issued = match pending.kind {
            CeremonyKind::Enroll => self.broker.enroll_finish(&answer).await?,
            CeremonyKind::SignIn => self.broker.sign_in_finish(&answer).await?,
        };
        if issued.device != self.device {
            return Err(refusal(
                "device",
                "the broker bound the session to another device",
            ));
        }
        self.signed_in(issued.person, &SecretString::from(issued.token))
            .await
    }

    /// Checks posture now and, when signed in, sends the signed report; the broker's verdict is
    /// shown when it answered, this device's own reading otherwise.
    pub async fn posture(&self) -> Reply {
        let facts = self.facts().await?;
        let sent = match self.token() {
            Ok(token) => self
                .send_report(&token, facts.clone())
                .await
                .map_err(|e| e.to_string()),
            Err(r) => Err(r.message),
        };
        let (report, sent) = match sent {
            Ok(report) => (report, Ok(())),
            Err(why) => (
                posture_check::local_verdict(&facts, &self.policy, crate::clock::now()),
                Err(why),
            ),
        };
        let _ = self.events.send(ipc::Event::Posture {
            compliant: report.compliant,
        });
        Ok(Answer::Posture(posture_check::view(&report, sent)))
    }

    pub async fn entitlements(&self) -> Reply {
        let token = self.token()?;
        let resources = self.broker.entitlements(token.expose_secret()).await?;
        Ok(Answer::Entitlements { resources })
    }

    /// What the broker's ticket check says of `ticket`; a key that cannot be one is refused here,
    /// before it becomes part of a URL.
    pub async fn check_ticket(&self, ticket: String) -> Reply {
        let key = ticket.trim();
        // The broker's rule, and no leading dot: the key becomes a URL path segment.
        if validate_ticket_key(key).is_err() || key.starts_with('.') {
            return Err(refusal(
                "bad-request",
                format!("{key:?} is not a ticket key: expected something like OPS-142"),
            ));
        }
        let token = self.token()?;
        Ok(Answer::Ticket(
            self.broker.check_ticket(token.expose_secret(), key).await?,
        ))
    }

    /// The requests made from this device, newest first.
    pub async fn history(&self) -> Reply {
        let token = self.token()?;
        let mut requests = self.broker.requests(token.expose_secret()).await?;
        requests.retain(|r| r.device == self.device);
        Ok(Answer::History { requests })
    }

    /// Runs every probe off the async threads (seconds when the package manager is asked afresh).
    pub async fn facts(&self) -> Result<Facts, Refusal> {
        let source = self.posture.clone();
        tokio::task::spawn_blocking(move || source.facts())
            .await
            .map_err(|e| refusal("device", format!("the posture check stopped: {e}")))
    }

    /// Sends a report signed over a fresh nonce; the answer is the broker's evaluation.
    pub async fn send_report(&self, token: &SecretString, facts: Facts) -> Result<Report, BrokerError> {
        let nonce = self
            .broker
            .posture_nonce(token.expose_secret(), &self.device)
            .await?;
        let signed = posture_check::sign(&self.device, &nonce, facts, &self.report_key);
        self.broker
            .posture_report(token.expose_secret(), &self.device, &signed)
            .await
    }
}
