//! Where each person stands in the insurance year when the city starts (`ytd_openings.csv`):
//! what their care earlier in the year already used of the policy's deductibles and caps.
//!
//! A city that starts every person at zero on a December day makes every first visit pay the
//! whole annual deductible, as if nobody had been ill all year; a bureau moving to yibao mid-year
//! brings each person's accumulators over from its old system. This model draws each person's
//! earlier care from their care weight and the share of the year gone by, then applies the
//! policy's deductibles, ratios and caps to it. Counts and amounts are integers (whole yuan,
//! then fen); the care rates are illustrative (spec/demo-city.md: 2.5–5 general outpatient
//! visits and 0.10–0.18 stays per insured person per year).

use std::path::Path;

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use yibao_core_types::{Fen, HiSetlLv, Insutype, MedType, PsnType, Ratio};
use yibao_policy::{Policy, Scheme, Subject};

use crate::write::{Sink, WriteError};
use crate::{fen_to_yuan, households, mix_seed, CityConfig, Household, InsuranceStatus, Member};

/// The random stream of the openings (apart from the city's own streams).
const OPENING_STREAM: u64 = 0x0FE1_1A6E_5EED_0001;

/// General outpatient visits per average person per year (permille).
const OUTPATIENT_VISITS_PER_YEAR_PERMILLE: u64 = 3_500;

/// Inpatient stays per average person per year (permille).
const STAYS_PER_YEAR_PERMILLE: u64 = 120;

/// The opening file's name and columns (docs/REGISTRY-FILES.md).
pub(crate) const YTD_OPENINGS: (&str, &[&str]) = (
    "ytd_openings.csv",
    &[
        "psn_no",
        "year",
        "inpatient_admissions",
        "hifp_inpatient",
        "hifp_outpatient",
        "outpatient_deductible",
        "hifmi_base",
    ],
);

/// One person's position at the start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Opening {
    /// Settled admissions earlier in the year.
    pub inpatient_admissions: i64,
    /// Basic fund paid on those stays.
    pub hifp_inpatient: Fen,
    /// Basic fund paid on general outpatient visits.
    pub hifp_outpatient: Fen,
    /// Outpatient deductible used.
    pub outpatient_deductible: Fen,
    /// Serious-illness base accumulated (residents).
    pub hifmi_base: Fen,
}

impl Opening {
    fn is_zero(&self) -> bool {
        *self == Opening::default()
    }
}

/// What [`write_openings`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpeningSummary {
    /// Persons with a non-zero opening.
    pub persons: u64,
    /// Persons who have used their whole outpatient deductible.
    pub outpatient_deductible_used_up: u64,
    /// Admissions carried in.
    pub admissions: i64,
}

/// The share of the insurance year before `as_of`, in permille.
fn year_gone_permille(policy: &Policy, as_of: NaiveDate) -> u64 {
    let total = (policy.effective_until - policy.effective_from).num_days() + 1;
    let gone = (as_of - policy.effective_from).num_days().clamp(0, total);
    (gone * 1000 / total.max(1)) as u64
}

/// Events in a year: twelve monthly draws, each with the month's expected count (up to three a
/// month for the heaviest users).
fn events(rng: &mut StdRng, per_year_permille: u64, months: u64) -> u64 {
    let per_month = per_year_permille / 12;
    let mut n = 0;
    for _ in 0..months {
        let mut left = per_month;
        for _ in 0..3 {
            let p = left.min(1000);
            if p > 0 && rng.random_range(0..1000) < p {
                n += 1;
            }
            left = left.saturating_sub(1000);
        }
    }
    n
}

/// The person's basic ratio at a level, from the benefit's table.
fn ratio(
    table: &yibao_policy::RatioTable,
    level: HiSetlLv,
    member: &Member,
    as_of: NaiveDate,
) -> Ratio {
    let Ok(psn_type) = PsnType::parse(member.relation.psn_type.code()) else {
        return Ratio::ZERO;
    };
    let subject = Subject {
        psn_type,
        age: member.person.age_on(as_of),
        sp_psn_types: &[],
        tier: None,
        institution_kinds: &[],
        referral: false,
        dise_codg: "",
    };
    table.lookup(level, &subject).map_or(Ratio::ZERO, |lookup| {
        (lookup.table_ratio + lookup.adjustment_points).clamp_unit()
    })
}

