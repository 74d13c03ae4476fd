//! Loading and validating rule files (TOML) and knowledge tables (CSV), with errors that name
//! the file, the row and the reason.

use std::collections::HashMap;

use yibao_core_types::decimal::parse_scaled;
use yibao_core_types::{Admdvs, Fen, ListType, MedType, NaiveDate, Price, Quantity};
use yibao_policy::Catalogue;

use crate::model::{
    AgeBound, AgeLimitEntry, Category, CodeMap, CompanionEntry, CostBasis, DaysSupplyEntry,
    DistinctLimitEntry, DxAgeLimitEntry, DxItemEntry, DxSexLimitEntry, EarlyRefillEntry,
    EligibilityStatus, EncounterAttr, EncounterLimitEntry, EntryRef, ExclusivePairEntry, Executor,
    FeeShareEntry, Gend, HospLv, Item, Knowledge, LevelLimitEntry, MdtrtType, MedTypeSexLimitEntry,
    MinIntervalEntry, MoneyKind, Phase, PriceLimitEntry, QuantityLimitEntry, ReadmissionEntry,
    ReferenceCostEntry, Rule, RuleSet, Scope, SevDeg, SexLimitEntry, SupplyScene, Table,
    VisitFrequencyEntry, Window,
};

/// Most rules one file may hold (a region runs a few hundred).
pub const RULES_MAX: usize = 2_000;
/// Most entries one knowledge table may hold.
pub const ENTRIES_MAX: usize = 1_000_000;

/// A rule or knowledge file refused at load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {row}: {reason}")]
pub struct LoadError {
    /// The file name given by the caller.
    pub file: String,
    /// The row: `line N` of a CSV file, `rule N (ID)` of a rule file.
    pub row: String,
    /// Why.
    pub reason: String,
}

fn error(file: &str, row: impl Into<String>, reason: impl Into<String>) -> LoadError {
    LoadError {
        file: file.to_owned(),
        row: row.into(),
        reason: reason.into(),
    }
}

/// Loads knowledge tables from `(file name, CSV text)` pairs; the table is the file stem.
/// Every `med_list_codg` must be in `catalogue`.
pub fn load_knowledge(
    files: &[(&str, &str)],
    catalogue: &Catalogue,
) -> Result<Knowledge, LoadError> {
    let mut knowledge = Knowledge::default();
    for &(file, text) in files {
        let stem = file
            .rsplit('/')
            .next()
            .unwrap_or(file)
            .trim_end_matches(".csv");
        let table = Table::parse(stem)
            .ok_or_else(|| error(file, "file", format!("unknown knowledge table `{stem}`")))?;
        load_table(&mut knowledge, table, file, text, catalogue)?;
    }
    index(&mut knowledge);
    Ok(knowledge)
}

/// The columns of each table, before the scope columns every table carries.
fn columns(table: Table) -> &'static [&'static str] {
    match table {
        Table::SexLimit => &["med_list_codg", "gend"],
        Table::AgeLimit => &["med_list_codg", "min_age", "max_age"],
        Table::QuantityLimit => &["med_list_codg", "max_cnt", "per"],
        Table::ExclusivePair => &["med_list_codg_a", "med_list_codg_b", "within"],
        Table::LevelLimit => &["med_list_codg", "min_hosp_lv"],
        Table::MinInterval => &["med_list_codg", "min_days"],
        Table::DxRequired | Table::DxExcluded => &["med_list_codg", "dise_codg_prefixes"],
        Table::DxSexLimit => &["dise_codg_prefix", "gend"],
        Table::DxAgeLimit => &["dise_codg_prefix", "min_age", "max_age"],
        Table::EncounterLimit => &["med_list_codg", "attr", "allowed"],
        Table::Companion => &["med_list_codg", "companion_codes", "within"],
        Table::DaysSupply => &["scene", "max_days"],
        Table::EarlyRefill => &["med_list_codg", "min_used_pct"],
        Table::VisitFrequency => &["med_mdtrt_type", "days", "max_cnt"],
        Table::Readmission => &["max_days", "excluded_dise_codg_prefixes"],
        Table::ReferenceCost => &[
            "dise_codg_prefix",
            "med_mdtrt_type",
            "ref_amt",
            "max_multiple",
        ],
        Table::FeeShare => &["list_type", "med_mdtrt_type", "max_pct", "min_total_amt"],
        Table::DistinctLimit => &["list_type", "med_mdtrt_type", "max_cnt"],
        Table::MedTypeSexLimit => &["med_type", "gend"],
        Table::PriceLimit => &["med_list_codg", "max_pric"],
    }
}

/// The scope columns.
pub const SCOPE_COLUMNS: [&str; 3] = ["begn_date", "end_date", "admdvs"];

/// The optional column every table may carry: the tag a rule names to enforce only its entries.
pub const TAG_COLUMN: &str = "tag";

struct Row<'r> {
    file: &'r str,
    line: u64,
    record: &'r csv::StringRecord,
    positions: &'r HashMap<String, usize>,
}

