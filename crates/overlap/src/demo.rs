//! The embedded demo: interventions and two collections drawn from a known latent BTL model.
//!
//! Three risk buckets. In `self-harm`, the passive collection (version 1) has length and refusal
//! differences moving together (ρ ≈ 0.95), so their weights cannot be told apart; the active
//! collection (version 2 = version 1 plus intervention arms) crosses them with controlled edits.
//! Pure and deterministic for a seed: it returns records and registry entries; the CLI writes and
//! imports them through the same paths a user's files take.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde_json::{Value, json};

use crate::model::InterventionSpec;

/// Feature names of the demo schema, in order.
pub const FEATURES: &[&str] = &["length", "refusal", "list", "disclaimer", "hedging"];

/// The demo's buckets with their sizes in the passive collection.
pub const BUCKETS: &[(&str, usize)] = &[("benign", 1200), ("cyber", 900), ("self-harm", 1200)];

/// The latent preference weights per unit of each feature's typical difference.
pub const TRUE_WEIGHTS: &[f64] = &[0.6, 1.2, 0.3, 0.5, -0.4];

/// Typical size of each feature's difference (raw units): words, refusal score, list items,
/// disclaimer sentences, hedging phrases.
const SPREAD: &[f64] = &[120.0, 0.8, 1.5, 0.6, 1.2];

