//! What every console page stands on: tokens and cookies, the signed-in user and the
//! extractors that demand one, form fields with their CSRF check, the audit row of a change,
//! sessions and sign-in tickets in the store, and the guards every request passes.
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{Duration, Utc};
use pm_core::UserId;
use pm_store::{AuditEvent, NewTicket, Outcome, Store, StoreError, TicketKind, User};
use sha2::{Digest, Sha256};

use super::config::{ConsoleConfig, SESSION_HOURS};
use super::context::{Ctx, Viewer};
use super::view;
use crate::state::AppState;

// ---- tokens ----

/// A random token (256 bits, base64url) and its SHA-256, which is all the database keeps.
pub(super) fn new_token() -> (String, [u8; 32]) {
    use rand::RngCore as _;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = B64.encode(bytes);
    let hash = digest(&token);
    (token, hash)
}

pub(super) fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The CSRF token of a session: derived from its (secret) token, so it needs no storage and
/// cannot be guessed from anything an attacker sees.
pub(super) fn csrf_of(session_token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"pm-mcp console csrf\0");
    h.update(session_token.as_bytes());
    B64.encode(h.finalize())
}

/// Compares without stopping at the first difference.
pub(super) fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

// ---- cookies ----

pub(super) const SESSION_COOKIE: &str = "pm_console";
pub(super) const SECURE_SESSION_COOKIE: &str = "__Host-pm_console";
pub(super) const OIDC_COOKIE: &str = "pm_console_signin";

pub(super) fn cookie_name(config: &ConsoleConfig) -> &'static str {
    if config.secure() {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

pub(super) fn read_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub(super) fn set_cookie(
    config: &ConsoleConfig,
    name: &str,
    value: &str,
    max_age: i64,
) -> HeaderValue {
    let secure = if config.secure() { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("x=; Max-Age=0"))
}

// ---- the signed-in user ----

/// Finds the session the cookie names; an expired or ended one, or one whose user was disabled
/// or deleted, is no session (and its cookie is cleared).
pub(super) async fn load_session(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(config) = state.http.console.as_ref() else {
        return next.run(req).await;
    };
    let base = format!("{}/console", config.prefix);
    let origin = config.public_origin().unwrap_or_else(|| {
        let host = crate::allow_list::requested_host(req.headers(), req.uri());
        format!("http://{}", host.as_deref().unwrap_or("localhost"))
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
pub(super) async fn open_session(
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
pub(super) async fn add_ticket(
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
pub(super) async fn guard(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let host = crate::allow_list::requested_host(req.headers(), req.uri());
    let Some(host) = host.filter(|h| crate::allow_list::host_allowed(&state.http.allowed_hosts, h))
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
        && !crate::allow_list::origin_allowed(&state.http.allowed_origins, origin)
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
pub(super) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(super) async fn security_headers(req: Request, next: Next) -> Response {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
