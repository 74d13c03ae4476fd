//! The audit vocabulary: rule records (§5.2), knowledge tables (§5.3), the input the rules read
//! and the findings (§5.4) they produce.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use yibao_core_types::{Admdvs, Fen, Insutype, ListType, MedType, NaiveDate, Price, Quantity};

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

/// An encounter attribute an item can be limited to (`encounter_limit.attr`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EncounterAttr {
    /// 就诊类型 `med_mdtrt_type` (1 门诊, 2 住院, 3 购药, 4 其他).
    MedMdtrtType,
    /// 医疗类别 `med_type` (11 普通门诊, 14 门诊慢特病, 21 普通住院, 51/52 生育 …).
    MedType,
    /// 险种 `insutype` (310, 390, 510 …).
    Insutype,
    /// 开单科室 `drord_dept_codg` (national 科室代码, prefix match).
    Dept,
}

impl EncounterAttr {
    /// Every attribute.
    pub const ALL: [EncounterAttr; 4] = [
        EncounterAttr::MedMdtrtType,
        EncounterAttr::MedType,
        EncounterAttr::Insutype,
        EncounterAttr::Dept,
    ];

    /// The national field name, used in knowledge files and rule parameters.
    pub fn code(self) -> &'static str {
        match self {
            EncounterAttr::MedMdtrtType => "med_mdtrt_type",
            EncounterAttr::MedType => "med_type",
            EncounterAttr::Insutype => "insutype",
            EncounterAttr::Dept => "dept",
        }
    }

    /// Parses the field name.
    pub fn parse(text: &str) -> Option<EncounterAttr> {
        EncounterAttr::ALL.into_iter().find(|a| a.code() == text)
    }

    /// The Chinese name used in messages.
    pub fn zh(self) -> &'static str {
        match self {
            EncounterAttr::MedMdtrtType => "就诊类型",
            EncounterAttr::MedType => "医疗类别",
            EncounterAttr::Insutype => "险种",
            EncounterAttr::Dept => "科室",
        }
    }
}

/// 就诊类型 `med_mdtrt_type` of an encounter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MdtrtType {
    /// 1 门诊.
    Outpatient,
    /// 2 住院.
    Inpatient,
    /// 3 购药.
    Pharmacy,
    /// 4 其他.
    Other,
}

impl MdtrtType {
    /// The national code.
    pub fn code(self) -> &'static str {
        match self {
            MdtrtType::Outpatient => "1",
            MdtrtType::Inpatient => "2",
            MdtrtType::Pharmacy => "3",
            MdtrtType::Other => "4",
        }
    }

    /// Parses the national code.
    pub fn parse(text: &str) -> Option<MdtrtType> {
        [
            MdtrtType::Outpatient,
            MdtrtType::Inpatient,
            MdtrtType::Pharmacy,
            MdtrtType::Other,
        ]
        .into_iter()
        .find(|t| t.code() == text)
    }

    /// The Chinese name used in messages.
    pub fn zh(self) -> &'static str {
        match self {
            MdtrtType::Outpatient => "门诊",
            MdtrtType::Inpatient => "住院",
            MdtrtType::Pharmacy => "购药",
            MdtrtType::Other => "其他",
        }
    }
}

/// 医嘱行为 `drord_bhvr` of a fee line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DrordBhvr {
    /// 0 其他.
    Other,
    /// 1 出院带药.
    Discharge,
}

impl DrordBhvr {
    /// Parses the national code.
    pub fn parse(text: &str) -> Option<DrordBhvr> {
        match text {
            "0" => Some(DrordBhvr::Other),
            "1" => Some(DrordBhvr::Discharge),
            _ => None,
        }
    }
}

/// The prescribing scene a days-supply cap applies to (`days_supply.scene`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SupplyScene {
    /// 出院带药: a line with `drord_bhvr` 1.
    Discharge,
    /// 普通门诊: `med_type` 11.
    Outpatient,
    /// 急诊: `med_type` 13.
    Emergency,
    /// 门诊慢特病: `med_type` 14.
    Chronic,
}

impl SupplyScene {
    /// Every scene.
    pub const ALL: [SupplyScene; 4] = [
        SupplyScene::Discharge,
        SupplyScene::Outpatient,
        SupplyScene::Emergency,
        SupplyScene::Chronic,
    ];

