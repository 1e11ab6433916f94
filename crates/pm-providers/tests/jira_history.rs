#![allow(clippy::unwrap_used)] // test code
//! History for analytics from the fake Jira's changelogs: what one sprint costs upstream, what
//! the changelog becomes, and a 200-item sprint measured (requests and wall time, printed).
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use pm_core::analytics::{self, Metric};
use pm_core::{AuthKind, BaseUrl, Provider, ProviderKind, StatusCategory};
use pm_providers::HttpSettings;
use pm_testkit::fake::{Failure, Hit, Running};
use pm_testkit::fake_jira::{Fake, FakeIssue, Options, at, basic, spawn};
use serde_json::json;

fn cloud(base: &str) -> Arc<dyn Provider> {
    let settings = HttpSettings {
        timeout: Duration::from_secs(10),
        max_attempts: 2,
        max_concurrency_per_connection: 4,
        // The fakes listen on loopback: allow it (and http) as an operator would.
        policy: pm_providers::UpstreamPolicy::new(true, &["127.0.0.1/32".into()]).unwrap(),
        ..HttpSettings::default()
    };
    let spec = pm_core::ConnectionSpec::stored(
        ProviderKind::JiraCloud,
        BaseUrl::parse(base, true).unwrap(),
        AuthKind::Basic,
        Some("mia@example.com".into()),
        pm_core::Secret::new("tok"),
        pm_core::ConnectionOptions::default(),
    )
    .expect("spec");
    pm_providers::connect(
        pm_providers::http::shared_client(&settings).unwrap(),
        &spec,
        settings,
    )
    .unwrap()
}

/// Requests on one of the platform API's routes (either edition), by a short name.
fn hits(fake: &Running<Fake>, route: &str) -> usize {
    let matches = |h: &Hit| {
        let Some(p) = h
            .path
            .strip_prefix("/rest/api/3/")
            .or_else(|| h.path.strip_prefix("/rest/api/2/"))
        else {
            return false;
        };
        match route {
            "search/jql" | "changelog/bulkfetch" => h.method == "POST" && p == route,
            "status" | "field" => h.method == "GET" && p == route,
            // One issue's changelog page (`issue/{key}/changelog`).
            "changelog" => {
                h.method == "GET" && p.starts_with("issue/") && p.ends_with("/changelog")
            }
            issue if issue.starts_with("issue/") => h.method == "GET" && p == issue,
            other => panic!("no route named {other}"),
        }
    };
    fake.recorder.hits().iter().filter(|h| matches(h)).count()
}

/// Every request so far.
fn total_hits(fake: &Running<Fake>) -> usize {
    fake.recorder.len()
}

#[tokio::test]
async fn a_sprints_history_is_one_search_with_the_changelog() {
    let Some(fake) = spawn(Options::cloud(&basic("mia@example.com", "tok"))).await else {
        return;
    };
    let base = fake.url.clone();
    let jira = cloud(&base);
    let h = jira.sprint_history("7", 500).await.unwrap();
    // The six in the sprint, and EX-7, taken out of it on day 2.
    assert_eq!(h.items.len(), 7);
    assert_eq!(h.source.points_field.as_deref(), Some("customfield_10016"));
    assert!(h.source.sprint_moves_known);
    // Three searches (the sprint's items with their changelogs; the ids of the items changed
    // since its start that are not in it now; the history of the one of those that left it),
    // one bulk read of those candidates' Sprint changes, the sprint, the status list and the
    // field list; nothing per issue.
    assert_eq!(hits(&fake, "search/jql"), 3);
    assert_eq!(hits(&fake, "changelog/bulkfetch"), 1);
    assert_eq!(hits(&fake, "status"), 1);
    assert_eq!(hits(&fake, "field"), 1);
    assert_eq!(hits(&fake, "changelog"), 0);
    let ex6 = h.items.iter().find(|i| i.id == "EX-6").unwrap();
    assert_eq!(ex6.sprint_moves.len(), 1);
    assert_eq!(ex6.sprint_moves[0].at, time(&at(2, 10)));
    let ex4 = h.items.iter().find(|i| i.id == "EX-4").unwrap();
    assert_eq!(ex4.points_changes[0].from, Some(1.0));
    assert_eq!(ex4.points_changes[0].to, Some(5.0));
    let ex2 = h.items.iter().find(|i| i.id == "EX-2").unwrap();
    assert_eq!(ex2.status.category, StatusCategory::Done);
    assert_eq!(
        ex2.status_changes
            .iter()
            .map(|c| c.to.category)
            .collect::<Vec<_>>(),
        vec![StatusCategory::InProgress, StatusCategory::Done]
    );

    // A second read reuses the site's statuses and fields.
    jira.sprint_history("7", 500).await.unwrap();
    assert_eq!(hits(&fake, "status"), 1);
    assert_eq!(hits(&fake, "search/jql"), 6);

    // The burndown computed from it sees EX-6 added after the start and EX-4 re-estimated.
    let sprint = jira.get_sprint("7").await.unwrap();
    let b = analytics::burndown(&sprint, &h, Metric::StoryPoints, Utc::now());
    let changes: Vec<(String, String)> = b
        .scope_changes
        .iter()
        .map(|c| (c.item_id.clone(), format!("{:?}", c.change)))
        .collect();
    assert!(
        changes
            .iter()
            .any(|(id, kind)| id == "EX-6" && kind.contains("Added")),
        "{changes:?}"
    );
    assert!(
        changes
            .iter()
            .any(|(id, kind)| id == "EX-4" && kind.contains("ReEstimated")),
        "{changes:?}"
    );
}

