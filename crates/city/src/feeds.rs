//! What the city's other departments send the bureau (spec enrollment.md §8.1), as the files the
//! registry imports (docs/FEEDS.md, docs/CONTRIBUTIONS.md): the police population file (every
//! person with their household and relationship to its head), the civil-affairs identity list
//! (特困 2304, 低保 2303, 返贫致贫 226104), and the employers with their staff's declared wages
//! for the contribution year. Generated from the same seed as the registry, so the feeds
//! describe the same people.

use chrono::{Datelike, NaiveDate};

use crate::generate::{households, IdentityCategory, Member, EMPLOYERS};
use crate::{mix_seed, CityConfig, CityError, Insutype};

/// The police file's header (fixed for outside tools).
pub const POLICE_HEADER: &str = "certno,psn_name,gend,brdy,admdvs,hh_id,hh_rel";
/// The identity list's header (fixed for outside tools).
pub const IDENTITY_HEADER: &str = "certno,psn_name,idet_type,begn_date,end_date";

/// The tax bureau's payment file's header (docs/FEEDS.md).
pub const TAX_HEADER: &str = "certno,insutype,period,amount,elec_taxrpt_no,clct_date";

/// Of every 10,000 residents with something to pay, how many pay late, during the benefit year
/// (they wait, spec enrollment.md §5.3), and how many never pay (settlement refuses them
/// `未缴费`); the rest pay in the collection window of the year before.
const TAX_LATE_BP: u64 = 40;
const TAX_NEVER_BP: u64 = 30;

/// The lowest and highest monthly wage the city declares (fen): 3,500 – 15,500 yuan, averaging
/// about 7,500 (the reference region's average wage is 7,000).
const WAGE_MIN_FEN: i64 = 350_000;
const WAGE_SPREAD_FEN: i64 = 1_200_000;

/// An employer of the city.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmployerRow {
    /// `emp_no`: the region, `E` and a 4-digit number.
    pub emp_no: String,
    /// The name.
    pub emp_name: String,
    /// Where it is insured.
    pub insu_admdvs: String,
}

/// An employee's declared monthly wage for the contribution year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WageRow {
    /// The person.
    pub psn_no: String,
    /// The employer.
    pub emp_no: String,
    /// The declared monthly wage, fen.
    pub wage_fen: i64,
}

/// The departments' files for the city.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Feeds {
    /// The police population file (CSV with [`POLICE_HEADER`]).
    pub police: String,
    /// The civil-affairs identity list (CSV with [`IDENTITY_HEADER`]).
    pub identity: String,
    /// Employers.
    pub employers: Vec<EmployerRow>,
    /// Employees' declared wages (in-service employees only; retirees declare none).
    pub wages: Vec<WageRow>,
}

/// The employer number of [`EMPLOYERS`]`[idx]` in `region`.
fn emp_no(region: &str, idx: usize) -> String {
    format!("{region}E{idx:04}")
}

/// The relationship to the household's head (GB/T 4761) of a member, judged from age and sex:
/// `02` the head; `10` a spouse (within 15 years of the head's age, the other sex, an adult);
/// `20` son / `30` daughter (15 or more years younger); `51` father / `52` mother (15 or more
/// years older); `99` anyone else.
fn hh_rel(head: &Member, member: &Member, as_of: NaiveDate) -> &'static str {
    if head.person.psn_no == member.person.psn_no {
        return "02";
    }
    let head_age = i64::from(head.person.age_on(as_of));
    let age = i64::from(member.person.age_on(as_of));
    match age - head_age {
        d if d <= -15 => {
            if member.person.male {
                "20"
            } else {
                "30"
            }
        }
        d if d >= 15 => {
            if member.person.male {
                "51"
            } else {
                "52"
            }
        }
        _ if age >= 18 && member.person.male != head.person.male => "10",
        _ => "99",
    }
}

/// The identity list's code of a category.
fn idet_type(category: IdentityCategory) -> &'static str {
    match category {
        IdentityCategory::Destitute => "2304",
        IdentityCategory::Dibao => "2303",
        IdentityCategory::PovertyRelapse => "226104",
    }
}

