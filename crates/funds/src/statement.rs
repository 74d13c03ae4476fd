//! The funds' monthly statements (基金收支月报) from the ledger: every transfer touching a fund
//! account is income, expenditure or an adjustment, by its kind and the account on the other
//! side; a fund's closing balance is its opening balance plus income minus expenditure minus
//! adjustments, and must equal its ledger balance at the month end.

use yibao_core_types::Fen;

/// Ledger kinds of the payment run's transfers touching a fund.
pub mod kinds {
    /// DRG/DIP pricing: points minus fee-for-service.
    pub const DRG: &str = "pay_drg";
    /// The annual true-up.
    pub const TRUE_UP: &str = "pay_true_up";
    /// Quality holdback withheld.
    pub const HOLDBACK: &str = "pay_holdback";
    /// Quality holdback released at the year end.
    pub const HOLDBACK_RELEASE: &str = "pay_holdback_release";
    /// Confirmed audit recovery (the store's review posts it).
    pub const RECOVERY: &str = "recovery";
    /// Confirmed audit penalty.
    pub const PENALTY: &str = "penalty";
    /// Interest the bank credited to the fund (income).
    pub const INTEREST: &str = "interest";
}

/// Interest on `balance_fen` for `days` at `annual_rate_ppm` a year, by Chinese banks' day
/// count (日利率 = 年利率 / 360), rounded half up to the fen; nothing on a balance ≤ 0.
pub fn interest_fen(balance_fen: i64, annual_rate_ppm: i64, days: u32) -> i64 {
    if balance_fen <= 0 || annual_rate_ppm <= 0 {
        return 0;
    }
    let fen = yibao_core_types::money::round_half_up(
        i128::from(balance_fen) * i128::from(annual_rate_ppm) * i128::from(days),
        1_000_000 * 360,
    );
    i64::try_from(fen).unwrap_or(i64::MAX)
}

/// Where a fund's transfer goes in the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Contributions, subsidies, interest, transfers in (net of refunds and transfers out).
    Income,
    /// What settlements paid institutions, net of reversals.
    Expenditure,
    /// What the payment run added or withheld: DRG/DIP differences, recoveries, holdbacks.
    Adjustment,
}

/// The class of a transfer of `kind` between a fund and `other` (the account on the other side).
pub fn classify(kind: &str, other: &str) -> Class {
    match kind {
        kinds::DRG
        | kinds::TRUE_UP
        | kinds::HOLDBACK
        | kinds::HOLDBACK_RELEASE
        | kinds::RECOVERY
        | kinds::PENALTY => Class::Adjustment,
        _ if other.starts_with("inst:") => Class::Expenditure,
        _ => Class::Income,
    }
}

/// A fund's month.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FundMonth {
    /// Fund code (`310100` …, `recovery`, `penalty`).
    pub fund: String,
    /// Region.
    pub admdvs: String,
    /// Balance at the start of the month (credits − debits before it), fen.
    pub opening: i64,
    /// Net income in the month, fen.
    pub income: i64,
    /// Net expenditure in the month (paid out positive), fen.
    pub expenditure: i64,
    /// Net adjustments in the month (paid out positive, withheld negative), fen.
    pub adjustments: i64,
    /// opening + income − expenditure − adjustments.
    pub closing: i64,
}

impl FundMonth {
    /// Adds one transfer: `net` is what it brought into the fund (credit positive), `before`
    /// whether it was booked before the month.
    pub fn add(&mut self, class: Class, net: i64, before: bool) {
        if before {
            self.opening += net;
            return;
        }
        match class {
            Class::Income => self.income += net,
            Class::Expenditure => self.expenditure -= net,
            Class::Adjustment => self.adjustments -= net,
        }
    }

    /// Sets `closing` from the other figures.
    pub fn close(&mut self) {
        self.closing = self.opening + self.income - self.expenditure - self.adjustments;
    }
}

