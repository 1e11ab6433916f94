//! Filtered paging over a tracker list that cannot filter itself: reads the tracker's pages in
//! order, keeps the items that match, and hands out a cursor that says where the next page
//! starts (the tracker's page and how many of its items were already looked at).
use std::future::Future;

use pm_core::Page;

use super::ToolError;

const SCAN: &str = "s:";

/// The tracker page size a scan reads with; fixed, so a tracker cursor names the same items
/// when the scan comes back to it.
pub(crate) const SCAN_PAGE: u32 = 100;

/// At most this many tracker pages per call; a page of matches may then be short, with a cursor
/// to go on.
pub(crate) const SCAN_MAX_PAGES: usize = 20;

fn encode(skip: usize, inner: Option<&str>) -> String {
    format!("{SCAN}{skip}:{}", inner.unwrap_or(""))
}

fn decode(cursor: Option<&str>) -> Result<(usize, Option<String>), ToolError> {
    let Some(c) = cursor.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok((0, None));
    };
    let bad = || {
        ToolError::new(
            "the cursor is not one this list handed out; start again without a cursor".into(),
        )
    };
    let rest = c.strip_prefix(SCAN).ok_or_else(bad)?;
    let (skip, inner) = rest.split_once(':').ok_or_else(bad)?;
    let skip = skip.parse::<usize>().map_err(|_| bad())?;
    Ok((skip, Some(inner.to_string()).filter(|s| !s.is_empty())))
}

/// Up to `limit` items that `keep` accepts, from the position `cursor` names; `fetch` reads one
/// tracker page (of [`SCAN_PAGE`] items) at a tracker cursor.
pub(crate) async fn scan<T, E, F, Fut>(
    cursor: Option<&str>,
    limit: u32,
    mut fetch: F,
    keep: impl Fn(&T) -> bool,
) -> Result<Page<T>, ToolError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, E>>,
    E: Into<ToolError>,
{
    let limit = limit.max(1) as usize;
    let (mut skip, mut inner) = decode(cursor)?;
    let mut items = Vec::new();
    for _ in 0..SCAN_MAX_PAGES {
        let page = fetch(inner.clone()).await.map_err(Into::into)?;
        let len = page.items.len();
        for (i, item) in page.items.into_iter().enumerate().skip(skip) {
            if !keep(&item) {
                continue;
            }
            items.push(item);
            if items.len() == limit {
                let next = if i + 1 < len {
                    Some(encode(i + 1, inner.as_deref()))
                } else {
                    page.next.as_deref().map(|n| encode(0, Some(n)))
                };
                return Ok(Page { items, next });
            }
        }
        match page.next {
            Some(n) if len > 0 => {
                inner = Some(n);
                skip = 0;
            }
            _ => return Ok(Page { items, next: None }),
        }
    }
    let next = Some(encode(0, inner.as_deref()));
    Ok(Page { items, next })
}

/// Whether `text` holds `needle` (already lower-case), ignoring case.
pub(crate) fn holds(text: Option<&str>, needle: &str) -> bool {
    text.is_some_and(|t| t.to_lowercase().contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tracker list of `n` numbers, paged by offset cursors of `size`.
    fn pages(
        n: u32,
        size: usize,
    ) -> impl FnMut(Option<String>) -> std::future::Ready<Result<Page<u32>, ToolError>> {
        move |c| {
            let start: usize = c.as_deref().map_or(0, |s| s.parse().unwrap_or(0));
            let all: Vec<u32> = (0..n).collect();
            let items: Vec<u32> = all.iter().skip(start).take(size).copied().collect();
            let end = start + items.len();
            let next = (end < n as usize).then(|| end.to_string());
            std::future::ready(Ok(Page { items, next }))
        }
    }

    async fn all_pages(n: u32, size: usize, limit: u32, keep: fn(&u32) -> bool) -> Vec<Vec<u32>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = scan(cursor.as_deref(), limit, pages(n, size), keep)
                .await
                .expect("page");
            out.push(page.items);
            match page.next {
                Some(c) => cursor = Some(c),
                None => return out,
            }
        }
    }

    #[tokio::test]
    async fn pages_of_matches_cover_every_match_once_in_order() {
        let got = all_pages(25, 10, 3, |x| x % 4 == 1).await;
        assert_eq!(got, vec![vec![1, 5, 9], vec![13, 17, 21], vec![]]);
        // A match ending a tracker page continues on the next tracker page.
        let got = all_pages(25, 10, 1, |x| *x == 9 || *x == 10).await;
        assert_eq!(got.concat(), vec![9, 10]);
        let got = all_pages(7, 10, 50, |_| true).await;
        assert_eq!(got, vec![(0..7).collect::<Vec<_>>()]);
    }

    #[tokio::test]
    async fn a_long_scan_stops_with_a_cursor_to_go_on() {
        let n = (SCAN_MAX_PAGES * 2) as u32;
        let page = scan(None, 5, pages(n, 1), |x| *x == n - 1)
            .await
            .expect("page");
        assert!(page.items.is_empty());
        let next = page.next.expect("more");
        let page = scan(Some(&next), 5, pages(n, 1), |x| *x == n - 1)
            .await
            .expect("page");
        assert_eq!(page.items, vec![n - 1]);
        assert!(page.next.is_none());
    }

    #[tokio::test]
    async fn a_foreign_cursor_is_refused() {
        let e = scan(Some("o:5"), 5, pages(3, 1), |_| true)
            .await
            .expect_err("bad");
        assert!(e.0.contains("cursor"), "{}", e.0);
    }

    #[test]
    fn holds_ignores_case() {
        assert!(holds(Some("The Mobile App"), "mobile"));
        assert!(!holds(None, "mobile"));
    }
}
