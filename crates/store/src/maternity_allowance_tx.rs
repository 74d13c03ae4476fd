// Maternity allowances (crate::maternity), written once for both backends: included in `pg` and
// `sq` by `backend!`.

/// A delivery stay waiting for its allowance.
struct DeliveryStay {
    mdtrt_id: String,
    setl_id: String,
    psn_no: String,
    admdvs: String,
    setl_date: String,
    matn_type: String,
    geso_val: Option<i64>,
    fetus_cnt: Option<i64>,
    delivery_date: String,
}

pub(crate) async fn maternity_allowances(
    pool: &Pool,
    month: yibao_enrollment::YearMonth,
    params: &yibao_enrollment::ParamSet,
    now: NaiveDateTime,
) -> Result<crate::maternity::MaternityReport, StoreError> {
    let first = month.first_day();
    let last = yibao_enrollment::YearMonth::from_index(month.index() + 1).first_day()
        - chrono::Duration::days(1);
    let label = format!("{:04}-{:02}", month.year, month.month);
    let mut tx = begin_write(pool).await?;
    let stays: Vec<DeliveryStay> = sqlx::query(
        "SELECT s.mdtrt_id, MAX(s.setl_id), s.psn_no, MAX(s.insuplc_admdvs), MAX(s.setl_date), \
                m.matn_type, m.geso_val, m.fetus_cnt, m.birctrl_matn_date \
         FROM settlement s JOIN visit_maternity m ON m.mdtrt_id = s.mdtrt_id \
         WHERE s.setl_sign = 1 AND s.refd_setl_flag = 0 AND s.insutype = '310' \
           AND s.setl_date >= $1 AND s.setl_date <= $2 \
           AND m.matn_type IN ('1', '2', '3', '4', '5', '6') \
           AND NOT EXISTS (SELECT 1 FROM maternity_allowance a WHERE a.mdtrt_id = s.mdtrt_id) \
         GROUP BY s.mdtrt_id, s.psn_no, m.matn_type, m.geso_val, m.fetus_cnt, m.birctrl_matn_date \
         ORDER BY s.mdtrt_id",
    )
    .bind(first.to_string())
    .bind(last.to_string())
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| {
        Ok(DeliveryStay {
            mdtrt_id: r.try_get(0)?,
            setl_id: r.try_get(1)?,
            psn_no: r.try_get(2)?,
            admdvs: r.try_get(3)?,
            setl_date: r.try_get(4)?,
            matn_type: r.try_get(5)?,
            geso_val: r.try_get(6)?,
            fetus_cnt: r.try_get(7)?,
            delivery_date: r.try_get(8)?,
        })
    })
    .collect::<Result<_, StoreError>>()?;
    let mut report = crate::maternity::MaternityReport {
        candidates: stays.len() as u64,
        ..Default::default()
    };
    let decided_at = now.format("%Y-%m-%d %H:%M:%S").to_string();
    for stay in &stays {
        let delivery_day = if stay.delivery_date.is_empty() {
            stay.setl_date
                .get(..10)
                .unwrap_or(&stay.setl_date)
                .to_owned()
        } else {
            stay.delivery_date.clone()
        };
        let decision = maternity_decide(&mut tx, stay, &delivery_day, params).await?;
        let MaternityDecision {
            delivery,
            babies,
            streak,
            emp_no,
            base,
            leave_days,
            amount,
            reason,
        } = decision;
        let paid_to = if amount > 0 {
            crate::maternity::employer_payout_account(&emp_no)
        } else {
            String::new()
        };
        sqlx::query(
            "INSERT INTO maternity_allowance (mdtrt_id, setl_id, psn_no, period, delivery_date, \
             delivery, babies, continuous_months, emp_no, base_fen, leave_days, amount_fen, \
             paid_to, outcome, reason, decided_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(&stay.mdtrt_id)
        .bind(&stay.setl_id)
        .bind(&stay.psn_no)
        .bind(&label)
        .bind(&delivery_day)
        .bind(delivery)
        .bind(babies)
        .bind(streak)
        .bind(&emp_no)
        .bind(base)
        .bind(leave_days)
        .bind(amount)
        .bind(&paid_to)
        .bind(if paid_to.is_empty() {
            "refused"
        } else {
            "paid"
        })
        .bind(&reason)
        .bind(&decided_at)
        .execute(&mut *tx)
        .await?;
        if paid_to.is_empty() {
            report.refused.push((stay.mdtrt_id.clone(), reason));
            continue;
        }
        let fund = ledger::fund_account(crate::contributions::EMPLOYEE_POOL_FUND, &stay.admdvs);
        ensure_accounts(
            &mut tx,
            &[
                (fund.clone(), "fund", stay.admdvs.clone()),
                (paid_to.clone(), "cash", emp_no.clone()),
            ],
        )
        .await?;
        post_transfers(
            &mut tx,
            &format!("MA{}", stay.mdtrt_id),
            &stay.psn_no,
            &decided_at[..10],
            &[(
                fund,
                paid_to,
                amount,
                crate::maternity::KIND_MATERNITY_ALLOWANCE.to_owned(),
            )],
        )
        .await?;
        report.paid += 1;
        report.amount += yibao_core_types::Fen(amount);
    }
    tx.commit().await?;
    Ok(report)
}

