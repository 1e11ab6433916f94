//! The closed loop: N clients, each sending its next call as soon as the previous one is answered,
//! for a warm-up and then a measured window. Only calls answered inside the window count; a call
//! still in flight when the window closes is cut and not counted. While the window is open the
//! server's CPU time, its resident memory (sampled every 50 ms) and the upstream's request
//! counter are read at both ends.
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;
use tokio::time::{Instant, sleep_until, timeout_at};

use crate::procstat;

/// One client of the loop.
pub trait Worker: Send + 'static {
    /// One call; `Err` names the kind of failure.
    fn call(&mut self) -> impl Future<Output = std::result::Result<(), String>> + Send;
}

#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub warmup: Duration,
    pub measure: Duration,
}

/// What the server under test and its upstream did during the window.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ServerCost {
    /// CPU used by the server's process tree, in % of one core.
    pub cpu_pct: Option<f64>,
    pub rss_idle_kib: Option<u64>,
    pub rss_peak_kib: Option<u64>,
    /// Requests the upstream answered during the window.
    pub upstream_requests: Option<u64>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Outcome {
    pub calls: u64,
    pub errors: u64,
    pub error_kinds: BTreeMap<String, u64>,
    pub seconds: f64,
    pub calls_per_s: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    #[serde(flatten)]
    pub cost: ServerCost,
}

struct Tally {
    ok_us: Vec<u32>,
    errors: BTreeMap<String, u64>,
}

/// What to watch while the window is open.
pub struct Watch {
    pub pid: Option<u32>,
    /// An nginx `stub_status` URL whose request counter is read at both ends of the window.
    pub upstream_status: Option<String>,
}

pub async fn run<W: Worker>(workers: Vec<W>, plan: Plan, watch: &Watch) -> Result<Outcome> {
    let clk = procstat::clk_tck();
    let rss_idle = watch.pid.map(procstat::rss_kib);
    let start = Instant::now() + plan.warmup;
    let end = start + plan.measure;
    let handles: Vec<_> = workers
        .into_iter()
        .map(|mut w| {
            tokio::spawn(async move {
                let mut t = Tally {
                    ok_us: Vec::new(),
                    errors: BTreeMap::new(),
                };
                loop {
                    let t0 = Instant::now();
                    if t0 >= end {
                        break;
                    }
                    let Ok(r) = timeout_at(end, w.call()).await else {
                        break;
                    };
                    let t1 = Instant::now();
                    if t1 < start {
                        continue;
                    }
                    match r {
                        Ok(()) => t
                            .ok_us
                            .push(u32::try_from((t1 - t0).as_micros()).unwrap_or(u32::MAX)),
                        Err(kind) => *t.errors.entry(kind).or_default() += 1,
                    }
                }
                t
            })
        })
        .collect();

    let status_client = reqwest::Client::new();
    sleep_until(start).await;
    let cpu0 = watch.pid.map(|p| procstat::cpu_seconds(p, clk));
    let up0 = match &watch.upstream_status {
        Some(u) => Some(upstream_count(&status_client, u).await?),
        None => None,
    };
    let mut peak = 0u64;
    while Instant::now() < end {
        if let Some(pid) = watch.pid {
            peak = peak.max(procstat::rss_kib(pid));
        }
        sleep_until((Instant::now() + Duration::from_millis(50)).min(end)).await;
    }
    let cpu1 = watch.pid.map(|p| procstat::cpu_seconds(p, clk));
    let up1 = match &watch.upstream_status {
        Some(u) => Some(upstream_count(&status_client, u).await?),
        None => None,
    };
    if let Some(pid) = watch.pid {
        peak = peak.max(procstat::rss_kib(pid));
    }

    let mut ok_us = Vec::new();
    let mut errors = BTreeMap::new();
    for h in handles {
        let t = h.await.context("a client task failed")?;
        ok_us.extend(t.ok_us);
        for (k, n) in t.errors {
            *errors.entry(k).or_insert(0) += n;
        }
    }
    ok_us.sort_unstable();
    let secs = plan.measure.as_secs_f64();
    let pct = |q: f64| percentile_ms(&ok_us, q);
    Ok(Outcome {
        calls: ok_us.len() as u64,
        errors: errors.values().sum(),
        error_kinds: errors,
        seconds: secs,
        calls_per_s: ok_us.len() as f64 / secs,
        p50_ms: pct(0.50),
        p90_ms: pct(0.90),
        p99_ms: pct(0.99),
        max_ms: pct(1.0),
        cost: ServerCost {
            cpu_pct: cpu0.zip(cpu1).map(|(a, b)| (b - a) / secs * 100.0),
            rss_idle_kib: rss_idle,
            rss_peak_kib: watch.pid.map(|_| peak),
            // The second reading counts itself.
            upstream_requests: up0.zip(up1).map(|(a, b)| b.saturating_sub(a + 1)),
        },
    })
}

/// Nearest-rank percentile of sorted microseconds, in milliseconds.
pub fn percentile_ms(sorted_us: &[u32], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len());
    f64::from(sorted_us[rank - 1]) / 1000.0
}

/// The `requests` counter of nginx's `stub_status` page.
pub async fn upstream_count(client: &reqwest::Client, url: &str) -> Result<u64> {
    let text = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("{url}: no answer"))?
        .text()
        .await?;
    // Active connections: 1 \n server accepts handled requests \n 5 5 17 \n Reading: …
    text.lines()
        .nth(2)
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("{url} is not an nginx stub_status page: {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile_ms(&v, 0.5), 50.0);
        assert_eq!(percentile_ms(&v, 0.99), 99.0);
        assert_eq!(percentile_ms(&v, 1.0), 100.0);
        assert_eq!(percentile_ms(&[7000], 0.99), 7.0);
        assert!(percentile_ms(&[], 0.5).is_nan());
    }
}
