//! Analytics through the real binary against the fake Jira, whose Sprint 7 has a seeded history
//! (six items planned before its start three weeks ago, EX-6 added two days in, EX-4 re-estimated
//! from 1 to 5 points, work started on day 1, EX-2 and EX-5 done on days 5 and 4): the numbers
//! come from that history, and the chart tools carry an 800×450 PNG that draws them (decoded:
//! series colours present, as an empty chart has none).
use base64::Engine as _;
use serde_json::{Value, json};

use crate::harness::*;

/// The PNG image blocks of a result, decoded.
fn images(r: &rmcp::model::CallToolResult) -> Vec<Vec<u8>> {
    r.content
        .iter()
        .filter_map(|c| c.as_image())
        .map(|i| {
            assert_eq!(i.mime_type, "image/png");
            base64::engine::general_purpose::STANDARD
                .decode(&i.data)
                .expect("base64")
        })
        .collect()
}

/// The chart's series palette (pm-charts' colours).
const SERIES: [[u8; 3]; 7] = [
    [31, 119, 180],
    [44, 160, 44],
    [255, 127, 14],
    [148, 103, 189],
    [102, 189, 99],
    [253, 174, 97],
    [189, 201, 225],
];
/// What a chart shows, decoded: drawn pixels, distinct colours and pixels of series colours. An
/// empty ("No data") chart draws no series colour at all (pm-charts' own tests), so a chart of
/// real numbers is told from it by its series.
fn drawn(png_bytes: &[u8]) -> (usize, usize, usize) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("PNG frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let px: Vec<[u8; 3]> = buf[..info.buffer_size()]
        .chunks_exact(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    let ink = px.iter().filter(|p| p.iter().any(|&v| v < 230)).count();
    let colours = px.iter().collect::<std::collections::HashSet<_>>().len();
    let series = px.iter().filter(|p| SERIES.contains(p)).count();
    (ink, colours, series)
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&png[12..16], b"IHDR");
    let n = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (n(&png[16..20]), n(&png[20..24]))
}

