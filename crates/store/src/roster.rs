//! Department rosters (docs/FEEDS.md; spec enrollment.md §8.1, §8.2, §3.5, §4.3, §5.3): the
//! education roster (教育, students by school) and the disability certificates (残联). Read and
//! checked here without a database, then matched and applied in one transaction by
//! `roster_tx.rs`, on the same batches, source records, events and cases as the police file and
//! the identity list (`feed.rs`).
//!
//! A roster row without a usable identity number (none, or one failing only its check
//! character) is matched by the §8.2 fallback — normalised name, birth date and sex within the
//! import's region — and a fallback match is only a proposal: it opens a `fallback_match` case
//! naming the candidate for a clerk and changes nothing else.

use chrono::{Datelike as _, NaiveDate};
use yibao_enrollment::fallback::{
    classify_certno, Candidate, FallbackDecision, FallbackRecord, IdUse, UnmatchedReason,
};
use yibao_enrollment::normalise;

use crate::error::StoreError;
use crate::feed::{
    check_import, digest, parse_date, parse_name, read_records, resolve_duplicates, FeedImport,
    FeedKind, FeedParsed, FeedProgress, FeedReport, RefusedRow,
};
use crate::{limits, Pool, Store};

/// The education roster's header.
pub const EDUCATION_HEADER: [&str; 9] = [
    "certno",
    "psn_name",
    "gend",
    "brdy",
    "school_code",
    "school_admdvs",
    "stu_type",
    "entry_date",
    "grad_date",
];

/// The disability certificates' header.
pub const DISABILITY_HEADER: [&str; 8] = [
    "certno",
    "psn_name",
    "gend",
    "brdy",
    "dsab_type",
    "dsab_lv",
    "begn_date",
    "end_date",
];

/// The student `psn_type` codes of the national table (§5.3): `1402` 学龄前儿童 preschool,
/// `1403` 中小学生 primary and secondary pupils, `1404` 大学生 university students.
pub const STUDENT_PSN_TYPES: [&str; 3] = ["1402", "1403", "1404"];

/// Disability types (残疾类别, GB/T 26341): 1 visual, 2 hearing, 3 speech, 4 physical,
/// 5 intellectual, 6 mental, 7 multiple.
pub const DISABILITY_TYPES: [&str; 7] = ["1", "2", "3", "4", "5", "6", "7"];

/// The `psn_idet_type` a level 1–2 certificate gives (2308 残疾人员, our 重度残疾 category).
pub const SEVERE_DISABILITY_IDET_TYPE: &str = "2308";

/// A roster import: the feed's who and when, and the region its fallback matches are sought in.
#[derive(Debug, Clone)]
pub struct RosterImport {
    /// Kind (`Education` or `Disability`), file, department, actor, today, recorded time.
    pub feed: FeedImport,
    /// The region prefix (2, 4 or 6 digits of `admdvs`) whose household members a row without a
    /// usable identity number may be matched to; '' tries no fallback (such rows become
    /// unmatched cases).
    pub region: String,
}

/// A student segment (§5.3): the person is a student of `psn_type` at the school from
/// `entry_date` to `valid_to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudentSegment {
    /// `1402`, `1403` or `1404`.
    pub psn_type: String,
    /// The school.
    pub school_code: String,
    /// The school's region (学籍地, where a university student is insured).
    pub school_admdvs: String,
    /// Enrolment (入学).
    pub entry_date: String,
    /// Graduation (毕业), '' when not known.
    pub grad_date: String,
    /// The end of the segment: 31 December of the graduation year ('' while open).
    pub valid_to: String,
}

/// A disability certificate in force on a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisabilityHeld {
    /// The type (GB/T 26341, `1`–`7`).
    pub dsab_type: String,
    /// The level (`1`–`4`; `1`–`2` give 重度残疾).
    pub dsab_lv: String,
    /// Start.
    pub begn_date: String,
    /// End ('' when open).
    pub end_date: String,
}

/// What the §8.2 fallback found for one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackOutcome {
    /// The decision: a proposal for a clerk, or unmatched with a reason.
    pub decision: FallbackDecision,
    /// Every person of the region with the record's normalised name, birth date and sex.
    pub candidates: Vec<Candidate>,
}

