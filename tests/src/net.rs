//! A test network, removed when dropped (also when a test fails): a contractor host and a
//! resource host on either side of a gateway, the gateway's WireGuard interface (userspace
//! `wireguard-go`), the contractor's own when the test wants the harness to make it, and TCP echo
//! servers on the resource host.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
pub use wireguard_control::Key;
use wireguard_control::{Backend, DeviceUpdate, InterfaceName, PeerConfigBuilder};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Runs `ip` (or any command) and fails the test with its output if it fails.
pub fn run(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `ip` with its arguments inside namespace `ns` (`ip -n NS …`).
pub fn ip_in(ns: &str, args: &[&str]) {
    run(&[["ip", "-n", ns].as_slice(), args].concat());
}

/// A TCP port nothing listens on at the moment, on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits in real time: the kernel's set timeouts and wireguard-go's start-up run on the wall clock,
/// which is what these tests observe (the pure planning is tested with `now` as a parameter).
#[allow(clippy::disallowed_methods)]
pub fn pause(d: Duration) {
    std::thread::sleep(d);
}

/// Runs `f` on a thread that has entered network namespace `ns`; sockets it makes stay there.
pub fn in_namespace<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    spawn_in_namespace(ns, f).join().unwrap()
}

/// Starts `f` on a thread of its own inside network namespace `ns`.
pub fn spawn_in_namespace<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap();
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        f()
    })
}

pub struct Net {
    pub client_ns: String,
    pub gateway_ns: String,
    pub resource_ns: String,
    pub client_wg: String,
    pub gateway_wg: String,
    pub gateway_private: Key,
    pub client_private: Key,
    pub client_public: Key,
    children: Vec<Child>,
}

pub const GATEWAY_TUNNEL: &str = "100.96.0.1/16";
pub const CLIENT_TUNNEL: &str = "100.96.0.2/32";
pub const GATEWAY_PORT: u16 = 51820;

/// Starts `wireguard-go` in the foreground in `ns` (the caller owns its process) and waits for its
/// control socket.
pub fn wireguard_go(ns: &str, iface: &str) -> Child {
    let child = Command::new("ip")
        .args(["netns", "exec", ns, "wireguard-go", "-f", iface])
        .env("WG_PROCESS_FOREGROUND", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("wireguard-go (Debian package wireguard-go) runs the data-plane tests");
    let socket = format!("/var/run/wireguard/{iface}.sock");
    let start = Instant::now();
    while !std::path::Path::new(&socket).exists() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "wireguard-go did not create {socket}"
        );
        pause(Duration::from_millis(20));
    }
    child
}

/// A network namespace of a benchmark's own with `wireguard-go` running `iface` in it (a stale one
/// of the same name is replaced); both go when it is dropped. Needs root.
pub struct WireGuardNamespace {
    ns: String,
    iface: String,
    wireguard_go: Child,
}

impl WireGuardNamespace {
    pub fn create(ns: &str, iface: &str) -> WireGuardNamespace {
        let _ = Command::new("ip")
            .args(["netns", "del", ns])
            .stderr(Stdio::null())
            .status();
        assert!(
            Command::new("ip")
                .args(["netns", "add", ns])
                .status()
                .expect("ip (iproute2)")
                .success(),
            "creating a network namespace: run as root"
        );
        WireGuardNamespace {
            ns: ns.into(),
            iface: iface.into(),
            wireguard_go: wireguard_go(ns, iface),
        }
    }
}

impl Drop for WireGuardNamespace {
    fn drop(&mut self) {
        let _ = self.wireguard_go.kill();
        let _ = self.wireguard_go.wait();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
        let _ = std::fs::remove_file(format!("/var/run/wireguard/{}.sock", self.iface));
    }
}

