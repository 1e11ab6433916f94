//! MCP Apps (the `io.modelcontextprotocol/ui` extension, revision 2026-01-26): interactive views
//! a host that declares the extension shows in its conversation, fed by a tool's result.
//!
//! - `ui://pm-mcp/sprint-board`: the sprint's tasks in columns by status category, one section per
//!   status; dragging a card (or choosing from its menu) calls `update_task_status` through the
//!   host, and the card shows what the tracker then holds, or the tracker's refusal in words.
//!   Linked from `get_sprint_tasks`.
//! - `ui://pm-mcp/burndown`: the burndown (ideal line, scope, scope changes, values on hover), with
//!   velocity and cumulative-flow views. Linked from `burndown_chart`, `velocity_chart` and
//!   `cfd_chart`.
//!
//! Each view is one HTML document with its script and style inline, embedded in the binary:
//! nothing is loaded from anywhere at run time, and each declares the spec's most restrictive
//! Content-Security-Policy (no network, no frames). Every call a view makes goes through the host
//! to this server as an ordinary `tools/call`, so it runs under the caller's key, scopes, toolsets
//! and audit like any other. Hosts without the extension ignore the `_meta` links and keep the
//! tools' text, structured and PNG answers, which do not change.
use rmcp::model::{MetaObject, ReadResourceResult, Resource, ResourceContents};
use serde_json::{Value, json};

/// The extension's id, as clients and servers declare it in their capabilities.
pub const EXTENSION: &str = "io.modelcontextprotocol/ui";
/// The only MIME type of an app's HTML the extension defines.
pub const MIME: &str = "text/html;profile=mcp-app";

/// One view's document: the shared style and bridge, then the view's own, all inline.
macro_rules! page {
    ($title:literal, $name:literal, $body:literal) => {
        concat!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<title>",
            $title,
            "</title>\n<style>\n",
            include_str!("../apps/common.css"),
            include_str!(concat!("../apps/", $name, ".css")),
            "</style></head>\n<body>\n",
            $body,
            "\n<script>\n",
            include_str!("../apps/bridge.js"),
            include_str!(concat!("../apps/", $name, ".js")),
            "</script></body></html>\n"
        )
    };
}

/// One view.
pub struct App {
    pub uri: &'static str,
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub html: &'static str,
    /// The tools whose results it shows (linked from their `_meta`).
    pub tools: &'static [&'static str],
}

pub const SPRINT_BOARD: App = App {
    uri: "ui://pm-mcp/sprint-board",
    name: "sprint-board",
    title: "Sprint board",
    description: "The sprint's tasks in columns by status; drag a card to change its status in the tracker.",
    html: page!(
        "Sprint board",
        "sprint-board",
        r#"<header><h1 id="title">Sprint board</h1><p class="sub" id="about"></p><p class="sub" id="goal"></p></header>
<div id="message" class="message" role="status"></div>
<div id="board"></div>
<div id="more"></div>"#
    ),
    tools: &["get_sprint_tasks"],
};

pub const BURNDOWN: App = App {
    uri: "ui://pm-mcp/burndown",
    name: "burndown",
    title: "Sprint charts",
    description: "Burndown with the ideal line and scope changes, velocity and cumulative flow, with values on hover.",
    html: page!(
        "Sprint charts",
        "burndown",
        r#"<header><h1 id="title">Sprint charts</h1></header>
<div id="tabs" role="tablist" aria-label="Charts"></div>
<div id="message" class="message" role="status"></div>
<p id="tip" aria-live="polite"></p>
<div id="panel"></div>"#
    ),
    tools: &["burndown_chart", "velocity_chart", "cfd_chart"],
};

pub const APPS: [&App; 2] = [&SPRINT_BOARD, &BURNDOWN];

/// The view a tool's results are shown in, if any.
pub fn for_tool(tool: &str) -> Option<&'static App> {
    APPS.into_iter().find(|a| a.tools.contains(&tool))
}

