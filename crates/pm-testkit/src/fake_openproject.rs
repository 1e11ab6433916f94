//! A fake OpenProject (API v3, HAL+JSON) that answers as the real one does, traps included:
//! `offset` is a page number, a list of work packages without `filters` shows open ones only,
//! `lockVersion` guards every PATCH of a work package, status moves follow a workflow, errors come
//! as OpenProject's `Error` bodies, every `href` carries the sub-path OpenProject lives under, and
//! time entries name their work package `workPackage` before 16.0 and `entity` from 16.0 on.
//!
//! Shapes follow the official spec (`openproject-v3.json` in the shared specs folder, see
//! [`crate::fake_jira::spec_dir`]); the data is seeded by hand (see [`spawn`]).
#![allow(clippy::unwrap_used, clippy::result_large_err)] // test fixture code

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{RawPathParams, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::fake::{Checks, Failure, Guard, Running};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

/// The user the API key belongs to ("me"): Mia Krystof, an administrator.
pub const ME: u64 = 5;
/// The project with backlogs (story points as `storyPoints`) and ~60 work packages.
pub const DEMO_PROJECT: u64 = 1;
/// The project without backlogs, whose story points are the custom field `customField7`.
pub const SCRUM_PROJECT: u64 = 2;
/// `project-03`: defines a version shared with every project ("Company release", sharing
/// `system`), a locked one ("Hotfix 1.1") and an open one without dates ("Product backlog").
pub const SHARING_PROJECT: u64 = 3;

// Status ids (as in OpenProject's demo data).
pub const NEW: u64 = 1;
pub const IN_PROGRESS: u64 = 7;
pub const CLOSED: u64 = 12;
pub const ON_HOLD: u64 = 13;
pub const REJECTED: u64 = 14;

// Type ids.
pub const TASK: u64 = 1;
pub const MILESTONE: u64 = 2;
pub const PHASE: u64 = 3;
pub const FEATURE: u64 = 4;
pub const EPIC: u64 = 5;
pub const USER_STORY: u64 = 6;
pub const BUG: u64 = 7;

/// (id, name, isClosed, isDefault, color)
const STATUSES: &[(u64, &str, bool, bool, &str)] = &[
    (NEW, "New", false, true, "#1098AD"),
    (IN_PROGRESS, "In progress", false, false, "#CC5DE8"),
    (CLOSED, "Closed", true, false, "#868E96"),
    (ON_HOLD, "On hold", false, false, "#E64980"),
    (REJECTED, "Rejected", true, false, "#F03E3E"),
];

/// The workflow (the same for every type and role): from → allowed targets. Keeping the
/// current status is always allowed.
const WORKFLOW: &[(u64, &[u64])] = &[
    (NEW, &[IN_PROGRESS, ON_HOLD, REJECTED]),
    (IN_PROGRESS, &[CLOSED, ON_HOLD, NEW]),
    (ON_HOLD, &[IN_PROGRESS]),
    (CLOSED, &[NEW]),
    (REJECTED, &[NEW]),
];

/// (id, name, isMilestone, color)
const TYPES: &[(u64, &str, bool, &str)] = &[
    (TASK, "Task", false, "#1A67A3"),
    (MILESTONE, "Milestone", true, "#35C53F"),
    (PHASE, "Phase", false, "#FF922B"),
    (FEATURE, "Feature", false, "#5C7CFA"),
    (EPIC, "Epic", false, "#862E9C"),
    (USER_STORY, "User story", false, "#00A1E0"),
    (BUG, "Bug", false, "#F03E3E"),
];

/// (id, name, isDefault)
const PRIORITIES: &[(u64, &str, bool)] = &[
    (7, "Low", false),
    (8, "Normal", true),
    (9, "High", false),
    (10, "Immediate", false),
];
const NORMAL: u64 = 8;

/// Time entry activities: (id, name, isDefault)
const TE_ACTIVITIES: &[(u64, &str, bool)] = &[
    (1, "Management", false),
    (2, "Specification", false),
    (3, "Development", true),
    (4, "Testing", false),
    (5, "Support", false),
    (6, "Other", false),
];

/// Roles: (id, name)
const ROLES: &[(u64, &str)] = &[(3, "Project admin"), (4, "Member"), (5, "Reader")];

const GROUP_ID: u64 = 9;

const WORKFLOW_MESSAGE: &str = "Status is invalid because no valid transition exists from old to new status for the current user's roles.";

#[derive(Clone, Debug)]
struct User {
    id: u64,
    login: String,
    first: String,
    last: String,
    email: String,
    status: &'static str,
    admin: bool,
}

impl User {
    fn name(&self) -> String {
        format!("{} {}", self.first, self.last)
    }
}

#[derive(Clone, Debug)]
struct Project {
    id: u64,
    identifier: String,
    name: String,
    description: String,
    active: bool,
    public: bool,
    backlogs: bool,
    /// Whether the project has the integer custom field 7 ("Story Points").
    cf7: bool,
    /// The project status id (`on_track`, `at_risk`, …), `None` when not set.
    status: Option<String>,
    types: Vec<u64>,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
}

#[derive(Clone, Debug)]
struct Version {
    id: u64,
    project: u64,
    name: String,
    description: String,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    status: String,
    sharing: String,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
}

#[derive(Clone, Debug)]
struct Wp {
    id: u64,
    project: u64,
    type_id: u64,
    status: u64,
    priority: u64,
    subject: String,
    description: String,
    start: Option<NaiveDate>,
    due: Option<NaiveDate>,
    /// Hours.
    estimated: Option<f64>,
    /// Remaining work (`remainingTime`), hours.
    remaining: Option<f64>,
    percentage_done: Option<i64>,
    story_points: Option<i64>,
    cf7: Option<i64>,
    assignee: Option<u64>,
    responsible: Option<u64>,
    author: u64,
    parent: Option<u64>,
    version: Option<u64>,
    lock_version: u64,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
}

#[derive(Clone, Debug)]
struct Act {
    id: u64,
    wp: u64,
    user: u64,
    comment: String,
    details: Vec<Detail>,
    version: u64,
    created: DateTime<Utc>,
    /// The work package before this journal's changes (`None` for the creation journal and
    /// comments): what an aggregated journal's details are computed from.
    before: Option<Wp>,
}

/// One change a journal records: the attribute (`status`, `version`, `storyPoints`, …) and its
/// values before and after as names (empty: none). Rendered in the reading account's language
/// (see [`detail_json`]).
#[derive(Clone, Debug)]
struct Detail {
    key: &'static str,
    old: String,
    new: String,
}

#[derive(Clone, Debug)]
struct TimeEntry {
    id: u64,
    project: u64,
    wp: Option<u64>,
    user: u64,
    activity: u64,
    hours: f64,
    spent_on: NaiveDate,
    comment: String,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
}

#[derive(Clone, Debug)]
struct Relation {
    id: u64,
    from: u64,
    to: u64,
    kind: String,
    description: Option<String>,
    lag: Option<i64>,
}

#[derive(Clone, Debug)]
struct Membership {
    id: u64,
    project: u64,
    principal: u64,
    roles: Vec<u64>,
    created: DateTime<Utc>,
}

#[derive(Default)]
struct Db {
    users: Vec<User>,
    group_members: Vec<u64>,
    projects: Vec<Project>,
    versions: Vec<Version>,
    wps: Vec<Wp>,
    acts: Vec<Act>,
    time_entries: Vec<TimeEntry>,
    /// (work package, user)
    watchers: Vec<(u64, u64)>,
    relations: Vec<Relation>,
    memberships: Vec<Membership>,
    next_project: u64,
    next_version: u64,
    next_wp: u64,
    next_act: u64,
    next_te: u64,
    next_relation: u64,
}

/// The fake site's state.
pub struct Fake {
    prefix: String,
    core_version: String,
    major: u32,
    expected_auth: String,
    admin: AtomicBool,
    conflicts: AtomicUsize,
    /// Whether one time-entry activity is the default (see [`Fake::set_default_activity`]).
    default_activity: AtomicBool,
    /// A German site (see [`Fake::set_german`]).
    german: AtomicBool,
    /// Mails sent about changes: (work package, user told). See [`Fake::mails`].
    mails: Mutex<Vec<(u64, u64)>>,
    db: Mutex<Db>,
}

pub type Shared = Arc<Fake>;

impl Fake {
    /// The next `n` PATCHes of a work package answer 409, as if someone else had just edited
    /// it: its lockVersion really moves (and updatedAt, and a journal by another user appears).
    pub fn set_conflicts(&self, n: usize) {
        self.conflicts.store(n, Ordering::SeqCst);
    }

    /// Whether the API key's user is an administrator (default true). A non-admin does not see
    /// `coreVersion` in the root resource and is refused the user list (403).
    pub fn set_admin(&self, admin: bool) {
        self.admin.store(admin, Ordering::SeqCst);
    }

    /// Whether the site has a default time-entry activity (default true). Without one, a time
    /// entry created without an activity is refused with 422 `Activity can't be blank.`, as real
    /// sites answer (open-time-tracker issue #47: `POST /api/v3/time_entries` without activity →
    /// 422 on 13.0.7; opf/openproject PRs #6925 and #14041: the default is assigned only when one
    /// exists and is active), and the activities are listed only by the time-entry form
    /// (`POST /api/v3/time_entries/form`, opf/openproject PR #5816's review).
    pub fn set_default_activity(&self, on: bool) {
        self.default_activity.store(on, Ordering::SeqCst);
    }

    /// A German site: its statuses named as OpenProject's German seed data names them ("Neu",
    /// "In Bearbeitung", "Geschlossen", "Zurückgestellt", "Abgelehnt") and the API key's account
    /// set to German, so that activities' `details` and the schemas' property names come in
    /// German, as OpenProject renders them for the reading user (config/locales/crowdin/de.yml:
    /// `text_journal_changed_plain` "%{label} geändert von %{old} %{linebreak}zu %{new}",
    /// `text_journal_set_to` "%{label} wurde auf %{value} gesetzt", `text_journal_deleted`
    /// "%{label} %{old} wurde gelöscht"; modules/backlogs/config/locales/crowdin/de.yml:
    /// `story_points` "Story-Punkte").
    pub fn set_german(&self, on: bool) {
        self.german.store(on, Ordering::SeqCst);
    }

    /// The mails OpenProject sent about changes through the API, as (work package, user told):
    /// a work package created or changed, or commented on, tells its watchers, author, assignee
    /// and accountable (not the user who made the change) — unless the request said
    /// `notify=false`. The spec's `notify` query parameter of `PATCH /api/v3/work_packages/{id}`,
    /// `POST /api/v3/work_packages`, `POST /api/v3/projects/{id}/work_packages` and
    /// `POST /api/v3/work_packages/{id}/activities`: "Indicates whether change notifications
    /// should be sent. Note that this controls notifications for all users interested in changes
    /// to the work package (e.g. watchers, author and assignee), not just the current user."
    /// (default `true`).
    pub fn mails(&self) -> Vec<(u64, u64)> {
        self.mails.lock().unwrap().clone()
    }

    fn is_german(&self) -> bool {
        self.german.load(Ordering::SeqCst)
    }

    fn default_activity(&self) -> Option<u64> {
        if !self.default_activity.load(Ordering::SeqCst) {
            return None;
        }
        TE_ACTIVITIES.iter().find(|a| a.2).map(|a| a.0)
    }

    /// All work packages, as `GET /api/v3/work_packages/{id}` shows them.
    pub fn work_packages(&self) -> Vec<Value> {
        let db = self.db.lock().unwrap();
        db.wps.iter().map(|w| wp_json(self, &db, w)).collect()
    }

    /// One work package, as `GET /api/v3/work_packages/{id}` shows it.
    pub fn work_package(&self, id: u64) -> Option<Value> {
        let db = self.db.lock().unwrap();
        db.wps
            .iter()
            .find(|w| w.id == id)
            .map(|w| wp_json(self, &db, w))
    }

    /// The activities of a work package (journals, with and without comment), oldest first.
    pub fn activities(&self, wp: u64) -> Vec<Value> {
        let db = self.db.lock().unwrap();
        db.acts
            .iter()
            .filter(|a| a.wp == wp)
            .map(|a| act_json(self, &db, a))
            .collect()
    }

    /// The comments (activities of `_type` `Activity::Comment`) of a work package, oldest first.
    pub fn comments(&self, wp: u64) -> Vec<Value> {
        self.activities(wp)
            .into_iter()
            .filter(|a| a["_type"] == "Activity::Comment")
            .collect()
    }

    /// All time entries, as `GET /api/v3/time_entries/{id}` shows them.
    pub fn time_entries(&self) -> Vec<Value> {
        let db = self.db.lock().unwrap();
        db.time_entries
            .iter()
            .map(|t| te_json(self, &db, t))
            .collect()
    }

    /// All versions, as `GET /api/v3/versions/{id}` shows them.
    pub fn versions(&self) -> Vec<Value> {
        let db = self.db.lock().unwrap();
        db.versions
            .iter()
            .map(|v| version_json(self, &db, v))
            .collect()
    }

    /// The watchers (users) of a work package.
    pub fn watchers(&self, wp: u64) -> Vec<Value> {
        let db = self.db.lock().unwrap();
        db.watchers
            .iter()
            .filter(|(w, _)| *w == wp)
            .filter_map(|(_, u)| db.users.iter().find(|x| x.id == *u))
            .map(|u| user_json(self, u))
            .collect()
    }

    /// All relations, as `GET /api/v3/relations/{id}` shows them.
    pub fn relations(&self) -> Vec<Value> {
        let db = self.db.lock().unwrap();
        db.relations
            .iter()
            .map(|r| relation_json(self, &db, r))
            .collect()
    }

    /// All projects, as `GET /api/v3/projects/{id}` shows them.
    pub fn projects(&self) -> Vec<Value> {
        let db = self.db.lock().unwrap();
        db.projects.iter().map(|p| project_json(self, p)).collect()
    }

    /// `prefix` + `path`: an href as this site writes it.
    fn h(&self, path: &str) -> String {
        format!("{}{}", self.prefix, path)
    }

    fn is_admin(&self) -> bool {
        self.admin.load(Ordering::SeqCst)
    }
}

// ---------------------------------------------------------------------------------------------
// Seed data
// ---------------------------------------------------------------------------------------------

fn seed(now: DateTime<Utc>) -> Db {
    let today = now.date_naive();
    let user = |id, login: &str, first: &str, last: &str, status, admin| User {
        id,
        login: login.into(),
        first: first.into(),
        last: last.into(),
        email: format!("{login}@example.com"),
        status,
        admin,
    };
    let users = vec![
        user(1, "admin", "OpenProject", "Admin", "active", true),
        user(4, "anna", "Anna", "Becker", "active", false),
        user(ME, "mia", "Mia", "Krystof", "active", true),
        user(6, "jonas", "Jonas", "Weber", "active", false),
        user(7, "lena", "Lena", "Fischer", "locked", false),
        user(8, "carlos", "Carlos", "Diaz", "active", false),
    ];
    let created = now - Duration::days(400);
    let mut projects = vec![
        Project {
            id: DEMO_PROJECT,
            identifier: "demo-project".into(),
            name: "Demo project".into(),
            description: "This is a short summary of the goals of this demo project.".into(),
            active: true,
            public: true,
            backlogs: true,
            cf7: false,
            status: None,
            types: vec![TASK, MILESTONE, PHASE, FEATURE, EPIC, USER_STORY, BUG],
            created,
            updated: created,
        },
        Project {
            id: SCRUM_PROJECT,
            identifier: "scrum-project".into(),
            name: "Scrum project".into(),
            description: "Story points live in a custom field here.".into(),
            active: true,
            public: false,
            backlogs: false,
            cf7: true,
            status: None,
            types: vec![TASK, MILESTONE, EPIC, USER_STORY, BUG],
            created,
            updated: created,
        },
    ];
    for i in 3..=25u64 {
        projects.push(Project {
            id: i,
            identifier: format!("project-{i:02}"),
            name: format!("Project {i:02}"),
            description: String::new(),
            active: true,
            public: false,
            backlogs: false,
            cf7: false,
            status: None,
            types: vec![TASK, MILESTONE, PHASE],
            created: created + Duration::days(i as i64),
            updated: created + Duration::days(i as i64),
        });
    }
    let version = |id, project, name: &str, s: i64, e: i64, status: &str| Version {
        id,
        project,
        name: name.into(),
        description: format!("{name} of the demo project"),
        start: Some(today + Duration::days(s)),
        end: Some(today + Duration::days(e)),
        status: status.into(),
        sharing: "none".into(),
        created,
        updated: created,
    };
    let mut versions = vec![
        version(1, DEMO_PROJECT, "Sprint 1", -28, -15, "closed"),
        version(2, DEMO_PROJECT, "Sprint 2", -7, 7, "open"),
        version(3, DEMO_PROJECT, "Sprint 3", 8, 21, "open"),
        version(4, SCRUM_PROJECT, "Scrum sprint", -3, 11, "open"),
        // Project 03's versions: one shared with every project (so listed by every project's
        // versions), one locked (running, closed to new work packages), one open without dates
        // (the Backlogs module's backlog column, not a sprint).
        version(5, SHARING_PROJECT, "Company release", -10, 50, "open"),
        version(6, SHARING_PROJECT, "Hotfix 1.1", -5, 5, "locked"),
        version(7, SHARING_PROJECT, "Product backlog", 0, 0, "open"),
    ];
    versions[4].sharing = "system".into();
    versions[6].start = None;
    versions[6].end = None;

    let mut wps = Vec::new();
    for i in 1..=60u64 {
        let epic = matches!(i, 1 | 11 | 21);
        let parent = match i {
            2..=6 => Some(1),
            12..=16 => Some(11),
            22..=24 => Some(21),
            _ => None,
        };
        let closed = i % 6 == 0 || i % 10 == 5;
        let status = if i % 6 == 0 {
            CLOSED
        } else if i % 10 == 5 {
            REJECTED
        } else {
            match i % 3 {
                1 => NEW,
                2 => IN_PROGRESS,
                _ => ON_HOLD,
            }
        };
        let type_id = if epic {
            EPIC
        } else if i == 40 {
            MILESTONE
        } else if i % 7 == 0 {
            BUG
        } else if i % 8 == 0 {
            FEATURE
        } else if i % 9 == 0 {
            USER_STORY
        } else {
            TASK
        };
        let assignee = match i % 4 {
            0 => None,
            1 => Some(ME),
            2 => Some(6),
            _ => Some(4),
        };
        let version = match i {
            1..=10 => Some(1),
            11..=25 => Some(2),
            26..=35 => Some(3),
            _ => None,
        };
        let created_at = now - Duration::days(60) + Duration::hours(i as i64);
        let updated_at = now - Duration::hours(((i * 7) % 60) as i64 + 1);
        let start = today - Duration::days(30) + Duration::days((i / 2) as i64);
        let milestone = type_id == MILESTONE;
        wps.push(Wp {
            id: i,
            project: DEMO_PROJECT,
            type_id,
            status,
            priority: if i == 13 {
                10
            } else {
                [7, 8, 8, 9][(i % 4) as usize]
            },
            subject: if epic {
                format!(
                    "Epic {i}: {}",
                    ["Onboarding", "Checkout", "Search"][(i / 10) as usize]
                )
            } else {
                format!("Work package {i}")
            },
            description: format!("Details of work package {i}."),
            start: Some(start),
            due: Some(if milestone {
                start
            } else {
                start + Duration::days(5)
            }),
            estimated: (i % 2 == 0 && !milestone).then(|| ((i % 8) + 1) as f64 + 0.5),
            remaining: None,
            percentage_done: Some(if closed {
                100
            } else {
                ((i * 7) % 10 * 10) as i64
            }),
            story_points: (i % 3 != 0 && !milestone).then_some(((i % 5) + 1) as i64),
            cf7: None,
            assignee,
            responsible: (i % 6 == 2).then_some(4),
            author: if i % 5 == 0 { ME } else { 1 },
            parent,
            version,
            lock_version: (i % 3) + 1,
            created: created_at,
            updated: updated_at,
        });
    }
    for (k, i) in (61..=66u64).enumerate() {
        wps.push(Wp {
            id: i,
            project: SCRUM_PROJECT,
            type_id: if k == 0 { EPIC } else { USER_STORY },
            status: if k == 5 { CLOSED } else { NEW },
            priority: NORMAL,
            subject: format!("Story {i}"),
            description: String::new(),
            start: None,
            due: None,
            estimated: None,
            remaining: None,
            percentage_done: None,
            story_points: None,
            cf7: (k > 0).then_some(k as i64 * 2),
            assignee: (k % 2 == 1).then_some(ME),
            responsible: None,
            author: ME,
            parent: (k > 0).then_some(61),
            version: (k >= 3).then_some(4),
            lock_version: 1,
            created: now - Duration::days(10) + Duration::hours(k as i64),
            updated: now - Duration::days(2) + Duration::hours(k as i64),
        });
    }

    let mut acts = Vec::new();
    let mut next_act = 1;
    for w in &wps {
        acts.push(Act {
            id: next_act,
            wp: w.id,
            user: w.author,
            comment: String::new(),
            details: Vec::new(),
            version: 1,
            created: w.created,
            before: None,
        });
        next_act += 1;
    }
    for (wp, user, text) in [
        (1, 4, "Kick-off done, see the wiki."),
        (2, ME, "I will take this one."),
        (2, 6, "Thanks!"),
        (3, 4, "Blocked by the API change."),
    ] {
        let created = wps[wp as usize - 1].created + Duration::hours(2 + next_act as i64);
        let version = acts.iter().filter(|a| a.wp == wp).count() as u64 + 1;
        acts.push(Act {
            id: next_act,
            wp,
            user,
            comment: text.into(),
            details: Vec::new(),
            version,
            created,
            before: None,
        });
        next_act += 1;
    }

    let te = |id, wp: u64, user, activity, hours, days: i64, comment: &str| TimeEntry {
        id,
        project: DEMO_PROJECT,
        wp: Some(wp),
        user,
        activity,
        hours,
        spent_on: today - Duration::days(days),
        comment: comment.into(),
        created: now - Duration::days(days),
        updated: now - Duration::days(days),
    };
    let time_entries = vec![
        te(1, 2, ME, 3, 1.5, 3, "Implemented the login form"),
        te(2, 2, 6, 4, 0.75, 2, "Tested"),
        te(3, 7, ME, 3, 3.0, 1, ""),
    ];

    let mut memberships = Vec::new();
    let mut next_membership = 1;
    let mut member = |project, principal, role| {
        memberships.push(Membership {
            id: next_membership,
            project,
            principal,
            roles: vec![role],
            created,
        });
        next_membership += 1;
    };
    member(DEMO_PROJECT, ME, 3);
    member(DEMO_PROJECT, 4, 4);
    member(DEMO_PROJECT, 6, 4);
    member(DEMO_PROJECT, 8, 5);
    member(DEMO_PROJECT, GROUP_ID, 4);
    member(SCRUM_PROJECT, ME, 3);
    member(SCRUM_PROJECT, 6, 4);
    for p in 3..=25 {
        member(p, ME, 3);
    }

    Db {
        users,
        group_members: vec![ME, 6],
        projects,
        versions,
        wps,
        acts,
        time_entries,
        watchers: vec![(1, ME), (1, 4), (2, 6)],
        relations: vec![Relation {
            id: 1,
            from: 2,
            to: 3,
            kind: "blocks".into(),
            description: None,
            lag: None,
        }],
        memberships,
        next_project: 26,
        next_version: 8,
        next_wp: 67,
        next_act,
        next_te: 4,
        next_relation: 2,
    }
}

/// How to start a fake OpenProject.
pub struct Options {
    /// The API key it accepts, as `Authorization: Basic base64("apikey:" + api_key)`.
    pub api_key: String,
    /// The sub-path the site lives under (`""`, `/openproject`): the API is under
    /// `<prefix>/api/v3` and every HAL `href` starts with it.
    pub prefix: String,
    /// The version the root resource reports (`13.4.1`); time entries name their work package
    /// `workPackage` before 16.0 and `entity` from 16.0 on.
    pub core_version: String,
}

impl Options {
    pub fn new(api_key: &str, prefix: &str, core_version: &str) -> Self {
        Options {
            api_key: api_key.to_string(),
            prefix: prefix.to_string(),
            core_version: core_version.to_string(),
        }
    }
}

/// Starts a fake OpenProject; its URL is the site's base URL (`http://127.0.0.1:PORT<prefix>`).
/// It needs none of the vendors' documents, so it always starts.
pub async fn spawn(opts: Options) -> Running<Fake> {
    use base64::Engine as _;
    let (api_key, core_version) = (opts.api_key.as_str(), opts.core_version.as_str());
    let prefix = opts.prefix.trim_end_matches('/').to_string();
    let major = core_version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(16);
    let fake = Arc::new(Fake {
        prefix: prefix.clone(),
        core_version: core_version.to_string(),
        major,
        expected_auth: format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("apikey:{api_key}"))
        ),
        admin: AtomicBool::new(true),
        conflicts: AtomicUsize::new(0),
        default_activity: AtomicBool::new(true),
        german: AtomicBool::new(false),
        mails: Mutex::default(),
        db: Mutex::new(seed(Utc::now())),
    });
    let app = router(&fake);
    let guard = Guard {
        auth,
        refusal,
        checks: Checks::Every,
    };
    crate::fake::serve(app, fake, guard, &prefix).await
}

