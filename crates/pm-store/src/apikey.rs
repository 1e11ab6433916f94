//! MCP API keys: `pmcp_` + 43 random base62 characters (256 bits) + a 6-character CRC-32
//! checksum. The checksum lets a typo or a truncated paste be refused without a database hit, and
//! the prefix makes a leaked key recognisable to secret scanners. Only SHA-256 of the whole key is
//! ever stored.
use std::fmt;

use rand::Rng;
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

pub const KEY_PREFIX: &str = "pmcp_";
const BODY_LEN: usize = 43;
const CHECK_LEN: usize = 6;
const KEY_LEN: usize = KEY_PREFIX.len() + BODY_LEN + CHECK_LEN;
/// Characters of the body shown in listings after `pmcp_` (enough to tell keys apart).
const DISPLAY_LEN: usize = 8;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Why a presented string is not a well-formed key. Says nothing about whether a key exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MalformedKey {
    #[error("an API key starts with \"pmcp_\"")]
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

    /// Checks a presented key's shape and checksum (no I/O).
    pub fn parse(raw: &str) -> Result<Self, MalformedKey> {
        let raw = raw.trim();
        let rest = raw.strip_prefix(KEY_PREFIX).ok_or(MalformedKey::Prefix)?;
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

    /// The whole key; call only to show it once to its owner, or to send it as a client.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the whole key: what the database stores and looks keys up by.
    pub fn hash(&self) -> KeyHash {
        KeyHash(Sha256::digest(self.0.as_bytes()).into())
    }

    /// The public part shown in listings, e.g. `pmcp_3fA9xQ2b`.
    pub fn display_prefix(&self) -> String {
        self.0[..KEY_PREFIX.len() + DISPLAY_LEN].to_string()
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
    fn debug_shows_only_the_prefix() {
        let key = ApiKey::generate();
        let shown = format!("{key:?}");
        assert!(shown.contains(&key.display_prefix()));
        assert!(!shown.contains(&key.expose()[20..]));
    }
}
