//! Deaths (issue 13 item 2, spec enrollment.md §8.3) on SQLite and PostgreSQL: a death is acted
//! on only when the police report it, when two departments do, or after the confirmation window;
//! acting ends the relations at the death date and lists the settlements made after it; bad rows
//! are refused by line; a list sent again records nothing new.

#[path = "common/mod.rs"]
mod common;

use chrono::NaiveDate;
use common::*;
use yibao_store::deaths::DEATH_HEADER;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[tokio::test]
async fn a_death_is_acted_on_only_when_confirmed() {
    on_both(|db| async move {
        imported(&db).await;
        let people = [
            ("D1", cid("140502", "1940-01-01", 11)),
            ("D2", cid("140502", "1941-02-02", 13)),
            ("D3", cid("140502", "1942-03-03", 15)),
        ];
        for (psn, certno) in &people {
            sql(
                &db,
                "INSERT INTO person (psn_no, certno, psn_name, gend, brdy, naty, tel) \
                 VALUES ($1, $2, '王某', '1', '1940-01-01', '01', '')",
                &[psn, certno],
            )
            .await;
            sql(
                &db,
                "INSERT INTO insurance (psn_no, insutype, psn_type, insuplc_admdvs, emp_name, \
                 begndate, enddate, psn_insu_stas) VALUES ($1, '390', '1501', '140500', '', '2020-01-01', '', '1')",
                &[psn],
            )
            .await;
        }
        let today = day("2026-03-01");
        let now = at("2026-03-01", "09:00:00");
        let list = |rows: &[(&str, &str)]| {
            let mut text = format!("{DEATH_HEADER}\n");
            for (certno, date) in rows {
                text.push_str(&format!("{certno},王某,{date}\n"));
            }
            text
        };
        let (d1, d2, d3) = (&people[0].1, &people[1].1, &people[2].1);
        // Health reports D1 and D3; bad rows are refused by line.
        let health = list(&[
            (d1, "2026-02-10"),
            (d3, "2026-02-12"),
            ("11010519491231002X", "2026-02-01"),
            (d2, "2026-04-01"),
            ("123", "2026-02-01"),
        ]);
        let r = db
            .store
            .import_deaths(&health, "health", "H1", today, now)
            .await
            .unwrap();
        assert_eq!(r.recorded, 2, "{r:?}");
        assert!(r.confirmed.is_empty(), "one department is not enough: {r:?}");
        assert_eq!(r.pending, 2);
        let lines: Vec<u64> = r.refused.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [4, 5, 6], "{r:?}");
        assert!(r.refused[0].1.contains("no person"), "{r:?}");
        assert!(r.refused[1].1.contains("future"), "{r:?}");
        assert!(r.refused[2].1.contains("bad_length"), "{r:?}");
        let in_force = |psn: &'static str| {
            let store = db.store.clone();
            async move {
                store
                    .person_info(psn)
                    .await
                    .unwrap()
                    .insurance
                    .iter()
                    .any(|i| i.psn_insu_stas == "1")
            }
        };
        assert!(in_force("D1").await);
        // The same list again records nothing.
        let again = db
            .store
            .import_deaths(&health, "health", "H1", today, now)
            .await
            .unwrap();
        assert_eq!(again.recorded, 0);
        // Civil affairs confirms D1 (a second department); the police report D2 (at once).
        let r = db
            .store
            .import_deaths(&list(&[(d1, "2026-02-10")]), "civil_affairs", "C1", today, now)
            .await
            .unwrap();
        assert_eq!(r.confirmed.len(), 1, "{r:?}");
        assert_eq!(r.confirmed[0].basis, "two_sources");
        assert_eq!(r.confirmed[0].relations_ended, 1);
        assert!(!in_force("D1").await);
        let info = db.store.person_info("D1").await.unwrap();
        assert_eq!(info.insurance[0].enddate, "2026-02-10");
        let r = db
            .store
            .import_deaths(&list(&[(d2, "2026-02-20")]), "police", "P1", today, now)
            .await
            .unwrap();
        assert_eq!(
            r.confirmed.iter().map(|c| (c.psn_no.as_str(), c.basis)).collect::<Vec<_>>(),
            [("D2", "police")]
        );
        // D3's single report stands for the window: a run 15 days later acts on it.
        let later = db
            .store
            .import_deaths(&list(&[]), "health", "H2", day("2026-03-16"), at("2026-03-16", "09:00:00"))
            .await
            .unwrap();
        assert_eq!(
            later.confirmed.iter().map(|c| (c.psn_no.as_str(), c.basis)).collect::<Vec<_>>(),
            [("D3", "window")]
        );
        assert!(!in_force("D3").await);
        // A bad department or header refuses the whole list.
        assert!(db.store.import_deaths(&health, "hospital", "X", today, now).await.is_err());
        assert!(db
            .store
            .import_deaths("certno,death_date\n", "health", "X", today, now)
            .await
            .is_err());
        db
    })
    .await;
}
