//! `overlap demo`: a complete example from the embedded default, with no input files.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::Args;

use super::{Context, Outcome};
use crate::output::num;
use overlap::analysis::service;
use overlap::app::audit::SheetTarget;
use overlap::app::dataset::ImportRequest;
use overlap::app::gate::{GateRequest, run_gate};
use overlap::app::plan::{PlanRequest, make_plan};
use overlap::app::policy_file::{PolicyFile, analysis_params};
use overlap::app::report::{ReportRequest, write_report};
use overlap::app::{self, Session};
use overlap::audit;
use overlap::demo;
use overlap::design::DesignRequest;
use overlap::ingest::{ImportOptions, InputFormat};
use overlap::model::{AcceptanceObservation, DatasetRef, Name};
use overlap::numerics::optimal_design::Criterion;
use overlap::policy::{self, GateVerdict};
use overlap::storage::{ImportOutcome, Store};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the demo's database and files: new, empty, or an earlier demo's (recreated).
    #[arg(long, default_value = "overlap-demo")]
    pub dir: PathBuf,
    /// Seed of the generated collections.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Output: `human` (the walkthrough on stdout) or `json` (a summary on stdout, the
    /// walkthrough on stderr).
    #[arg(long, value_enum, default_value_t)]
    pub format: super::output::Format,
}

/// The walkthrough: on stdout, or on stderr when stdout carries the JSON summary.
macro_rules! say {
    ($human:expr, $($arg:tt)*) => {
        if $human {
            println!($($arg)*)
        } else {
            eprintln!($($arg)*)
        }
    };
}

const MARKER: &str = ".overlap-demo";

/// The shipped release gate and precision targets, embedded so the demo needs no files.
const RELEASE_GATE: &str = include_str!("../policies/release-gate.yaml");
const PRECISION_TARGETS: &str = include_str!("../policies/precision-targets.yaml");

