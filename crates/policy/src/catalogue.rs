//! The catalogue (目录) of drugs, service items and consumables, loaded from the CSV format of
//! `docs/CATALOGUE.md`, and its CSV writer.

use std::collections::HashMap;

use yibao_core_types::{ChrgitmLv, ListType, NaiveDate, Price, Ratio};

/// Largest number of catalogue rows: a national catalogue has tens of thousands of entries.
pub const CATALOGUE_ROWS_MAX: usize = 500_000;

/// Longest `med_list_codg` / name accepted, in bytes.
pub const CATALOGUE_TEXT_MAX: usize = 200;

/// The columns of the catalogue CSV, in the order the writer uses. The last three are optional
/// in a file: `hi_nego_drug_flag` (国家谈判药品, default 0) and the entry's effective dates
/// `begndate`/`enddate` (`yyyy-MM-dd`, empty = open).
pub const CATALOGUE_COLUMNS: [&str; 10] = [
    "med_list_codg",
    "med_list_name",
    "list_type",
    "chrgitm_lv",
    "selfpay_prop",
    "pric_uplmt_amt",
    "lmt_used_flag",
    "hi_nego_drug_flag",
    "begndate",
    "enddate",
];

/// How many leading columns of [`CATALOGUE_COLUMNS`] every file must have.
const CATALOGUE_REQUIRED_COLUMNS: usize = 7;

/// One catalogue entry: the facts classification needs about an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueEntry {
    /// 医保目录编码.
    pub med_list_codg: String,
    /// Name.
    pub name: String,
    /// Drug, service item or consumable; `None` when the source did not say (an inline
    /// settle-file line).
    pub list_type: Option<ListType>,
    /// 甲/乙/丙.
    pub chrgitm_lv: ChrgitmLv,
    /// 乙类 pre-self-pay share (0 for 甲类).
    pub selfpay_prop: Ratio,
    /// Price cap (最高限价), if any.
    pub pric_uplmt_amt: Option<Price>,
    /// Restricted use (限制使用): covered only with hospital approval.
    pub lmt_used_flag: bool,
    /// A negotiated drug (国家谈判药品, `hi_nego_drug_flag`), paid under the 双通道 benefit where
    /// the region has one.
    pub negotiated: bool,
    /// First day the entry is in force; `None` = always before `enddate`.
    pub begndate: Option<NaiveDate>,
    /// Last day the entry is in force (inclusive); `None` = open.
    pub enddate: Option<NaiveDate>,
}

impl CatalogueEntry {
    /// True when the entry is in force on `date`.
    pub fn in_force_on(&self, date: NaiveDate) -> bool {
        self.begndate.is_none_or(|begin| begin <= date)
            && self.enddate.is_none_or(|end| date <= end)
    }
}

/// A loaded catalogue, looked up by `med_list_codg` (and the fee date, when a code has
/// versions with effective dates).
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    entries: Vec<CatalogueEntry>,
    by_code: HashMap<String, Vec<usize>>,
}

impl Catalogue {
    /// Builds a catalogue from entries. A code may appear more than once only as versions whose
    /// effective dates do not overlap; anything else is refused.
    pub fn from_entries(entries: Vec<CatalogueEntry>) -> Result<Catalogue, CatalogueError> {
        let mut by_code: HashMap<String, Vec<usize>> = HashMap::with_capacity(entries.len());
        for (idx, entry) in entries.iter().enumerate() {
            if let (Some(begin), Some(end)) = (entry.begndate, entry.enddate) {
                if end < begin {
                    return Err(CatalogueError {
                        file: String::new(),
                        line: idx as u64 + 2,
                        column: "enddate".into(),
                        reason: "is before begndate".into(),
                    });
                }
            }
            let versions = by_code.entry(entry.med_list_codg.clone()).or_default();
            let overlaps = versions.iter().any(|&other_idx| {
                let other: &CatalogueEntry = &entries[other_idx];
                let starts_before_other_ends = match (entry.begndate, other.enddate) {
                    (Some(begin), Some(end)) => begin <= end,
                    _ => true,
                };
                let other_starts_before_this_ends = match (other.begndate, entry.enddate) {
                    (Some(begin), Some(end)) => begin <= end,
                    _ => true,
                };
                starts_before_other_ends && other_starts_before_this_ends
            });
            if overlaps {
                return Err(CatalogueError {
                    file: String::new(),
                    line: idx as u64 + 2,
                    column: "med_list_codg".into(),
                    reason: format!(
                        "duplicate code {:?} (versions of a code need effective dates that do not overlap)",
                        entry.med_list_codg
                    ),
                });
            }
            versions.push(idx);
        }
        Ok(Catalogue { entries, by_code })
    }

