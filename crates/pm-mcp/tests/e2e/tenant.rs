//! The multi-tenant attack suite, through the real binary on each engine. Bob (another user with
//! his own key, first without and then with connections of his own) tries Ann's connection by its
//! handle and by its id, Ann's ids qualified with her handle (and with her connection's id) in
//! every tool that takes one, listing, testing, removing and "updating" (re-configuring under the
//! same name) her connection; Ann's read-only key tries every write tool; a key revoked and a user
//! disabled in the middle of a session. Every attempt is refused, answers byte for byte like the
//! same attempt on a connection that does not exist, carries nothing of Ann's, and never reaches
//! Ann's tracker; the time to refuse does not tell an existing handle from a missing one.
use std::time::Instant;

use rmcp::model::{CallToolRequestParams, ProtocolVersion};
use serde_json::{Value, json};

use crate::harness::*;

const ANN_TOKEN: &str = "ATATT-ann-tenant-secret-7731";
const BOB_TOKEN: &str = "ATATT-bob-tenant-secret-1188";
const MISSING_HANDLE: &str = "nope-jira";
const MISSING_ID: &str = "0b9c3f5e-8d1a-4c52-9e67-2f4a1d3c5b70";
const MARK: &str = "<connection>";

/// A call's whole answer as text: the result (content, structured content, error flag) or the
/// protocol error.
async fn attempt(client: &Client, tool: &str, args: &Value) -> (bool, String) {
    let params = CallToolRequestParams::new(tool.to_string())
        .with_arguments(args.as_object().cloned().unwrap_or_default());
    match client.call_tool(params).await {
        Ok(r) => (
            r.is_error == Some(true),
            serde_json::to_string(&r).expect("serialise"),
        ),
        Err(e) => (true, format!("protocol error: {e}")),
    }
}

/// Every tool that takes an id qualified by a connection, with arguments naming `p` as that
/// connection (each call valid for the tool's schema).
fn qualified_calls(p: &str) -> Vec<(&'static str, Value)> {
    let task = format!("{p}:EX-1");
    let project = format!("{p}:EX");
    let sprint = format!("{p}:7");
    let epic = format!("{p}:EX-3");
    vec![
        ("get_task", json!({ "task_id": task })),
        ("get_project", json!({ "project_id": project })),
        ("list_tasks", json!({ "project_id": project })),
        ("list_sprints", json!({ "project_id": project })),
        ("get_sprint", json!({ "sprint_id": sprint })),
        ("get_sprint_tasks", json!({ "sprint_id": sprint })),
        ("list_tasks_in_sprint", json!({ "sprint_id": sprint })),
        ("get_epic", json!({ "epic_id": epic })),
        ("list_epics", json!({ "project_id": project })),
        ("get_task_comments", json!({ "task_id": task })),
        ("list_worklogs", json!({ "task_id": task })),
        (
            "get_user",
            json!({ "user_id": format!("{p}:5b10a2844c20165700ede21g") }),
        ),
        (
            "list_tasks_by_assignee",
            json!({ "assignee_id": format!("{p}:5b10a2844c20165700ede21g") }),
        ),
        ("burndown_chart", json!({ "sprint_id": sprint })),
        ("velocity_chart", json!({ "project_id": project })),
        ("sprint_report", json!({ "sprint_id": sprint })),
        ("project_health", json!({ "project_id": project })),
        ("cfd_chart", json!({ "project_id": project })),
        ("cycle_time_chart", json!({ "project_id": project })),
        ("work_distribution_chart", json!({ "sprint_id": sprint })),
        ("issue_trend_chart", json!({ "project_id": project })),
        ("capacity_chart", json!({ "project_id": project })),
        ("update_task", json!({ "task_id": task, "title": "pwned" })),
        (
            "update_task_status",
            json!({ "task_id": task, "status": "Done" }),
        ),
        ("assign_task", json!({ "task_id": task })),
        ("delete_task", json!({ "task_id": task })),
        (
            "add_task_comment",
            json!({ "task_id": task, "comment": "pwned" }),
        ),
        ("add_task_watcher", json!({ "task_id": task })),
        ("log_work", json!({ "task_id": task, "hours": 1 })),
        (
            "link_related_tasks",
            json!({ "task_id": task, "related_task_id": format!("{p}:EX-2") }),
        ),
        (
            "link_task_to_epic",
            json!({ "task_id": task, "epic_id": epic }),
        ),
        ("unlink_task_from_epic", json!({ "task_id": task })),
        (
            "create_task",
            json!({ "project_id": project, "title": "pwned" }),
        ),
        (
            "create_epic",
            json!({ "project_id": project, "title": "pwned" }),
        ),
        (
            "create_sprint",
            json!({ "project_id": project, "name": "pwned" }),
        ),
        (
            "update_sprint",
            json!({ "sprint_id": sprint, "name": "pwned" }),
        ),
        ("start_sprint", json!({ "sprint_id": sprint })),
        ("complete_sprint", json!({ "sprint_id": sprint })),
        ("delete_sprint", json!({ "sprint_id": sprint })),
        ("update_epic", json!({ "epic_id": epic, "title": "pwned" })),
        ("delete_epic", json!({ "epic_id": epic })),
        (
            "update_project",
            json!({ "project_id": project, "name": "pwned" }),
        ),
        ("delete_project", json!({ "project_id": project })),
        (
            "bulk_update_tasks",
            json!({ "task_ids": [task, format!("{p}:EX-2")], "title": "pwned" }),
        ),
    ]
}

