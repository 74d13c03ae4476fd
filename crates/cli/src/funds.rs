//! `yibao month-end` and `yibao funds …` (issue 14, guide `docs/FUNDS.md`): the month's
//! payment runs of every region (prepared by one finance officer, approved by another),
//! reimbursement between regions, the bank files and the funds' statements.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use serde_json::json;
use yibao_store::funds::{month_bounds, FundStatementRow, PrepareRun, RunSummary};
use yibao_store::{Role, Store};

/// The demo region's file, used when `--region` is not given.
pub(crate) const DEFAULT_REGION: &str = include_str!("../../../regions/demo.toml");

/// Arguments of `yibao month-end`.
#[derive(clap::Args)]
pub struct MonthEndArgs {
    /// Database URL (`sqlite://FILE?mode=rwc` or `postgres://…`).
    #[arg(long)]
    db: String,
    /// The month (`YYYY-MM`); the current month pays what is settled so far.
    #[arg(long)]
    month: String,
    /// The finance officer preparing the runs (a staff username with the finance role).
    #[arg(long)]
    by: String,
    /// The finance officer approving them (another one); without it nothing is paid.
    #[arg(long)]
    approved_by: Option<String>,
    /// The region file with the `[funds]`, `[drg]`, `[dip]` and `[settlement]` tables
    /// (default: the demo region's).
    #[arg(long)]
    region: Option<PathBuf>,
    /// Only this treating region (default: every region with institutions).
    #[arg(long)]
    admdvs: Option<String>,
    /// Write each approved run's bank file (`RUN.csv`) into this folder.
    #[arg(long)]
    bank_out: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// Arguments of `yibao funds report`.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// Database URL.
    #[arg(long)]
    db: String,
    /// The month (`YYYY-MM`).
    #[arg(long)]
    month: String,
    /// Print `{"funds": [...]}` as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `yibao funds budget`.
#[derive(clap::Args)]
pub struct BudgetArgs {
    /// Database URL.
    #[arg(long)]
    db: String,
    /// The fund (`310100`, `390100` …), or `drg` for the region's annual DRG/DIP budget (the
    /// pool inpatient cases are paid from by points).
    #[arg(long)]
    fund: String,
    /// Its region.
    #[arg(long)]
    admdvs: String,
    /// The year.
    #[arg(long)]
    year: i32,
    /// The annual expenditure budget in yuan (`1200000.00`).
    #[arg(long)]
    amount: String,
    /// Who sets it (a staff username with the finance role).
    #[arg(long)]
    by: String,
}

/// Arguments of `yibao funds interest`.
#[derive(clap::Args)]
pub struct InterestArgs {
    /// Database URL.
    #[arg(long)]
    db: String,
    /// The fund (`310100`, `390100` …).
    #[arg(long)]
    fund: String,
    /// Its region.
    #[arg(long)]
    admdvs: String,
    /// The month (`YYYY-MM`) the bank credited it in.
    #[arg(long)]
    month: String,
    /// The interest in yuan (`1234.56`), as the bank's statement gives it.
    #[arg(long)]
    amount: String,
    /// Who records it (a staff username with the finance role).
    #[arg(long)]
    by: String,
}

/// Checks that `username` is an active staff account with the finance role.
async fn finance_officer(store: &Store, username: &str) -> anyhow::Result<()> {
    let accounts = store.staff_accounts().await?;
    match accounts.iter().find(|a| a.username == username) {
        None => bail!("{username}: no such staff account"),
        Some(a) if !a.active => bail!("{username}: the account is deactivated"),
        Some(a) if !a.has(Role::Finance) => {
            bail!("{username}: not a finance officer (role finance is needed)")
        }
        Some(_) => Ok(()),
    }
}

/// What a month end did, for printing.
pub struct MonthEnd {
    /// The runs, every region.
    pub runs: Vec<RunSummary>,
    /// Orders per run.
    pub orders: Vec<(String, Vec<yibao_store::funds::OrderSummary>)>,
    /// Reimbursements between regions.
    pub reimbursed: Vec<yibao_store::funds::ClearingPair>,
    /// The cross-region statement.
    pub clearing: Vec<yibao_store::funds::ClearingPair>,
    /// The funds' statement.
    pub statement: Vec<FundStatementRow>,
    /// The month's clearing (清算) rows: the bureau's totals per institution × scheme ×
    /// clearing type with the institution's application (3203), if any.
    pub clearing_rows: Vec<yibao_store::clearing::ClearingRow>,
}

/// Runs the month end on an open store (the demo calls this too).
pub async fn month_end(
    store: &Store,
    month: &str,
    by: &str,
    approved_by: Option<&str>,
    region_text: &str,
    only: Option<&str>,
    progress: &dyn Fn(&str),
) -> anyhow::Result<MonthEnd> {
    month_bounds(month)?;
    finance_officer(store, by).await?;
    if let Some(a) = approved_by {
        finance_officer(store, a).await?;
        if a == by {
            bail!("--approved-by: {a} also prepares the run; another finance officer approves it");
        }
    }
    let regions: Vec<String> = match only {
        Some(a) => vec![a.to_string()],
        None => store.payment_regions().await?,
    };
    let mut clearing_rows = Vec::new();
    for admdvs in &regions {
        progress(&format!("{admdvs}: clearing {month}"));
        clearing_rows.extend(store.clearing_month(Some(admdvs), month).await?);
    }
    let mut runs = Vec::new();
    let mut orders = Vec::new();
    for admdvs in &regions {
        progress(&format!("{admdvs}: preparing {month}"));
        let request = PrepareRun::from_region_text(
            admdvs,
            month,
            by,
            region_text,
            crate::registry::china_now(),
        )?;
        let mut run = store.prepare_payment_run(&request).await?;
        if let (Some(a), None) = (approved_by, &run.approved_by) {
            progress(&format!("{admdvs}: paying {month}"));
            run = store
                .approve_payment_run(&run.run_id, a, crate::registry::china_now())
                .await?;
        }
        orders.push((run.run_id.clone(), store.payment_orders(&run.run_id).await?));
        runs.push(run);
    }
    let mut reimbursed = Vec::new();
    if let Some(a) = approved_by {
        for admdvs in &regions {
            progress(&format!("{admdvs}: reimbursing other regions"));
            reimbursed.extend(
                store
                    .reimburse_regions(admdvs, month, by, a, crate::registry::china_now())
                    .await?,
            );
        }
    }
    progress("statements");
    let clearing = store.clearing_statement(month).await?;
    let statement = store.fund_statement(month).await?;
    Ok(MonthEnd {
        runs,
        orders,
        reimbursed,
        clearing,
        statement,
        clearing_rows,
    })
}

/// `yibao month-end`.
pub fn run(args: MonthEndArgs) -> anyhow::Result<ExitCode> {
    let region_text = match &args.region {
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
        }
        None => DEFAULT_REGION.to_string(),
    };
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new_spinner()
    };
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let started = std::time::Instant::now();
    crate::registry::runtime()?.block_on(async {
        let store = Store::connect(&args.db)
            .await
            .with_context(|| format!("opening the database {}", args.db))?;
        let progress = |step: &str| {
            bar.set_message(format!(
                "[{:>6.1} s] {step}",
                started.elapsed().as_secs_f64()
            ))
        };
        let done = month_end(
            &store,
            &args.month,
            &args.by,
            args.approved_by.as_deref(),
            &region_text,
            args.admdvs.as_deref(),
            &progress,
        )
        .await?;
        bar.finish_and_clear();
        if let Some(dir) = &args.bank_out {
            std::fs::create_dir_all(dir)?;
            for run in done.runs.iter().filter(|r| r.approved_by.is_some()) {
                let file = dir.join(format!("{}.csv", run.run_id.replace(':', "-")));
                std::fs::write(&file, store.bank_file(&run.run_id).await?)
                    .with_context(|| format!("writing {}", file.display()))?;
            }
        }
        if args.json {
            println!("{}", serde_json::to_string_pretty(&month_end_json(&done))?);
        } else {
            print!("{}", render_month_end(&done));
        }
        eprintln!(
            "month end {} in {:.1} s",
            args.month,
            started.elapsed().as_secs_f64()
        );
        Ok(ExitCode::SUCCESS)
    })
}

