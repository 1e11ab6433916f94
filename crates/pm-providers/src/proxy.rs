//! A company's forward proxy for tracker calls: where it is, the credentials pm-mcp gives it, and
//! the hosts reached directly instead (the no-proxy list). pm-mcp speaks plain HTTP to the proxy:
//! https trackers through a `CONNECT` tunnel, http trackers in absolute form.
//!
//! The SSRF guard (`guard`) still holds with a proxy. The proxy resolves a tracker's name itself,
//! so before a request goes through it the tracker's name is resolved and checked here
//! ([`crate::http::Upstream`] does it before each call); the proxy's own address is checked at
//! start ([`crate::HttpSettings::check_proxy`]) and at every connection to it (its name goes
//! through the guarded resolver like any other).
use std::fmt;

use base64::Engine as _;
use pm_core::Secret;
use reqwest::header::HeaderValue;
use url::{Host, Url};

use crate::guard::{Cidr, GuardError, Refusal};

/// The upstream proxy of a process. `Debug` never shows the password.
#[derive(Clone)]
pub struct UpstreamProxy {
    url: Url,
    user: Option<String>,
    /// `Proxy-Authorization: Basic …`, marked sensitive.
    auth: Option<HeaderValue>,
    direct: Vec<Direct>,
}

/// One entry of the no-proxy list.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Direct {
    /// `*`: every host.
    All,
    /// A host and every name under it (`acme.corp` matches `jira.acme.corp`).
    Domain(String),
    /// Hosts written as IP addresses in this block.
    Net(Cidr),
}

impl UpstreamProxy {
    /// `url`: `http://host[:port]`, without credentials (they come in `credentials`, from the
    /// environment). `no_proxy`: host names or domains (`acme.corp`, `.acme.corp`), IP
    /// addresses or CIDR blocks, or `*`, reached directly.
    pub fn new(
        url: &str,
        credentials: Option<(String, Secret)>,
        no_proxy: &[String],
    ) -> Result<Self, String> {
        // The text is never repeated in an error: it may hold a password.
        let url = Url::parse(url.trim()).map_err(|e| {
            format!(
                "the upstream proxy is not a URL ({e}); expected e.g. http://proxy.acme.corp:3128"
            )
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err("the upstream proxy URL holds a user name or password; give them in PM_MCP_UPSTREAM_PROXY_USER and PM_MCP_UPSTREAM_PROXY_PASSWORD instead (a URL shows in the process list and in config files)".into());
        }
        if url.scheme() != "http" {
            return Err(format!(
                "the upstream proxy must be an http:// URL, not {}:// (pm-mcp speaks plain HTTP to the proxy and tunnels https trackers through it with CONNECT), e.g. http://proxy.acme.corp:3128",
                url.scheme()
            ));
        }
        if url.host().is_none()
            || !matches!(url.path(), "" | "/")
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(format!(
                "the upstream proxy must be http://host[:port] with nothing after it, not {url}"
            ));
        }
        let (user, auth) = match credentials {
            None => (None, None),
            Some((user, password)) => {
                if user.is_empty() || user.contains(':') {
                    return Err(
                        "PM_MCP_UPSTREAM_PROXY_USER must be a non-empty user name without ':'"
                            .into(),
                    );
                }
                let basic = base64::engine::general_purpose::STANDARD
                    .encode(format!("{user}:{}", password.expose()));
                let mut value = HeaderValue::from_str(&format!("Basic {basic}")).map_err(|_| {
                    "the upstream proxy's user name or password holds characters a header cannot carry".to_string()
                })?;
                value.set_sensitive(true);
                (Some(user), Some(value))
            }
        };
        let direct = no_proxy
            .iter()
            .map(|e| e.trim())
            .filter(|e| !e.is_empty())
            .map(parse_direct)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            url,
            user,
            auth,
            direct,
        })
    }

    /// The proxy's URL (never with credentials).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The user name given to the proxy, if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Whether a request to `url` goes through the proxy (its host is not on the no-proxy list).
    pub fn proxies(&self, url: &Url) -> bool {
        let Some(host) = url.host() else {
            return false;
        };
        !self.direct.iter().any(|d| match (d, &host) {
            (Direct::All, _) => true,
            (Direct::Domain(domain), Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                name == *domain
                    || name
                        .strip_suffix(domain.as_str())
                        .is_some_and(|rest| rest.ends_with('.'))
            }
            (Direct::Net(net), Host::Ipv4(ip)) => net.contains((*ip).into()),
            (Direct::Net(net), Host::Ipv6(ip)) => net.contains((*ip).into()),
            _ => false,
        })
    }

    /// The proxy as the HTTP client takes it: every request whose host [`Self::proxies`] says
    /// so goes to it, with the credentials.
    pub fn reqwest_proxy(&self) -> reqwest::Proxy {
        let route = self.clone();
        let target = self.url.clone();
        let proxy = reqwest::Proxy::custom(move |url| route.proxies(url).then(|| target.clone()));
        match &self.auth {
            Some(auth) => proxy.custom_http_auth(auth.clone()),
            None => proxy,
        }
    }

    /// The proxy's host as written in its URL.
    pub fn host(&self) -> String {
        match self.url.host() {
            Some(Host::Ipv6(ip)) => ip.to_string(),
            Some(h) => h.to_string(),
            None => String::new(),
        }
    }
}

