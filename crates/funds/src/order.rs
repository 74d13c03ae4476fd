//! An institution's payment order for one run (支付单): what its settlements left it owed, per
//! payer, what DRG/DIP pricing adds or takes, what is deducted (audit recoveries, the quality
//! holdback) and what each bank account pays.
//!
//! The lines and their identity (checked here and again by the store before posting):
//! what the paid settlements left in the institution's payable (Σ `ffs` + `counter`) equals what
//! the order moves out of it (Σ `bank` + `clearing` + `holdback` + `recovery` + `counter`) minus
//! what it adds (Σ `drg` + `true_up` + `holdback_release`).

use yibao_core_types::money::round_half_up;

use crate::FundsError;

/// What a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LineKind {
    /// What settlements net of reversals left owed by one payer (a fund of a region).
    Ffs,
    /// DRG/DIP pricing: points minus fee-for-service, charged to the local pooling fund.
    Drg,
    /// The annual true-up at the year end.
    TrueUp,
    /// Confirmed audit recoveries deducted (追回).
    Recovery,
    /// The quality-guarantee holdback withheld (质量保证金).
    Holdback,
    /// Holdback released at the year end.
    HoldbackRelease,
    /// Cash the institution took from patients at its counter: cleared, not paid.
    Counter,
    /// Paid from the bank account of a local fund.
    Bank,
    /// Paid on behalf of another region (异地): the insured region owes it to this one.
    Clearing,
}

impl LineKind {
    /// The code stored with the line.
    pub fn code(self) -> &'static str {
        match self {
            LineKind::Ffs => "ffs",
            LineKind::Drg => "drg",
            LineKind::TrueUp => "true_up",
            LineKind::Recovery => "recovery",
            LineKind::Holdback => "holdback",
            LineKind::HoldbackRelease => "holdback_release",
            LineKind::Counter => "counter",
            LineKind::Bank => "bank",
            LineKind::Clearing => "clearing",
        }
    }

    /// Every kind, in the order a line is written.
    pub const ALL: [LineKind; 9] = [
        LineKind::Ffs,
        LineKind::Drg,
        LineKind::TrueUp,
        LineKind::Recovery,
        LineKind::Holdback,
        LineKind::HoldbackRelease,
        LineKind::Counter,
        LineKind::Bank,
        LineKind::Clearing,
    ];

    /// The kind a stored code names.
    pub fn from_code(code: &str) -> Option<LineKind> {
        LineKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Lines that add to what the institution is owed (money from a fund).
    pub fn adds(self) -> bool {
        matches!(
            self,
            LineKind::Drg | LineKind::TrueUp | LineKind::HoldbackRelease
        )
    }

    /// Lines that move money out of the institution's payable.
    pub fn moves_out(self) -> bool {
        matches!(
            self,
            LineKind::Recovery
                | LineKind::Holdback
                | LineKind::Counter
                | LineKind::Bank
                | LineKind::Clearing
        )
    }
}

/// Who a line is with: a fund (`fund_pay_type`) of a region, or the counter (fund and region
/// empty).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Payer {
    /// The fund code (`310100`, `390100`, `310200` for personal accounts …); empty for the counter.
    pub fund: String,
    /// The fund's region; empty for the counter.
    pub admdvs: String,
}

impl Payer {
    /// A fund of a region.
    pub fn fund(fund: &str, admdvs: &str) -> Payer {
        Payer {
            fund: fund.into(),
            admdvs: admdvs.into(),
        }
    }

    /// The institution's own counter (cash).
    pub fn counter() -> Payer {
        Payer {
            fund: String::new(),
            admdvs: String::new(),
        }
    }

    /// True for the counter.
    pub fn is_counter(&self) -> bool {
        self.fund.is_empty()
    }
}

/// One amount going into an order, with where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amount {
    /// Who.
    pub payer: Payer,
    /// Fen (may be negative: reversals, a lower DRG price).
    pub amount_fen: i64,
    /// Where it comes from, in words (`812 settlements, 3 reversals`).
    pub trace: String,
}

/// Everything an institution's order is made from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderInput {
    /// The institution.
    pub fixmedins_code: String,
    /// Its region (the treating region, which pays it).
    pub admdvs: String,
    /// What its settlements in this run left owed, per payer (ledger amounts).
    pub owed: Vec<Amount>,
    /// DRG/DIP adjustments per local fund.
    pub drg: Vec<Amount>,
    /// Year-end true-up per local fund.
    pub true_up: Vec<Amount>,
    /// Year-end holdback release per local fund.
    pub holdback_release: Vec<Amount>,
    /// What confirmed audit cases still recover from it, fen (≥ 0).
    pub recovery_outstanding_fen: i64,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// What it is.
    pub kind: LineKind,
    /// With whom.
    pub payer: Payer,
    /// Fen.
    pub amount_fen: i64,
    /// Where it comes from.
    pub trace: String,
}

