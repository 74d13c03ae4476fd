//! Grant creation against the rules of §5.5 (refusals listed in precedence order), the lifecycle
//! of §5.6 as a transition table, and the proxy rules of §5.7.

mod support;

use expect_test::expect;
use support::{at, d, factor, items, p01_draft, p05_draft};
use yibao_privacy::grant::{DataScope, FactorKind, GrantDraft, Grantee, Grantor, Mode};
use yibao_privacy::proxy::{
    age_on, check_family_binding, may_act, Delegation, ProxyAction, ProxyFacts, Relation,
};
use yibao_privacy::purpose::ValidityCap;
use yibao_privacy::time::{Span, DAY_MS, MINUTE_MS};
use yibao_privacy::{create_grant, Grant, Level, Millis, OutputForm, Purpose};

fn outcome(draft: GrantDraft) -> String {
    match create_grant(draft) {
        Ok(grant) => format!(
            "ok: {} {} level {}",
            grant.status(),
            grant.terms().mode,
            grant.level()
        ),
        Err(err) => format!("refused: {err}"),
    }
}

fn check(cases: Vec<(&str, GrantDraft)>) -> String {
    cases
        .into_iter()
        .map(|(label, draft)| format!("{label}: {}", outcome(draft)))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn creation_rules_in_precedence_order() {
    let now = at("2026-03-02 10:00:00");
    let base = || p01_draft(now);
    let with = |edit: &dyn Fn(&mut GrantDraft)| {
        let mut draft = base();
        edit(&mut draft);
        draft
    };
    let cases = vec![
        ("E1 as given", base()),
        (
            "to a person",
            with(&|g| g.grantee = Grantee::Person("P0002".into())),
        ),
        ("no items", with(&|g| g.items = items(""))),
        ("diagnoses in P01", with(&|g| g.items = items("ID02 VS04"))),
        ("raw fields", with(&|g| g.output_form = OutputForm::Fields)),
        ("LIMITED(2) in P01", with(&|g| g.mode = Mode::Limited(2))),
        (
            "31 minutes",
            with(&|g| g.not_after = now.plus(31 * MINUTE_MS)),
        ),
        ("empty validity", with(&|g| g.not_after = g.not_before)),
        (
            "starts before consent",
            with(&|g| g.not_before = now.plus(-1)),
        ),
        ("ID04 unconfirmed", with(&|g| g.confirmed_items = items(""))),
        (
            "SMS only",
            with(&|g| g.factors = vec![factor(FactorKind::Sms, now)]),
        ),
        (
            "face",
            with(&|g| g.factors = vec![factor(FactorKind::Face, now)]),
        ),
        ("no factor", with(&|g| g.factors = vec![])),
        (
            "e-voucher 6 min old",
            with(&|g| g.factors[0].verified_at = now.plus(-6 * MINUTE_MS)),
        ),
        (
            "L1 only, SMS, adult",
            with(&|g| {
                g.items = items("ID02 IN01 IN03");
                g.confirmed_items = items("");
                g.factors = vec![factor(FactorKind::Sms, now)];
            }),
        ),
        (
            "L1 only, SMS, child of 10",
            with(&|g| {
                g.items = items("ID02 IN01 IN03");
                g.confirmed_items = items("");
                g.subject_age_years = Some(10);
                g.factors = vec![factor(FactorKind::Sms, now)];
            }),
        ),
        (
            "L1 only, child of 10, confirmed",
            with(&|g| {
                g.items = items("ID02 IN01 IN03");
                g.confirmed_items = items("ID02 IN01 IN03");
                g.subject_age_years = Some(10);
                g.factors = vec![factor(FactorKind::Sms, now)];
            }),
        ),
    ];
    expect![[r#"
        E1 as given: ok: ACTIVE ONCE level L2
        to a person: refused: purpose P01 cannot be granted to a person
        no items: refused: the grant names no item
        diagnoses in P01: refused: items VS04 are outside what purpose P01 may carry
        raw fields: refused: purpose P01 does not allow output form fields
        LIMITED(2) in P01: refused: purpose P01 does not allow mode LIMITED(2)
        31 minutes: refused: validity of 31 min exceeds the 30 min purpose P01 allows
        empty validity: refused: validity window is empty or starts before the consent was given
        starts before consent: refused: validity window is empty or starts before the consent was given
        ID04 unconfirmed: refused: items ID04 are sensitive and were not individually confirmed
        SMS only: refused: a grant at level L2 needs the e-voucher or a face check
        face: ok: ACTIVE ONCE level L2
        no factor: refused: a grant at level L2 needs the e-voucher or a face check
        e-voucher 6 min old: refused: the e_voucher check was at 1772445240000, not within the consent's window
        L1 only, SMS, adult: ok: ACTIVE ONCE level L1
        L1 only, SMS, child of 10: refused: items ID02,IN01,IN03 are sensitive and were not individually confirmed
        L1 only, child of 10, confirmed: refused: a grant at level L2 needs the e-voucher or a face check"#]].assert_eq(&check(cases));
}

fn p03_draft(now: Millis) -> GrantDraft {
    GrantDraft {
        grant_id: "g3".into(),
        purpose: Purpose::P03,
        grantee: Grantee::Organisation("insurer-h".into()),
        items: items("VS01 VS04 ST01 ST04 ST07 ST08"),
        confirmed_items: items("VS01 VS04 ST01 ST04 ST07 ST08"),
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
    }
}

#[test]
fn purposes_other_than_p01() {
    let now = at("2026-01-01 09:00:00");
    let p03 = || p03_draft(now);
    let with = |mut draft: GrantDraft, edit: &dyn Fn(&mut GrantDraft)| {
        edit(&mut draft);
        draft
    };
    let cases = vec![
        ("P03 policy year + 180 days", p03()),
        (
            "P03 one day longer",
            with(p03(), &|g| g.not_after = g.not_after.plus(DAY_MS)),
        ),
        (
            "P03 without the policy end",
            with(p03(), &|g| g.policy_end = None),
        ),
        ("P03 ONCE", with(p03(), &|g| g.mode = Mode::Once)),
        (
            "P03 with VS09 as input, no separate screen",
            with(p03(), &|g| {
                g.items = items("VS04 VS09");
                g.confirmed_items = items("VS04 VS09");
                g.factors = vec![factor(FactorKind::Face, now)];
            }),
        ),
        (
            "P03 with VS09, separate screen, e-voucher only",
            with(p03(), &|g| {
                g.items = items("VS04 VS09");
                g.confirmed_items = items("VS04 VS09");
                g.separate_level3_consent = true;
            }),
        ),
        (
            "P03 with VS09, separate screen, e-voucher + SMS",
            with(p03(), &|g| {
                g.items = items("VS04 VS09");
                g.confirmed_items = items("VS04 VS09");
                g.separate_level3_consent = true;
                g.factors = vec![
                    factor(FactorKind::EVoucher, now),
                    factor(FactorKind::Sms, now),
                ];
            }),
        ),
        (
            "P04 with VS09",
            with(p03(), &|g| {
                g.purpose = Purpose::P04;
                g.output_form = OutputForm::MaskedFields;
                g.items = items("VS04 VS09");
            }),
        ),
        (
            "P04 ONCE over a period",
            with(p03(), &|g| {
                g.purpose = Purpose::P04;
                g.output_form = OutputForm::MaskedFields;
                g.mode = Mode::Once;
            }),
        ),
        (
            "P04 ONCE bound to one settlement",
            with(p03(), &|g| {
                g.purpose = Purpose::P04;
                g.output_form = OutputForm::MaskedFields;
                g.mode = Mode::Once;
                g.scope = DataScope::Event("setl-2304".into());
            }),
        ),
        ("P05 LIMITED(3)", p05_draft(now)),
        (
            "P05 LIMITED(4)",
            with(p05_draft(now), &|g| g.mode = Mode::Limited(4)),
        ),
        (
            "P05 LIMITED(1)",
            with(p05_draft(now), &|g| g.mode = Mode::Limited(1)),
        ),
        (
            "P05 90 days (E3 as written)",
            with(p05_draft(now), &|g| g.not_after = now.plus(90 * DAY_MS)),
        ),
        (
            "P05 period ends before it starts",
            with(p05_draft(now), &|g| {
                g.scope = DataScope::Period {
                    from: d("2026-06-30"),
                    to: d("2026-01-01"),
                }
            }),
        ),
        (
            "P02 six years back",
            with(p01_draft(now), &|g| {
                g.purpose = Purpose::P02;
                g.items = items("VS04 FL03");
                g.confirmed_items = items("VS04 FL03");
                g.scope = DataScope::Period {
                    from: d("2020-01-01"),
                    to: d("2025-12-31"),
                };
            }),
        ),
        (
            "P02 four years back",
            with(p01_draft(now), &|g| {
                g.purpose = Purpose::P02;
                g.items = items("VS04 FL03");
                g.confirmed_items = items("VS04 FL03");
                g.scope = DataScope::Period {
                    from: d("2022-01-01"),
                    to: d("2025-12-31"),
                };
            }),
        ),
        (
            "P06 to an organisation",
            with(p01_draft(now), &|g| {
                g.purpose = Purpose::P06;
                g.output_form = OutputForm::Fields;
                g.mode = Mode::Multi;
            }),
        ),
        (
            "P06 to the son, C3 and C7, a year",
            with(p01_draft(now), &|g| {
                g.purpose = Purpose::P06;
                g.grantee = Grantee::Person("P-SON".into());
                g.items = items(
                    "IN01 IN02 IN03 IN04 IN05 IN06 IN07 ST01 ST02 ST03 ST04 ST05 ST06 ST07 ST08",
                );
                g.confirmed_items = g.items.clone();
                g.output_form = OutputForm::Fields;
                g.mode = Mode::Multi;
                g.not_after = now.plus(365 * DAY_MS);
                g.factors = vec![factor(FactorKind::Face, now)];
            }),
        ),
        (
            "P07 with a personal item",
            with(p01_draft(now), &|g| {
                g.purpose = Purpose::P07;
                g.output_form = OutputForm::Computed;
                g.mode = Mode::Multi;
            }),
        ),
    ];
    expect![[r#"
        P03 policy year + 180 days: ok: ACTIVE MULTI level L2
        P03 one day longer: refused: validity of 13071 h exceeds the 13047 h purpose P03 allows
        P03 without the policy end: refused: purpose P03 needs the policy period's end
        P03 ONCE: refused: purpose P03 does not allow mode ONCE
        P03 with VS09 as input, no separate screen: refused: level-3 items need their own consent screen
        P03 with VS09, separate screen, e-voucher only: refused: a grant at level L3 needs a face check, or the e-voucher and an SMS code
        P03 with VS09, separate screen, e-voucher + SMS: ok: ACTIVE MULTI level L3
        P04 with VS09: refused: items VS09 are outside what purpose P04 may carry
        P04 ONCE over a period: refused: purpose P04 in this mode must be bound to one visit or settlement
        P04 ONCE bound to one settlement: ok: ACTIVE ONCE level L2
        P05 LIMITED(3): ok: ACTIVE LIMITED(3) level L2
        P05 LIMITED(4): refused: purpose P05 does not allow mode LIMITED(4)
        P05 LIMITED(1): refused: purpose P05 does not allow mode LIMITED(1)
        P05 90 days (E3 as written): refused: validity of 90 d exceeds the 30 d purpose P05 allows
        P05 period ends before it starts: refused: data period 2026-06-30 to 2026-01-01 is not allowed: it ends before it starts
        P02 six years back: refused: data period 2020-01-01 to 2025-12-31 is not allowed: it reaches back further than the purpose allows
        P02 four years back: ok: ACTIVE ONCE level L2
        P06 to an organisation: refused: purpose P06 cannot be granted to an organisation
        P06 to the son, C3 and C7, a year: ok: ACTIVE MULTI level L2
        P07 with a personal item: refused: items ID02,ID04,ID06,IN01,IN03 are outside what purpose P07 may carry"#]].assert_eq(&check(cases));
}

#[test]
fn lifecycle_transitions() {
    let now = at("2026-03-02 10:00:00");
    let limited = create_grant(p05_draft(now)).unwrap();
    let once = create_grant(p01_draft(now)).unwrap();
    let later = now.plus(DAY_MS);
    let after_end = now.plus(31 * DAY_MS);
    let show = |label: &str, result: Result<Grant, yibao_privacy::PrivacyError>| match result {
        Ok(grant) => format!(
            "{label}: {} uses_left {:?} used {}",
            grant.status(),
            grant.uses_left(),
            grant.uses_count()
        ),
        Err(err) => format!("{label}: refused: {err}"),
    };
    let exhausted_once = once.consume(now).unwrap();
    let suspended = limited.suspend().unwrap();
    let revoked = limited.revoke().unwrap();
    let rows = [
        show("LIMITED(3) use", limited.consume(later)),
        show(
            "LIMITED(3) use x3",
            limited
                .consume(later)
                .and_then(|g| g.consume(later))
                .and_then(|g| g.consume(later)),
        ),
        show(
            "LIMITED(3) use x4",
            limited
                .consume(later)
                .and_then(|g| g.consume(later))
                .and_then(|g| g.consume(later))
                .and_then(|g| g.consume(later)),
        ),
        show("ONCE use", Ok(exhausted_once.clone())),
        show("ONCE use again", exhausted_once.consume(now)),
        show("revoke exhausted", exhausted_once.revoke()),
        show("use before not_before", limited.consume(now.plus(-1))),
        show("use at not_after", limited.consume(after_end)),
        show("revoke", Ok(revoked.clone())),
        show("revoke twice", revoked.revoke()),
        show("use revoked", revoked.consume(later)),
        show("reinstate revoked", revoked.reinstate(later)),
        show("suspend", Ok(suspended.clone())),
        show("use suspended", suspended.consume(later)),
        show("reinstate", suspended.reinstate(later)),
        show("reinstate after end", suspended.reinstate(after_end)),
        show("revoke suspended", suspended.revoke()),
        show("expire early", limited.expire(later)),
        show("expire", limited.expire(after_end)),
        show("expire suspended", suspended.expire(after_end)),
        show(
            "expire expired",
            limited.expire(after_end).and_then(|g| g.expire(after_end)),
        ),
        show("suspend exhausted", exhausted_once.suspend()),
        show("narrow to ST01", limited.narrow(&items("ST01"), later)),
        show(
            "narrow adding VS01",
            limited.narrow(&items("ST01 VS01"), later),
        ),
        show("narrow to nothing", limited.narrow(&items(""), later)),
        show(
            "narrow later end",
            limited.narrow(&items("ST01"), after_end.plus(DAY_MS)),
        ),
    ];
    expect![[r#"
        LIMITED(3) use: ACTIVE uses_left Some(2) used 1
        LIMITED(3) use x3: EXHAUSTED uses_left Some(0) used 3
        LIMITED(3) use x4: refused: cannot use a grant that is EXHAUSTED
        ONCE use: EXHAUSTED uses_left Some(0) used 1
        ONCE use again: refused: cannot use a grant that is EXHAUSTED
        revoke exhausted: refused: cannot revoke a grant that is EXHAUSTED
        use before not_before: refused: the grant is outside its validity window at 1772445599999
        use at not_after: refused: the grant is outside its validity window at 1775124000000
        revoke: REVOKED uses_left Some(3) used 0
        revoke twice: refused: cannot revoke a grant that is REVOKED
        use revoked: refused: cannot use a grant that is REVOKED
        reinstate revoked: refused: cannot reinstate a grant that is REVOKED
        suspend: SUSPENDED uses_left Some(3) used 0
        use suspended: refused: cannot use a grant that is SUSPENDED
        reinstate: ACTIVE uses_left Some(3) used 0
        reinstate after end: refused: the grant is outside its validity window at 1775124000000
        revoke suspended: REVOKED uses_left Some(3) used 0
        expire early: refused: the grant does not expire before 1775037600000
        expire: EXPIRED uses_left Some(3) used 0
        expire suspended: EXPIRED uses_left Some(3) used 0
        expire expired: refused: cannot expire a grant that is EXPIRED
        suspend exhausted: refused: cannot suspend a grant that is EXHAUSTED
        narrow to ST01: ACTIVE uses_left Some(3) used 0
        narrow adding VS01: refused: narrowing cannot widen the grant: items
        narrow to nothing: refused: the grant names no item
        narrow later end: refused: narrowing cannot widen the grant: validity"#]]
    .assert_eq(&rows.join("\n"));
    assert_eq!(limited.status_at(after_end).code(), "EXPIRED");
    assert_eq!(limited.status_at(later).code(), "ACTIVE");
}

#[test]
fn restore_checks_the_stored_state() {
    let now = at("2026-03-02 10:00:00");
    let used_twice = create_grant(p05_draft(now))
        .unwrap()
        .consume(now)
        .unwrap()
        .consume(now)
        .unwrap();
    let restored = Grant::restore(
        p05_draft(now),
        used_twice.status(),
        used_twice.uses_left(),
        2,
    )
    .unwrap();
    assert_eq!(restored, used_twice);
    use yibao_privacy::GrantStatus::*;
    assert!(Grant::restore(p05_draft(now), Active, Some(4), 0).is_err());
    assert!(Grant::restore(p05_draft(now), Active, Some(1), 1).is_err());
    assert!(Grant::restore(p05_draft(now), Active, Some(0), 3).is_err());
    assert!(Grant::restore(p05_draft(now), Exhausted, Some(0), 3).is_ok());
    assert!(Grant::restore(p05_draft(now), Active, None, 0).is_err());
}

fn facts(relation: Relation, age: u32) -> ProxyFacts {
    ProxyFacts {
        proxy: "P-PROXY".into(),
        relation,
        subject_age_years: age,
        subject_deceased: false,
        minor_holds_evoucher: false,
        minor_confirmed: false,
        court_order_verified: false,
        delegation: None,
        proxy_face_checked: false,
    }
}

#[test]
fn proxies_in_precedence_order() {
    let now = at("2026-09-01 10:00:00");
    let grant_l2 = ProxyAction::Grant {
        items: items("ST01 ST04"),
        level: Level::L2,
    };
    let view_l3 = ProxyAction::View {
        items: items("VS09"),
        level: Level::L3,
    };
    let delegation = Delegation {
        items: items("IN01 IN03 ST01 ST04"),
        not_after: now.plus(DAY_MS),
        level3_ticked: false,
        revoked: false,
    };
    let with = |mut facts: ProxyFacts, edit: &dyn Fn(&mut ProxyFacts)| {
        edit(&mut facts);
        facts
    };
    let cases: Vec<(&str, ProxyFacts, ProxyAction)> = vec![
        (
            "mother of 10 grants",
            facts(Relation::Guardian, 10),
            grant_l2.clone(),
        ),
        (
            "mother of 10 views L3 without face",
            facts(Relation::Guardian, 10),
            view_l3.clone(),
        ),
        (
            "mother of 10 views L3 with face",
            with(facts(Relation::Guardian, 10), &|f| {
                f.proxy_face_checked = true
            }),
            view_l3.clone(),
        ),
        (
            "guardian of 15 with e-voucher grants",
            with(facts(Relation::Guardian, 15), &|f| {
                f.minor_holds_evoucher = true
            }),
            grant_l2.clone(),
        ),
        (
            "guardian of 15, minor confirmed",
            with(facts(Relation::Guardian, 15), &|f| {
                f.minor_holds_evoucher = true;
                f.minor_confirmed = true;
            }),
            grant_l2.clone(),
        ),
        (
            "guardian of 15 without e-voucher",
            facts(Relation::Guardian, 15),
            grant_l2.clone(),
        ),
        (
            "guardian of 18",
            facts(Relation::Guardian, 18),
            grant_l2.clone(),
        ),
        (
            "son via family account shows code",
            facts(Relation::FamilyAccount, 72),
            ProxyAction::ShowCode,
        ),
        (
            "son via family account pays",
            facts(Relation::FamilyAccount, 72),
            ProxyAction::PayFor,
        ),
        (
            "son via family account grants",
            facts(Relation::FamilyAccount, 72),
            grant_l2.clone(),
        ),
        (
            "son via family account views",
            facts(Relation::FamilyAccount, 72),
            ProxyAction::View {
                items: items("ST01"),
                level: Level::L2,
            },
        ),
        (
            "son with P06 grants within",
            with(facts(Relation::FamilyAccount, 72), &|f| {
                f.delegation = Some(delegation.clone())
            }),
            grant_l2.clone(),
        ),
        (
            "son with P06 grants VS04",
            with(facts(Relation::FamilyAccount, 72), &|f| {
                f.delegation = Some(delegation.clone())
            }),
            ProxyAction::Grant {
                items: items("VS04"),
                level: Level::L2,
            },
        ),
        (
            "son with revoked P06",
            with(facts(Relation::Delegate, 72), &|f| {
                f.delegation = Some(Delegation {
                    revoked: true,
                    ..delegation.clone()
                })
            }),
            grant_l2.clone(),
        ),
        (
            "son with expired P06",
            with(facts(Relation::Delegate, 72), &|f| {
                f.delegation = Some(Delegation {
                    not_after: now,
                    ..delegation.clone()
                })
            }),
            grant_l2.clone(),
        ),
        (
            "delegate revokes",
            with(facts(Relation::Delegate, 72), &|f| {
                f.delegation = Some(delegation.clone())
            }),
            ProxyAction::Revoke,
        ),
        (
            "court guardian unchecked",
            facts(Relation::CourtGuardian, 50),
            grant_l2.clone(),
        ),
        (
            "court guardian checked",
            with(facts(Relation::CourtGuardian, 50), &|f| {
                f.court_order_verified = true
            }),
            grant_l2.clone(),
        ),
        (
            "relative of a living person",
            facts(Relation::RelativeOfDeceased, 80),
            ProxyAction::RequestCopyOrCorrection,
        ),
        (
            "relative of the deceased asks a copy",
            with(facts(Relation::RelativeOfDeceased, 80), &|f| {
                f.subject_deceased = true
            }),
            ProxyAction::RequestCopyOrCorrection,
        ),
        (
            "relative of the deceased grants",
            with(facts(Relation::RelativeOfDeceased, 80), &|f| {
                f.subject_deceased = true
            }),
            grant_l2.clone(),
        ),
        (
            "guardian of a deceased child",
            with(facts(Relation::Guardian, 10), &|f| {
                f.subject_deceased = true
            }),
            ProxyAction::View {
                items: items("ST01"),
                level: Level::L2,
            },
        ),
    ];
    let rows: Vec<String> = cases
        .iter()
        .map(|(label, facts, action)| match may_act(facts, action, now) {
            Ok(permit) => format!(
                "{label}: ok{}",
                if permit.staff_review {
                    " (staff review)"
                } else {
                    ""
                }
            ),
            Err(err) => format!("{label}: {err}"),
        })
        .collect();
    expect![[r#"
        mother of 10 grants: ok
        mother of 10 views L3 without face: proxy may not view records: level-3 items need the guardian's face check
        mother of 10 views L3 with face: ok
        guardian of 15 with e-voucher grants: proxy may not grant to a third party: a minor of 14 to 17 with an e-voucher must confirm a grant too
        guardian of 15, minor confirmed: ok
        guardian of 15 without e-voucher: ok
        guardian of 18: proxy may not grant to a third party: guardianship lapsed at 18; the adult must re-confirm it as a P06 delegation
        son via family account shows code: ok
        son via family account pays: ok
        son via family account grants: proxy may not grant to a third party: a family-account binding only shows the code and pays; the subject must delegate
        son via family account views: proxy may not view records: a family-account binding only shows the code and pays; the subject must delegate
        son with P06 grants within: ok
        son with P06 grants VS04: proxy may not grant to a third party: a family-account binding only shows the code and pays; the subject must delegate
        son with revoked P06: proxy may not grant to a third party: outside the delegation's items, level or validity
        son with expired P06: proxy may not grant to a third party: outside the delegation's items, level or validity
        delegate revokes: ok
        court guardian unchecked: proxy may not grant to a third party: the court order has not been checked by staff
        court guardian checked: ok
        relative of a living person: proxy may not request a copy or correction: the subject is alive
        relative of the deceased asks a copy: ok (staff review)
        relative of the deceased grants: proxy may not grant to a third party: a relative of a deceased person may ask for access, copy or correction only
        guardian of a deceased child: proxy may not view records: the subject is deceased; only a close relative's reviewed request applies"#]].assert_eq(&rows.join("\n"));
}

#[test]
fn a_proxy_grant_goes_through_the_proxy_rules() {
    let now = at("2026-09-01 10:00:00");
    let mut draft = p01_draft(now);
    draft.grantor = Grantor::Proxy(facts(Relation::FamilyAccount, 72));
    assert_eq!(
        create_grant(draft.clone()).unwrap_err().to_string(),
        "proxy may not grant to a third party: a family-account binding only shows the code and pays; the subject must delegate"
    );
    draft.grantor = Grantor::Proxy(facts(Relation::Guardian, 10));
    assert!(create_grant(draft).is_ok());
}

#[test]
fn family_accounts_and_ages() {
    assert!(check_family_binding(4).is_ok());
    assert_eq!(
        check_family_binding(5).unwrap_err().to_string(),
        "a family account holds at most 5 members"
    );
    assert_eq!(age_on(d("2016-03-02"), d("2026-03-01")), 9);
    assert_eq!(age_on(d("2016-03-02"), d("2026-03-02")), 10);
    assert_eq!(age_on(d("2012-02-29"), d("2026-02-28")), 13);
    assert_eq!(age_on(d("2012-02-29"), d("2026-03-01")), 14);
    assert_eq!(age_on(d("2030-01-01"), d("2026-03-01")), 0);
}

#[test]
fn the_purpose_catalogue() {
    let rows: Vec<String> = Purpose::ALL
        .iter()
        .map(|purpose| {
            assert_eq!(Purpose::parse(purpose.code()), Ok(*purpose));
            let rule = purpose.rule();
            for code in rule.max_items.iter() {
                assert!(yibao_privacy::builtin().item(code).is_some(), "{purpose}: {code}");
            }
            let forms: Vec<&str> = rule.output_forms.iter().map(|form| form.code()).collect();
            let items = if rule.max_items.len() == 74 {
                "all 74".to_string()
            } else {
                rule.max_items.to_string()
            };
            format!(
                "{purpose} {}: items [{items}] forms {forms:?} once={} limited<={} multi={} validity {} lookback {:?} L3 {:?}{}",
                rule.name_zh,
                rule.once,
                rule.limited_max,
                rule.multi,
                match rule.validity {
                    ValidityCap::Fixed(ms) => Span(ms).to_string(),
                    ValidityCap::PolicyEndPlus(ms) => format!("policy end + {}", Span(ms)),
                },
                rule.lookback_days,
                rule.level3,
                if rule.grantee_is_person { " (to a person)" } else { "" }
            )
        })
        .collect();
    expect![[r#"
        P01 快速核保身份核验: items [ID02,ID04,ID06,IN01,IN03] forms ["derived"] once=true limited<=0 multi=false validity 30 min lookback None L3 Never
        P02 核保健康告知核验: items [FL03,VS04] forms ["derived"] once=true limited<=0 multi=false validity 30 min lookback Some(1830) L3 Never
        P03 理赔直付（规则请进来）: items [RX01,RX02,RX03,RX04,ST01,ST02,ST03,ST04,ST07,ST08,VS01,VS02,VS03,VS04,VS09] forms ["computed"] once=false limited<=0 multi=true validity policy end + 180 d lookback None L3 InputsOnly
        P04 理赔直付（数据传输）: items [RX01,RX02,RX03,ST01,ST02,ST03,ST04,ST06,ST07,ST08,VS01,VS02,VS03,VS04,VS06] forms ["masked_fields"] once=true limited<=0 multi=true validity policy end + 180 d lookback None L3 Never
        P05 单次理赔材料调取: items [RX01,RX02,RX03,ST01,ST02,ST03,ST04,ST06,ST07,ST08,VS01,VS02,VS03,VS04,VS06] forms ["masked_fields", "fields"] once=true limited<=3 multi=false validity 30 d lookback None L3 Never
        P06 家庭代办: items [all 74] forms ["fields"] once=false limited<=0 multi=true validity 365 d lookback None L3 IfSubjectTicks (to a person)
        P07 机构信用融资: items [] forms ["computed"] once=false limited<=0 multi=true validity 365 d lookback None L3 Never"#]].assert_eq(&rows.join("\n"));
    assert!(Purpose::parse("P08").is_err());
}
