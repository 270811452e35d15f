//! Just-in-time access: requests (decided by the domain's pure `decide`), approvals and denials here;
//! the approvers' queue, grants and revocations, evidence, continuous posture verification, ending
//! what a person may no longer request, and the sweep that ends what is due in the children.

mod approval_queue;
mod evidence;
mod gateway_stream;
mod grants;
mod matrix;
mod narrowed;
mod reports;
mod sweep;
mod verification;

pub use approval_queue::{PendingDecision, ResourceLine, TicketNow};
pub use evidence::EvidenceBundle;
pub use gateway_stream::{StreamHeld, StreamNext};
pub(crate) use matrix::MatrixCopy;
pub(crate) use reports::ReportCopies;

use crate::domain::decision::{decide, Accepted, AccessQuestion, PostureVerdict, StepUpState};
use crate::domain::directory::Person;
use crate::domain::entitlement::{entitled_resources, MatrixRefusal};
use crate::domain::grant::{self, GrantRecord};
use crate::domain::policy::{ApprovalPolicy, Decision};
use crate::domain::request::{AccessRequest, RequestState};
use crate::domain::ticket::{check_ticket, is_assigned_to, validate_ticket_key, Ticket, TicketProblem};
use crate::store::{self, Change, Insertion, Stale, StoreError};
use crate::{
    Broker, Caller, Conflict, Forbidden, InvalidInput, Missing, ServiceError, ServiceResult, StepUp,
};
use daypass_proto::api::{
    AccessRequestView, CreateAccessRequest, EntitledResource, Me, RequestStatus, TicketCheck, TicketVerdict,
};
use daypass_proto::duration::parse_duration;
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const MAX_REASON_CHARS: usize = 2000;
/// Requests one person may have waiting for a decision at once.
const MAX_WAITING_PER_PERSON: i64 = 10;

impl Broker {
    pub async fn me(&self, person: &Person) -> ServiceResult<Me> {
        let mut conn = self.store().read().await?;
        let devices = store::devices_of(&mut conn, &person.id).await?;
        Ok(Me {
            id: person.id.clone(),
            name: person.name.clone(),
            company: person.company.clone(),
            roles: person.roles.iter().map(|r| r.to_string()).collect(),
            groups: person.groups.iter().cloned().collect(),
            devices: devices.into_iter().filter(|d| !d.revoked).map(|d| d.id).collect(),
        })
    }

    /// What `person` may request, with tags and maximum durations.
    pub async fn entitlements_of(&self, person: &Person) -> ServiceResult<Vec<EntitledResource>> {
        let mut conn = self.store().read().await?;
        let resources = store::resources(&mut conn).await?;
        let matrix = store::entitlements(&mut conn).await?;
        Ok(entitled_resources(person, &resources, &matrix)
            .into_iter()
            .map(|e| EntitledResource {
                resource: e.resource.name.clone(),
                address: e.resource.address.to_string(),
                protocol: e.resource.protocol,
                ports: e.resource.ports.clone(),
                tags: e.resource.tags.iter().cloned().collect(),
                max_duration_seconds: e.entitlement.max_duration_seconds,
                policy: e.entitlement.policy.clone(),
                entitlement: e.entitlement.id.clone(),
                posture_checks: self.posture_checks_for(&e.resource.tags),
            })
            .collect())
    }

    /// The checks a request for a resource with these tags must pass: the union of the policies
    /// that gate them.
    fn posture_checks_for(&self, tags: &std::collections::BTreeSet<String>) -> Vec<String> {
        let tags: Vec<String> = tags.iter().cloned().collect();
        let checks: std::collections::BTreeSet<_> = self
            .0
            .settings
            .posture
            .gating(&tags)
            .into_iter()
            .flatten()
            .flat_map(|(_, policy)| policy.required.iter().map(|c| c.to_string()))
            .collect();
        checks.into_iter().collect()
    }

