//! The demo city (示范城市): a deterministic, seeded synthetic population of insured persons, their
//! insurance relations, identity categories, personal accounts, family bindings, cross-region
//! filings and credentials (e-voucher tokens and social security cards), plus the designated
//! hospitals and pharmacies of the region.
//!
//! Generation is pure: [`households`] yields rows household by household, so a city of millions
//! is produced in bounded memory; [`institutions`] returns the (small) institution list. The
//! [`write`] module is the thin edge that streams those rows into the registry files of
//! `docs/REGISTRY-FILES.md`. [`CityRates`] counts what was generated and prints it beside the
//! calibration targets of the demo-city spec.

pub mod certno;
mod credential;
pub mod feeds;
mod generate;
mod institution;
mod names;
mod opening;
mod rates;
pub mod write;

pub use credential::{credentials, Credentials};
pub use generate::{
    households, Account, CareProfile, ChronicDisease, FamilyBinding, Filing, Household, Identity,
    IdentityCategory, InsuranceRelation, InsuranceStatus, Insutype, Member, Person, PsnType,
};
pub use institution::{institutions, Institution, InstitutionType};
pub use opening::{write_openings, Opening, OpeningSummary};
pub use rates::CityRates;

use chrono::NaiveDate;

/// Persons per city at most: the generator's counters and the certificate-number table are sized
/// for it (a province-sized city of 20 million).
pub const PERSONS_MAX: u64 = 20_000_000;
/// Inpatient institutions per city at most (the largest Chinese cities have a few hundred).
pub const HOSPITALS_MAX: u32 = 5_000;
/// Persons per household at most.
pub const HOUSEHOLD_SIZE_MAX: usize = 5;

/// How big the city is and where it lies. Everything else follows from the seed.
#[derive(Clone, Debug)]
pub struct CityConfig {
    /// Seed of every random choice: the same config always yields the same city.
    pub seed: u64,
    /// Insured persons.
    pub persons: u64,
    /// Inpatient institutions (hospitals) in the home region, all three levels.
    pub hospitals: u32,
    /// Designated retail pharmacies in the home region.
    pub pharmacies: u32,
    /// Hospitals in the other region, where cross-region (异地) care happens.
    pub other_region_hospitals: u32,
    /// The city's pooling region (统筹区), a 6-digit admdvs; its policy applies to everybody.
    pub region: String,
    /// The region persons file cross-region care for (异地备案 `mdtrtarea_admvs`).
    pub other_region: String,
    /// The date ages, periods and balances are computed for (the caller reads the clock).
    pub as_of: NaiveDate,
}

/// Why a [`CityConfig`] cannot be generated.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CityError {
    /// `persons` is 0 or above [`PERSONS_MAX`].
    #[error("persons: {0} is outside 1..={PERSONS_MAX}")]
    Persons(u64),
    /// `hospitals` is below 3 (one per level) or above [`HOSPITALS_MAX`].
    #[error("hospitals: {0} is outside 3..={HOSPITALS_MAX} (at least one per level)")]
    Hospitals(u32),
    /// A region code is not 6 digits.
    #[error("{field}: {value:?} is not a 6-digit admdvs code")]
    Region {
        /// The field.
        field: &'static str,
        /// The value given.
        value: String,
    },
    /// The two regions are the same.
    #[error("other_region: must differ from region {0}")]
    SameRegion(String),
}

impl CityConfig {
    /// The default city for `persons` insured: Jincheng (`140500`) with Taiyuan (`140100`) as the
    /// cross-region destination, at least 32 hospitals (about 50 per million people otherwise)
    /// and one pharmacy per 2,000 people.
    pub fn new(persons: u64, seed: u64, as_of: NaiveDate) -> CityConfig {
        let per_million = persons.saturating_mul(50) / 1_000_000;
        CityConfig {
            seed,
            persons,
            hospitals: u32::try_from(per_million.max(32)).unwrap_or(HOSPITALS_MAX),
            pharmacies: u32::try_from((persons / 2_000).max(5)).unwrap_or(u32::MAX),
            other_region_hospitals: 4,
            region: "140500".to_owned(),
            other_region: "140100".to_owned(),
            as_of,
        }
    }

    /// Checks the sizes and codes, naming the first bad field.
    pub fn validate(&self) -> Result<(), CityError> {
        if self.persons == 0 || self.persons > PERSONS_MAX {
            return Err(CityError::Persons(self.persons));
        }
        if self.hospitals < 3 || self.hospitals > HOSPITALS_MAX {
            return Err(CityError::Hospitals(self.hospitals));
        }
        for (field, value) in [
            ("region", &self.region),
            ("other_region", &self.other_region),
        ] {
            if value.len() != 6 || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(CityError::Region {
                    field,
                    value: value.clone(),
                });
            }
        }
        if self.region == self.other_region {
            return Err(CityError::SameRegion(self.region.clone()));
        }
        Ok(())
    }
}

/// Formats integer fen as yuan with two decimals (`123456` → `1234.56`), the registry files'
/// amount format.
pub fn fen_to_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Mixes a seed with a stream number (splitmix64), so that every household and institution gets
/// its own independent random stream and can be regenerated alone.
pub(crate) fn mix_seed(seed: u64, stream: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fen_formats_as_yuan() {
        assert_eq!(fen_to_yuan(0), "0.00");
        assert_eq!(fen_to_yuan(5), "0.05");
        assert_eq!(fen_to_yuan(123_456), "1234.56");
        assert_eq!(fen_to_yuan(-120_000), "-1200.00");
    }

    #[test]
    fn config_errors_name_the_field() {
        let date = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
        let mut config = CityConfig::new(0, 1, date);
        assert_eq!(config.validate(), Err(CityError::Persons(0)));
        config.persons = 10;
        config.hospitals = 2;
        assert_eq!(config.validate(), Err(CityError::Hospitals(2)));
        config.hospitals = 3;
        config.region = "14050".into();
        assert!(config
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("region:"));
        config.region = "140100".into();
        assert_eq!(
            config.validate(),
            Err(CityError::SameRegion("140100".into()))
        );
        config.region = "140500".into();
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn default_sizes_follow_the_spec() {
        let date = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
        let small = CityConfig::new(100_000, 1, date);
        assert_eq!(small.hospitals, 32);
        assert_eq!(small.pharmacies, 50);
        let big = CityConfig::new(2_000_000, 1, date);
        assert_eq!(big.hospitals, 100);
        assert_eq!(big.pharmacies, 1_000);
    }
}
