//! The double-entry ledger: account codes, balance shards and the ledger check's report.
//!
//! Money only moves between accounts. A settlement posts one transfer per payer bucket into the
//! institution's account: each fund of the person's scheme and region, the person's own
//! personal account (`acct`), family accounts drawn for mutual aid (`mulaid`) and the patient's
//! cash (`cash`). A reversal posts the same transfers with debit and credit swapped. Opening
//! balances of personal accounts come from the `opening` account at import.

/// The fund account of one fund (`fund_pay_type`) of one insured region.
pub fn fund_account(fund_pay_type: &str, admdvs: &str) -> String {
    format!("fund:{fund_pay_type}:{admdvs}")
}

/// What the platform owes an institution for its settled bills.
pub fn institution_account(fixmedins_code: &str) -> String {
    format!("inst:{fixmedins_code}")
}

/// An employee's personal account (个人账户); never negative.
pub fn personal_account(psn_no: &str) -> String {
    format!("personal:{psn_no}")
}

/// What an institution owes back after confirmed audit cases (recovered from its next
/// payment); goes negative as cases are confirmed.
pub fn receivable_account(fixmedins_code: &str) -> String {
    format!("recv:{fixmedins_code}")
}

/// Money a region's fund recovers from confirmed audit cases (追回).
pub fn recovery_account(admdvs: &str) -> String {
    format!("fund:recovery:{admdvs}")
}

/// Penalties (罚款) a region imposes with confirmed audit cases.
pub fn penalty_account(admdvs: &str) -> String {
    format!("fund:penalty:{admdvs}")
}

/// Transfer kind of a confirmed case's amount owed back.
pub const KIND_RECOVERY: &str = "recovery";
/// Transfer kind of a confirmed case's penalty.
pub const KIND_PENALTY: &str = "penalty";

/// Patients' cash paid at the counter.
pub const CASH_ACCOUNT: &str = "cash:patients";
/// The counter-account of opening balances loaded at import.
pub const OPENING_ACCOUNT: &str = "opening:registry";

/// Transfer kind of a personal-account payment from the person's own account.
pub const KIND_ACCT: &str = "acct";
/// Transfer kind of a personal-account payment from a bound family account (共济).
pub const KIND_MULAID: &str = "mulaid";
/// Transfer kind of the patient's cash payment.
pub const KIND_CASH: &str = "cash";
/// Transfer kind of an opening balance.
pub const KIND_OPENING: &str = "opening";
/// `fund_pay_type` under which personal-account payments appear in `setldetail[]`.
pub const PERSONAL_ACCOUNT_FUND: &str = "310200";

/// The balance shard an update of `account_code` on behalf of `psn_no` goes to. Personal
/// accounts have one shard (their non-negative check needs the whole balance in one row);
/// shared accounts are spread so that settlements of different persons rarely wait on each
/// other.
pub(crate) fn shard(account_code: &str, psn_no: &str) -> i64 {
    if account_code.starts_with("personal:") {
        return 0;
    }
    (person_hash(psn_no) % crate::limits::BALANCE_SHARDS) as i64
}

/// A stable hash of a person number: picks the person's balance shard and their group-commit
/// lane (the lane count divides the shard count, so two lanes never update the same shard).
pub(crate) fn person_hash(psn_no: &str) -> u64 {
    // FNV-1a: stable across processes and versions (unlike the std hasher).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in psn_no.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The result of [`crate::Store::check_ledger`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerReport {
    /// Ledger accounts.
    pub n_accounts: i64,
    /// Transfers.
    pub n_transfers: i64,
    /// Settlements (not counting reversals).
    pub n_settlements: i64,
    /// Reversals.
    pub n_reversals: i64,
    /// Sum of all account balances (must be 0).
    pub balance_sum_fen: i64,
    /// Sum of all transfer amounts.
    pub transferred_fen: i64,
    /// Everything found wrong (empty when the ledger is balanced); at most a few per check.
    pub problems: Vec<String>,
}

impl LedgerReport {
    /// True when no problem was found.
    pub fn is_balanced(&self) -> bool {
        self.problems.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_accounts_have_one_shard_and_others_spread() {
        assert_eq!(shard(&personal_account("P1"), "P1"), 0);
        let shards: std::collections::HashSet<i64> = (0..200)
            .map(|i| shard("fund:310100:140500", &format!("P{i}")))
            .collect();
        assert!(shards.len() > 8, "{shards:?}");
        assert!(shards
            .iter()
            .all(|s| (0..crate::limits::BALANCE_SHARDS as i64).contains(s)));
    }
}
