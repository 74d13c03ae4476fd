//! Issue 14, deliver 6 "personal accounts", on SQLite and PostgreSQL: an account credited by the
//! monthly contribution run reads back as a statement checked against the ledger; a person
//! settling abroad withdraws the whole balance once the employee relation has ended (refused
//! before, naming the rule); after a confirmed death the account is inherited by heirs by share,
//! exact to the fen, an heir with an account credited there and the others paid in cash, once
//! (the same call again pays nothing); every refusal writes nothing, and the ledger balances
//! after each step.

// Amounts are written as yuan_fen (`500_00` is 500.00 yuan), as the spec prints them.
#![allow(clippy::inconsistent_digit_grouping)]

#[path = "common/mod.rs"]
mod common;

use common::*;
use yibao_core_types::Fen;
use yibao_enrollment::builtin_params;
use yibao_enrollment::personal_account::{HeirClaim, PayoutReason};
use yibao_store::contributions::{Employer, WageDeclaration};
use yibao_store::personal_account::{InheritanceRequest, WithdrawalRequest};
use yibao_store::refund::person_payout_account;
use yibao_store::*;

async fn balance(db: &TestDb, account: &str) -> i64 {
    db.store
        .account_balance(account)
        .await
        .expect("balance")
        .unwrap_or(0)
}

fn withdrawal(psn_no: &str, reason: PayoutReason, today: &str) -> WithdrawalRequest {
    WithdrawalRequest {
        psn_no: psn_no.into(),
        reason,
        amount: None,
        bank_account: "6222020000000000001".into(),
        evidence: "出国定居注销户口证明 2025-118".into(),
        actor: "cli:fin1".into(),
        today: date(today),
    }
}

fn inheritance(psn_no: &str, heirs: &[(&str, u32)]) -> InheritanceRequest {
    InheritanceRequest {
        psn_no: psn_no.into(),
        heirs: heirs
            .iter()
            .map(|(h, share)| HeirClaim {
                psn_no: (*h).into(),
                share: *share,
            })
            .collect(),
        bank_account: "6222020000000000002".into(),
        evidence: "继承公证书 (2025) 晋城证字 77".into(),
        actor: "cli:fin1".into(),
        today: date("2025-09-01"),
    }
}

