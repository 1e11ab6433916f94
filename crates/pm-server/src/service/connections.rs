//! Adding, changing, testing and removing a user's tracker connections: one set of rules for
//! `configure_pm_provider` and the other connection tools, the admin API, an agent backend's sync
//! and the CLI. What is given is checked first (the address, how the tracker signs in, the options
//! it takes) and refused before anything is stored or sent; a new connection is tested against
//! its tracker before it is stored (unless asked otherwise); tokens go in sealed and never come
//! back out.
use chrono::{DateTime, Utc};
use pm_core::{
    AuthKind, BaseUrl, ConnectionHandle, ConnectionId, ConnectionOptions, ConnectionSpec,
    PageRequest, Provider, ProviderKind, Secret, SignIn, UserId,
};
use pm_store::{Connection, ConnectionChange, NewConnection, ProviderCredentials, StoreError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ErrorKind, Service, ServiceError};

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
    /// ClickUp team id (= workspace_id).
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

/// A tracker connection, without its credentials.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConnectionSummary {
    /// The connection's id (`provider_id` takes it as well as the name).
    pub id: String,
    /// The handle used as a prefix in ids, e.g. `acme-jira` in `acme-jira:PROJ-42`.
    pub name: String,
    pub provider_type: ProviderKind,
    pub base_url: String,
    pub auth_kind: AuthKind,
    pub is_default: bool,
    /// false: the connection is switched off and no tool uses it.
    pub is_active: bool,
    pub last_checked_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A connection as tools and the admin API show it: never its credentials.
pub fn summary(c: Connection) -> ConnectionSummary {
    ConnectionSummary {
        id: c.id.to_string(),
        name: c.name.to_string(),
        provider_type: c.provider_type,
        base_url: c.base_url.to_string(),
        auth_kind: c.auth_kind,
        is_default: c.is_default,
        is_active: c.is_active,
        last_checked_at: c.last_checked_at,
        last_error: c.last_error,
        created_at: c.created_at,
    }
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Why adding, changing, testing or removing a connection failed.
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

impl From<ConnectionError> for ServiceError {
    fn from(e: ConnectionError) -> Self {
        match e {
            ConnectionError::Store(e) => e.into(),
            ConnectionError::Credentials(m) => ServiceError::new(ErrorKind::Credentials, m),
            ConnectionError::TestFailed(m) => {
                ServiceError::new(ErrorKind::Tracker("connection_test"), m)
            }
            ConnectionError::Invalid(m) | ConnectionError::Conflict(m) => {
                ServiceError::new(ErrorKind::Invalid, m)
            }
        }
    }
}

impl From<pm_core::InvalidInput> for ConnectionError {
    fn from(e: pm_core::InvalidInput) -> Self {
        ConnectionError::Invalid(e.0)
    }
}

/// What a connection is made of, as given (by configure_pm_provider, the admin API, an agent
/// backend's sync or the CLI).
#[derive(Debug, Default)]
pub struct Details {
    pub base_url: Option<String>,
    /// API token or key; `None` when not given (an update may keep the stored one).
    pub token: Option<Secret>,
    pub username: Option<String>,
    /// How to sign in, when the caller chose (the CLI's `--auth-kind`); else the tracker's rule.
    pub auth_kind: Option<AuthKind>,
    /// ClickUp's workspace (team).
    pub workspace_id: Option<String>,
    /// The reference server's name for ClickUp's team: the same as `workspace_id`.
    pub organization_id: Option<String>,
    /// Redmine's text format.
    pub text_format: Option<String>,
    /// OpenProject: whether pm-mcp's changes mail the people interested in a work package.
    pub notify: Option<bool>,
}

/// A connection's details, checked: a kind, a URL the server accepts, how it signs in, and its
/// options. The token, when one was given, is still a secret.
#[derive(Debug)]
pub struct Prepared {
    pub kind: ProviderKind,
    pub base_url: BaseUrl,
    pub auth_kind: AuthKind,
    pub username: Option<String>,
    pub token: Option<Secret>,
    pub options: ConnectionOptions,
}

impl Prepared {
    /// The spec a client is built from, with `token` (the one given, or the stored one).
    pub fn spec(&self, token: Secret) -> Result<ConnectionSpec, ConnectionError> {
        let sign_in = SignIn::choose(
            self.kind,
            Some(self.auth_kind),
            self.username.clone(),
            token,
        )?;
        Ok(ConnectionSpec::new(
            self.kind,
            self.base_url.clone(),
            sign_in,
            self.options.clone(),
        )?)
    }
}

/// Checks a connection's details for `kind` (the URL, the sign-in the tracker needs, options the
/// tracker takes), refusing what cannot work before anything is stored or sent. `allow_http`:
/// whether plain-http addresses are accepted (the server's `--allow-http`).
pub fn prepare(
    allow_http: bool,
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
    let base_url = BaseUrl::parse(&raw_url, allow_http)?;
    // A pasted token often ends in a line break: it is sent trimmed.
    let token = details
        .token
        .map(|t| Secret::new(t.expose().trim()))
        .filter(|t| !t.expose().is_empty());
    let username = nonempty(details.username);
    let auth_kind = SignIn::kind_for(kind, details.auth_kind, username.as_deref())?;
    // The reference server kept ClickUp's team as the organisation; pm-mcp calls it the
    // workspace. For any other tracker it would be stored and never read: refused instead.
    let workspace = match (
        nonempty(details.workspace_id),
        nonempty(details.organization_id),
    ) {
        (Some(w), Some(o)) if w != o => {
            return Err(invalid(format!(
                "workspace_id {w:?} and organization_id {o:?} name two ClickUp workspaces; give one"
            )));
        }
        (Some(w), _) => Some(w),
        (None, Some(o)) if kind == ProviderKind::ClickUp => Some(o),
        (None, Some(_)) => {
            return Err(invalid(format!(
                "organization_id is ClickUp's team (workspace) id; {kind} connections take none"
            )));
        }
        (None, None) => None,
    };
    let options = ConnectionOptions {
        workspace_id: workspace.as_deref().map(str::parse).transpose()?,
        text_format: nonempty(details.text_format)
            .as_deref()
            .map(str::parse)
            .transpose()?,
        notify: details.notify,
    };
    options.check(kind)?;
    Ok(Prepared {
        kind,
        base_url,
        auth_kind,
        username,
        token,
        options,
    })
}

/// What `configure` does when the name already holds the same tracker (type and URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameTracker {
    /// Test the new credentials and store them in place (configure_pm_provider, as the reference
    /// server did).
    TakeNewCredentials,
    /// Refuse: a create is not an update (the admin API, which has PATCH).
    Refuse,
}

