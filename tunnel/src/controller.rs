//! The tunnel service's one owner of the contractor's session: it takes the app's commands, the
//! broker's news (from `poller`) and the clock's ticks, drives the pure `Session` with the wall
//! clock passed in, and does what it says to the interface. It keeps what it needs to survive a
//! restart (the live grant and its gateway peer, both broker-signed and verified again on load).

use crate::broker::Broker;
use crate::device::DeviceKeys;
use crate::errands::{refusal, Errands, TOKEN};
use crate::interface::Tunnel;
use crate::kept::{Kept, Live};
pub use crate::messages::{Command, Errand, News, Reply, Watched};
use crate::posture_check::PostureSource;
use crate::secrets::SecretStore;
use crate::session::{Action, Event, Session, State};
use crate::split;
use crate::view::session_view;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use daypass_posture::policy::Policy;
use daypass_proto::api::{
    AccessRequestView, CreateAccessRequest, GrantStatus, GrantView, RequestStatus, SuspensionView,
};
use daypass_proto::duration::parse_duration;
use daypass_proto::ipc::{self, Answer, DeviceInfo, Refusal, SessionView, Status, ToService};
use daypass_proto::Grant;
use ed25519_dalek::VerifyingKey;
use secrecy::{ExposeSecret as _, SecretString};
use std::path::PathBuf;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tokio::sync::{broadcast, mpsc, watch};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Settings {
    pub device: String,
    pub interface: String,
    /// The broker's base URL (shown to the app; the HTTP client holds its own copy).
    pub broker_url: String,
    /// The broker's grant-signing key as IT installed it: nothing unsigned by it is brought up.
    pub broker_key: VerifyingKey,
    pub state_dir: PathBuf,
    pub warning: Duration,
    /// The policy this device judges itself by when the broker's verdict is not at hand.
    pub posture_policy: Policy,
}

pub struct Controller<B, T> {
    settings: Settings,
    broker: Arc<B>,
    tunnel: T,
    keys: DeviceKeys,
    errands: Arc<Errands<B>>,
    session: Session,
    live: Option<Live>,
    person: Option<String>,
    events: broadcast::Sender<ipc::Event>,
    watched: watch::Sender<Watched>,
    /// The last session view pushed, so ticks push only changes (and the countdown once a second).
    last_pushed: Option<SessionView>,
    /// Why the broker holds the grant in force, while it does.
    suspended: Option<SuspensionView>,
    /// How often the broker wants posture while the grant in force runs (`rechecker` follows it).
    recheck: watch::Sender<Option<std::time::Duration>>,
}

