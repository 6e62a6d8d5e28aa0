//! The intervention registry driven through the real binary: init, add/update/retire/acceptance,
//! list/show/log output shapes, the hash chain and `registry verify` catching rows edited, removed
//! or inserted behind the tool's back, and commands on a missing database.

use crate::common;

use common::{ACTOR, Env, assert_close, f, is_sha256_hex};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The 0.975 quantile of the standard normal distribution.
const Z: f64 = 1.959_963_984_540_054;

/// Wilson 95% interval computed as the two roots of (p̂ − p)² = z²·p(1 − p)/n, i.e. of
/// (1 + z²/n)·p² − (2p̂ + z²/n)·p + p̂² = 0 — a different route from the closed form in src/.
fn wilson_by_quadratic(k: u64, n: u64) -> (f64, f64) {
    let n = n as f64;
    let p = k as f64 / n;
    let a = 1.0 + Z * Z / n;
    let b = -(2.0 * p + Z * Z / n);
    let c = p * p;
    let disc = (b * b - 4.0 * a * c).max(0.0).sqrt();
    ((-b - disc) / (2.0 * a), (-b + disc) / (2.0 * a))
}

fn add_shorten(env: &Env) {
    env.ok(&[
        "intervention",
        "add",
        "shorten",
        "--family",
        "length",
        "--intent",
        "cut the response to half its length",
        "--cost",
        "0.5",
        "--target",
        "length",
        "--confound",
        "list",
        "--confound",
        "hedging",
        "--owner",
        "data-team",
        "--description",
        "halves the response",
    ]);
}

fn acceptance(env: &Env, name: &str, bucket: &str, attempts: &str, accepted: &str) {
    env.ok(&[
        "intervention",
        "acceptance",
        name,
        "--bucket",
        bucket,
        "--attempts",
        attempts,
        "--accepted",
        accepted,
    ]);
}

fn bucket<'a>(show: &'a Value, name: &str) -> &'a Value {
    show["acceptance"]
        .as_array()
        .expect("acceptance array")
        .iter()
        .find(|b| b["bucket"] == name)
        .unwrap_or_else(|| panic!("no bucket {name} in {show}"))
}

#[test]
fn init_creates_the_database_and_is_idempotent() {
    let env = Env::new();
    assert!(!env.db().exists());
    env.run(&["init"]).expect_code(0).stdout_has(&[
        "created",
        &format!("schema version {}", overlap::storage::schema_version()),
    ]);
    assert!(env.db().exists());
    env.run(&["init"])
        .expect_code(0)
        .stdout_has(&["already initialized"]);
    let conn = env.sqlite();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal mode");
    assert_eq!(mode.to_lowercase(), "wal");
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("user_version");
    assert_eq!(version, overlap::storage::schema_version());
}

#[test]
fn commands_on_a_missing_database_fail_with_exit_2_and_say_to_run_init() {
    let env = Env::new();
    for args in [
        vec!["dataset", "list"],
        vec!["intervention", "list"],
        vec!["registry", "log"],
        vec!["registry", "verify"],
        vec!["intervention", "show", "shorten"],
        vec![
            "intervention",
            "add",
            "shorten",
            "--family",
            "length",
            "--intent",
            "x",
            "--cost",
            "1",
        ],
    ] {
        env.run(&args)
            .expect_code(2)
            .stderr_has(&["no database at", "overlap init"]);
        assert!(
            !env.db().exists(),
            "`overlap {}` created the database file",
            args.join(" ")
        );
    }
    env.write(
        "d.jsonl",
        "{\"id\":\"c1\",\"delta\":{\"x\":1},\"label\":1}\n",
    );
    env.run(&["dataset", "import", "d", "d.jsonl"])
        .expect_code(2)
        .stderr_has(&["overlap init"]);
    assert!(!env.db().exists());
}