/// OpenProject's API key check: a wrong or missing key is 401 with its `Unauthenticated` error
/// and a Basic challenge.
fn auth(f: &Fake, headers: &HeaderMap) -> Result<(), Response> {
    if crate::fake::authorization(headers) == Some(f.expected_auth.as_str()) {
        return Ok(());
    }
    let mut r = error(
        401,
        "Unauthenticated",
        "You need to be authenticated to access this resource.",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"OpenProject API\""),
    );
    Err(r)
}

/// An injected failure as OpenProject's error body for its status (429 and 503 with
/// `Retry-After: 1`), in the failure's words if it has some.
fn refusal(failure: &Failure) -> Response {
    let mut r = self::failure(failure.status_code());
    if let Some(message) = failure.message() {
        let status = failure.status_code();
        let mut said = error(
            status,
            failure.code().unwrap_or("InternalServerError"),
            message,
        );
        if let Some(retry) = r.headers().get(header::RETRY_AFTER).cloned() {
            said.headers_mut().insert(header::RETRY_AFTER, retry);
        }
        r = said;
    }
    r
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing
// ---------------------------------------------------------------------------------------------

fn hal(status: StatusCode, body: Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/hal+json; charset=utf-8"),
    );
    r
}

fn ok(body: Value) -> Response {
    hal(StatusCode::OK, body)
}

fn created(body: Value) -> Response {
    hal(StatusCode::CREATED, body)
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

const URN: &str = "urn:openproject-org:api:v3:errors:";

fn error(status: u16, id: &str, message: &str) -> Response {
    hal(
        StatusCode::from_u16(status).unwrap(),
        json!({ "_type": "Error", "errorIdentifier": format!("{URN}{id}"), "message": message }),
    )
}

fn not_found() -> Response {
    error(
        404,
        "NotFound",
        "The requested resource could not be found.",
    )
}

fn conflict() -> Response {
    error(
        409,
        "UpdateConflict",
        "Could not update the resource because of conflicting modifications.",
    )
}

fn invalid_query(message: &str) -> Response {
    error(400, "InvalidQuery", message)
}

/// One violation of a property.
#[derive(Clone, Debug)]
struct Violation {
    attr: String,
    message: String,
    id: &'static str,
}

fn v(attr: &str, message: impl Into<String>) -> Violation {
    Violation {
        attr: attr.into(),
        message: message.into(),
        id: "PropertyConstraintViolation",
    }
}

fn violation_json(x: &Violation) -> Value {
    json!({
        "_type": "Error",
        "errorIdentifier": format!("{URN}{}", x.id),
        "message": x.message,
        "_embedded": { "details": { "attribute": x.attr } },
    })
}

/// 422 with one error, or `MultipleErrors` with all of them.
fn unprocessable(errors: &[Violation]) -> Response {
    if errors.len() == 1 {
        return hal(StatusCode::UNPROCESSABLE_ENTITY, violation_json(&errors[0]));
    }
    hal(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({
            "_type": "Error",
            "errorIdentifier": format!("{URN}MultipleErrors"),
            "message": "Multiple field constraints have been violated.",
            "_embedded": { "errors": errors.iter().map(violation_json).collect::<Vec<_>>() },
        }),
    )
}

fn failure(status: u16) -> Response {
    let (id, message) = match status {
        400 => ("InvalidQuery", "The request could not be processed."),
        401 => (
            "Unauthenticated",
            "You need to be authenticated to access this resource.",
        ),
        403 => (
            "MissingPermission",
            "You are not authorized to access this resource.",
        ),
        404 => ("NotFound", "The requested resource could not be found."),
        409 => (
            "UpdateConflict",
            "Could not update the resource because of conflicting modifications.",
        ),
        422 => ("PropertyConstraintViolation", "Validation failed."),
        429 => (
            "TooManyRequests",
            "You have made too many requests. Please try again later.",
        ),
        503 => (
            "ServiceUnavailable",
            "The service is temporarily unavailable. Please try again later.",
        ),
        _ => ("InternalServerError", "An internal error has occurred."),
    };
    let mut r = error(status, id, message);
    if status == 429 || status == 503 {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query string: decoded pairs, and the raw pairs (to build links that keep it).
struct Query {
    pairs: Vec<(String, String)>,
    raw: Vec<String>,
}

impl Query {
    fn parse(raw: Option<&str>) -> Query {
        let raw = raw.unwrap_or("");
        Query {
            pairs: url::form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            raw: raw
                .split('&')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Answers one routed request: the query and the JSON body read as OpenProject reads them (a body
/// that is not one JSON object is refused before anything else), then the route's handler with
/// the site's data.
async fn dispatch(f: Shared, params: RawPathParams, req: Request, h: Handler) -> Response {
    let method = req.method().clone();
    let path = percent_decode(req.uri().path());
    let raw_query = req.uri().query().map(str::to_string);
    let body = axum::body::to_bytes(req.into_body(), 16 << 20)
        .await
        .unwrap_or_default();
    let rest = path
        .strip_prefix(f.prefix.as_str())
        .and_then(|p| p.strip_prefix("/api/v3"))
        .unwrap_or_default()
        .to_string();
    let p: Vec<String> = params.iter().map(|(_, v)| v.to_string()).collect();
    let query = Query::parse(raw_query.as_deref());
    let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
        if matches!(method, Method::POST | Method::PATCH) {
            json!({})
        } else {
            Value::Null
        }
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) if v.is_object() => v,
            Ok(_) => {
                return error(
                    400,
                    "InvalidRequestBody",
                    "The request body was not a single JSON object.",
                );
            }
            Err(_) => {
                return error(
                    400,
                    "InvalidRequestBody",
                    "The request could not be parsed as JSON.",
                );
            }
        }
    };
    let mut db = f.db.lock().unwrap();
    let ctx = Ctx {
        f: &f,
        path: rest,
        q: &query,
        body: &body,
    };
    h(&ctx, &mut db, &p)
}

/// The fake's axum `Router`: every route of [`routes`] under `<prefix>/api/v3`, with or without a
/// trailing slash (OpenProject takes both); anything else, another method included, is
/// OpenProject's 404.
fn router(fake: &Shared) -> Router {
    let base = format!("{}/api/v3", fake.prefix);
    let mut by_path: Vec<(String, MethodRouter<Shared>)> = Vec::new();
    for (method, path, h) in routes() {
        let filter = match method {
            "GET" => MethodFilter::GET,
            "POST" => MethodFilter::POST,
            "PATCH" => MethodFilter::PATCH,
            "DELETE" => MethodFilter::DELETE,
            other => panic!("no method {other}"),
        };
        let handler = move |State(f): State<Shared>, params: RawPathParams, req: Request| {
            dispatch(f, params, req, h)
        };
        let full = format!("{base}{path}");
        match by_path.iter_mut().find(|(p, _)| *p == full) {
            Some((_, m)) => *m = std::mem::take(m).on(filter, handler),
            None => by_path.push((full, on(filter, handler))),
        }
    }
    let mut app = Router::new();
    for (path, m) in by_path {
        app = app.route(&format!("{path}/"), m.clone()).route(&path, m);
    }
    app.fallback(|| async { not_found() })
        .method_not_allowed_fallback(|| async { not_found() })
        .with_state(fake.clone())
}

struct Ctx<'a> {
    f: &'a Fake,
    /// The path below `/api/v3`, e.g. `/work_packages`.
    path: String,
    q: &'a Query,
    body: &'a Value,
}

/// Whether a request asks for mails (`notify`, default true); one that is not a boolean is
/// refused (400) before anything is written.
fn notify_wanted(c: &Ctx) -> Result<bool, Response> {
    match c.q.get("notify") {
        None | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(_) => Err(error(
            400,
            "InvalidQuery",
            "Notify is not a boolean (true or false).",
        )),
    }
}

/// Tells the people interested in a work package of a change (see [`Fake::mails`]).
fn tell(c: &Ctx, db: &Db, wp: u64) {
    let Some(w) = db.wps.iter().find(|w| w.id == wp) else {
        return;
    };
    let mut told: Vec<u64> = db
        .watchers
        .iter()
        .filter(|(x, _)| *x == wp)
        .map(|(_, u)| *u)
        .chain(
            [Some(w.author), w.assignee, w.responsible]
                .into_iter()
                .flatten(),
        )
        .filter(|u| *u != ME)
        .filter(|u| db.users.iter().any(|x| x.id == *u && x.status == "active"))
        .collect();
    told.sort_unstable();
    told.dedup();
    c.f.mails
        .lock()
        .unwrap()
        .extend(told.into_iter().map(|u| (wp, u)));
}

fn num(s: &str) -> Option<u64> {
    s.parse().ok()
}

/// One route of the API: method, path below `<prefix>/api/v3` (with `{param}`s, in order in the
/// handler's `p`), and what it answers.
type Handler = fn(&Ctx, &mut Db, &[String]) -> Response;

fn r(
    method: &'static str,
    path: &'static str,
    h: Handler,
) -> (&'static str, &'static str, Handler) {
    (method, path, h)
}

/// Every route of the fake, as OpenProject's API v3 lays them out.
fn routes() -> Vec<(&'static str, &'static str, Handler)> {
    vec![
        r("GET", "", |c, db, _| root(c, db)),
        r("GET", "/users/me", |c, db, _| user_get(c, db, ME)),
        r("GET", "/users", |c, db, _| users_list(c, db)),
        r("GET", "/users/{id}", |c, db, p| {
            let id = p[0].as_str();
            num(id).map_or_else(not_found, |id| user_get(c, db, id))
        }),
        r("GET", "/groups/{id}", |c, db, p| {
            let id = p[0].as_str();
            let f = c.f;
            if num(id) == Some(GROUP_ID) {
                ok(group_json(f, db))
            } else {
                not_found()
            }
        }),
        r("GET", "/principals", |c, db, _| principals(c, db)),
        r("GET", "/roles/{id}", |c, _db, p| {
            let id = p[0].as_str();
            let f = c.f;
            ROLES
            .iter()
            .find(|(r, _)| Some(*r) == num(id))
            .map_or_else(not_found, |(r, n)| {
                ok(json!({ "_type": "Role", "id": r, "name": n, "_links": { "self": link(f, &format!("/api/v3/roles/{r}"), n) } }))
            })
        }),
        r("GET", "/statuses", |c, _db, _| {
            let f = c.f;
            ok(plain_collection(
                f,
                "/api/v3/statuses",
                STATUSES.iter().map(|s| status_json(f, s.0)).collect(),
            ))
        }),
        r("GET", "/statuses/{id}", |c, _db, p| {
            let id = p[0].as_str();
            let f = c.f;
            match num(id).filter(|i| status_of(*i).is_some()) {
                Some(i) => ok(status_json(f, i)),
                None => not_found(),
            }
        }),
        r("GET", "/types", |c, _db, _| {
            let f = c.f;
            ok(plain_collection(
                f,
                "/api/v3/types",
                TYPES.iter().map(|t| type_json(f, t.0)).collect(),
            ))
        }),
        r("GET", "/types/{id}", |c, _db, p| {
            let id = p[0].as_str();
            let f = c.f;
            match num(id).filter(|i| type_of(*i).is_some()) {
                Some(i) => ok(type_json(f, i)),
                None => not_found(),
            }
        }),
        r("GET", "/priorities", |c, _db, _| {
            let f = c.f;
            ok(plain_collection(
                f,
                "/api/v3/priorities",
                PRIORITIES.iter().map(|p| priority_json(f, p.0)).collect(),
            ))
        }),
        r("GET", "/priorities/{id}", |c, _db, p| {
            let id = p[0].as_str();
            let f = c.f;
            match num(id).filter(|i| priority_of(*i).is_some()) {
                Some(i) => ok(priority_json(f, i)),
                None => not_found(),
            }
        }),
        r("GET", "/projects", |c, db, _| projects_list(c, db)),
        r("POST", "/projects", |c, db, _| project_create(c, db)),
        r("GET", "/projects/{id}", |c, db, p| {
            let id = p[0].as_str();
            let f = c.f;
            match find_project(db, id) {
                Some(p) => ok(project_json(f, &db.projects[p])),
                None => not_found(),
            }
        }),
        r("PATCH", "/projects/{id}", |c, db, p| {
            let id = p[0].as_str();
            match find_project(db, id) {
                Some(p) => project_update(c, db, p),
                None => not_found(),
            }
        }),
        r("DELETE", "/projects/{id}", |_c, db, p| {
            let id = p[0].as_str();
            match find_project(db, id) {
                Some(p) => {
                    let pid = db.projects[p].id;
                    db.projects.remove(p);
                    let gone: Vec<u64> = db
                        .wps
                        .iter()
                        .filter(|w| w.project == pid)
                        .map(|w| w.id)
                        .collect();
                    delete_wps(db, &gone);
                    db.versions.retain(|v| v.project != pid);
                    db.memberships.retain(|m| m.project != pid);
                    db.time_entries.retain(|t| t.project != pid);
                    no_content()
                }
                None => not_found(),
            }
        }),
        r("GET", "/projects/{id}/types", |c, db, p| {
            let id = p[0].as_str();
            let f = c.f;
            match find_project(db, id) {
                Some(p) => ok(plain_collection(
                    f,
                    &format!("/api/v3/projects/{}/types", db.projects[p].id),
                    db.projects[p]
                        .types
                        .iter()
                        .map(|t| type_json(f, *t))
                        .collect(),
                )),
                None => not_found(),
            }
        }),
        r("GET", "/projects/{id}/versions", |c, db, p| {
            let id = p[0].as_str();
            let f = c.f;
            match find_project(db, id) {
                Some(p) => {
                    let pid = db.projects[p].id;
                    let list = db
                        .versions
                        .iter()
                        .filter(|v| available_in(v, pid))
                        .map(|v| version_json(f, db, v))
                        .collect();
                    ok(plain_collection(
                        f,
                        &format!("/api/v3/projects/{pid}/versions"),
                        list,
                    ))
                }
                None => not_found(),
            }
        }),
        r("GET", "/projects/{id}/available_assignees", |c, db, p| {
            let id = p[0].as_str();
            let f = c.f;
            match find_project(db, id) {
                Some(p) => {
                    let pid = db.projects[p].id;
                    ok(plain_collection(
                        f,
                        &format!("/api/v3/projects/{pid}/available_assignees"),
                        assignable(db, pid)
                            .into_iter()
                            .map(|u| principal_json(f, db, u))
                            .collect(),
                    ))
                }
                None => not_found(),
            }
        }),
        r("GET", "/projects/{id}/work_packages", |c, db, p| {
            let id = p[0].as_str();
            match find_project(db, id) {
                Some(p) => wp_list(c, db, Some(db.projects[p].id)),
                None => not_found(),
            }
        }),
        r("POST", "/projects/{id}/work_packages", |c, db, p| {
            let id = p[0].as_str();
            match find_project(db, id) {
                Some(p) => wp_create(c, db, Some(db.projects[p].id), false),
                None => not_found(),
            }
        }),
        r("POST", "/projects/{id}/work_packages/form", |c, db, p| {
            let id = p[0].as_str();
            match find_project(db, id) {
                Some(p) => wp_create(c, db, Some(db.projects[p].id), true),
                None => not_found(),
            }
        }),
        r("GET", "/work_packages", |c, db, _| wp_list(c, db, None)),
        r("POST", "/work_packages", |c, db, _| {
            wp_create(c, db, None, false)
        }),
        r("POST", "/work_packages/form", |c, db, _| {
            wp_create(c, db, None, true)
        }),
        r("GET", "/work_packages/schemas", |c, db, _| {
            schemas_list(c, db)
        }),
        r("GET", "/work_packages/schemas/{id}", |c, db, p| {
            let id = p[0].as_str();
            let f = c.f;
            {
                let Some((p, t)) = id.split_once("-") else {
                    return not_found();
                };
                match (num(p), num(t)) {
                    (Some(p), Some(t))
                        if db
                            .projects
                            .iter()
                            .any(|x| x.id == p && x.types.contains(&t)) =>
                    {
                        ok(wp_schema(f, db, p, t, None, true))
                    }
                    _ => not_found(),
                }
            }
        }),
        r("GET", "/activities/{id}", |c, db, p| {
            let id = p[0].as_str();
            let f = c.f;
            match db.acts.iter().find(|a| Some(a.id) == num(id)) {
                Some(a) => ok(act_json(f, db, a)),
                None => not_found(),
            }
        }),
        r("GET", "/relations", |c, db, _| relations_list(c, db)),
        r("GET", "/relations/{id}", |c, db, p| {
            let id = p[0].as_str();
            let f = c.f;
            match db.relations.iter().find(|r| Some(r.id) == num(id)) {
                Some(r) => ok(relation_json(f, db, r)),
                None => not_found(),
            }
        }),
        r("DELETE", "/relations/{id}", |_c, db, p| {
            let id = p[0].as_str();
            {
                match db.relations.iter().position(|r| Some(r.id) == num(id)) {
                    Some(i) => {
                        db.relations.remove(i);
                        no_content()
                    }
                    None => not_found(),
                }
            }
        }),
        r("GET", "/time_entries", |c, db, _| te_list(c, db)),
        r("POST", "/time_entries", |c, db, _| te_create(c, db)),
        r("POST", "/time_entries/form", |c, db, _| te_form(c, db)),
        r("GET", "/time_entries/schema", |c, _db, _| {
            let f = c.f;
            ok(te_schema(f))
        }),
        r("GET", "/time_entries/activity/{id}", |c, _db, p| {
            let id = p[0].as_str();
            let f = c.f;
            {
                match TE_ACTIVITIES.iter().find(|a| Some(a.0) == num(id)) {
                    Some(a) => ok(te_activity_json(f, a.0)),
                    None => not_found(),
                }
            }
        }),
        r("GET", "/time_entries/{id}", |c, db, p| {
            let id = p[0].as_str();
            let f = c.f;
            {
                match db.time_entries.iter().find(|t| Some(t.id) == num(id)) {
                    Some(t) => ok(te_json(f, db, t)),
                    None => not_found(),
                }
            }
        }),
        r("PATCH", "/time_entries/{id}", |c, db, p| {
            let id = p[0].as_str();
            {
                match db.time_entries.iter().position(|t| Some(t.id) == num(id)) {
                    Some(i) => te_update(c, db, i),
                    None => not_found(),
                }
            }
        }),
        r("DELETE", "/time_entries/{id}", |_c, db, p| {
            let id = p[0].as_str();
            {
                match db.time_entries.iter().position(|t| Some(t.id) == num(id)) {
                    Some(i) => {
                        db.time_entries.remove(i);
                        no_content()
                    }
                    None => not_found(),
                }
            }
        }),
        r("GET", "/versions", |c, db, _| {
            let f = c.f;
            {
                let list = db.versions.iter().map(|v| version_json(f, db, v)).collect();
                ok(plain_collection(f, "/api/v3/versions", list))
            }
        }),
        r("POST", "/versions", |c, db, _| version_create(c, db)),
        r("GET", "/versions/{id}", |c, db, p| {
            let id = p[0].as_str();
            let f = c.f;
            match db.versions.iter().find(|v| Some(v.id) == num(id)) {
                Some(v) => ok(version_json(f, db, v)),
                None => not_found(),
            }
        }),
        r("PATCH", "/versions/{id}", |c, db, p| {
            let id = p[0].as_str();
            {
                match db.versions.iter().position(|v| Some(v.id) == num(id)) {
                    Some(i) => version_update(c, db, i),
                    None => not_found(),
                }
            }
        }),
        r("DELETE", "/versions/{id}", |_c, db, p| {
            let id = p[0].as_str();
            {
                match db.versions.iter().position(|v| Some(v.id) == num(id)) {
                    Some(i) => {
                        let vid = db.versions[i].id;
                        if db.wps.iter().any(|w| w.version == Some(vid)) {
                            return unprocessable(&[v(
                                "base",
                                "This version cannot be deleted as it has work packages attached to it.",
                            )]);
                        }
                        db.versions.remove(i);
                        no_content()
                    }
                    None => not_found(),
                }
            }
        }),
        r("GET", "/memberships", |c, db, _| memberships_list(c, db)),
        r("GET", "/memberships/{id}", |c, db, p| {
            let id = p[0].as_str();
            let f = c.f;
            {
                match db.memberships.iter().find(|m| Some(m.id) == num(id)) {
                    Some(m) => ok(membership_json(f, db, m)),
                    None => not_found(),
                }
            }
        }),
        r("GET", "/work_packages/{id}", |c, db, p| {
            let id = p[0].as_str();
            let Some(i) = wp_index(db, id) else {
                return not_found();
            };
            let f = c.f;
            ok(wp_full_json(f, db, &db.wps[i]))
        }),
        r("PATCH", "/work_packages/{id}", |c, db, p| {
            let id = p[0].as_str();
            let Some(i) = wp_index(db, id) else {
                return not_found();
            };
            wp_update(c, db, i)
        }),
        r("DELETE", "/work_packages/{id}", |_c, db, p| {
            let id = p[0].as_str();
            let Some(i) = wp_index(db, id) else {
                return not_found();
            };
            let wp_id = db.wps[i].id;
            {
                delete_wps(db, &[wp_id]);
                no_content()
            }
        }),
        r("POST", "/work_packages/{id}/form", |c, db, p| {
            let id = p[0].as_str();
            let Some(i) = wp_index(db, id) else {
                return not_found();
            };
            wp_update_form(c, db, i)
        }),
        r("GET", "/work_packages/{id}/activities", |c, db, p| {
            let id = p[0].as_str();
            let Some(i) = wp_index(db, id) else {
                return not_found();
            };
            let wp_id = db.wps[i].id;
            let f = c.f;
            {
                let list = db
                    .acts
                    .iter()
                    .filter(|a| a.wp == wp_id)
                    .map(|a| act_json(f, db, a))
                    .collect();
                ok(plain_collection(
                    f,
                    &format!("/api/v3/work_packages/{wp_id}/activities"),
                    list,
                ))
            }
        }),
        r("POST", "/work_packages/{id}/activities", |c, db, p| {
            let id = p[0].as_str();
            let Some(i) = wp_index(db, id) else {
                return not_found();
            };
            let wp_id = db.wps[i].id;
            let f = c.f;
            {
                let mail = match notify_wanted(c) {
                    Ok(m) => m,
                    Err(r) => return r,
                };
                let raw = c.body["comment"]["raw"].as_str().unwrap_or("").to_string();
                if raw.trim().is_empty() {
                    return unprocessable(&[v("comment", "Comment can't be blank.")]);
                }
                let now = Utc::now();
                let version = db.acts.iter().filter(|a| a.wp == wp_id).count() as u64 + 1;
                let act = Act {
                    id: db.next_act,
                    wp: wp_id,
                    user: ME,
                    comment: raw,
                    details: Vec::new(),
                    version,
                    created: now,
                    before: None,
                };
                db.next_act += 1;
                // Saving a journal note saves the work package: lockVersion and updatedAt move.
                db.wps[i].lock_version += 1;
                db.wps[i].updated = now;
                let out = act_json(f, db, &act);
                db.acts.push(act);
                if mail {
                    tell(c, db, wp_id);
                }
                created(out)
            }
        }),
        r("GET", "/work_packages/{id}/watchers", |c, db, p| {
            let id = p[0].as_str();
            let Some(i) = wp_index(db, id) else {
                return not_found();
            };
            let wp_id = db.wps[i].id;
            let f = c.f;
            {
                let list = db
                    .watchers
                    .iter()
                    .filter(|(w, _)| *w == wp_id)
                    .filter_map(|(_, u)| db.users.iter().find(|x| x.id == *u))
                    .map(|u| user_json(f, u))
                    .collect();
                ok(plain_collection(
                    f,
                    &format!("/api/v3/work_packages/{wp_id}/watchers"),
                    list,
                ))
            }
        }),
        r("POST", "/work_packages/{id}/watchers", |c, db, p| {
            let id = p[0].as_str();
            let Some(i) = wp_index(db, id) else {
                return not_found();
            };
            let wp_id = db.wps[i].id;
            let f = c.f;
            {
                let href = c.body["user"]["href"].as_str().unwrap_or("");
                let Some(uid) = parse_href(f, href, "users") else {
                    return unprocessable(&[v("user", "User is invalid.")]);
                };
                let Some(user) = db.users.iter().find(|u| u.id == uid).cloned() else {
                    return unprocessable(&[v("user", "User is invalid.")]);
                };
                if db.watchers.contains(&(wp_id, uid)) {
                    return ok(user_json(f, &user));
                }
                db.watchers.push((wp_id, uid));
                created(user_json(f, &user))
            }
        }),
        r(
            "DELETE",
            "/work_packages/{id}/watchers/{uid}",
            |_c, db, p| {
                let id = p[0].as_str();
                let uid = p[1].as_str();
                let Some(i) = wp_index(db, id) else {
                    return not_found();
                };
                let wp_id = db.wps[i].id;
                {
                    let Some(uid) = num(uid).filter(|u| db.users.iter().any(|x| x.id == *u)) else {
                        return not_found();
                    };
                    db.watchers.retain(|w| *w != (wp_id, uid));
                    no_content()
                }
            },
        ),
        r("GET", "/work_packages/{id}/relations", |c, db, p| {
            let id = p[0].as_str();
            let Some(i) = wp_index(db, id) else {
                return not_found();
            };
            let wp_id = db.wps[i].id;
            let f = c.f;
            {
                let list: Vec<Value> = db
                    .relations
                    .iter()
                    .filter(|r| r.from == wp_id || r.to == wp_id)
                    .map(|r| relation_json(f, db, r))
                    .collect();
                ok(plain_collection(
                    f,
                    &format!("/api/v3/work_packages/{wp_id}/relations"),
                    list,
                ))
            }
        }),
        r("POST", "/work_packages/{id}/relations", |c, db, p| {
            let id = p[0].as_str();
            let Some(i) = wp_index(db, id) else {
                return not_found();
            };
            let wp_id = db.wps[i].id;
            relation_create(c, db, wp_id)
        }),
        r(
            "GET",
            "/work_packages/{id}/available_assignees",
            |c, db, p| {
                let id = p[0].as_str();
                let Some(i) = wp_index(db, id) else {
                    return not_found();
                };
                let wp_id = db.wps[i].id;
                let f = c.f;
                {
                    let pid = db.wps[i].project;
                    ok(plain_collection(
                        f,
                        &format!("/api/v3/work_packages/{wp_id}/available_assignees"),
                        assignable(db, pid)
                            .into_iter()
                            .map(|u| principal_json(f, db, u))
                            .collect(),
                    ))
                }
            },
        ),
    ]
}

/// The index of work package `id` in `db.wps`.
fn wp_index(db: &Db, id: &str) -> Option<usize> {
    num(id).and_then(|id| db.wps.iter().position(|w| w.id == id))
}

fn delete_wps(db: &mut Db, ids: &[u64]) {
    let mut gone: Vec<u64> = ids.to_vec();
    // The whole hierarchy goes.
    loop {
        let more: Vec<u64> = db
            .wps
            .iter()
            .filter(|w| w.parent.is_some_and(|p| gone.contains(&p)) && !gone.contains(&w.id))
            .map(|w| w.id)
            .collect();
        if more.is_empty() {
            break;
        }
        gone.extend(more);
    }
    db.wps.retain(|w| !gone.contains(&w.id));
    db.acts.retain(|a| !gone.contains(&a.wp));
    db.time_entries
        .retain(|t| !t.wp.is_some_and(|w| gone.contains(&w)));
    db.watchers.retain(|(w, _)| !gone.contains(w));
    db.relations
        .retain(|r| !gone.contains(&r.from) && !gone.contains(&r.to));
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn date(d: Option<NaiveDate>) -> Value {
    d.map_or(Value::Null, |d| json!(d.format("%Y-%m-%d").to_string()))
}

fn link(f: &Fake, path: &str, title: &str) -> Value {
    json!({ "href": f.h(path), "title": title })
}

fn null_link() -> Value {
    json!({ "href": null })
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A `Formattable` as OpenProject renders it.
fn formattable(format: &str, raw: &str) -> Value {
    let html = if raw.is_empty() {
        String::new()
    } else if format == "markdown" {
        raw.split("\n\n")
            .map(|p| format!("<p class=\"op-uc-p\">{}</p>", escape_html(p)))
            .collect::<String>()
    } else {
        format!("<p>{}</p>", escape_html(raw))
    };
    json!({ "format": format, "raw": raw, "html": html })
}

/// Hours as OpenProject writes a duration (ActiveSupport's ISO 8601: whole days split off).
pub fn format_duration(hours: f64) -> String {
    let secs = (hours * 3600.0).round() as i64;
    if secs == 0 {
        return "PT0S".into();
    }
    let (d, rest) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
    let mut out = String::from("P");
    if d > 0 {
        out += &format!("{d}D");
    }
    if h > 0 || m > 0 || s > 0 {
        out.push('T');
        if h > 0 {
            out += &format!("{h}H");
        }
        if m > 0 {
            out += &format!("{m}M");
        }
        if s > 0 {
            out += &format!("{s}S");
        }
    }
    out
}

/// An ISO 8601 duration (`PT1H30M`, `P1DT2H`, `PT1.5H`, `P1W`) in hours.
pub fn parse_duration(s: &str) -> Option<f64> {
    let rest = s.strip_prefix('P')?;
    if rest.is_empty() {
        return None;
    }
    let (date_part, time_part) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (rest, None),
    };
    fn units(part: &str, allowed: &[(char, f64)]) -> Option<f64> {
        let mut total = 0.0;
        let mut number = String::new();
        let mut last = 0usize;
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' || c == ',' {
                number.push(if c == ',' { '.' } else { c });
                continue;
            }
            let pos = allowed.iter().position(|(u, _)| *u == c)?;
            if number.is_empty() || pos < last {
                return None;
            }
            last = pos + 1;
            total += number.parse::<f64>().ok()? * allowed[pos].1;
            number.clear();
        }
        number.is_empty().then_some(total)
    }
    let days = units(
        date_part,
        &[
            ('Y', 24.0 * 365.2425),
            ('M', 24.0 * 30.436875),
            ('W', 24.0 * 7.0),
            ('D', 24.0),
        ],
    )?;
    let time = match time_part {
        Some(t) => units(t, &[('H', 1.0), ('M', 1.0 / 60.0), ('S', 1.0 / 3600.0)])?,
        None => 0.0,
    };
    Some(days + time)
}

fn status_of(id: u64) -> Option<&'static (u64, &'static str, bool, bool, &'static str)> {
    STATUSES.iter().find(|s| s.0 == id)
}

fn type_of(id: u64) -> Option<&'static (u64, &'static str, bool, &'static str)> {
    TYPES.iter().find(|t| t.0 == id)
}

