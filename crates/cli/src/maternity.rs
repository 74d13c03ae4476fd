//! `yibao contributions maternity`: the month's maternity allowances (生育津贴), decided and
//! paid with nobody claiming (docs/ENROLLMENT.md).

use std::process::ExitCode;

use anyhow::Context as _;

/// Arguments of `yibao contributions maternity`.
#[derive(clap::Args)]
pub struct Args {
    /// Database URL (`sqlite://FILE?mode=rwc` or `postgres://…`).
    #[arg(long)]
    db: String,
    /// The month whose settled delivery stays are decided (`YYYY-MM`).
    #[arg(long)]
    month: String,
}

/// Runs `yibao contributions maternity`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (y, m) = args
        .month
        .split_once('-')
        .filter(|(y, m)| y.len() == 4 && m.len() == 2)
        .with_context(|| format!("--month {} is not YYYY-MM", args.month))?;
    let month = yibao_enrollment::YearMonth::new(
        y.parse()
            .with_context(|| format!("--month {}: the year", args.month))?,
        m.parse()
            .with_context(|| format!("--month {}: the month", args.month))?,
    )
    .map_err(|e| anyhow::anyhow!("--month {}: {e}", args.month))?;
    let params = yibao_enrollment::builtin_params().context("the shipped enrollment parameters")?;
    let now = crate::registry::utc_now()?;
    let report = crate::registry::runtime()?.block_on(async {
        let store = yibao_store::Store::connect(&args.db)
            .await
            .with_context(|| format!("opening the database {}", args.db))?;
        let report = store.maternity_allowances(month, &params, now).await;
        store.close().await;
        anyhow::Ok(report?)
    })?;
    println!(
        "maternity allowances {}: {} stays, {} paid ({}), {} refused",
        args.month,
        report.candidates,
        report.paid,
        report.amount,
        report.refused.len()
    );
    for (mdtrt_id, reason) in &report.refused {
        println!("refused {mdtrt_id}: {reason}");
    }
    Ok(ExitCode::SUCCESS)
}