#[test]
fn add_then_list_and_show_in_json() {
    let env = Env::initialized();
    env.run(&[
        "intervention",
        "add",
        "shorten",
        "--family",
        "length",
        "--intent",
        "cut",
        "--cost",
        "0.5",
    ])
    .expect_code(0)
    .stdout_has(&["added shorten@1"]);
    env.add_intervention("expand", "0.25");

    let list = env.json(&["intervention", "list"]);
    let list = list.as_array().expect("list is an array");
    let names: Vec<&str> = list
        .iter()
        .map(|i| i["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["expand", "shorten"], "sorted by name");
    let s = &list[1];
    let mut keys: Vec<&str> = s
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "confounds",
            "cost",
            "created_at",
            "created_by",
            "description",
            "family",
            "intent",
            "name",
            "owner",
            "retired",
            "targets",
            "version"
        ]
    );
    assert_eq!(s["version"], 1);
    assert_eq!(s["family"], "length");
    assert_eq!(s["intent"], "cut");
    assert_eq!(f(&s["cost"]), 0.5);
    assert_eq!(s["created_by"], ACTOR);
    assert!(s["retired"].is_null());

    let show = env.json(&["intervention", "show", "expand"]);
    assert_eq!(show["name"], "expand");
    assert_eq!(show["versions"], serde_json::json!([1]));
    assert_eq!(show["acceptance"], serde_json::json!([]));
    assert_eq!(f(&show["cost"]), 0.25);
}

#[test]
fn adding_an_existing_name_is_refused_and_writes_nothing() {
    let env = Env::initialized();
    add_shorten(&env);
    let before = env.state();
    env.run(&[
        "intervention",
        "add",
        "shorten",
        "--family",
        "x",
        "--intent",
        "y",
        "--cost",
        "1",
    ])
    .expect_code(2)
    .stderr_has(&["already exists"]);
    assert_eq!(env.state(), before);
}

#[test]
fn add_rejects_bad_specs() {
    let env = Env::initialized();
    for (args, needle) in [
        (vec!["--intent", "x", "--cost", "1"], "--family"),
        (vec!["--family", "x", "--cost", "1"], "--intent"),
        (vec!["--family", "x", "--intent", "y"], "--cost"),
        (
            vec!["--family", "x", "--intent", "y", "--cost=-1"],
            "--cost",
        ),
        (
            vec!["--family", "x", "--intent", "y", "--cost", "NaN"],
            "--cost",
        ),
        (
            vec!["--family", " ", "--intent", "y", "--cost", "1"],
            "--family",
        ),
    ] {
        let mut all = vec!["intervention", "add", "bad"];
        all.extend(args);
        env.run(&all).expect_code(2).stderr_has(&[needle]);
    }
    env.run(&[
        "intervention",
        "add",
        "Bad Name",
        "--family",
        "x",
        "--intent",
        "y",
        "--cost",
        "1",
    ])
    .expect_code(2)
    .stderr_has(&["invalid intervention name"]);
    assert_eq!(env.json(&["intervention", "list"]), serde_json::json!([]));
    assert_eq!(env.json(&["registry", "log"]), serde_json::json!([]));
}

#[test]
fn update_makes_version_2_and_version_1_stays_readable() {
    let env = Env::initialized();
    add_shorten(&env);
    env.run(&[
        "intervention",
        "update",
        "shorten",
        "--cost",
        "0.75",
        "--target",
        "length",
        "--target",
        "tokens",
    ])
    .expect_code(0)
    .stdout_has(&["now version 2"]);

    let v2 = env.json(&["intervention", "show", "shorten"]);
    assert_eq!(v2["version"], 2);
    assert_eq!(f(&v2["cost"]), 0.75);
    assert_eq!(v2["targets"], serde_json::json!(["length", "tokens"]));
    // Options not given keep their values.
    assert_eq!(v2["confounds"], serde_json::json!(["list", "hedging"]));
    assert_eq!(v2["owner"], "data-team");
    assert_eq!(v2["description"], "halves the response");
    assert_eq!(v2["intent"], "cut the response to half its length");
    assert_eq!(v2["versions"], serde_json::json!([1, 2]));

    let v1 = env.json(&["intervention", "show", "shorten@1"]);
    assert_eq!(v1["version"], 1);
    assert_eq!(f(&v1["cost"]), 0.5);
    assert_eq!(v1["targets"], serde_json::json!(["length"]));
    assert_eq!(v1["versions"], serde_json::json!([1, 2]));

    let v2_explicit = env.json(&["intervention", "show", "shorten@2"]);
    assert_eq!(v2_explicit, v2);

    env.run(&["intervention", "show", "shorten@3"])
        .expect_code(2)
        .stderr_has(&["no version 3", "latest is 2"]);
    env.run(&["intervention", "show", "shorten@x"])
        .expect_code(2)
        .stderr_has(&["NAME@N"]);

    let list = env.json(&["intervention", "list"]);
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(1),
        "list shows latest only"
    );
    assert_eq!(list[0]["version"], 2);
}