    /// The name in knowledge files and rule parameters.
    pub fn code(self) -> &'static str {
        match self {
            SupplyScene::Discharge => "discharge",
            SupplyScene::Outpatient => "outpatient",
            SupplyScene::Emergency => "emergency",
            SupplyScene::Chronic => "chronic",
        }
    }

    /// Parses the name.
    pub fn parse(text: &str) -> Option<SupplyScene> {
        SupplyScene::ALL.into_iter().find(|s| s.code() == text)
    }

    /// The Chinese name used in messages.
    pub fn zh(self) -> &'static str {
        match self {
            SupplyScene::Discharge => "出院带药",
            SupplyScene::Outpatient => "普通门诊",
            SupplyScene::Emergency => "急诊",
            SupplyScene::Chronic => "门诊慢特病",
        }
    }
}

/// What an eligibility rule looks for on the fee date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EligibilityStatus {
    /// No insurance record covers the date (never insured, or terminated).
    Uninsured,
    /// The record covering the period is suspended (暂停参保) from before the date.
    Suspended,
}

impl EligibilityStatus {
    /// The name in rule parameters.
    pub fn code(self) -> &'static str {
        match self {
            EligibilityStatus::Uninsured => "uninsured",
            EligibilityStatus::Suspended => "suspended",
        }
    }

    /// Parses the name.
    pub fn parse(text: &str) -> Option<EligibilityStatus> {
        [EligibilityStatus::Uninsured, EligibilityStatus::Suspended]
            .into_iter()
            .find(|s| s.code() == text)
    }
}

/// What a reference cost is compared with (`reference_cost` rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CostBasis {
    /// The encounter's total.
    Visit,
    /// The encounter's total per stay day (inpatient, needs `dscg_date`).
    Day,
}

impl CostBasis {
    /// The name in rule parameters.
    pub fn code(self) -> &'static str {
        match self {
            CostBasis::Visit => "visit",
            CostBasis::Day => "day",
        }
    }
}

/// An executor kind (§5.1) with its typed parameters. Each kind reads at most one knowledge
/// table; a rule's optional `tag` parameter limits it to the entries carrying that tag.
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
    /// The item is limited to some values of an encounter attribute (`encounter_limit`).
    EncounterLimit {
        /// The catalogue lists the rule covers.
        list_types: Vec<ListType>,
        /// The attribute of the entries the rule covers.
        attr: EncounterAttr,
    },
    /// The item must be billed with one of its companion items (`companion`).
    Companion {
        /// The catalogue lists the rule covers.
        list_types: Vec<ListType>,
    },
    /// A drug line's days of supply (`prd_days`) are capped per scene (`days_supply`).
    DaysSupply {
        /// The scene of the entries the rule covers.
        scene: SupplyScene,
    },
    /// A drug is prescribed again before most of the last supply was used (`early_refill`).
    EarlyRefill,
    /// Too many encounters of one type in a number of days (`visit_frequency`).
    VisitFrequency {
        /// The encounter type counted.
        med_mdtrt_type: MdtrtType,
    },
    /// An admission soon after a discharge with the same main diagnosis (`readmission`).
    Readmission,
    /// An encounter's total above a multiple of its main diagnosis's reference cost
    /// (`reference_cost`).
    ReferenceCost {
        /// The encounter type the rule covers.
        med_mdtrt_type: MdtrtType,
        /// The total per visit or per stay day.
        basis: CostBasis,
    },
    /// One list's share of an encounter's total above a cap (`fee_share`).
    FeeShare {
        /// The list whose share is measured.
        list_type: ListType,
    },
    /// Too many distinct items of one list in an encounter (`distinct_limit`).
    DistinctLimit {
        /// The list counted.
        list_type: ListType,
    },
    /// The person is not insured, or suspended, on the fee date (no table).
    Eligibility {
        /// Which status the rule flags.
        status: EligibilityStatus,
    },
    /// A fee dated after the person's death (no table).
    AfterDeath,
    /// An inpatient fee dated outside the stay (no table).
    OutsideStay,
    /// Two inpatient stays that overlap (no table).
    StayOverlap,
    /// An outpatient or pharmacy encounter inside an inpatient stay (no table).
    VisitInStay,
    /// A 医疗类别 limited to one sex (`med_type_sex_limit`), e.g. 生育 for a male.
    MedTypeSexLimit,
    /// The item's unit price above its cap (`price_limit`).
    PriceLimit {
        /// The catalogue lists the rule covers.
        list_types: Vec<ListType>,
    },
}

