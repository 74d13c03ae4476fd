//! Who the simulator sends to the server: patients, institutions and catalogue items, taken
//! either from the generated city (`yibao demo`) or from a sample file written by
//! `yibao demo --sample-out` (`yibao load`, or any outside client).

use crate::limits::{ITEMS_MAX, PATIENTS_MAX};
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use yibao_city::{
    households, institutions, ChronicDisease, CityConfig, InstitutionType, InsuranceStatus,
    Insutype,
};

use crate::amount::Num;

/// What the catalogue item is, read from its national code (`X…` drugs, `C…` consumables,
/// everything else service items).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemKind {
    /// 药品.
    Drug,
    /// 医疗服务项目.
    Service,
    /// 医用耗材.
    Consumable,
}

impl ItemKind {
    /// The kind of a national catalogue code.
    pub fn of_code(med_list_codg: &str) -> ItemKind {
        match med_list_codg.as_bytes().first() {
            Some(b'X' | b'Z' | b'T') => ItemKind::Drug,
            Some(b'C') => ItemKind::Consumable,
            _ => ItemKind::Service,
        }
    }
}

/// A catalogue item with the price this city's hospitals charge for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// 医疗目录编码.
    pub med_list_codg: String,
    /// 收费项目等级.
    pub chrgitm_lv: String,
    /// Hospital price in micro-yuan.
    pub pric_micro: i64,
    /// Drug, service or consumable.
    pub kind: ItemKind,
}

impl Item {
    /// The item of a catalogue entry, priced as this city's hospitals charge for it (its kind
    /// from the entry's list type, or from the code when the entry has none).
    pub fn from_catalogue(entry: &yibao_policy::CatalogueEntry) -> Item {
        let kind = match entry.list_type.map(|t| t.code()) {
            Some("drug") => ItemKind::Drug,
            Some("consumable") => ItemKind::Consumable,
            Some(_) => ItemKind::Service,
            None => ItemKind::of_code(&entry.med_list_codg),
        };
        Item {
            pric_micro: hospital_price_micro(
                &entry.med_list_codg,
                kind,
                entry.pric_uplmt_amt.map(|p| p.0),
            ),
            med_list_codg: entry.med_list_codg.clone(),
            chrgitm_lv: entry.chrgitm_lv.code().to_owned(),
            kind,
        }
    }
}

/// An insured person the simulator can bring to a hospital.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Patient {
    /// 人员编号.
    pub psn_no: String,
    /// 证件号码.
    pub certno: String,
    /// 姓名 (may be empty when the sample did not carry it).
    pub psn_name: String,
    /// 险种.
    pub insutype: String,
    /// 人员类别.
    pub psn_type: String,
    /// 参保地.
    pub insuplc_admdvs: String,
    /// Age in years (drives costs).
    pub age: u32,
    /// Chronic disease treated, if any.
    pub chronic: Option<ChronicDisease>,
    /// Relative frequency of care, permille.
    pub weight_permille: u32,
    /// Holds a personal account (employees).
    pub has_account: bool,
    /// Has family accounts bound for mutual aid.
    pub bound: bool,
    /// The region a cross-region filing covers, if any.
    pub filed_region: Option<String>,
}

/// A designated institution the simulator acts as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// 定点医药机构编号.
    pub fixmedins_code: String,
    /// Name.
    pub fixmedins_name: String,
    /// 结算等级 1–3.
    pub hi_setl_lv: u8,
    /// The institution's region (`mdtrtarea_admvs`).
    pub admdvs: String,
    /// Gateway access key.
    pub access_key: String,
    /// Gateway secret key.
    pub secret_key: String,
    /// A retail pharmacy (bills of drugs only, `med_type` 41).
    pub pharmacy: bool,
}

/// Everything a run draws from.
#[derive(Clone, Debug)]
pub struct Population {
    /// Patients.
    pub patients: Vec<Patient>,
    /// Cumulative care weights of `patients`, for weighted picking.
    cumulative_weight: Vec<u64>,
    /// Institutions.
    pub sites: Vec<Site>,
    /// Catalogue items: the first `billed_items` are billed; the rest are added for planted
    /// violations only ([`Population::add_planted_items`]).
    pub items: Vec<Item>,
    billed_items: usize,
    /// The home region (the city's pooling region).
    pub home_region: String,
}

