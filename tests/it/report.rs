//! `overlap report` end to end on the demo database: Markdown and JSON snapshots with the date
//! pinned, byte-identical re-rendering, sign → verify round trips and tamper detection, escaping
//! of user-supplied text, template overrides and their errors, and the record of produced reports.
//!
//! The registry head hash depends on when the demo registered its interventions (event
//! timestamps are part of the chain), so snapshots replace it with `[registry-head]`; everything
//! else in a report is a function of the demo's seed, the policy file, the date and the tool
//! version.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

const DATE: &str = "2026-01-15";

struct Demo {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Demo {
    fn new() -> Demo {
        let dir = crate::common::demo_copy();
        let root = dir.path().to_path_buf();
        Demo { _dir: dir, root }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Runs `overlap --db d/overlap.db ARGS` in the demo folder.
    fn run(&self, args: &[&str]) -> Output {
        Command::cargo_bin("overlap")
            .expect("binary")
            .current_dir(&self.root)
            .env("OVERLAP_ACTOR", "tester")
            .env_remove("OVERLAP_DB")
            .args(["--db", "d/overlap.db"])
            .args(args)
            .output()
            .expect("run overlap")
    }

    fn expect(&self, code: i32, args: &[&str]) -> Output {
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(code), "{}", describe(args, &out));
        out
    }

    /// Renders a report with the demo's policy and the pinned date; returns its bytes.
    fn report(&self, kind: &str, version: &str, output: &str, extra: &[&str]) -> Vec<u8> {
        let mut args = vec![
            "report",
            kind,
            version,
            "--policy",
            "d/release-gate.yaml",
            "--output",
            output,
            "--date",
            DATE,
        ];
        args.extend_from_slice(extra);
        self.expect(0, &args);
        std::fs::read(self.path(output)).expect("read report")
    }

    fn registry_head(&self) -> String {
        let bytes = self.report("label", "demo@2", "head.json", &[]);
        let v: Value = serde_json::from_slice(&bytes).expect("json");
        v["identity"]["registry_head"]
            .as_str()
            .expect("registry head")
            .to_owned()
    }
}

fn describe(args: &[&str], out: &Output) -> String {
    format!(
        "overlap {}\nexit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("utf-8 report")
}

#[test]
fn label_markdown_snapshots() {
    let d = Demo::new();
    let head = d.registry_head();
    let failing =
        text(d.report("label", "demo@1", "label1.md", &[])).replace(&head, "[registry-head]");
    insta::assert_snapshot!("label_demo1_md", failing);
    let passing =
        text(d.report("label", "demo@2", "label2.md", &[])).replace(&head, "[registry-head]");
    insta::assert_snapshot!("label_demo2_md", passing);
}

#[test]
fn adequacy_markdown_snapshot() {
    let d = Demo::new();
    let head = d.registry_head();
    let report = text(d.report("adequacy", "demo@1", "adequacy1.md", &["--budget", "50"]))
        .replace(&head, "[registry-head]");
    insta::assert_snapshot!("adequacy_demo1_md", report);
}

#[test]
fn label_json_snapshot_is_the_view_model() {
    let d = Demo::new();
    let bytes = d.report("label", "demo@2", "label2.json", &[]);
    let mut v: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["kind"], "nutrition-label");
    assert_eq!(v["identity"]["date"], DATE);
    assert_eq!(v["identity"]["policy"]["file"], "release-gate.yaml");
    assert_eq!(v["gate"]["verdict"], "pass");
    assert_eq!(
        v["history"].as_array().map(Vec::len),
        Some(2),
        "λ_min history covers versions 1 and 2"
    );
    v["identity"]["registry_head"] = Value::from("[registry-head]");
    let pretty = serde_json::to_string_pretty(&v).expect("json");
    insta::assert_snapshot!("label_demo2_json", pretty);

    let adequacy = d.report("adequacy", "demo@1", "adequacy1.json", &[]);
    let a: Value = serde_json::from_slice(&adequacy).expect("json");
    assert_eq!(a["kind"], "design-adequacy");
    assert_eq!(a["answer"]["learnable"], false);
    // demo@1 has only passive data: the design can only keep the passive mix and names every
    // intervention arm as unexplored; the plan buys more of what exists.
    let design = a["design"]["buckets"].as_array().expect("design buckets");
    let sh = design
        .iter()
        .find(|b| b["bucket"] == "self-harm")
        .expect("self-harm design");
    assert_eq!(sh["feasible"], true);
    assert!(
        sh["unexplored_arms"]
            .as_array()
            .is_some_and(|u| u.len() == 20)
    );
    assert!(
        a["plan"]["buckets"]
            .as_array()
            .is_some_and(|b| !b.is_empty())
    );
    let self_harm = a["buckets"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["bucket"] == "self-harm"))
        .expect("self-harm bucket");
    assert_eq!(self_harm["adequacy"], "gap");
    assert_eq!(self_harm["missing"], 1);
}

