//! Department feeds into the registry (docs/FEEDS.md; spec enrollment.md §3.10, §8.2): the
//! police population file and the civil-affairs identity list, read and checked here without a
//! database (header, fields, identity numbers, dates, codes, rows that contradict each other
//! inside one file), then matched and applied in one transaction by `feed_tx.rs`. The "as of
//! date D" reads live here too; the registry check is `coverage.rs`.
//!
//! Time is an input: the caller gives `today` (for future-date checks and the effective date of
//! a police row) and the recorded time.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use sha2::Digest as _;
use yibao_enrollment::{normalise_name, Category, CitizenId};

use crate::error::StoreError;
use crate::{limits, Pool, Store};

/// The police population file's header.
pub const POLICE_HEADER: [&str; 7] = [
    "certno", "psn_name", "gend", "brdy", "admdvs", "hh_id", "hh_rel",
];

/// The civil-affairs identity list's header.
pub const IDENTITY_HEADER: [&str; 5] = ["certno", "psn_name", "idet_type", "begn_date", "end_date"];

/// Which interchange format a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedKind {
    /// The police population file (`POLICE_HEADER`).
    Police,
    /// The civil-affairs identity list (`IDENTITY_HEADER`).
    Identity,
    /// The education roster (`crate::roster::EDUCATION_HEADER`), imported by
    /// `Store::import_roster`.
    Education,
    /// The disability certificates (`crate::roster::DISABILITY_HEADER`), imported by
    /// `Store::import_roster`.
    Disability,
}

impl FeedKind {
    /// The stored kind (`police`, `identity`, `education`, `disability`).
    pub fn code(self) -> &'static str {
        match self {
            FeedKind::Police => "police",
            FeedKind::Identity => "identity",
            FeedKind::Education => "education",
            FeedKind::Disability => "disability",
        }
    }

    /// Whether the file is a roster matched with the §8.2 fallback (`Store::import_roster`).
    pub fn is_roster(self) -> bool {
        matches!(self, FeedKind::Education | FeedKind::Disability)
    }

    /// The department a file of this kind comes from unless told otherwise.
    pub fn default_dept(self) -> &'static str {
        match self {
            FeedKind::Police => "police",
            FeedKind::Identity => "civil_affairs",
            FeedKind::Education => "education",
            FeedKind::Disability => "disabled_federation",
        }
    }

    pub(crate) fn header(self) -> &'static [&'static str] {
        match self {
            FeedKind::Police => &POLICE_HEADER,
            FeedKind::Identity => &IDENTITY_HEADER,
            FeedKind::Education => &crate::roster::EDUCATION_HEADER,
            FeedKind::Disability => &crate::roster::DISABILITY_HEADER,
        }
    }
}

/// Who imports a file and when.
#[derive(Debug, Clone)]
pub struct FeedImport {
    /// The format.
    pub kind: FeedKind,
    /// The file's name, kept with the batch for the clerk (not used for matching).
    pub file_name: String,
    /// The sending department (`police`, `civil_affairs` …); never empty.
    pub source_dept: String,
    /// Who ran the import (an operator name or `cli`); never empty.
    pub actor: String,
    /// Today: dates after it are refused; a police row takes effect on it.
    pub today: NaiveDate,
    /// When the import is recorded (UTC).
    pub recorded_at: NaiveDateTime,
}

/// A refused row: its line in the file (the header is line 1) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedRow {
    /// The file's own line number.
    pub line: u64,
    /// Why it was refused.
    pub reason: String,
}

/// A case opened for a clerk by an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryCase {
    /// The case number.
    pub case_id: i64,
    /// `unmatched`, `data_quality`, `household_conflict` or `fallback_match`.
    pub kind: String,
    /// The person it concerns ('' when the record matched nobody).
    pub psn_no: String,
    /// The identity number the record carried (canonical when it was valid).
    pub certno: String,
    /// Why.
    pub reason: String,
    /// The batch (file digest) and line it came from.
    pub batch_id: String,
    /// The line in that file.
    pub line: u64,
    /// `open` or `closed`.
    pub status: String,
}

