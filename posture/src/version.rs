//! Versions compared as numbers, never as strings: `10.0.26100.2314`, `14.6.1 (a)`, `24.04`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Dotted numeric components, plus an optional macOS Rapid Security Response letter (`(a)` > none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    parts: Vec<u64>,
    rsr: Option<char>,
}

impl Version {
    pub fn parts(&self) -> &[u64] {
        &self.parts
    }

    /// The first `n` components, e.g. the Windows build `10.0.26100` of `10.0.26100.2314`.
    pub fn prefix(&self, n: usize) -> Version {
        Version {
            parts: self.parts.iter().copied().take(n).collect(),
            rsr: None,
        }
    }
}

impl FromStr for Version {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let (numbers, rsr) = match text.split_once('(') {
            Some((head, tail)) => {
                let letter = tail.trim_end_matches(')').trim();
                let mut chars = letter.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if c.is_ascii_lowercase() => (head.trim(), Some(c)),
                    _ => {
                        return Err(format!(
                            "bad version {s:?}: the part in brackets must be one letter, like (a)"
                        ))
                    }
                }
            }
            None => (text, None),
        };
        if numbers.is_empty() {
            return Err(format!("bad version {s:?}: it is empty"));
        }
        let parts = numbers
            .split('.')
            .map(|p| {
                p.parse::<u64>()
                    .map_err(|_| format!("bad version {s:?}: {p:?} is not a number"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Version { parts, rsr })
    }
}

impl Ord for Version {
    /// Missing components count as zero (`14.6` == `14.6.0`); then the RSR letter decides.
    fn cmp(&self, other: &Self) -> Ordering {
        let len = self.parts.len().max(other.parts.len());
        (0..len)
            .map(|i| {
                let a = self.parts.get(i).copied().unwrap_or(0);
                let b = other.parts.get(i).copied().unwrap_or(0);
                a.cmp(&b)
            })
            .find(|o| *o != Ordering::Equal)
            .unwrap_or_else(|| self.rsr.cmp(&other.rsr))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.parts.iter().map(u64::to_string).collect();
        write!(f, "{}", parts.join("."))?;
        if let Some(c) = self.rsr {
            write!(f, " ({c})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    #[test]
    fn numbers_not_strings_decide() {
        assert!(v("10.0.26100.10") > v("10.0.26100.9"));
        assert!(v("14.10") > v("14.9"));
        assert!(v("24.04") > v("22.10"));
    }

    #[test]
    fn missing_components_are_zero_and_rsr_counts_last() {
        assert_eq!(v("14.6").cmp(&v("14.6.0")), Ordering::Equal);
        assert!(v("13.4.1 (a)") > v("13.4.1"));
        assert!(v("13.4.1 (c)") > v("13.4.1 (a)"));
        assert!(v("13.4.2") > v("13.4.1 (c)"));
    }

    #[test]
    fn garbage_is_an_error_not_a_version() {
        for bad in ["", "14.x", "10..1", "13.4 (ab)", "13.4 (A)", "Windows 11"] {
            assert!(bad.parse::<Version>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn prefix_keeps_the_build() {
        assert_eq!(v("10.0.26100.2314").prefix(3), v("10.0.26100"));
    }

    proptest! {
        #[test]
        fn ordering_matches_numeric_tuples(a in proptest::collection::vec(0u64..1000, 1..5), b in proptest::collection::vec(0u64..1000, 1..5)) {
            let text = |p: &Vec<u64>| p.iter().map(u64::to_string).collect::<Vec<_>>().join(".");
            let (va, vb) = (v(&text(&a)), v(&text(&b)));
            let pad = |p: &Vec<u64>| { let mut q = p.clone(); q.resize(5, 0); q };
            prop_assert_eq!(va.cmp(&vb), pad(&a).cmp(&pad(&b)));
            prop_assert_eq!(v(&va.to_string()), va);
        }
    }
}
