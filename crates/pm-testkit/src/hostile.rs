//! A hostile upstream: a raw TCP server that misbehaves on purpose, one way at a time — hangs,
//! resets, 429 with `Retry-After`, 502, 503, garbage, truncated JSON, a 50 MB body, a slow drip.
//! It counts requests (by method) and the body bytes it managed to send, so tests can tell how
//! many attempts a client made and how much of a huge body it read. The mode can change while it
//! runs (a tracker that comes back). Each connection carries one exchange (`Connection: close`).
#![allow(clippy::unwrap_used)] // test fixture code

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the upstream answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A healthy `200` with this JSON body.
    Ok(String),
    /// Reads the request, never answers, keeps the socket open.
    Hang,
    /// Reads the request and resets the connection (RST) without a byte of answer.
    Reset,
    /// Sends the status line, headers and part of the announced body, then resets.
    ResetMidBody,
    /// This status with an empty JSON body, and `Retry-After` when given.
    Status { code: u16, retry_after: Option<u64> },
    /// `302` to this location.
    Redirect(String),
    /// `200` with an HTML page, not JSON.
    Garbage,
    /// `200` with JSON cut off in the middle (a correct `Content-Length` for what is sent).
    TruncatedJson,
    /// `200` with a body of this many bytes, announced in `Content-Length` (or chunked without
    /// a length when `chunked`), streamed from one small buffer.
    Huge { bytes: u64, chunked: bool },
    /// `200` whose JSON body arrives one byte every `every`.
    SlowDrip { every: Duration },
}

pub struct Hostile {
    pub addr: SocketAddr,
    mode: Arc<Mutex<Fault>>,
    requests: Arc<Mutex<Vec<String>>>,
    body_bytes_sent: Arc<AtomicU64>,
    open_connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Hostile {
    /// Starts on 127.0.0.1, a random port.
    pub async fn start(fault: Fault) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(Mutex::new(fault));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let body_bytes_sent = Arc::new(AtomicU64::new(0));
        let open_connections = Arc::new(AtomicUsize::new(0));
        let (m, r, b, o) = (
            mode.clone(),
            requests.clone(),
            body_bytes_sent.clone(),
            open_connections.clone(),
        );
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (m, r, b, o) = (m.clone(), r.clone(), b.clone(), o.clone());
                tokio::spawn(async move {
                    o.fetch_add(1, Ordering::SeqCst);
                    let _ = serve(sock, m, r, b).await;
                    o.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Hostile {
            addr,
            mode,
            requests,
            body_bytes_sent,
            open_connections,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, fault: Fault) {
        *self.mode.lock().unwrap() = fault;
    }

    /// Requests seen so far, as `METHOD /path`.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// Connections held open right now (a hanging tracker keeps them until the client leaves).
    pub fn open_connections(&self) -> usize {
        self.open_connections.load(Ordering::SeqCst)
    }

    pub fn hits(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// Body bytes written to sockets so far (what the client did not refuse to read, plus
    /// whatever the kernel buffered).
    pub fn body_bytes_sent(&self) -> u64 {
        self.body_bytes_sent.load(Ordering::SeqCst)
    }
}

async fn serve(
    mut sock: TcpStream,
    mode: Arc<Mutex<Fault>>,
    requests: Arc<Mutex<Vec<String>>>,
    sent: Arc<AtomicU64>,
) -> std::io::Result<()> {
    let Some(head) = read_request(&mut sock).await? else {
        return Ok(());
    };
    requests.lock().unwrap().push(head);
    let fault = mode.lock().unwrap().clone();
    match fault {
        Fault::Ok(body) => respond(&mut sock, 200, &[], body.as_bytes()).await,
        Fault::Hang => {
            // Hold the socket until the client gives up (or the server is dropped).
            let mut buf = [0u8; 1024];
            while sock.read(&mut buf).await? > 0 {}
            Ok(())
        }
        Fault::Reset => {
            sock.set_zero_linger()?;
            drop(sock);
            Ok(())
        }
        Fault::ResetMidBody => {
            sock.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\nconnection: close\r\n\r\n{\"id\":\"1\",",
            )
            .await?;
            sock.flush().await?;
            tokio::time::sleep(Duration::from_millis(20)).await;
            sock.set_zero_linger()?;
            drop(sock);
            Ok(())
        }
        Fault::Status { code, retry_after } => {
            let ra = retry_after.map(|s| format!("retry-after: {s}\r\n"));
            let extra: Vec<&str> = ra.iter().map(String::as_str).collect();
            respond(&mut sock, code, &extra, b"{}").await
        }
        Fault::Redirect(to) => {
            let location = format!("location: {to}\r\n");
            respond(&mut sock, 302, &[location.as_str()], b"").await
        }
        Fault::Garbage => {
            let page = b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>";
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                page.len()
            );
            sock.write_all(head.as_bytes()).await?;
            sock.write_all(page).await
        }
        Fault::TruncatedJson => {
            respond(
                &mut sock,
                200,
                &[],
                br#"{"id":"10001","key":"PROJ-1","fields":{"summ"#,
            )
            .await
        }
        Fault::Huge { bytes, chunked } => huge(&mut sock, bytes, chunked, &sent).await,
        Fault::SlowDrip { every } => {
            let body = br#"{"id":"1","name":"slow"}"#;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            sock.write_all(head.as_bytes()).await?;
            for b in body {
                sock.write_all(&[*b]).await?;
                sock.flush().await?;
                sent.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(every).await;
            }
            Ok(())
        }
    }
}

/// Reads one request (head and any `Content-Length` body); returns `METHOD /path`.
async fn read_request(sock: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return Ok(None);
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut have = buf.len() - head_end;
    while have < length {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        have += n;
    }
    let first = head.lines().next().unwrap_or_default();
    let mut parts = first.split(' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    Ok(Some(format!("{method} {target}")))
}

async fn respond(
    sock: &mut TcpStream,
    code: u16,
    extra: &[&str],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {code} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        reason(code),
        body.len()
    );
    for h in extra {
        head.push_str(h);
    }
    head.push_str("\r\n");
    sock.write_all(head.as_bytes()).await?;
    sock.write_all(body).await?;
    sock.flush().await
}

async fn huge(
    sock: &mut TcpStream,
    bytes: u64,
    chunked: bool,
    sent: &AtomicU64,
) -> std::io::Result<()> {
    let head = if chunked {
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".to_string()
    } else {
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {bytes}\r\nconnection: close\r\n\r\n"
        )
    };
    sock.write_all(head.as_bytes()).await?;
    // A JSON array of spaces-free filler, one 64 KiB block reused.
    let block = vec![b'7'; 64 * 1024];
    let mut left = bytes;
    let mut first = true;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        let piece: &[u8] = if first {
            first = false;
            b"["
        } else {
            &block[..n]
        };
        if chunked {
            sock.write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                .await?;
            sock.write_all(piece).await?;
            sock.write_all(b"\r\n").await?;
        } else {
            sock.write_all(piece).await?;
        }
        sent.fetch_add(piece.len() as u64, Ordering::SeqCst);
        left -= piece.len() as u64;
    }
    if chunked {
        sock.write_all(b"0\r\n\r\n").await?;
    }
    sock.flush().await
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        302 => "Found",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}
