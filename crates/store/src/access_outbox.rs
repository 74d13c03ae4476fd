//! The access log's outbox (spec data-authorization.md §9.3): how a hospital's or pharmacy's
//! call on the national interface becomes a leaf of the access log without making every call
//! wait for the log's head.
//!
//! A call that reads or writes a person's data — 1101, 5203, 5206, every settlement call —
//! records an [`InterfaceAccess`] in `access_outbox`: a write in its own transaction (the
//! settlement and its log record commit together), a read or a replayed answer in a transaction
//! of its own that commits before the answer leaves ("no log, no data"). Outbox rows carry no
//! index, so calls never queue on one row. The sequencer, [`Store::sequence_outbox`], takes
//! the rows in id order, appends them as leaves with contiguous indexes (one multi-row insert
//! per table) and deletes them, in one transaction; `yibao serve` runs it continuously and before
//! every checkpoint, so a checkpoint covers every call answered before it.

use yibao_gm::Hash;

use crate::{Pool, Store, StoreError};

/// How many outbox rows one sequencer transaction takes at most. Between two steps the log's
/// head and (on SQLite) the writer's lock are free, so a step's size bounds how long a call
/// waits behind the sequencer.
pub const SEQUENCE_BATCH_MAX: i64 = 32;

/// One call on the national interface that touched a person's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceAccess {
    /// When the call was answered (UTC ms).
    pub ts_ms: i64,
    /// The calling institution.
    pub fixmedins_code: String,
    /// The transaction (`1101`, `2207` …).
    pub infno: String,
    /// The person whose data it read or wrote.
    pub psn_no: String,
    /// Whether the call changed data (a settlement) rather than only read it.
    pub write: bool,
    /// SM3 of the request (the message fingerprint).
    pub request_digest: Option<Hash>,
    /// SM3 of the answer, when the store rendered it.
    pub response_digest: Option<Hash>,
}

/// The statutory purpose every interface call is logged under: settlement of medical care
/// (the processing-activity register's "settlement"), not a consent purpose P01–P07.
pub const INTERFACE_PURPOSE: &str = "settlement";

/// The classification items (crates/privacy's classification.toml) a transaction's answer or
/// change carries; empty for a transaction that touches no personal data.
pub fn interface_items(infno: &str) -> &'static [&'static str] {
    match infno {
        // 人员信息获取: identity, insurance, account balance, identity categories.
        "1101" => &[
            "ID01", "ID02", "ID03", "ID04", "ID05", "ID06", "IN01", "IN02", "IN03", "IN04", "IN05",
            "AC01", "SP01",
        ],
        // Registration, visit information, admission and its changes, discharge.
        "2201" | "2202" => &["ID01", "IN01", "VS01", "VS02"],
        "2203" | "2203A" | "2401" | "2403" | "2404" => &["ID01", "VS01", "VS02", "VS04", "VS06"],
        "2402" | "2405" => &["ID01", "VS03", "VS04"],
        // Fee lines and their cancellation.
        "2204" | "2205" | "2301" | "2302" => &["ID01", "ST03"],
        // Settlement (pre-settlement too) and reversal.
        "2206" | "2206A" | "2207" | "2207A" | "2303" | "2304" => &[
            "ID01", "ST01", "ST02", "ST04", "ST07", "AC01", "AC03", "AC04",
        ],
        "2208" | "2305" => &["ID01", "ST01", "ST02", "ST08"],
        // 2601 冲正 reverses any of the above.
        "2601" => &["ID01", "ST08"],
        // 3101/3102 明细审核: diagnoses and fee lines.
        "3101" | "3102" => &["ID01", "VS04", "ST03"],
        // 结算清单 upload and queries.
        "4101" | "4101A" | "4102" | "4103" | "4104" => &["ID01", "ST06", "VS04", "VS05"],
        // 5203 settlement query, 5206 year-to-date accumulators, 5301 chronic recognitions.
        "5203" => &["ID01", "ST01", "ST02", "ST04"],
        "5206" => &["ID01", "ST07"],
        "5301" => &["ID01", "FL03"],
        // 3505/3506 商品销售 and its return, when the sale names its buyer: what was bought.
        "3505" | "3506" => &["ID01", "ST03"],
        _ => &[],
    }
}

