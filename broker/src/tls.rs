//! The broker's TLS identity: a configured certificate, or a self-signed one made on first start
//! whose fingerprint clients pin.

use anyhow::{Context, Result};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::CertificateDer;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct TlsIdentity {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// `SHA256:` and the colon-separated hex digest of the leaf certificate (DER).
    pub fingerprint: String,
    pub generated: bool,
}

/// Uses the configured pair, or generates (once) a self-signed certificate in `dir`.
pub fn identity(configured: Option<(&Path, &Path)>, dir: &Path, names: &[String]) -> Result<TlsIdentity> {
    if let Some((cert, key)) = configured {
        anyhow::ensure!(key.exists(), "TLS key {} does not exist", key.display());
        return Ok(TlsIdentity {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            fingerprint: fingerprint_of_file(cert)?,
            generated: false,
        });
    }
    let cert = dir.join("broker-cert.pem");
    let key = dir.join("broker-key.pem");
    let mut generated = false;
    if !cert.exists() || !key.exists() {
        let made = rcgen::generate_simple_self_signed(names.to_vec())
            .context("generating a self-signed certificate")?;
        crate::keys::write_private(&key, made.key_pair.serialize_pem().as_bytes())?;
        std::fs::write(&cert, made.cert.pem()).with_context(|| format!("writing {}", cert.display()))?;
        generated = true;
    }
    Ok(TlsIdentity {
        fingerprint: fingerprint_of_file(&cert)?,
        cert,
        key,
        generated,
    })
}

pub fn fingerprint_of_file(cert: &Path) -> Result<String> {
    let pem = std::fs::read(cert).with_context(|| format!("reading TLS certificate {}", cert.display()))?;
    let der = CertificateDer::pem_slice_iter(&pem)
        .next()
        .with_context(|| format!("{} holds no PEM certificate", cert.display()))?
        .map_err(|e| anyhow::anyhow!("{} is not a PEM certificate: {e:?}", cert.display()))?;
    Ok(fingerprint(&der))
}

pub fn fingerprint(der: &[u8]) -> String {
    let hex: Vec<String> = Sha256::digest(der).iter().map(|b| format!("{b:02X}")).collect();
    format!("SHA256:{}", hex.join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificate_is_kept_and_its_fingerprint_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let first = identity(None, dir.path(), &["localhost".into(), "127.0.0.1".into()]).unwrap();
        let second = identity(None, dir.path(), &["localhost".into()]).unwrap();
        assert!(first.generated && !second.generated);
        assert_eq!(first.fingerprint, second.fingerprint);
        assert!(first.fingerprint.starts_with("SHA256:") && first.fingerprint.len() == 7 + 32 * 3 - 1);
    }

    #[test]
    fn a_file_without_a_certificate_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let bogus = dir.path().join("c.pem");
        std::fs::write(&bogus, "hello").unwrap();
        let err = identity(Some((&bogus, &bogus)), dir.path(), &[]).unwrap_err();
        assert!(format!("{err:#}").contains("no PEM certificate"), "{err:#}");
    }
}
