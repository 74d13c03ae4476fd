//! Batch rules (事后) on Apache DataFusion: the export directory is checked (`check_export`),
//! each table registered as a listing table over its Hive partitions (`admdvs`, `month`), and
//! each rule runs as one SQL query over the settlements that stand (reversals and the
//! settlements they reversed left out). Rules that need history across visits and institutions
//! live here; each is a documented item ([`BatchRule`]) with typed parameters whose ranges are
//! checked before any file is read. docs/AUDIT.md, "Batch rules (DataFusion)".

mod behaviour;
mod models;
mod pharmacy;
pub mod recall;

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::{Array, ArrayRef, Int64Array, StringArray};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use serde::Serialize;
use yibao_store::export::ExportTable;

use crate::arrays;
use crate::error::BatchError;
use crate::export::check_export;
use crate::manifest::Manifest;

/// Every batch rule and model, in report order: the behaviour rules (BHV), then the
/// statistical models (S-…). Each module adds its slice here.
pub fn rules() -> impl Iterator<Item = &'static BatchRule> {
    RULE_SETS.iter().flat_map(|set| set.iter())
}

/// The modules' rule slices, in report order.
static RULE_SETS: &[&[BatchRule]] = &[&behaviour::RULES, &models::MODELS, &pharmacy::RULES];

/// The partition columns every claim table has in its path (both text).
pub const PARTITION_COLUMNS: [&str; 2] = ["admdvs", "month"];

/// The earliest and latest year a batch run accepts.
pub const YEAR_RANGE: (i32, i32) = (1990, 2999);

/// A parameter's type, default and allowed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A whole number in `min..=max`.
    Int {
        /// The value when none is given.
        default: i64,
        /// The smallest allowed.
        min: i64,
        /// The largest allowed.
        max: i64,
    },
    /// A list of code prefixes (letters, digits and dots, 1–10 characters each), `|`-separated
    /// on the command line; empty allowed.
    Prefixes {
        /// The list when none is given.
        default: &'static [&'static str],
    },
}

/// One parameter of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSpec {
    /// Its name (`interval_days` …), given as `RULE.name=value`.
    pub name: &'static str,
    /// Type, default and range.
    pub kind: ParamKind,
    /// What it means.
    pub doc: &'static str,
}

/// A parameter's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    /// A whole number.
    Int(i64),
    /// Code prefixes.
    Prefixes(Vec<String>),
}

/// The parameters of one rule, every one present (given or default) and in range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleParams {
    values: BTreeMap<&'static str, ParamValue>,
}

impl RuleParams {
    /// A whole-number parameter (the rule's own names only).
    pub fn int(&self, name: &str) -> i64 {
        match self.values.get(name) {
            Some(ParamValue::Int(v)) => *v,
            other => panic!("parameter {name} is not a whole number: {other:?}"),
        }
    }

    /// A prefix-list parameter (the rule's own names only).
    pub fn prefixes(&self, name: &str) -> &[String] {
        match self.values.get(name) {
            Some(ParamValue::Prefixes(v)) => v,
            other => panic!("parameter {name} is not a prefix list: {other:?}"),
        }
    }

    /// Every parameter with its value, as text (for the report and the findings' evidence).
    pub fn describe(&self) -> Vec<(String, String)> {
        self.values
            .iter()
            .map(|(name, value)| {
                let text = match value {
                    ParamValue::Int(v) => v.to_string(),
                    ParamValue::Prefixes(v) => v.join("|"),
                };
                ((*name).to_owned(), text)
            })
            .collect()
    }
}

/// The days a run flags: day numbers (days since 1970-01-01) of the year's first and last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearSpan {
    /// The year.
    pub year: i32,
    /// Its 1 January, as days since 1970-01-01.
    pub first_day: i64,
    /// Its 31 December, as days since 1970-01-01.
    pub last_day: i64,
}

