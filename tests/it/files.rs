//! Files the tool writes that must stay private or untouched: secret keys are 0600 whatever was
//! there before, a symlink at the key path is replaced rather than written through, and the demo
//! never overwrites a folder it did not create.

use std::os::unix::fs::PermissionsExt;

use crate::common::Env;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn key_generate_force_writes_a_private_key_and_never_follows_a_symlink() {
    let env = Env::new();
    // An existing world-readable key file: --force must not keep its mode.
    let secret = env.write("k.key", "old");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    env.run(&["key", "generate", "--output", "k"])
        .expect_code(2)
        .stderr_has(&["k.key already exists (pass --force to overwrite)"]);
    env.ok(&["key", "generate", "--output", "k", "--force"]);
    assert_eq!(mode(&secret), 0o600);
    assert!(
        env.read("k.key").contains("secret key"),
        "{}",
        env.read("k.key")
    );

    // A symlink where the secret goes: replaced by the new file, its target untouched.
    let target = env.write("elsewhere.txt", "keep me");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::os::unix::fs::symlink(&target, env.path("s.key")).expect("symlink");
    env.run(&["key", "generate", "--output", "s"])
        .expect_code(2)
        .stderr_has(&["s.key already exists"]);
    env.ok(&["key", "generate", "--output", "s", "--force"]);
    assert_eq!(env.read("elsewhere.txt"), "keep me");
    assert_eq!(mode(&target), 0o644);
    let meta = std::fs::symlink_metadata(env.path("s.key")).expect("metadata");
    assert!(
        meta.file_type().is_file(),
        "the symlink was replaced by a file"
    );
    assert_eq!(mode(&env.path("s.key")), 0o600);
    // No staged file is left behind.
    let leftovers: Vec<String> = std::fs::read_dir(env.path("."))
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn the_demo_refuses_a_folder_it_did_not_create() {
    let env = Env::new();
    std::fs::create_dir(env.path("mine")).expect("mkdir");
    env.write("mine/signing.key", "precious");
    env.run(&["demo", "--dir", "mine"])
        .expect_code(2)
        .stderr_has(&["already holds files the demo did not create"]);
    assert_eq!(env.read("mine/signing.key"), "precious");
}

/// `overlap … | head`: the reader leaving is not an error to print. A command whose exit code is
/// a verdict never turns into a success: the gate keeps its verdict, a verification cut short ends
/// with 141; any other command ends with 0 (the reader had what it wanted).
#[test]
fn a_closed_stdout_ends_the_command_quietly_and_never_passes_a_verdict() {
    let dir = crate::common::demo_copy();
    let cases: &[(&[&str], i32)] = &[
        (&["dataset", "export", "demo@2"], 0),
        (&["dataset", "export", "demo@2", "--output", "csv"], 0),
        (&["dataset", "list"], 0),
        (&["dataset", "show", "demo@2"], 0),
        (&["dataset", "diff", "demo@1", "demo@2"], 0),
        (&["intervention", "list"], 0),
        (&["intervention", "show", "shorten"], 0),
        (&["registry", "log"], 0),
        (&["analyze", "demo@2"], 0),
        (&["compare", "demo@1", "demo@2"], 0),
        (&["audit", "status", "demo@2"], 0),
        (&["design", "demo@2", "--bucket", "self-harm"], 0),
        (
            &["plan", "demo@2", "--policy", "d/precision-targets.yaml"],
            0,
        ),
        (&["report", "history", "demo"], 0),
        (&["gate", "history", "demo"], 0),
        (
            &[
                "simulate",
                "--labels",
                "500",
                "--replicates",
                "2",
                "--strategies",
                "passive,plugin",
            ],
            0,
        ),
        (&["completions", "bash"], 0),
        (&["man"], 0),
        (&["init", "--db", "fresh.db"], 0),
        // The gate's verdict survives the reader leaving: the failing version still fails.
        (&["gate", "demo@1", "--policy", "d/release-gate.yaml"], 1),
        (&["gate", "demo@2", "--policy", "d/release-gate.yaml"], 0),
        // A verification cut short is no pass either.
        (&["dataset", "verify", "demo"], 141),
        (&["store", "verify"], 141),
        (&["registry", "verify"], 141),
        (&["policy", "lint", "d/release-gate.yaml"], 141),
        (
            &[
                "verify",
                "d/nutrition-label-demo2.md",
                "--public-key",
                "d/demo-signing.pub",
            ],
            141,
        ),
    ];
    for &(args, code) in cases {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_overlap"))
            .current_dir(dir.path())
            .env_remove("OVERLAP_DB")
            .args(["--db", "d/overlap.db"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        // The pipe's read end is closed before the command writes, as `head` closes it.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
