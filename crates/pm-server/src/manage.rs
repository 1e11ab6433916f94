//! The administrative rules shared by the CLI (`pm-mcp user|key …`) and the admin REST API: how a
//! user's display name defaults, how an expiry is read, which scopes and toolsets a new key may
//! have, and creating or rotating a key (the key itself returned once, only its hash stored).
use chrono::{DateTime, Duration, NaiveDate, Utc};
use pm_core::{ApiKeyId, Email, Scope, Scopes};
use pm_store::{ApiKey, ApiKeyInfo, NewApiKey, Store, StoreError, User};

/// Why an administrative change was refused. Messages say what to do and never hold a secret.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    /// The request names values that are not acceptable (a bad scope, an expiry in the past…).
    #[error("{0}")]
    Invalid(String),
    /// The change conflicts with what is stored (an e-mail taken, a disabled user…).
    #[error("{0}")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ManageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ManageError::NotFound(what),
            StoreError::Conflict(m) => ManageError::Conflict(m),
            other => ManageError::Store(other),
        }
    }
}

/// Whether `c` may not be in a stored name: control characters (C0, DEL, C1: an ESC or OSC
/// sequence would be run by the terminal of an administrator listing names) and the bidirectional
/// overrides and isolates (they make a name read as another).
pub fn is_unprintable(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Refuses a name (of a user, key or connection) holding control characters, in words naming
/// `field`.
pub fn check_printable(field: &str, value: &str) -> Result<(), String> {
    match value.chars().find(|c| is_unprintable(*c)) {
        Some(c) => Err(format!(
            "{field} must not contain control characters (found U+{:04X})",
            u32::from(c)
        )),
        None => Ok(()),
    }
}

/// The name given, or the e-mail's local part.
pub fn display_name(email: &Email, name: Option<&str>) -> String {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        None => email
            .as_str()
            .split('@')
            .next()
            .unwrap_or(email.as_str())
            .to_string(),
    }
}

/// `90d`, `12h`, `2w`, `30m`, `45s`, a date (`2027-01-31`, end of that day UTC) or RFC 3339;
/// `field` names the option or field in errors.
pub fn parse_expiry(text: &str, now: DateTime<Utc>, field: &str) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    let at = if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        at.with_timezone(&Utc)
    } else if let Ok(day) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        day.and_hms_opt(23, 59, 59)
            .map(|d| d.and_utc())
            .ok_or_else(|| format!("bad date {t:?}"))?
    } else {
        now.checked_add_signed(parse_duration(t, field)?)
            .ok_or_else(|| format!("{field} {t:?} is too far away"))?
    };
    if at <= now {
        return Err(format!("{field} {t:?} is in the past"));
    }
    Ok(at)
}

/// A number and a unit: `45s`, `30m`, `12h`, `90d`, `2w`, `1y`; `field` names the option in errors.
pub fn parse_duration(t: &str, field: &str) -> Result<Duration, String> {
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: i64 = n.parse().map_err(|_| {
        format!("{field} {t:?} is neither a duration (90d, 12h, 2w) nor a date (2027-01-31)")
    })?;
    match unit {
        "s" => Duration::try_seconds(n),
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        "y" => Duration::try_days(n.saturating_mul(365)),
        _ => {
            return Err(format!(
                "{field} {t:?}: use s, m, h, d, w or y after the number (e.g. 90d)"
            ));
        }
    }
    .ok_or_else(|| format!("{field} {t:?} is too far away"))
}

