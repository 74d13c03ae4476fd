//! 药店进销存 models over the exported inventory (3501–3506, `inventory_moves` and
//! `trace_codes`) and the settled pharmacy sales (`fee_lines` of the `claims` that stand):
//! S-04 进销存比对, a monthly stock ledger per pharmacy and drug code, and S-05 追溯码重复销售,
//! a traceability code sold again while an earlier sale of it stands (smart-audit §4, MGT-11 and
//! MGT-17). Cancelled records (3507) are left out. Quantities are exact: the export's decimal
//! counts are read as integers of 1/10000 of a unit, never as floats. Only months and sales of
//! the run's year are flagged; every earlier record is read as history (the latest stocktake
//! may be old).

use std::fmt::Write as _;

use super::{
    select_findings, BatchFinding, BatchRule, ParamKind, ParamSpec, RuleParams, YearSpan,
    FINDING_COLUMNS,
};

/// The pharmacy models, in catalog order.
pub static RULES: [BatchRule; 2] = [
    BatchRule {
        rule_id: "S-04",
        name: "进销存比对",
        method: "Per pharmacy (an institution that uploads 3501–3506), drug code (med_list_codg) \
                 and month of the year, in 1/10000 units. The stock of a batch (drug code and \
                 manu_lotnum) at an instant is its latest stocktake (3501) before it plus the \
                 signed records (3502–3506) after that stocktake; a batch never counted starts \
                 at 0; a code's stock is the sum over its batches. opening = the code's stock at \
                 the month's first instant, closing = at the next month's first instant, each \
                 taken as 0 when negative (stock cannot be below nothing: what is below was \
                 flagged in its own month). introduced = the count of a batch's first \
                 stocktake when no record of the batch comes before it (a batch entering the \
                 records by a count: the count is its stock, not a difference). net = purchases (3503) − purchase returns (3504) − \
                 sales (3505) + sale returns (3506) ± stock changes (3502) in the month. \
                 imbalance = opening + introduced + net − closing: what a stocktake in the month found \
                 missing (or, negative, in surplus), or what was sold beyond the stock. \
                 settled = the quantity of the code on fee lines, dated in the month, of the \
                 pharmacy's settlements that stand with a 医疗类别 under `sale_med_types`, plus \
                 3505 sales without a setl_id (self-pay); excess = settled − (opening + introduced + all \
                 inflows of the month: purchases − purchase returns + sale returns ± stock \
                 changes). A month is a hit when |imbalance| or excess is above the tolerance \
                 max(`tolerance_units` units, `tolerance_pct` % of opening + introduced + \
                 purchases).",
        hit: "The pharmacy's stock records do not add up for this drug in this month: it sold or \
              had the fund pay for more than it bought and held, or its count differs from its \
              records — drugs billed that were never stocked (串换, 虚假购药) or stock that left \
              unrecorded. A lead (money kind 0); `measure` is the larger of |imbalance| and \
              excess in whole units, rounded up.",
        params: &[
            ParamSpec {
                name: "tolerance_pct",
                kind: ParamKind::Int {
                    default: 5,
                    min: 0,
                    max: 100,
                },
                doc: "the tolerated difference as a percentage of the month's opening stock \
                      plus counted-in and purchased stock (smart-audit S-04: 5 %)",
            },
            ParamSpec {
                name: "tolerance_units",
                kind: ParamKind::Int {
                    default: 1,
                    min: 0,
                    max: 10_000,
                },
                doc: "the tolerated difference in whole units, at least (one package)",
            },
            ParamSpec {
                name: "sale_med_types",
                kind: ParamKind::Prefixes { default: &["41"] },
                doc: "医疗类别 (med_type) prefixes of the settlements whose fee lines are the \
                      pharmacy's settled sales (41 定点药店购药)",
            },
        ],
        sql: ledger_sql,
        message: ledger_message,
    },
    BatchRule {
        rule_id: "S-05",
        name: "追溯码重复销售",
        method: "Every 3505 sale and 3506 sale return that carries a traceability code \
                 (drug_trac_codg), in time order per code: a sale adds one, a return takes one \
                 away. A sale is a hit when, before it, a sale of the code stands (not returned) \
                 at another pharmacy, or `same_pharmacy_sales_max` or more stand at its own \
                 pharmacy (拆零: one pack sold in parts). One hit per sale record (the code with \
                 the largest spread when it carries several), against the latest earlier sale \
                 of that code. The spread of a code is the number of distinct pharmacies plus \
                 distinct buyers among all its sales.",
        hit: "A pack that was sold once was sold again: a drug bought back and resold (回流药) \
              or a code copied onto other goods. The later sale is suspect (money kind L: the \
              fund payment of its settlement, 0 for a self-pay sale); a spread of 3 or more \
              is a network for investigation. `other_mdtrt_id` holds the traceability code, \
              `measure` the spread size.",
        params: &[ParamSpec {
            name: "same_pharmacy_sales_max",
            kind: ParamKind::Int {
                default: 1,
                min: 1,
                max: 100,
            },
            doc: "how many sales of one code may stand at once at one pharmacy before a further \
                  sale there is a hit (1: every repeat is a hit); a sale standing at another \
                  pharmacy always makes a hit",
        }],
        sql: trace_reuse_sql,
        message: trace_reuse_message,
    },
];

