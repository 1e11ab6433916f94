//! The console's settings and the sign-in limits: plain values that the shared state holds,
//! so they sit below it (nothing here reaches up into the state or the pages).
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::http::HeaderMap;
use pm_core::Secret;

/// How long a console session lasts (a working day); signing out or disabling the user ends it
/// sooner.
pub const SESSION_HOURS: i64 = 12;
/// How long a one-time sign-in link is valid.
pub const LINK_MINUTES: i64 = 15;

/// The console's settings (`pm-mcp serve`; `--no-console` leaves it out).
#[derive(Debug, Clone, Default)]
pub struct ConsoleConfig {
    /// The path a reverse proxy serves pm-mcp under (e.g. `/pm`; empty at the root): the
    /// console's links carry it, and it is served both with and without it.
    pub prefix: String,
    /// The MCP URL clients use (`--public-url`), shown in the configs of a new key and, with its
    /// origin, the address the identity provider sends users back to; `None`: from the request.
    pub public_url: Option<url::Url>,
    /// "Sign in with …" the company's identity provider.
    pub oidc: Option<OidcClient>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (for the sign-in limits); a
    /// request from anywhere else counts as from its own address.
    pub trusted_proxies: Vec<pm_providers::guard::Cidr>,
}

/// pm-mcp as a confidential OpenID Connect client of the company's identity provider.
#[derive(Clone)]
pub struct OidcClient {
    /// One of the trusted `--oauth-issuer`s.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// The name on the button ("Sign in with Acme SSO").
    pub label: String,
}

impl std::fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcClient")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl ConsoleConfig {
    /// Refuses a prefix a proxy could not mean (`pm`, `/pm/`, `/a b`).
    pub fn check_prefix(prefix: &str) -> Result<String, String> {
        let p = prefix.trim();
        if p.is_empty() || p == "/" {
            return Ok(String::new());
        }
        let p = p.trim_end_matches('/');
        if !p.starts_with('/')
            || p.split('/').skip(1).any(|seg| {
                seg.is_empty()
                    || !seg
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            })
        {
            return Err(format!(
                "the console prefix {prefix:?} must be a path like /pm (letters, digits, -, _, .)"
            ));
        }
        Ok(p.to_string())
    }

    /// The public URL's origin (`https://pm.acme.org`), when one is configured.
    pub(super) fn public_origin(&self) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|u| u.origin().ascii_serialization())
    }

    /// Whether cookies are marked `Secure`: when users reach pm-mcp over https.
    pub(super) fn secure(&self) -> bool {
        self.public_url
            .as_ref()
            .is_some_and(|u| u.scheme() == "https")
    }
}

// ---- rate limits ----

/// Attempts per client address in a window (sign-in links and identity-provider sign-ins), in
/// this process: a guessing run is slowed to a few tries a minute.
#[derive(Default)]
pub struct Attempts {
    seen: Mutex<HashMap<std::net::IpAddr, (Instant, u32)>>,
}

/// Attempts allowed per address per minute.
pub(super) const ATTEMPTS_PER_MINUTE: u32 = 10;

impl Attempts {
    /// Counts one attempt; `false` when the address is over its allowance.
    pub fn allow(&self, from: Option<std::net::IpAddr>) -> bool {
        let Some(ip) = from else { return true };
        let Ok(mut seen) = self.seen.lock() else {
            return true;
        };
        let now = Instant::now();
        if seen.len() > 50_000 {
            seen.retain(|_, (at, _)| now.duration_since(*at).as_secs() < 60);
        }
        let entry = seen.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0).as_secs() >= 60 {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= ATTEMPTS_PER_MINUTE
    }
}

/// The client's address: the connection's, or, from a trusted reverse proxy, the last address
/// in `X-Forwarded-For` that is not one of the trusted proxies.
pub(super) fn client_ip(
    config: &ConsoleConfig,
    extensions: &axum::http::Extensions,
    headers: &HeaderMap,
) -> Option<std::net::IpAddr> {
    let peer = extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())?;
    let trusted = |ip: std::net::IpAddr| config.trusted_proxies.iter().any(|c| c.contains(ip));
    if !trusted(peer) {
        return Some(peer);
    }
    let forwarded: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted(*ip))
            .unwrap_or(peer),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn prefixes_are_paths() {
        assert_eq!(ConsoleConfig::check_prefix("").as_deref(), Ok(""));
        assert_eq!(ConsoleConfig::check_prefix("/").as_deref(), Ok(""));
        assert_eq!(ConsoleConfig::check_prefix("/pm/").as_deref(), Ok("/pm"));
        assert_eq!(
            ConsoleConfig::check_prefix("/tools/pm-mcp").as_deref(),
            Ok("/tools/pm-mcp")
        );
        for bad in ["pm", "/a b", "//x", "/x/../y?", "/\"x"] {
            assert!(ConsoleConfig::check_prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_client_is_read_from_x_forwarded_for_only_behind_a_trusted_proxy() {
        let config = ConsoleConfig {
            trusted_proxies: vec![pm_providers::guard::Cidr::parse("10.0.0.0/8").expect("cidr")],
            ..Default::default()
        };
        let mut ext = axum::http::Extensions::new();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, 10.0.0.9"),
        );
        ext.insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [10, 0, 0, 2],
            443,
        ))));
        assert_eq!(
            client_ip(&config, &ext, &headers),
            Some(std::net::IpAddr::from([1, 2, 3, 4]))
        );
        // From anywhere else the header is the client's own word, and ignored.
        ext.insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [192, 0, 2, 7],
            443,
        ))));
        assert_eq!(
            client_ip(&config, &ext, &headers),
            Some(std::net::IpAddr::from([192, 0, 2, 7]))
        );
    }

    #[test]
    fn an_address_is_slowed_after_its_allowance() {
        let a = Attempts::default();
        let ip = Some(std::net::IpAddr::from([10, 0, 0, 1]));
        for _ in 0..ATTEMPTS_PER_MINUTE {
            assert!(a.allow(ip));
        }
        assert!(!a.allow(ip));
        assert!(a.allow(Some(std::net::IpAddr::from([10, 0, 0, 2]))));
    }
}
