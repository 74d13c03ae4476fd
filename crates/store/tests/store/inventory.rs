//! Pharmacy inventory on the store (issue 16, item 4): 3501–3507 records stored idempotently by
//! msgid, the stock balance of a batch, returns held to what was purchased or sold, 3507 as a
//! recorded cancellation, and a traceability code sold twice found by its code.

use super::common::*;
use chrono::NaiveDateTime;
use yibao_core_types::{Price, Quantity};
use yibao_store::inventory::{
    InvDataType, InventoryKind, InventoryMessage, InventoryRecord, InventoryUpload,
};
use yibao_store::StoreError;

const DRUG: &str = "XJ01CAA040A001010102699";
const LOT: &str = "L2025A";

fn message(inst: &str, msgid: &str, tag: u8, at: NaiveDateTime) -> InventoryMessage {
    InventoryMessage {
        fixmedins_code: inst.into(),
        msgid: msgid.into(),
        request_hash: [tag; 32],
        at,
    }
}

/// A record of `units` of the test drug's batch under serial `bchno`, at `when`.
fn record(bchno: &str, units: i64, when: NaiveDateTime, codes: &[&str]) -> InventoryRecord {
    InventoryRecord {
        med_list_codg: DRUG.into(),
        fixmedins_hilist_id: "YP001".into(),
        fixmedins_hilist_name: "阿莫西林胶囊".into(),
        fixmedins_bchno: bchno.into(),
        manu_lotnum: Some(LOT.into()),
        manu_date: Some(date("2025-01-01")),
        expy_end: Some(date("2027-12-31")),
        rx_flag: true,
        quantity: Quantity::units(units),
        happened_at: when,
        inv_chg_type: None,
        price: Some(Price(12_500_000)),
        spler_name: None,
        purc_invo_no: None,
        opter_name: Some("药师甲".into()),
        setl_id: None,
        mdtrt_sn: None,
        psn_no: None,
        rxno: None,
        memo: None,
        trace_codes: codes.iter().map(|c| (*c).to_owned()).collect(),
    }
}

fn records(kind: InventoryKind, rows: Vec<InventoryRecord>) -> InventoryUpload {
    InventoryUpload::Records {
        kind,
        records: rows,
    }
}

async fn put(
    db: &TestDb,
    inst: &str,
    msgid: &str,
    upload: &InventoryUpload,
) -> Result<yibao_store::inventory::InventoryStored, StoreError> {
    db.store
        .record_inventory(
            &message(inst, msgid, 1, at("2025-06-30", "12:00:00")),
            upload,
        )
        .await
}

async fn balance_of(db: &TestDb, inst: &str, when: NaiveDateTime) -> i64 {
    let balances = db
        .store
        .stock_balances(inst, Some(DRUG), when)
        .await
        .unwrap();
    assert!(balances.len() <= 1, "{}: {balances:?}", db.label);
    balances.first().map_or(0, |b| b.balance.0)
}

async fn n_records(db: &TestDb, inst: &str) -> usize {
    db.store
        .inventory_movements(inst, date("2025-01-01"), date("2025-12-31"))
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_replay_answers_the_first_result_and_other_content_is_refused() {
    on_both(|db| async move {
        let purchase = records(
            InventoryKind::Purchase,
            vec![record("B1", 50, at("2025-06-02", "09:00:00"), &["T1", "T2"])],
        );
        let first = put(&db, PHARMACY, "M1", &purchase).await.unwrap();
        assert_eq!((first.records, first.replayed), (1, false), "{}", db.label);
        let again = put(&db, PHARMACY, "M1", &purchase).await.unwrap();
        assert_eq!((again.records, again.replayed), (1, true), "{}", db.label);
        assert_eq!(again.received_at, first.received_at, "{}", db.label);
        assert_eq!(n_records(&db, PHARMACY).await, 1, "{}", db.label);

        // The same msgid with other content (another hash) is refused and writes nothing.
        let other = db
            .store
            .record_inventory(
                &message(PHARMACY, "M1", 2, at("2025-06-30", "12:00:00")),
                &purchase,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&other, StoreError::MsgidConflict { msgid, infno } if msgid == "M1" && infno == "3503"),
            "{}: {other:?}",
            db.label
        );
        // Another institution's msgid is its own.
        put(&db, HOSPITAL, "M1", &purchase).await.unwrap();
        assert_eq!(n_records(&db, PHARMACY).await, 1, "{}", db.label);
        assert_eq!(n_records(&db, HOSPITAL).await, 1, "{}", db.label);
        // The same serial uploaded again under another msgid is refused.
        let twice = put(&db, PHARMACY, "M2", &purchase).await.unwrap_err();
        assert!(
            matches!(&twice, StoreError::Refused { field, .. } if field == "purcinfo[0].fixmedins_bchno"),
            "{}: {twice:?}",
            db.label
        );
        db
    })
    .await;
}

