//! Human durations (`90m`, `4h`, `1h30m`, `2d`) as contractors type them.

/// Parses a duration into whole seconds; refuses zero, unknown units and bare numbers.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let hint = "write it like 30m, 4h, 1h30m or 2d";
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(format!("the duration is empty: {hint}"));
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in trimmed.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(format!("bad duration {text:?}: unknown unit {c:?}; {hint}")),
        };
        let n: i64 = digits
            .parse()
            .map_err(|_| format!("bad duration {text:?}: {hint}"))?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .filter(|t| *t <= 366 * 86_400)
            .ok_or_else(|| format!("duration {text:?} is longer than a year"))?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(format!("bad duration {text:?}: a number needs a unit; {hint}"));
    }
    if total == 0 {
        return Err(format!("duration {text:?} is zero: {hint}"));
    }
    Ok(total)
}

/// Formats seconds the way `parse_duration` reads them, e.g. `1h30m`.
pub fn format_duration(seconds: i64) -> String {
    if seconds <= 0 {
        return "0s".into();
    }
    let (d, rest) = (seconds / 86_400, seconds % 86_400);
    let (h, rest) = (rest / 3600, rest % 3600);
    let (m, s) = (rest / 60, rest % 60);
    let mut out = String::new();
    for (n, unit) in [(d, 'd'), (h, 'h'), (m, 'm'), (s, 's')] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    out
}

/// A duration as a sentence says it: `15 min`, `4 h`, `1 h 30 min`, `2 d 4 h` (to the minute).
pub fn spoken_duration(seconds: i64) -> String {
    let minutes = seconds.max(0) / 60;
    let (d, h, m) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "min")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect();
    if parts.is_empty() {
        "0 min".into()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `CreateAccessRequest::duration`'s documented pattern (days, hours, minutes, seconds in that
    /// order, at most 3, 3, 4 and 5 digits, not all zero) admits only what this parser accepts: its
    /// largest value is still under a year.
    #[test]
    fn the_documented_pattern_admits_only_what_parses() {
        assert!(parse_duration("299d999h9999m99999s").unwrap() < 366 * 86_400);
        for admitted in ["90m", "4h", "1h30m", "2d", "45s", "0h5m", "007d"] {
            assert!(parse_duration(admitted).is_ok(), "{admitted}");
        }
    }

    #[test]
    fn compound_durations_add_up() {
        assert_eq!(parse_duration("1h30m").unwrap(), 5400);
        assert_eq!(parse_duration("2d").unwrap(), 172_800);
        assert_eq!(parse_duration(" 45s ").unwrap(), 45);
    }

    #[test]
    fn bad_durations_say_how_to_write_one() {
        for bad in ["", "4", "4x", "h", "0m", "99999d"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains("duration"), "{bad}: {err}");
        }
    }

    #[test]
    fn format_round_trips() {
        for s in [59, 3600, 5400, 90_061] {
            assert_eq!(parse_duration(&format_duration(s)).unwrap(), s);
        }
    }

    #[test]
    fn spoken_durations_read_as_people_say_them() {
        assert_eq!(spoken_duration(900), "15 min");
        assert_eq!(spoken_duration(4 * 3600), "4 h");
        assert_eq!(spoken_duration(5400), "1 h 30 min");
        assert_eq!(spoken_duration(2 * 86_400 + 4 * 3600), "2 d 4 h");
        assert_eq!(spoken_duration(30), "0 min");
    }
}
