//! `yibao audit batch`: the batch rules (事后, docs/AUDIT.md "Batch rules (DataFusion)") over a
//! Parquet export (`yibao export parquet`) for one year: per rule the number of hits and a few
//! samples on standard output, progress on standard error, every finding as a JSON line with
//! `--out` (written to a temporary name beside it, then renamed), the recall on the planted
//! cases when the export carries them (`_planted.json`; "n/a" otherwise), and with `--db` the
//! findings recorded in the store and review cases opened for them (`cases`). A bad rule,
//! parameter or year, or an export that is not whole, exits 2 with the error naming it.

mod cases;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use yibao_batch::audit::recall::{read_planted, recall, PlantedCase, PLANTED_FILE};
use yibao_batch::audit::{rules, BatchOptions, BatchReport};
use yibao_batch::run_batch;

/// Arguments of `yibao audit batch`.
#[derive(clap::Args)]
pub struct Args {
    /// The export directory (written by `yibao export parquet`).
    #[arg(long)]
    parquet: PathBuf,
    /// The year whose encounters are flagged (the year before is read as history).
    #[arg(long)]
    year: i32,
    /// Only this rule (repeatable; default: every batch rule).
    #[arg(long = "rule", value_name = "CODE")]
    rules: Vec<String>,
    /// A rule parameter, `RULE.name=value` (repeatable), e.g. `BHV-01.interval_days=10`.
    #[arg(long = "param", value_name = "RULE.NAME=VALUE")]
    params: Vec<String>,
    /// Write every finding as one JSON line to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Sample hits printed per rule.
    #[arg(long, default_value_t = 3)]
    samples: usize,
    /// Record the findings in this store and open review cases for them (hits on settlements;
    /// institution-level hits are kept as leads). Without it nothing is written.
    #[arg(long, value_name = "URL")]
    db: Option<String>,
    /// The staff account the cases are opened by (with --db).
    #[arg(long, value_name = "STAFF", default_value = "batch", requires = "db")]
    opened_by: String,
}

/// The exit code of a refused run (bad argument, export not whole, year without data).
const REFUSED: u8 = 2;

/// Runs `yibao audit batch`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut params = Vec::new();
    for text in &args.params {
        let Some((key, value)) = text.split_once('=') else {
            eprintln!("error: --param {text}: give RULE.name=value");
            return Ok(ExitCode::from(REFUSED));
        };
        params.push((key.trim().to_owned(), value.trim().to_owned()));
    }
    let options = BatchOptions {
        year: args.year,
        rules: args.rules.clone(),
        params,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut progress = |line: &str| eprintln!("{line}");
    let report = match runtime.block_on(run_batch(&args.parquet, &options, &mut progress)) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(REFUSED));
        }
    };
    print_report(&report, args.samples);
    match read_planted(&args.parquet) {
        Ok(planted) => print_recall(&report, planted.as_deref()),
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(REFUSED));
        }
    }
    if let Some(out) = &args.out {
        let n = write_findings(out, &report)?;
        println!("findings: {n} written to {}", out.display());
    }
    if let Some(db) = &args.db {
        return cases::record(
            &runtime,
            db,
            &args.opened_by,
            &args.parquet,
            &report,
            REFUSED,
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(report: &BatchReport, samples: usize) {
    println!(
        "batch rules, year {}: {} files, {} rows read",
        report.year, report.files, report.rows
    );
    for rule in &report.rules {
        let params: Vec<String> = rule
            .params
            .describe()
            .into_iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        println!(
            "{} {}: {} hits ({})",
            rule.rule.rule_id,
            rule.rule.name,
            rule.findings.len(),
            params.join(", ")
        );
        for f in rule.findings.iter().take(samples) {
            let other = match (&f.other_fixmedins_code, &f.other_setl_id) {
                (Some(inst), Some(setl)) => format!(" | other {inst} setl {setl}"),
                _ => String::new(),
            };
            println!(
                "  psn {} at {} {}{} setl {} fund {}{other} | {}",
                f.psn_pseudonym,
                f.fixmedins_code,
                f.begin_date,
                f.end_date
                    .as_deref()
                    .filter(|end| *end != f.begin_date)
                    .map(|end| format!("～{end}"))
                    .unwrap_or_default(),
                f.setl_id,
                f.fund_pay_sumamt,
                f.vola_cont
            );
        }
    }
    if report.rules.is_empty() {
        let known: Vec<&str> = rules().map(|r| r.rule_id).collect();
        println!("no rule chosen (batch rules: {})", known.join(", "));
    }
}

/// Recall on the planted cases the export carries (`_planted.json`), per rule: found of planted
/// and the other hits; "n/a" when the export has none.
fn print_recall(report: &BatchReport, planted: Option<&[PlantedCase]>) {
    let Some(planted) = planted else {
        println!("recall: n/a (no planted cases: the export has no {PLANTED_FILE})");
        return;
    };
    println!("recall on the {} planted cases:", planted.len());
    for r in recall(report, planted) {
        match r.percent() {
            Some(pct) => println!(
                "  {}: {}/{} found ({pct}%), {} other hits",
                r.rule_id, r.found, r.planted, r.other_hits
            ),
            None => println!(
                "  {}: n/a (none planted), {} other hits",
                r.rule_id, r.other_hits
            ),
        }
    }
}

/// Writes every finding as a JSON line to a hidden temporary file beside `out`, then renames it
/// over `out`; the number written.
fn write_findings(out: &Path, report: &BatchReport) -> anyhow::Result<usize> {
    let name = out
        .file_name()
        .with_context(|| format!("--out {}: give a file name", out.display()))?;
    let temporary = out.with_file_name(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = write_lines(&temporary, report);
    match written {
        Ok(n) => {
            std::fs::rename(&temporary, out)
                .with_context(|| format!("--out: renaming onto {}", out.display()))?;
            Ok(n)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&temporary);
            Err(e)
        }
    }
}

/// Writes every finding as one JSON line to `path`, synced; the number written.
fn write_lines(path: &Path, report: &BatchReport) -> anyhow::Result<usize> {
    let file = std::fs::File::create(path)
        .with_context(|| format!("--out: creating {}", path.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    let mut n = 0;
    for rule in &report.rules {
        for finding in &rule.findings {
            serde_json::to_writer(&mut writer, finding)?;
            writer.write_all(b"\n")?;
            n += 1;
        }
    }
    let file = writer.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(n)
}
