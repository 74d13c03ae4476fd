//! The files of the detail reconciliation (spec §1.3, §4.14): a ZIP of tab-separated UTF-8 text,
//! empty values written `null`. [`read_detail_zip`] reads an institution's upload (columns 表150)
//! with limits on everything a hostile file could inflate (entries, bytes after decompression,
//! lines, line length); [`write_result_zip`] writes our answer (columns 表151).
//!
//! Every refusal names the entry, the line and the column, and nothing is written: the caller
//! reads the whole file before touching the database.

use std::io::{Read as _, Write as _};

use yibao_store::clearing::{DetailResult, DetailRow};

use crate::wire::scalar::{format_decimal, parse_decimal, truncate};

/// Entries (files) in one uploaded ZIP: a detail file is one TXT; a few leave room for a
/// client that splits by scheme.
pub const ZIP_ENTRIES_MAX: usize = 16;

/// Bytes of all entries after decompression: 200,000 rows of about 150 bytes is 30 MB; 64 MiB
/// bounds a zip bomb's memory however it is built.
pub const ZIP_UNCOMPRESSED_BYTES_MAX: u64 = 64 << 20;

/// Rows in one detail file: the store's bound on the settlements one 3202 reads.
pub const DETAIL_ROWS_MAX: usize = 200_000;

/// Characters of one line: seven fields of at most 30 characters and tabs fit in far less.
pub const DETAIL_LINE_CHARS_MAX: usize = 1_000;

/// 表150's columns, in file order.
pub const DETAIL_COLUMNS: [&str; 7] = [
    "setl_id",
    "mdtrt_id",
    "psn_no",
    "medfee_sumamt",
    "fund_pay_sumamt",
    "acct_pay",
    "refd_setl_flag",
];

/// 表151's columns, in file order.
pub const RESULT_COLUMNS: [&str; 10] = [
    "psn_no",
    "mdtrt_id",
    "setl_id",
    "msgid",
    "stmt_rslt",
    "refd_setl_flag",
    "memo",
    "medfee_sumamt",
    "fund_pay_sumamt",
    "acct_pay",
];

/// Longest id in a detail row (C 30).
const ID_CHARS_MAX: usize = 30;

/// Why a detail file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// Not a ZIP, or one the reader cannot open (encrypted, unsupported compression).
    #[error("not a readable ZIP: {0}")]
    Zip(String),
    /// Over a limit (entries, bytes, rows).
    #[error("{0}")]
    TooLarge(String),
    /// A line that does not read, naming where.
    #[error("{entry} line {line}{}: {reason}", column.map(|c| format!(" column {c}")).unwrap_or_default())]
    Line {
        /// The entry's name in the ZIP.
        entry: String,
        /// The line, counted from 1.
        line: usize,
        /// The column, when one is at fault.
        column: Option<&'static str>,
        /// What is wrong.
        reason: String,
    },
}

/// Reads an uploaded detail ZIP: every file entry's lines, in entry order.
pub fn read_detail_zip(bytes: &[u8]) -> Result<Vec<DetailRow>, FileError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|err| FileError::Zip(err.to_string()))?;
    if archive.len() > ZIP_ENTRIES_MAX {
        return Err(FileError::TooLarge(format!(
            "the ZIP has {} entries, more than {ZIP_ENTRIES_MAX}",
            archive.len()
        )));
    }
    let mut budget = ZIP_UNCOMPRESSED_BYTES_MAX;
    let mut rows = Vec::new();
    let mut n_files = 0;
    for idx in 0..archive.len() {
        let mut entry = archive
            .by_index(idx)
            .map_err(|err| FileError::Zip(err.to_string()))?;
        if entry.is_dir() {
            continue;
        }
        n_files += 1;
        let name = truncate(entry.name(), 100).to_owned();
        // The declared size may lie: read at most one byte past what is left of the budget.
        let mut content = Vec::new();
        (&mut entry)
            .take(budget + 1)
            .read_to_end(&mut content)
            .map_err(|err| FileError::Zip(format!("{name}: {err}")))?;
        if content.len() as u64 > budget {
            return Err(FileError::TooLarge(format!(
                "the ZIP unpacks to more than {ZIP_UNCOMPRESSED_BYTES_MAX} bytes"
            )));
        }
        budget -= content.len() as u64;
        let text = std::str::from_utf8(&content).map_err(|err| {
            let line = content[..err.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            FileError::Line {
                entry: name.clone(),
                line,
                column: None,
                reason: "is not UTF-8 text".to_owned(),
            }
        })?;
        parse_detail_text(&name, text, &mut rows)?;
    }
    if n_files == 0 {
        return Err(FileError::Zip("the ZIP holds no file".to_owned()));
    }
    Ok(rows)
}

