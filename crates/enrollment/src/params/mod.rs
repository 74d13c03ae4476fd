//! Contribution and enrollment parameters as data (spec enrollment.md §7), keyed
//! `(admdvs, year)`: one TOML file per set, validated at load with errors that name the file, the
//! key and the reason. The format is documented in `docs/ENROLLMENT.md`.

mod file;

use chrono::{Datelike, NaiveDate};
use yibao_core_types::{Fen, Ratio};

use crate::category::Category;
use file::*;

/// Most tiers, subsidy rules, retiree bands or exemptions one list may hold: the files are
/// written by hand, so a longer list is a mistake.
pub const PARAM_LIST_MAX: usize = 32;
/// Longest waiting period, newborn window or gap any rule may state, in months (two years).
pub const MONTHS_MAX: u32 = 24;

/// A parameter file refused at load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {key}: {reason}")]
pub struct ParamsError {
    /// The file name given by the caller.
    pub file: String,
    /// The dotted key (`resident.tier[0].total`), or `file` for the whole file.
    pub key: String,
    /// Why it was refused.
    pub reason: String,
}

/// One party that pays part of a contribution (a payer line, spec §3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Payer {
    /// The insured person.
    Individual,
    /// The per-capita finance subsidy every resident gets.
    FinanceBase,
    /// 资助参保 from the medical-assistance fund.
    AssistanceFund,
    /// Special finance funds (local poverty funds, a county budget).
    FinanceSpecial,
    /// The unemployment-insurance fund (people drawing unemployment benefit).
    UnemploymentFund,
    /// A relative's personal account (mutual aid).
    AccountMutualAid,
    /// The employer.
    Employer,
}

/// Every payer, in declaration order.
pub const PAYERS: [Payer; 7] = [
    Payer::Individual,
    Payer::FinanceBase,
    Payer::AssistanceFund,
    Payer::FinanceSpecial,
    Payer::UnemploymentFund,
    Payer::AccountMutualAid,
    Payer::Employer,
];

impl Payer {
    /// The stable name used in files and reports (`assistance_fund` …).
    pub fn key(self) -> &'static str {
        match self {
            Payer::Individual => "individual",
            Payer::FinanceBase => "finance_base",
            Payer::AssistanceFund => "assistance_fund",
            Payer::FinanceSpecial => "finance_special",
            Payer::UnemploymentFund => "unemployment_fund",
            Payer::AccountMutualAid => "account_mutual_aid",
            Payer::Employer => "employer",
        }
    }

    /// The payer a [`Payer::key`] names.
    pub fn from_key(key: &str) -> Option<Payer> {
        PAYERS.into_iter().find(|payer| payer.key() == key)
    }
}

/// What is credited to an in-service employee's personal account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InServiceCredit {
    /// The employee's own contribution (the 2021 reform); the employer's all goes to the pool.
    EmployeeShare,
}

/// A retiree's fixed monthly account credit from an age on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetireeBand {
    /// The band applies from this age (completed years) on.
    pub from_age: u32,
    /// Credit per month.
    pub monthly: Fen,
}

/// Employee (`310`) contribution parameters (§5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployeeParams {
    /// Employer rate, including the former maternity rate.
    pub employer_rate: Ratio,
    /// Employee rate.
    pub employee_rate: Ratio,
    /// The former maternity share inside the employer rate, reported separately.
    pub maternity_rate: Ratio,
    /// The region's average monthly wage the band is computed from.
    pub average_wage: Fen,
    /// Lower end of the base band as a share of the average wage (0.6).
    pub base_floor: Ratio,
    /// Upper end of the base band as a share of the average wage (3).
    pub base_ceiling: Ratio,
    /// What an in-service employee's account receives.
    pub in_service_credit: InServiceCredit,
    /// Gaps of at most this many months may be back-paid and are covered retroactively.
    pub gap_backpay_months_max: u32,
    /// Longest waiting period after a longer gap, in months.
    pub gap_waiting_months_max: u32,
    /// Retiree credits by age band, ascending, the first from age 0.
    pub retiree_credit: Vec<RetireeBand>,
}

impl EmployeeParams {
    /// The lowest base: average wage × floor share, half-up to the fen.
    pub fn base_floor_amount(&self) -> Fen {
        self.average_wage.mul_ratio(self.base_floor)
    }

    /// The highest base: average wage × ceiling share, half-up to the fen.
    pub fn base_ceiling_amount(&self) -> Fen {
        self.average_wage.mul_ratio(self.base_ceiling)
    }
}

/// Retirement and minimum contribution years (§5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetirementParams {
    /// Cumulative months (actual + deemed) required of men.
    pub min_months_men: u32,
    /// Cumulative months required of women.
    pub min_months_women: u32,
    /// Actual (paid) months required, anywhere.
    pub min_months_actual: u32,
    /// Actual months required in this region.
    pub min_months_local_actual: u32,
    /// Monthly base of the one-off back-payment.
    pub backpay_base: Fen,
    /// Rate of the one-off back-payment.
    pub backpay_rate: Ratio,
}

/// A delivery type for maternity leave (生育类别, simplified).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryType {
    /// A normal delivery.
    Normal,
    /// A difficult delivery (难产, caesarean).
    Difficult,
    /// Miscarriage before four months of pregnancy.
    MiscarriageUnder4Months,
    /// Miscarriage from four months of pregnancy.
    MiscarriageFrom4Months,
}

