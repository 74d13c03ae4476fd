//! `yibao keys`: the data keys of encryption at rest (docs/PRIVACY.md, "Encryption at rest"):
//! `generate` writes a key file, `status` counts the sealed values by key version, `rotate` adds
//! a new active version to the key file, `rewrap` re-seals every value still under an old
//! version in batches, and `retire` removes a version no value is sealed under any more. Also
//! the key-file helper `yibao serve` and `yibao demo` use.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use yibao_store::{Keyring, Store};

/// The environment variable that names the data key file when `--data-key` is not given.
pub const DATA_KEY_ENV: &str = "YIBAO_DATA_KEY";

/// Subcommands of `yibao keys`.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Write a new data key file (mode 0600): version 1 of every key family and the
    /// blind-index key.
    Generate(GenerateArgs),
    /// Count the sealed values by key version, and what a rewrap still has to do.
    Status(DbArgs),
    /// Add a new active version to every key family (or one): new values are sealed under it;
    /// old values still open under their version until rewrapped.
    Rotate(RotateArgs),
    /// Re-seal every value still under an old key version (and seal or index what an older
    /// database kept in clear), in batches of one transaction each; safe to stop and run again.
    Rewrap(RewrapArgs),
    /// Remove a key version from the key file once no value is sealed under it.
    Retire(RetireArgs),
}

/// Arguments of `yibao keys generate`.
#[derive(clap::Args)]
pub struct GenerateArgs {
    /// Where to write the key file (refused if it exists).
    #[arg(long)]
    out: PathBuf,
}

/// Where the key file is: given, or from the environment, or beside a SQLite database.
#[derive(clap::Args)]
pub struct KeyFileArgs {
    /// The data key file (else `YIBAO_DATA_KEY`; for a SQLite file without either,
    /// `FILE.datakey` next to it).
    #[arg(long)]
    data_key: Option<PathBuf>,
}

/// Arguments of the subcommands that read a database.
#[derive(clap::Args)]
pub struct DbArgs {
    /// Database URL.
    #[arg(long)]
    db: String,
    #[command(flatten)]
    key: KeyFileArgs,
}

/// Arguments of `yibao keys rotate`.
#[derive(clap::Args)]
pub struct RotateArgs {
    /// The database the key file belongs to: the rotation is logged in its access log, and
    /// `FILE.datakey` beside a SQLite file is found by it.
    #[arg(long)]
    db: Option<String>,
    #[command(flatten)]
    key: KeyFileArgs,
    /// Rotate only this family (default: every family the store seals).
    #[arg(long)]
    family: Option<String>,
}

/// Arguments of `yibao keys rewrap`.
#[derive(clap::Args)]
pub struct RewrapArgs {
    /// Database URL.
    #[arg(long)]
    db: String,
    #[command(flatten)]
    key: KeyFileArgs,
    /// Rows per batch (one transaction each).
    #[arg(long, default_value_t = 1000)]
    batch: u32,
}

/// Arguments of `yibao keys retire`.
#[derive(clap::Args)]
pub struct RetireArgs {
    /// Database URL (checked: no value may still be sealed under the version).
    #[arg(long)]
    db: String,
    #[command(flatten)]
    key: KeyFileArgs,
    /// The key family (e.g. `visit.mdtrt_cert_no`).
    #[arg(long)]
    family: String,
    /// The version to remove.
    #[arg(long)]
    version: u32,
}

/// Runs `yibao keys …`.
pub fn main(command: Command) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match command {
        Command::Generate(args) => generate(args),
        Command::Status(args) => runtime.block_on(status(args)),
        Command::Rotate(args) => runtime.block_on(rotate(args)),
        Command::Rewrap(args) => runtime.block_on(rewrap(args)),
        Command::Retire(args) => runtime.block_on(retire(args)),
    }
}

/// Reads a data key file.
pub fn read_keyring(path: &Path) -> anyhow::Result<Keyring> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the data key file {}", path.display()))?;
    Keyring::from_text(&text).with_context(|| format!("the data key file {}", path.display()))
}

/// The data key file for `db_url`: the one given (`--data-key`, else `YIBAO_DATA_KEY`), else
/// `FILE.datakey` beside a SQLite database file; `None` for another database without one.
fn key_file_path(given: Option<&Path>, db_url: Option<&str>) -> Option<PathBuf> {
    let from_env = std::env::var_os(DATA_KEY_ENV).map(PathBuf::from);
    if let Some(path) = given.map(Path::to_path_buf).or(from_env) {
        return Some(path);
    }
    let mut name = crate::log::sqlite_file(db_url?)?.into_os_string();
    name.push(".datakey");
    Some(PathBuf::from(name))
}

