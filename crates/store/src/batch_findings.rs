//! Batch findings into review (事后, smart-audit §5.4; docs/AUDIT.md "Batch findings into
//! review"): one run of the batch rules over a Parquet export recorded in one transaction — each
//! hit on a settlement as a finding (`audit_finding`, origin `batch`) with a review case opened
//! for it, each institution-level hit as a lead (`audit_batch_lead`) — idempotently: the same
//! hit recorded again creates nothing. The person and visit come from the settlement held here
//! (the export carries only pseudonyms); a settlement unknown here refuses the whole run. The
//! rule parameters and the export manifest's SM3 are kept as evidence, so a hit can be
//! reproduced. The SQL is in `batch_findings_tx.rs`.

use chrono::NaiveDateTime;
use yibao_audit::{MoneyKind, SevDeg};
use yibao_core_types::Fen;

use crate::error::StoreError;
use crate::{pg, sq, Pool, Store};

/// The most hits one recording takes: a year of one region's rules is far below it; more is a
/// rule or parameter gone wrong, not a review workload.
pub const BATCH_HITS_MAX: usize = 200_000;

/// The most rules one run names.
pub const BATCH_RULES_MAX: usize = 1_000;

/// The most characters of a hit's message or a model's evidence.
pub const BATCH_TEXT_CHARS_MAX: usize = 2_000;

/// The origin every batch finding carries in `infno` and `trig_scen`.
pub const BATCH_ORIGIN: &str = "batch";

/// One batch run to record.
#[derive(Debug, Clone)]
pub struct BatchRun {
    /// The year flagged.
    pub year: i32,
    /// The SM3 (hex) of the export's manifest ([`input_hash`]): the input snapshot.
    pub input_hash: String,
    /// The engine that ran the rules (`datafusion`).
    pub engine: String,
    /// Every rule the run ran, hits or not, with its parameters.
    pub rules: Vec<BatchRunRule>,
    /// The hits, of the rules above.
    pub hits: Vec<BatchHit>,
}

/// A rule of a run and the parameters it ran with.
#[derive(Debug, Clone)]
pub struct BatchRunRule {
    /// The rule (`BHV-01`, `S-01` …).
    pub rule_id: String,
    /// Its version (the shipped rule's; 1 for a model without one).
    pub rule_version: u32,
    /// Every parameter with its value as text (`interval_days`, `15`).
    pub params: Vec<(String, String)>,
}

/// One hit of a batch rule, as the caller decides to record it.
#[derive(Debug, Clone)]
pub struct BatchHit {
    /// The rule (one of the run's).
    pub rule_id: String,
    /// The institution the hit names.
    pub fixmedins_code: String,
    /// The flagged settlement; `None` for an institution-level hit (a lead).
    pub setl_id: Option<String>,
    /// The other settlement of a rule about two encounters.
    pub other_setl_id: Option<String>,
    /// The first day the hit concerns (`YYYY-MM-DD`).
    pub begin_date: String,
    /// The last day, when the hit has one.
    pub end_date: Option<String>,
    /// The code the message names (a diagnosis, a department …), when there is one.
    pub code: Option<String>,
    /// The rule's measure (days, visits, a score × 100 …).
    pub measure: i64,
    /// The fund's payment of the flagged encounter (the export's `fund_pay_sumamt`).
    pub fund_pay: Fen,
    /// The severity the caller chose (a model's hit is a lead, 3).
    pub sev_deg: SevDeg,
    /// Which money the hit flags: anything but [`MoneyKind::Zero`] flags `fund_pay`.
    pub money_kind: MoneyKind,
    /// The rule's category code (`BHV`, `STA` …).
    pub category: String,
    /// The message (`vola_cont`).
    pub vola_cont: String,
    /// A model's statistics (`key=value;…`), when it has them.
    pub evidence: Option<String>,
}

impl BatchHit {
    /// The money the hit flags: the flagged encounter's fund payment for a rule with a money
    /// kind (the batch computes no line share, excess or pro-rating: for `L`, `X` and `P` this
    /// is the most the finding can concern, and review establishes the amount), 0 for a lead.
    pub fn vola_amt(&self) -> Fen {
        match self.money_kind {
            MoneyKind::Zero => Fen(0),
            _ => self.fund_pay,
        }
    }
}

/// What one recording did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchRecorded {
    /// Hits on a settlement.
    pub findings: u64,
    /// Of them, recorded now (the others were recorded before, their settlement was already
    /// flagged by the same rule, or it was reversed since the export).
    pub new_findings: u64,
    /// Of the others, those whose settlement was reversed since the export.
    pub reversed: u64,
    /// Review cases opened (one per new finding).
    pub cases_opened: u64,
    /// Institution-level hits.
    pub leads: u64,
    /// Of them, recorded now.
    pub new_leads: u64,
    /// Whether the run itself was recorded now (not before).
    pub new_run: bool,
}

