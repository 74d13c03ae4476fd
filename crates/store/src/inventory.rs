//! Pharmacy inventory on the national interface (3501–3507 进销存): the records a designated
//! pharmacy or hospital pharmacy uploads — stocktakes, stock changes, purchases and their returns,
//! sales and their returns, each with its drug traceability codes (`drug_trac_codg`) — kept so
//! that the batch models can reconcile purchases, stock and sales and find a code sold twice. The
//! SQL lives in `inventory_tx.rs`.
//!
//! Every record is one movement row, never edited: a 3507 deletion records a cancellation of the
//! earlier rows (by `fixmedins_bchno` and `inv_data_type`), which the balance and the reads then
//! leave out. A message is idempotent by `(fixmedins_code, msgid)`: the same content again
//! answers what the first did and writes nothing; other content under the same msgid is refused.
//!
//! The batch (批次) a balance is kept by is `(med_list_codg, manu_lotnum)`. A return names its
//! original by `fixmedins_bchno` (3504 the purchase, 3506 the sale of the same list code) and
//! takes its batch; it cannot return more than the original's quantity less its earlier returns.
//! A sale above the stock is stored, not refused: that is what the reconciliation models look for.

use chrono::{NaiveDate, NaiveDateTime};
use yibao_core_types::{Price, Quantity};

use crate::error::StoreError;
use crate::limits;
use crate::{Pool, Store};

/// One of the six record kinds (3501–3506).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InventoryKind {
    /// 3501 商品盘存上传: the counted stock of a batch on a day.
    Stocktake,
    /// 3502 商品信息变更: a stock change (transfer, loss …) in or out, by `inv_chg_type`.
    StockChange,
    /// 3503 商品采购: goods received.
    Purchase,
    /// 3504 商品采购退货: goods sent back to the supplier.
    PurchaseReturn,
    /// 3505 商品销售: goods sold.
    Sale,
    /// 3506 商品销售退货: goods a buyer brought back.
    SaleReturn,
}

impl InventoryKind {
    /// Every kind, in code order.
    pub const ALL: [InventoryKind; 6] = [
        InventoryKind::Stocktake,
        InventoryKind::StockChange,
        InventoryKind::Purchase,
        InventoryKind::PurchaseReturn,
        InventoryKind::Sale,
        InventoryKind::SaleReturn,
    ];

    /// The transaction code (`3501` …).
    pub fn infno(self) -> &'static str {
        match self {
            InventoryKind::Stocktake => "3501",
            InventoryKind::StockChange => "3502",
            InventoryKind::Purchase => "3503",
            InventoryKind::PurchaseReturn => "3504",
            InventoryKind::Sale => "3505",
            InventoryKind::SaleReturn => "3506",
        }
    }

    /// Reads a transaction code.
    pub fn from_infno(infno: &str) -> Option<InventoryKind> {
        Self::ALL.into_iter().find(|kind| kind.infno() == infno)
    }

    /// 进销存数据类型, the family a 3507 deletion names: 1 stocktake, 2 stock change, 3 purchase
    /// or its return, 4 sale or its return.
    pub fn data_type(self) -> InvDataType {
        match self {
            InventoryKind::Stocktake => InvDataType::Stocktake,
            InventoryKind::StockChange => InvDataType::StockChange,
            InventoryKind::Purchase | InventoryKind::PurchaseReturn => InvDataType::Purchase,
            InventoryKind::Sale | InventoryKind::SaleReturn => InvDataType::Sale,
        }
    }

    /// The kind a return refers to (3504 → 3503, 3506 → 3505).
    pub fn original(self) -> Option<InventoryKind> {
        match self {
            InventoryKind::PurchaseReturn => Some(InventoryKind::Purchase),
            InventoryKind::SaleReturn => Some(InventoryKind::Sale),
            _ => None,
        }
    }

    /// The node the interface carries these records in (`invinfo`, `purcinfo`, `selinfo`).
    pub fn node(self) -> &'static str {
        match self {
            InventoryKind::Stocktake | InventoryKind::StockChange => "invinfo",
            InventoryKind::Purchase | InventoryKind::PurchaseReturn => "purcinfo",
            InventoryKind::Sale | InventoryKind::SaleReturn => "selinfo",
        }
    }

    /// The record's quantity field on the interface.
    pub fn quantity_field(self) -> &'static str {
        match self {
            InventoryKind::Stocktake => "inv_cnt",
            InventoryKind::StockChange => "cnt",
            InventoryKind::Purchase | InventoryKind::PurchaseReturn => "purc_retn_cnt",
            InventoryKind::Sale | InventoryKind::SaleReturn => "sel_retn_cnt",
        }
    }
}