/// What an import did (or, for a replayed file, what its first import did).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedReport {
    /// The batch id: the file's SHA-256 in hex.
    pub batch_id: String,
    /// The same file was imported before: nothing was written, the counts are the first
    /// import's.
    pub replayed: bool,
    /// Data rows read (taken + refused).
    pub rows_read: u64,
    /// Rows that passed every check and were recorded (applied, unchanged, or made a case).
    pub rows_taken: u64,
    /// Taken rows matched to a person already in the registry.
    pub rows_matched: u64,
    /// Rows refused (each listed in `refusals`).
    pub rows_refused: u64,
    /// Persons added to the registry (police rows for unknown persons).
    pub persons_created: u64,
    /// Cases opened for clerks.
    pub cases_opened: u64,
    /// Each refused row, by line.
    pub refusals: Vec<RefusedRow>,
    /// Each case opened, by line.
    pub cases: Vec<RegistryCase>,
}

/// Progress of an import, for a progress bar: `done` of `total` rows through `stage`.
#[derive(Debug, Clone, Copy)]
pub struct FeedProgress {
    /// `read`, `match` or `write`.
    pub stage: &'static str,
    /// Rows through the stage.
    pub done: u64,
    /// Rows in the file.
    pub total: u64,
}

/// A household membership segment (§3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdSegment {
    /// The household number (户号).
    pub hh_id: String,
    /// Relationship to the head (GB/T 4761).
    pub hh_rel: String,
    /// The household's region.
    pub admdvs: String,
    /// From when (effective date).
    pub valid_from: NaiveDate,
}

/// An identity category held on a date (§3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityHeld {
    /// The department's code (`psn_idet_type`, e.g. `2303`).
    pub idet_type: String,
    /// Our category key (`dibao` …).
    pub category: String,
    /// The settlement's `sp_psn_type` ('' when none).
    pub sp_psn_type: String,
    /// Start.
    pub begn_date: String,
    /// End ('' when open).
    pub end_date: String,
    /// The sending department.
    pub source_dept: String,
}

// ---------------------------------------------------------------- reading a file

impl<R> Default for FeedParsed<R> {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            refused: Vec::new(),
            cases: Vec::new(),
            rows_read: 0,
        }
    }
}

/// A police row that passed the checks.
#[derive(Debug, Clone)]
pub(crate) struct PoliceRow {
    pub(crate) line: u64,
    pub(crate) certno: String,
    /// The 15-digit number as sent, when the row carried the legacy form.
    pub(crate) legacy_sent: Option<String>,
    /// The 15-digit form the person could have had (looked up as an alias).
    pub(crate) legacy: Option<String>,
    pub(crate) psn_name: String,
    pub(crate) gend: String,
    pub(crate) brdy: String,
    pub(crate) admdvs: String,
    pub(crate) hh_id: String,
    pub(crate) hh_rel: String,
    /// A data-quality finding that does not stop the row (the department's value is kept).
    pub(crate) quality: Option<String>,
    pub(crate) payload: String,
}

/// An identity row that passed the checks.
#[derive(Debug, Clone)]
pub(crate) struct IdentityRow {
    pub(crate) line: u64,
    pub(crate) certno: String,
    pub(crate) legacy: Option<String>,
    pub(crate) psn_name: String,
    pub(crate) idet_type: String,
    pub(crate) category: Category,
    pub(crate) begn_date: String,
    pub(crate) end_date: String,
    pub(crate) payload: String,
}

/// A case the file alone opens (rows that contradict each other).
#[derive(Debug, Clone)]
pub(crate) struct FileCase {
    pub(crate) kind: &'static str,
    pub(crate) certno: String,
    pub(crate) reason: String,
    pub(crate) line: u64,
}

/// A file read and checked: the good rows, the refused ones (with their raw text for the
/// source record) and the cases the file itself raises.
#[derive(Debug)]
pub(crate) struct FeedParsed<R> {
    pub(crate) rows: Vec<R>,
    pub(crate) refused: Vec<(RefusedRow, String)>,
    pub(crate) cases: Vec<FileCase>,
    pub(crate) rows_read: u64,
}