    /// Whether `requester` could ask for access against ticket `key` now, as the request itself
    /// will check it. Only the requester's own tickets show their summary and status: the broker's
    /// ticket account reads every ticket, and a contractor must not browse them through it.
    pub async fn check_ticket_for(&self, requester: &Person, key: &str) -> ServiceResult<TicketCheck> {
        // Exactly a key: one with whitespace around it (a tab in a URL) is refused, as the API says.
        validate_ticket_key(key).map_err(InvalidInput::TicketKey)?;
        (self.0.limits.ticket_checks).allow("ticket checks", &requester.id, self.now())?;
        let ticket = self.fetch_ticket(key).await?;
        let verdict = match check_ticket(
            key,
            ticket.as_ref(),
            requester,
            self.0.settings.require_ticket_assignee,
        ) {
            Ok(()) => (
                TicketVerdict::Usable,
                format!("{key} is open and yours to work on"),
            ),
            Err(problem) => {
                let verdict = match problem {
                    TicketProblem::NotFound(_) => TicketVerdict::Unknown,
                    TicketProblem::Closed { .. } => TicketVerdict::Closed,
                    TicketProblem::NotAssignee { .. } => TicketVerdict::NotYours,
                };
                (verdict, problem.to_string())
            }
        };
        let own = ticket.filter(|t| is_assigned_to(t, requester));
        Ok(TicketCheck {
            key: key.to_string(),
            verdict: verdict.0,
            message: verdict.1,
            summary: own.as_ref().map(|t| t.summary.clone()),
            status: own.map(|t| t.status),
        })
    }

    /// Checks the ticket with the connector (outside any transaction: it is network I/O).
    pub(crate) async fn fetch_ticket(&self, key: &str) -> ServiceResult<Option<Ticket>> {
        Ok(self.0.tickets.fetch(key).await?)
    }

    pub async fn create_request(
        &self,
        requester: &Person,
        body: CreateAccessRequest,
    ) -> ServiceResult<AccessRequestView> {
        self.create_request_with(requester, body, None).await
    }

    /// A request from an API caller: resources with a step-up tag need the caller's fresh passkey
    /// confirmation, which the request's record (and so the grant's evidence) keeps.
    pub async fn create_request_as(
        &self,
        caller: &Caller,
        body: CreateAccessRequest,
    ) -> ServiceResult<AccessRequestView> {
        let step_up = self.fresh_step_up(caller);
        self.create_request_with(caller.person()?, body, step_up).await
    }

    /// Decides a request, counted and timed for the metrics.
    async fn create_request_with(
        &self,
        requester: &Person,
        body: CreateAccessRequest,
        step_up: Option<StepUp>,
    ) -> ServiceResult<AccessRequestView> {
        let started = std::time::Instant::now();
        let confirmed = step_up.is_some();
        let result = self.decide_request(requester, body, step_up).await;
        self.0
            .metrics
            .decided(result.as_ref().map(|(view, _)| view), started.elapsed());
        let now = self.now();
        let (view, history) = match result {
            Ok(decided) => decided,
            Err(e) => {
                self.watch_failed(&requester.id, &e, now).await;
                return Err(e);
            }
        };
        self.watch_request(requester, confirmed, history, now).await;
        Ok(view)
    }

    /// After a request was not decided: a refusal of the person counts towards a burst.
    async fn watch_failed(&self, requester: &str, error: &ServiceError, now: OffsetDateTime) {
        match error {
            // The broker's or the ticket system's failure, not a refusal of the person.
            ServiceError::Store(_) | ServiceError::Internal(_) | ServiceError::TicketSystem(_) => {}
            // Everyone in scope is refused alike: not a sign about this person.
            ServiceError::Forbidden(Forbidden::EmergencyStop(_)) => {}
            _ => self.watch_refusal(requester, now).await,
        }
    }

