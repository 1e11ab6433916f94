//! Ready-to-paste client configurations, printed once with a new key. The README shows these
//! exact documents (a test compares them) and the end-to-end client matrix connects with them.
use serde_json::{Value, json};

/// Cursor (`~/.cursor/mcp.json`): Streamable HTTP with the key in a header.
pub fn cursor_config(key: &str, url: &str) -> Value {
    json!({
        "mcpServers": {
            "pm-mcp": { "url": url, "headers": { "Authorization": format!("Bearer {key}") } }
        }
    })
}

/// Any client that starts a command (Cursor's format): `pm-mcp stdio` with the key in its environment.
pub fn stdio_config(key: &str) -> Value {
    json!({
        "mcpServers": {
            "pm-mcp": { "command": "pm-mcp", "args": ["stdio"], "env": { "PM_MCP_API_KEY": key } }
        }
    })
}

/// VS Code (`.vscode/mcp.json`): asks for the key once and keeps it in its secret storage, so the
/// file holds no secret and can be committed.
pub fn vscode_config(url: &str) -> Value {
    json!({
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
    })
}

/// Claude Code: one command.
pub fn claude_code_command(key: &str, url: &str) -> String {
    format!("claude mcp add --transport http pm-mcp {url} --header \"Authorization: Bearer {key}\"")
}

/// All of them, for `key create --json`.
pub fn all_configs(key: &str, url: &str) -> Value {
    json!({
        "cursor": cursor_config(key, url),
        "vscode": vscode_config(url),
        "claude_code": claude_code_command(key, url),
        "stdio": stdio_config(key),
    })
}

/// The text shown after a key is created: the key, then Cursor, VS Code and Claude Code configs.
pub fn connect_instructions(key: &str, url: &str) -> String {
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    format!(
        "\n    {key}\n\n\
         Copy it now: it is shown only this once (pm-mcp keeps only a hash of it).\n\n\
         Cursor — ~/.cursor/mcp.json (or .cursor/mcp.json in a project; do not commit it):\n{}\n\n\
         VS Code — .vscode/mcp.json (asks for the key on first use):\n{}\n\n\
         Claude Code:\n  {}\n\n\
         Over stdio instead (any client that starts a command):\n{}\n",
        pretty(&cursor_config(key, url)),
        pretty(&vscode_config(url)),
        claude_code_command(key, url),
        pretty(&stdio_config(key)),
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
    fn configs_carry_the_key_and_url() {
        let text = connect_instructions("pmcp_TESTKEY", "http://127.0.0.1:8765/mcp");
        assert!(text.contains("\"Authorization\": \"Bearer pmcp_TESTKEY\""));
        assert!(text.contains("\"type\": \"http\""));
        assert!(text.contains(
            "claude mcp add --transport http pm-mcp http://127.0.0.1:8765/mcp --header \"Authorization: Bearer pmcp_TESTKEY\""
        ));
        assert!(text.contains("\"PM_MCP_API_KEY\": \"pmcp_TESTKEY\""));
        assert!(
            !vscode_config("http://x/mcp").to_string().contains("pmcp_"),
            "the VS Code file holds no key"
        );
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

    /// The README shows exactly the documents pm-mcp prints (with placeholders for key and URL).
    #[test]
    fn the_readme_shows_the_configs_pm_mcp_prints() {
        let readme = include_str!("../../../README.md");
        let blocks: Vec<Value> = readme
            .split("```json\n")
            .skip(1)
            .filter_map(|rest| rest.split("\n```").next())
            .filter_map(|block| serde_json::from_str(block).ok())
            .collect();
        let (key, url) = ("pmcp_…", "http://127.0.0.1:8765/mcp");
        for (name, expected) in [
            ("Cursor", cursor_config(key, url)),
            ("VS Code", vscode_config(url)),
            ("stdio", stdio_config(key)),
        ] {
            assert!(
                blocks.contains(&expected),
                "README lacks the {name} config exactly as printed: {expected}"
            );
        }
        assert!(
            readme.contains(&claude_code_command(key, url)),
            "README lacks the Claude Code command as printed"
        );
    }
}
