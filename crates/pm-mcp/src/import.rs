//! `pm-mcp import`: brings the reference server's database over (its users, their MCP API keys
//! and their tracker connections) so its clients keep working. The source is read in one
//! read-only transaction and never changed; what is written here is sealed or hashed like
//! everything pm-mcp stores; a second run adds only what is new.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, NaiveDateTime, Utc};
use pm_core::{
    ApiKeyId, AuthKind, BaseUrl, ConnectionHandle, ConnectionId, ConnectionOptions, Email,
    ProviderKind, Scope, Scopes, Secret, UserId,
};
use pm_store::{
    ApiKey, ImportedKey, MasterKeys, NewApiKey, NewConnection, NewUser, ProviderCredentials, Store,
};
use serde_json::Value;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Row};

use crate::cli::ImportArgs;

/// A reference user row.
struct RefUser {
    id: uuid::Uuid,
    email: String,
    name: String,
}

/// A reference key row (the key itself is only held long enough to hash it).
struct RefKey {
    id: uuid::Uuid,
    user_id: uuid::Uuid,
    api_key: Secret,
    name: Option<String>,
    last_used_at: Option<NaiveDateTime>,
    expires_at: Option<NaiveDateTime>,
    is_active: bool,
    created_at: Option<NaiveDateTime>,
}

/// A reference connection row.
struct RefConnection {
    id: uuid::Uuid,
    name: String,
    provider_type: String,
    base_url: String,
    api_key: Option<Secret>,
    api_token: Option<Secret>,
    username: Option<String>,
    organization_id: Option<String>,
    project_key: Option<String>,
    workspace_id: Option<String>,
    additional_config: Option<Value>,
    is_active: bool,
    created_by: Option<uuid::Uuid>,
}

/// What happened to one table's rows.
#[derive(Debug, Default)]
pub struct Tally {
    pub imported: usize,
    pub already: usize,
    /// Why rows were skipped, with how many each.
    pub skipped: BTreeMap<String, usize>,
}

impl Tally {
    fn skip(&mut self, why: impl Into<String>) {
        *self.skipped.entry(why.into()).or_default() += 1;
    }

