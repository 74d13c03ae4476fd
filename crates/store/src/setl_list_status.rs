//! Settlement list status (4102 `stas_type`), quality-check reads (4104 质控结果) and the month's
//! deadline for corrections: the types, the pure rules, and the [`Store`] methods. The SQL lives
//! in `setl_list_status_tx.rs`.
//!
//! A list version's status is the last of its status rows (`setl_list_status`, append-only), `0`
//! (未提交) when it has none, so a correction (a new 4101A version) starts unsubmitted. The
//! hospital moves its own latest version 0 → 1 (submit, only when its quality checks passed) and
//! 1 → 0 (withdraw); a bureau reviewer moves a submitted version 1 → 2 (审核通过) or 1 → 3 (审核
//! 不通过). A version submitted or approved takes no correction; a rejected one is corrected by a
//! new version.
//!
//! The deadline: a correction or a 4102 change for a settlement made in month M is accepted until
//! day `deadline_day` of month M+1 (inclusive), judged on the day of the request (Beijing time,
//! the server's clock, as settlements are dated).

use chrono::{Datelike, NaiveDate, NaiveDateTime};

use crate::error::StoreError;
use crate::limits;
use crate::setl_list_qc::{QcProblem, Severity};
use crate::{Pool, Store};

/// A list's status (`stas_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStatus {
    /// `0` 未提交.
    Unsubmitted,
    /// `1` 已提交.
    Submitted,
    /// `2` 审核通过.
    Approved,
    /// `3` 审核不通过.
    Rejected,
}

impl ListStatus {
    /// The code on the wire and in the database.
    pub fn code(self) -> &'static str {
        match self {
            ListStatus::Unsubmitted => "0",
            ListStatus::Submitted => "1",
            ListStatus::Approved => "2",
            ListStatus::Rejected => "3",
        }
    }

    /// Reads a code (`0`–`3`).
    pub fn parse(code: &str) -> Option<ListStatus> {
        match code {
            "0" => Some(ListStatus::Unsubmitted),
            "1" => Some(ListStatus::Submitted),
            "2" => Some(ListStatus::Approved),
            "3" => Some(ListStatus::Rejected),
            _ => None,
        }
    }

    /// The Chinese name.
    pub fn name(self) -> &'static str {
        match self {
            ListStatus::Unsubmitted => "未提交",
            ListStatus::Submitted => "已提交",
            ListStatus::Approved => "审核通过",
            ListStatus::Rejected => "审核不通过",
        }
    }
}

/// The region's day of the following month until which a month's lists may change
/// (`[setl_list] deadline_day`, 1–28; 10 when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetlListDeadline(u32);

/// The default deadline day.
pub const DEADLINE_DAY_DEFAULT: u32 = 10;

impl SetlListDeadline {
    /// A deadline day, 1 to 28 (every month has it).
    pub fn new(day: u32) -> Result<Self, String> {
        if (1..=28).contains(&day) {
            Ok(Self(day))
        } else {
            Err(format!("{day} is not a day from 1 to 28"))
        }
    }

    /// The day.
    pub fn day(self) -> u32 {
        self.0
    }

    /// The last day a list of a settlement made on `setl_date` may change: day `deadline_day`
    /// of the following month.
    pub fn last_day(self, setl_date: NaiveDate) -> NaiveDate {
        let (year, month) = match setl_date.month() {
            12 => (setl_date.year() + 1, 1),
            month => (setl_date.year(), month + 1),
        };
        NaiveDate::from_ymd_opt(year, month, self.0).expect("days 1 to 28 exist in every month")
    }

    /// Refuses a change on `today` to a list of a settlement made on `setl_date` after the
    /// deadline, naming the field, the settlement month and the deadline date.
    pub fn check(
        self,
        field: &str,
        setl_date: NaiveDate,
        today: NaiveDate,
    ) -> Result<(), StoreError> {
        let last = self.last_day(setl_date);
        if today > last {
            return Err(StoreError::refused(
                field,
                format!(
                    "the lists of settlements of {} could change until {last}; the deadline has passed",
                    setl_date.format("%Y-%m")
                ),
            ));
        }
        Ok(())
    }
}

impl Default for SetlListDeadline {
    fn default() -> Self {
        Self(DEADLINE_DAY_DEFAULT)
    }
}

/// Who changes a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusActor {
    /// The list's institution, by 4102 (its message id is kept, and a replay answers the same).
    Institution {
        /// `msgid`.
        msgid: String,
    },
    /// A bureau reviewer (staff id), with a reason.
    Staff {
        /// The staff account.
        staff_id: i64,
        /// Why.
        reason: String,
    },
}

