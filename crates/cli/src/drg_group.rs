//! `yibao drg group FILE`: group JSONL inpatient records with CHS-DRG 1.1, streaming.
//!
//! Reads one JSON object a line (the fields of `testcases.jsonl`; other fields are ignored) and
//! writes one JSON line per case with `id`, `status`, `mdc`, `adrg` and `drg`, in input order.
//! Memory stays constant: lines are read in fixed-size chunks, a fixed number of chunks is in
//! flight, and every buffer is reused. Bad lines are reported on stderr with their line number
//! and skipped; the exit code is non-zero only when the input cannot be read or the output
//! cannot be written.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::Mutex;

use anyhow::Context as _;
use yibao_drg::{
    group, parse_case_json_into, AdrgIdx, AmbiguousCheck, CaseId, CaseInput, CaseRecord, CodeMap,
    CodeMapFiles, GroupConfig, GroupResult, GroupStatus, MdcIdx, Scheme, SchemeFiles,
    UnmappedCodes,
};

/// Lines per chunk handed to a worker thread.
const CHUNK_LINES: usize = 2048;
/// A chunk stops taking lines once it holds this many bytes (so a chunk of long lines stays
/// small; at most this plus one line of [`LINE_BYTES_MAX`]).
const CHUNK_BYTES: usize = 1 << 20;
/// Threads beyond this are refused: the work is CPU-bound and the machine count is small.
const THREADS_MAX: usize = 256;
/// Longer lines are reported as bad and skipped, so one runaway line cannot take the memory.
const LINE_BYTES_MAX: usize = 1 << 20;
/// Bad lines reported one by one on stderr; after that only the count.
const BAD_LINES_REPORTED_MAX: u64 = 1000;

/// QY (歧义组) check choice on the command line.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum QyMode {
    /// Never (the reference grouper).
    Off,
    /// Where the scheme's `enabled` flag says so.
    Scheme,
    /// In every MDC that has a check.
    Always,
}

/// How to treat codes without a row in the code maps.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum TranslateMode {
    /// The case gets the reference grouper's "cannot translate" status.
    Reject,
    /// The code is kept as it is.
    Keep,
}

/// Arguments of `yibao drg group`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// JSONL file of cases, or `-` for standard input.
    pub file: PathBuf,
    /// Directory with the CHS-DRG 1.1 tables [default: the checkout's `data/chs-drg-1.1`, else the
    /// copy compiled into the binary].
    #[arg(long)]
    pub scheme_dir: Option<PathBuf>,
    /// Directory with the code maps, used by `--translate` [default: the checkout's `data/codes`].
    #[arg(long)]
    pub codes_dir: Option<PathBuf>,
    /// Translate codes of other editions through the code maps before grouping.
    #[arg(long, value_enum)]
    pub translate: Option<TranslateMode>,
    /// Worker threads; chunks are grouped in parallel and written in input order.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Add each case's trace (MDCs entered, rule matched, CC source, exclusions).
    #[arg(long)]
    pub trace: bool,
    /// QY (歧义组) check.
    #[arg(long, value_enum, default_value = "off")]
    pub qy: QyMode,
    /// Let surgical ADRGs accept a listed procedure in any position, not only the main one.
    #[arg(long)]
    pub any_position_surgical: bool,
    /// Do not fall through to the next MDC when no ADRG of an entered MDC matches.
    #[arg(long)]
    pub no_fall_through: bool,
    /// Write results here instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// Finds a data directory of the checkout when none is given: under the current directory,
/// next to the executable's ancestors (a `target/` build inside a checkout), then the checkout
/// this binary was built from. `None` when none of them exists.
pub fn find_data_dir(name: &str) -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from("data").join(name)];
    if let Ok(exe) = std::env::current_exe() {
        for ancestor in exe.ancestors().skip(1).take(4) {
            candidates.push(ancestor.join("data").join(name));
        }
    }
    candidates.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../data")
            .join(name),
    );
    candidates.into_iter().find(|dir| dir.is_dir())
}

