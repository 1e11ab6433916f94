//! Ids from callers, checked before they go into a request path, and the one wording of "not
//! found" every tracker client uses.
use pm_core::{ProviderError, ProviderResult};

/// A numeric id (`42`, or `#42` as trackers print them), at least 1.
pub fn number(provider: &str, id: &str, what: &str) -> ProviderResult<u64> {
    id.trim()
        .trim_start_matches('#')
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            ProviderError::BadInput(format!("{id:?} is not a {provider} {what} id (a number)"))
        })
}

/// An id or identifier made of letters, digits, `-` and `_` (at most `max` of them), safe as one
/// path segment.
pub fn slug(provider: &str, id: &str, what: &str, max: usize) -> ProviderResult<String> {
    let id = id.trim();
    if id.is_empty()
        || id.len() > max
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ProviderError::BadInput(format!(
            "{id:?} is not a {provider} {what}"
        )));
    }
    Ok(id.to_string())
}

/// A 404 as "<what> was not found" (the tracker's own 404 text names nothing useful).
pub fn not_found(e: ProviderError, what: String) -> ProviderError {
    match e {
        ProviderError::NotFound { .. } => ProviderError::NotFound { what },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_before_they_reach_a_path() {
        assert_eq!(number("Redmine", "#42", "issue").unwrap(), 42);
        for bad in ["0", "-1", "4 2", "42/../users", "", "x"] {
            assert!(number("Redmine", bad, "issue").is_err(), "{bad}");
        }
        assert_eq!(
            number("Redmine", "x", "issue").unwrap_err().to_string(),
            "\"x\" is not a Redmine issue id (a number)"
        );
        assert!(slug("OpenProject", "demo-project", "project", 100).is_ok());
        for bad in ["../admin", "a?b", "a/b", "", "a b"] {
            assert!(slug("OpenProject", bad, "project", 100).is_err(), "{bad}");
        }
        assert!(slug("OpenProject", &"a".repeat(101), "project", 100).is_err());
        let e = not_found(
            ProviderError::NotFound {
                what: "Not Found".into(),
            },
            "Redmine issue #7".into(),
        );
        assert_eq!(e.to_string(), "Redmine issue #7 was not found");
    }
}
