//! Key scopes. `admin` includes `write`, which includes `read`: a key is granted a scope when it
//! holds that scope or a broader one. Two permissions stand apart, granted only when held
//! explicitly (not even `admin` implies them): `sync` (an agent backend pushing its users' tracker
//! connections through `/providers/sync`) and `act_as` (a service key calling tools for a named
//! user with `X-PM-MCP-Act-As`).
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::InvalidInput;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Call read-only tools.
    Read,
    /// Also call tools that change data in a tracker or in pm-mcp.
    Write,
    /// Also administer pm-mcp (users, other users' keys).
    Admin,
    /// Push tracker connections through `/providers/sync` (they belong to the key's user).
    Sync,
    /// Call tools for a named user (`X-PM-MCP-Act-As: <email>`), with that user's connections.
    ActAs,
}

impl Scope {
    /// The nested scopes of tool calls and administration.
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Admin];
    /// The permissions granted only when held explicitly.
    pub const PERMISSIONS: [Scope; 2] = [Scope::Sync, Scope::ActAs];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
            Scope::Sync => "sync",
            Scope::ActAs => "act_as",
        }
    }

    /// Whether this is one of the explicit-only permissions.
    pub fn is_permission(self) -> bool {
        Self::PERMISSIONS.contains(&self)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "read" => Ok(Scope::Read),
            "write" => Ok(Scope::Write),
            "admin" => Ok(Scope::Admin),
            "sync" => Ok(Scope::Sync),
            "act_as" | "act-as" => Ok(Scope::ActAs),
            other => Err(InvalidInput::new(format!(
                "unknown scope {other:?}; use read, write, admin, sync or act_as"
            ))),
        }
    }
}

/// A non-empty set of scopes, stored as a comma-separated list (`read,write`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scopes(u8);

impl Scopes {
    pub fn only(scope: Scope) -> Self {
        Self(Self::bit(scope))
    }

    fn bit(scope: Scope) -> u8 {
        match scope {
            Scope::Read => 1,
            Scope::Write => 2,
            Scope::Admin => 4,
            Scope::Sync => 8,
            Scope::ActAs => 16,
        }
    }

    pub fn from_iter_nonempty(
        scopes: impl IntoIterator<Item = Scope>,
    ) -> Result<Self, InvalidInput> {
        let bits = scopes.into_iter().fold(0, |acc, s| acc | Self::bit(s));
        if bits == 0 {
            return Err(InvalidInput::new(
                "a key needs at least one scope: read, write or admin",
            ));
        }
        Ok(Self(bits))
    }

    /// Whether a key with these scopes may do what `needed` allows: a nested scope by itself or
    /// a broader one, a permission only by itself.
    pub fn grants(&self, needed: Scope) -> bool {
        if needed.is_permission() {
            return self.holds(needed);
        }
        Scope::ALL
            .iter()
            .filter(|held| self.holds(**held))
            .any(|held| *held >= needed)
    }

    pub fn holds(&self, scope: Scope) -> bool {
        self.0 & Self::bit(scope) != 0
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        Scope::ALL
            .into_iter()
            .chain(Scope::PERMISSIONS)
            .filter(|s| self.holds(*s))
    }

    pub fn to_vec(&self) -> Vec<Scope> {
        self.iter().collect()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Scope::as_str).collect();
        f.write_str(&names.join(","))
    }
}

impl FromStr for Scopes {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parsed = s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(Scope::from_str)
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_iter_nonempty(parsed)
    }
}

impl Serialize for Scopes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_vec().serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broader_scopes_grant_narrower_ones() {
        let admin = Scopes::only(Scope::Admin);
        assert!(
            admin.grants(Scope::Read) && admin.grants(Scope::Write) && admin.grants(Scope::Admin)
        );
        let read = Scopes::only(Scope::Read);
        assert!(read.grants(Scope::Read));
        assert!(!read.grants(Scope::Write));
        assert!(!read.grants(Scope::Admin));
        let backend: Scopes = "read,write,sync,act_as".parse().unwrap();
        assert!(backend.grants(Scope::Sync) && backend.grants(Scope::ActAs));
        assert!(!backend.grants(Scope::Admin));
        assert_eq!(backend.to_string(), "read,write,sync,act_as");
        // Not even admin implies the permissions; a permission alone grants no tool calls.
        assert!(!admin.grants(Scope::Sync) && !admin.grants(Scope::ActAs));
        let sync_only = Scopes::only(Scope::Sync);
        assert!(!sync_only.grants(Scope::Read));
        let rw: Scopes = "read, write".parse().unwrap();
        assert!(rw.grants(Scope::Write) && !rw.grants(Scope::Admin));
    }

    #[test]
    fn scopes_round_trip_and_reject_bad_input() {
        let s: Scopes = "write,read".parse().unwrap();
        assert_eq!(s.to_string(), "read,write");
        assert_eq!(s.to_string().parse::<Scopes>().unwrap(), s);
        assert!("".parse::<Scopes>().is_err());
        assert!(" , ".parse::<Scopes>().is_err());
        let err = "read,superuser".parse::<Scopes>().unwrap_err();
        assert!(err.0.contains("superuser"), "{err}");
    }
}