/// The year's months as SQL `VALUES`: (n, `YYYY-MM`, first day, last day), n = 1..12.
fn months_values(span: &YearSpan) -> String {
    let mut values = Vec::with_capacity(12);
    for n in 1..=12u32 {
        let first = chrono::NaiveDate::from_ymd_opt(span.year, n, 1).expect("a month's first day");
        let next = if n == 12 {
            chrono::NaiveDate::from_ymd_opt(span.year + 1, 1, 1)
        } else {
            chrono::NaiveDate::from_ymd_opt(span.year, n + 1, 1)
        }
        .expect("the next month's first day");
        let last = next.pred_opt().expect("a month's last day");
        values.push(format!(
            "({n}, '{}', '{first}', '{last}')",
            first.format("%Y-%m")
        ));
    }
    format!("VALUES {}", values.join(", "))
}

/// The instants the stock is taken at, as SQL `VALUES`: (n, the first instant of month n), n =
/// 1..13 (13: the next year's first instant).
fn bounds_values(span: &YearSpan) -> String {
    let mut values = Vec::with_capacity(13);
    for n in 1..=13 {
        let (year, month) = if n == 13 {
            (span.year + 1, 1)
        } else {
            (span.year, n)
        };
        values.push(format!("({n}, '{year:04}-{month:02}-01 00:00:00')"));
    }
    format!("VALUES {}", values.join(", "))
}

/// The SQL test `expr` starts with one of `prefixes` (checked by `resolve`: letters, digits,
/// dots); false when there are none.
fn starts_with_any(expr: &str, prefixes: &[String]) -> String {
    if prefixes.is_empty() {
        return "FALSE".to_owned();
    }
    let mut test = String::from("(");
    for (idx, prefix) in prefixes.iter().enumerate() {
        if idx > 0 {
            test.push_str(" OR ");
        }
        let _ = write!(test, "{expr} LIKE '{prefix}%'");
    }
    test.push(')');
    test
}

