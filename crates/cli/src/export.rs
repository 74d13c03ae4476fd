//! `yibao export parquet`: the store's settled claims as Parquet files for the batch layer
//! (docs/BATCH.md), pseudonymised under a key kept outside the export, written incrementally.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use yibao_batch::pseudonym::check_key_outside;
use yibao_batch::{export_parquet, ExportOptions, PseudonymKey};
use yibao_store::Store;

/// Subcommands of `yibao export`.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Write settled claims as Parquet: TABLE/admdvs=<insured region>/month=YYYY-MM/, amounts as
    /// decimal(16,2) yuan, identifiers as keyed pseudonyms; a second run rewrites only what
    /// changed.
    Parquet(ParquetArgs),
}

/// Arguments of `yibao export parquet`.
#[derive(clap::Args)]
pub struct ParquetArgs {
    /// Database URL.
    #[arg(long)]
    db: String,
    /// The output directory.
    #[arg(long)]
    out: PathBuf,
    /// The pseudonym key file (created, mode 0600, when missing; never inside --out). Default:
    /// `OUT.pseudonym-key` beside the output directory.
    #[arg(long)]
    pseudonym_key: Option<PathBuf>,
    /// Only this insured region (admdvs).
    #[arg(long)]
    region: Option<String>,
    /// Only this settlement month (YYYY-MM).
    #[arg(long)]
    month: Option<String>,
}

/// Runs `yibao export …`.
pub fn main(command: Command) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match command {
        Command::Parquet(args) => runtime.block_on(parquet(args)),
    }
}

/// The key file's place: given, or `OUT.pseudonym-key` beside the output directory.
fn key_path(args: &ParquetArgs) -> anyhow::Result<PathBuf> {
    if let Some(path) = &args.pseudonym_key {
        return Ok(path.clone());
    }
    let name = args
        .out
        .file_name()
        .context("--out: give a directory name (the default key file is named after it)")?;
    let mut key_name = name.to_os_string();
    key_name.push(".pseudonym-key");
    Ok(args.out.with_file_name(key_name))
}

async fn parquet(args: ParquetArgs) -> anyhow::Result<ExitCode> {
    let key_file = key_path(&args)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("--out: creating {}", args.out.display()))?;
    check_key_outside(&key_file, &args.out)?;
    let key = PseudonymKey::load_or_create(&key_file)?;
    let store = Store::connect(&args.db)
        .await
        .with_context(|| format!("opening {}", args.db))?;
    let options = ExportOptions {
        out: &args.out,
        key: &key,
        admdvs: args.region.as_deref(),
        month: args.month.as_deref(),
    };
    let mut progress = |line: &str| eprintln!("{line}");
    let report = export_parquet(&store, &options, &mut progress).await;
    store.close().await;
    let report = report?;
    println!("table          written  unchanged       rows");
    for table in &report.tables {
        println!(
            "{:<14} {:>7} {:>10} {:>10}",
            table.table, table.written, table.unchanged, table.rows
        );
    }
    println!(
        "manifest: {}",
        if report.manifest_written {
            "written"
        } else {
            "unchanged"
        }
    );
    Ok(ExitCode::SUCCESS)
}
