//! Boards of the fake Jira (Agile 1.0, the same on both editions), as real sites have them:
//! - `GET /board?projectKeyOrId=` lists every board *relevant* to the project — "Relevance means
//!   that the jql filter defined in board contains a reference to a project" (Agile spec) — so a
//!   cross-project board located in another project comes back too, and first when its id is
//!   lower: EX's list is the Portfolio board (12, scrum, located in P2), EX's own scrum board
//!   (84) and its Kanban board (92). Each board shows its `location` (`projectKey`, `projectId`).
//! - Team-managed (next-gen) projects have one board of type `simple`; it has sprints only when
//!   the project's Sprints feature is on (P3: on; P4: off). A board without sprints answers
//!   `GET /board/{id}/sprint` with 400 "The board does not support sprints" (Kanban boards too).
//! - `GET /board/{id}/configuration` (spec example as the template) carries the board's
//!   estimation: `{"type": "field", "field": {"fieldId", "displayName"}}`. Sites often have both
//!   "Story Points" (customfield_10026, a number field) and "Story point estimate"
//!   (customfield_10016, `jsw-story-points`): P5's company-managed board estimates with the first.
//! - `POST /project` with a Scrum or Kanban `projectTemplateKey` creates the project's board
//!   (Cloud: `gh-simplified-scrum-classic` / `gh-simplified-kanban-classic`; Data Center:
//!   `gh-scrum-template` / `gh-kanban-template`); without a template no board is made (platform
//!   spec, `POST /rest/api/3/project`: "If you want to create a new project with an associated
//!   board, use … `projectTemplateKey`"; Agile spec, `POST /board`).
//! - `GET /sprint/{id}/issue` (spec): the sprint's issues, `jql` narrowing them, `startAt` /
//!   `maxResults` / `total` paging.
//! - Completing a sprint (`POST /sprint/{id}` with `state: closed`) sends its unfinished issues to
//!   the backlog: they leave the board's open sprints, and the closed sprint stays in their
//!   Sprint field (jira-cli's "close sprint", ankitpokhrel/jira-cli#756: "Default behavior is
//!   that open tickets move to backlog"). In the fake, an issue whose sprint is closed is in the
//!   backlog; the count of those moved is kept in `moved_to_backlog`.
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Edition, Shared, example_of_agile, jira_error, paging, run_jql};

/// One board of the site.
#[derive(Debug, Clone)]
pub struct FakeBoard {
    pub id: u64,
    pub name: String,
    /// `scrum`, `kanban` or `simple`.
    pub kind: &'static str,
    /// The project the board is located in.
    pub location: String,
    /// The projects its filter names.
    pub projects: Vec<String>,
    /// The estimation field (id, name), if the board estimates with one.
    pub estimation: Option<(&'static str, &'static str)>,
    /// Whether the board has sprints (scrum; simple with the Sprints feature on).
    pub sprints: bool,
    /// The status ids mapped to the board's last column: Jira Software treats that column as
    /// "Done" (Agile spec, `GET /board/{boardId}/configuration`: "the last column with statuses
    /// mapped to it is treated as the 'Done' column"), whatever the statuses' categories; a
    /// completed sprint sends every issue not in it back to the backlog.
    pub done: Vec<&'static str>,
}

/// The legacy "Story Points" number field of Cloud sites, beside "Story point estimate".
pub const LEGACY_POINTS: (&str, &str) = ("customfield_10026", "Story Points");

