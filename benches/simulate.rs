//! Wall time of the simulation laboratory and of one `design next` step. Run with
//! `cargo bench --bench simulate`.
//!
//! The target: a sweep of 6 ρ values × 6 strategies × 20 replicates × 5,000 labels in
//! batches of 250 finishes in under 60 s on a 2-core machine (release). Also shown: the same
//! sweep on one thread (the parallel speed-up), a single-point run of the 4-factor scenario, and
//! the per-batch cost of each design strategy on a bucket with 5,000 comparisons.

use std::hint::black_box;
use std::time::{Duration, Instant};

use overlap::collection::{ArmRows, BucketState, CandidateArm, NextRequest, Strategy, design_next};
use overlap::simulate::{Scenario, SimOptions, SimStrategy, simulate};

/// The binary's allocator, so that the figures are what `overlap` users get.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

fn sweep_options() -> SimOptions {
    SimOptions {
        strategies: SimStrategy::ALL.to_vec(),
        labels: 5000,
        batch: 250,
        replicates: 20,
        seed: 1,
        sweep: Some(vec![0.0, 0.5, 0.8, 0.9, 0.95, 0.99]),
        ..SimOptions::default()
    }
}

fn main() {
    let two_factor = Scenario::builtin("two-factor").expect("scenario");
    let threads = rayon::current_num_threads();
    let options = sweep_options();
    let runs = 6 * 6 * 20;

    let start = Instant::now();
    let report = simulate(&two_factor, &options).expect("simulation");
    let pooled = start.elapsed();
    println!(
        "two-factor sweep, 6 rho × 6 strategies × 20 replicates × 5000 labels (batches of 250), {threads} threads: {} ({} per run)  [target < 60 s]",
        fmt(pooled),
        fmt(pooled / runs)
    );
    if let Some(rows) = &report.sweep {
        for r in rows {
            println!(
                "  rho {:<5} passive/best-active labels {:>7} (predicted {:>6}, 1/(1-rho²) {:>6})",
                r.rho,
                r.measured_ratio.map_or("–".into(), |m| format!("{m:.2}")),
                r.predicted_ratio.map_or("–".into(), |m| format!("{m:.2}")),
                format!("{:.2}", r.inverse_one_minus_rho2)
            );
        }
    }

    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let start = Instant::now();
    let single = one
        .install(|| simulate(&two_factor, &options))
        .expect("simulation");
    let serial = start.elapsed();
    assert_eq!(
        serde_json::to_string(&single).ok(),
        serde_json::to_string(&report).ok(),
        "the report depends on the thread count"
    );
    println!(
        "same sweep on 1 thread: {} (speed-up {:.2}×, identical report)",
        fmt(serial),
        serial.as_secs_f64() / pooled.as_secs_f64()
    );

    let hh = Scenario::builtin("helpful-harmless").expect("scenario");
    let start = Instant::now();
    black_box(
        simulate(
            &hh,
            &SimOptions {
                sweep: None,
                ..sweep_options()
            },
        )
        .expect("simulation"),
    );
    println!(
        "helpful-harmless (d = 4, 4 arms), 6 strategies × 20 replicates × 5000 labels: {}",
        fmt(start.elapsed())
    );

    // One design step on a bucket with 5,000 comparisons in 3 arms (d = 2).
    let world = two_factor.world(Some(0.9)).expect("world");
    let mut rows: Vec<Vec<f64>> = vec![Vec::new(); world.arms.len()];
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut uniform = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    for (i, arm) in rows.iter_mut().enumerate() {
        for _ in 0..[3000, 1000, 1000][i] {
            let (a, b) = (uniform(), uniform());
            arm.push(a);
            arm.push(0.5 * a + b * (i as f64 - 1.0));
        }
    }
    let views: Vec<ArmRows<'_>> = world
        .arms
        .iter()
        .zip(&rows)
        .map(|(a, r)| ArmRows {
            arm: &a.arm,
            rows: r,
        })
        .collect();
    let w = [0.3, 0.3];
    let precision = nalgebra::DMatrix::identity(2, 2) * 300.0;
    let bucket = BucketState {
        d: 2,
        w: &w,
        arms: &views,
        precision: Some(&precision),
    };
    let candidates: Vec<CandidateArm> = world
        .arms
        .iter()
        .map(|a| CandidateArm {
            arm: a.arm.clone(),
            cost: a.cost,
        })
        .collect();
    for strategy in [Strategy::Plugin, Strategy::Lcb, Strategy::Thompson] {
        let req = NextRequest::new(strategy, 250);
        let reps = 50;
        let start = Instant::now();
        for _ in 0..reps {
            black_box(design_next(&bucket, &candidates, &req).expect("order"));
        }
        println!(
            "design next --strategy {} on 5000 comparisons: {} per order",
            strategy.name(),
            fmt(start.elapsed() / reps)
        );
    }
}