/// An outbox row as written: what the leaf will say, without its index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutboxRow {
    pub(crate) ts_ms: i64,
    pub(crate) event: String,
    pub(crate) actor: String,
    pub(crate) action: String,
    pub(crate) subject: String,
    pub(crate) purpose: String,
    pub(crate) item_codes: String,
    pub(crate) decision: &'static str,
    pub(crate) reason: String,
    pub(crate) request_digest: Option<Hash>,
    pub(crate) response_digest: Option<Hash>,
}

impl OutboxRow {
    /// The row of an event any caller logs through the outbox (a grantee's data call).
    pub(crate) fn of_entry(
        entry: &crate::staff::AccessEntry,
        extras: &crate::access_log::LeafExtras,
    ) -> OutboxRow {
        OutboxRow {
            ts_ms: entry.ts_ms,
            event: entry.event.clone(),
            actor: extras.actor.clone().unwrap_or_default(),
            action: entry.action.clone(),
            subject: entry.subject_ref.clone(),
            purpose: entry.purpose.clone(),
            item_codes: extras.item_codes.join(","),
            decision: entry.decision.code(),
            reason: entry.reason.clone(),
            request_digest: extras.request_digest,
            response_digest: extras.response_digest,
        }
    }
}

impl InterfaceAccess {
    /// The outbox row: the person as their designation, never their number.
    pub(crate) fn row(&self) -> OutboxRow {
        OutboxRow {
            ts_ms: self.ts_ms,
            event: if self.write {
                "interface.write"
            } else {
                "interface.read"
            }
            .to_owned(),
            actor: format!("inst:{}", self.fixmedins_code),
            action: format!("{} {}", self.infno, self.fixmedins_code),
            subject: crate::staff::subject_ref_psn(&self.psn_no),
            purpose: INTERFACE_PURPOSE.to_owned(),
            item_codes: interface_items(&self.infno).join(","),
            decision: crate::staff::Decision::Permit.code(),
            reason: String::new(),
            request_digest: self.request_digest,
            response_digest: self.response_digest,
        }
    }
}

/// The records of one write command's answer, one per person it touched: `write` for the fresh
/// answer (logged in the command's transaction), a read for a replayed one.
pub(crate) fn command_accesses(
    env: &crate::Envelope,
    subjects: &[&str],
    write: bool,
    response: &str,
) -> Vec<InterfaceAccess> {
    if subjects.is_empty() {
        return Vec::new();
    }
    let response_digest = yibao_gm::hash(response.as_bytes());
    subjects
        .iter()
        .map(|psn_no| InterfaceAccess {
            ts_ms: beijing_to_utc_ms(env.now),
            fixmedins_code: env.fixmedins_code.clone(),
            infno: env.infno.clone(),
            psn_no: (*psn_no).to_owned(),
            write,
            request_digest: Some(env.request_hash),
            response_digest: Some(response_digest),
        })
        .collect()
}

/// The people a write command touches, each once, in order.
pub(crate) fn command_subjects(cmd: &crate::Command) -> Vec<&str> {
    use crate::Command;
    let mut out: Vec<&str> = Vec::new();
    let people: Vec<&str> = match cmd {
        Command::SignIn(_) | Command::SignOut(_) | Command::AuditFeedback(_) => Vec::new(),
        Command::RegisterOutpatient(c) => vec![&c.psn_no],
        Command::CancelRegistration(c)
        | Command::CancelAdmission(c)
        | Command::UndoDischarge(c) => {
            vec![&c.psn_no]
        }
        Command::UploadVisitInfo(c) => vec![&c.psn_no],
        Command::UploadFees(c) => c.lines.iter().map(|l| l.psn_no.as_str()).collect(),
        Command::CancelFees(c) => vec![&c.psn_no],
        Command::Settle(c) => vec![&c.psn_no],
        Command::ReverseSettlement(c) => vec![&c.visit.psn_no],
        Command::Admit(c) => vec![&c.psn_no],
        Command::Discharge(c) => vec![&c.psn_no],
        Command::UpdateAdmission(c) => vec![&c.psn_no],
        Command::Revoke(c) => vec![&c.psn_no],
        Command::UploadSetlList(c) => vec![&c.psn_no],
        Command::AuditCheck(c) => c.patients.iter().map(|p| p.patn_id.as_str()).collect(),
    };
    for psn_no in people {
        if !psn_no.is_empty() && !out.contains(&psn_no) {
            out.push(psn_no);
        }
    }
    out
}

