//! Persons and everything hanging off them, generated household by household.
//!
//! Each household draws from its own random stream (the seed mixed with the household number),
//! so the whole city is a pure function of the [`CityConfig`] and the only state carried between
//! households is the person counter and the table that keeps certificate numbers unique.

use chrono::{Datelike, Days, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};

use crate::names::{self, BIRTHPLACES};
use crate::{certno, mix_seed, CityConfig, HOUSEHOLD_SIZE_MAX};

/// Share of employees (职工) among the insured, in permille (35 : 65 with residents).
const EMPLOYEES_PERMILLE: u32 = 350;
/// Share of retirees among employees, permille.
const RETIRED_PERMILLE: u32 = 270;
/// Share of minors and students among residents, permille.
const MINORS_PERMILLE: u32 = 250;
/// Identity categories among residents, in units of 1/10,000: 特困 0.3 %, 低保 2.5 %, 返贫致贫 1 %.
const DESTITUTE_BP: u32 = 30;
/// 低保 share of residents, basis points.
const DIBAO_BP: u32 = 250;
/// 返贫致贫 share of residents, basis points.
const RELAPSE_BP: u32 = 100;
/// Share of persons with a cross-region filing, basis points.
const FILING_BP: u32 = 200;
/// Share of households with an employee account holder that bind their family for mutual aid.
const BINDING_HOUSEHOLDS_PERMILLE: u32 = 600;
/// Suspended and terminated relations, basis points of persons.
const SUSPENDED_BP: u32 = 40;
/// Terminated relations, basis points of persons.
const TERMINATED_BP: u32 = 20;
/// Household sizes 1..=5 and their weights.
const HOUSEHOLD_WEIGHTS: [u32; HOUSEHOLD_SIZE_MAX] = [18, 30, 28, 16, 8];
/// Oldest generated age; also sizes the certificate-number table.
const AGE_MAX_YEARS: u32 = 100;
/// Sequence numbers per sex for one birthplace and birth date (odd men, even women: 500 each).
const SEQUENCES_PER_SEX: u16 = 500;
/// A personal account balance is never generated above this (fen): 200,000 yuan.
const BALANCE_MAX_FEN: i64 = 20_000_000;

/// Employers of the area, for employees' insurance relations.
pub(crate) const EMPLOYERS: &[&str] = &[
    "晋城煤业集团有限责任公司",
    "山西兰花科技创业股份有限公司",
    "晋城市人民政府办公室",
    "晋城银行股份有限公司",
    "山西天泽煤化工集团股份公司",
    "晋城市第一中学校",
    "国网山西省电力公司晋城供电公司",
    "晋城市公共交通有限责任公司",
    "山西富士康精密电子有限公司",
    "晋城市自来水有限公司",
    "泽州县人民医院",
    "高平市教育局",
    "阳城县皇城相府集团",
    "晋城市个体劳动者协会",
];

/// 险种 insutype of a relation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Insutype {
    /// `310` 职工基本医疗保险.
    Employee,
    /// `390` 城乡居民基本医疗保险.
    Resident,
}

impl Insutype {
    /// The national code.
    pub fn code(self) -> &'static str {
        match self {
            Insutype::Employee => "310",
            Insutype::Resident => "390",
        }
    }
}

/// 人员类别 psn_type (national 4-digit codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PsnType {
    /// `1101` 职工在职.
    Employed,
    /// `1201` 职工退休.
    Retired,
    /// `1401` 新生儿.
    Newborn,
    /// `1402` 学龄前儿童.
    Preschool,
    /// `1403` 中小学生.
    Pupil,
    /// `1404` 大学生.
    CollegeStudent,
    /// `1501` 普通居民（成年）.
    AdultResident,
}

impl PsnType {
    /// The national code.
    pub fn code(self) -> &'static str {
        match self {
            PsnType::Employed => "1101",
            PsnType::Retired => "1201",
            PsnType::Newborn => "1401",
            PsnType::Preschool => "1402",
            PsnType::Pupil => "1403",
            PsnType::CollegeStudent => "1404",
            PsnType::AdultResident => "1501",
        }
    }

    /// True for the minors and students (`14xx`).
    pub fn is_minor_or_student(self) -> bool {
        self.code().starts_with("14")
    }
}

