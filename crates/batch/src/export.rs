//! `export_parquet`: the store's settled claims and pharmacy inventory written as Parquet under
//! one output directory, `TABLE/admdvs=<insured region>/month=YYYY-MM/part-0.parquet` for the
//! claim tables, `TABLE/admdvs=<institution region>/month=YYYY-MM/part-0.parquet` (the month the
//! stock moved) for the inventory tables and `TABLE/part-0.parquet` for institutions and persons. A partition whose rows are unchanged
//! since the manifest was written is not touched; a changed one is written to a temporary file
//! beside its place and renamed over it; the manifest is written last, the same way, and only
//! when it changed. `check_export` is the reader's side: every file listed, present and of this
//! schema version.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use yibao_store::export::{parse_month, Cell, ExportPartition, ExportTable, PartitionScheme};
use yibao_store::Store;

use crate::arrays;
use crate::error::BatchError;
use crate::manifest::{
    Manifest, PartitionEntry, TableEntry, MANIFEST_FILE, SCHEMA_VERSION, SCHEMA_VERSION_KEY,
    TABLE_KEY,
};
use crate::pseudonym::PseudonymKey;

/// The name of each partition's file.
pub const PART_FILE: &str = "part-0.parquet";

/// What to export, and where.
#[derive(Debug, Clone, Copy)]
pub struct ExportOptions<'a> {
    /// The output directory (created when missing).
    pub out: &'a Path,
    /// The pseudonym key.
    pub key: &'a PseudonymKey,
    /// Only this insured region's partitions, when given.
    pub admdvs: Option<&'a str>,
    /// Only this month's partitions (`YYYY-MM`), when given.
    pub month: Option<&'a str>,
}

/// What a run did to one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableReport {
    /// The table's directory name.
    pub table: &'static str,
    /// Partitions written (new or changed).
    pub written: u64,
    /// Partitions left as they were.
    pub unchanged: u64,
    /// Rows in the partitions this run looked at.
    pub rows: u64,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// Per table, in [`ExportTable::ALL`]'s order.
    pub tables: Vec<TableReport>,
    /// Whether the manifest was (re)written.
    pub manifest_written: bool,
}

/// A partition's key in the manifest and its directory under the table's.
fn partition_key(partition: Option<&ExportPartition>) -> String {
    match partition {
        Some(p) => format!("admdvs={}/month={}", p.admdvs, p.month),
        None => String::new(),
    }
}

/// A partition's file, relative to the output directory.
fn partition_file(table: ExportTable, partition: Option<&ExportPartition>) -> String {
    match partition {
        Some(_) => format!("{}/{}/{PART_FILE}", table.name(), partition_key(partition)),
        None => format!("{}/{PART_FILE}", table.name()),
    }
}

/// Refuses a region code that would not make a plain directory name.
fn check_admdvs(admdvs: &str) -> Result<(), BatchError> {
    if admdvs.is_empty() || !admdvs.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(BatchError::bad(
            "region",
            format!("`{admdvs}` is not a region code (letters and digits)"),
        ));
    }
    Ok(())
}

