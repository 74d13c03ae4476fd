//! 就医行为类 (BHV) rules that need a person's history across visits and institutions: split
//! hospitalisation, frequent visits, visits while an inpatient elsewhere and overlapping stays
//! (smart-audit §3.5). Each is one SQL query over the `visits` and `stays` views of
//! [`super::run_batch`]; a stay is flagged on the day it began, a visit on its day, and only
//! days of the run's year are flagged (the year before is read as history).

use std::fmt::Write as _;

use super::{
    in_year, select_findings, BatchFinding, BatchRule, ParamKind, ParamSpec, RuleParams, YearSpan,
};

/// The batch rules, in catalog order.
pub static RULES: [BatchRule; 4] = [
    BatchRule {
        rule_id: "BHV-01",
        name: "分解住院",
        method: "Pairs of stays of one person at one institution: the later admitted at most \
                 `interval_days` days after the earlier one's discharge (0 = the same day), both \
                 with a main diagnosis of the same three-character ICD-10 category; the later \
                 stay's main diagnosis not under an excluded prefix (planned cycles). One hit per \
                 later stay, against the latest discharge before it.",
        hit: "The later stay is likely one stay split in two to earn a second DRG/DIP payment \
              (money kind E: its fund payment); review the discharge and the readmission.",
        params: &[
            ParamSpec {
                name: "interval_days",
                kind: ParamKind::Int {
                    default: 15,
                    min: 7,
                    max: 31,
                },
                doc: "days from the discharge to the next admission, at most (smart-audit \
                      BHV-01: 7–31, default 15)",
            },
            ParamSpec {
                name: "excluded_dx",
                kind: ParamKind::Prefixes {
                    default: &["Z51", "Z49"],
                },
                doc: "main-diagnosis prefixes of planned cycles (chemotherapy, radiotherapy, \
                      dialysis) never flagged",
            },
        ],
        sql: split_stay_sql,
        message: split_stay_message,
    },
    BatchRule {
        rule_id: "BHV-02",
        name: "频繁门诊",
        method: "Outpatient and pharmacy settlements of one person at one institution counted \
                 over the `window_days` days ending on each visit's day (that day included); \
                 a visit whose window holds more than `max_visits` is a hit.",
        hit: "The person uses one institution far more often than care needs (card lending, \
              visits made up by the institution); a lead (money kind 0) for review.",
        params: &[
            ParamSpec {
                name: "window_days",
                kind: ParamKind::Int {
                    default: 30,
                    min: 1,
                    max: 366,
                },
                doc: "the window's length in days, ending on the visit's day",
            },
            ParamSpec {
                name: "max_visits",
                kind: ParamKind::Int {
                    default: 8,
                    min: 1,
                    max: 1000,
                },
                doc: "the most settlements at one institution the window may hold",
            },
        ],
        sql: frequent_visits_sql,
        message: frequent_visits_message,
    },
    BatchRule {
        rule_id: "BHV-07",
        name: "住院期间门诊或购药结算",
        method: "An outpatient or pharmacy settlement of a person dated strictly inside one of \
                 the person's stays (after the admission day, before the discharge day, each \
                 end narrowed by `edge_days`) at another institution. One hit per visit, \
                 against the earliest such stay.",
        hit: "The person was billed as an inpatient while visiting or buying elsewhere: a \
              ghost bed (挂床) signal against the stay, and the visit itself is suspect (money \
              kind L: the visit's fund payment).",
        params: &[ParamSpec {
            name: "edge_days",
            kind: ParamKind::Int {
                default: 0,
                min: 0,
                max: 7,
            },
            doc: "days after the admission day and before the discharge day also left out",
        }],
        sql: visit_in_stay_sql,
        message: visit_in_stay_message,
    },
    BatchRule {
        rule_id: "BHV-08",
        name: "重叠住院",
        method: "Pairs of stays of one person (any institutions) where the later-admitted one \
                 began before the earlier one's discharge day; the overlap (from the later \
                 admission to the first of the two discharges) at least `min_overlap_days`. \
                 One hit per later stay, against the earliest-admitted stay it overlaps.",
        hit: "One person cannot lie in two beds: one of the stays is at least partly fictitious \
              (money kind E: the later stay's fund payment).",
        params: &[ParamSpec {
            name: "min_overlap_days",
            kind: ParamKind::Int {
                default: 1,
                min: 1,
                max: 365,
            },
            doc: "the shortest overlap in days that is flagged",
        }],
        sql: overlap_sql,
        message: overlap_message,
    },
];

