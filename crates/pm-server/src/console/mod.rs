//! The web console at `/console`: every engineer signs in (a one-time link, or the company's
//! identity provider), makes their own API keys, connects their trackers and reads their own
//! activity; administrators manage users and read the whole audit trail and usage.
//!
//! Server-rendered pages whose forms work without JavaScript (one small script adds copy buttons
//! and shows only the fields of the chosen tracker); the CSS and script are compiled into the
//! binary. Sessions are database rows (any replica serves them) named by a random token in an
//! `HttpOnly`, `SameSite=Lax` cookie (`Secure` behind https); every change is a POST carrying the
//! session's CSRF token and passing the same Host check as `/mcp`, with an Origin of the console's
//! own or an allowed one. Every value shown is escaped (maud), and the Content-Security-Policy
//! allows no inline script and no framing.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{Duration, Utc};
use pm_core::{Secret, UserId};
use pm_store::{AuditEvent, NewTicket, Outcome, Store, StoreError, TicketKind, User};
use sha2::{Digest, Sha256};

use crate::state::AppState;

mod admin;
mod me;
mod signin;
mod view;

pub use pm_providers::guard::Cidr;
pub use signin::{new_sign_in_link, new_sign_in_link_by};

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
    fn public_origin(&self) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|u| u.origin().ascii_serialization())
    }

    /// Whether cookies are marked `Secure`: when users reach pm-mcp over https.
    fn secure(&self) -> bool {
        self.public_url
            .as_ref()
            .is_some_and(|u| u.scheme() == "https")
    }
}

/// The console's routes, under `/console` (and `{prefix}/console` behind a proxy that does not
/// strip its prefix).
pub fn router(state: Arc<AppState>) -> Router<Arc<AppState>> {
    let Some(config) = state.http.console.clone() else {
        return Router::new();
    };
    let pages = Router::new()
        .route("/", get(me::home))
        .route("/signin", get(signin::page))
        .route("/link", get(signin::link_page).post(signin::link_use))
        .route("/auth/start", post(signin::oidc_start))
        .route("/auth/callback", get(signin::oidc_callback))
        .route("/signout", post(signin::sign_out))
        .route("/keys", get(me::keys).post(me::create_key))
        .route("/keys/{id}/revoke", post(me::revoke_key))
        .route("/keys/{id}/rotate", post(me::rotate_key))
        .route("/trackers", get(me::trackers).post(me::add_tracker))
        .route("/trackers/{id}/test", post(me::test_tracker))
        .route("/trackers/{id}/token", post(me::replace_token))
        .route("/trackers/{id}/remove", post(me::remove_tracker))
        .route("/activity", get(me::activity))
        .route("/admin/users", get(admin::users).post(admin::add_user))
        .route("/admin/users/{id}", get(admin::user))
        .route("/admin/users/{id}/change", post(admin::change_user))
        .route("/admin/users/{id}/link", post(admin::sign_in_link))
        .route(
            "/admin/users/{id}/keys/{key}/revoke",
            post(admin::revoke_key),
        )
        .route("/admin/audit", get(admin::audit_trail))
        .route("/admin/usage", get(admin::usage))
        .fallback(view::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), load_session))
        // The CSS and script need no session: no database read for them.
        .route("/assets/console.css", get(view::css))
        .route("/assets/console.js", get(view::js))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(middleware::from_fn(security_headers));
    let mut router = Router::new().nest("/console", pages.clone());
    if !config.prefix.is_empty() {
        router = router.nest(&format!("{}/console", config.prefix), pages);
    }
    router
}

// ---- tokens ----

/// A random token (256 bits, base64url) and its SHA-256, which is all the database keeps.
fn new_token() -> (String, [u8; 32]) {
    use rand::RngCore as _;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = B64.encode(bytes);
    let hash = digest(&token);
    (token, hash)
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The CSRF token of a session: derived from its (secret) token, so it needs no storage and
/// cannot be guessed from anything an attacker sees.
fn csrf_of(session_token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"pm-mcp console csrf\0");
    h.update(session_token.as_bytes());
    B64.encode(h.finalize())
}

/// Compares without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

// ---- cookies ----

const SESSION_COOKIE: &str = "pm_console";
const SECURE_SESSION_COOKIE: &str = "__Host-pm_console";
const OIDC_COOKIE: &str = "pm_console_signin";

