// Department feeds (`feed.rs`): matching checked rows to persons (§8.2) with a few bulk lookups,
// the police file and the identity list applied (their writes gathered by `feed_write_tx.rs`),
// replay detection by the file's digest, and the "as of" reads.
// Compiled once per backend; see lib.rs.

use crate::feed::{
    FeedImport, FeedParsed, FeedProgress, FeedReport, FileCase, HouseholdSegment, IdentityHeld,
    IdentityRow, PoliceRow, RefusedRow, RegistryCase,
};

/// The tables a feed writes, in the order they are written (foreign keys point backwards).
const FEED_TABLES: [&str; 7] = [
    "registry_batch",
    "registry_event",
    "person_identifier",
    "household_member",
    "identity_assignment",
    "registry_case",
    "registry_source_record",
];

/// `IN` over a JSON array of strings bound as `$1` (one statement for thousands of keys on
/// both databases).
fn json_keys() -> &'static str {
    if IS_PG {
        "(SELECT jsonb_array_elements_text(CAST($1 AS jsonb)))"
    } else {
        "(SELECT value FROM json_each($1))"
    }
}

fn json_array(keys: &[&str]) -> String {
    serde_json::to_string(keys).expect("strings serialise")
}

/// A person the registry already holds, as a feed row is compared with it.
struct Known {
    psn_name: String,
    gend: String,
    brdy: String,
}

/// Who the registry holds under the numbers of a file's rows.
#[derive(Default)]
struct Lookup {
    /// `person.certno` → psn_no.
    by_certno: HashMap<String, String>,
    /// `person_identifier.certno` → (psn_no, role).
    by_identifier: HashMap<String, (String, String)>,
    persons: HashMap<String, Known>,
}

