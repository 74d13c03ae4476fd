//! 3501–3507 进销存 (pharmacy inventory): the wire nodes, their conversion into the store's
//! [`InventoryUpload`], and the answer. The spec lists the codes without their fields; ours are
//! the public national interface's:
//!
//! * 3501 商品盘存上传 `invinfo{med_list_codg, fixmedins_hilist_id, fixmedins_hilist_name, rx_flag,
//!   invdate, inv_cnt, manu_lotnum, fixmedins_bchno, manu_date, expy_end, memo, drugtracinfo[]}`;
//! * 3502 商品信息变更 `invinfo{…, inv_chg_type, pric, cnt, inv_chg_time, inv_chg_opter_name}`;
//! * 3503 商品采购 and 3504 采购退货 `purcinfo{…, spler_name, manu_lotnum, finl_trns_pric,
//!   purc_retn_cnt, purc_invo_no, purc_retn_stoin_time, purc_retn_opter_name}`;
//! * 3505 商品销售 and 3506 销售退货 `selinfo{…, setl_id, mdtrt_sn, psn_no, manu_lotnum, rxno,
//!   sel_retn_cnt, sel_retn_time, sel_retn_opter_name}`;
//! * 3507 商品信息删除 `data{fixmedins_bchno, inv_data_type}`.
//!
//! A stocktake's `invdate` is the close of that day (its count includes the day's movements).
//! Each record node may be one object or an array (§3A). The traceability codes come as the
//! record's `drugtracinfo[]{drug_trac_codg}`, as a single `drug_trac_codg` on the record (the
//! older layout), or as an `input.drugtracinfo[]` beside a single record (as some clients send
//! them). The buyer's identity document and name (`certno`, `psn_name`) are read by nobody: only
//! `psn_no` is kept. Every transaction answers `result{retRslt, msgRslt, rec_cnt}` (records stored,
//! or cancelled by 3507); a replay answers the same.

use serde::{Deserialize, Serialize};
use yibao_core_types::{Price as PriceE6, Quantity as QuantityE4};
use yibao_store::inventory::{
    InvDataType, InventoryKind, InventoryRecord, InventoryStored, InventoryUpload,
};
use yibao_store::limits::{
    INVENTORY_LIST_CODE_CHARS_MAX, INVENTORY_NAME_CHARS_MAX, INVENTORY_RECORDS_PER_MESSAGE_MAX,
    INVENTORY_RXNO_CHARS_MAX, TRACE_CODES_PER_RECORD_MAX, TRACE_CODE_CHARS_MAX,
};

use crate::backend::Request;
use crate::envelope::RequestEnvelope;
use crate::error::AppError;
use crate::infno::Infno;
use crate::limits::{PRICE_MAX_E6, QUANTITY_MAX_E4, TEXT_CHARS_MAX};
use crate::wire::check::{decimal, opt_date, opt_flag, opt_text, rows_max, text};
use crate::wire::scalar::{Date, DateTime, Node, Opt, Price, Quantity, Rows, Text};

/// Longest id (`fixmedins_bchno`, `setl_id`, `psn_no` …): C 30.
const ID_CHARS_MAX: usize = 30;

/// `input` of 3501–3506: the kind's node, and codes sent beside a single record.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RecordsInput {
    invinfo: Rows<RecordData>,
    purcinfo: Rows<RecordData>,
    selinfo: Rows<RecordData>,
    drugtracinfo: Rows<TraceData>,
}

