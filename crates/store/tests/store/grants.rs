//! Grants and data calls (spec data-authorization.md §5, §6.3, §12 T1–T3, T6): give, use,
//! exhaust, revoke, expire, replay, LIMITED(3) under 20 concurrent calls, a foreign token, and
//! no data without a log leaf.

use chrono::NaiveDate;
use serde_json::Value;
use sqlx::Connection as _;
use yibao_privacy::decision::DenyCode;
use yibao_privacy::grant::{
    DataScope, FactorKind, FactorUse, GrantDraft, Grantee, Grantor, Notice,
};
use yibao_privacy::time::{DAY_MS, MINUTE_MS};
use yibao_privacy::{GrantStatus, ItemSet, Millis, Mode, OutputForm, Purpose};
use yibao_store::grants::{CallQuery, ClaimRule, GrantCall, GranteeKind, NewGrantee, TokenKey};
use yibao_store::Store;

use crate::common::*;

/// 2026-03-02 10:00:00 UTC.
fn t0() -> i64 {
    NaiveDate::from_ymd_opt(2026, 3, 2)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

fn key() -> TokenKey {
    TokenKey::from_bytes([42; 32])
}

fn items(text: &str) -> ItemSet {
    yibao_privacy::builtin().parse_items(text).unwrap()
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

async fn register(store: &Store, grantee_id: &str, purposes: &[Purpose]) {
    let signing = yibao_gm::SigningKey::generate().unwrap();
    store
        .register_grantee(
            &NewGrantee {
                grantee_id: grantee_id.into(),
                name: format!("{grantee_id} 保险"),
                kind: GranteeKind::Insurer,
                public_key: signing.verifying_key(),
                purposes: purposes.to_vec(),
            },
            t0(),
        )
        .await
        .unwrap();
}

/// E1: P01 for P001 to `grantee`, ONCE, 30 minutes, e-voucher.
fn p01(grant_id: &str, grantee: &str) -> GrantDraft {
    let now = Millis(t0());
    GrantDraft {
        grant_id: grant_id.into(),
        subject: "P001".into(),
        subject_age_years: Some(46),
        grantor: Grantor::Subject,
        grantee: Grantee::Organisation(grantee.into()),
        product_id: "A-MED-2026".into(),
        purpose: Purpose::P01,
        items: items("ID02 ID04 ID06 IN01 IN03"),
        confirmed_items: items("ID04"),
        separate_level3_consent: false,
        scope: DataScope::Period {
            from: day("2026-03-02"),
            to: day("2026-03-02"),
        },
        output_form: OutputForm::Derived,
        mode: Mode::Once,
        not_before: now,
        not_after: now.plus(30 * MINUTE_MS),
        policy_end: None,
        notice: Notice {
            text_version: "P01-v1".into(),
            text_digest: yibao_gm::hash("核实您的身份与参保状态".as_bytes()),
            retention: "30 日".into(),
        },
        factors: vec![FactorUse {
            kind: FactorKind::EVoucher,
            verified_at: now.plus(-MINUTE_MS),
            evidence_ref: "ec-1".into(),
        }],
        consented_at: now,
    }
}

/// E3: P05 for P001, settlement summaries ST01 ST04 of 2026 H1, LIMITED(3), 30 days.
fn p05(grant_id: &str, grantee: &str) -> GrantDraft {
    GrantDraft {
        grant_id: grant_id.into(),
        purpose: Purpose::P05,
        product_id: "C-KID-2026".into(),
        items: items("ST01 ST04"),
        confirmed_items: items("ST01 ST04"),
        scope: DataScope::Period {
            from: day("2026-01-01"),
            to: day("2026-06-30"),
        },
        output_form: OutputForm::Fields,
        mode: Mode::Limited(3),
        not_after: Millis(t0()).plus(30 * DAY_MS),
        ..p01(grant_id, grantee)
    }
}

fn identity_query() -> CallQuery {
    CallQuery::IdentityCheck {
        name: "张三".into(),
        id_number_sm3: hex(&yibao_gm::hash(b"140502198001011234")),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A verified call at `now` with its own nonce.
fn call(
    grantee: &str,
    token: &str,
    request_id: &str,
    purpose: Purpose,
    query: CallQuery,
) -> GrantCall {
    GrantCall {
        grantee_id: grantee.into(),
        signature_valid: true,
        timestamp_ms: t0(),
        nonce: format!("n-{request_id}"),
        request_id: request_id.into(),
        request_digest: yibao_gm::hash(request_id.as_bytes()),
        action: "POST /open/v1/test".into(),
        purpose,
        token: token.into(),
        items: None,
        scope: None,
        output_form: None,
        query,
    }
}

fn body(answer: &yibao_store::grants::CallAnswer) -> Value {
    serde_json::from_str(&answer.body).unwrap()
}

async fn setup(db: &TestDb) {
    imported(db).await;
    register(&db.store, "insurer-a", &[Purpose::P01, Purpose::P05]).await;
    register(&db.store, "insurer-b", &[Purpose::P01, Purpose::P05]).await;
}

#[tokio::test]
async fn once_grant_answers_derived_items_then_is_exhausted() {
    on_both(|db| async move {
        setup(&db).await;
        let store = &db.store;
        let given = store.give_grant(p01("g1", "insurer-a"), &key()).await.unwrap();
        assert_eq!(given.token.len(), 64, "{}", db.label);
        assert_eq!(given.record.grant.uses_left(), Some(1));

        let first = store
            .grant_call(&call("insurer-a", &given.token, "u-1", Purpose::P01, identity_query()), &key(), t0() + 1_000)
            .await
            .unwrap();
        assert_eq!(first.code, None, "{}: {}", db.label, first.body);
        let answer = body(&first);
        assert_eq!(answer["items"], serde_json::json!(["ID02", "ID04", "ID06", "IN01", "IN03"]));
        assert_eq!(
            answer["answer"],
            serde_json::json!({"name_matches": true, "id_matches": true, "adult": true, "insured": true, "insutype": "310"}),
            "{}",
            db.label
        );
        assert_eq!(answer["sub"].as_str().unwrap().len(), 26);

        // A retry of u-1 (new nonce) gets the stored answer and consumes nothing.
        let mut retry = call("insurer-a", &given.token, "u-1", Purpose::P01, identity_query());
        retry.nonce = "n-u-1-retry".into();
        let again = store.grant_call(&retry, &key(), t0() + 2_000).await.unwrap();
        assert!(again.replayed);
        assert_eq!(again.body, first.body);

        // A new request id: the grant has no use left.
        let second = store
            .grant_call(&call("insurer-a", &given.token, "u-2", Purpose::P01, identity_query()), &key(), t0() + 3_000)
            .await
            .unwrap();
        assert_eq!(second.code, Some(DenyCode::GrantExhausted), "{}", second.body);
        let stored = store.grant("g1", &key()).await.unwrap().unwrap();
        assert_eq!(stored.grant.status(), GrantStatus::Exhausted);
        assert_eq!(stored.grant.uses_count(), 1);
        assert!(second.log_ref > first.log_ref, "{}", db.label);
        // Both calls' records become leaves after the grant's own, in the order they committed.
        assert_eq!(store.call_leaf(first.log_ref).await.unwrap(), None);
        store.drain_outbox().await.unwrap();
        let first_leaf = store.call_leaf(first.log_ref).await.unwrap().unwrap();
        let second_leaf = store.call_leaf(second.log_ref).await.unwrap().unwrap();
        assert!(second_leaf > first_leaf && first_leaf > stored.created_leaf, "{}", db.label);
        db
    })
    .await;
}

#[tokio::test]
async fn limited_three_gives_exactly_three_permits_to_twenty_concurrent_calls() {
    on_both(|db| async move {
        setup(&db).await;
        let given = db
            .store
            .give_grant(p05("g5", "insurer-a"), &key())
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for n in 0..20 {
            let store = db.store.clone();
            let token = given.token.clone();
            tasks.push(tokio::spawn(async move {
                let c = call(
                    "insurer-a",
                    &token,
                    &format!("c-{n}"),
                    Purpose::P05,
                    CallQuery::Settlements,
                );
                store.grant_call(&c, &key(), t0() + 1_000).await.unwrap()
            }));
        }
        let mut permits = 0;
        let mut exhausted = 0;
        for task in tasks {
            match task.await.unwrap().code {
                None => permits += 1,
                Some(DenyCode::GrantExhausted) => exhausted += 1,
                Some(other) => panic!("{}: unexpected {other}", db.label),
            }
        }
        assert_eq!((permits, exhausted), (3, 17), "{}", db.label);
        let stored = db.store.grant("g5", &key()).await.unwrap().unwrap();
        assert_eq!(stored.grant.uses_left(), Some(0));
        assert_eq!(stored.grant.status(), GrantStatus::Exhausted);
        db
    })
    .await;
}

#[tokio::test]
async fn revoked_expired_foreign_and_unknown_tokens_are_all_grant_invalid() {
    on_both(|db| async move {
        setup(&db).await;
        let store = &db.store;
        let a = store
            .give_grant(p05("ga", "insurer-a"), &key())
            .await
            .unwrap();
        let b = store
            .give_grant(p05("gb", "insurer-a"), &key())
            .await
            .unwrap();

        // Insurer B presents A's token; then a token nobody was given.
        let foreign = store
            .grant_call(
                &call(
                    "insurer-b",
                    &a.token,
                    "f-1",
                    Purpose::P05,
                    CallQuery::Settlements,
                ),
                &key(),
                t0(),
            )
            .await
            .unwrap();
        let unknown_token = "0".repeat(64);
        let unknown = store
            .grant_call(
                &call(
                    "insurer-a",
                    &unknown_token,
                    "f-2",
                    Purpose::P05,
                    CallQuery::Settlements,
                ),
                &key(),
                t0(),
            )
            .await
            .unwrap();
        // Under another token key the stored HMAC does not match either.
        let other_key = TokenKey::from_bytes([7; 32]);
        let wrong_key = store
            .grant_call(
                &call(
                    "insurer-a",
                    &a.token,
                    "f-3",
                    Purpose::P05,
                    CallQuery::Settlements,
                ),
                &other_key,
                t0(),
            )
            .await
            .unwrap();
        for answer in [&foreign, &unknown, &wrong_key] {
            assert_eq!(
                answer.code,
                Some(DenyCode::GrantInvalid),
                "{}: {}",
                db.label,
                answer.body
            );
        }

        // Someone else cannot revoke it; the subject can, and the next call is refused.
        assert!(store
            .revoke_grant("ga", "P002", &key(), t0())
            .await
            .is_err());
        let revoked = store
            .revoke_grant("ga", "P001", &key(), t0() + 10)
            .await
            .unwrap();
        assert_eq!(revoked.grant.status(), GrantStatus::Revoked);
        assert!(revoked.ended_leaf.is_some());
        let after = store
            .grant_call(
                &call(
                    "insurer-a",
                    &a.token,
                    "r-1",
                    Purpose::P05,
                    CallQuery::Settlements,
                ),
                &key(),
                t0() + 20,
            )
            .await
            .unwrap();
        assert_eq!(after.code, Some(DenyCode::GrantInvalid));

        // Past not_after: refused before the sweep, EXPIRED after it.
        let late = t0() + 31 * DAY_MS;
        let mut late_call = call(
            "insurer-a",
            &b.token,
            "e-1",
            Purpose::P05,
            CallQuery::Settlements,
        );
        late_call.timestamp_ms = late;
        let expired = store.grant_call(&late_call, &key(), late).await.unwrap();
        assert_eq!(
            expired.code,
            Some(DenyCode::GrantInvalid),
            "{}",
            expired.body
        );
        assert_eq!(
            store.expire_grants(late).await.unwrap(),
            vec!["gb".to_string()]
        );
        let listed = store.grants_of("P001", &key()).await.unwrap();
        let statuses: Vec<_> = listed
            .iter()
            .map(|r| (r.grant.id().to_string(), r.grant.status()))
            .collect();
        assert!(
            statuses.contains(&("ga".into(), GrantStatus::Revoked)),
            "{statuses:?}"
        );
        assert!(
            statuses.contains(&("gb".into(), GrantStatus::Expired)),
            "{statuses:?}"
        );
        assert_eq!(
            store
                .grant("gb", &key())
                .await
                .unwrap()
                .unwrap()
                .grant
                .uses_count(),
            0
        );
        db
    })
    .await;
}

#[tokio::test]
async fn replays_stale_requests_and_bad_signatures_are_refused_without_consuming() {
    on_both(|db| async move {
        setup(&db).await;
        let store = &db.store;
        let given = store
            .give_grant(p05("g5", "insurer-a"), &key())
            .await
            .unwrap();
        let ok = call(
            "insurer-a",
            &given.token,
            "p-1",
            Purpose::P05,
            CallQuery::Settlements,
        );
        assert_eq!(
            store.grant_call(&ok, &key(), t0()).await.unwrap().code,
            None
        );

        // The same signed request again (same nonce), under a new request id.
        let mut same_nonce = call(
            "insurer-a",
            &given.token,
            "p-2",
            Purpose::P05,
            CallQuery::Settlements,
        );
        same_nonce.nonce = ok.nonce.clone();
        // Six minutes old.
        let mut stale = call(
            "insurer-a",
            &given.token,
            "p-3",
            Purpose::P05,
            CallQuery::Settlements,
        );
        stale.timestamp_ms = t0() - 6 * MINUTE_MS;
        // The request id of p-1 with another body.
        let mut other_body = call(
            "insurer-a",
            &given.token,
            "p-1",
            Purpose::P05,
            CallQuery::Settlements,
        );
        other_body.nonce = "n-other".into();
        other_body.request_digest = yibao_gm::hash(b"another body");
        let mut unsigned = call(
            "insurer-a",
            &given.token,
            "p-4",
            Purpose::P05,
            CallQuery::Settlements,
        );
        unsigned.signature_valid = false;
        let expected = [
            (&same_nonce, DenyCode::Replay),
            (&stale, DenyCode::Replay),
            (&other_body, DenyCode::Replay),
            (&unsigned, DenyCode::SignatureInvalid),
        ];
        for (c, code) in expected {
            let answer = store.grant_call(c, &key(), t0() + 1_000).await.unwrap();
            assert_eq!(answer.code, Some(code), "{}: {}", db.label, answer.body);
        }
        // Items outside the grant: SCOPE_DENIED naming them, nothing consumed.
        let mut wide = call(
            "insurer-a",
            &given.token,
            "p-5",
            Purpose::P05,
            CallQuery::Settlements,
        );
        wide.items = Some(items("ST01 ST02"));
        let answer = store.grant_call(&wide, &key(), t0() + 2_000).await.unwrap();
        assert_eq!(answer.code, Some(DenyCode::ScopeDenied));
        assert_eq!(
            body(&answer)["error"]["refused_items"],
            serde_json::json!(["ST02"])
        );
        let stored = store.grant("g5", &key()).await.unwrap().unwrap();
        assert_eq!(stored.grant.uses_left(), Some(2), "{}", db.label);
        db
    })
    .await;
}

#[tokio::test]
async fn a_nonce_is_refused_inside_the_replay_window_and_new_after_it() {
    use yibao_store::grants::NONCE_WINDOW_MS;
    on_both(|db| async move {
        setup(&db).await;
        let store = &db.store;
        let given = store
            .give_grant(p05("g5", "insurer-a"), &key())
            .await
            .unwrap();
        let first = call(
            "insurer-a",
            &given.token,
            "w-1",
            Purpose::P05,
            CallQuery::Settlements,
        );
        let other = call(
            "insurer-a",
            &given.token,
            "w-2",
            Purpose::P05,
            CallQuery::Settlements,
        );
        for c in [&first, &other] {
            assert_eq!(store.grant_call(c, &key(), t0()).await.unwrap().code, None);
        }
        // The nonce of w-1 again, a second before the window ends: a replay.
        let inside = t0() + NONCE_WINDOW_MS - 1_000;
        let mut again = call(
            "insurer-a",
            &given.token,
            "w-3",
            Purpose::P05,
            CallQuery::Settlements,
        );
        again.nonce = first.nonce.clone();
        again.timestamp_ms = inside;
        let answer = store.grant_call(&again, &key(), inside).await.unwrap();
        assert_eq!(answer.code, Some(DenyCode::Replay), "{}", db.label);
        // After the window it is a new nonce: the call is decided on its merits.
        let after = t0() + NONCE_WINDOW_MS + 1_000;
        let mut later = again.clone();
        later.request_id = "w-4".into();
        later.request_digest = yibao_gm::hash(b"w-4");
        later.timestamp_ms = after;
        let answer = store.grant_call(&later, &key(), after).await.unwrap();
        assert_eq!(answer.code, None, "{}: {}", db.label, answer.body);
        // Pruning removes w-2's nonce (seen at t0) and keeps w-1's, seen again just now.
        assert_eq!(
            store.prune_nonces(after + 1).await.unwrap(),
            1,
            "{}",
            db.label
        );
        let mut replayed = later.clone();
        replayed.request_id = "w-5".into();
        replayed.request_digest = yibao_gm::hash(b"w-5");
        let answer = store
            .grant_call(&replayed, &key(), after + 2)
            .await
            .unwrap();
        assert_eq!(answer.code, Some(DenyCode::Replay), "{}", db.label);
        db
    })
    .await;
}

#[tokio::test]
async fn no_log_leaf_means_no_data_and_no_use() {
    on_both(|db| async move {
        setup(&db).await;
        let given = db.store.give_grant(p05("g5", "insurer-a"), &key()).await.unwrap();
        // Break the log: every append and every outbox record fails from now on.
        let break_log = if db.label == "postgres" {
            vec![
                "CREATE FUNCTION test_log_down() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'log down'; END; $$ LANGUAGE plpgsql",
                "CREATE TRIGGER test_log_down BEFORE INSERT ON access_log FOR EACH ROW EXECUTE FUNCTION test_log_down()",
                "CREATE TRIGGER test_outbox_down BEFORE INSERT ON access_outbox FOR EACH ROW EXECUTE FUNCTION test_log_down()",
            ]
        } else {
            vec![
                "CREATE TRIGGER test_log_down BEFORE INSERT ON access_log BEGIN SELECT RAISE(ABORT, 'log down'); END",
                "CREATE TRIGGER test_outbox_down BEFORE INSERT ON access_outbox BEGIN SELECT RAISE(ABORT, 'log down'); END",
            ]
        };
        if db.label == "postgres" {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            for sql in break_log {
                sqlx::query(sql).execute(&mut conn).await.unwrap();
            }
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            for sql in break_log {
                sqlx::query(sql).execute(&mut conn).await.unwrap();
            }
        }
        let c = call("insurer-a", &given.token, "x-1", Purpose::P05, CallQuery::Settlements);
        assert!(db.store.grant_call(&c, &key(), t0()).await.is_err(), "{}", db.label);
        let stored = db.store.grant("g5", &key()).await.unwrap().unwrap();
        assert_eq!(stored.grant.uses_left(), Some(3), "{}", db.label);
        db
    })
    .await;
}

#[tokio::test]
async fn grants_are_refused_for_unknown_or_unapproved_grantees_and_tokens_are_not_stored() {
    on_both(|db| async move {
        setup(&db).await;
        let store = &db.store;
        assert!(store
            .give_grant(p01("g1", "insurer-z"), &key())
            .await
            .is_err());
        register(store, "bank-c", &[Purpose::P07]).await;
        assert!(store.give_grant(p01("g1", "bank-c"), &key()).await.is_err());
        let given = store
            .give_grant(p01("g1", "insurer-a"), &key())
            .await
            .unwrap();
        assert!(
            store
                .give_grant(p01("g1", "insurer-a"), &key())
                .await
                .is_err(),
            "duplicate id"
        );
        // The database holds the token's HMAC under the key, and the token nowhere.
        let sql = "SELECT token_mac FROM data_grant WHERE grant_id = 'g1'";
        let stored: String = if db.label == "postgres" {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
        };
        assert_eq!(stored, key().token_mac(&given.token));
        assert_ne!(stored, given.token);
        assert_eq!(store.grants_of("P001", &key()).await.unwrap().len(), 1);
        db
    })
    .await;
}

/// E1's sibling P02: a health question answered yes/no; a question naming a special-list code
/// is bad input, refused before anything is consumed or logged.
#[tokio::test]
async fn health_question_answers_yes_or_no_and_refuses_special_codes() {
    on_both(|db| async move {
        imported(&db).await;
        register(&db.store, "insurer-a", &[Purpose::P02]).await;
        let draft = GrantDraft {
            purpose: Purpose::P02,
            items: items("FL03 VS04"),
            confirmed_items: items("FL03 VS04"),
            scope: DataScope::Period {
                from: day("2024-03-02"),
                to: day("2026-03-01"),
            },
            ..p01("g2", "insurer-a")
        };
        let given = db.store.give_grant(draft, &key()).await.unwrap();
        let special = CallQuery::HealthQuestion {
            codes: vec!["B20".into()],
        };
        let refused = db
            .store
            .grant_call(
                &call("insurer-a", &given.token, "h-1", Purpose::P02, special),
                &key(),
                t0(),
            )
            .await;
        assert!(refused.is_err(), "{}", db.label);
        let question = CallQuery::HealthQuestion {
            codes: vec!["E11".into(), "I10".into()],
        };
        let answer = db
            .store
            .grant_call(
                &call("insurer-a", &given.token, "h-2", Purpose::P02, question),
                &key(),
                t0(),
            )
            .await
            .unwrap();
        assert_eq!(answer.code, None, "{}: {}", db.label, answer.body);
        let answer = body(&answer);
        assert_eq!(answer["items"], serde_json::json!(["VS04"]));
        assert_eq!(answer["answer"], serde_json::json!({"any_recorded": false}));
        db
    })
    .await;
}

/// A claim rule pays its share of the personal cash part, rounded down, within the cap.
#[test]
fn claim_rule_pays_its_share_within_the_cap() {
    let rule = ClaimRule {
        rule_version: "H-2026.1".into(),
        share_bp: 8_000,
        cap_fen: 100_000,
    };
    let cases = [
        (0, 0),
        (1, 0),
        (999, 799),
        (10_000, 8_000),
        (1_000_000, 100_000),
        (-5, 0),
    ];
    for (cash, payable) in cases {
        assert_eq!(rule.payable(cash), payable, "cash {cash}");
    }
}

/// E2 (§8.3 rules-in): the insurer's filed rule runs inside the bureau on the person's
/// settlement; only the claim result leaves, the payout is posted once in the ledger, and a
/// later call reports the same claim without paying it again.
#[tokio::test]
async fn direct_claims_run_the_filed_rule_and_post_each_payout_once() {
    on_both(|db| async move {
        imported(&db).await;
        register(&db.store, "insurer-h", &[Purpose::P03]).await;
        let rule = ClaimRule {
            rule_version: "H-2026.1".into(),
            share_bp: 8_000,
            cap_fen: 5_000,
        };
        db.store
            .file_claim_rule("insurer-h", "H-2026", &rule, t0())
            .await
            .unwrap();
        assert!(db
            .store
            .file_claim_rule("insurer-h", "H-2026", &rule, t0())
            .await
            .is_err());
        let settlement = settle_one(
            &db,
            CLINIC,
            "DC",
            ("P003", "390"),
            ("11", ""),
            ("X-DRUG-A", 100),
        )
        .await
        .expect("2207");
        let cash = settlement.amounts.psn_cash_pay.0;
        assert!(
            cash > 0,
            "{}: the fixture settlement leaves cash to pay",
            db.label
        );
        let draft = GrantDraft {
            subject: "P003".into(),
            purpose: Purpose::P03,
            product_id: "H-2026".into(),
            items: items("ST01 ST04"),
            confirmed_items: items("ST01 ST04"),
            scope: DataScope::Period {
                from: day("2025-01-01"),
                to: day("2025-12-31"),
            },
            output_form: OutputForm::Computed,
            mode: Mode::Multi,
            not_after: Millis(t0()).plus(200 * DAY_MS),
            policy_end: Some(Millis(t0()).plus(30 * DAY_MS)),
            ..p01("g3", "insurer-h")
        };
        let given = db.store.give_grant(draft, &key()).await.unwrap();
        let first = db
            .store
            .grant_call(
                &call(
                    "insurer-h",
                    &given.token,
                    "d-1",
                    Purpose::P03,
                    CallQuery::DirectClaims,
                ),
                &key(),
                t0(),
            )
            .await
            .unwrap();
        assert_eq!(first.code, None, "{}: {}", db.label, first.body);
        let expected = (cash * 8 / 10).min(5_000);
        let claims = body(&first)["answer"]["claims"].clone();
        assert_eq!(claims.as_array().unwrap().len(), 1, "{claims}");
        assert_eq!(claims[0]["payable_fen"], serde_json::json!(expected));
        assert_eq!(claims[0]["status"], serde_json::json!("paid"));
        assert_eq!(claims[0]["rule_version"], serde_json::json!("H-2026.1"));
        let again = db
            .store
            .grant_call(
                &call(
                    "insurer-h",
                    &given.token,
                    "d-2",
                    Purpose::P03,
                    CallQuery::DirectClaims,
                ),
                &key(),
                t0() + 1_000,
            )
            .await
            .unwrap();
        let claims = body(&again)["answer"]["claims"].clone();
        assert_eq!(claims[0]["status"], serde_json::json!("paid_before"));
        assert_eq!(claims[0]["payable_fen"], serde_json::json!(expected));
        let insurer = db.store.account_balance("insurer:insurer-h").await.unwrap();
        let person = db.store.account_balance("claimpay:P003").await.unwrap();
        assert_eq!(
            (insurer, person),
            (Some(-expected), Some(expected)),
            "{}",
            db.label
        );
        assert_balanced(&db).await;

        // The hospital reverses the settlement (2208): the claim is undone in the same
        // transaction, its payout given back to the insurer, and reported as reversed.
        let reversal = settled(fresh(
            exec(
                &db,
                CLINIC,
                "DC-2208",
                "2208",
                yibao_store::Command::ReverseSettlement(yibao_store::ReverseSettlement {
                    kind: yibao_store::VisitKind::Outpatient,
                    visit: yibao_store::VisitRef {
                        psn_no: "P003".into(),
                        mdtrt_id: settlement.mdtrt_id.clone(),
                        ipt_otp_no: None,
                    },
                    setl_id: settlement.setl_id.clone(),
                }),
            )
            .await
            .expect("2208"),
        ));
        assert_eq!(
            reversal.orig_setl_id.as_deref(),
            Some(settlement.setl_id.as_str())
        );
        let insurer = db.store.account_balance("insurer:insurer-h").await.unwrap();
        let person = db.store.account_balance("claimpay:P003").await.unwrap();
        assert_eq!((insurer, person), (Some(0), Some(0)), "{}", db.label);
        assert_balanced(&db).await;
        let after = db
            .store
            .grant_call(
                &call(
                    "insurer-h",
                    &given.token,
                    "d-3",
                    Purpose::P03,
                    CallQuery::DirectClaims,
                ),
                &key(),
                t0() + 2_000,
            )
            .await
            .unwrap();
        let claims = body(&after)["answer"]["claims"].clone();
        assert_eq!(claims.as_array().unwrap().len(), 1, "{claims}");
        assert_eq!(claims[0]["status"], serde_json::json!("reversed"));
        assert_eq!(claims[0]["payable_fen"], serde_json::json!(-expected));
        db
    })
    .await;
}

/// T10: a grantee whose key is compromised is deactivated; its next signed call is refused and
/// logged, nothing is consumed, and reactivation (after review) lets the grant answer again.
#[tokio::test]
async fn a_deactivated_grantee_is_refused_at_its_next_call() {
    on_both(|db| async move {
        setup(&db).await;
        let store = &db.store;
        let given = store
            .give_grant(p05("g10", "insurer-a"), &key())
            .await
            .unwrap();
        let first = store
            .grant_call(
                &call(
                    "insurer-a",
                    &given.token,
                    "k-1",
                    Purpose::P05,
                    CallQuery::Settlements,
                ),
                &key(),
                t0(),
            )
            .await
            .unwrap();
        assert_eq!(first.code, None, "{}: {}", db.label, first.body);
        store
            .set_grantee_active("insurer-a", false, t0() + 1)
            .await
            .unwrap();
        let refused = store
            .grant_call(
                &call(
                    "insurer-a",
                    &given.token,
                    "k-2",
                    Purpose::P05,
                    CallQuery::Settlements,
                ),
                &key(),
                t0() + 2,
            )
            .await
            .unwrap();
        assert!(refused.code.is_some(), "{}: {}", db.label, refused.body);
        assert!(!refused.body.contains("\"answer\""), "{}", refused.body);
        let grant = store.grant("g10", &key()).await.unwrap().unwrap();
        assert_eq!(
            grant.grant.uses_left(),
            Some(2),
            "{}: one use only",
            db.label
        );
        store
            .set_grantee_active("insurer-a", true, t0() + 3)
            .await
            .unwrap();
        let again = store
            .grant_call(
                &call(
                    "insurer-a",
                    &given.token,
                    "k-3",
                    Purpose::P05,
                    CallQuery::Settlements,
                ),
                &key(),
                t0() + 4,
            )
            .await
            .unwrap();
        assert_eq!(again.code, None, "{}: {}", db.label, again.body);
        db
    })
    .await;
}
