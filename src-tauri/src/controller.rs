//! The app's controller: everything the window asks for goes through here to `daypass-tunneld`
//! over its local socket (the app itself runs nothing privileged and holds no secret). Before each
//! command the service is held against the configuration: a service talking to another broker, or
//! pinning another key, than the configuration names is refused (fail closed).

use crate::config::{Config, ConfigError};
use crate::passkey;
use crate::views::{
    self, AccessForm, Entitlement, HistoryEntry, Overview, PasskeyMethod, Posture, Problem, Session, Ticket,
};
use daypass_client::ipc::client::{ClientError, ServiceClient};
use daypass_proto::api::EntitledResource;
use daypass_proto::ipc::{Answer, Status, ToService};
use std::sync::Mutex;

pub struct Controller {
    /// The configuration, or why it could not be used (then every command says so).
    config: Result<Config, Problem>,
    /// The latest posture check, for "export posture report".
    last_posture: Mutex<Option<Posture>>,
}

pub type Outcome<T> = Result<T, Problem>;

/// What a passkey ceremony starts from: an invite code, or a user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    Enroll(String),
    SignIn(String),
}

impl Controller {
    pub fn new(config: Result<Config, ConfigError>) -> Controller {
        Controller {
            config: config.map_err(|e| Problem::new("config", e.to_string())),
            last_posture: Mutex::new(None),
        }
    }

    fn config(&self) -> Outcome<&Config> {
        self.config.as_ref().map_err(Clone::clone)
    }

    /// A connection to the service, already checked against the configuration.
    pub async fn connect(&self) -> Outcome<(ServiceClient, Status)> {
        let mut client = ServiceClient::connect(&self.config()?.socket)
            .await
            .map_err(service_problem)?;
        let status = match client.ask(&ToService::Status).await.map_err(service_problem)? {
            Answer::Status(s) => s,
            other => return Err(unexpected(&other)),
        };
        self.check_service(&status)?;
        Ok((client, status))
    }

    async fn ask(&self, command: ToService) -> Outcome<Answer> {
        let (mut client, _) = self.connect().await?;
        client.ask(&command).await.map_err(service_problem)
    }

    /// Refuses a service that talks to another broker than the configuration names.
    pub fn check_service(&self, status: &Status) -> Outcome<()> {
        let config = self.config()?;
        let Some(expected) = &config.expected else {
            return Ok(());
        };
        let same_url = status.broker.trim_end_matches('/') == expected.broker_url.trim_end_matches('/');
        if same_url && status.broker_key == expected.broker_key {
            return Ok(());
        }
        let what = if same_url {
            "pins another broker key"
        } else {
            "talks to another broker"
        };
        Err(Problem::new(
            "wrong-broker",
            format!(
                "the Daypass tunnel service {what} ({}) than {} names ({}): nothing will be requested through it; ask IT to set the service up with the managed configuration",
                status.broker, config.source, expected.broker_url
            ),
        ))
    }

    pub fn overview_of(&self, status: &Status) -> Outcome<Overview> {
        let config = self.config()?;
        Ok(Overview {
            device: status.device.clone(),
            signed_in: status.signed_in.clone(),
            broker: views::BrokerView {
                url: status.broker.clone(),
                managed: config.managed,
                source: config.source.clone(),
            },
            session: views::session(&status.session),
        })
    }

    pub async fn overview(&self) -> Outcome<Overview> {
        let (_, status) = self.connect().await?;
        self.overview_of(&status)
    }

    /// Enrolls this device from an invite (`Start::Enroll`) or signs in (`Start::SignIn`): the
    /// passkey ceremony is answered here (never in the web view, which has no WebAuthn), then the
    /// service binds its keys (enrollment) and keeps the session.
    pub async fn passkey(
        &self,
        start: Start,
        method: PasskeyMethod,
        on_page: impl Fn(&str),
    ) -> Outcome<String> {
        let (value, ask) = match &start {
            Start::Enroll(invite) => (invite.trim(), "enter the invite code IT sent you"),
            Start::SignIn(person) => (person.trim(), "enter your user name"),
        };
        if value.is_empty() {
            return Err(Problem::new("bad-request", ask));
        }
        let value = value.to_string();
        let command = match start {
            Start::Enroll(_) => ToService::Enroll { invite: value },
            Start::SignIn(_) => ToService::SignIn { person: value },
        };
        self.ceremony(command, method, on_page).await
    }