/// The SHA-256 of a file, in hex: the batch id.
pub fn digest(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads the CSV records of `bytes` after checking the header (`expected`, of the `kind`
/// file); calls `row` with each data record's line and fields (or the reason it cannot be
/// read).
pub(crate) fn read_records(
    expected: &[&str],
    kind: &str,
    bytes: &[u8],
    mut row: impl FnMut(u64, Result<Vec<&str>, String>, &str),
) -> Result<u64, StoreError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let header_read = reader
        .read_byte_record(&mut record)
        .map_err(|e| StoreError::bad("header", e.to_string()))?;
    if !header_read {
        return Err(StoreError::bad("header", "the file is empty"));
    }
    let header: Vec<String> = record
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let f = if i == 0 {
                f.strip_prefix(b"\xef\xbb\xbf").unwrap_or(f)
            } else {
                f
            };
            String::from_utf8_lossy(f).into_owned()
        })
        .collect();
    if header != expected {
        return Err(StoreError::bad(
            "header",
            format!(
                "line 1 is `{}`, the header of the {} file is `{}`",
                header.join(","),
                kind,
                expected.join(",")
            ),
        ));
    }
    let mut n = 0u64;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(StoreError::bad("file", e.to_string())),
        }
        n += 1;
        if n as usize > limits::FEED_ROWS_MAX {
            return Err(StoreError::bad(
                "file",
                format!("more than {} rows", limits::FEED_ROWS_MAX),
            ));
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let raw: String = {
            let joined: Vec<String> = record
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            truncate(&joined.join(","), limits::FEED_PAYLOAD_CHARS_MAX)
        };
        let fields: Result<Vec<&str>, String> = if record.len() != expected.len() {
            Err(format!(
                "expected {} fields, found {}",
                expected.len(),
                record.len()
            ))
        } else {
            record
                .iter()
                .zip(expected)
                .map(|(f, name)| {
                    let s =
                        std::str::from_utf8(f).map_err(|_| format!("{name} is not valid UTF-8"))?;
                    if s.chars().count() > limits::FEED_FIELD_CHARS_MAX {
                        return Err(format!(
                            "{name} is longer than {} characters",
                            limits::FEED_FIELD_CHARS_MAX
                        ));
                    }
                    Ok(s)
                })
                .collect()
        };
        row(line, fields, &raw);
    }
    Ok(n)
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

pub(crate) fn parse_date(name: &str, s: &str) -> Result<NaiveDate, String> {
    if s.len() != 10 {
        return Err(format!("{name} `{s}` is not a date YYYY-MM-DD"));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("{name} `{s}` is not a date YYYY-MM-DD"))
}

fn parse_id(raw: &str, today: NaiveDate) -> Result<CitizenId, String> {
    CitizenId::parse(raw, today).map_err(|e| format!("certno `{raw}`: {} ({e})", e.reason()))
}

pub(crate) fn parse_name(raw: &str) -> Result<String, String> {
    let name = normalise_name(raw);
    if name.is_empty() {
        return Err("psn_name is empty".into());
    }
    Ok(name)
}

/// `hh_rel` per GB/T 4761 (spec §3.2): `01` self, `02` head, `10`–`12` spouse, `20`–`29` son,
/// `30`–`39` daughter, `40`–`49` grandchildren, `50`–`59` parents, `60`–`69` grandparents,
/// `70`–`79` siblings, `80`–`99` other relatives and others.
pub fn valid_hh_rel(code: &str) -> bool {
    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let n: u8 = code.parse().unwrap_or(0);
    matches!(n, 1 | 2 | 10..=12 | 20..=99)
}

fn check_police(r: &[&str], today: NaiveDate) -> Result<PoliceRow, String> {
    let id = parse_id(r[0], today)?;
    let psn_name = parse_name(r[1])?;
    let gend = r[2].trim();
    if !matches!(gend, "0" | "1" | "2" | "9") {
        return Err(format!(
            "gend `{gend}` is not in the national code table (0, 1, 2, 9)"
        ));
    }
    let brdy = parse_date("brdy", r[3].trim())?;
    if brdy > today {
        return Err(format!("brdy {brdy} is in the future"));
    }
    let id_brdy = id.birth_date().map_err(|e| e.to_string())?;
    if brdy != id_brdy {
        return Err(format!(
            "brdy {brdy} disagrees with the birth date {id_brdy} in certno"
        ));
    }
    let admdvs = r[4].trim();
    if admdvs.len() != 6 || !admdvs.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("admdvs `{admdvs}` is not a six-digit region code"));
    }
    let hh_id = r[5].trim();
    if hh_id.is_empty() {
        return Err("hh_id is empty".into());
    }
    if hh_id.chars().count() > limits::ID_CHARS_MAX {
        return Err(format!(
            "hh_id is longer than {} characters",
            limits::ID_CHARS_MAX
        ));
    }
    let hh_rel = r[6].trim();
    if !valid_hh_rel(hh_rel) {
        return Err(format!(
            "hh_rel `{hh_rel}` is not a GB/T 4761 relationship code"
        ));
    }
    let quality = (gend != id.gend()).then(|| {
        format!(
            "gend {gend} disagrees with certno (its sequence code gives {}); the department's value is kept",
            id.gend()
        )
    });
    let sent = yibao_enrollment::normalise(r[0]);
    let payload = [
        id.as_str(),
        &psn_name,
        gend,
        &brdy.to_string(),
        admdvs,
        hh_id,
        hh_rel,
    ]
    .join(",");
    Ok(PoliceRow {
        line: 0,
        legacy_sent: (sent.len() == 15).then_some(sent),
        legacy: id.legacy(),
        certno: id.as_str().to_owned(),
        psn_name,
        gend: gend.to_owned(),
        brdy: brdy.to_string(),
        admdvs: admdvs.to_owned(),
        hh_id: hh_id.to_owned(),
        hh_rel: hh_rel.to_owned(),
        quality,
        payload,
    })
}

