//! Throughput of signing and verifying reports of typical and large sizes.
//! Run with `cargo bench --bench signing`; prints one line per case.

use std::hint::black_box;
use std::time::Instant;

use overlap::report::signing::{
    PredicateType, SecretKey, SignedMeta, attest, sha256_hex, sign_report, verify,
};

/// The binary's allocator, so that the figures are what `overlap` users get.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn time<T>(iterations: u32, mut f: impl FnMut() -> T) -> f64 {
    let start = Instant::now();
    for _ in 0..iterations {
        black_box(f());
    }
    start.elapsed().as_secs_f64() / f64::from(iterations)
}

fn main() {
    let key = SecretKey::from_seed(&[0x42; 32]);
    let public = key.public_key().to_text();
    let meta = SignedMeta {
        dataset_digest: sha256_hex(b"dataset"),
        policy_digest: Some(sha256_hex(b"policy")),
        tool_version: "0.1.0".to_owned(),
    };
    let predicate = serde_json::json!({"verdict": "pass", "buckets": {"benign": "pass"}});
    for size in [16 * 1024, 1024 * 1024, 16 * 1024 * 1024] {
        let report: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let iterations = if size > 1024 * 1024 { 5 } else { 50 };
        let signature = sign_report(&report, &key, &meta).expect("sign");
        let attestation = attest(
            "label.html",
            &report,
            ("dataset:prefs@3", &meta.dataset_digest),
            PredicateType::NutritionLabel,
            predicate.clone(),
            &key,
        )
        .expect("attest");
        let sign = time(iterations, || sign_report(&report, &key, &meta));
        let att = time(iterations, || {
            attest(
                "label.html",
                &report,
                ("dataset:prefs@3", &meta.dataset_digest),
                PredicateType::NutritionLabel,
                predicate.clone(),
                &key,
            )
        });
        let check = time(iterations, || {
            verify(&report, &public, Some(&signature), Some(&attestation))
        });
        println!(
            "report {:>6} KiB: sign {:>8.3} ms, attest {:>8.3} ms, verify both {:>8.3} ms",
            size / 1024,
            sign * 1e3,
            att * 1e3,
            check * 1e3
        );
    }
}
