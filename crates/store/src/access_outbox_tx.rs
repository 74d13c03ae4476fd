// The access log's outbox: the SQL (see access_outbox.rs). Included into the two backend modules
// after access_log_tx.rs, whose head lock and batched append it uses.

use crate::access_outbox::OutboxRow;

/// Writes `rows` to the outbox inside `tx` (a write command's own transaction).
pub(crate) async fn outbox_insert(tx: &mut Tx<'_>, rows: &[OutboxRow]) -> Result<(), StoreError> {
    for chunk in rows.chunks(LOG_INSERT_ROWS_MAX) {
        let sql = log_multi_insert(
            "INSERT INTO access_outbox (ts_ms, event, actor, action, subject, purpose, item_codes, decision, reason, request_digest, response_digest)",
            chunk.len(),
            11,
        );
        let mut insert = sqlx::query(&sql);
        for row in chunk {
            insert = insert
                .bind(row.ts_ms)
                .bind(&row.event)
                .bind(&row.actor)
                .bind(&row.action)
                .bind(&row.subject)
                .bind(&row.purpose)
                .bind(&row.item_codes)
                .bind(row.decision)
                .bind(&row.reason)
                .bind(row.request_digest.map(|d| d.to_vec()))
                .bind(row.response_digest.map(|d| d.to_vec()));
        }
        insert.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Writes one event to the outbox inside `tx` and returns the record's id, the reference a
/// caller answers with before the sequencer makes it a leaf (a grantee's data call).
pub(crate) async fn outbox_append(
    tx: &mut Tx<'_>,
    entry: &AccessEntry,
    extras: &LeafExtras,
) -> Result<i64, StoreError> {
    let row = OutboxRow::of_entry(entry, extras);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO access_outbox (ts_ms, event, actor, action, subject, purpose, item_codes, decision, reason, request_digest, response_digest) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(row.ts_ms)
    .bind(&row.event)
    .bind(&row.actor)
    .bind(&row.action)
    .bind(&row.subject)
    .bind(&row.purpose)
    .bind(&row.item_codes)
    .bind(row.decision)
    .bind(&row.reason)
    .bind(row.request_digest.map(|d| d.to_vec()))
    .bind(row.response_digest.map(|d| d.to_vec()))
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// The leaf an outbox record became, once sequenced.
pub(crate) async fn outbox_leaf(pool: &Pool, outbox_id: i64) -> Result<Option<i64>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT idx FROM access_log WHERE outbox_id = $1")
            .bind(outbox_id)
            .fetch_optional(pool)
            .await?,
    )
}

/// Writes `rows` to the outbox in a transaction of their own and commits it.
pub(crate) async fn outbox_insert_alone(pool: &Pool, rows: &[OutboxRow]) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    match outbox_insert(&mut tx, rows).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(())
        }
        Err(e) => {
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

/// Rows waiting in the outbox.
pub(crate) async fn outbox_count(pool: &Pool) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM access_outbox")
        .fetch_one(pool)
        .await?)
}

/// The sequencer's step: under the head's lock (so two sequencers never take the same rows),
/// up to `max` outbox rows in id order become leaves and are deleted, in one transaction.
pub(crate) async fn outbox_sequence(pool: &Pool, max: i64) -> Result<u64, StoreError> {
    let mut tx = begin_write(pool).await?;
    let (size, edge) = log_head_lock(&mut tx).await?;
    let rows = sqlx::query(
        "SELECT id, ts_ms, event, actor, action, subject, purpose, item_codes, decision, reason, request_digest, response_digest \
         FROM access_outbox ORDER BY id LIMIT $1",
    )
    .bind(max)
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        tx.rollback().await?;
        return Ok(0);
    }
    let digest = |r: &DbRow, column: &str| -> Result<Option<[u8; 32]>, StoreError> {
        match r.try_get::<Option<Vec<u8>>, _>(column)? {
            None => Ok(None),
            Some(bytes) => bytes.try_into().map(Some).map_err(|_| {
                StoreError::Invariant(format!("access_outbox.{column} is not 32 bytes"))
            }),
        }
    };
    let mut ids = Vec::with_capacity(rows.len());
    let mut leaves = Vec::with_capacity(rows.len());
    for r in &rows {
        ids.push(r.try_get::<i64, _>("id")?);
        let item_codes: String = r.try_get("item_codes")?;
        leaves.push((
            AccessEntry {
                ts_ms: r.try_get("ts_ms")?,
                event: r.try_get("event")?,
                staff_id: None,
                action: r.try_get("action")?,
                subject_ref: r.try_get("subject")?,
                purpose: r.try_get("purpose")?,
                decision: match r.try_get::<String, _>("decision")?.as_str() {
                    "permit" => Decision::Permit,
                    "deny" => Decision::Deny,
                    other => {
                        return Err(StoreError::Invariant(format!(
                            "access_outbox.decision {other:?} is neither permit nor deny"
                        )))
                    }
                },
                reason: r.try_get("reason")?,
            },
            LeafExtras {
                item_codes: item_codes
                    .split(',')
                    .filter(|code| !code.is_empty())
                    .map(str::to_owned)
                    .collect(),
                request_digest: digest(r, "request_digest")?,
                response_digest: digest(r, "response_digest")?,
                actor: Some(r.try_get::<String, _>("actor")?).filter(|a| !a.is_empty()),
                grant_ref: None,
            },
        ));
    }
    let refs: Vec<(&AccessEntry, &LeafExtras)> = leaves.iter().map(|(e, x)| (e, x)).collect();
    log_append_locked(&mut tx, size, edge, &refs, Some(&ids)).await?;
    // The ids taken are contiguous only by chance (a write may commit after a later id): delete
    // exactly those.
    for chunk in ids.chunks(LOG_INSERT_ROWS_MAX) {
        let list = (1..=chunk.len())
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("DELETE FROM access_outbox WHERE id IN ({list})");
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(rows.len() as u64)
}

/// Records a write command's log rows (one per person it touched) in its own transaction, after
/// its answer is rendered: the change and its log record commit together.
pub(crate) async fn outbox_command(
    tx: &mut Tx<'_>,
    env: &Envelope,
    cmd: &Command,
    response: &str,
) -> Result<(), StoreError> {
    let subjects = crate::access_outbox::command_subjects(cmd);
    let rows: Vec<OutboxRow> =
        crate::access_outbox::command_accesses(env, &subjects, true, response)
            .iter()
            .map(crate::access_outbox::InterfaceAccess::row)
            .collect();
    if rows.is_empty() {
        return Ok(());
    }
    outbox_insert(tx, &rows).await
}