/// The CHS-DRG 1.1 scheme: from `dir` when given, else from the checkout's
/// `data/chs-drg-1.1`, else the copy of those same files compiled into the binary (so that a
/// binary moved away from its checkout still groups).
pub fn scheme_for(dir: Option<&Path>) -> anyhow::Result<Scheme> {
    match dir
        .map(Path::to_path_buf)
        .or_else(|| find_data_dir("chs-drg-1.1"))
    {
        Some(dir) => load_scheme(&dir),
        None => Scheme::load(&SchemeFiles::CARRIED)
            .context("loading the DRG scheme compiled into the binary"),
    }
}

fn read_text(dir: &Path, name: &str) -> anyhow::Result<String> {
    let path = dir.join(name);
    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
}

/// Reads and compiles the scheme in `dir`.
fn load_scheme(dir: &Path) -> anyhow::Result<Scheme> {
    let mdc_json = read_text(dir, SchemeFiles::MDC_JSON)?;
    let adrg_json = read_text(dir, SchemeFiles::ADRG_JSON)?;
    let mcc_cc_json = read_text(dir, SchemeFiles::MCC_CC_JSON)?;
    let exclusions_json = read_text(dir, SchemeFiles::EXCLUSIONS_JSON)?;
    let drg_names_csv = read_text(dir, SchemeFiles::DRG_NAMES_CSV)?;
    let or_procedures_csv = read_text(dir, SchemeFiles::OR_PROCEDURES_CSV)?;
    Scheme::load(&SchemeFiles {
        mdc_json: &mdc_json,
        adrg_json: &adrg_json,
        mcc_cc_json: &mcc_cc_json,
        exclusions_json: &exclusions_json,
        drg_names_csv: &drg_names_csv,
        or_procedures_csv: &or_procedures_csv,
    })
    .with_context(|| format!("loading the DRG scheme from {}", dir.display()))
}

fn load_code_map(dir: &Path) -> anyhow::Result<CodeMap> {
    let diagnosis_csv = read_text(dir, CodeMapFiles::DIAGNOSIS_CSV)?;
    let procedure_csv = read_text(dir, CodeMapFiles::PROCEDURE_CSV)?;
    CodeMap::load(&CodeMapFiles {
        diagnosis_csv: &diagnosis_csv,
        procedure_csv: &procedure_csv,
    })
    .with_context(|| format!("loading the code maps from {}", dir.display()))
}

/// Everything a worker needs, shared read-only between threads.
struct Job<'a> {
    scheme: &'a Scheme,
    config: GroupConfig,
    translate: Option<(&'a CodeMap, UnmappedCodes)>,
    trace: bool,
}

/// Per-status counts for the summary line.
#[derive(Default, Clone, Copy)]
struct Counts {
    grouped: u64,
    ungroupable: u64,
    ambiguous: u64,
    invalid: u64,
    untranslatable: u64,
    bad_lines: u64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.grouped += other.grouped;
        self.ungroupable += other.ungroupable;
        self.ambiguous += other.ambiguous;
        self.invalid += other.invalid;
        self.untranslatable += other.untranslatable;
        self.bad_lines += other.bad_lines;
    }

    fn cases(&self) -> u64 {
        self.grouped + self.ungroupable + self.ambiguous + self.invalid + self.untranslatable
    }
}

/// A worker's reusable scratch space.
#[derive(Default)]
struct Scratch {
    input: CaseInput,
    /// Per DRG, the output after the id of a case grouped to it (without `--trace`), written
    /// once and then copied: a grouped case's status, MDC and ADRG follow from its DRG.
    grouped_tails: Vec<Option<GroupedTail>>,
}

/// The output fields of a grouped case, kept with the MDC and ADRG they were written for.
struct GroupedTail {
    mdc: Option<MdcIdx>,
    adrg: Option<AdrgIdx>,
    bytes: Vec<u8>,
}

/// Writes `,"status":…,"drg":"…"` of a result.
fn write_fields(out: &mut Vec<u8>, scheme: &Scheme, result: &GroupResult) {
    // The codes come from the scheme (checked ASCII-free of quotes by the format) and the
    // status strings are constants, so they are written without escaping or formatting.
    for (key, value) in [
        (&b",\"status\":\""[..], result.status.as_str()),
        (b"\",\"mdc\":\"", result.mdc_code(scheme)),
        (b"\",\"adrg\":\"", result.adrg_code(scheme)),
        (b"\",\"drg\":\"", result.drg_code(scheme)),
    ] {
        out.extend_from_slice(key);
        out.extend_from_slice(value.as_bytes());
    }
    out.push(b'"');
}

