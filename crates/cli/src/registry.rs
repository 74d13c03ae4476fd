//! `yibao registry import police|identity|education|disability|death|retirement|tax FILE --db
//! URL` and `yibao registry check --db URL --year YYYY [--csv OUT]`: the department files of
//! docs/FEEDS.md into the registry (the tax bureau's payments matched to the assessments), and
//! the uninsured and duplicate findings of a year.
//!
//! An import prints one summary line, `taken N, matched M, refused R, created C, cases K`
//! (with `replayed, nothing written: ` in front when the same file was imported before), then
//! `line N: REASON` for each refused row and `case line N: KIND: REASON` for each case opened.
//! It exits 0 when the file was read (refused rows included) and 1 when the file as a whole
//! was refused (wrong header, unreadable), with nothing written.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use yibao_store::{FeedImport, FeedKind, FeedProgress, RosterImport, Store};

/// Feed files read at most (bytes): the rows limit of the store at about 100 bytes a row.
const FEED_FILE_BYTES_MAX: u64 = 1 << 30;

/// Arguments of `yibao registry import police|identity|education|disability`.
#[derive(clap::Args)]
pub struct ImportArgs {
    /// The CSV file (UTF-8, header line first; docs/FEEDS.md).
    file: PathBuf,
    /// Database URL (`sqlite://FILE?mode=rwc` or `postgres://…`).
    #[arg(long)]
    db: String,
    /// The sending department (default `police` for the police file, `civil_affairs` for the
    /// identity list).
    #[arg(long)]
    dept: Option<String>,
    /// Who runs the import, recorded with every event.
    #[arg(long, default_value = "cli")]
    actor: String,
    /// Today's date (`YYYY-MM-DD`, default the clock's UTC date): later dates are refused and
    /// police rows take effect on it.
    #[arg(long)]
    today: Option<String>,
    /// The region prefix (2, 4 or 6 digits of `admdvs`) an education roster or a disability
    /// list is matched in when a row has no usable identity number (name, birth date and sex;
    /// each such match is a case for a clerk). Without it such rows are unmatched cases.
    #[arg(long)]
    region: Option<String>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Print how long each stage took (read and check, match, write) on standard error.
    #[arg(long)]
    timings: bool,
}

/// Arguments of `yibao registry check`.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// Database URL (`sqlite://FILE?mode=rwc` or `postgres://…`).
    #[arg(long)]
    db: String,
    /// The year checked (a yearly run).
    #[arg(long, required_unless_present = "month", conflicts_with = "month")]
    year: Option<i32>,
    /// The month checked (`YYYY-MM`, a monthly run for the increments): the year of the
    /// month, as of the month's last day (or today, if earlier).
    #[arg(long)]
    month: Option<String>,
    /// Write the findings here as CSV (`certno,finding`).
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Today (`YYYY-MM-DD`; default today, UTC): the check's reference date is today held
    /// inside the year, and a duplicate's resident refund is refused once the benefit year has
    /// started.
    #[arg(long)]
    today: Option<String>,
    /// Open a follow-up for the county's grid workers for each uninsured person who has none
    /// for the year yet (§9.2 step 5).
    #[arg(long)]
    open_followups: bool,
}

/// A multi-threaded runtime for one command.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// A progress bar of a file's rows by stage on standard error (hidden with `quiet`).
fn rows_bar(quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg:>6} [{bar:40}] {pos}/{len} rows {elapsed}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar
}

