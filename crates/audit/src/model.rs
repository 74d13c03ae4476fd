//! The audit vocabulary: rule records (§5.2), knowledge tables (§5.3), the input the rules read
//! and the findings (§5.4) they produce.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use yibao_core_types::{Admdvs, Fen, ListType, NaiveDate, Quantity};

/// Rule category of the catalog (smart-audit §3.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// 政策依据类: payment scope and catalogue restrictions.
    Pol,
    /// 价格收费类: pricing and billing integrity.
    Prc,
    /// 医疗类: clinical reasonableness.
    Med,
    /// 管理类: data quality, coding, management.
    Mgt,
    /// 就医行为类: behaviour across encounters.
    Bhv,
    /// 统计监测类: indicators and statistical models.
    Sta,
}

impl Category {
    /// All six categories in catalog order.
    pub const ALL: [Category; 6] = [
        Category::Pol,
        Category::Prc,
        Category::Med,
        Category::Mgt,
        Category::Bhv,
        Category::Sta,
    ];

    /// The catalog's code (`POL`, `PRC`, …).
    pub fn code(self) -> &'static str {
        match self {
            Category::Pol => "POL",
            Category::Prc => "PRC",
            Category::Med => "MED",
            Category::Mgt => "MGT",
            Category::Bhv => "BHV",
            Category::Sta => "STA",
        }
    }

    /// Parses a catalog code.
    pub fn parse(text: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.code() == text)
    }
}

/// When a rule runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// 事前: at ordering (3101).
    Before,
    /// 事中: at pre-settlement and settlement (3102).
    During,
    /// 事后: in batch over settled claims.
    After,
}

impl Phase {
    /// The name used in rule files and on the CLI.
    pub fn code(self) -> &'static str {
        match self {
            Phase::Before => "before",
            Phase::During => "during",
            Phase::After => "after",
        }
    }

    /// Parses a phase name.
    pub fn parse(text: &str) -> Option<Phase> {
        [Phase::Before, Phase::During, Phase::After]
            .into_iter()
            .find(|p| p.code() == text)
    }
}

/// Which money a finding flags (`vola_amt`, smart-audit §3.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MoneyKind {
    /// `L`: the flagged line's amount.
    Line,
    /// `X`: only the excess part of the line.
    Excess,
    /// `E`: the whole encounter.
    Encounter,
    /// `P`: the encounter pro-rated by flagged days.
    ProRated,
    /// `0`: a lead only; the amount is established in review.
    Zero,
}

impl MoneyKind {
    /// The catalog's letter.
    pub fn code(self) -> &'static str {
        match self {
            MoneyKind::Line => "L",
            MoneyKind::Excess => "X",
            MoneyKind::Encounter => "E",
            MoneyKind::ProRated => "P",
            MoneyKind::Zero => "0",
        }
    }

    /// Parses the catalog's letter.
    pub fn parse(text: &str) -> Option<MoneyKind> {
        [
            MoneyKind::Line,
            MoneyKind::Excess,
            MoneyKind::Encounter,
            MoneyKind::ProRated,
            MoneyKind::Zero,
        ]
        .into_iter()
        .find(|m| m.code() == text)
    }
}

/// Severity `sev_deg`: 1 明确违规, 2 高度可疑, 3 轻度可疑.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SevDeg(u8);

impl SevDeg {
    /// A severity from 1 to 3, or `None`.
    pub fn new(value: i64) -> Option<SevDeg> {
        (1..=3).contains(&value).then_some(SevDeg(value as u8))
    }

    /// The number 1–3.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// Sex `gend`: 1 男, 2 女, 9 未说明.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Gend {
    /// 1 男.
    Male,
    /// 2 女.
    Female,
    /// 9 未说明: sex rules are skipped.
    Unknown,
}

impl Gend {
    /// The national code.
    pub fn code(self) -> &'static str {
        match self {
            Gend::Male => "1",
            Gend::Female => "2",
            Gend::Unknown => "9",
        }
    }

    /// Parses the national code.
    pub fn parse(text: &str) -> Option<Gend> {
        match text {
            "1" => Some(Gend::Male),
            "2" => Some(Gend::Female),
            "9" => Some(Gend::Unknown),
            _ => None,
        }
    }

    /// The Chinese word used in messages.
    pub fn zh(self) -> &'static str {
        match self {
            Gend::Male => "男性",
            Gend::Female => "女性",
            Gend::Unknown => "未说明",
        }
    }
}

/// Hospital level of the institution as the registry holds it, 1–3 (三级 highest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HospLv(u8);

