//! The store: yibao's database edge. One logical schema on PostgreSQL (production) and SQLite
//! (embedded default), chosen by URL; the registry the interface needs; visits, fee lines and
//! settlements; a double-entry ledger; idempotent, revocable writes.
//!
//! Every write goes through [`Store::execute`], which runs one command together with its
//! idempotency record (`fixmedins_code`, `msgid`, request hash, rendered response) in a database
//! transaction it shares with the commands that arrive at the same time (group commit,
//! `tx/batch.rs`: a savepoint per command after a batch's first, one durable commit per batch;
//! a refused command rolls back its savepoint, or the whole batch when it was the first, and is
//! decided again alone on committed data): a replay returns the stored response and writes
//! nothing; the same msgid with other content is refused. A settlement writes its result, its
//! ledger transfers, the account balances and the person's year-to-date accumulators in that one
//! transaction, under a per-person lock (PostgreSQL: `SELECT … FOR UPDATE` on the person, and on
//! the visit in the same statement for a visit command; SQLite: one writer). PostgreSQL
//! transactions run at READ COMMITTED, and every row the lock guards (visits, fee lines,
//! accounts) is either locked with the person or read by a statement that starts after the lock
//! is held, so a command that queued behind another sees what that one committed.
//!
//! SQL is written once with `$n` placeholders (both drivers accept them) and compiled for each
//! backend by including the files of `tx/` into two modules with a different `Db` type: `common`
//! (imports and helpers), `import`, `execute` (idempotency, locks), `batch` (group commit), `visit`, `fees`, `inpatient`,
//! `post` (person state, accumulators, transfers), `settle`, `reverse` (and 2601), `read` and
//! `check` (the ledger check), each a few hundred lines.

#![forbid(unsafe_code)]

/// Runs `$body` with `$pool` bound to the backend's pool and `$m` to its module; on SQLite a
/// write holds the single-writer lock (staff, access log and staff-access modules).
macro_rules! on_backend {
    ($store:expr, write, |$m:ident, $pool:ident| $body:expr) => {
        match &$store.inner.pool {
            Pool::Pg($pool) => {
                use crate::pg as $m;
                $body
            }
            Pool::Sq {
                pool: $pool,
                write_lock,
            } => {
                use crate::sq as $m;
                let _guard = write_lock.lock().await;
                let timeout = $store.inner.options.sqlite_busy_timeout;
                ($body).map_err(|e: StoreError| e.sqlite_busy(timeout))
            }
        }
    };
    ($store:expr, read, |$m:ident, $pool:ident| $body:expr) => {
        match &$store.inner.pool {
            Pool::Pg($pool) => {
                use crate::pg as $m;
                $body
            }
            Pool::Sq { pool: $pool, .. } => {
                use crate::sq as $m;
                $body
            }
        }
    };
}

/// Runs `$run!(backend_module, pool)` (a macro of the caller's) on the store's backend: on
/// PostgreSQL directly; on SQLite under the store's write lock, a busy database reported as such.
/// `$ty` is what the run returns in `Ok`.
macro_rules! on_backend_writing {
    ($store:expr, $ty:ty, $run:ident) => {
        match &$store.inner.pool {
            Pool::Pg(p) => {
                use crate::pg;
                $run!(pg, p)
            }
            Pool::Sq { pool, write_lock } => {
                use crate::sq;
                let _guard = write_lock.lock().await;
                let timeout = $store.inner.options.sqlite_busy_timeout;
                let result: Result<$ty, StoreError> = async { $run!(sq, pool) }.await;
                result.map_err(|e| e.sqlite_busy(timeout))
            }
        }
    };
}

pub mod access_log;
pub mod access_outbox;
pub mod audit;
pub mod audit_report;
pub mod auto;
pub mod batch_findings;
pub mod casework;
pub mod clearing;
pub mod cmd;
pub mod contributions;
pub mod coverage;
mod cumulative;
pub mod deaths;
pub mod duplicates;
mod engine;
mod error;
pub mod export;
pub mod feed;
pub mod funds;
pub mod grants;
mod ids;
mod import;
pub mod inventory;
pub mod ledger;
pub mod limits;
pub mod maternity;
pub mod personal_account;
pub mod refund;
pub mod registry;
pub mod retirement;
pub mod review;
pub mod roster;
pub mod safebox;
pub mod sealing;
pub mod setl_list;
pub mod setl_list_qc;
pub mod setl_list_status;
pub mod staff;
pub mod staff_access;
pub mod tax;
pub mod transfer;

