//! The one HTTP client every provider uses: a timeout on every request, retries with backoff and
//! jitter for safe requests (GETs, and POSTs the caller marks as reads with [`Upstream::post_read`])
//! on 429, 5xx and broken connections honouring `Retry-After`, a
//! per-connection limit on concurrent requests and a per-connection circuit breaker, a cap on the
//! size of an answer, the SSRF guard (`guard`) on every address connected to, credentials only
//! ever sent to the connection's own origin (redirects are never followed), an optional upstream
//! proxy (`proxy`) with the guard kept in front of it, and errors mapped to `ProviderError` with
//! the tracker's own explanation (never the credentials).
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pm_core::{ProviderError, ProviderResult};
use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use url::Url;

use crate::breaker::{Breaker, BreakerSettings};
use crate::guard::{GuardError, GuardedResolver, Lookup, SystemLookup, UpstreamPolicy};
use crate::proxy::UpstreamProxy;

/// Settings shared by every upstream client of a process.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// The whole of one attempt: connecting, sending, and reading the answer.
    pub timeout: Duration,
    pub max_attempts: u32,
    pub max_concurrency_per_connection: usize,
    /// The largest answer read; a larger one is an error, and is never held in memory whole.
    pub max_body_bytes: usize,
    /// The longest `Retry-After` a safe call waits out before retrying; a tracker asking for
    /// longer gets a rate-limit error at once, with its wait in the message.
    pub max_retry_wait: Duration,
    pub breaker: BreakerSettings,
    /// Which schemes and addresses may be called (the SSRF guard).
    pub policy: UpstreamPolicy,
    /// The company's forward proxy, if tracker calls must go through one. The client
    /// ([`shared_client`]) and every [`Upstream`] on it must be given the same settings: the
    /// `Upstream` checks a tracker's name before the client sends anything to the proxy.
    pub proxy: Option<UpstreamProxy>,
    /// How names are looked up, by the client's guarded resolver and by the check in front of the
    /// proxy (the system's resolver; tests script it).
    pub lookup: DnsLookup,
}

/// The name lookup of [`HttpSettings`].
#[derive(Clone)]
pub struct DnsLookup(pub Arc<dyn Lookup>);

impl Default for DnsLookup {
    fn default() -> Self {
        Self(Arc::new(SystemLookup))
    }
}

impl std::fmt::Debug for DnsLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DnsLookup")
    }
}

impl HttpSettings {
    fn guard(&self) -> GuardedResolver {
        GuardedResolver::new(self.policy.clone(), self.lookup.0.clone())
    }

    /// Checks the upstream proxy's own address against the policy (a proxy on a loopback or
    /// private address must be allow-listed like a tracker there); `Ok` without a proxy. Run at
    /// start, so a proxy that can never be used stops the server with the reason.
    pub async fn check_proxy(&self) -> ProviderResult<()> {
        let Some(proxy) = &self.proxy else {
            return Ok(());
        };
        let host = proxy.host();
        let checked = match proxy.url().host() {
            Some(url::Host::Ipv4(ip)) => self
                .policy
                .check_addr(&host, ip.into())
                .map_err(GuardError::Refused),
            Some(url::Host::Ipv6(ip)) => self
                .policy
                .check_addr(&host, ip.into())
                .map_err(GuardError::Refused),
            _ => self.guard().resolve_checked(&host).await.map(|_| ()),
        };
        checked.map_err(|e| ProviderError::BadInput(crate::proxy::proxy_refused(&host, &e)))
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_attempts: 3,
            max_concurrency_per_connection: 8,
            max_body_bytes: 16 * 1024 * 1024,
            max_retry_wait: Duration::from_secs(10),
            breaker: BreakerSettings::default(),
            policy: UpstreamPolicy::strict(),
            proxy: None,
            lookup: DnsLookup::default(),
        }
    }
}

/// How much of an error answer is read for the tracker's explanation.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Turns a tracker's error body into a sentence (each provider knows its own shape).
pub type ErrorText = fn(&[u8]) -> Option<String>;

/// Words for an error answer read from its status and headers alone, before the body (e.g. Jira
/// Data Center's CAPTCHA challenge, said only in `X-Authentication-Denied-Reason`).
pub type HeaderText = fn(StatusCode, &HeaderMap) -> Option<String>;

