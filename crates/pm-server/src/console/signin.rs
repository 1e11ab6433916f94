//! Signing in to the console without a password of pm-mcp's own: a one-time link
//! (`pm-mcp console-link`, or an administrator's page), or the company's identity provider
//! (OpenID Connect authorization code with PKCE, pm-mcp a confidential client).
use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use maud::html;
use pm_store::{Store, StoreError, TicketKind, User};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::config::{ConsoleConfig, LINK_MINUTES, client_ip};
use super::context::{Ctx, Page};
use super::session::{
    Fields, OIDC_COOKIE, SignedIn, add_ticket, change_form, cookie_name, digest, new_token,
    open_session, read_cookie, same, set_cookie,
};
use super::view::{self, Nav};
use crate::state::AppState;

/// A one-time sign-in link's token for `user`, valid for [`LINK_MINUTES`]; the link is
/// `{console}/link?token={token}`.
pub async fn new_sign_in_link(store: &dyn Store, user: &User) -> Result<String, StoreError> {
    add_ticket(store, TicketKind::Link, Some(user.id), None, LINK_MINUTES).await
}

pub async fn page(State(state): State<Arc<AppState>>, Page(ctx): Page) -> Response {
    if ctx.viewer.is_some() {
        return Redirect::to(&ctx.href("/keys")).into_response();
    }
    let oidc = state.http.console.as_ref().and_then(|c| c.oidc.as_ref());
    let body = html! {
        @if let Some(o) = oidc {
            form method="post" action=(ctx.href("/auth/start")) {
                button.primary type="submit" { "Sign in with " (o.label) }
            }
            p.muted { "Or open a one-time sign-in link an administrator gave you." }
        } @else {
            p { "Open the one-time sign-in link an administrator gave you. An administrator makes one on the Users page, or on the server with:" }
            pre { code { "pm-mcp console-link --user you@example.org" } }
            p.muted { "A link works once, for " (LINK_MINUTES) " minutes." }
        }
    };
    view::render(StatusCode::OK, view::page(&ctx, Nav::None, "Sign in", body))
}

#[derive(Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    token: Option<String>,
}

/// What a sign-in link's ticket carries besides its user: the administrator who made it.
#[derive(Serialize, Deserialize, Default)]
struct LinkData {
    #[serde(default)]
    issued_by: Option<pm_core::UserId>,
}

/// A one-time sign-in link's token for `user`, made by the administrator `issued_by` (who is then
/// the actor of what is done in the session it opens).
pub async fn new_sign_in_link_by(
    store: &dyn Store,
    user: &User,
    issued_by: pm_core::UserId,
) -> Result<String, StoreError> {
    let data = serde_json::to_string(&LinkData {
        issued_by: Some(issued_by),
    })
    .ok();
    add_ticket(store, TicketKind::Link, Some(user.id), data, LINK_MINUTES).await
}

/// The link's page: whom it signs in, and a button that uses it (a link preview or a mail
/// scanner fetching the page does not use up the link).
pub async fn link_page(
    State(state): State<Arc<AppState>>,
    Page(ctx): Page,
    Query(q): Query<LinkQuery>,
) -> Response {
    let Some(token) = q.token.filter(|t| !t.is_empty() && t.len() <= 100) else {
        return view::message(
            &ctx,
            StatusCode::BAD_REQUEST,
            "This sign-in link is incomplete",
            "Copy the whole link, or ask for a new one.",
        );
    };
    let ticket = match state
        .store
        .peek_console_ticket(&digest(&token), TicketKind::Link, chrono::Utc::now())
        .await
    {
        Ok(Some(t)) => t,
        Ok(None) => return bad_link(&ctx),
        Err(e) => return view::store_error(&ctx, e),
    };
    let user = match ticket.user_id {
        Some(id) => match state.store.get_user(id).await {
            Ok(Some(u)) if !u.is_disabled() => u,
            Ok(_) => return bad_link(&ctx),
            Err(e) => return view::store_error(&ctx, e),
        },
        None => return bad_link(&ctx),
    };
    let other = ctx.viewer.as_ref().filter(|v| v.user.id != user.id);
    let body = html! {
        p { "This one-time link signs you in to pm-mcp as " strong { (user.name) " (" (user.email.as_str()) ")" } "." }
        p.help { "Keys you make and trackers you add after signing in belong to that account. If it is not yours, close this page." }
        @if let Some(v) = other {
            p.notice.error role="alert" { "You are signed in as " (v.user.email.as_str()) " now; signing in with this link replaces that session in this browser." }
        }
        form method="post" action=(ctx.href("/link")) {
            input type="hidden" name="token" value=(token);
            button.primary type="submit" { "Sign in as " (user.email.as_str()) }
        }
    };
    view::render(StatusCode::OK, view::page(&ctx, Nav::None, "Sign in", body))
}

