//! The hospital simulator: workers on tokio, each running whole visit chains against the server
//! and checking every answer.

use crate::config::{LoadConfig, LoadError, Mix};
use crate::limits::{CONCURRENCY_MAX, INPATIENT_LINES_PER_UPLOAD};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::json;

use crate::amount::line_amount_fen;
use crate::amount::Num;
use crate::bill::{
    build_bill, cost_target_fen, inpatient_lines_for, stay_days_for, Bill, Line, VisitKind,
    OUTPATIENT_LINES,
};
use crate::limits::PLANT_PERSON_TRIES_MAX;
use crate::plant::{person_meets, Candidate, Need, PlantRecord};
use crate::population::{ItemKind, Patient, Population, Site};
use crate::summary::{latency_histogram, Latency, Summary, WorkerStats};
use crate::verify::{
    check_identities, check_negation, parse_fee_result, parse_settlement, Direction, LineTotals,
    Settlement,
};
use crate::wire::{envelope_bytes, local_now, Answer, Client, Signing, CALL_SERVICE_PATH};

/// What every chain of a run shares: the client, the population, the sign-ins and the latency
/// histograms.
pub(crate) struct Shared {
    client: Client,
    population: Arc<Population>,
    config: LoadConfig,
    deadline: Instant,
    chains_started: AtomicU64,
    sequence: AtomicU64,
    msgid_offset: u64,
    sign_nos: BTreeMap<String, String>,
    in_hospital: Mutex<HashSet<String>>,
    /// Latency per infno of the whole run: one set, whatever the number of workers or chains in
    /// flight, so memory does not grow with them (each histogram is about 140 KiB).
    latency: Mutex<BTreeMap<&'static str, Latency>>,
    /// The pharmacies' batches (3503/3501 before the 3505 of what they sell).
    stock: Mutex<crate::inventory::Stock>,
    /// The next traceability code's serial.
    trace_serial: AtomicU64,
    /// Distinguishes this run's batch numbers, serials and codes from another run's against the
    /// same server: the start's month, day and hour and the msgid offset.
    run_tag: String,
}

impl Shared {
    fn record_latency(&self, infno: &'static str, micros: u64) {
        self.latency
            .lock()
            .expect("not poisoned")
            .entry(infno)
            .or_insert_with(latency_histogram)
            .saturating_record(micros);
    }

    /// The run's latency histograms, taken out once every chain has ended.
    pub(crate) fn take_latency(&self) -> BTreeMap<&'static str, Latency> {
        std::mem::take(&mut *self.latency.lock().expect("not poisoned"))
    }

    /// True when `visits_max` chains have been started (counting this one).
    pub(crate) fn visits_exhausted(&self) -> bool {
        let n = self.chains_started.fetch_add(1, Ordering::Relaxed);
        self.config.visits_max.is_some_and(|max| n >= max)
    }
}

/// Runs the simulator against the server at `addr` and returns what happened: a closed loop of
/// `config.concurrency` workers, each starting its next chain when the last one ended.
pub async fn run(
    addr: &str,
    population: Arc<Population>,
    config: LoadConfig,
) -> Result<Summary, LoadError> {
    if config.concurrency == 0 || config.concurrency > CONCURRENCY_MAX {
        return Err(LoadError::Config(format!(
            "concurrency: {} is outside 1..={CONCURRENCY_MAX}",
            config.concurrency
        )));
    }
    let concurrency = config.concurrency;
    let shared = Arc::new(connect(addr, population, config, concurrency).await?);
    let started = Instant::now();
    let mut handles = Vec::new();
    for worker_idx in 0..concurrency {
        let shared = Arc::clone(&shared);
        handles.push(tokio::spawn(async move {
            worker(shared, worker_idx as u64).await
        }));
    }
    let mut stats = WorkerStats::default();
    for handle in handles {
        match handle.await {
            Ok(worker_stats) => stats.merge(worker_stats),
            Err(e) => stats.error(&format!("worker panicked: {e}")),
        }
    }
    stats.latency = shared.take_latency();
    Ok(Summary::new(stats, started.elapsed(), concurrency))
}

/// Signs every institution in (9001) and returns what the chains share; `pool` is the number of
/// idle connections the client keeps.
pub(crate) async fn connect(
    addr: &str,
    population: Arc<Population>,
    config: LoadConfig,
    pool: usize,
) -> Result<Shared, LoadError> {
    let client = Client::new(addr, pool);
    let signing = if config.auth {
        Signing::Valid
    } else {
        Signing::Off
    };
    // Every institution signs in once (9001) and uses its sign_no afterwards.
    let mut sign_nos = BTreeMap::new();
    // A random start for the msgid counter: runs against the same server never share one.
    let msgid_offset = std::hash::BuildHasher::hash_one(
        &std::collections::hash_map::RandomState::new(),
        crate::wire::now_ms(),
    ) % MSGID_SUFFIXES;
    let sequence = AtomicU64::new(0);
    for site in &population.sites {
        let msgid = msgid(site, msgid_offset, &sequence);
        let input =
            json!({"signIn": {"opter_no": "1001", "mac": "00-16-3E-00-00-01", "ip": "10.0.0.1"}});
        let body = envelope_bytes(site, "9001", &msgid, &site.admdvs, "", input);
        let reply = client
            .post(CALL_SERVICE_PATH, site, "9001", body, signing)
            .await
            .map_err(|e| LoadError::SignIn {
                site: site.fixmedins_code.clone(),
                reason: e.to_string(),
            })?;
        let answer = Answer::parse(&reply.body).map_err(|reason| LoadError::SignIn {
            site: site.fixmedins_code.clone(),
            reason,
        })?;
        let sign_no = answer
            .output()
            .and_then(|o| serde_json::from_str::<serde_json::Value>(o).ok())
            .and_then(|o| o["signinoutb"]["sign_no"].as_str().map(str::to_owned));
        match (answer.infcode(), sign_no) {
            (Some(0), Some(sign_no)) => {
                sign_nos.insert(site.fixmedins_code.clone(), sign_no);
            }
            _ => {
                return Err(LoadError::SignIn {
                    site: site.fixmedins_code.clone(),
                    reason: format!(
                        "HTTP {}: {}",
                        reply.status,
                        String::from_utf8_lossy(&reply.body)
                    ),
                })
            }
        }
    }
    Ok(Shared {
        client,
        population,
        deadline: Instant::now() + config.duration,
        chains_started: AtomicU64::new(0),
        sequence,
        msgid_offset,
        sign_nos,
        in_hospital: Mutex::new(HashSet::new()),
        latency: Mutex::new(BTreeMap::new()),
        stock: Mutex::new(crate::inventory::Stock::default()),
        trace_serial: AtomicU64::new(0),
        run_tag: format!("{}{msgid_offset:07}", local_now().format("%m%d%H")),
        config,
    })
}

/// The random stream of worker or lane `idx`: the run's seed mixed with the index.
pub(crate) fn lane_rng(seed: u64, idx: u64) -> StdRng {
    StdRng::seed_from_u64(seed ^ (idx.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
}

async fn worker(shared: Arc<Shared>, worker_idx: u64) -> WorkerStats {
    let mut rng = lane_rng(shared.config.seed, worker_idx);
    let mut stats = WorkerStats::default();
    loop {
        if Instant::now() >= shared.deadline || shared.visits_exhausted() {
            break;
        }
        run_chain(&shared, &mut stats, &mut rng, None).await;
    }
    stats
}

/// Runs one visit chain of a kind drawn from the mix. With `intended_start` (open loop), each
/// request's latency is counted from the moment it could have been sent: the first from the
/// chain's intended start, each later one from the previous answer's arrival. Without it
/// (closed loop), from the moment the request was sent.
pub(crate) async fn run_chain(
    shared: &Shared,
    stats: &mut WorkerStats,
    rng: &mut StdRng,
    intended_start: Option<Instant>,
) {
    let audit3102 = shared
        .config
        .audit3102
        .filter(|a| rng.random_range(0..1000) < a.permille);
    let kind = pick_kind(rng, &shared.config.mix);
    let mut chain = Chain {
        shared,
        stats,
        rng,
        open_visit: None,
        ready_at: intended_start,
    };
    match audit3102 {
        Some(audit) => chain.audit3102(audit.lines).await,
        None => chain.run(kind).await,
    }
}

fn pick_kind(rng: &mut StdRng, mix: &Mix) -> VisitKind {
    let total: u32 = mix.weights.iter().sum();
    let mut pick = rng.random_range(0..total);
    for (kind, weight) in VisitKind::ALL.iter().zip(mix.weights) {
        if pick < weight {
            return *kind;
        }
        pick -= weight;
    }
    VisitKind::Outpatient
}

/// What a request is expected to get.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Success,
    Refusal,
}

struct Chain<'a> {
    shared: &'a Shared,
    stats: &'a mut WorkerStats,
    rng: &'a mut StdRng,
    /// A visit opened (2201/2401) and not settled yet: cancelled if the chain stops early, as a
    /// HIS does, so that no visit stays open.
    open_visit: Option<OpenVisit>,
    /// Open loop only: when the next request could have been sent (the chain's intended start,
    /// then each answer's arrival); latencies are counted from it.
    ready_at: Option<Instant>,
}

