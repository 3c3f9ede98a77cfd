//! Click analytics: what the redirect path records ([`visits`]), how a
//! flush turns it into daily rollups ([`rollup`], with [`classify`] and
//! [`geo`]), and the stats read back from them (this service, [`view`]).

pub mod classify;
pub mod geo;
pub mod range;
pub mod rollup;
pub mod sink;
pub mod view;
pub mod visits;

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::error::AppError;
use crate::store::{Owner, Store, StoreError, TOP};

use classify::Classifier;
use geo::GeoIp;
use range::DayRange;
use rollup::Deriver;
use view::{LinkStats, OwnerStats};

/// Reading stats and the parts a flush derives them with; one per process.
pub struct Analytics {
    store: Arc<dyn Store>,
    clock: Clock,
    classifier: Arc<Classifier>,
    geo: Option<Arc<GeoIp>>,
    retention_days: Option<u32>,
}

impl Analytics {
    /// Opens the GeoIP database if one is configured.
    pub fn new(config: &Config, store: Arc<dyn Store>) -> Result<Analytics, String> {
        let geo = match &config.geoip_db {
            Some(path) => Some(Arc::new(GeoIp::open(path)?)),
            None => None,
        };
        Ok(Analytics {
            store,
            clock: config.clock.clone(),
            classifier: Arc::new(Classifier::default()),
            geo,
            retention_days: config.stats_retention_days,
        })
    }

    /// The clock visits are dated by.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// What a click flush derives visits with.
    pub fn deriver(&self) -> Deriver {
        Deriver {
            classifier: Arc::clone(&self.classifier),
            geo: self.geo.clone(),
        }
    }

    /// Whether a user agent is a bot or link-preview fetcher; the answer is
    /// cached, and a miss is matched on a blocking thread.
    pub async fn is_bot(&self, user_agent: &str) -> bool {
        if let Some(bot) = self.classifier.cached_bot(user_agent) {
            return bot;
        }
        let (classifier, ua) = (Arc::clone(&self.classifier), user_agent.to_owned());
        tokio::task::spawn_blocking(move || classifier.is_bot(&ua))
            .await
            .unwrap_or(true)
    }

    /// `from`/`to` query values as a range, defaulting to the last 30 days.
    pub fn range(&self, from: Option<&str>, to: Option<&str>) -> Result<DayRange, AppError> {
        DayRange::parse(from, to, self.clock.today())
    }

    /// One link's stats over `range`.
    pub async fn link_stats(&self, link_id: i64, range: DayRange) -> Result<LinkStats, AppError> {
        let rows = self.store.link_stats(link_id, range.from, range.to).await?;
        Ok(LinkStats::of(rows, range))
    }

    /// Totals and top links of `owner`'s links (or everyone's), with
    /// requests for unknown codes when `with_unknown` (admin only).
    pub async fn owner_stats(
        &self,
        owner: Owner<'_>,
        range: DayRange,
        with_unknown: bool,
    ) -> Result<OwnerStats, AppError> {
        let rows = self
            .store
            .owner_stats(owner, range.from, range.to, TOP)
            .await?;
        let unknown = if with_unknown {
            Some(self.store.unknown_days(range.from, range.to).await?)
        } else {
            None
        };
        Ok(OwnerStats::of(rows, unknown, range))
    }

    /// Deletes daily rows older than `stats_retention_days`, if set: the
    /// last that many days are kept, today included.
    pub async fn purge_old(&self) -> Result<u64, StoreError> {
        match self.retention_days {
            Some(days) => {
                let kept = i32::try_from(days).unwrap_or(i32::MAX);
                let before = self.clock.today().saturating_sub(kept - 1);
                self.store.purge_stats(before).await
            }
            None => Ok(0),
        }
    }
}