/// 进销存数据类型 (`inv_data_type`) of 3507.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvDataType {
    /// `1` 盘存信息.
    Stocktake,
    /// `2` 库存变更信息.
    StockChange,
    /// `3` 采购信息 (purchases and their returns).
    Purchase,
    /// `4` 销售信息 (sales and their returns).
    Sale,
}

impl InvDataType {
    /// The code (`1`–`4`).
    pub fn code(self) -> &'static str {
        match self {
            InvDataType::Stocktake => "1",
            InvDataType::StockChange => "2",
            InvDataType::Purchase => "3",
            InvDataType::Sale => "4",
        }
    }

    /// Reads a code (`1`–`4`).
    pub fn parse(code: &str) -> Option<InvDataType> {
        match code {
            "1" => Some(InvDataType::Stocktake),
            "2" => Some(InvDataType::StockChange),
            "3" => Some(InvDataType::Purchase),
            "4" => Some(InvDataType::Sale),
            _ => None,
        }
    }
}

/// 库存变更类型 (`inv_chg_type`) of 3502 with the way it moves the stock. The spec names the
/// field without its dictionary; these are the codes clients send (101 and 102 seen in the wild),
/// read as: 101 调拨入库, 102 调拨出库, 103 盘盈, 104 盘亏, 105 报损, 106 其他入库, 107 其他出库.
pub const STOCK_CHANGE_TYPES: [(&str, &str, i64); 7] = [
    ("101", "调拨入库", 1),
    ("102", "调拨出库", -1),
    ("103", "盘盈", 1),
    ("104", "盘亏", -1),
    ("105", "报损", -1),
    ("106", "其他入库", 1),
    ("107", "其他出库", -1),
];

/// The direction (+1 in, −1 out) of a stock change type, when it is one.
pub fn stock_change_direction(inv_chg_type: &str) -> Option<i64> {
    STOCK_CHANGE_TYPES
        .iter()
        .find(|(code, _, _)| *code == inv_chg_type)
        .map(|(_, _, direction)| *direction)
}

/// One uploaded record (a row of `invinfo`, `purcinfo` or `selinfo`), parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryRecord {
    /// 医疗目录编码.
    pub med_list_codg: String,
    /// 定点医药机构目录编号.
    pub fixmedins_hilist_id: String,
    /// 定点医药机构目录名称.
    pub fixmedins_hilist_name: String,
    /// 定点医药机构批次流水号: the record's serial; a return names its original's.
    pub fixmedins_bchno: String,
    /// 生产批号; required for a stocktake, a purchase and a sale; a return or a stock change
    /// takes its original's when absent (and must agree when sent).
    pub manu_lotnum: Option<String>,
    /// 生产日期.
    pub manu_date: Option<NaiveDate>,
    /// 有效期止.
    pub expy_end: Option<NaiveDate>,
    /// 处方药标志 (`1` prescription drug).
    pub rx_flag: bool,
    /// inv_cnt, cnt, purc_retn_cnt or sel_retn_cnt: positive.
    pub quantity: Quantity,
    /// invdate (its midnight), inv_chg_time, purc_retn_stoin_time or sel_retn_time.
    pub happened_at: NaiveDateTime,
    /// 库存变更类型 (3502 only).
    pub inv_chg_type: Option<String>,
    /// finl_trns_pric or pric, when sent.
    pub price: Option<Price>,
    /// 供应商名称.
    pub spler_name: Option<String>,
    /// 采购发票号.
    pub purc_invo_no: Option<String>,
    /// The operator named on the record (purc_retn_opter_name, sel_retn_opter_name,
    /// inv_chg_opter_name).
    pub opter_name: Option<String>,
    /// 结算ID of a sale settled through insurance.
    pub setl_id: Option<String>,
    /// 就医流水号.
    pub mdtrt_sn: Option<String>,
    /// 人员编号 of the buyer, when named (their identity document and name are not kept: the
    /// person number is enough to reconcile).
    pub psn_no: Option<String>,
    /// 处方号.
    pub rxno: Option<String>,
    /// 备注.
    pub memo: Option<String>,
    /// 药品追溯码, each once.
    pub trace_codes: Vec<String>,
}

