//! Monthly clearing (清算) with institutions and the file exchange of the national interface
//! (spec national-interface.md §1.3, §4.14; guide `docs/INTERFACE.md`).
//!
//! The bureau's totals of a month come from the settlements themselves: for one institution,
//! scheme (`insutype`) and clearing type (`clr_type`), every settlement whose `setl_date` falls in
//! the month counts with its sign, so a reversal is a negative row in the month of its own
//! `setl_date` (a January bill reversed in February lowers February). An institution declares
//! its month (3203, [`ClearingApply`]); the declaration is accepted only when it equals the
//! bureau's totals, field by field, and then stands until withdrawn (3204) or paid: the payment
//! run sets `locked_by_run` on the applications it paid, after which a withdrawal is refused.
//! Everything is append-only: a withdrawal is a row of its own.
//!
//! The file exchange keeps the files institutions upload (9101) and the results of a detail
//! reconciliation (3202) in `exchange_file`, each readable by its owner only, until its
//! `dld_endtime`. The comparison of a detail file with the settlements is
//! [`compare_detail`]; reading and writing the ZIP files is the server's (it holds the wire
//! formats).
//!
//! The clearing messages are idempotent by `msgid` like every other write: the answer is kept in
//! the `idempotency` table in the transaction of the effect, and a replay returns it. A refused
//! message writes nothing. The SQL is in `clearing_tx.rs`.

use chrono::{Datelike as _, NaiveDate, NaiveDateTime};

use crate::error::StoreError;
use crate::{pg, sq, Envelope, Pool, Store};

/// How long a file stays downloadable after it was stored, in hours (the interface's
/// `dld_endtime`): a reconciliation is read the same day; a week leaves room for a holiday.
pub const EXCHANGE_FILE_HOURS: i64 = 7 * 24;

/// Largest file one institution may upload (9101), in bytes. The interface's body limit (1 MiB)
/// is the real bound; this keeps the stored file and its base64 text well inside it.
pub const EXCHANGE_FILE_BYTES_MAX: usize = 768 * 1024;

/// Longest file name kept (表149 `filename`: C 200).
pub const EXCHANGE_FILENAME_CHARS_MAX: usize = 200;

/// A month as `YYYY-MM` (the calendar month of `setl_date`, Beijing time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClearingMonth {
    /// The month's first day.
    first: NaiveDate,
}

impl ClearingMonth {
    /// Reads `YYYY-MM` (or `YYYYMM`), naming `field` in the error.
    pub fn parse(text: &str, field: &str) -> Result<Self, StoreError> {
        let digits: String = text.chars().filter(|c| *c != '-').collect();
        let shaped = (text.len() == 7 && text.as_bytes()[4] == b'-') || text.len() == 6;
        let first = (shaped && digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| NaiveDate::parse_from_str(&format!("{digits}01"), "%Y%m%d").ok())
            .flatten()
            .ok_or_else(|| StoreError::bad(field, format!("`{text}` is not a month YYYY-MM")))?;
        Ok(Self { first })
    }

    /// The month holding `day`.
    pub fn of(day: NaiveDate) -> Self {
        Self {
            first: day.with_day0(0).unwrap_or(day),
        }
    }

    /// The month's first day.
    pub fn first_day(self) -> NaiveDate {
        self.first
    }

    /// The month's last day.
    pub fn last_day(self) -> NaiveDate {
        self.next_first_day().pred_opt().unwrap_or(self.first)
    }

    /// The first day of the next month.
    fn next_first_day(self) -> NaiveDate {
        self.first
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(self.first)
    }

    /// `YYYY-MM`.
    pub fn text(self) -> String {
        self.first.format("%Y-%m").to_string()
    }
}

/// The bureau's totals of one institution, scheme and clearing type over a month (amounts in
/// fen, net of reversals).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClearingTotal {
    /// The institution (`fixmedins_code`).
    pub fixmedins_code: String,
    /// The scheme (`insutype`).
    pub insutype: String,
    /// The clearing type (`clr_type`, 清算类别).
    pub clr_type: String,
    /// 医疗费总额 (`medfee_sumamt`).
    pub medfee_sumamt_fen: i64,
    /// 基金支付总额 (`fund_pay_sumamt`).
    pub fund_pay_sumamt_fen: i64,
    /// 个人账户支出 (`acct_pay`).
    pub acct_pay_fen: i64,
    /// 个人现金支出 (`psn_cash_pay`; the interface's `cash_payamt`).
    pub cash_pay_fen: i64,
    /// 医院负担金额 (`hosp_part_amt`): what the institution bears itself.
    pub hosp_part_fen: i64,
    /// Settlements in the month (rows with sign +1).
    pub settlements: i64,
    /// Reversals in the month (rows with sign −1).
    pub reversals: i64,
}