fn write_id(out: &mut Vec<u8>, id: &Option<CaseId>) {
    match id {
        None => out.extend_from_slice(b"null"),
        Some(CaseId::Number(number)) => {
            let _ = write!(out, "{number}");
        }
        // An id without quotes, backslashes or control characters is written as it is (what
        // serde_json would write too); anything else goes through serde_json's escaping.
        Some(CaseId::Text(text)) if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') => {
            out.push(b'"');
            out.extend_from_slice(text.as_bytes());
            out.push(b'"');
        }
        Some(CaseId::Text(text)) => {
            serde_json::to_writer(&mut *out, text).expect("writing a string to a Vec cannot fail");
        }
    }
}

fn write_trace(out: &mut Vec<u8>, scheme: &Scheme, record: &CaseRecord, result: &GroupResult) {
    let mut trace = serde_json::Map::new();
    if let GroupStatus::Invalid(reason) = result.status {
        trace.insert("invalid_reason".into(), reason.as_str().into());
    }
    let entered: Vec<serde_json::Value> = result
        .trace
        .mdcs_entered()
        .map(|mdc| scheme.mdc(mdc).code.clone().into())
        .collect();
    trace.insert("mdcs_entered".into(), entered.into());
    if let Some(mdc) = result.mdc {
        trace.insert(
            "entry_condition".into(),
            scheme.mdc(mdc).entry_condition.clone().into(),
        );
    }
    if let Some(adrg) = result.adrg {
        let info = scheme.adrg(adrg);
        trace.insert("adrg_rule".into(), info.rule_text.clone().into());
        trace.insert("adrg_condition".into(), info.condition.clone().into());
    }
    if !matches!(result.status, GroupStatus::Invalid(_)) {
        trace.insert("cc_level".into(), result.cc_level.as_str().into());
    }
    let code_at = |idx: usize| record.diagnoses.get(idx).cloned().unwrap_or_default();
    if let Some(source) = result.trace.cc_source {
        trace.insert(
            "cc_source".into(),
            serde_json::json!({
                "position": source.diagnosis_idx,
                "code": code_at(source.diagnosis_idx),
                "level": source.level.as_str(),
            }),
        );
    }
    if let Some(excluded) = result.trace.cc_excluded {
        trace.insert(
            "cc_excluded".into(),
            serde_json::json!({
                "position": excluded.diagnosis_idx,
                "code": code_at(excluded.diagnosis_idx),
                "level": excluded.level.as_str(),
                "exclusion_table": scheme.exclusion_table_name(excluded.table),
                "count": result.trace.n_cc_excluded,
            }),
        );
    }
    out.extend_from_slice(b",\"trace\":");
    serde_json::to_writer(&mut *out, &trace).expect("writing JSON to a Vec cannot fail");
}

