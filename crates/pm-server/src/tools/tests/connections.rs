//! The connections toolset: listing, testing and removing the caller's tracker connections.
use pm_core::{Project, ProviderKind, Scope, SiteInfo};
use serde_json::json;

use super::harness::Harness;
use super::{page, project, user};
use crate::service::connections::Change;

fn site(product: &str) -> SiteInfo {
    SiteInfo {
        product: product.into(),
        version: None,
        base_url: "https://acme-jira.example.com".into(),
        workspace_id: None,
    }
}

#[tokio::test]
async fn test_pm_provider_signs_in_reads_the_site_and_one_page_of_projects() {
    let h = Harness::new().await;
    h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let op = h.connect("team-op", ProviderKind::OpenProject).await;
    op.answer("whoami", Ok(user("4", "Ann")));
    op.answer("site", Ok(site("OpenProject")));
    op.answer(
        "list_projects",
        Ok(page(
            vec![project("1", "A"), project("2", "B")],
            Some("more"),
        )),
    );

    let out = h
        .call("test_pm_provider", json!({ "provider_id": "team-op" }))
        .await
        .ok();

    assert_eq!(op.methods(), ["whoami", "site", "list_projects"]);
    assert_eq!(
        op.only_call("list_projects"),
        json!({ "cursor": null, "limit": 50 })
    );
    assert_eq!(out["connection"], "team-op");
    assert_eq!(out["test"]["ok"], true);
    assert_eq!(out["test"]["projects_seen"], 2);
    assert_eq!(out["test"]["more_projects"], true);
}

#[tokio::test]
async fn a_cloud_connection_to_a_data_center_site_fails_its_test_and_the_check_is_stored() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.answer("whoami", Ok(user("5b10", "Ann")));
    jira.answer("site", Ok(site("Jira Data Center")));

    let out = h.call("test_pm_provider", json!({})).await.ok();

    assert_eq!(out["test"]["ok"], false);
    let why = out["test"]["error"].as_str().expect("error");
    assert!(why.contains("provider_type jira_data_center"), "{why}");
    assert!(
        jira.calls_to("list_projects").is_empty(),
        "stopped at the site"
    );
    let listed = h.call("list_providers", json!({})).await.ok();
    assert_eq!(listed["connections"][0]["last_error"], why);
    assert!(!listed["connections"][0]["last_checked_at"].is_null());
}

#[tokio::test]
async fn an_inactive_connection_can_still_be_tested() {
    let h = Harness::new().await;
    h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let (_, old) = h
        .add_connection("old-op", ProviderKind::OpenProject, false)
        .await;
    old.answer("whoami", Ok(user("4", "Ann")));
    old.answer("site", Ok(site("OpenProject")));
    old.answer("list_projects", Ok(page(Vec::<Project>::new(), None)));

    let out = h
        .call("test_pm_provider", json!({ "provider_id": "old-op" }))
        .await
        .ok();

    assert_eq!(out["test"]["ok"], true, "{out}");
    assert_eq!(old.methods(), ["whoami", "site", "list_projects"]);
}

