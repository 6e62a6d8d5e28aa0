//! What a person's habits expect of a command line: shell completions and manual pages, errors as
//! one JSON object under `--format json` (same exit code, file/line/field when known), one prefix
//! per policy diagnostic, and an actor recorded even where `$USER` is empty.

use serde_json::Value;

use crate::common::Env;

#[test]
fn completions_for_every_shell_name_every_command() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = env.ok(&["completions", shell]);
        for command in ["dataset", "import", "gate", "completions", "format"] {
            assert!(
                script.contains(command),
                "{shell} completions lack {command}"
            );
        }
    }
    // The bash script as shipped: a change to the command tree shows up here.
    insta::assert_snapshot!("completions-bash", env.ok(&["completions", "bash"]));
    env.run(&["completions", "tcsh"])
        .expect_code(2)
        .stderr_has(&["possible values: bash, elvish, fish, powershell, zsh"]);
}

#[test]
fn manual_pages_cover_the_command_tree() {
    let env = Env::new();
    let page = env.ok(&["man"]);
    assert!(
        page.starts_with(".ie") && page.contains(".TH overlap 1"),
        "{page}"
    );
    env.run(&["man", "--output", "pages"])
        .expect_code(0)
        .stderr_has(&["wrote the manual pages into pages"]);
    for page in [
        "overlap.1",
        "overlap-dataset-import.1",
        "overlap-gate.1",
        "overlap-completions.1",
    ] {
        let text = std::fs::read_to_string(env.path("pages").join(page)).expect(page);
        assert!(text.contains(".SH NAME"), "{page}");
    }
}

fn error_json(stderr: &str) -> Value {
    let line = stderr
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON object on stderr:\n{stderr}"));
    serde_json::from_str(line).expect("one JSON object")
}

#[test]
fn errors_under_format_json_are_one_json_object_with_the_same_exit_code() {
    let env = Env::initialized();
    // An input problem: file, line and field.
    let bad = env.write(
        "bad.jsonl",
        "{\"id\":\"1\",\"label\":1,\"delta\":{\"x\":1}}\n{\"id\":\"2\",\"label\":7,\"delta\":{\"x\":1}}\n",
    );
    let run = env
        .run(&[
            "dataset",
            "import",
            "d",
            bad.to_str().unwrap(),
            "--format",
            "json",
        ])
        .expect_code(2);
    let e = error_json(&run.stderr);
    assert_eq!(e["error"]["code"], "input/rejected");
    assert_eq!(e["error"]["total"], 1);
    let problem = &e["error"]["problems"][0];
    assert_eq!(problem["line"], 2);
    assert_eq!(problem["field"], "label");
    assert!(problem["file"].as_str().unwrap().ends_with("bad.jsonl"));

    // A policy with errors: every diagnostic with its code and location.
    env.ok(&[
        "dataset",
        "import",
        "d",
        bad.to_str().unwrap(),
        "--skip-invalid",
        "--rejects",
        "r.jsonl",
    ]);
    let policy = env.write("p.yaml", "version: 1\nname: p\nbogus: 1\nrules: []\n");
    let run = env
        .run(&[
            "gate",
            "d",
            "--policy",
            policy.to_str().unwrap(),
            "--format",
            "json",
        ])
        .expect_code(2);
    let e = error_json(&run.stderr);
    assert_eq!(e["error"]["code"], "policy/invalid");
    let unknown = e["error"]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "policy/unknown-key")
        .expect("the unknown key");
    assert_eq!(unknown["line"], 3);

    // A missing file, a missing dataset and a usage error.
    let e = error_json(
        &env.run(&["dataset", "import", "d", "absent.jsonl", "--format", "json"])
            .expect_code(2)
            .stderr,
    );
    assert_eq!(e["error"]["code"], "input/unreadable");
    assert_eq!(e["error"]["file"], "absent.jsonl");
    let e = error_json(
        &env.run(&["dataset", "show", "nope", "--format", "json"])
            .expect_code(2)
            .stderr,
    );
    assert_eq!(e["error"]["code"], "store");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no dataset named 'nope'")
    );
    let e = error_json(
        &env.run(&["dataset", "show", "--format=json"])
            .expect_code(2)
            .stderr,
    );
    assert_eq!(e["error"]["code"], "usage");
}