/// A visit to cancel if its chain fails.
struct OpenVisit {
    site: Site,
    mdtrt_id: String,
    psn_no: String,
    insuplc: String,
    ipt_otp_no: String,
    inpatient: bool,
    discharged: bool,
}

/// Whole microseconds from `from` to `to` (0 if `to` is earlier).
fn micros_between(from: Instant, to: Instant) -> u64 {
    u64::try_from(to.saturating_duration_since(from).as_micros()).unwrap_or(u64::MAX)
}

/// Distinct 4-character base-36 msgid suffixes.
const MSGID_SUFFIXES: u64 = 36 * 36 * 36 * 36;

/// Institution code (12) + China time (14) + 4 base-36 characters from a per-run random offset
/// and a counter: unique per institution and second for up to 1.68 million messages a second.
fn msgid(site: &Site, offset: u64, sequence: &AtomicU64) -> String {
    let mut rest = (offset + sequence.fetch_add(1, Ordering::Relaxed)) % MSGID_SUFFIXES;
    let mut suffix = [b'0'; 4];
    for slot in suffix.iter_mut().rev() {
        *slot = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[(rest % 36) as usize];
        rest /= 36;
    }
    let suffix = std::str::from_utf8(&suffix).expect("ASCII");
    format!(
        "{}{}{suffix}",
        site.fixmedins_code,
        local_now().format("%Y%m%d%H%M%S")
    )
}

/// A successful answer's output (or `None` on failure, already counted).
type Outcome = Option<String>;