fn priority_of(id: u64) -> Option<&'static (u64, &'static str, bool)> {
    PRIORITIES.iter().find(|p| p.0 == id)
}

/// A status's name as the site names it (a German site: as OpenProject's German seed data does).
fn status_name(f: &Fake, id: u64) -> &'static str {
    let name = status_of(id).map_or("", |s| s.1);
    if !f.is_german() {
        return name;
    }
    match id {
        NEW => "Neu",
        IN_PROGRESS => "In Bearbeitung",
        CLOSED => "Geschlossen",
        ON_HOLD => "Zurückgestellt",
        REJECTED => "Abgelehnt",
        _ => name,
    }
}

fn status_json(f: &Fake, id: u64) -> Value {
    let (id, _, closed, default, color) = *status_of(id).unwrap();
    let name = status_name(f, id);
    let position = STATUSES.iter().position(|s| s.0 == id).unwrap() + 1;
    json!({
        "_type": "Status", "id": id, "name": name, "isClosed": closed, "color": color,
        "isDefault": default, "isReadonly": false, "excludedFromTotals": false,
        "defaultDoneRatio": if closed { 100 } else { 0 }, "position": position,
        "_links": { "self": link(f, &format!("/api/v3/statuses/{id}"), name) },
    })
}

fn type_json(f: &Fake, id: u64) -> Value {
    let (id, name, milestone, color) = *type_of(id).unwrap();
    let position = TYPES.iter().position(|t| t.0 == id).unwrap() + 1;
    json!({
        "_type": "Type", "id": id, "name": name, "color": color, "position": position,
        "isDefault": id == TASK, "isMilestone": milestone,
        "createdAt": "2024-01-08T10:11:12.000Z", "updatedAt": "2024-01-08T10:11:12.000Z",
        "_links": { "self": link(f, &format!("/api/v3/types/{id}"), name) },
    })
}

fn priority_json(f: &Fake, id: u64) -> Value {
    let (id, name, default) = *priority_of(id).unwrap();
    let position = PRIORITIES.iter().position(|p| p.0 == id).unwrap() + 1;
    json!({
        "_type": "Priority", "id": id, "name": name, "position": position,
        "isDefault": default, "isActive": true,
        "_links": { "self": link(f, &format!("/api/v3/priorities/{id}"), name) },
    })
}

fn te_activity_json(f: &Fake, id: u64) -> Value {
    let (id, name, _) = *TE_ACTIVITIES.iter().find(|a| a.0 == id).unwrap();
    let default = f.default_activity() == Some(id);
    json!({
        "_type": "TimeEntriesActivity", "id": id, "name": name,
        "position": id, "default": default,
        "_embedded": { "projects": [] },
        "_links": {
            "self": link(f, &format!("/api/v3/time_entries/activity/{id}"), name),
            "projects": [],
        },
    })
}

fn user_json(f: &Fake, u: &User) -> Value {
    let self_href = format!("/api/v3/users/{}", u.id);
    let mut links = json!({
        "self": link(f, &self_href, &u.name()),
        "memberships": { "href": f.h(&format!("/api/v3/memberships?filters=%5B%7B%22principal%22%3A%7B%22operator%22%3A%22%3D%22%2C%22values%22%3A%5B%22{}%22%5D%7D%7D%5D", u.id)), "title": "Memberships" },
        "showUser": { "href": f.h(&format!("/users/{}", u.id)), "type": "text/html" },
    });
    if f.is_admin() {
        links["updateImmediately"] = json!({ "href": f.h(&self_href), "title": format!("Update {}", u.login), "method": "patch" });
        links[if u.status == "locked" {
            "unlock"
        } else {
            "lock"
        }] = json!({ "href": f.h(&format!("/api/v3/users/{}/lock", u.id)), "title": "Set lock", "method": if u.status == "locked" { "delete" } else { "post" } });
        links["delete"] = json!({ "href": f.h(&self_href), "title": "Delete", "method": "delete" });
    }
    let mut out = json!({
        "_type": "User", "id": u.id, "name": u.name(),
        "createdAt": "2024-01-08T10:11:12.000Z", "updatedAt": "2024-01-08T10:11:12.000Z",
        "login": u.login, "admin": u.admin, "firstName": u.first, "lastName": u.last,
        "email": u.email,
        "avatar": format!("https://secure.gravatar.com/avatar/{:032x}?default=404&secure=true", u.id),
        "status": u.status, "identityUrl": null, "language": "en",
        "_links": links,
    });
    // Login, e-mail and status are shown to administrators and to the user themselves only.
    if !f.is_admin() && u.id != ME {
        let o = out.as_object_mut().unwrap();
        o.remove("login");
        o.remove("email");
        o.remove("admin");
        o.remove("status");
    }
    out
}

fn group_json(f: &Fake, db: &Db) -> Value {
    json!({
        "_type": "Group", "id": GROUP_ID, "name": "Developers",
        "createdAt": "2024-01-08T10:11:12.000Z", "updatedAt": "2024-01-08T10:11:12.000Z",
        "_links": {
            "self": link(f, &format!("/api/v3/groups/{GROUP_ID}"), "Developers"),
            "members": db.group_members.iter().filter_map(|m| db.users.iter().find(|u| u.id == *m))
                .map(|u| link(f, &format!("/api/v3/users/{}", u.id), &u.name())).collect::<Vec<_>>(),
            "memberships": { "href": f.h(&format!("/api/v3/memberships?filters=%5B%7B%22principal%22%3A%7B%22operator%22%3A%22%3D%22%2C%22values%22%3A%5B%22{GROUP_ID}%22%5D%7D%7D%5D")), "title": "Memberships" },
        },
    })
}

fn principal_json(f: &Fake, db: &Db, id: u64) -> Value {
    if id == GROUP_ID {
        return group_json(f, db);
    }
    db.users
        .iter()
        .find(|u| u.id == id)
        .map_or(Value::Null, |u| user_json(f, u))
}

fn principal_name(db: &Db, id: u64) -> String {
    if id == GROUP_ID {
        return "Developers".into();
    }
    db.users
        .iter()
        .find(|u| u.id == id)
        .map(User::name)
        .unwrap_or_default()
}

fn principal_link(f: &Fake, db: &Db, id: Option<u64>) -> Value {
    match id {
        Some(GROUP_ID) => link(f, &format!("/api/v3/groups/{GROUP_ID}"), "Developers"),
        Some(id) => link(f, &format!("/api/v3/users/{id}"), &principal_name(db, id)),
        None => null_link(),
    }
}

/// OpenProject's project statuses (`GET /api/v3/project_statuses/{id}`) and their names.
const PROJECT_STATUSES: [(&str, &str); 6] = [
    ("on_track", "On track"),
    ("at_risk", "At risk"),
    ("off_track", "Off track"),
    ("not_started", "Not started"),
    ("finished", "Finished"),
    ("discontinued", "Discontinued"),
];

fn project_status_name(id: &str) -> String {
    PROJECT_STATUSES
        .iter()
        .find(|(i, _)| *i == id)
        .map_or_else(|| id.to_string(), |(_, n)| n.to_string())
}

fn project_json(f: &Fake, p: &Project) -> Value {
    let base = format!("/api/v3/projects/{}", p.id);
    json!({
        "_type": "Project", "id": p.id, "identifier": p.identifier, "name": p.name,
        "active": p.active, "public": p.public, "favorited": false,
        "description": formattable("markdown", &p.description),
        "createdAt": ts(p.created), "updatedAt": ts(p.updated),
        "statusExplanation": formattable("markdown", ""),
        "_links": {
            "self": link(f, &base, &p.name),
            "createWorkPackage": { "href": f.h(&format!("{base}/work_packages/form")), "method": "post" },
            "createWorkPackageImmediately": { "href": f.h(&format!("{base}/work_packages")), "method": "post" },
            "workPackages": { "href": f.h(&format!("{base}/work_packages")) },
            "categories": { "href": f.h(&format!("{base}/categories")) },
            "versions": { "href": f.h(&format!("{base}/versions")) },
            "memberships": { "href": f.h(&format!("/api/v3/memberships?filters=%5B%7B%22project%22%3A%7B%22operator%22%3A%22%3D%22%2C%22values%22%3A%5B%22{}%22%5D%7D%7D%5D", p.id)) },
            "types": { "href": f.h(&format!("{base}/types")) },
            "update": { "href": f.h(&format!("{base}/form")), "method": "post" },
            "updateImmediately": { "href": f.h(&base), "method": "patch" },
            "delete": { "href": f.h(&base), "method": "delete" },
            "parent": null_link(),
            "status": match &p.status {
                Some(st) => link(f, &format!("/api/v3/project_statuses/{st}"), &project_status_name(st)),
                None => null_link(),
            },
            "ancestors": [],
        },
    })
}

/// Whether a version is available in a project: its own, or shared with it. The spec's
/// `GET /api/v3/projects/{id}/versions`: "lists the versions that are *available* in a given
/// project. Note that due to sharing this might be more than the versions *defined* by that
/// project." (The fake has no project tree: `system` shares with every project, the tree-wide
/// sharings with none besides the defining one.)
fn available_in(v: &Version, project: u64) -> bool {
    v.project == project || v.sharing == "system"
}

fn version_json(f: &Fake, db: &Db, v: &Version) -> Value {
    let base = format!("/api/v3/versions/{}", v.id);
    let project = db.projects.iter().find(|p| p.id == v.project);
    json!({
        "_type": "Version", "id": v.id, "name": v.name,
        "description": formattable("plain", &v.description),
        "startDate": date(v.start), "endDate": date(v.end),
        "status": v.status, "sharing": v.sharing,
        "createdAt": ts(v.created), "updatedAt": ts(v.updated),
        "_links": {
            "self": link(f, &base, &v.name),
            "schema": { "href": f.h("/api/v3/versions/schema") },
            "update": { "href": f.h(&format!("{base}/form")), "method": "post" },
            "updateImmediately": { "href": f.h(&base), "method": "patch" },
            "delete": { "href": f.h(&base), "method": "delete" },
            "definingProject": project.map_or(null_link(), |p| link(f, &format!("/api/v3/projects/{}", p.id), &p.name)),
            "availableInProjects": { "href": f.h(&format!("{base}/projects")) },
        },
    })
}

fn wp_time_entries_href(f: &Fake, id: u64) -> String {
    let filters = if f.major >= 16 {
        format!(
            "[{{\"entity_type\":{{\"operator\":\"=\",\"values\":[\"WorkPackage\"]}}}},{{\"entity_id\":{{\"operator\":\"=\",\"values\":[\"{id}\"]}}}}]"
        )
    } else {
        format!("[{{\"work_package\":{{\"operator\":\"=\",\"values\":[\"{id}\"]}}}}]")
    };
    let encoded: String = url::form_urlencoded::byte_serialize(filters.as_bytes()).collect();
    f.h(&format!("/api/v3/time_entries?filters={encoded}"))
}

