#![allow(clippy::unwrap_used)] // test code
//! The upstream client against a hostile tracker (pm-testkit's `hostile`): for each fault, what the
//! caller sees, how many attempts were made, that writes are never retried, that a huge body is
//! neither buffered nor read to the end, that timeouts hold, that a dead tracker trips the circuit
//! breaker without touching other connections, and that the SSRF guard refuses what it must at
//! connect time. Times are only ever checked as generous bounds.
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use pm_core::ProviderError;
use pm_providers::guard::Lookup;
use pm_providers::http::{Upstream, shared_client};
use pm_providers::{BreakerSettings, DnsLookup, HttpSettings, UpstreamPolicy};
use pm_testkit::hostile::{Fault, Hostile};
use reqwest::header::HeaderValue;
use serde_json::Value;

const TOKEN: &str = "Bearer s3cret-token-never-shown";

fn loopback() -> UpstreamPolicy {
    UpstreamPolicy::new(true, &["127.0.0.1/32".into()]).unwrap()
}

fn settings() -> HttpSettings {
    HttpSettings {
        timeout: Duration::from_millis(400),
        max_attempts: 3,
        max_concurrency_per_connection: 4,
        max_retry_wait: Duration::from_secs(2),
        // Off here; the breaker has its own tests below.
        breaker: BreakerSettings {
            threshold: 0,
            ..BreakerSettings::default()
        },
        policy: loopback(),
        ..HttpSettings::default()
    }
}

fn upstream(url: &str, settings: HttpSettings) -> Upstream {
    let client = shared_client(&settings).unwrap();
    upstream_on(client, url, settings)
}

fn upstream_on(client: reqwest::Client, url: &str, settings: HttpSettings) -> Upstream {
    Upstream::new(
        client,
        url,
        "authorization",
        HeaderValue::from_static(TOKEN),
        "Jira",
        |_| None,
        settings,
    )
    .unwrap()
}

async fn get(up: &Upstream) -> Result<Value, ProviderError> {
    up.get::<Value>("rest/api/3/issue/PROJ-1", &[]).await
}

/// What the caller saw, checked for secrets on the way.
fn seen(e: &ProviderError) -> String {
    let text = e.to_string();
    assert!(!text.contains("s3cret"), "the token leaked: {text}");
    text
}

async fn writes_are_sent_once(fault: Fault) -> Vec<ProviderError> {
    let mut errors = Vec::new();
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let server = Hostile::start(fault.clone()).await;
        let up = upstream(&server.url(), settings());
        let body = serde_json::json!({"fields": {"summary": "x"}});
        let r = match method {
            "POST" => up.post::<Value, _>("rest/api/3/issue", &body).await,
            "PUT" => up.put::<Value, _>("rest/api/3/issue/PROJ-1", &body).await,
            "PATCH" => up.patch::<Value, _>("rest/api/3/issue/PROJ-1", &body).await,
            _ => up.delete::<Value>("rest/api/3/issue/PROJ-1").await,
        };
        let e = r.expect_err(method);
        seen(&e);
        assert_eq!(server.hits(), 1, "{method} on {fault:?} was retried");
        assert!(server.requests()[0].starts_with(method));
        errors.push(e);
    }
    errors
}

#[tokio::test]
async fn a_hanging_tracker_times_out_every_attempt() {
    let server = Hostile::start(Fault::Hang).await;
    let up = upstream(&server.url(), settings());
    let started = Instant::now();
    let e = get(&up).await.unwrap_err();
    assert!(matches!(e, ProviderError::Timeout { .. }), "{}", seen(&e));
    assert_eq!(server.hits(), 3, "a GET is retried");
    assert!(started.elapsed() < Duration::from_secs(8));
    // The client let go of every socket it gave up on.
    let deadline = Instant::now() + Duration::from_secs(3);
    while server.open_connections() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        server.open_connections(),
        0,
        "sockets held after the timeout"
    );
    for e in writes_are_sent_once(Fault::Hang).await {
        assert!(matches!(e, ProviderError::Timeout { .. }), "{e}");
    }
}