fn yuan(fen: i64) -> String {
    yibao_funds::statement::yuan(fen)
}

/// `{"funds": [...]}`: one row per fund and region, amounts as strings with two decimals.
pub fn statement_json(rows: &[FundStatementRow]) -> serde_json::Value {
    json!({
        "funds": rows.iter().map(|r| json!({
            "fund": r.month.fund,
            "admdvs": r.month.admdvs,
            "opening": yuan(r.month.opening),
            "income": yuan(r.month.income),
            "expenditure": yuan(r.month.expenditure),
            "adjustments": yuan(r.month.adjustments),
            "closing": yuan(r.month.closing),
            "months_covered": r.months_covered,
            "execution_rate": r.execution_rate,
        })).collect::<Vec<_>>()
    })
}

fn month_end_json(m: &MonthEnd) -> serde_json::Value {
    json!({
        "clearing_rows": m.clearing_rows.iter().map(|r| json!({
            "fixmedins_code": r.fixmedins_code, "insutype": r.insutype, "clr_type": r.clr_type,
            "medfee_sumamt": yuan(r.totals.medfee_sumamt_fen),
            "fund_pay_sumamt": yuan(r.totals.fund_pay_sumamt_fen),
            "acct_pay": yuan(r.totals.acct_pay_fen),
            "settlements": r.totals.net_count(),
            "application": format!("{:?}", r.status).to_lowercase(),
        })).collect::<Vec<_>>(),
        "runs": m.runs.iter().map(|r| json!({
            "run_id": r.run_id,
            "admdvs": r.admdvs,
            "month": r.month,
            "method": r.method,
            "prepared_by": r.prepared_by,
            "approved_by": r.approved_by,
            "pay_by": r.pay_by,
            "settlements": r.n_settlements,
            "cases": r.n_cases,
            "held": r.n_held,
            "point_value": r.point_value(),
            "paid": yuan(r.total_fen),
            "year_end": r.year_end,
            "fresh": r.fresh,
        })).collect::<Vec<_>>(),
        "clearing": m.clearing.iter().map(|p| json!({
            "debtor": p.debtor, "creditor": p.creditor, "fund": p.fund,
            "advanced": yuan(p.advanced_fen), "reimbursed": yuan(p.reimbursed_fen),
            "outstanding": yuan(p.outstanding_fen),
        })).collect::<Vec<_>>(),
        "funds": statement_json(&m.statement)["funds"],
    })
}

