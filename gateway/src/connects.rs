//! When devices connect: each peer's latest WireGuard handshake, read from the interface every few
//! seconds. WireGuard shakes hands again every two minutes while traffic flows, so a handshake after
//! a longer silence (or the first one seen) starts a connection. Each is reported to the broker for
//! the live grants of that device on this gateway, so the audit log and every grant's evidence say
//! when the device was connected.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

/// Handshakes closer together than this belong to one connection (WireGuard rekeys every 120 s).
pub const SAME_CONNECTION: Duration = Duration::from_secs(180);

/// One peer as the interface shows it: its latest handshake and the address it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    pub peer: String,
    pub at: Option<SystemTime>,
    pub endpoint: Option<IpAddr>,
}

/// The handshakes seen so far, by peer key: when, and from where.
#[derive(Debug, Default)]
pub struct ConnectWatch {
    last: HashMap<String, (SystemTime, Option<IpAddr>)>,
}

impl ConnectWatch {
    /// Takes each peer's latest handshake now; returns the ones that start a connection: the first
    /// seen, one after a silence, or one from another address than before (the device moved, or
    /// its key is used elsewhere). A peer no longer on the interface is forgotten.
    pub fn observe(&mut self, handshakes: &[Handshake]) -> Vec<Handshake> {
        let mut started = Vec::new();
        let mut seen = HashMap::new();
        for h in handshakes {
            let previous = self.last.get(&h.peer).copied();
            let Some(at) = h.at else {
                if let Some(p) = previous {
                    seen.insert(h.peer.clone(), p);
                }
                continue;
            };
            let new_connection = match previous {
                None => true,
                Some((p, from)) => {
                    let after_silence = at > p && at.duration_since(p).unwrap_or_default() > SAME_CONNECTION;
                    let moved = at > p && h.endpoint.is_some() && from.is_some() && h.endpoint != from;
                    after_silence || moved
                }
            };
            if new_connection {
                started.push(h.clone());
            }
            let latest = previous.map_or(at, |(p, _)| p.max(at));
            seen.insert(
                h.peer.clone(),
                (latest, h.endpoint.or(previous.and_then(|(_, e)| e))),
            );
        }
        self.last = seen;
        started
    }
}

/// How many connects wait for the broker at most while it cannot be reached (the oldest go first).
const BACKLOG: usize = 10_000;

/// Sends the connects that arrive on `rx` to the broker (`POST /api/v1/gateway/connects`), in
/// batches; while the broker cannot be reached they wait and go with the next batch.
pub async fn report(
    client: reqwest::Client,
    brokers: daypass_https::Brokers,
    token: secrecy::SecretString,
    mut rx: tokio::sync::mpsc::Receiver<daypass_proto::api::GatewayConnect>,
) {
    use secrecy::ExposeSecret as _;
    let mut waiting = Vec::new();
    while let Some(first) = rx.recv().await {
        waiting.push(first);
        while let Ok(more) = rx.try_recv() {
            waiting.push(more);
        }
        if waiting.len() > BACKLOG {
            waiting.drain(..waiting.len() - BACKLOG);
        }
        let body = daypass_proto::api::GatewayConnects {
            connects: waiting.clone(),
        };
        let sent = brokers
            .send(|base| {
                client
                    .post(format!("{base}/api/v1/gateway/connects"))
                    .bearer_auth(token.expose_secret())
                    .json(&body)
            })
            .await
            .and_then(|r| r.error_for_status());
        match sent {
            Ok(_) => {
                tracing::info!(connects = waiting.len(), "connects reported");
                waiting.clear();
            }
            // A refusal (4xx) will not get better by sending the same again.
            Err(e) if e.status().is_some_and(|s| s.is_client_error()) => {
                tracing::warn!(error = %e.without_url(), "the broker refused the connects; dropped");
                waiting.clear();
            }
            Err(e) => {
                tracing::warn!(error = %e.without_url(), "could not report connects; they go with the next")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shake(peer: &str, at: Option<SystemTime>, from: &str) -> Handshake {
        Handshake {
            peer: peer.into(),
            at,
            endpoint: from.parse().ok(),
        }
    }

    #[test]
    fn a_handshake_after_a_silence_starts_a_connection_and_rekeys_do_not() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut watch = ConnectWatch::default();
        let at = |s: u64| Some(t0 + Duration::from_secs(s));
        let k = |when| shake("k", when, "198.51.100.7");
        let peers = |found: Vec<Handshake>| found.into_iter().map(|h| (h.peer, h.at)).collect::<Vec<_>>();
        assert!(watch.observe(&[k(None)]).is_empty(), "no handshake yet");
        assert_eq!(
            peers(watch.observe(&[k(at(0))])),
            vec![("k".to_string(), Some(t0))]
        );
        assert!(watch.observe(&[k(at(0))]).is_empty(), "the same handshake");
        assert!(watch.observe(&[k(at(120))]).is_empty(), "a rekey while connected");
        let back = watch.observe(&[k(at(120 + 600))]);
        assert_eq!(
            peers(back),
            vec![("k".to_string(), Some(t0 + Duration::from_secs(720)))],
            "back after ten minutes"
        );
        assert!(watch.observe(&[]).is_empty(), "the peer went away");
        assert_eq!(
            watch.observe(&[k(at(720))]).len(),
            1,
            "and came back: a new connection"
        );
    }

    #[test]
    fn a_handshake_from_another_address_is_a_new_connection_with_that_address() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let at = |s: u64| Some(t0 + Duration::from_secs(s));
        let mut watch = ConnectWatch::default();
        assert_eq!(watch.observe(&[shake("k", at(0), "198.51.100.7")]).len(), 1);
        assert!(watch.observe(&[shake("k", at(60), "198.51.100.7")]).is_empty());
        let moved = watch.observe(&[shake("k", at(90), "203.0.113.9")]);
        assert_eq!(
            moved.len(),
            1,
            "the key is used from elsewhere within the same connection"
        );
        assert_eq!(moved[0].endpoint, "203.0.113.9".parse().ok());
        assert!(watch.observe(&[shake("k", at(150), "203.0.113.9")]).is_empty());
    }
}