/// Whether a request may be sent again after a 429, a 5xx or a broken connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Reads: GETs, and POSTs that only read (a search sent as a body).
    Safe,
    /// Writes: sent once, whatever happens.
    Never,
}

/// A client bound to one connection: its base URL, its credentials, its limits.
#[derive(Clone)]
pub struct Upstream {
    client: reqwest::Client,
    base: Url,
    auth: HeaderValue,
    auth_header: &'static str,
    provider: &'static str,
    error_text: ErrorText,
    header_text: Option<HeaderText>,
    settings: HttpSettings,
    permits: Arc<Semaphore>,
    breaker: Arc<Mutex<Breaker>>,
    accept: &'static str,
    /// Send `Content-Type: application/json` on every request, bodiless ones too (ClickUp's API
    /// documents it as a required header on several GETs and DELETEs).
    json_content_type_always: bool,
}

/// The connection pool type, for crates that hold one without depending on reqwest.
pub type HttpClient = reqwest::Client;

/// One process-wide connection pool. Every DNS answer passes the SSRF guard of
/// `settings.policy` before a connection is made (`settings.lookup` answers); redirects are not
/// followed, so a redirect can never carry credentials anywhere; proxy variables from the
/// environment (`HTTPS_PROXY` …) are ignored: only `settings.proxy` is used, with the guard kept
/// in front of it by [`Upstream`].
pub fn shared_client(settings: &HttpSettings) -> Result<reqwest::Client, ProviderError> {
    let mut builder = reqwest::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    if let Some(proxy) = &settings.proxy {
        builder = builder.proxy(proxy.reqwest_proxy());
    }
    builder
        .dns_resolver(settings.guard())
        .user_agent(concat!("pm-mcp/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ProviderError::Network {
            provider: "HTTP",
            message: e.to_string(),
        })
}

/// The header value a connection's secret is sent as, made once when its client is built; the
/// text it was made from is wiped, and `Upstream` marks the value sensitive (never logged).
pub(crate) fn credential(value: pm_core::Secret, what: &str) -> ProviderResult<HeaderValue> {
    HeaderValue::from_str(value.expose()).map_err(|_| {
        ProviderError::BadInput(format!(
            "the {what} contains characters a header cannot carry"
        ))
    })
}

