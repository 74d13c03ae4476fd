//! Statistical and peer-comparison models (smart-audit §4) and the behaviour rules that need
//! fee lines across a stay or across institutions: department growth and level against peers,
//! dialysis frequency, ghost beds, readmission rates, co-visiting circles, CC/MCC coding
//! against peers, low-threshold admissions and duplicate dispensing across providers. Each is
//! one SQL query over the views of [`super::run_batch`]; a model's hit is a lead (severity 3)
//! whose `evidence` holds the statistics it was decided on (peer group, its size, the median or
//! pooled rate, the limit crossed).
//!
//! Peers are the institutions of one region, type and level (the `peers` view). Rates are
//! compared with a funnel limit (the peers' pooled rate plus `z` binomial standard errors at
//! the institution's volume, the institution itself left out of its peers), levels with a
//! robust z-score (median and MAD). Scores are floating point; they only rank and threshold,
//! and no amount of money is ever computed from them.

use std::fmt::Write as _;

use super::{
    in_year, select_model_findings, BatchFinding, BatchRule, ParamKind, ParamSpec, RuleParams,
    YearSpan,
};

/// The minimum volume every peer model takes (cases of the institution, or of the department).
const MIN_CASES: ParamSpec = ParamSpec {
    name: "min_cases",
    kind: ParamKind::Int {
        default: 30,
        min: 1,
        max: 1_000_000,
    },
    doc: "the fewest cases an institution (or department) needs to be judged",
};

/// The fewest peers a model compares with.
const MIN_PEERS: ParamSpec = ParamSpec {
    name: "min_peers",
    kind: ParamKind::Int {
        default: 3,
        min: 1,
        max: 10_000,
    },
    doc: "the fewest other institutions of the same region, type and level",
};

/// A funnel limit's width in standard errors, in hundredths.
const Z_HUNDREDTHS: ParamSpec = ParamSpec {
    name: "z_hundredths",
    kind: ParamKind::Int {
        default: 309,
        min: 100,
        max: 1_000,
    },
    doc: "the limit in standard errors × 100 (309: the one-sided 99.9 % limit)",
};

