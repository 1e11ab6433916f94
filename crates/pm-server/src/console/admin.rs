//! Administration: users (add, disable, enable, make or stop being admin, delete, sign-in link),
//! a user's keys and connections (never secrets), the whole audit trail, and usage.
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use maud::{Markup, html};
use pm_core::{ConnectionId, Email, UserId};
use pm_store::{NewUser, Outcome, StoreError, User, UserChange};
use serde::Deserialize;

use super::config::LINK_MINUTES;
use super::context::{Ctx, Page};
use super::me::{ActivityQuery, activity_controls, activity_filter, events_table};
use super::session::{AdminIn, audit, change_form};
use super::view::{self, Nav, csrf, notice, when};
use crate::manage;
use crate::state::AppState;

type St = State<Arc<AppState>>;

#[derive(Deserialize, Default)]
pub struct Notice {
    #[serde(default)]
    done: Option<String>,
}

fn done_text(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "added" => "The user was added. Give them a sign-in link to get started.",
        "changed" => "The user was changed.",
        "deleted" => "The user was deleted, with their keys, connections and console sessions.",
        "revoked" => "The key was revoked.",
        _ => return None,
    })
}

pub async fn users(
    State(state): St,
    AdminIn(ctx, _): AdminIn,
    Query(n): Query<Notice>,
) -> Response {
    render_users(
        &state,
        &ctx,
        StatusCode::OK,
        done_text(n.done.as_deref()),
        None,
        "",
        "",
    )
    .await
}

async fn render_users(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    ok: Option<&str>,
    error: Option<&str>,
    email: &str,
    name: &str,
) -> Response {
    let list = match state.store.list_users().await {
        Ok(l) => l,
        Err(e) => return view::store_error(ctx, e),
    };
    let claimed = state
        .http
        .oauth
        .as_ref()
        .and_then(|o| o.settings().admin_claim.clone())
        .map(|c| c.claim);
    view::render(
        status,
        users_page(ctx, &list, ok, error, email, name, claimed.as_deref()),
    )
}

