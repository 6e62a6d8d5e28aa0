//! The optimal design of one bucket as a use case (the command, the demo and reports share it).

use super::AppError;
use crate::analysis::{self, service};
use crate::design::{self, BucketDesign, DesignRequest};
use crate::model::VersionInfo;
use crate::model::analysis::{AnalysisParams, FitMode};
use crate::numerics::optimal_design::{Criterion, SolverOptions};
use crate::storage::Store;

/// Designs `request.bucket` of `info` on its default scope; with `robust_over_groups` the design
/// maximizes the smallest λ_min over the records' groups.
pub fn bucket_design(
    store: &Store,
    info: &VersionInfo,
    mut request: DesignRequest,
    robust_over_groups: bool,
    ridge: f64,
) -> Result<BucketDesign, AppError> {
    let params = AnalysisParams {
        ridge,
        info_ridge: 0.0,
        fit: FitMode::Pooled,
        pairs: Vec::new(),
        scopes: Vec::new(),
    };
    let analyzed = service::compute(store, info, &params)?;
    let registry = service::registry_view(store)?;
    let active: Vec<String> = store
        .interventions()?
        .into_iter()
        .filter(|i| i.retired.is_none())
        .map(|i| i.name)
        .collect();
    if robust_over_groups {
        let data = store.version_data(info)?;
        let pos = analyzed
            .analysis
            .buckets
            .iter()
            .position(|b| b.bucket == request.bucket);
        if let Some(pos) = pos {
            let arms: Vec<String> = analyzed.information[pos]
                .arms
                .iter()
                .map(|a| a.arm.clone())
                .collect();
            request.groups = Some(analysis::group_arm_information(
                &data,
                &info.schema.scales,
                &request.bucket,
                &analyzed.weights[pos],
                &arms,
            )?);
        }
        request.criterion = Criterion::ERobust;
    }
    Ok(design::design_bucket(
        &analyzed,
        &registry,
        &design::candidate_arms(&active),
        &request,
        &SolverOptions::default(),
    )?)
}
