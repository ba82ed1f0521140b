//! The listener: *here is a client connecting; may it stay?* Accepts connections and serves
//! each with hyper's HTTP/1 under the node's connection limits, so that no client can hold
//! a node's connections or file descriptors by being slow or silent:
//!
//! - a **header timeout** from a connection's first byte (or its accept) until its request's
//!   head is read, so headers trickled a byte at a time are cut off;
//! - an **idle timeout** between requests on a kept-alive connection;
//! - a **body timeout**: a request body must bring [`BODY_PROGRESS`] bytes (or its end)
//!   within each timeout, and a response must not wait that long for the client to read it;
//! - a **cap on open connections**, kept below the process's open-file limit (raised to its
//!   hard limit at start, less [`FILES_RESERVED`] for the rest of the node). At the cap, a
//!   new connection makes room by closing the one that has waited longest without a request
//!   in progress, so health checks and clients that send requests keep being served while
//!   half-open connections are dropped; only when every connection is busy with a request
//!   is the newcomer closed. Reaching the cap is logged once a minute at most, with counts.
//!
//! A connection's state is a few atomics its I/O, its requests and its watchdog share
//! ([`Slot`]); the watchdog sleeps until the next deadline that state gives.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tower_service::Service as _;

/// The connection limits of a node (`ward serve`'s flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From a connection's accept, or a request's first byte, until its head is read.
    pub header_timeout: Duration,
    /// Between requests on a kept-alive connection.
    pub idle_timeout: Duration,
    /// For each [`BODY_PROGRESS`] bytes of a request body, and for a client to read some of
    /// a response.
    pub body_timeout: Duration,
    /// The most connections open at once (lowered to fit the open-file limit).
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            max_connections: 4096,
        }
    }
}

/// The bytes a request body must bring within each body timeout (or its end): 64 KiB, a
/// crawl of about 2 KiB/s at the default timeout, far below any real client.
pub const BODY_PROGRESS: u64 = 64 << 10;

/// Open files kept for everything but client connections: the store (SQLite's files or
/// PostgreSQL's sockets), temporary files and pipes of video workers, the fetcher's,
/// notices' and partners' sockets, the listener and the runtime's own.
pub const FILES_RESERVED: u64 = 128;

/// The most bytes of a request's head (hyper's read buffer), so that a connection's head
/// costs at most this much memory.
pub const HEAD_MAX: usize = 64 << 10;

/// How often hitting the cap is logged, at most.
const CAP_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// What the listener counted, for `/metrics`.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    pub open: AtomicU64,
    /// The cap in force (0 before the listener starts).
    pub cap: AtomicU64,
    pub accepted: AtomicU64,
    pub header_timeouts: AtomicU64,
    pub idle_timeouts: AtomicU64,
    pub body_timeouts: AtomicU64,
    /// Closed to make room at the cap.
    pub evicted: AtomicU64,
    /// New connections closed at the cap because every open one was busy.
    pub refused: AtomicU64,
}

/// Raises the soft limit on open files to the hard one (connections are files) and returns
/// the limit in force.
#[cfg(unix)]
pub fn raise_open_file_limit() -> std::io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given, which lives on this stack.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads the struct it is given.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    // `rlim_t` is not 64 bits on every Unix.
    #[allow(clippy::unnecessary_cast)]
    Ok(limit.rlim_cur as u64)
}

#[cfg(not(unix))]
pub fn raise_open_file_limit() -> std::io::Result<u64> {
    Ok(u64::MAX)
}

/// The cap on connections: what was asked for, within the open-file limit less the files
/// the rest of the node needs; `None` when the limit leaves too few.
pub fn cap(max_connections: usize, open_files: u64) -> Option<usize> {
    let room = open_files.saturating_sub(FILES_RESERVED);
    let cap = (max_connections as u64).min(room);
    (cap >= 16).then_some(cap as usize)
}