/// An allowance decision and what it rests on: paid when `amount` > 0, else refused for
/// `reason` (on a paid one, a note: an assumption the decision made).
#[derive(Default)]
struct MaternityDecision {
    delivery: &'static str,
    babies: i64,
    streak: i64,
    emp_no: String,
    base: i64,
    leave_days: i64,
    amount: i64,
    reason: String,
}

async fn maternity_decide(
    tx: &mut Tx<'_>,
    stay: &DeliveryStay,
    delivery_day: &str,
    params: &yibao_enrollment::ParamSet,
) -> Result<MaternityDecision, StoreError> {
    use yibao_enrollment::params::DeliveryType;
    let mut decided = MaternityDecision::default();
    let Ok(day) = NaiveDate::parse_from_str(delivery_day, "%Y-%m-%d") else {
        decided.reason = format!("the delivery date `{delivery_day}` does not read");
        return Ok(decided);
    };
    let mut note = String::new();
    let (delivery, key, babies) = match stay.matn_type.as_str() {
        "1" | "2" | "3" | "4" => {
            let babies = match stay.fetus_cnt {
                Some(n) => n,
                None => {
                    note = "fetus_cnt not reported: one baby counted".to_owned();
                    1
                }
            };
            if matches!(stay.matn_type.as_str(), "1" | "2") {
                (DeliveryType::Normal, "normal", babies)
            } else {
                (DeliveryType::Difficult, "difficult", babies)
            }
        }
        _ => match stay.geso_val {
            // Four months of pregnancy: 16 weeks.
            Some(weeks) if weeks < 16 => (
                DeliveryType::MiscarriageUnder4Months,
                "miscarriage_under_4_months",
                0,
            ),
            Some(_) => (
                DeliveryType::MiscarriageFrom4Months,
                "miscarriage_from_4_months",
                0,
            ),
            None => {
                decided.reason =
                    "a miscarriage's weeks of pregnancy (geso_val) were not reported".to_owned();
                return Ok(decided);
            }
        },
    };
    decided.delivery = key;
    decided.babies = babies;
    let conn_streak = employee_streak(tx, &stay.psn_no, &day.format("%Y-%m").to_string()).await?;
    decided.streak = i64::from(conn_streak);
    let employer: Option<(String, i64)> = sqlx::query_as(
        "SELECT emp_no, year FROM payroll_base WHERE psn_no = $1 AND year <= $2 \
         ORDER BY year DESC LIMIT 1",
    )
    .bind(&stay.psn_no)
    .bind(i64::from(day.year()))
    .fetch_optional(&mut **tx)
    .await?;
    let Some((emp_no, year)) = employer else {
        decided.reason = "no employer declared a wage for the person".to_owned();
        return Ok(decided);
    };
    decided.emp_no = emp_no.clone();
    let (sum, count): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(wage_fen), 0) AS BIGINT), COUNT(*) FROM payroll_base \
         WHERE emp_no = $1 AND year = $2",
    )
    .bind(&emp_no)
    .bind(year)
    .fetch_one(&mut **tx)
    .await?;
    // The employer's average declared wage, half up to the fen.
    let base = if count == 0 {
        0
    } else {
        (2 * sum + count) / (2 * count)
    };
    decided.base = base;
    let Some(p) = params.get_pooled(&stay.admdvs, day.year()) else {
        decided.reason = format!(
            "no enrollment parameters for {} in {}",
            stay.admdvs,
            day.year()
        );
        return Ok(decided);
    };
    match yibao_enrollment::maternity_allowance(
        p,
        yibao_enrollment::maternity::MaternityCase {
            employer_average_wage: yibao_core_types::Fen(base),
            delivery,
            babies: u32::try_from(babies).unwrap_or(u32::MAX),
            continuous_months: conn_streak,
        },
    ) {
        Ok(a) => Ok(MaternityDecision {
            leave_days: i64::from(a.leave_days),
            amount: a.amount.0,
            reason: note,
            ..decided
        }),
        Err(err) => {
            decided.reason = err.to_string();
            Ok(decided)
        }
    }
}
