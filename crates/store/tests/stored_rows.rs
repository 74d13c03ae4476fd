//! Issue 11 (item 5): a stored row that does not read is an error, never a silent default — a
//! settlement whose time was damaged is not shown as settled in 1970.

mod common;

use common::*;
use sqlx::Connection;
use yibao_store::*;

#[tokio::test]
async fn issue11_a_damaged_stored_time_is_an_error_not_1970() {
    on_both(|db| async move {
        imported(&db).await;
        let s = settle_one(
            &db,
            CLINIC,
            "D",
            ("P003", "390"),
            ("11", ""),
            ("X-DRUG-A", 100),
        )
        .await
        .expect("2207");
        let read = db
            .store
            .query_settlement(CLINIC, "P003", &s.setl_id)
            .await
            .expect("5203 reads the settlement");
        assert_eq!(read.setl_time, s.setl_time, "{}", db.label);
        let damage = "UPDATE settlement SET setl_time = 'yesterday'";
        if db.label == "sqlite" {
            let mut conn = sqlx::SqliteConnection::connect(&db.url)
                .await
                .expect("sqlite");
            sqlx::query(damage)
                .execute(&mut conn)
                .await
                .expect("damage");
        } else {
            let mut conn = sqlx::PgConnection::connect(&db.url)
                .await
                .expect("postgres");
            sqlx::query(damage)
                .execute(&mut conn)
                .await
                .expect("damage");
        }
        let error = db
            .store
            .query_settlement(CLINIC, "P003", &s.setl_id)
            .await
            .expect_err("a damaged time does not read");
        assert!(
            matches!(&error, StoreError::Invariant(reason) if reason.contains("yesterday")),
            "{}: {error:?}",
            db.label
        );
        db
    })
    .await;
}
