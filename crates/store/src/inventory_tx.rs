// Pharmacy inventory (3501–3507): the SQL. Included into the two backend modules (`pg`, `sq`)
// after `tx/`, sharing its imports and helpers (`Tx`, `ts`, `parse_ts`, `hex`, `in_write_tx!`).
// `$n` placeholders, BIGINT and TEXT only. Rows are only ever inserted: a 3507 deletion is a
// row of `inventory_cancellation`.

/// The movement columns every read selects, with the cancelling message (`cancelled_by`).
const INVENTORY_MOVEMENT_COLUMNS: &str = "m.fixmedins_code, m.msgid, m.seq, m.infno, m.direction, \
     m.med_list_codg, m.fixmedins_hilist_id, m.fixmedins_bchno, m.manu_lotnum, m.cnt_e4, \
     m.happened_at, m.setl_id, m.psn_no, m.orig_msgid, m.orig_seq, c.msgid AS cancelled_by";

/// Joins a movement `m` to its cancellation `c`, if any.
const INVENTORY_CANCELLED_JOIN: &str = "LEFT JOIN inventory_cancellation c \
     ON c.fixmedins_code = m.fixmedins_code AND c.cancelled_msgid = m.msgid AND c.cancelled_seq = m.seq";

/// 3501–3507 of one message: a replay answers from the stored rows; else the records (or the
/// cancellations) are written with the message row, in one transaction.
pub(crate) async fn inventory_record(
    pool: &Pool,
    message: &crate::inventory::InventoryMessage,
    upload: &crate::inventory::InventoryUpload,
) -> Result<crate::inventory::InventoryStored, StoreError> {
    use crate::inventory::{InventoryStored, InventoryUpload};
    let fixmedins_code = message.fixmedins_code.as_str();
    let msgid = message.msgid.as_str();
    in_write_tx!(pool, |tx| {
        async {
            if IS_PG {
                // One institution's inventory messages run one after the other, so a return's
                // limit and a serial's uniqueness are checked on what the others committed.
                sqlx::query("SELECT pg_advisory_xact_lock(7034, hashtext($1))")
                    .bind(fixmedins_code)
                    .execute(&mut *tx)
                    .await?;
            }
            let done = sqlx::query(
                "SELECT infno, request_hash, received_at FROM inventory_message \
                 WHERE fixmedins_code = $1 AND msgid = $2",
            )
            .bind(fixmedins_code)
            .bind(msgid)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = done {
                let infno: String = row.try_get("infno")?;
                let hash: String = row.try_get("request_hash")?;
                if infno != upload.infno() || hash != hex(&message.request_hash) {
                    return Err(StoreError::MsgidConflict {
                        msgid: msgid.to_owned(),
                        infno,
                    });
                }
                let records: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM inventory_movement WHERE fixmedins_code = $1 AND msgid = $2",
                )
                .bind(fixmedins_code)
                .bind(msgid)
                .fetch_one(&mut *tx)
                .await?;
                let cancelled: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM inventory_cancellation WHERE fixmedins_code = $1 AND msgid = $2",
                )
                .bind(fixmedins_code)
                .bind(msgid)
                .fetch_one(&mut *tx)
                .await?;
                return Ok(InventoryStored {
                    infno,
                    records: records as u64,
                    cancelled: cancelled as u64,
                    received_at: parse_ts(&row.try_get::<String, _>("received_at")?)?,
                    replayed: true,
                });
            }
            msgid_unused_by_settlement_path(&mut tx, fixmedins_code, msgid).await?;
            sqlx::query(
                "INSERT INTO inventory_message (fixmedins_code, msgid, infno, request_hash, received_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(fixmedins_code)
            .bind(msgid)
            .bind(upload.infno())
            .bind(hex(&message.request_hash))
            .bind(ts(message.at))
            .execute(&mut *tx)
            .await?;
            let (records, cancelled) = match upload {
                InventoryUpload::Records { kind, records } => {
                    for (row, record) in records.iter().enumerate() {
                        inventory_insert_record(&mut tx, message, *kind, row, record).await?;
                    }
                    let people = crate::inventory::inventory_people(upload);
                    let calls = crate::inventory::inventory_accesses(
                        message,
                        upload.infno(),
                        &people,
                        true,
                    );
                    let rows: Vec<crate::access_outbox::OutboxRow> =
                        calls.iter().map(|call| call.row()).collect();
                    outbox_insert(&mut tx, &rows).await?;
                    (records.len() as u64, 0)
                }
                InventoryUpload::Delete {
                    fixmedins_bchno,
                    inv_data_type,
                } => {
                    let n = inventory_cancel(&mut tx, message, fixmedins_bchno, *inv_data_type)
                        .await?;
                    (0, n)
                }
            };
            Ok(InventoryStored {
                infno: upload.infno().to_owned(),
                records,
                cancelled,
                received_at: message.at,
                replayed: false,
            })
        }
        .await
    })
}