impl Row<'_> {
    fn row(&self) -> String {
        format!("line {}", self.line)
    }

    fn fail(&self, column: &str, reason: impl std::fmt::Display) -> LoadError {
        error(self.file, self.row(), format!("{column}: {reason}"))
    }

    /// The cell, `None` when empty or when the (optional) column is absent.
    fn get(&self, column: &str) -> Option<&str> {
        let position = *self.positions.get(column)?;
        let text = self.record.get(position).unwrap_or("").trim();
        (!text.is_empty()).then_some(text)
    }

    /// A whole number in `range`.
    fn number(&self, column: &str, range: std::ops::RangeInclusive<u32>) -> Result<u32, LoadError> {
        let text = self.required(column)?;
        text.parse::<u32>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                self.fail(
                    column,
                    format!(
                        "`{text}` must be a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                )
            })
    }

    /// A non-negative amount in yuan.
    fn fen(&self, column: &str) -> Result<Fen, LoadError> {
        let text = self.required(column)?;
        Fen::parse_non_negative(text).map_err(|_| {
            self.fail(
                column,
                format!("`{text}` must be yuan with at most 2 decimals"),
            )
        })
    }

    fn list_type(&self, column: &str) -> Result<ListType, LoadError> {
        let text = self.required(column)?;
        ListType::parse(text).map_err(|_| {
            self.fail(
                column,
                format!("`{text}` must be drug, service or consumable"),
            )
        })
    }

    fn mdtrt_type(&self, column: &str) -> Result<MdtrtType, LoadError> {
        let text = self.required(column)?;
        MdtrtType::parse(text)
            .ok_or_else(|| self.fail(column, format!("`{text}` must be 1, 2, 3 or 4")))
    }

    /// `|`-separated catalogue codes.
    fn codes(
        &self,
        column: &str,
        catalogue: &Catalogue,
        knowledge: &mut Knowledge,
    ) -> Result<Vec<String>, LoadError> {
        self.required(column)?
            .split('|')
            .map(|code| self.check_code(column, code.trim(), catalogue, knowledge))
            .collect()
    }

    /// `|`-separated ICD-10 prefixes.
    fn dx_prefixes(&self, column: &str) -> Result<Vec<String>, LoadError> {
        self.required(column)?
            .split('|')
            .map(|prefix| check_dx_prefix(self, column, prefix.trim()))
            .collect()
    }

    fn required(&self, column: &str) -> Result<&str, LoadError> {
        self.get(column).ok_or_else(|| self.fail(column, "missing"))
    }

    fn code(
        &self,
        column: &str,
        catalogue: &Catalogue,
        knowledge: &mut Knowledge,
    ) -> Result<String, LoadError> {
        let code = self.required(column)?;
        self.check_code(column, code, catalogue, knowledge)
    }

    fn check_code(
        &self,
        column: &str,
        code: &str,
        catalogue: &Catalogue,
        knowledge: &mut Knowledge,
    ) -> Result<String, LoadError> {
        let entry = catalogue
            .get(code)
            .ok_or_else(|| self.fail(column, format!("`{code}` is not in the catalogue")))?;
        let list_type = entry.list_type.ok_or_else(|| {
            self.fail(
                column,
                format!("`{code}` has no list type in the catalogue"),
            )
        })?;
        knowledge
            .items
            .entry(code.to_owned())
            .or_insert_with(|| Item {
                name: entry.name.clone(),
                list_type,
            });
        Ok(code.to_owned())
    }

    fn gend(&self, column: &str) -> Result<Gend, LoadError> {
        match self.required(column)? {
            "1" => Ok(Gend::Male),
            "2" => Ok(Gend::Female),
            other => Err(self.fail(column, format!("`{other}` must be 1 or 2"))),
        }
    }

    fn age(&self, column: &str) -> Result<Option<u32>, LoadError> {
        self.get(column)
            .map(|text| {
                text.parse::<u32>()
                    .ok()
                    .filter(|age| *age <= 150)
                    .ok_or_else(|| self.fail(column, format!("`{text}` must be whole years 0–150")))
            })
            .transpose()
    }

    fn window(&self, column: &str) -> Result<Window, LoadError> {
        let text = self.required(column)?;
        Window::parse(text)
            .ok_or_else(|| self.fail(column, format!("`{text}` must be day or visit")))
    }

    fn date(&self, column: &str) -> Result<Option<NaiveDate>, LoadError> {
        self.get(column)
            .map(|text| {
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map_err(|_| self.fail(column, format!("`{text}` must be YYYY-MM-DD")))
            })
            .transpose()
    }

    fn scope(&self) -> Result<Scope, LoadError> {
        let begn_date = self.date("begn_date")?;
        let end_date = self.date("end_date")?;
        if let (Some(begn), Some(end)) = (begn_date, end_date) {
            if end < begn {
                return Err(self.fail("end_date", format!("{end} is before begn_date {begn}")));
            }
        }
        let admdvs = self
            .get("admdvs")
            .map(|text| Admdvs::parse(text).map_err(|err| self.fail("admdvs", err)))
            .transpose()?;
        let tag = self
            .get(TAG_COLUMN)
            .map(|text| {
                let valid = text
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                if valid {
                    Ok(text.to_owned())
                } else {
                    Err(self.fail(
                        TAG_COLUMN,
                        format!("`{text}` must be lowercase a-z, 0-9 or _"),
                    ))
                }
            })
            .transpose()?;
        Ok(Scope {
            tag,
            begn_date,
            end_date,
            admdvs,
        })
    }
}

