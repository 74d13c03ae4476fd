//! What a run did: counts per worker, merged into one summary printed as JSON (`yibao load`) or
//! as text (`yibao demo`).

use crate::limits::{ERROR_KINDS_MAX, LATENCY_MAX_MICROS, VIOLATION_SAMPLES_MAX};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Value};

use crate::amount::fen_text;
use crate::bill::VisitKind;
use crate::open_loop::OpenLoopReport;
use crate::verify::Amounts;

/// Latency counts of one transaction, in microseconds.
pub type Latency = hdrhistogram::Histogram<u64>;

/// Significant decimal digits the latency histograms keep: 0.1 % resolution.
const LATENCY_SIGNIFICANT_DIGITS: u8 = 3;

/// The causes settlement names when a person is not covered on the visit date (spec
/// enrollment.md §4.2): expected business refusals, counted apart from errors.
const COVERAGE_REFUSALS: [&str; 2] = ["未缴费", "待遇等待期"];

/// The quantiles a summary reports, as (JSON key, quantile).
const QUANTILES: [(&str, f64); 4] = [
    ("p50_ms", 0.5),
    ("p90_ms", 0.9),
    ("p99_ms", 0.99),
    ("p999_ms", 0.999),
];

/// An empty latency histogram from 1 µs to [`LATENCY_MAX_MICROS`] (larger values are recorded as
/// that).
pub fn latency_histogram() -> Latency {
    Latency::new_with_bounds(1, LATENCY_MAX_MICROS, LATENCY_SIGNIFICANT_DIGITS)
        .expect("constant bounds that hdrhistogram accepts")
}

/// The latency at `quantile` (0.99 = p99) in microseconds, 0 when nothing was recorded.
pub fn quantile_micros(latency: &Latency, quantile: f64) -> u64 {
    if latency.is_empty() {
        0
    } else {
        latency.value_at_quantile(quantile)
    }
}

/// The largest latency recorded in microseconds, 0 when nothing was recorded.
pub fn max_micros(latency: &Latency) -> u64 {
    if latency.is_empty() {
        0
    } else {
        latency.max()
    }
}

/// Net money of the settlements a run made (settlements minus reversals), in fen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FundTotals {
    /// Σ medfee_sumamt.
    pub medfee_sumamt: i64,
    /// Σ fund_pay_sumamt.
    pub fund_pay_sumamt: i64,
    /// Σ hifp_pay.
    pub hifp_pay: i64,
    /// Σ hifob_pay.
    pub hifob_pay: i64,
    /// Σ hifmi_pay.
    pub hifmi_pay: i64,
    /// Σ maf_pay.
    pub maf_pay: i64,
    /// Σ cvlserv_pay + hifes_pay + oth_pay + hifdm_pay.
    pub other_funds: i64,
    /// Σ acct_pay.
    pub acct_pay: i64,
    /// Σ acct_mulaid_pay.
    pub acct_mulaid_pay: i64,
    /// Σ psn_cash_pay.
    pub psn_cash_pay: i64,
}

impl FundTotals {
    fn add(&mut self, a: &Amounts) {
        self.medfee_sumamt += a.medfee_sumamt;
        self.fund_pay_sumamt += a.fund_pay_sumamt;
        self.hifp_pay += a.hifp_pay;
        self.hifob_pay += a.hifob_pay;
        self.hifmi_pay += a.hifmi_pay;
        self.maf_pay += a.maf_pay;
        self.other_funds += a.cvlserv_pay + a.hifes_pay + a.oth_pay + a.hifdm_pay;
        self.acct_pay += a.acct_pay;
        self.acct_mulaid_pay += a.acct_mulaid_pay;
        self.psn_cash_pay += a.psn_cash_pay;
    }

    fn merge(&mut self, o: &FundTotals) {
        self.medfee_sumamt += o.medfee_sumamt;
        self.fund_pay_sumamt += o.fund_pay_sumamt;
        self.hifp_pay += o.hifp_pay;
        self.hifob_pay += o.hifob_pay;
        self.hifmi_pay += o.hifmi_pay;
        self.maf_pay += o.maf_pay;
        self.other_funds += o.other_funds;
        self.acct_pay += o.acct_pay;
        self.acct_mulaid_pay += o.acct_mulaid_pay;
        self.psn_cash_pay += o.psn_cash_pay;
    }

