//! A policy file read once per command.
//!
//! Every later step (the analysis parameters it asks for, the lint against the dataset, the
//! evaluation, the digest in the records) uses the one text read at the start, so a file edited
//! mid-command cannot mix two versions, and its warnings are collected once.

use std::fmt;
use std::path::{Path, PathBuf};

use super::AppError;
use crate::model::analysis::AnalysisParams;
use crate::policy::{self, DatasetContext, Diagnostic, Policy};

/// The text of a policy file and how to name it in messages.
#[derive(Debug, Clone)]
pub struct PolicyFile {
    pub path: PathBuf,
    /// The path as given, used in diagnostics.
    pub label: String,
    pub text: String,
}

/// A policy with errors: every diagnostic the lint found (warnings included, in file order).
#[derive(Debug, Clone)]
pub struct PolicyErrors {
    pub label: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl PolicyErrors {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }
}

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in self.diagnostics.iter().filter(|d| d.is_error()) {
            writeln!(f, "{d}")?;
        }
        write!(
            f,
            "policy {} has {} error(s); the gate did not run",
            self.label,
            self.errors()
        )
    }
}

impl std::error::Error for PolicyErrors {}

/// A policy parsed and linted against a dataset, with the warnings the front end shows.
#[derive(Debug, Clone)]
pub struct LoadedPolicy {
    pub policy: Policy,
    pub warnings: Vec<Diagnostic>,
}

impl PolicyFile {
    pub fn read(path: &Path) -> Result<PolicyFile, AppError> {
        let text = std::fs::read_to_string(path).map_err(|source| AppError::Read {
            what: "policy",
            path: path.to_path_buf(),
            source,
        })?;
        Ok(PolicyFile::from_text(path, text))
    }

    /// A policy whose text is already in memory (the demo's embedded policies).
    pub fn from_text(path: &Path, text: impl Into<String>) -> PolicyFile {
        PolicyFile {
            path: path.to_path_buf(),
            label: path.display().to_string(),
            text: text.into(),
        }
    }

    /// The policy's shape without the dataset (for the analysis parameters it asks for); a policy
    /// with errors fails with every problem the lint finds.
    pub fn shape(&self) -> Result<Policy, PolicyErrors> {
        policy::parse(&self.label, &self.text).map_err(|parse_errors| {
            let linted = self.errors(None);
            if linted.errors() > 0 {
                linted
            } else {
                PolicyErrors {
                    label: self.label.clone(),
                    diagnostics: parse_errors,
                }
            }
        })
    }

    /// Lints against the dataset and parses; any error fails with every diagnostic.
    pub fn load(&self, ctx: Option<&DatasetContext>) -> Result<LoadedPolicy, PolicyErrors> {
        let diagnostics = policy::lint(&self.label, &self.text, ctx);
        if diagnostics.iter().any(Diagnostic::is_error) {
            return Err(PolicyErrors {
                label: self.label.clone(),
                diagnostics,
            });
        }
        let policy =
            policy::parse(&self.label, &self.text).map_err(|parse_errors| PolicyErrors {
                label: self.label.clone(),
                diagnostics: parse_errors,
            })?;
        Ok(LoadedPolicy {
            policy,
            warnings: diagnostics,
        })
    }

    fn errors(&self, ctx: Option<&DatasetContext>) -> PolicyErrors {
        PolicyErrors {
            label: self.label.clone(),
            diagnostics: policy::lint(&self.label, &self.text, ctx),
        }
    }
}

/// The analysis parameters a policy asks for (its `analysis:` settings and the pairs and scopes it
/// names).
pub fn analysis_params(policy: &Policy) -> AnalysisParams {
    let s = policy.analysis_settings();
    AnalysisParams {
        ridge: s.ridge.as_ref().map_or(1e-4, |r| r.value),
        info_ridge: s.info_ridge.as_ref().map_or(0.0, |r| r.value),
        fit: s.fit.as_ref().map_or_else(Default::default, |f| f.value),
        pairs: policy.feature_pairs(),
        scopes: policy.scopes(),
    }
}
