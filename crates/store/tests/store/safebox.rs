//! The person's safe box and proxies (spec data-authorization.md §7, §5.7, §12 T7): sessions
//! opened with an e-voucher and stored as HMACs, their idle and absolute ends, the fresh factor;
//! what the platform holds; proxies acting only on stored facts; pausing third-party sharing.

use chrono::NaiveDate;
use sqlx::Connection as _;
use yibao_privacy::decision::DenyCode;
use yibao_privacy::grant::{
    DataScope, FactorKind, FactorUse, GrantDraft, Grantee, Grantor, Notice,
};
use yibao_privacy::proxy::{ProxyFacts, Relation};
use yibao_privacy::{ItemSet, Millis, Mode, OutputForm, Purpose};
use yibao_store::grants::{CallQuery, GrantCall, GranteeKind, NewGrantee, TokenKey};
use yibao_store::safebox::{
    NewDelegation, NewGuardianship, SafeboxActor, SafeboxEvent, SignIn, SESSION_ABSOLUTE_MS,
    SESSION_IDLE_MS,
};
use yibao_store::{Decision, Store, StoreError};

use crate::common::*;

/// P001's e-voucher token, in force in 2025.
const P001_TOKEN: &str = "7f3a9c0e5b2d4f6a8c1e3b5d7f9a0c2e";
/// P002's token, in force in 2024 only.
const P002_TOKEN_2024: &str = "0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a";
const MINUTE: i64 = 60_000;