/// Exports the store's settled claims and inventory into `options.out` (see the module docs); `progress` is
/// told of each table's progress.
pub async fn export_parquet(
    store: &Store,
    options: &ExportOptions<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<ExportReport, BatchError> {
    if let Some(admdvs) = options.admdvs {
        check_admdvs(admdvs)?;
    }
    if let Some(month) = options.month {
        parse_month("month", month)?;
    }
    let out = options.out;
    std::fs::create_dir_all(out).map_err(BatchError::io(out))?;
    let key_id = options.key.key_id();
    let previous = Manifest::read(out)?;
    if let Some(previous) = &previous {
        if previous.pseudonym_key_id != key_id {
            return Err(BatchError::file(
                out.join(MANIFEST_FILE),
                format!(
                    "written under pseudonym key {}, not the key given ({key_id}); an export \
                     keeps one key",
                    previous.pseudonym_key_id
                ),
            ));
        }
    }
    let mut manifest = previous.clone().unwrap_or_else(|| Manifest::new(key_id));
    // Each partitioning's partitions, read once and checked to make paths.
    let mut partitions_of: BTreeMap<PartitionScheme, Vec<ExportPartition>> = BTreeMap::new();
    for table in ExportTable::ALL {
        let scheme = table.scheme();
        if scheme == PartitionScheme::Whole || partitions_of.contains_key(&scheme) {
            continue;
        }
        let partitions = store
            .export_partitions_of(table, options.admdvs, options.month)
            .await?;
        for partition in &partitions {
            check_admdvs(&partition.admdvs)
                .and_then(|()| parse_month("month", &partition.month).map_err(BatchError::from))
                .map_err(|e| BatchError::Value {
                    table: table.name(),
                    column: match scheme {
                        PartitionScheme::Inventory => "admdvs, happened_at".into(),
                        _ => "insuplc_admdvs, setl_date".into(),
                    },
                    reason: format!("a stored partition does not make a path: {e}"),
                })?;
        }
        partitions_of.insert(scheme, partitions);
    }
    let mut report = ExportReport::default();
    for table in ExportTable::ALL {
        let entry = manifest
            .tables
            .entry(table.name().to_owned())
            .or_insert_with(|| TableEntry {
                schema_version: SCHEMA_VERSION,
                partitions: BTreeMap::new(),
            });
        let mut table_report = TableReport {
            table: table.name(),
            ..TableReport::default()
        };
        let targets: Vec<Option<&ExportPartition>> = match partitions_of.get(&table.scheme()) {
            Some(partitions) => partitions.iter().map(Some).collect(),
            None => vec![None],
        };
        // The table's directory exists even before its first partition, so a reader can
        // register every table of the export.
        let table_dir = out.join(table.name());
        std::fs::create_dir_all(&table_dir).map_err(BatchError::io(&table_dir))?;
        let n_targets = targets.len();
        for (idx, partition) in targets.into_iter().enumerate() {
            let mut rows = store.export_rows(table, partition).await?;
            let digest = arrays::digest(table, SCHEMA_VERSION, &rows);
            if table == ExportTable::Persons {
                // The store gives persons in person-number order; in pseudonym order the rows'
                // positions say nothing about the numbers.
                let at = table
                    .columns()
                    .iter()
                    .position(|c| c.name == "psn_pseudonym")
                    .expect("persons have a psn_pseudonym column");
                rows.sort_by_cached_key(|row| match &row[at] {
                    Cell::Text(psn_no) => options.key.pseudonym("psn_no", psn_no),
                    _ => String::new(),
                });
            }
            let key = partition_key(partition);
            let file = partition_file(table, partition);
            table_report.rows += rows.len() as u64;
            // Unchanged: the same rows, and the file still the one written for them.
            let unchanged = entry.partitions.get(&key).is_some_and(|held| {
                held.digest == digest
                    && held.file == file
                    && file_sm3(&out.join(&file)).as_deref() == Some(held.file_sm3.as_str())
            });
            if unchanged {
                table_report.unchanged += 1;
            } else {
                let batch = arrays::record_batch(table, &rows, options.key)?;
                let file_sm3 = write_parquet(&out.join(&file), table, &batch)?;
                entry.partitions.insert(
                    key,
                    PartitionEntry {
                        file,
                        rows: rows.len() as u64,
                        digest,
                        file_sm3,
                    },
                );
                table_report.written += 1;
            }
            progress(&format!(
                "{}: {}/{} partitions ({} rows)",
                table.name(),
                idx + 1,
                n_targets,
                table_report.rows
            ));
        }
        report.tables.push(table_report);
    }
    if previous.as_ref() != Some(&manifest) {
        write_atomically(&out.join(MANIFEST_FILE), manifest.to_text().as_bytes())?;
        report.manifest_written = true;
    }
    Ok(report)
}

/// The temporary name a file is written under before it is renamed to `path`: hidden, in the
/// same directory (so the rename is atomic) and named after the process.
fn temporary_of(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Renames the finished temporary file over `path`, or removes it when writing failed.
fn finish_temporary(
    temporary: &Path,
    path: &Path,
    written: Result<(), BatchError>,
) -> Result<(), BatchError> {
    match written {
        Ok(()) => std::fs::rename(temporary, path).map_err(BatchError::io(path)),
        Err(e) => {
            let _ = std::fs::remove_file(temporary);
            Err(e)
        }
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), BatchError> {
    let temporary = temporary_of(path);
    let written = std::fs::File::create(&temporary)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .map_err(BatchError::io(&temporary));
    finish_temporary(&temporary, path, written)
}

/// Writes one partition's file atomically; the SM3 digest (hex) of its bytes.
fn write_parquet(
    path: &Path,
    table: ExportTable,
    batch: &arrow::record_batch::RecordBatch,
) -> Result<String, BatchError> {
    let dir = path.parent().expect("a partition file has a directory");
    std::fs::create_dir_all(dir).map_err(BatchError::io(dir))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_key_value_metadata(Some(vec![
            KeyValue::new(SCHEMA_VERSION_KEY.to_owned(), SCHEMA_VERSION.to_string()),
            KeyValue::new(TABLE_KEY.to_owned(), table.name().to_owned()),
        ]))
        .build();
    let parquet_error =
        |e: parquet::errors::ParquetError| BatchError::file(path, format!("writing Parquet: {e}"));
    let mut writer =
        ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props)).map_err(parquet_error)?;
    writer.write(batch).map_err(parquet_error)?;
    let bytes = writer.into_inner().map_err(parquet_error)?;
    write_atomically(path, &bytes)?;
    Ok(sm3_hex(&bytes))
}

fn sm3_hex(bytes: &[u8]) -> String {
    yibao_gm::hash(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The SM3 digest (hex) of the file at `path`, `None` when it cannot be read.
fn file_sm3(path: &Path) -> Option<String> {
    std::fs::read(path).ok().map(|bytes| sm3_hex(&bytes))
}

/// What [`check_export`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportCheck {
    /// Files checked.
    pub files: u64,
    /// Rows they hold, as their footers say.
    pub rows: u64,
}

/// Checks an export for a reader: the manifest is of this schema version, and every file it
/// lists exists, is Parquet, says it is of this schema version and table, and holds the rows the
/// manifest counts. The first problem is an error naming the file.
pub fn check_export(out: &Path) -> Result<ExportCheck, BatchError> {
    let manifest = Manifest::read(out)?
        .ok_or_else(|| BatchError::file(out.join(MANIFEST_FILE), "no manifest: not an export"))?;
    let mut check = ExportCheck { files: 0, rows: 0 };
    for (table, entry) in &manifest.tables {
        for (key, partition) in &entry.partitions {
            let path = out.join(&partition.file);
            let bytes = std::fs::read(&path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    BatchError::file(
                        &path,
                        format!("partition {table}/{key} is missing (listed in the manifest)"),
                    )
                } else {
                    BatchError::io(&path)(e)
                }
            })?;
            let file = std::fs::File::open(&path).map_err(BatchError::io(&path))?;
            let reader = SerializedFileReader::new(file)
                .map_err(|e| BatchError::file(&path, format!("not a Parquet file: {e}")))?;
            let meta = reader.metadata().file_metadata();
            let value_of = |wanted: &str| {
                meta.key_value_metadata()
                    .and_then(|kvs| kvs.iter().find(|kv| kv.key == wanted))
                    .and_then(|kv| kv.value.clone())
            };
            let version = value_of(SCHEMA_VERSION_KEY);
            if version.as_deref() != Some(SCHEMA_VERSION.to_string().as_str()) {
                return Err(BatchError::file(
                    &path,
                    format!(
                        "schema version {}, this build reads {SCHEMA_VERSION}",
                        version.as_deref().unwrap_or("(none)")
                    ),
                ));
            }
            if value_of(TABLE_KEY).as_deref() != Some(table.as_str()) {
                return Err(BatchError::file(
                    &path,
                    format!("not a file of table {table}"),
                ));
            }
            let rows = u64::try_from(meta.num_rows()).unwrap_or(0);
            if rows != partition.rows {
                return Err(BatchError::file(
                    &path,
                    format!("{rows} rows, the manifest says {}", partition.rows),
                ));
            }
            if sm3_hex(&bytes) != partition.file_sm3 {
                return Err(BatchError::file(
                    &path,
                    "its bytes are not those the manifest records (changed or half-written)",
                ));
            }
            check.files += 1;
            check.rows += rows;
        }
    }
    Ok(check)
}