/// A record to match by the §8.2 fallback (`Store::fallback_match`).
#[derive(Debug, Clone)]
pub struct FallbackQuery {
    /// The identity number as received ('' when none).
    pub certno: String,
    /// The name as received.
    pub psn_name: String,
    /// The birth date.
    pub brdy: NaiveDate,
    /// The sex code (`0`, `1`, `2`, `9`).
    pub gend: String,
    /// The region prefix (2, 4 or 6 digits).
    pub region: String,
    /// Today (the check of the number's birth date).
    pub today: NaiveDate,
}

/// How a roster row names its person.
#[derive(Debug, Clone)]
pub(crate) enum RosterId {
    /// A valid citizen ID (canonical) and its legacy form.
    Id {
        certno: String,
        legacy: Option<String>,
    },
    /// No usable number: the fallback, with the number as sent (normalised, maybe '').
    Fallback { sent: String, base: UnmatchedReason },
}

/// What a roster row records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RosterDetail {
    Student {
        psn_type: String,
        school_code: String,
        school_admdvs: String,
        entry_date: String,
        grad_date: String,
        valid_to: String,
    },
    Disability {
        dsab_type: String,
        dsab_lv: String,
        begn_date: String,
        end_date: String,
    },
}

impl RosterDetail {
    /// Levels 1–2 of a certificate: the 重度残疾 category.
    pub(crate) fn severe(&self) -> bool {
        matches!(self, RosterDetail::Disability { dsab_lv, .. } if dsab_lv == "1" || dsab_lv == "2")
    }
}

/// A roster row that passed the checks.
#[derive(Debug, Clone)]
pub(crate) struct RosterRow {
    pub(crate) line: u64,
    pub(crate) id: RosterId,
    pub(crate) psn_name: String,
    pub(crate) gend: String,
    pub(crate) brdy: NaiveDate,
    pub(crate) detail: RosterDetail,
    pub(crate) payload: String,
}

impl RosterRow {
    /// The person part of the row's key: the canonical number, else name, birth date and sex.
    fn person_key(&self) -> String {
        match &self.id {
            RosterId::Id { certno, .. } => certno.clone(),
            RosterId::Fallback { .. } => format!("{}|{}|{}", self.psn_name, self.brdy, self.gend),
        }
    }

    /// The record key (one person's one segment or certificate): rows of one file with the
    /// same key must agree.
    pub(crate) fn key(&self) -> String {
        match &self.detail {
            RosterDetail::Student {
                school_code,
                entry_date,
                ..
            } => format!("{}|{school_code}|{entry_date}", self.person_key()),
            RosterDetail::Disability {
                dsab_type,
                begn_date,
                ..
            } => format!("{}|{dsab_type}|{begn_date}", self.person_key()),
        }
    }

    /// The number the row carried, for a case ('' when none).
    pub(crate) fn certno(&self) -> String {
        match &self.id {
            RosterId::Id { certno, .. } => certno.clone(),
            RosterId::Fallback { sent, .. } => sent.clone(),
        }
    }
}

/// 31 December of the year of `date` (graduation ends the student segment at year end, §4.3).
pub fn year_end(date: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(date.year(), 12, 31).expect("31 December exists")
}

fn check_gend(raw: &str) -> Result<&str, String> {
    let gend = raw.trim();
    if !matches!(gend, "0" | "1" | "2" | "9") {
        return Err(format!(
            "gend `{gend}` is not in the national code table (0, 1, 2, 9)"
        ));
    }
    Ok(gend)
}

/// The person fields every roster starts with: `certno,psn_name,gend,brdy`.
fn check_person(
    r: &[&str],
    today: NaiveDate,
) -> Result<(RosterId, String, String, NaiveDate), String> {
    let psn_name = parse_name(r[1])?;
    let gend = check_gend(r[2])?;
    let brdy = parse_date("brdy", r[3].trim())?;
    if brdy > today {
        return Err(format!("brdy {brdy} is in the future"));
    }
    let id = match classify_certno(r[0], today) {
        IdUse::Usable(id) => {
            let id_brdy = id.birth_date().map_err(|e| e.to_string())?;
            if brdy != id_brdy {
                return Err(format!(
                    "brdy {brdy} disagrees with the birth date {id_brdy} in certno"
                ));
            }
            if matches!(gend, "1" | "2") && gend != id.gend() {
                return Err(format!(
                    "gend {gend} disagrees with certno (its sequence code gives {})",
                    id.gend()
                ));
            }
            RosterId::Id {
                certno: id.as_str().to_owned(),
                legacy: id.legacy(),
            }
        }
        IdUse::Fallback(base) => RosterId::Fallback {
            sent: normalise(r[0]),
            base,
        },
        IdUse::Invalid(e) => return Err(format!("certno `{}`: {} ({e})", r[0], e.reason())),
    };
    Ok((id, psn_name, gend.to_owned(), brdy))
}

