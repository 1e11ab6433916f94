//! A minimal MCP client over Streamable HTTP, as each server under test supports it: stateless
//! JSON-RPC posts (pm-mcp's default), or a session opened with `initialize` whose
//! `Mcp-Session-Id` goes on every later request (FastMCP's default, pm-mcp's `--sessions`).
//! Answers are read as `application/json` or as an SSE stream holding the JSON-RPC response.
use anyhow::{Context, Result, anyhow, bail};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::{Value, json};

pub const LATEST: &str = "2025-11-25";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every request stands alone (no initialize).
    Stateless,
    /// initialize → Mcp-Session-Id → notifications/initialized, then requests in that session.
    Session,
}

/// What went wrong with one call, by kind (for the error column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The request did not complete (connect, reset, timeout).
    Transport,
    /// A non-2xx HTTP status.
    Http(u16),
    /// The body was not a JSON-RPC response.
    Decode,
    /// A JSON-RPC error object.
    Rpc(i64),
    /// A tool result with `isError: true`.
    Tool,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Transport => write!(f, "transport"),
            Failure::Http(s) => write!(f, "http {s}"),
            Failure::Decode => write!(f, "decode"),
            Failure::Rpc(c) => write!(f, "json-rpc {c}"),
            Failure::Tool => write!(f, "tool isError"),
        }
    }
}

/// One client: an HTTP connection pool shared by all clients, plus this client's session.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    url: String,
    headers: HeaderMap,
    next_id: u64,
}

impl Client {
    /// A client of `url` sending `authorization` (e.g. `Bearer pmcp_…` or `Token …`).
    /// In session mode this performs the handshake.
    pub async fn connect(
        http: reqwest::Client,
        url: &str,
        authorization: &str,
        mode: Mode,
    ) -> Result<Self> {
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(authorization).context("the authorization is not a header")?,
        );
        let mut client = Self {
            http,
            url: url.to_string(),
            headers,
            next_id: 1,
        };
        match mode {
            Mode::Stateless => {
                client
                    .headers
                    .insert("mcp-protocol-version", HeaderValue::from_static(LATEST));
            }
            Mode::Session => client.handshake().await?,
        }
        Ok(client)
    }

    async fn handshake(&mut self) -> Result<()> {
        let body = json!({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {
                "protocolVersion": LATEST,
                "capabilities": {},
                "clientInfo": { "name": "pm-bench", "version": env!("CARGO_PKG_VERSION") }
            }
        });
        let res = self
            .http
            .post(&self.url)
            .headers(self.headers.clone())
            .json(&body)
            .send()
            .await
            .context("initialize: no answer")?;
        let status = res.status();
        let session = res
            .headers()
            .get("mcp-session-id")
            .cloned()
            .ok_or_else(|| anyhow!("initialize answered {status} without an Mcp-Session-Id"))?;
        let ctype = content_type(res.headers());
        let text = res.text().await.context("initialize: body")?;
        let answer = parse_response(&ctype, &text, 0)
            .map_err(|f| anyhow!("initialize failed ({f}): {}", clip(&text)))?;
        let version = answer["result"]["protocolVersion"]
            .as_str()
            .unwrap_or(LATEST)
            .to_string();
        self.headers.insert("mcp-session-id", session);
        self.headers.insert(
            "mcp-protocol-version",
            HeaderValue::from_str(&version).context("protocol version")?,
        );
        let res = self
            .http
            .post(&self.url)
            .headers(self.headers.clone())
            .json(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))
            .send()
            .await
            .context("notifications/initialized")?;
        if !res.status().is_success() {
            bail!("notifications/initialized answered {}", res.status());
        }
        Ok(())
    }

    /// Sends one request; returns the answer's content type and body, and the request's id.
    async fn send(
        &mut self,
        method: &str,
        params: &Value,
    ) -> std::result::Result<(String, String, u64), Failure> {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        let res = self
            .http
            .post(&self.url)
            .headers(self.headers.clone())
            .json(&body)
            .send()
            .await
            .map_err(|_| Failure::Transport)?;
        let status = res.status();
        let ctype = content_type(res.headers());
        let text = res.text().await.map_err(|_| Failure::Transport)?;
        if !status.is_success() {
            return Err(Failure::Http(status.as_u16()));
        }
        Ok((ctype, text, id))
    }

    /// Sends one request; returns the JSON-RPC `result` and the size in bytes of the JSON-RPC
    /// message that carried it.
    pub async fn request(
        &mut self,
        method: &str,
        params: &Value,
    ) -> std::result::Result<(Value, usize), Failure> {
        let (ctype, text, id) = self.send(method, params).await?;
        let message = parse_response(&ctype, &text, id)?;
        let size = serde_json::to_vec(&message).map(|v| v.len()).unwrap_or(0);
        let mut message = message;
        if let Some(err) = message.get("error") {
            return Err(Failure::Rpc(err["code"].as_i64().unwrap_or(0)));
        }
        let result = message
            .get_mut("result")
            .map(Value::take)
            .ok_or(Failure::Decode)?;
        if result.get("isError").and_then(Value::as_bool) == Some(true) {
            return Err(Failure::Tool);
        }
        Ok((result, size))
    }

    /// Sends one request and checks its answer as [`Client::request`] does (a JSON-RPC
    /// response with this id, no error, no tool error), reading only those members instead of
    /// building the whole answer: the load loop's client, so that the client's own parsing is
    /// not what limits a run.
    pub async fn call(&mut self, method: &str, params: &Value) -> std::result::Result<(), Failure> {
        let (ctype, text, id) = self.send(method, params).await?;
        check_answer(&ctype, &text, id)
    }
}