/// The city's feeds: every person in the police file, every identity in the identity list,
/// every employer, and a declared wage for every in-service employee.
pub fn feeds(config: &CityConfig) -> Result<Feeds, CityError> {
    config.validate()?;
    let mut out = Feeds {
        police: format!("{POLICE_HEADER}\n"),
        identity: format!("{IDENTITY_HEADER}\n"),
        employers: EMPLOYERS
            .iter()
            .enumerate()
            .map(|(idx, name)| EmployerRow {
                emp_no: emp_no(&config.region, idx),
                emp_name: (*name).to_owned(),
                insu_admdvs: config.region.clone(),
            })
            .collect(),
        wages: Vec::new(),
    };
    for household in households(config) {
        let head = &household.members[0];
        let hh_id = format!("{}H{:09}", config.region, household.index);
        for member in &household.members {
            let p = &member.person;
            out.police.push_str(&format!(
                "{},{},{},{},{},{hh_id},{}\n",
                p.certno,
                p.psn_name,
                p.gend(),
                p.brdy,
                member.relation.insuplc_admdvs,
                hh_rel(head, member, config.as_of)
            ));
            if let Some(identity) = &member.identity {
                out.identity.push_str(&format!(
                    "{},{},{},{},{}\n",
                    p.certno,
                    p.psn_name,
                    idet_type(identity.category),
                    identity.begndate,
                    identity.enddate.map(|d| d.to_string()).unwrap_or_default()
                ));
            }
            let in_service = member.relation.insutype == Insutype::Employee
                && member.relation.psn_type.code().starts_with("11");
            if in_service {
                let Some(idx) = EMPLOYERS
                    .iter()
                    .position(|e| *e == member.relation.emp_name)
                else {
                    continue;
                };
                // A skewed draw: most wages near the floor, a few far above.
                let u = (mix_seed(config.seed, 0xFEED_0000 ^ member.index) % 10_000) as i64;
                let wage_fen = WAGE_MIN_FEN + WAGE_SPREAD_FEN * u * u / 100_000_000;
                out.wages.push(WageRow {
                    psn_no: p.psn_no.clone(),
                    emp_no: emp_no(&config.region, idx),
                    // Whole yuan, as payrolls declare.
                    wage_fen: wage_fen / 100 * 100,
                });
            }
        }
    }
    Ok(out)
}

/// A resident's individual part for the year, as the bureau's collection list gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResidentDue {
    /// The person's identity number.
    pub certno: String,
    /// What the person pays, fen (more than zero).
    pub due_fen: i64,
}

/// The tax bureau's payments (CSV with [`TAX_HEADER`]) of the residents' contributions for
/// `year`, one row per resident of `dues` who paid: most in the collection window of the year
/// before (1 September – 31 December; a child born in or after it, a few weeks after birth), a
/// few in [`TAX_LATE_BP`] per 10,000 during the year up to the city's `as_of` date, and
/// [`TAX_NEVER_BP`] per 10,000 never. Each person's draw is a pure function of the seed and the
/// identity number, so the same dues give the same file.
pub fn tax_payments(config: &CityConfig, year: i32, dues: &[ResidentDue]) -> String {
    let mut out = format!("{TAX_HEADER}\n");
    let window_start = NaiveDate::from_ymd_opt(year - 1, 9, 1).expect("1 September");
    let year_start = NaiveDate::from_ymd_opt(year, 1, 1).expect("1 January");
    let year_end = NaiveDate::from_ymd_opt(year, 12, 31).expect("31 December");
    let last_day = config.as_of.min(year_end);
    for (idx, due) in dues.iter().enumerate() {
        let number: u64 = due
            .certno
            .get(..17)
            .and_then(|digits| digits.parse().ok())
            .unwrap_or(idx as u64);
        let draw = mix_seed(config.seed, 0x7A40_0000_0000 ^ number);
        let roll = draw % 10_000;
        let birth = due
            .certno
            .get(6..14)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok())
            .unwrap_or(window_start);
        let date = if roll < TAX_NEVER_BP {
            continue;
        } else if roll < TAX_NEVER_BP + TAX_LATE_BP {
            let days = (last_day - year_start).num_days().max(0) as u64 + 1;
            year_start + chrono::Days::new((draw >> 16) % days)
        } else {
            window_start + chrono::Days::new((draw >> 16) % 122)
        };
        // Nobody pays before being born: a newborn's family pays a few weeks after the birth.
        let date = if date < birth {
            birth + chrono::Days::new((draw >> 40) % 45)
        } else {
            date
        }
        .min(last_day);
        if date < birth || date < window_start {
            continue;
        }
        out.push_str(&format!(
            "{},390,{year},{}.{:02},{}T{year}{idx:08},{date}\n",
            due.certno,
            due.due_fen / 100,
            due.due_fen % 100,
            config.region
        ));
    }
    out
}