fn check_admdvs(name: &str, raw: &str) -> Result<String, String> {
    let admdvs = raw.trim();
    if admdvs.len() != 6 || !admdvs.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{name} `{admdvs}` is not a six-digit region code"));
    }
    Ok(admdvs.to_owned())
}

fn check_student(r: &[&str], today: NaiveDate) -> Result<RosterRow, String> {
    let (id, psn_name, gend, brdy) = check_person(r, today)?;
    let school_code = r[4].trim();
    if school_code.is_empty() {
        return Err("school_code is empty".into());
    }
    if school_code.chars().count() > limits::ID_CHARS_MAX {
        return Err(format!(
            "school_code is longer than {} characters",
            limits::ID_CHARS_MAX
        ));
    }
    let school_admdvs = check_admdvs("school_admdvs", r[5])?;
    let stu_type = r[6].trim();
    if !STUDENT_PSN_TYPES.contains(&stu_type) {
        return Err(format!(
            "stu_type `{stu_type}` is not a student psn_type (1402, 1403, 1404)"
        ));
    }
    let entry = parse_date("entry_date", r[7].trim())?;
    if entry > today {
        return Err(format!("entry_date {entry} is in the future"));
    }
    if entry < brdy {
        return Err(format!("entry_date {entry} is before brdy {brdy}"));
    }
    let grad = r[8].trim();
    let (grad_date, valid_to) = if grad.is_empty() {
        (String::new(), String::new())
    } else {
        let grad = parse_date("grad_date", grad)?;
        if grad < entry {
            return Err(format!("grad_date {grad} is before entry_date {entry}"));
        }
        (grad.to_string(), year_end(grad).to_string())
    };
    let certno = match &id {
        RosterId::Id { certno, .. } => certno.clone(),
        RosterId::Fallback { sent, .. } => sent.clone(),
    };
    let payload = [
        certno.as_str(),
        &psn_name,
        &gend,
        &brdy.to_string(),
        school_code,
        &school_admdvs,
        stu_type,
        &entry.to_string(),
        &grad_date,
    ]
    .join(",");
    Ok(RosterRow {
        line: 0,
        id,
        psn_name,
        gend,
        brdy,
        detail: RosterDetail::Student {
            psn_type: stu_type.to_owned(),
            school_code: school_code.to_owned(),
            school_admdvs,
            entry_date: entry.to_string(),
            grad_date,
            valid_to,
        },
        payload,
    })
}

fn check_disability(r: &[&str], today: NaiveDate) -> Result<RosterRow, String> {
    let (id, psn_name, gend, brdy) = check_person(r, today)?;
    let dsab_type = r[4].trim();
    if !DISABILITY_TYPES.contains(&dsab_type) {
        return Err(format!(
            "dsab_type `{dsab_type}` is not a disability type of GB/T 26341 (1–7)"
        ));
    }
    let dsab_lv = r[5].trim();
    if !matches!(dsab_lv, "1" | "2" | "3" | "4") {
        return Err(format!("dsab_lv `{dsab_lv}` is not a level 1–4"));
    }
    let begn = parse_date("begn_date", r[6].trim())?;
    if begn > today {
        return Err(format!("begn_date {begn} is in the future"));
    }
    let end = r[7].trim();
    if !end.is_empty() {
        let end = parse_date("end_date", end)?;
        if end < begn {
            return Err(format!("end_date {end} is before begn_date {begn}"));
        }
    }
    let certno = match &id {
        RosterId::Id { certno, .. } => certno.clone(),
        RosterId::Fallback { sent, .. } => sent.clone(),
    };
    let payload = [
        certno.as_str(),
        &psn_name,
        &gend,
        &brdy.to_string(),
        dsab_type,
        dsab_lv,
        &begn.to_string(),
        end,
    ]
    .join(",");
    Ok(RosterRow {
        line: 0,
        id,
        psn_name,
        gend,
        brdy,
        detail: RosterDetail::Disability {
            dsab_type: dsab_type.to_owned(),
            dsab_lv: dsab_lv.to_owned(),
            begn_date: begn.to_string(),
            end_date: end.to_owned(),
        },
        payload,
    })
}