/// The month end as text: runs, the largest orders, clearing between regions, the statement.
pub fn render_month_end(m: &MonthEnd) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let rows = &m.clearing_rows;
    let count =
        |s: yibao_store::clearing::ClearingStatus| rows.iter().filter(|r| r.status == s).count();
    let medfee: i64 = rows.iter().map(|r| r.totals.medfee_sumamt_fen).sum();
    let fund: i64 = rows.iter().map(|r| r.totals.fund_pay_sumamt_fen).sum();
    let _ = writeln!(
        out,
        "clearing (清算): {} institution × scheme × clearing-type rows, medical fees {} yuan, funds {} yuan; applications (3203) accepted {}, withdrawn {}, none {}",
        rows.len(),
        yuan(medfee),
        yuan(fund),
        count(yibao_store::clearing::ClearingStatus::Accepted),
        count(yibao_store::clearing::ClearingStatus::Withdrawn),
        count(yibao_store::clearing::ClearingStatus::None),
    );
    for r in &m.runs {
        let status = match (&r.approved_by, r.fresh) {
            (Some(a), true) => format!("paid now, approved by {a}"),
            (Some(a), false) => format!("already paid (approved by {a}); nothing paid twice"),
            (None, _) => "prepared; nothing paid until another finance officer approves it".into(),
        };
        let _ = writeln!(
            out,
            "payment run {}  {} by {}{}: {}\n  {} settlements and reversals, {} cases by {} points (point value {} fen), {} held for their settlement lists; banks pay {} yuan by {}",
            r.run_id,
            r.month,
            r.prepared_by,
            if r.year_end { " (year end)" } else { "" },
            status,
            r.n_settlements,
            r.n_cases,
            r.method,
            r.point_value().unwrap_or_else(|| "-".into()),
            r.n_held,
            yuan(r.total_fen),
            r.pay_by
        );
        if let Some((_, orders)) = m.orders.iter().find(|(id, _)| *id == r.run_id) {
            let mut top: Vec<_> = orders.iter().collect();
            top.sort_by_key(|o| std::cmp::Reverse(o.paid_fen));
            let _ = writeln!(
                out,
                "  {:<14} {:>14} {:>12} {:>11} {:>11} {:>14}  name",
                "institution", "owed", "drg/dip", "recovery", "holdback", "paid"
            );
            for o in top.iter().take(8) {
                let _ = writeln!(
                    out,
                    "  {:<14} {:>14} {:>12} {:>11} {:>11} {:>14}  {}",
                    o.fixmedins_code,
                    yuan(o.owed_fen),
                    yuan(o.drg_fen),
                    yuan(o.recovery_fen),
                    yuan(o.holdback_fen),
                    yuan(o.paid_fen),
                    o.fixmedins_name
                );
            }
            if top.len() > 8 {
                let _ = writeln!(out, "  … and {} more institutions", top.len() - 8);
            }
        }
    }
    for p in &m.reimbursed {
        let _ = writeln!(
            out,
            "{} reimbursed {} yuan to {} for fund {}",
            p.debtor,
            yuan(p.reimbursed_fen),
            p.creditor,
            p.fund
        );
    }
    if !m.clearing.is_empty() {
        let _ = writeln!(out, "cross-region clearing (异地清算):");
        for p in &m.clearing {
            let _ = writeln!(
                out,
                "  {} owes {} for fund {}: advanced {}, reimbursed {}, outstanding {}",
                p.debtor,
                p.creditor,
                p.fund,
                yuan(p.advanced_fen),
                yuan(p.reimbursed_fen),
                yuan(p.outstanding_fen)
            );
        }
    }
    out.push_str(&render_statement(&m.statement));
    out
}

