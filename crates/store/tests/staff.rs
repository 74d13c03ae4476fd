//! Staff accounts, logins, sessions and the tamper-evident access log (Merkle tree, signed
//! checkpoints, proofs, witnesses), on SQLite and on PostgreSQL.

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
        &[
            "DROP TRIGGER IF EXISTS access_log_append_only ON access_log",
            "DROP TRIGGER IF EXISTS log_checkpoint_append_only ON log_checkpoint",
        ][..]
    } else {
        &[
            "DROP TRIGGER IF EXISTS log_leaf_no_update",
            "DROP TRIGGER IF EXISTS log_leaf_no_delete",
            "DROP TRIGGER IF EXISTS log_checkpoint_no_update",
            "DROP TRIGGER IF EXISTS log_checkpoint_no_delete",
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
        let log = db.store.access_log(-1, 100).await.unwrap();
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
        let log = db.store.access_log(-1, 100).await.unwrap();
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
            .access_log(-1, 100)
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
        subject_ref: staff::subject_ref_psn(&format!("P{:03}", n % 2)),
        purpose: "case_review".into(),
        decision: Decision::Permit,
        ..Default::default()
    }
}

/// A byte string as an SQL literal of the backend.
fn blob(db: &TestDb, bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if db.label == "postgres" {
        format!("'\\x{hex}'::bytea")
    } else {
        format!("X'{hex}'")
    }
}