impl Executor {
    /// The executor's name in rule files.
    pub fn kind(&self) -> &'static str {
        match self {
            Executor::Eligibility { .. } => "eligibility",
            Executor::AfterDeath => "after_death",
            Executor::OutsideStay => "outside_stay",
            Executor::StayOverlap => "stay_overlap",
            Executor::VisitInStay => "visit_in_stay",
            other => other.table().map_or("", Table::name),
        }
    }

    /// Whether each rule of the kind walks the encounters itself (rather than being reached
    /// from a fee line's knowledge entries).
    pub fn is_rule_driven(&self) -> bool {
        matches!(
            self,
            Executor::DaysSupply { .. }
                | Executor::VisitFrequency { .. }
                | Executor::Readmission
                | Executor::ReferenceCost { .. }
                | Executor::FeeShare { .. }
                | Executor::DistinctLimit { .. }
                | Executor::Eligibility { .. }
                | Executor::AfterDeath
                | Executor::OutsideStay
                | Executor::StayOverlap
                | Executor::VisitInStay
                | Executor::MedTypeSexLimit
        )
    }

    /// The knowledge table the executor reads, `None` for checks of the input alone.
    pub fn table(&self) -> Option<Table> {
        Some(match self {
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
            Executor::EncounterLimit { .. } => Table::EncounterLimit,
            Executor::Companion { .. } => Table::Companion,
            Executor::DaysSupply { .. } => Table::DaysSupply,
            Executor::EarlyRefill => Table::EarlyRefill,
            Executor::VisitFrequency { .. } => Table::VisitFrequency,
            Executor::Readmission => Table::Readmission,
            Executor::ReferenceCost { .. } => Table::ReferenceCost,
            Executor::FeeShare { .. } => Table::FeeShare,
            Executor::DistinctLimit { .. } => Table::DistinctLimit,
            Executor::MedTypeSexLimit => Table::MedTypeSexLimit,
            Executor::PriceLimit { .. } => Table::PriceLimit,
            Executor::Eligibility { .. }
            | Executor::AfterDeath
            | Executor::OutsideStay
            | Executor::StayOverlap
            | Executor::VisitInStay => return None,
        })
    }
}

/// The knowledge tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    /// `encounter_limit`.
    EncounterLimit,
    /// `companion`.
    Companion,
    /// `days_supply`.
    DaysSupply,
    /// `early_refill`.
    EarlyRefill,
    /// `visit_frequency`.
    VisitFrequency,
    /// `readmission`.
    Readmission,
    /// `reference_cost`.
    ReferenceCost,
    /// `fee_share`.
    FeeShare,
    /// `distinct_limit`.
    DistinctLimit,
    /// `med_type_sex_limit`.
    MedTypeSexLimit,
    /// `price_limit`.
    PriceLimit,
}

impl Table {
    /// Every table.
    pub const ALL: [Table; 21] = [
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
        Table::EncounterLimit,
        Table::Companion,
        Table::DaysSupply,
        Table::EarlyRefill,
        Table::VisitFrequency,
        Table::Readmission,
        Table::ReferenceCost,
        Table::FeeShare,
        Table::DistinctLimit,
        Table::MedTypeSexLimit,
        Table::PriceLimit,
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
            Table::EncounterLimit => "encounter_limit",
            Table::Companion => "companion",
            Table::DaysSupply => "days_supply",
            Table::EarlyRefill => "early_refill",
            Table::VisitFrequency => "visit_frequency",
            Table::Readmission => "readmission",
            Table::ReferenceCost => "reference_cost",
            Table::FeeShare => "fee_share",
            Table::DistinctLimit => "distinct_limit",
            Table::MedTypeSexLimit => "med_type_sex_limit",
            Table::PriceLimit => "price_limit",
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
    /// The tag of the entries the rule enforces (`params.tag`); `None` enforces the untagged
    /// entries of its table.
    pub tag: Option<String>,
    /// The basis cited in `vola_evid`.
    pub vola_evid: String,
}

impl Rule {
    /// Whether the rule is in force on `date`.
    pub fn in_force_on(&self, date: NaiveDate) -> bool {
        self.begn_date <= date && self.end_date.is_none_or(|end| date <= end)
    }
}

/// Where and when a knowledge entry holds, and which rules enforce it: `None` means
/// unrestricted (untagged entries are enforced by the rules without a tag).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// The tag (optional `tag` column) a rule names to enforce only its own entries.
    pub tag: Option<String>,
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
            .find(|dx| self.dise_codg_prefixes.iter().any(|p| has_prefix(dx, p)))
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

/// `encounter_limit` entry: the item is paid only when the encounter attribute is one of the
/// allowed values (prefix match for codes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncounterLimitEntry {
    /// The catalogue code.
    pub med_list_codg: String,
    /// The attribute.
    pub attr: EncounterAttr,
    /// Allowed values (codes or code prefixes), `|`-separated in the file.
    pub allowed: Vec<String>,
    /// Where and when.
    pub scope: Scope,
}

