//! Fixture tests on a miniature scheme (`tests/fixtures/mini/`) that has one or two ADRGs per
//! predicate and split kind, so each rule of the evaluation order is visible in a few cases.
//!
//! A case is written `SEX AGE_YEARS AGE_DAYS BIRTH_WEIGHT | DIAGNOSES | PROCEDURES` with `-` for
//! null. Refresh the expectations with `UPDATE_EXPECT=1 cargo test -p yibao-drg --test fixtures`
//! and read the diff.

use std::path::PathBuf;
use std::sync::OnceLock;

use expect_test::{expect, Expect};
use yibao_drg::{
    group, AmbiguousCheck, CaseRecord, GroupConfig, Scheme, SchemeError, SchemeFiles, Sex,
};

fn mini_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mini")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

struct MiniTexts {
    texts: [String; 6],
}

impl MiniTexts {
    fn read() -> MiniTexts {
        MiniTexts {
            texts: [
                SchemeFiles::MDC_JSON,
                SchemeFiles::ADRG_JSON,
                SchemeFiles::MCC_CC_JSON,
                SchemeFiles::EXCLUSIONS_JSON,
                SchemeFiles::DRG_NAMES_CSV,
                SchemeFiles::OR_PROCEDURES_CSV,
            ]
            .map(mini_file),
        }
    }

    fn files(&self) -> SchemeFiles<'_> {
        SchemeFiles {
            mdc_json: &self.texts[0],
            adrg_json: &self.texts[1],
            mcc_cc_json: &self.texts[2],
            exclusions_json: &self.texts[3],
            drg_names_csv: &self.texts[4],
            or_procedures_csv: &self.texts[5],
        }
    }
}

fn mini() -> &'static Scheme {
    static SCHEME: OnceLock<Scheme> = OnceLock::new();
    SCHEME.get_or_init(|| Scheme::load(&MiniTexts::read().files()).expect("mini scheme loads"))
}

fn number(text: &str) -> Option<i64> {
    (text != "-").then(|| text.parse().expect("a number or -"))
}

