// 5206 accumulations: the SQL. Included after the files of `tx/` into the same two modules (`pg`, `sq`), so
// it shares that file's imports and helpers and compiles once per backend.

/// 5206: the person's accumulations of `year`, or of one month of it (`month` 1–12), one set of
/// rows per month (see [`crate::cumulative`]). An unknown person is `NotFound`.
pub(crate) async fn query_cumulative(
    pool: &Pool,
    psn_no: &str,
    year: i32,
    month: Option<u32>,
) -> Result<Vec<CumulativeRow>, StoreError> {
    check_id("psn_no", psn_no)?;
    let known = sqlx::query("SELECT 1 FROM person WHERE psn_no = $1")
        .bind(psn_no)
        .fetch_optional(pool)
        .await?;
    if known.is_none() {
        return Err(StoreError::not_found("psn_no", psn_no));
    }
    // Settlement dates are `yyyy-MM-dd` text: a month or a year is a prefix.
    let pattern = match month {
        Some(month) => format!("{year:04}-{month:02}-%"),
        None => format!("{year:04}-%"),
    };
    let sums = sqlx::query(
        "SELECT insutype, substr(setl_date, 1, 7) AS month, med_type, \
         CAST(SUM(setl_sign) AS BIGINT), CAST(SUM(medfee_sumamt) AS BIGINT), CAST(SUM(act_pay_dedc) AS BIGINT), \
         CAST(SUM(hifp_pay) AS BIGINT), CAST(SUM(hifob_pay) AS BIGINT), CAST(SUM(hifmi_pay) AS BIGINT), \
         CAST(SUM(maf_pay) AS BIGINT), CAST(SUM(cvlserv_pay) AS BIGINT), CAST(SUM(acct_pay) AS BIGINT), \
         CAST(SUM(ytd_hifmi_base) AS BIGINT) \
         FROM settlement WHERE psn_no = $1 AND setl_date LIKE $2 \
         GROUP BY insutype, substr(setl_date, 1, 7), med_type ORDER BY month, insutype, med_type",
    )
    .bind(psn_no)
    .bind(&pattern)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(crate::cumulative::MonthSums {
            insutype: r.try_get(0)?,
            month: r.try_get(1)?,
            med_type: r.try_get(2)?,
            n_settlements: r.try_get(3)?,
            medfee: r.try_get(4)?,
            deductible: r.try_get(5)?,
            hifp: r.try_get(6)?,
            hifob: r.try_get(7)?,
            hifmi: r.try_get(8)?,
            maf: r.try_get(9)?,
            cvlserv: r.try_get(10)?,
            acct: r.try_get(11)?,
            hifmi_base: r.try_get(12)?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(crate::cumulative::rows(&sums))
}