/// One person's opening under `scheme`, from `year_gone` permille of the year.
fn opening(
    scheme: &Scheme,
    member: &Member,
    as_of: NaiveDate,
    year_gone: u64,
    seed: u64,
) -> Opening {
    let mut rng = StdRng::seed_from_u64(mix_seed(seed, OPENING_STREAM ^ member.index));
    let weight = u64::from(member.care.use_weight_permille);
    let months = (year_gone * 12).div_ceil(1000).min(12);
    let mut out = Opening::default();
    let outpatient = MedType::OUTPATIENT;
    if let Some(benefit) = scheme
        .outpatient
        .iter()
        .find(|benefit| benefit.med_types.contains(&outpatient) && benefit.accumulator.is_none())
    {
        let visits = events(
            &mut rng,
            OUTPATIENT_VISITS_PER_YEAR_PERMILLE * weight / 1000,
            months,
        );
        // Each visit's policy-range amount: 40 to 400 yuan.
        let spent: i64 = (0..visits).map(|_| rng.random_range(40..=400)).sum();
        let spent = Fen::yuan(spent);
        let used = spent.min(benefit.annual_deductible);
        let r = ratio(&benefit.ratios, HiSetlLv::Level1, member, as_of);
        out.outpatient_deductible = used;
        out.hifp_outpatient = (spent - used).mul_ratio(r).min(benefit.annual_cap);
    }
    if let Some(benefit) = scheme.inpatient.as_ref() {
        let stays = events(&mut rng, STAYS_PER_YEAR_PERMILLE * weight / 1000, months);
        let r = ratio(&benefit.ratios, HiSetlLv::Level2, member, as_of);
        for stay in 0..stays {
            // A stay's policy-range amount: 2,000 to 8,000 yuan, one in ten up to 40,000 more.
            let mut amount = rng.random_range(2_000..=8_000);
            if rng.random_range(0..10) == 0 {
                amount += rng.random_range(0..=40_000);
            }
            let amount = Fen::yuan(amount);
            let idx = usize::try_from(stay).unwrap_or(usize::MAX);
            let factor = benefit.admission_factors[idx.min(benefit.admission_factors.len() - 1)];
            let deductible = benefit.deductible_per_admission[1].mul_ratio(factor);
            let room = (benefit.annual_cap - out.hifp_inpatient).at_least_zero();
            let paid = (amount - deductible.min(amount)).mul_ratio(r).min(room);
            out.inpatient_admissions += 1;
            out.hifp_inpatient += paid;
            if scheme.serious_illness.is_some() {
                out.hifmi_base += amount - paid;
            }
        }
    }
    out
}

/// The openings file being written, household by household, beside the registry files.
pub(crate) struct OpeningWriter<'p> {
    policy: &'p Policy,
    as_of: NaiveDate,
    seed: u64,
    year_gone: u64,
    year: String,
    sink: Sink,
    summary: OpeningSummary,
}

impl<'p> OpeningWriter<'p> {
    /// Creates `ytd_openings.csv` in `dir` for `policy`'s insurance year as of `config.as_of`.
    pub(crate) fn create(
        dir: &Path,
        config: &CityConfig,
        policy: &'p Policy,
    ) -> Result<OpeningWriter<'p>, WriteError> {
        Ok(OpeningWriter {
            policy,
            as_of: config.as_of,
            seed: config.seed,
            year_gone: year_gone_permille(policy, config.as_of),
            year: policy.year.to_string(),
            sink: Sink::create(dir, YTD_OPENINGS)?,
            summary: OpeningSummary::default(),
        })
    }

    /// Writes the openings of a household's active insured members (those at zero are left out).
    pub(crate) fn household(&mut self, household: &Household) -> Result<(), WriteError> {
        for member in &household.members {
            if member.relation.status != InsuranceStatus::Active {
                continue;
            }
            let Ok(insutype) = Insutype::parse(member.relation.insutype.code()) else {
                continue;
            };
            let Some(scheme) = self.policy.scheme(insutype) else {
                continue;
            };
            let o = opening(scheme, member, self.as_of, self.year_gone, self.seed);
            if o.is_zero() {
                continue;
            }
            self.summary.persons += 1;
            self.summary.admissions += o.inpatient_admissions;
            if scheme.outpatient.first().is_some_and(|benefit| {
                !benefit.annual_deductible.is_zero()
                    && o.outpatient_deductible == benefit.annual_deductible
            }) {
                self.summary.outpatient_deductible_used_up += 1;
            }
            self.sink.row([
                member.person.psn_no.as_str(),
                &self.year,
                &o.inpatient_admissions.to_string(),
                &fen_to_yuan(o.hifp_inpatient.0),
                &fen_to_yuan(o.hifp_outpatient.0),
                &fen_to_yuan(o.outpatient_deductible.0),
                &fen_to_yuan(o.hifmi_base.0),
            ])?;
        }
        Ok(())
    }

    /// Flushes the file and returns what was written.
    pub(crate) fn finish(self) -> Result<OpeningSummary, WriteError> {
        self.sink.finish()?;
        Ok(self.summary)
    }
}