impl HospLv {
    /// A level from 1 to 3, or `None`.
    pub fn new(value: i64) -> Option<HospLv> {
        (1..=3).contains(&value).then_some(HospLv(value as u8))
    }

    /// The number 1–3.
    pub fn get(self) -> u8 {
        self.0
    }

    /// The Chinese name (一级 / 二级 / 三级).
    pub fn zh(self) -> &'static str {
        ["一级", "二级", "三级"][usize::from(self.0) - 1]
    }
}

/// The window a count or a pair is taken over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Window {
    /// The calendar day of the fee, over every encounter the input carries.
    Day,
    /// One encounter (`mdtrt_id`).
    Visit,
}

impl Window {
    /// The name in knowledge files.
    pub fn code(self) -> &'static str {
        match self {
            Window::Day => "day",
            Window::Visit => "visit",
        }
    }

    /// Parses the name.
    pub fn parse(text: &str) -> Option<Window> {
        match text {
            "day" => Some(Window::Day),
            "visit" => Some(Window::Visit),
            _ => None,
        }
    }

    /// The Chinese name used in messages.
    pub fn zh(self) -> &'static str {
        match self {
            Window::Day => "日",
            Window::Visit => "次就诊",
        }
    }
}

/// Which side of an age range a rule checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AgeBound {
    /// Only `min_age` (for example, contraindicated in children).
    Lower,
    /// Only `max_age` (for example, child-only items).
    Upper,
    /// Both bounds.
    Both,
}

/// An executor kind (§5.1) with its typed parameters. Each kind reads one knowledge table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Executor {
    /// The item is limited to one sex (`sex_limit`).
    SexLimit {
        /// The catalogue lists the rule covers.
        list_types: Vec<ListType>,
    },
    /// The item is limited to an age range in completed years (`age_limit`).
    AgeLimit {
        /// The catalogue lists the rule covers.
        list_types: Vec<ListType>,
        /// Which bound the rule checks.
        bound: AgeBound,
    },
    /// The item's count is capped per day or per visit (`quantity_limit`).
    QuantityLimit {
        /// The catalogue lists the rule covers.
        list_types: Vec<ListType>,
        /// The window of the entries the rule covers.
        per: Window,
    },
    /// Two items may not be billed in the same window (`exclusive_pair`).
    ExclusivePair {
        /// The list of one side of the pair.
        list_type_a: ListType,
        /// The list of the other side.
        list_type_b: ListType,
        /// The window of the entries the rule covers.
        within: Window,
        /// The relation named in the message (互斥, 存在相互作用 …).
        relation: String,
    },
    /// The item needs a minimum hospital level (`level_limit`).
    LevelLimit {
        /// The catalogue lists the rule covers.
        list_types: Vec<ListType>,
    },
    /// The item is paid only with one of the listed diagnoses (`dx_required`).
    DiagnosisRequired {
        /// The catalogue lists the rule covers.
        list_types: Vec<ListType>,
    },
    /// The item must not be used with any of the listed diagnoses (`dx_excluded`).
    DiagnosisExcluded {
        /// The catalogue lists the rule covers.
        list_types: Vec<ListType>,
    },
    /// Two charges of the item must be at least a number of days apart (`min_interval`).
    MinInterval {
        /// The catalogue lists the rule covers.
        list_types: Vec<ListType>,
    },
    /// A diagnosis is limited to one sex (`dx_sex_limit`).
    DiagnosisSexLimit,
    /// A diagnosis is limited to an age range (`dx_age_limit`).
    DiagnosisAgeLimit,
}

impl Executor {
    /// The executor's name in rule files.
    pub fn kind(&self) -> &'static str {
        self.table().name()
    }

    /// The knowledge table the executor reads.
    pub fn table(&self) -> Table {
        match self {
            Executor::SexLimit { .. } => Table::SexLimit,
            Executor::AgeLimit { .. } => Table::AgeLimit,
            Executor::QuantityLimit { .. } => Table::QuantityLimit,
            Executor::ExclusivePair { .. } => Table::ExclusivePair,
            Executor::LevelLimit { .. } => Table::LevelLimit,
            Executor::DiagnosisRequired { .. } => Table::DxRequired,
            Executor::DiagnosisExcluded { .. } => Table::DxExcluded,
            Executor::MinInterval { .. } => Table::MinInterval,
            Executor::DiagnosisSexLimit => Table::DxSexLimit,
            Executor::DiagnosisAgeLimit => Table::DxAgeLimit,
        }
    }
}