pub use access_log::{
    AccessLogRow, Cosigned, LeafExtras, LeafProof, LogKeys, LogVerifyReport, StoredCheckpoint,
    WitnessKey,
};
pub use cmd::*;
pub use error::{ImportError, ImportIssue, StoreError};
pub use feed::{
    FeedImport, FeedKind, FeedProgress, FeedReport, HouseholdSegment, IdentityHeld, RefusedRow,
    RegistryCase,
};
pub use import::ImportSummary;
pub use ledger::LedgerReport;
pub use registry::{
    ChronicRecognition, CumulativeRow, IdentityInfo, Institution, InsuranceInfo, PersonBase,
    PersonInfo, PersonKey, ReconcileRequest, ReconcileResult,
};
pub use roster::{DisabilityHeld, FallbackOutcome, FallbackQuery, RosterImport, StudentSegment};
pub use sealing::{ColumnStatus, Keyring, KeysStatus, RewrapCursor, RewrapProgress, SealedColumn};
pub use setl_list::{
    SetlListBlood, SetlListDiagnosis, SetlListGroup, SetlListIcuStay, SetlListOperation,
    SetlListOpspDiagnosis, SetlListPayment, SetlListQuery, SetlListStored, SetlListUpload,
    SetlListView,
};
pub use staff::{
    AccessEntry, ChainEraRow, ChainReport, Decision, LoginDenied, NewSession, NewStaff, Role,
    SessionCheck, SessionPolicy, StaffAccount,
};
pub use yibao_settlement::{SetlAmounts, SetlSign, SetlUnit, SetlValue};

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::{Arc, Mutex, RwLock};

use chrono::NaiveDate;

use registry::RegistryCache;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// The two backends; every query is compiled once for each (see the module docs).
macro_rules! backend {
    ($name:ident, $db:ty, $is_pg:expr, $rows:literal) => {
        #[allow(clippy::too_many_arguments)]
        pub(crate) mod $name {
            pub(crate) type Db = $db;
            pub(crate) const IS_PG: bool = $is_pg;
            include!("tx/common.rs");
            include!("tx/import.rs");
            include!($rows);
            include!("tx/execute.rs");
            include!("tx/batch.rs");
            include!("tx/visit.rs");
            include!("tx/fees.rs");
            include!("tx/inpatient.rs");
            include!("tx/post.rs");
            include!("tx/settle.rs");
            include!("tx/reverse.rs");
            include!("tx/read.rs");
            include!("tx/check.rs");
            include!("setl_list_tx.rs");
            include!("setl_list_status_tx.rs");
            include!("cumulative_tx.rs");
            include!("maternity_tx.rs");
            include!("tx/audit.rs");
            include!("tx/review.rs");
            include!("staff_tx.rs");
            include!("access_log_tx.rs");
            include!("access_outbox_tx.rs");
            include!("tx/audit_report.rs");
            include!("feed_tx.rs");
            include!("feed_write_tx.rs");
            include!("casework_tx.rs");
            include!("auto_tx.rs");
            include!("tx/contributions.rs");
            include!("tx/contributions_write.rs");
            include!("tx/contributions_read.rs");
            include!("coverage_tx.rs");
            include!("refund_tx.rs");
            include!("duplicates_tx.rs");
            include!("transfer_tx.rs");
            include!("maternity_allowance_tx.rs");
            include!("deaths_tx.rs");
            include!("retirement_tx.rs");
            include!("roster_tx.rs");
            include!("tax_tx.rs");
            include!("funds_tx.rs");
            include!("funds_post_tx.rs");
            include!("funds_read_tx.rs");
            include!("personal_account_tx.rs");
            include!("clearing_tx.rs");
            include!("grants_tx.rs");
            include!("grants_answer_tx.rs");
            include!("staff_access_tx.rs");
            include!("safebox_tx.rs");
            include!("sealing_tx.rs");
            include!("inventory_tx.rs");
            include!("export_tx.rs");
            include!("batch_findings_tx.rs");
        }
    };
}
backend!(pg, sqlx::Postgres, true, "tx/rows_pg.rs");
backend!(sq, sqlx::Sqlite, false, "tx/rows_sq.rs");

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL (production).
    Postgres,
    /// SQLite (embedded default).
    Sqlite,
}

