//! Duplicate insurance (issue 13 item 3, spec enrollment.md §10): a person insured twice in a
//! year gets the §10.2 decision — which relation stays, by which rule, and the refund of the
//! other — on SQLite and PostgreSQL.

#[path = "common/mod.rs"]
mod common;

use chrono::NaiveDate;
use common::*;
use yibao_core_types::Fen;

const INSURANCE: &str = "INSERT INTO insurance (psn_no, insutype, psn_type, insuplc_admdvs, \
     emp_name, begndate, enddate, psn_insu_stas) VALUES ($1, $2, $3, $4, '', $5, '', '1')";

#[tokio::test]
async fn a_person_insured_twice_gets_the_rule_and_the_refund() {
    on_both(|db| async move {
        imported(&db).await;
        let certno = cid("140525", "1990-05-05", 11);
        sql(
            &db,
            "INSERT INTO person (psn_no, certno, psn_name, gend, brdy, naty, tel) \
             VALUES ('D001', $1, '赵一', '1', '1990-05-05', '01', '')",
            &[&certno],
        )
        .await;
        // Example 3(c)'s shape: a resident relation at home (the county) and one in the city,
        // for 2027. No residence data and no payment records: the relation that started first
        // counts as paid first (先缴先得), so the county's stays.
        sql(
            &db,
            INSURANCE,
            &["D001", "390", "1501", "140525", "2027-01-01"],
        )
        .await;
        sql(
            &db,
            INSURANCE,
            &["D001", "390", "1501", "140500", "2027-01-02"],
        )
        .await;
        let params = yibao_enrollment::builtin_params().unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let decisions = db
            .store
            .duplicate_decisions(2027, &params, today)
            .await
            .unwrap();
        assert_eq!(decisions.len(), 1, "{decisions:?}");
        let d = &decisions[0];
        assert_eq!(d.certno, certno);
        assert_eq!(
            (d.keep.as_str(), d.end.as_str()),
            ("390@140525", "390@140500"),
            "{d:?}"
        );
        assert_eq!(d.rule, "first_paid", "{d:?}");
        // The benefit year has not started and nothing was drawn: the individual 400.00 goes
        // back to the person, the finance subsidy back to its fund.
        assert_eq!(d.refund_to_person, Some(Fen(40_000)), "{d:?}");
        assert_eq!(
            d.reversals,
            vec![("finance_base".to_owned(), Fen(70_000))],
            "{d:?}"
        );
        // Once 2027 has begun, the resident refund is refused, and says why.
        let late = db
            .store
            .duplicate_decisions(2027, &params, NaiveDate::from_ymd_opt(2027, 2, 1).unwrap())
            .await
            .unwrap();
        assert_eq!(late[0].refund_to_person, None, "{late:?}");
        assert!(late[0].no_refund.is_some(), "{late:?}");
        // Another year: no duplicate.
        assert!(db
            .store
            .duplicate_decisions(2026, &params, today)
            .await
            .unwrap()
            .is_empty());
        db
    })
    .await;
}