/// One message's upload: records of one kind, or a 3507 deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InventoryUpload {
    /// 3501–3506: one or more records.
    Records {
        /// Which transaction.
        kind: InventoryKind,
        /// The rows, in message order.
        records: Vec<InventoryRecord>,
    },
    /// 3507 商品信息删除: cancel the institution's records with this serial and data type.
    Delete {
        /// 定点医药机构批次流水号.
        fixmedins_bchno: String,
        /// 进销存数据类型.
        inv_data_type: InvDataType,
    },
}

impl InventoryUpload {
    /// The transaction code of the message.
    pub fn infno(&self) -> &'static str {
        match self {
            InventoryUpload::Records { kind, .. } => kind.infno(),
            InventoryUpload::Delete { .. } => "3507",
        }
    }
}

/// Who sent an upload, when, and its content's hash (the idempotency key and check).
#[derive(Debug, Clone)]
pub struct InventoryMessage {
    /// The authenticated institution.
    pub fixmedins_code: String,
    /// The message id.
    pub msgid: String,
    /// SHA-256 of the parsed request: equal exactly when a replay has the same content.
    pub request_hash: [u8; 32],
    /// The request time (Beijing time).
    pub at: NaiveDateTime,
}

/// What an upload did (the same on a replay).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryStored {
    /// The transaction.
    pub infno: String,
    /// Records stored (3501–3506).
    pub records: u64,
    /// Records cancelled (3507).
    pub cancelled: u64,
    /// When the message was first received.
    pub received_at: NaiveDateTime,
    /// True when this answers a replay.
    pub replayed: bool,
}

/// A stored record as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryMovement {
    /// The institution.
    pub fixmedins_code: String,
    /// The message it came in.
    pub msgid: String,
    /// Its row in the message.
    pub seq: i64,
    /// Its kind.
    pub kind: InventoryKind,
    /// +1 into stock, −1 out of it, 0 for a stocktake (which sets it).
    pub direction: i64,
    /// The record's batch: 医疗目录编码.
    pub med_list_codg: String,
    /// 定点医药机构目录编号.
    pub fixmedins_hilist_id: String,
    /// 定点医药机构批次流水号.
    pub fixmedins_bchno: String,
    /// 生产批号 (a return's is its original's).
    pub manu_lotnum: String,
    /// The quantity, positive.
    pub quantity: Quantity,
    /// When it happened.
    pub happened_at: NaiveDateTime,
    /// 结算ID, when sent.
    pub setl_id: Option<String>,
    /// 人员编号, when sent.
    pub psn_no: Option<String>,
    /// A return's original `(msgid, seq)`.
    pub original: Option<(String, i64)>,
    /// Its traceability codes.
    pub trace_codes: Vec<String>,
    /// The 3507 message that cancelled it, if any.
    pub cancelled_by: Option<String>,
}

/// The stock of one batch as of a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockBalance {
    /// 医疗目录编码.
    pub med_list_codg: String,
    /// 生产批号.
    pub manu_lotnum: String,
    /// The last stocktake counted at or before the time, when there is one (the start).
    pub stocktake: Option<Quantity>,
    /// Purchases after it.
    pub purchased: Quantity,
    /// Purchase returns after it.
    pub purchase_returned: Quantity,
    /// Sales after it.
    pub sold: Quantity,
    /// Sale returns after it.
    pub sale_returned: Quantity,
    /// Stock changes in less stock changes out, after it.
    pub changed: Quantity,
    /// stocktake + purchased − purchase_returned − sold + sale_returned + changed; negative
    /// when more was sold than the records bring in.
    pub balance: Quantity,
}

/// One use of a traceability code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceCodeUse {
    /// The institution.
    pub fixmedins_code: String,
    /// The record's kind.
    pub kind: InventoryKind,
    /// The record's message and row.
    pub msgid: String,
    /// Its row.
    pub seq: i64,
    /// 医疗目录编码.
    pub med_list_codg: String,
    /// When it happened.
    pub happened_at: NaiveDateTime,
    /// Whether a 3507 cancelled the record.
    pub cancelled: bool,
}

/// A traceability code sold more often than it was brought back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceCodeSoldTwice {
    /// 药品追溯码.
    pub drug_trac_codg: String,
    /// Sales less sale returns (2 or more).
    pub net_sales: i64,
    /// The institutions that sold it, each once, in order.
    pub institutions: Vec<String>,
}