fn time(jira: &str) -> chrono::DateTime<Utc> {
    chrono::DateTime::parse_from_str(jira, "%Y-%m-%dT%H:%M:%S%.3f%z")
        .unwrap()
        .with_timezone(&Utc)
}

/// `sprint = 7` finds only the sprint's items now: EX-7, taken out on day 2, is read too (from
/// the items changed since the start that are not in the sprint now, kept for the removal their
/// changelog shows), and the burndown shows its scope leaving.
#[tokio::test]
async fn an_item_taken_out_mid_sprint_is_in_the_sprints_history() {
    let Some(fake) = spawn(Options::cloud(&basic("mia@example.com", "tok"))).await else {
        return;
    };
    let base = fake.url.clone();
    let jira = cloud(&base);
    let now = jira
        .search_tasks(
            &pm_core::TaskQuery {
                sprint: Some("7".into()),
                ..Default::default()
            },
            &pm_core::PageRequest::new(None, None),
        )
        .await
        .unwrap();
    assert!(now.items.iter().all(|t| t.id != "EX-7"));
    let h = jira.sprint_history("7", 500).await.unwrap();
    let ex7 = h.items.iter().find(|i| i.id == "EX-7").expect("EX-7");
    let moves: Vec<(bool, chrono::DateTime<Utc>)> =
        ex7.sprint_moves.iter().map(|m| (m.added, m.at)).collect();
    assert_eq!(moves, [(true, time(&at(0, 8))), (false, time(&at(2, 12)))]);
    // Items never in the sprint stay out; only the candidates' Sprint field changes were read
    // for them (`fieldIds`), in one bulk request.
    assert!(h.items.iter().all(|i| i.id != "EX-8" && i.id != "EX-9"));
    let bulk = fake.read.bulk_requests.lock().unwrap().clone();
    assert_eq!(bulk.len(), 1);
    assert_eq!(bulk[0]["fieldIds"], json!(["customfield_10020"]));
    // EX-7, 8, 10 and 11 changed since the start (EX-9 and EX-12 did not).
    assert_eq!(bulk[0]["issueIdsOrKeys"], json!(["27", "28", "210", "211"]));
    let sprint = jira.get_sprint("7").await.unwrap();
    let b = analytics::burndown(&sprint, &h, Metric::StoryPoints, Utc::now());
    assert!(
        b.scope_changes
            .iter()
            .any(|c| c.item_id == "EX-7" && format!("{:?}", c.change).contains("Removed")),
        "{:?}",
        b.scope_changes
    );
    // A max_items the sprint's own items fill leaves no room to look further.
    let h = jira.sprint_history("7", 6).await.unwrap();
    assert_eq!(h.items.len(), 6);
}

