//! Personal accounts (个人账户) on the store (spec enrollment.md §3.8, §6; guide
//! `docs/PERSONAL-ACCOUNTS.md`): a person's statement read from the ledger, and the payouts the
//! region's policy allows — a withdrawal (支取) of a person settling abroad or of a dead person's
//! estate, and inheritance (继承) by heirs by share. The rules are the enrollment engine's
//! ([`yibao_enrollment::personal_account`]); the SQL is in `personal_account_tx.rs`.
//!
//! Money only moves by ledger transfers under the payout's id: `personal:PSN` → the person's
//! payout account (`payout:person:PSN`, the bank pays from it) for a withdrawal; for an
//! inheritance each heir's part goes to the heir's own personal account when the heir has one
//! (an insured employee), else to the heir's payout account, and the dead person's account is
//! zero afterwards. A person is inherited once: the same heirs again return the stored payout
//! and pay nothing; other heirs are refused.

use chrono::{NaiveDate, NaiveDateTime};
use yibao_core_types::Fen;
use yibao_enrollment::personal_account::{HeirClaim, PayoutReason, HEIR_SHARE_MAX};
use yibao_enrollment::ParamSet;

use crate::error::StoreError;
use crate::{pg, sq, Pool, Store};

/// Transfer kind of a withdrawal (personal account → the person's payout account).
pub const KIND_ACCT_WITHDRAWAL: &str = "acct_withdrawal";
/// Transfer kind of an heir's part (dead person's account → the heir's account or payout).
pub const KIND_ACCT_INHERITANCE: &str = "acct_inheritance";
/// The longest evidence reference or bank account a payout may carry, in characters.
pub const PAYOUT_TEXT_MAX: usize = 200;
/// Entries one statement lists; earlier ones are carried into its opening balance.
pub const STATEMENT_ENTRIES_MAX: usize = 5_000;

/// A withdrawal asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalRequest {
    /// The account holder.
    pub psn_no: String,
    /// Why.
    pub reason: PayoutReason,
    /// The amount; `None` for the whole balance (the only choice unless the region allows
    /// partial withdrawals).
    pub amount: Option<Fen>,
    /// The bank account the payout is paid to (required).
    pub bank_account: String,
    /// The document it rests on: a deregistration (出国定居注销户口) or death certificate number
    /// (required).
    pub evidence: String,
    /// Who decides (a staff account's name, or `cli:NAME`).
    pub actor: String,
    /// The local day the rules are judged on and the ledger books it on.
    pub today: NaiveDate,
}

/// An inheritance asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InheritanceRequest {
    /// The dead account holder.
    pub psn_no: String,
    /// The heirs and their shares, in the order given (the order breaks ties of the split).
    pub heirs: Vec<HeirClaim>,
    /// The bank account cash parts are paid to (may be empty when every heir has an account).
    pub bank_account: String,
    /// The document it rests on (the inheritance certificate, 继承公证书) (required).
    pub evidence: String,
    /// Who decides.
    pub actor: String,
    /// The local day the rules are judged on and the ledger books it on.
    pub today: NaiveDate,
}

/// One line of a payout: the person (a withdrawal) or one heir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutLine {
    /// From 1.
    pub seq: i64,
    /// The heir; `None` for a withdrawal.
    pub heir_psn_no: Option<String>,
    /// The heir's share (1 for a withdrawal).
    pub share: i64,
    /// The amount (0 for an heir a split left without a fen).
    pub amount: Fen,
    /// The ledger account credited.
    pub paid_to: String,
}

/// A payout written (or, for a repeated inheritance, the one stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutDone {
    /// `W:PSN_NO:N` or `I:PSN_NO`.
    pub payout_id: String,
    /// The account holder.
    pub psn_no: String,
    /// `withdrawal` or `inheritance`.
    pub kind: String,
    /// The reason's key (`abroad`, `death`, …).
    pub reason: String,
    /// The parameter that allowed it.
    pub rule: String,
    /// The parameter set.
    pub params_id: String,
    /// The whole amount paid out.
    pub amount: Fen,
    /// Where it went.
    pub lines: Vec<PayoutLine>,
    /// The bank account recorded.
    pub bank_account: String,
    /// The evidence recorded.
    pub evidence: String,
    /// Who decided.
    pub decided_by: String,
    /// When (`YYYY-MM-DD HH:MM:SS`).
    pub decided_at: String,
    /// The ledger's day (`YYYY-MM-DD`).
    pub booked_on: String,
    /// True when this call wrote nothing and returned the payout stored before.
    pub replayed: bool,
}

/// One movement on a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementEntry {
    /// The transfer's reference: a settlement, an assessment, a payout …
    pub ref_id: String,
    /// The transfer's number under its reference.
    pub seq: i64,
    /// When the referenced record was made, where the ledger knows it (`''` otherwise).
    pub at: String,
    /// The transfer kind (`clct_acct`, `retiree_credit`, `acct`, `mulaid`, `acct_withdrawal` …).
    pub kind: String,
    /// The other account.
    pub counter_account: String,
    /// Positive for a credit, negative for a debit.
    pub amount: Fen,
    /// The balance after it.
    pub balance_after: Fen,
}

