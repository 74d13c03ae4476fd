//! The read side of the columnar export (`yibao export parquet`, docs/BATCH.md): which settled
//! claims exist per insured region and month, and the rows of each exported table for one such
//! partition, as typed cells. Read-only; the SQL is `export_tx.rs`, compiled once per backend.
//! What becomes of the cells (pseudonyms, Arrow types, files) is the batch crate's business: the
//! store only marks which columns hold a personal identifier and in which unit a number is.

use yibao_settlement::{SetlAmounts, SetlUnit};

use crate::error::StoreError;
use crate::{Pool, Store};

/// One exported table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExportTable {
    /// Settlements and reversals (a reversal its own row, every amount negated), with the
    /// visit's and the person's non-identifying facts.
    Settlements,
    /// The fee lines of each settlement.
    FeeLines,
    /// The diagnoses of each settled visit.
    Diagnoses,
    /// The latest version of each settlement list (4101A) with its DRG group.
    SetlLists,
    /// The institutions (not partitioned).
    Institutions,
    /// The persons' non-identifying attributes (not partitioned).
    Persons,
    /// Every pharmacy inventory record (3501–3506 进销存), cancelled ones marked, split by the
    /// institution's region and the month the movement happened.
    InventoryMoves,
    /// The drug traceability codes (药品追溯码) of the inventory records, one row per code, split
    /// as their records are.
    TraceCodes,
}

/// How a table is split into partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PartitionScheme {
    /// By the insured person's region and the settlement month (the claim tables).
    Claims,
    /// By the institution's region and the month the stock moved (the inventory tables).
    Inventory,
    /// One file (the dimension tables).
    Whole,
}

impl ExportTable {
    /// Every exported table, in the order they are written.
    pub const ALL: [ExportTable; 8] = [
        ExportTable::Settlements,
        ExportTable::FeeLines,
        ExportTable::Diagnoses,
        ExportTable::SetlLists,
        ExportTable::Institutions,
        ExportTable::Persons,
        ExportTable::InventoryMoves,
        ExportTable::TraceCodes,
    ];

    /// The table's directory name.
    pub fn name(self) -> &'static str {
        match self {
            ExportTable::Settlements => "settlements",
            ExportTable::FeeLines => "fee_lines",
            ExportTable::Diagnoses => "diagnoses",
            ExportTable::SetlLists => "setl_lists",
            ExportTable::Institutions => "institutions",
            ExportTable::Persons => "persons",
            ExportTable::InventoryMoves => "inventory_moves",
            ExportTable::TraceCodes => "trace_codes",
        }
    }

    /// How the table is split: the claim tables by insured region and settlement month, the
    /// inventory tables by the institution's region and the movement's month; the two
    /// dimension tables are one file each.
    pub fn scheme(self) -> PartitionScheme {
        match self {
            ExportTable::Settlements
            | ExportTable::FeeLines
            | ExportTable::Diagnoses
            | ExportTable::SetlLists => PartitionScheme::Claims,
            ExportTable::InventoryMoves | ExportTable::TraceCodes => PartitionScheme::Inventory,
            ExportTable::Institutions | ExportTable::Persons => PartitionScheme::Whole,
        }
    }

    /// Whether the table is split into `admdvs=…/month=…` partitions.
    pub fn partitioned(self) -> bool {
        self.scheme() != PartitionScheme::Whole
    }

    /// The table's columns, in file order.
    pub fn columns(self) -> Vec<ExportColumn> {
        match self {
            ExportTable::Settlements => settlement_columns(),
            ExportTable::FeeLines => fee_line_columns(),
            ExportTable::Diagnoses => diagnosis_columns(),
            ExportTable::SetlLists => setl_list_columns(),
            ExportTable::Institutions => institution_columns(),
            ExportTable::Persons => person_columns(),
            ExportTable::InventoryMoves => inventory_move_columns(),
            ExportTable::TraceCodes => trace_code_columns(),
        }
    }
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Text as stored.
    Text,
    /// A whole number as stored (counts, flags, signs, versions, ages).
    Int,
    /// An exact decimal stored as an integer of `10^-scale` units (fen: scale 2; micro-yuan
    /// prices and millionth ratios: 6; counts in 1/10000: 4).
    Decimal {
        /// Digits after the point.
        scale: u8,
    },
    /// A personal identifier; the export replaces it by a keyed pseudonym of its `domain`
    /// (the same person gets the same pseudonym in every table).
    Identifier {
        /// What kind of identifier (`psn_no`, `medcasno`): the pseudonym's domain.
        domain: &'static str,
    },
}

