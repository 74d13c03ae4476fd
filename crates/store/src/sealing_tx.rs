// Encryption at rest (sealing.rs): counting sealed values by key version, and rewrap batches
// that index the clear e-voucher tokens of an older database and re-seal values under their
// family's active key. Table and column names come from `sealing::SEALED_COLUMNS`, constants,
// never from input.
// Compiled once per backend; see lib.rs.

/// Counts the values of every sealed column by key version, and the clear tokens.
pub(crate) async fn sealing_status(
    pool: &Pool,
    keyring: &crate::sealing::Keyring,
) -> Result<crate::sealing::KeysStatus, StoreError> {
    let mut columns = Vec::new();
    for column in crate::sealing::SEALED_COLUMNS {
        let (table, col) = (column.table, column.column);
        let count = |sql: String, bind: Option<String>| async move {
            let mut query = sqlx::query(&sql);
            if let Some(bind) = bind {
                query = query.bind(bind);
            }
            let rows: i64 = query.fetch_one(pool).await?.try_get(0)?;
            Ok::<i64, StoreError>(rows)
        };
        let total = count(
            format!("SELECT COUNT(*) FROM {table} WHERE {col} <> ''"),
            None,
        )
        .await?;
        let clear = count(
            format!("SELECT COUNT(*) FROM {table} WHERE {col} <> '' AND {col} NOT LIKE 'v%:%'"),
            None,
        )
        .await?;
        let mut by_version = Vec::new();
        for version in keyring.versions(column.family) {
            let rows = count(
                format!("SELECT COUNT(*) FROM {table} WHERE {col} LIKE $1"),
                Some(format!("v{version}:%")),
            )
            .await?;
            by_version.push((version, rows));
        }
        let known: i64 = by_version.iter().map(|(_, rows)| rows).sum();
        columns.push(crate::sealing::ColumnStatus {
            column: *column,
            by_version,
            clear,
            unknown_version: total - clear - known,
        });
    }
    let ec_tokens_clear: i64 = sqlx::query("SELECT COUNT(*) FROM ec_token_clear")
        .fetch_one(pool)
        .await?
        .try_get(0)?;
    let ec_tokens_indexed: i64 = sqlx::query("SELECT COUNT(*) FROM ec_token")
        .fetch_one(pool)
        .await?
        .try_get(0)?;
    Ok(crate::sealing::KeysStatus {
        columns,
        ec_tokens_clear,
        ec_tokens_indexed,
    })
}

/// One rewrap batch in one transaction (see `Store::rewrap_batch`).
pub(crate) async fn sealing_rewrap_batch(
    pool: &Pool,
    keyring: &crate::sealing::Keyring,
    rows_max: i64,
    now_ms: i64,
    cursor: &mut crate::sealing::RewrapCursor,
) -> Result<crate::sealing::RewrapProgress, StoreError> {
    let mut tx = pool.begin().await?;
    let mut progress = crate::sealing::RewrapProgress::default();
    // The cursor moves only once the batch has committed.
    let mut next = cursor.clone();
    let tokens = sqlx::query(
        "SELECT ec_token, psn_no, begndate, enddate FROM ec_token_clear ORDER BY ec_token LIMIT $1",
    )
    .bind(rows_max)
    .fetch_all(&mut *tx)
    .await?;
    for row in &tokens {
        let token: String = row.try_get(0)?;
        let index = crate::sealing::token_index(keyring, &token);
        sqlx::query(
            "INSERT INTO ec_token (token_index, psn_no, begndate, enddate) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (token_index) DO NOTHING",
        )
        .bind(&index)
        .bind(row.try_get::<String, _>(1)?)
        .bind(row.try_get::<String, _>(2)?)
        .bind(row.try_get::<String, _>(3)?)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM ec_token_clear WHERE ec_token = $1")
            .bind(&token)
            .execute(&mut *tx)
            .await?;
        progress.tokens_indexed += 1;
    }
    let mut left = rows_max - i64::try_from(tokens.len()).expect("rows fit i64");
    next.tokens_done = left > 0;
    while left > 0 && next.column_idx < crate::sealing::SEALED_COLUMNS.len() {
        let column = &crate::sealing::SEALED_COLUMNS[next.column_idx];
        let active = keyring
            .active_version(column.family)
            .ok_or_else(|| StoreError::Sealed {
                place: format!("{}.{}", column.table, column.column),
                source: yibao_gm::GmError::NoActiveKey {
                    family: column.family.to_owned(),
                },
            })?;
        let (table, col, key) = (column.table, column.column, column.row_key);
        let rows = sqlx::query(&format!(
            "SELECT {key}, {col} FROM {table} WHERE {key} > $1 AND {col} <> '' AND {col} NOT LIKE $2 \
             ORDER BY {key} LIMIT $3"
        ))
        .bind(next.after.clone().unwrap_or_default())
        .bind(format!("v{active}:%"))
        .bind(left)
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            let row_key: String = row.try_get(0)?;
            let stored: String = row.try_get(1)?;
            let clear = if yibao_gm::sealed_version(&stored).is_some() {
                crate::sealing::open_field(keyring, column, &row_key, &stored)?
            } else {
                stored.clone()
            };
            let resealed = crate::sealing::seal_field(keyring, column, &row_key, &clear)?;
            assert!(
                crate::sealing::is_under(&resealed, active),
                "a rewrap seals under the active version"
            );
            // Compare and set: a row changed since it was read is left as it is (`yibao keys
            // status` shows it, and the next rewrap takes it).
            let updated = sqlx::query(&format!(
                "UPDATE {table} SET {col} = $1 WHERE {key} = $2 AND {col} = $3"
            ))
            .bind(&resealed)
            .bind(&row_key)
            .bind(&stored)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            progress.resealed += updated;
            next.after = Some(row_key);
        }
        let n_rows = i64::try_from(rows.len()).expect("rows fit i64");
        if n_rows < left {
            // The column is done: on to the next one from its start.
            next.column_idx += 1;
            next.after = None;
        }
        left -= n_rows;
    }
    if !progress.is_empty() {
        let entry = crate::staff::AccessEntry {
            ts_ms: now_ms,
            event: "keys.rewrap".to_owned(),
            action: "yibao keys rewrap".to_owned(),
            decision: crate::staff::Decision::Permit,
            reason: format!(
                "{} values re-sealed, {} tokens indexed",
                progress.resealed, progress.tokens_indexed
            ),
            ..Default::default()
        };
        access_append(&mut tx, &entry).await?;
    }
    tx.commit().await?;
    *cursor = next;
    Ok(progress)
}
