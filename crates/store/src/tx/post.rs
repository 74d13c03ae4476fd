// What a settlement reads and writes beside itself: the person's state (relation, identities,
// tier, recognitions, accumulators), account balances, accumulator deltas and ledger transfers.
// Compiled once per backend; see lib.rs.

struct PersonRow {
    psn_name: String,
    certno: String,
    gend: String,
    naty: String,
    brdy: String,
}

fn age_years(brdy: &str, on: NaiveDate) -> i64 {
    let Ok(b) = NaiveDate::parse_from_str(brdy, "%Y-%m-%d") else {
        return 0;
    };
    let mut age = i64::from(on.year() - b.year());
    if (on.month(), on.day()) < (b.month(), b.day()) {
        age -= 1;
    }
    age.max(0)
}

/// A personal account's balance in the transaction; with `lock` (PostgreSQL) the row stays
/// locked until the commit, for a settlement that will draw on it.
async fn account_balance_tx(
    tx: &mut Tx<'_>,
    account: &str,
    lock: bool,
) -> Result<Option<i64>, StoreError> {
    let sql = if IS_PG && lock {
        "SELECT balance_fen FROM ledger_balance WHERE account_code = $1 AND shard = 0 FOR UPDATE"
    } else {
        "SELECT balance_fen FROM ledger_balance WHERE account_code = $1 AND shard = 0"
    };
    Ok(sqlx::query(sql)
        .bind(account)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?)
}

/// What a settlement reads about its person besides the accounts.
struct PersonState {
    psn_type: String,
    insuplc_admdvs: String,
    /// Identity categories in force, sorted.
    sp_psn_types: Vec<String>,
    /// Contribution tier (缴费档次) in force for the insurance type, if any.
    tier: Option<String>,
    /// Chronic disease recognitions in force: (disease code, begndate, enddate, institution).
    recognitions: Vec<(String, String, String, String)>,
    /// Year-to-date accumulators by insurance-year label (the two candidate labels only).
    ytd_by_year: BTreeMap<i64, Ytd>,
}