/// A 4102 request: which list (the latest version of `setl_id`'s list, or the version
/// `setl_list_id`, which must then be the latest) and the status wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChangeRequest {
    /// `setl_list_id`, when sent.
    pub setl_list_id: Option<String>,
    /// `setl_id`, when sent.
    pub setl_id: Option<String>,
    /// `stas_type` as sent (checked by the store: 0 or 1 from a hospital).
    pub stas_type: String,
    /// The region's deadline (set by the server, not part of the message).
    pub deadline: SetlListDeadline,
}

/// What a status change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChanged {
    /// The version changed.
    pub setl_list_id: String,
    /// Its settlement.
    pub setl_id: String,
    /// The status before.
    pub from: ListStatus,
    /// The status now.
    pub to: ListStatus,
    /// When (the first time, on a replay).
    pub changed_at: NaiveDateTime,
}

/// Which of its lists an institution asks about in 4104 (latest versions, or one version).
#[derive(Debug, Clone, Default)]
pub struct QcQuery {
    /// Only this settlement's list.
    pub setl_id: Option<String>,
    /// Only this version (any version of the institution's, not only the latest).
    pub setl_list_id: Option<String>,
    /// Uploaded on or after this day.
    pub begin_date: Option<NaiveDate>,
    /// Uploaded on or before this day.
    pub end_date: Option<NaiveDate>,
    /// 1-based page.
    pub page_num: i64,
    /// Rows per page, at most [`limits::SETL_LIST_PAGE_ROWS_MAX`].
    pub page_size: i64,
}

/// One list version with its status and quality checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QcView {
    /// `setl_list_id`.
    pub setl_list_id: String,
    /// The institution.
    pub fixmedins_code: String,
    /// `setl_id`.
    pub setl_id: String,
    /// `mdtrt_id`.
    pub mdtrt_id: String,
    /// `psn_no`.
    pub psn_no: String,
    /// The version.
    pub version: i64,
    /// When it was uploaded.
    pub uploaded_at: NaiveDateTime,
    /// The settlement's day.
    pub setl_date: NaiveDate,
    /// Its status now.
    pub status: ListStatus,
    /// The DRG group's status (`grouped` …) and code.
    pub group_status: String,
    /// The DRG code (`0000` when none).
    pub drg: String,
    /// Whether its quality checks passed.
    pub passed: bool,
    /// When they ran.
    pub checked_at: NaiveDateTime,
    /// The problems found.
    pub problems: Vec<QcProblem>,
}

/// Which lists bureau staff ask for.
#[derive(Debug, Clone, Default)]
pub struct StaffListQuery {
    /// Only this institution's.
    pub fixmedins_code: Option<String>,
    /// Only lists in this status.
    pub status: Option<ListStatus>,
    /// Only settlements of this month (`YYYY-MM`, checked by the caller).
    pub month: Option<(i32, u32)>,
    /// Rows at most ([`limits::SETL_LIST_PAGE_ROWS_MAX`]).
    pub limit: i64,
}

/// The one change a hospital may ask for from `from`, or why not.
pub fn institution_transition(
    from: ListStatus,
    to: ListStatus,
    qc_passed: bool,
    blocking: &str,
) -> Result<(), StoreError> {
    use ListStatus::*;
    match (from, to) {
        (_, Approved | Rejected) => Err(StoreError::bad(
            "data.stas_type",
            format!(
                "{} ({}) is set by the bureau's review, not by the institution",
                to.code(),
                to.name()
            ),
        )),
        (from, to) if from == to => Err(StoreError::refused(
            "data.stas_type",
            format!("the list is already {} ({})", to.code(), to.name()),
        )),
        (Unsubmitted, Submitted) if !qc_passed => Err(StoreError::refused(
            "data.stas_type",
            format!("the list failed its quality checks and cannot be submitted: {blocking}"),
        )),
        (Unsubmitted, Submitted) | (Submitted, Unsubmitted) => Ok(()),
        (Approved, _) => Err(StoreError::refused(
            "data.stas_type",
            "the list was approved (审核通过) and no longer changes",
        )),
        (Rejected, _) => Err(StoreError::refused(
            "data.stas_type",
            "the list was rejected (审核不通过): upload a corrected version (4101A)",
        )),
        (from, to) => Err(StoreError::refused(
            "data.stas_type",
            format!("{} cannot become {}", from.code(), to.code()),
        )),
    }
}

/// The review decision of a bureau reviewer: only a submitted list is reviewed.
pub fn review_transition(from: ListStatus, approve: bool) -> Result<ListStatus, StoreError> {
    if from != ListStatus::Submitted {
        return Err(StoreError::refused(
            "setl_list_id",
            format!(
                "the list is {} ({}); only a submitted (1) list is reviewed",
                from.code(),
                from.name()
            ),
        ));
    }
    Ok(if approve {
        ListStatus::Approved
    } else {
        ListStatus::Rejected
    })
}