impl ClearingTotal {
    /// Settlements minus reversals: what `fixmedins_setl_cnt` is compared with.
    pub fn net_count(&self) -> i64 {
        self.settlements - self.reversals
    }
}

/// Where an institution's application for one month, scheme and clearing type stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClearingStatus {
    /// No application was made.
    None,
    /// The latest application was accepted and stands.
    Accepted,
    /// The latest application was withdrawn (3204); the institution may apply again.
    Withdrawn,
}

impl ClearingStatus {
    /// `none`, `accepted` or `withdrawn`.
    pub fn code(self) -> &'static str {
        match self {
            ClearingStatus::None => "none",
            ClearingStatus::Accepted => "accepted",
            ClearingStatus::Withdrawn => "withdrawn",
        }
    }
}

/// One stored application (3203) with its withdrawal (3204), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearingApplication {
    /// 清算申请事件ID, handed out at acceptance.
    pub clr_appy_evt_id: String,
    /// The institution.
    pub fixmedins_code: String,
    /// The month cleared.
    pub month: ClearingMonth,
    /// The scheme.
    pub insutype: String,
    /// The clearing type.
    pub clr_type: String,
    /// 结算经办机构 as declared (the institution's own region).
    pub setl_optins: String,
    /// Declared (and equal to the bureau's at acceptance) 医疗费总额.
    pub medfee_sumamt_fen: i64,
    /// Declared 基金支付总额.
    pub fund_pay_sumamt_fen: i64,
    /// Declared 个人账户支出.
    pub acct_pay_fen: i64,
    /// 现金支付金额: declared, or the bureau's when the institution did not declare it.
    pub cash_payamt_fen: i64,
    /// Declared settlement count (settlements minus reversals).
    pub fixmedins_setl_cnt: i64,
    /// The 3203 message.
    pub msgid: String,
    /// Who sent it (the envelope's `opter`).
    pub opter: String,
    /// The operator's name (`opter_name`).
    pub opter_name: String,
    /// When it was accepted (Beijing time).
    pub created_at: NaiveDateTime,
    /// The payment run that paid it; set, the application can no longer be withdrawn.
    pub locked_by_run: Option<String>,
    /// The withdrawal (3204) message and time, when withdrawn.
    pub withdrawn: Option<(String, NaiveDateTime)>,
}

/// One line of the month-end clearing: an institution, scheme and clearing type with the
/// bureau's totals and the institution's application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearingRow {
    /// The institution (`fixmedins_code`).
    pub fixmedins_code: String,
    /// Its name.
    pub fixmedins_name: String,
    /// Its region (`institution.admdvs`), the bureau that clears it.
    pub admdvs: String,
    /// The scheme (`insutype`).
    pub insutype: String,
    /// The clearing type (`clr_type`).
    pub clr_type: String,
    /// The bureau's totals for the month (all zero when only an application exists, e.g. every
    /// settlement of it was reversed in a later month).
    pub totals: ClearingTotal,
    /// Where the institution's application stands.
    pub status: ClearingStatus,
    /// The latest application (accepted or withdrawn); `None` with [`ClearingStatus::None`].
    pub application: Option<ClearingApplication>,
}

/// 3203 清算申请: the institution's declared totals for a month (amounts in fen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearingApply {
    /// The month.
    pub month: ClearingMonth,
    /// `insutype`.
    pub insutype: String,
    /// `clr_type`.
    pub clr_type: String,
    /// `setl_optins`: the clearing agency, which must be the institution's region.
    pub setl_optins: String,
    /// `medfee_sumamt`.
    pub medfee_sumamt_fen: i64,
    /// `fund_pay_sumamt`.
    pub fund_pay_sumamt_fen: i64,
    /// `acct_pay`.
    pub acct_pay_fen: i64,
    /// `cash_payamt`, when declared (compared like the others).
    pub cash_payamt_fen: Option<i64>,
    /// `fixmedins_setl_cnt`: settlements minus reversals.
    pub fixmedins_setl_cnt: i64,
    /// The envelope's `opter`.
    pub opter: String,
    /// The envelope's `opter_name`.
    pub opter_name: String,
}