#[tokio::test]
async fn a_changelog_longer_than_the_search_embeds_is_read_for_that_issue_only() {
    let Some(fake) = spawn(Options::cloud(&basic("mia@example.com", "tok"))).await else {
        return;
    };
    let base = fake.url.clone();
    {
        let mut issues = fake.issues.lock().unwrap();
        let ex1 = issues.iter_mut().find(|i| i.key == "EX-1").unwrap();
        for n in 0..130 {
            ex1.history.push(json!({ "id": format!("h{n}"), "created": format!("2026-11-2{}T10:{:02}:00.000+0000", n % 3, n % 60), "items": [
                { "field": "status", "fieldId": "status", "from": "10000", "fromString": "To Do", "to": "3", "toString": "In Progress" } ] }));
        }
    }
    let jira = cloud(&base);
    let h = jira.sprint_history("7", 500).await.unwrap();
    let ex1 = h.items.iter().find(|i| i.id == "EX-1").unwrap();
    assert!(
        ex1.status_changes.len() >= 130,
        "{}",
        ex1.status_changes.len()
    );
    // The rest in one bulk request, not per issue (the second is the Sprint field's changes of
    // the items that may have left the sprint).
    assert_eq!(hits(&fake, "changelog/bulkfetch"), 2);
    assert_eq!(hits(&fake, "changelog"), 0);
    // Sorted oldest first whatever order Jira sent.
    assert!(ex1.status_changes.windows(2).all(|w| w[0].at <= w[1].at));
}

