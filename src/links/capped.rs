//! Clicks on links with a click cap, counted in the store in batches.
//!
//! A capped link's redirect may only be answered once its click is counted
//! durably, or a crash could let the cap be exceeded. Counting each click in
//! a transaction of its own made every GET of a capped link an fsync on
//! SQLite's single writer (and a wait for the row lock on PostgreSQL), so
//! hammering one capped link starved creates. Here the clicks that arrive
//! while a batch is being written wait for the next one, which counts them
//! all in one transaction: at most one transaction per instance is in
//! flight, whatever the click rate, and each click still gets its answer
//! only after the count is committed. The store decides how many of a
//! link's clicks its cap allows, so the cap holds across instances.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::backoff::UnavailableBackoff;
use super::clicks::ClickBuffer;
use super::view::now_ms;
use crate::store::{Store, StoreError};

/// Most clicks counted in one transaction.
pub const MAX_BATCH: usize = 4096;

type Reply = oneshot::Sender<Result<bool, StoreError>>;

/// One click waiting to be counted.
struct Click {
    code: Arc<str>,
    link_id: i64,
    reply: Reply,
}

/// The clicks of one link in a batch, in arrival order.
struct LinkClicks {
    code: Arc<str>,
    link_id: i64,
    replies: Vec<Reply>,
}

/// Queues capped clicks for the counting task.
pub struct CappedClicks {
    queue: mpsc::Sender<Click>,
}

impl CappedClicks {
    /// Starts the counting task on the current runtime.
    pub fn start(store: Arc<dyn Store>, buffered: Arc<ClickBuffer>) -> CappedClicks {
        let (queue, rx) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(count_batches(store, buffered, rx));
        CappedClicks { queue }
    }

    /// Counts one click on the capped link `code` (id `link_id`); `false`
    /// when its cap is used up (or it is gone). Returns once the count is
    /// committed.
    pub async fn take(&self, code: &Arc<str>, link_id: i64) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Other("the capped-click task has stopped".to_owned());
        let click = Click {
            code: Arc::clone(code),
            link_id,
            reply,
        };
        self.queue.send(click).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Whether the counting task is still there to count.
    pub fn is_running(&self) -> bool {
        !self.queue.is_closed()
    }
}

async fn count_batches(
    store: Arc<dyn Store>,
    buffered: Arc<ClickBuffer>,
    mut rx: mpsc::Receiver<Click>,
) {
    let mut backoff = UnavailableBackoff::default();
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let links = by_link(batch.drain(..));
        let counted = backoff.run(count(&store, &buffered, &links)).await;
        match counted {
            Ok(granted) => {
                for (link, granted) in links.into_iter().zip(granted) {
                    let granted = usize::try_from(granted).unwrap_or(0);
                    for (i, reply) in link.replies.into_iter().enumerate() {
                        let _ = reply.send(Ok(i < granted));
                    }
                }
            }
            Err(e) => {
                for reply in links.into_iter().flat_map(|l| l.replies) {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Groups a batch's clicks by link, keeping each link's arrival order.
fn by_link(clicks: impl Iterator<Item = Click>) -> Vec<LinkClicks> {
    let mut links: Vec<LinkClicks> = Vec::new();
    for click in clicks {
        match links.iter_mut().find(|l| l.link_id == click.link_id) {
            Some(link) => link.replies.push(click.reply),
            None => links.push(LinkClicks {
                code: click.code,
                link_id: click.link_id,
                replies: vec![click.reply],
            }),
        }
    }
    links
}

/// Counts one batch: first the clicks these links got while they had no
/// cap (still in the buffer), so they count against it, then the batch.
/// The store call runs in a task of its own, so a panic in it fails this
/// batch (500) instead of ending the counting task.
async fn count(
    store: &Arc<dyn Store>,
    buffered: &Arc<ClickBuffer>,
    links: &[LinkClicks],
) -> Result<Vec<i64>, StoreError> {
    let ids: Vec<i64> = links.iter().map(|l| l.link_id).collect();
    if buffered.pending_for_each(&ids).iter().any(|n| *n > 0) {
        buffered.flush().await?;
    }
    let wanted: Vec<(String, i64)> = links
        .iter()
        .map(|l| (l.code.to_string(), l.replies.len() as i64))
        .collect();
    let store = Arc::clone(store);
    tokio::spawn(async move { store.consume_clicks(&wanted, now_ms()).await })
        .await
        .map_err(|e| StoreError::Other(format!("counting capped clicks failed: {e}")))?
}
