//! Staff access to persons' records (spec data-authorization.md §11.2, §11.5): service sessions
//! open only for the person present, break-glass is recorded with its alarm in one transaction
//! and listed for the person's safe box, reveals are counted, cases say whom they are about, and
//! every table is append-only — on both databases.

use yibao_store::staff_access::{
    BreakGlassCategory, CaseRef, NewBreakGlass, NewServiceSession, ALARMS_PAGE_MAX,
};
use yibao_store::*;

use crate::common::*;

const T0: i64 = 1_780_000_000_000;

fn clerk(username: &str, role: Role) -> NewStaff {
    NewStaff {
        username: username.into(),
        password: format!("{username}-password-1"),
        display_name: username.into(),
        roles: vec![role],
        fixmedins_code: None,
        admdvs: "140500".into(),
    }
}

#[tokio::test]
async fn sessions_break_glass_alarms_and_reveals() {
    on_both(|db| async move {
        imported(&db).await;
        let store = &db.store;
        let desk = store
            .staff_create(&clerk("desk1", Role::FrontDesk), None, T0)
            .await
            .unwrap();
        let inspector = store
            .staff_create(&clerk("insp1", Role::Inspector), None, T0)
            .await
            .unwrap();
        // The 三员 roles are stored (migration 0028's CHECK) and kept apart.
        let auditor = store
            .staff_create(&clerk("secaud1", Role::SecurityAuditor), None, T0)
            .await
            .unwrap();
        assert_eq!(auditor.roles, [Role::SecurityAuditor]);
        let mut both = clerk("both1", Role::SecurityAdmin);
        both.roles.push(Role::SystemAdmin);
        let refused = store.staff_create(&both, None, T0).await.unwrap_err();
        assert!(
            matches!(&refused, StoreError::BadInput { field, .. } if field == "roles"),
            "{refused:?}"
        );

        // A session opens only with the person's own ID number.
        let session = |psn_no: &str, certno: &str| NewServiceSession {
            staff_id: desk.staff_id,
            psn_no: psn_no.into(),
            certno: certno.into(),
            reason: "窗口办理".into(),
        };
        let wrong = store
            .open_service_session(&session("P001", "140502198502021235"), T0)
            .await
            .unwrap_err();
        assert!(
            matches!(&wrong, StoreError::Refused { field, .. } if field == "certno"),
            "{wrong:?}"
        );
        let nobody = store
            .open_service_session(&session("NOBODY", "140502198001011234"), T0)
            .await
            .unwrap_err();
        assert!(matches!(nobody, StoreError::NotFound { .. }), "{nobody:?}");
        let opened = store
            .open_service_session(&session("P001", "140502198001011234"), T0)
            .await
            .unwrap();
        assert_eq!(opened.until_ms - opened.started_at_ms, 30 * 60_000);
        assert_eq!(
            store.service_session(opened.session_id).await.unwrap(),
            Some(opened.clone())
        );
        assert_eq!(
            store.service_session(opened.session_id + 1).await.unwrap(),
            None
        );

        // Break-glass and its alarm, one transaction; the safe box lists it.
        let glass = store
            .record_break_glass(&NewBreakGlass {
                staff_id: inspector.staff_id,
                psn_no: "P002".into(),
                category: BreakGlassCategory::CourtOrPolice,
                document_no: "晋公协字 2026-17".into(),
                reason: "公安机关协查".into(),
                started_at_ms: T0,
                until_ms: T0 + 2 * 3_600_000,
            })
            .await
            .unwrap();
        assert_eq!(
            store.break_glass(glass.glass_id).await.unwrap(),
            Some(glass.clone())
        );
        let alarms = store.security_alarms(0, ALARMS_PAGE_MAX).await.unwrap();
        assert_eq!(alarms.len(), 1);
        assert_eq!(
            (
                alarms[0].kind.as_str(),
                alarms[0].ref_id,
                alarms[0].staff_id
            ),
            ("break_glass", glass.glass_id, inspector.staff_id)
        );
        assert!(alarms[0].subject_ref.starts_with("psn:"));
        assert!(!alarms[0].subject_ref.contains("P002"));
        assert!(store
            .security_alarms(alarms[0].alarm_id, 10)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(store.person_break_glass("P002").await.unwrap(), [glass]);
        assert!(store.person_break_glass("P001").await.unwrap().is_empty());

        // Reveals are counted from a time on.
        for minute in 0..3 {
            store
                .record_reveal(desk.staff_id, "psn:x", "核对", T0 + minute * 60_000)
                .await
                .unwrap();
        }
        assert_eq!(store.reveals_since(desk.staff_id, T0).await.unwrap(), 3);
        assert_eq!(
            store
                .reveals_since(desk.staff_id, T0 + 60_000)
                .await
                .unwrap(),
            2
        );
        assert_eq!(
            store.reveals_since(inspector.staff_id, T0).await.unwrap(),
            0
        );

        // Unknown cases open nothing.
        assert_eq!(
            store.case_access(&CaseRef::Registry(999)).await.unwrap(),
            None
        );
        assert_eq!(
            store
                .case_access(&CaseRef::Audit("NO-SUCH".into()))
                .await
                .unwrap(),
            None
        );

        // Append-only in the database itself.
        for statement in [
            "UPDATE service_session SET until_ms = until_ms + 1",
            "DELETE FROM service_session",
            "UPDATE break_glass SET until_ms = until_ms + 1",
            "DELETE FROM break_glass",
            "DELETE FROM security_alarm",
            "UPDATE staff_reveal SET reason = 'x'",
        ] {
            use sqlx::Connection as _;
            let refused = if db.url.starts_with("sqlite") {
                let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
                sqlx::query(statement).execute(&mut conn).await.is_err()
            } else {
                let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
                sqlx::query(statement).execute(&mut conn).await.is_err()
            };
            assert!(refused, "{}: {statement} was allowed", db.label);
        }
        db
    })
    .await;
}
