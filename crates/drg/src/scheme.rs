//! The CHS-DRG 1.1 scheme: loaded from its tables (text in, no file system), checked for internal
//! consistency and compiled into integer sets and predicate trees for grouping.

use std::fmt::Write as _;

use crate::codes::{CodeFacts, DxInfo, Facts, Interner, LoadMap, CODE_UNKNOWN};
use crate::predicate::{CmpOp, Field, Guard, Pred, SetIdx};
use crate::raw::{
    AdrgFile, CodeNameRow, DrgNameRow, ExclusionsFile, MccCcFile, MdcFile, RawAdrg, RawPred,
};
use crate::CcLevel;

/// Trauma body regions are counted in a `u32` bitmask.
const TRAUMA_REGIONS_MAX: usize = 32;
/// The MDCs a case entered are traced in a `u64` bitmask (CHS-DRG has 26).
const MDCS_MAX: usize = 64;

/// The text of the six scheme files. The library never reads files; the caller does, using the
/// file names below.
#[derive(Debug, Clone, Copy)]
pub struct SchemeFiles<'a> {
    /// `mdc.json`: MDC order, entry conditions, principal-diagnosis lists, QY checks.
    pub mdc_json: &'a str,
    /// `adrg.json`: the ADRGs in evaluation order with conditions, lists and DRG splits.
    pub adrg_json: &'a str,
    /// `mcc_cc.json`: MCC and CC codes with their exclusion-table ids.
    pub mcc_cc_json: &'a str,
    /// `exclusions.json`: principal diagnosis → exclusion-table id.
    pub exclusions_json: &'a str,
    /// `drg_names.csv`: every DRG with its ADRG, MDC, suffix, split and name.
    pub drg_names_csv: &'a str,
    /// `or_procedures.csv`: the valid OR procedures (有效手术操作).
    pub or_procedures_csv: &'a str,
}

/// The text of one of the project's own scheme files (`data/chs-drg-1.1/`), compiled in.
macro_rules! carried_file {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/chs-drg-1.1/",
            $name
        ))
    };
}

impl SchemeFiles<'static> {
    /// The project's own copy of the CHS-DRG 1.1 tables (`data/chs-drg-1.1/`), compiled into
    /// the binary: for callers that group without a scheme directory (the server's settlement
    /// lists, the CLI moved away from its checkout) and for tests.
    pub const CARRIED: SchemeFiles<'static> = SchemeFiles {
        mdc_json: carried_file!("mdc.json"),
        adrg_json: carried_file!("adrg.json"),
        mcc_cc_json: carried_file!("mcc_cc.json"),
        exclusions_json: carried_file!("exclusions.json"),
        drg_names_csv: carried_file!("drg_names.csv"),
        or_procedures_csv: carried_file!("or_procedures.csv"),
    };
}

impl SchemeFiles<'_> {
    /// File name of [`SchemeFiles::mdc_json`] in the scheme directory.
    pub const MDC_JSON: &'static str = "mdc.json";
    /// File name of [`SchemeFiles::adrg_json`].
    pub const ADRG_JSON: &'static str = "adrg.json";
    /// File name of [`SchemeFiles::mcc_cc_json`].
    pub const MCC_CC_JSON: &'static str = "mcc_cc.json";
    /// File name of [`SchemeFiles::exclusions_json`].
    pub const EXCLUSIONS_JSON: &'static str = "exclusions.json";
    /// File name of [`SchemeFiles::drg_names_csv`].
    pub const DRG_NAMES_CSV: &'static str = "drg_names.csv";
    /// File name of [`SchemeFiles::or_procedures_csv`].
    pub const OR_PROCEDURES_CSV: &'static str = "or_procedures.csv";
}

/// Why a scheme could not be loaded. Each variant names the file or the scheme object at fault.
#[derive(Debug, thiserror::Error)]
pub enum SchemeError {
    /// A JSON file does not parse into the expected shape.
    #[error("{file}: {source}")]
    Json {
        /// The file name.
        file: &'static str,
        /// The parser's error (with line and column).
        source: serde_json::Error,
    },
    /// A CSV file does not parse into the expected columns.
    #[error("{file}: {source}")]
    Csv {
        /// The file name.
        file: &'static str,
        /// The parser's error (with the record position).
        source: csv::Error,
    },
    /// A reference to something the scheme does not define.
    #[error("{owner}: unknown {kind} `{name}`")]
    Unknown {
        /// The MDC, ADRG or DRG holding the reference.
        owner: String,
        /// What kind of thing is referred to (list, table, field, comparison, split, ADRG, MDC).
        kind: &'static str,
        /// The name that did not resolve.
        name: String,
    },
    /// A code or key that must be unique appears twice.
    #[error("{file}: duplicate {kind} `{code}`")]
    Duplicate {
        /// The file name.
        file: &'static str,
        /// What is duplicated.
        kind: &'static str,
        /// The duplicated code.
        code: String,
    },
    /// The files contradict each other or break a rule of the scheme's format.
    #[error("{owner}: {reason}")]
    Inconsistent {
        /// The object at fault.
        owner: String,
        /// What is wrong.
        reason: String,
    },
}

/// Index of an MDC in [`Scheme::mdcs`] (evaluation order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MdcIdx(pub(crate) u8);

/// Index of an ADRG in [`Scheme::adrgs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AdrgIdx(pub(crate) u16);

/// Index of a DRG in [`Scheme::drgs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DrgIdx(pub(crate) u16);

/// An exclusion table (排除表) of the scheme; its name is [`Scheme::exclusion_table_name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExclusionTable(pub(crate) u16);

