//! Layouts told from the file (no `--input`), text pairs in CSV columns, and the checks on the
//! pair fields: a named bucket field no record has, keys no layout reads.

use std::path::Path;

use serde_json::Value;

use crate::common::Env;

const HH: &str = "tests/data/hh-rlhf/hh-rlhf-harmless-test.jsonl.gz";

/// `dataset import NAME FILE ARGS --format json`: (status, stdout JSON or Null, stderr).
fn import(env: &Env, name: &str, file: &Path, args: &[&str]) -> (bool, Value, String) {
    let file = file.to_str().expect("a UTF-8 path");
    let mut all = vec!["dataset", "import", name, file];
    all.extend_from_slice(args);
    all.extend(["--format", "json"]);
    let run = env.run(&all);
    let json = serde_json::from_str(&run.stdout).unwrap_or(Value::Null);
    (run.code == 0, json, run.stderr)
}

fn show(env: &Env, dataset: &str) -> Value {
    env.json(&["dataset", "show", dataset])
}

fn datasets(env: &Env) -> usize {
    env.json(&["dataset", "list"])
        .as_array()
        .map_or(0, Vec::len)
}

#[test]
fn hh_rlhf_needs_no_input_flag_and_says_which_layout_it_took() {
    let env = Env::initialized();
    let hh = Path::new(env!("CARGO_MANIFEST_DIR")).join(HH);
    let (ok, v, err) = import(&env, "hh", &hh, &[]);
    assert!(ok, "{err}");
    assert_eq!(v["rows"], 2312);
    assert!(
        err.contains("HH-RLHF dialogues") && err.contains("told from its first record"),
        "{err}"
    );
    // The same digest as with --input pairs: detection changes nothing about the import.
    let (ok, explicit, err) = import(&env, "hh2", &hh, &["--input", "pairs"]);
    assert!(ok, "{err}");
    assert_eq!(v["digest"], explicit["digest"]);
    assert!(
        !err.contains("told from"),
        "an explicit --input is not announced: {err}"
    );
}

#[test]
fn every_jsonl_layout_is_detected() {
    let env = Env::initialized();
    let cases = [
        (
            "records",
            r#"{"id":"1","label":1,"a":{"features":{"x":1.0}},"b":{"features":{"x":0.0}}}
{"id":"2","label":0,"a":{"features":{"x":0.5}},"b":{"features":{"x":2.0}}}
"#,
            "comparison records",
        ),
        (
            "trl",
            r#"{"prompt":"Q","chosen":"A long answer.","rejected":"No."}
{"prompt":"Q2","chosen":"Yes.","rejected":"I cannot help, sorry."}
"#,
            "TRL standard, explicit prompt",
        ),
        (
            "conversational",
            r#"{"chosen":[{"role":"user","content":"Q"},{"role":"assistant","content":"A long answer."}],"rejected":[{"role":"user","content":"Q"},{"role":"assistant","content":"No."}]}
{"chosen":[{"role":"user","content":"Q2"},{"role":"assistant","content":"Yes."}],"rejected":[{"role":"user","content":"Q2"},{"role":"assistant","content":"Sorry, I can't."}]}
"#,
            "TRL conversational, implicit prompt",
        ),
        (
            "ab",
            r#"{"prompt":"Q","response_a":"A long answer.","response_b":"No.","label":1}
{"prompt":"Q2","response_a":"Yes.","response_b":"Sorry, I can't.","label":0}
"#,
            "response_a and response_b",
        ),
    ];
    for (name, text, layout) in cases {
        let file = env.write(&format!("{name}.jsonl"), text);
        let (ok, v, err) = import(&env, name, &file, &[]);
        assert!(ok, "{name}: {err}");
        assert_eq!(v["rows"], 2, "{name}");
        // Records are what a .jsonl name says, so only a pair layout is announced.
        assert_eq!(err.contains(layout), name != "records", "{name}: {err}");
    }
    // Records keep their explicit features; pairs get the map's.
    assert_eq!(show(&env, "records")["schema"]["features"][0], "x");
    assert_eq!(show(&env, "trl")["schema"]["feature_map"], "text-v2");
    assert_eq!(show(&env, "ab")["label_balance"], 0.5);
}

