//! The signed-in user's own pages: their API keys, their tracker connections, their activity.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use maud::{Markup, html};
use pm_core::{ApiKeyId, ConnectionId, ProviderKind, Secret};
use pm_store::{ApiKeyInfo, AuditFilter, Connection, Outcome};
use serde::Deserialize;

use super::context::{Ctx, Page, Viewer};
use super::session::{SignedIn, audit, change_form};
use super::view::{self, Nav, csrf, notice, when};
use crate::client_configs;
use crate::manage::{self, KeySpec, ManageError};
use crate::service::connections::{
    Change, ConfigureArgs, ConnectionError, SameTracker, TestReport,
};
use crate::state::AppState;
use crate::toolsets::Toolset;

type St = State<Arc<AppState>>;

pub async fn home(SignedIn(ctx, _): SignedIn) -> Response {
    Redirect::to(&ctx.href("/keys")).into_response()
}

#[derive(Deserialize, Default)]
pub struct Notice {
    #[serde(default)]
    done: Option<String>,
}

/// The fixed words of a change's outcome (`?done=`): nothing from the address is shown as is.
fn done_text(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "revoked" => "The key was revoked. Clients using it are refused from now on.",
        "removed" => "The tracker connection was removed, with its stored token.",
        "token" => "The new token was tested and stored.",
        "user-added" => "The user was added.",
        "user-changed" => "The user was changed.",
        "user-deleted" => "The user was deleted, with their keys and connections.",
        _ => return None,
    })
}

// ---- keys ----

pub async fn keys(
    State(state): St,
    SignedIn(ctx, v): SignedIn,
    Query(n): Query<Notice>,
) -> Response {
    match state.store.list_api_keys(v.user.id).await {
        Ok(list) => view::render(
            StatusCode::OK,
            keys_page(
                &ctx,
                &v,
                &list,
                done_text(n.done.as_deref()),
                None,
                &KeyForm::default(),
            ),
        ),
        Err(e) => view::store_error(&ctx, e),
    }
}

/// What the key form was given (shown again when it is refused).
#[derive(Default)]
struct KeyForm {
    name: String,
    scopes: Vec<String>,
    toolsets: Vec<String>,
    expires: String,
}

