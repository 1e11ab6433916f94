//! What a server process costs, read from `/proc`: CPU time (user + system) and resident memory of
//! the process and every process below it (a server that forks workers is measured whole).
use std::path::Path;

use anyhow::{Context, Result};

/// The process and its descendants, found through `/proc/*/stat`'s parent ids.
pub fn tree(root: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(stat) = read_stat(pid) {
                parents.push((pid, stat.ppid));
            }
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        out.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == p)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    out
}

struct Stat {
    ppid: u32,
    /// utime + stime, in clock ticks.
    ticks: u64,
}

fn read_stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): ppid is field 4, utime 14, stime 15.
    Some(Stat {
        ppid: f.get(1)?.parse().ok()?,
        ticks: f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?,
    })
}

/// CPU seconds (user + system) used so far by the process tree.
pub fn cpu_seconds(root: u32, clk_tck: u64) -> f64 {
    let ticks: u64 = tree(root)
        .into_iter()
        .filter_map(read_stat)
        .map(|s| s.ticks)
        .sum();
    ticks as f64 / clk_tck.max(1) as f64
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resident memory of the process tree now, in KiB.
pub fn rss_kib(root: u32) -> u64 {
    tree(root)
        .into_iter()
        .filter_map(|p| status_kib(p, "VmRSS:"))
        .sum()
}

/// Of the resident memory now: anonymous (heap, stacks) and file-backed (the binary's code and
/// data pages, shared libraries), in KiB, summed over the process tree.
pub fn rss_split_kib(root: u32) -> (u64, u64) {
    tree(root).into_iter().fold((0, 0), |(anon, file), p| {
        (
            anon + status_kib(p, "RssAnon:").unwrap_or(0),
            file + status_kib(p, "RssFile:").unwrap_or(0),
        )
    })
}

/// The kernel's clock tick (`getconf CLK_TCK`), from `BENCH_CLK_TCK` or the usual 100.
pub fn clk_tck() -> u64 {
    std::env::var("BENCH_CLK_TCK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}

pub fn check_pid(pid: u32) -> Result<()> {
    Path::new(&format!("/proc/{pid}/stat"))
        .exists()
        .then_some(())
        .with_context(|| format!("no process {pid}"))
}