/// Every tool that takes a connection by name or id, naming `p`.
fn connection_calls(p: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("list_projects", json!({ "provider_id": p })),
        (
            "search_projects",
            json!({ "query": "ex", "provider_id": p }),
        ),
        ("list_tasks", json!({ "provider_id": p })),
        ("list_my_tasks", json!({ "provider_id": p })),
        ("list_unassigned_tasks", json!({ "provider_id": p })),
        (
            "list_tasks_by_assignee",
            json!({ "assignee_id": "5b10a2844c20165700ede21g", "provider_id": p }),
        ),
        ("list_users", json!({ "provider_id": p })),
        ("search_tasks", json!({ "query": "task", "provider_id": p })),
        ("get_current_user", json!({ "provider_id": p })),
        ("test_pm_provider", json!({ "provider_id": p })),
        ("remove_pm_provider", json!({ "provider_id": p })),
        (
            "create_project",
            json!({ "name": "Stolen", "provider_id": p }),
        ),
    ]
}

/// What must never appear in any answer to Bob.
struct AnnsSecrets {
    values: Vec<String>,
}

impl AnnsSecrets {
    fn check(&self, what: &str, answer: &str) {
        for v in &self.values {
            assert!(
                !answer.contains(v.as_str()),
                "{what}: Bob's answer holds Ann's {v:?}: {answer}"
            );
        }
    }
}

pub fn connection_id(env: &Env, user: &str, name: &str) -> String {
    let listed: Vec<Value> =
        serde_json::from_str(&env.ok(&["connection", "list", "--user", user, "--json"]))
            .expect("json");
    listed
        .iter()
        .find(|c| c["name"] == name)
        .and_then(|c| c["id"].as_str())
        .expect("connection id")
        .to_string()
}

fn upstream_calls(fake: &pm_testkit::fake::Running<pm_testkit::fake_jira::Fake>) -> usize {
    fake.recorder.len()
}