async fn leaf_of(db: &TestDb, idx: i64) -> Vec<u8> {
    let page = db.store.access_log(idx - 1, 1).await.unwrap();
    unhex(&page[0].leaf)
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Five leaves (0..5) under a signed checkpoint of size 5.
async fn five_signed(db: &TestDb, keys: &LogKeys) {
    for n in 0..5 {
        assert_eq!(db.store.log_access(&read_entry(n)).await.unwrap(), n);
    }
    let checkpoint = db.store.sign_checkpoint(keys).await.unwrap();
    assert_eq!(checkpoint.size, 5);
    let report = db.store.verify_log().await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(
        (report.entries, report.head_size, report.verified_size),
        (5, 5, 5)
    );
}

fn keys() -> LogKeys {
    LogKeys::generate("yibao.test/access-log/v1").unwrap()
}

fn verifier(keys: &LogKeys) -> yibao_translog::NoteVerifier {
    yibao_translog::NoteVerifier::log(keys.origin(), keys.verifying_key()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_and_proofs_verify_with_translog() {
    on_both(|db| async move {
        let keys = keys();
        for n in 0..13 {
            db.store.log_access(&read_entry(n)).await.unwrap();
        }
        let first = db.store.sign_checkpoint(&keys).await.unwrap();
        let opened = yibao_translog::open_checkpoint(&first.note, &verifier(&keys)).unwrap();
        assert_eq!((opened.size, first.size), (13, 13));
        for idx in 0..13 {
            let proof = db.store.inclusion_proof(idx, 13).await.unwrap();
            assert_eq!(proof.root, opened.root, "[{}] {idx}", db.label);
            assert_eq!(proof.checkpoint.as_ref(), Some(&first));
            yibao_translog::verify_inclusion(
                &proof.leaf,
                idx as u64,
                13,
                &opened.root,
                &proof.proof,
            )
            .unwrap();
            let leaf = yibao_translog::decode_leaf(&proof.leaf).unwrap();
            assert_eq!(leaf.leaf_idx, idx as u64);
            // Proofs read O(log n) hashes.
            assert!(proof.proof.hashes.len() <= 4);
        }
        // Signing again without new leaves gives the same checkpoint.
        assert_eq!(db.store.sign_checkpoint(&keys).await.unwrap(), first);
        for n in 13..20 {
            db.store.log_access(&read_entry(n)).await.unwrap();
        }
        let second = db.store.sign_checkpoint(&keys).await.unwrap();
        let newer = yibao_translog::open_checkpoint(&second.note, &verifier(&keys)).unwrap();
        for from in [1, 5, 13] {
            let proof = db.store.consistency_proof(from, 20).await.unwrap();
            let old = db.store.inclusion_proof(0, from).await.unwrap().root;
            yibao_translog::verify_consistency(from as u64, &old, 20, &newer.root, &proof).unwrap();
        }
        let report = db.store.verify_log().await.unwrap();
        assert!(report.is_intact(), "{report:?}");
        assert_eq!((report.verified_size, report.checkpoints), (20, 2));
        // Out of range.
        assert!(db.store.inclusion_proof(20, 20).await.is_err());
        assert!(db.store.inclusion_proof(0, 21).await.is_err());
        assert!(db.store.consistency_proof(0, 20).await.is_err());
        db
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_person_index_finds_a_persons_leaves_and_the_leaves_link_nobody() {
    on_both(|db| async move {
        for n in 0..6 {
            db.store.log_access(&read_entry(n)).await.unwrap();
        }
        assert_eq!(db.store.person_leaves("P001").await.unwrap(), [1, 3, 5]);
        assert_eq!(db.store.person_leaves("P000").await.unwrap(), [0, 2, 4]);
        assert!(db.store.person_leaves("P002").await.unwrap().is_empty());
        let page = db.store.access_log(-1, 10).await.unwrap();
        let refs: Vec<&str> = page
            .iter()
            .map(|row| row.entry.subject_ref.as_str())
            .collect();
        assert!(refs
            .iter()
            .all(|r| r.starts_with("psn:") && r.len() == 4 + 64));
        let mut distinct = refs.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 6, "no pseudonym repeats across leaves");
        for row in &page {
            assert!(!row.leaf.contains(
                &"P001"
                    .bytes()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            ));
        }
        db
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_refuses_edits_of_the_log() {
    on_both(|db| async move {
        five_signed(&db, &keys()).await;
        for sql in [
            "UPDATE access_log SET action = 'x' WHERE idx = 3",
            "DELETE FROM access_log WHERE idx = 3",
            "DELETE FROM log_subtree WHERE idx = 3",
            "DELETE FROM log_checkpoint",
        ] {
            let refused = try_sql(&db, sql).await.unwrap_err().to_string();
            assert!(refused.contains("append-only"), "[{}] {refused}", db.label);
        }
        db
    })
    .await;
}

/// Runs `tamper` on a fresh signed log and checks that verification names `leaf`.
async fn detects(tamper: impl Fn(&TestDb) -> Vec<String>, leaf: i64, reason: &str) {
    let tamper = &tamper;
    on_both(|db| async move {
        let keys = keys();
        five_signed(&db, &keys).await;
        for sql in tamper(&db) {
            raw_sql(&db, &sql).await;
        }
        let report = db.store.verify_log().await.unwrap();
        assert_eq!(report.leaf_idx, Some(leaf), "[{}] {report:?}", db.label);
        let problem = report.problem.unwrap();
        assert!(
            problem.starts_with(&format!("leaf {leaf}: ")) && problem.contains(reason),
            "[{}] {problem}",
            db.label
        );
        db
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_altered_leaf_is_found() {
    // A character of the event type in leaf 3: `data.read` becomes `data.reXd`.
    on_both(|db| async move {
        five_signed(&db, &keys()).await;
        let mut leaf = leaf_of(&db, 3).await;
        assert_eq!(&leaf[35..44], b"data.read");
        leaf[39] = b'X';
        raw_sql(
            &db,
            &format!(
                "UPDATE access_log SET leaf = {} WHERE idx = 3",
                blob(&db, &leaf)
            ),
        )
        .await;
        let report = db.store.verify_log().await.unwrap();
        assert_eq!(report.leaf_idx, Some(3), "[{}] {report:?}", db.label);
        assert!(report.problem.unwrap().contains("altered"));
        db
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_leaf_is_found() {
    detects(
        |_| vec!["DELETE FROM access_log WHERE idx = 2".into()],
        2,
        "missing",
    )
    .await;
    detects(
        |_| vec!["DELETE FROM access_log WHERE idx = 4".into()],
        4,
        "missing",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapped_leaves_are_found() {
    detects(
        |_| {
            vec![
                "UPDATE access_log SET idx = 100 WHERE idx = 1".into(),
                "UPDATE access_log SET idx = 1 WHERE idx = 3".into(),
                "UPDATE access_log SET idx = 3 WHERE idx = 100".into(),
            ]
        },
        1,
        "moved, reordered or inserted",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_or_rehashed_leaf_and_a_forged_checkpoint_are_found() {
    let keys = keys();
    let keys = &keys;
    on_both(|db| async move {
        five_signed(&db, keys).await;
        // A leaf re-encoded with another purpose and its stored hash recomputed: the stored
        // subtree hashes (checked against the signed root) pin it.
        let mut leaf = yibao_translog::decode_leaf(&leaf_of(&db, 2).await).unwrap();
        leaf.purpose = "curiosity".into();
        let bytes = yibao_translog::encode_leaf(&leaf).unwrap();
        let hash = yibao_translog::leaf_hash(&bytes);
        raw_sql(
            &db,
            &format!(
                "UPDATE access_log SET leaf = {}, leaf_hash = {} WHERE idx = 2",
                blob(&db, &bytes),
                blob(&db, &hash)
            ),
        )
        .await;
        let report = db.store.verify_log().await.unwrap();
        assert_eq!(report.leaf_idx, Some(2), "[{}] {report:?}", db.label);
        db
    })
    .await;
    on_both(|db| async move {
        five_signed(&db, keys).await;
        // A forged row after the last one, correctly encoded, as if appended.
        let mut leaf = yibao_translog::decode_leaf(&leaf_of(&db, 4).await).unwrap();
        leaf.leaf_idx = 5;
        let bytes = yibao_translog::encode_leaf(&leaf).unwrap();
        raw_sql(
            &db,
            &format!(
                "INSERT INTO access_log (idx, leaf, leaf_hash, staff_id, action, subject_label, reason_text, detail_salt) \
                 SELECT 5, {}, {}, staff_id, action, subject_label, reason_text, detail_salt FROM access_log WHERE idx = 4",
                blob(&db, &bytes),
                blob(&db, &yibao_translog::leaf_hash(&bytes))
            ),
        )
        .await;
        let report = db.store.verify_log().await.unwrap();
        assert_eq!(report.leaf_idx, Some(5), "[{}] {report:?}", db.label);
        // Details changed beside an intact leaf.
        db
    })
    .await;
    on_both(|db| async move {
        five_signed(&db, keys).await;
        raw_sql(
            &db,
            "UPDATE access_log SET action = 'GET /nothing' WHERE idx = 1",
        )
        .await;
        let report = db.store.verify_log().await.unwrap();
        assert_eq!(report.leaf_idx, Some(1), "[{}] {report:?}", db.label);
        assert!(report.problem.unwrap().contains("details"));
        db
    })
    .await;
    on_both(|db| async move {
        five_signed(&db, keys).await;
        // A checkpoint of size 3 signed by another key with a root of other leaves.
        let forger = LogKeys::generate(keys.origin()).unwrap();
        let root = yibao_gm::hash(b"other history");
        let note = yibao_translog::sign_checkpoint(
            &yibao_translog::Checkpoint {
                origin: keys.origin().into(),
                size: 3,
                root,
            },
            &yibao_translog::checkpoint::NoteSigner::log(keys.origin(), {
                let text = forger.to_text();
                let hex = text
                    .lines()
                    .find_map(|line| line.strip_prefix("sm2-signing-key "))
                    .unwrap();
                yibao_gm::SigningKey::from_bytes(&unhex(hex)).unwrap()
            })
            .unwrap(),
        )
        .unwrap();
        raw_sql(
            &db,
            &format!(
                "INSERT INTO log_checkpoint (size, root, note, origin, public_key) VALUES (3, {}, '{note}', '{}', '{}')",
                blob(&db, &root),
                keys.origin(),
                forger.verifying_key().to_hex()
            ),
        )
        .await;
        let report = db.store.verify_log().await.unwrap();
        assert_eq!(report.leaf_idx, Some(0), "[{}] {report:?}", db.label);
        db
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_cosigns_extensions_and_refuses_a_changed_history() {
    on_both(|db| async move {
        let keys = keys();
        let witness = WitnessKey::generate("audit-office.test").unwrap();
        assert!(
            db.store.witness_cosign(&witness, 1).await.is_err(),
            "nothing signed yet"
        );
        five_signed(&db, &keys).await;
        let first = db.store.witness_cosign(&witness, 100).await.unwrap();
        assert_eq!((first.previous_size, first.size), (0, 5));
        for n in 5..12 {
            db.store.log_access(&read_entry(n)).await.unwrap();
        }
        db.store.sign_checkpoint(&keys).await.unwrap();
        let second = db.store.witness_cosign(&witness, 200).await.unwrap();
        assert_eq!((second.previous_size, second.size), (5, 12));
        // The cosignature verifies under the witness's public key.
        let note = format!(
            "{}{}",
            db.store
                .log_checkpoints()
                .await
                .unwrap()
                .last()
                .unwrap()
                .note,
            second.line
        );
        let policy = yibao_translog::TrustPolicy {
            log: verifier(&keys),
            witnesses: vec![yibao_translog::NoteVerifier::witness(
                witness.name(),
                yibao_gm::VerifyingKey::from_hex(&witness.public_hex()).unwrap(),
            )
            .unwrap()],
            quorum: 1,
        };
        yibao_translog::open_witnessed(&note, &policy).unwrap();
        // A history rewritten under a new key: the witness refuses.
        let other = LogKeys::generate(keys.origin()).unwrap();
        for n in 12..14 {
            db.store.log_access(&read_entry(n)).await.unwrap();
        }
        db.store.sign_checkpoint(&other).await.unwrap();
        let refused = db.store.witness_cosign(&witness, 300).await.unwrap_err();
        assert!(matches!(refused, StoreError::Refused { .. }), "{refused:?}");
        db
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_log_no_data_a_rolled_back_append_leaves_nothing() {
    // A reader appends its leaf and commits before it reads (`Staff::authorize_read`): a crash
    // between the two leaves a leaf without an answer. A crash before the commit (here: a
    // refused append) leaves neither, and the caller never reaches the read.
    on_both(|db| async move {
        let keys = keys();
        five_signed(&db, &keys).await;
        if db.label == "postgres" {
            try_sql(&db, "CREATE FUNCTION refuse_all() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'log down'; END; $$ LANGUAGE plpgsql").await.unwrap();
            try_sql(&db, "CREATE TRIGGER log_down BEFORE INSERT ON log_subtree FOR EACH ROW EXECUTE FUNCTION refuse_all()").await.unwrap();
        } else {
            try_sql(&db, "CREATE TRIGGER log_down BEFORE INSERT ON log_subtree BEGIN SELECT RAISE(ABORT, 'log down'); END").await.unwrap();
        }
        assert!(db.store.log_access(&read_entry(5)).await.is_err());
        let report = db.store.verify_log().await.unwrap();
        assert!(report.is_intact(), "{report:?}");
        assert_eq!((report.entries, report.head_size), (5, 5), "the half-done append rolled back");
        let drop = if db.label == "postgres" { "DROP TRIGGER log_down ON log_subtree" } else { "DROP TRIGGER log_down" };
        try_sql(&db, drop).await.unwrap();
        assert_eq!(db.store.log_access(&read_entry(5)).await.unwrap(), 5);
        assert!(db.store.verify_log().await.unwrap().is_intact());
        db
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_keep_one_log() {
    on_both(|db| async move {
        let tasks: Vec<_> = (0..40)
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
        assert_eq!(indexes, (0..40).collect::<Vec<i64>>(), "[{}]", db.label);
        let keys = keys();
        assert_eq!(db.store.sign_checkpoint(&keys).await.unwrap().size, 40);
        let report = db.store.verify_log().await.unwrap();
        assert!(report.is_intact(), "[{}] {report:?}", db.label);
        assert_eq!((report.entries, report.verified_size), (40, 40));
        // Pages follow one another.
        let first = db.store.access_log(-1, 25).await.unwrap();
        let rest = db.store.access_log(24, 25).await.unwrap();
        assert_eq!((first.len(), rest.len()), (25, 15));
        assert_eq!(rest[0].idx, 25);
        db
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_era_log_stays_verifiable() {
    on_both(|db| async move {
        let report = db.store.verify_chain_era().await.unwrap();
        assert!(report.is_intact(), "{report:?}");
        assert_eq!(report.entries, 0);
        db
    })
    .await;
}