/// 2025-06-01 10:00:00 UTC.
fn t0() -> i64 {
    NaiveDate::from_ymd_opt(2025, 6, 1)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

fn key() -> TokenKey {
    TokenKey::from_bytes([5; 32])
}

fn items(text: &str) -> ItemSet {
    yibao_privacy::builtin().parse_items(text).unwrap()
}

async fn register(store: &Store) {
    store
        .register_grantee(
            &NewGrantee {
                grantee_id: "insurer-a".into(),
                name: "保险 A".into(),
                kind: GranteeKind::Insurer,
                public_key: yibao_gm::SigningKey::generate().unwrap().verifying_key(),
                purposes: vec![Purpose::P01],
            },
            t0(),
        )
        .await
        .unwrap();
}

/// A P01 grant of `subject`'s identity items, ONCE, given at `at` by `grantor`.
fn draft(grant_id: &str, subject: &str, grantor: Grantor, at: i64) -> GrantDraft {
    let now = Millis(at);
    GrantDraft {
        grant_id: grant_id.into(),
        subject: subject.into(),
        subject_age_years: Some(45),
        grantor,
        grantee: Grantee::Organisation("insurer-a".into()),
        product_id: "A-MED-2025".into(),
        purpose: Purpose::P01,
        items: items("ID02 ID04 IN01 IN03"),
        confirmed_items: items("ID02 ID04 IN01 IN03"),
        separate_level3_consent: false,
        scope: DataScope::Period {
            from: NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
        },
        output_form: OutputForm::Derived,
        mode: Mode::Once,
        not_before: now,
        not_after: now.plus(30 * MINUTE),
        policy_end: None,
        notice: Notice {
            text_version: "v1".into(),
            text_digest: yibao_gm::hash(b"notice"),
            retention: "30 days".into(),
        },
        factors: vec![FactorUse {
            kind: FactorKind::EVoucher,
            verified_at: now,
            evidence_ref: "ec".into(),
        }],
        consented_at: now,
    }
}

/// What a proxy claims; the store replaces it with what it knows.
fn claimed(proxy: &str) -> Grantor {
    Grantor::Proxy(ProxyFacts {
        proxy: proxy.into(),
        relation: Relation::Guardian,
        subject_age_years: 5,
        subject_deceased: false,
        minor_holds_evoucher: false,
        minor_confirmed: true,
        court_order_verified: true,
        delegation: None,
        proxy_face_checked: true,
    })
}

fn call(token: &str, request_id: &str, at: i64) -> GrantCall {
    GrantCall {
        grantee_id: "insurer-a".into(),
        signature_valid: true,
        timestamp_ms: at,
        nonce: format!("n-{request_id}"),
        request_id: request_id.into(),
        request_digest: yibao_gm::hash(request_id.as_bytes()),
        action: "POST /open/v1/identity-checks".into(),
        purpose: Purpose::P01,
        token: token.into(),
        items: None,
        scope: None,
        output_form: None,
        query: CallQuery::IdentityCheck {
            name: "张三".into(),
            id_number_sm3: "00".repeat(32),
        },
    }
}

#[tokio::test]
async fn sessions_open_with_an_evoucher_and_end_idle_absolute_or_signed_out() {
    on_both(|db| async move {
        imported(&db).await;
        let store = &db.store;
        for bad in ["ffffffffffffffffffffffffffffffff", P002_TOKEN_2024] {
            let denied = store.safebox_sign_in(bad, &key(), t0()).await.unwrap();
            assert!(matches!(denied, SignIn::Denied { .. }), "{}", db.label);
        }
        assert!(matches!(
            store.safebox_sign_in("x y", &key(), t0()).await,
            Err(StoreError::BadInput { .. })
        ));
        let SignIn::Opened { token, session, .. } = store
            .safebox_sign_in(P001_TOKEN, &key(), t0())
            .await
            .unwrap()
        else {
            panic!("P001 signs in");
        };
        assert_eq!(session.psn_no, "P001");
        // Only the HMAC is stored.
        let sql = "SELECT session_mac FROM safebox_session";
        let stored: Vec<(String,)> = if db.label == "postgres" {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap()
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap()
        };
        assert_eq!(stored.len(), 1);
        assert!(stored.iter().all(|(mac,)| !mac.contains(&token)));
        // Used every 20 minutes, it lives until 8 hours; then it is gone.
        let mut at = t0();
        while at + 20 * MINUTE < t0() + SESSION_ABSOLUTE_MS {
            at += 20 * MINUTE;
            assert!(store
                .safebox_session(&token, &key(), at)
                .await
                .unwrap()
                .is_some());
        }
        assert!(store
            .safebox_session(&token, &key(), t0() + SESSION_ABSOLUTE_MS)
            .await
            .unwrap()
            .is_none());
        // Idle for 30 minutes: gone.
        let SignIn::Opened { token, session, .. } = store
            .safebox_sign_in(P001_TOKEN, &key(), t0())
            .await
            .unwrap()
        else {
            panic!("P001 signs in again");
        };
        assert!(session.has_fresh_factor(t0() + 5 * MINUTE));
        assert!(!session.has_fresh_factor(t0() + 6 * MINUTE));
        assert!(store
            .safebox_session(&token, &key(), t0() + SESSION_IDLE_MS)
            .await
            .unwrap()
            .is_none());
        // A fresh factor must be the same person's token; signing out ends the session.
        let SignIn::Opened { token, session, .. } = store
            .safebox_sign_in(P001_TOKEN, &key(), t0())
            .await
            .unwrap()
        else {
            panic!("P001 signs in a third time");
        };
        assert!(store
            .safebox_confirm_factor(&session, &token, P002_TOKEN_2024, &key(), t0() + MINUTE)
            .await
            .is_err());
        let renewed = store
            .safebox_confirm_factor(&session, &token, P001_TOKEN, &key(), t0() + 7 * MINUTE)
            .await
            .unwrap();
        assert_eq!(renewed.factor_at_ms, t0() + 7 * MINUTE);
        assert!(store
            .safebox_sign_out(&token, &key(), t0() + 8 * MINUTE)
            .await
            .unwrap());
        assert!(!store
            .safebox_sign_out(&token, &key(), t0() + 8 * MINUTE)
            .await
            .unwrap());
        assert!(store
            .safebox_session(&token, &key(), t0() + 9 * MINUTE)
            .await
            .unwrap()
            .is_none());
        // Every sign-in, refusal, factor and sign-out is in the log; P001's are in P001's index.
        assert!(store.person_leaves("P001").await.unwrap().len() >= 6);
        db
    })
    .await;
}

#[tokio::test]
async fn holdings_name_tables_and_cheap_values_after_their_leaf() {
    on_both(|db| async move {
        imported(&db).await;
        let event = SafeboxEvent {
            ts_ms: t0(),
            who: SafeboxActor::own("P001"),
            relation: String::new(),
            event: "safebox.view".into(),
            action: "GET /self/v1/data".into(),
            decision: Decision::Permit,
            detail: String::new(),
        };
        let held = db.store.safebox_holdings(&event).await.unwrap();
        let rows = |table: &str| held.tables.iter().find(|t| t.table == table).unwrap().rows;
        assert_eq!(rows("person"), 1);
        assert_eq!(rows("insurance"), 1);
        assert_eq!(rows("family_binding"), 1);
        assert_eq!(rows("settlement"), 0);
        let value = |field: &str| {
            held.values
                .iter()
                .find(|(f, _)| f == field)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(value("person.psn_name"), vec!["张三".to_owned()]);
        assert_eq!(value("insurance.insutype"), vec!["310".to_owned()]);
        assert_eq!(value("settlement.medfee_sumamt"), vec!["0".to_owned()]);
        assert_eq!(held.age_years, Some(45));
        assert!(db
            .store
            .person_leaves("P001")
            .await
            .unwrap()
            .contains(&held.leaf_idx));
        db
    })
    .await;
}

#[tokio::test]
async fn issue15_t7_proxies_act_only_on_stored_facts() {
    on_both(|db| async move {
        imported(&db).await;
        let store = &db.store;
        register(store).await;
        // P002 is bound to P001's family account: show the code and pay, nothing more.
        let facts = store.proxy_facts("P002", "P001", t0()).await.unwrap().unwrap();
        assert_eq!(facts.relation, Relation::FamilyAccount);
        let refused = store
            .give_grant(draft("g1", "P001", claimed("P002"), t0()), &key())
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, StoreError::Refused { field, reason } if field == "grantor" && reason.contains("family-account")),
            "{refused}"
        );
        assert!(store.proxy_facts("P003", "P001", t0()).await.unwrap().is_none());
        // P001 delegates identity items to P002: now P002 may grant them, and the grant's leaf
        // shows in both safe boxes.
        let delegation = store
            .delegate(&NewDelegation {
                delegation_id: "d1".into(),
                subject: "P001".into(),
                proxy: "P002".into(),
                items: items("ID02 ID04 IN01 IN03"),
                level3_ticked: false,
                not_before_ms: t0(),
                not_after_ms: t0() + 30 * 86_400_000,
                factor_at_ms: t0(),
                now_ms: t0(),
            })
            .await
            .unwrap();
        let given = store
            .give_grant(draft("g2", "P001", claimed("P002"), t0() + MINUTE), &key())
            .await
            .unwrap();
        let leaf = given.record.created_leaf;
        assert!(store.person_leaves("P001").await.unwrap().contains(&leaf));
        assert!(store.safebox_leaf_is_theirs("P002", leaf).await.unwrap());
        assert!(!store.safebox_leaf_is_theirs("P003", leaf).await.unwrap());
        let family = store.family_of("P001", t0() + MINUTE).await.unwrap();
        assert!(family
            .actions
            .iter()
            .any(|a| a.leaf_idx == leaf && a.proxy == "P002" && a.relation == "delegate"));
        // Items outside the delegation stay refused.
        let mut wider = draft("g3", "P001", claimed("P002"), t0() + MINUTE);
        wider.items = items("ID02 ID04 IN01 IN03 ID06");
        wider.confirmed_items = wider.items.clone();
        assert!(store.give_grant(wider, &key()).await.is_err());
        // Ended: refused again; a stranger cannot end it.
        assert!(matches!(
            store.end_delegation("d1", "P003", t0() + 2 * MINUTE).await,
            Err(StoreError::NotFound { .. })
        ));
        store
            .end_delegation(&delegation.delegation_id, "P001", t0() + 2 * MINUTE)
            .await
            .unwrap();
        assert!(store
            .give_grant(draft("g4", "P001", claimed("P002"), t0() + 3 * MINUTE), &key())
            .await
            .is_err());
        // A guardianship of someone now 25 lapsed at 18 (P005 was born in 2000).
        store
            .record_guardianship(
                &NewGuardianship {
                    subject: "P005".into(),
                    guardian: "P004".into(),
                    court: false,
                    document_no: "户口簿-1".into(),
                    verified_by: 1,
                },
                t0(),
            )
            .await
            .unwrap();
        let lapsed = store
            .give_grant(draft("g5", "P005", claimed("P004"), t0() + 3 * MINUTE), &key())
            .await
            .unwrap_err();
        assert!(lapsed.to_string().contains("lapsed at 18"), "{lapsed}");
        // A delegation needs a fresh factor and may not name oneself.
        let stale = NewDelegation {
            delegation_id: "d2".into(),
            subject: "P001".into(),
            proxy: "P003".into(),
            items: items("ID02"),
            level3_ticked: false,
            not_before_ms: t0() + 10 * MINUTE,
            not_after_ms: t0() + 86_400_000,
            factor_at_ms: t0(),
            now_ms: t0() + 10 * MINUTE,
        };
        assert!(matches!(
            store.delegate(&stale).await,
            Err(StoreError::Refused { .. })
        ));
        let own = NewDelegation {
            proxy: "P001".into(),
            factor_at_ms: t0() + 10 * MINUTE,
            ..stale
        };
        assert!(matches!(
            store.delegate(&own).await,
            Err(StoreError::BadInput { .. })
        ));
        db
    })
    .await;
}

