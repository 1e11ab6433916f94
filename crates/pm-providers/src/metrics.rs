//! Process-wide counts of upstream requests by provider and answer, for the server's `/metrics`.
//! Kept here (not in the server) so providers depend on nothing above them; the server reads
//! [`upstream_counts`] when it is scraped.
use std::collections::BTreeMap;
use std::sync::Mutex;

/// What an upstream exchange ended with: an HTTP status, or no answer at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UpstreamStatus {
    /// The tracker answered with this HTTP status.
    Http(u16),
    /// No answer: a timeout, a broken connection, or an address the SSRF guard refused.
    Failed,
}

impl std::fmt::Display for UpstreamStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamStatus::Http(code) => write!(f, "{code}"),
            UpstreamStatus::Failed => f.write_str("error"),
        }
    }
}

/// Counts by (provider name as the clients call it, e.g. `Jira`; status). An upstream request
/// costs milliseconds, so one uncontended lock per request is nothing next to it.
static UPSTREAM: Mutex<BTreeMap<(&'static str, UpstreamStatus), u64>> = Mutex::new(BTreeMap::new());

/// Counts one attempt (retries count once each).
pub fn count_upstream(provider: &'static str, status: UpstreamStatus) {
    if let Ok(mut m) = UPSTREAM.lock() {
        *m.entry((provider, status)).or_insert(0) += 1;
    }
}

/// Every count so far, ordered by provider then status.
pub fn upstream_counts() -> Vec<(&'static str, UpstreamStatus, u64)> {
    UPSTREAM
        .lock()
        .map(|m| m.iter().map(|((p, s), n)| (*p, *s, *n)).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_accumulate_by_provider_and_status() {
        let before = |p, s| {
            upstream_counts()
                .into_iter()
                .find(|(q, t, _)| *q == p && *t == s)
                .map_or(0, |(_, _, n)| n)
        };
        let ok = before("MetricsTest", UpstreamStatus::Http(200));
        let failed = before("MetricsTest", UpstreamStatus::Failed);
        count_upstream("MetricsTest", UpstreamStatus::Http(200));
        count_upstream("MetricsTest", UpstreamStatus::Http(200));
        count_upstream("MetricsTest", UpstreamStatus::Failed);
        assert_eq!(before("MetricsTest", UpstreamStatus::Http(200)), ok + 2);
        assert_eq!(before("MetricsTest", UpstreamStatus::Failed), failed + 1);
        assert_eq!(UpstreamStatus::Failed.to_string(), "error");
        assert_eq!(UpstreamStatus::Http(503).to_string(), "503");
    }
}
