//! Wall time of `fit_btl` on every conformance instance, next to the Python references'
//! `timing.statsmodels_s` and `timing.newton_numpy_s` (single-threaded medians of 3), and on a
//! generated 1,000,000 × 8 problem. Run with `cargo bench --bench btl`.
//!
//! "1 thr" runs inside a one-thread rayon pool (the like-for-like number against the references,
//! which used one BLAS thread); "pool" uses the default global pool (all cores).

#[path = "../tests/it/support/btl_cases.rs"]
mod btl_cases;

use overlap::numerics::btl::{FitOptions, fisher_information, fit_btl};
use overlap::numerics::eigen::sym_eigen;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The binary's allocator, so that the figures are what `overlap` users get.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Median wall time of `f`, repeated until `budget` is spent (at least 5, at most 200 runs).
fn median_time<T>(budget: Duration, mut f: impl FnMut() -> T) -> Duration {
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 5 || (start.elapsed() < budget && times.len() < 200) {
        let t = Instant::now();
        black_box(f());
        times.push(t.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

fn fmt(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{:.0} µs", s * 1e6)
    }
}

fn fmt_opt(s: Option<f64>) -> String {
    s.map_or_else(|| "–".to_string(), |s| fmt(Duration::from_secs_f64(s)))
}

fn ratio(reference: Option<f64>, ours: Duration) -> String {
    reference.map_or_else(
        || "–".to_string(),
        |r| format!("{:.1}×", r / ours.as_secs_f64()),
    )
}

/// SplitMix64: a tiny, fixed, dependency-free generator (same stream on every platform).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1): 53 random bits, shifted off zero.
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1_u64 << 53) as f64
    }

    /// Standard normal by Box–Muller (one of the pair; simplicity over speed).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// N×d rows ~ N(0, I) with factors 0 and 1 correlated at 0.8, labels from a BTL model.
fn generate(n: usize, d: usize, seed: u64) -> (Vec<f64>, Vec<u8>) {
    let mut rng = SplitMix64(seed);
    let w_true: Vec<f64> = (0..d).map(|j| 1.5 - 0.4 * j as f64).collect();
    let mut rows = Vec::with_capacity(n * d);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let start = rows.len();
        for _ in 0..d {
            rows.push(rng.normal());
        }
        if d >= 2 {
            rows[start + 1] = 0.8 * rows[start] + 0.6 * rows[start + 1];
        }
        let margin: f64 = rows[start..].iter().zip(&w_true).map(|(x, w)| x * w).sum();
        labels.push(u8::from(rng.uniform() < 1.0 / (1.0 + (-margin).exp())));
    }
    (rows, labels)
}

fn main() {
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool");
    let threads = rayon::current_num_threads();
    println!("BTL fit (ρ = ridge_lambda, rel. gradient tolerance 1e-10), median wall time");
    println!("pool = default rayon pool with {threads} threads\n");
    println!(
        "| instance | N | d | iters | rust 1 thr | rust pool | statsmodels | numpy Newton | statsmodels/rust | numpy/rust |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let budget = Duration::from_millis(300);
    for path in btl_cases::btl_case_paths() {
        let case = btl_cases::load_case(&path);
        let rows = case.rows();
        let opts = FitOptions {
            ridge: case.ridge_lambda,
            ..FitOptions::default()
        };
        let outcome = fit_btl(&rows, case.d, &case.labels, &opts);
        let iterations = match &outcome {
            Ok(fit) => fit.iterations.to_string(),
            Err(_) => "error".to_string(),
        };
        let single = one_thread
            .install(|| median_time(budget, || fit_btl(&rows, case.d, &case.labels, &opts)));
        let pooled = median_time(budget, || fit_btl(&rows, case.d, &case.labels, &opts));
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            case.id,
            case.n,
            case.d,
            iterations,
            fmt(single),
            fmt(pooled),
            fmt_opt(case.timing.statsmodels_s),
            fmt_opt(case.timing.newton_numpy_s),
            ratio(case.timing.statsmodels_s, single),
            ratio(case.timing.newton_numpy_s, single),
        );
    }

    let (n, d) = (1_000_000, 8);
    let started = Instant::now();
    let (rows, labels) = generate(n, d, 20_240_607);
    println!(
        "\ngenerated {n} × {d} (seed 20240607) in {}",
        fmt(started.elapsed())
    );
    let opts = FitOptions::default();
    let fit = match fit_btl(&rows, d, &labels, &opts) {
        Ok(fit) => fit,
        Err(err) => {
            println!("fit failed: {err}");
            return;
        }
    };
    println!(
        "ŵ = {:?}\niterations {}, ‖∇f‖ = {:.2e}, objective {:.12}",
        fit.w, fit.iterations, fit.grad_norm, fit.objective
    );
    let budget = Duration::from_secs(3);
    let pooled = median_time(budget, || fit_btl(&rows, d, &labels, &opts));
    let single = one_thread.install(|| median_time(budget, || fit_btl(&rows, d, &labels, &opts)));
    let info = median_time(budget, || {
        fisher_information(&rows, d, &fit.w, 0.0).map(|m| sym_eigen(&m))
    });
    println!(
        "fit_btl 1,000,000 × 8: {} with {threads} threads, {} with 1 thread",
        fmt(pooled),
        fmt(single)
    );
    println!(
        "fisher_information + sym_eigen 1,000,000 × 8: {} with {threads} threads",
        fmt(info)
    );
}
