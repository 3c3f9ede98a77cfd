//! How pages write times and numbers.

use chrono::{DateTime, Utc};

/// A Unix-millisecond time as people read it: `2026-12-01 17:23 UTC`.
pub fn time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

/// A Unix-millisecond time as a `datetime-local` input holds it (UTC).
pub fn datetime_local(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map_or_else(String::new, |t| t.format("%Y-%m-%dT%H:%M").to_string())
}

/// A count with thousands separated: `1,234,567`.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_counts_read_well() {
        assert_eq!(time(1_764_609_780_000), "2025-12-01 17:23 UTC");
        assert_eq!(datetime_local(1_764_609_780_000), "2025-12-01T17:23");
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (1_234_567, "1,234,567"),
            (-4200, "-4,200"),
        ] {
            assert_eq!(count(n), text);
        }
    }
}
