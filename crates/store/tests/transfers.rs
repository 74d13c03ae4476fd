//! Transfers between regions (issue 13 item 6, spec enrollment.md §12) on SQLite and
//! PostgreSQL: the sending side ends the relation and sends the sheet and the balance, the
//! receiving side opens the relation where the other ended and credits months and balance;
//! deadlines over the holiday calendar; refusals write nothing; the ledger stays balanced.

#[path = "common/mod.rs"]
mod common;

use chrono::NaiveDate;
use common::*;
use yibao_core_types::Fen;
use yibao_store::transfer::TransferOut;
use yibao_store::StoreError;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

const PERSON: &str = "INSERT INTO person (psn_no, certno, psn_name, gend, brdy, naty, tel) \
     VALUES ($1, $2, $3, '1', '1985-03-03', '01', '')";
const INSURANCE: &str = "INSERT INTO insurance (psn_no, insutype, psn_type, insuplc_admdvs, \
     emp_name, begndate, enddate, psn_insu_stas) VALUES ($1, $2, $3, $4, '', $5, '', '1')";

#[tokio::test]
async fn a_relation_moves_with_its_months_and_balance() {
    on_both(|db| async move {
        imported(&db).await;
        let params = yibao_enrollment::builtin_params().unwrap();
        let calendar = yibao_enrollment::builtin_calendar().unwrap();
        let now = at("2026-03-05", "10:00:00");
        let moved = cid("370202", "1985-03-03", 21);
        sql(&db, PERSON, &["D010", &moved, "钱十"]).await;
        // A retiree and a person insured elsewhere already.
        sql(&db, PERSON, &["D011", &cid("140502", "1955-01-01", 23), "孙老"]).await;
        sql(&db, INSURANCE, &["D011", "310", "1201", "140500", "2015-01-01"]).await;
        let busy = cid("140502", "1986-04-04", 25);
        sql(&db, PERSON, &["D012", &busy, "李忙"]).await;
        sql(&db, INSURANCE, &["D012", "390", "1501", "140500", "2020-01-01"]).await;

        // Sending: P001 (employee in 140500, account 500.00) moves to Qingdao, applied Monday
        // 2026-03-02: ten working days end on Monday 2026-03-16.
        let out = TransferOut {
            psn_no: "P001".into(),
            insutype: "310".into(),
            to_admdvs: "370200".into(),
            accepted_on: day("2026-03-02"),
            done_on: day("2026-03-05"),
        };
        let sent = db
            .store
            .transfer_out(&out, &params, &calendar, now)
            .await
            .unwrap();
        assert_eq!(sent.due_on, day("2026-03-16"));
        assert!(!sent.late);
        assert_eq!(sent.balance, Fen(50_000));
        let info = db.store.person_info("P001").await.unwrap();
        let ended = info.insurance.iter().find(|i| i.insutype == "310").unwrap();
        assert_eq!((ended.enddate.as_str(), ended.psn_insu_stas.as_str()), ("2026-03-05", "4"));
        // Done once: the relation is no longer in force.
        let again = db.store.transfer_out(&out, &params, &calendar, now).await;
        assert!(matches!(again, Err(StoreError::Refused { .. })), "{again:?}");
        // A retiree is not transferred.
        let retiree = TransferOut {
            psn_no: "D011".into(),
            ..out.clone()
        };
        let refused = db.store.transfer_out(&retiree, &params, &calendar, now).await;
        assert!(
            matches!(&refused, Err(StoreError::Refused { reason, .. }) if reason.contains("retiree")),
            "{refused:?}"
        );

        // Receiving: the sheet names the person by identity number (here D010, whose number is
        // valid); received Friday 2026-03-06, five working days end Friday 2026-03-13.
        let mut sheet: serde_json::Value = serde_json::from_str(&sent.sheet).unwrap();
        assert_eq!(sheet["balance_fen"], serde_json::json!(50_000));
        assert_eq!(sheet["ended_on"], serde_json::json!("2026-03-05"));
        sheet["certno"] = serde_json::json!(moved);
        sheet["regions"] = serde_json::json!([
            {"admdvs": "140500", "months_actual": 96, "months_deemed": 12}
        ]);
        let received = db
            .store
            .transfer_in(
                &sheet.to_string(),
                day("2026-03-06"),
                day("2026-03-09"),
                &params,
                &calendar,
                now,
            )
            .await
            .unwrap();
        assert_eq!(received.due_on, day("2026-03-13"));
        assert_eq!((received.months_actual, received.months_deemed), (96, 12));
        let info = db.store.person_info(&moved).await.unwrap();
        let opened = info.insurance.iter().find(|i| i.insutype == "310").unwrap();
        assert_eq!(
            (opened.begndate.as_str(), opened.insuplc_admdvs.as_str(), opened.psn_insu_stas.as_str()),
            ("2026-03-06", "370200", "1")
        );
        // Loaded once.
        let twice = db
            .store
            .transfer_in(&sheet.to_string(), day("2026-03-06"), day("2026-03-09"), &params, &calendar, now)
            .await;
        assert!(matches!(twice, Err(StoreError::Refused { .. })), "{twice:?}");
        // Bad sheets are named and write nothing.
        for (field, value, expected) in [
            ("regions", serde_json::json!([{"admdvs": "37", "months_actual": 1, "months_deemed": 0}]), "sheet.regions[0]"),
            ("certno", serde_json::json!("370202198503030211"), "sheet.certno"),
            ("balance_fen", serde_json::json!(-1), "sheet.balance_fen"),
        ] {
            let mut bad = sheet.clone();
            bad["transfer_id"] = serde_json::json!(format!("BAD{field}"));
            bad[field] = value;
            let err = db
                .store
                .transfer_in(&bad.to_string(), day("2026-03-06"), day("2026-03-09"), &params, &calendar, now)
                .await
                .unwrap_err();
            assert!(
                matches!(&err, StoreError::BadInput { field: f, .. } if f == expected),
                "{field}: {err:?}"
            );
        }
        // A person insured here already is not insured twice.
        let mut double = sheet.clone();
        double["transfer_id"] = serde_json::json!("TRDOUBLE");
        double["certno"] = serde_json::json!(busy);
        let err = db
            .store
            .transfer_in(&double.to_string(), day("2026-03-06"), day("2026-03-09"), &params, &calendar, now)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Refused { reason, .. } if reason.contains("twice")),
            "{err:?}"
        );
        // The balance left one account and reached the other through the clearing accounts.
        let report = db.store.check_ledger().await.unwrap();
        assert!(report.is_balanced(), "{:?}", report.problems);
        assert_eq!(report.balance_sum_fen, 0);
        db
    })
    .await;
}
