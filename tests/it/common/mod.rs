//! Shared helpers for the integration tests: a temporary directory holding one database, and an
//! `overlap` command builder bound to it (`--db` set, `OVERLAP_ACTOR=tester`, run inside the
//! directory so that input files can be named relatively and error messages show short names).
//!
//! Helpers panic with the command line, exit code and both output streams when a command does not
//! end as expected, so a failing test explains itself. Nothing here decides what a test checks.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tempfile::TempDir;

/// The actor every test command runs as.
pub(crate) const ACTOR: &str = "tester";

/// What one command did.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub args: Vec<String>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn describe(&self) -> String {
        format!(
            "overlap {}\nexit code: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args.join(" "),
            self.code,
            self.stdout,
            self.stderr
        )
    }

    /// Asserts the exit code and returns self.
    pub(crate) fn expect_code(self, code: i32) -> Run {
        assert_eq!(self.code, code, "unexpected exit code\n{}", self.describe());
        self
    }

    /// Asserts that stderr contains every needle.
    pub(crate) fn stderr_has(self, needles: &[&str]) -> Run {
        for n in needles {
            assert!(
                self.stderr.contains(n),
                "stderr lacks {n:?}\n{}",
                self.describe()
            );
        }
        self
    }

    /// Asserts that stdout contains every needle.
    pub(crate) fn stdout_has(self, needles: &[&str]) -> Run {
        for n in needles {
            assert!(
                self.stdout.contains(n),
                "stdout lacks {n:?}\n{}",
                self.describe()
            );
        }
        self
    }

    /// Parses stdout as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", self.describe()))
    }
}

/// The result of `dataset import --format json`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Imported {
    pub dataset: String,
    pub version: u64,
    pub digest: String,
    pub created: bool,
    pub rows: u64,
    pub dropped_ties: u64,
}

/// Everything a failed command must leave untouched.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DbState {
    pub datasets: Value,
    pub registry: Value,
    pub interventions: Value,
    pub row_counts: BTreeMap<String, i64>,
}

/// A temporary directory with a database path inside it.
pub(crate) struct Env {
    dir: TempDir,
    db: PathBuf,
}

