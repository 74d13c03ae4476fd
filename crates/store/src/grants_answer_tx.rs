// Grants, part two: what a permitted call answers — derived answers, settlement summaries and
// direct claims (the insurer's filed rule run against settlements and paid through the ledger).
// Included right after `grants_tx.rs` into the same backend modules, so it shares its imports
// (`gr`, `yp`, `GrRow`) and helpers; the call itself (`grant_call_run`) is there.

fn gr_answer_json(answer: &yp::derived::Answer) -> serde_json::Value {
    use yp::derived::Answer;
    match answer {
        Answer::Yes => serde_json::Value::Bool(true),
        Answer::No => serde_json::Value::Bool(false),
        Answer::Band { index, from, to } => {
            serde_json::json!({"band": index, "from": from, "to": to})
        }
        Answer::Year(year) => serde_json::json!(year),
    }
}

fn gr_released(
    permit: &yp::Permit,
    code: &str,
    question: &yp::derived::Question,
    value: &yp::derived::Value,
) -> Result<Option<serde_json::Value>, StoreError> {
    let item = yp::classification::item(code);
    if !permit.items.contains(item) {
        return Ok(None);
    }
    yp::derived::answer_under(permit, item, question, value)
        .map(|answer| Some(gr_answer_json(&answer)))
        .map_err(|e| StoreError::Invariant(format!("answering {code}: {e}")))
}

/// Reads what the permit releases, inside the call's transaction and after its leaf.
async fn gr_read_answer(
    tx: &mut Tx<'_>,
    call: &gr::GrantCall,
    grant: &yp::Grant,
    scope: &yp::grant::DataScope,
    permit: &yp::Permit,
    now_ms: i64,
) -> Result<serde_json::Value, StoreError> {
    use yp::derived::{Question, Value};
    let subject = &grant.terms().subject;
    let today = gr::day_of(now_ms);
    match &call.query {
        gr::CallQuery::IdentityCheck {
            name,
            id_number_sm3,
        } => {
            let person = sqlx::query("SELECT psn_name, certno, brdy FROM person WHERE psn_no = $1")
                .bind(subject)
                .fetch_one(&mut **tx)
                .await?;
            let psn_name: String = person.try_get("psn_name")?;
            let certno: String = person.try_get("certno")?;
            let brdy: String = person.try_get("brdy")?;
            let day = today.to_string();
            let insurance = sqlx::query(
                "SELECT insutype FROM insurance WHERE psn_no = $1 AND psn_insu_stas = '1' \
                 AND begndate <= $2 AND (enddate = '' OR enddate >= $2) ORDER BY begndate DESC, insutype",
            )
            .bind(subject)
            .bind(&day)
            .fetch_optional(&mut **tx)
            .await?;
            let insutype: Option<String> = insurance
                .as_ref()
                .map(|r| r.try_get("insutype"))
                .transpose()?;
            let age_years = gr_date(&brdy)
                .map(|birth| i64::from(yp::proxy::age_on(birth, today)))
                .unwrap_or(0);
            let mut answer = serde_json::Map::new();
            let asked_id = id_number_sm3.to_ascii_lowercase();
            let held_id = gr::hex(&yibao_gm::hash(certno.as_bytes()));
            let facts = [
                (
                    "name_matches",
                    "ID02",
                    Question::Equals(name.clone()),
                    Value::Text(psn_name),
                ),
                (
                    "id_matches",
                    "ID04",
                    Question::Equals(asked_id),
                    Value::Text(held_id),
                ),
                (
                    "adult",
                    "ID06",
                    Question::AtLeast(18),
                    Value::Amount(age_years),
                ),
                (
                    "insured",
                    "IN03",
                    Question::Equals("1".into()),
                    Value::Text(if insutype.is_some() { "1" } else { "0" }.into()),
                ),
            ];
            for (field, code, question, value) in facts {
                if let Some(json) = gr_released(permit, code, &question, &value)? {
                    answer.insert(field.into(), json);
                }
            }
            // The scheme is an enumerated code: it leaves as itself when IN01 is granted.
            if permit.items.contains(yp::classification::item("IN01")) {
                answer.insert("insutype".into(), serde_json::json!(insutype));
            }
            Ok(serde_json::Value::Object(answer))
        }
        gr::CallQuery::HealthQuestion { codes } => {
            let (from, to) = match scope {
                yp::grant::DataScope::Period { from, to } => (*from, *to),
                yp::grant::DataScope::Event(_) => (today, today),
            };
            let start = format!("{from} 00:00:00");
            let end = format!("{} 00:00:00", to.succ_opt().unwrap_or(to));
            let rows = sqlx::query(
                "SELECT d.diag_code AS code FROM diagnosis d JOIN visit v ON v.mdtrt_id = d.mdtrt_id \
                 WHERE v.psn_no = $1 AND v.begntime >= $2 AND v.begntime < $3 \
                 UNION SELECT dise_codg AS code FROM visit WHERE psn_no = $1 AND begntime >= $2 AND begntime < $3",
            )
            .bind(subject)
            .bind(&start)
            .bind(&end)
            .fetch_all(&mut **tx)
            .await?;
            // A listed code matches a recorded code that starts with it (`E11` matches
            // `E11.900`): every prefix of a recorded code is offered to the exact comparison.
            let mut recorded = Vec::new();
            for r in rows {
                let code: String = r.try_get("code")?;
                let code = code.trim().to_ascii_uppercase();
                for end in 1..=code.len() {
                    if let Some(prefix) = code.get(..end) {
                        recorded.push(prefix.to_owned());
                    }
                }
            }
            let listed: Vec<String> = codes
                .iter()
                .map(|c| c.trim().to_ascii_uppercase())
                .collect();
            let answer = gr_released(
                permit,
                "VS04",
                &Question::AnyOf(listed),
                &Value::Codes(recorded),
            )?;
            Ok(serde_json::json!({ "any_recorded": answer }))
        }
        gr::CallQuery::Settlements => gr_read_settlements(tx, subject, scope, permit).await,
        gr::CallQuery::DirectClaims => gr_direct_claims(tx, grant, scope, now_ms).await,
    }
}