/// 人员参保状态 psn_insu_stas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InsuranceStatus {
    /// `1` 正常参保.
    Active,
    /// `2` 暂停参保.
    Suspended,
    /// `4` 终止参保.
    Terminated,
}

impl InsuranceStatus {
    /// The national code.
    pub fn code(self) -> &'static str {
        match self {
            InsuranceStatus::Active => "1",
            InsuranceStatus::Suspended => "2",
            InsuranceStatus::Terminated => "4",
        }
    }
}

/// 特殊人员类型 sp_psn_type: the identity categories that medical assistance looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdentityCategory {
    /// `1` 特困人员.
    Destitute,
    /// `2` 城乡低保对象.
    Dibao,
    /// `3` 返贫致贫 / monitored households.
    PovertyRelapse,
}

impl IdentityCategory {
    /// The national code.
    pub fn code(self) -> &'static str {
        match self {
            IdentityCategory::Destitute => "1",
            IdentityCategory::Dibao => "2",
            IdentityCategory::PovertyRelapse => "3",
        }
    }
}

/// A chronic or special disease (门诊慢特病) a person is treated for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChronicDisease {
    /// `I10` hypertension.
    Hypertension,
    /// `E11` type 2 diabetes.
    Diabetes,
    /// `N18` chronic kidney disease on dialysis.
    KidneyDialysis,
}

impl ChronicDisease {
    /// The ICD-10 code sent as `dise_codg`.
    pub fn code(self) -> &'static str {
        match self {
            ChronicDisease::Hypertension => "I10.x00",
            ChronicDisease::Diabetes => "E11.900",
            ChronicDisease::KidneyDialysis => "N18.500",
        }
    }

    /// The disease name sent as `dise_name`.
    pub fn name(self) -> &'static str {
        match self {
            ChronicDisease::Hypertension => "高血压",
            ChronicDisease::Diabetes => "2型糖尿病",
            ChronicDisease::KidneyDialysis => "慢性肾脏病5期(透析)",
        }
    }
}

/// One insured person's base record (`persons.csv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// 人员编号: the region followed by a 14-digit serial.
    pub psn_no: String,
    /// 18-character resident id with a valid check character.
    pub certno: String,
    /// 姓名.
    pub psn_name: String,
    /// True for men (`gend` 1), false for women (2).
    pub male: bool,
    /// 出生日期.
    pub brdy: NaiveDate,
    /// Mobile number.
    pub tel: String,
}

impl Person {
    /// The `gend` code.
    pub fn gend(&self) -> &'static str {
        if self.male {
            "1"
        } else {
            "2"
        }
    }

    /// Completed years of age on `date`.
    pub fn age_on(&self, date: NaiveDate) -> u32 {
        date.years_since(self.brdy).unwrap_or(0)
    }
}

/// The person's insurance relation (`insurance.csv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InsuranceRelation {
    /// 险种.
    pub insutype: Insutype,
    /// 人员类别.
    pub psn_type: PsnType,
    /// 参保地医保区划.
    pub insuplc_admdvs: String,
    /// Employer (empty for residents).
    pub emp_name: String,
    /// Start of the relation.
    pub begndate: NaiveDate,
    /// End of the relation (`None` open-ended).
    pub enddate: Option<NaiveDate>,
    /// 参保状态.
    pub status: InsuranceStatus,
}

/// An identity category record (`identities.csv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The category.
    pub category: IdentityCategory,
    /// Since.
    pub begndate: NaiveDate,
    /// Until (`None` open-ended).
    pub enddate: Option<NaiveDate>,
    /// The department that shared the data (民政, 乡村振兴).
    pub source_dept: &'static str,
}

/// An employee's personal account (`accounts.csv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Balance in fen, never negative.
    pub balance_fen: i64,
}

