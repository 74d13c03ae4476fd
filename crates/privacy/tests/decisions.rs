//! The call decision of §6.2 as a fixture table: one valid call, then one defect at a time in
//! the order the decision checks them, then permits and their obligations.

mod support;

use expect_test::expect;
use support::{at, context, d, items, p01_draft, p05_draft, request_like};
use yibao_privacy::decision::{CallContext, CallRequest, RateLimit};
use yibao_privacy::derived::{
    answer_under, derive, register_health_question, Answer, Question, Value,
};
use yibao_privacy::grant::{DataScope, Grantee, Mode};
use yibao_privacy::limits::{
    GRANTEE_CALLS_PER_SECOND_MAX, MULTI_USES_PER_DAY_MAX, SUBJECT_USES_PER_DAY_MAX,
};
use yibao_privacy::time::{DAY_MS, SECOND_MS};
use yibao_privacy::{
    builtin, create_grant, decide, Decision, DenyReason, Grant, Millis, OutputForm, Purpose,
};

fn show(decision: &Decision) -> String {
    match decision {
        Decision::Permit(permit) => format!(
            "PERMIT items={} form={} consume={:?} notify={:?} placeholders=[{}] level={}",
            permit.items,
            permit.output_form,
            permit.consume,
            permit.notify,
            permit.placeholders,
            permit.level
        ),
        Decision::Deny(reason) => {
            format!(
                "{} ({reason:?}): {}",
                reason.code(),
                reason.public_message()
            )
        }
    }
}

type Case<'a> = (&'a str, CallRequest, Option<Grant>, CallContext);