fn ledger_sql(params: &RuleParams, span: &YearSpan) -> String {
    let year = span.year;
    let tolerance_units_e4 = params.int("tolerance_units") * 10_000;
    let tolerance_pct = params.int("tolerance_pct");
    let sale_types = starts_with_any("c.med_type", params.prefixes("sale_med_types"));
    let months = months_values(span);
    let bounds = bounds_values(span);
    let ledger = format!(
        "WITH mv AS ( \
           SELECT fixmedins_code AS inst, med_list_codg AS code, manu_lotnum AS lot, infno, \
                  direction, CAST(cnt * 10000 AS BIGINT) AS q, happened_at AS ts, \
                  substr(happened_at, 1, 7) AS m, setl_id \
           FROM inventory_moves WHERE cancelled = 0 AND \"month\" <= '{year:04}-12'), \
         months AS (SELECT column1 AS n, column2 AS m, column3 AS m_first, \
                           column4 AS m_last FROM ({months}) v), \
         bounds AS (SELECT column1 AS n, column2 AS t FROM ({bounds}) v), \
         stk AS ( \
           SELECT mv.inst, mv.code, mv.lot, b.n, MAX(mv.ts) AS st \
           FROM mv JOIN bounds b ON mv.ts < b.t WHERE mv.infno = '3501' \
           GROUP BY mv.inst, mv.code, mv.lot, b.n), \
         bal AS ( \
           SELECT mv.inst, mv.code, b.n, \
                  SUM(CASE WHEN mv.infno = '3501' \
                           THEN (CASE WHEN mv.ts = s.st THEN mv.q ELSE 0 END) \
                           WHEN s.st IS NULL OR mv.ts > s.st THEN mv.direction * mv.q \
                           ELSE 0 END) AS stock \
           FROM mv JOIN bounds b ON mv.ts < b.t \
           LEFT JOIN stk s ON s.inst = mv.inst AND s.code = mv.code AND s.lot = mv.lot \
                          AND s.n = b.n \
           GROUP BY mv.inst, mv.code, b.n), \
         firsts AS ( \
           SELECT inst, code, lot, MIN(ts) AS t0 FROM mv GROUP BY inst, code, lot), \
         intro AS ( \
           SELECT mv.inst, mv.code, mv.m, SUM(mv.q) AS q \
           FROM mv JOIN firsts f ON f.inst = mv.inst AND f.code = mv.code AND f.lot = mv.lot \
                               AND f.t0 = mv.ts \
           WHERE mv.infno = '3501' GROUP BY mv.inst, mv.code, mv.m), \
         flow AS ( \
           SELECT inst, code, m, \
                  SUM(CASE WHEN infno = '3501' THEN 0 ELSE direction * q END) AS net, \
                  SUM(CASE WHEN infno = '3505' THEN q ELSE 0 END) AS sold, \
                  SUM(CASE WHEN infno = '3505' AND (setl_id IS NULL OR setl_id = '') \
                           THEN q ELSE 0 END) AS selfpay, \
                  SUM(CASE WHEN infno = '3503' THEN q ELSE 0 END) AS purchased \
           FROM mv WHERE substr(m, 1, 4) = '{year:04}' GROUP BY inst, code, m), \
         settled AS ( \
           SELECT f.fixmedins_code AS inst, f.med_list_codg AS code, \
                  substr(f.fee_ocur_time, 1, 7) AS m, SUM(CAST(f.cnt * 10000 AS BIGINT)) AS q \
           FROM fee_lines f JOIN claims c ON c.setl_id = f.setl_id \
           WHERE {sale_types} AND substr(f.fee_ocur_time, 1, 4) = '{year:04}' \
             AND f.fixmedins_code IN (SELECT inst FROM mv) \
           GROUP BY f.fixmedins_code, f.med_list_codg, substr(f.fee_ocur_time, 1, 7)), \
         cells AS (SELECT inst, code, m FROM flow UNION SELECT inst, code, m FROM settled), \
         led AS ( \
           SELECT k.inst, k.code, mo.m_first, mo.m_last, \
                  CASE WHEN COALESCE(o.stock, 0) > 0 THEN o.stock ELSE 0 END AS opening, \
                  CASE WHEN COALESCE(cl.stock, 0) > 0 THEN cl.stock ELSE 0 END AS closing, \
                  COALESCE(fl.net, 0) AS net, COALESCE(fl.sold, 0) AS sold, \
                  COALESCE(fl.selfpay, 0) AS selfpay, COALESCE(fl.purchased, 0) AS purchased, \
                  COALESCE(st.q, 0) AS settled, COALESCE(i.q, 0) AS introduced \
           FROM cells k JOIN months mo ON mo.m = k.m \
           LEFT JOIN bal o ON o.inst = k.inst AND o.code = k.code AND o.n = mo.n \
           LEFT JOIN bal cl ON cl.inst = k.inst AND cl.code = k.code AND cl.n = mo.n + 1 \
           LEFT JOIN flow fl ON fl.inst = k.inst AND fl.code = k.code AND fl.m = k.m \
           LEFT JOIN settled st ON st.inst = k.inst AND st.code = k.code AND st.m = k.m \
           LEFT JOIN intro i ON i.inst = k.inst AND i.code = k.code AND i.m = k.m), \
         diff AS ( \
           SELECT *, ABS(opening + introduced + net - closing) AS imbalance, \
                  settled + selfpay - (opening + introduced + net + sold) AS excess, \
                  CASE WHEN {tolerance_units_e4} > \
                            (opening + introduced + purchased) * {tolerance_pct} / 100 \
                       THEN {tolerance_units_e4} \
                       ELSE (opening + introduced + purchased) * {tolerance_pct} / 100 \
                  END AS tolerance \
           FROM led), \
         found AS ( \
         SELECT '' AS psn_pseudonym, inst AS fixmedins_code, '' AS setl_id, '' AS mdtrt_id, \
                m_first AS begin_date, m_last AS end_date, \
                CAST(NULL AS VARCHAR) AS other_fixmedins_code, \
                CAST(NULL AS VARCHAR) AS other_setl_id, CAST(NULL AS VARCHAR) AS other_mdtrt_id, \
                CAST(NULL AS VARCHAR) AS other_begin_date, \
                CAST(NULL AS VARCHAR) AS other_end_date, \
                CAST((CASE WHEN imbalance > excess THEN imbalance ELSE excess END + 9999) \
                     / 10000 AS BIGINT) AS measure, \
                '0.00' AS fund_pay_sumamt, code \
         FROM diff WHERE imbalance > tolerance OR excess > tolerance) \
         SELECT {} FROM found ORDER BY begin_date, fixmedins_code, code",
        FINDING_COLUMNS.join(", ")
    );
    ledger
}

fn ledger_message(f: &BatchFinding) -> String {
    format!(
        "【{}】{}～{}在{}的进销存不符：期初库存加购进、退货、变更，减销售，与期末库存或医保结算数量相差{}单位",
        f.code.as_deref().unwrap_or(""),
        f.begin_date,
        f.end_date.as_deref().unwrap_or(""),
        f.fixmedins_code,
        f.measure
    )
}

