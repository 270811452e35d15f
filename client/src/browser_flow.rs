//! Passkeys through the system browser, for platform and synced passkeys the CLI cannot reach
//! directly: the CLI listens on a loopback port, sends the contractor to the broker's ceremony page
//! with that address and a random state value, and takes exactly one answer back, whose state must
//! match (compared in constant time). The answer is only good for the broker's single-use,
//! five-minute challenge, so a stray or replayed post gets nothing. The page's address (with the
//! state) is on the browser's command line, which other users of the machine can read, so on Linux
//! an answer is also taken only from a connection of this process's own user (`peer_user`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use rand::RngCore as _;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

/// How long the contractor has to finish in the browser (the broker's challenge lives 5 minutes).
pub const WAIT: Duration = Duration::from_secs(300);
const MAX_REQUEST: usize = 64 * 1024;

#[derive(Debug)]
pub struct Loopback {
    listener: TcpListener,
    state: String,
}

/// The whole browser flow: listens on a loopback port, hands the broker page's address to `show`
/// (to print, or to open), and waits for the answer.
pub async fn confirm(
    origin: &str,
    ceremony: Uuid,
    show: impl FnOnce(&str),
) -> Result<serde_json::Value, String> {
    let loopback = Loopback::open()
        .await
        .map_err(|e| format!("cannot listen on a loopback port: {e}"))?;
    let page = loopback.page(origin, ceremony).map_err(|e| e.to_string())?;
    show(&page);
    loopback.answer().await
}

impl Loopback {
    pub async fn open() -> std::io::Result<Loopback> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Ok(Loopback {
            listener,
            state: B64URL.encode(bytes),
        })
    }

    /// The broker page to open for `ceremony`.
    pub fn page(&self, origin: &str, ceremony: Uuid) -> std::io::Result<String> {
        let port = self.listener.local_addr()?.port();
        Ok(format!(
            "{}/passkeys/ceremony?c={ceremony}&return=http%3A%2F%2F127.0.0.1%3A{port}%2Fdone&state={}",
            origin.trim_end_matches('/'),
            self.state
        ))
    }

    /// Waits for the page's post: the credential, or what the browser said went wrong.
    pub async fn answer(&self) -> Result<serde_json::Value, String> {
        tokio::time::timeout(WAIT, self.first_post())
            .await
            .map_err(|_| "nothing came back from the browser within 5 minutes: start again".to_string())?
    }

    async fn first_post(&self) -> Result<serde_json::Value, String> {
        loop {
            let (mut stream, peer) = self.listener.accept().await.map_err(|e| e.to_string())?;
            if !crate::peer_user::is_own_user(peer, self.listener.local_addr().map_err(|e| e.to_string())?) {
                // Read what they sent (a second at most) before answering: closing with their request
                // unread would reset the connection and lose the answer on its way to them.
                let _ = tokio::time::timeout(Duration::from_secs(1), read_post(&mut stream)).await;
                let _ = respond(
                    &mut stream,
                    "403 Forbidden",
                    "This answer comes from another user of this machine.",
                )
                .await;
                continue;
            }
            let Some(form) = read_post(&mut stream).await else {
                let _ = respond(&mut stream, "404 Not Found", "Nothing here.").await;
                continue;
            };
            let field = |name: &str| {
                form.iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
                    .unwrap_or("")
            };
            if !same(field("state").as_bytes(), self.state.as_bytes()) {
                let _ = respond(
                    &mut stream,
                    "403 Forbidden",
                    "This answer is not for this sign-in.",
                )
                .await;
                continue;
            }
            if !field("error").is_empty() {
                let _ = respond(
                    &mut stream,
                    "200 OK",
                    "Daypass did not get a passkey. Return to the app.",
                )
                .await;
                return Err(format!("the browser said: {}", field("error")));
            }
            let credential = serde_json::from_str(field("credential"))
                .map_err(|e| format!("the browser's answer is not WebAuthn JSON: {e}"))?;
            let _ = respond(
                &mut stream,
                "200 OK",
                "Done. You can close this window and return to Daypass.",
            )
            .await;
            return Ok(credential);
        }
    }
}