/// Parses one TXT of 表150 rows into `rows`: tab-separated, `\n` or `\r\n` line ends, `null` or
/// nothing for an empty value (an empty amount is zero), an optional first line naming the columns, blank lines ignored.
pub fn parse_detail_text(
    entry: &str,
    text: &str,
    rows: &mut Vec<DetailRow>,
) -> Result<(), FileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (idx, line) in text.split('\n').enumerate() {
        let line_no = idx + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let at = |column: Option<&'static str>, reason: String| FileError::Line {
            entry: entry.to_owned(),
            line: line_no,
            column,
            reason,
        };
        if line.chars().count() > DETAIL_LINE_CHARS_MAX {
            return Err(at(
                None,
                format!("longer than {DETAIL_LINE_CHARS_MAX} characters"),
            ));
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != DETAIL_COLUMNS.len() {
            return Err(at(
                None,
                format!(
                    "has {} columns, 表150 has {} ({})",
                    fields.len(),
                    DETAIL_COLUMNS.len(),
                    DETAIL_COLUMNS.join(", ")
                ),
            ));
        }
        if idx == 0 && fields == DETAIL_COLUMNS {
            continue;
        }
        if rows.len() >= DETAIL_ROWS_MAX {
            return Err(FileError::TooLarge(format!(
                "more than {DETAIL_ROWS_MAX} rows"
            )));
        }
        let value = |col: usize| -> Option<&str> {
            let field = fields[col].trim();
            (!field.is_empty() && !field.eq_ignore_ascii_case("null")).then_some(field)
        };
        let id = |col: usize| -> Result<String, FileError> {
            let name = DETAIL_COLUMNS[col];
            let text = value(col).ok_or_else(|| at(Some(name), "is required".to_owned()))?;
            if text.chars().count() > ID_CHARS_MAX {
                return Err(at(
                    Some(name),
                    format!("longer than {ID_CHARS_MAX} characters"),
                ));
            }
            Ok(text.to_owned())
        };
        let amount = |col: usize| -> Result<i64, FileError> {
            let name = DETAIL_COLUMNS[col];
            // An empty amount (`null`) is zero: files write `null` for an account never used.
            let Some(text) = value(col) else {
                return Ok(0);
            };
            let fen = parse_decimal(text, 2).map_err(|reason| at(Some(name), reason))?;
            if fen.unsigned_abs() > crate::limits::AMOUNT_FEN_MAX as u64 {
                return Err(at(Some(name), format!("`{text}` is out of range")));
            }
            Ok(fen)
        };
        let refd_setl_flag = match value(6) {
            Some("0") => "0",
            Some("1") => "1",
            Some(other) => {
                return Err(at(
                    Some("refd_setl_flag"),
                    format!("`{}` is not 0 or 1", truncate(other, 10)),
                ))
            }
            None => return Err(at(Some("refd_setl_flag"), "is required".to_owned())),
        };
        rows.push(DetailRow {
            setl_id: id(0)?,
            mdtrt_id: id(1)?,
            psn_no: id(2)?,
            medfee_sumamt_fen: amount(3)?,
            fund_pay_sumamt_fen: amount(4)?,
            acct_pay_fen: amount(5)?,
            refd_setl_flag: refd_setl_flag.to_owned(),
            msgid: String::new(),
        });
    }
    Ok(())
}