/// The key file a maintenance command works on; it must exist.
fn existing_key_file(given: Option<&Path>, db_url: Option<&str>) -> anyhow::Result<PathBuf> {
    let path = key_file_path(given, db_url).with_context(|| {
        format!(
            "--data-key (or {DATA_KEY_ENV}) is required: the data keys live outside the database"
        )
    })?;
    anyhow::ensure!(
        path.exists(),
        "the data key file {} does not exist (yibao keys generate --out FILE)",
        path.display()
    );
    Ok(path)
}

/// The keyring for `db_url` a server seals with: the file given (`--data-key`, else
/// `YIBAO_DATA_KEY`); for a SQLite file without one, `FILE.datakey` next to the database,
/// created on first use and said so on stderr. Never inside the database. For another database
/// without a key file, a server (`ephemeral_ok`) runs under keys made for the process, with a
/// warning; anything else is refused.
pub fn server_keyring(
    given: Option<&Path>,
    db_url: &str,
    ephemeral_ok: bool,
) -> anyhow::Result<Keyring> {
    let Some(path) = key_file_path(given, Some(db_url)) else {
        if ephemeral_ok {
            eprintln!(
                "warning: no --data-key (or {DATA_KEY_ENV}): values are sealed under data keys \
                 made for this process, which nobody keeps; they will not open after a restart \
                 and e-voucher tokens imported now will not be found then (yibao keys generate \
                 --out FILE)"
            );
            return Ok(Keyring::generate(&yibao_store::sealing::families())?);
        }
        anyhow::bail!(
            "--data-key (or {DATA_KEY_ENV}) is required for this database: the data keys live \
             outside it (yibao keys generate --out FILE)"
        );
    };
    if path.exists() || given.is_some() || std::env::var_os(DATA_KEY_ENV).is_some() {
        return read_keyring(&path);
    }
    let keyring = Keyring::generate(&yibao_store::sealing::families())?;
    crate::log::write_secret(&path, &keyring.to_text())?;
    eprintln!(
        "created the data key file {} next to the database (keep it, and keep it out of the \
         database's backups; --data-key FILE names another)",
        path.display()
    );
    Ok(keyring)
}

/// The default key file beside a SQLite database when it does not exist yet (so that
/// [`server_keyring`] will create it); `None` when a file is given or already there.
pub fn key_file_to_create(given: Option<&Path>, db_url: &str) -> Option<PathBuf> {
    if given.is_some() || std::env::var_os(DATA_KEY_ENV).is_some() {
        return None;
    }
    key_file_path(None, Some(db_url)).filter(|path| !path.exists())
}

/// Refuses a key file just created (`created`) for a database that already holds sealed values
/// or indexed tokens: they were made under a key file that is gone, and a new one would neither
/// open nor find them. The new file is removed.
pub async fn refuse_new_key_file_for_keyed_data(
    store: &Store,
    created: &Path,
) -> anyhow::Result<()> {
    let status = store.keys_status().await?;
    if status.keyed_rows() > 0 {
        std::fs::remove_file(created).with_context(|| format!("removing {}", created.display()))?;
        anyhow::bail!(
            "the data key file {} was missing, but the database holds {} sealed values and              indexed tokens made under it: restore that key file (or give it with --data-key              FILE); a new one would not open them",
            created.display(),
            status.keyed_rows()
        );
    }
    Ok(())
}