/// Validates a new key's scopes (`read,write`) and toolsets for `user`: the admin scope and the
/// act_as permission only for administrators, known toolsets only. No toolsets means every
/// toolset. (`sync` puts connections in the key's own user's name only, so anyone may hold it.)
pub fn key_settings(
    user: &User,
    scopes: &str,
    toolsets: &[String],
) -> Result<(Scopes, Option<Vec<String>>), ManageError> {
    let scopes: Scopes = scopes
        .parse()
        .map_err(|e: pm_core::InvalidInput| ManageError::Invalid(e.0))?;
    if scopes.holds(Scope::Admin) && !user.is_admin {
        return Err(ManageError::Invalid(format!(
            "{} is not an administrator, so their keys cannot have the admin scope",
            user.email
        )));
    }
    if scopes.holds(Scope::ActAs) && !user.is_admin {
        return Err(ManageError::Invalid(format!(
            "{} is not an administrator, so their keys cannot act for other users (act_as)",
            user.email
        )));
    }
    let toolsets: Vec<String> = toolsets
        .iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    for t in &toolsets {
        crate::toolsets::check_toolset_name(t).map_err(ManageError::Invalid)?;
    }
    Ok((scopes, (!toolsets.is_empty()).then_some(toolsets)))
}

/// What a new key should be. `field` names for messages: the CLI's flags or the API's fields.
#[derive(Debug, Clone)]
pub struct KeySpec<'a> {
    pub name: &'a str,
    /// Comma-separated: `read,write`.
    pub scopes: &'a str,
    pub toolsets: &'a [String],
    /// See `parse_expiry`; `None`: never.
    pub expires: Option<&'a str>,
    /// How the expiry is named in messages (`--expires`, `expires`).
    pub expires_field: &'a str,
    /// How the name is named in messages (`--name`, `name`).
    pub name_field: &'a str,
}

/// Creates a key for `user` after checking the rules; returns its row and the key (to be shown
/// once: only its hash is stored).
pub async fn create_key(
    store: &dyn Store,
    user: &User,
    spec: &KeySpec<'_>,
) -> Result<(ApiKeyInfo, ApiKey), ManageError> {
    if user.is_disabled() {
        return Err(ManageError::Conflict(format!(
            "{} is disabled; enable them first",
            user.email
        )));
    }
    let (scopes, toolsets) = key_settings(user, spec.scopes, spec.toolsets)?;
    let expires_at = spec
        .expires
        .map(|e| parse_expiry(e, Utc::now(), spec.expires_field))
        .transpose()
        .map_err(ManageError::Invalid)?;
    let name = spec.name.trim();
    check_printable(spec.name_field, name).map_err(ManageError::Invalid)?;
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ManageError::Invalid(format!(
            "{} must be 1 to 100 characters",
            spec.name_field
        )));
    }
    let key = ApiKey::generate();
    let mut row = NewApiKey::for_key(&key, user.id, name, scopes, expires_at);
    row.toolsets = toolsets;
    let info = store.add_api_key(row).await?;
    Ok((info, key))
}

