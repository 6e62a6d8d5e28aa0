//! A gate evaluation as the predicate of an in-toto test-result attestation
//! (<https://in-toto.io/attestation/test-result/v0.1>), so the verdict travels to any tool that
//! reads in-toto: `result` PASSED/WARNED/FAILED, the policy as the `configuration` (its name and
//! SHA-256), and every finding as a test named `RULE/BUCKET` in the passed, warned or failed list.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::findings::{Evaluation, Finding, FindingKind, GateVerdict, Outcome};

/// The predicate type URI of the test-result attestation.
pub const TEST_RESULT_PREDICATE: &str = "https://in-toto.io/attestation/test-result/v0.1";

/// The test-result predicate of `evaluation`. A finding that is waived, a warn finding and a
/// metric without data are *warned* (shown, never hidden); deny findings that fail are *failed*.
/// `result` is FAILED when the gate failed, WARNED when it passed with anything warned, PASSED
/// otherwise. Test names are sorted and unique.
pub fn predicate(evaluation: &Evaluation) -> Value {
    let mut passed = BTreeSet::new();
    let mut warned = BTreeSet::new();
    let mut failed = BTreeSet::new();
    for f in &evaluation.findings {
        let list = match f.outcome {
            Outcome::Pass => &mut passed,
            Outcome::Fail => &mut failed,
            Outcome::Waived | Outcome::Warn | Outcome::NoData => &mut warned,
        };
        list.insert(test_name(f));
    }
    // A test that failed or warned on one finding is not also reported as passed.
    for name in failed.iter().chain(&warned) {
        passed.remove(name);
    }
    let result = match evaluation.verdict {
        GateVerdict::Fail => "FAILED",
        GateVerdict::Pass if !warned.is_empty() || !failed.is_empty() => "WARNED",
        GateVerdict::Pass => "PASSED",
    };
    json!({
        "result": result,
        // A ResourceDescriptor: the policy by name and content digest (its path, as the command
        // was given it, is an annotation: a path is not a URI).
        "configuration": [{
            "name": evaluation.policy.name,
            "digest": {"sha256": evaluation.policy.digest},
            "annotations": {"file": evaluation.policy.file},
        }],
        "passedTests": passed,
        "warnedTests": warned,
        "failedTests": failed,
    })
}

/// `RULE/BUCKET`; findings without a rule are named by their kind.
fn test_name(f: &Finding) -> String {
    let rule = match (&f.rule, f.kind) {
        (Some(rule), FindingKind::WaiverExpired) => format!("waiver-expired:{rule}"),
        (Some(rule), FindingKind::WaiverUnused) => format!("waiver-unused:{rule}"),
        (Some(rule), _) => rule.clone(),
        (None, FindingKind::RequiredBucket) => "required-bucket".to_string(),
        (None, FindingKind::NothingChecked) => "nothing-checked".to_string(),
        (None, _) => "finding".to_string(),
    };
    format!("{rule}/{}", f.bucket)
}
