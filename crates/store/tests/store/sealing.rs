//! Encryption at rest (docs/PRIVACY.md, "Encryption at rest"): the e-voucher token is never in
//! the database in clear, a visit's credential is sealed to its row, and a key rotation (rotate,
//! rewrap in batches, retire) keeps every value opening, on both backends.

use sqlx::Connection;
use yibao_store::sealing::{self, VISIT_CERT, VISIT_CERT_FAMILY};

use super::common::*;
use yibao_store::*;

const TOKEN_P001: &str = "7f3a9c0e5b2d4f6a8c1e3b5d7f9a0c2e";
const TOKEN_P002: &str = "0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a";

/// The first column of every row of `statement`, read as text (`CAST` numbers in the SQL).
async fn texts(db: &TestDb, statement: &str) -> Vec<String> {
    macro_rules! run {
        ($conn:expr) => {{
            sqlx::query_scalar::<_, String>(statement)
                .fetch_all(&mut $conn)
                .await
                .expect(statement)
        }};
    }
    if db.label == "postgres" {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
        run!(conn)
    } else {
        let mut conn = sqlx::SqliteConnection::connect(&db.url)
            .await
            .expect("connect");
        run!(conn)
    }
}

/// Every text column of every table, as `table.column`.
async fn text_columns(db: &TestDb) -> Vec<(String, String)> {
    if db.label == "postgres" {
        texts(
            db,
            "SELECT table_name || '.' || column_name FROM information_schema.columns \
             WHERE table_schema = 'public' AND data_type IN ('text', 'character varying')",
        )
        .await
    } else {
        texts(
            db,
            "SELECT m.name || '.' || c.name FROM sqlite_master m, pragma_table_info(m.name) c \
             WHERE m.type = 'table' AND upper(c.type) IN ('TEXT', '')",
        )
        .await
    }
    .into_iter()
    .map(|both| {
        let (table, column) = both.split_once('.').expect("table.column");
        (table.to_owned(), column.to_owned())
    })
    .collect()
}

/// The tables and columns where `needle` appears anywhere in a text value.
async fn where_is(db: &TestDb, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (table, column) in text_columns(db).await {
        let hits = texts(
            db,
            &format!(
                "SELECT CAST(COUNT(*) AS TEXT) FROM \"{table}\" WHERE \"{column}\" LIKE '%{needle}%'"
            ),
        )
        .await;
        if hits[0] != "0" {
            found.push(format!("{table}.{column}"));
        }
    }
    found
}

/// A 2201 of `psn_no` at the clinic opened with e-voucher token `token`; the visit's id.
async fn visit_by_token(db: &TestDb, msgid: &str, psn_no: &str, token: &str) -> String {
    let cmd = match registration_cmd(psn_no, "310", msgid) {
        Command::RegisterOutpatient(c) => Command::RegisterOutpatient(RegisterOutpatient {
            mdtrt_cert_type: "01".into(),
            mdtrt_cert_no: token.into(),
            ..c
        }),
        other => unreachable!("{other:?}"),
    };
    match fresh(exec(db, CLINIC, msgid, "2201", cmd).await.expect("2201")) {
        Outcome::VisitOpened { mdtrt_id, .. } => mdtrt_id,
        other => panic!("2201 gave {other:?}"),
    }
}

async fn stored_cert(db: &TestDb, mdtrt_id: &str) -> String {
    texts(
        db,
        &format!("SELECT mdtrt_cert_no FROM visit WHERE mdtrt_id = '{mdtrt_id}'"),
    )
    .await
    .remove(0)
}

fn rotated(store: &Store) -> Keyring {
    let mut keyring = (*store.keyring()).clone();
    keyring.rotate(VISIT_CERT_FAMILY).expect("rotate");
    keyring
}

async fn rewrap_all(db: &TestDb, rows_max: u32) -> (u32, RewrapProgress) {
    let mut total = RewrapProgress::default();
    let mut cursor = RewrapCursor::default();
    let mut batches = 0;
    for _ in 0..100 {
        if cursor.is_finished() {
            return (batches, total);
        }
        let progress = db
            .store
            .rewrap_batch(rows_max, 1_780_000_000_000, &mut cursor)
            .await
            .expect("rewrap");
        if !progress.is_empty() {
            batches += 1;
        }
        total.resealed += progress.resealed;
        total.tokens_indexed += progress.tokens_indexed;
    }
    panic!("[{}] rewrap never finished", db.label);
}