/// Maternity allowance parameters (生育津贴, §11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaternityParams {
    /// Continuous contribution months required before the delivery.
    pub qualifying_months: u32,
    /// The allowance per day is the monthly base divided by this (30).
    pub days_per_month: u32,
    /// Leave days of a normal delivery.
    pub days_normal: u32,
    /// Leave days of a difficult delivery.
    pub days_difficult: u32,
    /// Leave days of a miscarriage before four months.
    pub days_miscarriage_under_4_months: u32,
    /// Leave days of a miscarriage from four months.
    pub days_miscarriage_from_4_months: u32,
    /// Extra days for each additional baby of a multiple birth.
    pub extra_days_per_additional_baby: u32,
}

impl MaternityParams {
    /// Leave days of one delivery type (without multiple-birth extras).
    pub fn leave_days(&self, delivery: DeliveryType) -> u32 {
        match delivery {
            DeliveryType::Normal => self.days_normal,
            DeliveryType::Difficult => self.days_difficult,
            DeliveryType::MiscarriageUnder4Months => self.days_miscarriage_under_4_months,
            DeliveryType::MiscarriageFrom4Months => self.days_miscarriage_from_4_months,
        }
    }
}

/// A resident tier (档次): total = finance + individual.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    /// The tier's id (`1`, `2`, `student`).
    pub id: String,
    /// Fund income per person per year.
    pub total: Fen,
    /// The finance subsidy every resident of the tier gets.
    pub finance: Fen,
    /// The individual standard.
    pub individual: Fen,
}

/// How much of the individual standard a subsidy pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubsidyKind {
    /// All of it.
    Full,
    /// A fixed amount, capped at the standard.
    Fixed(Fen),
    /// A share of the standard, half-up to the fen.
    Percent(Ratio),
}

/// A contribution subsidy for some identity categories (§5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubsidyRule {
    /// The categories the rule covers.
    pub categories: Vec<Category>,
    /// How much it pays.
    pub kind: SubsidyKind,
    /// The payer of the subsidy (of its remainder when `first` is set).
    pub payer: Payer,
    /// A payer that carries the first part of the subsidy, up to the amount (Linyi: 150 from
    /// the assistance fund, the rest from the county budget).
    pub first: Option<(Payer, Fen)>,
}

/// A reason that exempts a resident from waiting periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exemption {
    /// A newborn (their own window rule applies).
    Newborn,
    /// A medical-assistance recipient of this class (1–4).
    AssistanceClass(u8),
    /// A person who left active military service this year.
    DischargedSoldier,
    /// A pupil or student enrolled through the school.
    Student,
    /// A person released from prison this year.
    ReleasedPrisoner,
}

impl Exemption {
    /// The stable name used in files (`newborn`, `assistance_class_1` …).
    pub fn key(self) -> String {
        match self {
            Exemption::Newborn => "newborn".into(),
            Exemption::AssistanceClass(class) => format!("assistance_class_{class}"),
            Exemption::DischargedSoldier => "discharged_soldier".into(),
            Exemption::Student => "student".into(),
            Exemption::ReleasedPrisoner => "released_prisoner".into(),
        }
    }

    /// The exemption a key names.
    pub fn from_key(key: &str) -> Option<Exemption> {
        Some(match key {
            "newborn" => Exemption::Newborn,
            "assistance_class_1" => Exemption::AssistanceClass(1),
            "assistance_class_2" => Exemption::AssistanceClass(2),
            "assistance_class_3" => Exemption::AssistanceClass(3),
            "assistance_class_4" => Exemption::AssistanceClass(4),
            "discharged_soldier" => Exemption::DischargedSoldier,
            "student" => Exemption::Student,
            "released_prisoner" => Exemption::ReleasedPrisoner,
            _ => return None,
        })
    }
}

/// The date on which a category must be valid for the subsidy (`subsidy_reference`, §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubsidyReference {
    /// Valid on the assessment date.
    AssessmentDate,
    /// Valid on the assessment date or at any time in the collection period.
    CollectionPeriod,
}

/// The waiting-period rule after a lapse (from 2025, §5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LapseRule {
    /// Lapsed years are counted from this year on.
    pub count_from_year: i32,
    /// Variable waiting months per lapsed year after the first.
    pub variable_months_per_year: u32,
    /// Variable months removed per repaired year.
    pub repair_months_per_year: u32,
    /// The least total waiting after a long lapse.
    pub floor_months: u32,
    /// The floor applies from this many lapsed years.
    pub floor_after_lapsed_years: u32,
}

/// The newborn window (§5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewbornWindow {
    /// Paid within this many days of birth → covered from birth.
    Days(u32),
    /// Paid within this many months of birth → covered from birth.
    Months(u32),
}

/// Newborn rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewbornRule {
    /// The window in which payment covers from birth.
    pub window: NewbornWindow,
    /// Paid after the window but within this many months → covered from the month after
    /// payment (Qingdao: 12); after it, an ordinary late payer.
    pub late_window_months: Option<u32>,
}

/// A month and day in a year (the collection window's ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthDay {
    /// 1–12.
    pub month: u32,
    /// 1–31; clamped to the month's length (so `02-29` means the end of February).
    pub day: u32,
}

impl MonthDay {
    /// The date in `year`, the day clamped to the month's length.
    pub fn in_year(self, year: i32) -> NaiveDate {
        let last = last_day_of_month(year, self.month);
        NaiveDate::from_ymd_opt(year, self.month, self.day.min(last))
            .expect("a validated month and a clamped day")
    }
}

