//! Resources, prompts and completion: reads through the tools' own calls, under the caller's
//! key, scope and toolsets.
use pm_core::{Page, Project, ProviderError, ProviderKind, SprintState, Task};
use rmcp::model::{
    ArgumentInfo, CompleteRequestParams, CompletionContext, ErrorCode, GetPromptRequestParams,
    ReadResourceRequestParams, Reference, ResourceContents,
};
use serde_json::{Value, json};

use super::harness::Harness;
use super::{page, project, sprint, task, user};
use crate::state::HttpConfig;

fn texts(contents: &[ResourceContents]) -> Vec<(String, String)> {
    contents
        .iter()
        .map(|c| match c {
            ResourceContents::TextResourceContents {
                mime_type, text, ..
            } => (mime_type.clone().unwrap_or_default(), text.clone()),
            other => panic!("not text: {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn a_task_reads_as_markdown_and_json_through_get_task() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let mut t = task("PROJ-1", "Fix login");
    t.assignee = Some(user("u-7", "Bob"));
    t.description = Some("It fails.".into());
    jira.answer("get_task", Ok(t));
    let client = h.session().client();

    let read = client
        .read_resource(ReadResourceRequestParams::new(
            "pm://acme-jira/tasks/PROJ-1",
        ))
        .await
        .expect("read");
    // This session negotiated 2025-11-25: no caching hints (2026-07-28's are checked by the
    // client matrix, e2e/clients.rs).
    assert_eq!((read.ttl_ms, read.cache_scope), (None, None));
    let parts = texts(&read.contents);
    assert_eq!(parts[0].0, "text/markdown");
    assert!(
        parts[0].1.starts_with("# PROJ-1: Fix login\n"),
        "{}",
        parts[0].1
    );
    assert!(parts[0].1.contains("- **Assignee:** Bob"), "{}", parts[0].1);
    assert_eq!(parts[1].0, "application/json");
    let json: Value = serde_json::from_str(&parts[1].1).expect("json");
    assert_eq!(json["task"]["id"], "acme-jira:PROJ-1");
    assert_eq!(jira.only_call("get_task"), json!({ "id": "PROJ-1" }));
    // Audited as the tool call it is.
    assert_eq!(h.last_audit().await.tool, "get_task");

    // What the tracker does not have is "resource not found"; a URI that is not ours too.
    jira.fail::<Task>(
        "get_task",
        ProviderError::NotFound {
            what: "Jira issue PROJ-9".into(),
        },
    );
    for uri in [
        "pm://acme-jira/tasks/PROJ-9",
        "pm://acme-jira/epics/1",
        "file:///etc/passwd",
    ] {
        let e = client
            .read_resource(ReadResourceRequestParams::new(uri))
            .await
            .expect_err(uri);
        let rmcp::service::ServiceError::McpError(e) = e else {
            panic!("{uri}: {e}");
        };
        assert_eq!(
            e.code,
            ErrorCode::RESOURCE_NOT_FOUND,
            "{uri}: {}",
            e.message
        );
    }
    // Another user's connection reads as one that does not exist.
    let e = client
        .read_resource(ReadResourceRequestParams::new(
            "pm://other-jira/tasks/PROJ-1",
        ))
        .await
        .expect_err("not mine");
    let rmcp::service::ServiceError::McpError(e) = e else {
        panic!("{e}");
    };
    assert_eq!(e.code, ErrorCode::RESOURCE_NOT_FOUND);
    assert!(
        e.message.contains("no connection \"other-jira\""),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn a_sprint_reads_with_its_tasks_unless_the_server_leaves_sprints_out() {
    // A server that names no toolsets: sprints are not among the default tools, yet a sprint
    // reads (the default narrowing keeps tools/list short; it is not a permission).
    let h = Harness::with_default_toolsets().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    jira.answer(
        "get_sprint",
        Ok(sprint("42", "Sprint 42", SprintState::Active)),
    );
    let refused = h
        .call("get_sprint_tasks", json!({ "sprint_id": "acme-jira:42" }))
        .await
        .tool_error();
    assert!(refused.contains("not in the default set"), "{refused}");
    jira.answer(
        "search_tasks",
        Ok(page(vec![task("PROJ-1", "Fix login")], None)),
    );
    let read = h
        .session()
        .client()
        .read_resource(ReadResourceRequestParams::new("pm://acme-jira/sprints/42"))
        .await
        .expect("read");
    let md = &texts(&read.contents)[0].1;
    assert!(md.starts_with("# Sprint: Sprint 42\n"), "{md}");
    assert!(md.contains("| PROJ-1 | Fix login |"), "{md}");

    let only_tasks = HttpConfig {
        toolsets: Some(vec!["tasks".into()]),
        ..HttpConfig::default()
    };
    let h = Harness::with(only_tasks).await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let e = h
        .session()
        .client()
        .read_resource(ReadResourceRequestParams::new("pm://acme-jira/sprints/42"))
        .await
        .expect_err("the server names its toolsets");
    assert!(e.to_string().contains("sprints toolset"), "{e}");
    assert!(jira.calls().is_empty());
}

#[tokio::test]
async fn resources_list_every_connections_projects_and_passes_over_a_failing_one() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let op = h.connect("team-op", ProviderKind::OpenProject).await;
    jira.answer(
        "list_projects",
        Ok(page(
            vec![project("PROJ", "Web"), project("OPS", "Operations")],
            None,
        )),
    );
    op.fail::<Page<Project>>(
        "list_projects",
        ProviderError::Timeout {
            provider: "OpenProject",
        },
    );
    let listed = h
        .session()
        .client()
        .list_resources(None)
        .await
        .expect("list");
    let uris: Vec<&str> = listed.resources.iter().map(|r| r.uri.as_str()).collect();
    // The MCP Apps' views first, then the projects.
    assert_eq!(
        uris,
        [
            "ui://pm-mcp/sprint-board",
            "ui://pm-mcp/burndown",
            "pm://acme-jira/projects/PROJ",
            "pm://acme-jira/projects/OPS"
        ]
    );
    assert_eq!(listed.resources[2].name, "acme-jira:PROJ");
    assert!(listed.next_cursor.is_none());
    assert_eq!(
        op.calls_to("list_projects").len(),
        1,
        "the failing one was asked"
    );
    let templates = h
        .session()
        .client()
        .list_resource_templates(None)
        .await
        .expect("templates");
    assert_eq!(templates.resource_templates.len(), 3);
    // 2025-11-25 here: no caching hints (2026-07-28's: the client matrix).
    assert_eq!((templates.ttl_ms, templates.cache_scope), (None, None));
    assert_eq!((listed.ttl_ms, listed.cache_scope), (None, None));
}

#[tokio::test]
async fn prompts_carry_my_tasks_and_link_their_resources() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    let mut recent = task("PROJ-2", "Recent work");
    recent.updated_at = Some(chrono::Utc::now());
    jira.answer("search_tasks", Ok(page(vec![recent], None)));
    let client = h.session().client();

    let standup = client
        .get_prompt(GetPromptRequestParams::new("standup"))
        .await
        .expect("standup");
    let text = serde_json::to_string(&standup.messages).expect("json");
    assert!(text.contains("acme-jira:PROJ-2 Recent work"), "{text}");
    assert_eq!(
        jira.only_call("search_tasks")["assignee"],
        "me",
        "the stand-up reads the caller's own tasks"
    );

    let mut args = serde_json::Map::new();
    args.insert("sprint_id".into(), json!("acme-jira:42"));
    let review = client
        .get_prompt(GetPromptRequestParams::new("sprint_review").with_arguments(args))
        .await
        .expect("review");
    let text = serde_json::to_string(&review.messages).expect("json");
    assert!(
        text.contains("sprint_report (sprint_id acme-jira:42)"),
        "{text}"
    );
    assert!(text.contains("pm://acme-jira/sprints/42"), "{text}");
    let e = client
        .get_prompt(GetPromptRequestParams::new("sprint_review"))
        .await
        .expect_err("needs a sprint");
    assert!(e.to_string().contains("needs sprint_id"), "{e}");
}

#[tokio::test]
async fn completion_offers_my_connections_projects_and_sprints() {
    let h = Harness::new().await;
    let jira = h.connect("acme-jira", ProviderKind::JiraCloud).await;
    h.connect("team-op", ProviderKind::OpenProject).await;
    jira.answer(
        "list_projects",
        Ok(page(
            vec![project("PROJ", "Web"), project("OPS", "Operations")],
            None,
        )),
    );
    jira.answer(
        "list_sprints",
        Ok(page(
            vec![
                sprint("41", "Sprint 41", SprintState::Closed),
                sprint("42", "Sprint 42", SprintState::Active),
            ],
            None,
        )),
    );
    let client = h.session().client();
    let complete = |r: Reference, name: &str, value: &str, ctx: &[(&str, &str)]| {
        let mut p = CompleteRequestParams::new(r, ArgumentInfo::new(name, value));
        if !ctx.is_empty() {
            p = p.with_context(CompletionContext::with_arguments(
                ctx.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ));
        }
        p
    };
    let template = |t: &str| Reference::for_resource(t);

    let c = client
        .complete(complete(
            template("pm://{connection}/projects/{project_id}"),
            "connection",
            "te",
            &[],
        ))
        .await
        .expect("connections");
    assert_eq!(c.completion.values, ["team-op"]);
    let c = client
        .complete(complete(
            template("pm://{connection}/projects/{project_id}"),
            "project_id",
            "op",
            &[("connection", "acme-jira")],
        ))
        .await
        .expect("projects");
    assert_eq!(c.completion.values, ["OPS"]);
    assert_eq!(jira.calls_to("list_projects").len(), 1);
    let c = client
        .complete(complete(
            Reference::for_prompt("sprint_review"),
            "sprint_id",
            "acme-jira:",
            &[],
        ))
        .await
        .expect("sprints");
    assert_eq!(c.completion.values, ["acme-jira:41", "acme-jira:42"]);
    let e = client
        .complete(complete(
            Reference::for_prompt("standup"),
            "sprint_id",
            "",
            &[],
        ))
        .await
        .expect_err("standup takes no sprint");
    assert!(e.to_string().contains("no completion"), "{e}");
}
