//! What a generated city contains, printed beside the demo-city calibration targets.

use std::fmt;

use crate::generate::{Household, IdentityCategory, InsuranceStatus, Insutype, PsnType};
use crate::institution::{Institution, InstitutionType};
use crate::CityConfig;

/// Counts over a generated city.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CityRates {
    /// Persons.
    pub persons: u64,
    /// Households.
    pub households: u64,
    /// Employees (`310`).
    pub employees: u64,
    /// Retired employees (`1201`).
    pub retired: u64,
    /// Residents (`390`).
    pub residents: u64,
    /// Minors and students among residents (`14xx`).
    pub minors: u64,
    /// 特困 among residents.
    pub destitute: u64,
    /// 低保 among residents.
    pub dibao: u64,
    /// 返贫致贫 among residents.
    pub poverty_relapse: u64,
    /// Personal accounts.
    pub accounts: u64,
    /// Sum of account balances, fen.
    pub balance_sum_fen: i64,
    /// Persons with at least one family binding.
    pub bound_persons: u64,
    /// Family binding rows.
    pub bindings: u64,
    /// Cross-region filings.
    pub filings: u64,
    /// Suspended or terminated relations.
    pub inactive: u64,
    /// Persons treated for a chronic disease.
    pub chronic: u64,
    /// Home-region hospitals per level 1..=3.
    pub hospitals_by_level: [u64; 3],
    /// Retail pharmacies.
    pub pharmacies: u64,
    /// Hospitals in the other region.
    pub other_region_hospitals: u64,
}

impl CityRates {
    /// Adds one household.
    pub fn observe_household(&mut self, household: &Household) {
        self.households += 1;
        for m in &household.members {
            self.persons += 1;
            match m.relation.insutype {
                Insutype::Employee => self.employees += 1,
                Insutype::Resident => self.residents += 1,
            }
            if m.relation.psn_type == PsnType::Retired {
                self.retired += 1;
            }
            if m.relation.insutype == Insutype::Resident
                && m.relation.psn_type.is_minor_or_student()
            {
                self.minors += 1;
            }
            match m.identity.as_ref().map(|i| i.category) {
                Some(IdentityCategory::Destitute) => self.destitute += 1,
                Some(IdentityCategory::Dibao) => self.dibao += 1,
                Some(IdentityCategory::PovertyRelapse) => self.poverty_relapse += 1,
                None => {}
            }
            if let Some(account) = &m.account {
                self.accounts += 1;
                self.balance_sum_fen += account.balance_fen;
            }
            if !m.bindings.is_empty() {
                self.bound_persons += 1;
                self.bindings += m.bindings.len() as u64;
            }
            if m.filing.is_some() {
                self.filings += 1;
            }
            if m.relation.status != InsuranceStatus::Active {
                self.inactive += 1;
            }
            if m.care.chronic.is_some() {
                self.chronic += 1;
            }
        }
    }

    /// Adds the institution list.
    pub fn observe_institutions(&mut self, config: &CityConfig, institutions: &[Institution]) {
        for i in institutions {
            match (i.kind, i.admdvs == config.region) {
                (InstitutionType::Pharmacy, _) => self.pharmacies += 1,
                (InstitutionType::Hospital, true) => {
                    self.hospitals_by_level[usize::from(i.hi_setl_lv.clamp(1, 3) - 1)] += 1;
                }
                (InstitutionType::Hospital, false) => self.other_region_hospitals += 1,
            }
        }
    }

