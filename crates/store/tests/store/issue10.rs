//! Issue 10's store tests: commands queued on the person lock see the settled visit
//! (PostgreSQL), SQLite waits for an outside writer, sign-ins by day, 1101 by token and card,
//! and chronic recognitions by date.

use super::common::*;
use yibao_store::*;

/// Waits until `n` sessions of the test database are waiting for a lock (bounded: 10 s).
async fn wait_for_lock_waiters(db: &TestDb, n: i64) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&db.url)
        .await
        .expect("watch connection");
    for _ in 0..1_000 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut conn)
        .await
        .expect("pg_stat_activity");
        if waiting >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!(
        "[{}] {n} commands never queued on the person lock",
        db.label
    );
}

/// Waits until `n` write commands are inside the store (bounded: 10 s): with group commit, a
/// command behind one that waits on the person lock queues to join that command's batch, in
/// the store rather than on the database lock.
async fn wait_for_commands_in_store(db: &TestDb, n: usize) {
    for _ in 0..1_000 {
        if db.store.batch_stats().in_store >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("[{}] {n} commands never queued in the store", db.label);
}

/// A command of `db.store` on its own task.
fn spawn_exec(
    db: &TestDb,
    msgid: &str,
    infno: &str,
    cmd: Command,
) -> tokio::task::JoinHandle<Result<Reply, StoreError>> {
    let store = db.store.clone();
    let env = env(CLINIC, msgid, infno, &format!("{cmd:?}"));
    tokio::spawn(async move { store.execute(&env, cmd, &render).await })
}

/// Issue 10: on PostgreSQL a command that queued on the person lock behind a settlement must
/// see the visit as the settlement left it. A 2204 behind a 2207 adds no line to the settled
/// visit, and of two 2207s of one visit (two charge batches) only the first settles.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue10_commands_queued_on_the_person_lock_see_the_settled_visit() {
    use sqlx::Connection;
    on_postgres(|db| async move {
        imported(&db).await;
        let prepare = |tag: &'static str, batches: &'static [&'static str]| {
            let db = &db;
            async move {
                let mdtrt_id = register(db, CLINIC, &format!("{tag}-2201"), "P003", "390").await;
                fresh(
                    exec(
                        db,
                        CLINIC,
                        &format!("{tag}-2203"),
                        "2203",
                        visit_info(&mdtrt_id, "P003", "11", ""),
                    )
                    .await
                    .expect("2203"),
                );
                let lines = batches
                    .iter()
                    .enumerate()
                    .map(|(i, batch)| {
                        let mut l = line(
                            &mdtrt_id,
                            "P003",
                            &format!("{}", i + 1),
                            "X-DRUG-A",
                            10_000_000,
                            10_000,
                        );
                        l.chrg_bchno = batch.to_string();
                        l
                    })
                    .collect();
                fresh(
                    exec(
                        db,
                        CLINIC,
                        &format!("{tag}-2204"),
                        "2204",
                        Command::UploadFees(UploadFees {
                            kind: VisitKind::Outpatient,
                            lines,
                        }),
                    )
                    .await
                    .expect("2204"),
                );
                mdtrt_id
            }
        };
        let settle_batch = |mdtrt_id: &str, batch: &str| {
            let mut cmd = settle_cmd(false, mdtrt_id, "P003", "390", 1_000, "0");
            if let Command::Settle(s) = &mut cmd {
                s.chrg_bchno = batch.to_string();
            }
            cmd
        };
        let refused_as_settled = |result: Result<Reply, StoreError>, what: &str| match result {
            Err(StoreError::Refused { field, reason })
                if field == "mdtrt_id" && reason.ends_with("is settled") => {}
            other => panic!(
                "[{}] {what} queued behind the 2207 gave {other:?}",
                db.label
            ),
        };

        // A 2204 queued behind a 2207 of the same visit.
        let mdtrt_id = prepare("A", &["B1"]).await;
        let mut holder = sqlx::PgConnection::connect(&db.url).await.expect("holder");
        sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
        sqlx::query("SELECT 1 FROM person WHERE psn_no = 'P003' FOR UPDATE")
            .execute(&mut holder)
            .await
            .unwrap();
        let before = counts(&db).await;
        let settle = spawn_exec(&db, "A-2207", "2207", settle_batch(&mdtrt_id, "B1"));
        wait_for_lock_waiters(&db, 1).await;
        let mut late = line(&mdtrt_id, "P003", "9", "X-DRUG-A", 10_000_000, 10_000);
        late.chrg_bchno = "B1".into();
        let upload = spawn_exec(
            &db,
            "A-2204b",
            "2204",
            Command::UploadFees(UploadFees {
                kind: VisitKind::Outpatient,
                lines: vec![late],
            }),
        );
        wait_for_commands_in_store(&db, 2).await;
        wait_for_lock_waiters(&db, 1).await;
        sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
        settled(fresh(settle.await.unwrap().expect("the 2207 settles")));
        refused_as_settled(upload.await.unwrap(), "2204");
        let after = counts(&db).await;
        let count = |c: &[(&str, i64)], t: &str| c.iter().find(|(n, _)| *n == t).unwrap().1;
        assert_eq!(count(&after, "fee_line"), count(&before, "fee_line"));
        assert_eq!(
            count(&after, "idempotency"),
            count(&before, "idempotency") + 1
        );

        // Two 2207s, one per charge batch, queued together: the visit is settled by the first.
        let mdtrt_id = prepare("B", &["B1", "B2"]).await;
        sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
        sqlx::query("SELECT 1 FROM person WHERE psn_no = 'P003' FOR UPDATE")
            .execute(&mut holder)
            .await
            .unwrap();
        let first = spawn_exec(&db, "B-2207-1", "2207", settle_batch(&mdtrt_id, "B1"));
        wait_for_lock_waiters(&db, 1).await;
        let second = spawn_exec(&db, "B-2207-2", "2207", settle_batch(&mdtrt_id, "B2"));
        wait_for_commands_in_store(&db, 2).await;
        wait_for_lock_waiters(&db, 1).await;
        sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
        settled(fresh(first.await.unwrap().expect("the first 2207 settles")));
        refused_as_settled(second.await.unwrap(), "a second 2207");
        let report = assert_balanced(&db).await;
        assert_eq!(report.n_settlements, 2);
        holder.close().await.unwrap();
        db
    })
    .await;
}