impl Chain<'_> {
    fn msgid(&mut self, site: &Site) -> String {
        msgid(site, self.shared.msgid_offset, &self.shared.sequence)
    }

    async fn send(
        &mut self,
        site: &Site,
        infno: &'static str,
        body: Bytes,
        expect: Expect,
    ) -> Outcome {
        self.send_signed(site, infno, body, expect, self.signing())
            .await
    }

    fn signing(&self) -> Signing {
        if self.shared.config.auth {
            Signing::Valid
        } else {
            Signing::Off
        }
    }

    async fn send_signed(
        &mut self,
        site: &Site,
        infno: &'static str,
        body: Bytes,
        expect: Expect,
        signing: Signing,
    ) -> Outcome {
        if expect == Expect::Refusal {
            self.stats.bad_requests_sent += 1;
        }
        let reply = match self
            .shared
            .client
            .post(CALL_SERVICE_PATH, site, infno, body, signing)
            .await
        {
            Ok(reply) => reply,
            Err(e) => {
                if self.ready_at.is_some() {
                    self.ready_at = Some(Instant::now());
                }
                self.stats.error(&format!("{infno} {e}"));
                return None;
            }
        };
        self.stats.requests += 1;
        let micros = match self.ready_at {
            // Open loop: a chain that waited for a free slot, or a server that stalled, shows in
            // the latency of the request that should have gone out.
            Some(ready_at) => {
                self.ready_at = Some(reply.arrived);
                micros_between(ready_at, reply.arrived)
            }
            None => reply.micros,
        };
        if expect == Expect::Success {
            self.shared.record_latency(infno, micros);
        }
        if reply.status >= 500 {
            self.stats.error(&format!("{infno} HTTP {}", reply.status));
            return None;
        }
        let answer = match Answer::parse(&reply.body) {
            Ok(answer) => answer,
            Err(e) => {
                self.stats.error(&format!("{infno} {e}"));
                return None;
            }
        };
        match (expect, answer.infcode(), reply.status) {
            (Expect::Success, Some(0), 200) => Some(answer.output().unwrap_or("null").to_owned()),
            (Expect::Success, _, status) => {
                let msg = answer.err_msg.unwrap_or_default();
                self.stats.refusal(infno, status, &msg);
                None
            }
            (Expect::Refusal, Some(-1), _) | (Expect::Refusal, _, 401) => {
                self.stats.bad_requests_refused += 1;
                None
            }
            (Expect::Refusal, _, status) => {
                self.stats.violation(format!(
                    "{infno}: a hostile request was accepted (HTTP {status}): {}",
                    String::from_utf8_lossy(&reply.body)
                        .chars()
                        .take(200)
                        .collect::<String>()
                ));
                None
            }
        }
    }

    fn pick_site(&mut self, kind: VisitKind, patient: &Patient) -> Site {
        let population = &self.shared.population;
        let home = &population.home_region;
        let cross_region = kind != VisitKind::Pharmacy
            && (self.rng.random_range(0..1000) < self.shared.config.chaos.cross_region_permille
                || (patient.filed_region.is_some() && self.rng.random_range(0..10) < 3));
        let candidates: Vec<&Site> = if kind == VisitKind::Pharmacy {
            population.sites.iter().filter(|s| s.pharmacy).collect()
        } else if cross_region {
            population
                .sites
                .iter()
                .filter(|s| !s.pharmacy && &s.admdvs != home)
                .collect()
        } else {
            // Visits by level: most care is at level 1, stays at level 2 and 3.
            let level = match (kind, self.rng.random_range(0..100)) {
                (VisitKind::Inpatient, 0..=24) | (_, 0..=49) => 1,
                (VisitKind::Inpatient, 25..=69) | (_, 50..=79) => 2,
                _ => 3,
            };
            let at_level: Vec<&Site> = population
                .sites
                .iter()
                .filter(|s| !s.pharmacy && &s.admdvs == home && s.hi_setl_lv == level)
                .collect();
            if at_level.is_empty() {
                population
                    .sites
                    .iter()
                    .filter(|s| !s.pharmacy && &s.admdvs == home)
                    .collect()
            } else {
                at_level
            }
        };
        let fallback: Vec<&Site> = population.sites.iter().filter(|s| !s.pharmacy).collect();
        let candidates = if candidates.is_empty() {
            fallback
        } else {
            candidates
        };
        candidates[self.rng.random_range(0..candidates.len())].clone()
    }

    fn sign_no(&self, site: &Site) -> &str {
        self.shared
            .sign_nos
            .get(&site.fixmedins_code)
            .map(String::as_str)
            .unwrap_or("")
    }

    fn body<T: Serialize>(
        &mut self,
        site: &Site,
        infno: &str,
        insuplc: &str,
        input: T,
    ) -> (String, Bytes) {
        let msgid = self.msgid(site);
        let body = envelope_bytes(site, infno, &msgid, insuplc, self.sign_no(site), input);
        (msgid, body)
    }

    async fn run(&mut self, kind: VisitKind) {
        let population = Arc::clone(&self.shared.population);
        let patient = population.pick_patient(self.rng).clone();
        // A chronic visit needs a chronic patient: otherwise it is a general outpatient visit.
        let kind = match (kind, patient.chronic) {
            (VisitKind::Chronic, None) => VisitKind::Outpatient,
            (kind, _) => kind,
        };
        // A planted violation (general outpatient visits only), with a person it applies to.
        let plant = Arc::clone(&self.shared.config.plant);
        let mut patient = patient;
        let mut planted = None;
        if kind == VisitKind::Outpatient {
            if let Some(candidate) = plant.draw(self.rng) {
                let day = local_now().date_naive();
                for _ in 0..PLANT_PERSON_TRIES_MAX {
                    if person_meets(&candidate.need, &patient.certno, day) {
                        planted = Some(candidate);
                        break;
                    }
                    patient = population.pick_patient(self.rng).clone();
                }
            }
        }
        if kind == VisitKind::Inpatient {
            let admitted = self
                .shared
                .in_hospital
                .lock()
                .expect("not poisoned")
                .insert(patient.psn_no.clone());
            if !admitted {
                return;
            }
            self.inpatient(&patient).await;
            if let Some(open) = self.open_visit.take() {
                self.cancel(open).await;
            }
            self.shared
                .in_hospital
                .lock()
                .expect("not poisoned")
                .remove(&patient.psn_no);
        } else {
            self.outpatient(kind, &patient, planted).await;
        }
        if let Some(open) = self.open_visit.take() {
            self.cancel(open).await;
        }
        self.stats.chains[kind_idx(kind)] += 1;
        if self.rng.random_range(0..1000) < self.shared.config.chaos.bad_permille {
            self.hostile(&patient).await;
        }
    }

    /// Cancels an unsettled visit: the discharge undone (2405) if there was one, fee lines
    /// withdrawn (2205/2302 with the "all" code `0000`), then the registration or admission
    /// (2202/2404).
    async fn cancel(&mut self, open: OpenVisit) {
        let OpenVisit {
            site,
            mdtrt_id,
            psn_no,
            insuplc,
            ipt_otp_no,
            inpatient,
            discharged,
        } = open;
        self.stats.cancelled += 1;
        if discharged {
            // 2405 出院撤销 first: fees and admission can only be withdrawn in hospital.
            let input = json!({"data": {"mdtrt_id": mdtrt_id, "psn_no": psn_no}});
            let (_, body) = self.body(&site, "2405", &insuplc, input);
            self.send(&site, "2405", body, Expect::Success).await;
        }
        let (fees_infno, fees_input, visit_infno, visit_input) = if inpatient {
            (
                "2302",
                json!({"data": [{"feedetl_sn": "0000", "mdtrt_id": mdtrt_id, "psn_no": psn_no}]}),
                "2404",
                json!({"data": {"mdtrt_id": mdtrt_id, "psn_no": psn_no}}),
            )
        } else {
            (
                "2205",
                json!({"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": "0000", "psn_no": psn_no}}),
                "2202",
                json!({"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "ipt_otp_no": ipt_otp_no}}),
            )
        };
        let (_, body) = self.body(&site, fees_infno, &insuplc, fees_input);
        self.send(&site, fees_infno, body, Expect::Success).await;
        let (_, body) = self.body(&site, visit_infno, &insuplc, visit_input);
        self.send(&site, visit_infno, body, Expect::Success).await;
    }

    async fn lookup(&mut self, site: &Site, patient: &Patient) -> bool {
        let input = json!({"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": patient.certno, "card_sn": "", "begntime": "", "psn_cert_type": "01", "certno": patient.certno, "psn_name": patient.psn_name}});
        let (_, body) = self.body(site, "1101", "", input);
        let Some(output) = self.send(site, "1101", body, Expect::Success).await else {
            return false;
        };
        let value: serde_json::Value = serde_json::from_str(&output).unwrap_or_default();
        let psn_no = value["baseinfo"]["psn_no"].as_str().unwrap_or_default();
        if psn_no != patient.psn_no {
            self.stats.violation(format!(
                "1101: certno {} answered psn_no {psn_no:?}, expected {}",
                patient.certno, patient.psn_no
            ));
            return false;
        }
        true
    }

    fn acct_used_flag(&mut self, patient: &Patient) -> &'static str {
        if patient.bound && self.rng.random_range(0..2) == 0 {
            "2"
        } else if patient.has_account && self.rng.random_range(0..10) < 7 {
            "1"
        } else {
            "0"
        }
    }

    /// One 3102 事中分析 check: a registered person, one encounter today at a home-region
    /// hospital with `n_lines` orders drawn from the catalogue (plus a planted line when the
    /// plant draws one with lines); the answer must be a `result` array, and a planted
    /// severity-1 violation must be among its findings.
    async fn audit3102(&mut self, n_lines: usize) {
        let population = Arc::clone(&self.shared.population);
        let plant = Arc::clone(&self.shared.config.plant);
        let mut patient = population.pick_patient(self.rng).clone();
        let day = local_now().date_naive();
        let mut planted = plant.draw(self.rng).filter(|c| !c.lines.is_empty());
        if let Some(candidate) = planted {
            planted = None;
            for _ in 0..PLANT_PERSON_TRIES_MAX {
                if person_meets(&candidate.need, &patient.certno, day) {
                    planted = Some(candidate);
                    break;
                }
                patient = population.pick_patient(self.rng).clone();
            }
        }
        let site = match planted.and_then(|c| self.plant_site(c)) {
            Some(site) => site,
            None => {
                planted = None;
                self.pick_site(VisitKind::Outpatient, &patient)
            }
        };
        let Some((male, brdy)) = crate::plant::sex_and_birth_of_certno(&patient.certno) else {
            self.stats.error("3102: a person without a resident id");
            return;
        };
        let seq = self.shared.sequence.fetch_add(1, Ordering::Relaxed);
        let mdtrt_id = format!("A3102-{seq}");
        let today = day.format("%Y-%m-%d").to_string();
        // Fifty lines cost more than a usual outpatient bill: the target scales with the lines.
        let target_fen = cost_target_fen(
            self.rng,
            VisitKind::Outpatient,
            site.hi_setl_lv,
            patient.age,
            None,
        ) * (n_lines as i64).max(1)
            / 8;
        let mut bill = build_bill(
            self.rng,
            population.billed_items(),
            &[ItemKind::Drug, ItemKind::Service, ItemKind::Consumable],
            n_lines,
            target_fen,
        );
        for (code, cnt_e4) in planted.iter().flat_map(|c| c.lines.iter()) {
            if let Some(item_idx) = population.item_idx(code) {
                let pric_micro = population.items[item_idx].pric_micro.max(10_000);
                bill.lines.push(Line {
                    item_idx,
                    pric_micro,
                    cnt_e4: *cnt_e4,
                    amount_fen: line_amount_fen(pric_micro, *cnt_e4),
                });
            }
        }
        let (dise_codg, dise_name) = match planted.and_then(|c| c.diagnosis.as_ref()) {
            Some((code, name)) => (code.clone(), name.clone()),
            None => {
                let (code, name) = OUTPATIENT_DIAGNOSES
                    .iter()
                    .find(|(d, _)| {
                        !planted
                            .is_some_and(|c| c.diagnosis_not_under.iter().any(|p| d.starts_with(p)))
                    })
                    .copied()
                    .unwrap_or(OUTPATIENT_DIAGNOSES[0]);
                (code.to_owned(), name.to_owned())
            }
        };
        let orders: Vec<serde_json::Value> = bill
            .lines
            .iter()
            .enumerate()
            .map(|(idx, line)| {
                let code = &population.items[line.item_idx].med_list_codg;
                json!({
                    "rx_id": format!("{seq}-{idx:03}"), "hilist_code": code, "hilist_name": code,
                    "cnt": Num::count(line.cnt_e4), "pric": Num::price(line.pric_micro),
                    "sumamt": Num::fen(line.amount_fen), "drord_begn_date": format!("{today} 09:00:00"),
                })
            })
            .collect();
        let input = json!({"data": {
            "syscode": "HIS", "task_id": format!("T{seq}"), "trig_scen": "2",
            "patient_dtos": [{
                "patn_id": patient.psn_no, "gend": if male { "1" } else { "2" },
                "brdy": brdy.format("%Y-%m-%d").to_string(), "poolarea": patient.insuplc_admdvs,
                "curr_mdtrt_id": mdtrt_id,
                "fsi_encounter_dtos": [{
                    "mdtrt_id": mdtrt_id, "medins_id": site.fixmedins_code,
                    "adm_date": format!("{today} 08:00:00"), "med_type": "11",
                    "dscg_main_dise_codg": dise_codg, "dscg_main_dise_name": dise_name,
                    "fsi_diagnose_dtos": [{"dise_codg": dise_codg, "dise_name": dise_name}],
                    "fsi_order_dtos": orders,
                }],
            }],
        }});
        let insuplc = patient.insuplc_admdvs.clone();
        let (_, body) = self.body(&site, "3102", &insuplc, input);
        let Some(output) = self.send(&site, "3102", body, Expect::Success).await else {
            return;
        };
        let value: serde_json::Value = serde_json::from_str(&output).unwrap_or_default();
        let Some(results) = value["result"].as_array() else {
            self.stats
                .violation(format!("3102: no output.result array in {output}"));
            return;
        };
        self.stats.audit3102_checks += 1;
        if let Some(c) = planted.filter(|c| c.sev_deg == 1) {
            if !results
                .iter()
                .any(|r| c.rule_ids.iter().any(|id| r["rule_id"] == json!(id)))
            {
                self.stats.violation(format!(
                    "3102: the planted {} violation ({}) was not found",
                    c.table.name(),
                    c.rule_ids.join(",")
                ));
            }
        }
    }

    /// A home-region hospital for a planted violation, below the level it needs if it needs
    /// one; `None` when the city has none.
    fn plant_site(&mut self, candidate: &Candidate) -> Option<Site> {
        let population = &self.shared.population;
        let below = match candidate.need {
            Need::LevelBelow(level) => level,
            _ => u8::MAX,
        };
        let sites: Vec<&Site> = population
            .sites
            .iter()
            .filter(|s| !s.pharmacy && s.admdvs == population.home_region && s.hi_setl_lv < below)
            .collect();
        (!sites.is_empty()).then(|| sites[self.rng.random_range(0..sites.len())].clone())
    }

    async fn outpatient(
        &mut self,
        kind: VisitKind,
        patient: &Patient,
        planted: Option<&Candidate>,
    ) {
        // A planted violation needs its items in the population and a hospital it applies to;
        // without them the visit goes unplanted.
        let plant_lines: Option<Vec<(usize, i64)>> = planted.and_then(|c| {
            c.lines
                .iter()
                .map(|(code, cnt_e4)| {
                    self.shared
                        .population
                        .item_idx(code)
                        .map(|idx| (idx, *cnt_e4))
                })
                .collect()
        });
        let plant_site = match (planted, &plant_lines) {
            (Some(c), Some(_)) => self.plant_site(c),
            _ => None,
        };
        let planted = planted.filter(|_| plant_site.is_some());
        let site = match plant_site {
            Some(site) => site,
            None => self.pick_site(kind, patient),
        };
        let insuplc = patient.insuplc_admdvs.clone();
        if self.rng.random_range(0..1000) < self.shared.config.chaos.lookup_permille
            && !self.lookup(&site, patient).await
        {
            return;
        }
        let now = local_now().format("%Y-%m-%d %H:%M:%S").to_string();
        let seq = self.shared.sequence.fetch_add(1, Ordering::Relaxed);
        let (mut dise_codg, mut dise_name) = match (kind, patient.chronic) {
            (VisitKind::Chronic, Some(disease)) => (disease.code(), disease.name()),
            _ => OUTPATIENT_DIAGNOSES[self.rng.random_range(0..OUTPATIENT_DIAGNOSES.len())],
        };
        if let Some(c) = planted {
            if let Some((code, name)) = &c.diagnosis {
                (dise_codg, dise_name) = (code.as_str(), name.as_str());
            }
            let under = |code: &str| c.diagnosis_not_under.iter().any(|p| code.starts_with(p));
            if under(dise_codg) {
                let clean = OUTPATIENT_DIAGNOSES.iter().find(|(d, _)| !under(d));
                if let Some(&(code, name)) = clean {
                    (dise_codg, dise_name) = (code, name);
                }
            }
        }
        let (dept_code, dept_name, caty) = if kind == VisitKind::Pharmacy {
            ("YF01", "药房", "A50")
        } else {
            ("NK01", "内科门诊", "A03")
        };
        // 2201 门诊挂号.
        let input = json!({"data": {
            "psn_no": patient.psn_no, "insutype": patient.insutype, "begntime": now,
            "mdtrt_cert_type": "02", "mdtrt_cert_no": patient.certno, "ipt_otp_no": format!("MZ{seq}"),
            "atddr_no": "D140500001", "dr_name": "王医生", "dept_code": dept_code, "dept_name": dept_name, "caty": caty,
        }});
        let (_, body) = self.body(&site, "2201", &insuplc, input);
        let Some(output) = self.send(&site, "2201", body, Expect::Success).await else {
            return;
        };
        let value: serde_json::Value = serde_json::from_str(&output).unwrap_or_default();
        let Some(mdtrt_id) = value["data"]["mdtrt_id"].as_str().map(str::to_owned) else {
            self.stats
                .violation(format!("2201: no output.data.mdtrt_id in {output}"));
            return;
        };
        self.open_visit = Some(OpenVisit {
            site: site.clone(),
            mdtrt_id: mdtrt_id.clone(),
            psn_no: patient.psn_no.clone(),
            insuplc: insuplc.clone(),
            ipt_otp_no: format!("MZ{seq}"),
            inpatient: false,
            discharged: false,
        });
        // 2203 就诊信息上传.
        let input = json!({
            "mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": patient.psn_no, "med_type": kind.med_type(), "begntime": now,
                "main_cond_dscr": "", "dise_codg": dise_codg, "dise_name": dise_name},
            "diseinfo": [{"diag_type": "1", "diag_srt_no": 1, "diag_code": dise_codg, "diag_name": dise_name,
                "diag_dept": dept_name, "dise_dor_no": "D140500001", "dise_dor_name": "王医生", "diag_time": now, "vali_flag": "1"}],
        });
        let (_, body) = self.body(&site, "2203", &insuplc, input);
        if self
            .send(&site, "2203", body, Expect::Success)
            .await
            .is_none()
        {
            return;
        }
        // The bill.
        let n_lines = match (kind, self.shared.config.outpatient_lines) {
            (VisitKind::Outpatient, Some(n)) => n,
            _ => self
                .rng
                .random_range(OUTPATIENT_LINES.0..=OUTPATIENT_LINES.1),
        };
        let target = cost_target_fen(
            self.rng,
            kind,
            site.hi_setl_lv,
            patient.age,
            patient.chronic,
        );
        let kinds: &[ItemKind] = if kind == VisitKind::Pharmacy {
            &[ItemKind::Drug]
        } else {
            &[ItemKind::Drug, ItemKind::Service, ItemKind::Consumable]
        };
        let mut bill = build_bill(
            self.rng,
            self.shared.population.billed_items(),
            kinds,
            n_lines,
            target,
        );
        if planted.is_some() {
            for &(item_idx, cnt_e4) in plant_lines.iter().flatten() {
                let pric_micro = self.shared.population.items[item_idx]
                    .pric_micro
                    .max(10_000);
                bill.lines.push(Line {
                    item_idx,
                    pric_micro,
                    cnt_e4,
                    amount_fen: line_amount_fen(pric_micro, cnt_e4),
                });
            }
        }
        let chrg_bchno = format!("{seq}01");
        let chaos = self.shared.config.chaos.clone();
        // A hostile 2204 first (one line's amount off by a yuan): it must be refused and write
        // nothing, which the 2206 total below then shows.
        if self.rng.random_range(0..1000) < chaos.bad_permille * 5 {
            let mut lines =
                self.fee_lines(&bill, &mdtrt_id, patient, &chrg_bchno, dise_codg, &now, seq);
            if let Some(first) = lines.first_mut() {
                first.det_item_fee_sumamt = Num::fen(bill.lines[0].amount_fen + 100);
            }
            let (_, body) = self.body(&site, "2204", &insuplc, json!({"feedetail": lines}));
            self.send(&site, "2204", body, Expect::Refusal).await;
        }
        let lines = self.fee_lines(&bill, &mdtrt_id, patient, &chrg_bchno, dise_codg, &now, seq);
        let (_, body) = self.body(&site, "2204", &insuplc, json!({"feedetail": lines}));
        let Some(output) = self.send(&site, "2204", body, Expect::Success).await else {
            return;
        };
        let totals = match parse_fee_result(&output) {
            Ok(totals) => totals,
            Err(problems) => {
                for p in problems {
                    self.stats.violation(format!("2204: {p}"));
                }
                return;
            }
        };
        if totals.det_item_fee_sumamt != bill.total_fen() || totals.n_lines != bill.lines.len() {
            self.stats.violation(format!(
                "2204: answered {} lines / {} fen for {} lines / {} fen sent",
                totals.n_lines,
                totals.det_item_fee_sumamt,
                bill.lines.len(),
                bill.total_fen()
            ));
        }
        let acct_used_flag = self.acct_used_flag(patient);
        let settle = SettleInput {
            psn_no: &patient.psn_no,
            mdtrt_cert_type: "02",
            mdtrt_cert_no: &patient.certno,
            med_type: kind.med_type(),
            medfee_sumamt: Num::fen(bill.total_fen()),
            psn_setlway: "01",
            mdtrt_id: &mdtrt_id,
            chrg_bchno: Some(&chrg_bchno),
            acct_used_flag,
            insutype: &patient.insutype,
            mid_setl_flag: None,
            dscg_time: None,
            invono: None,
            fulamt_ownpay_amt: None,
            overlmt_selfpay: None,
            preselfpay_amt: None,
            inscp_scp_amt: None,
        };
        let invono = format!("FP{seq}");
        let Some((msgid, body, output, settlement)) = self
            .presettle_then_settle(
                &site,
                &insuplc,
                ("2206", "2207"),
                &settle,
                &invono,
                &totals,
                bill.total_fen(),
            )
            .await
        else {
            return;
        };
        self.stats.settled(kind, &settlement.amounts, 1);
        self.open_visit = None;
        if let Some(c) = planted {
            self.stats.planted.push(PlantRecord {
                mdtrt_id: mdtrt_id.clone(),
                psn_no: patient.psn_no.clone(),
                setl_id: settlement.setl_id.clone().unwrap_or_default(),
                fixmedins_code: site.fixmedins_code.clone(),
                kind: c.table.name(),
                entry_idx: c.entry_idx,
                codes: c.lines.iter().map(|(code, _)| code.clone()).collect(),
                dise_codg: c.diagnosis.as_ref().map(|(code, _)| code.clone()),
                rule_ids: c.rule_ids.clone(),
                sev_deg: c.sev_deg,
            });
        }
        // An undone outpatient settlement leaves an open registration, as at a real counter
        // (the person may come back to pay); the open-visit limit bounds how many.
        let undone = self
            .after_settlement(
                &site,
                patient,
                &insuplc,
                "2207",
                "2208",
                &msgid,
                body,
                &output,
                &settlement,
            )
            .await;
        // A pharmacy reports what it sold (and bought first) for the stock to reconcile.
        if kind == VisitKind::Pharmacy && site.pharmacy && !undone {
            let setl_id = settlement.setl_id.clone().unwrap_or_default();
            self.report_sale(&site, patient, &insuplc, &bill, &setl_id, seq)
                .await;
        }
    }

    /// 3505 of a settled pharmacy bill's drug lines, each with its traceability codes; a drug
    /// the pharmacy holds too little of is bought first (3503) and its new batch counted (3501).
    async fn report_sale(
        &mut self,
        site: &Site,
        patient: &Patient,
        insuplc: &str,
        bill: &Bill,
        setl_id: &str,
        seq: u64,
    ) {
        let population = Arc::clone(&self.shared.population);
        let run_tag = self.shared.run_tag.clone();
        let bought_at = local_now();
        let mut rows = Vec::with_capacity(bill.lines.len());
        let mut restocks = Vec::new();
        for (idx, line) in bill.lines.iter().enumerate() {
            let item = &population.items[line.item_idx];
            if item.kind != ItemKind::Drug || line.cnt_e4 <= 0 {
                continue;
            }
            let (batch, restock) = self.shared.stock.lock().expect("not poisoned").take(
                &site.fixmedins_code,
                &item.med_list_codg,
                line.cnt_e4,
                &run_tag,
            );
            if let Some(restock) = restock {
                restocks.push((restock, line.pric_micro));
            }
            let serial = &self.shared.trace_serial;
            let codes = crate::inventory::trace_codes(line.cnt_e4, &run_tag, &mut || {
                serial.fetch_add(1, Ordering::Relaxed)
            });
            rows.push(crate::inventory::sale_row(
                &item.med_list_codg,
                &batch,
                &format!("XS{run_tag}{seq:07}{idx:02}"),
                line.cnt_e4,
                line.pric_micro,
                &patient.psn_no,
                setl_id,
                &local_now().format("%Y-%m-%d %H:%M:%S").to_string(),
                &codes,
            ));
        }
        // Purchases dated before the sale; what is left of each batch they replace, counted.
        let at = bought_at.format("%Y-%m-%d %H:%M:%S").to_string();
        let day = bought_at.format("%Y-%m-%d").to_string();
        for (restock, pric_micro) in &restocks {
            let input = crate::inventory::purchase_input(restock, *pric_micro, &at);
            let (_, body) = self.body(site, "3503", insuplc, input);
            if self
                .send(site, "3503", body, Expect::Success)
                .await
                .is_none()
            {
                return;
            }
            if let Some(input) = crate::inventory::stocktake_input(restock, &day) {
                let (_, body) = self.body(site, "3501", insuplc, input);
                if self
                    .send(site, "3501", body, Expect::Success)
                    .await
                    .is_none()
                {
                    return;
                }
            }
        }
        if rows.is_empty() {
            return;
        }
        let (_, body) = self.body(site, "3505", insuplc, json!({"selinfo": rows}));
        self.send(site, "3505", body, Expect::Success).await;
    }

    #[allow(clippy::too_many_arguments)]
    fn fee_lines<'b>(
        &self,
        bill: &'b Bill,
        mdtrt_id: &'b str,
        patient: &'b Patient,
        chrg_bchno: &'b str,
        dise_codg: &'b str,
        now: &'b str,
        seq: u64,
    ) -> Vec<FeeLine<'b>> {
        let items = &self.shared.population.items;
        bill.lines
            .iter()
            .enumerate()
            .map(|(idx, line)| {
                let item = &items[line.item_idx];
                FeeLine {
                    feedetl_sn: format!("{seq}{idx:03}"),
                    init_feedetl_sn: None,
                    mdtrt_id,
                    psn_no: &patient.psn_no,
                    chrg_bchno: Some(chrg_bchno),
                    dise_codg: Some(dise_codg),
                    rxno: Some(""),
                    rx_circ_flag: Some("0"),
                    med_type: None,
                    fee_ocur_time: now,
                    med_list_codg: item.med_list_codg.clone(),
                    medins_list_codg: format!("YN{}", item.med_list_codg),
                    det_item_fee_sumamt: Num::fen(line.amount_fen),
                    cnt: Num::count(line.cnt_e4),
                    pric: Num::price(line.pric_micro),
                    bilg_dept_codg: "NK01",
                    bilg_dept_name: "内科",
                    bilg_dr_codg: "D140500001",
                    bilg_dr_name: "王医生",
                    hosp_appr_flag: if idx % 10 == 9 { "0" } else { "1" },
                }
            })
            .collect()
    }

    /// Reads and checks a settlement answer; `None` (counted) when it fails a check.
    fn check_settlement(
        &mut self,
        infno: &'static str,
        output: &str,
        bill_fen: i64,
        msgid: Option<&str>,
        direction: Direction,
    ) -> Option<Settlement> {
        let settlement = match parse_settlement(output) {
            Ok(s) => s,
            Err(e) => {
                self.stats.violation(format!("{infno}: {e}"));
                return None;
            }
        };
        self.stats.settlements_checked += 1;
        let mut problems = check_identities(&settlement, direction);
        let expected_total = if direction == Direction::Settlement {
            bill_fen
        } else {
            -bill_fen
        };
        if settlement.amounts.medfee_sumamt != expected_total {
            problems.push(format!(
                "medfee_sumamt {} fen, the bill is {expected_total} fen",
                settlement.amounts.medfee_sumamt
            ));
        }
        if let Some(msgid) = msgid {
            if settlement.medins_setl_id.as_deref() != Some(msgid) {
                problems.push(format!(
                    "medins_setl_id {:?} is not the msgid {msgid}",
                    settlement.medins_setl_id
                ));
            }
            if settlement.setl_id.as_deref().unwrap_or("").is_empty() {
                problems.push("setl_id is empty".to_owned());
            }
        }
        if problems.is_empty() {
            Some(settlement)
        } else {
            for p in problems {
                self.stats.violation(format!("{infno}: {p}"));
            }
            None
        }
    }

    /// 预结算 then 结算 (2206 → 2207, 2303 → 2304): the same input, the settlement's with the invoice
    /// and the fee upload's classification totals; each answer checked against the bill. The
    /// settlement's msgid, body, answer and checked amounts, or `None` after a failure (counted).
    #[allow(clippy::too_many_arguments)]
    async fn presettle_then_settle(
        &mut self,
        site: &Site,
        insuplc: &str,
        (pre_infno, infno): (&'static str, &'static str),
        settle: &SettleInput<'_>,
        invono: &str,
        totals: &LineTotals,
        bill_fen: i64,
    ) -> Option<(String, Bytes, String, Settlement)> {
        let (_, body) = self.body(site, pre_infno, insuplc, json!({"data": settle}));
        let output = self.send(site, pre_infno, body, Expect::Success).await?;
        self.check_settlement(pre_infno, &output, bill_fen, None, Direction::Settlement)?;
        let settle = settle.final_(invono, totals);
        let (msgid, body) = self.body(site, infno, insuplc, json!({"data": &settle}));
        let output = self
            .send(site, infno, body.clone(), Expect::Success)
            .await?;
        let settlement = self.check_settlement(
            infno,
            &output,
            bill_fen,
            Some(&msgid),
            Direction::Settlement,
        )?;
        Some((msgid, body, output, settlement))
    }

    /// Retries, reversals, 冲正 and hostile follow-ups of a settlement; true when the settlement
    /// was undone (reversed or revoked).
    #[allow(clippy::too_many_arguments)]
    async fn after_settlement(
        &mut self,
        site: &Site,
        patient: &Patient,
        insuplc: &str,
        settle_infno: &'static str,
        reverse_infno: &'static str,
        msgid: &str,
        body: Bytes,
        output: &str,
        settlement: &Settlement,
    ) -> bool {
        let chaos = self.shared.config.chaos.clone();
        let setl_id = settlement.setl_id.clone().unwrap_or_default();
        let mdtrt_id = settlement.mdtrt_id.clone().unwrap_or_default();
        if self.rng.random_range(0..1000) < chaos.retry_permille {
            // The same msgid and body again: the stored answer, nothing new written.
            self.stats.retries += 1;
            if let Some(again) = self
                .send(site, settle_infno, body.clone(), Expect::Success)
                .await
            {
                let first: serde_json::Value = serde_json::from_str(output).unwrap_or_default();
                let second: serde_json::Value = serde_json::from_str(&again).unwrap_or_default();
                if first != second {
                    self.stats.violation(format!(
                        "{settle_infno}: a retry of msgid {msgid} got a different answer"
                    ));
                }
            }
            // The same msgid with different content must be refused.
            if self.rng.random_range(0..2) == 0 {
                let changed = String::from_utf8_lossy(&body).replacen(
                    "\"invono\":\"FP",
                    "\"invono\":\"XX",
                    1,
                );
                let changed = if changed.as_bytes() == &body[..] {
                    String::from_utf8_lossy(&body).replacen(
                        "\"acct_used_flag\":\"",
                        "\"acct_used_flag\":\"9",
                        1,
                    )
                } else {
                    changed
                };
                self.send(site, settle_infno, Bytes::from(changed), Expect::Refusal)
                    .await;
            }
        }
        let roll = self.rng.random_range(0..1000);
        if roll < chaos.revs_permille {
            // 2601 冲正 of the settlement, as if its answer had been lost.
            let input = json!({"data": {"psn_no": patient.psn_no, "omsgid": msgid, "oinfno": settle_infno}});
            let (_, revs_body) = self.body(site, "2601", insuplc, input);
            if self
                .send(site, "2601", revs_body, Expect::Success)
                .await
                .is_some()
            {
                self.stats.revs += 1;
                self.stats
                    .settled(VisitKind::Outpatient, &negate(&settlement.amounts), 0);
                return true;
            }
        } else if roll < chaos.revs_permille + chaos.reversal_permille {
            // An institution of another code may not touch this settlement.
            if chaos.bad_permille > 0 {
                if let Some(other) = self
                    .shared
                    .population
                    .sites
                    .iter()
                    .find(|s| s.fixmedins_code != site.fixmedins_code)
                    .cloned()
                {
                    let input = json!({"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": patient.psn_no}});
                    let (_, bad) = self.body(&other, reverse_infno, insuplc, input);
                    self.send(&other, reverse_infno, bad, Expect::Refusal).await;
                }
            }
            let input = json!({"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": patient.psn_no}});
            let (_, rev_body) = self.body(site, reverse_infno, insuplc, input);
            if let Some(rev_output) = self
                .send(site, reverse_infno, rev_body, Expect::Success)
                .await
            {
                if let Some(reversal) = self.check_settlement(
                    reverse_infno,
                    &rev_output,
                    settlement.amounts.medfee_sumamt,
                    None,
                    Direction::Reversal,
                ) {
                    let problems = check_negation(&settlement.amounts, &reversal.amounts);
                    for p in problems {
                        self.stats.violation(format!("{reverse_infno}: {p}"));
                    }
                    self.stats.reversals += 1;
                    self.stats
                        .settled(VisitKind::Outpatient, &reversal.amounts, 0);
                    // Reversing twice is refused.
                    let input = json!({"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": patient.psn_no}});
                    let (_, twice) = self.body(site, reverse_infno, insuplc, input);
                    self.send(site, reverse_infno, twice, Expect::Refusal).await;
                    return true;
                }
            }
        }
        false
    }

    async fn inpatient(&mut self, patient: &Patient) {
        let site = self.pick_site(VisitKind::Inpatient, patient);
        let insuplc = patient.insuplc_admdvs.clone();
        let now = local_now().format("%Y-%m-%d %H:%M:%S").to_string();
        let seq = self.shared.sequence.fetch_add(1, Ordering::Relaxed);
        let (diag_code, diag_name) =
            INPATIENT_DIAGNOSES[self.rng.random_range(0..INPATIENT_DIAGNOSES.len())];
        // 2401 入院办理.
        let input = json!({
            "mdtrtinfo": {"psn_no": patient.psn_no, "insutype": patient.insutype, "coner_name": "", "tel": "",
                "begntime": now, "mdtrt_cert_type": "02", "mdtrt_cert_no": patient.certno, "med_type": "21",
                "ipt_no": format!("ZY{seq}"), "medrcdno": "", "atddr_no": "D140500002", "chfpdr_name": "李医生",
                "adm_diag_dscr": diag_name, "adm_dept_codg": "ZYNK", "adm_dept_name": "内科病区", "adm_bed": format!("{}", seq % 60 + 1),
                "dscg_maindiag_code": diag_code, "dscg_maindiag_name": diag_name, "main_cond_dscr": ""},
            "diseinfo": [{"psn_no": patient.psn_no, "diag_type": "1", "maindiag_flag": "1", "diag_srt_no": 1, "diag_code": diag_code,
                "diag_name": diag_name, "adm_cond": "", "diag_dept": "内科病区", "dise_dor_no": "D140500002", "dise_dor_name": "李医生", "diag_time": now}],
        });
        let (_, body) = self.body(&site, "2401", &insuplc, input);
        let Some(output) = self.send(&site, "2401", body, Expect::Success).await else {
            return;
        };
        let value: serde_json::Value = serde_json::from_str(&output).unwrap_or_default();
        let Some(mdtrt_id) = value["result"]["mdtrt_id"]
            .as_str()
            .or(value["data"]["mdtrt_id"].as_str())
            .map(str::to_owned)
        else {
            self.stats
                .violation(format!("2401: no output.result.mdtrt_id in {output}"));
            return;
        };
        self.open_visit = Some(OpenVisit {
            site: site.clone(),
            mdtrt_id: mdtrt_id.clone(),
            psn_no: patient.psn_no.clone(),
            insuplc: insuplc.clone(),
            ipt_otp_no: format!("ZY{seq}"),
            inpatient: true,
            discharged: false,
        });
        let cost = cost_target_fen(
            self.rng,
            VisitKind::Inpatient,
            site.hi_setl_lv,
            patient.age,
            None,
        );
        let stay_days = stay_days_for(self.rng, cost);
        let mut bill = build_bill(
            self.rng,
            self.shared.population.billed_items(),
            &[ItemKind::Drug, ItemKind::Service, ItemKind::Consumable],
            inpatient_lines_for(stay_days),
            cost,
        );
        bill.stay_days = stay_days;
        // 2301 in batches.
        let mut totals = LineTotals::default();
        let mut lines = self.fee_lines(&bill, &mdtrt_id, patient, "", diag_code, &now, seq);
        for line in &mut lines {
            line.chrg_bchno = None;
            line.dise_codg = None;
            line.rxno = None;
            line.rx_circ_flag = None;
            line.med_type = Some("21");
        }
        for chunk in lines.chunks(INPATIENT_LINES_PER_UPLOAD) {
            let (_, body) = self.body(&site, "2301", &insuplc, json!({"feedetail": chunk}));
            let Some(output) = self.send(&site, "2301", body, Expect::Success).await else {
                return;
            };
            match parse_fee_result(&output) {
                Ok(t) => {
                    totals.n_lines += t.n_lines;
                    totals.det_item_fee_sumamt += t.det_item_fee_sumamt;
                    totals.fulamt_ownpay_amt += t.fulamt_ownpay_amt;
                    totals.overlmt_amt += t.overlmt_amt;
                    totals.preselfpay_amt += t.preselfpay_amt;
                    totals.inscp_scp_amt += t.inscp_scp_amt;
                }
                Err(problems) => {
                    for p in problems {
                        self.stats.violation(format!("2301: {p}"));
                    }
                    return;
                }
            }
        }
        if totals.det_item_fee_sumamt != bill.total_fen() {
            self.stats.violation(format!(
                "2301: answered {} fen for {} fen sent",
                totals.det_item_fee_sumamt,
                bill.total_fen()
            ));
        }
        // 2402 出院办理: discharged first, then settled (出院结算, with `dscgTime`).
        let end = local_now().format("%Y-%m-%d %H:%M:%S").to_string();
        let input = json!({
            "dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": patient.psn_no, "insutype": patient.insutype, "endtime": end,
                "dscg_dept_codg": "ZYNK", "dscg_dept_name": "内科病区", "dscg_way": "1"},
            "diseinfo": [{"mdtrt_id": mdtrt_id, "psn_no": patient.psn_no, "diag_type": "1", "maindiag_flag": "1", "diag_srt_no": 1,
                "diag_code": diag_code, "diag_name": diag_name, "diag_dept": "内科病区", "dise_dor_no": "D140500002", "dise_dor_name": "李医生", "diag_time": end}],
        });
        let (_, body) = self.body(&site, "2402", &insuplc, input);
        if self
            .send(&site, "2402", body, Expect::Success)
            .await
            .is_none()
        {
            return;
        }
        if let Some(open) = self.open_visit.as_mut() {
            open.discharged = true;
        }
        let dscg_date = end[..10].to_owned();
        let acct_used_flag = self.acct_used_flag(patient);
        let settle = SettleInput {
            psn_no: &patient.psn_no,
            mdtrt_cert_type: "02",
            mdtrt_cert_no: &patient.certno,
            med_type: "21",
            medfee_sumamt: Num::fen(bill.total_fen()),
            psn_setlway: "01",
            mdtrt_id: &mdtrt_id,
            chrg_bchno: None,
            acct_used_flag,
            insutype: &patient.insutype,
            mid_setl_flag: Some("0"),
            dscg_time: Some(&dscg_date),
            invono: None,
            fulamt_ownpay_amt: None,
            overlmt_selfpay: None,
            preselfpay_amt: None,
            inscp_scp_amt: None,
        };
        let invono = format!("ZF{seq}");
        let Some((msgid, body, output, settlement)) = self
            .presettle_then_settle(
                &site,
                &insuplc,
                ("2303", "2304"),
                &settle,
                &invono,
                &totals,
                bill.total_fen(),
            )
            .await
        else {
            return;
        };
        self.stats
            .settled(VisitKind::Inpatient, &settlement.amounts, 1);
        let stay = self.open_visit.take();
        if let Some(setl_id) = &settlement.setl_id {
            self.upload_setl_list(
                &site, patient, &insuplc, &mdtrt_id, setl_id, diag_code, diag_name,
            )
            .await;
        }
        let undone = self
            .after_settlement(
                &site,
                patient,
                &insuplc,
                "2304",
                "2305",
                &msgid,
                body,
                &output,
                &settlement,
            )
            .await;
        if undone {
            // The stay is no longer settled: it is withdrawn at the end of the chain (2405, 2302,
            // 2404), as a hospital does with a stay it will not settle again, so that the person
            // is not left in hospital.
            self.open_visit = stay;
        }
    }

    /// 4101A 结算清单上传 for a settled stay: the principal diagnosis, sometimes a comorbidity, the
    /// usual procedure; the answer must carry the list's id and a group of the CHS-DRG scheme.
    #[allow(clippy::too_many_arguments)]
    async fn upload_setl_list(
        &mut self,
        site: &Site,
        patient: &Patient,
        insuplc: &str,
        mdtrt_id: &str,
        setl_id: &str,
        diag_code: &str,
        diag_name: &str,
    ) {
        let today = local_now().format("%Y-%m-%d").to_string();
        let mut diseinfo = vec![
            json!({"diag_type": "1", "diag_code": diag_code, "diag_name": diag_name,
            "adm_cond_type": "1", "maindiag_flag": "1"}),
        ];
        if self.rng.random_range(0..3) == 0 {
            let (code, name) =
                SECONDARY_DIAGNOSES[self.rng.random_range(0..SECONDARY_DIAGNOSES.len())];
            diseinfo.push(
                json!({"diag_type": "1", "diag_code": code, "diag_name": name,
                "adm_cond_type": "1", "maindiag_flag": "0"}),
            );
        }
        let oprninfo: Vec<serde_json::Value> = usual_procedure(diag_code)
            .map(|(code, name)| {
                json!({"oprn_oprt_type": "1", "oprn_oprt_code": code, "oprn_oprt_name": name,
                "oprn_oprt_date": today, "anst_way": "1", "oper_dr_code": "D140500002",
                "anst_dr_code": "D140500003", "main_oprn_flag": "1"})
            })
            .into_iter()
            .collect();
        let input = json!({
            "setlinfo": {"psn_no": patient.psn_no, "mdtrt_id": mdtrt_id, "setl_id": setl_id,
                "medcasno": format!("BA{mdtrt_id}"), "ntly": "CHN", "adm_way": "1", "trt_type": "1",
                "adm_caty": "A03", "dscg_caty": "A03", "dscg_way": "1", "setl_begn_date": today,
                "setl_end_date": today, "hi_paymtd": "1", "chfpdr_code": "D140500002",
                "medins_fill_dept": "病案科", "medins_fill_psn": "编码员"},
            "diseinfo": diseinfo,
            "oprninfo": oprninfo,
        });
        let (_, body) = self.body(site, "4101A", insuplc, input);
        let Some(output) = self.send(site, "4101A", body, Expect::Success).await else {
            return;
        };
        let value: serde_json::Value = serde_json::from_str(&output).unwrap_or_default();
        let data = &value["data"];
        let status = data["grp_stas"].as_str().unwrap_or("");
        let drg = data["drg_code"].as_str().unwrap_or("");
        if data["setl_id"].as_str() != Some(setl_id)
            || data["setl_list_id"].as_str().is_none_or(str::is_empty)
            || !matches!(
                status,
                "分组成功" | "无法入组" | "歧义病案" | "信息校验不通过"
            )
            || drg.is_empty()
        {
            self.stats.violation(format!(
                "4101A: no list id or group for {setl_id} in {output}"
            ));
            return;
        }
        self.stats.setl_list_grouped(status, drg);
    }

    /// One hostile request of a random kind; each must be refused.
    async fn hostile(&mut self, patient: &Patient) {
        let site = self.pick_site(VisitKind::Outpatient, patient);
        let insuplc = patient.insuplc_admdvs.clone();
        let variant = self
            .rng
            .random_range(0..4 + u32::from(self.shared.config.auth));
        match variant {
            0 => {
                let body = Bytes::from_static(br#"{"infno":"2201","msgid":"#);
                self.send(&site, "2201", body, Expect::Refusal).await;
            }
            1 => {
                let (_, body) = self.body(&site, "9999", &insuplc, json!({"data": {}}));
                self.send(&site, "9999", body, Expect::Refusal).await;
            }
            2 => {
                let input = json!({"data": {"insutype": patient.insutype, "begntime": local_now().format("%Y-%m-%d %H:%M:%S").to_string(),
                    "mdtrt_cert_type": "02", "mdtrt_cert_no": patient.certno, "ipt_otp_no": "MZX", "dept_code": "NK01", "dept_name": "内科", "caty": "A03"}});
                let (_, body) = self.body(&site, "2201", &insuplc, input);
                self.send(&site, "2201", body, Expect::Refusal).await;
            }
            3 => {
                let input = json!({"data": {"psn_no": patient.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": patient.certno, "med_type": "11",
                    "medfee_sumamt": 10, "psn_setlway": "01", "mdtrt_id": "NO-SUCH-VISIT", "chrg_bchno": "1", "acct_used_flag": "0", "insutype": patient.insutype,
                    "invono": "", "fulamt_ownpay_amt": 0, "overlmt_selfpay": 0, "preselfpay_amt": 0, "inscp_scp_amt": 10}});
                let (_, body) = self.body(&site, "2207", &insuplc, input);
                self.send(&site, "2207", body, Expect::Refusal).await;
            }
            _ => {
                let input = json!({"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": patient.certno, "psn_cert_type": "01", "certno": patient.certno, "psn_name": ""}});
                let (_, body) = self.body(&site, "1101", &insuplc, input);
                self.send_signed(&site, "1101", body, Expect::Refusal, Signing::WrongSecret)
                    .await;
            }
        }
    }
}

