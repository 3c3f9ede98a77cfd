//! Group commit: concurrent creates queue here and are written together in
//! one transaction, so many requests share one fsync.

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
        let result = backoff
            .run(async {
                let result = store.insert_links(&links).await;
                stats.transactions.fetch_add(1, Ordering::Relaxed);
                result
            })
            .await;
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