/// `companion` entry: the item needs one of the companion items in the same window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompanionEntry {
    /// The catalogue code.
    pub med_list_codg: String,
    /// The companion codes, `|`-separated in the file.
    pub companion_codes: Vec<String>,
    /// The window the companion must appear in.
    pub within: Window,
    /// Where and when.
    pub scope: Scope,
}

/// `days_supply` entry: the most days of supply one drug line may carry in a scene.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaysSupplyEntry {
    /// The scene.
    pub scene: SupplyScene,
    /// Most days of supply.
    pub max_days: u32,
    /// Where and when.
    pub scope: Scope,
}

/// `early_refill` entry: the share of the last supply that must have elapsed before a new one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EarlyRefillEntry {
    /// The catalogue code.
    pub med_list_codg: String,
    /// Percent of the previous `prd_days` that must have elapsed, 1–100.
    pub min_used_pct: u32,
    /// Where and when.
    pub scope: Scope,
}

/// `visit_frequency` entry: at most `max_cnt` encounters of a type in `days` days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisitFrequencyEntry {
    /// The encounter type counted.
    pub med_mdtrt_type: MdtrtType,
    /// The window in days ending on the encounter's first day (1 = the same day).
    pub days: u32,
    /// Most encounters allowed in the window.
    pub max_cnt: u32,
    /// Where and when.
    pub scope: Scope,
}

/// `readmission` entry: the window after a discharge in which a re-admission with the same main
/// diagnosis is flagged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadmissionEntry {
    /// Days from discharge to the next admission, at most.
    pub max_days: u32,
    /// Main-diagnosis prefixes exempt (planned cycles: chemotherapy, dialysis …).
    pub excluded_dise_codg_prefixes: Vec<String>,
    /// Where and when.
    pub scope: Scope,
}

/// `reference_cost` entry: the reference cost of a main diagnosis for an encounter type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceCostEntry {
    /// ICD-10 (医保版) prefix of the main diagnosis.
    pub dise_codg_prefix: String,
    /// The encounter type.
    pub med_mdtrt_type: MdtrtType,
    /// The reference cost (per visit, or per stay day for `day` rules).
    pub ref_amt: Fen,
    /// The multiple above which the total is flagged, in hundredths (300 = 3 倍).
    pub max_multiple_pct: i64,
    /// Where and when.
    pub scope: Scope,
}

/// `fee_share` entry: the largest share of one list in an encounter's total.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeShareEntry {
    /// The list measured.
    pub list_type: ListType,
    /// The encounter type.
    pub med_mdtrt_type: MdtrtType,
    /// The cap in percent.
    pub max_pct: u32,
    /// Encounters below this total are not measured (too small to mean anything).
    pub min_total_amt: Fen,
    /// Where and when.
    pub scope: Scope,
}

/// `distinct_limit` entry: the most distinct items of one list in an encounter of a type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistinctLimitEntry {
    /// The list counted.
    pub list_type: ListType,
    /// The encounter type.
    pub med_mdtrt_type: MdtrtType,
    /// Most distinct codes allowed.
    pub max_cnt: u32,
    /// Where and when.
    pub scope: Scope,
}

/// `price_limit` entry: the highest unit price the item may be billed at (限价,
/// `pric_uplmt_amt`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceLimitEntry {
    /// The catalogue code.
    pub med_list_codg: String,
    /// The cap per unit.
    pub max_pric: Price,
    /// Where and when.
    pub scope: Scope,
}