/// Replaces one of `user`'s keys: a new key with the same name, scopes, toolsets and expiry, and
/// the old one revoked. Returns the new row, the new key (shown once) and the revoked row.
/// A revoked or expired key cannot be rotated (create a new one instead).
pub async fn rotate_key(
    store: &dyn Store,
    user: &User,
    key_id: ApiKeyId,
) -> Result<(ApiKeyInfo, ApiKey, ApiKeyInfo), ManageError> {
    let old = store
        .list_api_keys(user.id)
        .await?
        .into_iter()
        .find(|k| k.id == key_id)
        .ok_or(ManageError::NotFound("key"))?;
    let now = Utc::now();
    if old.revoked_at.is_some() || old.is_expired(now) {
        return Err(ManageError::Conflict(format!(
            "the key {} is {}; create a new key instead",
            old.key_prefix,
            old.status(now)
        )));
    }
    if user.is_disabled() {
        return Err(ManageError::Conflict(format!(
            "{} is disabled; enable them first",
            user.email
        )));
    }
    // The same settings, as long as the user may still hold them (an administrator since demoted
    // keeps no admin scope through a rotation).
    key_settings(
        user,
        &old.scopes.to_string(),
        old.toolsets.as_deref().unwrap_or_default(),
    )
    .map_err(|e| {
        ManageError::Conflict(format!(
            "the key {} cannot be rotated with its settings: {e}; create a new key instead",
            old.key_prefix
        ))
    })?;
    let key = ApiKey::generate();
    let mut row = NewApiKey::for_key(&key, user.id, old.name.clone(), old.scopes, old.expires_at);
    row.toolsets = old.toolsets.clone();
    let new = store.add_api_key(row).await?;
    match store.revoke_api_key(user.id, old.id).await {
        Ok(revoked) => Ok((new, key, revoked)),
        Err(e) => {
            // Both or neither: the new key goes if the old one cannot be revoked.
            if let Err(undo) = store.revoke_api_key(user.id, new.id).await {
                tracing::error!(error = %undo, "could not revoke the replacement of a key whose rotation failed");
            }
            Err(e.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_accepts_durations_and_dates_and_refuses_the_past() {
        let now = Utc::now();
        let f = "--expires";
        assert_eq!(
            parse_expiry("90d", now, f).unwrap(),
            now + Duration::days(90)
        );
        assert_eq!(
            parse_expiry("12h", now, f).unwrap(),
            now + Duration::hours(12)
        );
        assert_eq!(
            parse_expiry("2w", now, f).unwrap(),
            now + Duration::weeks(2)
        );
        let far = (now + Duration::days(400)).format("%Y-%m-%d").to_string();
        assert!(parse_expiry(&far, now, f).is_ok());
        let past = parse_expiry("2001-01-01", now, "expires").unwrap_err();
        assert!(
            past.contains("past") && past.starts_with("expires "),
            "{past}"
        );
        assert!(parse_expiry("0d", now, f).is_err());
        assert!(parse_expiry("10x", now, f).is_err());
        assert!(parse_expiry("soon", now, f).is_err());
        assert!(parse_expiry("99999999999999y", now, f).is_err());
    }

    fn user(is_admin: bool) -> User {
        User {
            id: pm_core::UserId::new(),
            email: Email::parse("ann@acme.org").unwrap(),
            name: "Ann".into(),
            is_admin,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            disabled_at: None,
        }
    }

    #[test]
    fn only_administrators_get_the_admin_scope_and_toolsets_must_exist() {
        assert!(key_settings(&user(true), "admin", &[]).is_ok());
        let err = key_settings(&user(false), "read,admin", &[]).unwrap_err();
        assert!(err.to_string().contains("not an administrator"), "{err}");
        assert!(matches!(
            key_settings(&user(false), "root", &[]),
            Err(ManageError::Invalid(_))
        ));
        let (scopes, sets) =
            key_settings(&user(false), "read", &["tasks".into(), " ".into()]).unwrap();
        assert_eq!(scopes, Scopes::only(Scope::Read));
        assert_eq!(sets, Some(vec!["tasks".to_string()]));
        assert_eq!(key_settings(&user(false), "read", &[]).unwrap().1, None);
        assert!(key_settings(&user(false), "read", &["task".into()]).is_err());
    }

    #[test]
    fn names_with_control_characters_are_refused() {
        for bad in [
            "a\u{1b}]8;;http://evil\u{7}b",
            "x\u{1b}[2J",
            "del\u{7f}",
            "c1\u{9b}",
            "rtl\u{202e}gpj.exe",
        ] {
            assert!(check_printable("name", bad).is_err(), "{bad:?}");
        }
        assert!(check_printable("name", "Ann Müller (laptop) 🚀").is_ok());
    }

    #[test]
    fn the_display_name_defaults_to_the_local_part() {
        let e = Email::parse("ann.b@acme.org").unwrap();
        assert_eq!(display_name(&e, None), "ann.b");
        assert_eq!(display_name(&e, Some("  ")), "ann.b");
        assert_eq!(display_name(&e, Some(" Ann ")), "Ann");
    }
}
