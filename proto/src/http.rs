//! The HTTPS client gateways and tunnel services reach the broker with: it trusts the pinned broker
//! certificate when one is given (the broker's self-signed default), else the public roots.

use anyhow::Context as _;
use rustls::pki_types::pem::PemObject as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A client with a 5 s connect timeout and no overall timeout (callers that stream set none, the
/// others set one per request).
pub fn broker_client(broker_ca: Option<&Path>) -> anyhow::Result<reqwest::Client> {
    let mut roots = rustls::RootCertStore::empty();
    match broker_ca {
        Some(path) => {
            let pem = std::fs::read(path)
                .with_context(|| format!("reading the broker certificate {}", path.display()))?;
            for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
                let cert =
                    cert.map_err(|e| anyhow::anyhow!("{}: not a PEM certificate ({e:?})", path.display()))?;
                roots
                    .add(cert)
                    .with_context(|| format!("using the certificate in {}", path.display()))?;
            }
            if roots.is_empty() {
                anyhow::bail!("{} holds no PEM certificate", path.display());
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .context("building the HTTP client")
}