#[derive(Debug)]
enum Pool {
    Pg(sqlx::PgPool),
    Sq {
        pool: sqlx::SqlitePool,
        /// SQLite has one writer: writes queue here instead of failing with SQLITE_BUSY, which
        /// also serialises concurrent settlements of the same person.
        write_lock: Arc<tokio::sync::Mutex<()>>,
    },
}

/// How to open a store; the defaults are production's.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long a SQLite write waits for a write lock held by another connection (another
    /// process, a backup, an operator's shell) before it fails with [`StoreError::Busy`].
    pub sqlite_busy_timeout: std::time::Duration,
    /// Write commands inside the store at once before a new one is turned away with
    /// [`StoreError::Overloaded`] (default `limits::WRITE_COMMANDS_QUEUED_MAX`).
    pub write_commands_queued_max: usize,
    /// How long a batch stays open for more members after it began (default
    /// `limits::BATCH_OPEN_MICROS_MAX`).
    pub batch_open_max: std::time::Duration,
    /// PostgreSQL: batches collected side by side, each for its own share of the persons (a
    /// divisor of `limits::BALANCE_SHARDS`; default `limits::BATCH_LANES_PG`). SQLite has one
    /// writer and one lane.
    pub pg_lanes: u64,
    /// The fault simulator's hook: asked at each [`CrashPoint`] of every batch; when it answers
    /// true the store behaves as if its process died there (see [`CrashPoint`]). `None` in
    /// production.
    pub crash_hook: Option<CrashHook>,
}

/// A point inside a batch where the fault simulator may crash the store. After a crash the
/// store answers every command with [`StoreError::Crashed`]; the simulator opens a new one on
/// the same database, as a restarted process would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// Every member ran; the transaction is open and is lost (the database rolls it back).
    BeforeCommit {
        /// Commands in the batch.
        members: u64,
    },
    /// The batch committed; its members are never answered.
    AfterCommit {
        /// Commands in the batch.
        members: u64,
    },
}

/// The fault simulator's hook ([`StoreOptions::crash_hook`]).
#[derive(Clone)]
pub struct CrashHook(pub Arc<dyn Fn(CrashPoint) -> bool + Send + Sync>);

impl std::fmt::Debug for CrashHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CrashHook")
    }
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            sqlite_busy_timeout: std::time::Duration::from_secs(limits::SQLITE_BUSY_TIMEOUT_SECS),
            write_commands_queued_max: limits::WRITE_COMMANDS_QUEUED_MAX,
            batch_open_max: std::time::Duration::from_micros(limits::BATCH_OPEN_MICROS_MAX),
            pg_lanes: limits::BATCH_LANES_PG,
            crash_hook: None,
        }
    }
}

#[derive(Debug)]
struct Inner {
    options: StoreOptions,
    pool: Pool,
    cache: RwLock<Arc<RegistryCache>>,
    engine: RwLock<Arc<engine::EngineCache>>,
    ids: ids::IdGen,
    signed_in: Mutex<SignedIn>,
    /// Group commit on PostgreSQL (`tx/batch.rs`).
    pg_batcher: pg::Batcher,
    /// Group commit on SQLite (`tx/batch.rs`).
    sq_batcher: sq::Batcher,
    /// Group commit of the access log's outbox records (`access_outbox.rs`).
    outbox_group: access_outbox::OutboxGroup,
    /// The data keys sealed fields and blind indexes use (`sealing.rs`).
    keyring: RwLock<Arc<Keyring>>,
}

/// Open sign-ins (9001) of one day known to this process, so that checking a message's
/// `sign_no` costs no round trip after its first use. Only valid sign-ins are kept: a sign-in
/// made by another process is found in the database; one it signed out stays valid here until
/// the day ends (the cost of not asking the database every time).
#[derive(Debug, Default)]
struct SignedIn {
    date: Option<NaiveDate>,
    /// (fixmedins_code, sign_no).
    open: HashSet<(String, String)>,
}

impl SignedIn {
    fn contains(&self, fixmedins_code: &str, sign_no: &str, date: NaiveDate) -> bool {
        self.date == Some(date)
            && self
                .open
                .contains(&(fixmedins_code.to_string(), sign_no.to_string()))
    }

