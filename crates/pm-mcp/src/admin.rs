//! The administrative commands: users, API keys, provider connections, and the first-run setup.
use std::io::BufRead;

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, Duration, Utc};
use pm_core::{
    ApiKeyId, ConnectionHandle, ConnectionId, ConnectionOptions, Email, ProviderKind, Scope,
    Scopes, Secret,
};
use pm_server::manage::{self, display_name};
use pm_store::{
    ApiKey, ApiKeyInfo, MasterKeys, NewApiKey, NewConnection, NewUser, ProviderCredentials, Store,
    StoreError, User,
};
use serde_json::json;

use crate::cli::{ConnectionAddArgs, KeyCreateArgs};
use crate::clients;

fn db(e: StoreError) -> anyhow::Error {
    anyhow!("{e}")
}

pub async fn find_user(store: &dyn Store, email: &str) -> Result<User> {
    let email = Email::parse(email)?;
    store
        .get_user_by_email(&email)
        .await
        .map_err(db)?
        .ok_or_else(|| {
            anyhow!("no user with e-mail {email}; add one with `pm-mcp user add --email {email}`")
        })
}

/// Text that came from a user, safe to print in a terminal: control characters (an ESC or OSC
/// sequence stored before names were checked) are shown escaped, never sent to the terminal.
pub(crate) fn shown(text: &str) -> String {
    text.chars()
        .map(|c| {
            if manage::is_unprintable(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn fmt_time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "-".into())
}

// ---- users ----

pub async fn user_add(
    store: &dyn Store,
    email: &str,
    name: Option<&str>,
    admin: bool,
) -> Result<()> {
    let email = Email::parse(email)?;
    if let Some(n) = name {
        pm_server::manage::check_printable("--name", n).map_err(anyhow::Error::msg)?;
    }
    let user = store
        .add_user(NewUser::new(
            email.clone(),
            display_name(&email, name),
            admin,
        ))
        .await
        .map_err(db)?;
    println!(
        "Added user {} ({}){}",
        user.email,
        user.id,
        if user.is_admin { ", administrator" } else { "" }
    );
    println!(
        "Create their API key with: pm-mcp key create --user {} --name \"Cursor laptop\"",
        user.email
    );
    Ok(())
}

pub async fn user_list(store: &dyn Store, as_json: bool) -> Result<()> {
    let users = store.list_users().await.map_err(db)?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&users)?);
        return Ok(());
    }
    if users.is_empty() {
        println!(
            "No users yet. Create the first administrator with: pm-mcp init --email you@example.org"
        );
        return Ok(());
    }
    println!(
        "{:<36}  {:<32}  {:<20}  {:<5}  STATUS",
        "ID", "EMAIL", "NAME", "ADMIN"
    );
    for u in users {
        let status = if u.is_disabled() {
            format!("disabled {}", fmt_time(u.disabled_at))
        } else {
            "active".into()
        };
        println!(
            "{:<36}  {:<32}  {:<20}  {:<5}  {}",
            u.id,
            shown(u.email.as_str()),
            shown(&u.name),
            if u.is_admin { "yes" } else { "no" },
            status
        );
    }
    Ok(())
}

pub async fn user_set_disabled(store: &dyn Store, email: &str, disabled: bool) -> Result<()> {
    let user = find_user(store, email).await?;
    let user = store
        .set_user_disabled(user.id, disabled)
        .await
        .map_err(db)?;
    if disabled {
        println!("Disabled {}: their API keys stop working now.", user.email);
    } else {
        println!("Enabled {}.", user.email);
    }
    Ok(())
}

// ---- keys ----

/// `90d`, `12h`, `2w`, `30m`, `45s`, a date or RFC 3339 (see `pm_server::manage::parse_expiry`).
pub fn parse_duration(t: &str, flag: &str) -> Result<Duration> {
    manage::parse_duration(t, flag).map_err(anyhow::Error::msg)
}

