//! The posture baseline the broker judges patch level with: IT's own (`posture_baseline` in
//! broker.toml), else one imported with `baseline import`, else the one Daypass ships (signed by
//! the Daypass baseline key, built into this binary). `baseline show|import|sign` work on them.

use crate::config::FileConfig;
use anyhow::{Context, Result};
use daypass_posture::baseline::{self, Baseline, BaselineProblem};
use daypass_proto::Signed;
use ed25519_dalek::{SigningKey, VerifyingKey};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// The baseline Daypass ships, and the public half of the key it is signed with.
const SHIPPED: &str = include_str!("../baseline/default-baseline.signed.json");
const SHIPPED_KEY: &str = include_str!("../baseline/daypass-baseline.pub");

/// Where an imported baseline and its pinned key are kept, in the data directory.
const IMPORTED: &str = "baseline.json";
const IMPORTED_KEY: &str = "baseline.pub";

/// The baseline in force, its key and where it came from.
pub struct InForce {
    pub signed: Signed<Baseline>,
    pub key: VerifyingKey,
    pub origin: String,
}

fn parse_key(text: &str, what: &str) -> Result<VerifyingKey> {
    daypass_proto::signed::parse_public_key(text).map_err(|e| anyhow::anyhow!("{what} is {e}"))
}

fn read_signed(path: &Path) -> Result<Signed<Baseline>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a signed baseline (make one with `daypass-broker baseline sign`)",
            path.display()
        )
    })
}

/// The shipped baseline and its key.
pub fn shipped() -> Result<InForce> {
    Ok(InForce {
        signed: serde_json::from_str(SHIPPED).context("the shipped baseline")?,
        key: parse_key(SHIPPED_KEY, "the shipped baseline key")?,
        origin: "shipped with Daypass".into(),
    })
}

/// IT's configured baseline, else the imported one, else the shipped one.
pub fn in_force(file: &FileConfig, data_dir: &Path) -> Result<InForce> {
    match (&file.posture_baseline, &file.posture_baseline_key) {
        (Some(path), Some(key)) => {
            return Ok(InForce {
                signed: read_signed(path).context("posture_baseline")?,
                key: parse_key(key, "posture_baseline_key")?,
                origin: format!("posture_baseline {}", path.display()),
            })
        }
        (None, None) => {}
        _ => anyhow::bail!("posture_baseline and posture_baseline_key go together: set both or neither"),
    }
    let (imported, key) = (data_dir.join(IMPORTED), data_dir.join(IMPORTED_KEY));
    if imported.exists() {
        let key_text = std::fs::read_to_string(&key).with_context(|| {
            format!(
                "reading {} (the key the imported baseline was pinned with)",
                key.display()
            )
        })?;
        return Ok(InForce {
            signed: read_signed(&imported)?,
            key: parse_key(&key_text, &key.display().to_string())?,
            origin: format!("imported ({})", imported.display()),
        });
    }
    shipped()
}

/// Verifies `file` with `key`, refuses an expired or forged one, and keeps it (with the key) in
/// the data directory, where the broker takes it over the shipped one at its next start.
pub fn import(file: &Path, key: &str, data_dir: &Path, now: OffsetDateTime) -> Result<Baseline> {
    let signed = read_signed(file)?;
    let pinned = parse_key(key, "--key")?;
    let verified = baseline::verify(&signed, &pinned, now)
        .map_err(|p| anyhow::anyhow!("{} was not imported: {p}", file.display()))?;
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    // Key first, baseline last: a broker starting in between still finds the old pair or none.
    replace(&data_dir.join(IMPORTED_KEY), key.trim().as_bytes())?;
    replace(
        &data_dir.join(IMPORTED),
        serde_json::to_string_pretty(&signed)?.as_bytes(),
    )?;
    Ok(verified.baseline)
}

/// Writes `path` whole or not at all (a temporary file renamed over it).
fn replace(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
}