impl YearSpan {
    fn of(year: i32) -> Result<YearSpan, BatchError> {
        let day = |m: u32, d: u32| {
            chrono::NaiveDate::from_ymd_opt(year, m, d)
                .map(|date| (date - chrono::NaiveDate::default()).num_days())
        };
        if !(YEAR_RANGE.0..=YEAR_RANGE.1).contains(&year) {
            return Err(BatchError::bad(
                "year",
                format!("{year} is outside {}–{}", YEAR_RANGE.0, YEAR_RANGE.1),
            ));
        }
        match (day(1, 1), day(12, 31)) {
            (Some(first_day), Some(last_day)) => Ok(YearSpan {
                year,
                first_day,
                last_day,
            }),
            _ => Err(BatchError::bad("year", format!("{year} is not a year"))),
        }
    }

    /// The months read: the year before (history for windows that reach back), the year, and
    /// the year after (stays that began in the year and were settled after it).
    fn months(&self) -> (String, String) {
        (
            format!("{:04}-01", self.year - 1),
            format!("{:04}-12", self.year + 1),
        )
    }
}

/// A batch rule: a documented query with typed parameters.
#[derive(Debug, Clone, Copy)]
pub struct BatchRule {
    /// The catalog id (smart-audit §3), as in `data/audit/rules.toml`.
    pub rule_id: &'static str,
    /// The Chinese name.
    pub name: &'static str,
    /// How the rule decides (shown by the CLI and in docs/AUDIT.md).
    pub method: &'static str,
    /// What one hit means.
    pub hit: &'static str,
    /// Its parameters.
    pub params: &'static [ParamSpec],
    /// The query: the uniform finding columns ([`FINDING_COLUMNS`]) for the year.
    pub(crate) sql: fn(&RuleParams, &YearSpan) -> String,
    /// The finding's message (`vola_cont`).
    pub(crate) message: fn(&BatchFinding) -> String,
}

/// The columns every rule's query returns, in this order.
pub const FINDING_COLUMNS: [&str; 14] = [
    "psn_pseudonym",
    "fixmedins_code",
    "setl_id",
    "mdtrt_id",
    "begin_date",
    "end_date",
    "other_fixmedins_code",
    "other_setl_id",
    "other_mdtrt_id",
    "other_begin_date",
    "other_end_date",
    "measure",
    "fund_pay_sumamt",
    "code",
];

/// One hit of a batch rule: the flagged settlement (a stay's first settlement for inpatient
/// rules) and, for rules about two encounters, the other one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchFinding {
    /// The rule.
    pub rule_id: String,
    /// The person's export pseudonym.
    pub psn_pseudonym: String,
    /// The institution of the flagged encounter.
    pub fixmedins_code: String,
    /// The flagged settlement.
    pub setl_id: String,
    /// The flagged encounter.
    pub mdtrt_id: String,
    /// Its first day (`YYYY-MM-DD`).
    pub begin_date: String,
    /// Its last day (a stay's discharge day), when known.
    pub end_date: Option<String>,
    /// The other encounter's institution.
    pub other_fixmedins_code: Option<String>,
    /// The other encounter's settlement.
    pub other_setl_id: Option<String>,
    /// The other encounter.
    pub other_mdtrt_id: Option<String>,
    /// The other encounter's first day (for frequent visits: the window's first visit).
    pub other_begin_date: Option<String>,
    /// The other encounter's last day.
    pub other_end_date: Option<String>,
    /// The rule's measure: days of overlap, days since the discharge, visits in the window …
    pub measure: i64,
    /// The fund's payment of the flagged encounter, exact decimal yuan (`fund_pay_sumamt`).
    pub fund_pay_sumamt: String,
    /// A code the message names (the main diagnosis, the 医疗类别), when the rule has one.
    pub code: Option<String>,
    /// The statistics behind a model's hit (`key=value;…`: the peer group, its size, median,
    /// the limit crossed), so the hit can be reproduced; `None` for the rules.
    pub evidence: Option<String>,
    /// The message (`vola_cont`).
    pub vola_cont: String,
}

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct BatchOptions {
    /// The year whose encounters are flagged.
    pub year: i32,
    /// Only these rules (empty: all of [`rules`]).
    pub rules: Vec<String>,
    /// Parameters as `(RULE.name, value)`; the others keep their defaults.
    pub params: Vec<(String, String)>,
}

