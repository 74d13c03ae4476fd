//! Relative weights (相对权重, RW) of DRGs learned from a region's history.
//!
//! RWᵢ = trimmed mean cost of DRG *i* / trimmed mean cost of all cases. Trimming: within each
//! DRG (and within the bucket of ungrouped cases) the cases are sorted by cost and
//! `floor(n × trim_ppm / 1,000,000)` cases are dropped from each end; the remaining (kept) cases
//! give the DRG's mean and, all buckets together, the overall mean. A DRG with fewer than
//! `min_cases` kept cases is *unstable*: it gets no weight and its cases are paid by cost like
//! ungrouped cases.

use std::collections::BTreeMap;

use crate::error::{config_error, PaymentError};
use crate::exact::{div_round_half_up, to_i64, PPM};
use crate::model::{DrgCode, InpatientCase};

/// How weights are learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightConfig {
    /// Share of cases dropped from EACH end of a DRG's cost distribution, ppm (default 25,000 =
    /// 2.5% each side). At most 250,000 (a quarter each side).
    pub trim_ppm: i64,
    /// Kept cases a DRG needs for a weight of its own (default 5).
    pub min_cases: u32,
}

impl Default for WeightConfig {
    fn default() -> Self {
        WeightConfig {
            trim_ppm: 25_000,
            min_cases: 5,
        }
    }
}

/// A mean kept exactly as a sum over a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactMean {
    /// Sum of the values.
    pub sum: i64,
    /// Number of values (> 0).
    pub count: u64,
}

impl ExactMean {
    /// The mean rounded half up to the unit (for display; computations use sum and count).
    pub fn rounded(&self) -> i64 {
        to_i64(
            div_round_half_up(i128::from(self.sum), i128::from(self.count)),
            "mean",
        )
    }
}

/// One DRG's learned figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrgWeight {
    /// Cases of the DRG in the history, before trimming.
    pub n_cases: u64,
    /// Trimmed mean cost of the DRG in fen (the basis of outlier tests).
    pub mean_cost: ExactMean,
    /// Relative weight in ppm (1.0 = 1,000,000); also the base points in 1/10000 point.
    pub weight_ppm: i64,
}

/// The relative weights of a region: stable DRGs with their weights, and the overall mean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightTable {
    /// Stable DRGs and their weights.
    pub drgs: BTreeMap<DrgCode, DrgWeight>,
    /// DRGs seen in the history with too few kept cases (paid by cost).
    pub unstable: BTreeMap<DrgCode, u64>,
    /// Trimmed mean cost of all cases in fen.
    pub overall_mean_cost: ExactMean,
    /// Cases in the history.
    pub n_history_cases: u64,
    /// Cases dropped by trimming.
    pub n_trimmed: u64,
}

impl WeightTable {
    /// The weight of a DRG, if it is stable.
    pub fn get(&self, drg: DrgCode) -> Option<&DrgWeight> {
        self.drgs.get(&drg)
    }
}

/// Checks a weight configuration.
pub fn validate_weight_config(config: &WeightConfig) -> Result<(), PaymentError> {
    if !(0..=250_000).contains(&config.trim_ppm) {
        return Err(config_error(
            "weights.trim_each_side",
            format!("{} ppm is not 0 to 250000", config.trim_ppm),
        ));
    }
    if config.min_cases == 0 {
        return Err(config_error("weights.min_cases", "must be at least 1"));
    }
    Ok(())
}

/// Sorts costs and returns the kept (trimmed) sum and count.
fn trimmed(costs: &mut [i64], trim_ppm: i64) -> (i64, u64, u64) {
    costs.sort_unstable();
    let n = costs.len() as i128;
    let cut = (n * i128::from(trim_ppm) / PPM) as usize;
    let kept = &costs[cut..costs.len() - cut];
    (kept.iter().sum(), kept.len() as u64, 2 * cut as u64)
}

/// Learns relative weights from historical cases (validated by the caller with
/// [`crate::model::validate_cases`]).
pub fn build_weights(
    history: &[InpatientCase],
    config: &WeightConfig,
) -> Result<WeightTable, PaymentError> {
    validate_weight_config(config)?;
    let mut costs_by_drg: BTreeMap<Option<DrgCode>, Vec<i64>> = BTreeMap::new();
    for case in history {
        costs_by_drg
            .entry(case.drg)
            .or_default()
            .push(case.cost_fen);
    }
    let mut kept_by_drg: BTreeMap<DrgCode, (i64, u64, u64)> = BTreeMap::new();
    let (mut all_sum, mut all_count, mut n_trimmed) = (0_i64, 0_u64, 0_u64);
    for (drg, costs) in costs_by_drg.iter_mut() {
        let n_cases = costs.len() as u64;
        let (sum, count, cut) = trimmed(costs, config.trim_ppm);
        all_sum += sum;
        all_count += count;
        n_trimmed += cut;
        if let Some(drg) = drg {
            kept_by_drg.insert(*drg, (sum, count, n_cases));
        }
    }
    if all_count == 0 || all_sum <= 0 {
        return Err(PaymentError::EmptyHistory);
    }
    let overall = ExactMean {
        sum: all_sum,
        count: all_count,
    };
    let mut drgs = BTreeMap::new();
    let mut unstable = BTreeMap::new();
    for (drg, (sum, count, n_cases)) in kept_by_drg {
        if count < u64::from(config.min_cases) || sum <= 0 {
            unstable.insert(drg, n_cases);
            continue;
        }
        // RW = (sum / count) / (all_sum / all_count), in ppm, rounded once.
        let weight_ppm = div_round_half_up(
            i128::from(sum) * i128::from(all_count) * PPM,
            i128::from(count) * i128::from(all_sum),
        );
        drgs.insert(
            drg,
            DrgWeight {
                n_cases,
                mean_cost: ExactMean { sum, count },
                weight_ppm: to_i64(weight_ppm, "weight_ppm"),
            },
        );
    }
    Ok(WeightTable {
        drgs,
        unstable,
        overall_mean_cost: overall,
        n_history_cases: history.len() as u64,
        n_trimmed,
    })
}
