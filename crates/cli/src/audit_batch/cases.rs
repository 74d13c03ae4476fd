//! `yibao audit batch --db URL`: the run's findings into the review workflow (docs/AUDIT.md
//! "Batch findings into review"). Each hit becomes a [`BatchHit`] with the terms its rule has
//! in the shipped rule base (version, severity, money kind, category); a model's hit, or a rule
//! the base does not hold, is a lead (severity 3, no money). The store resolves the person from
//! the settlement, opens the cases and keeps institution-level hits as leads, all in one
//! transaction, idempotently; the export manifest's SM3 is recorded as the input snapshot.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use yibao_audit::{MoneyKind, SevDeg};
use yibao_batch::{BatchFinding, BatchReport, MANIFEST_FILE};
use yibao_core_types::Fen;
use yibao_store::batch_findings::{input_hash, run_id, BatchHit, BatchRun, BatchRunRule};
use yibao_store::Store;

/// The engine recorded with a run.
const ENGINE: &str = "datafusion";

/// What a rule's hits are recorded with.
struct Terms {
    version: u32,
    sev_deg: SevDeg,
    money_kind: MoneyKind,
    category: String,
}

/// The terms of `rule_id`: the shipped rule's, else a lead's (severity 3, no money, the
/// category its id names: `S-…` is a statistical model).
fn terms(rule_id: &str) -> anyhow::Result<Terms> {
    let base = yibao_store::audit::base()?;
    if let Some(rule) = base.rules.rules.iter().find(|r| r.rule_id == rule_id) {
        return Ok(Terms {
            version: rule.version,
            sev_deg: rule.sev_deg,
            money_kind: rule.money_kind,
            category: rule.category.code().to_owned(),
        });
    }
    let prefix = rule_id.split('-').next().unwrap_or_default();
    Ok(lead_terms(match prefix {
        "POL" | "PRC" | "MED" | "MGT" | "BHV" => prefix,
        _ => "STA",
    }))
}

fn lead_terms(category: &str) -> Terms {
    Terms {
        version: 1,
        sev_deg: SevDeg::new(3).expect("3 is a severity"),
        money_kind: MoneyKind::Zero,
        category: category.to_owned(),
    }
}

/// A model's statistics (`evidence`), read through the finding's serialized form so that a
/// finding without the field reads as none.
fn model_evidence(finding: &BatchFinding) -> Option<String> {
    serde_json::to_value(finding)
        .ok()?
        .get("evidence")?
        .as_str()
        .map(str::to_owned)
}

/// The hit of `finding` recorded with `terms` (a model's hit with statistics is a lead).
fn hit_of(finding: &BatchFinding, terms: &Terms) -> anyhow::Result<BatchHit> {
    let evidence = model_evidence(finding);
    let lead;
    let terms = if evidence.is_some() {
        lead = lead_terms(&terms.category);
        &lead
    } else {
        terms
    };
    let fund_pay = match finding.fund_pay_sumamt.trim() {
        "" => Fen(0),
        text => Fen::parse_non_negative(text).map_err(|e| {
            anyhow::anyhow!(
                "{} setl {}: fund_pay_sumamt `{text}`: {e}",
                finding.rule_id,
                finding.setl_id
            )
        })?,
    };
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Ok(BatchHit {
        rule_id: finding.rule_id.clone(),
        fixmedins_code: finding.fixmedins_code.clone(),
        setl_id: non_empty(&finding.setl_id),
        other_setl_id: finding.other_setl_id.as_deref().and_then(non_empty),
        begin_date: finding.begin_date.clone(),
        end_date: finding.end_date.clone(),
        code: finding.code.clone(),
        measure: finding.measure,
        fund_pay,
        sev_deg: terms.sev_deg,
        money_kind: if finding.setl_id.is_empty() {
            MoneyKind::Zero
        } else {
            terms.money_kind
        },
        category: terms.category.clone(),
        vola_cont: finding.vola_cont.clone(),
        evidence,
    })
}

/// The run as the store records it: the export at `parquet` (its manifest's digest), every
/// rule with its parameters, every hit.
fn batch_run(parquet: &Path, report: &BatchReport) -> anyhow::Result<BatchRun> {
    let manifest = parquet.join(MANIFEST_FILE);
    let bytes =
        std::fs::read(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
    let mut run = BatchRun {
        year: report.year,
        input_hash: input_hash(&bytes),
        engine: ENGINE.to_owned(),
        rules: Vec::with_capacity(report.rules.len()),
        hits: Vec::new(),
    };
    for rule in &report.rules {
        let terms = terms(rule.rule.rule_id)?;
        run.rules.push(BatchRunRule {
            rule_id: rule.rule.rule_id.to_owned(),
            rule_version: terms.version,
            params: rule.params.describe(),
        });
        for finding in &rule.findings {
            run.hits.push(hit_of(finding, &terms)?);
        }
    }
    Ok(run)
}

/// Records the run's findings in the store at `db` and opens their cases (by `opened_by`, at
/// Beijing time now); prints what was recorded. A refusal (a settlement or institution unknown
/// to the store, bad input) exits `refused` with the store's message, nothing written.
pub(super) fn record(
    runtime: &tokio::runtime::Runtime,
    db: &str,
    opened_by: &str,
    parquet: &Path,
    report: &BatchReport,
    refused: u8,
) -> anyhow::Result<ExitCode> {
    let run = batch_run(parquet, report)?;
    // The edge reads the clock once; stored times are Beijing time.
    let now = (chrono::Utc::now() + chrono::Duration::hours(8)).naive_utc();
    let recorded = runtime.block_on(async {
        let store = Store::connect(db)
            .await
            .with_context(|| format!("opening {db}"))?;
        anyhow::Ok(store.record_batch_findings(&run, opened_by, now).await)
    })?;
    let recorded = match recorded {
        Ok(recorded) => recorded,
        Err(e) if e.is_user_error() => {
            eprintln!("error: --db: {e}");
            return Ok(ExitCode::from(refused));
        }
        Err(e) => return Err(e).context("recording the findings"),
    };
    println!(
        "recorded run {}{}: findings {} ({} new, {} reversed since the export), cases opened {}, \
         institution leads {} ({} new)",
        run_id(&run),
        if recorded.new_run {
            ""
        } else {
            " (recorded before)"
        },
        recorded.findings,
        recorded.new_findings,
        recorded.reversed,
        recorded.cases_opened,
        recorded.leads,
        recorded.new_leads
    );
    Ok(ExitCode::SUCCESS)
}
