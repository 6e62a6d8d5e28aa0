//! Loading a version and its registry context from the store, and reusing recorded analyses.

use super::{AnalysisError, Analyzed, RegistryView, analyze};
use crate::model::VersionInfo;
use crate::model::analysis::{AnalysisParams, VersionAnalysis};
use crate::storage::{StorageError, Store};

/// Errors of the store-facing analysis helpers.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
}

/// Every intervention's current cost and acceptance observations.
pub fn registry_view(store: &Store) -> Result<RegistryView, StorageError> {
    let mut view = RegistryView::default();
    for i in store.interventions()? {
        let obs = store.acceptance_observations(&i.name)?;
        view.interventions
            .insert(i.name.clone(), (i.spec.cost, obs));
    }
    Ok(view)
}

/// Computes the full analysis (with the per-arm matrices the solvers need).
pub fn compute(
    store: &Store,
    info: &VersionInfo,
    params: &AnalysisParams,
) -> Result<Analyzed, ServiceError> {
    let data = store.version_data(info)?;
    let view = registry_view(store)?;
    Ok(analyze(info, &data, &view, params)?)
}

/// Version of the recorded analysis JSON; bumped when its shape changes.
const ANALYSIS_SHAPE: &str = "r2";

/// The canonical key of analysis parameters (pairs normalized and sorted).
pub fn params_key(params: &AnalysisParams) -> String {
    let mut p = params.clone();
    for pair in &mut p.pairs {
        pair.sort();
    }
    p.pairs.sort();
    p.pairs.dedup();
    for scope in &mut p.scopes {
        scope.sort();
        scope.dedup();
    }
    p.scopes.sort();
    p.scopes.dedup();
    // The result's shape is part of the key: an analysis recorded before support and scopes were
    // reported (revision 2) is not reused.
    format!(
        "{ANALYSIS_SHAPE}:{}",
        serde_json::to_string(&p).unwrap_or_default()
    )
}

/// The recorded analysis for these parameters, or a new one (recorded) when there is none or
/// `recompute` is set. Returns whether a stored result was reused.
pub fn cached(
    store: &mut Store,
    info: &VersionInfo,
    params: &AnalysisParams,
    recompute: bool,
    now: &str,
    actor: &str,
) -> Result<(VersionAnalysis, bool), ServiceError> {
    let key = params_key(params);
    if !recompute {
        if let Some(found) = store.find_analysis(info, &key, crate::TOOL_VERSION)? {
            return Ok((found, true));
        }
    }
    let analyzed = compute(store, info, params)?;
    store.record_analysis(
        info,
        &key,
        crate::TOOL_VERSION,
        &analyzed.analysis,
        now,
        actor,
    )?;
    Ok((analyzed.analysis, false))
}