#[tokio::test]
async fn a_reset_connection_is_a_network_error_retried_only_for_reads() {
    for fault in [Fault::Reset, Fault::ResetMidBody] {
        let server = Hostile::start(fault.clone()).await;
        let up = upstream(&server.url(), settings());
        let e = get(&up).await.unwrap_err();
        assert!(
            matches!(e, ProviderError::Network { .. }),
            "{fault:?}: {}",
            seen(&e)
        );
        assert_eq!(server.hits(), 3, "{fault:?}");
        for e in writes_are_sent_once(fault.clone()).await {
            assert!(matches!(e, ProviderError::Network { .. }), "{e}");
        }
    }
}

#[tokio::test]
async fn rate_limits_are_waited_out_as_asked_then_passed_on() {
    let server = Hostile::start(Fault::Status {
        code: 429,
        retry_after: Some(1),
    })
    .await;
    let up = upstream(&server.url(), settings());
    let started = Instant::now();
    let e = get(&up).await.unwrap_err();
    let waited = started.elapsed();
    match &e {
        ProviderError::RateLimited { retry_after, .. } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(1)))
        }
        other => panic!("{other}"),
    }
    assert_eq!(server.hits(), 3);
    // Two waits of the second the tracker asked for (a lower bound: Retry-After was honoured).
    assert!(waited >= Duration::from_secs(2), "{waited:?}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    for e in writes_are_sent_once(Fault::Status {
        code: 429,
        retry_after: Some(1),
    })
    .await
    {
        assert!(matches!(e, ProviderError::RateLimited { .. }), "{e}");
    }
}

/// A search is a POST that only reads: marked so (`post_read`), it is retried on 429 and 503 as a
/// GET is, honouring `Retry-After`; a plain `post` (a write) is still sent once (above).
#[tokio::test]
async fn read_only_posts_are_retried_like_reads() {
    let body = serde_json::json!({"jql": "project = EX", "maxResults": 1});
    for (code, retry_after) in [(429, Some(1)), (503, None)] {
        let server = Hostile::start(Fault::Status { code, retry_after }).await;
        let up = upstream(&server.url(), settings());
        let started = Instant::now();
        let e = up
            .post_read::<Value, _>("rest/api/3/search/jql", &body)
            .await
            .unwrap_err();
        seen(&e);
        assert_eq!(server.hits(), 3, "{code}: {e}");
        assert!(
            server.requests().iter().all(|r| r.starts_with("POST ")),
            "{:?}",
            server.requests()
        );
        if retry_after.is_some() {
            assert!(started.elapsed() >= Duration::from_secs(2), "{code}");
        }
        let server = Hostile::start(Fault::Status { code, retry_after }).await;
        let up = upstream(&server.url(), settings());
        up.post::<Value, _>("rest/api/3/search/jql", &body)
            .await
            .unwrap_err();
        assert_eq!(server.hits(), 1, "{code}: a write is sent once");
    }
}