impl fmt::Debug for UpstreamProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamProxy")
            .field("url", &self.url.as_str())
            .field("user", &self.user)
            .field("password", &self.auth.as_ref().map(|_| "<redacted>"))
            .field("no_proxy", &self.direct)
            .finish()
    }
}

fn parse_direct(entry: &str) -> Result<Direct, String> {
    if entry == "*" {
        return Ok(Direct::All);
    }
    let bare = entry.trim_start_matches('[').trim_end_matches(']');
    if entry.contains('/') || bare.parse::<std::net::IpAddr>().is_ok() {
        return Cidr::parse(entry)
            .map(Direct::Net)
            .map_err(|e| format!("--upstream-no-proxy: {e}"));
    }
    let domain = entry
        .trim_start_matches("*.")
        .trim_start_matches('.')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if domain.is_empty()
        || !domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        || domain.contains("..")
    {
        return Err(format!(
            "--upstream-no-proxy: {entry:?} is neither a host name, a domain (.acme.corp), an IP address nor a CIDR block (no ports, no wildcards but a lone *)"
        ));
    }
    Ok(Direct::Domain(domain))
}

/// Why the proxy itself may not be used, in words for the operator starting pm-mcp.
pub(crate) fn proxy_refused(host: &str, e: &GuardError) -> String {
    match e {
        GuardError::Refused(Refusal::Address { ip, range, .. }) => format!(
            "the upstream proxy {host} is at {ip}, a {range} address, which pm-mcp does not call unless an operator allows it: add --allow-upstream {host} (or its address, e.g. {ip}/32)"
        ),
        GuardError::Refused(Refusal::Name(_)) => format!(
            "the upstream proxy {host} names this machine, which pm-mcp does not call unless an operator allows it: add --allow-upstream {host}"
        ),
        GuardError::Refused(r) => format!("the upstream proxy {host} cannot be used: {r}"),
        GuardError::Lookup(err) => format!(
            "the upstream proxy's host name {host} does not resolve ({err}); check --upstream-proxy"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn the_no_proxy_list_matches_hosts_domains_and_blocks() {
        let p = UpstreamProxy::new(
            "http://proxy.acme.corp:3128",
            None,
            &[
                "jira.acme.corp".into(),
                ".intranet".into(),
                "10.20.0.0/16".into(),
                "192.0.2.7".into(),
                "fd12::/16".into(),
            ],
        )
        .expect("proxy");
        for direct in [
            "https://jira.acme.corp/",
            "https://JIRA.acme.corp./rest",
            "https://a.b.intranet/",
            "https://intranet/",
            "http://10.20.3.4:8080/",
            "http://192.0.2.7/",
            "http://[fd12::1]/",
        ] {
            assert!(!p.proxies(&url(direct)), "{direct} went through the proxy");
        }
        for proxied in [
            "https://acme.atlassian.net/",
            "https://xjira.acme.corp/",
            "https://notintranet/",
            "http://10.21.0.1/",
            "http://192.0.2.8/",
            "http://[fd13::1]/",
        ] {
            assert!(p.proxies(&url(proxied)), "{proxied} went direct");
        }
        let all = UpstreamProxy::new("http://p:1", None, &["*".into()]).expect("proxy");
        assert!(!all.proxies(&url("https://acme.atlassian.net/")));
    }

    #[test]
    fn bad_proxies_are_refused_without_repeating_a_password() {
        for (bad, says) in [
            (
                "http://bob:hunter2@proxy:3128",
                "PM_MCP_UPSTREAM_PROXY_USER",
            ),
            ("http://bob@proxy:3128", "PM_MCP_UPSTREAM_PROXY_USER"),
            ("https://proxy:3128", "must be an http:// URL"),
            ("socks5://proxy:1080", "must be an http:// URL"),
            ("http://proxy:3128/path", "nothing after it"),
            ("proxy:3128", "http://"),
            ("http://bob:hunter2@", "not a URL"),
        ] {
            let e = UpstreamProxy::new(bad, None, &[]).expect_err(bad);
            assert!(e.contains(says), "{bad}: {e}");
            assert!(!e.contains("hunter2"), "{bad}: {e}");
        }
        for bad in [
            "jira.acme.corp:443",
            "*.a.*",
            "a..b",
            "10.0.0.0/33",
            "ex ample",
        ] {
            let e = UpstreamProxy::new("http://p:1", None, &[bad.into()]).expect_err(bad);
            assert!(e.contains("--upstream-no-proxy"), "{bad}: {e}");
        }
        let e = UpstreamProxy::new(
            "http://p:1",
            Some(("a:b".into(), Secret::new("hunter2"))),
            &[],
        )
        .expect_err("colon");
        assert!(e.contains("PM_MCP_UPSTREAM_PROXY_USER"), "{e}");
    }

    #[test]
    fn the_password_is_never_in_debug() {
        let p = UpstreamProxy::new(
            "http://proxy.acme.corp:3128",
            Some(("svc-pm".into(), Secret::new("hunter2"))),
            &[],
        )
        .expect("proxy");
        let shown = format!("{p:?} {:?}", p.reqwest_proxy());
        assert!(!shown.contains("hunter2"), "{shown}");
        let b64 = base64::engine::general_purpose::STANDARD.encode("svc-pm:hunter2");
        assert!(!shown.contains(&b64), "{shown}");
        assert!(
            shown.contains("svc-pm") && shown.contains("<redacted>"),
            "{shown}"
        );
        assert_eq!(p.user(), Some("svc-pm"));
    }
}