fn kind_idx(kind: VisitKind) -> usize {
    VisitKind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("every kind is listed")
}

fn negate(amounts: &crate::verify::Amounts) -> crate::verify::Amounts {
    let mut out = amounts.clone();
    for field in [
        &mut out.medfee_sumamt,
        &mut out.fulamt_ownpay_amt,
        &mut out.overlmt_selfpay,
        &mut out.preselfpay_amt,
        &mut out.inscp_scp_amt,
        &mut out.hifp_pay,
        &mut out.cvlserv_pay,
        &mut out.hifes_pay,
        &mut out.hifmi_pay,
        &mut out.hifob_pay,
        &mut out.maf_pay,
        &mut out.oth_pay,
        &mut out.hifdm_pay,
        &mut out.fund_pay_sumamt,
        &mut out.psn_part_amt,
        &mut out.acct_pay,
        &mut out.psn_cash_pay,
        &mut out.hosp_part_amt,
        &mut out.acct_mulaid_pay,
    ] {
        *field = -*field;
    }
    out
}

/// Everyday outpatient diagnoses (ICD-10 医保版 2.0 codes).
const OUTPATIENT_DIAGNOSES: &[(&str, &str)] = &[
    ("J06.900", "急性上呼吸道感染"),
    ("K29.700", "胃炎"),
    ("M54.500", "下背痛"),
    ("J20.900", "急性支气管炎"),
    ("R51.x00", "头痛"),
    ("L30.900", "皮炎"),
    ("H10.900", "结膜炎"),
    ("K52.900", "非感染性胃肠炎和结肠炎"),
    ("I10.x00", "特发性（原发性）高血压"),
];