fn trace_reuse_sql(params: &RuleParams, span: &YearSpan) -> String {
    let year = span.year;
    let same_max = params.int("same_pharmacy_sales_max");
    let reuse = format!(
        "WITH ev AS ( \
           SELECT t.drug_trac_codg AS tcode, m.fixmedins_code AS inst, m.med_list_codg AS code, \
                  m.infno, m.happened_at AS ts, m.msgid, m.seq, m.setl_id, \
                  m.psn_pseudonym AS psn, \
                  CASE WHEN m.infno = '3505' THEN 1 ELSE -1 END AS delta \
           FROM trace_codes t JOIN inventory_moves m \
             ON m.fixmedins_code = t.fixmedins_code AND m.msgid = t.msgid AND m.seq = t.seq \
                AND m.\"month\" = t.\"month\" \
           WHERE m.infno IN ('3505', '3506') AND m.cancelled = 0 \
             AND m.\"month\" <= '{year:04}-12'), \
         standing AS ( \
           SELECT *, \
                  COALESCE(SUM(delta) OVER (PARTITION BY tcode ORDER BY ts, inst, msgid, seq \
                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS standing_all, \
                  COALESCE(SUM(delta) OVER (PARTITION BY tcode, inst ORDER BY ts, msgid, seq \
                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS standing_here \
           FROM ev), \
         spread AS ( \
           SELECT tcode, COUNT(DISTINCT inst) + COUNT(DISTINCT psn) AS n_entities \
           FROM ev WHERE infno = '3505' GROUP BY tcode), \
         hits AS ( \
           SELECT r.*, sp.n_entities \
           FROM standing r JOIN spread sp ON sp.tcode = r.tcode \
           WHERE r.infno = '3505' AND substr(r.ts, 1, 4) = '{year:04}' \
             AND (r.standing_all - r.standing_here >= 1 OR r.standing_here >= {same_max})), \
         picked AS ( \
           SELECT *, ROW_NUMBER() OVER (PARTITION BY inst, msgid, seq \
                                        ORDER BY n_entities DESC, tcode) AS pick \
           FROM hits), \
         earlier AS ( \
           SELECT h.inst, h.msgid, h.seq, e.inst AS e_inst, e.setl_id AS e_setl_id, \
                  e.ts AS e_ts, \
                  ROW_NUMBER() OVER (PARTITION BY h.inst, h.msgid, h.seq \
                                     ORDER BY e.ts DESC, e.inst DESC, e.msgid DESC, \
                                              e.seq DESC) AS pick \
           FROM picked h JOIN ev e ON e.tcode = h.tcode AND e.infno = '3505' \
             AND (e.ts < h.ts OR (e.ts = h.ts AND (e.inst < h.inst \
                  OR (e.inst = h.inst AND (e.msgid < h.msgid \
                      OR (e.msgid = h.msgid AND e.seq < h.seq)))))) \
           WHERE h.pick = 1), \
         found AS ( \
         SELECT COALESCE(h.psn, '') AS psn_pseudonym, h.inst AS fixmedins_code, \
                COALESCE(h.setl_id, '') AS setl_id, COALESCE(c.mdtrt_id, '') AS mdtrt_id, \
                substr(h.ts, 1, 10) AS begin_date, substr(h.ts, 1, 10) AS end_date, \
                e.e_inst AS other_fixmedins_code, e.e_setl_id AS other_setl_id, \
                h.tcode AS other_mdtrt_id, substr(e.e_ts, 1, 10) AS other_begin_date, \
                CAST(NULL AS VARCHAR) AS other_end_date, CAST(h.n_entities AS BIGINT) AS measure, \
                COALESCE(CAST(c.fund_pay_sumamt AS VARCHAR), '0.00') AS fund_pay_sumamt, \
                h.code AS code \
         FROM picked h \
         JOIN earlier e ON e.inst = h.inst AND e.msgid = h.msgid AND e.seq = h.seq \
                       AND e.pick = 1 \
         LEFT JOIN claims c ON c.setl_id = h.setl_id \
         WHERE h.pick = 1) "
    );
    format!("{reuse}{}", select_findings("found"))
}

fn trace_reuse_message(f: &BatchFinding) -> String {
    format!(
        "【{}】追溯码{}已于{}在{}销售且未退货，{}在{}再次销售；涉及机构和人员共{}个",
        f.code.as_deref().unwrap_or(""),
        f.other_mdtrt_id.as_deref().unwrap_or(""),
        f.other_begin_date.as_deref().unwrap_or(""),
        f.other_fixmedins_code.as_deref().unwrap_or(""),
        f.begin_date,
        f.fixmedins_code,
        f.measure
    )
}
