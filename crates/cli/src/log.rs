//! `yibao log`: the tamper-evident access log from the command line (docs/PRIVACY.md, "The
//! access log"): `keygen` writes a key file, `checkpoint` signs one, `verify` checks a database's
//! log against its signed checkpoints (exit 0 intact, 1 with `leaf <idx>: REASON`, 2 on any other
//! error), `witness` cosigns the newest checkpoint after a consistency proof, and `proof` prints
//! an inclusion proof as JSON. Also the key-file helpers `yibao serve` and `yibao demo` use.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use yibao_store::{LogKeys, Store, WitnessKey};

/// The environment variable that names the log key file when `--log-key` is not given.
pub const LOG_KEY_ENV: &str = "YIBAO_LOG_KEY";

/// Subcommands of `yibao log`.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Write a new key file (mode 0600): the log's SM2 signing key and HMAC keys, or with
    /// `--witness NAME` a witness's key.
    Keygen(KeygenArgs),
    /// Check the whole log against the checkpoints in the database: exit 0 when intact, 1 with
    /// `leaf <idx>: REASON` when a leaf was deleted, altered, reordered or forked, 2 on any
    /// other error.
    Verify(VerifyArgs),
    /// Sign a checkpoint covering every leaf so far.
    Checkpoint(KeyedArgs),
    /// Run a witness: check the newest checkpoint extends the one this witness last cosigned,
    /// then cosign it.
    Witness(WitnessArgs),
    /// Print the inclusion proof of one leaf as JSON.
    Proof(ProofArgs),
}

/// Arguments of `yibao log keygen`.
#[derive(clap::Args)]
pub struct KeygenArgs {
    /// Where to write the key file (refused if it exists).
    #[arg(long)]
    out: PathBuf,
    /// The log's origin (its name in checkpoints).
    #[arg(long, default_value = yibao_store::access_log::LOG_ORIGIN_DEFAULT)]
    origin: String,
    /// Write a witness key with this name instead of log keys.
    #[arg(long)]
    witness: Option<String>,
}

/// Arguments of `yibao log verify`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Database URL.
    #[arg(long)]
    db: String,
}

/// Arguments of `yibao log checkpoint`.
#[derive(clap::Args)]
pub struct KeyedArgs {
    /// Database URL.
    #[arg(long)]
    db: String,
    /// The log key file (else `YIBAO_LOG_KEY`).
    #[arg(long)]
    log_key: Option<PathBuf>,
}

/// Arguments of `yibao log witness`.
#[derive(clap::Args)]
pub struct WitnessArgs {
    /// Database URL.
    #[arg(long)]
    db: String,
    /// The witness's key file (`yibao log keygen --witness NAME`).
    #[arg(long)]
    witness_key: PathBuf,
}

/// Arguments of `yibao log proof`.
#[derive(clap::Args)]
pub struct ProofArgs {
    /// Database URL.
    #[arg(long)]
    db: String,
    /// The leaf's index.
    #[arg(long)]
    idx: i64,
    /// The tree size (default: the newest signed checkpoint's).
    #[arg(long)]
    size: Option<i64>,
}

/// Runs `yibao log …`.
pub fn main(command: Command) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match command {
        Command::Keygen(args) => keygen(args),
        Command::Verify(args) => Ok(runtime.block_on(verify(args))),
        Command::Checkpoint(args) => runtime.block_on(checkpoint(args)),
        Command::Witness(args) => runtime.block_on(witness(args)),
        Command::Proof(args) => runtime.block_on(proof(args)),
    }
}

/// Writes `text` to a new file readable only by its owner.
pub(crate) fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating the key file {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing the key file {}", path.display()))?;
    Ok(())
}

fn keygen(args: KeygenArgs) -> anyhow::Result<ExitCode> {
    let text = match &args.witness {
        Some(name) => WitnessKey::generate(name)?.to_text(),
        None => LogKeys::generate(&args.origin)?.to_text(),
    };
    write_secret(&args.out, &text)?;
    eprintln!("wrote {} (mode 0600)", args.out.display());
    Ok(ExitCode::SUCCESS)
}

/// Reads a log key file.
pub fn read_log_keys(path: &Path) -> anyhow::Result<LogKeys> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the log key file {}", path.display()))?;
    LogKeys::from_text(&text).with_context(|| format!("the log key file {}", path.display()))
}