/// A person's account statement, checked against the ledger's balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountStatement {
    /// The holder.
    pub psn_no: String,
    /// `personal:PSN_NO`.
    pub account: String,
    /// The balance brought in at import, plus any entries beyond [`STATEMENT_ENTRIES_MAX`].
    pub opening: Fen,
    /// Sum of the credits listed.
    pub credits: Fen,
    /// Sum of the debits listed (positive).
    pub debits: Fen,
    /// Every other movement, oldest first.
    pub entries: Vec<StatementEntry>,
    /// `opening + credits − debits`, equal to the ledger's balance (asserted).
    pub balance: Fen,
    /// The confirmed death date, when there is one (the account is then frozen for payout).
    pub death_date: Option<String>,
    /// The payouts made from the account.
    pub payouts: Vec<PayoutDone>,
}

impl Store {
    /// A person's personal-account statement: the opening balance, every credit and debit from
    /// the ledger's transfers, and the balance, checked against the ledger's balance row (a
    /// difference is a broken invariant). Not found when the person has no personal account.
    pub async fn personal_account_statement(
        &self,
        psn_no: &str,
    ) -> Result<AccountStatement, StoreError> {
        check_text("psn_no", psn_no, true)?;
        match &self.inner.pool {
            Pool::Pg(p) => pg::personal_account_statement(p, psn_no).await,
            Pool::Sq { pool, .. } => sq::personal_account_statement(pool, psn_no).await,
        }
    }

    /// Pays out a personal account (see the module's rules), in one transaction: the payout's
    /// row and line, and its ledger transfer. Refused with the rule's name when the region's
    /// policy does not allow it; nothing is written on any error.
    pub async fn withdraw_personal_account(
        &self,
        request: &WithdrawalRequest,
        params: &ParamSet,
        now: NaiveDateTime,
    ) -> Result<PayoutDone, StoreError> {
        check_text("psn_no", &request.psn_no, true)?;
        check_text("bank_account", &request.bank_account, true)?;
        check_text("evidence", &request.evidence, true)?;
        check_text("actor", &request.actor, true)?;
        if request.amount.is_some_and(|a| a.0 <= 0) {
            return Err(StoreError::bad("amount", "must be positive"));
        }
        macro_rules! run {
            ($m:ident, $p:expr) => {
                $m::withdraw_personal_account($p, request, params, now).await
            };
        }
        on_backend_writing!(self, PayoutDone, run)
    }

    /// Pays a dead person's account to heirs by share (see the module's rules), in one
    /// transaction; the account is zero afterwards. The same heirs again return the stored
    /// payout (`replayed`) and pay nothing; other heirs are refused. Nothing is written on any
    /// error.
    pub async fn inherit_personal_account(
        &self,
        request: &InheritanceRequest,
        params: &ParamSet,
        now: NaiveDateTime,
    ) -> Result<PayoutDone, StoreError> {
        check_text("psn_no", &request.psn_no, true)?;
        check_text("bank_account", &request.bank_account, false)?;
        check_text("evidence", &request.evidence, true)?;
        check_text("actor", &request.actor, true)?;
        if request.heirs.is_empty() {
            return Err(StoreError::bad("heirs", "name at least one heir"));
        }
        for (idx, heir) in request.heirs.iter().enumerate() {
            check_text("heirs", &heir.psn_no, true)?;
            if heir.psn_no == request.psn_no {
                return Err(StoreError::bad(
                    "heirs",
                    format!("{} cannot inherit from themselves", heir.psn_no),
                ));
            }
            if heir.share == 0 || heir.share > HEIR_SHARE_MAX {
                return Err(StoreError::bad(
                    "heirs",
                    format!(
                        "{}'s share {} must be from 1 to {HEIR_SHARE_MAX}",
                        heir.psn_no, heir.share
                    ),
                ));
            }
            if request.heirs[..idx].iter().any(|h| h.psn_no == heir.psn_no) {
                return Err(StoreError::bad(
                    "heirs",
                    format!("{} is named twice", heir.psn_no),
                ));
            }
        }
        macro_rules! run {
            ($m:ident, $p:expr) => {
                $m::inherit_personal_account($p, request, params, now).await
            };
        }
        on_backend_writing!(self, PayoutDone, run)
    }
}

/// A request's text field: trimmed non-empty when `required`, at most [`PAYOUT_TEXT_MAX`]
/// characters.
fn check_text(field: &str, value: &str, required: bool) -> Result<(), StoreError> {
    if required && value.trim().is_empty() {
        return Err(StoreError::bad(field, "is required"));
    }
    if value.chars().count() > PAYOUT_TEXT_MAX {
        return Err(StoreError::bad(
            field,
            format!("at most {PAYOUT_TEXT_MAX} characters"),
        ));
    }
    Ok(())
}

/// The store field a payout refusal of the engine is about.
pub(crate) fn refusal_field(rule: &str, inheritance: bool) -> &'static str {
    match rule {
        "personal_account.heirs_max" => "heirs",
        _ if inheritance => "psn_no",
        "personal_account.balance" | "personal_account.partial_withdrawal" => "amount",
        _ => "reason",
    }
}
