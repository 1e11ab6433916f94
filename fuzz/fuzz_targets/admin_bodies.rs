//! The admin API's request bodies, read as the handlers read them (axum's JSON extractor and
//! pm-mcp's rejection messages), then their checks: e-mail, names, expiry, scopes and toolsets,
//! tracker type and connection handle, Redmine text format. A rejection never repeats a value
//! that was sent (it may be a secret); what passes the checks holds no control character.
//! Also the list cursors and the JSON nesting pre-check every body goes through.
#![no_main]
use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use pm_core::{Email, ProviderKind, UserId};
use pm_server::fuzzing::{
    ApiError, ConfigureArgs, CreateKeyIn, CreateUserIn, ExternalConnectionIn, MAX_JSON_DEPTH,
    UpdateConnectionIn, UpdateUserIn, admin_body, decode_cursor, encode_cursor, nesting_exceeds,
};
use pm_server::manage::{
    check_printable, display_name, is_unprintable, key_settings, parse_expiry,
};
use pm_server::sync::{handle_from, kind_of};
use pm_store::User;
use serde_json::Value;

/// Words in the input's string values (not its keys: field names may be named back) that look
/// like secrets: 12 or more letters and digits with both in them. Read from the raw text, so
/// that a body that is not valid JSON counts too: a string is a key where an object expects one
/// (after `{` or, in an object, after `,`).
fn secret_like(data: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(data);
    let (mut keys, mut values) = (Vec::new(), Vec::new());
    let mut open: Vec<char> = Vec::new();
    let mut key_next = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '{' => {
                open.push('{');
                key_next = true;
            }
            '[' => {
                open.push('[');
                key_next = false;
            }
            '}' | ']' => {
                open.pop();
                key_next = false;
            }
            ',' => key_next = open.last() == Some(&'{'),
            '"' => {
                let mut literal = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            chars.next();
                            literal.push(' ');
                        }
                        c => literal.push(c),
                    }
                }
                if key_next {
                    keys.push(literal);
                } else {
                    values.push(literal);
                }
                key_next = false;
            }
            _ => {}
        }
    }
    values
        .iter()
        .flat_map(|v| v.split(|c: char| !c.is_ascii_alphanumeric()))
        .filter(|w| {
            w.len() >= 12
                && w.chars().any(|c| c.is_ascii_digit())
                && w.chars().any(|c| c.is_ascii_alphabetic())
                && !keys.iter().any(|k| k.contains(w))
        })
        .map(str::to_string)
        .collect()
}

fn check_rejection(e: &ApiError, data: &[u8]) {
    assert!(
        matches!(
            e.code,
            "malformed_request" | "invalid_request" | "payload_too_large"
        ),
        "code {}",
        e.code
    );
    for secret in secret_like(data) {
        assert!(
            !e.message.contains(&secret),
            "{:?} repeats {secret:?}",
            e.message
        );
    }
}

fn name_ok(field: &str, name: &str) {
    if check_printable(field, name).is_ok() {
        assert!(!name.chars().any(is_unprintable));
    } else {
        assert!(name.chars().any(is_unprintable));
    }
}

fn user(is_admin: bool) -> User {
    let at = Utc
        .timestamp_opt(1_800_000_000, 0)
        .single()
        .unwrap_or_default();
    User {
        id: UserId::new(),
        email: Email::parse("ann@acme.org").expect("an e-mail"),
        name: "Ann".into(),
        is_admin,
        created_at: at,
        updated_at: at,
        disabled_at: None,
    }
}

