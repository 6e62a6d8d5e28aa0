//! How a failed command reports itself on stderr: text for people, or under `--format json` one
//! JSON object (`{"error": {"code", "message", …}}`) with the same exit code, carrying the file,
//! line and field of every input problem and policy diagnostic when they are known.

use std::fmt;

use overlap::app::{AppError, PolicyErrors};
use overlap::ingest::{ImportError, Problems};
use overlap::storage::StorageError;
use serde_json::{Value, json};

/// An import refused for its input's problems (nothing was written).
#[derive(Debug)]
pub(crate) struct RejectedImport(pub Problems);

impl fmt::Display for RejectedImport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.0.total;
        write!(
            f,
            "{}\nimport rejected: {total} problem{} found; nothing was written",
            self.0,
            if total == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for RejectedImport {}

/// Whether the command line asks for JSON output (`--format json` or `--format=json`), read from
/// the raw arguments so that even a usage error answers in JSON.
pub(crate) fn wants_json(args: &[String]) -> bool {
    args.windows(2)
        .any(|w| w[0] == "--format" && w[1] == "json")
        || args.iter().any(|a| a == "--format=json")
}

/// The policy diagnostics an error carries, if it is a policy with errors.
pub(crate) fn policy_errors(e: &anyhow::Error) -> Option<&PolicyErrors> {
    e.chain()
        .find_map(|cause| match cause.downcast_ref::<AppError>() {
            Some(AppError::Policy(p)) => Some(p),
            _ => cause.downcast_ref::<PolicyErrors>(),
        })
}

/// The JSON form of a failed command.
pub(crate) fn error_json(e: &anyhow::Error) -> Value {
    let message = format!("{e:#}");
    if let Some(p) = policy_errors(e) {
        return json!({"error": {
            "code": "policy/invalid",
            "message": message,
            "diagnostics": p.diagnostics,
        }});
    }
    for cause in e.chain() {
        if let Some(RejectedImport(problems)) = cause.downcast_ref::<RejectedImport>() {
            return json!({"error": {
                "code": "input/rejected",
                "message": message,
                "total": problems.total,
                "problems": problems.shown.iter().map(|p| json!({
                    "file": p.file,
                    "line": (p.line > 0).then_some(p.line),
                    "field": p.field,
                    "message": p.message,
                })).collect::<Vec<_>>(),
            }});
        }
        // Library errors wrapped by the use cases are transparent, so look inside `AppError`.
        let app = cause.downcast_ref::<AppError>();
        let import = match app {
            Some(AppError::Import(e)) => Some(e),
            _ => cause.downcast_ref::<ImportError>(),
        };
        if let Some(ImportError::Io { file, .. } | ImportError::Unreadable { file, .. }) = import {
            return json!({"error": {"code": "input/unreadable", "message": message, "file": file}});
        }
        let storage = match app {
            Some(AppError::Storage(e)) => Some(e),
            _ => cause.downcast_ref::<StorageError>(),
        };
        if let Some(s) = storage {
            let code = match s {
                StorageError::Busy { .. } => "store/busy",
                _ => "store",
            };
            return json!({"error": {"code": code, "message": message}});
        }
    }
    json!({"error": {"code": "error", "message": message}})
}

/// A usage error (clap's) in JSON.
pub(crate) fn usage_json(message: &str) -> Value {
    json!({"error": {"code": "usage", "message": message.trim_end()}})
}
