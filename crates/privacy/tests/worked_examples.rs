//! The spec's worked examples E1–E3 (§13), step by step, as far as the pure engine reaches:
//! the store's transactions are played here by applying each permit's consumption in order.

mod support;

use support::{at, context, d, factor, items, p01_draft, p05_draft, request_like};
use yibao_privacy::classification::item;
use yibao_privacy::decision::{CallRequest, Consume, Notify};
use yibao_privacy::derived::{answer_under, Answer, Question, Value};
use yibao_privacy::grant::{DataScope, FactorKind, Grant, GrantDraft, Grantee, Grantor, Mode};
use yibao_privacy::proxy::{may_act, Delegation, ProxyAction, ProxyFacts, Relation};
use yibao_privacy::staff::{
    decide_staff_read, start_break_glass, Access, BreakGlassReason, StaffContext, StaffDecision,
    StaffDenyReason, StaffRead, StaffRole,
};
use yibao_privacy::time::{DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS};
use yibao_privacy::{
    builtin, create_grant, decide, Decision, DenyReason, Level, Millis, OutputForm, PrivacyError,
    Purpose, ValueContext,
};

/// Decides a call and, on a permit, applies its consumption as the store's transaction would.
fn call(grant: &mut Grant, request: &CallRequest, now: Millis) -> Decision {
    let decision = decide(request, Some(grant), &context(now));
    if let Decision::Permit(permit) = &decision {
        assert!(permit.items.is_subset(grant.items()));
        *grant = grant.consume(now).expect("a permitted call can consume");
    }
    decision
}

fn denial(decision: &Decision) -> &'static str {
    match decision {
        Decision::Deny(reason) => reason.code().as_str(),
        Decision::Permit(_) => "PERMIT",
    }
}

#[test]
fn e1_quick_underwriting_once() {
    // Step 1–2: P01, ID02 ID04 ID06 IN01 IN03, ONCE, 30 minutes, confirmed with the e-voucher.
    let now = at("2026-03-02 09:30:00");
    let draft = p01_draft(now);
    let mut grant = create_grant(draft.clone()).unwrap();
    assert_eq!(grant.uses_left(), Some(1));
    assert_eq!(grant.level(), Level::L2, "ID04 makes the grant sensitive");
    // SMS alone would not have done for an L2 grant (T9).
    let mut sms_only = draft.clone();
    sms_only.factors = vec![factor(FactorKind::Sms, now)];
    assert!(matches!(
        create_grant(sms_only),
        Err(PrivacyError::FactorRequired {
            level: Level::L2,
            ..
        })
    ));

    // Step 3: u-1 is permitted, derived output, and consumes the only use.
    let u1_at = now.plus(5 * MINUTE_MS);
    let u1 = request_like(&draft, "u-1", u1_at);
    let Decision::Permit(permit) = call(&mut grant, &u1, u1_at) else {
        panic!("u-1 must be permitted");
    };
    assert_eq!(permit.output_form, OutputForm::Derived);
    assert_eq!(permit.consume, Consume::Decrement);
    assert_eq!(grant.status().code(), "EXHAUSTED");
    let name = answer_under(
        &permit,
        item("ID02"),
        &Question::Equals("李四".into()),
        &Value::Text("李四".into()),
    );
    assert_eq!(name, Ok(Answer::Yes));
    let since = answer_under(
        &permit,
        item("IN03"),
        &Question::YearOf,
        &Value::Date(d("2019-05-01")),
    );
    assert_eq!(since, Ok(Answer::Year(2019)));

    // Step 4: a new request u-2 is GRANT_EXHAUSTED. (The retry of u-1 is answered from the stored
    // outcome by the store; the decision on the same inputs is the same.)
    let u2_at = now.plus(6 * MINUTE_MS);
    assert_eq!(
        denial(&call(
            &mut grant,
            &request_like(&draft, "u-2", u2_at),
            u2_at
        )),
        "GRANT_EXHAUSTED"
    );
    let fresh = create_grant(draft.clone()).unwrap();
    assert_eq!(
        decide(&u1, Some(&fresh), &context(u1_at)),
        decide(&u1, Some(&fresh), &context(u1_at))
    );

    // Step 5: Insurer B with random tokens or with A's token gets GRANT_INVALID, never more.
    let mut b = request_like(&draft, "b-1", u1_at);
    b.grantee = "insurer-b".into();
    assert_eq!(denial(&decide(&b, None, &context(u1_at))), "GRANT_INVALID");
    assert_eq!(
        denial(&decide(&b, Some(&fresh), &context(u1_at))),
        "GRANT_INVALID"
    );
    assert_eq!(
        decide(&b, None, &context(u1_at)).deny_message(),
        decide(&b, Some(&fresh), &context(u1_at)).deny_message()
    );

    // The validity is capped at 30 minutes after consent.
    assert_eq!(
        denial(&decide(
            &request_like(&draft, "late", now.plus(30 * MINUTE_MS)),
            Some(&fresh),
            &context(now.plus(30 * MINUTE_MS))
        )),
        "GRANT_INVALID"
    );
}