impl Net {
    /// Builds the namespaces, the underlay, the gateway's WireGuard interface and the resources,
    /// leaving the contractor's tunnel interface (named `client_wg`) to whoever the test runs there.
    /// Needs root (network namespaces, nftables) and `wireguard-go`.
    pub fn build_without_client_tunnel() -> Net {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the data-plane tests need root: run them as root (scripts/test.sh does)"
        );
        let n = std::process::id() % 10_000 * 10 + NEXT.fetch_add(1, Ordering::SeqCst);
        let mut net = Net {
            client_ns: format!("dpc{n}"),
            gateway_ns: format!("dpg{n}"),
            resource_ns: format!("dpr{n}"),
            client_wg: format!("dpwc{n}"),
            gateway_wg: format!("dpwg{n}"),
            gateway_private: Key::generate_private(),
            client_private: Key::generate_private(),
            client_public: Key::zero(),
            children: vec![],
        };
        net.client_public = net.client_private.get_public();
        let (c, g, r) = (
            net.client_ns.clone(),
            net.gateway_ns.clone(),
            net.resource_ns.clone(),
        );
        for ns in [&c, &g, &r] {
            run(&["ip", "netns", "add", ns]);
            ip_in(ns, &["link", "set", "lo", "up"]);
        }
        // Underlay between contractor and gateway, and the private network behind the gateway.
        let (cg0, cg1, gr0, gr1) = (
            format!("dpa{n}"),
            format!("dpb{n}"),
            format!("dpe{n}"),
            format!("dpf{n}"),
        );
        run(&[
            "ip", "link", "add", &cg0, "netns", &c, "type", "veth", "peer", "name", &cg1, "netns", &g,
        ]);
        run(&[
            "ip", "link", "add", &gr0, "netns", &g, "type", "veth", "peer", "name", &gr1, "netns", &r,
        ]);
        for (ns, dev, addr) in [
            (&c, &cg0, "198.18.0.2/24"),
            (&g, &cg1, "198.18.0.1/24"),
            (&g, &gr0, "10.20.0.1/24"),
            (&r, &gr1, "10.20.0.10/24"),
        ] {
            ip_in(ns, &["addr", "add", addr, "dev", dev]);
            ip_in(ns, &["link", "set", dev, "up"]);
        }
        // A second resource host on the same network: never granted in these tests.
        ip_in(&r, &["addr", "add", "10.20.0.11/24", "dev", &gr1]);
        ip_in(&r, &["route", "add", "default", "via", "10.20.0.1"]);
        run(&[
            "ip",
            "netns",
            "exec",
            &g,
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=1",
        ]);