/// One rule's result.
#[derive(Debug, Clone)]
pub struct RuleReport {
    /// The rule.
    pub rule: &'static BatchRule,
    /// The parameters it ran with.
    pub params: RuleParams,
    /// Its hits, ordered by day, person and settlement.
    pub findings: Vec<BatchFinding>,
}

/// A run's result.
#[derive(Debug, Clone)]
pub struct BatchReport {
    /// The year.
    pub year: i32,
    /// Files of the export checked.
    pub files: u64,
    /// Rows they hold.
    pub rows: u64,
    /// Per rule, in [`rules`]'s order.
    pub rules: Vec<RuleReport>,
}

/// The rule of `rule_id`.
pub fn rule(rule_id: &str) -> Option<&'static BatchRule> {
    rules().find(|r| r.rule_id == rule_id)
}

/// The rules chosen and their parameters, checked: an unknown rule or parameter, a value that
/// does not parse or lies outside its range is an error naming it.
pub fn resolve(
    options: &BatchOptions,
) -> Result<Vec<(&'static BatchRule, RuleParams)>, BatchError> {
    for id in &options.rules {
        if rule(id).is_none() {
            let known: Vec<&str> = rules().map(|r| r.rule_id).collect();
            return Err(BatchError::bad(
                "rule",
                format!("no batch rule {id} (known: {})", known.join(", ")),
            ));
        }
    }
    let mut params: BTreeMap<&'static str, RuleParams> = rules()
        .map(|r| {
            let values = r
                .params
                .iter()
                .map(|p| {
                    let value = match p.kind {
                        ParamKind::Int { default, .. } => ParamValue::Int(default),
                        ParamKind::Prefixes { default } => {
                            ParamValue::Prefixes(default.iter().map(|s| (*s).to_owned()).collect())
                        }
                    };
                    (p.name, value)
                })
                .collect();
            (r.rule_id, RuleParams { values })
        })
        .collect();
    for (key, text) in &options.params {
        let (rule_id, name) = key.split_once('.').ok_or_else(|| {
            BatchError::bad(
                key.as_str(),
                "a parameter is named RULE.name (BHV-01.interval_days)",
            )
        })?;
        let target = rule(rule_id)
            .ok_or_else(|| BatchError::bad(key.as_str(), format!("no batch rule {rule_id}")))?;
        let spec = target
            .params
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = target.params.iter().map(|p| p.name).collect();
                BatchError::bad(
                    key.as_str(),
                    format!(
                        "rule {rule_id} has no parameter {name} (its parameters: {})",
                        names.join(", ")
                    ),
                )
            })?;
        let value = parse_param(key, spec, text)?;
        params
            .get_mut(target.rule_id)
            .expect("every rule has its parameters")
            .values
            .insert(spec.name, value);
    }
    Ok(rules()
        .filter(|r| options.rules.is_empty() || options.rules.iter().any(|id| id == r.rule_id))
        .map(|r| (r, params.remove(r.rule_id).unwrap_or_default()))
        .collect())
}

fn parse_param(key: &str, spec: &ParamSpec, text: &str) -> Result<ParamValue, BatchError> {
    match spec.kind {
        ParamKind::Int { min, max, .. } => {
            let value: i64 = text
                .trim()
                .parse()
                .map_err(|_| BatchError::bad(key, format!("`{text}` is not a whole number")))?;
            if !(min..=max).contains(&value) {
                return Err(BatchError::bad(
                    key,
                    format!("{value} is outside the allowed range {min}–{max}"),
                ));
            }
            Ok(ParamValue::Int(value))
        }
        ParamKind::Prefixes { .. } => {
            let mut prefixes = Vec::new();
            for part in text.split('|').map(str::trim).filter(|p| !p.is_empty()) {
                let ok = part.len() <= 10
                    && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.');
                if !ok {
                    return Err(BatchError::bad(
                        key,
                        format!("`{part}` is not a code prefix (letters, digits, dots; ≤ 10)"),
                    ));
                }
                prefixes.push(part.to_owned());
            }
            Ok(ParamValue::Prefixes(prefixes))
        }
    }
}