/// Why a population cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum PopulationError {
    /// The sample file cannot be read.
    #[error("{path}: {reason}")]
    Sample {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// Something needed is missing.
    #[error("{0}")]
    Missing(&'static str),
}

impl Population {
    /// Builds a population, checking that there is something to simulate.
    pub fn new(
        patients: Vec<Patient>,
        sites: Vec<Site>,
        items: Vec<Item>,
        home_region: String,
    ) -> Result<Population, PopulationError> {
        if patients.is_empty() {
            return Err(PopulationError::Missing("persons: none to simulate"));
        }
        if patients.len() > PATIENTS_MAX {
            return Err(PopulationError::Missing("persons: more than PATIENTS_MAX"));
        }
        if items.len() > ITEMS_MAX {
            return Err(PopulationError::Missing(
                "catalogue: more than ITEMS_MAX items",
            ));
        }
        if !sites.iter().any(|s| !s.pharmacy && s.admdvs == home_region) {
            return Err(PopulationError::Missing(
                "institutions: no hospital in the home region",
            ));
        }
        if !items.iter().any(|i| i.kind == ItemKind::Drug)
            || !items.iter().any(|i| i.kind != ItemKind::Drug)
        {
            return Err(PopulationError::Missing(
                "catalogue: needs drugs and service items",
            ));
        }
        let mut total = 0;
        let cumulative_weight = patients
            .iter()
            .map(|p| {
                total += u64::from(p.weight_permille.max(1));
                total
            })
            .collect();
        Ok(Population {
            patients,
            cumulative_weight,
            sites,
            billed_items: items.len(),
            items,
            home_region,
        })
    }

    /// The population of a generated city: a stride sample of at most [`PATIENTS_MAX`] active
    /// persons (with their care profiles), every active institution, and the given items.
    pub fn from_city(config: &CityConfig, items: Vec<Item>) -> Result<Population, PopulationError> {
        let stride = (config.persons / PATIENTS_MAX as u64).max(1);
        let mut patients = Vec::new();
        for household in households(config) {
            for m in household.members {
                if m.index % stride != 0 || m.relation.status != InsuranceStatus::Active {
                    continue;
                }
                patients.push(Patient {
                    age: m.person.age_on(config.as_of),
                    psn_no: m.person.psn_no,
                    certno: m.person.certno,
                    psn_name: m.person.psn_name,
                    insutype: m.relation.insutype.code().to_owned(),
                    psn_type: m.relation.psn_type.code().to_owned(),
                    insuplc_admdvs: m.relation.insuplc_admdvs,
                    chronic: m.care.chronic,
                    weight_permille: m.care.use_weight_permille,
                    has_account: m.relation.insutype == Insutype::Employee,
                    bound: !m.bindings.is_empty(),
                    filed_region: m.filing.map(|f| f.mdtrtarea_admvs),
                });
            }
        }
        let sites = institutions(config)
            .into_iter()
            .filter(|i| i.active)
            .map(|i| Site {
                fixmedins_code: i.fixmedins_code,
                fixmedins_name: i.fixmedins_name,
                hi_setl_lv: i.hi_setl_lv,
                admdvs: i.admdvs,
                access_key: i.access_key,
                secret_key: i.secret_key,
                pharmacy: i.kind == InstitutionType::Pharmacy,
            })
            .collect();
        Population::new(patients, sites, items, config.region.clone())
    }

    /// The population a sample file describes. Care profiles are drawn from `seed` since the
    /// sample carries only identities.
    pub fn from_sample(sample: &Sample, seed: u64) -> Result<Population, PopulationError> {
        let mut rng = StdRng::seed_from_u64(seed);
        let home_region = sample
            .institutions
            .iter()
            .map(|i| i.admdvs.clone())
            .max_by_key(|r| {
                sample
                    .institutions
                    .iter()
                    .filter(|i| &i.admdvs == r)
                    .count()
            })
            .ok_or(PopulationError::Missing(
                "institutions: the sample lists none",
            ))?;
        let patients = sample
            .persons
            .iter()
            .map(|p| {
                let age = age_from_certno(&p.certno).unwrap_or(40);
                Patient {
                    psn_no: p.psn_no.clone(),
                    certno: p.certno.clone(),
                    psn_name: String::new(),
                    insutype: p.insutype.clone(),
                    psn_type: p.psn_type.clone(),
                    insuplc_admdvs: p
                        .psn_no
                        .get(..6)
                        .filter(|r| r.bytes().all(|b| b.is_ascii_digit()))
                        .unwrap_or(&home_region)
                        .to_owned(),
                    age,
                    chronic: (age >= 45 && rng.random_range(0..100) < 20).then(|| {
                        [
                            ChronicDisease::Hypertension,
                            ChronicDisease::Diabetes,
                            ChronicDisease::KidneyDialysis,
                        ][rng.random_range(0..3)]
                    }),
                    weight_permille: 1000,
                    has_account: p.insutype == "310",
                    bound: false,
                    filed_region: None,
                }
            })
            .collect();
        let sites = sample
            .institutions
            .iter()
            .map(|i| Site {
                fixmedins_code: i.fixmedins_code.clone(),
                fixmedins_name: i.fixmedins_name.clone(),
                hi_setl_lv: i.hi_setl_lv.parse().unwrap_or(1),
                admdvs: i.admdvs.clone(),
                access_key: i.access_key.clone(),
                secret_key: i.secret_key.clone(),
                pharmacy: i.fixmedins_code.starts_with('P'),
            })
            .collect();
        let items = sample
            .catalogue
            .iter()
            .map(|c| Item {
                med_list_codg: c.med_list_codg.clone(),
                chrgitm_lv: c.chrgitm_lv.clone(),
                pric_micro: c.pric_micro,
                kind: ItemKind::of_code(&c.med_list_codg),
            })
            .collect();
        Population::new(patients, sites, items, home_region)
    }

    /// The items ordinary bills are drawn from (not those added for planting).
    pub fn billed_items(&self) -> &[Item] {
        &self.items[..self.billed_items]
    }

    /// Adds the items of planted violations that the population lacks (a sample file carries a
    /// few items of each kind), without drawing ordinary bills from them.
    pub fn add_planted_items(&mut self, items: impl IntoIterator<Item = Item>) {
        for item in items {
            if self.items.len() < ITEMS_MAX
                && !self
                    .items
                    .iter()
                    .any(|i| i.med_list_codg == item.med_list_codg)
            {
                self.items.push(item);
            }
        }
    }

    /// The index of the item of `med_list_codg`.
    pub fn item_idx(&self, med_list_codg: &str) -> Option<usize> {
        self.items
            .iter()
            .position(|i| i.med_list_codg == med_list_codg)
    }

    /// A patient drawn by care weight: frequent users come often.
    pub fn pick_patient(&self, rng: &mut impl Rng) -> &Patient {
        let total = *self
            .cumulative_weight
            .last()
            .expect("a population has patients");
        let target = rng.random_range(0..total);
        let idx = self.cumulative_weight.partition_point(|&w| w <= target);
        &self.patients[idx.min(self.patients.len() - 1)]
    }

    /// A sample of at most `n` of each kind, for `--sample-out`: persons spread over the
    /// schemes, every kind and level of institution, items of every kind and class.
    pub fn to_sample(&self, n: usize) -> Sample {
        self.to_sample_of(n, n)
    }

    /// [`Population::to_sample`] with `n_persons` persons and at most `n` of the other kinds.
    pub fn to_sample_of(&self, n_persons: usize, n: usize) -> Sample {
        let step = (self.patients.len() / n_persons.max(1)).max(1);
        let persons = self
            .patients
            .iter()
            .step_by(step)
            .take(n_persons)
            .map(|p| SamplePerson {
                psn_no: p.psn_no.clone(),
                certno: p.certno.clone(),
                insutype: p.insutype.clone(),
                psn_type: p.psn_type.clone(),
            })
            .collect();
        let mut sites: Vec<&Site> = Vec::new();
        for lv in [3, 2, 1] {
            sites.extend(
                self.sites
                    .iter()
                    .filter(|s| !s.pharmacy && s.hi_setl_lv == lv && s.admdvs == self.home_region)
                    .take(n / 4 + 1),
            );
        }
        sites.extend(
            self.sites
                .iter()
                .filter(|s| s.admdvs != self.home_region)
                .take(2),
        );
        sites.extend(self.sites.iter().filter(|s| s.pharmacy).take(n / 4 + 1));
        let institutions = sites
            .into_iter()
            .take(n.max(4))
            .map(|s| SampleInstitution {
                fixmedins_code: s.fixmedins_code.clone(),
                fixmedins_name: s.fixmedins_name.clone(),
                hi_setl_lv: s.hi_setl_lv.to_string(),
                admdvs: s.admdvs.clone(),
                access_key: s.access_key.clone(),
                secret_key: s.secret_key.clone(),
            })
            .collect();
        let mut catalogue = Vec::new();
        for kind in [ItemKind::Drug, ItemKind::Service, ItemKind::Consumable] {
            for lv in ["01", "02", "03"] {
                catalogue.extend(
                    self.items
                        .iter()
                        .filter(|i| i.kind == kind && i.chrgitm_lv == lv)
                        .take(n / 6 + 1)
                        .map(|i| SampleItem {
                            med_list_codg: i.med_list_codg.clone(),
                            chrgitm_lv: i.chrgitm_lv.clone(),
                            pric_micro: i.pric_micro,
                        }),
                );
            }
        }
        Sample {
            persons,
            institutions,
            catalogue,
        }
    }
}

/// Age in whole years on 2025-06-30 from the birth date inside a resident id (an approximation
/// for sample persons, good enough to scale costs).
fn age_from_certno(certno: &str) -> Option<u32> {
    let year: u32 = certno.get(6..10)?.parse().ok()?;
    2025u32.checked_sub(year)
}

/// The hospital price (micro-yuan, whole fen) of a catalogue item: a stable function of its code
/// in a range typical of its kind, and for capped items near the cap so that some lines go over
/// it (超限价).
pub fn hospital_price_micro(med_list_codg: &str, kind: ItemKind, cap_micro: Option<i64>) -> i64 {
    // FNV-1a of the code: stable across runs and platforms.
    let hash = med_list_codg
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    let fen = match cap_micro {
        Some(cap) => {
            // 85 % .. 105 % of the cap.
            let permille = 850 + (hash % 201) as i64;
            (cap / 10_000) * permille / 1000
        }
        None => {
            let (low, high) = match kind {
                ItemKind::Drug => (300, 20_000),
                ItemKind::Service => (500, 60_000),
                ItemKind::Consumable => (1_000, 300_000),
            };
            // Log-uniform-ish: square a uniform fraction so cheap items dominate.
            let u = (hash >> 11) % 10_000;
            low + (high - low) * (u * u / 10_000) as i64 / 10_000
        }
    };
    fen.max(1) * 10_000
}

/// The sample file of `yibao demo --sample-out`: enough for an outside client to drive a server.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sample {
    /// Insured persons.
    pub persons: Vec<SamplePerson>,
    /// Institutions with their gateway keys.
    pub institutions: Vec<SampleInstitution>,
    /// Catalogue items with prices.
    pub catalogue: Vec<SampleItem>,
}

