//! The export's manifest (`_manifest.json` at the top of the output directory): the format and
//! schema version of every table, the pseudonym key's public id, and each partition's file, row
//! count and digest. A run skips a partition whose digest is unchanged, and refuses a directory
//! written by another schema version or under another key. Written last, atomically.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::BatchError;

/// The manifest's file name in the output directory.
pub const MANIFEST_FILE: &str = "_manifest.json";

/// The manifest's `format`.
pub const FORMAT: &str = "yibao-claims-parquet";

/// The schema version this build writes for every table (a column added, removed, renamed or
/// retyped raises it). Also in each Parquet file's key-value metadata.
pub const SCHEMA_VERSION: u32 = 1;

/// The Parquet key-value metadata entry holding the schema version.
pub const SCHEMA_VERSION_KEY: &str = "yibao.schema_version";

/// The Parquet key-value metadata entry holding the table's name.
pub const TABLE_KEY: &str = "yibao.table";

/// The manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// The pseudonym key's public id ([`crate::PseudonymKey::key_id`]).
    pub pseudonym_key_id: String,
    /// Per table (by directory name).
    pub tables: BTreeMap<String, TableEntry>,
}

/// One table in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableEntry {
    /// The schema version its files were written with.
    pub schema_version: u32,
    /// Per partition (`admdvs=…/month=…`, or `` for a table that is not partitioned).
    pub partitions: BTreeMap<String, PartitionEntry>,
}

/// One written partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionEntry {
    /// The file, relative to the output directory.
    pub file: String,
    /// Rows in it.
    pub rows: u64,
    /// The digest of the store's rows it was written from.
    pub digest: String,
    /// The SM3 digest of the file's bytes (a file changed or cut short since is rewritten).
    pub file_sm3: String,
}

impl Manifest {
    /// An empty manifest for the key with public id `key_id`.
    pub fn new(key_id: String) -> Self {
        Manifest {
            format: FORMAT.to_owned(),
            pseudonym_key_id: key_id,
            tables: BTreeMap::new(),
        }
    }

    /// Reads the manifest of `dir`, `None` when there is none; refuses one of another format or
    /// with a table of another schema version, naming the file.
    pub fn read(dir: &Path) -> Result<Option<Manifest>, BatchError> {
        let path = dir.join(MANIFEST_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(BatchError::io(&path)(e)),
        };
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| BatchError::file(&path, format!("not a manifest of this export: {e}")))?;
        if manifest.format != FORMAT {
            return Err(BatchError::file(
                &path,
                format!("format is `{}`, not `{FORMAT}`", manifest.format),
            ));
        }
        for (table, entry) in &manifest.tables {
            if entry.schema_version != SCHEMA_VERSION {
                return Err(BatchError::file(
                    &path,
                    format!(
                        "table {table} has schema version {}, this build reads and writes {}; \
                         export into a new directory",
                        entry.schema_version, SCHEMA_VERSION
                    ),
                ));
            }
        }
        Ok(Some(manifest))
    }

    /// The manifest's text (stable: the same manifest always gives the same bytes).
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a manifest serializes");
        text.push('\n');
        text
    }
}