#[test]
fn rendering_twice_gives_identical_bytes() {
    let d = Demo::new();
    for kind in ["label", "adequacy"] {
        for ext in ["md", "html", "json"] {
            let a = d.report(kind, "demo@2", &format!("a.{ext}"), &[]);
            let b = d.report(kind, "demo@2", &format!("b.{ext}"), &["--recompute"]);
            assert!(!a.is_empty());
            assert!(a == b, "{kind} .{ext} differs between two renderings");
        }
    }
    // --format wins over the extension.
    let forced = d.report("label", "demo@2", "label.txt", &["--format", "md"]);
    assert_eq!(forced, d.report("label", "demo@2", "label.md", &[]));
}

#[test]
fn html_is_self_contained() {
    let d = Demo::new();
    for kind in ["label", "adequacy"] {
        let html = text(d.report(kind, "demo@1", &format!("{kind}.html"), &[]));
        assert!(html.starts_with("<!DOCTYPE html>"), "{kind}");
        assert!(html.contains("@media print"), "{kind}: print CSS");
        assert!(html.contains("<svg"), "{kind}: inline charts");
        for external in [
            "<script", "<link", "<img", "src=", "@import", "url(", "http://", "https://",
        ] {
            // The SVG namespace is an identifier, not a fetch.
            let hits = html
                .matches(external)
                .count()
                .saturating_sub(if external == "http://" {
                    html.matches("http://www.w3.org/2000/svg").count()
                } else {
                    0
                });
            assert_eq!(hits, 0, "{kind}: found {external}");
        }
    }
}

fn flip_byte(path: &Path, at: usize) -> Vec<u8> {
    let original = std::fs::read(path).expect("read");
    let mut bytes = original.clone();
    let i = at.min(bytes.len() - 1);
    bytes[i] ^= 0x01;
    std::fs::write(path, &bytes).expect("write");
    original
}

#[test]
fn signed_reports_verify_and_tampering_fails() {
    let d = Demo::new();
    d.expect(0, &["key", "generate", "--output", "k"]);
    d.expect(0, &["key", "generate", "--output", "other"]);
    for (kind, file) in [("label", "label.html"), ("adequacy", "adequacy.md")] {
        d.report(kind, "demo@2", file, &["--sign", "k.key"]);
        let sig = d.path(&format!("{file}.sig"));
        let att = d.path(&format!("{file}.intoto.json"));
        assert!(sig.is_file() && att.is_file(), "{kind}: signature files");

        let ok = d.expect(
            0,
            &["verify", file, "--public-key", "k.pub", "--format", "json"],
        );
        let v: Value = serde_json::from_slice(&ok.stdout).expect("verify json");
        assert_eq!(v["valid"], true);
        let expected = if kind == "label" {
            "https://overlap.dev/nutrition-label/v1"
        } else {
            "https://overlap.dev/design-adequacy/v1"
        };
        assert_eq!(v["predicate_type"], expected);
        assert_eq!(v["predicate"]["dataset"]["name"], "demo");
        assert_eq!(v["predicate"]["verdict"], "pass");
        assert_eq!(v["predicate"]["date"], DATE);
        assert!(v["policy_digest"].as_str().is_some_and(|s| s.len() == 64));

        // Any changed byte of the report, the signature or the attestation fails (exit 1).
        for target in [d.path(file), sig.clone(), att.clone()] {
            let len = std::fs::metadata(&target).expect("meta").len() as usize;
            for at in [0, len / 3, len / 2, len - 2] {
                let original = flip_byte(&target, at);
                let out = d.run(&["verify", file, "--public-key", "k.pub"]);
                assert_eq!(
                    out.status.code(),
                    Some(1),
                    "{kind}: flipping byte {at} of {} must fail\n{}",
                    target.display(),
                    describe(&["verify"], &out)
                );
                std::fs::write(&target, original).expect("restore");
            }
        }
        d.expect(0, &["verify", file, "--public-key", "k.pub"]);
        // The wrong key fails.
        d.expect(1, &["verify", file, "--public-key", "other.pub"]);
        // A missing signature fails, whether named or absent altogether.
        std::fs::remove_file(&sig).expect("remove sig");
        d.expect(
            1,
            &[
                "verify",
                file,
                "--public-key",
                "k.pub",
                "--signature",
                &format!("{file}.sig"),
            ],
        );
        std::fs::remove_file(&att).expect("remove attestation");
        d.expect(1, &["verify", file, "--public-key", "k.pub"]);
    }
}