/// Another connection to the same SQLite file takes the write lock and gives it back after
/// `hold_ms`.
async fn hold_sqlite_write_lock(db: &TestDb, hold_ms: u64) -> tokio::task::JoinHandle<()> {
    use sqlx::Connection;
    let mut outside = sqlx::SqliteConnection::connect(&db.url)
        .await
        .expect("outside connection");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut outside)
        .await
        .expect("the outside writer takes the lock");
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(hold_ms)).await;
        sqlx::query("COMMIT").execute(&mut outside).await.unwrap();
        outside.close().await.unwrap();
    })
}

/// Issue 10: on SQLite, while another connection holds the write lock, 2201 and 2207 wait for it
/// (within the busy timeout) instead of failing at once with "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue10_sqlite_commands_wait_for_an_outside_writer() {
    let db = sqlite_db().await;
    imported(&db).await;
    let hold_ms = 300;

    let writer = hold_sqlite_write_lock(&db, hold_ms).await;
    let started = std::time::Instant::now();
    let mdtrt_id = register(&db, CLINIC, "W-2201", "P003", "390").await;
    assert!(started.elapsed().as_millis() >= u128::from(hold_ms) - 50);
    writer.await.unwrap();

    fresh(
        exec(
            &db,
            CLINIC,
            "W-2203",
            "2203",
            visit_info(&mdtrt_id, "P003", "11", ""),
        )
        .await
        .expect("2203"),
    );
    fresh(
        exec(
            &db,
            CLINIC,
            "W-2204",
            "2204",
            Command::UploadFees(UploadFees {
                kind: VisitKind::Outpatient,
                lines: spec_lines(&mdtrt_id, "P003"),
            }),
        )
        .await
        .expect("2204"),
    );
    let writer = hold_sqlite_write_lock(&db, hold_ms).await;
    let started = std::time::Instant::now();
    let s = settled(fresh(
        exec(
            &db,
            CLINIC,
            "W-2207",
            "2207",
            settle_cmd(false, &mdtrt_id, "P003", "390", 410_000, "0"),
        )
        .await
        .expect("2207 after the outside writer is done"),
    ));
    assert!(started.elapsed().as_millis() >= u128::from(hold_ms) - 50);
    assert_eq!(s.amounts.medfee_sumamt.0, 410_000);
    writer.await.unwrap();
    assert_balanced(&db).await;

    // A lock held for longer than the busy timeout: a clear error, and nothing written.
    let impatient = Store::connect_with(
        &db.url,
        &StoreOptions {
            sqlite_busy_timeout: std::time::Duration::from_millis(100),
            ..StoreOptions::default()
        },
    )
    .await
    .expect("a second store on the same file");
    let before = counts(&db).await;
    let writer = hold_sqlite_write_lock(&db, 1_000).await;
    let cmd = Command::CancelRegistration(VisitRef {
        psn_no: "P003".into(),
        mdtrt_id: mdtrt_id.clone(),
        ipt_otp_no: None,
    });
    let busy = impatient
        .execute(
            &env(CLINIC, "W-2202", "2202", &format!("{cmd:?}")),
            cmd,
            &render,
        )
        .await;
    match &busy {
        Err(e @ StoreError::Busy { timeout_ms: 100 }) => {
            assert!(!e.is_user_error());
            assert!(e.to_string().contains("send the message again"), "{e}");
        }
        other => panic!("a lock held past the busy timeout gave {other:?}"),
    }
    writer.await.unwrap();
    assert_eq!(counts(&db).await, before);
    impatient.close().await;
}

