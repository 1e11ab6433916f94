//! Connection tools: add a tracker connection after testing it (`configure_pm_provider`), test a
//! stored one (`test_pm_provider`), remove one (`remove_pm_provider`). Tokens go in, are sealed,
//! and never come back out.
use chrono::Utc;
use pm_core::{
    AuthKind, BaseUrl, ConnectionHandle, ConnectionId, PageRequest, Provider, ProviderKind, Secret,
    UserId,
};
use pm_store::{Connection, NewConnection, ProviderCredentials, StoreError};
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ToolError;
use super::identity::{ConnectionSummary, summary};
use crate::auth::Principal;
use crate::server::PmServer;
use crate::state::AppState;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ConfigureArgs {
    /// jira_cloud, jira_data_center, openproject, clickup or redmine; jira picks the edition
    /// from base_url (Cloud on *.atlassian.net).
    pub provider_type: String,
    /// The tracker's address, e.g. "https://acme.atlassian.net" (ClickUp: leave out).
    #[serde(default)]
    pub base_url: Option<String>,
    /// API token (Jira Cloud, ClickUp) or personal access token (Jira Data Center).
    #[serde(default)]
    pub api_token: Option<String>,
    /// Account e-mail (Jira Cloud) or user name, for Basic auth.
    #[serde(default)]
    pub username: Option<String>,
    /// API key (OpenProject, Redmine); same as api_token.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Organisation id (if any).
    #[serde(default)]
    pub organization_id: Option<String>,
    /// ClickUp workspace (team) id.
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// Redmine: textile (default), markdown or common_mark.
    #[serde(default)]
    pub text_format: Option<String>,
    /// OpenProject: mail watchers (default: not for bulk).
    #[serde(default)]
    pub notify: Option<bool>,
    /// Short name, the prefix of its ids (e.g. "acme-jira"; "My JIRA" becomes my-jira).
    /// Default: the type.
    #[serde(default)]
    pub name: Option<String>,
    /// Store it even if the test fails.
    #[serde(default)]
    pub save_if_test_fails: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ConnectionArgs {
    /// Connection name or id (default: your default one).
    #[serde(default)]
    pub provider_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RemoveArgs {
    /// The connection's name or id (see list_providers).
    pub provider_id: String,
}

/// What a test against the tracker found.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TestReport {
    pub ok: bool,
    /// The tracker account the credentials belong to.
    pub account: Option<pm_core::User>,
    pub site: Option<pm_core::SiteInfo>,
    /// Projects visible on the first page (up to 50).
    pub projects_seen: Option<usize>,
    pub more_projects: Option<bool>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigureResult {
    /// The stored connection; null when nothing was stored.
    pub connection: Option<ConnectionSummary>,
    pub test: TestReport,
    /// What was decided that was not asked for word for word (the Jira edition, the handle).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TestResult {
    pub connection: String,
    pub test: TestReport,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RemoveResult {
    pub removed: String,
    /// The connection that is now the default, if any.
    pub default_connection: Option<String>,
}

/// Authenticates, reads the site, and lists one page of projects.
pub async fn run_test(provider: &dyn Provider) -> TestReport {
    let failed = |account, site, error: String| TestReport {
        ok: false,
        account,
        site,
        projects_seen: None,
        more_projects: None,
        error: Some(error),
    };
    let account = match provider.whoami().await {
        Ok(a) => a,
        Err(e) => return failed(None, None, with_edition_hint(provider.kind(), e)),
    };
    let site = provider.site().await.ok();
    // The edition the site reports must be the one the connection was configured as.
    if let Some(s) = &site {
        let dc_site = s.product.contains("Data Center") || s.product.contains("Server");
        match provider.kind() {
            ProviderKind::JiraCloud if dc_site => {
                return failed(
                    Some(account),
                    site.clone(),
                    format!(
                        "this is a {} site; configure it with provider_type jira_data_center",
                        s.product
                    ),
                );
            }
            ProviderKind::JiraDataCenter if s.product == "Jira Cloud" => {
                return failed(
                    Some(account),
                    site.clone(),
                    "this is a Jira Cloud site; configure it with provider_type jira_cloud".into(),
                );
            }
            _ => {}
        }
    }
    match provider
        .list_projects(&PageRequest::new(None, Some(50)))
        .await
    {
        Ok(page) => TestReport {
            ok: true,
            account: Some(account),
            site,
            projects_seen: Some(page.items.len()),
            more_projects: Some(page.next.is_some()),
            error: None,
        },
        Err(e) => failed(Some(account), site, e.to_string()),
    }
}

/// A failed sign-in, with a hint when the address answers like the other Jira edition.
fn with_edition_hint(kind: ProviderKind, e: pm_core::ProviderError) -> String {
    match (kind, &e) {
        (ProviderKind::JiraCloud, pm_core::ProviderError::NotFound { .. }) => {
            format!(
                "{e} (there is no Jira Cloud REST API v3 at this address; for Jira Data Center or Server use provider_type jira_data_center)"
            )
        }
        (ProviderKind::JiraDataCenter, pm_core::ProviderError::NotFound { .. }) => {
            format!(
                "{e} (there is no Jira REST API v2 at this address; for Jira Cloud use provider_type jira_cloud)"
            )
        }
        _ => e.to_string(),
    }
}

pub fn default_name(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::JiraCloud => "jira",
        ProviderKind::JiraDataCenter => "jira-dc",
        ProviderKind::OpenProject => "openproject",
        ProviderKind::ClickUp => "clickup",
        ProviderKind::Redmine => "redmine",
    }
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Why adding, testing or removing a connection failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The request is not acceptable as given (unknown type, missing token, bad URL…).
    #[error("{0}")]
    Invalid(String),
    /// The user already has a connection by that name.
    #[error("{0}")]
    Conflict(String),
    /// The test against the tracker failed, so nothing was stored.
    #[error("{0}")]
    TestFailed(String),
    /// The stored credentials cannot be used (e.g. sealed by a master key no longer configured).
    #[error("{0}")]
    Credentials(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ConnectionError> for ToolError {
    fn from(e: ConnectionError) -> Self {
        match e {
            ConnectionError::Store(e) => e.into(),
            other => ToolError::new(other.to_string()),
        }
    }
}

/// What a connection is made of, as given (by configure_pm_provider, the admin API or an agent
/// backend's sync).
#[derive(Debug, Default)]
pub struct Details {
    pub base_url: Option<String>,
    /// API token or key; `None` when not given (an update may keep the stored one).
    pub token: Option<String>,
    pub username: Option<String>,
    pub organization_id: Option<String>,
    pub workspace_id: Option<String>,
    pub text_format: Option<String>,
    /// OpenProject: whether pm-mcp's changes mail the people interested in a work package.
    pub notify: Option<bool>,
}

/// A connection's details, checked: a kind, a URL the server accepts, how to sign in, and its
/// options (`config`) as stored.
#[derive(Debug)]
pub struct Prepared {
    pub kind: ProviderKind,
    pub base_url: BaseUrl,
    pub auth_kind: AuthKind,
    pub username: Option<String>,
    pub token: Option<Secret>,
    pub config: serde_json::Map<String, serde_json::Value>,
}

/// Checks a connection's details for `kind` (the URL, the sign-in the tracker needs, options the
/// tracker takes), refusing what cannot work before anything is stored or sent.
pub fn prepare(
    state: &AppState,
    kind: ProviderKind,
    details: Details,
) -> Result<Prepared, ConnectionError> {
    let invalid = ConnectionError::Invalid;
    let raw_url = match (nonempty(details.base_url), kind.fixed_base_url()) {
        (Some(u), _) => u,
        (None, Some(fixed)) => fixed.to_string(),
        (None, None) => {
            return Err(invalid(format!(
                "base_url is required for {kind}, e.g. https://tracker.example.org"
            )));
        }
    };
    let base_url = BaseUrl::parse(&raw_url, state.service.allow_http).map_err(|e| invalid(e.0))?;
    let token = nonempty(details.token).map(Secret::new);
    let username = nonempty(details.username);
    let workspace = nonempty(details.workspace_id);
    // Redmine's REST API does not tell its text format: the connection says it.
    let text_format = match nonempty(details.text_format) {
        None => None,
        Some(_) if kind != ProviderKind::Redmine => {
            return Err(invalid(format!(
                "text_format is a Redmine option; {kind} connections take no text_format"
            )));
        }
        Some(f) => Some(
            f.parse::<pm_providers::redmine::TextFormat>()
                .map_err(|e| invalid(e.to_string()))?
                .as_str(),
        ),
    };
    // OpenProject mails watchers, author and assignee of every change unless told not to.
    let notify = match details.notify {
        Some(_) if kind != ProviderKind::OpenProject => {
            return Err(invalid(format!(
                "notify is an OpenProject option; {kind} connections take no notify"
            )));
        }
        n => n,
    };
    let auth_kind = match (kind, &username) {
        (ProviderKind::JiraCloud, None) => {
            return Err(invalid(
                "Jira Cloud needs username (your Atlassian account e-mail) with the API token"
                    .into(),
            ));
        }
        (ProviderKind::JiraDataCenter, Some(_)) => AuthKind::Basic,
        _ => kind.default_auth_kind(),
    };
    // The options are tested with the credentials (Redmine's text format, the workspace).
    let mut config = serde_json::Map::new();
    if let Some(o) = nonempty(details.organization_id) {
        config.insert("organization_id".into(), o.into());
    }
    if let Some(w) = &workspace {
        config.insert("workspace_id".into(), w.clone().into());
    }
    if let Some(f) = text_format {
        config.insert("text_format".into(), f.into());
    }
    if let Some(n) = notify {
        config.insert("notify".into(), n.to_string().into());
    }
    Ok(Prepared {
        kind,
        base_url,
        auth_kind,
        username,
        token,
        config,
    })
}

/// Adds a connection for `user` after testing it (sign-in, site, projects); tokens are sealed
/// What `configure` does when the name already holds the same tracker (type and URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameTracker {
    /// Test the new credentials and store them in place (configure_pm_provider, as the reference
    /// server did).
    TakeNewCredentials,
    /// Refuse: a create is not an update (the admin API, which has PATCH).
    Refuse,
}

/// before they are stored. Shared by `configure_pm_provider` and the admin API.
pub async fn configure(
    state: &AppState,
    user: UserId,
    args: ConfigureArgs,
    same_tracker: SameTracker,
) -> Result<ConfigureResult, ConnectionError> {
    let invalid = ConnectionError::Invalid;
    let mut notes = Vec::new();
    let plain_jira = args.provider_type.trim().eq_ignore_ascii_case("jira");
    let mut kind: ProviderKind = args
        .provider_type
        .parse()
        .map_err(|e: pm_core::InvalidInput| invalid(e.0))?;
    // Plain "jira" (the reference server's name): the edition from the host.
    if plain_jira {
        let Some(url) = nonempty(args.base_url.clone()) else {
            return Err(invalid(
                "base_url is required for jira, e.g. https://acme.atlassian.net".into(),
            ));
        };
        if let Some(k) = ProviderKind::from_reference("jira", &url) {
            kind = k;
        }
    }
    let display_given = nonempty(args.name);
    let Prepared {
        kind,
        base_url,
        auth_kind,
        username,
        token,
        config,
    } = prepare(
        state,
        kind,
        Details {
            base_url: args.base_url,
            token: nonempty(args.api_token).or(nonempty(args.api_key)),
            username: args.username,
            organization_id: args.organization_id,
            workspace_id: args.workspace_id,
            text_format: args.text_format,
            notify: args.notify,
        },
    )?;
    if plain_jira {
        notes.push(format!(
            "provider_type jira at {} was taken as {} ({}); say jira_cloud or jira_data_center to choose",
            base_url.host(),
            kind.display_name(),
            kind.as_str()
        ));
    }
    let fallback = ConnectionHandle::parse(default_name(kind)).map_err(|e| invalid(e.0))?;
    let mut display_name = None;
    let name = match display_given {
        None => fallback,
        Some(n) => match ConnectionHandle::parse(&n) {
            Ok(h) => h,
            // A display name (the reference server's "My JIRA"): a handle made from it, and the
            // name kept as the connection's display name.
            Err(_) => {
                crate::manage::check_printable("name", &n).map_err(invalid)?;
                let h = ConnectionHandle::derive(&n).unwrap_or(fallback);
                notes.push(format!(
                    "the connection's name {h} (the prefix of its ids) was derived from the name {n:?}"
                ));
                display_name = Some(n);
                h
            }
        },
    };
    let token = token.ok_or_else(|| invalid(format!("api_token is required for {kind}")))?;
    let workspace = config.get("workspace_id").cloned();
    let mut config = config;
    // The same tracker configured again takes the new credentials once they pass the test (as
    // the reference server updated a connection of the same user, type and URL); a connection of
    // another tracker is never overwritten.
    let replacing = match state.store.get_connection(user, &name).await? {
        Some(existing)
            if existing.provider_type == kind
                && existing.base_url == base_url
                && same_tracker == SameTracker::TakeNewCredentials =>
        {
            Some(existing)
        }
        Some(existing) if existing.provider_type == kind && existing.base_url == base_url => {
            return Err(ConnectionError::Conflict(format!(
                "you already have this tracker ({kind} at {base_url}) as connection {name}; change it with PATCH, or remove it first"
            )));
        }
        Some(existing) => {
            return Err(ConnectionError::Conflict(format!(
                "you already have a connection named {name} for another tracker ({} at {}); it is not overwritten: pick another name, or remove_pm_provider it first",
                existing.provider_type, existing.base_url
            )));
        }
        None => None,
    };
    let provider = state
        .service
        .build(
            kind,
            &base_url,
            auth_kind,
            username.clone(),
            token.expose(),
            &serde_json::Value::Object(config.clone()),
        )
        .map_err(|e| invalid(ToolError::provider(&name, &e).0))?;
    let test = run_test(provider.as_ref()).await;
    if !test.ok && !args.save_if_test_fails.unwrap_or(false) {
        return Err(ConnectionError::TestFailed(format!(
            "connection {name}: the test failed, so nothing was {}: {}. Fix the details and try again (or pass save_if_test_fails).{}",
            if replacing.is_some() {
                "changed"
            } else {
                "stored"
            },
            test.error.as_deref().unwrap_or("unknown error"),
            notes
                .iter()
                .map(|n| format!(" Note: {n}."))
                .collect::<String>()
        )));
    }
    // The workspace the tracker reported the token works in (ClickUp finds it when the token
    // sees exactly one), so later calls need not look it up again.
    if workspace.is_none()
        && let Some(w) = test.site.as_ref().and_then(|s| s.workspace_id.clone())
    {
        config.insert("workspace_id".into(), w.into());
    }
    if let Some(a) = &test.account {
        config.insert("account_id".into(), a.id.clone().into());
    }
    let conn = match replacing {
        Some(existing) => {
            // New credentials and the options given (over the stored ones); nothing else moves.
            let sealed =
                ProviderCredentials { username, token }.seal(&state.keys, existing.id, user);
            let mut merged = existing.config.as_object().cloned().unwrap_or_default();
            merged.extend(config);
            notes.push(format!(
                "connection {name} already held this tracker; it now uses the new credentials"
            ));
            if !existing.is_active {
                notes.push(format!(
                    "connection {name} is inactive and stays so; an administrator can activate it"
                ));
            }
            state
                .store
                .update_connection(
                    user,
                    existing.id,
                    &pm_store::ConnectionChange {
                        credentials: Some((auth_kind, sealed)),
                        config: Some(serde_json::Value::Object(merged)),
                        display_name: display_name.map(Some),
                        ..pm_store::ConnectionChange::default()
                    },
                )
                .await?
        }
        None => {
            let id = ConnectionId::new();
            let sealed = ProviderCredentials { username, token }.seal(&state.keys, id, user);
            state
                .store
                .add_connection(NewConnection {
                    id,
                    user_id: user,
                    name: name.clone(),
                    provider_type: kind,
                    base_url,
                    auth_kind,
                    sealed,
                    config: serde_json::Value::Object(config),
                    is_active: true,
                    external_id: None,
                    display_name,
                })
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(m) => ConnectionError::Conflict(m),
                    other => other.into(),
                })?
        }
    };
    crate::audit::note_connection(conn.id);
    // The connection is stored (one insert, credentials and all): from here on the call
    // succeeds, so a database lost now cannot make a stored connection look refused (and a
    // retry then collide with it). Recording the check is secondary. This process sees its own
    // change at once (other replicas within the epoch bound).
    state.forget_connections(user);
    let conn = match state
        .store
        .record_connection_check(user, conn.id, Utc::now(), test.error.clone())
        .await
    {
        Ok(()) => match state.store.get_connection_by_id(user, conn.id).await {
            Ok(Some(stored)) => stored,
            Ok(None) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "could not re-read a connection just stored");
                conn
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "could not record the check of a connection just stored");
            conn
        }
    };
    Ok(ConfigureResult {
        connection: Some(summary(conn)),
        test,
        notes,
    })
}