/// The seeded boards (see the module doc).
pub fn seed(edition: Edition) -> Vec<FakeBoard> {
    let points = match edition {
        Edition::Cloud => ("customfield_10016", "Story point estimate"),
        Edition::DataCenter => ("customfield_10106", "Story Points"),
    };
    let legacy = match edition {
        Edition::Cloud => LEGACY_POINTS,
        Edition::DataCenter => points,
    };
    let board =
        |id, name: &str, kind, location: &str, projects: &[&str], estimation, sprints| FakeBoard {
            id,
            name: name.to_string(),
            kind,
            location: location.to_string(),
            projects: projects.iter().map(|p| p.to_string()).collect(),
            estimation,
            sprints,
            done: vec!["10001"],
        };
    // Data Center has no team-managed projects: P3 and P4 have a Scrum and a Kanban board.
    let (p3, p4) = match edition {
        Edition::Cloud => (
            board(95, "P3 board", "simple", "P3", &["P3"], Some(points), true),
            board(96, "P4 board", "simple", "P4", &["P4"], Some(points), false),
        ),
        Edition::DataCenter => (
            board(95, "P3 board", "scrum", "P3", &["P3"], Some(points), true),
            board(96, "P4 board", "kanban", "P4", &["P4"], None, false),
        ),
    };
    vec![
        board(
            12,
            "Portfolio",
            "scrum",
            "P2",
            &["P2", "EX"],
            Some(legacy),
            true,
        ),
        board(84, "EX board", "scrum", "EX", &["EX"], Some(points), true),
        board(92, "EX flow", "kanban", "EX", &["EX"], None, false),
        p3,
        p4,
        board(97, "P5 board", "scrum", "P5", &["P5"], Some(legacy), true),
    ]
}

/// Whether `project` is team-managed (next-gen): its board is a `simple` one (Cloud only).
pub fn team_managed(f: &super::Fake, project: &str) -> bool {
    f.boards
        .lock()
        .unwrap()
        .iter()
        .any(|b| b.location == project && b.kind == "simple")
}

/// The story points field of a project's issues: the estimation field of the board located in
/// it (the field its create and edit screens carry), else the site's.
pub fn points_of(f: &super::Fake, project: &str) -> Option<(&'static str, &'static str)> {
    f.boards
        .lock()
        .unwrap()
        .iter()
        .filter(|b| b.location == project)
        .find_map(|b| b.estimation)
}

fn project_id(key: &str) -> u64 {
    10_000 + key.bytes().map(u64::from).sum::<u64>()
}

/// A board as the Agile API shows one.
fn board_json(b: &FakeBoard) -> Value {
    let mut v = example_of_agile("/rest/agile/1.0/board/{boardId}");
    v["id"] = json!(b.id);
    v["self"] = json!(format!(
        "https://jira.example.com/rest/agile/1.0/board/{}",
        b.id
    ));
    v["name"] = json!(b.name);
    v["type"] = json!(b.kind);
    v["location"] = json!({
        "projectId": project_id(&b.location), "displayName": format!("Project {}", b.location),
        "projectName": format!("Project {}", b.location), "projectKey": b.location,
        "projectTypeKey": "software", "name": format!("Project {}", b.location)
    });
    v
}

fn no_board() -> Response {
    jira_error(
        StatusCode::NOT_FOUND,
        "The requested board cannot be viewed because it either does not exist or you do not have permission to view it.",
    )
}

/// `GET /rest/agile/1.0/board`: the boards relevant to `projectKeyOrId` (key or id), of the
/// `type`s asked (comma-separated), paged (`startAt`, `maxResults` at most 50, `total`, `isLast`).
pub async fn list(State(f): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let project = q.get("projectKeyOrId").cloned();
    let kinds: Option<Vec<String>> = q
        .get("type")
        .map(|t| t.split(',').map(|k| k.trim().to_string()).collect());
    let (start, max) = paging(&q, 50, 50);
    let all: Vec<Value> = f
        .boards
        .lock()
        .unwrap()
        .iter()
        .filter(|b| {
            project.as_ref().is_none_or(|p| {
                b.projects
                    .iter()
                    .any(|k| k == p || project_id(k).to_string() == *p)
            })
        })
        .filter(|b| kinds.as_ref().is_none_or(|k| k.iter().any(|k| k == b.kind)))
        .map(board_json)
        .collect();
    let page: Vec<Value> = all.iter().skip(start).take(max).cloned().collect();
    let is_last = start + page.len() >= all.len();
    axum::Json(json!({ "maxResults": max, "startAt": start, "total": all.len(), "isLast": is_last, "values": page })).into_response()
}

