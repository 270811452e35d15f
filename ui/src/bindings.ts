// Generated from src-tauri/src/views.rs by ts-rs: do not edit. Regenerate with
// DAYPASS_BLESS=1 cargo test -p daypass-desktop --lib bindings

export type Overview = { device: string, 
/**
 * The person signed in on this device, if anyone.
 */
signed_in: string | null, broker: BrokerView, session: Session, };

export type BrokerView = { url: string, 
/**
 * Whether IT manages the broker setting (the app then accepts no other).
 */
managed: boolean, 
/**
 * Where the setting came from, e.g. `/etc/daypass/config.toml`.
 */
source: string, };

export type Session = { "state": "idle" } | { "state": "requesting" } | { "state": "pending", request: string, } | { "state": "active", access: Access, } | { "state": "closed", reason: Closed, detail: string | null, };

export type Closed = "expired" | "revoked" | "denied" | "disconnected" | "failed";

export type Access = { grant: string, ticket: string, resources: Array<Reachable>, 
/**
 * RFC 3339.
 */
not_after: string, seconds_left: number, 
/**
 * Inside the warning window before `not_after`.
 */
expiring: boolean, 
/**
 * Set while the broker holds the access because of the device's posture: nothing gets
 * through until it is fixed.
 */
suspended: Held | null, };

export type Held = { 
/**
 * What failed, e.g. `firewall (for the organisation's policy)`.
 */
detail: string, 
/**
 * What to do, e.g. `Turn on the firewall: …`.
 */
fix: string, 
/**
 * RFC 3339.
 */
since: string, };

export type Reachable = { name: string, address: string, 
/**
 * Protocol and ports, e.g. `tcp 5432` or `udp 5000-5010`.
 */
ports: string, };

export type Check = { check: string, outcome: Outcome, required: boolean, evidence: Array<string>, remediation: string | null, 
/**
 * The entitled resources a failing (or unknown) result of this check keeps closed.
 */
blocks: Array<string>, };

export type Outcome = "pass" | "fail" | "unknown" | "not_applicable";

export type Posture = { compliant: boolean, checks: Array<Check>, 
/**
 * Why the broker did not get the report (then the verdict is this device's own reading).
 */
not_sent: string | null, 
/**
 * RFC 3339.
 */
checked_at: string, };

export type Entitlement = { resource: string, address: string, ports: string, tags: Array<string>, max_duration_seconds: number, policy: string, 
/**
 * The posture checks a request for it needs passed.
 */
posture_checks: Array<string>, };

export type Ticket = { key: string, verdict: Verdict, message: string, summary: string | null, status: string | null, };

export type Verdict = "usable" | "unknown" | "closed" | "not_yours";

export type HistoryEntry = { request: string, 
/**
 * RFC 3339.
 */
created_at: string, resources: Array<string>, ticket: string, reason: string, duration_seconds: number, 
/**
 * `pending`, `granted`, `denied` or `expired`.
 */
status: string, denial_reason: string | null, grant: string | null, };

export type AccessForm = { resources: Array<string>, ticket: string, 
/**
 * e.g. `90m`, `4h`.
 */
duration: string, reason: string, };

export type PasskeyMethod = "security_key" | "browser" | "test_token";

export type ExportFormat = "html" | "json";

export type Problem = { code: string, message: string, };