#[test]
fn unsigned_rerender_removes_stale_signatures() {
    let d = Demo::new();
    d.expect(0, &["key", "generate", "--output", "k"]);
    d.report("label", "demo@2", "label.md", &["--sign", "k.key"]);
    assert!(d.path("label.md.sig").exists());
    let out = d.expect(
        0,
        &[
            "report",
            "label",
            "demo@2",
            "--policy",
            "d/release-gate.yaml",
            "--output",
            "label.md",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("removed stale"));
    assert!(!d.path("label.md.sig").exists() && !d.path("label.md.intoto.json").exists());
}

#[test]
fn user_text_is_escaped() {
    let d = Demo::new();
    let intent = "<script>alert('x')</script> & | pipes";
    d.expect(
        0,
        &["intervention", "update", "shorten", "--intent", intent],
    );
    let html = text(d.report("label", "demo@2", "label.html", &[]));
    assert!(!html.contains("<script>"), "raw script tag in HTML");
    assert!(
        html.contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2f;script&gt; &amp; | pipes")
            || html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; | pipes"),
        "escaped intent missing"
    );
    let md = text(d.report("label", "demo@2", "label.md", &[]));
    assert!(md.contains("\\<script\\>alert('x')\\</script\\> \\& \\| pipes"));
    assert!(!md.contains("<script>"));
}

#[test]
fn template_overrides_and_errors() {
    let d = Demo::new();
    d.expect(0, &["report", "templates", "--output", "tpl"]);
    // Writing over existing templates needs --force.
    d.expect(2, &["report", "templates", "--output", "tpl"]);
    let embedded = d.report("label", "demo@2", "a.md", &[]);
    let copied = d.report("label", "demo@2", "b.md", &["--templates", "tpl"]);
    assert_eq!(embedded, copied, "the exported defaults render identically");

    std::fs::write(
        d.path("tpl/label.md"),
        "custom {{ report.identity.dataset }}\n",
    )
    .expect("write");
    assert_eq!(
        d.report("label", "demo@2", "c.md", &["--templates", "tpl"]),
        b"custom demo\n"
    );

    let args = |out: &'static str| {
        vec![
            "report",
            "label",
            "demo@2",
            "--policy",
            "d/release-gate.yaml",
            "--output",
            out,
            "--templates",
            "tpl",
        ]
    };
    std::fs::write(d.path("tpl/label.md"), "{% for x in %}\n").expect("write");
    let broken = d.expect(2, &args("d.md"));
    assert!(
        String::from_utf8_lossy(&broken.stderr).contains("template 'label.md' is broken"),
        "{}",
        describe(&args("d.md"), &broken)
    );
    std::fs::write(d.path("tpl/label.md"), "{{ report.no_such_field }}\n").expect("write");
    d.expect(2, &args("d.md"));
    // A template that links out of the folder is refused, not embedded in the report.
    std::fs::write(d.path("secret.txt"), "not a template\n").expect("write");
    std::fs::remove_file(d.path("tpl/label.md")).expect("remove");
    std::os::unix::fs::symlink(d.path("secret.txt"), d.path("tpl/label.md")).expect("symlink");
    let linked = d.expect(2, &args("d.md"));
    assert!(
        String::from_utf8_lossy(&linked.stderr).contains("outside the template folder"),
        "{}",
        describe(&args("d.md"), &linked)
    );
    assert!(!d.path("d.md").exists());
    std::fs::remove_file(d.path("tpl/label.md")).expect("remove");
    let missing = d.expect(2, &args("d.md"));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("'label.md' is missing"));
    assert!(
        !d.path("d.md").exists(),
        "no report file after a template error"
    );
    // An HTML template that includes a missing partial is an error too.
    std::fs::remove_file(d.path("tpl/base.html")).expect("remove");
    let no_base = d.expect(
        2,
        &[
            "report",
            "label",
            "demo@2",
            "--policy",
            "d/release-gate.yaml",
            "--output",
            "e.html",
            "--templates",
            "tpl",
        ],
    );
    assert!(String::from_utf8_lossy(&no_base.stderr).contains("base.html"));
    d.expect(
        2,
        &[
            "report",
            "label",
            "demo@2",
            "--policy",
            "d/release-gate.yaml",
            "--output",
            "f.md",
            "--templates",
            "no-such-folder",
        ],
    );
}