/// The last day (28–31) of a month.
pub fn last_day_of_month(year: i32, month: u32) -> u32 {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(next_year, next_month, 1)
        .and_then(|first| first.pred_opt())
        .map(|last| last.day())
        .expect("a valid month")
}

/// Resident (`390`) parameters (§5.3, §5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentParams {
    /// Tiers, at least one.
    pub tiers: Vec<Tier>,
    /// The tier children pay.
    pub children_tier: String,
    /// The tier university students pay, where it differs.
    pub student_tier: Option<String>,
    /// Start of the collection window, in year *Y−1*.
    pub collection_start: MonthDay,
    /// End of the collection window, in year *Y−1*.
    pub collection_end: MonthDay,
    /// End of an extension in year *Y* (Fujian: end of February), if any.
    pub extension_end: Option<MonthDay>,
    /// Whether extension payers wait (false: benefits from the payment date).
    pub extension_waiting: bool,
    /// Fixed waiting months of a late payer or after a lapse.
    pub late_waiting_months: u32,
    /// Whether the payment month counts as the first waiting month.
    pub payment_month_counts: bool,
    /// Variable waiting after a lapse, where the region applies it.
    pub lapse: Option<LapseRule>,
    /// Who does not wait.
    pub waiting_exemptions: Vec<Exemption>,
    /// Newborn windows.
    pub newborn: NewbornRule,
    /// When a category must be valid for a subsidy.
    pub subsidy_reference: SubsidyReference,
    /// Subsidy rules; the most favourable single one applies.
    pub subsidies: Vec<SubsidyRule>,
    /// Whether individual parts are refunded after the benefit year started.
    pub refund_after_year_start: bool,
}

impl ResidentParams {
    /// The tier with this id.
    pub fn tier(&self, id: &str) -> Option<&Tier> {
        self.tiers.iter().find(|tier| tier.id == id)
    }

    /// The collection window for benefit year `year` (in `year − 1`).
    pub fn collection_window(&self, year: i32) -> (NaiveDate, NaiveDate) {
        (
            self.collection_start.in_year(year - 1),
            self.collection_end.in_year(year - 1),
        )
    }
}

/// Transfer deadlines in working days (§12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferParams {
    /// The sending region finishes within this many working days of acceptance.
    pub sending_working_days: u32,
    /// The receiving region loads the sheet within this many working days of receipt.
    pub receiving_working_days: u32,
}

/// Most heirs one inheritance may name: a hand-entered list, so a longer one is a mistake.
pub const HEIRS_MAX_LIMIT: u32 = 32;

/// When a personal account (个人账户) may be paid out (spec enrollment.md §3.8 "inheritance
/// payout on death", §6 "account on death"): the policy as data, read by
/// [`crate::personal_account`]. Family mutual aid (家庭共济) is not here: it stays with the
/// bindings settlement reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalAccountParams {
    /// The whole balance may be withdrawn by a person settling abroad (出国/出境定居).
    pub withdraw_on_abroad: bool,
    /// ... and only once the person's employee relation has ended.
    pub abroad_requires_relation_ended: bool,
    /// After a confirmed death, the whole balance may be paid out in one sum to the estate
    /// (the person's payout account, claimed by the heirs at the bank).
    pub withdraw_on_death: bool,
    /// After a confirmed death, the balance may be inherited (继承) by heirs by share.
    pub inherit_on_death: bool,
    /// A person moving to a region the account cannot be transferred to may withdraw it
    /// (illustrative; most regions transfer the balance with the relation, §12).
    pub withdraw_on_move_without_transfer: bool,
    /// A withdrawal may take less than the whole balance.
    pub partial_withdrawal: bool,
    /// Most heirs one inheritance may name.
    pub heirs_max: u32,
}

impl Default for PersonalAccountParams {
    fn default() -> Self {
        PersonalAccountParams {
            withdraw_on_abroad: true,
            abroad_requires_relation_ended: true,
            withdraw_on_death: true,
            inherit_on_death: true,
            withdraw_on_move_without_transfer: false,
            partial_withdrawal: false,
            heirs_max: 10,
        }
    }
}

/// One step of the duplicate rule order (§10.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicateRule {
    /// Employee + resident, and ≥ N months continuous employee insurance → employee.
    EmployeeContinuous,
    /// Two employee relations → the place of employment.
    PlaceOfEmployment,
    /// A student → the place of study.
    PlaceOfStudy,
    /// Two resident relations → the place of habitual residence.
    HabitualResidence,
    /// The relation paid first (先缴先得).
    FirstPaid,
    /// The person's choice.
    PersonsChoice,
}

/// Every duplicate rule.
pub const DUPLICATE_RULES: [DuplicateRule; 6] = [
    DuplicateRule::EmployeeContinuous,
    DuplicateRule::PlaceOfEmployment,
    DuplicateRule::PlaceOfStudy,
    DuplicateRule::HabitualResidence,
    DuplicateRule::FirstPaid,
    DuplicateRule::PersonsChoice,
];

