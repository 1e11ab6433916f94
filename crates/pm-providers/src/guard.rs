//! The SSRF guard: which upstream addresses pm-mcp may connect to. A tracker's base URL is chosen by
//! a user, so without this a user could point pm-mcp at the cloud metadata service, at a database on
//! the server's own network or at the server itself. Refused unless an operator allow-lists them:
//! loopback, private, shared (CGNAT), link-local (including 169.254.169.254), unique-local,
//! multicast, broadcast, unspecified, documentation and reserved ranges, IPv4 addresses embedded in
//! IPv6 (mapped, compatible, NAT64, 6to4, Teredo) when the embedded one is refused, and the names
//! `localhost` / `*.localhost`.
//!
//! The check runs where the connection is made: the resolver given to the HTTP client
//! ([`GuardedResolver`]) drops refused addresses from every DNS answer, so the addresses connected
//! to are the ones checked and a name that changes its answer (DNS rebinding) gains nothing. Hosts
//! written as IP literals never reach a resolver; [`UpstreamPolicy::check_url`] checks those when a
//! client is built for a base URL (requests only ever go to that origin).
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use futures::future::BoxFuture;
use url::{Host, Url};

/// A block of addresses, `10.0.0.0/8` or `fd00::/8` (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR block"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0..={max}"))?,
        };
        Ok(Self { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(
                u128::from(net.to_bits()) << 96,
                u128::from(ip.to_bits()) << 96,
                self.prefix,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(net.to_bits(), ip.to_bits(), self.prefix)
            }
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn prefix_eq(a: u128, b: u128, prefix: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let mask = u128::MAX << (128 - u32::from(prefix));
    a & mask == b & mask
}

/// Where upstream requests may go: https only unless `allow_http`, public addresses only unless
/// the host or the address is on the operator's allow-list.
#[derive(Debug, Clone, Default)]
pub struct UpstreamPolicy {
    inner: Arc<PolicyInner>,
}

#[derive(Debug, Default)]
struct PolicyInner {
    allow_http: bool,
    /// Lower-case, without a trailing dot.
    hosts: Vec<String>,
    nets: Vec<Cidr>,
}

impl UpstreamPolicy {
    /// The strict policy: https, public addresses only.
    pub fn strict() -> Self {
        Self::default()
    }

    /// `allow` entries are host names (exact, case-insensitive, a trailing dot ignored) or IP
    /// addresses / CIDR blocks (`127.0.0.1/32`, `10.20.0.0/16`, `fd12::/16`).
    pub fn new(allow_http: bool, allow: &[String]) -> Result<Self, String> {
        let mut inner = PolicyInner {
            allow_http,
            ..PolicyInner::default()
        };
        for entry in allow.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let looks_numeric = entry.contains('/')
                || entry.contains(':')
                || entry.parse::<IpAddr>().is_ok()
                || entry.trim_start_matches('[').parse::<IpAddr>().is_ok();
            if looks_numeric {
                inner.nets.push(Cidr::parse(entry)?);
            } else if entry
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                && entry
                    .trim_end_matches('.')
                    .contains(|c: char| c.is_ascii_alphabetic())
            {
                inner.hosts.push(normal_host(entry));
            } else {
                return Err(format!(
                    "{entry:?} is neither a host name nor an IP address / CIDR block"
                ));
            }
        }
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    pub fn allow_http(&self) -> bool {
        self.inner.allow_http
    }

    /// The allow-list as written back (for logs): hosts, then blocks.
    pub fn allowed(&self) -> Vec<String> {
        let mut all = self.inner.hosts.clone();
        all.extend(self.inner.nets.iter().map(Cidr::to_string));
        all
    }

    /// Whether `host` is on the allow-list by name (it may then be at any address).
    pub fn allows_host(&self, host: &str) -> bool {
        self.host_allowed(host)
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = normal_host(host);
        self.inner.hosts.contains(&host)
    }

    fn addr_allowed(&self, ip: IpAddr) -> bool {
        let canon = canonical(ip);
        self.inner
            .nets
            .iter()
            .any(|n| n.contains(ip) || n.contains(canon))
    }

    /// Whether `host` (as named in the URL) may be connected to at `ip`.
    pub fn check_addr(&self, host: &str, ip: IpAddr) -> Result<(), Refusal> {
        if self.host_allowed(host) || self.addr_allowed(ip) {
            return Ok(());
        }
        match refused_range(ip) {
            Some(range) => Err(Refusal::Address {
                host: normal_host(host),
                ip: canonical(ip),
                range,
            }),
            None => Ok(()),
        }
    }

    /// Checks what can be checked before any DNS: the scheme, `localhost` names, and hosts written
    /// as IP literals (in any of the forms URL parsing turns into one: `2130706433`, `0x7f.1`,
    /// `127.1`, `[::ffff:7f00:1]` …).
    pub fn check_url(&self, url: &Url) -> Result<(), Refusal> {
        match url.scheme() {
            "https" => {}
            "http" if self.inner.allow_http => {}
            other => return Err(Refusal::Scheme(other.to_string())),
        }
        match url.host() {
            None => Err(Refusal::NoHost),
            Some(Host::Ipv4(ip)) => self.check_addr(&ip.to_string(), IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.check_addr(&ip.to_string(), IpAddr::V6(ip)),
            Some(Host::Domain(name)) => self.check_name(name),
        }
    }

    /// Refuses names that always mean this machine, whatever DNS says.
    pub fn check_name(&self, name: &str) -> Result<(), Refusal> {
        let host = normal_host(name);
        if (host == "localhost" || host.ends_with(".localhost")) && !self.host_allowed(&host) {
            return Err(Refusal::Name(host));
        }
        Ok(())
    }

    /// The addresses of a DNS answer that may be connected to; an error naming the first refused
    /// one when none may.
    pub fn filter(&self, host: &str, addrs: &[SocketAddr]) -> Result<Vec<SocketAddr>, Refusal> {
        self.check_name(host)?;
        let mut first_refusal = None;
        let mut ok = Vec::with_capacity(addrs.len());
        for a in addrs {
            match self.check_addr(host, a.ip()) {
                Ok(()) => ok.push(*a),
                Err(r) => {
                    first_refusal.get_or_insert(r);
                }
            }
        }
        match (ok.is_empty(), first_refusal) {
            (true, Some(r)) => Err(r),
            (true, None) => Err(Refusal::NoAddress(normal_host(host))),
            (false, _) => Ok(ok),
        }
    }
}

fn normal_host(host: &str) -> String {
    host.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Why a connection was refused. The text says what to do; it holds no credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Scheme(String),
    NoHost,
    Name(String),
    Address {
        host: String,
        ip: IpAddr,
        range: &'static str,
    },
    NoAddress(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Scheme(s) => write!(
                f,
                "the base URL uses {s}; tracker URLs must be https (an operator can allow http with --allow-http-providers)"
            ),
            Refusal::NoHost => f.write_str("the base URL has no host"),
            Refusal::Name(h) => write!(
                f,
                "{h} names this machine; pm-mcp does not call it unless an operator allows it with --allow-upstream {h}"
            ),
            Refusal::Address { host, ip, range } if host == &ip.to_string() => write!(
                f,
                "{ip} is a {range} address; pm-mcp does not call it unless an operator allows it with --allow-upstream; check the base URL"
            ),
            Refusal::Address { host, ip, range } => write!(
                f,
                "{host} resolves to {ip}, a {range} address; pm-mcp does not call it unless an operator allows it with --allow-upstream; check the base URL"
            ),
            Refusal::NoAddress(h) => write!(f, "{h} has no address; check the base URL"),
        }
    }
}

impl std::error::Error for Refusal {}

/// The IPv4 address inside an IPv6 one, for the forms that carry one to an IPv4 host: mapped
/// `::ffff:a.b.c.d`, compatible `::a.b.c.d` (deprecated), translated `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d` and 6to4
/// `2002:aabb:ccdd::`. Anything else is returned as it is.
pub fn canonical(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else { return ip };
    let s = v6.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    // Compatible (::a.b.c.d), but not :: and ::1 themselves.
    if s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1) {
        return IpAddr::V4(tail);
    }
    // IPv4-translated (SIIT) ::ffff:0:a.b.c.d.
    if s[..6] == [0, 0, 0, 0, 0xffff, 0] {
        return IpAddr::V4(tail);
    }
    // NAT64 well-known prefix 64:ff9b::/96.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return IpAddr::V4(tail);
    }
    // 6to4 2002::/16: the IPv4 address in bits 16..48.
    if s[0] == 0x2002 {
        return IpAddr::V4(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    ip
}

/// The kind of range `ip` is in when pm-mcp refuses to connect to it, `None` for a public address.
pub fn refused_range(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    const RANGES: &[([u8; 4], u8, &str)] = &[
        ([0, 0, 0, 0], 8, "\"this network\" (unspecified)"),
        ([10, 0, 0, 0], 8, "private"),
        ([100, 64, 0, 0], 10, "shared (carrier-grade NAT)"),
        ([127, 0, 0, 0], 8, "loopback"),
        ([169, 254, 0, 0], 16, "link-local (cloud metadata)"),
        ([172, 16, 0, 0], 12, "private"),
        ([192, 0, 0, 0], 24, "IETF protocol assignment"),
        ([192, 0, 2, 0], 24, "documentation"),
        ([192, 88, 99, 0], 24, "6to4 relay anycast"),
        ([192, 168, 0, 0], 16, "private"),
        ([198, 18, 0, 0], 15, "benchmarking"),
        ([198, 51, 100, 0], 24, "documentation"),
        ([203, 0, 113, 0], 24, "documentation"),
        ([224, 0, 0, 0], 4, "multicast"),
        ([240, 0, 0, 0], 4, "reserved (and broadcast)"),
    ];
    RANGES.iter().find_map(|(net, prefix, what)| {
        Cidr {
            addr: IpAddr::V4(Ipv4Addr::from(*net)),
            prefix: *prefix,
        }
        .contains(IpAddr::V4(ip))
        .then_some(*what)
    })
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    const RANGES: &[(u16, u16, u8, &str)] = &[
        // (first segment, second segment, prefix, what)
        (0x0064, 0xff9b, 48, "NAT64 (local use)"),
        (0x0100, 0, 64, "discard-only"),
        (0x2001, 0x0000, 32, "Teredo tunnel"),
        (0x2001, 0x0db8, 32, "documentation"),
        (0x2001, 0x0010, 28, "ORCHID"),
        (0x2001, 0x0020, 28, "ORCHID"),
        (0x3fff, 0, 20, "documentation"),
        (0xfc00, 0, 7, "unique-local (private)"),
        (0xfe80, 0, 10, "link-local"),
        (0xfec0, 0, 10, "site-local (deprecated)"),
        (0xff00, 0, 8, "multicast"),
    ];
    RANGES.iter().find_map(|(a, b, prefix, what)| {
        Cidr {
            addr: IpAddr::V6(Ipv6Addr::new(*a, *b, 0, 0, 0, 0, 0, 0)),
            prefix: *prefix,
        }
        .contains(IpAddr::V6(ip))
        .then_some(*what)
    })
}

/// Looks a name up; the system resolver in production, a scripted one in tests.
pub trait Lookup: Send + Sync + 'static {
    fn lookup(&self, host: String) -> BoxFuture<'static, std::io::Result<Vec<SocketAddr>>>;
}

/// The operating system's resolver (getaddrinfo, through Tokio).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: String) -> BoxFuture<'static, std::io::Result<Vec<SocketAddr>>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.collect()) })
    }
}