/// One exported column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportColumn {
    /// The column's name in the files (the interface's name where it has one).
    pub name: String,
    /// The SQL expression that reads it.
    pub sql: String,
    /// What it holds.
    pub kind: ColumnKind,
    /// Whether it may be empty (SQL NULL).
    pub nullable: bool,
}

/// One exported value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// A text value.
    Text(String),
    /// An integer (a whole number or a decimal's units).
    Int(i64),
}

/// One partition of a partitioned table: a region and a month (for the claim tables the insured
/// person's region and the settlement month; for the inventory tables the institution's region
/// and the month the stock moved).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExportPartition {
    /// The region (`insuplc_admdvs`, or the institution's `admdvs`).
    pub admdvs: String,
    /// The month, `YYYY-MM`.
    pub month: String,
}

fn col(name: &str, sql: &str, kind: ColumnKind) -> ExportColumn {
    ExportColumn {
        name: name.to_owned(),
        sql: sql.to_owned(),
        kind,
        nullable: false,
    }
}

fn nullable(mut column: ExportColumn) -> ExportColumn {
    column.nullable = true;
    column
}

const TEXT: ColumnKind = ColumnKind::Text;
const INT: ColumnKind = ColumnKind::Int;
const FEN: ColumnKind = ColumnKind::Decimal { scale: 2 };
const MICRO: ColumnKind = ColumnKind::Decimal { scale: 6 };
const PSN: ColumnKind = ColumnKind::Identifier { domain: "psn_no" };
const COUNT: ColumnKind = ColumnKind::Decimal { scale: 4 };

/// Age in whole years on the settlement day, from the stored `yyyy-MM-dd` texts.
const AGE_AT_SETTLEMENT: &str = "CAST(CAST(substr(s.setl_date, 1, 4) AS BIGINT) \
     - CAST(substr(p.brdy, 1, 4) AS BIGINT) \
     - (CASE WHEN substr(s.setl_date, 6, 5) < substr(p.brdy, 6, 5) THEN 1 ELSE 0 END) AS BIGINT)";

fn settlement_columns() -> Vec<ExportColumn> {
    let mut columns = vec![
        col("setl_id", "s.setl_id", TEXT),
        col("setl_sign", "s.setl_sign", INT),
        nullable(col("orig_setl_id", "s.orig_setl_id", TEXT)),
        col("refd_setl_flag", "s.refd_setl_flag", INT),
        col("mdtrt_id", "s.mdtrt_id", TEXT),
        col("psn_pseudonym", "s.psn_no", PSN),
        col("fixmedins_code", "s.fixmedins_code", TEXT),
        col("infno", "s.infno", TEXT),
        col("setl_time", "s.setl_time", TEXT),
        col("setl_date", "s.setl_date", TEXT),
        col("insutype", "s.insutype", TEXT),
        col("psn_type", "s.psn_type", TEXT),
        col("med_type", "s.med_type", TEXT),
        col("clr_type", "s.clr_type", TEXT),
        col("mdtrtarea_admvs", "s.mdtrtarea_admvs", TEXT),
        col("hi_setl_lv", "s.hi_setl_lv", TEXT),
        col("acct_used_flag", "s.acct_used_flag", TEXT),
        col("gend", "p.gend", TEXT),
        col("age_years", AGE_AT_SETTLEMENT, INT),
        col("visit_kind", "v.kind", TEXT),
        col("begntime", "v.begntime", TEXT),
        col("endtime", "v.endtime", TEXT),
        col("dept_code", "v.dept_code", TEXT),
        col("atddr_no", "v.atddr_no", TEXT),
        col("dise_codg", "v.dise_codg", TEXT),
        col("dscg_way", "v.dscg_way", TEXT),
    ];
    // Every `setlinfo` amount, named as on the interface, in table 86's order.
    for &(name, unit) in SetlAmounts::FIELDS {
        columns.push(match unit {
            SetlUnit::Fen => col(name, &format!("s.{name}"), FEN),
            SetlUnit::Ppm => col(name, &format!("s.{name}_ppm"), MICRO),
        });
    }
    columns
}