/// The knowledge tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    /// `sex_limit`.
    SexLimit,
    /// `age_limit`.
    AgeLimit,
    /// `quantity_limit`.
    QuantityLimit,
    /// `exclusive_pair`.
    ExclusivePair,
    /// `level_limit`.
    LevelLimit,
    /// `dx_required`.
    DxRequired,
    /// `dx_excluded`.
    DxExcluded,
    /// `dx_sex_limit`.
    DxSexLimit,
    /// `dx_age_limit`.
    DxAgeLimit,
    /// `min_interval`.
    MinInterval,
}

impl Table {
    /// Every table.
    pub const ALL: [Table; 10] = [
        Table::SexLimit,
        Table::AgeLimit,
        Table::QuantityLimit,
        Table::ExclusivePair,
        Table::LevelLimit,
        Table::DxRequired,
        Table::DxExcluded,
        Table::DxSexLimit,
        Table::DxAgeLimit,
        Table::MinInterval,
    ];

    /// The table's name (file stem and JSON key).
    pub fn name(self) -> &'static str {
        match self {
            Table::SexLimit => "sex_limit",
            Table::AgeLimit => "age_limit",
            Table::QuantityLimit => "quantity_limit",
            Table::ExclusivePair => "exclusive_pair",
            Table::LevelLimit => "level_limit",
            Table::DxRequired => "dx_required",
            Table::DxExcluded => "dx_excluded",
            Table::DxSexLimit => "dx_sex_limit",
            Table::DxAgeLimit => "dx_age_limit",
            Table::MinInterval => "min_interval",
        }
    }

    /// Parses a table name.
    pub fn parse(text: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == text)
    }
}

/// A rule record (§5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Our id (`POL-10` …).
    pub rule_id: String,
    /// The national code (GZ…), when there is one.
    pub national_code: Option<String>,
    /// The Chinese name (`rule_name`).
    pub name: String,
    /// The rule's version.
    pub version: u32,
    /// First day in force.
    pub begn_date: NaiveDate,
    /// Last day in force (inclusive), `None` while open.
    pub end_date: Option<NaiveDate>,
    /// Scenes (`outpatient`, `inpatient`, `pharmacy`, …).
    pub scenes: Vec<String>,
    /// Phases the rule runs in.
    pub phases: Vec<Phase>,
    /// Severity.
    pub sev_deg: SevDeg,
    /// Fund types (`fund_pay_type` codes) whose money the rule flags.
    pub fund_types: Vec<String>,
    /// Money kind.
    pub money_kind: MoneyKind,
    /// Category.
    pub category: Category,
    /// The knowledge tables the rule names.
    pub knowledge: Vec<Table>,
    /// The executor and its parameters.
    pub executor: Executor,
    /// The basis cited in `vola_evid`.
    pub vola_evid: String,
}

impl Rule {
    /// Whether the rule is in force on `date`.
    pub fn in_force_on(&self, date: NaiveDate) -> bool {
        self.begn_date <= date && self.end_date.is_none_or(|end| date <= end)
    }
}

/// Where and when a knowledge entry holds: `None` means unrestricted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// First day in force.
    pub begn_date: Option<NaiveDate>,
    /// Last day in force (inclusive).
    pub end_date: Option<NaiveDate>,
    /// The region (统筹区 or province) the entry is limited to.
    pub admdvs: Option<Admdvs>,
}

impl Scope {
    /// Whether the entry holds on `date` in `admdvs`.
    pub fn applies(&self, date: NaiveDate, admdvs: Option<Admdvs>) -> bool {
        self.begn_date.is_none_or(|begn| begn <= date)
            && self.end_date.is_none_or(|end| date <= end)
            && match (self.admdvs, admdvs) {
                (None, _) => true,
                (Some(own), Some(region)) => own.contains(region),
                (Some(_), None) => false,
            }
    }

    /// Whether two scopes can hold on the same day in the same region.
    pub fn overlaps(&self, other: &Scope) -> bool {
        let same_region = match (self.admdvs, other.admdvs) {
            (Some(a), Some(b)) => a.contains(b) || b.contains(a),
            _ => true,
        };
        let starts_before_other_ends = match (self.begn_date, other.end_date) {
            (Some(begn), Some(end)) => begn <= end,
            _ => true,
        };
        let other_starts_before_end = match (other.begn_date, self.end_date) {
            (Some(begn), Some(end)) => begn <= end,
            _ => true,
        };
        same_region && starts_before_other_ends && other_starts_before_end
    }
}