    fn insert(&mut self, fixmedins_code: &str, sign_no: &str, date: NaiveDate) {
        if self.date != Some(date) || self.open.len() >= limits::SIGN_INS_CACHED_MAX {
            self.open.clear();
            self.date = Some(date);
        }
        self.open
            .insert((fixmedins_code.to_string(), sign_no.to_string()));
    }

    fn remove(&mut self, fixmedins_code: &str, sign_no: &str) {
        self.open
            .remove(&(fixmedins_code.to_string(), sign_no.to_string()));
    }
}

/// A handle on the database; cheap to clone and share between tasks.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// The default database URL: a SQLite file in the working directory.
pub const DEFAULT_DB_URL: &str = "sqlite://yibao.db?mode=rwc";

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates the database at `url`:
    /// `sqlite://path?mode=rwc`, `sqlite::memory:` or `postgres://user@host:port/db`.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with(url, &StoreOptions::default()).await
    }

    /// [`Store::connect`] with other options.
    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        if options.pg_lanes == 0 || limits::BALANCE_SHARDS % options.pg_lanes != 0 {
            return Err(StoreError::bad(
                "pg_lanes",
                format!(
                    "{} does not divide the {} balance shards",
                    options.pg_lanes,
                    limits::BALANCE_SHARDS
                ),
            ));
        }
        let pool = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(limits::POOL_CONNECTIONS_MAX)
                .connect(url)
                .await?;
            sqlx::migrate!("migrations/postgres").run(&pool).await?;
            Pool::Pg(pool)
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // WAL with NORMAL loses nothing on a process crash (only on power loss).
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(options.sqlite_busy_timeout)
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(limits::POOL_CONNECTIONS_MAX)
                .connect_with(options)
                .await?;
            sqlx::migrate!("migrations/sqlite").run(&pool).await?;
            Pool::Sq {
                pool,
                write_lock: Arc::new(tokio::sync::Mutex::new(())),
            }
        } else {
            return Err(StoreError::bad(
                "db",
                format!("unsupported database URL {url:?} (expected sqlite://… or postgres://…)"),
            ));
        };
        let store = Store {
            inner: Arc::new(Inner {
                options: options.clone(),
                pool,
                cache: RwLock::new(Arc::new(RegistryCache::default())),
                engine: RwLock::new(Arc::new(engine::EngineCache::default())),
                ids: ids::IdGen::new(),
                signed_in: Mutex::new(SignedIn::default()),
                pg_batcher: pg::Batcher::new(options, options.pg_lanes),
                sq_batcher: sq::Batcher::new(options, 1),
                outbox_group: access_outbox::OutboxGroup::default(),
                keyring: RwLock::new(sealing::process_keyring()?),
            }),
        };
        store.reload_cache().await?;
        Ok(store)
    }

    /// Which backend this store runs on.
    pub fn backend(&self) -> Backend {
        match self.inner.pool {
            Pool::Pg(_) => Backend::Postgres,
            Pool::Sq { .. } => Backend::Sqlite,
        }
    }

    /// Closes the connections.
    pub async fn close(&self) {
        match &self.inner.pool {
            Pool::Pg(p) => p.close().await,
            Pool::Sq { pool, .. } => pool.close().await,
        }
    }

    /// Re-reads the immutable registry data (institutions, catalogue, policies) into memory.
    async fn reload_cache(&self) -> Result<(), StoreError> {
        let (cache, docs) = match &self.inner.pool {
            Pool::Pg(p) => pg::load_cache(p).await?,
            Pool::Sq { pool, .. } => sq::load_cache(pool).await?,
        };
        let engine = engine::EngineCache::build(&docs)?;
        *self
            .inner
            .cache
            .write()
            .expect("registry cache lock poisoned") = Arc::new(cache);
        *self
            .inner
            .engine
            .write()
            .expect("engine cache lock poisoned") = Arc::new(engine);
        Ok(())
    }

    fn cache(&self) -> Arc<RegistryCache> {
        self.inner
            .cache
            .read()
            .expect("registry cache lock poisoned")
            .clone()
    }

    fn engine(&self) -> Arc<engine::EngineCache> {
        self.inner
            .engine
            .read()
            .expect("engine cache lock poisoned")
            .clone()
    }

    /// The institution with this `fixmedins_code` (from memory).
    pub fn institution_by_code(&self, fixmedins_code: &str) -> Option<Arc<Institution>> {
        self.cache().institutions.get(fixmedins_code).cloned()
    }

    /// The institution with this gateway access key (from memory).
    pub fn institution_by_access_key(&self, access_key: &str) -> Option<Arc<Institution>> {
        self.cache().by_access_key.get(access_key).cloned()
    }

    /// All institutions (from memory), sorted by code.
    pub fn institutions(&self) -> Vec<Arc<Institution>> {
        let mut all: Vec<_> = self.cache().institutions.values().cloned().collect();
        all.sort_by(|a, b| a.fixmedins_code.cmp(&b.fixmedins_code));
        all
    }

    /// Imports a registry folder (the files of `docs/REGISTRY-FILES.md`) into an empty store,
    /// all or nothing: any problem in any file writes nothing and lists file, line, column and
    /// reason.
    pub async fn import_registry(
        &self,
        dir: &std::path::Path,
    ) -> Result<ImportSummary, ImportError> {
        let mut parsed = import::read_dir(dir)?;
        // The e-voucher tokens are stored as their blind indexes only (`sealing.rs`).
        parsed.index_tokens(&self.keyring());
        engine::EngineCache::build(&parsed.documents()).map_err(|e| match e {
            StoreError::BadInput { field, reason } => ImportError::Invalid(vec![ImportIssue {
                file: field,
                line: 0,
                column: String::new(),
                reason,
            }]),
            other => ImportError::Store(other),
        })?;
        let summary = match &self.inner.pool {
            Pool::Pg(p) => pg::import(p, &parsed).await?,
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                sq::import(pool, &parsed).await.map_err(|e| match e {
                    ImportError::Store(e) => {
                        ImportError::Store(e.sqlite_busy(self.inner.options.sqlite_busy_timeout))
                    }
                    other => other,
                })?
            }
        };
        self.reload_cache().await?;
        Ok(summary)
    }

    /// Runs one write command for institution `env.fixmedins_code` under message id
    /// `env.msgid`, idempotently:
    /// - first time: executes it, renders the response with `render` and stores it with the
    ///   business effect in one transaction → [`Reply::Fresh`];
    /// - same msgid, same `request_hash`: the stored response, nothing executed → [`Reply::Replayed`];
    /// - same msgid, other hash: [`StoreError::MsgidConflict`], nothing written.
    ///
    /// A refused command (any `Err`) writes nothing, not even its idempotency record. Commands
    /// arriving together share one transaction and one commit (see the module docs); each
    /// answers only once its batch is durable. Past `limits::WRITE_COMMANDS_QUEUED_MAX` commands
    /// inside the store a command is turned away at once with [`StoreError::Overloaded`].
    pub async fn execute(
        &self,
        env: &Envelope,
        cmd: Command,
        render: &(dyn Fn(&Outcome) -> String + Send + Sync),
    ) -> Result<Reply, StoreError> {
        check_envelope(env)?;
        let inst = self
            .institution_by_code(&env.fixmedins_code)
            .ok_or_else(|| StoreError::not_found("fixmedins_code", &env.fixmedins_code))?;
        if !inst.active {
            return Err(StoreError::refused(
                "fixmedins_code",
                "the institution is suspended",
            ));
        }
        if !env.mdtrtarea_admvs.is_empty() && env.mdtrtarea_admvs != inst.admdvs {
            return Err(StoreError::bad(
                "mdtrtarea_admvs",
                format!(
                    "`{}` is not the region of institution {} ({})",
                    env.mdtrtarea_admvs, inst.fixmedins_code, inst.admdvs
                ),
            ));
        }
        let engine = self.engine();
        let registry = self.cache();
        let keyring = self.keyring();
        let ctx = Ctx {
            env,
            inst: &inst,
            engine: &engine,
            ids: &self.inner.ids,
            registry: &registry,
            keyring: &keyring,
        };
        let sign_out = match &cmd {
            Command::SignOut(c) => Some(c.sign_no.clone()),
            _ => None,
        };
        // A replayed answer is released again: it is logged again (a fresh one is logged in its
        // command's transaction).
        let subjects: Vec<String> = access_outbox::command_subjects(&cmd)
            .into_iter()
            .map(str::to_owned)
            .collect();
        let reply = match &self.inner.pool {
            Pool::Pg(p) => {
                pg::execute_grouped(&self.inner.pg_batcher, p, None, &ctx, cmd, render).await
            }
            Pool::Sq { pool, write_lock } => sq::execute_grouped(
                &self.inner.sq_batcher,
                pool,
                Some(write_lock),
                &ctx,
                cmd,
                render,
            )
            .await
            .map_err(|e| e.sqlite_busy(self.inner.options.sqlite_busy_timeout)),
        }?;
        if let Reply::Replayed { response } = &reply {
            let subjects: Vec<&str> = subjects.iter().map(String::as_str).collect();
            let calls = access_outbox::command_accesses(env, &subjects, false, response);
            self.log_interface(&calls).await?;
        }
        if let Reply::Fresh { outcome, .. } = &reply {
            let mut signed_in = self
                .inner
                .signed_in
                .lock()
                .expect("sign-in cache lock poisoned");
            match (outcome, sign_out) {
                (Outcome::SignedIn { sign_no, sign_time }, _) => {
                    signed_in.insert(&env.fixmedins_code, sign_no, sign_time.date())
                }
                (Outcome::SignedOut { .. }, Some(sign_no)) => {
                    signed_in.remove(&env.fixmedins_code, &sign_no)
                }
                _ => {}
            }
        }
        Ok(reply)
    }

    /// Group commit since this store opened: batches committed, the commands they held and the
    /// largest batch. More commands than batches means commands shared commits.
    pub fn batch_stats(&self) -> BatchStats {
        match &self.inner.pool {
            Pool::Pg(_) => self.inner.pg_batcher.stats(),
            Pool::Sq { .. } => self.inner.sq_batcher.stats(),
        }
    }

    /// Whether `sign_no` is a sign-in (9001) of institution `fixmedins_code` made on `date` and
    /// not signed out (9002): what a message's envelope `sign_no` must be where the region
    /// requires signing in.
    pub async fn sign_in_valid(
        &self,
        fixmedins_code: &str,
        sign_no: &str,
        date: NaiveDate,
    ) -> Result<bool, StoreError> {
        if sign_no.is_empty() || sign_no.chars().count() > limits::SIGN_NO_CHARS_MAX {
            return Ok(false);
        }
        let known = self
            .inner
            .signed_in
            .lock()
            .expect("sign-in cache lock poisoned")
            .contains(fixmedins_code, sign_no, date);
        if known {
            return Ok(true);
        }
        let day = match &self.inner.pool {
            Pool::Pg(p) => pg::open_sign_in_date(p, fixmedins_code, sign_no).await?,
            Pool::Sq { pool, .. } => sq::open_sign_in_date(pool, fixmedins_code, sign_no).await?,
        };
        let valid = day.as_deref() == Some(date.to_string().as_str());
        if valid {
            self.inner
                .signed_in
                .lock()
                .expect("sign-in cache lock poisoned")
                .insert(fixmedins_code, sign_no, date);
        }
        Ok(valid)
    }

    /// 1101: the person found by `psn_no` or by `certno` (resident id), with relations,
    /// balance and identity categories.
    pub async fn person_info(&self, psn_no_or_certno: &str) -> Result<PersonInfo, StoreError> {
        let key = PersonKey::PsnNoOrCertno(psn_no_or_certno.to_string());
        // The date only matters for credentials with a period.
        self.person_info_by(&key, NaiveDate::MIN).await
    }

    /// 1101: the person a credential names on `date` (an e-voucher token or a card must be in
    /// force then), with relations, balance and identity categories.
    pub async fn person_info_by(
        &self,
        key: &PersonKey,
        date: NaiveDate,
    ) -> Result<PersonInfo, StoreError> {
        let keyring = self.keyring();
        match &self.inner.pool {
            Pool::Pg(p) => pg::person_info(p, key, date, &keyring).await,
            Pool::Sq { pool, .. } => sq::person_info(pool, key, date, &keyring).await,
        }
    }

    /// 5301, and what the settlement engine needs to know of a chronic outpatient visit (门慢):
    /// the person's chronic disease recognitions in force on `date`, by disease code.
    pub async fn chronic_recognitions(
        &self,
        psn_no: &str,
        date: NaiveDate,
    ) -> Result<Vec<ChronicRecognition>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::chronic_recognitions(p, psn_no, date).await,
            Pool::Sq { pool, .. } => sq::chronic_recognitions(pool, psn_no, date).await,
        }
    }

    /// 5203: a settlement or reversal of this institution.
    pub async fn query_settlement(
        &self,
        fixmedins_code: &str,
        psn_no: &str,
        setl_id: &str,
    ) -> Result<SettlementView, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::query_settlement(p, fixmedins_code, psn_no, setl_id).await,
            Pool::Sq { pool, .. } => {
                sq::query_settlement(pool, fixmedins_code, psn_no, setl_id).await
            }
        }
    }

    /// 5206: the person's accumulations in `year`, or in one `month` (1–12) of it: one set of
    /// rows per month with settlements, under the national 累计类别代码 (see `cumulative.rs`).
    pub async fn query_cumulative(
        &self,
        psn_no: &str,
        year: i32,
        month: Option<u32>,
    ) -> Result<Vec<CumulativeRow>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::query_cumulative(p, psn_no, year, month).await,
            Pool::Sq { pool, .. } => sq::query_cumulative(pool, psn_no, year, month).await,
        }
    }

    /// The maternity facts a 2203/2203A left on visit `mdtrt_id`, if any.
    pub async fn visit_maternity(&self, mdtrt_id: &str) -> Result<Option<Maternity>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::visit_maternity(p, mdtrt_id).await,
            Pool::Sq { pool, .. } => sq::visit_maternity(pool, mdtrt_id).await,
        }
    }

    /// 3201: reconciles an institution's totals for one insutype, clearing type and insured
    /// region over a date range against the store's settlements and the ledger.
    pub async fn reconcile(
        &self,
        fixmedins_code: &str,
        req: &ReconcileRequest,
    ) -> Result<ReconcileResult, StoreError> {
        let days = (req.enddate - req.begndate).num_days();
        if days < 0 {
            return Err(StoreError::bad("stmt_enddate", "is before stmt_begndate"));
        }
        if days >= limits::RECONCILE_DAYS_MAX {
            return Err(StoreError::bad(
                "stmt_enddate",
                format!("the period exceeds {} days", limits::RECONCILE_DAYS_MAX),
            ));
        }
        match &self.inner.pool {
            Pool::Pg(p) => pg::reconcile(p, fixmedins_code, req).await,
            Pool::Sq { pool, .. } => sq::reconcile(pool, fixmedins_code, req).await,
        }
    }

    /// Checks the whole ledger: every account's balance equals its transfers, the books sum to
    /// zero, no account that must not go negative is negative, every settlement's identities
    /// hold and agree with its transfers, every reversal is the exact negation of its original.
    pub async fn check_ledger(&self) -> Result<LedgerReport, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::check_ledger(p).await,
            Pool::Sq { pool, .. } => sq::check_ledger(pool).await,
        }
    }

    /// The balance of one ledger account (sum of its shards), or `None` if it does not exist.
    pub async fn account_balance(&self, account_code: &str) -> Result<Option<i64>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::account_balance(p, account_code).await,
            Pool::Sq { pool, .. } => sq::account_balance(pool, account_code).await,
        }
    }

    /// Counts of rows per table (for the demo's report and for tests that check nothing was
    /// written).
    pub async fn row_counts(&self) -> Result<Vec<(&'static str, i64)>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::row_counts(p).await,
            Pool::Sq { pool, .. } => sq::row_counts(pool).await,
        }
    }
}

/// Counters of group commit (see [`Store::batch_stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchStats {
    /// Batches committed.
    pub batches: u64,
    /// Commands committed in them.
    pub commands: u64,
    /// The most commands one batch held.
    pub largest: u64,
    /// Write commands inside the store at this moment (queued, running or awaiting a commit).
    pub in_store: usize,
}

/// What one command runs with.
pub(crate) struct Ctx<'a> {
    pub(crate) env: &'a Envelope,
    pub(crate) inst: &'a Institution,
    pub(crate) engine: &'a engine::EngineCache,
    pub(crate) ids: &'a ids::IdGen,
    pub(crate) registry: &'a RegistryCache,
    pub(crate) keyring: &'a Keyring,
}

fn check_envelope(env: &Envelope) -> Result<(), StoreError> {
    if env.msgid.is_empty() {
        return Err(StoreError::bad("msgid", "is empty"));
    }
    if env.msgid.chars().count() > limits::ID_CHARS_MAX {
        return Err(StoreError::bad(
            "msgid",
            format!("is longer than {} characters", limits::ID_CHARS_MAX),
        ));
    }
    if env.infno.is_empty() {
        return Err(StoreError::bad("infno", "is empty"));
    }
    Ok(())
}