/// Equal bytes, compared without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The form fields of a `POST`, or `None` for anything else.
async fn read_post(stream: &mut TcpStream) -> Option<Vec<(String, String)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 || buf.len() > MAX_REQUEST {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    if !head.starts_with("POST ") {
        return None;
    }
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        })
        .and_then(|(_, v)| v.trim().parse().ok())?;
    if length > MAX_REQUEST {
        return None;
    }
    while buf.len() < header_end + length {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(form_fields(&buf[header_end..header_end + length]))
}

/// `application/x-www-form-urlencoded` into (name, value) pairs.
fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

async fn respond(stream: &mut TcpStream, status: &str, text: &str) -> std::io::Result<()> {
    let body = format!("<!doctype html><meta charset=utf-8><title>Daypass</title><p>{text}</p>");
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_are_decoded() {
        let f =
            form_fields("state=a%2Bb&credential=%7B%22id%22%3A1%7D&error=&x=y+z&bad=%zz&é=%é%".as_bytes());
        assert_eq!(f[0], ("state".into(), "a+b".into()));
        assert_eq!(f[1], ("credential".into(), "{\"id\":1}".into()));
        assert_eq!(f[2], ("error".into(), "".into()));
        assert_eq!(f[3], ("x".into(), "y z".into()));
        assert_eq!(f[4], ("bad".into(), "%zz".into()));
        assert_eq!(
            f[5],
            ("é".into(), "%é%".into()),
            "no panic on bytes that are not hex"
        );
    }

    #[test]
    fn states_compare_whole() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
    }

    #[tokio::test]
    async fn only_a_post_with_the_right_state_is_taken() {
        let lb = Loopback::open().await.unwrap();
        let url = lb.page("https://broker.example", Uuid::nil()).unwrap();
        let port: u16 = url
            .split("%3A")
            .nth(2)
            .unwrap()
            .split('%')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let state = lb.state.clone();
        let post = |body: String| async move {
            let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            let req = format!(
                "POST /done HTTP/1.1\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            s.write_all(req.as_bytes()).await.unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        };
        let waiting = tokio::spawn(async move { lb.answer().await });
        let get = {
            let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            s.write_all(b"GET /favicon.ico HTTP/1.1\r\n\r\n").await.unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        };
        assert!(get.starts_with("HTTP/1.1 404"));
        let forged = post("state=guess&credential=%7B%7D".into()).await;
        assert!(forged.starts_with("HTTP/1.1 403"), "{forged}");
        let real = post(format!("state={state}&credential=%7B%22id%22%3A%22k%22%7D")).await;
        assert!(real.starts_with("HTTP/1.1 200"));
        assert_eq!(waiting.await.unwrap().unwrap(), serde_json::json!({ "id": "k" }));
    }

    /// Another user of the machine can read the page's address (state included) off the browser's
    /// command line; their answer is refused all the same, and ours still arrives.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn an_answer_from_another_user_of_the_machine_is_refused() {
        let lb = Loopback::open().await.unwrap();
        let port = lb.listener.local_addr().unwrap().port();
        let state = lb.state.clone();
        let waiting = tokio::spawn(async move { lb.answer().await });
        let body = format!("state={state}&credential=%7B%22id%22%3A%22theirs%22%7D");
        let script = format!(
            "exec 3<>/dev/tcp/127.0.0.1/{port}; printf 'POST /done HTTP/1.1\\r\\ncontent-length: {}\\r\\n\\r\\n{body}' >&3; cat <&3",
            body.len()
        );
        let theirs = tokio::task::spawn_blocking(move || {
            std::process::Command::new("runuser")
                .args(["-u", "nobody", "--", "bash", "-c", &script])
                .output()
                .expect("runuser (util-linux): this test runs as root, like the suite")
        })
        .await
        .unwrap();
        let said = String::from_utf8_lossy(&theirs.stdout);
        assert!(
            said.starts_with("HTTP/1.1 403") && said.contains("another user"),
            "{said:?} {theirs:?}"
        );
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let ours = format!("state={state}&credential=%7B%22id%22%3A%22ours%22%7D");
        let req = format!(
            "POST /done HTTP/1.1\r\ncontent-length: {}\r\n\r\n{ours}",
            ours.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        assert_eq!(
            waiting.await.unwrap().unwrap(),
            serde_json::json!({ "id": "ours" })
        );
    }
}