macro_rules! index_accessor {
    ($ty:ident) => {
        impl $ty {
            /// The position in the scheme's list.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}
index_accessor!(MdcIdx);
index_accessor!(AdrgIdx);
index_accessor!(DrgIdx);

/// Where an ADRG sits in its MDC, from the second letter of its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// Surgical (外科手术部分): second letter A–J.
    Surgical,
    /// Non-OR procedures (非手术室操作部分): second letter K–Q.
    NonOrProcedure,
    /// Medical (内科部分): second letter R–Z.
    Medical,
}

/// How a DRG's final digit is decided (tried in the ADRG's order; the first true one wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// Suffix 1: an unexcluded secondary MCC.
    Mcc,
    /// Suffix 3: an unexcluded secondary MCC or CC.
    MccOrCc,
    /// Suffix 5 or 9: always.
    Always,
}

impl Split {
    fn parse(text: &str) -> Option<Split> {
        match text {
            "mcc" => Some(Split::Mcc),
            "mcc_or_cc" => Some(Split::MccOrCc),
            "always" => Some(Split::Always),
            _ => None,
        }
    }

    /// Whether a case with this CC level takes the DRG.
    pub fn holds(self, level: CcLevel) -> bool {
        match self {
            Split::Mcc => level == CcLevel::Mcc,
            Split::MccOrCc => level >= CcLevel::Cc,
            Split::Always => true,
        }
    }
}

/// A major diagnostic category (主要诊断大类) as the scheme defines it.
#[derive(Debug, Clone)]
pub struct MdcInfo {
    /// `MDCA` … `MDCZ`.
    pub code: String,
    /// The entry condition, written out as text for traces.
    pub entry_condition: String,
    /// The principal diagnoses that may enter this MDC (empty for MDCA, which enters by procedure).
    pub principal_diagnoses: Vec<String>,
    /// The MDC's ADRGs in evaluation order.
    pub adrgs: Vec<AdrgIdx>,
    /// The QY result code (`AQY` …) if the MDC has a QY check at all.
    pub ambiguous_result_code: Option<String>,
}

/// The code lists an ADRG's condition reads.
#[derive(Debug, Clone, Default)]
pub struct AdrgLists {
    /// `diagnoses`: principal (or, for PS1–PS4/YC1, any) diagnoses.
    pub diagnoses: Vec<String>,
    /// `procedures`: main (or, for double-procedure ADRGs, any) procedures.
    pub procedures: Vec<String>,
    /// `procedures2`: the second list of a double-procedure ADRG.
    pub procedures2: Vec<String>,
    /// `procedure_classes`: tagged procedure sublists (NA1, JA1, JA2), in file order.
    pub procedure_classes: Vec<(String, Vec<String>)>,
}

/// An ADRG (核心疾病诊断相关分组) as the scheme defines it.
#[derive(Debug, Clone)]
pub struct AdrgInfo {
    /// Three characters, e.g. `FM1`.
    pub code: String,
    /// The DRG name without its CC suffix.
    pub name: String,
    /// The MDC that holds it.
    pub mdc: MdcIdx,
    /// Surgical, non-OR procedure or medical.
    pub section: Section,
    /// OpenDRG's Chinese description of the match rule (e.g. `主诊断匹配、主手术匹配`).
    pub rule_text: String,
    /// The condition written out as text for traces.
    pub condition: String,
    /// The code lists the condition reads.
    pub lists: AdrgLists,
    /// Its DRGs in split order.
    pub drgs: Vec<DrgIdx>,
}

/// A DRG (疾病诊断相关分组), one row of `drg_names.csv`.
#[derive(Debug, Clone)]
pub struct DrgInfo {
    /// Four characters, e.g. `FM19`.
    pub code: String,
    /// Its ADRG.
    pub adrg: AdrgIdx,
    /// Its MDC.
    pub mdc: MdcIdx,
    /// The final digit: `1`, `3`, `5` or `9`.
    pub suffix: char,
    /// How the final digit is decided.
    pub split: Split,
    /// The DRG's Chinese name.
    pub name: String,
}

/// A valid OR procedure (有效手术操作), one row of `or_procedures.csv`.
#[derive(Debug, Clone)]
pub struct OrProcedure {
    /// The ICD-9-CM-3 医保版 2.0 code.
    pub code: String,
    /// Its Chinese name.
    pub name: String,
}

const NO_TABLE: u16 = 0;
/// Exclusion-table ids are packed into 16 bits of a code's facts.
const EXCLUSION_TABLES_MAX: usize = u16::MAX as usize;

/// The compiled form of an MDC.
#[derive(Debug)]
pub(crate) struct MdcRule {
    pub(crate) entry: Pred,
    /// `entry.guard()`, kept beside it.
    pub(crate) entry_guard: Guard,
    pub(crate) adrgs: Box<[AdrgIdx]>,
    pub(crate) qy: Option<QyRule>,
}

/// The compiled QY check of an MDC.
#[derive(Debug)]
pub(crate) struct QyRule {
    /// Tried before the ADRG at this position of the MDC's order (0: before the first).
    pub(crate) slot: usize,
    pub(crate) enabled_in_scheme: bool,
    pub(crate) condition: Pred,
}

/// The compiled form of an ADRG.
#[derive(Debug)]
pub(crate) struct AdrgRule {
    pub(crate) condition: Pred,
    /// `condition.guard()`, kept beside it.
    pub(crate) guard: Guard,
    pub(crate) surgical: bool,
    pub(crate) drgs: Box<[(DrgIdx, Split)]>,
}

/// A loaded, compiled CHS-DRG scheme. Immutable; share it by reference between threads.
#[derive(Debug)]
pub struct Scheme {
    pub(crate) dx: CodeFacts,
    pub(crate) px: CodeFacts,
    pub(crate) mdc_rules: Vec<MdcRule>,
    /// For each set id, the MDCs (bit = position in `mdc_rules`) whose entry guard is "the
    /// principal diagnosis is in this set"; ids beyond the end are in no such guard.
    pub(crate) principal_guard_mdcs: Box<[u64]>,
    pub(crate) adrg_rules: Vec<AdrgRule>,
    or_set: SetIdx,
    mdcs: Vec<MdcInfo>,
    adrgs: Vec<AdrgInfo>,
    drgs: Vec<DrgInfo>,
    or_procedures: Vec<OrProcedure>,
    table_names: Vec<String>,
    mcc_codes: Vec<String>,
    cc_codes: Vec<String>,
    drg_by_code: LoadMap<String, DrgIdx>,
    adrg_by_code: LoadMap<String, AdrgIdx>,
}

fn json<'a, T: serde::Deserialize<'a>>(
    file: &'static str,
    text: &'a str,
) -> Result<T, SchemeError> {
    serde_json::from_str(text).map_err(|source| SchemeError::Json { file, source })
}

fn csv_rows<T: serde::de::DeserializeOwned>(
    file: &'static str,
    text: &str,
) -> Result<Vec<T>, SchemeError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    reader
        .deserialize()
        .collect::<Result<Vec<T>, _>>()
        .map_err(|source| SchemeError::Csv { file, source })
}

