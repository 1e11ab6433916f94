//! Slow and stalled clients against the real binary: a slowloris run (connections trickling one
//! header line at a time, and stalled partial requests, more of them than the process has
//! descriptors) leaves the health check answering and every attacking connection closed by the
//! server; a client gone silent in the middle of a body, or between requests, is closed after the
//! idle timeout, while an event stream the server is sending is never taken for idle.
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::harness::*;
use crate::hygiene::Events;

/// Waits until the server closes `sock` (end of stream or reset), reading and discarding anything
/// it sends first (an answer, a 503); panics after `within`.
async fn closed_by_server(mut sock: impl tokio::io::AsyncRead + Unpin, within: Duration) {
    let mut buf = [0u8; 4096];
    let waited = tokio::time::timeout(within, async {
        loop {
            match sock.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(waited.is_ok(), "the server left the connection open");
}

const STALLED: usize = 300;
const TRICKLING: usize = 50;

#[tokio::test]
async fn a_slowloris_run_leaves_the_server_answering_and_every_attacker_closed() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    // As in the attack run: 256 descriptors for the whole process, more attackers than that.
    let server = env
        .serve_with_open_files(256, &["--header-read-timeout", "3", "--idle-timeout", "2"])
        .await;
    let addr = server.base.trim_start_matches("http://").to_string();
    let started = Instant::now();

    // Stalled: a request line and one header, then nothing, ever.
    let mut stalled = Vec::new();
    for _ in 0..STALLED {
        let mut sock = TcpStream::connect(&addr).await.expect("connect");
        let _ = sock
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await;
        stalled.push(sock);
    }
    // Trickling: one more header line every half second, for as long as the server listens.
    let mut trickling = Vec::new();
    for i in 0..TRICKLING {
        let sock = TcpStream::connect(&addr).await.expect("connect");
        let (read, mut write) = sock.into_split();
        tokio::spawn(async move {
            let _ = write
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                .await;
            for n in 0.. {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let line = format!("X-Slow-{i}-{n}: a\r\n");
                if write.write_all(line.as_bytes()).await.is_err() {
                    break;
                }
            }
        });
        trickling.push(read);
    }
    let opened = started.elapsed();

    // With all of them open, a health check gets through, again and again.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let mut health = Vec::new();
    for _ in 0..5 {
        let asked = Instant::now();
        let res = http
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("/healthz did not answer under attack: {e}"));
        assert_eq!(res.status(), 200, "/healthz under attack");
        health.push(asked.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Every attacking connection is closed by the server: made room for, or out of time.
    for sock in stalled {
        closed_by_server(sock, Duration::from_secs(30)).await;
    }
    for read in trickling {
        closed_by_server(read, Duration::from_secs(30)).await;
    }
    let all_closed = started.elapsed();
    eprintln!(
        "slowloris: {STALLED} stalled + {TRICKLING} trickling connections opened in {opened:?}; \
         /healthz answered in {health:?}; all attackers closed by the server after {all_closed:?}"
    );

    // And the server is itself again: a health check, and no descriptor ever ran out.
    let res = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .expect("healthz after");
    assert_eq!(res.status(), 200);
    let logs = server.stop().await;
    assert!(
        !logs.contains("cannot accept a connection"),
        "the server ran out of descriptors: {logs}"
    );
    assert!(
        logs.contains("open connections capped at 80"),
        "the cap was not fitted to 256 descriptors: {logs}"
    );
    env.finish().await;
}

#[tokio::test]
async fn a_silent_client_is_closed_but_a_stream_being_sent_is_not() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    env.add_user("ann@acme.org");
    let key = env.create_key("ann@acme.org", "read");
    // The header-read timeout is far away, so what closes connections here is the idle timeout.
    let server = env
        .serve(&["--idle-timeout", "1", "--header-read-timeout", "60"])
        .await;
    let addr = server.base.trim_start_matches("http://").to_string();

    // A body announced as 100 bytes, 10 sent, then silence.
    let mut body = TcpStream::connect(&addr).await.expect("connect");
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
         Content-Length: 100\r\n\r\n{{\"jsonrpc\""
    );
    body.write_all(head.as_bytes()).await.expect("write");

    // A keep-alive connection after one complete exchange, then silence.
    let mut kept = TcpStream::connect(&addr).await.expect("connect");
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("write");
    let mut answer = [0u8; 1024];
    let n = kept.read(&mut answer).await.expect("read");
    assert!(
        String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer[..n])
    );

    // An event stream the server sends (legacy SSE), opened before the silence starts.
    let http = reqwest::Client::new();
    let res = http
        .get(format!("{}/sse", server.base))
        .header("x-mcp-api-key", &key)
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("GET /sse");
    assert_eq!(res.status(), 200);
    let mut events = Events::new(res);
    let (event, endpoint) = events.next().await;
    assert_eq!(event, "endpoint");

    let silent = Instant::now();
    closed_by_server(body, Duration::from_secs(20)).await;
    closed_by_server(kept, Duration::from_secs(20)).await;
    eprintln!(
        "idle timeout 1 s: a stalled body and an idle keep-alive connection closed after {:?}",
        silent.elapsed()
    );
    // Well past the idle timeout, the stream is still there and still carries answers.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"slow","version":"1"}}});
    let posted = http
        .post(format!("{}{endpoint}", server.base))
        .header("x-mcp-api-key", &key)
        .json(&init)
        .send()
        .await
        .expect("post");
    assert_eq!(posted.status(), 202);
    let (_, reply) = events.next().await;
    assert!(reply.contains("\"protocolVersion\""), "{reply}");
    env.finish().await;
}

#[tokio::test]
async fn connection_bounds_of_zero_are_refused_in_words() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    for (flag, words) in [
        (
            "--header-read-timeout",
            "--header-read-timeout must be at least 1 second",
        ),
        ("--idle-timeout", "--idle-timeout must be at least 1 second"),
        ("--max-connections", "--max-connections must be at least 1"),
    ] {
        let err = env.fails(&["serve", "--listen", "127.0.0.1:0", flag, "0"]);
        assert!(err.contains(words), "{flag} 0: {err}");
    }
    env.finish().await;
}

#[tokio::test]
async fn event_streams_hold_at_most_half_the_places_and_end_at_shutdown() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    env.add_user("ann@acme.org");
    let key = env.create_key("ann@acme.org", "read");
    // Four places: two may hold event streams.
    let server = env.serve(&["--max-connections", "4"]).await;
    let http = reqwest::Client::new();
    let open = || {
        http.get(format!("{}/sse", server.base))
            .header("x-mcp-api-key", &key)
            .header("accept", "text/event-stream")
            .send()
    };
    let mut streams = Vec::new();
    for _ in 0..2 {
        let res = open().await.expect("GET /sse");
        assert_eq!(res.status(), 200);
        let mut events = Events::new(res);
        assert_eq!(events.next().await.0, "endpoint");
        streams.push(events);
    }
    let third = open().await.expect("GET /sse");
    assert_eq!(third.status(), 503, "a third stream of four places");
    assert_eq!(third.headers()["retry-after"], "5");
    let body: serde_json::Value = third.json().await.expect("json");
    assert_eq!(body["error"], "too_many_streams");
    // The other places still answer.
    let health = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    for _ in 0..3 {
        let res = health
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .expect("healthz");
        assert_eq!(res.status(), 200);
    }
    // A stream that ends gives its place back.
    drop(streams.pop());
    let mut again = None;
    for _ in 0..50 {
        let res = open().await.expect("GET /sse");
        if res.status() == 200 {
            again = Some(res);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut events = Events::new(again.expect("a place for a stream once one ended"));
    assert_eq!(events.next().await.0, "endpoint");
    streams.push(events);

    // Legacy SSE streams never end by themselves: a shutdown ends them instead of waiting.
    let stopping = Instant::now();
    let logs = server.stop().await;
    eprintln!(
        "stopped with 2 open event streams in {:?}",
        stopping.elapsed()
    );
    assert!(
        !logs.contains("answers still under way"),
        "the shutdown waited for the streams: {logs}"
    );
    env.finish().await;
}