impl Lookup {
    /// The person a canonical number (and its legacy form) names: `Ok(None)` nobody,
    /// `Err` when they name different persons.
    fn resolve(
        &self,
        certno: &str,
        legacy: Option<&str>,
    ) -> Result<Option<(String, &'static str)>, String> {
        let mut hits: Vec<(String, &'static str)> = Vec::new();
        if let Some(p) = self.by_certno.get(certno) {
            hits.push((p.clone(), "id"));
        }
        if let Some((p, role)) = self.by_identifier.get(certno) {
            hits.push((p.clone(), if role == "primary" { "id" } else { "alias" }));
        }
        if let Some(legacy) = legacy {
            if let Some(p) = self.by_certno.get(legacy) {
                hits.push((p.clone(), "alias"));
            }
            if let Some((p, _)) = self.by_identifier.get(legacy) {
                hits.push((p.clone(), "alias"));
            }
        }
        let Some(first) = hits.first().cloned() else {
            return Ok(None);
        };
        if let Some(other) = hits.iter().find(|h| h.0 != first.0) {
            return Err(format!(
                "certno and its legacy form name two persons ({} and {}): a merge case for a clerk",
                first.0, other.0
            ));
        }
        Ok(Some(first))
    }
}

/// Calls `each` with every row of `select` (a `SELECT … FROM table` without `WHERE`) whose
/// `key_column` is one of `keys`: by index probes, a JSON array of keys per statement, when
/// the keys are few; by one streamed scan of the table when they are many (a feed naming most
/// of the registry), which is several times faster than a million probes.
async fn rows_for_keys(
    tx: &mut Tx<'_>,
    select: &str,
    table: &str,
    key_column: &str,
    keys: &[&str],
    mut each: impl FnMut(&<Db as sqlx::Database>::Row) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    if keys.is_empty() {
        return Ok(());
    }
    let rows: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    if keys.len() >= limits::FEED_SCAN_KEYS_MIN && keys.len() as i64 * 4 >= rows {
        use futures_util::TryStreamExt as _;
        let wanted: std::collections::HashSet<&str> = keys.iter().copied().collect();
        let mut stream = sqlx::query(select).fetch(&mut **tx);
        while let Some(r) = stream.try_next().await? {
            let key: String = r.try_get(key_column)?;
            if wanted.contains(key.as_str()) {
                each(&r)?;
            }
        }
        return Ok(());
    }
    let mut sorted = keys.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let sql = format!("{select} WHERE {key_column} IN {}", json_keys());
    for chunk in sorted.chunks(limits::FEED_LOOKUP_KEYS_MAX) {
        for r in sqlx::query(&sql)
            .bind(json_array(chunk))
            .fetch_all(&mut **tx)
            .await?
        {
            each(&r)?;
        }
    }
    Ok(())
}

async fn feed_lookup(
    tx: &mut Tx<'_>,
    keys: &[&str],
    total: u64,
    progress: &(dyn Fn(FeedProgress) + Sync),
) -> Result<Lookup, StoreError> {
    let mut found = Lookup::default();
    rows_for_keys(
        tx,
        "SELECT certno, psn_no, psn_name, gend, brdy FROM person",
        "person",
        "certno",
        keys,
        |r| {
            let psn_no: String = r.try_get("psn_no")?;
            found.persons.insert(
                psn_no.clone(),
                Known {
                    psn_name: r.try_get("psn_name")?,
                    gend: r.try_get("gend")?,
                    brdy: r.try_get("brdy")?,
                },
            );
            found.by_certno.insert(r.try_get("certno")?, psn_no);
            Ok(())
        },
    )
    .await?;
    progress(FeedProgress {
        stage: "match",
        done: total / 3,
        total,
    });
    rows_for_keys(
        tx,
        "SELECT certno, psn_no, role FROM person_identifier",
        "person_identifier",
        "certno",
        keys,
        |r| {
            found.by_identifier.insert(
                r.try_get("certno")?,
                (r.try_get("psn_no")?, r.try_get("role")?),
            );
            Ok(())
        },
    )
    .await?;
    // Persons found only under an identifier: read their facts too.
    let missing: Vec<String> = found
        .by_identifier
        .values()
        .map(|(p, _)| p.clone())
        .filter(|p| !found.persons.contains_key(p))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let missing: Vec<&str> = missing.iter().map(String::as_str).collect();
    let mut extra = Vec::new();
    rows_for_keys(
        tx,
        "SELECT psn_no, psn_name, gend, brdy FROM person",
        "person",
        "psn_no",
        &missing,
        |r| {
            extra.push((
                r.try_get::<String, _>("psn_no")?,
                Known {
                    psn_name: r.try_get("psn_name")?,
                    gend: r.try_get("gend")?,
                    brdy: r.try_get("brdy")?,
                },
            ));
            Ok(())
        },
    )
    .await?;
    found.persons.extend(extra);
    progress(FeedProgress {
        stage: "match",
        done: total * 2 / 3,
        total,
    });
    Ok(found)
}

/// One more than the largest value of an id column (0 when empty).
async fn next_id(tx: &mut Tx<'_>, table: &str, column: &str) -> Result<i64, StoreError> {
    let max: Option<i64> = sqlx::query(&format!("SELECT MAX({column}) FROM {table}"))
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    Ok(max.unwrap_or(0) + 1)
}

/// The next number for a person the police feed adds: `psn_no` is the row's region followed
/// by 14 digits (as the demo city numbers its persons), one more than the largest 14 digits
/// of any 20-character `psn_no`, so a new number never collides with an old one.
async fn next_psn_seq(tx: &mut Tx<'_>) -> Result<u64, StoreError> {
    let max: Option<String> =
        sqlx::query("SELECT MAX(SUBSTR(psn_no, 7)) FROM person WHERE LENGTH(psn_no) = 20")
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?;
    match max {
        None => Ok(1),
        Some(s) => s.parse::<u64>().map(|n| n + 1).map_err(|_| {
            StoreError::Invariant(format!(
                "psn_no suffix {s:?} is not 14 digits; new persons cannot be numbered"
            ))
        }),
    }
}

pub(crate) async fn feed_replay(
    pool: &Pool,
    batch_id: &str,
) -> Result<Option<FeedReport>, StoreError> {
    let Some(b) = sqlx::query(
        "SELECT rows_read, rows_taken, rows_matched, rows_refused, rows_created, cases_opened \
         FROM registry_batch WHERE batch_id = $1",
    )
    .bind(batch_id)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let refusals = refused_rows(
        pool,
        "SELECT line, reason FROM registry_source_record WHERE batch_id = $1 AND outcome = 'refused' \
         ORDER BY line",
        batch_id,
    )
    .await?;
    let count = |name: &str| -> Result<u64, sqlx::Error> { Ok(b.try_get::<i64, _>(name)? as u64) };
    Ok(Some(FeedReport {
        batch_id: batch_id.to_owned(),
        replayed: true,
        rows_read: count("rows_read")?,
        rows_taken: count("rows_taken")?,
        rows_matched: count("rows_matched")?,
        rows_refused: count("rows_refused")?,
        persons_created: count("rows_created")?,
        cases_opened: count("cases_opened")?,
        refusals,
        cases: registry_cases(pool, Some(batch_id)).await?,
    }))
}

/// The refused rows a batch stored (`select` reads `line, reason` of batch `$1`), for the report
/// a replay repeats.
async fn refused_rows(
    pool: &Pool,
    select: &str,
    batch_id: &str,
) -> Result<Vec<RefusedRow>, StoreError> {
    sqlx::query(select)
        .bind(batch_id)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| {
            Ok(RefusedRow {
                line: u64::try_from(r.try_get::<i64, _>("line")?).unwrap_or(0),
                reason: r.try_get("reason")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(StoreError::from)
}

pub(crate) async fn registry_cases(
    pool: &Pool,
    batch_id: Option<&str>,
) -> Result<Vec<RegistryCase>, StoreError> {
    let rows = sqlx::query(
        "SELECT case_id, kind, psn_no, certno, reason, batch_id, line, status FROM registry_case \
         WHERE ($1 = '' OR batch_id = $1) ORDER BY case_id",
    )
    .bind(batch_id.unwrap_or(""))
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(RegistryCase {
                case_id: r.try_get("case_id")?,
                kind: r.try_get("kind")?,
                psn_no: r.try_get("psn_no")?,
                certno: r.try_get("certno")?,
                reason: r.try_get("reason")?,
                batch_id: r.try_get("batch_id")?,
                line: r.try_get::<i64, _>("line")? as u64,
                status: r.try_get("status")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(StoreError::from)
}

fn lookup_keys<'a>(rows: impl Iterator<Item = (&'a str, Option<&'a str>)>) -> Vec<&'a str> {
    let mut keys = Vec::new();
    for (certno, legacy) in rows {
        keys.push(certno);
        if let Some(l) = legacy {
            keys.push(l);
        }
    }
    keys
}

pub(crate) async fn feed_police(
    pool: &Pool,
    imp: &FeedImport,
    batch_id: &str,
    parsed: FeedParsed<PoliceRow>,
    progress: &(dyn Fn(FeedProgress) + Sync),
) -> Result<FeedReport, StoreError> {
    let total = parsed.rows_read;
    progress(FeedProgress {
        stage: "read",
        done: total,
        total,
    });
    let Some(mut tx) = feed_begin(pool, batch_id).await? else {
        return feed_replay(pool, batch_id)
            .await?
            .ok_or_else(|| StoreError::Invariant("a batch vanished".into()));
    };
    let keys = lookup_keys(
        parsed
            .rows
            .iter()
            .map(|r| (r.certno.as_str(), r.legacy.as_deref())),
    );
    progress(FeedProgress {
        stage: "match",
        done: 0,
        total,
    });
    let found = feed_lookup(&mut tx, &keys, total, progress).await?;
    // The latest household segment of each matched person.
    let matched: Vec<&str> = found.persons.keys().map(String::as_str).collect::<Vec<_>>();
    let mut current: HashMap<String, (String, String, i64, String, String, String)> =
        HashMap::new();
    rows_for_keys(
        &mut tx,
        "SELECT psn_no, valid_from, seq, hh_id, hh_rel, admdvs FROM household_member",
        "household_member",
        "psn_no",
        &matched,
        |r| {
            let psn_no: String = r.try_get("psn_no")?;
            let seg: (String, String, i64, String, String, String) = (
                psn_no.clone(),
                r.try_get("valid_from")?,
                r.try_get("seq")?,
                r.try_get("hh_id")?,
                r.try_get("hh_rel")?,
                r.try_get("admdvs")?,
            );
            match current.get(&psn_no) {
                Some(c) if (&c.1, c.2) >= (&seg.1, seg.2) => {}
                _ => {
                    current.insert(psn_no, seg);
                }
            }
            Ok(())
        },
    )
    .await?;
    progress(FeedProgress {
        stage: "match",
        done: total,
        total,
    });
    let mut w = FeedWrites {
        next_event: next_id(&mut tx, "registry_event", "event_id").await?,
        next_case: next_id(&mut tx, "registry_case", "case_id").await?,
        ..FeedWrites::default()
    };
    let mut next_seg = next_id(&mut tx, "household_member", "seq").await?;
    let mut next_psn = next_psn_seq(&mut tx).await?;
    let today = imp.today.to_string();
    let mut counts = Counts {
        read: parsed.rows_read,
        ..Counts::default()
    };
    w.file_cases(&parsed.cases);
    let mut refused = parsed.refused;
    for row in &parsed.rows {
        let hit = match found.resolve(&row.certno, row.legacy.as_deref()) {
            Ok(hit) => hit,
            Err(reason) => {
                w.case("data_quality", "", &row.certno, &reason, row.line);
                refused.push((
                    RefusedRow {
                        line: row.line,
                        reason,
                    },
                    row.payload.clone(),
                ));
                continue;
            }
        };
        counts.taken += 1;
        let household = format!(
            "{{\"hh_id\":{},\"hh_rel\":\"{}\",\"admdvs\":\"{}\"}}",
            serde_json::to_string(&row.hh_id).expect("a string serialises"),
            row.hh_rel,
            row.admdvs
        );
        let Some((psn_no, method)) = hit else {
            if next_psn >= 100_000_000_000_000 {
                return Err(StoreError::Invariant(
                    "psn_no numbers (14 digits) are exhausted".into(),
                ));
            }
            let psn_no = format!("{}{:014}", row.admdvs, next_psn);
            next_psn += 1;
            counts.created += 1;
            w.persons.push([
                psn_no.clone(),
                row.certno.clone(),
                row.psn_name.clone(),
                row.gend.clone(),
                row.brdy.clone(),
            ]);
            let event = w.event(&psn_no, "register", &today, row.line, row.payload.clone());
            w.identifiers
                .push((row.certno.clone(), psn_no.clone(), "primary", event));
            if let Some(legacy) = &row.legacy_sent {
                w.identifiers
                    .push((legacy.clone(), psn_no.clone(), "alias", event));
            }
            w.segments.push((
                next_seg,
                psn_no.clone(),
                row.hh_id.clone(),
                row.hh_rel.clone(),
                row.admdvs.clone(),
                event,
            ));
            next_seg += 1;
            let reason = row.quality.clone().unwrap_or_default();
            if let Some(q) = &row.quality {
                w.case("data_quality", &psn_no, &row.certno, q, row.line);
            }
            w.sources.push((
                row.line,
                row.certno.clone(),
                row.payload.clone(),
                psn_no,
                "new",
                "created",
                reason,
            ));
            continue;
        };
        counts.matched += 1;
        let known = found
            .persons
            .get(&psn_no)
            .ok_or_else(|| StoreError::Invariant(format!("person {psn_no} not read")))?;
        let mut differences = Vec::new();
        if normalise_name_stored(&known.psn_name) != row.psn_name {
            differences.push(format!(
                "psn_name `{}` differs from the registry's `{}`",
                row.psn_name, known.psn_name
            ));
        }
        if known.gend != row.gend {
            differences.push(format!(
                "gend {} differs from the registry's {}",
                row.gend, known.gend
            ));
        }
        if known.brdy != row.brdy {
            differences.push(format!(
                "brdy {} differs from the registry's {}",
                row.brdy, known.brdy
            ));
        }
        let reason = differences.join("; ");
        if !reason.is_empty() {
            w.case("data_quality", &psn_no, &row.certno, &reason, row.line);
        }
        let change = match current.get(&psn_no) {
            None => Some(("household_join", "joined")),
            Some(c) if c.3 != row.hh_id => Some(("household_move", "moved")),
            Some(c) if c.4 != row.hh_rel || c.5 != row.admdvs => {
                Some(("household_change", "changed"))
            }
            Some(_) => None,
        };
        let outcome = match change {
            Some((kind, outcome)) => {
                let event = w.event(&psn_no, kind, &today, row.line, household);
                w.segments.push((
                    next_seg,
                    psn_no.clone(),
                    row.hh_id.clone(),
                    row.hh_rel.clone(),
                    row.admdvs.clone(),
                    event,
                ));
                next_seg += 1;
                outcome
            }
            None => "unchanged",
        };
        w.sources.push((
            row.line,
            row.certno.clone(),
            row.payload.clone(),
            psn_no,
            method,
            outcome,
            reason,
        ));
    }
    counts.refused = refused.len() as u64;
    w.refused(&refused);
    feed_write(tx, imp, batch_id, counts, w, progress).await
}

fn normalise_name_stored(name: &str) -> String {
    yibao_enrollment::normalise_name(name)
}

pub(crate) async fn feed_identity(
    pool: &Pool,
    imp: &FeedImport,
    batch_id: &str,
    parsed: FeedParsed<IdentityRow>,
    progress: &(dyn Fn(FeedProgress) + Sync),
) -> Result<FeedReport, StoreError> {
    let total = parsed.rows_read;
    progress(FeedProgress {
        stage: "read",
        done: total,
        total,
    });
    let Some(mut tx) = feed_begin(pool, batch_id).await? else {
        return feed_replay(pool, batch_id)
            .await?
            .ok_or_else(|| StoreError::Invariant("a batch vanished".into()));
    };
    let keys = lookup_keys(
        parsed
            .rows
            .iter()
            .map(|r| (r.certno.as_str(), r.legacy.as_deref())),
    );
    progress(FeedProgress {
        stage: "match",
        done: 0,
        total,
    });
    let found = feed_lookup(&mut tx, &keys, total, progress).await?;
    let matched: Vec<&str> = found.persons.keys().map(String::as_str).collect();
    // (psn_no, idet_type, begn_date) → end_date of the current assignment.
    let mut current: HashMap<(String, String, String), String> = HashMap::new();
    rows_for_keys(
        &mut tx,
        "SELECT psn_no, idet_type, begn_date, end_date FROM identity_current",
        "identity_assignment",
        "psn_no",
        &matched,
        |r| {
            current.insert(
                (
                    r.try_get("psn_no")?,
                    r.try_get("idet_type")?,
                    r.try_get("begn_date")?,
                ),
                r.try_get("end_date")?,
            );
            Ok(())
        },
    )
    .await?;
    let mut w = FeedWrites {
        next_event: next_id(&mut tx, "registry_event", "event_id").await?,
        next_case: next_id(&mut tx, "registry_case", "case_id").await?,
        ..FeedWrites::default()
    };
    let mut next_seq = next_id(&mut tx, "identity_assignment", "seq").await?;
    let mut counts = Counts {
        read: parsed.rows_read,
        ..Counts::default()
    };
    w.file_cases(&parsed.cases);
    let mut refused = parsed.refused;
    for row in &parsed.rows {
        let key = format!("{}|{}|{}", row.certno, row.idet_type, row.begn_date);
        let Some((psn_no, method)) = w.match_known(
            &found,
            &mut counts,
            &mut refused,
            (row.line, &key, &row.payload),
            &row.certno,
            row.legacy.as_deref(),
            &row.psn_name,
            "identity",
        )?
        else {
            continue;
        };
        let held = current.get(&(psn_no.clone(), row.idet_type.clone(), row.begn_date.clone()));
        let (kind, effective) = match held {
            Some(end) if *end == row.end_date => {
                w.sources.push((
                    row.line,
                    key,
                    row.payload.clone(),
                    psn_no,
                    method,
                    "unchanged",
                    String::new(),
                ));
                continue;
            }
            Some(_) if !row.end_date.is_empty() => ("identity_change", row.end_date.clone()),
            Some(_) => ("identity_change", row.begn_date.clone()),
            None => ("identity_begin", row.begn_date.clone()),
        };
        let event = w.event(&psn_no, kind, &effective, row.line, row.payload.clone());
        w.assignments.push(Assignment {
            seq: next_seq,
            psn_no: psn_no.clone(),
            idet_type: row.idet_type.clone(),
            category: row.category.key(),
            sp_psn_type: row.category.sp_psn_type().unwrap_or(""),
            begn_date: row.begn_date.clone(),
            end_date: row.end_date.clone(),
            line: row.line,
            event_id: event,
        });
        next_seq += 1;
        w.sources.push((
            row.line,
            key,
            row.payload.clone(),
            psn_no,
            method,
            "assigned",
            String::new(),
        ));
    }
    counts.refused = refused.len() as u64;
    w.refused(&refused);
    feed_write(tx, imp, batch_id, counts, w, progress).await
}

pub(crate) async fn household_as_of(
    pool: &Pool,
    psn_no: &str,
    date: NaiveDate,
) -> Result<Option<HouseholdSegment>, StoreError> {
    let Some(r) = sqlx::query(
        "SELECT hh_id, hh_rel, admdvs, valid_from FROM household_member \
         WHERE psn_no = $1 AND valid_from <= $2 ORDER BY valid_from DESC, seq DESC LIMIT 1",
    )
    .bind(psn_no)
    .bind(date.to_string())
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let from: String = r.try_get("valid_from")?;
    Ok(Some(HouseholdSegment {
        hh_id: r.try_get("hh_id")?,
        hh_rel: r.try_get("hh_rel")?,
        admdvs: r.try_get("admdvs")?,
        valid_from: NaiveDate::parse_from_str(&from, "%Y-%m-%d").map_err(|_| {
            StoreError::Invariant(format!("stored valid_from {from:?} is not a date"))
        })?,
    }))
}

pub(crate) async fn identities_as_of(
    pool: &Pool,
    psn_no: &str,
    date: NaiveDate,
) -> Result<Vec<IdentityHeld>, StoreError> {
    sqlx::query(
        "SELECT idet_type, category, sp_psn_type, begn_date, end_date, source_dept FROM identity_current \
         WHERE psn_no = $1 AND begn_date <= $2 AND (end_date = '' OR end_date >= $2) \
         ORDER BY begn_date, idet_type",
    )
    .bind(psn_no)
    .bind(date.to_string())
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(IdentityHeld {
            idet_type: r.try_get("idet_type")?,
            category: r.try_get("category")?,
            sp_psn_type: r.try_get("sp_psn_type")?,
            begn_date: r.try_get("begn_date")?,
            end_date: r.try_get("end_date")?,
            source_dept: r.try_get("source_dept")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()
    .map_err(StoreError::from)
}

pub(crate) async fn feed_row_counts(pool: &Pool) -> Result<Vec<(&'static str, i64)>, StoreError> {
    let mut out = Vec::new();
    for t in FEED_TABLES.iter().copied().chain(["person", "identity"]) {
        let n: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM {t}"))
            .fetch_one(pool)
            .await?
            .try_get(0)?;
        out.push((t, n));
    }
    Ok(out)
}

pub(crate) async fn check_feed_references(pool: &Pool) -> Result<Vec<String>, StoreError> {
    let checks = [
        (
            "source records of no batch",
            "SELECT COUNT(*) FROM registry_source_record s WHERE NOT EXISTS \
             (SELECT 1 FROM registry_batch b WHERE b.batch_id = s.batch_id)",
        ),
        (
            "events of no person",
            "SELECT COUNT(*) FROM registry_event e WHERE NOT EXISTS \
             (SELECT 1 FROM person p WHERE p.psn_no = e.psn_no)",
        ),
        (
            "events of no batch",
            "SELECT COUNT(*) FROM registry_event e WHERE NOT EXISTS \
             (SELECT 1 FROM registry_batch b WHERE b.batch_id = e.batch_id)",
        ),
        (
            "household segments of no person",
            "SELECT COUNT(*) FROM household_member h WHERE NOT EXISTS \
             (SELECT 1 FROM person p WHERE p.psn_no = h.psn_no)",
        ),
        (
            "household segments of no event",
            "SELECT COUNT(*) FROM household_member h WHERE NOT EXISTS \
             (SELECT 1 FROM registry_event e WHERE e.event_id = h.event_id)",
        ),
    ];
    let mut problems = Vec::new();
    for (what, sql) in checks {
        let n: i64 = sqlx::query(sql).fetch_one(pool).await?.try_get(0)?;
        if n > 0 {
            problems.push(format!("{n} {what}"));
        }
    }
    Ok(problems)
}