/// The refusal's (field, reason), or a panic naming what came back.
fn refusal<T: std::fmt::Debug>(result: Result<T, StoreError>) -> (String, String) {
    match result {
        Err(StoreError::Refused { field, reason })
        | Err(StoreError::BadInput { field, reason }) => (field, reason),
        Err(StoreError::NotFound { field, value }) => (field, format!("{value} not found")),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Runs `statement` beside the store and returns the database's refusal.
async fn refused_sql(db: &TestDb, statement: &str) -> String {
    use sqlx::Connection as _;
    let result = if db.label == "postgres" {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query(statement).execute(&mut conn).await.map(|_| ())
    } else {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query(statement).execute(&mut conn).await.map(|_| ())
    };
    result
        .expect_err("the statement must be refused")
        .to_string()
}

/// P001 in service pays a clinic bill from the account opened at 500.00, and July's contribution
/// credits the employee's 2% (140.00 of a 7,000.00 wage); the statement lists both in time order
/// and agrees with the ledger. Settling
/// abroad is refused while the relation is in force, and a part of the balance is refused (the
/// region pays the whole balance); once the relation has ended the whole balance goes to the
/// payout account, and a second withdrawal finds nothing. A living person is not paid as dead.
#[tokio::test]
async fn a_credited_account_is_withdrawn_when_settling_abroad() {
    on_both(|db| async move {
        imported(&db).await;
        let params = builtin_params().unwrap();
        // In May, P001 pays a 30.00 self-paid consumable from the account (acct_used_flag 1).
        let mdtrt_id = register(&db, CLINIC, "A-2201", "P001", "310").await;
        fresh(
            exec(
                &db,
                CLINIC,
                "A-2203",
                "2203",
                visit_info(&mdtrt_id, "P001", "11", ""),
            )
            .await
            .expect("2203"),
        );
        fresh(
            exec(
                &db,
                CLINIC,
                "A-2204",
                "2204",
                Command::UploadFees(UploadFees {
                    kind: VisitKind::Outpatient,
                    lines: vec![line(&mdtrt_id, "P001", "1", "X-CONS-C", 30_000_000, 10_000)],
                }),
            )
            .await
            .expect("2204"),
        );
        let paid = settled(fresh(
            exec(
                &db,
                CLINIC,
                "A-2207",
                "2207",
                settle_cmd(false, &mdtrt_id, "P001", "310", 30_00, "1"),
            )
            .await
            .expect("2207"),
        ));
        let acct_pay = paid.amounts.acct_pay;
        assert!(acct_pay.0 > 0, "the account paid: {:?}", paid.amounts);
        db.store
            .record_employers(&[Employer {
                emp_no: "EMP001".into(),
                emp_name: "晋城煤业".into(),
                insu_admdvs: "140500".into(),
            }])
            .await
            .unwrap();
        db.store
            .declare_wages(
                &[WageDeclaration {
                    psn_no: "P001".into(),
                    year: 2025,
                    emp_no: "EMP001".into(),
                    wage: Fen(7_000_00),
                    source: "employer".into(),
                }],
                now(),
            )
            .await
            .unwrap();
        db.store
            .assess_employee(
                "P001",
                yibao_enrollment::YearMonth::new(2025, 7).unwrap(),
                &params,
                at("2025-07-31", "18:00:00"),
            )
            .await
            .expect("July");
        let statement = db.store.personal_account_statement("P001").await.unwrap();
        let balance_0 = Fen(500_00 + 140_00 - acct_pay.0);
        assert_eq!(statement.opening, Fen(500_00));
        assert_eq!(statement.credits, Fen(140_00));
        assert_eq!(statement.debits, acct_pay);
        assert_eq!(statement.balance, balance_0);
        let kinds: Vec<(&str, Fen, Fen, &str)> = statement
            .entries
            .iter()
            .map(|e| (e.kind.as_str(), e.amount, e.balance_after, e.at.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                (
                    "acct",
                    Fen(-acct_pay.0),
                    Fen(500_00 - acct_pay.0),
                    "2025-05-10 10:00:00"
                ),
                ("clct_acct", Fen(140_00), balance_0, "2025-07-31 18:00:00"),
            ]
        );
        assert_balanced(&db).await;

        // Refused while the employee relation is in force, and nothing is written.
        let before = counts(&db).await;
        let (field, reason) = refusal(
            db.store
                .withdraw_personal_account(
                    &withdrawal("P001", PayoutReason::Abroad, "2025-08-10"),
                    &params,
                    at("2025-08-10", "10:00:00"),
                )
                .await,
        );
        assert_eq!(field, "reason");
        assert!(
            reason.contains("rule personal_account.abroad_requires_relation_ended"),
            "{reason}"
        );
        let (field, reason) = refusal(
            db.store
                .withdraw_personal_account(
                    &withdrawal("P001", PayoutReason::Death, "2025-08-10"),
                    &params,
                    at("2025-08-10", "10:00:00"),
                )
                .await,
        );
        assert_eq!(field, "reason");
        assert!(reason.contains("no death is confirmed"), "{reason}");
        let mut bad = withdrawal("P001", PayoutReason::Abroad, "2025-08-10");
        bad.bank_account = " ".into();
        assert_eq!(
            refusal(
                db.store
                    .withdraw_personal_account(&bad, &params, now())
                    .await
            )
            .0,
            "bank_account"
        );
        assert_eq!(counts(&db).await, before);

        // The relation ends (settled abroad): a part is refused, the whole balance is paid.
        sql(
            &db,
            "UPDATE insurance SET enddate = $2, psn_insu_stas = '4' WHERE psn_no = $1",
            &["P001", "2025-07-31"],
        )
        .await;
        let mut part = withdrawal("P001", PayoutReason::Abroad, "2025-08-10");
        part.amount = Some(Fen(100_00));
        let (field, reason) = refusal(
            db.store
                .withdraw_personal_account(&part, &params, now())
                .await,
        );
        assert_eq!(field, "amount");
        assert!(
            reason.contains("rule personal_account.partial_withdrawal"),
            "{reason}"
        );
        let done = db
            .store
            .withdraw_personal_account(
                &withdrawal("P001", PayoutReason::Abroad, "2025-08-10"),
                &params,
                at("2025-08-10", "10:00:00"),
            )
            .await
            .expect("withdrawal");
        assert_eq!(done.payout_id, "W:P001:1");
        assert_eq!(done.amount, balance_0);
        assert_eq!(done.rule, "personal_account.withdraw_on_abroad");
        assert_eq!(done.booked_on, "2025-08-10");
        assert_eq!(done.lines.len(), 1);
        assert_eq!(done.lines[0].paid_to, person_payout_account("P001"));
        assert_eq!(balance(&db, "personal:P001").await, 0);
        assert_eq!(
            balance(&db, &person_payout_account("P001")).await,
            balance_0.0
        );
        assert_balanced(&db).await;
        let statement = db.store.personal_account_statement("P001").await.unwrap();
        assert_eq!(statement.balance, Fen::ZERO);
        assert_eq!(statement.debits, acct_pay + balance_0);
        let last = statement.entries.last().unwrap();
        assert_eq!(
            (
                last.kind.as_str(),
                last.ref_id.as_str(),
                last.amount,
                last.at.as_str()
            ),
            (
                "acct_withdrawal",
                "W:P001:1",
                Fen(-balance_0.0),
                "2025-08-10 10:00:00"
            )
        );
        assert_eq!(statement.payouts, [done]);
        // Payouts are never changed.
        for statement in [
            "UPDATE personal_account_payout SET amount_fen = 1",
            "DELETE FROM personal_account_payout_line",
        ] {
            let refused = refused_sql(&db, statement).await;
            assert!(refused.contains("append-only"), "[{}] {refused}", db.label);
        }

        // Nothing left: a second withdrawal is refused and writes nothing.
        let before = counts(&db).await;
        let (field, reason) = refusal(
            db.store
                .withdraw_personal_account(
                    &withdrawal("P001", PayoutReason::Abroad, "2025-08-11"),
                    &params,
                    now(),
                )
                .await,
        );
        assert_eq!(field, "amount");
        assert!(reason.contains("nothing to withdraw"), "{reason}");
        assert_eq!(counts(&db).await, before);
        // A person without an account (a resident) has no statement.
        assert!(matches!(
            db.store.personal_account_statement("P003").await,
            Err(StoreError::NotFound { .. })
        ));
        assert_balanced(&db).await;
        db
    })
    .await;
}

/// P002 (100.00 in the account) dies. Before the death is confirmed nothing is inherited; after
/// it, settling abroad is refused and the heirs inherit in equal thirds: P003 (a resident, no
/// account, named first, so the fen left over is hers) 33.34 in cash, P001 (an employee) 33.33
/// into his account, P004 33.33 in cash. P002's account is zero. The same call again pays
/// nothing; other heirs are refused; a dead, unknown or self-naming heir is refused and nothing
/// is written.
#[tokio::test]
async fn a_dead_persons_account_is_inherited_by_share_once() {
    on_both(|db| async move {
        imported(&db).await;
        let params = builtin_params().unwrap();
        let heirs = [("P003", 1), ("P001", 1), ("P004", 1)];
        let before = counts(&db).await;
        let (field, reason) = refusal(
            db.store
                .inherit_personal_account(&inheritance("P002", &heirs), &params, now())
                .await,
        );
        assert_eq!(field, "psn_no");
        assert!(reason.contains("no death is confirmed"), "{reason}");
        assert_eq!(counts(&db).await, before);

        sql(
            &db,
            "INSERT INTO death_confirmed (psn_no, death_date, basis, confirmed_at) \
             VALUES ($1, '2025-08-15', 'police', '2025-08-16 00:00:00')",
            &["P002"],
        )
        .await;
        sql(
            &db,
            "UPDATE insurance SET enddate = '2025-08-15', psn_insu_stas = '4' WHERE psn_no = $1",
            &["P002"],
        )
        .await;
        let statement = db.store.personal_account_statement("P002").await.unwrap();
        assert_eq!(statement.death_date.as_deref(), Some("2025-08-15"));
        assert_eq!(statement.balance, Fen(100_00));
        let (field, reason) = refusal(
            db.store
                .withdraw_personal_account(
                    &withdrawal("P002", PayoutReason::Abroad, "2025-09-01"),
                    &params,
                    now(),
                )
                .await,
        );
        assert_eq!(field, "reason");
        assert!(
            reason.contains("rule personal_account.inherit_on_death"),
            "{reason}"
        );

        // Bad heirs, each refused before anything is written.
        let before = counts(&db).await;
        for (list, field, words) in [
            (vec![("P002", 1)], "heirs", "from themselves"),
            (vec![("P001", 1), ("P001", 2)], "heirs", "named twice"),
            (vec![("P001", 0)], "heirs", "must be from 1"),
            (vec![("P999", 1)], "heirs", "not found"),
        ] {
            let (f, reason) = refusal(
                db.store
                    .inherit_personal_account(&inheritance("P002", &list), &params, now())
                    .await,
            );
            assert_eq!(f, field, "{list:?}: {reason}");
            assert!(reason.contains(words), "{list:?}: {reason}");
        }
        assert_eq!(counts(&db).await, before);

        let p001 = balance(&db, "personal:P001").await;
        let done = db
            .store
            .inherit_personal_account(
                &inheritance("P002", &heirs),
                &params,
                at("2025-09-01", "11:00:00"),
            )
            .await
            .expect("inheritance");
        assert_eq!(done.payout_id, "I:P002");
        assert_eq!(done.amount, Fen(100_00));
        assert!(!done.replayed);
        let lines: Vec<(Option<&str>, Fen, &str)> = done
            .lines
            .iter()
            .map(|l| (l.heir_psn_no.as_deref(), l.amount, l.paid_to.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                (Some("P003"), Fen(33_34), "payout:person:P003"),
                (Some("P001"), Fen(33_33), "personal:P001"),
                (Some("P004"), Fen(33_33), "payout:person:P004"),
            ]
        );
        assert_eq!(balance(&db, "personal:P002").await, 0);
        assert_eq!(balance(&db, "personal:P001").await, p001 + 33_33);
        assert_eq!(balance(&db, "payout:person:P003").await, 33_34);
        assert_eq!(balance(&db, "payout:person:P004").await, 33_33);
        assert_balanced(&db).await;
        let heir = db.store.personal_account_statement("P001").await.unwrap();
        let last = heir.entries.last().unwrap();
        assert_eq!(
            (
                last.kind.as_str(),
                last.counter_account.as_str(),
                last.amount
            ),
            ("acct_inheritance", "personal:P002", Fen(33_33))
        );

        // The same heirs again: the stored payout, nothing paid twice.
        let before = counts(&db).await;
        let again = db
            .store
            .inherit_personal_account(&inheritance("P002", &heirs), &params, now())
            .await
            .expect("replay");
        assert!(again.replayed);
        assert_eq!(again.lines, done.lines, "the stored lines");
        assert_eq!(counts(&db).await, before);
        assert_eq!(balance(&db, "payout:person:P003").await, 33_34);
        // Other heirs, or the estate's withdrawal, find the account inherited or empty.
        let (field, reason) = refusal(
            db.store
                .inherit_personal_account(&inheritance("P002", &[("P003", 1)]), &params, now())
                .await,
        );
        assert_eq!(field, "heirs");
        assert!(reason.contains("inherited before"), "{reason}");
        let (field, _) = refusal(
            db.store
                .withdraw_personal_account(
                    &withdrawal("P002", PayoutReason::Death, "2025-09-02"),
                    &params,
                    now(),
                )
                .await,
        );
        assert_eq!(field, "amount");
        assert_eq!(counts(&db).await, before);
        assert_balanced(&db).await;
        db
    })
    .await;
}

/// A dead heir is refused; the estate of a dead person may instead be paid out whole to the
/// person's payout account; an heir's death after being named does not matter to a payout
/// already made.
#[tokio::test]
async fn a_dead_heir_is_refused_and_the_estate_may_be_paid_whole() {
    on_both(|db| async move {
        imported(&db).await;
        let params = builtin_params().unwrap();
        for (psn_no, day) in [("P002", "2025-08-15"), ("P004", "2025-08-20")] {
            sql(
                &db,
                "INSERT INTO death_confirmed (psn_no, death_date, basis, confirmed_at) \
                 VALUES ($1, $2, 'police', '2025-08-21 00:00:00')",
                &[psn_no, day],
            )
            .await;
        }
        let before = counts(&db).await;
        let (field, reason) = refusal(
            db.store
                .inherit_personal_account(
                    &inheritance("P002", &[("P001", 1), ("P004", 1)]),
                    &params,
                    now(),
                )
                .await,
        );
        assert_eq!(field, "heirs");
        assert!(reason.contains("heir P004 died on 2025-08-20"), "{reason}");
        assert_eq!(counts(&db).await, before);
        let done = db
            .store
            .withdraw_personal_account(
                &withdrawal("P002", PayoutReason::Death, "2025-09-01"),
                &params,
                at("2025-09-01", "09:30:00"),
            )
            .await
            .expect("the estate's payout");
        assert_eq!(
            (
                done.amount,
                done.rule.as_str(),
                done.lines[0].paid_to.as_str()
            ),
            (
                Fen(100_00),
                "personal_account.withdraw_on_death",
                "payout:person:P002"
            )
        );
        assert_eq!(balance(&db, "personal:P002").await, 0);
        assert_balanced(&db).await;
        db
    })
    .await;
}

/// P001 moves to Qingdao (转移接续): the balance leaves with the relation, and the statement shows
/// the transfer out, timed by the transfer's record, leaving nothing to withdraw.
#[tokio::test]
async fn a_transfer_out_appears_on_the_statement() {
    on_both(|db| async move {
        imported(&db).await;
        let params = builtin_params().unwrap();
        let calendar = yibao_enrollment::builtin_calendar().unwrap();
        let out = yibao_store::transfer::TransferOut {
            psn_no: "P001".into(),
            insutype: "310".into(),
            to_admdvs: "370200".into(),
            accepted_on: date("2026-03-02"),
            done_on: date("2026-03-05"),
        };
        db.store
            .transfer_out(&out, &params, &calendar, at("2026-03-05", "10:00:00"))
            .await
            .expect("transfer out");
        let statement = db.store.personal_account_statement("P001").await.unwrap();
        let entries: Vec<(&str, Fen, &str)> = statement
            .entries
            .iter()
            .map(|e| (e.kind.as_str(), e.amount, e.at.as_str()))
            .collect();
        assert_eq!(
            entries,
            [(
                yibao_store::transfer::KIND_TRANSFER_OUT,
                Fen(-500_00),
                "2026-03-05 10:00:00"
            )]
        );
        assert_eq!(statement.balance, Fen::ZERO);
        let (field, _) = refusal(
            db.store
                .withdraw_personal_account(
                    &withdrawal("P001", PayoutReason::Abroad, "2026-03-10"),
                    &params,
                    now(),
                )
                .await,
        );
        assert_eq!(field, "amount");
        assert_balanced(&db).await;
        db
    })
    .await;
}
