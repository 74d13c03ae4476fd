//! 5206 人员累计信息查询: a person's accumulations per month, under the national 累计类别代码.
//!
//! The spec names `cum_type_code` without its code table (national-interface §4.16 表276, and
//! §8: the national dictionary was not found). Real platforms answer codes built from a letter
//! for what is counted, a fund code and the medical type (`_BIZ` + `med_type`), as public HIS
//! clients read them: `C0000` a number of settled visits, `F0000` medical expenses, `Q0000` the
//! deductible paid, `D` + fund a fund's payments (`D310101` employees' pooling, `D390101`
//! residents' pooling, `D330101` large-amount, `D390201` serious illness, `D610101` assistance,
//! `D320101` civil servants' subsidy, `D310201` personal account) and `TS390201` the expenses
//! that counted towards serious-illness insurance. The store answers those it keeps.

use crate::registry::CumulativeRow;

/// One person's settlements summed over one month, one insurance type and one medical type
/// (reversals count negatively). Amounts in fen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MonthSums {
    /// `insutype`.
    pub(crate) insutype: String,
    /// The month, `yyyy-MM` (the settlement date's first seven characters).
    pub(crate) month: String,
    /// `med_type`.
    pub(crate) med_type: String,
    /// Settlements less reversals.
    pub(crate) n_settlements: i64,
    /// Σ `medfee_sumamt`.
    pub(crate) medfee: i64,
    /// Σ `act_pay_dedc`.
    pub(crate) deductible: i64,
    /// Σ `hifp_pay`.
    pub(crate) hifp: i64,
    /// Σ `hifob_pay`.
    pub(crate) hifob: i64,
    /// Σ `hifmi_pay`.
    pub(crate) hifmi: i64,
    /// Σ `maf_pay`.
    pub(crate) maf: i64,
    /// Σ `cvlserv_pay`.
    pub(crate) cvlserv: i64,
    /// Σ `acct_pay`.
    pub(crate) acct: i64,
    /// Σ of what the settlements added to the serious-illness base.
    pub(crate) hifmi_base: i64,
}

/// Scale of `cum` (N 16,2): amounts are fen, counts are multiplied by this.
const CUM_UNITS_PER_COUNT: i64 = 100;

/// The `cuminfo` rows of `sums` (sorted by month, insurance type and medical type): per medical
/// type the visits, expenses, deductible and pooling fund; per month and insurance type the other
/// funds and the personal account. Zero accumulations are left out.
pub(crate) fn rows(sums: &[MonthSums]) -> Vec<CumulativeRow> {
    let mut out = Vec::new();
    let mut idx = 0;
    while idx < sums.len() {
        let first = &sums[idx];
        let group_len = sums[idx..]
            .iter()
            .take_while(|s| s.month == first.month && s.insutype == first.insutype)
            .count();
        let group = &sums[idx..idx + group_len];
        idx += group_len;
        let year: i64 = first
            .month
            .get(..4)
            .and_then(|y| y.parse().ok())
            .unwrap_or(0);
        let cum_ym = first.month.replace('-', "");
        let mut push = |code: String, cum: i64| {
            if cum != 0 {
                out.push(CumulativeRow {
                    insutype: first.insutype.clone(),
                    year,
                    cum_ym: cum_ym.clone(),
                    cum_type_code: code,
                    cum,
                });
            }
        };
        let pooling_fund = format!("{}101", first.insutype);
        for s in group {
            let biz = &s.med_type;
            push(
                format!("C0000_BIZ{biz}"),
                s.n_settlements * CUM_UNITS_PER_COUNT,
            );
            push(format!("F0000_BIZ{biz}"), s.medfee);
            push(format!("Q0000_BIZ{biz}"), s.deductible);
            push(format!("D{pooling_fund}_BIZ{biz}"), s.hifp);
        }
        let total = |part: fn(&MonthSums) -> i64| group.iter().map(part).sum::<i64>();
        push("D330101".to_owned(), total(|s| s.hifob));
        push("D390201".to_owned(), total(|s| s.hifmi));
        push("TS390201".to_owned(), total(|s| s.hifmi_base));
        push("D610101".to_owned(), total(|s| s.maf));
        push("D320101".to_owned(), total(|s| s.cvlserv));
        push("D310201".to_owned(), total(|s| s.acct));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_per_month_with_national_codes() {
        let sums = [
            MonthSums {
                insutype: "310".into(),
                month: "2026-03".into(),
                med_type: "11".into(),
                n_settlements: 2,
                medfee: 10_000,
                deductible: 1_000,
                hifp: 6_000,
                acct: 3_000,
                ..MonthSums::default()
            },
            MonthSums {
                insutype: "310".into(),
                month: "2026-03".into(),
                med_type: "21".into(),
                n_settlements: 1,
                medfee: 50_000,
                hifp: 30_000,
                hifob: 5_000,
                ..MonthSums::default()
            },
            MonthSums {
                insutype: "310".into(),
                month: "2026-04".into(),
                med_type: "11".into(),
                // A settlement and its reversal in the same month: nothing remains.
                ..MonthSums::default()
            },
        ];
        let got: Vec<String> = rows(&sums)
            .iter()
            .map(|r| format!("{} {} {} {}", r.year, r.cum_ym, r.cum_type_code, r.cum))
            .collect();
        assert_eq!(
            got,
            [
                "2026 202603 C0000_BIZ11 200",
                "2026 202603 F0000_BIZ11 10000",
                "2026 202603 Q0000_BIZ11 1000",
                "2026 202603 D310101_BIZ11 6000",
                "2026 202603 C0000_BIZ21 100",
                "2026 202603 F0000_BIZ21 50000",
                "2026 202603 D310101_BIZ21 30000",
                "2026 202603 D330101 5000",
                "2026 202603 D310201 3000",
            ]
        );
    }
}
