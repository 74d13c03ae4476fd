//! Designated institutions (定点医药机构): hospitals at three levels (about 70 / 25 / 5 % for
//! levels 1 / 2 / 3), retail pharmacies, and a few hospitals in the other region for
//! cross-region care. Each has its own gateway access key and secret key.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::names::{DISTRICTS, PHARMACY_BRANDS, TOWNS};
use crate::{mix_seed, CityConfig};

/// Stream numbers above every household number, so institutions never share a random stream
/// with a household.
const INSTITUTION_STREAM: u64 = 1 << 62;

/// Names of the city's level-3 hospitals, used first.
const LEVEL3_NAMES: &[&str] = &[
    "晋城市人民医院",
    "晋城大医院",
    "晋城市第二人民医院",
    "晋城市中医院",
    "晋城市妇幼保健院",
    "晋城合聚心脑血管病医院",
];

/// Names of the other region's hospitals (Taiyuan by default).
const OTHER_REGION_NAMES: &[&str] = &[
    "山西省人民医院",
    "山西医科大学第一医院",
    "山西医科大学第二医院",
    "太原市中心医院",
    "山西省肿瘤医院",
    "山西省儿童医院",
];

/// 定点医疗服务机构类型 fixmedins_type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InstitutionType {
    /// `1` 定点医疗机构.
    Hospital,
    /// `2` 定点零售药店.
    Pharmacy,
}

impl InstitutionType {
    /// The national code.
    pub fn code(self) -> &'static str {
        match self {
            InstitutionType::Hospital => "1",
            InstitutionType::Pharmacy => "2",
        }
    }
}

/// One designated institution (`institutions.csv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Institution {
    /// `H`/`P` + 6-digit admdvs + 5-digit serial.
    pub fixmedins_code: String,
    /// Name.
    pub fixmedins_name: String,
    /// Hospital or pharmacy.
    pub kind: InstitutionType,
    /// Hospital grade 1–3 (`None` for pharmacies).
    pub hosp_lv: Option<u8>,
    /// 医保结算等级 1–3.
    pub hi_setl_lv: u8,
    /// The region the institution is in.
    pub admdvs: String,
    /// Active (`1`) or suspended (`0`).
    pub active: bool,
    /// Gateway access key (AK).
    pub access_key: String,
    /// Gateway secret key (SK).
    pub secret_key: String,
}

