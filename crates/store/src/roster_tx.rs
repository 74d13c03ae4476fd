// Department rosters (`roster.rs`): the education roster and the disability certificates
// matched (by ID, or by the §8.2 fallback as a proposal for a clerk) and applied in one
// transaction on the feed's batches, source records, events and cases (`feed_tx.rs`, whose
// lookups and writer this reuses), and the "as of" reads of student segments and certificates.
// Compiled once per backend; see lib.rs.

/// A person's name, birth date and sex as the fallback compares them (name normalised).
type FallbackKey = (String, String, String);

/// The persons whose latest household lies in `region` (an `admdvs` prefix) with each key's
/// normalised name, birth date and sex: one statement per birth date and sex, names compared
/// after normalising both sides (stored names are kept as received).
pub(crate) async fn fallback_candidates(
    tx: &mut Tx<'_>,
    region: &str,
    keys: &[FallbackKey],
) -> Result<HashMap<FallbackKey, Vec<yibao_enrollment::fallback::Candidate>>, StoreError> {
    let mut out: HashMap<FallbackKey, Vec<yibao_enrollment::fallback::Candidate>> = HashMap::new();
    if region.is_empty() || keys.is_empty() {
        return Ok(out);
    }
    let mut by_day: BTreeMap<(&str, &str), Vec<&FallbackKey>> = BTreeMap::new();
    for key in keys {
        by_day.entry((&key.1, &key.2)).or_default().push(key);
    }
    let pattern = format!("{region}%");
    for ((brdy, gend), wanted) in by_day {
        let rows = sqlx::query(
            "SELECT p.psn_no, p.certno, p.psn_name FROM person p \
             WHERE p.brdy = $1 AND p.gend = $2 \
               AND (SELECT h.admdvs FROM household_member h WHERE h.psn_no = p.psn_no \
                    ORDER BY h.valid_from DESC, h.seq DESC LIMIT 1) LIKE $3 \
             ORDER BY p.psn_no",
        )
        .bind(brdy)
        .bind(gend)
        .bind(&pattern)
        .fetch_all(&mut **tx)
        .await?;
        for r in rows {
            let name = yibao_enrollment::normalise_name(&r.try_get::<String, _>("psn_name")?);
            for key in wanted.iter().filter(|k| k.0 == name) {
                out.entry((*key).clone()).or_default().push(
                    yibao_enrollment::fallback::Candidate {
                        psn_no: r.try_get("psn_no")?,
                        certno: r.try_get("certno")?,
                    },
                );
            }
        }
    }
    Ok(out)
}

/// A student segment or a certificate to write: seq, psn_no, the detail, line, event.
struct DetailWrite {
    seq: i64,
    psn_no: String,
    detail: crate::roster::RosterDetail,
    line: u64,
    event_id: i64,
}

/// A fallback's source record: line, record key, payload, candidate, reason, confidence.
struct FallbackSource {
    line: u64,
    key: String,
    payload: String,
    psn_no: String,
    reason: String,
    confidence_permille: Option<i64>,
}