/// `GET /rest/agile/1.0/board/{boardId}`.
pub async fn get(State(f): State<Shared>, Path(id): Path<u64>) -> Response {
    match board_of(&f, id) {
        Ok(b) => axum::Json(board_json(&b)).into_response(),
        Err(r) => r,
    }
}

/// Board `id`, or Jira's 404 for a board that does not exist.
fn board_of(f: &super::Fake, id: u64) -> Result<FakeBoard, Response> {
    f.boards
        .lock()
        .unwrap()
        .iter()
        .find(|b| b.id == id)
        .cloned()
        .ok_or_else(no_board)
}

/// `GET /rest/agile/1.0/board/{boardId}/configuration`: the spec's example, with the board's
/// location and estimation (`type: none` for a board that does not estimate).
pub async fn configuration(State(f): State<Shared>, Path(id): Path<u64>) -> Response {
    let b = match board_of(&f, id) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut v = example_of_agile("/rest/agile/1.0/board/{boardId}/configuration");
    v["id"] = json!(b.id);
    v["name"] = json!(b.name);
    v["type"] = json!(b.kind);
    v["location"] = json!({ "type": "project", "key": b.location, "id": project_id(&b.location).to_string(), "name": format!("Project {}", b.location) });
    // The board's columns: To Do, In Progress, and the last ("Done") with the board's done
    // statuses; a status mapped to the last column is in no other.
    let column = |name: &str, ids: Vec<&str>| json!({ "name": name, "statuses": ids.iter().map(|id| json!({ "id": id, "self": "" })).collect::<Vec<_>>() });
    let before = |id: &'static str| (!b.done.contains(&id)).then_some(id);
    v["columnConfig"] = json!({ "constraintType": "issueCount", "columns": [
        column("To Do", before("10000").into_iter().collect()),
        column("In Progress", before("3").into_iter().collect()),
        column("Done", b.done.clone()),
    ] });
    v["estimation"] = match b.estimation {
        Some((id, name)) => {
            json!({ "type": "field", "field": { "fieldId": id, "displayName": name } })
        }
        None => json!({ "type": "none" }),
    };
    axum::Json(v).into_response()
}

/// `GET /rest/agile/1.0/board/{boardId}/sprint`: the sprints made on the board, by `state`
/// (comma-separated), paged; a board without sprints is refused as Jira refuses it.
pub async fn sprints(
    State(f): State<Shared>,
    Path(board): Path<u64>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let b = match board_of(&f, board) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if !b.sprints {
        return jira_error(
            StatusCode::BAD_REQUEST,
            "The board does not support sprints",
        );
    }
    let states: Vec<String> = q
        .get("state")
        .map(|s| s.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let (start, max) = paging(&q, 50, 50);
    let all: Vec<Value> = f
        .sprints
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s["originBoardId"] == json!(board))
        .filter(|s| states.is_empty() || states.iter().any(|st| s["state"] == json!(st)))
        .cloned()
        .collect();
    let page: Vec<Value> = all.iter().skip(start).take(max).cloned().collect();
    let is_last = start + page.len() >= all.len();
    axum::Json(json!({ "maxResults": max, "startAt": start, "total": all.len(), "isLast": is_last, "values": page })).into_response()
}

/// Whether a sprint may be made on `board` (`POST /sprint`'s `originBoardId`).
pub fn takes_sprints(f: &super::Fake, board: &Value) -> bool {
    board.as_u64().is_some_and(|id| {
        f.boards
            .lock()
            .unwrap()
            .iter()
            .any(|b| b.id == id && b.sprints)
    })
}