fn load_table(
    knowledge: &mut Knowledge,
    table: Table,
    file: &str,
    text: &str,
    catalogue: &Catalogue,
) -> Result<(), LoadError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|err| error(file, "line 1", err.to_string()))?
        .clone();
    let expected: Vec<&str> = columns(table)
        .iter()
        .chain(SCOPE_COLUMNS.iter())
        .copied()
        .collect();
    let mut positions = HashMap::new();
    for (position, header) in headers.iter().enumerate() {
        let header = header.trim();
        if !expected.contains(&header) && header != TAG_COLUMN {
            return Err(error(file, "line 1", format!("unknown column `{header}`")));
        }
        positions.insert(header.to_owned(), position);
    }
    if let Some(missing) = expected
        .iter()
        .find(|column| !positions.contains_key(**column))
    {
        return Err(error(file, "line 1", format!("missing column `{missing}`")));
    }
    let mut keys: Vec<(String, Scope, u64)> = Vec::new();
    for (record_idx, record) in reader.records().enumerate() {
        let line = record_idx as u64 + 2;
        let record = record.map_err(|err| error(file, format!("line {line}"), err.to_string()))?;
        if record_idx >= ENTRIES_MAX {
            return Err(error(
                file,
                format!("line {line}"),
                format!("more than {ENTRIES_MAX} entries"),
            ));
        }
        let row = Row {
            file,
            line,
            record: &record,
            positions: &positions,
        };
        let scope = row.scope()?;
        let key = match table {
            Table::SexLimit => {
                let entry = SexLimitEntry {
                    med_list_codg: row.code("med_list_codg", catalogue, knowledge)?,
                    gend: row.gend("gend")?,
                    scope: scope.clone(),
                };
                let key = entry.med_list_codg.clone();
                knowledge.sex_limit.push(entry);
                key
            }
            Table::AgeLimit => {
                let entry = AgeLimitEntry {
                    med_list_codg: row.code("med_list_codg", catalogue, knowledge)?,
                    min_age: row.age("min_age")?,
                    max_age: row.age("max_age")?,
                    scope: scope.clone(),
                };
                check_age_range(&row, entry.min_age, entry.max_age)?;
                let key = entry.med_list_codg.clone();
                knowledge.age_limit.push(entry);
                key
            }
            Table::QuantityLimit => {
                let text = row.required("max_cnt")?;
                let max_cnt = Quantity::parse(text)
                    .ok()
                    .filter(|q| q.0 > 0)
                    .ok_or_else(|| {
                        row.fail("max_cnt", format!("`{text}` must be a positive count"))
                    })?;
                let entry = QuantityLimitEntry {
                    med_list_codg: row.code("med_list_codg", catalogue, knowledge)?,
                    max_cnt,
                    per: row.window("per")?,
                    scope: scope.clone(),
                };
                let key = entry.med_list_codg.clone();
                knowledge.quantity_limit.push(entry);
                key
            }
            Table::ExclusivePair => {
                let entry = ExclusivePairEntry {
                    med_list_codg_a: row.code("med_list_codg_a", catalogue, knowledge)?,
                    med_list_codg_b: row.code("med_list_codg_b", catalogue, knowledge)?,
                    within: row.window("within")?,
                    scope: scope.clone(),
                };
                if entry.med_list_codg_a == entry.med_list_codg_b {
                    return Err(row.fail("med_list_codg_b", "a pair needs two different codes"));
                }
                // A pair is the same pair whichever side is named first.
                let (low, high) = if entry.med_list_codg_a < entry.med_list_codg_b {
                    (&entry.med_list_codg_a, &entry.med_list_codg_b)
                } else {
                    (&entry.med_list_codg_b, &entry.med_list_codg_a)
                };
                let key = format!("{low}+{high}");
                knowledge.exclusive_pair.push(entry);
                key
            }
            Table::MinInterval => {
                let text = row.required("min_days")?;
                // A year bounds the window a history can be asked to cover.
                let min_days = text
                    .parse::<u32>()
                    .ok()
                    .filter(|days| (1..=366).contains(days))
                    .ok_or_else(|| row.fail("min_days", format!("`{text}` must be 1 to 366")))?;
                let entry = MinIntervalEntry {
                    med_list_codg: row.code("med_list_codg", catalogue, knowledge)?,
                    min_days,
                    scope: scope.clone(),
                };
                let key = entry.med_list_codg.clone();
                knowledge.min_interval.push(entry);
                key
            }
            Table::LevelLimit => {
                let text = row.required("min_hosp_lv")?;
                let min_hosp_lv =
                    text.parse::<i64>()
                        .ok()
                        .and_then(HospLv::new)
                        .ok_or_else(|| {
                            row.fail("min_hosp_lv", format!("`{text}` must be 1, 2 or 3"))
                        })?;
                let entry = LevelLimitEntry {
                    med_list_codg: row.code("med_list_codg", catalogue, knowledge)?,
                    min_hosp_lv,
                    scope: scope.clone(),
                };
                let key = entry.med_list_codg.clone();
                knowledge.level_limit.push(entry);
                key
            }
            Table::DxRequired | Table::DxExcluded => {
                let text = row.required("dise_codg_prefixes")?;
                let dise_codg_prefixes = text
                    .split('|')
                    .map(|prefix| check_dx_prefix(&row, "dise_codg_prefixes", prefix.trim()))
                    .collect::<Result<Vec<_>, _>>()?;
                let entry = DxItemEntry {
                    med_list_codg: row.code("med_list_codg", catalogue, knowledge)?,
                    dise_codg_prefixes,
                    scope: scope.clone(),
                };
                let key = entry.med_list_codg.clone();
                if table == Table::DxRequired {
                    knowledge.dx_required.push(entry);
                } else {
                    knowledge.dx_excluded.push(entry);
                }
                key
            }
            Table::DxSexLimit => {
                let entry = DxSexLimitEntry {
                    dise_codg_prefix: dx_prefix(&row)?,
                    gend: row.gend("gend")?,
                    scope: scope.clone(),
                };
                let key = entry.dise_codg_prefix.clone();
                knowledge.dx_sex_limit.push(entry);
                key
            }
            Table::DxAgeLimit => {
                let entry = DxAgeLimitEntry {
                    dise_codg_prefix: dx_prefix(&row)?,
                    min_age: row.age("min_age")?,
                    max_age: row.age("max_age")?,
                    scope: scope.clone(),
                };
                check_age_range(&row, entry.min_age, entry.max_age)?;
                let key = entry.dise_codg_prefix.clone();
                knowledge.dx_age_limit.push(entry);
                key
            }
            Table::EncounterLimit => {
                let attr_text = row.required("attr")?;
                let attr = EncounterAttr::parse(attr_text).ok_or_else(|| {
                    row.fail(
                        "attr",
                        format!("`{attr_text}` must be med_mdtrt_type, med_type, insutype or dept"),
                    )
                })?;
                let allowed = row
                    .required("allowed")?
                    .split('|')
                    .map(|value| {
                        let value = value.trim();
                        if !value.is_empty()
                            && value
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b == b'.')
                        {
                            Ok(value.to_owned())
                        } else {
                            Err(row.fail("allowed", format!("`{value}` is not a code")))
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let entry = EncounterLimitEntry {
                    med_list_codg: row.code("med_list_codg", catalogue, knowledge)?,
                    attr,
                    allowed,
                    scope: scope.clone(),
                };
                let key = format!("{}@{}", entry.med_list_codg, attr.code());
                knowledge.encounter_limit.push(entry);
                key
            }
            Table::Companion => {
                let entry = CompanionEntry {
                    med_list_codg: row.code("med_list_codg", catalogue, knowledge)?,
                    companion_codes: row.codes("companion_codes", catalogue, knowledge)?,
                    within: row.window("within")?,
                    scope: scope.clone(),
                };
                if entry.companion_codes.contains(&entry.med_list_codg) {
                    return Err(row.fail("companion_codes", "an item cannot be its own companion"));
                }
                let key = entry.med_list_codg.clone();
                knowledge.companion.push(entry);
                key
            }
            Table::DaysSupply => {
                let text = row.required("scene")?;
                let scene = SupplyScene::parse(text).ok_or_else(|| {
                    row.fail(
                        "scene",
                        format!("`{text}` must be discharge, outpatient, emergency or chronic"),
                    )
                })?;
                let entry = DaysSupplyEntry {
                    scene,
                    max_days: row.number("max_days", 1..=366)?,
                    scope: scope.clone(),
                };
                knowledge.days_supply.push(entry);
                scene.code().to_owned()
            }
            Table::EarlyRefill => {
                let entry = EarlyRefillEntry {
                    med_list_codg: row.code("med_list_codg", catalogue, knowledge)?,
                    min_used_pct: row.number("min_used_pct", 1..=100)?,
                    scope: scope.clone(),
                };
                let key = entry.med_list_codg.clone();
                knowledge.early_refill.push(entry);
                key
            }
            Table::VisitFrequency => {
                let entry = VisitFrequencyEntry {
                    med_mdtrt_type: row.mdtrt_type("med_mdtrt_type")?,
                    // A year bounds the history a count can be asked to cover.
                    days: row.number("days", 1..=366)?,
                    max_cnt: row.number("max_cnt", 1..=1_000)?,
                    scope: scope.clone(),
                };
                let key = format!("{}/{}", entry.med_mdtrt_type.code(), entry.days);
                knowledge.visit_frequency.push(entry);
                key
            }
            Table::Readmission => {
                let entry = ReadmissionEntry {
                    max_days: row.number("max_days", 0..=366)?,
                    excluded_dise_codg_prefixes: match row.get("excluded_dise_codg_prefixes") {
                        None => Vec::new(),
                        Some(_) => row.dx_prefixes("excluded_dise_codg_prefixes")?,
                    },
                    scope: scope.clone(),
                };
                knowledge.readmission.push(entry);
                "readmission".to_owned()
            }
            Table::ReferenceCost => {
                let text = row.required("max_multiple")?;
                // A hundredfold bounds any sensible multiple.
                let max_multiple_pct = parse_scaled(text, 2, 10_000)
                    .ok()
                    .map(|m| m as i64)
                    .filter(|m| *m >= 100)
                    .ok_or_else(|| {
                        row.fail(
                            "max_multiple",
                            format!("`{text}` must be a multiple of at least 1"),
                        )
                    })?;
                let ref_amt = row.fen("ref_amt")?;
                if ref_amt == Fen::ZERO {
                    return Err(row.fail("ref_amt", "must be above 0"));
                }
                let entry = ReferenceCostEntry {
                    dise_codg_prefix: check_dx_prefix(
                        &row,
                        "dise_codg_prefix",
                        row.required("dise_codg_prefix")?,
                    )?,
                    med_mdtrt_type: row.mdtrt_type("med_mdtrt_type")?,
                    ref_amt,
                    max_multiple_pct,
                    scope: scope.clone(),
                };
                let key = format!("{}/{}", entry.dise_codg_prefix, entry.med_mdtrt_type.code());
                knowledge.reference_cost.push(entry);
                key
            }
            Table::FeeShare => {
                let entry = FeeShareEntry {
                    list_type: row.list_type("list_type")?,
                    med_mdtrt_type: row.mdtrt_type("med_mdtrt_type")?,
                    max_pct: row.number("max_pct", 1..=99)?,
                    min_total_amt: row.fen("min_total_amt")?,
                    scope: scope.clone(),
                };
                let key = format!("{}/{}", entry.list_type, entry.med_mdtrt_type.code());
                knowledge.fee_share.push(entry);
                key
            }
            Table::DistinctLimit => {
                let entry = DistinctLimitEntry {
                    list_type: row.list_type("list_type")?,
                    med_mdtrt_type: row.mdtrt_type("med_mdtrt_type")?,
                    max_cnt: row.number("max_cnt", 1..=1_000)?,
                    scope: scope.clone(),
                };
                let key = format!("{}/{}", entry.list_type, entry.med_mdtrt_type.code());
                knowledge.distinct_limit.push(entry);
                key
            }
            Table::PriceLimit => {
                let text = row.required("max_pric")?;
                let max_pric = Price::parse(text).ok().filter(|p| p.0 > 0).ok_or_else(|| {
                    row.fail(
                        "max_pric",
                        format!("`{text}` must be a positive price in yuan"),
                    )
                })?;
                let entry = PriceLimitEntry {
                    med_list_codg: row.code("med_list_codg", catalogue, knowledge)?,
                    max_pric,
                    scope: scope.clone(),
                };
                let key = entry.med_list_codg.clone();
                knowledge.price_limit.push(entry);
                key
            }
            Table::MedTypeSexLimit => {
                let text = row.required("med_type")?;
                let entry = MedTypeSexLimitEntry {
                    med_type: MedType::parse(text).map_err(|err| row.fail("med_type", err))?,
                    gend: row.gend("gend")?,
                    scope: scope.clone(),
                };
                let key = entry.med_type.to_string();
                knowledge.med_type_sex_limit.push(entry);
                key
            }
        };
        // Entries of different tags belong to different rules: only the same key and tag clash.
        let key = match &scope.tag {
            Some(tag) => {
                knowledge.tags.insert((table, tag.clone()));
                format!("{key}#{tag}")
            }
            None => key,
        };
        if let Some((_, _, earlier)) = keys
            .iter()
            .find(|(other_key, other_scope, _)| *other_key == key && other_scope.overlaps(&scope))
        {
            return Err(row.fail(
                "begn_date",
                format!(
                    "`{key}` overlaps line {earlier}: effective dates and regions may not overlap"
                ),
            ));
        }
        keys.push((key, scope, line));
    }
    Ok(())
}

fn check_age_range(
    row: &Row<'_>,
    min_age: Option<u32>,
    max_age: Option<u32>,
) -> Result<(), LoadError> {
    match (min_age, max_age) {
        (None, None) => Err(row.fail("min_age", "min_age and max_age are both empty")),
        (Some(min), Some(max)) if max < min => {
            Err(row.fail("max_age", format!("{max} is below min_age {min}")))
        }
        _ => Ok(()),
    }
}

fn dx_prefix(row: &Row<'_>) -> Result<String, LoadError> {
    check_dx_prefix(row, "dise_codg_prefix", row.required("dise_codg_prefix")?)
}

fn check_dx_prefix(row: &Row<'_>, column: &str, text: &str) -> Result<String, LoadError> {
    let mut chars = text.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '.');
    if !valid {
        return Err(row.fail(column, format!("`{text}` is not an ICD-10 code prefix")));
    }
    Ok(text.to_owned())
}

