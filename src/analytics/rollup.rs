//! Visits summed into the rows a flush writes ([`crate::store::ClickBatch`]):
//! work that grows with distinct (link, day, value) tuples, not clicks.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ahash::RandomState;

use super::classify::Classifier;
use super::geo::GeoIp;
use super::visits::{Agent, Hit, UNKNOWN_LINK};
use crate::store::{DayRow, Dimension, ValueRow};

/// Counts waiting to be written, keyed as the store keys them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rollup {
    pub link_clicks: BTreeMap<i64, i64>,
    pub days: BTreeMap<(i64, i32), (i64, i64)>,
    pub values: BTreeMap<(i64, i32, Dimension, String), i64>,
    pub unknown: BTreeMap<i32, i64>,
}

/// A rollup as the store's sorted row lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rows {
    pub link_clicks: Vec<(i64, i64)>,
    pub days: Vec<DayRow>,
    pub values: Vec<ValueRow>,
    pub unknown: Vec<(i32, i64)>,
}

impl Rows {
    /// Rows the store writes for this batch.
    pub fn len(&self) -> usize {
        self.link_clicks.len() + self.days.len() + self.values.len() + self.unknown.len()
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Human clicks to add, for one link (the link view's unflushed clicks).
    pub fn link_clicks_of(&self, link_id: i64) -> i64 {
        self.link_clicks
            .binary_search_by_key(&link_id, |(id, _)| *id)
            .map_or(0, |at| self.link_clicks[at].1)
    }
}

impl Rollup {
    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.link_clicks.is_empty()
            && self.days.is_empty()
            && self.values.is_empty()
            && self.unknown.is_empty()
    }

    /// Takes the link click counts only, leaving the analytics rows to
    /// gather more visits.
    pub fn take_link_clicks(&mut self) -> Rollup {
        Rollup {
            link_clicks: std::mem::take(&mut self.link_clicks),
            ..Rollup::default()
        }
    }

    /// Adds another rollup's counts to this one.
    pub fn merge(&mut self, other: Rollup) {
        for (k, n) in other.link_clicks {
            *self.link_clicks.entry(k).or_insert(0) += n;
        }
        for (k, (h, b)) in other.days {
            let day = self.days.entry(k).or_insert((0, 0));
            day.0 += h;
            day.1 += b;
        }
        for (k, n) in other.values {
            *self.values.entry(k).or_insert(0) += n;
        }
        for (k, n) in other.unknown {
            *self.unknown.entry(k).or_insert(0) += n;
        }
    }

    /// The sorted rows to write.
    pub fn into_rows(self) -> Rows {
        Rows {
            link_clicks: self
                .link_clicks
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .collect(),
            days: self
                .days
                .into_iter()
                .map(|((link_id, day), (human, bots))| DayRow {
                    link_id,
                    day,
                    human,
                    bots,
                })
                .collect(),
            values: self
                .values
                .into_iter()
                .map(|((link_id, day, dim, value), clicks)| ValueRow {
                    link_id,
                    day,
                    dim,
                    value,
                    clicks,
                })
                .collect(),
            unknown: self.unknown.into_iter().collect(),
        }
    }
}

/// Turns raw visits into rollup counts: user agents parsed once each
/// (cached), countries looked up when a database is configured.
#[derive(Clone)]
pub struct Deriver {
    pub classifier: Arc<Classifier>,
    pub geo: Option<Arc<GeoIp>>,
}

type Country = Option<[u8; 2]>;

impl Deriver {
    /// A deriver without a country database, for processes that serve no
    /// redirects (the CLI) and for tests.
    pub fn without_geoip() -> Deriver {
        Deriver {
            classifier: Arc::new(Classifier::default()),
            geo: None,
        }
    }

    /// Adds one log's visits to `rollup`. Slow (parsing, lookups): runs on
    /// the flusher's blocking thread.
    pub fn add(&self, rollup: &mut Rollup, hits: &[Hit], agents: &[Agent]) {
        // Visits that differ in nothing the rows keep are counted together
        // first, so each distinct tuple touches the rollup once.
        let mut tuples: HashMap<(i64, i32, u32, Country, bool, bool), i64, RandomState> =
            HashMap::default();
        for hit in hits {
            let country = match (&self.geo, hit.link_id) {
                (_, UNKNOWN_LINK) | (None, _) => None,
                (Some(geo), _) => geo
                    .country(hit.ip)
                    .and_then(|c| c.as_bytes().try_into().ok()),
            };
            let key = (
                hit.link_id,
                hit.day,
                hit.agent,
                country,
                hit.head,
                hit.counted,
            );
            *tuples.entry(key).or_insert(0) += 1;
        }
        let infos: Vec<_> = agents
            .iter()
            .map(|a| self.classifier.agent(&a.user_agent))
            .collect();
        for ((link_id, day, agent, country, head, counted), n) in tuples {
            if link_id == UNKNOWN_LINK {
                *rollup.unknown.entry(day).or_insert(0) += n;
                continue;
            }
            let (Some(info), Some(agent)) = (infos.get(agent as usize), agents.get(agent as usize))
            else {
                continue;
            };
            let bot = head || info.bot;
            let counts = rollup.days.entry((link_id, day)).or_insert((0, 0));
            if bot {
                counts.1 += n;
            } else {
                counts.0 += n;
                if !counted {
                    *rollup.link_clicks.entry(link_id).or_insert(0) += n;
                }
            }
            let device = if bot { "bot" } else { info.device.as_str() };
            let mut add = |dim: Dimension, value: &str| {
                *rollup
                    .values
                    .entry((link_id, day, dim, value.to_owned()))
                    .or_insert(0) += n;
            };
            if !agent.referrer.is_empty() {
                add(Dimension::Referrer, &agent.referrer);
            }
            add(Dimension::Browser, &info.browser);
            add(Dimension::Os, &info.os);
            add(Dimension::Device, device);
            if let Some(code) = country {
                add(Dimension::Country, &String::from_utf8_lossy(&code));
            }
        }
    }
}