fn check_text(
    field: &str,
    value: &str,
    chars_max: usize,
    required: bool,
) -> Result<(), StoreError> {
    if required && value.trim().is_empty() {
        return Err(StoreError::bad(field, "is required"));
    }
    if value.chars().count() > chars_max {
        return Err(StoreError::bad(
            field,
            format!("longer than {chars_max} characters"),
        ));
    }
    Ok(())
}

fn check_opt(field: &str, value: &Option<String>, chars_max: usize) -> Result<(), StoreError> {
    match value {
        Some(value) => check_text(field, value, chars_max, true),
        None => Ok(()),
    }
}

/// Checks one record of `kind` at row `row` (field names as `selinfo[0].sel_retn_cnt`).
pub fn check_record(
    kind: InventoryKind,
    row: usize,
    record: &InventoryRecord,
) -> Result<(), StoreError> {
    let field = |name: &str| format!("{}[{row}].{name}", kind.node());
    let id_max = limits::ID_CHARS_MAX;
    check_text(
        &field("med_list_codg"),
        &record.med_list_codg,
        limits::INVENTORY_LIST_CODE_CHARS_MAX,
        true,
    )?;
    check_text(
        &field("fixmedins_hilist_id"),
        &record.fixmedins_hilist_id,
        id_max,
        true,
    )?;
    check_text(
        &field("fixmedins_hilist_name"),
        &record.fixmedins_hilist_name,
        limits::INVENTORY_NAME_CHARS_MAX,
        true,
    )?;
    check_text(
        &field("fixmedins_bchno"),
        &record.fixmedins_bchno,
        id_max,
        true,
    )?;
    check_opt(&field("manu_lotnum"), &record.manu_lotnum, id_max)?;
    if record.manu_lotnum.is_none()
        && matches!(
            kind,
            InventoryKind::Stocktake | InventoryKind::Purchase | InventoryKind::Sale
        )
    {
        return Err(StoreError::bad(field("manu_lotnum"), "is required"));
    }
    let quantity = field(kind.quantity_field());
    if record.quantity.0 <= 0 {
        return Err(StoreError::bad(quantity, "must be greater than 0"));
    }
    if record.quantity.0 > limits::COUNT_E4_MAX {
        return Err(StoreError::bad(
            quantity,
            format!("is more than {} units", limits::COUNT_E4_MAX / 10_000),
        ));
    }
    if let Some(price) = record.price {
        if price.0 < 0 || price.0 > limits::PRICE_MICRO_MAX {
            return Err(StoreError::bad(
                field(if kind == InventoryKind::StockChange {
                    "pric"
                } else {
                    "finl_trns_pric"
                }),
                "is out of range",
            ));
        }
    }
    match (kind, &record.inv_chg_type) {
        (InventoryKind::StockChange, None) => {
            return Err(StoreError::bad(field("inv_chg_type"), "is required"))
        }
        (InventoryKind::StockChange, Some(code)) if stock_change_direction(code).is_none() => {
            let known: Vec<&str> = STOCK_CHANGE_TYPES.iter().map(|(c, _, _)| *c).collect();
            return Err(StoreError::bad(
                field("inv_chg_type"),
                format!("`{code}` is not one of {}", known.join(", ")),
            ));
        }
        _ => {}
    }
    if let (Some(made), Some(expires)) = (record.manu_date, record.expy_end) {
        if expires < made {
            return Err(StoreError::bad(
                field("expy_end"),
                format!("{expires} is before manu_date {made}"),
            ));
        }
    }
    for (name, value) in [
        ("spler_name", &record.spler_name),
        ("opter_name", &record.opter_name),
        ("memo", &record.memo),
    ] {
        check_opt(&field(name), value, limits::TEXT_CHARS_MAX)?;
    }
    for (name, value) in [
        ("purc_invo_no", &record.purc_invo_no),
        ("setl_id", &record.setl_id),
        ("mdtrt_sn", &record.mdtrt_sn),
        ("psn_no", &record.psn_no),
    ] {
        check_opt(&field(name), value, id_max)?;
    }
    check_opt(
        &field("rxno"),
        &record.rxno,
        limits::INVENTORY_RXNO_CHARS_MAX,
    )?;
    if record.trace_codes.len() > limits::TRACE_CODES_PER_RECORD_MAX {
        return Err(StoreError::bad(
            field("drugtracinfo"),
            format!(
                "has {} codes, more than {}",
                record.trace_codes.len(),
                limits::TRACE_CODES_PER_RECORD_MAX
            ),
        ));
    }
    for (i, code) in record.trace_codes.iter().enumerate() {
        let name = format!("{}[{row}].drugtracinfo[{i}].drug_trac_codg", kind.node());
        check_text(&name, code, limits::TRACE_CODE_CHARS_MAX, true)?;
        if record.trace_codes[..i].contains(code) {
            return Err(StoreError::bad(
                name,
                format!("`{code}` appears twice in the record"),
            ));
        }
    }
    Ok(())
}