fn prepare_dir(dir: &Path) -> Result<PathBuf> {
    let db = dir.join("overlap.db");
    if dir.exists() {
        // Only an earlier demo's folder is recreated: anything else may hold keys or reports
        // someone wants to keep.
        let empty = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .next()
            .is_none();
        if !empty && !dir.join(MARKER).exists() {
            bail!(
                "{} already holds files the demo did not create; choose another --dir (an empty or new folder)",
                dir.display()
            );
        }
        for f in ["overlap.db", "overlap.db-wal", "overlap.db-shm"] {
            let p = dir.join(f);
            if p.exists() {
                std::fs::remove_file(&p)
                    .with_context(|| format!("cannot remove {}", p.display()))?;
            }
        }
    } else {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(
        dir.join(MARKER),
        "created by `overlap demo`; safe to delete\n",
    )?;
    Ok(db)
}

fn write_jsonl(path: &Path, rows: &[serde_json::Value]) -> Result<()> {
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    for r in rows {
        serde_json::to_writer(&mut f, r)?;
        f.write_all(b"\n")?;
    }
    f.flush()?;
    Ok(())
}

fn import_file(session: &mut Session, path: &Path, note: &str) -> Result<String> {
    let file = path.display().to_string();
    let report = app::dataset::import(
        session,
        &ImportRequest {
            name: &Name::parse("demo")?,
            file: &file,
            options: &ImportOptions::new(InputFormat::Jsonl),
            note: Some(note),
            rejects: None,
        },
        &|_| {},
    )?;
    match report.outcome {
        ImportOutcome::Created(info) => {
            Ok(format!("{}@{} {}", info.dataset, info.version, info.digest))
        }
        ImportOutcome::Unchanged(info) => Ok(format!("{} unchanged", info.label())),
    }
}

pub(crate) fn run(ctx: &Context, args: DemoArgs) -> Result<Outcome> {
    let human = args.format == super::output::Format::Human;
    let mut versions = Vec::new();
    let mut gates = Vec::new();
    let db = prepare_dir(&args.dir)?;
    let (store, _) = Store::init(&db)?;
    let mut session = Session::new(store, ctx.stamp.clone());
    let now = ctx.now();
    say!(human, "overlap demo in {}", args.dir.display());
    say!(
        human,
        "\n1. Registering five interventions with acceptance observations"
    );
    for i in demo::interventions() {
        let (store, _) = session.parts();
        store.add_intervention(i.name, &i.spec, ctx.actor(), &now)?;
        for (bucket, attempts, accepted) in &i.acceptance {
            store.record_acceptance(
                i.name,
                &AcceptanceObservation {
                    bucket: bucket.to_string(),
                    attempts: *attempts,
                    accepted: *accepted,
                    note: Some("pilot batch".into()),
                    recorded_at: now.clone(),
                    recorded_by: ctx.actor().to_owned(),
                },
            )?;
        }
        say!(human, "   {:<15} {}", i.name, i.spec.intent);
    }
    let passive = demo::passive(args.seed, 0.95);
    let mut active = passive.clone();
    active.extend(demo::active(args.seed, 400));
    let v1 = args.dir.join("passive.jsonl");
    let v2 = args.dir.join("active.jsonl");
    write_jsonl(&v1, &passive)?;
    write_jsonl(&v2, &active)?;
    say!(
        human,
        "\n2. Passive collection: {} comparisons; in self-harm, length and refusal move together (ρ ≈ 0.95)",
        passive.len()
    );
    let imported = import_file(&mut session, &v1, "passive collection")?;
    say!(human, "   {imported}");
    versions.push(imported);
    say!(
        human,
        "\n3. Active collection: {} more comparisons whose edits cross length and refusal",
        active.len() - passive.len()
    );
    let imported = import_file(&mut session, &v2, "passive + intervention arms")?;
    say!(human, "   {imported}");
    versions.push(imported);
    let policy_path = args.dir.join("release-gate.yaml");
    std::fs::write(&policy_path, RELEASE_GATE)
        .with_context(|| format!("cannot write {}", policy_path.display()))?;
    say!(
        human,
        "\n4. Overlap per bucket (λ_min of the Fisher information; weakest direction)"
    );
    let policy_file = PolicyFile::from_text(&policy_path, RELEASE_GATE);
    let params = analysis_params(&policy_file.shape()?);
    let mut analyses = Vec::new();
    for v in ["demo@1", "demo@2"] {
        let (store, _) = session.parts();
        let info = store.resolve(&v.parse()?)?;
        let (a, _) = service::cached(store, &info, &params, false, &now, ctx.actor())?;
        analyses.push(a);
    }
    for (b1, b2) in analyses[0].buckets.iter().zip(&analyses[1].buckets) {
        say!(
            human,
            "   {:<10} λ_min {} → {}   weakest: {} → {}",
            b1.bucket,
            num(b1.metrics.lambda_min),
            num(b2.metrics.lambda_min),
            b1.weakest_direction_words,
            b2.weakest_direction_words
        );
    }
    say!(human, "\n5. Release gate ({})", policy_path.display());
    let today = ctx.today();
    for v in ["demo@1", "demo@2"] {
        let info = session.store().resolve(&v.parse()?)?;
        let run = session.atomically(|store, stamp| {
            run_gate(
                store,
                stamp,
                &info,
                &GateRequest {
                    policy: &policy_file,
                    today,
                    fail_on_warn: false,
                    recompute: false,
                },
            )
        })?;
        let c = &run.evaluation.counts;
        gates.push(serde_json::json!({
            "version": v,
            "passed": run.verdict == GateVerdict::Pass,
            "failing": c.fail,
        }));
        say!(
            human,
            "   {v}: {}",
            match run.verdict {
                GateVerdict::Pass => format!("PASS ({} checks)", c.pass),
                GateVerdict::Fail => format!("FAIL ({} failing)", c.fail),
            }
        );
        for f in run
            .evaluation
            .findings
            .iter()
            .filter(|f| f.outcome == policy::Outcome::Fail)
        {
            let direction = f
                .evidence
                .weakest_direction
                .as_deref()
                .map_or(String::new(), |w| format!("; weakest direction: {w}"));
            say!(
                human,
                "      {} [{}]: {}{direction}",
                f.rule.as_deref().unwrap_or("-"),
                f.bucket,
                f.message
            );
        }
    }
    say!(
        human,
        "\n6. Audit: 20 self-harm comparisons of demo@2 along the weakest direction, plus length/refusal probes"
    );
    let demo2: DatasetRef = "demo@2".parse()?;
    let request = audit::SampleRequest {
        pairs: vec![["length".to_string(), "refusal".to_string()]],
        seed: args.seed,
        ..audit::SampleRequest::new("self-harm", 20)
    };
    // The simulated panel reviews the recorded rows, so the sheet itself is not kept.
    let recorded = app::audit::sample(
        &mut session,
        &demo2,
        &request,
        SheetTarget::Writer(&mut std::io::sink()),
        audit::SheetFormat::Jsonl,
    )?;
    let verdicts = audit::simulate_verdicts(
        &recorded.rows,
        &audit::SimulatedReview {
            reviewers: vec!["reviewer-a".into(), "reviewer-b".into()],
            meaningful_along: 0.9,
            on_policy_along: 0.95,
            meaningful_probe: 0.85,
            on_policy_probe: 0.9,
            accuracy: 0.95,
            second_opinion: 0.5,
            seed: args.seed,
        },
    )?;
    audit::record_verdicts(
        session.parts().0,
        "simulated-review",
        verdicts,
        None,
        &now,
        ctx.actor(),
    )?;
    let status = app::audit::status(&session, &demo2, audit::DEFAULT_MIN_PASS_RATE)?;
    for b in status.buckets.iter().filter(|b| b.overall.audited > 0) {
        say!(
            human,
            "   {}: sample {}, {} audited, pass rate {} (Wilson 95% [{}, {}]), illusory overlap: {}",
            b.bucket,
            recorded.audit_id,
            b.overall.audited,
            b.overall.pass_rate.map_or("—".into(), num),
            b.overall.wilson_low.map_or("—".into(), num),
            b.overall.wilson_high.map_or("—".into(), num),
            match b.illusory_overlap {
                Some(true) => "yes",
                Some(false) => "no",
                None => "not yet known",
            }
        );
    }
    say!(
        human,
        "\n7. What would close the gap: the E-optimal mixture and a budget plan"
    );
    let info1 = session.store().resolve(&"demo@1".parse()?)?;
    let info2 = session.store().resolve(&demo2)?;
    for (info, budget) in [(&info1, None), (&info2, Some(1.03))] {
        let d = app::design::bucket_design(
            session.store(),
            info,
            DesignRequest {
                bucket: "self-harm".into(),
                criterion: Criterion::E,
                budget,
                label_cost: 1.0,
                min_mass: Vec::new(),
                groups: None,
            },
            false,
            1e-4,
        )?;
        let mix: Vec<String> = d
            .arms
            .iter()
            .filter(|a| a.pi > 1e-3)
            .map(|a| format!("{} {:.0}%", a.arm, 100.0 * a.pi))
            .collect();
        let pilots = d.unexplored.iter().filter(|u| u.pilot > 0).count();
        say!(
            human,
            "   {}@{} self-harm{}: optimal mixture {} → λ_min {} (now {}); {} unexplored arm(s) to pilot",
            d.dataset,
            d.version,
            budget.map_or(String::new(), |b| format!(" at ≤ {b} per label")),
            mix.join(", "),
            d.lambda_min_optimal.map_or("—".into(), num),
            num(d.lambda_min_current),
            pilots
        );
    }
    let targets_path = args.dir.join("precision-targets.yaml");
    std::fs::write(&targets_path, PRECISION_TARGETS)
        .with_context(|| format!("cannot write {}", targets_path.display()))?;
    let targets = PolicyFile::from_text(&targets_path, PRECISION_TARGETS);
    let (store, stamp) = session.parts();
    let plan = make_plan(
        store,
        stamp,
        &info2,
        &PlanRequest {
            policy: &targets,
            budget: Some(3000.0),
            label_cost: 1.0,
        },
    )?
    .report;
    say!(
        human,
        "   plan for demo@2 under {} with a budget of 3000: {} labels, cost {}, every target met: {}",
        targets_path.display(),
        plan.buckets.iter().map(|b| b.n_new).sum::<u64>(),
        num(plan.cost),
        if plan.buckets.iter().all(|b| b.target_met) {
            "yes"
        } else {
            "no"
        }
    );
    for b in &plan.buckets {
        say!(
            human,
            "      {:<10} {:>5} labels → worst_se {} → {} (target {})",
            b.bucket,
            b.n_new,
            b.worst_se_before.map_or("—".into(), num),
            b.worst_se_after.map_or("—".into(), num),
            num(b.target_worst_se)
        );
    }

    say!(
        human,
        "\n8. Signed nutrition label for demo@2, verified offline"
    );
    let pair = overlap::report::signing::generate_key_pair()?;
    let secret_path = args.dir.join("demo-signing.key");
    let public_path = args.dir.join("demo-signing.pub");
    super::keys::write_new(&secret_path, pair.secret.to_text().as_bytes(), 0o600, true)?;
    super::keys::write_new(&public_path, pair.public.to_text().as_bytes(), 0o644, true)?;
    let mut labels = Vec::new();
    for (format, file) in [
        (
            overlap::report::render::ReportFormat::Html,
            "nutrition-label-demo2.html",
        ),
        (
            overlap::report::render::ReportFormat::Markdown,
            "nutrition-label-demo2.md",
        ),
    ] {
        let output = args.dir.join(file);
        let (store, stamp) = session.parts();
        let written = write_report(
            store,
            stamp,
            &info2,
            &ReportRequest {
                kind: overlap::report::view::ReportKind::NutritionLabel,
                policy: &policy_file,
                format,
                output: &output,
                date: today,
                secret_key: Some(&secret_path),
                templates: None,
                budget: None,
                recompute: false,
            },
        )?;
        labels.push(written);
    }
    for written in &labels {
        let bytes = std::fs::read(&written.path)?;
        let read = |p: &Option<std::path::PathBuf>| -> Result<Option<String>> {
            p.as_ref()
                .map(std::fs::read_to_string)
                .transpose()
                .map_err(Into::into)
        };
        let verified = overlap::report::signing::verify(
            &bytes,
            &pair.public.to_text(),
            read(&written.signature)?.as_deref(),
            read(&written.attestation)?.as_deref(),
        );
        match verified {
            Ok(v) => say!(
                human,
                "   {}: signed and VERIFIED (sha256 {}…, signer {}…)",
                written.path.display(),
                &v.report_sha256[..12],
                &v.signer_fingerprint[..12]
            ),
            Err(e) => anyhow::bail!("the demo's own label did not verify: {e}"),
        }
    }
    let dbs = db.display();
    say!(human, "\nNext:");
    say!(human, "   overlap --db {dbs} analyze demo@1");
    say!(
        human,
        "   overlap --db {dbs} gate demo@1 --policy {} --format markdown",
        policy_path.display()
    );
    say!(
        human,
        "   overlap verify {} --public-key {}",
        args.dir.join("nutrition-label-demo2.html").display(),
        public_path.display()
    );
    say!(
        human,
        "   overlap --db {dbs} design demo@2 --bucket self-harm --max-cost-per-label 1.03"
    );
    say!(
        human,
        "   overlap --db {dbs} plan demo@2 --policy {} --budget 3000",
        targets_path.display()
    );
    say!(human, "   overlap --db {dbs} audit status demo@2");
    say!(human, "   overlap --db {dbs} dataset show demo@1");
    say!(human, "   overlap --db {dbs} dataset diff demo@1 demo@2");
    say!(human, "   overlap --db {dbs} intervention show shorten");
    say!(human, "   overlap --db {dbs} registry verify");
    if !human {
        super::output::print_json(&serde_json::json!({
            "dir": args.dir.display().to_string(),
            "database": db.display().to_string(),
            "versions": versions
                .iter()
                .map(|v| match v.split_once(' ') {
                    Some((version, digest)) => serde_json::json!({"version": version, "digest": digest}),
                    None => serde_json::json!({"version": v}),
                })
                .collect::<Vec<_>>(),
            "gates": gates,
            "labels": labels.iter().map(|w| serde_json::json!({
                "file": w.path.display().to_string(),
                "sha256": w.sha256,
                "signature": w.signature.as_ref().map(|p| p.display().to_string()),
                "attestation": w.attestation.as_ref().map(|p| p.display().to_string()),
            })).collect::<Vec<_>>(),
            "public_key": public_path.display().to_string(),
        }))?;
    }
    Ok(Outcome::Success)
}
