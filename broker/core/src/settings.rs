//! The broker's tunables that are policy rather than code: how posture is judged, how long requests
//! wait, who must hold the ticket, the tunnel network, passkeys and where waiting requests are announced.

use crate::domain::grant::PostureWatch;
use crate::{Notifier, PasskeySettings};
use ipnet::Ipv4Net;

/// How often devices re-check posture during a grant unless configured otherwise.
pub const DEFAULT_RECHECK: time::Duration = time::Duration::minutes(5);

/// How the broker judges device posture.
#[derive(Debug, Clone)]
pub struct PostureSettings {
    pub policy: daypass_posture::policy::Policy,
    /// Where the baseline comes from, in words (for the console).
    pub baseline_origin: String,
    /// The signed baseline and the key it must be signed with; without it patch checks are unknown.
    pub baseline: Option<(
        daypass_proto::Signed<daypass_posture::baseline::Baseline>,
        ed25519_dalek::VerifyingKey,
    )>,
    /// Requests for resources with any of these tags need a fresh, compliant report from the device.
    pub required_tags: std::collections::BTreeSet<String>,
    /// Stricter policies for some tags (production may demand more than staging): a request for a
    /// resource with such a tag needs a fresh report that passes this policy as well as `policy`.
    pub tag_policies: std::collections::BTreeMap<String, daypass_posture::policy::Policy>,
    /// Auto-approval only for a device with a fresh report that passes `policy`; without one the
    /// request waits for approvers, who see why.
    pub auto_approve_requires_report: bool,
    /// How old that report may be.
    pub max_age: time::Duration,
    /// How often a device sends a fresh report while a grant that posture gated runs.
    pub recheck_interval: time::Duration,
    /// How long such a device may stay silent before its grants are held.
    pub silence: time::Duration,
}

impl PostureSettings {
    /// The posture policies a request for resources with these tags must pass, labelled for
    /// refusals: the organisation's, then each requested tag's own; `None` when no tag gates it.
    pub fn gating(&self, tags: &[String]) -> Option<Vec<(String, &daypass_posture::policy::Policy)>> {
        let gated = tags
            .iter()
            .any(|t| self.required_tags.contains(t) || self.tag_policies.contains_key(t));
        if !gated {
            return None;
        }
        let mut rules = vec![("the organisation's policy".to_string(), &self.policy)];
        let tagged: std::collections::BTreeSet<&String> = tags.iter().collect();
        rules.extend(tagged.into_iter().filter_map(|t| {
            self.tag_policies
                .get(t)
                .map(|p| (format!("the policy for {t}"), p))
        }));
        Some(rules)
    }

    /// Whether posture keeps watching a grant for these resource tags while it runs: when a tag
    /// gated it, or when it was auto-approved on the strength of a compliant report.
    pub fn watch_for(&self, tags: &[String], auto_approved: bool) -> Option<PostureWatch> {
        if self.gating(tags).is_some() {
            let mut tags = tags.to_vec();
            tags.sort();
            tags.dedup();
            return Some(PostureWatch { tags });
        }
        (auto_approved && self.auto_approve_requires_report).then(|| PostureWatch { tags: vec![] })
    }

    /// The policies a watched grant's device keeps being judged by (as `gating` labels them).
    pub fn watched_rules(&self, watch: &PostureWatch) -> Vec<(String, &daypass_posture::policy::Policy)> {
        self.gating(&watch.tags)
            .unwrap_or_else(|| vec![("the organisation's policy".to_string(), &self.policy)])
    }
}

impl Default for PostureSettings {
    fn default() -> Self {
        PostureSettings {
            policy: Default::default(),
            baseline_origin: "none".into(),
            baseline: None,
            required_tags: Default::default(),
            tag_policies: Default::default(),
            auto_approve_requires_report: true,
            max_age: time::Duration::minutes(15),
            recheck_interval: DEFAULT_RECHECK,
            silence: DEFAULT_RECHECK * 2,
        }
    }
}

/// Tunables that are policy rather than code.
#[derive(Debug, Clone)]
pub struct BrokerSettings {
    /// How long a request waits for approval before it expires.
    pub pending_ttl_seconds: i64,
    /// Whether the requester must be the ticket's assignee.
    pub require_ticket_assignee: bool,
    /// Devices get their tunnel address from this network.
    pub tunnel_network: Ipv4Net,
    pub posture: PostureSettings,
    pub passkeys: PasskeySettings,
    /// Where waiting requests are announced (a Slack-compatible incoming webhook).
    pub approval_webhook: Option<Notifier>,
    /// Sealed into every gateway state before its revision; raised after restoring the database
    /// from a backup, so gateways take the restored broker's states over the newer ones they saw.
    pub gateway_state_epoch: i64,
    /// Where audit checkpoints are kept besides the database.
    pub audit_witness: crate::AuditWitness,
    /// What unusual behaviour alerts and what each alert does.
    pub anomaly: crate::AnomalySettings,
    /// Groups whose SCIM-provisioned members get a role (`approvers` → approver); members of none
    /// are contractors.
    pub scim_role_groups: std::collections::BTreeMap<String, crate::domain::directory::Role>,
}

impl Default for BrokerSettings {
    fn default() -> Self {
        BrokerSettings {
            pending_ttl_seconds: crate::domain::request::DEFAULT_PENDING_TTL_SECONDS,
            require_ticket_assignee: true,
            tunnel_network: "100.96.0.0/16".parse().expect("constant network"),
            posture: PostureSettings::default(),
            passkeys: PasskeySettings::default(),
            approval_webhook: None,
            gateway_state_epoch: 0,
            audit_witness: crate::AuditWitness::default(),
            anomaly: crate::AnomalySettings::default(),
            scim_role_groups: std::collections::BTreeMap::new(),
        }
    }
}
