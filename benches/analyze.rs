//! Benchmark (not a test): analyze a stored 1,000,000-comparison version (d = 8, 10 buckets,
//! pooled fit) with the release binary, and print wall time and peak memory next to the targets
//! (≤ 0.5 s, ≤ 200 MB on the 2-core reference machine).
//!
//! Run with `cargo bench --bench analyze`. The data are generated deterministically, streamed to a
//! temporary CSV and imported once; the analysis is then timed three times with `--recompute`.
//! With `ANALYZE_BENCH_BASELINE=/path/to/older/overlap`, that binary is timed on the same database
//! in alternation (it must read the same schema version), and the ratio is printed: the issue-14
//! target is the current binary within 10% of the one before it.

use std::io::{BufWriter, Write};
use std::process::Command;
use std::time::Instant;

const ROWS: usize = 1_000_000;
const D: usize = 8;
const BUCKETS: usize = 10;

/// SplitMix64: a tiny deterministic generator, enough for benchmark data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        // Box–Muller; the second variate is discarded for simplicity.
        let u = self.uniform().max(1e-300);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn peak_kb(stderr: &[u8]) -> Option<u64> {
    String::from_utf8_lossy(stderr)
        .lines()
        .find_map(|l| l.strip_prefix("peak memory: "))
        .and_then(|s| s.trim_end_matches(" kB").parse().ok())
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_overlap");
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("bench.csv");
    let db = dir.path().join("bench.db");
    {
        let mut f = BufWriter::new(std::fs::File::create(&csv).expect("create csv"));
        let mut header = vec!["id".to_string(), "bucket".into(), "label".into()];
        header.extend((0..D).map(|j| format!("delta.f{j}")));
        writeln!(f, "{}", header.join(",")).expect("write");
        let mut rng = Rng(42);
        let w = [0.8, -0.5, 0.3, 0.2, -0.1, 0.4, 0.0, 0.6];
        for t in 0..ROWS {
            let x: Vec<f64> = (0..D)
                .map(|_| (rng.normal() * 1000.0).round() / 1000.0)
                .collect();
            let margin: f64 = x.iter().zip(&w).map(|(a, b)| a * b).sum();
            let label = u8::from(rng.uniform() < 1.0 / (1.0 + (-margin).exp()));
            let cells: Vec<String> = x.iter().map(|v| v.to_string()).collect();
            writeln!(f, "c{t},b{},{label},{}", t % BUCKETS, cells.join(",")).expect("write");
        }
    }
    let run_with = |bin: &str, args: &[&str]| {
        let out = Command::new(bin)
            .arg("--db")
            .arg(&db)
            .args(args)
            .env("OVERLAP_REPORT_PEAK_MEMORY", "1")
            .output()
            .expect("run overlap");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    let run = |args: &[&str]| run_with(bin, args);
    run(&["init"]);
    let csv_arg = csv.to_string_lossy().to_string();
    run(&["dataset", "import", "bench", &csv_arg]);
    let baseline = std::env::var("ANALYZE_BENCH_BASELINE").ok();
    let analyze = ["analyze", "bench", "--recompute", "--format", "json"];
    let mut times = Vec::new();
    let mut base_times = Vec::new();
    let mut peaks = Vec::new();
    // Alternating runs share whatever the machine is doing, so the ratio is fairer than two
    // separate series.
    for _ in 0..if baseline.is_some() { 7 } else { 3 } {
        let start = Instant::now();
        let out = run(&analyze);
        times.push(start.elapsed().as_secs_f64());
        peaks.push(peak_kb(&out.stderr).unwrap_or(0));
        if let Some(base) = &baseline {
            let start = Instant::now();
            run_with(base, &analyze);
            base_times.push(start.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    base_times.sort_by(f64::total_cmp);
    let median = |t: &[f64]| t[t.len() / 2];
    let peak = peaks.iter().max().copied().unwrap_or(0);
    println!("analyze 1,000,000 comparisons (d = {D}, {BUCKETS} buckets, pooled fit)");
    println!(
        "  wall: median {:.3} s (runs: {})   target ≤ 0.5 s",
        median(&times),
        times
            .iter()
            .map(|t| format!("{t:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !base_times.is_empty() {
        println!(
            "  baseline binary: median {:.3} s; current/baseline = {:.3}   target ≤ 1.10",
            median(&base_times),
            median(&times) / median(&base_times)
        );
    }
    println!(
        "  peak memory: {:.1} MB   target ≤ 200 MB",
        peak as f64 / 1024.0
    );
}