impl Upstream {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: reqwest::Client,
        base: &str,
        auth_header: &'static str,
        auth: HeaderValue,
        provider: &'static str,
        error_text: ErrorText,
        settings: HttpSettings,
    ) -> ProviderResult<Self> {
        let mut base =
            Url::parse(base).map_err(|e| ProviderError::BadInput(format!("bad base URL: {e}")))?;
        // IP literals never reach the resolver: check them (and the scheme) here. Every request
        // stays on this origin.
        settings
            .policy
            .check_url(&base)
            .map_err(|r| ProviderError::Blocked {
                provider,
                message: r.to_string(),
            })?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let mut auth = auth;
        auth.set_sensitive(true);
        let permits = Arc::new(Semaphore::new(
            settings.max_concurrency_per_connection.max(1),
        ));
        let breaker = Arc::new(Mutex::new(Breaker::new(settings.breaker)));
        Ok(Self {
            client,
            base,
            auth,
            auth_header,
            provider,
            error_text,
            header_text: None,
            settings,
            permits,
            breaker,
            accept: "application/json",
            json_content_type_always: false,
        })
    }

    /// The media types to ask for, when the tracker's are not plain `application/json`
    /// (OpenProject answers `application/hal+json`).
    pub fn with_accept(mut self, accept: &'static str) -> Self {
        self.accept = accept;
        self
    }

    /// Reads some errors from their headers first (see [`HeaderText`]).
    pub fn with_header_text(mut self, header_text: HeaderText) -> Self {
        self.header_text = Some(header_text);
        self
    }

    /// Marks every request, with or without a body, as `application/json`.
    pub fn with_json_content_type_always(mut self) -> Self {
        self.json_content_type_always = true;
        self
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// `path` is relative to the base URL (no leading `/`), e.g. `rest/api/3/myself`.
    fn url(&self, path: &str) -> ProviderResult<Url> {
        let url = self
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| ProviderError::BadInput(format!("bad request path: {e}")))?;
        if url.origin() != self.base.origin() {
            return Err(ProviderError::BadInput(
                "refusing to send credentials to another origin".into(),
            ));
        }
        Ok(url)
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> ProviderResult<T> {
        let url = self.url(path)?;
        self.send::<T, ()>(Method::GET, url, query, None, Retry::Safe)
            .await
    }

    /// A POST that writes: sent once, never retried.
    pub async fn post<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> ProviderResult<T> {
        let url = self.url(path)?;
        self.send(Method::POST, url, &[], Some(body), Retry::Never)
            .await
    }

    /// A POST that only reads (a search whose query travels in the body, a bulk fetch, a
    /// count): retried like a GET on 429, 5xx and broken connections, honouring `Retry-After`.
    /// The caller says so; it is never guessed from the path.
    pub async fn post_read<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> ProviderResult<T> {
        let url = self.url(path)?;
        self.send(Method::POST, url, &[], Some(body), Retry::Safe)
            .await
    }

    /// A POST without a body (ClickUp's tag and link endpoints take none).
    pub async fn post_empty<T: DeserializeOwned>(&self, path: &str) -> ProviderResult<T> {
        let url = self.url(path)?;
        self.send::<T, ()>(Method::POST, url, &[], None, Retry::Never)
            .await
    }

    pub async fn put<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> ProviderResult<T> {
        let url = self.url(path)?;
        self.send(Method::PUT, url, &[], Some(body), Retry::Never)
            .await
    }

    pub async fn patch<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> ProviderResult<T> {
        let url = self.url(path)?;
        self.send(Method::PATCH, url, &[], Some(body), Retry::Never)
            .await
    }

    /// GET a link the tracker handed out (an absolute path such as `/api/v3/projects?offset=2`, or
    /// a full URL): followed only when it stays on the connection's origin and under its base path.
    pub async fn get_href<T: DeserializeOwned>(&self, href: &str) -> ProviderResult<T> {
        let url = self.href(href)?;
        self.send::<T, ()>(Method::GET, url, &[], None, Retry::Safe)
            .await
    }

    fn href(&self, href: &str) -> ProviderResult<Url> {
        let url = self
            .base
            .join(href)
            .map_err(|e| ProviderError::BadInput(format!("bad link from the tracker: {e}")))?;
        if url.origin() != self.base.origin() || !url.path().starts_with(self.base.path()) {
            return Err(ProviderError::Decode {
                provider: self.provider,
                message: "the tracker linked to another site; the link was not followed".into(),
            });
        }
        Ok(url)
    }

    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> ProviderResult<T> {
        let url = self.url(path)?;
        self.send::<T, ()>(Method::DELETE, url, &[], None, Retry::Never)
            .await
    }

    /// Fails at once while the circuit is open; `probe` lets the probe of a half-open circuit go
    /// (callers peek before queueing for a slot, and admit for real once they hold one).
    fn admit(&self, probe: bool) -> ProviderResult<()> {
        let Ok(mut b) = self.breaker.lock() else {
            return Ok(());
        };
        let now = Instant::now();
        let verdict = if probe { b.admit(now) } else { b.peek(now) };
        verdict.map_err(|open| ProviderError::Unavailable {
                provider: self.provider,
                message: format!(
                    "it failed {} times in a row (timeouts, broken connections or 5xx answers); pm-mcp is not calling it for the next {} s. Check that the tracker is up and the connection's base URL is right",
                    open.failures,
                    open.remaining.as_secs_f64().ceil().max(1.0)
                ),
            })
    }

    /// Tells the breaker how the tracker did: `true` for a failure of the tracker itself.
    fn record(&self, failed: bool) {
        if let Ok(mut b) = self.breaker.lock() {
            if failed {
                b.failure(Instant::now());
            } else {
                b.success();
            }
        }
    }

    async fn send<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: Url,
        query: &[(&str, String)],
        body: Option<&B>,
        retry: Retry,
    ) -> ProviderResult<T> {
        let safe = retry == Retry::Safe;
        // A dead tracker fails its callers before they queue for a connection slot.
        self.admit(false)?;
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ProviderError::Network {
                provider: self.provider,
                message: "the client is shutting down".into(),
            })?;
        self.check_before_proxy(&url).await?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.admit(true)?;
            let can_retry = safe && attempt < self.settings.max_attempts;
            let mut headers = HeaderMap::new();
            headers.insert(self.auth_header, self.auth.clone());
            headers.insert(
                reqwest::header::ACCEPT,
                HeaderValue::from_static(self.accept),
            );
            if self.json_content_type_always {
                headers.insert(
                    reqwest::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
            }
            let mut req = self
                .client
                .request(method.clone(), url.clone())
                .headers(headers)
                .query(query);
            if let Some(b) = body {
                req = req.json(b);
            }
            let started = Instant::now();
            let res = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    crate::metrics::count_upstream(
                        self.provider,
                        crate::metrics::UpstreamStatus::Failed,
                    );
                    let err = self.transport_error(&e);
                    if matches!(err, ProviderError::Blocked { .. }) {
                        return Err(err);
                    }
                    self.record(true);
                    if can_retry {
                        tokio::time::sleep(backoff(attempt)).await;
                        continue;
                    }
                    return Err(err);
                }
            };
            let status = res.status();
            crate::metrics::count_upstream(
                self.provider,
                crate::metrics::UpstreamStatus::Http(status.as_u16()),
            );
            tracing::debug!(provider = self.provider, %method, path = url.path(), status = status.as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "upstream");
            if status.is_success() {
                let bytes = match read_capped(res, self.settings.max_body_bytes).await {
                    Ok(b) => b,
                    Err(BodyError::TooLarge) => {
                        self.record(false);
                        return Err(ProviderError::Decode {
                            provider: self.provider,
                            message: format!(
                                "the answer is larger than pm-mcp's limit of {} and was not read; ask for less (a smaller limit or a narrower query)",
                                human_bytes(self.settings.max_body_bytes)
                            ),
                        });
                    }
                    Err(BodyError::Read(e)) => {
                        self.record(true);
                        if can_retry {
                            tokio::time::sleep(backoff(attempt)).await;
                            continue;
                        }
                        return Err(self.transport_error(&e));
                    }
                };
                self.record(false);
                let bytes = if bytes.is_empty() {
                    &b"null"[..]
                } else {
                    &bytes[..]
                };
                return serde_json::from_slice(bytes).map_err(|e| ProviderError::Decode {
                    provider: self.provider,
                    message: unreadable(bytes, &e),
                });
            }
            self.record(status.is_server_error());
            let retry_after = retry_after(res.headers());
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            if retryable && can_retry {
                let wait = retry_after.unwrap_or_else(|| backoff(attempt));
                // A tracker asking for a long wait gets its answer passed on, not a stuck caller.
                if wait <= self.settings.max_retry_wait {
                    drop(res);
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            if status.is_redirection() {
                return Err(ProviderError::Upstream {
                    provider: self.provider,
                    status: status.as_u16(),
                    message: "the tracker redirected the request; pm-mcp does not follow redirects (credentials stay with the base URL's host), so check the connection's base URL"
                        .into(),
                });
            }
            if let Some(message) = self.header_text.and_then(|h| h(status, res.headers())) {
                return Err(map_status(self.provider, status, message, retry_after));
            }
            let body = read_prefix(res, MAX_ERROR_BODY).await;
            // The tracker's own explanation when it gave one; otherwise words for the status,
            // never a bare reason phrase ("Not Found was not found").
            let message = (self.error_text)(&body)
                .filter(|m| Some(m.as_str()) != status.canonical_reason())
                .unwrap_or_else(|| status_words(self.provider, status, url.path()));
            return Err(map_status(self.provider, status, message, retry_after));
        }
    }

    /// With an upstream proxy, the proxy resolves the tracker's name, out of the guard's sight:
    /// so the name is resolved and checked here first, and a refused one is refused before
    /// anything is sent to the proxy. (Hosts written as IP addresses were checked in `new`; a host
    /// name on the allow-list may be anywhere.)
    async fn check_before_proxy(&self, url: &Url) -> ProviderResult<()> {
        let Some(proxy) = &self.settings.proxy else {
            return Ok(());
        };
        let Some(url::Host::Domain(name)) = url.host() else {
            return Ok(());
        };
        if !proxy.proxies(url) || self.settings.policy.allows_host(name) {
            return Ok(());
        }
        match self.settings.guard().resolve_checked(name).await {
            Ok(_) => Ok(()),
            Err(GuardError::Refused(r)) => {
                tracing::warn!(provider = self.provider, reason = %r, "upstream address refused by the SSRF guard before the proxy");
                Err(ProviderError::Blocked {
                    provider: self.provider,
                    message: r.to_string(),
                })
            }
            Err(GuardError::Lookup(_)) => Err(ProviderError::Network {
                provider: self.provider,
                message: format!(
                    "the host name {name} does not resolve on pm-mcp's host; pm-mcp checks a tracker's address itself before asking the upstream proxy, so check the connection's base URL (an operator can allow a name that only the proxy resolves with --allow-upstream {name})"
                ),
            }),
        }
    }

    /// Whether requests to this connection go through the upstream proxy.
    fn via_proxy(&self) -> bool {
        self.settings
            .proxy
            .as_ref()
            .is_some_and(|p| p.proxies(&self.base))
    }

    /// A failed exchange as the caller should see it: the guard's refusal, a timeout, or a
    /// network error (its text without the URL).
    fn transport_error(&self, e: &reqwest::Error) -> ProviderError {
        if let Some(r) = crate::guard::refusal_in(e) {
            tracing::warn!(provider = self.provider, reason = %r, "upstream address refused by the SSRF guard");
            return ProviderError::Blocked {
                provider: self.provider,
                message: r.to_string(),
            };
        }
        if e.is_timeout() {
            return ProviderError::Timeout {
                provider: self.provider,
            };
        }
        ProviderError::Network {
            provider: self.provider,
            message: transport_words(
                e,
                self.base.host_str().unwrap_or("the tracker"),
                self.via_proxy(),
            ),
        }
    }
}

