//! Quality checks (质控) of a settlement list version (4101A), as a pure rule set: the list, the
//! facts the store resolved for it (admission and discharge, length of stay, age, the group) in;
//! the problems out, each with its rule's code, the field, a severity and a message. No I/O and
//! no clock: the store runs [`check`] on every accepted version and keeps the result with it.
//!
//! The rules are data: [`RULES`] lists each rule once (code, severity, what it checks), and
//! [`NOT_PRINCIPAL`] lists the diagnosis categories that may not be the principal diagnosis.
//! A problem of severity [`Severity::Blocking`] fails the version (`passed = 0`): it cannot be
//! submitted (4102 `stas_type` 1) and the payment run does not pay its DRG case. A
//! [`Severity::Warning`] is shown to the hospital and changes nothing.
//!
//! Which codes may not be principal: CHS-DRG 1.1 and the 医保版 2.0 code files carry no explicit
//! list, so the table follows the 《医疗保障基金结算清单填写规范》 rule that chapter XX's external
//! causes (V01–Y98) are additional codes only, and adds the Z categories that no MDC
//! principal-diagnosis list of the carried CHS-DRG 1.1 tables contains (Z33 incidental
//! pregnancy state, Z53 procedure not carried out, Z80–Z99 personal and family history and
//! status codes): a contact reason the scheme cannot group. The Z categories the scheme does
//! accept as principal (Z00–Z76 but Z33, Z53, e.g. Z51 chemotherapy, Z38 liveborn infants) stay
//! allowed. A test holds the table to the carried tables.

use chrono::{NaiveDate, NaiveDateTime};

use crate::setl_list::SetlListUpload;

/// How much a problem matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Fails the version: it cannot be submitted and is not paid by DRG.
    Blocking,
    /// Shown to the hospital; the version still passes.
    Warning,
}

impl Severity {
    /// The stored and sent text (`blocking`, `warning`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Blocking => "blocking",
            Severity::Warning => "warning",
        }
    }

    /// Reads the stored text.
    pub fn parse(text: &str) -> Option<Severity> {
        match text {
            "blocking" => Some(Severity::Blocking),
            "warning" => Some(Severity::Warning),
            _ => None,
        }
    }
}

/// One rule of the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Its code (`QC01` …), stored with each problem it finds.
    pub code: &'static str,
    /// How much its problems matter.
    pub severity: Severity,
    /// What it checks, in one line.
    pub checks: &'static str,
}

/// Every rule, in the order they run (and the order of the problems they find).
pub const RULES: &[Rule] = &[
    Rule {
        code: "QC01",
        severity: Severity::Blocking,
        checks: "exactly one principal diagnosis (maindiag_flag 1)",
    },
    Rule {
        code: "QC02",
        severity: Severity::Blocking,
        checks: "the principal diagnosis is not a category that may not be principal (NOT_PRINCIPAL)",
    },
    Rule {
        code: "QC03",
        severity: Severity::Blocking,
        checks: "the discharge is not before the admission",
    },
    Rule {
        code: "QC04",
        severity: Severity::Blocking,
        checks: "the length of stay sent (act_ipt_days) agrees with the admission and discharge days",
    },
    Rule {
        code: "QC05",
        severity: Severity::Blocking,
        checks: "every operation has its date (oprn_oprt_date)",
    },
    Rule {
        code: "QC06",
        severity: Severity::Blocking,
        checks: "every operation date lies within the stay, from the admission day to the discharge day",
    },
    Rule {
        code: "QC07",
        severity: Severity::Blocking,
        checks: "a newborn (age under 29 days) has its birth weight (nwb_bir_wt)",
    },
    Rule {
        code: "QC08",
        severity: Severity::Blocking,
        checks: "the list groups: its DRG group status is not ungroupable (无法入组) or invalid (信息校验不通过)",
    },
    Rule {
        code: "QC09",
        severity: Severity::Blocking,
        checks: "the attending physician's code (chfpdr_code, 主诊医师代码) is present",
    },
    Rule {
        code: "QC10",
        severity: Severity::Warning,
        checks: "the group is not ambiguous (歧义病案)",
    },
    Rule {
        code: "QC11",
        severity: Severity::Warning,
        checks: "operations are sent with one of them flagged main (main_oprn_flag 1)",
    },
    Rule {
        code: "QC12",
        severity: Severity::Warning,
        checks: "no diagnosis code is sent twice",
    },
    Rule {
        code: "QC13",
        severity: Severity::Warning,
        checks: "the discharge time is known (dscg_time, or the visit's end)",
    },
    Rule {
        code: "QC14",
        severity: Severity::Warning,
        checks: "the case number (medcasno, 病案号) and the discharge way (dscg_way) are present",
    },
];

