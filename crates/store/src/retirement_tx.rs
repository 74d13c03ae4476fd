// Retirement approvals (crate::retirement), written once for both backends: included in `pg`
// and `sq` by `backend!`.

pub(crate) async fn retirement_import(
    pool: &Pool,
    rows: &[(u64, String, NaiveDate)],
    source_ref: &str,
    params: &yibao_enrollment::ParamSet,
    now: NaiveDateTime,
) -> Result<crate::retirement::RetirementReport, StoreError> {
    use yibao_enrollment::auto::AutoResult;
    let mut tx = begin_write(pool).await?;
    let mut report = crate::retirement::RetirementReport::default();
    let decided_at = now.format("%Y-%m-%d %H:%M:%S").to_string();
    let mut next = next_id(&mut tx, "auto_decision", "decision_id").await?;
    for (line, certno, date) in rows {
        let line_i = i64::try_from(*line).unwrap_or(i64::MAX);
        // A row decided before (the file sent again) decides nothing, whatever changed since.
        let before: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM auto_decision WHERE source_ref = $1 AND line = $2 \
             AND result_kind IN ('retirement', 'backpay_notice')",
        )
        .bind(source_ref)
        .bind(line_i)
        .fetch_one(&mut *tx)
        .await?;
        if before > 0 {
            report.decided_before += 1;
            continue;
        }
        let person = sqlx::query("SELECT psn_no, gend, brdy FROM person WHERE certno = $1")
            .bind(certno)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(person) = person else {
            report
                .refused
                .push((*line, format!("no person with certno {certno}")));
            continue;
        };
        let psn_no: String = person.try_get(0)?;
        let gend: String = person.try_get(1)?;
        let brdy: String = person.try_get(2)?;
        let relation = sqlx::query(
            "SELECT psn_type, insuplc_admdvs, begndate, enddate FROM insurance \
             WHERE psn_no = $1 AND insutype = '310' AND psn_insu_stas = '1' \
               AND begndate <= $2 AND (enddate = '' OR enddate >= $2) \
             ORDER BY begndate DESC LIMIT 1",
        )
        .bind(&psn_no)
        .bind(date.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(relation) = relation else {
            report
                .refused
                .push((*line, format!("no employee relation in force on {date}")));
            continue;
        };
        let psn_type: String = relation.try_get(0)?;
        let admdvs: String = relation.try_get(1)?;
        let begndate: String = relation.try_get(2)?;
        let enddate: String = relation.try_get(3)?;
        if !psn_type.starts_with("11") {
            report
                .refused
                .push((*line, format!("psn_type {psn_type} is not in service")));
            continue;
        }
        let sex = match gend.as_str() {
            "1" => yibao_enrollment::retirement::Sex::Male,
            "2" => yibao_enrollment::retirement::Sex::Female,
            other => {
                report.refused.push((
                    *line,
                    format!("the registry's gend `{other}` gives no retirement rule"),
                ));
                continue;
            }
        };
        let Ok(birth) = NaiveDate::parse_from_str(&brdy, "%Y-%m-%d") else {
            report
                .refused
                .push((*line, format!("the registry's brdy `{brdy}` does not read")));
            continue;
        };
        // Months paid here, and what transfers, deemed years and back-payments brought.
        let local: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT period) FROM contribution_assessment WHERE psn_no = $1 \
             AND insutype = '310' AND insu_admdvs = $2 AND clct_type = 'normal' AND sign = 1",
        )
        .bind(&psn_no)
        .bind(&admdvs)
        .fetch_one(&mut *tx)
        .await?;
        let (brought_actual, brought_local, deemed): (i64, i64, i64) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(months_actual), 0) AS BIGINT), \
                    CAST(COALESCE(SUM(CASE WHEN admdvs = $2 THEN months_actual ELSE 0 END), 0) AS BIGINT), \
                    CAST(COALESCE(SUM(months_deemed), 0) AS BIGINT) \
             FROM contribution_years WHERE psn_no = $1 AND insutype = '310'",
        )
        .bind(&psn_no)
        .bind(&admdvs)
        .fetch_one(&mut *tx)
        .await?;
        let months = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
        let ledger = yibao_enrollment::YearsLedger {
            months_actual: months(local + brought_actual),
            months_local_actual: months(local + brought_local),
            months_deemed: months(deemed),
        };
        let Some(p) = params.get_pooled(&admdvs, date.year()) else {
            report.refused.push((
                *line,
                format!("no enrollment parameters for {admdvs} in {}", date.year()),
            ));
            continue;
        };
        let age = u32::try_from(yibao_enrollment::age_at(birth, *date).max(0)).unwrap_or(0);
        let decision = match yibao_enrollment::auto::on_retirement(p, ledger, sex, age, *date) {
            Ok(decision) => decision,
            Err(err) => {
                report.refused.push((*line, err.to_string()));
                continue;
            }
        };
        let inserted = u64::from(
            record_decision(
                &mut tx,
                &mut next,
                &psn_no,
                &decision,
                source_ref,
                line_i,
                &decided_at,
            )
            .await?,
        );
        if inserted == 0 {
            report.decided_before += 1;
            continue;
        }
        match decision.result {
            AutoResult::Retiree { psn_type, from, .. } => {
                // The in-service segment ends the day before; the retiree segment begins.
                let Some(last_day) = from.pred_opt() else {
                    continue;
                };
                if from.to_string() <= begndate {
                    report.refused.push((
                        *line,
                        format!("the relation began on {begndate}, not before {from}"),
                    ));
                    continue;
                }
                sqlx::query(
                    "UPDATE insurance SET enddate = $4 WHERE psn_no = $1 AND insutype = '310' \
                     AND begndate = $2 AND enddate = $3",
                )
                .bind(&psn_no)
                .bind(&begndate)
                .bind(&enddate)
                .bind(last_day.to_string())
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO insurance (psn_no, insutype, psn_type, insuplc_admdvs, emp_name, \
                     begndate, enddate, psn_insu_stas) \
                     SELECT psn_no, insutype, $3, insuplc_admdvs, emp_name, $4, $5, '1' \
                     FROM insurance WHERE psn_no = $1 AND insutype = '310' AND begndate = $2",
                )
                .bind(&psn_no)
                .bind(&begndate)
                .bind(psn_type)
                .bind(from.to_string())
                .bind(&enddate)
                .execute(&mut *tx)
                .await?;
                report.retired.push((psn_no, from));
            }
            AutoResult::BackPayNotice {
                shortfall_months,
                amount,
            } => report.short.push((psn_no, shortfall_months, amount)),
            _ => {}
        }
    }
    tx.commit().await?;
    Ok(report)
}
