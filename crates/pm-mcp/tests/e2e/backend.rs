//! The reference's agent backend and web app against the real binary: the five `/providers/sync*`
//! calls with the backend's bodies (keyed by its `backend_provider_id`, owned by the sync key's
//! user, `X-User-ID` ignored), the REST helpers (`/tools/call`, `/users`, `/health`), a
//! `provider_id` given as the backend's id, and a service key acting for a user
//! (`X-PM-MCP-Act-As`) over `/tools/call`, `/mcp` and legacy SSE, audited with both identities.
use serde_json::{Value, json};

use crate::harness::*;

struct Http {
    base: String,
    http: reqwest::Client,
}

impl Http {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.header("X-MCP-API-Key", k);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("send");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    async fn post(&self, path: &str, key: Option<&str>, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, key, &[], Some(body))
            .await
    }

    async fn get(&self, path: &str, key: Option<&str>) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, key, &[], None).await
    }

    /// `POST /tools/call`, answering the tool's JSON (from the one text item) or the refusal.
    async fn tool(
        &self,
        key: &str,
        headers: &[(&str, &str)],
        name: &str,
        arguments: Value,
    ) -> (u16, Value) {
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "/tools/call",
                Some(key),
                headers,
                Some(json!({ "name": name, "arguments": arguments })),
            )
            .await;
        if status != 200 {
            return (status, body);
        }
        let items = body.as_array().expect("an array of content items");
        assert_eq!(items.len(), 1, "{body}");
        assert_eq!(items[0]["type"], "text", "{body}");
        let text = items[0]["text"].as_str().expect("text");
        (200, serde_json::from_str(text).expect("the text is JSON"))
    }
}

