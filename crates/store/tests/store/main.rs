//! Store tests; each runs on a fresh SQLite database and on a fresh PostgreSQL database.

mod batch_findings;
#[path = "../common/mod.rs"]
mod common;
mod contributions;
mod funds;
mod grants;
mod group_commit;
mod idempotency;
mod import;
mod inpatient;
mod inventory;
mod issue10;
mod maternity_allowance;
mod outbox;
mod outpatient;
mod review;
mod safebox;
mod sealing;
mod setl_list_status;
mod staff_access;
mod tax;