/// The funds' statement as text.
pub fn render_statement(rows: &[FundStatementRow]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "fund statement (yuan)\n  {:<10} {:<7} {:>16} {:>15} {:>15} {:>13} {:>16} {:>7} {:>9}",
        "fund",
        "region",
        "opening",
        "income",
        "expenditure",
        "adjustments",
        "closing",
        "months",
        "budget"
    );
    for r in rows {
        let m = &r.month;
        let _ = writeln!(
            out,
            "  {:<10} {:<7} {:>16} {:>15} {:>15} {:>13} {:>16} {:>7} {:>9}",
            m.fund,
            m.admdvs,
            yuan(m.opening),
            yuan(m.income),
            yuan(m.expenditure),
            yuan(m.adjustments),
            yuan(m.closing),
            r.months_covered.as_deref().unwrap_or("-"),
            r.execution_rate.as_deref().unwrap_or("-")
        );
        let by_kind: Vec<String> = r
            .expenditure_by_clr_type
            .iter()
            .map(|(clr, fen)| format!("{} {}", clr_name(clr), yuan(*fen)))
            .collect();
        if !by_kind.is_empty() {
            let _ = writeln!(out, "    expenditure by kind: {}", by_kind.join(", "));
        }
        let income: Vec<String> = r
            .income_by_kind
            .iter()
            .map(|(k, fen)| format!("{k} {}", yuan(*fen)))
            .collect();
        if !income.is_empty() {
            let _ = writeln!(out, "    income by source: {}", income.join(", "));
        }
    }
    out
}

fn clr_name(code: &str) -> String {
    let name = match code {
        "11" => "outpatient",
        "14" => "chronic",
        "21" => "inpatient",
        "41" => "pharmacy",
        _ => "other",
    };
    format!("{name} ({code})")
}

/// `yibao funds report`.
pub fn report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    crate::registry::runtime()?.block_on(async {
        let store = Store::connect(&args.db)
            .await
            .with_context(|| format!("opening the database {}", args.db))?;
        let rows = store.fund_statement(&args.month).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&statement_json(&rows))?);
        } else {
            print!("{}", render_statement(&rows));
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `yibao funds budget`.
pub fn budget(args: BudgetArgs) -> anyhow::Result<ExitCode> {
    let amount =
        yibao_core_types::Fen::parse(&args.amount).map_err(|e| anyhow::anyhow!("--amount: {e}"))?;
    crate::registry::runtime()?.block_on(async {
        let store = Store::connect(&args.db)
            .await
            .with_context(|| format!("opening the database {}", args.db))?;
        finance_officer(&store, &args.by).await?;
        store
            .set_fund_budget(
                &args.fund,
                &args.admdvs,
                args.year,
                amount.0,
                &args.by,
                crate::registry::china_now(),
            )
            .await?;
        println!(
            "budget of fund {} in {} for {}: {} yuan",
            args.fund, args.admdvs, args.year, amount
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// `yibao funds interest`.
pub fn interest(args: InterestArgs) -> anyhow::Result<ExitCode> {
    let amount =
        yibao_core_types::Fen::parse(&args.amount).map_err(|e| anyhow::anyhow!("--amount: {e}"))?;
    crate::registry::runtime()?.block_on(async {
        let store = Store::connect(&args.db)
            .await
            .with_context(|| format!("opening the database {}", args.db))?;
        finance_officer(&store, &args.by).await?;
        let r = store
            .record_interest(
                &args.fund,
                &args.admdvs,
                &args.month,
                amount.0,
                &args.by,
                crate::registry::china_now(),
            )
            .await?;
        println!(
            "interest of fund {} in {} for {}: {} yuan ({}, {})",
            r.fund,
            r.admdvs,
            r.month,
            yibao_core_types::Fen(r.amount_fen),
            r.ref_id,
            if r.fresh {
                format!("recorded by {}", r.recorded_by)
            } else {
                format!("recorded before by {}; nothing changed", r.recorded_by)
            }
        );
        Ok(ExitCode::SUCCESS)
    })
}