fn users_page(
    ctx: &Ctx,
    list: &[User],
    ok: Option<&str>,
    error: Option<&str>,
    email: &str,
    name: &str,
    admin_claim: Option<&str>,
) -> Markup {
    let me = ctx.viewer.as_ref().map(|v| v.user.id);
    let body = html! {
        (notice(ok, true))
        (notice(error, false))
        @if let Some(claim) = admin_claim {
            p.help { "The identity provider's " code { (claim) } " claim names the administrators: a user it names (or not) is made (or stops being) an administrator again at their next sign-in with it, whatever is set here." }
        }
        p.help { "Whoever opens a sign-in link you make is signed in as its user; pm-mcp cannot tell who that is, so what is done in that session is audited with you as the actor." }
        div.table {
            table {
                caption.sr-only { "pm-mcp's users" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "E-mail" } th scope="col" { "Role" } th scope="col" { "State" } th scope="col" { "Added" } th scope="col" { "Actions" } } }
                tbody {
                    @for u in list {
                        tr {
                            td { a href=(ctx.href(&format!("/admin/users/{}", u.id))) { (u.name) } }
                            td { (u.email.as_str()) }
                            td { @if u.is_admin { "administrator" } @else { "user" } }
                            td { @if u.is_disabled() { span.status.revoked { "disabled" } } @else { span.status.active { "active" } } }
                            td { (when(Some(u.created_at))) }
                            td.actions {
                                @if Some(u.id) != me {
                                    (action(ctx, u, if u.is_disabled() { "enable" } else { "disable" }, if u.is_disabled() { "Enable" } else { "Disable" }, None))
                                    (action(ctx, u, if u.is_admin { "unadmin" } else { "admin" }, if u.is_admin { "Remove admin" } else { "Make admin" }, None))
                                    (action(ctx, u, "delete", "Delete", Some(format!("Delete {} with their keys and connections? This cannot be undone.", u.email.as_str()))))
                                }
                                @if !u.is_disabled() {
                                    form method="post" action=(ctx.href(&format!("/admin/users/{}/link", u.id))) {
                                        (csrf(ctx))
                                        button type="submit" { "Sign-in link" span.sr-only { " for " (u.email.as_str()) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 #add { "Add a user" }
        form.card method="post" action=(ctx.href("/admin/users")) {
            (csrf(ctx))
            label for="u-email" { "E-mail" }
            input #u-email type="email" name="email" required value=(email);
            label for="u-name" { "Name " span.muted { "(optional)" } }
            input #u-name type="text" name="name" maxlength="200" value=(name);
            label.check { input type="checkbox" name="is_admin" value="1"; " Administrator" }
            button.primary type="submit" { "Add the user" }
        }
    };
    view::page(ctx, Nav::Users, "Users", body)
}

fn action(ctx: &Ctx, u: &User, what: &str, label: &str, confirm: Option<String>) -> Markup {
    html! {
        form method="post" action=(ctx.href(&format!("/admin/users/{}/change", u.id))) {
            (csrf(ctx))
            input type="hidden" name="action" value=(what);
            button.danger[what == "delete" || what == "disable"] type="submit" data-confirm=[confirm] { (label) span.sr-only { " " (u.email.as_str()) } }
        }
    }
}

pub async fn add_user(State(state): St, AdminIn(ctx, v): AdminIn, body: Bytes) -> Response {
    let f = match change_form(&ctx, &v, &body).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let started = Instant::now();
    let raw_email = f.text("email").unwrap_or_default();
    let raw_name = f.text("name").unwrap_or_default();
    let refuse = |m: String| {
        let (state, ctx, e, n) = (&state, &ctx, raw_email.clone(), raw_name.clone());
        async move {
            render_users(
                state,
                ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(&m),
                &e,
                &n,
            )
            .await
        }
    };
    let Ok(email) = Email::parse(&raw_email) else {
        return refuse("Give an e-mail address.".into()).await;
    };
    if let Err(m) = manage::check_printable("The name", &raw_name) {
        return refuse(m).await;
    }
    let name = manage::display_name(&email, Some(&raw_name));
    match state
        .store
        .add_user(NewUser::new(email, name, f.checked("is_admin")))
        .await
    {
        Ok(u) => {
            audit(&state, &v, u.id, "add_user", Outcome::Ok, started);
            Redirect::to(&ctx.href("/admin/users?done=added")).into_response()
        }
        Err(StoreError::Conflict(m)) => refuse(m).await,
        Err(e) => view::store_error(&ctx, e),
    }
}

async fn target(state: &AppState, ctx: &Ctx, raw: &str) -> Result<User, Response> {
    let Ok(id) = raw.parse::<UserId>() else {
        return Err(view::not_found(Page(ctx.clone())).await);
    };
    match state.store.get_user(id).await {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(view::not_found(Page(ctx.clone())).await),
        Err(e) => Err(view::store_error(ctx, e)),
    }
}

pub async fn change_user(
    State(state): St,
    AdminIn(ctx, v): AdminIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let f = match change_form(&ctx, &v, &body).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let started = Instant::now();
    let user = match target(&state, &ctx, &id).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    if user.id == v.user.id {
        return render_users(
            &state,
            &ctx,
            StatusCode::CONFLICT,
            None,
            Some("You cannot disable, demote or delete yourself; ask another administrator."),
            "",
            "",
        )
        .await;
    }
    let what = f.get("action").unwrap_or("");
    let result = match what {
        "disable" | "enable" => state
            .store
            .set_user_disabled(user.id, what == "disable")
            .await
            .map(|_| ()),
        "admin" | "unadmin" => state
            .store
            .update_user(
                user.id,
                &UserChange {
                    name: None,
                    is_admin: Some(what == "admin"),
                },
            )
            .await
            .map(|_| ()),
        "delete" => {
            let conns = match state.store.list_connections(user.id).await {
                Ok(c) => c,
                Err(e) => return view::store_error(&ctx, e),
            };
            for c in conns {
                state.service.forget(c.id);
            }
            let r = state.store.delete_user(user.id).await.map(|_| ());
            state.forget_connections(user.id);
            r
        }
        _ => {
            return view::message(
                &ctx,
                StatusCode::BAD_REQUEST,
                "Unknown change",
                "The form asked for a change this page does not make.",
            );
        }
    };
    match result {
        Ok(()) => {
            // Keys stop working here at once (other replicas follow the auth epoch); disabling
            // also removed the user's console sessions (the store does, whoever disables).
            state.auth.refresh().await;
            let tool = format!("{}_user", what);
            audit(&state, &v, user.id, &tool, Outcome::Ok, started);
            let done = if what == "delete" {
                "deleted"
            } else {
                "changed"
            };
            Redirect::to(&ctx.href(&format!("/admin/users?done={done}"))).into_response()
        }
        Err(StoreError::NotFound(_)) => view::not_found(Page(ctx)).await,
        Err(e) => view::store_error(&ctx, e),
    }
}

pub async fn sign_in_link(
    State(state): St,
    AdminIn(ctx, v): AdminIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(res) = change_form(&ctx, &v, &body).await {
        return res;
    }
    let started = Instant::now();
    let user = match target(&state, &ctx, &id).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    if user.is_disabled() {
        return view::message(
            &ctx,
            StatusCode::CONFLICT,
            "No link for a disabled user",
            "Enable the user first.",
        );
    }
    let token =
        match super::signin::new_sign_in_link_by(state.store.as_ref(), &user, v.user.id).await {
            Ok(t) => t,
            Err(e) => return view::store_error(&ctx, e),
        };
    audit(&state, &v, user.id, "sign_in_link", Outcome::Ok, started);
    let link = format!("{}{}?token={token}", ctx.origin, ctx.href("/link"));
    let body = html! {
        p { "Send this link to " strong { (user.email.as_str()) } " by a channel only they read. It signs them in once, within " (LINK_MINUTES) " minutes." }
        div.secret { code #link { (link) } button type="button" data-copy="link" { "Copy the link" } }
        p { a href=(ctx.href("/admin/users")) { "Back to users" } }
    };
    view::render(
        StatusCode::CREATED,
        view::page(&ctx, Nav::Users, "Sign-in link", body),
    )
}

pub async fn user(
    State(state): St,
    AdminIn(ctx, _): AdminIn,
    Path(id): Path<String>,
    Query(n): Query<Notice>,
) -> Response {
    let user = match target(&state, &ctx, &id).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    let keys = match state.store.list_api_keys(user.id).await {
        Ok(k) => k,
        Err(e) => return view::store_error(&ctx, e),
    };
    let conns = match state.store.list_connections(user.id).await {
        Ok(c) => c,
        Err(e) => return view::store_error(&ctx, e),
    };
    let now = Utc::now();
    let body = html! {
        (notice(done_text(n.done.as_deref()), true))
        dl.facts {
            dt { "E-mail" } dd { (user.email.as_str()) }
            dt { "Role" } dd { @if user.is_admin { "administrator" } @else { "user" } }
            dt { "State" } dd { @if user.is_disabled() { "disabled" } @else { "active" } }
            dt { "Added" } dd { (when(Some(user.created_at))) }
        }
        h2 { "Keys" }
        @if keys.is_empty() { p.muted { "No keys." } } @else {
            div.table { table {
                caption.sr-only { "The user's API keys" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "Key starts" } th scope="col" { "Scopes" } th scope="col" { "Status" } th scope="col" { "Last used" } th scope="col" { "Actions" } } }
                tbody { @for k in &keys {
                    @let status = k.status(now);
                    tr {
                        td { (k.name) } td { code { (k.key_prefix) "…" } } td { (k.scopes.to_string()) }
                        td { span class=(format!("status {status}")) { (status) } } td { (when(k.last_used_at)) }
                        td.actions { @if status == "active" {
                            form method="post" action=(ctx.href(&format!("/admin/users/{}/keys/{}/revoke", user.id, k.id))) {
                                (csrf(&ctx))
                                button.danger type="submit" data-confirm=(format!("Revoke {}'s key {}?", user.email.as_str(), k.name)) { "Revoke" span.sr-only { " " (k.name) } }
                            }
                        } }
                    }
                } }
            } }
        }
        h2 { "Tracker connections" }
        @if conns.is_empty() { p.muted { "No connections." } } @else {
            div.table { table {
                caption.sr-only { "The user's tracker connections" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "Tracker" } th scope="col" { "Address" } th scope="col" { "Last test" } th scope="col" { "Last error" } } }
                tbody { @for c in &conns {
                    tr { td { (c.name) } td { (c.provider_type.as_str()) } td { (c.base_url.to_string()) } td { (when(c.last_checked_at)) } td { (c.last_error.as_deref().unwrap_or("")) } }
                } }
            } }
        }
        p { a href=(ctx.href("/admin/users")) { "Back to users" } }
    };
    let title = format!("User {}", user.name);
    view::render(StatusCode::OK, view::page(&ctx, Nav::Users, &title, body))
}

pub async fn revoke_key(
    State(state): St,
    AdminIn(ctx, v): AdminIn,
    Path((id, key)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Err(res) = change_form(&ctx, &v, &body).await {
        return res;
    }
    let started = Instant::now();
    let user = match target(&state, &ctx, &id).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    let Ok(key) = key.parse() else {
        return view::not_found(Page(ctx)).await;
    };
    match state.store.revoke_api_key(user.id, key).await {
        Ok(_) => {
            state.auth.refresh().await;
            audit(&state, &v, user.id, "revoke_key", Outcome::Ok, started);
            Redirect::to(&ctx.href(&format!("/admin/users/{}?done=revoked", user.id)))
                .into_response()
        }
        Err(StoreError::NotFound(_)) => view::not_found(Page(ctx)).await,
        Err(e) => view::store_error(&ctx, e),
    }
}

/// Every user's e-mail by id, and every connection's name by id (for the audit and usage pages).
async fn names(
    state: &AppState,
) -> Result<(HashMap<UserId, String>, HashMap<ConnectionId, String>), StoreError> {
    let users = state.store.list_users().await?;
    let mut conns = HashMap::new();
    for u in &users {
        for c in state.store.list_connections(u.id).await? {
            conns.insert(c.id, format!("{} ({})", c.name, u.email.as_str()));
        }
    }
    Ok((
        users
            .into_iter()
            .map(|u| (u.id, u.email.to_string()))
            .collect(),
        conns,
    ))
}

pub async fn audit_page(state: &AppState, ctx: &Ctx, q: &ActivityQuery) -> Response {
    let (mut filter, page) = match activity_filter(q) {
        Ok(f) => f,
        Err(m) => {
            return view::message(
                ctx,
                StatusCode::BAD_REQUEST,
                "That filter cannot be read",
                &m,
            );
        }
    };
    if let Some(raw) = q.user.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        let found = match Email::parse(raw) {
            Ok(e) => state.store.get_user_by_email(&e).await,
            Err(_) => Ok(None),
        };
        match found {
            Ok(Some(u)) => filter.user = Some(u.id),
            Ok(None) => {
                return view::message(
                    ctx,
                    StatusCode::NOT_FOUND,
                    "No such user",
                    "No user has that e-mail address.",
                );
            }
            Err(e) => return view::store_error(ctx, e),
        }
    }
    state.audit.flush().await;
    let events = match state.store.list_audit_events(&filter).await {
        Ok(e) => e,
        Err(e) => return view::store_error(ctx, e),
    };
    let (users, conns) = match names(state).await {
        Ok(n) => n,
        Err(e) => return view::store_error(ctx, e),
    };
    let body = html! {
        p { "Every tool call and every change, by everyone, newest first. Arguments are never recorded." }
        (activity_controls(ctx, "/admin/audit", q, true))
        (events_table(ctx, "/admin/audit", q, page, &events, &conns, &users))
    };
    view::render(
        StatusCode::OK,
        view::page(ctx, Nav::Audit, "Audit trail", body),
    )
}

pub async fn audit_trail(
    State(state): St,
    AdminIn(ctx, _): AdminIn,
    Query(q): Query<ActivityQuery>,
) -> Response {
    audit_page(&state, &ctx, &q).await
}

pub async fn usage(State(state): St, AdminIn(ctx, _): AdminIn) -> Response {
    state.audit.flush().await;
    let (users, _) = match names(&state).await {
        Ok(n) => n,
        Err(e) => return view::store_error(&ctx, e),
    };
    let mut sections = Vec::new();
    for (label, since) in [
        ("The last day", Duration::days(1)),
        ("The last week", Duration::days(7)),
    ] {
        let rows = match state.store.audit_usage(Utc::now() - since).await {
            Ok(r) => r,
            Err(e) => return view::store_error(&ctx, e),
        };
        sections.push((label, rows));
    }
    let body = html! {
        p { "Calls counted from the audit trail. Console changes count as " code { "console.*" } ", admin API changes as " code { "admin.*" } "." }
        @for (label, rows) in &sections {
            @let total: i64 = rows.iter().map(|r| r.calls).sum();
            @let errors: i64 = rows.iter().filter(|r| r.outcome != Outcome::Ok).map(|r| r.calls).sum();
            section {
                h2 { (label) ": " (total) " calls, " (errors) " not ok" }
                div.grid {
                    (tally("By tool", "Tool", rows.iter().map(|r| (r.tool.clone(), r.calls))))
                    (tally("By user", "User", rows.iter().map(|r| (r.user_id.and_then(|u| users.get(&u).cloned()).unwrap_or_else(|| "(deleted or none)".into()), r.calls))))
                    (tally("By tracker", "Tracker", rows.iter().map(|r| (r.provider.clone().unwrap_or_else(|| "(none)".into()), r.calls))))
                    (tally("Errors by kind", "Kind", rows.iter().filter(|r| r.outcome != Outcome::Ok).map(|r| (format!("{}: {}", r.outcome.as_str(), r.error_kind.as_deref().unwrap_or("unspecified")), r.calls))))
                }
            }
        }
    };
    view::render(StatusCode::OK, view::page(&ctx, Nav::Usage, "Usage", body))
}

/// A small table of counts by key, largest first.
fn tally(title: &str, what: &str, rows: impl Iterator<Item = (String, i64)>) -> Markup {
    let mut sum: BTreeMap<String, i64> = BTreeMap::new();
    for (k, n) in rows {
        *sum.entry(k).or_default() += n;
    }
    let mut sorted: Vec<(String, i64)> = sum.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    html! {
        div.table {
            table {
                caption { (title) }
                thead { tr { th scope="col" { (what) } th scope="col" { "Calls" } } }
                tbody {
                    @if sorted.is_empty() { tr { td colspan="2" { span.muted { "none" } } } }
                    @for (k, n) in sorted.iter().take(20) { tr { td { (k) } td.num { (n) } } }
                }
            }
        }
    }
}