/// Issue 10: a sign-in (9001) is valid for its institution on its day until it is signed out
/// (9002); the record keeps the institution, operator, sign_no and time.
#[tokio::test]
async fn issue10_a_sign_in_is_valid_on_its_day_until_signed_out() {
    on_both(|db| async move {
        imported(&db).await;
        let sign_in = |msgid: &'static str| {
            exec(
                &db,
                CLINIC,
                msgid,
                "9001",
                Command::SignIn(SignIn {
                    opter_no: "OP7".into(),
                    mac: "00-16-3E-00-00-01".into(),
                    ip: "10.0.0.1".into(),
                }),
            )
        };
        let Outcome::SignedIn { sign_no, sign_time } = fresh(sign_in("G-9001").await.unwrap())
        else {
            panic!("9001 gave something else")
        };
        assert_eq!(sign_time, now());
        let today = now().date();
        let valid = |inst: &'static str, sign_no: String, on: chrono::NaiveDate| {
            let store = db.store.clone();
            async move { store.sign_in_valid(inst, &sign_no, on).await.unwrap() }
        };
        assert!(valid(CLINIC, sign_no.clone(), today).await);
        assert!(!valid(CLINIC, sign_no.clone(), today.succ_opt().unwrap()).await);
        assert!(!valid(HOSPITAL, sign_no.clone(), today).await);
        assert!(!valid(CLINIC, "null".into(), today).await);
        assert!(!valid(CLINIC, "79faf82271944fe38c4f1d99be71bc9c".into(), today).await);
        // A second store on the same database (another server process) finds it too.
        let other = Store::connect(&db.url).await.unwrap();
        assert!(other.sign_in_valid(CLINIC, &sign_no, today).await.unwrap());
        assert!(!other
            .sign_in_valid(CLINIC, &sign_no, today.succ_opt().unwrap())
            .await
            .unwrap());
        other.close().await;
        fresh(
            exec(
                &db,
                CLINIC,
                "G-9002",
                "9002",
                Command::SignOut(SignOut {
                    sign_no: sign_no.clone(),
                    opter_no: "OP7".into(),
                }),
            )
            .await
            .unwrap(),
        );
        assert!(!valid(CLINIC, sign_no.clone(), today).await);
        let n = counts(&db).await;
        assert_eq!(n.iter().find(|(t, _)| *t == "sign_in").unwrap().1, 1);
        db
    })
    .await;
}