#[test]
fn a_record_that_fits_no_layout_gets_the_importers_problems() {
    let env = Env::initialized();
    let file = env.write("odd.jsonl", "{\"id\":\"1\",\"text\":\"x\"}\n");
    let (ok, _, err) = import(&env, "odd", &file, &[]);
    assert!(!ok);
    assert!(err.contains("odd.jsonl:1"), "{err}");
    assert!(!err.contains("told from"), "{err}");
    assert_eq!(datasets(&env), 0);
}

#[test]
fn text_pairs_in_csv_columns() {
    let env = Env::initialized();
    let csv = env.write(
        "pairs.csv",
        "id,prompt,chosen,rejected,topic\n\
         p1,Q1,\"A long, careful answer\",No,health\n\
         p2,Q2,Yes,\"I can't help with that, sorry\",\"legal\"\n",
    );
    let (ok, v, err) = import(&env, "csvpairs", &csv, &["--bucket-field", "topic"]);
    assert!(ok, "{err}");
    assert_eq!(v["rows"], 2);
    assert!(
        err.contains("text pairs in CSV columns") && err.contains("its header"),
        "{err}"
    );
    let s = show(&env, "csvpairs");
    let buckets: Vec<&str> = s["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b["name"].as_str().expect("name"))
        .collect();
    assert_eq!(buckets, ["health", "legal"]);

    // The same pairs as JSONL give the same digest: CSV is only another way to write them.
    let jsonl = env.write("pairs.jsonl",
        concat!(
            r#"{"id":"p1","prompt":"Q1","chosen":"A long, careful answer","rejected":"No","topic":"health"}"#,
            "\n",
            r#"{"id":"p2","prompt":"Q2","chosen":"Yes","rejected":"I can't help with that, sorry","topic":"legal"}"#,
            "\n"
        ),
    );
    let (ok, j, err) = import(&env, "jsonlpairs", &jsonl, &["--bucket-field", "topic"]);
    assert!(ok, "{err}");
    assert_eq!(j["digest"], v["digest"]);

    // response_a/response_b with a numeric label column, through --input pairs.
    let ab = env.write(
        "ab.csv",
        "prompt,response_a,response_b,label\nQ,Short,\"A much longer answer\",0\nQ2,Fine,No,1\n",
    );
    let (ok, v, err) = import(&env, "abcsv", &ab, &["--input", "pairs"]);
    assert!(ok, "{err}");
    assert_eq!(v["rows"], 2);
    // A bad label is located by line and column.
    let bad = env.write(
        "bad.csv",
        "prompt,response_a,response_b,label\nQ,A,B,1\nQ2,A,B,maybe\n",
    );
    let (ok, _, err) = import(&env, "bad", &bad, &[]);
    assert!(!ok);
    assert!(err.contains("bad.csv:3") && err.contains("label"), "{err}");
    assert_eq!(datasets(&env), 3);
}

#[test]
fn a_named_field_no_record_has_is_an_error_and_unknown_keys_are_one_warning() {
    let env = Env::initialized();
    let file = env.write(
        "pairs.jsonl",
        concat!(
            r#"{"prompt":"Q","chosen":"A","rejected":"B","category":"x","source":"web"}"#,
            "\n",
            r#"{"prompt":"Q2","chosen":"C","rejected":"D","category":"y","score":3}"#,
            "\n"
        ),
    );
    let (ok, _, err) = import(&env, "typo", &file, &["--bucket-field", "categroy"]);
    assert!(!ok);
    assert!(
        err.contains("--bucket-field: no record has the field 'categroy'")
            && err.contains("prompt, chosen, rejected, category, source"),
        "{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(datasets(&env), 0);

    let (ok, _, err) = import(&env, "grouped", &file, &["--group-field", "nothing"]);
    assert!(!ok);
    assert!(
        err.contains("--group-field: no record has the field 'nothing'"),
        "{err}"
    );

    // Without --bucket-field, `category` is not read: one warning names every ignored key once.
    let (ok, _, err) = import(&env, "pairs", &file, &[]);
    assert!(ok, "{err}");
    assert_eq!(err.matches("warning:").count(), 1, "{err}");
    assert!(
        err.contains("ignored fields not read by the text-pair layouts: category, score, source"),
        "{err}"
    );
    // Named as the bucket field, `category` is read and no longer ignored.
    let (ok, _, err) = import(&env, "bucketed", &file, &["--bucket-field", "category"]);
    assert!(ok, "{err}");
    assert!(
        err.contains("ignored fields not read by the text-pair layouts: score, source"),
        "{err}"
    );
}

/// The ids of a version, in row order (by `dataset export`).
fn ids(env: &Env, dataset: &str) -> Vec<String> {
    env.ok(&["dataset", "export", dataset])
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("json");
            v["id"].as_str().expect("id").to_string()
        })
        .collect()
}