/// The TXT of a 3202 result (表151 columns, no header line, `null` for empty values).
pub fn result_text(results: &[DetailResult]) -> String {
    let mut out = String::with_capacity(results.len() * 120);
    for result in results {
        let row = &result.row;
        let fields = [
            row.psn_no.clone(),
            row.mdtrt_id.clone(),
            row.setl_id.clone(),
            row.msgid.clone(),
            if result.balanced { "0" } else { "1" }.to_owned(),
            row.refd_setl_flag.clone(),
            result.memo.clone(),
            format_decimal(row.medfee_sumamt_fen, 2),
            format_decimal(row.fund_pay_sumamt_fen, 2),
            format_decimal(row.acct_pay_fen, 2),
        ];
        for (idx, field) in fields.iter().enumerate() {
            if idx > 0 {
                out.push('\t');
            }
            // Values never hold a tab or a line end: ids were split on them, memos are ours.
            if field.is_empty() {
                out.push_str("null");
            } else {
                out.push_str(field);
            }
        }
        out.push('\n');
    }
    out
}

/// A ZIP of one deflated entry `entry_name` holding `text`.
pub fn zip_one(entry_name: &str, text: &str) -> Result<Vec<u8>, zip::result::ZipError> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    writer.start_file(entry_name, options)?;
    writer.write_all(text.as_bytes())?;
    Ok(writer.finish()?.into_inner())
}

