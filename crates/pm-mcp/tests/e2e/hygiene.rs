//! Spec hygiene on the wire: bad protocol versions, unknown sessions, parse errors, schema-invalid
//! arguments and the legacy HTTP+SSE transport, checked with raw HTTP.
use futures::StreamExt;
use serde_json::{Value, json};

use crate::harness::*;

async fn post_raw(
    server: &Server,
    key: &str,
    body: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(server.mcp_url())
        .bearer_auth(key)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string());
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req.send().await.expect("post")
}

/// The JSON-RPC message in a response, whether sent as JSON or as one SSE `data:` event.
async fn jsonrpc(res: reqwest::Response) -> Value {
    let text = res.text().await.expect("body");
    let payload = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .rfind(|d| !d.is_empty())
        .unwrap_or(text.trim())
        .to_string();
    serde_json::from_str(&payload).unwrap_or_else(|_| panic!("not JSON-RPC: {text}"))
}

#[tokio::test]
async fn protocol_errors_are_answered_as_the_spec_says() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    env.add_user("ann@acme.org");
    let key = env.create_key("ann@acme.org", "read");
    let server = env.serve(&[]).await;
    let v = [("mcp-protocol-version", "2025-11-25")];

    let res = post_raw(
        &server,
        &key,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#,
        &[("mcp-protocol-version", "1999-01-01")],
    )
    .await;
    assert_eq!(res.status(), 400, "unsupported MCP-Protocol-Version");

    let res = post_raw(&server, &key, r#"{"jsonrpc":"2.0","id":1,"#, &v).await;
    assert_eq!(res.status(), 400);
    assert_eq!(jsonrpc(res).await["error"]["code"], -32700);

    let call = |args: Value| {
        json!({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"list_providers","arguments":args}}).to_string()
    };
    let res = post_raw(&server, &key, &call(json!({"provider_type": "trello"})), &v).await;
    let msg = jsonrpc(res).await;
    assert_eq!(msg["error"]["code"], -32602, "{msg}");
    assert!(
        msg["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("provider_type")),
        "{msg}"
    );
    assert!(
        !msg.to_string().contains("trello"),
        "argument values are not echoed: {msg}"
    );
    let msg =
        jsonrpc(post_raw(&server, &key, &call(json!({"provder_type": "redmine"})), &v).await).await;
    assert_eq!(msg["error"]["code"], -32602);
    assert!(
        msg["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("provder_type")),
        "the unknown field is named: {msg}"
    );
    let msg = jsonrpc(
        post_raw(
            &server,
            &key,
            &call(json!({"provider_type": "redmine"})),
            &v,
        )
        .await,
    )
    .await;
    assert_eq!(
        msg["result"]["structuredContent"]["connections"],
        json!([]),
        "{msg}"
    );

    let unknown =
        json!({"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"no_such_tool"}})
            .to_string();
    let msg = jsonrpc(post_raw(&server, &key, &unknown, &v).await).await;
    assert_eq!(msg["error"]["code"], -32602, "{msg}");
    server.stop().await;

    // Sessions (opt-in): an unknown session id is 404.
    let server = env.serve(&["--sessions"]).await;
    let res = post_raw(
        &server,
        &key,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#,
        &[
            ("mcp-protocol-version", "2025-11-25"),
            ("mcp-session-id", "no-such-session"),
        ],
    )
    .await;
    assert_eq!(res.status(), 404);
    let unknown_body = res.text().await.expect("body");
    // A session answers only the principal that opened it: another user's key (or another key
    // of the same user) naming it is answered exactly as for an unknown session.
    env.add_user("bob@acme.org");
    let bobs = env.create_key("bob@acme.org", "read");
    let anns_other = env.create_key("ann@acme.org", "read");
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"hygiene","version":"1"}}}"#;
    let opened = post_raw(&server, &key, init, &v).await;
    assert_eq!(opened.status(), 200);
    let session = opened
        .headers()
        .get("mcp-session-id")
        .and_then(|h| h.to_str().ok())
        .expect("a session id")
        .to_string();
    let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let with = [
        ("mcp-protocol-version", "2025-11-25"),
        ("mcp-session-id", session.as_str()),
    ];
    assert!(
        post_raw(&server, &key, initialized, &with)
            .await
            .status()
            .is_success()
    );
    let list = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}"#;
    let delete = |who: &str, id: &str| {
        reqwest::Client::new()
            .delete(server.mcp_url())
            .bearer_auth(who)
            .header("mcp-session-id", id)
            .header("mcp-protocol-version", "2025-11-25")
            .send()
    };
    let unknown_delete = delete(&key, "no-such-session")
        .await
        .expect("delete")
        .status();
    for other in [&bobs, &anns_other] {
        let res = post_raw(&server, other, list, &with).await;
        assert_eq!(res.status(), 404);
        assert_eq!(res.text().await.expect("body"), unknown_body);
        let res = reqwest::Client::new()
            .get(server.mcp_url())
            .bearer_auth(other)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", session.as_str())
            .header("mcp-protocol-version", "2025-11-25")
            .send()
            .await
            .expect("get");
        assert_eq!(res.status(), 404, "nor read its stream");
        let res = delete(other, &session).await.expect("delete");
        assert_eq!(
            res.status(),
            unknown_delete,
            "nor end it (answered as for no session)"
        );
    }
    let res = post_raw(&server, &key, list, &with).await;
    assert_eq!(res.status(), 200, "its owner still uses it");
    let msg = jsonrpc(res).await;
    assert!(msg["result"]["tools"].is_array(), "{msg}");
    // Its owner ends it; then it is gone.
    assert!(
        delete(&key, &session)
            .await
            .expect("delete")
            .status()
            .is_success()
    );
    assert_eq!(post_raw(&server, &key, list, &with).await.status(), 404);
    server.stop().await;
    env.finish().await;
}