#[tokio::test]
async fn list_providers_filters_by_type_and_activity_and_never_shows_a_credential() {
    let h = Harness::new().await;
    h.connect("acme-jira", ProviderKind::JiraCloud).await;
    h.connect("team-op", ProviderKind::OpenProject).await;
    h.add_connection("old-op", ProviderKind::OpenProject, false)
        .await;

    let all = h.call("list_providers", json!({})).await.ok();
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["connections"]
            .as_array()
            .expect("connections")
            .iter()
            .map(|c| c["name"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(names(&all).len(), 3);
    assert!(!all.to_string().contains("scripted-token"));
    let op = h
        .call(
            "list_providers",
            json!({ "provider_type": "openproject", "active_only": true }),
        )
        .await
        .ok();
    assert_eq!(names(&op), ["team-op"]);
}

#[tokio::test]
async fn remove_pm_provider_moves_the_default_and_a_read_only_key_cannot_remove() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    h.connect("team-op", ProviderKind::OpenProject).await;
    let reader = h.session_with(Scope::Read).await;

    let denied = reader
        .call("remove_pm_provider", json!({ "provider_id": "acme-jira" }))
        .await
        .tool_error();
    assert!(denied.contains("needs the write scope"), "{denied}");

    let out = h
        .call("remove_pm_provider", json!({ "provider_id": "acme-jira" }))
        .await
        .ok();
    assert_eq!(out["removed"], "acme-jira");
    assert_eq!(out["default_connection"], "team-op");
    assert!(jira.calls().is_empty(), "removing calls no tracker");
    let gone = h
        .call("get_task", json!({ "task_id": "acme-jira:PROJ-1" }))
        .await
        .tool_error();
    assert!(gone.contains("no connection \"acme-jira\""), "{gone}");
}

#[tokio::test]
async fn configure_pm_provider_refuses_a_plain_http_tracker_and_stores_nothing() {
    let h = Harness::new().await;

    let e = h
        .call(
            "configure_pm_provider",
            json!({
                "provider_type": "openproject", "base_url": "http://op.acme.org",
                "api_key": "k", "name": "team-op"
            }),
        )
        .await
        .tool_error();

    assert!(e.contains("http"), "{e}");
    let listed = h.call("list_providers", json!({})).await.ok();
    assert_eq!(listed["connections"], json!([]));
}

#[tokio::test]
async fn a_change_keeps_how_an_older_row_signs_in_and_drops_what_its_tracker_never_reads() {
    // A row as earlier versions stored it: a Redmine API key with a user name beside it (never
    // sent) and a ClickUp option a Redmine client never read.
    let h = Harness::new().await;
    let id = pm_core::ConnectionId::new();
    let sealed = pm_store::ProviderCredentials {
        username: Some("ann".into()),
        token: pm_core::Secret::new("old-key"),
    }
    .seal(&h.keys, id, h.user.id);
    let conn = h
        .state
        .store
        .add_connection(pm_store::NewConnection {
            id,
            user_id: h.user.id,
            name: pm_core::ConnectionHandle::parse("old-redmine").expect("handle"),
            provider_type: ProviderKind::Redmine,
            base_url: pm_core::BaseUrl::parse("https://redmine.example.com", false).expect("url"),
            auth_kind: pm_core::AuthKind::ApiKey,
            sealed,
            config: pm_core::ConnectionOptions {
                workspace_id: Some("123".parse().expect("workspace")),
                ..Default::default()
            },
            is_active: true,
            external_id: None,
            display_name: None,
        })
        .await
        .expect("connection");
    let service = &h.state.service;
    // Only an option changes: accepted (the stored user name was never sent and is not now).
    let changed = service
        .change_connection(
            h.user.id,
            conn,
            Change {
                text_format: Some("markdown".into()),
                test: false,
                ..Change::default()
            },
        )
        .await
        .expect("an option of an older row changes");
    assert_eq!(changed.auth_kind, pm_core::AuthKind::ApiKey);
    assert_eq!(
        changed.config,
        pm_core::ConnectionOptions {
            text_format: Some(pm_core::TextFormat::Markdown),
            ..Default::default()
        }
    );
    // A new token pasted with a line break is stored trimmed.
    let changed = service
        .change_connection(
            h.user.id,
            changed,
            Change {
                token: Some(pm_core::Secret::new("  new-key\n")),
                test: false,
                ..Change::default()
            },
        )
        .await
        .expect("a new token");
    let sealed = h
        .state
        .store
        .get_sealed_credentials(h.user.id, changed.id)
        .await
        .expect("read")
        .expect("stored");
    let opened =
        pm_store::ProviderCredentials::open(&h.keys, &sealed, changed.id, h.user.id).expect("open");
    assert_eq!(opened.token.expose(), "new-key");
    assert_eq!(opened.username, None);
}
