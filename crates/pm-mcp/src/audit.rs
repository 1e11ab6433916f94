//! `pm-mcp audit`: the audit trail of tool calls, newest first, filtered by user, tool, outcome and
//! time, with user e-mails, key prefixes and connection names looked up for display.
use std::collections::HashMap;

use anyhow::{Result, anyhow, bail};
use chrono::{DateTime, NaiveDate, Utc};
use pm_store::{AuditFilter, Outcome, Store};
use serde_json::json;

use crate::admin::{find_user, parse_duration};
use crate::cli::{AuditArgs, OutcomeArg};

/// `--since`: RFC 3339, a date (its start, UTC), or a duration back from `now` (15m, 12h, 7d).
pub fn parse_since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let t = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(day) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return day
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc())
            .ok_or_else(|| anyhow!("bad date {t:?}"));
    }
    let back = parse_duration(t, "--since")?;
    now.checked_sub_signed(back)
        .ok_or_else(|| anyhow!("--since {t:?} is too far back"))
}

pub async fn list(store: &dyn Store, args: &AuditArgs) -> Result<()> {
    if args.limit < 1 {
        bail!("--limit must be at least 1");
    }
    let user = match &args.user {
        Some(email) => Some(find_user(store, email).await?.id),
        None => None,
    };
    let filter = AuditFilter {
        user,
        tool: args.tool.as_deref().map(str::trim).map(str::to_string),
        outcome: args.outcome.map(|o| match o {
            OutcomeArg::Ok => Outcome::Ok,
            OutcomeArg::Error => Outcome::Error,
            OutcomeArg::Denied => Outcome::Denied,
        }),
        since: args
            .since
            .as_deref()
            .map(|s| parse_since(s, Utc::now()))
            .transpose()?,
        limit: args.limit,
    };
    let events = store
        .list_audit_events(&filter)
        .await
        .map_err(|e| anyhow!("{e}"))?;

    // Names for the ids: e-mails, key prefixes, connection handles (of what still exists).
    let emails: HashMap<_, _> = store
        .list_users()
        .await
        .map_err(|e| anyhow!("{e}"))?
        .into_iter()
        .map(|u| (u.id, u.email.to_string()))
        .collect();
    let mut keys = HashMap::new();
    let mut conns = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for uid in events.iter().filter_map(|e| e.user_id) {
        if !seen.insert(uid) {
            continue;
        }
        for k in store.list_api_keys(uid).await.map_err(|e| anyhow!("{e}"))? {
            keys.insert(k.id, k.key_prefix);
        }
        for c in store
            .list_connections(uid)
            .await
            .map_err(|e| anyhow!("{e}"))?
        {
            conns.insert(c.id, c.name.to_string());
        }
    }

    if args.json {
        let rows: Vec<_> = events
            .iter()
            .map(|e| {
                json!({
                    "id": e.id,
                    "at": e.at,
                    "user_id": e.user_id,
                    "user": e.user_id.and_then(|u| emails.get(&u)),
                    "key_id": e.key_id,
                    "key_prefix": e.key_id.and_then(|k| keys.get(&k)),
                    "tool": e.tool,
                    "connection_id": e.connection_id,
                    "connection": e.connection_id.and_then(|c| conns.get(&c)),
                    "outcome": e.outcome,
                    "error_kind": e.error_kind,
                    "duration_ms": e.duration_ms,
                    "request_id": e.request_id,
                    // Who made the call or change for the user, when someone else did (a service
                    // key acting for them, an administrator).
                    "actor_user_id": e.actor_user_id,
                    "actor": e.actor_user_id.and_then(|u| emails.get(&u)),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if events.is_empty() {
        println!("No tool calls match.");
        return Ok(());
    }
    println!(
        "{:<24}  {:<24}  {:<14}  {:<24}  {:<20}  {:<22}  {:>7}",
        "AT (UTC)", "USER", "KEY", "TOOL", "CONNECTION", "OUTCOME", "MS"
    );
    for e in &events {
        let outcome = match (&e.outcome, &e.error_kind) {
            (Outcome::Ok, _) => "ok".to_string(),
            (o, Some(kind)) => format!("{} ({kind})", o.as_str()),
            (o, None) => o.as_str().to_string(),
        };
        let connection = e
            .connection_id
            .map(|c| conns.get(&c).cloned().unwrap_or_else(|| c.to_string()))
            .unwrap_or_else(|| "-".into());
        println!(
            "{:<24}  {:<24}  {:<14}  {:<24}  {:<20}  {:<22}  {:>7}",
            e.at.format("%Y-%m-%d %H:%M:%S%.3f"),
            e.user_id
                .map(|u| emails.get(&u).cloned().unwrap_or_else(|| u.to_string()))
                .unwrap_or_else(|| "-".into()),
            e.key_id
                .map(|k| keys
                    .get(&k)
                    .map(|n| crate::admin::shown(n))
                    .unwrap_or_else(|| k.to_string()))
                .unwrap_or_else(|| "-".into()),
            e.tool,
            connection,
            outcome,
            e.duration_ms
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_times_dates_and_durations_back() {
        let now = Utc::now();
        assert_eq!(
            parse_since("15m", now).unwrap(),
            now - chrono::Duration::minutes(15)
        );
        assert_eq!(
            parse_since("2026-11-27", now).unwrap().to_rfc3339(),
            "2026-11-27T00:00:00+00:00"
        );
        assert_eq!(
            parse_since("2026-11-27T10:00:00+01:00", now)
                .unwrap()
                .to_rfc3339(),
            "2026-11-27T09:00:00+00:00"
        );
        assert!(parse_since("yesterday", now).is_err());
        assert!(parse_since("3x", now).is_err());
    }
}