/// The UTF-8 byte-order mark.
const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Groups one line, appending its output line to `out` or its error to `errors`.
fn process_line(
    job: &Job<'_>,
    scratch: &mut Scratch,
    line_no: u64,
    line: &[u8],
    out: &mut Vec<u8>,
    errors: &mut Vec<String>,
    counts: &mut Counts,
) {
    let Scratch {
        input,
        grouped_tails,
    } = scratch;
    let mut line = match line.last() {
        Some(b'\n') => &line[..line.len() - 1],
        _ => line,
    };
    // A file saved with a byte-order mark (as some Windows tools write UTF-8) starts with one.
    if line_no == 1 {
        line = line.strip_prefix(UTF8_BOM).unwrap_or(line);
    }
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    let text = match std::str::from_utf8(line) {
        Ok(text) => text,
        Err(error) => {
            counts.bad_lines += 1;
            errors.push(format!("line {line_no}: not UTF-8 ({error})"));
            return;
        }
    };
    if let Err(error) = parse_case_json_into(text, input) {
        counts.bad_lines += 1;
        errors.push(format!("line {line_no}: {error}"));
        return;
    }
    out.extend_from_slice(b"{\"id\":");
    write_id(out, &input.id);
    let translated;
    let record = match job.translate {
        None => &input.record,
        Some((map, unmapped)) => match map.translate(&input.record, unmapped) {
            Ok(record) => {
                translated = record;
                &translated
            }
            Err(error) => {
                counts.untranslatable += 1;
                let _ = write!(
                    out,
                    ",\"status\":\"{}\",\"mdc\":\"0000\",\"adrg\":\"00\",\"drg\":\"0000\"",
                    error.status_str()
                );
                if job.trace {
                    out.extend_from_slice(b",\"trace\":");
                    serde_json::to_writer(
                        &mut *out,
                        &serde_json::json!({ "translate_error": error.to_string() }),
                    )
                    .expect("writing JSON to a Vec cannot fail");
                }
                out.extend_from_slice(b"}\n");
                return;
            }
        },
    };
    let result = group(record, job.scheme, &job.config);
    match result.status {
        GroupStatus::Grouped => counts.grouped += 1,
        GroupStatus::Ungroupable => counts.ungroupable += 1,
        GroupStatus::Ambiguous => counts.ambiguous += 1,
        GroupStatus::Invalid(_) => counts.invalid += 1,
    }
    if let (false, GroupStatus::Grouped, Some(drg)) = (job.trace, result.status, result.drg) {
        if grouped_tails.len() <= drg.index() {
            grouped_tails.resize_with(drg.index() + 1, || None);
        }
        let tail = &mut grouped_tails[drg.index()];
        if tail
            .as_ref()
            .is_none_or(|tail| tail.mdc != result.mdc || tail.adrg != result.adrg)
        {
            let mut bytes = Vec::new();
            write_fields(&mut bytes, job.scheme, &result);
            bytes.extend_from_slice(b"}\n");
            *tail = Some(GroupedTail {
                mdc: result.mdc,
                adrg: result.adrg,
                bytes,
            });
        }
        if let Some(tail) = tail {
            out.extend_from_slice(&tail.bytes);
        }
        return;
    }
    write_fields(out, job.scheme, &result);
    if job.trace {
        write_trace(out, job.scheme, record, &result);
    }
    out.extend_from_slice(b"}\n");
}

/// Where a line of a chunk is.
#[derive(Clone, Copy)]
enum LineSpan {
    /// `data[start..end]`, with its newline if it had one.
    Text { start: usize, end: usize },
    /// Longer than [`LINE_BYTES_MAX`]: not kept, reported.
    TooLong,
}

/// A chunk of input lines and, once processed, their output.
#[derive(Default)]
struct Chunk {
    seq: u64,
    first_line_no: u64,
    /// The chunk's lines, one after the other.
    data: Vec<u8>,
    lines: Vec<LineSpan>,
    out: Vec<u8>,
    errors: Vec<String>,
    counts: Counts,
}

impl Chunk {
    fn process(&mut self, job: &Job<'_>, scratch: &mut Scratch) {
        self.out.clear();
        self.errors.clear();
        self.counts = Counts::default();
        for (line_idx, span) in self.lines.iter().enumerate() {
            let line_no = self.first_line_no + line_idx as u64;
            match *span {
                LineSpan::TooLong => {
                    self.counts.bad_lines += 1;
                    self.errors.push(format!(
                        "line {line_no}: longer than {LINE_BYTES_MAX} bytes"
                    ));
                }
                LineSpan::Text { start, end } => process_line(
                    job,
                    scratch,
                    line_no,
                    &self.data[start..end],
                    &mut self.out,
                    &mut self.errors,
                    &mut self.counts,
                ),
            }
        }
    }