/// 3204 撤销清算申请.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearingWithdraw {
    /// The accepted application.
    pub clr_appy_evt_id: String,
    /// The envelope's `opter`.
    pub opter: String,
    /// The envelope's `opter_name`.
    pub opter_name: String,
}

/// What a clearing or file message did; the server renders it into its output node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClearingOutcome {
    /// 3203 accepted.
    Applied {
        /// The new application's id.
        clr_appy_evt_id: String,
        /// The bureau's totals it equals.
        totals: ClearingTotal,
    },
    /// 3204 done.
    Withdrawn {
        /// The withdrawn application.
        clr_appy_evt_id: String,
    },
    /// 9101 or 3202: a file stored.
    FileStored {
        /// 文件查询号.
        file_qury_no: String,
        /// The file's name.
        filename: String,
        /// Downloadable until then (Beijing time).
        dld_endtime: NaiveDateTime,
        /// 3202 only: whether every line agreed (对账结果 `0` 平).
        balanced: Option<bool>,
    },
}

/// The answer to a clearing or file message: the rendered output and whether it is a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearingReply {
    /// The output JSON text (the stored one on a replay).
    pub response: String,
    /// The outcome when the message was executed now; `None` on a replay.
    pub outcome: Option<ClearingOutcome>,
}

/// A stored exchange file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeFile {
    /// 文件查询号.
    pub file_qury_no: String,
    /// The owner.
    pub fixmedins_code: String,
    /// The name given at upload or by the 3202 result.
    pub filename: String,
    /// The bytes.
    pub content: Vec<u8>,
    /// Downloadable until then.
    pub dld_endtime: NaiveDateTime,
}

/// A file to keep: a 9101 upload or a 3202 result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileToStore {
    /// The file's name.
    pub filename: String,
    /// The bytes.
    pub content: Vec<u8>,
    /// `upload` (9101) or `stmt_detail_result` (3202).
    pub kind: FileKind,
    /// 3202: whether every line agreed.
    pub balanced: Option<bool>,
}

/// Why a file is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Uploaded by the institution (9101).
    Upload,
    /// The result of a detail reconciliation (3202).
    StmtDetailResult,
}

impl FileKind {
    /// The stored code.
    pub(crate) fn code(self) -> &'static str {
        match self {
            FileKind::Upload => "upload",
            FileKind::StmtDetailResult => "stmt_detail_result",
        }
    }
}

/// One settlement row of a detail reconciliation (表150 on the institution's side, ours from
/// the settlements): amounts in fen with the row's sign (a reversal is negative).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailRow {
    /// 结算ID (for a reversal, the original settlement's: the file lists a refund as a
    /// positive and a negative row of the same settlement).
    pub setl_id: String,
    /// 就诊ID.
    pub mdtrt_id: String,
    /// 人员编号.
    pub psn_no: String,
    /// 医疗费总额.
    pub medfee_sumamt_fen: i64,
    /// 基金支付总额.
    pub fund_pay_sumamt_fen: i64,
    /// 个人账户支出.
    pub acct_pay_fen: i64,
    /// 退费结算标志: `0` the settlement, `1` its refund (the negative row).
    pub refd_setl_flag: String,
    /// The message that made it (our side: the settlement's or reversal's `msgid`; theirs:
    /// empty).
    pub msgid: String,
}

/// One line of a 3202 result (表151).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailResult {
    /// The row (ours when we have it, else theirs).
    pub row: DetailRow,
    /// `0` 平 or `1` 不平.
    pub balanced: bool,
    /// Why not (empty when balanced).
    pub memo: String,
}