    /// (name, fen) rows.
    pub fn rows(&self) -> [(&'static str, i64); 10] {
        [
            ("medfee_sumamt", self.medfee_sumamt),
            ("fund_pay_sumamt", self.fund_pay_sumamt),
            ("hifp_pay (basic pooling)", self.hifp_pay),
            ("hifob_pay (employees' large-amount)", self.hifob_pay),
            ("hifmi_pay (residents' serious illness)", self.hifmi_pay),
            ("maf_pay (medical assistance)", self.maf_pay),
            ("other funds", self.other_funds),
            ("acct_pay (personal accounts)", self.acct_pay),
            ("acct_mulaid_pay (family mutual aid)", self.acct_mulaid_pay),
            ("psn_cash_pay (patients' cash)", self.psn_cash_pay),
        ]
    }
}

/// One worker's counts.
#[derive(Clone, Debug, Default)]
pub struct WorkerStats {
    /// Requests answered.
    pub requests: u64,
    /// Chains run per visit kind.
    pub chains: [u64; 4],
    /// Settlements (2207/2304) per visit kind.
    pub settlements: [u64; 4],
    /// Settlement answers checked against the identities (pre-settlements and reversals too).
    pub settlements_checked: u64,
    /// Reversals (2208/2305) made.
    pub reversals: u64,
    /// 2601 冲正 made.
    pub revs: u64,
    /// Settlements resent with the same msgid.
    pub retries: u64,
    /// Visits cancelled after a failed step (2205+2202, 2302+2404).
    pub cancelled: u64,
    /// Hostile requests sent (each must be refused).
    pub bad_requests_sent: u64,
    /// Hostile requests refused, as they must be.
    pub bad_requests_refused: u64,
    /// Identity violations and other wrong answers.
    pub violations: u64,
    /// The first few violation texts.
    pub violation_samples: Vec<String>,
    /// Errors and refusals of requests that should have succeeded, by kind.
    pub errors: BTreeMap<String, u64>,
    /// Expected business refusals: the person is not covered on the visit date (a resident who
    /// has not paid for the year, `未缴费`, or is in the waiting period, `待遇等待期`; spec
    /// enrollment.md §4.2). The registry says so; they are not errors.
    pub coverage_refused: u64,
    /// Latency per infno (successful-path requests only).
    pub latency: BTreeMap<&'static str, Latency>,
    /// Net money.
    pub funds: FundTotals,
    /// Net money per visit kind (in `VisitKind::ALL` order).
    pub funds_by_kind: [FundTotals; 4],
    /// Settlement lists (4101A) accepted, by DRG code (or status when not grouped).
    pub setl_list_groups: BTreeMap<String, u64>,
    /// 3102 checks answered (`--audit3102`), each a chain of one request.
    pub audit3102_checks: u64,
    /// Planted violations that settled, for the manifest.
    pub planted: Vec<crate::plant::PlantRecord>,
}

impl WorkerStats {
    /// Counts an error of `kind`.
    pub fn error(&mut self, kind: &str) {
        let key = if self.errors.len() < ERROR_KINDS_MAX || self.errors.contains_key(kind) {
            kind.to_owned()
        } else {
            "other".to_owned()
        };
        *self.errors.entry(key).or_insert(0) += 1;
    }

    /// Counts a business refusal of a request that should have succeeded.
    pub fn refusal(&mut self, infno: &str, status: u16, err_msg: &str) {
        if COVERAGE_REFUSALS
            .iter()
            .any(|cause| err_msg.contains(cause))
        {
            self.coverage_refused += 1;
            return;
        }
        // Digits become `#` so that refusals of one kind group together.
        let mut reason = String::new();
        for c in err_msg.chars().take(160) {
            let c = if c.is_ascii_digit() { '#' } else { c };
            if !(c == '#' && reason.ends_with('#')) {
                reason.push(c);
            }
        }
        self.error(&format!(
            "{infno} refused (HTTP {status}): {}",
            reason.trim()
        ));
    }

    /// Records one latency of `infno` (successful-path requests only).
    pub fn record_latency(&mut self, infno: &'static str, micros: u64) {
        self.latency
            .entry(infno)
            .or_insert_with(latency_histogram)
            .saturating_record(micros);
    }

