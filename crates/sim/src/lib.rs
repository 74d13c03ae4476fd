//! The fault simulator (after TigerBeetle's VOPR and FoundationDB's simulation testing): many
//! simulated hospitals run visit chains against the real server and store, in-process, while a
//! seeded random number generator injects faults — concurrent chains, lost requests and lost
//! answers, duplicate deliveries, retries and reuses of a `msgid`, reordered messages, 2601 冲正
//! (also of messages that never arrived), reversals and process crashes. After every step the
//! invariants are checked: the ledger balances, no settlement is doubled or lost, the
//! accumulators equal their settlements, and every answer a hospital received is still true.
//!
//! Everything the simulator decides comes from one seed, so a failing seed replays the same
//! operations; a [`Failure`] names the seed, the step and the operation.
//!
//! The simulator speaks to the server only through national-interface messages (the stable
//! edge), and reads the store only for its checks.
//!
//! # Crashes
//!
//! A crash between steps calls [`System::crash`]: the router and the store are dropped (the
//! pool closed) and a new store is opened on the same database. A crash with requests in flight
//! goes through the step's [`CrashTrigger`]: the simulator arms it for a step of chain messages
//! only, and whoever pulls it while the step runs — the simulator after a few turns of the
//! scheduler, or a crash point inside the store — makes the simulator crash the process at
//! once. Every answer of that step is then lost to the hospitals; a call that got no answer is
//! in doubt (it may or may not have committed), the checks allow for it, and the hospital's
//! retry settles it. The store's crash points pull the same trigger
//! (`yibao_store::StoreOptions::crash_hook`): a process dies inside a group-commit batch, after its
//! members ran and before the commit (odd processes: nothing of the batch survives) or after the
//! commit before anyone is answered (even processes: all of it survives, unanswered).

pub mod city;
pub mod config;
pub mod hospital;
pub mod limits;
pub mod sim;
pub mod summary;
pub mod system;

pub use config::{Faults, SimConfig};
pub use sim::{run, Simulator};
pub use summary::Summary;
pub use system::{CrashTrigger, Database, DbTarget, System};

/// A broken invariant: what, where, and how to replay it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The run's seed.
    pub seed: u64,
    /// The step (1-based) during or after which the invariant broke.
    pub step: u64,
    /// The operation (its log line), or the check that failed.
    pub op: String,
    /// What is wrong.
    pub what: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invariant violated: seed {}, step {}, operation `{}`: {}",
            self.seed, self.step, self.op, self.what
        )
    }
}

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The city, the database or the configuration could not be set up.
    #[error("setup: {0}")]
    Setup(String),
    /// PostgreSQL was asked for and is not reachable.
    #[error("PostgreSQL unreachable at {0}")]
    Unreachable(String),
    /// An invariant broke.
    #[error("{0}")]
    Violation(Box<Failure>),
}

impl SimError {
    /// A setup error.
    pub fn setup(what: impl Into<String>) -> SimError {
        SimError::Setup(what.into())
    }

    /// The failure, when an invariant broke.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            SimError::Violation(failure) => Some(failure),
            _ => None,
        }
    }
}
