//! Measures chart rendering: renders each chart N times (default 20) from realistic sample
//! data and prints the mean render time and the PNG size. With `--out DIR` it also writes each
//! PNG there to look at. A measurement, not a test: nothing is asserted.
//!
//! `cargo run --release -p pm-charts --example render_bench -- [N] [--out DIR]`
use std::time::Instant;

#[path = "../tests/sample/mod.rs"]
mod sample;

type Render = Box<dyn Fn() -> Result<Vec<u8>, pm_charts::ChartError>>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut n: u32 = 20;
    let mut out: Option<std::path::PathBuf> = None;
    while let Some(a) = args.next() {
        if a == "--out" {
            out = args.next().map(Into::into);
        } else {
            n = a.parse()?;
        }
    }
    let b = sample::burndown_sample();
    let v = sample::velocity_sample();
    let c = sample::cfd_sample();
    let ct = sample::cycle_sample();
    let d = sample::distribution_sample();
    let t = sample::trend_sample();
    let cap = sample::capacity_sample();
    let cap1 = sample::capacity_one_week_sample();
    let charts: Vec<(&str, Render)> = vec![
        ("burndown", Box::new(move || pm_charts::burndown_png(&b))),
        ("velocity", Box::new(move || pm_charts::velocity_png(&v))),
        ("cfd", Box::new(move || pm_charts::cfd_png(&c))),
        (
            "cycle_time",
            Box::new(move || pm_charts::cycle_time_png(&ct)),
        ),
        (
            "distribution",
            Box::new(move || pm_charts::distribution_png(&d)),
        ),
        (
            "issue_trend",
            Box::new(move || pm_charts::issue_trend_png(&t)),
        ),
        ("capacity", Box::new(move || pm_charts::capacity_png(&cap))),
        (
            "capacity_1w",
            Box::new(move || pm_charts::capacity_png(&cap1)),
        ),
    ];
    // The first render registers the font; time it on its own.
    let first = Instant::now();
    let _ = (charts[0].1)()?;
    println!(
        "first render (font registration included): {:.2} ms",
        first.elapsed().as_secs_f64() * 1e3
    );
    println!("{:<14} {:>10} {:>10}", "chart", "mean ms", "PNG bytes");
    for (name, f) in &charts {
        let mut bytes = Vec::new();
        let start = Instant::now();
        for _ in 0..n {
            bytes = f()?;
        }
        let mean = start.elapsed().as_secs_f64() * 1e3 / f64::from(n.max(1));
        println!("{name:<14} {mean:>10.2} {:>10}", bytes.len());
        if let Some(dir) = &out {
            std::fs::create_dir_all(dir)?;
            std::fs::write(dir.join(format!("{name}.png")), &bytes)?;
        }
    }
    Ok(())
}
