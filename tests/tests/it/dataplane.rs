//! The gateway's library pieces in a real network — what a grant does to packets: exactly its port opens, nothing else does, and at `not_after` the
//! kernel closes it (new and open connections alike) with no help from the agent; a revocation
//! closes it at once.

use daypass_e2e::net::{echo, in_namespace, pause, Net, CLIENT_TUNNEL, GATEWAY_PORT};
use daypass_gateway::firewall::{apply_changes, startup_script, Firewall, Nft};
use daypass_gateway::plan::{changes, desired, Desired};
use daypass_gateway::wireguard::WireGuard;
use daypass_proto::api::GatewayPeer;
use daypass_proto::{Grant, GrantDevice, GrantedResource};
use daypass_tunnel::interface::{ClientInterface, Tunnel as _};
use daypass_tunnel::split::plan;
use std::time::Duration;
use time::OffsetDateTime;
use wireguard_control::Backend;

const OPEN: Duration = Duration::from_secs(3);
/// How long a connection attempt that must fail is given.
const REFUSED: Duration = Duration::from_millis(700);

/// These tests watch the kernel expire entries, which it does on real time.
#[allow(clippy::disallowed_methods)]
fn wall_clock() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn grant(net: &Net, not_after: OffsetDateTime) -> Grant {
    Grant {
        id: uuid::Uuid::new_v4(),
        request_id: uuid::Uuid::new_v4(),
        person: "ana".into(),
        device: GrantDevice {
            id: "ana-laptop".into(),
            wireguard_public_key: net.client_public.to_base64(),
            tunnel_address: CLIENT_TUNNEL.into(),
        },
        gateway: "gw-test".into(),
        resources: vec![GrantedResource::tcp("db", "10.20.0.10", &[5432])],
        ticket: "OPS-1".into(),
        approvals: vec![],
        not_before: wall_clock(),
        not_after,
    }
}

/// What a starting agent does: the firewall table with empty sets, the WireGuard key.
fn start(net: &Net, masquerade: bool) {
    Nft::in_namespace(&net.gateway_ns)
        .apply(&startup_script(&net.gateway_wg, masquerade))
        .unwrap();
    let wg = WireGuard::new(&net.gateway_wg, Backend::Userspace).unwrap();
    wg.configure(&net.gateway_private.to_base64(), GATEWAY_PORT)
        .unwrap();
}

/// The agent's work for one state: the peers and entries that take `applied` to what `grants` ask.
fn enforce(net: &Net, grants: &[Grant], applied: &Desired) -> Desired {
    let nft = Nft::in_namespace(&net.gateway_ns);
    let wg = WireGuard::new(&net.gateway_wg, Backend::Userspace).unwrap();
    let now = wall_clock();
    let (want, skipped) = desired(grants, now);
    assert!(skipped.is_empty(), "{skipped:?}");
    let c = changes(applied, &want, now);
    apply_changes(&nft, &c).unwrap();
    wg.apply(&c).unwrap();
    want
}