fn keys_page(
    ctx: &Ctx,
    v: &Viewer,
    list: &[ApiKeyInfo],
    ok: Option<&str>,
    error: Option<&str>,
    form: &KeyForm,
) -> Markup {
    let now = Utc::now();
    let scopes = if form.scopes.is_empty() {
        vec!["read".to_string(), "write".to_string()]
    } else {
        form.scopes.clone()
    };
    let expires = if form.expires.is_empty() {
        "90d"
    } else {
        form.expires.as_str()
    };
    let mut offered = vec![
        ("read", "read: look things up"),
        ("write", "write: change things in the trackers"),
    ];
    if v.user.is_admin {
        offered.push(("admin", "admin: the admin API (administrators only)"));
    }
    let body = html! {
        (notice(ok, true))
        (notice(error, false))
        p { "An API key lets an MCP client (Cursor, VS Code, Claude Code…) act as you. Each key is shown once, when it is made." }
        h2 { "Your keys" }
        @if list.is_empty() {
            p.muted { "You have no keys yet: make one below." }
        } @else {
            div.table {
                table {
                    caption.sr-only { "Your API keys" }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Key starts" } th scope="col" { "Scopes" } th scope="col" { "Toolsets" } th scope="col" { "Status" } th scope="col" { "Expires" } th scope="col" { "Last used" } th scope="col" { "Actions" } } }
                    tbody {
                        @for k in list {
                            @let status = k.status(now);
                            tr {
                                td { (k.name) }
                                td { code { (k.key_prefix) "…" } }
                                td { (k.scopes.to_string()) }
                                td { (k.toolsets.as_ref().map(|t| t.join(", ")).unwrap_or_else(|| "all".into())) }
                                td { span class=(format!("status {status}")) { (status) } }
                                td { (when(k.expires_at)) }
                                td { (when(k.last_used_at)) }
                                td.actions {
                                    @if status == "active" {
                                        form method="post" action=(ctx.href(&format!("/keys/{}/rotate", k.id))) {
                                            (csrf(ctx))
                                            button type="submit" data-confirm=(format!("Replace the key {}? The old one stops working at once.", k.name)) { "Rotate" span.sr-only { " " (k.name) } }
                                        }
                                        form method="post" action=(ctx.href(&format!("/keys/{}/revoke", k.id))) {
                                            (csrf(ctx))
                                            button.danger type="submit" data-confirm=(format!("Revoke the key {}? Clients using it are refused at once.", k.name)) { "Revoke" span.sr-only { " " (k.name) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 #new { "Make a key" }
        form.card method="post" action=(ctx.href("/keys")) {
            (csrf(ctx))
            label for="key-name" { "Name" }
            input #key-name type="text" name="name" required maxlength="100" value=(form.name) placeholder="Cursor on my laptop" aria-describedby="key-name-help";
            p.help #key-name-help { "What the key is for, so you can tell your keys apart." }
            fieldset {
                legend { "Scopes" }
                @for (s, label) in &offered {
                    label.check { input type="checkbox" name="scopes" value=(s) checked[scopes.iter().any(|x| x == s)]; " " (label) }
                }
            }
            fieldset {
                legend { "Toolsets " span.muted { "(none ticked: every toolset)" } }
                @for t in Toolset::ALL {
                    label.check { input type="checkbox" name="toolsets" value=(t.as_str()) checked[form.toolsets.iter().any(|x| x == t.as_str())]; " " (t.as_str()) }
                }
            }
            label for="key-expires" { "Expires" }
            select #key-expires name="expires" {
                @for (value, label) in [("30d", "in 30 days"), ("90d", "in 90 days"), ("365d", "in a year"), ("never", "never")] {
                    option value=(value) selected[expires == value] { (label) }
                }
            }
            button.primary type="submit" { "Make the key" }
        }
    };
    view::page(ctx, Nav::Keys, "My keys", body)
}

pub async fn create_key(State(state): St, SignedIn(ctx, v): SignedIn, body: Bytes) -> Response {
    let f = match change_form(&ctx, &v, &body).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let started = Instant::now();
    let form = KeyForm {
        name: f.text("name").unwrap_or_default(),
        scopes: f.all("scopes"),
        toolsets: f.all("toolsets"),
        expires: f.text("expires").unwrap_or_default(),
    };
    if form.scopes.is_empty() {
        return refuse_key(&state, &ctx, &v, &form, "Tick at least one scope.").await;
    }
    let scopes = form.scopes.join(",");
    let expires =
        (form.expires != "never" && !form.expires.is_empty()).then_some(form.expires.as_str());
    let spec = KeySpec {
        name: &form.name,
        scopes: &scopes,
        toolsets: &form.toolsets,
        expires,
        expires_field: "The expiry",
        name_field: "The name",
    };
    match manage::create_key(state.store.as_ref(), &v.user, &spec).await {
        Ok((info, key)) => {
            audit(&state, &v, v.user.id, "create_key", Outcome::Ok, started);
            new_key_page(&state, &ctx, &info, key.expose(), "Your new key")
        }
        Err(ManageError::Store(e)) => view::store_error(&ctx, e),
        Err(e) => refuse_key(&state, &ctx, &v, &form, &e.to_string()).await,
    }
}

/// The keys page again, with what the form was given and why it was refused.
async fn refuse_key(
    state: &AppState,
    ctx: &Ctx,
    v: &Viewer,
    form: &KeyForm,
    message: &str,
) -> Response {
    match state.store.list_api_keys(v.user.id).await {
        Ok(list) => view::render(
            StatusCode::UNPROCESSABLE_ENTITY,
            keys_page(ctx, v, &list, None, Some(message), form),
        ),
        Err(e) => view::store_error(ctx, e),
    }
}

/// The MCP URL a client uses: the public URL, else this server as the browser reached it.
fn mcp_url(state: &AppState, ctx: &Ctx) -> String {
    match state
        .http
        .console
        .as_ref()
        .and_then(|c| c.public_url.as_ref())
    {
        Some(u) => u.as_str().trim_end_matches('/').to_string(),
        None => format!(
            "{}{}/mcp",
            ctx.origin,
            ctx.base.trim_end_matches("/console")
        ),
    }
}

/// A key just made (or rotated): shown this once, with the configs that carry it.
fn new_key_page(
    state: &AppState,
    ctx: &Ctx,
    info: &ApiKeyInfo,
    key: &str,
    title: &str,
) -> Response {
    let url = mcp_url(state, ctx);
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let body = html! {
        p.notice.ok role="status" { "The key " strong { (info.name) } " was made. Copy it now: it is shown only this once (pm-mcp keeps only a hash of it)." }
        div.secret {
            code #new-key { (key) }
            button type="button" data-copy="new-key" { "Copy the key" }
        }
        h2 { "Connect your client" }
        p { "The MCP address is " code { (url) } "." }
        div.install {
            a.button href=(client_configs::cursor_install_link(key, &url)) { "Add to Cursor" }
            a.button href=(client_configs::vscode_install_link(&url)) { "Add to VS Code" }
        }
        p.help { "The buttons open the client, which asks before adding pm-mcp. VS Code asks for the key once and keeps it in its secret storage." }
        h3 { "Cursor — " code { "~/.cursor/mcp.json" } }
        div.snippet { pre #cfg-cursor tabindex="0" { (pretty(&client_configs::cursor_config(key, &url))) } button type="button" data-copy="cfg-cursor" { "Copy" span.sr-only { " the Cursor configuration" } } }
        h3 { "VS Code — " code { ".vscode/mcp.json" } }
        div.snippet { pre #cfg-vscode tabindex="0" { (pretty(&client_configs::vscode_config(&url))) } button type="button" data-copy="cfg-vscode" { "Copy" span.sr-only { " the VS Code configuration" } } }
        h3 { "Claude Code" }
        div.snippet { pre #cfg-claude tabindex="0" { (client_configs::claude_code_command(key, &url)) } button type="button" data-copy="cfg-claude" { "Copy" span.sr-only { " the Claude Code command" } } }
        p { a href=(ctx.href("/keys")) { "Back to my keys" } }
    };
    view::render(StatusCode::CREATED, view::page(ctx, Nav::Keys, title, body))
}

fn key_id(raw: &str) -> Option<ApiKeyId> {
    raw.parse().ok()
}

pub async fn revoke_key(
    State(state): St,
    SignedIn(ctx, v): SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(res) = change_form(&ctx, &v, &body).await {
        return res;
    }
    let started = Instant::now();
    let Some(id) = key_id(&id) else {
        return view::not_found(Page(ctx)).await;
    };
    match state.store.revoke_api_key(v.user.id, id).await {
        Ok(_) => {
            state.auth.refresh().await;
            audit(&state, &v, v.user.id, "revoke_key", Outcome::Ok, started);
            Redirect::to(&ctx.href("/keys?done=revoked")).into_response()
        }
        Err(pm_store::StoreError::NotFound(_)) => view::not_found(Page(ctx)).await,
        Err(e) => view::store_error(&ctx, e),
    }
}

pub async fn rotate_key(
    State(state): St,
    SignedIn(ctx, v): SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(res) = change_form(&ctx, &v, &body).await {
        return res;
    }
    let started = Instant::now();
    let Some(id) = key_id(&id) else {
        return view::not_found(Page(ctx)).await;
    };
    match manage::rotate_key(state.store.as_ref(), &v.user, id).await {
        Ok((new, key, _old)) => {
            state.auth.refresh().await;
            audit(&state, &v, v.user.id, "rotate_key", Outcome::Ok, started);
            new_key_page(&state, &ctx, &new, key.expose(), "Your replacement key")
        }
        Err(ManageError::NotFound(_)) => view::not_found(Page(ctx)).await,
        Err(ManageError::Store(e)) => view::store_error(&ctx, e),
        Err(e) => view::message(
            &ctx,
            StatusCode::CONFLICT,
            "The key was not rotated",
            &e.to_string(),
        ),
    }
}

// ---- trackers ----

/// Each tracker's form: what it is called, and where its token comes from.
struct TrackerHelp {
    kind: ProviderKind,
    label: &'static str,
    help: &'static str,
}

const TRACKERS: [TrackerHelp; 5] = [
    TrackerHelp {
        kind: ProviderKind::JiraCloud,
        label: "Jira Cloud",
        help: "Address: https://YOUR-SITE.atlassian.net. Sign in with your Atlassian account's e-mail and an API token from id.atlassian.com → Security → Create and manage API tokens. The token acts with your own Jira permissions.",
    },
    TrackerHelp {
        kind: ProviderKind::JiraDataCenter,
        label: "Jira Data Center",
        help: "Address: your Jira's base URL. Use a personal access token (Profile → Personal Access Tokens, Jira 8.14 and later) and leave the user name empty; or your user name with your password for Basic sign-in.",
    },
    TrackerHelp {
        kind: ProviderKind::OpenProject,
        label: "OpenProject",
        help: "Address: your OpenProject's URL. Token: My account → Access tokens → API → Generate.",
    },
    TrackerHelp {
        kind: ProviderKind::ClickUp,
        label: "ClickUp",
        help: "No address needed. Token: Settings → Apps → API Token (starts with pk_). Workspace id: the number after app.clickup.com/ in your browser; needed when your token reaches several workspaces.",
    },
    TrackerHelp {
        kind: ProviderKind::Redmine,
        label: "Redmine",
        help: "Address: your Redmine's URL. Key: My account → API access key → Show (an administrator enables the REST API under Administration → Settings → API). Text format: what your Redmine is set to (Administration → Settings → General); textile by default.",
    },
];

/// What the tracker form was given (never the token), shown again when it is refused.
#[derive(Default)]
struct TrackerForm {
    provider: String,
    name: String,
    base_url: String,
    username: String,
    workspace_id: String,
    text_format: String,
}

pub async fn trackers(
    State(state): St,
    SignedIn(ctx, v): SignedIn,
    Query(n): Query<Notice>,
) -> Response {
    render_trackers(
        &state,
        &ctx,
        &v,
        StatusCode::OK,
        done_text(n.done.as_deref()),
        None,
        &TrackerForm::default(),
    )
    .await
}

/// When each connection was last used, from the audit trail (what this replica has queued is
/// written first).
async fn last_uses(state: &AppState, v: &Viewer) -> HashMap<ConnectionId, chrono::DateTime<Utc>> {
    state.audit.flush().await;
    match state.store.last_use_by_connection(v.user.id).await {
        Ok(rows) => rows.into_iter().collect(),
        Err(e) => {
            tracing::warn!(error = %e, "console: the connections' last use could not be read");
            HashMap::new()
        }
    }
}

/// The trackers page with one notice: what worked (`ok`), or what was refused.
async fn trackers_saying(
    state: &AppState,
    ctx: &Ctx,
    v: &Viewer,
    status: StatusCode,
    ok: bool,
    text: &str,
) -> Response {
    let (done, refused) = if ok {
        (Some(text), None)
    } else {
        (None, Some(text))
    };
    render_trackers(
        state,
        ctx,
        v,
        status,
        done,
        refused,
        &TrackerForm::default(),
    )
    .await
}

async fn render_trackers(
    state: &AppState,
    ctx: &Ctx,
    v: &Viewer,
    status: StatusCode,
    ok: Option<&str>,
    error: Option<&str>,
    form: &TrackerForm,
) -> Response {
    let list = match state.store.list_connections(v.user.id).await {
        Ok(l) => l,
        Err(e) => return view::store_error(ctx, e),
    };
    let used = last_uses(state, v).await;
    view::render(status, trackers_page(ctx, &list, &used, ok, error, form))
}

fn trackers_page(
    ctx: &Ctx,
    list: &[Connection],
    used: &HashMap<ConnectionId, chrono::DateTime<Utc>>,
    ok: Option<&str>,
    error: Option<&str>,
    form: &TrackerForm,
) -> Markup {
    let chosen = if form.provider.is_empty() {
        "jira_cloud"
    } else {
        form.provider.as_str()
    };
    let body = html! {
        (notice(ok, true))
        (notice(error, false))
        p { "pm-mcp works in your trackers with your own tokens. A token is tested before it is stored, stored sealed, and never shown again." }
        h2 { "Your trackers" }
        @if list.is_empty() {
            p.muted { "No trackers yet: add one below." }
        } @else {
            @for c in list {
                section.card aria-labelledby=(format!("conn-{}", c.id)) {
                    h3 #(format!("conn-{}", c.id)) { (c.name) @if c.is_default { " " span.badge { "default" } } @if !c.is_active { " " span.badge { "switched off" } } }
                    dl.facts {
                        dt { "Tracker" } dd { (label_of(c.provider_type)) }
                        dt { "Address" } dd { (c.base_url.to_string()) }
                        dt { "Signs in with" } dd { (c.auth_kind.to_string()) }
                        dt { "Last test" } dd {
                            (when(c.last_checked_at))
                            @if c.last_checked_at.is_some() {
                                @match &c.last_error {
                                    Some(e) => { " — " span.status.revoked { "failed" } ": " (e) },
                                    None => { " — " span.status.active { "worked" } },
                                }
                            }
                        }
                        dt { "Last used" } dd { (when(used.get(&c.id).copied())) }
                    }
                    div.actions {
                        form method="post" action=(ctx.href(&format!("/trackers/{}/test", c.id))) {
                            (csrf(ctx))
                            button type="submit" { "Test now" span.sr-only { " " (c.name) } }
                        }
                        form method="post" action=(ctx.href(&format!("/trackers/{}/remove", c.id))) {
                            (csrf(ctx))
                            button.danger type="submit" data-confirm=(format!("Remove {}? Its stored token is deleted.", c.name)) { "Remove" span.sr-only { " " (c.name) } }
                        }
                    }
                    form.inline method="post" action=(ctx.href(&format!("/trackers/{}/token", c.id))) {
                        (csrf(ctx))
                        label for=(format!("token-{}", c.id)) { "New token for " (c.name) }
                        input id=(format!("token-{}", c.id)) type="password" name="token" required autocomplete="off";
                        button type="submit" { "Test and replace" }
                    }
                }
            }
        }
        h2 #add { "Add a tracker" }
        form.card #tracker-form method="post" action=(ctx.href("/trackers")) {
            (csrf(ctx))
            label for="t-provider" { "Tracker" }
            select #t-provider name="provider" data-switch="tracker" {
                @for t in &TRACKERS {
                    option value=(t.kind.as_str()) selected[chosen == t.kind.as_str()] { (t.label) }
                }
            }
            @for t in &TRACKERS {
                p.help data-for=(t.kind.as_str()) { strong { (t.label) ": " } (t.help) }
            }
            label for="t-name" { "Short name " span.muted { "(optional: the prefix of its ids, e.g. acme-jira)" } }
            input #t-name type="text" name="name" maxlength="64" value=(form.name);
            div data-for="jira_cloud jira_data_center openproject redmine" {
                label for="t-url" { "Address " span.muted { "(all but ClickUp)" } }
                input #t-url type="url" name="base_url" value=(form.base_url) placeholder="https://acme.atlassian.net";
            }
            div data-for="jira_cloud jira_data_center" {
                label for="t-user" { "E-mail or user name " span.muted { "(Jira Cloud: your account's e-mail; Data Center: only with a password)" } }
                input #t-user type="text" name="username" autocomplete="off" value=(form.username);
            }
            label for="t-token" { "Token or API key" }
            input #t-token type="password" name="token" required autocomplete="off";
            div data-for="clickup" {
                label for="t-workspace" { "Workspace id " span.muted { "(ClickUp only)" } }
                input #t-workspace type="text" name="workspace_id" inputmode="numeric" value=(form.workspace_id);
            }
            div data-for="redmine" {
                label for="t-format" { "Text format " span.muted { "(Redmine only)" } }
                select #t-format name="text_format" {
                    @for (value, label) in [("", "as the tracker (textile)"), ("textile", "textile"), ("markdown", "markdown"), ("common_mark", "CommonMark")] {
                        option value=(value) selected[form.text_format == value] { (label) }
                    }
                }
            }
            button.primary type="submit" { "Test and add" }
        }
    };
    view::page(ctx, Nav::Trackers, "My trackers", body)
}

fn label_of(kind: ProviderKind) -> &'static str {
    TRACKERS
        .iter()
        .find(|t| t.kind == kind)
        .map(|t| t.label)
        .unwrap_or("tracker")
}

/// The tracker's answer in plain words.
fn test_words(test: &TestReport) -> String {
    if test.ok {
        let who = test
            .account
            .as_ref()
            .map(|a| format!(" as {}", a.name))
            .unwrap_or_default();
        let site = test
            .site
            .as_ref()
            .map(|s| format!(" on {}", s.product))
            .unwrap_or_default();
        let projects = match (test.projects_seen, test.more_projects) {
            (Some(n), Some(true)) => format!("; more than {n} projects visible"),
            (Some(1), _) => "; 1 project visible".into(),
            (Some(n), _) => format!("; {n} projects visible"),
            _ => String::new(),
        };
        format!("Connected{who}{site}{projects}.")
    } else {
        format!(
            "The tracker did not accept it: {}",
            test.error.as_deref().unwrap_or("no reason given")
        )
    }
}

pub async fn add_tracker(State(state): St, SignedIn(ctx, v): SignedIn, body: Bytes) -> Response {
    let f = match change_form(&ctx, &v, &body).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let started = Instant::now();
    let form = TrackerForm {
        provider: f.text("provider").unwrap_or_default(),
        name: f.text("name").unwrap_or_default(),
        base_url: f.text("base_url").unwrap_or_default(),
        username: f.text("username").unwrap_or_default(),
        workspace_id: f.text("workspace_id").unwrap_or_default(),
        text_format: f.text("text_format").unwrap_or_default(),
    };
    let Ok(kind) = form.provider.parse::<ProviderKind>() else {
        return render_trackers(
            &state,
            &ctx,
            &v,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some("Choose a tracker."),
            &form,
        )
        .await;
    };
    // Only what the chosen tracker takes is sent: a field left filled in for another tracker
    // (the form shows them all without JavaScript) is not a value for this one.
    let takes_url = kind != ProviderKind::ClickUp;
    let takes_user = matches!(kind, ProviderKind::JiraCloud | ProviderKind::JiraDataCenter);
    let args = ConfigureArgs {
        provider_type: kind.as_str().to_string(),
        base_url: takes_url
            .then(|| form.base_url.clone())
            .filter(|u| !u.is_empty()),
        api_token: f.text("token"),
        username: takes_user
            .then(|| form.username.clone())
            .filter(|u| !u.is_empty()),
        api_key: None,
        organization_id: None,
        workspace_id: (kind == ProviderKind::ClickUp)
            .then(|| form.workspace_id.clone())
            .filter(|w| !w.is_empty()),
        text_format: (kind == ProviderKind::Redmine)
            .then(|| form.text_format.clone())
            .filter(|t| !t.is_empty()),
        notify: None,
        name: (!form.name.is_empty()).then(|| form.name.clone()),
        save_if_test_fails: Some(false),
    };
    match state
        .service
        .configure(v.user.id, args, SameTracker::Refuse)
        .await
    {
        Ok(result) => {
            let words = test_words(&result.test);
            match result.connection {
                Some(c) => {
                    audit(&state, &v, v.user.id, "add_tracker", Outcome::Ok, started);
                    let text = format!("{} was tested and added. {words}", c.name);
                    trackers_saying(&state, &ctx, &v, StatusCode::CREATED, true, &text).await
                }
                None => {
                    audit(
                        &state,
                        &v,
                        v.user.id,
                        "add_tracker",
                        Outcome::Error,
                        started,
                    );
                    let text = format!("Nothing was stored. {words}");
                    render_trackers(
                        &state,
                        &ctx,
                        &v,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        None,
                        Some(&text),
                        &form,
                    )
                    .await
                }
            }
        }
        Err(ConnectionError::Store(e)) => view::store_error(&ctx, e),
        Err(e) => {
            audit(
                &state,
                &v,
                v.user.id,
                "add_tracker",
                Outcome::Error,
                started,
            );
            let text = format!("Nothing was stored. {e}");
            render_trackers(
                &state,
                &ctx,
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(&text),
                &form,
            )
            .await
        }
    }
}

/// One of the viewer's connections, by id; another user's is not found, like a missing one.
async fn own_connection(
    state: &AppState,
    ctx: &Ctx,
    v: &Viewer,
    raw: &str,
) -> Result<Connection, Response> {
    let Ok(id) = raw.parse::<ConnectionId>() else {
        return Err(view::not_found(Page(ctx.clone())).await);
    };
    match state.store.get_connection_by_id(v.user.id, id).await {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(view::not_found(Page(ctx.clone())).await),
        Err(e) => Err(view::store_error(ctx, e)),
    }
}

pub async fn test_tracker(
    State(state): St,
    SignedIn(ctx, v): SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(res) = change_form(&ctx, &v, &body).await {
        return res;
    }
    let conn = match own_connection(&state, &ctx, &v, &id).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    match state.service.test_connection(v.user.id, &conn).await {
        Ok(r) => {
            let words = format!("{}: {}", conn.name, test_words(&r.test));
            trackers_saying(&state, &ctx, &v, StatusCode::OK, r.test.ok, &words).await
        }
        Err(ConnectionError::Store(e)) => view::store_error(&ctx, e),
        Err(e) => {
            let words = format!("{} could not be tested: {e}", conn.name);
            trackers_saying(&state, &ctx, &v, StatusCode::OK, false, &words).await
        }
    }
}

pub async fn replace_token(
    State(state): St,
    SignedIn(ctx, v): SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let f = match change_form(&ctx, &v, &body).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let started = Instant::now();
    let conn = match own_connection(&state, &ctx, &v, &id).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let Some(token) = f.text("token") else {
        return trackers_saying(
            &state,
            &ctx,
            &v,
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
            "Give the new token.",
        )
        .await;
    };
    let name = conn.name.to_string();
    let change = Change {
        name: None,
        display_name: None,
        base_url: None,
        token: Some(Secret::new(token)),
        username: None,
        workspace_id: None,
        organization_id: None,
        text_format: None,
        notify: None,
        is_active: None,
        test: true,
    };
    match state
        .service
        .change_connection(v.user.id, conn, change)
        .await
    {
        Ok(_) => {
            audit(&state, &v, v.user.id, "replace_token", Outcome::Ok, started);
            Redirect::to(&ctx.href("/trackers?done=token")).into_response()
        }
        Err(ConnectionError::Store(e)) => view::store_error(&ctx, e),
        Err(e) => {
            audit(
                &state,
                &v,
                v.user.id,
                "replace_token",
                Outcome::Error,
                started,
            );
            let text = format!("The token of {name} was not replaced: {e}");
            trackers_saying(
                &state,
                &ctx,
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                false,
                &text,
            )
            .await
        }
    }
}

pub async fn remove_tracker(
    State(state): St,
    SignedIn(ctx, v): SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(res) = change_form(&ctx, &v, &body).await {
        return res;
    }
    let started = Instant::now();
    let conn = match own_connection(&state, &ctx, &v, &id).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    match state.service.remove_connection(v.user.id, &conn).await {
        Ok(_) => {
            audit(
                &state,
                &v,
                v.user.id,
                "remove_tracker",
                Outcome::Ok,
                started,
            );
            Redirect::to(&ctx.href("/trackers?done=removed")).into_response()
        }
        Err(ConnectionError::Store(e)) => view::store_error(&ctx, e),
        Err(e) => view::message(
            &ctx,
            StatusCode::CONFLICT,
            "The connection was not removed",
            &e.to_string(),
        ),
    }
}

// ---- activity ----

#[derive(Deserialize, Default)]
pub struct ActivityQuery {
    #[serde(default)]
    pub tool: Option<String>,
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub period: Option<String>,
    #[serde(default)]
    pub page: Option<usize>,
    /// Administrators' audit page only: one user's events (their e-mail).
    #[serde(default)]
    pub user: Option<String>,
}

pub const PAGE_SIZE: usize = 50;

/// The filter an activity query asks for (`None` with the reason when it cannot be read).
pub fn activity_filter(q: &ActivityQuery) -> Result<(AuditFilter, usize), String> {
    let page = q.page.unwrap_or(1).clamp(1, 200);
    let outcome = match q.outcome.as_deref().unwrap_or("") {
        "" => None,
        "ok" => Some(Outcome::Ok),
        "error" => Some(Outcome::Error),
        "denied" => Some(Outcome::Denied),
        _ => return Err("The outcome must be ok, error or denied.".into()),
    };
    let since = match q.period.as_deref().unwrap_or("7d") {
        "1h" => Some(Utc::now() - Duration::hours(1)),
        "24h" => Some(Utc::now() - Duration::hours(24)),
        "7d" => Some(Utc::now() - Duration::days(7)),
        "30d" => Some(Utc::now() - Duration::days(30)),
        "all" => None,
        _ => return Err("The period must be 1h, 24h, 7d, 30d or all.".into()),
    };
    let mut filter = AuditFilter::newest((page * PAGE_SIZE + 1) as i64);
    filter.tool = q
        .tool
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    filter.outcome = outcome;
    filter.since = since;
    Ok((filter, page))
}

/// The filter form and paging links of an activity page (`extra`: the user field for admins).
pub fn activity_controls(ctx: &Ctx, path: &str, q: &ActivityQuery, with_user: bool) -> Markup {
    let period = q.period.as_deref().unwrap_or("7d");
    let outcome = q.outcome.as_deref().unwrap_or("");
    html! {
        form.filters method="get" action=(ctx.href(path)) {
            @if with_user {
                div { label for="f-user" { "User (e-mail)" } input #f-user type="email" name="user" value=(q.user.as_deref().unwrap_or("")); }
            }
            div { label for="f-tool" { "Tool" } input #f-tool type="text" name="tool" value=(q.tool.as_deref().unwrap_or("")) placeholder="get_task"; }
            div { label for="f-outcome" { "Outcome" }
                select #f-outcome name="outcome" {
                    @for (v, l) in [("", "any"), ("ok", "ok"), ("error", "error"), ("denied", "denied")] {
                        option value=(v) selected[outcome == v] { (l) }
                    }
                }
            }
            div { label for="f-period" { "Since" }
                select #f-period name="period" {
                    @for (v, l) in [("1h", "the last hour"), ("24h", "the last day"), ("7d", "the last week"), ("30d", "the last 30 days"), ("all", "ever")] {
                        option value=(v) selected[period == v] { (l) }
                    }
                }
            }
            button type="submit" { "Show" }
        }
    }
}

/// The link to another page of the same query.
pub fn page_link(ctx: &Ctx, path: &str, q: &ActivityQuery, page: usize) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("user", &q.user),
        ("tool", &q.tool),
        ("outcome", &q.outcome),
        ("period", &q.period),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            s.append_pair(k, v);
        }
    }
    s.append_pair("page", &page.to_string());
    format!("{}?{}", ctx.href(path), s.finish())
}

/// One page of events as a table, with links to the pages before and after.
pub fn events_table(
    ctx: &Ctx,
    path: &str,
    q: &ActivityQuery,
    page: usize,
    events: &[pm_store::AuditEvent],
    names: &HashMap<ConnectionId, String>,
    users: &HashMap<pm_core::UserId, String>,
) -> Markup {
    let shown: Vec<&pm_store::AuditEvent> = events
        .iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    let more = events.len() > page * PAGE_SIZE;
    html! {
        @if shown.is_empty() {
            p.muted { "Nothing matches." }
        } @else {
            div.table {
                table {
                    caption.sr-only { "Calls and changes, newest first" }
                    thead { tr {
                        th scope="col" { "When" }
                        @if !users.is_empty() { th scope="col" { "User" } }
                        th scope="col" { "Tool or change" } th scope="col" { "Tracker" } th scope="col" { "Outcome" } th scope="col" { "Error" } th scope="col" { "Took" }
                    } }
                    tbody {
                        @for e in shown {
                            tr {
                                td { (when(Some(e.at))) }
                                @if !users.is_empty() {
                                    td { (e.user_id.and_then(|u| users.get(&u)).map(String::as_str).unwrap_or("—")) }
                                }
                                td { code { (e.tool) } }
                                td { (e.connection_id.map(|c| names.get(&c).cloned().unwrap_or_else(|| "(removed)".into())).unwrap_or_else(|| "—".into())) }
                                td { span class=(format!("status {}", e.outcome.as_str())) { (e.outcome.as_str()) } }
                                td { (e.error_kind.as_deref().unwrap_or("")) }
                                td { (e.duration_ms) " ms" }
                            }
                        }
                    }
                }
            }
        }
        nav.pages aria-label="Pages" {
            @if page > 1 { a href=(page_link(ctx, path, q, page - 1)) rel="prev" { "← Newer" } }
            span { "Page " (page) }
            @if more { a href=(page_link(ctx, path, q, page + 1)) rel="next" { "Older →" } }
        }
    }
}

pub async fn activity(
    State(state): St,
    SignedIn(ctx, v): SignedIn,
    Query(q): Query<ActivityQuery>,
) -> Response {
    let (mut filter, page) = match activity_filter(&q) {
        Ok(f) => f,
        Err(m) => {
            return view::message(
                &ctx,
                StatusCode::BAD_REQUEST,
                "That filter cannot be read",
                &m,
            );
        }
    };
    filter.user = Some(v.user.id);
    state.audit.flush().await;
    let events = match state.store.list_audit_events(&filter).await {
        Ok(e) => e,
        Err(e) => return view::store_error(&ctx, e),
    };
    let names: HashMap<ConnectionId, String> = match state.store.list_connections(v.user.id).await {
        Ok(list) => list
            .into_iter()
            .map(|c| (c.id, c.name.to_string()))
            .collect(),
        Err(e) => return view::store_error(&ctx, e),
    };
    let body = html! {
        p { "Every tool call made with your keys, and every change made in this console, newest first. Arguments are never recorded." }
        (activity_controls(&ctx, "/activity", &q, false))
        (events_table(&ctx, "/activity", &q, page, &events, &names, &HashMap::new()))
    };
    view::render(
        StatusCode::OK,
        view::page(&ctx, Nav::Activity, "My activity", body),
    )
}
