//! Transition screens of the fake Jira: the fields a transition asks for, shown with
//! `expand=transitions.fields` and enforced when the transition is made.
//!
//! As Jira does (platform spec, `GET /rest/api/3/issue/{issueIdOrKey}/transitions`: "`expand` …
//! accepts `transitions.fields`, which returns information about the fields in the transition
//! screen for each transition"; `POST …/transitions`: the `fields` of the transition screen are
//! set in the same request): "Done" (transition 21) has the usual resolve screen with a required
//! `resolution` whose `allowedValues` are the site's resolutions; "Reopen" (41, from Done) asks
//! for a required select "Reopen reason". A transition made without a required field is refused
//! with 400 and the field named in `errors`, and nothing changes (Jira validates the screen
//! before it moves the issue); a value not among `allowedValues` is refused the same way.
use serde_json::{Value, json};

/// The site's resolutions (Jira's defaults: `GET /rest/api/{2,3}/resolution`).
pub const RESOLUTIONS: [(&str, &str); 4] = [
    ("10000", "Done"),
    ("10001", "Won't Do"),
    ("10002", "Duplicate"),
    ("10003", "Cannot Reproduce"),
];

/// The custom select a reopen asks for, and its options.
pub const REOPEN_REASON: &str = "customfield_10300";
const REOPEN_OPTIONS: [(&str, &str); 2] = [("10400", "Regression"), ("10401", "Incomplete")];

/// The transition screen's fields of transition `id`, as `expand=transitions.fields` shows them
/// (`FieldMetadata` of the spec: `required`, `schema`, `name`, `key`, `hasDefaultValue`,
/// `operations`, `allowedValues`). Empty for a transition without a screen.
pub fn fields(id: &str) -> Value {
    match id {
        "21" => json!({
            "resolution": {
                "required": true,
                "schema": { "type": "resolution", "system": "resolution" },
                "name": "Resolution", "key": "resolution",
                "hasDefaultValue": false, "operations": ["set"],
                "allowedValues": RESOLUTIONS.iter().map(|(id, name)| json!({ "self": format!("https://jira.example.com/rest/api/2/resolution/{id}"), "id": id, "name": name })).collect::<Vec<_>>()
            }
        }),
        "41" => json!({
            REOPEN_REASON: {
                "required": true,
                "schema": { "type": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select", "customId": 10300 },
                "name": "Reopen reason", "key": REOPEN_REASON,
                "hasDefaultValue": false, "operations": ["set"],
                "allowedValues": REOPEN_OPTIONS.iter().map(|(id, v)| json!({ "self": format!("https://jira.example.com/rest/api/2/customFieldOption/{id}"), "id": id, "value": v })).collect::<Vec<_>>()
            }
        }),
        _ => json!({}),
    }
}

/// Checks the `fields` of a transition request against the screen of transition `id`: the
/// errors Jira would answer (field → message), or the resolution set, if any.
pub fn check(id: &str, body: &Value) -> Result<Option<String>, serde_json::Map<String, Value>> {
    let screen = fields(id);
    let given = &body["fields"];
    let mut errors = serde_json::Map::new();
    let mut resolution = None;
    for (key, meta) in screen.as_object().into_iter().flatten() {
        let value = &given[key];
        let name = meta["name"].as_str().unwrap_or(key);
        if value.is_null() {
            if meta["required"] == true {
                errors.insert(key.clone(), json!(format!("{name} is required.")));
            }
            continue;
        }
        // A choice is given by `name` (resolution) or `value` (option), or by `id`.
        let allowed = meta["allowedValues"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let chosen = allowed.iter().find(|a| {
            (value["id"].is_string() && a["id"] == value["id"])
                || (value["name"].is_string() && a["name"] == value["name"])
                || (value["value"].is_string() && a["value"] == value["value"])
        });
        match chosen {
            Some(a) if key == "resolution" => resolution = a["name"].as_str().map(str::to_string),
            Some(_) => {}
            None => {
                errors.insert(
                    key.clone(),
                    json!(format!("The value given for {name} is not valid.")),
                );
            }
        }
    }
    // A field not on the screen cannot be set through the transition.
    for key in given.as_object().into_iter().flatten().map(|(k, _)| k) {
        if screen.get(key).is_none() {
            errors.insert(
                key.clone(),
                json!(format!(
                    "Field '{key}' cannot be set. It is not on the appropriate screen, or unknown."
                )),
            );
        }
    }
    if errors.is_empty() {
        Ok(resolution)
    } else {
        Err(errors)
    }
}
