//! Group commit: concurrent creates queue here and are written together in
//! one transaction, so many requests share one fsync.
//!
//! The writer task must outlive any failure, or every create would fail
//! until a restart: each transaction runs in a task of its own, so a panic
//! in the store fails only that group (500), and readiness reports the
//! writer should it ever stop anyway.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::backoff::UnavailableBackoff;

use crate::store::{NewLink, Store, StoreError};

/// Most links written in one transaction.
pub const MAX_GROUP: usize = 1024;

type Reply = oneshot::Sender<Result<Option<i64>, StoreError>>;

/// Counters that show group commit at work.
#[derive(Debug, Default)]
pub struct CommitStats {
    pub transactions: AtomicU64,
    pub links: AtomicU64,
}

/// Queues inserts for the single writer task.
pub struct GroupCommit {
    queue: mpsc::Sender<(NewLink, Reply)>,
    stats: Arc<CommitStats>,
}

impl GroupCommit {
    /// Starts the writer task on the current runtime.
    pub fn start(store: Arc<dyn Store>) -> GroupCommit {
        let (queue, rx) = mpsc::channel(MAX_GROUP * 8);
        let stats = Arc::new(CommitStats::default());
        tokio::spawn(write_groups(store, rx, Arc::clone(&stats)));
        GroupCommit { queue, stats }
    }

    /// Inserts `link` durably; `Ok(None)` when its code was already taken.
    /// Returns only after the transaction holding it has committed.
    pub async fn insert(&self, link: NewLink) -> Result<Option<i64>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Other("the writer task has stopped".to_owned());
        self.queue
            .send((link, reply))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Whether the writer task is still there to write.
    pub fn is_running(&self) -> bool {
        !self.queue.is_closed()
    }

    /// How many transactions and links the writer has committed.
    pub fn stats(&self) -> &CommitStats {
        &self.stats
    }
}

async fn write_groups(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<(NewLink, Reply)>,
    stats: Arc<CommitStats>,
) {
    let mut links = Vec::with_capacity(MAX_GROUP);
    let mut replies = Vec::with_capacity(MAX_GROUP);
    let mut backoff = UnavailableBackoff::default();
    while let Some((link, reply)) = rx.recv().await {
        links.push(link);
        replies.push(reply);
        while links.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok((link, reply)) => {
                    links.push(link);
                    replies.push(reply);
                }
                Err(_) => break,
            }
        }
        let result = backoff.run(insert_apart(&store, &mut links)).await;
        stats.transactions.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(ids) => {
                stats.links.fetch_add(links.len() as u64, Ordering::Relaxed);
                for (reply, id) in replies.drain(..).zip(ids) {
                    let _ = reply.send(Ok(id));
                }
            }
            Err(e) => {
                for reply in replies.drain(..) {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
        links.clear();
    }
}

/// Inserts `links` in a task of its own, handing them back afterwards.
async fn insert_apart(
    store: &Arc<dyn Store>,
    links: &mut Vec<NewLink>,
) -> Result<Vec<Option<i64>>, StoreError> {
    let (store, group) = (Arc::clone(store), std::mem::take(links));
    let task = tokio::spawn(async move {
        let result = store.insert_links(&group).await;
        (group, result)
    });
    match task.await {
        Ok((group, result)) => {
            *links = group;
            result
        }
        Err(e) => {
            tracing::error!(error = %e, "a group commit failed unexpectedly; its creates get 500");
            Err(StoreError::Other(format!("group commit failed: {e}")))
        }
    }
}
