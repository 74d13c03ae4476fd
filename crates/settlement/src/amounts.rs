//! The `setlinfo` amounts of a settlement (结算信息, table 86): one type from the engine to the
//! stored row to the interface's answer, listed once, in the interface's order.
//!
//! The store writes and reads its columns by looping over [`SetlAmounts::values`] and
//! [`SetlAmounts::try_from_fn`], and the interface renders them in the same loop, so a new
//! amount is added here and nowhere else by hand.

use yibao_core_types::{Fen, Ratio};

use crate::engine::SettleError;

/// How a value of [`SetlAmounts`] is counted when it is stored as an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetlUnit {
    /// Money, in fen.
    Fen,
    /// A ratio, in parts per million.
    Ppm,
}

/// One value of [`SetlAmounts`]: an amount of money, or the one ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetlValue {
    /// An amount.
    Fen(Fen),
    /// A ratio (`pool_prop_selfpay`).
    Ratio(Ratio),
}

impl SetlValue {
    /// How the value is counted.
    pub fn unit(self) -> SetlUnit {
        match self {
            SetlValue::Fen(_) => SetlUnit::Fen,
            SetlValue::Ratio(_) => SetlUnit::Ppm,
        }
    }

    /// The integer it is stored as: fen, or parts per million.
    pub fn raw(self) -> i64 {
        match self {
            SetlValue::Fen(fen) => fen.0,
            SetlValue::Ratio(ratio) => ratio.0,
        }
    }
}

/// Whether a settlement record moves money to the institution or takes it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetlSign {
    /// A settlement: every amount is zero or positive.
    Settlement,
    /// A reversal (2208/2305, 2601): every amount is zero or negative.
    Reversal,
}

impl SetlSign {
    /// `1` or `-1`, as the store keeps it (`setl_sign`).
    pub fn factor(self) -> i64 {
        match self {
            SetlSign::Settlement => 1,
            SetlSign::Reversal => -1,
        }
    }
}

/// A value type of [`SetlAmounts`]: how it is stored and how a reversal treats it.
trait SetlField: Copy {
    const UNIT: SetlUnit;
    fn from_raw(raw: i64) -> Self;
    fn value(self) -> SetlValue;
    /// The value on a reversal: money negated, a ratio kept.
    fn reversed(self) -> Self;
}

impl SetlField for Fen {
    const UNIT: SetlUnit = SetlUnit::Fen;
    fn from_raw(raw: i64) -> Self {
        Fen(raw)
    }
    fn value(self) -> SetlValue {
        SetlValue::Fen(self)
    }
    fn reversed(self) -> Self {
        -self
    }
}

impl SetlField for Ratio {
    const UNIT: SetlUnit = SetlUnit::Ppm;
    fn from_raw(raw: i64) -> Self {
        Ratio(raw)
    }
    fn value(self) -> SetlValue {
        SetlValue::Ratio(self)
    }
    fn reversed(self) -> Self {
        self
    }
}

