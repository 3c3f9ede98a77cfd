//! The link service: everything the API and the CLI do with links, on top
//! of the store, the cache, the click buffer and group commit.

pub mod backoff;
pub mod cache;
pub mod capped;
pub mod clicks;
pub mod codes;
pub mod finding;
pub mod generations;
pub mod group_commit;
pub mod import;
pub mod input;
pub mod lookup;
pub mod owned;
pub mod qr;
pub mod view;

use std::sync::Arc;
use std::time::Instant;

use crate::analytics::rollup::Deriver;
use crate::analytics::sink::StoreSink;
use crate::analytics::visits::{Visit, UNKNOWN_LINK};
use crate::config::Config;
use crate::domain::password::{verify, Password};
use crate::domain::CodeGenerator;
use crate::error::AppError;
use crate::redis_shared::{SharedEntry, SharedRedis};
use crate::store::{LinkFilter, LinkPatch, LinkRecord, NewLink, Store, StoreError};

use cache::{Cached, LinkCache, Target};
use capped::CappedClicks;
use clicks::ClickBuffer;
use codes::CodeAllocator;
use group_commit::{CommitStats, GroupCommit};
use input::{NewLinkSpec, Rules, ValidPatch};
use lookup::Lookups;
use view::{now_ms, LinkView};

/// How many generated codes a create may skip because an alias or an
/// imported link already holds them. Each skip burns one counter value that
/// is taken for good, so this bounds a pathological case, not a retry loop.
const MAX_CODE_SKIPS: usize = 16;

/// How long the ids of written click batches are kept: far longer than
/// any retry of a failed flush takes.
const CLICK_BATCH_IDS_KEPT_MS: i64 = 24 * 3600 * 1000;

/// Links purged per store statement.
const PURGE_BATCH: u32 = 1000;

/// Shared link logic; one per process.
pub struct LinkService {
    store: Arc<dyn Store>,
    cache: Arc<LinkCache>,
    redis: Option<Arc<SharedRedis>>,
    clicks: Arc<ClickBuffer>,
    capped: CappedClicks,
    writer: GroupCommit,
    codes: CodeAllocator,
    rules: Rules,
    base_url: String,
    lookups: Lookups,
}

impl LinkService {
    /// Loads the code key and blocklist and starts the group-commit writer;
    /// visits are derived into analytics with `deriver`.
    pub async fn start(
        config: &Config,
        store: Arc<dyn Store>,
        deriver: Deriver,
    ) -> Result<LinkService, String> {
        let rules = Rules::from_config(config)?;
        let key = store.code_key().await.map_err(|e| e.to_string())?;
        let generator = CodeGenerator::new(key, config.code_length);
        let redis = SharedRedis::new(config)?;
        let cache = Arc::new(LinkCache::new(config.cache_capacity));
        let sink = StoreSink::shared(Arc::clone(&store));
        let clicks = Arc::new(ClickBuffer::new(deriver, config.clock.clone(), sink));
        // Until the invalidation channel is subscribed, writes on other
        // instances cannot reach this cache.
        cache.set_degraded(redis.is_some());
        Ok(LinkService {
            lookups: Lookups::new(Arc::clone(&store), Arc::clone(&cache), redis.clone()),
            cache,
            capped: CappedClicks::start(Arc::clone(&store), Arc::clone(&clicks)),
            clicks,
            writer: GroupCommit::start(Arc::clone(&store)),
            codes: CodeAllocator::new(generator, Arc::clone(&store), redis.clone()),
            redis,
            rules,
            base_url: config.base_url.as_str().trim_end_matches('/').to_owned(),
            store,
        })
    }

    /// Validation rules for request bodies.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The short URL of `code`: `base_url` and the code.
    pub fn short_url(&self, code: &str) -> String {
        format!("{}/{code}", self.base_url)
    }

    /// The underlying store, for probes and the CLI.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Cache lookups answered locally and lookups that went to the store.
    pub fn cache_hits_and_misses(&self) -> (u64, u64) {
        self.cache.hits_and_misses()
    }

    /// Shared-cache (Redis) hits and misses so far, for `/metrics`.
    pub fn redis_hits_and_misses(&self) -> (u64, u64) {
        self.lookups.redis_hits_and_misses()
    }

    /// What a code points at: cache, Redis, store ([`lookup`]).
    pub async fn resolve(&self, code: &str) -> Result<Cached, AppError> {
        self.lookups.resolve(code).await
    }

    /// A cached link the redirect fast path may answer alone, if any.
    pub fn cached_plain_target(&self, code: &str, now: Instant) -> Option<Arc<Target>> {
        self.lookups.cached_plain_target(code, now)
    }

    /// The local cache, for the invalidation subscriber.
    pub fn cache(&self) -> &Arc<LinkCache> {
        &self.cache
    }

    /// The shared Redis, when configured.
    pub fn redis(&self) -> Option<&Arc<SharedRedis>> {
        self.redis.as_ref()
    }