/// A family mutual-aid binding (`family_bindings.csv`): whose account pays this person's bills.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FamilyBinding {
    /// The account holder who pays.
    pub family_psn_no: String,
    /// Order in which the bound accounts are drawn (1, 2).
    pub bind_order: u8,
    /// Since.
    pub begndate: NaiveDate,
}

/// A cross-region filing (`filings.csv`, 异地备案).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filing {
    /// 备案流水号.
    pub trt_dcla_detl_sn: String,
    /// `1` 异地安置 … `5` 临时外出.
    pub dcla_type: u8,
    /// Where care is filed for.
    pub mdtrtarea_admvs: String,
    /// Since.
    pub begndate: NaiveDate,
    /// Until (`None` open-ended).
    pub enddate: Option<NaiveDate>,
}

/// How a person uses care: what the hospital simulator draws visits from. Not a registry file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CareProfile {
    /// The chronic disease the person is treated for, if any.
    pub chronic: Option<ChronicDisease>,
    /// Relative frequency of care in permille of an average person (age and frailty): a few
    /// frequent users carry much of the weight.
    pub use_weight_permille: u32,
}

/// One person with everything the registry holds about them.
#[derive(Clone, Debug)]
pub struct Member {
    /// 0-based person number in the city.
    pub index: u64,
    /// Base record.
    pub person: Person,
    /// Insurance relation.
    pub relation: InsuranceRelation,
    /// Identity category, residents only.
    pub identity: Option<Identity>,
    /// Personal account, employees only.
    pub account: Option<Account>,
    /// Family accounts bound to pay this person's bills, in order.
    pub bindings: Vec<FamilyBinding>,
    /// Cross-region filing.
    pub filing: Option<Filing>,
    /// Care profile for the simulator.
    pub care: CareProfile,
}

/// A household: persons who may bind to each other's accounts.
#[derive(Clone, Debug)]
pub struct Household {
    /// 0-based household number.
    pub index: u64,
    /// Members, 1..=[`HOUSEHOLD_SIZE_MAX`].
    pub members: Vec<Member>,
}

/// The city's households in order. Memory stays bounded whatever the size: only the counters and
/// the certificate-number table (about 1 MB) are kept.
pub fn households(config: &CityConfig) -> Households {
    let days = days_span(config);
    Households {
        config: config.clone(),
        household_idx: 0,
        person_idx: 0,
        next_filing_sn: 1,
        cert_sequences: vec![0; BIRTHPLACES.len() * 2 * days],
        days,
    }
}

/// Iterator returned by [`households`].
pub struct Households {
    config: CityConfig,
    household_idx: u64,
    person_idx: u64,
    next_filing_sn: u64,
    /// Next free sequence per (birthplace, sex, birth day): keeps certificate numbers unique.
    cert_sequences: Vec<u16>,
    days: usize,
}

fn days_span(config: &CityConfig) -> usize {
    (AGE_MAX_YEARS as usize + 2) * 366 + (config.as_of.ordinal() as usize)
}

impl Iterator for Households {
    type Item = Household;

    fn next(&mut self) -> Option<Household> {
        if self.person_idx >= self.config.persons {
            return None;
        }
        let mut rng = StdRng::seed_from_u64(mix_seed(self.config.seed, self.household_idx));
        let size = pick_weighted(&mut rng, &HOUSEHOLD_WEIGHTS) + 1;
        let left = self.config.persons - self.person_idx;
        let size = size.min(usize::try_from(left).unwrap_or(HOUSEHOLD_SIZE_MAX));
        let mut members = Vec::with_capacity(size);
        for _ in 0..size {
            let member = self.member(&mut rng);
            members.push(member);
        }
        bind_family(&mut rng, &mut members, self.config.as_of);
        let household = Household {
            index: self.household_idx,
            members,
        };
        self.household_idx += 1;
        Some(household)
    }
}