fn parse_case(line: &str) -> CaseRecord {
    let mut parts = line.split('|');
    let head: Vec<&str> = parts.next().unwrap().split_whitespace().collect();
    let codes = |part: Option<&str>| -> Vec<String> {
        part.unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    CaseRecord {
        sex: number(head[0]).and_then(Sex::from_code),
        age_years: number(head[1]),
        age_days: number(head[2]),
        birth_weight_g: number(head[3]),
        diagnoses: codes(parts.next()),
        procedures: codes(parts.next()),
    }
}

/// Groups every case of `cases` (one a line, `#` starts a comment) and compares the listing.
fn check(config: GroupConfig, cases: &str, expect: Expect) {
    let scheme = mini();
    let mut listing = String::new();
    for line in cases.lines() {
        let line = line.split('#').next().unwrap().trim();
        if line.is_empty() {
            continue;
        }
        let record = parse_case(line);
        let result = group(&record, scheme, &config);
        listing.push_str(&format!(
            "{line:<45} => {} {} {} {} | {}\n",
            result.status.as_str(),
            result.mdc_code(scheme),
            result.adrg_code(scheme),
            result.drg_code(scheme),
            result.explain(scheme, &record),
        ));
    }
    expect.assert_eq(&listing);
}

#[test]
fn validation_in_order_of_precedence() {
    check(
        GroupConfig::default(),
        "
        - 40 - - | I63.900 |            # sex missing
        3 40 - - | I63.900 |            # sex not 1/2 (parsed as missing)
        1 - - - | I63.900 |             # age missing
        1 0 - - | P07.100 |             # newborn without age in days
        1 0 28 - | P07.100 |            # 28 days or less without birth weight
        1 0 29 - | P07.100 |            # 29 days: weight not needed
        1 0 5 0 | P07.100 |             # weight 0 is present for validation
        1 40 - - | |                    # no diagnosis
        - - - - | |                     # everything missing: sex reported first
        ",
        expect![[r#"
            - 40 - - | I63.900 |                          => 信息校验不通过 0000 00 0000 | invalid record: sex missing or not 1/2
            3 40 - - | I63.900 |                          => 信息校验不通过 0000 00 0000 | invalid record: sex missing or not 1/2
            1 - - - | I63.900 |                           => 信息校验不通过 0000 00 0000 | invalid record: age_years missing
            1 0 - - | P07.100 |                           => 信息校验不通过 0000 00 0000 | invalid record: age_years is 0 and age_days is missing
            1 0 28 - | P07.100 |                          => 信息校验不通过 0000 00 0000 | invalid record: age_years is 0, age_days <= 28 and birth_weight_g is missing
            1 0 29 - | P07.100 |                          => 分组成功 MDCP PV1 PV19 | entered MDCP by all(principal_dx_in(principal_diagnoses), age_years eq 0); ADRG PV1 by true (无条件); no CC/MCC
            1 0 5 0 | P07.100 |                           => 分组成功 MDCP PV1 PV19 | entered MDCP by all(principal_dx_in(principal_diagnoses), age_years eq 0); ADRG PV1 by true (无条件); no CC/MCC
            1 40 - - | |                                  => 信息校验不通过 0000 00 0000 | invalid record: no diagnosis
            - - - - | |                                   => 信息校验不通过 0000 00 0000 | invalid record: sex missing or not 1/2
        "#]],
    );
}

#[test]
fn predicates_with_default_config() {
    check(
        GroupConfig::default(),
        "
        # main_procedure_in (list and table): MDCA enters by an OR main procedure
        1 40 - - | X00.000 | 37.5100
        1 40 - - | X00.000 | 99.9999 37.5100       # only position 0 counts
        # any_procedure_in twice (double procedure), in either order
        1 40 - - | X00.000 | 52.8000 55.6100
        1 40 - - | X00.000 | 55.6100 52.8000
        # MDCA entered, no ADRG: fall through to MDCB's medical ADRG
        1 40 - - | I63.900 | 79.3500
        # principal_dx_in and main_procedure_in together
        1 40 - - | I63.900 | 01.5900
        # cmp on age_years / age_days / birth_weight_g, any_dx_in on a secondary diagnosis
        2 0 5 1200 | P22.000 P07.100 |
        2 0 5 1500 | P22.000 P07.100 |             # lt 1500 is strict
        2 0 5 0 | P07.100 |                        # weight 0 never compares
        2 0 40 - | P07.100 |                       # older than 28 days
        2 1 400 - | P07.100 |                      # age_years 1: MDCP not entered
        # distinct_trauma_regions_ge: a code's region is the first listing it
        1 30 - - | S01.000 S81.000 |               # head + leg
        1 30 - - | S01.000 S06.000 |               # head + head
        1 30 - - | S06.000 S21.000 |               # head + chest
        1 30 - - | S06.000 S21.000 | 79.3500       # with an OR main procedure
        1 30 - - | S06.000 S21.000 | 40.5900 79.3500   # OR procedure not main: neither Z ADRG
        # cmp on sex, procedure_class_present combinations
        1 60 - - | C61.x00 | 60.5x00               # class 1
        2 60 - - | C61.x00 | 60.5x00               # female: MDCM not entered
        1 60 - - | C61.x00 | 40.5900 60.2900       # classes 2 + 3
        1 60 - - | C61.x00 | 60.2900               # class 3 alone
        1 60 - - | C61.x00 | 40.5900               # 40.5900 is class 2 (listed first), not 3
        # fall through from MDCB (entered, no ADRG) to MDCE
        1 50 - - | J18.900 |
        # nothing matches anywhere
        1 50 - - | X99.999 J96.000 |
        ",
        expect![[r#"
            1 40 - - | X00.000 | 37.5100                  => 分组成功 MDCA AA1 AA19 | entered MDCA by main_procedure_in(or_procedures); ADRG AA1 by main_procedure_in(procedures) (主手术匹配); no CC/MCC
            1 40 - - | X00.000 | 99.9999 37.5100          => 无法入组 0000 00 0000 | no ADRG matched; no CC/MCC
            1 40 - - | X00.000 | 52.8000 55.6100          => 分组成功 MDCA AC1 AC19 | entered MDCA by main_procedure_in(or_procedures); ADRG AC1 by all(any_procedure_in(procedures), any_procedure_in(procedures2)) (双手术匹配); no CC/MCC
            1 40 - - | X00.000 | 55.6100 52.8000          => 分组成功 MDCA AC1 AC19 | entered MDCA by main_procedure_in(or_procedures); ADRG AC1 by all(any_procedure_in(procedures), any_procedure_in(procedures2)) (双手术匹配); no CC/MCC
            1 40 - - | I63.900 | 79.3500                  => 分组成功 MDCB BR1 BR15 | entered MDCA by main_procedure_in(or_procedures); entered MDCB by principal_dx_in(principal_diagnoses); ADRG BR1 by principal_dx_in(diagnoses) (主诊断匹配); no CC/MCC
            1 40 - - | I63.900 | 01.5900                  => 分组成功 MDCB BB1 BB15 | entered MDCA by main_procedure_in(or_procedures); entered MDCB by principal_dx_in(principal_diagnoses); ADRG BB1 by all(principal_dx_in(diagnoses), main_procedure_in(procedures)) (主诊断匹配、主手术匹配); no CC/MCC
            2 0 5 1200 | P22.000 P07.100 |                => 分组成功 MDCP PS1 PS19 | entered MDCP by all(principal_dx_in(principal_diagnoses), age_years eq 0); ADRG PS1 by all(any_dx_in(diagnoses), birth_weight_g lt 1500, age_days le 28) (诊断、体重、日龄); no CC/MCC
            2 0 5 1500 | P22.000 P07.100 |                => 分组成功 MDCP PV1 PV19 | entered MDCP by all(principal_dx_in(principal_diagnoses), age_years eq 0); ADRG PV1 by true (无条件); no CC/MCC
            2 0 5 0 | P07.100 |                           => 分组成功 MDCP PV1 PV19 | entered MDCP by all(principal_dx_in(principal_diagnoses), age_years eq 0); ADRG PV1 by true (无条件); no CC/MCC
            2 0 40 - | P07.100 |                          => 分组成功 MDCP PV1 PV19 | entered MDCP by all(principal_dx_in(principal_diagnoses), age_years eq 0); ADRG PV1 by true (无条件); no CC/MCC
            2 1 400 - | P07.100 |                         => 无法入组 0000 00 0000 | no ADRG matched; no CC/MCC
            1 30 - - | S01.000 S81.000 |                  => 分组成功 MDCZ ZZ1 ZZ19 | entered MDCZ by all(principal_dx_in(principal_diagnoses), distinct_trauma_regions_ge(2)); ADRG ZZ1 by not(any_procedure_in(or_procedures)) (无手术); no CC/MCC
            1 30 - - | S01.000 S06.000 |                  => 无法入组 0000 00 0000 | no ADRG matched; no CC/MCC
            1 30 - - | S06.000 S21.000 |                  => 分组成功 MDCZ ZZ1 ZZ19 | entered MDCZ by all(principal_dx_in(principal_diagnoses), distinct_trauma_regions_ge(2)); ADRG ZZ1 by not(any_procedure_in(or_procedures)) (无手术); CC from diagnosis 1 (S21.000)
            1 30 - - | S06.000 S21.000 | 79.3500          => 分组成功 MDCZ ZJ1 ZJ19 | entered MDCA by main_procedure_in(or_procedures); entered MDCZ by all(principal_dx_in(principal_diagnoses), distinct_trauma_regions_ge(2)); ADRG ZJ1 by main_procedure_in(or_procedures) (存在手术); CC from diagnosis 1 (S21.000)
            1 30 - - | S06.000 S21.000 | 40.5900 79.3500  => 无法入组 0000 00 0000 | entered MDCZ by all(principal_dx_in(principal_diagnoses), distinct_trauma_regions_ge(2)); entered MDCB by principal_dx_in(principal_diagnoses); no ADRG matched; CC from diagnosis 1 (S21.000)
            1 60 - - | C61.x00 | 60.5x00                  => 分组成功 MDCM MA1 MA15 | entered MDCA by main_procedure_in(or_procedures); entered MDCM by all(principal_dx_in(principal_diagnoses), sex eq 1); ADRG MA1 by all(principal_dx_in(diagnoses), any(procedure_class_present(1), all(procedure_class_present(2), procedure_class_present(3)))) (主诊断匹配、手术类别组合); no CC/MCC
            2 60 - - | C61.x00 | 60.5x00                  => 无法入组 0000 00 0000 | entered MDCA by main_procedure_in(or_procedures); entered MDCB by principal_dx_in(principal_diagnoses); no ADRG matched; no CC/MCC
            1 60 - - | C61.x00 | 40.5900 60.2900          => 分组成功 MDCM MA1 MA15 | entered MDCM by all(principal_dx_in(principal_diagnoses), sex eq 1); ADRG MA1 by all(principal_dx_in(diagnoses), any(procedure_class_present(1), all(procedure_class_present(2), procedure_class_present(3)))) (主诊断匹配、手术类别组合); no CC/MCC
            1 60 - - | C61.x00 | 60.2900                  => 无法入组 0000 00 0000 | entered MDCA by main_procedure_in(or_procedures); entered MDCM by all(principal_dx_in(principal_diagnoses), sex eq 1); entered MDCB by principal_dx_in(principal_diagnoses); no ADRG matched; no CC/MCC
            1 60 - - | C61.x00 | 40.5900                  => 无法入组 0000 00 0000 | entered MDCM by all(principal_dx_in(principal_diagnoses), sex eq 1); entered MDCB by principal_dx_in(principal_diagnoses); no ADRG matched; no CC/MCC
            1 50 - - | J18.900 |                          => 分组成功 MDCE ER1 ER19 | entered MDCB by principal_dx_in(principal_diagnoses); entered MDCE by principal_dx_in(principal_diagnoses); ADRG ER1 by principal_dx_in(diagnoses) (主诊断匹配); no CC/MCC
            1 50 - - | X99.999 J96.000 |                  => 无法入组 0000 00 0000 | no ADRG matched; MCC from diagnosis 1 (J96.000)
        "#]],
    );
}

#[test]
fn splits_and_exclusions() {
    check(
        GroupConfig::default(),
        "
        # mcc / mcc_or_cc / always in BR1
        1 70 - - | I63.900 J96.000 |
        1 70 - - | I63.900 E87.100 |
        1 70 - - | I63.900 |
        1 70 - - | I63.900 E87.100 J96.000 |       # the MCC wins over an earlier CC
        # exclusion: an MCC/CC in the principal's table does not count
        1 70 - - | I63.900 I63.900 |               # a repeated principal counts as a secondary
        1 70 - - | I63.900 I63.900 E87.100 |
        # mcc_or_cc first (BS1 has no 1 split)
        1 30 - - | G40.900 J96.000 |
        1 30 - - | G40.900 J18.900 |
        1 30 - - | G40.900 E87.100 N17.900 |       # both in G40.900's table 9
        # mcc split with a CC only (MA1 has 1 and 5)
        1 60 - - | C61.x00 E87.100 | 60.5x00
        1 60 - - | C61.x00 J96.000 | 60.5x00
        # unknown principal: no exclusion table
        1 50 - - | X99.999 J96.000 |
        ",
        expect![[r#"
            1 70 - - | I63.900 J96.000 |                  => 分组成功 MDCB BR1 BR11 | entered MDCB by principal_dx_in(principal_diagnoses); ADRG BR1 by principal_dx_in(diagnoses) (主诊断匹配); MCC from diagnosis 1 (J96.000)
            1 70 - - | I63.900 E87.100 |                  => 分组成功 MDCB BR1 BR13 | entered MDCB by principal_dx_in(principal_diagnoses); ADRG BR1 by principal_dx_in(diagnoses) (主诊断匹配); CC from diagnosis 1 (E87.100)
            1 70 - - | I63.900 |                          => 分组成功 MDCB BR1 BR15 | entered MDCB by principal_dx_in(principal_diagnoses); ADRG BR1 by principal_dx_in(diagnoses) (主诊断匹配); no CC/MCC
            1 70 - - | I63.900 E87.100 J96.000 |          => 分组成功 MDCB BR1 BR11 | entered MDCB by principal_dx_in(principal_diagnoses); ADRG BR1 by principal_dx_in(diagnoses) (主诊断匹配); MCC from diagnosis 2 (J96.000)
            1 70 - - | I63.900 I63.900 |                  => 分组成功 MDCB BR1 BR15 | entered MDCB by principal_dx_in(principal_diagnoses); ADRG BR1 by principal_dx_in(diagnoses) (主诊断匹配); no CC/MCC; MCC 1 (I63.900) excluded by table 3
            1 70 - - | I63.900 I63.900 E87.100 |          => 分组成功 MDCB BR1 BR13 | entered MDCB by principal_dx_in(principal_diagnoses); ADRG BR1 by principal_dx_in(diagnoses) (主诊断匹配); CC from diagnosis 2 (E87.100); MCC 1 (I63.900) excluded by table 3
            1 30 - - | G40.900 J96.000 |                  => 分组成功 MDCB BS1 BS13 | entered MDCB by principal_dx_in(principal_diagnoses); ADRG BS1 by principal_dx_in(diagnoses) (主诊断匹配); MCC from diagnosis 1 (J96.000)
            1 30 - - | G40.900 J18.900 |                  => 分组成功 MDCB BS1 BS13 | entered MDCB by principal_dx_in(principal_diagnoses); ADRG BS1 by principal_dx_in(diagnoses) (主诊断匹配); CC from diagnosis 1 (J18.900)
            1 30 - - | G40.900 E87.100 N17.900 |          => 分组成功 MDCB BS1 BS15 | entered MDCB by principal_dx_in(principal_diagnoses); ADRG BS1 by principal_dx_in(diagnoses) (主诊断匹配); no CC/MCC; CC 1 (E87.100) excluded by table 9 and 1 more
            1 60 - - | C61.x00 E87.100 | 60.5x00          => 分组成功 MDCM MA1 MA15 | entered MDCA by main_procedure_in(or_procedures); entered MDCM by all(principal_dx_in(principal_diagnoses), sex eq 1); ADRG MA1 by all(principal_dx_in(diagnoses), any(procedure_class_present(1), all(procedure_class_present(2), procedure_class_present(3)))) (主诊断匹配、手术类别组合); CC from diagnosis 1 (E87.100)
            1 60 - - | C61.x00 J96.000 | 60.5x00          => 分组成功 MDCM MA1 MA11 | entered MDCA by main_procedure_in(or_procedures); entered MDCM by all(principal_dx_in(principal_diagnoses), sex eq 1); ADRG MA1 by all(principal_dx_in(diagnoses), any(procedure_class_present(1), all(procedure_class_present(2), procedure_class_present(3)))) (主诊断匹配、手术类别组合); MCC from diagnosis 1 (J96.000)
            1 50 - - | X99.999 J96.000 |                  => 无法入组 0000 00 0000 | no ADRG matched; MCC from diagnosis 1 (J96.000)
        "#]],
    );
}

#[test]
fn options_change_what_they_say() {
    let qy_cases = "
        1 40 - - | I63.900 | 79.3500      # MDCB's QY check is enabled in the scheme
        1 40 - - | X00.000 | 52.8000      # MDCA's is not
        1 40 - - | X00.000 | 37.5100      # AA1 comes before MDCA's QY position
    ";
    let as_scheme = GroupConfig {
        ambiguous_check: AmbiguousCheck::AsScheme,
        ..Default::default()
    };
    check(
        as_scheme,
        qy_cases,
        expect![[r#"
            1 40 - - | I63.900 | 79.3500                  => 歧义病案 MDCB QY BQY | entered MDCA by main_procedure_in(or_procedures); entered MDCB by principal_dx_in(principal_diagnoses); QY check fired; no CC/MCC
            1 40 - - | X00.000 | 52.8000                  => 无法入组 0000 00 0000 | entered MDCA by main_procedure_in(or_procedures); no ADRG matched; no CC/MCC
            1 40 - - | X00.000 | 37.5100                  => 分组成功 MDCA AA1 AA19 | entered MDCA by main_procedure_in(or_procedures); ADRG AA1 by main_procedure_in(procedures) (主手术匹配); no CC/MCC
        "#]],
    );
    let always = GroupConfig {
        ambiguous_check: AmbiguousCheck::Always,
        ..Default::default()
    };
    check(
        always,
        qy_cases,
        expect![[r#"
            1 40 - - | I63.900 | 79.3500                  => 歧义病案 MDCA QY AQY | entered MDCA by main_procedure_in(or_procedures); QY check fired; no CC/MCC
            1 40 - - | X00.000 | 52.8000                  => 歧义病案 MDCA QY AQY | entered MDCA by main_procedure_in(or_procedures); QY check fired; no CC/MCC
            1 40 - - | X00.000 | 37.5100                  => 分组成功 MDCA AA1 AA19 | entered MDCA by main_procedure_in(or_procedures); ADRG AA1 by main_procedure_in(procedures) (主手术匹配); no CC/MCC
        "#]],
    );
    let any_position = GroupConfig {
        surgical_main_procedure_only: false,
        ..Default::default()
    };
    check(
        any_position,
        "
        1 30 - - | S06.000 S21.000 | 40.5900 79.3500   # ZJ1 (surgical) sees 79.3500
        1 40 - - | I63.900 | 79.3500 01.5900           # BB1 (surgical) sees 01.5900
        1 40 - - | X00.000 | 99.9999 37.5100           # MDC entry still reads the main procedure
        ",
        expect![[r#"
            1 30 - - | S06.000 S21.000 | 40.5900 79.3500  => 分组成功 MDCZ ZJ1 ZJ19 | entered MDCZ by all(principal_dx_in(principal_diagnoses), distinct_trauma_regions_ge(2)); ADRG ZJ1 by main_procedure_in(or_procedures) (存在手术); CC from diagnosis 1 (S21.000)
            1 40 - - | I63.900 | 79.3500 01.5900          => 分组成功 MDCB BB1 BB15 | entered MDCA by main_procedure_in(or_procedures); entered MDCB by principal_dx_in(principal_diagnoses); ADRG BB1 by all(principal_dx_in(diagnoses), main_procedure_in(procedures)) (主诊断匹配、主手术匹配); no CC/MCC
            1 40 - - | X00.000 | 99.9999 37.5100          => 无法入组 0000 00 0000 | no ADRG matched; no CC/MCC
        "#]],
    );
    let no_fall_through = GroupConfig {
        mdc_fall_through: false,
        ..Default::default()
    };
    check(
        no_fall_through,
        "
        1 50 - - | J18.900 |                 # MDCB entered, no ADRG: stop there
        1 40 - - | I63.900 | 79.3500         # MDCA entered by the OR procedure, no ADRG
        ",
        expect![[r#"
            1 50 - - | J18.900 |                          => 无法入组 MDCB 00 0000 | entered MDCB by principal_dx_in(principal_diagnoses); no ADRG matched; no CC/MCC
            1 40 - - | I63.900 | 79.3500                  => 无法入组 MDCA 00 0000 | entered MDCA by main_procedure_in(or_procedures); no ADRG matched; no CC/MCC
        "#]],
    );
}

fn load_error(edit: impl Fn(&mut MiniTexts)) -> String {
    let mut texts = MiniTexts::read();
    edit(&mut texts);
    match Scheme::load(&texts.files()) {
        Ok(_) => "loaded".to_string(),
        Err(error) => {
            let kind = match error {
                SchemeError::Json { .. } => "Json",
                SchemeError::Csv { .. } => "Csv",
                SchemeError::Unknown { .. } => "Unknown",
                SchemeError::Duplicate { .. } => "Duplicate",
                SchemeError::Inconsistent { .. } => "Inconsistent",
            };
            format!("{kind}: {error}")
        }
    }
}

#[test]
fn bad_scheme_files_are_refused_with_the_object_named() {
    let replace = |file: usize, from: &'static str, to: &'static str| {
        move |texts: &mut MiniTexts| {
            assert!(texts.texts[file].contains(from), "fixture lacks {from}");
            texts.texts[file] = texts.texts[file].replacen(from, to, 1);
        }
    };
    let listing = [
        load_error(|_| ()),
        load_error(replace(0, "\"mdc_order\"", "\"mdc_orders\"")),
        load_error(replace(
            1,
            "\"list\": \"procedures2\"",
            "\"list\": \"procedures3\"",
        )),
        load_error(replace(
            1,
            "\"table\": \"or_procedures\"",
            "\"table\": \"ss_valid\"",
        )),
        load_error(replace(
            1,
            "\"field\": \"birth_weight_g\"",
            "\"field\": \"weight\"",
        )),
        load_error(replace(1, "\"cmp\": \"lt\"", "\"cmp\": \"<\"")),
        load_error(replace(1, "\"split\": \"mcc\"}", "\"split\": \"cc\"}")),
        load_error(replace(
            0,
            "[\"PS1\", \"PV1\"]",
            "[\"PS1\", \"PV1\", \"BR1\"]",
        )),
        load_error(replace(0, "[\"PS1\", \"PV1\"]", "[\"PS1\"]")),
        load_error(replace(4, "ER19,ER1,MDCE,9,always,肺炎\n", "")),
        load_error(replace(4, "BS13,BS1,MDCB,3", "BS13,BS1,MDCE,3")),
        load_error(replace(2, "\"E87.100\": \"9\"", "\"J96.000\": \"9\"")),
        load_error(replace(5, "52.8000,胰腺移植术", "37.5100,心脏移植术")),
        load_error(replace(
            0,
            "\"result_code\": \"BQY\"",
            "\"result_code\": \"B QY\"",
        )),
        load_error(replace(
            1,
            "{\"code\": \"BS15\", \"split\": \"always\"}",
            "{\"code\": \"BS15\", \"split\": \"mcc\"}",
        )),
    ]
    .join("\n");
    expect![[r#"
        loaded
        Json: mdc.json: missing field `mdc_order` at line 53 column 1
        Unknown: AC1: unknown procedure list `procedures3`
        Unknown: ZJ1: unknown table `ss_valid`
        Unknown: PS1: unknown field `weight`
        Unknown: PS1: unknown comparison `<`
        Unknown: MA11: unknown split `cc`
        Inconsistent: MDCP: adrg_order lists BR1 of another MDC
        Inconsistent: PV1: in no MDC's adrg_order
        Inconsistent: ER19: in adrg.json but not in drg_names.csv
        Inconsistent: BS13: drg_names.csv disagrees with adrg.json on ADRG, MDC or split
        Duplicate: mcc_cc.json: duplicate CC code `J96.000`
        Duplicate: or_procedures.csv: duplicate procedure `37.5100`
        Inconsistent: MDCB: `B QY` is not 1-8 ASCII letters and digits
        Inconsistent: BS15: drg_names.csv disagrees with adrg.json on ADRG, MDC or split"#]]
    .assert_eq(&listing);
}
