//! Parquet import throughput of text pairs, end to end through the real binary: the HH-RLHF
//! harmless-base test split (`tests/data/hh-rlhf`) repeated to about 200 MB of text, imported as
//! JSON lines, exported as TRL Parquet (`prompt/chosen/rejected`), and that Parquet file imported
//! again next to the same records as TRL JSON lines. All three imports must give one digest.
//!
//! Run: `cargo bench --bench parquet --features parquet` (`OVERLAP_BENCH_COPIES` sets how many
//! times the split is repeated; 60 by default). "MB/s of text" counts the bytes of the prompt,
//! chosen and rejected strings. Target on the reference 2-core machine: ≥ 50 MB/s of text, with
//! peak memory bounded (the reader holds one row group).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

use flate2::read::GzDecoder;

const HH_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/hh-rlhf/hh-rlhf-harmless-test.jsonl.gz"
);
const TARGET_MB_PER_S: f64 = 50.0;

fn overlap(db: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_overlap"));
    cmd.arg("--db")
        .arg(db)
        .env("OVERLAP_ACTOR", "bench")
        .env_remove("OVERLAP_DB");
    cmd
}

fn must(output: std::io::Result<Output>, what: &str) -> Output {
    let out = output.unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    if !out.status.success() {
        panic!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

struct Imported {
    seconds: f64,
    digest: String,
    peak_mb: Option<f64>,
}

fn import(dir: &Path, name: &str, file: &Path) -> Imported {
    let db = dir.join(format!("{name}.db"));
    must(overlap(&db).arg("init").output(), "overlap init");
    let start = Instant::now();
    let out = must(
        overlap(&db)
            .args(["dataset", "import", "bench"])
            .arg(file)
            .env("OVERLAP_REPORT_PEAK_MEMORY", "1")
            .output(),
        "overlap dataset import",
    );
    let seconds = start.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let digest = stdout
        .lines()
        .next()
        .and_then(|l| l.split_once(' '))
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    let peak_mb = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak memory: "))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|n| n.trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0);
    Imported {
        seconds,
        digest,
        peak_mb,
    }
}

fn main() {
    let copies: usize = std::env::var("OVERLAP_BENCH_COPIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let dir = tempfile::Builder::new()
        .prefix("overlap-bench-parquet-")
        .tempdir()
        .expect("a temporary directory");
    let lines: Vec<String> = BufReader::new(GzDecoder::new(
        File::open(HH_PATH).expect("the HH-RLHF split in tests/data"),
    ))
    .lines()
    .collect::<Result<_, _>>()
    .expect("read the HH-RLHF split");
    let pairs = dir.path().join("pairs.jsonl");
    let mut out = BufWriter::new(File::create(&pairs).expect("create pairs.jsonl"));
    for _ in 0..copies {
        for line in &lines {
            writeln!(out, "{line}").expect("write pairs.jsonl");
        }
    }
    out.flush().expect("write pairs.jsonl");
    drop(out);
    let rows = lines.len() * copies;
    println!("parquet benchmark: {rows} text pairs (the HH-RLHF split × {copies})");

    let first = import(dir.path(), "jsonl", &pairs);
    let db = dir.path().join("jsonl.db");
    let trl_parquet = dir.path().join("pairs.trl.parquet");
    let trl_jsonl = dir.path().join("pairs.trl.jsonl");
    for path in [&trl_parquet, &trl_jsonl] {
        must(
            overlap(&db)
                .args(["dataset", "export", "bench", "--output"])
                .arg(path)
                .output(),
            "overlap dataset export",
        );
    }
    let text_bytes: usize = BufReader::new(File::open(&trl_jsonl).expect("open the TRL export"))
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(&l.expect("read")).expect("JSON");
            ["prompt", "chosen", "rejected"]
                .iter()
                .map(|k| v[k].as_str().map_or(0, str::len))
                .sum::<usize>()
        })
        .sum();
    let mb = text_bytes as f64 / 1e6;
    let size = |p: &Path| std::fs::metadata(p).map_or(0.0, |m| m.len() as f64 / 1e6);
    println!(
        "  {mb:.0} MB of text; TRL Parquet file {:.0} MB, TRL JSONL file {:.0} MB",
        size(&trl_parquet),
        size(&trl_jsonl)
    );
    let from_parquet = import(dir.path(), "parquet", &trl_parquet);
    let from_jsonl = import(dir.path(), "trl-jsonl", &trl_jsonl);
    println!();
    println!(
        "{:<30} {:>9} {:>14} {:>12}",
        "", "wall s", "MB/s of text", "peak memory"
    );
    for (label, m) in [
        ("HH dialogues, JSON lines", &first),
        ("TRL records, JSON lines", &from_jsonl),
        ("TRL records, Parquet", &from_parquet),
    ] {
        println!(
            "{label:<30} {:>9.2} {:>14.1} {:>12}",
            m.seconds,
            mb / m.seconds,
            m.peak_mb.map_or("n/a".into(), |p| format!("{p:.0} MB"))
        );
    }
    let rate = mb / from_parquet.seconds;
    println!();
    println!(
        "target Parquet import ≥ {TARGET_MB_PER_S} MB/s of text: {rate:.1} MB/s — {}",
        if rate >= TARGET_MB_PER_S {
            "met"
        } else {
            "MISSED"
        }
    );
    let same = first.digest == from_parquet.digest && first.digest == from_jsonl.digest;
    println!("digests {}", if same { "agree" } else { "DIFFER" });
}