/// `sex_limit` entry: the only sex allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SexLimitEntry {
    /// The catalogue code.
    pub med_list_codg: String,
    /// The only sex allowed (1 or 2).
    pub gend: Gend,
    /// Where and when.
    pub scope: Scope,
}

/// `age_limit` entry: completed years, bounds inclusive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgeLimitEntry {
    /// The catalogue code.
    pub med_list_codg: String,
    /// Youngest age allowed.
    pub min_age: Option<u32>,
    /// Oldest age allowed.
    pub max_age: Option<u32>,
    /// Where and when.
    pub scope: Scope,
}

/// `quantity_limit` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuantityLimitEntry {
    /// The catalogue code.
    pub med_list_codg: String,
    /// Largest count allowed in the window.
    pub max_cnt: Quantity,
    /// The window.
    pub per: Window,
    /// Where and when.
    pub scope: Scope,
}

/// `min_interval` entry: the fewest days from one charge of the item to the next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinIntervalEntry {
    /// The catalogue code.
    pub med_list_codg: String,
    /// Days from a charge's fee date to the next one's, at least 1.
    pub min_days: u32,
    /// Where and when.
    pub scope: Scope,
}

/// `exclusive_pair` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExclusivePairEntry {
    /// One side.
    pub med_list_codg_a: String,
    /// The other side.
    pub med_list_codg_b: String,
    /// The window.
    pub within: Window,
    /// Where and when.
    pub scope: Scope,
}

/// `level_limit` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelLimitEntry {
    /// The catalogue code.
    pub med_list_codg: String,
    /// The lowest hospital level allowed.
    pub min_hosp_lv: HospLv,
    /// Where and when.
    pub scope: Scope,
}

/// `dx_required` or `dx_excluded` entry: an item and the diagnosis prefixes it needs or must
/// not meet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DxItemEntry {
    /// The catalogue code.
    pub med_list_codg: String,
    /// ICD-10 (医保版) code prefixes, `|`-separated in the file.
    pub dise_codg_prefixes: Vec<String>,
    /// Where and when.
    pub scope: Scope,
}

impl DxItemEntry {
    /// The first of `diagnoses` under one of the entry's prefixes.
    pub fn matching<'d>(&self, diagnoses: &'d [String]) -> Option<&'d str> {
        diagnoses
            .iter()
            .find(|dx| {
                self.dise_codg_prefixes
                    .iter()
                    .any(|p| dx.starts_with(p.as_str()))
            })
            .map(String::as_str)
    }
}

/// `dx_sex_limit` entry: diagnoses under a code prefix are limited to one sex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DxSexLimitEntry {
    /// ICD-10 (医保版) code prefix.
    pub dise_codg_prefix: String,
    /// The only sex allowed.
    pub gend: Gend,
    /// Where and when.
    pub scope: Scope,
}

/// `dx_age_limit` entry: diagnoses under a prefix are limited to an age range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DxAgeLimitEntry {
    /// ICD-10 (医保版) code prefix.
    pub dise_codg_prefix: String,
    /// Youngest age allowed.
    pub min_age: Option<u32>,
    /// Oldest age allowed.
    pub max_age: Option<u32>,
    /// Where and when.
    pub scope: Scope,
}

/// What the catalogue says about a code the knowledge names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The catalogue name, quoted in messages.
    pub name: String,
    /// The catalogue list.
    pub list_type: ListType,
}

/// FNV-1a over a code's bytes: catalogue codes are short, trusted keys, and the by-code lookup
/// runs once per fee line, so a light hash matters more than flood resistance.
#[derive(Clone, Copy, Debug)]
pub struct CodeHasher(u64);

