//! Times every problem of every `design_*.json` conformance file and prints it next to the
//! reference wall time of cvxpy + Clarabel (`timing.clarabel.wall_s`, single-threaded) with
//! the speed-up (from the median repetition) and the fastest repetition, then a summary.
//! Run: `cargo bench --bench design` (release, one thread); `cargo bench --bench design --
//! d08_A200` times only the problems whose `file:problem` name contains `d08_A200` (for
//! profiling one size), and `DESIGN_BENCH_REPS=20` fixes the number of repetitions (for
//! instruction counts with `perf stat`).

#[path = "../tests/it/support/design_files.rs"]
mod design_files;

use std::time::Instant;

use overlap::numerics::optimal_design::{DesignOutcome, SolverOptions, solve_design};

/// The binary's allocator, so that the figures are what `overlap design` users get.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Target of the speed-up over the reference wall time, per problem.
const TARGET_SPEEDUP: f64 = 100.0;

fn main() {
    let files = design_files::design_files();
    assert!(
        !files.is_empty(),
        "no design_*.json conformance files found"
    );
    let opts = SolverOptions::default();
    // DESIGN_BENCH_REPS fixes the number of timed solves per problem, so that counts from a
    // profiler (`perf stat -e instructions`) compare across builds on a loaded machine.
    let fixed_reps: Option<usize> = std::env::var("DESIGN_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok());
    // Cargo passes `--bench`; any other argument is a name filter.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let mut ratios: Vec<(f64, String)> = Vec::new();
    let mut largest = (0.0f64, String::new());
    let mut failures = 0;
    println!(
        "{:<46} {:>10} {:>5} {:>11} {:>11} {:>8} {:>11}",
        "problem", "status", "iters", "rust", "clarabel", "speedup", "rust min"
    );
    for path in &files {
        let file = design_files::load(path);
        for p in &file.problems {
            let name = format!("{}:{}", file.id, p.id);
            if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
                continue;
            }
            let problem = design_files::problem(&file, p);
            // One warm-up solve, then the median of enough repetitions for about 50 ms.
            let first = Instant::now();
            let outcome = solve_design(&problem, &opts);
            let once = first.elapsed().as_secs_f64();
            let reps = fixed_reps.map_or(((0.05 / once.max(1e-7)) as usize).clamp(3, 2000), |r| {
                r.max(1)
            });
            let mut times = Vec::with_capacity(reps);
            for _ in 0..reps {
                let t = Instant::now();
                let out = solve_design(&problem, &opts);
                times.push(t.elapsed().as_secs_f64());
                std::hint::black_box(out).ok();
            }
            times.sort_by(f64::total_cmp);
            let median = times[times.len() / 2];
            // The fastest repetition too: on a shared virtual machine the median moves by tens
            // of percent between runs, the minimum much less (compare builds with it).
            let fastest = times[0];
            let (status, iters) = match &outcome {
                Ok(DesignOutcome::Optimal(s)) => ("optimal".to_string(), s.iterations.to_string()),
                Ok(DesignOutcome::Infeasible { .. }) => ("infeasible".to_string(), "-".to_string()),
                Err(e) => {
                    failures += 1;
                    (format!("error: {e}"), "-".to_string())
                }
            };
            let reference = p
                .timing
                .as_ref()
                .and_then(|t| t.clarabel.as_ref())
                .and_then(|c| c.wall_s);
            let ratio = reference.map(|r| r / median);
            if let Some(r) = ratio {
                ratios.push((r, name.clone()));
            }
            if median > largest.0 {
                largest = (median, name.clone());
            }
            println!(
                "{:<46} {:>10} {:>5} {:>9.1}µs {:>9.1}µs {:>7.0}x {:>9.1}µs",
                name,
                status.chars().take(10).collect::<String>(),
                iters,
                median * 1e6,
                reference.unwrap_or(f64::NAN) * 1e6,
                ratio.unwrap_or(f64::NAN),
                fastest * 1e6
            );
        }
    }
    ratios.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = ratios.len();
    let below: Vec<&(f64, String)> = ratios.iter().filter(|r| r.0 < TARGET_SPEEDUP).collect();
    println!();
    println!("problems timed: {n}, solver errors: {failures}");
    if let (Some(worst), Some(median)) = (ratios.first(), ratios.get(n / 2)) {
        println!(
            "speed-up over cvxpy+Clarabel wall: worst {:.0}x ({}), median {:.0}x",
            worst.0, worst.1, median.0
        );
    }
    println!(
        "below the {TARGET_SPEEDUP:.0}x target: {} of {n}{}",
        below.len(),
        if below.is_empty() {
            String::new()
        } else {
            format!(
                " (worst 10: {})",
                below
                    .iter()
                    .take(10)
                    .map(|r| format!("{} {:.0}x", r.1, r.0))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    println!("largest time: {:.2} ms ({})", largest.0 * 1e3, largest.1);
}
