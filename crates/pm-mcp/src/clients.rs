//! Ready-to-paste client configurations, printed once with a new key.
use serde_json::json;

/// The text shown after a key is created: the key, then Cursor, VS Code and Claude Code configs.
pub fn connect_instructions(key: &str, url: &str) -> String {
    let cursor = json!({
        "mcpServers": {
            "pm-mcp": { "url": url, "headers": { "Authorization": format!("Bearer {key}") } }
        }
    });
    // VS Code asks for the key once and keeps it in its secret storage, so the file can be committed.
    let vscode = json!({
        "inputs": [{
            "type": "promptString",
            "id": "pm-mcp-key",
            "description": "pm-mcp API key",
            "password": true
        }],
        "servers": {
            "pm-mcp": {
                "type": "http",
                "url": url,
                "headers": { "Authorization": "Bearer ${input:pm-mcp-key}" }
            }
        }
    });
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
    format!(
        "\n    {key}\n\n\
         Copy it now: it is shown only this once (pm-mcp keeps only a hash of it).\n\n\
         Cursor — ~/.cursor/mcp.json (or .cursor/mcp.json in a project; do not commit it):\n{}\n\n\
         VS Code — .vscode/mcp.json (asks for the key on first use):\n{}\n\n\
         Claude Code:\n  claude mcp add --transport http pm-mcp {url} --header \"Authorization: Bearer {key}\"\n\n\
         Over stdio instead (any client that starts a command):\n  PM_MCP_API_KEY={key} pm-mcp stdio\n",
        pretty(&cursor),
        pretty(&vscode),
    )
}

/// The MCP URL clients use: the configured public URL, or one derived from the listen address.
pub fn mcp_url(public_url: Option<&str>, listen: std::net::SocketAddr) -> String {
    if let Some(url) = public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = match listen.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        ip => ip.to_string(),
    };
    format!("http://{host}:{}/mcp", listen.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_are_valid_json_with_the_key_and_url() {
        let text = connect_instructions("pmcp_TESTKEY", "http://127.0.0.1:8765/mcp");
        assert!(text.contains("\"Authorization\": \"Bearer pmcp_TESTKEY\""));
        assert!(text.contains("\"type\": \"http\""));
        assert!(text.contains("claude mcp add --transport http pm-mcp http://127.0.0.1:8765/mcp --header \"Authorization: Bearer pmcp_TESTKEY\""));
        assert_eq!(
            mcp_url(None, "0.0.0.0:9000".parse().unwrap()),
            "http://127.0.0.1:9000/mcp"
        );
        assert_eq!(
            mcp_url(
                Some("https://mcp.acme.org/mcp/"),
                "0.0.0.0:9000".parse().unwrap()
            ),
            "https://mcp.acme.org/mcp"
        );
    }
}