impl Households {
    fn member(&mut self, rng: &mut StdRng) -> Member {
        let as_of = self.config.as_of;
        let index = self.person_idx;
        self.person_idx += 1;
        let male = rng.random_bool(0.51);
        let employee = rng.random_range(0..1000) < EMPLOYEES_PERMILLE;
        let (insutype, psn_type, age) = if employee {
            if rng.random_range(0..1000) < RETIRED_PERMILLE {
                let retire_age = if male { 60 } else { 55 };
                let extra = (-(rng.random::<f64>().max(1e-9)).ln() * 12.0) as u32;
                (
                    Insutype::Employee,
                    PsnType::Retired,
                    (retire_age + extra).min(AGE_MAX_YEARS),
                )
            } else {
                (
                    Insutype::Employee,
                    PsnType::Employed,
                    rng.random_range(20..60),
                )
            }
        } else if rng.random_range(0..1000) < MINORS_PERMILLE {
            if rng.random_range(0..10) == 0 {
                (
                    Insutype::Resident,
                    PsnType::CollegeStudent,
                    rng.random_range(18..23),
                )
            } else {
                let age = rng.random_range(0..18);
                let psn_type = match age {
                    0 => PsnType::Newborn,
                    1..=6 => PsnType::Preschool,
                    _ => PsnType::Pupil,
                };
                (Insutype::Resident, psn_type, age)
            }
        } else {
            // Adult residents skew old: farmers, the self-employed and the elderly.
            let u: f64 = rng.random();
            (
                Insutype::Resident,
                PsnType::AdultResident,
                18 + (u.powf(0.8) * 72.0) as u32,
            )
        };
        let brdy = birth_date(rng, as_of, age);
        let birthplace = names::birthplace(rng);
        let certno = self.certno(birthplace, brdy, male);
        let psn_no = format!("{}{:014}", self.config.region, index + 1);
        let person = Person {
            psn_no,
            certno,
            psn_name: names::person_name(rng, male),
            male,
            brdy,
            tel: format!(
                "13{}{:08}",
                rng.random_range(0..10),
                rng.random_range(0..100_000_000)
            ),
        };

        let status_roll = rng.random_range(0..10_000);
        let earliest = if insutype == Insutype::Employee {
            later(
                add_years(brdy, 18 + rng.random_range(0..7)),
                date(1999, 1, 1),
            )
        } else {
            later(brdy, date(2016, 1, 1))
        };
        let begndate = earlier(earliest, as_of);
        let (status, enddate) = if status_roll < TERMINATED_BP {
            (
                InsuranceStatus::Terminated,
                Some(later(begndate, as_of - Days::new(30))),
            )
        } else if status_roll < TERMINATED_BP + SUSPENDED_BP {
            (InsuranceStatus::Suspended, None)
        } else {
            (InsuranceStatus::Active, None)
        };
        let emp_name = if insutype == Insutype::Employee {
            EMPLOYERS[rng.random_range(0..EMPLOYERS.len())].to_owned()
        } else {
            String::new()
        };
        let relation = InsuranceRelation {
            insutype,
            psn_type,
            insuplc_admdvs: self.config.region.clone(),
            emp_name,
            begndate,
            enddate,
            status,
        };

        let identity = if insutype == Insutype::Resident {
            let roll = rng.random_range(0..10_000);
            let category = if roll < DESTITUTE_BP {
                Some(IdentityCategory::Destitute)
            } else if roll < DESTITUTE_BP + DIBAO_BP {
                Some(IdentityCategory::Dibao)
            } else if roll < DESTITUTE_BP + DIBAO_BP + RELAPSE_BP {
                Some(IdentityCategory::PovertyRelapse)
            } else {
                None
            };
            category.map(|category| Identity {
                category,
                begndate: earlier(
                    later(brdy, as_of - Days::new(rng.random_range(30..2_500))),
                    as_of,
                ),
                enddate: None,
                source_dept: if category == IdentityCategory::PovertyRelapse {
                    "乡村振兴"
                } else {
                    "民政"
                },
            })
        } else {
            None
        };

        let account = (insutype == Insutype::Employee).then(|| {
            let median_yuan: f64 = if psn_type == PsnType::Retired {
                2_800.0
            } else {
                1_500.0
            };
            let dist = LogNormal::new(median_yuan.ln(), 0.9).expect("sigma is positive");
            let fen = (dist.sample(rng) * 100.0).round() as i64;
            Account {
                balance_fen: fen.clamp(0, BALANCE_MAX_FEN),
            }
        });

        let filing = (rng.random_range(0..10_000) < FILING_BP).then(|| {
            let dcla_type = [1u8, 1, 2, 2, 2, 3, 3, 4, 4, 5][rng.random_range(0..10)];
            let sn = self.next_filing_sn;
            self.next_filing_sn += 1;
            let begndate = earlier(
                later(brdy, as_of - Days::new(rng.random_range(30..700))),
                as_of,
            );
            Filing {
                trt_dcla_detl_sn: format!("BA{}{:010}", self.config.region, sn),
                dcla_type,
                mdtrtarea_admvs: self.config.other_region.clone(),
                begndate,
                enddate: (dcla_type >= 4).then(|| as_of + Days::new(rng.random_range(30..365))),
            }
        });

        let care = care_profile(rng, age);
        Member {
            index,
            person,
            relation,
            identity,
            account,
            bindings: Vec::new(),
            filing,
            care,
        }
    }

