// Staff accounts, sessions and the access log: the SQL. Included after the files of `tx/` into
// the same two modules (`pg`, `sq`), so it shares their imports and helpers and compiles once per
// backend. Every write that changes an account or a session appends its access log entry in the
// same transaction: the change and its record commit together or not at all.

use crate::staff::{
    self as staff_rules, AccessEntry, ChainEraRow, ChainReport, Decision, LoginDenied, NewSession,
    NewStaff, Role, SessionCheck, SessionPolicy, StaffAccount, StaffSecret,
};

type Conn = <Db as sqlx::Database>::Connection;
type DbRow = <Db as sqlx::Database>::Row;

const ACCOUNT_COLUMNS: &str = "staff_id, username, display_name, fixmedins_code, admdvs, active";

fn account_of(r: &DbRow, roles: Vec<Role>) -> Result<StaffAccount, StoreError> {
    Ok(StaffAccount {
        staff_id: r.try_get("staff_id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        roles,
        fixmedins_code: r.try_get("fixmedins_code")?,
        admdvs: r.try_get("admdvs")?,
        active: r.try_get::<i64, _>("active")? == 1,
    })
}

fn role_of(code: &str) -> Result<Role, StoreError> {
    Role::parse(code)
        .ok_or_else(|| StoreError::Invariant(format!("stored role {code:?} is unknown")))
}

async fn roles_of(conn: &mut Conn, staff_id: i64) -> Result<Vec<Role>, StoreError> {
    let rows = sqlx::query("SELECT role FROM staff_role WHERE staff_id = $1")
        .bind(staff_id)
        .fetch_all(&mut *conn)
        .await?;
    let mut roles = Vec::with_capacity(rows.len());
    for r in rows {
        roles.push(role_of(&r.try_get::<String, _>("role")?)?);
    }
    roles.sort();
    Ok(roles)
}

async fn account_in(conn: &mut Conn, staff_id: i64) -> Result<Option<StaffAccount>, StoreError> {
    let Some(r) = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM staff_account WHERE staff_id = $1"
    ))
    .bind(staff_id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let roles = roles_of(conn, staff_id).await?;
    Ok(Some(account_of(&r, roles)?))
}

fn role_codes(roles: &[Role]) -> String {
    roles.iter().map(|r| r.code()).collect::<Vec<_>>().join(",")
}

/// An account event by `actor`, permitted, about account `staff_id`.
fn account_event(
    event: &str,
    actor: Option<i64>,
    staff_id: i64,
    reason: String,
    now_ms: i64,
) -> AccessEntry {
    AccessEntry {
        ts_ms: now_ms,
        event: event.to_owned(),
        staff_id: actor,
        action: event.to_owned(),
        subject_ref: format!("staff:{staff_id}"),
        purpose: "account_admin".to_owned(),
        decision: Decision::Permit,
        reason,
    }
}

pub(crate) async fn staff_account(
    pool: &Pool,
    staff_id: i64,
) -> Result<Option<StaffAccount>, StoreError> {
    let mut conn = pool.acquire().await?;
    account_in(&mut conn, staff_id).await
}

pub(crate) async fn staff_accounts(pool: &Pool) -> Result<Vec<StaffAccount>, StoreError> {
    let mut conn = pool.acquire().await?;
    let rows = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM staff_account ORDER BY staff_id LIMIT $1"
    ))
    .bind(limits::STAFF_LIST_MAX)
    .fetch_all(&mut *conn)
    .await?;
    let mut roles: HashMap<i64, Vec<Role>> = HashMap::new();
    for r in sqlx::query("SELECT staff_id, role FROM staff_role")
        .fetch_all(&mut *conn)
        .await?
    {
        roles
            .entry(r.try_get("staff_id")?)
            .or_default()
            .push(role_of(&r.try_get::<String, _>("role")?)?);
    }
    rows.iter()
        .map(|r| {
            let staff_id: i64 = r.try_get("staff_id")?;
            let mut held = roles.remove(&staff_id).unwrap_or_default();
            held.sort();
            account_of(r, held)
        })
        .collect()
}