    /// Rows of (quantity, this city, target).
    pub fn rows(&self) -> Vec<(&'static str, String, &'static str)> {
        let hospitals: u64 = self.hospitals_by_level.iter().sum();
        vec![
            (
                "insured persons",
                self.persons.to_string(),
                "100,000 by default",
            ),
            (
                "employees : residents",
                format!(
                    "{} : {}",
                    (permille(self.employees, self.persons) + 5) / 10,
                    (permille(self.residents, self.persons) + 5) / 10
                ),
                "35 : 65",
            ),
            (
                "retired among employees",
                percent(self.retired, self.employees),
                "~27%",
            ),
            (
                "minors and students among residents",
                percent(self.minors, self.residents),
                "~25%",
            ),
            (
                "特困 among residents",
                percent(self.destitute, self.residents),
                "~0.3%",
            ),
            (
                "低保 among residents",
                percent(self.dibao, self.residents),
                "~2.5%",
            ),
            (
                "返贫致贫 among residents",
                percent(self.poverty_relapse, self.residents),
                "~1%",
            ),
            (
                "personal accounts (employees)",
                self.accounts.to_string(),
                "one per employee",
            ),
            (
                "mean account balance (yuan)",
                crate::fen_to_yuan(
                    self.balance_sum_fen / i64::try_from(self.accounts.max(1)).unwrap_or(1),
                ),
                "(illustrative)",
            ),
            (
                "persons bound for mutual aid (共济)",
                percent(self.bound_persons, self.persons),
                "(illustrative)",
            ),
            (
                "cross-region filings (异地备案)",
                percent(self.filings, self.persons),
                "a few percent",
            ),
            (
                "suspended or terminated relations",
                percent(self.inactive, self.persons),
                "(illustrative)",
            ),
            (
                "chronic-disease patients",
                percent(self.chronic, self.persons),
                "(illustrative)",
            ),
            (
                "hospitals (home region)",
                hospitals.to_string(),
                "30+; ~50 per million",
            ),
            (
                "hospital levels 1 / 2 / 3",
                format!(
                    "{} / {} / {}",
                    percent(self.hospitals_by_level[0], hospitals),
                    percent(self.hospitals_by_level[1], hospitals),
                    percent(self.hospitals_by_level[2], hospitals)
                ),
                "~70% / 25% / 5%",
            ),
            (
                "persons per pharmacy",
                (self.persons / self.pharmacies.max(1)).to_string(),
                "~2,000",
            ),
            (
                "hospitals in the other region",
                self.other_region_hospitals.to_string(),
                "(for 异地 care)",
            ),
        ]
    }
}

impl fmt::Display for CityRates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<40} {:>18}   target (spec/demo-city.md)",
            "quantity", "this city"
        )?;
        for (name, value, target) in self.rows() {
            // Chinese characters are two columns wide: pad by display width, not by chars.
            let width = name
                .chars()
                .map(|c| if c.is_ascii() { 1 } else { 2 })
                .sum::<usize>();
            let pad = 40usize.saturating_sub(width);
            writeln!(f, "{name}{:pad$} {value:>18}   {target}", "")?;
        }
        Ok(())
    }
}

fn permille(part: u64, whole: u64) -> u64 {
    (part * 1000 + whole / 2).checked_div(whole).unwrap_or(0)
}

/// `part / whole` as a percentage with one decimal, computed in integers.
fn percent(part: u64, whole: u64) -> String {
    let p = permille(part, whole);
    format!("{}.{}%", p / 10, p % 10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{households, institutions};
    use chrono::NaiveDate;

    /// A 200,000-person city lands within sampling error of every calibration target.
    #[test]
    fn a_generated_city_meets_the_targets() {
        let config = CityConfig::new(200_000, 42, NaiveDate::from_ymd_opt(2025, 6, 30).unwrap());
        let mut rates = CityRates::default();
        for household in households(&config) {
            rates.observe_household(&household);
        }
        rates.observe_institutions(&config, &institutions(&config));
        let within = |part: u64, whole: u64, target_permille: u64, tolerance_permille: u64| {
            let got = permille(part, whole) as i64;
            (got - target_permille as i64).unsigned_abs() <= tolerance_permille
        };
        assert_eq!(rates.persons, 200_000);
        assert!(within(rates.employees, rates.persons, 350, 5), "{rates}");
        assert!(within(rates.retired, rates.employees, 270, 8), "{rates}");
        assert!(within(rates.minors, rates.residents, 250, 8), "{rates}");
        // Identity categories in 1/10,000 for precision.
        let bp = |part: u64| part * 10_000 / rates.residents;
        assert!((20..=40).contains(&bp(rates.destitute)), "{rates}");
        assert!((225..=275).contains(&bp(rates.dibao)), "{rates}");
        assert!((85..=115).contains(&bp(rates.poverty_relapse)), "{rates}");
        assert_eq!(rates.accounts, rates.employees);
        assert!(rates.bound_persons > 0 && rates.filings > 0);
        let hospitals: u64 = rates.hospitals_by_level.iter().sum();
        assert!(hospitals >= 30);
        assert!(
            within(rates.hospitals_by_level[0], hospitals, 700, 60),
            "{rates}"
        );
        assert_eq!(rates.persons / rates.pharmacies, 2_000);
        let printed = rates.to_string();
        assert!(
            printed.contains("35 : 65") && printed.contains("~27%"),
            "{printed}"
        );
    }
}
