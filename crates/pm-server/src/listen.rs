//! The accept loop of pm-mcp's HTTP listeners, built so that slow or stalled clients cannot exhaust
//! the server:
//!
//! - **Header-read timeout**: a request's headers must arrive whole within it, counted from the
//!   moment the connection is ready for a request (its opening, or the end of the previous
//!   answer). A client trickling one header line a second is closed when it runs out.
//! - **Idle timeout**: a connection the server is waiting on (for a request, or for the rest of a
//!   request's body) that sends nothing for this long is closed. A connection the server owes
//!   something (a tool call under way, an answer or an event stream being sent) is never idle.
//! - **A cap on open connections**, lowered at start to what the process's open-file limit can
//!   hold. At the cap, a new connection takes the place of the connection that has been waiting
//!   on its client the longest: that connection is closed and its place is handed to the newcomer
//!   itself, not to whoever queues first, so a burst of attackers cannot take the place a health
//!   check made. When every connection is busy, the newcomer waits a moment for a free place and
//!   is then answered `503` with `Retry-After` and closed; past [`WAITING`] newcomers at once, it
//!   is closed without making room. So a flood of stalled clients costs descriptors only up to
//!   the cap, and a health check still gets through.
//! - **Event streams hold at most half the places**: a stream (legacy SSE, a session's GET
//!   stream) is owed for as long as it is open and never makes room, so past that share a new
//!   stream is answered `503` instead: keys that open streams cannot take every place.
//! - **Shutdown** lets answers under way finish but ends event streams at once (they never end
//!   by themselves), and gives up on whatever is left after [`DRAIN`].
use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

/// How slow clients are bounded (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    /// Open connections per listener (before the open-file limit lowers it).
    pub max_connections: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
        }
    }
}

/// Descriptors kept for everything but client connections: the database pool, log files, the
/// listeners, and connections waiting for a place (`WAITING`).
const RESERVED_DESCRIPTORS: u64 = 96;
/// Connections that may wait at once for a place when every place is busy.
const WAITING: usize = 32;
/// How long such a connection waits before it is answered `503`.
const WAIT_FOR_PLACE: Duration = Duration::from_secs(1);
/// How long a connection that closed another waits for that one's place (it comes as soon as the
/// closed connection's task runs; this bounds a process starved of CPU).
const WAIT_FOR_HANDOFF: Duration = Duration::from_secs(10);
/// How long a shutdown waits for answers under way before it stops anyway.
pub const DRAIN: Duration = Duration::from_secs(30);

impl ConnLimits {
    /// The cap actually applied: `max_connections`, lowered so that every client connection can
    /// also hold one tracker connection within `open_files` (the process's soft limit on open
    /// descriptors, when known) after the reserve.
    pub fn effective_max(&self, open_files: Option<u64>) -> usize {
        let wanted = self.max_connections.max(1);
        match open_files {
            Some(limit) => {
                let fits = (limit.saturating_sub(RESERVED_DESCRIPTORS) / 2).max(1);
                wanted.min(usize::try_from(fits).unwrap_or(usize::MAX))
            }
            None => wanted,
        }
    }
}

/// The soft limit on open descriptors of this process, from `/proc/self/limits` (Linux); `None`
/// where it cannot be read or is unlimited.
pub fn open_file_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_file_limit(&text)
}

fn parse_open_file_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// One open connection, as the accept loop sees it.
struct Conn {
    /// When the client last sent bytes, or the server last finished an answer (ms since `epoch`).
    last_active: AtomicU64,
    /// Requests whose bodies have arrived whole and whose answers are not yet sent: while any
    /// is, the server owes the client, and the connection is neither idle nor evictable.
    owed: AtomicUsize,
    /// Of those, the answers that are event streams (open until the client or the server ends
    /// them).
    streams: AtomicUsize,
    /// Cancelled to close the connection at once (it was chosen to make room).
    evict: CancellationToken,
    /// The connection it was closed for, which its place goes to when it ends.
    heir: Mutex<Option<oneshot::Sender<OwnedSemaphorePermit>>>,
}

impl Conn {
    /// Gives the place of this ended connection to the connection it was closed for, if any and
    /// if that one still wants it; otherwise the place goes back to the listener.
    fn pass_on(&self, place: OwnedSemaphorePermit) {
        let heir = self
            .heir
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(heir) = heir {
            // Refused when the heir found a place first: dropping it returns it to the listener.
            let _ = heir.send(place);
        }
    }
}

/// The connections of one listener.
struct Registry {
    epoch: Instant,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    /// Event streams open on this listener, and how many may be.
    streams: AtomicUsize,
    max_streams: usize,
}