pub async fn key_create(
    store: &dyn Store,
    args: &KeyCreateArgs,
    url: &str,
    launch: &clients::StdioLaunch,
) -> Result<()> {
    let user = find_user(store, &args.user).await?;
    if user.is_disabled() {
        bail!(
            "{} is disabled; enable them first with `pm-mcp user enable --email {}`",
            user.email,
            user.email
        );
    }
    let spec = manage::KeySpec {
        name: &args.name,
        scopes: &args.scopes,
        toolsets: &args.toolsets,
        expires: args.expires.as_deref(),
        expires_field: "--expires",
        name_field: "--name",
    };
    let (info, key) = manage::create_key(store, &user, &spec)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    if args.json {
        let out = json!({
            "id": info.id, "user": user.email, "name": info.name, "key": key.expose(), "prefix": info.key_prefix,
            "scopes": info.scopes, "toolsets": info.toolsets, "expires_at": info.expires_at, "url": url,
            "configs": clients::all_configs(key.expose(), url, launch),
            // What the stdio config cannot carry (PostgreSQL's URL, a master key), or null.
            "stdio_note": launch.note,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_new_key(&user, &info, &key, url, launch);
    }
    Ok(())
}

fn expiry(info: &ApiKeyInfo) -> String {
    info.expires_at
        .map(|t| fmt_time(Some(t)))
        .unwrap_or_else(|| "never".into())
}

pub fn print_new_key(
    user: &User,
    info: &ApiKeyInfo,
    key: &ApiKey,
    url: &str,
    launch: &clients::StdioLaunch,
) {
    println!(
        "Created API key \"{}\" for {} (scopes: {}; expires: {}):",
        info.name,
        user.email,
        info.scopes,
        expiry(info)
    );
    println!(
        "{}",
        clients::connect_instructions(key.expose(), url, launch)
    );
}

pub async fn key_list(store: &dyn Store, user: &str, as_json: bool) -> Result<()> {
    let user = find_user(store, user).await?;
    let keys = store.list_api_keys(user.id).await.map_err(db)?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&keys)?);
        return Ok(());
    }
    if keys.is_empty() {
        println!(
            "{} has no API keys. Create one with: pm-mcp key create --user {}",
            user.email, user.email
        );
        return Ok(());
    }
    let now = Utc::now();
    println!(
        "{:<36}  {:<14}  {:<20}  {:<16}  {:<20}  {:<20}  STATUS",
        "ID", "PREFIX", "NAME", "SCOPES", "EXPIRES", "LAST USED"
    );
    for k in keys {
        println!(
            "{:<36}  {:<14}  {:<20}  {:<16}  {:<20}  {:<20}  {}",
            k.id,
            k.key_prefix,
            shown(&k.name),
            k.scopes.to_string(),
            fmt_time(k.expires_at),
            fmt_time(k.last_used_at),
            match k.imported_at {
                // Imported from the reference server: still the old `mcp_…` string.
                Some(_) => format!("{} (imported)", k.status(now)),
                None => k.status(now).to_string(),
            }
        );
    }
    Ok(())
}

pub async fn key_revoke(store: &dyn Store, user: &str, which: &str) -> Result<()> {
    let user = find_user(store, user).await?;
    let which = which.trim();
    let keys = store.list_api_keys(user.id).await.map_err(db)?;
    let by_id = which.parse::<ApiKeyId>().ok();
    let matches: Vec<&ApiKeyInfo> = keys
        .iter()
        .filter(|k| Some(k.id) == by_id || k.key_prefix == which)
        .collect();
    let key = match matches.as_slice() {
        [one] => *one,
        [] => bail!(
            "{} has no key {which:?}; see `pm-mcp key list --user {}`",
            user.email,
            user.email
        ),
        _ => bail!(
            "{which:?} matches several keys of {}; give the key's id",
            user.email
        ),
    };
    let revoked = store.revoke_api_key(user.id, key.id).await.map_err(db)?;
    println!(
        "Revoked key {} ({}) of {}: it stops working now.",
        revoked.key_prefix, revoked.name, user.email
    );
    Ok(())
}

// ---- first run ----

/// The e-mail used when none is given: `$USER@localhost`.
pub fn default_email() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "admin".into());
    let clean: String = user
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .collect();
    format!(
        "{}@localhost",
        if clean.is_empty() { "admin" } else { &clean }
    )
}

/// What the first run creates: the first administrator, their admin key (for administration
/// only) and a read/write key for their MCP client.
pub struct FirstRun {
    pub user: User,
    pub admin: (ApiKeyInfo, ApiKey),
    pub ide: (ApiKeyInfo, ApiKey),
}

