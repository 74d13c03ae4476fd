//! The statistical models and fee-line rules on a synthetic city-year: eight level-2 hospitals
//! and four pharmacies of one region, a background of ordinary care with deterministic noise,
//! and each model's pattern planted in chosen institutions and persons, with near-misses beside
//! them. Each model must find exactly its planted cases (recall 100 %, no other hit), its
//! evidence must carry the statistics it decided on, and its parameters must move it.

mod synth;

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{Duration, NaiveDate};
use synth::{n, t, Synth};
use yibao_batch::audit::recall::{read_planted, recall, write_planted, PlantedCase};
use yibao_batch::audit::{BatchOptions, BatchReport};
use yibao_batch::run_batch;
use yibao_store::export::ExportTable;

const YEAR: i32 = 2025;
const HOSPITALS: [&str; 8] = ["H01", "H02", "H03", "H04", "H05", "H06", "H07", "H08"];
const PHARMACIES: [&str; 4] = ["D01", "D02", "D03", "D04"];

/// A fee line: item code, 医疗收费项目类别, quantity (whole units), amount in fen.
type Line = (&'static str, &'static str, i64, i64);

const BED: Line = ("110500001", "01", 1, 4_000);
const NURSING: Line = ("120200001", "07", 1, 2_000);
const DRUG: Line = ("XC09AA001", "09", 2, 3_000);
const EXAM: Line = ("210300001", "03", 1, 40_000);
const LAB: Line = ("250300001", "04", 1, 20_000);
const DIALYSIS: Line = ("311000006", "05", 1, 45_000);
const PILLS: Line = ("XA10BA021", "09", 1, 2_500);

struct City {
    s: Synth,
    seq: u64,
    rng: u64,
}

impl City {
    fn new() -> Self {
        let mut s = Synth::new();
        for code in HOSPITALS {
            s.add(
                ExportTable::Institutions,
                None,
                &[
                    ("fixmedins_code", t(code)),
                    ("fixmedins_type", t("1")),
                    ("hosp_lv", t("2")),
                    ("admdvs", t(synth::REGION)),
                ],
            );
        }
        for code in PHARMACIES {
            s.add(
                ExportTable::Institutions,
                None,
                &[
                    ("fixmedins_code", t(code)),
                    ("fixmedins_type", t("2")),
                    ("admdvs", t(synth::REGION)),
                ],
            );
        }
        City {
            s,
            seq: 0,
            rng: 0x2545_f491_4f6c_dd1d,
        }
    }

    fn id(&mut self, prefix: &str) -> String {
        self.seq += 1;
        format!("{prefix}{:06}", self.seq)
    }

    /// `base` moved by up to ± `pct` % (a fixed sequence: the same city every run).
    fn jitter(&mut self, base: i64, pct: i64) -> i64 {
        self.rng = self
            .rng
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let r = ((self.rng >> 33) % 2001) as i64 - 1000; // -1000..=1000
        base + base * pct * r / 100_000
    }