/// Tests one of `user`'s stored connections now and records the outcome.
pub async fn test(
    state: &AppState,
    user: UserId,
    conn: &Connection,
) -> Result<TestResult, ConnectionError> {
    let provider = state
        .service
        .client(conn)
        .await
        .map_err(|e| ConnectionError::Credentials(e.message))?;
    let test = run_test(provider.as_ref()).await;
    state
        .store
        .record_connection_check(user, conn.id, Utc::now(), test.error.clone())
        .await?;
    state.forget_connections(user);
    Ok(TestResult {
        connection: conn.name.to_string(),
        test,
    })
}

/// Removes one of `user`'s connections with its stored credentials.
pub async fn remove(
    state: &AppState,
    user: UserId,
    conn: &Connection,
) -> Result<RemoveResult, ConnectionError> {
    state.store.delete_connection(user, &conn.name).await?;
    state.forget_connections(user);
    state.service.forget(conn.id);
    let default = state
        .store
        .list_connections(user)
        .await?
        .into_iter()
        .find(|c| c.is_default);
    Ok(RemoveResult {
        removed: conn.name.to_string(),
        default_connection: default.map(|c| c.name.to_string()),
    })
}

#[tool_router(router = connections_router, vis = "pub(crate)")]
impl PmServer {
    /// Connect a tracker with your own credentials: tests them (sign-in, site, projects), then stores
    /// them sealed. Jira Cloud: base_url, username (e-mail), api_token. Jira Data Center: base_url,
    /// api_token (personal access token). OpenProject, Redmine: base_url, api_key. Nothing is
    /// stored if the test fails, unless asked.
    #[tool(
        name = "configure_pm_provider",
        annotations(
            title = "Connect a tracker",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn configure_pm_provider(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(args): Parameters<ConfigureArgs>,
    ) -> Result<Json<ConfigureResult>, ToolError> {
        Ok(Json(
            configure(
                self.state(),
                p.user.id,
                args,
                SameTracker::TakeNewCredentials,
            )
            .await?,
        ))
    }

    /// Test one of your tracker connections now (sign-in, site, projects) and record the outcome.
    #[tool(
        name = "test_pm_provider",
        annotations(
            title = "Test a tracker connection",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn test_pm_provider(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(args): Parameters<ConnectionArgs>,
    ) -> Result<Json<TestResult>, ToolError> {
        let state = self.state();
        let conn = state
            .service
            .resolve_any(&p, args.provider_id.as_deref())
            .await?;
        Ok(Json(test(state, p.user.id, &conn).await?))
    }

    /// Remove one of your tracker connections and its stored credentials.
    #[tool(
        name = "remove_pm_provider",
        annotations(
            title = "Remove a tracker connection",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn remove_pm_provider(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(args): Parameters<RemoveArgs>,
    ) -> Result<Json<RemoveResult>, ToolError> {
        let state = self.state();
        let conn = state
            .service
            .resolve_any(&p, Some(&args.provider_id))
            .await?;
        Ok(Json(remove(state, p.user.id, &conn).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_v3_api_suggests_data_center() {
        let e = pm_core::ProviderError::NotFound {
            what: "Not Found".into(),
        };
        assert!(with_edition_hint(ProviderKind::JiraCloud, e.clone()).contains("jira_data_center"));
        assert!(!with_edition_hint(ProviderKind::JiraDataCenter, e).contains("jira_data_center"));
        let auth = pm_core::ProviderError::Auth {
            provider: "Jira Cloud",
            message: "no".into(),
        };
        assert!(!with_edition_hint(ProviderKind::JiraCloud, auth).contains("provider_type"));
    }
}