/// The name of the first run's admin key.
pub const FIRST_ADMIN_KEY: &str = "administration";
/// The name of the first run's key for the MCP client.
pub const FIRST_IDE_KEY: &str = "IDE";

/// Creates the first administrator with an admin key and a separate read/write key for their MCP
/// client, on an empty database only: all three, or (when the second key cannot be stored) none.
pub async fn init_first_user(
    store: &dyn Store,
    email: &str,
    name: Option<&str>,
) -> Result<FirstRun> {
    let email = Email::parse(email)?;
    if store.count_users().await.map_err(db)? > 0 {
        bail!(
            "this database already has users; add more with `pm-mcp user add` and `pm-mcp key create`"
        );
    }
    if let Some(n) = name {
        pm_server::manage::check_printable("--name", n).map_err(anyhow::Error::msg)?;
    }
    let user = NewUser::new(email.clone(), display_name(&email, name), true);
    let admin_key = ApiKey::generate();
    let row = NewApiKey::for_key(
        &admin_key,
        user.id,
        FIRST_ADMIN_KEY,
        Scopes::only(Scope::Admin),
        None,
    );
    let (user, admin_info) = store.add_user_with_key(user, row).await.map_err(db)?;
    let ide_key = ApiKey::generate();
    let scopes = Scopes::from_iter_nonempty([Scope::Read, Scope::Write])?;
    let row = NewApiKey::for_key(&ide_key, user.id, FIRST_IDE_KEY, scopes, None);
    let ide_info = match store.add_api_key(row).await {
        Ok(info) => info,
        Err(e) => {
            // Neither key has been shown: undo, so that the next start tries again.
            if let Err(undo) = store.delete_user(user.id).await {
                bail!(
                    "cannot store the first run's second API key ({e}), nor remove the half-created administrator {} ({undo}); remove them by hand",
                    user.email
                );
            }
            return Err(db(e));
        }
    };
    Ok(FirstRun {
        user,
        admin: (admin_info, admin_key),
        ide: (ide_info, ide_key),
    })
}

/// The first run's text: the admin key, labelled for administration, then the MCP client's key
/// with the configs that carry it. Each key is printed this once, never logged.
pub fn print_first_run(first: &FirstRun, url: &str, launch: &clients::StdioLaunch) {
    let (admin, admin_key) = &first.admin;
    let (ide, ide_key) = &first.ide;
    println!(
        "\nAdministrator key \"{}\" (scopes: {}; expires: {}) — for administration only: the admin \
         API at /admin/v1 (users, keys, connections, audit). Keep it in a password manager; do not \
         put it in an IDE or an assistant's config:\n\n    {}\n",
        admin.name,
        admin.scopes,
        expiry(admin),
        admin_key.expose()
    );
    println!(
        "Key for your MCP client \"{}\" (scopes: {}; expires: {}) — the configs below carry it:",
        ide.name,
        ide.scopes,
        expiry(ide)
    );
    println!(
        "{}",
        clients::connect_instructions(ide_key.expose(), url, launch)
    );
}

// ---- connections ----

fn read_token(args: &ConnectionAddArgs) -> Result<Secret> {
    let token = if let Some(var) = &args.token_env {
        std::env::var(var)
            .with_context(|| format!("environment variable {var} (from --token-env) is not set"))?
    } else if args.token_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the token from stdin")?;
        line
    } else {
        bail!(
            "give the token with --token-env VAR or --token-stdin (never as an argument: it would be visible to other users and kept in shell history)"
        );
    };
    let token = token.trim();
    if token.is_empty() {
        bail!("the token is empty");
    }
    Ok(Secret::new(token))
}

/// `--option KEY=VALUE` words as the connection's options (each one a tracker takes).
fn parse_options(options: &[String]) -> Result<ConnectionOptions> {
    let mut parsed = ConnectionOptions::default();
    for o in options {
        let (k, v) = o
            .split_once('=')
            .ok_or_else(|| anyhow!("--option {o:?} must be KEY=VALUE"))?;
        parsed.set(k, v)?;
    }
    Ok(parsed)
}

