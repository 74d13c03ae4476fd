// Transfers between regions (crate::transfer), written once for both backends: included in
// `pg` and `sq` by `backend!`.

fn transfer_day(text: &str, field: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| StoreError::bad(field, format!("`{text}` is not a YYYY-MM-DD date")))
}

pub(crate) async fn transfer_out(
    pool: &Pool,
    t: &crate::transfer::TransferOut,
    params: &yibao_enrollment::ParamSet,
    calendar: &yibao_enrollment::HolidayCalendar,
    now: NaiveDateTime,
) -> Result<crate::transfer::TransferReport, StoreError> {
    in_write_tx!(pool, |tx| transfer_out_in(
        &mut tx, t, params, calendar, now
    )
    .await)
}

async fn transfer_out_in(
    tx: &mut Tx<'_>,
    t: &crate::transfer::TransferOut,
    params: &yibao_enrollment::ParamSet,
    calendar: &yibao_enrollment::HolidayCalendar,
    now: NaiveDateTime,
) -> Result<crate::transfer::TransferReport, StoreError> {
    if t.insutype != "310" && t.insutype != "390" {
        return Err(StoreError::bad(
            "insutype",
            "only 310 and 390 relations move",
        ));
    }
    if t.done_on < t.accepted_on {
        return Err(StoreError::bad(
            "done_on",
            "before the application was accepted",
        ));
    }
    let lock = if IS_PG { " FOR UPDATE" } else { "" };
    let relation = sqlx::query(&format!(
        "SELECT psn_type, insuplc_admdvs, begndate FROM insurance \
         WHERE psn_no = $1 AND insutype = $2 AND psn_insu_stas = '1' \
           AND begndate <= $3 AND (enddate = '' OR enddate >= $3) \
         ORDER BY begndate DESC LIMIT 1{lock}"
    ))
    .bind(&t.psn_no)
    .bind(&t.insutype)
    .bind(t.done_on.to_string())
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| {
        StoreError::refused(
            "psn_no",
            format!("no {} relation in force on {}", t.insutype, t.done_on),
        )
    })?;
    let psn_type: String = relation.try_get(0)?;
    let from: String = relation.try_get(1)?;
    let begndate: String = relation.try_get(2)?;
    if psn_type.starts_with("12") || psn_type.starts_with("13") {
        return Err(StoreError::refused(
            "psn_no",
            "a retiree's relation is not transferred: file for cross-region care (异地安置) instead",
        ));
    }
    if from == t.to_admdvs {
        return Err(StoreError::bad(
            "to_admdvs",
            "the relation is already in that region",
        ));
    }
    if t.to_admdvs.len() != 6 || !t.to_admdvs.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StoreError::bad("to_admdvs", "a six-digit region code"));
    }
    let tp =
        crate::transfer::transfer_params(params, &from, t.accepted_on.year()).ok_or_else(|| {
            StoreError::refused("from_admdvs", format!("no transfer parameters for {from}"))
        })?;
    let due = yibao_enrollment::calendar::sending_deadline(t.accepted_on, tp, calendar)
        .map_err(|err| StoreError::refused("accepted_on", err.to_string()))?
        .due;
    let person = sqlx::query("SELECT certno, psn_name, gend, brdy FROM person WHERE psn_no = $1")
        .bind(&t.psn_no)
        .fetch_one(&mut **tx)
        .await?;
    let certno: String = person.try_get(0)?;
    // Months paid here (each month's normal assessment) and what earlier transfers, deemed
    // years and back-payments brought, by region.
    let local: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT period) FROM contribution_assessment \
         WHERE psn_no = $1 AND insutype = $2 AND insu_admdvs = $3 AND clct_type = 'normal' AND sign = 1",
    )
    .bind(&t.psn_no)
    .bind(&t.insutype)
    .bind(&from)
    .fetch_one(&mut **tx)
    .await?;
    let last_paid: Option<String> = sqlx::query_scalar(
        "SELECT MAX(period) FROM contribution_assessment \
         WHERE psn_no = $1 AND insutype = $2 AND insu_admdvs = $3 AND clct_type = 'normal' AND sign = 1",
    )
    .bind(&t.psn_no)
    .bind(&t.insutype)
    .bind(&from)
    .fetch_one(&mut **tx)
    .await?;
    let mut regions: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    regions.entry(from.clone()).or_default().0 += local;
    for row in sqlx::query(
        "SELECT admdvs, months_actual, months_deemed FROM contribution_years \
         WHERE psn_no = $1 AND insutype = $2",
    )
    .bind(&t.psn_no)
    .bind(&t.insutype)
    .fetch_all(&mut **tx)
    .await?
    {
        let entry = regions.entry(row.try_get(0)?).or_default();
        entry.0 += row.try_get::<i64, _>(1)?;
        entry.1 += row.try_get::<i64, _>(2)?;
    }
    let months_actual: i64 = regions.values().map(|m| m.0).sum();
    let months_deemed: i64 = regions.values().map(|m| m.1).sum();
    let account = ledger::personal_account(&t.psn_no);
    let balance = if t.insutype == "310" {
        account_balance_tx(tx, &account, true).await?.unwrap_or(0)
    } else {
        0
    };
    let transfer_id = format!(
        "TR{}{}{}{}",
        from,
        t.to_admdvs,
        t.accepted_on.format("%Y%m%d"),
        t.psn_no
    );
    let sheet = serde_json::json!({
        "transfer_id": transfer_id,
        "psn_no": t.psn_no,
        "certno": certno,
        "psn_name": person.try_get::<String, _>(1)?,
        "gend": person.try_get::<String, _>(2)?,
        "brdy": person.try_get::<String, _>(3)?,
        "insutype": t.insutype,
        "psn_type": psn_type,
        "from_admdvs": from,
        "to_admdvs": t.to_admdvs,
        "relation_begndate": begndate,
        "ended_on": t.done_on.to_string(),
        "last_paid": last_paid,
        "regions": regions.iter().map(|(admdvs, (actual, deemed))| serde_json::json!({
            "admdvs": admdvs, "months_actual": actual, "months_deemed": deemed,
        })).collect::<Vec<_>>(),
        "months_actual": months_actual,
        "months_deemed": months_deemed,
        "balance_fen": balance,
    })
    .to_string();
    let inserted = sqlx::query(
        "INSERT INTO relation_transfer (transfer_id, direction, psn_no, certno, insutype, \
         from_admdvs, to_admdvs, accepted_on, due_on, done_on, months_actual, months_deemed, \
         balance_fen, sheet, recorded_at) \
         VALUES ($1, 'out', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (transfer_id, direction) DO NOTHING",
    )
    .bind(&transfer_id)
    .bind(&t.psn_no)
    .bind(&certno)
    .bind(&t.insutype)
    .bind(&from)
    .bind(&t.to_admdvs)
    .bind(t.accepted_on.to_string())
    .bind(due.to_string())
    .bind(t.done_on.to_string())
    .bind(months_actual)
    .bind(months_deemed)
    .bind(balance)
    .bind(&sheet)
    .bind(now.format("%Y-%m-%d %H:%M:%S").to_string())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(StoreError::refused(
            "transfer_id",
            format!("{transfer_id} was sent before"),
        ));
    }
    // The relation ends (终止) the day the transfer is done.
    sqlx::query(
        "UPDATE insurance SET enddate = $1, psn_insu_stas = '4' \
         WHERE psn_no = $2 AND insutype = $3 AND begndate = $4",
    )
    .bind(t.done_on.to_string())
    .bind(&t.psn_no)
    .bind(&t.insutype)
    .bind(&begndate)
    .execute(&mut **tx)
    .await?;
    if balance > 0 {
        let clearing = crate::transfer::transfer_out_account(&from);
        ensure_accounts(tx, &[(clearing.clone(), "fund", from.clone())]).await?;
        post_transfers(
            tx,
            &transfer_id,
            &t.psn_no,
            &t.done_on.to_string(),
            &[(
                account,
                clearing,
                balance,
                crate::transfer::KIND_TRANSFER_OUT.to_owned(),
            )],
        )
        .await?;
    }
    Ok(crate::transfer::TransferReport {
        transfer_id,
        sheet,
        due_on: due,
        done_on: t.done_on,
        late: t.done_on > due,
        months_actual,
        months_deemed,
        balance: yibao_core_types::Fen(balance),
    })
}

