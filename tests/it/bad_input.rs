//! One fixture per kind of bad input. Each runs `dataset import` on a database that already holds an
//! active intervention (`shorten`), a retired one (`old`) and a dataset `base` (features len, tone),
//! and checks: exit code 2; stderr names the file and line (and field where there is one) as
//! `FILE:LINE: field: message`; "nothing was written"; and the database unchanged — `dataset list`,
//! `registry log` and `intervention list` in JSON, and the row count of every table.
//!
//! Bad records sit after good ones on purpose: rows are streamed to the store while the file is
//! read, so these fixtures also check that a late problem rolls back rows already written.

use crate::common;

use common::Env;

/// A valid record with features len and tone.
fn good(id: &str) -> String {
    format!(
        "{{\"id\":\"{id}\",\"bucket\":\"b1\",\"a\":{{\"features\":{{\"len\":1,\"tone\":0}}}},\"b\":{{\"features\":{{\"len\":2,\"tone\":1}}}},\"label\":1}}"
    )
}

fn lines(lines: &[&str]) -> String {
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

const CSV_HEADER: &str = "id,label,a.len,a.tone,b.len,b.tone";

/// One bad-input fixture.
struct Case {
    file: &'static str,
    content: Vec<u8>,
    dataset: &'static str,
    extra: Vec<String>,
    /// Files written next to the input (e.g. a scales file).
    aux: Vec<(&'static str, String)>,
    expect: Vec<String>,
    /// A read error (not a record problem): no "nothing was written" summary is required.
    read_error: bool,
}

impl Case {
    fn new(file: &'static str, content: impl Into<Vec<u8>>) -> Case {
        Case {
            file,
            content: content.into(),
            dataset: "fresh",
            extra: Vec::new(),
            aux: Vec::new(),
            expect: Vec::new(),
            read_error: false,
        }
    }

    fn jsonl(content: impl Into<Vec<u8>>) -> Case {
        Case::new("bad.jsonl", content)
    }

    fn csv(content: impl Into<Vec<u8>>) -> Case {
        Case::new("bad.csv", content)
    }

    /// Import as the next version of `base` instead of a new dataset.
    fn into_base(mut self) -> Case {
        self.dataset = "base";
        self
    }

    fn args(mut self, args: &[&str]) -> Case {
        self.extra.extend(args.iter().map(|s| s.to_string()));
        self
    }

    fn aux(mut self, name: &'static str, content: &str) -> Case {
        self.aux.push((name, content.to_string()));
        self
    }

    /// Stderr must contain each of these.
    fn expect(mut self, needles: &[&str]) -> Case {
        self.expect.extend(needles.iter().map(|s| s.to_string()));
        self
    }

    fn read_error(mut self) -> Case {
        self.read_error = true;
        self
    }

    /// Runs the fixture and returns stderr for further checks.
    fn check(self) -> String {
        let env = Env::initialized();
        env.add_intervention("shorten", "0.5");
        env.add_intervention("old", "0.5");
        env.ok(&["intervention", "retire", "old", "--reason", "superseded"]);
        env.write(
            "base.jsonl",
            &lines(&[&good("b1"), &good("b2").replace("\"len\":2", "\"len\":5")]),
        );
        env.import("base", "base.jsonl", &[]);
        std::fs::write(env.path(self.file), &self.content).expect("write the fixture");
        for (name, content) in &self.aux {
            env.write(name, content);
        }
        let before = env.state();
        let mut args: Vec<&str> = vec!["dataset", "import", self.dataset, self.file];
        args.extend(self.extra.iter().map(String::as_str));
        let expect: Vec<&str> = self.expect.iter().map(String::as_str).collect();
        let mut run = env.run(&args).expect_code(2).stderr_has(&expect);
        if !self.read_error {
            run = run.stderr_has(&["nothing was written"]);
        }
        assert!(run.stdout.is_empty(), "stdout: {}", run.stdout);
        assert_eq!(env.state(), before, "the database changed");
        run.stderr
    }
}

#[test]
fn rejects_invalid_json() {
    Case::jsonl(lines(&[&good("g1"), "{\"id\": \"g2\", \"label\": 1,"]))
        .expect(&["bad.jsonl:2: invalid JSON"])
        .check();
}

#[test]
fn rejects_a_line_that_is_not_an_object() {
    Case::jsonl(lines(&[&good("g1"), "[1, 2]"]))
        .expect(&["bad.jsonl:2: expected a JSON object"])
        .check();
}

#[test]
fn rejects_a_record_without_id() {
    Case::jsonl(lines(&[
        &good("g1"),
        &good("g2").replace("\"id\":\"g2\",", ""),
    ]))
    .expect(&["bad.jsonl:2: id: expected a non-empty string id"])
    .check();
}

#[test]
fn rejects_a_duplicate_id_naming_the_first_line() {
    Case::jsonl(lines(&[&good("g1"), &good("g2"), &good("g1")]))
        .expect(&["bad.jsonl:3: id: duplicate id 'g1' (first seen on line 1)"])
        .check();
}

#[test]
fn rejects_a_record_without_label() {
    Case::jsonl(lines(&[
        &good("g1"),
        &good("g2").replace(",\"label\":1", ""),
    ]))
    .expect(&["bad.jsonl:2: label: missing"])
    .check();
}

#[test]
fn rejects_label_2() {
    Case::jsonl(lines(&[
        &good("g1"),
        &good("g2").replace("\"label\":1", "\"label\":2"),
    ]))
    .expect(&["bad.jsonl:2: label:", "found 2"])
    .check();
}

#[test]
fn rejects_label_yes() {
    Case::jsonl(lines(&[
        &good("g1"),
        &good("g2").replace("\"label\":1", "\"label\":\"yes\""),
    ]))
    .expect(&["bad.jsonl:2: label:", "found 'yes'"])
    .check();
}

#[test]
fn rejects_a_tie_without_drop_ties() {
    Case::jsonl(lines(&[
        &good("g1"),
        &good("g2").replace("\"label\":1", "\"label\":0.5"),
        &good("g3").replace("\"label\":1", "\"label\":\"tie\""),
    ]))
    .expect(&[
        "bad.jsonl:2: label: a tie",
        "bad.jsonl:3: label: a tie",
        "--drop-ties",
    ])
    .check();
}

#[test]
fn rejects_a_csv_tie_without_drop_ties() {
    Case::csv(format!("{CSV_HEADER}\ng1,1,1,0,2,1\ng2,tie,1,0,2,1\n"))
        .expect(&["bad.csv:3: label: a tie", "--drop-ties"])
        .check();
}

#[test]
fn rejects_a_record_without_features() {
    Case::jsonl(lines(&[&good("g1"), "{\"id\":\"g2\",\"label\":1}"]))
        .expect(&["bad.jsonl:2: a: missing: expected per-side features"])
        .check();
}

#[test]
fn rejects_a_feature_missing_on_one_side() {
    Case::jsonl(lines(&[
        &good("g1"),
        "{\"id\":\"g2\",\"a\":{\"features\":{\"len\":1,\"tone\":0}},\"b\":{\"features\":{\"len\":2}},\"label\":1}",
    ]))
    .expect(&["bad.jsonl:2: b.features:", "tone"])
    .check();
}

#[test]
fn rejects_an_unknown_extra_feature() {
    Case::jsonl(lines(&[
        &good("g1"),
        "{\"id\":\"g2\",\"a\":{\"features\":{\"len\":1,\"tone\":0,\"x\":1}},\"b\":{\"features\":{\"len\":2,\"tone\":1,\"x\":0}},\"label\":1}",
    ]))
    .expect(&[
        "bad.jsonl:2: a.features.x:",
        "not in the dataset's schema",
    ])
    .check();
}

#[test]
fn rejects_a_non_numeric_feature() {
    Case::jsonl(lines(&[
        &good("g1"),
        &good("g2").replace("\"len\":1", "\"len\":\"long\""),
    ]))
    .expect(&["bad.jsonl:2: a.features.len: expected a finite number, found a string"])
    .check();
}

#[test]
fn rejects_a_json_number_out_of_range() {
    Case::jsonl(lines(&[
        &good("g1"),
        &good("g2").replace("\"len\":1", "\"len\":1e400"),
    ]))
    .expect(&["bad.jsonl:2: invalid JSON", "out of range"])
    .check();
}

#[test]
fn rejects_nan_and_inf_in_csv() {
    Case::csv(format!(
        "{CSV_HEADER}\ng1,1,NaN,0,2,1\ng2,1,1,0,2,inf\ng3,0,-inf,0,2,1\ng4,0,1,0,1e999,1\n"
    ))
    .expect(&[
        "bad.csv:2: a.len: expected a finite number, found 'NaN'",
        "bad.csv:3: b.tone: expected a finite number, found 'inf'",
        "bad.csv:4: a.len: expected a finite number, found '-inf'",
        "bad.csv:5: b.len: expected a finite number, found '1e999'",
        "4 problems found",
    ])
    .check();
}

#[test]
fn rejects_an_empty_csv_feature_cell() {
    Case::csv(format!("{CSV_HEADER}\ng1,1,1,0,2,1\ng2,1,1,0,,1\n"))
        .expect(&["bad.csv:3: b.len: missing value"])
        .check();
}

#[test]
fn rejects_a_non_numeric_csv_feature() {
    Case::csv(format!("{CSV_HEADER}\ng1,1,1,zero,2,1\n"))
        .expect(&["bad.csv:2: a.tone: expected a number, found 'zero'"])
        .check();
}

#[test]
fn rejects_an_unknown_intervention() {
    Case::jsonl(lines(&[
        &good("g1"),
        &good("g2").replace("\"a\":{", "\"a\":{\"intervention\":\"lengthen\","),
    ]))
    .expect(&[
        "bad.jsonl:2: a.intervention: unknown intervention 'lengthen'",
        "overlap intervention add lengthen",
    ])
    .check();
}

#[test]
fn rejects_a_retired_intervention() {
    Case::jsonl(lines(&[
        &good("g1"),
        &good("g2").replace("\"b\":{", "\"b\":{\"intervention\":\"old\","),
    ]))
    .expect(&["bad.jsonl:2: b.intervention: intervention 'old' is retired"])
    .check();
}

#[test]
fn rejects_a_retired_intervention_in_csv() {
    Case::csv(
        "id,label,a.intervention,b.intervention,a.len,b.len\ng1,1,shorten,,1,2\ng2,0,,old,1,2\n",
    )
    .expect(&["bad.csv:3: b.intervention: intervention 'old' is retired"])
    .check();
}

#[test]
fn rejects_an_unknown_top_level_field() {
    Case::jsonl(lines(&[
        &good("g1"),
        &good("g2").replace("\"label\"", "\"lable\""),
    ]))
    .expect(&[
        "bad.jsonl:2: lable: unknown field",
        "bad.jsonl:2: label: missing",
    ])
    .check();
}

#[test]
fn rejects_an_unknown_side_field() {
    Case::jsonl(lines(&[
        &good("g1"),
        &good("g2").replace("\"a\":{", "\"a\":{\"txt\":\"hi\","),
    ]))
    .expect(&["bad.jsonl:2: a.txt: unknown field"])
    .check();
}

#[test]
fn rejects_both_delta_and_sides() {
    Case::jsonl(lines(&[
        &good("g1"),
        &good("g2").replace(
            "\"label\":1",
            "\"delta\":{\"len\":-1,\"tone\":-1},\"label\":1",
        ),
    ]))
    .expect(&["bad.jsonl:2: delta: give either per-side features or delta, not both"])
    .check();
}

#[test]
fn rejects_an_empty_bucket_name() {
    Case::jsonl(lines(&[
        &good("g1"),
        &good("g2").replace("\"bucket\":\"b1\"", "\"bucket\":\"\""),
    ]))
    .expect(&["bad.jsonl:2: bucket: expected a non-empty bucket name"])
    .check();
}

#[test]
fn rejects_an_empty_file() {
    Case::jsonl("")
        .expect(&["bad.jsonl: the input holds no records"])
        .check();
}

#[test]
fn rejects_a_file_of_blank_lines() {
    Case::jsonl("\n  \n\r\n")
        .expect(&["bad.jsonl: the input holds no records"])
        .check();
}

#[test]
fn rejects_an_empty_csv_file() {
    Case::csv("")
        .expect(&["bad.csv: the input holds no records"])
        .check();
}

#[test]
fn rejects_a_csv_with_a_header_only() {
    Case::csv(format!("{CSV_HEADER}\n"))
        .expect(&["bad.csv: the input holds no records"])
        .check();
}

#[test]
fn counts_blank_lines_in_line_numbers() {
    Case::jsonl(lines(&[
        &good("g1"),
        "",
        "",
        &good("g2").replace("\"label\":1", "\"label\":7"),
    ]))
    .expect(&["bad.jsonl:4: label:"])
    .check();
}

#[test]
fn rejects_a_csv_row_with_the_wrong_column_count() {
    Case::csv(format!("{CSV_HEADER}\ng1,1,1,0,2,1\ng2,1,1,0,2\n"))
        .expect(&["bad.csv:3: expected 6 columns like the header, found 5"])
        .check();
}

#[test]
fn rejects_an_unknown_csv_column() {
    Case::csv("id,label,colour,a.len,b.len\ng1,1,red,1,2\n")
        .expect(&["bad.csv:1: colour: unknown column"])
        .check();
}

#[test]
fn rejects_a_duplicate_csv_column() {
    Case::csv("id,label,label,a.len,b.len\ng1,1,1,1,2\n")
        .expect(&["bad.csv:1: label: column appears twice"])
        .check();
}

#[test]
fn rejects_a_csv_without_label_column() {
    Case::csv("id,a.len,b.len\ng1,1,2\n")
        .expect(&["bad.csv:1: label: missing required column"])
        .check();
}

#[test]
fn rejects_a_csv_without_feature_columns() {
    Case::csv("id,label,bucket\ng1,1,b1\n")
        .expect(&["bad.csv:1: no feature columns"])
        .check();
}

#[test]
fn rejects_csv_sides_with_different_features() {
    Case::csv("id,label,a.len,a.tone,b.len,b.mood\ng1,1,1,0,2,1\n")
        .expect(&[
            "bad.csv:1:",
            "sides a and b must have the same features (only in a: [tone]; only in b: [mood])",
        ])
        .check();
}

#[test]
fn rejects_csv_with_both_side_and_delta_columns() {
    Case::csv("id,label,a.len,b.len,delta.len\ng1,1,1,2,-1\n")
        .expect(&["bad.csv:1:", "not both"])
        .check();
}

#[test]
fn rejects_invalid_utf8_in_csv() {
    let mut content = format!("{CSV_HEADER}\ng1,1,1,0,2,1\n").into_bytes();
    content.extend_from_slice(b"g\xff2,1,1,0,2,1\n");
    Case::csv(content).expect(&["bad.csv:3:", "UTF-8"]).check();
}

#[test]
fn rejects_invalid_utf8_in_jsonl_naming_the_line() {
    let mut content = lines(&[&good("g1"), &good("g2")]).into_bytes();
    content.extend_from_slice(b"{\"id\":\"g\xff3\"}\n");
    Case::jsonl(content)
        .expect(&["bad.jsonl:3:", "UTF-8"])
        .check();
}

#[test]
fn rejects_a_truncated_gzip_file() {
    let full = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for i in 0..200 {
            e.write_all(good(&format!("g{i}")).as_bytes())
                .expect("compress");
            e.write_all(b"\n").expect("compress");
        }
        e.finish().expect("finish")
    };
    let cut = full[..full.len() / 2].to_vec();
    let stderr = Case::new("bad.jsonl.gz", cut)
        .read_error()
        .expect(&["cannot read bad.jsonl.gz", "incomplete deflate stream"])
        .check();
    assert_eq!(
        stderr.matches("incomplete deflate stream").count(),
        1,
        "the cause is printed once: {stderr}"
    );
}

#[test]
fn rejects_a_later_version_with_an_extra_feature() {
    Case::jsonl(lines(&[
        "{\"id\":\"g1\",\"a\":{\"features\":{\"len\":1,\"tone\":0,\"extra\":1}},\"b\":{\"features\":{\"len\":2,\"tone\":1,\"extra\":0}},\"label\":1}",
    ]))
    .into_base()
    .expect(&["bad.jsonl:1: a.features.extra:",
        "'extra' is not in the dataset's schema"])
    .check();
}

#[test]
fn rejects_a_later_version_with_a_missing_feature() {
    Case::csv("id,label,a.len,b.len\ng1,1,1,2\n")
        .into_base()
        .expect(&["bad.csv:2: a.features:", "missing", "tone"])
        .check();
}

#[test]
fn rejects_a_later_version_with_renamed_features() {
    Case::csv("id,label,a.len,a.mood,b.len,b.mood\ng1,1,1,0,2,1\n")
        .into_base()
        .expect(&["bad.csv:2:", "mood", "tone"])
        .check();
}

#[test]
fn rejects_a_scales_file_missing_a_feature() {
    Case::jsonl(lines(&[&good("g1"), &good("g2")]))
        .args(&["--scales", "scales.json"])
        .aux("scales.json", "{\"len\": 2}")
        .expect(&["bad.jsonl: --scales: no scale given for feature 'tone'"])
        .check();
}

#[test]
fn rejects_scales_on_a_later_version() {
    Case::jsonl(lines(&[&good("g1")]))
        .into_base()
        .args(&["--scales", "unit"])
        .expect(&["--scales:", "frozen"])
        .check();
}

#[test]
fn reports_every_problem_of_one_line() {
    Case::jsonl(lines(&[
        "{\"id\":\"g1\",\"a\":{\"intervention\":\"nope\",\"features\":{\"len\":1,\"tone\":0}},\"b\":{\"features\":{\"len\":2,\"tone\":1}},\"label\":3}",
    ]))
    .expect(&[
        "bad.jsonl:1: label:", "found 3",
        "bad.jsonl:1: a.intervention: unknown intervention 'nope'",
        "2 problems found",
    ])
    .check();
}

#[test]
fn shows_20_problems_then_and_n_more() {
    let bad: Vec<String> = (1..=25)
        .map(|i| good(&format!("g{i}")).replace("\"label\":1", "\"label\":2"))
        .collect();
    let refs: Vec<&str> = bad.iter().map(String::as_str).collect();
    let stderr = Case::jsonl(lines(&refs))
        .expect(&[
            "bad.jsonl:1: label:",
            "bad.jsonl:20: label:",
            "and 5 more problems",
            "25 problems found",
        ])
        .check();
    assert!(!stderr.contains("bad.jsonl:21:"), "{stderr}");
    assert_eq!(stderr.matches("bad.jsonl:").count(), 20, "{stderr}");
}

#[test]
fn names_stdin_as_dash() {
    let env = Env::initialized();
    let before = env.state();
    let input = lines(&[&good("g1"), &good("g1")]);
    env.run_stdin(
        &["dataset", "import", "s", "-", "--input", "jsonl"],
        input.as_bytes(),
    )
    .expect_code(2)
    .stderr_has(&["-:2: id: duplicate id 'g1'", "nothing was written"]);
    assert_eq!(env.state(), before);
}

#[test]
fn a_late_problem_after_a_full_chunk_of_good_rows_writes_nothing() {
    // More than one 65,536-row storage chunk is written before the bad last line is read.
    let mut content = String::with_capacity(70_000 * 24);
    content.push_str("id,label,delta.len\n");
    for i in 0..70_000 {
        content.push_str(&format!("r{i},{},{}\n", i % 2, i % 7));
    }
    content.push_str("r-last,2,1\n");
    Case::csv(content)
        .expect(&["bad.csv:70002: label:", "found 2"])
        .check();
}

/// Each side finite, the difference not: such a version could never be analysed.
#[test]
fn rejects_per_side_values_whose_difference_overflows() {
    Case::jsonl(lines(&[
        &good("g1"),
        "{\"id\":\"g2\",\"a\":{\"features\":{\"len\":1.7e308,\"tone\":0}},\"b\":{\"features\":{\"len\":-1.7e308,\"tone\":1}},\"label\":1}",
    ]))
    .expect(&["bad.jsonl:2: a.len: a − b overflows"])
    .check();
}

#[test]
fn rejects_a_subnormal_scale() {
    Case::jsonl(lines(&[&good("g1"), &good("g2")]))
        .args(&["--scales", "scales.json"])
        .aux("scales.json", "{\"len\": 1e-310, \"tone\": 1}")
        .expect(&[
            "bad.jsonl: --scales: scale of 'len' must be a positive (normal) number, found 1e-310",
        ])
        .check();
}

/// Values that are finite but whose standardized squares overflow the information sums.
#[test]
fn rejects_values_too_large_for_their_scale() {
    Case::jsonl(lines(&[&good("g1"), &good("g2")]))
        .args(&["--scales", "scales.json"])
        .aux("scales.json", "{\"len\": 1e-300, \"tone\": 1}")
        .expect(&["bad.jsonl: len: |Δφ| reaches 1e0 and its scale is 1e-300"])
        .check();
}

/// serde_json would keep the last of two equal keys; a record that says its label twice is
/// ambiguous evidence.
#[test]
fn rejects_duplicate_keys_at_any_depth() {
    Case::jsonl(lines(&[
        &good("g1"),
        "{\"id\":\"g2\",\"a\":{\"features\":{\"len\":1,\"tone\":0}},\"b\":{\"features\":{\"len\":2,\"tone\":1}},\"label\":1,\"label\":0}",
        "{\"id\":\"g3\",\"a\":{\"features\":{\"len\":1,\"len\":5,\"tone\":0}},\"b\":{\"features\":{\"len\":2,\"tone\":1}},\"label\":1}",
    ]))
    .expect(&[
        "bad.jsonl:2: invalid JSON: duplicate key 'label'",
        "bad.jsonl:3: invalid JSON: duplicate key 'len'",
    ])
    .check();
}

/// Identifiers reach terminals and CI logs: ESC, BEL, line breaks and bidirectional overrides in
/// them are refused at import.
#[test]
fn rejects_control_characters_in_identifiers() {
    Case::jsonl(lines(&[
        &good("g1"),
        "{\"id\":\"g2\",\"bucket\":\"b\\u001b[2J\",\"a\":{\"features\":{\"len\":1,\"tone\":0}},\"b\":{\"features\":{\"len\":2,\"tone\":1}},\"label\":1}",
        "{\"id\":\"g3\",\"group\":\"x\\u202ey\",\"a\":{\"features\":{\"len\":1,\"tone\":0}},\"b\":{\"features\":{\"len\":2,\"tone\":1}},\"label\":1}",
    ]))
    .expect(&[
        "bad.jsonl:2: bucket: contains the control character U+001B",
        "bad.jsonl:3: group: contains the control character U+202E",
    ])
    .check();
}

#[test]
fn rejects_a_repeated_feature_column_naming_both_positions() {
    Case::csv("id,label,a.len,a.tone,b.len,b.tone,a.len\ng1,1,1,0,2,1,3\n")
        .expect(&["bad.csv:1: a.len: column appears twice (columns 3 and 7)"])
        .check();
}

#[test]
fn rejects_more_features_than_a_schema_may_have() {
    let names: Vec<String> = (0..1025).map(|j| format!("\"f{j}\":1")).collect();
    let side = format!("{{\"features\":{{{}}}}}", names.join(","));
    let row = format!("{{\"id\":\"w1\",\"a\":{side},\"b\":{side},\"label\":1}}");
    Case::jsonl(lines(&[&row]))
        .expect(&["1025 features: a schema has at most 1024"])
        .check();
}

/// One endless line is a problem of that line, read without buffering all of it; the lines after
/// it are still read (and their problems reported).
#[test]
fn rejects_a_line_longer_than_the_limit_without_holding_it() {
    let mut content = good("g1").into_bytes();
    content.push(b'\n');
    content.extend(std::iter::repeat_n(b' ', (64 << 20) + 10));
    content.extend_from_slice(b"x\n{\"id\":\"g3\"}\n");
    Case::jsonl(content)
        .expect(&[
            "bad.jsonl:2: the line is longer than 64 MiB",
            "bad.jsonl:3:",
        ])
        .check();
}

#[test]
fn rejects_a_csv_line_longer_than_the_limit() {
    let mut content = format!("{CSV_HEADER}\ng1,1,1,0,2,1\n\"").into_bytes();
    content.extend(std::iter::repeat_n(b'x', (64 << 20) + 10));
    content.extend_from_slice(b"\",1,1,0,2,1\n");
    Case::csv(content)
        .expect(&["line 3 is longer than 64 MiB"])
        .check();
}