fn check_identity(r: &[&str], today: NaiveDate) -> Result<IdentityRow, String> {
    let id = parse_id(r[0], today)?;
    let psn_name = parse_name(r[1])?;
    let idet_type = r[2].trim();
    let category = Category::from_code(idet_type).ok_or_else(|| {
        format!("idet_type `{idet_type}` is not a code of the national identity table we map")
    })?;
    let begn = parse_date("begn_date", r[3].trim())?;
    if begn > today {
        return Err(format!("begn_date {begn} is in the future"));
    }
    let end = r[4].trim();
    if !end.is_empty() {
        let end = parse_date("end_date", end)?;
        if end < begn {
            return Err(format!("end_date {end} is before begn_date {begn}"));
        }
    }
    let payload = [id.as_str(), &psn_name, idet_type, &begn.to_string(), end].join(",");
    Ok(IdentityRow {
        line: 0,
        legacy: id.legacy(),
        certno: id.as_str().to_owned(),
        psn_name,
        idet_type: idet_type.to_owned(),
        category,
        begn_date: begn.to_string(),
        end_date: end.to_owned(),
        payload,
    })
}

/// Rows for one key that say different things: refused together, with one case.
pub(crate) fn resolve_duplicates<R: Clone>(
    parsed: &mut FeedParsed<R>,
    key: impl Fn(&R) -> String,
    line: impl Fn(&R) -> u64,
    same: impl Fn(&R, &R) -> bool,
    conflict: impl Fn(&R, &R) -> (&'static str, &'static str),
    certno: impl Fn(&R) -> String,
) {
    let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, r) in parsed.rows.iter().enumerate() {
        by_key.entry(key(r)).or_default().push(i);
    }
    let mut drop = vec![false; parsed.rows.len()];
    let mut groups: Vec<&Vec<usize>> = by_key.values().filter(|v| v.len() > 1).collect();
    groups.sort_by_key(|v| v[0]);
    for group in groups {
        let first = &parsed.rows[group[0]];
        if group.iter().all(|&i| same(first, &parsed.rows[i])) {
            for &i in &group[1..] {
                drop[i] = true;
                parsed.refused.push((
                    RefusedRow {
                        line: line(&parsed.rows[i]),
                        reason: format!("repeats line {}", line(first)),
                    },
                    String::new(),
                ));
            }
            continue;
        }
        let (kind, what) = group
            .iter()
            .map(|&i| conflict(first, &parsed.rows[i]))
            .find(|(k, _)| *k == "household_conflict")
            .unwrap_or(("data_quality", "contradicting rows for one person"));
        let lines: Vec<String> = group
            .iter()
            .map(|&i| line(&parsed.rows[i]).to_string())
            .collect();
        let reason = format!("{what} in this file (lines {})", lines.join(", "));
        for &i in group {
            drop[i] = true;
            parsed.refused.push((
                RefusedRow {
                    line: line(&parsed.rows[i]),
                    reason: reason.clone(),
                },
                String::new(),
            ));
        }
        parsed.cases.push(FileCase {
            kind,
            certno: certno(first),
            reason,
            line: line(first),
        });
    }
    let mut i = 0;
    parsed.rows.retain(|_| {
        i += 1;
        !drop[i - 1]
    });
}