/// Issue 15 item 8: no e-voucher token is stored in clear anywhere, 1101 by token still finds
/// the person, and a visit opened with a token keeps it sealed to its row.
#[tokio::test]
async fn no_clear_token_is_in_the_database() {
    on_both(|db| async move {
        imported(&db).await;
        let found = db
            .store
            .person_info_by(&PersonKey::EcToken(TOKEN_P001.into()), now().date())
            .await
            .expect("1101 by token");
        assert_eq!(found.base.psn_no, "P001");
        let mdtrt_id = visit_by_token(&db, "SEAL-1", "P001", TOKEN_P001).await;
        for token in [TOKEN_P001, TOKEN_P002] {
            assert_eq!(
                where_is(&db, token).await,
                Vec::<String>::new(),
                "[{}]",
                db.label
            );
        }
        let indexes = texts(&db, "SELECT token_index FROM ec_token ORDER BY psn_no").await;
        assert_eq!(indexes.len(), 2);
        assert_eq!(
            indexes[0],
            sealing::token_index(&db.store.keyring(), TOKEN_P001)
        );
        let stored = stored_cert(&db, &mdtrt_id).await;
        assert!(stored.starts_with("v1:"), "[{}] {stored}", db.label);
        assert_eq!(
            sealing::open_field(&db.store.keyring(), &VISIT_CERT, &mdtrt_id, &stored).unwrap(),
            TOKEN_P001
        );
        // Under another key file the index finds nobody.
        let other = db
            .store
            .clone()
            .with_keyring(Keyring::generate(&sealing::families()).unwrap());
        let err = other
            .person_info_by(&PersonKey::EcToken(TOKEN_P001.into()), now().date())
            .await
            .expect_err("another index key");
        assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
        db
    })
    .await;
}

/// Issue 15 item 8: seal → rotate → new writes use the new version and old rows still open →
/// rewrap in batches → no row under the old version → retire → every row still opens; a
/// ciphertext copied to another row does not open, and one under a retired version is named.
#[tokio::test]
async fn rotation_rewrap_and_retire_keep_every_value_open() {
    on_both(|mut db| async move {
        imported(&db).await;
        db.store = db
            .store
            .clone()
            .with_keyring(Keyring::generate(&sealing::families()).unwrap());
        let mut visits = Vec::new();
        for (n, psn_no) in ["P001", "P002", "P005"].into_iter().enumerate() {
            let token = format!("tok{n}");
            visits.push((
                visit_by_token(&db, &format!("R1-{n}"), psn_no, &token).await,
                token,
            ));
        }
        let old_value = stored_cert(&db, &visits[0].0).await;
        assert!(old_value.starts_with("v1:"));

        db.store = db.store.clone().with_keyring(rotated(&db.store));
        let new_visit = visit_by_token(&db, "R2", "P001", "tok-new").await;
        assert!(stored_cert(&db, &new_visit).await.starts_with("v2:"));
        visits.push((new_visit, "tok-new".into()));
        for (mdtrt_id, token) in &visits {
            let stored = stored_cert(&db, mdtrt_id).await;
            assert_eq!(
                sealing::open_field(&db.store.keyring(), &VISIT_CERT, mdtrt_id, &stored).unwrap(),
                *token,
                "[{}] {mdtrt_id}",
                db.label
            );
        }
        let status = db.store.keys_status().await.unwrap();
        assert_eq!(status.columns[0].by_version, vec![(1, 3), (2, 1)]);
        assert_eq!(status.rewrap_pending(&db.store.keyring()), 3);
        let refused = db
            .store
            .check_retire(VISIT_CERT_FAMILY, 1)
            .await
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "version: 3 values of visit.mdtrt_cert_no are still sealed under version 1 of \
             visit.mdtrt_cert_no: run `yibao keys rewrap` first"
        );

        // Batches of two rows: two batches, each its own transaction.
        let (batches, done) = rewrap_all(&db, 2).await;
        assert_eq!((batches, done.resealed, done.tokens_indexed), (2, 3, 0));
        let under_v1 = texts(
            &db,
            "SELECT CAST(COUNT(*) AS TEXT) FROM visit WHERE mdtrt_cert_no LIKE 'v1:%'",
        )
        .await;
        assert_eq!(under_v1, vec!["0"]);
        assert_eq!(
            rewrap_all(&db, 2).await.0,
            0,
            "a second rewrap has nothing to do"
        );
        // Each batch that did something left a leaf in the access log (spec §9.1).
        let leaves = texts(
            &db,
            "SELECT CAST(COUNT(*) AS TEXT) FROM access_log WHERE action = 'yibao keys rewrap'",
        )
        .await;
        assert_eq!(leaves, vec!["2"]);
        db.store.check_retire(VISIT_CERT_FAMILY, 1).await.unwrap();
        let mut keyring = (*db.store.keyring()).clone();
        keyring.retire(VISIT_CERT_FAMILY, 1).unwrap();
        db.store = db.store.clone().with_keyring(keyring);
        for (mdtrt_id, token) in &visits {
            let stored = stored_cert(&db, mdtrt_id).await;
            assert!(stored.starts_with("v2:"));
            assert_eq!(
                sealing::open_field(&db.store.keyring(), &VISIT_CERT, mdtrt_id, &stored).unwrap(),
                *token
            );
        }

        // A ciphertext copied to another row does not open there.
        let (a, b) = (&visits[0].0, &visits[1].0);
        let moved = stored_cert(&db, a).await;
        sql(
            &db,
            "UPDATE visit SET mdtrt_cert_no = $1 WHERE mdtrt_id = $2",
            &[&moved, b],
        )
        .await;
        let err = sealing::open_field(&db.store.keyring(), &VISIT_CERT, b, &moved).unwrap_err();
        assert!(
            err.to_string().contains("does not open under version 2"),
            "{err}"
        );

        // A value under the retired version is counted and stops a rewrap, naming it.
        sql(
            &db,
            "UPDATE visit SET mdtrt_cert_no = $1 WHERE mdtrt_id = $2",
            &[&old_value, a],
        )
        .await;
        let status = db.store.keys_status().await.unwrap();
        assert_eq!(status.columns[0].unknown_version, 1);
        let err = db
            .store
            .rewrap_batch(10, 1_780_000_000_000, &mut RewrapCursor::default())
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "visit.mdtrt_cert_no of {a}: sealed data: key version 1 of visit.mdtrt_cert_no \
                 is not in the key file (retired, or another key file)"
            )
        );
        assert!(db
            .store
            .rewrap_batch(0, 1_780_000_000_000, &mut RewrapCursor::default())
            .await
            .is_err());
        db
    })
    .await;
}