#[tokio::test]
async fn the_balance_is_the_last_stocktake_plus_purchases_and_returns_less_sales() {
    on_both(|db| async move {
        let day = |d: &str| at(d, "10:00:00");
        let steps: Vec<(&str, InventoryUpload)> = vec![
            (
                "S1",
                records(
                    InventoryKind::Stocktake,
                    vec![record("K1", 100, at("2025-06-01", "00:00:00"), &[])],
                ),
            ),
            (
                "S2",
                records(
                    InventoryKind::Purchase,
                    vec![record("B1", 50, day("2025-06-02"), &[])],
                ),
            ),
            (
                "S3",
                records(
                    InventoryKind::Sale,
                    vec![record("X1", 30, day("2025-06-03"), &["T1"])],
                ),
            ),
            (
                "S4",
                records(
                    InventoryKind::SaleReturn,
                    vec![InventoryRecord {
                        manu_lotnum: None,
                        ..record("X1", 5, day("2025-06-04"), &[])
                    }],
                ),
            ),
            (
                "S5",
                records(
                    InventoryKind::PurchaseReturn,
                    vec![record("B1", 10, day("2025-06-05"), &[])],
                ),
            ),
            (
                "S6",
                records(
                    InventoryKind::StockChange,
                    vec![InventoryRecord {
                        inv_chg_type: Some("105".into()),
                        manu_lotnum: None,
                        ..record("K1", 2, day("2025-06-06"), &[])
                    }],
                ),
            ),
        ];
        for (msgid, upload) in &steps {
            put(&db, PHARMACY, msgid, upload).await.unwrap();
        }
        let units = |n: i64| Quantity::units(n).0;
        assert_eq!(
            balance_of(&db, PHARMACY, day("2025-06-30")).await,
            units(113),
            "{}",
            db.label
        );
        assert_eq!(
            balance_of(&db, PHARMACY, day("2025-06-03")).await,
            units(120),
            "{}",
            db.label
        );
        assert_eq!(
            balance_of(&db, PHARMACY, day("2025-05-31")).await,
            0,
            "{}",
            db.label
        );
        let full = db
            .store
            .stock_balances(PHARMACY, None, day("2025-06-30"))
            .await
            .unwrap();
        assert_eq!(full.len(), 1, "{}", db.label);
        let b = &full[0];
        assert_eq!(b.stocktake, Some(Quantity::units(100)), "{}", db.label);
        assert_eq!(
            (
                b.purchased.0,
                b.purchase_returned.0,
                b.sold.0,
                b.sale_returned.0,
                b.changed.0
            ),
            (units(50), units(10), units(30), units(5), -units(2)),
            "{}",
            db.label
        );
        // A later stocktake restarts the count from what was counted.
        put(
            &db,
            PHARMACY,
            "S7",
            &records(
                InventoryKind::Stocktake,
                vec![record("K2", 110, at("2025-06-10", "00:00:00"), &[])],
            ),
        )
        .await
        .unwrap();
        assert_eq!(
            balance_of(&db, PHARMACY, day("2025-06-30")).await,
            units(110),
            "{}",
            db.label
        );
        // A sale beyond the stock is kept (the models look for it): the balance goes negative.
        put(
            &db,
            PHARMACY,
            "S8",
            &records(
                InventoryKind::Sale,
                vec![record("X2", 200, day("2025-06-11"), &[])],
            ),
        )
        .await
        .unwrap();
        assert_eq!(
            balance_of(&db, PHARMACY, day("2025-06-30")).await,
            -units(90),
            "{}",
            db.label
        );
        db
    })
    .await;
}

