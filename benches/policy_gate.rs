//! Policy pipeline timings on a large synthetic policy: `cargo bench --bench policy_gate`.
//! Prints the median of repeated runs for parse, lint (parse + validate with a dataset), evaluate
//! and each renderer. Not a test: nothing here asserts a speed.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use overlap::model::analysis::{
    AnalysisParams, ArmShare, BucketAnalysis, EigenMetrics, FeatureInfo, FitMode, InterventionUse,
    PairCoverage, Quadrants, VersionAnalysis,
};
use overlap::model::named::NamedValues;
use overlap::policy::{DatasetContext, GateFormat, GateInput, evaluate, lint, parse, render};

/// The binary's allocator, so that the figures are what `overlap` users get.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FEATURES: [&str; 5] = ["length", "refusal", "list", "disclaimer", "hedging"];
const BUCKETS: usize = 40;
const RULE_GROUPS: usize = 25;

fn policy_text() -> String {
    let mut y = String::from("version: 1\nname: bench\nbuckets:\n");
    for b in 0..BUCKETS {
        let _ = writeln!(y, "  b{b:02}: {{ harm: {} }}", 1 + b % 5);
    }
    y.push_str("rules:\n");
    for g in 0..RULE_GROUPS {
        let _ = write!(
            y,
            "  - {{ id: overlap-{g}, metric: lambda_min, op: \">=\", threshold: 0.0{g}, thresholds: {{ b01: 0.05 }} }}\n  \
             - {{ id: se-{g}, metric: worst_se, op: \"<=\", threshold: 0.{g}1 }}\n  \
             - {{ id: pair-{g}, metric: min_quadrant_share, features: [length, refusal], op: \">=\", threshold: 0.1 }}\n  \
             - {{ id: accept-{g}, metric: acceptance_rate, op: \">=\", threshold: 0.5, severity: warn }}\n"
        );
    }
    y.push_str("waivers:\n");
    for b in 0..10 {
        let _ = writeln!(
            y,
            "  - {{ rule: overlap-0, bucket: b{b:02}, owner: o@example.org, reason: r, ticket: T-{b}, expires: 2027-01-31 }}"
        );
    }
    y
}

fn bucket(i: usize) -> BucketAnalysis {
    let lambda = 0.005 * (1 + i % 20) as f64;
    let n = 100 + 37 * i as u64;
    let mut pairs = Vec::new();
    for (a, fa) in FEATURES.iter().enumerate() {
        for fb in &FEATURES[a + 1..] {
            pairs.push(PairCoverage {
                features: [(*fa).into(), (*fb).into()],
                discordant_share: Some(0.3),
                min_quadrant_share: Some(0.3),
                quadrants: Quadrants::default(),
                zero: 0,
            });
        }
    }
    BucketAnalysis {
        bucket: format!("b{i:02}"),
        n,
        support: NamedValues(FEATURES.iter().map(|f| ((*f).into(), n)).collect()),
        absent_features: Vec::new(),
        scope: FEATURES.iter().map(|f| (*f).into()).collect(),
        metrics: EigenMetrics {
            lambda_min: lambda,
            lambda_max: 1.0,
            condition_number: Some(1.0 / lambda),
            unidentified: false,
            total_information: n as f64 * lambda,
            worst_se: Some(1.0 / (n as f64 * lambda).sqrt()),
        },
        mean_curvature: 0.7,
        geometry_lambda_min: lambda,
        eigenvalues: vec![lambda, 1.0],
        weakest_direction: NamedValues(vec![("length".into(), 1.0)]),
        weakest_direction_words: "mostly +length".into(),
        label_balance: Some(0.5),
        longer_share: None,
        tie_share: None,
        longer_p: None,
        win_share: NamedValues(FEATURES.iter().map(|f| ((*f).into(), 0.4)).collect()),
        arms: vec![ArmShare {
            arm: "baseline".into(),
            n,
            share: 1.0,
        }],
        pairs,
        interventions: vec![InterventionUse {
            name: "shorten".into(),
            comparisons: n / 2,
            attempts: 50,
            accepted: 20 + (i as u64 % 30),
            acceptance_rate: Some((20 + (i % 30)) as f64 / 50.0),
            wilson_low: None,
            wilson_high: None,
            cost: 1.0,
            effective_cost: Some(2.0),
        }],
        scoped: Vec::new(),
        fit: None,
    }
}

fn median(mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..31)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let text = policy_text();
    let analysis = VersionAnalysis {
        dataset: "bench".into(),
        version: 1,
        digest: "0".repeat(64),
        features: FEATURES
            .iter()
            .map(|f| FeatureInfo {
                name: (*f).into(),
                scale: 1.0,
                never_varies: false,
            })
            .collect(),
        params: AnalysisParams {
            ridge: 1e-4,
            info_ridge: 0.0,
            fit: FitMode::Pooled,
            pairs: vec![],
            scopes: vec![],
        },
        fixed_orientation: false,
        fit: None,
        buckets: (0..BUCKETS).map(bucket).collect(),
    };
    let ctx = DatasetContext::from_analysis(&analysis);
    let policy = parse("bench.yaml", &text).expect("bench policy parses");
    let input = GateInput {
        analysis: &analysis,
        drift: None,
        audits: &[],
        today: NaiveDate::from_ymd_opt(2026, 5, 1).expect("date"),
        tool_version: "bench",
        fail_on_warn: false,
    };
    let eval = evaluate(&policy, &input).expect("evaluates");
    println!(
        "policy: {} rules, {BUCKETS} buckets, {} bytes -> {} findings",
        policy.rules.len(),
        text.len(),
        eval.findings.len()
    );
    println!(
        "parse          {:>10.3?}",
        median(|| {
            black_box(parse("bench.yaml", black_box(&text)).ok());
        })
    );
    println!(
        "lint (dataset) {:>10.3?}",
        median(|| {
            black_box(lint("bench.yaml", black_box(&text), Some(&ctx)));
        })
    );
    println!(
        "evaluate       {:>10.3?}",
        median(|| {
            black_box(evaluate(&policy, &input).ok());
        })
    );
    for format in GateFormat::ALL {
        let bytes = render(&eval, format).len();
        let t = median(|| {
            black_box(render(black_box(&eval), format));
        });
        println!("render {:<8}{:>10.3?}  ({bytes} bytes)", format.name(), t);
    }
}