fn connection(name: Option<&str>, provider: &str, base_url: Option<&str>, format: Option<&str>) {
    if let Ok(kind) = kind_of(provider, base_url) {
        let shown = kind.to_string();
        assert!(!shown.is_empty());
        if let Some(name) = name
            && let Ok(handle) = handle_from(name, kind)
        {
            assert!(handle.as_str().len() <= pm_core::ConnectionHandle::MAX_LEN);
            assert!(pm_core::ConnectionHandle::parse(handle.as_str()).is_ok());
        }
        let _ = kind == ProviderKind::Redmine;
    }
    if let Some(f) = format
        && let Ok(parsed) = f.parse::<pm_providers::redmine::TextFormat>()
    {
        assert_eq!(
            parsed
                .as_str()
                .parse::<pm_providers::redmine::TextFormat>()
                .ok(),
            Some(parsed)
        );
    }
    if let Some(u) = base_url
        && let Ok(url) = pm_core::BaseUrl::parse(u, true)
    {
        assert!(!url.as_str().ends_with('/'));
        assert!(url.as_str().starts_with("http"));
        assert_eq!(
            pm_core::BaseUrl::parse(url.as_str(), true).as_ref(),
            Ok(&url)
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((which, body)) = data.split_first() else {
        return;
    };
    let now = Utc
        .timestamp_opt(1_800_000_000, 0)
        .single()
        .unwrap_or_default();
    match which % 8 {
        0 => match admin_body::<CreateUserIn>(body) {
            Ok(b) => {
                if let Ok(email) = Email::parse(&b.email) {
                    if let Some(n) = &b.name {
                        name_ok("name", n);
                    }
                    let shown = display_name(&email, b.name.as_deref());
                    assert!(!shown.is_empty() && shown.trim() == shown, "{shown:?}");
                }
            }
            Err(e) => check_rejection(&e, body),
        },
        1 => match admin_body::<UpdateUserIn>(body) {
            Ok(b) => {
                if let Some(n) = &b.name {
                    name_ok("name", n);
                }
            }
            Err(e) => check_rejection(&e, body),
        },
        2 => match admin_body::<CreateKeyIn>(body) {
            Ok(b) => {
                name_ok("name", &b.name);
                if let Some(t) = &b.expires
                    && let Ok(at) = parse_expiry(t, now, "expires")
                {
                    assert!(at > now, "expiry {t:?} is not in the future");
                }
                let scopes = b
                    .scopes
                    .iter()
                    .flatten()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(",");
                for admin in [false, true] {
                    if let Ok((granted, toolsets)) =
                        key_settings(&user(admin), &scopes, &b.toolsets)
                    {
                        if !admin {
                            assert!(!granted.holds(pm_core::Scope::Admin));
                            assert!(!granted.holds(pm_core::Scope::ActAs));
                        }
                        if let Some(t) = toolsets {
                            assert!(!t.is_empty() && t.iter().all(|t| !t.is_empty()));
                        }
                    }
                }
            }
            Err(e) => check_rejection(&e, body),
        },
        3 => match admin_body::<UpdateConnectionIn>(body) {
            Ok(b) => connection(
                b.name.as_deref(),
                "jira",
                b.base_url.as_deref(),
                b.text_format.as_deref(),
            ),
            Err(e) => check_rejection(&e, body),
        },
        4 => match admin_body::<ExternalConnectionIn>(body) {
            Ok(b) => connection(Some(&b.name), &b.provider_type, b.base_url.as_deref(), None),
            Err(e) => check_rejection(&e, body),
        },
        5 => match admin_body::<ConfigureArgs>(body) {
            Ok(b) => connection(
                b.name.as_deref(),
                &b.provider_type,
                b.base_url.as_deref(),
                b.text_format.as_deref(),
            ),
            Err(e) => check_rejection(&e, body),
        },
        6 => {
            let raw = String::from_utf8_lossy(body);
            if let Some(offset) = decode_cursor(&raw) {
                assert_eq!(decode_cursor(&encode_cursor(offset)), Some(offset));
            }
        }
        _ => {
            // The nesting pre-check agrees with the depth of any JSON serde reads.
            if let Ok(v) = serde_json::from_slice::<Value>(body) {
                fn depth(v: &Value) -> usize {
                    match v {
                        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
                        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
                        _ => 0,
                    }
                }
                let d = depth(&v);
                assert!(d <= MAX_JSON_DEPTH);
                assert!(!nesting_exceeds(body, d), "depth {d} measured deeper");
                if d > 0 {
                    assert!(nesting_exceeds(body, d - 1), "depth {d} measured shallower");
                }
            }
        }
    }
});
