//! Issue 18: answers stay lean whatever the tracker holds. Against the fake OpenProject, ten tasks
//! with a typical Markdown description (about 2 KB) and one with a 1 MB description: every list and
//! search answer carries 300-character excerpts (flagged `description_cut`), `get_task` the whole
//! text up to its 200,000-character cap, and a write's answer is capped the same way. The sizes of
//! each answer are printed beside what the same answer weighed with whole descriptions (the
//! before of issue 18), and the caps are asserted.
use rmcp::model::ProtocolVersion;
use serde_json::{Value, json};

use crate::harness::*;

/// Bytes of a tool result as the client receives it (structured content and its text mirror).
fn weight(r: &rmcp::model::CallToolResult) -> usize {
    serde_json::to_string(r).map(|s| s.len()).unwrap_or(0)
}

#[tokio::test]
async fn answers_stay_lean_whatever_the_tracker_holds() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    let key = "op-sizes-apikey-0c0ffee";
    let url = pm_testkit::fake_openproject::spawn(pm_testkit::fake_openproject::Options::new(
        key,
        "/openproject",
        "13.4.1",
    ))
    .await
    .url;
    env.add_user("ann@acme.org");
    let ann_key = env.create_key("ann@acme.org", "read,write");
    let server = env.serve(LOCAL_UPSTREAM).await;
    let ann = server
        .client(&ann_key, ProtocolVersion::V_2025_11_25)
        .await
        .expect("ann");
    ok(
        &ann,
        "configure_pm_provider",
        json!({ "provider_type": "openproject", "base_url": url, "api_key": key, "name": "op" }),
    )
    .await;

    let typical: String = (1..=40)
        .map(|i| {
            format!("{i}. Check the **checkout** form for card type {i} and note what fails.\n")
        })
        .collect();
    let typical = format!("## Steps\n\n{typical}\n## Expected\n\nThe payment goes through.");
    assert!(typical.len() > 2_000, "{}", typical.len());
    let huge = "All work and no play makes a dull backlog. ".repeat(25_000);
    let mut whole: std::collections::HashMap<String, String> = Default::default();
    for i in 0..10 {
        let t = ok(&ann, "create_task", json!({ "project_id": "op:demo-project", "title": format!("Sizes task {i}"), "description": typical })).await;
        whole.insert(
            t["task"]["id"].as_str().unwrap_or_default().to_string(),
            typical.clone(),
        );
    }
    let big = call_with(
        &ann,
        "create_task",
        json!({ "project_id": "op:demo-project", "title": "Sizes huge", "description": huge }),
    )
    .await;
    assert_ne!(big.is_error, Some(true), "{}", text(&big));
    let big_out = big.structured_content.clone().unwrap_or_default();
    let big_id = big_out["task"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    whole.insert(big_id.clone(), huge.clone());
    // A write's answer is capped like get_task's.
    assert_eq!(
        big_out["description_cut"], true,
        "the write's answer is cut"
    );
    assert!(
        weight(&big) < 600_000,
        "create_task answered {} bytes",
        weight(&big)
    );

    // The whole text is readable through get_task, up to its cap.
    let one = call_with(&ann, "get_task", json!({ "task_id": big_id })).await;
    let got = one.structured_content.clone().unwrap_or_default();
    assert_eq!(got["description_cut"], true);
    let kept = got["task"]["description"].as_str().unwrap_or_default();
    assert!(
        kept.chars().count() <= 200_000 && kept.chars().count() > 199_000,
        "{}",
        kept.len()
    );
    assert!(huge.starts_with(kept.trim_end_matches('…')));
    let small_id = whole
        .iter()
        .find(|(_, d)| **d == typical)
        .map(|(id, _)| id.clone())
        .unwrap_or_default();
    let small = ok(&ann, "get_task", json!({ "task_id": small_id })).await;
    assert_eq!(
        small["task"]["description"],
        typical.as_str(),
        "get_task gives a typical text whole"
    );
    assert_eq!(small.get("description_cut"), None);

    let mut rows = Vec::new();
    for (tool, args, list) in [
        (
            "list_tasks",
            json!({ "project_id": "op:demo-project", "limit": 50 }),
            "tasks",
        ),
        (
            "list_tasks",
            json!({ "project_id": "op:demo-project", "limit": 5 }),
            "tasks",
        ),
        (
            "search_tasks",
            json!({ "project_id": "op:demo-project", "query": "Sizes" }),
            "tasks",
        ),
        (
            "list_unassigned_tasks",
            json!({ "project_id": "op:demo-project" }),
            "tasks",
        ),
        ("list_projects", json!({ "limit": 50 }), "projects"),
    ] {
        let r = call_with(&ann, tool, args.clone()).await;
        assert_ne!(r.is_error, Some(true), "{tool}: {}", text(&r));
        let out = r.structured_content.clone().unwrap_or_default();
        let items = out[list].as_array().cloned().unwrap_or_default();
        let mut before = out.clone();
        for (i, item) in items.iter().enumerate() {
            let d = item["description"].as_str().unwrap_or_default();
            assert!(
                d.chars().count() <= 300,
                "{tool}: a {}-character description in a list",
                d.chars().count()
            );
            if d.chars().count() == 300 || item["description_cut"] == true {
                assert_eq!(
                    item["description_cut"], true,
                    "{tool}: an excerpt is flagged"
                );
            }
            if let Some(full) = item["id"].as_str().and_then(|id| whole.get(id)) {
                before[list][i]["description"] = Value::from(full.clone());
            }
        }
        let after = weight(&r);
        // Before issue 18 the same answer carried whole descriptions, twice (text and structured).
        let structured = serde_json::to_string(&before).unwrap_or_default();
        let mirror = serde_json::to_string(&Value::from(structured.clone())).unwrap_or_default();
        let before = structured.len() + mirror.len();
        // The documented caps (docs/providers.md, "Answers stay small"): a list page at most 256 KiB at any limit; a
        // five-item page of typical tasks a few KB.
        assert!(after <= 256 * 1024, "{tool} {args}: {after} bytes");
        if args["limit"] == 5 {
            assert!(after <= 16 * 1024, "{tool} {args}: {after} bytes");
        }
        rows.push(format!(
            "{tool:<22} {:<55} {:>4} items {:>10} bytes (whole descriptions: {:>9})",
            args.to_string(),
            items.len(),
            after,
            before
        ));
    }
    eprintln!(
        "answer sizes (fake OpenProject, ten 2 KB descriptions and one of 1 MB):\n{}",
        rows.join("\n")
    );

    let _ = ann.cancel().await;
    server.stop().await;
    env.finish().await;
}