async fn gr_read_settlements(
    tx: &mut Tx<'_>,
    subject: &str,
    scope: &yp::grant::DataScope,
    permit: &yp::Permit,
) -> Result<serde_json::Value, StoreError> {
    const COLUMNS: &str = "setl_id, setl_date, setl_sign, orig_setl_id, medfee_sumamt, fund_pay_sumamt, \
        psn_part_amt, psn_cash_pay, hosp_part_amt, hifp_pay, cvlserv_pay, hifes_pay, hifmi_pay, \
        hifob_pay, oth_pay, fulamt_ownpay_amt, overlmt_selfpay, preselfpay_amt, inscp_scp_amt, act_pay_dedc";
    let rows = match scope {
        yp::grant::DataScope::Period { from, to } => {
            sqlx::query(&format!(
                "SELECT {COLUMNS} FROM settlement WHERE psn_no = $1 AND setl_date >= $2 AND setl_date <= $3 \
                 ORDER BY setl_time, setl_id LIMIT $4"
            ))
            .bind(subject)
            .bind(from.to_string())
            .bind(to.to_string())
            .bind(gr::SETTLEMENTS_PER_ANSWER_MAX)
            .fetch_all(&mut **tx)
            .await?
        }
        yp::grant::DataScope::Event(event) => {
            sqlx::query(&format!(
                "SELECT {COLUMNS} FROM settlement WHERE psn_no = $1 AND (setl_id = $2 OR mdtrt_id = $2) \
                 ORDER BY setl_time, setl_id LIMIT $3"
            ))
            .bind(subject)
            .bind(event)
            .bind(gr::SETTLEMENTS_PER_ANSWER_MAX)
            .fetch_all(&mut **tx)
            .await?
        }
    };
    let masked = permit.output_form == yp::OutputForm::MaskedFields;
    // Masked fields carry a settlement reference instead of its id (SM3, first 16 hex digits).
    let reference = |id: &str| -> String {
        let mut digest = gr::hex(&yibao_gm::hash(id.as_bytes()));
        digest.truncate(16);
        digest
    };
    let has = |code: &str| permit.items.contains(yp::classification::item(code));
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let mut row = serde_json::Map::new();
        let setl_id: String = r.try_get("setl_id")?;
        if masked {
            row.insert("setl_ref".into(), serde_json::json!(reference(&setl_id)));
        } else {
            row.insert("setl_id".into(), serde_json::json!(setl_id));
        }
        let groups: [(&str, &[&str]); 3] = [
            (
                "ST01",
                &[
                    "medfee_sumamt",
                    "fund_pay_sumamt",
                    "psn_part_amt",
                    "psn_cash_pay",
                    "hosp_part_amt",
                ],
            ),
            (
                "ST02",
                &[
                    "hifp_pay",
                    "cvlserv_pay",
                    "hifes_pay",
                    "hifmi_pay",
                    "hifob_pay",
                    "oth_pay",
                ],
            ),
            (
                "ST04",
                &[
                    "fulamt_ownpay_amt",
                    "overlmt_selfpay",
                    "preselfpay_amt",
                    "inscp_scp_amt",
                    "act_pay_dedc",
                ],
            ),
        ];
        if has("ST01") {
            row.insert(
                "setl_date".into(),
                serde_json::json!(r.try_get::<String, _>("setl_date")?),
            );
        }
        for (code, columns) in groups {
            if has(code) {
                for column in columns {
                    row.insert(
                        format!("{column}_fen"),
                        serde_json::json!(r.try_get::<i64, _>(*column)?),
                    );
                }
            }
        }
        if has("ST08") {
            row.insert(
                "setl_sign".into(),
                serde_json::json!(r.try_get::<i64, _>("setl_sign")?),
            );
            let orig: Option<String> = r.try_get("orig_setl_id")?;
            let orig = orig.map(|id| if masked { reference(&id) } else { id });
            row.insert("orig_setl".into(), serde_json::json!(orig));
        }
        out.push(serde_json::Value::Object(row));
    }
    Ok(serde_json::json!({ "settlements": out }))
}