    /// Counts a wrong answer.
    pub fn violation(&mut self, text: String) {
        self.violations += 1;
        if self.violation_samples.len() < VIOLATION_SAMPLES_MAX {
            self.violation_samples.push(text);
        }
    }

    /// Adds a settlement (`count` 1) or a reversal's negated amounts (`count` 0).
    pub fn settled(&mut self, kind: VisitKind, amounts: &Amounts, count: u64) {
        let idx = VisitKind::ALL
            .iter()
            .position(|k| *k == kind)
            .expect("every kind is listed");
        self.settlements[idx] += count;
        self.funds.add(amounts);
        self.funds_by_kind[idx].add(amounts);
    }

    /// Counts an accepted settlement list by its group.
    pub fn setl_list_grouped(&mut self, status: &str, drg: &str) {
        let key = if status == "分组成功" {
            drg
        } else {
            status
        };
        *self.setl_list_groups.entry(key.to_owned()).or_insert(0) += 1;
    }

    /// Adds another worker's counts.
    pub fn merge(&mut self, o: WorkerStats) {
        self.requests += o.requests;
        for idx in 0..4 {
            self.chains[idx] += o.chains[idx];
            self.settlements[idx] += o.settlements[idx];
            self.funds_by_kind[idx].merge(&o.funds_by_kind[idx]);
        }
        self.settlements_checked += o.settlements_checked;
        self.reversals += o.reversals;
        self.revs += o.revs;
        self.retries += o.retries;
        self.cancelled += o.cancelled;
        self.bad_requests_sent += o.bad_requests_sent;
        self.bad_requests_refused += o.bad_requests_refused;
        self.violations += o.violations;
        self.coverage_refused += o.coverage_refused;
        for v in o.violation_samples {
            if self.violation_samples.len() < VIOLATION_SAMPLES_MAX {
                self.violation_samples.push(v);
            }
        }
        for (kind, n) in o.errors {
            *self.errors.entry(kind).or_insert(0) += n;
        }
        for (infno, h) in o.latency {
            self.latency
                .entry(infno)
                .or_insert_with(latency_histogram)
                .add(&h)
                .expect("every latency histogram has the same bounds");
        }
        self.funds.merge(&o.funds);
        self.planted.extend(o.planted);
        self.audit3102_checks += o.audit3102_checks;
        for (group, n) in o.setl_list_groups {
            *self.setl_list_groups.entry(group).or_insert(0) += n;
        }
    }
}

/// The result of a run.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Merged counts.
    pub stats: WorkerStats,
    /// Wall time of the traffic.
    pub elapsed: Duration,
    /// Workers (closed loop) or the cap of chains in flight (open loop).
    pub concurrency: usize,
    /// What the open-loop scheduler did; `None` in a closed loop.
    pub open_loop: Option<OpenLoopReport>,
}