fn index(knowledge: &mut Knowledge) {
    let mut by_code: CodeMap<Vec<EntryRef>> = CodeMap::default();
    let mut add = |code: &str, entry_ref: EntryRef| {
        by_code.entry(code.to_owned()).or_default().push(entry_ref)
    };
    for (idx, entry) in knowledge.sex_limit.iter().enumerate() {
        add(&entry.med_list_codg, EntryRef::Sex(idx));
    }
    for (idx, entry) in knowledge.age_limit.iter().enumerate() {
        add(&entry.med_list_codg, EntryRef::Age(idx));
    }
    for (idx, entry) in knowledge.quantity_limit.iter().enumerate() {
        add(&entry.med_list_codg, EntryRef::Quantity(idx));
    }
    for (idx, entry) in knowledge.exclusive_pair.iter().enumerate() {
        add(&entry.med_list_codg_a, EntryRef::PairA(idx));
        add(&entry.med_list_codg_b, EntryRef::PairB(idx));
    }
    for (idx, entry) in knowledge.level_limit.iter().enumerate() {
        add(&entry.med_list_codg, EntryRef::Level(idx));
    }
    for (idx, entry) in knowledge.dx_required.iter().enumerate() {
        add(&entry.med_list_codg, EntryRef::DxRequired(idx));
    }
    for (idx, entry) in knowledge.dx_excluded.iter().enumerate() {
        add(&entry.med_list_codg, EntryRef::DxExcluded(idx));
    }
    for (idx, entry) in knowledge.min_interval.iter().enumerate() {
        add(&entry.med_list_codg, EntryRef::Interval(idx));
    }
    for (idx, entry) in knowledge.encounter_limit.iter().enumerate() {
        add(&entry.med_list_codg, EntryRef::EncounterLimit(idx));
    }
    for (idx, entry) in knowledge.companion.iter().enumerate() {
        add(&entry.med_list_codg, EntryRef::Companion(idx));
    }
    for (idx, entry) in knowledge.early_refill.iter().enumerate() {
        add(&entry.med_list_codg, EntryRef::Refill(idx));
    }
    for (idx, entry) in knowledge.price_limit.iter().enumerate() {
        add(&entry.med_list_codg, EntryRef::Price(idx));
    }
    knowledge.by_code = by_code;
}