#[test]
fn update_that_changes_nothing_is_refused() {
    let env = Env::initialized();
    add_shorten(&env);
    let before = env.state();
    env.run(&["intervention", "update", "shorten", "--cost", "0.5"])
        .expect_code(2)
        .stderr_has(&["nothing to update"]);
    env.run(&["intervention", "update", "nosuch", "--cost", "1"])
        .expect_code(2)
        .stderr_has(&["no intervention named 'nosuch'"]);
    assert_eq!(env.state(), before);
}

#[test]
fn retired_intervention_is_rejected_by_later_imports_but_existing_data_keeps_it() {
    let env = Env::initialized();
    add_shorten(&env);
    let rec = |id: &str, len: f64| {
        format!(
            "{{\"id\":\"{id}\",\"a\":{{\"intervention\":\"shorten\",\"features\":{{\"len\":{len}}}}},\
             \"b\":{{\"features\":{{\"len\":3}}}},\"label\":1}}\n"
        )
    };
    env.write("v1.jsonl", &rec("c1", 1.0));
    let v1 = env.import("d", "v1.jsonl", &[]);
    assert!(v1.created);

    env.run(&[
        "intervention",
        "retire",
        "shorten",
        "--reason",
        "superseded",
    ])
    .expect_code(0)
    .stdout_has(&["retired shorten"]);
    let show = env.json(&["intervention", "show", "shorten"]);
    assert_eq!(show["retired"]["reason"], "superseded");
    assert_eq!(show["retired"]["by"], ACTOR);
    let list = env.json(&["intervention", "list"]);
    assert_eq!(list[0]["retired"]["reason"], "superseded");

    // A new import referencing it is rejected, naming the file, line and field.
    env.write("v2.jsonl", &format!("{}{}", rec("c1", 1.0), rec("c2", 2.0)));
    let before = env.state();
    env.run(&["dataset", "import", "d", "v2.jsonl"])
        .expect_code(2)
        .stderr_has(&[
            "v2.jsonl:1: a.intervention:",
            "v2.jsonl:2: a.intervention:",
            "'shorten' is retired",
        ]);
    assert_eq!(env.state(), before);

    // The existing version still references it.
    let exported = env.ok(&["dataset", "export", "d@1", "--output", "jsonl"]);
    assert!(
        exported.contains("\"intervention\":\"shorten\""),
        "{exported}"
    );
    let shown = env.json(&["dataset", "show", "d"]);
    assert_eq!(shown["arms"][0]["name"], "baseline/shorten");

    // A retired intervention can be neither updated, retired again, nor given observations.
    env.run(&["intervention", "update", "shorten", "--cost", "9"])
        .expect_code(2)
        .stderr_has(&["retired"]);
    env.run(&["intervention", "retire", "shorten", "--reason", "again"])
        .expect_code(2)
        .stderr_has(&["already retired"]);
    env.run(&[
        "intervention",
        "acceptance",
        "shorten",
        "--bucket",
        "b",
        "--attempts",
        "2",
        "--accepted",
        "1",
    ])
    .expect_code(2)
    .stderr_has(&["retired"]);
    assert_eq!(env.state(), before);
}

#[test]
fn retire_needs_a_reason() {
    let env = Env::initialized();
    add_shorten(&env);
    env.run(&["intervention", "retire", "shorten", "--reason", "  "])
        .expect_code(2)
        .stderr_has(&["--reason"]);
    env.run(&["intervention", "retire", "shorten"])
        .expect_code(2);
    assert!(env.json(&["intervention", "show", "shorten"])["retired"].is_null());
}

