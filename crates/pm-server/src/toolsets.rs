//! The toolsets: which tools each holds, which a caller sees by default, and how a named set is
//! checked. Below the tools and the admin API, which both name toolsets.

/// Toolsets group tools so a server, a key or a request can narrow what a model sees.
pub const TOOLSETS: &[(&str, &[&str])] = &[
    ("users", &["get_current_user", "list_users", "get_user"]),
    (
        "connections",
        &[
            "list_providers",
            "configure_pm_provider",
            "test_pm_provider",
            "remove_pm_provider",
        ],
    ),
    (
        "projects",
        &[
            "list_projects",
            "search_projects",
            "get_project",
            "get_project_vocabulary",
            "create_project",
            "update_project",
            "delete_project",
        ],
    ),
    (
        "tasks",
        &[
            "list_tasks",
            "list_my_tasks",
            "list_tasks_by_assignee",
            "list_unassigned_tasks",
            "search_tasks",
            "get_task",
            "create_task",
            "update_task",
            "update_task_status",
            "assign_task",
            "bulk_update_tasks",
            "delete_task",
            "add_task_watcher",
            "link_related_tasks",
        ],
    ),
    (
        "epics",
        &[
            "list_epics",
            "get_epic",
            "create_epic",
            "update_epic",
            "delete_epic",
            "link_task_to_epic",
            "unlink_task_from_epic",
        ],
    ),
    (
        "sprints",
        &[
            "list_sprints",
            "get_sprint",
            "get_sprint_tasks",
            "list_tasks_in_sprint",
            "create_sprint",
            "update_sprint",
            "start_sprint",
            "complete_sprint",
            "delete_sprint",
        ],
    ),
    ("comments", &["add_task_comment", "get_task_comments"]),
    ("worklogs", &["log_work", "list_worklogs"]),
    (
        "analytics",
        &[
            "burndown_chart",
            "velocity_chart",
            "sprint_report",
            "project_health",
            "cfd_chart",
            "cycle_time_chart",
            "work_distribution_chart",
            "issue_trend_chart",
            "capacity_chart",
        ],
    ),
];

/// What a caller sees when neither the server, nor the key, nor the request names toolsets: an
/// engineer's everyday work, within `tools::DEFAULT_BUDGET_BYTES` of `tools/list`. `all` (or naming sets) offers more.
/// The connections toolset is always in it: the assistant must be able to add a second tracker
/// and repair a broken one (errors point it to `list_providers` and `configure_pm_provider`).
pub const DEFAULT_TOOLSETS: &[&str] = &["users", "connections", "projects", "tasks", "comments"];

/// Words accepted wherever toolsets are named, besides the toolsets' own names.
pub const TOOLSET_WORDS: &[&str] = &["all", "default"];

/// Whether `sets` (as named by a server, key or request) include the toolset `set`.
pub fn includes(sets: &[String], set: &str) -> bool {
    sets.iter()
        .any(|s| s == set || s == "all" || (s == "default" && DEFAULT_TOOLSETS.contains(&set)))
}

/// Refuses a toolset name that is neither a toolset nor `all`/`default`, listing the known ones.
pub fn check_toolset_name(name: &str) -> Result<(), String> {
    if TOOLSETS.iter().any(|(n, _)| *n == name) || TOOLSET_WORDS.contains(&name) {
        return Ok(());
    }
    let known: Vec<&str> = TOOLSETS.iter().map(|(n, _)| *n).collect();
    Err(format!(
        "unknown toolset {name:?}; known toolsets: {} (or all, default)",
        known.join(", ")
    ))
}

pub fn toolset_of(tool: &str) -> Option<&'static str> {
    TOOLSETS
        .iter()
        .find(|(_, tools)| tools.contains(&tool))
        .map(|(set, _)| *set)
}
