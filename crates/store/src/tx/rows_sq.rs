// SQLite's multi-row insert (`insert_rows`): `VALUES (…), (…)` with as many rows per statement as
// the parameter limit allows. Included into `mod sq` only; PostgreSQL's is `rows_pg.rs`.

/// Inserts `rows` into `table` in as few statements as the parameter limit allows.
async fn insert_rows(
    tx: &mut Tx<'_>,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<V<'_>>>,
    suffix: &str,
) -> Result<u64, sqlx::Error> {
    let per_stmt = (limits::STATEMENT_PARAMS_MAX / columns.len()).max(1);
    let mut affected = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<V<'_>>> = rows.by_ref().take(per_stmt).collect();
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        for (i, row) in chunk.iter().enumerate() {
            debug_assert_eq!(row.len(), columns.len());
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for j in 0..row.len() {
                if j > 0 {
                    sql.push_str(", ");
                }
                // SQLite resolves a named or numbered parameter by a linear scan of the
                // statement's parameter list, which makes a statement of thousands of `$n`
                // quadratic; anonymous `?` parameters bind in order at no cost.
                sql.push('?');
            }
            sql.push(')');
        }
        sql.push(' ');
        sql.push_str(suffix);
        let mut q = sqlx::query(&sql);
        for row in chunk {
            for v in row {
                q = match v {
                    V::T(s) => q.bind(s),
                    V::S(s) => q.bind(s),
                    V::I(i) => q.bind(i),
                    V::N(o) => q.bind(o),
                };
            }
        }
        affected += q.execute(&mut **tx).await?.rows_affected();
    }
    Ok(affected)
}
