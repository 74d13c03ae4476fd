// Group commit: commands that arrive together share one database transaction and one durable
// commit, each inside its own savepoint so that its refusal undoes only its own writes.
//
// Commands go to a lane by their person (`ledger::person_hash`); each lane collects its own
// batches, so a few batches run side by side on PostgreSQL (SQLite, with one writer, has one
// lane). A person's commands all take the same lane; the number of lanes divides the number of
// balance shards and the shard is taken from the same hash, so two lanes never update the same
// shard of a shared fund account, and the only row locks that can cross lanes are a mutual-aid
// draw on a relative's account.
//
// There is no timer. A command that finds no open batch opens one; commands arriving while it
// runs queue on the batch's mutex and join it one after another (a person's commands therefore
// keep their order, and each takes its locks inside the shared transaction in the order of the
// single-command path). After each member, the batch is committed when nobody is waiting to
// join, when it holds `BATCH_COMMANDS_MAX` members, or when it has been open for
// `BATCH_OPEN_MICROS_MAX`; the committing member does it outside the mutex, so the next batch
// opens (on another connection) while the commit is flushed. Every member waits for its batch's
// commit before it answers. Under light load a batch is one command and nothing waits.
//
// A member whose command fails, or whose msgid another member recorded first, rolls back to its
// savepoint (the batch's first member has none: when it fails the whole transaction is rolled
// back, which loses nothing else), waits for the batch to end, and then runs alone through `execute`, the
// single-command path with its retries and replay: a refusal is decided on committed data only,
// and never affects the other members. A batch whose commit fails sends every member down the
// same path. Commands that could hold a batch open (large uploads, settlement lists) always
// run alone.
// Compiled once per backend; see lib.rs.

/// Group commit for one store: its lanes, and the count of write commands inside the store
/// that turns new ones away when it is too high.
#[derive(Debug)]
pub(crate) struct Batcher {
    lanes: Vec<Lane>,
    /// Write commands inside the store now (queued, running or waiting for their commit).
    in_store: std::sync::atomic::AtomicUsize,
    /// Past this many write commands inside the store, a new one is turned away.
    in_store_max: usize,
    /// How long a batch stays open for more members.
    open_max: std::time::Duration,
    /// Batches committed and members they held, for tests and the crash test's evidence.
    stats: BatchCounters,
    /// The fault simulator's hook, asked at each [`crate::CrashPoint`].
    crash_hook: Option<crate::CrashHook>,
    /// Set once a simulated crash struck: the "process" is gone and answers nothing more.
    crashed: std::sync::atomic::AtomicBool,
}

/// One lane: the batch collecting members and the commands waiting to join it.
#[derive(Debug)]
struct Lane {
    /// The batch collecting members; `None` between batches.
    open: tokio::sync::Mutex<Option<OpenBatch>>,
    /// Commands waiting for `open` (they will join the batch): while any waits, a batch stays
    /// open after its member finishes.
    joining: std::sync::atomic::AtomicUsize,
}

/// Counters of group commit since the store opened.
#[derive(Debug, Default)]
struct BatchCounters {
    batches: std::sync::atomic::AtomicU64,
    members: std::sync::atomic::AtomicU64,
    largest: std::sync::atomic::AtomicU64,
}

/// A transaction shared by the members of one batch.
#[derive(Debug)]
struct OpenBatch {
    tx: Tx<'static>,
    members: u64,
    opened: std::time::Instant,
    /// How the batch ended, once it has.
    done: std::sync::Arc<tokio::sync::watch::Sender<Option<BatchEnd>>>,
    /// SQLite: the single writer's lock, held from `BEGIN` to `COMMIT`.
    _writer: Option<tokio::sync::OwnedMutexGuard<()>>,
}

/// How a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BatchEnd {
    Committed,
    RolledBack,
    /// A simulated crash struck it ([`crate::CrashPoint`]): committed or not as the point says,
    /// and nobody is answered.
    Crashed,
}

/// Decrements a counter when a command leaves the store, however it leaves.
struct Leaving<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Leaving<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Batcher {
    /// Group commit with `lanes` lanes (a divisor of `limits::BALANCE_SHARDS`; see the top of
    /// this file).
    pub(crate) fn new(options: &crate::StoreOptions, lanes: u64) -> Self {
        assert!(
            lanes > 0 && limits::BALANCE_SHARDS % lanes == 0,
            "the lane count must divide the balance shards"
        );
        Batcher {
            lanes: (0..lanes)
                .map(|_| Lane {
                    open: tokio::sync::Mutex::new(None),
                    joining: std::sync::atomic::AtomicUsize::new(0),
                })
                .collect(),
            in_store: std::sync::atomic::AtomicUsize::new(0),
            crash_hook: options.crash_hook.clone(),
            crashed: std::sync::atomic::AtomicBool::new(false),
            in_store_max: options.write_commands_queued_max,
            open_max: options.batch_open_max,
            stats: BatchCounters::default(),
        }
    }

