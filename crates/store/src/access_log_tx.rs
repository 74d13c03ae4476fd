// The tamper-evident access log: the SQL (see access_log.rs). Included into the two backend
// modules after staff_tx.rs, whose `Conn` type it shares. An append is one row insert, one
// multi-row insert of the subtrees it completes (one on average) and the head update, all in the
// caller's transaction; hashes are computed here, never by the database.

use crate::access_log::{
    self as log_rules, AccessLogRow, Cosigned, Edge, LeafExtras, LeafProof, LogKeys,
    StoredCheckpoint, SubtreeMap, VerifyInput, VerifyRow, WitnessKey,
};
use yibao_translog::checkpoint::NoteSigner;
use yibao_translog::tree::SubtreeId;

/// Appends `entry` as the next leaf inside `tx` and returns its index. The head row (locked on
/// PostgreSQL; SQLite has one writer) gives the index and the right edge; the leaf, the
/// subtrees it completes, its person-index row and the new head are written together, so the
/// caller's change and its log entry commit or vanish together.
pub(crate) async fn access_append(tx: &mut Tx<'_>, entry: &AccessEntry) -> Result<i64, StoreError> {
    access_append_with(tx, entry, &LeafExtras::default()).await
}

/// [`access_append`] with the §9.2 extras.
pub(crate) async fn access_append_with(
    tx: &mut Tx<'_>,
    entry: &AccessEntry,
    extras: &LeafExtras,
) -> Result<i64, StoreError> {
    let (size, edge) = log_head_lock(tx).await?;
    log_append_locked(tx, size, edge, &[(entry, extras)], None).await?;
    Ok(size)
}

/// Locks the head (PostgreSQL; SQLite has one writer) and reads the next index and the right
/// edge.
async fn log_head_lock(tx: &mut Tx<'_>) -> Result<(i64, Edge), StoreError> {
    let lock = if IS_PG { " FOR UPDATE" } else { "" };
    let r = sqlx::query(&format!(
        "SELECT size, edge FROM access_log_head WHERE id = 1{lock}"
    ))
    .fetch_one(&mut **tx)
    .await?;
    let size: i64 = r.try_get("size")?;
    let edge = Edge::from_bytes(&r.try_get::<Vec<u8>, _>("edge")?, size as u64)?;
    Ok((size, edge))
}

/// Rows per multi-row insert of the log's tables (at most 11 parameters a row).
const LOG_INSERT_ROWS_MAX: usize = 500;

/// `INSERT INTO {head} VALUES ($1, …, $columns), …` for `rows` rows of `columns` parameters.
fn log_multi_insert(head: &str, rows: usize, columns: usize) -> String {
    let mut sql = String::from(head);
    sql.push_str(" VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", row * columns + column + 1));
        }
        sql.push(')');
    }
    sql
}