/// An intervention the demo registers, with its acceptance per bucket (attempts, accepted).
pub struct DemoIntervention {
    pub name: &'static str,
    pub spec: InterventionSpec,
    pub acceptance: Vec<(&'static str, u64, u64)>,
}

fn spec(
    family: &str,
    intent: &str,
    cost: f64,
    targets: &[&str],
    confounds: &[&str],
) -> InterventionSpec {
    InterventionSpec {
        family: family.to_string(),
        intent: intent.to_string(),
        cost,
        targets: targets.iter().map(|s| s.to_string()).collect(),
        confounds: confounds.iter().map(|s| s.to_string()).collect(),
        owner: Some("data-team@example.org".to_string()),
        description: None,
    }
}

/// The five demo interventions.
pub fn interventions() -> Vec<DemoIntervention> {
    let acc = |a: [(u64, u64); 3]| {
        vec![
            ("benign", a[0].0, a[0].1),
            ("cyber", a[1].0, a[1].1),
            ("self-harm", a[2].0, a[2].1),
        ]
    };
    vec![
        DemoIntervention {
            name: "shorten",
            spec: spec(
                "length",
                "cut the response to half its length, keeping its stance",
                0.04,
                &["length"],
                &["list", "hedging"],
            ),
            acceptance: acc([(200, 182), (150, 129), (200, 171)]),
        },
        DemoIntervention {
            name: "expand",
            spec: spec(
                "length",
                "elaborate the response to about twice its length without changing its stance",
                0.06,
                &["length"],
                &["hedging", "disclaimer"],
            ),
            acceptance: acc([(200, 176), (150, 120), (200, 158)]),
        },
        DemoIntervention {
            name: "add-disclaimer",
            spec: spec(
                "tone",
                "append a safety disclaimer without refusing",
                0.03,
                &["disclaimer"],
                &["refusal", "length"],
            ),
            acceptance: acc([(200, 194), (150, 141), (200, 188)]),
        },
        DemoIntervention {
            name: "bulletize",
            spec: spec(
                "format",
                "restructure the response as a bulleted list",
                0.02,
                &["list"],
                &["length"],
            ),
            acceptance: acc([(200, 190), (150, 139), (200, 176)]),
        },
        DemoIntervention {
            name: "hedge",
            spec: spec(
                "tone",
                "add calibrated uncertainty phrases",
                0.02,
                &["hedging"],
                &["length"],
            ),
            acceptance: acc([(200, 185), (150, 133), (200, 169)]),
        },
    ]
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// One record: sides built around a random base so that per-side features look like real ones.
fn record(
    rng: &mut ChaCha8Rng,
    id: String,
    bucket: &str,
    std_delta: [f64; 5],
    arms: (Option<&str>, Option<&str>),
) -> Value {
    let base = [
        250.0 + 80.0 * normal(rng),
        0.5 + 0.2 * normal(rng),
        2.0 + normal(rng),
        0.5 + 0.3 * normal(rng),
        1.5 + 0.8 * normal(rng),
    ];
    let margin: f64 = std_delta.iter().zip(TRUE_WEIGHTS).map(|(d, w)| d * w).sum();
    let label = u8::from(rng.random::<f64>() < sigmoid(margin));
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    let mut a = serde_json::Map::new();
    let mut b = serde_json::Map::new();
    for j in 0..FEATURES.len() {
        let d = std_delta[j] * SPREAD[j];
        a.insert(FEATURES[j].to_string(), json!(round(base[j] + d / 2.0)));
        b.insert(FEATURES[j].to_string(), json!(round(base[j] - d / 2.0)));
    }
    json!({
        "id": id,
        "bucket": bucket,
        "group": if rng.random::<f64>() < 0.5 { "en" } else { "de" },
        "a": {"intervention": arms.0, "features": a},
        "b": {"intervention": arms.1, "features": b},
        "label": label,
    })
}

/// The passive collection (version 1): every arm is `baseline`; in `self-harm` length and
/// refusal move together with correlation `rho`.
pub fn passive(seed: u64, rho: f64) -> Vec<Value> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for (bucket, n) in BUCKETS {
        // Cyber is moderately entangled, benign barely: the gate should single out self-harm.
        let r = match *bucket {
            "self-harm" => rho,
            "cyber" => 0.5,
            _ => 0.2,
        };
        for i in 0..*n {
            let z1 = normal(&mut rng);
            let z2 = r * z1 + (1.0 - r * r).sqrt() * normal(&mut rng);
            let delta = [z1, z2, normal(&mut rng), normal(&mut rng), normal(&mut rng)];
            out.push(record(
                &mut rng,
                format!("{bucket}-p{i:05}"),
                bucket,
                delta,
                (None, None),
            ));
        }
    }
    out
}

/// The active collection (the rows version 2 adds): edits that cross length and refusal.
pub fn active(seed: u64, per_bucket: usize) -> Vec<Value> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_a11c);
    let mut out = Vec::new();
    for (bucket, _) in BUCKETS {
        for i in 0..per_bucket {
            let (arm, delta) = match i % 5 {
                // A shortened copy of a refusing response: long-and-refusing vs short-and-refusing
                // flips length without moving refusal; pairing with a non-refusing side crosses them.
                0 => (
                    (Some("shorten"), None),
                    [
                        -2.0 + 0.3 * normal(&mut rng),
                        1.5 + 0.3 * normal(&mut rng),
                        0.2 * normal(&mut rng),
                        0.0,
                        -0.2 + 0.2 * normal(&mut rng),
                    ],
                ),
                1 => (
                    (Some("expand"), None),
                    [
                        2.0 + 0.3 * normal(&mut rng),
                        -1.5 + 0.3 * normal(&mut rng),
                        0.2 * normal(&mut rng),
                        0.1 * normal(&mut rng),
                        0.3 + 0.2 * normal(&mut rng),
                    ],
                ),
                2 => (
                    (Some("add-disclaimer"), None),
                    [
                        0.2 * normal(&mut rng),
                        0.2 + 0.2 * normal(&mut rng),
                        0.0,
                        1.0 + 0.2 * normal(&mut rng),
                        0.1 * normal(&mut rng),
                    ],
                ),
                3 => (
                    (Some("bulletize"), None),
                    [
                        0.2 * normal(&mut rng),
                        0.1 * normal(&mut rng),
                        1.2 + 0.3 * normal(&mut rng),
                        0.0,
                        0.0,
                    ],
                ),
                _ => (
                    (Some("hedge"), Some("shorten")),
                    [
                        0.6 + 0.3 * normal(&mut rng),
                        -0.5 + 0.3 * normal(&mut rng),
                        0.1 * normal(&mut rng),
                        0.0,
                        1.0 + 0.3 * normal(&mut rng),
                    ],
                ),
            };
            // Randomize which side carries the edit so labels stay balanced.
            let (arm, delta) = if rng.random::<bool>() {
                ((arm.1, arm.0), delta.map(|x| -x))
            } else {
                (arm, delta)
            };
            out.push(record(
                &mut rng,
                format!("{bucket}-a{i:05}"),
                bucket,
                delta,
                arm,
            ));
        }
    }
    out
}
