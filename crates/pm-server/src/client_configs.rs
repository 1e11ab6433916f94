//! Ready-to-paste MCP client configurations for a key, and the one-click install links of the
//! clients that have them: printed by the CLI with a new key, shown once by the web console.
use base64::Engine as _;
use serde_json::{Value, json};

/// Cursor (`~/.cursor/mcp.json`): Streamable HTTP with the key in a header.
pub fn cursor_config(key: &str, url: &str) -> Value {
    json!({ "mcpServers": { "pm-mcp": cursor_server(key, url) } })
}

fn cursor_server(key: &str, url: &str) -> Value {
    json!({ "url": url, "headers": { "Authorization": format!("Bearer {key}") } })
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

/// Cursor's install link (`cursor://anysphere.cursor-deeplink/mcp/install`): the server's entry
/// of `mcp.json`, base64-encoded, under the name `pm-mcp`.
pub fn cursor_install_link(key: &str, url: &str) -> String {
    let config = cursor_server(key, url).to_string();
    let encoded = base64::engine::general_purpose::STANDARD.encode(config);
    format!(
        "cursor://anysphere.cursor-deeplink/mcp/install?name=pm-mcp&config={}",
        percent_encode(&encoded)
    )
}

/// VS Code's install link (`vscode:mcp/install?{json}`): the server with its name; VS Code asks
/// for the key (an input kept in its secret storage) rather than the link carrying it.
pub fn vscode_install_link(url: &str) -> String {
    let config = json!({
        "name": "pm-mcp",
        "type": "http",
        "url": url,
        "headers": { "Authorization": "Bearer ${input:pm-mcp-key}" },
        "inputs": [{
            "type": "promptString",
            "id": "pm-mcp-key",
            "description": "pm-mcp API key",
            "password": true
        }]
    });
    format!("vscode:mcp/install?{}", percent_encode(&config.to_string()))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> String {
        let mut bytes = Vec::new();
        let mut it = text.bytes();
        while let Some(b) = it.next() {
            if b == b'%' {
                let hex: String = [it.next().unwrap_or(b'0'), it.next().unwrap_or(b'0')]
                    .iter()
                    .map(|c| *c as char)
                    .collect();
                bytes.push(u8::from_str_radix(&hex, 16).expect("hex"));
            } else {
                bytes.push(b);
            }
        }
        String::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn install_links_carry_the_configs_the_clients_read() {
        let url = "https://pm.acme.org/mcp";
        let link = cursor_install_link("pmcp_k", url);
        let config = link
            .strip_prefix("cursor://anysphere.cursor-deeplink/mcp/install?name=pm-mcp&config=")
            .expect("cursor's form");
        let json = base64::engine::general_purpose::STANDARD
            .decode(decode(config))
            .expect("base64");
        let value: Value = serde_json::from_slice(&json).expect("json");
        assert_eq!(value["url"], url);
        assert_eq!(value["headers"]["Authorization"], "Bearer pmcp_k");

        let link = vscode_install_link(url);
        let json = decode(
            link.strip_prefix("vscode:mcp/install?")
                .expect("vs code's form"),
        );
        let value: Value = serde_json::from_str(&json).expect("json");
        assert_eq!(value["name"], "pm-mcp");
        assert_eq!(value["type"], "http");
        assert_eq!(value["url"], url);
        assert!(!json.contains("pmcp_"), "the VS Code link asks for the key");
    }
}
