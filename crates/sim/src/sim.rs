//! The simulation loop: each step either crashes the process or sends a few operations of
//! different visit chains together (a person's own messages are never reordered, except by the
//! deliberate reorder fault), applies each answer to the model of what every hospital knows and
//! what the server must have done (the oracle), then checks the invariants.
//!
//! The oracle knows what the hospitals do not: which lost requests never arrived and what a
//! lost answer said. From it follow the exact number of settlements and reversals the ledger
//! must hold and each institution's balance, which the checks compare with the store.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Instant;

use bytes::Bytes;
use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use yibao_loadgen::bill::{build_bill, cost_target_fen, Bill, VisitKind};
use yibao_loadgen::verify::{
    check_identities, check_negation, parse_fee_result, parse_settlement, Amounts, Direction,
};
use yibao_loadgen::wire::Answer;
use yibao_loadgen::{ItemKind, Population};
use yibao_store::ledger::institution_account;

use crate::config::SimConfig;
use crate::hospital::{
    with_other_content, Visit, INPATIENT_CANCEL, INPATIENT_CHAIN, OUTPATIENT_CANCEL,
    OUTPATIENT_CHAIN, REVOCABLE,
};
use crate::limits::{
    CRASH_REREADS_MAX, CRASH_TURNS_MAX, INPATIENT_LINES, MSGID_CHARS_MAX, OUTPATIENT_LINES,
    UNDO_OLD_TRIES_MAX,
};
use crate::summary::Summary;
use crate::system::{Database, DbTarget, Reply, System};
use crate::{Failure, SimError};

mod apply;
mod check;
mod plan;
mod send;

/// Runs a whole simulation: sets up the city on a fresh database of `target`, runs
/// `config.ops` operations, checks everything once more and removes the database. The report
/// comes back with the broken invariant if one broke; an error only when the run could not be
/// set up.
pub async fn run(
    config: &SimConfig,
    target: &DbTarget,
) -> Result<(Summary, Option<Failure>), SimError> {
    let mut sim = Simulator::start(config, target).await?;
    let mut result = sim.run_ops(config.ops).await;
    if result.is_ok() {
        result = sim.check_all().await;
    }
    let summary = sim.finish().await;
    match result {
        Ok(()) => Ok((summary, None)),
        Err(SimError::Violation(failure)) => Ok((summary, Some(*failure))),
        Err(other) => Err(other),
    }
}

/// One step of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A message of the chain (registration, fees, settlement, its reversal (2208/2305) or
    /// revocation (2601), cancellation …).
    Send(&'static str),
    /// The settlement's `msgid` again with other content.
    Conflict,
    /// The reversal or revocation sent again (with a new `msgid`).
    UndoAgain,
}

/// A message as the hospital built it, and what the oracle knows of it.
#[derive(Debug, Clone)]
struct Msg {
    infno: &'static str,
    msgid: String,
    body: Bytes,
    /// The server answered success at least once (the oracle knows, the hospital may not).
    executed: bool,
    /// The first successful answer's output.
    output: Option<String>,
    /// Sent when the process crashed and never answered: it may or may not have committed.
    in_doubt: bool,
    /// The hospital knows the server crashed while this was on its way (whatever the oracle
    /// knows): it retries it rather than revoking it.
    crashed: bool,
}

/// Why the hospital does not know what became of its last message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lost {
    Request,
    Answer,
}

/// A way to undo a settlement.
#[derive(Debug, Clone)]
enum Undo {
    Reversal { setl_id: String, mdtrt_id: String },
    Revoke { msgid: String, infno: &'static str },
}

/// One visit chain of one person at one institution.
#[derive(Debug)]
struct Chain {
    patient: usize,
    site: usize,
    inpatient: bool,
    seq: u64,
    plan: Vec<Step>,
    /// The next step.
    at: usize,
    /// The message built for each `Send` step, by plan index (a revoked one is rebuilt).
    msgs: Vec<Option<Msg>>,
    /// The visit as the hospital knows it.
    mdtrt_id: Option<String>,
    bill: Bill,
    fee_round: u32,
    acct_used_flag: &'static str,
    pending: Option<Lost>,
    /// The settlement the oracle recorded for the current settlement message.
    settlement: Option<usize>,
    /// A message revoked before it arrived, which may still arrive late.
    barred: Option<Msg>,
    done: bool,
}

/// A settlement the server committed, as its answer said.
#[derive(Debug, Clone)]
struct Known {
    site: usize,
    patient: usize,
    /// The settlement message's id and transaction code.
    msgid: String,
    infno: &'static str,
    psn_no: String,
    mdtrt_id: String,
    setl_id: String,
    amounts: Amounts,
    /// The amount the institution's ledger account received.
    net_fen: i64,
    reversed: bool,
}

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    /// A chain message (first send, retry or duplicate).
    Step { plan_idx: usize },
    /// 2601 of a message whose fate the hospital does not know.
    RevokeLost { plan_idx: usize },
    /// A message barred by a 2601 arriving late.
    Late,
    /// A later step before an earlier one.
    Reorder { plan_idx: usize },
    /// The settlement's `msgid` with other content.
    Conflict,
    /// A second undo of an undone settlement.
    UndoAgain,
    /// 2601 of a message id never sent.
    Phantom,
    /// A 2208 (or, with `revoke`, a 2601) of an old settlement of a finished chain.
    UndoOld { k: usize, revoke: bool },
}