/// The person's insurance relation for `insutype` on `date` (as [`active_relation`]), identity
/// categories, contribution tier and chronic recognitions in force, year-to-date accumulators
/// of the insurance years `years` (the settle date's calendar year and the one before: the
/// policy says which label counts), and for a resident relation the coverage of the visit date
/// `care_on` (the year's assessment and payments, its benefit period: spec enrollment.md §4.2,
/// [`crate::tax::resident_coverage`]), in one round trip: the eight reads (identity categories
/// come from the registry's own rows and from department feeds, less a feed record whose
/// assistance an undone decision withdrew by `date`) are one `UNION ALL`, each arm tagged in
/// its first column. The caller holds the person's lock, and these rows change only under it.
async fn person_state(
    tx: &mut Tx<'_>,
    psn_no: &str,
    insutype: &str,
    date: NaiveDate,
    care_on: NaiveDate,
    years: [i64; 2],
) -> Result<PersonState, StoreError> {
    let d = date.to_string();
    let rows = sqlx::query(
        "SELECT CAST(0 AS BIGINT), psn_type, insuplc_admdvs, psn_insu_stas, CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT) \
         FROM insurance WHERE psn_no = $1 AND insutype = $2 AND begndate <= $3 AND (enddate = '' OR enddate >= $3) \
         UNION ALL \
         SELECT CAST(1 AS BIGINT), sp_psn_type, '', '', CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT) \
         FROM identity WHERE psn_no = $1 AND begndate <= $3 AND (enddate = '' OR enddate >= $3) \
         UNION ALL \
         SELECT CAST(1 AS BIGINT), sp_psn_type, '', '', CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT) \
         FROM identity_current c WHERE c.psn_no = $1 AND c.sp_psn_type <> '' AND c.begn_date <= $3 \
              AND (c.end_date = '' OR c.end_date >= $3) \
              AND NOT EXISTS (SELECT 1 FROM identity_withdrawal w WHERE w.psn_no = c.psn_no \
                  AND w.idet_type = c.idet_type AND w.begn_date = c.begn_date \
                  AND w.effect = 'assistance' AND w.effective_from <= $3) \
         UNION ALL \
         SELECT CAST(2 AS BIGINT), CAST(year AS TEXT), '', '', inpatient_admissions, hifp_inpatient, hifp_outpatient, \
                outpatient_deductible, hifob, hifmi_base, hifmi, maf, maf_deductible \
         FROM ytd WHERE psn_no = $1 AND (year = $4 OR year = $5) \
         UNION ALL \
         SELECT CAST(3 AS BIGINT), key, CAST(year AS TEXT), '', amount_fen, CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT) \
         FROM ytd_keyed WHERE psn_no = $1 AND (year = $4 OR year = $5) \
         UNION ALL \
         SELECT CAST(4 AS BIGINT), clct_tier, '', '', CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT) \
         FROM contribution_tier WHERE psn_no = $1 AND insutype = $2 AND begndate <= $3 AND (enddate = '' OR enddate >= $3) \
         UNION ALL \
         SELECT CAST(5 AS BIGINT), opsp_dise_code, begndate || '|' || enddate, fixmedins_code, CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT) \
         FROM chronic_recognition WHERE psn_no = $1 AND begndate <= $3 AND (enddate = '' OR enddate >= $3) \
         UNION ALL \
         SELECT CAST(6 AS BIGINT), COALESCE((SELECT b.start_date FROM benefit_period b WHERE b.psn_no = a.psn_no \
                AND b.insutype = a.insutype AND b.year = $7), ''), a.clct_type, '', a.psn_clct_fen, \
                COALESCE((SELECT CAST(SUM(p.amount_fen) AS BIGINT) FROM contribution_payment p \
                WHERE p.assessment_id = a.assessment_id), CAST(0 AS BIGINT)), CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT) \
         FROM contribution_assessment a WHERE a.psn_no = $1 AND a.insutype = $2 AND a.insutype = '390' \
              AND a.period = $6 AND (a.clct_type = 'normal' OR a.part = 'refund')",
    )
    .bind(psn_no)
    .bind(insutype)
    .bind(&d)
    .bind(years[0])
    .bind(years[1])
    .bind(format!("{:04}", care_on.year()))
    .bind(i64::from(care_on.year()))
    .fetch_all(&mut **tx)
    .await?;
    // (psn_insu_stas, psn_type, insuplc_admdvs) of the relation that `active_relation` picks:
    // the lowest status.
    let mut relation: Option<(String, String, String)> = None;
    let mut sp_psn_types = Vec::new();
    let mut tier = None;
    let mut recognitions = Vec::new();
    let mut ytd_by_year: BTreeMap<i64, Ytd> = BTreeMap::new();
    // A resident relation's year: (individual part, paid) of its assessment, its benefit start.
    let mut resident_year: Option<(i64, i64)> = None;
    let mut benefit_start: Option<NaiveDate> = None;
    let mut refunded = false;
    let year_of = |text: String| -> Result<i64, StoreError> {
        text.parse().map_err(|_| {
            StoreError::Invariant(format!("accumulator year {text:?} is not a number"))
        })
    };
    for r in rows {
        let tag: i64 = r.try_get(0)?;
        match tag {
            0 => {
                let found: (String, String, String) = (r.try_get(3)?, r.try_get(1)?, r.try_get(2)?);
                if relation.as_ref().is_none_or(|best| found.0 < best.0) {
                    relation = Some(found);
                }
            }
            1 => {
                // The registry's own rows and a department feed's may name the same type.
                let sp_psn_type: String = r.try_get(1)?;
                if !sp_psn_types.contains(&sp_psn_type) {
                    sp_psn_types.push(sp_psn_type);
                }
            }
            2 => {
                let ytd = ytd_by_year.entry(year_of(r.try_get(1)?)?).or_default();
                ytd.inpatient_admissions = r.try_get(4)?;
                ytd.hifp_inpatient = r.try_get(5)?;
                ytd.hifp_outpatient = r.try_get(6)?;
                ytd.outpatient_deductible = r.try_get(7)?;
                ytd.hifob = r.try_get(8)?;
                ytd.hifmi_base = r.try_get(9)?;
                ytd.hifmi = r.try_get(10)?;
                ytd.maf = r.try_get(11)?;
                ytd.maf_deductible = r.try_get(12)?;
            }
            3 => {
                let ytd = ytd_by_year.entry(year_of(r.try_get(2)?)?).or_default();
                ytd.keyed.insert(r.try_get(1)?, r.try_get(4)?);
            }
            4 => tier = Some(r.try_get(1)?),
            6 => {
                // A year's parts (the run's and a correction's) are owed and paid together; a
                // refund by command takes the year back.
                if r.try_get::<String, _>(2)? == "refund" {
                    refunded = true;
                } else {
                    let (due, paid): (i64, i64) = (r.try_get(4)?, r.try_get(5)?);
                    let (d0, p0) = resident_year.unwrap_or((0, 0));
                    resident_year = Some((d0 + due, p0 + paid));
                }
                let start: String = r.try_get(1)?;
                if !start.is_empty() {
                    benefit_start = Some(stored_day(&start)?);
                }
            }
            _ => {
                let period: String = r.try_get(2)?;
                let (begndate, enddate) = period.split_once('|').unwrap_or((&period, ""));
                recognitions.push((
                    r.try_get(1)?,
                    begndate.to_owned(),
                    enddate.to_owned(),
                    r.try_get(3)?,
                ));
            }
        }
    }
    sp_psn_types.sort();
    recognitions.sort();
    let Some((stas, psn_type, insuplc_admdvs)) = relation else {
        return Err(StoreError::refused(
            "insutype",
            format!("{psn_no} has no {insutype} relation on {d}"),
        ));
    };
    if stas != "1" {
        return Err(StoreError::refused(
            "insutype",
            format!("{psn_no}'s {insutype} relation is not active (psn_insu_stas {stas})"),
        ));
    }
    crate::tax::resident_coverage(psn_no, care_on, resident_year, benefit_start, refunded)?;
    Ok(PersonState {
        psn_type,
        insuplc_admdvs,
        sp_psn_types,
        tier,
        recognitions,
        ytd_by_year,
    })
}

