//! The tables, from the JSON lines the measuring commands appended: the upstream's own speed, the
//! matrix with pm-mcp / peer ratios from the same run, the scale figures and `tools/list` sizes.
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

fn f(v: &Value, k: &str) -> Option<f64> {
    v.get(k).and_then(Value::as_f64)
}

fn ms(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_nan() => "—".into(),
        Some(x) if x >= 1000.0 => format!("{:.2} s", x / 1000.0),
        Some(x) if x >= 10.0 => format!("{x:.1} ms"),
        Some(x) => format!("{x:.2} ms"),
        None => "—".into(),
    }
}

fn rate(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

fn mib(v: Option<f64>) -> String {
    v.map_or("—".into(), |k| format!("{:.1}", k / 1024.0))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 && a.is_finite() && b.is_finite() => {
            let r = a / b;
            if r >= 10.0 {
                format!("{r:.0}×")
            } else if r >= 0.1 {
                format!("{r:.2}×")
            } else {
                format!("{r:.3}×")
            }
        }
        _ => "—".into(),
    }
}

const ORDER: [&str; 3] = ["tools_list", "get_task", "list_tasks"];

fn workload_title(w: &str) -> &str {
    match w {
        "tools_list" => "`tools/list`",
        "get_task" => "get one task",
        "list_tasks" => "list 50 tasks",
        other => other,
    }
}

