//! A synthetic export for the models' tests: rows given column by column (the others take their
//! kind's empty value), written as the export writes them — one Parquet file per table and
//! partition with the schema-version and table metadata, and a manifest with each file's row
//! count, row digest and SM3 — so `check_export` and `run_batch` read it like a real one. The
//! peer models need many institutions and persons, more than planting through the store's
//! commands can give a test in seconds.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use yibao_batch::manifest::{PartitionEntry, TableEntry, SCHEMA_VERSION_KEY, TABLE_KEY};
use yibao_batch::{arrays, Manifest, PseudonymKey, MANIFEST_FILE, SCHEMA_VERSION};
use yibao_store::export::{Cell, ColumnKind, ExportTable};

/// The synthetic export's region.
pub const REGION: &str = "140500";

/// A table's rows in one partition.
type Rows = (ExportTable, Vec<Vec<Cell>>);

/// Rows by table and partition key (`admdvs=…/month=…`, or `` for the dimension tables).
pub struct Synth {
    /// The pseudonym key the files are written with.
    pub key: PseudonymKey,
    rows: BTreeMap<(&'static str, String), Rows>,
}

/// A text cell.
pub fn t(value: &str) -> Cell {
    Cell::Text(value.to_owned())
}

/// A number cell (a count, or a decimal's units: fen, 1/10000 of a unit …).
pub fn n(value: i64) -> Cell {
    Cell::Int(value)
}

impl Synth {
    /// An empty export under a fixed key.
    pub fn new() -> Self {
        Synth {
            key: PseudonymKey::from_bytes([7; 32]),
            rows: BTreeMap::new(),
        }
    }

    /// A person's pseudonym as the files hold it.
    pub fn psn(&self, psn_no: &str) -> String {
        self.key.pseudonym("psn_no", psn_no)
    }

    /// Adds one row; `month` (`YYYY-MM`) picks the partition of a claim table.
    pub fn add(&mut self, table: ExportTable, month: Option<&str>, values: &[(&str, Cell)]) {
        let columns = table.columns();
        for (name, _) in values {
            assert!(
                columns.iter().any(|c| c.name == *name),
                "{} has no column {name}",
                table.name()
            );
        }
        let row: Vec<Cell> = columns
            .iter()
            .map(|c| match values.iter().find(|(name, _)| *name == c.name) {
                Some((_, cell)) => cell.clone(),
                None if c.nullable => Cell::Null,
                None => match c.kind {
                    ColumnKind::Text | ColumnKind::Identifier { .. } => Cell::Text(String::new()),
                    ColumnKind::Int | ColumnKind::Decimal { .. } => Cell::Int(0),
                },
            })
            .collect();
        let key = match (table.partitioned(), month) {
            (true, Some(month)) => format!("admdvs={REGION}/month={month}"),
            (false, None) => String::new(),
            _ => panic!("{}: a month for the claim tables only", table.name()),
        };
        self.rows
            .entry((table.name(), key))
            .or_insert_with(|| (table, Vec::new()))
            .1
            .push(row);
    }

    /// Writes the export into `dir`: every claim table in every partition any of them has (an
    /// empty file where a table has no rows), each dimension table once.
    pub fn write(&self, dir: &Path) {
        let mut keys: Vec<String> = self
            .rows
            .keys()
            .filter(|(_, key)| !key.is_empty())
            .map(|(_, key)| key.clone())
            .collect();
        keys.sort();
        keys.dedup();
        let mut manifest = Manifest::new(self.key.key_id());
        for table in ExportTable::ALL {
            let targets: Vec<String> = if table.partitioned() {
                keys.clone()
            } else {
                vec![String::new()]
            };
            let entry = manifest
                .tables
                .entry(table.name().to_owned())
                .or_insert_with(|| TableEntry {
                    schema_version: SCHEMA_VERSION,
                    partitions: BTreeMap::new(),
                });
            for key in targets {
                let rows: &[Vec<Cell>] = self
                    .rows
                    .get(&(table.name(), key.clone()))
                    .map_or(&[], |(_, rows)| rows.as_slice());
                let file = if key.is_empty() {
                    format!("{}/part-0.parquet", table.name())
                } else {
                    format!("{}/{key}/part-0.parquet", table.name())
                };
                let batch = arrays::record_batch(table, rows, &self.key).expect("record batch");
                let props = WriterProperties::builder()
                    .set_key_value_metadata(Some(vec![
                        KeyValue::new(SCHEMA_VERSION_KEY.to_owned(), SCHEMA_VERSION.to_string()),
                        KeyValue::new(TABLE_KEY.to_owned(), table.name().to_owned()),
                    ]))
                    .build();
                let mut writer =
                    ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props)).expect("writer");
                writer.write(&batch).expect("write");
                let bytes = writer.into_inner().expect("finish");
                let path = dir.join(&file);
                std::fs::create_dir_all(path.parent().expect("a directory")).expect("mkdir");
                std::fs::write(&path, &bytes).expect("write file");
                let file_sm3: String = yibao_gm::hash(&bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                entry.partitions.insert(
                    key,
                    PartitionEntry {
                        file,
                        rows: rows.len() as u64,
                        digest: arrays::digest(table, SCHEMA_VERSION, rows),
                        file_sm3,
                    },
                );
            }
        }
        std::fs::write(dir.join(MANIFEST_FILE), manifest.to_text()).expect("manifest");
    }
}