#[test]
fn acceptance_shows_wilson_interval_and_effective_cost_per_bucket() {
    let env = Env::initialized();
    add_shorten(&env);
    env.ok(&["intervention", "update", "shorten", "--cost", "0.6"]);
    // Two observations in the same bucket are pooled: 60 of 80.
    acceptance(&env, "shorten", "benign", "50", "40");
    env.run(&[
        "intervention",
        "acceptance",
        "shorten",
        "--bucket",
        "benign",
        "--attempts",
        "30",
        "--accepted",
        "20",
        "--note",
        "second batch",
    ])
    .expect_code(0)
    .stdout_has(&["recorded 20/30 accepted for shorten in bucket benign"]);
    acceptance(&env, "shorten", "cyber", "10", "10");
    acceptance(&env, "shorten", "self-harm", "5", "0");

    let show = env.json(&["intervention", "show", "shorten"]);
    let buckets: Vec<&str> = show["acceptance"]
        .as_array()
        .expect("acceptance")
        .iter()
        .map(|b| b["bucket"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(buckets, ["benign", "cyber", "self-harm"]);

    for (name, k, n) in [
        ("benign", 60u64, 80u64),
        ("cyber", 10, 10),
        ("self-harm", 0, 5),
    ] {
        let b = bucket(&show, name);
        assert_eq!(b["attempts"], n, "{name}");
        assert_eq!(b["accepted"], k, "{name}");
        let rate = k as f64 / n as f64;
        assert_close(f(&b["acceptance_rate"]), rate, 1e-12);
        let (lo, hi) = wilson_by_quadratic(k, n);
        assert_close(f(&b["wilson_low"]), lo, 1e-9);
        assert_close(f(&b["wilson_high"]), hi, 1e-9);
        // The interval must contain the point estimate, including at k = 0 and k = n.
        assert!(
            f(&b["wilson_low"]) <= rate && rate <= f(&b["wilson_high"]),
            "{name}: [{}, {}] does not contain {rate}",
            b["wilson_low"],
            b["wilson_high"]
        );
        if k == 0 {
            assert!(b["effective_cost"].is_null(), "{name}: c/0 is not a cost");
        } else {
            assert_close(f(&b["effective_cost"]), 0.6 / rate, 1e-12);
        }
    }
    // Reference values (Wilson 95%, computed separately in Python): 60/80 → [0.645153, 0.831938];
    // 10/10 → [0.722467, 1]; 0/5 → [0, 0.434482].
    let b = bucket(&show, "benign");
    assert_close(f(&b["wilson_low"]), 0.645_153, 1e-6);
    assert_close(f(&b["wilson_high"]), 0.831_938, 1e-6);
    assert_close(f(&b["effective_cost"]), 0.8, 1e-12);
    assert_close(f(&bucket(&show, "cyber")["wilson_low"]), 0.722_467, 1e-6);
    assert_close(f(&bucket(&show, "cyber")["wilson_high"]), 1.0, 1e-12);
    assert_close(
        f(&bucket(&show, "self-harm")["wilson_high"]),
        0.434_482,
        1e-6,
    );
    assert_eq!(f(&bucket(&show, "self-harm")["wilson_low"]), 0.0);

    // Version 1 prices acceptance with its own cost.
    let v1 = env.json(&["intervention", "show", "shorten@1"]);
    assert_close(
        f(&bucket(&v1, "benign")["effective_cost"]),
        0.5 / 0.75,
        1e-12,
    );

    let human = env.ok(&["intervention", "show", "shorten"]);
    assert!(human.contains("60/80"), "{human}");
    assert!(human.contains("[0.6452, 0.8319]"), "{human}");
}

#[test]
fn acceptance_rejects_impossible_observations() {
    let env = Env::initialized();
    add_shorten(&env);
    let before = env.state();
    for (attempts, accepted, needle) in [("0", "0", "--attempts"), ("5", "6", "cannot exceed")] {
        env.run(&[
            "intervention",
            "acceptance",
            "shorten",
            "--bucket",
            "b",
            "--attempts",
            attempts,
            "--accepted",
            accepted,
        ])
        .expect_code(2)
        .stderr_has(&[needle]);
    }
    env.run(&[
        "intervention",
        "acceptance",
        "nosuch",
        "--bucket",
        "b",
        "--attempts",
        "5",
        "--accepted",
        "1",
    ])
    .expect_code(2)
    .stderr_has(&["nosuch"]);
    assert_eq!(env.state(), before);
}

/// A registry with one event of each kind: add, update, acceptance, retire (seq 1..=5).
fn registry_with_history(env: &Env) {
    add_shorten(env);
    env.add_intervention("expand", "0.25");
    env.ok(&["intervention", "update", "shorten", "--cost", "0.6"]);
    acceptance(env, "shorten", "benign", "10", "7");
    env.ok(&["intervention", "retire", "expand", "--reason", "unused"]);
}

#[test]
fn registry_log_json_records_every_change_in_a_chain() {
    let env = Env::initialized();
    registry_with_history(&env);
    env.ok(&[
        "--actor",
        "alice",
        "intervention",
        "add",
        "hedge",
        "--family",
        "tone",
        "--intent",
        "hedge",
        "--cost",
        "0.1",
    ]);
    let log = env.json(&["registry", "log"]);
    let events = log.as_array().expect("log is an array");
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or(""),
                e["subject"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("add", "shorten"),
            ("add", "expand"),
            ("update", "shorten"),
            ("acceptance", "shorten"),
            ("retire", "expand"),
            ("add", "hedge")
        ]
    );
    let mut prev = "0".repeat(64);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["seq"], i as u64 + 1);
        assert_eq!(e["prev_hash"], prev.as_str(), "event {}", i + 1);
        let hash = e["hash"].as_str().expect("hash");
        assert!(is_sha256_hex(hash), "{hash}");
        assert!(e["at"].as_str().is_some_and(|t| t.ends_with('Z')));
        prev = hash.to_string();
    }
    for e in &events[..5] {
        assert_eq!(e["actor"], ACTOR);
    }
    assert_eq!(
        events[5]["actor"], "alice",
        "--actor overrides OVERLAP_ACTOR"
    );

    // The full before/after state is recorded.
    assert!(events[0]["before"].is_null());
    assert_eq!(events[0]["after"]["version"], 1);
    assert_eq!(f(&events[2]["before"]["cost"]), 0.5);
    assert_eq!(f(&events[2]["after"]["cost"]), 0.6);
    assert_eq!(events[2]["after"]["version"], 2);
    assert_eq!(events[3]["after"]["attempts"], 10);
    assert_eq!(events[3]["after"]["accepted"], 7);
    assert!(events[4]["before"]["retired"].is_null());
    assert_eq!(events[4]["after"]["retired"]["reason"], "unused");

    let human = env.ok(&["registry", "log"]);
    assert_eq!(human.lines().count(), 6, "{human}");
}

