#![allow(clippy::unwrap_used)] // test code
//! Tracker calls through a company's forward proxy (pm-testkit's recording proxy), DNS scripted:
//! a call goes through it with the credentials and reaches the tracker (absolute form for http,
//! CONNECT for https); a tracker whose name resolves to a refused address is refused before the
//! proxy hears of it; a no-proxy host goes direct; the proxy's own address is checked at start
//! and at connect time; wrong credentials are said in words.
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use pm_core::{ProviderError, Secret};
use pm_providers::guard::Lookup;
use pm_providers::http::{Upstream, shared_client};
use pm_providers::{BreakerSettings, DnsLookup, HttpSettings, UpstreamPolicy, UpstreamProxy};
use pm_testkit::hostile::{Fault, Hostile};
use pm_testkit::proxy::{Asked, RecordingProxy};
use reqwest::header::HeaderValue;
use serde_json::Value;

const TOKEN: &str = "Bearer s3cret-token-never-shown";
const PUBLIC: &str = "93.184.216.34:0";

/// DNS under the test's control: these names, nothing else.
struct MapDns(HashMap<String, SocketAddr>);

impl Lookup for MapDns {
    fn lookup(&self, host: String) -> BoxFuture<'static, std::io::Result<Vec<SocketAddr>>> {
        let answer = self.0.get(&host).copied();
        Box::pin(async move {
            answer
                .map(|a| vec![a])
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such host"))
        })
    }
}

fn dns(entries: &[(&str, &str)]) -> DnsLookup {
    DnsLookup(Arc::new(MapDns(
        entries
            .iter()
            .map(|(n, a)| (n.to_string(), a.parse().unwrap()))
            .collect(),
    )))
}

fn settings(allow: &[&str], proxy: UpstreamProxy, lookup: DnsLookup) -> HttpSettings {
    let allow: Vec<String> = allow.iter().map(|s| s.to_string()).collect();
    HttpSettings {
        timeout: Duration::from_secs(5),
        max_attempts: 1,
        breaker: BreakerSettings {
            threshold: 0,
            ..BreakerSettings::default()
        },
        policy: UpstreamPolicy::new(true, &allow).unwrap(),
        proxy: Some(proxy),
        lookup,
        ..HttpSettings::default()
    }
}

fn proxy(url: &str, no_proxy: &[&str]) -> UpstreamProxy {
    let no: Vec<String> = no_proxy.iter().map(|s| s.to_string()).collect();
    UpstreamProxy::new(url, Some(("svc-pm".into(), Secret::new("hunter2"))), &no).unwrap()
}

fn upstream(base: &str, settings: &HttpSettings) -> Result<Upstream, ProviderError> {
    Upstream::new(
        shared_client(settings).unwrap(),
        base,
        "authorization",
        HeaderValue::from_static(TOKEN),
        "Jira",
        |_| None,
        settings.clone(),
    )
}

async fn get(up: &Upstream) -> Result<Value, ProviderError> {
    up.get::<Value>("rest/api/3/myself", &[]).await
}

fn seen(e: &ProviderError) -> String {
    let text = e.to_string();
    assert!(
        !text.contains("s3cret") && !text.contains("hunter2"),
        "{text}"
    );
    text
}