impl DuplicateRule {
    /// The stable name used in files and decisions.
    pub fn key(self) -> &'static str {
        match self {
            DuplicateRule::EmployeeContinuous => "employee_continuous",
            DuplicateRule::PlaceOfEmployment => "place_of_employment",
            DuplicateRule::PlaceOfStudy => "place_of_study",
            DuplicateRule::HabitualResidence => "habitual_residence",
            DuplicateRule::FirstPaid => "first_paid",
            DuplicateRule::PersonsChoice => "persons_choice",
        }
    }
}

/// The duplicate rule order (§10.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateParams {
    /// Rules in the order they are tried.
    pub order: Vec<DuplicateRule>,
    /// Continuous employee months for [`DuplicateRule::EmployeeContinuous`] (12).
    pub employee_continuous_months: u32,
}

/// One parameter set, for `(admdvs, year)`. Sections a region does not state are `None`; the
/// rules that need them refuse with [`crate::EngineError::MissingSection`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// The pooling region.
    pub admdvs: String,
    /// The first year the set applies to; it stays in force until a later set.
    pub year: i32,
    /// A human title.
    pub title: String,
    /// Employee contributions.
    pub employee: Option<EmployeeParams>,
    /// Retirement.
    pub retirement: Option<RetirementParams>,
    /// Maternity allowance.
    pub maternity: Option<MaternityParams>,
    /// Residents.
    pub resident: Option<ResidentParams>,
    /// Transfers.
    pub transfer: Option<TransferParams>,
    /// Duplicates.
    pub duplicate: Option<DuplicateParams>,
    /// Personal-account withdrawal and inheritance (§3.8, §6); the defaults when the file has
    /// no `[personal_account]` section.
    pub personal_account: PersonalAccountParams,
}

impl Params {
    /// `admdvs-year`, the set's id and file stem.
    pub fn id(&self) -> String {
        format!("{}-{}", self.admdvs, self.year)
    }
}

/// Several parameter sets; [`ParamSet::get`] finds the one in force.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParamSet {
    sets: Vec<Params>,
}

impl ParamSet {
    /// Loads `(file name, text)` pairs; two files for the same `(admdvs, year)` are refused.
    pub fn load(files: &[(&str, &str)]) -> Result<ParamSet, ParamsError> {
        let mut sets: Vec<Params> = Vec::new();
        for &(file, text) in files {
            let params = load(text, file)?;
            if sets
                .iter()
                .any(|other| other.admdvs == params.admdvs && other.year == params.year)
            {
                return Err(fail(
                    file,
                    "file",
                    format!("{} is loaded twice", params.id()),
                ));
            }
            sets.push(params);
        }
        sets.sort_by(|a, b| (&a.admdvs, a.year).cmp(&(&b.admdvs, b.year)));
        Ok(ParamSet { sets })
    }

    /// The set in force for `(admdvs, year)`: the latest one of the region with a year not
    /// after `year`.
    pub fn get(&self, admdvs: &str, year: i32) -> Option<&Params> {
        self.sets
            .iter()
            .filter(|set| set.admdvs == admdvs && set.year <= year)
            .max_by_key(|set| set.year)
    }

    /// The set in force for a person of `admdvs` in `year` at the region's pooling level: the
    /// region's own, else its prefecture's (`xxxx00`, where a county's persons pool), else its
    /// province's (`xx0000`).
    pub fn get_pooled(&self, admdvs: &str, year: i32) -> Option<&Params> {
        pooling_levels(admdvs).find_map(|level| self.get(&level, year))
    }

    /// Every set, ordered by region and year.
    pub fn sets(&self) -> &[Params] {
        &self.sets
    }
}

fn fail(file: &str, key: impl Into<String>, reason: impl Into<String>) -> ParamsError {
    ParamsError {
        file: file.to_owned(),
        key: key.into(),
        reason: reason.into(),
    }
}

/// Parses and validates one parameter file. `file_name` names the file in errors; when its stem
/// looks like `admdvs-year` it must agree with the file's `admdvs` and `year`.
pub fn load(text: &str, file_name: &str) -> Result<Params, ParamsError> {
    let deserializer = toml::de::Deserializer::parse(text).map_err(|err| {
        let line = err
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        let key = line.map_or_else(|| "file".to_owned(), |line| format!("line {line}"));
        fail(file_name, key, err.message().trim_end().to_owned())
    })?;
    let raw: ParamsFile = serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let key = if path == "." { "file".to_owned() } else { path };
        fail(file_name, key, err.inner().message().trim_end().to_owned())
    })?;
    let check = Check { file: file_name };
    check.params(raw)
}

struct Check<'f> {
    file: &'f str,
}

