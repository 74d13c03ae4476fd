//! Retirement approvals (issue 13 item 5, spec enrollment.md §5.2 and §14 example 1) on SQLite
//! and PostgreSQL: years met → a retiree segment from the month of retirement, with nobody
//! applying; years short → the one-off back-payment notice; a file sent again decides nothing.

#[path = "common/mod.rs"]
mod common;

use chrono::NaiveDate;
use common::*;
use yibao_core_types::Fen;
use yibao_store::retirement::RETIREMENT_HEADER;

#[tokio::test]
async fn an_approval_makes_a_retiree_or_a_back_payment_notice() {
    on_both(|db| async move {
        imported(&db).await;
        let c = cid("140502", "1965-06-01", 11); // a man: example 1's C
        let w = cid("140502", "1971-03-03", 12); // a woman with 20 years
        for (psn, certno, gend, brdy) in [
            ("R1", c.as_str(), "1", "1965-06-01"),
            ("R2", w.as_str(), "2", "1971-03-03"),
        ] {
            sql(
                &db,
                "INSERT INTO person (psn_no, certno, psn_name, gend, brdy, naty, tel) \
                 VALUES ($1, $2, '赵某', $3, $4, '01', '')",
                &[psn, certno, gend, brdy],
            )
            .await;
            sql(
                &db,
                "INSERT INTO insurance (psn_no, insutype, psn_type, insuplc_admdvs, emp_name, \
                 begndate, enddate, psn_insu_stas) VALUES ($1, '310', '1101', '140500', '晋城煤业', '2005-01-01', '', '1')",
                &[psn],
            )
            .await;
        }
        let years = "INSERT INTO contribution_years (psn_no, insutype, admdvs, source, \
                     months_actual, months_deemed, recorded_at) VALUES ($1, '310', $2, $3, CAST($4 AS BIGINT), CAST($5 AS BIGINT), '2025-01-01 00:00:00')";
        // C: 144 months here, 96 brought from elsewhere, 36 deemed — 276 months, 24 short of 25
        // years (example 1).
        sql(&db, years, &["R1", "140500", "opening", "144", "0"]).await;
        sql(&db, years, &["R1", "430300", "transfer_in", "96", "0"]).await;
        sql(&db, years, &["R1", "140500", "deemed", "0", "36"]).await;
        sql(&db, years, &["R2", "140500", "opening", "240", "0"]).await;
        let params = yibao_enrollment::builtin_params().unwrap();
        let today = NaiveDate::from_ymd_opt(2025, 6, 20).unwrap();
        let now = at("2025-06-20", "09:00:00");
        let file = format!(
            "{RETIREMENT_HEADER}\n{c},赵某,2025-06-15\n{w},钱某,2025-06-15\n123,无号,2025-06-15\n"
        );
        let r = db
            .store
            .import_retirements(&file, "HR1", &params, today, now)
            .await
            .unwrap();
        assert_eq!(
            r.short,
            vec![("R1".to_owned(), 24, Fen(1_680_000))],
            "24 × 7,000.00 × 10% = 16,800.00: {r:?}"
        );
        assert_eq!(
            r.retired,
            vec![("R2".to_owned(), NaiveDate::from_ymd_opt(2025, 6, 1).unwrap())]
        );
        assert_eq!(r.refused.len(), 1, "{r:?}");
        assert_eq!(r.refused[0].0, 4);
        // R2's relation: the in-service segment ends on 31 May, the retiree one begins 1 June.
        let info = db.store.person_info("R2").await.unwrap();
        let segments: Vec<(&str, &str, &str)> = info
            .insurance
            .iter()
            .map(|i| (i.psn_type.as_str(), i.begndate.as_str(), i.enddate.as_str()))
            .collect();
        assert_eq!(
            segments,
            [("1101", "2005-01-01", "2025-05-31"), ("1201", "2025-06-01", "")]
        );
        // R1 stays in service until the back-payment.
        let info = db.store.person_info("R1").await.unwrap();
        assert_eq!(info.insurance.len(), 1);
        // The same file again decides nothing.
        let again = db
            .store
            .import_retirements(&file, "HR1", &params, today, now)
            .await
            .unwrap();
        assert_eq!((again.retired.len(), again.short.len(), again.decided_before), (0, 0, 2));
        let decisions = db.store.auto_decisions("R2").await.unwrap();
        assert_eq!(decisions.len(), 1);
        assert_eq!(decisions[0].result_kind, "retirement");
        db
    })
    .await;
}