/// Runs every attack naming `attack` (Ann's handle or id) and the same call naming `control` (a
/// connection nobody has): both refused, identical once the name is masked, nothing of Ann's in
/// either. Returns the number of cases.
async fn refused_like_missing(
    bob: &Client,
    calls: fn(&str) -> Vec<(&'static str, Value)>,
    attack: &str,
    control: &str,
    secrets: &AnnsSecrets,
) -> usize {
    let attacks = calls(attack);
    let controls = calls(control);
    for ((tool, args), (_, control_args)) in attacks.iter().zip(&controls) {
        let (refused, answer) = attempt(bob, tool, args).await;
        let (control_refused, control_answer) = attempt(bob, tool, control_args).await;
        let masked = answer.replace(attack, MARK);
        let control_masked = control_answer.replace(control, MARK);
        // bulk_update_tasks answers with a list of failures rather than an error.
        let failed_each = *tool == "bulk_update_tasks" && masked.contains("\"updated\":[]");
        assert!(
            refused || failed_each,
            "{tool} {args} was not refused: {answer}"
        );
        assert_eq!(refused, control_refused, "{tool} {args}");
        assert_eq!(
            masked, control_masked,
            "{tool}: Ann's connection answers unlike a missing one"
        );
        secrets.check(tool, &masked);
    }
    attacks.len()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median latency of `tool` naming `attack` and `control`, interleaved, 50 each; the answers must
/// be the same (masked) every time.
async fn timing(
    bob: &Client,
    tool: &str,
    args: fn(&str) -> Value,
    attack: &str,
    control: &str,
) -> (f64, f64) {
    let (mut a, mut c) = (Vec::new(), Vec::new());
    for i in 0..50 {
        // Alternate which goes first, so neither always pays for a cold path.
        let order = if i % 2 == 0 {
            [(attack, &mut a), (control, &mut c)]
        } else {
            [(control, &mut c), (attack, &mut a)]
        };
        for (name, out) in order {
            let started = Instant::now();
            let (refused, answer) = attempt(bob, tool, &args(name)).await;
            out.push(started.elapsed().as_secs_f64() * 1000.0);
            assert!(refused);
            assert!(answer.replace(name, MARK).contains(MARK), "{answer}");
        }
    }
    (median(a), median(c))
}

#[tokio::test]
async fn another_users_connection_is_unreachable_and_indistinguishable_from_none() {
    on_each_engine(|env| async move {
        let Some(ann_fake) = pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::cloud(&pm_testkit::fake_jira::basic("mia@example.com", ANN_TOKEN))).await else {
        return;
    };
    let ann_jira = ann_fake.url.clone();
        let Some(bob_fake) = pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::cloud(&pm_testkit::fake_jira::basic("bob@example.com", BOB_TOKEN))).await else {
        return;
    };
    let bob_jira = bob_fake.url.clone();
        env.add_user("ann@acme.org");
        env.add_user("bob@acme.org");
        let ann_key = env.create_key("ann@acme.org", "read,write");
        let ann_read_key = env.create_key("ann@acme.org", "read");
        let bob_key = env.create_key("bob@acme.org", "read,write");
        let server = env.serve(LOCAL_UPSTREAM).await;
        let ann = server.client(&ann_key, ProtocolVersion::V_2025_11_25).await.expect("ann");
        let configured = ok(&ann, "configure_pm_provider", json!({
            "provider_type": "jira_cloud", "base_url": ann_jira, "username": "mia@example.com", "api_token": ANN_TOKEN, "name": "acme-jira"
        }))
        .await;
        assert_eq!(configured["connection"]["name"], "acme-jira");
        // Tools show handles; the id is what the operator's listing shows.
        let ann_conn = connection_id(&env, "ann@acme.org", "acme-jira");
        let ann_user = call_ok(&ann, "get_current_user").await["user"]["id"].as_str().expect("user id").to_string();
        assert_eq!(ok(&ann, "get_task", json!({ "task_id": "acme-jira:EX-1" })).await["task"]["id"], "acme-jira:EX-1");
        let ann_before = call_ok(&ann, "list_providers").await;
        let secrets = AnnsSecrets {
            values: vec![ann_conn.clone(), ann_user.clone(), "ann@acme.org".into(), ANN_TOKEN.into(), ann_jira.clone(), ann_key.clone()],
        };
        let ann_upstream = upstream_calls(&ann_fake);
        let bob = server.client(&bob_key, ProtocolVersion::V_2026_07_28).await.expect("bob");
        let mut cases = 0;

        // 1. Bob without any connection of his own.
        cases += refused_like_missing(&bob, connection_calls, "acme-jira", MISSING_HANDLE, &secrets).await;
        cases += refused_like_missing(&bob, connection_calls, &ann_conn, MISSING_ID, &secrets).await;
        cases += refused_like_missing(&bob, qualified_calls, "acme-jira", MISSING_HANDLE, &secrets).await;
        cases += refused_like_missing(&bob, qualified_calls, &ann_conn, MISSING_ID, &secrets).await;

        // 2. Bob with a default connection of his own: Ann's names still answer like missing ones
        //    and never fall back to his default.
        ok(&bob, "configure_pm_provider", json!({
            "provider_type": "jira_cloud", "base_url": bob_jira, "username": "bob@example.com", "api_token": BOB_TOKEN, "name": "bob-jira"
        }))
        .await;
        cases += refused_like_missing(&bob, connection_calls, "acme-jira", MISSING_HANDLE, &secrets).await;
        cases += refused_like_missing(&bob, connection_calls, &ann_conn, MISSING_ID, &secrets).await;
        cases += refused_like_missing(&bob, qualified_calls, "acme-jira", MISSING_HANDLE, &secrets).await;
        cases += refused_like_missing(&bob, qualified_calls, &ann_conn, MISSING_ID, &secrets).await;

        // Listing: only his own.
        let listed = call_ok(&bob, "list_providers").await;
        assert_eq!(listed["connections"].as_array().map(Vec::len), Some(1), "{listed}");
        assert_eq!(listed["connections"][0]["name"], "bob-jira");
        secrets.check("list_providers", &listed.to_string());
        let me = call_ok(&bob, "get_current_user").await;
        assert_eq!(me["connections"], json!(["bob-jira (jira_cloud)"]));
        secrets.check("get_current_user", &me.to_string());
        cases += 2;

        // "Updating" Ann's connection: configuring one under her name makes Bob's own, pointing
        // at his tracker; Ann's is untouched and still hers, and his ids go to his tracker.
        let bobs = ok(&bob, "configure_pm_provider", json!({
            "provider_type": "jira_cloud", "base_url": bob_jira, "username": "bob@example.com", "api_token": BOB_TOKEN, "name": "acme-jira"
        }))
        .await;
        assert_ne!(bobs["connection"]["id"].as_str(), Some(ann_conn.as_str()));
        secrets.check("configure_pm_provider", &bobs.to_string());
        let bob_upstream = upstream_calls(&bob_fake);
        ok(&bob, "get_task", json!({ "task_id": "acme-jira:EX-1" })).await;
        assert!(upstream_calls(&bob_fake) > bob_upstream, "Bob's acme-jira is his own tracker");
        assert_eq!(call_ok(&ann, "list_providers").await, ann_before, "Ann's connection changed");
        // Even with a connection of that name, Ann's id stays out of reach.
        for (tool, args) in [
            ("test_pm_provider", json!({ "provider_id": ann_conn })),
            ("remove_pm_provider", json!({ "provider_id": ann_conn })),
            ("list_projects", json!({ "provider_id": ann_conn })),
        ] {
            let (refused, answer) = attempt(&bob, tool, &args).await;
            assert!(refused, "{tool}: {answer}");
            secrets.check(tool, &answer.replace(&ann_conn, MARK));
        }
        ok(&bob, "remove_pm_provider", json!({ "provider_id": "acme-jira" })).await;
        assert_eq!(call_ok(&ann, "list_providers").await, ann_before, "Bob removed Ann's connection");
        cases += 5;

        // Nothing Bob did reached Ann's tracker.
        assert_eq!(upstream_calls(&ann_fake), ann_upstream, "Bob's attempts reached Ann's Jira");

        // 3. Timing: refusing Ann's handle (or id) takes as long as refusing a missing one.
        let (by_handle, missing_handle) =
            timing(&bob, "test_pm_provider", |p| json!({ "provider_id": p }), "acme-jira", MISSING_HANDLE).await;
        let (by_id, missing_id) = timing(&bob, "test_pm_provider", |p| json!({ "provider_id": p }), &ann_conn, MISSING_ID).await;
        eprintln!(
            "timing ({:?}): median ms, Ann's handle {by_handle:.3} vs missing {missing_handle:.3}; Ann's id {by_id:.3} vs missing {missing_id:.3}",
            env.engine
        );
        // A generous bound: a database round trip or an upstream call would show as much more.
        assert!((by_handle - missing_handle).abs() < 5.0, "{by_handle} vs {missing_handle}");
        assert!((by_id - missing_id).abs() < 5.0, "{by_id} vs {missing_id}");
        cases += 2;

        // 4. A read-only key: no write tool is listed, and each one is refused when called.
        let all_tools = ann.list_all_tools().await.expect("tools");
        let writes: Vec<String> = all_tools
            .iter()
            .filter(|t| t.annotations.as_ref().and_then(|a| a.read_only_hint) != Some(true))
            .map(|t| t.name.to_string())
            .collect();
        assert!(writes.len() >= 25, "{writes:?}");
        let reader = server.client(&ann_read_key, ProtocolVersion::V_2025_06_18).await.expect("reader");
        let visible: Vec<String> = reader.list_all_tools().await.expect("tools").into_iter().map(|t| t.name.to_string()).collect();
        for tool in &writes {
            assert!(!visible.contains(tool), "a read-only key sees {tool}");
            let (refused, answer) = attempt(&reader, tool, &json!({})).await;
            assert!(refused && answer.contains("needs the write scope"), "{tool}: {answer}");
            cases += 1;
        }
        assert_eq!(call_ok(&ann, "list_providers").await, ann_before);
        assert_eq!(upstream_calls(&ann_fake), ann_upstream, "a refused write reached Jira");

        // 5. A key revoked mid-session: refused at once, for reads and writes.
        let second_key = env.create_key("ann@acme.org", "read,write");
        let session = server.client(&second_key, ProtocolVersion::V_2025_03_26).await.expect("session");
        ok(&session, "get_task", json!({ "task_id": "acme-jira:EX-1" })).await;
        env.ok(&["key", "revoke", "--user", "ann@acme.org", &second_key[..13]]);
        refused_within(&session, "get_current_user").await;
        // Calls made before the refusal reached Ann's tracker legitimately; from here none may.
        let ann_upstream = upstream_calls(&ann_fake);
        let (refused, answer) = attempt(&session, "remove_pm_provider", &json!({ "provider_id": "acme-jira" })).await;
        assert!(refused && answer.starts_with("protocol error"), "{answer}");
        let (refused, answer) = attempt(&session, "get_task", &json!({ "task_id": "acme-jira:EX-1" })).await;
        assert!(refused && answer.starts_with("protocol error"), "{answer}");
        assert_eq!(upstream_calls(&ann_fake), ann_upstream, "a revoked key reached Jira");
        assert_eq!(call_ok(&ann, "list_providers").await, ann_before);
        cases += 3;
        let _ = session.cancel().await;

        // 6. A user disabled mid-session: every key of theirs stops, writes included.
        env.ok(&["user", "disable", "--email", "ann@acme.org"]);
        refused_within(&ann, "list_providers").await;
        refused_within(&reader, "get_current_user").await;
        let ann_upstream = upstream_calls(&ann_fake);
        let (refused, answer) = attempt(&ann, "remove_pm_provider", &json!({ "provider_id": "acme-jira" })).await;
        assert!(refused && answer.starts_with("protocol error"), "{answer}");
        let (refused, answer) = attempt(&reader, "get_task", &json!({ "task_id": "acme-jira:EX-1" })).await;
        assert!(refused && answer.starts_with("protocol error"), "{answer}");
        cases += 4;
        let _ = reader.cancel().await;
        let _ = ann.cancel().await;

        // The audit trail of Bob's calls never names Ann's connection.
        let _ = bob.cancel().await;
        server.stop().await;
        let trail = env.ok(&["audit", "--user", "bob@acme.org", "--limit", "10000", "--json"]);
        let rows: Vec<Value> = serde_json::from_str(&trail).expect("audit json");
        assert!(rows.len() > 400, "Bob's calls were audited: {}", rows.len());
        assert!(!trail.contains(&ann_conn), "an audit row of Bob's names Ann's connection");
        assert!(!trail.contains("ann@acme.org"));
        assert_eq!(upstream_calls(&ann_fake), ann_upstream);
        eprintln!("tenant attack cases ({:?}): {cases}", env.engine);
        assert!(cases >= 250, "{cases}");
        env.finish().await;
    })
    .await;
}