impl Default for CodeHasher {
    fn default() -> CodeHasher {
        CodeHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for CodeHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// A map keyed by catalogue code.
pub type CodeMap<V> = HashMap<String, V, BuildHasherDefault<CodeHasher>>;

/// A reference from a code to an entry of a line-level table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EntryRef {
    Sex(usize),
    Age(usize),
    Quantity(usize),
    PairA(usize),
    PairB(usize),
    Level(usize),
    DxRequired(usize),
    DxExcluded(usize),
    Interval(usize),
}

/// The knowledge base: every table, validated, indexed by code.
#[derive(Clone, Debug, Default)]
pub struct Knowledge {
    /// `sex_limit`.
    pub sex_limit: Vec<SexLimitEntry>,
    /// `age_limit`.
    pub age_limit: Vec<AgeLimitEntry>,
    /// `quantity_limit`.
    pub quantity_limit: Vec<QuantityLimitEntry>,
    /// `exclusive_pair`.
    pub exclusive_pair: Vec<ExclusivePairEntry>,
    /// `level_limit`.
    pub level_limit: Vec<LevelLimitEntry>,
    /// `dx_required`.
    pub dx_required: Vec<DxItemEntry>,
    /// `dx_excluded`.
    pub dx_excluded: Vec<DxItemEntry>,
    /// `dx_sex_limit`.
    pub dx_sex_limit: Vec<DxSexLimitEntry>,
    /// `dx_age_limit`.
    pub dx_age_limit: Vec<DxAgeLimitEntry>,
    /// `min_interval`.
    pub min_interval: Vec<MinIntervalEntry>,
    /// Catalogue facts about each code the tables name.
    pub items: CodeMap<Item>,
    pub(crate) by_code: CodeMap<Vec<EntryRef>>,
}

/// The rules in force, validated against the knowledge.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    /// Every rule, in file order.
    pub rules: Vec<Rule>,
}

/// The person audited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// Sex.
    pub gend: Gend,
    /// Birth date (`brdy`).
    pub brdy: NaiveDate,
}

/// One fee line (an order at 3101, a fee detail at 3102).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeLine {
    /// The order or line id the hospital sent (`rx_id`).
    pub rx_id: String,
    /// The fee detail number, when known (`feedetl_sn`).
    pub feedetl_sn: Option<String>,
    /// The catalogue code.
    pub med_list_codg: String,
    /// Count in 1/10000.
    pub cnt: Quantity,
    /// Line amount.
    pub amount: Fen,
    /// The order's or fee's date.
    pub fee_date: NaiveDate,
}

/// One encounter (`mdtrt_id`) with its lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encounter {
    /// The encounter id.
    pub mdtrt_id: String,
    /// The first day of the encounter (admission or visit date).
    pub begn_date: NaiveDate,
    /// The institution's level from the registry, not from the request.
    pub hosp_lv: HospLv,
    /// Diagnosis codes (ICD-10 医保版).
    pub diagnoses: Vec<String>,
    /// Fee lines.
    pub lines: Vec<FeeLine>,
}

/// Everything one audit run reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditInput {
    /// The person.
    pub person: Person,
    /// The region whose knowledge applies.
    pub admdvs: Option<Admdvs>,
    /// The encounter being checked: only its lines are flagged; the others are history. `None`
    /// flags every encounter (事后).
    pub current_mdtrt_id: Option<String>,
    /// The encounters: the current one and the history the caller sent or we hold.
    pub encounters: Vec<Encounter>,
}

/// `vola_item_type`: the line counted or a line that explains the hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VolaItemType {
    /// 1 违规项.
    Violating,
    /// 2 涉及项.
    Involved,
}

impl VolaItemType {
    /// The national code.
    pub fn code(self) -> u8 {
        match self {
            VolaItemType::Violating => 1,
            VolaItemType::Involved => 2,
        }
    }
}

/// A line named by a finding (`judge_result_detail_dtos`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FindingLine {
    /// The line's encounter.
    pub mdtrt_id: String,
    /// The line's `rx_id`.
    pub rx_id: String,
    /// The line's `feedetl_sn`, when known.
    pub feedetl_sn: Option<String>,
    /// 1 or 2.
    pub vola_item_type: VolaItemType,
    /// Money flagged on this line.
    pub vola_amt: Fen,
}

/// What a finding rests on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    /// The knowledge table.
    pub table: Table,
    /// The entry's position in the table.
    pub entry_idx: usize,
    /// The values compared, by name.
    pub values: Vec<(&'static str, String)>,
}

/// One finding (§5.4; a superset of a 3101/3102 result). The rule's name, national code and
/// basis (`vola_evid`) are the rule's: read them from the rule by `rule_id` and `rule_version`
/// rather than copying them into every finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Our rule id.
    pub rule_id: String,
    /// The rule's version.
    pub rule_version: u32,
    /// Severity.
    pub sev_deg: SevDeg,
    /// The rule's money kind.
    pub money_kind: MoneyKind,
    /// The encounter of the violating line.
    pub mdtrt_id: String,
    /// The message, from the §3.6 templates.
    pub vola_cont: String,
    /// Total money flagged.
    pub vola_amt: Fen,
    /// The lines named.
    pub details: Vec<FindingLine>,
    /// The evidence.
    pub evidence: Evidence,
}