impl Sample {
    /// Reads a sample file.
    pub fn read(path: &Path) -> Result<Sample, PopulationError> {
        let error = |reason: String| PopulationError::Sample {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| error(e.to_string()))
    }
}

/// A person of the sample.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SamplePerson {
    /// 人员编号.
    pub psn_no: String,
    /// 证件号码.
    pub certno: String,
    /// 险种.
    pub insutype: String,
    /// 人员类别.
    pub psn_type: String,
}

/// An institution of the sample.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SampleInstitution {
    /// 定点医药机构编号.
    pub fixmedins_code: String,
    /// Name.
    pub fixmedins_name: String,
    /// 结算等级.
    pub hi_setl_lv: String,
    /// Region.
    pub admdvs: String,
    /// Gateway access key.
    pub access_key: String,
    /// Gateway secret key.
    pub secret_key: String,
}

/// A catalogue item of the sample.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SampleItem {
    /// 医疗目录编码.
    pub med_list_codg: String,
    /// 收费项目等级.
    pub chrgitm_lv: String,
    /// Unit price (yuan, up to 6 decimals).
    #[serde(
        rename = "pric",
        serialize_with = "price_out",
        deserialize_with = "price_in"
    )]
    pub pric_micro: i64,
}

fn price_out<S: serde::Serializer>(micro: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    Num::price(*micro).serialize(serializer)
}