pub async fn link_use(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let Some(ctx) = req.extensions().get::<Ctx>().cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(config) = state.http.console.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let from = client_ip(&config, req.extensions(), req.headers());
    if !state.console_attempts.allow(from) {
        return too_many(&ctx);
    }
    let Ok(body) = axum::body::to_bytes(req.into_body(), 16 * 1024).await else {
        return bad_link(&ctx);
    };
    let Ok(fields) = Fields::parse(&body) else {
        return bad_link(&ctx);
    };
    let Some(token) = fields.text("token") else {
        return bad_link(&ctx);
    };
    let ticket = match state
        .store
        .take_console_ticket(&digest(&token), TicketKind::Link, chrono::Utc::now())
        .await
    {
        Ok(Some(t)) => t,
        Ok(None) => return bad_link(&ctx),
        Err(e) => return view::store_error(&ctx, e),
    };
    let user = match ticket.user_id {
        Some(id) => match state.store.get_user(id).await {
            Ok(Some(u)) if !u.is_disabled() => u,
            Ok(_) => return bad_link(&ctx),
            Err(e) => return view::store_error(&ctx, e),
        },
        None => return bad_link(&ctx),
    };
    let issued_by = ticket
        .data
        .and_then(|d| serde_json::from_str::<LinkData>(&d).ok())
        .and_then(|d| d.issued_by)
        .filter(|by| *by != user.id);
    signed_in(&state, &config, &ctx, &user, issued_by).await
}

fn bad_link(ctx: &Ctx) -> Response {
    view::message(
        ctx,
        StatusCode::BAD_REQUEST,
        "This sign-in link does not work",
        "It was used already, it expired (links last 15 minutes), or it was copied only in part. \
         Ask an administrator for a new one.",
    )
}

fn too_many(ctx: &Ctx) -> Response {
    view::message(
        ctx,
        StatusCode::TOO_MANY_REQUESTS,
        "Too many sign-in attempts",
        "Wait a minute, then try again.",
    )
}

/// Opens the session and goes to the keys page.
async fn signed_in(
    state: &AppState,
    config: &ConsoleConfig,
    ctx: &Ctx,
    user: &User,
    issued_by: Option<pm_core::UserId>,
) -> Response {
    match open_session(state, config, user, issued_by).await {
        Ok(cookie) => {
            tracing::info!(user_id = %user.id, "console: signed in");
            let mut res = Redirect::to(&ctx.href("/keys")).into_response();
            res.headers_mut().append(header::SET_COOKIE, cookie);
            res
        }
        Err(e) => view::store_error(ctx, e),
    }
}

pub async fn sign_out(
    State(state): State<Arc<AppState>>,
    SignedIn(ctx, viewer): SignedIn,
    body: axum::body::Bytes,
) -> Response {
    if let Err(res) = change_form(&ctx, &viewer, &body).await {
        return res;
    }
    if let Err(e) = state.store.end_console_session(&viewer.token_hash).await {
        return view::store_error(&ctx, e);
    }
    let Some(config) = state.http.console.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut res = Redirect::to(&ctx.href("/signin")).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(config, cookie_name(config), "", 0),
    );
    res
}

// ---- OpenID Connect ----

/// What the sign-in under way keeps until the identity provider sends the user back.
#[derive(Serialize, Deserialize)]
struct Pending {
    verifier: String,
    nonce: String,
}