/// A database from before sealing: its clear tokens (moved to `ec_token_clear` by the
/// migration) still answer 1101, and its clear credentials are sealed, by one rewrap.
#[tokio::test]
async fn rewrap_indexes_clear_tokens_and_seals_clear_credentials() {
    on_both(|db| async move {
        imported(&db).await;
        sql(
            &db,
            "INSERT INTO ec_token_clear (ec_token, psn_no, begndate, enddate) VALUES ($1, 'P003', '2025-01-01', '')",
            &["legacy0token0legacy"],
        )
        .await;
        let mdtrt_id = register(&db, CLINIC, "OLD-1", "P003", "390").await;
        sql(&db, "UPDATE visit SET mdtrt_cert_no = 'legacy0cert' WHERE mdtrt_id = $1", &[&mdtrt_id]).await;
        let key = PersonKey::EcToken("legacy0token0legacy".into());
        let found = db.store.person_info_by(&key, now().date()).await.unwrap();
        assert_eq!(found.base.psn_no, "P003");
        let status = db.store.keys_status().await.unwrap();
        assert_eq!((status.ec_tokens_clear, status.columns[0].clear), (1, 1));

        let (_, done) = rewrap_all(&db, 100).await;
        assert_eq!((done.resealed, done.tokens_indexed), (1, 1));
        assert_eq!(where_is(&db, "legacy0").await, Vec::<String>::new(), "[{}]", db.label);
        let found = db.store.person_info_by(&key, now().date()).await.unwrap();
        assert_eq!(found.base.psn_no, "P003");
        let stored = stored_cert(&db, &mdtrt_id).await;
        assert_eq!(
            sealing::open_field(&db.store.keyring(), &VISIT_CERT, &mdtrt_id, &stored).unwrap(),
            "legacy0cert"
        );
        let status = db.store.keys_status().await.unwrap();
        assert_eq!(status.rewrap_pending(&db.store.keyring()), 0);
        db
    })
    .await;
}