/// The contribution year a city's wages are declared for: the year of its `as_of` date.
pub fn wage_year(config: &CityConfig) -> i32 {
    config.as_of.year()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CityConfig {
        CityConfig::new(2_000, 11, NaiveDate::from_ymd_opt(2026, 6, 30).unwrap())
    }

    #[test]
    fn every_person_is_in_the_police_file_with_a_valid_number_and_one_head_per_household() {
        let config = config();
        let f = feeds(&config).unwrap();
        let rows: Vec<Vec<&str>> = f
            .police
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect())
            .collect();
        assert_eq!(rows.len() as u64, config.persons);
        let mut heads = std::collections::HashMap::new();
        for r in &rows {
            assert_eq!(r.len(), 7, "{r:?}");
            assert!(crate::certno::is_valid(r[0]), "{r:?}");
            *heads.entry(r[5]).or_insert(0) += usize::from(r[6] == "02");
        }
        assert!(heads.values().all(|n| *n == 1), "one head per household");
        assert!(rows.iter().any(|r| r[6] == "10"), "some spouses");
        assert!(
            rows.iter().any(|r| r[6] == "20" || r[6] == "30"),
            "some children"
        );
    }

    #[test]
    fn most_residents_pay_in_the_window_a_few_late_a_few_never() {
        let config = config();
        let dues: Vec<ResidentDue> = households(&config)
            .flat_map(|h| h.members)
            .filter(|m| m.relation.insutype == Insutype::Resident)
            .map(|m| ResidentDue {
                certno: m.person.certno,
                due_fen: 40_000,
            })
            .collect();
        let file = tax_payments(&config, 2026, &dues);
        assert_eq!(file, tax_payments(&config, 2026, &dues));
        let rows: Vec<Vec<&str>> = file
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect())
            .collect();
        assert!(rows.len() < dues.len() && rows.len() * 100 > dues.len() * 97);
        let late = rows.iter().filter(|r| r[5] >= "2026-01-01").count();
        assert!(
            late > 0 && late * 50 < rows.len(),
            "{late} of {}",
            rows.len()
        );
        for r in &rows {
            assert_eq!((r[1], r[2], r[3]), ("390", "2026", "400.00"), "{r:?}");
            assert!(r[5] >= "2025-09-01" && r[5] <= "2026-06-30", "{r:?}");
        }
    }

    #[test]
    fn identities_and_wages_follow_the_registry() {
        let config = config();
        let f = feeds(&config).unwrap();
        let identities = f.identity.lines().skip(1).count();
        let expected = households(&config)
            .flat_map(|h| h.members)
            .filter(|m| m.identity.is_some())
            .count();
        assert_eq!(identities, expected);
        assert!(identities > 0);
        for line in f.identity.lines().skip(1) {
            let code = line.split(',').nth(2).unwrap();
            assert!(
                yibao_enrollment::Category::from_code(code).is_some(),
                "{line}"
            );
        }
        assert!(!f.wages.is_empty());
        let mean = f.wages.iter().map(|w| w.wage_fen).sum::<i64>() / f.wages.len() as i64;
        assert!((600_000..=900_000).contains(&mean), "mean wage {mean}");
        assert!(f
            .wages
            .iter()
            .all(|w| w.wage_fen >= WAGE_MIN_FEN && w.wage_fen % 100 == 0));
        assert!(f
            .wages
            .iter()
            .all(|w| f.employers.iter().any(|e| e.emp_no == w.emp_no)));
        // The same seed, the same files.
        assert_eq!(feeds(&config).unwrap(), f);
    }
}
