//! What the tunnel service asks of the broker, as a trait so the controller can be tested around a
//! scripted broker; `broker_http` is the real one over HTTPS.

use daypass_posture::evaluate::Report;
use daypass_posture::signed_report::ReportClaims;
use daypass_proto::api::{
    AccessRequestView, CeremonyAnswer, Challenge, CreateAccessRequest, EnrollStart, EntitledResource,
    GatewayPeer, GrantView, Me, SessionIssued, SignInStart, TicketCheck,
};
use daypass_proto::{Problem, Signed};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokerError {
    /// The broker answered with a problem (not entitled, ticket refused, …).
    #[error("{}", .0.detail)]
    Refused(Problem),
    #[error("the broker cannot be reached ({0}); check the network and try again")]
    Unreachable(String),
}

impl BrokerError {
    /// The problem's kind without its `urn:daypass:problem:` prefix, or `broker-unreachable`.
    pub fn code(&self) -> String {
        match self {
            BrokerError::Refused(p) => p.kind.rsplit(':').next().unwrap_or("refused").to_string(),
            BrokerError::Unreachable(_) => "broker-unreachable".into(),
        }
    }
}

pub type BrokerResult<T> = Result<T, BrokerError>;

#[async_trait::async_trait]
pub trait Broker: Send + Sync + 'static {
    async fn me(&self, token: &str) -> BrokerResult<Me>;
    async fn entitlements(&self, token: &str) -> BrokerResult<Vec<EntitledResource>>;
    /// The signed-in person's requests, newest first.
    async fn requests(&self, token: &str) -> BrokerResult<Vec<AccessRequestView>>;
    /// What the ticket system says of `key` for the signed-in person (`key` is already checked
    /// to be a ticket key).
    async fn check_ticket(&self, token: &str, key: &str) -> BrokerResult<TicketCheck>;
    async fn create_request(
        &self,
        token: &str,
        body: &CreateAccessRequest,
    ) -> BrokerResult<AccessRequestView>;
    async fn request(&self, token: &str, id: Uuid) -> BrokerResult<AccessRequestView>;
    async fn grant(&self, token: &str, id: Uuid) -> BrokerResult<GrantView>;
    async fn gateway_peer(&self, token: &str, grant: Uuid) -> BrokerResult<Signed<GatewayPeer>>;
    /// A single-use nonce for the device's next posture report.
    async fn posture_nonce(&self, token: &str, device: &str) -> BrokerResult<String>;
    /// Sends a signed report; the answer is the broker's own evaluation of it.
    async fn posture_report(
        &self,
        token: &str,
        device: &str,
        report: &Signed<ReportClaims>,
    ) -> BrokerResult<Report>;
    /// Passkey ceremonies (no token: they are how a session is had).
    async fn enroll_start(&self, body: &EnrollStart) -> BrokerResult<Challenge>;
    async fn enroll_finish(&self, answer: &CeremonyAnswer) -> BrokerResult<SessionIssued>;
    async fn sign_in_start(&self, body: &SignInStart) -> BrokerResult<Challenge>;
    async fn sign_in_finish(&self, answer: &CeremonyAnswer) -> BrokerResult<SessionIssued>;
    /// Ends a passkey session at the broker.
    async fn sign_out(&self, token: &str) -> BrokerResult<()>;
}