/// Serves `app` on `listener` under `limits` (with `cap` connections at most) until
/// `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    cap: usize,
    stats: Arc<ConnectionStats>,
    shutdown: impl Future<Output = ()>,
) {
    stats.cap.store(cap as u64, Ordering::Relaxed);
    let node = Arc::new(Node {
        epoch: Instant::now(),
        limits,
        cap,
        stats,
        slots: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(0),
        emptied: Notify::new(),
        cap_log: Mutex::new(CapLog::default()),
    });
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, peer)) => node.admit(stream, peer, &app, &stopping),
            Err(error) => {
                // Out of file descriptors (or another transient failure): make room and
                // try again shortly, rather than spinning.
                if out_of_files(&error) {
                    node.evict_one();
                }
                node.note_cap(Some(&error));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    // Every connection finishes what it is doing and closes; the listener closes now.
    drop(listener);
    let _ = stop.send(true);
    loop {
        let emptied = node.emptied.notified();
        if node.slots.lock().expect("slots").is_empty() {
            break;
        }
        emptied.await;
    }
}

#[cfg(unix)]
fn out_of_files(error: &std::io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

#[cfg(not(unix))]
fn out_of_files(_: &std::io::Error) -> bool {
    false
}

/// The listener's shared state.
struct Node {
    epoch: Instant,
    limits: ConnectionLimits,
    cap: usize,
    stats: Arc<ConnectionStats>,
    slots: Mutex<HashMap<u64, Arc<Slot>>>,
    next_id: AtomicU64,
    /// Woken when a connection ends (shutdown waits for the last).
    emptied: Notify,
    cap_log: Mutex<CapLog>,
}

/// What hitting the cap did since it was last logged.
#[derive(Debug, Default)]
struct CapLog {
    logged_at: Option<Instant>,
    evicted: u64,
    refused: u64,
}

/// Milliseconds since the listener started, never 0 (0 stands for "not set").
fn now_ms(epoch: Instant) -> u64 {
    epoch.elapsed().as_millis() as u64 + 1
}

impl Node {
    /// Registers a new connection, making room at the cap, and starts serving it.
    fn admit(
        self: &Arc<Node>,
        stream: TcpStream,
        peer: SocketAddr,
        app: &Router,
        stopping: &watch::Receiver<bool>,
    ) {
        let now = now_ms(self.epoch);
        let slot = Arc::new(Slot {
            // A new connection's head is due from its accept.
            head_since: AtomicU64::new(now),
            idle_since: AtomicU64::new(now),
            busy: AtomicU32::new(0),
            write_blocked_since: AtomicU64::new(0),
            close: Notify::new(),
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut slots = self.slots.lock().expect("slots");
        let at_cap = slots.len() >= self.cap;
        let mut admitted = true;
        if at_cap {
            match longest_waiting(&slots).and_then(|victim| slots.remove(&victim)) {
                Some(victim) => {
                    victim.close.notify_one();
                    self.stats.evicted.fetch_add(1, Ordering::Relaxed);
                }
                None => {
                    self.stats.refused.fetch_add(1, Ordering::Relaxed);
                    admitted = false;
                }
            }
        }
        if admitted {
            slots.insert(id, Arc::clone(&slot));
        }
        drop(slots);
        if at_cap {
            {
                let mut log = self.cap_log.lock().expect("cap log");
                if admitted {
                    log.evicted += 1;
                } else {
                    log.refused += 1;
                }
            }
            self.note_cap(None);
        }
        if !admitted {
            return; // the stream is dropped: closed
        }
        self.stats.accepted.fetch_add(1, Ordering::Relaxed);
        self.stats.open.fetch_add(1, Ordering::Relaxed);
        let node = Arc::clone(self);
        let app = app.clone();
        let stopping = stopping.clone();
        tokio::spawn(async move {
            node.run(id, slot, stream, peer, app, stopping).await;
        });
    }

    /// Closes the connection that has waited longest without a request (out of files).
    fn evict_one(&self) {
        let victim = {
            let mut slots = self.slots.lock().expect("slots");
            longest_waiting(&slots).and_then(|victim| slots.remove(&victim))
        };
        if let Some(victim) = victim {
            victim.close.notify_one();
            self.stats.evicted.fetch_add(1, Ordering::Relaxed);
            self.cap_log.lock().expect("cap log").evicted += 1;
        }
    }

    /// Logs that the cap (or the open-file limit) was hit, once a minute at most.
    fn note_cap(&self, error: Option<&std::io::Error>) {
        let mut log = self.cap_log.lock().expect("cap log");
        if log
            .logged_at
            .is_some_and(|at| at.elapsed() < CAP_LOG_INTERVAL)
        {
            return;
        }
        let open = self.stats.open.load(Ordering::Relaxed);
        match error {
            None => tracing::warn!(
                open,
                cap = self.cap,
                evicted = log.evicted,
                refused = log.refused,
                "connection cap reached: closing the connections that have waited longest \
                 without a request (--max-connections); logged once a minute at most"
            ),
            Some(error) => tracing::warn!(
                open,
                cap = self.cap,
                %error,
                "accepting a connection failed; logged once a minute at most"
            ),
        }
        log.logged_at = Some(Instant::now());
        log.evicted = 0;
        log.refused = 0;
    }

    /// Serves one connection until it ends, times out, is closed to make room or the node
    /// shuts down.
    async fn run(
        self: Arc<Node>,
        id: u64,
        slot: Arc<Slot>,
        stream: TcpStream,
        peer: SocketAddr,
        app: Router,
        mut stopping: watch::Receiver<bool>,
    ) {
        let io = Watched {
            inner: stream,
            slot: Arc::clone(&slot),
            epoch: self.epoch,
        };
        let service = Requests {
            app,
            slot: Arc::clone(&slot),
            peer,
            epoch: self.epoch,
            body_timeout: self.limits.body_timeout,
            stats: Arc::clone(&self.stats),
        };
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.header_read_timeout(None).max_buf_size(HEAD_MAX);
        let connection = builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(connection);
        let tick = [
            self.limits.header_timeout,
            self.limits.idle_timeout,
            self.limits.body_timeout,
        ]
        .into_iter()
        .min()
        .unwrap_or_default()
        .as_millis() as u64;
        let mut draining = *stopping.borrow();
        if draining {
            connection.as_mut().graceful_shutdown();
        }
        loop {
            // The next deadline, or (while a request is in progress) a look again within the
            // shortest timeout: state changes do not wake the watchdog.
            let look_again = now_ms(self.epoch) + tick;
            let at = slot
                .deadline(&self.limits)
                .map_or(look_again, |at| at.min(look_again));
            let sleep = tokio::time::sleep_until((self.epoch + Duration::from_millis(at)).into());
            tokio::select! {
                _ = connection.as_mut() => break,
                () = sleep => {
                    if let Some(expired) = slot.expired(&self.limits, now_ms(self.epoch)) {
                        let counter = match expired {
                            Expired::Head => &self.stats.header_timeouts,
                            Expired::Idle => &self.stats.idle_timeouts,
                            Expired::Write => &self.stats.body_timeouts,
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
                () = slot.close.notified() => break,
                changed = stopping.changed(), if !draining => {
                    if changed.is_err() || *stopping.borrow() {
                        draining = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        }
        let mut slots = self.slots.lock().expect("slots");
        slots.remove(&id);
        let empty = slots.is_empty();
        drop(slots);
        self.stats.open.fetch_sub(1, Ordering::Relaxed);
        if empty {
            self.emptied.notify_waiters();
        }
    }
}

/// The connection that has waited longest without a request in progress: since its accept,
/// since its request's first byte, or since its last response.
fn longest_waiting(slots: &HashMap<u64, Arc<Slot>>) -> Option<u64> {
    slots
        .iter()
        .filter(|(_, slot)| slot.busy.load(Ordering::Relaxed) == 0)
        .min_by_key(|(_, slot)| slot.waiting_since())
        .map(|(id, _)| *id)
}

/// One connection's state, in milliseconds since the listener started (0: not set).
#[derive(Debug)]
struct Slot {
    /// When the head now being read began to arrive (or the connection was accepted).
    head_since: AtomicU64,
    /// When the connection last finished a response (or was accepted).
    idle_since: AtomicU64,
    /// Requests in progress, until their responses are sent.
    busy: AtomicU32,
    /// Since when a write has waited for the client to read.
    write_blocked_since: AtomicU64,
    /// Wakes the watchdog to close the connection (to make room).
    close: Notify,
}

/// Which timeout ended a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expired {
    Head,
    Idle,
    Write,
}

impl Slot {
    fn waiting_since(&self) -> u64 {
        match self.head_since.load(Ordering::Relaxed) {
            0 => self.idle_since.load(Ordering::Relaxed),
            since => since,
        }
    }

    /// The next moment a timeout may end the connection, if any applies now.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<u64> {
        let ms = |d: Duration| d.as_millis() as u64;
        if self.busy.load(Ordering::Relaxed) > 0 {
            // A request in progress: its body has its own timeout; only a client that does
            // not read its response is cut off here.
            return match self.write_blocked_since.load(Ordering::Relaxed) {
                0 => None,
                since => Some(since + ms(limits.body_timeout)),
            };
        }
        Some(match self.head_since.load(Ordering::Relaxed) {
            0 => self.idle_since.load(Ordering::Relaxed) + ms(limits.idle_timeout),
            since => since + ms(limits.header_timeout),
        })
    }

    /// Which timeout has passed at `now`, if one has.
    fn expired(&self, limits: &ConnectionLimits, now: u64) -> Option<Expired> {
        let deadline = self.deadline(limits)?;
        if now < deadline {
            return None;
        }
        Some(if self.busy.load(Ordering::Relaxed) > 0 {
            Expired::Write
        } else if self.head_since.load(Ordering::Relaxed) != 0 {
            Expired::Head
        } else {
            Expired::Idle
        })
    }
}

/// A connection's socket, telling its slot when a request's first bytes arrive and when
/// writes wait for the client.
struct Watched {
    inner: TcpStream,
    slot: Arc<Slot>,
    epoch: Instant,
}

impl Watched {
    fn wrote<T>(&self, poll: Poll<std::io::Result<T>>) -> Poll<std::io::Result<T>> {
        let blocked = &self.slot.write_blocked_since;
        if poll.is_pending() {
            if blocked.load(Ordering::Relaxed) == 0 {
                blocked.store(now_ms(self.epoch), Ordering::Relaxed);
            }
        } else if blocked.load(Ordering::Relaxed) != 0 {
            blocked.store(0, Ordering::Relaxed);
        }
        poll
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            let slot = &self.slot;
            if slot.busy.load(Ordering::Relaxed) == 0
                && slot.head_since.load(Ordering::Relaxed) == 0
            {
                slot.head_since.store(now_ms(self.epoch), Ordering::Relaxed);
            }
        }
        poll
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.wrote(poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.wrote(poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The application as one connection's hyper service: each request marks the connection
/// busy until its response is sent, carries the peer's address (the portal's rate limit
/// reads it) and a body that must keep arriving.
#[derive(Clone)]
struct Requests {
    app: Router,
    slot: Arc<Slot>,
    peer: SocketAddr,
    epoch: Instant,
    body_timeout: Duration,
    stats: Arc<ConnectionStats>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for Requests {
    type Response = hyper::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        self.slot.busy.fetch_add(1, Ordering::Relaxed);
        self.slot.head_since.store(0, Ordering::Relaxed);
        let busy = Busy {
            slot: Arc::clone(&self.slot),
            epoch: self.epoch,
        };
        let (timeout, stats) = (self.body_timeout, Arc::clone(&self.stats));
        let mut request = request.map(|body| Body::new(Progress::new(body, timeout, stats)));
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let mut app = self.app.clone();
        Box::pin(async move {
            let response = app.call(request).await?;
            // The connection is busy until the response's body has been sent (or dropped).
            Ok(response.map(|body| Body::new(Sending { body, _busy: busy })))
        })
    }
}

/// A request in progress on a connection: dropped when its response has been sent, or
/// when the request is abandoned.
struct Busy {
    slot: Arc<Slot>,
    epoch: Instant,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.slot
            .idle_since
            .store(now_ms(self.epoch), Ordering::Relaxed);
        self.slot.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that keeps its connection busy while it is sent.
struct Sending {
    body: Body,
    _busy: Busy,
}

impl hyper::body::Body for Sending {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A request body stopped arriving: fewer than [`BODY_PROGRESS`] bytes within the body
/// timeout.
#[derive(Debug)]
pub struct BodyStalled(Duration);

impl std::fmt::Display for BodyStalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body stalled: less than {} KiB arrived in {} s",
            BODY_PROGRESS >> 10,
            self.0.as_secs()
        )
    }
}

impl std::error::Error for BodyStalled {}

/// A request body that fails with [`BodyStalled`] when it stops arriving. The timer exists
/// only once the body is waited for (most requests have none to wait for).
struct Progress {
    inner: Incoming,
    timeout: Duration,
    stats: Arc<ConnectionStats>,
    /// Bytes that arrived in the current window.
    arrived: u64,
    /// The end of the current window.
    window: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Progress {
    fn new(inner: Incoming, timeout: Duration, stats: Arc<ConnectionStats>) -> Progress {
        Progress {
            inner,
            timeout,
            stats,
            arrived: 0,
            window: None,
        }
    }
}

impl hyper::body::Body for Progress {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                if let Some(Ok(frame)) = &frame
                    && let Some(data) = frame.data_ref()
                {
                    this.arrived += data.len() as u64;
                    if this.arrived >= BODY_PROGRESS {
                        // Enough for this window: the next starts now.
                        this.arrived = 0;
                        this.window = None;
                    }
                }
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let timeout = this.timeout;
                let window = this
                    .window
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                ready!(window.as_mut().poll(cx));
                this.stats.body_timeouts.fetch_add(1, Ordering::Relaxed);
                Poll::Ready(Some(Err(Box::new(BodyStalled(timeout)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(head: u64, idle: u64, busy: u32) -> Arc<Slot> {
        Arc::new(Slot {
            head_since: AtomicU64::new(head),
            idle_since: AtomicU64::new(idle),
            busy: AtomicU32::new(busy),
            write_blocked_since: AtomicU64::new(0),
            close: Notify::new(),
        })
    }

    #[test]
    fn caps_fit_the_open_file_limit() {
        let check = |max: usize, files: u64, expected: Option<usize>| {
            assert_eq!(cap(max, files), expected, "{max} {files}")
        };
        check(4096, 1_048_576, Some(4096));
        check(4096, 1024, Some(1024 - 128));
        check(4096, 256, Some(128));
        check(10, 1024, None);
        check(4096, 100, None);
    }

    #[test]
    fn deadlines_follow_what_a_connection_is_doing() {
        let limits = ConnectionLimits {
            header_timeout: Duration::from_millis(100),
            idle_timeout: Duration::from_millis(1000),
            body_timeout: Duration::from_millis(500),
            max_connections: 16,
        };
        // Reading a head since 10: due at 110.
        let reading = slot(10, 10, 0);
        assert_eq!(reading.deadline(&limits), Some(110));
        assert_eq!(reading.expired(&limits, 109), None);
        assert_eq!(reading.expired(&limits, 110), Some(Expired::Head));
        // Idle since 50: due at 1050.
        let idle = slot(0, 50, 0);
        assert_eq!(idle.deadline(&limits), Some(1050));
        assert_eq!(idle.expired(&limits, 1050), Some(Expired::Idle));
        // Busy: no deadline until a write waits for the client.
        let busy = slot(0, 50, 1);
        assert_eq!(busy.deadline(&limits), None);
        assert_eq!(busy.expired(&limits, u64::MAX), None);
        busy.write_blocked_since.store(2000, Ordering::Relaxed);
        assert_eq!(busy.expired(&limits, 2500), Some(Expired::Write));
    }

    #[test]
    fn the_longest_waiting_idle_connection_makes_room() {
        let mut slots = HashMap::new();
        slots.insert(1, slot(0, 500, 0)); // idle since 500
        slots.insert(2, slot(300, 100, 0)); // a head since 300
        slots.insert(3, slot(0, 10, 1)); // busy: never chosen
        slots.insert(4, slot(0, 400, 0));
        assert_eq!(longest_waiting(&slots), Some(2));
        slots.remove(&2);
        assert_eq!(longest_waiting(&slots), Some(4));
        slots.retain(|id, _| *id == 3);
        assert_eq!(longest_waiting(&slots), None);
    }
}
