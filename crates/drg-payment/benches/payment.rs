//! Criterion benches of the payment engine over a region-year of 200,000 inpatient cases:
//! learning weights, DRG points, the year's settlement, the DIP catalogue and DIP scores.
//!
//! Run: `cargo bench -p yibao-drg-payment --bench payment -- --warm-up-time 1 --measurement-time 3`

// criterion_group! generates an undocumented `benches` function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use yibao_drg_payment::dip::{
    build_dip_catalogue, dip_case_scores, DipConfig, ProcedureClassifier,
};
use yibao_drg_payment::drg::{
    drg_case_points, hospital_indices, DrgRules, OutlierTier, SpecialReviewRules,
};
use yibao_drg_payment::settle::{settle_year, Band, SettlementRules};
use yibao_drg_payment::weights::{build_weights, WeightConfig};
use yibao_drg_payment::{DrgCode, Hospital, HospitalLevel, InpatientCase};

const CASES: usize = 200_000;
const HOSPITALS: usize = 135;
const DRGS: usize = 600;

/// splitmix64: a tiny deterministic source for bench data.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn drg_codes() -> Vec<DrgCode> {
    let letters = b"BCDEFGHIJKLMNORSTUVWX";
    (0..DRGS)
        .map(|i| {
            let mdc = letters[i % letters.len()] as char;
            let second = (b'A' + (i / letters.len() % 26) as u8) as char;
            DrgCode::parse(&format!(
                "{mdc}{second}{}{}",
                1 + i % 3,
                [1, 3, 5, 9][i % 4]
            ))
            .unwrap()
        })
        .collect()
}

fn hospitals() -> Vec<Hospital> {
    (0..HOSPITALS)
        .map(|i| Hospital {
            code: format!("H{:04}", i + 1),
            level: match i {
                0..7 => HospitalLevel::Three,
                7..41 => HospitalLevel::Two,
                _ => HospitalLevel::One,
            },
            coefficient_ppm: None,
        })
        .collect()
}

/// A year of cases: a long-tailed DRG mix, costs by DRG × a spread, a few ungrouped.
fn year(seed: u64, first_id: u64) -> Vec<InpatientCase> {
    let codes = drg_codes();
    let mut mix = Mix(seed);
    (0..CASES)
        .map(|offset| {
            let rank = (mix.below(1_000) * mix.below(1_000) * DRGS as u64 / 1_000_000) as usize;
            let hospital = if mix.below(10) < 6 {
                mix.below(7)
            } else {
                mix.below(HOSPITALS as u64)
            } as u32;
            let base_fen = 200_000 + (rank as i64 * 7_919) % 3_000_000;
            let cost_fen = base_fen * (20 + mix.below(180) as i64) / 100;
            let dx = format!("I{:02}.{}", rank % 100, mix.below(3));
            let procedures = match mix.below(3) {
                0 => Vec::new(),
                1 => vec![format!("88.{:02}00", rank % 50)],
                _ => vec![format!("36.{:02}01", rank % 30), "88.7201".to_string()],
            };
            InpatientCase {
                id: first_id + offset as u64,
                hospital,
                month: 1 + mix.below(12) as u8,
                drg: (mix.below(100) > 0).then(|| codes[rank]),
                principal_dx: dx,
                procedures,
                cost_fen,
                insured_share_fen: cost_fen * 3 / 10,
                stay_days: 1 + mix.below(20) as u32,
            }
        })
        .collect()
}

fn rules() -> DrgRules {
    DrgRules {
        level_coefficient_ppm: [750_000, 950_000, 1_100_000],
        high_tiers: vec![
            OutlierTier {
                base_points_upto_e4: Some(1_000_000),
                multiple_ppm: 3_000_000,
            },
            OutlierTier {
                base_points_upto_e4: Some(3_000_000),
                multiple_ppm: 2_000_000,
            },
            OutlierTier {
                base_points_upto_e4: None,
                multiple_ppm: 1_500_000,
            },
        ],
        low_ratio_ppm: 400_000,
        short_stay_days_max: 1,
        ungrouped_factor_ppm: 900_000,
        special_review: SpecialReviewRules {
            min_cost_ratio_ppm: 5_000_000,
            cases_cap_ppm: 50_000,
        },
    }
}

fn settlement_rules() -> SettlementRules {
    let bands = |shares: [i64; 3]| {
        vec![
            Band {
                upto_ppm: Some(50_000),
                share_ppm: shares[0],
            },
            Band {
                upto_ppm: Some(150_000),
                share_ppm: shares[1],
            },
            Band {
                upto_ppm: None,
                share_ppm: shares[2],
            },
        ]
    };
    SettlementRules {
        surplus_bands: bands([1_000_000, 500_000, 0]),
        overspend_bands: bands([700_000, 300_000, 0]),
    }
}

fn payment(c: &mut Criterion) {
    let hospitals = hospitals();
    let history = year(1, 1);
    let cases = year(2, CASES as u64 + 1);
    let weight_config = WeightConfig::default();
    let table = build_weights(&history, &weight_config).unwrap();
    let rules = rules();
    let settlement = settlement_rules();
    let classifier = ProcedureClassifier {
        or_procedures: (0..30).map(|i| format!("36.{i:02}01")).collect(),
    };
    let dip_config = DipConfig::default();
    let catalogue = build_dip_catalogue(&history, &hospitals, &classifier, &dip_config).unwrap();
    let points: Vec<i64> = drg_case_points(&cases, &hospitals, &table, &rules)
        .unwrap()
        .iter()
        .map(|p| p.points_e4)
        .collect();

    let mut group = c.benchmark_group("payment_200k");
    group.sample_size(10);
    group.throughput(Throughput::Elements(CASES as u64));
    group.bench_function("drg_weights", |b| {
        b.iter(|| build_weights(black_box(&history), &weight_config).unwrap())
    });
    group.bench_function("drg_case_points", |b| {
        b.iter(|| drg_case_points(black_box(&cases), &hospitals, &table, &rules).unwrap())
    });
    group.bench_function("settle_year", |b| {
        b.iter(|| {
            settle_year(
                black_box(&cases),
                &points,
                HOSPITALS,
                1_500_000_000_000,
                &settlement,
            )
            .unwrap()
        })
    });
    group.bench_function("drg_year_end_to_end", |b| {
        b.iter(|| {
            let points: Vec<i64> = drg_case_points(black_box(&cases), &hospitals, &table, &rules)
                .unwrap()
                .iter()
                .map(|p| p.points_e4)
                .collect();
            let indices = hospital_indices(&cases, HOSPITALS, &table);
            (
                settle_year(&cases, &points, HOSPITALS, 1_500_000_000_000, &settlement).unwrap(),
                indices,
            )
        })
    });
    group.bench_function("dip_catalogue", |b| {
        b.iter(|| {
            build_dip_catalogue(black_box(&history), &hospitals, &classifier, &dip_config).unwrap()
        })
    });
    group.bench_function("dip_case_scores", |b| {
        b.iter(|| {
            dip_case_scores(
                black_box(&cases),
                &hospitals,
                &catalogue,
                &classifier,
                &dip_config,
            )
            .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, payment);
criterion_main!(benches);
