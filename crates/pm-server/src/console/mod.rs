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
use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};

use crate::state::AppState;

mod admin;
pub mod config;
mod context;
mod me;
mod session;
mod signin;
mod view;

pub use config::{Attempts, ConsoleConfig, LINK_MINUTES, OidcClient, SESSION_HOURS};
pub use pm_providers::guard::Cidr;
pub use signin::{new_sign_in_link, new_sign_in_link_by};

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
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::load_session,
        ))
        // The CSS and script need no session: no database read for them.
        .route("/assets/console.css", get(view::css))
        .route("/assets/console.js", get(view::js))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::guard,
        ))
        .layer(middleware::from_fn(session::security_headers));
    let mut router = Router::new().nest("/console", pages.clone());
    if !config.prefix.is_empty() {
        router = router.nest(&format!("{}/console", config.prefix), pages);
    }
    router
}
