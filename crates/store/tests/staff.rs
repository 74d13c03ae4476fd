//! Staff accounts, logins, sessions and the access log's chain, on SQLite and on PostgreSQL.

mod common;

use common::*;
use sqlx::Connection as _;
use yibao_store::*;

const T0: i64 = 1_780_000_000_000;

fn new_staff(username: &str, roles: &[Role]) -> NewStaff {
    NewStaff {
        username: username.into(),
        password: format!("{username}-long-password"),
        display_name: format!("Staff {username}"),
        roles: roles.to_vec(),
        fixmedins_code: None,
        admdvs: "140500".into(),
    }
}

/// Runs one SQL statement on the test database beside the store.
async fn try_sql(db: &TestDb, sql: &str) -> Result<(), sqlx::Error> {
    if db.label == "postgres" {
        let mut conn = sqlx::PgConnection::connect(&db.url).await?;
        sqlx::query(sql).execute(&mut conn).await?;
    } else {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await?;
        sqlx::query(sql).execute(&mut conn).await?;
    }
    Ok(())
}

/// Tampers with the log as someone with the database owner's rights would: when the
/// append-only triggers refuse the statement, they are dropped and it runs again.
async fn raw_sql(db: &TestDb, sql: &str) {
    let Err(refused) = try_sql(db, sql).await else {
        return;
    };
    let refused = refused.to_string();
    assert!(refused.contains("append-only"), "[{}] {refused}", db.label);
    let drop = if db.label == "postgres" {
        &["DROP TRIGGER IF EXISTS access_log_append_only ON access_log"][..]
    } else {
        &[
            "DROP TRIGGER IF EXISTS access_log_no_update",
            "DROP TRIGGER IF EXISTS access_log_no_delete",
        ][..]
    };
    for statement in drop {
        try_sql(db, statement).await.unwrap();
    }
    try_sql(db, sql).await.unwrap();
}