fn wp_json(f: &Fake, db: &Db, w: &Wp) -> Value {
    let base = format!("/api/v3/work_packages/{}", w.id);
    let project = db.projects.iter().find(|p| p.id == w.project);
    let milestone = type_of(w.type_id).is_some_and(|t| t.2);
    let mut o = Map::new();
    o.insert("_type".into(), json!("WorkPackage"));
    o.insert("id".into(), json!(w.id));
    o.insert("lockVersion".into(), json!(w.lock_version));
    o.insert("subject".into(), json!(w.subject));
    o.insert(
        "description".into(),
        formattable("markdown", &w.description),
    );
    o.insert("scheduleManually".into(), json!(true));
    if milestone {
        o.insert("date".into(), date(w.due));
    } else {
        o.insert("startDate".into(), date(w.start));
        o.insert("dueDate".into(), date(w.due));
        o.insert("derivedStartDate".into(), Value::Null);
        o.insert("derivedDueDate".into(), Value::Null);
        o.insert(
            "duration".into(),
            match (w.start, w.due) {
                (Some(s), Some(d)) if d >= s => json!(format!("P{}D", (d - s).num_days() + 1)),
                _ => Value::Null,
            },
        );
    }
    o.insert("ignoreNonWorkingDays".into(), json!(false));
    o.insert(
        "estimatedTime".into(),
        w.estimated
            .map_or(Value::Null, |h| json!(format_duration(h))),
    );
    o.insert("derivedEstimatedTime".into(), Value::Null);
    o.insert(
        "remainingTime".into(),
        w.remaining
            .map_or(Value::Null, |h| json!(format_duration(h))),
    );
    o.insert("derivedRemainingTime".into(), Value::Null);
    o.insert(
        "spentTime".into(),
        json!(format_duration(
            db.time_entries
                .iter()
                .filter(|t| t.wp == Some(w.id))
                .map(|t| t.hours)
                .sum()
        )),
    );
    o.insert("percentageDone".into(), json!(w.percentage_done));
    o.insert("derivedPercentageDone".into(), Value::Null);
    if project.is_some_and(|p| p.backlogs) {
        o.insert("storyPoints".into(), json!(w.story_points));
        o.insert("position".into(), json!(w.id));
    }
    if project.is_some_and(|p| p.cf7) {
        o.insert("customField7".into(), json!(w.cf7));
    }
    o.insert("readonly".into(), json!(false));
    o.insert("createdAt".into(), json!(ts(w.created)));
    o.insert("updatedAt".into(), json!(ts(w.updated)));

    let watching = db.watchers.contains(&(w.id, ME));
    let children: Vec<Value> = db
        .wps
        .iter()
        .filter(|c| c.parent == Some(w.id))
        .map(|c| link(f, &format!("/api/v3/work_packages/{}", c.id), &c.subject))
        .collect();
    let mut ancestors = Vec::new();
    let mut cur = w.parent;
    while let Some(p) = cur.and_then(|p| db.wps.iter().find(|x| x.id == p)) {
        ancestors.insert(
            0,
            link(f, &format!("/api/v3/work_packages/{}", p.id), &p.subject),
        );
        cur = p.parent;
    }
    let mut links = json!({
        "self": link(f, &base, &w.subject),
        "update": { "href": f.h(&format!("{base}/form")), "method": "post" },
        "schema": { "href": f.h(&format!("/api/v3/work_packages/schemas/{}-{}", w.project, w.type_id)) },
        "updateImmediately": { "href": f.h(&base), "method": "patch" },
        "delete": { "href": f.h(&base), "method": "delete" },
        "logTime": { "href": f.h("/api/v3/time_entries"), "title": format!("Log time on {}", w.subject) },
        "move": { "href": f.h(&format!("/work_packages/{}/move/new", w.id)), "type": "text/html", "title": format!("Move {}", w.subject) },
        "copy": { "href": f.h(&format!("/work_packages/{}/copy", w.id)), "type": "text/html", "title": format!("Copy {}", w.subject) },
        "attachments": { "href": f.h(&format!("{base}/attachments")) },
        "addAttachment": { "href": f.h(&format!("{base}/attachments")), "method": "post" },
        "availableWatchers": { "href": f.h(&format!("{base}/available_watchers")) },
        "availableRelationCandidates": { "href": f.h(&format!("{base}/available_relation_candidates")), "title": "Potential work packages to relate to" },
        "addWatcher": { "href": f.h(&format!("{base}/watchers")), "method": "post", "payload": { "user": { "href": f.h("/api/v3/users/{user_id}") } }, "templated": true },
        "removeWatcher": { "href": f.h(&format!("{base}/watchers/{{user_id}}")), "method": "delete", "templated": true },
        "addRelation": { "href": f.h(&format!("{base}/relations")), "method": "post", "title": "Add relation" },
        "changeParent": { "href": f.h(&base), "method": "patch", "title": format!("Change parent of {}", w.subject) },
        "addComment": { "href": f.h(&format!("{base}/activities")), "method": "post", "title": "Add comment" },
        "previewMarkup": { "href": f.h(&format!("/api/v3/render/markdown?context={}", f.h(&base))), "method": "post" },
        "timeEntries": { "href": wp_time_entries_href(f, w.id), "title": "Time entries" },
        "ancestors": ancestors,
        "category": null_link(),
        "type": link(f, &format!("/api/v3/types/{}", w.type_id), type_of(w.type_id).map_or("", |t| t.1)),
        "priority": link(f, &format!("/api/v3/priorities/{}", w.priority), priority_of(w.priority).map_or("", |p| p.1)),
        "project": project.map_or(null_link(), |p| link(f, &format!("/api/v3/projects/{}", p.id), &p.name)),
        "status": link(f, &format!("/api/v3/statuses/{}", w.status), status_name(f, w.status)),
        "author": principal_link(f, db, Some(w.author)),
        "responsible": principal_link(f, db, w.responsible),
        "assignee": principal_link(f, db, w.assignee),
        "version": w.version.and_then(|v| db.versions.iter().find(|x| x.id == v))
            .map_or(null_link(), |v| link(f, &format!("/api/v3/versions/{}", v.id), &v.name)),
        "parent": w.parent.and_then(|p| db.wps.iter().find(|x| x.id == p))
            .map_or(json!({ "href": null, "title": null }), |p| link(f, &format!("/api/v3/work_packages/{}", p.id), &p.subject)),
        "relations": { "href": f.h(&format!("{base}/relations")), "title": "Show relations" },
        "revisions": { "href": f.h(&format!("{base}/revisions")) },
        "activities": { "href": f.h(&format!("{base}/activities")) },
        "watchers": { "href": f.h(&format!("{base}/watchers")) },
        "customActions": [],
    });
    if !children.is_empty() {
        links["children"] = json!(children);
    }
    if watching {
        links["unwatch"] =
            json!({ "href": f.h(&format!("{base}/watchers/{ME}")), "method": "delete" });
    } else {
        links["watch"] = json!({ "href": f.h(&format!("{base}/watchers")), "method": "post", "payload": { "user": { "href": f.h(&format!("/api/v3/users/{ME}")) } } });
    }
    o.insert("_links".into(), links);
    Value::Object(o)
}

/// A work package as the single-resource endpoints show it: with its linked resources embedded.
fn wp_full_json(f: &Fake, db: &Db, w: &Wp) -> Value {
    let mut out = wp_json(f, db, w);
    let mut embedded = json!({
        "type": type_json(f, w.type_id),
        "status": status_json(f, w.status),
        "priority": priority_json(f, w.priority),
        "author": principal_json(f, db, w.author),
    });
    if let Some(p) = db.projects.iter().find(|p| p.id == w.project) {
        embedded["project"] = project_json(f, p);
    }
    if let Some(a) = w.assignee {
        embedded["assignee"] = principal_json(f, db, a);
    }
    if let Some(r) = w.responsible {
        embedded["responsible"] = principal_json(f, db, r);
    }
    if let Some(v) = w
        .version
        .and_then(|v| db.versions.iter().find(|x| x.id == v))
    {
        embedded["version"] = version_json(f, db, v);
    }
    if let Some(p) = w.parent.and_then(|p| db.wps.iter().find(|x| x.id == p)) {
        embedded["parent"] = wp_json(f, db, p);
    }
    out["_embedded"] = embedded;
    out
}

fn act_json(f: &Fake, db: &Db, a: &Act) -> Value {
    let wp = db.wps.iter().find(|w| w.id == a.wp);
    json!({
        "_type": if a.comment.is_empty() { "Activity" } else { "Activity::Comment" },
        "id": a.id,
        "comment": formattable("markdown", &a.comment),
        "details": a.details.iter().map(|d| detail_json(f, a.id, d)).collect::<Vec<_>>(),
        "version": a.version,
        "internal": false,
        "createdAt": ts(a.created),
        "updatedAt": ts(a.created),
        "_links": {
            "self": { "href": f.h(&format!("/api/v3/activities/{}", a.id)) },
            "workPackage": wp.map_or(null_link(), |w| link(f, &format!("/api/v3/work_packages/{}", w.id), &w.subject)),
            // The author's link has no title, as in the spec's own examples of
            // `GET /api/v3/work_packages/{id}/activities` (`"user": {"href": "/api/v3/users/1"}`).
            "user": { "href": f.h(&format!("/api/v3/users/{}", a.user)) },
            "update": { "href": f.h(&format!("/api/v3/activities/{}", a.id)), "method": "patch" },
        },
    })
}

fn te_json(f: &Fake, db: &Db, t: &TimeEntry) -> Value {
    let base = format!("/api/v3/time_entries/{}", t.id);
    let project = db.projects.iter().find(|p| p.id == t.project);
    let wp = t.wp.and_then(|w| db.wps.iter().find(|x| x.id == w));
    let wp_link = wp.map_or(null_link(), |w| {
        link(f, &format!("/api/v3/work_packages/{}", w.id), &w.subject)
    });
    let activity = TE_ACTIVITIES.iter().find(|a| a.0 == t.activity);
    let mut links = json!({
        "self": { "href": f.h(&base) },
        "updateImmediately": { "href": f.h(&base), "method": "patch" },
        "update": { "href": f.h(&format!("{base}/form")), "method": "post" },
        "delete": { "href": f.h(&base), "method": "delete" },
        "schema": { "href": f.h("/api/v3/time_entries/schema") },
        "project": project.map_or(null_link(), |p| link(f, &format!("/api/v3/projects/{}", p.id), &p.name)),
        "user": principal_link(f, db, Some(t.user)),
        "activity": activity.map_or(null_link(), |a| link(f, &format!("/api/v3/time_entries/activity/{}", a.0), a.1)),
    });
    if f.major >= 16 {
        links["entity"] = wp_link.clone();
        // Deprecated, still rendered for work packages.
        if wp.is_some() {
            links["workPackage"] = wp_link;
        }
    } else {
        links["workPackage"] = wp_link;
    }
    let mut out = json!({
        "_type": "TimeEntry", "id": t.id,
        "comment": formattable("plain", &t.comment),
        "spentOn": t.spent_on.format("%Y-%m-%d").to_string(),
        "hours": format_duration(t.hours),
        "createdAt": ts(t.created), "updatedAt": ts(t.updated),
        "_links": links,
    });
    if f.major >= 15 {
        out["ongoing"] = json!(false);
    }
    out
}

fn relation_name(kind: &str) -> Option<(&'static str, &'static str)> {
    // (name, reverseType)
    Some(match kind {
        "relates" => ("related to", "relates"),
        "duplicates" => ("duplicates", "duplicated"),
        "duplicated" => ("duplicated by", "duplicates"),
        "blocks" => ("blocks", "blocked"),
        "blocked" => ("blocked by", "blocks"),
        "precedes" => ("precedes", "follows"),
        "follows" => ("follows", "precedes"),
        "includes" => ("includes", "partof"),
        "partof" => ("part of", "includes"),
        "requires" => ("requires", "required"),
        "required" => ("required by", "requires"),
        _ => return None,
    })
}

fn relation_json(f: &Fake, db: &Db, r: &Relation) -> Value {
    let base = format!("/api/v3/relations/{}", r.id);
    let (name, reverse) = relation_name(&r.kind).unwrap_or(("related to", "relates"));
    let wp_link = |id: u64| {
        db.wps.iter().find(|w| w.id == id).map_or(null_link(), |w| {
            link(f, &format!("/api/v3/work_packages/{}", w.id), &w.subject)
        })
    };
    json!({
        "_type": "Relation", "id": r.id, "name": name, "type": r.kind, "reverseType": reverse,
        "description": r.description, "lag": r.lag,
        "_links": {
            "self": { "href": f.h(&base) },
            "update": { "href": f.h(&format!("{base}/form")), "method": "post" },
            "updateImmediately": { "href": f.h(&base), "method": "patch" },
            "delete": { "href": f.h(&base), "method": "delete", "title": "Remove relation" },
            "from": wp_link(r.from),
            "to": wp_link(r.to),
        },
    })
}

fn membership_json(f: &Fake, db: &Db, m: &Membership) -> Value {
    let base = format!("/api/v3/memberships/{}", m.id);
    let project = db.projects.iter().find(|p| p.id == m.project);
    json!({
        "_type": "Membership", "id": m.id,
        "createdAt": ts(m.created), "updatedAt": ts(m.created),
        "_links": {
            "self": { "href": f.h(&base) },
            "schema": { "href": f.h("/api/v3/memberships/schema") },
            "update": { "href": f.h(&format!("{base}/form")), "method": "post" },
            "updateImmediately": { "href": f.h(&base), "method": "patch" },
            "project": project.map_or(null_link(), |p| link(f, &format!("/api/v3/projects/{}", p.id), &p.name)),
            "principal": principal_link(f, db, Some(m.principal)),
            "roles": m.roles.iter().filter_map(|r| ROLES.iter().find(|x| x.0 == *r))
                .map(|(r, n)| link(f, &format!("/api/v3/roles/{r}"), n)).collect::<Vec<_>>(),
        },
    })
}

// ---------------------------------------------------------------------------------------------
// Collections
// ---------------------------------------------------------------------------------------------

/// An unpaginated collection (statuses, types, priorities, versions of a project, activities…).
fn plain_collection(f: &Fake, path: &str, elements: Vec<Value>) -> Value {
    json!({
        "_type": "Collection", "total": elements.len(), "count": elements.len(),
        "_embedded": { "elements": elements },
        "_links": { "self": { "href": f.h(path) } },
    })
}

/// A paginated collection: `offset` is the page number (1-based), `pageSize` at most 1000.
fn paged(c: &Ctx, elements: Vec<Value>) -> Value {
    let f = c.f;
    let size =
        c.q.get("pageSize")
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|s| *s >= 0)
            .unwrap_or(20)
            .min(1000) as usize;
    let page =
        c.q.get("offset")
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|o| *o >= 1)
            .unwrap_or(1) as usize;
    let total = elements.len();
    let page_elements: Vec<Value> = elements
        .into_iter()
        .skip((page - 1).saturating_mul(size))
        .take(size)
        .collect();
    let others: Vec<&str> =
        c.q.raw
            .iter()
            .filter(|p| {
                let key = p.split('=').next().unwrap_or("");
                key != "offset" && key != "pageSize"
            })
            .map(String::as_str)
            .collect();
    let href = |offset: &str, size: &str| {
        let mut parts: Vec<String> = others.iter().map(|s| s.to_string()).collect();
        parts.push(format!("offset={offset}"));
        parts.push(format!("pageSize={size}"));
        format!("{}{}?{}", f.h("/api/v3"), c.path, parts.join("&"))
    };
    let mut links = json!({
        "self": { "href": href(&page.to_string(), &size.to_string()) },
        "jumpTo": { "href": href("%7Boffset%7D", &size.to_string()), "templated": true },
        "changeSize": { "href": href(&page.to_string(), "%7Bsize%7D"), "templated": true },
    });
    if page > 1 {
        links["previousByOffset"] =
            json!({ "href": href(&(page - 1).to_string(), &size.to_string()) });
    }
    if size > 0 && page * size < total {
        links["nextByOffset"] = json!({ "href": href(&(page + 1).to_string(), &size.to_string()) });
    }
    json!({
        "_type": "Collection", "total": total, "count": page_elements.len(),
        "pageSize": size, "offset": page,
        "_embedded": { "elements": page_elements },
        "_links": links,
    })
}

/// One filter of a `filters` parameter.
#[derive(Clone, Debug)]
struct Filter {
    name: String,
    op: String,
    values: Vec<String>,
}

fn humanize(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c == '_' {
            out.push(' ');
        } else if c.is_uppercase() {
            out.push(' ');
            out.extend(c.to_lowercase());
        } else if i == 0 {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `filters` as given: `None` when the parameter is absent. Malformed JSON → 400.
fn parse_filters(raw: Option<&str>) -> Result<Option<Vec<Filter>>, Response> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let malformed = || invalid_query("The query parameter 'filters' is missing or malformed.");
    let parsed: Value = serde_json::from_str(raw).map_err(|_| malformed())?;
    let list = parsed.as_array().ok_or_else(malformed)?;
    let mut out = Vec::new();
    for item in list {
        let obj = item.as_object().ok_or_else(malformed)?;
        for (name, spec) in obj {
            let op = spec["operator"].as_str().ok_or_else(|| {
                invalid_query(&format!(
                    "Filters {}: Operator can't be blank.",
                    humanize(name)
                ))
            })?;
            let values = match &spec["values"] {
                Value::Null => Vec::new(),
                Value::Array(a) => a
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => Ok(s.clone()),
                        Value::Number(n) => Ok(n.to_string()),
                        Value::Bool(b) => Ok(if *b { "t".into() } else { "f".into() }),
                        _ => Err(malformed()),
                    })
                    .collect::<Result<_, _>>()?,
                _ => return Err(malformed()),
            };
            out.push(Filter {
                name: name.clone(),
                op: op.to_string(),
                values,
            });
        }
    }
    Ok(Some(out))
}

fn unknown_filter(name: &str) -> Response {
    invalid_query(&format!(
        "Filters {} filter does not exist.",
        humanize(name)
    ))
}

fn bad_operator(name: &str) -> Response {
    invalid_query(&format!(
        "Filters {}: Operator is not set to one of the allowed values.",
        humanize(name)
    ))
}

fn bad_values(name: &str) -> Response {
    invalid_query(&format!(
        "Filters {} filter has invalid values.",
        humanize(name)
    ))
}

/// Checks a filter's operator against `allowed`, and that value-taking operators have values.
fn check_op(flt: &Filter, allowed: &[&str]) -> Result<(), Response> {
    if !allowed.contains(&flt.op.as_str()) {
        return Err(bad_operator(&flt.name));
    }
    let needs_values = !matches!(flt.op.as_str(), "o" | "c" | "*" | "!*" | "t" | "w");
    if needs_values && flt.values.is_empty() {
        return Err(bad_values(&flt.name));
    }
    Ok(())
}

/// Matches an optional id against `=`, `!`, `*`, `!*` (values may say `me`).
fn id_match(flt: &Filter, value: Option<u64>) -> Result<bool, Response> {
    let ids: Vec<Option<u64>> = flt
        .values
        .iter()
        .map(|s| if s == "me" { Some(ME) } else { num(s) })
        .collect();
    if matches!(flt.op.as_str(), "=" | "!") && ids.iter().any(Option::is_none) {
        return Err(bad_values(&flt.name));
    }
    Ok(match flt.op.as_str() {
        "=" => value.is_some_and(|v| ids.contains(&Some(v))),
        "!" => !value.is_some_and(|v| ids.contains(&Some(v))),
        "*" => value.is_some(),
        "!*" => value.is_none(),
        _ => return Err(bad_operator(&flt.name)),
    })
}

fn date_match(flt: &Filter, value: Option<NaiveDate>) -> Result<bool, Response> {
    let parse = |s: &str| -> Result<Option<NaiveDate>, Response> {
        if s.is_empty() {
            Ok(None)
        } else {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| bad_values(&flt.name))
        }
    };
    Ok(match flt.op.as_str() {
        "*" => value.is_some(),
        "!*" => value.is_none(),
        "t" => value == Some(Utc::now().date_naive()),
        "=d" => {
            let d = parse(flt.values.first().map_or("", String::as_str))?;
            d.is_some() && value == d
        }
        "<>d" => {
            let from = parse(flt.values.first().map_or("", String::as_str))?;
            let to = parse(flt.values.get(1).map_or("", String::as_str))?;
            value.is_some_and(|v| from.is_none_or(|f| v >= f) && to.is_none_or(|t| v <= t))
        }
        _ => return Err(bad_operator(&flt.name)),
    })
}