impl Env {
    /// A fresh directory; the database does not exist yet.
    pub(crate) fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("overlap-test-")
            .tempdir()
            .expect("create a temporary directory");
        let db = dir.path().join("test.db");
        Env { dir, db }
    }

    /// A fresh directory with an initialized database.
    pub(crate) fn initialized() -> Env {
        let env = Env::new();
        env.ok(&["init"]);
        env
    }

    pub(crate) fn db(&self) -> &Path {
        &self.db
    }

    /// A path inside the temporary directory.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The `overlap` binary with `--db`, the test actor and the directory as working directory.
    pub(crate) fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_overlap"));
        cmd.current_dir(self.dir.path())
            .env_remove("OVERLAP_DB")
            .env_remove("OVERLAP_REPORT_PEAK_MEMORY")
            .env_remove("OVERLAP_WAIT")
            .env("OVERLAP_ACTOR", ACTOR)
            .arg("--db")
            .arg(&self.db);
        cmd
    }

    fn finish(args: &[&str], cmd: &mut assert_cmd::Command) -> Run {
        let out = cmd.output().expect("run the overlap binary");
        Run {
            args: args.iter().map(|s| s.to_string()).collect(),
            // A signal (no code) is reported as -1 so that it never passes as a success.
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs a command and returns what it did, whatever the exit code.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        let mut cmd = self.cmd();
        cmd.args(args);
        Env::finish(args, &mut cmd)
    }

    /// Runs a command with `stdin` as standard input.
    pub(crate) fn run_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        let mut cmd = self.cmd();
        cmd.args(args).write_stdin(stdin.to_vec());
        Env::finish(args, &mut cmd)
    }

    /// Runs a command that must succeed and returns its stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        self.run(args).expect_code(0).stdout
    }

    /// Runs a command that must succeed and parses its stdout as JSON (`--format json` is added).
    pub(crate) fn json(&self, args: &[&str]) -> Value {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--format", "json"]);
        self.run(&all).expect_code(0).json()
    }

    /// Writes a file in the directory and returns its path.
    pub(crate) fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).expect("write a fixture file");
        p
    }

    /// Writes gzip-compressed content.
    pub(crate) fn write_gz(&self, name: &str, content: &str) -> PathBuf {
        let p = self.path(name);
        let f = std::fs::File::create(&p).expect("create a gzip fixture");
        let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::default());
        gz.write_all(content.as_bytes())
            .expect("compress a fixture");
        gz.finish().expect("finish a gzip fixture");
        p
    }

    pub(crate) fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).expect("read a file of the test directory")
    }

    /// Registers an intervention with fixed family, intent and cost.
    pub(crate) fn add_intervention(&self, name: &str, cost: &str) {
        self.ok(&[
            "intervention",
            "add",
            name,
            "--family",
            "length",
            "--intent",
            "test intervention",
            "--cost",
            cost,
        ]);
    }

    /// Imports with `--format json` and returns the parsed report; the import must succeed.
    pub(crate) fn import(&self, dataset: &str, file: &str, extra: &[&str]) -> Imported {
        let mut args = vec!["dataset", "import", dataset, file];
        args.extend_from_slice(extra);
        let v = self.json(&args);
        Imported {
            dataset: v["dataset"].as_str().expect("dataset").to_string(),
            version: v["version"].as_u64().expect("version"),
            digest: v["digest"].as_str().expect("digest").to_string(),
            created: v["created"].as_bool().expect("created"),
            rows: v["rows"].as_u64().expect("rows"),
            dropped_ties: v["dropped_ties"].as_u64().expect("dropped_ties"),
        }
    }

    /// A direct connection to the database, as a user with the sqlite3 shell would have.
    pub(crate) fn sqlite(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.db).expect("open the database with rusqlite")
    }

    /// Row counts of every table, by name.
    pub(crate) fn row_counts(&self) -> BTreeMap<String, i64> {
        let conn = self.sqlite();
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .expect("list tables");
        let names: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .expect("query tables")
            .collect::<Result<_, _>>()
            .expect("read table names");
        names
            .into_iter()
            .map(|t| {
                let n: i64 = conn
                    .query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0))
                    .expect("count rows");
                (t, n)
            })
            .collect()
    }

    /// What the tool and the tables show, for before/after comparisons around a failing command.
    pub(crate) fn state(&self) -> DbState {
        DbState {
            datasets: self.json(&["dataset", "list"]),
            registry: self.json(&["registry", "log"]),
            interventions: self.json(&["intervention", "list"]),
            row_counts: self.row_counts(),
        }
    }
}

/// Whether `s` is a lowercase hex SHA-256.
pub(crate) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Asserts two floats agree to a relative tolerance (absolute near zero).
#[track_caller]
pub(crate) fn assert_close(actual: f64, expected: f64, tol: f64) {
    let scale = expected.abs().max(1.0);
    assert!(
        (actual - expected).abs() <= tol * scale,
        "expected {expected}, found {actual} (tolerance {tol})"
    );
}

/// A JSON value as f64, panicking with the value when it is not a number.
#[track_caller]
pub(crate) fn f(v: &Value) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("expected a number, found {v}"))
}

/// A fresh temporary folder holding a copy of the demo's folder `d/` (its database, policies, keys
/// and reports). The demo runs once per test process (`overlap demo --dir d`, actor `tester`) into
/// a template under Cargo's target tmp folder; each caller gets its own copy to change.
pub(crate) fn demo_copy() -> tempfile::TempDir {
    static TEMPLATE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("demo-template-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("template folder")
            .keep();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_overlap"))
            .current_dir(&dir)
            .env_remove("OVERLAP_DB")
            .env("OVERLAP_ACTOR", "tester")
            .args(["demo", "--dir", "d"])
            .output()
            .expect("run the demo");
        assert!(
            out.status.success(),
            "the demo failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir.join("d")
    });
    let copy = tempfile::tempdir().expect("temporary folder");
    copy_tree(template, &copy.path().join("d"));
    copy
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("read the template") {
        let entry = entry.expect("template entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a template file");
        }
    }
}
