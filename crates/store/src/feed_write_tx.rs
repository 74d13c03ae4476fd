// The writes of a department feed batch (`feed_tx.rs` matches the rows): the events, persons,
// identifiers, household segments, identity assignments, cases and source records a file
// makes, gathered in memory and written with multi-row inserts in the import's transaction, and
// the batch row with its counts.
// Compiled once per backend; see lib.rs.

/// An identity category to write (`identity_assignment`).
struct Assignment {
    seq: i64,
    psn_no: String,
    idet_type: String,
    category: &'static str,
    sp_psn_type: &'static str,
    begn_date: String,
    end_date: String,
    line: u64,
    event_id: i64,
}

/// What one import writes, gathered before the first insert.
#[derive(Default)]
struct FeedWrites {
    persons: Vec<[String; 5]>,
    /// event_id, psn_no, kind, effective_date, line, payload.
    events: Vec<(i64, String, &'static str, String, u64, String)>,
    /// certno, psn_no, role, event_id.
    identifiers: Vec<(String, String, &'static str, i64)>,
    /// seq, psn_no, hh_id, hh_rel, admdvs, event_id.
    segments: Vec<(i64, String, String, String, String, i64)>,
    assignments: Vec<Assignment>,
    /// case_id, kind, psn_no, certno, reason, line.
    cases: Vec<(i64, &'static str, String, String, String, u64)>,
    /// line, record_key, payload, psn_no, method, outcome, reason.
    sources: Vec<(
        u64,
        String,
        String,
        String,
        &'static str,
        &'static str,
        String,
    )>,
    next_event: i64,
    next_case: i64,
}

impl FeedWrites {
    fn event(
        &mut self,
        psn_no: &str,
        kind: &'static str,
        effective: &str,
        line: u64,
        payload: String,
    ) -> i64 {
        let id = self.next_event;
        self.next_event += 1;
        self.events.push((
            id,
            psn_no.to_owned(),
            kind,
            effective.to_owned(),
            line,
            payload,
        ));
        id
    }

    fn case(&mut self, kind: &'static str, psn_no: &str, certno: &str, reason: &str, line: u64) {
        let id = self.next_case;
        self.next_case += 1;
        self.cases.push((
            id,
            kind,
            psn_no.to_owned(),
            certno.to_owned(),
            reason.to_owned(),
            line,
        ));
    }

    fn file_cases(&mut self, cases: &[FileCase]) {
        for c in cases {
            self.case(c.kind, "", &c.certno, &c.reason, c.line);
        }
    }

    fn refused(&mut self, refused: &[(RefusedRow, String)]) {
        for (r, raw) in refused {
            self.sources.push((
                r.line,
                String::new(),
                raw.clone(),
                String::new(),
                "",
                "refused",
                r.reason.clone(),
            ));
        }
    }

    /// Matches one checked row (by its number and legacy form) to a person the registry holds,
    /// as the identity list and the rosters do: `None` when the numbers name two persons (the row
    /// is refused and a case opened), name nobody (an `unmatched` case) or a person under
    /// another name (a `data_quality` case: the department's record is not applied); each with
    /// its source record. `what` names what is not applied.
    #[allow(clippy::too_many_arguments)]
    fn match_known(
        &mut self,
        found: &Lookup,
        counts: &mut Counts,
        refused: &mut Vec<(RefusedRow, String)>,
        row: (u64, &str, &str),
        certno: &str,
        legacy: Option<&str>,
        psn_name: &str,
        what: &str,
    ) -> Result<Option<(String, &'static str)>, StoreError> {
        let (line, key, payload) = row;
        let hit = match found.resolve(certno, legacy) {
            Ok(hit) => hit,
            Err(reason) => {
                self.case("data_quality", "", certno, &reason, line);
                refused.push((RefusedRow { line, reason }, payload.to_owned()));
                return Ok(None);
            }
        };
        counts.taken += 1;
        let Some((psn_no, method)) = hit else {
            let reason = "no person with this certno in the registry".to_owned();
            self.case("unmatched", "", certno, &reason, line);
            self.sources.push((
                line,
                key.to_owned(),
                payload.to_owned(),
                String::new(),
                "",
                "case",
                reason,
            ));
            return Ok(None);
        };
        counts.matched += 1;
        let known = found
            .persons
            .get(&psn_no)
            .ok_or_else(|| StoreError::Invariant(format!("person {psn_no} not read")))?;
        if normalise_name_stored(&known.psn_name) != psn_name {
            let reason = format!(
                "psn_name `{psn_name}` differs from the registry's `{}`; the {what} is not applied",
                known.psn_name
            );
            self.case("data_quality", &psn_no, certno, &reason, line);
            self.sources.push((
                line,
                key.to_owned(),
                payload.to_owned(),
                psn_no,
                method,
                "case",
                reason,
            ));
            return Ok(None);
        }
        Ok(Some((psn_no, method)))
    }

    fn rows(&self) -> u64 {
        (self.persons.len()
            + self.events.len()
            + self.identifiers.len()
            + self.segments.len()
            + self.assignments.len()
            + self.cases.len()
            + self.sources.len()) as u64
    }
}

/// Counts of a batch (what the report and `registry_batch` carry).
#[derive(Default, Clone, Copy)]
struct Counts {
    read: u64,
    taken: u64,
    matched: u64,
    refused: u64,
    created: u64,
}

async fn feed_begin(pool: &Pool, batch_id: &str) -> Result<Option<Tx<'static>>, StoreError> {
    let mut tx = begin_write(pool).await?;
    if IS_PG {
        // One feed import at a time: ids are taken as one more than the largest.
        sqlx::query("LOCK TABLE registry_batch IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
    }
    let exists = sqlx::query("SELECT 1 FROM registry_batch WHERE batch_id = $1")
        .bind(batch_id)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if exists {
        tx.rollback().await?;
        return Ok(None);
    }
    Ok(Some(tx))
}

/// Inserts `rows` in chunks, reporting progress after each.
async fn feed_insert(
    tx: &mut Tx<'_>,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<V<'_>>>,
    done: &mut u64,
    total: u64,
    progress: &(dyn Fn(FeedProgress) + Sync),
) -> Result<(), StoreError> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<V<'_>>> = rows.by_ref().take(limits::FEED_WRITE_ROWS_CHUNK).collect();
        *done += chunk.len() as u64;
        insert_rows(tx, table, columns, chunk, "").await?;
        progress(FeedProgress {
            stage: "write",
            done: (*done).min(total),
            total,
        });
    }
    Ok(())
}

async fn feed_write(
    mut tx: Tx<'_>,
    imp: &FeedImport,
    batch_id: &str,
    counts: Counts,
    w: FeedWrites,
    progress: &(dyn Fn(FeedProgress) + Sync),
) -> Result<FeedReport, StoreError> {
    let recorded_at = ts(imp.recorded_at);
    let dept = imp.source_dept.as_str();
    sqlx::query(
        "INSERT INTO registry_batch (batch_id, kind, source_dept, file_name, actor, recorded_at, \
         rows_read, rows_taken, rows_matched, rows_refused, rows_created, cases_opened) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(batch_id)
    .bind(imp.kind.code())
    .bind(dept)
    .bind(&imp.file_name)
    .bind(&imp.actor)
    .bind(&recorded_at)
    .bind(counts.read as i64)
    .bind(counts.taken as i64)
    .bind(counts.matched as i64)
    .bind(counts.refused as i64)
    .bind(counts.created as i64)
    .bind(w.cases.len() as i64)
    .execute(&mut *tx)
    .await?;
    let total = w.rows();
    let mut done = 0u64;
    let today = imp.today.to_string();
    feed_insert(
        &mut tx,
        "person",
        &[
            "psn_no", "certno", "psn_name", "gend", "brdy", "naty", "tel",
        ],
        w.persons
            .iter()
            .map(|p| {
                vec![
                    V::T(&p[0]),
                    V::T(&p[1]),
                    V::T(&p[2]),
                    V::T(&p[3]),
                    V::T(&p[4]),
                    V::T(""),
                    V::T(""),
                ]
            })
            .collect(),
        &mut done,
        total,
        progress,
    )
    .await?;
    feed_insert(
        &mut tx,
        "registry_event",
        &[
            "event_id",
            "psn_no",
            "kind",
            "effective_date",
            "recorded_at",
            "source_dept",
            "batch_id",
            "line",
            "actor",
            "payload",
        ],
        w.events
            .iter()
            .map(|e| {
                vec![
                    V::I(e.0),
                    V::T(&e.1),
                    V::T(e.2),
                    V::T(&e.3),
                    V::T(&recorded_at),
                    V::T(dept),
                    V::T(batch_id),
                    V::I(e.4 as i64),
                    V::T(&imp.actor),
                    V::T(&e.5),
                ]
            })
            .collect(),
        &mut done,
        total,
        progress,
    )
    .await?;
    feed_insert(
        &mut tx,
        "person_identifier",
        &[
            "certno",
            "psn_no",
            "psn_cert_type",
            "role",
            "valid_from",
            "recorded_at",
            "event_id",
        ],
        w.identifiers
            .iter()
            .map(|i| {
                vec![
                    V::T(&i.0),
                    V::T(&i.1),
                    V::T("01"),
                    V::T(i.2),
                    V::T(&today),
                    V::T(&recorded_at),
                    V::I(i.3),
                ]
            })
            .collect(),
        &mut done,
        total,
        progress,
    )
    .await?;
    feed_insert(
        &mut tx,
        "household_member",
        &[
            "seq",
            "psn_no",
            "hh_id",
            "hh_rel",
            "admdvs",
            "valid_from",
            "recorded_at",
            "event_id",
        ],
        w.segments
            .iter()
            .map(|s| {
                vec![
                    V::I(s.0),
                    V::T(&s.1),
                    V::T(&s.2),
                    V::T(&s.3),
                    V::T(&s.4),
                    V::T(&today),
                    V::T(&recorded_at),
                    V::I(s.5),
                ]
            })
            .collect(),
        &mut done,
        total,
        progress,
    )
    .await?;
    feed_insert(
        &mut tx,
        "identity_assignment",
        &[
            "seq",
            "psn_no",
            "idet_type",
            "category",
            "sp_psn_type",
            "begn_date",
            "end_date",
            "source_dept",
            "batch_id",
            "line",
            "recorded_at",
            "event_id",
        ],
        w.assignments
            .iter()
            .map(|a| {
                vec![
                    V::I(a.seq),
                    V::T(&a.psn_no),
                    V::T(&a.idet_type),
                    V::T(a.category),
                    V::T(a.sp_psn_type),
                    V::T(&a.begn_date),
                    V::T(&a.end_date),
                    V::T(dept),
                    V::T(batch_id),
                    V::I(a.line as i64),
                    V::T(&recorded_at),
                    V::I(a.event_id),
                ]
            })
            .collect(),
        &mut done,
        total,
        progress,
    )
    .await?;
    feed_insert(
        &mut tx,
        "registry_case",
        &[
            "case_id",
            "kind",
            "psn_no",
            "certno",
            "reason",
            "source_dept",
            "batch_id",
            "line",
            "status",
            "opened_at",
        ],
        w.cases
            .iter()
            .map(|c| {
                vec![
                    V::I(c.0),
                    V::T(c.1),
                    V::T(&c.2),
                    V::T(&c.3),
                    V::T(&c.4),
                    V::T(dept),
                    V::T(batch_id),
                    V::I(c.5 as i64),
                    V::T("open"),
                    V::T(&recorded_at),
                ]
            })
            .collect(),
        &mut done,
        total,
        progress,
    )
    .await?;
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
        ],
        w.sources
            .iter()
            .map(|s| {
                vec![
                    V::T(batch_id),
                    V::I(s.0 as i64),
                    V::T(dept),
                    V::T(&s.1),
                    V::T(&s.2),
                    V::T(&s.3),
                    V::T(s.4),
                    V::T(s.5),
                    V::T(&s.6),
                ]
            })
            .collect(),
        &mut done,
        total,
        progress,
    )
    .await?;
    tx.commit().await?;
    let mut refusals: Vec<RefusedRow> = w
        .sources
        .iter()
        .filter(|s| s.5 == "refused")
        .map(|s| RefusedRow {
            line: s.0,
            reason: s.6.clone(),
        })
        .collect();
    refusals.sort_by_key(|r| r.line);
    let cases = w
        .cases
        .into_iter()
        .map(|c| RegistryCase {
            case_id: c.0,
            kind: c.1.to_owned(),
            psn_no: c.2,
            certno: c.3,
            reason: c.4,
            batch_id: batch_id.to_owned(),
            line: c.5,
            status: "open".to_owned(),
        })
        .collect::<Vec<_>>();
    Ok(FeedReport {
        batch_id: batch_id.to_owned(),
        replayed: false,
        rows_read: counts.read,
        rows_taken: counts.taken,
        rows_matched: counts.matched,
        rows_refused: counts.refused,
        persons_created: counts.created,
        cases_opened: cases.len() as u64,
        refusals,
        cases,
    })
}
