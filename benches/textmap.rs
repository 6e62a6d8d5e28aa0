//! Throughput of text-pair parsing and the `text-v1` feature map, on the real HH-RLHF
//! harmless-base test file (`tests/data/hh-rlhf`; a synthetic corpus if it is absent), repeated until
//! at least 100 MB have been processed. Run: `cargo bench --bench textmap`.

use std::fs::File;
use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::Instant;

use flate2::read::GzDecoder;
use overlap::textmap::text_v1;
use overlap::textmap::{PairOptions, TextPair, parse_pair};
use serde_json::Value;

/// The binary's allocator, so that the figures are what `overlap` users get.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const HH_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/hh-rlhf/hh-rlhf-harmless-test.jsonl.gz"
);
const TARGET_BYTES: usize = 100 * 1024 * 1024;

fn load_lines() -> (Vec<String>, &'static str) {
    if Path::new(HH_PATH).exists() {
        let file = File::open(HH_PATH).expect("open data");
        let lines = BufReader::new(GzDecoder::new(file))
            .lines()
            .collect::<Result<Vec<_>, _>>()
            .expect("read data");
        (lines, "hh-rlhf harmless-base test")
    } else {
        (synthetic_lines(2_000), "synthetic corpus")
    }
}

/// Deterministic synthetic pairs mixing the constructs the map looks for.
fn synthetic_lines(n: usize) -> Vec<String> {
    const PIECES: &[&str] = &[
        "I’m sorry, but I can’t help with that.",
        "Here is a plan:\n1. First step\n2. Second step\n- a bullet",
        "It might be illegal, so please consult a lawyer.",
        "What do you mean exactly?",
        "See https://example.org/page for details [1].",
        "## Heading\nSome text that goes on for a while with ordinary words in it.",
        "```python\nprint('hello')\n```",
        "Perhaps you could try something else; I think that would work better.",
        "The quick brown fox jumps over the lazy dog, again and again.",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    (0..n)
        .map(|i| {
            let mut response = |len: usize| {
                (0..len)
                    .map(|_| PIECES[next() % PIECES.len()])
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let (a, b) = (response(1 + i % 7), response(1 + (i * 3) % 11));
            serde_json::json!({"prompt": "How do I do this?", "chosen": a, "rejected": b})
                .to_string()
        })
        .collect()
}

fn parse(line: &str, options: &PairOptions) -> Option<TextPair> {
    let value: Value = serde_json::from_str(line).ok()?;
    parse_pair(value.as_object()?, options).ok()
}

/// Runs `work` over the items repeatedly until `TARGET_BYTES` are covered; returns MB/s
/// (1 MB = 10^6 bytes) and the number of passes.
fn measure<T>(
    items: &[T],
    bytes_of: impl Fn(&T) -> usize,
    mut work: impl FnMut(&T),
) -> (f64, usize) {
    let pass_bytes: usize = items.iter().map(&bytes_of).sum();
    let passes = TARGET_BYTES.div_ceil(pass_bytes.max(1));
    let start = Instant::now();
    for _ in 0..passes {
        for item in items {
            work(item);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    ((pass_bytes * passes) as f64 / 1e6 / seconds, passes)
}

fn main() {
    let (lines, source) = load_lines();
    let options = PairOptions::default();
    let pairs: Vec<TextPair> = lines.iter().filter_map(|l| parse(l, &options)).collect();
    let line_bytes: usize = lines.iter().map(String::len).sum();
    println!(
        "corpus: {source}, {} lines, {} pairs, {:.2} MB of JSON per pass; target {} MB per measure",
        lines.len(),
        pairs.len(),
        line_bytes as f64 / 1e6,
        TARGET_BYTES / (1024 * 1024)
    );

    let (rate, passes) = measure(
        &lines,
        |l| l.len(),
        |line| {
            if let Some(pair) = parse(line, &options) {
                black_box(text_v1::features(&pair.prompt, &pair.response_a));
                black_box(text_v1::features(&pair.prompt, &pair.response_b));
            }
        },
    );
    println!(
        "decode + parse_pair + features (both sides): {rate:8.1} MB/s of JSON lines ({passes} passes)"
    );

    let (rate, passes) = measure(
        &lines,
        |l| l.len(),
        |line| {
            black_box(parse(line, &options));
        },
    );
    println!(
        "decode + parse_pair only:                    {rate:8.1} MB/s of JSON lines ({passes} passes)"
    );

    let (rate, passes) = measure(
        &pairs,
        |p| p.response_a.len() + p.response_b.len(),
        |pair| {
            black_box(text_v1::features(&pair.prompt, &pair.response_a));
            black_box(text_v1::features(&pair.prompt, &pair.response_b));
        },
    );
    println!(
        "features on responses:                       {rate:8.1} MB/s of response text ({passes} passes)"
    );

    // The map on long texts: whole dialogues (prompt + response) as one input each.
    let dialogues: Vec<String> = pairs
        .iter()
        .map(|p| format!("{}\n\n{}", p.prompt, p.response_a))
        .collect();
    let (rate, passes) = measure(&dialogues, String::len, |text| {
        black_box(text_v1::features("", text));
    });
    println!(
        "features on whole dialogues:                 {rate:8.1} MB/s of text ({passes} passes)"
    );
}
