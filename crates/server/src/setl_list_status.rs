//! 4102 医疗保障基金结算清单信息状态修改 and 4104 质控结果查询 (spec §4.15): the wire nodes, their
//! conversion into the store's requests, and the output nodes. The spec names both without
//! their fields; ours:
//!
//! * 4102 takes `data{setl_list_id, setl_id, stas_type}` (one of the ids; `stas_type` 0 未提交 or
//!   1 已提交 — 2 and 3 are the bureau's review) and answers `data{setl_list_id, setl_id,
//!   stas_type_old, stas_type, chg_time}`. It changes the calling institution's own latest list
//!   version only; a replayed `msgid` answers the first change.
//! * 4104 takes `data{setl_id, setl_list_id, begndate, enddate, page_num, page_size}` (the node
//!   required, every field optional; dates bound the upload day) and answers `qltctrlinfo[]`: each list (its latest
//!   version, or the version named) with its status and its quality-check problems
//!   (`qltctrl_prob[]`).
//!
//! The quality checks of a new version are also answered by 4101A itself ([`qc_node`]).

use serde::{Deserialize, Serialize};
use yibao_store::setl_list_qc::{QcProblem, QcResult};
use yibao_store::setl_list_status::{
    QcQuery, QcView, SetlListDeadline, StatusChangeRequest, StatusChanged,
};

use crate::backend::Request;
use crate::envelope::RequestEnvelope;
use crate::error::AppError;
use crate::wire::check::{decimal, opt_date, opt_text};
use crate::wire::scalar::{Date, Decimal, Node, Opt, Text};

/// Longest id (`setl_list_id`, `setl_id`): C 30.
const ID_CHARS_MAX: usize = 30;

/// 4102 `input`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct StatusInput {
    data: Node<StatusData>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StatusData {
    setl_list_id: Opt<Text>,
    setl_id: Opt<Text>,
    stas_type: Opt<Text>,
}

/// Parses a 4102 message.
pub fn status_request(envelope: &RequestEnvelope<'_>) -> Result<Request, AppError> {
    let data = envelope.parse_input::<StatusInput>()?.data.0;
    let node = "data";
    let setl_list_id = opt_text(&data.setl_list_id, node, "setl_list_id", ID_CHARS_MAX)?;
    let setl_id = opt_text(&data.setl_id, node, "setl_id", ID_CHARS_MAX)?;
    if setl_list_id.is_none() && setl_id.is_none() {
        return Err(AppError::field(
            "input.data.setl_list_id",
            "is required (or setl_id)",
        ));
    }
    let stas_type = opt_text(&data.stas_type, node, "stas_type", 10)?
        .ok_or_else(|| AppError::required("input.data.stas_type"))?;
    Ok(Request::SetlListStatus(StatusChangeRequest {
        setl_list_id,
        setl_id,
        stas_type,
        deadline: SetlListDeadline::default(),
    }))
}

/// Sets the region's deadline on a 4101A or 4102 request (after its fingerprint: the setting is
/// the server's, not the message's).
pub fn apply_deadline(request: &mut Request, deadline: SetlListDeadline) {
    match request {
        Request::SetlListStatus(change) => change.deadline = deadline,
        Request::Write(command) => {
            if let yibao_store::Command::UploadSetlList(list) = command.as_mut() {
                list.deadline = deadline;
            }
        }
        _ => {}
    }
}

/// 4104 `input`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct QcInput {
    /// Required (an empty object asks for every list): a message without it is refused.
    data: Option<QcData>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct QcData {
    setl_id: Opt<Text>,
    setl_list_id: Opt<Text>,
    begndate: Opt<Date>,
    enddate: Opt<Date>,
    page_num: Opt<Decimal<0>>,
    page_size: Opt<Decimal<0>>,
}