fn millis(micros: u64) -> Value {
    // Milliseconds with three decimals, from integer microseconds.
    let text = format!("{}.{:03}", micros / 1000, micros % 1000);
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

impl Summary {
    /// Wraps merged counts.
    pub fn new(stats: WorkerStats, elapsed: Duration, concurrency: usize) -> Summary {
        Summary {
            stats,
            elapsed,
            concurrency,
            open_loop: None,
        }
    }

    /// The same summary with the open-loop scheduler's report.
    pub fn with_open_loop(self, report: OpenLoopReport) -> Summary {
        Summary {
            open_loop: Some(report),
            ..self
        }
    }

    /// All settlements (2207 + 2304).
    pub fn settlements(&self) -> u64 {
        self.stats.settlements.iter().sum()
    }

    /// Settlements per second, in hundredths (integer arithmetic).
    fn per_second_centi(&self, n: u64) -> u64 {
        let micros = u64::try_from(self.elapsed.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        n * 100_000_000 / micros
    }

    /// True when no answer broke an identity and nothing hostile was accepted.
    pub fn is_clean(&self) -> bool {
        self.stats.violations == 0
    }

    /// The JSON summary of `yibao load`.
    pub fn to_json(&self) -> Value {
        let s = &self.stats;
        let rate = |n: u64| {
            let centi = self.per_second_centi(n);
            serde_json::from_str::<Value>(&format!("{}.{:02}", centi / 100, centi % 100))
                .unwrap_or(Value::Null)
        };
        let mut latency = serde_json::Map::new();
        for (infno, h) in &s.latency {
            let mut row = serde_json::Map::new();
            row.insert("count".to_owned(), json!(h.len()));
            for (key, quantile) in QUANTILES {
                row.insert(key.to_owned(), millis(quantile_micros(h, quantile)));
            }
            row.insert("max_ms".to_owned(), millis(max_micros(h)));
            latency.insert((*infno).to_owned(), Value::Object(row));
        }
        let open_loop = match &self.open_loop {
            None => Value::Null,
            Some(report) => json!({
                "target_chains_per_s": report.rate_per_s,
                "achieved_chains_per_s": rate(s.chains.iter().sum::<u64>() + s.audit3102_checks),
                "chains_scheduled": report.chains_scheduled,
                "late_starts": report.late_starts,
                "queued_starts": report.queued_starts,
                "start_lag_max_ms": millis(report.start_lag_max_micros),
                "in_flight_max": report.in_flight_max,
                "in_flight_peak": report.in_flight_peak,
            }),
        };
        let mut chains = serde_json::Map::new();
        let mut settlements = serde_json::Map::new();
        for (idx, kind) in VisitKind::ALL.iter().enumerate() {
            chains.insert(kind.name().to_owned(), json!(s.chains[idx]));
            settlements.insert(kind.name().to_owned(), json!(s.settlements[idx]));
        }
        let funds: serde_json::Map<String, Value> = s
            .funds
            .rows()
            .iter()
            .map(|(name, fen)| {
                (
                    name.split(' ').next().unwrap_or(name).to_owned(),
                    serde_json::from_str(&fen_text(*fen)).unwrap_or(Value::Null),
                )
            })
            .collect();
        json!({
            // Seconds with three decimals: `millis` of a millisecond count reads as seconds.
            "duration_s": millis(u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX)),
            "mode": if self.open_loop.is_some() { "open" } else { "closed" },
            "concurrency": self.concurrency,
            "open_loop": open_loop,
            "requests": s.requests,
            "audit3102_checks": s.audit3102_checks,
            "requests_per_s": rate(s.requests),
            "chains": chains,
            "settlements": settlements,
            "settlements_total": self.settlements(),
            "settlements_per_s": rate(self.settlements()),
            "outpatient_settlements_per_s": rate(s.settlements[0]),
            "reversals": s.reversals,
            "revs_2601": s.revs,
            "retries": s.retries,
            "visits_cancelled_after_a_failure": s.cancelled,
            "hostile_requests": {"sent": s.bad_requests_sent, "refused": s.bad_requests_refused},
            "coverage_refused": s.coverage_refused,
            "settlement_answers_checked": s.settlements_checked,
            "identity_violations": s.violations,
            "violation_samples": s.violation_samples,
            "errors": s.errors,
            "latency": latency,
            "funds_yuan": funds,
            "setl_list_groups": s.setl_list_groups,
        })
    }

    /// The text report of `yibao demo`.
    pub fn to_text(&self) -> String {
        let s = &self.stats;
        let mut out = String::new();
        let secs = self.elapsed.as_millis();
        let _ = writeln!(
            out,
            "traffic: {} requests in {}.{:03} s with {} workers",
            s.requests,
            secs / 1000,
            secs % 1000,
            self.concurrency
        );
        let centi = self.per_second_centi(self.settlements());
        let _ = writeln!(
            out,
            "settlements: {} ({}.{:02}/s)",
            self.settlements(),
            centi / 100,
            centi % 100
        );
        for (idx, kind) in VisitKind::ALL.iter().enumerate() {
            let _ = writeln!(
                out,
                "  {:<11} {:>8} settled of {:>8} visits",
                kind.name(),
                s.settlements[idx],
                s.chains[idx]
            );
        }
        let _ = writeln!(
            out,
            "  reversals (2208/2305) {}, 冲正 (2601) {}, retries with the same msgid {}",
            s.reversals, s.revs, s.retries
        );
        let _ = writeln!(
            out,
            "  hostile requests refused {} (each one must be)",
            s.bad_requests_refused
        );
        if !s.setl_list_groups.is_empty() {
            let mut groups: Vec<(&String, &u64)> = s.setl_list_groups.iter().collect();
            groups.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let top: Vec<String> = groups
                .iter()
                .take(6)
                .map(|(group, n)| format!("{group} ×{n}"))
                .collect();
            let _ = writeln!(
                out,
                "  settlement lists (4101A) {}, grouped by CHS-DRG 1.1: {}",
                s.setl_list_groups.values().sum::<u64>(),
                top.join(", ")
            );
        }
        let _ = writeln!(out, "fund totals (net of reversals, yuan):");
        for (name, fen) in s.funds.rows() {
            let _ = writeln!(out, "  {name:<40} {:>16}", fen_text(fen));
        }
        let _ = write!(out, "{}", pooled_share_text(&s.funds_by_kind));
        let _ = writeln!(
            out,
            "latency (ms)        count      p50      p90      p99    p99.9      max"
        );
        for (infno, h) in &s.latency {
            let ms = |micros: u64| format!("{}.{:02}", micros / 1000, (micros % 1000) / 10);
            let _ = write!(out, "  {infno:<10} {:>10}", h.len());
            for (_, quantile) in QUANTILES {
                let _ = write!(out, " {:>8}", ms(quantile_micros(h, quantile)));
            }
            let _ = writeln!(out, " {:>8}", ms(max_micros(h)));
        }
        let _ = writeln!(
            out,
            "settlement answers checked: {}; identity violations: {}",
            s.settlements_checked, s.violations
        );
        for v in &s.violation_samples {
            let _ = writeln!(out, "  ! {v}");
        }
        if s.coverage_refused > 0 {
            let _ = writeln!(
                out,
                "refused as not covered (未缴费, 待遇等待期; expected): {}",
                s.coverage_refused
            );
        }
        if s.errors.is_empty() {
            let _ = writeln!(out, "errors: none");
        } else {
            let _ = writeln!(out, "errors and refusals by kind:");
            for (kind, n) in &s.errors {
                let _ = writeln!(out, "  {n:>8}  {kind}");
            }
        }
        out
    }
}

/// `part / whole` in tenths of a percent (0 when `whole` is 0).
fn permille(part: i64, whole: i64) -> i64 {
    if whole == 0 {
        0
    } else {
        part * 1000 / whole
    }
}

/// The pooled funds' share of cost compared like with like: the published 55–65% (Zhongshan's
/// 57%, spec/demo-city.md) counts inpatient, outpatient and special-disease care and leaves out
/// retail pharmacy purchases, which personal accounts pay. The line says whether the run meets
/// the band and, by kind, where the cost and the pooled money went.
fn pooled_share_text(by_kind: &[FundTotals; 4]) -> String {
    let mut out = String::new();
    let pharmacy = VisitKind::ALL
        .iter()
        .position(|kind| *kind == VisitKind::Pharmacy)
        .expect("pharmacy is a kind");
    let (mut cost, mut pooled, mut all_cost, mut all_pooled) = (0, 0, 0, 0);
    for (idx, totals) in by_kind.iter().enumerate() {
        all_cost += totals.medfee_sumamt;
        all_pooled += totals.fund_pay_sumamt;
        if idx != pharmacy {
            cost += totals.medfee_sumamt;
            pooled += totals.fund_pay_sumamt;
        }
    }
    if all_cost == 0 {
        return out;
    }
    let share = permille(pooled, cost);
    let verdict = if (550..=650).contains(&share) {
        "within the target 55–65%"
    } else if share < 550 {
        "below the target 55–65%"
    } else {
        "above the target 55–65%"
    };
    let _ = writeln!(
        out,
        "  pooled funds' share of cost, retail pharmacy left out as in the published figure: {}.{}% ({verdict})",
        share / 10,
        share % 10
    );
    let all = permille(all_pooled, all_cost);
    let _ = writeln!(
        out,
        "  with pharmacy purchases (paid from personal accounts, not pooled): {}.{}%",
        all / 10,
        all % 10
    );
    for (idx, kind) in VisitKind::ALL.iter().enumerate() {
        let totals = &by_kind[idx];
        let of_cost = permille(totals.medfee_sumamt, all_cost);
        let paid = permille(totals.fund_pay_sumamt, totals.medfee_sumamt);
        let _ = writeln!(
            out,
            "    {:<11} {:>3}.{}% of cost, pooled funds paid {:>3}.{}% of it",
            kind.name(),
            of_cost / 10,
            of_cost % 10,
            paid / 10,
            paid % 10
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_counts_and_rates() {
        let mut a = WorkerStats::default();
        let mut b = WorkerStats::default();
        let amounts = Amounts {
            medfee_sumamt: 10_000,
            fund_pay_sumamt: 6_000,
            hifp_pay: 6_000,
            psn_part_amt: 4_000,
            psn_cash_pay: 4_000,
            ..Amounts::default()
        };
        a.settled(VisitKind::Outpatient, &amounts, 1);
        b.settled(VisitKind::Outpatient, &amounts, 1);
        b.record_latency("2207", 1_536);
        b.error("2207 refused (HTTP 200): x");
        b.refusal(
            "2201",
            200,
            "insutype: 未缴费: P1 has not paid the 2026 resident contribution",
        );
        b.refusal("2207", 200, "insutype: 待遇等待期至 2026-05-31: P2's …");
        b.violation("v".into());
        a.merge(b);
        assert_eq!(a.coverage_refused, 2);
        assert_eq!(a.errors.len(), 1, "{:?}", a.errors);
        let summary = Summary::new(a, Duration::from_secs(2), 4);
        assert_eq!(summary.settlements(), 2);
        let json = summary.to_json();
        assert_eq!(json["settlements_per_s"], json!(1.0));
        assert_eq!(json["funds_yuan"]["medfee_sumamt"], json!(200.0));
        assert_eq!(json["latency"]["2207"]["p50_ms"], json!(1.536));
        assert_eq!(json["latency"]["2207"]["p999_ms"], json!(1.536));
        assert_eq!(json["latency"]["2207"]["count"], json!(1));
        assert_eq!(json["mode"], json!("closed"));
        assert_eq!(json["open_loop"], Value::Null);
        assert_eq!(json["identity_violations"], json!(1));
        assert!(!summary.is_clean());
        let text = summary.to_text();
        assert!(
            text.contains("retail pharmacy left out as in the published figure: 60.0% (within the target 55–65%)"),
            "{text}"
        );
    }

    #[test]
    fn latency_quantiles_come_from_the_hdr_histogram() {
        let mut stats = WorkerStats::default();
        for micros in 1..=1_000 {
            stats.record_latency("2201", micros);
        }
        // Beyond the histogram's range: counted as its largest value.
        stats.record_latency("2201", LATENCY_MAX_MICROS * 2);
        let mut other = WorkerStats::default();
        other.record_latency("2201", 2_000);
        stats.merge(other);
        let h = &stats.latency["2201"];
        assert_eq!(h.len(), 1_002);
        assert_eq!(quantile_micros(h, 0.5), 501);
        assert_eq!(quantile_micros(h, 0.99), 992);
        assert_eq!(quantile_micros(h, 0.999), 2_000);
        assert!(
            max_micros(h) >= LATENCY_MAX_MICROS
                && max_micros(h) <= LATENCY_MAX_MICROS / 1000 * 1001
        );
        assert_eq!(quantile_micros(&latency_histogram(), 0.5), 0);
        assert_eq!(max_micros(&latency_histogram()), 0);
    }

    #[test]
    fn pooled_share_leaves_out_pharmacy() {
        let mut stats = WorkerStats::default();
        let visit = |medfee, fund| Amounts {
            medfee_sumamt: medfee,
            fund_pay_sumamt: fund,
            hifp_pay: fund,
            psn_part_amt: medfee - fund,
            psn_cash_pay: medfee - fund,
            ..Amounts::default()
        };
        stats.settled(VisitKind::Inpatient, &visit(10_000, 6_000), 1);
        stats.settled(VisitKind::Outpatient, &visit(5_000, 1_500), 1);
        stats.settled(VisitKind::Pharmacy, &visit(5_000, 0), 1);
        let text = pooled_share_text(&stats.funds_by_kind);
        // (6000 + 1500) / 15000 = 50.0% without pharmacy; 7500 / 20000 = 37.5% with it.
        assert!(
            text.contains("published figure: 50.0% (below the target 55–65%)"),
            "{text}"
        );
        assert!(
            text.contains(
                "with pharmacy purchases (paid from personal accounts, not pooled): 37.5%"
            ),
            "{text}"
        );
        assert!(
            text.contains("inpatient    50.0% of cost, pooled funds paid  60.0% of it"),
            "{text}"
        );
    }
}