pub(crate) async fn staff_secret(
    pool: &Pool,
    username: &str,
) -> Result<Option<StaffSecret>, StoreError> {
    let mut conn = pool.acquire().await?;
    let Some(r) = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS}, password_hash FROM staff_account WHERE username = $1"
    ))
    .bind(username)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let staff_id: i64 = r.try_get("staff_id")?;
    let roles = roles_of(&mut conn, staff_id).await?;
    Ok(Some(StaffSecret {
        account: account_of(&r, roles)?,
        password_hash: r.try_get("password_hash")?,
    }))
}

pub(crate) async fn staff_insert(
    pool: &Pool,
    new: &NewStaff,
    roles: &[Role],
    password_hash: &str,
    actor: Option<i64>,
    now_ms: i64,
) -> Result<StaffAccount, StoreError> {
    let mut tx = pool.begin().await?;
    let taken = sqlx::query("SELECT staff_id FROM staff_account WHERE username = $1")
        .bind(&new.username)
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        return Err(StoreError::refused(
            "username",
            format!("`{}` is taken", new.username),
        ));
    }
    if let Some(code) = &new.fixmedins_code {
        let known = sqlx::query("SELECT fixmedins_code FROM institution WHERE fixmedins_code = $1")
            .bind(code)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Err(StoreError::not_found("fixmedins_code", code));
        }
    }
    let staff_id: i64 = sqlx::query(
        "INSERT INTO staff_account (username, password_hash, display_name, fixmedins_code, admdvs, \
         active, failed_logins, locked_until_ms, created_at_ms) VALUES ($1, $2, $3, $4, $5, 1, 0, 0, $6) \
         RETURNING staff_id",
    )
    .bind(&new.username)
    .bind(password_hash)
    .bind(&new.display_name)
    .bind(new.fixmedins_code.as_deref())
    .bind(&new.admdvs)
    .bind(now_ms)
    .fetch_one(&mut *tx)
    .await?
    .try_get("staff_id")?;
    for role in roles {
        sqlx::query("INSERT INTO staff_role (staff_id, role) VALUES ($1, $2)")
            .bind(staff_id)
            .bind(role.code())
            .execute(&mut *tx)
            .await?;
    }
    access_append(
        &mut tx,
        &account_event(
            "account.create",
            actor,
            staff_id,
            format!("roles={}", role_codes(roles)),
            now_ms,
        ),
    )
    .await?;
    let account = account_in(&mut tx, staff_id)
        .await?
        .ok_or_else(|| StoreError::Invariant("the new account is not there".into()))?;
    tx.commit().await?;
    Ok(account)
}

