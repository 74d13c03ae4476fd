//! The shipped classification against the spec's counts (§4.2), the field index, and the value
//! rules of §4.3 as a fixture table.

mod support;

use std::collections::BTreeMap;

use expect_test::expect;
use support::items;
use yibao_privacy::classification::{item, Classification, CLASSIFICATION_FILE};
use yibao_privacy::{builtin, Level, PrivacyError, ValueContext};

#[test]
fn counts_match_the_spec() {
    let classification = builtin();
    assert_eq!(classification.categories().len(), 11);
    assert_eq!(classification.items().count(), 74);
    let mut per_category = BTreeMap::new();
    let mut per_level = BTreeMap::new();
    for entry in classification.items() {
        *per_category.entry(entry.category.number()).or_insert(0) += 1;
        *per_level.entry(entry.level).or_insert(0) += 1;
    }
    // §4.2: "per category 9, 6, 7, 5, 6, 9, 8, 6, 7, 6, 5; per level L1 = 24, L2 = 44, L3 = 6".
    assert_eq!(
        per_category.values().copied().collect::<Vec<_>>(),
        vec![9, 6, 7, 5, 6, 9, 8, 6, 7, 6, 5]
    );
    assert_eq!(per_level[&Level::L1], 24);
    assert_eq!(per_level[&Level::L2], 44);
    assert_eq!(per_level[&Level::L3], 6);
}

