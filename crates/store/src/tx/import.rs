// Registry cache and import: the institutions' keys and documents read at start, multi-row
// inserts, and the registry import in one transaction.
// Compiled once per backend; see lib.rs.

pub(crate) async fn load_cache(
    pool: &Pool,
) -> Result<(RegistryCache, Vec<(String, String, String)>), StoreError> {
    let mut cache = RegistryCache::default();
    let rows = sqlx::query(
        "SELECT fixmedins_code, fixmedins_name, fixmedins_type, hosp_lv, hi_setl_lv, admdvs, status, \
         access_key, secret_key FROM institution",
    )
    .fetch_all(pool)
    .await?;
    let mut kinds: HashMap<String, Vec<String>> = HashMap::new();
    for r in sqlx::query(
        "SELECT fixmedins_code, kind FROM institution_kind ORDER BY fixmedins_code, kind",
    )
    .fetch_all(pool)
    .await?
    {
        kinds
            .entry(r.try_get("fixmedins_code")?)
            .or_default()
            .push(r.try_get("kind")?);
    }
    for r in rows {
        let code: String = r.try_get("fixmedins_code")?;
        let inst = std::sync::Arc::new(Institution {
            kinds: kinds.remove(&code).unwrap_or_default(),
            fixmedins_code: code,
            fixmedins_name: r.try_get("fixmedins_name")?,
            fixmedins_type: r.try_get("fixmedins_type")?,
            hosp_lv: r.try_get("hosp_lv")?,
            hi_setl_lv: r.try_get("hi_setl_lv")?,
            admdvs: r.try_get("admdvs")?,
            active: r.try_get::<String, _>("status")? == "1",
            access_key: r.try_get("access_key")?,
            secret_key: r.try_get("secret_key")?,
        });
        cache
            .by_access_key
            .insert(inst.access_key.clone(), inst.clone());
        cache.institutions.insert(inst.fixmedins_code.clone(), inst);
    }
    let docs = sqlx::query("SELECT kind, name, body FROM registry_document ORDER BY kind, name")
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((cache, docs))
}

/// A value bound into a multi-row insert.
enum V<'a> {
    T(&'a str),
    S(String),
    I(i64),
    N(Option<i64>),
}

