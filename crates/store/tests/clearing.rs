//! Issue 14, deliver 1 "monthly clearing", on SQLite and PostgreSQL: the bureau's month totals
//! net of reversals (a reversal counts in the month of its own date), 3203 applications checked
//! against them (a mismatch refused with the difference per field, writing nothing; one
//! standing application per key; idempotent by msgid), 3204 withdrawals (refused once paid), the
//! month-end listing, the exchange files (owner only, until their end time) and the detail rows
//! of a 3202.

// Amounts are written as yuan_fen (`4_100_00` is 4,100.00 yuan), as the spec prints them.
#![allow(clippy::inconsistent_digit_grouping)]

#[path = "common/mod.rs"]
mod common;

use chrono::NaiveDateTime;
use common::*;
use sqlx::Connection as _;
use yibao_store::clearing::*;
use yibao_store::*;

fn envelope_at(msgid: &str, infno: &str, content: &str, now: NaiveDateTime) -> Envelope {
    Envelope {
        now,
        ..env(CLINIC, msgid, infno, content)
    }
}

fn render(outcome: &ClearingOutcome) -> String {
    format!("{outcome:?}")
}

/// Settles the spec visit `tag` at the clinic on `day`; returns the settlement.
async fn settle_on(db: &TestDb, tag: &str, day: &str) -> SettlementView {
    let (mdtrt_id, _) = spec_visit(db, tag).await;
    let cmd = settle_cmd(false, &mdtrt_id, "P003", "390", 4_100_00, "0");
    let content = format!("{cmd:?}");
    let reply = db
        .store
        .execute(
            &envelope_at(
                &format!("{tag}-2207"),
                "2207",
                &content,
                at(day, "10:00:00"),
            ),
            cmd,
            &common::render,
        )
        .await
        .expect("2207");
    settled(fresh(reply))
}

async fn reverse_on(db: &TestDb, tag: &str, settlement: &SettlementView, day: &str) {
    let cmd = Command::ReverseSettlement(ReverseSettlement {
        kind: VisitKind::Outpatient,
        visit: VisitRef {
            psn_no: "P003".into(),
            mdtrt_id: settlement.mdtrt_id.clone(),
            ipt_otp_no: None,
        },
        setl_id: settlement.setl_id.clone(),
    });
    let content = format!("{cmd:?}");
    db.store
        .execute(
            &envelope_at(
                &format!("{tag}-2208"),
                "2208",
                &content,
                at(day, "11:00:00"),
            ),
            cmd,
            &common::render,
        )
        .await
        .expect("2208");
}

fn declaration(totals: &ClearingTotal, month: &str) -> ClearingApply {
    ClearingApply {
        month: ClearingMonth::parse(month, "clr_ym").unwrap(),
        insutype: totals.insutype.clone(),
        clr_type: totals.clr_type.clone(),
        setl_optins: "140500".into(),
        medfee_sumamt_fen: totals.medfee_sumamt_fen,
        fund_pay_sumamt_fen: totals.fund_pay_sumamt_fen,
        acct_pay_fen: totals.acct_pay_fen,
        cash_payamt_fen: None,
        fixmedins_setl_cnt: totals.net_count(),
        opter: "op1".into(),
        opter_name: "经办".into(),
    }
}

async fn apply(
    db: &TestDb,
    msgid: &str,
    declared: &ClearingApply,
    now: NaiveDateTime,
) -> Result<ClearingReply, StoreError> {
    let env = envelope_at(msgid, "3203", &format!("{declared:?}"), now);
    db.store.clearing_apply(&env, declared, &render).await
}

async fn withdraw(db: &TestDb, msgid: &str, id: &str) -> Result<ClearingReply, StoreError> {
    let request = ClearingWithdraw {
        clr_appy_evt_id: id.into(),
        opter: "op1".into(),
        opter_name: "经办".into(),
    };
    let env = envelope_at(
        msgid,
        "3204",
        &format!("{request:?}"),
        at("2025-06-03", "09:00:00"),
    );
    db.store.clearing_withdraw(&env, &request, &render).await
}

