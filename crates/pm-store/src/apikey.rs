//! MCP API keys: `pmcp_` + 43 random base62 characters (256 bits) + a 6-character CRC-32
//! checksum. The checksum lets a typo or a truncated paste be refused without a database hit, and
//! the prefix makes a leaked key recognisable to secret scanners. Only SHA-256 of the whole key is
//! ever stored.
//!
//! Keys imported from the reference server (`pm-mcp import`) keep working as the same string:
//! `mcp_` + its body, or the body alone, as the reference accepted both. They have no checksum;
//! their hash is SHA-256 of `mcp_` + body, whichever spelling is presented.
use std::fmt;

use rand::Rng;
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

pub const KEY_PREFIX: &str = "pmcp_";
/// The reference server's key prefix.
pub const LEGACY_PREFIX: &str = "mcp_";
/// A reference key's body: 32 to 128 characters of letters, digits, `-` and `_` (it generated 64
/// lower-case hex characters).
const LEGACY_BODY: std::ops::RangeInclusive<usize> = 32..=128;
const BODY_LEN: usize = 43;
const CHECK_LEN: usize = 6;
const KEY_LEN: usize = KEY_PREFIX.len() + BODY_LEN + CHECK_LEN;
/// Characters of the body shown in listings after `pmcp_` (enough to tell keys apart).
const DISPLAY_LEN: usize = 8;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Why a presented string is not a well-formed key. Says nothing about whether a key exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MalformedKey {
    #[error(
        "an API key starts with \"pmcp_\" (or \"mcp_\", for a key imported from the reference server)"
    )]
    Prefix,
    #[error("an API key is {KEY_LEN} characters long")]
    Length,
    #[error("an API key contains only letters and digits after \"pmcp_\"")]
    Charset,
    #[error("the API key's checksum does not match (mistyped or truncated?)")]
    Checksum,
}

/// A well-formed API key. Never printed: `Debug` and `Display` show only the public prefix.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// A new random key.
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let mut body = String::with_capacity(KEY_LEN);
        body.push_str(KEY_PREFIX);
        for _ in 0..BODY_LEN {
            // Uniform over 62 symbols: `random_range` rejects the biased tail.
            body.push(BASE62[rng.random_range(0..BASE62.len())] as char);
        }
        let check = checksum(&body[KEY_PREFIX.len()..]);
        body.push_str(&check);
        Self(body)
    }

    /// Checks a presented key's shape and checksum (no I/O). A reference server's key is taken
    /// in either spelling and held as `mcp_` + body.
    pub fn parse(raw: &str) -> Result<Self, MalformedKey> {
        let raw = raw.trim();
        let Some(rest) = raw.strip_prefix(KEY_PREFIX) else {
            return Self::parse_legacy(raw).ok_or(MalformedKey::Prefix);
        };
        if raw.len() != KEY_LEN {
            return Err(MalformedKey::Length);
        }
        if !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(MalformedKey::Charset);
        }
        let (body, check) = rest.split_at(BODY_LEN);
        if checksum(body) != check {
            return Err(MalformedKey::Checksum);
        }
        Ok(Self(raw.to_string()))
    }

    /// A reference server key (`mcp_…` or its bare body), if `raw` has that shape.
    pub fn parse_legacy(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let body = raw.strip_prefix(LEGACY_PREFIX).unwrap_or(raw);
        let shaped = LEGACY_BODY.contains(&body.len())
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        shaped.then(|| Self(format!("{LEGACY_PREFIX}{body}")))
    }

    /// Whether this is a reference server key.
    pub fn is_legacy(&self) -> bool {
        !self.0.starts_with(KEY_PREFIX)
    }

    /// The whole key; call only to show it once to its owner, or to send it as a client.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the whole key: what the database stores and looks keys up by.
    pub fn hash(&self) -> KeyHash {
        KeyHash(Sha256::digest(self.0.as_bytes()).into())
    }

    /// The public part shown in listings, e.g. `pmcp_3fA9xQ2b` (`mcp_3fa9c2b1` for an imported
    /// key).
    pub fn display_prefix(&self) -> String {
        let prefix = if self.is_legacy() {
            LEGACY_PREFIX
        } else {
            KEY_PREFIX
        };
        self.0.chars().take(prefix.len() + DISPLAY_LEN).collect()
    }
}

impl Drop for ApiKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}…)", self.display_prefix())
    }
}

/// SHA-256 of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash(pub [u8; 32]);

impl KeyHash {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

fn checksum(body: &str) -> String {
    let mut n = crc32fast::hash(body.as_bytes()) as u64;
    let mut out = [b'0'; CHECK_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    // 62^6 > 2^32, so every CRC fits and `out` is plain ASCII.
    out.iter().map(|b| *b as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_are_unique() {
        let a = ApiKey::generate();
        let b = ApiKey::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), KEY_LEN);
        assert!(a.expose().starts_with("pmcp_"));
        assert_eq!(ApiKey::parse(a.expose()), Ok(a.clone()));
        assert_eq!(ApiKey::parse(&format!("  {}\n", a.expose())), Ok(a.clone()));
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn typos_and_truncation_are_refused_without_lookup() {
        let key = ApiKey::generate();
        let s = key.expose();
        assert_eq!(ApiKey::parse("sk-abc"), Err(MalformedKey::Prefix));
        assert_eq!(ApiKey::parse(&s[..s.len() - 1]), Err(MalformedKey::Length));
        let mut chars: Vec<char> = s.chars().collect();
        chars[10] = if chars[10] == 'a' { 'b' } else { 'a' };
        let typo: String = chars.iter().collect();
        assert_eq!(ApiKey::parse(&typo), Err(MalformedKey::Checksum));
        let mut bad = s.to_string();
        bad.replace_range(7..8, "-");
        assert_eq!(ApiKey::parse(&bad), Err(MalformedKey::Charset));
    }

    #[test]
    fn reference_keys_are_one_key_in_either_spelling() {
        let body = "0123456789abcdef".repeat(4);
        let prefixed = ApiKey::parse(&format!("mcp_{body}")).expect("prefixed");
        let bare = ApiKey::parse(&body).expect("bare");
        assert!(prefixed.is_legacy() && bare.is_legacy());
        assert_eq!(prefixed, bare);
        assert_eq!(prefixed.hash(), bare.hash());
        assert_eq!(prefixed.display_prefix(), "mcp_01234567");
        assert!(!ApiKey::generate().is_legacy());
        // Too short, or characters no reference key had: malformed, no lookup.
        assert_eq!(ApiKey::parse("mcp_abc"), Err(MalformedKey::Prefix));
        assert_eq!(
            ApiKey::parse(&format!("mcp_{}", "a b".repeat(20))),
            Err(MalformedKey::Prefix)
        );
        // A new key's typo is still caught by its checksum, never taken as a reference key.
        let key = ApiKey::generate();
        let mut typo: Vec<char> = key.expose().chars().collect();
        typo[10] = if typo[10] == 'a' { 'b' } else { 'a' };
        let typo: String = typo.into_iter().collect();
        assert_eq!(ApiKey::parse(&typo), Err(MalformedKey::Checksum));
    }

    #[test]
    fn debug_shows_only_the_prefix() {
        let key = ApiKey::generate();
        let shown = format!("{key:?}");
        assert!(shown.contains(&key.display_prefix()));
        assert!(!shown.contains(&key.expose()[20..]));
    }
}