#[tokio::test]
async fn a_return_beyond_what_was_bought_or_sold_is_refused_and_writes_nothing() {
    on_both(|db| async move {
        let when = at("2025-06-02", "09:00:00");
        put(&db, PHARMACY, "R1", &records(InventoryKind::Purchase, vec![record("B1", 20, when, &[])]))
            .await
            .unwrap();
        put(&db, PHARMACY, "R2", &records(InventoryKind::PurchaseReturn, vec![record("B1", 15, when, &[])]))
            .await
            .unwrap();
        let before = n_records(&db, PHARMACY).await;
        // 15 of 20 are back already: 6 more is one too many, in a message whose first row is fine.
        let over = records(
            InventoryKind::PurchaseReturn,
            vec![record("B1", 1, when, &[]), record("B1", 5, when, &[])],
        );
        let err = put(&db, PHARMACY, "R3", &over).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Refused { field, .. } if field == "purcinfo[1].purc_retn_cnt"),
            "{}: {err:?}",
            db.label
        );
        assert_eq!(n_records(&db, PHARMACY).await, before, "{}", db.label);
        // Nothing of the message was kept: its msgid takes a valid return.
        let ok = put(&db, PHARMACY, "R3", &records(InventoryKind::PurchaseReturn, vec![record("B1", 5, when, &[])]))
            .await
            .unwrap();
        assert!(!ok.replayed, "{}", db.label);
        // A sale return needs its sale, and a batch number that is the sale's.
        put(&db, PHARMACY, "R4", &records(InventoryKind::Sale, vec![record("X1", 3, when, &[])]))
            .await
            .unwrap();
        let unknown = put(&db, PHARMACY, "R5", &records(InventoryKind::SaleReturn, vec![record("X9", 1, when, &[])]))
            .await
            .unwrap_err();
        assert!(
            matches!(&unknown, StoreError::NotFound { field, .. } if field == "selinfo[0].fixmedins_bchno"),
            "{}: {unknown:?}",
            db.label
        );
        let wrong_lot = InventoryRecord {
            manu_lotnum: Some("OTHER".into()),
            ..record("X1", 1, when, &[])
        };
        let err = put(&db, PHARMACY, "R5", &records(InventoryKind::SaleReturn, vec![wrong_lot]))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::BadInput { field, .. } if field == "selinfo[0].manu_lotnum"),
            "{}: {err:?}",
            db.label
        );
        let err = put(&db, PHARMACY, "R5", &records(InventoryKind::SaleReturn, vec![record("X1", 4, when, &[])]))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Refused { field, .. } if field == "selinfo[0].sel_retn_cnt"),
            "{}: {err:?}",
            db.label
        );
        db
    })
    .await;
}

#[tokio::test]
async fn bad_records_are_refused_naming_the_field() {
    on_both(|db| async move {
        let when = at("2025-06-02", "09:00:00");
        let cases: Vec<(InventoryUpload, &str)> = vec![
            (
                records(InventoryKind::Purchase, vec![record("B1", 0, when, &[])]),
                "purcinfo[0].purc_retn_cnt",
            ),
            (
                records(InventoryKind::Sale, vec![record("B1", -1, when, &[])]),
                "selinfo[0].sel_retn_cnt",
            ),
            (
                records(
                    InventoryKind::Sale,
                    vec![InventoryRecord {
                        manu_lotnum: None,
                        ..record("B1", 1, when, &[])
                    }],
                ),
                "selinfo[0].manu_lotnum",
            ),
            (
                records(
                    InventoryKind::Sale,
                    vec![record("B1", 1, when, &["T1", "T1"])],
                ),
                "selinfo[0].drugtracinfo[1].drug_trac_codg",
            ),
            (
                records(
                    InventoryKind::Purchase,
                    (0..1_001)
                        .map(|i| record(&format!("B{i}"), 1, when, &[]))
                        .collect(),
                ),
                "purcinfo",
            ),
            (
                records(
                    InventoryKind::StockChange,
                    vec![InventoryRecord {
                        inv_chg_type: Some("999".into()),
                        ..record("B1", 1, when, &[])
                    }],
                ),
                "invinfo[0].inv_chg_type",
            ),
            (
                records(
                    InventoryKind::Purchase,
                    vec![record("B1", 1, when, &[]), record("B1", 1, when, &[])],
                ),
                "purcinfo[1].fixmedins_bchno",
            ),
        ];
        for (upload, field_named) in &cases {
            let err = put(&db, PHARMACY, "BAD", upload).await.unwrap_err();
            assert!(
                matches!(&err, StoreError::BadInput { field, .. } if field == field_named),
                "{}: {field_named}: {err:?}",
                db.label
            );
        }
        assert_eq!(n_records(&db, PHARMACY).await, 0, "{}", db.label);
        db
    })
    .await;
}