fn unknown(owner: &str, kind: &'static str, name: &str) -> SchemeError {
    SchemeError::Unknown {
        owner: owner.to_string(),
        kind,
        name: name.to_string(),
    }
}

fn inconsistent(owner: &str, reason: impl Into<String>) -> SchemeError {
    SchemeError::Inconsistent {
        owner: owner.to_string(),
        reason: reason.into(),
    }
}

/// MDC, ADRG, DRG and QY result codes are ASCII letters and digits; callers may write them
/// into JSON or CSV without escaping.
fn check_group_code(owner: &str, code: &str) -> Result<(), SchemeError> {
    if code.is_empty() || code.len() > 8 || !code.bytes().all(|byte| byte.is_ascii_alphanumeric()) {
        return Err(inconsistent(
            owner,
            format!("`{code}` is not 1-8 ASCII letters and digits"),
        ));
    }
    Ok(())
}

/// The section of an ADRG from the second letter of its code.
fn section_of(code: &str) -> Option<Section> {
    match code.as_bytes().get(1)? {
        b'A'..=b'J' => Some(Section::Surgical),
        b'K'..=b'Q' => Some(Section::NonOrProcedure),
        b'R'..=b'Z' => Some(Section::Medical),
        _ => None,
    }
}

/// Writes a predicate as compact text for traces, e.g.
/// `all(principal_dx_in(principal_diagnoses), age_years eq 0)`.
fn render(pred: &RawPred, out: &mut String) {
    let list_or_table = |list: &Option<String>, table: &Option<String>| -> String {
        match (list, table) {
            (Some(list), _) => list.clone(),
            (None, Some(table)) => table.clone(),
            (None, None) => String::new(),
        }
    };
    match pred {
        RawPred::True => out.push_str("true"),
        RawPred::All { args } | RawPred::Any { args } => {
            out.push_str(if matches!(pred, RawPred::All { .. }) {
                "all("
            } else {
                "any("
            });
            for (arg_idx, arg) in args.iter().enumerate() {
                if arg_idx > 0 {
                    out.push_str(", ");
                }
                render(arg, out);
            }
            out.push(')');
        }
        RawPred::Not { arg } => {
            out.push_str("not(");
            render(arg, out);
            out.push(')');
        }
        RawPred::PrincipalDxIn { list } => {
            let _ = write!(out, "principal_dx_in({list})");
        }
        RawPred::AnyDxIn { list } => {
            let _ = write!(out, "any_dx_in({list})");
        }
        RawPred::MainProcedureIn { list, table } => {
            let _ = write!(out, "main_procedure_in({})", list_or_table(list, table));
        }
        RawPred::AnyProcedureIn { list, table } => {
            let _ = write!(out, "any_procedure_in({})", list_or_table(list, table));
        }
        RawPred::ProcedureClassPresent { class } => {
            let _ = write!(out, "procedure_class_present({class})");
        }
        RawPred::Cmp { field, cmp, value } => {
            let _ = write!(out, "{field} {cmp} {value}");
        }
        RawPred::DistinctTraumaRegionsGe { value } => {
            let _ = write!(out, "distinct_trauma_regions_ge({value})");
        }
    }
}

fn render_text(pred: &RawPred) -> String {
    let mut text = String::new();
    render(pred, &mut text);
    text
}

/// Where the lists named by a predicate live: an ADRG's `lists` or an MDC's principal list.
enum ListScope<'r> {
    Adrg(&'r RawAdrg),
    Mdc {
        principal_diagnoses: &'r [String],
        has_trauma_regions: bool,
    },
}

/// Compiles raw predicates into [`Pred`], turning each named list into a set id once and
/// recording that id on every code of the list.
struct Compiler<'s> {
    dx: &'s Interner,
    px: &'s Interner,
    /// Per diagnosis id, the sets that contain it.
    dx_members: Vec<Vec<u32>>,
    /// Per procedure id, the sets that contain it.
    px_members: Vec<Vec<u32>>,
    n_sets: u32,
    or_set: SetIdx,
}