impl<B: Broker, T: Tunnel> Controller<B, T> {
    /// Starts from what a previous run kept: whatever interface a crashed run left is removed, an
    /// expired session is closed, and a live one is brought up again.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        settings: Settings,
        broker: Arc<B>,
        tunnel: T,
        secrets: SecretStore,
        keys: DeviceKeys,
        posture: Arc<PostureSource>,
        news: mpsc::Sender<News>,
        now: OffsetDateTime,
    ) -> (Self, watch::Receiver<Watched>) {
        let (events, _) = broadcast::channel(64);
        let errands = Arc::new(Errands {
            broker: broker.clone(),
            secrets,
            device: settings.device.clone(),
            report_key: keys.report_key().clone(),
            posture,
            policy: settings.posture_policy.clone(),
            events: events.clone(),
            news,
            wireguard_public: keys.wireguard_public(),
            ceremony: Default::default(),
        });
        let (watched, watching) = watch::channel(Watched::Nothing);
        let kept = Kept::load(&settings.state_dir);
        let resumed = kept
            .live
            .and_then(|l| l.verify(&settings.broker_key).map(|g| (l, g)));
        let (live, grant) = resumed.unzip();
        let (session, actions) = Session::resume(grant, settings.warning, now);
        let mut c = Controller {
            settings,
            broker,
            tunnel,
            keys,
            errands,
            session,
            live,
            person: kept.person,
            events,
            watched,
            last_pushed: None,
            suspended: None,
            recheck: watch::Sender::new(None),
        };
        if let Err(e) = c.apply(actions, now) {
            tracing::warn!(error = %e.message, "could not bring the kept session back up");
        }
        c.watch_grant();
        c.persist();
        (c, watching)
    }

    pub fn events(&self) -> broadcast::Sender<ipc::Event> {
        self.events.clone()
    }

    /// The task that re-checks posture while a watched grant is in force; spawn it beside the
    /// service loop.
    pub fn rechecker(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        crate::rechecker::run(self.errands.clone(), self.recheck.subscribe())
    }

    fn persist(&self) {
        Kept {
            person: self.person.clone(),
            live: self.live.clone(),
        }
        .save(&self.settings.state_dir);
    }

    fn token(&self) -> Result<SecretString, Refusal> {
        self.errands.token()
    }

    /// The commands that run beside the controller, as futures that do not borrow it; any other
    /// command is given back.
    pub fn errand(&self, command: ToService) -> Result<Errand, ToService> {
        let errands = self.errands.clone();
        match command {
            ToService::Login { token } => Ok(Box::pin(async move { errands.login(token).await })),
            ToService::Posture => Ok(Box::pin(async move { errands.posture().await })),
            ToService::Entitlements => Ok(Box::pin(async move { errands.entitlements().await })),
            ToService::CheckTicket { ticket } => {
                Ok(Box::pin(async move { errands.check_ticket(ticket).await }))
            }
            ToService::History => Ok(Box::pin(async move { errands.history().await })),
            ToService::Enroll { invite } => Ok(Box::pin(async move { errands.enroll(invite).await })),
            ToService::SignIn { person } => Ok(Box::pin(async move { errands.sign_in(person).await })),
            ToService::FinishCeremony { credential } => {
                Ok(Box::pin(async move { errands.finish_ceremony(credential).await }))
            }
            other => Err(other),
        }
    }

    pub fn status(&self, now: OffsetDateTime) -> Status {
        Status {
            device: self.settings.device.clone(),
            signed_in: self.person.clone(),
            interface: self.settings.interface.clone(),
            broker: self.settings.broker_url.clone(),
            broker_key: B64.encode(self.settings.broker_key.as_bytes()),
            session: session_view(&self.session.state, self.suspended.as_ref(), now),
            at: now,
        }
    }

    /// Pushes the session to watchers when it changed (a countdown changes once a second).
    fn push(&mut self, now: OffsetDateTime) {
        let view = session_view(&self.session.state, self.suspended.as_ref(), now);
        if self.last_pushed.as_ref() != Some(&view) {
            self.last_pushed = Some(view);
            let _ = self.events.send(ipc::Event::Session {
                status: self.status(now),
            });
        }
    }

    /// Does what the session asked. A tunnel that cannot come up is taken down again at once and
    /// the session closed: nothing stays half-made.
    fn apply(&mut self, actions: Vec<Action>, now: OffsetDateTime) -> Result<(), Refusal> {
        // Most ticks change nothing: the kept session is written only when something happened.
        let mut changed = !actions.is_empty();
        let mut result = Ok(());
        for action in actions {
            match action {
                Action::BringUp(grant) => {
                    if let Err(why) = self.bring_up(&grant) {
                        tracing::error!(grant = %grant.id, error = %why, "the tunnel did not come up");
                        let more = self
                            .session
                            .handle(Event::RequestFailed { reason: why.clone() }, now);
                        self.apply(more, now)?;
                        result = Err(refusal("tunnel", why));
                    } else {
                        tracing::info!(grant = %grant.id, not_after = %grant.not_after, "tunnel up");
                    }
                }
                Action::TearDown => {
                    if let Err(e) = self.tunnel.down() {
                        tracing::error!(error = %e, "could not remove the tunnel interface");
                    }
                    tracing::info!(state = ?self.session.state, "tunnel down");
                }
                Action::Warn { left } => {
                    let _ = self.events.send(ipc::Event::Warning {
                        seconds_left: left.whole_seconds(),
                    });
                }
            }
        }
        // A grant no longer held is forgotten (after the actions: a resume tears down, then brings
        // the same grant up again), and the broker is asked about nothing once nothing is pending.
        if self.session.grant().is_none() {
            changed |= self.live.take().is_some();
            self.suspended = None;
            self.recheck.send_if_modified(|every| every.take().is_some());
            if !matches!(self.session.state, State::PendingApproval { .. }) {
                self.watched
                    .send_if_modified(|w| !matches!(std::mem::take(w), Watched::Nothing));
            }
        }
        if changed {
            self.persist();
        }
        self.push(now);
        result
    }

    fn bring_up(&mut self, grant: &Grant) -> Result<(), String> {
        let live = self.live.as_ref().ok_or("no gateway peer for the grant")?;
        let peer = live
            .peer
            .verify(&self.settings.broker_key)
            .map_err(|e| format!("the gateway peer is not signed by the pinned broker key: {e}"))?;
        let plan = split::plan(grant, &peer).map_err(|e| e.to_string())?;
        self.tunnel.up(&plan).map_err(|e| e.to_string())
    }

    fn watch_grant(&mut self) {
        if let (Some(live), Ok(token)) = (&self.live, self.token()) {
            self.watched.send_replace(Watched::Grant(token, live.id));
        }
    }

    /// A command from the app or the CLI.
    pub async fn command(&mut self, cmd: ToService, now: OffsetDateTime) -> Reply {
        let cmd = match self.errand(cmd) {
            Ok(errand) => return errand.await,
            Err(cmd) => cmd,
        };
        match cmd {
            ToService::Status => Ok(Answer::Status(self.status(now))),
            ToService::Device => Ok(Answer::Device(DeviceInfo {
                device: self.settings.device.clone(),
                wireguard_public_key: self.keys.wireguard_public(),
                report_public_key: self.keys.report_public(),
            })),
            ToService::Logout => {
                let actions = self.session.handle(Event::Disconnect, now);
                self.apply(actions, now)?;
                // A passkey session ends at the broker too (beside the controller: it is a network call).
                if let Ok(token) = self.token() {
                    if token.expose_secret().starts_with("dps_") {
                        let broker = self.broker.clone();
                        tokio::spawn(async move {
                            if let Err(e) = broker.sign_out(token.expose_secret()).await {
                                tracing::warn!(error = %e, "the broker did not take the sign-out; the session ends at its expiry");
                            }
                        });
                    }
                }
                self.errands
                    .secrets
                    .delete(TOKEN)
                    .map_err(|e| refusal("device", e.to_string()))?;
                self.person = None;
                self.persist();
                self.push(now);
                Ok(Answer::Status(self.status(now)))
            }
            ToService::Request {
                resources,
                ticket,
                duration,
                reason,
            } => {
                parse_duration(&duration).map_err(|e| refusal("bad-request", e))?;
                if resources.is_empty() {
                    return Err(refusal("bad-request", "name at least one resource (--resource)"));
                }
                let body = CreateAccessRequest {
                    device: self.settings.device.clone(),
                    resources,
                    ticket,
                    reason,
                    duration,
                };
                self.request(body, now).await
            }
            ToService::Up { grant } => {
                let token = self.begin(now)?;
                match self.adopt(&token, grant, now).await {
                    Ok(()) => Ok(Answer::Status(self.status(now))),
                    Err(r) => Err(self.fail(r, now)),
                }
            }
            ToService::Down => {
                let actions = self.session.handle(Event::Disconnect, now);
                self.apply(actions, now)?;
                Ok(Answer::Status(self.status(now)))
            }
            // The IPC server answers a watch itself.
            ToService::Watch => Ok(Answer::Watching),
            ToService::Login { .. }
            | ToService::Posture
            | ToService::Entitlements
            | ToService::CheckTicket { .. }
            | ToService::History
            | ToService::Enroll { .. }
            | ToService::SignIn { .. }
            // Dispatched as errands above; never here.
            | ToService::FinishCeremony { .. } => Err(refusal("bad-request", "not a command for the controller")),
        }
    }

    /// Starts a new session (`Requesting`) unless one is pending or up.
    fn begin(&mut self, now: OffsetDateTime) -> Result<SecretString, Refusal> {
        let token = self.token()?;
        match &self.session.state {
            State::Idle | State::Closed { .. } => {}
            State::Requesting | State::PendingApproval { .. } => {
                return Err(refusal(
                    "busy",
                    "a request is already waiting: wait for it, or cancel it with daypass down",
                ))
            }
            State::Active { .. } | State::Expiring { .. } => {
                return Err(refusal(
                    "busy",
                    "access is already up: disconnect first with daypass down",
                ))
            }
        }
        self.session.handle(Event::RequestSent, now);
        self.push(now);
        Ok(token)
    }

    /// Closes a session that could not go on, and gives the refusal back.
    fn fail(&mut self, r: Refusal, now: OffsetDateTime) -> Refusal {
        let actions = self.session.handle(
            Event::RequestFailed {
                reason: r.message.clone(),
            },
            now,
        );
        let _ = self.apply(actions, now);
        r
    }

    async fn request(&mut self, body: CreateAccessRequest, now: OffsetDateTime) -> Reply {
        let token = self.begin(now)?;
        // A fresh report first: the broker may want one to decide. Its failure is not the request's
        // (the broker says what it needs); it is logged.
        match self.errands.facts().await {
            Ok(facts) => {
                if let Err(e) = self.errands.send_report(&token, facts).await {
                    tracing::warn!(error = %e, "the posture report before the request was not taken");
                }
            }
            Err(r) => tracing::warn!(error = %r.message, "no posture report before the request"),
        }
        let view = match self.broker.create_request(token.expose_secret(), &body).await {
            Ok(view) => view,
            Err(e) => return Err(self.fail(e.into(), now)),
        };
        tracing::info!(request = %view.id, status = ?view.status, "request sent");
        self.take_request(&token, view, now).await?;
        Ok(Answer::Status(self.status(now)))
    }

    /// Moves the session on from what the broker says about the request.
    async fn take_request(
        &mut self,
        token: &SecretString,
        view: AccessRequestView,
        now: OffsetDateTime,
    ) -> Result<(), Refusal> {
        match (view.status, view.grant_id) {
            (RequestStatus::Pending, _) => {
                let actions = self
                    .session
                    .handle(Event::AwaitingApproval { request: view.id }, now);
                self.apply(actions, now)?;
                self.watched
                    .send_replace(Watched::Request(token.clone(), view.id));
                Ok(())
            }
            (RequestStatus::Granted, Some(grant)) => match self.adopt(token, grant, now).await {
                Ok(()) => Ok(()),
                Err(r) => Err(self.fail(r, now)),
            },
            (RequestStatus::Granted, None) => Err(self.fail(
                refusal("broker", "the broker granted the request but named no grant"),
                now,
            )),
            (RequestStatus::Denied, _) => {
                let reason = view.denial_reason.unwrap_or_else(|| "no reason given".into());
                let actions = self.session.handle(
                    Event::Denied {
                        reason: reason.clone(),
                    },
                    now,
                );
                self.apply(actions, now)?;
                Err(refusal("denied", format!("the request was denied: {reason}")))
            }
            (RequestStatus::Expired, _) => {
                let reason = "no approver decided in time; ask again".to_string();
                let actions = self.session.handle(
                    Event::Denied {
                        reason: reason.clone(),
                    },
                    now,
                );
                self.apply(actions, now)?;
                Err(refusal("expired", format!("the request expired: {reason}")))
            }
        }
    }

    /// Takes up a grant: it and its gateway peer must be signed by the pinned broker key, be for this
    /// device and its key, and plan as a split tunnel; only then does the session bring it up.
    async fn adopt(&mut self, token: &SecretString, id: Uuid, now: OffsetDateTime) -> Result<(), Refusal> {
        let view = self.broker.grant(token.expose_secret(), id).await?;
        let key = &self.settings.broker_key;
        let grant = view.signed.verify(key).map_err(|e| {
            refusal(
                "tunnel",
                format!("grant {id} is not signed by the pinned broker key ({e}): nothing was brought up"),
            )
        })?;
        if grant.device.id != self.settings.device
            || grant.device.wireguard_public_key != self.keys.wireguard_public()
        {
            return Err(refusal(
                "device",
                format!(
                    "grant {id} is for device {} with another WireGuard key: enroll this device's keys (daypass device)",
                    grant.device.id
                ),
            ));
        }
        if matches!(view.status, GrantStatus::Expired | GrantStatus::Revoked) {
            return Err(refusal("expired", format!("grant {id} has ended")));
        }
        let peer = self.broker.gateway_peer(token.expose_secret(), id).await?;
        let verified = peer.verify(key).map_err(|e| {
            refusal(
                "tunnel",
                format!("the gateway peer is not signed by the pinned broker key ({e})"),
            )
        })?;
        split::plan(&grant, &verified).map_err(|e| refusal("tunnel", e.to_string()))?;
        self.live = Some(Live {
            id,
            grant: view.signed,
            peer,
        });
        let actions = self.session.handle(Event::Granted(Box::new(grant)), now);
        self.apply(actions, now)?;
        if self.session.grant().is_none() {
            return Err(refusal(
                "expired",
                format!("grant {id} ended before it could be used"),
            ));
        }
        self.watch_grant();
        Ok(())
    }

    /// What the poller heard from the broker.
    pub async fn news(&mut self, news: News, now: OffsetDateTime) {
        match news {
            News::Request(view) => {
                let waiting =
                    matches!(self.session.state, State::PendingApproval { request } if request == view.id);
                if waiting && view.status != RequestStatus::Pending {
                    if let Ok(token) = self.token() {
                        if let Err(r) = self.take_request(&token, *view, now).await {
                            tracing::info!(code = %r.code, "{}", r.message);
                        }
                    }
                }
            }
            News::SignedIn { person } => {
                self.person = Some(person);
                self.persist();
                self.watch_grant();
                self.push(now);
            }
            News::Grant(view) => {
                let ours = self.session.grant().is_some_and(|g| g.id == view.grant.id);
                if !ours {
                    return;
                }
                if matches!(view.status, GrantStatus::Revoked | GrantStatus::Expired) {
                    let reason = view.end_reason.unwrap_or_else(|| "ended by the broker".into());
                    let actions = self.session.handle(Event::Revoked { reason }, now);
                    let _ = self.apply(actions, now);
                } else {
                    self.follow_verification(&view, now);
                }
            }
        }
    }

    /// Takes the broker's word on the grant in force: held or not (the tunnel stays up either way;
    /// the gateway is what lets traffic through) and how often it wants posture re-checked.
    fn follow_verification(&mut self, view: &GrantView, now: OffsetDateTime) {
        let suspended = match view.status {
            GrantStatus::Suspended => view.suspension.clone(),
            _ => None,
        };
        if suspended != self.suspended {
            match &suspended {
                Some(s) => {
                    tracing::warn!(grant = %view.grant.id, reason = %s.reason, detail = %s.detail, "the broker holds the grant")
                }
                None => tracing::info!(grant = %view.grant.id, "the broker released the grant"),
            }
            self.suspended = suspended;
            self.push(now);
        }
        let every = view
            .posture_recheck_seconds
            .and_then(|s| u64::try_from(s).ok())
            .filter(|s| *s > 0)
            .map(std::time::Duration::from_secs);
        self.recheck.send_if_modified(|current| {
            let changed = *current != every;
            *current = every;
            changed
        });
    }

    /// Time passed: closes at `not_after` (however late the tick, e.g. after suspend), warns before.
    pub fn tick(&mut self, now: OffsetDateTime) {
        let actions = self.session.handle(Event::Tick, now);
        let _ = self.apply(actions, now);
    }

    /// The service is stopping: the interface goes (the kept session resumes on the next start if
    /// its grant is still live).
    pub fn shut_down(&mut self) {
        if self.session.grant().is_some() {
            if let Err(e) = self.tunnel.down() {
                tracing::error!(error = %e, "could not remove the tunnel interface");
            }
        }
    }
}