pub(crate) async fn import(pool: &Pool, p: &Parsed) -> Result<ImportSummary, crate::ImportError> {
    let persons: i64 = sqlx::query("SELECT COUNT(*) FROM person")
        .fetch_one(pool)
        .await?
        .try_get(0)?;
    if persons > 0 {
        return Err(crate::ImportError::NotEmpty { persons });
    }
    let mut tx = begin_write(pool).await?;
    insert_rows(
        &mut tx,
        "person",
        &[
            "psn_no", "certno", "psn_name", "gend", "brdy", "naty", "tel",
        ],
        p.persons
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.psn_no),
                    V::T(&r.certno),
                    V::T(&r.psn_name),
                    V::T(&r.gend),
                    V::T(&r.brdy),
                    V::T(&r.naty),
                    V::T(&r.tel),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "insurance",
        &[
            "psn_no",
            "insutype",
            "psn_type",
            "insuplc_admdvs",
            "emp_name",
            "begndate",
            "enddate",
            "psn_insu_stas",
        ],
        p.insurance
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.psn_no),
                    V::T(&r.insutype),
                    V::T(&r.psn_type),
                    V::T(&r.insuplc_admdvs),
                    V::T(&r.emp_name),
                    V::T(&r.begndate),
                    V::T(&r.enddate),
                    V::T(&r.psn_insu_stas),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "identity",
        &[
            "psn_no",
            "sp_psn_type",
            "begndate",
            "enddate",
            "source_dept",
        ],
        p.identities
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.psn_no),
                    V::T(&r.sp_psn_type),
                    V::T(&r.begndate),
                    V::T(&r.enddate),
                    V::T(&r.source_dept),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "family_binding",
        &[
            "psn_no",
            "family_psn_no",
            "bind_order",
            "begndate",
            "enddate",
        ],
        p.bindings
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.psn_no),
                    V::T(&r.family_psn_no),
                    V::I(r.bind_order),
                    V::T(&r.begndate),
                    V::T(&r.enddate),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "institution",
        &[
            "fixmedins_code",
            "fixmedins_name",
            "fixmedins_type",
            "hosp_lv",
            "hi_setl_lv",
            "admdvs",
            "status",
            "access_key",
            "secret_key",
        ],
        p.institutions
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.fixmedins_code),
                    V::T(&r.fixmedins_name),
                    V::T(&r.fixmedins_type),
                    V::T(&r.hosp_lv),
                    V::T(&r.hi_setl_lv),
                    V::T(&r.admdvs),
                    V::T(&r.status),
                    V::T(&r.access_key),
                    V::T(&r.secret_key),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "filing",
        &[
            "trt_dcla_detl_sn",
            "psn_no",
            "dcla_type",
            "insuplc_admdvs",
            "mdtrtarea_admvs",
            "begndate",
            "enddate",
        ],
        p.filings
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.trt_dcla_detl_sn),
                    V::T(&r.psn_no),
                    V::T(&r.dcla_type),
                    V::T(&r.insuplc_admdvs),
                    V::T(&r.mdtrtarea_admvs),
                    V::T(&r.begndate),
                    V::T(&r.enddate),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "ec_token",
        &["token_index", "psn_no", "begndate", "enddate"],
        p.ec_tokens
            .iter()
            .map(|r| {
                assert!(
                    r.ec_token.is_empty() && r.token_index.len() == 64,
                    "e-voucher tokens are indexed before they are written"
                );
                vec![
                    V::T(&r.token_index),
                    V::T(&r.psn_no),
                    V::T(&r.begndate),
                    V::T(&r.enddate),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "ss_card",
        &["card_no", "card_sn", "psn_no", "begndate", "enddate"],
        p.ss_cards
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.card_no),
                    V::T(&r.card_sn),
                    V::T(&r.psn_no),
                    V::T(&r.begndate),
                    V::T(&r.enddate),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "chronic_recognition",
        &[
            "psn_no",
            "opsp_dise_code",
            "opsp_dise_name",
            "begndate",
            "enddate",
            "fixmedins_code",
        ],
        p.chronic
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.psn_no),
                    V::T(&r.opsp_dise_code),
                    V::T(&r.opsp_dise_name),
                    V::T(&r.begndate),
                    V::T(&r.enddate),
                    V::T(&r.fixmedins_code),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "contribution_tier",
        &["psn_no", "insutype", "clct_tier", "begndate", "enddate"],
        p.tiers
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.psn_no),
                    V::T(&r.insutype),
                    V::T(&r.clct_tier),
                    V::T(&r.begndate),
                    V::T(&r.enddate),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "ytd_opening",
        crate::import::YTD_OPENING_COLUMNS,
        p.openings
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.psn_no),
                    V::I(r.year),
                    V::I(r.inpatient_admissions),
                    V::I(r.hifp_inpatient),
                    V::I(r.hifp_outpatient),
                    V::I(r.outpatient_deductible),
                    V::I(r.hifmi_base),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    // The openings are also the accumulators' starting values.
    sqlx::query(
        "INSERT INTO ytd (psn_no, year, inpatient_admissions, hifp_inpatient, hifp_outpatient, outpatient_deductible, \
         hifob, hifmi_base, hifmi, maf, maf_deductible) \
         SELECT psn_no, year, inpatient_admissions, hifp_inpatient, hifp_outpatient, outpatient_deductible, \
         0, hifmi_base, 0, 0, 0 FROM ytd_opening",
    )
    .execute(&mut *tx)
    .await?;
    insert_rows(
        &mut tx,
        "institution_kind",
        &["fixmedins_code", "kind"],
        p.institution_kinds
            .iter()
            .map(|r| vec![V::T(&r.fixmedins_code), V::T(&r.kind)])
            .collect(),
        "",
    )
    .await?;
    let docs = p.documents();
    insert_rows(
        &mut tx,
        "registry_document",
        &["kind", "name", "body"],
        docs.iter()
            .map(|(k, n, b)| vec![V::T(k), V::T(n), V::T(b)])
            .collect(),
        "",
    )
    .await?;

    // Ledger accounts: every fund of every scheme in every insured region, every institution,
    // every personal account, the patients' cash and the opening counter-account.
    let mut accounts: BTreeMap<String, (&'static str, String, i64)> = BTreeMap::new();
    accounts.insert(
        ledger::CASH_ACCOUNT.to_string(),
        ("cash", "patients".into(), 1),
    );
    accounts.insert(
        ledger::OPENING_ACCOUNT.to_string(),
        ("opening", "registry".into(), 1),
    );
    for r in &p.insurance {
        for fund in engine::NATIONAL_FUNDS {
            accounts
                .entry(ledger::fund_account(fund, &r.insuplc_admdvs))
                .or_insert(("fund", format!("{fund}:{}", r.insuplc_admdvs), 1));
        }
    }
    for r in &p.institutions {
        accounts.insert(
            ledger::institution_account(&r.fixmedins_code),
            ("institution", r.fixmedins_code.clone(), 1),
        );
    }
    for (psn_no, _) in &p.accounts {
        accounts.insert(
            ledger::personal_account(psn_no),
            ("personal", psn_no.clone(), 0),
        );
    }
    let n_ledger_accounts = accounts.len();
    insert_rows(
        &mut tx,
        "ledger_account",
        &["account_code", "kind", "owner", "may_go_negative"],
        accounts
            .iter()
            .map(|(code, (kind, owner, neg))| vec![V::T(code), V::T(kind), V::T(owner), V::I(*neg)])
            .collect(),
        "",
    )
    .await?;
    // Opening balances: opening → personal, one transfer each, and the balances they make.
    let total_opening: i64 = p.accounts.iter().map(|(_, fen)| *fen).sum();
    insert_rows(
        &mut tx,
        "ledger_transfer",
        &[
            "ref_id",
            "seq",
            "debit_account",
            "credit_account",
            "amount_fen",
            "kind",
        ],
        p.accounts
            .iter()
            .filter(|(_, fen)| *fen > 0)
            .map(|(psn_no, fen)| {
                vec![
                    V::S(format!("open:{psn_no}")),
                    V::I(1),
                    V::T(ledger::OPENING_ACCOUNT),
                    V::S(ledger::personal_account(psn_no)),
                    V::I(*fen),
                    V::T(ledger::KIND_OPENING),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    let mut balances: Vec<Vec<V<'_>>> = p
        .accounts
        .iter()
        .map(|(psn_no, fen)| {
            vec![
                V::S(ledger::personal_account(psn_no)),
                V::I(0),
                V::I(0),
                V::I(*fen),
            ]
        })
        .collect();
    balances.push(vec![
        V::T(ledger::OPENING_ACCOUNT),
        V::I(0),
        V::I(1),
        V::I(-total_opening),
    ]);
    insert_rows(
        &mut tx,
        "ledger_balance",
        &["account_code", "shard", "may_go_negative", "balance_fen"],
        balances,
        "",
    )
    .await?;
    tx.commit().await?;
    Ok(ImportSummary {
        persons: p.persons.len(),
        insurance_relations: p.insurance.len(),
        identities: p.identities.len(),
        accounts: p.accounts.len(),
        family_bindings: p.bindings.len(),
        institutions: p.institutions.len(),
        filings: p.filings.len(),
        ec_tokens: p.ec_tokens.len(),
        ss_cards: p.ss_cards.len(),
        chronic_recognitions: p.chronic.len(),
        policies: p.policies.len(),
        ledger_accounts: n_ledger_accounts,
    })
}