        // WireGuard: the gateway side first, so the contractor's first handshake is answered.
        let gw = wireguard_go(&g, &net.gateway_wg.clone());
        net.children.push(gw);
        ip_in(&g, &["addr", "add", GATEWAY_TUNNEL, "dev", &net.gateway_wg]);
        ip_in(&g, &["link", "set", &net.gateway_wg, "up"]);
        for addr in ["10.20.0.10:5432", "10.20.0.10:22", "10.20.0.11:5432"] {
            echo_server(&r, addr.parse().unwrap());
        }
        net
    }

    /// Builds the network with the harness's own contractor tunnel (key, peer, route to the
    /// resources), for tests of the gateway side.
    pub fn build() -> Net {
        let mut net = Net::build_without_client_tunnel();
        let c = net.client_ns.clone();
        let cl = wireguard_go(&c, &net.client_wg.clone());
        net.children.push(cl);
        let client_private = net.client_private.clone();
        let client_if: InterfaceName = net.client_wg.parse().unwrap();
        DeviceUpdate::new()
            .set_private_key(client_private)
            .apply(&client_if, Backend::Userspace)
            .unwrap();
        net.restart_client_session();
        ip_in(&c, &["addr", "add", CLIENT_TUNNEL, "dev", &net.client_wg]);
        ip_in(&c, &["link", "set", &net.client_wg, "up"]);
        ip_in(&c, &["route", "add", "10.20.0.0/24", "dev", &net.client_wg]);
        net
    }

    /// Sets the contractor's one peer (the gateway) afresh, dropping any session: what the client
    /// service does when it brings a tunnel up for a new grant, so the first packet starts a new
    /// handshake instead of using keys the gateway forgot when the last grant ended.
    pub fn restart_client_session(&self) {
        let gateway = SocketAddr::from(([198, 18, 0, 1], GATEWAY_PORT));
        self.connect_client_to(&self.gateway_private.get_public(), gateway);
    }

    /// Sets the contractor's one peer to the gateway with this key at this endpoint (as a grant's
    /// signed gateway peer gives them), dropping any session.
    pub fn connect_client_to(&self, gateway_public: &Key, endpoint: SocketAddr) {
        let client_if: InterfaceName = self.client_wg.parse().unwrap();
        DeviceUpdate::new()
            .replace_peers()
            .add_peer(
                PeerConfigBuilder::new(gateway_public)
                    .set_endpoint(endpoint)
                    .add_allowed_ip("10.20.0.0".parse().unwrap(), 24),
            )
            .apply(&client_if, Backend::Userspace)
            .unwrap();
    }

    /// Removes the resource host's route back through the gateway, as on a site where nothing routes
    /// the tunnel network.
    pub fn resource_without_route_back(&self) {
        ip_in(&self.resource_ns, &["route", "del", "default"]);
    }

    /// Gives the contractor's tunnel interface the address the broker assigned to the device.
    pub fn readdress_client(&self, cidr: &str) {
        ip_in(&self.client_ns, &["addr", "flush", "dev", &self.client_wg]);
        ip_in(&self.client_ns, &["addr", "add", cidr, "dev", &self.client_wg]);
        ip_in(
            &self.client_ns,
            &["route", "replace", "10.20.0.0/24", "dev", &self.client_wg],
        );
    }

    /// `args` run inside namespace `ns` with `env` added to the environment.
    fn command(ns: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).args(args).envs(env.iter().copied());
        c
    }

    /// Runs a command inside one of the namespaces and returns its standard output; a failure
    /// fails the test with the command's standard error (never its output, which may hold tokens).
    pub fn exec(&self, ns: &str, args: &[&str], env: &[(&str, &str)]) -> String {
        let out = Self::command(ns, args, env).output().unwrap();
        assert!(
            out.status.success(),
            "{} failed: {}",
            args.first().unwrap_or(&""),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts a long-running process inside a namespace; it is killed when the network is dropped.
    pub fn spawn(&mut self, ns: &str, args: &[&str], env: &[(&str, &str)], log: &std::path::Path) -> u32 {
        let file = std::fs::File::create(log).unwrap();
        let child = Self::command(ns, args, env)
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// Opens a TCP connection from the contractor's host, or says why not within `wait`.
    pub fn connect(&self, addr: &str, wait: Duration) -> std::io::Result<TcpStream> {
        let addr: SocketAddr = addr.parse().unwrap();
        in_namespace(&self.client_ns, move || TcpStream::connect_timeout(&addr, wait))
    }
}

/// Sends `text` and waits up to `wait` for it to come back.
pub fn echo(stream: &mut TcpStream, text: &str, wait: Duration) -> std::io::Result<String> {
    stream.set_read_timeout(Some(wait))?;
    stream.write_all(text.as_bytes())?;
    let mut buf = vec![0u8; text.len()];
    stream.read_exact(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn echo_server(ns: &str, addr: SocketAddr) {
    let listener = in_namespace(ns, move || TcpListener::bind(addr).unwrap());
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 512];
                while let Ok(n) = conn.read(&mut buf) {
                    if n == 0 || conn.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
}

impl Drop for Net {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in [&self.client_ns, &self.gateway_ns, &self.resource_ns] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        for iface in [&self.client_wg, &self.gateway_wg] {
            let _ = std::fs::remove_file(format!("/var/run/wireguard/{iface}.sock"));
        }
    }
}