    /// Reads lines until the chunk holds [`CHUNK_LINES`] of them or [`CHUNK_BYTES`] bytes;
    /// returns false at the end of the input. A line longer than [`LINE_BYTES_MAX`] is read
    /// past without being kept. Each buffer the reader hands over is searched for newlines
    /// and its complete lines are taken in one go.
    fn fill(&mut self, input: &mut dyn BufRead, next_line_no: &mut u64) -> io::Result<bool> {
        self.first_line_no = *next_line_no;
        self.data.clear();
        self.lines.clear();
        // The line being read: where it starts in `data`, whether any of it has been read,
        // and whether it has grown past the limit (its bytes are then dropped).
        let mut start = 0;
        let mut partial = false;
        let mut too_long = false;
        loop {
            let buffer = input.fill_buf()?;
            if buffer.is_empty() {
                if partial {
                    // The last line has no newline.
                    self.end_line(start, too_long, next_line_no);
                }
                break;
            }
            let mut taken = 0;
            let mut full = false;
            while !full {
                let rest = &buffer[taken..];
                let (take, line_ends) = match memchr::memchr(b'\n', rest) {
                    Some(pos) => (pos + 1, true),
                    None => (rest.len(), false),
                };
                if !too_long {
                    let content = self.data.len() - start + take - usize::from(line_ends);
                    if content > LINE_BYTES_MAX {
                        too_long = true;
                        self.data.truncate(start);
                    } else {
                        self.data.extend_from_slice(&rest[..take]);
                    }
                }
                taken += take;
                if !line_ends {
                    partial = true;
                    break;
                }
                self.end_line(start, too_long, next_line_no);
                start = self.data.len();
                partial = false;
                too_long = false;
                full = self.lines.len() >= CHUNK_LINES || self.data.len() >= CHUNK_BYTES;
            }
            input.consume(taken);
            if full {
                break;
            }
        }
        Ok(!self.lines.is_empty())
    }

    /// Records the line that began at `data[start]` and ends where `data` does.
    fn end_line(&mut self, start: usize, too_long: bool, next_line_no: &mut u64) {
        *next_line_no += 1;
        self.lines.push(if too_long {
            LineSpan::TooLong
        } else {
            LineSpan::Text {
                start,
                end: self.data.len(),
            }
        });
    }
}

/// Writes a processed chunk and reports its bad lines.
fn emit(
    chunk: &Chunk,
    output: &mut dyn Write,
    totals: &mut Counts,
    reported: &mut u64,
) -> io::Result<()> {
    output.write_all(&chunk.out)?;
    let stderr = io::stderr();
    let mut stderr = stderr.lock();
    for error in &chunk.errors {
        if *reported < BAD_LINES_REPORTED_MAX {
            let _ = writeln!(stderr, "{error}");
        }
        *reported += 1;
    }
    totals.add(&chunk.counts);
    Ok(())
}

fn run_single(
    job: &Job<'_>,
    input: &mut dyn BufRead,
    output: &mut dyn Write,
) -> anyhow::Result<Counts> {
    let mut chunk = Chunk::default();
    let mut scratch = Scratch::default();
    let mut totals = Counts::default();
    let mut reported = 0;
    let mut next_line_no = 1;
    while chunk
        .fill(input, &mut next_line_no)
        .context("reading the input")?
    {
        chunk.process(job, &mut scratch);
        emit(&chunk, output, &mut totals, &mut reported).context("writing the output")?;
    }
    Ok(totals)
}

