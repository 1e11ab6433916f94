//! The Host and Origin checks that keep browsers' DNS rebinding and cross-site requests out: an
//! accepted Host or Origin names an allowed host (as a URL parser reads it), and after an IPv6
//! address's `]` nothing but `:` and digits is ever accepted.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pm_mcp_fuzz::text;
use pm_server::fuzzing::{host_allowed, origin_allowed, split_host_port};

const HOSTS: [&str; 4] = ["localhost", "127.0.0.1", "[::1]", "mcp.acme.org:443"];
const ORIGINS: [&str; 4] = [
    "http://localhost:*",
    "http://[::1]:*",
    "https://app.acme.org",
    "http://127.0.0.1:8765",
];

/// After the first `]`, nothing or `:` and one or more digits.
fn bracket_tail_ok(s: &str) -> bool {
    match s.split_once(']') {
        None => true,
        Some((_, tail)) => {
            tail.is_empty()
                || (tail.len() > 1
                    && tail.starts_with(':')
                    && tail[1..].bytes().all(|b| b.is_ascii_digit()))
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let s = text(data);
    let (name, port) = split_host_port(&s);
    assert!(s.starts_with(name), "{name:?} is not the start of {s:?}");
    if let Some(p) = port {
        assert!(p.bytes().all(|b| b.is_ascii_digit()), "port {p:?}");
    }
    if s.starts_with('[') && port.is_some() {
        assert!(bracket_tail_ok(&s), "{s:?} split as ({name:?}, {port:?})");
    }

    let hosts: Vec<String> = HOSTS.iter().map(|h| h.to_string()).collect();
    if host_allowed(&hosts, &s) {
        let host = s.trim().to_ascii_lowercase();
        assert!(bracket_tail_ok(&host), "Host {s:?} accepted");
        if let Ok(url) = url::Url::parse(&format!("http://{host}/")) {
            let parsed = url.host_str().unwrap_or("");
            assert!(
                HOSTS.iter().any(|h| split_host_port(h).0 == parsed),
                "Host {s:?} accepted, but it names {parsed:?}"
            );
        }
    }

    let origins: Vec<String> = ORIGINS.iter().map(|o| o.to_string()).collect();
    if origin_allowed(&origins, &s) {
        let origin = s.trim().to_ascii_lowercase();
        // An entry sent back as it is written (`http://[::1]:*`) matches itself; nothing else
        // does unless it is a URL naming an allowed host.
        if !ORIGINS.contains(&origin.as_str()) {
            let after_scheme = origin.split_once("://").map_or("", |(_, r)| r);
            assert!(
                bracket_tail_ok(after_scheme.trim_end_matches('/')),
                "Origin {s:?} accepted"
            );
            // The port is checked as digits above (an entry with `:*` takes any, even past
            // 65535, which no browser sends); the rest must be a URL naming an allowed host.
            let scheme = origin.split_once("://").map_or("", |(s, _)| s);
            let (name, _) = split_host_port(after_scheme.trim_end_matches('/'));
            let url = url::Url::parse(&format!("{scheme}://{name}/"))
                .unwrap_or_else(|e| panic!("Origin {s:?} accepted but is no URL ({e})"));
            let host = url.host_str().unwrap_or("");
            assert!(
                ORIGINS.iter().any(|o| o.contains(&format!("://{host}"))),
                "Origin {s:?} accepted, but it names {host:?}"
            );
        }
    }
});
