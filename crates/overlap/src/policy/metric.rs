//! The metrics a policy rule can constrain, with what each needs and the values it can take.
//!
//! Owns the mapping from policy names (`lambda_min`, …) to DESIGN §2 definitions: per-bucket
//! metrics, feature-pair metrics, per-intervention metrics, the per-arm metric, the audit metric and
//! drift metrics. Reading a metric's value out of an analysis is `evaluate`'s job, not this
//! module's.

use std::fmt;

use serde::{Serialize, Serializer};

/// A metric a rule can constrain (DESIGN §2 "Per-bucket metrics" and "Drift").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    N,
    LambdaMin,
    ConditionNumber,
    TotalInformation,
    WorstSe,
    MeanCurvature,
    GeometryLambdaMin,
    MinQuadrantShare,
    DiscordantShare,
    LabelBalance,
    ArmShare,
    AcceptanceRate,
    EffectiveCost,
    AuditPassRate,
    SecondMomentShift,
    WeakestDirectionAngle,
    MarginShift,
    Support,
}

/// What a metric is measured on, which decides the extra keys a rule needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// One value per bucket.
    Bucket,
    /// Needs `features: [f1, f2]`.
    FeaturePair,
    /// One value per intervention (`interventions:` optional).
    Intervention,
    /// Needs `arm: NAME`.
    Arm,
    /// One value per bucket from audit verdicts.
    Audit,
    /// One value per bucket against the policy's `baseline`.
    Drift,
    /// Needs `features: [f, …]`: one value per feature.
    Feature,
}

/// Which side of a threshold is the good side for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
    /// Both extremes can be bad (e.g. `label_balance`): any operator is sensible.
    Either,
}

/// The closed or half-open interval a metric's values lie in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub low: f64,
    /// `false` when `low` itself cannot occur (e.g. `worst_se` is never 0).
    pub low_inclusive: bool,
    /// `f64::INFINITY` when unbounded.
    pub high: f64,
}

impl Range {
    pub fn contains(&self, v: f64) -> bool {
        let above = if self.low_inclusive {
            v >= self.low
        } else {
            v > self.low
        };
        above && v <= self.high
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let open = if self.low_inclusive { '[' } else { '(' };
        if self.high.is_infinite() {
            write!(f, "{open}{}, ∞)", self.low)
        } else {
            write!(f, "{open}{}, {}]", self.low, self.high)
        }
    }
}

impl Metric {
    /// Every metric, in documentation order.
    pub const ALL: [Metric; 18] = [
        Metric::N,
        Metric::LambdaMin,
        Metric::ConditionNumber,
        Metric::TotalInformation,
        Metric::WorstSe,
        Metric::MeanCurvature,
        Metric::GeometryLambdaMin,
        Metric::MinQuadrantShare,
        Metric::DiscordantShare,
        Metric::LabelBalance,
        Metric::ArmShare,
        Metric::AcceptanceRate,
        Metric::EffectiveCost,
        Metric::AuditPassRate,
        Metric::SecondMomentShift,
        Metric::WeakestDirectionAngle,
        Metric::MarginShift,
        Metric::Support,
    ];