/// Compares an institution's detail rows with ours, row by row, keyed by (`setl_id`,
/// `refd_setl_flag`): a row on one side only is 不平 (missing on ours / on theirs), a row whose
/// amounts or person or visit differ is 不平 naming each difference. The result lists their
/// rows in their order, then ours they do not have, in our order. A key listed twice in their
/// file is 不平 on its second and later lines.
pub fn compare_detail(theirs: &[DetailRow], ours: &[DetailRow]) -> Vec<DetailResult> {
    use std::collections::HashMap;
    let key = |row: &DetailRow| (row.setl_id.clone(), row.refd_setl_flag.clone());
    let by_key: HashMap<_, &DetailRow> = ours.iter().map(|row| (key(row), row)).collect();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(theirs.len().max(ours.len()));
    for row in theirs {
        let k = key(row);
        if !seen.insert(k.clone()) {
            out.push(DetailResult {
                row: row.clone(),
                balanced: false,
                memo: "机构重复上传 (listed twice in the file)".to_owned(),
            });
            continue;
        }
        let Some(mine) = by_key.get(&k) else {
            out.push(DetailResult {
                row: row.clone(),
                balanced: false,
                memo: "中心无此结算 (missing on our side)".to_owned(),
            });
            continue;
        };
        let mut diffs = Vec::new();
        for (name, theirs_text, ours_text) in [
            ("mdtrt_id", &row.mdtrt_id, &mine.mdtrt_id),
            ("psn_no", &row.psn_no, &mine.psn_no),
        ] {
            if theirs_text != ours_text {
                diffs.push(format!("{name} 机构 {theirs_text} ≠ 中心 {ours_text}"));
            }
        }
        for (name, theirs_fen, ours_fen) in [
            (
                "medfee_sumamt",
                row.medfee_sumamt_fen,
                mine.medfee_sumamt_fen,
            ),
            (
                "fund_pay_sumamt",
                row.fund_pay_sumamt_fen,
                mine.fund_pay_sumamt_fen,
            ),
            ("acct_pay", row.acct_pay_fen, mine.acct_pay_fen),
        ] {
            if theirs_fen != ours_fen {
                diffs.push(amount_difference(name, theirs_fen, ours_fen));
            }
        }
        out.push(DetailResult {
            row: (*mine).clone(),
            balanced: diffs.is_empty(),
            memo: diffs.join("; "),
        });
    }
    for row in ours {
        if !seen.contains(&key(row)) {
            out.push(DetailResult {
                row: row.clone(),
                balanced: false,
                memo: "机构未上传 (missing in the institution's file)".to_owned(),
            });
        }
    }
    out
}

/// `name 申报 X ≠ 中心 Y (差 Z)`, the difference being declared minus ours.
pub fn amount_difference(name: &str, declared_fen: i64, ours_fen: i64) -> String {
    format!(
        "{name} 申报 {} ≠ 中心 {} (差 {})",
        crate::engine::render_fen(declared_fen),
        crate::engine::render_fen(ours_fen),
        crate::engine::render_fen(declared_fen.saturating_sub(ours_fen))
    )
}

/// The differences between a declaration and the bureau's totals, one per field, or empty.
pub fn apply_differences(apply: &ClearingApply, totals: &ClearingTotal) -> Vec<String> {
    let mut diffs = Vec::new();
    for (name, declared, ours) in [
        (
            "medfee_sumamt",
            apply.medfee_sumamt_fen,
            totals.medfee_sumamt_fen,
        ),
        (
            "fund_pay_sumamt",
            apply.fund_pay_sumamt_fen,
            totals.fund_pay_sumamt_fen,
        ),
        ("acct_pay", apply.acct_pay_fen, totals.acct_pay_fen),
    ] {
        if declared != ours {
            diffs.push(amount_difference(name, declared, ours));
        }
    }
    if let Some(cash) = apply.cash_payamt_fen {
        if cash != totals.cash_pay_fen {
            diffs.push(amount_difference("cash_payamt", cash, totals.cash_pay_fen));
        }
    }
    if apply.fixmedins_setl_cnt != totals.net_count() {
        diffs.push(format!(
            "fixmedins_setl_cnt 申报 {} ≠ 中心 {} (差 {})",
            apply.fixmedins_setl_cnt,
            totals.net_count(),
            apply.fixmedins_setl_cnt - totals.net_count()
        ));
    }
    diffs
}