    /// A unique certificate number: the next free sequence for the birthplace, sex and birth date
    /// (moving to the next birthplace in the rare case that one is full).
    fn certno(&mut self, birthplace: usize, brdy: NaiveDate, male: bool) -> String {
        let oldest = self.config.as_of - Days::new(self.days as u64 - 1);
        let day = usize::try_from((brdy - oldest).num_days())
            .expect("ages are bounded")
            .min(self.days - 1);
        for step in 0..BIRTHPLACES.len() {
            let place = (birthplace + step) % BIRTHPLACES.len();
            let slot = (place * 2 + usize::from(male)) * self.days + day;
            let next = self.cert_sequences[slot];
            if next < SEQUENCES_PER_SEX {
                self.cert_sequences[slot] = next + 1;
                let sequence = next * 2 + u16::from(male);
                return certno::build(BIRTHPLACES[place].0, brdy, sequence);
            }
        }
        panic!(
            "more than 3,000 persons of one sex born on {brdy}: PERSONS_MAX keeps this unreachable"
        )
    }
}

/// Binds the household's non-holders to its employee account holders (共济), in most households
/// that have a holder.
fn bind_family(rng: &mut StdRng, members: &mut [Member], as_of: NaiveDate) {
    let holders: Vec<String> = members
        .iter()
        .filter(|m| m.account.is_some() && m.relation.status == InsuranceStatus::Active)
        .map(|m| m.person.psn_no.clone())
        .take(2)
        .collect();
    if holders.is_empty() || rng.random_range(0..1000) >= BINDING_HOUSEHOLDS_PERMILLE {
        return;
    }
    let begndate = as_of - Days::new(rng.random_range(10..900));
    for member in members.iter_mut() {
        if member.account.is_some() {
            continue;
        }
        member.bindings = holders
            .iter()
            .enumerate()
            .map(|(order, holder)| FamilyBinding {
                family_psn_no: holder.clone(),
                bind_order: u8::try_from(order + 1).expect("at most two holders"),
                begndate: later(begndate, member.person.brdy),
            })
            .collect();
    }
}

/// Age and frailty make the care weight: children and the old use more care, and a lognormal
/// frailty factor makes a few people frequent users.
fn care_profile(rng: &mut StdRng, age: u32) -> CareProfile {
    let chronic_permille = match age {
        0..=39 => 10,
        40..=59 => 100,
        _ => 250,
    };
    let chronic =
        (rng.random_range(0..1000) < chronic_permille).then(|| match rng.random_range(0..100) {
            0..=64 => ChronicDisease::Hypertension,
            65..=97 => ChronicDisease::Diabetes,
            _ => ChronicDisease::KidneyDialysis,
        });
    let age_weight: f64 = match age {
        0..=6 => 1.5,
        7..=17 => 0.8,
        18..=44 => 0.7,
        45..=59 => 1.0,
        60..=74 => 1.8,
        _ => 2.5,
    };
    let frailty = LogNormal::new(-0.5, 1.0)
        .expect("sigma is positive")
        .sample(rng);
    let weight = (age_weight * frailty * 1000.0)
        .round()
        .clamp(1.0, 100_000.0) as u32;
    CareProfile {
        chronic,
        use_weight_permille: weight,
    }
}