fn applied_id(reply: &ClearingReply) -> String {
    match &reply.outcome {
        Some(ClearingOutcome::Applied {
            clr_appy_evt_id, ..
        }) => clr_appy_evt_id.clone(),
        other => panic!("expected an application, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue14_monthly_clearing_totals_applications_and_withdrawals() {
    on_both(|db| async move {
        imported(&db).await;
        let first = settle_on(&db, "a", "2025-05-10").await;
        let second = settle_on(&db, "b", "2025-05-20").await;
        // The second is reversed in June: May keeps it, June has the negative row.
        reverse_on(&db, "b", &second, "2025-06-02").await;

        let may = db
            .store
            .clearing_totals(Some(CLINIC), "2025-05")
            .await
            .unwrap();
        assert_eq!(may.len(), 1, "[{}] {may:?}", db.label);
        let total = &may[0];
        assert_eq!(total.insutype, "390");
        assert_eq!(total.clr_type, first.clr_type);
        assert_eq!((total.settlements, total.reversals), (2, 0));
        let a = &first.amounts;
        let b = &second.amounts;
        assert_eq!(
            total.medfee_sumamt_fen,
            a.medfee_sumamt.0 + b.medfee_sumamt.0
        );
        assert_eq!(
            total.fund_pay_sumamt_fen,
            a.fund_pay_sumamt.0 + b.fund_pay_sumamt.0
        );
        assert_eq!(total.acct_pay_fen, a.acct_pay.0 + b.acct_pay.0);
        assert_eq!(total.cash_pay_fen, a.psn_cash_pay.0 + b.psn_cash_pay.0);
        let june = db
            .store
            .clearing_totals(Some(CLINIC), "2025-06")
            .await
            .unwrap();
        assert_eq!(june.len(), 1);
        assert_eq!((june[0].settlements, june[0].reversals), (0, 1));
        assert_eq!(june[0].medfee_sumamt_fen, -b.medfee_sumamt.0);
        assert_eq!(june[0].net_count(), -1);
        // Another institution has nothing; a bad month names the field.
        assert!(db
            .store
            .clearing_totals(Some(HOSPITAL), "2025-05")
            .await
            .unwrap()
            .is_empty());
        assert!(matches!(
            db.store.clearing_totals(None, "2025-13").await,
            Err(StoreError::BadInput { field, .. }) if field == "month"
        ));

        // The month end sees the row with no application yet.
        let rows = db
            .store
            .clearing_month(Some("140500"), "2025-05")
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].status, ClearingStatus::None);
        assert_eq!(rows[0].admdvs, "140500");
        assert!(!rows[0].fixmedins_name.is_empty());
        assert!(db
            .store
            .clearing_month(Some("999999"), "2025-05")
            .await
            .unwrap()
            .is_empty());

        // A declaration that differs is refused with every difference, and writes nothing.
        let before = db.store.clearing_row_counts().await.unwrap();
        let idempotency_before = counts(&db).await;
        let now = at("2025-06-01", "09:00:00");
        let mut wrong = declaration(total, "2025-05");
        wrong.medfee_sumamt_fen += 34_56;
        wrong.fixmedins_setl_cnt = 3;
        let err = apply(&db, "c-1", &wrong, now).await.unwrap_err();
        let expected_medfee = format!(
            "medfee_sumamt 申报 {} ≠ 中心 {} (差 34.56)",
            yuan(total.medfee_sumamt_fen + 34_56),
            yuan(total.medfee_sumamt_fen)
        );
        match &err {
            StoreError::Refused { field, reason } => {
                assert_eq!(field, "input.data");
                assert_eq!(
                    reason,
                    &format!(
                        "clr_type {}: {expected_medfee}; fixmedins_setl_cnt 申报 3 ≠ 中心 2 (差 1)",
                        total.clr_type
                    )
                );
            }
            other => panic!("[{}] {other:?}", db.label),
        }
        assert_eq!(db.store.clearing_row_counts().await.unwrap(), before);
        assert_eq!(counts(&db).await, idempotency_before);
        // A month not begun, and another region as clearing agency, are refused.
        let mut future = declaration(total, "2025-07");
        future.month = ClearingMonth::parse("2025-07", "m").unwrap();
        assert!(matches!(
            apply(&db, "c-2", &future, now).await,
            Err(StoreError::BadInput { field, .. }) if field == "clr_ym"
        ));
        let mut elsewhere = declaration(total, "2025-05");
        elsewhere.setl_optins = "110000".into();
        assert!(matches!(
            apply(&db, "c-3", &elsewhere, now).await,
            Err(StoreError::BadInput { field, .. }) if field == "setl_optins"
        ));

        // The right declaration is accepted; a replay answers the same; other content under
        // the same msgid is refused; a second application is refused while it stands.
        let right = declaration(total, "2025-05");
        let accepted = apply(&db, "c-4", &right, now).await.unwrap();
        let id = applied_id(&accepted);
        let replay = apply(&db, "c-4", &right, now).await.unwrap();
        assert_eq!(replay.response, accepted.response);
        assert!(replay.outcome.is_none());
        let mut other = right.clone();
        other.opter = "op2".into();
        assert!(matches!(
            apply(&db, "c-4", &other, now).await,
            Err(StoreError::MsgidConflict { .. })
        ));
        let err = apply(&db, "c-5", &right, now).await.unwrap_err();
        assert!(err.to_string().contains("stands"), "{err}");
        let rows = db.store.clearing_month(None, "2025-05").await.unwrap();
        assert_eq!(rows[0].status, ClearingStatus::Accepted);
        let stored = rows[0].application.as_ref().unwrap();
        assert_eq!(stored.clr_appy_evt_id, id);
        assert_eq!(stored.msgid, "c-4");
        assert_eq!(stored.opter, "op1");
        assert_eq!(stored.medfee_sumamt_fen, total.medfee_sumamt_fen);
        assert_eq!(stored.cash_payamt_fen, total.cash_pay_fen);
        assert_eq!(stored.created_at, now);
        assert_eq!(stored.locked_by_run, None);

        // Withdrawn (3204): once only; the institution may then apply again.
        withdraw(&db, "w-1", &id).await.unwrap();
        let err = withdraw(&db, "w-2", &id).await.unwrap_err();
        assert!(
            err.to_string().contains("already withdrawn by message w-1"),
            "{err}"
        );
        assert!(matches!(
            withdraw(&db, "w-3", "C-unknown").await,
            Err(StoreError::NotFound { .. })
        ));
        let rows = db.store.clearing_month(None, "2025-05").await.unwrap();
        assert_eq!(rows[0].status, ClearingStatus::Withdrawn);
        let again = apply(&db, "c-6", &right, now).await.unwrap();
        let second_id = applied_id(&again);
        let all = db
            .store
            .clearing_applications(CLINIC, ClearingMonth::parse("2025-05", "m").unwrap())
            .await
            .unwrap();
        assert_eq!(all.len(), 2);
        assert!(all[0].withdrawn.is_some() && all[1].withdrawn.is_none());

        // Another institution cannot withdraw it (reported as absent).
        let request = ClearingWithdraw {
            clr_appy_evt_id: second_id.clone(),
            opter: "x".into(),
            opter_name: "x".into(),
        };
        let foreign = Envelope {
            now,
            ..env(HOSPITAL, "w-4", "3204", "foreign")
        };
        assert!(matches!(
            db.store
                .clearing_withdraw(&foreign, &request, &render)
                .await,
            Err(StoreError::NotFound { .. })
        ));

        // Paid: the payment run sets locked_by_run (once); a withdrawal is then refused, and
        // the table refuses any other change.
        raw(
            &db,
            "UPDATE clearing_application SET locked_by_run = 'RUN-1' WHERE clr_appy_evt_id = $1",
            Some(&second_id),
        )
        .await
        .expect("the payment run locks an application");
        for forbidden in [
            "UPDATE clearing_application SET locked_by_run = 'RUN-2'",
            "UPDATE clearing_application SET medfee_sumamt = 1",
            "DELETE FROM clearing_application",
            "DELETE FROM clearing_withdrawal",
        ] {
            assert!(
                raw(&db, forbidden, None).await.is_err(),
                "[{}] {forbidden} went through",
                db.label
            );
        }
        let err = withdraw(&db, "w-5", &second_id).await.unwrap_err();
        assert!(
            err.to_string().contains("paid by payment run RUN-1"),
            "{err}"
        );
        let rows = db.store.clearing_month(None, "2025-05").await.unwrap();
        assert_eq!(
            rows[0]
                .application
                .as_ref()
                .unwrap()
                .locked_by_run
                .as_deref(),
            Some("RUN-1")
        );

        // June's detail rows: the reversal as the negative row of the original settlement.
        let detail = db
            .store
            .stmt_detail_rows(
                CLINIC,
                date("2025-06-01"),
                date("2025-06-30"),
                &first.clr_type,
                None,
            )
            .await
            .unwrap();
        assert_eq!(detail.len(), 1);
        assert_eq!(detail[0].setl_id, second.setl_id);
        assert_eq!(detail[0].refd_setl_flag, "1");
        assert_eq!(detail[0].medfee_sumamt_fen, -b.medfee_sumamt.0);
        assert_eq!(detail[0].msgid, "b-2208");
        assert_balanced(&db).await;
        db
    })
    .await;
}