/// What changes on a connection (the admin API's PATCH): each field given replaces the stored
/// one.
#[derive(Debug, Default)]
pub struct Change {
    /// A new handle (old ids with the old handle stop working).
    pub name: Option<String>,
    /// A free-form name beside the handle; empty clears it.
    pub display_name: Option<String>,
    pub base_url: Option<String>,
    /// A new token (or key).
    pub token: Option<Secret>,
    /// A new sign-in name; needs the token that goes with it.
    pub username: Option<String>,
    pub workspace_id: Option<String>,
    pub organization_id: Option<String>,
    pub text_format: Option<String>,
    pub notify: Option<bool>,
    /// `false` keeps the connection but stops it being used (and being the default).
    pub is_active: Option<bool>,
    /// Test a new URL, token or options against the tracker before storing them.
    pub test: bool,
}

impl Service {
    /// A client for a connection not stored yet (tested before it is saved), or being changed.
    pub fn connect(
        &self,
        spec: &ConnectionSpec,
    ) -> pm_core::ProviderResult<std::sync::Arc<dyn Provider>> {
        pm_providers::connect(self.client.clone(), spec, self.settings.clone())
    }

    /// [`prepare`] under this server's `--allow-http`.
    pub fn prepare(
        &self,
        kind: ProviderKind,
        details: Details,
    ) -> Result<Prepared, ConnectionError> {
        prepare(self.allow_http, kind, details)
    }