pub(crate) async fn staff_login_record(
    pool: &Pool,
    found: &StaffSecret,
    password_matches: bool,
    token: &str,
    policy: &SessionPolicy,
    now_ms: i64,
) -> Result<Result<NewSession, LoginDenied>, StoreError> {
    let staff_id = found.account.staff_id;
    let mut tx = pool.begin().await?;
    let lock = if IS_PG { " FOR UPDATE" } else { "" };
    let r = sqlx::query(&format!(
        "SELECT active, failed_logins, locked_until_ms FROM staff_account WHERE staff_id = $1{lock}"
    ))
    .bind(staff_id)
    .fetch_one(&mut *tx)
    .await?;
    let active = r.try_get::<i64, _>("active")? == 1;
    let failed: i64 = r.try_get("failed_logins")?;
    let locked_until: i64 = r.try_get("locked_until_ms")?;
    // The lock is checked first (a locked account refuses even the right password), then the
    // password, and only then whether the account is active: without the password nobody learns
    // that an account was deactivated.
    let (denied, reason) = if locked_until > now_ms {
        (
            Some(LoginDenied::Locked {
                until_ms: locked_until,
            }),
            "locked",
        )
    } else if !password_matches {
        let failed = failed + 1;
        if failed >= policy.failed_logins_max {
            let until_ms = now_ms + policy.lockout_ms;
            sqlx::query("UPDATE staff_account SET failed_logins = 0, locked_until_ms = $2 WHERE staff_id = $1")
                .bind(staff_id)
                .bind(until_ms)
                .execute(&mut *tx)
                .await?;
            (
                Some(LoginDenied::Locked { until_ms }),
                "wrong_password_locked_now",
            )
        } else {
            sqlx::query("UPDATE staff_account SET failed_logins = $2 WHERE staff_id = $1")
                .bind(staff_id)
                .bind(failed)
                .execute(&mut *tx)
                .await?;
            (Some(LoginDenied::WrongPassword), "wrong_password")
        }
    } else if !active {
        (Some(LoginDenied::Inactive), "inactive")
    } else {
        (None, "")
    };
    let mut entry = AccessEntry {
        ts_ms: now_ms,
        event: "session.login".to_owned(),
        staff_id: Some(staff_id),
        action: "POST /api/v1/session".to_owned(),
        subject_ref: String::new(),
        purpose: String::new(),
        decision: Decision::Deny,
        reason: reason.to_owned(),
    };
    if let Some(denied) = denied {
        access_append(&mut tx, &entry).await?;
        tx.commit().await?;
        return Ok(Err(denied));
    }
    sqlx::query(
        "UPDATE staff_account SET failed_logins = 0, locked_until_ms = 0 WHERE staff_id = $1",
    )
    .bind(staff_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO staff_session (token_hash, staff_id, created_at_ms, last_seen_ms, ended_at_ms) \
         VALUES ($1, $2, $3, $3, NULL)",
    )
    .bind(staff_rules::token_hash(token))
    .bind(staff_id)
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    entry.decision = Decision::Permit;
    access_append(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(Ok(NewSession {
        token: token.to_owned(),
        account: found.account.clone(),
        expires_at_ms: now_ms + policy.absolute_ms,
    }))
}

/// The session's state at `now_ms`, and whether its row should be written (its last use moved,
/// or its end recorded).
pub(crate) async fn staff_session_read(
    pool: &Pool,
    token_hash: &str,
    policy: &SessionPolicy,
    now_ms: i64,
) -> Result<(SessionCheck, bool), StoreError> {
    let mut conn = pool.acquire().await?;
    let Some(r) = sqlx::query(
        "SELECT staff_id, created_at_ms, last_seen_ms, ended_at_ms FROM staff_session WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok((SessionCheck::Invalid, false));
    };
    if r.try_get::<Option<i64>, _>("ended_at_ms")?.is_some() {
        return Ok((SessionCheck::Invalid, false));
    }
    let created: i64 = r.try_get("created_at_ms")?;
    let last_seen: i64 = r.try_get("last_seen_ms")?;
    if now_ms - created > policy.absolute_ms || now_ms - last_seen > policy.idle_ms {
        return Ok((SessionCheck::Expired, true));
    }
    match account_in(&mut conn, r.try_get("staff_id")?).await? {
        Some(account) if account.active => Ok((
            SessionCheck::Valid(account),
            now_ms - last_seen >= limits::SESSION_TOUCH_MS_MIN,
        )),
        _ => Ok((SessionCheck::Invalid, false)),
    }
}

pub(crate) async fn staff_session_touch(
    pool: &Pool,
    token_hash: &str,
    check: &SessionCheck,
    now_ms: i64,
) -> Result<(), StoreError> {
    match check {
        SessionCheck::Valid(_) => {
            sqlx::query(
                "UPDATE staff_session SET last_seen_ms = $2 WHERE token_hash = $1 AND ended_at_ms IS NULL \
                 AND last_seen_ms < $2",
            )
            .bind(token_hash)
            .bind(now_ms)
            .execute(pool)
            .await?;
            Ok(())
        }
        // An expired session ends here, once, with its log entry.
        SessionCheck::Expired => {
            let mut tx = pool.begin().await?;
            let ended = sqlx::query(
                "UPDATE staff_session SET ended_at_ms = $2 WHERE token_hash = $1 AND ended_at_ms IS NULL \
                 RETURNING staff_id",
            )
            .bind(token_hash)
            .bind(now_ms)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(r) = ended {
                access_append(
                    &mut tx,
                    &AccessEntry {
                        ts_ms: now_ms,
                        event: "session.expire".to_owned(),
                        staff_id: Some(r.try_get("staff_id")?),
                        action: "session.expire".to_owned(),
                        subject_ref: String::new(),
                        purpose: String::new(),
                        decision: Decision::Permit,
                        reason: "timeout".to_owned(),
                    },
                )
                .await?;
            }
            tx.commit().await?;
            Ok(())
        }
        SessionCheck::Invalid => Ok(()),
    }
}

pub(crate) async fn staff_logout(
    pool: &Pool,
    token_hash: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let Some(r) = sqlx::query(
        "SELECT staff_id FROM staff_session WHERE token_hash = $1 AND ended_at_ms IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(false);
    };
    let staff_id: i64 = r.try_get("staff_id")?;
    sqlx::query("UPDATE staff_session SET ended_at_ms = $2 WHERE token_hash = $1")
        .bind(token_hash)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    access_append(
        &mut tx,
        &AccessEntry {
            ts_ms: now_ms,
            event: "session.logout".to_owned(),
            staff_id: Some(staff_id),
            action: "DELETE /api/v1/session".to_owned(),
            subject_ref: String::new(),
            purpose: String::new(),
            decision: Decision::Permit,
            reason: String::new(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The account, locked for the rest of the transaction on PostgreSQL.
async fn account_for_update(tx: &mut Tx<'_>, staff_id: i64) -> Result<StaffAccount, StoreError> {
    if IS_PG {
        sqlx::query("SELECT staff_id FROM staff_account WHERE staff_id = $1 FOR UPDATE")
            .bind(staff_id)
            .execute(&mut **tx)
            .await?;
    }
    account_in(tx, staff_id)
        .await?
        .ok_or_else(|| StoreError::not_found("staff_id", staff_id.to_string()))
}

pub(crate) async fn staff_set_roles(
    pool: &Pool,
    actor: i64,
    staff_id: i64,
    roles: &[Role],
    now_ms: i64,
) -> Result<StaffAccount, StoreError> {
    let mut tx = pool.begin().await?;
    let before = account_for_update(&mut tx, staff_id).await?;
    let roles = staff_rules::check_roles(roles, before.fixmedins_code.as_deref())?;
    sqlx::query("DELETE FROM staff_role WHERE staff_id = $1")
        .bind(staff_id)
        .execute(&mut *tx)
        .await?;
    for role in &roles {
        sqlx::query("INSERT INTO staff_role (staff_id, role) VALUES ($1, $2)")
            .bind(staff_id)
            .bind(role.code())
            .execute(&mut *tx)
            .await?;
    }
    let reason = format!(
        "roles={}->{}",
        role_codes(&before.roles),
        role_codes(&roles)
    );
    access_append(
        &mut tx,
        &account_event("account.roles", Some(actor), staff_id, reason, now_ms),
    )
    .await?;
    let after = account_in(&mut tx, staff_id)
        .await?
        .ok_or_else(|| StoreError::Invariant("the account vanished".into()))?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn staff_deactivate(
    pool: &Pool,
    actor: i64,
    staff_id: i64,
    now_ms: i64,
) -> Result<StaffAccount, StoreError> {
    let mut tx = pool.begin().await?;
    let mut account = account_for_update(&mut tx, staff_id).await?;
    if !account.active {
        return Err(StoreError::refused(
            "staff_id",
            "the account is already deactivated",
        ));
    }
    sqlx::query("UPDATE staff_account SET active = 0 WHERE staff_id = $1")
        .bind(staff_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE staff_session SET ended_at_ms = $2 WHERE staff_id = $1 AND ended_at_ms IS NULL",
    )
    .bind(staff_id)
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    access_append(
        &mut tx,
        &account_event(
            "account.deactivate",
            Some(actor),
            staff_id,
            String::new(),
            now_ms,
        ),
    )
    .await?;
    tx.commit().await?;
    account.active = false;
    Ok(account)
}

const LOG_COLUMNS: &str =
    "idx, ts_ms, event, staff_id, action, subject_ref, purpose, decision, reason, leaf_hash, chain";

/// A stored row; its decision is `None` when the stored text is neither `permit` nor `deny`.
fn chain_era_row_of(r: &DbRow) -> Result<(ChainEraRow, bool), StoreError> {
    let decision: String = r.try_get("decision")?;
    let parsed = match decision.as_str() {
        "permit" => Some(Decision::Permit),
        "deny" => Some(Decision::Deny),
        _ => None,
    };
    Ok((
        ChainEraRow {
            idx: r.try_get("idx")?,
            entry: AccessEntry {
                ts_ms: r.try_get("ts_ms")?,
                event: r.try_get("event")?,
                staff_id: r.try_get("staff_id")?,
                action: r.try_get("action")?,
                subject_ref: r.try_get("subject_ref")?,
                purpose: r.try_get("purpose")?,
                decision: parsed.unwrap_or(Decision::Deny),
                reason: r.try_get("reason")?,
            },
            leaf_hash: r.try_get("leaf_hash")?,
            chain: r.try_get("chain")?,
        },
        parsed.is_some(),
    ))
}

pub(crate) async fn chain_era_verify(pool: &Pool) -> Result<ChainReport, StoreError> {
    let mut conn = pool.acquire().await?;
    // One transaction, so that appends made meanwhile are not half seen (a snapshot on
    // PostgreSQL; SQLite's reader sees one state of the WAL).
    sqlx::query(if IS_PG {
        "BEGIN ISOLATION LEVEL REPEATABLE READ"
    } else {
        "BEGIN"
    })
    .execute(&mut *conn)
    .await?;
    let result = chain_era_verify_in(&mut conn).await;
    sqlx::query("ROLLBACK").execute(&mut *conn).await?;
    result
}

async fn chain_era_verify_in(conn: &mut Conn) -> Result<ChainReport, StoreError> {
    let head = sqlx::query("SELECT size, chain FROM access_log_chain_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    let head_size: i64 = head.try_get("size")?;
    let head_chain: String = head.try_get("chain")?;
    let mut report = ChainReport {
        entries: 0,
        head_size,
        problem: None,
    };
    let mut previous = [0u8; 32];
    let mut expected = 1i64;
    'pages: loop {
        let rows = sqlx::query(&format!(
            "SELECT {LOG_COLUMNS} FROM access_log_chain WHERE idx >= $1 ORDER BY idx LIMIT $2"
        ))
        .bind(expected)
        .bind(limits::ACCESS_LOG_VERIFY_BATCH)
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let (row, decision_ok) = chain_era_row_of(r)?;
            report.entries += 1;
            let problem = if row.idx != expected {
                Some(format!(
                    "idx {expected}: missing (the next row is idx {})",
                    row.idx
                ))
            } else if !decision_ok {
                Some(format!(
                    "idx {expected}: its decision is neither permit nor deny (edited)"
                ))
            } else {
                let leaf = staff_rules::leaf_hash(&row.entry);
                let chain = staff_rules::chain_next(&previous, &leaf);
                if hex(&leaf) != row.leaf_hash {
                    Some(format!(
                        "idx {expected}: its fields do not match its leaf hash (edited)"
                    ))
                } else if hex(&chain) != row.chain {
                    Some(format!("idx {expected}: its chain does not follow from the row before (a row edited, inserted or removed before it)"))
                } else {
                    previous = chain;
                    None
                }
            };
            if problem.is_some() {
                report.problem = problem;
                break 'pages;
            }
            expected += 1;
        }
    }
    if report.problem.is_none() {
        let last = expected - 1;
        if head_size != last {
            report.problem = Some(format!(
                "the head records {head_size} entries but the log holds {last} (rows removed at the end, or added outside the log)"
            ));
        } else if head_chain != hex(&previous) {
            report.problem = Some("the head's chain does not match the last row's".to_owned());
        }
    }
    Ok(report)
}
