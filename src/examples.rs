//! Two or three real examples at the end of every command's `--help`, kept in one table so they
//! read as a set (the demo's dataset and the shipped policies, so each runs after `overlap demo`
//! in its folder, or on the HH-RLHF file in `tests/data`). Commands that define their own
//! `after_help` keep it; a unit test checks that every command ends with examples.

use clap::Command;

const EXAMPLES: &[(&str, &[&str])] = &[
    (
        "init",
        &["overlap init", "overlap --db team.db init --format json"],
    ),
    (
        "intervention",
        &[
            "overlap intervention list",
            "overlap intervention show shorten",
        ],
    ),
    (
        "intervention add",
        &[
            "overlap intervention add shorten --family length --intent 'cut filler' --cost 0.4 --target length --confound list",
            "overlap intervention add add-refusal --family tone --intent 'decline unsafe requests' --cost 0.6 --owner safety-team",
        ],
    ),
    (
        "intervention update",
        &[
            "overlap intervention update shorten --cost 0.35 --description 'cuts filler, keeps lists'",
        ],
    ),
    (
        "intervention retire",
        &["overlap intervention retire shorten-v0 --reason 'superseded by shorten'"],
    ),
    (
        "intervention acceptance",
        &[
            "overlap intervention acceptance shorten --bucket self-harm --attempts 200 --accepted 171",
            "overlap intervention acceptance shorten --bucket benign --attempts 50 --accepted 49 --note 'pilot 2'",
        ],
    ),
    (
        "intervention list",
        &[
            "overlap intervention list",
            "overlap intervention list --format json",
        ],
    ),
    (
        "intervention show",
        &[
            "overlap intervention show shorten",
            "overlap intervention show shorten@1 --format json",
        ],
    ),
    (
        "registry",
        &["overlap registry log", "overlap registry verify"],
    ),
    (
        "registry log",
        &[
            "overlap registry log",
            "overlap registry log --format json | head -40",
        ],
    ),
    (
        "registry verify",
        &[
            "overlap registry verify",
            "overlap registry verify --checkpoint head.txt --public-key team.pub",
        ],
    ),
    (
        "registry checkpoint",
        &["overlap registry checkpoint --sign team.key --output head.txt"],
    ),
    (
        "dataset",
        &["overlap dataset list", "overlap dataset show demo@2"],
    ),
    (
        "dataset list",
        &["overlap dataset list", "overlap dataset list --format json"],
    ),
    (
        "dataset show",
        &[
            "overlap dataset show demo",
            "overlap dataset show demo@1 --format json",
        ],
    ),
    (
        "dataset diff",
        &[
            "overlap dataset diff demo@1 demo@2",
            "overlap dataset diff hh hh-content-ids --by content",
        ],
    ),
    (
        "dataset verify",
        &[
            "overlap dataset verify demo",
            "overlap dataset verify demo@2 --format json",
        ],
    ),
    ("store", &["overlap store verify"]),
    (
        "store verify",
        &["overlap store verify", "overlap store verify --format json"],
    ),
    (
        "audit",
        &[
            "overlap audit sample demo@2 --bucket self-harm --n 20 --output review.csv",
            "overlap audit status demo@2",
        ],
    ),
    (
        "audit sample",
        &[
            "overlap audit sample demo@2 --bucket self-harm --n 20 --output review.csv",
            "overlap audit sample demo@2 --bucket self-harm --n 40 --strategy weighted --pair length:refusal --output review.jsonl",
        ],
    ),
    (
        "audit record",
        &["overlap audit record review.csv --reviewer alice"],
    ),
    (
        "audit status",
        &[
            "overlap audit status demo@2",
            "overlap audit status demo@2 --min-pass-rate 0.9 --format json",
        ],
    ),
    (
        "policy",
        &["overlap policy lint policies/release-gate.yaml"],
    ),
    (
        "policy lint",
        &[
            "overlap policy lint policies/release-gate.yaml",
            "overlap policy lint policies/text-release-gate.yaml --dataset hh --format json",
        ],
    ),
    (
        "design",
        &[
            "overlap design demo@2 --bucket self-harm",
            "overlap design demo@2 --bucket self-harm --criterion a --max-cost-per-label 1.03",
            "overlap design next demo@2 --bucket self-harm --batch 200",
        ],
    ),
    (
        "design next",
        &[
            "overlap design next demo@2 --bucket self-harm --batch 200",
            "overlap design next demo@2 --bucket self-harm --batch 200 --strategy lcb --budget 250 --format csv",
        ],
    ),
    (
        "plan",
        &[
            "overlap plan demo@2 --policy policies/precision-targets.yaml",
            "overlap plan demo@2 --policy policies/precision-targets.yaml --budget 3000 --format json",
        ],
    ),
    ("key", &["overlap key generate --output team"]),
    (
        "key generate",
        &[
            "overlap key generate --output team",
            "overlap key generate --output ci/signer --format json",
        ],
    ),
    (
        "verify",
        &[
            "overlap verify label.html --public-key team.pub",
            "overlap verify gate.intoto.json --public-key team.pub --format json",
            "overlap verify head.txt --public-key team.pub",
        ],
    ),
    (
        "report",
        &[
            "overlap report label demo@2 --policy policies/release-gate.yaml --output label.html --sign team.key",
            "overlap report history demo",
        ],
    ),
    (
        "report label",
        &[
            "overlap report label demo@2 --policy policies/release-gate.yaml --output label.md",
            "overlap report label demo@2 --policy policies/release-gate.yaml --output label.html --sign team.key",
        ],
    ),
    (
        "report adequacy",
        &[
            "overlap report adequacy demo@1 --policy policies/release-gate.yaml --output adequacy.html",
            "overlap report adequacy demo@1 --policy policies/release-gate.yaml --output adequacy.md --budget 3000",
        ],
    ),
    (
        "report templates",
        &["overlap report templates --output my-templates"],
    ),
    (
        "report history",
        &[
            "overlap report history demo",
            "overlap report history demo --format json",
        ],
    ),
    (
        "simulate",
        &[
            "overlap simulate",
            "overlap simulate --sweep rho=0,0.5,0.8,0.9,0.95 --output sim",
            "overlap simulate --strategies passive,lcb --labels 2000 --format json",
        ],
    ),
    (
        "demo",
        &[
            "overlap demo",
            "overlap demo --dir /tmp/overlap-demo --seed 11",
        ],
    ),
    (
        "completions",
        &[
            "overlap completions bash > ~/.local/share/bash-completion/completions/overlap",
            "overlap completions zsh > \"${fpath[1]}/_overlap\"",
        ],
    ),
    (
        "man",
        &[
            "overlap man | man -l -",
            "overlap man --output ~/.local/share/man/man1",
        ],
    ),
    (
        "gate history",
        &[
            "overlap gate history demo",
            "overlap gate history demo --format json",
        ],
    ),
];