/// Reads and checks an education roster or a disability certificate list.
pub(crate) fn parse_roster(
    kind: FeedKind,
    bytes: &[u8],
    today: NaiveDate,
) -> Result<FeedParsed<RosterRow>, StoreError> {
    let check: fn(&[&str], NaiveDate) -> Result<RosterRow, String> = match kind {
        FeedKind::Education => check_student,
        FeedKind::Disability => check_disability,
        FeedKind::Police | FeedKind::Identity => {
            return Err(StoreError::bad("kind", "not a roster: use import_feed"))
        }
    };
    let mut parsed = FeedParsed::default();
    parsed.rows_read =
        read_records(
            kind.header(),
            kind.code(),
            bytes,
            |line, fields, raw| match fields.and_then(|f| check(&f, today)) {
                Ok(mut row) => {
                    row.line = line;
                    parsed.rows.push(row);
                }
                Err(reason) => parsed
                    .refused
                    .push((RefusedRow { line, reason }, raw.to_owned())),
            },
        )?;
    let payloads: std::collections::HashMap<u64, String> = parsed
        .rows
        .iter()
        .map(|r| (r.line, r.payload.clone()))
        .collect();
    resolve_duplicates(
        &mut parsed,
        RosterRow::key,
        |r| r.line,
        |a, b| a.payload == b.payload,
        |_, _| ("data_quality", "contradicting rows for one record"),
        RosterRow::certno,
    );
    for (refused, raw) in &mut parsed.refused {
        if raw.is_empty() {
            raw.clone_from(payloads.get(&refused.line).unwrap_or(&String::new()));
        }
    }
    parsed.refused.sort_by_key(|(r, _)| r.line);
    Ok(parsed)
}

fn check_region(region: &str) -> Result<(), StoreError> {
    if !region.is_empty()
        && (!matches!(region.len(), 2 | 4 | 6) || !region.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(StoreError::bad(
            "region",
            format!("`{region}` is not a region prefix of 2, 4 or 6 digits"),
        ));
    }
    Ok(())
}

impl Store {
    /// Imports an education roster or a disability certificate list (`imp.feed.kind`), all
    /// good rows or none, like [`Store::import_feed`]: bad rows are refused by line; a row with a
    /// valid identity number is matched by it and recorded (a student segment; a certificate,
    /// and for levels 1–2 the 重度残疾 category from the department, so
    /// [`Store::decide_on_batch`] applies); a row without one goes to the §8.2 fallback within
    /// `imp.region` and becomes a case (a `fallback_match` proposal naming the candidate, or
    /// `unmatched` with the reason). A replayed file writes nothing.
    pub async fn import_roster(
        &self,
        imp: &RosterImport,
        bytes: &[u8],
        progress: &(dyn Fn(FeedProgress) + Sync),
    ) -> Result<FeedReport, StoreError> {
        check_import(&imp.feed)?;
        check_region(&imp.region)?;
        if !imp.feed.kind.is_roster() {
            return Err(StoreError::bad("kind", "not a roster: use import_feed"));
        }
        progress(FeedProgress {
            stage: "read",
            done: 0,
            total: 0,
        });
        let batch_id = digest(bytes);
        macro_rules! run {
            ($m:ident, $pool:expr) => {{
                // Read first: a file sent as the wrong kind is refused for its header even
                // when the same bytes were imported before as their own kind.
                let parsed = parse_roster(imp.feed.kind, bytes, imp.feed.today)?;
                if let Some(report) = $m::feed_replay($pool, &batch_id).await? {
                    return Ok(report);
                }
                $m::roster_import($pool, imp, &batch_id, parsed, progress).await
            }};
        }
        on_backend_writing!(self, FeedReport, run)
    }