#[test]
fn the_table_as_shipped() {
    let rows: Vec<String> = builtin()
        .items()
        .map(|entry| {
            let fields = if entry.fields.is_empty() {
                "—".to_string()
            } else {
                entry.fields.join(" ")
            };
            format!(
                "{} {} {} {} | {}",
                entry.code, entry.category, entry.level, entry.name_en, fields
            )
        })
        .collect();
    expect![[r#"
        AC01 C5 L2 Personal account balance | settlement.balc
        AC02 C5 L2 Personal account credits | contribution_assessment.into_acct_fen
        AC03 C5 L2 Personal account payments | settlement.acct_pay personal_account_payout.amount_fen
        AC04 C5 L2 Mutual-aid payments | settlement.acct_mulaid_pay
        AC05 C5 L2 Bank account for benefits / refunds | personal_account_payout.bank_account personal_account_payout_line.paid_to contribution_refund.paid_to
        AC06 C5 L1 Personal account status | —
        AU01 C11 L3 Face images and templates | —
        AU02 C11 L2 Real-person check results and serial numbers | —
        AU03 C11 L3 Authentication secrets (e-voucher tokens, SMS codes, password digests, grant tokens) | ec_token.token_index visit.mdtrt_cert_no
        AU04 C11 L1 Terminal and device identifiers | —
        AU05 C11 L2 The person's grants and data-call records | access_log.*
        CB01 C4 L2 Contribution base | payroll_base.wage_fen contribution_assessment.base_fen maternity_allowance.base_fen
        CB02 C4 L2 Contribution records | contribution_assessment.emp_clct_fen contribution_assessment.psn_clct_fen contribution_assessment.clct_sum_fen contribution_assessment.into_pool_fen contribution_payment.*
        CB03 C4 L1 Contribution years (including deemed) | contribution_years.months_actual contribution_years.months_deemed
        CB04 C4 L2 Subsidised enrolment / public subsidy records | contribution_assessment.oth_clct_fen contribution_payer_line.*
        CB05 C4 L2 Arrears / back-payment records | contribution_case.reason contribution_case.detail contribution_refund.*
        CT01 C2 L1 Mobile phone number | person.tel
        CT02 C2 L1 Contact address (residence) | —
        CT03 C2 L1 Household-registration address | —
        CT04 C2 L1 E-mail address | —
        CT05 C2 L1 Emergency contact | —
        CT06 C2 L1 Family relations / family-account binding / mutual-aid relation | family_binding.* household_member.hh_id household_member.hh_rel personal_account_payout_line.heir_psn_no"#]]
    .assert_eq(&rows[..22].join("\n"));
}

#[test]
fn items_for_fields() {
    let classification = builtin();
    let fields = [
        ("person", "psn_no"),
        ("settlement", "psn_no"),
        ("person", "psn_name"),
        ("person", "certno"),
        ("registry_case", "certno"),
        ("person", "gend"),
        ("person", "brdy"),
        ("person", "tel"),
        ("visit", "mdtrt_cert_no"),
        ("insurance", "insutype"),
        ("settlement", "balc"),
        ("settlement", "medfee_sumamt"),
        ("settlement", "hifp_pay"),
        ("settlement", "inscp_scp_amt"),
        ("settlement", "maf_pay"),
        ("diagnosis", "diag_code"),
        ("visit", "dise_codg"),
        ("setl_list_operation", "oprn_oprt_code"),
        ("fee_line", "med_list_codg"),
        ("ytd", "hifmi"),
        ("chronic_recognition", "opsp_dise_code"),
        ("identity", "sp_psn_type"),
        ("visit_maternity", "matn_type"),
        ("family_binding", "family_psn_no"),
        ("access_log", "subject_ref"),
        ("institution", "fixmedins_name"),
        ("staff_account", "password_hash"),
    ];
    let rows: Vec<String> = fields
        .iter()
        .map(|(table, column)| {
            format!(
                "{table}.{column} -> {}",
                classification.items_for_field(table, column)
            )
        })
        .collect();
    expect![[r#"
        person.psn_no -> ID01
        settlement.psn_no -> ID01
        person.psn_name -> ID02
        person.certno -> ID04
        registry_case.certno -> ID04
        person.gend -> ID05
        person.brdy -> ID06
        person.tel -> CT01
        visit.mdtrt_cert_no -> AU03,ID04,ID09
        insurance.insutype -> IN01
        settlement.balc -> AC01
        settlement.medfee_sumamt -> ST01
        settlement.hifp_pay -> ST02
        settlement.inscp_scp_amt -> ST04
        settlement.maf_pay -> ST05
        diagnosis.diag_code -> VS04
        visit.dise_codg -> VS04
        setl_list_operation.oprn_oprt_code -> VS05
        fee_line.med_list_codg -> ST03
        ytd.hifmi -> ST07
        chronic_recognition.opsp_dise_code -> FL03
        identity.sp_psn_type -> SP01,SP02,SP04
        visit_maternity.matn_type -> VS08
        family_binding.family_psn_no -> CT06,ID01
        access_log.subject_ref -> AU05
        institution.fixmedins_name -> 
        staff_account.password_hash -> "#]]
    .assert_eq(&rows.join("\n"));
}

#[test]
fn items_the_platform_does_not_hold() {
    let absent: Vec<String> = builtin()
        .items()
        .filter(|entry| entry.fields.is_empty())
        .map(|entry| entry.code.to_string())
        .collect();
    expect!["AC06 AU01 AU02 AU04 CT02 CT03 CT04 CT05 FL02 FL04 FL05 FL06 IN07 RX01 RX02 RX03 RX04 RX05 RX06 SP05 SP06 VS09"].assert_eq(&absent.join(" "));
}

fn context(build: impl FnOnce(&mut ValueContext)) -> ValueContext {
    let mut context = ValueContext::default();
    build(&mut context);
    context
}

#[test]
fn value_escalation() {
    let classification = builtin();
    let cases: Vec<(&str, &str, ValueContext)> = vec![
        ("VS04", "no values", ValueContext::default()),
        (
            "VS04",
            "pneumonia J18.9",
            context(|c| c.diagnosis_codes = vec!["J18.9".into()]),
        ),
        (
            "VS04",
            "HIV B20.1",
            context(|c| c.diagnosis_codes = vec!["J18.9".into(), "B20.1".into()]),
        ),
        (
            "VS04",
            "asymptomatic HIV z21",
            context(|c| c.diagnosis_codes = vec!["z21".into()]),
        ),
        (
            "VS04",
            "schizophrenia F20.0",
            context(|c| c.diagnosis_codes = vec!["F20.0".into()]),
        ),
        (
            "VS04",
            "tuberculosis A16.2",
            context(|c| c.diagnosis_codes = vec!["A16.2".into()]),
        ),
        (
            "VS04",
            "A20 plague (outside A15-A19)",
            context(|c| c.diagnosis_codes = vec!["A20.0".into()]),
        ),
        (
            "VS04",
            "abortion O04",
            context(|c| c.diagnosis_codes = vec!["O04.9".into()]),
        ),
        (
            "ST01",
            "HIV does not lift amounts",
            context(|c| c.diagnosis_codes = vec!["B20".into()]),
        ),
        (
            "VS05",
            "termination of pregnancy 69.51",
            context(|c| c.operation_codes = vec!["69.51".into()]),
        ),
        (
            "ST03",
            "antiretroviral J05AR03",
            context(|c| c.drug_codes = vec!["J05AR03".into()]),
        ),
        (
            "ST03",
            "antibiotic J01CA04",
            context(|c| c.drug_codes = vec!["J01CA04".into()]),
        ),
        (
            "SP01",
            "sp_psn_type 921",
            context(|c| c.identity_codes = vec!["921".into()]),
        ),
        (
            "SP01",
            "sp_psn_type 1 (低保)",
            context(|c| c.identity_codes = vec!["1".into()]),
        ),
        (
            "SP04",
            "sp_psn_type 905 (困境儿童)",
            context(|c| c.identity_codes = vec!["905".into()]),
        ),
        (
            "VS08",
            "matn_type 5 (流产)",
            context(|c| c.maternity_types = vec!["5".into()]),
        ),
        (
            "VS08",
            "matn_type 1",
            context(|c| c.maternity_types = vec!["1".into()]),
        ),
        ("CT06", "links a minor", context(|c| c.links_minor = true)),
        (
            "ID02",
            "subject aged 10",
            context(|c| c.subject_age_years = Some(10)),
        ),
        (
            "ID02",
            "subject aged 14",
            context(|c| c.subject_age_years = Some(14)),
        ),
        ("AU03", "L3 stays L3", ValueContext::default()),
    ];
    let rows: Vec<String> = cases
        .iter()
        .map(|(code, label, ctx)| {
            let code = item(code);
            format!(
                "{code} {label}: {} governed by [{}]",
                classification.level_of(code, ctx),
                classification.governing_derived(code, ctx)
            )
        })
        .collect();
    expect![[r#"
        VS04 no values: L2 governed by []
        VS04 pneumonia J18.9: L2 governed by []
        VS04 HIV B20.1: L3 governed by [VS09]
        VS04 asymptomatic HIV z21: L3 governed by [VS09]
        VS04 schizophrenia F20.0: L3 governed by [VS09]
        VS04 tuberculosis A16.2: L3 governed by [VS09]
        VS04 A20 plague (outside A15-A19): L2 governed by []
        VS04 abortion O04: L3 governed by [VS09]
        ST01 HIV does not lift amounts: L2 governed by []
        VS05 termination of pregnancy 69.51: L3 governed by [VS09]
        ST03 antiretroviral J05AR03: L3 governed by [RX04]
        ST03 antibiotic J01CA04: L2 governed by []
        SP01 sp_psn_type 921: L3 governed by [SP06]
        SP01 sp_psn_type 1 (低保): L2 governed by []
        SP04 sp_psn_type 905 (困境儿童): L3 governed by [SP05]
        VS08 matn_type 5 (流产): L3 governed by [VS09]
        VS08 matn_type 1: L2 governed by []
        CT06 links a minor: L2 governed by []
        ID02 subject aged 10: L2 governed by []
        ID02 subject aged 14: L1 governed by []
        AU03 L3 stays L3: L3 governed by []"#]]
    .assert_eq(&rows.join("\n"));
}

#[test]
fn a_record_takes_its_highest_level() {
    let classification = builtin();
    let hiv = ValueContext {
        diagnosis_codes: vec!["B24".into()],
        ..ValueContext::default()
    };
    assert_eq!(
        classification.record_level(&items("ID02 IN01"), &ValueContext::default()),
        Level::L1
    );
    assert_eq!(
        classification.record_level(&items("ID02 ST01"), &ValueContext::default()),
        Level::L2
    );
    assert_eq!(
        classification.record_level(&items("ID02 ST01 VS04"), &hiv),
        Level::L3
    );
    assert_eq!(classification.record_level(&items(""), &hiv), Level::L1);
}

/// The shipped file with one edit, parsed.
fn parse_edited(from: &str, to: &str) -> Result<Classification, PrivacyError> {
    assert!(
        CLASSIFICATION_FILE.contains(from),
        "fixture edit {from:?} does not apply"
    );
    Classification::parse(&CLASSIFICATION_FILE.replacen(from, to, 1))
}

#[test]
fn broken_files_are_refused() {
    let cases = [
        ("code = \"ID02\"", "code = \"ID01\""),
        ("code = \"ID02\"", "code = \"id02\""),
        ("code = \"C11\"\nname_zh", "code = \"C12\"\nname_zh"),
        ("level = 3", "level = 4"),
        ("fields = [\"person.tel\"]", "fields = [\"person tel\"]"),
        ("fields = [\"person.tel\"]", "fields = []"),
        ("derived = \"VS09\"", "derived = \"VS04\""),
        ("items = [\"CT06\"]", "items = [\"CT07\"]"),
        ("values = [\"B20-B24\"", "values = [\"B24-B20\""),
        ("version = ", "versio = "),
    ];
    let rows: Vec<String> = cases
        .iter()
        .map(|(from, to)| match parse_edited(from, to) {
            Ok(_) => format!("{to:?}: accepted"),
            Err(err) => format!("{to:?}: {}", err.to_string().lines().next().unwrap_or("")),
        })
        .collect();
    expect![[r#"
        "code = \"ID01\"": classification data: item ID01 appears twice
        "code = \"id02\"": item code "id02" is not two capital letters and two digits
        "code = \"C12\"\nname_zh": classification data: category "C12" is not C1 to C11
        "level = 4": classification data: VS09: level 4 is not 1, 2 or 3
        "fields = [\"person tel\"]": classification data: CT01: field "person tel" is not table.column
        "fields = []": classification data: CT01: no field and no reason why
        "derived = \"VS04\"": classification data: list special-diagnoses: VS04 is not a derived item
        "items = [\"CT07\"]": classification data: list minor-family-link: item CT07 unknown
        "values = [\"B24-B20\"": classification data: list special-diagnoses: value "B24-B20" is malformed
        "versio = ": classification data: TOML parse error at line 9, column 1"#]].assert_eq(&rows.join("\n"));
}

#[test]
fn a_missing_item_is_counted() {
    let text = CLASSIFICATION_FILE.replacen(
        "[[item]]\ncode = \"AU05\"",
        "[[nothing]]\ncode = \"AU05\"",
        1,
    );
    let err = Classification::parse(&text).unwrap_err();
    assert!(
        matches!(
            err,
            PrivacyError::ClassificationSyntax(_) | PrivacyError::ClassificationInvalid(_)
        ),
        "{err}"
    );
}