#[tokio::test]
async fn paused_sharing_refuses_every_call_until_resumed() {
    on_both(|db| async move {
        imported(&db).await;
        let store = &db.store;
        register(store).await;
        let given = store
            .give_grant(draft("g1", "P001", Grantor::Subject, t0()), &key())
            .await
            .unwrap();
        let event = |at: i64, name: &str| SafeboxEvent {
            ts_ms: at,
            who: SafeboxActor::own("P001"),
            relation: String::new(),
            event: name.into(),
            action: "POST /self/v1/sharing/pause".into(),
            decision: Decision::Permit,
            detail: String::new(),
        };
        assert!(store
            .set_sharing_paused(&event(t0(), "sharing.paused"), true)
            .await
            .unwrap());
        assert!(store.sharing_paused("P001").await.unwrap());
        let refused = store
            .grant_call(
                &call(&given.token, "r1", t0() + 1_000),
                &key(),
                t0() + 1_000,
            )
            .await
            .unwrap();
        assert_eq!(refused.code, Some(DenyCode::GrantInvalid));
        store
            .set_sharing_paused(&event(t0() + 2_000, "sharing.resumed"), false)
            .await
            .unwrap();
        assert!(!store.sharing_paused("P001").await.unwrap());
        let answered = store
            .grant_call(
                &call(&given.token, "r2", t0() + 3_000),
                &key(),
                t0() + 3_000,
            )
            .await
            .unwrap();
        assert_eq!(answered.code, None, "{}", answered.body);
        // Nothing was consumed by the refused call.
        let stored = store.grant("g1", &key()).await.unwrap().unwrap();
        assert_eq!(stored.grant.uses_count(), 1);
        db
    })
    .await;
}
