//! Golden tests: every fixture's facts and report, compared with the reviewed answer in
//! `tests/golden/<fixture>.json`. After an intended change, `DAYPASS_BLESS=1 cargo test -p
//! daypass-posture --test it golden` rewrites them; review the diff before committing it.

use super::{key, signed_baseline};
use daypass_posture::baseline;
use daypass_posture::evaluate::evaluate;
use daypass_posture::policy::Policy;
use daypass_posture::probes::collect;
use daypass_posture::system::{FixtureSystem, System};
use std::path::Path;

#[test]
fn every_fixture_matches_its_reviewed_facts_and_report() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let bless = std::env::var_os("DAYPASS_BLESS").is_some();
    let mut names: Vec<String> = std::fs::read_dir(root.join("fixtures"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 10, "fixtures went missing: {names:?}");
    let mut mismatched = Vec::new();
    for name in &names {
        let sys = FixtureSystem::open(&root.join("fixtures").join(name)).unwrap();
        let facts = collect(&sys);
        let verified = baseline::verify(&signed_baseline(), &key().verifying_key(), sys.now());
        let report = evaluate(&facts, &Policy::default(), &verified, sys.now());
        let actual = serde_json::to_string_pretty(&serde_json::json!({ "facts": facts, "report": report }))
            .unwrap()
            + "\n";
        let golden = root.join("golden").join(format!("{name}.json"));
        if bless {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, &actual).unwrap();
        } else if std::fs::read_to_string(&golden).ok().as_deref() != Some(actual.as_str()) {
            mismatched.push(format!("{name}:\n{actual}"));
        }
    }
    assert!(
        mismatched.is_empty(),
        "these fixtures no longer give their reviewed answer (rerun with DAYPASS_BLESS=1 after checking the change is intended):\n{}",
        mismatched.join("\n")
    );
}