/// The models, in catalog order.
pub static MODELS: [BatchRule; 9] = [
    BatchRule {
        rule_id: "S-01",
        name: "同级同类机构科室基金支出异常增长",
        method: "Per institution and department (`dept_code` of the visit): the fund's payment \
                 on encounters begun in the year against the year before. A department whose \
                 payment grew by at least `min_growth_pct` % while the median growth of the same \
                 department at its peers (same region, type and level; the institution itself \
                 left out) was at most `max_peer_growth_pct` % is a hit, when it had at least \
                 `min_cases` encounters in each year and at least `min_peers` peers.",
        hit: "A department spending far faster than its peers' (orthopaedic implants, cardiac \
              stents, in the seeds' cases): a lead for a review of its cases and items, not a \
              deduction; a new licence or a changed case mix are the innocent explanations.",
        params: &[
            ParamSpec {
                name: "min_growth_pct",
                kind: ParamKind::Int {
                    default: 50,
                    min: 5,
                    max: 10_000,
                },
                doc: "the department's growth on the year before, in %, at least",
            },
            ParamSpec {
                name: "max_peer_growth_pct",
                kind: ParamKind::Int {
                    default: 10,
                    min: -100,
                    max: 1_000,
                },
                doc: "the peers' median growth, in %, at most",
            },
            MIN_CASES,
            MIN_PEERS,
        ],
        sql: dept_growth_sql,
        message: dept_growth_message,
    },
    BatchRule {
        rule_id: "S-01L",
        name: "同级同类机构科室次均基金支出离群",
        method: "Per institution and department: the fund's payment per encounter in the year. \
                 Among the same department at the peer group's institutions with at least \
                 `min_cases` encounters, the robust score z = (x − median) / (1.4826 × MAD), \
                 the MAD held at least `mad_floor_pct` % of the median so that a group of \
                 near-equal peers does not make every small difference extreme; z ≥ \
                 `z_hundredths` / 100 with at least `min_peers` other peers is a hit.",
        hit: "A department paid far more per case than the same department at its peers: a \
              lead to compare its case mix, items and coding; no money is flagged.",
        params: &[
            ParamSpec {
                name: "z_hundredths",
                kind: ParamKind::Int {
                    default: 300,
                    min: 100,
                    max: 1_000,
                },
                doc: "the robust z-score × 100 at which a department is a hit",
            },
            ParamSpec {
                name: "mad_floor_pct",
                kind: ParamKind::Int {
                    default: 5,
                    min: 1,
                    max: 100,
                },
                doc: "the MAD used is at least this % of the median",
            },
            MIN_CASES,
            MIN_PEERS,
        ],
        sql: dept_level_sql,
        message: dept_level_message,
    },
    BatchRule {
        rule_id: "S-03",
        name: "血液透析频次异常",
        method: "Dialysis sessions are the quantities of fee lines whose item code starts with \
                 one of `items`, counted per person by day and by ISO week (Monday to Sunday) \
                 across institutions. A week beginning in the year with more than \
                 `max_per_week` sessions, or holding a day with more than `max_per_day`, is a \
                 hit, against the week's first settlement with a session.",
        hit: "More sessions billed than a regimen allows (three a week is the standard \
              haemodialysis regimen): sessions billed and not given, or sessions split (money \
              kind X: the sessions above the limit); documented intensive regimens are the \
              exception.",
        params: &[
            ParamSpec {
                name: "items",
                kind: ParamKind::Prefixes {
                    default: &["311000006", "311000007", "311000008", "31150027"],
                },
                doc: "item-code prefixes of a dialysis session (national 311000006–8: \
                      血液透析, 血液滤过, 血液透析滤过; the demo catalogue's 3115002…)",
            },
            ParamSpec {
                name: "max_per_week",
                kind: ParamKind::Int {
                    default: 3,
                    min: 1,
                    max: 14,
                },
                doc: "sessions a person may have in one ISO week",
            },
            ParamSpec {
                name: "max_per_day",
                kind: ParamKind::Int {
                    default: 1,
                    min: 1,
                    max: 4,
                },
                doc: "sessions a person may have on one day",
            },
        ],
        sql: dialysis_sql,
        message: dialysis_message,
    },
    BatchRule {
        rule_id: "S-06",
        name: "挂床住院",
        method: "Per inpatient stay begun in the year, its days with fee lines; a day is idle \
                 when every line on it is of a category in `idle_categories` (bed, 诊查 and \
                 nursing fees). A run of at least `idle_days` consecutive idle days is a hit \
                 against the stay, the longest run reported. BHV-07's visits elsewhere during \
                 the stay are the second kind of evidence for the same stay.",
        hit: "The patient was billed as lying in a bed while receiving no care: a ghost bed \
              (挂床住院, money kind P: the idle days' fees); documented leave, ICU sedation and \
              long-term-care beds are the exceptions.",
        params: &[
            ParamSpec {
                name: "idle_days",
                kind: ParamKind::Int {
                    default: 3,
                    min: 2,
                    max: 60,
                },
                doc: "consecutive idle days that make a hit",
            },
            ParamSpec {
                name: "idle_categories",
                kind: ParamKind::Prefixes {
                    default: &["01", "02", "07"],
                },
                doc: "医疗收费项目类别 of the lines an idle day may have (01 床位费, 02 诊察费, \
                      07 护理费)",
            },
        ],
        sql: ghost_bed_sql,
        message: ghost_bed_message,
    },
    BatchRule {
        rule_id: "S-07",
        name: "再入院率离群（分解住院机构画像）",
        method: "Per institution, its stays discharged in the year and how many were followed \
                 by an admission of the same person to the same institution at most \
                 `window_days` days later (the later stay's main diagnosis not under \
                 `excluded_dx`). The rate is compared with a funnel limit: the peers' pooled \
                 rate plus `z_hundredths` / 100 binomial standard errors at the institution's \
                 number of discharges. A hit needs at least `min_cases` discharges, \
                 `min_readmissions` readmissions and `min_peers` peers.",
        hit: "An institution readmitting its own patients far more often than its peers: the \
              signature of stays split to earn two DRG/DIP payments; BHV-01's pairs are the \
              cases to review.",
        params: &[
            ParamSpec {
                name: "window_days",
                kind: ParamKind::Int {
                    default: 15,
                    min: 1,
                    max: 31,
                },
                doc: "days from a discharge to the readmission, at most",
            },
            ParamSpec {
                name: "excluded_dx",
                kind: ParamKind::Prefixes {
                    default: &["Z51", "Z49"],
                },
                doc: "main-diagnosis prefixes of planned readmissions never counted",
            },
            Z_HUNDREDTHS,
            ParamSpec {
                name: "min_readmissions",
                kind: ParamKind::Int {
                    default: 3,
                    min: 1,
                    max: 100_000,
                },
                doc: "the fewest readmissions a hit needs",
            },
            MIN_CASES,
            MIN_PEERS,
        ],
        sql: readmission_sql,
        message: readmission_message,
    },
    BatchRule {
        rule_id: "S-10",
        name: "结伴就医",
        method: "Two persons co-visit when they settle outpatient or pharmacy care at the same \
                 institution within `minutes` minutes of each other. Pairs that co-visited on \
                 at least `min_days` different days of the year are linked; a person linked \
                 at one institution to at least `min_persons` − 1 others is a hit (the circle's \
                 size is the measure), against the person's first settlement there in the \
                 year.",
        hit: "A group brought to one institution together again and again (结伴就医: cards \
              collected, visits staged); a lead for the institution's records, checking \
              households and organised health checks first.",
        params: &[
            ParamSpec {
                name: "minutes",
                kind: ParamKind::Int {
                    default: 10,
                    min: 1,
                    max: 240,
                },
                doc: "the most minutes between two settlements that co-visit",
            },
            ParamSpec {
                name: "min_days",
                kind: ParamKind::Int {
                    default: 3,
                    min: 2,
                    max: 366,
                },
                doc: "days a pair must have co-visited",
            },
            ParamSpec {
                name: "min_persons",
                kind: ParamKind::Int {
                    default: 3,
                    min: 2,
                    max: 100,
                },
                doc: "the circle's size (the person and the others linked to them) at least",
            },
        ],
        sql: co_visit_sql,
        message: co_visit_message,
    },
    BatchRule {
        rule_id: "S-11",
        name: "DRG并发症编码（CC/MCC）高套",
        method: "Per institution, its grouped settlement lists of stays discharged in the year \
                 and how many carry a CC or MCC. The expected number is the sum over its ADRGs \
                 of its cases times the peers' CC/MCC rate in that ADRG (indirect \
                 standardisation: a hospital with harder cases expects more), the variance \
                 the sum of n·p·(1 − p); z = (observed − expected) / √variance ≥ \
                 `z_hundredths` / 100 is a hit, with at least `min_cases` lists and \
                 `min_peers` peers.",
        hit: "Far more complications coded than the same case mix has at peers: up-coding \
              (高套) to move cases into dearer DRGs; a lead for a review of the lists' \
              secondary diagnoses.",
        params: &[Z_HUNDREDTHS, MIN_CASES, MIN_PEERS],
        sql: upcoding_sql,
        message: upcoding_message,
    },
    BatchRule {
        rule_id: "BHV-05",
        name: "无指征住院（低标准入院）",
        method: "A stay begun in the year that lasted at most `max_los` days, has no line of a \
                 category in `surgery_categories`, and either spent at least `min_exam_pct` % \
                 of its fees on the categories in `exam_categories` or has no line of a \
                 category in `treatment_categories` at all.",
        hit: "An admission for tests that could have been done as an outpatient, or with no \
              treatment: admitted to draw inpatient benefits (money kind E: the stay's fund \
              payment).",
        params: &[
            ParamSpec {
                name: "max_los",
                kind: ParamKind::Int {
                    default: 3,
                    min: 1,
                    max: 14,
                },
                doc: "the stay's length in days (discharge day − admission day), at most",
            },
            ParamSpec {
                name: "min_exam_pct",
                kind: ParamKind::Int {
                    default: 60,
                    min: 10,
                    max: 100,
                },
                doc: "the share of the stay's fees on examinations and laboratory tests, in %, \
                      at least",
            },
            ParamSpec {
                name: "exam_categories",
                kind: ParamKind::Prefixes {
                    default: &["03", "04"],
                },
                doc: "医疗收费项目类别 of examinations and tests (03 检查费, 04 化验费)",
            },
            ParamSpec {
                name: "treatment_categories",
                kind: ParamKind::Prefixes {
                    default: &["05", "09", "10", "11"],
                },
                doc: "categories of treatment (05 治疗费, 09–11 drugs)",
            },
            ParamSpec {
                name: "surgery_categories",
                kind: ParamKind::Prefixes { default: &["06"] },
                doc: "categories of an operation (06 手术费)",
            },
        ],
        sql: low_threshold_sql,
        message: low_threshold_message,
    },
    BatchRule {
        rule_id: "BHV-09",
        name: "跨机构重复配药",
        method: "Purchases of one drug (the same `med_list_codg`, a line of a category in \
                 `drug_categories`) by one person in outpatient and pharmacy settlements: a \
                 purchase is a hit when, counting it, the person bought the drug at \
                 `min_institutions` or more institutions within the `window_days` days ending on \
                 its day. One hit per settlement (its drug with the most institutions).",
        hit: "The same medicine collected from several providers in a short time: over-supply \
              (重复配药) for resale or stockpiling (money kind X: the excess purchase).",
        params: &[
            ParamSpec {
                name: "window_days",
                kind: ParamKind::Int {
                    default: 7,
                    min: 1,
                    max: 90,
                },
                doc: "the window's length in days, ending on the purchase's day",
            },
            ParamSpec {
                name: "min_institutions",
                kind: ParamKind::Int {
                    default: 3,
                    min: 2,
                    max: 20,
                },
                doc: "institutions the drug was bought at within the window, at least",
            },
            ParamSpec {
                name: "drug_categories",
                kind: ParamKind::Prefixes {
                    default: &["09", "10", "11"],
                },
                doc: "医疗收费项目类别 of drugs (09 西药费, 10 中药饮片费, 11 中成药费)",
            },
        ],
        sql: over_supply_sql,
        message: over_supply_message,
    },
];