impl What {
    fn name(self) -> &'static str {
        match self {
            What::Step { .. } => "",
            What::RevokeLost { .. } => " of a lost message",
            What::Late => " late after its 2601",
            What::Reorder { .. } => " reordered",
            What::Conflict => " other content",
            What::UndoAgain => " undo again",
            What::Phantom => " of a message never sent",
            What::UndoOld { .. } => " of an old settlement",
        }
    }

    /// Whether the operation must be refused.
    fn refused(self) -> bool {
        matches!(
            self,
            What::Late | What::Reorder { .. } | What::Conflict | What::UndoAgain
        )
    }
}

/// One operation of a step.
#[derive(Debug, Clone)]
struct Op {
    chain: Option<usize>,
    what: What,
    site: usize,
    infno: &'static str,
    msgid: String,
    body: Bytes,
    /// False: the request is lost on the way.
    deliver: bool,
    /// False: the answer is lost on the way back.
    show: bool,
    /// The second copy of a duplicated delivery: its answer is only compared.
    twin: bool,
    line: String,
}

/// A running simulation: the system under test, the hospitals and the oracle.
pub struct Simulator {
    config: SimConfig,
    rng: StdRng,
    /// Draws which old settlements a check rereads: apart from `rng`, so that how much is
    /// checked never changes what is sent.
    check_rng: StdRng,
    db: Option<Database>,
    system: Option<System>,
    population: Population,
    /// Patients (indices into the population) the hospitals bring in.
    patients: Vec<usize>,
    /// Institutions (indices) that run chains.
    sites: Vec<usize>,
    busy: HashSet<usize>,
    chains: Vec<Chain>,
    known: Vec<Known>,
    /// The settlements the hospitals saw answered, in the order they saw them (indices into
    /// `known`): what a hospital may later undo, chosen from what it knows only.
    seen: Vec<usize>,
    n_settlements: i64,
    n_reversals: i64,
    /// Each institution's ledger balance as the oracle computes it.
    balances: BTreeMap<usize, i64>,
    next_msg: u64,
    /// Message ids of the checks' 5203 queries: apart from `next_msg`, like `check_rng`.
    next_query: u64,
    /// Settlements from this index on are reread after the next crash.
    reread_from: usize,
    next_seq: u64,
    step: u64,
    now: String,
    summary: Summary,
    started: Instant,
}

/// How much a check covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// After a step: what it touched, and a sample.
    Step,
    /// After a crash: every institution, what was settled since the last crash.
    Crash,
    /// Everything (at the end of a run).
    All,
}

/// A task that sends one message.
type CallHandle = tokio::task::JoinHandle<Result<Reply, String>>;

/// Mixed into the seed for the checks' own random stream.
const CHECK_STREAM: u64 = 0x5eed_c4ec_0000_0001;

/// The result of applying operations: a broken invariant.
type Checked = Result<(), SimError>;

impl Simulator {
    /// Builds the city on a fresh database of `target` and opens the system.
    pub async fn start(config: &SimConfig, target: &DbTarget) -> Result<Simulator, SimError> {
        config.validate()?;
        let tag = format!("{}", config.seed % 1_000_000);
        let db = Database::create(target, &tag).await?.ok_or_else(|| {
            SimError::Unreachable(match target {
                DbTarget::Postgres(url) => url.clone(),
                DbTarget::SqliteTemp => "sqlite".to_owned(),
            })
        })?;
        match Simulator::set_up(config, target, &db).await {
            Ok(mut sim) => {
                sim.db = Some(db);
                Ok(sim)
            }
            Err(e) => {
                db.remove().await;
                Err(e)
            }
        }
    }