    /// The §8.2 fallback for one record, read only: the persons whose latest household lies in
    /// `query.region` with the record's normalised name, birth date and sex, and the decision
    /// (a unique candidate whose stored number does not contradict the record is proposed,
    /// never applied). A record whose number is valid is refused here: it is matched by ID.
    pub async fn fallback_match(
        &self,
        query: &FallbackQuery,
    ) -> Result<FallbackOutcome, StoreError> {
        check_region(&query.region)?;
        if query.region.is_empty() {
            return Err(StoreError::bad("region", "the fallback needs a region"));
        }
        let base = match classify_certno(&query.certno, query.today) {
            IdUse::Usable(_) => {
                return Err(StoreError::bad(
                    "certno",
                    "is a valid ID: match on it, not on name, birth date and sex",
                ))
            }
            IdUse::Invalid(e) => return Err(StoreError::bad("certno", e.to_string())),
            IdUse::Fallback(base) => base,
        };
        let name = parse_name(&query.psn_name).map_err(|e| StoreError::bad("psn_name", e))?;
        check_gend(&query.gend).map_err(|e| StoreError::bad("gend", e))?;
        let key = (name, query.brdy.to_string(), query.gend.trim().to_owned());
        let mut found = match &self.inner.pool {
            Pool::Pg(p) => {
                let mut tx = p.begin().await?;
                let found = crate::pg::fallback_candidates(
                    &mut tx,
                    &query.region,
                    std::slice::from_ref(&key),
                )
                .await?;
                tx.rollback().await?;
                found
            }
            Pool::Sq { pool, .. } => {
                let mut tx = pool.begin().await?;
                let found = crate::sq::fallback_candidates(
                    &mut tx,
                    &query.region,
                    std::slice::from_ref(&key),
                )
                .await?;
                tx.rollback().await?;
                found
            }
        };
        let candidates = found.remove(&key).unwrap_or_default();
        let record = FallbackRecord {
            sent_certno: normalise(&query.certno),
            brdy: query.brdy,
            gend: key.2,
        };
        let decision = yibao_enrollment::decide_fallback(&record, base, &candidates);
        Ok(FallbackOutcome {
            decision,
            candidates,
        })
    }

    /// The student segments the education roster gave the person that were in force on `date`
    /// (the latest record for each school and entry date), by entry date.
    pub async fn students_as_of(
        &self,
        psn_no: &str,
        date: NaiveDate,
    ) -> Result<Vec<StudentSegment>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::students_as_of(p, psn_no, date).await,
            Pool::Sq { pool, .. } => crate::sq::students_as_of(pool, psn_no, date).await,
        }
    }

    /// The disability certificates in force on `date` (the latest record for each type and
    /// start), by start.
    pub async fn disabilities_as_of(
        &self,
        psn_no: &str,
        date: NaiveDate,
    ) -> Result<Vec<DisabilityHeld>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::disabilities_as_of(p, psn_no, date).await,
            Pool::Sq { pool, .. } => crate::sq::disabilities_as_of(pool, psn_no, date).await,
        }
    }

    /// The match method and confidence (permille; `None` for methods whose confidence the rule
    /// fixes) stored with the source record at `line` of batch `batch_id`, with its person.
    pub async fn source_record_match(
        &self,
        batch_id: &str,
        line: u64,
    ) -> Result<Option<(String, String, Option<i64>)>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::source_record_match(p, batch_id, line).await,
            Pool::Sq { pool, .. } => crate::sq::source_record_match(pool, batch_id, line).await,
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
    fn student_rows_checked() {
        let file =
            "certno,psn_name,gend,brdy,school_code,school_admdvs,stu_type,entry_date,grad_date\n\
            11010519491231002X,张三,2,1949-12-31,S1,110105,1404,1968-09-01,1972-07-01\n\
            ,李 四,1,2010-05-01,S2,110105,1403,2016-09-01,\n\
            11010519491231002X,张三,2,1949-12-31,S1,110105,1405,1968-09-01,\n\
            11010519491231002X,张三,2,1949-12-31,S1,110105,1404,2027-09-01,\n";
        let p = parse_roster(FeedKind::Education, file.as_bytes(), today()).unwrap();
        assert_eq!(p.rows_read, 4);
        assert_eq!(p.rows.len(), 2, "{:?}", p.refused);
        assert!(matches!(
            p.rows[0].detail,
            RosterDetail::Student { ref valid_to, .. } if valid_to == "1972-12-31"
        ));
        assert!(matches!(
            p.rows[1].id,
            RosterId::Fallback {
                base: UnmatchedReason::NoId,
                ..
            }
        ));
        assert_eq!(p.rows[1].psn_name, "李四");
        assert_eq!(p.refused[0].0.line, 4);
        assert!(p.refused[0].0.reason.contains("stu_type"));
        assert!(p.refused[1].0.reason.contains("in the future"));
    }

    #[test]
    fn region_prefixes() {
        for ok in ["", "11", "1101", "110105"] {
            assert!(check_region(ok).is_ok(), "{ok}");
        }
        for bad in ["1", "110", "11010a", "1101051"] {
            assert!(check_region(bad).is_err(), "{bad}");
        }
    }
}