/// `expr LIKE 'p1%' OR expr LIKE 'p2%' …` (false when there are none), the prefixes checked
/// by `resolve` (letters, digits and dots only).
fn like_any(expr: &str, prefixes: &[String]) -> String {
    if prefixes.is_empty() {
        return "FALSE".to_owned();
    }
    let mut sql = String::from("(");
    for (i, prefix) in prefixes.iter().enumerate() {
        if i > 0 {
            sql.push_str(" OR ");
        }
        let _ = write!(sql, "{expr} LIKE '{prefix}%'");
    }
    sql.push(')');
    sql
}

/// The columns of a hit that names no other encounter's institution, settlement or visit.
const NO_OTHER: &str = "CAST(NULL AS VARCHAR) AS other_fixmedins_code, \
     CAST(NULL AS VARCHAR) AS other_setl_id, CAST(NULL AS VARCHAR) AS other_mdtrt_id";

/// The year's first and last day as text, for institution-level hits.
fn year_days(span: &YearSpan) -> (String, String) {
    (
        format!("{:04}-01-01", span.year),
        format!("{:04}-12-31", span.year),
    )
}

/// A value of a finding's `evidence` (`key=value;…`).
fn evidence<'a>(f: &'a BatchFinding, key: &str) -> &'a str {
    f.evidence
        .as_deref()
        .unwrap_or("")
        .split(';')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map_or("", |(_, v)| v)
}

/// The uniform columns of an institution-level hit: no person, settlement or other encounter.
fn institution_hit(span: &YearSpan) -> String {
    let (first, last) = year_days(span);
    format!(
        "'' AS psn_pseudonym, '' AS setl_id, '' AS mdtrt_id, \
         '{first}' AS begin_date, '{last}' AS end_date, {NO_OTHER}, \
         CAST(NULL AS VARCHAR) AS other_begin_date, CAST(NULL AS VARCHAR) AS other_end_date"
    )
}