pub(crate) async fn claim_rule_insert(
    pool: &Pool,
    grantee_id: &str,
    product_id: &str,
    rule: &gr::ClaimRule,
    now_ms: i64,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let grantee = grantee_in(&mut tx, grantee_id)
        .await?
        .ok_or_else(|| StoreError::not_found("grantee_id", grantee_id))?;
    if !grantee.purposes.contains(&yp::Purpose::P03) {
        return Err(StoreError::refused(
            "grantee_id",
            "direct claims (P03) are not approved for this grantee",
        ));
    }
    let filed = sqlx::query(
        "INSERT INTO claim_rule (grantee_id, product_id, rule_version, share_bp, cap_fen, filed_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(grantee_id)
    .bind(product_id)
    .bind(&rule.rule_version)
    .bind(rule.share_bp)
    .bind(rule.cap_fen)
    .bind(now_ms)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if filed == 0 {
        return Err(StoreError::refused(
            "product_id",
            format!("`{product_id}` has a rule filed already"),
        ));
    }
    tx.commit().await?;
    Ok(())
}

/// Runs the grant's product rule on every settlement in scope (not reversed), inside the call's
/// transaction: a settlement claimed before under this grant gives its stored result; a new one
/// is computed, stored and its payout posted (insurer → the person's payout account).
/// Undoes the direct claims paid on settlement `setl_id`, which `reversal_setl_id` reverses, in
/// the reversal's transaction: each claim's payout goes back from the person's claim account to
/// the insurer (`claimpay:PSN_NO` may go below zero: the person then owes the insurer what it
/// paid), recorded once in `direct_claim_reversal`. The insurer's next `claims/results` call
/// reports each as `reversed`.
async fn gr_claims_undo(
    tx: &mut Tx<'_>,
    setl_id: &str,
    reversal_setl_id: &str,
    booked_on: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    let claims = sqlx::query(
        "SELECT c.claim_id, c.payable_fen, g.grantee_id, g.subject FROM direct_claim c \
         JOIN data_grant g ON g.grant_id = c.grant_id \
         LEFT JOIN direct_claim_reversal r ON r.claim_id = c.claim_id \
         WHERE c.setl_id = $1 AND r.claim_id IS NULL ORDER BY c.claim_id",
    )
    .bind(setl_id)
    .fetch_all(&mut **tx)
    .await?;
    for claim in claims {
        let claim_id: String = claim.try_get("claim_id")?;
        let payable: i64 = claim.try_get("payable_fen")?;
        let grantee_id: String = claim.try_get("grantee_id")?;
        let subject: String = claim.try_get("subject")?;
        sqlx::query(
            "INSERT INTO direct_claim_reversal (claim_id, reversal_setl_id, payable_fen, at_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&claim_id)
        .bind(reversal_setl_id)
        .bind(payable)
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
        if payable > 0 {
            let back_from = gr::claim_payout_account(&subject);
            let back_to = gr::insurer_account(&grantee_id);
            post_transfers(
                tx,
                &format!("{claim_id}:reversal"),
                &subject,
                booked_on,
                &[(
                    back_from,
                    back_to,
                    payable,
                    gr::KIND_DIRECT_CLAIM_REVERSAL.to_owned(),
                )],
            )
            .await?;
        }
    }
    Ok(())
}

async fn gr_direct_claims(
    tx: &mut Tx<'_>,
    grant: &yp::Grant,
    scope: &yp::grant::DataScope,
    now_ms: i64,
) -> Result<serde_json::Value, StoreError> {
    let terms = grant.terms();
    let grantee_id = grantee_id_of(grant);
    let rule = sqlx::query(
        "SELECT rule_version, share_bp, cap_fen FROM claim_rule WHERE grantee_id = $1 AND product_id = $2",
    )
    .bind(grantee_id)
    .bind(&terms.product_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| {
        StoreError::refused(
            "product_id",
            format!("no claim rule is filed for product `{}`", terms.product_id),
        )
    })?;
    let rule = gr::ClaimRule {
        rule_version: rule.try_get("rule_version")?,
        share_bp: rule.try_get("share_bp")?,
        cap_fen: rule.try_get("cap_fen")?,
    };
    let (filter, value) = match scope {
        yp::grant::DataScope::Period { from, to } => (
            "setl_date >= $2 AND setl_date <= $3",
            vec![from.to_string(), to.to_string()],
        ),
        yp::grant::DataScope::Event(event) => {
            ("(setl_id = $2 OR mdtrt_id = $2)", vec![event.clone()])
        }
    };
    let sql = format!(
        "SELECT setl_id, psn_cash_pay FROM settlement WHERE psn_no = $1 AND setl_sign = 1 \
         AND refd_setl_flag = 0 AND {filter} ORDER BY setl_time, setl_id"
    );
    let mut query = sqlx::query(&sql).bind(&terms.subject);
    for v in &value {
        query = query.bind(v);
    }
    let rows = query.fetch_all(&mut **tx).await?;
    let booked_on = gr::day_of(now_ms).to_string();
    let mut results = Vec::with_capacity(rows.len());
    for r in rows.iter().take(gr::SETTLEMENTS_PER_ANSWER_MAX as usize) {
        let setl_id: String = r.try_get("setl_id")?;
        let cash: i64 = r.try_get("psn_cash_pay")?;
        let claim_id = format!("claim:{}:{setl_id}", grant.id());
        let stored =
            sqlx::query("SELECT rule_version, payable_fen FROM direct_claim WHERE claim_id = $1")
                .bind(&claim_id)
                .fetch_optional(&mut **tx)
                .await?;
        let (version, payable, status) = match stored {
            Some(row) => (
                row.try_get::<String, _>("rule_version")?,
                row.try_get::<i64, _>("payable_fen")?,
                "paid_before",
            ),
            None => {
                let payable = rule.payable(cash);
                assert!(
                    (0..=cash.max(0)).contains(&payable),
                    "a claim pays within the cash part"
                );
                sqlx::query(
                    "INSERT INTO direct_claim (claim_id, grant_id, setl_id, rule_version, base_fen, \
                     payable_fen, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&claim_id)
                .bind(grant.id())
                .bind(&setl_id)
                .bind(&rule.rule_version)
                .bind(cash.max(0))
                .bind(payable)
                .bind(now_ms)
                .execute(&mut **tx)
                .await?;
                if payable > 0 {
                    let debit = gr::insurer_account(grantee_id);
                    let credit = gr::claim_payout_account(&terms.subject);
                    ensure_accounts(
                        tx,
                        &[
                            (debit.clone(), "fund", grantee_id.to_owned()),
                            (credit.clone(), "cash", terms.subject.clone()),
                        ],
                    )
                    .await?;
                    post_transfers(
                        tx,
                        &claim_id,
                        &terms.subject,
                        &booked_on,
                        &[(debit, credit, payable, gr::KIND_DIRECT_CLAIM.to_owned())],
                    )
                    .await?;
                }
                (rule.rule_version.clone(), payable, "paid")
            }
        };
        let mut setl_ref = gr::hex(&yibao_gm::hash(setl_id.as_bytes()));
        setl_ref.truncate(16);
        results.push(serde_json::json!({
            "claim_ref": format!("{}:{setl_ref}", grant.id()),
            "setl_ref": setl_ref,
            "payable_fen": payable,
            "rule_version": version,
            "status": status,
        }));
    }
    // Claims undone since, by their settlements' reversals: reported with the payout given back.
    let undone = sqlx::query(
        "SELECT c.setl_id, c.rule_version, r.payable_fen FROM direct_claim_reversal r \
         JOIN direct_claim c ON c.claim_id = r.claim_id \
         WHERE c.grant_id = $1 ORDER BY r.at_ms, r.claim_id LIMIT $2",
    )
    .bind(grant.id())
    .bind(gr::SETTLEMENTS_PER_ANSWER_MAX)
    .fetch_all(&mut **tx)
    .await?;
    for r in undone {
        let setl_id: String = r.try_get("setl_id")?;
        let mut setl_ref = gr::hex(&yibao_gm::hash(setl_id.as_bytes()));
        setl_ref.truncate(16);
        results.push(serde_json::json!({
            "claim_ref": format!("{}:{setl_ref}", grant.id()),
            "setl_ref": setl_ref,
            "payable_fen": -r.try_get::<i64, _>("payable_fen")?,
            "rule_version": r.try_get::<String, _>("rule_version")?,
            "status": "reversed",
        }));
    }
    Ok(serde_json::json!({ "claims": results }))
}