/// Reads and checks a police population file.
pub(crate) fn parse_police(
    bytes: &[u8],
    today: NaiveDate,
) -> Result<FeedParsed<PoliceRow>, StoreError> {
    let mut parsed = FeedParsed::default();
    parsed.rows_read = read_records(
        FeedKind::Police.header(),
        "police",
        bytes,
        |line, fields, raw| match fields.and_then(|f| check_police(&f, today)) {
            Ok(mut row) => {
                row.line = line;
                parsed.rows.push(row);
            }
            Err(reason) => parsed
                .refused
                .push((RefusedRow { line, reason }, raw.to_owned())),
        },
    )?;
    let payloads: HashMap<u64, String> = parsed
        .rows
        .iter()
        .map(|r| (r.line, r.payload.clone()))
        .collect();
    resolve_duplicates(
        &mut parsed,
        |r| r.certno.clone(),
        |r| r.line,
        |a, b| a.payload == b.payload,
        |a, b| {
            if a.hh_id != b.hh_id {
                ("household_conflict", "one person in two households")
            } else {
                ("data_quality", "contradicting rows for one person")
            }
        },
        |r| r.certno.clone(),
    );
    for (refused, raw) in &mut parsed.refused {
        if raw.is_empty() {
            raw.clone_from(payloads.get(&refused.line).unwrap_or(&String::new()));
        }
    }
    parsed.refused.sort_by_key(|(r, _)| r.line);
    Ok(parsed)
}

/// Reads and checks a civil-affairs identity list.
pub(crate) fn parse_identity(
    bytes: &[u8],
    today: NaiveDate,
) -> Result<FeedParsed<IdentityRow>, StoreError> {
    let mut parsed = FeedParsed::default();
    parsed.rows_read = read_records(
        FeedKind::Identity.header(),
        "identity",
        bytes,
        |line, fields, raw| match fields.and_then(|f| check_identity(&f, today)) {
            Ok(mut row) => {
                row.line = line;
                parsed.rows.push(row);
            }
            Err(reason) => parsed
                .refused
                .push((RefusedRow { line, reason }, raw.to_owned())),
        },
    )?;
    let payloads: HashMap<u64, String> = parsed
        .rows
        .iter()
        .map(|r| (r.line, r.payload.clone()))
        .collect();
    resolve_duplicates(
        &mut parsed,
        |r| format!("{}|{}|{}", r.certno, r.idet_type, r.begn_date),
        |r| r.line,
        |a, b| a.payload == b.payload,
        |_, _| ("data_quality", "contradicting rows for one identity"),
        |r| r.certno.clone(),
    );
    for (refused, raw) in &mut parsed.refused {
        if raw.is_empty() {
            raw.clone_from(payloads.get(&refused.line).unwrap_or(&String::new()));
        }
    }
    parsed.refused.sort_by_key(|(r, _)| r.line);
    Ok(parsed)
}

pub(crate) fn check_import(imp: &FeedImport) -> Result<(), StoreError> {
    if imp.source_dept.trim().is_empty() {
        return Err(StoreError::bad(
            "source_dept",
            "a feed record without a source is refused: name the department",
        ));
    }
    if imp.actor.trim().is_empty() {
        return Err(StoreError::bad("actor", "is empty"));
    }
    if imp.source_dept.chars().count() > limits::ID_CHARS_MAX
        || imp.actor.chars().count() > limits::ID_CHARS_MAX
    {
        return Err(StoreError::bad(
            "source_dept",
            format!(
                "the department and the actor are at most {} characters",
                limits::ID_CHARS_MAX
            ),
        ));
    }
    Ok(())
}

