//! The Host and Origin allow-lists (`--allowed-host`, `--allowed-origin`): the checks that
//! keep DNS rebinding and other sites' pages away from every endpoint, `/mcp` and the console
//! alike.

/// `host` is `name` or `name:port` (IPv6 in brackets). An allow-list entry without a port accepts
/// any port; `*` accepts every host.
pub fn host_allowed(allowed: &[String], host: &str) -> bool {
    let host = host.trim().to_ascii_lowercase();
    let name = split_host_port(&host).0;
    allowed.iter().any(|entry| {
        let entry = entry.trim().to_ascii_lowercase();
        entry == "*"
            || entry == host
            || (split_host_port(&entry).1.is_none() && split_host_port(&entry).0 == name)
    })
}

pub(crate) fn split_host_port(s: &str) -> (&str, Option<&str>) {
    if let Some(rest) = s.strip_prefix('[') {
        // [v6]:port
        return match rest.split_once(']') {
            // After `]` only nothing or `:` and digits may follow: `[::1].evil.com`,
            // `[::1]:8765.evil.com`, `[::1]@evil.com` name another host, and match no entry.
            Some((addr, "")) => (&s[..addr.len() + 2], None),
            Some((addr, tail))
                if tail.len() > 1
                    && tail.starts_with(':')
                    && tail[1..].bytes().all(|b| b.is_ascii_digit()) =>
            {
                (&s[..addr.len() + 2], Some(&tail[1..]))
            }
            _ => (s, None),
        };
    }
    match s.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            (name, Some(port))
        }
        _ => (s, None),
    }
}

/// `origin` is `scheme://host[:port]`. Entries: `*`, `null`, `scheme://host:*` (any port),
/// `scheme://host:port`, or `scheme://host` (the scheme's default port).
pub fn origin_allowed(allowed: &[String], origin: &str) -> bool {
    let origin = origin.trim().to_ascii_lowercase();
    let parse = |s: &str| -> Option<(String, String, String)> {
        let (scheme, rest) = s.split_once("://")?;
        let (host, port) = split_host_port(rest.trim_end_matches('/'));
        let port = port.map(str::to_string).unwrap_or_else(|| {
            match scheme {
                "https" => "443",
                "http" => "80",
                _ => "",
            }
            .to_string()
        });
        Some((scheme.to_string(), host.to_string(), port))
    };
    allowed.iter().any(|entry| {
        let entry = entry.trim().to_ascii_lowercase();
        if entry == "*" || entry == origin {
            return true;
        }
        if let Some(prefix) = entry.strip_suffix(":*") {
            return match (parse(prefix), parse(&origin)) {
                (Some((s1, h1, _)), Some((s2, h2, _))) => s1 == s2 && h1 == h2,
                _ => false,
            };
        }
        matches!((parse(&entry), parse(&origin)), (Some(a), Some(b)) if a == b)
    })
}

/// The host a request names: its `Host` header, else (an absolute-form request line) the
/// URI's authority.
pub fn requested_host(headers: &axum::http::HeaderMap, uri: &axum::http::Uri) -> Option<String> {
    headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| uri.authority().map(|a| a.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn hosts_match_by_name_or_exact_port() {
        let allowed = list(&["localhost", "127.0.0.1", "[::1]", "mcp.acme.org:443"]);
        assert!(host_allowed(&allowed, "localhost:8765"));
        assert!(host_allowed(&allowed, "LOCALHOST"));
        assert!(host_allowed(&allowed, "127.0.0.1:1"));
        assert!(host_allowed(&allowed, "[::1]:8765"));
        assert!(host_allowed(&allowed, "mcp.acme.org:443"));
        assert!(!host_allowed(&allowed, "mcp.acme.org:8443"));
        assert!(!host_allowed(&allowed, "evil.example:8765"));
        assert!(!host_allowed(&allowed, "localhost.evil.example"));
        assert!(host_allowed(&list(&["*"]), "anything:1"));
        // Nothing but a port may follow an IPv6 address's `]`.
        for evil in [
            "[::1].evil.com",
            "[::1]:8765.evil.com",
            "[::1]evil",
            "[::1]@evil.com",
            "[::1]:",
            "[::1]:80:80",
        ] {
            assert!(!host_allowed(&allowed, evil), "{evil}");
        }
    }

    #[test]
    fn origins_match_scheme_host_and_port() {
        let allowed = list(&["http://localhost:*", "https://app.acme.org"]);
        assert!(origin_allowed(&allowed, "http://localhost:5173"));
        assert!(origin_allowed(&allowed, "http://localhost"));
        assert!(!origin_allowed(&allowed, "https://localhost:5173"));
        assert!(origin_allowed(&allowed, "https://app.acme.org"));
        assert!(origin_allowed(&allowed, "https://app.acme.org:443"));
        assert!(!origin_allowed(&allowed, "https://app.acme.org:8443"));
        assert!(!origin_allowed(&allowed, "https://evil.example"));
        assert!(!origin_allowed(&allowed, "null"));
        assert!(!origin_allowed(
            &allowed,
            "http://localhost.evil.example:80"
        ));
        assert!(origin_allowed(&list(&["null"]), "null"));
        let v6 = list(&["http://[::1]:*"]);
        assert!(origin_allowed(&v6, "http://[::1]:8765"));
        assert!(origin_allowed(&v6, "http://[::1]"));
        for evil in [
            "http://[::1]evil.com",
            "http://[::1].evil.com:80",
            "http://[::1]@evil.com",
        ] {
            assert!(!origin_allowed(&v6, evil), "{evil}");
        }
    }
}