/// Whether a list in `status` takes a correction (a new 4101A version).
pub fn correction_allowed(status: ListStatus) -> Result<(), StoreError> {
    match status {
        ListStatus::Unsubmitted | ListStatus::Rejected => Ok(()),
        ListStatus::Submitted => Err(StoreError::refused(
            "setlinfo.setl_id",
            "the list is submitted (1): withdraw it (4102 stas_type 0) before correcting it",
        )),
        ListStatus::Approved => Err(StoreError::refused(
            "setlinfo.setl_id",
            "the list was approved (审核通过) and takes no correction",
        )),
    }
}

fn check_page(page_num: i64, page_size: i64) -> Result<(), StoreError> {
    if page_num < 1 {
        return Err(StoreError::bad("data.page_num", "must be at least 1"));
    }
    if page_num > i64::MAX / limits::SETL_LIST_PAGE_ROWS_MAX {
        return Err(StoreError::bad("data.page_num", "is too large"));
    }
    if !(1..=limits::SETL_LIST_PAGE_ROWS_MAX).contains(&page_size) {
        return Err(StoreError::bad(
            "data.page_size",
            format!("must be within 1..={}", limits::SETL_LIST_PAGE_ROWS_MAX),
        ));
    }
    Ok(())
}

fn check_id(field: &str, value: &Option<String>) -> Result<(), StoreError> {
    if let Some(value) = value {
        if value.is_empty() || value.chars().count() > limits::ID_CHARS_MAX {
            return Err(StoreError::bad(
                field,
                format!("must be 1 to {} characters", limits::ID_CHARS_MAX),
            ));
        }
    }
    Ok(())
}

/// The severity stored for a problem, read back.
pub(crate) fn severity_of(text: &str) -> Result<Severity, StoreError> {
    Severity::parse(text)
        .ok_or_else(|| StoreError::Invariant(format!("stored QC severity {text:?}")))
}

/// A stored status, read back.
pub(crate) fn status_of(text: &str) -> Result<ListStatus, StoreError> {
    ListStatus::parse(text)
        .ok_or_else(|| StoreError::Invariant(format!("stored list status {text:?}")))
}

impl Store {
    /// 4102: `fixmedins_code` changes the status of its own latest list version, as of `now`
    /// (the request's time). Idempotent by `msgid`: a replay of the same change answers the first
    /// result and writes nothing; the same `msgid` for another change is refused.
    pub async fn change_setl_list_status(
        &self,
        fixmedins_code: &str,
        msgid: &str,
        request: &StatusChangeRequest,
        now: NaiveDateTime,
    ) -> Result<StatusChanged, StoreError> {
        check_id("data.setl_list_id", &request.setl_list_id)?;
        check_id("data.setl_id", &request.setl_id)?;
        if request.setl_list_id.is_none() && request.setl_id.is_none() {
            return Err(StoreError::bad(
                "data.setl_list_id",
                "is required (or setl_id)",
            ));
        }
        let to = ListStatus::parse(&request.stas_type).ok_or_else(|| {
            StoreError::bad(
                "data.stas_type",
                format!(
                    "`{}` is not a status (0 未提交, 1 已提交; 2 and 3 are the bureau's)",
                    request.stas_type
                ),
            )
        })?;
        if matches!(to, ListStatus::Approved | ListStatus::Rejected) {
            institution_transition(ListStatus::Submitted, to, true, "")?;
        }
        macro_rules! run {
            ($m:ident, $p:expr) => {
                $m::setl_list_change_status($p, fixmedins_code, msgid, request, to, now).await
            };
        }
        on_backend_writing!(self, StatusChanged, run)
    }

    /// The bureau's review of a submitted list version: approve (2) or reject (3), by
    /// `staff_id` with a reason, as of `now`.
    pub async fn review_setl_list(
        &self,
        setl_list_id: &str,
        approve: bool,
        staff_id: i64,
        reason: &str,
        now: NaiveDateTime,
    ) -> Result<StatusChanged, StoreError> {
        check_id("setl_list_id", &Some(setl_list_id.to_owned()))?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > limits::TEXT_CHARS_MAX {
            return Err(StoreError::bad(
                "reason",
                format!("must be 1 to {} characters", limits::TEXT_CHARS_MAX),
            ));
        }
        macro_rules! run {
            ($m:ident, $p:expr) => {
                $m::setl_list_review($p, setl_list_id, approve, staff_id, reason, now).await
            };
        }
        on_backend_writing!(self, StatusChanged, run)
    }