impl Compiler<'_> {
    fn next_set(&mut self) -> SetIdx {
        let idx = SetIdx(self.n_sets);
        self.n_sets = self.n_sets.checked_add(1).expect("fewer than 2^32 sets");
        idx
    }

    fn dx_set(&mut self, codes: &[String]) -> SetIdx {
        let idx = self.next_set();
        for code in codes {
            let id = self.dx.lookup(code);
            assert!(id != CODE_UNKNOWN, "pass 1 interned every list code");
            self.dx_members[id as usize].push(idx.0);
        }
        idx
    }

    fn px_set(&mut self, codes: &[String]) -> SetIdx {
        let idx = self.next_set();
        for code in codes {
            let id = self.px.lookup(code);
            assert!(id != CODE_UNKNOWN, "pass 1 interned every list code");
            self.px_members[id as usize].push(idx.0);
        }
        idx
    }

    fn procedure_set(
        &mut self,
        owner: &str,
        scope: &ListScope<'_>,
        list: &Option<String>,
        table: &Option<String>,
        cache: &mut LoadMap<String, SetIdx>,
    ) -> Result<SetIdx, SchemeError> {
        match (list, table) {
            (None, Some(table)) if table == "or_procedures" => Ok(self.or_set),
            (None, Some(table)) => Err(unknown(owner, "table", table)),
            (Some(list), None) => {
                if let Some(&idx) = cache.get(list) {
                    return Ok(idx);
                }
                let codes = match (scope, list.as_str()) {
                    (ListScope::Adrg(adrg), "procedures") => &adrg.lists.procedures,
                    (ListScope::Adrg(adrg), "procedures2") => &adrg.lists.procedures2,
                    _ => return Err(unknown(owner, "procedure list", list)),
                };
                if codes.is_empty() {
                    return Err(inconsistent(owner, format!("list `{list}` is empty")));
                }
                let idx = self.px_set(codes);
                cache.insert(list.clone(), idx);
                Ok(idx)
            }
            _ => Err(inconsistent(
                owner,
                "a procedure test names both or neither of list and table",
            )),
        }
    }

    fn diagnosis_set(
        &mut self,
        owner: &str,
        scope: &ListScope<'_>,
        list: &str,
        cache: &mut LoadMap<String, SetIdx>,
    ) -> Result<SetIdx, SchemeError> {
        if let Some(&idx) = cache.get(list) {
            return Ok(idx);
        }
        let codes = match (scope, list) {
            (ListScope::Adrg(adrg), "diagnoses") => &adrg.lists.diagnoses[..],
            (
                ListScope::Mdc {
                    principal_diagnoses,
                    ..
                },
                "principal_diagnoses",
            ) => principal_diagnoses,
            _ => return Err(unknown(owner, "diagnosis list", list)),
        };
        if codes.is_empty() {
            return Err(inconsistent(owner, format!("list `{list}` is empty")));
        }
        let idx = self.dx_set(codes);
        cache.insert(list.to_string(), idx);
        Ok(idx)
    }

    /// The set of codes whose class is `class`: a code's class is the first class listing it.
    fn class_set(
        &mut self,
        owner: &str,
        scope: &ListScope<'_>,
        class: &str,
        cache: &mut LoadMap<String, SetIdx>,
    ) -> Result<SetIdx, SchemeError> {
        let key = format!("class:{class}");
        if let Some(&idx) = cache.get(&key) {
            return Ok(idx);
        }
        let ListScope::Adrg(adrg) = scope else {
            return Err(unknown(owner, "procedure class", class));
        };
        let Some(classes) = &adrg.lists.procedure_classes else {
            return Err(unknown(owner, "procedure class", class));
        };
        let mut earlier = std::collections::HashSet::new();
        let mut members = None;
        for (name, codes) in &classes.0 {
            if name == class {
                members = Some(
                    codes
                        .iter()
                        .filter(|code| !earlier.contains(code.as_str()))
                        .cloned()
                        .collect(),
                );
                break;
            }
            earlier.extend(codes.iter().map(String::as_str));
        }
        let Some(members) = members else {
            return Err(unknown(owner, "procedure class", class));
        };
        let members: Vec<String> = members;
        let idx = self.px_set(&members);
        cache.insert(key, idx);
        Ok(idx)
    }

    fn compile(
        &mut self,
        owner: &str,
        scope: &ListScope<'_>,
        pred: &RawPred,
        cache: &mut LoadMap<String, SetIdx>,
    ) -> Result<Pred, SchemeError> {
        Ok(match pred {
            RawPred::True => Pred::True,
            RawPred::All { args } | RawPred::Any { args } => {
                let args = args
                    .iter()
                    .map(|arg| self.compile(owner, scope, arg, cache))
                    .collect::<Result<Vec<_>, _>>()?
                    .into_boxed_slice();
                if matches!(pred, RawPred::All { .. }) {
                    Pred::All(args)
                } else {
                    Pred::Any(args)
                }
            }
            RawPred::Not { arg } => Pred::Not(Box::new(self.compile(owner, scope, arg, cache)?)),
            RawPred::PrincipalDxIn { list } => {
                Pred::PrincipalDxIn(self.diagnosis_set(owner, scope, list, cache)?)
            }
            RawPred::AnyDxIn { list } => {
                Pred::AnyDxIn(self.diagnosis_set(owner, scope, list, cache)?)
            }
            RawPred::MainProcedureIn { list, table } => {
                Pred::MainProcedureIn(self.procedure_set(owner, scope, list, table, cache)?)
            }
            RawPred::AnyProcedureIn { list, table } => {
                Pred::AnyProcedureIn(self.procedure_set(owner, scope, list, table, cache)?)
            }
            RawPred::ProcedureClassPresent { class } => {
                Pred::AnyProcedureIn(self.class_set(owner, scope, class, cache)?)
            }
            RawPred::Cmp { field, cmp, value } => {
                let field = Field::parse(field).ok_or_else(|| unknown(owner, "field", field))?;
                let op = CmpOp::parse(cmp).ok_or_else(|| unknown(owner, "comparison", cmp))?;
                Pred::Cmp {
                    field,
                    op,
                    value: *value,
                }
            }
            RawPred::DistinctTraumaRegionsGe { value } => match scope {
                ListScope::Mdc {
                    has_trauma_regions: true,
                    ..
                } => Pred::TraumaRegionsGe(*value),
                _ => return Err(unknown(owner, "table", "trauma_regions")),
            },
        })
    }
}