#[tokio::test]
async fn a_long_retry_after_is_passed_on_at_once() {
    let server = Hostile::start(Fault::Status {
        code: 429,
        retry_after: Some(120),
    })
    .await;
    let up = upstream(&server.url(), settings());
    let started = Instant::now();
    let e = get(&up).await.unwrap_err();
    assert!(seen(&e).contains("retry in 120 s"), "{e}");
    assert_eq!(server.hits(), 1, "no point retrying inside the wait");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn bad_gateways_and_unavailable_trackers_are_retried_for_reads_only() {
    for code in [502, 503] {
        let fault = Fault::Status {
            code,
            retry_after: None,
        };
        let server = Hostile::start(fault.clone()).await;
        let up = upstream(&server.url(), settings());
        let e = get(&up).await.unwrap_err();
        assert!(
            matches!(e, ProviderError::Upstream { status, .. } if status == code),
            "{}",
            seen(&e)
        );
        assert_eq!(server.hits(), 3, "{code}");
        for e in writes_are_sent_once(fault).await {
            assert!(matches!(e, ProviderError::Upstream { .. }), "{e}");
        }
    }
}

#[tokio::test]
async fn garbage_and_truncated_json_are_decode_errors_not_retried() {
    for fault in [Fault::Garbage, Fault::TruncatedJson] {
        let server = Hostile::start(fault.clone()).await;
        let up = upstream(&server.url(), settings());
        let e = get(&up).await.unwrap_err();
        assert!(
            matches!(e, ProviderError::Decode { .. }),
            "{fault:?}: {}",
            seen(&e)
        );
        assert!(e.to_string().contains("cannot read"), "{e}");
        assert_eq!(server.hits(), 1, "{fault:?}");
    }
}

#[tokio::test]
async fn a_50_mb_body_is_refused_without_being_read_whole() {
    const FIFTY_MB: u64 = 50 * 1000 * 1000;
    // Announced in Content-Length: refused before reading, with the default 16 MiB cap.
    let server = Hostile::start(Fault::Huge {
        bytes: FIFTY_MB,
        chunked: false,
    })
    .await;
    let up = upstream(
        &server.url(),
        HttpSettings {
            timeout: Duration::from_secs(10),
            ..settings()
        },
    );
    let started = Instant::now();
    let e = get(&up).await.unwrap_err();
    assert!(
        seen(&e).contains("larger than pm-mcp's limit of 16 MiB"),
        "{e}"
    );
    assert_eq!(server.hits(), 1);
    assert!(started.elapsed() < Duration::from_secs(8));
    // Chunked, no length: read up to a 1 MiB cap, then dropped.
    let server = Hostile::start(Fault::Huge {
        bytes: FIFTY_MB,
        chunked: true,
    })
    .await;
    let up = upstream(
        &server.url(),
        HttpSettings {
            timeout: Duration::from_secs(10),
            max_body_bytes: 1024 * 1024,
            ..settings()
        },
    );
    let e = get(&up).await.unwrap_err();
    assert!(seen(&e).contains("limit of 1 MiB"), "{e}");
    assert_eq!(server.hits(), 1);
    // Give the server a moment to notice the closed socket, then check it could not push the
    // whole body: the client stopped reading near the cap (plus socket buffers).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = server.body_bytes_sent();
    assert!(sent < FIFTY_MB / 2, "the client read {sent} bytes");
}

#[tokio::test]
async fn a_slow_drip_is_cut_by_the_timeout() {
    let server = Hostile::start(Fault::SlowDrip {
        every: Duration::from_millis(150),
    })
    .await;
    let up = upstream(&server.url(), settings());
    let started = Instant::now();
    let e = get(&up).await.unwrap_err();
    assert!(matches!(e, ProviderError::Timeout { .. }), "{}", seen(&e));
    assert_eq!(server.hits(), 3);
    // 24 bytes at 150 ms would take 3.6 s per attempt; three 400 ms attempts plus backoff end
    // well before that.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn redirects_are_not_followed_and_credentials_stay_home() {
    let elsewhere = Hostile::start(Fault::Ok("{}".into())).await;
    let server = Hostile::start(Fault::Redirect(format!("{}/steal", elsewhere.url()))).await;
    let up = upstream(&server.url(), settings());
    let e = get(&up).await.unwrap_err();
    assert!(seen(&e).contains("does not follow redirects"), "{e}");
    assert_eq!(server.hits(), 1);
    assert_eq!(elsewhere.hits(), 0);
}

fn breaker_settings() -> HttpSettings {
    HttpSettings {
        timeout: Duration::from_millis(300),
        max_attempts: 1,
        breaker: BreakerSettings {
            threshold: 3,
            window: Duration::from_secs(60),
            cooldown: Duration::from_millis(800),
        },
        ..settings()
    }
}

#[tokio::test]
async fn a_dead_tracker_trips_the_breaker_and_fails_fast_without_touching_others() {
    let dead = Hostile::start(Fault::Hang).await;
    let healthy = Hostile::start(Fault::Ok(r#"{"id":"1"}"#.into())).await;
    // Both connections share the process-wide pool, as in the server.
    let client = shared_client(&breaker_settings()).unwrap();
    let a = upstream_on(client.clone(), &dead.url(), breaker_settings());
    let b = upstream_on(client, &healthy.url(), breaker_settings());

    // While connection A hangs with every slot taken, B answers.
    let stuck: Vec<_> = (0..4)
        .map(|_| {
            let a = a.clone();
            tokio::spawn(async move { get(&a).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let t = Instant::now();
    assert_eq!(get(&b).await.unwrap()["id"], "1");
    assert!(t.elapsed() < Duration::from_millis(300), "B waited on A");
    let mut timeouts = 0;
    for s in stuck {
        match s.await.unwrap() {
            Err(ProviderError::Timeout { .. }) => timeouts += 1,
            // Calls that queued behind the slots may already see the open circuit.
            Err(ProviderError::Unavailable { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(timeouts >= 3, "{timeouts}");
    let hits_when_open = dead.hits();

    // Open: calls fail in far less than the timeout, and the tracker is not called.
    for _ in 0..10 {
        let t = Instant::now();
        let e = get(&a).await.unwrap_err();
        assert!(
            t.elapsed() < Duration::from_millis(100),
            "{:?}",
            t.elapsed()
        );
        let text = seen(&e);
        assert!(matches!(e, ProviderError::Unavailable { .. }), "{text}");
        assert!(text.contains("times in a row"), "{text}");
    }
    assert_eq!(dead.hits(), hits_when_open);
    assert_eq!(get(&b).await.unwrap()["id"], "1", "B is unaffected");

    // The tracker comes back: after the cool-down one probe goes through and closes the circuit.
    dead.set(Fault::Ok(r#"{"id":"2"}"#.into()));
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(get(&a).await.unwrap()["id"], "2");
    assert_eq!(get(&a).await.unwrap()["id"], "2");
    assert_eq!(dead.hits(), hits_when_open + 2);
}

#[tokio::test]
async fn client_errors_do_not_trip_the_breaker() {
    let server = Hostile::start(Fault::Status {
        code: 404,
        retry_after: None,
    })
    .await;
    let up = upstream(&server.url(), breaker_settings());
    for _ in 0..6 {
        let e = get(&up).await.unwrap_err();
        assert!(matches!(e, ProviderError::NotFound { .. }), "{e}");
    }
    assert_eq!(server.hits(), 6);
}

/// DNS under the test's control.
struct FixedDns(Vec<std::net::SocketAddr>);

impl Lookup for FixedDns {
    fn lookup(
        &self,
        _host: String,
    ) -> BoxFuture<'static, std::io::Result<Vec<std::net::SocketAddr>>> {
        let a = self.0.clone();
        Box::pin(async move { Ok(a) })
    }
}

#[tokio::test]
async fn the_guard_refuses_loopback_unless_allow_listed() {
    let server = Hostile::start(Fault::Ok(r#"{"ok":true}"#.into())).await;
    let port = server.addr.port();
    let strict = HttpSettings {
        policy: UpstreamPolicy::new(true, &[]).unwrap(),
        ..settings()
    };
    let client = shared_client(&strict).unwrap();
    // Literal addresses and localhost names: refused when the client is built.
    for url in [
        format!("http://127.0.0.1:{port}"),
        format!("http://2130706433:{port}"),
        format!("http://0x7f.1:{port}"),
        format!("http://[::ffff:127.0.0.1]:{port}"),
        format!("http://localhost:{port}"),
        format!("http://localhost.:{port}"),
    ] {
        let e = Upstream::new(
            client.clone(),
            &url,
            "authorization",
            HeaderValue::from_static(TOKEN),
            "Jira",
            |_| None,
            strict.clone(),
        )
        .err()
        .unwrap_or_else(|| panic!("{url} was accepted"));
        assert!(matches!(e, ProviderError::Blocked { .. }), "{url}: {e}");
    }
    // A name whose DNS answer is loopback: refused at connect time, not retried.
    let dns = DnsLookup(Arc::new(FixedDns(vec!["127.0.0.1:0".parse().unwrap()])));
    let strict_named = HttpSettings {
        lookup: dns.clone(),
        ..strict.clone()
    };
    let guarded = shared_client(&strict_named).unwrap();
    let up = upstream_on(
        guarded,
        &format!("http://tracker.example.org:{port}"),
        strict_named,
    );
    let e = get(&up).await.unwrap_err();
    let text = seen(&e);
    assert!(matches!(e, ProviderError::Blocked { .. }), "{text}");
    assert!(
        text.contains("tracker.example.org resolves to 127.0.0.1"),
        "{text}"
    );
    assert_eq!(server.hits(), 0, "the server was reached");

    // The same live server, allow-listed: reached, by address and by name.
    let allowed = HttpSettings {
        policy: UpstreamPolicy::new(true, &["127.0.0.1/32".into()]).unwrap(),
        ..settings()
    };
    let up = upstream(&format!("http://127.0.0.1:{port}"), allowed.clone());
    assert_eq!(get(&up).await.unwrap()["ok"], true);
    let allowed = HttpSettings {
        lookup: dns,
        ..allowed
    };
    let named = shared_client(&allowed).unwrap();
    let up = upstream_on(
        named,
        &format!("http://tracker.example.org:{port}"),
        allowed,
    );
    assert_eq!(get(&up).await.unwrap()["ok"], true);
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn plain_http_needs_the_operator() {
    let https_only = HttpSettings {
        policy: UpstreamPolicy::new(false, &["127.0.0.1/32".into()]).unwrap(),
        ..settings()
    };
    let e = Upstream::new(
        shared_client(&https_only).unwrap(),
        "http://127.0.0.1:9",
        "authorization",
        HeaderValue::from_static(TOKEN),
        "Jira",
        |_| None,
        https_only,
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("must be https"), "{e}");
}

/// Issue 18: each way a tracker can fail, and the words the caller gets. No answer echoes a bare
/// reason phrase ("Not Found"), the HTTP client's own text ("error sending request"), a parser's
/// position ("at line 1 column"), the URL's query or the token.
#[tokio::test]
async fn every_tracker_failure_has_words_a_model_can_act_on() {
    let quick = || HttpSettings {
        max_attempts: 1,
        ..settings()
    };
    let status = |code| Fault::Status {
        code,
        retry_after: Some(30),
    };
    let table: Vec<(&str, Fault, &str, &[&str])> = vec![
        (
            "401",
            status(401),
            "auth",
            &[
                "refused the credentials",
                "token was not accepted",
                "configure_pm_provider",
            ],
        ),
        ("403", status(403), "forbidden", &["lacks the permission"]),
        (
            "404",
            status(404),
            "not_found",
            &["has nothing at /rest/api/3/issue/PROJ-1"],
        ),
        ("409", status(409), "conflict", &["changed meanwhile"]),
        ("422", status(422), "invalid", &["refused the request"]),
        (
            "429",
            status(429),
            "rate_limited",
            &["rate-limiting", "retry in 30 s"],
        ),
        (
            "500",
            status(500),
            "upstream",
            &["internal error (HTTP 500)", "try again later"],
        ),
        (
            "503",
            status(503),
            "upstream",
            &["internal error (HTTP 503)"],
        ),
        (
            "reset",
            Fault::Reset,
            "network",
            &["closed the connection before answering"],
        ),
        (
            "timeout",
            Fault::Hang,
            "timeout",
            &["did not answer in time"],
        ),
        ("html", Fault::Garbage, "decode", &["HTML page", "base URL"]),
        (
            "cut json",
            Fault::TruncatedJson,
            "decode",
            &["not valid JSON"],
        ),
    ];
    let banned = [
        "Not Found was not found",
        "error sending request",
        "at line 1",
        "client error",
        "hyper",
        "s3cret",
    ];
    for (case, fault, kind, words) in table {
        let server = Hostile::start(fault).await;
        let e = get(&upstream(&server.url(), quick())).await.unwrap_err();
        let text = e.to_string();
        assert_eq!(e.kind(), kind, "{case}: {text}");
        for w in words {
            assert!(text.contains(w), "{case}: {w:?} missing from {text:?}");
        }
        for b in banned {
            assert!(!text.contains(b), "{case}: {b:?} in {text:?}");
        }
    }
    // Nothing listens: refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = get(&upstream(&format!("http://127.0.0.1:{port}/"), quick()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "network", "{e}");
    assert!(
        e.to_string().contains("127.0.0.1 refused the connection"),
        "{e}"
    );
    // TLS to a server that speaks plain HTTP: the handshake fails, said as such.
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tls_url = format!("https://{}/", plain.local_addr().unwrap());
    let answering = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut socket, _)) = plain.accept().await {
            let _ = socket
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    let e = get(&upstream(&tls_url, quick())).await.unwrap_err();
    answering.abort();
    assert_eq!(e.kind(), "network", "{e}");
    assert!(
        e.to_string()
            .contains("TLS handshake with 127.0.0.1 failed"),
        "{e}"
    );
    for b in banned {
        assert!(!e.to_string().contains(b), "tls: {b:?} in {e}");
    }
}
