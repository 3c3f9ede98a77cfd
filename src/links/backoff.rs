//! Failing fast for a moment after the store was found unavailable.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::store::StoreError;

/// After the store was found unavailable, writes fail at once for this
/// long instead of each waiting out `db_timeout_ms` in turn, so a burst of
/// creates during an outage gets its 503s quickly.
pub const UNAVAILABLE_BACKOFF: Duration = Duration::from_millis(500);

/// Remembers when a store call last found the store unavailable.
#[derive(Debug, Default)]
pub struct UnavailableBackoff {
    since: Option<Instant>,
}

impl UnavailableBackoff {
    /// Runs `call`, unless the store was unavailable less than
    /// [`UNAVAILABLE_BACKOFF`] ago; then fails at once without trying.
    pub async fn run<T>(
        &mut self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        if self
            .since
            .is_some_and(|at| at.elapsed() < UNAVAILABLE_BACKOFF)
        {
            return Err(StoreError::Unavailable(
                "the store was unreachable a moment ago".to_owned(),
            ));
        }
        let result = call.await;
        self.since = matches!(result, Err(StoreError::Unavailable(_))).then(Instant::now);
        result
    }
}