    /// Writes and imports the city into `db` and opens the system.
    async fn set_up(
        config: &SimConfig,
        target: &DbTarget,
        db: &Database,
    ) -> Result<Simulator, SimError> {
        let today = yibao_server::RequestClock::now().beijing.date();
        let registry = db.dir.path().join("registry");
        std::fs::create_dir_all(&registry)
            .map_err(|e| SimError::setup(format!("registry folder: {e}")))?;
        let population = crate::city::write_city(&registry, config.persons, config.seed, today)?;
        let importer = yibao_store::Store::connect(&db.url)
            .await
            .map_err(|e| SimError::setup(format!("opening {}: {e}", db.url)))?;
        importer
            .import_registry(&registry)
            .await
            .map_err(|e| SimError::setup(format!("importing the registry: {e}")))?;
        importer.close().await;
        // The router reads the institutions' keys once, when it is built: after the import.
        let system = System::open(&db.url).await?;
        let home = population.home_region.clone();
        let patients: Vec<usize> = (0..population.patients.len())
            .filter(|&i| {
                let p = &population.patients[i];
                p.insuplc_admdvs == home && p.filed_region.is_none()
            })
            .collect();
        let sites: Vec<usize> = (0..population.sites.len())
            .filter(|&i| {
                let s = &population.sites[i];
                !s.pharmacy && s.admdvs == home
            })
            .collect();
        if patients.len() < config.chains_max || sites.is_empty() {
            return Err(SimError::setup(format!(
                "the city has {} home patients and {} hospitals: too few for {} chains",
                patients.len(),
                sites.len(),
                config.chains_max
            )));
        }
        let mut balances = BTreeMap::new();
        for &site in &sites {
            let code = &population.sites[site].fixmedins_code;
            let balance = system
                .store()
                .account_balance(&institution_account(code))
                .await
                .map_err(|e| SimError::setup(format!("balance of {code}: {e}")))?
                .unwrap_or(0);
            balances.insert(site, balance);
        }
        let summary = Summary {
            seed: config.seed,
            db: target.name(),
            ..Summary::default()
        };
        Ok(Simulator {
            config: config.clone(),
            rng: StdRng::seed_from_u64(config.seed),
            check_rng: StdRng::seed_from_u64(config.seed ^ CHECK_STREAM),
            db: None,
            system: Some(system),
            population,
            patients,
            sites,
            busy: HashSet::new(),
            chains: Vec::new(),
            known: Vec::new(),
            seen: Vec::new(),
            n_settlements: 0,
            n_reversals: 0,
            balances,
            next_msg: 0,
            next_query: 0,
            reread_from: 0,
            next_seq: 0,
            step: 0,
            now: format!("{} 00:00:01", today.format("%Y-%m-%d")),
            summary,
            started: Instant::now(),
        })
    }

    /// The database URL (for a test that plants a fault in it).
    pub fn database_url(&self) -> &str {
        self.db.as_ref().map(|db| db.url.as_str()).unwrap_or("")
    }

    /// The trigger that crashes the process while a step's requests are in flight (for a crash
    /// point outside the simulator, such as a hook in the store).
    pub fn crash_trigger(&self) -> crate::CrashTrigger {
        self.system().crash_trigger()
    }

    /// The date the simulation's messages carry.
    pub fn today(&self) -> NaiveDate {
        NaiveDate::parse_from_str(&self.now[..10], "%Y-%m-%d").unwrap_or_default()
    }

    fn system(&self) -> &System {
        self.system
            .as_ref()
            .expect("the system is open until finish")
    }

