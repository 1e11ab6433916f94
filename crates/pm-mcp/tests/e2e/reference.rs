//! Moving from the reference PM MCP server: its database (built here from the columns its schema
//! has, seeded with every shape a real one holds) is imported, and its clients then work
//! unchanged — the same `mcp_` keys, over legacy SSE (a new connection per call, as its agent
//! backend does) and Streamable HTTP, with its ids (`<connection uuid>:<native id>`) and its
//! parameter names, against the tracker fakes.
use rmcp::model::ProtocolVersion;
use serde_json::{Value, json};

use crate::harness::*;
use crate::hygiene::Events;

/// The reference server's three tables, as its `database/mcp_server_schema.sql` defines them.
const REFERENCE_SCHEMA: &str = r#"
CREATE TABLE users (
    id UUID PRIMARY KEY,
    email VARCHAR(255) UNIQUE NOT NULL,
    name VARCHAR(255) NOT NULL,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE user_mcp_api_keys (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    api_key VARCHAR(255) NOT NULL UNIQUE,
    name VARCHAR(255),
    last_used_at TIMESTAMP,
    expires_at TIMESTAMP,
    is_active BOOLEAN DEFAULT TRUE,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE pm_provider_connections (
    id UUID PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    provider_type VARCHAR(50) NOT NULL,
    base_url VARCHAR(500) NOT NULL,
    api_key VARCHAR(500),
    api_token VARCHAR(500),
    username VARCHAR(255),
    organization_id VARCHAR(255),
    project_key VARCHAR(255),
    workspace_id VARCHAR(255),
    additional_config JSONB,
    is_active BOOLEAN DEFAULT true,
    created_by UUID REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_sync_at TIMESTAMP
);
CREATE INDEX idx_user_mcp_api_keys_user_id ON user_mcp_api_keys(user_id);
CREATE INDEX idx_user_mcp_api_keys_api_key ON user_mcp_api_keys(api_key);
CREATE INDEX idx_pm_provider_connections_created_by ON pm_provider_connections(created_by);
"#;

const ANN: &str = "11111111-1111-4111-8111-111111111111";
const BOB: &str = "22222222-2222-4222-8222-222222222222";
const CY_UPPER: &str = "33333333-3333-4333-8333-333333333333";
const CY_LOWER: &str = "44444444-4444-4444-8444-444444444444";
const SYSTEM: &str = "55555555-5555-4555-8555-555555555555";
/// Ann's Jira (on a host that is not Atlassian's: Data Center).
const ANN_JIRA: &str = "a1a1a1a1-0000-4000-8000-000000000001";
const ANN_OP: &str = "a1a1a1a1-0000-4000-8000-000000000002";
const ANN_OLD: &str = "a1a1a1a1-0000-4000-8000-000000000003";
const BOB_CU: &str = "b2b2b2b2-0000-4000-8000-000000000001";
const SHARED_OP: &str = "c3c3c3c3-0000-4000-8000-000000000001";
const TRELLO: &str = "c3c3c3c3-0000-4000-8000-000000000002";

fn hex(seed: u8) -> String {
    format!("{seed:02x}").repeat(32)
}

/// A reference database on the test PostgreSQL server; dropped by `drop_reference`.
async fn reference_db(admin_url: &str) -> (String, String) {
    let name = format!("ref_mcp_server_{}", uuid::Uuid::new_v4().simple());
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(admin_url)
        .await
        .expect("pg");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create");
    let mut url = url::Url::parse(admin_url).expect("url");
    url.set_path(&format!("/{name}"));
    (url.to_string(), name)
}

async fn drop_reference(admin_url: &str, name: &str) {
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(admin_url)
        .await
        .expect("pg");
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("drop");
}

struct Seeded {
    ann_key: String,
    bob_key_bare: String,
    system_key: String,
    expired_key: String,
    revoked_key: String,
    tokens: Vec<String>,
}

async fn seed(url: &str, jira: &str, op: &str, cu: &str, team_op: &str) -> Seeded {
    let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(url)
        .await
        .expect("pg");
    sqlx::raw_sql(REFERENCE_SCHEMA)
        .execute(&mut c)
        .await
        .expect("schema");
    let users = format!(
        "INSERT INTO users (id, email, name) VALUES
         ('{ANN}', 'ann@acme.org', 'Ann Archer'),
         ('{BOB}', 'Bob@Acme.org', 'Bob Baker'),
         ('{CY_UPPER}', 'Cy@acme.org', 'Cy One'),
         ('{CY_LOWER}', 'cy@acme.org', 'Cy Two'),
         ('{SYSTEM}', 'system@agent.local', 'Agent backend')"
    );
    sqlx::raw_sql(&users).execute(&mut c).await.expect("users");
    let s = Seeded {
        ann_key: format!("mcp_{}", hex(0xa1)),
        bob_key_bare: hex(0xb2),
        system_key: format!("mcp_{}", hex(0x5e)),
        expired_key: format!("mcp_{}", hex(0xe0)),
        revoked_key: format!("mcp_{}", hex(0xde)),
        tokens: vec![
            "ATATT-ref-jira-token-7781".into(),
            "op-ref-apikey-5521".into(),
            "pk_ref_clickup_9932".into(),
            "op-ref-shared-4410".into(),
        ],
    };
    let keys = format!(
        "INSERT INTO user_mcp_api_keys (id, user_id, api_key, name, last_used_at, expires_at, is_active) VALUES
         ('{}', '{ANN}', '{}', 'Cursor', now() - interval '2 days', NULL, TRUE),
         ('{}', '{BOB}', '{}', 'VS Code', NULL, now() + interval '300 days', TRUE),
         ('{}', '{SYSTEM}', '{}', 'backend', now() - interval '1 hour', NULL, TRUE),
         ('{}', '{ANN}', '{}', 'old laptop', NULL, now() - interval '1 day', TRUE),
         ('{}', '{ANN}', '{}', 'revoked', NULL, NULL, FALSE),
         ('{}', '{CY_UPPER}', 'mcp_{}', 'cy', NULL, NULL, TRUE)",
        uuid::Uuid::new_v4(), s.ann_key,
        uuid::Uuid::new_v4(), s.bob_key_bare,
        uuid::Uuid::new_v4(), s.system_key,
        uuid::Uuid::new_v4(), s.expired_key,
        uuid::Uuid::new_v4(), s.revoked_key,
        uuid::Uuid::new_v4(), hex(0xc1),
    );
    sqlx::raw_sql(&keys).execute(&mut c).await.expect("keys");
    let conns = format!(
        "INSERT INTO pm_provider_connections (id, name, provider_type, base_url, api_key, api_token, username, organization_id, project_key, workspace_id, additional_config, is_active, created_by) VALUES
         ('{ANN_JIRA}', 'My JIRA', 'jira', '{jira}/', NULL, '{}', 'mia@example.com', NULL, 'EX', NULL, '{{\"backend_provider_id\": \"be-17\", \"board\": 7}}', TRUE, '{ANN}'),
         ('{ANN_OP}', 'OpenProject (v13)', 'openproject_v13', '{op}', '{}', NULL, NULL, NULL, NULL, NULL, NULL, TRUE, '{ANN}'),
         ('{ANN_OLD}', 'My JIRA', 'jira', '{jira}', NULL, 'ATATT-old-token-0001', 'mia@example.com', NULL, NULL, NULL, NULL, FALSE, '{ANN}'),
         ('{BOB_CU}', 'ClickUp', 'clickup', '{cu}', '{}', NULL, NULL, '{}', NULL, NULL, NULL, TRUE, '{BOB}'),
         ('{SHARED_OP}', 'Team OpenProject', 'openproject_v16', '{team_op}', '{}', NULL, NULL, NULL, NULL, NULL, '{{}}', TRUE, NULL),
         ('{TRELLO}', 'Trello', 'trello', 'https://trello.example', 'x', NULL, NULL, NULL, NULL, NULL, NULL, TRUE, '{ANN}')",
        s.tokens[0], s.tokens[1], s.tokens[2], pm_testkit::fake_clickup::TEAM, s.tokens[3],
    );
    sqlx::raw_sql(&conns)
        .execute(&mut c)
        .await
        .expect("connections");
    s
}

/// Everything in the reference database, to show the import changed nothing there.
async fn fingerprint(url: &str) -> String {
    let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(url)
        .await
        .expect("pg");
    let mut all = String::new();
    for table in ["users", "user_mcp_api_keys", "pm_provider_connections"] {
        let rows: Vec<(Value,)> =
            sqlx::query_as(&format!("SELECT to_jsonb(t) FROM {table} t ORDER BY id"))
                .fetch_all(&mut c)
                .await
                .expect("read");
        for (row,) in rows {
            all.push_str(&row.to_string());
        }
    }
    all
}

/// One tool call the way the reference's agent backend makes it: a new `/sse` connection, the
/// key in `X-MCP-API-Key`, initialize, then the call. Returns the JSON-RPC reply.
async fn sse_call(base: &str, key: &str, tool: &str, args: Value) -> Value {
    let http = reqwest::Client::new();
    let res = http
        .get(format!("{base}/sse"))
        .header("x-mcp-api-key", key)
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("GET /sse");
    assert_eq!(
        res.status(),
        200,
        "GET /sse with {}…",
        &key[..8.min(key.len())]
    );
    let mut events = Events::new(res);
    let (event, endpoint) = events.next().await;
    assert_eq!(event, "endpoint");
    let messages = format!("{base}{endpoint}");
    let post = |body: Value| {
        http.post(&messages)
            .header("x-mcp-api-key", key)
            .json(&body)
            .send()
    };
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"agent-backend","version":"1"}}});
    assert_eq!(post(init).await.expect("post").status(), 202);
    let _ = events.next().await;
    post(json!({"jsonrpc":"2.0","method":"notifications/initialized"}))
        .await
        .expect("post");
    post(json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name": tool, "arguments": args}}))
        .await
        .expect("post");
    let (_, reply) = events.next().await;
    serde_json::from_str(&reply).expect("json reply")
}

