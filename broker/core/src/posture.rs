//! Device posture at the broker: single-use nonces, device-signed reports verified against the
//! enrolled key, the broker's own evaluation of the facts, and each device's history.

use super::{Broker, Caller, Conflict, Forbidden, Missing, ServiceError, ServiceResult};
use crate::domain::directory::{report_key, Device, Person, Role};
use crate::store::{self, PostureRecord};
use base64::Engine as _;
use daypass_posture::baseline::{BaselineProblem, VerifiedBaseline};
use daypass_posture::evaluate::{evaluate, Outcome};
use daypass_posture::facts::FACTS_SCHEMA;
use daypass_posture::policy::{Check, Policy};
use daypass_posture::signed_report::{self, ReportClaims};
use daypass_proto::Signed;
use rand::RngCore as _;
use serde::Serialize;
use serde_json::json;
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;
use uuid::Uuid;

/// How long a device has to answer a nonce.
const NONCE_TTL: Duration = Duration::minutes(5);

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PostureNonce {
    pub nonce: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl Broker {
    /// The caller's own, unrevoked device.
    async fn own_device(&self, person: &Person, device: &str) -> ServiceResult<Device> {
        let mut conn = self.store().read().await?;
        store::device(&mut conn, device)
            .await?
            .filter(|d| d.person == person.id && !d.revoked)
            .ok_or_else(|| ServiceError::from(Missing::NotYourDevice(device.to_string())))
    }

    pub async fn posture_nonce(&self, person: &Person, device: &str) -> ServiceResult<PostureNonce> {
        self.own_device(person, device).await?;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let nonce = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let expires_at = self.now() + NONCE_TTL;
        let mut change = self.store().change().await?;
        store::put_posture_nonce(change.conn(), &nonce, device, expires_at).await?;
        change.commit().await?;
        Ok(PostureNonce { nonce, expires_at })
    }

    /// Verifies a device's signed report, evaluates its facts with the organisation's policy and
    /// baseline, and keeps it. Rejections are audited too.
    pub async fn receive_posture(
        &self,
        person: &Person,
        device: &str,
        signed: &Signed<ReportClaims>,
    ) -> ServiceResult<PostureRecord> {
        let dev = self.own_device(person, device).await?;
        let key_text = dev
            .report_public_key
            .as_deref()
            .ok_or_else(|| ServiceError::from(Conflict::NoReportKey(device.to_string())))?;
        let key = report_key(key_text).map_err(|problem| Conflict::DamagedReportKey {
            device: device.to_string(),
            problem,
        })?;
        let now = self.now();
        let actor = format!("person:{}", person.id);
        let mut change = self.store().change().await?;
        let opened = signed_report::open(signed, &key, device).map_err(|e| e.to_string());
        let problem = match &opened {
            Err(e) => Some(e.clone()),
            Ok(c) if c.facts.schema != FACTS_SCHEMA => Some(format!(
                "facts schema {} is not the broker's ({FACTS_SCHEMA}): update the Daypass client",
                c.facts.schema
            )),
            Ok(c) if !store::consume_posture_nonce(change.conn(), &c.nonce, device, now).await? => Some(
                "the report's nonce is unknown, already used or expired: ask for a fresh nonce".to_string(),
            ),
            Ok(_) => None,
        };
        let claims = match (opened, problem) {
            (Ok(claims), None) => claims,
            (_, Some(reason)) | (Err(reason), None) => {
                change
                    .audit(
                        now,
                        &actor,
                        "posture.rejected",
                        device,
                        json!({ "reason": reason }),
                    )
                    .await?;
                change.commit().await?;
                return Err(Forbidden::PostureReport(reason.to_string()).into());
            }
        };
        let was_compliant = store::posture_reports_of(change.conn(), device, 1)
            .await?
            .first()
            .is_some_and(|r| r.report.compliant);
        let verified = self.posture_baseline(now);
        let report = evaluate(&claims.facts, &self.0.settings.posture.policy, verified, now);
        let failing = report.not_passing();
        let record = PostureRecord {
            id: Uuid::new_v4(),
            device: device.to_string(),
            received_at: now,
            report,
            claims,
        };
        store::put_posture_report(change.conn(), &record).await?;
        change
            .audit(now, &actor, "posture.reported", device, json!({
                "report": record.id, "compliant": record.report.compliant, "not_passing": failing,
                "baseline_digest": record.report.baseline_digest, "attestation": record.claims.attestation,
            }))
            .await?;
        self.verify_running_grants(&mut change, person, &record, now)
            .await?;
        let alert = self
            .watch_posture_in(
                &mut change,
                &person.id,
                device,
                was_compliant,
                &record.report,
                now,
            )
            .await?;
        change.commit().await?;
        self.0.metrics.posture_report(record.report.compliant);
        self.announce_alerts(alert.as_slice());
        Ok(record)
    }

    /// The organisation's baseline as it verifies at `now`.
    pub(super) fn posture_baseline(&self, now: OffsetDateTime) -> &Result<VerifiedBaseline, BaselineProblem> {
        self.0.baseline.at(now)
    }

    /// Devices whose latest report does not pass `check` (helpdesk, approvers, admins, auditors).
    pub async fn devices_failing(&self, caller: &Caller, check: Check) -> ServiceResult<Vec<PostureRecord>> {
        caller.person_with(&Role::STAFF)?;
        let mut conn = self.store().read().await?;
        let latest = store::latest_posture_reports(&mut conn).await?;
        let mut out: Vec<PostureRecord> = latest
            .into_iter()
            .filter(|r| r.report.result(check).is_some_and(|c| c.outcome != Outcome::Pass))
            .collect();
        // One entry per device even if two reports share the newest second.
        out.dedup_by(|a, b| a.device == b.device);
        Ok(out)
    }

    /// A device's posture history, newest first: its owner, helpdesk, approvers, admins and auditors.
    pub async fn device_posture(
        &self,
        caller: &Caller,
        device: &str,
        limit: i64,
    ) -> ServiceResult<Vec<PostureRecord>> {
        let person = caller.person()?;
        let mut conn = self.store().read().await?;
        let owner = store::device(&mut conn, device).await?.map(|d| d.person);
        let staff = person.is_staff();
        if owner.as_deref() != Some(person.id.as_str()) && !staff {
            return Err(Missing::DeviceYouCanSee(device.to_string()).into());
        }
        Ok(store::posture_reports_of(&mut conn, device, limit.clamp(1, 500)).await?)
    }
}

/// The access rule: the latest report must be recent, and its facts must pass every policy in
/// `rules` (evaluated again now, by the broker, with its own baseline, verified only when there is a
/// fresh report to judge). The refusal says what to fix.
pub(super) fn judge_posture<'a>(
    latest: Option<&PostureRecord>,
    device: &str,
    rules: &[(String, &Policy)],
    baseline: impl FnOnce() -> &'a Result<VerifiedBaseline, BaselineProblem>,
    max_age: Duration,
    now: OffsetDateTime,
) -> Result<Uuid, String> {
    let Some(r) = latest else {
        return Err(format!("these resources need a posture report from {device}, and there is none: run the posture check, then ask again"));
    };
    if now - r.received_at > max_age {
        return Err(format!(
            "the last posture report from {device} is from {}, older than {} minutes: run the posture check again",
            r.received_at,
            max_age.whole_minutes()
        ));
    }
    let failing = shortfalls(r, rules, baseline(), now);
    if !failing.is_empty() {
        return Err(format!(
            "{device} does not meet the security requirements: fix {} and check again",
            failing.iter().map(Shortfall::what).collect::<Vec<_>>().join("; ")
        ));
    }
    Ok(r.id)
}