fn cookie_name(config: &ConsoleConfig) -> &'static str {
    if config.secure() {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

fn read_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn set_cookie(config: &ConsoleConfig, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if config.secure() { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("x=; Max-Age=0"))
}

// ---- the signed-in user ----

/// The user signed in to the console, and their session's CSRF token.
#[derive(Clone)]
pub struct Viewer {
    pub user: User,
    pub csrf: String,
    /// The administrator whose sign-in link opened this session (the actor of its changes).
    pub issued_by: Option<UserId>,
    token_hash: [u8; 32],
}

/// What every page needs besides its own content.
#[derive(Clone)]
pub struct Ctx {
    /// The origin users reach the console at: the public URL's, else `http://{Host}`.
    pub origin: String,
    /// `{prefix}/console`.
    pub base: String,
    pub viewer: Option<Viewer>,
}

impl Ctx {
    pub fn href(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

/// Finds the session the cookie names; an expired or ended one, or one whose user was disabled
/// or deleted, is no session (and its cookie is cleared).
async fn load_session(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(config) = state.http.console.as_ref() else {
        return next.run(req).await;
    };
    let base = format!("{}/console", config.prefix);
    let origin = config.public_origin().unwrap_or_else(|| {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}")
    });
    let mut clear = false;
    let mut viewer = None;
    if let Some(token) = read_cookie(req.headers(), cookie_name(config)) {
        let hash = digest(token);
        match state.store.console_session(&hash, Utc::now()).await {
            Ok(Some(session)) => {
                viewer = Some(Viewer {
                    user: session.user,
                    csrf: csrf_of(token),
                    issued_by: session.issued_by,
                    token_hash: hash,
                })
            }
            Ok(None) => clear = true,
            Err(e) => {
                let ctx = Ctx {
                    origin,
                    base,
                    viewer: None,
                };
                return view::store_error(&ctx, e);
            }
        }
    }
    req.extensions_mut().insert(Ctx {
        origin,
        base,
        viewer,
    });
    let mut res = next.run(req).await;
    if clear {
        res.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(config, cookie_name(config), "", 0),
        );
    }
    res
}

/// A page for signed-in users: the user, or a redirect to the sign-in page.
pub struct SignedIn(pub Ctx, pub Viewer);

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ctx = parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or_else(|| StatusCode::NOT_FOUND.into_response())?;
        match ctx.viewer.clone() {
            Some(v) => Ok(SignedIn(ctx, v)),
            None => Err(Redirect::to(&ctx.href("/signin")).into_response()),
        }
    }
}

/// A page for administrators only.
pub struct AdminIn(pub Ctx, pub Viewer);

impl<S: Send + Sync> FromRequestParts<S> for AdminIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        let SignedIn(ctx, viewer) = SignedIn::from_request_parts(parts, s).await?;
        if !viewer.user.is_admin {
            return Err(view::message(
                &ctx,
                StatusCode::FORBIDDEN,
                "Administrators only",
                "This page is for pm-mcp's administrators. Ask one if you need something done here.",
            ));
        }
        Ok(AdminIn(ctx, viewer))
    }
}

/// Any console page's context (signed in or not).
pub struct Page(pub Ctx);

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .map(Page)
            .ok_or_else(|| StatusCode::NOT_FOUND.into_response())
    }
}

// ---- forms ----

/// A submitted form's fields in order (a name may repeat: check boxes).
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
            .map(Fields)
            .map_err(|_| "the form could not be read".to_string())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The trimmed value, `None` when absent or blank.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    }

    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// A change's form, read only after its CSRF token matched the session's.
pub async fn change_form(ctx: &Ctx, viewer: &Viewer, body: &[u8]) -> Result<Fields, Response> {
    let fields = Fields::parse(body).map_err(|m| {
        view::message(
            ctx,
            StatusCode::BAD_REQUEST,
            "The form could not be read",
            &m,
        )
    })?;
    match fields.get("csrf") {
        Some(token) if same(token, &viewer.csrf) => Ok(fields),
        _ => Err(view::message(
            ctx,
            StatusCode::FORBIDDEN,
            "This form has expired",
            "The page was open from an earlier sign-in, or the request did not come from this \
             console. Go back, reload the page and try again.",
        )),
    }
}

// ---- audit ----