/// Months of expenditure the closing balance covers: closing / mean monthly expenditure, one
/// decimal, rounded half up; `None` without expenditure.
pub fn months_covered(closing: i64, expenditure_total: i64, months: i64) -> Option<String> {
    if expenditure_total <= 0 || months <= 0 {
        return None;
    }
    // closing × months / expenditure, in tenths.
    let tenths = yibao_core_types::money::round_half_up(
        i128::from(closing) * i128::from(months) * 10,
        i128::from(expenditure_total),
    );
    Some(render_tenths(tenths))
}

/// Budget execution rate (预算执行率): year-to-date expenditure / annual budget, in percent with
/// two decimals; `None` without a budget.
pub fn execution_rate(ytd_expenditure: i64, budget: Option<i64>) -> Option<String> {
    let budget = budget.filter(|b| *b > 0)?;
    let hundredths = yibao_core_types::money::round_half_up(
        i128::from(ytd_expenditure) * 10_000,
        i128::from(budget),
    );
    Some(format!("{}%", Fen(hundredths as i64)))
}

fn render_tenths(tenths: i128) -> String {
    let sign = if tenths < 0 { "-" } else { "" };
    let t = tenths.abs();
    format!("{sign}{}.{}", t / 10, t % 10)
}

/// Yuan with two decimals (`1380.00`), as the statements print amounts.
pub fn yuan(fen: i64) -> String {
    Fen(fen).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfers_are_classed_by_kind_and_counterparty() {
        assert_eq!(classify("310100", "inst:H1"), Class::Expenditure);
        assert_eq!(classify("clct_pool", "clct:tax:140500"), Class::Income);
        assert_eq!(classify("retiree_credit", "personal:P1"), Class::Income);
        assert_eq!(classify(kinds::DRG, "inst:H1"), Class::Adjustment);
        assert_eq!(classify(kinds::HOLDBACK, "inst:H1"), Class::Adjustment);
        assert_eq!(classify(kinds::RECOVERY, "recv:H1"), Class::Adjustment);
    }

    #[test]
    fn a_month_closes_on_its_identity() {
        let mut m = FundMonth::default();
        m.add(Class::Income, 1_000_000, true);
        m.add(Class::Income, 300_000, false);
        m.add(Class::Expenditure, -250_000, false);
        m.add(Class::Expenditure, 10_000, false); // a reversal
        m.add(Class::Adjustment, 5_000, false); // a holdback withheld
        m.close();
        assert_eq!(m.opening, 1_000_000);
        assert_eq!(m.expenditure, 240_000);
        assert_eq!(m.adjustments, -5_000);
        assert_eq!(m.closing, 1_000_000 + 300_000 - 240_000 + 5_000);
    }

    #[test]
    fn coverage_and_execution() {
        assert_eq!(months_covered(1_200, 300, 3).as_deref(), Some("12.0"));
        assert_eq!(months_covered(1_000, 300, 1).as_deref(), Some("3.3"));
        assert_eq!(months_covered(-150, 100, 1).as_deref(), Some("-1.5"));
        assert_eq!(months_covered(1, 0, 1), None);
        assert_eq!(
            execution_rate(2_500, Some(10_000)).as_deref(),
            Some("25.00%")
        );
        assert_eq!(execution_rate(1, Some(3)).as_deref(), Some("33.33%"));
        assert_eq!(execution_rate(1, None), None);
    }

    #[test]
    fn interest_by_the_day_on_a_360_day_year() {
        // 12,000,000.00 yuan at 0.35 % for 30 days: 1.2e9 fen × 0.0035 × 30 / 360 = 350,000 fen.
        assert_eq!(interest_fen(1_200_000_000, 3_500, 30), 350_000);
        // 1,000.00 yuan at 0.35 % for 31 days: 100,000 × 0.0035 × 31 / 360 = 30.138… → 30 fen.
        assert_eq!(interest_fen(100_000, 3_500, 31), 30);
        // 0.5 fen rounds up: 360 fen at 50 % for 1 day = 0.5.
        assert_eq!(interest_fen(360, 500_000, 1), 1);
        assert_eq!(interest_fen(-5, 3_500, 30), 0);
        assert_eq!(interest_fen(100, 0, 30), 0);
        assert_eq!(
            classify(kinds::INTEREST, "interest:310100:140500"),
            Class::Income
        );
    }
}