/// Adds `delta` to the person-year accumulators.
async fn apply_ytd(tx: &mut Tx<'_>, psn_no: &str, year: i64, d: &Ytd) -> Result<(), StoreError> {
    let fields = [
        d.inpatient_admissions,
        d.hifp_inpatient,
        d.hifp_outpatient,
        d.outpatient_deductible,
        d.hifob,
        d.hifmi_base,
        d.hifmi,
        d.maf,
        d.maf_deductible,
    ];
    // A settlement only adds (one upsert); a reversal subtracts from a row that must exist (an
    // update, so that the CHECKs see the result, never a negative insert).
    let sql = if fields.iter().all(|x| *x >= 0) {
        "INSERT INTO ytd (psn_no, year, inpatient_admissions, hifp_inpatient, hifp_outpatient, outpatient_deductible, hifob, hifmi_base, hifmi, maf, maf_deductible) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (psn_no, year) DO UPDATE SET \
         inpatient_admissions = ytd.inpatient_admissions + excluded.inpatient_admissions, \
         hifp_inpatient = ytd.hifp_inpatient + excluded.hifp_inpatient, \
         hifp_outpatient = ytd.hifp_outpatient + excluded.hifp_outpatient, \
         outpatient_deductible = ytd.outpatient_deductible + excluded.outpatient_deductible, \
         hifob = ytd.hifob + excluded.hifob, hifmi_base = ytd.hifmi_base + excluded.hifmi_base, \
         hifmi = ytd.hifmi + excluded.hifmi, maf = ytd.maf + excluded.maf, maf_deductible = ytd.maf_deductible + excluded.maf_deductible"
    } else {
        "UPDATE ytd SET inpatient_admissions = inpatient_admissions + $3, hifp_inpatient = hifp_inpatient + $4, \
         hifp_outpatient = hifp_outpatient + $5, outpatient_deductible = outpatient_deductible + $6, hifob = hifob + $7, \
         hifmi_base = hifmi_base + $8, hifmi = hifmi + $9, maf = maf + $10, maf_deductible = maf_deductible + $11 \
         WHERE psn_no = $1 AND year = $2"
    };
    let mut q = sqlx::query(sql).bind(psn_no).bind(year);
    for x in fields {
        q = q.bind(x);
    }
    if q.execute(&mut **tx).await?.rows_affected() != 1 {
        return Err(StoreError::Invariant(format!(
            "no accumulator row for {psn_no} in {year} to take a reversal from"
        )));
    }
    for (key, fen) in &d.keyed {
        let sql = if *fen >= 0 {
            "INSERT INTO ytd_keyed (psn_no, year, key, amount_fen) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (psn_no, year, key) DO UPDATE SET amount_fen = ytd_keyed.amount_fen + excluded.amount_fen"
        } else {
            "UPDATE ytd_keyed SET amount_fen = amount_fen + $4 WHERE psn_no = $1 AND year = $2 AND key = $3"
        };
        let n = sqlx::query(sql)
            .bind(psn_no)
            .bind(year)
            .bind(key)
            .bind(fen)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Err(StoreError::Invariant(format!(
                "no accumulator {key} for {psn_no} in {year} to take a reversal from"
            )));
        }
    }
    Ok(())
}