    /// Whether the tasks that write creates and capped clicks are running;
    /// without them every create (or capped click) would fail.
    pub fn writers_running(&self) -> bool {
        self.writer.is_running() && self.capped.is_running()
    }

    /// Group-commit counters.
    pub fn commit_stats(&self) -> &CommitStats {
        self.writer.stats()
    }

    /// Creates a link owned by `owner` (a user id, or `None`); returns only
    /// once it is durably committed.
    pub async fn create(
        &self,
        spec: NewLinkSpec,
        owner: Option<String>,
    ) -> Result<LinkRecord, AppError> {
        let mut link = NewLink {
            code: String::new(),
            url: spec.url.into_string(),
            created_at: now_ms(),
            expires_at: spec.expires_at.map(|e| e.millis()),
            max_clicks: spec.max_clicks.map(|m| m.get()),
            clicks: 0,
            redirect_status: spec.redirect_status.as_u16().into(),
            owner,
            tags: spec.tags.into_vec(),
            password_hash: match spec.password {
                Some(password) => Some(hash_password(password).await?),
                None => None,
            },
        };
        if let Some(alias) = spec.alias {
            link.code = alias.into_code().into_string();
            return match self.writer.insert(link.clone()).await? {
                Some(id) => {
                    // Other instances may have cached the alias as unknown.
                    self.announce(&link.code).await;
                    Ok(self.created(id, link))
                }
                None => Err(StoreError::Conflict.into()),
            };
        }
        for _ in 0..MAX_CODE_SKIPS {
            link.code = self.codes.next().await?.into_string();
            if let Some(id) = self.writer.insert(link.clone()).await? {
                return Ok(self.created(id, link));
            }
            tracing::info!(code = %link.code, "generated code held by an alias; skipping it");
        }
        Err(AppError::Internal(
            "too many generated codes were already taken".to_owned(),
        ))
    }

    fn created(&self, id: i64, link: NewLink) -> LinkRecord {
        let record = LinkRecord {
            id,
            code: link.code,
            url: link.url,
            created_at: link.created_at,
            expires_at: link.expires_at,
            max_clicks: link.max_clicks,
            clicks: link.clicks,
            redirect_status: link.redirect_status,
            deleted_at: None,
            owner: link.owner,
            tags: link.tags,
            password_hash: link.password_hash,
        };
        self.cache
            .put_written(&record.code, Cached::from_record(Some(&record)));
        if let Some(redis) = &self.redis {
            redis.fill_in_background(&record.code, SharedEntry::from_record(&record));
        }
        record
    }

    /// Tells every instance (and the shared cache) that `code` changed.
    /// Redis being away is not an error: instances then keep entries for
    /// one second only.
    async fn announce(&self, code: &str) {
        if let Some(redis) = &self.redis {
            redis.invalidate(code).await;
        }
    }

    /// For a short-lived process (the CLI): keeps trying, until `limit`
    /// has passed, to announce writes Redis missed. `false` if some are
    /// still unannounced.
    pub async fn finish_announcements(&self, limit: std::time::Duration) -> bool {
        let Some(redis) = &self.redis else {
            return true;
        };
        let started = std::time::Instant::now();
        while redis.has_unannounced() && started.elapsed() < limit {
            tokio::time::sleep(crate::redis_shared::RETRY_AFTER / 4).await;
            redis.retry_unannounced().await;
        }
        !redis.has_unannounced()
    }

    /// Inserts links exactly as given (codes included), for `import`.
    pub async fn import(&self, links: &[NewLink]) -> Result<Vec<Option<i64>>, StoreError> {
        let ids = self.store.insert_links(links).await?;
        for link in links {
            self.cache.invalidate(&link.code);
        }
        Ok(ids)
    }

    /// Counts a click on a link with a click cap, durably, in a batch with
    /// the capped clicks arriving meanwhile ([`capped`]); `false` when the
    /// cap is used up (the link is then cached as gone).
    pub async fn take_capped_click(&self, target: &Target) -> Result<bool, AppError> {
        let ticket = self.cache.begin_load(&target.code);
        let counted = self.capped.take(&target.code, target.id).await?;
        if !counted {
            self.cache.finish_load(&target.code, Cached::Gone, ticket);
        }
        Ok(counted)
    }

    /// Whether a capped link has clicks left, without using one (for HEAD).
    pub async fn has_clicks_left(&self, code: &str) -> Result<bool, AppError> {
        let record = self.store.get_link(code).await?;
        Ok(matches!(
            Cached::from_record(record.as_ref()),
            Cached::Live(_)
        ))
    }

    /// Records a visit to an uncapped link, in memory: a click unless it
    /// turns out to be a bot's.
    pub fn record_click(&self, target: &Target, visit: &Visit<'_>) {
        self.clicks.record(target.id, visit, false);
    }

    /// Records a visit whose click, if any, is already counted (a capped
    /// link's, or a bot's that was not let through): analytics only.
    pub fn record_counted_visit(&self, target: &Target, visit: &Visit<'_>) {
        self.clicks.record(target.id, visit, true);
    }