/// Checks a whole upload before anything is written.
pub fn check_upload(upload: &InventoryUpload) -> Result<(), StoreError> {
    match upload {
        InventoryUpload::Records { kind, records } => {
            if records.is_empty() {
                return Err(StoreError::bad(kind.node(), "is required"));
            }
            if records.len() > limits::INVENTORY_RECORDS_PER_MESSAGE_MAX {
                return Err(StoreError::bad(
                    kind.node(),
                    format!(
                        "has {} rows, more than {}",
                        records.len(),
                        limits::INVENTORY_RECORDS_PER_MESSAGE_MAX
                    ),
                ));
            }
            let n_codes: usize = records.iter().map(|r| r.trace_codes.len()).sum();
            if n_codes > limits::TRACE_CODES_PER_MESSAGE_MAX {
                return Err(StoreError::bad(
                    kind.node(),
                    format!(
                        "carries {n_codes} traceability codes, more than {}",
                        limits::TRACE_CODES_PER_MESSAGE_MAX
                    ),
                ));
            }
            for (row, record) in records.iter().enumerate() {
                check_record(*kind, row, record)?;
                // A stocktake, purchase or sale is named once per message per serial: two
                // rows with one serial would be one record uploaded twice. (Stock changes and
                // returns name a batch's serial, which may move more than once.)
                if matches!(
                    kind,
                    InventoryKind::Stocktake | InventoryKind::Purchase | InventoryKind::Sale
                ) && records[..row]
                    .iter()
                    .any(|r| r.fixmedins_bchno == record.fixmedins_bchno)
                {
                    return Err(StoreError::bad(
                        format!("{}[{row}].fixmedins_bchno", kind.node()),
                        format!("`{}` appears twice in the message", record.fixmedins_bchno),
                    ));
                }
            }
            Ok(())
        }
        InventoryUpload::Delete {
            fixmedins_bchno, ..
        } => check_text(
            "data.fixmedins_bchno",
            fixmedins_bchno,
            limits::ID_CHARS_MAX,
            true,
        ),
    }
}

/// One kind's sums in a batch since its last stocktake: `(kind, Σ quantity, Σ direction ×
/// quantity)`, in ten-thousandths.
pub(crate) type KindSums = (InventoryKind, i64, i64);

/// The stock of one batch from the sums of each kind that moved it since its last stocktake
/// (the stocktake's own rows included).
pub(crate) fn balance_of(
    med_list_codg: String,
    manu_lotnum: String,
    sums: &[KindSums],
) -> StockBalance {
    let mut balance = StockBalance {
        med_list_codg,
        manu_lotnum,
        stocktake: None,
        purchased: Quantity(0),
        purchase_returned: Quantity(0),
        sold: Quantity(0),
        sale_returned: Quantity(0),
        changed: Quantity(0),
        balance: Quantity(0),
    };
    for &(kind, total, moved) in sums {
        match kind {
            InventoryKind::Stocktake => balance.stocktake = Some(Quantity(total)),
            InventoryKind::StockChange => balance.changed = Quantity(moved),
            InventoryKind::Purchase => balance.purchased = Quantity(total),
            InventoryKind::PurchaseReturn => balance.purchase_returned = Quantity(total),
            InventoryKind::Sale => balance.sold = Quantity(total),
            InventoryKind::SaleReturn => balance.sale_returned = Quantity(total),
        }
    }
    balance.balance = Quantity(
        balance.stocktake.map_or(0, |s| s.0) + balance.purchased.0
            - balance.purchase_returned.0
            - balance.sold.0
            + balance.sale_returned.0
            + balance.changed.0,
    );
    balance
}