/// The result ZIP of a 3202: one TXT named after the upload it answers.
pub fn write_result_zip(
    entry_name: &str,
    results: &[DetailResult],
) -> Result<Vec<u8>, zip::result::ZipError> {
    zip_one(entry_name, &result_text(results))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> Result<Vec<DetailRow>, FileError> {
        let mut rows = Vec::new();
        parse_detail_text("d.txt", text, &mut rows).map(|()| rows)
    }

    #[test]
    fn reads_rows_header_and_nulls() {
        let text = "setl_id\tmdtrt_id\tpsn_no\tmedfee_sumamt\tfund_pay_sumamt\tacct_pay\trefd_setl_flag\r\n\
                    S1\tM1\tP1\t100.50\t80\tnull\t0\r\n\
                    S1\tM1\tP1\t-100.50\t-80.00\t0\t1\n\n";
        let rows = parse(text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].medfee_sumamt_fen, 10_050);
        assert_eq!(rows[0].acct_pay_fen, 0);
        assert_eq!(rows[1].fund_pay_sumamt_fen, -8_000);
        assert_eq!(rows[1].refd_setl_flag, "1");
    }

    #[test]
    fn refusals_name_line_and_column() {
        let cases = [
            ("S1\tM1\tP1\t1\t1\t0\n", "d.txt line 1: has 6 columns"),
            (
                "S1\tM1\tP1\t1\t1\t0\t0\nS2\tM2\tP2\tabc\t1\t0\t0\n",
                "d.txt line 2 column medfee_sumamt: `abc` is not a decimal number",
            ),
            (
                "S1\tM1\tP1\t1.234\t1\t0\t0\n",
                "d.txt line 1 column medfee_sumamt: `1.234` has more than 2 decimal places",
            ),
            (
                "S1\tM1\tP1\t1\t1\t0\t2\n",
                "d.txt line 1 column refd_setl_flag: `2` is not 0 or 1",
            ),
            (
                "null\tM1\tP1\t1\t1\t0\t0\n",
                "d.txt line 1 column setl_id: is required",
            ),
            (
                "S1\tM1\tP1\t99999999999.00\t1\t0\t0\n",
                "d.txt line 1 column medfee_sumamt: `99999999999.00` is out of range",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn zip_round_trip_and_hostile_archives() {
        let text = "S1\tM1\tP1\t1.00\t0.50\t0\t0\n";
        let rows = read_detail_zip(&zip_one("a.txt", text).unwrap()).unwrap();
        assert_eq!(rows.len(), 1);
        assert!(matches!(
            read_detail_zip(b"not a zip"),
            Err(FileError::Zip(_))
        ));
        // Bad UTF-8 names its line.
        let mut bad = b"S1\tM1\tP1\t1\t1\t0\t0\nS2\tM\xff".to_vec();
        bad.extend_from_slice(b"\tP\t1\t1\t0\t0\n");
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        writer
            .start_file("b.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(&bad).unwrap();
        let bytes = writer.finish().unwrap().into_inner();
        assert_eq!(
            read_detail_zip(&bytes).unwrap_err().to_string(),
            "b.txt line 2: is not UTF-8 text"
        );
        // Too many entries.
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for idx in 0..=ZIP_ENTRIES_MAX {
            writer
                .start_file(
                    format!("{idx}.txt"),
                    zip::write::SimpleFileOptions::default(),
                )
                .unwrap();
        }
        let bytes = writer.finish().unwrap().into_inner();
        assert!(matches!(
            read_detail_zip(&bytes),
            Err(FileError::TooLarge(_))
        ));
    }

    #[test]
    fn a_zip_bomb_stops_at_the_budget() {
        // 65 MiB of zeros deflate to about 65 KB.
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        writer.start_file("bomb.txt", options).unwrap();
        let chunk = vec![b'0'; 1 << 20];
        for _ in 0..65 {
            writer.write_all(&chunk).unwrap();
        }
        let bytes = writer.finish().unwrap().into_inner();
        assert!(bytes.len() < 1 << 20, "{}", bytes.len());
        let err = read_detail_zip(&bytes).unwrap_err();
        assert!(matches!(err, FileError::TooLarge(_)), "{err}");
    }

    fn row_strategy() -> impl Strategy<Value = DetailRow> {
        (
            "[A-Za-z0-9]{1,30}",
            "[A-Za-z0-9]{1,30}",
            "[A-Za-z0-9]{1,30}",
            -1_000_000_000_i64..1_000_000_000,
            -1_000_000_000_i64..1_000_000_000,
            -1_000_000_000_i64..1_000_000_000,
            prop_oneof![Just("0"), Just("1")],
        )
            .prop_map(
                |(setl_id, mdtrt_id, psn_no, medfee, fund, acct, flag)| DetailRow {
                    setl_id,
                    mdtrt_id,
                    psn_no,
                    medfee_sumamt_fen: medfee,
                    fund_pay_sumamt_fen: fund,
                    acct_pay_fen: acct,
                    refd_setl_flag: flag.to_owned(),
                    msgid: String::new(),
                },
            )
    }

    fn detail_text(rows: &[DetailRow]) -> String {
        rows.iter()
            .map(|r| {
                format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                    r.setl_id,
                    r.mdtrt_id,
                    r.psn_no,
                    format_decimal(r.medfee_sumamt_fen, 2),
                    format_decimal(r.fund_pay_sumamt_fen, 2),
                    format_decimal(r.acct_pay_fen, 2),
                    r.refd_setl_flag
                )
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Written rows read back exactly, through a ZIP too.
        #[test]
        fn written_rows_read_back(rows in proptest::collection::vec(row_strategy(), 0..40)) {
            let text = detail_text(&rows);
            prop_assert_eq!(&parse(&text).unwrap(), &rows);
            if !rows.is_empty() {
                let zipped = zip_one("d.txt", &text).unwrap();
                prop_assert_eq!(&read_detail_zip(&zipped).unwrap(), &rows);
            }
        }

        /// Any text either parses or is refused with an error naming a line; it never panics.
        #[test]
        fn arbitrary_text_never_panics(text in "[\\PC\t\r\n]{0,400}") {
            match parse(&text) {
                Ok(rows) => prop_assert!(rows.len() <= text.lines().count()),
                Err(FileError::Line { line, .. }) => prop_assert!(line >= 1 && line <= text.split('\n').count()),
                Err(other) => prop_assert!(false, "unexpected {other}"),
            }
        }

        /// Any bytes either read as a ZIP or are refused; never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = read_detail_zip(&bytes);
        }

        /// A mutated valid line is read or refused, never misread as another amount: whatever
        /// reads back has the same number of rows.
        #[test]
        fn corrupted_lines_are_refused_or_read(rows in proptest::collection::vec(row_strategy(), 1..10), at in 0usize..2000, byte in any::<u8>()) {
            let mut text = detail_text(&rows).into_bytes();
            let at = at % text.len();
            text[at] = byte;
            if let Ok(text) = String::from_utf8(text) {
                if let Ok(read) = parse(&text) {
                    prop_assert!(read.len() <= rows.len() + 1);
                }
            }
        }
    }
}