/// Group commit of outbox records: calls that arrive while a commit is running share the next
/// one. A caller queues its rows, then waits for the leader's turn; whoever gets it finds its
/// rows already committed by an earlier leader, or commits everything queued (its own rows
/// included) in one transaction and tells each caller how it went.
#[derive(Debug, Default)]
pub(crate) struct OutboxGroup {
    queue: std::sync::Mutex<Vec<Queued>>,
    leader: tokio::sync::Mutex<()>,
}

/// Rows waiting for a commit, and who waits for them.
#[derive(Debug)]
struct Queued {
    rows: Vec<OutboxRow>,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// Rows one group commit writes at most; the rest wait for the next.
const GROUP_ROWS_MAX: usize = 2_000;

impl Store {
    /// Records interface calls in the outbox and commits them; returns once they are durable.
    /// A read's answer must not leave before this returns. Concurrent calls share commits.
    pub async fn log_interface(&self, calls: &[InterfaceAccess]) -> Result<(), StoreError> {
        if calls.is_empty() {
            return Ok(());
        }
        let group = &self.inner.outbox_group;
        let (done, mut outcome) = tokio::sync::oneshot::channel();
        group
            .queue
            .lock()
            .expect("outbox queue lock poisoned")
            .push(Queued {
                rows: calls.iter().map(InterfaceAccess::row).collect(),
                done,
            });
        loop {
            let _leader = group.leader.lock().await;
            if let Ok(result) = outcome.try_recv() {
                return result.map_err(StoreError::Invariant);
            }
            let batch: Vec<Queued> = {
                let mut queue = group.queue.lock().expect("outbox queue lock poisoned");
                let mut rows = 0;
                let take = queue
                    .iter()
                    .take_while(|queued| {
                        rows += queued.rows.len();
                        rows <= GROUP_ROWS_MAX || rows == queued.rows.len()
                    })
                    .count();
                queue.drain(..take).collect()
            };
            let rows: Vec<OutboxRow> = batch.iter().flat_map(|q| q.rows.clone()).collect();
            let result = on_backend!(self, write, |m, pool| m::outbox_insert_alone(pool, &rows)
                .await)
            .map_err(|e| format!("access log outbox: {e}"));
            for queued in batch {
                let _ = queued.done.send(result.clone());
            }
            // Ours was in this batch unless the queue held more than one commit's worth.
            if let Ok(result) = outcome.try_recv() {
                return result.map_err(StoreError::Invariant);
            }
        }
    }

    /// Appends up to [`SEQUENCE_BATCH_MAX`] outbox rows to the access log as leaves, in id
    /// order, and removes them, in one transaction; returns how many it appended.
    pub async fn sequence_outbox(&self) -> Result<u64, StoreError> {
        // An idle tick costs one read, not the writer's lock (SQLite) or the head's (PostgreSQL).
        if self.outbox_pending().await? == 0 {
            return Ok(0);
        }
        on_backend!(self, write, |m, pool| m::outbox_sequence(
            pool,
            SEQUENCE_BATCH_MAX
        )
        .await)
    }

    /// Runs the sequencer until the outbox is empty; returns how many leaves it appended.
    pub async fn drain_outbox(&self) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let appended = self.sequence_outbox().await?;
            total += appended;
            if appended < SEQUENCE_BATCH_MAX as u64 {
                return Ok(total);
            }
        }
    }

    /// Outbox rows not yet sequenced.
    pub async fn outbox_pending(&self) -> Result<i64, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::outbox_count(p).await,
            Pool::Sq { pool, .. } => crate::sq::outbox_count(pool).await,
        }
    }
}

/// A message time in Beijing time (UTC+8, how the interface stamps messages) as UTC ms.
pub fn beijing_to_utc_ms(at: chrono::NaiveDateTime) -> i64 {
    at.and_utc().timestamp_millis() - 8 * 3_600_000
}