/// The tools the reference's agent prompts name, called through langchain-mcp-adapters the way
/// its backend does (`tests/clients/langchain_backend.py`), with the system key on the ownerless
/// OpenProject connection the import gave its user: every answer is JSON with the top-level keys
/// the backend reads.
async fn backend_agent_calls(base: &str, key: &str) {
    let Some(dir) = std::env::var_os("PM_MCP_CLIENTS_DIR").map(std::path::PathBuf::from) else {
        pm_testkit::skip(
            "the langchain-mcp-adapters half (scripts/test runs it)",
            "PM_MCP_CLIENTS_DIR is not set",
        );
        return;
    };
    let dir = std::fs::canonicalize(&dir).expect("clients dir");
    let project = format!("{SHARED_OP}:{}", pm_testkit::fake_openproject::DEMO_PROJECT);
    let calls = json!([
        { "tool": "list_projects", "args": {} },
        { "tool": "get_project", "args": { "project_id": project } },
        { "tool": "list_tasks", "args": { "project_id": project } },
        { "tool": "list_sprints", "args": { "project_id": project, "status": "active" } },
        { "tool": "list_users", "args": {} },
        { "tool": "list_my_tasks", "args": {} },
        { "tool": "project_health", "args": { "project_id": project } },
        { "tool": "work_distribution_chart", "args": { "project_id": project, "dimension": "status" } },
    ]);
    let cfg = tempfile::NamedTempFile::new().expect("cfg");
    std::fs::write(
        cfg.path(),
        json!({ "url": format!("{base}/sse"), "key": key, "calls": calls }).to_string(),
    )
    .expect("write");
    let out = tokio::process::Command::new(dir.join("venv-langchain/bin/python"))
        .arg(dir.join("langchain_backend.py"))
        .arg(cfg.path())
        .output()
        .await
        .expect("run langchain_backend.py");
    assert!(
        out.status.success(),
        "langchain_backend.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert!(
        report["tools"].as_u64().is_some_and(|n| n >= 50),
        "{report}"
    );
    let wanted = [
        "projects", "project", "tasks", "sprints", "users", "tasks", "", "",
    ];
    for (call, key) in report["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .zip(wanted)
    {
        assert_eq!(call["ok"], true, "{call}");
        let answer: Value = serde_json::from_str(call["text"].as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{} answered no JSON ({e}): {call}", call["tool"]));
        if !key.is_empty() {
            assert!(
                answer.get(key).is_some(),
                "{} has no top-level {key}: {answer}",
                call["tool"]
            );
        }
    }
}

/// The backend's five sync calls with its bodies, with the imported system key (which the import
/// gave the sync permission): the connection it pushes is the system user's, found by the
/// backend's id.
async fn backend_sync_calls(base: &str, key: &str, jira: &str) {
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut req = http
            .request(method, format!("{base}{path}"))
            .header("x-mcp-api-key", key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let res = req.send().await.expect("send");
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let provider = json!({
        "backend_provider_id": "be-900", "name": "Backend Jira", "provider_type": "jira",
        "base_url": jira, "api_token": "ATATT-ref-jira-token-7781", "username": "mia@example.com",
        "project_key": "EX", "is_active": true, "test_connection": true,
    });
    let (status, created) = call(
        reqwest::Method::POST,
        "/providers/sync".into(),
        Some(provider.clone()),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        (created["success"].clone(), created["action"].clone()),
        (json!(true), json!("created")),
        "{created}"
    );
    assert_eq!(created["connection_tested"], true, "{created}");
    assert_eq!(created["connection_healthy"], true, "{created}");
    let mcp_id = created["mcp_provider_id"]
        .as_str()
        .expect("mcp_provider_id")
        .to_string();
    // The backend's id works as a provider_id, and as an id prefix.
    let reply = sse_call(
        base,
        key,
        "get_project",
        json!({ "project_id": "be-900:EX" }),
    )
    .await;
    assert_eq!(structured(&reply)["project"]["name"], "Example", "{reply}");
    let (status, again) = call(
        reqwest::Method::POST,
        "/providers/sync".into(),
        Some(provider.clone()),
    )
    .await;
    assert_eq!(
        (
            status,
            again["action"].clone(),
            again["mcp_provider_id"].clone()
        ),
        (200, json!("updated"), json!(mcp_id)),
        "{again}"
    );
    let (status, bulk) = call(
        reqwest::Method::POST,
        "/providers/sync/bulk".into(),
        Some(json!({ "providers": [provider], "delete_missing": true })),
    )
    .await;
    assert_eq!(status, 200, "{bulk}");
    assert_eq!(
        (
            bulk["total"].clone(),
            bulk["synced"].clone(),
            bulk["failed"].clone()
        ),
        (json!(1), json!(1), json!(0)),
        "{bulk}"
    );
    let (status, listed) = call(reqwest::Method::GET, "/providers/sync/status".into(), None).await;
    assert_eq!(status, 200, "{listed}");
    let mine = listed["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .find(|p| p["backend_provider_id"] == "be-900")
        .cloned()
        .expect("listed");
    assert_eq!(
        (mine["synced"].clone(), mine["has_api_token"].clone()),
        (json!(true), json!(true)),
        "{mine}"
    );
    assert!(
        !listed.to_string().contains("ATATT-ref-jira-token-7781"),
        "the status never shows a token"
    );
    let (status, tested) = call(
        reqwest::Method::POST,
        format!("/providers/sync/test/{mcp_id}"),
        None,
    )
    .await;
    assert_eq!(
        (status, tested["connection_healthy"].clone()),
        (200, json!(true)),
        "{tested}"
    );
    let (status, gone) = call(
        reqwest::Method::DELETE,
        "/providers/sync".into(),
        Some(json!({ "backend_provider_id": "be-900", "hard_delete": false })),
    )
    .await;
    assert_eq!(
        (status, gone["action"].clone()),
        (200, json!("deactivated")),
        "{gone}"
    );
}

fn structured(reply: &Value) -> &Value {
    assert!(reply.get("error").is_none(), "{reply}");
    assert_ne!(reply["result"]["isError"], true, "{reply}");
    &reply["result"]["structuredContent"]
}

#[tokio::test]
async fn a_reference_database_is_imported_and_its_clients_work_unchanged() {
    let Ok(admin_url) = std::env::var("PM_MCP_TEST_DATABASE_URL") else {
        pm_testkit::skip(
            "the reference import test",
            "PM_MCP_TEST_DATABASE_URL is not set (the reference database is PostgreSQL)",
        );
        return;
    };
    on_each_engine(|env| {
        let admin_url = admin_url.clone();
        async move {
            let Some(_jira_fake) = pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::dc(&pm_testkit::fake_jira::basic("mia@example.com", "ATATT-ref-jira-token-7781"))).await else {
        return;
    };
    let jira = _jira_fake.url.clone();
            let _op_fake = pm_testkit::fake_openproject::spawn(pm_testkit::fake_openproject::Options::new("op-ref-apikey-5521", "", "13.4.1")).await;
            let op = _op_fake.url.clone();
            let Some(_cu_fake) = pm_testkit::fake_clickup::spawn(pm_testkit::fake_clickup::Options::token("pk_ref_clickup_9932")).await else {
        return;
    };
            let cu = _cu_fake.url.clone();
            let _team_op_fake = pm_testkit::fake_openproject::spawn(pm_testkit::fake_openproject::Options::new("op-ref-shared-4410", "", "16.0.0")).await;
            let team_op = _team_op_fake.url.clone();
            let (ref_url, ref_name) = reference_db(&admin_url).await;
            let s = seed(&ref_url, &jira, &op, &cu, &team_op).await;
            let seeded_tokens = s.tokens.clone();
            // Ann is already a pm-mcp user (her e-mail in another case): her rows join her.
            env.add_user("ANN@acme.org");
            let before = fingerprint(&ref_url).await;

            // A dry run says what would happen and writes nothing.
            let dry = env.ok(&["import", "--from", &ref_url, "--dry-run", "--ownerless-to", "system@agent.local"]);
            assert!(dry.contains("Dry run"), "{dry}");
            assert!(dry.contains("users:        2 to import, 1 already there, 2 skipped"), "{dry}");
            assert!(!dry.contains(&s.ann_key) && !dry.contains(&s.bob_key_bare), "the import never prints a key");
            assert_eq!(env.count("SELECT COUNT(*) FROM users").await, 1);
            assert_eq!(env.count("SELECT COUNT(*) FROM user_mcp_api_keys").await, 0);

            let out = env.ok(&[
                "import", "--from", &ref_url, "--ownerless-to", "system@agent.local",
                "--grant-sync-to", "system@agent.local", "--expire-imported", "30d",
            ]);
            assert!(out.contains("users:        2 imported, 1 already there, 2 skipped (2 e-mail clashes"), "{out}");
            assert!(out.contains("API keys:     3 imported, 0 already there, 3 skipped (1 expired; 1 inactive (revoked in the reference); 1 owner not imported)"), "{out}");
            assert!(out.contains("connections:  5 imported, 0 already there, 1 skipped (1 unknown provider type \"trello\")"), "{out}");
            assert!(out.contains("Cy@acme.org, cy@acme.org differ only in case"), "{out}");
            assert!(out.contains("is named my-jira-2 here"), "{out}");
            for secret in [&s.ann_key, &s.bob_key_bare, &s.system_key] {
                assert!(!out.contains(secret.as_str()), "the import never prints a key");
            }
            // A second run changes nothing, and the source never changes.
            let again = env.ok(&["import", "--from", &ref_url, "--ownerless-to", "system@agent.local"]);
            assert!(again.contains("users:        0 imported, 3 already there"), "{again}");
            assert!(again.contains("API keys:     0 imported, 3 already there"), "{again}");
            assert!(again.contains("connections:  0 imported, 5 already there"), "{again}");
            assert_eq!(fingerprint(&ref_url).await, before, "the reference database was changed");

            // Imported keys are listed as imported, with their names, last use and the new end date.
            let keys = env.ok(&["key", "list", "--user", "ann@acme.org", "--json"]);
            let keys: Value = serde_json::from_str(&keys).expect("json");
            let cursor = keys.as_array().and_then(|a| a.iter().find(|k| k["name"] == "Cursor")).expect("Cursor key");
            assert!(cursor["imported_at"].is_string(), "{cursor}");
            assert!(cursor["last_used_at"].is_string(), "{cursor}");
            assert!(cursor["expires_at"].is_string(), "--expire-imported sets an end date: {cursor}");
            assert_eq!(cursor["key_prefix"], format!("mcp_{}", &hex(0xa1)[..8]));

            let server = env.serve(LOCAL_UPSTREAM).await;
            // Ann's old key over Streamable HTTP, with the reference's ids and names.
            let ann = server.client(&s.ann_key, ProtocolVersion::V_2025_11_25).await.expect("ann's imported key");
            let providers = call_ok(&ann, "list_providers").await;
            let names: Vec<&str> = providers["connections"].as_array().expect("list").iter().filter_map(|c| c["name"].as_str()).collect();
            assert!(names.contains(&"my-jira") && names.contains(&"openproject-v13"), "{providers}");
            let project = ok(&ann, "get_project", json!({ "project_id": format!("{ANN_JIRA}:EX") })).await;
            assert_eq!(project["project"]["id"], "my-jira:EX", "{project}");
            let task = ok(&ann, "get_task", json!({ "task_id": "EX-1", "project_id": format!("{ANN_JIRA}:EX") })).await;
            assert_eq!(task["task"]["id"], "my-jira:EX-1", "{task}");
            let epic = ok(&ann, "create_epic", json!({ "project_id": format!("{ANN_JIRA}:EX"), "name": "Imported epic" })).await;
            assert_eq!(epic["epic"]["title"], "Imported epic", "{epic}");
            // Another user's connection id answers exactly like an unknown one.
            let foreign = call_with(&ann, "get_project", json!({ "project_id": format!("{BOB_CU}:{}", "90000") })).await;
            let unknown = call_with(&ann, "get_project", json!({ "project_id": "0badc0de-0000-4000-8000-000000000000:90000" })).await;
            assert_eq!(foreign.is_error, Some(true));
            assert_eq!(text(&foreign).replace(BOB_CU, "X"), text(&unknown).replace("0badc0de-0000-4000-8000-000000000000", "X"));

            // Bob's key, stored without its prefix, works in both spellings over legacy SSE.
            for key in [s.bob_key_bare.clone(), format!("mcp_{}", s.bob_key_bare)] {
                let reply = sse_call(&server.base, &key, "list_providers", json!({})).await;
                let conns = &structured(&reply)["connections"];
                assert_eq!(conns[0]["name"], "clickup", "{reply}");
                assert_eq!(conns[0]["id"], BOB_CU, "the reference's connection id is kept: {reply}");
            }
            // The backend's system key (a new /sse connection per call) has the ownerless one.
            let reply = sse_call(&server.base, &s.system_key, "list_projects", json!({ "provider_id": SHARED_OP })).await;
            assert!(structured(&reply)["projects"].as_array().is_some_and(|p| !p.is_empty()), "{reply}");
            // The backend's own client: langchain-mcp-adapters over SSE, a new session per call.
            backend_agent_calls(&server.base, &s.system_key).await;
            backend_sync_calls(&server.base, &s.system_key, &jira).await;
            // Over stdio too: Bob's key in the other spelling as PM_MCP_API_KEY.
            {
                use rmcp::ServiceExt;
                let (transport, _stderr) = rmcp::transport::TokioChildProcess::builder(
                    env.stdio_command(Some(&format!("mcp_{}", s.bob_key_bare))),
                )
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("spawn stdio");
                let client = client_config(ProtocolVersion::V_2025_11_25).serve(transport).await.expect("stdio with an imported key");
                let me = call_ok(&client, "get_current_user").await;
                assert_eq!(me["user"]["email"], "bob@acme.org", "{me}");
                client.cancel().await.expect("close");
            }
            // Expired and revoked keys are refused like any unknown key.
            let http = reqwest::Client::new();
            for key in [&s.expired_key, &s.revoked_key] {
                let res = http.get(format!("{}/sse", server.base)).header("x-mcp-api-key", key.as_str()).send().await.expect("get");
                assert_eq!(res.status(), 401);
            }
            server.stop().await;

            // No old key or tracker token is in the database in plain text.
            let raw = env.raw_database();
            let raw = String::from_utf8_lossy(&raw);
            for secret in [s.ann_key.as_str(), s.bob_key_bare.as_str(), s.system_key.as_str()]
                .into_iter()
                .chain(seeded_tokens.iter().map(String::as_str))
            {
                assert!(!raw.contains(secret), "a secret is stored in plain text");
            }
            drop_reference(&admin_url, &ref_name).await;
            env.finish().await;
        }
    })
    .await;
}

/// A reference tool's name and its parameters (name, required).
type ReferenceTool = (String, Vec<(String, bool)>);

/// The reference server's tools and their parameters, read from its tool list (`TOOLS.md`, next
/// to the checkout in `../shared/reference`, or where `PM_MCP_REFERENCE_DIR` says): every
/// registered tool but the meeting tools, which pm-mcp does not have.
fn reference_tools() -> Option<Vec<ReferenceTool>> {
    let dir = std::env::var("PM_MCP_REFERENCE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference")
        });
    let text = std::fs::read_to_string(dir.join("TOOLS.md")).ok()?;
    let registered = text
        .split("## Registered tools")
        .nth(1)?
        .split("## Older or unregistered forms")
        .next()?;
    let mut tools = Vec::new();
    for section in registered.split("\n### ").skip(1) {
        if section.starts_with("Meetings") {
            continue;
        }
        for line in section.lines().filter(|l| l.starts_with("| `")) {
            let cells: Vec<&str> = line.split(" | ").collect();
            let name = cells[0]
                .trim_start_matches("| `")
                .trim_end_matches('`')
                .to_string();
            let params_cell = cells.get(1).copied().unwrap_or("");
            let mut params = Vec::new();
            let mut at = 0;
            while let Some(found) = params_cell[at..].find('`') {
                let start = at + found;
                let top_level = start == 0 || params_cell[..start].ends_with("; ");
                let Some(len) = params_cell[start + 1..].find('`') else {
                    break;
                };
                let end = start + 1 + len;
                if top_level {
                    let param = &params_cell[start + 1..end];
                    let required = params_cell[end + 1..].starts_with('*');
                    params.push((param.to_string(), required));
                }
                at = end + 1;
            }
            tools.push((name, params));
        }
    }
    Some(tools)
}

/// A value of the reference's meaning for each of its parameter names, against fake Jira.
fn reference_value(tool: &str, param: &str, conn: &str, jira: &str, epic: &str) -> Value {
    let destructive = tool.starts_with("delete_");
    match param {
        "project_id" if destructive => json!(format!("{conn}:NOPE")),
        "project_id" => json!(format!("{conn}:EX")),
        "task_id" if destructive => json!(format!("{conn}:EX-9404")),
        "task_id" => json!(format!("{conn}:EX-2")),
        "related_task_id" => json!(format!("{conn}:EX-3")),
        "task_ids" => json!([format!("{conn}:EX-4")]),
        "sprint_id" if destructive => json!(format!("{conn}:9404")),
        "sprint_id" => json!(format!("{conn}:7")),
        "epic_id" if destructive => json!(format!("{conn}:EX-9404")),
        "epic_id" => json!(epic),
        "provider_id" => json!(conn),
        "user_id" | "assignee_id" => json!("5b10a2844c20165700ede21g"),
        "status" => match tool {
            "list_sprints" => json!("active"),
            "update_sprint" => json!("active"),
            "update_project" => json!("on_track"),
            "update_epic" | "update_task" | "update_task_status" => json!("In Progress"),
            _ => json!("In Progress"),
        },
        "scope_type" => json!("tasks"),
        "num_sprints" => json!(20),
        "days" => json!(90),
        "weeks" => json!(52),
        "dimension" => json!("priority"),
        "relationship_type" => json!("depends_on"),
        "active_only" => json!(true),
        "search" | "query" => json!("exam"),
        "updates" => json!({ "priority": "High" }),
        "limit" => json!(10),
        "story_points" => json!(3),
        "estimated_hours" | "remaining_hours" => json!(2.5),
        "due_date" | "end_date" => json!(day(14)),
        "start_date" => json!(day(0)),
        "provider_type" => json!("jira"),
        "base_url" => json!(jira),
        "username" => json!("mia@example.com"),
        "api_token" | "api_key" => json!("ATATT-reference-names-0001"),
        "organization_id" | "workspace_id" => json!("acme"),
        "name" if tool == "configure_pm_provider" => json!("My JIRA"),
        "task_type" => json!("Task"),
        "priority" => json!("High"),
        "parent_id" => json!(format!("{conn}:EX-1")),
        _ => json!(format!("{param} from a reference caller")),
    }
}

/// Reference tools some of whose parameters pm-mcp does not take yet (docs/moving-from-reference.md).
const REFERENCE_GAPS: &[&str] = &[];

#[tokio::test]
async fn every_reference_tool_takes_the_reference_parameter_names() {
    let Some(tools) = reference_tools() else {
        pm_testkit::skip(
            "the reference parameter names test",
            "the reference's TOOLS.md is not in ../shared/reference (set PM_MCP_REFERENCE_DIR)",
        );
        return;
    };
    assert!(
        tools.len() >= 52,
        "TOOLS.md lists {} tools outside the meeting tools",
        tools.len()
    );
    let env = Env::new(Engine::Sqlite).await.expect("env");
    let token = "ATATT-reference-names-0001";
    let Some(pm_testkit::fake::Running { url: jira, .. }) =
        pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::cloud(
            &pm_testkit::fake_jira::basic("mia@example.com", token),
        ))
        .await
    else {
        return;
    };
    env.add_user("ann@acme.org");
    let key = env.create_key("ann@acme.org", "read,write");
    let server = env.serve(LOCAL_UPSTREAM).await;
    let ann = server
        .client(&key, ProtocolVersion::V_2025_11_25)
        .await
        .expect("client");
    ok(&ann, "configure_pm_provider", json!({
        "provider_type": "jira_cloud", "base_url": jira, "username": "mia@example.com", "api_token": token, "name": "acme-jira"
    }))
    .await;
    // The reference's ids: the connection's uuid before the native id.
    let providers = call_ok(&ann, "list_providers").await;
    let conn = providers["connections"][0]["id"]
        .as_str()
        .expect("connection id")
        .to_string();
    // An epic, made the reference's way (`name`, a uuid-prefixed project).
    let made = ok(
        &ann,
        "create_epic",
        json!({ "project_id": format!("{conn}:EX"), "name": "Reference epic" }),
    )
    .await;
    let epic = made["epic"]["id"].as_str().expect("epic id").to_string();

    // Deleting tools last, so the others see the seeded data.
    let mut ordered = tools.clone();
    ordered.sort_by_key(|(name, _)| name.starts_with("delete_"));
    let mut refused = Vec::new();
    let mut answered = 0;
    let mut tool_errors = Vec::new();
    for (tool, params) in &ordered {
        let mut args = serde_json::Map::new();
        for (param, _required) in params {
            args.insert(
                param.clone(),
                reference_value(tool, param, &conn, &jira, &epic),
            );
        }
        let params =
            rmcp::model::CallToolRequestParams::new(tool.clone()).with_arguments(args.clone());
        match ann.call_tool(params).await {
            Err(e) => refused.push(format!(
                "{tool}({}): {e}",
                args.keys().cloned().collect::<Vec<_>>().join(", ")
            )),
            Ok(r) if r.is_error == Some(true) => {
                answered += 1;
                tool_errors.push(format!("{tool}: {}", text(&r)));
            }
            Ok(_) => answered += 1,
        }
    }
    println!(
        "reference tools called with their own parameter names: {} answered, {} refused",
        answered,
        refused.len()
    );
    for e in &tool_errors {
        println!("  answered with a tracker-level error (not a refused name): {e}");
    }
    // Tools whose reference parameters are still refused, each to come off REFERENCE_GAPS when
    // accepted: a gap that starts passing fails the test too, so the list only shrinks.
    let mut got: Vec<&str> = refused.iter().filter_map(|r| r.split('(').next()).collect();
    got.sort_unstable();
    let mut expected: Vec<&str> = REFERENCE_GAPS.to_vec();
    expected.sort_unstable();
    assert_eq!(
        got,
        expected,
        "refused reference calls:\n{}",
        refused.join("\n")
    );
    server.stop().await;
    env.finish().await;
}
