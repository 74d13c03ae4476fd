//! From the store's cells to Arrow: each table's schema (text as UTF-8, whole numbers as
//! Int64, amounts as Decimal128 with the column's scale, identifiers as pseudonyms) and one
//! record batch per partition; and the digest of a partition's rows that tells whether it
//! changed since the last run.

use std::sync::Arc;

use arrow::array::{ArrayRef, Decimal128Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use yibao_store::export::{Cell, ColumnKind, ExportColumn, ExportTable};

use crate::error::BatchError;
use crate::pseudonym::PseudonymKey;

/// Decimal digits of every decimal column: decimal(16, scale).
pub const DECIMAL_PRECISION: u8 = 16;

/// The largest magnitude a decimal(16, s) holds, in its units.
const DECIMAL_UNITS_MAX: i128 = 10_i128.pow(DECIMAL_PRECISION as u32) - 1;

/// The Arrow type of a column.
pub fn data_type(kind: ColumnKind) -> DataType {
    match kind {
        ColumnKind::Text | ColumnKind::Identifier { .. } => DataType::Utf8,
        ColumnKind::Int => DataType::Int64,
        ColumnKind::Decimal { scale } => DataType::Decimal128(DECIMAL_PRECISION, scale as i8),
    }
}

/// The Arrow schema of a table's files (the partition keys are in the path, not the file).
pub fn schema(table: ExportTable) -> SchemaRef {
    let fields: Vec<Field> = table
        .columns()
        .iter()
        .map(|c| Field::new(&c.name, data_type(c.kind), c.nullable))
        .collect();
    Arc::new(Schema::new(fields))
}

/// One partition's rows as a record batch, identifiers replaced by their pseudonyms.
pub fn record_batch(
    table: ExportTable,
    rows: &[Vec<Cell>],
    key: &PseudonymKey,
) -> Result<RecordBatch, BatchError> {
    let columns = table.columns();
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.len());
    for (idx, column) in columns.iter().enumerate() {
        arrays.push(array(table, column, rows.iter().map(|r| &r[idx]), key)?);
    }
    RecordBatch::try_new(schema(table), arrays).map_err(|e| BatchError::Value {
        table: table.name(),
        column: String::new(),
        reason: e.to_string(),
    })
}

fn array<'a>(
    table: ExportTable,
    column: &ExportColumn,
    cells: impl Iterator<Item = &'a Cell>,
    key: &PseudonymKey,
) -> Result<ArrayRef, BatchError> {
    let wrong = |reason: &str| BatchError::Value {
        table: table.name(),
        column: column.name.clone(),
        reason: reason.to_owned(),
    };
    Ok(match column.kind {
        ColumnKind::Text | ColumnKind::Identifier { .. } => {
            let mut values: Vec<Option<String>> = Vec::new();
            for cell in cells {
                values.push(match cell {
                    Cell::Null => None,
                    Cell::Text(text) => Some(match column.kind {
                        ColumnKind::Identifier { domain } => key.pseudonym(domain, text),
                        _ => text.clone(),
                    }),
                    Cell::Int(_) => return Err(wrong("a number in a text column")),
                });
            }
            Arc::new(StringArray::from(values))
        }
        ColumnKind::Int => {
            let mut values: Vec<Option<i64>> = Vec::new();
            for cell in cells {
                values.push(match cell {
                    Cell::Null => None,
                    Cell::Int(v) => Some(*v),
                    Cell::Text(_) => return Err(wrong("text in a number column")),
                });
            }
            Arc::new(Int64Array::from(values))
        }
        ColumnKind::Decimal { scale } => {
            let mut values: Vec<Option<i128>> = Vec::new();
            for cell in cells {
                values.push(match cell {
                    Cell::Null => None,
                    Cell::Int(v) => {
                        let units = i128::from(*v);
                        if units.abs() > DECIMAL_UNITS_MAX {
                            return Err(wrong(&format!(
                                "{units} does not fit decimal({DECIMAL_PRECISION}, {scale})"
                            )));
                        }
                        Some(units)
                    }
                    Cell::Text(_) => return Err(wrong("text in a decimal column")),
                });
            }
            let array = Decimal128Array::from(values)
                .with_precision_and_scale(DECIMAL_PRECISION, scale as i8)
                .map_err(|e| wrong(&e.to_string()))?;
            Arc::new(array)
        }
    })
}

/// The SM3 digest (hex) of a partition's rows as the store gave them, with the table's name,
/// schema version and columns, so a change of rows or of the columns' definition changes it.
pub fn digest(table: ExportTable, schema_version: u32, rows: &[Vec<Cell>]) -> String {
    let mut bytes = Vec::new();
    let mut put = |tag: u8, data: &[u8]| {
        bytes.push(tag);
        bytes.extend_from_slice(&(data.len() as u64).to_le_bytes());
        bytes.extend_from_slice(data);
    };
    put(b'T', table.name().as_bytes());
    put(b'V', &schema_version.to_le_bytes());
    for column in table.columns() {
        put(
            b'C',
            format!("{}:{:?}:{}", column.name, column.kind, column.nullable).as_bytes(),
        );
    }
    for row in rows {
        put(b'R', &[]);
        for cell in row {
            match cell {
                Cell::Null => put(b'n', &[]),
                Cell::Text(text) => put(b's', text.as_bytes()),
                Cell::Int(v) => put(b'i', &v.to_le_bytes()),
            }
        }
    }
    yibao_gm::hash(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