/// `cmd` with the examples of [`EXAMPLES`] appended to the help of every command that has none.
pub(crate) fn with_examples(mut cmd: Command) -> Command {
    for (path, lines) in EXAMPLES {
        let names: Vec<&str> = path.split(' ').collect();
        cmd = apply(cmd, &names, lines);
    }
    cmd
}

fn apply(cmd: Command, names: &[&str], lines: &'static [&'static str]) -> Command {
    match names {
        [] => {
            if cmd.get_after_help().is_some() {
                return cmd;
            }
            let mut text = String::from("Examples:");
            for l in lines {
                text.push_str("\n  ");
                text.push_str(l);
            }
            cmd.after_help(text)
        }
        [first, rest @ ..] => cmd.mut_subcommand(*first, |sub| apply(sub, rest, lines)),
    }
}

#[cfg(test)]
mod tests {
    /// The words of one example command line (quotes grouped, a pipe or redirection ends it).
    fn words(line: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut word = String::new();
        let mut quote: Option<char> = None;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.push(c),
                (None, '\'' | '"') => quote = Some(c),
                (None, '|' | '>' | '&') => break,
                (None, c) if c.is_whitespace() => {
                    if !word.is_empty() {
                        out.push(std::mem::take(&mut word));
                    }
                }
                (None, c) => word.push(c),
            }
            let _ = chars.peek();
        }
        if !word.is_empty() {
            out.push(word);
        }
        out
    }

    /// Every example line of every `--help` parses as a command line: no example names a flag or
    /// command that does not exist, or leaves out a required argument.
    #[test]
    fn every_example_is_a_valid_command_line() {
        fn walk(cmd: &clap::Command, lines: &mut Vec<String>) {
            if let Some(help) = cmd.get_after_help() {
                let help = help.to_string();
                if let Some(examples) = help.strip_prefix("Examples:\n") {
                    lines.extend(examples.lines().map(|l| l.trim().to_string()));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, lines);
            }
        }
        let mut lines = Vec::new();
        walk(&crate::command(), &mut lines);
        assert!(lines.len() > 60, "{} examples", lines.len());
        for line in lines {
            // `a && b` holds two commands; each is checked.
            for part in line.split("&&") {
                let args = words(part);
                assert_eq!(args.first().map(String::as_str), Some("overlap"), "{line}");
                if let Err(e) = crate::command().try_get_matches_from(&args) {
                    panic!("example `{line}` does not parse: {e}");
                }
            }
        }
    }
}
