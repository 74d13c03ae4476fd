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
        let mdtrt_id = register(&db, CLINIC, "D-2201", "P003", "390").await;
        fresh(
            exec(
                &db,
                CLINIC,
                "D-2203",
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
                "D-2204",
                "2204",
                Command::UploadFees(UploadFees {
                    lines: spec_lines(&mdtrt_id, "P003"),
                }),
            )
            .await
            .expect("2204"),
        );
        let s = settled(fresh(
            exec(
                &db,
                CLINIC,
                "D-2207",
                "2207",
                settle_cmd(false, &mdtrt_id, "P003", "390", 410_000, "0"),
            )
            .await
            .expect("2207"),
        ));
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
