//! Shared builders for the payment engine's tests.
#![allow(dead_code)]

use yibao_drg_payment::dip::DipConfig;
use yibao_drg_payment::drg::{DrgRules, OutlierTier, SpecialReviewRules};
use yibao_drg_payment::settle::{Band, SettlementRules};
use yibao_drg_payment::{DrgCode, Hospital, HospitalLevel, InpatientCase};

/// 1 yuan in fen.
pub const YUAN: i64 = 100;

pub fn drg(code: &str) -> DrgCode {
    DrgCode::parse(code).unwrap()
}

pub fn hospital(code: &str, level: HospitalLevel) -> Hospital {
    Hospital {
        code: code.to_string(),
        level,
        coefficient_ppm: None,
    }
}

/// A case with the fields the DRG engine reads.
pub fn drg_case(
    id: u64,
    hospital: u32,
    drg_code: Option<&str>,
    cost_yuan: i64,
    stay_days: u32,
) -> InpatientCase {
    InpatientCase {
        id,
        hospital,
        month: 1,
        drg: drg_code.map(drg),
        principal_dx: "I10.x00".to_string(),
        procedures: Vec::new(),
        cost_fen: cost_yuan * YUAN,
        insured_share_fen: 0,
        stay_days,
    }
}

/// A case with the fields DIP reads.
pub fn dip_case(
    id: u64,
    hospital: u32,
    dx: &str,
    procedures: &[&str],
    cost_yuan: i64,
) -> InpatientCase {
    InpatientCase {
        id,
        hospital,
        month: 1,
        drg: None,
        principal_dx: dx.to_string(),
        procedures: procedures.iter().map(|p| p.to_string()).collect(),
        cost_fen: cost_yuan * YUAN,
        insured_share_fen: 0,
        stay_days: 5,
    }
}

/// Typical 金华-style rules: levels 0.9 / 1.0 / 1.2; high tiers ≤ 100 points 3×, ≤ 300 points
/// 2×, above 1.5×; low 0.4; short stay ≤ 1 day; ungrouped factor 1; review ≥ 5× capped at 5%.
pub fn drg_rules() -> DrgRules {
    DrgRules {
        level_coefficient_ppm: [900_000, 1_000_000, 1_200_000],
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
        ungrouped_factor_ppm: 1_000_000,
        special_review: SpecialReviewRules {
            min_cost_ratio_ppm: 5_000_000,
            cases_cap_ppm: 50_000,
        },
    }
}

/// Surplus: up to 5% of cost kept fully, 5–15% half, beyond none. Overspend: up to 10% of cost
/// the fund bears half, 10–20% 30%, beyond nothing.
pub fn settlement_rules() -> SettlementRules {
    SettlementRules {
        surplus_bands: vec![
            Band {
                upto_ppm: Some(50_000),
                share_ppm: 1_000_000,
            },
            Band {
                upto_ppm: Some(150_000),
                share_ppm: 500_000,
            },
            Band {
                upto_ppm: None,
                share_ppm: 0,
            },
        ],
        overspend_bands: vec![
            Band {
                upto_ppm: Some(100_000),
                share_ppm: 500_000,
            },
            Band {
                upto_ppm: Some(200_000),
                share_ppm: 300_000,
            },
            Band {
                upto_ppm: None,
                share_ppm: 0,
            },
        ],
    }
}

pub fn dip_config(core_min_cases: u32, grassroots: &[&str]) -> DipConfig {
    DipConfig {
        core_min_cases,
        level_coefficient_ppm: [900_000, 1_000_000, 1_100_000],
        grassroots_categories: grassroots.iter().map(|c| c.to_string()).collect(),
        high_ratio_ppm: 2_000_000,
        low_ratio_ppm: 500_000,
    }
}