/// Where the identity provider sends users back: the public URL's origin, else the request's.
fn redirect_uri(ctx: &Ctx) -> String {
    format!("{}{}", ctx.origin, ctx.href("/auth/callback"))
}

pub async fn oidc_start(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let Some(ctx) = req.extensions().get::<Ctx>().cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(config) = state.http.console.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (Some(client), Some(verifier)) = (config.oidc.clone(), state.http.oauth.clone()) else {
        return view::message(
            &ctx,
            StatusCode::NOT_FOUND,
            "No identity provider",
            "This server signs in with one-time links only.",
        );
    };
    if !state
        .console_attempts
        .allow(client_ip(&config, req.extensions(), req.headers()))
    {
        return too_many(&ctx);
    }
    let meta = match verifier.metadata(&client.issuer).await {
        Ok((_, meta)) => meta,
        Err(e) => return idp_down(&ctx, &e),
    };
    let Some(authorize) = meta
        .get("authorization_endpoint")
        .and_then(|v| v.as_str())
        .and_then(|u| url::Url::parse(u).ok())
    else {
        return idp_down(&ctx, "its metadata names no authorization_endpoint");
    };
    let (pkce, _) = new_token();
    let (nonce, _) = new_token();
    let challenge = B64.encode(Sha256::digest(pkce.as_bytes()));
    let data = serde_json::to_string(&Pending {
        verifier: pkce,
        nonce: nonce.clone(),
    })
    .unwrap_or_default();
    let state_token =
        match add_ticket(state.store.as_ref(), TicketKind::Oidc, None, Some(data), 10).await {
            Ok(t) => t,
            Err(e) => return view::store_error(&ctx, e),
        };
    let mut to = authorize;
    to.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client.client_id)
        .append_pair("redirect_uri", &redirect_uri(&ctx))
        .append_pair("scope", "openid email profile")
        .append_pair("state", &state_token)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let mut res = Redirect::to(to.as_str()).into_response();
    // The browser that started the sign-in is the one that may finish it.
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&config, OIDC_COOKIE, &state_token, 600),
    );
    res
}

