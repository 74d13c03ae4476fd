//! `yibao audit report --db URL [--planted FILE] [--json]`: the smart-audit funnel of a store in
//! the shape a bureau publishes it (Jincheng 2024: 54,414 suspicious items → 19,771 after the
//! first review → 19,356 after the second → 15,287 confirmed; 12,609 persons; 1.3718 M yuan).
//! The first column is what settlements recorded (count, distinct persons, flagged money), by
//! rule and by category; the review columns appear once the review workflow's case tables
//! exist. With the manifest of a run's planted violations (`yibao demo`), the recall per rule
//! kind (a planted violation is found when a finding of a rule of its kind names its visit), the
//! misses, and how the findings split between planted and other visits.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::{json, Value};
use yibao_store::audit_report::{AuditSummary, FindingCounts, FindingVisit};
use yibao_store::review::{Funnel, RulePrecision};

/// Misses printed in full; the rest are counted.
const MISSES_PRINTED_MAX: usize = 20;
/// Manifest lines read at most.
const MANIFEST_LINES_MAX: usize = 1_000_000;

/// Arguments of `yibao audit report`.
#[derive(clap::Args)]
pub struct Args {
    /// Database URL (`sqlite://FILE?mode=rwc` or `postgres://…`).
    #[arg(long)]
    db: String,
    /// The manifest of planted violations a demo run wrote (JSON lines).
    #[arg(long)]
    planted: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `yibao audit report`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let store = yibao_store::Store::connect(&args.db)
            .await
            .with_context(|| format!("opening the database {}", args.db))?;
        let report = report(&store, args.planted.as_deref()).await;
        store.close().await;
        let report = report?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report.json)?);
        } else {
            print!("{}", report.text);
        }
        Ok(if report.severity_1_complete {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}

/// A report in both forms.
pub struct Report {
    /// The JSON form.
    pub json: Value,
    /// The text form.
    pub text: String,
    /// False when a planted severity-1 violation was missed.
    pub severity_1_complete: bool,
}

/// One manifest line, as read back.
struct Planted {
    mdtrt_id: String,
    kind: String,
    codes: Vec<String>,
    dise_codg: Option<String>,
    sev_deg: u64,
}

/// Money in yuan with two decimals, from integer fen.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// `n / d` as a percentage with one decimal, from integers (`—` when `d` is 0).
fn percent(n: usize, d: usize) -> String {
    if d == 0 {
        return "—".to_owned();
    }
    let tenths = (n * 1000 + d / 2) / d;
    format!("{}.{}%", tenths / 10, tenths % 10)
}

fn counts_json(c: &FindingCounts) -> Value {
    json!({
        "findings": c.findings,
        "persons": c.persons,
        "visits": c.visits,
        "vola_amt_yuan": yuan(c.vola_amt_fen),
    })
}

/// Builds the report of `store`, with the recall on the manifest at `planted` if given.
pub async fn report(store: &yibao_store::Store, planted: Option<&Path>) -> anyhow::Result<Report> {
    let base = yibao_audit::builtin()?;
    let kind_of: HashMap<&str, &'static str> = base
        .rules
        .rules
        .iter()
        .map(|rule| (rule.rule_id.as_str(), rule.executor.kind()))
        .collect();
    let summary = store.audit_summary().await?;
    // The review's stages as of now, Beijing time (the time of every record).
    let unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let now = chrono::DateTime::from_timestamp_millis(unix_ms + 8 * 3_600_000)
        .unwrap_or_default()
        .naive_utc();
    let (funnel, precision) = store
        .review_report(now, yibao_store::review::ReviewSettings::default())
        .await?;
    let mut text = funnel_text(&summary, &funnel, &precision, &kind_of);
    let mut json = json!({
        "funnel": {
            "settlement": counts_json(&summary.settled),
            "review": review_json(&funnel, &precision),
        },
        "settlements": summary.settlements,
        "by_rule": summary.by_rule.iter().map(|r| {
            let mut row = counts_json(&r.counts);
            row["rule_id"] = json!(r.rule_id);
            row["kind"] = json!(kind_of.get(r.rule_id.as_str()).copied().unwrap_or("?"));
            row["category"] = json!(r.category);
            row["sev_deg"] = json!(r.sev_deg);
            row
        }).collect::<Vec<_>>(),
        "by_category": summary.by_category.iter().map(|c| {
            let mut row = counts_json(&c.counts);
            row["category"] = json!(c.category);
            row
        }).collect::<Vec<_>>(),
        "checks_3101_3102": counts_json(&summary.checks),
        "planted": Value::Null,
    });
    let mut severity_1_complete = true;
    if let Some(path) = planted {
        let manifest = read_manifest(path)?;
        let findings = store.audit_finding_visits().await?;
        let (planted_json, planted_text, complete) =
            recall(path, &manifest, &findings, &kind_of, &summary);
        json["planted"] = planted_json;
        text.push_str(&planted_text);
        severity_1_complete = complete;
    }
    Ok(Report {
        json,
        text,
        severity_1_complete,
    })
}

/// The review stages (初审, 复审, 终审, money recovered) and each rule's precision, from the review
/// workflow's cases (`Store::review_report`).
fn review_json(funnel: &Funnel, precision: &[RulePrecision]) -> Value {
    json!({
        "cases": funnel.cases,
        "first_review_upheld": funnel.first_upheld,
        "second_review_upheld": funnel.second_upheld,
        "confirmed": funnel.confirmed,
        "confirmed_persons": funnel.confirmed_persons,
        "recovered_yuan": yuan(funnel.confirmed_amount.0),
        "penalties_yuan": yuan(funnel.penalties.0),
        "appealed": funnel.appealed,
        "precision": precision.iter().map(|p| json!({
            "rule_id": p.rule_id,
            "cases": p.cases,
            "reviewed": p.reviewed,
            "confirmed": p.confirmed,
            "precision_ppm": p.precision_ppm(),
        })).collect::<Vec<_>>(),
    })
}

fn funnel_text(
    summary: &AuditSummary,
    funnel: &Funnel,
    precision: &[RulePrecision],
    kind_of: &HashMap<&str, &'static str>,
) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let s = &summary.settled;
    let _ = writeln!(
        out,
        "== smart audit: findings recorded at settlement (事中)"
    );
    let _ = writeln!(
        out,
        "疑点数据 {} findings on {} visits of {} persons, {} yuan flagged; {} settlements",
        s.findings,
        s.visits,
        s.persons,
        yuan(s.vola_amt_fen),
        summary.settlements
    );
    let _ = writeln!(
        out,
        "案件 {} → 初审成立 {} → 复审成立 {} → 终审确认 {} ({} persons); 追回 {} yuan, 罚款 {} yuan; {} appealed",
        funnel.cases,
        funnel.first_upheld,
        funnel.second_upheld,
        funnel.confirmed,
        funnel.confirmed_persons,
        yuan(funnel.confirmed_amount.0),
        yuan(funnel.penalties.0),
        funnel.appealed
    );
    for p in precision.iter().filter(|p| p.reviewed > 0) {
        let _ = writeln!(
            out,
            "  precision {:<8} {}/{} closed cases confirmed",
            p.rule_id, p.confirmed, p.reviewed
        );
    }
    let _ = writeln!(
        out,
        "{:<8} {:<15} {:>4} {:>3} {:>9} {:>8} {:>14}",
        "rule", "kind", "cat", "sev", "findings", "persons", "yuan"
    );
    for r in &summary.by_rule {
        let _ = writeln!(
            out,
            "{:<8} {:<15} {:>4} {:>3} {:>9} {:>8} {:>14}",
            r.rule_id,
            kind_of.get(r.rule_id.as_str()).copied().unwrap_or("?"),
            r.category,
            r.sev_deg,
            r.counts.findings,
            r.counts.persons,
            yuan(r.counts.vola_amt_fen)
        );
    }
    let _ = writeln!(out, "by category:");
    for c in &summary.by_category {
        let _ = writeln!(
            out,
            "  {:<4} {:>9} findings {:>8} persons {:>14} yuan",
            c.category,
            c.counts.findings,
            c.counts.persons,
            yuan(c.counts.vola_amt_fen)
        );
    }
    let c = &summary.checks;
    let _ = writeln!(
        out,
        "3101/3102 checks (apart): {} findings, {} persons, {} yuan",
        c.findings,
        c.persons,
        yuan(c.vola_amt_fen)
    );
    out
}