pub(crate) async fn roster_import(
    pool: &Pool,
    imp: &crate::roster::RosterImport,
    batch_id: &str,
    parsed: FeedParsed<crate::roster::RosterRow>,
    progress: &(dyn Fn(FeedProgress) + Sync),
) -> Result<FeedReport, StoreError> {
    use crate::roster::{RosterDetail, RosterId};
    use yibao_enrollment::fallback::{FallbackDecision, FallbackRecord, UnmatchedReason};

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
    let keys = lookup_keys(parsed.rows.iter().filter_map(|r| match &r.id {
        RosterId::Id { certno, legacy } => Some((certno.as_str(), legacy.as_deref())),
        RosterId::Fallback { .. } => None,
    }));
    progress(FeedProgress {
        stage: "match",
        done: 0,
        total,
    });
    let found = feed_lookup(&mut tx, &keys, total, progress).await?;
    let fallback_keys: Vec<FallbackKey> = parsed
        .rows
        .iter()
        .filter(|r| matches!(r.id, RosterId::Fallback { .. }))
        .map(|r| (r.psn_name.clone(), r.brdy.to_string(), r.gend.clone()))
        .collect();
    let candidates = fallback_candidates(&mut tx, &imp.region, &fallback_keys).await?;
    let matched: Vec<&str> = found.persons.keys().map(String::as_str).collect();
    // (psn_no, school_code, entry_date) → (psn_type, school_admdvs, grad_date) now held.
    let mut students: HashMap<(String, String, String), (String, String, String)> = HashMap::new();
    // (psn_no, dsab_type, begn_date) → (dsab_lv, end_date) now held.
    let mut certificates: HashMap<(String, String, String), (String, String)> = HashMap::new();
    // (psn_no, begn_date) → end_date of the 重度残疾 category now held.
    let mut severe: HashMap<(String, String), String> = HashMap::new();
    match imp.feed.kind {
        crate::feed::FeedKind::Education => {
            rows_for_keys(
                &mut tx,
                "SELECT psn_no, school_code, entry_date, psn_type, school_admdvs, grad_date \
                 FROM student_current",
                "student_segment",
                "psn_no",
                &matched,
                |r| {
                    students.insert(
                        (
                            r.try_get("psn_no")?,
                            r.try_get("school_code")?,
                            r.try_get("entry_date")?,
                        ),
                        (
                            r.try_get("psn_type")?,
                            r.try_get("school_admdvs")?,
                            r.try_get("grad_date")?,
                        ),
                    );
                    Ok(())
                },
            )
            .await?;
        }
        _ => {
            rows_for_keys(
                &mut tx,
                "SELECT psn_no, dsab_type, begn_date, dsab_lv, end_date FROM disability_current",
                "disability_certificate",
                "psn_no",
                &matched,
                |r| {
                    certificates.insert(
                        (
                            r.try_get("psn_no")?,
                            r.try_get("dsab_type")?,
                            r.try_get("begn_date")?,
                        ),
                        (r.try_get("dsab_lv")?, r.try_get("end_date")?),
                    );
                    Ok(())
                },
            )
            .await?;
            rows_for_keys(
                &mut tx,
                &format!(
                    "SELECT psn_no, begn_date, end_date FROM (SELECT psn_no, begn_date, end_date \
                     FROM identity_current WHERE idet_type = '{}') held",
                    crate::roster::SEVERE_DISABILITY_IDET_TYPE
                ),
                "identity_assignment",
                "psn_no",
                &matched,
                |r| {
                    severe.insert(
                        (r.try_get("psn_no")?, r.try_get("begn_date")?),
                        r.try_get("end_date")?,
                    );
                    Ok(())
                },
            )
            .await?;
        }
    }
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
    let mut next_student = next_id(&mut tx, "student_segment", "seq").await?;
    let mut next_certificate = next_id(&mut tx, "disability_certificate", "seq").await?;
    let mut next_assignment = next_id(&mut tx, "identity_assignment", "seq").await?;
    let mut student_writes: Vec<DetailWrite> = Vec::new();
    let mut certificate_writes: Vec<DetailWrite> = Vec::new();
    let mut fallback_sources: Vec<FallbackSource> = Vec::new();
    let mut counts = Counts {
        read: parsed.rows_read,
        ..Counts::default()
    };
    w.file_cases(&parsed.cases);
    let mut refused = parsed.refused;
    for row in &parsed.rows {
        let key = row.key();
        let (certno, legacy) = match &row.id {
            RosterId::Id { certno, legacy } => (certno, legacy),
            RosterId::Fallback { sent, base } => {
                counts.taken += 1;
                let record = FallbackRecord {
                    sent_certno: sent.clone(),
                    brdy: row.brdy,
                    gend: row.gend.clone(),
                };
                let fkey = (row.psn_name.clone(), row.brdy.to_string(), row.gend.clone());
                let pool_of = candidates.get(&fkey).map(Vec::as_slice).unwrap_or(&[]);
                let decision = if imp.region.is_empty() {
                    FallbackDecision::Unmatched(*base)
                } else {
                    yibao_enrollment::decide_fallback(&record, *base, pool_of)
                };
                match decision {
                    FallbackDecision::Proposed {
                        psn_no,
                        confidence_permille,
                    } => {
                        let stored = pool_of
                            .iter()
                            .find(|c| c.psn_no == psn_no)
                            .map(|c| c.certno.as_str())
                            .unwrap_or("");
                        let reason = format!(
                            "{}: name, birth date and sex match only {psn_no} (certno {stored}) in region {}; \
                             confidence {confidence_permille}‰; nothing is applied until a clerk confirms",
                            base.code(),
                            imp.region
                        );
                        w.case("fallback_match", &psn_no, sent, &reason, row.line);
                        fallback_sources.push(FallbackSource {
                            line: row.line,
                            key,
                            payload: row.payload.clone(),
                            psn_no,
                            reason,
                            confidence_permille: Some(i64::from(confidence_permille)),
                        });
                    }
                    FallbackDecision::Unmatched(why) => {
                        let detail = match why {
                            UnmatchedReason::Ambiguous => format!(
                                "{} persons in region {} have this name, birth date and sex",
                                pool_of.len(),
                                imp.region
                            ),
                            UnmatchedReason::ConflictingId => format!(
                                "every person in region {} with this name, birth date and sex holds another certno",
                                imp.region
                            ),
                            _ if imp.region.is_empty() => {
                                "the import named no region, so no fallback match was tried".into()
                            }
                            _ => format!(
                                "nobody in region {} has this name, birth date and sex",
                                imp.region
                            ),
                        };
                        let reason = format!("{}: {detail}", why.code());
                        w.case("unmatched", "", sent, &reason, row.line);
                        fallback_sources.push(FallbackSource {
                            line: row.line,
                            key,
                            payload: row.payload.clone(),
                            psn_no: String::new(),
                            reason,
                            confidence_permille: None,
                        });
                    }
                }
                continue;
            }
        };
        let Some((psn_no, method)) = w.match_known(
            &found,
            &mut counts,
            &mut refused,
            (row.line, &key, &row.payload),
            certno,
            legacy.as_deref(),
            &row.psn_name,
            "record",
        )?
        else {
            continue;
        };
        let mut outcome = "recorded";
        let mut note = String::new();
        match &row.detail {
            RosterDetail::Student {
                psn_type,
                school_code,
                school_admdvs,
                entry_date,
                grad_date,
                ..
            } => {
                let held_key = (psn_no.clone(), school_code.clone(), entry_date.clone());
                let now = (psn_type.clone(), school_admdvs.clone(), grad_date.clone());
                let kind = match students.get(&held_key) {
                    Some(held) if *held == now => None,
                    Some(_) => Some("student_change"),
                    None => Some("student_begin"),
                };
                match kind {
                    None => outcome = "unchanged",
                    Some(kind) => {
                        let effective = if kind == "student_change" && !grad_date.is_empty() {
                            grad_date.clone()
                        } else {
                            entry_date.clone()
                        };
                        let event =
                            w.event(&psn_no, kind, &effective, row.line, row.payload.clone());
                        student_writes.push(DetailWrite {
                            seq: next_student,
                            psn_no: psn_no.clone(),
                            detail: row.detail.clone(),
                            line: row.line,
                            event_id: event,
                        });
                        next_student += 1;
                        students.insert(held_key, now);
                    }
                }
            }
            RosterDetail::Disability {
                dsab_type,
                dsab_lv,
                begn_date,
                end_date,
            } => {
                let held_key = (psn_no.clone(), dsab_type.clone(), begn_date.clone());
                let now = (dsab_lv.clone(), end_date.clone());
                let held = certificates.get(&held_key).cloned();
                let severe_key = (psn_no.clone(), begn_date.clone());
                let category_held = severe.get(&severe_key).cloned();
                if held.as_ref() == Some(&now) {
                    outcome = "unchanged";
                } else {
                    let begins = held.is_none();
                    let kind = match (row.detail.severe(), category_held.is_none(), begins) {
                        (true, true, _) => "identity_begin",
                        (true, false, _) => "identity_change",
                        (false, _, true) => "disability_begin",
                        (false, _, false) => "disability_change",
                    };
                    let effective = if !begins && !end_date.is_empty() {
                        end_date.clone()
                    } else {
                        begn_date.clone()
                    };
                    let event = w.event(&psn_no, kind, &effective, row.line, row.payload.clone());
                    certificate_writes.push(DetailWrite {
                        seq: next_certificate,
                        psn_no: psn_no.clone(),
                        detail: row.detail.clone(),
                        line: row.line,
                        event_id: event,
                    });
                    next_certificate += 1;
                    certificates.insert(held_key, now);
                    if row.detail.severe() {
                        if category_held.as_deref() != Some(end_date.as_str()) {
                            let category = yibao_enrollment::Category::SevereDisability;
                            w.assignments.push(Assignment {
                                seq: next_assignment,
                                psn_no: psn_no.clone(),
                                idet_type: crate::roster::SEVERE_DISABILITY_IDET_TYPE.to_owned(),
                                category: category.key(),
                                sp_psn_type: category.sp_psn_type().unwrap_or(""),
                                begn_date: begn_date.clone(),
                                end_date: end_date.clone(),
                                line: row.line,
                                event_id: event,
                            });
                            next_assignment += 1;
                            severe.insert(severe_key, end_date.clone());
                            outcome = "assigned";
                        }
                    } else if category_held.is_some() {
                        // A level lowered below 2 would take a category away (and money with
                        // it): a clerk decides, nothing is ended automatically.
                        note = format!(
                            "dsab_lv {dsab_lv} no longer gives 重度残疾, which the person holds from {begn_date}; \
                             the category stays until a clerk ends it"
                        );
                        w.case("data_quality", &psn_no, certno, &note, row.line);
                    }
                }
            }
        }
        w.sources.push((
            row.line,
            key,
            row.payload.clone(),
            psn_no,
            method,
            outcome,
            note,
        ));
    }
    counts.refused = refused.len() as u64;
    w.refused(&refused);
    // The roster's own rows, written before the feed's writer commits the transaction.
    let recorded_at = ts(imp.feed.recorded_at);
    let extra = (student_writes.len() + certificate_writes.len() + fallback_sources.len()) as u64;
    let mut done = 0u64;
    feed_insert(
        &mut tx,
        "student_segment",
        &[
            "seq",
            "psn_no",
            "psn_type",
            "school_code",
            "school_admdvs",
            "entry_date",
            "grad_date",
            "valid_to",
            "batch_id",
            "line",
            "recorded_at",
            "event_id",
        ],
        student_writes
            .iter()
            .filter_map(|s| match &s.detail {
                RosterDetail::Student {
                    psn_type,
                    school_code,
                    school_admdvs,
                    entry_date,
                    grad_date,
                    valid_to,
                } => Some(vec![
                    V::I(s.seq),
                    V::T(&s.psn_no),
                    V::T(psn_type),
                    V::T(school_code),
                    V::T(school_admdvs),
                    V::T(entry_date),
                    V::T(grad_date),
                    V::T(valid_to),
                    V::T(batch_id),
                    V::I(s.line as i64),
                    V::T(&recorded_at),
                    V::I(s.event_id),
                ]),
                RosterDetail::Disability { .. } => None,
            })
            .collect(),
        &mut done,
        extra,
        progress,
    )
    .await?;
    feed_insert(
        &mut tx,
        "disability_certificate",
        &[
            "seq",
            "psn_no",
            "dsab_type",
            "dsab_lv",
            "begn_date",
            "end_date",
            "batch_id",
            "line",
            "recorded_at",
            "event_id",
        ],
        certificate_writes
            .iter()
            .filter_map(|c| match &c.detail {
                RosterDetail::Disability {
                    dsab_type,
                    dsab_lv,
                    begn_date,
                    end_date,
                } => Some(vec![
                    V::I(c.seq),
                    V::T(&c.psn_no),
                    V::T(dsab_type),
                    V::T(dsab_lv),
                    V::T(begn_date),
                    V::T(end_date),
                    V::T(batch_id),
                    V::I(c.line as i64),
                    V::T(&recorded_at),
                    V::I(c.event_id),
                ]),
                RosterDetail::Student { .. } => None,
            })
            .collect(),
        &mut done,
        extra,
        progress,
    )
    .await?;
    let dept = imp.feed.source_dept.as_str();
    feed_insert(
        &mut tx,
        "registry_source_record",
        &[
            "batch_id",
            "line",
            "source_dept",
            "record_key",
            "payload",
            "psn_no",
            "match_method",
            "outcome",
            "reason",
            "match_confidence_permille",
        ],
        fallback_sources
            .iter()
            .map(|s| {
                vec![
                    V::T(batch_id),
                    V::I(s.line as i64),
                    V::T(dept),
                    V::T(&s.key),
                    V::T(&s.payload),
                    V::T(&s.psn_no),
                    V::T(if s.confidence_permille.is_some() {
                        "name_birth_sex"
                    } else {
                        ""
                    }),
                    V::T("case"),
                    V::T(&s.reason),
                    V::N(s.confidence_permille),
                ]
            })
            .collect(),
        &mut done,
        extra,
        progress,
    )
    .await?;
    feed_write(tx, &imp.feed, batch_id, counts, w, progress).await
}

