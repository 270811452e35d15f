//! Plain-text renderings of evidence bundles and reports for the terminal.

use daypass_broker_core::EvidenceBundle;
use daypass_proto::api::AccessReport;
use daypass_proto::duration::format_duration;
use std::fmt::Write as _;
use time::format_description::well_known::Rfc3339;

fn when(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

pub fn evidence_text(b: &EvidenceBundle) -> String {
    let g = &b.grant.grant;
    let r = &b.request;
    let mut out = String::new();
    let _ = writeln!(out, "Grant {} ({:?})", g.id, b.grant.status);
    let _ = writeln!(
        out,
        "  person {} on device {} ({}), via gateway {}",
        g.person, g.device.id, g.device.tunnel_address, g.gateway
    );
    for res in &g.resources {
        let ports: Vec<_> = res.ports.iter().map(|p| p.to_string()).collect();
        let _ = writeln!(
            out,
            "  resource {} {} {}/{}",
            res.name,
            res.address,
            res.protocol,
            ports.join(",")
        );
    }
    let _ = writeln!(out, "  window {} .. {}", when(g.not_before), when(g.not_after));
    let _ = writeln!(
        out,
        "Request {} by {} at {}",
        r.id,
        r.requester,
        when(r.created_at)
    );
    let _ = writeln!(
        out,
        "  ticket {}, for {}, reason: {}",
        r.ticket,
        format_duration(r.duration_seconds),
        r.reason
    );
    let _ = writeln!(
        out,
        "  policy {}: {} approval(s) required",
        r.policy, r.approvals_required
    );
    for a in &r.approvals {
        let _ = writeln!(
            out,
            "  approved by {} at {}{}",
            a.approver,
            when(a.at),
            a.comment.as_deref().map(|c| format!(": {c}")).unwrap_or_default()
        );
    }
    if let Some(t) = &b.ticket_at_decision {
        let _ = writeln!(
            out,
            "Ticket {} as checked: {} (assignee {}) {}",
            t.key,
            t.status,
            t.assignee.as_deref().unwrap_or("nobody"),
            t.summary
        );
    }
    match (&b.grant.end_reason, b.grant.ended_at) {
        (Some(reason), Some(at)) => {
            let _ = writeln!(out, "Ended {} — {reason}", when(at));
        }
        (None, Some(at)) => {
            let _ = writeln!(out, "Expired {}", when(at));
        }
        _ => {
            let _ = writeln!(out, "Still live");
        }
    }
    let _ = writeln!(out, "Audit trail:");
    for e in &b.audit {
        let _ = writeln!(
            out,
            "  #{:<6} {} {:<26} {:<22} {}",
            e.seq,
            when(e.at),
            e.action,
            e.actor,
            &e.hash[..16]
        );
    }
    out
}

pub fn report_text(r: &AccessReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Access report {} .. {}", when(r.from), when(r.to));
    let _ = writeln!(out, "  active contractors        {}", r.active_contractors);
    let _ = writeln!(out, "  active accounts           {}", r.active_accounts);
    let _ = writeln!(out, "  grants issued             {}", r.grants_issued);
    let _ = writeln!(
        out,
        "  just-in-time share        {:.0}%",
        r.just_in_time_share * 100.0
    );
    let _ = writeln!(
        out,
        "  average grant length      {}",
        format_duration(r.average_grant_seconds.round() as i64)
    );
    let _ = writeln!(out, "  requests approved         {}", r.requests_approved);
    let _ = writeln!(out, "  requests denied           {}", r.requests_denied);
    let _ = writeln!(out, "  requests expired          {}", r.requests_expired);
    let _ = writeln!(out, "  grants ended early        {}", r.grants_revoked);
    let _ = writeln!(
        out,
        "    of which ticket closed  {}",
        r.grants_ended_by_ticket_close
    );
    let _ = writeln!(
        out,
        "  time to onboard (invite -> first access) median {}, longest {}, {} people",
        format_duration(r.onboarding_median_seconds as i64),
        format_duration(r.onboarding_max_seconds as i64),
        r.onboarded
    );
    let _ = writeln!(out, "  stale contractor accounts {}", r.stale_accounts);
    let _ = writeln!(
        out,
        "  access reviews open       {} ({} items unanswered)",
        r.reviews_open, r.review_items_waiting
    );
    let _ = writeln!(
        out,
        "  grants suspended/resumed  {} / {}",
        r.grants_suspended, r.grants_resumed
    );
    let alerts: u64 = r.alerts_by_rule.values().sum();
    let _ = writeln!(out, "  anomaly alerts            {alerts}");
    for (rule, n) in r.alerts_by_rule.iter().filter(|(_, n)| **n > 0) {
        let _ = writeln!(out, "    {rule:<22} {n}");
    }
    let _ = writeln!(out, "  grants per resource:");
    for (name, n) in &r.grants_per_resource {
        let _ = writeln!(out, "    {name:<20} {n}");
    }
    out
}
