//! 生育津贴 without a claim (spec enrollment.md §11, issue 13 item 7): every employee's delivery
//! stay settled in a month (`visit_maternity` from 2203A or 2402, a delivery type 1–6) gets the
//! allowance the enrollment engine computes (`yibao_enrollment::maternity_allowance`): the
//! average declared wage of the person's employer that year ÷ 30 × the leave days the region
//! grants for the delivery type (and babies), when the person has the continuous contribution
//! months the region requires. It is paid from the employees' pooled fund of the person's
//! region to the employer (who keeps paying the salary during the leave), under the stay's
//! `MA…` reference; a refusal is recorded with the unmet condition. One decision per stay:
//! running a month again decides nothing new.

use chrono::NaiveDateTime;
use yibao_core_types::Fen;
use yibao_enrollment::{ParamSet, YearMonth};

use crate::error::StoreError;
use crate::{pg, sq, Pool, Store};

/// Ledger kind of a maternity allowance paid.
pub const KIND_MATERNITY_ALLOWANCE: &str = "maternity_allowance";

/// The account an employer's allowances are paid to (outside the funds: money leaves).
pub fn employer_payout_account(emp_no: &str) -> String {
    format!("payout:employer:{emp_no}")
}

/// What a month's run decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaternityReport {
    /// Delivery stays settled in the month and not decided before.
    pub candidates: u64,
    /// Allowances paid.
    pub paid: u64,
    /// Their total.
    pub amount: Fen,
    /// Refusals: the stay and why.
    pub refused: Vec<(String, String)>,
}

impl Store {
    /// Decides and pays the maternity allowances of the delivery stays settled in `month`.
    pub async fn maternity_allowances(
        &self,
        month: YearMonth,
        params: &ParamSet,
        now: NaiveDateTime,
    ) -> Result<MaternityReport, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::maternity_allowances(p, month, params, now).await,
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                sq::maternity_allowances(pool, month, params, now).await
            }
        }
    }
}