/// The HTTP client's resolver: every answer passes through the policy before any connection.
pub struct GuardedResolver {
    policy: UpstreamPolicy,
    lookup: Arc<dyn Lookup>,
}

impl GuardedResolver {
    pub fn new(policy: UpstreamPolicy, lookup: Arc<dyn Lookup>) -> Self {
        Self { policy, lookup }
    }

    /// Resolves `host` and keeps only the addresses the policy allows.
    pub async fn resolve_checked(&self, host: &str) -> Result<Vec<SocketAddr>, GuardError> {
        self.policy.check_name(host).map_err(GuardError::Refused)?;
        let addrs = self
            .lookup
            .lookup(host.to_string())
            .await
            .map_err(GuardError::Lookup)?;
        self.policy
            .filter(host, &addrs)
            .map_err(GuardError::Refused)
    }
}

/// A failed guarded resolution: refused by the policy, or the lookup itself failed.
#[derive(Debug)]
pub enum GuardError {
    Refused(Refusal),
    Lookup(std::io::Error),
}

impl fmt::Display for GuardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuardError::Refused(r) => r.fmt(f),
            GuardError::Lookup(e) => write!(f, "DNS lookup failed: {e}"),
        }
    }
}

impl std::error::Error for GuardError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            GuardError::Refused(r) => Some(r),
            GuardError::Lookup(e) => Some(e),
        }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let this = GuardedResolver {
            policy: self.policy.clone(),
            lookup: self.lookup.clone(),
        };
        Box::pin(async move {
            let addrs = this.resolve_checked(&host).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The refusal inside an error chain, if the guard refused the connection.
pub fn refusal_in(e: &(dyn std::error::Error + 'static)) -> Option<Refusal> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<Refusal>() {
            return Some(r.clone());
        }
        if let Some(GuardError::Refused(r)) = err.downcast_ref::<GuardError>() {
            return Some(r.clone());
        }
        cur = err.source();
    }
    None
}

#[cfg(test)]
#[path = "guard_tests.rs"]
mod tests;