/// A registry event row exactly as stored.
#[derive(Debug, Clone)]
struct StoredEvent {
    seq: i64,
    at: String,
    actor: String,
    kind: String,
    subject: String,
    before: Option<String>,
    after: Option<String>,
    prev_hash: String,
    hash: String,
}

impl StoredEvent {
    /// The documented canonical JSON: fixed field order, before/after embedded as stored.
    fn canonical(&self) -> String {
        let q = |s: &str| serde_json::to_string(s).expect("quote");
        format!(
            "{{\"seq\":{},\"at\":{},\"actor\":{},\"kind\":{},\"subject\":{},\"before\":{},\"after\":{}}}",
            self.seq,
            q(&self.at),
            q(&self.actor),
            q(&self.kind),
            q(&self.subject),
            self.before.as_deref().unwrap_or("null"),
            self.after.as_deref().unwrap_or("null"),
        )
    }

    /// SHA-256(previous hash ‖ canonical JSON), as lowercase hex.
    fn expected_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.prev_hash.as_bytes());
        h.update(self.canonical().as_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn stored_events(conn: &rusqlite::Connection) -> Vec<StoredEvent> {
    let mut stmt = conn
        .prepare(
            "SELECT seq, at, actor, kind, subject, before, after, prev_hash, hash
             FROM registry_events ORDER BY seq",
        )
        .expect("prepare");
    stmt.query_map([], |r| {
        Ok(StoredEvent {
            seq: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            kind: r.get(3)?,
            subject: r.get(4)?,
            before: r.get(5)?,
            after: r.get(6)?,
            prev_hash: r.get(7)?,
            hash: r.get(8)?,
        })
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

#[test]
fn event_hash_is_sha256_of_previous_hash_and_canonical_event_json() {
    let env = Env::initialized();
    registry_with_history(&env);
    let events = stored_events(&env.sqlite());
    assert_eq!(events.len(), 5);
    let mut prev = "0".repeat(64);
    for e in events {
        assert_eq!(e.prev_hash, prev, "event {}", e.seq);
        assert_eq!(e.hash, e.expected_hash(), "event {}", e.seq);
        prev = e.hash;
    }
}

#[test]
fn verify_passes_on_an_untouched_registry() {
    let env = Env::initialized();
    env.run(&["registry", "verify"])
        .expect_code(0)
        .stdout_has(&["registry intact: 0 events"]);
    registry_with_history(&env);
    env.run(&["registry", "verify"])
        .expect_code(0)
        .stdout_has(&["registry intact: 5 events"]);
    let v = env.json(&["registry", "verify"]);
    assert_eq!(v["intact"], true);
    assert_eq!(v["events_checked"], 5);
    assert!(v["first_broken"].is_null());
    let log = env.json(&["registry", "log"]);
    assert_eq!(v["head"], log[4]["hash"]);
}

#[test]
fn the_append_only_triggers_refuse_plain_sql_edits() {
    let env = Env::initialized();
    registry_with_history(&env);
    let conn = env.sqlite();
    let err = conn
        .execute(
            "UPDATE registry_events SET actor = 'mallory' WHERE seq = 2",
            [],
        )
        .expect_err("the trigger refuses updates");
    assert!(err.to_string().contains("append-only"), "{err}");
    let err = conn
        .execute("DELETE FROM registry_events WHERE seq = 5", [])
        .expect_err("the trigger refuses deletes");
    assert!(err.to_string().contains("append-only"), "{err}");
}

#[test]
fn verify_catches_a_row_edited_with_plain_sql() {
    let env = Env::initialized();
    registry_with_history(&env);
    {
        let conn = env.sqlite();
        conn.execute_batch(
            "DROP TRIGGER registry_events_no_update;
             UPDATE registry_events SET after = replace(after, '0.6', '0.06') WHERE seq = 3;",
        )
        .expect("tamper");
    }
    env.run(&["registry", "verify"])
        .expect_code(1)
        .stdout_has(&["BROKEN at event 3", "altered"]);
    let v = env
        .run(&["registry", "verify", "--format", "json"])
        .expect_code(1)
        .json();
    assert_eq!(v["intact"], false);
    assert_eq!(v["first_broken"]["seq"], 3);
    assert_eq!(v["events_checked"], 2);
}

#[test]
fn verify_catches_an_edited_actor_in_the_first_event() {
    let env = Env::initialized();
    registry_with_history(&env);
    {
        let conn = env.sqlite();
        conn.execute_batch(
            "DROP TRIGGER registry_events_no_update;
             UPDATE registry_events SET actor = 'mallory' WHERE seq = 1;",
        )
        .expect("tamper");
    }
    env.run(&["registry", "verify"])
        .expect_code(1)
        .stdout_has(&["BROKEN at event 1"]);
}

#[test]
fn verify_catches_a_rehashed_edit_through_the_next_events_link() {
    // A forger who recomputes the edited event's own hash still breaks the next event's link.
    let env = Env::initialized();
    registry_with_history(&env);
    {
        let conn = env.sqlite();
        let mut forged = stored_events(&conn)[1].clone();
        forged.actor.push_str("-forged");
        forged.hash = forged.expected_hash();
        conn.execute_batch("DROP TRIGGER registry_events_no_update;")
            .expect("drop trigger");
        conn.execute(
            "UPDATE registry_events SET actor = ?1, hash = ?2 WHERE seq = 2",
            rusqlite::params![forged.actor, forged.hash],
        )
        .expect("tamper");
    }
    let v = env
        .run(&["registry", "verify", "--format", "json"])
        .expect_code(1)
        .json();
    assert_eq!(v["first_broken"]["seq"], 3, "{v}");
}

#[test]
fn verify_catches_the_last_event_deleted() {
    let env = Env::initialized();
    registry_with_history(&env);
    {
        let conn = env.sqlite();
        conn.execute_batch(
            "DROP TRIGGER registry_events_no_delete;
             DELETE FROM registry_events WHERE seq = 5;",
        )
        .expect("tamper");
    }
    env.run(&["registry", "verify"])
        .expect_code(1)
        .stdout_has(&["BROKEN at event 5", "removed"]);
}

#[test]
fn verify_catches_a_middle_event_deleted() {
    let env = Env::initialized();
    registry_with_history(&env);
    {
        let conn = env.sqlite();
        conn.execute_batch(
            "DROP TRIGGER registry_events_no_delete;
             DELETE FROM registry_events WHERE seq = 2;",
        )
        .expect("tamper");
    }
    env.run(&["registry", "verify"])
        .expect_code(1)
        .stdout_has(&["BROKEN at event 2", "missing"]);
}

#[test]
fn verify_catches_every_event_deleted() {
    let env = Env::initialized();
    registry_with_history(&env);
    {
        let conn = env.sqlite();
        conn.execute_batch(
            "DROP TRIGGER registry_events_no_delete;
             DELETE FROM registry_events;",
        )
        .expect("tamper");
    }
    env.run(&["registry", "verify"])
        .expect_code(1)
        .stdout_has(&["BROKEN at event 1"]);
}

#[test]
fn verify_catches_an_event_appended_behind_the_tools_back() {
    // The appended row carries a correctly chained hash; only the recorded head betrays it.
    let env = Env::initialized();
    registry_with_history(&env);
    {
        let conn = env.sqlite();
        let mut forged = StoredEvent {
            seq: 6,
            at: "2030-01-01T00:00:00Z".into(),
            actor: "mallory".into(),
            kind: "retire".into(),
            subject: "shorten".into(),
            before: None,
            after: None,
            prev_hash: stored_events(&conn)[4].hash.clone(),
            hash: String::new(),
        };
        forged.hash = forged.expected_hash();
        conn.execute(
            "INSERT INTO registry_events (seq, at, actor, kind, subject, before, after, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, NULL, NULL, ?6, ?7)",
            rusqlite::params![
                forged.seq,
                forged.at,
                forged.actor,
                forged.kind,
                forged.subject,
                forged.prev_hash,
                forged.hash
            ],
        )
        .expect("insert");
    }
    let v = env
        .run(&["registry", "verify", "--format", "json"])
        .expect_code(1)
        .json();
    assert_eq!(v["intact"], false);
    assert_eq!(v["first_broken"]["seq"], 6, "{v}");
}

/// Another process holding the write lock: a registry write waits for it (BEGIN IMMEDIATE under
/// the busy timeout) instead of failing at once, and when it cannot get the lock within `--wait`
/// it fails once, with one message saying what happened and what to do.
#[test]
fn registry_writes_wait_for_the_lock_and_fail_once_with_one_clear_message() {
    let env = Env::initialized();
    add_shorten(&env);
    let holder = env.sqlite();
    holder
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take the lock");
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        holder.execute_batch("COMMIT").expect("release the lock");
    });
    let started = std::time::Instant::now();
    acceptance(&env, "shorten", "general", "10", "7");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1000),
        "the write did not wait for the lock"
    );
    release.join().expect("the holder thread");

    let holder = env.sqlite();
    holder
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take the lock");
    let run = env
        .run(&[
            "--wait",
            "0.2",
            "intervention",
            "acceptance",
            "shorten",
            "--bucket",
            "general",
            "--attempts",
            "5",
            "--accepted",
            "1",
        ])
        .expect_code(2)
        .stderr_has(&["the database is busy", "--wait SECONDS", "0.2 s"]);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(!run.stderr.contains("locked"), "{}", run.stderr);
    holder.execute_batch("ROLLBACK").expect("release the lock");
    let show = env.json(&["intervention", "show", "shorten"]);
    assert_eq!(bucket(&show, "general")["attempts"], 10, "{show}");

    env.run(&["--wait=-1", "registry", "log"])
        .expect_code(2)
        .stderr_has(&["non-negative number of seconds"]);
}