/// `sortBy` as `[["field","asc"|"desc"], …]`; malformed → 400.
fn parse_sort(raw: Option<&str>, allowed: &[&str]) -> Result<Vec<(String, bool)>, Response> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let malformed = || invalid_query("The query parameter 'sortBy' is missing or malformed.");
    let parsed: Value = serde_json::from_str(raw).map_err(|_| malformed())?;
    let mut out = Vec::new();
    for pair in parsed.as_array().ok_or_else(malformed)? {
        let (Some(field), Some(dir)) = (pair[0].as_str(), pair[1].as_str()) else {
            return Err(malformed());
        };
        if pair.as_array().map(Vec::len) != Some(2) {
            return Err(malformed());
        }
        if !allowed.contains(&field) {
            return Err(invalid_query(&format!(
                "Sort by {} is not set to one of the allowed values.",
                humanize(field)
            )));
        }
        let desc = match dir {
            "asc" => false,
            "desc" => true,
            _ => {
                return Err(invalid_query(&format!(
                    "Sort by {}: Direction is not set to one of the allowed values.",
                    humanize(field)
                )));
            }
        };
        out.push((field.to_string(), desc));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Lookups
// ---------------------------------------------------------------------------------------------

fn find_project(db: &Db, id: &str) -> Option<usize> {
    db.projects
        .iter()
        .position(|p| Some(p.id) == num(id) || p.identifier == id)
}

/// The id in `<prefix>/api/v3/<ns>/<id>`; OpenProject only accepts its own paths, sub-path included.
fn parse_href(f: &Fake, href: &str, ns: &str) -> Option<u64> {
    let rest = href.strip_prefix(f.prefix.as_str())?;
    let id = rest.strip_prefix(&format!("/api/v3/{ns}/"))?;
    num(id)
}

/// The principals a work package of `project` may be assigned to: members with a role that may
/// be assigned (not "Reader"), users not locked.
fn assignable(db: &Db, project: u64) -> Vec<u64> {
    let mut out: Vec<u64> = db
        .memberships
        .iter()
        .filter(|m| m.project == project && m.roles.iter().any(|r| *r != 5))
        .map(|m| m.principal)
        .filter(|p| *p == GROUP_ID || db.users.iter().any(|u| u.id == *p && u.status == "active"))
        .collect();
    out.sort_unstable();
    out
}

fn allowed_statuses(from: u64) -> Vec<u64> {
    let mut out = vec![from];
    if let Some((_, to)) = WORKFLOW.iter().find(|(s, _)| *s == from) {
        out.extend_from_slice(to);
    }
    STATUSES
        .iter()
        .map(|s| s.0)
        .filter(|s| out.contains(s))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Root, users, principals
// ---------------------------------------------------------------------------------------------

fn root(c: &Ctx, db: &Db) -> Response {
    let f = c.f;
    let mut out = json!({
        "_type": "Root",
        "instanceName": "OpenProject",
        "_links": {
            "self": { "href": f.h("/api/v3") },
            "configuration": { "href": f.h("/api/v3/configuration") },
            "memberships": { "href": f.h("/api/v3/memberships") },
            "priorities": { "href": f.h("/api/v3/priorities") },
            "relations": { "href": f.h("/api/v3/relations") },
            "statuses": { "href": f.h("/api/v3/statuses") },
            "time_entries": { "href": f.h("/api/v3/time_entries") },
            "types": { "href": f.h("/api/v3/types") },
            "user": principal_link(f, db, Some(ME)),
            "userPreferences": { "href": f.h("/api/v3/my_preferences") },
            "workPackages": { "href": f.h("/api/v3/work_packages") },
            "projects": { "href": f.h("/api/v3/projects") },
        },
    });
    if f.is_admin() {
        out["coreVersion"] = json!(f.core_version);
    }
    ok(out)
}

fn user_get(c: &Ctx, db: &Db, id: u64) -> Response {
    match db.users.iter().find(|u| u.id == id) {
        Some(u) => ok(user_json(c.f, u)),
        None => error(
            404,
            "NotFound",
            "The requested resource could not be found.",
        ),
    }
}

fn users_list(c: &Ctx, db: &Db) -> Response {
    if !c.f.is_admin() {
        return error(
            403,
            "MissingPermission",
            "You are not allowed to list users.",
        );
    }
    let filters = match parse_filters(c.q.get("filters")) {
        Ok(f) => f.unwrap_or_default(),
        Err(r) => return r,
    };
    let mut out = Vec::new();
    'users: for u in &db.users {
        for flt in &filters {
            let hit = match flt.name.as_str() {
                "status" => {
                    if let Err(r) = check_op(flt, &["=", "!"]) {
                        return r;
                    }
                    flt.values.iter().any(|s| s == u.status) == (flt.op == "=")
                }
                "name" | "any_name_attribute" => {
                    if let Err(r) = check_op(flt, &["~", "**"]) {
                        return r;
                    }
                    name_matches(u, &flt.values)
                }
                "login" => {
                    if let Err(r) = check_op(flt, &["=", "~"]) {
                        return r;
                    }
                    flt.values.iter().any(|s| {
                        if flt.op == "=" {
                            s == &u.login
                        } else {
                            u.login.contains(&s.to_lowercase())
                        }
                    })
                }
                "group" => {
                    if let Err(r) = check_op(flt, &["="]) {
                        return r;
                    }
                    flt.values.contains(&GROUP_ID.to_string()) && db.group_members.contains(&u.id)
                }
                "id" => match id_match(flt, Some(u.id)) {
                    Ok(b) => b,
                    Err(r) => return r,
                },
                other => return unknown_filter(other),
            };
            if !hit {
                continue 'users;
            }
        }
        out.push(user_json(c.f, u));
    }
    ok(paged(c, out))
}

fn name_matches(u: &User, values: &[String]) -> bool {
    let hay = format!("{} {} {}", u.name(), u.login, u.email).to_lowercase();
    values.iter().all(|v| hay.contains(&v.to_lowercase()))
}

fn principals(c: &Ctx, db: &Db) -> Response {
    let filters = match parse_filters(c.q.get("filters")) {
        Ok(f) => f.unwrap_or_default(),
        Err(r) => return r,
    };
    let status_filtered = filters.iter().any(|f| f.name == "status");
    let mut ids: Vec<u64> = db
        .users
        .iter()
        .filter(|u| status_filtered || u.status != "locked")
        .map(|u| u.id)
        .collect();
    ids.push(GROUP_ID);
    ids.sort_unstable();
    let mut out = Vec::new();
    'principals: for id in ids {
        let user = db.users.iter().find(|u| u.id == id);
        for flt in &filters {
            let hit = match flt.name.as_str() {
                "type" => {
                    if let Err(r) = check_op(flt, &["=", "!"]) {
                        return r;
                    }
                    let ty = if user.is_some() { "User" } else { "Group" };
                    flt.values.iter().any(|v| v == ty) == (flt.op == "=")
                }
                "name" | "any_name_attribute" => {
                    if let Err(r) = check_op(flt, &["~", "**"]) {
                        return r;
                    }
                    match user {
                        Some(u) => name_matches(u, &flt.values),
                        None => flt
                            .values
                            .iter()
                            .all(|v| "developers".contains(&v.to_lowercase())),
                    }
                }
                "member" => {
                    if let Err(r) = check_op(flt, &["=", "!"]) {
                        return r;
                    }
                    let member = db
                        .memberships
                        .iter()
                        .any(|m| m.principal == id && flt.values.contains(&m.project.to_string()));
                    member == (flt.op == "=")
                }
                "status" => {
                    if let Err(r) = check_op(flt, &["=", "!"]) {
                        return r;
                    }
                    // Principal statuses are numbers: 1 active, 3 locked.
                    let code = match user.map(|u| u.status) {
                        Some("locked") => "3",
                        _ => "1",
                    };
                    flt.values.iter().any(|v| v == code) == (flt.op == "=")
                }
                "id" => match id_match(flt, Some(id)) {
                    Ok(b) => b,
                    Err(r) => return r,
                },
                other => return unknown_filter(other),
            };
            if !hit {
                continue 'principals;
            }
        }
        out.push(principal_json(c.f, db, id));
    }
    ok(paged(c, out))
}

// ---------------------------------------------------------------------------------------------
// Projects
// ---------------------------------------------------------------------------------------------

fn projects_list(c: &Ctx, db: &Db) -> Response {
    let filters = match parse_filters(c.q.get("filters")) {
        Ok(f) => f.unwrap_or_default(),
        Err(r) => return r,
    };
    let sort = match parse_sort(
        c.q.get("sortBy"),
        &["id", "name", "created_at", "updated_at", "identifier"],
    ) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut list: Vec<&Project> = Vec::new();
    'projects: for p in &db.projects {
        for flt in &filters {
            let hit = match flt.name.as_str() {
                "name_and_identifier" => {
                    if let Err(r) = check_op(flt, &["~", "="]) {
                        return r;
                    }
                    flt.values.iter().all(|v| {
                        let v = v.to_lowercase();
                        if flt.op == "=" {
                            p.name.to_lowercase() == v || p.identifier == v
                        } else {
                            p.name.to_lowercase().contains(&v) || p.identifier.contains(&v)
                        }
                    })
                }
                "active" => {
                    if let Err(r) = check_op(flt, &["="]) {
                        return r;
                    }
                    flt.values.iter().any(|v| (v == "t") == p.active)
                }
                "id" => match id_match(flt, Some(p.id)) {
                    Ok(b) => b,
                    Err(r) => return r,
                },
                other => return unknown_filter(other),
            };
            if !hit {
                continue 'projects;
            }
        }
        list.push(p);
    }
    for (field, desc) in sort.iter().rev() {
        list.sort_by(|a, b| {
            let o = match field.as_str() {
                "name" => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
                "identifier" => a.identifier.cmp(&b.identifier),
                "created_at" => a.created.cmp(&b.created),
                "updated_at" => a.updated.cmp(&b.updated),
                _ => a.id.cmp(&b.id),
            };
            if *desc { o.reverse() } else { o }
        });
    }
    let out = list.into_iter().map(|p| project_json(c.f, p)).collect();
    ok(paged(c, out))
}

fn valid_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn project_fields(c: &Ctx, db: &Db, p: &mut Project) -> Vec<Violation> {
    let b = c.body;
    let mut errors = Vec::new();
    if let Some(name) = b.get("name") {
        p.name = name.as_str().unwrap_or("").to_string();
    }
    if let Some(d) = b.get("description") {
        p.description = d["raw"].as_str().unwrap_or("").to_string();
    }
    if let Some(a) = b.get("active").and_then(Value::as_bool) {
        p.active = a;
    }
    if let Some(a) = b.get("public").and_then(Value::as_bool) {
        p.public = a;
    }
    if let Some(i) = b.get("identifier") {
        p.identifier = i.as_str().unwrap_or("").to_string();
    }
    if let Some(st) = b.get("_links").and_then(|l| l.get("status")) {
        match st["href"].as_str() {
            None if st["href"].is_null() => p.status = None,
            Some(h) => match h.rsplit_once("/api/v3/project_statuses/") {
                Some((_, id)) if PROJECT_STATUSES.iter().any(|(i, _)| *i == id) => {
                    p.status = Some(id.to_string());
                }
                _ => errors.push(v(
                    "status",
                    "Status is not set to one of the allowed values.",
                )),
            },
            None => errors.push(v(
                "status",
                "Status is not set to one of the allowed values.",
            )),
        }
    }
    if p.name.trim().is_empty() {
        errors.push(v("name", "Name can't be blank."));
    }
    if p.identifier.is_empty() {
        errors.push(v("identifier", "Identifier can't be blank."));
    } else if !valid_identifier(&p.identifier) {
        errors.push(v("identifier", "Identifier is invalid."));
    } else if db
        .projects
        .iter()
        .any(|x| x.identifier == p.identifier && x.id != p.id)
    {
        errors.push(v("identifier", "Identifier has already been taken."));
    }
    errors
}

fn project_create(c: &Ctx, db: &mut Db) -> Response {
    let now = Utc::now();
    let name = c.body["name"].as_str().unwrap_or("");
    let mut derived: String = name
        .to_lowercase()
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if derived.starts_with(|ch: char| ch.is_ascii_digit()) {
        derived = format!("p-{derived}");
    }
    let mut p = Project {
        id: db.next_project,
        identifier: derived,
        name: String::new(),
        description: String::new(),
        active: true,
        public: false,
        backlogs: false,
        cf7: false,
        status: None,
        types: vec![TASK, MILESTONE, PHASE],
        created: now,
        updated: now,
    };
    let errors = project_fields(c, db, &mut p);
    if !errors.is_empty() {
        return unprocessable(&errors);
    }
    db.next_project += 1;
    let id = db.memberships.iter().map(|m| m.id).max().unwrap_or(0) + 1;
    db.memberships.push(Membership {
        id,
        project: p.id,
        principal: ME,
        roles: vec![3],
        created: now,
    });
    let out = project_json(c.f, &p);
    db.projects.push(p);
    created(out)
}

fn project_update(c: &Ctx, db: &mut Db, i: usize) -> Response {
    let mut p = db.projects[i].clone();
    let errors = project_fields(c, db, &mut p);
    if !errors.is_empty() {
        return unprocessable(&errors);
    }
    p.updated = Utc::now();
    db.projects[i] = p;
    ok(project_json(c.f, &db.projects[i]))
}

// ---------------------------------------------------------------------------------------------
// Work packages
// ---------------------------------------------------------------------------------------------

fn wp_matches(db: &Db, w: &Wp, flt: &Filter) -> Result<bool, Response> {
    let closed = status_of(w.status).is_some_and(|s| s.2);
    let text = |hay: &str| {
        let hay = hay.to_lowercase();
        flt.values.iter().all(|v| hay.contains(&v.to_lowercase()))
    };
    Ok(match flt.name.as_str() {
        "status" => {
            check_op(flt, &["o", "c", "*", "=", "!"])?;
            match flt.op.as_str() {
                "o" => !closed,
                "c" => closed,
                "*" => true,
                _ => id_match(flt, Some(w.status))?,
            }
        }
        "assignee" | "assigned_to" => {
            check_op(flt, &["=", "!", "*", "!*"])?;
            id_match(flt, w.assignee)?
        }
        "responsible" => {
            check_op(flt, &["=", "!", "*", "!*"])?;
            id_match(flt, w.responsible)?
        }
        "author" => {
            check_op(flt, &["=", "!"])?;
            id_match(flt, Some(w.author))?
        }
        "project" => {
            check_op(flt, &["=", "!"])?;
            id_match(flt, Some(w.project))?
        }
        "version" => {
            check_op(flt, &["=", "!", "*", "!*"])?;
            id_match(flt, w.version)?
        }
        "type" => {
            check_op(flt, &["=", "!"])?;
            id_match(flt, Some(w.type_id))?
        }
        "priority" => {
            check_op(flt, &["=", "!"])?;
            id_match(flt, Some(w.priority))?
        }
        "parent" => {
            check_op(flt, &["=", "!"])?;
            id_match(flt, w.parent)?
        }
        "id" => {
            check_op(flt, &["=", "!"])?;
            id_match(flt, Some(w.id))?
        }
        "subject" => {
            check_op(flt, &["~", "!~"])?;
            text(&w.subject) == (flt.op == "~")
        }
        "search" => {
            check_op(flt, &["**"])?;
            let comments: String = db
                .acts
                .iter()
                .filter(|a| a.wp == w.id)
                .map(|a| a.comment.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            text(&format!("{} {} {}", w.subject, w.description, comments))
        }
        "dueDate" => {
            check_op(flt, &["<>d", "=d", "t", "*", "!*"])?;
            date_match(flt, w.due)?
        }
        "startDate" => {
            check_op(flt, &["<>d", "=d", "t", "*", "!*"])?;
            date_match(flt, w.start)?
        }
        "createdAt" => {
            check_op(flt, &["<>d", "=d", "t"])?;
            date_match(flt, Some(w.created.date_naive()))?
        }
        "updatedAt" => {
            check_op(flt, &["<>d", "=d", "t"])?;
            date_match(flt, Some(w.updated.date_naive()))?
        }
        other => return Err(unknown_filter(other)),
    })
}

fn wp_list(c: &Ctx, db: &Db, project: Option<u64>) -> Response {
    let filters = match parse_filters(c.q.get("filters")) {
        // OpenProject's default query: open work packages only.
        Ok(None) => vec![Filter {
            name: "status".into(),
            op: "o".into(),
            values: Vec::new(),
        }],
        Ok(Some(f)) => f,
        Err(r) => return r,
    };
    let sort = match parse_sort(
        c.q.get("sortBy"),
        &[
            "id",
            "updatedAt",
            "createdAt",
            "subject",
            "dueDate",
            "startDate",
            "status",
            "priority",
            "type",
        ],
    ) {
        Ok(s) if s.is_empty() => vec![("id".to_string(), false)],
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut list = Vec::new();
    for w in &db.wps {
        if project.is_some_and(|p| w.project != p) {
            continue;
        }
        let mut keep = true;
        for flt in &filters {
            match wp_matches(db, w, flt) {
                Ok(true) => {}
                Ok(false) => keep = false,
                Err(r) => return r,
            }
        }
        if keep {
            list.push(w);
        }
    }
    list.sort_by_key(|w| w.id);
    for (field, desc) in sort.iter().rev() {
        list.sort_by(|a, b| {
            let o = match field.as_str() {
                "updatedAt" => a.updated.cmp(&b.updated),
                "createdAt" => a.created.cmp(&b.created),
                "subject" => a.subject.to_lowercase().cmp(&b.subject.to_lowercase()),
                "dueDate" => a.due.cmp(&b.due),
                "startDate" => a.start.cmp(&b.start),
                "status" => a.status.cmp(&b.status),
                "priority" => a.priority.cmp(&b.priority),
                "type" => a.type_id.cmp(&b.type_id),
                _ => a.id.cmp(&b.id),
            };
            if *desc { o.reverse() } else { o }
        });
    }
    let elements: Vec<Value> = list.iter().map(|w| wp_json(c.f, db, w)).collect();
    let mut out = paged(c, elements);
    // The schemas of the work packages on the page come along, as OpenProject embeds them.
    let mut keys: Vec<(u64, u64)> = Vec::new();
    for e in out["_embedded"]["elements"].as_array().unwrap() {
        let id = e["id"].as_u64().unwrap();
        if let Some(w) = db.wps.iter().find(|w| w.id == id)
            && !keys.contains(&(w.project, w.type_id))
        {
            keys.push((w.project, w.type_id));
        }
    }
    let schemas: Vec<Value> = keys
        .iter()
        .map(|(p, t)| wp_schema(c.f, db, *p, *t, None, true))
        .collect();
    out["_embedded"]["schemas"] = plain_collection(c.f, "/api/v3/work_packages/schemas", schemas);
    ok(out)
}

fn prop(ty: &str, name: &str, required: bool, writable: bool) -> Value {
    json!({ "type": ty, "name": name, "required": required, "hasDefault": false, "writable": writable, "options": {} })
}

fn link_prop(ty: &str, name: &str, required: bool, writable: bool) -> Value {
    let mut p = prop(ty, name, required, writable);
    p["location"] = json!("_links");
    p
}

fn with_allowed(mut p: Value, values: Vec<Value>) -> Value {
    let links: Vec<Value> = values.iter().map(|v| v["_links"]["self"].clone()).collect();
    p["_embedded"] = json!({ "allowedValues": values });
    p["_links"] = json!({ "allowedValues": links });
    p
}

/// The work package schema of a project and type. `form_status` (the status the work package
/// has before the change) lists the statuses the workflow allows; the standalone schema lists all.
fn wp_schema(
    f: &Fake,
    db: &Db,
    project: u64,
    type_id: u64,
    form: Option<(u64, Option<u64>)>,
    standalone: bool,
) -> Value {
    let p = db.projects.iter().find(|p| p.id == project);
    let milestone = type_of(type_id).is_some_and(|t| t.2);
    let mut o = Map::new();
    o.insert("_type".into(), json!("Schema"));
    o.insert("_dependencies".into(), json!([]));
    o.insert(
        "lockVersion".into(),
        prop("Integer", "Lock Version", true, false),
    );
    o.insert("id".into(), prop("Integer", "ID", true, false));
    let mut subject = prop("String", "Subject", true, true);
    subject["minLength"] = json!(1);
    subject["maxLength"] = json!(255);
    o.insert("subject".into(), subject);
    o.insert(
        "description".into(),
        prop("Formattable", "Description", false, true),
    );
    o.insert(
        "scheduleManually".into(),
        prop("Boolean", "Manual scheduling", false, true),
    );
    if milestone {
        o.insert("date".into(), prop("Date", "Date", false, true));
    } else {
        o.insert("startDate".into(), prop("Date", "Start date", false, true));
        o.insert("dueDate".into(), prop("Date", "Finish date", false, true));
        o.insert("duration".into(), prop("Duration", "Duration", false, true));
    }
    o.insert(
        "estimatedTime".into(),
        prop("Duration", "Work", false, true),
    );
    o.insert(
        "remainingTime".into(),
        prop("Duration", "Remaining work", false, true),
    );
    o.insert(
        "percentageDone".into(),
        prop("Integer", "% Complete", false, true),
    );
    o.insert(
        "createdAt".into(),
        prop("DateTime", "Created on", true, false),
    );
    o.insert(
        "updatedAt".into(),
        prop("DateTime", "Updated on", true, false),
    );
    o.insert("author".into(), link_prop("User", "Author", true, false));
    if p.is_some_and(|p| p.backlogs) {
        o.insert(
            "storyPoints".into(),
            prop("Integer", &attr_label(f, "storyPoints"), false, true),
        );
        o.insert("position".into(), prop("Integer", "Position", false, false));
    }
    if p.is_some_and(|p| p.cf7) {
        o.insert(
            "customField7".into(),
            prop("Integer", "Story Points", false, true),
        );
    }
    o.insert(
        "project".into(),
        link_prop("Project", "Project", true, true),
    );
    o.insert(
        "parent".into(),
        link_prop("WorkPackage", "Parent", false, true),
    );
    let assignees_href = match form {
        Some((_, Some(wp))) => format!("/api/v3/work_packages/{wp}/available_assignees"),
        _ => format!("/api/v3/projects/{project}/available_assignees"),
    };
    for (key, name) in [("assignee", "Assignee"), ("responsible", "Accountable")] {
        let mut a = link_prop("User", name, false, true);
        a["_links"] = json!({ "allowedValues": { "href": f.h(&assignees_href) } });
        o.insert(key.into(), a);
    }
    let types: Vec<Value> = p
        .map(|p| p.types.iter().map(|t| type_json(f, *t)).collect())
        .unwrap_or_default();
    o.insert(
        "type".into(),
        with_allowed(link_prop("Type", "Type", true, true), types),
    );
    let statuses: Vec<u64> = match form {
        Some((from, _)) => allowed_statuses(from),
        None => STATUSES.iter().map(|s| s.0).collect(),
    };
    o.insert(
        "status".into(),
        with_allowed(
            link_prop("Status", &attr_label(f, "status"), true, true),
            statuses.iter().map(|s| status_json(f, *s)).collect(),
        ),
    );
    o.insert(
        "category".into(),
        with_allowed(link_prop("Category", "Category", false, true), Vec::new()),
    );
    let versions: Vec<Value> = db
        .versions
        .iter()
        .filter(|v| available_in(v, project) && v.status == "open")
        .map(|v| version_json(f, db, v))
        .collect();
    o.insert(
        "version".into(),
        with_allowed(
            link_prop("Version", &attr_label(f, "version"), false, true),
            versions,
        ),
    );
    o.insert(
        "priority".into(),
        with_allowed(
            link_prop("Priority", "Priority", true, true),
            PRIORITIES.iter().map(|x| priority_json(f, x.0)).collect(),
        ),
    );
    if standalone {
        o.insert(
            "_links".into(),
            json!({ "self": { "href": f.h(&format!("/api/v3/work_packages/schemas/{project}-{type_id}")) } }),
        );
    }
    Value::Object(o)
}

fn schemas_list(c: &Ctx, db: &Db) -> Response {
    let missing = || invalid_query("The query parameter 'filters' is missing or malformed.");
    let filters = match parse_filters(c.q.get("filters")) {
        Ok(Some(f)) => f,
        Ok(None) => return missing(),
        Err(r) => return r,
    };
    let Some(flt) = filters.iter().find(|f| f.name == "id" && f.op == "=") else {
        return missing();
    };
    let mut out = Vec::new();
    for id in &flt.values {
        if let Some((p, t)) = id
            .split_once('-')
            .and_then(|(p, t)| Some((num(p)?, num(t)?)))
            && db
                .projects
                .iter()
                .any(|x| x.id == p && x.types.contains(&t))
        {
            out.push(wp_schema(c.f, db, p, t, None, true));
        }
    }
    ok(plain_collection(c.f, "/api/v3/work_packages/schemas", out))
}

fn label(attr: &str) -> &'static str {
    match attr {
        "status" => "Status",
        "type" => "Type",
        "priority" => "Priority",
        "assignee" => "Assignee",
        "responsible" => "Accountable",
        "version" => "Version",
        "parent" => "Parent",
        "project" => "Project",
        "category" => "Category",
        _ => "Attribute",
    }
}

fn format_error(attr: &str, name: &str, expected: &str, got: &Value) -> Violation {
    let got = match got {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Violation {
        attr: attr.into(),
        message: format!("{name} is invalid. Expected format like '{expected}', got '{got}'."),
        id: "PropertyFormatError",
    }
}

fn parse_date_value(attr: &str, name: &str, value: &Value) -> Result<Option<NaiveDate>, Violation> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| format_error(attr, name, "ISO 8601 date only", value)),
        other => Err(format_error(attr, name, "ISO 8601 date only", other)),
    }
}

