//! Syslog over TLS (RFC 5425): each audit entry one RFC 5424 message (`audit::syslog_line`, the
//! entry as JSON with its sequence number), octet-counted ("LEN SP MSG") on one TLS connection.
//! Syslog writes nothing back, so a message counts as delivered only once it settled on a
//! connection still open (see `siem`).

use super::{Collector, SyslogTls};
use crate::audit::syslog_line;
use crate::domain::audit::AuditEntry;
use daypass_https::Trust;
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

const TIMEOUT: Duration = Duration::from_secs(10);

pub struct SyslogTlsCollector {
    address: String,
    server_name: ServerName<'static>,
    connector: TlsConnector,
    hostname: String,
    stream: Option<TlsStream<TcpStream>>,
}

impl SyslogTlsCollector {
    pub fn new(config: &SyslogTls) -> Result<Self, String> {
        let name = &config.name;
        let (host, _port) = config
            .address
            .rsplit_once(':')
            .filter(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
            .ok_or_else(|| {
                format!(
                    "siem {name:?}: address {:?} is not HOST:PORT (e.g. siem.example.com:6514)",
                    config.address
                )
            })?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let server_name = ServerName::try_from(host.to_string())
            .map_err(|e| format!("siem {name:?}: {host:?} is not a host name or address ({e})"))?;
        let trust = match &config.ca_file {
            Some(ca) => Trust::Only(ca),
            None => Trust::PublicAnd(None),
        };
        let tls = daypass_https::tls_config(trust).map_err(|e| format!("siem {name:?}: {e:#}"))?;
        Ok(SyslogTlsCollector {
            address: config.address.clone(),
            server_name,
            connector: TlsConnector::from(Arc::new(tls)),
            hostname: config.hostname.clone().unwrap_or_else(super::host_name),
            stream: None,
        })
    }

    async fn connect(&self) -> Result<TlsStream<TcpStream>, String> {
        let tcp = tokio::time::timeout(TIMEOUT, TcpStream::connect(&self.address))
            .await
            .map_err(|_| format!("connecting to {} timed out", self.address))?
            .map_err(|e| format!("connecting to {}: {e}", self.address))?;
        tokio::time::timeout(TIMEOUT, self.connector.connect(self.server_name.clone(), tcp))
            .await
            .map_err(|_| format!("the TLS handshake with {} timed out", self.address))?
            .map_err(|e| format!("the TLS handshake with {}: {e}", self.address))
    }
}

/// One octet-counted frame: the message's length in bytes, a space, the message.
pub fn frame(message: &str) -> String {
    format!("{} {message}", message.len())
}

#[async_trait::async_trait]
impl Collector for SyslogTlsCollector {
    async fn send(&mut self, entries: &[AuditEntry]) -> Result<bool, String> {
        if self.stream.is_none() {
            self.stream = Some(self.connect().await?);
        }
        let frames: String = entries
            .iter()
            .map(|e| frame(&syslog_line(e, &self.hostname)))
            .collect();
        let stream = self.stream.as_mut().ok_or("no connection")?;
        let written = async {
            stream.write_all(frames.as_bytes()).await?;
            stream.flush().await
        };
        tokio::time::timeout(TIMEOUT, written)
            .await
            .map_err(|_| format!("writing to {} timed out", self.address))?
            .map_err(|e| format!("writing to {}: {e}", self.address))?;
        Ok(false)
    }

    async fn still_open(&mut self) -> bool {
        let Some(stream) = self.stream.as_mut() else {
            return false;
        };
        let mut byte = [0u8; 1];
        // A collector sends nothing: a read that finishes at once is the connection closing.
        match tokio::time::timeout(Duration::from_millis(5), stream.read(&mut byte)).await {
            Err(_waiting) => true,
            Ok(Ok(n)) => n > 0,
            Ok(Err(_)) => false,
        }
    }

    fn reset(&mut self) {
        self.stream = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_count_octets_not_characters() {
        assert_eq!(frame("<85>1 - x"), "9 <85>1 - x");
        assert_eq!(frame("é"), "2 é");
    }

    #[test]
    fn an_address_without_a_port_is_refused_with_an_example() {
        let config = SyslogTls {
            name: "soc".into(),
            address: "siem.example.com".into(),
            ca_file: None,
            hostname: None,
        };
        let err = SyslogTlsCollector::new(&config).err().unwrap();
        assert!(err.contains("is not HOST:PORT"), "{err}");
    }
}
