//! `yibao contributions …` (spec enrollment.md §5, guide `docs/CONTRIBUTIONS.md`):
//! `run --month YYYY-MM` assesses every active employee relation of a month and posts it to the
//! ledger; `run --year YYYY --residents` does the residents' annual assessment; `declare` loads
//! employers and wage declarations from CSV; `refund` refunds one relation's period (退费). A run draws a progress bar on stderr and prints its
//! report on stdout (text, or JSON with `--json`); running a period twice writes nothing the
//! second time and says so.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use chrono::NaiveDate;
use serde_json::json;
use yibao_core_types::Fen;
use yibao_enrollment::YearMonth;
use yibao_store::contributions::{Employer, RunOptions, RunReport, WageDeclaration};

/// Cases printed in full after a run; the rest are counted.
const CASES_PRINTED_MAX: usize = 20;
/// Lines of a declaration file read at most.
const DECLARATION_LINES_MAX: usize = 2_000_000;

/// Arguments of `yibao contributions run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Database URL (`sqlite://FILE?mode=rwc` or `postgres://…`).
    #[arg(long)]
    db: String,
    /// The employees' month to assess (`YYYY-MM`).
    #[arg(long, conflicts_with_all = ["year", "residents"])]
    month: Option<String>,
    /// The residents' benefit year to assess (with `--residents`).
    #[arg(long, requires = "residents")]
    year: Option<i32>,
    /// Assess residents (`390`) for `--year` instead of employees for a month.
    #[arg(long)]
    residents: bool,
    /// The residents' assessment date, the subsidy's reference date (default: today).
    #[arg(long, requires = "residents")]
    assessed_on: Option<NaiveDate>,
    /// Relations per chunk (one transaction each).
    #[arg(long, default_value_t = yibao_store::limits::CONTRIBUTION_CHUNK_ROWS)]
    chunk_rows: usize,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Skip the ledger check after the run (it reads every transfer: minutes on a large ledger).
    #[arg(long)]
    no_check: bool,
}

/// Arguments of `yibao contributions declare`.
#[derive(clap::Args)]
pub struct DeclareArgs {
    /// Database URL.
    #[arg(long)]
    db: String,
    /// Employers: CSV `emp_no,emp_name,insu_admdvs`.
    #[arg(long)]
    employers: Option<PathBuf>,
    /// Wage declarations: CSV `psn_no,year,emp_no,wage,source` (wage in yuan, two decimals).
    #[arg(long)]
    wages: Option<PathBuf>,
}

