//! Opaque list cursors. Callers pass back what they were given; the format is ours to change.
use pm_core::{Page, PageRequest, ProviderError, ProviderResult};

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

/// One page of a list the tracker returns whole (pm-mcp pages it with offset cursors).
pub fn slice<T>(all: Vec<T>, page: &PageRequest) -> ProviderResult<Page<T>> {
    let start = decode_offset(page.cursor.as_deref())?;
    let total = all.len() as u64;
    let items: Vec<T> = all
        .into_iter()
        .skip(start as usize)
        .take(page.limit as usize)
        .collect();
    let end = start + items.len() as u64;
    Ok(Page {
        next: (!items.is_empty() && end < total).then(|| encode_offset(end)),
        items,
    })
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

    #[test]
    fn whole_lists_are_paged_by_offset() {
        let all: Vec<u32> = (0..7).collect();
        let p1 = slice(all.clone(), &PageRequest::new(None, Some(3))).unwrap();
        assert_eq!(p1.items, [0, 1, 2]);
        let p3 = slice(
            all.clone(),
            &PageRequest::new(Some(encode_offset(6)), Some(3)),
        )
        .unwrap();
        assert_eq!((p3.items, p3.next), (vec![6], None));
        assert!(slice(all, &PageRequest::new(Some("t:x".into()), Some(3))).is_err());
    }
}