/// Every code a predicate's lists name, interned up front so sets can be sized.
fn intern_adrg_lists(adrg: &RawAdrg, dx: &mut Interner, px: &mut Interner) {
    for code in &adrg.lists.diagnoses {
        dx.intern(code);
    }
    for code in adrg.lists.procedures.iter().chain(&adrg.lists.procedures2) {
        px.intern(code);
    }
    if let Some(classes) = &adrg.lists.procedure_classes {
        for (_, codes) in &classes.0 {
            for code in codes {
                px.intern(code);
            }
        }
    }
}

impl Scheme {
    /// Loads and compiles a scheme from the text of its files. Fails, naming the file and the
    /// object, on any parse error, dangling reference or disagreement between the files.
    pub fn load(files: &SchemeFiles<'_>) -> Result<Scheme, SchemeError> {
        let mdc_file: MdcFile = json(SchemeFiles::MDC_JSON, files.mdc_json)?;
        let adrg_file: AdrgFile = json(SchemeFiles::ADRG_JSON, files.adrg_json)?;
        let mcc_cc: MccCcFile = json(SchemeFiles::MCC_CC_JSON, files.mcc_cc_json)?;
        let exclusions: ExclusionsFile = json(SchemeFiles::EXCLUSIONS_JSON, files.exclusions_json)?;
        let drg_rows: Vec<DrgNameRow> = csv_rows(SchemeFiles::DRG_NAMES_CSV, files.drg_names_csv)?;
        let or_rows: Vec<CodeNameRow> =
            csv_rows(SchemeFiles::OR_PROCEDURES_CSV, files.or_procedures_csv)?;

        // Pass 1: intern every code the scheme names, so that sets can be sized to the universe.
        let mut dx = Interner::default();
        let mut px = Interner::default();
        for mdc in &mdc_file.mdcs {
            for code in &mdc.principal_diagnoses {
                dx.intern(code);
            }
            if let Some(regions) = &mdc.trauma_regions {
                for (_, codes) in &regions.0 {
                    for code in codes {
                        dx.intern(code);
                    }
                }
            }
        }
        for adrg in &adrg_file.adrgs {
            intern_adrg_lists(adrg, &mut dx, &mut px);
        }
        for (code, _) in mcc_cc.mcc.0.iter().chain(&mcc_cc.cc.0) {
            dx.intern(code);
        }
        for (code, _) in &exclusions.principal_dx_table.0 {
            dx.intern(code);
        }
        let mut or_seen = std::collections::HashSet::new();
        for row in &or_rows {
            if !or_seen.insert(row.code.as_str()) {
                return Err(SchemeError::Duplicate {
                    file: SchemeFiles::OR_PROCEDURES_CSV,
                    kind: "procedure",
                    code: row.code.clone(),
                });
            }
            px.intern(&row.code);
        }

        // Per-diagnosis facts: CC level and tables, principal exclusion table, trauma region.
        let mut table_names: Vec<String> = vec![String::new()];
        let mut table_ids: LoadMap<String, u16> = LoadMap::default();
        let mut table_id = |name: &str| -> u16 {
            if let Some(&id) = table_ids.get(name) {
                return id;
            }
            // Past the limit ids saturate; the count is checked (and refused) below.
            let id = u16::try_from(table_names.len()).unwrap_or(u16::MAX);
            table_names.push(name.to_string());
            table_ids.insert(name.to_string(), id);
            id
        };
        let mut dx_info = vec![DxInfo::default(); dx.len()];
        for (level, entries, file_kind) in [
            (CcLevel::Mcc, &mcc_cc.mcc, "MCC code"),
            (CcLevel::Cc, &mcc_cc.cc, "CC code"),
        ] {
            for (code, table) in &entries.0 {
                let info = &mut dx_info[dx.lookup(code) as usize];
                if info.cc_level != CcLevel::None {
                    return Err(SchemeError::Duplicate {
                        file: SchemeFiles::MCC_CC_JSON,
                        kind: file_kind,
                        code: code.clone(),
                    });
                }
                info.cc_level = level;
                info.cc_table = table_id(table);
            }
        }
        let mut mcc_codes: Vec<String> =
            mcc_cc.mcc.0.iter().map(|(code, _)| code.clone()).collect();
        let mut cc_codes: Vec<String> = mcc_cc.cc.0.iter().map(|(code, _)| code.clone()).collect();
        mcc_codes.shrink_to_fit();
        cc_codes.shrink_to_fit();
        for (code, table) in &exclusions.principal_dx_table.0 {
            let info = &mut dx_info[dx.lookup(code) as usize];
            if info.principal_table != NO_TABLE {
                return Err(SchemeError::Duplicate {
                    file: SchemeFiles::EXCLUSIONS_JSON,
                    kind: "principal diagnosis",
                    code: code.clone(),
                });
            }
            info.principal_table = table_id(table);
        }
        let trauma_mdcs = mdc_file
            .mdcs
            .iter()
            .filter(|mdc| mdc.trauma_regions.is_some())
            .count();
        if trauma_mdcs > 1 {
            return Err(inconsistent(
                SchemeFiles::MDC_JSON,
                "more than one MDC has trauma_regions",
            ));
        }
        for mdc in &mdc_file.mdcs {
            let Some(regions) = &mdc.trauma_regions else {
                continue;
            };
            if regions.0.len() > TRAUMA_REGIONS_MAX {
                return Err(inconsistent(&mdc.mdc, "more than 32 trauma regions"));
            }
            for (region_idx, (_, codes)) in regions.0.iter().enumerate() {
                for code in codes {
                    let info = &mut dx_info[dx.lookup(code) as usize];
                    // A code's region is the first region listing it.
                    if info.trauma_region_plus_one == 0 {
                        info.trauma_region_plus_one = region_idx as u8 + 1;
                    }
                }
            }
        }

        if table_names.len() > EXCLUSION_TABLES_MAX {
            return Err(inconsistent(
                SchemeFiles::EXCLUSIONS_JSON,
                "more than 65,535 exclusion tables",
            ));
        }
        let or_codes: Vec<String> = or_rows.iter().map(|row| row.code.clone()).collect();
        let mut compiler = Compiler {
            dx: &dx,
            px: &px,
            dx_members: vec![Vec::new(); dx.len()],
            px_members: vec![Vec::new(); px.len()],
            n_sets: 0,
            or_set: SetIdx(0),
        };
        compiler.or_set = compiler.px_set(&or_codes);

        // MDCs, in the scheme's evaluation order.
        let mut raw_mdc_by_code = LoadMap::default();
        for (raw_idx, mdc) in mdc_file.mdcs.iter().enumerate() {
            if raw_mdc_by_code.insert(mdc.mdc.as_str(), raw_idx).is_some() {
                return Err(SchemeError::Duplicate {
                    file: SchemeFiles::MDC_JSON,
                    kind: "MDC",
                    code: mdc.mdc.clone(),
                });
            }
        }
        if mdc_file.mdc_order.len() != mdc_file.mdcs.len() {
            return Err(inconsistent(
                SchemeFiles::MDC_JSON,
                "mdc_order does not list every MDC exactly once",
            ));
        }
        if mdc_file.mdc_order.len() > MDCS_MAX {
            return Err(inconsistent(SchemeFiles::MDC_JSON, "more than 64 MDCs"));
        }
        let mut mdc_idx_by_code: LoadMap<String, MdcIdx> = LoadMap::default();
        for (order_idx, code) in mdc_file.mdc_order.iter().enumerate() {
            check_group_code("mdc_order", code)?;
            if !raw_mdc_by_code.contains_key(code.as_str()) {
                return Err(unknown("mdc_order", "MDC", code));
            }
            if mdc_idx_by_code
                .insert(code.clone(), MdcIdx(order_idx as u8))
                .is_some()
            {
                return Err(SchemeError::Duplicate {
                    file: SchemeFiles::MDC_JSON,
                    kind: "MDC in mdc_order",
                    code: code.clone(),
                });
            }
        }

        // ADRGs, in file order.
        if adrg_file.adrgs.len() > usize::from(u16::MAX) {
            return Err(inconsistent(
                SchemeFiles::ADRG_JSON,
                "more than 65,535 ADRGs",
            ));
        }
        let mut adrg_by_code: LoadMap<String, AdrgIdx> = LoadMap::default();
        let mut adrgs = Vec::with_capacity(adrg_file.adrgs.len());
        let mut adrg_rules = Vec::with_capacity(adrg_file.adrgs.len());
        let mut drgs: Vec<DrgInfo> = Vec::new();
        let mut drg_by_code: LoadMap<String, DrgIdx> = LoadMap::default();
        let drg_rows_by_code: LoadMap<&str, &DrgNameRow> =
            drg_rows.iter().map(|row| (row.drg.as_str(), row)).collect();
        if drg_rows_by_code.len() != drg_rows.len() {
            let mut seen = std::collections::HashSet::new();
            let duplicate = drg_rows.iter().find(|row| !seen.insert(row.drg.as_str()));
            return Err(SchemeError::Duplicate {
                file: SchemeFiles::DRG_NAMES_CSV,
                kind: "DRG",
                code: duplicate.map(|row| row.drg.clone()).unwrap_or_default(),
            });
        }
        for (adrg_pos, raw) in adrg_file.adrgs.iter().enumerate() {
            let adrg_idx = AdrgIdx(adrg_pos as u16);
            let owner = raw.code.as_str();
            check_group_code(owner, &raw.code)?;
            if adrg_by_code.insert(raw.code.clone(), adrg_idx).is_some() {
                return Err(SchemeError::Duplicate {
                    file: SchemeFiles::ADRG_JSON,
                    kind: "ADRG",
                    code: raw.code.clone(),
                });
            }
            let mdc = *mdc_idx_by_code
                .get(&raw.mdc)
                .ok_or_else(|| unknown(owner, "MDC", &raw.mdc))?;
            let section = section_of(&raw.code)
                .ok_or_else(|| inconsistent(owner, "the ADRG code has no section letter"))?;
            let declared = match raw.section.as_str() {
                "surgical" => Section::Surgical,
                "non_or_procedure" => Section::NonOrProcedure,
                "medical" => Section::Medical,
                other => return Err(unknown(owner, "section", other)),
            };
            if declared != section {
                return Err(inconsistent(
                    owner,
                    "section disagrees with the code's second letter",
                ));
            }
            let mut cache = LoadMap::default();
            let condition =
                compiler.compile(owner, &ListScope::Adrg(raw), &raw.condition, &mut cache)?;
            if raw.drgs.is_empty() {
                return Err(inconsistent(owner, "no DRGs"));
            }
            let mut rule_drgs = Vec::with_capacity(raw.drgs.len());
            let mut info_drgs = Vec::with_capacity(raw.drgs.len());
            for raw_drg in &raw.drgs {
                check_group_code(&raw_drg.code, &raw_drg.code)?;
                let split = Split::parse(&raw_drg.split)
                    .ok_or_else(|| unknown(&raw_drg.code, "split", &raw_drg.split))?;
                let row = drg_rows_by_code.get(raw_drg.code.as_str()).ok_or_else(|| {
                    inconsistent(&raw_drg.code, "in adrg.json but not in drg_names.csv")
                })?;
                if row.adrg != raw.code || row.mdc != raw.mdc || row.split != raw_drg.split {
                    return Err(inconsistent(
                        &raw_drg.code,
                        "drg_names.csv disagrees with adrg.json on ADRG, MDC or split",
                    ));
                }
                let suffix = row.suffix.chars().next().unwrap_or(' ');
                if row.suffix.chars().count() != 1 || !raw_drg.code.ends_with(suffix) {
                    return Err(inconsistent(
                        &raw_drg.code,
                        "suffix is not the code's last character",
                    ));
                }
                if !raw_drg.code.starts_with(&raw.code) {
                    return Err(inconsistent(
                        &raw_drg.code,
                        "DRG code does not extend its ADRG code",
                    ));
                }
                let drg_idx = DrgIdx(u16::try_from(drgs.len()).expect("fewer than 65,536 DRGs"));
                if drg_by_code.insert(raw_drg.code.clone(), drg_idx).is_some() {
                    return Err(SchemeError::Duplicate {
                        file: SchemeFiles::ADRG_JSON,
                        kind: "DRG",
                        code: raw_drg.code.clone(),
                    });
                }
                drgs.push(DrgInfo {
                    code: raw_drg.code.clone(),
                    adrg: adrg_idx,
                    mdc,
                    suffix,
                    split,
                    name: row.name.clone(),
                });
                rule_drgs.push((drg_idx, split));
                info_drgs.push(drg_idx);
            }
            if !matches!(rule_drgs.last(), Some((_, Split::Always))) {
                return Err(inconsistent(owner, "the last DRG's split is not `always`"));
            }
            adrg_rules.push(AdrgRule {
                guard: condition.guard(),
                condition,
                surgical: section == Section::Surgical,
                drgs: rule_drgs.into_boxed_slice(),
            });
            adrgs.push(AdrgInfo {
                code: raw.code.clone(),
                name: raw.name.clone(),
                mdc,
                section,
                rule_text: raw.rule_text.clone(),
                condition: render_text(&raw.condition),
                lists: AdrgLists {
                    diagnoses: raw.lists.diagnoses.clone(),
                    procedures: raw.lists.procedures.clone(),
                    procedures2: raw.lists.procedures2.clone(),
                    procedure_classes: raw
                        .lists
                        .procedure_classes
                        .as_ref()
                        .map(|classes| classes.0.clone())
                        .unwrap_or_default(),
                },
                drgs: info_drgs,
            });
        }
        if let Some(row) = drg_rows
            .iter()
            .find(|row| !drg_by_code.contains_key(&row.drg))
        {
            return Err(inconsistent(
                &row.drg,
                "in drg_names.csv but in no ADRG of adrg.json",
            ));
        }

        let mut mdcs = Vec::with_capacity(mdc_file.mdc_order.len());
        let mut mdc_rules = Vec::with_capacity(mdc_file.mdc_order.len());
        let mut placed = vec![false; adrgs.len()];
        for (order_idx, code) in mdc_file.mdc_order.iter().enumerate() {
            let raw = &mdc_file.mdcs[raw_mdc_by_code[code.as_str()]];
            let owner = raw.mdc.as_str();
            let scope = ListScope::Mdc {
                principal_diagnoses: &raw.principal_diagnoses,
                has_trauma_regions: raw.trauma_regions.is_some(),
            };
            let mut cache = LoadMap::default();
            let entry = compiler.compile(owner, &scope, &raw.entry_condition, &mut cache)?;
            let mut order = Vec::with_capacity(raw.adrg_order.len());
            for adrg_code in &raw.adrg_order {
                let adrg_idx = *adrg_by_code
                    .get(adrg_code)
                    .ok_or_else(|| unknown(owner, "ADRG", adrg_code))?;
                if adrgs[adrg_idx.index()].mdc != MdcIdx(order_idx as u8) {
                    return Err(inconsistent(
                        owner,
                        format!("adrg_order lists {adrg_code} of another MDC"),
                    ));
                }
                if std::mem::replace(&mut placed[adrg_idx.index()], true) {
                    return Err(inconsistent(
                        owner,
                        format!("adrg_order lists {adrg_code} twice"),
                    ));
                }
                order.push(adrg_idx);
            }
            let (qy, ambiguous_result_code) = match &raw.ambiguous_group_check {
                None => (None, None),
                Some(check) => {
                    let slot = match &check.position_after {
                        None => 0,
                        Some(after) => {
                            raw.adrg_order
                                .iter()
                                .position(|code| code == after)
                                .ok_or_else(|| unknown(owner, "ADRG (QY position_after)", after))?
                                + 1
                        }
                    };
                    check_group_code(owner, &check.result_code)?;
                    let condition =
                        compiler.compile(owner, &scope, &check.condition, &mut cache)?;
                    (
                        Some(QyRule {
                            slot,
                            enabled_in_scheme: check.enabled,
                            condition,
                        }),
                        Some(check.result_code.clone()),
                    )
                }
            };
            mdc_rules.push(MdcRule {
                entry_guard: entry.guard(),
                entry,
                adrgs: order.clone().into_boxed_slice(),
                qy,
            });
            mdcs.push(MdcInfo {
                code: raw.mdc.clone(),
                entry_condition: render_text(&raw.entry_condition),
                principal_diagnoses: raw.principal_diagnoses.clone(),
                adrgs: order,
                ambiguous_result_code,
            });
        }
        if let Some(adrg_pos) = placed.iter().position(|placed| !placed) {
            return Err(inconsistent(
                &adrgs[adrg_pos].code,
                "in no MDC's adrg_order",
            ));
        }

        let Compiler {
            dx_members,
            px_members,
            or_set,
            ..
        } = compiler;
        assert!(mdc_rules.len() <= 64, "MDCs are counted in a 64-bit mask");
        let mut principal_guard_mdcs = Vec::new();
        for (mdc_pos, rule) in mdc_rules.iter().enumerate() {
            if let Guard::PrincipalDxIn(set) = rule.entry_guard {
                let at = set.0 as usize;
                if principal_guard_mdcs.len() <= at {
                    principal_guard_mdcs.resize(at + 1, 0u64);
                }
                principal_guard_mdcs[at] |= 1 << mdc_pos;
            }
        }
        let dx = CodeFacts::build(&dx, &dx_info, dx_members);
        let px = CodeFacts::build(&px, &[], px_members);
        Ok(Scheme {
            dx,
            px,
            mdc_rules,
            principal_guard_mdcs: principal_guard_mdcs.into_boxed_slice(),
            adrg_rules,
            or_set,
            mdcs,
            adrgs,
            drgs,
            or_procedures: or_rows
                .into_iter()
                .map(|row| OrProcedure {
                    code: row.code,
                    name: row.name,
                })
                .collect(),
            table_names,
            mcc_codes,
            cc_codes,
            drg_by_code,
            adrg_by_code,
        })
    }