impl Check<'_> {
    fn fail(&self, key: impl Into<String>, reason: impl Into<String>) -> ParamsError {
        fail(self.file, key, reason)
    }

    /// A non-negative amount in yuan.
    fn fen(&self, key: &str, text: &str) -> Result<Fen, ParamsError> {
        Fen::parse_non_negative(text).map_err(|err| {
            self.fail(
                key,
                format!("{text:?} is not a non-negative amount in yuan: {err}"),
            )
        })
    }

    /// A share in `[0, 1]`.
    fn unit(&self, key: &str, text: &str) -> Result<Ratio, ParamsError> {
        Ratio::parse_unit(text)
            .map_err(|err| self.fail(key, format!("{text:?} is not a share from 0 to 1: {err}")))
    }

    /// A non-negative ratio (may exceed one: the ceiling is 3).
    fn ratio(&self, key: &str, text: &str) -> Result<Ratio, ParamsError> {
        let ratio = Ratio::parse(text)
            .map_err(|err| self.fail(key, format!("{text:?} is not a ratio: {err}")))?;
        if ratio.0 < 0 {
            return Err(self.fail(key, format!("{text:?} must not be negative")));
        }
        Ok(ratio)
    }

    fn months(&self, key: &str, months: u32) -> Result<u32, ParamsError> {
        if months > MONTHS_MAX {
            return Err(self.fail(key, format!("{months} is more than {MONTHS_MAX} months")));
        }
        Ok(months)
    }

    fn list_len<T>(&self, key: &str, list: &[T], at_least_one: bool) -> Result<(), ParamsError> {
        if at_least_one && list.is_empty() {
            return Err(self.fail(key, "must not be empty"));
        }
        if list.len() > PARAM_LIST_MAX {
            return Err(self.fail(key, format!("more than {PARAM_LIST_MAX} entries")));
        }
        Ok(())
    }

    fn month_day(&self, key: &str, text: &str) -> Result<MonthDay, ParamsError> {
        let bad = || self.fail(key, format!("{text:?} must be a month and day MM-DD"));
        let (month, day) = text.split_once('-').ok_or_else(bad)?;
        if month.len() != 2 || day.len() != 2 {
            return Err(bad());
        }
        let month: u32 = month.parse().map_err(|_| bad())?;
        let day: u32 = day.parse().map_err(|_| bad())?;
        // A leap year admits every day a month can have.
        if NaiveDate::from_ymd_opt(2024, month, day).is_none() {
            return Err(bad());
        }
        Ok(MonthDay { month, day })
    }

    fn payer(&self, key: &str, text: &str) -> Result<Payer, ParamsError> {
        let payer = Payer::from_key(text).ok_or_else(|| {
            let known: Vec<&str> = PAYERS.iter().map(|payer| payer.key()).collect();
            self.fail(
                key,
                format!("unknown payer {text:?} (known: {})", known.join(", ")),
            )
        })?;
        if matches!(payer, Payer::Individual | Payer::FinanceBase) {
            return Err(self.fail(
                key,
                format!("{text} cannot carry a subsidy (it is a line of every contribution)"),
            ));
        }
        Ok(payer)
    }

    fn params(&self, raw: ParamsFile) -> Result<Params, ParamsError> {
        if raw.admdvs.len() != 6 || !raw.admdvs.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.fail("admdvs", format!("{:?} must be six digits", raw.admdvs)));
        }
        if !(2000..=2100).contains(&raw.year) {
            return Err(self.fail(
                "year",
                format!("{} is not a year from 2000 to 2100", raw.year),
            ));
        }
        let id = format!("{}-{}", raw.admdvs, raw.year);
        let stem = self
            .file
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(self.file)
            .trim_end_matches(".toml");
        let looks_like_id = stem.len() == 11
            && stem.as_bytes()[6] == b'-'
            && stem.bytes().filter(u8::is_ascii_digit).count() == 10;
        if looks_like_id && stem != id {
            return Err(self.fail("admdvs", format!("the file is named {stem} but holds {id}")));
        }
        if raw.title.trim().is_empty() {
            return Err(self.fail("title", "must not be empty"));
        }
        Ok(Params {
            admdvs: raw.admdvs,
            year: raw.year,
            title: raw.title,
            employee: raw.employee.map(|e| self.employee(e)).transpose()?,
            retirement: raw.retirement.map(|r| self.retirement(r)).transpose()?,
            maternity: raw.maternity.map(|m| self.maternity(m)).transpose()?,
            resident: raw.resident.map(|r| self.resident(r)).transpose()?,
            transfer: raw.transfer.map(|t| self.transfer(t)).transpose()?,
            duplicate: raw.duplicate.map(|d| self.duplicate(d)).transpose()?,
            personal_account: self.personal_account(raw.personal_account.unwrap_or_default())?,
        })
    }

    fn employee(&self, raw: EmployeeFile) -> Result<EmployeeParams, ParamsError> {
        let employer_rate = self.unit("employee.employer_rate", &raw.employer_rate)?;
        let employee_rate = self.unit("employee.employee_rate", &raw.employee_rate)?;
        let maternity_rate = self.unit("employee.maternity_rate", &raw.maternity_rate)?;
        if maternity_rate > employer_rate {
            return Err(self.fail(
                "employee.maternity_rate",
                "is part of the employer rate, so it cannot exceed it",
            ));
        }
        let average_wage = self.fen("employee.average_wage", &raw.average_wage)?;
        if average_wage.is_zero() {
            return Err(self.fail("employee.average_wage", "must be positive"));
        }
        let base_floor = self.ratio("employee.base_floor", &raw.base_floor)?;
        let base_ceiling = self.ratio("employee.base_ceiling", &raw.base_ceiling)?;
        if base_floor > base_ceiling {
            return Err(self.fail("employee.base_floor", "is above base_ceiling"));
        }
        if base_ceiling > Ratio::percent(1_000) {
            return Err(self.fail("employee.base_ceiling", "is more than 10 times the wage"));
        }
        let in_service_credit = match raw.in_service_credit.as_str() {
            "employee_share" => InServiceCredit::EmployeeShare,
            other => {
                return Err(self.fail(
                    "employee.in_service_credit",
                    format!("{other:?} is not known (known: employee_share)"),
                ))
            }
        };
        self.list_len("employee.retiree_credit", &raw.retiree_credit, true)?;
        let mut retiree_credit: Vec<RetireeBand> = Vec::new();
        for (idx, band) in raw.retiree_credit.iter().enumerate() {
            let key = format!("employee.retiree_credit[{idx}]");
            if idx == 0 && band.from_age != 0 {
                return Err(self.fail(format!("{key}.from_age"), "the first band starts at 0"));
            }
            if let Some(previous) = retiree_credit.last() {
                if band.from_age <= previous.from_age {
                    return Err(self.fail(
                        format!("{key}.from_age"),
                        "bands must be in ascending age order",
                    ));
                }
            }
            retiree_credit.push(RetireeBand {
                from_age: band.from_age,
                monthly: self.fen(&format!("{key}.monthly"), &band.monthly)?,
            });
        }
        Ok(EmployeeParams {
            employer_rate,
            employee_rate,
            maternity_rate,
            average_wage,
            base_floor,
            base_ceiling,
            in_service_credit,
            gap_backpay_months_max: self.months(
                "employee.gap_backpay_months_max",
                raw.gap_backpay_months_max,
            )?,
            gap_waiting_months_max: self.months(
                "employee.gap_waiting_months_max",
                raw.gap_waiting_months_max,
            )?,
            retiree_credit,
        })
    }

    fn retirement(&self, raw: RetirementFile) -> Result<RetirementParams, ParamsError> {
        for (key, years) in [
            ("retirement.min_years_men", raw.min_years_men),
            ("retirement.min_years_women", raw.min_years_women),
            ("retirement.min_years_actual", raw.min_years_actual),
            (
                "retirement.min_years_local_actual",
                raw.min_years_local_actual,
            ),
        ] {
            if years > 50 {
                return Err(self.fail(key, format!("{years} years is more than 50")));
            }
        }
        let least_cumulative = raw.min_years_men.min(raw.min_years_women);
        if raw.min_years_actual > least_cumulative || raw.min_years_local_actual > least_cumulative
        {
            return Err(self.fail(
                "retirement.min_years_local_actual",
                "actual and local years cannot exceed the cumulative minimum",
            ));
        }
        Ok(RetirementParams {
            min_months_men: raw.min_years_men * 12,
            min_months_women: raw.min_years_women * 12,
            min_months_actual: raw.min_years_actual * 12,
            min_months_local_actual: raw.min_years_local_actual * 12,
            backpay_base: self.fen("retirement.backpay_base", &raw.backpay_base)?,
            backpay_rate: self.unit("retirement.backpay_rate", &raw.backpay_rate)?,
        })
    }

    fn maternity(&self, raw: MaternityFile) -> Result<MaternityParams, ParamsError> {
        if raw.allowance_base != "employer_average_wage" {
            return Err(self.fail(
                "maternity.allowance_base",
                format!(
                    "{:?} is not known (known: employer_average_wage)",
                    raw.allowance_base
                ),
            ));
        }
        if raw.days_per_month == 0 || raw.days_per_month > 31 {
            return Err(self.fail("maternity.days_per_month", "must be from 1 to 31"));
        }
        let days = &raw.leave_days;
        for (key, value) in [
            ("maternity.leave_days.normal", days.normal),
            ("maternity.leave_days.difficult", days.difficult),
            (
                "maternity.leave_days.miscarriage_under_4_months",
                days.miscarriage_under_4_months,
            ),
            (
                "maternity.leave_days.miscarriage_from_4_months",
                days.miscarriage_from_4_months,
            ),
            (
                "maternity.extra_days_per_additional_baby",
                raw.extra_days_per_additional_baby,
            ),
        ] {
            if value > 365 {
                return Err(self.fail(key, format!("{value} days is more than a year")));
            }
        }
        if days.difficult < days.normal {
            return Err(self.fail(
                "maternity.leave_days.difficult",
                "a difficult delivery cannot give fewer days than a normal one",
            ));
        }
        Ok(MaternityParams {
            qualifying_months: self.months("maternity.qualifying_months", raw.qualifying_months)?,
            days_per_month: raw.days_per_month,
            days_normal: days.normal,
            days_difficult: days.difficult,
            days_miscarriage_under_4_months: days.miscarriage_under_4_months,
            days_miscarriage_from_4_months: days.miscarriage_from_4_months,
            extra_days_per_additional_baby: raw.extra_days_per_additional_baby,
        })
    }

    fn resident(&self, raw: ResidentFile) -> Result<ResidentParams, ParamsError> {
        self.list_len("resident.tier", &raw.tier, true)?;
        let mut tiers: Vec<Tier> = Vec::new();
        for (idx, tier) in raw.tier.iter().enumerate() {
            let key = format!("resident.tier[{idx}]");
            if tier.id.trim().is_empty() {
                return Err(self.fail(format!("{key}.id"), "must not be empty"));
            }
            if tiers.iter().any(|other| other.id == tier.id) {
                return Err(self.fail(
                    format!("{key}.id"),
                    format!("tier {} appears twice", tier.id),
                ));
            }
            let total = self.fen(&format!("{key}.total"), &tier.total)?;
            let finance = self.fen(&format!("{key}.finance"), &tier.finance)?;
            let individual = self.fen(&format!("{key}.individual"), &tier.individual)?;
            if finance + individual != total {
                return Err(self.fail(
                    format!("{key}.total"),
                    format!("finance {finance} + individual {individual} is not the total {total}"),
                ));
            }
            tiers.push(Tier {
                id: tier.id.clone(),
                total,
                finance,
                individual,
            });
        }
        if !tiers.iter().any(|tier| tier.id == raw.children_tier) {
            return Err(self.fail(
                "resident.children_tier",
                format!("no tier has id {:?}", raw.children_tier),
            ));
        }
        if let Some(student) = &raw.student_tier {
            if !tiers.iter().any(|tier| &tier.id == student) {
                return Err(self.fail(
                    "resident.student_tier",
                    format!("no tier has id {student:?}"),
                ));
            }
        }
        let collection_start =
            self.month_day("resident.collection_start", &raw.collection_start)?;
        let collection_end = self.month_day("resident.collection_end", &raw.collection_end)?;
        if (collection_end.month, collection_end.day)
            < (collection_start.month, collection_start.day)
        {
            return Err(self.fail(
                "resident.collection_end",
                "is before collection_start (both are in the year before the benefit year)",
            ));
        }
        let extension_end = raw
            .extension_end
            .as_deref()
            .map(|text| self.month_day("resident.extension_end", text))
            .transpose()?;
        if extension_end.is_none() && raw.extension_waiting.is_some() {
            return Err(self.fail(
                "resident.extension_waiting",
                "is set but there is no extension_end",
            ));
        }
        let lapse = raw
            .lapse
            .as_ref()
            .map(|lapse| -> Result<LapseRule, ParamsError> {
                if !(2000..=2100).contains(&lapse.count_from_year) {
                    return Err(self.fail("resident.lapse.count_from_year", "is not a year"));
                }
                Ok(LapseRule {
                    count_from_year: lapse.count_from_year,
                    variable_months_per_year: self.months(
                        "resident.lapse.variable_months_per_year",
                        lapse.variable_months_per_year,
                    )?,
                    repair_months_per_year: self.months(
                        "resident.lapse.repair_months_per_year",
                        lapse.repair_months_per_year,
                    )?,
                    floor_months: self.months("resident.lapse.floor_months", lapse.floor_months)?,
                    floor_after_lapsed_years: lapse.floor_after_lapsed_years,
                })
            })
            .transpose()?;
        self.list_len(
            "resident.waiting_exemptions",
            &raw.waiting_exemptions,
            false,
        )?;
        let mut waiting_exemptions = Vec::new();
        for (idx, key) in raw.waiting_exemptions.iter().enumerate() {
            let exemption = Exemption::from_key(key).ok_or_else(|| {
                self.fail(
                    format!("resident.waiting_exemptions[{idx}]"),
                    format!("unknown exemption {key:?}"),
                )
            })?;
            if waiting_exemptions.contains(&exemption) {
                return Err(self.fail(
                    format!("resident.waiting_exemptions[{idx}]"),
                    format!("{key} appears twice"),
                ));
            }
            waiting_exemptions.push(exemption);
        }
        let newborn = match (raw.newborn.window_days, raw.newborn.window_months) {
            (Some(days), None) if (1..=366).contains(&days) => NewbornWindow::Days(days),
            (None, Some(months)) if (1..=MONTHS_MAX).contains(&months) => {
                NewbornWindow::Months(months)
            }
            (Some(_), Some(_)) | (None, None) => {
                return Err(self.fail(
                    "resident.newborn",
                    "exactly one of window_days and window_months must be set",
                ))
            }
            _ => return Err(self.fail("resident.newborn", "the window is out of range")),
        };
        if let Some(late) = raw.newborn.late_window_months {
            self.months("resident.newborn.late_window_months", late)?;
            if matches!(newborn, NewbornWindow::Months(months) if late <= months) {
                return Err(self.fail(
                    "resident.newborn.late_window_months",
                    "must be longer than window_months",
                ));
            }
        }
        let subsidy_reference = match raw.subsidy_reference.as_str() {
            "assessment_date" => SubsidyReference::AssessmentDate,
            "collection_period" => SubsidyReference::CollectionPeriod,
            other => {
                return Err(self.fail(
                    "resident.subsidy_reference",
                    format!("{other:?} is not known (known: assessment_date, collection_period)"),
                ))
            }
        };
        self.list_len("resident.subsidy", &raw.subsidy, false)?;
        let mut subsidies = Vec::new();
        for (idx, rule) in raw.subsidy.iter().enumerate() {
            subsidies.push(self.subsidy(&format!("resident.subsidy[{idx}]"), rule)?);
        }
        Ok(ResidentParams {
            tiers,
            children_tier: raw.children_tier,
            student_tier: raw.student_tier,
            collection_start,
            collection_end,
            extension_end,
            extension_waiting: raw.extension_waiting.unwrap_or(false),
            late_waiting_months: self
                .months("resident.late_waiting_months", raw.late_waiting_months)?,
            payment_month_counts: raw.payment_month_counts,
            lapse,
            waiting_exemptions,
            newborn: NewbornRule {
                window: newborn,
                late_window_months: raw.newborn.late_window_months,
            },
            subsidy_reference,
            subsidies,
            refund_after_year_start: raw.refund_after_year_start,
        })
    }

    fn subsidy(&self, key: &str, raw: &SubsidyFile) -> Result<SubsidyRule, ParamsError> {
        self.list_len(&format!("{key}.categories"), &raw.categories, true)?;
        let mut categories = Vec::new();
        for (idx, name) in raw.categories.iter().enumerate() {
            let category = Category::from_key(name).ok_or_else(|| {
                self.fail(
                    format!("{key}.categories[{idx}]"),
                    format!("unknown category {name:?}"),
                )
            })?;
            categories.push(category);
        }
        let kind = match (raw.kind.as_str(), &raw.amount, &raw.percent) {
            ("full", None, None) => SubsidyKind::Full,
            ("fixed", Some(amount), None) => {
                SubsidyKind::Fixed(self.fen(&format!("{key}.amount"), amount)?)
            }
            ("percent", None, Some(percent)) => {
                SubsidyKind::Percent(self.unit(&format!("{key}.percent"), percent)?)
            }
            ("full" | "fixed" | "percent", _, _) => return Err(self.fail(
                format!("{key}.kind"),
                "full takes neither amount nor percent; fixed takes amount; percent takes percent",
            )),
            (other, _, _) => {
                return Err(self.fail(
                    format!("{key}.kind"),
                    format!("{other:?} is not known (known: full, fixed, percent)"),
                ))
            }
        };
        let payer = self.payer(&format!("{key}.payer"), &raw.payer)?;
        let first = match (&raw.first_payer, &raw.first_amount) {
            (None, None) => None,
            (Some(first_payer), Some(amount)) => {
                let first_payer = self.payer(&format!("{key}.first_payer"), first_payer)?;
                if first_payer == payer {
                    return Err(self.fail(format!("{key}.first_payer"), "is the same as payer"));
                }
                Some((
                    first_payer,
                    self.fen(&format!("{key}.first_amount"), amount)?,
                ))
            }
            _ => {
                return Err(self.fail(
                    format!("{key}.first_payer"),
                    "first_payer and first_amount go together",
                ))
            }
        };
        Ok(SubsidyRule {
            categories,
            kind,
            payer,
            first,
        })
    }

    fn transfer(&self, raw: TransferFile) -> Result<TransferParams, ParamsError> {
        for (key, days) in [
            ("transfer.sending_working_days", raw.sending_working_days),
            (
                "transfer.receiving_working_days",
                raw.receiving_working_days,
            ),
        ] {
            if days == 0 || days > 60 {
                return Err(self.fail(key, format!("{days} must be from 1 to 60 working days")));
            }
        }
        Ok(TransferParams {
            sending_working_days: raw.sending_working_days,
            receiving_working_days: raw.receiving_working_days,
        })
    }

    fn personal_account(
        &self,
        raw: PersonalAccountFile,
    ) -> Result<PersonalAccountParams, ParamsError> {
        let d = PersonalAccountParams::default();
        let heirs_max = raw.heirs_max.unwrap_or(d.heirs_max);
        if heirs_max == 0 || heirs_max > HEIRS_MAX_LIMIT {
            return Err(self.fail(
                "personal_account.heirs_max",
                format!("{heirs_max} must be from 1 to {HEIRS_MAX_LIMIT}"),
            ));
        }
        Ok(PersonalAccountParams {
            withdraw_on_abroad: raw.withdraw_on_abroad.unwrap_or(d.withdraw_on_abroad),
            abroad_requires_relation_ended: raw
                .abroad_requires_relation_ended
                .unwrap_or(d.abroad_requires_relation_ended),
            withdraw_on_death: raw.withdraw_on_death.unwrap_or(d.withdraw_on_death),
            inherit_on_death: raw.inherit_on_death.unwrap_or(d.inherit_on_death),
            withdraw_on_move_without_transfer: raw
                .withdraw_on_move_without_transfer
                .unwrap_or(d.withdraw_on_move_without_transfer),
            partial_withdrawal: raw.partial_withdrawal.unwrap_or(d.partial_withdrawal),
            heirs_max,
        })
    }

    fn duplicate(&self, raw: DuplicateFile) -> Result<DuplicateParams, ParamsError> {
        self.list_len("duplicate.order", &raw.order, true)?;
        let mut order = Vec::new();
        for (idx, name) in raw.order.iter().enumerate() {
            let rule = DUPLICATE_RULES
                .into_iter()
                .find(|rule| rule.key() == name)
                .ok_or_else(|| {
                    self.fail(
                        format!("duplicate.order[{idx}]"),
                        format!("unknown duplicate rule {name:?}"),
                    )
                })?;
            if order.contains(&rule) {
                return Err(self.fail(
                    format!("duplicate.order[{idx}]"),
                    format!("{name} appears twice"),
                ));
            }
            order.push(rule);
        }
        let last = *order.last().expect("checked non-empty");
        if !matches!(
            last,
            DuplicateRule::FirstPaid | DuplicateRule::PersonsChoice
        ) {
            return Err(self.fail(
                "duplicate.order",
                "must end with first_paid or persons_choice, which always decide",
            ));
        }
        Ok(DuplicateParams {
            order,
            employee_continuous_months: self.months(
                "duplicate.employee_continuous_months",
                raw.employee_continuous_months,
            )?,
        })
    }
}

/// The regions whose rules a person of `admdvs` falls under, nearest first: the region itself,
/// its prefecture (`xxxx00`, where a county's persons pool) and its province (`xx0000`).
pub fn pooling_levels(admdvs: &str) -> impl Iterator<Item = String> + '_ {
    std::iter::once(admdvs.to_owned())
        .chain(admdvs.get(..4).map(|p| format!("{p}00")))
        .chain(admdvs.get(..2).map(|p| format!("{p}0000")))
}
