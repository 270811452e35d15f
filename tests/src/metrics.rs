//! Reading what a `/metrics` endpoint says: a strict parser of the OpenMetrics text format (each
//! sample under a declared family of a known type, the right suffixes, `# EOF` last), and
//! Prometheus's own `promtool check metrics` on the same text.

use std::collections::BTreeMap;
use std::io::Write as _;

/// Every sample of an exposition by its series, e.g. `daypass_grants_live` or
/// `daypass_access_requests_total{outcome="granted"}`.
pub type Samples = BTreeMap<String, f64>;

/// Parses `text`, refusing anything the format does not allow.
pub fn parse(text: &str) -> Result<Samples, String> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Samples::new();
    let lines: Vec<&str> = text.lines().collect();
    if lines.last() != Some(&"# EOF") {
        return Err("the exposition does not end with # EOF".into());
    }
    for (n, line) in lines[..lines.len() - 1].iter().enumerate() {
        let at = || format!("line {}: {line:?}", n + 1);
        if let Some(meta) = line.strip_prefix("# ") {
            let mut parts = meta.splitn(3, ' ');
            let (kind, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            match kind {
                "TYPE" => {
                    let t = parts.next().unwrap_or("");
                    if ![
                        "counter",
                        "gauge",
                        "histogram",
                        "summary",
                        "info",
                        "stateset",
                        "unknown",
                    ]
                    .contains(&t)
                    {
                        return Err(format!("{}: unknown type", at()));
                    }
                    types.insert(name.to_string(), t.to_string());
                }
                "HELP" | "UNIT" => {}
                _ => return Err(format!("{}: not a HELP, TYPE or UNIT line", at())),
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .ok_or_else(|| format!("{}: no value", at()))?;
        let value: f64 = value
            .parse()
            .map_err(|_| format!("{}: the value is not a number", at()))?;
        let name = series.split('{').next().unwrap_or("");
        if series.contains('{') && !series.ends_with('}') {
            return Err(format!("{}: unclosed labels", at()));
        }
        let family = types
            .iter()
            .filter(|(f, _)| name.starts_with(f.as_str()))
            .max_by_key(|(f, _)| f.len())
            .ok_or_else(|| format!("{}: no TYPE declared for {name}", at()))?;
        let suffix = &name[family.0.len()..];
        let allowed: &[&str] = match family.1.as_str() {
            "counter" => &["_total", "_created"],
            "histogram" => &["_bucket", "_sum", "_count", "_created"],
            _ => &[""],
        };
        if !allowed.contains(&suffix) {
            return Err(format!(
                "{}: {name} is not a sample name of a {} {}",
                at(),
                family.1,
                family.0
            ));
        }
        if samples.insert(series.to_string(), value).is_some() {
            return Err(format!("{}: the same series twice", at()));
        }
    }
    Ok(samples)
}

/// The same exposition in Prometheus's classic text format, the only one `promtool check metrics`
/// (2.42) reads: a counter family is named by its `_total` sample there, and there is no `# EOF`.
pub fn classic(text: &str) -> String {
    let counters: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    text.lines()
        .filter(|l| *l != "# EOF")
        .map(|l| {
            for c in &counters {
                for kind in ["# HELP ", "# TYPE "] {
                    if let Some(rest) = l.strip_prefix(kind).and_then(|r| r.strip_prefix(c)) {
                        if rest.starts_with(' ') {
                            return format!("{kind}{c}_total{rest}\n");
                        }
                    }
                }
            }
            format!("{l}\n")
        })
        .collect()
}

/// `promtool check metrics` on `text` (its path in `DAYPASS_PROMTOOL`, as `scripts/test.sh` sets it),
/// given in the classic format: its complaints, or nothing.
pub fn promtool_complaints(text: &str) -> String {
    let text = classic(text);
    let promtool = std::env::var("DAYPASS_PROMTOOL").expect(
        "DAYPASS_PROMTOOL is not set: run the tests with scripts/test.sh, which fetches promtool, or point it at one",
    );
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("running promtool");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        said.trim().to_string()
    } else {
        format!("promtool failed ({}): {said}", out.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wellformed_exposition_parses_and_malformed_ones_are_refused() {
        let good =
            "# HELP x_requests Requests.\n# TYPE x_requests counter\nx_requests_total{outcome=\"ok\"} 3\n\
                    # TYPE x_live gauge\nx_live 2\n# EOF\n";
        let s = parse(good).unwrap();
        assert_eq!(s["x_requests_total{outcome=\"ok\"}"], 3.0);
        assert_eq!(s["x_live"], 2.0);
        assert_eq!(
            classic(good),
            "# HELP x_requests_total Requests.\n# TYPE x_requests_total counter\nx_requests_total{outcome=\"ok\"} 3\n\
             # TYPE x_live gauge\nx_live 2\n"
        );
        for bad in [
            "# TYPE x_live gauge\nx_live 2\n",
            "x_live 2\n# EOF\n",
            "# TYPE x_requests counter\nx_requests 3\n# EOF\n",
            "# TYPE x_live gauge\nx_live two\n# EOF\n",
            "# TYPE x_live gauge\nx_live 1\nx_live 2\n# EOF\n",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