    /// Decides and writes a request; with it, what the request watch read about the requester.
    async fn decide_request(
        &self,
        requester: &Person,
        body: CreateAccessRequest,
        step_up: Option<StepUp>,
    ) -> ServiceResult<(AccessRequestView, store::RequestHistory)> {
        let now = self.now();
        validate_ticket_key(body.ticket.trim()).map_err(InvalidInput::TicketKey)?;
        let reason = body.reason.trim().to_string();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(InvalidInput::Reason(MAX_REASON_CHARS).into());
        }
        let duration_seconds = parse_duration(&body.duration).map_err(InvalidInput::Duration)?;
        if !requester.is_active(now) {
            return Err(Forbidden::AccountInactive.into());
        }
        // What the decision reads is read before the write lock: deciding on it is the same as the
        // request having arrived a moment earlier, and it keeps the serialised section short.
        let typed_key = body.ticket.trim().to_string();
        let builtin_tickets = self.0.tickets.kept_in_store();
        let (requests_from, suspensions_from) = self.request_watch_since(now);
        let held_report = self.0.reports.of(&body.device);
        let ask = store::DecisionAsk {
            device: &body.device,
            known_report: held_report.as_ref().map(|r| r.id),
            requester: &requester.id,
            builtin_ticket: builtin_tickets.then_some(typed_key.as_str()),
            requests_from,
            requests_to: now,
            suspensions_from,
        };
        let mut conn = self.store().read().await?;
        let store::DecisionInputs {
            device,
            stops,
            latest_report,
            matrix_revision,
            requester: as_stored,
            directory_revision,
            ticket: builtin_ticket,
            history,
        } = store::decision_inputs(&mut conn, &ask).await?;
        let matrix = self.access_matrix_at(&mut conn, matrix_revision).await?;
        drop(conn);
        let latest_report = self.0.reports.latest(&body.device, held_report, latest_report);
        if let Some(stop) = stops.iter().find(|s| s.scope.covers(requester)) {
            return Err(crate::emergency::refusal(stop).into());
        }
        // An anomaly alert asked for a fresh passkey confirmation with this person's next request.
        if requester.step_up_demanded_by.is_some() && step_up.is_none() {
            return Err(Forbidden::StepUpDemanded {
                max_age_minutes: self.0.settings.passkeys.step_up_max_age.whole_minutes(),
            }
            .into());
        }
        let ticket = if builtin_tickets {
            builtin_ticket
        } else {
            self.fetch_ticket(&typed_key).await?
        };
        // The key as the ticket system spells it now (its case; a moved issue's new key), so its
        // webhooks and polls find this request's grant under the key they report.
        let ticket_key = ticket.as_ref().map_or(typed_key, |t| t.key.clone());

        let device = device
            .filter(|d| d.person == requester.id && !d.revoked)
            .ok_or_else(|| Missing::NotYourDevice(body.device.clone()))?;
        let actor = format!("person:{}", requester.id);
        let attempt = json!({
            "device": device.id, "resources": body.resources, "ticket": ticket_key,
            "duration_seconds": duration_seconds, "reason": reason,
        });

        let requested_tags: Vec<String> = matrix
            .resources
            .iter()
            .filter(|r| body.resources.contains(&r.name))
            .flat_map(|r| r.tags.iter().cloned())
            .collect();
        let settings = &self.0.settings.posture;
        let gating = settings.gating(&requested_tags);
        // The report counts only when a tag gates the request or auto-approval may depend on it.
        let latest = latest_report.filter(|_| gating.is_some() || settings.auto_approve_requires_report);
        // One judgement: the gating rules (the organisation's policy first, then each requested
        // tag's), or the organisation's policy alone for auto-approval.
        let org = [("the organisation's policy".to_string(), &settings.policy)];
        let posture_report = crate::posture::judge_posture(
            latest.as_deref(),
            &device.id,
            gating.as_deref().unwrap_or(&org),
            || self.posture_baseline(now),
            settings.max_age,
            now,
        );
        let posture_judged = posture_report.as_ref().map(|_| ()).map_err(String::as_str);
        let question = AccessQuestion {
            requester,
            requested: &body.resources,
            duration_seconds,
            resources: &matrix.resources,
            matrix: &matrix.entitlements,
            policies: &matrix.policies,
            ticket_key: &ticket_key,
            ticket: ticket.as_ref(),
            require_ticket_assignee: self.0.settings.require_ticket_assignee,
            posture: PostureVerdict {
                gated: gating.is_some(),
                judged: posture_judged,
                auto_approve_requires_report: settings.auto_approve_requires_report,
            },
            step_up: StepUpState {
                sensitive_tags: &self.0.settings.passkeys.step_up_tags,
                confirmed: step_up.is_some(),
                max_age_minutes: self.0.settings.passkeys.step_up_max_age.whole_minutes(),
            },
            now,
        };
        let Accepted {
            entitled,
            policy,
            decision,
        } = match decide(&question) {
            Ok(accepted) => accepted,
            // Refusals of the attempt (matrix, ticket, posture, step-up) are recorded: auditors
            // want to see attempts.
            Err(refused) if refused.is_of_the_attempt() => {
                let mut details = attempt.clone();
                details["refused"] = json!(refused.to_string());
                let mut refusal = Insertion::default();
                refusal.audit(now, &actor, "request.refused", &requester.id, details);
                self.store().insert(refusal).await?;
                return Err(refused.into());
            }
            Err(misconfigured) => return Err(misconfigured.into()),
        };
        // Each waiting request costs approvers' attention, a chat message and ticket lookups.
        if matches!(decision, Decision::NeedsApprovals { .. }) {
            let mut conn = self.store().read().await?;
            if store::waiting_count_of(&mut conn, &requester.id, now).await? >= MAX_WAITING_PER_PERSON {
                return Err(Conflict::TooManyWaiting(MAX_WAITING_PER_PERSON).into());
            }
        }