/// Whether the export holds settlements of `year` (a partition of one of its months).
fn year_has_data(manifest: &Manifest, year: i32) -> bool {
    let wanted = format!("month={year:04}-");
    manifest
        .tables
        .get(ExportTable::Settlements.name())
        .is_some_and(|t| t.partitions.keys().any(|key| key.contains(&wanted)))
}

/// Opens the export at `dir` in a new local DataFusion session (see [`register_export`]).
pub async fn open_export(dir: &Path) -> Result<SessionContext, BatchError> {
    let ctx = SessionContext::new();
    register_export(&ctx, dir).await?;
    Ok(ctx)
}

/// Registers the export at `dir` in the session `ctx` (local, or a cluster's client session):
/// every table under its directory's name, the claim tables with their partition columns
/// `admdvs` and `month` (text).
pub async fn register_export(ctx: &SessionContext, dir: &Path) -> Result<(), BatchError> {
    let dir = std::fs::canonicalize(dir).map_err(BatchError::io(dir))?;
    for table in ExportTable::ALL {
        let path = dir.join(table.name());
        let url = format!("{}/", path.to_string_lossy());
        let schema = arrays::schema(table);
        let mut options = ParquetReadOptions::default().schema(schema.as_ref());
        if table.partitioned() {
            options = options.table_partition_cols(
                PARTITION_COLUMNS
                    .iter()
                    .map(|c| ((*c).to_owned(), DataType::Utf8))
                    .collect(),
            );
        }
        ctx.register_parquet(table.name(), &url, options)
            .await
            .map_err(|e| BatchError::file(&path, format!("registering the table: {e}")))?;
    }
    Ok(())
}

/// The views every rule reads, over the months of `span`: `claims` (the settlements that
/// stand), `visits` (their outpatient and pharmacy encounters), `stays` (inpatient stays,
/// one row per stay whatever its number of settlements), `lines` (the fee lines of the claims
/// that stand, with their day) and `peers` (each institution's peer group: region × type ×
/// level, smart-audit §4).
fn views(span: &YearSpan) -> Vec<String> {
    let (first, last) = span.months();
    vec![
        format!(
            "CREATE VIEW claims AS \
             SELECT setl_id, mdtrt_id, psn_pseudonym, fixmedins_code, med_type, visit_kind, \
                    dise_codg, dept_code, setl_time, TRY_CAST(begntime AS DATE) AS begn_date, \
                    TRY_CAST(endtime AS DATE) AS end_date, fund_pay_sumamt \
             FROM settlements \
             WHERE setl_sign = 1 AND refd_setl_flag = 0 \
               AND \"month\" >= '{first}' AND \"month\" <= '{last}'"
        ),
        "CREATE VIEW visits AS \
         SELECT setl_id, mdtrt_id, psn_pseudonym AS psn, fixmedins_code AS inst, med_type, \
                CAST(begn_date AS VARCHAR) AS visit_day, CAST(begn_date AS BIGINT) AS visit_n, \
                fund_pay_sumamt AS fund \
         FROM claims WHERE visit_kind = 'otp' AND begn_date IS NOT NULL"
            .to_owned(),
        "CREATE VIEW stays AS \
         SELECT mdtrt_id, MIN(psn_pseudonym) AS psn, MIN(fixmedins_code) AS inst, \
                MIN(setl_id) AS setl_id, MIN(dise_codg) AS dx, \
                CAST(MIN(begn_date) AS VARCHAR) AS adm, CAST(MIN(begn_date) AS BIGINT) AS adm_n, \
                CAST(MAX(end_date) AS VARCHAR) AS dscg, CAST(MAX(end_date) AS BIGINT) AS dscg_n, \
                SUM(fund_pay_sumamt) AS fund \
         FROM claims WHERE visit_kind = 'ipt' AND begn_date IS NOT NULL GROUP BY mdtrt_id"
            .to_owned(),
        format!(
            "CREATE VIEW lines AS \
             SELECT f.setl_id, f.mdtrt_id, c.psn_pseudonym AS psn, c.fixmedins_code AS inst, \
                    c.visit_kind, c.med_type, f.med_list_codg AS item, \
                    f.med_chrgitm_type AS cat, f.cnt, f.det_item_fee_sumamt AS amt, \
                    CAST(TRY_CAST(substr(f.fee_ocur_time, 1, 10) AS DATE) AS BIGINT) AS fee_n, \
                    CAST(TRY_CAST(substr(f.fee_ocur_time, 1, 10) AS DATE) AS VARCHAR) AS fee_day \
             FROM fee_lines f JOIN claims c ON f.setl_id = c.setl_id \
             WHERE f.\"month\" >= '{first}' AND f.\"month\" <= '{last}'"
        ),
        "CREATE VIEW peers AS \
         SELECT fixmedins_code AS inst, \
                concat(admdvs, '/', fixmedins_type, '/', hosp_lv) AS peer_group \
         FROM institutions"
            .to_owned(),
    ]
}

