//! The days a stats request covers: `from` and `to` as `YYYY-MM-DD` (UTC),
//! both included; by default the 30 days up to today.

use chrono::NaiveDate;

use crate::error::AppError;

/// Days a range covers when the request does not say.
pub const DEFAULT_DAYS: i32 = 30;
/// The longest range a request may ask for: bounds the rows one request
/// reads and the size of its answer.
pub const MAX_DAYS: i32 = 366;

/// An inclusive range of UTC day numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayRange {
    pub from: i32,
    pub to: i32,
}

impl DayRange {
    /// Checks `from` and `to`, filling in what is missing: `to` defaults
    /// to `today`, `from` to 29 days before `to`.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: i32) -> Result<DayRange, AppError> {
        let to = match to {
            Some(t) => parse_day("to", t)?,
            None => today,
        };
        let from = match from {
            Some(f) => parse_day("from", f)?,
            None => to - (DEFAULT_DAYS - 1),
        };
        if from > to {
            return Err(AppError::BadRequest(
                "`from` must not be after `to`".to_owned(),
            ));
        }
        if to - from >= MAX_DAYS {
            return Err(AppError::BadRequest(format!(
                "a range covers at most {MAX_DAYS} days"
            )));
        }
        Ok(DayRange { from, to })
    }

    /// Every day of the range, in order.
    pub fn days(self) -> impl Iterator<Item = i32> {
        self.from..=self.to
    }
}

/// The `YYYY-MM-DD` form of a day number.
pub fn date_of(day: i32) -> String {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    epoch
        .checked_add_signed(chrono::Duration::days(day.into()))
        .map_or_else(String::new, |d| d.format("%Y-%m-%d").to_string())
}

fn parse_day(field: &str, value: &str) -> Result<i32, AppError> {
    let bad = || AppError::BadRequest(format!("`{field}` must be a date as YYYY-MM-DD"));
    if value.len() != 10 {
        return Err(bad());
    }
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| bad())?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).ok_or_else(bad)?;
    i32::try_from((date - epoch).num_days()).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_last_thirty_days() {
        let r = DayRange::parse(None, None, 20_000).expect("range");
        assert_eq!((r.from, r.to), (19_971, 20_000));
        assert_eq!(r.days().count(), 30);
        let r = DayRange::parse(None, Some("2026-01-31"), 0).expect("range");
        assert_eq!(date_of(r.from), "2026-01-02");
    }

    #[test]
    fn dates_round_trip_and_bad_ones_are_refused() {
        let r = DayRange::parse(Some("2026-02-27"), Some("2026-03-01"), 0).expect("range");
        assert_eq!(
            r.days().map(date_of).collect::<Vec<_>>(),
            ["2026-02-27", "2026-02-28", "2026-03-01"]
        );
        assert_eq!(date_of(0), "1970-01-01");
        for (from, to) in [
            (Some("2026-13-01"), None),
            (Some("2026-1-1"), None),
            (Some("yesterday"), None),
            (None, Some("2026-02-30")),
            (Some("2026-03-02"), Some("2026-03-01")),
            (Some("2024-01-01"), Some("2026-01-01")),
            (Some("+10000-01-01"), None),
        ] {
            assert!(
                DayRange::parse(from, to, 20_000).is_err(),
                "{from:?} {to:?}"
            );
        }
        assert!(DayRange::parse(Some("2025-01-01"), Some("2026-01-01"), 0).is_ok());
    }
}