/// The rule of a code (every code the checks use is in [`RULES`]).
fn rule(code: &str) -> &'static Rule {
    RULES
        .iter()
        .find(|rule| rule.code == code)
        .expect("every rule code used is in RULES")
}

/// Diagnosis categories (the first three characters of the code, inclusive ranges) that may
/// not be the principal diagnosis, with the reason given to the hospital. See the module docs.
pub const NOT_PRINCIPAL: &[(&str, &str, &str)] = &[
    (
        "V01",
        "Y98",
        "an external cause (ICD-10 chapter XX) is an additional code only",
    ),
    (
        "Z33",
        "Z33",
        "an incidental pregnant state is not a reason for admission",
    ),
    (
        "Z53",
        "Z53",
        "a procedure not carried out is not a reason for admission",
    ),
    (
        "Z80",
        "Z99",
        "a personal or family history or a status code is not a reason for admission",
    ),
];

/// Why `code` may not be the principal diagnosis, or `None` when it may.
pub fn not_principal_reason(code: &str) -> Option<&'static str> {
    let category: String = code
        .chars()
        .take(3)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if category.chars().count() < 3 {
        return None;
    }
    NOT_PRINCIPAL
        .iter()
        .find(|(first, last, _)| *first <= category.as_str() && category.as_str() <= *last)
        .map(|(_, _, reason)| *reason)
}

/// What the store resolved for a list before checking it.
#[derive(Debug, Clone)]
pub struct QcFacts {
    /// The admission (the list's `adm_time`, else the visit's start).
    pub adm_time: NaiveDateTime,
    /// The discharge (the list's `dscg_time`, else the visit's end), when known.
    pub dscg_time: Option<NaiveDateTime>,
    /// The age in days at admission the grouper read, when known.
    pub age_days: Option<i64>,
    /// The group's status: `grouped`, `ungroupable`, `ambiguous` or `invalid`.
    pub group_status: String,
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QcProblem {
    /// The rule's code (`QC01` …).
    pub code: String,
    /// The field, as the interface names it (`diseinfo[2].diag_code`).
    pub field: String,
    /// How much it matters.
    pub severity: Severity,
    /// What is wrong, for the hospital.
    pub message: String,
}

/// The checks of one list version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QcResult {
    /// True iff no problem is [`Severity::Blocking`].
    pub passed: bool,
    /// The problems in the order the rules ran.
    pub problems: Vec<QcProblem>,
}

impl QcResult {
    /// The result of a set of problems: passed iff none blocks.
    pub fn from_problems(problems: Vec<QcProblem>) -> Self {
        let passed = problems.iter().all(|p| p.severity != Severity::Blocking);
        Self { passed, problems }
    }

