//! The smart-audit report's reads (`yibao audit report`): the findings recorded at settlement
//! counted by rule and by category — the first column of a bureau's published funnel (疑点数据 →
//! 初审 → 复审 → 终审, persons, money) — and the visits they name, so that a run's planted
//! violations can be matched to them. The review stages come from the case tables of the review
//! workflow, read by [`Store::review_report`]. The SQL is in
//! `tx/audit_report.rs`.

use crate::error::StoreError;
use crate::{Pool, Store};

/// Findings rows read by [`Store::audit_finding_visits`] at most: a report over a larger store
/// should be a batch job, not one read into memory.
pub const FINDING_VISITS_MAX: i64 = 2_000_000;

/// Counts of a set of findings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingCounts {
    /// Findings (疑点数据).
    pub findings: i64,
    /// Distinct persons (`patn_id`).
    pub persons: i64,
    /// Distinct visits (`mdtrt_id`).
    pub visits: i64,
    /// Money flagged, fen.
    pub vola_amt_fen: i64,
}

/// The findings of one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCounts {
    /// Our rule id.
    pub rule_id: String,
    /// The rule's category code (POL, PRC, MED, MGT, BHV, STA).
    pub category: String,
    /// The severity recorded.
    pub sev_deg: i64,
    /// The counts.
    pub counts: FindingCounts,
}

/// The findings of one category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryCounts {
    /// The category code.
    pub category: String,
    /// The counts.
    pub counts: FindingCounts,
}

/// What the store holds of the findings made at settlement (2207/2304, `setl_id` set), and,
/// apart, of the 3101/3102 checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditSummary {
    /// Every finding recorded at settlement.
    pub settled: FindingCounts,
    /// By rule, ordered by rule id and severity.
    pub by_rule: Vec<RuleCounts>,
    /// By category, ordered by code.
    pub by_category: Vec<CategoryCounts>,
    /// Findings answered to 3101/3102 checks (not at settlement).
    pub checks: FindingCounts,
    /// Settlements recorded (not reversals), for the share of settled visits flagged.
    pub settlements: i64,
}

/// One finding recorded at settlement, reduced to what matching a planted violation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingVisit {
    /// The visit.
    pub mdtrt_id: String,
    /// The rule.
    pub rule_id: String,
    /// The severity recorded.
    pub sev_deg: i64,
}

impl Store {
    /// The findings recorded at settlement, by rule and by category, and the checks' apart.
    pub async fn audit_summary(&self) -> Result<AuditSummary, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::audit_summary(p).await,
            Pool::Sq { pool, .. } => crate::sq::audit_summary(pool).await,
        }
    }

    /// Every finding recorded at settlement with its visit and rule (at most
    /// [`FINDING_VISITS_MAX`]; more is refused).
    pub async fn audit_finding_visits(&self) -> Result<Vec<FindingVisit>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::audit_finding_visits(p).await,
            Pool::Sq { pool, .. } => crate::sq::audit_finding_visits(pool).await,
        }
    }
}