impl Registry {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn add(&self, id: u64) -> Arc<Conn> {
        let conn = Arc::new(Conn {
            last_active: AtomicU64::new(self.now_ms()),
            owed: AtomicUsize::new(0),
            streams: AtomicUsize::new(0),
            evict: CancellationToken::new(),
            heir: Mutex::new(None),
        });
        self.lock().insert(id, conn.clone());
        conn
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Closes the connection that has waited on its client the longest, and answers where its
    /// place will come when it has ended; `None` when every connection is owed an answer (or
    /// already chosen and closing).
    ///
    /// The connection is still registered (this holds the registry's lock), so it has not yet
    /// ended: it passes its place on after it leaves the registry, never before.
    fn evict_one(&self) -> Option<oneshot::Receiver<OwnedSemaphorePermit>> {
        let conns = self.lock();
        let victim = conns
            .values()
            .filter(|c| c.owed.load(Relaxed) == 0 && !c.evict.is_cancelled())
            .min_by_key(|c| c.last_active.load(Relaxed))?;
        let (heir, place) = oneshot::channel();
        *victim
            .heir
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(heir);
        victim.evict.cancel();
        Some(place)
    }
}

/// A place for a connection that found the listener full: the place of the connection it closed
/// (`handoff`), or any place freed meanwhile, whichever comes first; `None` when none came in time.
async fn place_for(
    handoff: Option<oneshot::Receiver<OwnedSemaphorePermit>>,
    places: Arc<Semaphore>,
) -> Option<OwnedSemaphorePermit> {
    let freed = async move { places.acquire_owned().await.ok() };
    match handoff {
        Some(handoff) => tokio::time::timeout(WAIT_FOR_HANDOFF, async move {
            tokio::select! {
                Ok(place) = handoff => Some(place),
                place = freed => place,
            }
        })
        .await
        .ok()
        .flatten(),
        None => tokio::time::timeout(WAIT_FOR_PLACE, freed)
            .await
            .ok()
            .flatten(),
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` is cancelled, then lets the
/// answers under way finish (connections waiting on their clients are closed at once).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let max = limits.effective_max(open_file_limit());
    if max < limits.max_connections {
        tracing::info!(
            max_connections = max,
            "open connections capped at {max} to fit the open-file limit"
        );
    }
    let places = Arc::new(Semaphore::new(max));
    let waiting = Arc::new(Semaphore::new(WAITING));
    let registry = Arc::new(Registry {
        epoch: Instant::now(),
        conns: Mutex::new(HashMap::new()),
        streams: AtomicUsize::new(0),
        max_streams: (max / 2).max(1),
    });
    let mut next_id: u64 = 0;
    let mut last_accept_warning: Option<Instant> = None;
    loop {
        let (tcp, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors (or a connection reset before it was accepted): wait a
                    // little rather than spin, and say so at most once a second.
                    if last_accept_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                        tracing::warn!(error = %e, "cannot accept a connection");
                        last_accept_warning = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Answers go out as they are written: without TCP_NODELAY, Nagle's algorithm held the
        // last small write of a streamed answer until the client's delayed ACK (~40 ms a call).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        next_id = next_id.wrapping_add(1);
        let id = next_id;
        let place = match places.clone().try_acquire_owned() {
            Ok(place) => place,
            Err(_) => {
                // Full: make room by closing the connection waiting longest on its client and
                // take its place; when none is, wait a moment for one to finish, then refuse in
                // words. Past `WAITING` newcomers at once, close this one without making room.
                let Ok(wait) = waiting.clone().try_acquire_owned() else {
                    tracing::debug!("connection dropped: the server is full");
                    continue;
                };
                let handoff = registry.evict_one();
                let evicted = handoff.is_some();
                let (places, registry, app, shutdown) = (
                    places.clone(),
                    registry.clone(),
                    app.clone(),
                    shutdown.clone(),
                );
                tokio::spawn(async move {
                    match place_for(handoff, places).await {
                        Some(place) => {
                            drop(wait);
                            let conn = registry.add(id);
                            serve_connection(tcp, peer, app, limits, &conn, &registry, &shutdown)
                                .await;
                            registry.remove(id);
                            conn.pass_on(place);
                        }
                        None => {
                            tracing::warn!(
                                evicted,
                                "a connection was refused: all {max} places are busy"
                            );
                            refuse(tcp).await;
                            drop(wait);
                        }
                    }
                });
                continue;
            }
        };
        let conn = registry.add(id);
        let (registry, app, shutdown) = (registry.clone(), app.clone(), shutdown.clone());
        tokio::spawn(async move {
            serve_connection(tcp, peer, app, limits, &conn, &registry, &shutdown).await;
            registry.remove(id);
            conn.pass_on(place);
        });
    }
    // Every connection task holds a place: all of them back means all connections have ended.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN, places.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            "stopping with answers still under way after {} s",
            DRAIN.as_secs()
        );
    }
    Ok(())
}

/// The answer to an event stream past the listener's share of streams.
fn too_many_streams() -> axum::response::Response {
    let body = r#"{"error":"too_many_streams","message":"the server holds as many event streams as it may; try again in a moment"}"#;
    axum::response::Response::builder()
        .status(http::StatusCode::SERVICE_UNAVAILABLE)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::RETRY_AFTER, "5")
        .body(Body::from(body))
        .unwrap_or_default()
}

/// The answer to a connection there is no place for.
async fn refuse(mut tcp: TcpStream) {
    const BODY: &str = r#"{"error":"overloaded","message":"the server has no free connection; try again in a moment"}"#;
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        BODY.len()
    );
    let write = async {
        tcp.write_all(head.as_bytes()).await?;
        tcp.write_all(BODY.as_bytes()).await?;
        tcp.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
}

async fn serve_connection(
    tcp: TcpStream,
    peer: std::net::SocketAddr,
    app: Router,
    limits: ConnLimits,
    conn: &Arc<Conn>,
    registry: &Arc<Registry>,
    shutdown: &CancellationToken,
) {
    let io = TokioIo::new(Watched {
        io: tcp,
        conn: conn.clone(),
        registry: registry.clone(),
    });
    let service = {
        let (conn, registry) = (conn.clone(), registry.clone());
        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let owed = Arc::new(Owed {
                conn: conn.clone(),
                registry: registry.clone(),
                counted: AtomicBool::new(false),
                stream: AtomicBool::new(false),
            });
            if http_body::Body::is_end_stream(req.body()) {
                owed.start();
            }
            let mut req = req.map(|body| {
                Body::new(RequestBody {
                    inner: body,
                    owed: owed.clone(),
                })
            });
            req.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                let res = match app.oneshot(req).await {
                    Ok(res) => res,
                    Err(never) => match never {},
                };
                let is_stream = res
                    .headers()
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("text/event-stream"));
                if is_stream && !owed.start_stream() {
                    // Dropping the stream's answer ends it (and its session) at once.
                    drop(res);
                    tracing::warn!("an event stream was refused: half the places hold streams");
                    return Ok::<_, Infallible>(too_many_streams());
                }
                Ok::<_, Infallible>(res.map(|body| Body::new(AnswerBody { inner: body, owed })))
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let served = builder.serve_connection(io, service);
    tokio::pin!(served);
    let check = (limits.idle_timeout / 8).clamp(Duration::from_millis(100), Duration::from_secs(5));
    let idle_ms = u64::try_from(limits.idle_timeout.as_millis()).unwrap_or(u64::MAX);
    let mut tick = tokio::time::interval(check);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut draining = false;
    loop {
        tokio::select! {
            done = served.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(error = %e, "connection ended");
                }
                return;
            }
            _ = conn.evict.cancelled(), if !draining => {
                // Chosen while idle, but a request may have arrived whole since: that answer is
                // finished first (the newcomer waits for the place), then the connection closes.
                if conn.owed.load(Relaxed) == 0 {
                    tracing::debug!("connection closed to make room for another");
                    return;
                }
                served.as_mut().graceful_shutdown();
                draining = true;
            }
            _ = shutdown.cancelled(), if !draining => {
                // Nothing owed but event streams, which never end by themselves: close now.
                if conn.owed.load(Relaxed) == conn.streams.load(Relaxed) {
                    return;
                }
                served.as_mut().graceful_shutdown();
                draining = true;
            }
            _ = tick.tick() => {
                if draining && conn.owed.load(Relaxed) == conn.streams.load(Relaxed) {
                    return;
                }
                if conn.owed.load(Relaxed) == 0 {
                    let quiet = registry.now_ms().saturating_sub(conn.last_active.load(Relaxed));
                    if quiet >= idle_ms {
                        tracing::debug!(quiet_ms = quiet, "idle connection closed");
                        return;
                    }
                }
            }
        }
    }
}

/// The connection's socket, noting when the client last sent something.
struct Watched {
    io: TcpStream,
    conn: Arc<Conn>,
    registry: Arc<Registry>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let now = self.registry.now_ms();
            self.conn.last_active.store(now, Relaxed);
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// One request the server owes an answer to, from the moment its body has arrived whole until
/// its answer is sent (or abandoned).
struct Owed {
    conn: Arc<Conn>,
    registry: Arc<Registry>,
    counted: AtomicBool,
    /// The answer is an event stream (counted in the listener's streams).
    stream: AtomicBool,
}

impl Owed {
    fn start(&self) {
        if !self.counted.swap(true, Relaxed) {
            self.conn.owed.fetch_add(1, Relaxed);
        }
    }

    /// Counts the answer as an event stream; false (nothing counted) when the listener already
    /// holds as many as it may.
    fn start_stream(&self) -> bool {
        let streams = &self.registry.streams;
        let mut open = streams.load(Relaxed);
        loop {
            if open >= self.registry.max_streams {
                return false;
            }
            match streams.compare_exchange_weak(open, open + 1, Relaxed, Relaxed) {
                Ok(_) => break,
                Err(now) => open = now,
            }
        }
        self.start();
        self.stream.store(true, Relaxed);
        self.conn.streams.fetch_add(1, Relaxed);
        true
    }
}

impl Drop for Owed {
    fn drop(&mut self) {
        if *self.stream.get_mut() {
            self.registry.streams.fetch_sub(1, Relaxed);
            self.conn.streams.fetch_sub(1, Relaxed);
        }
        if *self.counted.get_mut() {
            self.conn.owed.fetch_sub(1, Relaxed);
            // The idle clock starts again when an answer ends, not when its request came.
            self.conn.last_active.store(self.registry.now_ms(), Relaxed);
        }
    }
}

/// A request body that marks its request owed once it has been read to the end.
struct RequestBody {
    inner: Incoming,
    owed: Arc<Owed>,
}

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => self.owed.start(),
            Poll::Ready(Some(Ok(_))) if self.inner.is_end_stream() => self.owed.start(),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// An answer body that keeps its request owed until it has been sent or dropped.
struct AnswerBody {
    inner: Body,
    #[allow(dead_code)] // held for its Drop
    owed: Arc<Owed>,
}

impl http_body::Body for AnswerBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
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

    #[test]
    fn the_cap_fits_the_open_file_limit() {
        let limits = ConnLimits::default();
        assert_eq!(limits.effective_max(None), 4096);
        assert_eq!(limits.effective_max(Some(1_048_576)), 4096);
        // 256 descriptors: 96 kept, the rest shared between clients and their tracker calls.
        assert_eq!(limits.effective_max(Some(256)), 80);
        assert_eq!(limits.effective_max(Some(10)), 1);
        let few = ConnLimits {
            max_connections: 20,
            ..limits
        };
        assert_eq!(few.effective_max(Some(256)), 20);
    }

    #[test]
    fn reads_the_soft_open_file_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max cpu time              unlimited            unlimited            seconds   \n\
                      Max open files            256                  524288               files     \n";
        assert_eq!(parse_open_file_limit(limits), Some(256));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_open_file_limit(unlimited), None);
        assert_eq!(parse_open_file_limit("nothing here"), None);
    }

    fn registry() -> Arc<Registry> {
        Arc::new(Registry {
            epoch: Instant::now(),
            conns: Mutex::new(HashMap::new()),
            streams: AtomicUsize::new(0),
            max_streams: 1,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_connections_place_goes_to_the_one_it_was_closed_for() {
        let places = Arc::new(Semaphore::new(1));
        let registry = registry();
        let held = places.clone().try_acquire_owned().expect("the one place");
        let victim = registry.add(1);
        // Someone queued for a place before the newcomer made room (an attacker of a burst).
        let queued = tokio::spawn({
            let places = places.clone();
            async move { places.acquire_owned().await }
        });
        tokio::task::yield_now().await;
        let handoff = registry.evict_one().expect("an idle connection to close");
        assert!(victim.evict.is_cancelled());
        // No other idle connection is left to close.
        assert!(registry.evict_one().is_none());
        // The newcomer waits (for its handoff, and for any place) before the victim ends.
        let newcomer = tokio::spawn(place_for(Some(handoff), places.clone()));
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        registry.remove(1);
        victim.pass_on(held);
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        assert!(
            !queued.is_finished(),
            "the queue took the handed-over place"
        );
        let place = newcomer.await.expect("newcomer");
        assert!(place.is_some(), "the newcomer got the place it made");
        drop(place);
        let got = tokio::time::timeout(Duration::from_secs(5), queued).await;
        assert!(
            matches!(got, Ok(Ok(Ok(_)))),
            "the place went back to the listener after"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_owed_an_answer_is_never_closed_to_make_room() {
        let registry = registry();
        let busy = registry.add(1);
        busy.owed.store(1, Relaxed);
        assert!(registry.evict_one().is_none());
        assert!(!busy.evict.is_cancelled());
        // With no place freed and none handed over, the newcomer is refused after the wait.
        let places = Arc::new(Semaphore::new(0));
        assert!(place_for(None, places).await.is_none());
    }

    #[tokio::test]
    async fn a_place_the_heir_no_longer_wants_goes_back_to_the_listener() {
        let places = Arc::new(Semaphore::new(1));
        let registry = registry();
        let held = places.clone().try_acquire_owned().expect("the one place");
        let victim = registry.add(1);
        let handoff = registry.evict_one().expect("an idle connection to close");
        drop(handoff);
        victim.pass_on(held);
        assert_eq!(places.available_permits(), 1);
    }
}