#[test]
fn id_from_line_content_or_a_field() {
    let env = Env::initialized();
    let r1 = r#"{"label":1,"a":{"features":{"x":1.0}},"b":{"features":{"x":0.0}}}"#;
    let r2 = r#"{"label":0,"a":{"features":{"x":0.5}},"b":{"features":{"x":2.0}}}"#;
    let file = env.write("noids.jsonl", &format!("{r1}\n{r2}\n"));
    // Another field is unknown unless --id-from names it.
    let keyed = env.write(
        "keyed.jsonl",
        &format!(
            "{}\n{}\n",
            r1.replacen('{', r#"{"key":"k1","#, 1),
            r2.replacen('{', r#"{"key":"k2","#, 1)
        ),
    );
    let (ok, _, err) = import(&env, "unknown", &keyed, &[]);
    assert!(!ok && err.contains("key: unknown field"), "{err}");
    let (ok, _, err) = import(&env, "noids", &file, &[]);
    assert!(!ok);
    assert!(err.contains("--id-from line|content|FIELD"), "{err}");
    assert_eq!(datasets(&env), 0);

    let (ok, _, err) = import(&env, "bykey", &keyed, &["--id-from", "key"]);
    assert!(ok, "{err}");
    assert_eq!(ids(&env, "bykey"), ["k1", "k2"]);
    let (ok, _, err) = import(&env, "byline", &file, &["--id-from", "line"]);
    assert!(ok, "{err}");
    assert_eq!(ids(&env, "byline"), ["line-1", "line-2"]);

    // Content ids follow the record, not its position: reordered, the same records keep theirs.
    let (ok, _, err) = import(&env, "content", &file, &["--id-from", "content"]);
    assert!(ok, "{err}");
    let first = ids(&env, "content");
    assert!(
        first
            .iter()
            .all(|id| id.starts_with("sha256:") && id.len() == 7 + 24),
        "{first:?}"
    );
    let swapped = env.write("swapped.jsonl", &format!("{r2}\n{r1}\n"));
    let (ok, _, err) = import(&env, "content2", &swapped, &["--id-from", "content"]);
    assert!(ok, "{err}");
    assert_eq!(ids(&env, "content2"), [first[1].clone(), first[0].clone()]);

    // An identical record twice is a duplicate, named as such.
    let twice = env.write("twice.jsonl", &format!("{r1}\n{r2}\n{r1}\n"));
    let (ok, _, err) = import(&env, "twice", &twice, &["--id-from", "content"]);
    assert!(!ok);
    assert!(
        err.contains("twice.jsonl:3") && err.contains("the same content as line 1"),
        "{err}"
    );

    // A field no record has is located on every line; CSV takes a column.
    let (ok, _, err) = import(&env, "nokey", &file, &["--id-from", "nokey"]);
    assert!(!ok);
    assert!(err.contains("noids.jsonl:1: nokey"), "{err}");
    let csv = env.write("rows.csv", "uid,label,delta.x\nu1,1,0.5\nu2,0,-1.0\n");
    let (ok, _, err) = import(&env, "csvuid", &csv, &["--id-from", "uid"]);
    assert!(ok, "{err}");
    assert_eq!(ids(&env, "csvuid"), ["u1", "u2"]);
    let plain = env.write("plain.csv", "label,delta.x\n1,0.5\n0,-1.0\n");
    let (ok, _, err) = import(&env, "csvline", &plain, &["--id-from", "line"]);
    assert!(ok, "{err}");
    assert_eq!(ids(&env, "csvline"), ["line-2", "line-3"]);
    let (ok, _, err) = import(&env, "csvmissing", &csv, &["--id-from", "nothere"]);
    assert!(!ok);
    assert!(
        err.contains("--id-from: no column 'nothere' holds the ids"),
        "{err}"
    );

    // Text pairs whose ids repeat (a list layout expanded by hand) import with --id-from content.
    let pairs = env.write(
        "repeat.jsonl",
        concat!(
            r#"{"id":"7","prompt":"Q","chosen":"A long answer.","rejected":"No."}"#,
            "\n",
            r#"{"id":"7","prompt":"Q","chosen":"A long answer.","rejected":"Sorry, I can't."}"#,
            "\n"
        ),
    );
    let (ok, _, err) = import(&env, "repeat", &pairs, &[]);
    assert!(!ok && err.contains("duplicate id '7'"), "{err}");
    let (ok, _, err) = import(&env, "repeat", &pairs, &["--id-from", "content"]);
    assert!(ok, "{err}");
}

#[test]
fn together_sharegpt_and_rated_layouts() {
    let env = Env::initialized();
    let together = env.write("together.jsonl",
        concat!(
            r#"{"input":{"messages":[{"role":"user","content":"Q"}]},"preferred_output":[{"role":"assistant","content":"A long, careful answer."}],"non_preferred_output":[{"role":"assistant","content":"No."}]}"#,
            "\n",
            r#"{"input":{"messages":[{"role":"user","content":"Q2"}]},"preferred_output":[{"role":"assistant","content":"Yes."}],"non_preferred_output":[{"role":"assistant","content":"Sorry, I can't."}]}"#,
            "\n"
        ),
    );
    let (ok, t, err) = import(&env, "together", &together, &[]);
    assert!(ok, "{err}");
    assert!(err.contains("Together AI"), "{err}");
    // The same pairs in TRL conversational form have the same content, so the same digest.
    let trl = env.write("trl.jsonl",
        concat!(
            r#"{"prompt":[{"role":"user","content":"Q"}],"chosen":[{"role":"assistant","content":"A long, careful answer."}],"rejected":[{"role":"assistant","content":"No."}]}"#,
            "\n",
            r#"{"prompt":[{"role":"user","content":"Q2"}],"chosen":[{"role":"assistant","content":"Yes."}],"rejected":[{"role":"assistant","content":"Sorry, I can't."}]}"#,
            "\n"
        ),
    );
    let (ok, c, err) = import(&env, "trl", &trl, &[]);
    assert!(ok, "{err}");
    assert_eq!(t["digest"], c["digest"]);

    let sharegpt = env.write("sharegpt.jsonl",
        concat!(
            r#"{"conversations":[{"from":"human","value":"Q"}],"chosen":{"from":"gpt","value":"A long, careful answer."},"rejected":{"from":"gpt","value":"No."}}"#,
            "\n",
            r#"{"conversations":[{"from":"human","value":"Q2"}],"chosen":{"from":"gpt","value":"Yes."},"rejected":{"from":"gpt","value":"Sorry, I can't."}}"#,
            "\n"
        ),
    );
    let (ok, g, err) = import(&env, "sharegpt", &sharegpt, &[]);
    assert!(ok, "{err}");
    assert!(err.contains("ShareGPT ranking"), "{err}");
    assert_eq!(g["digest"], c["digest"]);
    // Problems are named with the line's own keys.
    let bad = env.write("badshare.jsonl",
        r#"{"conversations":[{"from":"human","value":"Q"}],"chosen":{"from":"gpt","value":7},"rejected":{"from":"gpt","value":"No."}}"#,
    );
    let (ok, _, err) = import(&env, "badshare", &bad, &[]);
    assert!(!ok);
    assert!(err.contains("badshare.jsonl:1: chosen.value"), "{err}");

    // Rated pairs: the higher rating is preferred, equal ratings are ties.
    let rated = env.write("rated.jsonl",
        concat!(
            r#"{"prompt":"Q","chosen":"A long, careful answer.","rejected":"No.","chosen_rating":5,"rejected_rating":2}"#,
            "\n",
            r#"{"prompt":"Q2","chosen":"Yes.","rejected":"Sorry, I can't.","chosen_rating":4,"rejected_rating":4}"#,
            "\n",
            r#"{"prompt":"Q3","chosen":"Maybe.","rejected":"Certainly, here it is.","chosen_rating":1,"rejected_rating":3.5}"#,
            "\n"
        ),
    );
    let (ok, _, err) = import(&env, "rated", &rated, &[]);
    assert!(!ok);
    assert!(
        err.contains("rated.jsonl:2: label") && err.contains("--drop-ties"),
        "{err}"
    );
    let (ok, v, err) = import(&env, "rated", &rated, &["--drop-ties"]);
    assert!(ok, "{err}");
    assert!(
        err.contains("rated (chosen and rejected with their ratings"),
        "{err}"
    );
    assert_eq!(v["rows"], 2);
    assert_eq!(v["dropped_ties"], 1);
    assert_eq!(show(&env, "rated")["label_balance"], 0.5);
    let both = env.write("both.jsonl",
        r#"{"prompt":"Q","chosen":"A","rejected":"B","label":1,"score_chosen":2,"score_rejected":1}"#,
    );
    let (ok, _, err) = import(&env, "both", &both, &[]);
    assert!(
        !ok && err.contains("give a label or ratings, not both"),
        "{err}"
    );
}

#[test]
fn trl_export_goes_straight_to_a_trainer_and_back() {
    let env = Env::initialized();
    let hh = Path::new(env!("CARGO_MANIFEST_DIR")).join(HH);
    let (ok, v, err) = import(&env, "hh", &hh, &[]);
    assert!(ok, "{err}");
    let out = env
        .cmd()
        .args(["dataset", "export", "hh", "--output", "trl-jsonl"])
        .output()
        .expect("export");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(records.len(), 2312);
    for r in &records {
        let keys: Vec<&String> = r.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["prompt", "chosen", "rejected"]);
    }
    assert!(
        records[0]["prompt"]
            .as_str()
            .expect("prompt")
            .starts_with("Human:")
    );
    // Re-imported, the TRL file is the same content: same texts, same features, same digest.
    let file = env.write("hh.trl.jsonl", &text);
    let (ok, back, err) = import(&env, "back", &file, &[]);
    assert!(ok, "{err}");
    assert_eq!(back["digest"], v["digest"]);

    // To a file: never over an existing one; one bucket with --bucket.
    let pairs = env.write(
        "b.jsonl",
        concat!(
            r#"{"prompt":"Q","chosen":"A","rejected":"B","bucket":"x"}"#,
            "\n",
            r#"{"prompt":"Q2","chosen":"C","rejected":"D","bucket":"y"}"#,
            "\n"
        ),
    );
    let (ok, _, err) = import(&env, "two", &pairs, &[]);
    assert!(ok, "{err}");
    let target = env.path("y.trl.jsonl");
    env.cmd()
        .args(["dataset", "export", "two", "--bucket", "y", "--output"])
        .arg(&target)
        .assert()
        .success();
    let y = std::fs::read_to_string(&target).expect("read");
    assert_eq!(
        y,
        "{\"prompt\":\"Q2\",\"chosen\":\"C\",\"rejected\":\"D\"}\n"
    );
    let again = env
        .cmd()
        .args(["dataset", "export", "two", "--output"])
        .arg(&target)
        .output()
        .expect("export");
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(&target).expect("read"),
        y,
        "left as it was"
    );
    let missing = env
        .cmd()
        .args([
            "dataset",
            "export",
            "two",
            "--bucket",
            "z",
            "--output",
            "trl-jsonl",
        ])
        .output()
        .expect("export");
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("two@1 has no bucket 'z' (its buckets: x, y)")
    );

    // Feature records have no texts to train on.
    let records = env.write("r.jsonl", r#"{"id":"1","label":1,"delta":{"x":1.0}}"#);
    let (ok, _, err) = import(&env, "records", &records, &[]);
    assert!(ok, "{err}");
    let out = env
        .cmd()
        .args(["dataset", "export", "records", "--output", "trl-jsonl"])
        .output()
        .expect("export");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no response texts"));
    assert!(out.stdout.is_empty());
}

