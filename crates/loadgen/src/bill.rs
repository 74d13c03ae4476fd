//! Realistic bills: a cost drawn from the demo-city distributions (lognormal; by institution
//! level, age, diagnosis and length of stay), spread over catalogue lines with exact amounts.

use crate::limits::{COUNT_MAX, STAY_DAYS_MAX};
use rand::Rng;
use rand_distr::{Distribution, LogNormal};

use yibao_city::ChronicDisease;

use crate::amount::line_amount_fen;
use crate::population::{Item, ItemKind};

/// Lines per outpatient bill (demo-city spec: 3–15).
pub const OUTPATIENT_LINES: (usize, usize) = (3, 15);
/// Lines per inpatient bill (demo-city spec: 30–300).
pub const INPATIENT_LINES: (usize, usize) = (30, 300);

/// What kind of visit a bill is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VisitKind {
    /// General outpatient (`med_type` 11).
    Outpatient,
    /// Chronic/special outpatient (`14`).
    Chronic,
    /// Pharmacy purchase (`41`).
    Pharmacy,
    /// Inpatient stay (`21`).
    Inpatient,
}

impl VisitKind {
    /// Every kind, in summary order.
    pub const ALL: [VisitKind; 4] = [
        VisitKind::Outpatient,
        VisitKind::Chronic,
        VisitKind::Pharmacy,
        VisitKind::Inpatient,
    ];

    /// The `med_type` sent.
    pub fn med_type(self) -> &'static str {
        match self {
            VisitKind::Outpatient => "11",
            VisitKind::Chronic => "14",
            VisitKind::Pharmacy => "41",
            VisitKind::Inpatient => "21",
        }
    }

    /// Name in summaries and `--mix`.
    pub fn name(self) -> &'static str {
        match self {
            VisitKind::Outpatient => "outpatient",
            VisitKind::Chronic => "chronic",
            VisitKind::Pharmacy => "pharmacy",
            VisitKind::Inpatient => "inpatient",
        }
    }
}

/// One fee line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Index into the population's items.
    pub item_idx: usize,
    /// Unit price, micro-yuan.
    pub pric_micro: i64,
    /// Count in ten-thousandths.
    pub cnt_e4: i64,
    /// `round_half_up(pric × cnt)`, fen.
    pub amount_fen: i64,
}

/// A bill: its lines and, for stays, the length.
#[derive(Clone, Debug)]
pub struct Bill {
    /// Lines.
    pub lines: Vec<Line>,
    /// Stay in days (inpatient only, else 0).
    pub stay_days: u32,
}

impl Bill {
    /// Σ line amounts, fen.
    pub fn total_fen(&self) -> i64 {
        self.lines.iter().map(|l| l.amount_fen).sum()
    }
}

/// Draws the cost target of a visit in fen: medians and means of spec/demo-city.md
/// (outpatient median ~150 / mean ~300 yuan; inpatient median ~6,000 / mean ~10,000), scaled by
/// level, age and disease. The lognormal draw is a random number, turned into integer fen once.
pub fn cost_target_fen(
    rng: &mut impl Rng,
    kind: VisitKind,
    level: u8,
    age: u32,
    chronic: Option<ChronicDisease>,
) -> i64 {
    let (median_yuan, sigma): (f64, f64) = match kind {
        VisitKind::Outpatient => (150.0, 1.177),
        VisitKind::Pharmacy => (80.0, 0.9),
        VisitKind::Chronic => match chronic {
            Some(ChronicDisease::KidneyDialysis) => (450.0, 0.3),
            Some(ChronicDisease::Diabetes) => (300.0, 0.5),
            _ => (200.0, 0.5),
        },
        VisitKind::Inpatient => (6_000.0, 1.011),
    };
    // Level 3 costs more; the factors keep the city-wide median near the target for the usual
    // level mix.
    let level_factor = match (kind, level) {
        (VisitKind::Pharmacy, _) => 1.0,
        (_, 1) => 0.6,
        (_, 2) => 1.0,
        _ => 1.6,
    };
    let age_factor = match age {
        0..=17 => 0.8,
        18..=59 => 1.0,
        _ => 1.25,
    };
    let dist = LogNormal::new((median_yuan * level_factor * age_factor).ln(), sigma)
        .expect("sigma is positive");
    let yuan = dist.sample(rng).clamp(1.0, 2_000_000.0);
    (yuan * 100.0).round() as i64
}

/// Random picks per line when looking for an item priced within the line's share of the cost.
const ITEM_PICKS: usize = 8;

