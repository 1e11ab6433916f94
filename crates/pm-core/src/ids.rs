//! Typed identifiers for the rows pm-mcp owns, so a key id can never be passed where a user id goes.
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::InvalidInput;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random (v4) id.
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }
            pub fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidInput;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| InvalidInput::new(format!("{s:?} is not a valid {} id (expected a UUID)", $what)))
            }
        }
    };
}

uuid_id!(
    /// Identifies a row of `users`.
    UserId,
    "user"
);
uuid_id!(
    /// Identifies a row of `user_mcp_api_keys`.
    ApiKeyId,
    "API key"
);
uuid_id!(
    /// Identifies a row of `pm_provider_connections`.
    ConnectionId,
    "connection"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_garbage() {
        let id = UserId::new();
        assert_eq!(id.to_string().parse::<UserId>(), Ok(id));
        let err = "nope".parse::<ApiKeyId>().unwrap_err();
        assert!(err.0.contains("API key id"), "{err}");
    }
}