/// A lead as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchLead {
    /// Its id (a digest of the hit).
    pub lead_id: String,
    /// The run that first recorded it.
    pub run_id: String,
    /// The institution.
    pub fixmedins_code: String,
    /// The rule.
    pub rule_id: String,
    /// The severity.
    pub sev_deg: u8,
    /// The first day it concerns.
    pub begin_date: String,
    /// The measure.
    pub measure: i64,
    /// The message.
    pub vola_cont: String,
    /// The evidence (JSON text: run, export digest, parameters, the model's statistics).
    pub evidence: String,
}

/// A run as first recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRunView {
    /// Its id (a digest of year, export digest, engine, rules and parameters).
    pub run_id: String,
    /// The year flagged.
    pub year: i64,
    /// The export manifest's SM3.
    pub input_hash: String,
    /// The rules and parameters (JSON text).
    pub rules: String,
    /// Counts of the first recording: hits on settlements, new findings, cases opened, leads,
    /// new leads.
    pub counts: [i64; 5],
    /// Who recorded it.
    pub recorded_by: String,
}

/// The input snapshot hash of an export: the SM3 (hex) of its manifest's bytes.
pub fn input_hash(manifest: &[u8]) -> String {
    hex(&yibao_gm::hash(manifest))
}

fn hex(hash: &[u8]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// An id of `prefix` and 28 hex digits of the SM3 of `parts`, each length-prefixed so that no
/// two lists of parts give the same bytes: 30 characters, the interface's C 30.
pub(crate) fn digest_id(prefix: &str, parts: &[&str]) -> String {
    let mut bytes = Vec::new();
    for part in parts {
        bytes.extend_from_slice(&(part.len() as u64).to_be_bytes());
        bytes.extend_from_slice(part.as_bytes());
    }
    let mut id = prefix.to_owned();
    id.push_str(&hex(&yibao_gm::hash(&bytes))[..28]);
    id
}

/// A rule's parameters as one canonical text (`name=value` sorted, `;`-joined).
pub(crate) fn params_text(params: &[(String, String)]) -> String {
    let mut sorted: Vec<String> = params.iter().map(|(n, v)| format!("{n}={v}")).collect();
    sorted.sort();
    sorted.join(";")
}

/// The run's id (`task_id` of its findings): a digest of its year, export digest, engine, and
/// rules with their versions and parameters (whatever their order).
pub fn run_id(run: &BatchRun) -> String {
    let mut rules: Vec<String> = run
        .rules
        .iter()
        .map(|r| {
            format!(
                "{}@{}:{}",
                r.rule_id,
                r.rule_version,
                params_text(&r.params)
            )
        })
        .collect();
    rules.sort();
    let year = run.year.to_string();
    let mut parts = vec![year.as_str(), run.input_hash.as_str(), run.engine.as_str()];
    parts.extend(rules.iter().map(String::as_str));
    digest_id("BR", &parts)
}

/// A finding's `jr_id`: a digest of the rule, its parameters and the settlements it names, so
/// the same hit from another run (or recorded again) is the same finding.
pub(crate) fn finding_id(rule_id: &str, params: &str, setl_id: &str, other: &str) -> String {
    digest_id("JB", &[rule_id, params, setl_id, other])
}

/// A lead's id: a digest of the rule, its parameters, the institution, the period and the code.
pub(crate) fn lead_id(hit: &BatchHit, params: &str) -> String {
    digest_id(
        "LB",
        &[
            &hit.rule_id,
            params,
            &hit.fixmedins_code,
            &hit.begin_date,
            hit.end_date.as_deref().unwrap_or(""),
            hit.code.as_deref().unwrap_or(""),
        ],
    )
}

/// Checks a run before anything is read: bounds, the export digest, every hit's rule among the
/// run's, ids and texts within limits. The first problem is named by its field.
pub(crate) fn check_run(run: &BatchRun, recorded_by: &str) -> Result<(), StoreError> {
    let text_ok =
        |s: &str| !s.trim().is_empty() && s.chars().count() <= crate::limits::ID_CHARS_MAX;
    if recorded_by.trim().is_empty() || recorded_by.chars().count() > 64 {
        return Err(StoreError::bad(
            "opened_by",
            "give a staff account (≤ 64 characters)",
        ));
    }
    if run.input_hash.len() != 64 || !run.input_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StoreError::bad(
            "input_hash",
            "is not an SM3 digest (64 hex digits)",
        ));
    }
    if run.engine.trim().is_empty() || run.engine.len() > 64 {
        return Err(StoreError::bad(
            "engine",
            "give the engine's name (≤ 64 bytes)",
        ));
    }
    if run.rules.len() > BATCH_RULES_MAX {
        return Err(StoreError::bad(
            "rules",
            format!("{} rules, at most {BATCH_RULES_MAX}", run.rules.len()),
        ));
    }
    if run.hits.len() > BATCH_HITS_MAX {
        return Err(StoreError::bad(
            "findings",
            format!("{} hits, at most {BATCH_HITS_MAX}", run.hits.len()),
        ));
    }
    for (idx, rule) in run.rules.iter().enumerate() {
        if !text_ok(&rule.rule_id) {
            return Err(StoreError::bad(
                format!("rules[{idx}].rule_id"),
                "give the rule's id (≤ 30 characters)",
            ));
        }
        if run.rules[..idx].iter().any(|r| r.rule_id == rule.rule_id) {
            return Err(StoreError::bad(
                format!("rules[{idx}].rule_id"),
                format!("{} is named twice", rule.rule_id),
            ));
        }
    }
    for (idx, hit) in run.hits.iter().enumerate() {
        let field = |name: &str| format!("findings[{idx}].{name}");
        if !run.rules.iter().any(|r| r.rule_id == hit.rule_id) {
            return Err(StoreError::bad(
                field("rule_id"),
                format!("{} is not a rule of the run", hit.rule_id),
            ));
        }
        if !text_ok(&hit.fixmedins_code) {
            return Err(StoreError::bad(
                field("fixmedins_code"),
                "give the institution",
            ));
        }
        for (name, id) in [
            ("setl_id", &hit.setl_id),
            ("other_setl_id", &hit.other_setl_id),
        ] {
            if id.as_deref().is_some_and(|id| !text_ok(id)) {
                return Err(StoreError::bad(field(name), "is empty or longer than 30"));
            }
        }
        if hit.setl_id.is_none() && hit.money_kind != MoneyKind::Zero {
            return Err(StoreError::bad(
                field("money_kind"),
                "an institution-level hit flags no money (give 0)",
            ));
        }
        if hit.fund_pay.is_negative() {
            return Err(StoreError::bad(field("fund_pay_sumamt"), "is negative"));
        }
        if hit.vola_cont.chars().count() > BATCH_TEXT_CHARS_MAX
            || hit
                .evidence
                .as_deref()
                .is_some_and(|e| e.chars().count() > BATCH_TEXT_CHARS_MAX)
        {
            return Err(StoreError::bad(
                field("vola_cont"),
                format!("the message or evidence is longer than {BATCH_TEXT_CHARS_MAX}"),
            ));
        }
        if chrono::NaiveDate::parse_from_str(&hit.begin_date, "%Y-%m-%d").is_err() {
            return Err(StoreError::bad(field("begin_date"), "is not YYYY-MM-DD"));
        }
    }
    Ok(())
}