/// Appends `entries` as leaves `size`, `size + 1` … under the head locked by
/// [`log_head_lock`]: the leaves (each with the id of the outbox record it comes from, when
/// it does), the subtrees they complete and their person-index rows in multi-row inserts, then
/// the new head. Hashes are computed here.
async fn log_append_locked(
    tx: &mut Tx<'_>,
    size: i64,
    mut edge: Edge,
    entries: &[(&AccessEntry, &LeafExtras)],
    outbox_ids: Option<&[i64]>,
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let keys = log_rules::process_keys()?;
    let mut built = Vec::with_capacity(entries.len());
    let mut completed = Vec::new();
    let mut persons = Vec::new();
    for (n, (entry, extras)) in entries.iter().enumerate() {
        let idx = size + n as i64;
        let nonce: [u8; 16] = yibao_gm::random_bytes()
            .map_err(|e| StoreError::Invariant(format!("leaf nonce: {e}")))?;
        let salt: [u8; 16] = yibao_gm::random_bytes()
            .map_err(|e| StoreError::Invariant(format!("detail salt: {e}")))?;
        let leaf = log_rules::build_leaf(&keys, idx as u64, entry, extras, nonce, salt)?;
        completed.extend(edge.push(idx as u64, leaf.leaf_hash));
        if let Some(person_key) = leaf.person_key {
            persons.push((person_key, idx));
        }
        let outbox_id = outbox_ids.and_then(|ids| ids.get(n).copied());
        built.push((idx, entry.staff_id, entry.action.as_str(), leaf, outbox_id));
    }
    for chunk in built.chunks(LOG_INSERT_ROWS_MAX) {
        let sql = log_multi_insert(
            "INSERT INTO access_log (idx, leaf, leaf_hash, staff_id, action, subject_label, reason_text, detail_salt, outbox_id)",
            chunk.len(),
            9,
        );
        let mut insert = sqlx::query(&sql);
        for (idx, staff_id, action, leaf, outbox_id) in chunk {
            insert = insert
                .bind(*idx)
                .bind(&leaf.leaf)
                .bind(&leaf.leaf_hash[..])
                .bind(*staff_id)
                .bind(*action)
                .bind(&leaf.subject_label)
                .bind(&leaf.reason_text)
                .bind(&leaf.detail_salt[..])
                .bind(*outbox_id);
        }
        insert.execute(&mut **tx).await?;
    }
    for chunk in completed.chunks(LOG_INSERT_ROWS_MAX) {
        let sql = log_multi_insert("INSERT INTO log_subtree (level, idx, hash)", chunk.len(), 3);
        let mut insert = sqlx::query(&sql);
        for (id, hash) in chunk {
            insert = insert
                .bind(i64::from(id.level))
                .bind(id.index as i64)
                .bind(hash.to_vec());
        }
        insert.execute(&mut **tx).await?;
    }
    for chunk in persons.chunks(LOG_INSERT_ROWS_MAX) {
        let sql = log_multi_insert(
            "INSERT INTO log_person (person_key, leaf_idx)",
            chunk.len(),
            2,
        );
        let mut insert = sqlx::query(&sql);
        for (person_key, idx) in chunk {
            insert = insert.bind(person_key.to_vec()).bind(*idx);
        }
        insert.execute(&mut **tx).await?;
    }
    sqlx::query("UPDATE access_log_head SET size = $1, edge = $2 WHERE id = 1")
        .bind(size + entries.len() as i64)
        .bind(edge.to_bytes())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(crate) async fn access_append_alone(
    pool: &Pool,
    entry: &AccessEntry,
) -> Result<i64, StoreError> {
    let mut tx = pool.begin().await?;
    let idx = access_append(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(idx)
}

const LEAF_COLUMNS: &str =
    "idx, leaf, leaf_hash, staff_id, action, subject_label, reason_text, detail_salt";

pub(crate) async fn access_log_page(
    pool: &Pool,
    after: i64,
    limit: i64,
) -> Result<Vec<AccessLogRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {LEAF_COLUMNS} FROM access_log WHERE idx > $1 ORDER BY idx LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            log_rules::log_row_of(
                r.try_get("idx")?,
                &r.try_get::<Vec<u8>, _>("leaf")?,
                &r.try_get::<Vec<u8>, _>("leaf_hash")?,
                r.try_get("staff_id")?,
                r.try_get("action")?,
                r.try_get("subject_label")?,
                r.try_get("reason_text")?,
            )
        })
        .collect()
}

fn checkpoint_of(r: &DbRow) -> Result<StoredCheckpoint, StoreError> {
    Ok(StoredCheckpoint {
        size: r.try_get("size")?,
        root: log_rules::hex(&r.try_get::<Vec<u8>, _>("root")?),
        note: r.try_get("note")?,
        origin: r.try_get("origin")?,
        public_key: r.try_get("public_key")?,
    })
}

const CHECKPOINT_COLUMNS: &str = "size, root, note, origin, public_key";

pub(crate) async fn log_checkpoints_read(pool: &Pool) -> Result<Vec<StoredCheckpoint>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {CHECKPOINT_COLUMNS} FROM log_checkpoint ORDER BY size"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(checkpoint_of).collect()
}