/// One record: every field of the six layouts (each kind reads its own).
#[derive(Deserialize, Default)]
#[serde(default)]
struct RecordData {
    med_list_codg: Opt<Text>,
    fixmedins_hilist_id: Opt<Text>,
    fixmedins_hilist_name: Opt<Text>,
    fixmedins_bchno: Opt<Text>,
    manu_lotnum: Opt<Text>,
    manu_date: Opt<Date>,
    expy_end: Opt<Date>,
    rx_flag: Opt<Text>,
    memo: Opt<Text>,
    // 3501.
    invdate: Opt<Date>,
    inv_cnt: Opt<Quantity>,
    // 3502.
    inv_chg_type: Opt<Text>,
    pric: Opt<Price>,
    cnt: Opt<Quantity>,
    inv_chg_time: Opt<DateTime>,
    inv_chg_opter_name: Opt<Text>,
    // 3503/3504.
    spler_name: Opt<Text>,
    finl_trns_pric: Opt<Price>,
    purc_retn_cnt: Opt<Quantity>,
    purc_invo_no: Opt<Text>,
    purc_retn_stoin_time: Opt<DateTime>,
    purc_retn_opter_name: Opt<Text>,
    // 3505/3506.
    setl_id: Opt<Text>,
    mdtrt_sn: Opt<Text>,
    psn_no: Opt<Text>,
    rxno: Opt<Text>,
    sel_retn_cnt: Opt<Quantity>,
    sel_retn_time: Opt<DateTime>,
    sel_retn_opter_name: Opt<Text>,
    drug_trac_codg: Opt<Text>,
    drugtracinfo: Rows<TraceData>,
}

/// `drugtracinfo` 溯源码节点.
#[derive(Deserialize, Default)]
#[serde(default)]
struct TraceData {
    drug_trac_codg: Opt<Text>,
}

/// 3507 `input`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct DeleteInput {
    data: Node<DeleteData>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DeleteData {
    fixmedins_bchno: Opt<Text>,
    inv_data_type: Opt<Text>,
}

/// The record kind of a transaction code (3501–3506).
pub fn kind_of(infno: Infno) -> Option<InventoryKind> {
    InventoryKind::from_infno(infno.code())
}

/// Parses a 3501–3507 message.
pub fn request(envelope: &RequestEnvelope<'_>) -> Result<Request, AppError> {
    let Some(kind) = kind_of(envelope.infno) else {
        let data = envelope.parse_input::<DeleteInput>()?.data.0;
        let fixmedins_bchno = text(
            &data.fixmedins_bchno,
            "data",
            "fixmedins_bchno",
            ID_CHARS_MAX,
        )?;
        let code = text(&data.inv_data_type, "data", "inv_data_type", 3)?;
        let inv_data_type = InvDataType::parse(&code).ok_or_else(|| {
            AppError::field(
                "input.data.inv_data_type",
                format!("`{code}` is not one of 1 (盘存), 2 (库存变更), 3 (采购), 4 (销售)"),
            )
        })?;
        return Ok(Request::Inventory(InventoryUpload::Delete {
            fixmedins_bchno,
            inv_data_type,
        }));
    };
    let input = envelope.parse_input::<RecordsInput>()?;
    let rows = match kind.node() {
        "invinfo" => input.invinfo.0,
        "purcinfo" => input.purcinfo.0,
        _ => input.selinfo.0,
    };
    if rows.is_empty() {
        return Err(AppError::required(format!("input.{}", kind.node())));
    }
    rows_max(rows.len(), INVENTORY_RECORDS_PER_MESSAGE_MAX, kind.node())?;
    let beside = input.drugtracinfo.0;
    if !beside.is_empty() && rows.len() > 1 {
        return Err(AppError::field(
            "input.drugtracinfo",
            format!(
                "names no record: send the codes inside each {} row",
                kind.node()
            ),
        ));
    }
    let mut records = Vec::with_capacity(rows.len());
    for (row, data) in rows.into_iter().enumerate() {
        let extra = if row == 0 { beside.as_slice() } else { &[] };
        records.push(record(kind, row, data, extra)?);
    }
    Ok(Request::Inventory(InventoryUpload::Records {
        kind,
        records,
    }))
}