pub fn print(file: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let rows: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .context("a results line is not JSON")?;
    let of = |kind: &'static str| rows.iter().filter(move |r| r["kind"] == kind);

    if of("upstream").next().is_some() {
        println!("Upstream on its own (the same load generator, plain HTTP/1.1 keep-alive):\n");
        println!("| request | clients | requests/s | p50 | p99 | errors |");
        println!("|---|---:|---:|---:|---:|---:|");
        for r in of("upstream") {
            let o = &r["outcome"];
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                r["label"].as_str().unwrap_or(""),
                r["clients"],
                rate(f(o, "calls_per_s").unwrap_or(0.0)),
                ms(f(o, "p50_ms")),
                ms(f(o, "p99_ms")),
                o["errors"]
            );
        }
        println!();
    }

    if of("sse").next().is_some() {
        println!(
            "Legacy SSE, a new connection per call (the reference's agent backend): `open` = GET /sse until the `endpoint` event (connections/s, time to the event); `call` = open, initialize, one tools/call (list_providers), close:\n"
        );
        println!("| server | mode | clients | per s | p50 | p99 | errors | server CPU |");
        println!("|---|---|---:|---:|---:|---:|---:|---:|");
        for r in of("sse") {
            let o = &r["outcome"];
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                r["label"].as_str().unwrap_or(""),
                r["mode"].as_str().unwrap_or(""),
                r["clients"],
                rate(f(o, "calls_per_s").unwrap_or(0.0)),
                ms(f(o, "p50_ms")),
                ms(f(o, "p99_ms")),
                o["errors"],
                f(o, "cpu_pct")
                    .map(|c| format!("{c:.0}%"))
                    .unwrap_or_default()
            );
        }
        println!();
    }

    let mcp: Vec<&Value> = of("mcp").collect();
    if !mcp.is_empty() {
        println!(
            "MCP servers, closed loop (calls/s of answered calls; p50/p99 of successful calls; server CPU in % of one core, and per call; RSS of the server's process tree):\n"
        );
        println!(
            "| workload | clients | server | calls/s | p50 | p99 | errors | server CPU | CPU per call | RSS idle → peak (MiB) | upstream req/call | pm-mcp / peer: calls/s · p50 · p99 |"
        );
        println!("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        let mut clients: Vec<u64> = mcp.iter().filter_map(|r| r["clients"].as_u64()).collect();
        clients.sort_unstable();
        clients.dedup();
        for w in ORDER {
            for c in &clients {
                let group: Vec<&&Value> = mcp
                    .iter()
                    .filter(|r| r["workload"] == w && r["clients"].as_u64() == Some(*c))
                    .collect();
                let peer = group
                    .iter()
                    .find(|r| r["server"] == "peer")
                    .map(|r| &r["outcome"]);
                for r in &group {
                    let o = &r["outcome"];
                    let calls = f(o, "calls").unwrap_or(0.0);
                    let per_call = match (f(o, "upstream_requests"), calls > 0.0) {
                        (Some(u), true) => format!("{:.2}", u / calls),
                        _ => "—".into(),
                    };
                    let errors = match o["error_kinds"].as_object() {
                        Some(k) if !k.is_empty() => format!(
                            "{} ({})",
                            o["errors"],
                            k.iter()
                                .map(|(k, v)| format!("{k}: {v}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        _ => "0".into(),
                    };
                    let vs = match (r["server"].as_str(), peer) {
                        (Some("pm"), Some(p)) => format!(
                            "{} · {} · {}",
                            ratio(f(o, "calls_per_s"), f(p, "calls_per_s")),
                            ratio(f(o, "p50_ms"), f(p, "p50_ms")),
                            ratio(f(o, "p99_ms"), f(p, "p99_ms"))
                        ),
                        _ => "—".into(),
                    };
                    let cpu_per_call = match (f(o, "cpu_pct"), f(o, "calls_per_s")) {
                        (Some(c), Some(r)) if r > 0.0 => ms(Some(c / 100.0 / r * 1000.0)),
                        _ => "—".into(),
                    };
                    println!(
                        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} → {} | {} | {} |",
                        workload_title(w),
                        c,
                        r["label"].as_str().unwrap_or(""),
                        rate(f(o, "calls_per_s").unwrap_or(0.0)),
                        ms(f(o, "p50_ms")),
                        ms(f(o, "p99_ms")),
                        errors,
                        f(o, "cpu_pct").map_or("—".into(), |c| format!("{c:.0} %")),
                        cpu_per_call,
                        mib(f(o, "rss_idle_kib")),
                        mib(f(o, "rss_peak_kib")),
                        per_call,
                        vs
                    );
                }
            }
        }
        println!();
    }

    if of("rss").next().is_some() {
        println!("Memory at rest (RSS of the server's process tree):\n");
        println!(
            "| server, moment | RSS (MiB) | of which anonymous: heap, stacks (MiB) | of which file-backed: the binary's pages (MiB) |"
        );
        println!("|---|---:|---:|---:|");
        for r in of("rss") {
            println!(
                "| {} | {} | {} | {} |",
                r["label"].as_str().unwrap_or(""),
                mib(f(r, "kib")),
                mib(f(r, "anon_kib")),
                mib(f(r, "file_kib"))
            );
        }
        println!();
    }

    if of("scale").next().is_some() {
        println!("Scale:\n");
        println!("| case | RSS before (MiB) | RSS after (MiB) | per item | took |");
        println!("|---|---:|---:|---:|---:|");
        for r in of("scale") {
            let (b, a, n) = (
                f(r, "rss_before_kib").unwrap_or(0.0),
                f(r, "rss_after_kib").unwrap_or(0.0),
                f(r, "n").unwrap_or(1.0).max(1.0),
            );
            println!(
                "| {} | {:.1} | {:.1} | {:.2} KiB | {:.1} s |",
                r["label"].as_str().unwrap_or(""),
                b / 1024.0,
                a / 1024.0,
                (a - b) / n,
                f(r, "seconds").unwrap_or(0.0)
            );
        }
        println!();
    }

    if of("tools_bytes").next().is_some() {
        println!("`tools/list` answer (the JSON-RPC message):\n");
        println!("| server and tool set | tools | bytes | KB |");
        println!("|---|---:|---:|---:|");
        for r in of("tools_bytes") {
            let b = f(r, "bytes").unwrap_or(0.0);
            println!(
                "| {} | {} | {} | {:.1} |",
                r["label"].as_str().unwrap_or(""),
                r["tools"],
                b,
                b / 1000.0
            );
        }
        println!();
    }
    Ok(())
}

/// The rows that went wrong, as sentences (empty: the run worked).
pub fn problems(rows: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for r in rows {
        let label = r["label"].as_str().unwrap_or("?");
        match r["kind"].as_str() {
            Some("mcp") => {
                let o = &r["outcome"];
                let what = format!(
                    "{label}, {} at {} clients",
                    r["workload"].as_str().unwrap_or("?"),
                    r["clients"]
                );
                if o["errors"].as_u64().unwrap_or(1) > 0 {
                    out.push(format!(
                        "{what}: {} errors {}",
                        o["errors"], o["error_kinds"]
                    ));
                }
                if o["calls"].as_u64().unwrap_or(0) == 0 {
                    out.push(format!("{what}: no call was answered"));
                }
            }
            Some("sse") => {
                let o = &r["outcome"];
                let what = format!(
                    "{label}, sse {} at {} clients",
                    r["mode"].as_str().unwrap_or("?"),
                    r["clients"]
                );
                if o["errors"].as_u64().unwrap_or(1) > 0 {
                    out.push(format!(
                        "{what}: {} errors {}",
                        o["errors"], o["error_kinds"]
                    ));
                }
                if o["calls"].as_u64().unwrap_or(0) == 0 {
                    out.push(format!("{what}: no connection was opened"));
                }
            }
            Some("tools_bytes") if r["tools"].as_u64().unwrap_or(0) == 0 => {
                out.push(format!("{label}: tools/list listed no tool"));
            }
            _ => {}
        }
    }
    if !rows.iter().any(|r| r["kind"] == "mcp") {
        out.push("no MCP row was measured".into());
    }
    out
}

pub fn check(file: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let rows: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .context("a results line is not JSON")?;
    let problems = problems(&rows);
    if problems.is_empty() {
        eprintln!("pm-bench check: {} rows, none went wrong", rows.len());
        return Ok(());
    }
    anyhow::bail!("the run went wrong:\n  {}", problems.join("\n  "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn check_finds_errors_silence_and_empty_lists() {
        let good = json!({"kind":"mcp","label":"pm-mcp sqlite","workload":"get-task","clients":8,
            "outcome":{"calls":100,"errors":0,"error_kinds":{}}});
        assert!(problems(std::slice::from_ref(&good)).is_empty());
        let errors = json!({"kind":"mcp","label":"pm-mcp sqlite","workload":"get-task","clients":8,
            "outcome":{"calls":100,"errors":3,"error_kinds":{"http 500":3}}});
        let silent = json!({"kind":"mcp","label":"peer","workload":"tools-list","clients":1,
            "outcome":{"calls":0,"errors":0,"error_kinds":{}}});
        let empty = json!({"kind":"tools_bytes","label":"pm-mcp","bytes":40,"tools":0});
        let found = problems(&[good, errors, silent, empty]);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found[0].contains("3 errors") && found[0].contains("http 500"),
            "{found:?}"
        );
        assert!(found[1].contains("no call was answered"), "{found:?}");
        assert!(found[2].contains("listed no tool"), "{found:?}");
        assert_eq!(problems(&[]), vec!["no MCP row was measured".to_string()]);
    }
}
