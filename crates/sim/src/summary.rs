//! What a run did: operations by kind, faults injected, crashes and checks, and two digests
//! (of the operations sent and of the answers received) that a replay of the seed must match.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::Duration;

use crate::limits::{LOG_LINES_MAX, RECENT_LINES_MAX};

/// FNV-1a, 64 bits: stable across processes and versions (unlike the std hasher).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest(pub u64);

impl Default for Digest {
    fn default() -> Self {
        Digest(0xcbf2_9ce4_8422_2325)
    }
}

impl Digest {
    /// Feeds one line.
    pub fn add(&mut self, line: &str) {
        for b in line.bytes().chain(std::iter::once(b'\n')) {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x100_0000_01b3);
        }
    }
}

/// The report of a run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The seed.
    pub seed: u64,
    /// The database kind (`sqlite`, `postgres`).
    pub db: &'static str,
    /// Steps run.
    pub steps: u64,
    /// Operations (messages sent, or lost on the way).
    pub ops: u64,
    /// Operations by kind (`2207`, `2207 retry`, `2601 lost`, …).
    pub ops_by_kind: BTreeMap<String, u64>,
    /// Faults injected, by name.
    pub faults: BTreeMap<&'static str, u64>,
    /// Simulated process crashes.
    pub crashes: u64,
    /// What became of the calls in flight at a crash: answered before it, cut off by it (left
    /// in doubt), and in-doubt messages settled by a retry. Up to the machine, so not part of
    /// what a replay must repeat.
    pub in_flight: BTreeMap<&'static str, u64>,
    /// Checks run, by kind.
    pub checks: BTreeMap<&'static str, u64>,
    /// Settlements committed (each once, whoever saw the answer).
    pub settlements: i64,
    /// Reversals committed (2208/2305 and 2601 of a settlement).
    pub reversals: i64,
    /// Digest of every operation's log line.
    pub op_digest: Digest,
    /// Digest of every answer's deterministic part (status, infcode, amounts).
    pub answer_digest: Digest,
    /// The operation log (kept when asked for, up to a limit).
    pub log: Vec<String>,
    /// The last operations' lines (always kept), to show what led to a failure.
    pub recent: VecDeque<String>,
    /// Wall time of the run (without the city's setup).
    pub elapsed: Duration,
    /// Of which spent in the checks.
    pub checking: Duration,
}

impl Summary {
    /// Counts one operation of `kind` and records its line.
    pub(crate) fn op(&mut self, kind: String, line: &str, keep: bool) {
        self.ops += 1;
        *self.ops_by_kind.entry(kind).or_default() += 1;
        self.line(line, keep);
    }

    /// Records a line of the operation log (an operation or a crash).
    pub(crate) fn line(&mut self, line: &str, keep: bool) {
        self.op_digest.add(line);
        if keep && self.log.len() < LOG_LINES_MAX {
            self.log.push(line.to_owned());
        }
        if self.recent.len() == RECENT_LINES_MAX {
            self.recent.pop_front();
        }
        self.recent.push_back(line.to_owned());
    }

    /// Counts one fault.
    pub(crate) fn fault(&mut self, name: &'static str) {
        *self.faults.entry(name).or_default() += 1;
    }

    /// Counts one check.
    pub(crate) fn check(&mut self, name: &'static str, n: u64) {
        *self.checks.entry(name).or_default() += n;
    }

    /// Operations per second of wall time.
    pub fn ops_per_second(&self) -> u64 {
        let micros = self.elapsed.as_micros().max(1);
        u64::try_from(u128::from(self.ops) * 1_000_000 / micros).unwrap_or(u64::MAX)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "seed {} on {}: {} operations in {} steps, {} ms ({} ops/s; {} ms of it in checks)",
            self.seed,
            self.db,
            self.ops,
            self.steps,
            self.elapsed.as_millis(),
            self.ops_per_second(),
            self.checking.as_millis()
        )?;
        writeln!(
            f,
            "settlements {}, reversals {}, crashes {}",
            self.settlements, self.reversals, self.crashes
        )?;
        writeln!(f, "operations by kind:")?;
        for (kind, n) in &self.ops_by_kind {
            writeln!(f, "  {kind:<30} {n}")?;
        }
        writeln!(f, "faults injected:")?;
        for (name, n) in &self.faults {
            writeln!(f, "  {name:<30} {n}")?;
        }
        writeln!(f, "calls in flight at a crash:")?;
        for (name, n) in &self.in_flight {
            writeln!(f, "  {name:<30} {n}")?;
        }
        writeln!(f, "checks run:")?;
        for (name, n) in &self.checks {
            writeln!(f, "  {name:<30} {n}")?;
        }
        write!(
            f,
            "digests: operations {:016x}, answers {:016x}",
            self.op_digest.0, self.answer_digest.0
        )
    }
}