/// Common reasons for a stay.
const INPATIENT_DIAGNOSES: &[(&str, &str)] = &[
    ("J18.900", "肺炎"),
    ("I63.900", "脑梗死"),
    ("I25.103", "冠状动脉粥样硬化性心脏病"),
    ("K80.201", "胆囊结石"),
    ("S72.000", "股骨颈骨折"),
    ("K35.800x001", "急性阑尾炎"),
    ("N20.000", "肾结石"),
    ("I50.900", "心力衰竭"),
    ("C34.900x001", "肺恶性肿瘤"),
];

/// The procedure a stay for a diagnosis of [`INPATIENT_DIAGNOSES`] usually has (ICD-9-CM-3 医保版),
/// for the settlement list.
fn usual_procedure(diag_code: &str) -> Option<(&'static str, &'static str)> {
    match diag_code {
        "K80.201" => Some(("51.2300", "腹腔镜下胆囊切除术")),
        "S72.000" => Some(("81.5100", "全髋关节置换")),
        "K35.800x001" => Some(("47.0100", "腹腔镜下阑尾切除术")),
        _ => None,
    }
}

/// Secondary diagnoses a list may carry (common comorbidities).
const SECONDARY_DIAGNOSES: &[(&str, &str)] = &[("I10.x00x002", "高血压"), ("E11.900", "2型糖尿病")];