/// Writes `ytd_openings.csv` into `dir` alone: for every active insured person, where they
/// stand in `policy`'s insurance year on the city's `as_of` date. The registry writer
/// ([`crate::write::write_registry_with_openings`]) writes it in the same pass as the registry.
pub fn write_openings(
    dir: &Path,
    config: &CityConfig,
    policy: &Policy,
) -> Result<OpeningSummary, WriteError> {
    config.validate()?;
    let mut writer = OpeningWriter::create(dir, config, policy)?;
    for household in households(config) {
        writer.household(&household)?;
    }
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(as_of: NaiveDate) -> CityConfig {
        CityConfig::new(3_000, 7, as_of)
    }

    fn reference() -> Policy {
        yibao_policy::builtin_policy("140500-2025")
            .expect("shipped")
            .expect("valid")
    }

    #[test]
    fn openings_grow_with_the_year_and_stay_within_the_policy() {
        let policy = reference();
        let early = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        let late = NaiveDate::from_ymd_opt(2025, 12, 5).unwrap();
        assert_eq!(year_gone_permille(&policy, early), 0);
        let mut used_up = Vec::new();
        for as_of in [early, late] {
            let dir = tempfile::tempdir().unwrap();
            let summary = write_openings(dir.path(), &config(as_of), &policy).unwrap();
            let text = std::fs::read_to_string(dir.path().join("ytd_openings.csv")).unwrap();
            // Every amount is within its cap and deductible.
            for row in text.lines().skip(1) {
                let fields: Vec<&str> = row.split(',').collect();
                let fen = |idx: usize| Fen::parse(fields[idx]).unwrap();
                assert_eq!(fields[1], "2025");
                assert!(fen(3) <= Fen::yuan(150_000), "{row}");
                assert!(fen(4) <= Fen::yuan(3_000), "{row}");
                assert!(fen(5) <= Fen::yuan(200), "{row}");
            }
            used_up.push(summary.outpatient_deductible_used_up);
        }
        assert_eq!(used_up[0], 0, "nobody has used anything on the first day");
        assert!(
            used_up[1] > 300,
            "by December most employees have: {used_up:?}"
        );
    }

    #[test]
    fn the_registry_pass_writes_the_same_openings() {
        let policy = reference();
        let config = config(NaiveDate::from_ymd_opt(2025, 10, 1).unwrap());
        let alone = tempfile::tempdir().unwrap();
        let summary = write_openings(alone.path(), &config, &policy).unwrap();
        let with = tempfile::tempdir().unwrap();
        let (_, in_pass) =
            crate::write::write_registry_with_openings(with.path(), &config, Some(&policy))
                .unwrap();
        assert_eq!(in_pass, Some(summary));
        let read = |dir: &tempfile::TempDir| {
            std::fs::read_to_string(dir.path().join("ytd_openings.csv")).unwrap()
        };
        assert_eq!(read(&alone), read(&with));
    }

    #[test]
    fn openings_are_deterministic() {
        let policy = reference();
        let as_of = NaiveDate::from_ymd_opt(2025, 9, 1).unwrap();
        let read = || {
            let dir = tempfile::tempdir().unwrap();
            write_openings(dir.path(), &config(as_of), &policy).unwrap();
            std::fs::read_to_string(dir.path().join("ytd_openings.csv")).unwrap()
        };
        assert_eq!(read(), read());
    }
}