/// Records a change made in the console, as `console.<what>`, for `user`; the actor is the viewer
/// when they acted for someone else, or the administrator whose link opened the session.
pub fn audit(
    state: &AppState,
    viewer: &Viewer,
    user: UserId,
    what: &str,
    outcome: Outcome,
    started: Instant,
) {
    let actor = if viewer.user.id != user {
        Some(viewer.user.id)
    } else {
        viewer.issued_by
    };
    state.audit.record(AuditEvent {
        id: uuid::Uuid::new_v4(),
        at: Utc::now(),
        user_id: Some(user),
        key_id: None,
        tool: format!("console.{what}"),
        connection_id: None,
        outcome,
        duration_ms: started.elapsed().as_millis() as i64,
        error_kind: None,
        request_id: None,
        actor_user_id: actor,
    });
}

// ---- sessions ----

/// Opens a session for `user`: the row, and the cookie that names it.
async fn open_session(
    state: &AppState,
    config: &ConsoleConfig,
    user: &User,
    issued_by: Option<UserId>,
) -> Result<HeaderValue, StoreError> {
    let (token, hash) = new_token();
    let now = Utc::now();
    state
        .store
        .add_console_session(
            &hash,
            user.id,
            issued_by,
            now,
            now + Duration::hours(SESSION_HOURS),
        )
        .await?;
    // Now and then, what has expired goes.
    if hash[0] == 0 {
        let _ = state.store.purge_console(now).await;
    }
    Ok(set_cookie(
        config,
        cookie_name(config),
        &token,
        SESSION_HOURS * 3600,
    ))
}

/// Stores a one-time ticket; its token goes to the user (a link) or their browser (a cookie).
async fn add_ticket(
    store: &dyn Store,
    kind: TicketKind,
    user: Option<UserId>,
    data: Option<String>,
    minutes: i64,
) -> Result<String, StoreError> {
    let (token, hash) = new_token();
    store
        .add_console_ticket(&NewTicket {
            token_hash: hash,
            kind,
            user_id: user,
            data,
            expires_at: Utc::now() + Duration::minutes(minutes),
        })
        .await?;
    Ok(token)
}

// ---- guards ----

/// The same Host check as `/mcp`; a browser's Origin must be the console's own (the Host it
/// asked) or an allowed one. Changes (POST) must come with an Origin or a Referer of the console.
async fn guard(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(host) = host.filter(|h| crate::http::host_allowed(&state.http.allowed_hosts, h))
    else {
        return (
            StatusCode::FORBIDDEN,
            "This Host is not allowed; an operator can add it with --allowed-host.",
        )
            .into_response();
    };
    // The console's own origin: the Host the browser asked (a proxy passing it on), or the
    // public URL's (a proxy that rewrites Host).
    let public = state
        .http
        .console
        .as_ref()
        .and_then(ConsoleConfig::public_origin);
    let own = |origin: &str| {
        public
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case(origin))
            || origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .is_some_and(|rest| rest.eq_ignore_ascii_case(&host))
    };
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    if let Some(origin) = origin
        && !own(origin)
        && !crate::http::origin_allowed(&state.http.allowed_origins, origin)
    {
        return (
            StatusCode::FORBIDDEN,
            "This request came from another site, so it was refused.",
        )
            .into_response();
    }
    if req.method() == axum::http::Method::POST && origin.is_none() {
        let referer_own = req
            .headers()
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|r| url::Url::parse(r).ok())
            .is_some_and(|u| own(u.origin().ascii_serialization().as_str()));
        if !referer_own {
            return (
                StatusCode::FORBIDDEN,
                "A change must come from a console page (the request named no Origin).",
            )
                .into_response();
        }
    }
    next.run(req).await
}

/// The Content-Security-Policy: the console's own CSS and script, nothing inline, never framed.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

// ---- rate limits ----

/// Attempts per client address in a window (sign-in links and identity-provider sign-ins), in
/// this process: a guessing run is slowed to a few tries a minute.
#[derive(Default)]
pub struct Attempts {
    seen: Mutex<HashMap<std::net::IpAddr, (Instant, u32)>>,
}

/// Attempts allowed per address per minute.
const ATTEMPTS_PER_MINUTE: u32 = 10;

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
fn client_ip(
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
    fn csrf_tokens_differ_per_session_and_compare_exactly() {
        let (a, _) = new_token();
        let (b, _) = new_token();
        assert_ne!(csrf_of(&a), csrf_of(&b));
        assert!(same(&csrf_of(&a), &csrf_of(&a)));
        assert!(!same(&csrf_of(&a), &csrf_of(&b)));
        assert!(!same("", &csrf_of(&a)));
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("xpm_console=no; pm_console=yes; other=1"),
        );
        assert_eq!(read_cookie(&h, "pm_console"), Some("yes"));
        assert_eq!(read_cookie(&h, "missing"), None);
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
