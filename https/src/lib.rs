//! The HTTPS clients Daypass parts reach each other and outside systems with: rustls with ring, and
//! roots that are either one pinned certificate (a self-signed broker) or the public web roots plus
//! an optional private CA bundle (a company's ticket system). Also the command-line arguments every
//! broker client takes.

mod brokers;

pub use brokers::Brokers;

use anyhow::Context as _;
use rustls::pki_types::pem::PemObject as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What went wrong with a call, with its causes ("error sending request: … connection refused"),
/// and without the URL (it may carry a query a log should not keep).
pub fn failure(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
}

/// Whom the client trusts.
#[derive(Debug, Clone, Copy)]
pub enum Trust<'a> {
    /// Only the certificates in this PEM file.
    Only(&'a Path),
    /// The public web roots, plus the certificates in this PEM file if given.
    PublicAnd(Option<&'a Path>),
}

/// A client builder with TLS set up as `trust` says (the caller sets timeouts).
pub fn builder(trust: Trust<'_>) -> anyhow::Result<reqwest::ClientBuilder> {
    Ok(reqwest::Client::builder().use_preconfigured_tls(tls_config(trust)?))
}

/// The TLS client configuration for `trust`, for connections that are not HTTP (syslog over TLS).
pub fn tls_config(trust: Trust<'_>) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let extra = match trust {
        Trust::Only(path) => Some(path),
        Trust::PublicAnd(extra) => {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            extra
        }
    };
    if let Some(path) = extra {
        let pem =
            std::fs::read(path).with_context(|| format!("reading the certificates in {}", path.display()))?;
        let before = roots.len();
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            let cert =
                cert.map_err(|e| anyhow::anyhow!("{}: not a PEM certificate ({e:?})", path.display()))?;
            roots
                .add(cert)
                .with_context(|| format!("using a certificate from {}", path.display()))?;
        }
        if roots.len() == before {
            anyhow::bail!("{} holds no PEM certificate", path.display());
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tls)
}

/// Where the broker is and how to trust it, as gateways and tunnel services are told.
#[derive(Debug, Clone, clap::Args)]
pub struct BrokerArgs {
    /// The broker's base URL, e.g. https://broker.example.com:8443; several brokers sharing one
    /// database are given separated by commas, and a call that cannot reach one goes to the next.
    #[arg(long = "broker", env = "DAYPASS_BROKER_URL")]
    pub url: String,
    /// The broker's grant-signing public key (base64, from GET /api/v1/broker-key), pinned by IT.
    #[arg(long, env = "DAYPASS_BROKER_KEY")]
    pub broker_key: String,
    /// The broker's TLS certificate (PEM) to trust instead of the public roots (self-signed brokers).
    #[arg(long, env = "DAYPASS_BROKER_CA")]
    pub broker_ca: Option<PathBuf>,
}

impl BrokerArgs {
    /// The brokers `--broker` names, or what is wrong with it.
    pub fn brokers(&self) -> anyhow::Result<Brokers> {
        Brokers::parse(&self.url)
    }

    /// The pinned grant-signing key, or what is wrong with it.
    pub fn pinned_key(&self) -> anyhow::Result<ed25519_dalek::VerifyingKey> {
        daypass_proto::signed::parse_public_key(&self.broker_key)
            .map_err(|e| anyhow::anyhow!("--broker-key is {e}: copy it from GET /api/v1/broker-key"))
    }

    /// A client for the broker with a 5 s connect timeout and no overall timeout (streams stay open
    /// for hours; callers that do not stream set one per request).
    pub fn client(&self) -> anyhow::Result<reqwest::Client> {
        let trust = match &self.broker_ca {
            Some(path) => Trust::Only(path),
            None => Trust::PublicAnd(None),
        };
        builder(trust)?
            .connect_timeout(Duration::from_secs(5))
            .build()
            .context("building the HTTP client")
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_failure_names_its_cause_and_not_the_url() {
        // A port nothing listens on (bound, then closed).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = super::builder(super::Trust::PublicAnd(None))
            .unwrap()
            .build()
            .unwrap();
        let e = client
            .get(format!("http://127.0.0.1:{port}/api/v1/secret?token=abc"))
            .send()
            .await
            .unwrap_err();
        let text = super::failure(e);
        assert!(text.starts_with("error sending request"), "{text}");
        assert!(
            text.to_lowercase().contains("refused"),
            "the cause is named: {text}"
        );
        assert!(!text.contains("token=abc"), "{text}");
    }
}