/// The board a project template makes, if it makes one: (kind, template is the edition's).
fn template_board(edition: Edition, template: &str) -> Result<Option<&'static str>, ()> {
    let known: &[(&str, Option<&'static str>)] = match edition {
        Edition::Cloud => &[
            (
                "com.pyxis.greenhopper.jira:gh-simplified-scrum-classic",
                Some("scrum"),
            ),
            (
                "com.pyxis.greenhopper.jira:gh-simplified-agility-scrum",
                Some("simple"),
            ),
            (
                "com.pyxis.greenhopper.jira:gh-simplified-kanban-classic",
                Some("kanban"),
            ),
            (
                "com.pyxis.greenhopper.jira:gh-simplified-agility-kanban",
                Some("simple"),
            ),
            ("com.pyxis.greenhopper.jira:gh-simplified-basic", None),
        ],
        Edition::DataCenter => &[
            (
                "com.pyxis.greenhopper.jira:gh-scrum-template",
                Some("scrum"),
            ),
            (
                "com.pyxis.greenhopper.jira:gh-kanban-template",
                Some("kanban"),
            ),
            (
                "com.pyxis.greenhopper.jira:basic-software-development-template",
                None,
            ),
        ],
    };
    known
        .iter()
        .find(|(k, _)| *k == template)
        .map(|(_, b)| *b)
        .ok_or(())
}

/// Checks a new project's `projectTemplateKey` (`Err`: Jira's 400 field message) and makes the
/// board it comes with, once the project exists.
pub fn check_template(f: &super::Fake, body: &Value) -> Result<Option<&'static str>, String> {
    match body["projectTemplateKey"].as_str() {
        None => Ok(None),
        Some(t) => template_board(f.edition, t)
            .map_err(|()| format!("The project template '{t}' is not valid for this site.")),
    }
}

/// Makes the board of a project created from a template.
pub fn add_board(f: &super::Fake, key: &str, kind: &'static str) {
    let mut boards = f.boards.lock().unwrap();
    let id = boards.iter().map(|b| b.id).max().unwrap_or(0) + 1;
    let points = match f.edition {
        Edition::Cloud => ("customfield_10016", "Story point estimate"),
        Edition::DataCenter => ("customfield_10106", "Story Points"),
    };
    boards.push(FakeBoard {
        id,
        name: format!("{key} board"),
        kind,
        location: key.to_string(),
        projects: vec![key.to_string()],
        estimation: (kind != "kanban").then_some(points),
        sprints: kind != "kanban",
        done: vec!["10001"],
    });
}

/// `GET /rest/agile/1.0/sprint/{sprintId}/issue`: the sprint's issues (`jql` narrows them),
/// paged by `startAt` / `maxResults` with `total`; only `key` and the asked `fields` are shown.
pub async fn sprint_issues(
    State(f): State<Shared>,
    Path(id): Path<u64>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !f
        .sprints
        .lock()
        .unwrap()
        .iter()
        .any(|s| s["id"] == json!(id))
    {
        return jira_error(
            StatusCode::NOT_FOUND,
            "Sprint does not exist or you do not have permission to see it.",
        );
    }
    let jql = match q.get("jql").map(|j| j.trim()).filter(|j| !j.is_empty()) {
        Some(j) => format!("sprint = \"{id}\" AND {j}"),
        None => format!("sprint = \"{id}\""),
    };
    let hits = match run_jql(&f, &jql) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let (start, max) = paging(&q, 50, 100);
    let page: Vec<Value> = hits
        .iter()
        .skip(start)
        .take(max)
        .map(|i| json!({ "key": i.key, "fields": { "status": { "name": i.status.0, "statusCategory": { "key": i.status.1 } } } }))
        .collect();
    axum::Json(json!({ "expand": "schema,names", "startAt": start, "maxResults": max, "total": hits.len(), "issues": page })).into_response()
}

/// On completing sprint `id`: its issues not in its board's last column go to the backlog (see
/// the module doc and `FakeBoard::done`).
/// (`board` is the sprint's origin board; the caller holds the sprints' lock.)
pub fn complete(f: &super::Fake, id: u64, board: Option<u64>) {
    let done: Vec<&'static str> = f
        .boards
        .lock()
        .unwrap()
        .iter()
        .find(|b| Some(b.id) == board)
        .map_or_else(|| vec!["10001"], |b| b.done.clone());
    let moved = f
        .issues
        .lock()
        .unwrap()
        .iter()
        .filter(|i| i.sprint == Some(id) && !done.contains(&super::status_id(i.status.0)))
        .count();
    f.moved_to_backlog.lock().unwrap().insert(id, moved);
}