/// Why a 2xx answer could not be read, in words a model can act on (the body is not echoed).
fn unreadable(body: &[u8], e: &serde_json::Error) -> String {
    let start = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    match (start, e.classify()) {
        (Some(b'<'), _) => "the answer was an HTML page, not the tracker's API: check that the connection's base URL is the tracker's address (configure_pm_provider)".to_string(),
        // serde's data errors quote the offending value; only its position is said.
        (_, serde_json::error::Category::Data) => format!(
            "the answer did not have the expected shape (line {}, column {})",
            e.line(),
            e.column()
        ),
        _ => "the answer was not valid JSON (cut off or malformed); try again, and check the connection's base URL if it persists".to_string(),
    }
}

/// Words for an error status whose body explained nothing.
fn status_words(provider: &str, status: StatusCode, path: &str) -> String {
    match status.as_u16() {
        401 => "the token was not accepted".to_string(),
        407 => "the upstream proxy refused pm-mcp's credentials (HTTP 407); an operator must check PM_MCP_UPSTREAM_PROXY_USER and PM_MCP_UPSTREAM_PROXY_PASSWORD".to_string(),
        403 => "the connection's account lacks the permission for this".to_string(),
        404 => format!("{provider} has nothing at {path}"),
        409 => "the item changed meanwhile; read it again and retry".to_string(),
        400 | 422 => "the request was refused without a reason".to_string(),
        405 => format!(
            "{provider} does not offer this request at {path}; check the connection's type and base URL"
        ),
        s if s >= 500 => format!("{provider} had an internal error (HTTP {s}); try again later"),
        _ => format!(
            "{provider} answered {} at {path}",
            status.canonical_reason().unwrap_or("an error")
        ),
    }
}