#[test]
fn e2_direct_claim_rules_in_multi() {
    // Step 1: P03 to Insurer H for 2026-01-01 … 2027-06-29 (policy year + 180 days), MULTI,
    // computed output.
    let now = at("2026-01-01 08:00:00");
    let draft = GrantDraft {
        grant_id: "g-h".into(),
        purpose: Purpose::P03,
        grantee: Grantee::Organisation("insurer-h".into()),
        product_id: "H-2026".into(),
        items: items("VS01 VS02 VS03 VS04 ST01 ST02 ST03 ST04 ST07 ST08"),
        confirmed_items: items("VS01 VS02 VS03 VS04 ST01 ST02 ST03 ST04 ST07 ST08"),
        scope: DataScope::Period {
            from: d("2026-01-01"),
            to: d("2026-12-31"),
        },
        output_form: OutputForm::Computed,
        mode: Mode::Multi,
        not_before: now,
        not_after: Millis::at_date(d("2027-06-29")),
        policy_end: Some(Millis::at_date(d("2026-12-31"))),
        ..p01_draft(now)
    };
    let mut grant = create_grant(draft.clone()).unwrap();
    let mut longer = draft.clone();
    longer.not_after = Millis::at_date(d("2027-06-30"));
    assert!(matches!(
        create_grant(longer),
        Err(PrivacyError::ValidityTooLong { .. })
    ));

    // Step 4: claims:results calls, each one use, none exhausting the grant.
    let mut results = request_like(&draft, "h-1", now);
    results.items = items("ST01 ST04 ST07");
    results.scope = DataScope::Period {
        from: d("2026-03-01"),
        to: d("2026-03-31"),
    };
    for (idx, day) in [70, 73, 200].iter().enumerate() {
        let at_day = now.plus(day * DAY_MS);
        results.request_id = format!("h-{idx}");
        results.timestamp = at_day;
        let Decision::Permit(permit) = call(&mut grant, &results, at_day) else {
            panic!("claims:results on day {day} must be permitted");
        };
        assert_eq!(
            (permit.consume, permit.notify),
            (Consume::CountOnly, Notify::Digest)
        );
    }
    assert_eq!(
        (grant.status().code(), grant.uses_count(), grant.uses_left()),
        ("ACTIVE", 3, None)
    );

    // Fields are never released under a rules-in grant.
    results.output_form = OutputForm::Fields;
    results.timestamp = now;
    assert_eq!(
        denial(&decide(&results, Some(&grant), &context(now))),
        "SCOPE_DENIED"
    );

    // Step 7: an HIV code makes the diagnosis L3 inside the bureau, but the grant lacks VS09, so
    // the projection would put a placeholder; only amounts leave anyway.
    let hiv = ValueContext {
        diagnosis_codes: vec!["B20.0".into()],
        ..ValueContext::default()
    };
    assert_eq!(builtin().level_of(item("VS04"), &hiv), Level::L3);
    results.output_form = OutputForm::Computed;
    results.items = items("VS04 ST01");
    let Decision::Permit(permit) = decide(&results, Some(&grant), &context(now)) else {
        panic!("in scope");
    };
    assert!(permit.placeholders.contains(item("VS09")));
    assert_eq!(permit.output_form, OutputForm::Computed);

    // After the policy period plus 180 days the grant is invalid.
    let after = Millis::at_date(d("2027-06-29"));
    results.timestamp = after;
    assert_eq!(
        denial(&decide(&results, Some(&grant), &context(after))),
        "GRANT_INVALID"
    );
}