/// The stored hashes of `ids`, read in one query.
async fn log_subtrees_read(conn: &mut Conn, ids: &[SubtreeId]) -> Result<SubtreeMap, StoreError> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    let mut map = SubtreeMap::default();
    for chunk in ids.chunks(limits::LOG_PROOF_READS_MAX) {
        let mut sql = String::from("SELECT level, idx, hash FROM log_subtree WHERE ");
        for n in 0..chunk.len() {
            if n > 0 {
                sql.push_str(" OR ");
            }
            sql.push_str(&format!(
                "(level = ${} AND idx = ${})",
                2 * n + 1,
                2 * n + 2
            ));
        }
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(i64::from(id.level)).bind(id.index as i64);
        }
        for r in query.fetch_all(&mut *conn).await? {
            let level: i64 = r.try_get("level")?;
            let idx: i64 = r.try_get("idx")?;
            let hash: Vec<u8> = r.try_get("hash")?;
            let hash = hash.try_into().map_err(|_| {
                StoreError::Invariant(format!("stored subtree ({level}, {idx}) is not 32 bytes"))
            })?;
            map.0.insert(
                SubtreeId {
                    level: level as u8,
                    index: idx as u64,
                },
                hash,
            );
        }
    }
    Ok(map)
}

fn proof_error(e: yibao_translog::LogError) -> StoreError {
    match e {
        yibao_translog::LogError::ProofRange { .. } => StoreError::bad("size", e.to_string()),
        other => StoreError::Invariant(format!("access log proof: {other}")),
    }
}

async fn log_head_size(conn: &mut Conn) -> Result<i64, StoreError> {
    Ok(sqlx::query("SELECT size FROM access_log_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?
        .try_get("size")?)
}

pub(crate) async fn log_inclusion(
    pool: &Pool,
    idx: i64,
    size: i64,
) -> Result<LeafProof, StoreError> {
    let mut conn = pool.acquire().await?;
    let head = log_head_size(&mut conn).await?;
    if size > head {
        return Err(StoreError::bad(
            "size",
            format!("the log holds {head} leaves, fewer than {size}"),
        ));
    }
    let mut ids = yibao_translog::tree::inclusion_proof_reads(size as u64, idx as u64)
        .map_err(proof_error)?;
    ids.extend(log_rules::root_subtrees(size as u64));
    let map = log_subtrees_read(&mut conn, &ids).await?;
    let proof =
        yibao_translog::inclusion_proof(&map, size as u64, idx as u64).map_err(proof_error)?;
    let root = yibao_translog::root(&map, size as u64).map_err(proof_error)?;
    let leaf: Vec<u8> = sqlx::query("SELECT leaf FROM access_log WHERE idx = $1")
        .bind(idx)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::not_found("idx", idx.to_string()))?
        .try_get("leaf")?;
    let checkpoint = sqlx::query(&format!(
        "SELECT {CHECKPOINT_COLUMNS} FROM log_checkpoint WHERE size = $1"
    ))
    .bind(size)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| checkpoint_of(&r))
    .transpose()?;
    Ok(LeafProof {
        idx,
        size,
        leaf,
        proof,
        root,
        checkpoint,
    })
}

pub(crate) async fn log_consistency(
    pool: &Pool,
    from: i64,
    to: i64,
) -> Result<yibao_translog::ConsistencyProof, StoreError> {
    let mut conn = pool.acquire().await?;
    let head = log_head_size(&mut conn).await?;
    if to > head {
        return Err(StoreError::bad(
            "to",
            format!("the log holds {head} leaves, fewer than {to}"),
        ));
    }
    let ids = yibao_translog::tree::consistency_proof_reads(from as u64, to as u64)
        .map_err(proof_error)?;
    let map = log_subtrees_read(&mut conn, &ids).await?;
    yibao_translog::consistency_proof(&map, from as u64, to as u64).map_err(proof_error)
}