fn idp_down(ctx: &Ctx, why: &str) -> Response {
    tracing::warn!(error = %why, "console: the identity provider cannot be used");
    view::message(
        ctx,
        StatusCode::BAD_GATEWAY,
        "The identity provider cannot be reached",
        "pm-mcp could not talk to the company's sign-in service. Try again in a moment; the server \
         log says more.",
    )
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub async fn oidc_callback(
    State(state): State<Arc<AppState>>,
    Page(ctx): Page,
    Query(q): Query<Callback>,
    headers: axum::http::HeaderMap,
) -> Response {
    let Some(config) = state.http.console.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (Some(client), Some(verifier)) = (config.oidc.clone(), state.http.oauth.clone()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let refused = |text: &str| {
        view::message(
            &ctx,
            StatusCode::BAD_REQUEST,
            "Sign-in did not finish",
            text,
        )
    };
    // The sign-in must have started in this browser: checked before anything the address
    // carries is shown (an error text in a crafted address is not the identity provider's word).
    let Some(state_token) = q.state.clone() else {
        return refused("The identity provider sent you back without a sign-in. Try again.");
    };
    match read_cookie(&headers, OIDC_COOKIE) {
        Some(c) if same(c, &state_token) => {}
        _ => {
            return refused(
                "This sign-in was started in another browser or tab, or took longer than 10 \
                 minutes. Start again from the sign-in page.",
            );
        }
    }
    if let Some(error) = q.error.as_deref() {
        // The standard codes in words of pm-mcp's own (RFC 6749 §4.1.2.1, OpenID Connect §3.1.2.6).
        let why = match error {
            "access_denied" => "you (or its policy) declined to sign you in to pm-mcp",
            "login_required" | "interaction_required" => "it needs you to sign in there first",
            "consent_required" => "it needs your consent first",
            "temporarily_unavailable" => "it is busy or down for now",
            _ => "it refused the sign-in",
        };
        tracing::warn!(%error, "console: the identity provider refused a sign-in");
        return refused(&format!(
            "The identity provider said {why}. Try signing in again."
        ));
    }
    let Some(code) = q.code.clone() else {
        return refused("The identity provider sent you back without a sign-in. Try again.");
    };
    let pending = match state
        .store
        .take_console_ticket(&digest(&state_token), TicketKind::Oidc, chrono::Utc::now())
        .await
    {
        Ok(Some(t)) => t
            .data
            .and_then(|d| serde_json::from_str::<Pending>(&d).ok()),
        Ok(None) => None,
        Err(e) => return view::store_error(&ctx, e),
    };
    let Some(pending) = pending else {
        return refused("This sign-in was used already or expired. Start again.");
    };
    let meta = match verifier.metadata(&client.issuer).await {
        Ok((_, meta)) => meta,
        Err(e) => return idp_down(&ctx, &e),
    };
    let Some(token_url) = meta.get("token_endpoint").and_then(|v| v.as_str()) else {
        return idp_down(&ctx, "its metadata names no token_endpoint");
    };
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", &code)
        .append_pair("redirect_uri", &redirect_uri(&ctx))
        .append_pair("code_verifier", &pending.verifier)
        .finish();
    let answer = verifier
        .http()
        .post(token_url)
        .basic_auth(
            form_encode(&client.client_id),
            Some(form_encode(client.client_secret.expose())),
        )
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await;
    let body: serde_json::Value = match answer {
        Ok(res) if res.status().is_success() => match res.json().await {
            Ok(v) => v,
            Err(e) => return idp_down(&ctx, &format!("its token answer is not JSON: {e}")),
        },
        Ok(res) => {
            let status = res.status();
            let text = res.text().await.unwrap_or_default();
            let why = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
                .unwrap_or_else(|| status.to_string());
            tracing::warn!(%status, error = %why, "console: the identity provider refused the code");
            return refused(&format!(
                "The identity provider refused to finish the sign-in ({why}). Start again."
            ));
        }
        Err(e) => return idp_down(&ctx, &e.to_string()),
    };
    let Some(id_token) = body.get("id_token").and_then(|v| v.as_str()) else {
        return idp_down(&ctx, "its token answer holds no id_token");
    };
    let mut claims = match verifier
        .verify_id_token(id_token, &client.issuer, &client.client_id, &pending.nonce)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "console: an ID token was refused");
            return refused(&format!("The sign-in could not be verified: {e}."));
        }
    };
    // An identity provider may keep the e-mail for its userinfo endpoint (OpenID Connect Core
    // §5.4): asked with the access token, for the same subject.
    if !verifier.names_user(&claims)
        && let (Some(userinfo), Some(access)) = (
            meta.get("userinfo_endpoint").and_then(|v| v.as_str()),
            body.get("access_token").and_then(|v| v.as_str()),
        )
    {
        match verifier.userinfo(userinfo, access).await {
            Ok(serde_json::Value::Object(info)) if info.get("sub") == claims.get("sub") => {
                // The e-mail comes from the userinfo, and so does whether it is verified.
                claims.remove("email_verified");
                for (k, v) in info {
                    claims.entry(k).or_insert(v);
                }
            }
            Ok(_) => {
                return refused("The identity provider's user information names someone else.");
            }
            Err(e) => return idp_down(&ctx, &e),
        }
    }
    let identity = match verifier.identity(&client.issuer, &claims) {
        Ok(i) => i,
        Err(e) => return refused(&format!("The sign-in could not be used: {e}.")),
    };
    let user = match state.auth.user_signing_in(&verifier, &identity).await {
        Ok(u) => u,
        Err(e) => {
            return view::message(
                &ctx,
                StatusCode::FORBIDDEN,
                "You cannot sign in to pm-mcp",
                &e.to_string(),
            );
        }
    };
    let mut res = signed_in(&state, &config, &ctx, &user, None).await;
    res.headers_mut()
        .append(header::SET_COOKIE, set_cookie(&config, OIDC_COOKIE, "", 0));
    res
}

/// `application/x-www-form-urlencoded` of a client id or secret for HTTP Basic (RFC 6749 §2.3.1).
fn form_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
