#![allow(clippy::unwrap_used, clippy::result_large_err)] // test fixture code
//! A Jira project's vocabulary (statuses with categories, priorities, issue types, one issue's
//! transitions) on Cloud (v3) and Data Center (v2), against pm-testkit's fake Jira.
use std::sync::Arc;
use std::time::Duration;

use pm_core::{AuthKind, BaseUrl, Provider, ProviderError, ProviderKind, StatusCategory};
use pm_providers::HttpSettings;
use pm_testkit::fake::Running;
use pm_testkit::fake_jira::{Options, basic, spawn};

fn settings() -> HttpSettings {
    HttpSettings {
        timeout: Duration::from_millis(2_500),
        max_attempts: 2,
        max_concurrency_per_connection: 4,
        // The fakes listen on loopback: allow it (and http) as an operator would.
        policy: pm_providers::UpstreamPolicy::new(true, &["127.0.0.1/32".into()]).unwrap(),
        ..HttpSettings::default()
    }
}

fn jira(base: &str, kind: ProviderKind, auth: AuthKind, token: &str) -> Arc<dyn Provider> {
    let client = pm_providers::http::shared_client(&settings()).unwrap();
    let url = BaseUrl::parse(base, true).unwrap();
    let user = (auth == AuthKind::Basic).then(|| "mia@example.com".to_string());
    pm_providers::connect(
        client,
        &pm_core::ConnectionSpec::stored(
            kind,
            (url).clone(),
            auth,
            user,
            pm_core::Secret::new(token),
            pm_core::ConnectionOptions::default(),
        )
        .expect("spec"),
        settings(),
    )
    .unwrap()
}

async fn check(p: &dyn Provider) {
    let v = p.project_vocabulary("EX", None).await.unwrap();
    let names: Vec<(&str, StatusCategory)> = v
        .statuses
        .iter()
        .map(|s| (s.name.as_str(), s.category))
        .collect();
    // The union over the project's issue types, each status once, categories from Jira's.
    assert_eq!(
        names,
        [
            ("To Do", StatusCategory::Todo),
            ("In Progress", StatusCategory::InProgress),
            ("Done", StatusCategory::Done)
        ]
    );
    // The site's list, in Jira's order (the spec's example).
    assert_eq!(v.priorities, ["Major", "Trivial"]);
    let types: Vec<(&str, bool, bool)> = v
        .task_types
        .iter()
        .map(|t| (t.name.as_str(), t.is_epic, t.is_default))
        .collect();
    assert_eq!(
        types,
        [
            ("Task", false, true),
            ("Bug", false, false),
            ("Epic", true, false),
            ("Subtask", false, false)
        ]
    );
    assert!(v.transitions.is_none());
    assert!(
        v.notes
            .iter()
            .any(|n| n == "sub-task types need a parent task: Subtask"),
        "{:?}",
        v.notes
    );

    // EX-1 is In Progress: Done next, or back to To Do, named as the workflow names them.
    let v = p.project_vocabulary("EX", Some("EX-1")).await.unwrap();
    let moves: Vec<(String, Option<String>)> = v
        .transitions
        .unwrap()
        .into_iter()
        .map(|t| (t.to_status, t.name))
        .collect();
    assert_eq!(
        moves,
        [
            ("Done".to_string(), Some("Move to Done".to_string())),
            ("To Do".to_string(), Some("Move to To Do".to_string()))
        ]
    );

    match p.project_vocabulary("NOPE", None).await {
        Err(ProviderError::NotFound { what }) => {
            assert_eq!(what, "Jira project NOPE visible to this account")
        }
        other => panic!("{other:?}"),
    }
    match p.project_vocabulary("EX", Some("EX-999")).await {
        Err(ProviderError::NotFound { what }) => assert!(what.contains("EX-999"), "{what}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        p.project_vocabulary("EX; drop", None).await,
        Err(ProviderError::BadInput(_))
    ));
}

#[tokio::test]
async fn cloud_reads_a_projects_statuses_priorities_types_and_transitions() {
    let Some(fake) = spawn(Options::cloud(&basic("mia@example.com", "t"))).await else {
        return;
    };
    let base = fake.url.clone();
    check(&*jira(&base, ProviderKind::JiraCloud, AuthKind::Basic, "t")).await;
    // One read of the project's statuses per call; the site's status list is not needed when
    // every status carries its category.
    assert!(
        fake.recorder
            .hits()
            .iter()
            .filter(|h| h.method == "GET"
                && h.path.starts_with("/rest/api/3/project/")
                && h.path.ends_with("/statuses"))
            .count()
            >= 3
    );
    assert!(fake.recorder.count("GET", "/rest/api/3/status") == 0);
}

#[tokio::test]
async fn data_center_reads_the_same_through_v2() {
    let Some(Running { url: base, .. }) = spawn(Options::dc("Bearer pat-v")).await else {
        return;
    };
    check(&*jira(
        &base,
        ProviderKind::JiraDataCenter,
        AuthKind::Bearer,
        "pat-v",
    ))
    .await;
}