#[test]
fn candidate_lists_expand_into_every_pair() {
    let env = Env::initialized();
    let file = env.write("rmbench.jsonl",
        concat!(
            r#"{"id":"q1","prompt":"Q","chosen":["Yes.","Yes, because it is.","**Yes**, because:\n- it is"],"rejected":["No.","No, it is not.","**No**:\n- it is not"],"domain":"chat"}"#,
            "\n",
            r#"{"id":"q2","prompt":"Q2","chosen":["Sure."],"rejected":["I can't help."],"domain":"safety"}"#,
            "\n"
        ),
    );
    let (ok, v, err) = import(&env, "rm", &file, &["--bucket-field", "domain"]);
    assert!(ok, "{err}");
    assert!(err.contains("lists of candidates"), "{err}");
    assert_eq!(v["rows"], 10, "3 × 3 + 1 × 1");
    let out = env
        .cmd()
        .args(["dataset", "export", "rm"])
        .output()
        .expect("export");
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(rows[0]["id"], "q1-c0-r0");
    assert_eq!(rows[0]["group"], "c0-r0");
    assert_eq!(rows[5]["id"], "q1-c1-r2");
    assert_eq!(rows[5]["a"]["text"], "Yes, because it is.");
    assert_eq!(rows[5]["b"]["text"], "**No**:\n- it is not");
    assert_eq!(rows[9]["id"], "q2-c0-r0");
    assert_eq!(rows[9]["bucket"], "safety");
    // A bad candidate is located on its line, with every expanded pair's problem counted once.
    let bad = env.write(
        "bad.jsonl",
        r#"{"id":"q1","prompt":7,"chosen":["A"],"rejected":["B"]}"#,
    );
    let (ok, _, err) = import(&env, "bad", &bad, &[]);
    assert!(!ok);
    assert!(err.contains("bad.jsonl:1: prompt"), "{err}");
}