    /// The entry for a code: the only version, or the one that starts last.
    pub fn get(&self, med_list_codg: &str) -> Option<&CatalogueEntry> {
        self.by_code.get(med_list_codg).and_then(|versions| {
            versions
                .iter()
                .map(|&idx| &self.entries[idx])
                .max_by_key(|entry| entry.begndate)
        })
    }

    /// The version of a code in force on `date` (a bill is priced by the catalogue in force on
    /// its fee date); `None` when the code is unknown or no version covers the date.
    pub fn get_on(&self, med_list_codg: &str, date: NaiveDate) -> Option<&CatalogueEntry> {
        self.by_code.get(med_list_codg).and_then(|versions| {
            versions
                .iter()
                .map(|&idx| &self.entries[idx])
                .find(|entry| entry.in_force_on(date))
        })
    }

    /// All entries in file order.
    pub fn entries(&self) -> &[CatalogueEntry] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Why a catalogue file was refused: file, line, column and reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: line {line}: {column}: {reason}")]
pub struct CatalogueError {
    /// The file name given by the caller.
    pub file: String,
    /// 1-based line (the header is line 1).
    pub line: u64,
    /// The column name (or `header`).
    pub column: String,
    /// Why.
    pub reason: String,
}

/// Parses catalogue CSV text. `file_name` is used only in messages.
pub fn parse_catalogue(file_name: &str, text: &str) -> Result<Catalogue, CatalogueError> {
    let error = |line: u64, column: &str, reason: String| CatalogueError {
        file: file_name.to_owned(),
        line,
        column: column.to_owned(),
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|csv_error| error(1, "header", csv_error.to_string()))?
        .clone();
    let mut positions = [usize::MAX; 10];
    for (idx, name) in headers.iter().enumerate() {
        let Some(column_idx) = CATALOGUE_COLUMNS.iter().position(|column| *column == name) else {
            return Err(error(1, "header", format!("unknown column {name:?}")));
        };
        if positions[column_idx] != usize::MAX {
            return Err(error(1, "header", format!("column {name:?} appears twice")));
        }
        positions[column_idx] = idx;
    }
    if let Some(missing) = positions[..CATALOGUE_REQUIRED_COLUMNS]
        .iter()
        .position(|&idx| idx == usize::MAX)
    {
        return Err(error(
            1,
            "header",
            format!("missing column {:?}", CATALOGUE_COLUMNS[missing]),
        ));
    }
    let mut entries = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|csv_error| {
            let line = csv_error.position().map_or(0, |position| position.line());
            error(line, "row", csv_error.to_string())
        })?;
        let line = record.position().map_or(0, |position| position.line());
        if entries.len() >= CATALOGUE_ROWS_MAX {
            return Err(error(
                line,
                "row",
                format!("more than {CATALOGUE_ROWS_MAX} rows"),
            ));
        }
        let field = |column_idx: usize| {
            if positions[column_idx] == usize::MAX {
                ""
            } else {
                record.get(positions[column_idx]).unwrap_or("")
            }
        };
        let text = |column_idx: usize| -> Result<String, CatalogueError> {
            let value = field(column_idx);
            if value.is_empty() {
                return Err(error(
                    line,
                    CATALOGUE_COLUMNS[column_idx],
                    "must not be empty".into(),
                ));
            }
            if value.len() > CATALOGUE_TEXT_MAX {
                return Err(error(
                    line,
                    CATALOGUE_COLUMNS[column_idx],
                    format!("longer than {CATALOGUE_TEXT_MAX} bytes"),
                ));
            }
            Ok(value.to_owned())
        };
        let med_list_codg = text(0)?;
        let name = text(1)?;
        let list_type = ListType::parse(field(2))
            .map_err(|code_error| error(line, "list_type", code_error.to_string()))?;
        let chrgitm_lv = ChrgitmLv::parse(field(3))
            .map_err(|code_error| error(line, "chrgitm_lv", code_error.to_string()))?;
        let selfpay_prop = Ratio::parse_unit(field(4))
            .map_err(|decimal_error| error(line, "selfpay_prop", decimal_error.to_string()))?;
        if chrgitm_lv == ChrgitmLv::ClassA && selfpay_prop != Ratio::ZERO {
            return Err(error(
                line,
                "selfpay_prop",
                "must be 0 for 甲类 (01)".into(),
            ));
        }
        let pric_uplmt_amt = match field(5) {
            "" => None,
            cap => Some(Price::parse(cap).map_err(|decimal_error| {
                error(line, "pric_uplmt_amt", decimal_error.to_string())
            })?),
        };
        let lmt_used_flag = match field(6) {
            "0" => false,
            "1" => true,
            other => {
                return Err(error(
                    line,
                    "lmt_used_flag",
                    format!("must be 0 or 1 (got {other:?})"),
                ))
            }
        };
        let negotiated = match field(7) {
            "" | "0" => false,
            "1" => true,
            other => {
                return Err(error(
                    line,
                    "hi_nego_drug_flag",
                    format!("must be 0 or 1 (got {other:?})"),
                ))
            }
        };
        let date = |column_idx: usize| -> Result<Option<NaiveDate>, CatalogueError> {
            match field(column_idx) {
                "" => Ok(None),
                text => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| {
                        error(
                            line,
                            CATALOGUE_COLUMNS[column_idx],
                            format!("must be a date yyyy-MM-dd (got {text:?})"),
                        )
                    }),
            }
        };
        entries.push(CatalogueEntry {
            med_list_codg,
            name,
            list_type: Some(list_type),
            chrgitm_lv,
            selfpay_prop,
            pric_uplmt_amt,
            lmt_used_flag,
            negotiated,
            begndate: date(8)?,
            enddate: date(9)?,
        });
    }
    Catalogue::from_entries(entries).map_err(|mut duplicate| {
        duplicate.file = file_name.to_owned();
        duplicate
    })
}

