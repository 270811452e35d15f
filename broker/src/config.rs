//! Effective configuration: command-line flags and `DAYPASS_*` variables over an optional TOML file
//! over defaults.

use anyhow::{Context, Result};
use daypass_broker_core::tickets::TicketSettings;
use daypass_broker_core::BrokerSettings;
use daypass_proto::duration::parse_duration;
use secrecy::SecretString;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_DATA_DIR: &str = "/var/lib/daypass-broker";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8443";

/// The TOML file (`--config`); every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub database: Option<String>,
    pub signing_key: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    /// Where to serve Prometheus metrics (`GET /metrics`, plain HTTP), e.g. "127.0.0.1:9464";
    /// default: not served.
    pub metrics_listen: Option<SocketAddr>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Extra names for the self-signed certificate (it always covers localhost and 127.0.0.1).
    #[serde(default)]
    pub tls_names: Vec<String>,
    /// How long a request waits for approval, e.g. "1h".
    pub pending_ttl: Option<String>,
    pub require_ticket_assignee: Option<bool>,
    /// Groups whose members provisioned by SCIM get a role instead of contractor, e.g.
    /// `{ approvers = "approver", it-admins = "admin" }` (the Daypass group names: a SCIM group's id).
    #[serde(default)]
    pub scim_role_groups: std::collections::BTreeMap<String, daypass_broker_core::domain::directory::Role>,
    pub tunnel_network: Option<String>,
    /// How often tickets behind live grants are re-checked, e.g. "60s".
    pub ticket_poll_interval: Option<String>,
    pub ticket_webhook_secret: Option<SecretString>,
    /// Posture policy (JSON, see posture/README.md); default: every check required, unknown fails.
    pub posture_policy: Option<PathBuf>,
    /// Signed baseline file, and the base64 Ed25519 key it must be signed with (default: one
    /// imported with `baseline import`, else the baseline Daypass ships).
    pub posture_baseline: Option<PathBuf>,
    pub posture_baseline_key: Option<String>,
    /// Resources with any of these tags need a fresh, compliant posture report (e.g. ["env:prod"]).
    #[serde(default)]
    pub posture_required_tags: Vec<String>,
    /// Stricter posture policies per resource tag, e.g. `{ "env:prod" = "/etc/daypass/prod-posture.json" }`:
    /// requests for such resources need a fresh report passing both policies.
    #[serde(default)]
    pub posture_tag_policies: std::collections::BTreeMap<String, PathBuf>,
    /// Auto-approve only devices with a fresh, compliant report (default true).
    pub posture_auto_approve_requires_report: Option<bool>,
    /// How old that report may be, e.g. "15m".
    pub posture_max_age: Option<String>,
    /// How often a device re-checks posture while a grant that posture gated runs (default "5m").
    pub posture_recheck_interval: Option<String>,
    /// How long such a device may send no report before its grants are held (default: two intervals).
    pub posture_silence: Option<String>,
    /// The passkey relying party ID: the broker's DNS name (default: the first DNS name in
    /// `tls_names`, else `localhost`). Never an IP address: browsers refuse those.
    pub passkey_rp_id: Option<String>,
    /// The origin passkey pages are served from (default `https://RP_ID:PORT` with the `listen` port).
    pub passkey_origin: Option<String>,
    /// How long a passkey session lasts, e.g. "12h".
    pub session_ttl: Option<String>,
    /// Approvals only from a passkey session confirmed within minutes (default true).
    pub approvals_require_passkey: Option<bool>,
    /// Requests for resources with any of these tags need a passkey confirmation within minutes.
    #[serde(default)]
    pub step_up_tags: Vec<String>,
    /// A Slack-compatible incoming webhook told of every request that waits for approval (a secret).
    pub approval_webhook: Option<SecretString>,
    /// Raise by one after restoring the database from a backup (gateways refuse states older than
    /// the newest they saw; the epoch puts the restored broker's states above them).
    pub gateway_state_epoch: Option<i64>,
    /// Audit checkpoints are appended to this file as they are signed (keep it off the database's
    /// machine, or ship it away), for `audit verify --checkpoints`.
    pub audit_witness_file: Option<PathBuf>,
    /// Each checkpoint is also logged (target `daypass_audit_witness`), for journald or a SIEM.
    #[serde(default)]
    pub audit_witness_log: bool,
    /// Each checkpoint is also POSTed as JSON to this URL (a secret).
    pub audit_witness_url: Option<SecretString>,
    #[serde(default)]
    pub tickets: TicketSettings,
    /// SIEM collectors fed every audit entry as it is written (`[[siem]]` tables).
    #[serde(default)]
    pub siem: Vec<daypass_broker_core::SinkConfig>,
    /// Anomaly rules: thresholds and what each rule does (`[anomaly]`).
    #[serde(default)]
    pub anomaly: AnomalyConfig,
}

