// PostgreSQL's multi-row insert (`insert_rows`): each column bound as one array and unnested,
// so a table's insert is one prepared statement whatever the number of rows (a `VALUES` list
// would be a new statement, parsed and planned again, for every row count). Included into
// `mod pg` only; SQLite's is `rows_sq.rs`.

/// One column's values, as the array bound for it.
enum Column {
    Text(Vec<String>),
    Int(Vec<i64>),
    Nullable(Vec<Option<i64>>),
}

impl Column {
    fn sql_type(&self) -> &'static str {
        match self {
            Column::Text(_) => "text[]",
            Column::Int(_) | Column::Nullable(_) => "int8[]",
        }
    }

    fn push(&mut self, value: V<'_>, column: &str) -> Result<(), sqlx::Error> {
        match (self, value) {
            (Column::Text(c), V::T(s)) => c.push(s.to_owned()),
            (Column::Text(c), V::S(s)) => c.push(s),
            (Column::Int(c), V::I(i)) => c.push(i),
            (Column::Nullable(c), V::N(o)) => c.push(o),
            (Column::Nullable(c), V::I(i)) => c.push(Some(i)),
            (this @ Column::Int(_), V::N(o)) => {
                let Column::Int(ints) = std::mem::replace(this, Column::Nullable(Vec::new()))
                else {
                    unreachable!("matched as Int above");
                };
                let mut nullable: Vec<Option<i64>> = ints.into_iter().map(Some).collect();
                nullable.push(o);
                *this = Column::Nullable(nullable);
            }
            _ => {
                return Err(sqlx::Error::Encode(
                    format!("column {column} mixes text and numbers").into(),
                ))
            }
        }
        Ok(())
    }
}

/// Inserts `rows` into `table`: one statement per `limits::UNNEST_ROWS_MAX` rows.
async fn insert_rows(
    tx: &mut Tx<'_>,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<V<'_>>>,
    suffix: &str,
) -> Result<u64, sqlx::Error> {
    let mut affected = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<V<'_>>> = rows.by_ref().take(limits::UNNEST_ROWS_MAX).collect();
        let mut arrays: Vec<Column> = chunk[0]
            .iter()
            .map(|v| match v {
                V::T(_) | V::S(_) => Column::Text(Vec::with_capacity(chunk.len())),
                V::I(_) => Column::Int(Vec::with_capacity(chunk.len())),
                V::N(_) => Column::Nullable(Vec::with_capacity(chunk.len())),
            })
            .collect();
        for row in chunk {
            debug_assert_eq!(row.len(), columns.len());
            for ((array, value), column) in arrays.iter_mut().zip(row).zip(columns) {
                array.push(value, column)?;
            }
        }
        let unnest: Vec<String> = arrays
            .iter()
            .enumerate()
            .map(|(i, a)| format!("${}::{}", i + 1, a.sql_type()))
            .collect();
        let sql = format!(
            "INSERT INTO {table} ({}) SELECT * FROM UNNEST({}) {suffix}",
            columns.join(", "),
            unnest.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for array in arrays {
            q = match array {
                Column::Text(v) => q.bind(v),
                Column::Int(v) => q.bind(v),
                Column::Nullable(v) => q.bind(v),
            };
        }
        affected += q.execute(&mut **tx).await?.rows_affected();
    }
    Ok(affected)
}