    /// The name used in policy files and in every output format.
    pub const fn name(self) -> &'static str {
        match self {
            Metric::N => "n",
            Metric::LambdaMin => "lambda_min",
            Metric::ConditionNumber => "condition_number",
            Metric::TotalInformation => "total_information",
            Metric::WorstSe => "worst_se",
            Metric::MeanCurvature => "mean_curvature",
            Metric::GeometryLambdaMin => "geometry_lambda_min",
            Metric::MinQuadrantShare => "min_quadrant_share",
            Metric::DiscordantShare => "discordant_share",
            Metric::LabelBalance => "label_balance",
            Metric::ArmShare => "arm_share",
            Metric::AcceptanceRate => "acceptance_rate",
            Metric::EffectiveCost => "effective_cost",
            Metric::AuditPassRate => "audit_pass_rate",
            Metric::SecondMomentShift => "second_moment_shift",
            Metric::WeakestDirectionAngle => "weakest_direction_angle",
            Metric::MarginShift => "margin_shift",
            Metric::Support => "support",
        }
    }

    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    pub const fn kind(self) -> MetricKind {
        match self {
            Metric::MinQuadrantShare | Metric::DiscordantShare => MetricKind::FeaturePair,
            Metric::AcceptanceRate | Metric::EffectiveCost => MetricKind::Intervention,
            Metric::ArmShare => MetricKind::Arm,
            Metric::AuditPassRate => MetricKind::Audit,
            Metric::SecondMomentShift | Metric::WeakestDirectionAngle | Metric::MarginShift => {
                MetricKind::Drift
            }
            Metric::Support => MetricKind::Feature,
            _ => MetricKind::Bucket,
        }
    }

    pub const fn better(self) -> Better {
        match self {
            Metric::N
            | Metric::LambdaMin
            | Metric::TotalInformation
            | Metric::MeanCurvature
            | Metric::GeometryLambdaMin
            | Metric::MinQuadrantShare
            | Metric::AcceptanceRate
            | Metric::AuditPassRate
            | Metric::Support => Better::Higher,
            Metric::ConditionNumber
            | Metric::WorstSe
            | Metric::EffectiveCost
            | Metric::SecondMomentShift
            | Metric::WeakestDirectionAngle
            | Metric::MarginShift => Better::Lower,
            Metric::DiscordantShare | Metric::LabelBalance | Metric::ArmShare => Better::Either,
        }
    }

    /// The values the metric can take; a threshold outside is a lint error.
    pub const fn range(self) -> Range {
        const fn closed(low: f64, high: f64) -> Range {
            Range {
                low,
                low_inclusive: true,
                high,
            }
        }
        match self {
            Metric::N
            | Metric::LambdaMin
            | Metric::TotalInformation
            | Metric::GeometryLambdaMin
            | Metric::EffectiveCost
            | Metric::SecondMomentShift
            | Metric::Support => closed(0.0, f64::INFINITY),
            Metric::ConditionNumber => closed(1.0, f64::INFINITY),
            // 1/sqrt(n·λ_min) is positive; `worst_se <= 0` could never pass.
            Metric::WorstSe => Range {
                low: 0.0,
                low_inclusive: false,
                high: f64::INFINITY,
            },
            Metric::MinQuadrantShare => closed(0.0, 0.5),
            Metric::WeakestDirectionAngle => closed(0.0, 90.0),
            Metric::MeanCurvature
            | Metric::DiscordantShare
            | Metric::LabelBalance
            | Metric::ArmShare
            | Metric::AcceptanceRate
            | Metric::AuditPassRate
            | Metric::MarginShift => closed(0.0, 1.0),
        }
    }

    /// Metrics whose value is about the weakest eigen-direction of Î_k: findings carry that
    /// direction in feature words as evidence.
    pub const fn shows_weakest_direction(self) -> bool {
        matches!(
            self,
            Metric::LambdaMin
                | Metric::ConditionNumber
                | Metric::TotalInformation
                | Metric::WorstSe
        )
    }

    /// Overlap metrics that a rule may scope with `features: [...]`: evaluated on the scoped
    /// information Î_{S·N} (DESIGN §5), every other feature a nuisance.
    pub const fn accepts_scope(self) -> bool {
        matches!(
            self,
            Metric::LambdaMin
                | Metric::ConditionNumber
                | Metric::TotalInformation
                | Metric::WorstSe
                | Metric::GeometryLambdaMin
        )
    }

    /// One line for tool metadata (SARIF rule help, documentation).
    pub const fn summary(self) -> &'static str {
        match self {
            Metric::N => "number of comparisons in the bucket",
            Metric::LambdaMin => "smallest eigenvalue of the per-comparison Fisher information",
            Metric::ConditionNumber => "ratio of largest to smallest Fisher information eigenvalue",
            Metric::TotalInformation => "n times the smallest Fisher information eigenvalue",
            Metric::WorstSe => "standard error of the weights along the weakest direction",
            Metric::MeanCurvature => "4 times the mean logistic curvature (1 = informative margin)",
            Metric::GeometryLambdaMin => "smallest eigenvalue of the design's second moment",
            Metric::MinQuadrantShare => "share of the rarer of crossed and concordant comparisons",
            Metric::DiscordantShare => {
                "share of comparisons where the two features disagree in sign"
            }
            Metric::LabelBalance => "share of comparisons where side a was preferred",
            Metric::ArmShare => "share of the bucket's comparisons in one arm",
            Metric::AcceptanceRate => "accepted over attempted edits of an intervention",
            Metric::EffectiveCost => "intervention cost divided by its acceptance rate",
            Metric::AuditPassRate => "share of audited comparisons judged meaningful and on-policy",
            Metric::SecondMomentShift => "relative Frobenius shift of the design second moment",
            Metric::WeakestDirectionAngle => "angle in degrees between the weakest directions",
            Metric::MarginShift => "Kolmogorov-Smirnov distance between the margin distributions",
            Metric::Support => "comparisons of the bucket in which the feature varies",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Metric {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in Metric::ALL {
            assert_eq!(Metric::from_name(m.name()), Some(m));
        }
        assert_eq!(Metric::from_name("lamda_min"), None);
    }

    #[test]
    fn ranges() {
        assert!(Metric::WorstSe.range().contains(0.1));
        assert!(!Metric::WorstSe.range().contains(0.0));
        assert!(!Metric::MinQuadrantShare.range().contains(0.6));
        assert!(Metric::N.range().contains(1e9));
        assert_eq!(Metric::MinQuadrantShare.range().to_string(), "[0, 0.5]");
        assert_eq!(Metric::WorstSe.range().to_string(), "(0, ∞)");
    }
}