        let mut request = AccessRequest {
            id: Uuid::new_v4(),
            requester: requester.id.clone(),
            device: device.id.clone(),
            resources: entitled.iter().map(|e| e.resource.name.clone()).collect(),
            ticket: ticket_key.clone(),
            reason,
            duration_seconds,
            policy: policy.name.clone(),
            approvals_required: policy.approvals_required,
            approvals: vec![],
            created_at: now,
            expires_at: now + Duration::seconds(self.0.settings.pending_ttl_seconds),
            state: RequestState::Pending,
            ticket_snapshot: ticket.clone(),
            needs_approval_because: match &decision {
                Decision::AutoApprove => None,
                Decision::NeedsApprovals { why, .. } => Some(why.clone()),
            },
        };
        // A new request (and, when auto-approved, its grant) only adds rows, so it is group-committed.
        let subject = request.id.to_string();
        let mut details = attempt;
        details["policy"] = json!(policy.name);
        details["entitlements"] = json!(entitled.iter().map(|e| &e.entitlement.id).collect::<Vec<_>>());
        // The posture snapshot the decision rested on, for the grant's evidence.
        details["posture_report"] = json!(posture_report.as_ref().ok());
        details["passkey_step_up"] = json!(step_up);
        let mut ins = Insertion {
            rests_on: entitled.iter().map(|e| e.entitlement.clone()).collect(),
            // The device and stops checked above were read at this count; so was the requester,
            // if they are as this decision saw them (else their record changed since sign-in).
            directory_read_at: (as_stored.as_ref() == Some(requester)).then_some(directory_revision),
            ..Insertion::default()
        };
        ins.audit(now, &actor, "request.created", &subject, details);
        ins.audit(
            now,
            "broker",
            "ticket.checked",
            &subject,
            json!({ "ticket": ticket, "ok": true }),
        );
        match decision {
            Decision::AutoApprove => {
                ins.audit(
                    now,
                    "broker",
                    "request.auto_approved",
                    &subject,
                    json!({ "policy": policy.name }),
                );
                let refs: Vec<_> = entitled.iter().map(|e| e.resource).collect();
                let mut record = grant::issue(&request, requester, &device, &refs, &self.0.key, now);
                record.posture_watch = settings.watch_for(&requested_tags, true);
                request.mark_granted(record.grant.id);
                ins.audit(
                    now,
                    "broker",
                    "grant.issued",
                    &record.grant.id.to_string(),
                    grant_issued_details(&record),
                );
                ins.grants.push(record);
            }
            Decision::NeedsApprovals { required, why } => {
                ins.audit(
                    now,
                    "broker",
                    "request.awaiting_approval",
                    &subject,
                    json!({ "required": required, "why": why }),
                );
            }
        }
        ins.requests.push(request.clone());
        // The device's and the account's state are checked again inside the write: a laptop
        // revoked since the decision above gets no grant.
        match self.store().insert(ins).await {
            Err(StoreError::Stale(Stale::DeviceGone(device))) => {
                return Err(Missing::NotYourDevice(device).into())
            }
            Err(StoreError::Stale(Stale::AccountEnded(_))) => return Err(Forbidden::AccountInactive.into()),
            Err(StoreError::Stale(Stale::EmergencyStop(stop))) => {
                return Err(crate::emergency::refusal(&stop).into())
            }
            Err(StoreError::Stale(Stale::NoLongerEntitled { person, .. })) => {
                let resource = request.resources.first().cloned().unwrap_or_default();
                return Err(MatrixRefusal::NotEntitled { person, resource }.into());
            }
            written => written?,
        }
        if request.status(now) == RequestStatus::Pending {
            self.announce_waiting(&request, requester);
        }
        tracing::info!(request_id = %request.id, requester = %requester.id, status = ?request.status(now), "access request created");
        Ok((request.view(now), history))
    }

    /// Stores a freshly issued grant, links it to its request, audits it and wakes its gateway.
    async fn commit_grant(
        &self,
        change: &mut Change,
        request: &mut AccessRequest,
        record: &GrantRecord,
        now: OffsetDateTime,
    ) -> ServiceResult<()> {
        request.mark_granted(record.grant.id);
        store::put_request(change.conn(), request).await?;
        store::put_grant(change.conn(), record).await?;
        let g = &record.grant;
        change
            .audit(
                now,
                "broker",
                "grant.issued",
                &g.id.to_string(),
                grant_issued_details(record),
            )
            .await?;
        change.grant_changed(&g.gateway, g.id, now);
        tracing::info!(grant_id = %g.id, person = %g.person, gateway = %g.gateway, not_after = %g.not_after, "grant issued");
        Ok(())
    }

    pub async fn request_view(&self, caller: &Caller, id: Uuid) -> ServiceResult<AccessRequestView> {
        let person = caller.person()?;
        let mut conn = self.store().read().await?;
        let request = store::request(&mut conn, id)
            .await?
            .ok_or_else(|| not_found_request(id))?;
        let privileged = person.is_staff();
        if request.requester != person.id && !privileged {
            return Err(not_found_request(id));
        }
        Ok(request.view(self.now()))
    }

    /// The requester's own requests, newest first.
    pub async fn my_requests(&self, person: &Person) -> ServiceResult<Vec<AccessRequestView>> {
        let mut conn = self.store().read().await?;
        let now = self.now();
        Ok(store::requests_of(&mut conn, &person.id)
            .await?
            .iter()
            .map(|r| r.view(now))
            .collect())
    }

    /// Every request still pending, with whether `approver` may approve it (and if not, why): the
    /// ones they may approve first, oldest first. Reads the database only.
    pub async fn pending_verdicts(
        &self,
        approver: &Person,
    ) -> ServiceResult<Vec<(AccessRequest, Result<(), String>)>> {
        let mut conn = self.store().read().await?;
        let policies = store::policies(&mut conn).await?;
        let now = self.now();
        let mut verdicts: Vec<_> = store::pending_requests(&mut conn)
            .await?
            .into_iter()
            .filter(|r| r.ensure_pending(now).is_ok())
            .map(|r| {
                let verdict = match policies.iter().find(|p| p.name == r.policy) {
                    Some(p) => p
                        .check_approver(approver, &r.requester, &r.approved_by(), now)
                        .map_err(|e| e.to_string()),
                    None => Err(format!("its policy {:?} no longer exists", r.policy)),
                };
                (r, verdict)
            })
            .collect();
        verdicts.sort_by_key(|(r, verdict)| (verdict.is_err(), r.created_at));
        Ok(verdicts)
    }

    /// The approver's inbox: pending requests this person could approve.
    pub async fn approval_inbox(&self, approver: &Person) -> ServiceResult<Vec<AccessRequestView>> {
        let now = self.now();
        Ok(self
            .pending_verdicts(approver)
            .await?
            .iter()
            .filter(|(_, verdict)| verdict.is_ok())
            .map(|(r, _)| r.view(now))
            .collect())
    }

    pub async fn approve(
        &self,
        approver: &Person,
        id: Uuid,
        comment: Option<String>,
        step_up: Option<crate::StepUp>,
    ) -> ServiceResult<AccessRequestView> {
        let ticket_key = {
            let mut conn = self.store().read().await?;
            store::request(&mut conn, id)
                .await?
                .ok_or_else(|| not_found_request(id))?
                .ticket
        };
        // Fetched before the transaction; used only if this approval completes the request.
        let ticket = self.fetch_ticket(&ticket_key).await?;
        let now = self.now();
        let mut change = self.store().change().await?;
        let (mut request, policy) = pending_with_policy(&mut change, id, now).await?;
        policy.check_approver(approver, &request.requester, &request.approved_by(), now)?;
        let complete = request.approve(&approver.id, comment.clone(), now)?;
        let subject = id.to_string();
        let actor = format!("person:{}", approver.id);
        change
            .audit(
                now,
                &actor,
                "request.approved",
                &subject,
                json!({ "comment": comment, "complete": complete, "passkey_step_up": step_up }),
            )
            .await?;
        if complete {
            self.grant_approved(&mut change, &mut request, ticket, now)
                .await?;
        } else {
            store::put_request(change.conn(), &request).await?;
        }
        change.commit().await?;
        Ok(request.view(now))
    }

    /// Final checks before a grant: the ticket again, the requester's account and device still valid.
    async fn grant_approved(
        &self,
        change: &mut Change,
        request: &mut AccessRequest,
        ticket: Option<Ticket>,
        now: OffsetDateTime,
    ) -> ServiceResult<()> {
        let subject = request.id.to_string();
        let requester = store::person(change.conn(), &request.requester).await?;
        let device = store::device(change.conn(), &request.device).await?;
        let all = store::resources(change.conn()).await?;
        let refs: Vec<_> = all
            .iter()
            .filter(|r| request.resources.contains(&r.name))
            .collect();
        let removed = (refs.len() != request.resources.len())
            .then(|| "a requested resource was removed while the request waited".to_string());
        let stop = match &requester {
            Some(p) => crate::emergency::covering(change.conn(), p).await?,
            None => None,
        };
        let problem = match (&requester, &device) {
            (Some(p), _) if !p.is_active(now) => Some("the requester's account has ended".to_string()),
            _ if stop.is_some() => stop.as_ref().map(|s| crate::emergency::refusal(s).to_string()),
            (_, Some(d)) if d.revoked => Some(format!("device {} was revoked", d.id)),
            (Some(p), Some(_)) => check_ticket(
                &request.ticket,
                ticket.as_ref(),
                p,
                self.0.settings.require_ticket_assignee,
            )
            .err()
            .map(|e| e.to_string()),
            _ => Some("the requester or device no longer exists".to_string()),
        }
        .or(removed);
        change
            .audit(
                now,
                "broker",
                "ticket.checked",
                &subject,
                json!({ "ticket": ticket, "ok": problem.is_none() }),
            )
            .await?;
        request.ticket_snapshot = ticket;
        if let Some(reason) = problem {
            request.deny("broker", &format!("approved, but not granted: {reason}"), now)?;
            store::put_request(change.conn(), request).await?;
            change
                .audit(
                    now,
                    "broker",
                    "request.denied",
                    &subject,
                    json!({ "reason": reason }),
                )
                .await?;
            return Ok(());
        }
        let (requester, device) = (requester.expect("checked above"), device.expect("checked above"));
        let mut record = grant::issue(request, &requester, &device, &refs, &self.0.key, now);
        let tags: Vec<String> = refs.iter().flat_map(|r| r.tags.iter().cloned()).collect();
        record.posture_watch = self.0.settings.posture.watch_for(&tags, false);
        self.commit_grant(change, request, &record, now).await
    }

    pub async fn deny(&self, approver: &Person, id: Uuid, reason: &str) -> ServiceResult<AccessRequestView> {
        if reason.trim().is_empty() {
            return Err(InvalidInput::DenialReason.into());
        }
        let now = self.now();
        let mut change = self.store().change().await?;
        let (mut request, policy) = pending_with_policy(&mut change, id, now).await?;
        // Any approver the policy accepts may deny, even one who approved earlier.
        policy.check_approver(approver, &request.requester, &[], now)?;
        request.deny(&approver.id, reason, now)?;
        store::put_request(change.conn(), &request).await?;
        change
            .audit(
                now,
                &format!("person:{}", approver.id),
                "request.denied",
                &id.to_string(),
                json!({ "reason": reason.trim() }),
            )
            .await?;
        change.commit().await?;
        Ok(request.view(now))
    }
}

/// What the audit log keeps of an issued grant.
fn grant_issued_details(record: &GrantRecord) -> serde_json::Value {
    let g = &record.grant;
    json!({
        "request": g.request_id, "person": g.person, "device": g.device.id, "gateway": g.gateway,
        "resources": g.resources, "ticket": g.ticket, "approvals": g.approvals,
        "not_before": g.not_before.unix_timestamp(), "not_after": g.not_after.unix_timestamp(),
        "signature": record.signed.signature, "posture_watch": record.posture_watch,
    })
}

/// A request still open for decision, with the policy that governs it (inside a change).
async fn pending_with_policy(
    change: &mut Change,
    id: Uuid,
    now: OffsetDateTime,
) -> ServiceResult<(AccessRequest, ApprovalPolicy)> {
    let request = store::request(change.conn(), id)
        .await?
        .ok_or_else(|| not_found_request(id))?;
    request.ensure_pending(now)?;
    let policy = store::policy(change.conn(), &request.policy)
        .await?
        .ok_or_else(|| Conflict::PolicyGone(request.policy.clone()))?;
    Ok((request, policy))
}

fn not_found_request(id: Uuid) -> ServiceError {
    Missing::Request(id).into()
}