/// Builds the order. `holdback_ppm` is withheld from each local fund's payment for the month
/// (ffs + drg, when positive), except from `exempt_fund` (personal accounts: the insured's own
/// money). Recoveries are deducted from the local bank lines in fund order, never below zero; what
/// cannot be deducted now stays outstanding for the next run.
pub fn build_order(
    input: &OrderInput,
    holdback_ppm: i64,
    exempt_fund: &str,
) -> Result<Vec<Line>, FundsError> {
    use std::collections::BTreeMap;
    if input.recovery_outstanding_fen < 0 {
        return Err(FundsError::Invariant(format!(
            "{}: recovery outstanding {}",
            input.fixmedins_code, input.recovery_outstanding_fen
        )));
    }
    let mut lines = Vec::new();
    // Per local fund: the bank payment before deductions.
    let mut local: BTreeMap<String, (i64, i64)> = BTreeMap::new(); // fund → (month payment, extra)
    for a in &input.owed {
        if a.payer.is_counter() {
            lines.push(line(LineKind::Counter, a));
            continue;
        }
        lines.push(line(LineKind::Ffs, a));
        if a.payer.admdvs == input.admdvs {
            local.entry(a.payer.fund.clone()).or_default().0 += a.amount_fen;
        }
    }
    for (kind, items, month) in [
        (LineKind::Drg, &input.drg, true),
        (LineKind::TrueUp, &input.true_up, false),
        (LineKind::HoldbackRelease, &input.holdback_release, false),
    ] {
        for a in items {
            if a.payer.admdvs != input.admdvs || a.payer.is_counter() {
                return Err(FundsError::Invariant(format!(
                    "{}: {} line for {}:{} outside the institution's region",
                    input.fixmedins_code,
                    kind.code(),
                    a.payer.fund,
                    a.payer.admdvs
                )));
            }
            if a.amount_fen == 0 {
                continue;
            }
            lines.push(line(kind, a));
            let e = local.entry(a.payer.fund.clone()).or_default();
            if month {
                e.0 += a.amount_fen;
            } else {
                e.1 += a.amount_fen;
            }
        }
    }
    let mut recovery_left = input.recovery_outstanding_fen;
    for (fund, (month, extra)) in &local {
        let payer = Payer::fund(fund, &input.admdvs);
        let holdback = if fund == exempt_fund || *month <= 0 {
            0
        } else {
            round_half_up(i128::from(*month) * i128::from(holdback_ppm), 1_000_000) as i64
        };
        if holdback > 0 {
            lines.push(Line {
                kind: LineKind::Holdback,
                payer: payer.clone(),
                amount_fen: holdback,
                trace: format!(
                    "{} of {} yuan",
                    ppm_percent(holdback_ppm),
                    yibao_core_types::Fen(*month)
                ),
            });
        }
        let before = month + extra - holdback;
        let deduct = recovery_left.min(before.max(0));
        if deduct > 0 {
            recovery_left -= deduct;
            lines.push(Line {
                kind: LineKind::Recovery,
                payer: payer.clone(),
                amount_fen: deduct,
                trace: format!(
                    "confirmed audit cases: {} yuan outstanding",
                    yibao_core_types::Fen(input.recovery_outstanding_fen)
                ),
            });
        }
        lines.push(Line {
            kind: LineKind::Bank,
            payer,
            amount_fen: before - deduct,
            trace: "paid from the fund's bank account".into(),
        });
    }
    for a in &input.owed {
        if !a.payer.is_counter() && a.payer.admdvs != input.admdvs {
            lines.push(Line {
                kind: LineKind::Clearing,
                payer: a.payer.clone(),
                amount_fen: a.amount_fen,
                trace: format!("paid for region {}, which reimburses it", a.payer.admdvs),
            });
        }
    }
    check_identity(&input.fixmedins_code, &lines)?;
    Ok(lines)
}

fn line(kind: LineKind, a: &Amount) -> Line {
    Line {
        kind,
        payer: a.payer.clone(),
        amount_fen: a.amount_fen,
        trace: a.trace.clone(),
    }
}

fn ppm_percent(ppm: i64) -> String {
    format!("{}%", yibao_core_types::Ratio(ppm * 100).render(2))
}

/// Checks the order's identity: Σ ffs + counter = Σ moved out − Σ added.
pub fn check_identity(fixmedins_code: &str, lines: &[Line]) -> Result<(), FundsError> {
    let sum = |pred: &dyn Fn(LineKind) -> bool| -> i64 {
        lines
            .iter()
            .filter(|l| pred(l.kind))
            .map(|l| l.amount_fen)
            .sum()
    };
    let owed = sum(&|k| matches!(k, LineKind::Ffs | LineKind::Counter));
    let out = sum(&|k| k.moves_out());
    let added = sum(&|k| k.adds());
    if owed != out - added {
        return Err(FundsError::Invariant(format!(
            "{fixmedins_code}: owed {owed} ≠ paid out {out} − added {added}"
        )));
    }
    Ok(())
}