/// Runs `$run!(backend_module, pool)` on the store's backend, under the SQLite write lock.
macro_rules! writing {
    ($store:expr, $run:ident) => {
        match &$store.inner.pool {
            Pool::Pg(p) => {
                use crate::pg as b;
                $run!(b, p)
            }
            Pool::Sq { pool, write_lock } => {
                use crate::sq as b;
                let _guard = write_lock.lock().await;
                $run!(b, pool)
            }
        }
    };
}

impl Store {
    /// The bureau's totals of `month` per institution × scheme × clearing type, net of
    /// reversals (see the module docs), for one institution or all; sorted by institution,
    /// scheme, clearing type.
    pub async fn clearing_totals(
        &self,
        fixmedins_code: Option<&str>,
        month: &str,
    ) -> Result<Vec<ClearingTotal>, StoreError> {
        let month = ClearingMonth::parse(month, "month")?;
        let (from, until) = (month.first_day(), month.next_first_day());
        match &self.inner.pool {
            Pool::Pg(p) => pg::clearing_totals(p, fixmedins_code, from, until, None).await,
            Pool::Sq { pool, .. } => {
                sq::clearing_totals(pool, fixmedins_code, from, until, None).await
            }
        }
    }

    /// Every institution × scheme × clearing type of `month` that has settlements or an
    /// application, with the bureau's totals and where the application stands, for one region
    /// (`institution.admdvs`) or all; sorted by institution, scheme, clearing type. What the
    /// month end clears.
    pub async fn clearing_month(
        &self,
        admdvs: Option<&str>,
        month: &str,
    ) -> Result<Vec<ClearingRow>, StoreError> {
        let month = ClearingMonth::parse(month, "month")?;
        let (from, until) = (month.first_day(), month.next_first_day());
        let (totals, applications) = match &self.inner.pool {
            Pool::Pg(p) => (
                pg::clearing_totals(p, None, from, until, admdvs).await?,
                pg::clearing_applications(p, &month.text(), admdvs).await?,
            ),
            Pool::Sq { pool, .. } => (
                sq::clearing_totals(pool, None, from, until, admdvs).await?,
                sq::clearing_applications(pool, &month.text(), admdvs).await?,
            ),
        };
        let mut rows: std::collections::BTreeMap<(String, String, String), ClearingRow> =
            std::collections::BTreeMap::new();
        let cache = self.cache();
        for total in totals {
            let key = (
                total.fixmedins_code.clone(),
                total.insutype.clone(),
                total.clr_type.clone(),
            );
            let row = rows.entry(key).or_insert_with(|| {
                empty_row(
                    &cache,
                    &total.fixmedins_code,
                    &total.insutype,
                    &total.clr_type,
                )
            });
            row.totals = total;
        }
        // Applications come sorted by attempt: the last one of a key is the one that stands.
        for application in applications {
            let key = (
                application.fixmedins_code.clone(),
                application.insutype.clone(),
                application.clr_type.clone(),
            );
            let row = rows.entry(key).or_insert_with(|| {
                empty_row(
                    &cache,
                    &application.fixmedins_code,
                    &application.insutype,
                    &application.clr_type,
                )
            });
            row.status = if application.withdrawn.is_some() {
                ClearingStatus::Withdrawn
            } else {
                ClearingStatus::Accepted
            };
            row.application = Some(application);
        }
        Ok(rows.into_values().collect())
    }

    /// The applications of `month` for one institution (every attempt, withdrawn ones too), in
    /// the order they were made.
    pub async fn clearing_applications(
        &self,
        fixmedins_code: &str,
        month: ClearingMonth,
    ) -> Result<Vec<ClearingApplication>, StoreError> {
        let all = match &self.inner.pool {
            Pool::Pg(p) => pg::clearing_applications(p, &month.text(), None).await?,
            Pool::Sq { pool, .. } => sq::clearing_applications(pool, &month.text(), None).await?,
        };
        Ok(all
            .into_iter()
            .filter(|a| a.fixmedins_code == fixmedins_code)
            .collect())
    }

