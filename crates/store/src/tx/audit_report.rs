// The smart-audit report's reads: findings recorded at settlement by rule and category, the
// visits they name, and whether the review workflow's tables exist. Compiled once per backend;
// see lib.rs and audit_report.rs.

/// Counts of the findings `filter` selects (a `WHERE` clause over `audit_finding`).
async fn finding_counts(
    pool: &Pool,
    filter: &str,
) -> Result<crate::audit_report::FindingCounts, StoreError> {
    let sql = format!(
        "SELECT COUNT(*), COUNT(DISTINCT patn_id), COUNT(DISTINCT mdtrt_id), \
         CAST(COALESCE(SUM(vola_amt_fen), 0) AS BIGINT) FROM audit_finding WHERE {filter}"
    );
    let row = sqlx::query(&sql).fetch_one(pool).await?;
    Ok(crate::audit_report::FindingCounts {
        findings: row.try_get(0)?,
        persons: row.try_get(1)?,
        visits: row.try_get(2)?,
        vola_amt_fen: row.try_get(3)?,
    })
}

pub(crate) async fn audit_summary(
    pool: &Pool,
) -> Result<crate::audit_report::AuditSummary, StoreError> {
    let settled = finding_counts(pool, "setl_id IS NOT NULL").await?;
    let checks = finding_counts(pool, "setl_id IS NULL").await?;
    let mut by_rule = Vec::new();
    for row in sqlx::query(
        "SELECT rule_id, category, sev_deg, COUNT(*), COUNT(DISTINCT patn_id), \
         COUNT(DISTINCT mdtrt_id), CAST(COALESCE(SUM(vola_amt_fen), 0) AS BIGINT) \
         FROM audit_finding WHERE setl_id IS NOT NULL \
         GROUP BY rule_id, category, sev_deg ORDER BY rule_id, sev_deg, category",
    )
    .fetch_all(pool)
    .await?
    {
        by_rule.push(crate::audit_report::RuleCounts {
            rule_id: row.try_get(0)?,
            category: row.try_get(1)?,
            sev_deg: row.try_get(2)?,
            counts: crate::audit_report::FindingCounts {
                findings: row.try_get(3)?,
                persons: row.try_get(4)?,
                visits: row.try_get(5)?,
                vola_amt_fen: row.try_get(6)?,
            },
        });
    }
    let mut by_category = Vec::new();
    for row in sqlx::query(
        "SELECT category, COUNT(*), COUNT(DISTINCT patn_id), COUNT(DISTINCT mdtrt_id), \
         CAST(COALESCE(SUM(vola_amt_fen), 0) AS BIGINT) \
         FROM audit_finding WHERE setl_id IS NOT NULL GROUP BY category ORDER BY category",
    )
    .fetch_all(pool)
    .await?
    {
        by_category.push(crate::audit_report::CategoryCounts {
            category: row.try_get(0)?,
            counts: crate::audit_report::FindingCounts {
                findings: row.try_get(1)?,
                persons: row.try_get(2)?,
                visits: row.try_get(3)?,
                vola_amt_fen: row.try_get(4)?,
            },
        });
    }
    let settlements: i64 = sqlx::query("SELECT COUNT(*) FROM settlement WHERE setl_sign = 1")
        .fetch_one(pool)
        .await?
        .try_get(0)?;
    // The parts add up to the whole, by rule and by category.
    let rule_sum: i64 = by_rule.iter().map(|r| r.counts.findings).sum();
    let category_sum: i64 = by_category.iter().map(|c| c.counts.findings).sum();
    if rule_sum != settled.findings || category_sum != settled.findings {
        return Err(StoreError::Invariant(format!(
            "audit summary: {} findings, {rule_sum} by rule, {category_sum} by category",
            settled.findings
        )));
    }
    Ok(crate::audit_report::AuditSummary {
        settled,
        by_rule,
        by_category,
        checks,
        settlements,
    })
}

pub(crate) async fn audit_finding_visits(
    pool: &Pool,
) -> Result<Vec<crate::audit_report::FindingVisit>, StoreError> {
    let rows = sqlx::query(
        "SELECT mdtrt_id, rule_id, sev_deg FROM audit_finding WHERE setl_id IS NOT NULL \
         ORDER BY mdtrt_id, rule_id LIMIT $1",
    )
    .bind(crate::audit_report::FINDING_VISITS_MAX + 1)
    .fetch_all(pool)
    .await?;
    if rows.len() as i64 > crate::audit_report::FINDING_VISITS_MAX {
        return Err(StoreError::Invariant(format!(
            "audit report: more than {} findings at settlement to match in memory",
            crate::audit_report::FINDING_VISITS_MAX
        )));
    }
    rows.iter()
        .map(|row| {
            Ok(crate::audit_report::FindingVisit {
                mdtrt_id: row.try_get(0)?,
                rule_id: row.try_get(1)?,
                sev_deg: row.try_get(2)?,
            })
        })
        .collect()
}