#[test]
fn max_errors_stops_reading_early_and_writes_nothing() {
    let env = Env::initialized();
    let mut text = String::new();
    for i in 0..500 {
        text.push_str(&format!(
            "{{\"id\":\"{i}\",\"label\":3,\"delta\":{{\"x\":1.0}}}}\n"
        ));
    }
    let file = env.write("bad.jsonl", &text);
    let (ok, _, err) = import(&env, "bad", &file, &["--max-errors", "5"]);
    assert!(!ok);
    assert!(err.contains("bad.jsonl:5: label"), "{err}");
    assert!(!err.contains("bad.jsonl:6:"), "{err}");
    assert!(
        err.contains("stopped reading at 5 problems (--max-errors)")
            && err.contains("import rejected: 5 problems found"),
        "{err}"
    );
    assert_eq!(datasets(&env), 0);
    // Without the limit every line is checked.
    let (ok, _, err) = import(&env, "bad", &file, &[]);
    assert!(!ok && err.contains("500 problems found"), "{err}");
    let out = env
        .cmd()
        .args(["dataset", "import", "bad"])
        .arg(&file)
        .args(["--max-errors", "0"])
        .output()
        .expect("import");
    assert_eq!(out.status.code(), Some(2));
}

fn sha256_file(path: &Path) -> String {
    overlap::model::digest::sha256_hex(&std::fs::read(path).expect("read"))
}