    /// The stored answer of a clearing or file message already executed with this msgid, or
    /// `None`; the same msgid with other content is [`StoreError::MsgidConflict`].
    pub async fn clearing_replay(&self, env: &Envelope) -> Result<Option<String>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::clearing_replay(p, env).await,
            Pool::Sq { pool, .. } => sq::clearing_replay(pool, env).await,
        }
    }

    /// 3203: accepts the institution's declaration when it equals the bureau's totals of the
    /// month, field by field; else refuses it (`Refused` on `clr_type`, listing every
    /// difference) and writes nothing. Refused too: a month not begun, a `setl_optins` other
    /// than the institution's region, and a second application while one stands.
    pub async fn clearing_apply(
        &self,
        env: &Envelope,
        apply: &ClearingApply,
        render: &(dyn Fn(&ClearingOutcome) -> String + Send + Sync),
    ) -> Result<ClearingReply, StoreError> {
        let institution = self
            .institution_by_code(&env.fixmedins_code)
            .ok_or_else(|| StoreError::NotFound {
                field: "fixmedins_code".into(),
                value: env.fixmedins_code.clone(),
            })?;
        if apply.setl_optins != institution.admdvs {
            return Err(StoreError::bad(
                "setl_optins",
                format!(
                    "`{}` is not the clearing agency of institution {} ({})",
                    apply.setl_optins, institution.fixmedins_code, institution.admdvs
                ),
            ));
        }
        if apply.month > ClearingMonth::of(env.now.date()) {
            return Err(StoreError::bad(
                "clr_ym",
                format!("{} has not begun", apply.month.text()),
            ));
        }
        let id = self.inner.ids.next('C');
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::clearing_apply($p, env, apply, &id, render).await
            };
        }
        writing!(self, run)
    }

    /// 3204: withdraws an accepted application of the institution; refused when it is not the
    /// institution's, already withdrawn, or paid (`locked_by_run` set).
    pub async fn clearing_withdraw(
        &self,
        env: &Envelope,
        withdraw: &ClearingWithdraw,
        render: &(dyn Fn(&ClearingOutcome) -> String + Send + Sync),
    ) -> Result<ClearingReply, StoreError> {
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::clearing_withdraw($p, env, withdraw, render).await
            };
        }
        writing!(self, run)
    }

    /// 9101 and 3202: keeps a file for the institution, downloadable until
    /// [`EXCHANGE_FILE_HOURS`] after `env.now`, with the message's idempotency record.
    pub async fn exchange_store(
        &self,
        env: &Envelope,
        file: &FileToStore,
        render: &(dyn Fn(&ClearingOutcome) -> String + Send + Sync),
    ) -> Result<ClearingReply, StoreError> {
        if file.content.len() > EXCHANGE_FILE_BYTES_MAX {
            return Err(StoreError::bad(
                "in",
                format!(
                    "the file has {} bytes, more than {EXCHANGE_FILE_BYTES_MAX}",
                    file.content.len()
                ),
            ));
        }
        if file.filename.trim().is_empty()
            || file.filename.chars().count() > EXCHANGE_FILENAME_CHARS_MAX
        {
            return Err(StoreError::bad(
                "filename",
                format!("is required, at most {EXCHANGE_FILENAME_CHARS_MAX} characters"),
            ));
        }
        let id = self.inner.ids.next('F');
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::exchange_store($p, env, file, &id, render).await
            };
        }
        writing!(self, run)
    }

    /// 9102 and 3202: the file `file_qury_no` for its owner `fixmedins_code`, while it is
    /// downloadable at `now`. Another institution's file is reported as absent.
    pub async fn exchange_file(
        &self,
        fixmedins_code: &str,
        file_qury_no: &str,
        now: NaiveDateTime,
    ) -> Result<ExchangeFile, StoreError> {
        let file = match &self.inner.pool {
            Pool::Pg(p) => pg::exchange_file(p, file_qury_no).await?,
            Pool::Sq { pool, .. } => sq::exchange_file(pool, file_qury_no).await?,
        };
        let file = file
            .filter(|file| file.fixmedins_code == fixmedins_code)
            .ok_or_else(|| StoreError::NotFound {
                field: "file_qury_no".into(),
                value: file_qury_no.to_owned(),
            })?;
        if now > file.dld_endtime {
            return Err(StoreError::refused(
                "file_qury_no",
                format!(
                    "{file_qury_no} could be downloaded until {}",
                    file.dld_endtime.format("%Y-%m-%d %H:%M:%S")
                ),
            ));
        }
        Ok(file)
    }

    /// Our settlement rows of a detail reconciliation: the institution's settlements with
    /// `setl_date` in `[begndate, enddate]` of `clr_type` (and `insutype` when given), a
    /// reversal as the negative row of its original's `setl_id` with `refd_setl_flag` `1`;
    /// in settlement order.
    pub async fn stmt_detail_rows(
        &self,
        fixmedins_code: &str,
        begndate: NaiveDate,
        enddate: NaiveDate,
        clr_type: &str,
        insutype: Option<&str>,
    ) -> Result<Vec<DetailRow>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => {
                pg::stmt_detail_rows(p, fixmedins_code, begndate, enddate, clr_type, insutype).await
            }
            Pool::Sq { pool, .. } => {
                sq::stmt_detail_rows(pool, fixmedins_code, begndate, enddate, clr_type, insutype)
                    .await
            }
        }
    }

    /// Rows of the clearing tables (`exchange_file`, `clearing_application`,
    /// `clearing_withdrawal`), to show a refused message wrote nothing.
    pub async fn clearing_row_counts(&self) -> Result<Vec<(&'static str, i64)>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::clearing_row_counts(p).await,
            Pool::Sq { pool, .. } => sq::clearing_row_counts(pool).await,
        }
    }
}