    fn line(&self, dry_run: bool) -> String {
        let verb = if dry_run { "to import" } else { "imported" };
        let skipped: usize = self.skipped.values().sum();
        let mut line = format!(
            "{} {verb}, {} already there, {skipped} skipped",
            self.imported, self.already
        );
        if skipped > 0 {
            let why: Vec<String> = self
                .skipped
                .iter()
                .map(|(why, n)| format!("{n} {why}"))
                .collect();
            line.push_str(&format!(" ({})", why.join("; ")));
        }
        line
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub users: Tally,
    pub keys: Tally,
    pub connections: Tally,
    /// Things the operator should look at (e-mail clashes, renamed handles).
    pub notes: Vec<String>,
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(t, Utc)
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// Reads the whole source in one read-only, repeatable-read transaction (a consistent snapshot),
/// then rolls it back: nothing in the source changes.
async fn read_source(url: &str) -> Result<(Vec<RefUser>, Vec<RefKey>, Vec<RefConnection>)> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|_| anyhow!("--from is not a PostgreSQL URL (postgres://user@host/mcp_server)"))?
        // Belt and braces: every transaction of this session is read-only.
        .options([("default_transaction_read_only", "on")]);
    let mut conn = options.connect().await.with_context(|| {
        format!(
            "cannot connect to the reference database {}",
            pm_store::redact_url(url)
        )
    })?;
    let mut tx = conn.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let users =
        sqlx::query("SELECT id, email, name FROM users ORDER BY created_at NULLS FIRST, id")
            .fetch_all(&mut *tx)
            .await
            .context("reading the reference's users")?
            .into_iter()
            .map(|r| -> Result<RefUser> {
                Ok(RefUser {
                    id: r.try_get("id")?,
                    email: r.try_get("email")?,
                    name: r.try_get("name")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
    let keys = sqlx::query(
        "SELECT id, user_id, api_key, name, last_used_at, expires_at, \
         COALESCE(is_active, TRUE) AS is_active, created_at \
         FROM user_mcp_api_keys ORDER BY created_at NULLS FIRST, id",
    )
    .fetch_all(&mut *tx)
    .await
    .context("reading the reference's API keys")?
    .into_iter()
    .map(|r| -> Result<RefKey> {
        Ok(RefKey {
            id: r.try_get("id")?,
            user_id: r.try_get("user_id")?,
            api_key: Secret::new(r.try_get::<String, _>("api_key")?),
            name: r.try_get("name")?,
            last_used_at: r.try_get("last_used_at")?,
            expires_at: r.try_get("expires_at")?,
            is_active: r.try_get("is_active")?,
            created_at: r.try_get("created_at")?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    let connections = sqlx::query(
        "SELECT id, name, provider_type, base_url, api_key, api_token, username, organization_id, \
         project_key, workspace_id, additional_config, COALESCE(is_active, TRUE) AS is_active, \
         created_by FROM pm_provider_connections ORDER BY created_at NULLS FIRST, id",
    )
    .fetch_all(&mut *tx)
    .await
    .context("reading the reference's provider connections")?
    .into_iter()
    .map(|r| -> Result<RefConnection> {
        let secret = |col: &str| -> Result<Option<Secret>> {
            Ok(nonempty(r.try_get::<Option<String>, _>(col)?).map(Secret::new))
        };
        Ok(RefConnection {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            provider_type: r.try_get("provider_type")?,
            base_url: r.try_get("base_url")?,
            api_key: secret("api_key")?,
            api_token: secret("api_token")?,
            username: nonempty(r.try_get("username")?),
            organization_id: nonempty(r.try_get("organization_id")?),
            project_key: nonempty(r.try_get("project_key")?),
            workspace_id: nonempty(r.try_get("workspace_id")?),
            additional_config: r
                .try_get::<Option<sqlx::types::Json<Value>>, _>("additional_config")?
                .map(|j| j.0),
            is_active: r.try_get("is_active")?,
            created_by: r.try_get("created_by")?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    tx.rollback().await?;
    conn.close().await?;
    Ok((users, keys, connections))
}

/// Who a reference user became here: an existing user, one imported now, or one that would be
/// (dry run).
#[derive(Clone, Copy)]
struct Target {
    id: UserId,
}

pub async fn run(store: &dyn Store, keys: &MasterKeys, args: &ImportArgs) -> Result<Report> {
    let now = Utc::now();
    let expire_at = match &args.expire_imported {
        Some(t) => Some(
            now + pm_server::manage::parse_duration(t, "--expire-imported")
                .map_err(|e| anyhow!(e))?,
        ),
        None => None,
    };
    let (ref_users, ref_keys, ref_conns) = read_source(&args.from).await?;
    let mut report = Report::default();

    // ---- users, by e-mail (case-insensitively) ----
    let mut by_email: HashMap<Email, Vec<&RefUser>> = HashMap::new();
    for u in &ref_users {
        match Email::parse(&u.email) {
            Ok(e) => by_email.entry(e).or_default().push(u),
            Err(_) => report.users.skip("not an e-mail address"),
        }
    }
    let mut targets: HashMap<uuid::Uuid, Target> = HashMap::new();
    let mut emails: Vec<&Email> = by_email.keys().collect();
    emails.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    for email in emails {
        let group = &by_email[email];
        if group.len() > 1 {
            let spelt: Vec<&str> = group.iter().map(|u| u.email.as_str()).collect();
            report.notes.push(format!(
                "users {} differ only in case; pm-mcp's e-mails are case-insensitive, so none of them was imported (nor their keys and connections): merge or rename them in the source and run the import again",
                spelt.join(", ")
            ));
            for _ in group.iter() {
                report
                    .users
                    .skip("e-mail clashes with another's, differing only in case");
            }
            continue;
        }
        let u = group[0];
        if let Some(existing) = store.get_user_by_email(email).await? {
            report.users.already += 1;
            targets.insert(u.id, Target { id: existing.id });
            continue;
        }
        let id = UserId::from_uuid(u.id);
        if !args.dry_run {
            let name = if u.name.trim().is_empty() {
                pm_server::manage::display_name(email, None)
            } else {
                u.name.trim().to_string()
            };
            store
                .add_user(NewUser {
                    id,
                    email: email.clone(),
                    name,
                    is_admin: false,
                })
                .await
                .with_context(|| format!("adding user {email}"))?;
        }
        report.users.imported += 1;
        targets.insert(u.id, Target { id });
    }
    let ownerless_to = match &args.ownerless_to {
        Some(raw) => Some(find_target(store, &ref_users, &targets, raw, "--ownerless-to").await?),
        None => None,
    };
    let sync_for = match &args.grant_sync_to {
        Some(raw) => Some(find_target(store, &ref_users, &targets, raw, "--grant-sync-to").await?),
        None => None,
    };

    // ---- API keys: the same string keeps working; only its hash is stored ----
    for k in &ref_keys {
        let Some(owner) = targets.get(&k.user_id) else {
            report.keys.skip("owner not imported");
            continue;
        };
        if !k.is_active {
            report.keys.skip("inactive (revoked in the reference)");
            continue;
        }
        if k.expires_at.is_some_and(|t| utc(t) <= now) {
            report.keys.skip("expired");
            continue;
        }
        let Some(key) = ApiKey::parse_legacy(k.api_key.expose()) else {
            report.keys.skip("not shaped like a reference key");
            continue;
        };
        if let Some(found) = store.find_api_key(&key.hash()).await? {
            if found.user.id == owner.id {
                report.keys.already += 1;
            } else {
                report.keys.skip("the same key is already another user's");
            }
            continue;
        }
        let mut scopes = vec![Scope::Read, Scope::Write];
        if sync_for.is_some_and(|s| s.id == owner.id) {
            scopes.push(Scope::Sync);
        }
        let expires_at = match (k.expires_at.map(utc), expire_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut row = NewApiKey::for_key(
            &key,
            owner.id,
            nonempty(k.name.clone()).unwrap_or_else(|| "imported key".into()),
            Scopes::from_iter_nonempty(scopes).map_err(|e| anyhow!(e.0))?,
            expires_at,
        );
        row.id = ApiKeyId::from_uuid(k.id);
        row.imported = Some(ImportedKey {
            at: now,
            last_used_at: k.last_used_at.map(utc),
            created_at: k.created_at.map_or(now, utc),
        });
        if !args.dry_run {
            store
                .add_api_key(row)
                .await
                .context("adding an imported key")?;
        }
        report.keys.imported += 1;
    }

    // ---- connections: owned by their creator, the reference id kept, credentials sealed ----
    let mut taken: HashMap<UserId, HashSet<String>> = HashMap::new();
    let mut external_taken: HashMap<UserId, HashSet<String>> = HashMap::new();
    for c in &ref_conns {
        let owner = match c.created_by {
            Some(creator) => match targets.get(&creator) {
                Some(t) => *t,
                None => {
                    report.connections.skip("owner not imported");
                    continue;
                }
            },
            None => match ownerless_to {
                Some(t) => t,
                None => {
                    report
                        .connections
                        .skip("ownerless (shared by everyone in the reference; name an owner with --ownerless-to)");
                    continue;
                }
            },
        };
        let Some(kind) = ProviderKind::from_reference(&c.provider_type, &c.base_url) else {
            report
                .connections
                .skip(format!("unknown provider type {:?}", c.provider_type));
            continue;
        };
        let id = ConnectionId::from_uuid(c.id);
        if store.get_connection_by_id(owner.id, id).await?.is_some() {
            report.connections.already += 1;
            continue;
        }
        let raw_url = if c.base_url.trim().is_empty() {
            kind.fixed_base_url().unwrap_or_default().to_string()
        } else {
            c.base_url.trim().trim_end_matches('/').to_string()
        };
        // The server's own http policy applies when the connection is used.
        let Ok(base_url) = BaseUrl::parse(&raw_url, true) else {
            report.connections.skip("base URL is not a URL");
            continue;
        };
        let token = match kind {
            ProviderKind::JiraCloud | ProviderKind::JiraDataCenter => {
                c.api_token.clone().or_else(|| c.api_key.clone())
            }
            _ => c.api_key.clone().or_else(|| c.api_token.clone()),
        };
        let Some(token) = token else {
            report.connections.skip("no credentials");
            continue;
        };
        let auth_kind = match (kind, &c.username) {
            (ProviderKind::JiraCloud, None) => {
                report
                    .connections
                    .skip("Jira Cloud without the account e-mail (username)");
                continue;
            }
            (ProviderKind::JiraDataCenter, Some(_)) => AuthKind::Basic,
            _ => kind.default_auth_kind(),
        };
        let names = match taken.get_mut(&owner.id) {
            Some(n) => n,
            None => {
                let mut set = HashSet::new();
                let mut ext = HashSet::new();
                for existing in store.list_connections(owner.id).await? {
                    set.insert(existing.name.as_str().to_string());
                    if let Some(x) = existing.external_id {
                        ext.insert(x);
                    }
                }
                external_taken.insert(owner.id, ext);
                taken.entry(owner.id).or_insert(set)
            }
        };
        let base = ConnectionHandle::derive(&c.name)
            .or_else(|| ConnectionHandle::parse(kind.as_str()).ok())
            .ok_or_else(|| anyhow!("no handle for a {kind} connection"))?;
        let mut handle = base.clone();
        let mut n = 2;
        while names.contains(handle.as_str()) {
            handle = base.with_suffix(n);
            n += 1;
        }
        if handle != base {
            report.notes.push(format!(
                "connection {:?} ({}) is named {handle} here: {base} was taken",
                c.name, c.id
            ));
        }
        names.insert(handle.as_str().to_string());
        // The options pm-mcp reads (ClickUp's team, under either name); what it would never
        // read is not imported, and the report says so.
        let mut config = ConnectionOptions::default();
        let mut unused = Vec::new();
        let workspace = match kind {
            ProviderKind::ClickUp => c.workspace_id.as_ref().or(c.organization_id.as_ref()),
            _ => {
                unused.extend(c.workspace_id.as_ref().map(|_| "workspace_id"));
                unused.extend(c.organization_id.as_ref().map(|_| "organization_id"));
                None
            }
        };
        if let Some(w) = workspace {
            match w.parse() {
                Ok(w) => config.workspace_id = Some(w),
                Err(_) => unused.push("workspace_id (not a ClickUp workspace id)"),
            }
        }
        unused.extend(c.project_key.as_ref().map(|_| "project_key"));
        let mut external_id = None;
        if let Some(extra) = &c.additional_config {
            if let Some(x) = extra.get("backend_provider_id").and_then(|v| match v {
                Value::String(s) => nonempty(Some(s.clone())),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }) {
                let ext = external_taken.entry(owner.id).or_default();
                if ext.insert(x.clone()) {
                    external_id = Some(x);
                }
            }
            let kept_only_the_id = extra
                .as_object()
                .is_some_and(|m| m.keys().all(|k| k == "backend_provider_id"));
            if !extra.is_null() && !kept_only_the_id {
                unused.push("additional_config");
            }
        }
        if !unused.is_empty() {
            report.notes.push(format!(
                "connection {:?} ({}): {} not imported, as pm-mcp does not use them",
                c.name,
                c.id,
                unused.join(", ")
            ));
        }
        if !args.dry_run {
            let sealed = ProviderCredentials {
                // A user name goes only with Basic sign-in (any other never sent it).
                username: c.username.clone().filter(|_| auth_kind == AuthKind::Basic),
                token,
            }
            .seal(keys, id, owner.id);
            let added = store
                .add_connection(NewConnection {
                    id,
                    user_id: owner.id,
                    name: handle,
                    provider_type: kind,
                    base_url,
                    auth_kind,
                    sealed,
                    config,
                    is_active: c.is_active,
                    external_id,
                    display_name: Some(c.name.trim().to_string()).filter(|n| !n.is_empty()),
                })
                .await;
            match added {
                Ok(_) => {}
                Err(pm_store::StoreError::Conflict(_)) => {
                    report
                        .connections
                        .skip("its id is already another user's connection");
                    continue;
                }
                Err(e) => return Err(anyhow!("adding connection {}: {e}", c.id)),
            }
        }
        report.connections.imported += 1;
    }
    Ok(report)
}

/// A user named on the command line: one already here or one this run imports.
async fn find_target(
    store: &dyn Store,
    ref_users: &[RefUser],
    targets: &HashMap<uuid::Uuid, Target>,
    raw: &str,
    flag: &str,
) -> Result<Target> {
    let email = Email::parse(raw).map_err(|e| anyhow!("{flag}: {}", e.0))?;
    if let Some(u) = store.get_user_by_email(&email).await? {
        return Ok(Target { id: u.id });
    }
    ref_users
        .iter()
        .filter(|u| Email::parse(&u.email).is_ok_and(|e| e == email))
        .find_map(|u| targets.get(&u.id).copied())
        .ok_or_else(|| {
            anyhow!("{flag}: no user {email} here or in the reference database (add them first with `pm-mcp user add`)")
        })
}

pub fn print(report: &Report, source: &str, dry_run: bool) {
    println!(
        "{} the reference database {} (read-only; nothing there was changed).",
        if dry_run {
            "Dry run: nothing was written. Would import from"
        } else {
            "Imported from"
        },
        pm_store::redact_url(source)
    );
    println!("  users:        {}", report.users.line(dry_run));
    println!("  API keys:     {}", report.keys.line(dry_run));
    println!("  connections:  {}", report.connections.line(dry_run));
    for note in &report.notes {
        println!("note: {note}");
    }
    if !dry_run && report.keys.imported > 0 {
        println!(
            "Imported keys keep working as they are (mcp_…, with or without the prefix); `pm-mcp key list --user <e-mail>` shows them as imported. Move their holders to pm-mcp keys (`pm-mcp key create`) and revoke the old ones."
        );
    }
}

/// Exit status: a dry run or a clean run is 0; skipped rows are reported, not failures.
pub fn check(report: &Report) -> Result<()> {
    if report.users.imported + report.users.already == 0
        && report.keys.imported + report.keys.already == 0
        && report.connections.imported + report.connections.already == 0
        && !report.users.skipped.is_empty()
    {
        bail!("nothing could be imported; see the reasons above");
    }
    Ok(())
}
