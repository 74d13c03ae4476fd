//! The batch layer (docs/BATCH.md): settled claims exported from the store as Parquet files that
//! any Parquet reader can use — one directory per table, Hive-style partitions by insured region
//! and settlement month, amounts as exact decimals in yuan, personal identifiers replaced by a
//! keyed pseudonym — written incrementally and atomically. Batch plans read these files, never
//! the live tables: the batch rules (`audit`) run as SQL on Apache DataFusion over them.

#![forbid(unsafe_code)]

pub mod arrays;
pub mod audit;
pub mod error;
pub mod export;
pub mod manifest;
pub mod pseudonym;

pub use audit::{
    run_batch, run_batch_in, BatchFinding, BatchOptions, BatchReport, BatchRule, RuleReport,
};
pub use error::BatchError;
pub use export::{
    check_export, export_parquet, ExportCheck, ExportOptions, ExportReport, TableReport,
};
pub use manifest::{Manifest, MANIFEST_FILE, SCHEMA_VERSION};
pub use pseudonym::PseudonymKey;
pub use yibao_store::export::{ExportPartition, ExportTable};
