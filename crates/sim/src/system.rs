//! The system under test: a real [`yibao_store::Store`] on a fresh database and the axum router of
//! [`yibao_server::app`] over it, called in-process with `oneshot`. [`System::crash`] is the
//! simulated process crash: the router and the store are dropped (the pool closed) and a new
//! store is opened on the same database, as a restarted process would.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use bytes::Bytes;
use tower::ServiceExt as _;
use yibao_loadgen::sign::gateway_headers;
use yibao_loadgen::wire::{now_ms, CALL_SERVICE_PATH};
use yibao_loadgen::Site;
use yibao_server::ServerConfig;
use yibao_store::{CrashHook, CrashPoint, Store, StoreError, StoreOptions};

use crate::limits::ANSWER_BYTES_MAX;
use crate::SimError;

/// Where the simulation's database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbTarget {
    /// A SQLite file in a temporary folder, removed at the end.
    SqliteTemp,
    /// A fresh database created on the PostgreSQL server at this URL (its database part names the
    /// database to connect to for `CREATE DATABASE`), dropped at the end.
    Postgres(String),
}

impl DbTarget {
    /// The target a `--db` argument names: `sqlite` (or nothing) for a temporary SQLite file, a
    /// `postgres://` URL for a fresh database on that server.
    pub fn parse(text: Option<&str>) -> Result<DbTarget, SimError> {
        match text {
            None | Some("sqlite") => Ok(DbTarget::SqliteTemp),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(DbTarget::Postgres(url.to_owned()))
            }
            Some(other) => Err(SimError::setup(format!(
                "--db {other:?}: expected `sqlite` or a postgres:// URL"
            ))),
        }
    }

    /// A short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            DbTarget::SqliteTemp => "sqlite",
            DbTarget::Postgres(_) => "postgres",
        }
    }
}

/// A database made for one run, and what removes it.
#[derive(Debug)]
pub struct Database {
    /// The store URL.
    pub url: String,
    /// The temporary folder holding the registry files and a SQLite database.
    pub dir: tempfile::TempDir,
    /// For PostgreSQL: the server URL to drop the database from, and its name.
    pg_drop: Option<(String, String)>,
}

impl Database {
    /// Creates an empty database for `target`. `Ok(None)` when PostgreSQL is unreachable (the
    /// caller decides whether that is fatal).
    pub async fn create(target: &DbTarget, tag: &str) -> Result<Option<Database>, SimError> {
        let dir = tempfile::tempdir().map_err(|e| SimError::setup(format!("temp dir: {e}")))?;
        match target {
            DbTarget::SqliteTemp => {
                let path: PathBuf = dir.path().join("sim.db");
                Ok(Some(Database {
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    dir,
                    pg_drop: None,
                }))
            }
            DbTarget::Postgres(admin_url) => {
                use sqlx::Connection as _;
                let Ok(mut admin) = sqlx::PgConnection::connect(admin_url).await else {
                    return Ok(None);
                };
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                let name = format!("yibao_sim_{tag}_{}_{nanos}", std::process::id());
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .map_err(|e| SimError::setup(format!("CREATE DATABASE {name}: {e}")))?;
                let _ = admin.close().await;
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(base, _)| base)
                    .ok_or_else(|| SimError::setup(format!("{admin_url}: no database part")))?;
                Ok(Some(Database {
                    url: format!("{base}/{name}"),
                    dir,
                    pg_drop: Some((admin_url.clone(), name)),
                }))
            }
        }
    }

    /// Drops a PostgreSQL database (the SQLite file goes with the temporary folder).
    pub async fn remove(self) {
        if let Some((admin_url, name)) = &self.pg_drop {
            use sqlx::Connection as _;
            if let Ok(mut admin) = sqlx::PgConnection::connect(admin_url).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await;
                let _ = admin.close().await;
            }
        }
    }
}

/// One answer of the interface.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Bytes,
}

/// Asks for a crash of the simulated process while a step's requests are in flight.
///
/// The simulator arms it for a step whose operations may be cut off (chain messages, whose fate
/// the hospitals then learn by retrying), and a pull of an armed trigger makes the simulator
/// crash the process at once ([`System::crash`]) and treat every answer of the step as lost.
/// Today the simulator pulls it itself after a few turns of the scheduler; a crash point inside
/// the store (a hook between the statements of a batch) pulls it the same way and then fails
/// its batch as a dying process would.
#[derive(Debug, Clone, Default)]
pub struct CrashTrigger {
    inner: Arc<TriggerState>,
}

#[derive(Debug, Default)]
struct TriggerState {
    /// (armed, pulled), changed together.
    state: Mutex<(bool, bool)>,
    notify: tokio::sync::Notify,
    /// Pulls that a crash point inside the store's batches made.
    by_store: std::sync::atomic::AtomicU64,
}

impl CrashTrigger {
    /// Pulls the trigger: true when it was armed (the process is to die now), false when the
    /// current step may not crash (nothing happens).
    pub fn pull(&self) -> bool {
        {
            let mut state = self.state();
            if !state.0 {
                return false;
            }
            *state = (false, true);
        }
        self.inner.notify.notify_one();
        true
    }