/// Runs the batch rules over the export at `dir` in a local DataFusion session
/// ([`run_batch_in`]).
pub async fn run_batch(
    dir: &Path,
    options: &BatchOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<BatchReport, BatchError> {
    run_batch_in(SessionContext::new(), dir, options, progress).await
}

/// Runs the batch rules over the export at `dir` in the session `ctx` (a local one, or the
/// client session of a cluster whose executors read the same files): the options checked first
/// (nothing read on a bad rule, parameter or year), then the export (`check_export`: manifest,
/// schema version, every file present and whole), then whether the year has settlements;
/// `progress` is told of each step.
pub async fn run_batch_in(
    ctx: SessionContext,
    dir: &Path,
    options: &BatchOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<BatchReport, BatchError> {
    let span = YearSpan::of(options.year)?;
    let chosen = resolve(options)?;
    progress(&format!("checking the export {}", dir.display()));
    let check = check_export(dir)?;
    let manifest = Manifest::read(dir)?
        .ok_or_else(|| BatchError::file(dir.join(crate::manifest::MANIFEST_FILE), "no manifest"))?;
    if !year_has_data(&manifest, span.year) {
        return Err(BatchError::bad(
            "year",
            format!(
                "the export {} has no settlements in {} (no partition month={}-…)",
                dir.display(),
                span.year,
                span.year
            ),
        ));
    }
    progress(&format!(
        "{} files, {} rows; registering the tables",
        check.files, check.rows
    ));
    register_export(&ctx, dir).await?;
    for view in views(&span) {
        run_sql(&ctx, "views", &view).await?;
    }
    let mut report = BatchReport {
        year: span.year,
        files: check.files,
        rows: check.rows,
        rules: Vec::new(),
    };
    let n = chosen.len();
    for (idx, (rule, params)) in chosen.into_iter().enumerate() {
        progress(&format!(
            "[{}/{n}] {} {}: running",
            idx + 1,
            rule.rule_id,
            rule.name
        ));
        let sql = (rule.sql)(&params, &span);
        let batches = run_sql(&ctx, rule.rule_id, &sql).await?;
        let mut findings = Vec::new();
        for batch in &batches {
            findings.extend(read_findings(rule, batch)?);
        }
        progress(&format!(
            "[{}/{n}] {}: {} hits",
            idx + 1,
            rule.rule_id,
            findings.len()
        ));
        report.rules.push(RuleReport {
            rule,
            params,
            findings,
        });
    }
    Ok(report)
}

async fn run_sql(
    ctx: &SessionContext,
    rule: &str,
    sql: &str,
) -> Result<Vec<RecordBatch>, BatchError> {
    let failed = |e: datafusion::error::DataFusionError| BatchError::Query {
        rule: rule.to_owned(),
        reason: e.to_string(),
    };
    let frame = ctx.sql(sql).await.map_err(failed)?;
    frame.collect().await.map_err(failed)
}

/// A result column as text (whatever string type the engine chose), or an error naming it.
fn text_column(
    rule: &BatchRule,
    batch: &RecordBatch,
    name: &str,
) -> Result<StringArray, BatchError> {
    let column: &ArrayRef = batch
        .column_by_name(name)
        .ok_or_else(|| BatchError::Query {
            rule: rule.rule_id.to_owned(),
            reason: format!("the query gave no column {name}"),
        })?;
    let cast = arrow::compute::cast(column, &DataType::Utf8).map_err(|e| BatchError::Query {
        rule: rule.rule_id.to_owned(),
        reason: format!("column {name}: {e}"),
    })?;
    Ok(cast
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("cast to Utf8 gives a StringArray")
        .clone())
}

fn read_findings(rule: &BatchRule, batch: &RecordBatch) -> Result<Vec<BatchFinding>, BatchError> {
    let mut texts = Vec::new();
    for name in FINDING_COLUMNS {
        if name != "measure" {
            texts.push((name, text_column(rule, batch, name)?));
        }
    }
    let measure = batch
        .column_by_name("measure")
        .ok_or_else(|| BatchError::Query {
            rule: rule.rule_id.to_owned(),
            reason: "the query gave no column measure".into(),
        })?;
    let measure =
        arrow::compute::cast(measure, &DataType::Int64).map_err(|e| BatchError::Query {
            rule: rule.rule_id.to_owned(),
            reason: format!("column measure: {e}"),
        })?;
    let measure = measure
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("cast to Int64 gives an Int64Array");
    // The models' evidence column; the rules have none.
    let evidence = match batch.column_by_name("evidence") {
        Some(_) => Some(text_column(rule, batch, "evidence")?),
        None => None,
    };
    let get = |name: &str, row: usize| -> Option<String> {
        let (_, array) = texts.iter().find(|(n, _)| *n == name)?;
        (!array.is_null(row)).then(|| array.value(row).to_owned())
    };
    let mut findings = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        let mut finding = BatchFinding {
            rule_id: rule.rule_id.to_owned(),
            psn_pseudonym: get("psn_pseudonym", row).unwrap_or_default(),
            fixmedins_code: get("fixmedins_code", row).unwrap_or_default(),
            setl_id: get("setl_id", row).unwrap_or_default(),
            mdtrt_id: get("mdtrt_id", row).unwrap_or_default(),
            begin_date: get("begin_date", row).unwrap_or_default(),
            end_date: get("end_date", row),
            other_fixmedins_code: get("other_fixmedins_code", row),
            other_setl_id: get("other_setl_id", row),
            other_mdtrt_id: get("other_mdtrt_id", row),
            other_begin_date: get("other_begin_date", row),
            other_end_date: get("other_end_date", row),
            measure: if measure.is_null(row) {
                0
            } else {
                measure.value(row)
            },
            fund_pay_sumamt: get("fund_pay_sumamt", row).unwrap_or_default(),
            code: get("code", row),
            evidence: evidence
                .as_ref()
                .and_then(|a| (!a.is_null(row)).then(|| a.value(row).to_owned())),
            vola_cont: String::new(),
        };
        finding.vola_cont = (rule.message)(&finding);
        findings.push(finding);
    }
    Ok(findings)
}

/// A day number's SQL literal range test: `expr BETWEEN first AND last` of the year.
pub(crate) fn in_year(expr: &str, span: &YearSpan) -> String {
    format!("{expr} BETWEEN {} AND {}", span.first_day, span.last_day)
}

/// The SQL of a finding's uniform columns from an inner query's columns of the same names,
/// ordered for a stable report.
pub(crate) fn select_findings(from: &str) -> String {
    format!(
        "SELECT {} FROM {from} ORDER BY begin_date, psn_pseudonym, setl_id",
        FINDING_COLUMNS.join(", ")
    )
}

/// [`select_findings`] with the models' `evidence` column as well, ordered for a stable report
/// (institution-level hits have no person or settlement).
pub(crate) fn select_model_findings(from: &str) -> String {
    format!(
        "SELECT {}, evidence FROM {from} \
         ORDER BY begin_date, fixmedins_code, psn_pseudonym, setl_id, code",
        FINDING_COLUMNS.join(", ")
    )
}