/// The check of [`Client::call`]: the JSON-RPC response with `id` (a JSON body, or an SSE
/// event), without an error or a tool error.
fn check_answer(ctype: &str, text: &str, id: u64) -> std::result::Result<(), Failure> {
    let checked = if ctype.starts_with("text/event-stream") {
        sse_data(text)
            .filter_map(|data| serde_json::from_str::<Checked>(&data).ok())
            .find(|c| c.id.as_ref().and_then(Value::as_u64) == Some(id))
            .ok_or(Failure::Decode)?
    } else {
        serde_json::from_str::<Checked>(text).map_err(|_| Failure::Decode)?
    };
    if let Some(err) = checked.error {
        return Err(Failure::Rpc(err.code));
    }
    match checked.result {
        None => Err(Failure::Decode),
        Some(r) if r.is_error => Err(Failure::Tool),
        Some(_) => Ok(()),
    }
}

/// The members of an answer the load loop checks; every other member is skipped unread.
#[derive(serde::Deserialize)]
struct Checked {
    id: Option<Value>,
    error: Option<RpcError>,
    result: Option<ResultFlags>,
}

#[derive(serde::Deserialize)]
struct RpcError {
    #[serde(default)]
    code: i64,
}

#[derive(serde::Deserialize)]
struct ResultFlags {
    #[serde(rename = "isError", default)]
    is_error: bool,
}

/// The `data` of each event of an SSE body, in order.
fn sse_data(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut lines = text.lines().chain(std::iter::once(""));
    std::iter::from_fn(move || {
        let mut data = String::new();
        for line in lines.by_ref() {
            if let Some(rest) = line.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(rest.strip_prefix(' ').unwrap_or(rest));
            } else if line.is_empty() && !data.is_empty() {
                return Some(data);
            }
        }
        None
    })
}

fn content_type(h: &HeaderMap) -> String {
    h.get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// The JSON-RPC response with `id`, from a JSON body or from an SSE stream's events.
fn parse_response(ctype: &str, text: &str, id: u64) -> std::result::Result<Value, Failure> {
    if ctype.starts_with("text/event-stream") {
        for data in sse_data(text) {
            if let Ok(v) = serde_json::from_str::<Value>(&data)
                && v.get("id").and_then(Value::as_u64) == Some(id)
            {
                return Ok(v);
            }
        }
        Err(Failure::Decode)
    } else {
        serde_json::from_str(text).map_err(|_| Failure::Decode)
    }
}

fn clip(s: &str) -> &str {
    match s.char_indices().nth(300) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_and_sse_answers() {
        let v = parse_response(
            "application/json",
            r#"{"jsonrpc":"2.0","id":3,"result":{}}"#,
            3,
        );
        assert!(v.is_ok());
        let sse = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"tools\":[]}}\n\n";
        let v = parse_response("text/event-stream", sse, 7).expect("the response event");
        assert_eq!(v["result"]["tools"], json!([]));
        assert_eq!(
            parse_response("text/event-stream", "data: {}\n\n", 1).err(),
            Some(Failure::Decode)
        );
    }

    #[test]
    fn the_load_loops_check_reads_what_request_reads() {
        let json = "application/json";
        let ok = r#"{"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"x"}]}}"#;
        assert_eq!(check_answer(json, ok, 3), Ok(()));
        let error = r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"no"}}"#;
        assert_eq!(check_answer(json, error, 3), Err(Failure::Rpc(-32601)));
        let tool_error = r#"{"jsonrpc":"2.0","id":3,"result":{"content":[],"isError":true}}"#;
        assert_eq!(check_answer(json, tool_error, 3), Err(Failure::Tool));
        assert_eq!(
            check_answer(json, r#"{"jsonrpc":"2.0","id":3}"#, 3),
            Err(Failure::Decode)
        );
        assert_eq!(check_answer(json, "not json", 3), Err(Failure::Decode));
        let sse = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"isError\":false}}\n\n";
        assert_eq!(check_answer("text/event-stream", sse, 7), Ok(()));
        assert_eq!(
            check_answer("text/event-stream", sse, 8),
            Err(Failure::Decode)
        );
    }
}