fn check(cases: Vec<Case>) -> String {
    cases
        .iter()
        .map(|(label, request, grant, context)| {
            format!(
                "{label}: {}",
                show(&decide(request, grant.as_ref(), context))
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn denials_in_precedence_order() {
    let now = at("2026-03-02 10:00:00");
    let call = now.plus(60 * SECOND_MS);
    let draft = p05_draft(now);
    let grant = create_grant(draft.clone()).unwrap();
    let ok = || {
        (
            request_like(&draft, "u-1", call),
            Some(grant.clone()),
            context(call),
        )
    };
    let case = |label, edit: &dyn Fn(&mut CallRequest, &mut Option<Grant>, &mut CallContext)| {
        let (mut request, mut grant, mut context) = ok();
        edit(&mut request, &mut grant, &mut context);
        (label, request, grant, context)
    };
    let cases = vec![
        case("in order", &|_, _, _| {}),
        case("bad signature", &|_, _, c| {
            c.grantee.signature_valid = false
        }),
        case("timestamp 301 s old", &|r, _, _| {
            r.timestamp = call.plus(-301 * SECOND_MS)
        }),
        case("timestamp 300 s ahead", &|r, _, _| {
            r.timestamp = call.plus(300 * SECOND_MS)
        }),
        case("nonce seen", &|_, _, c| c.nonce_seen = true),
        case("grantee suspended", &|_, _, c| c.grantee.active = false),
        case("purpose not approved for grantee", &|_, _, c| {
            c.grantee.purposes_enabled = vec![Purpose::P01]
        }),
        case("unknown token", &|_, g, _| *g = None),
        case("another grantee's token", &|r, _, _| {
            r.grantee = "insurer-b".into()
        }),
        case("endpoint of another purpose", &|r, _, _| {
            r.endpoint_purpose = Purpose::P04
        }),
        case("revoked", &|_, g, _| {
            *g = Some(g.as_ref().unwrap().revoke().unwrap())
        }),
        case("suspended", &|_, g, _| {
            *g = Some(g.as_ref().unwrap().suspend().unwrap())
        }),
        case("past not_after", &|r, _, c| {
            c.now = now.plus(30 * DAY_MS);
            r.timestamp = c.now;
        }),
        case("expired and written", &|_, g, _| {
            *g = Some(g.as_ref().unwrap().expire(now.plus(30 * DAY_MS)).unwrap());
        }),
        case("exhausted", &|_, g, _| {
            let used = g
                .as_ref()
                .unwrap()
                .consume(call)
                .and_then(|g| g.consume(call))
                .and_then(|g| g.consume(call));
            *g = Some(used.unwrap());
        }),
        case("before not_before", &|r, _, c| {
            c.now = now.plus(-SECOND_MS);
            r.timestamp = c.now;
        }),
        case("legal hold", &|_, _, c| c.subject.legal_hold = true),
        case("deceased", &|_, _, c| c.subject.deceased = true),
        case("sharing paused", &|_, _, c| c.subject.sharing_paused = true),
        case("items outside", &|r, _, _| {
            r.items = items("ST01 VS04 RX01")
        }),
        case("period starts earlier", &|r, _, _| {
            r.scope = DataScope::Period {
                from: d("2025-12-31"),
                to: d("2026-03-01"),
            }
        }),
        case("an event instead of the period", &|r, _, _| {
            r.scope = DataScope::Event("setl-1".into())
        }),
        case("subject limit", &|_, _, c| {
            c.counters.subject_uses_today = SUBJECT_USES_PER_DAY_MAX
        }),
        case("grantee per second", &|_, _, c| {
            c.counters.grantee_calls_this_second = GRANTEE_CALLS_PER_SECOND_MAX
        }),
        case("sub-period, fewer items", &|r, _, _| {
            r.items = items("ST04");
            r.scope = DataScope::Period {
                from: d("2026-02-01"),
                to: d("2026-02-28"),
            };
        }),
        case("masked instead of raw", &|r, _, _| {
            r.output_form = OutputForm::MaskedFields
        }),
        case("ask nothing more than an answer", &|r, _, _| {
            r.output_form = OutputForm::Derived
        }),
    ];
    expect![[r#"
        in order: PERMIT items=ST01,ST04 form=fields consume=Decrement notify=PerUse placeholders=[] level=L2
        bad signature: SIGNATURE_INVALID (SignatureInvalid): the request signature is not valid
        timestamp 301 s old: REPLAY (StaleTimestamp): the request is stale or its nonce was used
        timestamp 300 s ahead: PERMIT items=ST01,ST04 form=fields consume=Decrement notify=PerUse placeholders=[] level=L2
        nonce seen: REPLAY (NonceReused): the request is stale or its nonce was used
        grantee suspended: GRANT_INVALID (GranteeInactive): the grant is not valid for this call
        purpose not approved for grantee: GRANT_INVALID (PurposeNotEnabled): the grant is not valid for this call
        unknown token: GRANT_INVALID (GrantNotFound): the grant is not valid for this call
        another grantee's token: GRANT_INVALID (ForeignGrant): the grant is not valid for this call
        endpoint of another purpose: GRANT_INVALID (WrongPurpose): the grant is not valid for this call
        revoked: GRANT_INVALID (Revoked): the grant is not valid for this call
        suspended: GRANT_INVALID (Suspended): the grant is not valid for this call
        past not_after: GRANT_INVALID (Expired): the grant is not valid for this call
        expired and written: GRANT_INVALID (Expired): the grant is not valid for this call
        exhausted: GRANT_EXHAUSTED (Exhausted): the grant has no uses left
        before not_before: GRANT_INVALID (NotYetValid): the grant is not valid for this call
        legal hold: GRANT_INVALID (SubjectUnavailable): the grant is not valid for this call
        deceased: GRANT_INVALID (SubjectUnavailable): the grant is not valid for this call
        sharing paused: GRANT_INVALID (SharingPaused): the grant is not valid for this call
        items outside: SCOPE_DENIED (ItemsOutOfScope(ItemSet({RX01, VS04}))): items RX01,VS04 are not in the grant
        period starts earlier: SCOPE_DENIED (ScopeOutsideGrant): the period or event is not in the grant
        an event instead of the period: SCOPE_DENIED (ScopeOutsideGrant): the period or event is not in the grant
        subject limit: RATE_LIMITED (RateLimited(SubjectPerDay)): too many calls; try later
        grantee per second: RATE_LIMITED (RateLimited(GranteePerSecond)): too many calls; try later
        sub-period, fewer items: PERMIT items=ST04 form=fields consume=Decrement notify=PerUse placeholders=[] level=L2
        masked instead of raw: PERMIT items=ST01,ST04 form=masked_fields consume=Decrement notify=PerUse placeholders=[] level=L2
        ask nothing more than an answer: PERMIT items=ST01,ST04 form=derived consume=Decrement notify=PerUse placeholders=[] level=L2"#]].assert_eq(&check(cases));
}

#[test]
fn output_ladder_and_multi() {
    let now = at("2026-03-02 10:00:00");
    let p01 = p01_draft(now);
    let p01_grant = create_grant(p01.clone()).unwrap();
    let mut p04 = p01_draft(now);
    p04.purpose = Purpose::P04;
    p04.grantee = Grantee::Organisation("insurer-h".into());
    p04.items = items("VS04 ST01 ST03");
    p04.confirmed_items = p04.items.clone();
    p04.output_form = OutputForm::MaskedFields;
    p04.mode = Mode::Multi;
    p04.not_after = now.plus(200 * DAY_MS);
    p04.policy_end = Some(now.plus(100 * DAY_MS));
    let p04_grant = create_grant(p04.clone()).unwrap();
    let mut raw = request_like(&p01, "u-1", now);
    raw.output_form = OutputForm::Fields;
    let mut multi_capped = context(now);
    multi_capped.counters.grant_uses_today = MULTI_USES_PER_DAY_MAX;
    let cases = vec![
        (
            "P01 derived",
            request_like(&p01, "u-1", now),
            Some(p01_grant.clone()),
            context(now),
        ),
        ("P01 asks raw fields", raw, Some(p01_grant), context(now)),
        (
            "P04 masked fields",
            request_like(&p04, "c-1", now),
            Some(p04_grant.clone()),
            context(now),
        ),
        (
            "P04 at the daily cap",
            request_like(&p04, "c-2", now),
            Some(p04_grant),
            multi_capped,
        ),
    ];
    expect![[r#"
        P01 derived: PERMIT items=ID02,ID04,ID06,IN01,IN03 form=derived consume=Decrement notify=PerUse placeholders=[] level=L2
        P01 asks raw fields: SCOPE_DENIED (OutputFormNotAllowed(Fields)): output form fields is not allowed by the grant
        P04 masked fields: PERMIT items=ST01,ST03,VS04 form=masked_fields consume=CountOnly notify=Digest placeholders=[RX04,VS09] level=L2
        P04 at the daily cap: RATE_LIMITED (RateLimited(GrantPerDay)): too many calls; try later"#]].assert_eq(&check(cases));
    assert_eq!(
        DenyReason::RateLimited(RateLimit::GrantPerDay)
            .code()
            .as_str(),
        "RATE_LIMITED"
    );
}

#[test]
fn grant_invalid_says_the_same_for_every_cause() {
    let messages: std::collections::BTreeSet<String> = [
        DenyReason::GranteeInactive,
        DenyReason::PurposeNotEnabled,
        DenyReason::GrantNotFound,
        DenyReason::ForeignGrant,
        DenyReason::WrongPurpose,
        DenyReason::Revoked,
        DenyReason::Expired,
        DenyReason::Suspended,
        DenyReason::NotYetValid,
        DenyReason::SubjectUnavailable,
        DenyReason::SharingPaused,
    ]
    .iter()
    .map(|reason| format!("{} {}", reason.code(), reason.public_message()))
    .collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
}

#[test]
fn derived_answers() {
    let cases: Vec<(Question, Value)> = vec![
        (Question::Equals("张三".into()), Value::Text("张三".into())),
        (Question::Equals("张三".into()), Value::Text("张叁".into())),
        (
            Question::AnyOf(vec!["E11.9".into()]),
            Value::Codes(vec!["I10".into(), "E11.9".into()]),
        ),
        (Question::AnyOf(vec!["E11.9".into()]), Value::Codes(vec![])),
        (Question::AtLeast(1_000_000), Value::Amount(999_999)),
        (Question::AtLeast(1_000_000), Value::Amount(1_000_000)),
        (
            Question::Band(vec![0, 500_000, 2_000_000]),
            Value::Amount(-1),
        ),
        (
            Question::Band(vec![0, 500_000, 2_000_000]),
            Value::Amount(500_000),
        ),
        (
            Question::Band(vec![0, 500_000, 2_000_000]),
            Value::Amount(9_000_000),
        ),
        (Question::Band(vec![0, 0]), Value::Amount(1)),
        (Question::Band((0..11).collect()), Value::Amount(1)),
        (Question::Band(vec![]), Value::Amount(1)),
        (Question::YearOf, Value::Date(d("2019-07-01"))),
        (Question::YearOf, Value::Amount(2019)),
    ];
    let rows: Vec<String> = cases
        .iter()
        .map(|(question, value)| match derive(question, value) {
            Ok(answer) => format!("{question:?} of {value:?}: {answer:?}"),
            Err(err) => format!("{question:?} of {value:?}: {err}"),
        })
        .collect();
    expect![[r#"
        Equals("张三") of Text("张三"): Yes
        Equals("张三") of Text("张叁"): No
        AnyOf(["E11.9"]) of Codes(["I10", "E11.9"]): Yes
        AnyOf(["E11.9"]) of Codes([]): No
        AtLeast(1000000) of Amount(999999): No
        AtLeast(1000000) of Amount(1000000): Yes
        Band([0, 500000, 2000000]) of Amount(-1): Band { index: 0, from: None, to: Some(0) }
        Band([0, 500000, 2000000]) of Amount(500000): Band { index: 2, from: Some(500000), to: Some(2000000) }
        Band([0, 500000, 2000000]) of Amount(9000000): Band { index: 3, from: Some(2000000), to: None }
        Band([0, 0]) of Amount(1): derived answer refused: band bounds must increase strictly
        Band([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) of Amount(1): derived answer refused: a band question needs 1 to 10 bounds
        Band([]) of Amount(1): derived answer refused: a band question needs 1 to 10 bounds
        YearOf of Date(2019-07-01): Year(2019)
        YearOf of Amount(2019): derived answer refused: the question does not fit the value"#]].assert_eq(&rows.join("\n"));
}

#[test]
fn answers_only_for_released_items() {
    let now = at("2026-03-02 10:00:00");
    let draft = p01_draft(now);
    let grant = create_grant(draft.clone()).unwrap();
    let mut request = request_like(&draft, "u-1", now);
    request.items = items("ID02");
    let Decision::Permit(permit) = decide(&request, Some(&grant), &context(now)) else {
        panic!("the request is in order");
    };
    let name = answer_under(
        &permit,
        yibao_privacy::classification::item("ID02"),
        &Question::Equals("张三".into()),
        &Value::Text("张三".into()),
    );
    assert_eq!(name, Ok(Answer::Yes));
    let id = answer_under(
        &permit,
        yibao_privacy::classification::item("ID04"),
        &Question::Equals("x".into()),
        &Value::Text("x".into()),
    );
    assert_eq!(
        id.unwrap_err().to_string(),
        "item ID04 is not released by this decision"
    );
}

#[test]
fn health_questions_may_not_name_special_codes() {
    let classification = builtin();
    assert!(register_health_question(classification, &["E11.9".into(), "I10".into()]).is_ok());
    assert_eq!(
        register_health_question(classification, &["E11.9".into(), "B20.0".into()])
            .unwrap_err()
            .to_string(),
        "question names special-list code B20.0; a yes/no about it is itself level 3"
    );
    assert!(register_health_question(classification, &[]).is_err());
}

#[test]
fn placeholders_follow_the_derived_items_granted() {
    let now = at("2026-03-02 10:00:00");
    let mut p04 = p01_draft(now);
    p04.purpose = Purpose::P04;
    p04.items = items("VS04 ST03");
    p04.confirmed_items = p04.items.clone();
    p04.output_form = OutputForm::MaskedFields;
    p04.mode = Mode::Once;
    p04.scope = DataScope::Event("setl-9".into());
    p04.not_after = now.plus(DAY_MS);
    p04.policy_end = Some(Millis(now.0 + DAY_MS));
    let grant = create_grant(p04.clone()).unwrap();
    let Decision::Permit(permit) =
        decide(&request_like(&p04, "x", now), Some(&grant), &context(now))
    else {
        panic!("in order");
    };
    assert_eq!(permit.placeholders.to_string(), "RX04,VS09");
}

/// T8: a P04 grant with VS04 on a record with an HIV code, and fee lines with antiretrovirals:
/// the diagnosis and the lines are withheld because VS09 and RX04 were not granted.
#[test]
fn t8_level3_values_are_withheld() {
    use yibao_privacy::classification::{item, RESTRICTED_PLACEHOLDER};
    use yibao_privacy::ValueContext;
    let classification = builtin();
    let granted = items("VS04 ST03");
    let record = ValueContext {
        diagnosis_codes: vec!["B20.7".into(), "J18.9".into()],
        drug_codes: vec!["J05AR10".into()],
        ..ValueContext::default()
    };
    let plain = ValueContext {
        diagnosis_codes: vec!["J18.9".into()],
        ..ValueContext::default()
    };
    let show = |code: &str, context: &ValueContext, granted: &yibao_privacy::ItemSet| {
        let withheld = classification.withheld_by(item(code), granted, context);
        if withheld.is_empty() {
            "clear".to_string()
        } else {
            format!("{RESTRICTED_PLACEHOLDER} ({withheld})")
        }
    };
    let rows = [
        format!("VS04 with HIV: {}", show("VS04", &record, &granted)),
        format!(
            "ST03 with antiretrovirals: {}",
            show("ST03", &record, &granted)
        ),
        format!(
            "VS04 with pneumonia only: {}",
            show("VS04", &plain, &granted)
        ),
        format!(
            "VS04 with HIV, VS09 granted: {}",
            show("VS04", &record, &items("VS04 VS09"))
        ),
    ];
    expect![[r#"
        VS04 with HIV: 受限诊断/RESTRICTED (VS09)
        ST03 with antiretrovirals: 受限诊断/RESTRICTED (RX04)
        VS04 with pneumonia only: clear
        VS04 with HIV, VS09 granted: clear"#]]
    .assert_eq(&rows.join("\n"));
}