fn empty_row(
    cache: &crate::registry::RegistryCache,
    code: &str,
    insutype: &str,
    clr_type: &str,
) -> ClearingRow {
    let institution = cache.institutions.get(code);
    ClearingRow {
        fixmedins_code: code.to_owned(),
        fixmedins_name: institution
            .map(|i| i.fixmedins_name.clone())
            .unwrap_or_default(),
        admdvs: institution.map(|i| i.admdvs.clone()).unwrap_or_default(),
        insutype: insutype.to_owned(),
        clr_type: clr_type.to_owned(),
        totals: ClearingTotal {
            fixmedins_code: code.to_owned(),
            insutype: insutype.to_owned(),
            clr_type: clr_type.to_owned(),
            ..ClearingTotal::default()
        },
        status: ClearingStatus::None,
        application: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(setl_id: &str, flag: &str, medfee: i64) -> DetailRow {
        DetailRow {
            setl_id: setl_id.into(),
            mdtrt_id: format!("M{setl_id}"),
            psn_no: "P1".into(),
            medfee_sumamt_fen: medfee,
            fund_pay_sumamt_fen: medfee / 2,
            acct_pay_fen: 0,
            refd_setl_flag: flag.into(),
            msgid: String::new(),
        }
    }

    #[test]
    fn months_parse_and_bound() {
        let m = ClearingMonth::parse("2026-02", "m").unwrap();
        assert_eq!(m.text(), "2026-02");
        assert_eq!(m.last_day().to_string(), "2026-02-28");
        assert_eq!(
            ClearingMonth::parse("202612", "m").unwrap().text(),
            "2026-12"
        );
        for bad in ["2026-13", "2026-1", "26-01", "2026/01", "", "2026-001"] {
            assert!(ClearingMonth::parse(bad, "m").is_err(), "{bad}");
        }
    }

    #[test]
    fn detail_comparison_names_each_difference() {
        let ours = vec![
            row("S1", "0", 100),
            row("S2", "0", 200),
            row("S2", "1", -200),
        ];
        let theirs = vec![
            row("S1", "0", 100),
            row("S2", "0", 250),
            row("S9", "0", 10),
            row("S1", "0", 100),
        ];
        let result = compare_detail(&theirs, &ours);
        let summary: Vec<_> = result
            .iter()
            .map(|r| {
                (
                    r.row.setl_id.as_str(),
                    r.row.refd_setl_flag.as_str(),
                    r.balanced,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("S1", "0", true),
                ("S2", "0", false),
                ("S9", "0", false),
                ("S1", "0", false),
                ("S2", "1", false)
            ]
        );
        assert_eq!(
            result[1].memo,
            "medfee_sumamt 申报 2.50 ≠ 中心 2.00 (差 0.50); fund_pay_sumamt 申报 1.25 ≠ 中心 1.00 (差 0.25)"
        );
        assert!(result[2].memo.contains("missing on our side"));
        assert!(result[4].memo.contains("missing in the institution's file"));
    }
}