#[test]
fn e3_family_proxy_limited_revocation_break_glass() {
    // Step 1: the mother grants P05 for her 10-year-old son: ST01 ST04 for the first half of
    // 2026, LIMITED(3). Under 14 the whole record is L2: SMS alone is refused.
    let now = at("2026-07-01 10:00:00");
    let mother = ProxyFacts {
        proxy: "P-MOTHER".into(),
        relation: Relation::Guardian,
        subject_age_years: 10,
        subject_deceased: false,
        minor_holds_evoucher: false,
        minor_confirmed: false,
        court_order_verified: false,
        delegation: None,
        proxy_face_checked: false,
    };
    let mut draft = p05_draft(now);
    draft.subject = "P-SON".into();
    draft.subject_age_years = Some(10);
    draft.grantor = Grantor::Proxy(mother);
    // FIXME(spec §13 E3 vs §5.2): E3 gives the P05 grant 90 days, but the catalogue caps P05
    // at 30 days. The catalogue wins here; the example runs with 30 days.
    let mut as_written = draft.clone();
    as_written.not_after = now.plus(90 * DAY_MS);
    assert!(matches!(
        create_grant(as_written),
        Err(PrivacyError::ValidityTooLong { .. })
    ));
    let mut sms = draft.clone();
    sms.factors = vec![factor(FactorKind::Sms, now)];
    assert!(matches!(
        create_grant(sms),
        Err(PrivacyError::FactorRequired { .. })
    ));
    let mut grant = create_grant(draft.clone()).unwrap();

    // Step 2: two calls (3 → 1), then six calls with six request ids: exactly one permitted.
    let mut outcomes = Vec::new();
    for idx in 0..8 {
        let at_call = now.plus((idx + 1) * MINUTE_MS);
        outcomes.push(denial(&call(
            &mut grant,
            &request_like(&draft, &format!("c-{idx}"), at_call),
            at_call,
        )));
    }
    assert_eq!(
        outcomes,
        [
            "PERMIT",
            "PERMIT",
            "PERMIT",
            "GRANT_EXHAUSTED",
            "GRANT_EXHAUSTED",
            "GRANT_EXHAUSTED",
            "GRANT_EXHAUSTED",
            "GRANT_EXHAUSTED"
        ]
    );

    // Step 3: the son's family-account binding cannot grant his father's data …
    let revoke_day = at("2026-09-01 10:00:00");
    let son = ProxyFacts {
        proxy: "P-SON-38".into(),
        relation: Relation::FamilyAccount,
        subject_age_years: 72,
        ..match &draft.grantor {
            Grantor::Proxy(facts) => facts.clone(),
            Grantor::Subject => unreachable!(),
        }
    };
    let st = ProxyAction::Grant {
        items: items("ST01 IN01"),
        level: Level::L2,
    };
    assert!(may_act(&son, &st, revoke_day).is_err());
    // … until the father delegates P06 for C3 and C7 for a year with a face check.
    let mut p06 = p01_draft(revoke_day.plus(-30 * DAY_MS));
    p06.purpose = Purpose::P06;
    p06.grantee = Grantee::Person("P-SON-38".into());
    p06.items = items("IN01 IN02 IN03 IN04 IN05 IN06 IN07 ST01 ST02 ST03 ST04 ST05 ST06 ST07 ST08");
    p06.confirmed_items = p06.items.clone();
    p06.output_form = OutputForm::Fields;
    p06.mode = Mode::Multi;
    p06.not_after = p06.not_before.plus(365 * DAY_MS);
    p06.factors = vec![factor(FactorKind::Face, p06.consented_at)];
    let delegation = create_grant(p06).unwrap();
    let son = ProxyFacts {
        delegation: Some(Delegation {
            items: delegation.items().clone(),
            not_after: delegation.terms().not_after,
            level3_ticked: false,
            revoked: false,
        }),
        ..son
    };
    assert!(may_act(&son, &st, revoke_day).is_ok());
    assert!(may_act(
        &son,
        &ProxyAction::Grant {
            items: items("VS04"),
            level: Level::L2
        },
        revoke_day
    )
    .is_err());

    // The father revokes a MULTI grant at 10:00:00; Insurer D's call at 10:00:01 is refused.
    let mut multi = p01_draft(revoke_day.plus(-DAY_MS));
    multi.purpose = Purpose::P04;
    multi.grantee = Grantee::Organisation("insurer-d".into());
    multi.items = items("ST01");
    multi.confirmed_items = items("ST01");
    multi.output_form = OutputForm::MaskedFields;
    multi.mode = Mode::Multi;
    multi.scope = DataScope::Period {
        from: d("2026-01-01"),
        to: d("2026-12-31"),
    };
    multi.not_after = multi.not_before.plus(100 * DAY_MS);
    multi.policy_end = Some(multi.not_before.plus(100 * DAY_MS));
    let multi_grant = create_grant(multi.clone()).unwrap();
    let revoked = multi_grant.revoke().unwrap();
    let d_call = revoke_day.plus(SECOND_MS);
    let decision = decide(
        &request_like(&multi, "d-1", d_call),
        Some(&revoked),
        &context(d_call),
    );
    assert_eq!(decision, Decision::Deny(DenyReason::Revoked));
    assert_eq!(denial(&decision), "GRANT_INVALID");

    // Step 4: the inspector without a case is denied; break-glass gives 2 hours and alerts.
    let night = at("2026-09-02 21:00:00");
    let inspector = StaffRead {
        actor: "inspector-7".into(),
        roles: vec![StaffRole::Inspector],
        subject_ref: "subj-father".into(),
        items: items("ID02 ST01"),
        level: Level::L2,
        purpose_code: "JH01".into(),
        reveal: None,
    };
    let staff_context = |now, access| StaffContext {
        now,
        access,
        actor_region: "370200".into(),
        subject_region: "370202".into(),
        on_private_network: true,
        reveals_today: 0,
        actor_subject_ref: "subj-inspector".into(),
        related_refs: vec![],
    };
    assert_eq!(
        decide_staff_read(&inspector, &staff_context(night, Access::None)),
        StaffDecision::Deny(StaffDenyReason::NoOpenCase)
    );
    let glass = start_break_glass(
        "inspector-7",
        &[StaffRole::Inspector],
        "subj-father",
        BreakGlassReason::FraudInProgress,
        "可疑骗保线索, 线索号 XS-2026-0912",
        night,
    )
    .unwrap();
    let StaffDecision::Permit(permit) = decide_staff_read(
        &inspector,
        &staff_context(night.plus(MINUTE_MS), Access::BreakGlass(glass.clone())),
    ) else {
        panic!("break-glass opens the record");
    };
    assert!(permit.break_glass && permit.notify_subject);
    assert_eq!(permit.until, Some(night.plus(2 * HOUR_MS)));
    assert_eq!(
        decide_staff_read(
            &inspector,
            &staff_context(night.plus(2 * HOUR_MS), Access::BreakGlass(glass))
        ),
        StaffDecision::Deny(StaffDenyReason::BreakGlassExpired)
    );
    // Step 5 (log tampering) belongs to the log's verifier, not to this engine.
}