/// `med_type_sex_limit` entry: encounters of a 医疗类别 are limited to one sex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MedTypeSexLimitEntry {
    /// The 医疗类别 code (`med_type`).
    pub med_type: MedType,
    /// The only sex allowed.
    pub gend: Gend,
    /// Where and when.
    pub scope: Scope,
}

/// Whether `code` starts with `prefix`. Codes and prefixes are a few ASCII bytes, so an inline
/// byte loop beats a library `memcmp` call on the hot path.
pub fn has_prefix(code: &str, prefix: &str) -> bool {
    let (code, prefix) = (code.as_bytes(), prefix.as_bytes());
    prefix.len() <= code.len() && prefix.iter().zip(code).all(|(a, b)| a == b)
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
    EncounterLimit(usize),
    Companion(usize),
    Refill(usize),
    Price(usize),
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
    /// `encounter_limit`.
    pub encounter_limit: Vec<EncounterLimitEntry>,
    /// `companion`.
    pub companion: Vec<CompanionEntry>,
    /// `days_supply`.
    pub days_supply: Vec<DaysSupplyEntry>,
    /// `early_refill`.
    pub early_refill: Vec<EarlyRefillEntry>,
    /// `visit_frequency`.
    pub visit_frequency: Vec<VisitFrequencyEntry>,
    /// `readmission`.
    pub readmission: Vec<ReadmissionEntry>,
    /// `reference_cost`.
    pub reference_cost: Vec<ReferenceCostEntry>,
    /// `fee_share`.
    pub fee_share: Vec<FeeShareEntry>,
    /// `distinct_limit`.
    pub distinct_limit: Vec<DistinctLimitEntry>,
    /// `med_type_sex_limit`.
    pub med_type_sex_limit: Vec<MedTypeSexLimitEntry>,
    /// `price_limit`.
    pub price_limit: Vec<PriceLimitEntry>,
    /// The tags each table's entries carry, for checking the tags rules name.
    pub tags: std::collections::BTreeSet<(Table, String)>,
    /// Catalogue facts about each code the tables name.
    pub items: CodeMap<Item>,
    pub(crate) by_code: CodeMap<Vec<EntryRef>>,
}

/// The rules in force, validated against the knowledge.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    /// Every rule, in file order.
    pub rules: Vec<Rule>,
    /// The positions of each table's rules (by `Table as usize`), so an entry's hit scans only
    /// the rules that can enforce it.
    pub(crate) by_table: [Vec<usize>; Table::ALL.len()],
    /// The positions of the rules whose executor walks the encounters itself.
    pub(crate) rule_driven: Vec<usize>,
}

impl RuleSet {
    /// The rule set of `rules`, indexed by table.
    pub fn new(rules: Vec<Rule>) -> RuleSet {
        let mut by_table: [Vec<usize>; Table::ALL.len()] = Default::default();
        let mut rule_driven = Vec::new();
        for (rule_idx, rule) in rules.iter().enumerate() {
            if let Some(table) = rule.executor.table() {
                by_table[table as usize].push(rule_idx);
            }
            if rule.executor.is_rule_driven() {
                rule_driven.push(rule_idx);
            }
        }
        RuleSet {
            rules,
            by_table,
            rule_driven,
        }
    }
}

/// 参保状态 `psn_insu_stas` of an insurance record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PsnInsuStas {
    /// 1 正常参保.
    Normal,
    /// 2 暂停参保.
    Suspended,
    /// 4 终止参保.
    Terminated,
}

impl PsnInsuStas {
    /// Parses the national code.
    pub fn parse(text: &str) -> Option<PsnInsuStas> {
        match text {
            "1" => Some(PsnInsuStas::Normal),
            "2" => Some(PsnInsuStas::Suspended),
            "4" => Some(PsnInsuStas::Terminated),
            _ => None,
        }
    }
}

/// One insurance record of the person (1101 `insuinfo[]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InsuInfo {
    /// 险种 `insutype`.
    pub insutype: Insutype,
    /// 参保状态 `psn_insu_stas`.
    pub psn_insu_stas: PsnInsuStas,
    /// 个人参保日期 `psn_insu_date`: benefits start.
    pub psn_insu_date: NaiveDate,
    /// 暂停参保日期 `paus_insu_date`: benefits stop from this day (suspended or terminated).
    pub paus_insu_date: Option<NaiveDate>,
}