/// What the institution receives from the banks: Σ bank + clearing lines.
pub fn paid_fen(lines: &[Line]) -> i64 {
    lines
        .iter()
        .filter(|l| matches!(l.kind, LineKind::Bank | LineKind::Clearing))
        .map(|l| l.amount_fen)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn amount(fund: &str, admdvs: &str, fen: i64) -> Amount {
        Amount {
            payer: if fund.is_empty() {
                Payer::counter()
            } else {
                Payer::fund(fund, admdvs)
            },
            amount_fen: fen,
            trace: "t".into(),
        }
    }

    fn of(lines: &[Line], kind: LineKind, fund: &str) -> i64 {
        lines
            .iter()
            .filter(|l| l.kind == kind && l.payer.fund == fund)
            .map(|l| l.amount_fen)
            .sum()
    }

    #[test]
    fn an_order_pays_funds_less_holdback_and_recovery() {
        let input = OrderInput {
            fixmedins_code: "H1".into(),
            admdvs: "140500".into(),
            owed: vec![
                amount("310100", "140500", 100_000),
                amount("310200", "140500", 20_000),
                amount("390100", "140500", 50_000),
                amount("390100", "110100", 7_000),
                amount("", "", 30_000),
            ],
            drg: vec![amount("310100", "140500", -10_000)],
            true_up: vec![],
            holdback_release: vec![],
            recovery_outstanding_fen: 60_000,
        };
        let lines = build_order(&input, 50_000, "310200").unwrap();
        // 310100: 1,000.00 − 100.00 DRG = 900.00; holdback 5% = 45.00; the 600.00 recovery
        // comes out of what is left (855.00).
        assert_eq!(of(&lines, LineKind::Holdback, "310100"), 4_500);
        assert_eq!(of(&lines, LineKind::Recovery, "310100"), 60_000);
        assert_eq!(
            of(&lines, LineKind::Bank, "310100"),
            90_000 - 4_500 - 60_000
        );
        // Personal accounts: no holdback.
        assert_eq!(of(&lines, LineKind::Holdback, "310200"), 0);
        assert_eq!(of(&lines, LineKind::Bank, "310200"), 20_000);
        assert_eq!(of(&lines, LineKind::Holdback, "390100"), 2_500);
        assert_eq!(of(&lines, LineKind::Bank, "390100"), 47_500);
        // The other region's fund is paid by clearing, without holdback.
        assert_eq!(of(&lines, LineKind::Clearing, "390100"), 7_000);
        assert_eq!(of(&lines, LineKind::Counter, ""), 30_000);
        assert_eq!(paid_fen(&lines), 25_500 + 20_000 + 47_500 + 7_000);
    }

    #[test]
    fn recovery_never_takes_a_bank_line_below_zero() {
        let input = OrderInput {
            fixmedins_code: "H1".into(),
            admdvs: "A".into(),
            owed: vec![amount("310100", "A", 1_000), amount("390100", "A", -500)],
            recovery_outstanding_fen: 5_000,
            ..Default::default()
        };
        let lines = build_order(&input, 0, "310200").unwrap();
        assert_eq!(of(&lines, LineKind::Recovery, "310100"), 1_000);
        assert_eq!(of(&lines, LineKind::Recovery, "390100"), 0);
        assert_eq!(of(&lines, LineKind::Bank, "390100"), -500);
    }

    #[test]
    fn every_kind_reads_back_from_its_code() {
        for k in LineKind::ALL {
            assert_eq!(LineKind::from_code(k.code()), Some(k));
        }
        assert_eq!(LineKind::from_code("reimburse"), None);
    }

    #[test]
    fn drg_outside_the_region_is_refused() {
        let input = OrderInput {
            fixmedins_code: "H1".into(),
            admdvs: "A".into(),
            drg: vec![amount("310100", "B", 1)],
            ..Default::default()
        };
        assert!(build_order(&input, 0, "310200").is_err());
    }

    proptest! {
        #[test]
        fn every_order_keeps_its_identity(
            owed in proptest::collection::vec((0usize..4, -50_000i64..500_000), 0..8),
            drg in proptest::collection::vec((0usize..2, -50_000i64..50_000), 0..3),
            recovery in 0i64..300_000,
            holdback in 0i64..200_000,
        ) {
            let funds = [("310100", "A"), ("390100", "A"), ("390100", "B"), ("", "")];
            let input = OrderInput {
                fixmedins_code: "H".into(),
                admdvs: "A".into(),
                owed: owed.iter().map(|(f, a)| amount(funds[*f].0, funds[*f].1, *a)).collect(),
                drg: drg.iter().map(|(f, a)| amount(funds[*f].0, "A", *a)).collect(),
                recovery_outstanding_fen: recovery,
                ..Default::default()
            };
            let lines = build_order(&input, holdback, "310200").unwrap();
            prop_assert!(check_identity("H", &lines).is_ok());
            let deducted: i64 = lines.iter().filter(|l| l.kind == LineKind::Recovery).map(|l| l.amount_fen).sum();
            prop_assert!(deducted <= recovery);
            prop_assert!(lines.iter().all(|l| l.kind != LineKind::Recovery || l.amount_fen > 0));
        }
    }
}