#[tokio::test]
async fn analytics_from_history_with_charts() {
    on_each_engine(|env| async move {
        let Some(App { env, server, client: ann, .. }) = App::connected(env, Tracker::Jira).await else {
            return;
        };

        // Burndown: structured numbers and a PNG.
        let r = call_with(&ann, "burndown_chart", json!({ "sprint_id": "acme-jira:7" })).await;
        assert_ne!(r.is_error, Some(true), "{}", text(&r));
        let pngs = images(&r);
        assert_eq!(pngs.len(), 1);
        assert_eq!(png_size(&pngs[0]), (800, 450));
        let (ink, _, series) = drawn(&pngs[0]);
        assert!(ink > 5_000 && series > 200, "burndown: {ink} drawn, {series} series pixels");
        let b = r.structured_content.clone().expect("structured");
        assert_eq!(b["sprint_id"], "acme-jira:7");
        let changes = b["scope_changes"].as_array().expect("changes");
        assert!(changes.iter().any(|c| c["item_id"] == "acme-jira:EX-6" && c["change"] == "added"), "{changes:?}");
        assert!(changes.iter().any(|c| c["item_id"] == "acme-jira:EX-4" && c["change"] == "re_estimated"), "{changes:?}");
        assert!(b["assumptions"].as_array().is_some_and(|a| !a.is_empty()));
        // The same numbers as text, for clients that read only text.
        let as_text: Value = serde_json::from_str(&text(&r)).expect("text is the JSON");
        assert_eq!(as_text, b);
        // Without the chart: the numbers alone.
        let bare = call_with(&ann, "burndown_chart", json!({ "sprint_id": "acme-jira:7", "chart": false, "metric": "task_count" })).await;
        assert!(images(&bare).is_empty());
        assert_eq!(bare.structured_content.expect("numbers")["metric"], "task_count");

        // Sprint report: six planned at the start (EX-7 among them, taken out on day 2, which
        // `sprint = 7` no longer finds), EX-6 added after it; done by category.
        let report = ok(&ann, "sprint_report", json!({ "sprint_id": "acme-jira:7", "metric": "task_count" })).await;
        assert_eq!(report["planned"].as_array().map(Vec::len), Some(6), "{report}");
        let added: Vec<&str> = report["added_after_start"].as_array().expect("added").iter().filter_map(|i| i["id"].as_str()).collect();
        assert_eq!(added, ["acme-jira:EX-6"]);
        let removed: Vec<&str> = report["removed_after_start"].as_array().expect("removed").iter().filter_map(|i| i["id"].as_str()).collect();
        assert_eq!(removed, ["acme-jira:EX-7"]);
        let done: Vec<&str> = report["completed"].as_array().expect("completed").iter().filter_map(|i| i["id"].as_str()).collect();
        assert_eq!(done.len(), 2, "{report}");
        assert!(done.contains(&"acme-jira:EX-2") && done.contains(&"acme-jira:EX-5"), "{done:?}");

        // The project-window tools.
        for (tool, args) in [
            ("cfd_chart", json!({ "project_id": "acme-jira:EX", "days": 30 })),
            ("cycle_time_chart", json!({ "project_id": "acme-jira:EX", "days": 60 })),
            ("issue_trend_chart", json!({ "project_id": "acme-jira:EX" })),
            ("work_distribution_chart", json!({ "sprint_id": "acme-jira:7", "by": "status" })),
            ("capacity_chart", json!({ "project_id": "acme-jira:EX", "weeks": 2, "capacity": { "acme-jira:5b10a2844c20165700ede21g": 20 } })),
            ("velocity_chart", json!({ "project_id": "acme-jira:EX", "sprints": 3 })),
        ] {
            let r = call_with(&ann, tool, args.clone()).await;
            assert_ne!(r.is_error, Some(true), "{tool}: {}", text(&r));
            assert_eq!(images(&r).len(), 1, "{tool} has no chart");
            assert_eq!(png_size(&images(&r)[0]), (800, 450), "{tool}");
            // The picture shows the numbers: series drawn, not the empty chart's note.
            let (ink, colours, series) = drawn(&images(&r)[0]);
            assert!(ink > 5_000 && colours >= 20, "{tool}: {ink} drawn pixels, {colours} colours");
            assert!(series > 50, "{tool}: only {series} pixels of series colours (an empty chart?)");
            assert!(r.structured_content.is_some(), "{tool}");
        }
        // The windows that count back from now hold the seeded history (three weeks ago), with
        // the counts it implies: EX-1..12 created before the window, a third each to do, in
        // progress and done (started on day 1, done on days 3 to 5).
        let cfd = ok(&ann, "cfd_chart", json!({ "project_id": "acme-jira:EX", "days": 30, "chart": false })).await;
        let last = cfd["days"].as_array().and_then(|d| d.last()).cloned().unwrap_or_default();
        assert_eq!((last["todo"].as_u64(), last["in_progress"].as_u64(), last["done"].as_u64()), (Some(4), Some(4), Some(4)), "{cfd}");
        let first = cfd["days"][0].clone();
        assert_eq!(first["done"].as_u64(), Some(0), "nothing was done 30 days ago: {first}");
        let trend = ok(&ann, "issue_trend_chart", json!({ "project_id": "acme-jira:EX", "days": 30, "chart": false })).await;
        assert_eq!(trend["total_resolved"].as_u64(), Some(4), "{trend}");
        let cycle = ok(&ann, "cycle_time_chart", json!({ "project_id": "acme-jira:EX", "days": 30, "chart": false })).await;
        assert_eq!(cycle["items"].as_array().map(Vec::len), Some(4), "{cycle}");
        let dist = ok(&ann, "work_distribution_chart", json!({ "sprint_id": "acme-jira:7", "by": "status", "chart": false })).await;
        assert_eq!(dist["total_count"], 6);
        let cap = ok(&ann, "capacity_chart", json!({ "project_id": "acme-jira:EX", "weeks": 2, "chart": false, "capacity": { "acme-jira:5b10a2844c20165700ede21g": 20 } })).await;
        assert!(cap["people"].as_array().is_some_and(|p| p.iter().any(|x| x["id"] == "acme-jira:5b10a2844c20165700ede21g" && x["hours_per_week"] == 20.0)), "{cap}");
        let health = ok(&ann, "project_health", json!({ "project_id": "acme-jira:EX" })).await;
        assert_eq!(health["total_items"].as_u64().map(|n| n >= 6), Some(true), "{health}");

        // Bad input in plain words.
        // Both ids (the reference server's call): the project's sprint; of two connections, refused.
        let both = ok(&ann, "work_distribution_chart", json!({ "sprint_id": "7", "project_id": "acme-jira:EX", "chart": false })).await;
        assert_eq!(both["total_count"], 6, "{both}");
        let neither = call_with(&ann, "work_distribution_chart", json!({})).await;
        assert!(text(&neither).contains("give sprint_id"), "{}", text(&neither));
        let long = call_with(&ann, "cfd_chart", json!({ "project_id": "acme-jira:EX", "days": 9999 })).await;
        assert!(text(&long).contains("between 1 and 365"), "{}", text(&long));
        // A metric that does not exist is refused before anything runs, naming the argument.
        let params = rmcp::model::CallToolRequestParams::new("burndown_chart")
            .with_arguments(json!({ "sprint_id": "acme-jira:7", "metric": "bananas" }).as_object().cloned().unwrap_or_default());
        let refused = ann.call_tool(params).await.expect_err("refused");
        assert!(refused.to_string().contains("metric"), "{refused}");

        let _ = ann.cancel().await;
        server.stop().await;
        env.finish().await;
    })
    .await;
}
