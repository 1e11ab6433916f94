//! Validated free-text values: e-mail addresses (the users' login names).
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::InvalidInput;

/// An e-mail address, trimmed and lower-cased so `Ann@X.org` and `ann@x.org` are one user.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let value = raw.trim().to_lowercase();
        let bad = || {
            InvalidInput::new(format!(
                "{raw:?} is not an e-mail address (expected name@domain)"
            ))
        };
        // No spaces, control characters or bidirectional overrides: an address is also a
        // user's default display name, printed in terminals and shown to models.
        let unprintable = |c: char| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        };
        if value.len() > 254 || value.chars().any(unprintable) {
            return Err(bad());
        }
        let (local, domain) = value.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.is_empty()
            || domain.contains('@')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return Err(bad());
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Email {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Email {
    type Error = InvalidInput;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_rejects() {
        assert_eq!(
            Email::parse("  Ann@Example.ORG ").unwrap().as_str(),
            "ann@example.org"
        );
        for bad in [
            "",
            "ann",
            "@x.org",
            "ann@",
            "a b@x.org",
            "a@b@c",
            "ann@.org",
            "ann@org.",
            // Bidirectional overrides and marks (they would reach the default display name).
            "a\u{202e}b@acme.test",
            "\"\u{202e}evil\"@acme.test",
            "ann@ac\u{2067}me.test",
            "a\u{200f}nn@acme.test",
            "a\u{1b}[31mnn@acme.test",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