    /// How many crashes a crash point inside the store's batches caused.
    pub fn pulled_by_store(&self) -> u64 {
        self.inner
            .by_store
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Arms the trigger for one step.
    pub(crate) fn arm(&self) {
        *self.state() = (true, false);
    }

    /// Disarms it at the end of a step; true when it was pulled during the step.
    pub(crate) fn disarm(&self) -> bool {
        let mut state = self.state();
        let pulled = state.1;
        *state = (false, false);
        pulled
    }

    /// Waits until the trigger is pulled.
    pub(crate) async fn pulled(&self) {
        while !self.state().1 {
            self.inner.notify.notified().await;
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, (bool, bool)> {
        self.inner
            .state
            .lock()
            .expect("the trigger's lock is never poisoned")
    }
}

/// The store and the router of one simulated process.
pub struct System {
    url: String,
    store: Store,
    router: Router,
    config: ServerConfig,
    trigger: CrashTrigger,
    /// Processes started so far (the first is 1): picks where the next one's batches may crash.
    processes: u64,
}

/// The store of the `process`-th simulated process, with a crash point inside its batches that
/// pulls `trigger`: an odd process may die after a batch's members ran and before its commit
/// (nothing of the batch survives), an even one after the commit and before anyone is
/// answered (all of it survives, unanswered). A point only strikes while the trigger is armed.
async fn open_store(url: &str, trigger: &CrashTrigger, process: u64) -> Result<Store, StoreError> {
    let trigger = trigger.clone();
    let hook = move |point: CrashPoint| {
        let here = match point {
            CrashPoint::BeforeCommit { .. } => process % 2 == 1,
            CrashPoint::AfterCommit { .. } => process % 2 == 0,
        };
        let pulled = here && trigger.pull();
        if pulled {
            trigger
                .inner
                .by_store
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        pulled
    };
    let options = StoreOptions {
        crash_hook: Some(CrashHook(Arc::new(hook))),
        ..StoreOptions::default()
    };
    Store::connect_with(url, &options).await
}

impl System {
    /// Opens the store at `url` and builds the router over it.
    pub async fn open(url: &str) -> Result<System, SimError> {
        let trigger = CrashTrigger::default();
        let store = open_store(url, &trigger, 1)
            .await
            .map_err(|e| SimError::setup(format!("opening {url}: {e}")))?;
        let config = ServerConfig {
            auth: true,
            ..ServerConfig::default()
        };
        let router = yibao_server::app(store.clone(), &config)
            .await
            .map_err(|e| SimError::setup(format!("building the router: {e:#}")))?;
        Ok(System {
            url: url.to_owned(),
            store,
            router,
            config,
            trigger,
            processes: 1,
        })
    }

    /// The trigger that crashes this process while a step's requests are in flight; it
    /// survives crashes (the next process is armed through the same handle).
    pub fn crash_trigger(&self) -> CrashTrigger {
        self.trigger.clone()
    }

    /// The store (for the checks' reads).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A simulated process crash between two operations: the router and the store are dropped,
    /// the pool closed, and a new store is opened on the same database with a new router, as a
    /// restarted server would. Everything the old process knew only in memory (caches, sign-ins,
    /// counters) is gone; only what the database holds survives.
    ///
    /// This is the one place a crash happens: the simulator calls it between steps, or at once
    /// when its [`CrashTrigger`] is pulled while requests are in flight.
    pub async fn crash(&mut self) -> Result<(), SimError> {
        self.store.close().await;
        self.processes += 1;
        let store = open_store(&self.url, &self.trigger, self.processes)
            .await
            .map_err(|e| SimError::setup(format!("reopening {} after a crash: {e}", self.url)))?;
        let router = yibao_server::app(store.clone(), &self.config)
            .await
            .map_err(|e| SimError::setup(format!("rebuilding the router: {e:#}")))?;
        // The old router holds a clone of the old store: both go here, after the new ones exist.
        self.router = router;
        self.store = store;
        Ok(())
    }

    /// Closes the store at the end of a run.
    pub async fn close(self) {
        self.store.close().await;
    }

    /// A future that posts `body` as `site` (signed with the gateway headers) and reads the
    /// answer; it owns what it needs, so that several can run together.
    pub fn call(
        &self,
        site: &Site,
        infno: &str,
        body: Bytes,
    ) -> impl std::future::Future<Output = Result<Reply, String>> + Send + 'static {
        let router = self.router.clone();
        let mut request = Request::post(CALL_SERVICE_PATH)
            .header("content-type", "application/json;charset=utf-8");
        for (name, value) in gateway_headers(&site.access_key, &site.secret_key, infno, now_ms()) {
            request = request.header(name, value);
        }
        let request = request.body(Body::from(body));
        async move {
            let request = request.map_err(|e| format!("request: {e}"))?;
            let response = router
                .oneshot(request)
                .await
                .map_err(|e| format!("router: {e}"))?;
            let status = response.status().as_u16();
            let body = axum::body::to_bytes(response.into_body(), ANSWER_BYTES_MAX)
                .await
                .map_err(|e| format!("reading the answer: {e}"))?;
            Ok(Reply { status, body })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_arguments_name_a_target() {
        assert_eq!(DbTarget::parse(None).unwrap(), DbTarget::SqliteTemp);
        assert_eq!(
            DbTarget::parse(Some("sqlite")).unwrap(),
            DbTarget::SqliteTemp
        );
        assert_eq!(
            DbTarget::parse(Some("postgres://u@h:5432/postgres")).unwrap(),
            DbTarget::Postgres("postgres://u@h:5432/postgres".into())
        );
        assert!(DbTarget::parse(Some("mysql://h/db")).is_err());
    }
}