/// One record of `kind` at `row`.
fn record(
    kind: InventoryKind,
    row: usize,
    data: RecordData,
    beside: &[TraceData],
) -> Result<InventoryRecord, AppError> {
    let node = format!("{}[{row}]", kind.node());
    let node = node.as_str();
    let (quantity, happened_at, opter_name, price) = match kind {
        InventoryKind::Stocktake => {
            let day = data
                .invdate
                .get()
                .map(|day| day.0)
                .ok_or_else(|| AppError::required(format!("input.{node}.invdate")))?;
            // A count on a day is the stock at the day's close: that day's movements are in it.
            (
                count(&data.inv_cnt, node, "inv_cnt")?,
                day.and_hms_opt(23, 59, 59).expect("23:59:59 exists"),
                None,
                None,
            )
        }
        InventoryKind::StockChange => (
            count(&data.cnt, node, "cnt")?,
            required_time(&data.inv_chg_time, node, "inv_chg_time")?,
            opt_text(
                &data.inv_chg_opter_name,
                node,
                "inv_chg_opter_name",
                TEXT_CHARS_MAX,
            )?,
            price(&data.pric, node, "pric")?,
        ),
        InventoryKind::Purchase | InventoryKind::PurchaseReturn => (
            count(&data.purc_retn_cnt, node, "purc_retn_cnt")?,
            required_time(&data.purc_retn_stoin_time, node, "purc_retn_stoin_time")?,
            opt_text(
                &data.purc_retn_opter_name,
                node,
                "purc_retn_opter_name",
                TEXT_CHARS_MAX,
            )?,
            price(&data.finl_trns_pric, node, "finl_trns_pric")?,
        ),
        InventoryKind::Sale | InventoryKind::SaleReturn => (
            count(&data.sel_retn_cnt, node, "sel_retn_cnt")?,
            required_time(&data.sel_retn_time, node, "sel_retn_time")?,
            opt_text(
                &data.sel_retn_opter_name,
                node,
                "sel_retn_opter_name",
                TEXT_CHARS_MAX,
            )?,
            price(&data.finl_trns_pric, node, "finl_trns_pric")?,
        ),
    };
    let manu_lotnum = opt_text(&data.manu_lotnum, node, "manu_lotnum", ID_CHARS_MAX)?;
    if manu_lotnum.is_none()
        && matches!(
            kind,
            InventoryKind::Stocktake | InventoryKind::Purchase | InventoryKind::Sale
        )
    {
        return Err(AppError::required(format!("input.{node}.manu_lotnum")));
    }
    let rx_flag = opt_flag(&data.rx_flag, node, "rx_flag")?
        .ok_or_else(|| AppError::required(format!("input.{node}.rx_flag")))?;
    let inv_chg_type = if kind == InventoryKind::StockChange {
        let code = text(&data.inv_chg_type, node, "inv_chg_type", 6)?;
        if yibao_store::inventory::stock_change_direction(&code).is_none() {
            let known: Vec<&str> = yibao_store::inventory::STOCK_CHANGE_TYPES
                .iter()
                .map(|(code, _, _)| *code)
                .collect();
            return Err(AppError::field(
                format!("input.{node}.inv_chg_type"),
                format!("`{code}` is not one of {}", known.join(", ")),
            ));
        }
        Some(code)
    } else {
        None
    };
    let (setl_id, mdtrt_sn, psn_no, rxno) =
        if matches!(kind, InventoryKind::Sale | InventoryKind::SaleReturn) {
            (
                opt_text(&data.setl_id, node, "setl_id", ID_CHARS_MAX)?,
                opt_text(&data.mdtrt_sn, node, "mdtrt_sn", ID_CHARS_MAX)?,
                opt_text(&data.psn_no, node, "psn_no", ID_CHARS_MAX)?,
                opt_text(&data.rxno, node, "rxno", INVENTORY_RXNO_CHARS_MAX)?,
            )
        } else {
            (None, None, None, None)
        };
    let mut trace_codes: Vec<String> = Vec::new();
    let single = opt_text(
        &data.drug_trac_codg,
        node,
        "drug_trac_codg",
        TRACE_CODE_CHARS_MAX,
    )?;
    let n_codes = data.drugtracinfo.0.len() + beside.len() + usize::from(single.is_some());
    if n_codes > TRACE_CODES_PER_RECORD_MAX {
        return Err(AppError::field(
            format!("input.{node}.drugtracinfo"),
            format!("has {n_codes} codes, more than {TRACE_CODES_PER_RECORD_MAX}"),
        ));
    }
    let lists = [
        (
            format!("{node}.drugtracinfo"),
            data.drugtracinfo.0.as_slice(),
        ),
        ("drugtracinfo".to_owned(), beside),
    ];
    for (list, traces) in &lists {
        for (i, trace) in traces.iter().enumerate() {
            let code = text(
                &trace.drug_trac_codg,
                &format!("{list}[{i}]"),
                "drug_trac_codg",
                TRACE_CODE_CHARS_MAX,
            )?;
            push_code(&mut trace_codes, code, node)?;
        }
    }
    if let Some(code) = single {
        push_code(&mut trace_codes, code, node)?;
    }
    let upload = InventoryRecord {
        med_list_codg: text(
            &data.med_list_codg,
            node,
            "med_list_codg",
            INVENTORY_LIST_CODE_CHARS_MAX,
        )?,
        fixmedins_hilist_id: text(
            &data.fixmedins_hilist_id,
            node,
            "fixmedins_hilist_id",
            ID_CHARS_MAX,
        )?,
        fixmedins_hilist_name: text(
            &data.fixmedins_hilist_name,
            node,
            "fixmedins_hilist_name",
            INVENTORY_NAME_CHARS_MAX,
        )?,
        fixmedins_bchno: text(&data.fixmedins_bchno, node, "fixmedins_bchno", ID_CHARS_MAX)?,
        manu_lotnum,
        manu_date: opt_date(&data.manu_date),
        expy_end: opt_date(&data.expy_end),
        rx_flag,
        quantity,
        happened_at,
        inv_chg_type,
        price,
        spler_name: opt_text(&data.spler_name, node, "spler_name", TEXT_CHARS_MAX)?,
        purc_invo_no: opt_text(&data.purc_invo_no, node, "purc_invo_no", ID_CHARS_MAX)?,
        opter_name,
        setl_id,
        mdtrt_sn,
        psn_no,
        rxno,
        memo: opt_text(&data.memo, node, "memo", TEXT_CHARS_MAX)?,
        trace_codes,
    };
    // The checks on values (dates in order, …) are the store's; running them here names the
    // field before the message reaches the database.
    yibao_store::inventory::check_record(kind, row, &upload).map_err(|err| match err {
        yibao_store::StoreError::BadInput { field, reason } => {
            AppError::field(format!("input.{field}"), reason)
        }
        other => AppError::field(format!("input.{node}"), other.to_string()),
    })?;
    Ok(upload)
}