/// Applies a work package body (as for PATCH, POST or a form) to `w`; returns the violations.
fn apply_wp(f: &Fake, db: &Db, w: &mut Wp, body: &Value, creating: bool) -> Vec<Violation> {
    let mut errors = Vec::new();
    let before = w.clone();
    let old_status = if creating { NEW } else { w.status };
    let links = body.get("_links").cloned().unwrap_or(json!({}));
    // A link: Ok(None) for a null href, Ok(Some(id)) for a known path, Err for a bad one.
    let mut link_id = |attr: &str, namespaces: &[&str]| -> Option<Option<u64>> {
        let l = links.get(attr)?;
        let href = &l["href"];
        if href.is_null() {
            return Some(None);
        }
        let s = href.as_str().unwrap_or("");
        for ns in namespaces {
            if let Some(id) = parse_href(f, s, ns) {
                return Some(Some(id));
            }
        }
        errors.push(Violation {
            attr: attr.into(),
            message: format!(
                "For property '{attr}' a link like '{}/api/v3/{}/:id' is expected, but got '{s}'.",
                f.prefix, namespaces[0]
            ),
            id: "ResourceTypeMismatch",
        });
        None
    };
    let project_link = link_id("project", &["projects"]);
    let type_link = link_id("type", &["types"]);
    let status_link = link_id("status", &["statuses"]);
    let priority_link = link_id("priority", &["priorities"]);
    let assignee_link = link_id("assignee", &["users", "groups"]);
    let responsible_link = link_id("responsible", &["users", "groups"]);
    let version_link = link_id("version", &["versions"]);
    let parent_link = link_id("parent", &["work_packages"]);
    let category_link = link_id("category", &["categories"]);

    let blank = |attr: &str, errors: &mut Vec<Violation>| {
        errors.push(v(attr, format!("{} can't be blank.", label(attr))));
    };
    let not_allowed = |attr: &str| {
        v(
            attr,
            format!("{} is not set to one of the allowed values.", label(attr)),
        )
    };
    if let Some(p) = project_link {
        match p {
            Some(p) if db.projects.iter().any(|x| x.id == p) => w.project = p,
            Some(_) => errors.push(not_allowed("project")),
            None => blank("project", &mut errors),
        }
    }
    let project = db.projects.iter().find(|p| p.id == w.project);
    if let Some(t) = type_link {
        match t {
            Some(t) if type_of(t).is_some() => w.type_id = t,
            Some(_) => errors.push(not_allowed("type")),
            None => blank("type", &mut errors),
        }
    }
    if let Some(s) = status_link {
        match s {
            Some(s) if status_of(s).is_some() => w.status = s,
            Some(_) => errors.push(not_allowed("status")),
            None => blank("status", &mut errors),
        }
    }
    if let Some(p) = priority_link {
        match p {
            Some(p) if priority_of(p).is_some() => w.priority = p,
            Some(_) => errors.push(not_allowed("priority")),
            None => blank("priority", &mut errors),
        }
    }
    if let Some(a) = assignee_link {
        w.assignee = a;
    }
    if let Some(r) = responsible_link {
        w.responsible = r;
    }
    if let Some(x) = version_link {
        w.version = x;
    }
    if let Some(x) = parent_link {
        w.parent = x;
    }
    if let Some(Some(_)) = category_link {
        errors.push(not_allowed("category"));
    }

    if let Some(s) = body.get("subject") {
        w.subject = s.as_str().unwrap_or("").to_string();
    }
    if let Some(d) = body.get("description") {
        w.description = d["raw"].as_str().unwrap_or("").to_string();
    }
    let milestone = type_of(w.type_id).is_some_and(|t| t.2);
    // A milestone is rendered with `date` only, but its start and finish dates are still parsed
    // (then they must be one day: see the milestone check below).
    let dates: &[(&str, &str)] = if milestone {
        &[
            ("startDate", "Start date"),
            ("dueDate", "Finish date"),
            ("date", "Date"),
        ]
    } else {
        &[("startDate", "Start date"), ("dueDate", "Finish date")]
    };
    for (attr, name) in dates {
        if let Some(value) = body.get(*attr) {
            match parse_date_value(attr, name, value) {
                Ok(d) => match *attr {
                    "startDate" => w.start = d,
                    "dueDate" => w.due = d,
                    _ => {
                        w.start = d;
                        w.due = d;
                    }
                },
                Err(e) => errors.push(e),
            }
        }
    }
    if let Some(e) = body.get("estimatedTime") {
        match e {
            Value::Null => w.estimated = None,
            Value::String(s) if parse_duration(s).is_some() => w.estimated = parse_duration(s),
            other => errors.push(format_error(
                "estimatedTime",
                "Work",
                "ISO 8601 duration",
                other,
            )),
        }
    }
    if let Some(e) = body.get("remainingTime") {
        match e {
            Value::Null => w.remaining = None,
            Value::String(s) if parse_duration(s).is_some() => w.remaining = parse_duration(s),
            other => errors.push(format_error(
                "remainingTime",
                "Remaining work",
                "ISO 8601 duration",
                other,
            )),
        }
    }
    if let Some(p) = body.get("percentageDone") {
        match p {
            Value::Null => w.percentage_done = None,
            Value::Number(n) if n.as_i64().is_some_and(|n| (0..=100).contains(&n)) => {
                w.percentage_done = n.as_i64()
            }
            _ => errors.push(v("percentageDone", "% Complete must be between 0 and 100.")),
        }
    }
    let int_field = |key: &str, name: &str, errors: &mut Vec<Violation>| -> Option<Option<i64>> {
        match body.get(key)? {
            Value::Null => Some(None),
            Value::Number(n) if n.as_i64().is_some() => Some(n.as_i64()),
            Value::String(s) if s.trim().parse::<i64>().is_ok() => Some(s.trim().parse().ok()),
            _ => {
                errors.push(v(key, format!("{name} is not a number.")));
                None
            }
        }
    };
    // Properties the project does not have are ignored, as OpenProject ignores unknown ones.
    if project.is_some_and(|p| p.backlogs)
        && let Some(sp) = int_field("storyPoints", "Story Points", &mut errors)
    {
        w.story_points = sp;
    }
    if project.is_some_and(|p| p.cf7)
        && let Some(sp) = int_field("customField7", "Story Points", &mut errors)
    {
        w.cf7 = sp;
    }

    // Validation, as the contract does it.
    if w.subject.trim().is_empty() {
        errors.push(v("subject", "Subject can't be blank."));
    } else if w.subject.chars().count() > 255 {
        errors.push(v(
            "subject",
            "Subject is too long (maximum is 255 characters).",
        ));
    }
    // Values already set stay valid (a version closed since, a member gone); changed ones must
    // be assignable.
    let project_changed = creating || w.project != before.project;
    if let Some(p) = project {
        if (project_changed || w.type_id != before.type_id)
            && !p.types.contains(&w.type_id)
            && type_of(w.type_id).is_some()
        {
            errors.push(not_allowed("type"));
        }
        let members = assignable(db, p.id);
        if (project_changed || w.assignee != before.assignee)
            && w.assignee.is_some_and(|a| !members.contains(&a))
        {
            errors.push(not_allowed("assignee"));
        }
        if (project_changed || w.responsible != before.responsible)
            && w.responsible.is_some_and(|a| !members.contains(&a))
        {
            errors.push(not_allowed("responsible"));
        }
    }
    if w.status != old_status && !allowed_statuses(old_status).contains(&w.status) {
        errors.push(v("status", WORKFLOW_MESSAGE));
    }
    let closed = |s: u64| status_of(s).is_some_and(|s| s.2);
    if !creating
        && closed(before.status)
        && !closed(w.status)
        && w.version == before.version
        && w.version.is_some_and(|vid| {
            db.versions
                .iter()
                .any(|x| x.id == vid && x.status == "closed")
        })
    {
        errors.push(v(
            "base",
            "A work package assigned to a closed version cannot be reopened.",
        ));
    }
    if let Some(vid) = w.version
        && (project_changed || w.version != before.version)
        && !db
            .versions
            .iter()
            .any(|x| x.id == vid && available_in(x, w.project) && x.status == "open")
    {
        errors.push(not_allowed("version"));
    }
    if let Some(pid) = w.parent {
        let mut ok = pid != w.id && db.wps.iter().any(|x| x.id == pid);
        // Not one of its own descendants.
        let mut cur = Some(pid);
        while ok && let Some(c) = cur {
            if c == w.id {
                ok = false;
            }
            cur = db.wps.iter().find(|x| x.id == c).and_then(|x| x.parent);
        }
        if !ok {
            errors.push(v("parent", "Parent is invalid."));
        }
    }
    // OpenProject's work package contract: a milestone's finish date must be its start date
    // (`not_start_date`: "is not on start date, although this is required for milestones").
    if let (true, Some(s), Some(d)) = (milestone, w.start, w.due)
        && s != d
    {
        errors.push(v(
            "dueDate",
            "Finish date is not on start date, although this is required for milestones.",
        ));
    }
    if let (Some(s), Some(d)) = (w.start, w.due)
        && d < s
        && !milestone
    {
        errors.push(v(
            "dueDate",
            "Finish date must be greater than or equal to start date.",
        ));
    }
    errors
}

fn new_wp(db: &Db, project: u64) -> Wp {
    let now = Utc::now();
    let types = db
        .projects
        .iter()
        .find(|p| p.id == project)
        .map(|p| p.types.clone())
        .unwrap_or_default();
    Wp {
        id: 0,
        project,
        type_id: if types.contains(&TASK) {
            TASK
        } else {
            types.first().copied().unwrap_or(TASK)
        },
        status: NEW,
        priority: NORMAL,
        subject: String::new(),
        description: String::new(),
        start: None,
        due: None,
        estimated: None,
        remaining: None,
        percentage_done: None,
        story_points: None,
        cf7: None,
        assignee: None,
        responsible: None,
        author: ME,
        parent: None,
        version: None,
        lock_version: 0,
        created: now,
        updated: now,
    }
}

fn payload_json(f: &Fake, db: &Db, w: &Wp) -> Value {
    let full = wp_json(f, db, w);
    let mut o = Map::new();
    for key in [
        "lockVersion",
        "subject",
        "description",
        "scheduleManually",
        "date",
        "startDate",
        "dueDate",
        "duration",
        "estimatedTime",
        "remainingTime",
        "percentageDone",
        "storyPoints",
        "customField7",
    ] {
        if let Some(val) = full.get(key) {
            o.insert(key.into(), val.clone());
        }
    }
    let mut links = Map::new();
    for key in [
        "category",
        "type",
        "priority",
        "project",
        "status",
        "responsible",
        "assignee",
        "version",
        "parent",
    ] {
        links.insert(key.into(), full["_links"][key].clone());
    }
    o.insert("_links".into(), Value::Object(links));
    Value::Object(o)
}

#[allow(clippy::too_many_arguments)]
fn form_json(
    f: &Fake,
    db: &Db,
    w: &Wp,
    from_status: u64,
    wp_id: Option<u64>,
    self_href: &str,
    commit: Value,
    errors: &[Violation],
) -> Value {
    let mut validation = Map::new();
    for e in errors {
        validation
            .entry(e.attr.clone())
            .or_insert_with(|| violation_json(e));
    }
    let mut links = json!({
        "self": { "href": f.h(self_href), "method": "post" },
        "validate": { "href": f.h(self_href), "method": "post" },
        "previewMarkup": { "href": f.h("/api/v3/render/markdown"), "method": "post" },
    });
    if errors.is_empty() {
        links["commit"] = commit;
    }
    json!({
        "_type": "Form",
        "_embedded": {
            "payload": payload_json(f, db, w),
            "schema": wp_schema(f, db, w.project, w.type_id, Some((from_status, wp_id)), false),
            "validationErrors": Value::Object(validation),
        },
        "_links": links,
    })
}

fn wp_create(c: &Ctx, db: &mut Db, project: Option<u64>, form: bool) -> Response {
    let f = c.f;
    let mail = match notify_wanted(c) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let from_link = c.body["_links"]["project"]["href"]
        .as_str()
        .and_then(|h| parse_href(f, h, "projects"))
        .filter(|p| db.projects.iter().any(|x| x.id == *p));
    let pid = project.or(from_link);
    let mut w = new_wp(db, pid.unwrap_or(0));
    let mut body = c.body.clone();
    if project.is_some()
        && let Some(l) = body.get_mut("_links").and_then(Value::as_object_mut)
    {
        l.remove("project");
    }
    let mut errors = apply_wp(f, db, &mut w, &body, true);
    if pid.is_none() && !errors.iter().any(|e| e.attr == "project") {
        errors.insert(0, v("project", "Project can't be blank."));
    }
    if form {
        let self_href = match project {
            Some(p) => format!("/api/v3/projects/{p}/work_packages/form"),
            None => "/api/v3/work_packages/form".to_string(),
        };
        let commit_href = match project {
            Some(p) => format!("/api/v3/projects/{p}/work_packages"),
            None => "/api/v3/work_packages".to_string(),
        };
        return ok(form_json(
            f,
            db,
            &w,
            NEW,
            None,
            &self_href,
            json!({ "href": f.h(&commit_href), "method": "post" }),
            &errors,
        ));
    }
    if !errors.is_empty() {
        return unprocessable(&errors);
    }
    w.id = db.next_wp;
    db.next_wp += 1;
    db.acts.push(Act {
        id: db.next_act,
        wp: w.id,
        user: ME,
        comment: String::new(),
        details: Vec::new(),
        version: 1,
        created: w.created,
        before: None,
    });
    db.next_act += 1;
    let out = wp_full_json(f, db, &w);
    let id = w.id;
    db.wps.push(w);
    if mail {
        tell(c, db, id);
    }
    created(out)
}

fn lock_version_of(body: &Value) -> Option<u64> {
    match &body["lockVersion"] {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// What changed between two states of a work package, as journal details (values as names).
fn change_details(f: &Fake, db: &Db, old: &Wp, new: &Wp) -> Vec<Detail> {
    let mut out = Vec::new();
    let name_of = |kind: &str, id: Option<u64>| -> String {
        match (kind, id) {
            (_, None) => String::new(),
            ("status", Some(i)) => status_name(f, i).to_string(),
            ("type", Some(i)) => type_of(i).map_or(String::new(), |s| s.1.to_string()),
            ("priority", Some(i)) => priority_of(i).map_or(String::new(), |s| s.1.to_string()),
            ("version", Some(i)) => db
                .versions
                .iter()
                .find(|v| v.id == i)
                .map_or(String::new(), |v| v.name.clone()),
            ("user", Some(i)) => principal_name(db, i),
            (_, Some(i)) => format!("#{i}"),
        }
    };
    let mut change = |key: &'static str, a: String, b: String| {
        if a != b {
            out.push(Detail {
                key,
                old: a,
                new: b,
            });
        }
    };
    change("subject", old.subject.clone(), new.subject.clone());
    if old.description != new.description {
        change("description", "old".into(), "new".into());
    }
    change(
        "status",
        name_of("status", Some(old.status)),
        name_of("status", Some(new.status)),
    );
    change(
        "type",
        name_of("type", Some(old.type_id)),
        name_of("type", Some(new.type_id)),
    );
    change(
        "priority",
        name_of("priority", Some(old.priority)),
        name_of("priority", Some(new.priority)),
    );
    change(
        "assignee",
        name_of("user", old.assignee),
        name_of("user", new.assignee),
    );
    change(
        "responsible",
        name_of("user", old.responsible),
        name_of("user", new.responsible),
    );
    change(
        "version",
        name_of("version", old.version),
        name_of("version", new.version),
    );
    change(
        "parent",
        name_of("wp", old.parent),
        name_of("wp", new.parent),
    );
    let d = |x: Option<NaiveDate>| x.map(|d| d.to_string()).unwrap_or_default();
    change("startDate", d(old.start), d(new.start));
    change("dueDate", d(old.due), d(new.due));
    change(
        "estimatedTime",
        old.estimated.map(format_duration).unwrap_or_default(),
        new.estimated.map(format_duration).unwrap_or_default(),
    );
    change(
        "percentageDone",
        old.percentage_done
            .map(|x| x.to_string())
            .unwrap_or_default(),
        new.percentage_done
            .map(|x| x.to_string())
            .unwrap_or_default(),
    );
    change(
        "storyPoints",
        old.story_points.map(|x| x.to_string()).unwrap_or_default(),
        new.story_points.map(|x| x.to_string()).unwrap_or_default(),
    );
    change(
        "customField7",
        old.cf7.map(|x| x.to_string()).unwrap_or_default(),
        new.cf7.map(|x| x.to_string()).unwrap_or_default(),
    );
    out
}

/// An attribute's name in the account's language, as OpenProject labels journal details and
/// schema properties (`human_attribute_name`). The custom field's name is its own, in no
/// language. German: status, version and story points as in OpenProject's de.yml files; the
/// others close to them (only those three are read by a client).
fn attr_label(f: &Fake, key: &str) -> String {
    let (en, de) = match key {
        "subject" => ("Subject", "Thema"),
        "description" => ("Description", "Beschreibung"),
        "status" => ("Status", "Status"),
        "type" => ("Type", "Typ"),
        "priority" => ("Priority", "Priorität"),
        "assignee" => ("Assignee", "Zugewiesen an"),
        "responsible" => ("Accountable", "Verantwortlich"),
        "version" => ("Version", "Version"),
        "parent" => ("Parent", "Übergeordnetes Arbeitspaket"),
        "startDate" => ("Start date", "Startdatum"),
        "dueDate" => ("Finish date", "Endtermin"),
        "estimatedTime" => ("Work", "Aufwand"),
        "percentageDone" => ("% Complete", "% abgeschlossen"),
        "storyPoints" => ("Story Points", "Story-Punkte"),
        "customField7" => ("Story Points", "Story Points"),
        other => (other, other),
    };
    if f.is_german() { de } else { en }.to_string()
}

/// One journal detail as `GET /api/v3/work_packages/{id}/activities` renders it for the reading
/// account: `raw` in plain words, `html` with the label in `<strong>`, values in `<i>` and a
/// removed value struck (OpenProject's `JournalFormatter::Base#format_html_details` and
/// `render_ternary_detail_text`: deleted when the new value is blank, set when the old one is,
/// changed otherwise, with a line break between long values; the description as a diff link).
fn detail_json(f: &Fake, journal: u64, d: &Detail) -> Value {
    let de = f.is_german();
    let label = attr_label(f, d.key);
    let strong = format!("<strong>{}</strong>", escape_html(&label));
    let (raw, html) = if d.key == "description" {
        let url = f.h(&format!("/journals/{journal}/diffs/description"));
        let verb = if de { "geändert" } else { "changed" };
        (
            format!("{label} {verb} ({url})"),
            format!("{strong} {verb} (<a href=\"{url}\">Details</a>)"),
        )
    } else {
        let i = |v: &str| format!("<i>{}</i>", escape_html(v));
        let long = d.old.chars().count() > 100 || d.new.chars().count() > 100;
        match (d.old.is_empty(), d.new.is_empty(), de) {
            (_, true, false) => (
                format!("{label} deleted ({})", d.old),
                format!("{strong} deleted (<strike>{}</strike>)", i(&d.old)),
            ),
            (_, true, true) => (
                format!("{label} {} wurde gelöscht", d.old),
                format!("{strong} <strike>{}</strike> wurde gelöscht", i(&d.old)),
            ),
            (true, false, false) => (
                format!("{label} set to {}", d.new),
                format!("{strong} set to {}", i(&d.new)),
            ),
            (true, false, true) => (
                format!("{label} wurde auf {} gesetzt", d.new),
                format!("{strong} wurde auf {} gesetzt", i(&d.new)),
            ),
            (false, false, _) => {
                let (from, to) = if de {
                    ("geändert von", "zu")
                } else {
                    ("changed from", "to")
                };
                let (raw_break, html_break) = if long { ("\n", "<br/>") } else { ("", "") };
                (
                    format!("{label} {from} {} {raw_break}{to} {}", d.old, d.new),
                    format!(
                        "{strong} {from} {} {html_break}{to} {}",
                        i(&d.old),
                        i(&d.new)
                    ),
                )
            }
        }
    };
    json!({ "format": "custom", "raw": raw, "html": html })
}

/// OpenProject's journal aggregation (Administration → Users and permissions → "Aggregate
/// journals", 5 minutes by default): a change by the same user within that time of their
/// previous change of the work package joins that journal, whose details then say what changed
/// from before the first change to after the last one (so "New → In progress" and "In progress
/// → Closed" read as one "New → Closed"). The creation journal is not joined here.
const AGGREGATION: Duration = Duration::minutes(5);

fn add_journal(db: &mut Db, wp: u64, user: u64, details: Vec<Detail>, before: Option<Wp>) {
    let version = db.acts.iter().filter(|a| a.wp == wp).count() as u64 + 1;
    db.acts.push(Act {
        id: db.next_act,
        wp,
        user,
        comment: String::new(),
        details,
        version,
        created: Utc::now(),
        before,
    });
    db.next_act += 1;
}

/// Journals `user`'s change of a work package from `old` to `new`, aggregated as OpenProject does.
fn journal_change(f: &Fake, db: &mut Db, user: u64, old: &Wp, new: &Wp) {
    let now = Utc::now();
    let last = db.acts.iter().rposition(|a| a.wp == old.id);
    if let Some(i) = last {
        let a = &db.acts[i];
        if a.user == user
            && a.comment.is_empty()
            && now - a.created < AGGREGATION
            && let Some(first) = a.before.clone()
        {
            let details = change_details(f, db, &first, new);
            db.acts[i].details = details;
            return;
        }
    }
    let details = change_details(f, db, old, new);
    add_journal(db, old.id, user, details, Some(old.clone()));
}

fn wp_update(c: &Ctx, db: &mut Db, i: usize) -> Response {
    let f = c.f;
    let wp_id = db.wps[i].id;
    let mail = match notify_wanted(c) {
        Ok(m) => m,
        Err(r) => return r,
    };
    // Someone else edits first.
    if f.conflicts
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        db.wps[i].lock_version += 1;
        db.wps[i].updated = Utc::now();
        let change = Detail {
            key: "description",
            old: "old".into(),
            new: "new".into(),
        };
        add_journal(db, wp_id, 4, vec![change], None);
        return conflict();
    }
    // OpenProject needs the lockVersion the change was made on; without it, or with a stale
    // one, the change conflicts.
    if lock_version_of(c.body) != Some(db.wps[i].lock_version) {
        return conflict();
    }
    let old = db.wps[i].clone();
    let mut w = old.clone();
    let errors = apply_wp(f, db, &mut w, c.body, false);
    if !errors.is_empty() {
        return unprocessable(&errors);
    }
    let changed = !change_details(f, db, &old, &w).is_empty();
    if changed {
        w.lock_version += 1;
        w.updated = Utc::now();
        journal_change(f, db, ME, &old, &w);
    }
    db.wps[i] = w;
    if changed && mail {
        tell(c, db, wp_id);
    }
    ok(wp_full_json(f, db, &db.wps[i]))
}

