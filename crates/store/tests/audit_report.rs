//! Issue 12: the smart-audit report's reads count the findings recorded at settlement by rule
//! and by category (persons and visits distinct, money to the fen), keep 3101/3102 findings
//! apart, list the visits findings name, and see no review tables before the workflow adds them.

#[path = "common/mod.rs"]
mod common;

use common::*;
use yibao_store::audit_report::{FindingCounts, FindingVisit};

/// One finding row: (jr_id, patn_id, mdtrt_id, setl_id, rule_id, category, sev_deg, fen).
type Row<'a> = (
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    &'a str,
    &'a str,
    i64,
    i64,
);

const ROWS: &[Row<'static>] = &[
    ("J1", "P001", "M1", Some("S1"), "MED-01", "MED", 1, 3_500),
    ("J2", "P001", "M1", Some("S1"), "PRC-09", "PRC", 1, 1_001),
    ("J3", "P001", "M2", Some("S2"), "MED-01", "MED", 1, 99),
    ("J4", "P002", "M3", Some("S3"), "MED-01", "MED", 1, 0),
    ("J5", "P003", "E-1", None, "MED-01", "MED", 1, 12_345),
];

/// Writes the rows through a connection of the test's own, as the settlements would have.
async fn insert_findings(db: &TestDb) {
    use sqlx::Connection;
    let sql = "INSERT INTO audit_finding (jr_id, fixmedins_code, msgid, infno, task_id, \
               warn_type, trig_scen, patn_id, mdtrt_id, setl_id, rule_id, rule_version, category, \
               sev_deg, money_kind, vola_cont, vola_amt_fen, evidence, created_at) VALUES \
               ($1, $2, 'm', '2207', '', 2, '6', $3, $4, $5, $6, 1, $7, $8, 'L', 'x', $9, '{}', \
               '2026-12-05 10:00:00')";
    if db.label == "sqlite" {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        for r in ROWS {
            sqlx::query(sql)
                .bind(r.0)
                .bind(HOSPITAL)
                .bind(r.1)
                .bind(r.2)
                .bind(r.3)
                .bind(r.4)
                .bind(r.5)
                .bind(r.6)
                .bind(r.7)
                .execute(&mut conn)
                .await
                .unwrap();
        }
    } else {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        for r in ROWS {
            sqlx::query(sql)
                .bind(r.0)
                .bind(HOSPITAL)
                .bind(r.1)
                .bind(r.2)
                .bind(r.3)
                .bind(r.4)
                .bind(r.5)
                .bind(r.6)
                .bind(r.7)
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn issue12_audit_summary_counts_settlement_findings_by_rule_and_category() {
    on_both(|db| async move {
        imported(&db).await;
        let empty = db.store.audit_summary().await.unwrap();
        assert_eq!(empty.settled, FindingCounts::default(), "[{}]", db.label);
        assert!(empty.by_rule.is_empty());
        insert_findings(&db).await;
        let summary = db.store.audit_summary().await.unwrap();
        let label = db.label;
        assert_eq!(
            summary.settled,
            FindingCounts {
                findings: 4,
                persons: 2,
                visits: 3,
                vola_amt_fen: 4_600
            },
            "[{label}]"
        );
        assert_eq!(
            summary.checks,
            FindingCounts {
                findings: 1,
                persons: 1,
                visits: 1,
                vola_amt_fen: 12_345
            },
            "[{label}]"
        );
        let rules: Vec<(&str, i64, i64, i64)> = summary
            .by_rule
            .iter()
            .map(|r| {
                (
                    r.rule_id.as_str(),
                    r.counts.findings,
                    r.counts.persons,
                    r.counts.vola_amt_fen,
                )
            })
            .collect();
        assert_eq!(
            rules,
            [("MED-01", 3, 2, 3_599), ("PRC-09", 1, 1, 1_001)],
            "[{label}]"
        );
        let categories: Vec<(&str, i64)> = summary
            .by_category
            .iter()
            .map(|c| (c.category.as_str(), c.counts.findings))
            .collect();
        assert_eq!(categories, [("MED", 3), ("PRC", 1)], "[{label}]");
        assert_eq!(summary.settlements, 0);
        let visits = db.store.audit_finding_visits().await.unwrap();
        assert_eq!(
            visits,
            [
                ("M1", "MED-01"),
                ("M1", "PRC-09"),
                ("M2", "MED-01"),
                ("M3", "MED-01")
            ]
            .map(|(mdtrt_id, rule_id)| FindingVisit {
                mdtrt_id: mdtrt_id.into(),
                rule_id: rule_id.into(),
                sev_deg: 1
            }),
            "[{label}]"
        );
        // No case yet: the review's stages are empty.
        let (funnel, _) = db
            .store
            .review_report(
                common::now(),
                yibao_store::review::ReviewSettings::default(),
            )
            .await
            .unwrap();
        assert_eq!(funnel.cases, 0, "[{label}]");
        db
    })
    .await;
}