fn dept_growth_sql(params: &RuleParams, span: &YearSpan) -> String {
    let prev = YearSpan::of(span.year - 1).expect("the year before a checked year is a year");
    let now = in_year("CAST(c.begn_date AS BIGINT)", span);
    let before = in_year("CAST(c.begn_date AS BIGINT)", &prev);
    let min_cases = params.int("min_cases");
    let inner = format!(
        "WITH d AS ( \
           SELECT c.fixmedins_code AS inst, c.dept_code AS dept, \
                  SUM(CASE WHEN {now} THEN c.fund_pay_sumamt ELSE 0 END) AS fund_now, \
                  SUM(CASE WHEN {before} THEN c.fund_pay_sumamt ELSE 0 END) AS fund_prev, \
                  COUNT(DISTINCT CASE WHEN {now} THEN c.mdtrt_id END) AS cases_now, \
                  COUNT(DISTINCT CASE WHEN {before} THEN c.mdtrt_id END) AS cases_prev \
           FROM claims c WHERE c.begn_date IS NOT NULL AND c.dept_code <> '' \
           GROUP BY c.fixmedins_code, c.dept_code), \
         g AS ( \
           SELECT d.inst, d.dept, p.peer_group, d.fund_now, d.fund_prev, d.cases_now, \
                  (CAST(d.fund_now AS DOUBLE) - CAST(d.fund_prev AS DOUBLE)) \
                    / CAST(d.fund_prev AS DOUBLE) AS growth \
           FROM d JOIN peers p ON d.inst = p.inst \
           WHERE d.fund_prev > 0 AND d.cases_prev >= {min_cases} AND d.cases_now >= {min_cases}), \
         pg AS ( \
           SELECT a.inst, a.dept, median(b.growth) AS peer_growth, COUNT(*) AS n_peers \
           FROM g a JOIN g b ON a.peer_group = b.peer_group AND a.dept = b.dept \
                            AND a.inst <> b.inst \
           GROUP BY a.inst, a.dept) \
         SELECT {hit}, g.inst AS fixmedins_code, \
                CAST(round(g.growth * 100) AS BIGINT) AS measure, \
                CAST(g.fund_now AS VARCHAR) AS fund_pay_sumamt, g.dept AS code, \
                'peer_group=' || g.peer_group || ';peers=' || CAST(pg.n_peers AS VARCHAR) \
                  || ';fund_prev=' || CAST(g.fund_prev AS VARCHAR) \
                  || ';cases=' || CAST(g.cases_now AS VARCHAR) \
                  || ';peer_median_growth_pct=' \
                  || CAST(CAST(round(pg.peer_growth * 100) AS BIGINT) AS VARCHAR) AS evidence \
         FROM g JOIN pg ON g.inst = pg.inst AND g.dept = pg.dept \
         WHERE pg.n_peers >= {min_peers} AND g.growth * 100 >= {min_growth} \
           AND pg.peer_growth * 100 <= {max_peer}",
        hit = institution_hit(span),
        min_peers = params.int("min_peers"),
        min_growth = params.int("min_growth_pct"),
        max_peer = params.int("max_peer_growth_pct"),
    );
    select_model_findings(&format!("({inner}) h"))
}

fn dept_growth_message(f: &BatchFinding) -> String {
    format!(
        "科室{}基金支出{}元，较上年{}元增长{}%，同级同类机构同科室增长中位数{}%（n={}）",
        f.code.as_deref().unwrap_or(""),
        f.fund_pay_sumamt,
        evidence(f, "fund_prev"),
        f.measure,
        evidence(f, "peer_median_growth_pct"),
        evidence(f, "peers")
    )
}

fn dept_level_sql(params: &RuleParams, span: &YearSpan) -> String {
    let now = in_year("CAST(c.begn_date AS BIGINT)", span);
    let inner = format!(
        "WITH d AS ( \
           SELECT c.fixmedins_code AS inst, c.dept_code AS dept, \
                  SUM(c.fund_pay_sumamt) AS fund, COUNT(DISTINCT c.mdtrt_id) AS cases \
           FROM claims c WHERE c.begn_date IS NOT NULL AND c.dept_code <> '' AND {now} \
           GROUP BY c.fixmedins_code, c.dept_code), \
         g AS ( \
           SELECT d.inst, d.dept, d.fund, d.cases, p.peer_group, \
                  CAST(d.fund AS DOUBLE) / CAST(d.cases AS DOUBLE) AS x \
           FROM d JOIN peers p ON d.inst = p.inst WHERE d.cases >= {min_cases}), \
         m AS ( \
           SELECT peer_group, dept, median(x) AS med, COUNT(*) AS n \
           FROM g GROUP BY peer_group, dept), \
         a AS ( \
           SELECT g.peer_group, g.dept, median(abs(g.x - m.med)) AS mad \
           FROM g JOIN m ON g.peer_group = m.peer_group AND g.dept = m.dept \
           GROUP BY g.peer_group, g.dept), \
         z AS ( \
           SELECT g.inst, g.dept, g.fund, g.cases, g.peer_group, g.x, m.med, m.n, a.mad, \
                  (g.x - m.med) / (1.4826 * (CASE WHEN a.mad > m.med * {floor} / 100.0 \
                                                  THEN a.mad ELSE m.med * {floor} / 100.0 END)) \
                    AS z \
           FROM g JOIN m ON g.peer_group = m.peer_group AND g.dept = m.dept \
                  JOIN a ON g.peer_group = a.peer_group AND g.dept = a.dept \
           WHERE m.med > 0) \
         SELECT {hit}, inst AS fixmedins_code, CAST(round(z * 100) AS BIGINT) AS measure, \
                CAST(fund AS VARCHAR) AS fund_pay_sumamt, dept AS code, \
                'peer_group=' || peer_group || ';peers=' || CAST(n - 1 AS VARCHAR) \
                  || ';cases=' || CAST(cases AS VARCHAR) \
                  || ';per_case=' || CAST(CAST(round(x) AS BIGINT) AS VARCHAR) \
                  || ';peer_median=' || CAST(CAST(round(med) AS BIGINT) AS VARCHAR) \
                  || ';mad=' || CAST(CAST(round(mad) AS BIGINT) AS VARCHAR) AS evidence \
         FROM z WHERE n - 1 >= {min_peers} AND z * 100 >= {z}",
        hit = institution_hit(span),
        min_cases = params.int("min_cases"),
        min_peers = params.int("min_peers"),
        floor = params.int("mad_floor_pct"),
        z = params.int("z_hundredths"),
    );
    select_model_findings(&format!("({inner}) h"))
}