    /// The MDCs whose entry guard admits a case with this principal diagnosis, as a mask over
    /// the MDC positions: one pass over the code's sets instead of one list test per MDC.
    #[inline]
    pub(crate) fn principal_guard_mask(&self, principal: &Facts<'_>) -> u64 {
        principal
            .sets()
            .iter()
            .filter_map(|&set| self.principal_guard_mdcs.get(set as usize))
            .fold(0, |mask, &mdcs| mask | mdcs)
    }

    /// The MDCs in evaluation order.
    pub fn mdcs(&self) -> &[MdcInfo] {
        &self.mdcs
    }

    /// One MDC.
    pub fn mdc(&self, idx: MdcIdx) -> &MdcInfo {
        &self.mdcs[idx.index()]
    }

    /// Every ADRG, in `adrg.json` order.
    pub fn adrgs(&self) -> &[AdrgInfo] {
        &self.adrgs
    }

    /// One ADRG.
    pub fn adrg(&self, idx: AdrgIdx) -> &AdrgInfo {
        &self.adrgs[idx.index()]
    }

    /// Every DRG (all rows of `drg_names.csv`), grouped by ADRG in split order.
    pub fn drgs(&self) -> &[DrgInfo] {
        &self.drgs
    }

    /// One DRG.
    pub fn drg(&self, idx: DrgIdx) -> &DrgInfo {
        &self.drgs[idx.index()]
    }