    /// A settled encounter with its fee lines (each on its day); its (setl_id, mdtrt_id).
    #[allow(clippy::too_many_arguments)]
    fn encounter(
        &mut self,
        inst: &str,
        psn_no: &str,
        (begin, end): (NaiveDate, NaiveDate),
        at: &str,
        (kind, med_type): (&str, &str),
        dept: &str,
        dx: &str,
        fund_fen: i64,
        lines: &[(NaiveDate, Line)],
    ) -> (String, String) {
        let setl_id = self.id("S");
        let mdtrt_id = self.id("M");
        let month = end.format("%Y-%m").to_string();
        self.s.add(
            ExportTable::Settlements,
            Some(&month),
            &[
                ("setl_id", t(&setl_id)),
                ("setl_sign", n(1)),
                ("mdtrt_id", t(&mdtrt_id)),
                ("psn_pseudonym", t(psn_no)),
                ("fixmedins_code", t(inst)),
                ("setl_time", t(&format!("{end} {at}"))),
                ("setl_date", t(&end.to_string())),
                ("med_type", t(med_type)),
                ("visit_kind", t(kind)),
                ("begntime", t(&format!("{begin} {at}"))),
                ("endtime", t(&format!("{end} {at}"))),
                ("dept_code", t(dept)),
                ("dise_codg", t(dx)),
                ("fund_pay_sumamt", n(fund_fen)),
            ],
        );
        for &(on, (item, cat, cnt, amt)) in lines {
            let sn = self.id("F");
            self.s.add(
                ExportTable::FeeLines,
                Some(&month),
                &[
                    ("setl_id", t(&setl_id)),
                    ("mdtrt_id", t(&mdtrt_id)),
                    ("feedetl_sn", t(&sn)),
                    ("psn_pseudonym", t(psn_no)),
                    ("fixmedins_code", t(inst)),
                    ("med_list_codg", t(item)),
                    ("fee_ocur_time", t(&format!("{on} 10:00:00"))),
                    ("cnt", n(cnt * 10_000)),
                    ("det_item_fee_sumamt", n(amt)),
                    ("med_chrgitm_type", t(cat)),
                ],
            );
        }
        (setl_id, mdtrt_id)
    }

    /// An outpatient visit (or a pharmacy purchase, `med_type` 41) on one day.
    #[allow(clippy::too_many_arguments)]
    fn visit(
        &mut self,
        inst: &str,
        psn_no: &str,
        on: NaiveDate,
        at: &str,
        med_type: &str,
        dept: &str,
        fund_fen: i64,
        lines: &[Line],
    ) -> (String, String) {
        let dated: Vec<(NaiveDate, Line)> = lines.iter().map(|l| (on, *l)).collect();
        self.encounter(
            inst,
            psn_no,
            (on, on),
            at,
            ("otp", med_type),
            dept,
            "J06.900",
            fund_fen,
            &dated,
        )
    }

    /// An inpatient stay with its settlement list (ADRG, CC level); `daily` gives each day's
    /// lines (day 0 the admission day, the discharge day left without lines).
    #[allow(clippy::too_many_arguments)]
    fn stay(
        &mut self,
        inst: &str,
        psn_no: &str,
        adm: NaiveDate,
        los: i64,
        dx: &str,
        (adrg, cc_level): (&str, &str),
        daily: &dyn Fn(i64) -> Vec<Line>,
    ) -> (String, String) {
        let dscg = adm + Duration::days(los);
        let mut lines = Vec::new();
        for d in 0..los {
            for line in daily(d) {
                lines.push((adm + Duration::days(d), line));
            }
        }
        let fund = self.jitter(600_000, 5);
        let ids = self.encounter(
            inst,
            psn_no,
            (adm, dscg),
            "16:00:00",
            ("ipt", "21"),
            "",
            dx,
            fund,
            &lines,
        );
        let list_id = self.id("L");
        self.s.add(
            ExportTable::SetlLists,
            Some(&dscg.format("%Y-%m").to_string()),
            &[
                ("setl_list_id", t(&list_id)),
                ("setl_id", t(&ids.0)),
                ("version", n(1)),
                ("mdtrt_id", t(&ids.1)),
                ("psn_pseudonym", t(psn_no)),
                ("fixmedins_code", t(inst)),
                ("adm_time", t(&format!("{adm} 08:00:00"))),
                ("dscg_time", t(&format!("{dscg} 16:00:00"))),
                ("adrg", t(adrg)),
                (
                    "drg",
                    t(&format!("{adrg}{}", if cc_level == "none" { 5 } else { 3 })),
                ),
                ("cc_level", t(cc_level)),
                ("drg_status", t("grouped")),
            ],
        );
        ids
    }
}

/// An ordinary day in a stay: bed, nursing and a drug.
fn ordinary_day(_: i64) -> Vec<Line> {
    vec![BED, NURSING, DRUG]
}

/// What each model must hit: (rule, institution, person pseudonym or "", code or "").
type Hits = BTreeSet<(String, String, String, String)>;