/// The `_meta` of a tool shown in `app`: the link the spec defines (`ui.resourceUri`, visible to
/// the model and callable by the view), and its earlier flat form, which hosts still read.
pub fn tool_meta(app: &App) -> MetaObject {
    let mut meta = MetaObject::new();
    meta.0.insert(
        "ui".into(),
        json!({ "resourceUri": app.uri, "visibility": ["model", "app"] }),
    );
    meta.0.insert("ui/resourceUri".into(), json!(app.uri));
    meta
}

/// The view's `_meta.ui`: the spec's restrictive policy spelled out (no domain to connect to, load
/// from or frame), and a border, as a card in the conversation.
fn resource_meta() -> MetaObject {
    let mut meta = MetaObject::new();
    meta.0.insert(
        "ui".into(),
        json!({
            "csp": { "connectDomains": [], "resourceDomains": [], "frameDomains": [], "baseUriDomains": [] },
            "prefersBorder": true,
        }),
    );
    meta
}

/// The views as `resources/list` entries.
pub fn resources() -> Vec<Resource> {
    APPS.into_iter()
        .map(|a| {
            let mut r = Resource::new(a.uri, a.name)
                .with_title(a.title)
                .with_description(a.description)
                .with_mime_type(MIME);
            r.size = u64::try_from(a.html.len()).ok();
            r.meta = Some(resource_meta());
            r
        })
        .collect()
}

/// `resources/read` of a view; `None` for a URI that is not one.
pub fn read(uri: &str) -> Option<ReadResourceResult> {
    let app = APPS.into_iter().find(|a| a.uri == uri)?;
    Some(ReadResourceResult::new(vec![
        ResourceContents::text(app.html, app.uri)
            .with_mime_type(MIME)
            .with_meta(resource_meta()),
    ]))
}

/// What the server declares under `capabilities.extensions`.
pub fn capability() -> Value {
    json!({ "mimeTypes": [MIME] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_view_is_one_self_contained_document() {
        for app in APPS {
            let html = app.html;
            assert!(html.starts_with("<!DOCTYPE html>"), "{}", app.uri);
            // Nothing fetched at run time: no external script, style, image or font, no fetch.
            for banned in [
                "src=\"http",
                "href=\"http",
                "src='http",
                "@import",
                "url(http",
                "fetch(",
                "XMLHttpRequest",
                "WebSocket",
                "eval(",
                "new Function",
            ] {
                assert!(!html.contains(banned), "{} contains {banned:?}", app.uri);
            }
            assert!(app.uri.starts_with("ui://pm-mcp/"));
        }
    }

    #[test]
    fn views_read_with_the_extensions_mime_type_and_policy() {
        let read = read(SPRINT_BOARD.uri).expect("the board");
        let v = serde_json::to_value(&read).expect("json");
        assert_eq!(v["contents"][0]["mimeType"], MIME);
        assert_eq!(v["contents"][0]["uri"], SPRINT_BOARD.uri);
        assert_eq!(
            v["contents"][0]["_meta"]["ui"]["csp"]["connectDomains"],
            json!([])
        );
        assert!(super::read("ui://pm-mcp/other").is_none());
        let list = serde_json::to_value(resources()).expect("json");
        assert_eq!(list[1]["uri"], BURNDOWN.uri);
        assert_eq!(list[1]["mimeType"], MIME);
        assert_eq!(list[1]["size"], BURNDOWN.html.len());
    }

    #[test]
    fn tools_link_to_their_view_in_both_forms() {
        assert_eq!(
            for_tool("get_sprint_tasks").map(|a| a.uri),
            Some(SPRINT_BOARD.uri)
        );
        assert_eq!(for_tool("cfd_chart").map(|a| a.uri), Some(BURNDOWN.uri));
        assert!(for_tool("update_task_status").is_none());
        let meta = serde_json::to_value(tool_meta(&BURNDOWN)).expect("json");
        assert_eq!(
            meta,
            json!({ "ui": { "resourceUri": BURNDOWN.uri, "visibility": ["model", "app"] },
                    "ui/resourceUri": BURNDOWN.uri })
        );
    }
}