    /// The DRG with this code (`FM19`), if the scheme has it.
    pub fn find_drg(&self, code: &str) -> Option<DrgIdx> {
        self.drg_by_code.get(code).copied()
    }

    /// The ADRG with this code (`FM1`), if the scheme has it.
    pub fn find_adrg(&self, code: &str) -> Option<AdrgIdx> {
        self.adrg_by_code.get(code).copied()
    }

    /// The MDC with this code (`MDCF`), if the scheme has it.
    pub fn find_mdc(&self, code: &str) -> Option<MdcIdx> {
        self.mdcs
            .iter()
            .position(|mdc| mdc.code == code)
            .map(|pos| MdcIdx(pos as u8))
    }

    /// The valid OR procedures (有效手术操作) in file order.
    pub fn or_procedures(&self) -> &[OrProcedure] {
        &self.or_procedures
    }

    /// Whether a procedure code is a valid OR procedure.
    pub fn is_or_procedure(&self, code: &str) -> bool {
        self.px.get(code).in_set(self.or_set.0)
    }

    /// The MCC codes in file order.
    pub fn mcc_codes(&self) -> &[String] {
        &self.mcc_codes
    }

    /// The CC codes in file order.
    pub fn cc_codes(&self) -> &[String] {
        &self.cc_codes
    }