fn hit(rule: &str, inst: &str, psn: &str, code: &str) -> (String, String, String, String) {
    (rule.into(), inst.into(), psn.into(), code.into())
}

/// The city-year and the hits its planted patterns must give.
fn build() -> (City, Hits) {
    let mut c = City::new();
    let mut want = Hits::new();
    let y = |m: u32, d: u32| NaiveDate::from_ymd_opt(YEAR, m, d).expect("a day");
    let prev = |m: u32, d: u32| NaiveDate::from_ymd_opt(YEAR - 1, m, d).expect("a day");
    let mut person = 0u32;
    let mut fresh = || {
        person += 1;
        format!("B{person:05}")
    };

    // Background outpatient care: two departments at every hospital, 40 visits a year each,
    // each by a person seen once, fund ≈ ¥100 (± 5 %) a visit in both years.
    // S-01 plant: H01's department 03 doubles its visits (growth 100 %, per case unchanged).
    // S-01L plant: H02's department 02 is paid three times its peers per visit, in both years
    // (no growth). Near miss: H05's department 03 grows by 30 % (under 50 %).
    for &inst in &HOSPITALS {
        for dept in ["02", "03"] {
            for year_before in [true, false] {
                let mut visits = 40;
                if !year_before && inst == "H01" && dept == "03" {
                    visits = 80;
                }
                if !year_before && inst == "H05" && dept == "03" {
                    visits = 52;
                }
                let per_case = if inst == "H02" && dept == "02" {
                    30_000
                } else {
                    10_000
                };
                for v in 0..visits {
                    let on = if year_before {
                        prev(1 + (v % 12) as u32, 1 + (v % 27) as u32)
                    } else {
                        y(1 + (v % 12) as u32, 1 + (v % 27) as u32)
                    };
                    let fund = c.jitter(per_case, 5);
                    let psn = fresh();
                    let at = format!("{:02}:{:02}:00", 8 + v % 9, (v * 7) % 60);
                    c.visit(inst, &psn, on, &at, "11", dept, fund, &[DRUG]);
                }
            }
        }
    }
    want.insert(hit("S-01", "H01", "", "03"));
    want.insert(hit("S-01L", "H02", "", "02"));

    // Background stays: 40 at every hospital, discharged in the year; ADRGs in turn, three in
    // ten with a CC or MCC; two readmissions at every hospital within 15 days (different
    // diagnosis, no split stay).
    // S-07 plant: H03 readmits 12 of its 40. S-11 plant: H04 codes a CC/MCC on 36 of 40.
    // S-06 plant: one stay at H05 with five idle days. BHV-05 plant: a two-day stay at H06
    // spent on examinations. Near misses: a two-day idle run at H06, a three-day stay at H07
    // with drugs and under 50 % on tests.
    let adrgs = ["FM1", "GB1", "ES2"];
    for (h, &inst) in HOSPITALS.iter().enumerate() {
        let readmits = if inst == "H03" { 12 } else { 2 };
        for i in 0..40usize {
            let psn = fresh();
            let adm = y(2 + (i % 9) as u32, 1 + ((i + h) % 20) as u32);
            let cc = if inst == "H04" {
                if i % 10 < 9 {
                    "MCC"
                } else {
                    "none"
                }
            } else if i % 10 < 3 {
                "CC"
            } else {
                "none"
            };
            c.stay(
                inst,
                &psn,
                adm,
                5,
                "K80.100",
                (adrgs[i % 3], cc),
                &ordinary_day,
            );
            if i < readmits {
                let again = adm + Duration::days(5 + 6);
                c.stay(
                    inst,
                    &psn,
                    again,
                    5,
                    "J18.900",
                    (adrgs[(i + 1) % 3], "none"),
                    &ordinary_day,
                );
            }
        }
    }
    want.insert(hit("S-07", "H03", "", ""));
    want.insert(hit("S-11", "H04", "", ""));
    let ghost = "G0001".to_owned();
    c.stay(
        "H05",
        &ghost,
        y(6, 2),
        8,
        "M54.500",
        ("IU2", "none"),
        &|d| {
            if (2..7).contains(&d) {
                vec![BED, NURSING]
            } else {
                ordinary_day(d)
            }
        },
    );
    want.insert(hit("S-06", "H05", &c.s.psn(&ghost), "M54.500"));
    let near_ghost = "G0002".to_owned();
    c.stay(
        "H06",
        &near_ghost,
        y(6, 9),
        6,
        "M54.500",
        ("IU2", "none"),
        &|d| {
            if (2..4).contains(&d) {
                vec![BED, NURSING]
            } else {
                ordinary_day(d)
            }
        },
    );
    let low = "L0001".to_owned();
    c.stay("H06", &low, y(7, 1), 2, "R51.x00", ("BZ1", "none"), &|d| {
        if d == 0 {
            vec![BED, EXAM, LAB]
        } else {
            vec![BED, NURSING]
        }
    });
    want.insert(hit("BHV-05", "H06", &c.s.psn(&low), "R51.x00"));
    let near_low = "L0002".to_owned();
    c.stay(
        "H07",
        &near_low,
        y(7, 8),
        3,
        "R51.x00",
        ("BZ1", "none"),
        &|d| {
            if d == 0 {
                vec![LAB, BED]
            } else {
                vec![BED, DRUG, NURSING]
            }
        },
    );

    // S-03 plant: DIA1 has five sessions in the week of 3 March at H07; DIA3 two sessions on
    // 8 April (three that week). Near miss: DIA2, three a week for four weeks at H07 and H08.
    for (i, d) in [3, 4, 5, 6, 7].iter().enumerate() {
        let at = format!("0{}:00:00", 8 + i % 2);
        c.visit("H07", "DIA1", y(3, *d), &at, "14", "", 45_000, &[DIALYSIS]);
    }
    want.insert(hit("S-03", "H07", &c.s.psn("DIA1"), ""));
    for week in 0..4u32 {
        for (k, inst) in [(0, "H07"), (2, "H08"), (4, "H07")] {
            c.visit(
                inst,
                "DIA2",
                y(3, 3 + 7 * week + k),
                "09:00:00",
                "14",
                "",
                45_000,
                &[DIALYSIS],
            );
        }
    }
    c.visit(
        "H08",
        "DIA3",
        y(4, 7),
        "09:00:00",
        "14",
        "",
        45_000,
        &[DIALYSIS],
    );
    c.visit(
        "H08",
        "DIA3",
        y(4, 8),
        "09:00:00",
        "14",
        "",
        45_000,
        &[DIALYSIS, DIALYSIS],
    );
    want.insert(hit("S-03", "H08", &c.s.psn("DIA3"), ""));

    // S-10 plant: C1–C4 settle at H08 within three minutes of each other on four days. Near
    // misses: K1 and K2 together on four days (a circle of two); E1–E3 together on two days.
    for d in [5, 12, 19, 26] {
        for (i, psn) in ["C1", "C2", "C3", "C4"].iter().enumerate() {
            let at = format!("10:0{}:30", i);
            c.visit("H08", psn, y(9, d), &at, "11", "", 5_000, &[DRUG]);
        }
        for (i, psn) in ["K1", "K2"].iter().enumerate() {
            c.visit(
                "H06",
                psn,
                y(9, d),
                &format!("14:1{i}:00"),
                "11",
                "",
                5_000,
                &[DRUG],
            );
        }
    }
    for d in [6, 13] {
        for (i, psn) in ["E1", "E2", "E3"].iter().enumerate() {
            c.visit(
                "H05",
                psn,
                y(9, d),
                &format!("15:2{i}:00"),
                "11",
                "",
                5_000,
                &[DRUG],
            );
        }
    }
    for psn in ["C1", "C2", "C3", "C4"] {
        want.insert(hit("S-10", "H08", &c.s.psn(psn), ""));
    }

    // BHV-09 plant: OS1 buys the same drug at three pharmacies in five days. Near miss: OS2 at
    // two within the week and the third 20 days later.
    for (inst, d) in [("D01", 1), ("D02", 3), ("D03", 5)] {
        c.visit(inst, "OS1", y(5, d), "11:00:00", "41", "", 2_000, &[PILLS]);
    }
    want.insert(hit("BHV-09", "D03", &c.s.psn("OS1"), PILLS.0));
    for (inst, d) in [("D01", 1), ("D02", 3), ("D04", 23)] {
        c.visit(inst, "OS2", y(5, d), "11:00:00", "41", "", 2_000, &[PILLS]);
    }
    (c, want)
}