/// Builds a bill of `n_lines` lines from `items` of the allowed kinds whose total is close to
/// `target_fen`. Some lines carry fractional counts to exercise the rounding rule.
pub fn build_bill(
    rng: &mut impl Rng,
    items: &[Item],
    kinds: &[ItemKind],
    n_lines: usize,
    target_fen: i64,
) -> Bill {
    let candidates: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, i)| kinds.contains(&i.kind))
        .map(|(idx, _)| idx)
        .collect();
    let candidates = if candidates.is_empty() {
        (0..items.len()).collect()
    } else {
        candidates
    };
    let shares: Vec<i64> = (0..n_lines).map(|_| rng.random_range(20..100)).collect();
    let share_sum: i64 = shares.iter().sum();
    let mut lines = Vec::with_capacity(n_lines);
    for share in shares {
        let line_target_fen = (target_fen * share / share_sum.max(1)).max(1);
        // An item the line can afford (a 2,000-yuan operation does not belong on a 150-yuan
        // outpatient bill): the first of a few random picks priced within the line's share, or
        // else the cheapest of them.
        let mut item_idx = candidates[rng.random_range(0..candidates.len())];
        for _ in 0..ITEM_PICKS {
            if items[item_idx].pric_micro.max(10_000) <= line_target_fen * 10_000 {
                break;
            }
            let other = candidates[rng.random_range(0..candidates.len())];
            if items[other].pric_micro < items[item_idx].pric_micro {
                item_idx = other;
            }
        }
        let pric_micro = items[item_idx].pric_micro.max(10_000);
        // Whole units near the line's share of the cost; one line in twenty half a unit less.
        let units = (line_target_fen * 10_000 / pric_micro).clamp(1, COUNT_MAX);
        let cnt_e4 = if rng.random_range(0..20) == 0 {
            units * 10_000 - 5_000
        } else {
            units * 10_000
        };
        lines.push(Line {
            item_idx,
            pric_micro,
            cnt_e4,
            amount_fen: line_amount_fen(pric_micro, cnt_e4),
        });
    }
    Bill {
        lines,
        stay_days: 0,
    }
}

/// The lines of a stay: more for longer stays, within [`INPATIENT_LINES`].
pub fn inpatient_lines_for(stay_days: u32) -> usize {
    (INPATIENT_LINES.0 + stay_days as usize * 6).min(INPATIENT_LINES.1)
}

/// Length of stay for a stay costing `cost_fen`: about a day per 1,000 yuan, at least one.
pub fn stay_days_for(rng: &mut impl Rng, cost_fen: i64) -> u32 {
    let days = cost_fen / 100_000 + rng.random_range(1..4);
    u32::try_from(days)
        .unwrap_or(STAY_DAYS_MAX)
        .clamp(1, STAY_DAYS_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::population::hospital_price_micro;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn items() -> Vec<Item> {
        (0..60)
            .map(|idx| {
                let code = match idx % 3 {
                    0 => format!("X{idx:04}"),
                    1 => format!("00{idx:04}"),
                    _ => format!("C{idx:04}"),
                };
                let kind = ItemKind::of_code(&code);
                Item {
                    pric_micro: hospital_price_micro(&code, kind, None),
                    med_list_codg: code,
                    chrgitm_lv: "01".into(),
                    kind,
                }
            })
            .collect()
    }

    #[test]
    fn outpatient_costs_follow_the_spec_medians() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut costs: Vec<i64> = (0..20_000)
            .map(|_| cost_target_fen(&mut rng, VisitKind::Outpatient, 2, 40, None))
            .collect();
        costs.sort_unstable();
        let median = costs[costs.len() / 2];
        let mean = costs.iter().sum::<i64>() / costs.len() as i64;
        assert!((13_000..=17_000).contains(&median), "median {median}");
        assert!((25_000..=35_000).contains(&mean), "mean {mean}");
        let mut stays: Vec<i64> = (0..20_000)
            .map(|_| cost_target_fen(&mut rng, VisitKind::Inpatient, 2, 40, None))
            .collect();
        stays.sort_unstable();
        assert!((520_000..=680_000).contains(&stays[stays.len() / 2]));
    }

    /// Bills cost what the spec's distribution drew: across many outpatient bills of 3–15 lines
    /// the total is within a few percent of the drawn targets, and the median bill stays near
    /// the spec's median (not pushed up by expensive items on cheap bills).
    #[test]
    fn outpatient_bills_cost_about_their_target() {
        let items = items();
        let mut rng = StdRng::seed_from_u64(11);
        let kinds = [ItemKind::Drug, ItemKind::Service, ItemKind::Consumable];
        let (mut targets, mut totals) = (0i64, 0i64);
        let mut bill_totals = Vec::new();
        for _ in 0..5_000 {
            let target = cost_target_fen(&mut rng, VisitKind::Outpatient, 2, 40, None);
            let n_lines =
                rand::Rng::random_range(&mut rng, OUTPATIENT_LINES.0..=OUTPATIENT_LINES.1);
            let bill = build_bill(&mut rng, &items, &kinds, n_lines, target);
            targets += target;
            totals += bill.total_fen();
            bill_totals.push(bill.total_fen());
        }
        bill_totals.sort_unstable();
        let median = bill_totals[bill_totals.len() / 2];
        assert!(
            (targets * 85 / 100..=targets * 115 / 100).contains(&totals),
            "bills total {totals} fen for targets of {targets}"
        );
        assert!(
            (10_000..=20_000).contains(&median),
            "median bill {median} fen"
        );
    }

    proptest! {
        #[test]
        fn bill_lines_are_exact_and_of_the_right_kind(seed in 0u64..1_000, n in 1usize..40, target in 100i64..5_000_000) {
            let items = items();
            let mut rng = StdRng::seed_from_u64(seed);
            let bill = build_bill(&mut rng, &items, &[ItemKind::Drug], n, target);
            prop_assert_eq!(bill.lines.len(), n);
            for line in &bill.lines {
                prop_assert_eq!(items[line.item_idx].kind, ItemKind::Drug);
                prop_assert_eq!(line.amount_fen, line_amount_fen(line.pric_micro, line.cnt_e4));
                prop_assert!(line.amount_fen > 0);
            }
            prop_assert_eq!(bill.total_fen(), bill.lines.iter().map(|l| l.amount_fen).sum::<i64>());
        }
    }
}
