//! Ids as callers send them: qualified ids (`acme-jira:PROJ-42`), connection handles, pm-mcp's
//! UUID ids, e-mail addresses, and the tracker ids checked before they go into a URL path. Every
//! parse → display → parse is the identity, and what passes a path check holds only characters
//! safe in one path segment.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pm_core::{ConnectionHandle, ConnectionId, Email, QualifiedId, UserId};
use pm_mcp_fuzz::text;
use pm_providers::fuzzing::{
    jira_issue_key, jira_project_key_from, jira_project_ref, jira_sprint_id,
};
use pm_providers::ids::{number, slug};

fn path_safe(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fuzz_target!(|data: &[u8]| {
    let s = text(data);
    if let Ok(q) = QualifiedId::parse(&s) {
        let shown = q.to_string();
        assert_eq!(
            QualifiedId::parse(&shown).as_ref(),
            Ok(&q),
            "{s:?} → {shown:?}"
        );
        assert!(!q.native.is_empty());
        assert!(!shown.chars().any(char::is_control));
    }
    if let Ok(h) = ConnectionHandle::parse(&s) {
        assert_eq!(ConnectionHandle::parse(&h.to_string()).as_ref(), Ok(&h));
        assert!(
            !h.as_str().contains(':'),
            "a handle with ':' breaks qualified ids"
        );
    }
    if let Some(h) = ConnectionHandle::derive(&s) {
        assert_eq!(
            ConnectionHandle::parse(h.as_str()).as_ref(),
            Ok(&h),
            "derive({s:?})"
        );
        for n in [2, 9, 10, 999] {
            let suffixed = h.with_suffix(n);
            assert!(
                ConnectionHandle::parse(suffixed.as_str()).is_ok(),
                "{suffixed:?}"
            );
            assert!(suffixed.as_str().ends_with(&format!("-{n}")));
        }
    }
    if let Ok(id) = s.parse::<UserId>() {
        assert_eq!(id.to_string().parse::<UserId>(), Ok(id));
    }
    if let Ok(id) = s.parse::<ConnectionId>() {
        assert_eq!(id.to_string().parse::<ConnectionId>(), Ok(id));
    }
    if let Ok(e) = Email::parse(&s) {
        assert_eq!(Email::parse(e.as_str()).as_ref(), Ok(&e), "e-mail {s:?}");
        assert_eq!(e.as_str(), e.as_str().trim());
    }
    if let Ok(n) = number("Redmine", &s, "issue") {
        assert!(n > 0);
        assert_eq!(number("Redmine", &n.to_string(), "issue").ok(), Some(n));
    }
    if let Ok(id) = slug("OpenProject", &s, "project", 100) {
        assert!(path_safe(&id) && id.len() <= 100, "{id:?}");
    }
    if let Some(key) = jira_issue_key(&s) {
        assert!(path_safe(&key) && key.len() <= 64, "{key:?}");
    }
    if let Some(key) = jira_project_ref(&s) {
        assert!(path_safe(&key) && !key.contains('-'), "{key:?}");
    }
    if let Some(n) = jira_sprint_id(&s) {
        assert_eq!(jira_sprint_id(&n.to_string()), Some(n));
    }
    // Jira project keys: an upper-case letter, then one to nine upper-case letters or digits.
    let key = jira_project_key_from(&s);
    let mut chars = key.chars();
    assert!(
        chars.next().is_some_and(|c| c.is_ascii_uppercase())
            && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && (2..=10).contains(&key.len()),
        "project key {key:?} from the name {s:?}"
    );
});
