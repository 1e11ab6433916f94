//! The toolsets: their names, which a caller sees by default, and how a named set is checked.
//! Below the tools and the admin API, which both name toolsets. Which tools a toolset holds is
//! said by the tools themselves: each toolset's module registers its router under its
//! [`Toolset`] (`tools::families`).
use std::fmt;

/// Toolsets group tools so a server, a key or a request can narrow what a model sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Toolset {
    Users,
    Connections,
    Projects,
    Tasks,
    Epics,
    Sprints,
    Comments,
    Worklogs,
    Analytics,
}

impl Toolset {
    /// Every toolset, in the order lists and the tool reference show them.
    pub const ALL: [Toolset; 9] = [
        Toolset::Users,
        Toolset::Connections,
        Toolset::Projects,
        Toolset::Tasks,
        Toolset::Epics,
        Toolset::Sprints,
        Toolset::Comments,
        Toolset::Worklogs,
        Toolset::Analytics,
    ];

    /// What a caller sees when neither the server, nor the key, nor the request names toolsets:
    /// an engineer's everyday work, within `tools::DEFAULT_BUDGET_BYTES` of `tools/list`. `all`
    /// (or naming sets) offers more. The connections toolset is always in it: the assistant
    /// must be able to add a second tracker and repair a broken one (errors point it to
    /// `list_providers` and `configure_pm_provider`).
    pub const DEFAULT: &[Toolset] = &[
        Toolset::Users,
        Toolset::Connections,
        Toolset::Projects,
        Toolset::Tasks,
        Toolset::Comments,
    ];

    /// The name keys, flags and requests use.
    pub const fn as_str(self) -> &'static str {
        match self {
            Toolset::Users => "users",
            Toolset::Connections => "connections",
            Toolset::Projects => "projects",
            Toolset::Tasks => "tasks",
            Toolset::Epics => "epics",
            Toolset::Sprints => "sprints",
            Toolset::Comments => "comments",
            Toolset::Worklogs => "worklogs",
            Toolset::Analytics => "analytics",
        }
    }

    /// The toolset `name` names, exactly as [`Toolset::as_str`] spells it.
    pub fn parse(name: &str) -> Option<Toolset> {
        Toolset::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Whether a caller sees this toolset when nobody chose (see [`Toolset::DEFAULT`]).
    pub fn is_default(self) -> bool {
        Toolset::DEFAULT.contains(&self)
    }
}

impl fmt::Display for Toolset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Words accepted wherever toolsets are named, besides the toolsets' own names.
pub const TOOLSET_WORDS: &[&str] = &["all", "default"];

/// Whether `sets` (as named by a server, key or request) include the toolset `set`; a tool in no
/// toolset only under `all`.
pub fn includes(sets: &[String], set: Option<Toolset>) -> bool {
    sets.iter().any(|s| match set {
        Some(set) => s == set.as_str() || s == "all" || (s == "default" && set.is_default()),
        None => s == "all",
    })
}

/// Refuses a toolset name that is neither a toolset nor `all`/`default`, listing the known ones.
pub fn check_toolset_name(name: &str) -> Result<(), String> {
    if Toolset::parse(name).is_some() || TOOLSET_WORDS.contains(&name) {
        return Ok(());
    }
    let known: Vec<&str> = Toolset::ALL.iter().map(|t| t.as_str()).collect();
    Err(format!(
        "unknown toolset {name:?}; known toolsets: {} (or all, default)",
        known.join(", ")
    ))
}