fn fee_line_columns() -> Vec<ExportColumn> {
    vec![
        col("setl_id", "f.setl_id", TEXT),
        col("mdtrt_id", "f.mdtrt_id", TEXT),
        col("feedetl_sn", "f.feedetl_sn", TEXT),
        col("psn_pseudonym", "s.psn_no", PSN),
        col("fixmedins_code", "s.fixmedins_code", TEXT),
        col("med_list_codg", "f.med_list_codg", TEXT),
        col("medins_list_codg", "f.medins_list_codg", TEXT),
        col("fee_ocur_time", "f.fee_ocur_time", TEXT),
        col("hosp_appr_flag", "f.hosp_appr_flag", TEXT),
        col("pric", "f.pric_micro", MICRO),
        col("cnt", "f.cnt_e4", COUNT),
        col("det_item_fee_sumamt", "f.amount_fen", FEN),
        col("in_catalogue", "f.in_catalogue", INT),
        col("chrgitm_lv", "f.chrgitm_lv", TEXT),
        col("med_chrgitm_type", "f.med_chrgitm_type", TEXT),
        col("selfpay_prop", "f.selfpay_prop_ppm", MICRO),
        nullable(col("pric_uplmt_amt", "f.pric_uplmt_micro", MICRO)),
        col("lmt_used_flag", "f.lmt_used_flag", TEXT),
        col("fulamt_ownpay_amt", "f.fulamt_ownpay_fen", FEN),
        col("overlmt_amt", "f.overlmt_selfpay_fen", FEN),
        col("preselfpay_amt", "f.preselfpay_fen", FEN),
        col("inscp_scp_amt", "f.inscp_scp_fen", FEN),
    ]
}

fn diagnosis_columns() -> Vec<ExportColumn> {
    vec![
        col("setl_id", "s.setl_id", TEXT),
        col("mdtrt_id", "d.mdtrt_id", TEXT),
        col("psn_pseudonym", "s.psn_no", PSN),
        col("diag_type", "d.diag_type", TEXT),
        col("diag_srt_no", "d.diag_srt_no", INT),
        col("diag_code", "d.diag_code", TEXT),
        col("diag_name", "d.diag_name", TEXT),
        col("diag_dept", "d.diag_dept", TEXT),
        col("dise_dor_no", "d.dise_dor_no", TEXT),
        col("diag_time", "d.diag_time", TEXT),
        col("maindiag_flag", "d.maindiag_flag", TEXT),
        col("vali_flag", "d.vali_flag", TEXT),
    ]
}