pub(crate) async fn transfer_in(
    pool: &Pool,
    sheet: &serde_json::Value,
    received_on: NaiveDate,
    done_on: NaiveDate,
    params: &yibao_enrollment::ParamSet,
    calendar: &yibao_enrollment::HolidayCalendar,
    now: NaiveDateTime,
) -> Result<crate::transfer::TransferReport, StoreError> {
    in_write_tx!(pool, |tx| {
        transfer_in_in(&mut tx, sheet, received_on, done_on, params, calendar, now).await
    })
}

async fn transfer_in_in(
    tx: &mut Tx<'_>,
    sheet: &serde_json::Value,
    received_on: NaiveDate,
    done_on: NaiveDate,
    params: &yibao_enrollment::ParamSet,
    calendar: &yibao_enrollment::HolidayCalendar,
    now: NaiveDateTime,
) -> Result<crate::transfer::TransferReport, StoreError> {
    let text = |field: &str| -> Result<String, StoreError> {
        sheet[field]
            .as_str()
            .filter(|s| !s.is_empty() && s.chars().count() <= 60)
            .map(str::to_owned)
            .ok_or_else(|| StoreError::bad(format!("sheet.{field}"), "missing or not text"))
    };
    let number = |field: &str| -> Result<i64, StoreError> {
        sheet[field]
            .as_i64()
            .filter(|n| *n >= 0)
            .ok_or_else(|| StoreError::bad(format!("sheet.{field}"), "missing or not a count"))
    };
    if done_on < received_on {
        return Err(StoreError::bad("done_on", "before the sheet was received"));
    }
    let transfer_id = text("transfer_id")?;
    let insutype = text("insutype")?;
    if insutype != "310" && insutype != "390" {
        return Err(StoreError::bad(
            "sheet.insutype",
            "only 310 and 390 relations move",
        ));
    }
    let psn_type = text("psn_type")?;
    let from = text("from_admdvs")?;
    let to = text("to_admdvs")?;
    let ended_on = transfer_day(&text("ended_on")?, "sheet.ended_on")?;
    let balance = number("balance_fen")?;
    let certno = yibao_enrollment::CitizenId::parse(&text("certno")?, done_on)
        .map_err(|err| StoreError::bad("sheet.certno", format!("{} ({})", err, err.reason())))?;
    let regions = sheet["regions"]
        .as_array()
        .ok_or_else(|| StoreError::bad("sheet.regions", "missing or not a list"))?;
    if regions.len() > 100 {
        return Err(StoreError::bad("sheet.regions", "more than 100 regions"));
    }
    let mut months_actual = 0;
    let mut months_deemed = 0;
    let mut years = Vec::with_capacity(regions.len());
    for (i, r) in regions.iter().enumerate() {
        let admdvs = r["admdvs"]
            .as_str()
            .filter(|a| a.len() == 6 && a.bytes().all(|b| b.is_ascii_digit()));
        let actual = r["months_actual"]
            .as_i64()
            .filter(|n| (0..=1200).contains(n));
        let deemed = r["months_deemed"]
            .as_i64()
            .filter(|n| (0..=1200).contains(n));
        match (admdvs, actual, deemed) {
            (Some(a), Some(m), Some(d)) => {
                months_actual += m;
                months_deemed += d;
                years.push((a.to_owned(), m, d));
            }
            _ => {
                return Err(StoreError::bad(
                    format!("sheet.regions[{i}]"),
                    "admdvs (6 digits), months_actual and months_deemed (0–1200)",
                ))
            }
        }
    }
    let psn_no: String = sqlx::query_scalar("SELECT psn_no FROM person WHERE certno = $1")
        .bind(certno.as_str())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::not_found("sheet.certno", certno.as_str()))?;
    let tp =
        crate::transfer::transfer_params(params, &to, received_on.year()).ok_or_else(|| {
            StoreError::refused(
                "sheet.to_admdvs",
                format!("no transfer parameters for {to}"),
            )
        })?;
    let due = yibao_enrollment::calendar::receiving_deadline(received_on, tp, calendar)
        .map_err(|err| StoreError::refused("received_on", err.to_string()))?
        .due;
    let opens = ended_on
        .succ_opt()
        .ok_or_else(|| StoreError::bad("sheet.ended_on", "out of range"))?;
    // Never insured twice: no basic relation may be in force from the day the new one opens.
    let in_force: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM insurance WHERE psn_no = $1 AND insutype IN ('310', '390') \
         AND psn_insu_stas = '1' AND (enddate = '' OR enddate >= $2)",
    )
    .bind(&psn_no)
    .bind(opens.to_string())
    .fetch_one(&mut **tx)
    .await?;
    if in_force > 0 {
        return Err(StoreError::refused(
            "sheet.certno",
            format!(
                "the person has a basic relation in force on {opens}: it would be insured twice"
            ),
        ));
    }
    let inserted = sqlx::query(
        "INSERT INTO relation_transfer (transfer_id, direction, psn_no, certno, insutype, \
         from_admdvs, to_admdvs, accepted_on, due_on, done_on, months_actual, months_deemed, \
         balance_fen, sheet, recorded_at) \
         VALUES ($1, 'in', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (transfer_id, direction) DO NOTHING",
    )
    .bind(&transfer_id)
    .bind(&psn_no)
    .bind(certno.as_str())
    .bind(&insutype)
    .bind(&from)
    .bind(&to)
    .bind(received_on.to_string())
    .bind(due.to_string())
    .bind(done_on.to_string())
    .bind(months_actual)
    .bind(months_deemed)
    .bind(balance)
    .bind(sheet.to_string())
    .bind(now.format("%Y-%m-%d %H:%M:%S").to_string())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(StoreError::refused(
            "sheet.transfer_id",
            format!("{transfer_id} was loaded before"),
        ));
    }
    sqlx::query(
        "INSERT INTO insurance (psn_no, insutype, psn_type, insuplc_admdvs, emp_name, begndate, \
         enddate, psn_insu_stas) VALUES ($1, $2, $3, $4, '', $5, '', '1')",
    )
    .bind(&psn_no)
    .bind(&insutype)
    .bind(&psn_type)
    .bind(&to)
    .bind(opens.to_string())
    .execute(&mut **tx)
    .await?;
    let recorded_at = now.format("%Y-%m-%d %H:%M:%S").to_string();
    for (admdvs, actual, deemed) in &years {
        sqlx::query(
            "INSERT INTO contribution_years (psn_no, insutype, admdvs, source, months_actual, \
             months_deemed, recorded_at) VALUES ($1, $2, $3, 'transfer_in', $4, $5, $6) \
             ON CONFLICT (psn_no, insutype, admdvs, source) DO UPDATE SET \
             months_actual = contribution_years.months_actual + excluded.months_actual, \
             months_deemed = contribution_years.months_deemed + excluded.months_deemed, \
             recorded_at = excluded.recorded_at",
        )
        .bind(&psn_no)
        .bind(&insutype)
        .bind(admdvs)
        .bind(actual)
        .bind(deemed)
        .bind(&recorded_at)
        .execute(&mut **tx)
        .await?;
    }
    if balance > 0 {
        let account = ledger::personal_account(&psn_no);
        sqlx::query(
            "INSERT INTO ledger_account (account_code, kind, owner, may_go_negative) \
             VALUES ($1, 'personal', $2, 0) ON CONFLICT (account_code) DO NOTHING",
        )
        .bind(&account)
        .bind(&psn_no)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO ledger_balance (account_code, shard, may_go_negative, balance_fen) \
             VALUES ($1, 0, 0, 0) ON CONFLICT (account_code, shard) DO NOTHING",
        )
        .bind(&account)
        .execute(&mut **tx)
        .await?;
        let clearing = crate::transfer::transfer_in_account(&to);
        ensure_accounts(tx, &[(clearing.clone(), "fund", to.clone())]).await?;
        post_transfers(
            tx,
            &format!("{transfer_id}:in"),
            &psn_no,
            &done_on.to_string(),
            &[(
                clearing,
                account,
                balance,
                crate::transfer::KIND_TRANSFER_IN.to_owned(),
            )],
        )
        .await?;
    }
    Ok(crate::transfer::TransferReport {
        transfer_id,
        sheet: sheet.to_string(),
        due_on: due,
        done_on,
        late: done_on > due,
        months_actual,
        months_deemed,
        balance: yibao_core_types::Fen(balance),
    })
}