    /// The CC level a diagnosis code has as a secondary diagnosis before exclusion.
    pub fn cc_level_of(&self, code: &str) -> CcLevel {
        self.dx.get(code).info.cc_level
    }

    /// Whether `secondary` counts as MCC/CC next to `principal`, i.e. is an MCC/CC and is not
    /// removed by the principal's exclusion table.
    pub fn counts_as_cc(&self, principal: &str, secondary: &str) -> bool {
        let secondary = self.dx.get(secondary).info;
        if secondary.cc_level == CcLevel::None {
            return false;
        }
        let principal_table = self.dx.get(principal).info.principal_table;
        principal_table == NO_TABLE || principal_table != secondary.cc_table
    }

    /// The name of an exclusion table as the scheme writes it.
    pub fn exclusion_table_name(&self, table: ExclusionTable) -> &str {
        &self.table_names[table.0 as usize]
    }

    /// Whether the scheme names this diagnosis code anywhere.
    pub fn knows_diagnosis(&self, code: &str) -> bool {
        self.dx.knows(code)
    }

    /// Whether the scheme names this procedure code anywhere.
    pub fn knows_procedure(&self, code: &str) -> bool {
        self.px.knows(code)
    }

    /// Principal diagnoses of an ADRG's list that can actually reach it: those in the principal
    /// list of the ADRG's own MDC (others are dead entries, see the scheme notes). Empty for
    /// ADRGs that do not test the principal diagnosis against their list.
    pub fn reachable_principal_diagnoses(&self, adrg: AdrgIdx) -> Vec<&str> {
        let info = self.adrg(adrg);
        let mdc = self.mdc(info.mdc);
        let mdc_codes: std::collections::HashSet<&str> =
            mdc.principal_diagnoses.iter().map(String::as_str).collect();
        info.lists
            .diagnoses
            .iter()
            .map(String::as_str)
            .filter(|code| mdc_codes.is_empty() || mdc_codes.contains(code))
            .collect()
    }
}