fn dept_level_message(f: &BatchFinding) -> String {
    format!(
        "科室{}次均基金支出{}元，同级同类机构同科室中位数{}元（n={}），稳健Z={:.2}",
        f.code.as_deref().unwrap_or(""),
        evidence(f, "per_case"),
        evidence(f, "peer_median"),
        evidence(f, "peers"),
        f.measure as f64 / 100.0
    )
}

fn dialysis_sql(params: &RuleParams, span: &YearSpan) -> String {
    let items = like_any("l.item", params.prefixes("items"));
    let inner = format!(
        "WITH s AS ( \
           SELECT l.psn, l.inst, l.setl_id, l.mdtrt_id, l.fee_n, l.fee_day, \
                  CAST((l.fee_n + 3) / 7 AS BIGINT) AS week, l.cnt \
           FROM lines l WHERE l.fee_n IS NOT NULL AND {items}), \
         d AS (SELECT psn, fee_n, CAST(SUM(cnt) AS BIGINT) AS per_day FROM s GROUP BY psn, fee_n), \
         w AS ( \
           SELECT s.psn, s.week, CAST(SUM(s.cnt) AS BIGINT) AS sessions, MIN(s.fee_n) AS first_n, \
                  MIN(s.fee_day) AS first_day, MAX(s.fee_day) AS last_day, \
                  COUNT(DISTINCT s.inst) AS insts \
           FROM s GROUP BY s.psn, s.week), \
         wd AS ( \
           SELECT w.psn, w.week, MAX(d.per_day) AS max_day \
           FROM w JOIN d ON w.psn = d.psn AND CAST((d.fee_n + 3) / 7 AS BIGINT) = w.week \
           GROUP BY w.psn, w.week), \
         f AS ( \
           SELECT s.psn, s.week, s.inst, s.setl_id, s.mdtrt_id, \
                  ROW_NUMBER() OVER (PARTITION BY s.psn, s.week \
                                     ORDER BY s.fee_n, s.setl_id) AS pick \
           FROM s) \
         SELECT w.psn AS psn_pseudonym, f.inst AS fixmedins_code, f.setl_id, f.mdtrt_id, \
                w.first_day AS begin_date, w.last_day AS end_date, \
                {NO_OTHER}, \
                CAST(NULL AS VARCHAR) AS other_begin_date, CAST(NULL AS VARCHAR) AS other_end_date, \
                CAST(w.sessions AS BIGINT) AS measure, '0.00' AS fund_pay_sumamt, \
                CAST(NULL AS VARCHAR) AS code, \
                'max_per_day=' || CAST(CAST(wd.max_day AS BIGINT) AS VARCHAR) \
                  || ';institutions=' || CAST(w.insts AS VARCHAR) AS evidence \
         FROM w JOIN wd ON w.psn = wd.psn AND w.week = wd.week \
                JOIN f ON w.psn = f.psn AND w.week = f.week AND f.pick = 1 \
         WHERE (w.sessions > {max_week} OR wd.max_day > {max_day}) \
           AND {year}",
        max_week = params.int("max_per_week"),
        max_day = params.int("max_per_day"),
        // The week's Monday in the year.
        year = in_year("w.week * 7 - 3", span),
    );
    select_model_findings(&format!("({inner}) h"))
}

fn dialysis_message(f: &BatchFinding) -> String {
    format!(
        "患者{}～{}一周内血液透析{}次（单日最多{}次，{}家机构）",
        f.begin_date,
        f.end_date.as_deref().unwrap_or(""),
        f.measure,
        evidence(f, "max_per_day"),
        evidence(f, "institutions")
    )
}

fn ghost_bed_sql(params: &RuleParams, span: &YearSpan) -> String {
    let idle = like_any("l.cat", params.prefixes("idle_categories"));
    let inner = format!(
        "WITH days AS ( \
           SELECT l.mdtrt_id, l.fee_n, MIN(l.fee_day) AS fee_day, \
                  SUM(CASE WHEN {idle} THEN 0 ELSE 1 END) AS busy \
           FROM lines l WHERE l.visit_kind = 'ipt' AND l.fee_n IS NOT NULL \
           GROUP BY l.mdtrt_id, l.fee_n), \
         idle AS ( \
           SELECT mdtrt_id, fee_n, fee_day, \
                  fee_n - ROW_NUMBER() OVER (PARTITION BY mdtrt_id ORDER BY fee_n) AS run \
           FROM days WHERE busy = 0), \
         runs AS ( \
           SELECT mdtrt_id, run, COUNT(*) AS len, MIN(fee_day) AS run_first, \
                  MAX(fee_day) AS run_last \
           FROM idle GROUP BY mdtrt_id, run), \
         best AS ( \
           SELECT mdtrt_id, len, run_first, run_last, \
                  ROW_NUMBER() OVER (PARTITION BY mdtrt_id ORDER BY len DESC, run) AS pick \
           FROM runs) \
         SELECT s.psn AS psn_pseudonym, s.inst AS fixmedins_code, s.setl_id, s.mdtrt_id, \
                s.adm AS begin_date, s.dscg AS end_date, \
                {NO_OTHER}, \
                b.run_first AS other_begin_date, b.run_last AS other_end_date, \
                b.len AS measure, CAST(s.fund AS VARCHAR) AS fund_pay_sumamt, \
                s.dx AS code, CAST(NULL AS VARCHAR) AS evidence \
         FROM best b JOIN stays s ON b.mdtrt_id = s.mdtrt_id \
         WHERE b.pick = 1 AND b.len >= {min} AND {year}",
        min = params.int("idle_days"),
        year = in_year("s.adm_n", span),
    );
    select_model_findings(&format!("({inner}) h"))
}

