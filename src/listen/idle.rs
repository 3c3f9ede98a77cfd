//! Bounds on what a connection may do with its time: send its request
//! head within `header_read_timeout`, and sit idle between requests for
//! at most `keep_alive_timeout`.
//!
//! hyper's own header-read timeout starts when a connection waits for its
//! next head, idle or not, so it cannot tell a keep-alive connection at
//! rest from one that trickles a head in. Here each connection records its
//! reads, writes and requests in an [`Activity`]; once per tick a sweeper
//! task on the serving thread looks at every connection and closes those
//! past their bound. The request path pays a few relaxed atomic operations
//! on its own connection's state and never reads the clock: it only marks
//! that something happened, and the sweeper dates the mark with its own
//! tick. A mark is dated at or after the moment it was made, so a bound is
//! never cut short, however late the sweeper runs; a close comes at most
//! two ticks (plus the sweeper's own delay) after the bound.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// How long a connection may take over each part of its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// From the first byte of a request head (or from accepting the
    /// connection) to the end of the head.
    pub header_read: Duration,
    /// With no request in progress, from the last byte read or written.
    pub keep_alive: Duration,
}

impl Timeouts {
    /// How often connections are checked: an eighth of the shorter bound.
    /// A close comes at most two ticks (a quarter of the bound) late: one
    /// until the last activity is dated, one until the bound is noticed.
    fn tick(&self) -> Duration {
        (self.header_read.min(self.keep_alive) / 8)
            .clamp(Duration::from_millis(10), Duration::from_secs(1))
    }
}

/// `head_since` for a head that began arriving after the last sweep: the
/// next sweep replaces it with its own time. (0 means no head arriving.)
const SINCE_NEXT_SWEEP: u64 = u64::MAX;

/// What one connection is doing, as far as its deadlines go.
#[derive(Debug)]
pub struct Activity {
    /// A byte was read or written, or a request ended, since the last sweep.
    busy: AtomicBool,
    /// The sweep (milliseconds since the registry started) that first saw
    /// the latest `busy` mark: no earlier than the last read or write.
    last_io: AtomicU64,
    /// The sweep that first saw the request head now arriving (or
    /// [`SINCE_NEXT_SWEEP`]); 0 when none is.
    head_since: AtomicU64,
    /// Requests handed to the service and not yet answered.
    in_flight: AtomicU32,
    expired: AtomicBool,
    closed: Notify,
}

impl Activity {
    /// Marks a request whose head has arrived as in progress, until the
    /// returned guard is dropped (when its response is ready).
    pub fn begin_request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_since.store(0, Ordering::Relaxed);
        InFlight(Arc::clone(self))
    }

    fn saw_io(&self, read: bool) {
        self.busy.store(true, Ordering::Relaxed);
        let idle = self.in_flight.load(Ordering::Relaxed) == 0;
        if read && idle && self.head_since.load(Ordering::Relaxed) == 0 {
            self.head_since.store(SINCE_NEXT_SWEEP, Ordering::Relaxed);
        }
    }

    /// Dates the marks made since the last sweep with this sweep's time.
    fn date_marks(&self, now: u64) {
        if self.busy.swap(false, Ordering::Relaxed) {
            self.last_io.store(now, Ordering::Relaxed);
        }
        // A compare-exchange: a request may begin (and clear it) meanwhile.
        let _ = self.head_since.compare_exchange(
            SINCE_NEXT_SWEEP,
            now,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    fn is_past(&self, now: u64, timeouts: &Timeouts) -> bool {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            // Bounded by request_timeout_ms, which answers 408.
            return false;
        }
        let since =
            |at: &AtomicU64| Duration::from_millis(now.saturating_sub(at.load(Ordering::Relaxed)));
        if self.head_since.load(Ordering::Relaxed) != 0 {
            since(&self.head_since) > timeouts.header_read
        } else {
            since(&self.last_io) > timeouts.keep_alive
        }
    }

    fn expire(&self) {
        if !self.expired.swap(true, Ordering::Relaxed) {
            self.closed.notify_one();
        }
    }

    /// Resolves when the connection has outlived a bound and must close.
    pub async fn expired(&self) {
        self.closed.notified().await;
    }
}

/// A request in progress on a connection; dropping it ends the request.
#[must_use = "the request ends when this is dropped"]
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        activity.busy.store(true, Ordering::Relaxed);
        activity.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The connections of one serving loop, checked by its sweeper.
pub struct Registry {
    connections: Mutex<Vec<Weak<Activity>>>,
}

