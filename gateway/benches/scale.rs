//! Benchmark: a gateway holding 10,000 active grants. How long one new grant and one revocation
//! take to apply (verify the broker's state, plan, nftables in a namespace of its own, WireGuard
//! peers in userspace `wireguard-go`), and the memory the held state takes.
//! Run as root: `cargo bench -p daypass-gateway --bench scale`

// A benchmark: a failed step is a failed run.
#![allow(clippy::unwrap_used)]

use daypass_e2e::measure::{ms, rss_mib, summary};
use daypass_gateway::firewall::{apply_changes, startup_script, Firewall, Nft};
use daypass_gateway::nft_session::NftSession;
use daypass_gateway::plan::{changes, desired};
use daypass_gateway::verify::{accepted, Verifier};
use daypass_gateway::wireguard::WireGuard;
use daypass_proto::api::GatewayState;
use daypass_proto::{Grant, GrantDevice, GrantedResource, Signed};
use ed25519_dalek::SigningKey;
use std::time::Instant;
use time::OffsetDateTime;
use wireguard_control::{Backend, Key};

const GRANTS: usize = 10_000;
const OPS: usize = 50;
const NS: &str = "dp-bench-gw";
const IFACE: &str = "dpbenchwg";

fn grant(i: usize, now: OffsetDateTime) -> Grant {
    Grant {
        id: uuid::Uuid::from_u128(i as u128 + 1),
        request_id: uuid::Uuid::nil(),
        person: format!("p{i}"),
        device: GrantDevice {
            id: format!("d{i}"),
            wireguard_public_key: Key::generate_private().get_public().to_base64(),
            tunnel_address: format!("100.96.{}.{}/32", i / 250, i % 250 + 2),
        },
        gateway: "gw".into(),
        resources: vec![GrantedResource::tcp("db", "10.20.0.10", &[5432])],
        ticket: "OPS-1".into(),
        approvals: vec![],
        not_before: now,
        not_after: now + time::Duration::hours(8),
    }
}

/// A state of these grants (its seal is not what this benchmark measures, so it names none).
fn state(revision: i64, grants: &[Signed<Grant>], now: OffsetDateTime) -> GatewayState {
    let key = SigningKey::from_bytes(&[3; 32]);
    GatewayState {
        gateway: "gw".into(),
        revision,
        generated_at: now,
        grants: grants.to_vec(),
        seal: daypass_proto::api::StateSeal::sign("gw", (0, revision), now, [], &key),
    }
}

#[allow(clippy::disallowed_methods)] // a benchmark measures wall time
fn main() {
    let now = OffsetDateTime::now_utc();
    let key = SigningKey::from_bytes(&[3; 32]);
    let rss_before = rss_mib("self");
    let mut signed: Vec<Signed<Grant>> = (0..GRANTS).map(|i| Signed::sign(&grant(i, now), &key)).collect();
    let (held, _) = accepted(&state(1, &signed, now), &key.verifying_key(), "gw", now);
    let (applied, _) = desired(&held, now);
    println!(
        "{GRANTS} grants held: {} peers, {} allow entries, RSS +{} KiB (signed state, grants and plan)",
        applied.peers.len(),
        applied.allows.len(),
        ((rss_mib("self") - rss_before) * 1024.0).max(0.0) as u64
    );

    // The pure part of one new grant: check the broker's whole state (the envelopes of the last
    // state are remembered, so only the new one is verified), plan, diff.
    let mut verifier = Verifier::new(key.verifying_key());
    verifier.accepted(&state(1, &signed, now), "gw", now);
    let mut pure = Vec::new();
    for op in 0..OPS {
        signed.push(Signed::sign(&grant(GRANTS + op, now), &key));
        let st = state(2 + op as i64, &signed, now);
        let t0 = Instant::now();
        let (grants, _) = verifier.accepted(&st, "gw", now);
        let (want, _) = desired(&grants, now);
        let c = changes(&applied, &want, now);
        pure.push(t0.elapsed());
        assert_eq!(c.add_allows.len(), 1);
        signed.pop();
    }
    summary("one new grant, verify + plan + diff over the full state", pure);
    let t0 = Instant::now();
    accepted(&state(99, &signed, now), &key.verifying_key(), "gw", now);
    println!(
        "verifying every envelope of the state afresh: {:.0} ms",
        ms(t0.elapsed())
    );

    // The kernel part, with 10,000 entries and peers in place.
    let _ns = daypass_e2e::net::WireGuardNamespace::create(NS, IFACE);
    Nft::in_namespace(NS)
        .apply(&startup_script(IFACE, false))
        .unwrap();
    // Changes go through one long-lived `nft -i`, as the agent does.
    let nft = NftSession::in_namespace(NS);
    let wg = WireGuard::new(IFACE, Backend::Userspace).unwrap();
    wg.configure(&Key::generate_private().to_base64(), 51999).unwrap();
    let everything = changes(&Default::default(), &applied, now);
    let t0 = Instant::now();
    apply_changes(&nft, &everything).unwrap();
    let nft_all = t0.elapsed();
    let t0 = Instant::now();
    wg.apply(&everything).unwrap();
    println!(
        "initial load of {GRANTS}: nftables {:.0} ms, WireGuard peers {:.0} ms",
        ms(nft_all),
        ms(t0.elapsed())
    );

    let (mut add, mut revoke) = (Vec::new(), Vec::new());
    for op in 0..OPS {
        let extra = grant(GRANTS + op, now);
        let (one_more, _) = desired(&[held.clone(), vec![extra]].concat(), now);
        let c = changes(&applied, &one_more, now);
        let t0 = Instant::now();
        apply_changes(&nft, &c).unwrap();
        let t1 = Instant::now();
        wg.apply(&c).unwrap();
        add.push((t0.elapsed(), t1 - t0));
        let back = changes(&one_more, &applied, now);
        let t0 = Instant::now();
        apply_changes(&nft, &back).unwrap();
        let t1 = Instant::now();
        wg.apply(&back).unwrap();
        revoke.push((t0.elapsed(), t1 - t0));
    }
    summary(
        "one new grant, nftables + WireGuard apply",
        add.iter().map(|t| t.0).collect(),
    );
    summary("  of which nftables", add.iter().map(|t| t.1).collect());
    summary(
        "one revocation, nftables + WireGuard apply",
        revoke.iter().map(|t| t.0).collect(),
    );
    summary("  of which nftables", revoke.iter().map(|t| t.1).collect());
}