fn ghost_bed_message(f: &BatchFinding) -> String {
    format!(
        "住院（{}～{}）期间{}～{}连续{}天仅有床位、诊查、护理费用，无治疗、检查、药品",
        f.begin_date,
        f.end_date.as_deref().unwrap_or(""),
        f.other_begin_date.as_deref().unwrap_or(""),
        f.other_end_date.as_deref().unwrap_or(""),
        f.measure
    )
}

fn readmission_sql(params: &RuleParams, span: &YearSpan) -> String {
    let mut excluded = String::new();
    for prefix in params.prefixes("excluded_dx") {
        let _ = write!(excluded, " AND b.dx NOT LIKE '{prefix}%'");
    }
    let inner = format!(
        "WITH d AS ( \
           SELECT a.inst, a.mdtrt_id, \
                  MAX(CASE WHEN b.mdtrt_id IS NULL THEN 0 ELSE 1 END) AS readm \
           FROM stays a LEFT JOIN stays b \
             ON b.psn = a.psn AND b.inst = a.inst AND b.mdtrt_id <> a.mdtrt_id \
            AND b.adm_n >= a.dscg_n AND b.adm_n - a.dscg_n <= {window}{excluded} \
           WHERE a.dscg_n IS NOT NULL AND {year} \
           GROUP BY a.inst, a.mdtrt_id), \
         r AS ( \
           SELECT d.inst, p.peer_group, COUNT(*) AS n, SUM(d.readm) AS k \
           FROM d JOIN peers p ON d.inst = p.inst GROUP BY d.inst, p.peer_group), \
         t AS ( \
           SELECT peer_group, SUM(n) AS tn, SUM(k) AS tk, COUNT(*) AS insts \
           FROM r GROUP BY peer_group), \
         f AS ( \
           SELECT r.inst, r.peer_group, r.n, r.k, t.insts - 1 AS n_peers, \
                  CAST(t.tk - r.k AS DOUBLE) / CAST(t.tn - r.n AS DOUBLE) AS p \
           FROM r JOIN t ON r.peer_group = t.peer_group WHERE t.tn > r.n), \
         l AS ( \
           SELECT f.*, p + {z} / 100.0 * sqrt(p * (1.0 - p) / CAST(n AS DOUBLE)) AS lim \
           FROM f) \
         SELECT {hit}, inst AS fixmedins_code, CAST(k * 1000 / n AS BIGINT) AS measure, \
                '0.00' AS fund_pay_sumamt, CAST(NULL AS VARCHAR) AS code, \
                'peer_group=' || peer_group || ';peers=' || CAST(n_peers AS VARCHAR) \
                  || ';discharges=' || CAST(n AS VARCHAR) \
                  || ';readmissions=' || CAST(k AS VARCHAR) \
                  || ';peer_rate_permille=' || CAST(CAST(round(p * 1000) AS BIGINT) AS VARCHAR) \
                  || ';limit_permille=' || CAST(CAST(round(lim * 1000) AS BIGINT) AS VARCHAR) \
                  AS evidence \
         FROM l \
         WHERE n >= {min_cases} AND k >= {min_k} AND n_peers >= {min_peers} \
           AND CAST(k AS DOUBLE) / CAST(n AS DOUBLE) > lim",
        window = params.int("window_days"),
        year = in_year("a.dscg_n", span),
        z = params.int("z_hundredths"),
        hit = institution_hit(span),
        min_cases = params.int("min_cases"),
        min_k = params.int("min_readmissions"),
        min_peers = params.int("min_peers"),
    );
    select_model_findings(&format!("({inner}) h"))
}

fn readmission_message(f: &BatchFinding) -> String {
    format!(
        "出院{}人次中{}人次短期内再次入住本院，再入院率{}‰，同级同类机构{}‰（n={}），上限{}‰",
        evidence(f, "discharges"),
        evidence(f, "readmissions"),
        f.measure,
        evidence(f, "peer_rate_permille"),
        evidence(f, "peers"),
        evidence(f, "limit_permille")
    )
}

