//! Opaque list cursors. Callers pass back what they were given; the format is ours to change.
use pm_core::{ProviderError, ProviderResult};

const OFFSET: &str = "o:";
const TOKEN: &str = "t:";

/// A tracker's own page token, wrapped.
pub fn encode_token(token: &str) -> String {
    format!("{TOKEN}{token}")
}

/// The tracker's page token in a cursor (`None` without one).
pub fn decode_token(cursor: Option<&str>) -> ProviderResult<Option<String>> {
    match cursor.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => c
            .strip_prefix(TOKEN)
            .filter(|t| !t.is_empty() && t.len() <= 4096)
            .map(|t| Some(t.to_string()))
            .ok_or_else(|| {
                ProviderError::BadInput(
                    "the cursor is not one this list handed out; start again without a cursor"
                        .into(),
                )
            }),
    }
}

pub fn encode_offset(n: u64) -> String {
    format!("{OFFSET}{n}")
}

/// The offset in a cursor (0 without one).
pub fn decode_offset(cursor: Option<&str>) -> ProviderResult<u64> {
    match cursor.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(0),
        Some(c) => c
            .strip_prefix(OFFSET)
            .and_then(|n| n.parse::<u64>().ok())
            .filter(|n| *n <= 1_000_000)
            .ok_or_else(|| {
                ProviderError::BadInput(
                    "the cursor is not one this list handed out; start again without a cursor"
                        .into(),
                )
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_trip_and_garbage_is_refused() {
        assert_eq!(decode_offset(None).unwrap(), 0);
        assert_eq!(decode_offset(Some(&encode_offset(150))).unwrap(), 150);
        assert!(decode_offset(Some("150")).is_err());
        assert!(decode_offset(Some("o:-1")).is_err());
        assert!(decode_offset(Some("o:99999999999")).is_err());
        assert_eq!(
            decode_token(Some(&encode_token("abc==")))
                .unwrap()
                .as_deref(),
            Some("abc==")
        );
        assert_eq!(decode_token(None).unwrap(), None);
        assert!(decode_token(Some("o:5")).is_err());
    }
}