fn setl_list_columns() -> Vec<ExportColumn> {
    vec![
        col("setl_list_id", "l.setl_list_id", TEXT),
        col("setl_id", "l.setl_id", TEXT),
        col("version", "l.version", INT),
        col("mdtrt_id", "l.mdtrt_id", TEXT),
        col("psn_pseudonym", "l.psn_no", PSN),
        col("fixmedins_code", "l.fixmedins_code", TEXT),
        col("uploaded_at", "l.uploaded_at", TEXT),
        col(
            "medcasno",
            "l.medcasno",
            ColumnKind::Identifier { domain: "medcasno" },
        ),
        col("gend", "l.gend", TEXT),
        nullable(col("age", "l.age_years", INT)),
        nullable(col("nwb_age", "l.nwb_age_days", INT)),
        nullable(col("nwb_bir_wt", "l.nwb_bir_wt_g", INT)),
        nullable(col("nwb_adm_wt", "l.nwb_adm_wt_g", INT)),
        col("adm_way", "l.adm_way", TEXT),
        col("trt_type", "l.trt_type", TEXT),
        col("adm_time", "l.adm_time", TEXT),
        col("adm_caty", "l.adm_caty", TEXT),
        col("dscg_time", "l.dscg_time", TEXT),
        col("dscg_caty", "l.dscg_caty", TEXT),
        col("dscg_way", "l.dscg_way", TEXT),
        col("act_ipt", "l.los_days", INT),
        col("vent_used_dura", "l.vent_used_dura", TEXT),
        col("setl_begn_date", "l.setl_begn_date", TEXT),
        col("setl_end_date", "l.setl_end_date", TEXT),
        col("hi_paymtd", "l.hi_paymtd", TEXT),
        col("chfpdr_code", "l.chfpdr_code", TEXT),
        nullable(col(
            "main_diag_code",
            "(SELECT d.diag_code FROM setl_list_diagnosis d WHERE d.setl_list_id = l.setl_list_id \
             AND d.maindiag_flag = 1 ORDER BY d.seq LIMIT 1)",
            TEXT,
        )),
        nullable(col("drg_scheme", "g.scheme", TEXT)),
        nullable(col("drg_status", "g.status", TEXT)),
        nullable(col("mdc", "g.mdc", TEXT)),
        nullable(col("adrg", "g.adrg", TEXT)),
        nullable(col("drg", "g.drg", TEXT)),
        nullable(col("drg_name", "g.drg_name", TEXT)),
        nullable(col("cc_level", "g.cc_level", TEXT)),
    ]
}

fn institution_columns() -> Vec<ExportColumn> {
    vec![
        col("fixmedins_code", "fixmedins_code", TEXT),
        col("fixmedins_name", "fixmedins_name", TEXT),
        col("fixmedins_type", "fixmedins_type", TEXT),
        col("hosp_lv", "hosp_lv", TEXT),
        col("hi_setl_lv", "hi_setl_lv", TEXT),
        col("admdvs", "admdvs", TEXT),
        col("status", "status", TEXT),
    ]
}

fn person_columns() -> Vec<ExportColumn> {
    vec![
        col("psn_pseudonym", "psn_no", PSN),
        col("gend", "gend", TEXT),
        col("birth_year", "CAST(substr(brdy, 1, 4) AS BIGINT)", INT),
        col("naty", "naty", TEXT),
    ]
}

fn inventory_move_columns() -> Vec<ExportColumn> {
    vec![
        col("fixmedins_code", "m.fixmedins_code", TEXT),
        col("msgid", "m.msgid", TEXT),
        col("seq", "m.seq", INT),
        col("infno", "m.infno", TEXT),
        col("inv_data_type", "m.inv_data_type", TEXT),
        col("direction", "m.direction", INT),
        col("med_list_codg", "m.med_list_codg", TEXT),
        col("fixmedins_hilist_id", "m.fixmedins_hilist_id", TEXT),
        col("fixmedins_bchno", "m.fixmedins_bchno", TEXT),
        col("manu_lotnum", "m.manu_lotnum", TEXT),
        col("rx_flag", "m.rx_flag", TEXT),
        col("cnt", "m.cnt_e4", COUNT),
        nullable(col("inv_chg_type", "m.inv_chg_type", TEXT)),
        nullable(col("pric", "m.pric_e6", MICRO)),
        nullable(col("setl_id", "m.setl_id", TEXT)),
        nullable(col("psn_pseudonym", "m.psn_no", PSN)),
        nullable(col("orig_msgid", "m.orig_msgid", TEXT)),
        nullable(col("orig_seq", "m.orig_seq", INT)),
        col("happened_at", "m.happened_at", TEXT),
        col(
            "cancelled",
            "CAST(CASE WHEN c.msgid IS NULL THEN 0 ELSE 1 END AS BIGINT)",
            INT,
        ),
        nullable(col("cancelled_msgid", "c.msgid", TEXT)),
        nullable(col("cancelled_at", "c.cancelled_at", TEXT)),
    ]
}