#[test]
fn skip_invalid_imports_the_valid_records_and_lists_the_rest() {
    let env = Env::initialized();
    let mut text = String::new();
    for i in 0..10 {
        let line = match i {
            // PandaLM-style: a boolean where a response should be.
            2 => format!(
                r#"{{"id":"p{i}","prompt":"Q","response_a":true,"response_b":"B","label":1}}"#
            ),
            5 => format!(
                r#"{{"id":"p{i}","prompt":"Q","response_a":"A","response_b":"B","label":7}}"#
            ),
            7 => "{not json".to_string(),
            _ => format!(
                r#"{{"id":"p{i}","prompt":"Q{i}","response_a":"Answer {i} is longer","response_b":"No","label":{}}}"#,
                i % 2
            ),
        };
        text.push_str(&line);
        text.push('\n');
    }
    let file = env.write("pandalm.jsonl", &text);
    let (ok, _, err) = import(&env, "strict", &file, &[]);
    assert!(!ok && err.contains("3 problems found"), "{err}");

    let rejects = env.path("rejects.jsonl");
    let rejects_arg = rejects.to_str().expect("utf-8");
    let (ok, v, err) = import(
        &env,
        "lenient",
        &file,
        &["--skip-invalid", "--rejects", rejects_arg],
    );
    assert!(ok, "{err}");
    assert_eq!(v["rows"], 7);
    assert_eq!(v["rejected"], 3);
    let listed: Vec<Value> = std::fs::read_to_string(&rejects)
        .expect("rejects")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let lines: Vec<u64> = listed
        .iter()
        .map(|r| r["line"].as_u64().expect("line"))
        .collect();
    assert_eq!(lines, [3, 6, 8]);
    assert_eq!(listed[0]["problems"][0]["field"], "response_a");
    assert!(
        listed[2]["problems"][0]["message"]
            .as_str()
            .expect("message")
            .contains("invalid JSON")
    );
    let s = show(&env, "lenient");
    assert_eq!(s["rejected"], 3);
    assert_eq!(s["rejects_sha256"], sha256_file(&rejects));
    let human = env
        .cmd()
        .args(["dataset", "show", "lenient"])
        .output()
        .expect("show");
    assert!(String::from_utf8_lossy(&human.stdout).contains("rejected: 3 records"));

    // The rejects file is never written over; then nothing is imported either.
    let (ok, _, err) = import(
        &env,
        "again",
        &file,
        &["--skip-invalid", "--rejects", rejects_arg],
    );
    assert!(!ok && err.contains("already exists"), "{err}");
    assert_eq!(datasets(&env), 1);
    // --skip-invalid needs --rejects: nothing is left out silently.
    let (ok, _, err) = import(&env, "silent", &file, &["--skip-invalid"]);
    assert!(!ok && err.contains("--rejects"), "{err}");
    // More rejected records than --max-errors stop the import, and leave no rejects file.
    let capped = env.path("capped.jsonl");
    let (ok, _, err) = import(
        &env,
        "capped",
        &file,
        &[
            "--skip-invalid",
            "--rejects",
            capped.to_str().expect("utf-8"),
            "--max-errors",
            "2",
        ],
    );
    assert!(!ok && err.contains("more than 2 records rejected"), "{err}");
    assert!(!capped.exists());
    // Problems of the file as a whole still stop it: a CSV header, every record rejected.
    let header = env.write("h.csv", "id,label,delta.x,oops\n1,1,0.5,x\n");
    let hr = env.path("h-rejects.jsonl");
    let (ok, _, err) = import(
        &env,
        "header",
        &header,
        &["--skip-invalid", "--rejects", hr.to_str().expect("utf-8")],
    );
    assert!(
        !ok && err.contains("h.csv:1: oops: unknown column"),
        "{err}"
    );
    assert!(!hr.exists());
    let all_bad = env.write("bad.jsonl", "{\"id\":\"1\"}\n");
    let br = env.path("b-rejects.jsonl");
    let (ok, _, err) = import(
        &env,
        "allbad",
        &all_bad,
        &["--skip-invalid", "--rejects", br.to_str().expect("utf-8")],
    );
    assert!(
        !ok && err.contains("every record was rejected (1)"),
        "{err}"
    );
    assert!(!br.exists());
    assert_eq!(datasets(&env), 1);
}