fn bad_field(err: StoreError) -> String {
    match err {
        StoreError::BadInput { field, .. } => field,
        other => panic!("expected bad input, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_keep_separation_of_duties() {
    on_both(|db| async move {
        imported(&db).await;
        let admin = db
            .store
            .staff_create(&new_staff("admin1", &[Role::Admin]), None, T0)
            .await
            .unwrap();
        assert_eq!(admin.roles, vec![Role::Admin]);
        assert!(admin.active);
        let err = db
            .store
            .staff_create(
                &new_staff("mixed", &[Role::Admin, Role::Reviewer]),
                None,
                T0,
            )
            .await
            .unwrap_err();
        assert_eq!(bad_field(err), "roles");
        let err = db
            .store
            .staff_create(&new_staff("admin1", &[Role::Admin]), None, T0)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Refused { ref field, .. } if field == "username"),
            "{err:?}"
        );
        let mut short = new_staff("shorty", &[Role::Reviewer]);
        short.password = "short".into();
        assert_eq!(
            bad_field(db.store.staff_create(&short, None, T0).await.unwrap_err()),
            "password"
        );
        let mut hospital = new_staff("hosp.user", &[Role::Institution]);
        assert_eq!(
            bad_field(
                db.store
                    .staff_create(&hospital, None, T0)
                    .await
                    .unwrap_err()
            ),
            "fixmedins_code"
        );
        hospital.fixmedins_code = Some("H00000000000".into());
        assert!(matches!(
            db.store
                .staff_create(&hospital, None, T0)
                .await
                .unwrap_err(),
            StoreError::NotFound { .. }
        ));
        hospital.fixmedins_code = Some(HOSPITAL.into());
        let user = db
            .store
            .staff_create(&hospital, Some(admin.staff_id), T0)
            .await
            .unwrap();
        assert_eq!(user.fixmedins_code.as_deref(), Some(HOSPITAL));

        let reviewer = db
            .store
            .staff_create(
                &new_staff("rev1", &[Role::Reviewer]),
                Some(admin.staff_id),
                T0,
            )
            .await
            .unwrap();
        let changed = db
            .store
            .staff_set_roles(
                admin.staff_id,
                reviewer.staff_id,
                &[Role::Reviewer, Role::SeniorReviewer],
                T0,
            )
            .await
            .unwrap();
        assert_eq!(changed.roles, vec![Role::Reviewer, Role::SeniorReviewer]);
        assert_eq!(
            bad_field(
                db.store
                    .staff_set_roles(
                        admin.staff_id,
                        reviewer.staff_id,
                        &[Role::Finance, Role::Reviewer],
                        T0
                    )
                    .await
                    .unwrap_err()
            ),
            "roles"
        );
        assert!(db
            .store
            .staff_set_roles(admin.staff_id, admin.staff_id, &[Role::Admin], T0)
            .await
            .is_err());
        let gone = db
            .store
            .staff_deactivate(admin.staff_id, reviewer.staff_id, T0)
            .await
            .unwrap();
        assert!(!gone.active);
        assert_eq!(db.store.staff_accounts().await.unwrap().len(), 3);
        let log = db.store.access_log(0, 100).await.unwrap();
        let events: Vec<&str> = log.iter().map(|row| row.entry.event.as_str()).collect();
        assert_eq!(
            events,
            [
                "account.create",
                "account.create",
                "account.create",
                "account.roles",
                "account.deactivate"
            ],
            "[{}]",
            db.label
        );
        assert!(db.store.verify_access_log().await.unwrap().is_intact());
        db
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_lock_the_account() {
    on_both(|db| async move {
        let policy = SessionPolicy::default();
        let account = db
            .store
            .staff_create(&new_staff("rev1", &[Role::Reviewer]), None, T0)
            .await
            .unwrap();
        let ok = db
            .store
            .staff_login("rev1", "rev1-long-password", &policy, T0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ok.token.len(), 64);
        assert_eq!(ok.account.staff_id, account.staff_id);
        assert_eq!(
            db.store
                .staff_login("nobody", "whatever-password", &policy, T0)
                .await
                .unwrap()
                .unwrap_err(),
            LoginDenied::UnknownUser
        );
        for n in 1..policy.failed_logins_max {
            assert_eq!(
                db.store
                    .staff_login("rev1", "wrong-password!", &policy, T0 + n)
                    .await
                    .unwrap()
                    .unwrap_err(),
                LoginDenied::WrongPassword
            );
        }
        let until_ms = T0 + 100 + policy.lockout_ms;
        assert_eq!(
            db.store
                .staff_login("rev1", "wrong-password!", &policy, T0 + 100)
                .await
                .unwrap()
                .unwrap_err(),
            LoginDenied::Locked { until_ms }
        );
        // Locked: even the right password is refused until the lock ends.
        assert_eq!(
            db.store
                .staff_login("rev1", "rev1-long-password", &policy, T0 + 200)
                .await
                .unwrap()
                .unwrap_err(),
            LoginDenied::Locked { until_ms }
        );
        assert!(db
            .store
            .staff_login("rev1", "rev1-long-password", &policy, until_ms + 1)
            .await
            .unwrap()
            .is_ok());
        let log = db.store.access_log(0, 100).await.unwrap();
        let reasons: Vec<&str> = log
            .iter()
            .filter(|row| row.entry.event == "session.login")
            .map(|row| row.entry.reason.as_str())
            .collect();
        assert_eq!(
            reasons,
            [
                "",
                "unknown_user",
                "wrong_password",
                "wrong_password",
                "wrong_password",
                "wrong_password",
                "wrong_password_locked_now",
                "locked",
                ""
            ]
        );
        assert!(db.store.verify_access_log().await.unwrap().is_intact());
        db
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_idle_and_absolute() {
    on_both(|db| async move {
        let policy = SessionPolicy {
            idle_ms: 60_000,
            absolute_ms: 200_000,
            ..SessionPolicy::default()
        };
        db.store
            .staff_create(&new_staff("rev1", &[Role::Reviewer]), None, T0)
            .await
            .unwrap();
        let login = |t| {
            let store = db.store.clone();
            async move {
                store
                    .staff_login("rev1", "rev1-long-password", &policy, t)
                    .await
                    .unwrap()
                    .unwrap()
                    .token
            }
        };
        // Idle: unused for longer than idle_ms.
        let token = login(T0).await;
        assert!(matches!(
            db.store
                .staff_session(&token, &policy, T0 + 1_000)
                .await
                .unwrap(),
            SessionCheck::Valid(_)
        ));
        assert_eq!(
            db.store
                .staff_session(&token, &policy, T0 + 62_000)
                .await
                .unwrap(),
            SessionCheck::Expired
        );
        assert_eq!(
            db.store
                .staff_session(&token, &policy, T0 + 62_001)
                .await
                .unwrap(),
            SessionCheck::Invalid
        );
        // Absolute: used every 50 s, still ends 200 s after login.
        let token = login(T0).await;
        for step in 1..=4 {
            assert!(matches!(
                db.store
                    .staff_session(&token, &policy, T0 + step * 50_000)
                    .await
                    .unwrap(),
                SessionCheck::Valid(_)
            ));
        }
        assert_eq!(
            db.store
                .staff_session(&token, &policy, T0 + 200_001)
                .await
                .unwrap(),
            SessionCheck::Expired
        );
        // Logout ends it; a second logout finds nothing.
        let token = login(T0).await;
        assert!(db.store.staff_logout(&token, T0 + 10).await.unwrap());
        assert!(!db.store.staff_logout(&token, T0 + 11).await.unwrap());
        assert_eq!(
            db.store
                .staff_session(&token, &policy, T0 + 12)
                .await
                .unwrap(),
            SessionCheck::Invalid
        );
        let expiries = db
            .store
            .access_log(0, 100)
            .await
            .unwrap()
            .iter()
            .filter(|row| row.entry.event == "session.expire")
            .count();
        assert_eq!(expiries, 2, "each expiry is logged once");
        assert!(db.store.verify_access_log().await.unwrap().is_intact());
        assert_eq!(
            db.store
                .staff_session("not-a-token", &policy, T0)
                .await
                .unwrap(),
            SessionCheck::Invalid
        );
        db
    })
    .await;
}

fn read_entry(n: i64) -> AccessEntry {
    AccessEntry {
        ts_ms: T0 + n,
        event: "data.read".into(),
        staff_id: Some(1),
        action: "GET /api/v1/persons/{psn_no}".into(),
        subject_ref: staff::subject_ref_psn(&format!("P{n:03}")),
        purpose: "case_review".into(),
        decision: Decision::Permit,
        reason: String::new(),
    }
}

async fn five_entries(db: &TestDb) {
    for n in 1..=5 {
        assert_eq!(db.store.log_access(&read_entry(n)).await.unwrap(), n);
    }
    let report = db.store.verify_access_log().await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!((report.entries, report.head_size), (5, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_detects_an_edited_row() {
    on_both(|db| async move {
        five_entries(&db).await;
        // The database refuses edits and deletions of log rows.
        for sql in [
            "UPDATE access_log SET purpose = 'curiosity' WHERE idx = 3",
            "DELETE FROM access_log WHERE idx = 3",
        ] {
            let refused = try_sql(&db, sql).await.unwrap_err().to_string();
            assert!(refused.contains("append-only"), "[{}] {refused}", db.label);
        }
        raw_sql(
            &db,
            "UPDATE access_log SET purpose = 'curiosity' WHERE idx = 3",
        )
        .await;
        let report = db.store.verify_access_log().await.unwrap();
        assert!(
            report
                .problem
                .as_deref()
                .unwrap()
                .starts_with("idx 3: its fields"),
            "{report:?}"
        );
        db
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_detects_a_deleted_row() {
    on_both(|db| async move {
        five_entries(&db).await;
        raw_sql(&db, "DELETE FROM access_log WHERE idx = 2").await;
        let report = db.store.verify_access_log().await.unwrap();
        assert!(
            report
                .problem
                .as_deref()
                .unwrap()
                .starts_with("idx 2: missing"),
            "{report:?}"
        );
        db
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_head_detects_a_deleted_last_row_and_a_rehashed_edit() {
    on_both(|db| async move {
        five_entries(&db).await;
        raw_sql(&db, "DELETE FROM access_log WHERE idx = 5").await;
        let report = db.store.verify_access_log().await.unwrap();
        assert!(
            report
                .problem
                .as_deref()
                .unwrap()
                .starts_with("the head records 5"),
            "{report:?}"
        );
        // An edit whose leaf hash is recomputed still breaks the chain.
        let mut edited = read_entry(2);
        edited.purpose = "curiosity".into();
        let leaf: String = staff::leaf_hash(&edited)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        raw_sql(
            &db,
            &format!(
                "UPDATE access_log SET purpose = 'curiosity', leaf_hash = '{leaf}' WHERE idx = 2"
            ),
        )
        .await;
        let report = db.store.verify_access_log().await.unwrap();
        assert!(
            report
                .problem
                .as_deref()
                .unwrap()
                .starts_with("idx 2: its chain"),
            "{report:?}"
        );
        db
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_keep_one_unbroken_chain() {
    on_both(|db| async move {
        let tasks: Vec<_> = (1..=40)
            .map(|n| {
                let store = db.store.clone();
                tokio::spawn(async move { store.log_access(&read_entry(n)).await.unwrap() })
            })
            .collect();
        let mut indexes = Vec::new();
        for task in tasks {
            indexes.push(task.await.unwrap());
        }
        indexes.sort();
        assert_eq!(indexes, (1..=40).collect::<Vec<i64>>(), "[{}]", db.label);
        let report = db.store.verify_access_log().await.unwrap();
        assert!(report.is_intact(), "[{}] {report:?}", db.label);
        assert_eq!(report.entries, 40);
        // Pages follow one another.
        let first = db.store.access_log(0, 25).await.unwrap();
        let rest = db.store.access_log(25, 25).await.unwrap();
        assert_eq!((first.len(), rest.len()), (25, 15));
        assert_eq!(rest[0].idx, 26);
        db
    })
    .await;
}