/// Reads SSE events (`event`, `data`) from a streaming response.
pub(crate) struct Events {
    stream: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buf: String,
}

impl Events {
    pub(crate) fn new(res: reqwest::Response) -> Self {
        Self {
            stream: res.bytes_stream().boxed(),
            buf: String::new(),
        }
    }

    pub(crate) async fn next(&mut self) -> (String, String) {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut event = "message".to_string();
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push(v.trim_start().to_string());
                    }
                }
                if data.is_empty() {
                    continue; // keep-alive comment
                }
                return (event, data.join("\n"));
            }
            let chunk =
                tokio::time::timeout(std::time::Duration::from_secs(10), self.stream.next())
                    .await
                    .expect("SSE event within 10 s")
                    .expect("stream open")
                    .expect("chunk");
            self.buf
                .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
    }
}

#[tokio::test]
async fn legacy_sse_transport_serves_the_same_tools_with_the_same_auth() {
    on_each_engine(|env| async move {
        env.add_user("ann@acme.org");
        env.add_user("bob@acme.org");
        let key = env.create_key("ann@acme.org", "read");
        let bobs = env.create_key("bob@acme.org", "read");
        env.add_connection("ann@acme.org", "acme-jira", "tok-sse-1");
        let server = env.serve(&[]).await;
        let http = reqwest::Client::new();
        let sse_url = format!("{}/sse", server.base);

        let res = http.get(&sse_url).send().await.expect("get");
        assert_eq!(res.status(), 401, "the stream needs a key too");
        let res = http.get(&sse_url).bearer_auth(&key).header("accept", "text/event-stream").send().await.expect("get");
        assert_eq!(res.status(), 200);
        let mut events = Events::new(res);
        let (event, endpoint) = events.next().await;
        assert_eq!(event, "endpoint");
        assert!(endpoint.starts_with("/messages?sessionId="), "{endpoint}");
        let messages = format!("{}{endpoint}", server.base);
        let send = |key: &str, body: Value| http.post(&messages).bearer_auth(key).json(&body).send();

        let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
            "protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"sse-e2e","version":"1"}}});
        assert_eq!(send(&key, init).await.expect("post").status(), 202);
        let (_, reply) = events.next().await;
        let reply: Value = serde_json::from_str(&reply).expect("json");
        assert_eq!(reply["id"], 1);
        assert_eq!(reply["result"]["serverInfo"]["name"], "pm-mcp");
        assert_eq!(send(&key, json!({"jsonrpc":"2.0","method":"notifications/initialized"})).await.expect("post").status(), 202);
        send(&key, json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_providers"}})).await.expect("post");
        let (_, reply) = events.next().await;
        let reply: Value = serde_json::from_str(&reply).expect("json");
        assert_eq!(reply["result"]["structuredContent"]["connections"][0]["name"], "acme-jira", "{reply}");

        // Another user's key cannot post into Ann's session; it looks like no session at all.
        let res = send(&bobs, json!({"jsonrpc":"2.0","id":3,"method":"tools/list"})).await.expect("post");
        assert_eq!(res.status(), 404);
        let res = http.post(format!("{}/messages?sessionId=nope", server.base)).bearer_auth(&key).json(&json!({})).send().await.expect("post");
        assert_eq!(res.status(), 404);
        let res = http.post(&messages).bearer_auth(&key).header("content-type", "application/json").body("{oops").send().await.expect("post");
        assert_eq!(res.status(), 400);
        assert_eq!(res.json::<Value>().await.expect("json")["error"]["code"], -32700);
        assert_eq!(status_for_declared_length(&messages, &key, 5 * 1024 * 1024).await, 413);

        // Revoking the key ends the session's access.
        env.ok(&["key", "revoke", "--user", "ann@acme.org", &key[..13]]);
        // Within the bound on auth changes taking effect (the epoch is polled every 500 ms).
        let started = std::time::Instant::now();
        loop {
            let res = send(&key, json!({"jsonrpc":"2.0","id":4,"method":"tools/list"})).await.expect("post");
            if res.status() == 401 {
                break;
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(2), "still {} after 2 s", res.status());
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        drop(events);
        server.stop().await;
        env.finish().await;
    })
    .await;
}