fn push_code(codes: &mut Vec<String>, code: String, node: &str) -> Result<(), AppError> {
    if codes.contains(&code) {
        return Err(AppError::field(
            format!("input.{node}.drugtracinfo"),
            format!("`{code}` appears twice in the record"),
        ));
    }
    codes.push(code);
    Ok(())
}

/// A required quantity, greater than 0.
fn count(value: &Opt<Quantity>, node: &str, field: &str) -> Result<QuantityE4, AppError> {
    let units = decimal(value, QUANTITY_MAX_E4, node, field, false)?;
    if units == 0 {
        return Err(AppError::field(
            format!("input.{node}.{field}"),
            "must be greater than 0",
        ));
    }
    Ok(QuantityE4(units))
}

/// An optional unit price.
fn price(value: &Opt<Price>, node: &str, field: &str) -> Result<Option<PriceE6>, AppError> {
    match value.get() {
        None => Ok(None),
        Some(_) => decimal(value, PRICE_MAX_E6, node, field, false).map(|p| Some(PriceE6(p))),
    }
}

fn required_time(
    value: &Opt<DateTime>,
    node: &str,
    field: &str,
) -> Result<chrono::NaiveDateTime, AppError> {
    crate::wire::check::date_time(value, node, field)
}

/// 3501–3507 `output`.
#[derive(Serialize)]
struct InventoryOut {
    result: ResultNode,
}

#[derive(Serialize)]
struct ResultNode {
    /// `1` 成功.
    #[serde(rename = "retRslt")]
    ret_rslt: &'static str,
    /// The failure reason; empty on success (a failure is the envelope's `err_msg`).
    #[serde(rename = "msgRslt")]
    msg_rslt: &'static str,
    /// Records stored (3501–3506) or cancelled (3507).
    rec_cnt: u64,
}

/// The 3501–3507 output text.
pub fn render(stored: &InventoryStored) -> serde_json::Result<String> {
    serde_json::to_string(&InventoryOut {
        result: ResultNode {
            ret_rslt: "1",
            msg_rslt: "",
            rec_cnt: if stored.infno == "3507" {
                stored.cancelled
            } else {
                stored.records
            },
        },
    })
}