/// `[anomaly]` in broker.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnomalyConfig {
    /// The organisation's working hours in UTC, e.g. "07-19".
    pub working_hours_utc: Option<String>,
    /// Refused requests of one person within `refusal_window` that alert (default 5 in "10m").
    pub refusal_burst: Option<usize>,
    pub refusal_window: Option<String>,
    /// A request this soon after one of the person's grants was suspended alerts (default "30m").
    pub request_after_suspension: Option<String>,
    /// A MaxMind DB with countries (GeoLite2-Country.mmdb) for the new-country rule; without it
    /// that rule is off.
    pub country_db: Option<PathBuf>,
    /// What each rule does: "alert", "step-up", "suspend-grants" or "disable-account".
    #[serde(default)]
    pub actions: std::collections::BTreeMap<
        daypass_broker_core::domain::anomaly::Rule,
        daypass_broker_core::domain::anomaly::Action,
    >,
}

fn anomaly_settings(c: &AnomalyConfig) -> Result<daypass_broker_core::AnomalySettings> {
    let mut s = daypass_broker_core::AnomalySettings {
        actions: c.actions.clone(),
        ..Default::default()
    };
    if let Some(hours) = &c.working_hours_utc {
        s.working_hours = Some(
            daypass_broker_core::domain::anomaly::Hours::parse(hours)
                .map_err(anyhow::Error::msg)
                .context("anomaly.working_hours_utc")?,
        );
    }
    if let Some(n) = c.refusal_burst {
        anyhow::ensure!(
            n >= 2,
            "anomaly.refusal_burst must be at least 2 (one refusal is not a burst)"
        );
        s.burst_threshold = n;
    }
    if let Some(w) = &c.refusal_window {
        s.burst_window = duration_setting("anomaly.refusal_window", w)?;
    }
    if let Some(w) = &c.request_after_suspension {
        s.after_suspension = duration_setting("anomaly.request_after_suspension", w)?;
    }
    if let Some(path) = &c.country_db {
        let db = daypass_broker_core::CountryDb::open(path)
            .map_err(anyhow::Error::msg)
            .context("anomaly.country_db")?;
        s.countries = Some(std::sync::Arc::new(db));
    }
    Ok(s)
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> Result<FileConfig> {
        let Some(path) = path else {
            return Ok(FileConfig::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("config file {} is not valid", path.display()))
    }
}

/// Where the broker keeps its state.
#[derive(Debug, Clone)]
pub struct StorageSettings {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub signing_key: PathBuf,
}

impl StorageSettings {
    pub fn resolve(
        data_dir: Option<PathBuf>,
        database: Option<String>,
        signing_key: Option<PathBuf>,
        file: &FileConfig,
    ) -> Self {
        let data_dir = data_dir
            .or(file.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database_url = database
            .or(file.database.clone())
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", data_dir.join("broker.db").display()));
        let signing_key = signing_key
            .or(file.signing_key.clone())
            .unwrap_or_else(|| data_dir.join("broker-signing.key"));
        StorageSettings {
            data_dir,
            database_url,
            signing_key,
        }
    }
}

pub fn broker_settings(file: &FileConfig) -> Result<BrokerSettings> {
    let mut s = BrokerSettings::default();
    if let Some(ttl) = &file.pending_ttl {
        s.pending_ttl_seconds = parse_duration(ttl)
            .map_err(anyhow::Error::msg)
            .context("pending_ttl")?;
    }
    if let Some(r) = file.require_ticket_assignee {
        s.require_ticket_assignee = r;
    }
    s.scim_role_groups = file.scim_role_groups.clone();
    s.audit_witness =
        daypass_broker_core::AuditWitness::new(file.audit_witness_file.clone(), file.audit_witness_log);
    if let Some(url) = &file.audit_witness_url {
        s.audit_witness = s
            .audit_witness
            .with_url(url.clone())
            .map_err(anyhow::Error::msg)?;
    }
    if let Some(epoch) = file.gateway_state_epoch {
        anyhow::ensure!(
            epoch >= 0,
            "gateway_state_epoch must be 0 or more, raised by one per restore"
        );
        s.gateway_state_epoch = epoch;
    }
    if let Some(url) = &file.approval_webhook {
        let notifier = daypass_broker_core::Notifier::new(url.clone()).map_err(anyhow::Error::msg)?;
        s.approval_webhook = Some(notifier);
    }
    let read_policy = |what: &str, path: &Path| -> Result<daypass_posture::policy::Policy> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {what} {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{what} {} is not valid", path.display()))
    };
    if let Some(path) = &file.posture_policy {
        s.posture.policy = read_policy("posture_policy", path)?;
    }
    for (tag, path) in &file.posture_tag_policies {
        let policy = read_policy(&format!("posture_tag_policies.{tag:?}"), path)?;
        s.posture.tag_policies.insert(tag.clone(), policy);
    }
    if let Some(required) = file.posture_auto_approve_requires_report {
        s.posture.auto_approve_requires_report = required;
    }
    s.posture.required_tags = file.posture_required_tags.iter().cloned().collect();
    if let Some(age) = &file.posture_max_age {
        s.posture.max_age = duration_setting("posture_max_age", age)?;
    }
    if let Some(every) = &file.posture_recheck_interval {
        s.posture.recheck_interval = duration_setting("posture_recheck_interval", every)?;
    }
    s.posture.silence = match &file.posture_silence {
        Some(silence) => duration_setting("posture_silence", silence)?,
        None => s.posture.recheck_interval * 2,
    };
    anyhow::ensure!(
        s.posture.silence >= s.posture.recheck_interval,
        "posture_silence ({}s) is shorter than posture_recheck_interval ({}s): every watched grant would be held between two reports; make it at least one interval (default two)",
        s.posture.silence.whole_seconds(),
        s.posture.recheck_interval.whole_seconds()
    );
    s.passkeys = passkey_settings(file)?;
    s.anomaly = anomaly_settings(&file.anomaly)?;
    if let Some(net) = &file.tunnel_network {
        s.tunnel_network = net
            .parse()
            .with_context(|| format!("tunnel_network {net:?} is not an IPv4 CIDR such as 100.96.0.0/16"))?;
    }
    Ok(s)
}

/// A duration setting such as "5m", named in the error.
fn duration_setting(name: &str, text: &str) -> Result<time::Duration> {
    let secs = parse_duration(text)
        .map_err(anyhow::Error::msg)
        .context(name.to_string())?;
    Ok(time::Duration::seconds(secs))
}

/// The SIEM collectors, checked (names unique and usable, addresses, token files).
pub fn siem_sinks(file: &FileConfig) -> Result<Vec<daypass_broker_core::SinkConfig>> {
    let mut names = std::collections::BTreeSet::new();
    for sink in &file.siem {
        sink.validate().map_err(anyhow::Error::msg)?;
        anyhow::ensure!(
            names.insert(sink.name()),
            "two [[siem]] collectors are named {:?}: each needs its own name (its cursor is kept under it)",
            sink.name()
        );
    }
    Ok(file.siem.clone())
}

pub fn ticket_poll_interval(file: &FileConfig) -> Result<Duration> {
    let text = file.ticket_poll_interval.as_deref().unwrap_or("60s");
    let secs = parse_duration(text)
        .map_err(anyhow::Error::msg)
        .context("ticket_poll_interval")?;
    Ok(Duration::from_secs(secs as u64))
}

fn passkey_settings(file: &FileConfig) -> Result<daypass_broker_core::PasskeySettings> {
    let mut p = daypass_broker_core::PasskeySettings::default();
    let rp_id = file.passkey_rp_id.clone().unwrap_or_else(|| {
        file.tls_names
            .iter()
            .find(|n| n.parse::<std::net::IpAddr>().is_err())
            .cloned()
            .unwrap_or_else(|| "localhost".into())
    });
    let port = file.listen.map(|l| l.port()).unwrap_or(8443);
    let origin = file
        .passkey_origin
        .clone()
        .unwrap_or_else(|| format!("https://{rp_id}:{port}"));
    p.relying_party = daypass_broker_core::RelyingParty::new(&rp_id, &origin)
        .map_err(anyhow::Error::msg)
        .context("passkey_rp_id / passkey_origin")?;
    if let Some(ttl) = &file.session_ttl {
        let secs = parse_duration(ttl)
            .map_err(anyhow::Error::msg)
            .context("session_ttl")?;
        p.session_ttl = time::Duration::seconds(secs);
    }
    if let Some(required) = file.approvals_require_passkey {
        p.approvals_require_step_up = required;
    }
    p.step_up_tags = file.step_up_tags.iter().cloned().collect();
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_file_and_file_over_defaults() {
        let file: FileConfig = toml::from_str("data_dir = \"/srv/dp\"\npending_ttl = \"30m\"").unwrap();
        let s = StorageSettings::resolve(None, None, None, &file);
        assert_eq!(s.data_dir, PathBuf::from("/srv/dp"));
        assert_eq!(s.database_url, "sqlite:///srv/dp/broker.db?mode=rwc");
        let s = StorageSettings::resolve(Some("/x".into()), Some("postgres://a@b/c".into()), None, &file);
        assert_eq!(
            (s.data_dir, s.database_url.as_str()),
            (PathBuf::from("/x"), "postgres://a@b/c")
        );
        assert_eq!(broker_settings(&file).unwrap().pending_ttl_seconds, 1800);
    }

    #[test]
    fn jira_connector_reads_from_the_tickets_table() {
        let file: FileConfig = toml::from_str(
            "[tickets]\nconnector = \"jira\"\nbase_url = \"https://acme.atlassian.net\"\nemail = \"bot@acme.com\"\ntoken = \"t\"",
        )
        .unwrap();
        assert!(matches!(file.tickets, TicketSettings::Jira(ref j) if j.api_version == 3));
    }

    #[test]
    fn posture_silence_defaults_to_two_intervals_and_is_never_shorter_than_one() {
        let s = broker_settings(&toml::from_str("posture_recheck_interval = \"2m\"").unwrap()).unwrap();
        assert_eq!(s.posture.recheck_interval, time::Duration::minutes(2));
        assert_eq!(s.posture.silence, time::Duration::minutes(4));
        let d = broker_settings(&FileConfig::default()).unwrap();
        assert_eq!(
            (d.posture.recheck_interval, d.posture.silence),
            (time::Duration::minutes(5), time::Duration::minutes(10))
        );
        let file: FileConfig =
            toml::from_str("posture_recheck_interval = \"5m\"\nposture_silence = \"1m\"").unwrap();
        let err = broker_settings(&file).unwrap_err();
        assert!(
            format!("{err:#}").contains("posture_silence (60s) is shorter"),
            "{err:#}"
        );
        let bad: FileConfig = toml::from_str("posture_silence = \"soon\"").unwrap();
        assert!(format!("{:#}", broker_settings(&bad).unwrap_err()).contains("posture_silence"));
    }

    #[test]
    fn anomaly_rules_take_their_actions_and_thresholds_from_the_file() {
        use daypass_broker_core::domain::anomaly::{Action, Rule};
        let file: FileConfig = toml::from_str(
            "[anomaly]\nworking_hours_utc = \"07-19\"\nrefusal_burst = 3\nrefusal_window = \"5m\"\n\
             [anomaly.actions]\noff_hours = \"step-up\"\nrefusal_burst = \"suspend-grants\"\n",
        )
        .unwrap();
        let s = broker_settings(&file).unwrap().anomaly;
        assert_eq!(s.action(Rule::OffHours), Action::StepUp);
        assert_eq!(s.action(Rule::RefusalBurst), Action::SuspendGrants);
        assert_eq!(
            s.action(Rule::PostureWorse),
            Action::Alert,
            "alert only unless chosen"
        );
        assert_eq!(
            (s.burst_threshold, s.burst_window),
            (3, time::Duration::minutes(5))
        );
        assert!(toml::from_str::<FileConfig>("[anomaly.actions]\noff_hours = \"shoot\"\n").is_err());
        let bad: FileConfig = toml::from_str("[anomaly]\nworking_hours_utc = \"9 to 5\"\n").unwrap();
        assert!(format!("{:#}", broker_settings(&bad).unwrap_err()).contains("anomaly.working_hours_utc"));
    }

    #[test]
    fn siem_collectors_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("hec-token");
        std::fs::write(&token, "t").unwrap();
        let text = format!(
            "[[siem]]\nkind = \"syslog-tls\"\nname = \"soc\"\naddress = \"siem.example.com:6514\"\n\
             [[siem]]\nkind = \"splunk-hec\"\nname = \"splunk\"\nurl = \"https://splunk.example.com:8088/services/collector/event\"\ntoken_file = {:?}\n",
            token.display().to_string()
        );
        let sinks = siem_sinks(&toml::from_str(&text).unwrap()).unwrap();
        assert_eq!(
            sinks.iter().map(|s| s.name()).collect::<Vec<_>>(),
            ["soc", "splunk"]
        );
        let twice = format!(
            "{text}[[siem]]\nkind = \"json-lines\"\nname = \"soc\"\nurl = \"https://lake.example.com/x\"\n"
        );
        let err = siem_sinks(&toml::from_str(&twice).unwrap()).unwrap_err();
        assert!(
            err.to_string()
                .contains("two [[siem]] collectors are named \"soc\""),
            "{err}"
        );
        let typo = toml::from_str::<FileConfig>(
            "[[siem]]\nkind = \"syslog-tls\"\nname = \"soc\"\naddres = \"x:1\"\n",
        );
        assert!(typo.is_err(), "a misspelt key is refused");
        let unknown = toml::from_str::<FileConfig>("[[siem]]\nkind = \"kafka\"\nname = \"k\"\n");
        assert!(unknown.is_err());
    }

    #[test]
    fn tag_policies_load_from_their_files_and_a_bad_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let prod = dir.path().join("prod.json");
        std::fs::write(&prod, r#"{"max_idle_seconds": 300}"#).unwrap();
        let file: FileConfig = toml::from_str(&format!(
            "posture_auto_approve_requires_report = false\n[posture_tag_policies]\n\"env:prod\" = {:?}",
            prod.display().to_string()
        ))
        .unwrap();
        let s = broker_settings(&file).unwrap();
        assert_eq!(s.posture.tag_policies["env:prod"].max_idle_seconds, 300);
        assert!(!s.posture.auto_approve_requires_report);
        assert!(
            BrokerSettings::default().posture.auto_approve_requires_report,
            "on unless switched off"
        );

        std::fs::write(&prod, r#"{"max_idle": 300}"#).unwrap();
        let err = broker_settings(&file).unwrap_err();
        assert!(
            format!("{err:#}").contains("posture_tag_policies.\"env:prod\""),
            "{err:#}"
        );
    }

    #[test]
    fn the_passkey_relying_party_is_a_dns_name_taken_from_tls_names_or_given() {
        let file: FileConfig = toml::from_str("tls_names = [\"10.0.0.5\", \"broker.example.com\"]").unwrap();
        assert!(
            broker_settings(&file).is_ok(),
            "the first DNS name is used, the IP skipped"
        );
        let file: FileConfig = toml::from_str("passkey_rp_id = \"10.0.0.5\"").unwrap();
        let err = format!("{:#}", broker_settings(&file).unwrap_err());
        assert!(err.contains("IP address"), "{err}");
        let file: FileConfig =
            toml::from_str("passkey_rp_id = \"example.com\"\npasskey_origin = \"https://other.org\"")
                .unwrap();
        assert!(
            broker_settings(&file).is_err(),
            "the origin must belong to the RP ID"
        );
        let file: FileConfig = toml::from_str("session_ttl = \"soon\"").unwrap();
        assert!(format!("{:#}", broker_settings(&file).unwrap_err()).contains("session_ttl"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(toml::from_str::<FileConfig>("listen_addr = \"x\"").is_err());
        let file: FileConfig = toml::from_str("tunnel_network = \"banana\"").unwrap();
        assert!(broker_settings(&file)
            .unwrap_err()
            .to_string()
            .contains("tunnel_network"));
    }
}