/// Loads a rule file (TOML, `[[rule]]` tables) and checks it against `knowledge`: a rule's
/// `params.tag` must be carried by at least one entry of its table.
pub fn load_rules(file: &str, text: &str, knowledge: &Knowledge) -> Result<RuleSet, LoadError> {
    let document: toml::Table = text
        .parse()
        .map_err(|err: toml::de::Error| error(file, "file", err.to_string()))?;
    for key in document.keys() {
        if key != "rule" {
            return Err(error(file, "file", format!("unknown key `{key}`")));
        }
    }
    let Some(toml::Value::Array(items)) = document.get("rule") else {
        return Err(error(file, "file", "no [[rule]] tables"));
    };
    if items.len() > RULES_MAX {
        return Err(error(file, "file", format!("more than {RULES_MAX} rules")));
    }
    let mut rules: Vec<Rule> = Vec::new();
    for (rule_idx, item) in items.iter().enumerate() {
        let row_name = |id: &str| format!("rule {} ({id})", rule_idx + 1);
        let toml::Value::Table(table) = item else {
            return Err(error(file, row_name("?"), "a rule must be a table"));
        };
        let id = table.get("rule_id").and_then(|v| v.as_str()).unwrap_or("?");
        let fields = Fields {
            file,
            row: row_name(id),
            table,
        };
        let rule = fields.rule()?;
        if let (Some(tag), Some(table)) = (&rule.tag, rule.executor.table()) {
            if !knowledge.tags.contains(&(table, tag.clone())) {
                return Err(fields.fail(
                    "params.tag",
                    format!("no entry of table {} has tag `{tag}`", table.name()),
                ));
            }
        }
        if let Some(earlier) = rules.iter().find(|other| {
            other.rule_id == rule.rule_id
                && other.begn_date <= rule.end_date.unwrap_or(NaiveDate::MAX)
                && rule.begn_date <= other.end_date.unwrap_or(NaiveDate::MAX)
        }) {
            return Err(fields.fail(
                "begn_date",
                format!("overlaps version {} of the same rule", earlier.version),
            ));
        }
        rules.push(rule);
    }
    Ok(RuleSet::new(rules))
}