    /// The counters since the store opened.
    pub(crate) fn stats(&self) -> crate::BatchStats {
        use std::sync::atomic::Ordering::SeqCst;
        crate::BatchStats {
            batches: self.stats.batches.load(SeqCst),
            commands: self.stats.members.load(SeqCst),
            largest: self.stats.largest.load(SeqCst),
            in_store: self.in_store.load(SeqCst),
        }
    }
}

/// The person whose lane a command takes (sign-ins have none and take lane 0).
fn person_of(cmd: &Command) -> &str {
    match cmd {
        Command::SignIn(_) | Command::SignOut(_) => "",
        Command::RegisterOutpatient(c) => &c.psn_no,
        Command::CancelRegistration(c)
        | Command::CancelAdmission(c)
        | Command::UndoDischarge(c) => &c.psn_no,
        Command::UploadVisitInfo(c) => &c.psn_no,
        Command::UploadFees(c) => c.lines.first().map_or("", |l| l.psn_no.as_str()),
        Command::CancelFees(c) => &c.psn_no,
        Command::Settle(c) => &c.psn_no,
        Command::ReverseSettlement(c) => &c.visit.psn_no,
        Command::Admit(c) => &c.psn_no,
        Command::Discharge(c) => &c.psn_no,
        Command::UpdateAdmission(c) => &c.psn_no,
        Command::Revoke(c) => &c.psn_no,
        Command::UploadSetlList(_) => "",
        Command::AuditCheck(c) => c.patients.first().map_or("", |p| p.patn_id.as_str()),
        Command::AuditFeedback(_) => "",
    }
}

/// Whether a command may share a transaction: anything that could hold a batch open for long
/// (a large fee upload, a settlement list) runs alone.
fn batchable(cmd: &Command) -> bool {
    match cmd {
        Command::UploadFees(c) => c.lines.len() <= limits::BATCH_FEE_LINES_MAX,
        Command::UploadSetlList(_) => false,
        // On PostgreSQL a 3101/3102 check commits without waiting for the disk (see `execute`),
        // which it may do only in a transaction of its own.
        Command::AuditCheck(_) => !IS_PG,
        _ => true,
    }
}