    async fn ceremony(
        &self,
        start: ToService,
        method: PasskeyMethod,
        on_page: impl Fn(&str),
    ) -> Outcome<String> {
        let (mut client, _) = self.connect().await?;
        let (ceremony, options, origin) = match client.ask(&start).await.map_err(service_problem)? {
            Answer::Ceremony {
                ceremony,
                options,
                origin,
            } => (ceremony, options, origin),
            other => return Err(unexpected(&other)),
        };
        let credential = passkey::answer(method, ceremony, options, &origin, on_page).await?;
        match client
            .ask(&ToService::FinishCeremony { credential })
            .await
            .map_err(service_problem)?
        {
            Answer::SignedIn { person } => Ok(person),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn sign_out(&self) -> Outcome<()> {
        self.ask(ToService::Logout).await.map(|_| ())
    }

    async fn entitled(&self) -> Outcome<Vec<EntitledResource>> {
        match self.ask(ToService::Entitlements).await? {
            Answer::Entitlements { resources } => Ok(resources),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn entitlements(&self) -> Outcome<Vec<Entitlement>> {
        Ok(self.entitled().await?.iter().map(views::entitlement).collect())
    }

    /// Checks posture now; each failing check names the resources it keeps closed (when signed in:
    /// the entitlements say which checks gate what).
    pub async fn check_posture(&self) -> Outcome<Posture> {
        let view = match self.ask(ToService::Posture).await? {
            Answer::Posture(p) => p,
            other => return Err(unexpected(&other)),
        };
        let entitled = self.entitled().await.unwrap_or_default();
        #[allow(clippy::disallowed_methods)] // when the check was made, as shown and exported
        let posture = views::posture(&view, &entitled, time::OffsetDateTime::now_utc());
        *self.last_posture.lock().unwrap_or_else(|p| p.into_inner()) = Some(posture.clone());
        Ok(posture)
    }

    /// The latest posture check, made now if there was none.
    pub async fn latest_posture(&self) -> Outcome<Posture> {
        let kept = self
            .last_posture
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match kept {
            Some(p) => Ok(p),
            None => self.check_posture().await,
        }
    }

    pub async fn check_ticket(&self, ticket: String) -> Outcome<Ticket> {
        match self.ask(ToService::CheckTicket { ticket }).await? {
            Answer::Ticket(t) => Ok(views::ticket(t)),
            other => Err(unexpected(&other)),
        }
    }

    /// Asks for access; the service reports posture first. The answer is the session it led to
    /// (active, pending, or closed with the denial).
    pub async fn request_access(&self, form: AccessForm) -> Outcome<Session> {
        if form.resources.is_empty() {
            return Err(Problem::new("bad-request", "choose at least one resource"));
        }
        let command = ToService::Request {
            resources: form.resources,
            ticket: form.ticket.trim().to_string(),
            duration: form.duration.trim().to_string(),
            reason: form.reason.trim().to_string(),
        };
        match self.ask(command).await? {
            Answer::Status(s) => Ok(views::session(&s.session)),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn disconnect(&self) -> Outcome<Session> {
        match self.ask(ToService::Down).await? {
            Answer::Status(s) => Ok(views::session(&s.session)),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn history(&self) -> Outcome<Vec<HistoryEntry>> {
        match self.ask(ToService::History).await? {
            Answer::History { requests } => Ok(requests.iter().map(views::history_entry).collect()),
            other => Err(unexpected(&other)),
        }
    }
}

/// What went wrong talking to the service, said for the person at the screen.
pub fn service_problem(e: ClientError) -> Problem {
    match e {
        ClientError::Refused(r) => r.into(),
        ClientError::Connect { .. } => Problem::new("service-unreachable", e.to_string()),
        other => Problem::new("service", format!("the Daypass tunnel service: {other}")),
    }
}

fn unexpected(answer: &Answer) -> Problem {
    let kind = serde_json::to_value(answer)
        .ok()
        .and_then(|v| v["kind"].as_str().map(String::from))
        .unwrap_or_default();
    Problem::new(
        "service",
        format!("the Daypass tunnel service gave an answer ({kind}) this app does not expect: update the app or the service"),
    )
}