#[tokio::test]
async fn a_deletion_is_a_recorded_cancellation() {
    on_both(|db| async move {
        let when = at("2025-06-03", "10:00:00");
        put(
            &db,
            PHARMACY,
            "D1",
            &records(InventoryKind::Purchase, vec![record("B1", 40, when, &[])]),
        )
        .await
        .unwrap();
        put(
            &db,
            PHARMACY,
            "D2",
            &records(InventoryKind::Sale, vec![record("X1", 10, when, &["T1"])]),
        )
        .await
        .unwrap();
        let delete = InventoryUpload::Delete {
            fixmedins_bchno: "X1".into(),
            inv_data_type: InvDataType::Sale,
        };
        let done = put(&db, PHARMACY, "D3", &delete).await.unwrap();
        assert_eq!(
            (done.infno.as_str(), done.cancelled),
            ("3507", 1),
            "{}",
            db.label
        );
        assert_eq!(
            balance_of(&db, PHARMACY, at("2025-06-30", "00:00:00")).await,
            Quantity::units(40).0,
            "{}",
            db.label
        );
        // The record is still there, marked; its code is still found, as cancelled.
        let kept = db
            .store
            .inventory_movements(PHARMACY, date("2025-06-01"), date("2025-06-30"))
            .await
            .unwrap();
        let sale = kept.iter().find(|m| m.kind == InventoryKind::Sale).unwrap();
        assert_eq!(sale.cancelled_by.as_deref(), Some("D3"), "{}", db.label);
        assert_eq!(sale.trace_codes, vec!["T1".to_owned()], "{}", db.label);
        let uses = db.store.trace_code_uses("T1").await.unwrap();
        assert_eq!(uses.len(), 1, "{}", db.label);
        assert!(uses[0].cancelled, "{}", db.label);
        // Nothing left to delete under that serial; a replay answers the first deletion.
        let again = put(&db, PHARMACY, "D4", &delete).await.unwrap_err();
        assert!(
            matches!(&again, StoreError::NotFound { field, .. } if field == "data.fixmedins_bchno"),
            "{}: {again:?}",
            db.label
        );
        let replay = put(&db, PHARMACY, "D3", &delete).await.unwrap();
        assert_eq!(
            (replay.cancelled, replay.replayed),
            (1, true),
            "{}",
            db.label
        );
        // A cancelled sale takes no return; the serial takes a new upload.
        let err = put(
            &db,
            PHARMACY,
            "D5",
            &records(InventoryKind::SaleReturn, vec![record("X1", 1, when, &[])]),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, StoreError::NotFound { .. }),
            "{}: {err:?}",
            db.label
        );
        put(
            &db,
            PHARMACY,
            "D6",
            &records(InventoryKind::Sale, vec![record("X1", 10, when, &["T1"])]),
        )
        .await
        .unwrap();
        // The database itself refuses to delete or edit a record.
        for statement in [
            "DELETE FROM inventory_movement",
            "UPDATE inventory_movement SET cnt_e4 = 1",
            "DELETE FROM inventory_cancellation",
        ] {
            assert!(
                try_sql(&db, statement).await.is_err(),
                "{}: {statement}",
                db.label
            );
        }
        db
    })
    .await;
}

/// Runs one statement beside the store, returning the database's answer.
async fn try_sql(db: &TestDb, statement: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    if db.label == "postgres" {
        let mut conn = sqlx::PgConnection::connect(&db.url).await?;
        sqlx::query(statement).execute(&mut conn).await.map(|_| ())
    } else {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await?;
        sqlx::query(statement).execute(&mut conn).await.map(|_| ())
    }
}

