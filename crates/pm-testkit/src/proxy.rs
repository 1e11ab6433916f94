//! A company's forward proxy, small and local: `CONNECT host:port` is tunnelled, a plain-http
//! request in absolute form (`GET http://host:port/path`) is forwarded (one request per
//! connection: it asks the tracker to close after answering). It records what it was asked —
//! method, target `host:port`, and the `Proxy-Authorization` it got (the decoded user) — so tests
//! can tell what went through it and what never reached it. Names are resolved from its own map
//! first (tests name trackers that no DNS knows), else by the system. With `require`, a request
//! without those credentials is answered 407 and goes nowhere.
#![allow(clippy::unwrap_used)] // test fixture code

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request the proxy was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    /// `CONNECT`, `GET`, `POST` …
    pub method: String,
    /// `host:port` as asked (names stay names).
    pub target: String,
    /// Whether `Proxy-Authorization` was sent.
    pub authorized: bool,
    /// The user of a `Basic` `Proxy-Authorization`.
    pub user: Option<String>,
}

#[derive(Default)]
struct Config {
    hosts: HashMap<String, SocketAddr>,
    require: Option<(String, String)>,
}

pub struct RecordingProxy {
    pub addr: SocketAddr,
    asked: Arc<Mutex<Vec<Asked>>>,
    config: Arc<Mutex<Config>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RecordingProxy {
    /// Starts on 127.0.0.1, a random port.
    pub async fn start() -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let config = Arc::new(Mutex::new(Config::default()));
        let (a, c) = (asked.clone(), config.clone());
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (a, c) = (a.clone(), c.clone());
                tokio::spawn(async move {
                    let _ = serve(sock, a, c).await;
                });
            }
        });
        RecordingProxy {
            addr,
            asked,
            config,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Resolves `name` (any port asked) to `to` (whose port is used).
    pub fn route(&self, name: &str, to: SocketAddr) {
        self.config
            .lock()
            .unwrap()
            .hosts
            .insert(name.to_ascii_lowercase(), to);
    }

    /// Answers 407 unless `Proxy-Authorization` is Basic with these credentials.
    pub fn require(&self, user: &str, password: &str) {
        self.config.lock().unwrap().require = Some((user.into(), password.into()));
    }

    /// Everything asked so far, in order.
    pub fn asked(&self) -> Vec<Asked> {
        self.asked.lock().unwrap().clone()
    }
}

async fn serve(
    mut client: TcpStream,
    asked: Arc<Mutex<Vec<Asked>>>,
    config: Arc<Mutex<Config>>,
) -> std::io::Result<()> {
    let Some((head, rest)) = read_head(&mut client).await? else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let proxy_auth = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_, v)| v.clone());
    let credentials = proxy_auth
        .as_deref()
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(u, p)| (u.to_string(), p.to_string()))
        });
    let (host_port, path) = if method == "CONNECT" {
        (target.clone(), None)
    } else {
        let Ok(url) = url::Url::parse(&target) else {
            return answer(&mut client, 400).await;
        };
        let host = url.host_str().unwrap_or_default().to_string();
        let port = url.port_or_known_default().unwrap_or(80);
        let mut path = url.path().to_string();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        (format!("{host}:{port}"), Some(path))
    };
    asked.lock().unwrap().push(Asked {
        method: method.clone(),
        target: host_port.clone(),
        authorized: proxy_auth.is_some(),
        user: credentials.as_ref().map(|(u, _)| u.clone()),
    });
    let (require, routed) = {
        let c = config.lock().unwrap();
        let name = host_port
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(&host_port)
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        (c.require.clone(), c.hosts.get(&name).copied())
    };
    if let Some(expected) = require
        && credentials.as_ref() != Some(&expected)
    {
        let msg = b"HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic realm=\"test\"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
        return client.write_all(msg).await;
    }
    let upstream = match routed {
        Some(addr) => TcpStream::connect(addr).await,
        None => TcpStream::connect(host_port.as_str()).await,
    };
    let Ok(mut upstream) = upstream else {
        return answer(&mut client, 502).await;
    };
    match path {
        None => {
            client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await?;
            upstream.write_all(&rest).await?;
        }
        Some(path) => {
            // The request in origin form, without the proxy's own headers, closing after it.
            let mut out = format!("{method} {path} HTTP/1.1\r\n");
            for (k, v) in &headers {
                let k_low = k.to_ascii_lowercase();
                if !matches!(
                    k_low.as_str(),
                    "proxy-authorization" | "proxy-connection" | "connection"
                ) {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
            }
            out.push_str("connection: close\r\n\r\n");
            upstream.write_all(out.as_bytes()).await?;
            upstream.write_all(&rest).await?;
        }
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    Ok(())
}

async fn answer(sock: &mut TcpStream, code: u16) -> std::io::Result<()> {
    let msg =
        format!("HTTP/1.1 {code} Proxy Says No\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    sock.write_all(msg.as_bytes()).await
}

/// The request head (up to the blank line) and whatever arrived after it.
async fn read_head(sock: &mut TcpStream) -> std::io::Result<Option<(Vec<u8>, Vec<u8>)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            buf.truncate(end);
            return Ok(Some((buf, rest)));
        }
        if buf.len() > 64 * 1024 {
            return Ok(None);
        }
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