fn split_stay_sql(params: &RuleParams, span: &YearSpan) -> String {
    // The prefixes are letters, digits and dots only (checked by `resolve`).
    let mut excluded = String::new();
    for prefix in params.prefixes("excluded_dx") {
        let _ = write!(excluded, " AND b.dx NOT LIKE '{prefix}%'");
    }
    let pairs = format!(
        "SELECT b.psn AS psn_pseudonym, b.inst AS fixmedins_code, b.setl_id AS setl_id, \
                b.mdtrt_id AS mdtrt_id, b.adm AS begin_date, b.dscg AS end_date, \
                a.inst AS other_fixmedins_code, a.setl_id AS other_setl_id, \
                a.mdtrt_id AS other_mdtrt_id, a.adm AS other_begin_date, \
                a.dscg AS other_end_date, b.adm_n - a.dscg_n AS measure, \
                CAST(b.fund AS VARCHAR) AS fund_pay_sumamt, b.dx AS code, \
                ROW_NUMBER() OVER (PARTITION BY b.mdtrt_id \
                                   ORDER BY a.dscg_n DESC, a.mdtrt_id) AS pick \
         FROM stays a JOIN stays b \
           ON a.psn = b.psn AND a.inst = b.inst AND a.mdtrt_id <> b.mdtrt_id \
         WHERE a.dscg_n IS NOT NULL AND a.dscg_n <= b.adm_n \
           AND b.adm_n - a.dscg_n <= {interval} \
           AND b.dx <> '' AND substr(a.dx, 1, 3) = substr(b.dx, 1, 3){excluded} \
           AND {year}",
        interval = params.int("interval_days"),
        year = in_year("b.adm_n", span),
    );
    select_findings(&format!("({pairs}) p WHERE pick = 1"))
}

fn split_stay_message(f: &BatchFinding) -> String {
    format!(
        "患者{}自{}出院，{}天后（{}）以相同诊断类目【{}】再次入院",
        f.other_end_date.as_deref().unwrap_or(""),
        f.other_fixmedins_code.as_deref().unwrap_or(""),
        f.measure,
        f.begin_date,
        f.code.as_deref().unwrap_or("")
    )
}

fn frequent_visits_sql(params: &RuleParams, span: &YearSpan) -> String {
    let frame = format!(
        "OVER (PARTITION BY psn, inst ORDER BY visit_n \
               RANGE BETWEEN {} PRECEDING AND CURRENT ROW)",
        params.int("window_days") - 1
    );
    let counted = format!(
        "SELECT psn AS psn_pseudonym, inst AS fixmedins_code, setl_id, mdtrt_id, \
                visit_day AS begin_date, visit_day AS end_date, \
                CAST(NULL AS VARCHAR) AS other_fixmedins_code, \
                CAST(NULL AS VARCHAR) AS other_setl_id, CAST(NULL AS VARCHAR) AS other_mdtrt_id, \
                MIN(visit_day) {frame} AS other_begin_date, CAST(NULL AS VARCHAR) AS other_end_date, \
                CAST(COUNT(*) {frame} AS BIGINT) AS measure, \
                CAST(fund AS VARCHAR) AS fund_pay_sumamt, med_type AS code, visit_n \
         FROM visits"
    );
    select_findings(&format!(
        "({counted}) c WHERE measure > {max} AND {year}",
        max = params.int("max_visits"),
        year = in_year("visit_n", span),
    ))
}

fn frequent_visits_message(f: &BatchFinding) -> String {
    format!(
        "患者{}～{}在{}门诊或购药结算{}次",
        f.other_begin_date.as_deref().unwrap_or(""),
        f.begin_date,
        f.fixmedins_code,
        f.measure
    )
}

