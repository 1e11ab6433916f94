//! The static fake Jira's files: every answer both servers need, written once as JSON files that
//! nginx serves as they are. Bodies come from the official Jira Cloud platform spec's examples
//! (`jira-platform-v3.json`), shaped the way `pm-testkit`'s fake Jira shapes them, with only the
//! fields the servers ask for (a real Jira honours `fields=`). REST v3 for pm-mcp's `jira_cloud`
//! connection; REST v2 (Server/Data Center: wiki-text descriptions, users with `name`/`key`) for
//! mcp-atlassian, which treats a localhost URL as Server/Data Center.
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

pub const PROJECT: &str = "EX";
const MIA: &str = "5b10a2844c20165700ede21g";

/// The fields kept on an issue: pm-mcp's list (`ISSUE_FIELDS` and the story points field) and
/// mcp-atlassian's defaults (`created,description,issuetype,status,assignee,labels,summary,
/// updated,reporter,priority,versions` and the comments it shows).
const FIELDS: [&str; 16] = [
    "summary",
    "description",
    "status",
    "priority",
    "issuetype",
    "assignee",
    "reporter",
    "project",
    "parent",
    "duedate",
    "labels",
    "created",
    "updated",
    "versions",
    "comment",
    "customfield_10016",
];

struct Spec(Value);

impl Spec {
    fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the Jira spec {}", path.display()))?;
        Ok(Self(
            serde_json::from_str(&text).context("the Jira spec is not JSON")?,
        ))
    }

    fn example(&self, path: &str, method: &str) -> Result<Value> {
        let v = &self.0["paths"][path][method]["responses"]["200"]["content"]["application/json"]["example"];
        if v.is_null() {
            bail!("the spec has no example for {method} {path}");
        }
        Ok(v.clone())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Api {
    V2,
    V3,
}

impl Api {
    fn dir(self) -> &'static str {
        match self {
            Api::V2 => "rest/api/2",
            Api::V3 => "rest/api/3",
        }
    }
}

fn user(api: Api) -> Value {
    let mut u = json!({
        "accountId": MIA, "displayName": "Mia Krystof", "emailAddress": "mia@example.com",
        "active": true, "timeZone": "Australia/Sydney",
    });
    if api == Api::V2 {
        u["name"] = json!("mia");
        u["key"] = json!("mia");
    }
    u
}

fn issue(template: &Value, api: Api, n: usize) -> Value {
    let key = format!("{PROJECT}-{n}");
    let statuses = [
        ("To Do", "new", "10000"),
        ("In Progress", "indeterminate", "3"),
        ("Done", "done", "10001"),
    ];
    let (status, category, status_id) = statuses[n % 3];
    let mut v = template.clone();
    v["key"] = json!(key);
    v["id"] = json!(format!("2{n}"));
    v["self"] = json!(format!(
        "https://your-domain.atlassian.net/{}/issue/2{n}",
        api.dir()
    ));
    let text = format!("Details of {key}: the checkout page fails when the cart is empty.");
    let mut f = v["fields"].take();
    let comments = match f["comment"].take() {
        Value::Array(list) => list,
        _ => Vec::new(),
    };
    if let Some(map) = f.as_object_mut() {
        map.retain(|k, _| FIELDS.contains(&k.as_str()));
    }
    f["summary"] = json!(format!("Example task {n}"));
    f["description"] = match api {
        Api::V3 => {
            json!({ "type": "doc", "version": 1, "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": text }] }] })
        }
        Api::V2 => json!(text),
    };
    f["status"] = json!({ "id": status_id, "name": status, "statusCategory": { "key": category, "name": status } });
    f["priority"] = json!({ "id": "3", "name": "Medium" });
    f["issuetype"] = json!({ "id": "10001", "name": "Task", "subtask": false });
    f["assignee"] = if n % 2 == 1 { user(api) } else { Value::Null };
    f["reporter"] = user(api);
    f["project"] = json!({ "key": PROJECT, "id": "10000", "name": "Example" });
    f["parent"] = Value::Null;
    f["duedate"] = Value::Null;
    f["labels"] = json!(["checkout"]);
    f["created"] = json!("2026-11-10T09:00:00.000+0000");
    f["updated"] = json!("2026-11-20T16:30:00.000+0000");
    f["versions"] = json!([]);
    f["customfield_10016"] = json!((n % 5 + 1) as f64);
    let total = comments.len();
    f["comment"] =
        json!({ "comments": comments, "maxResults": total, "total": total, "startAt": 0 });
    v["fields"] = f;
    v
}

/// Writes the tree under `out`; returns the files written.
pub fn generate(spec_path: &Path, out: &Path, issues: usize) -> Result<Vec<PathBuf>> {
    let spec = Spec::load(spec_path)?;
    let template = spec.example("/rest/api/3/search/jql", "post")?["issues"][0].clone();
    let mut myself = spec.example("/rest/api/3/myself", "get")?;
    let server_info = spec.example("/rest/api/3/serverInfo", "get")?;
    let mut fields = spec.example("/rest/api/3/field", "get")?;
    if let Some(list) = fields.as_array_mut() {
        list.push(json!({ "id": "customfield_10016", "key": "customfield_10016", "name": "Story point estimate", "custom": true, "orderable": true, "navigable": true, "searchable": true, "clauseNames": ["cf[10016]", "Story point estimate"], "schema": { "type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float", "customId": 10016 } }));
    }
    let mut written = Vec::new();
    let mut put = |rel: String, v: &Value| -> Result<()> {
        let path = out.join(&rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&path, serde_json::to_vec(v)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
        Ok(())
    };
    for api in [Api::V2, Api::V3] {
        let d = api.dir();
        if api == Api::V2 {
            myself["name"] = json!("mia");
            myself["key"] = json!("mia");
        }
        put(format!("{d}/myself"), &myself)?;
        let mut info = server_info.clone();
        info["deploymentType"] = json!(if api == Api::V3 { "Cloud" } else { "Server" });
        put(format!("{d}/serverInfo"), &info)?;
        put(format!("{d}/field"), &fields)?;
        let all: Vec<Value> = (1..=issues).map(|n| issue(&template, api, n)).collect();
        for (n, i) in all.iter().enumerate() {
            put(format!("{d}/issue/{PROJECT}-{}", n + 1), i)?;
        }
        match api {
            // POST /rest/api/3/search/jql: token paging; one page holds every issue.
            Api::V3 => put(
                format!("{d}/search/jql"),
                &json!({ "isLast": true, "issues": all }),
            )?,
            // GET or POST /rest/api/2/search: offset paging.
            Api::V2 => put(
                format!("{d}/search"),
                &json!({ "expand": "schema,names", "startAt": 0, "maxResults": issues, "total": issues, "issues": all }),
            )?,
        }
    }
    Ok(written)
}