/// Runs one statement on a connection of its own (as the payment run, or someone at a shell).
async fn raw(db: &TestDb, sql: &str, bind: Option<&str>) -> Result<(), sqlx::Error> {
    if db.label == "postgres" {
        let mut conn = sqlx::PgConnection::connect(&db.url).await?;
        let query = sqlx::query(sql);
        let query = match bind {
            Some(value) => query.bind(value),
            None => query,
        };
        let result = query.execute(&mut conn).await;
        conn.close().await?;
        result.map(|_| ())
    } else {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await?;
        let query = sqlx::query(sql);
        let query = match bind {
            Some(value) => query.bind(value),
            None => query,
        };
        let result = query.execute(&mut conn).await;
        conn.close().await?;
        result.map(|_| ())
    }
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue14_exchange_files_are_private_and_expire() {
    on_both(|db| async move {
        imported(&db).await;
        let now = at("2025-06-01", "09:00:00");
        let file = FileToStore {
            filename: "detail.zip".into(),
            content: vec![0, 1, 2, 255],
            kind: FileKind::Upload,
            balanced: None,
        };
        let env = envelope_at("f-1", "9101", "upload", now);
        let stored = db.store.exchange_store(&env, &file, &render).await.unwrap();
        let Some(ClearingOutcome::FileStored {
            file_qury_no,
            dld_endtime,
            ..
        }) = stored.outcome
        else {
            panic!("{stored:?}")
        };
        assert_eq!(
            dld_endtime,
            now + chrono::Duration::hours(EXCHANGE_FILE_HOURS)
        );
        // A replay stores nothing more.
        let replay = db.store.exchange_store(&env, &file, &render).await.unwrap();
        assert_eq!(replay.response, stored.response);
        let counted = db.store.clearing_row_counts().await.unwrap();
        assert_eq!(counted[0], ("exchange_file", 1));

        let read = db
            .store
            .exchange_file(CLINIC, &file_qury_no, now)
            .await
            .unwrap();
        assert_eq!(read.content, vec![0, 1, 2, 255]);
        assert_eq!(read.filename, "detail.zip");
        assert!(matches!(
            db.store.exchange_file(HOSPITAL, &file_qury_no, now).await,
            Err(StoreError::NotFound { .. })
        ));
        let late = dld_endtime + chrono::Duration::seconds(1);
        assert!(matches!(
            db.store.exchange_file(CLINIC, &file_qury_no, late).await,
            Err(StoreError::Refused { field, .. }) if field == "file_qury_no"
        ));
        // Too large, or without a name: refused, nothing written.
        let big = FileToStore {
            content: vec![0; EXCHANGE_FILE_BYTES_MAX + 1],
            ..file.clone()
        };
        let env = envelope_at("f-2", "9101", "big", now);
        assert!(matches!(
            db.store.exchange_store(&env, &big, &render).await,
            Err(StoreError::BadInput { field, .. }) if field == "in"
        ));
        let nameless = FileToStore {
            filename: " ".into(),
            ..file.clone()
        };
        assert!(db
            .store
            .exchange_store(&env, &nameless, &render)
            .await
            .is_err());
        assert_eq!(db.store.clearing_row_counts().await.unwrap(), counted);
        db
    })
    .await;
}

/// Two applications of the same month, scheme and clearing type sent at the same time (other
/// msgids): exactly one is accepted, on both databases.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue14_concurrent_applications_accept_one() {
    on_both(|db| async move {
        imported(&db).await;
        settle_on(&db, "a", "2025-05-10").await;
        let totals = db
            .store
            .clearing_totals(Some(CLINIC), "2025-05")
            .await
            .unwrap();
        let right = declaration(&totals[0], "2025-05");
        let now = at("2025-06-01", "09:00:00");
        let results = futures_util::future::join_all((0..4).map(|idx| {
            let db = &db;
            let right = &right;
            async move { apply(db, &format!("race-{idx}"), right, now).await }
        }))
        .await;
        let accepted = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(accepted, 1, "[{}] {results:?}", db.label);
        for refused in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(
                matches!(refused, StoreError::Refused { field, .. } if field == "input.data"),
                "[{}] {refused:?}",
                db.label
            );
        }
        let counted = db.store.clearing_row_counts().await.unwrap();
        assert_eq!(counted[1], ("clearing_application", 1));
        db
    })
    .await;
}