    /// The blocking problems as one line (`QC02 diseinfo[0].diag_code: …; …`).
    pub fn blocking_summary(&self) -> String {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Blocking)
            .map(|p| format!("{} {}: {}", p.code, p.field, p.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Newborn: under 29 days old at admission (the 填写规范's 新生儿, 0–28 days).
pub const NEWBORN_AGE_DAYS_MAX: i64 = 28;

/// Length of stay from the dates: discharge day minus admission day, a same-day stay counting
/// one day (the rule `setl_list::stay_days` applies when `act_ipt_days` is not sent).
pub fn stay_days_by_dates(adm: NaiveDate, dscg: NaiveDate) -> i64 {
    (dscg - adm).num_days().max(1)
}

/// Runs every rule of [`RULES`] on a list.
pub fn check(list: &SetlListUpload, facts: &QcFacts) -> QcResult {
    let mut problems = Vec::new();
    let mut found = |code: &str, field: String, message: String| {
        problems.push(QcProblem {
            code: code.to_owned(),
            field,
            severity: rule(code).severity,
            message,
        });
    };

    // QC01, QC02: the principal diagnosis.
    let principals: Vec<usize> = list
        .diagnoses
        .iter()
        .enumerate()
        .filter(|(_, d)| d.maindiag_flag)
        .map(|(idx, _)| idx)
        .collect();
    if principals.len() != 1 {
        found(
            "QC01",
            "diseinfo.maindiag_flag".to_owned(),
            format!(
                "{} diagnoses are flagged principal; exactly one must be",
                principals.len()
            ),
        );
    }
    for &idx in &principals {
        let code = &list.diagnoses[idx].diag_code;
        if let Some(reason) = not_principal_reason(code) {
            found(
                "QC02",
                format!("diseinfo[{idx}].diag_code"),
                format!("{code} may not be the principal diagnosis: {reason}"),
            );
        }
    }

    // QC03, QC04: the stay.
    let adm_date = facts.adm_time.date();
    if let Some(dscg) = facts.dscg_time {
        if dscg < facts.adm_time {
            found(
                "QC03",
                "setlinfo.dscg_time".to_owned(),
                format!(
                    "the discharge {} is before the admission {}",
                    dscg.format("%Y-%m-%d %H:%M:%S"),
                    facts.adm_time.format("%Y-%m-%d %H:%M:%S")
                ),
            );
        } else if let Some(sent) = list.act_ipt_days {
            let by_dates = stay_days_by_dates(adm_date, dscg.date());
            if sent != by_dates {
                found(
                    "QC04",
                    "setlinfo.act_ipt_days".to_owned(),
                    format!(
                        "{sent} days, but the stay from {adm_date} to {} is {by_dates}",
                        dscg.date()
                    ),
                );
            }
        }
    }

    // QC05, QC06: operation dates.
    let dscg_date = facts.dscg_time.map(|t| t.date());
    for (idx, o) in list.operations.iter().enumerate() {
        match o.oprn_oprt_date {
            None => found(
                "QC05",
                format!("oprninfo[{idx}].oprn_oprt_date"),
                format!("operation {} has no date", o.oprn_oprt_code),
            ),
            Some(date) if date < adm_date || dscg_date.is_some_and(|dscg| date > dscg) => found(
                "QC06",
                format!("oprninfo[{idx}].oprn_oprt_date"),
                format!(
                    "operation {} on {date} is outside the stay ({adm_date} to {})",
                    o.oprn_oprt_code,
                    dscg_date.map_or_else(|| "not discharged".to_owned(), |d| d.to_string())
                ),
            ),
            Some(_) => {}
        }
    }

    // QC07: a newborn's birth weight.
    let age_days = list.nwb_age_days.or(facts.age_days);
    if let Some(days) = age_days.filter(|days| *days <= NEWBORN_AGE_DAYS_MAX) {
        if list.nwb_bir_wt_g.is_none_or(|grams| grams == 0) {
            found(
                "QC07",
                "setlinfo.nwb_bir_wt".to_owned(),
                format!("a newborn ({days} days old at admission) needs the birth weight"),
            );
        }
    }

    // QC08, QC10: the group.
    match facts.group_status.as_str() {
        "ungroupable" => found(
            "QC08",
            "diseinfo".to_owned(),
            "the list cannot be grouped (无法入组): check the principal diagnosis and the main procedure".to_owned(),
        ),
        "invalid" => found(
            "QC08",
            "diseinfo".to_owned(),
            "the grouper refused the list (信息校验不通过): see grp_proc_info".to_owned(),
        ),
        "ambiguous" => found(
            "QC10",
            "diseinfo".to_owned(),
            "the group is ambiguous (歧义病案)".to_owned(),
        ),
        _ => {}
    }

    // QC09: the attending physician.
    if list.chfpdr_code.trim().is_empty() {
        found(
            "QC09",
            "setlinfo.chfpdr_code".to_owned(),
            "the attending physician's code (主诊医师代码) is missing".to_owned(),
        );
    }

    // QC11: the main operation.
    if !list.operations.is_empty() && !list.operations.iter().any(|o| o.main_oprn_flag) {
        found(
            "QC11",
            "oprninfo.main_oprn_flag".to_owned(),
            "no operation is flagged main; the first sent is taken as the main one".to_owned(),
        );
    }

    // QC12: a diagnosis sent twice.
    for (idx, d) in list.diagnoses.iter().enumerate() {
        if list.diagnoses[..idx]
            .iter()
            .any(|earlier| earlier.diag_code.eq_ignore_ascii_case(&d.diag_code))
        {
            found(
                "QC12",
                format!("diseinfo[{idx}].diag_code"),
                format!("{} is sent twice", d.diag_code),
            );
        }
    }

    // QC13, QC14: what the list should carry.
    if facts.dscg_time.is_none() {
        found(
            "QC13",
            "setlinfo.dscg_time".to_owned(),
            "the discharge time is unknown (not sent, and the visit has no end)".to_owned(),
        );
    }
    for (field, value) in [
        ("setlinfo.medcasno", &list.medcasno),
        ("setlinfo.dscg_way", &list.dscg_way),
    ] {
        if value.trim().is_empty() {
            found("QC14", field.to_owned(), "is missing".to_owned());
        }
    }

    QcResult::from_problems(problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setl_list::{SetlListDiagnosis, SetlListOperation};

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    /// A clean list: 2026-03-01 08:00 to 2026-03-09 10:00, one principal, one dated operation.
    fn list() -> SetlListUpload {
        SetlListUpload {
            psn_no: "P1".into(),
            mdtrt_id: "M1".into(),
            setl_id: "S1".into(),
            medcasno: "BA-1".into(),
            dscg_way: "1".into(),
            chfpdr_code: "D1".into(),
            act_ipt_days: Some(8),
            setl_begn_date: day("2026-03-01"),
            setl_end_date: day("2026-03-09"),
            diagnoses: vec![
                SetlListDiagnosis {
                    diag_type: "1".into(),
                    diag_code: "S62.410".into(),
                    diag_name: "骨折".into(),
                    maindiag_flag: true,
                    ..Default::default()
                },
                SetlListDiagnosis {
                    diag_type: "1".into(),
                    diag_code: "W01.x00".into(),
                    diag_name: "跌倒".into(),
                    ..Default::default()
                },
            ],
            operations: vec![SetlListOperation {
                oprn_oprt_code: "79.3301".into(),
                oprn_oprt_name: "内固定".into(),
                oprn_oprt_date: Some(day("2026-03-02")),
                main_oprn_flag: true,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn facts() -> QcFacts {
        QcFacts {
            adm_time: at("2026-03-01 08:00:00"),
            dscg_time: Some(at("2026-03-09 10:00:00")),
            age_days: Some(14_000),
            group_status: "grouped".into(),
        }
    }

    /// The problems as `code severity field: message` lines.
    fn render(result: &QcResult) -> String {
        let mut out = format!("passed={}\n", result.passed);
        for p in &result.problems {
            out.push_str(&format!(
                "{} {} {}: {}\n",
                p.code,
                p.severity.as_str(),
                p.field,
                p.message
            ));
        }
        out
    }

    fn check_case(spoil: impl Fn(&mut SetlListUpload, &mut QcFacts), expected: &str) {
        let (mut l, mut f) = (list(), facts());
        spoil(&mut l, &mut f);
        assert_eq!(render(&check(&l, &f)), expected);
    }

    #[test]
    fn a_clean_list_passes() {
        check_case(|_, _| {}, "passed=true\n");
    }

    /// One case per rule, in the order of [`RULES`].
    #[test]
    fn each_rule_finds_its_problem() {
        check_case(
            |l, _| l.diagnoses[1].maindiag_flag = true,
            "passed=false\n\
             QC01 blocking diseinfo.maindiag_flag: 2 diagnoses are flagged principal; exactly one must be\n\
             QC02 blocking diseinfo[1].diag_code: W01.x00 may not be the principal diagnosis: an external cause (ICD-10 chapter XX) is an additional code only\n",
        );
        check_case(
            |l, _| l.diagnoses[0].maindiag_flag = false,
            "passed=false\nQC01 blocking diseinfo.maindiag_flag: 0 diagnoses are flagged principal; exactly one must be\n",
        );
        check_case(
            |l, _| l.diagnoses[0].diag_code = "z95.001".into(),
            "passed=false\nQC02 blocking diseinfo[0].diag_code: z95.001 may not be the principal diagnosis: a personal or family history or a status code is not a reason for admission\n",
        );
        check_case(
            |_, f| f.dscg_time = Some(at("2026-02-28 10:00:00")),
            "passed=false\n\
             QC03 blocking setlinfo.dscg_time: the discharge 2026-02-28 10:00:00 is before the admission 2026-03-01 08:00:00\n\
             QC06 blocking oprninfo[0].oprn_oprt_date: operation 79.3301 on 2026-03-02 is outside the stay (2026-03-01 to 2026-02-28)\n",
        );
        check_case(
            |l, _| l.act_ipt_days = Some(9),
            "passed=false\nQC04 blocking setlinfo.act_ipt_days: 9 days, but the stay from 2026-03-01 to 2026-03-09 is 8\n",
        );
        check_case(
            |l, _| l.operations[0].oprn_oprt_date = None,
            "passed=false\nQC05 blocking oprninfo[0].oprn_oprt_date: operation 79.3301 has no date\n",
        );
        check_case(
            |l, _| l.operations[0].oprn_oprt_date = Some(day("2026-02-28")),
            "passed=false\nQC06 blocking oprninfo[0].oprn_oprt_date: operation 79.3301 on 2026-02-28 is outside the stay (2026-03-01 to 2026-03-09)\n",
        );
        check_case(
            |l, _| l.operations[0].oprn_oprt_date = Some(day("2026-03-10")),
            "passed=false\nQC06 blocking oprninfo[0].oprn_oprt_date: operation 79.3301 on 2026-03-10 is outside the stay (2026-03-01 to 2026-03-09)\n",
        );
        check_case(
            |_, f| f.age_days = Some(3),
            "passed=false\nQC07 blocking setlinfo.nwb_bir_wt: a newborn (3 days old at admission) needs the birth weight\n",
        );
        check_case(
            |l, f| {
                f.age_days = Some(3);
                l.nwb_bir_wt_g = Some(3_200);
            },
            "passed=true\n",
        );
        check_case(
            |_, f| f.group_status = "ungroupable".into(),
            "passed=false\nQC08 blocking diseinfo: the list cannot be grouped (无法入组): check the principal diagnosis and the main procedure\n",
        );
        check_case(
            |_, f| f.group_status = "invalid".into(),
            "passed=false\nQC08 blocking diseinfo: the grouper refused the list (信息校验不通过): see grp_proc_info\n",
        );
        check_case(
            |l, _| l.chfpdr_code = " ".into(),
            "passed=false\nQC09 blocking setlinfo.chfpdr_code: the attending physician's code (主诊医师代码) is missing\n",
        );
        check_case(
            |_, f| f.group_status = "ambiguous".into(),
            "passed=true\nQC10 warning diseinfo: the group is ambiguous (歧义病案)\n",
        );
        check_case(
            |l, _| l.operations[0].main_oprn_flag = false,
            "passed=true\nQC11 warning oprninfo.main_oprn_flag: no operation is flagged main; the first sent is taken as the main one\n",
        );
        check_case(
            |l, _| l.diagnoses[1].diag_code = "s62.410".into(),
            "passed=true\nQC12 warning diseinfo[1].diag_code: s62.410 is sent twice\n",
        );
        check_case(
            |_, f| f.dscg_time = None,
            "passed=true\nQC13 warning setlinfo.dscg_time: the discharge time is unknown (not sent, and the visit has no end)\n",
        );
        check_case(
            |l, _| {
                l.medcasno.clear();
                l.dscg_way.clear();
            },
            "passed=true\nQC14 warning setlinfo.medcasno: is missing\nQC14 warning setlinfo.dscg_way: is missing\n",
        );
    }

    #[test]
    fn same_day_stays_count_one_day() {
        assert_eq!(stay_days_by_dates(day("2026-03-01"), day("2026-03-01")), 1);
        assert_eq!(stay_days_by_dates(day("2026-03-01"), day("2026-03-02")), 1);
        assert_eq!(stay_days_by_dates(day("2026-03-01"), day("2026-03-31")), 30);
        check_case(
            |l, f| {
                f.dscg_time = Some(at("2026-03-01 18:00:00"));
                l.act_ipt_days = Some(1);
                l.operations[0].oprn_oprt_date = Some(day("2026-03-01"));
            },
            "passed=true\n",
        );
    }

    #[test]
    fn every_rule_code_is_listed_once() {
        let mut codes: Vec<_> = RULES.iter().map(|r| r.code).collect();
        let n_rules = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n_rules);
    }

    /// The table agrees with the carried CHS-DRG 1.1 tables: no category it refuses is in any
    /// MDC's principal-diagnosis list, and every V–Z category of the 医保版 2.0 diagnoses that no
    /// list holds is refused.
    #[test]
    fn not_principal_agrees_with_the_scheme() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data");
        let mdc: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{root}/chs-drg-1.1/mdc.json")).unwrap(),
        )
        .unwrap();
        let mut principal = std::collections::BTreeSet::new();
        for entry in mdc["mdcs"].as_array().unwrap() {
            for code in entry["principal_diagnoses"]
                .as_array()
                .into_iter()
                .flatten()
            {
                principal.insert(code.as_str().unwrap()[..3].to_owned());
            }
        }
        let codes =
            std::fs::read_to_string(format!("{root}/codes/icd10_yb2.0_diagnoses.csv")).unwrap();
        let mut n_refused = 0;
        for line in codes.lines().skip(1) {
            let code = line.split(',').next().unwrap();
            let category = &code[..3];
            let listed = principal.contains(category);
            match not_principal_reason(code) {
                Some(_) => {
                    assert!(!listed, "{code} is refused but the scheme lists {category}");
                    n_refused += 1;
                }
                None if ('V'..='Z').contains(&category.chars().next().unwrap()) => {
                    assert!(listed, "{code}: {category} is in no principal list")
                }
                None => {}
            }
        }
        assert!(n_refused > 1_000, "{n_refused}");
        assert_eq!(not_principal_reason("Z51.100x001"), None);
        assert_eq!(not_principal_reason("S6"), None);
    }

    proptest::proptest! {
        /// For any list and stay: `passed` is exactly "no blocking problem"; every problem's
        /// severity is its rule's; checking twice gives the same; and the problems do not depend
        /// on where the principal diagnosis is sent (only the row numbers they name move).
        #[test]
        fn checks_are_a_function_of_the_list(
            codes in proptest::collection::vec(
                proptest::sample::select(vec!["S62.410", "W01.x00", "Z95.001", "I10.x00", "J18.900", "Z51.100"]),
                1..6,
            ),
            principal_at in 0usize..6,
            op_days in proptest::collection::vec(proptest::option::of(-3i64..12), 0..4),
            stay_days in 0i64..10,
            sent_days in proptest::option::of(0i64..12),
            age_days in proptest::option::of(0i64..60),
            status in proptest::sample::select(vec!["grouped", "ungroupable", "ambiguous", "invalid"]),
        ) {
            let adm = at("2026-03-01 08:00:00");
            let principal_at = principal_at % codes.len();
            let build = |order: &[usize]| SetlListUpload {
                act_ipt_days: sent_days,
                diagnoses: order
                    .iter()
                    .map(|&idx| SetlListDiagnosis {
                        diag_code: codes[idx].to_owned(),
                        maindiag_flag: idx == principal_at,
                        ..Default::default()
                    })
                    .collect(),
                operations: op_days
                    .iter()
                    .map(|days| SetlListOperation {
                        oprn_oprt_code: "79.3301".into(),
                        oprn_oprt_date: days.map(|d| adm.date() + chrono::Duration::days(d)),
                        ..Default::default()
                    })
                    .collect(),
                ..list()
            };
            let f = QcFacts {
                adm_time: adm,
                dscg_time: Some(adm + chrono::Duration::days(stay_days)),
                age_days,
                group_status: status.to_owned(),
            };
            let forward: Vec<usize> = (0..codes.len()).collect();
            let reversed: Vec<usize> = forward.iter().rev().copied().collect();
            let a = check(&build(&forward), &f);
            proptest::prop_assert_eq!(&a, &check(&build(&forward), &f));
            proptest::prop_assert_eq!(
                a.passed,
                a.problems.iter().all(|p| p.severity != Severity::Blocking)
            );
            for p in &a.problems {
                proptest::prop_assert_eq!(p.severity, rule(&p.code).severity);
            }
            let b = check(&build(&reversed), &f);
            let codes_of = |r: &QcResult| {
                let mut c: Vec<(String, Severity)> =
                    r.problems.iter().map(|p| (p.code.clone(), p.severity)).collect();
                c.sort_by(|x, y| x.0.cmp(&y.0));
                c
            };
            proptest::prop_assert_eq!(codes_of(&a), codes_of(&b));
            proptest::prop_assert_eq!(a.passed, b.passed);
        }
    }
}