impl Store {
    /// Imports a department feed (`bytes`, the whole file) into the registry, all good rows or
    /// none: bad rows are refused and listed by line, each good row is matched to a person by
    /// canonical ID and aliases (§8.2) and applied or made a case, and everything lands in one
    /// transaction. A file imported before (same SHA-256) writes nothing and reports its first
    /// import. A bad header or an unreadable file is an error and writes nothing.
    pub async fn import_feed(
        &self,
        imp: &FeedImport,
        bytes: &[u8],
        progress: &(dyn Fn(FeedProgress) + Sync),
    ) -> Result<FeedReport, StoreError> {
        check_import(imp)?;
        progress(FeedProgress {
            stage: "read",
            done: 0,
            total: 0,
        });
        let batch_id = digest(bytes);
        macro_rules! run {
            ($m:ident, $pool:expr) => {{
                if let Some(report) = $m::feed_replay($pool, &batch_id).await? {
                    return Ok(report);
                }
                match imp.kind {
                    FeedKind::Police => {
                        let parsed = parse_police(bytes, imp.today)?;
                        $m::feed_police($pool, imp, &batch_id, parsed, progress).await
                    }
                    FeedKind::Identity => {
                        let parsed = parse_identity(bytes, imp.today)?;
                        $m::feed_identity($pool, imp, &batch_id, parsed, progress).await
                    }
                    FeedKind::Education | FeedKind::Disability => Err(StoreError::bad(
                        "kind",
                        "a roster names the region of its fallback matches: use import_roster",
                    )),
                }
            }};
        }
        on_backend_writing!(self, FeedReport, run)
    }

    /// The household the person belonged to on `date` (the latest segment in force then), as
    /// the registry knows it now.
    pub async fn household_as_of(
        &self,
        psn_no: &str,
        date: NaiveDate,
    ) -> Result<Option<HouseholdSegment>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::household_as_of(p, psn_no, date).await,
            Pool::Sq { pool, .. } => crate::sq::household_as_of(pool, psn_no, date).await,
        }
    }

    /// The identity categories a department feed gave the person that were in force on
    /// `date` (the latest record for each code and start).
    pub async fn identities_as_of(
        &self,
        psn_no: &str,
        date: NaiveDate,
    ) -> Result<Vec<IdentityHeld>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::identities_as_of(p, psn_no, date).await,
            Pool::Sq { pool, .. } => crate::sq::identities_as_of(pool, psn_no, date).await,
        }
    }

    /// The references the feed's bulk tables keep without foreign keys (source records to
    /// their batch, events to their person and batch, household segments to their person and
    /// event): one line per kind of broken reference, empty when all hold.
    pub async fn check_feed_references(&self) -> Result<Vec<String>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::check_feed_references(p).await,
            Pool::Sq { pool, .. } => crate::sq::check_feed_references(pool).await,
        }
    }

    /// The clerks' cases opened by feeds, oldest first.
    pub async fn registry_cases(&self) -> Result<Vec<RegistryCase>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::registry_cases(p, None).await,
            Pool::Sq { pool, .. } => crate::sq::registry_cases(pool, None).await,
        }
    }

    /// Row counts of the feed tables (registry batches, source records, events, identifiers,
    /// household segments, identity assignments, cases), for tests that check a replay wrote
    /// nothing.
    pub async fn feed_row_counts(&self) -> Result<Vec<(&'static str, i64)>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::feed_row_counts(p).await,
            Pool::Sq { pool, .. } => crate::sq::feed_row_counts(pool).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
    }

    #[test]
    fn hh_rel_codes() {
        for ok in ["01", "02", "10", "12", "20", "39", "99"] {
            assert!(valid_hh_rel(ok), "{ok}");
        }
        for bad in ["00", "03", "13", "1", "001", "ab", ""] {
            assert!(!valid_hh_rel(bad), "{bad}");
        }
    }

    #[test]
    fn police_rows_checked_in_order() {
        let file = "certno,psn_name,gend,brdy,admdvs,hh_id,hh_rel\n\
            11010519491231002X,张三,2,1949-12-31,110105,H1,02\n\
            110105194912310021,李四,1,1949-12-31,110105,H1,10\n\
            11010519491231002X,张三,2,1949-12-30,110105,H1,02\n";
        let p = parse_police(file.as_bytes(), today()).unwrap();
        assert_eq!(p.rows_read, 3);
        assert_eq!(p.rows.len(), 1);
        assert!(
            p.refused[0].0.reason.contains("bad_check_digit"),
            "{:?}",
            p.refused
        );
        assert_eq!(p.refused[0].0.line, 3);
        assert!(p.refused[1].0.reason.contains("disagrees"));
        assert!(p.rows[0].quality.is_none());
    }

    #[test]
    fn wrong_header_is_an_error() {
        let e = parse_police(b"certno,name\n", today()).unwrap_err();
        assert!(
            e.to_string().contains("the header of the police file is"),
            "{e}"
        );
        let e = parse_identity(b"", today()).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
    }
}