/// Parses a 4104 message (page 1 of the largest page when not sent).
pub fn qc_request(envelope: &RequestEnvelope<'_>) -> Result<Request, AppError> {
    let data = envelope
        .parse_input::<QcInput>()?
        .data
        .ok_or_else(|| AppError::required("input.data"))?;
    let node = "data";
    let rows_max = yibao_store::limits::SETL_LIST_PAGE_ROWS_MAX;
    let count = |value: &Opt<Decimal<0>>, max: i64, field: &str| match value.get() {
        None => Ok(None),
        Some(_) => decimal(value, max, node, field, false).map(Some),
    };
    let query = QcQuery {
        setl_id: opt_text(&data.setl_id, node, "setl_id", ID_CHARS_MAX)?,
        setl_list_id: opt_text(&data.setl_list_id, node, "setl_list_id", ID_CHARS_MAX)?,
        begin_date: opt_date(&data.begndate),
        end_date: opt_date(&data.enddate),
        page_num: count(&data.page_num, 1_000_000, "page_num")?.unwrap_or(1),
        page_size: count(&data.page_size, rows_max, "page_size")?.unwrap_or(rows_max),
    };
    if query.page_num < 1 {
        return Err(AppError::field("input.data.page_num", "must be at least 1"));
    }
    if query.page_size < 1 {
        return Err(AppError::field(
            "input.data.page_size",
            "must be at least 1",
        ));
    }
    Ok(Request::QuerySetlListQc(query))
}

/// One problem on the wire (4101A's `qltctrlinfo`, 4104's `qltctrl_prob[]`).
#[derive(Serialize)]
struct ProblemOut<'a> {
    qltctrl_code: &'a str,
    fld: &'a str,
    /// `blocking` or `warning`.
    sev: &'static str,
    msg: &'a str,
}

/// 4101A's additional node: the version's quality checks.
#[derive(Serialize)]
pub struct QcNode<'a> {
    /// `1` when no blocking problem was found.
    qltctrl_pass_flag: &'static str,
    qltctrl_prob: Vec<ProblemOut<'a>>,
}

/// The quality checks of a version as 4101A answers them (`output.qltctrlinfo`).
pub fn qc_node(qc: &QcResult) -> QcNode<'_> {
    qc_parts(qc.passed, &qc.problems)
}

fn qc_parts(passed: bool, problems: &[QcProblem]) -> QcNode<'_> {
    QcNode {
        qltctrl_pass_flag: if passed { "1" } else { "0" },
        qltctrl_prob: problems
            .iter()
            .map(|p| ProblemOut {
                qltctrl_code: &p.code,
                fld: &p.field,
                sev: p.severity.as_str(),
                msg: &p.message,
            })
            .collect(),
    }
}

/// 4102 `output`.
#[derive(Serialize)]
struct StatusOut<'a> {
    data: StatusData2<'a>,
}

#[derive(Serialize)]
struct StatusData2<'a> {
    setl_list_id: &'a str,
    setl_id: &'a str,
    stas_type_old: &'static str,
    stas_type: &'static str,
    stas_name: &'static str,
    chg_time: String,
}

/// The 4102 output text.
pub fn render_status(changed: &StatusChanged) -> serde_json::Result<String> {
    serde_json::to_string(&StatusOut {
        data: StatusData2 {
            setl_list_id: &changed.setl_list_id,
            setl_id: &changed.setl_id,
            stas_type_old: changed.from.code(),
            stas_type: changed.to.code(),
            stas_name: changed.to.name(),
            chg_time: changed.changed_at.format("%Y-%m-%d %H:%M:%S").to_string(),
        },
    })
}

/// 4104 `output`.
#[derive(Serialize)]
struct QcOut<'a> {
    qltctrlinfo: Vec<QcRow<'a>>,
}

#[derive(Serialize)]
struct QcRow<'a> {
    setl_list_id: &'a str,
    setl_id: &'a str,
    mdtrt_id: &'a str,
    psn_no: &'a str,
    list_vers: i64,
    upld_time: String,
    setl_date: String,
    stas_type: &'static str,
    stas_name: &'static str,
    grp_stas: &'a str,
    drg_code: &'a str,
    qltctrl_time: String,
    #[serde(flatten)]
    qc: QcNode<'a>,
}

/// The 4104 output text.
pub fn render_qc(views: &[QcView]) -> serde_json::Result<String> {
    serde_json::to_string(&QcOut {
        qltctrlinfo: views
            .iter()
            .map(|v| QcRow {
                setl_list_id: &v.setl_list_id,
                setl_id: &v.setl_id,
                mdtrt_id: &v.mdtrt_id,
                psn_no: &v.psn_no,
                list_vers: v.version,
                upld_time: v.uploaded_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                setl_date: v.setl_date.to_string(),
                stas_type: v.status.code(),
                stas_name: v.status.name(),
                grp_stas: &v.group_status,
                drg_code: &v.drg,
                qltctrl_time: v.checked_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                qc: qc_parts(v.passed, &v.problems),
            })
            .collect(),
    })
}
