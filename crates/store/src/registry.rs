//! Registry records the interface reads (institutions, persons, accumulators) and the
//! in-memory cache of immutable registry data.

use std::collections::HashMap;
use std::sync::Arc;

/// A designated institution (定点医药机构).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Institution {
    /// `fixmedins_code`.
    pub fixmedins_code: String,
    /// `fixmedins_name`.
    pub fixmedins_name: String,
    /// `fixmedins_type` (`1` hospital, `2` pharmacy).
    pub fixmedins_type: String,
    /// `hosp_lv` (grade; empty for pharmacies).
    pub hosp_lv: String,
    /// `hi_setl_lv` (`1`–`3`).
    pub hi_setl_lv: String,
    /// The institution's kinds a policy may name (`tcm`, `village`, `dual_channel` …).
    pub kinds: Vec<String>,
    /// `admdvs`: the region the institution is in.
    pub admdvs: String,
    /// Whether the institution may transact (`status` 1).
    pub active: bool,
    /// The gateway access key (`_api_access_key`).
    pub access_key: String,
    /// The gateway secret key (HMAC key).
    pub secret_key: String,
}

/// 1101 `baseinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonBase {
    /// `psn_no`.
    pub psn_no: String,
    /// `certno`.
    pub certno: String,
    /// `psn_name`.
    pub psn_name: String,
    /// `gend`.
    pub gend: String,
    /// `brdy`.
    pub brdy: String,
    /// `naty`.
    pub naty: String,
    /// `tel`.
    pub tel: String,
}

/// How a 1101 names the person (就诊凭证, `mdtrt_cert_type` with `mdtrt_cert_no`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonKey {
    /// `psn_no`, or the resident id (`certno`, `mdtrt_cert_type` `02`).
    PsnNoOrCertno(String),
    /// An e-voucher token (医保电子凭证, `01`).
    EcToken(String),
    /// A social security card (社会保障卡, `03`).
    SsCard {
        /// The card number.
        card_no: String,
        /// The chip identification code (`card_sn`), checked when sent.
        card_sn: Option<String>,
    },
}

/// 1101 `insuinfo[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsuranceInfo {
    /// `insutype`.
    pub insutype: String,
    /// `psn_type`.
    pub psn_type: String,
    /// `psn_insu_stas`.
    pub psn_insu_stas: String,
    /// `psn_insu_date` (the relation's `begndate`).
    pub begndate: String,
    /// The relation's `enddate` (empty when open).
    pub enddate: String,
    /// `insuplc_admdvs`.
    pub insuplc_admdvs: String,
    /// `emp_name`.
    pub emp_name: String,
    /// `balc`: the personal account balance (employees), fen.
    pub balc_fen: i64,
}

/// 1101 `idetinfo[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityInfo {
    /// `psn_idet_type`: the `sp_psn_type` of the registry's own rows, the department's code
    /// (e.g. `2303` 低保) of a row a feed gave.
    pub sp_psn_type: String,
    /// `begntime` (date).
    pub begndate: String,
    /// `endtime` (date; empty when open).
    pub enddate: String,
    /// The sharing department, reported in `memo`.
    pub source_dept: String,
}

/// The answer to 1101.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonInfo {
    /// `baseinfo`.
    pub base: PersonBase,
    /// `insuinfo[]`.
    pub insurance: Vec<InsuranceInfo>,
    /// `idetinfo[]`.
    pub identities: Vec<IdentityInfo>,
}

/// A chronic or special outpatient disease recognition (门诊慢特病认定; 5301 `feedetail[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChronicRecognition {
    /// `opsp_dise_code`: the disease code (the visit's `dise_codg` for `med_type` 14).
    pub opsp_dise_code: String,
    /// `opsp_dise_name`.
    pub opsp_dise_name: String,
    /// `begndate`.
    pub begndate: String,
    /// `enddate` (empty when open-ended).
    pub enddate: String,
    /// The designated institution that treats it (empty: any designated institution).
    pub fixmedins_code: String,
}

/// One 5206 `cuminfo[]` row: what one month added to one accumulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CumulativeRow {
    /// `insutype`.
    pub insutype: String,
    /// `year`.
    pub year: i64,
    /// `cum_ym`, `yyyyMM`: the month the row sums.
    pub cum_ym: String,
    /// `cum_type_code`, the national 累计类别代码 (`F0000_BIZ11`, `D310201`, …).
    pub cum_type_code: String,
    /// `cum` in hundredths (N 16,2): fen for amounts, 100 per visit for counts (`C0000_…`).
    pub cum: i64,
}

/// 3201 input (`data`), amounts in fen.
#[derive(Debug, Clone)]
pub struct ReconcileRequest {
    /// `insutype`.
    pub insutype: String,
    /// `clr_type`.
    pub clr_type: String,
    /// `setl_optins`: the insured region whose settlements are reconciled.
    pub setl_optins: String,
    /// `stmt_begndate` (inclusive).
    pub begndate: chrono::NaiveDate,
    /// `stmt_enddate` (inclusive).
    pub enddate: chrono::NaiveDate,
    /// `medfee_sumamt` by the institution's books.
    pub medfee_sumamt_fen: i64,
    /// `fund_pay_sumamt` by the institution's books.
    pub fund_pay_sumamt_fen: i64,
    /// `acct_pay` by the institution's books.
    pub acct_pay_fen: i64,
    /// `fixmedins_setl_cnt` by the institution's books (settlements minus reversals).
    pub fixmedins_setl_cnt: i64,
}

/// 3201 output (`stmtinfo`) with the platform's own totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileResult {
    /// `stmt_rslt` `0` 平 (true) or `1` 不平 (false).
    pub balanced: bool,
    /// `stmt_rslt_dscr`: which totals differ.
    pub description: String,
    /// The platform's `medfee_sumamt`.
    pub medfee_sumamt_fen: i64,
    /// The platform's `fund_pay_sumamt`.
    pub fund_pay_sumamt_fen: i64,
    /// The platform's `acct_pay`.
    pub acct_pay_fen: i64,
    /// The platform's settlement count (settlements minus reversals).
    pub setl_cnt: i64,
    /// The institution's payable from the ledger over the same settlements (must equal the
    /// `medfee_sumamt` total: every fen of a bill is owed to the institution by some account).
    pub ledger_payable_fen: i64,
}

/// Immutable registry data cached in memory (reloaded after an import).
#[derive(Debug, Default)]
pub(crate) struct RegistryCache {
    pub(crate) institutions: HashMap<String, Arc<Institution>>,
    pub(crate) by_access_key: HashMap<String, Arc<Institution>>,
}
