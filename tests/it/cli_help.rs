//! `--help` of every command, as snapshots: the command tree is walked from `overlap --help`, so a
//! new command gets its snapshot (and a changed flag or text shows up in review).

use std::process::Command;

fn help(path: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_overlap"))
        .args(path)
        .arg("--help")
        .env_remove("OVERLAP_DB")
        .env_remove("OVERLAP_ACTOR")
        .output()
        .expect("run overlap --help");
    assert!(out.status.success(), "overlap {path:?} --help failed");
    assert!(out.stderr.is_empty(), "--help writes only to stdout");
    String::from_utf8(out.stdout).expect("help is UTF-8")
}

/// The subcommand names listed under `Commands:` (clap's layout), without `help`.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_command_has_a_help_snapshot() {
    let mut pending = vec![Vec::<String>::new()];
    let mut seen = 0;
    while let Some(path) = pending.pop() {
        let text = help(&path);
        for sub in subcommands(&text).into_iter().rev() {
            let mut child = path.clone();
            child.push(sub);
            pending.push(child);
        }
        let name = if path.is_empty() {
            "overlap".to_owned()
        } else {
            format!("overlap-{}", path.join("-"))
        };
        insta::assert_snapshot!(name, text);
        seen += 1;
    }
    assert!(seen > 20, "the walk found only {seen} commands");
}
