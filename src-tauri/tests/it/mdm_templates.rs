//! The MDM templates IT deploys (`installers/windows/policy/daypass.admx` with its en-US `.adml`, and
//! `installers/macos/com.daypass.desktop.mobileconfig`) against the code that reads what they set
//! (`daypass_desktop::config`), so the two cannot drift: every value the app reads has a policy, every
//! policy is a value the app reads, in the key it reads, and the profile's payload reads back through
//! the app's own parser.

use daypass_desktop::config::{from_managed_preferences, from_policy_values, POLICY_KEY};
use quick_xml::events::Event;
use std::collections::BTreeSet;
use std::path::Path;

fn installers(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../installers")
        .join(path)
}

/// Every element of an XML file as (name, attributes).
fn elements(path: &Path) -> Vec<(String, Vec<(String, String)>)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut found = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) | Event::Empty(e) => {
                let attributes = e
                    .attributes()
                    .map(|a| {
                        let a = a.unwrap();
                        (
                            a.key.into_inner().to_string(),
                            a.normalized_value(quick_xml::XmlVersion::Explicit1_0)
                                .unwrap()
                                .into_owned(),
                        )
                    })
                    .collect();
                found.push((e.name().into_inner().to_string(), attributes));
            }
            Event::Eof => return found,
            _ => {}
        }
    }
}

fn attribute<'a>(attributes: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The value names the app asks the policy key for.
fn names_the_app_reads() -> BTreeSet<String> {
    let asked = std::cell::RefCell::new(BTreeSet::new());
    from_policy_values(|name| {
        asked.borrow_mut().insert(name.to_string());
        Ok(None)
    })
    .unwrap();
    asked.into_inner()
}

#[test]
fn the_admx_sets_exactly_the_values_the_app_reads_where_it_reads_them() {
    let admx = elements(&installers("windows/policy/daypass.admx"));
    let policies: Vec<_> = admx.iter().filter(|(n, _)| n == "policy").collect();
    assert!(!policies.is_empty());
    for (_, attributes) in &policies {
        assert_eq!(attribute(attributes, "key"), Some(POLICY_KEY));
        assert_eq!(
            attribute(attributes, "class"),
            Some("Machine"),
            "IT's policy, not the user's"
        );
    }
    let set: BTreeSet<String> = admx
        .iter()
        .filter(|(n, _)| n == "text")
        .map(|(_, a)| attribute(a, "valueName").unwrap().to_string())
        .collect();
    assert_eq!(set, names_the_app_reads());
}

#[test]
fn every_string_and_presentation_the_admx_names_is_in_the_adml() {
    let admx = elements(&installers("windows/policy/daypass.admx"));
    let adml = elements(&installers("windows/policy/en-US/daypass.adml"));
    let ids = |element: &str| -> BTreeSet<String> {
        adml.iter()
            .filter(|(n, _)| n == element)
            .map(|(_, a)| attribute(a, "id").unwrap().to_string())
            .collect()
    };
    let (strings, presentations) = (ids("string"), ids("presentation"));
    for (_, attributes) in &admx {
        for (_, value) in attributes {
            if let Some(id) = value.strip_prefix("$(string.").and_then(|v| v.strip_suffix(')')) {
                assert!(strings.contains(id), "string {id} is not in the ADML");
            }
            if let Some(id) = value
                .strip_prefix("$(presentation.")
                .and_then(|v| v.strip_suffix(')'))
            {
                assert!(presentations.contains(id), "presentation {id} is not in the ADML");
            }
        }
    }
    let text_ids: BTreeSet<String> = admx
        .iter()
        .filter(|(n, _)| n == "text")
        .map(|(_, a)| attribute(a, "id").unwrap().to_string())
        .collect();
    let boxes: BTreeSet<String> = adml
        .iter()
        .filter(|(n, _)| n == "textBox")
        .map(|(_, a)| attribute(a, "refId").unwrap().to_string())
        .collect();
    assert_eq!(text_ids, boxes, "each text value has its box");
}

#[test]
fn the_profiles_payload_reads_back_through_the_apps_parser() {
    let profile: plist::Dictionary =
        plist::from_file(installers("macos/com.daypass.desktop.mobileconfig")).unwrap();
    let payloads = profile["PayloadContent"].as_array().unwrap();
    let payload = payloads
        .iter()
        .map(|p| p.as_dictionary().unwrap())
        .find(|p| p["PayloadType"].as_string() == Some("com.daypass.desktop"))
        .expect("a payload for the app's identifier");
    let app_keys: BTreeSet<String> = payload
        .keys()
        .filter(|k| !k.starts_with("Payload"))
        .cloned()
        .collect();
    assert!(app_keys.is_subset(&names_the_app_reads()), "{app_keys:?}");
    let mut bytes = Vec::new();
    plist::to_writer_xml(&mut bytes, payload).unwrap();
    let settings = from_managed_preferences(&bytes).unwrap();
    assert_eq!(
        settings.broker_url.as_deref(),
        Some("https://broker.example.com:8443")
    );
    assert!(settings.broker_key.is_some(), "URL and key go together");
    let identifier: serde_json::Value = serde_json::from_str(include_str!("../../tauri.conf.json")).unwrap();
    assert_eq!(identifier["identifier"], "com.daypass.desktop");
}
