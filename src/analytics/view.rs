//! The stats as the API returns them: every day of the range, zero-filled,
//! and the top values of each dimension.

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::range::{date_of, DayRange};
use crate::store::{DayRow, Dimension, LinkStatsRows, OwnerStatsRows};

/// Visits on one day.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct DailyClicks {
    /// `YYYY-MM-DD`, UTC.
    pub date: String,
    /// Every visit: people and bots.
    pub clicks: i64,
    pub human: i64,
    pub bots: i64,
}

/// One value of a dimension and its visits.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct NameClicks {
    pub name: String,
    pub clicks: i64,
}

/// A referring host and its visits.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct HostClicks {
    pub host: String,
    pub clicks: i64,
}

/// Analytics of one link over a range of days.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct LinkStats {
    /// First day of the range, `YYYY-MM-DD`.
    pub from: String,
    /// Last day of the range, included.
    pub to: String,
    /// Every visit in the range: `human` plus `bots`.
    pub total: i64,
    pub human: i64,
    /// Known bots, link-preview fetchers and HEAD requests.
    pub bots: i64,
    pub daily: Vec<DailyClicks>,
    /// Top 10 referring hosts (visits without a referrer are not listed).
    pub referrers: Vec<HostClicks>,
    /// Top 10 browsers (uap-core families, bots included).
    pub browsers: Vec<NameClicks>,
    /// Top 10 operating systems.
    pub os: Vec<NameClicks>,
    /// `desktop`, `mobile`, `tablet` and `bot`.
    pub devices: Vec<NameClicks>,
    /// Top 10 countries (ISO 3166-1 alpha-2); empty without `geoip_db`.
    pub countries: Vec<NameClicks>,
}

impl LinkStats {
    /// The answer for `rows`, read over `range`.
    pub fn of(rows: LinkStatsRows, range: DayRange) -> LinkStats {
        let (daily, human, bots) = zero_filled(&rows.days, range);
        let top = |dim: Dimension| -> Vec<NameClicks> {
            rows.top
                .iter()
                .filter(|(d, _, _)| *d == dim)
                .map(|(_, name, clicks)| NameClicks {
                    name: name.clone(),
                    clicks: *clicks,
                })
                .collect()
        };
        LinkStats {
            from: date_of(range.from),
            to: date_of(range.to),
            total: human + bots,
            human,
            bots,
            daily,
            referrers: top(Dimension::Referrer)
                .into_iter()
                .map(|n| HostClicks {
                    host: n.name,
                    clicks: n.clicks,
                })
                .collect(),
            browsers: top(Dimension::Browser),
            os: top(Dimension::Os),
            devices: top(Dimension::Device),
            countries: top(Dimension::Country),
        }
    }
}

/// A link among the caller's most visited.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct TopLink {
    pub code: String,
    pub clicks: i64,
    pub human: i64,
    pub bots: i64,
}

/// Requests for codes that no link has, on one day.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct UnknownDay {
    pub date: String,
    pub requests: i64,
}

/// The caller's totals across their links (the admin's: every link).
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct OwnerStats {
    pub from: String,
    pub to: String,
    pub total: i64,
    pub human: i64,
    pub bots: i64,
    pub daily: Vec<DailyClicks>,
    /// The 10 links with most visits in the range.
    pub top_links: Vec<TopLink>,
    /// Admin only: requests for unknown codes per day, zero-filled, so
    /// scans show.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_codes: Option<Vec<UnknownDay>>,
}

impl OwnerStats {
    /// The answer for `rows` (and unknown-code counts), over `range`.
    pub fn of(rows: OwnerStatsRows, unknown: Option<Vec<(i32, i64)>>, range: DayRange) -> Self {
        let (daily, _, _) = zero_filled(&rows.days, range);
        let unknown_codes = unknown.map(|days| {
            let by_day: HashMap<i32, i64> = days.into_iter().collect();
            range
                .days()
                .map(|day| UnknownDay {
                    date: date_of(day),
                    requests: by_day.get(&day).copied().unwrap_or(0),
                })
                .collect()
        });
        OwnerStats {
            from: date_of(range.from),
            to: date_of(range.to),
            total: rows.human + rows.bots,
            human: rows.human,
            bots: rows.bots,
            daily,
            top_links: rows
                .top_links
                .into_iter()
                .map(|(code, human, bots)| TopLink {
                    code,
                    clicks: human + bots,
                    human,
                    bots,
                })
                .collect(),
            unknown_codes,
        }
    }
}

/// Every day of `range` with its counts (zero when absent), and the sums.
fn zero_filled(days: &[DayRow], range: DayRange) -> (Vec<DailyClicks>, i64, i64) {
    let by_day: HashMap<i32, &DayRow> = days.iter().map(|d| (d.day, d)).collect();
    let (mut human, mut bots) = (0, 0);
    let daily = range
        .days()
        .map(|day| {
            let (h, b) = by_day.get(&day).map_or((0, 0), |d| (d.human, d.bots));
            human += h;
            bots += b;
            DailyClicks {
                date: date_of(day),
                clicks: h + b,
                human: h,
                bots: b,
            }
        })
        .collect();
    (daily, human, bots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_day_is_listed_and_dimensions_are_split() {
        let range = DayRange { from: 10, to: 12 };
        let rows = LinkStatsRows {
            days: vec![DayRow {
                link_id: 1,
                day: 11,
                human: 3,
                bots: 2,
            }],
            top: vec![
                (Dimension::Referrer, "a.example".into(), 4),
                (Dimension::Device, "bot".into(), 2),
                (Dimension::Device, "desktop".into(), 3),
            ],
        };
        let stats = LinkStats::of(rows, range);
        assert_eq!((stats.total, stats.human, stats.bots), (5, 3, 2));
        assert_eq!(
            stats.daily.iter().map(|d| d.clicks).collect::<Vec<_>>(),
            [0, 5, 0]
        );
        assert_eq!(stats.daily[0].date, "1970-01-11");
        assert_eq!(
            stats.referrers,
            [HostClicks {
                host: "a.example".into(),
                clicks: 4
            }]
        );
        assert_eq!(stats.devices.len(), 2);
        assert!(stats.countries.is_empty());
    }
}