    /// Runs `n` more operations, checking after every step (or every `check_every` steps).
    pub async fn run_ops(&mut self, n: u64) -> Checked {
        let until = self.summary.ops + n;
        while self.summary.ops < until {
            self.step += 1;
            self.summary.steps = self.step;
            if self.roll(self.config.faults.crash) {
                self.crash().await?;
                continue;
            }
            let remaining = usize::try_from(until - self.summary.ops).unwrap_or(usize::MAX);
            let (ops, solo) = self.plan_step(remaining);
            let counts = if solo {
                Some(self.row_counts().await?)
            } else {
                None
            };
            let crash = !solo
                && ops.iter().all(|op| matches!(op.what, What::Step { .. }))
                && self.roll(self.config.faults.crash_in_flight);
            let (replies, crashed) = self.send_step(&ops, crash).await?;
            let mut touched = BTreeSet::new();
            for (op, reply) in ops.iter().zip(replies) {
                if crashed {
                    self.apply_crashed(op, reply, &mut touched)?;
                } else {
                    let reply = match reply {
                        None => None,
                        Some(Ok(reply)) => Some(reply),
                        Some(Err(e)) => return Err(self.violation(&op.line, e)),
                    };
                    self.apply(op, reply, &mut touched)?;
                }
            }
            if let Some(before) = counts {
                let after = self.row_counts().await?;
                self.summary.check("nothing written", 1);
                if before != after {
                    return Err(self.violation(
                        &ops[0].line,
                        format!("a refused message wrote rows: {before:?} → {after:?}"),
                    ));
                }
            }
            self.chains.retain(|c| !c.done);
            self.busy = self.chains.iter().map(|c| c.patient).collect();
            if crashed {
                self.check(&touched, Scope::Crash).await?;
            } else if self.step % self.config.check_every == 0 {
                self.check(&touched, Scope::Step).await?;
            }
        }
        Ok(())
    }

    /// The simulated crash: drops the router and the store and opens them again, then checks
    /// everything the hospitals were told.
    pub async fn crash(&mut self) -> Checked {
        self.summary.crashes += 1;
        self.summary.fault("crash");
        let line = format!("{} crash", self.step);
        self.summary.line(&line, self.config.keep_log);
        self.system
            .as_mut()
            .expect("the system is open until finish")
            .crash()
            .await?;
        self.check(&BTreeSet::new(), Scope::Crash).await
    }

    /// Checks every invariant over everything known (as after a crash and at the end).
    pub async fn check_all(&mut self) -> Checked {
        self.check(&BTreeSet::new(), Scope::All).await
    }

    /// Closes the system, removes the database and returns the report.
    pub async fn finish(mut self) -> Summary {
        if let Some(system) = self.system.take() {
            system.close().await;
        }
        if let Some(db) = self.db.take() {
            db.remove().await;
        }
        self.summary.settlements = self.n_settlements;
        self.summary.reversals = self.n_reversals;
        self.summary.elapsed = self.started.elapsed();
        self.summary
    }

    fn roll(&mut self, permille: u32) -> bool {
        permille > 0 && self.rng.random_range(0..1000) < permille
    }

    /// A new message id of institution `site`: its code and a counter, 30 characters (the
    /// interface's limit), unique in the run's fresh database.
    fn msgid(&mut self, site: usize) -> String {
        self.next_msg += 1;
        msgid_of(
            &self.population.sites[site].fixmedins_code,
            "",
            self.next_msg,
        )
    }

    fn violation(&self, op: &str, what: String) -> SimError {
        SimError::Violation(Box::new(Failure {
            seed: self.config.seed,
            step: self.step,
            op: op.to_owned(),
            what,
        }))
    }
}

/// The part of a chain message's answer that the same seed must reproduce (ids and times are
/// the server's own): the amounts of a settlement, the totals of a fee upload. A replay gives
/// the same line as the first answer, so a retry after a crash digests alike whether or not the
/// crash cut the first call off.
fn answer_line(infno: &str, output: &str) -> String {
    match infno {
        "2204" | "2301" => match parse_fee_result(output) {
            Ok(totals) => format!("{infno} {totals:?}"),
            Err(problems) => format!("{infno} {problems:?}"),
        },
        "2206" | "2207" | "2303" | "2304" | "2208" | "2305" => match parse_settlement(output) {
            Ok(s) => format!("{infno} {:?}", s.amounts.fields()),
            Err(e) => format!("{infno} {e}"),
        },
        _ => format!("{infno} ok"),
    }
}

/// `code`, `kind` and `n` zero-padded to the interface's 30 characters.
fn msgid_of(code: &str, kind: &str, n: u64) -> String {
    let width = MSGID_CHARS_MAX.saturating_sub(code.len() + kind.len());
    let id = format!("{code}{kind}{n:0>width$}");
    assert!(id.len() <= MSGID_CHARS_MAX, "message id {id} is too long");
    id
}

/// The `mdtrt_id` of a 2201 (`data`) or 2401 (`result`) answer.
fn registered_mdtrt_id(output: &str) -> Option<String> {
    let value: Value = serde_json::from_str(output).ok()?;
    value["data"]["mdtrt_id"]
        .as_str()
        .or(value["result"]["mdtrt_id"].as_str())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}