fn trace_code_columns() -> Vec<ExportColumn> {
    vec![
        col("fixmedins_code", "t.fixmedins_code", TEXT),
        col("msgid", "t.msgid", TEXT),
        col("seq", "t.seq", INT),
        col("code_seq", "t.code_seq", INT),
        col("drug_trac_codg", "t.drug_trac_codg", TEXT),
    ]
}

/// The `FROM … WHERE … ORDER BY` of a table; a partitioned table's has `$1` (the region) and
/// `$2` (the month, `YYYY-MM`).
pub(crate) fn export_from(table: ExportTable) -> &'static str {
    match table {
        ExportTable::Settlements => {
            "FROM settlement s JOIN visit v ON v.mdtrt_id = s.mdtrt_id \
             JOIN person p ON p.psn_no = s.psn_no \
             WHERE s.insuplc_admdvs = $1 AND substr(s.setl_date, 1, 7) = $2 ORDER BY s.setl_id"
        }
        // Fee lines point at the settlement that paid them; a reversal negates that
        // settlement's totals in its own settlement row and has no lines of its own.
        ExportTable::FeeLines => {
            "FROM fee_line f JOIN settlement s ON s.setl_id = f.setl_id \
             WHERE s.insuplc_admdvs = $1 AND substr(s.setl_date, 1, 7) = $2 \
             ORDER BY f.setl_id, f.mdtrt_id, f.feedetl_sn"
        }
        ExportTable::Diagnoses => {
            "FROM settlement s JOIN diagnosis d ON d.mdtrt_id = s.mdtrt_id \
             WHERE s.setl_sign = 1 AND s.insuplc_admdvs = $1 AND substr(s.setl_date, 1, 7) = $2 \
             ORDER BY s.setl_id, d.diag_type, d.diag_srt_no"
        }
        ExportTable::SetlLists => {
            "FROM settlement s JOIN setl_list l ON l.setl_id = s.setl_id \
             LEFT JOIN setl_list_group g ON g.setl_list_id = l.setl_list_id \
             WHERE s.insuplc_admdvs = $1 AND substr(s.setl_date, 1, 7) = $2 \
             AND l.version = (SELECT MAX(l2.version) FROM setl_list l2 \
                 WHERE l2.setl_id = l.setl_id AND l2.fixmedins_code = l.fixmedins_code) \
             ORDER BY l.setl_id, l.fixmedins_code"
        }
        // Every record, cancelled or not (a 3507 deletion is itself evidence); the region is
        // the institution's, the month the movement's own.
        ExportTable::InventoryMoves => {
            "FROM inventory_movement m \
             JOIN institution i ON i.fixmedins_code = m.fixmedins_code \
             LEFT JOIN inventory_cancellation c ON c.fixmedins_code = m.fixmedins_code \
                 AND c.cancelled_msgid = m.msgid AND c.cancelled_seq = m.seq \
             WHERE i.admdvs = $1 AND substr(m.happened_at, 1, 7) = $2 \
             ORDER BY m.fixmedins_code, m.msgid, m.seq"
        }
        ExportTable::TraceCodes => {
            "FROM inventory_trace_code t \
             JOIN inventory_movement m ON m.fixmedins_code = t.fixmedins_code \
                 AND m.msgid = t.msgid AND m.seq = t.seq \
             JOIN institution i ON i.fixmedins_code = m.fixmedins_code \
             WHERE i.admdvs = $1 AND substr(m.happened_at, 1, 7) = $2 \
             ORDER BY t.fixmedins_code, t.msgid, t.seq, t.code_seq"
        }
        ExportTable::Institutions => "FROM institution ORDER BY fixmedins_code",
        ExportTable::Persons => "FROM person ORDER BY psn_no",
    }
}

