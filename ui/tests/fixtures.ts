// What the mocked app answers in the window's Playwright tests, typed by the generated bindings.
import type { Entitlement, HistoryEntry, Overview, Posture, Session } from "../src/bindings";

export function overview(session: Session, signed_in: string | null = "ana"): Overview {
  return {
    device: "ana-laptop",
    signed_in,
    broker: { url: "https://broker.corp.example:8443", managed: true, source: "/etc/daypass/config.toml" },
    session,
  };
}

export function active(secondsLeft: number, expiring = false): Session {
  return {
    state: "active",
    access: {
      grant: "7a1c2f0e-0000-4000-8000-000000000001",
      ticket: "OPS-142",
      resources: [
        { name: "db", address: "10.20.0.10/32", ports: "tcp 5432" },
        { name: "grafana", address: "10.20.0.30/32", ports: "tcp 443" },
      ],
      not_after: new Date(Date.now() + secondsLeft * 1000).toISOString(),
      seconds_left: secondsLeft,
      expiring,
      suspended: null,
    },
  };
}

/// Live access the broker holds because the device's firewall is off.
export function suspended(secondsLeft: number): Session {
  const session = active(secondsLeft);
  if (session.state === "active") {
    session.access.suspended = {
      detail: "firewall (for the organisation's policy)",
      fix: "Turn on the firewall: sudo ufw enable (Ubuntu), or sudo systemctl enable --now firewalld (Fedora).",
      since: new Date(Date.now() - 60_000).toISOString(),
    };
  }
  return session;
}

export const entitlements: Entitlement[] = [
  {
    resource: "db",
    address: "10.20.0.10/32",
    ports: "tcp 5432",
    tags: ["db:staging"],
    max_duration_seconds: 8 * 3600,
    policy: "auto-approve",
    posture_checks: [],
  },
  {
    resource: "prod",
    address: "10.20.0.20/32",
    ports: "tcp 22",
    tags: ["env:prod"],
    max_duration_seconds: 2 * 3600,
    policy: "two approvers",
    posture_checks: ["disk encryption", "firewall"],
  },
  {
    resource: "grafana",
    address: "10.20.0.30/32",
    ports: "tcp 443",
    tags: ["observability"],
    max_duration_seconds: 3600,
    policy: "one approver",
    posture_checks: [],
  },
];

export const posture: Posture = {
  compliant: false,
  checked_at: "2026-11-24T18:00:00Z",
  not_sent: null,
  checks: [
    {
      check: "disk encryption",
      outcome: "fail",
      required: true,
      evidence: ["/ is on /dev/vda1, which is not encrypted"],
      remediation: "Turn on full-disk encryption (LUKS) and restart.",
      blocks: ["prod"],
    },
    {
      check: "endpoint protection (EDR)",
      outcome: "unknown",
      required: false,
      evidence: ["no known EDR service found"],
      remediation: "Install your company's EDR agent.",
      blocks: [],
    },
    { check: "firewall", outcome: "pass", required: true, evidence: ["nftables: input policy drop"], remediation: null, blocks: [] },
  ],
};

export const history: HistoryEntry[] = [
  {
    request: "r2",
    created_at: "2026-11-24T17:00:00Z",
    resources: ["prod"],
    ticket: "OPS-150",
    reason: "hotfix",
    duration_seconds: 3600,
    status: "denied",
    denial_reason: "use staging first",
    grant: null,
  },
  {
    request: "r1",
    created_at: "2026-11-23T09:00:00Z",
    resources: ["db"],
    ticket: "OPS-142",
    reason: "migration",
    duration_seconds: 7200,
    status: "granted",
    denial_reason: null,
    grant: "g1",
  },
];