pub(crate) async fn log_checkpoint_sign(
    pool: &Pool,
    keys: &LogKeys,
    signer: &NoteSigner,
) -> Result<StoredCheckpoint, StoreError> {
    let mut tx = pool.begin().await?;
    let lock = if IS_PG { " FOR UPDATE" } else { "" };
    let r = sqlx::query(&format!(
        "SELECT size, edge FROM access_log_head WHERE id = 1{lock}"
    ))
    .fetch_one(&mut *tx)
    .await?;
    let size: i64 = r.try_get("size")?;
    let edge = Edge::from_bytes(&r.try_get::<Vec<u8>, _>("edge")?, size as u64)?;
    if let Some(r) = sqlx::query(&format!(
        "SELECT {CHECKPOINT_COLUMNS} FROM log_checkpoint WHERE size = $1"
    ))
    .bind(size)
    .fetch_optional(&mut *tx)
    .await?
    {
        return checkpoint_of(&r);
    }
    // The root from the head's edge must be the root the stored subtrees give (what proofs
    // read): sign nothing the proofs would contradict.
    let root = edge.root();
    let map = log_subtrees_read(&mut tx, &log_rules::root_subtrees(size as u64)).await?;
    let stored_root = yibao_translog::root(&map, size as u64)
        .map_err(|e| StoreError::Invariant(format!("access log root: {e}")))?;
    if stored_root != root {
        return Err(StoreError::Invariant(format!(
            "the access log head's edge and the stored subtrees give different roots at size {size}"
        )));
    }
    let checkpoint = yibao_translog::Checkpoint {
        origin: keys.origin().to_owned(),
        size: size as u64,
        root,
    };
    let note = yibao_translog::sign_checkpoint(&checkpoint, signer)
        .map_err(|e| StoreError::Invariant(format!("signing a checkpoint: {e}")))?;
    let stored = StoredCheckpoint {
        size,
        root: log_rules::hex(&root),
        note,
        origin: keys.origin().to_owned(),
        public_key: keys.verifying_key().to_hex(),
    };
    sqlx::query(
        "INSERT INTO log_checkpoint (size, root, note, origin, public_key) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(size)
    .bind(&root[..])
    .bind(&stored.note)
    .bind(&stored.origin)
    .bind(&stored.public_key)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(stored)
}

pub(crate) async fn log_verify_read(pool: &Pool) -> Result<VerifyInput, StoreError> {
    let mut conn = pool.acquire().await?;
    // One snapshot, so that appends made meanwhile are not half seen.
    sqlx::query(if IS_PG {
        "BEGIN ISOLATION LEVEL REPEATABLE READ"
    } else {
        "BEGIN"
    })
    .execute(&mut *conn)
    .await?;
    let result = log_verify_read_in(&mut conn).await;
    sqlx::query("ROLLBACK").execute(&mut *conn).await?;
    result
}

async fn log_verify_read_in(conn: &mut Conn) -> Result<VerifyInput, StoreError> {
    let head_size = log_head_size(conn).await?;
    let mut rows = Vec::new();
    for r in sqlx::query(&format!(
        "SELECT {LEAF_COLUMNS} FROM access_log ORDER BY idx"
    ))
    .fetch_all(&mut *conn)
    .await?
    {
        rows.push(VerifyRow {
            idx: r.try_get("idx")?,
            leaf: r.try_get("leaf")?,
            leaf_hash: r.try_get("leaf_hash")?,
            staff_id: r.try_get("staff_id")?,
            action: r.try_get("action")?,
            subject_label: r.try_get("subject_label")?,
            reason_text: r.try_get("reason_text")?,
            detail_salt: r.try_get("detail_salt")?,
        });
    }
    let checkpoints = sqlx::query(&format!(
        "SELECT {CHECKPOINT_COLUMNS} FROM log_checkpoint ORDER BY size"
    ))
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(checkpoint_of)
    .collect::<Result<Vec<_>, _>>()?;
    let mut subtrees = SubtreeMap::default();
    for r in sqlx::query("SELECT level, idx, hash FROM log_subtree")
        .fetch_all(&mut *conn)
        .await?
    {
        let level: i64 = r.try_get("level")?;
        let idx: i64 = r.try_get("idx")?;
        // A stored hash of the wrong length is kept out of the reference: the leaf it covers is
        // then reported, not the read.
        if let Ok(hash) = <[u8; 32]>::try_from(r.try_get::<Vec<u8>, _>("hash")?) {
            subtrees.0.insert(
                SubtreeId {
                    level: level.clamp(0, 62) as u8,
                    index: idx.max(0) as u64,
                },
                hash,
            );
        }
    }
    Ok(VerifyInput {
        rows,
        head_size,
        checkpoints,
        subtrees,
    })
}

pub(crate) async fn log_witness_cosign(
    pool: &Pool,
    witness: &WitnessKey,
    signer: NoteSigner,
    now_s: u64,
) -> Result<Cosigned, StoreError> {
    let mut tx = pool.begin().await?;
    let Some(newest) = sqlx::query(&format!(
        "SELECT {CHECKPOINT_COLUMNS} FROM log_checkpoint ORDER BY size DESC LIMIT 1"
    ))
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| checkpoint_of(&r))
    .transpose()?
    else {
        return Err(StoreError::refused(
            "checkpoint",
            "no checkpoint has been signed yet",
        ));
    };
    let key_id = witness.key_id();
    let last = sqlx::query(
        "SELECT size, root, log_key FROM log_cosignature WHERE witness_key_id = $1 \
         ORDER BY size DESC LIMIT 1",
    )
    .bind(&key_id)
    .fetch_optional(&mut *tx)
    .await?;
    let seen = match &last {
        Some(r) => {
            let log_key: String = r.try_get("log_key")?;
            if log_key != newest.public_key {
                return Err(StoreError::refused(
                    "checkpoint",
                    "the newest checkpoint is signed by another log key than the one this witness checked before",
                ));
            }
            let root: Vec<u8> = r.try_get("root")?;
            Some(yibao_translog::Checkpoint {
                origin: newest.origin.clone(),
                size: r.try_get::<i64, _>("size")? as u64,
                root: root.try_into().map_err(|_| {
                    StoreError::Invariant("a stored cosigned root is not 32 bytes".into())
                })?,
            })
        }
        None => None,
    };
    let log_key = yibao_gm::VerifyingKey::from_hex(&newest.public_key)
        .map_err(|e| StoreError::Invariant(format!("stored log key: {e}")))?;
    let log = yibao_translog::NoteVerifier::log(&newest.origin, log_key)
        .map_err(|e| StoreError::Invariant(format!("stored log origin: {e}")))?;
    let proof = match &seen {
        Some(seen) if seen.size > 0 && (seen.size as i64) < newest.size => {
            let ids = yibao_translog::tree::consistency_proof_reads(seen.size, newest.size as u64)
                .map_err(proof_error)?;
            let map = log_subtrees_read(&mut tx, &ids).await?;
            yibao_translog::consistency_proof(&map, seen.size, newest.size as u64)
                .map_err(proof_error)?
        }
        _ => yibao_translog::ConsistencyProof { hashes: Vec::new() },
    };
    let previous_size = seen.as_ref().map_or(0, |seen| seen.size as i64);
    let mut runner = yibao_translog::Witness::new(signer, log, seen);
    let line = runner
        .cosign(&newest.note, &proof, now_s)
        .map_err(|e| StoreError::refused("checkpoint", e.to_string()))?;
    let root = log_rules::unhex(&newest.root)
        .ok_or_else(|| StoreError::Invariant("a stored root is not hex".into()))?;
    if previous_size != newest.size {
        sqlx::query(
            "INSERT INTO log_cosignature (witness_key_id, size, witness_name, witness_key, log_key, \
             root, line, cosigned_at_s) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&key_id)
        .bind(newest.size)
        .bind(witness.name())
        .bind(witness.public_hex())
        .bind(&newest.public_key)
        .bind(root)
        .bind(&line)
        .bind(now_s as i64)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Cosigned {
        size: newest.size,
        previous_size,
        line,
    })
}

pub(crate) async fn log_person_leaves(
    pool: &Pool,
    person_key: &[u8; 32],
    limit: i64,
) -> Result<Vec<i64>, StoreError> {
    let rows = sqlx::query(
        "SELECT leaf_idx FROM log_person WHERE person_key = $1 ORDER BY leaf_idx LIMIT $2",
    )
    .bind(&person_key[..])
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<i64, _>("leaf_idx")?))
        .collect()
}