#[test]
fn a_policy_error_is_printed_with_one_prefix() {
    let env = Env::initialized();
    let data = env.write("d.jsonl", "{\"id\":\"1\",\"label\":1,\"delta\":{\"x\":1}}\n{\"id\":\"2\",\"label\":0,\"delta\":{\"x\":2}}\n");
    env.ok(&["dataset", "import", "d", data.to_str().unwrap()]);
    let policy = env.write("p.yaml", "version: 1\nname: p\nbogus: 1\nrules: []\n");
    let run = env
        .run(&["gate", "d", "--policy", policy.to_str().unwrap()])
        .expect_code(2);
    assert!(
        run.stderr.contains("\nerror[policy/unknown-key]:"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("error: error["), "{}", run.stderr);
    assert!(
        run.stderr.contains("the gate did not run"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_actor_falls_back_to_the_account_of_the_uid() {
    let env = Env::initialized();
    let out = env
        .cmd()
        .env_remove("OVERLAP_ACTOR")
        .env("USER", "")
        .env_remove("LOGNAME")
        .env_remove("USERNAME")
        .args([
            "intervention",
            "add",
            "shorten",
            "--family",
            "length",
            "--intent",
            "x",
            "--cost",
            "1",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = env.json(&["registry", "log"]);
    let actor = log[0]["actor"].as_str().expect("an actor").to_string();
    assert_ne!(actor, "unknown");
    assert!(!actor.is_empty());
}

#[test]
fn init_key_generate_retire_and_acceptance_answer_in_json() {
    let env = Env::new();
    let v = env.json(&["init"]);
    assert_eq!(v["created"], true);
    assert_eq!(v["previous_schema_version"], 0);
    let again = env.json(&["init"]);
    assert_eq!(again["created"], false);
    assert_eq!(again["schema_version"], v["schema_version"]);

    let key = env.json(&["key", "generate", "--output", "signer"]);
    assert!(key["secret_key"].as_str().unwrap().ends_with("signer.key"));
    assert!(key["fingerprint"].as_str().is_some_and(|f| !f.is_empty()));

    env.add_intervention("shorten", "1");
    let acc = env.json(&[
        "intervention",
        "acceptance",
        "shorten",
        "--bucket",
        "general",
        "--attempts",
        "10",
        "--accepted",
        "7",
    ]);
    assert_eq!(acc["accepted"], 7);
    assert_eq!(acc["attempts"], 10);
    let retired = env.json(&[
        "intervention",
        "retire",
        "shorten",
        "--reason",
        "superseded",
    ]);
    assert_eq!(retired["retired"], true);
    assert_eq!(retired["reason"], "superseded");
}

#[test]
fn colour_only_on_request_or_on_a_terminal() {
    let env = Env::initialized();
    let data = env.write(
        "d.jsonl",
        "{\"id\":\"1\",\"label\":1,\"delta\":{\"x\":1}}\n{\"id\":\"2\",\"label\":0,\"delta\":{\"x\":2}}\n",
    );
    env.ok(&["dataset", "import", "d", data.to_str().unwrap()]);
    let policy = env.write(
        "p.yaml",
        "version: 1\nname: p\nrules:\n  - id: enough\n    metric: n\n    op: \">=\"\n    threshold: 1\n",
    );
    let policy = policy.to_str().unwrap();
    let escape = "\u{1b}[";
    // Not a terminal: plain text, whatever NO_COLOR says.
    let plain = env.run(&["gate", "d", "--policy", policy]).expect_code(0);
    assert!(!plain.stdout.contains(escape), "{}", plain.stdout);
    let always = env
        .run(&["--color", "always", "gate", "d", "--policy", policy])
        .expect_code(0);
    assert!(
        always
            .stdout
            .contains(&format!("{escape}1m{escape}32mPASS")),
        "{}",
        always.stdout
    );
    let never = env.run(&["gate", "d", "--policy", policy, "--color", "never"]);
    assert!(!never.stdout.contains(escape));
    // Errors on stderr too.
    let err = env
        .run(&["--color", "always", "dataset", "show", "nope"])
        .expect_code(2);
    assert!(
        err.stderr
            .starts_with(&format!("{escape}1m{escape}31merror:")),
        "{}",
        err.stderr
    );
    let out = env
        .cmd()
        .env("NO_COLOR", "1")
        .args(["gate", "d", "--policy", policy])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains(escape));
}

/// On a terminal (a pseudo-terminal from `script`, util-linux), an import shows how much of the
/// file is read with the rate and the time left; without one,
/// stderr stays free of progress.
#[test]
fn import_progress_shows_bytes_eta_and_phases_on_a_terminal_only() {
    let env = Env::initialized();
    let mut records = String::new();
    for i in 0..20_000 {
        records.push_str(&format!(
            "{{\"id\":\"c{i}\",\"bucket\":\"b{}\",\"label\":{},\"delta\":{{\"x\":{}.5,\"y\":{}}}}}\n",
            i % 3,
            i % 2,
            i % 7,
            i % 5
        ));
    }
    let file = env.write("many.jsonl", &records);
    let quiet = env
        .run(&["dataset", "import", "quiet", file.to_str().unwrap()])
        .expect_code(0);
    assert!(
        !quiet.stderr.contains('%') && !quiet.stderr.contains("committing"),
        "{}",
        quiet.stderr
    );

    let command = format!(
        "{} --db {} dataset import shown {}",
        env!("CARGO_BIN_EXE_overlap"),
        env.db().display(),
        file.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("OVERLAP_ACTOR", "tester")
        .env_remove("OVERLAP_DB")
        .output()
        .expect("run script (util-linux)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let screen = String::from_utf8_lossy(&out.stdout);
    // (The steps after reading, "writing the columnar data" and "committing", take too little
    // time on 20,000 rows to be drawn reliably; they show on large imports.)
    for needle in ["importing", "rows [", "% ", "MiB/", "MiB/s", "left)"] {
        assert!(screen.contains(needle), "no '{needle}' in:\n{screen}");
    }
    assert!(screen.contains("imported 20000 comparisons"), "{screen}");
}

#[test]
fn the_demo_answers_in_json_with_its_walkthrough_on_stderr() {
    let env = Env::new();
    let run = env
        .run(&["demo", "--dir", "demo", "--format", "json"])
        .expect_code(0);
    let v = run.json();
    assert_eq!(v["versions"][0]["version"], "demo@1");
    assert!(crate::common::is_sha256_hex(
        v["versions"][1]["digest"].as_str().unwrap()
    ));
    assert_eq!(v["gates"][0]["passed"], false);
    assert_eq!(v["gates"][1]["passed"], true);
    assert_eq!(v["labels"].as_array().unwrap().len(), 2);
    assert!(run.stderr.contains("5. Release gate"), "{}", run.stderr);
}
