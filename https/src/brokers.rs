//! Several brokers sharing one database, as one: their base URLs in the order IT gave them, and
//! which one answered last, so every call starts there and moves on to the next when it cannot reach it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Brokers {
    bases: Arc<[String]>,
    current: Arc<AtomicUsize>,
}

impl Brokers {
    /// Brokers from `--broker`: one base URL, or several separated by commas.
    pub fn parse(list: &str) -> anyhow::Result<Brokers> {
        let bases: Vec<String> = list
            .split(',')
            .map(|u| u.trim().trim_end_matches('/').to_string())
            .filter(|u| !u.is_empty())
            .collect();
        anyhow::ensure!(
            !bases.is_empty(),
            "--broker is empty: give the broker's URL, e.g. https://broker.example.com:8443"
        );
        for base in &bases {
            let url = reqwest::Url::parse(base).map_err(|e| {
                anyhow::anyhow!(
                    "--broker {base:?} is not a URL ({e}): give https://host:port, or several separated by commas"
                )
            })?;
            anyhow::ensure!(
                matches!(url.scheme(), "https" | "http") && url.host_str().is_some(),
                "--broker {base:?} is not an http(s) URL with a host: give https://host:port"
            );
        }
        Ok(Brokers {
            bases: bases.into(),
            current: Arc::default(),
        })
    }

    /// Every broker once, starting with the one that answered last.
    pub fn in_turn(&self) -> impl Iterator<Item = (usize, &str)> {
        let start = self.current.load(Ordering::Relaxed);
        let n = self.bases.len();
        (0..n).map(move |i| {
            let at = (start + i) % n;
            (at, self.bases[at].as_str())
        })
    }

    /// Records that the broker at `index` answered: the next call starts with it.
    pub fn answered(&self, index: usize) {
        self.current.store(index, Ordering::Relaxed);
    }

    /// The broker the next call starts with.
    pub fn current(&self) -> &str {
        self.base(self.current.load(Ordering::Relaxed))
    }

    /// The `index`th broker (counting round).
    pub fn base(&self, index: usize) -> &str {
        &self.bases[index % self.bases.len()]
    }

    /// Sends the request `build` makes for each broker's base URL, in turn, until one is reached: a
    /// broker that refuses or drops the connection before the request went out is left for the next
    /// (so nothing is sent twice); an answer, or a failure after sending, is the result.
    pub async fn send(
        &self,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> reqwest::Result<reqwest::Response> {
        let mut last = None;
        for (index, base) in self.in_turn() {
            match build(base).send().await {
                Err(e) if e.is_connect() => last = Some(e),
                other => {
                    if other.is_ok() {
                        self.answered(index);
                    }
                    return other;
                }
            }
        }
        Err(last.expect("at least one broker"))
    }

    pub fn len(&self) -> usize {
        self.bases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bases.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_start_with_the_broker_that_answered_last_and_try_each_once() {
        let b = Brokers::parse("https://b1:8443/, https://b2:8443,https://b3").unwrap();
        let order = |b: &Brokers| b.in_turn().map(|(_, u)| u.to_string()).collect::<Vec<_>>();
        assert_eq!(order(&b), ["https://b1:8443", "https://b2:8443", "https://b3"]);
        b.answered(2);
        assert_eq!(order(&b), ["https://b3", "https://b1:8443", "https://b2:8443"]);
        assert_eq!(b.clone().current(), "https://b3", "clones share who answered");
    }

    #[test]
    fn a_list_that_is_not_urls_is_refused_with_what_to_give() {
        for bad in ["", " , ", "broker:8443", "ftp://b1", "https://b1,nope"] {
            let e = Brokers::parse(bad).unwrap_err().to_string();
            assert!(e.contains("--broker"), "{bad:?}: {e}");
        }
    }

    /// A broker on loopback answering every request with 200.
    fn answering() -> String {
        use std::io::{Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                let mut request = [0u8; 4096];
                let _ = conn.read(&mut request);
                let _ =
                    conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn a_call_goes_to_the_next_broker_when_one_refuses_the_connection_and_starts_there_next_time() {
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", l.local_addr().unwrap())
        };
        let brokers = Brokers::parse(&format!("{dead},{}", answering())).unwrap();
        let client = crate::builder(crate::Trust::PublicAnd(None))
            .unwrap()
            .build()
            .unwrap();
        let answer = brokers
            .send(|base| client.post(format!("{base}/api/v1/requests")).body("{}"))
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        assert_ne!(
            brokers.current(),
            dead,
            "the next call starts with the broker that answered"
        );

        // None reachable: the last connection error, for the caller to report.
        let none = Brokers::parse(&dead).unwrap();
        let e = none.send(|base| client.get(base)).await.unwrap_err();
        assert!(e.is_connect(), "{e}");
    }
}