fn read_manifest(path: &Path) -> anyhow::Result<Vec<Planted>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (idx, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        anyhow::ensure!(
            out.len() < MANIFEST_LINES_MAX,
            "{}: more than {MANIFEST_LINES_MAX} lines",
            path.display()
        );
        let value: Value = serde_json::from_str(line)
            .with_context(|| format!("{}: line {}", path.display(), idx + 1))?;
        let field = |name: &str| {
            value[name]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("{}: line {}: no {name}", path.display(), idx + 1))
        };
        out.push(Planted {
            mdtrt_id: field("mdtrt_id")?,
            kind: field("kind")?,
            codes: value["codes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect(),
            dise_codg: value["dise_codg"].as_str().map(str::to_owned),
            sev_deg: value["sev_deg"]
                .as_u64()
                .with_context(|| format!("{}: line {}: no sev_deg", path.display(), idx + 1))?,
        });
    }
    Ok(out)
}

/// Recall per kind on the manifest, the misses and the split of findings; the JSON, the text
/// and whether every severity-1 planted violation was found.
fn recall(
    path: &Path,
    manifest: &[Planted],
    findings: &[FindingVisit],
    kind_of: &HashMap<&str, &'static str>,
    summary: &AuditSummary,
) -> (Value, String, bool) {
    use std::fmt::Write as _;
    // (visit, kind) pairs some finding names.
    let found: HashSet<(&str, &str)> = findings
        .iter()
        .filter_map(|f| {
            kind_of
                .get(f.rule_id.as_str())
                .map(|kind| (f.mdtrt_id.as_str(), *kind))
        })
        .collect();
    let planted_visits: HashSet<&str> = manifest.iter().map(|p| p.mdtrt_id.as_str()).collect();
    // kind → (severity, planted, found)
    let mut by_kind: BTreeMap<&str, (u64, usize, usize)> = BTreeMap::new();
    let mut misses = Vec::new();
    let (mut sev1_planted, mut sev1_found) = (0, 0);
    for p in manifest {
        let hit = found.contains(&(p.mdtrt_id.as_str(), p.kind.as_str()));
        let row = by_kind.entry(p.kind.as_str()).or_insert((p.sev_deg, 0, 0));
        row.0 = row.0.min(p.sev_deg);
        row.1 += 1;
        if hit {
            row.2 += 1;
        } else {
            misses.push(p);
        }
        if p.sev_deg == 1 {
            sev1_planted += 1;
            sev1_found += usize::from(hit);
        }
    }
    let on_planted = findings
        .iter()
        .filter(|f| planted_visits.contains(f.mdtrt_id.as_str()))
        .count();
    let on_other = findings.len() - on_planted;
    let other_visits: HashSet<&str> = findings
        .iter()
        .map(|f| f.mdtrt_id.as_str())
        .filter(|m| !planted_visits.contains(m))
        .collect();
    let unplanted_settlements = usize::try_from(summary.settlements)
        .unwrap_or(0)
        .saturating_sub(planted_visits.len());
    let mut text = String::new();
    let _ = writeln!(
        text,
        "== planted violations ({}): {} planted, severity 1 found {}/{} ({})",
        path.display(),
        manifest.len(),
        sev1_found,
        sev1_planted,
        percent(sev1_found, sev1_planted)
    );
    let _ = writeln!(
        text,
        "{:<15} {:>3} {:>8} {:>6} {:>7}",
        "kind", "sev", "planted", "found", "recall"
    );
    for (kind, (sev, n, hit)) in &by_kind {
        let _ = writeln!(
            text,
            "{kind:<15} {sev:>3} {n:>8} {hit:>6} {:>7}",
            percent(*hit, *n)
        );
    }
    for p in misses.iter().take(MISSES_PRINTED_MAX) {
        let _ = writeln!(
            text,
            "  missed: {} {} sev {} codes [{}]{}",
            p.kind,
            p.mdtrt_id,
            p.sev_deg,
            p.codes.join(","),
            p.dise_codg
                .as_deref()
                .map(|d| format!(" diagnosis {d}"))
                .unwrap_or_default()
        );
    }
    if misses.len() > MISSES_PRINTED_MAX {
        let _ = writeln!(
            text,
            "  … and {} more misses",
            misses.len() - MISSES_PRINTED_MAX
        );
    }
    let _ = writeln!(
        text,
        "findings on planted visits {} of {} ({}); on {} other visits {} (of about {} unplanted settlements: bills that met the knowledge by chance)",
        on_planted,
        findings.len(),
        percent(on_planted, findings.len()),
        other_visits.len(),
        on_other,
        unplanted_settlements
    );
    let json = json!({
        "manifest": path.display().to_string(),
        "planted": manifest.len(),
        "severity_1": {"planted": sev1_planted, "found": sev1_found, "recall": percent(sev1_found, sev1_planted)},
        "by_kind": by_kind.iter().map(|(kind, (sev, n, hit))| json!({
            "kind": kind, "sev_deg": sev, "planted": n, "found": hit, "recall": percent(*hit, *n),
        })).collect::<Vec<_>>(),
        "misses": misses.iter().map(|p| json!({
            "mdtrt_id": p.mdtrt_id, "kind": p.kind, "sev_deg": p.sev_deg, "codes": p.codes,
            "dise_codg": p.dise_codg,
        })).collect::<Vec<_>>(),
        "precision": {
            "findings": findings.len(),
            "on_planted_visits": on_planted,
            "on_other_visits": on_other,
            "other_visits_flagged": other_visits.len(),
            "share_on_planted": percent(on_planted, findings.len()),
        },
    });
    (json, text, sev1_found == sev1_planted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_and_percent_are_exact() {
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(137_180_000), "1371800.00");
        assert_eq!(yuan(-5), "-0.05");
        assert_eq!(yuan(1234), "12.34");
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(2, 3), "66.7%");
        assert_eq!(percent(5, 5), "100.0%");
        assert_eq!(percent(0, 0), "—");
    }
}