pub async fn connection_add(
    store: &dyn Store,
    keys: &MasterKeys,
    args: &ConnectionAddArgs,
) -> Result<()> {
    let user = find_user(store, &args.user).await?;
    let name = ConnectionHandle::parse(&args.name)?;
    let provider: ProviderKind = args.provider.parse()?;
    let options = parse_options(&args.options)?;
    // The same rules as configure_pm_provider and the admin API (the service's `prepare`): the
    // address, how the tracker signs in, the options it takes.
    let prepared = pm_server::service::connections::prepare(
        args.allow_http,
        provider,
        pm_server::service::connections::Details {
            base_url: args.base_url.clone(),
            // Read after the details are checked: bad input is one line, before any prompt.
            token: None,
            username: args.username.clone(),
            auth_kind: args.auth_kind.as_deref().map(str::parse).transpose()?,
            workspace_id: args
                .workspace_id
                .clone()
                .or(options.workspace_id.map(|w| w.to_string())),
            organization_id: None,
            text_format: options.text_format.map(|f| f.as_str().to_string()),
            notify: options.notify,
        },
    )?;
    let token = read_token(args)?;
    // Checked as a client would be built from it, before anything is stored.
    prepared.spec(token.clone())?;
    let username = prepared.username.clone();
    let (provider, base_url, auth_kind, config) = (
        prepared.kind,
        prepared.base_url,
        prepared.auth_kind,
        prepared.options,
    );
    let id = ConnectionId::new();
    let creds = ProviderCredentials { username, token };
    let sealed = creds.seal(keys, id, user.id);
    let conn = store
        .add_connection(NewConnection {
            id,
            user_id: user.id,
            name,
            provider_type: provider,
            base_url,
            auth_kind,
            sealed,
            config,
            is_active: true,
            external_id: None,
            display_name: None,
        })
        .await
        .map_err(db)?;
    println!(
        "Added connection {} ({} at {}) for {}{}. Credentials are sealed with master key {}.",
        conn.name,
        conn.provider_type,
        conn.base_url,
        user.email,
        if conn.is_default {
            ", their default"
        } else {
            ""
        },
        conn.key_id
    );
    Ok(())
}

pub async fn connection_list(store: &dyn Store, user: &str, as_json: bool) -> Result<()> {
    let user = find_user(store, user).await?;
    let conns = store.list_connections(user.id).await.map_err(db)?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&conns)?);
        return Ok(());
    }
    if conns.is_empty() {
        println!(
            "{} has no connections. Add one with: pm-mcp connection add --user {} --name … --provider …",
            user.email, user.email
        );
        return Ok(());
    }
    println!(
        "{:<20}  {:<16}  {:<40}  {:<8}  {:<7}  LAST CHECKED",
        "NAME", "PROVIDER", "BASE URL", "AUTH", "DEFAULT"
    );
    for c in conns {
        println!(
            "{:<20}  {:<16}  {:<40}  {:<8}  {:<7}  {}",
            c.name,
            c.provider_type,
            c.base_url,
            c.auth_kind,
            if c.is_default { "yes" } else { "" },
            fmt_time(c.last_checked_at)
        );
    }
    Ok(())
}

pub async fn connection_remove(store: &dyn Store, user: &str, name: &str) -> Result<()> {
    let user = find_user(store, user).await?;
    let handle = ConnectionHandle::parse(name)?;
    match store.delete_connection(user.id, &handle).await {
        Ok(c) => {
            println!("Removed connection {} of {}.", c.name, user.email);
            Ok(())
        }
        Err(StoreError::NotFound(_)) => bail!("{} has no connection named {handle}", user.email),
        Err(e) => Err(db(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_key_value_pairs() {
        assert_eq!(
            parse_options(&["text_format=markdown".into()])
                .unwrap()
                .text_format,
            Some(pm_core::TextFormat::Markdown)
        );
        assert!(parse_options(&["novalue".into()]).is_err());
        assert!(parse_options(&["bad key=x".into()]).is_err());
        // Options nothing reads are refused, not stored.
        assert!(parse_options(&["project_key=PROJ".into()]).is_err());
    }

    #[test]
    fn default_email_is_valid() {
        assert!(Email::parse(&default_email()).is_ok());
    }
}

#[cfg(test)]
mod shown_tests {
    #[test]
    fn control_characters_are_printed_escaped() {
        assert_eq!(super::shown("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(super::shown("Ann Müller"), "Ann Müller");
    }
}