fn run_threads(
    job: &Job<'_>,
    threads: usize,
    input: &mut (dyn BufRead + Send),
    output: &mut dyn Write,
) -> anyhow::Result<Counts> {
    // A fixed pool of chunks circulates: reader → workers → writer → reader. The pool size bounds
    // memory no matter how uneven the workers are.
    let pool_size = threads * 2 + 2;
    let (free_tx, free_rx) = mpsc::sync_channel::<Chunk>(pool_size);
    for _ in 0..pool_size {
        free_tx
            .send(Chunk::default())
            .expect("the pool channel has room for every chunk");
    }
    let (work_tx, work_rx) = mpsc::channel::<Chunk>();
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = mpsc::channel::<Chunk>();

    std::thread::scope(|scope| -> anyhow::Result<Counts> {
        let reader = scope.spawn(move || -> io::Result<()> {
            let mut next_line_no = 1;
            let mut seq = 0;
            while let Ok(mut chunk) = free_rx.recv() {
                if !chunk.fill(input, &mut next_line_no)? {
                    break;
                }
                chunk.seq = seq;
                seq += 1;
                if work_tx.send(chunk).is_err() {
                    break;
                }
            }
            Ok(())
        });
        for _ in 0..threads {
            let work_rx = &work_rx;
            let done_tx = done_tx.clone();
            scope.spawn(move || {
                let mut scratch = Scratch::default();
                loop {
                    let next = work_rx
                        .lock()
                        .expect("no worker panics holding the lock")
                        .recv();
                    let Ok(mut chunk) = next else { break };
                    chunk.process(job, &mut scratch);
                    if done_tx.send(chunk).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);

        let mut totals = Counts::default();
        let mut reported = 0;
        let mut waiting: BTreeMap<u64, Chunk> = BTreeMap::new();
        let mut next_seq = 0;
        let mut write_result = Ok(());
        for chunk in done_rx.iter() {
            waiting.insert(chunk.seq, chunk);
            while let Some(chunk) = waiting.remove(&next_seq) {
                if write_result.is_ok() {
                    write_result = emit(&chunk, output, &mut totals, &mut reported);
                }
                next_seq += 1;
                // After a write error the reader stops when the pool runs dry.
                if write_result.is_ok() {
                    let _ = free_tx.send(chunk);
                }
            }
            if write_result.is_err() {
                break;
            }
        }
        drop(free_tx);
        drop(done_rx);
        let read_result = reader.join().expect("the reader thread does not panic");
        write_result.context("writing the output")?;
        read_result.context("reading the input")?;
        Ok(totals)
    })
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.threads == 0 || args.threads > THREADS_MAX {
        anyhow::bail!(
            "--threads: must be between 1 and {THREADS_MAX}, got {}",
            args.threads
        );
    }
    let scheme = scheme_for(args.scheme_dir.as_deref())?;
    let code_map = match args.translate {
        None => None,
        Some(_) => {
            let codes_dir = args
                .codes_dir
                .clone()
                .or_else(|| find_data_dir("codes"))
                .unwrap_or_else(|| PathBuf::from("data/codes"));
            Some(load_code_map(&codes_dir)?)
        }
    };
    let job = Job {
        scheme: &scheme,
        config: GroupConfig {
            ambiguous_check: match args.qy {
                QyMode::Off => AmbiguousCheck::Off,
                QyMode::Scheme => AmbiguousCheck::AsScheme,
                QyMode::Always => AmbiguousCheck::Always,
            },
            surgical_main_procedure_only: !args.any_position_surgical,
            mdc_fall_through: !args.no_fall_through,
        },
        translate: code_map.as_ref().zip(args.translate.map(|mode| match mode {
            TranslateMode::Reject => UnmappedCodes::Reject,
            TranslateMode::Keep => UnmappedCodes::Keep,
        })),
        trace: args.trace,
    };

    let mut input: Box<dyn BufRead + Send> = if args.file.as_os_str() == "-" {
        Box::new(BufReader::with_capacity(1 << 16, io::stdin()))
    } else {
        let file =
            File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
        Box::new(BufReader::with_capacity(1 << 16, file))
    };
    let mut output: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::with_capacity(
            1 << 16,
            File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(BufWriter::with_capacity(1 << 16, io::stdout().lock())),
    };
    let totals = if args.threads == 1 {
        run_single(&job, &mut *input, &mut *output)
    } else {
        run_threads(&job, args.threads, &mut *input, &mut *output)
    };
    let totals = totals.and_then(|totals| {
        output.flush().context("writing the output")?;
        Ok(totals)
    });
    let totals = match totals {
        Ok(totals) => totals,
        // A reader that stops early (`| head`) is not an error of ours.
        Err(error) if is_broken_pipe(&error) => return Ok(ExitCode::SUCCESS),
        Err(error) => return Err(error),
    };
    eprintln!(
        "drg group: {} cases ({} 分组成功, {} 无法入组, {} 信息校验不通过, {} 歧义病案, {} not translatable), {} bad lines skipped",
        totals.cases(),
        totals.grouped,
        totals.ungroupable,
        totals.invalid,
        totals.ambiguous,
        totals.untranslatable,
        totals.bad_lines,
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_written_as_serde_json_writes_them() {
        let texts = [
            "D00001",
            "",
            "a\"b",
            "back\\slash",
            "tab\t",
            "\u{1f}",
            "中文",
            "\u{7f}",
        ];
        let ids = texts
            .iter()
            .map(|text| Some(CaseId::Text((*text).to_owned())))
            .chain([
                None,
                Some(CaseId::Number(-17)),
                Some(CaseId::Number(i64::MAX)),
            ]);
        for id in ids {
            let mut out = Vec::new();
            write_id(&mut out, &id);
            let want = match &id {
                None => "null".to_owned(),
                Some(CaseId::Text(text)) => serde_json::to_string(text).unwrap(),
                Some(CaseId::Number(number)) => serde_json::to_string(number).unwrap(),
            };
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }
}
