//! Builders shared by the test files: instants from text, item sets, a typical grant draft for
//! each purpose and a call context where everything is in order.

#![allow(dead_code)]

use chrono::{NaiveDate, NaiveDateTime};
use yibao_privacy::decision::{CallContext, CallRequest, Counters, GranteeState, SubjectState};
use yibao_privacy::grant::{
    DataScope, FactorKind, FactorUse, GrantDraft, Grantee, Grantor, Mode, Notice,
};
use yibao_privacy::time::MINUTE_MS;
use yibao_privacy::{ItemSet, Millis, OutputForm, Purpose};

/// `2026-03-02 10:00:00` (UTC) as an instant.
pub fn at(text: &str) -> Millis {
    let time = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap();
    Millis(time.and_utc().timestamp_millis())
}

/// A date.
pub fn d(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// `"ID02 ID04"` as a set.
pub fn items(text: &str) -> ItemSet {
    yibao_privacy::builtin().parse_items(text).unwrap()
}

/// One factor verified a minute before `consented_at`.
pub fn factor(kind: FactorKind, consented_at: Millis) -> FactorUse {
    FactorUse {
        kind,
        verified_at: consented_at.plus(-MINUTE_MS),
        evidence_ref: format!("ev-{}", kind.code()),
    }
}

/// The E1 grant draft: Insurer A, P01, ONCE, 30 minutes, e-voucher, ID04 confirmed.
pub fn p01_draft(now: Millis) -> GrantDraft {
    GrantDraft {
        grant_id: "g1".to_string(),
        subject: "P0001".to_string(),
        subject_age_years: Some(40),
        grantor: Grantor::Subject,
        grantee: Grantee::Organisation("insurer-a".to_string()),
        product_id: "A-MED-2026".to_string(),
        purpose: Purpose::P01,
        items: items("ID02 ID04 ID06 IN01 IN03"),
        confirmed_items: items("ID04"),
        separate_level3_consent: false,
        scope: DataScope::Period {
            from: d("2026-03-02"),
            to: d("2026-03-02"),
        },
        output_form: OutputForm::Derived,
        mode: Mode::Once,
        not_before: now,
        not_after: now.plus(30 * MINUTE_MS),
        policy_end: None,
        notice: Notice {
            text_version: "P01-v1".to_string(),
            text_digest: [7; 32],
            retention: "30 日".to_string(),
        },
        factors: vec![factor(FactorKind::EVoucher, now)],
        consented_at: now,
    }
}

/// A P05 draft: Insurer C, outpatient summaries ST01 ST04 for the first half of 2026,
/// LIMITED(3), 30 days, e-voucher.
pub fn p05_draft(now: Millis) -> GrantDraft {
    GrantDraft {
        grant_id: "g5".to_string(),
        subject: "P0005".to_string(),
        subject_age_years: Some(35),
        grantor: Grantor::Subject,
        grantee: Grantee::Organisation("insurer-c".to_string()),
        product_id: "C-KID-2026".to_string(),
        purpose: Purpose::P05,
        items: items("ST01 ST04"),
        confirmed_items: items("ST01 ST04"),
        separate_level3_consent: false,
        scope: DataScope::Period {
            from: d("2026-01-01"),
            to: d("2026-06-30"),
        },
        output_form: OutputForm::Fields,
        mode: Mode::Limited(3),
        not_before: now,
        not_after: now.plus(30 * 24 * 60 * MINUTE_MS),
        policy_end: None,
        notice: Notice {
            text_version: "P05-v1".to_string(),
            text_digest: [5; 32],
            retention: "90 日".to_string(),
        },
        factors: vec![factor(FactorKind::EVoucher, now)],
        consented_at: now,
    }
}

/// A call context where the grantee is in order and nothing is rate limited.
pub fn context(now: Millis) -> CallContext {
    CallContext {
        now,
        nonce_seen: false,
        grantee: GranteeState {
            signature_valid: true,
            active: true,
            purposes_enabled: Purpose::ALL.to_vec(),
        },
        subject: SubjectState::default(),
        counters: Counters::default(),
    }
}

/// A request by `grantee` at `now` for the grant's own purpose, items, scope and form.
pub fn request_like(draft: &GrantDraft, request_id: &str, now: Millis) -> CallRequest {
    let grantee = match &draft.grantee {
        Grantee::Organisation(id) | Grantee::Person(id) => id.clone(),
    };
    CallRequest {
        request_id: request_id.to_string(),
        grantee,
        endpoint_purpose: draft.purpose,
        items: draft.items.clone(),
        scope: draft.scope.clone(),
        output_form: draft.output_form,
        timestamp: now,
    }
}