    /// Records a request for a code no link has.
    pub fn record_unknown(&self, visit: &Visit<'_>) {
        self.clicks.record(UNKNOWN_LINK, visit, false);
    }

    /// Writes buffered clicks and analytics to the store, all of them.
    pub async fn flush_clicks(&self) -> Result<i64, StoreError> {
        self.clicks.flush().await
    }

    /// The once-a-second flush: clicks, and analytics when due.
    pub async fn flush_due_clicks(&self) -> Result<i64, StoreError> {
        self.clicks.flush_due().await
    }

    /// Clicks counted in memory and not yet flushed.
    pub fn pending_clicks(&self) -> i64 {
        self.clicks.pending_total()
    }

    /// Any link with this code, deleted ones included (for checking whose
    /// it is before saying more); unknown codes are 404.
    pub async fn get_any(&self, code: &str) -> Result<LinkRecord, AppError> {
        self.store
            .get_link(code)
            .await?
            .ok_or_else(|| AppError::NotFound("no link has that code".to_owned()))
    }

    /// A live or expired link; deleted links are 410, unknown ones 404.
    pub async fn get(&self, code: &str) -> Result<LinkRecord, AppError> {
        not_deleted(self.get_any(code).await?)
    }

    /// Applies a checked patch, hashing a new password first.
    pub async fn patch(&self, code: &str, valid: ValidPatch) -> Result<LinkRecord, AppError> {
        let mut patch = valid.patch;
        patch.password_hash = match valid.password {
            Some(Some(password)) => Some(Some(hash_password(password).await?)),
            Some(None) => Some(None),
            None => None,
        };
        self.update(code, &patch).await
    }

    /// Applies a validated patch; the next redirect sees it.
    pub async fn update(&self, code: &str, patch: &LinkPatch) -> Result<LinkRecord, AppError> {
        let updated = self.store.update_link(code, patch).await;
        // Even on failure: a timed-out write may still have committed.
        self.cache.invalidate(code);
        self.announce(code).await;
        let updated = updated?;
        match updated {
            Some(record) => Ok(record),
            None => self.get(code).await,
        }
    }

    /// Deletes a link for good; its code is never handed out again.
    pub async fn delete(&self, code: &str) -> Result<(), AppError> {
        let deleted = self.store.delete_link(code, now_ms()).await;
        self.cache.invalidate(code);
        self.announce(code).await;
        let deleted = deleted?;
        if deleted {
            Ok(())
        } else {
            self.get(code).await.map(|_| ())
        }
    }

    /// A page of live links that pass `filter`.
    pub async fn list(
        &self,
        filter: &LinkFilter<'_>,
        limit: u32,
    ) -> Result<Vec<LinkRecord>, StoreError> {
        self.store.list_links(filter, limit).await
    }

    /// Turns expired links into tombstones (and forgets old click batch
    /// ids); returns how many links it purged.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        let day_ago = now_ms() - CLICK_BATCH_IDS_KEPT_MS;
        self.store.purge_click_batches(day_ago).await?;
        let mut total = 0;
        loop {
            let purged = self.store.purge_expired(now_ms(), PURGE_BATCH).await?;
            total += purged;
            if purged < u64::from(PURGE_BATCH) {
                return Ok(total);
            }
        }
    }

    /// The public link object, including clicks not yet flushed.
    pub fn view(&self, r: &LinkRecord) -> LinkView {
        self.view_with(r, self.clicks.pending_for(r.id))
    }

    /// [`LinkService::view`] of every record, the unflushed clicks found in
    /// one pass over the click buffer for the whole page.
    pub fn views(&self, records: &[LinkRecord]) -> Vec<LinkView> {
        let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
        let pending = self.clicks.pending_for_each(&ids);
        records
            .iter()
            .zip(pending)
            .map(|(r, pending)| self.view_with(r, pending))
            .collect()
    }

    /// The link object of a link just created, which has no clicks yet.
    pub fn view_created(&self, r: &LinkRecord) -> LinkView {
        self.view_with(r, 0)
    }

    fn view_with(&self, r: &LinkRecord, pending_clicks: i64) -> LinkView {
        LinkView::of(r, &self.base_url, pending_clicks)
    }
}

/// A password's hash, computed on a blocking thread (argon2 is slow on
/// purpose).
async fn hash_password(password: Password) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || password.hash())
        .await
        .map_err(|e| AppError::Internal(format!("password hashing task failed: {e}")))?
        .map_err(AppError::Internal)
}

/// Whether `attempt` is the password of a link whose hash is `hash`, on a
/// blocking thread.
pub async fn password_matches(attempt: String, hash: String) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || verify(&attempt, &hash))
        .await
        .map_err(|e| AppError::Internal(format!("password check task failed: {e}")))
}

/// `record`, unless it is a deleted link's tombstone (410).
pub fn not_deleted(record: LinkRecord) -> Result<LinkRecord, AppError> {
    match record.deleted_at {
        None => Ok(record),
        Some(_) => Err(AppError::Gone("that link was deleted".to_owned())),
    }
}