/// The progress of an import: the bar, and when each stage began (for `--timings`).
struct ImportProgress {
    bar: ProgressBar,
    stages: std::sync::Mutex<Vec<(&'static str, std::time::Instant)>>,
}

impl ImportProgress {
    fn new(quiet: bool) -> Self {
        Self {
            bar: rows_bar(quiet),
            stages: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Moves the bar, noting when a new stage begins.
    fn update(&self, p: FeedProgress) {
        {
            let mut stages = self.stages.lock().expect("stage list lock");
            if stages.last().is_none_or(|(s, _)| *s != p.stage) {
                stages.push((p.stage, std::time::Instant::now()));
            }
        }
        if self.bar.length() != Some(p.total) {
            self.bar.set_length(p.total);
        }
        self.bar.set_message(p.stage);
        self.bar.set_position(p.done);
    }

    /// Clears the bar; with `timings`, prints each stage's wall time on standard error.
    fn finish(&self, timings: bool) {
        self.bar.finish_and_clear();
        if !timings {
            return;
        }
        let stages = self.stages.lock().expect("stage list lock");
        let ends = stages
            .iter()
            .skip(1)
            .map(|(_, t)| *t)
            .chain([std::time::Instant::now()]);
        let text: Vec<String> = stages
            .iter()
            .zip(ends)
            .map(|((stage, start), end)| format!("{stage} {:.1} s", (end - *start).as_secs_f64()))
            .collect();
        eprintln!("timings: {}", text.join(", "));
    }
}

/// Runs `yibao registry import police|identity|education|disability`.
pub fn import(kind: FeedKind, args: ImportArgs) -> anyhow::Result<ExitCode> {
    if args.region.is_some() && !kind.is_roster() {
        anyhow::bail!(
            "--region names where a roster's rows without an identity number are matched: \
             only `education` and `disability` take it"
        );
    }
    let now = utc_now()?;
    let today = match &args.today {
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .with_context(|| format!("--today {d} is not a date YYYY-MM-DD"))?,
        None => now.date(),
    };
    let size = std::fs::metadata(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?
        .len();
    if size > FEED_FILE_BYTES_MAX {
        anyhow::bail!(
            "{} has {size} bytes, at most {FEED_FILE_BYTES_MAX} are read: send it in parts",
            args.file.display()
        );
    }
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let imp = FeedImport {
        kind,
        file_name: args
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        source_dept: args
            .dept
            .clone()
            .unwrap_or_else(|| kind.default_dept().to_owned()),
        actor: args.actor.clone(),
        today,
        recorded_at: now,
    };
    let shown = ImportProgress::new(args.quiet);
    let progress = |p: FeedProgress| shown.update(p);
    let runtime = runtime()?;
    let report = runtime.block_on(async {
        let store = Store::connect(&args.db)
            .await
            .with_context(|| format!("opening the database {}", args.db))?;
        let report = if kind.is_roster() {
            let roster = RosterImport {
                feed: imp.clone(),
                region: args.region.clone().unwrap_or_default(),
            };
            store.import_roster(&roster, &bytes, &progress).await
        } else {
            store.import_feed(&imp, &bytes, &progress).await
        };
        // 免申即享: the categories an identity list starts give their decisions at once.
        let decided = match &report {
            Ok(r) if !r.replayed => {
                let params = yibao_enrollment::builtin::builtin_params()
                    .context("the shipped enrollment parameters")?;
                Some(
                    store
                        .decide_on_batch(&r.batch_id, &params, today, now)
                        .await
                        .context("taking the automatic decisions")?,
                )
            }
            _ => None,
        };
        store.close().await;
        anyhow::Ok((report, decided))
    })?;
    let (report, decided) = report;
    shown.finish(args.timings);
    let report = report.with_context(|| format!("{} refused as a whole", args.file.display()))?;
    let mut out = String::new();
    if report.replayed {
        out.push_str("replayed, nothing written: ");
    }
    out.push_str(&format!(
        "taken {}, matched {}, refused {}, created {}, cases {}\n",
        report.rows_taken,
        report.rows_matched,
        report.rows_refused,
        report.persons_created,
        report.cases_opened
    ));
    for r in &report.refusals {
        out.push_str(&format!("line {}: {}\n", r.line, r.reason));
    }
    for c in &report.cases {
        out.push_str(&format!("case line {}: {}: {}\n", c.line, c.kind, c.reason));
    }
    if let Some(auto) = decided.filter(|a| a.decided > 0 || !a.skipped.is_empty()) {
        out.push_str(&format!(
            "automatic decisions {} (subsidies {}, assistance {}, enrollments {}, newborns {})\n",
            auto.decided, auto.subsidies, auto.assistance, auto.enrollments, auto.newborns
        ));
        for (line, reason) in &auto.skipped {
            out.push_str(&format!("no decision line {line}: {reason}\n"));
        }
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// Runs `yibao registry check`.
pub fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let mut today = match &args.today {
        Some(d) => date_arg("today", d)?,
        None => utc_now()?.date(),
    };
    let year = match (&args.month, args.year) {
        (Some(month), _) => {
            let first = date_arg("month", &format!("{month}-01"))?;
            let last = first
                .checked_add_months(chrono::Months::new(1))
                .and_then(|d| d.pred_opt())
                .context("the month's last day")?;
            today = today.min(last);
            chrono::Datelike::year(&first)
        }
        (None, Some(year)) => year,
        (None, None) => anyhow::bail!("--year or --month is required"),
    };
    let runtime = runtime()?;
    let params = yibao_enrollment::builtin_params().context("the shipped enrollment parameters")?;
    let found = runtime.block_on(async {
        let store = Store::connect(&args.db)
            .await
            .with_context(|| format!("opening the database {}", args.db))?;
        let check = store.registry_check(year, today, &params).await?;
        let opened = if args.open_followups {
            Some(store.open_followups(&check, utc_now()?).await?)
        } else {
            None
        };
        // Each duplicate with the §10.2 decision: which relation stays, and the refund.
        let decisions = store.duplicate_decisions(year, &params, today).await;
        store.close().await;
        anyhow::Ok((check, opened, decisions?))
    })?;
    let (check, opened, decisions) = found;
    let findings = &check.findings;
    let uninsured = findings.iter().filter(|f| f.finding == "uninsured").count();
    let duplicate = findings.iter().filter(|f| f.finding == "duplicate").count();
    println!(
        "year {year} (as of {}): uninsured {uninsured}, duplicate {duplicate}",
        check.reference
    );
    print!("{}", coverage_table(&check));
    if let Some(opened) = opened {
        println!("opened {opened} follow-ups for the grid workers");
    }
    for d in &decisions {
        if d.keep.is_empty() {
            println!("duplicate {}: undecided: {}", d.certno, d.reason);
            continue;
        }
        let refund = match (&d.refund_to_person, &d.no_refund) {
            (Some(fen), _) => {
                let reversed: Vec<String> = d
                    .reversals
                    .iter()
                    .map(|(payer, amount)| format!("{payer} {}", amount))
                    .collect();
                format!(
                    "refund {} to the person{}",
                    fen,
                    if reversed.is_empty() {
                        String::new()
                    } else {
                        format!(", reversed {}", reversed.join(", "))
                    }
                )
            }
            (None, Some(why)) => format!("no refund: {why}"),
            (None, None) => "no refund".to_owned(),
        };
        println!(
            "duplicate {}: keep {}, end {} ({}: {}); {refund}",
            d.certno, d.keep, d.end, d.rule, d.reason
        );
    }
    if let Some(path) = &args.csv {
        let mut csv = String::from("certno,finding\n");
        for f in findings {
            csv.push_str(&format!("{},{}\n", f.certno, f.finding));
        }
        std::fs::write(path, csv).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `yibao registry transfer-out`.
#[derive(clap::Args)]
pub struct TransferOutArgs {
    /// Database URL (`sqlite://FILE?mode=rwc` or `postgres://…`).
    #[arg(long)]
    db: String,
    /// The person (人员编号).
    #[arg(long)]
    psn_no: String,
    /// The relation's insurance type (`310` or `390`).
    #[arg(long, default_value = "310")]
    insutype: String,
    /// The receiving region (six digits).
    #[arg(long)]
    to: String,
    /// The day the application was accepted (`YYYY-MM-DD`).
    #[arg(long)]
    accepted_on: String,
    /// The day the relation ends and the sheet leaves (`YYYY-MM-DD`; default: accepted_on).
    #[arg(long)]
    done_on: Option<String>,
    /// Write the information sheet (JSON) here.
    #[arg(long)]
    sheet_out: PathBuf,
}

/// Arguments of `yibao registry transfer-in`.
#[derive(clap::Args)]
pub struct TransferInArgs {
    /// The information sheet (JSON) the sending region wrote.
    sheet: PathBuf,
    /// Database URL (`sqlite://FILE?mode=rwc` or `postgres://…`).
    #[arg(long)]
    db: String,
    /// The day the sheet arrived (`YYYY-MM-DD`).
    #[arg(long)]
    received_on: String,
    /// The day it is loaded (`YYYY-MM-DD`; default: received_on).
    #[arg(long)]
    done_on: Option<String>,
}

fn date_arg(flag: &str, text: &str) -> anyhow::Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .with_context(|| format!("--{flag} {text} is not a date YYYY-MM-DD"))
}

/// The clock's time, UTC.
/// The time in China (UTC+8), read once per command: business dates are the region's local ones.
pub(crate) fn china_now() -> chrono::NaiveDateTime {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    chrono::DateTime::from_timestamp(i64::try_from(secs).unwrap_or(0) + 8 * 3600, 0)
        .map(|t| t.naive_utc())
        .unwrap_or_default()
}

pub(crate) fn utc_now() -> anyhow::Result<chrono::NaiveDateTime> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the clock is before 1970")?
        .as_secs();
    Ok(chrono::DateTime::from_timestamp(i64::try_from(secs)?, 0)
        .context("the clock is out of range")?
        .naive_utc())
}

fn print_transfer(side: &str, r: &yibao_store::transfer::TransferReport) {
    println!(
        "{side} {}: months {} actual, {} deemed; balance {}; due {}, done {}{}",
        r.transfer_id,
        r.months_actual,
        r.months_deemed,
        r.balance,
        r.due_on,
        r.done_on,
        if r.late { " (late)" } else { "" }
    );
}

/// Runs `yibao registry transfer-out`.
pub fn transfer_out(args: TransferOutArgs) -> anyhow::Result<ExitCode> {
    let accepted_on = date_arg("accepted-on", &args.accepted_on)?;
    let done_on = match &args.done_on {
        Some(d) => date_arg("done-on", d)?,
        None => accepted_on,
    };
    let params = yibao_enrollment::builtin_params().context("the shipped enrollment parameters")?;
    let calendar = yibao_enrollment::builtin_calendar().context("the shipped holiday calendar")?;
    let now = utc_now()?;
    let out = yibao_store::transfer::TransferOut {
        psn_no: args.psn_no.clone(),
        insutype: args.insutype.clone(),
        to_admdvs: args.to.clone(),
        accepted_on,
        done_on,
    };
    let report = runtime()?.block_on(async {
        let store = Store::connect(&args.db)
            .await
            .with_context(|| format!("opening the database {}", args.db))?;
        let report = store.transfer_out(&out, &params, &calendar, now).await;
        store.close().await;
        anyhow::Ok(report?)
    })?;
    std::fs::write(&args.sheet_out, &report.sheet)
        .with_context(|| format!("writing {}", args.sheet_out.display()))?;
    print_transfer("sent", &report);
    println!("wrote {}", args.sheet_out.display());
    Ok(ExitCode::SUCCESS)
}

/// Runs `yibao registry transfer-in`.
pub fn transfer_in(args: TransferInArgs) -> anyhow::Result<ExitCode> {
    let received_on = date_arg("received-on", &args.received_on)?;
    let done_on = match &args.done_on {
        Some(d) => date_arg("done-on", d)?,
        None => received_on,
    };
    let meta = std::fs::metadata(&args.sheet)
        .with_context(|| format!("reading {}", args.sheet.display()))?;
    anyhow::ensure!(
        meta.len() <= 1_000_000,
        "{}: an information sheet is at most 1 MB",
        args.sheet.display()
    );
    let sheet = std::fs::read_to_string(&args.sheet)
        .with_context(|| format!("reading {}", args.sheet.display()))?;
    let params = yibao_enrollment::builtin_params().context("the shipped enrollment parameters")?;
    let calendar = yibao_enrollment::builtin_calendar().context("the shipped holiday calendar")?;
    let now = utc_now()?;
    let report = runtime()?.block_on(async {
        let store = Store::connect(&args.db)
            .await
            .with_context(|| format!("opening the database {}", args.db))?;
        let report = store
            .transfer_in(&sheet, received_on, done_on, &params, &calendar, now)
            .await;
        store.close().await;
        anyhow::Ok(report?)
    })?;
    print_transfer("loaded", &report);
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `yibao registry chronic-proposals`.
#[derive(clap::Args)]
pub struct ChronicArgs {
    /// Database URL (`sqlite://FILE?mode=rwc` or `postgres://…`).
    #[arg(long)]
    db: String,
    /// First upload day of the settlement lists read (`YYYY-MM-DD`).
    #[arg(long)]
    from: String,
    /// Last upload day (`YYYY-MM-DD`, inclusive).
    #[arg(long)]
    to: String,
}

/// Runs `yibao registry chronic-proposals`.
pub fn chronic_proposals(args: ChronicArgs) -> anyhow::Result<ExitCode> {
    let from = date_arg("from", &args.from)?;
    let to = date_arg("to", &args.to)?;
    let list = yibao_enrollment::chronic::builtin_chronic_list()
        .context("the shipped chronic-disease list")?;
    let now = utc_now()?;
    let report = runtime()?.block_on(async {
        let store = Store::connect(&args.db)
            .await
            .with_context(|| format!("opening the database {}", args.db))?;
        let report = store.propose_chronic(from, to, &list, now).await;
        store.close().await;
        anyhow::Ok(report?)
    })?;
    println!(
        "settlement lists {from}..{to}: {} read, {} chronic recognitions proposed for review",
        report.records, report.chronic_proposals
    );
    for (_, reason) in &report.skipped {
        println!("not read: {reason}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `yibao registry import death`: records the department's reports and acts on the deaths
/// now confirmed (spec §8.3: the police, two departments, or the window).
pub fn import_deaths(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let dept = args
        .dept
        .clone()
        .context("--dept is required for a death list: police, health or civil_affairs")?;
    let now = utc_now()?;
    let today = match &args.today {
        Some(d) => date_arg("today", d)?,
        None => now.date(),
    };
    let size = std::fs::metadata(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?
        .len();
    anyhow::ensure!(
        size <= FEED_FILE_BYTES_MAX,
        "{} has {size} bytes, at most {FEED_FILE_BYTES_MAX} are read: send it in parts",
        args.file.display()
    );
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("{}: not UTF-8 ({e})", args.file.display()))?;
    let source_ref = yibao_store::feed::digest(text.as_bytes());
    let report = runtime()?.block_on(async {
        let store = Store::connect(&args.db)
            .await
            .with_context(|| format!("opening the database {}", args.db))?;
        let report = store
            .import_deaths(&text, &dept, &source_ref, today, now)
            .await;
        store.close().await;
        anyhow::Ok(report?)
    })?;
    println!(
        "recorded {}, refused {}, acted on {}, waiting {}",
        report.recorded,
        report.refused.len(),
        report.confirmed.len(),
        report.pending
    );
    for (line, reason) in &report.refused {
        println!("line {line}: {reason}");
    }
    for death in &report.confirmed {
        println!(
            "death {} on {} ({}): {} relations ended; {} settlements after it for audit{}",
            death.psn_no,
            death.death_date,
            death.basis,
            death.relations_ended,
            death.settlements_after.len(),
            if death.settlements_after.is_empty() {
                String::new()
            } else {
                format!(": {}", death.settlements_after.join(", "))
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `yibao registry import retirement`: each approval becomes a retiree segment when the
/// contribution years are met, or a notice of the one-off back-payment when short.
pub fn import_retirements(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let now = utc_now()?;
    let today = match &args.today {
        Some(d) => date_arg("today", d)?,
        None => now.date(),
    };
    let size = std::fs::metadata(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?
        .len();
    anyhow::ensure!(
        size <= FEED_FILE_BYTES_MAX,
        "{} has {size} bytes, at most {FEED_FILE_BYTES_MAX} are read: send it in parts",
        args.file.display()
    );
    let text = String::from_utf8(
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?,
    )
    .map_err(|e| anyhow::anyhow!("{}: not UTF-8 ({e})", args.file.display()))?;
    let source_ref = yibao_store::feed::digest(text.as_bytes());
    let params = yibao_enrollment::builtin_params().context("the shipped enrollment parameters")?;
    let report = runtime()?.block_on(async {
        let store = Store::connect(&args.db)
            .await
            .with_context(|| format!("opening the database {}", args.db))?;
        let report = store
            .import_retirements(&text, &source_ref, &params, today, now)
            .await;
        store.close().await;
        anyhow::Ok(report?)
    })?;
    println!(
        "retired {}, short of years {}, refused {}, decided before {}",
        report.retired.len(),
        report.short.len(),
        report.refused.len(),
        report.decided_before
    );
    for (line, reason) in &report.refused {
        println!("line {line}: {reason}");
    }
    for (psn_no, from) in &report.retired {
        println!("retiree {psn_no} from {from}");
    }
    for (psn_no, months, amount) in &report.short {
        println!(
            "short {psn_no}: {months} months, one-off back-payment {}",
            amount
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The coverage report (§9.2 step 6), a line per county and the total: base, insured by
/// scheme, uninsured by reason, duplicates, the coverage rate and the subsidy-category persons
/// enrolled.
pub fn coverage_table(check: &yibao_store::coverage::RegistryCheck) -> String {
    let percent = |bp: Option<u64>| match bp {
        Some(bp) => format!("{}.{:02}%", bp / 100, bp % 100),
        None => "-".to_owned(),
    };
    let mut out = String::from("county  base  insured(310/390)  coverage  duplicate  category-enrolled  uninsured by reason\n");
    let total = check.total();
    for c in check.counties.iter().chain(std::iter::once(&total)) {
        let reasons: Vec<String> = c
            .uninsured
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        out.push_str(&format!(
            "{}  {}  {} ({}/{})  {}  {}  {}/{} {}  {}\n",
            if c.admdvs.is_empty() { "-" } else { &c.admdvs },
            c.base,
            c.insured(),
            c.insured_employee,
            c.insured_resident,
            percent(c.coverage_bp()),
            c.duplicate,
            c.category_insured,
            c.category_persons,
            percent(c.category_bp()),
            if reasons.is_empty() {
                "none".to_owned()
            } else {
                reasons.join(", ")
            },
        ));
    }
    out
}

/// Runs `yibao registry import tax`: the tax bureau's payment records (缴费到账) matched to the
/// persons' assessments, and the residents' benefit periods they complete (docs/FEEDS.md).
pub fn import_tax(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let now = utc_now()?;
    let today = match &args.today {
        Some(d) => date_arg("today", d)?,
        None => now.date(),
    };
    let size = std::fs::metadata(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?
        .len();
    anyhow::ensure!(
        size <= FEED_FILE_BYTES_MAX,
        "{} has {size} bytes, at most {FEED_FILE_BYTES_MAX} are read: send it in parts",
        args.file.display()
    );
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let imp = yibao_store::tax::TaxImport {
        file_name: args
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        actor: args.actor.clone(),
        today,
        recorded_at: now,
    };
    let params = yibao_enrollment::builtin_params().context("the shipped enrollment parameters")?;
    let shown = ImportProgress::new(args.quiet);
    let progress = |p: FeedProgress| shown.update(p);
    let report = runtime()?.block_on(async {
        let store = Store::connect(&args.db)
            .await
            .with_context(|| format!("opening the database {}", args.db))?;
        let report = store.import_tax(&imp, &bytes, &params, &progress).await;
        store.close().await;
        anyhow::Ok(report)
    })?;
    shown.finish(args.timings);
    let report = report.with_context(|| format!("{} refused as a whole", args.file.display()))?;
    print!("{}", tax_report_text(&report));
    Ok(ExitCode::SUCCESS)
}

/// The text of a tax import: the counts, then a line per refused row and per undecided period.
pub(crate) fn tax_report_text(report: &yibao_store::tax::TaxReport) -> String {
    let mut out = String::new();
    if report.replayed {
        out.push_str("replayed, nothing written: ");
    }
    out.push_str(&format!(
        "taken {}, matched {}, refused {}, payments {} ({}), benefit periods {} (waiting {})\n",
        report.rows_taken,
        report.rows_matched,
        report.rows_refused,
        report.payments,
        report.amount,
        report.benefit_periods,
        report.waiting
    ));
    for r in &report.refusals {
        out.push_str(&format!("line {}: {}\n", r.line, r.reason));
    }
    for (psn_no, reason) in &report.undecided {
        out.push_str(&format!("no benefit period {psn_no}: {reason}\n"));
    }
    out
}