/// One record: its original (for a return) and the checks that need stored rows, then the row
/// and its traceability codes.
async fn inventory_insert_record(
    tx: &mut Tx<'_>,
    message: &crate::inventory::InventoryMessage,
    kind: crate::inventory::InventoryKind,
    row: usize,
    record: &crate::inventory::InventoryRecord,
) -> Result<(), StoreError> {
    use crate::inventory::{stock_change_direction, InventoryKind};
    let fixmedins_code = message.fixmedins_code.as_str();
    let field = |name: &str| format!("{}[{row}].{name}", kind.node());
    let mut original: Option<(String, i64)> = None;
    let manu_lotnum = match kind.original() {
        Some(original_kind) => {
            // The original: the active record of the same list code under this serial.
            let found = sqlx::query(&format!(
                "SELECT m.msgid, m.seq, m.manu_lotnum, m.cnt_e4 FROM inventory_movement m \
                 {INVENTORY_CANCELLED_JOIN} \
                 WHERE m.fixmedins_code = $1 AND m.infno = $2 AND m.fixmedins_bchno = $3 \
                 AND m.med_list_codg = $4 AND c.msgid IS NULL \
                 ORDER BY m.happened_at DESC, m.msgid DESC, m.seq DESC LIMIT 1"
            ))
            .bind(fixmedins_code)
            .bind(original_kind.infno())
            .bind(&record.fixmedins_bchno)
            .bind(&record.med_list_codg)
            .fetch_optional(&mut **tx)
            .await?;
            let Some(found) = found else {
                return Err(StoreError::not_found(
                    field("fixmedins_bchno"),
                    format!(
                        "{} record {} of {}",
                        original_kind.infno(),
                        record.fixmedins_bchno,
                        record.med_list_codg
                    ),
                ));
            };
            let orig_msgid: String = found.try_get("msgid")?;
            let orig_seq: i64 = found.try_get("seq")?;
            let lot: String = found.try_get("manu_lotnum")?;
            let orig_cnt: i64 = found.try_get("cnt_e4")?;
            if record.manu_lotnum.as_ref().is_some_and(|sent| *sent != lot) {
                return Err(StoreError::bad(
                    field("manu_lotnum"),
                    format!(
                        "the {} record {} is of batch {lot}",
                        original_kind.infno(),
                        record.fixmedins_bchno
                    ),
                ));
            }
            let returned: i64 = sqlx::query_scalar(&format!(
                "SELECT CAST(COALESCE(SUM(m.cnt_e4), 0) AS BIGINT) FROM inventory_movement m \
                 {INVENTORY_CANCELLED_JOIN} \
                 WHERE m.fixmedins_code = $1 AND m.orig_msgid = $2 AND m.orig_seq = $3 AND c.msgid IS NULL"
            ))
            .bind(fixmedins_code)
            .bind(&orig_msgid)
            .bind(orig_seq)
            .fetch_one(&mut **tx)
            .await?;
            if returned + record.quantity.0 > orig_cnt {
                return Err(StoreError::refused(
                    field(kind.quantity_field()),
                    format!(
                        "returns {} of batch {lot}, but {} record {} has {} with {} already returned",
                        yibao_core_types::Quantity(record.quantity.0),
                        original_kind.infno(),
                        record.fixmedins_bchno,
                        yibao_core_types::Quantity(orig_cnt),
                        yibao_core_types::Quantity(returned),
                    ),
                ));
            }
            original = Some((orig_msgid, orig_seq));
            lot
        }
        None => {
            if matches!(kind, InventoryKind::Purchase | InventoryKind::Sale) {
                let exists: Option<String> = sqlx::query_scalar(&format!(
                    "SELECT m.msgid FROM inventory_movement m {INVENTORY_CANCELLED_JOIN} \
                     WHERE m.fixmedins_code = $1 AND m.infno = $2 AND m.fixmedins_bchno = $3 \
                     AND c.msgid IS NULL LIMIT 1"
                ))
                .bind(fixmedins_code)
                .bind(kind.infno())
                .bind(&record.fixmedins_bchno)
                .fetch_optional(&mut **tx)
                .await?;
                if let Some(first) = exists {
                    return Err(StoreError::refused(
                        field("fixmedins_bchno"),
                        format!(
                            "{} was uploaded already (msgid {first}); delete it with 3507 before uploading it again",
                            record.fixmedins_bchno
                        ),
                    ));
                }
            }
            match &record.manu_lotnum {
                Some(lot) => lot.clone(),
                None => {
                    // A stock change without its batch number: the batch its serial came in
                    // with (a stocktake or a purchase).
                    let lot: Option<String> = sqlx::query_scalar(&format!(
                        "SELECT m.manu_lotnum FROM inventory_movement m {INVENTORY_CANCELLED_JOIN} \
                         WHERE m.fixmedins_code = $1 AND m.infno IN ('3501', '3503') \
                         AND m.fixmedins_bchno = $2 AND m.med_list_codg = $3 AND c.msgid IS NULL \
                         ORDER BY m.happened_at DESC, m.msgid DESC, m.seq DESC LIMIT 1"
                    ))
                    .bind(fixmedins_code)
                    .bind(&record.fixmedins_bchno)
                    .bind(&record.med_list_codg)
                    .fetch_optional(&mut **tx)
                    .await?;
                    lot.ok_or_else(|| {
                        StoreError::bad(
                            field("manu_lotnum"),
                            format!(
                                "is required: no stocktake or purchase {} of {} names the batch",
                                record.fixmedins_bchno, record.med_list_codg
                            ),
                        )
                    })?
                }
            }
        }
    };
    let direction: i64 = match kind {
        InventoryKind::Stocktake => 0,
        InventoryKind::StockChange => record
            .inv_chg_type
            .as_deref()
            .and_then(stock_change_direction)
            .ok_or_else(|| StoreError::bad(field("inv_chg_type"), "is not a known type"))?,
        InventoryKind::Purchase | InventoryKind::SaleReturn => 1,
        InventoryKind::PurchaseReturn | InventoryKind::Sale => -1,
    };
    let day = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
    sqlx::query(
        "INSERT INTO inventory_movement (fixmedins_code, msgid, seq, infno, inv_data_type, direction, \
         med_list_codg, fixmedins_hilist_id, fixmedins_hilist_name, fixmedins_bchno, manu_lotnum, \
         manu_date, expy_end, rx_flag, cnt_e4, inv_chg_type, pric_e6, spler_name, purc_invo_no, \
         opter_name, setl_id, mdtrt_sn, psn_no, rxno, orig_msgid, orig_seq, memo, happened_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
         $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)",
    )
    .bind(fixmedins_code)
    .bind(&message.msgid)
    .bind(row as i64)
    .bind(kind.infno())
    .bind(kind.data_type().code())
    .bind(direction)
    .bind(&record.med_list_codg)
    .bind(&record.fixmedins_hilist_id)
    .bind(&record.fixmedins_hilist_name)
    .bind(&record.fixmedins_bchno)
    .bind(&manu_lotnum)
    .bind(day(record.manu_date))
    .bind(day(record.expy_end))
    .bind(if record.rx_flag { "1" } else { "0" })
    .bind(record.quantity.0)
    .bind(&record.inv_chg_type)
    .bind(record.price.map(|p| p.0))
    .bind(&record.spler_name)
    .bind(&record.purc_invo_no)
    .bind(&record.opter_name)
    .bind(&record.setl_id)
    .bind(&record.mdtrt_sn)
    .bind(&record.psn_no)
    .bind(&record.rxno)
    .bind(original.as_ref().map(|(msgid, _)| msgid.as_str()))
    .bind(original.as_ref().map(|(_, seq)| *seq))
    .bind(&record.memo)
    .bind(ts(record.happened_at))
    .execute(&mut **tx)
    .await?;
    for (code_seq, code) in record.trace_codes.iter().enumerate() {
        sqlx::query(
            "INSERT INTO inventory_trace_code (fixmedins_code, msgid, seq, code_seq, drug_trac_codg) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(fixmedins_code)
        .bind(&message.msgid)
        .bind(row as i64)
        .bind(code_seq as i64)
        .bind(code)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// 3507: cancels every active record of the institution with this serial and data type; a
/// return left active on a cancelled original is refused.
async fn inventory_cancel(
    tx: &mut Tx<'_>,
    message: &crate::inventory::InventoryMessage,
    fixmedins_bchno: &str,
    inv_data_type: crate::inventory::InvDataType,
) -> Result<u64, StoreError> {
    let fixmedins_code = message.fixmedins_code.as_str();
    let targets = sqlx::query(&format!(
        "SELECT m.msgid, m.seq FROM inventory_movement m {INVENTORY_CANCELLED_JOIN} \
         WHERE m.fixmedins_code = $1 AND m.fixmedins_bchno = $2 AND m.inv_data_type = $3 \
         AND c.msgid IS NULL ORDER BY m.msgid, m.seq"
    ))
    .bind(fixmedins_code)
    .bind(fixmedins_bchno)
    .bind(inv_data_type.code())
    .fetch_all(&mut **tx)
    .await?;
    if targets.is_empty() {
        return Err(StoreError::not_found(
            "data.fixmedins_bchno",
            format!(
                "a record {fixmedins_bchno} of inv_data_type {}",
                inv_data_type.code()
            ),
        ));
    }
    for target in &targets {
        sqlx::query(
            "INSERT INTO inventory_cancellation (fixmedins_code, cancelled_msgid, cancelled_seq, msgid, cancelled_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(fixmedins_code)
        .bind(target.try_get::<String, _>("msgid")?)
        .bind(target.try_get::<i64, _>("seq")?)
        .bind(&message.msgid)
        .bind(ts(message.at))
        .execute(&mut **tx)
        .await?;
    }
    let orphan: Option<String> = sqlx::query_scalar(&format!(
        "SELECT m.fixmedins_bchno FROM inventory_movement m {INVENTORY_CANCELLED_JOIN} \
         JOIN inventory_cancellation o ON o.fixmedins_code = m.fixmedins_code \
         AND o.cancelled_msgid = m.orig_msgid AND o.cancelled_seq = m.orig_seq \
         WHERE m.fixmedins_code = $1 AND o.msgid = $2 AND c.msgid IS NULL LIMIT 1"
    ))
    .bind(fixmedins_code)
    .bind(&message.msgid)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(bchno) = orphan {
        return Err(StoreError::refused(
            "data.fixmedins_bchno",
            format!("the return {bchno} of this record is not deleted: delete it first"),
        ));
    }
    Ok(targets.len() as u64)
}

/// A movement row (selected with [`INVENTORY_MOVEMENT_COLUMNS`]), its codes not yet attached.
fn inventory_movement_of(
    row: &<Db as sqlx::Database>::Row,
) -> Result<crate::inventory::InventoryMovement, StoreError> {
    let orig_msgid: Option<String> = row.try_get("orig_msgid")?;
    let orig_seq: Option<i64> = row.try_get("orig_seq")?;
    Ok(crate::inventory::InventoryMovement {
        fixmedins_code: row.try_get("fixmedins_code")?,
        msgid: row.try_get("msgid")?,
        seq: row.try_get("seq")?,
        kind: crate::inventory::kind_of(&row.try_get::<String, _>("infno")?)?,
        direction: row.try_get("direction")?,
        med_list_codg: row.try_get("med_list_codg")?,
        fixmedins_hilist_id: row.try_get("fixmedins_hilist_id")?,
        fixmedins_bchno: row.try_get("fixmedins_bchno")?,
        manu_lotnum: row.try_get("manu_lotnum")?,
        quantity: yibao_core_types::Quantity(row.try_get("cnt_e4")?),
        happened_at: parse_ts(&row.try_get::<String, _>("happened_at")?)?,
        setl_id: row.try_get("setl_id")?,
        psn_no: row.try_get("psn_no")?,
        original: orig_msgid.zip(orig_seq),
        trace_codes: Vec::new(),
        cancelled_by: row.try_get("cancelled_by")?,
    })
}

/// The institution's records (of one list code, when given) that happened in `[begin, end]`, in
/// time order, with their codes.
pub(crate) async fn inventory_read(
    pool: &Pool,
    fixmedins_code: &str,
    med_list_codg: Option<&str>,
    begin: NaiveDateTime,
    end: NaiveDateTime,
) -> Result<Vec<crate::inventory::InventoryMovement>, StoreError> {
    let max = limits::INVENTORY_ROWS_PER_READ_MAX;
    let filter = "m.fixmedins_code = $1 AND m.happened_at >= $2 AND m.happened_at <= $3 \
                  AND ($4 = '' OR m.med_list_codg = $4)";
    let begin = ts(begin);
    let rows = sqlx::query(&format!(
        "SELECT {INVENTORY_MOVEMENT_COLUMNS} FROM inventory_movement m {INVENTORY_CANCELLED_JOIN} \
         WHERE {filter} ORDER BY m.happened_at, m.msgid, m.seq LIMIT {}",
        max + 1
    ))
    .bind(fixmedins_code)
    .bind(&begin)
    .bind(ts(end))
    .bind(med_list_codg.unwrap_or_default())
    .fetch_all(pool)
    .await?;
    if rows.len() > max {
        return Err(StoreError::refused(
            "period",
            format!("holds more than {max} inventory records: ask for a shorter period"),
        ));
    }
    let mut movements = rows
        .iter()
        .map(inventory_movement_of)
        .collect::<Result<Vec<_>, _>>()?;
    let codes = sqlx::query(&format!(
        "SELECT t.msgid, t.seq, t.drug_trac_codg FROM inventory_trace_code t \
         JOIN inventory_movement m ON m.fixmedins_code = t.fixmedins_code AND m.msgid = t.msgid AND m.seq = t.seq \
         WHERE {filter} ORDER BY t.msgid, t.seq, t.code_seq"
    ))
    .bind(fixmedins_code)
    .bind(&begin)
    .bind(ts(end))
    .bind(med_list_codg.unwrap_or_default())
    .fetch_all(pool)
    .await?;
    let mut by_key: HashMap<(String, i64), Vec<String>> = HashMap::new();
    for code in &codes {
        by_key
            .entry((code.try_get("msgid")?, code.try_get("seq")?))
            .or_default()
            .push(code.try_get("drug_trac_codg")?);
    }
    for movement in &mut movements {
        if let Some(found) = by_key.remove(&(movement.msgid.clone(), movement.seq)) {
            movement.trace_codes = found;
        }
    }
    Ok(movements)
}

/// The stock of each batch as of `at`: the database sums each kind's records since the batch's
/// last stocktake (the stocktake's own rows included), `inventory::balance_of` adds them up.
pub(crate) async fn inventory_balances(
    pool: &Pool,
    fixmedins_code: &str,
    med_list_codg: Option<&str>,
    at: NaiveDateTime,
) -> Result<Vec<crate::inventory::StockBalance>, StoreError> {
    let max = limits::INVENTORY_ROWS_PER_READ_MAX;
    let rows = sqlx::query(&format!(
        "SELECT m.med_list_codg, m.manu_lotnum, m.infno, \
         CAST(SUM(m.cnt_e4) AS BIGINT) AS total, \
         CAST(SUM(m.direction * m.cnt_e4) AS BIGINT) AS moved \
         FROM inventory_movement m {INVENTORY_CANCELLED_JOIN} \
         LEFT JOIN (SELECT s.med_list_codg, s.manu_lotnum, MAX(s.happened_at) AS counted_at \
            FROM inventory_movement s LEFT JOIN inventory_cancellation sc \
            ON sc.fixmedins_code = s.fixmedins_code AND sc.cancelled_msgid = s.msgid AND sc.cancelled_seq = s.seq \
            WHERE s.fixmedins_code = $1 AND s.infno = '3501' AND sc.msgid IS NULL \
            AND s.happened_at <= $2 AND ($3 = '' OR s.med_list_codg = $3) \
            GROUP BY s.med_list_codg, s.manu_lotnum) l \
         ON l.med_list_codg = m.med_list_codg AND l.manu_lotnum = m.manu_lotnum \
         WHERE m.fixmedins_code = $1 AND c.msgid IS NULL AND m.happened_at <= $2 \
         AND ($3 = '' OR m.med_list_codg = $3) \
         AND (l.counted_at IS NULL OR m.happened_at > l.counted_at \
              OR (m.infno = '3501' AND m.happened_at = l.counted_at)) \
         GROUP BY m.med_list_codg, m.manu_lotnum, m.infno \
         ORDER BY m.med_list_codg, m.manu_lotnum, m.infno LIMIT {}",
        max + 1
    ))
    .bind(fixmedins_code)
    .bind(ts(at))
    .bind(med_list_codg.unwrap_or_default())
    .fetch_all(pool)
    .await?;
    if rows.len() > max {
        return Err(StoreError::refused(
            "med_list_codg",
            format!("the institution holds more than {max} batch sums: ask for one list code"),
        ));
    }
    // Each batch's sums by kind, in (list code, batch number) order.
    let mut batches: BTreeMap<(String, String), Vec<crate::inventory::KindSums>> = BTreeMap::new();
    for row in &rows {
        let kind = crate::inventory::kind_of(&row.try_get::<String, _>("infno")?)?;
        batches
            .entry((row.try_get("med_list_codg")?, row.try_get("manu_lotnum")?))
            .or_default()
            .push((kind, row.try_get("total")?, row.try_get("moved")?));
    }
    let balances = batches
        .into_iter()
        .map(|((code, lot), sums)| crate::inventory::balance_of(code, lot, &sums))
        .collect();
    Ok(balances)
}

/// Every record naming `drug_trac_codg`, in time order.
pub(crate) async fn inventory_trace_uses(
    pool: &Pool,
    drug_trac_codg: &str,
) -> Result<Vec<crate::inventory::TraceCodeUse>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {INVENTORY_MOVEMENT_COLUMNS} FROM inventory_trace_code t \
         JOIN inventory_movement m ON m.fixmedins_code = t.fixmedins_code AND m.msgid = t.msgid AND m.seq = t.seq \
         {INVENTORY_CANCELLED_JOIN} \
         WHERE t.drug_trac_codg = $1 ORDER BY m.happened_at, m.fixmedins_code, m.msgid, m.seq LIMIT {}",
        limits::INVENTORY_ROWS_PER_READ_MAX
    ))
    .bind(drug_trac_codg)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let m = inventory_movement_of(row)?;
            Ok(crate::inventory::TraceCodeUse {
                fixmedins_code: m.fixmedins_code,
                kind: m.kind,
                msgid: m.msgid,
                seq: m.seq,
                med_list_codg: m.med_list_codg,
                happened_at: m.happened_at,
                cancelled: m.cancelled_by.is_some(),
            })
        })
        .collect()
}