fn set_elements(net: &Net) -> String {
    let out = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &net.gateway_ns,
            "nft",
            "list",
            "set",
            "inet",
            "daypass",
            "allow",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_grant_opens_exactly_its_port_and_the_kernel_closes_it_at_not_after() {
    let net = Net::build();
    start(&net, false);
    // The device is a WireGuard peer, but no entry allows anything yet: the firewall drops it.
    let mut peer_only = grant(&net, wall_clock() + time::Duration::seconds(60));
    peer_only.resources.clear();
    let applied = enforce(&net, &[peer_only], &Desired::default());
    assert!(
        net.connect("10.20.0.10:5432", REFUSED).is_err(),
        "nothing flows before a grant"
    );

    let not_after = wall_clock() + time::Duration::seconds(4);
    enforce(&net, &[grant(&net, not_after)], &applied);
    let mut open = net
        .connect("10.20.0.10:5432", OPEN)
        .expect("the granted port is reachable");
    assert_eq!(echo(&mut open, "ping", OPEN).unwrap(), "ping");
    assert!(
        net.connect("10.20.0.10:22", REFUSED).is_err(),
        "another port of the same host"
    );
    assert!(
        net.connect("10.20.0.11:5432", REFUSED).is_err(),
        "the same port of another host"
    );
    assert!(set_elements(&net).contains("10.20.0.10 . tcp . 5432"));

    // The agent does nothing more (as if it had died): the kernel ends the entry at not_after.
    let wait = not_after - wall_clock() + time::Duration::milliseconds(300);
    pause(wait.try_into().unwrap_or_default());
    assert!(
        echo(&mut open, "again", Duration::from_secs(1)).is_err(),
        "the open connection is cut at not_after"
    );
    assert!(
        net.connect("10.20.0.10:5432", REFUSED).is_err(),
        "new connections fail after not_after"
    );
    assert!(
        !set_elements(&net).contains("10.20.0.10"),
        "the entry is gone from the kernel set"
    );
}

#[test]
fn a_revocation_closes_access_at_once() {
    let net = Net::build();
    start(&net, false);
    let g = grant(&net, wall_clock() + time::Duration::minutes(10));
    let applied = enforce(&net, std::slice::from_ref(&g), &Desired::default());
    let mut open = net.connect("10.20.0.10:5432", OPEN).expect("granted");
    assert_eq!(echo(&mut open, "ping", OPEN).unwrap(), "ping");

    // The broker's next state no longer has the grant.
    let now = wall_clock();
    let c = changes(&applied, &Desired::default(), now);
    assert_eq!((c.remove_allows.len(), c.remove_peers.len()), (1, 1));
    apply_changes(&Nft::in_namespace(&net.gateway_ns), &c).unwrap();
    WireGuard::new(&net.gateway_wg, Backend::Userspace)
        .unwrap()
        .apply(&c)
        .unwrap();

    assert!(
        echo(&mut open, "again", Duration::from_secs(1)).is_err(),
        "the open connection is cut"
    );
    assert!(net.connect("10.20.0.10:5432", REFUSED).is_err());
    let peers = WireGuard::new(&net.gateway_wg, Backend::Userspace)
        .unwrap()
        .peers()
        .unwrap();
    assert!(peers.is_empty(), "the device's peer is gone: {peers:?}");
}

#[test]
fn masquerading_reaches_resources_that_have_no_route_back() {
    let net = Net::build();
    net.resource_without_route_back();
    start(&net, false);
    let g = grant(&net, wall_clock() + time::Duration::minutes(10));
    enforce(&net, std::slice::from_ref(&g), &Desired::default());
    assert!(
        net.connect("10.20.0.10:5432", REFUSED).is_err(),
        "replies cannot find their way back to the tunnel network"
    );
    // A restarted agent with --masquerade: the sets are flushed and filled again.
    start(&net, true);
    enforce(&net, std::slice::from_ref(&g), &Desired::default());
    let mut open = net.connect("10.20.0.10:5432", OPEN).expect("masqueraded");
    assert_eq!(echo(&mut open, "ping", OPEN).unwrap(), "ping");
}

#[test]
fn the_client_interface_routes_exactly_the_granted_resources_and_goes_away() {
    let net = Net::build();
    start(&net, false);
    let mut g = grant(&net, wall_clock() + time::Duration::minutes(10));
    g.gateway = "gw-test".into();
    enforce(&net, std::slice::from_ref(&g), &Desired::default());
    let peer = GatewayPeer {
        name: "gw-test".into(),
        endpoint: format!("198.18.0.1:{GATEWAY_PORT}"),
        wireguard_public_key: net.gateway_private.get_public().to_base64(),
    };
    let plan = plan(&g, &peer).unwrap();

    // The client's own interface replaces the harness's hand-made one.
    let (iface, key) = (net.client_wg.clone(), net.client_private.to_base64());
    in_namespace(&net.client_ns, move || {
        let mut client = ClientInterface::new(&iface, key.into()).unwrap();
        client.down().unwrap();
        client.up(&plan).unwrap();
    });
    let mut open = net
        .connect("10.20.0.10:5432", OPEN)
        .expect("through the client's tunnel");
    assert_eq!(echo(&mut open, "ping", OPEN).unwrap(), "ping");
    let routes = net.exec(
        &net.client_ns,
        &["ip", "route", "show", "dev", &net.client_wg],
        &[],
    );
    assert_eq!(
        routes.trim(),
        "10.20.0.10 scope link",
        "only the granted resource is routed"
    );
    assert!(
        net.connect("10.20.0.11:5432", REFUSED).is_err(),
        "another host is not routed at all"
    );

    let (iface, key) = (net.client_wg.clone(), net.client_private.to_base64());
    in_namespace(&net.client_ns, move || {
        ClientInterface::new(&iface, key.into()).unwrap().down().unwrap()
    });
    let start = std::time::Instant::now();
    while net
        .exec(&net.client_ns, &["ip", "link"], &[])
        .contains(&net.client_wg)
    {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "the interface is gone after down()"
        );
        pause(Duration::from_millis(50));
    }
    assert!(
        echo(&mut open, "again", Duration::from_secs(1)).is_err(),
        "nothing flows after down()"
    );
}