/// Arguments of `yibao contributions refund`.
#[derive(clap::Args)]
pub struct RefundArgs {
    /// Database URL.
    #[arg(long)]
    db: String,
    /// The person's identity number.
    #[arg(long)]
    certno: String,
    /// `390` (residents) or `310` (employees).
    #[arg(long)]
    insutype: String,
    /// The period refunded: `YYYY` (390) or `YYYY-MM` (310).
    #[arg(long)]
    period: String,
    /// Why (required).
    #[arg(long)]
    reason: String,
    /// The day the rules are judged on (`YYYY-MM-DD`; default today in China): a resident
    /// refund is refused once the benefit year has started, unless the region allows it.
    #[arg(long)]
    today: Option<NaiveDate>,
    /// Execute the duplicate-insurance decision of the period's year (§10.3): refused unless it
    /// ends this relation and allows the refund.
    #[arg(long)]
    from_duplicate: bool,
    /// Print the refund as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `yibao contributions refund`: refunds one relation's period (the individual part to
/// the person, the other lines reversed between funds), then checks the ledger.
pub fn refund(args: RefundArgs) -> anyhow::Result<ExitCode> {
    let params = yibao_enrollment::builtin_params().context("the shipped parameter sets")?;
    let now = crate::registry::china_now();
    let request = yibao_store::refund::RefundRequest {
        certno: args.certno.clone(),
        insutype: args.insutype.clone(),
        period: args.period.clone(),
        reason: args.reason.clone(),
        today: args.today.unwrap_or(now.date()),
        actor: "cli".to_owned(),
        from_duplicate: args.from_duplicate,
    };
    runtime()?.block_on(async {
        let store = yibao_store::Store::connect(&args.db)
            .await
            .with_context(|| format!("opening the database {}", args.db))?;
        let done = store.refund_contribution(&request, &params, now).await;
        let check = match &done {
            Ok(_) => Some(store.check_ledger().await),
            Err(_) => None,
        };
        store.close().await;
        let done = done.context("the refund")?;
        let check = check
            .expect("checked after a refund")
            .context("the ledger check")?;
        if args.json {
            let value = json!({
                "assessment_id": done.assessment_id,
                "psn_no": done.psn_no,
                "insutype": done.insutype,
                "period": done.period,
                "to_person": done.to_person.to_string(),
                "paid_to": done.paid_to,
                "reversed": done.reversed.iter()
                    .map(|(payer, amount)| json!({"payer": payer, "amount": amount.to_string()}))
                    .collect::<Vec<_>>(),
                "ledger_balanced": check.is_balanced(),
            });
            println!("{}", serde_json::to_string_pretty(&value)?);
        } else {
            println!(
                "refund {} ({} {} of {})",
                done.assessment_id, done.insutype, done.period, done.psn_no
            );
            println!(
                "  to the person          {} (into {})",
                done.to_person, done.paid_to
            );
            for (payer, amount) in &done.reversed {
                println!("  reversed to {payer:<10} {amount}");
            }
            println!(
                "ledger check: {}",
                if check.is_balanced() {
                    "balanced".to_string()
                } else {
                    check.problems.join("; ")
                }
            );
        }
        Ok(if check.is_balanced() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn parse_month(text: &str) -> anyhow::Result<YearMonth> {
    let parsed = text.split_once('-').and_then(|(y, m)| {
        (y.len() == 4 && m.len() == 2)
            .then(|| Some((y.parse::<i32>().ok()?, m.parse::<u32>().ok()?)))
            .flatten()
    });
    let Some((year, month)) = parsed else {
        bail!("--month: {text:?} is not YYYY-MM");
    };
    YearMonth::new(year, month).map_err(|e| anyhow::anyhow!("--month: {e}"))
}

/// Runs `yibao contributions run`.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let params = yibao_enrollment::builtin_params().context("the shipped parameter sets")?;
    let options = RunOptions {
        chunk_rows: args.chunk_rows,
        stop_after_chunks: None,
    };
    // The clock is read once, here.
    let now = crate::registry::china_now();
    let month = match (&args.month, args.residents) {
        (Some(text), false) => Some(parse_month(text)?),
        (None, true) => None,
        _ => bail!("give --month YYYY-MM (employees) or --year YYYY --residents"),
    };
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(0)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {pos}/{len} relations ({per_sec}, {eta} left)",
        )
        .context("the progress bar template")?
        .progress_chars("=> "),
    );
    let progress = {
        let bar = bar.clone();
        move |done: u64, total: u64| {
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    runtime()?.block_on(async {
        let store = yibao_store::Store::connect(&args.db)
            .await
            .with_context(|| format!("opening the database {}", args.db))?;
        let started = std::time::Instant::now();
        let report = match month {
            Some(month) => {
                bar.set_message(format!("employees {month}"));
                store
                    .run_employee_month(month, &params, &options, now, &progress)
                    .await
            }
            None => {
                let Some(year) = args.year else {
                    bail!("--residents needs --year YYYY");
                };
                let assessed_on = args.assessed_on.unwrap_or(now.date());
                bar.set_message(format!("residents {year}"));
                store
                    .run_resident_year(year, assessed_on, &params, &options, now, &progress)
                    .await
            }
        };
        bar.finish_and_clear();
        let run_secs = started.elapsed().as_secs_f64();
        let report = match report {
            Ok(report) => report,
            Err(e) => {
                store.close().await;
                return Err(e).context("the contribution run");
            }
        };
        // A fully subsidised resident is paid when assessed: the year's benefit periods.
        let periods = match (month, args.year) {
            (None, Some(year)) => Some(store.decide_benefit_periods(year, &params, now).await),
            _ => None,
        };
        let cases = store.contribution_cases(&report.period).await;
        let check_started = std::time::Instant::now();
        let check = if args.no_check {
            Ok(yibao_store::LedgerReport::default())
        } else {
            store.check_ledger().await
        };
        let check_secs = check_started.elapsed().as_secs_f64();
        store.close().await;
        let cases = cases.context("reading the run's cases")?;
        let periods = periods
            .transpose()
            .context("deciding the benefit periods")?;
        let check = check.context("the ledger check")?;
        if args.json {
            let value = json!({
                "run_id": report.run_id,
                "period": report.period,
                "candidates": report.candidates,
                "assessed": report.assessed,
                "retiree_credits": report.retiree_credits,
                "cases": cases.len(),
                "resumed": report.resumed,
                "nothing_new": report.nothing_new(),
                "employer": report.employer.to_string(),
                "individual": report.individual.to_string(),
                "other_payers": report.other_payers.to_string(),
                "into_accounts": report.into_accounts.to_string(),
                "into_pool": report.into_pool.to_string(),
                "benefit_periods": periods.as_ref().map(|p| p.decided),
                "ledger_balanced": check.is_balanced(),
                "ledger_checked": !args.no_check,
                "run_secs": run_secs,
                "check_secs": check_secs,
            });
            println!("{}", serde_json::to_string_pretty(&value)?);
        } else {
            print!("{}", render(&report, &cases));
            if let Some(p) = &periods {
                println!(
                    "benefit periods decided {} (waiting {}), undecided {}",
                    p.decided,
                    p.waiting,
                    p.undecided.len()
                );
            }
            println!("run took {run_secs:.1} s; ledger check took {check_secs:.1} s");
            println!(
                "ledger check: {}",
                if args.no_check {
                    "skipped (--no-check)".to_string()
                } else if check.is_balanced() {
                    "balanced".to_string()
                } else {
                    check.problems.join("; ")
                }
            );
        }
        Ok(if check.is_balanced() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}

fn render(report: &RunReport, cases: &[yibao_store::contributions::ContributionCase]) -> String {
    let mut out = String::new();
    let line = |out: &mut String, label: &str, value: String| {
        out.push_str(&format!("  {label:<22} {value}\n"));
    };
    out.push_str(&format!(
        "contribution run {} ({})\n",
        report.run_id, report.period
    ));
    if report.nothing_new() {
        out.push_str("  nothing new: no active relation of the period is left to assess\n");
    }
    if report.resumed {
        out.push_str("  resumed a run cut short; completed without posting anything twice\n");
    }
    line(
        &mut out,
        "relations looked at",
        report.candidates.to_string(),
    );
    line(&mut out, "assessed now", report.assessed.to_string());
    line(
        &mut out,
        "retirees' credits",
        report.retiree_credits.to_string(),
    );
    line(&mut out, "employers", fen(report.employer));
    line(&mut out, "individuals", fen(report.individual));
    line(&mut out, "other payers", fen(report.other_payers));
    line(
        &mut out,
        "into personal accounts",
        fen(report.into_accounts),
    );
    line(&mut out, "into pooled funds", fen(report.into_pool));
    line(&mut out, "open cases", cases.len().to_string());
    for case in cases.iter().take(CASES_PRINTED_MAX) {
        out.push_str(&format!(
            "    {} {} {}: {}\n",
            case.psn_no, case.insutype, case.reason, case.detail
        ));
    }
    if cases.len() > CASES_PRINTED_MAX {
        out.push_str(&format!(
            "    … and {} more\n",
            cases.len() - CASES_PRINTED_MAX
        ));
    }
    out
}

fn fen(amount: Fen) -> String {
    format!("{amount} yuan")
}

/// Runs `yibao contributions declare`.
pub fn declare(args: DeclareArgs) -> anyhow::Result<ExitCode> {
    let employers = match &args.employers {
        Some(path) => read_employers(path)?,
        None => Vec::new(),
    };
    let wages = match &args.wages {
        Some(path) => read_wages(path)?,
        None => Vec::new(),
    };
    let now = crate::registry::china_now();
    runtime()?.block_on(async {
        let store = yibao_store::Store::connect(&args.db)
            .await
            .with_context(|| format!("opening the database {}", args.db))?;
        let result = async {
            let e = store.record_employers(&employers).await?;
            let w = store.declare_wages(&wages, now).await?;
            Ok::<_, yibao_store::StoreError>((e, w))
        }
        .await;
        store.close().await;
        let (e, w) = result.context("recording the declarations")?;
        println!("employers recorded: {e}; wage declarations recorded: {w}");
        Ok(ExitCode::SUCCESS)
    })
}

fn records(path: &Path, header: &[&str]) -> anyhow::Result<Vec<csv::StringRecord>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))?;
    let found: Vec<String> = reader
        .headers()
        .with_context(|| format!("{}: the header", path.display()))?
        .iter()
        .map(str::to_string)
        .collect();
    if found != header {
        bail!(
            "{}: the header is {found:?}, expected {header:?}",
            path.display()
        );
    }
    let mut out = Vec::new();
    for (idx, record) in reader.records().enumerate() {
        if idx >= DECLARATION_LINES_MAX {
            bail!(
                "{}: more than {DECLARATION_LINES_MAX} lines",
                path.display()
            );
        }
        out.push(record.with_context(|| format!("{}: line {}", path.display(), idx + 2))?);
    }
    Ok(out)
}

fn read_employers(path: &Path) -> anyhow::Result<Vec<Employer>> {
    records(path, &["emp_no", "emp_name", "insu_admdvs"])?
        .into_iter()
        .map(|r| {
            Ok(Employer {
                emp_no: r[0].to_string(),
                emp_name: r[1].to_string(),
                insu_admdvs: r[2].to_string(),
            })
        })
        .collect()
}

fn read_wages(path: &Path) -> anyhow::Result<Vec<WageDeclaration>> {
    records(path, &["psn_no", "year", "emp_no", "wage", "source"])?
        .into_iter()
        .enumerate()
        .map(|(idx, r)| {
            let line = idx + 2;
            Ok(WageDeclaration {
                psn_no: r[0].to_string(),
                year: r[1].parse().with_context(|| {
                    format!("{}: line {line}: year {:?}", path.display(), &r[1])
                })?,
                emp_no: r[2].to_string(),
                wage: Fen::parse_non_negative(&r[3]).map_err(|e| {
                    anyhow::anyhow!("{}: line {line}: wage {:?}: {e}", path.display(), &r[3])
                })?,
                source: r[4].to_string(),
            })
        })
        .collect()
}