/// A failed exchange in words (refused, unknown host, TLS, reset), without the URL or the HTTP
/// client's own phrasing.
fn transport_words(e: &reqwest::Error, host: &str, via_proxy: bool) -> String {
    use std::error::Error as _;
    let mut chain = Vec::new();
    let mut source: Option<&dyn std::error::Error> = e.source();
    while let Some(s) = source {
        chain.push(s.to_string().to_ascii_lowercase());
        if via_proxy && let Some(words) = proxy_words(&chain, host) {
            return words;
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return format!(
                        "{host} refused the connection: is the tracker running at the connection's base URL?"
                    );
                }
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted => {
                    return format!("{host} closed the connection before answering; try again");
                }
                _ => {}
            }
        }
        source = s.source();
    }
    let said = |needle: &str| chain.iter().any(|c| c.contains(needle));
    // rustls's errors: certificate problems, alerts, and a peer that does not speak TLS
    // ("received corrupt message of type InvalidContentType").
    let tls = [
        "certificate",
        "tls",
        "handshake",
        "invalid peer",
        "corrupt message",
        "alert",
    ];
    if tls.iter().any(|w| said(w)) {
        format!(
            "the TLS handshake with {host} failed (its certificate was not accepted); check the URL, or the operator's trusted certificates"
        )
    } else if said("dns")
        || said("failed to lookup")
        || said("name or service not known")
        || said("no such host")
    {
        format!("the host name {host} does not resolve; check the connection's base URL")
    } else if said("refused") {
        format!(
            "{host} refused the connection: is the tracker running at the connection's base URL?"
        )
    } else if said("reset") || said("closed") || e.is_body() {
        format!("{host} closed the connection before answering; try again")
    } else {
        format!(
            "the connection to {host} failed; check the connection's base URL and that the tracker is up"
        )
    }
}