/// Which leads to list.
#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    /// Only this institution's.
    pub fixmedins_code: Option<String>,
    /// Only this rule's.
    pub rule_id: Option<String>,
    /// At most this many (capped at [`crate::review::CASES_PAGE_MAX`]).
    pub limit: usize,
}

impl Store {
    /// Records one batch run in one transaction: each hit on a settlement as a finding with a
    /// review case opened by `opened_by`, each institution-level hit as a lead, the run itself
    /// with its rules, parameters and export digest. The same hit recorded again (same rule,
    /// parameters and settlements), or a settlement the same rule already flagged, creates
    /// nothing; a settlement reversed since the export is skipped. A settlement or institution
    /// unknown here, or a settlement of another institution than the hit's, refuses the whole
    /// run naming it, and nothing is written.
    pub async fn record_batch_findings(
        &self,
        run: &BatchRun,
        opened_by: &str,
        now: NaiveDateTime,
    ) -> Result<BatchRecorded, StoreError> {
        check_run(run, opened_by)?;
        match &self.inner.pool {
            Pool::Pg(p) => pg::batch_record(p, run, opened_by, now).await,
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                let timeout = self.inner.options.sqlite_busy_timeout;
                sq::batch_record(pool, run, opened_by, now)
                    .await
                    .map_err(|e| e.sqlite_busy(timeout))
            }
        }
    }

    /// The institution-level leads batch runs recorded, newest first.
    pub async fn batch_leads(&self, filter: &LeadFilter) -> Result<Vec<BatchLead>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::batch_leads(p, filter).await,
            Pool::Sq { pool, .. } => sq::batch_leads(pool, filter).await,
        }
    }

    /// A recorded run, `None` when there is none of that id.
    pub async fn batch_run(&self, run_id: &str) -> Result<Option<BatchRunView>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::batch_run(p, run_id).await,
            Pool::Sq { pool, .. } => sq::batch_run(pool, run_id).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_distinct_and_fit_c30() {
        let a = finding_id("BHV-08", "x=1", "S1", "");
        assert_eq!(a, finding_id("BHV-08", "x=1", "S1", ""));
        assert_eq!(a.len(), 30);
        assert!(a.starts_with("JB"));
        // Length prefixes keep shifted boundaries apart.
        assert_ne!(a, finding_id("BHV-08", "x=1S", "1", ""));
        assert_ne!(a, finding_id("BHV-08", "x=2", "S1", ""));
        assert_ne!(a, finding_id("BHV-08", "x=1", "S1", "S2"));
        assert_eq!(
            params_text(&[("b".into(), "2".into()), ("a".into(), "1".into())]),
            "a=1;b=2"
        );
    }
}