/// One ledger movement: (debit, credit, amount > 0, kind).
type Transfer = (String, String, i64, String);

/// Writes transfers under `ref_id`, booked on the local date `booked_on` (YYYY-MM-DD), and
/// applies them to the balance shards.
async fn post_transfers(
    tx: &mut Tx<'_>,
    ref_id: &str,
    psn_no: &str,
    booked_on: &str,
    transfers: &[Transfer],
) -> Result<(), StoreError> {
    if transfers.is_empty() {
        return Ok(());
    }
    for (d, c, amount, _) in transfers {
        if *amount <= 0 || d == c {
            return Err(StoreError::Invariant(format!(
                "transfer {d} → {c} of {amount} fen"
            )));
        }
    }
    let rows = transfers
        .iter()
        .enumerate()
        .map(|(i, (d, c, a, k))| {
            vec![
                V::T(ref_id),
                V::I(i as i64 + 1),
                V::T(d),
                V::T(c),
                V::I(*a),
                V::T(k),
                V::T(booked_on),
            ]
        })
        .collect();
    insert_rows(
        tx,
        "ledger_transfer",
        &[
            "ref_id",
            "seq",
            "debit_account",
            "credit_account",
            "amount_fen",
            "kind",
            "booked_on",
        ],
        rows,
        "",
    )
    .await?;
    // Net change per (account, shard), applied in key order (a fixed lock order).
    let mut deltas: BTreeMap<(String, i64), i64> = BTreeMap::new();
    for (d, c, a, _) in transfers {
        *deltas
            .entry((d.clone(), ledger::shard(d, psn_no)))
            .or_default() -= a;
        *deltas
            .entry((c.clone(), ledger::shard(c, psn_no)))
            .or_default() += a;
    }
    let negative = |e: sqlx::Error| match &e {
        sqlx::Error::Database(db)
            if db.message().contains("CHECK") || db.code().as_deref() == Some("23514") =>
        {
            StoreError::Invariant(format!("a transfer would make an account negative: {db}"))
        }
        _ => StoreError::Database(e),
    };
    // Personal accounts (one row each, opened at import, never negative): a plain update, so the
    // CHECK sees the new balance. Shared accounts: an upsert that opens a shard on first use.
    let mut shared = Vec::new();
    for ((acct, shard), delta) in &deltas {
        if *delta == 0 {
            continue;
        }
        if acct.starts_with("personal:") {
            let updated = sqlx::query("UPDATE ledger_balance SET balance_fen = balance_fen + $1 WHERE account_code = $2 AND shard = $3")
                .bind(delta)
                .bind(acct)
                .bind(shard)
                .execute(&mut **tx)
                .await
                .map_err(negative)?;
            if updated.rows_affected() != 1 {
                return Err(StoreError::Invariant(format!(
                    "personal account {acct} has no balance row"
                )));
            }
        } else {
            shared.push(vec![V::T(acct), V::I(*shard), V::I(1), V::I(*delta)]);
        }
    }
    if !shared.is_empty() {
        insert_rows(
            tx,
            "ledger_balance",
            &["account_code", "shard", "may_go_negative", "balance_fen"],
            shared,
            "ON CONFLICT (account_code, shard) DO UPDATE SET balance_fen = ledger_balance.balance_fen + excluded.balance_fen",
        )
        .await
        .map_err(negative)?;
    }
    Ok(())
}

/// Makes sure every fund account named exists (a region first seen after import).
async fn ensure_accounts(
    tx: &mut Tx<'_>,
    accounts: &[(String, &'static str, String)],
) -> Result<(), StoreError> {
    if accounts.is_empty() {
        return Ok(());
    }
    let rows = accounts
        .iter()
        .map(|(code, kind, owner)| vec![V::T(code), V::T(kind), V::T(owner), V::I(1)])
        .collect();
    insert_rows(
        tx,
        "ledger_account",
        &["account_code", "kind", "owner", "may_go_negative"],
        rows,
        "ON CONFLICT (account_code) DO NOTHING",
    )
    .await?;
    Ok(())
}

fn clr_type(kind: VisitKind, med_type: &str) -> &'static str {
    if med_type == "41" {
        "41"
    } else if kind == VisitKind::Inpatient {
        "21"
    } else {
        "11"
    }
}