fn co_visit_sql(params: &RuleParams, span: &YearSpan) -> String {
    let minutes = params.int("minutes");
    // Settlements bucketed by `minutes`: two within `minutes` of each other fall in the same
    // or adjacent buckets, so the pairs come from three equi-joins (the bucket, the next, the
    // one before), not one over the whole day.
    let pair = |offset: i64| {
        format!(
            "SELECT a.psn AS a, b.psn AS b, a.inst, a.day_n, a.t AS ta, b.t AS tb \
             FROM v a JOIN v b ON a.inst = b.inst AND b.slot = a.slot + ({offset}) \
             WHERE a.psn <> b.psn"
        )
    };
    let inner = format!(
        "WITH v AS ( \
           SELECT psn_pseudonym AS psn, fixmedins_code AS inst, setl_id, \
                  CAST(begn_date AS BIGINT) AS day_n, CAST(begn_date AS VARCHAR) AS day, t, \
                  t / {minutes} AS slot \
           FROM (SELECT *, CAST(TRY_CAST(setl_time AS TIMESTAMP) AS BIGINT) / 60000000000 AS t \
                 FROM claims WHERE visit_kind = 'otp' AND begn_date IS NOT NULL) c \
           WHERE t IS NOT NULL AND {year}), \
         p AS ({p0} UNION ALL {p1} UNION ALL {p2}), \
         e AS ( \
           SELECT a, b, inst, COUNT(DISTINCT day_n) AS days FROM p \
           WHERE abs(ta - tb) <= {minutes} GROUP BY a, b, inst), \
         c AS ( \
           SELECT a AS psn, inst, COUNT(*) AS partners FROM e \
           WHERE days >= {min_days} GROUP BY a, inst), \
         firsts AS ( \
           SELECT psn, inst, setl_id, day, \
                  ROW_NUMBER() OVER (PARTITION BY psn, inst ORDER BY t, setl_id) AS pick \
           FROM v) \
         SELECT c.psn AS psn_pseudonym, c.inst AS fixmedins_code, f.setl_id, \
                '' AS mdtrt_id, f.day AS begin_date, CAST(NULL AS VARCHAR) AS end_date, \
                {NO_OTHER}, \
                CAST(NULL AS VARCHAR) AS other_begin_date, CAST(NULL AS VARCHAR) AS other_end_date, \
                c.partners + 1 AS measure, '0.00' AS fund_pay_sumamt, \
                CAST(NULL AS VARCHAR) AS code, \
                'minutes={minutes};min_days={min_days}' AS evidence \
         FROM c JOIN firsts f ON c.psn = f.psn AND c.inst = f.inst AND f.pick = 1 \
         WHERE c.partners + 1 >= {min_persons}",
        year = in_year("CAST(begn_date AS BIGINT)", span),
        p0 = pair(0),
        p1 = pair(1),
        p2 = pair(-1),
        min_days = params.int("min_days"),
        min_persons = params.int("min_persons"),
    );
    select_model_findings(&format!("({inner}) h"))
}

fn co_visit_message(f: &BatchFinding) -> String {
    format!(
        "患者与其他{}人在{}多次相隔{}分钟内先后结算（各至少{}天）",
        f.measure - 1,
        f.fixmedins_code,
        evidence(f, "minutes"),
        evidence(f, "min_days")
    )
}

fn upcoding_sql(params: &RuleParams, span: &YearSpan) -> String {
    let (first, last) = span.months();
    let inner = format!(
        "WITH l AS ( \
           SELECT s.fixmedins_code AS inst, s.adrg, \
                  CASE WHEN s.cc_level IN ('CC', 'MCC') THEN 1 ELSE 0 END AS cc \
           FROM setl_lists s JOIN claims c ON s.setl_id = c.setl_id \
           WHERE s.adrg IS NOT NULL AND s.adrg <> '' \
             AND s.\"month\" >= '{first}' AND s.\"month\" <= '{last}' \
             AND {year}), \
         ia AS ( \
           SELECT l.inst, p.peer_group, l.adrg, COUNT(*) AS n, SUM(l.cc) AS k \
           FROM l JOIN peers p ON l.inst = p.inst GROUP BY l.inst, p.peer_group, l.adrg), \
         ga AS (SELECT peer_group, adrg, SUM(n) AS tn, SUM(k) AS tk FROM ia \
                GROUP BY peer_group, adrg), \
         e AS ( \
           SELECT ia.inst, ia.peer_group, ia.n, ia.k, \
                  CASE WHEN ga.tn > ia.n \
                       THEN CAST(ga.tk - ia.k AS DOUBLE) / CAST(ga.tn - ia.n AS DOUBLE) \
                  END AS p \
           FROM ia JOIN ga ON ia.peer_group = ga.peer_group AND ia.adrg = ga.adrg), \
         tot AS ( \
           SELECT inst, peer_group, SUM(n) AS n, SUM(k) AS k, \
                  SUM(CASE WHEN p IS NULL THEN 0 ELSE n END) AS n_compared, \
                  SUM(CASE WHEN p IS NULL THEN 0 ELSE k END) AS k_compared, \
                  SUM(CASE WHEN p IS NULL THEN 0.0 ELSE CAST(n AS DOUBLE) * p END) AS ex, \
                  SUM(CASE WHEN p IS NULL THEN 0.0 ELSE CAST(n AS DOUBLE) * p * (1.0 - p) END) \
                    AS var \
           FROM e GROUP BY inst, peer_group), \
         np AS (SELECT peer_group, COUNT(DISTINCT inst) AS insts FROM ia GROUP BY peer_group), \
         z AS ( \
           SELECT tot.*, np.insts - 1 AS n_peers, \
                  (CAST(tot.k_compared AS DOUBLE) - tot.ex) / sqrt(tot.var) AS z \
           FROM tot JOIN np ON tot.peer_group = np.peer_group WHERE tot.var > 0) \
         SELECT {hit}, inst AS fixmedins_code, CAST(k * 1000 / n AS BIGINT) AS measure, \
                '0.00' AS fund_pay_sumamt, CAST(NULL AS VARCHAR) AS code, \
                'peer_group=' || peer_group || ';peers=' || CAST(n_peers AS VARCHAR) \
                  || ';lists=' || CAST(n AS VARCHAR) || ';cc_mcc=' || CAST(k AS VARCHAR) \
                  || ';expected=' || CAST(CAST(round(ex) AS BIGINT) AS VARCHAR) \
                  || ';of=' || CAST(n_compared AS VARCHAR) \
                  || ';z_hundredths=' || CAST(CAST(round(z * 100) AS BIGINT) AS VARCHAR) \
                  AS evidence \
         FROM z WHERE n >= {min_cases} AND n_peers >= {min_peers} AND z * 100 >= {z}",
        year = in_year("CAST(c.end_date AS BIGINT)", span),
        hit = institution_hit(span),
        min_cases = params.int("min_cases"),
        min_peers = params.int("min_peers"),
        z = params.int("z_hundredths"),
    );
    select_model_findings(&format!("({inner}) h"))
}