pub(crate) async fn students_as_of(
    pool: &Pool,
    psn_no: &str,
    date: NaiveDate,
) -> Result<Vec<crate::roster::StudentSegment>, StoreError> {
    sqlx::query(
        "SELECT psn_type, school_code, school_admdvs, entry_date, grad_date, valid_to \
         FROM student_current WHERE psn_no = $1 AND entry_date <= $2 \
           AND (valid_to = '' OR valid_to >= $2) ORDER BY entry_date, school_code",
    )
    .bind(psn_no)
    .bind(date.to_string())
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(crate::roster::StudentSegment {
            psn_type: r.try_get("psn_type")?,
            school_code: r.try_get("school_code")?,
            school_admdvs: r.try_get("school_admdvs")?,
            entry_date: r.try_get("entry_date")?,
            grad_date: r.try_get("grad_date")?,
            valid_to: r.try_get("valid_to")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()
    .map_err(StoreError::from)
}

pub(crate) async fn disabilities_as_of(
    pool: &Pool,
    psn_no: &str,
    date: NaiveDate,
) -> Result<Vec<crate::roster::DisabilityHeld>, StoreError> {
    sqlx::query(
        "SELECT dsab_type, dsab_lv, begn_date, end_date FROM disability_current \
         WHERE psn_no = $1 AND begn_date <= $2 AND (end_date = '' OR end_date >= $2) \
         ORDER BY begn_date, dsab_type",
    )
    .bind(psn_no)
    .bind(date.to_string())
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(crate::roster::DisabilityHeld {
            dsab_type: r.try_get("dsab_type")?,
            dsab_lv: r.try_get("dsab_lv")?,
            begn_date: r.try_get("begn_date")?,
            end_date: r.try_get("end_date")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()
    .map_err(StoreError::from)
}

pub(crate) async fn source_record_match(
    pool: &Pool,
    batch_id: &str,
    line: u64,
) -> Result<Option<(String, String, Option<i64>)>, StoreError> {
    let Some(r) = sqlx::query(
        "SELECT psn_no, match_method, match_confidence_permille FROM registry_source_record \
         WHERE batch_id = $1 AND line = $2",
    )
    .bind(batch_id)
    .bind(i64::try_from(line).unwrap_or(i64::MAX))
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some((
        r.try_get("psn_no")?,
        r.try_get("match_method")?,
        r.try_get("match_confidence_permille")?,
    )))
}