/// One 2204/2301 `feedetail` row.
#[derive(Serialize)]
struct FeeLine<'a> {
    feedetl_sn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    init_feedetl_sn: Option<&'a str>,
    mdtrt_id: &'a str,
    psn_no: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    chrg_bchno: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dise_codg: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rxno: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rx_circ_flag: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    med_type: Option<&'a str>,
    fee_ocur_time: &'a str,
    med_list_codg: String,
    medins_list_codg: String,
    det_item_fee_sumamt: Num,
    cnt: Num,
    pric: Num,
    bilg_dept_codg: &'a str,
    bilg_dept_name: &'a str,
    bilg_dr_codg: &'a str,
    bilg_dr_name: &'a str,
    hosp_appr_flag: &'a str,
}

/// The `data` node of 2206/2207/2303/2304.
#[derive(Serialize, Clone)]
struct SettleInput<'a> {
    psn_no: &'a str,
    mdtrt_cert_type: &'a str,
    mdtrt_cert_no: &'a str,
    med_type: &'a str,
    medfee_sumamt: Num,
    psn_setlway: &'a str,
    mdtrt_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    chrg_bchno: Option<&'a str>,
    acct_used_flag: &'a str,
    insutype: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    mid_setl_flag: Option<&'a str>,
    #[serde(rename = "dscgTime", skip_serializing_if = "Option::is_none")]
    dscg_time: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invono: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fulamt_ownpay_amt: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    overlmt_selfpay: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preselfpay_amt: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inscp_scp_amt: Option<Num>,
}