/// The keys a rule table may hold.
const RULE_KEYS: &[&str] = &[
    "rule_id",
    "national_code",
    "name",
    "version",
    "begn_date",
    "end_date",
    "scenes",
    "phases",
    "sev_deg",
    "fund_types",
    "money_kind",
    "category",
    "knowledge",
    "executor",
    "params",
    "vola_evid",
];

/// The scenes a rule may name.
pub const SCENES: &[&str] = &[
    "outpatient",
    "inpatient",
    "pharmacy",
    "internet",
    "cross_region",
];

struct Fields<'t> {
    file: &'t str,
    row: String,
    table: &'t toml::Table,
}

impl Fields<'_> {
    fn fail(&self, key: &str, reason: impl std::fmt::Display) -> LoadError {
        error(self.file, self.row.clone(), format!("{key}: {reason}"))
    }

    fn string(&self, table: &toml::Table, key: &str) -> Result<String, LoadError> {
        match table.get(key) {
            None => Err(self.fail(key, "missing")),
            Some(toml::Value::String(text)) if !text.trim().is_empty() => Ok(text.clone()),
            Some(_) => Err(self.fail(key, "must be a non-empty string")),
        }
    }

    fn strings(&self, key: &str) -> Result<Vec<String>, LoadError> {
        let Some(toml::Value::Array(values)) = self.table.get(key) else {
            return Err(self.fail(key, "missing or not a list"));
        };
        let texts: Option<Vec<String>> = values
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect();
        match texts {
            Some(texts) if !texts.is_empty() => Ok(texts),
            _ => Err(self.fail(key, "must be a non-empty list of strings")),
        }
    }

    fn integer(&self, key: &str) -> Result<i64, LoadError> {
        self.table
            .get(key)
            .ok_or_else(|| self.fail(key, "missing"))?
            .as_integer()
            .ok_or_else(|| self.fail(key, "must be an integer"))
    }

    fn date(&self, key: &str) -> Result<Option<NaiveDate>, LoadError> {
        self.table
            .get(key)
            .map(|value| {
                let text = value
                    .as_str()
                    .ok_or_else(|| self.fail(key, "must be a string"))?;
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map_err(|_| self.fail(key, format!("`{text}` must be YYYY-MM-DD")))
            })
            .transpose()
    }

    fn rule(&self) -> Result<Rule, LoadError> {
        if let Some(key) = self
            .table
            .keys()
            .find(|key| !RULE_KEYS.contains(&key.as_str()))
        {
            return Err(self.fail(key, "unknown key"));
        }
        let rule_id = self.string(self.table, "rule_id")?;
        let national_code = match self.table.get("national_code") {
            None => None,
            Some(_) => Some(self.string(self.table, "national_code")?),
        };
        let name = self.string(self.table, "name")?;
        let version = u32::try_from(self.integer("version")?)
            .ok()
            .filter(|v| *v > 0)
            .ok_or_else(|| self.fail("version", "must be a positive integer"))?;
        let begn_date = self
            .date("begn_date")?
            .ok_or_else(|| self.fail("begn_date", "missing"))?;
        let end_date = self.date("end_date")?;
        if end_date.is_some_and(|end| end < begn_date) {
            return Err(self.fail("end_date", "is before begn_date"));
        }
        let scenes = self.strings("scenes")?;
        if let Some(scene) = scenes.iter().find(|s| !SCENES.contains(&s.as_str())) {
            return Err(self.fail("scenes", format!("unknown scene `{scene}`")));
        }
        let phases = self
            .strings("phases")?
            .iter()
            .map(|text| {
                Phase::parse(text)
                    .ok_or_else(|| self.fail("phases", format!("unknown phase `{text}`")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let sev_deg = SevDeg::new(self.integer("sev_deg")?)
            .ok_or_else(|| self.fail("sev_deg", "must be 1, 2 or 3"))?;
        let fund_types = self.strings("fund_types")?;
        if let Some(bad) = fund_types
            .iter()
            .find(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(self.fail("fund_types", format!("`{bad}` is not a fund_pay_type code")));
        }
        let money_text = self.string(self.table, "money_kind")?;
        let money_kind = MoneyKind::parse(&money_text).ok_or_else(|| {
            self.fail(
                "money_kind",
                format!("`{money_text}` must be L, X, E, P or 0"),
            )
        })?;
        let category_text = self.string(self.table, "category")?;
        let category = Category::parse(&category_text)
            .ok_or_else(|| self.fail("category", format!("unknown category `{category_text}`")))?;
        // A check of the input alone names no table: `knowledge = []` or no key.
        let knowledge = match self.table.get("knowledge") {
            Some(toml::Value::Array(values)) if values.is_empty() => Vec::new(),
            None => Vec::new(),
            Some(_) => self
                .strings("knowledge")?
                .iter()
                .map(|text| {
                    Table::parse(text)
                        .ok_or_else(|| self.fail("knowledge", format!("unknown table `{text}`")))
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let (executor, tag) = self.executor()?;
        if let Some(table) = executor.table() {
            if !knowledge.contains(&table) {
                return Err(self.fail(
                    "knowledge",
                    format!(
                        "executor {} reads table {}, which the rule does not name",
                        executor.kind(),
                        table.name()
                    ),
                ));
            }
        }
        if money_kind == MoneyKind::ProRated {
            return Err(self.fail(
                "money_kind",
                "P needs stay days, which no executor of this kind has",
            ));
        }
        if money_kind == MoneyKind::Excess
            && !matches!(
                executor,
                Executor::QuantityLimit { .. }
                    | Executor::DaysSupply { .. }
                    | Executor::PriceLimit { .. }
            )
        {
            return Err(self.fail(
                "money_kind",
                format!(
                    "X needs an excess, which executor {} has not",
                    executor.kind()
                ),
            ));
        }
        let vola_evid = self.string(self.table, "vola_evid")?;
        Ok(Rule {
            rule_id,
            national_code,
            name,
            version,
            begn_date,
            end_date,
            scenes,
            phases,
            sev_deg,
            fund_types,
            money_kind,
            category,
            knowledge,
            executor,
            tag,
            vola_evid,
        })
    }

    fn executor(&self) -> Result<(Executor, Option<String>), LoadError> {
        let kind = self.string(self.table, "executor")?;
        let empty = toml::Table::new();
        let params = match self.table.get("params") {
            None => &empty,
            Some(toml::Value::Table(params)) => params,
            Some(_) => return Err(self.fail("params", "must be a table")),
        };
        let (allowed, has_table): (&[&str], bool) = match kind.as_str() {
            "sex_limit" | "level_limit" | "dx_required" | "dx_excluded" | "min_interval"
            | "companion" | "price_limit" => (&["list_types"], true),
            "age_limit" => (&["list_types", "bound"], true),
            "quantity_limit" => (&["list_types", "per"], true),
            "exclusive_pair" => (&["list_type_a", "list_type_b", "within", "relation"], true),
            "encounter_limit" => (&["list_types", "attr"], true),
            "days_supply" => (&["scene"], true),
            "visit_frequency" => (&["med_mdtrt_type"], true),
            "reference_cost" => (&["med_mdtrt_type", "basis"], true),
            "fee_share" | "distinct_limit" => (&["list_type"], true),
            "dx_sex_limit" | "dx_age_limit" | "early_refill" | "readmission"
            | "med_type_sex_limit" => (&[], true),
            "eligibility" => (&["status"], false),
            "after_death" | "outside_stay" | "stay_overlap" | "visit_in_stay" => (&[], false),
            other => return Err(self.fail("executor", format!("unknown executor `{other}`"))),
        };
        if let Some(key) = params
            .keys()
            .find(|key| !(allowed.contains(&key.as_str()) || (has_table && *key == "tag")))
        {
            return Err(self.fail(
                &format!("params.{key}"),
                format!("not a parameter of {kind}"),
            ));
        }
        let tag = match params.get("tag") {
            None => None,
            Some(toml::Value::String(tag)) if !tag.is_empty() => Some(tag.clone()),
            Some(_) => return Err(self.fail("params.tag", "must be a non-empty string")),
        };
        let param = |key: &str| -> Result<String, LoadError> {
            self.string(params, key).map_err(|_| {
                self.fail(
                    &format!("params.{key}"),
                    format!("missing parameter of {kind} (a non-empty string)"),
                )
            })
        };
        let list_type = |key: &str, text: &str| {
            ListType::parse(text).map_err(|_| {
                self.fail(
                    &format!("params.{key}"),
                    format!("`{text}` must be drug, service or consumable"),
                )
            })
        };
        let list_types = || -> Result<Vec<ListType>, LoadError> {
            let Some(toml::Value::Array(values)) = params.get("list_types") else {
                return Err(self.fail(
                    "params.list_types",
                    format!("missing parameter of {kind} (a list)"),
                ));
            };
            if values.is_empty() {
                return Err(self.fail("params.list_types", "must not be empty"));
            }
            values
                .iter()
                .map(|v| list_type("list_types", v.as_str().unwrap_or("")))
                .collect()
        };
        let window = |key: &str| -> Result<Window, LoadError> {
            let text = param(key)?;
            Window::parse(&text).ok_or_else(|| {
                self.fail(
                    &format!("params.{key}"),
                    format!("`{text}` must be day or visit"),
                )
            })
        };
        let mdtrt_type = || -> Result<MdtrtType, LoadError> {
            let text = param("med_mdtrt_type")?;
            MdtrtType::parse(&text).ok_or_else(|| {
                self.fail(
                    "params.med_mdtrt_type",
                    format!("`{text}` must be 1, 2, 3 or 4"),
                )
            })
        };
        let executor = match kind.as_str() {
            "sex_limit" => Executor::SexLimit {
                list_types: list_types()?,
            },
            "level_limit" => Executor::LevelLimit {
                list_types: list_types()?,
            },
            "min_interval" => Executor::MinInterval {
                list_types: list_types()?,
            },
            "age_limit" => {
                let text = param("bound")?;
                let bound = match text.as_str() {
                    "lower" => AgeBound::Lower,
                    "upper" => AgeBound::Upper,
                    "both" => AgeBound::Both,
                    _ => {
                        return Err(self.fail(
                            "params.bound",
                            format!("`{text}` must be lower, upper or both"),
                        ))
                    }
                };
                Executor::AgeLimit {
                    list_types: list_types()?,
                    bound,
                }
            }
            "quantity_limit" => Executor::QuantityLimit {
                list_types: list_types()?,
                per: window("per")?,
            },
            "exclusive_pair" => Executor::ExclusivePair {
                list_type_a: list_type("list_type_a", &param("list_type_a")?)?,
                list_type_b: list_type("list_type_b", &param("list_type_b")?)?,
                within: window("within")?,
                relation: param("relation")?,
            },
            "dx_required" => Executor::DiagnosisRequired {
                list_types: list_types()?,
            },
            "dx_excluded" => Executor::DiagnosisExcluded {
                list_types: list_types()?,
            },
            "dx_sex_limit" => Executor::DiagnosisSexLimit,
            "dx_age_limit" => Executor::DiagnosisAgeLimit,
            "encounter_limit" => {
                let text = param("attr")?;
                let attr = EncounterAttr::parse(&text).ok_or_else(|| {
                    self.fail(
                        "params.attr",
                        format!("`{text}` must be med_mdtrt_type, med_type, insutype or dept"),
                    )
                })?;
                Executor::EncounterLimit {
                    list_types: list_types()?,
                    attr,
                }
            }
            "companion" => Executor::Companion {
                list_types: list_types()?,
            },
            "price_limit" => Executor::PriceLimit {
                list_types: list_types()?,
            },
            "days_supply" => {
                let text = param("scene")?;
                let scene = SupplyScene::parse(&text).ok_or_else(|| {
                    self.fail(
                        "params.scene",
                        format!("`{text}` must be discharge, outpatient, emergency or chronic"),
                    )
                })?;
                Executor::DaysSupply { scene }
            }
            "early_refill" => Executor::EarlyRefill,
            "visit_frequency" => Executor::VisitFrequency {
                med_mdtrt_type: mdtrt_type()?,
            },
            "readmission" => Executor::Readmission,
            "med_type_sex_limit" => Executor::MedTypeSexLimit,
            "reference_cost" => {
                let text = param("basis")?;
                let basis = match text.as_str() {
                    "visit" => CostBasis::Visit,
                    "day" => CostBasis::Day,
                    _ => {
                        return Err(
                            self.fail("params.basis", format!("`{text}` must be visit or day"))
                        )
                    }
                };
                Executor::ReferenceCost {
                    med_mdtrt_type: mdtrt_type()?,
                    basis,
                }
            }
            "fee_share" => Executor::FeeShare {
                list_type: list_type("list_type", &param("list_type")?)?,
            },
            "distinct_limit" => Executor::DistinctLimit {
                list_type: list_type("list_type", &param("list_type")?)?,
            },
            "eligibility" => {
                let text = param("status")?;
                let status = EligibilityStatus::parse(&text).ok_or_else(|| {
                    self.fail(
                        "params.status",
                        format!("`{text}` must be uninsured or suspended"),
                    )
                })?;
                Executor::Eligibility { status }
            }
            "after_death" => Executor::AfterDeath,
            "outside_stay" => Executor::OutsideStay,
            "stay_overlap" => Executor::StayOverlap,
            _ => Executor::VisitInStay,
        };
        Ok((executor, tag))
    }
}