impl Store {
    /// Records one 3501–3507 message of `message.fixmedins_code`, idempotently by its msgid: a
    /// replay with the same content answers the first result and writes nothing; the msgid with
    /// other content (or already used by another transaction) is refused. A sale or sale return
    /// naming a person is logged in the access log's outbox with the records (a replay as a read).
    pub async fn record_inventory(
        &self,
        message: &InventoryMessage,
        upload: &InventoryUpload,
    ) -> Result<InventoryStored, StoreError> {
        check_text("msgid", &message.msgid, limits::ID_CHARS_MAX, true)?;
        check_upload(upload)?;
        let stored = on_backend!(self, write, |m, pool| m::inventory_record(
            pool, message, upload
        )
        .await)?;
        if stored.replayed {
            let people = inventory_people(upload);
            let calls = inventory_accesses(message, upload.infno(), &people, false);
            self.log_interface(&calls).await?;
        }
        Ok(stored)
    }

    /// The institution's records that happened from `from` to `to` (inclusive days), cancelled
    /// ones marked, in time order; more than [`limits::INVENTORY_ROWS_PER_READ_MAX`] is refused
    /// (ask for a shorter period).
    pub async fn inventory_movements(
        &self,
        fixmedins_code: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<InventoryMovement>, StoreError> {
        if to < from {
            return Err(StoreError::bad("to", format!("{to} is before {from}")));
        }
        let begin = from.and_hms_opt(0, 0, 0).expect("midnight exists");
        let end = to.and_hms_opt(23, 59, 59).expect("23:59:59 exists");
        on_backend!(self, read, |m, pool| m::inventory_read(
            pool,
            fixmedins_code,
            None,
            begin,
            end
        )
        .await)
    }

    /// The stock of each of the institution's batches (of `med_list_codg` only, when given) as of
    /// `at`: the last stocktake at or before it (records at the stocktake's own time are in its
    /// count), plus purchases and sale returns, less purchase returns and sales, plus stock
    /// changes, after it; cancelled records left out. Summed by the database, so it does not
    /// depend on how many records the institution has.
    pub async fn stock_balances(
        &self,
        fixmedins_code: &str,
        med_list_codg: Option<&str>,
        at: NaiveDateTime,
    ) -> Result<Vec<StockBalance>, StoreError> {
        on_backend!(self, read, |m, pool| m::inventory_balances(
            pool,
            fixmedins_code,
            med_list_codg,
            at
        )
        .await)
    }

    /// Every record, of any institution, that names traceability code `drug_trac_codg`, in time
    /// order (cancelled ones marked).
    pub async fn trace_code_uses(
        &self,
        drug_trac_codg: &str,
    ) -> Result<Vec<TraceCodeUse>, StoreError> {
        on_backend!(self, read, |m, pool| m::inventory_trace_uses(
            pool,
            drug_trac_codg
        )
        .await)
    }

    /// Traceability codes whose active sales outnumber their active sale returns by two or
    /// more, across institutions (at most [`limits::INVENTORY_ROWS_PER_READ_MAX`], by code).
    pub async fn trace_codes_sold_twice(&self) -> Result<Vec<TraceCodeSoldTwice>, StoreError> {
        on_backend!(self, read, |m, pool| m::inventory_sold_twice(pool).await)
    }
}

/// The people a sale or sale return names, each once, in order.
pub(crate) fn inventory_people(upload: &InventoryUpload) -> Vec<String> {
    let mut people: Vec<String> = Vec::new();
    if let InventoryUpload::Records { kind, records } = upload {
        if matches!(kind, InventoryKind::Sale | InventoryKind::SaleReturn) {
            for psn_no in records.iter().filter_map(|r| r.psn_no.as_ref()) {
                if !psn_no.is_empty() && !people.contains(psn_no) {
                    people.push(psn_no.clone());
                }
            }
        }
    }
    people
}

/// The access-log records of an inventory message naming `people`.
pub(crate) fn inventory_accesses(
    message: &InventoryMessage,
    infno: &str,
    people: &[String],
    write: bool,
) -> Vec<crate::access_outbox::InterfaceAccess> {
    people
        .iter()
        .map(|psn_no| crate::access_outbox::InterfaceAccess {
            ts_ms: crate::access_outbox::beijing_to_utc_ms(message.at),
            fixmedins_code: message.fixmedins_code.clone(),
            infno: infno.to_owned(),
            psn_no: psn_no.clone(),
            write,
            request_digest: Some(message.request_hash),
            response_digest: None,
        })
        .collect()
}

/// A stored kind, read back.
pub(crate) fn kind_of(infno: &str) -> Result<InventoryKind, StoreError> {
    InventoryKind::from_infno(infno)
        .ok_or_else(|| StoreError::Invariant(format!("stored inventory infno {infno:?}")))
}