    /// 4104: the institution's list versions matching `query` with their status and quality
    /// checks, newest first. Only `fixmedins_code`'s own lists are seen.
    pub async fn setl_list_qc(
        &self,
        fixmedins_code: &str,
        query: &QcQuery,
    ) -> Result<Vec<QcView>, StoreError> {
        check_page(query.page_num, query.page_size)?;
        check_id("data.setl_id", &query.setl_id)?;
        check_id("data.setl_list_id", &query.setl_list_id)?;
        if let (Some(begin), Some(end)) = (query.begin_date, query.end_date) {
            if end < begin {
                return Err(StoreError::bad("data.enddate", "is before begndate"));
            }
        }
        match &self.inner.pool {
            Pool::Pg(p) => {
                crate::pg::setl_list_qc_views(p, Some(fixmedins_code), query, None).await
            }
            Pool::Sq { pool, .. } => {
                crate::sq::setl_list_qc_views(pool, Some(fixmedins_code), query, None).await
            }
        }
    }

    /// Staff: the latest list versions of every institution (or one), by status and settlement
    /// month, with their quality checks, newest first.
    pub async fn setl_lists_for_staff(
        &self,
        query: &StaffListQuery,
    ) -> Result<Vec<QcView>, StoreError> {
        if !(1..=limits::SETL_LIST_PAGE_ROWS_MAX).contains(&query.limit) {
            return Err(StoreError::bad(
                "limit",
                format!("must be within 1..={}", limits::SETL_LIST_PAGE_ROWS_MAX),
            ));
        }
        let qc = QcQuery {
            page_num: 1,
            page_size: query.limit,
            ..QcQuery::default()
        };
        let code = query.fixmedins_code.as_deref();
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::setl_list_qc_views(p, code, &qc, Some(query)).await,
            Pool::Sq { pool, .. } => {
                crate::sq::setl_list_qc_views(pool, code, &qc, Some(query)).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_deadline_is_day_d_of_the_next_month_inclusive() {
        let d = SetlListDeadline::default();
        assert_eq!(d.day(), 10);
        assert_eq!(d.last_day(day("2026-03-31")), day("2026-04-10"));
        assert_eq!(d.last_day(day("2026-12-01")), day("2027-01-10"));
        assert!(d.check("f", day("2026-03-05"), day("2026-04-10")).is_ok());
        assert_eq!(
            d.check("f", day("2026-03-05"), day("2026-04-11"))
                .unwrap_err()
                .to_string(),
            "f: the lists of settlements of 2026-03 could change until 2026-04-10; the deadline has passed"
        );
        let d28 = SetlListDeadline::new(28).unwrap();
        assert_eq!(d28.last_day(day("2026-01-31")), day("2026-02-28"));
        assert!(SetlListDeadline::new(0).is_err());
        assert!(SetlListDeadline::new(29).is_err());
    }

    #[test]
    fn transitions_in_order_of_precedence() {
        use ListStatus::*;
        let t = |from, to, passed| {
            institution_transition(from, to, passed, "QC09 x: y").map_err(|e| e.to_string())
        };
        assert_eq!(t(Unsubmitted, Submitted, true), Ok(()));
        assert_eq!(t(Submitted, Unsubmitted, false), Ok(()));
        assert!(t(Submitted, Approved, true)
            .unwrap_err()
            .contains("set by the bureau"));
        assert!(t(Submitted, Rejected, true)
            .unwrap_err()
            .contains("data.stas_type"));
        assert!(t(Submitted, Submitted, true)
            .unwrap_err()
            .contains("already 1"));
        assert_eq!(
            t(Unsubmitted, Submitted, false).unwrap_err(),
            "data.stas_type: the list failed its quality checks and cannot be submitted: QC09 x: y"
        );
        assert!(t(Approved, Unsubmitted, true)
            .unwrap_err()
            .contains("approved"));
        assert!(t(Rejected, Submitted, true)
            .unwrap_err()
            .contains("corrected version"));
        assert_eq!(review_transition(Submitted, true).unwrap(), Approved);
        assert_eq!(review_transition(Submitted, false).unwrap(), Rejected);
        assert!(review_transition(Unsubmitted, true).is_err());
        assert!(review_transition(Approved, false).is_err());
        assert!(correction_allowed(Unsubmitted).is_ok());
        assert!(correction_allowed(Rejected).is_ok());
        assert!(correction_allowed(Submitted).is_err());
        assert!(correction_allowed(Approved).is_err());
        for status in [Unsubmitted, Submitted, Approved, Rejected] {
            assert_eq!(ListStatus::parse(status.code()), Some(status));
        }
        assert_eq!(ListStatus::parse("4"), None);
    }
}