fn visit_in_stay_sql(params: &RuleParams, span: &YearSpan) -> String {
    let pairs = format!(
        "SELECT v.psn AS psn_pseudonym, v.inst AS fixmedins_code, v.setl_id AS setl_id, \
                v.mdtrt_id AS mdtrt_id, v.visit_day AS begin_date, v.visit_day AS end_date, \
                s.inst AS other_fixmedins_code, s.setl_id AS other_setl_id, \
                s.mdtrt_id AS other_mdtrt_id, s.adm AS other_begin_date, \
                s.dscg AS other_end_date, v.visit_n - s.adm_n AS measure, \
                CAST(v.fund AS VARCHAR) AS fund_pay_sumamt, v.med_type AS code, \
                ROW_NUMBER() OVER (PARTITION BY v.setl_id ORDER BY s.adm_n, s.mdtrt_id) AS pick \
         FROM visits v JOIN stays s ON v.psn = s.psn \
         WHERE v.inst <> s.inst AND s.dscg_n IS NOT NULL \
           AND v.visit_n > s.adm_n + {edge} AND v.visit_n < s.dscg_n - {edge} \
           AND {year}",
        edge = params.int("edge_days"),
        year = in_year("v.visit_n", span),
    );
    select_findings(&format!("({pairs}) p WHERE pick = 1"))
}

fn visit_in_stay_message(f: &BatchFinding) -> String {
    let what = if f.code.as_deref() == Some("41") {
        "购药"
    } else {
        "门诊"
    };
    format!(
        "{}于{}{}结算，其时患者在{}住院（{}～{}）",
        f.begin_date,
        f.fixmedins_code,
        what,
        f.other_fixmedins_code.as_deref().unwrap_or(""),
        f.other_begin_date.as_deref().unwrap_or(""),
        f.other_end_date.as_deref().unwrap_or("")
    )
}

fn overlap_sql(params: &RuleParams, span: &YearSpan) -> String {
    let pairs = format!(
        "SELECT b.psn AS psn_pseudonym, b.inst AS fixmedins_code, b.setl_id AS setl_id, \
                b.mdtrt_id AS mdtrt_id, b.adm AS begin_date, b.dscg AS end_date, \
                a.inst AS other_fixmedins_code, a.setl_id AS other_setl_id, \
                a.mdtrt_id AS other_mdtrt_id, a.adm AS other_begin_date, \
                a.dscg AS other_end_date, \
                (CASE WHEN b.dscg_n IS NOT NULL AND b.dscg_n < a.dscg_n \
                      THEN b.dscg_n ELSE a.dscg_n END) - b.adm_n AS measure, \
                CAST(b.fund AS VARCHAR) AS fund_pay_sumamt, CAST(NULL AS VARCHAR) AS code, \
                a.adm_n AS other_adm_n \
         FROM stays a JOIN stays b ON a.psn = b.psn AND a.mdtrt_id <> b.mdtrt_id \
         WHERE (a.adm_n < b.adm_n OR (a.adm_n = b.adm_n AND a.mdtrt_id < b.mdtrt_id)) \
           AND a.dscg_n IS NOT NULL AND b.adm_n < a.dscg_n \
           AND {year}",
        year = in_year("b.adm_n", span),
    );
    let ranked = format!(
        "SELECT *, ROW_NUMBER() OVER (PARTITION BY mdtrt_id \
                                      ORDER BY other_adm_n, other_mdtrt_id) AS pick \
         FROM ({pairs}) p WHERE measure >= {min}",
        min = params.int("min_overlap_days"),
    );
    select_findings(&format!("({ranked}) r WHERE pick = 1"))
}

fn overlap_message(f: &BatchFinding) -> String {
    format!(
        "患者{}入{}住院时，在{}的住院（{}～{}）尚未出院，重叠{}天",
        f.begin_date,
        f.fixmedins_code,
        f.other_fixmedins_code.as_deref().unwrap_or(""),
        f.other_begin_date.as_deref().unwrap_or(""),
        f.other_end_date.as_deref().unwrap_or(""),
        f.measure
    )
}
