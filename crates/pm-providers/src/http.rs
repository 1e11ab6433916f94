//! The one HTTP client every provider uses: a timeout on every request, retries with backoff and
//! jitter for safe (GET) requests on 429 and 5xx honouring `Retry-After`, a per-connection limit
//! on concurrent requests, credentials only ever sent to the connection's own origin, and errors
//! mapped to `ProviderError` with the tracker's own explanation (never the credentials).
use std::sync::Arc;
use std::time::Duration;

use pm_core::{ProviderError, ProviderResult};
use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use url::Url;

/// Settings shared by every upstream client of a process.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub timeout: Duration,
    pub max_attempts: u32,
    pub max_concurrency_per_connection: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_attempts: 3,
            max_concurrency_per_connection: 8,
        }
    }
}

/// Turns a tracker's error body into a sentence (each provider knows its own shape).
pub type ErrorText = fn(&[u8]) -> Option<String>;

/// A client bound to one connection: its base URL, its credentials, its limits.
#[derive(Clone)]
pub struct Upstream {
    client: reqwest::Client,
    base: Url,
    auth: HeaderValue,
    auth_header: &'static str,
    provider: &'static str,
    error_text: ErrorText,
    settings: HttpSettings,
    permits: Arc<Semaphore>,
    accept: &'static str,
    /// Send `Content-Type: application/json` on every request, bodiless ones too (ClickUp's API
    /// documents it as a required header on several GETs and DELETEs).
    json_content_type_always: bool,
}

/// The connection pool type, for crates that hold one without depending on reqwest.
pub type HttpClient = reqwest::Client;

/// One process-wide connection pool; redirects are not followed automatically, so a redirect can
/// never carry credentials to another host.
pub fn shared_client(settings: &HttpSettings) -> Result<reqwest::Client, ProviderError> {
    reqwest::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("pm-mcp/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ProviderError::Network {
            provider: "HTTP",
            message: e.to_string(),
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
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let mut auth = auth;
        auth.set_sensitive(true);
        let permits = Arc::new(Semaphore::new(
            settings.max_concurrency_per_connection.max(1),
        ));
        Ok(Self {
            client,
            base,
            auth,
            auth_header,
            provider,
            error_text,
            settings,
            permits,
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
        self.send::<T, ()>(Method::GET, url, query, None).await
    }

    pub async fn post<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> ProviderResult<T> {
        let url = self.url(path)?;
        self.send(Method::POST, url, &[], Some(body)).await
    }

    /// A POST without a body (ClickUp's tag and link endpoints take none).
    pub async fn post_empty<T: DeserializeOwned>(&self, path: &str) -> ProviderResult<T> {
        let url = self.url(path)?;
        self.send::<T, ()>(Method::POST, url, &[], None).await
    }

    pub async fn put<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> ProviderResult<T> {
        let url = self.url(path)?;
        self.send(Method::PUT, url, &[], Some(body)).await
    }

    pub async fn patch<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> ProviderResult<T> {
        let url = self.url(path)?;
        self.send(Method::PATCH, url, &[], Some(body)).await
    }

    /// GET a link the tracker handed out (an absolute path such as `/api/v3/projects?offset=2`, or
    /// a full URL): followed only when it stays on the connection's origin and under its base path.
    pub async fn get_href<T: DeserializeOwned>(&self, href: &str) -> ProviderResult<T> {
        let url = self.href(href)?;
        self.send::<T, ()>(Method::GET, url, &[], None).await
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
        self.send::<T, ()>(Method::DELETE, url, &[], None).await
    }

    async fn send<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: Url,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> ProviderResult<T> {
        let safe = method == Method::GET;
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ProviderError::Network {
                provider: self.provider,
                message: "the client is shutting down".into(),
            })?;
        let mut attempt = 0;
        loop {
            attempt += 1;
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
            let started = std::time::Instant::now();
            let outcome = req.send().await;
            let res = match outcome {
                Ok(r) => r,
                Err(e) if e.is_timeout() => {
                    if safe && attempt < self.settings.max_attempts {
                        tokio::time::sleep(backoff(attempt)).await;
                        continue;
                    }
                    return Err(ProviderError::Timeout {
                        provider: self.provider,
                    });
                }
                Err(e) => {
                    if safe && attempt < self.settings.max_attempts && e.is_connect() {
                        tokio::time::sleep(backoff(attempt)).await;
                        continue;
                    }
                    return Err(ProviderError::Network {
                        provider: self.provider,
                        message: without_url(&e),
                    });
                }
            };
            let status = res.status();
            tracing::debug!(provider = self.provider, %method, path = url.path(), status = status.as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "upstream");
            if status.is_success() {
                let bytes = res.bytes().await.map_err(|e| ProviderError::Network {
                    provider: self.provider,
                    message: without_url(&e),
                })?;
                let bytes = if bytes.is_empty() {
                    &b"null"[..]
                } else {
                    &bytes[..]
                };
                return serde_json::from_slice(bytes).map_err(|e| ProviderError::Decode {
                    provider: self.provider,
                    message: e.to_string(),
                });
            }
            let retry_after = retry_after(res.headers());
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            if retryable && safe && attempt < self.settings.max_attempts {
                let wait = retry_after
                    .unwrap_or_else(|| backoff(attempt))
                    .min(Duration::from_secs(30));
                tokio::time::sleep(wait).await;
                continue;
            }
            if status.is_redirection() {
                return Err(ProviderError::Upstream {
                    provider: self.provider,
                    status: status.as_u16(),
                    message: "the tracker redirected the request; check the connection's base URL"
                        .into(),
                });
            }
            let body = res.bytes().await.unwrap_or_default();
            let message = (self.error_text)(&body)
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
            return Err(map_status(self.provider, status, message, retry_after));
        }
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

/// A reqwest error's text without its URL (URLs may carry query values).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "<url>");
    }
    text
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