/// Writes entries as catalogue CSV (header first, `\n` line ends). Entries without a list type
/// cannot be written and are refused.
pub fn write_catalogue_csv(entries: &[CatalogueEntry]) -> Result<String, CatalogueError> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let io_error = |reason: String| CatalogueError {
        file: String::new(),
        line: 0,
        column: "row".into(),
        reason,
    };
    writer
        .write_record(CATALOGUE_COLUMNS)
        .map_err(|csv_error| io_error(csv_error.to_string()))?;
    for (idx, entry) in entries.iter().enumerate() {
        let list_type = entry.list_type.ok_or_else(|| CatalogueError {
            file: String::new(),
            line: idx as u64 + 2,
            column: "list_type".into(),
            reason: "entry has no list type".into(),
        })?;
        let cap = entry
            .pric_uplmt_amt
            .map(|cap| cap.to_string())
            .unwrap_or_default();
        writer
            .write_record([
                entry.med_list_codg.as_str(),
                entry.name.as_str(),
                match list_type {
                    ListType::Drug => "drug",
                    ListType::ServiceItem => "service",
                    ListType::Consumable => "consumable",
                },
                entry.chrgitm_lv.code(),
                &entry.selfpay_prop.to_string(),
                &cap,
                if entry.lmt_used_flag { "1" } else { "0" },
                if entry.negotiated { "1" } else { "0" },
                &entry.begndate.map(|d| d.to_string()).unwrap_or_default(),
                &entry.enddate.map(|d| d.to_string()).unwrap_or_default(),
            ])
            .map_err(|csv_error| io_error(csv_error.to_string()))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|into_error| io_error(into_error.to_string()))?;
    String::from_utf8(bytes).map_err(|utf8_error| io_error(utf8_error.to_string()))
}