    /// Adds a connection for `user` after testing it (sign-in, site, projects); its token is
    /// sealed before it is stored. `configure_pm_provider` and the admin API's create.
    pub async fn configure(
        &self,
        user: UserId,
        args: ConfigureArgs,
        same_tracker: SameTracker,
    ) -> Result<ConfigureResult, ConnectionError> {
        let invalid = ConnectionError::Invalid;
        let mut notes = Vec::new();
        let plain_jira = args.provider_type.trim().eq_ignore_ascii_case("jira");
        let mut kind: ProviderKind = args.provider_type.parse()?;
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
        let prepared = self.prepare(
            kind,
            Details {
                base_url: args.base_url,
                token: nonempty(args.api_token)
                    .or(nonempty(args.api_key))
                    .map(Secret::new),
                username: args.username,
                auth_kind: None,
                workspace_id: args.workspace_id,
                organization_id: args.organization_id,
                text_format: args.text_format,
                notify: args.notify,
            },
        )?;
        let kind = prepared.kind;
        if plain_jira {
            notes.push(format!(
                "provider_type jira at {} was taken as {} ({}); say jira_cloud or jira_data_center to choose",
                prepared.base_url.host(),
                kind.display_name(),
                kind.as_str()
            ));
        }
        let fallback = ConnectionHandle::parse(default_name(kind))?;
        let mut display_name = None;
        let name = match display_given {
            None => fallback,
            Some(n) => match ConnectionHandle::parse(&n) {
                Ok(h) => h,
                // A display name (the reference server's "My JIRA"): a handle made from it, and
                // the name kept as the connection's display name.
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
        let token = prepared
            .token
            .clone()
            .ok_or_else(|| invalid(format!("api_token is required for {kind}")))?;
        let spec = prepared.spec(token.clone())?;
        // The same tracker configured again takes the new credentials once they pass the test
        // (as the reference server updated a connection of the same user, type and URL); a
        // connection of another tracker is never overwritten.
        let replacing = match self.store.get_connection(user, &name).await? {
            Some(existing)
                if existing.provider_type == kind
                    && existing.base_url == prepared.base_url
                    && same_tracker == SameTracker::TakeNewCredentials =>
            {
                Some(existing)
            }
            Some(existing)
                if existing.provider_type == kind && existing.base_url == prepared.base_url =>
            {
                return Err(ConnectionError::Conflict(format!(
                    "you already have this tracker ({kind} at {}) as connection {name}; change it with PATCH, or remove it first",
                    prepared.base_url
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
        let provider = self
            .connect(&spec)
            .map_err(|e| invalid(ServiceError::tracker(&name, &e).message))?;
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
        let mut options = prepared.options.clone();
        // The workspace the tracker reported the token works in (ClickUp finds it when the
        // token sees exactly one), so later calls need not look it up again.
        if options.workspace_id.is_none()
            && let Some(w) = test.site.as_ref().and_then(|s| s.workspace_id.as_deref())
            && let Ok(w) = w.parse()
        {
            options.workspace_id = Some(w);
        }
        let credentials = ProviderCredentials {
            username: prepared.username.clone(),
            token,
        };
        let conn = match replacing {
            Some(existing) => {
                // New credentials and the options given (over the stored ones); nothing else
                // moves.
                let sealed = credentials.seal(&self.keys, existing.id, user);
                notes.push(format!(
                    "connection {name} already held this tracker; it now uses the new credentials"
                ));
                if !existing.is_active {
                    notes.push(format!(
                        "connection {name} is inactive and stays so; an administrator can activate it"
                    ));
                }
                self.store
                    .update_connection(
                        user,
                        existing.id,
                        &ConnectionChange {
                            credentials: Some((prepared.auth_kind, sealed)),
                            config: Some(options.over(&existing.config.clone().only_for(kind))),
                            display_name: display_name.map(Some),
                            ..ConnectionChange::default()
                        },
                    )
                    .await?
            }
            None => {
                let id = ConnectionId::new();
                let sealed = credentials.seal(&self.keys, id, user);
                self.store
                    .add_connection(NewConnection {
                        id,
                        user_id: user,
                        name: name.clone(),
                        provider_type: kind,
                        base_url: prepared.base_url.clone(),
                        auth_kind: prepared.auth_kind,
                        sealed,
                        config: options,
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
        // retry then collide with it). Recording the check is secondary. This process sees its
        // own change at once (other replicas within the epoch bound).
        self.forget_connections(user);
        self.forget(conn.id);
        let conn = match self
            .store
            .record_connection_check(user, conn.id, Utc::now(), test.error.clone())
            .await
        {
            Ok(()) => match self.store.get_connection_by_id(user, conn.id).await {
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
    pub async fn test_connection(
        &self,
        user: UserId,
        conn: &Connection,
    ) -> Result<TestResult, ConnectionError> {
        let provider = self
            .client(conn)
            .await
            .map_err(|e| ConnectionError::Credentials(e.message))?;
        let test = run_test(provider.as_ref()).await;
        self.store
            .record_connection_check(user, conn.id, Utc::now(), test.error.clone())
            .await?;
        self.forget_connections(user);
        Ok(TestResult {
            connection: conn.name.to_string(),
            test,
        })
    }

    /// Removes one of `user`'s connections with its stored credentials.
    pub async fn remove_connection(
        &self,
        user: UserId,
        conn: &Connection,
    ) -> Result<RemoveResult, ConnectionError> {
        self.store.delete_connection(user, &conn.name).await?;
        self.forget_connections(user);
        self.forget(conn.id);
        let default = self
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

    /// Changes one of `user`'s connections (the admin API's PATCH). A new address, token or
    /// options are tested against the tracker first (unless `change.test` is false), with the
    /// stored token when no new one is given; nothing is stored when the test fails.
    pub async fn change_connection(
        &self,
        user: UserId,
        conn: Connection,
        change: Change,
    ) -> Result<Connection, ConnectionError> {
        let token = change.token.filter(|t| !t.expose().trim().is_empty());
        let username = nonempty(change.username);
        let touches_tracker = nonempty(change.base_url.clone()).is_some()
            || token.is_some()
            || username.is_some()
            || nonempty(change.organization_id.clone()).is_some()
            || nonempty(change.workspace_id.clone()).is_some()
            || nonempty(change.text_format.clone()).is_some()
            || change.notify.is_some();
        if username.is_some() && token.is_none() {
            return Err(ConnectionError::Invalid(
                "a new username needs the token that goes with it: send api_token too".into(),
            ));
        }
        let mut store_change = ConnectionChange {
            is_active: change.is_active,
            ..Default::default()
        };
        if let Some(name) = nonempty(change.name) {
            store_change.name = Some(ConnectionHandle::parse(&name)?);
        }
        if let Some(d) = &change.display_name {
            crate::manage::check_printable("display_name", d).map_err(ConnectionError::Invalid)?;
            store_change.display_name = Some(Some(d.trim().to_string()).filter(|d| !d.is_empty()));
        }
        if touches_tracker {
            // The stored credentials, when only the URL or options change (tested with them), or
            // a new token comes without a user name for a connection signing in with one.
            let keeps_username = username.is_none() && conn.auth_kind == AuthKind::Basic;
            let stored = match token {
                Some(_) if !keeps_username => None,
                _ => {
                    let sealed = self
                        .store
                        .get_sealed_credentials(user, conn.id)
                        .await?
                        .ok_or_else(|| {
                            ConnectionError::Invalid(format!(
                                "connection {} was just removed",
                                conn.name
                            ))
                        })?;
                    let creds = ProviderCredentials::open(&self.keys, &sealed, conn.id, user)
                        .map_err(|e| {
                            ConnectionError::Credentials(format!(
                                "the stored credentials cannot be opened ({e}); send api_token"
                            ))
                        })?;
                    Some(creds)
                }
            };
            let new_token = token.is_some();
            let prepared = self.prepare(
                conn.provider_type,
                Details {
                    base_url: nonempty(change.base_url).or(Some(conn.base_url.to_string())),
                    token,
                    // No new user name: the connection keeps signing in as it does (a user name
                    // stored beside a token sent otherwise was never sent, and is not now).
                    auth_kind: username.is_none().then_some(conn.auth_kind),
                    username: username.or_else(|| {
                        stored
                            .as_ref()
                            .and_then(|c| c.username.clone())
                            .filter(|_| conn.auth_kind == AuthKind::Basic)
                    }),
                    workspace_id: change.workspace_id,
                    organization_id: change.organization_id,
                    text_format: change.text_format,
                    notify: change.notify,
                },
            )?;
            let secret = match (&prepared.token, stored) {
                (Some(t), _) => t.clone(),
                (None, Some(c)) => c.token,
                (None, None) => {
                    return Err(ConnectionError::Invalid("api_token is required".into()));
                }
            };
            let options = prepared
                .options
                .clone()
                .over(&conn.config.clone().only_for(conn.provider_type));
            let prepared = Prepared {
                options,
                ..prepared
            };
            let spec = prepared.spec(secret.clone())?;
            if change.test {
                let provider = self
                    .connect(&spec)
                    .map_err(|e| ConnectionError::Invalid(e.to_string()))?;
                let test = run_test(provider.as_ref()).await;
                if !test.ok {
                    return Err(ConnectionError::TestFailed(format!(
                        "connection {}: the test failed, so nothing was changed: {}",
                        conn.name,
                        test.error.as_deref().unwrap_or("unknown error")
                    )));
                }
            }
            store_change.base_url = Some(prepared.base_url.clone());
            store_change.config = Some(prepared.options.clone());
            if new_token {
                let creds = ProviderCredentials {
                    username: prepared.username.clone(),
                    token: secret,
                };
                store_change.credentials =
                    Some((prepared.auth_kind, creds.seal(&self.keys, conn.id, user)));
            }
        }
        let updated = self
            .store
            .update_connection(user, conn.id, &store_change)
            .await?;
        self.forget(conn.id);
        self.forget_connections(user);
        Ok(updated)
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

    fn details() -> Details {
        Details {
            base_url: Some("https://acme.atlassian.net".into()),
            token: Some(Secret::new("tok")),
            username: Some("ann@acme.org".into()),
            ..Details::default()
        }
    }

    #[test]
    fn what_a_tracker_does_not_take_is_refused_before_anything_is_stored() {
        let ok = prepare(false, ProviderKind::JiraCloud, details()).expect("jira cloud");
        assert_eq!(ok.auth_kind, AuthKind::Basic);
        assert!(ok.spec(Secret::new("tok")).is_ok());
        // ClickUp's team under the reference server's name is the workspace.
        let cu = prepare(
            false,
            ProviderKind::ClickUp,
            Details {
                base_url: None,
                username: None,
                organization_id: Some("9001".into()),
                ..details()
            },
        )
        .expect("clickup");
        assert_eq!(cu.options.workspace_id.map(|w| w.get()), Some(9001));
        assert_eq!(cu.base_url.as_str(), "https://api.clickup.com/api");
        let both = prepare(
            false,
            ProviderKind::ClickUp,
            Details {
                base_url: None,
                username: None,
                organization_id: Some("9001".into()),
                workspace_id: Some("9002".into()),
                ..details()
            },
        )
        .expect_err("two workspaces");
        assert!(
            both.to_string().contains("two ClickUp workspaces"),
            "{both}"
        );
        for (what, d) in [
            (
                "organization_id",
                Details {
                    organization_id: Some("acme".into()),
                    ..details()
                },
            ),
            (
                "workspace_id",
                Details {
                    workspace_id: Some("9001".into()),
                    ..details()
                },
            ),
            (
                "text_format",
                Details {
                    text_format: Some("markdown".into()),
                    ..details()
                },
            ),
            (
                "notify",
                Details {
                    notify: Some(false),
                    ..details()
                },
            ),
        ] {
            let e = prepare(false, ProviderKind::JiraCloud, d).expect_err(what);
            assert!(e.to_string().starts_with(what), "{what}: {e}");
        }
        let no_mail = prepare(
            false,
            ProviderKind::JiraCloud,
            Details {
                username: None,
                ..details()
            },
        )
        .expect_err("cloud without e-mail");
        assert!(no_mail.to_string().contains("Atlassian account e-mail"));
        let plain = prepare(
            false,
            ProviderKind::Redmine,
            Details {
                base_url: Some("http://redmine.local".into()),
                username: None,
                ..details()
            },
        )
        .expect_err("http");
        assert!(plain.to_string().contains("http"), "{plain}");
    }
}