/// The SQLite database file of a URL, if it names one.
pub(crate) fn sqlite_file(db_url: &str) -> Option<PathBuf> {
    let rest = db_url
        .strip_prefix("sqlite://")
        .or_else(|| db_url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
}

/// The log keys for `db_url`: the file given (`--log-key`, else `YIBAO_LOG_KEY`); for a SQLite
/// file without one, the key file next to the database (`FILE.logkey`), created on first use
/// and said so on stderr. Never inside the database. For another database without a key file,
/// a server (`ephemeral_ok`) runs under keys made for the process, with a warning; a command
/// that signs is refused.
pub fn server_log_keys(
    given: Option<&Path>,
    db_url: &str,
    ephemeral_ok: bool,
) -> anyhow::Result<LogKeys> {
    let from_env = std::env::var_os(LOG_KEY_ENV).map(PathBuf::from);
    if let Some(path) = given.map(Path::to_path_buf).or(from_env) {
        return read_log_keys(&path);
    }
    let Some(db_file) = sqlite_file(db_url) else {
        if ephemeral_ok {
            eprintln!(
                "warning: no --log-key (or {LOG_KEY_ENV}): the access log runs under keys made \
                 for this process; its checkpoints name a key nobody keeps and a person's \
                 leaves cannot be found after a restart (yibao log keygen --out FILE)"
            );
            return Ok(LogKeys::generate(
                yibao_store::access_log::LOG_ORIGIN_DEFAULT,
            )?);
        }
        anyhow::bail!(
            "--log-key (or {LOG_KEY_ENV}) is required for this database: the access log's keys \
             live outside it (yibao log keygen --out FILE)"
        );
    };
    let mut name = db_file.as_os_str().to_owned();
    name.push(".logkey");
    let path = PathBuf::from(name);
    if path.exists() {
        return read_log_keys(&path);
    }
    let keys = LogKeys::generate(yibao_store::access_log::LOG_ORIGIN_DEFAULT)?;
    write_secret(&path, &keys.to_text())?;
    eprintln!(
        "created the access-log key file {} next to the database (keep it, and keep it out of \
         the database's backups; --log-key FILE names another)",
        path.display()
    );
    Ok(keys)
}

async fn verify(args: VerifyArgs) -> ExitCode {
    let store = match Store::connect(&args.db).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: opening the database {}: {e}", args.db);
            return ExitCode::from(2);
        }
    };
    let report = store.verify_log().await;
    store.close().await;
    match report {
        Err(e) => {
            eprintln!("error: reading the log: {e}");
            ExitCode::from(2)
        }
        Ok(report) => match &report.problem {
            Some(problem) => {
                println!("{problem}");
                ExitCode::from(1)
            }
            None if report.checkpoints == 0 => {
                eprintln!(
                    "error: no signed checkpoint in the database: {} leaves, nothing signed to \
                     check them against",
                    report.entries
                );
                ExitCode::from(2)
            }
            None => {
                println!(
                    "intact: {} leaves; the signed checkpoint of size {} verified ({} checkpoints)",
                    report.entries, report.verified_size, report.checkpoints
                );
                ExitCode::SUCCESS
            }
        },
    }
}

async fn checkpoint(args: KeyedArgs) -> anyhow::Result<ExitCode> {
    let keys = server_log_keys(args.log_key.as_deref(), &args.db, false)?;
    let store = Store::connect(&args.db)
        .await
        .with_context(|| format!("opening the database {}", args.db))?;
    let signed = store
        .sign_checkpoint(&keys)
        .await
        .context("signing a checkpoint")?;
    store.close().await;
    print!("{}", signed.note);
    Ok(ExitCode::SUCCESS)
}

async fn witness(args: WitnessArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.witness_key).with_context(|| {
        format!(
            "reading the witness key file {}",
            args.witness_key.display()
        )
    })?;
    let key = WitnessKey::from_text(&text)?;
    let store = Store::connect(&args.db)
        .await
        .with_context(|| format!("opening the database {}", args.db))?;
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the clock is before 1970")?
        .as_secs();
    let result = store.witness_cosign(&key, now_s).await;
    store.close().await;
    match result {
        Ok(cosigned) => {
            println!(
                "cosigned the checkpoint of size {} (previously {})",
                cosigned.size, cosigned.previous_size
            );
            print!("{}", cosigned.line);
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ yibao_store::StoreError::Refused { .. }) => {
            println!("refused: {e}");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e).context("cosigning"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn proof(args: ProofArgs) -> anyhow::Result<ExitCode> {
    let store = Store::connect(&args.db)
        .await
        .with_context(|| format!("opening the database {}", args.db))?;
    let size = match args.size {
        Some(size) => size,
        None => store
            .log_checkpoints()
            .await?
            .last()
            .map(|checkpoint| checkpoint.size)
            .context("no checkpoint is signed yet: give --size")?,
    };
    let proof = store.inclusion_proof(args.idx, size).await?;
    store.close().await;
    let json = serde_json::json!({
        "idx": proof.idx,
        "size": proof.size,
        "leaf": hex(&proof.leaf),
        "hashes": proof.proof.hashes.iter().map(|h| hex(h)).collect::<Vec<_>>(),
        "root": hex(&proof.root),
        "checkpoint": proof.checkpoint.map(|checkpoint| checkpoint.note),
    });
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(ExitCode::SUCCESS)
}