/// A failure of the upstream proxy itself, in words (the connection to the proxy, or its tunnel).
fn proxy_words(chain: &[String], host: &str) -> Option<String> {
    let said = |needle: &str| chain.iter().any(|c| c.contains(needle));
    if said("proxy authorization required") {
        Some("the upstream proxy refused pm-mcp's credentials (HTTP 407); an operator must check PM_MCP_UPSTREAM_PROXY_USER and PM_MCP_UPSTREAM_PROXY_PASSWORD".to_string())
    } else if said("tunnel error") && !said("failed to create underlying connection") {
        Some(format!(
            "the upstream proxy did not open a tunnel to {host} (it refused or could not reach it); check the connection's base URL, and with the proxy's operator that it lets pm-mcp reach this host"
        ))
    } else if said("connection refused") || said("failed to create underlying connection") {
        Some("the upstream proxy refused the connection: is it running at the address given with --upstream-proxy?".to_string())
    } else {
        None
    }
}

enum BodyError {
    TooLarge,
    Read(reqwest::Error),
}

/// The body, read chunk by chunk and refused as soon as it passes `cap` (or announces it will).
async fn read_capped(mut res: reqwest::Response, cap: usize) -> Result<Vec<u8>, BodyError> {
    let declared = res.content_length();
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut buf = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    while let Some(chunk) = res.chunk().await.map_err(BodyError::Read)? {
        if buf.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// At most the first `cap` bytes of an error answer (enough for the tracker's explanation).
async fn read_prefix(mut res: reqwest::Response, cap: usize) -> Vec<u8> {
    let mut buf = Vec::new();
    while buf.len() < cap {
        match res.chunk().await {
            Ok(Some(chunk)) => {
                let room = cap - buf.len();
                buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            _ => break,
        }
    }
    buf
}

fn human_bytes(n: usize) -> String {
    if n >= 1024 * 1024 && n.is_multiple_of(1024 * 1024) {
        format!("{} MiB", n / (1024 * 1024))
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

fn map_status(
    provider: &'static str,
    status: StatusCode,
    message: String,
    retry_after: Option<Duration>,
) -> ProviderError {
    match status.as_u16() {
        401 => ProviderError::Auth { provider, message },
        403 => ProviderError::Forbidden { provider, message },
        404 => ProviderError::NotFound { what: message },
        409 => ProviderError::Conflict { provider, message },
        429 => ProviderError::RateLimited {
            provider,
            retry_after,
        },
        400 | 422 => ProviderError::Invalid { provider, message },
        s => ProviderError::Upstream {
            provider,
            status: s,
            message,
        },
    }
}

/// How long the tracker asks to wait: `Retry-After` in seconds (HTTP dates are rare from trackers
/// and are treated as absent), else `X-RateLimit-Reset` as the epoch second the window reopens
/// (ClickUp's 429s carry only that).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    retry_after_at(headers, now)
}

fn retry_after_at(headers: &HeaderMap, now_epoch_secs: u64) -> Option<Duration> {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    if let Some(secs) = number(reqwest::header::RETRY_AFTER.as_str()) {
        return Some(Duration::from_secs(secs));
    }
    // Some trackers send milliseconds; a value that large is read as such.
    number("x-ratelimit-reset").map(|reset| {
        let reset = if reset > 100_000_000_000 {
            reset / 1000
        } else {
            reset
        };
        Duration::from_secs(reset.saturating_sub(now_epoch_secs))
    })
}

/// Exponential backoff with full jitter: up to 200 ms, 400 ms, 800 ms …
fn backoff(attempt: u32) -> Duration {
    let cap = 200u64.saturating_mul(1 << attempt.min(6));
    Duration::from_millis(rand::rng().random_range(cap / 2..=cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(
            map_status("Jira", StatusCode::UNAUTHORIZED, "x".into(), None).kind(),
            "auth"
        );
        assert_eq!(
            map_status("Jira", StatusCode::FORBIDDEN, "x".into(), None).kind(),
            "forbidden"
        );
        assert_eq!(
            map_status("Jira", StatusCode::NOT_FOUND, "x".into(), None).kind(),
            "not_found"
        );
        assert_eq!(
            map_status("Jira", StatusCode::CONFLICT, "x".into(), None).kind(),
            "conflict"
        );
        assert_eq!(
            map_status("Jira", StatusCode::BAD_REQUEST, "x".into(), None).kind(),
            "invalid"
        );
        assert_eq!(
            map_status("Jira", StatusCode::BAD_GATEWAY, "x".into(), None).kind(),
            "upstream"
        );
        let e = map_status(
            "Jira",
            StatusCode::TOO_MANY_REQUESTS,
            "x".into(),
            Some(Duration::from_secs(7)),
        );
        assert!(e.to_string().contains("7 s"), "{e}");
    }

    #[test]
    fn backoff_grows_with_jitter_inside_bounds() {
        for attempt in 1..5 {
            let d = backoff(attempt).as_millis() as u64;
            let cap = 200 * (1 << attempt);
            assert!(d >= cap / 2 && d <= cap, "attempt {attempt}: {d}");
        }
    }

    #[test]
    fn links_are_followed_only_on_the_same_origin_and_base_path() {
        let up = Upstream::new(
            reqwest::Client::new(),
            "https://op.example.org/openproject",
            "authorization",
            HeaderValue::from_static("Basic x"),
            "OpenProject",
            |_| None,
            HttpSettings::default(),
        )
        .unwrap();
        assert_eq!(
            up.href("/openproject/api/v3/projects?offset=2")
                .unwrap()
                .as_str(),
            "https://op.example.org/openproject/api/v3/projects?offset=2"
        );
        for bad in [
            "https://evil.example.org/openproject/api/v3/projects",
            "//evil.example.org/openproject/api/v3",
            "http://op.example.org/openproject/api/v3",
            "https://op.example.org:8443/openproject/api/v3",
            "/admin/api/v3/projects",
            "https://user@op.example.org.evil.org/openproject/",
        ] {
            assert!(up.href(bad).is_err(), "{bad} was followed");
        }
    }

    #[test]
    fn retry_after_seconds() {
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static("12"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(12)));
        h.insert(
            reqwest::header::RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn rate_limit_reset_epoch_gives_the_wait_when_retry_after_is_absent() {
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-reset", HeaderValue::from_static("1700000042"));
        assert_eq!(
            retry_after_at(&h, 1_700_000_000),
            Some(Duration::from_secs(42))
        );
        // A reset already past means: retry now.
        assert_eq!(retry_after_at(&h, 1_700_000_100), Some(Duration::ZERO));
        // Milliseconds are understood too.
        h.insert(
            "x-ratelimit-reset",
            HeaderValue::from_static("1700000042000"),
        );
        assert_eq!(
            retry_after_at(&h, 1_700_000_000),
            Some(Duration::from_secs(42))
        );
        // Retry-After wins when both are there.
        h.insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(
            retry_after_at(&h, 1_700_000_000),
            Some(Duration::from_secs(3))
        );
        assert_eq!(retry_after_at(&HeaderMap::new(), 1), None);
    }
}