/// The organisation's baseline as verified at start, and the refusal it turns into once expired:
/// a judgement borrows one of them (it runs with every decision).
pub(crate) struct Baselines {
    verified: Result<VerifiedBaseline, BaselineProblem>,
    expired: Result<VerifiedBaseline, BaselineProblem>,
}

impl Baselines {
    pub fn new(verified: Result<VerifiedBaseline, BaselineProblem>) -> Baselines {
        let expired = match &verified {
            Ok(b) => Err(BaselineProblem::Expired(b.baseline.valid_until)),
            Err(problem) => Err(problem.clone()),
        };
        Baselines { verified, expired }
    }

    /// The baseline as it stands at `now` (`VerifiedBaseline::at`).
    pub fn at(&self, now: OffsetDateTime) -> &Result<VerifiedBaseline, BaselineProblem> {
        match &self.verified {
            Ok(b) if now >= b.baseline.valid_until => &self.expired,
            verified => verified,
        }
    }
}

/// One policy a report does not pass, with the broker's evaluation under it.
pub(crate) struct Shortfall {
    pub rule: String,
    pub report: daypass_posture::evaluate::Report,
}

impl Shortfall {
    /// `firewall, screen lock (for the organisation's policy)`.
    pub fn what(&self) -> String {
        format!("{} (for {})", self.report.not_passing().join(", "), self.rule)
    }

    /// What the contractor does, check by check.
    pub fn fixes(&self) -> impl Iterator<Item = &str> {
        self.report
            .results
            .iter()
            .filter(|c| c.required && !matches!(c.outcome, Outcome::Pass | Outcome::NotApplicable))
            .filter_map(|c| c.remediation.as_deref())
    }
}

/// The policies among `rules` that the report's facts do not pass (evaluated now, by the broker).
pub(crate) fn shortfalls(
    record: &PostureRecord,
    rules: &[(String, &Policy)],
    baseline: &Result<VerifiedBaseline, BaselineProblem>,
    now: OffsetDateTime,
) -> Vec<Shortfall> {
    rules
        .iter()
        .map(|(label, policy)| Shortfall {
            rule: label.clone(),
            report: evaluate(&record.claims.facts, policy, baseline, now),
        })
        .filter(|s| !s.report.compliant)
        .collect()
}
