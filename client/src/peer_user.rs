//! Which user a loopback connection comes from, where the OS says: on Linux the connecting socket
//! is found in `/proc/net/tcp` (or `tcp6`) by its two ports, with its owner's uid. Elsewhere the
//! answer is "unknown" and the connection is taken (the state in the page's address still guards it).

use std::net::SocketAddr;

/// Whether the connection from `peer` to our `local` address belongs to this process's user.
/// Fails closed on Linux: a connection whose owner cannot be found is not ours.
pub fn is_own_user(peer: SocketAddr, local: SocketAddr) -> bool {
    #[cfg(target_os = "linux")]
    {
        own_uid().is_some_and(|me| owner_uid(peer, local) == Some(me))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (peer, local);
        true
    }
}

#[cfg(target_os = "linux")]
fn own_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// The uid owning the socket whose local port is `peer`'s and remote port is `local`'s.
#[cfg(target_os = "linux")]
pub fn owner_uid(peer: SocketAddr, local: SocketAddr) -> Option<u32> {
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().find_map(|table| {
        let text = std::fs::read_to_string(table).ok()?;
        owner_in(&text, peer.port(), local.port())
    })
}

/// In a `/proc/net/tcp` table, the uid of the socket from port `from` to port `to`.
#[cfg(any(target_os = "linux", test))]
fn owner_in(table: &str, from: u16, to: u16) -> Option<u32> {
    let port = |address: &str| {
        address
            .rsplit_once(':')
            .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
    };
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (local, remote, uid) = (fields.get(1)?, fields.get(2)?, fields.get(7)?);
        (port(local) == Some(from) && port(remote) == Some(to))
            .then(|| uid.parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_is_read_from_the_socket_table() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   \
            0: 0100007F:A1B2 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 12345 1 0000000000000000 20 4 30 10 -1\n   \
            1: 0100007F:1F90 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000     0        0 12346 1 0000000000000000 20 4 30 10 -1\n";
        assert_eq!(
            owner_in(table, 0xA1B2, 0x1F90),
            Some(1000),
            "the connecting socket"
        );
        assert_eq!(owner_in(table, 0x1F90, 0xA1B2), Some(0), "the accepting one");
        assert_eq!(owner_in(table, 1, 2), None);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_connection_of_our_own_is_ours() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let local = listener.local_addr().unwrap();
        let _client = tokio::net::TcpStream::connect(local).await.unwrap();
        let (_, peer) = listener.accept().await.unwrap();
        assert!(is_own_user(peer, local));
    }
}
