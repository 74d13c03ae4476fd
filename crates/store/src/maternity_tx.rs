// A visit's maternity facts (2203/2203A): the SQL. Included after the files of `tx/` into the same two
// modules (`pg`, `sq`), so it shares that file's imports and helpers and compiles once per backend.

/// Checks the maternity facts of a 2203/2203A (the server checks them too; a command built
/// elsewhere must not write what the schema would refuse).
fn check_maternity(m: &Maternity) -> Result<(), StoreError> {
    for (field, code, allowed) in [
        ("matn_type", &m.matn_type, Maternity::MATN_TYPES),
        ("birctrl_type", &m.birctrl_type, Maternity::BIRCTRL_TYPES),
    ] {
        if let Some(code) = code {
            if !allowed.contains(&code.as_str()) {
                return Err(StoreError::bad(
                    field,
                    format!("`{code}` is not one of {}", allowed.join(", ")),
                ));
            }
        }
    }
    for (field, value, min, max) in [
        ("geso_val", m.geso_val, 0, Maternity::GESO_VAL_MAX),
        ("fetts", m.fetts, 1, Maternity::COUNT_MAX),
        ("fetus_cnt", m.fetus_cnt, 1, Maternity::COUNT_MAX),
    ] {
        if value.is_some_and(|value| !(min..=max).contains(&value)) {
            return Err(StoreError::bad(field, format!("is not within {min}–{max}")));
        }
    }
    check_id_opt("fpsc_no", m.fpsc_no.as_deref().unwrap_or(""))
}

fn flag_text(flag: Option<bool>) -> &'static str {
    match flag {
        None => "",
        Some(false) => "0",
        Some(true) => "1",
    }
}

fn flag_of(text: &str) -> Option<bool> {
    match text {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

/// Replaces the visit's maternity facts with `m` (none left when `m` is empty).
async fn save_maternity(tx: &mut Tx<'_>, mdtrt_id: &str, m: &Maternity) -> Result<(), StoreError> {
    check_maternity(m)?;
    sqlx::query("DELETE FROM visit_maternity WHERE mdtrt_id = $1")
        .bind(mdtrt_id)
        .execute(&mut **tx)
        .await?;
    if m.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO visit_maternity (mdtrt_id, matn_type, birctrl_type, birctrl_matn_date, geso_val, fetts, \
         fetus_cnt, pret_flag, latechb_flag, cop_flag, fpsc_no) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(mdtrt_id)
    .bind(m.matn_type.as_deref().unwrap_or(""))
    .bind(m.birctrl_type.as_deref().unwrap_or(""))
    .bind(m.birctrl_matn_date.map(|d| d.to_string()).unwrap_or_default())
    .bind(m.geso_val)
    .bind(m.fetts)
    .bind(m.fetus_cnt)
    .bind(flag_text(m.pret_flag))
    .bind(flag_text(m.latechb_flag))
    .bind(flag_text(m.cop_flag))
    .bind(m.fpsc_no.as_deref().unwrap_or(""))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The visit's maternity facts, if any: on the pool, or inside the settlement's transaction
/// (`&mut **tx`).
pub(crate) async fn visit_maternity<'e, E>(
    conn: E,
    mdtrt_id: &str,
) -> Result<Option<Maternity>, StoreError>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    let Some(r) = sqlx::query(
        "SELECT matn_type, birctrl_type, birctrl_matn_date, geso_val, fetts, fetus_cnt, pret_flag, \
         latechb_flag, cop_flag, fpsc_no FROM visit_maternity WHERE mdtrt_id = $1",
    )
    .bind(mdtrt_id)
    .fetch_optional(conn)
    .await?
    else {
        return Ok(None);
    };
    let text = |idx: usize| -> Result<Option<String>, sqlx::Error> {
        let value: String = r.try_get(idx)?;
        Ok((!value.is_empty()).then_some(value))
    };
    Ok(Some(Maternity {
        matn_type: text(0)?,
        birctrl_type: text(1)?,
        birctrl_matn_date: text(2)?.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
        geso_val: r.try_get(3)?,
        fetts: r.try_get(4)?,
        fetus_cnt: r.try_get(5)?,
        pret_flag: flag_of(&r.try_get::<String, _>(6)?),
        latechb_flag: flag_of(&r.try_get::<String, _>(7)?),
        cop_flag: flag_of(&r.try_get::<String, _>(8)?),
        fpsc_no: text(9)?,
    }))
}