/// Replaces the key file at `path` with `keyring`, atomically (a new file, mode 0600, renamed
/// over the old one), so a crash leaves the old file or the new one, never half of one.
fn replace_key_file(path: &Path, keyring: &Keyring) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".new");
    let tmp = PathBuf::from(tmp);
    if tmp.exists() {
        std::fs::remove_file(&tmp)
            .with_context(|| format!("removing the leftover {}", tmp.display()))?;
    }
    crate::log::write_secret(&tmp, &keyring.to_text())?;
    let file = std::fs::File::open(&tmp)?;
    file.sync_all()
        .with_context(|| format!("syncing {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("replacing the key file {}", path.display()))?;
    Ok(())
}

fn now_ms() -> anyhow::Result<i64> {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the clock is before 1970")?
        .as_millis();
    Ok(i64::try_from(ms)?)
}

/// Appends a key event (`keys.rotate`, `keys.retire`) to the database's access log (spec §9.1:
/// key rotations are logged).
async fn log_key_event(store: &Store, event: &str, reason: String) -> anyhow::Result<()> {
    store
        .log_access(&yibao_store::AccessEntry {
            ts_ms: now_ms()?,
            event: event.to_owned(),
            action: format!("yibao keys {}", event.trim_start_matches("keys.")),
            decision: yibao_store::Decision::Permit,
            reason,
            ..Default::default()
        })
        .await
        .context("logging the key event")?;
    Ok(())
}

fn generate(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let keyring = Keyring::generate(&yibao_store::sealing::families())?;
    crate::log::write_secret(&args.out, &keyring.to_text())?;
    eprintln!("wrote {} (mode 0600)", args.out.display());
    Ok(ExitCode::SUCCESS)
}

async fn open(db: &str, key_file: &Path) -> anyhow::Result<Store> {
    let keyring = read_keyring(key_file)?;
    Ok(Store::connect(db)
        .await
        .with_context(|| format!("opening the database {db}"))?
        .with_keyring(keyring))
}

async fn status(args: DbArgs) -> anyhow::Result<ExitCode> {
    let path = existing_key_file(args.key.data_key.as_deref(), Some(&args.db))?;
    let store = open(&args.db, &path).await?;
    let status = store.keys_status().await?;
    let keyring = store.keyring();
    store.close().await;
    let mut out = std::io::stdout().lock();
    for column in &status.columns {
        let c = column.column;
        let versions: Vec<String> = column
            .by_version
            .iter()
            .map(|(version, rows)| format!("v{version}={rows}"))
            .collect();
        writeln!(
            out,
            "{}.{} family={} active=v{} {} clear={} unknown_version={}",
            c.table,
            c.column,
            c.family,
            keyring.active_version(c.family).unwrap_or(0),
            versions.join(" "),
            column.clear,
            column.unknown_version
        )?;
    }
    writeln!(
        out,
        "ec_token indexed={} clear={}",
        status.ec_tokens_indexed, status.ec_tokens_clear
    )?;
    writeln!(out, "rewrap pending={}", status.rewrap_pending(&keyring))?;
    Ok(ExitCode::SUCCESS)
}

async fn rotate(args: RotateArgs) -> anyhow::Result<ExitCode> {
    let path = existing_key_file(args.key.data_key.as_deref(), args.db.as_deref())?;
    let mut keyring = read_keyring(&path)?;
    let families: Vec<String> = match &args.family {
        Some(family) => vec![family.clone()],
        None => yibao_store::sealing::families()
            .into_iter()
            .map(str::to_owned)
            .collect(),
    };
    let mut rotated = Vec::new();
    for family in &families {
        let version = keyring.rotate(family)?;
        rotated.push(format!("{family} v{version}"));
    }
    replace_key_file(&path, &keyring)?;
    if let Some(db) = &args.db {
        let store = Store::connect(db)
            .await
            .with_context(|| format!("opening the database {db}"))?;
        let logged = log_key_event(
            &store,
            "keys.rotate",
            format!("rotated {}", rotated.join(", ")),
        )
        .await;
        store.close().await;
        logged?;
    }
    println!("rotated: {}", rotated.join(", "));
    eprintln!(
        "restart the servers with {} so they seal under the new versions, then run \
         `yibao keys rewrap`",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn rewrap(args: RewrapArgs) -> anyhow::Result<ExitCode> {
    let path = existing_key_file(args.key.data_key.as_deref(), Some(&args.db))?;
    let store = open(&args.db, &path).await?;
    let (mut batches, mut resealed, mut indexed) = (0u64, 0u64, 0u64);
    let mut cursor = yibao_store::RewrapCursor::default();
    let result = loop {
        if cursor.is_finished() {
            break Ok(());
        }
        match store.rewrap_batch(args.batch, now_ms()?, &mut cursor).await {
            Ok(progress) if progress.is_empty() => {}
            Ok(progress) => {
                batches += 1;
                resealed += progress.resealed;
                indexed += progress.tokens_indexed;
                eprintln!(
                    "batch {batches}: {} re-sealed, {} tokens indexed",
                    progress.resealed, progress.tokens_indexed
                );
            }
            Err(e) => break Err(e),
        }
    };
    store.close().await;
    result.context("rewrapping (the batches before this one are committed; run it again)")?;
    println!(
        "rewrapped: {resealed} values re-sealed, {indexed} tokens indexed in {batches} batches"
    );
    Ok(ExitCode::SUCCESS)
}

async fn retire(args: RetireArgs) -> anyhow::Result<ExitCode> {
    let path = existing_key_file(args.key.data_key.as_deref(), Some(&args.db))?;
    let store = open(&args.db, &path).await?;
    let checked = store.check_retire(&args.family, args.version).await;
    if let Err(e) = checked {
        store.close().await;
        return Err(e.into());
    }
    let mut keyring = read_keyring(&path)?;
    keyring.retire(&args.family, args.version)?;
    replace_key_file(&path, &keyring)?;
    let logged = log_key_event(
        &store,
        "keys.retire",
        format!("retired {} v{}", args.family, args.version),
    )
    .await;
    store.close().await;
    logged?;
    println!("retired {} v{}", args.family, args.version);
    eprintln!(
        "keep a copy of the old key file in escrow for as long as backups taken before the \
         rewrap are kept: their values are still sealed under v{}",
        args.version
    );
    Ok(ExitCode::SUCCESS)
}
