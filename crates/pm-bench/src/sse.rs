//! Legacy SSE connections as the reference's agent backend opens them (issue 20): a new `GET /sse`
//! for every tool call. `open`: the stream is opened, its `endpoint` event read, and the connection
//! dropped — connections opened per second, and the time to the `endpoint` event. `call`: what the
//! backend does per tool call — open, `initialize`, `notifications/initialized`, one `tools/call`
//! (`list_providers`), its answer read from the stream, then closed.
use anyhow::{Context, Result};
use serde_json::{Value, json};

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SseMode {
    /// Open the stream and read the endpoint event.
    Open,
    /// Open, initialize, one tool call, close.
    Call,
}

pub struct SseWorker {
    pub http: reqwest::Client,
    /// The server's base URL, e.g. http://127.0.0.1:8765
    pub base: String,
    pub key: String,
    pub mode: SseMode,
}

type Bytes = reqwest::Response;

/// The next SSE event (`event`, `data`), skipping keep-alives.
async fn next_event(stream: &mut Bytes, buf: &mut String) -> Result<(String, String), String> {
    loop {
        if let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
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
                return Ok((event, data.join("\n")));
            }
            continue;
        }
        match stream.chunk().await {
            Ok(Some(chunk)) => buf.push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n")),
            Ok(None) => return Err("stream closed".into()),
            Err(_) => return Err("stream".into()),
        }
    }
}

impl SseWorker {
    async fn post(&self, endpoint: &str, body: Value) -> Result<(), String> {
        let res = self
            .http
            .post(format!("{}{endpoint}", self.base))
            .header("X-MCP-API-Key", &self.key)
            .json(&body)
            .send()
            .await
            .map_err(|_| "transport".to_string())?;
        if res.status().as_u16() == 202 {
            Ok(())
        } else {
            Err(format!("post {}", res.status().as_u16()))
        }
    }

    /// The reply with `id` from the stream.
    async fn reply(stream: &mut Bytes, buf: &mut String, id: u64) -> Result<Value, String> {
        loop {
            let (_, data) = next_event(stream, buf).await?;
            let v: Value = serde_json::from_str(&data).map_err(|_| "not json".to_string())?;
            if v["id"] == id {
                return Ok(v);
            }
        }
    }
}

impl crate::load::Worker for SseWorker {
    async fn call(&mut self) -> Result<(), String> {
        let res = self
            .http
            .get(format!("{}/sse", self.base))
            .header("X-MCP-API-Key", &self.key)
            .header("accept", "text/event-stream")
            .send()
            .await
            .map_err(|_| "transport".to_string())?;
        if !res.status().is_success() {
            return Err(format!("http {}", res.status().as_u16()));
        }
        let mut stream: Bytes = res;
        let mut buf = String::new();
        let (event, endpoint) = next_event(&mut stream, &mut buf).await?;
        if event != "endpoint" {
            return Err("no endpoint event".into());
        }
        if self.mode == SseMode::Open {
            return Ok(());
        }
        self.post(&endpoint, json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
            "protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"pm-bench","version":"1"}}}))
            .await?;
        Self::reply(&mut stream, &mut buf, 1).await?;
        self.post(
            &endpoint,
            json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
        )
        .await?;
        self.post(
            &endpoint,
            json!({"jsonrpc":"2.0","id":2,"method":"tools/call",
            "params":{"name":"list_providers","arguments":{}}}),
        )
        .await?;
        let answer = Self::reply(&mut stream, &mut buf, 2).await?;
        if answer.get("result").is_some() && answer["result"]["isError"] != true {
            Ok(())
        } else {
            Err("tool error".into())
        }
    }
}

/// Checks the server answers `GET /sse` for this key before the measured run.
pub async fn probe(http: &reqwest::Client, base: &str, key: &str) -> Result<()> {
    let mut w = SseWorker {
        http: http.clone(),
        base: base.to_string(),
        key: key.to_string(),
        mode: SseMode::Open,
    };
    crate::load::Worker::call(&mut w)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("GET /sse failed")
}