#[cfg(not(feature = "parquet"))]
#[test]
fn a_build_without_parquet_says_how_to_get_it() {
    let env = Env::initialized();
    let file = env.write("pairs.parquet", "PAR1");
    env.run(&["dataset", "import", "p", file.to_str().unwrap()])
        .expect_code(2)
        .stderr_has(&["reads no Parquet", "--features parquet"]);
}

/// A conversational import exports conversational TRL records (message lists), multi-turn
/// prompts turn by turn, and they re-import to the same digest; a standard import stays strings.
#[test]
fn a_conversational_import_exports_conversational_trl_records() {
    let env = Env::initialized();
    let chat = env.write(
        "chat.jsonl",
        concat!(
            r#"{"prompt":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello."},{"role":"user","content":"Capital of France?"}],"chosen":[{"role":"assistant","content":"Paris."}],"rejected":[{"role":"assistant","content":"I cannot say, sorry."}]}"#,
            "\n",
            r#"{"prompt":[{"role":"user","content":"Two lines\n\nin one message"}],"chosen":[{"role":"assistant","content":"- a\n- b"}],"rejected":[{"role":"assistant","content":"no"}]}"#,
            "\n"
        ),
    );
    let (ok, v, err) = import(&env, "chat", &chat, &[]);
    assert!(ok, "{err}");
    assert_eq!(show(&env, "chat")["text_layout"], "conversational");
    let out = env
        .cmd()
        .args(["dataset", "export", "chat", "--output", "trl-jsonl"])
        .output()
        .expect("export");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(
        first["prompt"],
        serde_json::json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": "Capital of France?"}
        ])
    );
    assert_eq!(
        first["chosen"],
        serde_json::json!([{"role": "assistant", "content": "Paris."}])
    );
    let back = env.write("back.jsonl", &text);
    let (ok, again, err) = import(&env, "back", &back, &[]);
    assert!(ok, "{err}");
    assert_eq!(again["digest"], v["digest"]);

    // The same pairs as strings: a standard import, exported as strings.
    let hh = Path::new(env!("CARGO_MANIFEST_DIR")).join(HH);
    import(&env, "hh", &hh, &[]);
    assert_eq!(show(&env, "hh")["text_layout"], "standard");
    #[cfg(feature = "parquet")]
    {
        env.ok(&["dataset", "export", "chat", "--output", "chat.trl.parquet"]);
        let run = env.run(&[
            "dataset",
            "import",
            "from-parquet",
            env.path("chat.trl.parquet").to_str().unwrap(),
            "--format",
            "json",
        ]);
        let run = run.expect_code(0);
        assert!(run.stderr.contains("TRL conversational"), "{}", run.stderr);
        assert_eq!(run.json()["digest"], v["digest"]);
    }
}