/// Checks a `YYYY-MM` month argument.
pub fn parse_month(field: &str, month: &str) -> Result<(), StoreError> {
    let ok = month.len() == 7
        && chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_ok();
    if ok {
        Ok(())
    } else {
        Err(StoreError::bad(
            field,
            format!("`{month}` is not a month YYYY-MM"),
        ))
    }
}

/// The partitions of one region and one month only, when given.
fn limit_partitions(
    all: Vec<ExportPartition>,
    admdvs: Option<&str>,
    month: Option<&str>,
) -> Vec<ExportPartition> {
    all.into_iter()
        .filter(|p| admdvs.is_none_or(|a| p.admdvs == a))
        .filter(|p| month.is_none_or(|m| p.month == m))
        .collect()
}

impl Store {
    /// The partitions holding settlements (every row of `settlement`, reversals included),
    /// limited to one insured region and one month when given, in order.
    pub async fn export_partitions(
        &self,
        admdvs: Option<&str>,
        month: Option<&str>,
    ) -> Result<Vec<ExportPartition>, StoreError> {
        if let Some(month) = month {
            parse_month("month", month)?;
        }
        let all = match &self.inner.pool {
            Pool::Pg(p) => crate::pg::export_tx_partitions(p).await?,
            Pool::Sq { pool, .. } => crate::sq::export_tx_partitions(pool).await?,
        };
        Ok(limit_partitions(all, admdvs, month))
    }

    /// The partitions holding inventory records (every row of `inventory_movement`, cancelled
    /// ones included) by the institution's region and the movement's month, limited to one
    /// region and one month when given, in order.
    pub async fn export_inventory_partitions(
        &self,
        admdvs: Option<&str>,
        month: Option<&str>,
    ) -> Result<Vec<ExportPartition>, StoreError> {
        if let Some(month) = month {
            parse_month("month", month)?;
        }
        let all = match &self.inner.pool {
            Pool::Pg(p) => crate::pg::export_tx_inventory_partitions(p).await?,
            Pool::Sq { pool, .. } => crate::sq::export_tx_inventory_partitions(pool).await?,
        };
        Ok(limit_partitions(all, admdvs, month))
    }

    /// The partitions of `table`'s scheme (see [`ExportTable::scheme`]; none for a table that
    /// is one file), limited to one region and one month when given.
    pub async fn export_partitions_of(
        &self,
        table: ExportTable,
        admdvs: Option<&str>,
        month: Option<&str>,
    ) -> Result<Vec<ExportPartition>, StoreError> {
        match table.scheme() {
            PartitionScheme::Claims => self.export_partitions(admdvs, month).await,
            PartitionScheme::Inventory => self.export_inventory_partitions(admdvs, month).await,
            PartitionScheme::Whole => Ok(Vec::new()),
        }
    }

    /// The rows of `table` in `partition` (`None` for the two dimension tables), each cell in
    /// the order of [`ExportTable::columns`], rows in a fixed order (so an unchanged partition
    /// reads the same).
    pub async fn export_rows(
        &self,
        table: ExportTable,
        partition: Option<&ExportPartition>,
    ) -> Result<Vec<Vec<Cell>>, StoreError> {
        if table.partitioned() != partition.is_some() {
            return Err(StoreError::bad(
                "partition",
                format!(
                    "table {} is {}partitioned",
                    table.name(),
                    if table.partitioned() { "" } else { "not " }
                ),
            ));
        }
        let columns = table.columns();
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::export_tx_rows(p, table, &columns, partition).await,
            Pool::Sq { pool, .. } => {
                crate::sq::export_tx_rows(pool, table, &columns, partition).await
            }
        }
    }
}