fn wp_update_form(c: &Ctx, db: &mut Db, i: usize) -> Response {
    let f = c.f;
    let old = db.wps[i].clone();
    if c.body.get("lockVersion").is_some() && lock_version_of(c.body) != Some(old.lock_version) {
        return conflict();
    }
    let mut w = old.clone();
    let errors = apply_wp(f, db, &mut w, c.body, false);
    let href = format!("/api/v3/work_packages/{}", old.id);
    ok(form_json(
        f,
        db,
        &w,
        old.status,
        Some(old.id),
        &format!("{href}/form"),
        json!({ "href": f.h(&href), "method": "patch" }),
        &errors,
    ))
}

// ---------------------------------------------------------------------------------------------
// Time entries
// ---------------------------------------------------------------------------------------------

fn te_schema(f: &Fake) -> Value {
    let mut o = Map::new();
    o.insert("_type".into(), json!("Schema"));
    o.insert("_dependencies".into(), json!([]));
    o.insert("id".into(), prop("Integer", "ID", true, false));
    o.insert(
        "createdAt".into(),
        prop("DateTime", "Created on", true, false),
    );
    o.insert(
        "updatedAt".into(),
        prop("DateTime", "Updated on", true, false),
    );
    o.insert("spentOn".into(), prop("Date", "Date", true, true));
    o.insert("hours".into(), prop("Duration", "Hours", true, true));
    o.insert(
        "comment".into(),
        prop("Formattable", "Comment", false, true),
    );
    o.insert("user".into(), link_prop("User", "User", true, true));
    o.insert(
        "project".into(),
        link_prop("Project", "Project", true, true),
    );
    if f.major >= 16 {
        o.insert(
            "entity".into(),
            link_prop("WorkPackage", "Work package or meeting", true, true),
        );
    } else {
        o.insert(
            "workPackage".into(),
            link_prop("WorkPackage", "Work package", true, true),
        );
    }
    if f.major >= 15 {
        o.insert("ongoing".into(), prop("Boolean", "Ongoing", false, true));
    }
    o.insert(
        "activity".into(),
        with_allowed(
            link_prop("TimeEntriesActivity", "Activity", false, true),
            TE_ACTIVITIES
                .iter()
                .map(|a| te_activity_json(f, a.0))
                .collect(),
        ),
    );
    o.insert(
        "_links".into(),
        json!({ "self": { "href": f.h("/api/v3/time_entries/schema") } }),
    );
    Value::Object(o)
}