/// Signs the baseline in `input` (JSON, as `baseline show --json` prints one) with the key in
/// `key_file` (made if it does not exist), after checking it makes sense.
pub fn sign(input: &Path, key_file: &Path) -> Result<(Signed<Baseline>, VerifyingKey)> {
    let text = std::fs::read_to_string(input).with_context(|| format!("reading {}", input.display()))?;
    let baseline: Baseline =
        serde_json::from_str(&text).with_context(|| format!("{} is not a baseline", input.display()))?;
    check(&baseline).with_context(|| format!("{} was not signed", input.display()))?;
    let key: SigningKey = crate::keys::load_or_create_signing_key(key_file)?;
    Ok((Signed::sign(&baseline, &key), key.verifying_key()))
}

/// What a baseline must be before anyone signs it.
fn check(b: &Baseline) -> Result<()> {
    anyhow::ensure!(b.valid_until > b.issued_at, "valid_until is not after issued_at");
    anyhow::ensure!(!b.releases.is_empty(), "it names no release");
    let mut seen = std::collections::BTreeSet::new();
    for r in &b.releases {
        let id = format!("{} {}", r.name, r.release);
        anyhow::ensure!(seen.insert(id.clone()), "{id} is listed twice");
        if let Some(min) = &r.minimum {
            min.parse::<daypass_posture::version::Version>()
                .map_err(|e| anyhow::anyhow!("{id}: minimum {min:?} is not a version ({e})"))?;
        }
        if let Some(source) = &r.source {
            time::Date::parse(
                &source.published,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .map_err(|_| {
                anyhow::anyhow!("{id}: source.published {:?} is not YYYY-MM-DD", source.published)
            })?;
        }
    }
    Ok(())
}

/// Whether the baseline still judges, and for how long: `Ok(None)` fine, `Ok(Some(w))` a warning
/// (it expires soon), `Err(p)` it no longer judges anything.
pub fn health(in_force: &InForce, now: OffsetDateTime) -> Result<Option<String>, BaselineProblem> {
    let verified = baseline::verify(&in_force.signed, &in_force.key, now)?;
    Ok(baseline::expiry_warning(&verified.baseline, now))
}

/// `baseline show` in words.
pub fn describe(in_force: &InForce, now: OffsetDateTime) -> String {
    let mut out = format!("Posture baseline: {}\n", in_force.origin);
    match baseline::verify(&in_force.signed, &in_force.key, now) {
        Err(problem) => out.push_str(&format!("NOT USABLE: {problem}\n")),
        Ok(v) => {
            let b = &v.baseline;
            out.push_str(&format!(
                "issued {}, valid until {}, {} days of grace after a minimum is raised; digest {}\n",
                b.issued_at.date(),
                b.valid_until.date(),
                b.grace_days,
                v.digest
            ));
            if let Ok(Some(warning)) = health(in_force, now) {
                out.push_str(&format!("WARNING: {warning}\n"));
            }
            for r in &b.releases {
                let until = r.supported_until.map_or("no end announced".to_string(), |d| {
                    let word = if d <= now { "ended" } else { "until" };
                    format!("{word} {}", d.date())
                });
                out.push_str(&format!(
                    "  {:<8} {:<11} support {until}; minimum {}\n",
                    r.name,
                    r.release,
                    r.minimum
                        .as_deref()
                        .unwrap_or("(pending updates are checked instead)")
                ));
                if let Some(s) = &r.source {
                    out.push_str(&format!(
                        "           source {} ({}): {}\n",
                        s.url, s.published, s.note
                    ));
                }
            }
        }
    }
    out
}

/// Where `baseline import` keeps files, for the CLI's message.
pub fn imported_path(data_dir: &Path) -> PathBuf {
    data_dir.join(IMPORTED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-05 12:00 UTC);

    #[test]
    fn the_shipped_baseline_verifies_with_the_shipped_key_and_matches_its_source_file() {
        let shipped = shipped().unwrap();
        let verified = baseline::verify(&shipped.signed, &shipped.key, NOW).unwrap();
        let source: Baseline =
            serde_json::from_str(include_str!("../baseline/default-baseline.json")).unwrap();
        assert_eq!(
            verified.baseline, source,
            "default-baseline.json was edited but not signed again"
        );
        check(&source).unwrap();
        for family in ["windows", "macos", "ubuntu", "debian", "fedora", "rhel"] {
            assert!(
                source.releases.iter().any(|r| r.name == family),
                "the shipped baseline covers {family}"
            );
        }
        assert!(
            source.releases.iter().all(|r| r.source.is_some()),
            "every entry names its source"
        );
    }

    #[test]
    fn it_warns_two_weeks_before_it_expires_and_fails_after() {
        let shipped = shipped().unwrap();
        let until = shipped.signed.verify(&shipped.key).unwrap().valid_until;
        assert_eq!(health(&shipped, until - time::Duration::days(15)).unwrap(), None);
        let soon = health(&shipped, until - time::Duration::days(3))
            .unwrap()
            .unwrap();
        assert!(
            soon.contains("expires") && soon.contains("(3 days left)"),
            "{soon}"
        );
        assert!(matches!(
            health(&shipped, until),
            Err(BaselineProblem::Expired(_))
        ));
        assert!(describe(&shipped, until).contains("NOT USABLE: the baseline expired"));
    }

    #[test]
    fn configured_then_imported_then_shipped() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let none = FileConfig::default();
        assert_eq!(in_force(&none, &data).unwrap().origin, "shipped with Daypass");

        // IT signs its own baseline and imports it.
        let mut own: Baseline =
            serde_json::from_str(include_str!("../baseline/default-baseline.json")).unwrap();
        own.grace_days = 7;
        let unsigned = dir.path().join("own.json");
        std::fs::write(&unsigned, serde_json::to_string(&own).unwrap()).unwrap();
        let key_file = dir.path().join("it-baseline.key");
        let (signed, public) = sign(&unsigned, &key_file).unwrap();
        let signed_file = dir.path().join("own.signed.json");
        std::fs::write(&signed_file, serde_json::to_string(&signed).unwrap()).unwrap();
        let public = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(public.as_bytes())
        };
        // The wrong key is refused and nothing is kept.
        let wrong = SHIPPED_KEY;
        let err = import(&signed_file, wrong, &data, NOW).unwrap_err();
        assert!(format!("{err:#}").contains("was not imported"), "{err:#}");
        assert!(!imported_path(&data).exists());
        import(&signed_file, &public, &data, NOW).unwrap();
        let now_in_force = in_force(&none, &data).unwrap();
        assert!(
            now_in_force.origin.starts_with("imported"),
            "{}",
            now_in_force.origin
        );
        assert_eq!(
            now_in_force.signed.verify(&now_in_force.key).unwrap().grace_days,
            7
        );

        // The configured one wins over both.
        let configured: FileConfig = toml::from_str(&format!(
            "posture_baseline = {:?}\nposture_baseline_key = {:?}",
            signed_file.display().to_string(),
            public
        ))
        .unwrap();
        assert!(in_force(&configured, &data)
            .unwrap()
            .origin
            .starts_with("posture_baseline"));
        let half: FileConfig = toml::from_str(&format!(
            "posture_baseline = {:?}",
            signed_file.display().to_string()
        ))
        .unwrap();
        assert!(in_force(&half, &data)
            .err()
            .unwrap()
            .to_string()
            .contains("go together"));
    }

    #[test]
    fn a_baseline_that_makes_no_sense_is_not_signed() {
        let dir = tempfile::tempdir().unwrap();
        let mut b: Baseline =
            serde_json::from_str(include_str!("../baseline/default-baseline.json")).unwrap();
        b.releases.push(b.releases[0].clone());
        let file = dir.path().join("b.json");
        std::fs::write(&file, serde_json::to_string(&b).unwrap()).unwrap();
        let err = sign(&file, &dir.path().join("k")).unwrap_err();
        assert!(format!("{err:#}").contains("is listed twice"), "{err:#}");
        b.releases.pop();
        b.releases[0].minimum = Some("soon".into());
        std::fs::write(&file, serde_json::to_string(&b).unwrap()).unwrap();
        assert!(format!("{:#}", sign(&file, &dir.path().join("k")).unwrap_err()).contains("is not a version"));
    }
}