#[test]
fn usage_errors_exit_2() {
    let d = Demo::new();
    let base = [
        "report",
        "label",
        "demo@2",
        "--policy",
        "d/release-gate.yaml",
    ];
    let with = |extra: &[&'static str]| {
        let mut v: Vec<&str> = base.to_vec();
        v.extend_from_slice(extra);
        v
    };
    d.expect(2, &with(&["--output", "label.txt"]));
    d.expect(2, &with(&["--output", "x.md", "--date", "15/01/2026"]));
    d.expect(2, &with(&["--output", "x.md", "--sign", "no-such.key"]));
    std::fs::write(d.path("bad.key"), "not a key\n").expect("write");
    d.expect(2, &with(&["--output", "x.md", "--sign", "bad.key"]));
    d.expect(
        2,
        &[
            "report",
            "label",
            "demo@9",
            "--policy",
            "d/release-gate.yaml",
            "--output",
            "x.md",
        ],
    );
    d.expect(
        2,
        &[
            "report",
            "adequacy",
            "demo@1",
            "--policy",
            "d/release-gate.yaml",
            "--output",
            "x.md",
            "--budget",
            "-1",
        ],
    );
    assert!(!d.path("x.md").exists());
}

#[test]
fn produced_reports_are_recorded() {
    let d = Demo::new();
    d.expect(0, &["key", "generate", "--output", "k"]);
    d.report("label", "demo@2", "label.html", &["--sign", "k.key"]);
    d.report("adequacy", "demo@1", "adequacy.json", &[]);
    let out = d.expect(0, &["report", "history", "demo", "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let all = v.as_array().expect("list");
    // The demo itself records its two signed labels (HTML and Markdown) first.
    assert_eq!(all.len(), 4);
    let records = &all[2..];
    let label = &records[0];
    assert_eq!(label["kind"], "nutrition-label");
    assert_eq!(label["version"], 2);
    assert_eq!(label["format"], "html");
    assert_eq!(label["signed"], true);
    assert_eq!(label["report_date"], DATE);
    assert_eq!(label["verdict"], "pass");
    let bytes = std::fs::read(d.path("label.html")).expect("read");
    assert_eq!(
        label["report_sha256"],
        overlap::report::signing::sha256_hex(&bytes)
    );
    let pubkey = std::fs::read_to_string(d.path("k.pub")).expect("pub");
    let public = overlap::report::signing::parse_public_key(&pubkey).expect("public key");
    assert_eq!(label["key_fingerprint"], public.fingerprint());
    let adequacy = &records[1];
    assert_eq!(adequacy["kind"], "design-adequacy");
    assert_eq!(adequacy["signed"], false);
    assert!(adequacy["key_fingerprint"].is_null());
    assert_eq!(adequacy["verdict"], "fail");
    let human = d.expect(0, &["report", "history", "demo"]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("nutrition-label"));
}