fn price_in<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let raw = Box::<RawValue>::deserialize(deserializer)?;
    parse_price_micro(raw.get()).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "pric: {} is not a price with at most 6 decimals",
            raw.get()
        ))
    })
}

/// Parses a non-negative price with at most six decimals into micro-yuan.
pub fn parse_price_micro(raw: &str) -> Option<i64> {
    let text = raw.trim().trim_matches('"');
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || whole.len() > 10
        || fraction.len() > 6
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let micro =
        whole.parse::<i64>().ok()? * 1_000_000 + format!("{fraction:0<6}").parse::<i64>().ok()?;
    Some(micro)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn items() -> Vec<Item> {
        ["X01", "X02", "0011", "C01"]
            .iter()
            .enumerate()
            .map(|(idx, code)| Item {
                med_list_codg: (*code).into(),
                chrgitm_lv: ["01", "02", "03"][idx % 3].into(),
                pric_micro: hospital_price_micro(code, ItemKind::of_code(code), None),
                kind: ItemKind::of_code(code),
            })
            .collect()
    }

    #[test]
    fn a_city_population_round_trips_through_a_sample_file() {
        let config = CityConfig::new(2_000, 4, NaiveDate::from_ymd_opt(2025, 6, 30).unwrap());
        let population = Population::from_city(&config, items()).unwrap();
        assert!(population.patients.len() > 1_900);
        let sample = population.to_sample(40);
        assert_eq!(sample.persons.len(), 40);
        assert!(sample.institutions.iter().any(|i| i.hi_setl_lv == "3"));
        assert!(sample
            .institutions
            .iter()
            .any(|i| i.fixmedins_code.starts_with('P')));
        let text = serde_json::to_string(&sample).unwrap();
        assert!(text.contains("\"pric\":"), "{text}");
        let back: Sample = serde_json::from_str(&text).unwrap();
        assert_eq!(back, sample);
        let again = Population::from_sample(&back, 1).unwrap();
        assert_eq!(again.home_region, "140500");
        assert_eq!(again.patients[0].psn_no, sample.persons[0].psn_no);
    }

    #[test]
    fn prices_parse_exactly_and_refuse_junk() {
        assert_eq!(parse_price_micro("12.5"), Some(12_500_000));
        assert_eq!(parse_price_micro("\"0.000001\""), Some(1));
        assert_eq!(parse_price_micro("7"), Some(7_000_000));
        assert_eq!(
            parse_price_micro(&crate::amount::scaled_text(123_456_789, 6)),
            Some(123_456_789)
        );
        for junk in ["", "-1", "1.0000001", "1e2", "abc"] {
            assert_eq!(parse_price_micro(junk), None, "{junk}");
        }
        let capped = hospital_price_micro("X1", ItemKind::Drug, Some(10_000_000));
        assert!((8_500_000..=10_500_000).contains(&capped) && capped % 10_000 == 0);
    }

    #[test]
    fn frequent_users_are_picked_more_often() {
        let mut patients: Vec<Patient> = Vec::new();
        for (idx, weight) in [1u32, 9_000].iter().enumerate() {
            patients.push(Patient {
                psn_no: format!("P{idx}"),
                certno: String::new(),
                psn_name: String::new(),
                insutype: "390".into(),
                psn_type: "1501".into(),
                insuplc_admdvs: "140500".into(),
                age: 50,
                chronic: None,
                weight_permille: *weight,
                has_account: false,
                bound: false,
                filed_region: None,
            });
        }
        let sites = vec![Site {
            fixmedins_code: "H14050000001".into(),
            fixmedins_name: "h".into(),
            hi_setl_lv: 1,
            admdvs: "140500".into(),
            access_key: "a".into(),
            secret_key: "s".into(),
            pharmacy: false,
        }];
        let population = Population::new(patients, sites, items(), "140500".into()).unwrap();
        let mut rng = StdRng::seed_from_u64(1);
        let frequent = (0..10_000)
            .filter(|_| population.pick_patient(&mut rng).psn_no == "P1")
            .count();
        assert!(frequent > 9_900, "{frequent}");
    }
}
