// The columnar export's reads (crate::export), written once for both backends: included in `pg`
// and `sq` by `backend!`.

/// Every (insured region, settlement month) holding a settlement row, in order.
pub(crate) async fn export_tx_partitions(
    pool: &Pool,
) -> Result<Vec<crate::export::ExportPartition>, StoreError> {
    let rows = sqlx::query(
        "SELECT DISTINCT insuplc_admdvs, substr(setl_date, 1, 7) AS month FROM settlement \
         ORDER BY insuplc_admdvs, month",
    )
    .fetch_all(pool)
    .await?;
    let mut partitions = Vec::with_capacity(rows.len());
    for r in rows {
        partitions.push(crate::export::ExportPartition {
            admdvs: r.try_get("insuplc_admdvs")?,
            month: r.try_get("month")?,
        });
    }
    Ok(partitions)
}

/// Every (institution region, movement month) holding an inventory record, in order.
pub(crate) async fn export_tx_inventory_partitions(
    pool: &Pool,
) -> Result<Vec<crate::export::ExportPartition>, StoreError> {
    let rows = sqlx::query(
        "SELECT DISTINCT i.admdvs AS admdvs, substr(m.happened_at, 1, 7) AS month \
         FROM inventory_movement m JOIN institution i ON i.fixmedins_code = m.fixmedins_code \
         ORDER BY admdvs, month",
    )
    .fetch_all(pool)
    .await?;
    let mut partitions = Vec::with_capacity(rows.len());
    for r in rows {
        partitions.push(crate::export::ExportPartition {
            admdvs: r.try_get("admdvs")?,
            month: r.try_get("month")?,
        });
    }
    Ok(partitions)
}

/// The rows of one exported table (one partition of it when partitioned), each column read by
/// its name as its kind says; a NULL in a column that may not hold one is a broken row.
pub(crate) async fn export_tx_rows(
    pool: &Pool,
    table: crate::export::ExportTable,
    columns: &[crate::export::ExportColumn],
    partition: Option<&crate::export::ExportPartition>,
) -> Result<Vec<Vec<crate::export::Cell>>, StoreError> {
    use crate::export::{Cell, ColumnKind};
    let select: Vec<String> = columns
        .iter()
        .map(|c| format!("{} AS {}", c.sql, c.name))
        .collect();
    let statement = format!(
        "SELECT {} {}",
        select.join(", "),
        crate::export::export_from(table)
    );
    let mut query = sqlx::query(&statement);
    if let Some(p) = partition {
        query = query.bind(&p.admdvs).bind(&p.month);
    }
    let rows = query.fetch_all(pool).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let mut cells = Vec::with_capacity(columns.len());
        for c in columns {
            let cell = match c.kind {
                ColumnKind::Text | ColumnKind::Identifier { .. } => r
                    .try_get::<Option<String>, _>(c.name.as_str())?
                    .map_or(Cell::Null, Cell::Text),
                ColumnKind::Int | ColumnKind::Decimal { .. } => r
                    .try_get::<Option<i64>, _>(c.name.as_str())?
                    .map_or(Cell::Null, Cell::Int),
            };
            if cell == Cell::Null && !c.nullable {
                return Err(StoreError::Invariant(format!(
                    "export {}: column {} is NULL",
                    table.name(),
                    c.name
                )));
            }
            cells.push(cell);
        }
        out.push(cells);
    }
    Ok(out)
}