impl InsuInfo {
    /// Whether the record gives benefits on `date`. A suspended or terminated record without a
    /// stop date is taken to cover (an unknown date never flags).
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.psn_insu_date <= date
            && (self.psn_insu_stas == PsnInsuStas::Normal
                || self.paus_insu_date.is_none_or(|paus| date < paus))
    }
}

/// The person audited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// Sex.
    pub gend: Gend,
    /// Birth date (`brdy`).
    pub brdy: NaiveDate,
    /// 死亡日期 `death_date`, when the registry knows one.
    pub death_date: Option<NaiveDate>,
    /// Insurance records (`insuinfo[]`); empty when unknown, which silences eligibility rules.
    pub insuinfo: Vec<InsuInfo>,
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
    /// The catalogue list (`hilist_type` 101/102/103 drug, 201 service, 301 consumable).
    pub hilist_type: Option<ListType>,
    /// 医嘱行为 `drord_bhvr` (1 出院带药).
    pub drord_bhvr: Option<DrordBhvr>,
    /// Days of supply (`prd_days`) of a drug line.
    pub prd_days: Option<u32>,
    /// The ordering department's standard code (`drord_dept_codg`).
    pub drord_dept_codg: Option<String>,
}

/// One encounter (`mdtrt_id`) with its lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encounter {
    /// The encounter id.
    pub mdtrt_id: String,
    /// The first day of the encounter (`adm_date`, or the visit date).
    pub begn_date: NaiveDate,
    /// The discharge date (`dscg_date`) of a finished stay.
    pub dscg_date: Option<NaiveDate>,
    /// The institution's level from the registry, not from the request.
    pub hosp_lv: HospLv,
    /// The institution (`medins_id`, the 定点医药机构编号 `fixmedins_code`): a re-admission
    /// counts as a split stay only at the same institution, or when either is unknown.
    pub medins_id: Option<String>,
    /// 就诊类型 `med_mdtrt_type`.
    pub med_mdtrt_type: Option<MdtrtType>,
    /// 医疗类别 `med_type`.
    pub med_type: Option<MedType>,
    /// 险种 `insutype` the encounter is settled under.
    pub insutype: Option<Insutype>,
    /// The main diagnosis (`dscg_main_dise_codg`, or the diagnosis with `maindise_flag` 1).
    pub main_dise_codg: Option<String>,
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

impl Finding {
    /// The `mdtrt_id` of the finding's encounter in the input it came from.
    pub fn mdtrt_id<'a>(&self, input: &'a AuditInput) -> &'a str {
        &input.encounters[self.encounter_idx].mdtrt_id
    }
}

/// A line named by a finding (`judge_result_detail_dtos`), by its place in the audited input:
/// read its `mdtrt_id`, `rx_id` and `feedetl_sn` there ([`FindingLine::line`]) rather than
/// copying them into every finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FindingLine {
    /// The line's encounter: its position in [`AuditInput::encounters`].
    pub encounter_idx: usize,
    /// The line's position in that encounter's `lines`.
    pub line_idx: usize,
    /// 1 or 2.
    pub vola_item_type: VolaItemType,
    /// Money flagged on this line.
    pub vola_amt: Fen,
}

impl FindingLine {
    /// The line's encounter in the input the finding came from.
    pub fn encounter<'a>(&self, input: &'a AuditInput) -> &'a Encounter {
        &input.encounters[self.encounter_idx]
    }

    /// The fee line in the input the finding came from.
    pub fn line<'a>(&self, input: &'a AuditInput) -> &'a FeeLine {
        &input.encounters[self.encounter_idx].lines[self.line_idx]
    }
}

/// What a finding rests on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    /// The knowledge table, `None` for checks of the input alone.
    pub table: Option<Table>,
    /// The entry's position in the table.
    pub entry_idx: Option<usize>,
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
    /// The encounter of the violating line: its position in [`AuditInput::encounters`] (its
    /// `mdtrt_id` is [`Finding::mdtrt_id`]).
    pub encounter_idx: usize,
    /// The message, from the §3.6 templates.
    pub vola_cont: String,
    /// Total money flagged.
    pub vola_amt: Fen,
    /// The lines named.
    pub details: Vec<FindingLine>,
    /// The evidence.
    pub evidence: Evidence,
}