impl<'a> SettleInput<'a> {
    /// The settlement (2207/2304) input: the pre-settlement's plus the invoice and the
    /// classification totals the fee upload answered.
    fn final_(&self, invono: &'a str, totals: &LineTotals) -> SettleInput<'a> {
        let mut out = self.clone();
        out.invono = Some(invono);
        out.fulamt_ownpay_amt = Some(Num::fen(totals.fulamt_ownpay_amt));
        out.overlmt_selfpay = Some(Num::fen(totals.overlmt_amt));
        out.preselfpay_amt = Some(Num::fen(totals.preselfpay_amt));
        out.inscp_scp_amt = Some(Num::fen(totals.inscp_scp_amt));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msgids_are_thirty_characters_and_distinct() {
        let site = Site {
            fixmedins_code: "H14050000001".into(),
            fixmedins_name: "h".into(),
            hi_setl_lv: 3,
            admdvs: "140500".into(),
            access_key: "a".into(),
            secret_key: "s".into(),
            pharmacy: false,
        };
        let sequence = AtomicU64::new(0);
        let ids: HashSet<String> = (0..1_000)
            .map(|_| msgid(&site, MSGID_SUFFIXES - 3, &sequence))
            .collect();
        assert_eq!(ids.len(), 1_000);
        for id in &ids {
            assert_eq!(id.len(), 30, "{id}");
            assert!(id.starts_with("H14050000001") && id.is_ascii());
        }
    }

    #[test]
    fn settle_input_carries_the_totals_on_the_final_call() {
        let pre = SettleInput {
            psn_no: "p",
            mdtrt_cert_type: "02",
            mdtrt_cert_no: "c",
            med_type: "11",
            medfee_sumamt: Num::fen(452),
            psn_setlway: "01",
            mdtrt_id: "m",
            chrg_bchno: Some("1"),
            acct_used_flag: "1",
            insutype: "310",
            mid_setl_flag: None,
            dscg_time: None,
            invono: None,
            fulamt_ownpay_amt: None,
            overlmt_selfpay: None,
            preselfpay_amt: None,
            inscp_scp_amt: None,
        };
        let pre_text = serde_json::to_string(&pre).unwrap();
        assert!(!pre_text.contains("invono") && pre_text.contains("\"medfee_sumamt\":4.52"));
        let totals = LineTotals {
            n_lines: 1,
            det_item_fee_sumamt: 452,
            fulamt_ownpay_amt: 0,
            overlmt_amt: 0,
            preselfpay_amt: 23,
            inscp_scp_amt: 429,
        };
        let text = serde_json::to_string(&pre.final_("FP1", &totals)).unwrap();
        assert!(
            text.contains("\"invono\":\"FP1\"")
                && text.contains("\"preselfpay_amt\":0.23")
                && text.contains("\"inscp_scp_amt\":4.29"),
            "{text}"
        );
    }
}