const MODEL_RULES: [&str; 9] = [
    "S-01", "S-01L", "S-03", "S-06", "S-07", "S-10", "S-11", "BHV-05", "BHV-09",
];

async fn run(dir: &Path, params: &[(&str, &str)]) -> BatchReport {
    let options = BatchOptions {
        year: YEAR,
        rules: MODEL_RULES.iter().map(|r| (*r).to_owned()).collect(),
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    run_batch(dir, &options, &mut |_| {})
        .await
        .expect("the batch run")
}

/// The planted cases of the hits a model must make, as a generator writes them.
fn planted_cases(want: &Hits) -> Vec<PlantedCase> {
    want.iter()
        .map(|(rule_id, inst, psn, code)| PlantedCase {
            rule_id: rule_id.clone(),
            fixmedins_code: inst.clone(),
            psn_pseudonym: psn.clone(),
            setl_id: String::new(),
            code: code.clone(),
        })
        .collect()
}

fn hits_of(report: &BatchReport) -> Hits {
    report
        .rules
        .iter()
        .flat_map(|r| r.findings.iter())
        .map(|f| {
            hit(
                &f.rule_id,
                &f.fixmedins_code,
                &f.psn_pseudonym,
                f.code.as_deref().unwrap_or(""),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_planted_pattern_is_found_and_nothing_else() {
    let (city, want) = build();
    let dir = tempfile::tempdir().expect("temp dir");
    city.s.write(dir.path());
    let planted = planted_cases(&want);
    write_planted(dir.path(), &planted).expect("the planted cases");
    let report = run(dir.path(), &[]).await;
    assert_eq!(report.rules.len(), MODEL_RULES.len());
    let got = hits_of(&report);
    assert_eq!(got, want, "hits (left) against the planted cases (right)");
    // The recall report: every model has planted cases, all found, no other hit.
    let read = read_planted(dir.path())
        .expect("readable")
        .expect("planted cases beside the export");
    assert_eq!(read, planted);
    let recalls = recall(&report, &read);
    assert_eq!(recalls.len(), MODEL_RULES.len());
    for r in &recalls {
        assert!(r.planted > 0, "{r:?}");
        assert_eq!((r.percent(), r.other_hits), (Some(100), 0), "{r:?}");
    }

    let find = |rule: &str| {
        report
            .rules
            .iter()
            .find(|r| r.rule.rule_id == rule)
            .expect("the rule ran")
            .findings
            .clone()
    };
    // S-01: H01's department 03 doubled (+100 %), its peers flat.
    let growth = &find("S-01")[0];
    assert!((95..=105).contains(&growth.measure), "{growth:?}");
    assert!(growth.setl_id.is_empty() && growth.psn_pseudonym.is_empty());
    assert!(
        growth.evidence.as_deref().unwrap_or("").contains("peers=7"),
        "{growth:?}"
    );
    assert!(growth.vola_cont.contains("科室03"), "{}", growth.vola_cont);
    // S-01L: three times the peers' median per case: z far above 3.
    let level = &find("S-01L")[0];
    assert!(level.measure > 1_000, "{level:?}");
    // S-03: five sessions in the week; DIA3's day of two.
    let dialysis = find("S-03");
    assert_eq!(dialysis[0].measure, 5);
    assert_eq!(dialysis[0].begin_date, "2025-03-03");
    assert_eq!(dialysis[0].end_date.as_deref(), Some("2025-03-07"));
    assert!(dialysis[1]
        .evidence
        .as_deref()
        .unwrap_or("")
        .contains("max_per_day=2"));
    // S-06: the idle run is days 2–6 of the stay begun on 2 June.
    let ghost = &find("S-06")[0];
    assert_eq!(ghost.measure, 5);
    assert_eq!(ghost.other_begin_date.as_deref(), Some("2025-06-04"));
    assert_eq!(ghost.other_end_date.as_deref(), Some("2025-06-08"));
    assert!(!ghost.setl_id.is_empty());
    // S-07: 12 of H03's 52 discharges in the year were followed by a readmission.
    let readmission = &find("S-07")[0];
    let evidence = readmission.evidence.clone().unwrap_or_default();
    assert!(evidence.contains("readmissions=12"), "{evidence}");
    assert!(evidence.contains("discharges=52"), "{evidence}");
    // S-11: 36 of H04's 42 lists (40 stays, 2 readmissions) with a CC/MCC.
    let upcoding = &find("S-11")[0];
    assert_eq!(upcoding.measure, 36 * 1000 / 42);
    assert!(upcoding
        .evidence
        .as_deref()
        .unwrap_or("")
        .contains("cc_mcc=36"));
    // S-10: a circle of four.
    assert!(find("S-10").iter().all(|f| f.measure == 4));
    // BHV-05: 60,000 of 70,000 fen on examinations and tests.
    assert_eq!(find("BHV-05")[0].measure, 85);
    // BHV-09: three pharmacies, the window's first purchase on 1 May.
    let supply = &find("BHV-09")[0];
    assert_eq!(supply.measure, 3);
    assert_eq!(supply.other_begin_date.as_deref(), Some("2025-05-01"));
}

#[tokio::test]
async fn parameters_move_the_models() {
    let (city, want) = build();
    let dir = tempfile::tempdir().expect("temp dir");
    city.s.write(dir.path());
    let report = run(
        dir.path(),
        &[
            // H05's 30 % growth now counts.
            ("S-01.min_growth_pct", "25"),
            // Two idle days now make a ghost bed: the near miss at H06.
            ("S-06.idle_days", "2"),
            // A circle of two: K1 and K2.
            ("S-10.min_persons", "2"),
            // Two institutions within 25 days: OS2 as well.
            ("BHV-09.window_days", "25"),
            // Three sessions a week is now too many: DIA2's weeks too.
            ("S-03.max_per_week", "2"),
        ],
    )
    .await;
    let got = hits_of(&report);
    // Lower thresholds: recall stays whole, the near misses become other hits.
    let recalls = recall(&report, &planted_cases(&want));
    assert!(
        recalls.iter().all(|r| r.percent() == Some(100)),
        "{recalls:?}"
    );
    assert!(recalls.iter().any(|r| r.other_hits > 0), "{recalls:?}");
    let added: Vec<_> = got.difference(&want).cloned().collect();
    let lost: Vec<_> = want.difference(&got).cloned().collect();
    assert!(lost.is_empty(), "lost {lost:?}");
    let rules_added: BTreeSet<&str> = added.iter().map(|h| h.0.as_str()).collect();
    assert_eq!(
        rules_added,
        ["BHV-09", "S-01", "S-03", "S-06", "S-10"]
            .into_iter()
            .collect(),
        "{added:?}"
    );
    assert!(added.contains(&hit("S-01", "H05", "", "03")));
    assert!(added.contains(&hit("S-10", "H06", &city.s.psn("K1"), "")));
    // A value out of range is refused before anything is read.
    let options = BatchOptions {
        year: YEAR,
        rules: vec!["S-07".into()],
        params: vec![("S-07.z_hundredths".into(), "50".into())],
    };
    let err = run_batch(dir.path(), &options, &mut |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("S-07.z_hundredths"), "{err}");
    assert!(err.to_string().contains("100–1000"), "{err}");
}