/// Cloud's `search/jql` embeds only the newest 40 entries of a changelog (newest first, with
/// `total`), and `/issue/{key}/changelog` pages oldest first: reading "the rest" from offset 40
/// would drop the 40 oldest and count the newest twice. The whole changelog of the long ones
/// is read again in one bulk request (only the fields analytics read) and merged by history id.
#[tokio::test]
async fn a_long_changelog_is_read_whole_with_each_entry_once() {
    let Some(fake) = spawn(Options::cloud(&basic("mia@example.com", "tok"))).await else {
        return;
    };
    let base = fake.url.clone();
    let seeded = {
        let mut issues = fake.issues.lock().unwrap();
        let ex1 = issues.iter_mut().find(|i| i.key == "EX-1").unwrap();
        // The oldest entry of all: a re-estimate long before the rest.
        ex1.history.insert(0, json!({ "id": "900000", "created": at(-5, 9), "items": [
            { "field": "Story point estimate", "fieldId": "customfield_10016", "fromString": "2", "toString": "3" } ] }));
        // 130 status changes, one a minute on day 4 (after the seeded history), with other
        // fields' noise in between.
        for n in 0..130u32 {
            let (from, to) = if n % 2 == 0 {
                ("3", "10001")
            } else {
                ("10001", "3")
            };
            ex1.history.push(json!({ "id": (900_001 + n).to_string(), "created": format!("{}:{:02}:00.000+0000", &at(4, 10 + n / 60)[..13], n % 60), "items": [
                { "field": "status", "fieldId": "status", "from": from, "to": to, "fromString": "x", "toString": "y" },
                { "field": "labels", "fieldId": "labels", "fromString": "", "toString": "noise" } ] }));
        }
        ex1.history
            .iter()
            .filter(|h| {
                h["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|i| i["field"] == "status")
            })
            .count()
    };
    let jira = cloud(&base);
    let h = jira.sprint_history("7", 500).await.unwrap();
    let ex1 = h.items.iter().find(|i| i.id == "EX-1").unwrap();
    assert_eq!(
        ex1.status_changes.len(),
        seeded,
        "every status change, once"
    );
    let mut times: Vec<_> = ex1.status_changes.iter().map(|c| c.at).collect();
    times.dedup();
    assert_eq!(times.len(), seeded, "no entry counted twice");
    assert_eq!(ex1.points_changes.len(), 1, "the oldest entry is kept");
    assert_eq!(ex1.points_changes[0].to, Some(3.0));
    assert!(ex1.status_changes.windows(2).all(|w| w[0].at <= w[1].at));
    // One bulk request for the one long changelog, with the fields analytics read (and one for
    // the Sprint field's changes of the items that may have left the sprint); nothing per issue.
    assert_eq!(hits(&fake, "changelog/bulkfetch"), 2);
    assert_eq!(hits(&fake, "changelog"), 0);
    let bulk = fake.read.bulk_requests.lock().unwrap().clone();
    assert_eq!(bulk[0]["issueIdsOrKeys"], json!(["21"]));
    let fields: Vec<&str> = bulk[0]["fieldIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for f in [
        "status",
        "customfield_10020",
        "customfield_10016",
        "timeoriginalestimate",
    ] {
        assert!(fields.contains(&f), "{fields:?}");
    }
}

/// The bulk changelog is a read: a 429 on it is waited out and retried. A site without it (404)
/// has each long changelog paged from its start instead, and nothing is lost or doubled.
#[tokio::test]
async fn the_bulk_changelog_is_retried_and_paged_per_issue_where_missing() {
    for fault in [
        Failure::status(429).retry_after(0),
        Failure::status(404).json(json!({ "code": 404, "message": "Not Found" })),
    ] {
        let Some(fake) = spawn(Options::cloud(&basic("mia@example.com", "tok"))).await else {
            return;
        };
        let base = fake.url.clone();
        let seeded = {
            let mut issues = fake.issues.lock().unwrap();
            let ex1 = issues.iter_mut().find(|i| i.key == "EX-1").unwrap();
            for n in 0..150u32 {
                ex1.history.push(json!({ "id": (700_000 + n).to_string(), "created": format!("{}:{:02}:00.000+0000", &at(4, 10 + n / 60)[..13], n % 60), "items": [
                    { "field": "status", "fieldId": "status", "from": "3", "to": "10001", "fromString": "In Progress", "toString": "Done" } ] }));
            }
            ex1.history.len()
        };
        fake.recorder
            .fail_next(fault.clone().on(Some("POST"), "/changelog/bulkfetch"));
        let h = cloud(&base).sprint_history("7", 500).await.unwrap();
        let ex1 = h.items.iter().find(|i| i.id == "EX-1").unwrap();
        // The seeded sprint join, the move to In Progress, and the 150.
        assert_eq!(seeded, 152);
        assert_eq!(ex1.status_changes.len(), 151, "{fault:?}");
        assert_eq!(ex1.sprint_moves.len(), 1, "{fault:?}");
        match fault.status_code() {
            429 => assert_eq!(hits(&fake, "changelog"), 0),
            _ => assert_eq!(hits(&fake, "changelog"), 2, "two pages of 100, from 0"),
        }
    }
}

/// On Data Center the search embeds the whole changelog (oldest first): nothing more is read.
#[tokio::test]
async fn data_center_reads_a_long_changelog_from_the_search_alone() {
    let Some(fake) = spawn(Options::dc("Bearer pat")).await else {
        return;
    };
    let base = fake.url.clone();
    {
        let mut issues = fake.issues.lock().unwrap();
        let ex1 = issues.iter_mut().find(|i| i.key == "EX-1").unwrap();
        for n in 0..130u32 {
            ex1.history.push(json!({ "id": (800_000 + n).to_string(), "created": format!("{}:{:02}:00.000+0000", &at(4, 10 + n / 60)[..13], n % 60), "items": [
                { "field": "status", "fieldId": "status", "from": "3", "to": "10001", "fromString": "In Progress", "toString": "Done" } ] }));
        }
    }
    let settings = HttpSettings {
        policy: pm_providers::UpstreamPolicy::new(true, &["127.0.0.1/32".into()]).unwrap(),
        ..HttpSettings::default()
    };
    let dc = pm_providers::connect(
        pm_providers::http::shared_client(&settings).unwrap(),
        &pm_core::ConnectionSpec::stored(
            ProviderKind::JiraDataCenter,
            BaseUrl::parse(&base, true).unwrap(),
            AuthKind::Bearer,
            None,
            pm_core::Secret::new("pat"),
            pm_core::ConnectionOptions::default(),
        )
        .expect("spec"),
        settings,
    )
    .unwrap();
    let h = dc.sprint_history("7", 500).await.unwrap();
    let ex1 = h.items.iter().find(|i| i.id == "EX-1").unwrap();
    assert_eq!(ex1.status_changes.len(), 130 + 1);
    assert_eq!(hits(&fake, "issue/EX-1"), 0);
    // EX-7, taken out of the sprint on day 2, is there too (Data Center: the candidates are
    // searched with their changelogs).
    assert!(h.items.iter().any(|i| i.id == "EX-7"));
    assert!(h.items.iter().all(|i| i.id != "EX-8"));
}

/// The figures the issue asks for: upstream requests and wall time for burndown and
/// sprint_report on a 200-item sprint against a local fake. Printed, not asserted (timing);
/// the request count is asserted (it is a property of the client, not of the machine).
#[tokio::test]
async fn a_200_item_sprint_costs_a_few_requests() {
    let Some(fake) = spawn(Options::cloud(&basic("mia@example.com", "tok"))).await else {
        return;
    };
    let base = fake.url.clone();
    {
        let mut issues = fake.issues.lock().unwrap();
        let template = issues[0].clone();
        for n in 0..200 {
            let mut i: FakeIssue = template.clone();
            i.key = format!("EX-{}", 1000 + n);
            i.summary = format!("Load item {n}");
            i.sprint = Some(8);
            i.story_points = Some(f64::from(n % 5 + 1));
            i.status = if n % 3 == 0 {
                ("Done", "done")
            } else {
                ("In Progress", "indeterminate")
            };
            i.history = vec![
                json!({ "id": "1", "created": at(7, 8), "items": [ { "field": "Sprint", "from": "", "to": "8" } ] }),
                json!({ "id": "2", "created": at(8, 10), "items": [
                    { "field": "status", "fieldId": "status", "from": "10000", "fromString": "To Do", "to": "3", "toString": "In Progress" } ] }),
            ];
            if n % 3 == 0 {
                i.history.push(json!({ "id": "3", "created": at(9 + i64::from(n % 8), 15), "items": [
                    { "field": "status", "fieldId": "status", "from": "3", "fromString": "In Progress", "to": "10001", "toString": "Done" } ] }));
            }
            issues.push(i);
        }
    }
    let jira = cloud(&base);
    let mut sprint = jira.get_sprint("8").await.unwrap();
    sprint.start_date = Some(Utc.with_ymd_and_hms(2026, 11, 16, 9, 0, 0).unwrap());
    sprint.end_date = Some(Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap());
    let before = total_hits(&fake);
    let started = Instant::now();
    let h = jira.sprint_history("8", 2000).await.unwrap();
    let read = started.elapsed();
    let requests = total_hits(&fake) - before;
    assert_eq!(h.items.len(), 200);
    let started = Instant::now();
    let b = analytics::burndown(&sprint, &h, Metric::StoryPoints, Utc::now());
    let burndown_time = started.elapsed();
    let started = Instant::now();
    let r = analytics::sprint_report(&sprint, &h, Metric::StoryPoints, Utc::now());
    let report_time = started.elapsed();
    eprintln!(
        "200-item sprint: {requests} upstream requests ({} searches of 100, the status list, the field list) in {:.1} ms; burndown computed in {:.2} ms ({} days), sprint_report in {:.2} ms ({} planned, {} completed)",
        hits(&fake, "search/jql"),
        read.as_secs_f64() * 1000.0,
        burndown_time.as_secs_f64() * 1000.0,
        b.days.len(),
        report_time.as_secs_f64() * 1000.0,
        r.planned.len(),
        r.completed.len(),
    );
    // The sprint, two pages of 100 with the changelog, the statuses and the fields, and the
    // project's board and its configuration (which field it estimates with; once per project and
    // connection): nothing per item, nothing per assignee. (The fake's old per-route counter did
    // not count the sprint's own read; the recorder counts every request.)
    assert_eq!(requests, 7, "{:?}", fake.recorder.lines_since(before));
    let again = total_hits(&fake);
    jira.sprint_history("8", 2000).await.unwrap();
    assert_eq!(
        total_hits(&fake) - again,
        3,
        "only the sprint and the two searches again: {:?}",
        fake.recorder.lines_since(again)
    );
    assert_eq!(r.completed.len(), 67);
}