impl Registry {
    /// A registry for connections bound by `timeouts`, with its sweeper
    /// running on the current runtime for as long as the registry lives.
    pub fn start(timeouts: Timeouts) -> Arc<Registry> {
        let registry = Arc::new(Registry {
            connections: Mutex::new(Vec::new()),
        });
        let weak = Arc::downgrade(&registry);
        tokio::spawn(async move {
            let started = Instant::now();
            let mut tick = tokio::time::interval(timeouts.tick());
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(registry) = weak.upgrade() else {
                    return;
                };
                let now = started.elapsed().as_millis() as u64 + 1;
                registry.sweep(now, &timeouts);
            }
        });
        registry
    }

    /// Starts tracking a connection just accepted. Until its first request
    /// head is complete it counts as sending one, so a client that
    /// connects and says nothing is closed after `header_read`.
    pub fn track(&self) -> Arc<Activity> {
        let activity = Arc::new(Activity {
            busy: AtomicBool::new(true),
            last_io: AtomicU64::new(0),
            head_since: AtomicU64::new(SINCE_NEXT_SWEEP),
            in_flight: AtomicU32::new(0),
            expired: AtomicBool::new(false),
            closed: Notify::new(),
        });
        self.connections.lock().push(Arc::downgrade(&activity));
        activity
    }

    fn sweep(&self, now: u64, timeouts: &Timeouts) {
        self.connections.lock().retain(|weak| match weak.upgrade() {
            Some(activity) => {
                activity.date_marks(now);
                let past = activity.is_past(now, timeouts);
                if past {
                    activity.expire();
                }
                !past
            }
            None => false,
        });
    }
}

/// A stream that records its reads and writes in an [`Activity`].
pub struct Watched<S> {
    stream: S,
    activity: Arc<Activity>,
}

impl<S> Watched<S> {
    /// Wraps `stream`, recording into `activity`.
    pub fn new(stream: S, activity: Arc<Activity>) -> Watched<S> {
        Watched { stream, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.saw_io(true);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.saw_io(false);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.saw_io(false);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUTS: Timeouts = Timeouts {
        header_read: Duration::from_millis(100),
        keep_alive: Duration::from_millis(1000),
    };

    fn registry() -> Registry {
        Registry {
            connections: Mutex::new(Vec::new()),
        }
    }

    fn expired(activity: &Activity) -> bool {
        activity.expired.load(Ordering::Relaxed)
    }

    #[test]
    fn a_silent_new_connection_gets_the_head_bound() {
        let registry = registry();
        let activity = registry.track();
        // First seen by the sweep at 100: the bound runs from there.
        registry.sweep(100, &TIMEOUTS);
        registry.sweep(200, &TIMEOUTS);
        assert!(!expired(&activity));
        registry.sweep(201, &TIMEOUTS);
        assert!(expired(&activity));
        assert!(registry.connections.lock().is_empty());
    }

    #[test]
    fn idle_keep_alive_gets_the_longer_bound_and_requests_none() {
        let registry = registry();
        let activity = registry.track();
        let request = activity.begin_request();
        registry.sweep(5_000, &TIMEOUTS);
        assert!(!expired(&activity), "in flight");
        drop(request);
        // The response was ready by the sweep at 5,900, which dates it.
        registry.sweep(5_900, &TIMEOUTS);
        registry.sweep(6_900, &TIMEOUTS);
        assert!(!expired(&activity), "idle 1,000 ms");
        registry.sweep(6_901, &TIMEOUTS);
        assert!(expired(&activity), "idle 1,001 ms");
    }

    #[test]
    fn a_late_sweeper_never_cuts_a_bound_short() {
        let registry = registry();
        let activity = registry.track();
        drop(activity.begin_request());
        registry.sweep(100, &TIMEOUTS);
        // Bytes at about 150; the next sweep runs only at 1,100 (a busy
        // thread). Idle is counted from 1,100, not from the 100 before.
        activity.saw_io(false);
        registry.sweep(1_100, &TIMEOUTS);
        registry.sweep(2_000, &TIMEOUTS);
        assert!(!expired(&activity), "idle at most 1,850 ms, counted 900");
        registry.sweep(2_101, &TIMEOUTS);
        assert!(expired(&activity));
    }

    #[test]
    fn a_head_that_starts_arriving_gets_the_head_bound() {
        let registry = registry();
        let activity = registry.track();
        drop(activity.begin_request());
        registry.sweep(500, &TIMEOUTS);
        activity.saw_io(true);
        registry.sweep(550, &TIMEOUTS);
        registry.sweep(650, &TIMEOUTS);
        assert!(!expired(&activity));
        registry.sweep(651, &TIMEOUTS);
        assert!(expired(&activity), "head took over 101 ms");
    }

    #[test]
    fn a_request_beginning_during_a_sweep_keeps_its_cleared_head() {
        let registry = registry();
        let activity = registry.track();
        let request = activity.begin_request();
        // No head is arriving: the sweep must not put a time back.
        registry.sweep(100, &TIMEOUTS);
        assert_eq!(activity.head_since.load(Ordering::Relaxed), 0);
        drop(request);
        registry.sweep(1_000, &TIMEOUTS);
        assert!(!expired(&activity), "idle, under the keep-alive bound");
    }
}
