//! Staff access (§11): masking per item and view, separation of duties, and the staff read
//! decision in precedence order, with break-glass.

mod support;

use expect_test::expect;
use support::{at, items};
use yibao_privacy::classification::item;
use yibao_privacy::staff::{
    apply_mask, check_approver, check_review_step, check_roles, decide_staff_read, mask, mask_rule,
    start_break_glass, Access, BreakGlassReason, Reveal, ReviewStep, StaffContext, StaffDecision,
    StaffRead, StaffRole, View,
};
use yibao_privacy::time::MINUTE_MS;
use yibao_privacy::Level;

#[test]
fn masks_per_item_and_view() {
    let values = [
        ("ID02", "张三丰"),
        ("ID02", "欧阳娜娜"),
        ("ID04", "110101199003071234"),
        ("ID09", "A12345678"),
        ("CT01", "13812345678"),
        ("CT02", "山东省青岛市市南区香港中路街道10号"),
        ("CT03", "青岛市崂山区沙子口镇东麦窑村"),
        ("CT02", "某地某处"),
        ("AC05", "6222020200112233445"),
        ("VS04", "J18.900"),
        ("ST01", "50000.00"),
        ("IN01", "310"),
        ("VS09", "B20.100"),
        ("ID04", "123"),
    ];
    let rows: Vec<String> = values
        .iter()
        .map(|(code, value)| {
            let code = item(code);
            format!(
                "{code} {value}: list {} | case {} | revealed {}",
                mask(code, value, View::List),
                mask(code, value, View::Case),
                mask(code, value, View::Revealed)
            )
        })
        .collect();
    expect![[r#"
        ID02 张三丰: list 张** | case 张三丰 | revealed 张三丰
        ID02 欧阳娜娜: list 欧*** | case 欧阳娜娜 | revealed 欧阳娜娜
        ID04 110101199003071234: list **************1234 | case 110***********1234 | revealed 110101199003071234
        ID09 A12345678: list **** | case *****5678 | revealed A12345678
        CT01 13812345678: list 138****5678 | case 138****5678 | revealed 13812345678
        CT02 山东省青岛市市南区香港中路街道10号: list 山东省青岛市市南区 | case 山东省青岛市市南区香港中路 | revealed 山东省青岛市市南区香港中路街道10号
        CT03 青岛市崂山区沙子口镇东麦窑村: list 青岛市崂山区 | case 青岛市崂山区沙子口镇 | revealed 青岛市崂山区沙子口镇东麦窑村
        CT02 某地某处: list **** | case **** | revealed 某地某处
        AC05 6222020200112233445: list ***************3445 | case ***************3445 | revealed 6222020200112233445
        VS04 J18.900: list J18 | case J18.900 | revealed J18.900
        ST01 50000.00: list **** | case 50000.00 | revealed 50000.00
        IN01 310: list 310 | case 310 | revealed 310
        VS09 B20.100: list 受限 | case 受限 | revealed B20.100
        ID04 123: list *** | case *** | revealed 123"#]].assert_eq(&rows.join("\n"));
}

#[test]
fn clinical_items_for_non_clinical_roles_and_escalated_values() {
    let vs04 = item("VS04");
    assert_eq!(
        apply_mask(mask_rule(vs04, Level::L2, View::Case, false), "E11.900"),
        "E11"
    );
    assert_eq!(
        apply_mask(mask_rule(vs04, Level::L2, View::Case, true), "E11.900"),
        "E11.900"
    );
    // An HIV code in the record lifts VS04 to L3: restricted in every view but a reveal.
    assert_eq!(
        apply_mask(mask_rule(vs04, Level::L3, View::Case, true), "B20.100"),
        "受限"
    );
    assert_eq!(
        apply_mask(mask_rule(vs04, Level::L3, View::List, true), "B20.100"),
        "受限"
    );
}

#[test]
fn static_separation_of_duties() {
    use StaffRole::*;
    let sets: Vec<Vec<StaffRole>> = vec![
        vec![Reviewer, SeniorReviewer, FinalReviewer, FrontDesk],
        vec![SystemAdministrator, Admin],
        vec![SystemAdministrator, SecurityAdministrator],
        vec![SecurityAdministrator, SecurityAuditor],
        vec![SecurityAuditor, Auditor],
        vec![Reviewer, Finance],
        vec![Inspector, Reviewer],
        vec![Finance, Admin],
        vec![Institution, Reviewer],
        vec![Inspector],
    ];
    let rows: Vec<String> = sets
        .iter()
        .map(|roles| {
            let names: Vec<&str> = roles.iter().map(|role| role.code()).collect();
            match check_roles(roles) {
                Ok(()) => format!("{}: ok", names.join("+")),
                Err(err) => format!("{}: {err}", names.join("+")),
            }
        })
        .collect();
    expect![[r#"
        reviewer+senior_reviewer+final_reviewer+front_desk: ok
        system_admin+admin: ok
        system_admin+security_admin: roles system_admin and security_admin may not be held by one person
        security_admin+security_auditor: roles security_admin and security_auditor may not be held by one person
        security_auditor+auditor: ok
        reviewer+finance: roles reviewer and finance may not be held by one person
        inspector+reviewer: roles inspector and reviewer may not be held by one person
        finance+admin: roles finance and admin may not be held by one person
        institution+reviewer: roles institution and reviewer may not be held by one person
        inspector: ok"#]].assert_eq(&rows.join("\n"));
    for role in StaffRole::ALL {
        assert_eq!(StaffRole::parse(role.code()), Some(role));
    }
}

/// A review step: label, the case's history, the step, the actor, the actor's roles.
type StepCase<'a> = (
    &'a str,
    Vec<(ReviewStep, String)>,
    ReviewStep,
    &'a str,
    Vec<StaffRole>,
);

#[test]
fn dynamic_separation_of_duties() {
    use ReviewStep::*;
    use StaffRole::*;
    let done = |steps: &[(ReviewStep, &str)]| -> Vec<(ReviewStep, String)> {
        steps
            .iter()
            .map(|(step, who)| (*step, who.to_string()))
            .collect()
    };
    let cases: Vec<StepCase> = vec![
        (
            "first by a reviewer",
            done(&[]),
            First,
            "r1",
            vec![Reviewer],
        ),
        (
            "first by a senior reviewer only",
            done(&[]),
            First,
            "s1",
            vec![SeniorReviewer],
        ),
        (
            "first twice",
            done(&[(First, "r1")]),
            First,
            "r2",
            vec![Reviewer],
        ),
        (
            "second before first",
            done(&[]),
            Second,
            "s1",
            vec![SeniorReviewer],
        ),
        (
            "second by the first reviewer",
            done(&[(First, "r1")]),
            Second,
            "r1",
            vec![Reviewer, SeniorReviewer],
        ),
        (
            "second by another",
            done(&[(First, "r1")]),
            Second,
            "s1",
            vec![SeniorReviewer],
        ),
        (
            "final by the second reviewer",
            done(&[(First, "r1"), (Second, "s1")]),
            Final,
            "s1",
            vec![SeniorReviewer, FinalReviewer],
        ),
        (
            "final by the first reviewer",
            done(&[(First, "r1"), (Second, "s1")]),
            Final,
            "r1",
            vec![Reviewer, FinalReviewer],
        ),
        (
            "final by a third person",
            done(&[(First, "r1"), (Second, "s1")]),
            Final,
            "f1",
            vec![FinalReviewer],
        ),
    ];
    let rows: Vec<String> = cases
        .iter()
        .map(|(label, history, step, actor, roles)| {
            match check_review_step(history, *step, actor, roles) {
                Ok(()) => format!("{label}: ok"),
                Err(err) => format!("{label}: {err}"),
            }
        })
        .collect();
    expect![[r#"
        first by a reviewer: ok
        first by a senior reviewer only: first review of this case refused: the actor does not hold the step's role
        first twice: first review of this case refused: the step was already taken
        second before first: second review of this case refused: the previous step has not been taken
        second by the first reviewer: second review of this case refused: the actor took an earlier step of this case
        second by another: ok
        final by the second reviewer: final review of this case refused: the actor took an earlier step of this case
        final by the first reviewer: final review of this case refused: the actor took an earlier step of this case
        final by a third person: ok"#]].assert_eq(&rows.join("\n"));
    assert!(check_approver("clerk-1", "clerk-2").is_ok());
    assert!(check_approver("clerk-1", "clerk-1").is_err());
}

fn read(roles: Vec<StaffRole>) -> StaffRead {
    StaffRead {
        actor: "inspector-7".into(),
        roles,
        subject_ref: "subj-father".into(),
        items: items("ID02 ID04 ST01"),
        level: Level::L2,
        purpose_code: "JH01".into(),
        reveal: None,
    }
}

fn staff_context(now: yibao_privacy::Millis, access: Access) -> StaffContext {
    StaffContext {
        now,
        access,
        actor_region: "370200".into(),
        subject_region: "370202".into(),
        on_private_network: true,
        reveals_today: 0,
        actor_subject_ref: "subj-inspector".into(),
        related_refs: vec!["subj-inspector-mother".into()],
    }
}

#[test]
fn staff_reads_in_precedence_order() {
    let now = at("2026-09-02 09:00:00");
    let case = Access::Case {
        case_id: "JH-2026-001".into(),
        subject_ref: "subj-father".into(),
        assigned_to: "inspector-7".into(),
        opened_by: "supervisor-1".into(),
        open: true,
    };
    let session = |started| Access::ServiceSession {
        subject_ref: "subj-father".into(),
        started,
    };
    let inspector = || read(vec![StaffRole::Inspector]);
    let reveal = |reason: &str, approved| {
        Some(Reveal {
            reason: reason.into(),
            supervisor_approved: approved,
        })
    };
    type Edit<'a> = &'a dyn Fn(&mut StaffRead, &mut StaffContext);
    let run = |label: &str, edit: Edit| {
        let mut r = inspector();
        let mut c = staff_context(now, case.clone());
        edit(&mut r, &mut c);
        let shown = match decide_staff_read(&r, &c) {
            StaffDecision::Permit(permit) => format!(
                "PERMIT view={:?} clinical={} until={:?} break_glass={} notify={}",
                permit.view,
                permit.clinical,
                permit.until.map(|t| t.since(now) / MINUTE_MS),
                permit.break_glass,
                permit.notify_subject
            ),
            StaffDecision::Deny(reason) => format!("DENY {}", reason.code()),
        };
        format!("{label}: {shown}")
    };
    let rows = [
        run("inspector on an assigned case", &|_, _| {}),
        run("no purpose", &|r, _| r.purpose_code = " ".into()),
        run("system administrator", &|r, _| {
            r.roles = vec![StaffRole::SystemAdministrator]
        }),
        run("security auditor", &|r, _| {
            r.roles = vec![StaffRole::SecurityAuditor]
        }),
        run("institution user", &|r, _| {
            r.roles = vec![StaffRole::Institution]
        }),
        run("from the internet", &|_, c| c.on_private_network = false),
        run("subject in another city", &|_, c| {
            c.subject_region = "370102".into()
        }),
        run("provincial staff", &|_, c| c.actor_region = "370000".into()),
        run("own record", &|r, c| {
            r.subject_ref = c.actor_subject_ref.clone()
        }),
        run("own mother", &|r, _| {
            r.subject_ref = "subj-inspector-mother".into()
        }),
        run("no case", &|_, c| c.access = Access::None),
        run("case closed", &|_, c| {
            if let Access::Case { open, .. } = &mut c.access {
                *open = false;
            }
        }),
        run("case of someone else", &|_, c| {
            if let Access::Case { assigned_to, .. } = &mut c.access {
                *assigned_to = "inspector-8".into();
            }
        }),
        run("case she opened herself", &|_, c| {
            if let Access::Case { opened_by, .. } = &mut c.access {
                *opened_by = "inspector-7".into();
            }
        }),
        run("front desk, session 10 min old", &|r, c| {
            r.roles = vec![StaffRole::FrontDesk];
            c.access = session(now.plus(-10 * MINUTE_MS));
        }),
        run("front desk, session 30 min old", &|r, c| {
            r.roles = vec![StaffRole::FrontDesk];
            c.access = session(now.plus(-30 * MINUTE_MS));
        }),
        run("finance on a case", &|r, c| {
            r.roles = vec![StaffRole::Finance];
            r.actor = "finance-1".into();
            if let Access::Case { assigned_to, .. } = &mut c.access {
                *assigned_to = "finance-1".into();
            }
        }),
        run("reveal without reason", &|r, _| {
            r.reveal = reveal("", false)
        }),
        run("reveal at the daily cap", &|r, c| {
            r.reveal = reveal("核对身份", false);
            c.reveals_today = 20;
        }),
        run("reveal bank account", &|r, _| {
            r.items = items("AC05");
            r.reveal = reveal("核对退款账户", false);
        }),
        run("reveal L2 with reason", &|r, _| {
            r.reveal = reveal("核对身份", false)
        }),
        run("reveal L3 without supervisor", &|r, _| {
            r.level = Level::L3;
            r.reveal = reveal("核查诊断", false);
        }),
        run("reveal L3 with supervisor", &|r, _| {
            r.level = Level::L3;
            r.reveal = reveal("核查诊断", true);
        }),
        run("read L3 masked", &|r, _| r.level = Level::L3),
    ];
    expect![[r#"
        inspector on an assigned case: PERMIT view=Case clinical=true until=None break_glass=false notify=false
        no purpose: DENY NO_PURPOSE
        system administrator: DENY ROLE_MAY_NOT_READ
        security auditor: DENY ROLE_MAY_NOT_READ
        institution user: DENY ROLE_MAY_NOT_READ
        from the internet: DENY OFF_NETWORK
        subject in another city: DENY OUTSIDE_REGION
        provincial staff: PERMIT view=Case clinical=true until=None break_glass=false notify=false
        own record: DENY CONFLICT_OF_INTEREST
        own mother: DENY CONFLICT_OF_INTEREST
        no case: DENY NO_OPEN_CASE
        case closed: DENY NO_OPEN_CASE
        case of someone else: DENY NO_OPEN_CASE
        case she opened herself: DENY SELF_OPENED_CASE
        front desk, session 10 min old: PERMIT view=Case clinical=false until=Some(20) break_glass=false notify=false
        front desk, session 30 min old: DENY SESSION_EXPIRED
        finance on a case: PERMIT view=Case clinical=false until=None break_glass=false notify=false
        reveal without reason: DENY REVEAL_NEEDS_REASON
        reveal at the daily cap: DENY REVEAL_CAP_REACHED
        reveal bank account: DENY REVEAL_ROLE_NOT_ALLOWED
        reveal L2 with reason: PERMIT view=Revealed clinical=true until=None break_glass=false notify=false
        reveal L3 without supervisor: DENY REVEAL_NEEDS_SUPERVISOR
        reveal L3 with supervisor: PERMIT view=Revealed clinical=true until=None break_glass=false notify=true
        read L3 masked: PERMIT view=Case clinical=true until=None break_glass=false notify=false"#]].assert_eq(&rows.join("\n"));
}

#[test]
fn break_glass() {
    let now = at("2026-09-02 21:00:00");
    let fraud = || BreakGlassReason::FraudInProgress;
    let starts = [
        (
            "reviewer",
            start_break_glass("r1", &[StaffRole::Reviewer], "s", fraud(), "线索", now),
        ),
        (
            "inspector, no text",
            start_break_glass("i1", &[StaffRole::Inspector], "s", fraud(), " ", now),
        ),
        (
            "police without document",
            start_break_glass(
                "i1",
                &[StaffRole::Inspector],
                "s",
                BreakGlassReason::CourtOrPolice("".into()),
                "协查",
                now,
            ),
        ),
        (
            "senior clerk",
            start_break_glass(
                "s1",
                &[StaffRole::SeniorReviewer],
                "s",
                fraud(),
                "线索",
                now,
            ),
        ),
    ];
    let rows: Vec<String> = starts
        .iter()
        .map(|(label, result)| match result {
            Ok(glass) => format!(
                "{label}: ok for {} min",
                glass.until.since(glass.started) / MINUTE_MS
            ),
            Err(err) => format!("{label}: {err}"),
        })
        .collect();
    expect![[r#"
        reviewer: break-glass refused: only inspectors and senior clerks may
        inspector, no text: break-glass refused: the reason text is empty
        police without document: break-glass refused: a court or police request needs its document number
        senior clerk: ok for 120 min"#]].assert_eq(&rows.join("\n"));
}