/// Runs one write command, in a batch with the commands that arrive with it (see the top of
/// this file). `writer` is SQLite's single-writer lock (`None` on PostgreSQL).
pub(crate) async fn execute_grouped(
    batcher: &Batcher,
    pool: &Pool,
    writer: Option<&std::sync::Arc<tokio::sync::Mutex<()>>>,
    ctx: &Ctx<'_>,
    cmd: Command,
    render: &(dyn Fn(&Outcome) -> String + Send + Sync),
) -> Result<Reply, StoreError> {
    use std::sync::atomic::Ordering::SeqCst;
    if batcher.crashed.load(SeqCst) {
        return Err(StoreError::Crashed);
    }
    let inside = batcher.in_store.fetch_add(1, SeqCst) + 1;
    let _leaving = Leaving(&batcher.in_store);
    if inside > batcher.in_store_max {
        return Err(StoreError::Overloaded { queued: inside - 1 });
    }
    if !batchable(&cmd) {
        return execute_alone(pool, writer, ctx, cmd, render).await;
    }
    let lane_count = batcher.lanes.len() as u64;
    let lane = &batcher.lanes[(ledger::person_hash(person_of(&cmd)) % lane_count) as usize];
    lane.joining.fetch_add(1, SeqCst);
    let joining = Leaving(&lane.joining);
    let mut open = lane.open.lock().await;
    drop(joining);
    if open.is_none() {
        let writer = match writer {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let tx = begin_write(pool).await?;
        *open = Some(OpenBatch {
            tx,
            members: 0,
            opened: std::time::Instant::now(),
            done: std::sync::Arc::new(tokio::sync::watch::channel(None).0),
            _writer: writer,
        });
    }
    let batch = open.as_mut().expect("a batch was opened above");
    let mut done = batch.done.subscribe();
    let guarded = batch.members > 0;
    let member = run_member(&mut batch.tx, ctx, &cmd, render, guarded).await;
    let broken = matches!(member, Err(_) | Ok(Member::Dirty));
    if matches!(member, Ok(Member::Done(..))) {
        batch.members += 1;
    }
    let close = broken
        || lane.joining.load(SeqCst) == 0
        || batch.members >= limits::BATCH_COMMANDS_MAX
        || batch.opened.elapsed() >= batcher.open_max;
    let closing = if close { open.take() } else { None };
    drop(open);
    if let Some(batch) = closing {
        finish(batcher, batch, !broken).await;
    }
    let end = match done.wait_for(Option::is_some).await {
        Ok(state) => *state,
        // The sender lives in the batch, which always ends by sending; a dropped sender means it
        // ended without (a panic in another member): treat as not committed.
        Err(_) => None,
    };
    match member {
        _ if end == Some(BatchEnd::Crashed) => Err(StoreError::Crashed),
        Ok(Member::Done(outcome, response)) if end == Some(BatchEnd::Committed) => {
            Ok(Reply::Fresh { outcome, response })
        }
        // Refused, a twin, or the batch did not commit: decide alone on committed data.
        _ => execute_alone(pool, writer, ctx, cmd, render).await,
    }
}

/// The single-command path, under SQLite's writer lock where there is one.
async fn execute_alone(
    pool: &Pool,
    writer: Option<&std::sync::Arc<tokio::sync::Mutex<()>>>,
    ctx: &Ctx<'_>,
    cmd: Command,
    render: &(dyn Fn(&Outcome) -> String + Send + Sync),
) -> Result<Reply, StoreError> {
    let _writer = match writer {
        Some(lock) => Some(lock.lock().await),
        None => None,
    };
    execute(pool, ctx, cmd, render).await
}

/// What became of one member inside the shared transaction.
enum Member {
    /// It ran and its idempotency record is written: (outcome, rendered response).
    Done(Outcome, String),
    /// Refused, or its msgid was already recorded; its savepoint is rolled back: the batch holds
    /// nothing of it.
    Refused,
    /// Refused, or a twin, without a savepoint: what it wrote before it stopped is still in the
    /// transaction, which must be rolled back (only the first member of a batch runs so, when
    /// there is nothing else to lose).
    Dirty,
}

/// Runs one member: in its own savepoint when `guarded` (the batch holds other members' work),
/// else directly, saving the savepoint's two round trips for a batch's first member (most
/// batches under light load hold one command). `Err` when the shared transaction broke.
async fn run_member(
    tx: &mut Tx<'static>,
    ctx: &Ctx<'_>,
    cmd: &Command,
    render: &(dyn Fn(&Outcome) -> String + Send + Sync),
    guarded: bool,
) -> Result<Member, StoreError> {
    if !guarded {
        return Ok(match attempt(tx, ctx, cmd, render).await {
            Some((outcome, response)) => Member::Done(outcome, response),
            None => Member::Dirty,
        });
    }
    let mut member = sqlx::Acquire::begin(&mut *tx).await?;
    match attempt(&mut member, ctx, cmd, render).await {
        Some((outcome, response)) => {
            member.commit().await?;
            Ok(Member::Done(outcome, response))
        }
        None => {
            member.rollback().await?;
            Ok(Member::Refused)
        }
    }
}

/// Runs a command and records its answer in `tx`: the outcome and the rendered response, or
/// `None` when it was refused or its msgid was already recorded (whatever it wrote first is
/// still in `tx`).
async fn attempt(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    cmd: &Command,
    render: &(dyn Fn(&Outcome) -> String + Send + Sync),
) -> Option<(Outcome, String)> {
    let (outcome, effect_kind, effect_ref) = run(tx, ctx, cmd).await.ok()?;
    let response = render(&outcome);
    match insert_idempotency(tx, ctx.env, &response, effect_kind, &effect_ref).await {
        Ok(true) => {
            outbox_command(tx, ctx.env, cmd, &response).await.ok()?;
            Some((outcome, response))
        }
        Ok(false) | Err(_) => None,
    }
}

/// Ends a batch: commits it (or rolls it back when `commit` is false or nothing in it
/// succeeded), then tells its members.
async fn finish(batcher: &Batcher, batch: OpenBatch, commit: bool) {
    use std::sync::atomic::Ordering::SeqCst;
    let OpenBatch {
        tx,
        members,
        done,
        _writer,
        ..
    } = batch;
    let strikes = |point: crate::CrashPoint| {
        batcher
            .crash_hook
            .as_ref()
            .is_some_and(|hook| (hook.0)(point))
    };
    if commit && members > 0 && strikes(crate::CrashPoint::BeforeCommit { members }) {
        // The process dies with the transaction open: the database rolls it back.
        batcher.crashed.store(true, SeqCst);
        drop(tx);
        drop(_writer);
        done.send_replace(Some(BatchEnd::Crashed));
        return;
    }
    let committed = if commit && members > 0 {
        tx.commit().await.is_ok()
    } else {
        // Nothing to keep; a failed rollback leaves the connection to the pool, which resets it.
        let _ = tx.rollback().await;
        false
    };
    drop(_writer);
    if committed {
        batcher.stats.batches.fetch_add(1, SeqCst);
        batcher.stats.members.fetch_add(members, SeqCst);
        batcher.stats.largest.fetch_max(members, SeqCst);
        if strikes(crate::CrashPoint::AfterCommit { members }) {
            // Durable, but the process dies before anyone is answered.
            batcher.crashed.store(true, SeqCst);
            done.send_replace(Some(BatchEnd::Crashed));
            return;
        }
    }
    done.send_replace(Some(if committed {
        BatchEnd::Committed
    } else {
        BatchEnd::RolledBack
    }));
}