fn names(list_providers: &Value) -> Vec<String> {
    list_providers["connections"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn provider_sync_keeps_the_backends_ids_for_the_sync_keys_user_only() {
    on_each_engine(|env| async move {
        let pat = "jira-dc-sync-pat-7781";
        let Some(pm_testkit::fake::Running { url: jira, .. }) = pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::dc(&format!("Bearer {pat}"))).await else {
        return;
    };
        env.add_user("system@acme.org");
        env.add_user("bob@acme.org");
        let sync_key = env.create_key("system@acme.org", "read,write,sync");
        let plain_key = env.create_key("system@acme.org", "read,write");
        let bob_key = env.create_key("bob@acme.org", "read,write,sync");
        env.add_connection("bob@acme.org", "bob-jira", "tok-bob-1");
        let server = env.serve(LOCAL_UPSTREAM).await;
        let api = Http { base: server.base.clone(), http: reqwest::Client::new() };

        let body = |id: &str, name: &str, test: bool| {
            json!({ "backend_provider_id": id, "name": name, "provider_type": "jira", "base_url": jira,
                    "api_token": pat, "project_key": "EX", "is_active": true, "test_connection": test })
        };
        // No key, a key without the sync permission.
        let (status, answer) = api.post("/providers/sync", None, body("bp-1", "My JIRA", true)).await;
        assert_eq!(status, 401, "{answer}");
        assert!(answer["detail"].is_string(), "{answer}");
        let (status, answer) = api.post("/providers/sync", Some(&plain_key), body("bp-1", "My JIRA", true)).await;
        assert_eq!(status, 403, "{answer}");
        assert!(answer["detail"].as_str().is_some_and(|d| d.contains("sync")), "{answer}");
        let (status, _) = api.get("/providers/sync/status", Some(&plain_key)).await;
        assert_eq!(status, 403);

        // Created (X-User-ID is not identity: ignored), stored, then tested.
        let (status, created) = api
            .send(reqwest::Method::POST, "/providers/sync?user_id=bob", Some(&sync_key),
                  &[("X-User-ID", "bob@acme.org")], Some(body("bp-1", "My JIRA", true)))
            .await;
        assert_eq!(status, 200, "{created}");
        assert_eq!(created["success"], true);
        assert_eq!(created["action"], "created");
        assert_eq!(created["backend_provider_id"], "bp-1");
        assert_eq!(created["connection_tested"], true);
        assert_eq!(created["connection_healthy"], true, "{created}");
        let mcp_id = created["mcp_provider_id"].as_str().expect("mcp_provider_id").to_string();
        assert!(mcp_id.parse::<uuid::Uuid>().is_ok(), "{mcp_id}");
        assert!(!created.to_string().contains(pat));

        // The same backend id again: updated, same connection; untested this time.
        let (status, updated) = api.post("/providers/sync", Some(&sync_key), body("bp-1", "My JIRA (team)", false)).await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(updated["action"], "updated");
        assert_eq!(updated["mcp_provider_id"], mcp_id.as_str());
        assert_eq!(updated["connection_tested"], false);
        assert_eq!(updated["connection_healthy"], Value::Null);

        // The connection is the sync key's user's (handle from the display name), not Bob's.
        let (_, mine) = api.tool(&sync_key, &[], "list_providers", json!({})).await;
        assert_eq!(names(&mine), ["my-jira"], "{mine}");
        let (_, bobs) = api.tool(&bob_key, &[], "list_providers", json!({})).await;
        assert_eq!(names(&bobs), ["bob-jira"], "{bobs}");

        // provider_id may be the backend's id (or the connection id), for the owner only.
        let (status, projects) = api.tool(&sync_key, &[], "list_projects", json!({ "provider_id": "bp-1" })).await;
        assert_eq!(status, 200, "{projects}");
        assert_eq!(projects["projects"][0]["id"], "my-jira:P1", "{projects}");
        let (status, _) = api.tool(&sync_key, &[], "list_projects", json!({ "provider_id": mcp_id })).await;
        assert_eq!(status, 200);
        let (status, refused) = api.tool(&bob_key, &[], "list_projects", json!({ "provider_id": "bp-1" })).await;
        assert_eq!(status, 400, "{refused}");
        assert!(refused["detail"].as_str().is_some_and(|d| d.contains("no connection")), "{refused}");

        // An unknown provider type: 422 with detail, nothing stored.
        let mut bad = body("bp-9", "Trello", false);
        bad["provider_type"] = json!("trello");
        let (status, answer) = api.post("/providers/sync", Some(&sync_key), bad.clone()).await;
        assert_eq!(status, 422, "{answer}");
        assert!(answer["detail"].as_str().is_some_and(|d| d.contains("trello")), "{answer}");

        // A third provider, then bulk with bp-1 and a new bp-2 (one bad entry), delete_missing:
        // bp-3 is deactivated, not deleted.
        let (status, third) = api.post("/providers/sync", Some(&sync_key), body("bp-3", "Old Jira", false)).await;
        assert_eq!((status, &third["action"]), (200, &json!("created")), "{third}");
        let (status, bulk) = api
            .post("/providers/sync/bulk", Some(&sync_key), json!({
                "providers": [body("bp-1", "My JIRA", false), body("bp-2", "My JIRA", false), bad],
                "delete_missing": true,
            }))
            .await;
        assert_eq!(status, 200, "{bulk}");
        assert_eq!(bulk["success"], false);
        assert_eq!((bulk["total"].as_i64(), bulk["synced"].as_i64(), bulk["failed"].as_i64(), bulk["deleted"].as_i64()),
                   (Some(3), Some(2), Some(1), Some(1)), "{bulk}");
        assert_eq!(bulk["results"][0]["action"], "updated");
        assert_eq!(bulk["results"][1]["action"], "created");
        assert_eq!(bulk["errors"][0]["backend_provider_id"], "bp-9");
        let (status, status_list) = api.get("/providers/sync/status", Some(&sync_key)).await;
        assert_eq!(status, 200, "{status_list}");
        assert_eq!(status_list["total_providers"], 3);
        assert_eq!(status_list["active_providers"], 2);
        let by_backend = |id: &str| {
            status_list["providers"].as_array().expect("providers").iter()
                .find(|p| p["backend_provider_id"] == id).cloned().expect("listed")
        };
        let old = by_backend("bp-3");
        assert_eq!(old["is_active"], false);
        assert_eq!(old["synced"], true);
        let first = by_backend("bp-1");
        assert_eq!(first["mcp_provider_id"], mcp_id.as_str());
        assert_eq!(first["name"], "My JIRA");
        assert_eq!(first["provider_type"], "jira_data_center");
        assert_eq!(first["has_api_token"], true);
        assert_eq!(first["base_url"], jira.as_str());
        // The same display name twice: the second handle gets a suffix.
        let (_, mine) = api.tool(&sync_key, &[], "list_providers", json!({})).await;
        let mut handles = names(&mine);
        handles.sort();
        assert_eq!(handles, ["my-jira", "my-jira-2", "old-jira"], "{mine}");

        // Test one connection: by connection id or backend id; Bob's answers like an unknown one.
        let (status, tested) = api.post(&format!("/providers/sync/test/{mcp_id}"), Some(&sync_key), json!({})).await;
        assert_eq!(status, 200, "{tested}");
        assert_eq!(tested["connection_healthy"], true, "{tested}");
        assert_eq!(tested["mcp_provider_id"], mcp_id.as_str());
        let (status, _) = api.post("/providers/sync/test/bp-2", Some(&sync_key), json!({})).await;
        assert_eq!(status, 200);
        let (_, bobs) = api.tool(&bob_key, &[], "list_providers", json!({})).await;
        let bob_conn = bobs["connections"][0]["id"].as_str().expect("bob's id").to_string();
        let (status, missing) = api.post(&format!("/providers/sync/test/{bob_conn}"), Some(&sync_key), json!({})).await;
        assert_eq!(status, 404, "{missing}");
        let (status, unknown) = api.post(&format!("/providers/sync/test/{}", uuid::Uuid::new_v4()), Some(&sync_key), json!({})).await;
        assert_eq!((status, &unknown["detail"]), (404, &missing["detail"]));

        // Delete: soft (the backend's way) deactivates, hard deletes, unknown is not_found.
        let del = |id: &str, hard: bool| json!({ "backend_provider_id": id, "hard_delete": hard });
        let (status, soft) = api.send(reqwest::Method::DELETE, "/providers/sync", Some(&sync_key), &[], Some(del("bp-2", false))).await;
        assert_eq!((status, &soft["action"], &soft["success"]), (200, &json!("deactivated"), &json!(true)), "{soft}");
        let (status, hard) = api.send(reqwest::Method::DELETE, "/providers/sync", Some(&sync_key), &[], Some(del("bp-3", true))).await;
        assert_eq!((status, &hard["action"]), (200, &json!("deleted")), "{hard}");
        let (status, none) = api.send(reqwest::Method::DELETE, "/providers/sync", Some(&sync_key), &[], Some(del("bp-404", true))).await;
        assert_eq!((status, &none["action"], &none["success"]), (200, &json!("not_found"), &json!(false)), "{none}");
        // Bob's sync key cannot touch the system user's connections.
        let (_, bob_del) = api.send(reqwest::Method::DELETE, "/providers/sync", Some(&bob_key), &[], Some(del("bp-1", true))).await;
        assert_eq!(bob_del["action"], "not_found");
        let (_, after) = api.get("/providers/sync/status", Some(&sync_key)).await;
        assert_eq!((after["total_providers"].as_i64(), after["active_providers"].as_i64()), (Some(2), Some(1)), "{after}");

        // The REST helpers: /health with or without a key; /tools/call refuses without one.
        for key in [None, Some(sync_key.as_str())] {
            let (status, health) = api.get("/health", key).await;
            assert_eq!((status, &health["status"]), (200, &json!("ok")), "{health}");
            assert!(!health.to_string().contains("mcp_") && health.get("database").is_none(), "{health}");
        }
        let (status, refused) = api.post("/tools/call", None, json!({ "name": "list_providers" })).await;
        assert_eq!(status, 401);
        assert!(refused["detail"].is_string(), "{refused}");
        let (status, unknown) = api.tool(&sync_key, &[], "no_such_tool", json!({})).await;
        assert_eq!(status, 404, "{unknown}");
        let (status, invalid) = api.tool(&sync_key, &[], "list_projects", json!({ "bogus": 1 })).await;
        assert_eq!(status, 422, "{invalid}");
        let (status, users) = api.get("/users?projectId=my-jira:EX", Some(&sync_key)).await;
        assert_eq!(status, 200, "{users}");
        assert!(users["users"].is_array(), "{users}");
        let (status, _) = api.get("/users?projectId=my-jira:EX", None).await;
        assert_eq!(status, 401);

        server.stop().await;
        env.finish().await;
    })
    .await;
}

/// A raw stateless `/mcp` call.
async fn mcp_call(api: &Http, key: &str, headers: &[(&str, &str)], tool: &str) -> Value {
    let mut all = vec![
        ("Accept", "application/json, text/event-stream"),
        ("MCP-Protocol-Version", "2025-06-18"),
    ];
    all.extend_from_slice(headers);
    let (status, body) = api
        .send(reqwest::Method::POST, "/mcp", Some(key), &all,
              Some(json!({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name": tool, "arguments": {}}})))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_service_key_acts_for_a_named_user_only_with_the_permission_and_is_audited() {
    on_each_engine(|env| async move {
        env.ok(&["user", "add", "--email", "system@acme.org", "--admin"]);
        env.add_user("ann@acme.org");
        env.add_user("gone@acme.org");
        env.ok(&["user", "disable", "--email", "gone@acme.org"]);
        let acting = env.create_key("system@acme.org", "read,act_as");
        let plain = env.create_key("system@acme.org", "read,write");
        let admin = env.create_key("system@acme.org", "admin");
        let anns = env.create_key("ann@acme.org", "read,write");
        env.add_connection("ann@acme.org", "ann-jira", "tok-ann-1");
        env.add_connection("system@acme.org", "system-jira", "tok-sys-1");
        let server = env.serve(&[]).await;
        let api = Http { base: server.base.clone(), http: reqwest::Client::new() };
        let as_ann = [("X-PM-MCP-Act-As", "ann@acme.org")];

        // /tools/call for Ann: her connections.
        let (status, listed) = api.tool(&acting, &as_ann, "list_providers", json!({})).await;
        assert_eq!(status, 200, "{listed}");
        assert_eq!(names(&listed), ["ann-jira"]);
        let (_, own) = api.tool(&acting, &[], "list_providers", json!({})).await;
        assert_eq!(names(&own), ["system-jira"]);
        // Never more than the key: a read key acting for Ann cannot write.
        let (status, denied) = api.tool(&acting, &as_ann, "remove_pm_provider", json!({ "provider_id": "ann-jira" })).await;
        assert_eq!(status, 400, "{denied}");
        assert!(denied["detail"].as_str().is_some_and(|d| d.contains("write scope")), "{denied}");

        // Refused: no permission; an unknown and a disabled user answer alike.
        let (status, no_perm) = api.tool(&plain, &as_ann, "list_providers", json!({})).await;
        assert_eq!(status, 403, "{no_perm}");
        let (status, anns_try) = api.tool(&anns, &[("X-PM-MCP-Act-As", "system@acme.org")], "list_providers", json!({})).await;
        assert_eq!(status, 403, "{anns_try}");
        let (status, unknown) = api.tool(&acting, &[("X-PM-MCP-Act-As", "nobody@acme.org")], "list_providers", json!({})).await;
        assert_eq!(status, 403);
        let (status, disabled) = api.tool(&acting, &[("X-PM-MCP-Act-As", "gone@acme.org")], "list_providers", json!({})).await;
        assert_eq!(status, 403);
        assert_eq!(unknown["detail"], disabled["detail"]);
        // Not on the admin API or provider sync.
        let (status, _) = api.send(reqwest::Method::GET, "/admin/v1/me", Some(&acting), &as_ann, None).await;
        assert_eq!(status, 400);

        // /mcp.
        let reply = mcp_call(&api, &acting, &as_ann, "list_providers").await;
        assert_eq!(names(&reply["result"]["structuredContent"]), ["ann-jira"], "{reply}");
        let (status, _) = api
            .send(reqwest::Method::POST, "/mcp", Some(&plain),
                  &[("Accept", "application/json, text/event-stream"), ("X-PM-MCP-Act-As", "ann@acme.org")],
                  Some(json!({"jsonrpc":"2.0","id":1,"method":"tools/list"})))
            .await;
        assert_eq!(status, 403);

        // Legacy SSE: the stream and each message carry the header.
        let sse = api.http.get(format!("{}/sse", server.base)).header("X-MCP-API-Key", &acting)
            .header("X-PM-MCP-Act-As", "ann@acme.org").send().await.expect("sse");
        assert_eq!(sse.status(), 200);
        let mut events = sse_events(sse);
        let endpoint = next_event(&mut events).await;
        assert_eq!(endpoint.0, "endpoint");
        let messages = format!("{}{}", server.base, endpoint.1);
        let post = |body: Value, act: Option<&'static str>| {
            let mut r = api.http.post(&messages).header("X-MCP-API-Key", &acting).json(&body);
            if let Some(a) = act {
                r = r.header("X-PM-MCP-Act-As", a);
            }
            r.send()
        };
        let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
            "protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"backend-e2e","version":"1"}}});
        assert_eq!(post(init, Some("ann@acme.org")).await.expect("post").status(), 202);
        next_event(&mut events).await;
        post(json!({"jsonrpc":"2.0","method":"notifications/initialized"}), Some("ann@acme.org")).await.expect("post");
        let call = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_providers","arguments":{}}});
        assert_eq!(post(call.clone(), Some("ann@acme.org")).await.expect("post").status(), 202);
        let (_, reply) = next_event(&mut events).await;
        let reply: Value = serde_json::from_str(&reply).expect("json");
        assert_eq!(names(&reply["result"]["structuredContent"]), ["ann-jira"], "{reply}");
        // The session acts for Ann: a message without the header (or for someone else) is refused.
        assert_eq!(post(call.clone(), None).await.expect("post").status(), 403);
        assert_eq!(post(call, Some("nobody@acme.org")).await.expect("post").status(), 403);
        drop(events);

        // The audit trail names Ann as the user and the system user as the actor.
        let (_, users) = api.get("/admin/v1/users", Some(&admin)).await;
        let id_of = |email: &str| users.as_array().expect("users").iter()
            .find(|u| u["email"] == email).and_then(|u| u["id"].as_str()).expect("user").to_string();
        let (ann, system) = (id_of("ann@acme.org"), id_of("system@acme.org"));
        let (status, audit) = api.get(&format!("/admin/v1/audit?tool=list_providers&user={ann}"), Some(&admin)).await;
        assert_eq!(status, 200, "{audit}");
        let rows = audit.as_array().expect("rows");
        assert_eq!(rows.len(), 3, "/tools/call, /mcp and SSE: {audit}");
        for row in rows {
            assert_eq!(row["user_id"], ann.as_str());
            assert_eq!(row["for_user_id"], ann.as_str());
            assert_eq!(row["actor_user_id"], system.as_str());
        }
        let (_, own) = api.get(&format!("/admin/v1/audit?tool=list_providers&user={system}"), Some(&admin)).await;
        assert!(own.as_array().expect("rows").iter().all(|r| r["actor_user_id"].is_null()), "{own}");

        server.stop().await;
        env.finish().await;
    })
    .await;
}

type Events = (
    futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    String,
);

fn sse_events(res: reqwest::Response) -> Events {
    use futures::StreamExt;
    (res.bytes_stream().boxed(), String::new())
}

/// The next SSE event (`event`, `data`), skipping keep-alives.
async fn next_event(events: &mut Events) -> (String, String) {
    use futures::StreamExt;
    loop {
        if let Some(end) = events.1.find("\n\n") {
            let block: String = events.1.drain(..end + 2).collect();
            let mut event = "message".to_string();
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push(v.trim_start().to_string());
                }
            }
            if !data.is_empty() {
                return (event, data.join("\n"));
            }
            continue;
        }
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), events.0.next())
            .await
            .expect("an SSE event within 10 s")
            .expect("stream open")
            .expect("chunk");
        events
            .1
            .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
    }
}