/// The city's institutions: home hospitals (level 3 first), the other region's hospitals, then
/// the pharmacies. The last home level-1 hospital is suspended, as some always are.
pub fn institutions(config: &CityConfig) -> Vec<Institution> {
    let mut rng = StdRng::seed_from_u64(mix_seed(config.seed, INSTITUTION_STREAM));
    let hospitals = config.hospitals.max(3);
    let level3 = (hospitals * 5).div_ceil(100).max(1);
    let level2 = (hospitals * 25 / 100).max(1);
    let level1 = hospitals - level3 - level2;
    let mut out = Vec::new();
    let mut serial = 0u32;
    let mut push = |rng: &mut StdRng, name: String, kind, level: u8, admdvs: &str| {
        serial += 1;
        let prefix = if kind == InstitutionType::Hospital {
            'H'
        } else {
            'P'
        };
        out.push(Institution {
            fixmedins_code: format!("{prefix}{admdvs}{serial:05}"),
            fixmedins_name: name,
            kind,
            hosp_lv: (kind == InstitutionType::Hospital).then_some(level),
            hi_setl_lv: level,
            admdvs: admdvs.to_owned(),
            active: true,
            access_key: hex_key(rng),
            secret_key: hex_key(rng),
        });
    };
    let region = config.region.as_str();
    for idx in 0..level3 as usize {
        let name = match LEVEL3_NAMES.get(idx) {
            Some(name) => (*name).to_owned(),
            None => format!("晋城市第{}人民医院", idx + 1),
        };
        push(&mut rng, name, InstitutionType::Hospital, 3, region);
    }
    for idx in 0..level2 as usize {
        let district = DISTRICTS[idx % DISTRICTS.len()];
        let name = match idx / DISTRICTS.len() {
            0 => format!("{district}人民医院"),
            1 => format!("{district}中医医院"),
            2 => format!("{district}妇幼保健院"),
            n => format!("{district}第{}人民医院", n - 1),
        };
        push(&mut rng, name, InstitutionType::Hospital, 2, region);
    }
    for idx in 0..level1 as usize {
        let town = TOWNS[idx % TOWNS.len()];
        let round = idx / TOWNS.len();
        let name = match (idx % 3, round) {
            (0, 0) => format!("{town}社区卫生服务中心"),
            (_, 0) => format!("{town}镇卫生院"),
            (_, n) => format!("{town}第{}卫生服务站", n + 1),
        };
        push(&mut rng, name, InstitutionType::Hospital, 1, region);
    }
    for idx in 0..config.other_region_hospitals as usize {
        let name = match OTHER_REGION_NAMES.get(idx) {
            Some(name) => (*name).to_owned(),
            None => format!("太原市第{}人民医院", idx + 1),
        };
        push(
            &mut rng,
            name,
            InstitutionType::Hospital,
            if idx < 2 { 3 } else { 2 },
            &config.other_region,
        );
    }
    for idx in 0..config.pharmacies as usize {
        let brand = PHARMACY_BRANDS[idx % PHARMACY_BRANDS.len()];
        let town = TOWNS[(idx / PHARMACY_BRANDS.len()) % TOWNS.len()];
        let round = idx / (PHARMACY_BRANDS.len() * TOWNS.len());
        let name = if round == 0 {
            format!("{brand}({town}店)")
        } else {
            format!("{brand}({town}{}店)", round + 1)
        };
        push(&mut rng, name, InstitutionType::Pharmacy, 1, region);
    }
    if level1 > 1 {
        let last_level1 = (level3 + level2 + level1 - 1) as usize;
        out[last_level1].active = false;
    }
    out
}

/// 32 hex characters (128 random bits).
fn hex_key(rng: &mut StdRng) -> String {
    let value: u128 = rng.random();
    format!("{value:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use std::collections::HashSet;

    #[test]
    fn levels_codes_and_keys() {
        let config = CityConfig::new(100_000, 5, NaiveDate::from_ymd_opt(2025, 6, 1).unwrap());
        let all = institutions(&config);
        let home_hospitals: Vec<_> = all
            .iter()
            .filter(|i| i.kind == InstitutionType::Hospital && i.admdvs == config.region)
            .collect();
        assert_eq!(home_hospitals.len(), 32);
        let count = |lv| home_hospitals.iter().filter(|i| i.hi_setl_lv == lv).count();
        assert_eq!((count(3), count(2), count(1)), (2, 8, 22));
        assert_eq!(
            all.iter()
                .filter(|i| i.kind == InstitutionType::Pharmacy)
                .count(),
            50
        );
        assert_eq!(
            all.iter()
                .filter(|i| i.admdvs == config.other_region)
                .count(),
            4
        );
        assert_eq!(all.iter().filter(|i| !i.active).count(), 1);
        let codes: HashSet<_> = all.iter().map(|i| &i.fixmedins_code).collect();
        let keys: HashSet<_> = all.iter().map(|i| &i.access_key).collect();
        let names: HashSet<_> = all.iter().map(|i| &i.fixmedins_name).collect();
        assert_eq!(codes.len(), all.len());
        assert_eq!(keys.len(), all.len());
        assert_eq!(names.len(), all.len());
        for i in &all {
            assert_eq!(i.fixmedins_code.len(), 12);
            assert!(i.fixmedins_code[1..7] == i.admdvs);
            assert_eq!(i.secret_key.len(), 32);
        }
    }

    #[test]
    fn large_cities_keep_names_unique() {
        let mut config =
            CityConfig::new(3_000_000, 5, NaiveDate::from_ymd_opt(2025, 6, 1).unwrap());
        config.hospitals = 400;
        let all = institutions(&config);
        let names: HashSet<_> = all.iter().map(|i| &i.fixmedins_name).collect();
        assert_eq!(names.len(), all.len());
    }
}