/// Declares [`SetlAmounts`] from one list of fields, with everything that walks them: the names
/// and units, the values in order, the constructor from stored integers and the reversal.
macro_rules! setl_amounts {
    ($( $( #[doc = $doc:literal] )* $field:ident: $ty:ident, )*) => {
        /// The `setlinfo` amounts of one settlement, pre-settlement or reversal, in the order of
        /// the interface's table 86. Amounts are fen (negative on a reversal); the ratio is
        /// exact.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct SetlAmounts {
            $( $( #[doc = $doc] )* pub $field: $ty, )*
        }

        impl SetlAmounts {
            /// Every field's national name and unit, in interface order.
            pub const FIELDS: &'static [(&'static str, SetlUnit)] =
                &[$( (stringify!($field), <$ty as SetlField>::UNIT), )*];

            /// Every field's national name and value, in interface order.
            pub fn values(&self) -> impl Iterator<Item = (&'static str, SetlValue)> {
                [$( (stringify!($field), SetlField::value(self.$field)), )*].into_iter()
            }

            /// Builds the amounts from their stored integers: `read` is asked for each field by
            /// name and unit, in interface order, and its first error is returned.
            pub fn try_from_fn<E>(
                mut read: impl FnMut(&'static str, SetlUnit) -> Result<i64, E>,
            ) -> Result<SetlAmounts, E> {
                Ok(SetlAmounts {
                    $( $field: <$ty as SetlField>::from_raw(
                        read(stringify!($field), <$ty as SetlField>::UNIT)?,
                    ), )*
                })
            }

            /// Every field as a reversal has it, `balc` included (the caller sets that one).
            fn all_reversed(&self) -> SetlAmounts {
                SetlAmounts {
                    $( $field: SetlField::reversed(self.$field), )*
                }
            }
        }
    };
}

setl_amounts! {
    /// 医疗费总额.
    medfee_sumamt: Fen,
    /// 全自费金额.
    fulamt_ownpay_amt: Fen,
    /// 超限价自费费用.
    overlmt_selfpay: Fen,
    /// 先行自付金额.
    preselfpay_amt: Fen,
    /// 符合政策范围金额 (`E`).
    inscp_scp_amt: Fen,
    /// 实际支付起付线.
    act_pay_dedc: Fen,
    /// 基本医疗保险统筹基金支出.
    hifp_pay: Fen,
    /// 统筹基金自付比例 `1 − r` (N(5,4) on the interface).
    pool_prop_selfpay: Ratio,
    /// 公务员医疗补助资金支出.
    cvlserv_pay: Fen,
    /// 企业补充医疗保险基金支出.
    hifes_pay: Fen,
    /// 居民大病保险资金支出.
    hifmi_pay: Fen,
    /// 职工大额医疗费用补助基金支出.
    hifob_pay: Fen,
    /// 医疗救助基金支出.
    maf_pay: Fen,
    /// 其他支出.
    oth_pay: Fen,
    /// 基金支付总额.
    fund_pay_sumamt: Fen,
    /// 个人负担总金额.
    psn_part_amt: Fen,
    /// 个人账户支出 (includes `acct_mulaid_pay`).
    acct_pay: Fen,
    /// 个人现金支出.
    psn_cash_pay: Fen,
    /// 医院负担金额 (0 at settlement time).
    hosp_part_amt: Fen,
    /// 余额: the own account balance after this record (a balance, not an amount moved: never
    /// negated).
    balc: Fen,
    /// 个人账户共济支付金额.
    acct_mulaid_pay: Fen,
}

impl SetlAmounts {
    /// The amounts of the reversal of these: every amount negated, the ratio kept, and `balc`
    /// kept for the caller to replace with the balance after the money is returned.
    pub fn negated(&self) -> SetlAmounts {
        SetlAmounts {
            balc: self.balc,
            ..self.all_reversed()
        }
    }

    /// The identities of spec section 6 on a settlement or (with every sign turned) a
    /// reversal: the totals add up, the funds sum, the account share and the policy-range funds
    /// stay within their bounds, no amount has the wrong sign, the balance is not negative and
    /// the ratio lies in `[0, 1]`. The engine asserts them, the store asserts them again before
    /// writing, and database CHECKs back them.
    pub fn check_identities(&self, sign: SetlSign) -> Result<(), SettleError> {
        let broken = |identity: &'static str, detail: String| {
            Err(SettleError::InvariantBroken { identity, detail })
        };
        let a = self;
        let factor = sign.factor();
        let classified =
            a.fulamt_ownpay_amt + a.overlmt_selfpay + a.preselfpay_amt + a.inscp_scp_amt;
        if a.medfee_sumamt != classified {
            return broken(
                "medfee_sumamt = fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt",
                format!("{} ≠ {classified}", a.medfee_sumamt),
            );
        }
        let parts = a.fund_pay_sumamt + a.psn_part_amt + a.hosp_part_amt;
        if a.medfee_sumamt != parts {
            return broken(
                "medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt",
                format!("{} ≠ {parts}", a.medfee_sumamt),
            );
        }
        let funds = a.hifp_pay
            + a.cvlserv_pay
            + a.hifes_pay
            + a.hifmi_pay
            + a.hifob_pay
            + a.maf_pay
            + a.oth_pay;
        if a.fund_pay_sumamt != funds {
            return broken(
                "fund_pay_sumamt = sum of the funds",
                format!("{} ≠ {funds}", a.fund_pay_sumamt),
            );
        }
        if a.psn_part_amt != a.acct_pay + a.psn_cash_pay {
            return broken(
                "psn_part_amt = acct_pay + psn_cash_pay",
                format!("{} ≠ {} + {}", a.psn_part_amt, a.acct_pay, a.psn_cash_pay),
            );
        }
        if factor * (a.acct_pay - a.acct_mulaid_pay).0 < 0 {
            return broken(
                "|acct_mulaid_pay| ≤ |acct_pay|",
                format!("{} > {}", a.acct_mulaid_pay, a.acct_pay),
            );
        }
        let policy_range_funds = a.hifp_pay + a.hifob_pay + a.hifmi_pay + a.maf_pay;
        if factor * (a.inscp_scp_amt - policy_range_funds).0 < 0 {
            return broken(
                "|basic + large-amount + serious-illness + assistance| ≤ |inscp_scp_amt|",
                format!("{policy_range_funds} > {}", a.inscp_scp_amt),
            );
        }
        let wrong_sign = self.values().find(|&(name, value)| match value {
            SetlValue::Fen(amount) if name == "balc" => amount.is_negative(),
            SetlValue::Fen(amount) => factor * amount.0 < 0,
            SetlValue::Ratio(_) => false,
        });
        if let Some((name, value)) = wrong_sign {
            return broken(
                match sign {
                    SetlSign::Settlement => "no amount is negative",
                    SetlSign::Reversal => "no reversed amount is positive",
                },
                format!("{name} = {}", value.raw()),
            );
        }
        if !a.pool_prop_selfpay.is_unit() {
            return broken(
                "pool_prop_selfpay in [0, 1]",
                a.pool_prop_selfpay.to_string(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SetlAmounts {
        SetlAmounts {
            medfee_sumamt: Fen(10_000),
            inscp_scp_amt: Fen(10_000),
            hifp_pay: Fen(6_000),
            pool_prop_selfpay: Ratio(400_000),
            fund_pay_sumamt: Fen(6_000),
            psn_part_amt: Fen(4_000),
            acct_pay: Fen(3_000),
            acct_mulaid_pay: Fen(1_000),
            psn_cash_pay: Fen(1_000),
            balc: Fen(500),
            ..SetlAmounts::default()
        }
    }

    #[test]
    fn values_follow_the_interface_order_and_read_back() {
        let amounts = sample();
        let names: Vec<&str> = amounts.values().map(|(name, _)| name).collect();
        let fields: Vec<&str> = SetlAmounts::FIELDS.iter().map(|&(name, _)| name).collect();
        assert_eq!(names, fields);
        assert_eq!(names.first(), Some(&"medfee_sumamt"));
        assert_eq!(names.last(), Some(&"acct_mulaid_pay"));
        let stored: Vec<(&str, i64)> = amounts.values().map(|(n, v)| (n, v.raw())).collect();
        let read = SetlAmounts::try_from_fn(|name, unit| {
            assert_eq!(
                SetlAmounts::FIELDS.iter().find(|f| f.0 == name).unwrap().1,
                unit
            );
            stored
                .iter()
                .find(|(n, _)| *n == name)
                .map(|&(_, raw)| raw)
                .ok_or(name)
        });
        assert_eq!(read, Ok(amounts));
    }

    #[test]
    fn a_reversal_negates_money_and_keeps_the_ratio_and_balance() {
        let amounts = sample();
        let reversed = amounts.negated();
        assert_eq!(reversed.medfee_sumamt, Fen(-10_000));
        assert_eq!(reversed.acct_mulaid_pay, Fen(-1_000));
        assert_eq!(reversed.pool_prop_selfpay, Ratio(400_000));
        assert_eq!(reversed.balc, Fen(500));
        assert_eq!(amounts.check_identities(SetlSign::Settlement), Ok(()));
        assert_eq!(reversed.check_identities(SetlSign::Reversal), Ok(()));
        assert!(reversed.check_identities(SetlSign::Settlement).is_err());
        assert!(amounts.check_identities(SetlSign::Reversal).is_err());
    }

    #[test]
    fn broken_identities_are_named() {
        let mut amounts = sample();
        amounts.psn_cash_pay = Fen(999);
        let err = amounts.check_identities(SetlSign::Settlement).unwrap_err();
        assert!(err
            .to_string()
            .contains("psn_part_amt = acct_pay + psn_cash_pay"));
        let mut amounts = sample();
        amounts.balc = Fen(-1);
        let err = amounts.check_identities(SetlSign::Settlement).unwrap_err();
        assert!(err.to_string().contains("balc = -1"), "{err}");
    }
}