/// Issue 10: 1101 finds a person by an e-voucher token (mdtrt_cert_type 01) and by a social
/// security card (03) in force on the day, besides psn_no and the resident id; an unknown,
/// expired or mismatched credential is refused naming the field.
#[tokio::test]
async fn issue10_1101_resolves_e_voucher_tokens_and_social_security_cards() {
    on_both(|db| async move {
        imported(&db).await;
        let today = now().date();
        let by = |key: PersonKey| {
            let store = db.store.clone();
            async move { store.person_info_by(&key, today).await }
        };
        let token = |t: &str| PersonKey::EcToken(t.into());
        let card = |no: &str, sn: Option<&str>| PersonKey::SsCard {
            card_no: no.into(),
            card_sn: sn.map(str::to_string),
        };
        let found = by(token("7f3a9c0e5b2d4f6a8c1e3b5d7f9a0c2e")).await.unwrap();
        assert_eq!(found.base.psn_no, "P001");
        assert_eq!(found.insurance[0].balc_fen, 50_000);
        let found = by(card("A00000003", None)).await.unwrap();
        assert_eq!((found.base.psn_no.as_str(), found.base.certno.as_str()), ("P003", "140502199003031236"));
        let found = by(card("A00000003", Some("0123456789ABCDEF0123456789ABCDEF")))
            .await
            .unwrap();
        assert_eq!(found.base.psn_no, "P003");
        // P004's replaced card ended last year; the new one is in force.
        assert_eq!(by(card("B00000004", None)).await.unwrap().identities[0].sp_psn_type, "1");
        assert_eq!(
            by(PersonKey::PsnNoOrCertno("140502198001011234".into())).await.unwrap().base.psn_no,
            "P001"
        );

        let refused = |e: StoreError| match e {
            StoreError::NotFound { field, value } => format!("{field}: {value} does not exist"),
            StoreError::Refused { field, reason } | StoreError::BadInput { field, reason } => {
                format!("{field}: {reason}")
            }
            other => panic!("unexpected {other:?}"),
        };
        for (key, expected) in [
            (
                token("ffffffffffffffffffffffffffffffff"),
                "mdtrt_cert_no: the e-voucher token sent does not exist",
            ),
            (
                token("0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a"),
                "mdtrt_cert_no: the e-voucher token sent is in force from 2024-01-01 to 2024-12-31, not on 2025-05-10",
            ),
            // A token is not a psn_no or a certno, nor the other way round.
            (token("P001"), "mdtrt_cert_no: the e-voucher token sent does not exist"),
            (
                card("140502199003031236", None),
                "mdtrt_cert_no: social security card 140502199003031236 does not exist",
            ),
            (
                card("A00000004", None),
                "mdtrt_cert_no: social security card A00000004 is in force from 2015-01-01 to 2024-12-31, not on 2025-05-10",
            ),
            (
                card("A00000003", Some("00000000000000000000000000000000")),
                "card_sn: does not identify social security card A00000003",
            ),
            (token(""), "mdtrt_cert_no: is empty"),
            (
                token(&"x".repeat(51)),
                "mdtrt_cert_no: is longer than 50 characters",
            ),
        ] {
            let err = by(key.clone()).await.expect_err(&format!("{key:?}"));
            assert_eq!(refused(err), expected, "[{}] {key:?}", db.label);
        }
        db
    })
    .await;
}

/// Issue 10: the chronic disease recognitions (门慢认定) of a person in force on a date.
#[tokio::test]
async fn issue10_chronic_recognitions_in_force_on_a_date() {
    on_both(|db| async move {
        imported(&db).await;
        let on = |psn_no: &'static str, day: &'static str| {
            let store = db.store.clone();
            async move {
                store
                    .chronic_recognitions(psn_no, date(day))
                    .await
                    .map(|found| {
                        found
                            .into_iter()
                            .map(|r| {
                                format!(
                                    "{} {}..{} {}",
                                    r.opsp_dise_code, r.begndate, r.enddate, r.fixmedins_code
                                )
                            })
                            .collect::<Vec<_>>()
                    })
            }
        };
        assert_eq!(
            on("P001", "2025-05-10").await.unwrap(),
            [
                "E11.900 2025-01-01..2025-12-31 H14050000001",
                "I10.x00 2024-03-01.. "
            ]
        );
        assert_eq!(
            on("P001", "2024-12-31").await.unwrap(),
            [
                "E11.900 2023-01-01..2024-12-31 H14050000001",
                "I10.x00 2024-03-01.. "
            ]
        );
        assert_eq!(
            on("P001", "2024-02-29").await.unwrap(),
            ["E11.900 2023-01-01..2024-12-31 H14050000001"]
        );
        assert_eq!(
            on("P004", "2025-05-31").await.unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            on("P004", "2025-06-01").await.unwrap(),
            ["N18.500 2025-06-01.. H14050000001"]
        );
        assert_eq!(
            on("P003", "2025-05-10").await.unwrap(),
            Vec::<String>::new()
        );
        assert!(matches!(
            on("P999", "2025-05-10").await,
            Err(StoreError::NotFound { field, .. }) if field == "psn_no"
        ));
        db
    })
    .await;
}
