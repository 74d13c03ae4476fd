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
    /// A message of the chain (registration, fees, settlement, cancellation …).
    Send(&'static str),
    /// 2208/2305 of the chain's settlement.
    Reverse,
    /// 2601 of the chain's settlement message.
    RevokeSettlement,
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
    /// 2208/2305.
    Reverse,
    /// 2601 of the settlement.
    RevokeSettlement,
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
            What::Reverse => "",
            What::RevokeSettlement => " of a settlement",
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
            db: Some(db),
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
        self.summary.op_digest.add(&line);
        if self.config.keep_log {
            self.summary.log.push(line);
        }
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

    // ---- Planning a step -------------------------------------------------------------------

    /// The operations of the next step, and whether the step is a solo reorder (checked for
    /// writing nothing).
    fn plan_step(&mut self, remaining: usize) -> (Vec<Op>, bool) {
        while self.chains.len() < self.config.chains_max {
            self.start_chain();
        }
        if self.roll(self.config.faults.reorder) {
            if let Some(op) = self.reorder_op() {
                return (vec![op], true);
            }
        }
        let k = self
            .rng
            .random_range(1..=self.config.concurrency_max)
            .min(remaining)
            .max(1);
        let mut order: Vec<usize> = (0..self.chains.len()).collect();
        let mut ops = Vec::new();
        for i in 0..k.min(order.len()) {
            let j = self.rng.random_range(i..order.len());
            order.swap(i, j);
            let chain = order[i];
            ops.extend(self.chain_ops(chain));
        }
        if self.roll(self.config.faults.phantom_revoke) {
            ops.push(self.phantom_op());
        }
        if self.roll(self.config.faults.undo_old) {
            ops.extend(self.undo_old_op());
        }
        (ops, false)
    }

    fn start_chain(&mut self) {
        let mut idx = self.rng.random_range(0..self.patients.len());
        while self.busy.contains(&self.patients[idx]) {
            idx = (idx + 1) % self.patients.len();
        }
        let patient = self.patients[idx];
        self.busy.insert(patient);
        let site = self.sites[self.rng.random_range(0..self.sites.len())];
        let inpatient = self.roll(self.config.inpatient_permille);
        self.next_seq += 1;
        let p = &self.population.patients[patient];
        let level = self.population.sites[site].hi_setl_lv;
        let (kind, lines) = if inpatient {
            (VisitKind::Inpatient, INPATIENT_LINES)
        } else {
            (VisitKind::Outpatient, OUTPATIENT_LINES)
        };
        let (age, chronic, has_account) = (p.age, p.chronic, p.has_account);
        let target = cost_target_fen(&mut self.rng, kind, level, age, chronic);
        let n_lines = self.rng.random_range(lines.0..=lines.1);
        let bill = build_bill(
            &mut self.rng,
            &self.population.items,
            &[ItemKind::Drug, ItemKind::Service, ItemKind::Consumable],
            n_lines,
            target,
        );
        let acct_used_flag = if has_account && self.rng.random_range(0..10) < 7 {
            "1"
        } else {
            "0"
        };
        let chain: &[&'static str] = if inpatient {
            &INPATIENT_CHAIN
        } else {
            &OUTPATIENT_CHAIN
        };
        let plan: Vec<Step> = chain.iter().map(|i| Step::Send(i)).collect();
        self.chains.push(Chain {
            patient,
            site,
            inpatient,
            seq: self.next_seq,
            msgs: vec![None; plan.len()],
            plan,
            at: 0,
            mdtrt_id: None,
            bill,
            fee_round: 0,
            acct_used_flag,
            pending: None,
            settlement: None,
            barred: None,
            done: false,
        });
    }

    fn visit<'a>(&'a self, chain: &Chain) -> Visit<'a> {
        Visit {
            site: &self.population.sites[chain.site],
            patient: &self.population.patients[chain.patient],
            items: &self.population.items,
            seq: chain.seq,
            now: &self.now,
            inpatient: chain.inpatient,
        }
    }

    /// The message of plan step `plan_idx` of chain `c`, built on first use.
    fn message(&mut self, c: usize, plan_idx: usize) -> Msg {
        if let Some(msg) = &self.chains[c].msgs[plan_idx] {
            return msg.clone();
        }
        let Step::Send(infno) = self.chains[c].plan[plan_idx] else {
            unreachable!("only Send steps have messages");
        };
        let msgid = self.msgid(self.chains[c].site);
        let chain = &self.chains[c];
        let visit = self.visit(chain);
        let mdtrt_id = chain.mdtrt_id.clone().unwrap_or_default();
        let input = visit.input(
            infno,
            &mdtrt_id,
            &chain.bill,
            chain.fee_round,
            chain.acct_used_flag,
        );
        let body = visit.envelope(infno, &msgid, input);
        let msg = Msg {
            infno,
            msgid,
            body,
            executed: false,
            output: None,
            in_doubt: false,
            crashed: false,
        };
        self.chains[c].msgs[plan_idx] = Some(msg.clone());
        msg
    }

    fn op(
        &self,
        c: Option<usize>,
        site: usize,
        what: What,
        infno: &'static str,
        msgid: String,
        body: Bytes,
    ) -> Op {
        let psn_no = c
            .map(|c| {
                self.population.patients[self.chains[c].patient]
                    .psn_no
                    .as_str()
            })
            .unwrap_or("-");
        let line = format!(
            "{} {infno}{} {} {psn_no} {msgid}",
            self.step,
            what.name(),
            self.population.sites[site].fixmedins_code
        );
        Op {
            chain: c,
            what,
            site,
            infno,
            msgid,
            body,
            deliver: true,
            show: true,
            twin: false,
            line,
        }
    }

    /// The next operations of chain `c` (two for a duplicate delivery).
    fn chain_ops(&mut self, c: usize) -> Vec<Op> {
        let faults = self.config.faults.clone();
        let site = self.chains[c].site;
        // A message revoked before it arrived may arrive now.
        if self.chains[c].pending.is_none() && self.chains[c].barred.is_some() && self.roll(500) {
            let msg = self.chains[c].barred.take().expect("checked");
            self.summary.fault("late delivery");
            return vec![self.op(Some(c), site, What::Late, msg.infno, msg.msgid, msg.body)];
        }
        if let Some(lost) = self.chains[c].pending {
            let plan_idx = self.chains[c].at;
            let msg = self.chains[c].msgs[plan_idx]
                .clone()
                .expect("a lost message was built");
            // A message the server crashed under is retried, never revoked: what the 2601 would
            // undo could be in doubt. The choice rests on what the hospital knows only, so that
            // the same seed sends the same messages whatever the crash cut off.
            if !msg.crashed && REVOCABLE.contains(&msg.infno) && self.roll(faults.revoke_lost) {
                let msgid = self.msgid(site);
                let visit = self.visit(&self.chains[c]);
                let input = visit.revoke_input(&msg.msgid, msg.infno);
                let body = visit.envelope("2601", &msgid, input);
                self.summary.fault(match lost {
                    Lost::Request => "revoke of a lost request",
                    Lost::Answer => "revoke of a lost answer",
                });
                return vec![self.op(
                    Some(c),
                    site,
                    What::RevokeLost { plan_idx },
                    "2601",
                    msgid,
                    body,
                )];
            }
            self.summary.fault("retry");
            return self.send_ops(c, plan_idx, msg);
        }
        let plan_idx = self.chains[c].at;
        match self.chains[c].plan[plan_idx] {
            Step::Send(_) => {
                let msg = self.message(c, plan_idx);
                self.send_ops(c, plan_idx, msg)
            }
            Step::Reverse => {
                let known = &self.known[self.chains[c].settlement.expect("settled")];
                let (setl_id, mdtrt_id) = (known.setl_id.clone(), known.mdtrt_id.clone());
                let infno = if self.chains[c].inpatient {
                    "2305"
                } else {
                    "2208"
                };
                let msgid = self.msgid(site);
                let visit = self.visit(&self.chains[c]);
                let body = visit.envelope(infno, &msgid, visit.reversal_input(&mdtrt_id, &setl_id));
                vec![self.op(Some(c), site, What::Reverse, infno, msgid, body)]
            }
            Step::RevokeSettlement => {
                let settle_idx = self.settle_idx(c);
                let msg = self.chains[c].msgs[settle_idx].clone().expect("settled");
                let msgid = self.msgid(site);
                let visit = self.visit(&self.chains[c]);
                let body =
                    visit.envelope("2601", &msgid, visit.revoke_input(&msg.msgid, msg.infno));
                vec![self.op(Some(c), site, What::RevokeSettlement, "2601", msgid, body)]
            }
            Step::Conflict => {
                let settle_idx = self.settle_idx(c);
                let msg = self.chains[c].msgs[settle_idx].clone().expect("settled");
                self.summary.fault("conflict");
                let body = with_other_content(&msg.body);
                vec![self.op(Some(c), site, What::Conflict, msg.infno, msg.msgid, body)]
            }
            Step::UndoAgain => {
                // Undone once, by a reversal or a 2601: a second undo of either kind is refused.
                let settle_idx = self.settle_idx(c);
                let settle = self.chains[c].msgs[settle_idx].clone().expect("settled");
                let known = &self.known[self.chains[c].settlement.expect("settled")];
                let undo = if self.rng.random_range(0..2) == 0 {
                    Undo::Reversal {
                        setl_id: known.setl_id.clone(),
                        mdtrt_id: known.mdtrt_id.clone(),
                    }
                } else {
                    Undo::Revoke {
                        msgid: settle.msgid,
                        infno: settle.infno,
                    }
                };
                let msgid = self.msgid(site);
                self.summary.fault("undo again");
                let visit = self.visit(&self.chains[c]);
                let (infno, input) = match &undo {
                    Undo::Reversal { setl_id, mdtrt_id } => (
                        if self.chains[c].inpatient {
                            "2305"
                        } else {
                            "2208"
                        },
                        visit.reversal_input(mdtrt_id, setl_id),
                    ),
                    Undo::Revoke { msgid, infno } => ("2601", visit.revoke_input(msgid, infno)),
                };
                let body = visit.envelope(infno, &msgid, input);
                vec![self.op(Some(c), site, What::UndoAgain, infno, msgid, body)]
            }
        }
    }

    /// A chain message, perhaps lost on the way there or back, perhaps delivered twice.
    fn send_ops(&mut self, c: usize, plan_idx: usize, msg: Msg) -> Vec<Op> {
        let faults = self.config.faults.clone();
        let site = self.chains[c].site;
        let mut op = self.op(
            Some(c),
            site,
            What::Step { plan_idx },
            msg.infno,
            msg.msgid,
            msg.body,
        );
        if self.roll(faults.lost_request) {
            self.summary.fault("lost request");
            op.deliver = false;
            op.show = false;
            op.line.push_str(" [request lost]");
            return vec![op];
        }
        if self.roll(faults.lost_answer) {
            self.summary.fault("lost answer");
            op.show = false;
            op.line.push_str(" [answer lost]");
        }
        if self.roll(faults.duplicate) {
            self.summary.fault("duplicate");
            let mut twin = op.clone();
            twin.show = false;
            twin.twin = true;
            twin.line.push_str(" [duplicate]");
            return vec![op, twin];
        }
        vec![op]
    }

    fn settle_idx(&self, c: usize) -> usize {
        let chain = &self.chains[c];
        chain
            .plan
            .iter()
            .position(|s| matches!(s, Step::Send("2207" | "2304")))
            .expect("every chain settles")
    }

    /// A settlement sent before the fee upload of a chain that is about to upload its fees.
    fn reorder_op(&mut self) -> Option<Op> {
        let c = (0..self.chains.len()).find(|&c| {
            let chain = &self.chains[c];
            chain.pending.is_none()
                && chain.barred.is_none()
                && matches!(chain.plan[chain.at], Step::Send("2204" | "2301"))
        })?;
        let settle_idx = self.settle_idx(c);
        let msg = self.message(c, settle_idx);
        self.summary.fault("reorder");
        let site = self.chains[c].site;
        Some(self.op(
            Some(c),
            site,
            What::Reorder {
                plan_idx: settle_idx,
            },
            msg.infno,
            msg.msgid,
            msg.body,
        ))
    }

    /// A 2601 of a message id no one sent.
    fn phantom_op(&mut self) -> Op {
        self.summary.fault("phantom revoke");
        let site = self.sites[self.rng.random_range(0..self.sites.len())];
        let patient = self.patients[self.rng.random_range(0..self.patients.len())];
        let oinfno = REVOCABLE[self.rng.random_range(0..REVOCABLE.len())];
        let never = self.msgid(site);
        let msgid = self.msgid(site);
        let visit = Visit {
            site: &self.population.sites[site],
            patient: &self.population.patients[patient],
            items: &self.population.items,
            seq: 0,
            now: &self.now,
            inpatient: false,
        };
        let body = visit.envelope("2601", &msgid, visit.revoke_input(&never, oinfno));
        let mut op = self.op(None, site, What::Phantom, "2601", msgid, body);
        op.line.push_str(&format!(
            " omsgid {never} ({oinfno}, {})",
            visit.patient.psn_no
        ));
        op
    }

    /// A reversal or a 2601 of a random earlier outpatient settlement that still stands, of a
    /// person with no chain under way (so that nothing of theirs runs at the same time).
    fn undo_old_op(&mut self) -> Option<Op> {
        if self.seen.is_empty() {
            return None;
        }
        let start = self.rng.random_range(0..self.seen.len());
        let revoke = self.rng.random_range(0..2) == 0;
        let busy: HashSet<usize> = self.chains.iter().map(|c| c.patient).collect();
        let k = (0..self.seen.len().min(UNDO_OLD_TRIES_MAX))
            .map(|i| self.seen[(start + i) % self.seen.len()])
            .find(|&k| {
                let known = &self.known[k];
                !known.reversed && known.infno == "2207" && !busy.contains(&known.patient)
            })?;
        self.summary.fault("undo of an old settlement");
        let known = self.known[k].clone();
        let msgid = self.msgid(known.site);
        let visit = Visit {
            site: &self.population.sites[known.site],
            patient: &self.population.patients[known.patient],
            items: &self.population.items,
            seq: 0,
            now: &self.now,
            inpatient: false,
        };
        let (infno, input) = if revoke {
            ("2601", visit.revoke_input(&known.msgid, known.infno))
        } else {
            (
                "2208",
                visit.reversal_input(&known.mdtrt_id, &known.setl_id),
            )
        };
        let body = visit.envelope(infno, &msgid, input);
        let mut op = self.op(
            None,
            known.site,
            What::UndoOld { k, revoke },
            infno,
            msgid,
            body,
        );
        op.line
            .push_str(&format!(" {} settled by {}", known.psn_no, known.msgid));
        Some(op)
    }

    // ---- Sending -----------------------------------------------------------------------------

    /// Starts every delivered operation of a step on its own task.
    fn spawn_calls(&mut self, ops: &[Op]) -> Vec<Option<CallHandle>> {
        let mut calls = Vec::with_capacity(ops.len());
        for op in ops {
            let kind = if op.deliver {
                format!("{}{}", op.infno, op.what.name())
            } else {
                format!("{} (lost)", op.infno)
            };
            self.summary.op(kind, &op.line, self.config.keep_log);
            calls.push(op.deliver.then(|| {
                tokio::spawn(self.system().call(
                    &self.population.sites[op.site],
                    op.infno,
                    op.body.clone(),
                ))
            }));
        }
        calls
    }

    /// Sends a step's operations and waits for their answers. When `crash` is asked for, the
    /// step's crash trigger is armed and pulled after a few turns of the scheduler (drawn from
    /// the seed; what the requests reach by then is up to the machine); whoever pulls an armed
    /// trigger (this, or a crash point in the store), the process crashes at once — the store
    /// is closed, transactions under way finish, the calls still waiting for it fail — and is
    /// reopened. Returns each call's answer (or why none came) and whether the process crashed.
    async fn send_step(
        &mut self,
        ops: &[Op],
        crash: bool,
    ) -> Result<(Vec<Option<Result<Reply, String>>>, bool), SimError> {
        let trigger = self.system().crash_trigger();
        let crashable = ops.iter().all(|op| matches!(op.what, What::Step { .. }));
        if crashable {
            trigger.arm();
        }
        let turns = if crash {
            self.rng.random_range(0..CRASH_TURNS_MAX)
        } else {
            0
        };
        let mut calls = self.spawn_calls(ops);
        if crash {
            for _ in 0..turns {
                tokio::task::yield_now().await;
            }
            trigger.pull();
        }
        let mut crashed = false;
        let mut replies = Vec::with_capacity(ops.len());
        for call in calls.iter_mut() {
            let Some(handle) = call else {
                replies.push(None);
                continue;
            };
            let joined = if crashed || !crashable {
                handle.await
            } else {
                tokio::select! {
                    joined = &mut *handle => joined,
                    () = trigger.pulled() => {
                        crashed = true;
                        self.crash_now().await?;
                        handle.await
                    }
                }
            };
            replies.push(Some(
                joined.unwrap_or_else(|e| Err(format!("the call panicked: {e}"))),
            ));
        }
        if trigger.disarm() && !crashed {
            // Pulled after the last answer came: the process dies all the same.
            crashed = true;
            self.crash_now().await?;
        }
        Ok((replies, crashed))
    }

    /// Crashes the process in the middle of a step.
    async fn crash_now(&mut self) -> Checked {
        self.summary.crashes += 1;
        self.summary.fault("crash in flight");
        let line = format!("{} crash in flight", self.step);
        self.summary.op_digest.add(&line);
        if self.config.keep_log {
            self.summary.log.push(line);
        }
        self.system
            .as_mut()
            .expect("the system is open until finish")
            .crash()
            .await
    }

    /// Applies an answer of a step the process crashed in: the hospital sees none of them; an
    /// answer that came is known to the oracle, a failed call leaves its message in doubt.
    fn apply_crashed(
        &mut self,
        op: &Op,
        reply: Option<Result<Reply, String>>,
        touched: &mut BTreeSet<usize>,
    ) -> Checked {
        // Which calls the crash cut off depends on the machine: the digest takes none of it.
        self.summary.answer_digest.add("crashed");
        let mut hidden = op.clone();
        hidden.show = false;
        if let (Some(c), What::Step { plan_idx }) = (op.chain, op.what) {
            if let Some(msg) = self.chains[c].msgs[plan_idx].as_mut() {
                msg.crashed = true;
            }
        }
        let digest = std::mem::take(&mut self.summary.answer_digest);
        let result = match reply {
            None => self.apply(&hidden, None, touched),
            Some(Ok(reply)) if reply.status == 200 => {
                *self.summary.in_flight.entry("answered").or_default() += 1;
                self.apply(&hidden, Some(reply), touched)
            }
            Some(_) => {
                *self.summary.in_flight.entry("cut off").or_default() += 1;
                let c = op.chain.expect("a chain operation");
                let What::Step { plan_idx } = op.what else {
                    unreachable!("only chain messages are sent in a crashing step")
                };
                let msg = self.chains[c].msgs[plan_idx].as_mut().expect("built");
                if !msg.executed {
                    msg.in_doubt = true;
                }
                if self.chains[c].pending.is_none() {
                    self.chains[c].pending = Some(Lost::Answer);
                }
                Ok(())
            }
        };
        self.summary.answer_digest = digest;
        result
    }

    // ---- Applying answers ------------------------------------------------------------------

    /// Reads an answer: `Ok(Some(output))` on success, `Ok(None)` on a refusal, an error on a
    /// server failure or an unreadable answer.
    fn read(&self, line: &str, reply: &Reply) -> Result<Option<String>, SimError> {
        if reply.status != 200 {
            return Err(self.violation(
                line,
                format!(
                    "HTTP {}: {}",
                    reply.status,
                    String::from_utf8_lossy(&reply.body)
                ),
            ));
        }
        let answer = Answer::parse(&reply.body).map_err(|e| self.violation(line, e))?;
        match answer.infcode() {
            Some(0) => Ok(Some(answer.output().unwrap_or("null").to_owned())),
            Some(-1) => Ok(None),
            other => Err(self.violation(line, format!("infcode {other:?}"))),
        }
    }

    fn apply(&mut self, op: &Op, reply: Option<Reply>, touched: &mut BTreeSet<usize>) -> Checked {
        let Some(reply) = reply else {
            // The request was lost: the server saw nothing; the hospital does not know.
            self.summary.answer_digest.add("lost");
            let c = op.chain.expect("only chain messages are lost");
            self.chains[c].pending = Some(Lost::Request);
            return Ok(());
        };
        let output = self.read(&op.line, &reply)?;
        let err_msg = || {
            Answer::parse(&reply.body)
                .ok()
                .and_then(|a| a.err_msg)
                .unwrap_or_default()
        };
        match (&output, op.what.refused()) {
            (Some(output), true) => {
                return Err(self.violation(
                    &op.line,
                    format!(
                        "accepted where it must be refused: {}",
                        output.chars().take(300).collect::<String>()
                    ),
                ))
            }
            (None, false) => {
                return Err(self.violation(&op.line, format!("refused: {}", err_msg())));
            }
            (None, true) => {
                self.summary.answer_digest.add("refused");
                self.summary.check("refusals", 1);
                let msg = err_msg();
                // The refusal must be for the fault's reason, not another one.
                let reason = match op.what {
                    What::Conflict => Some(op.msgid.as_str()),
                    What::Late => Some("revoked"),
                    _ => None,
                };
                if let Some(reason) = reason.filter(|r| !msg.contains(r)) {
                    return Err(self.violation(
                        &op.line,
                        format!("refused for another reason than `{reason}`: {msg}"),
                    ));
                }
                if let (Some(c), What::Conflict | What::UndoAgain) = (op.chain, op.what) {
                    let chain = &mut self.chains[c];
                    chain.at += 1;
                    chain.done = chain.at >= chain.plan.len();
                }
                return Ok(());
            }
            (Some(_), false) => {}
        }
        let output = output.expect("matched");
        match op.what {
            What::Step { plan_idx } => self.apply_step(op, plan_idx, output, touched),
            What::RevokeLost { plan_idx } => {
                self.summary.answer_digest.add(&format!("revoked {output}"));
                self.apply_revoke_lost(op, plan_idx, touched);
                Ok(())
            }
            What::Reverse => {
                let c = op.chain.expect("a chain operation");
                let k = self.chains[c].settlement.expect("settled");
                self.apply_reversal(op, k, &output, touched)?;
                self.chains[c].at += 1;
                Ok(())
            }
            What::RevokeSettlement => {
                self.summary.answer_digest.add(&format!("revoked {output}"));
                let c = op.chain.expect("a chain operation");
                let k = self.chains[c].settlement.expect("settled");
                self.undo_settlement(k, touched);
                self.chains[c].at += 1;
                Ok(())
            }
            What::Phantom => {
                self.summary.answer_digest.add(&format!("revoked {output}"));
                Ok(())
            }
            What::UndoOld { k, revoke: true } => {
                self.summary.answer_digest.add(&format!("revoked {output}"));
                self.undo_settlement(k, touched);
                Ok(())
            }
            What::UndoOld { k, revoke: false } => self.apply_reversal(op, k, &output, touched),
            What::Late | What::Reorder { .. } | What::Conflict | What::UndoAgain => {
                unreachable!("refusals returned above")
            }
        }
    }

    fn undo_settlement(&mut self, k: usize, touched: &mut BTreeSet<usize>) {
        let known = &mut self.known[k];
        known.reversed = true;
        self.n_reversals += 1;
        *self.balances.entry(known.site).or_default() -= known.net_fen;
        touched.insert(k);
    }

    fn apply_step(
        &mut self,
        op: &Op,
        plan_idx: usize,
        output: String,
        touched: &mut BTreeSet<usize>,
    ) -> Checked {
        let c = op.chain.expect("a chain operation");
        let msg = self.chains[c].msgs[plan_idx]
            .clone()
            .expect("a sent message was built");
        if msg.executed {
            // A retry or a duplicate: the stored answer, exactly.
            let first: Value = serde_json::from_str(msg.output.as_deref().unwrap_or("null"))
                .unwrap_or(Value::Null);
            let again: Value = serde_json::from_str(&output).unwrap_or(Value::Null);
            self.summary.check("replays", 1);
            if first != again {
                return Err(self.violation(
                    &op.line,
                    format!(
                        "a replay of msgid {} answered differently: first {}, now {}",
                        msg.msgid,
                        msg.output.as_deref().unwrap_or("null"),
                        output
                    ),
                ));
            }
            self.summary
                .answer_digest
                .add(&answer_line(msg.infno, &output));
            if op.twin {
                return Ok(());
            }
        } else {
            if msg.in_doubt {
                *self
                    .summary
                    .in_flight
                    .entry("in doubt, settled")
                    .or_default() += 1;
            }
            self.first_answer(op, c, &output, touched)?;
            let slot = self.chains[c].msgs[plan_idx].as_mut().expect("built");
            slot.executed = true;
            slot.in_doubt = false;
            slot.output = Some(output.clone());
            if op.twin {
                return Ok(());
            }
        }
        if !op.show {
            if self.chains[c].pending.is_none() {
                self.chains[c].pending = Some(Lost::Answer);
            }
            return Ok(());
        }
        // The hospital has the answer.
        let chain = &mut self.chains[c];
        chain.pending = None;
        chain.at += 1;
        match msg.infno {
            "2201" | "2401" => {
                chain.mdtrt_id = Some(registered_mdtrt_id(&output).unwrap_or_default());
            }
            "2207" | "2304" => {
                if let Some(k) = self.chains[c].settlement {
                    self.seen.push(k);
                }
                self.plan_after_settlement(c);
            }
            _ => {}
        }
        if self.chains[c].at >= self.chains[c].plan.len() {
            self.chains[c].done = true;
        }
        Ok(())
    }

    /// What follows a settlement the hospital saw: nothing, or a conflicting reuse of its msgid,
    /// a reversal or a revocation (then perhaps a second one) and the visit's cancellation.
    fn plan_after_settlement(&mut self, c: usize) {
        let faults = self.config.faults.clone();
        let mut more = Vec::new();
        if self.roll(faults.conflict) {
            more.push(Step::Conflict);
        }
        if self.roll(faults.reversal) {
            more.push(if self.rng.random_range(0..2) == 0 {
                self.summary.fault("reversal");
                Step::Reverse
            } else {
                self.summary.fault("revoke of a settlement");
                Step::RevokeSettlement
            });
            if self.roll(faults.undo_again) {
                more.push(Step::UndoAgain);
            }
            let cancel: &[&'static str] = if self.chains[c].inpatient {
                &INPATIENT_CANCEL
            } else {
                &OUTPATIENT_CANCEL
            };
            more.extend(cancel.iter().map(|i| Step::Send(i)));
        }
        let chain = &mut self.chains[c];
        chain.plan.extend(more);
        chain.msgs.resize(chain.plan.len(), None);
    }

    /// Checks the first successful answer of a chain message and records what it committed.
    fn first_answer(
        &mut self,
        op: &Op,
        c: usize,
        output: &str,
        touched: &mut BTreeSet<usize>,
    ) -> Checked {
        let bill_fen = self.chains[c].bill.total_fen();
        let n_lines = self.chains[c].bill.lines.len();
        match op.infno {
            "2201" | "2401" => {
                if registered_mdtrt_id(output).is_none() {
                    return Err(self.violation(&op.line, format!("no mdtrt_id in {output}")));
                }
                self.summary
                    .answer_digest
                    .add(&answer_line(op.infno, output));
            }
            "2204" | "2301" => {
                let totals = parse_fee_result(output)
                    .map_err(|problems| self.violation(&op.line, problems.join("; ")))?;
                if totals.det_item_fee_sumamt != bill_fen || totals.n_lines != n_lines {
                    return Err(self.violation(
                        &op.line,
                        format!(
                            "answered {} lines / {} fen for {n_lines} lines / {bill_fen} fen",
                            totals.n_lines, totals.det_item_fee_sumamt
                        ),
                    ));
                }
                self.summary
                    .answer_digest
                    .add(&answer_line(op.infno, output));
            }
            "2206" | "2303" | "2207" | "2304" => {
                let settles = matches!(op.infno, "2207" | "2304");
                let s = parse_settlement(output).map_err(|e| self.violation(&op.line, e))?;
                let mut problems = check_identities(&s, Direction::Settlement);
                if s.amounts.medfee_sumamt != bill_fen {
                    problems.push(format!(
                        "medfee_sumamt {} fen, the bill is {bill_fen} fen",
                        s.amounts.medfee_sumamt
                    ));
                }
                if settles {
                    if s.medins_setl_id.as_deref() != Some(op.msgid.as_str()) {
                        problems.push(format!(
                            "medins_setl_id {:?} is not the msgid",
                            s.medins_setl_id
                        ));
                    }
                    if s.setl_id.as_deref().unwrap_or("").is_empty() {
                        problems.push("no setl_id".to_owned());
                    }
                }
                self.summary.check("answer identities", 1);
                if !problems.is_empty() {
                    return Err(self.violation(&op.line, problems.join("; ")));
                }
                self.summary
                    .answer_digest
                    .add(&answer_line(op.infno, output));
                if settles {
                    let net_fen = s.amounts.medfee_sumamt - s.amounts.hosp_part_amt;
                    let site = self.chains[c].site;
                    self.known.push(Known {
                        site,
                        patient: self.chains[c].patient,
                        msgid: op.msgid.clone(),
                        infno: op.infno,
                        psn_no: self.population.patients[self.chains[c].patient]
                            .psn_no
                            .clone(),
                        mdtrt_id: s.mdtrt_id.clone().unwrap_or_default(),
                        setl_id: s.setl_id.clone().unwrap_or_default(),
                        amounts: s.amounts,
                        net_fen,
                        reversed: false,
                    });
                    let k = self.known.len() - 1;
                    self.chains[c].settlement = Some(k);
                    self.n_settlements += 1;
                    *self.balances.entry(site).or_default() += net_fen;
                    touched.insert(k);
                }
            }
            _ => self
                .summary
                .answer_digest
                .add(&answer_line(op.infno, output)),
        }
        Ok(())
    }

    /// The hospital revoked a message whose fate it did not know; the oracle knows.
    fn apply_revoke_lost(&mut self, op: &Op, plan_idx: usize, touched: &mut BTreeSet<usize>) {
        let c = op.chain.expect("a chain operation");
        let msg = self.chains[c].msgs[plan_idx]
            .clone()
            .expect("a lost message was built");
        self.chains[c].pending = None;
        if !msg.executed {
            // Barred: it may still arrive, and must then be refused. The step is sent again
            // under a new msgid.
            self.chains[c].barred = Some(msg);
            self.chains[c].msgs[plan_idx] = None;
            self.chains[c].fee_round += 1;
            return;
        }
        match msg.infno {
            // The visit is cancelled: the chain ends.
            "2201" | "2401" => self.chains[c].done = true,
            // The fees are deleted: uploaded again under a new msgid and new line numbers.
            "2204" | "2301" => {
                self.chains[c].msgs[plan_idx] = None;
                self.chains[c].fee_round += 1;
            }
            // The settlement is reversed: settled again under a new msgid.
            _ => {
                let k = self.chains[c].settlement.expect("an executed settlement");
                self.undo_settlement(k, touched);
                self.chains[c].msgs[plan_idx] = None;
                self.chains[c].settlement = None;
            }
        }
    }

    /// A reversal's answer: the exact negation of settlement `k`, which is now undone.
    fn apply_reversal(
        &mut self,
        op: &Op,
        k: usize,
        output: &str,
        touched: &mut BTreeSet<usize>,
    ) -> Checked {
        let s = parse_settlement(output).map_err(|e| self.violation(&op.line, e))?;
        let mut problems = check_identities(&s, Direction::Reversal);
        problems.extend(check_negation(&self.known[k].amounts, &s.amounts));
        self.summary.check("answer identities", 1);
        if !problems.is_empty() {
            return Err(self.violation(&op.line, problems.join("; ")));
        }
        self.summary
            .answer_digest
            .add(&format!("{:?}", s.amounts.fields()));
        self.undo_settlement(k, touched);
        Ok(())
    }

    // ---- Checks ------------------------------------------------------------------------------

    async fn row_counts(&self) -> Result<Vec<(&'static str, i64)>, SimError> {
        self.system()
            .store()
            .row_counts()
            .await
            .map_err(|e| self.violation("row counts", format!("the store failed: {e}")))
    }

    /// The invariants: the ledger (and the accumulators) check, the number of settlements and
    /// reversals, each institution's balance, and the settlements the step touched plus a
    /// sample of the others read back through 5203; after a crash also every institution and
    /// the settlements made since the last crash, at the end every settlement.
    async fn check(&mut self, touched: &BTreeSet<usize>, scope: Scope) -> Checked {
        let started = Instant::now();
        let result = self.check_inner(touched, scope).await;
        self.summary.checking += started.elapsed();
        result
    }

    async fn check_inner(&mut self, touched: &BTreeSet<usize>, scope: Scope) -> Checked {
        let store = self.system().store().clone();
        let report = store
            .check_ledger()
            .await
            .map_err(|e| self.violation("check_ledger", format!("the store failed: {e}")))?;
        self.summary.check("ledger", 1);
        if !report.is_balanced() {
            return Err(self.violation("check_ledger", report.problems.join("; ")));
        }
        // Settlements sent when the process crashed may or may not be there until retried.
        let in_doubt: Vec<usize> = self
            .chains
            .iter()
            .filter(|chain| {
                chain
                    .msgs
                    .iter()
                    .flatten()
                    .any(|m| m.in_doubt && matches!(m.infno, "2207" | "2304"))
            })
            .map(|chain| chain.site)
            .collect();
        let n_doubt = i64::try_from(in_doubt.len()).unwrap_or(i64::MAX);
        let settlements_ok =
            (self.n_settlements..=self.n_settlements + n_doubt).contains(&report.n_settlements);
        if !settlements_ok || report.n_reversals != self.n_reversals {
            return Err(self.violation(
                "settlement count",
                format!(
                    "the ledger holds {} settlements and {} reversals; {} (and {n_doubt} in doubt) and {} were committed",
                    report.n_settlements,
                    report.n_reversals,
                    self.n_settlements,
                    self.n_reversals
                ),
            ));
        }
        let sites: BTreeSet<usize> = if scope != Scope::Step {
            self.balances.keys().copied().collect()
        } else {
            touched.iter().map(|&k| self.known[k].site).collect()
        };
        for site in sites.into_iter().filter(|site| !in_doubt.contains(site)) {
            let code = self.population.sites[site].fixmedins_code.clone();
            let balance = store
                .account_balance(&institution_account(&code))
                .await
                .map_err(|e| self.violation("balance", format!("the store failed: {e}")))?
                .unwrap_or(0);
            self.summary.check("institution balance", 1);
            let expected = self.balances.get(&site).copied().unwrap_or(0);
            if balance != expected {
                return Err(self.violation(
                    "institution balance",
                    format!("{code} holds {balance} fen; its settlements add up to {expected} fen"),
                ));
            }
        }
        let mut reread: BTreeSet<usize> = touched.clone();
        if scope == Scope::All {
            reread.extend(0..self.known.len());
        } else if scope == Scope::Crash {
            // What was settled since the last crash (the newest first, bounded), then a sample.
            let since = self
                .reread_from
                .max(self.known.len().saturating_sub(CRASH_REREADS_MAX));
            reread.extend(since..self.known.len());
            self.reread_from = self.known.len();
        }
        if scope != Scope::All && !self.known.is_empty() {
            for _ in 0..self.config.sample_checks {
                reread.insert(self.check_rng.random_range(0..self.known.len()));
            }
        }
        for k in reread {
            self.reread(k).await?;
        }
        Ok(())
    }

    /// Reads settlement `k` back through 5203: the same amounts the 2207/2304 answered, and the
    /// reversal state the hospital was told.
    async fn reread(&mut self, k: usize) -> Checked {
        let known = self.known[k].clone();
        self.next_query += 1;
        let msgid = msgid_of(
            &self.population.sites[known.site].fixmedins_code,
            "Q",
            self.next_query,
        );
        let site = &self.population.sites[known.site];
        let patient = &self.population.patients[known.patient];
        let visit = Visit {
            site,
            patient,
            items: &self.population.items,
            seq: 0,
            now: &self.now,
            inpatient: false,
        };
        let body = visit.envelope(
            "5203",
            &msgid,
            visit.reversal_input(&known.mdtrt_id, &known.setl_id),
        );
        let what = format!("5203 of settlement {} ({})", known.setl_id, known.psn_no);
        let reply = self
            .system()
            .call(site, "5203", body)
            .await
            .map_err(|e| self.violation(&what, e))?;
        self.summary.check("5203 reread", 1);
        let Some(output) = self.read(&what, &reply)? else {
            let msg = Answer::parse(&reply.body)
                .ok()
                .and_then(|a| a.err_msg)
                .unwrap_or_default();
            return Err(self.violation(&what, format!("the settlement is gone: {msg}")));
        };
        let s = parse_settlement(&output).map_err(|e| self.violation(&what, e))?;
        if s.amounts != known.amounts {
            return Err(self.violation(
                &what,
                format!(
                    "amounts changed: answered {:?}, now {:?}",
                    known.amounts, s.amounts
                ),
            ));
        }
        let refunded = serde_json::from_str::<Value>(&output)
            .ok()
            .and_then(|v| v["setlinfo"]["refd_setl_flag"].as_str().map(|f| f == "1"))
            .unwrap_or(false);
        if refunded != known.reversed {
            return Err(self.violation(
                &what,
                format!(
                    "refd_setl_flag says reversed = {refunded}, the hospital was told {}",
                    known.reversed
                ),
            ));
        }
        Ok(())
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
        "2206" | "2207" | "2303" | "2304" => match parse_settlement(output) {
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