#[tokio::test]
async fn a_traceability_code_sold_twice_is_found() {
    on_both(|db| async move {
        let when = |d: &str| at(d, "11:00:00");
        put(
            &db,
            PHARMACY,
            "T1",
            &records(
                InventoryKind::Sale,
                vec![record("X1", 1, when("2025-06-01"), &["C1", "C2"])],
            ),
        )
        .await
        .unwrap();
        put(
            &db,
            HOSPITAL,
            "T1",
            &records(
                InventoryKind::Sale,
                vec![record("Y1", 1, when("2025-06-02"), &["C1"])],
            ),
        )
        .await
        .unwrap();
        // C2 is sold, brought back and sold again: once on balance.
        put(
            &db,
            PHARMACY,
            "T2",
            &records(
                InventoryKind::SaleReturn,
                vec![record("X1", 1, when("2025-06-03"), &["C2"])],
            ),
        )
        .await
        .unwrap();
        put(
            &db,
            PHARMACY,
            "T3",
            &records(
                InventoryKind::Sale,
                vec![record("X2", 1, when("2025-06-04"), &["C2"])],
            ),
        )
        .await
        .unwrap();
        let twice = db.store.trace_codes_sold_twice().await.unwrap();
        assert_eq!(twice.len(), 1, "{}: {twice:?}", db.label);
        assert_eq!(twice[0].drug_trac_codg, "C1", "{}", db.label);
        assert_eq!(twice[0].net_sales, 2, "{}", db.label);
        assert_eq!(
            twice[0].institutions,
            vec![PHARMACY.to_owned(), HOSPITAL.to_owned()],
            "{}",
            db.label
        );
        let uses = db.store.trace_code_uses("C1").await.unwrap();
        let sellers: Vec<&str> = uses.iter().map(|u| u.fixmedins_code.as_str()).collect();
        assert_eq!(sellers, vec![PHARMACY, HOSPITAL], "{}", db.label);
        db
    })
    .await;
}

#[tokio::test]
async fn a_sale_naming_a_person_is_in_the_access_log_outbox() {
    on_both(|db| async move {
        let when = at("2025-06-02", "09:00:00");
        let start = db.store.outbox_pending().await.unwrap();
        put(
            &db,
            PHARMACY,
            "A1",
            &records(InventoryKind::Purchase, vec![record("B1", 5, when, &[])]),
        )
        .await
        .unwrap();
        assert_eq!(
            db.store.outbox_pending().await.unwrap(),
            start,
            "{}",
            db.label
        );
        let sale = records(
            InventoryKind::Sale,
            vec![
                InventoryRecord {
                    psn_no: Some("P001".into()),
                    setl_id: Some("S0001".into()),
                    ..record("X1", 1, when, &[])
                },
                InventoryRecord {
                    psn_no: Some("P001".into()),
                    ..record("X2", 1, when, &[])
                },
            ],
        );
        put(&db, PHARMACY, "A2", &sale).await.unwrap();
        assert_eq!(
            db.store.outbox_pending().await.unwrap(),
            start + 1,
            "{}",
            db.label
        );
        // The replayed answer is a read of the same person.
        put(&db, PHARMACY, "A2", &sale).await.unwrap();
        assert_eq!(
            db.store.outbox_pending().await.unwrap(),
            start + 2,
            "{}",
            db.label
        );
        db
    })
    .await;
}

#[tokio::test]
async fn concurrent_returns_of_one_purchase_never_exceed_it() {
    on_both(|db| async move {
        let when = at("2025-06-02", "09:00:00");
        put(
            &db,
            PHARMACY,
            "C0",
            &records(InventoryKind::Purchase, vec![record("B1", 10, when, &[])]),
        )
        .await
        .unwrap();
        // Twenty returns of 1 sent at once: ten fit in the 10 bought, ten are refused.
        let returns = (1..=20).map(|i| {
            let store = db.store.clone();
            tokio::spawn(async move {
                let upload = records(
                    InventoryKind::PurchaseReturn,
                    vec![record("B1", 1, when, &[])],
                );
                store
                    .record_inventory(
                        &message(PHARMACY, &format!("C{i}"), 1, at("2025-06-30", "12:00:00")),
                        &upload,
                    )
                    .await
            })
        });
        let mut accepted = 0;
        for answer in futures_util::future::join_all(returns).await {
            match answer.unwrap() {
                Ok(_) => accepted += 1,
                Err(StoreError::Refused { field, reason }) => {
                    assert_eq!(field, "purcinfo[0].purc_retn_cnt", "{}: {reason}", db.label)
                }
                Err(other) => panic!("{}: {other:?}", db.label),
            }
        }
        assert_eq!(accepted, 10, "{}", db.label);
        assert_eq!(
            balance_of(&db, PHARMACY, at("2025-06-30", "00:00:00")).await,
            0,
            "{}",
            db.label
        );
        db
    })
    .await;
}