#[tokio::test]
async fn a_call_goes_through_the_proxy_with_its_credentials() {
    let tracker = Hostile::start(Fault::Ok(r#"{"ok":true}"#.into())).await;
    let px = RecordingProxy::start().await;
    px.require("svc-pm", "hunter2");
    px.route("jira.example.org", tracker.addr);
    let port = tracker.addr.port();
    // The proxy is at 127.0.0.1, so the operator allowed that address; the tracker's name
    // resolves (here) to a public address.
    // secure.example.org: the proxy finds nothing listening there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    px.route("secure.example.org", closed);
    let s = settings(
        &["127.0.0.1/32"],
        proxy(&px.url(), &[]),
        dns(&[("jira.example.org", PUBLIC), ("secure.example.org", PUBLIC)]),
    );
    s.check_proxy().await.unwrap();
    let up = upstream(&format!("http://jira.example.org:{port}"), &s).unwrap();
    assert_eq!(get(&up).await.unwrap()["ok"], true);
    assert_eq!(
        tracker.requests(),
        vec!["GET /rest/api/3/myself".to_string()]
    );
    assert_eq!(
        px.asked(),
        vec![Asked {
            method: "GET".into(),
            target: format!("jira.example.org:{port}"),
            authorized: true,
            user: Some("svc-pm".into()),
        }]
    );

    // An https tracker: tunnelled with CONNECT, credentials on the CONNECT. (The proxy cannot
    // reach this one, and says so; the caller gets words for it.)
    let up = upstream("https://secure.example.org", &s).unwrap();
    let e = get(&up).await.unwrap_err();
    let text = seen(&e);
    assert!(matches!(e, ProviderError::Network { .. }), "{text}");
    assert!(
        text.contains("the upstream proxy did not open a tunnel"),
        "{text}"
    );
    assert_eq!(
        px.asked()[1],
        Asked {
            method: "CONNECT".into(),
            target: "secure.example.org:443".into(),
            authorized: true,
            user: Some("svc-pm".into()),
        }
    );
    assert_eq!(tracker.hits(), 1);

    // Wrong credentials: the proxy answers 407, said in words, for both forms.
    px.require("svc-pm", "another");
    let up = upstream(&format!("http://jira.example.org:{port}"), &s).unwrap();
    let text = seen(&get(&up).await.unwrap_err());
    assert!(text.contains("refused pm-mcp's credentials"), "{text}");
    let up = upstream("https://secure.example.org", &s).unwrap();
    let text = seen(&get(&up).await.unwrap_err());
    assert!(text.contains("refused pm-mcp's credentials"), "{text}");
    assert_eq!(tracker.hits(), 1, "the proxy let a request through");
}

#[tokio::test]
async fn a_tracker_name_resolving_to_a_refused_address_never_reaches_the_proxy() {
    let tracker = Hostile::start(Fault::Ok(r#"{"ok":true}"#.into())).await;
    let px = RecordingProxy::start().await;
    px.route("metadata.example.org", tracker.addr);
    px.route("internal.example.org", tracker.addr);
    px.route("jira.corp", tracker.addr);
    let s = settings(
        &["127.0.0.1/32", "jira.corp"],
        proxy(&px.url(), &[]),
        dns(&[
            ("metadata.example.org", "169.254.169.254:0"),
            ("internal.example.org", "10.1.2.3:0"),
            ("loop.example.org", "127.0.0.2:0"),
        ]),
    );
    for (base, says) in [
        (
            "http://metadata.example.org",
            "metadata.example.org resolves to 169.254.169.254",
        ),
        (
            "https://metadata.example.org",
            "metadata.example.org resolves to 169.254.169.254",
        ),
        (
            "https://internal.example.org",
            "internal.example.org resolves to 10.1.2.3, a private address",
        ),
        ("https://loop.example.org", "resolves to 127.0.0.2"),
    ] {
        let up = upstream(base, &s).unwrap();
        let e = get(&up).await.unwrap_err();
        let text = seen(&e);
        assert!(matches!(e, ProviderError::Blocked { .. }), "{base}: {text}");
        assert!(text.contains(says), "{base}: {text}");
        assert!(text.contains("--allow-upstream"), "{base}: {text}");
    }
    // A name that does not resolve here is not handed to the proxy either.
    let up = upstream("https://nowhere.example.org", &s).unwrap();
    let e = get(&up).await.unwrap_err();
    let text = seen(&e);
    assert!(text.contains("does not resolve on pm-mcp's host"), "{text}");
    // Addresses written in the URL are refused when the client is built, as without a proxy.
    let e = upstream("http://169.254.169.254", &s).err().unwrap();
    assert!(matches!(e, ProviderError::Blocked { .. }), "{e}");
    assert_eq!(px.asked(), vec![], "the proxy was asked");
    assert_eq!(tracker.hits(), 0);

    // A host name the operator allowed is not resolved here (only the proxy may know it).
    let up = upstream(&format!("http://jira.corp:{}", tracker.addr.port()), &s).unwrap();
    assert_eq!(get(&up).await.unwrap()["ok"], true);
    assert_eq!(px.asked().len(), 1);
    assert_eq!(tracker.hits(), 1);
}

#[tokio::test]
async fn a_no_proxy_host_goes_direct() {
    let tracker = Hostile::start(Fault::Ok(r#"{"ok":true}"#.into())).await;
    let px = RecordingProxy::start().await;
    let port = tracker.addr.port();
    let s = settings(
        &["127.0.0.1/32"],
        proxy(&px.url(), &[".intranet.example", "127.0.0.1/32"]),
        dns(&[("jira.intranet.example", "127.0.0.1:0")]),
    );
    for base in [
        format!("http://jira.intranet.example:{port}"),
        format!("http://127.0.0.1:{port}"),
    ] {
        let up = upstream(&base, &s).unwrap();
        assert_eq!(get(&up).await.unwrap()["ok"], true, "{base}");
    }
    assert_eq!(tracker.hits(), 2);
    assert_eq!(px.asked(), vec![], "the proxy was asked");
}

#[tokio::test]
async fn the_proxy_itself_must_be_allowed_at_start_and_at_connect() {
    let tracker = Hostile::start(Fault::Ok(r#"{"ok":true}"#.into())).await;
    let px = RecordingProxy::start().await;
    px.route("jira.example.org", tracker.addr);
    let port = tracker.addr.port();
    let names = || dns(&[("jira.example.org", PUBLIC), ("proxy.corp", "127.0.0.1:0")]);
    // On a loopback address, by address or by a name that resolves there: refused at start.
    for url in [px.url(), format!("http://proxy.corp:{}", px.addr.port())] {
        let s = settings(&[], proxy(&url, &[]), names());
        let e = s.check_proxy().await.unwrap_err().to_string();
        assert!(
            e.contains("is at 127.0.0.1, a loopback address") && e.contains("--allow-upstream"),
            "{url}: {e}"
        );
    }
    // Used anyway (a name whose answer changed after the start): refused at connect time by
    // the guarded resolver, and the proxy hears nothing.
    let named = format!("http://proxy.corp:{}", px.addr.port());
    let s = settings(&[], proxy(&named, &[]), names());
    let up = upstream(&format!("http://jira.example.org:{port}"), &s).unwrap();
    let e = get(&up).await.unwrap_err();
    let text = seen(&e);
    assert!(matches!(e, ProviderError::Blocked { .. }), "{text}");
    assert!(text.contains("proxy.corp resolves to 127.0.0.1"), "{text}");
    assert_eq!(px.asked(), vec![]);

    // Allowed by name: checked fine at start, and used.
    let s = settings(&["proxy.corp"], proxy(&named, &[]), names());
    s.check_proxy().await.unwrap();
    let up = upstream(&format!("http://jira.example.org:{port}"), &s).unwrap();
    assert_eq!(get(&up).await.unwrap()["ok"], true);
    assert_eq!(px.asked().len(), 1);
    // A name that does not resolve: refused at start.
    let s = settings(&[], proxy("http://gone.corp:3128", &[]), names());
    let e = s.check_proxy().await.unwrap_err().to_string();
    assert!(e.contains("gone.corp does not resolve"), "{e}");
}