/// Codes whose active sales outnumber their active sale returns by two or more, with the
/// institutions that sold them.
pub(crate) async fn inventory_sold_twice(
    pool: &Pool,
) -> Result<Vec<crate::inventory::TraceCodeSoldTwice>, StoreError> {
    let net = "CAST(SUM(CASE WHEN m.infno = '3505' THEN 1 ELSE -1 END) AS BIGINT)";
    let active_sales = format!(
        "FROM inventory_trace_code t \
         JOIN inventory_movement m ON m.fixmedins_code = t.fixmedins_code AND m.msgid = t.msgid AND m.seq = t.seq \
         {INVENTORY_CANCELLED_JOIN} \
         WHERE m.infno IN ('3505', '3506') AND c.msgid IS NULL"
    );
    let rows = sqlx::query(&format!(
        "SELECT t.drug_trac_codg, {net} AS net_sales {active_sales} \
         GROUP BY t.drug_trac_codg HAVING {net} >= 2 ORDER BY t.drug_trac_codg LIMIT {}",
        limits::INVENTORY_ROWS_PER_READ_MAX
    ))
    .fetch_all(pool)
    .await?;
    let mut found = Vec::with_capacity(rows.len());
    for row in &rows {
        let code: String = row.try_get("drug_trac_codg")?;
        let sellers = sqlx::query(&format!(
            "SELECT m.fixmedins_code, MIN(m.happened_at) AS first_at {active_sales} \
             AND m.infno = '3505' AND t.drug_trac_codg = $1 \
             GROUP BY m.fixmedins_code ORDER BY first_at, m.fixmedins_code"
        ))
        .bind(&code)
        .fetch_all(pool)
        .await?;
        found.push(crate::inventory::TraceCodeSoldTwice {
            drug_trac_codg: code,
            net_sales: row.try_get("net_sales")?,
            institutions: sellers
                .iter()
                .map(|s| s.try_get("fixmedins_code"))
                .collect::<Result<_, _>>()?,
        });
    }
    Ok(found)
}