fn birth_date(rng: &mut StdRng, as_of: NaiveDate, age: u32) -> NaiveDate {
    // Somewhere in the year before the `age`-th birthday on or before `as_of`.
    let latest = add_years(as_of, -i32::try_from(age).expect("small"));
    latest - Days::new(rng.random_range(0..365))
}

fn add_years(date: NaiveDate, years: i32) -> NaiveDate {
    let year = date.year() + years;
    NaiveDate::from_ymd_opt(year, date.month(), date.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, date.month(), date.day() - 1))
        .expect("a valid date one day earlier at most")
}

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a literal date")
}

fn later(a: NaiveDate, b: NaiveDate) -> NaiveDate {
    a.max(b)
}

fn earlier(a: NaiveDate, b: NaiveDate) -> NaiveDate {
    a.min(b)
}

pub(crate) fn pick_weighted(rng: &mut impl Rng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut pick = rng.random_range(0..total);
    for (idx, weight) in weights.iter().enumerate() {
        if pick < *weight {
            return idx;
        }
        pick -= weight;
    }
    weights.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn config(persons: u64, seed: u64) -> CityConfig {
        CityConfig::new(persons, seed, date(2025, 6, 30))
    }

    #[test]
    fn the_same_seed_gives_the_same_city() {
        let a: Vec<_> = households(&config(500, 7))
            .flat_map(|h| h.members)
            .map(|m| m.person)
            .collect();
        let b: Vec<_> = households(&config(500, 7))
            .flat_map(|h| h.members)
            .map(|m| m.person)
            .collect();
        let c: Vec<_> = households(&config(500, 8))
            .flat_map(|h| h.members)
            .map(|m| m.person)
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 500);
    }

    #[test]
    fn registry_rules_hold_for_a_generated_city() {
        let config = config(20_000, 3);
        let mut psn_nos = HashSet::new();
        let mut certnos = HashSet::new();
        let mut members = Vec::new();
        for household in households(&config) {
            assert!(!household.members.is_empty() && household.members.len() <= HOUSEHOLD_SIZE_MAX);
            members.extend(household.members);
        }
        for m in &members {
            assert!(psn_nos.insert(m.person.psn_no.clone()), "psn_no unique");
            assert!(certnos.insert(m.person.certno.clone()), "certno unique");
            assert!(certno::is_valid(&m.person.certno), "{}", m.person.certno);
            assert_eq!(
                &m.person.certno[6..14],
                m.person.brdy.format("%Y%m%d").to_string()
            );
            let sequence_digit = m.person.certno.as_bytes()[16] - b'0';
            assert_eq!(
                sequence_digit % 2 == 1,
                m.person.male,
                "odd sequence for men"
            );
            assert!(m.relation.begndate <= config.as_of);
            assert!(m.relation.begndate >= m.person.brdy);
            assert_eq!(
                m.account.is_some(),
                m.relation.insutype == Insutype::Employee
            );
            assert!(m.account.as_ref().is_none_or(|a| a.balance_fen >= 0));
            assert!(m.identity.is_none() || m.relation.insutype == Insutype::Resident);
            let mut orders = HashSet::new();
            for binding in &m.bindings {
                assert_ne!(
                    binding.family_psn_no, m.person.psn_no,
                    "nobody bound to themselves"
                );
                assert!(orders.insert(binding.bind_order));
            }
        }
        for m in &members {
            for binding in &m.bindings {
                assert!(psn_nos.contains(&binding.family_psn_no));
            }
        }
    }

    #[test]
    fn the_person_count_is_exact_whatever_the_household_sizes() {
        for persons in [1, 2, 3, 17, 1_001] {
            let n: usize = households(&config(persons, 11))
                .map(|h| h.members.len())
                .sum();
            assert_eq!(n as u64, persons);
        }
    }
}