fn upcoding_message(f: &BatchFinding) -> String {
    format!(
        "结算清单{}份中{}份编有CC/MCC（{}‰），按同级同类机构各ADRG比例应约{}份，Z={:.2}（n={}）",
        evidence(f, "lists"),
        evidence(f, "cc_mcc"),
        f.measure,
        evidence(f, "expected"),
        evidence(f, "z_hundredths").parse::<f64>().unwrap_or(0.0) / 100.0,
        evidence(f, "peers")
    )
}

fn low_threshold_sql(params: &RuleParams, span: &YearSpan) -> String {
    let exam = like_any("l.cat", params.prefixes("exam_categories"));
    let treat = like_any("l.cat", params.prefixes("treatment_categories"));
    let surgery = like_any("l.cat", params.prefixes("surgery_categories"));
    let inner = format!(
        "WITH f AS ( \
           SELECT l.mdtrt_id, SUM(l.amt) AS total, \
                  SUM(CASE WHEN {exam} THEN l.amt ELSE 0 END) AS exam, \
                  SUM(CASE WHEN {treat} THEN 1 ELSE 0 END) AS treatments, \
                  SUM(CASE WHEN {surgery} THEN 1 ELSE 0 END) AS operations \
           FROM lines l WHERE l.visit_kind = 'ipt' GROUP BY l.mdtrt_id) \
         SELECT s.psn AS psn_pseudonym, s.inst AS fixmedins_code, s.setl_id, s.mdtrt_id, \
                s.adm AS begin_date, s.dscg AS end_date, \
                {NO_OTHER}, \
                CAST(NULL AS VARCHAR) AS other_begin_date, CAST(NULL AS VARCHAR) AS other_end_date, \
                CAST(f.exam * 100 / f.total AS BIGINT) AS measure, \
                CAST(s.fund AS VARCHAR) AS fund_pay_sumamt, s.dx AS code, \
                'los=' || CAST(s.dscg_n - s.adm_n AS VARCHAR) \
                  || ';total=' || CAST(f.total AS VARCHAR) \
                  || ';treatment_lines=' || CAST(f.treatments AS VARCHAR) AS evidence \
         FROM f JOIN stays s ON f.mdtrt_id = s.mdtrt_id \
         WHERE s.dscg_n IS NOT NULL AND s.dscg_n - s.adm_n <= {max_los} AND f.total > 0 \
           AND f.operations = 0 \
           AND (f.exam * 100 >= f.total * {min_exam} OR f.treatments = 0) \
           AND {year}",
        max_los = params.int("max_los"),
        min_exam = params.int("min_exam_pct"),
        year = in_year("s.adm_n", span),
    );
    select_model_findings(&format!("({inner}) h"))
}

fn low_threshold_message(f: &BatchFinding) -> String {
    format!(
        "住院{}天（{}～{}），费用{}元中检查化验占{}%，治疗及药品{}项，主要诊断【{}】",
        evidence(f, "los"),
        f.begin_date,
        f.end_date.as_deref().unwrap_or(""),
        evidence(f, "total"),
        f.measure,
        evidence(f, "treatment_lines"),
        f.code.as_deref().unwrap_or("")
    )
}

fn over_supply_sql(params: &RuleParams, span: &YearSpan) -> String {
    let drugs = like_any("l.cat", params.prefixes("drug_categories"));
    let inner = format!(
        "WITH b AS ( \
           SELECT DISTINCT l.psn, l.item, l.inst, l.setl_id, l.mdtrt_id, l.fee_n, l.fee_day \
           FROM lines l WHERE l.visit_kind = 'otp' AND l.fee_n IS NOT NULL AND {drugs}), \
         w AS ( \
           SELECT y.psn, y.item, y.setl_id, y.mdtrt_id, y.inst, y.fee_n, y.fee_day, \
                  COUNT(DISTINCT x.inst) AS insts, MIN(x.fee_day) AS first_day \
           FROM b y JOIN b x ON x.psn = y.psn AND x.item = y.item \
           WHERE x.fee_n <= y.fee_n AND x.fee_n > y.fee_n - {window} \
           GROUP BY y.psn, y.item, y.setl_id, y.mdtrt_id, y.inst, y.fee_n, y.fee_day), \
         r AS ( \
           SELECT w.*, ROW_NUMBER() OVER (PARTITION BY setl_id ORDER BY insts DESC, item) \
                         AS pick \
           FROM w WHERE insts >= {min}) \
         SELECT psn AS psn_pseudonym, inst AS fixmedins_code, setl_id, mdtrt_id, \
                fee_day AS begin_date, fee_day AS end_date, \
                {NO_OTHER}, \
                first_day AS other_begin_date, CAST(NULL AS VARCHAR) AS other_end_date, \
                insts AS measure, '0.00' AS fund_pay_sumamt, item AS code, \
                CAST(NULL AS VARCHAR) AS evidence \
         FROM r WHERE pick = 1 AND {year}",
        window = params.int("window_days"),
        min = params.int("min_institutions"),
        year = in_year("fee_n", span),
    );
    select_model_findings(&format!("({inner}) h"))
}

fn over_supply_message(f: &BatchFinding) -> String {
    format!(
        "患者{}～{}在{}家机构购买同一药品【{}】",
        f.other_begin_date.as_deref().unwrap_or(""),
        f.begin_date,
        f.measure,
        f.code.as_deref().unwrap_or("")
    )
}