fn te_list(c: &Ctx, db: &Db) -> Response {
    let f = c.f;
    let filters = match parse_filters(c.q.get("filters")) {
        Ok(x) => x.unwrap_or_default(),
        Err(r) => return r,
    };
    let sort = match parse_sort(
        c.q.get("sortBy"),
        &["id", "hours", "spent_on", "created_at", "updated_at"],
    ) {
        Ok(s) if s.is_empty() => vec![("spent_on".to_string(), false)],
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut list = Vec::new();
    for t in &db.time_entries {
        let mut keep = true;
        for flt in &filters {
            let hit = match flt.name.as_str() {
                "work_package" | "work_package_id" | "workPackage" => {
                    check_op(flt, &["=", "!"]).and_then(|_| id_match(flt, t.wp))
                }
                "entity_type" if f.major >= 16 => check_op(flt, &["=", "!"])
                    .map(|_| flt.values.iter().any(|v| v == "WorkPackage") == (flt.op == "=")),
                "entity_id" if f.major >= 16 => {
                    check_op(flt, &["=", "!"]).and_then(|_| id_match(flt, t.wp))
                }
                "project" | "project_id" => {
                    check_op(flt, &["=", "!"]).and_then(|_| id_match(flt, Some(t.project)))
                }
                "user" | "user_id" => {
                    check_op(flt, &["=", "!"]).and_then(|_| id_match(flt, Some(t.user)))
                }
                "activity" | "activity_id" => {
                    check_op(flt, &["=", "!"]).and_then(|_| id_match(flt, Some(t.activity)))
                }
                "spent_on" => check_op(flt, &["<>d", "=d", "t", "w", "*"])
                    .and_then(|_| date_match(flt, Some(t.spent_on))),
                "ongoing" => check_op(flt, &["="]).map(|_| flt.values.iter().any(|v| v == "f")),
                other => Err(unknown_filter(other)),
            };
            match hit {
                Ok(true) => {}
                Ok(false) => keep = false,
                Err(r) => return r,
            }
        }
        if keep {
            list.push(t);
        }
    }
    list.sort_by_key(|t| t.id);
    for (field, desc) in sort.iter().rev() {
        list.sort_by(|a, b| {
            let o = match field.as_str() {
                "hours" => a.hours.total_cmp(&b.hours),
                "spent_on" => a.spent_on.cmp(&b.spent_on),
                "created_at" => a.created.cmp(&b.created),
                "updated_at" => a.updated.cmp(&b.updated),
                _ => a.id.cmp(&b.id),
            };
            if *desc { o.reverse() } else { o }
        });
    }
    let out = list.iter().map(|t| te_json(f, db, t)).collect();
    ok(paged(c, out))
}

/// Applies a time entry body; returns the violations.
fn apply_te(c: &Ctx, db: &Db, t: &mut TimeEntry, creating: bool) -> Vec<Violation> {
    let f = c.f;
    let b = c.body;
    let mut errors = Vec::new();
    match b.get("hours") {
        None if creating => errors.push(v("hours", "Hours can't be blank.")),
        None => {}
        Some(Value::Null) => errors.push(v("hours", "Hours can't be blank.")),
        Some(Value::String(s)) if parse_duration(s).is_some() => {
            let h = parse_duration(s).unwrap();
            if h < 0.0 {
                errors.push(v("hours", "Hours must be greater than or equal to 0."));
            }
            t.hours = h;
        }
        Some(other) => errors.push(format_error("hours", "Hours", "ISO 8601 duration", other)),
    }
    if let Some(s) = b.get("spentOn") {
        match parse_date_value("spentOn", "Date", s) {
            Ok(Some(d)) => t.spent_on = d,
            Ok(None) => errors.push(v("spentOn", "Date can't be blank.")),
            Err(e) => errors.push(e),
        }
    }
    if let Some(cm) = b.get("comment") {
        t.comment = cm["raw"].as_str().unwrap_or("").to_string();
    }
    let links = &b["_links"];
    let href = |key: &str| links.get(key).map(|l| l["href"].as_str().unwrap_or(""));
    if let Some(h) = href("activity") {
        match parse_href(f, h, "time_entries/activity")
            .or_else(|| parse_href(f, h, "time_entries/activities"))
            .filter(|a| TE_ACTIVITIES.iter().any(|x| x.0 == *a))
        {
            Some(a) => t.activity = a,
            None => errors.push(v(
                "activity",
                "Activity is not set to one of the allowed values.",
            )),
        }
    }
    if let Some(h) = href("user") {
        match parse_href(f, h, "users").filter(|u| db.users.iter().any(|x| x.id == *u)) {
            Some(u) => t.user = u,
            None => errors.push(v("user", "User is not set to one of the allowed values.")),
        }
    }
    // Before 16.0 a time entry has a work package (`workPackage`); from 16.0 on an entity
    // (`entity`, a work package or a meeting), `workPackage` still accepted but deprecated.
    // Links OpenProject does not know are ignored.
    let wp_attr = if f.major >= 16 {
        "entity"
    } else {
        "workPackage"
    };
    let mut wp_keys = vec!["workPackage"];
    if f.major >= 16 {
        wp_keys.insert(0, "entity");
    }
    for key in wp_keys {
        if let Some(h) = href(key) {
            match parse_href(f, h, "work_packages") {
                Some(w) if db.wps.iter().any(|x| x.id == w) => t.wp = Some(w),
                _ => errors.push(v(
                    key,
                    format!(
                        "{} is invalid.",
                        if key == "entity" {
                            "Entity"
                        } else {
                            "Work package"
                        }
                    ),
                )),
            }
            break;
        }
    }
    let wp_project =
        t.wp.and_then(|w| db.wps.iter().find(|x| x.id == w))
            .map(|w| w.project);
    if let Some(h) = href("project") {
        match parse_href(f, h, "projects").filter(|p| db.projects.iter().any(|x| x.id == *p)) {
            Some(p) => t.project = p,
            None => errors.push(v(
                "project",
                "Project is not set to one of the allowed values.",
            )),
        }
    } else if let Some(p) = wp_project {
        t.project = p;
    }
    if t.wp.is_none()
        && !errors
            .iter()
            .any(|e| e.attr == wp_attr || e.attr == "workPackage")
    {
        let name = if f.major >= 16 {
            "Entity"
        } else {
            "Work package"
        };
        errors.push(v(wp_attr, format!("{name} can't be blank.")));
    }
    if let Some(p) = wp_project
        && p != t.project
        && t.project != 0
    {
        errors.push(v(wp_attr, "Work package is invalid."));
    }
    if t.project == 0 && !errors.iter().any(|e| e.attr == "project") {
        errors.push(v("project", "Project can't be blank."));
    }
    errors
}

/// A time entry as `POST /api/v3/time_entries` starts it: the site's default activity, if any.
fn new_te(f: &Fake) -> TimeEntry {
    let now = Utc::now();
    TimeEntry {
        id: 0,
        project: 0,
        wp: None,
        user: ME,
        activity: f.default_activity().unwrap_or(0),
        hours: 0.0,
        spent_on: now.date_naive(),
        comment: String::new(),
        created: now,
        updated: now,
    }
}

/// A time entry without an activity (none given, the site has no default) is invalid: OpenProject
/// validates the activity's presence (`Activity can't be blank.`, attribute `activity`).
fn activity_violation(t: &TimeEntry, errors: &mut Vec<Violation>) {
    if t.activity == 0 && !errors.iter().any(|e| e.attr == "activity") {
        errors.push(v("activity", "Activity can't be blank."));
    }
}

fn te_create(c: &Ctx, db: &mut Db) -> Response {
    let mut t = new_te(c.f);
    let mut errors = apply_te(c, db, &mut t, true);
    activity_violation(&t, &mut errors);
    if !errors.is_empty() {
        return unprocessable(&errors);
    }
    t.id = db.next_te;
    db.next_te += 1;
    let out = te_json(c.f, db, &t);
    db.time_entries.push(t);
    created(out)
}

/// `POST /api/v3/time_entries/form` (operation `Time_entry_create_form`): the payload as it would
/// be saved, the schema (its `activity` lists the activities allowed, the only place a client
/// finds them) and the validation errors by property; nothing is saved.
fn te_form(c: &Ctx, db: &Db) -> Response {
    let f = c.f;
    let mut t = new_te(f);
    let mut errors = apply_te(c, db, &mut t, true);
    activity_violation(&t, &mut errors);
    let mut validation = Map::new();
    for e in &errors {
        validation
            .entry(e.attr.clone())
            .or_insert_with(|| violation_json(e));
    }
    let mut payload = te_json(f, db, &t);
    if let Some(o) = payload.as_object_mut() {
        for key in ["id", "createdAt", "updatedAt", "_type"] {
            o.remove(key);
        }
    }
    let href = f.h("/api/v3/time_entries/form");
    let mut links = json!({
        "self": { "href": href, "method": "post" },
        "validate": { "href": href, "method": "post" },
    });
    if errors.is_empty() {
        links["commit"] = json!({ "href": f.h("/api/v3/time_entries"), "method": "post" });
    }
    ok(json!({
        "_type": "Form",
        "_embedded": {
            "payload": payload,
            "schema": te_schema(f),
            "validationErrors": Value::Object(validation),
        },
        "_links": links,
    }))
}

fn te_update(c: &Ctx, db: &mut Db, i: usize) -> Response {
    let mut t = db.time_entries[i].clone();
    let errors = apply_te(c, db, &mut t, false);
    if !errors.is_empty() {
        return unprocessable(&errors);
    }
    t.updated = Utc::now();
    db.time_entries[i] = t;
    ok(te_json(c.f, db, &db.time_entries[i]))
}

// ---------------------------------------------------------------------------------------------
// Relations, versions, memberships
// ---------------------------------------------------------------------------------------------

fn relation_create(c: &Ctx, db: &mut Db, from: u64) -> Response {
    let f = c.f;
    let b = c.body;
    let mut errors = Vec::new();
    let kind = b["type"].as_str().unwrap_or("").to_string();
    if kind.is_empty() {
        errors.push(v("type", "Type can't be blank."));
    } else if relation_name(&kind).is_none() {
        errors.push(v("type", "Type is not set to one of the allowed values."));
    }
    let to = b["_links"]["to"]["href"]
        .as_str()
        .and_then(|h| parse_href(f, h, "work_packages"));
    match to {
        None => errors.push(v("to", "Related work package can't be blank.")),
        Some(t) if !db.wps.iter().any(|w| w.id == t) => {
            errors.push(v("to", "Related work package is invalid."))
        }
        Some(t) if t == from => errors.push(v(
            "to",
            "Related work package cannot be the same as the work package.",
        )),
        Some(t) => {
            if db
                .relations
                .iter()
                .any(|r| (r.from == from && r.to == t) || (r.from == t && r.to == from))
            {
                errors.push(v("base", "Relation already exists."));
            }
        }
    }
    let lag = b["lag"].as_i64();
    if lag.is_some_and(|l| l < 0) {
        errors.push(v("lag", "Lag must be a number greater than or equal to 0"));
    }
    if !errors.is_empty() {
        return unprocessable(&errors);
    }
    let r = Relation {
        id: db.next_relation,
        from,
        to: to.unwrap(),
        kind,
        description: b["description"].as_str().map(str::to_string),
        lag,
    };
    db.next_relation += 1;
    let out = relation_json(f, db, &r);
    db.relations.push(r);
    created(out)
}

fn relations_list(c: &Ctx, db: &Db) -> Response {
    let filters = match parse_filters(c.q.get("filters")) {
        Ok(x) => x.unwrap_or_default(),
        Err(r) => return r,
    };
    let mut out = Vec::new();
    for r in &db.relations {
        let mut keep = true;
        for flt in &filters {
            let hit = match flt.name.as_str() {
                "involved" => check_op(flt, &["=", "!"])
                    .and_then(|_| Ok(id_match(flt, Some(r.from))? || id_match(flt, Some(r.to))?)),
                "from" => check_op(flt, &["=", "!"]).and_then(|_| id_match(flt, Some(r.from))),
                "to" => check_op(flt, &["=", "!"]).and_then(|_| id_match(flt, Some(r.to))),
                "id" => check_op(flt, &["=", "!"]).and_then(|_| id_match(flt, Some(r.id))),
                "type" => check_op(flt, &["=", "!"])
                    .map(|_| flt.values.contains(&r.kind) == (flt.op == "=")),
                other => Err(unknown_filter(other)),
            };
            match hit {
                Ok(true) => {}
                Ok(false) => keep = false,
                Err(resp) => return resp,
            }
        }
        if keep {
            out.push(relation_json(c.f, db, r));
        }
    }
    ok(paged(c, out))
}

fn apply_version(c: &Ctx, db: &Db, x: &mut Version) -> Vec<Violation> {
    let b = c.body;
    let mut errors = Vec::new();
    if let Some(n) = b.get("name") {
        x.name = n.as_str().unwrap_or("").to_string();
    }
    if let Some(d) = b.get("description") {
        x.description = d["raw"].as_str().unwrap_or("").to_string();
    }
    for (key, name) in [("startDate", "Start date"), ("endDate", "Finish date")] {
        if let Some(val) = b.get(key) {
            match parse_date_value(key, name, val) {
                Ok(d) if key == "startDate" => x.start = d,
                Ok(d) => x.end = d,
                Err(e) => errors.push(e),
            }
        }
    }
    if let Some(s) = b.get("status") {
        match s.as_str() {
            Some(s @ ("open" | "locked" | "closed")) => x.status = s.into(),
            _ => errors.push(v(
                "status",
                "Status is not set to one of the allowed values.",
            )),
        }
    }
    if let Some(s) = b.get("sharing") {
        match s.as_str() {
            Some(s @ ("none" | "descendants" | "hierarchy" | "tree" | "system")) => {
                x.sharing = s.into()
            }
            _ => errors.push(v(
                "sharing",
                "Sharing is not set to one of the allowed values.",
            )),
        }
    }
    if let Some(h) = b["_links"]["definingProject"]["href"].as_str() {
        match parse_href(c.f, h, "projects").filter(|p| db.projects.iter().any(|y| y.id == *p)) {
            Some(p) => x.project = p,
            None => errors.push(v(
                "definingProject",
                "Project is not set to one of the allowed values.",
            )),
        }
    }
    if x.name.trim().is_empty() {
        errors.push(v("name", "Name can't be blank."));
    } else if db
        .versions
        .iter()
        .any(|y| y.project == x.project && y.name == x.name && y.id != x.id)
    {
        errors.push(v("name", "Name has already been taken."));
    }
    if x.project == 0 && !errors.iter().any(|e| e.attr == "definingProject") {
        errors.push(v("definingProject", "Project can't be blank."));
    }
    if let (Some(s), Some(e)) = (x.start, x.end)
        && e < s
    {
        errors.push(v(
            "endDate",
            "Finish date must be greater than or equal to start date.",
        ));
    }
    errors
}

fn version_create(c: &Ctx, db: &mut Db) -> Response {
    let now = Utc::now();
    let mut x = Version {
        id: 0,
        project: 0,
        name: String::new(),
        description: String::new(),
        start: None,
        end: None,
        status: "open".into(),
        sharing: "none".into(),
        created: now,
        updated: now,
    };
    let errors = apply_version(c, db, &mut x);
    if !errors.is_empty() {
        return unprocessable(&errors);
    }
    x.id = db.next_version;
    db.next_version += 1;
    let out = version_json(c.f, db, &x);
    db.versions.push(x);
    created(out)
}

fn version_update(c: &Ctx, db: &mut Db, i: usize) -> Response {
    let mut x = db.versions[i].clone();
    let errors = apply_version(c, db, &mut x);
    if !errors.is_empty() {
        return unprocessable(&errors);
    }
    x.updated = Utc::now();
    db.versions[i] = x;
    ok(version_json(c.f, db, &db.versions[i]))
}

fn memberships_list(c: &Ctx, db: &Db) -> Response {
    let filters = match parse_filters(c.q.get("filters")) {
        Ok(x) => x.unwrap_or_default(),
        Err(r) => return r,
    };
    let mut out = Vec::new();
    for m in &db.memberships {
        let mut keep = true;
        for flt in &filters {
            let hit = match flt.name.as_str() {
                "project" => {
                    check_op(flt, &["=", "!"]).and_then(|_| id_match(flt, Some(m.project)))
                }
                "principal" => {
                    check_op(flt, &["=", "!"]).and_then(|_| id_match(flt, Some(m.principal)))
                }
                "role" => check_op(flt, &["=", "!"]).map(|_| {
                    m.roles.iter().any(|r| flt.values.contains(&r.to_string())) == (flt.op == "=")
                }),
                other => Err(unknown_filter(other)),
            };
            match hit {
                Ok(true) => {}
                Ok(false) => keep = false,
                Err(r) => return r,
            }
        }
        if keep {
            out.push(membership_json(c.f, db, m));
        }
    }
    ok(paged(c, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "secret-key";

    async fn call(
        base: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        call_as(base, method, path, body, Some(("apikey", KEY))).await
    }

    async fn call_as(
        base: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
        auth: Option<(&str, &str)>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let client = reqwest::Client::new();
        let mut req = client.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{base}{path}"),
        );
        if let Some((u, p)) = auth {
            req = req.basic_auth(u, Some(p));
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, headers, value)
    }

    fn enc(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    #[tokio::test]
    async fn a_site_without_a_default_activity_refuses_time_entries_without_one() {
        let fake = spawn(Options::new(KEY, "", "15.5.0")).await;
        let base = fake.url.clone();
        fake.set_default_activity(false);
        let body = json!({ "hours": "PT1H", "spentOn": "2026-11-27",
            "_links": { "workPackage": { "href": "/api/v3/work_packages/2" } } });
        let (s, _, e) = call(&base, "POST", "/api/v3/time_entries", Some(body.clone())).await;
        assert_eq!(s, 422, "{e}");
        assert_eq!(
            e["errorIdentifier"],
            "urn:openproject-org:api:v3:errors:PropertyConstraintViolation"
        );
        assert_eq!(e["_embedded"]["details"]["attribute"], "activity");
        let (s, _, form) = call(&base, "POST", "/api/v3/time_entries/form", Some(body)).await;
        assert_eq!(s, 200, "{form}");
        assert!(form["_embedded"]["validationErrors"]["activity"].is_object());
        let allowed = form["_embedded"]["schema"]["activity"]["_embedded"]["allowedValues"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(allowed.len(), 6);
        assert!(allowed.iter().all(|a| a["default"] == false));
        assert!(form["_links"]["commit"].is_null());
        // notify must be a boolean.
        let (s, _, _) = call(
            &base,
            "PATCH",
            "/api/v3/work_packages/2?notify=maybe",
            Some(json!({ "lockVersion": 3, "subject": "x" })),
        )
        .await;
        assert_eq!(s, 400);
    }

    #[tokio::test]
    async fn a_german_account_reads_details_in_german() {
        let fake = spawn(Options::new(KEY, "", "15.5.0")).await;
        let base = fake.url.clone();
        fake.set_german(true);
        let lock = fake.work_package(1).unwrap()["lockVersion"].clone();
        let (s, _, w) = call(
            &base,
            "PATCH",
            "/api/v3/work_packages/1",
            Some(json!({ "lockVersion": lock,
                "_links": { "status": { "href": "/api/v3/statuses/7" }, "version": { "href": null } } })),
        )
        .await;
        assert_eq!(s, 200, "{w}");
        assert_eq!(w["_links"]["status"]["title"], "In Bearbeitung");
        let acts = fake.activities(1);
        let details = &acts.last().unwrap()["details"];
        assert_eq!(
            details[0]["raw"],
            "Status geändert von Neu zu In Bearbeitung"
        );
        assert_eq!(
            details[0]["html"],
            "<strong>Status</strong> geändert von <i>Neu</i> zu <i>In Bearbeitung</i>"
        );
        assert_eq!(details[1]["raw"], "Version Sprint 1 wurde gelöscht");
        assert_eq!(
            details[1]["html"],
            "<strong>Version</strong> <strike><i>Sprint 1</i></strike> wurde gelöscht"
        );
    }

    #[tokio::test]
    async fn without_filters_only_open_work_packages_are_listed() {
        let base = spawn(Options::new(KEY, "", "16.2.0")).await.url;
        let (s, h, open) = call(&base, "GET", "/api/v3/work_packages?pageSize=1000", None).await;
        assert_eq!(s, 200);
        assert!(
            h["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/hal+json")
        );
        let elements = open["_embedded"]["elements"].as_array().unwrap();
        assert!(!elements.is_empty());
        for e in elements {
            let status = e["_links"]["status"]["href"].as_str().unwrap();
            assert!(
                status != "/api/v3/statuses/12" && status != "/api/v3/statuses/14",
                "{status}"
            );
        }
        let all_filter = enc(r#"[{"status":{"operator":"*","values":[]}}]"#);
        let (_, _, all) = call(
            &base,
            "GET",
            &format!("/api/v3/work_packages?pageSize=1000&filters={all_filter}"),
            None,
        )
        .await;
        assert_eq!(all["total"], 66);
        assert!(all["total"].as_u64() > open["total"].as_u64());
        let (_, _, none) = call(
            &base,
            "GET",
            "/api/v3/work_packages?pageSize=1000&filters=%5B%5D",
            None,
        )
        .await;
        assert_eq!(none["total"], 66);
        let closed = enc(r#"[{"status":{"operator":"c","values":[]}}]"#);
        let (_, _, c) = call(
            &base,
            "GET",
            &format!("/api/v3/work_packages?filters={closed}"),
            None,
        )
        .await;
        assert_eq!(
            c["total"].as_u64().unwrap() + open["total"].as_u64().unwrap(),
            66
        );
        // Malformed and unknown filters are refused.
        let (s, _, e) = call(&base, "GET", "/api/v3/work_packages?filters=%5Bnope", None).await;
        assert_eq!(s, 400);
        assert_eq!(
            e["errorIdentifier"],
            "urn:openproject-org:api:v3:errors:InvalidQuery"
        );
        let unknown = enc(r#"[{"colour":{"operator":"=","values":["1"]}}]"#);
        let (s, _, _) = call(
            &base,
            "GET",
            &format!("/api/v3/work_packages?filters={unknown}"),
            None,
        )
        .await;
        assert_eq!(s, 400);
        let me = enc(
            r#"[{"assignee":{"operator":"=","values":["me"]}},{"status":{"operator":"o","values":[]}}]"#,
        );
        let sort = enc(r#"[["updatedAt","desc"]]"#);
        let (s, _, mine) = call(
            &base,
            "GET",
            &format!("/api/v3/work_packages?filters={me}&sortBy={sort}&pageSize=100"),
            None,
        )
        .await;
        assert_eq!(s, 200);
        let list = mine["_embedded"]["elements"].as_array().unwrap();
        assert!(!list.is_empty());
        for pair in list.windows(2) {
            assert!(pair[0]["updatedAt"].as_str() >= pair[1]["updatedAt"].as_str());
        }
        for e in list {
            assert_eq!(e["_links"]["assignee"]["href"], "/api/v3/users/5");
        }
    }

    #[tokio::test]
    async fn offset_is_a_page_number_and_links_keep_the_prefix() {
        let fake = spawn(Options::new(KEY, "/openproject", "13.4.1")).await;
        let base = fake.url.clone();
        assert!(base.ends_with("/openproject"));
        let (s, _, page) = call(&base, "GET", "/api/v3/projects?pageSize=10&offset=2", None).await;
        assert_eq!(s, 200);
        assert_eq!(page["total"], 25);
        assert_eq!(page["count"], 10);
        assert_eq!(page["offset"], 2);
        assert_eq!(page["pageSize"], 10);
        assert_eq!(page["_embedded"]["elements"][0]["id"], 11);
        let next = page["_links"]["nextByOffset"]["href"].as_str().unwrap();
        assert_eq!(next, "/openproject/api/v3/projects?offset=3&pageSize=10");
        let prev = page["_links"]["previousByOffset"]["href"].as_str().unwrap();
        assert_eq!(prev, "/openproject/api/v3/projects?offset=1&pageSize=10");
        let (_, _, last) = call(&base, "GET", &next.replacen("/openproject", "", 1), None).await;
        assert_eq!(last["count"], 5);
        assert!(last["_links"].get("nextByOffset").is_none());
        let (_, _, beyond) =
            call(&base, "GET", "/api/v3/projects?pageSize=10&offset=4", None).await;
        assert_eq!(beyond["count"], 0);
        assert_eq!(beyond["_embedded"]["elements"], json!([]));
        let (_, _, big) = call(&base, "GET", "/api/v3/projects?pageSize=5000", None).await;
        assert_eq!(big["pageSize"], 1000);
        assert_eq!(big["count"], 25);
        // Query kept in the links; hrefs in the elements carry the prefix too.
        let f = enc(r#"[{"name_and_identifier":{"operator":"~","values":["project"]}}]"#);
        let (_, _, filtered) = call(
            &base,
            "GET",
            &format!("/api/v3/projects?filters={f}&pageSize=5"),
            None,
        )
        .await;
        let next = filtered["_links"]["nextByOffset"]["href"].as_str().unwrap();
        assert!(next.contains(&format!("filters={f}")), "{next}");
        assert_eq!(
            filtered["_embedded"]["elements"][0]["_links"]["self"]["href"],
            "/openproject/api/v3/projects/1"
        );
        // Outside the prefix there is nothing.
        let root = base.trim_end_matches("/openproject");
        let (s, _, e) = call(root, "GET", "/api/v3/projects", None).await;
        assert_eq!(s, 404);
        assert_eq!(
            e["errorIdentifier"],
            "urn:openproject-org:api:v3:errors:NotFound"
        );
        assert_eq!(
            fake.recorder.lines()[0],
            "GET /openproject/api/v3/projects?pageSize=10&offset=2"
        );
    }

    #[tokio::test]
    async fn a_stale_lock_version_conflicts() {
        let fake = spawn(Options::new(KEY, "", "16.2.0")).await;
        let base = fake.url.clone();
        let wp = fake.work_package(7).unwrap();
        let lock = wp["lockVersion"].as_u64().unwrap();
        let (s, _, e) = call(
            &base,
            "PATCH",
            "/api/v3/work_packages/7",
            Some(json!({ "lockVersion": lock + 5, "subject": "x" })),
        )
        .await;
        assert_eq!(s, 409);
        assert_eq!(
            e["errorIdentifier"],
            "urn:openproject-org:api:v3:errors:UpdateConflict"
        );
        let (s, _, _) = call(
            &base,
            "PATCH",
            "/api/v3/work_packages/7",
            Some(json!({ "subject": "no lock" })),
        )
        .await;
        assert_eq!(s, 409);
        fake.set_conflicts(1);
        let (s, _, _) = call(
            &base,
            "PATCH",
            "/api/v3/work_packages/7",
            Some(json!({ "lockVersion": lock, "subject": "Renamed" })),
        )
        .await;
        assert_eq!(s, 409);
        let (_, _, now) = call(&base, "GET", "/api/v3/work_packages/7", None).await;
        assert_eq!(now["lockVersion"], lock + 1);
        let (s, _, done) = call(
            &base,
            "PATCH",
            "/api/v3/work_packages/7",
            Some(json!({ "lockVersion": lock + 1, "subject": "Renamed", "estimatedTime": "PT2H30M" })),
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(done["lockVersion"], lock + 2);
        assert_eq!(done["subject"], "Renamed");
        assert_eq!(done["estimatedTime"], "PT2H30M");
        assert_eq!(fake.work_package(7).unwrap()["subject"], "Renamed");
        // The form refuses a stale lockVersion too.
        let (s, _, _) = call(
            &base,
            "POST",
            "/api/v3/work_packages/7/form",
            Some(json!({ "lockVersion": lock })),
        )
        .await;
        assert_eq!(s, 409);
    }

    #[tokio::test]
    async fn status_moves_follow_the_workflow() {
        let fake = spawn(Options::new(KEY, "", "16.2.0")).await;
        let base = fake.url.clone();
        // Work package 1 is New.
        let wp = fake.work_package(1).unwrap();
        assert_eq!(wp["_links"]["status"]["title"], "New");
        let lock = wp["lockVersion"].clone();
        let closed = json!({ "lockVersion": lock, "_links": { "status": { "href": "/api/v3/statuses/12" } } });
        let (s, _, form) = call(
            &base,
            "POST",
            "/api/v3/work_packages/1/form",
            Some(closed.clone()),
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(form["_type"], "Form");
        assert_eq!(
            form["_embedded"]["validationErrors"]["status"]["message"],
            WORKFLOW_MESSAGE
        );
        assert!(form["_links"].get("commit").is_none());
        let allowed: Vec<&str> =
            form["_embedded"]["schema"]["status"]["_embedded"]["allowedValues"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["name"].as_str().unwrap())
                .collect();
        assert_eq!(allowed, ["New", "In progress", "On hold", "Rejected"]);
        let (s, _, e) = call(&base, "PATCH", "/api/v3/work_packages/1", Some(closed)).await;
        assert_eq!(s, 422);
        assert_eq!(
            e["errorIdentifier"],
            "urn:openproject-org:api:v3:errors:PropertyConstraintViolation"
        );
        assert_eq!(e["_embedded"]["details"]["attribute"], "status");
        assert_eq!(e["message"], WORKFLOW_MESSAGE);
        let (s, _, moved) = call(
            &base,
            "PATCH",
            "/api/v3/work_packages/1",
            Some(json!({ "lockVersion": lock, "_links": { "status": { "href": "/api/v3/statuses/7" } } })),
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(moved["_links"]["status"]["title"], "In progress");
        let last = fake.activities(1).pop().unwrap();
        assert_eq!(
            last["details"][0]["raw"],
            "Status changed from New to In progress"
        );
        // Several violations at once.
        let (s, _, e) = call(
            &base,
            "POST",
            "/api/v3/projects/1/work_packages",
            Some(
                json!({ "subject": "", "_links": { "version": { "href": "/api/v3/versions/1" } } }),
            ),
        )
        .await;
        assert_eq!(s, 422);
        assert_eq!(
            e["errorIdentifier"],
            "urn:openproject-org:api:v3:errors:MultipleErrors"
        );
        let (s, _, e) = call(
            &base,
            "POST",
            "/api/v3/projects/1/work_packages",
            Some(json!({})),
        )
        .await;
        assert_eq!(s, 422);
        assert_eq!(e["message"], "Subject can't be blank.");
        let (s, _, new) = call(
            &base,
            "POST",
            "/api/v3/work_packages",
            Some(json!({ "subject": "Fresh", "storyPoints": 3, "_links": {
                "project": { "href": "/api/v3/projects/1" },
                "assignee": { "href": "/api/v3/users/5" },
                "version": { "href": "/api/v3/versions/2" } } })),
        )
        .await;
        assert_eq!(s, 201);
        assert_eq!(new["storyPoints"], 3);
        assert_eq!(new["_links"]["status"]["title"], "New");
        assert_eq!(new["_links"]["version"]["title"], "Sprint 2");
    }

    #[tokio::test]
    async fn wrong_credentials_answer_401_with_an_error_body() {
        let fake = spawn(Options::new(KEY, "", "16.2.0")).await;
        let base = fake.url.clone();
        let (s, h, e) = call_as(
            &base,
            "GET",
            "/api/v3/users/me",
            None,
            Some(("apikey", "wrong")),
        )
        .await;
        assert_eq!(s, 401);
        assert_eq!(e["_type"], "Error");
        assert_eq!(
            e["errorIdentifier"],
            "urn:openproject-org:api:v3:errors:Unauthenticated"
        );
        assert!(h.contains_key("www-authenticate"));
        let (s, _, _) = call_as(&base, "GET", "/api/v3", None, None).await;
        assert_eq!(s, 401);
        let (s, _, me) = call(&base, "GET", "/api/v3/users/me", None).await;
        assert_eq!(s, 200);
        assert_eq!(me["id"], ME);
        let (_, _, root) = call(&base, "GET", "/api/v3", None).await;
        assert_eq!(root["coreVersion"], "16.2.0");
        fake.set_admin(false);
        let (_, _, root) = call(&base, "GET", "/api/v3", None).await;
        assert!(root.get("coreVersion").is_none());
        let (s, _, _) = call(&base, "GET", "/api/v3/users", None).await;
        assert_eq!(s, 403);
        fake.recorder
            .fail_next(crate::fake::Failure::status(503).times(2));
        let (s, h, e) = call(&base, "GET", "/api/v3", None).await;
        assert_eq!(s, 503);
        assert_eq!(h["retry-after"], "1");
        assert_eq!(e["_type"], "Error");
        let (s, _, _) = call(&base, "GET", "/api/v3", None).await;
        assert_eq!(s, 503);
        let (s, _, _) = call(&base, "GET", "/api/v3", None).await;
        assert_eq!(s, 200);
    }

    #[tokio::test]
    async fn time_entries_link_their_work_package_by_version() {
        let old_fake = spawn(Options::new(KEY, "", "13.4.1")).await;
        let old = old_fake.url.clone();
        let (s, _, te) = call(
            &old,
            "POST",
            "/api/v3/time_entries",
            Some(
                json!({ "hours": "PT1H30M", "spentOn": "2026-01-05", "comment": { "raw": "Work" },
                "_links": { "workPackage": { "href": "/api/v3/work_packages/2" } } }),
            ),
        )
        .await;
        assert_eq!(s, 201);
        assert_eq!(
            te["_links"]["workPackage"]["href"],
            "/api/v3/work_packages/2"
        );
        assert!(te["_links"].get("entity").is_none());
        assert_eq!(te["hours"], "PT1H30M");
        assert_eq!(te["_links"]["activity"]["title"], "Development");
        assert_eq!(old_fake.time_entries().len(), 4);
        let (s, _, e) = call(
            &old,
            "POST",
            "/api/v3/time_entries",
            Some(json!({ "hours": "PT1H", "_links": { "entity": { "href": "/api/v3/work_packages/2" } } })),
        )
        .await;
        assert_eq!(s, 422);
        assert_eq!(
            e["errorIdentifier"],
            "urn:openproject-org:api:v3:errors:MultipleErrors"
        );
        let attrs: Vec<&Value> = e["_embedded"]["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| &x["_embedded"]["details"]["attribute"])
            .collect();
        assert!(attrs.contains(&&json!("workPackage")), "{e}");
        let (s, _, e) = call(
            &old,
            "POST",
            "/api/v3/time_entries",
            Some(json!({ "hours": "1.5", "_links": { "workPackage": { "href": "/api/v3/work_packages/2" } } })),
        )
        .await;
        assert_eq!(s, 422);
        assert_eq!(e["_embedded"]["details"]["attribute"], "hours");
        let wp_filter = enc(r#"[{"work_package":{"operator":"=","values":["2"]}}]"#);
        let (_, _, list) = call(
            &old,
            "GET",
            &format!("/api/v3/time_entries?filters={wp_filter}"),
            None,
        )
        .await;
        assert_eq!(list["total"], 3);
        let entity_filter = enc(r#"[{"entity_id":{"operator":"=","values":["2"]}}]"#);
        let (s, _, _) = call(
            &old,
            "GET",
            &format!("/api/v3/time_entries?filters={entity_filter}"),
            None,
        )
        .await;
        assert_eq!(s, 400);
        let (_, _, schema) = call(&old, "GET", "/api/v3/time_entries/schema", None).await;
        assert!(schema.get("workPackage").is_some() && schema.get("entity").is_none());

        let new = spawn(Options::new(KEY, "", "16.2.0")).await.url;
        let (s, _, te) = call(
            &new,
            "POST",
            "/api/v3/time_entries",
            Some(json!({ "hours": "PT45M", "_links": { "entity": { "href": "/api/v3/work_packages/7" },
                "activity": { "href": "/api/v3/time_entries/activity/4" } } })),
        )
        .await;
        assert_eq!(s, 201);
        assert_eq!(te["_links"]["entity"]["href"], "/api/v3/work_packages/7");
        assert_eq!(te["_links"]["activity"]["title"], "Testing");
        let (_, _, list) = call(
            &new,
            "GET",
            &format!("/api/v3/time_entries?filters={entity_filter}"),
            None,
        )
        .await;
        assert_eq!(list["total"], 2);
        let (_, _, schema) = call(&new, "GET", "/api/v3/time_entries/schema", None).await;
        assert!(schema.get("entity").is_some());
        let (s, _, _) = call(&new, "GET", "/api/v3/time_entries/activities", None).await;
        assert_eq!(s, 404);
    }

    #[tokio::test]
    async fn story_points_are_a_custom_field_where_backlogs_are_off() {
        let base = spawn(Options::new(KEY, "", "16.2.0")).await.url;
        let ids = enc(r#"[{"id":{"operator":"=","values":["1-1","2-6"]}}]"#);
        let (s, _, schemas) = call(
            &base,
            "GET",
            &format!("/api/v3/work_packages/schemas?filters={ids}"),
            None,
        )
        .await;
        assert_eq!(s, 200);
        let list = schemas["_embedded"]["elements"].as_array().unwrap();
        assert_eq!(list[0]["storyPoints"]["name"], "Story Points");
        assert!(list[0].get("customField7").is_none());
        assert_eq!(list[1]["customField7"]["name"], "Story Points");
        assert!(list[1].get("storyPoints").is_none());
        let (_, _, story) = call(&base, "GET", "/api/v3/work_packages/62", None).await;
        assert_eq!(story["customField7"], 2);
        assert!(story.get("storyPoints").is_none());
    }

    #[tokio::test]
    async fn comments_watchers_relations_versions_and_members() {
        let fake = spawn(Options::new(KEY, "/op", "16.2.0")).await;
        let base = fake.url.clone();
        let lock = fake.work_package(2).unwrap()["lockVersion"].clone();
        let (s, _, c) = call(
            &base,
            "POST",
            "/api/v3/work_packages/2/activities",
            Some(json!({ "comment": { "raw": "Looks good" } })),
        )
        .await;
        assert_eq!(s, 201);
        assert_eq!(c["_type"], "Activity::Comment");
        assert_eq!(
            fake.comments(2).last().unwrap()["comment"]["raw"],
            "Looks good"
        );
        assert_eq!(
            fake.work_package(2).unwrap()["lockVersion"],
            lock.as_u64().unwrap() + 1
        );
        let (s, _, _) = call(
            &base,
            "POST",
            "/api/v3/work_packages/2/activities",
            Some(json!({ "comment": { "raw": " " } })),
        )
        .await;
        assert_eq!(s, 422);
        let (s, _, _) = call(
            &base,
            "POST",
            "/api/v3/work_packages/2/watchers",
            Some(json!({ "user": { "href": "/op/api/v3/users/4" } })),
        )
        .await;
        assert_eq!(s, 201);
        assert_eq!(fake.watchers(2).len(), 2);
        // Under a sub-path, OpenProject wants its own hrefs, prefix included.
        let (s, _, e) = call(
            &base,
            "PATCH",
            "/api/v3/work_packages/2",
            Some(json!({ "lockVersion": lock.as_u64().unwrap() + 1, "_links": { "assignee": { "href": "/api/v3/users/4" } } })),
        )
        .await;
        assert_eq!(s, 422);
        assert_eq!(
            e["errorIdentifier"],
            "urn:openproject-org:api:v3:errors:ResourceTypeMismatch"
        );
        let (s, _, r) = call(
            &base,
            "POST",
            "/api/v3/work_packages/2/relations",
            Some(json!({ "type": "relates", "_links": { "to": { "href": "/op/api/v3/work_packages/9" } } })),
        )
        .await;
        assert_eq!(s, 201, "{r}");
        assert_eq!(r["_links"]["to"]["href"], "/op/api/v3/work_packages/9");
        let involved = enc(r#"[{"involved":{"operator":"=","values":["2"]}}]"#);
        let (_, _, rel) = call(
            &base,
            "GET",
            &format!("/api/v3/relations?filters={involved}"),
            None,
        )
        .await;
        assert_eq!(rel["total"], 2);
        let (s, _, v) = call(
            &base,
            "POST",
            "/api/v3/versions",
            Some(json!({ "name": "Sprint 4", "status": "open", "startDate": "2030-01-01", "endDate": "2030-01-14",
                "_links": { "definingProject": { "href": "/op/api/v3/projects/1" } } })),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(fake.versions().len(), 8);
        // Its own four, and project 03's version shared with every project.
        let (_, _, vs) = call(&base, "GET", "/api/v3/projects/1/versions", None).await;
        assert_eq!(vs["total"], 5);
        let project = enc(r#"[{"project":{"operator":"=","values":["1"]}}]"#);
        let (_, _, m) = call(
            &base,
            "GET",
            &format!("/api/v3/memberships?filters={project}"),
            None,
        )
        .await;
        assert_eq!(m["total"], 5);
        let users = enc(
            r#"[{"type":{"operator":"=","values":["User"]}},{"member":{"operator":"=","values":["1"]}}]"#,
        );
        let (_, _, p) = call(
            &base,
            "GET",
            &format!("/api/v3/principals?filters={users}"),
            None,
        )
        .await;
        assert_eq!(p["total"], 4);
        let (s, _, created) = call(
            &base,
            "POST",
            "/api/v3/projects",
            Some(json!({ "name": "New thing", "description": { "raw": "x" } })),
        )
        .await;
        assert_eq!(s, 201);
        assert_eq!(created["identifier"], "new-thing");
        let (s, _, e) = call(
            &base,
            "POST",
            "/api/v3/projects",
            Some(json!({ "name": "Again", "identifier": "new-thing" })),
        )
        .await;
        assert_eq!(s, 422);
        assert_eq!(e["_embedded"]["details"]["attribute"], "identifier");
        let (s, _, _) = call(&base, "GET", "/api/v3/nothing/here", None).await;
        assert_eq!(s, 404);
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(2.5), "PT2H30M");
        assert_eq!(format_duration(26.0), "P1DT2H");
        assert_eq!(format_duration(0.0), "PT0S");
        assert_eq!(parse_duration("PT1H30M"), Some(1.5));
        assert_eq!(parse_duration("P1DT2H"), Some(26.0));
        assert_eq!(parse_duration("PT0.5H"), Some(0.5));
        assert_eq!(parse_duration("1.5"), None);
        assert_eq!(parse_duration("PT"), None);
        assert_eq!(parse_duration("PTH"), None);
    }
}
