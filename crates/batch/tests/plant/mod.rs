//! Planting claims for the batch-rule tests through the store's own commands, each at its own
//! time: inpatient stays (2401 → 2301 → 2402 → 2304), outpatient visits and pharmacy sales
//! (2201 → 2203 → 2204 → 2207) and reversals (2208). Shared by the batch crate's tests and the
//! CLI's.

#![allow(dead_code)]

use std::path::Path;

use super::common::*;
use yibao_store::*;

/// Imports the store tests' fixture registry (persons P001..P005, the hospital, the clinic and
/// the pharmacy) with the shipped policies.
pub async fn imported_fixture(db: &TestDb) {
    let dir = tempfile::tempdir().expect("temp dir");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../store/tests/fixtures/registry");
    for entry in std::fs::read_dir(&fixture).expect("fixture folder") {
        let entry = entry.expect("fixture entry");
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy fixture");
    }
    std::fs::create_dir_all(dir.path().join("policies")).expect("policies folder");
    for (name, text) in yibao_policy::builtin::BUILTIN_POLICY_FILES {
        std::fs::write(dir.path().join(name), text).expect("write policy");
    }
    db.store
        .import_registry(dir.path())
        .await
        .expect("import the fixture registry");
}

/// The fixture's identity number of a person (the visit credential the commands carry).
pub fn certno(psn_no: &str) -> &'static str {
    match psn_no {
        "P001" => "140502198001011234",
        "P002" => "140502198502021235",
        "P003" => "140502199003031236",
        "P004" => "140502195004041237",
        _ => "14050220000505123X",
    }
}

/// The fixture's insurance type of a person.
pub fn insutype(psn_no: &str) -> &'static str {
    match psn_no {
        "P003" | "P004" => "390",
        _ => "310",
    }
}

fn env_at(inst: &str, msgid: &str, infno: &str, when: chrono::NaiveDateTime) -> Envelope {
    let mut envelope = env(inst, msgid, infno, msgid);
    envelope.now = when;
    envelope
}

async fn exec_at(
    db: &TestDb,
    inst: &str,
    msgid: &str,
    infno: &str,
    cmd: Command,
    when: chrono::NaiveDateTime,
) -> Outcome {
    fresh(
        db.store
            .execute(&env_at(inst, msgid, infno, when), cmd, &render)
            .await
            .unwrap_or_else(|e| panic!("[{}] {infno} {msgid}: {e}", db.label)),
    )
}

fn one_line(mdtrt_id: &str, psn_no: &str, when: chrono::NaiveDateTime) -> FeeLineIn {
    let mut fee = line(mdtrt_id, psn_no, "1", "X-DRUG-A", 100_000_000, 10_000);
    fee.fee_ocur_time = when;
    fee
}

/// A stay of `psn_no` at `inst` from `adm` to `dscg` (`YYYY-MM-DD`) with main diagnosis `dx`,
/// one 100-yuan line, discharged and settled on the discharge day.
pub async fn stay(
    db: &TestDb,
    inst: &str,
    tag: &str,
    psn_no: &str,
    (adm, dscg): (&str, &str),
    dx: &str,
) -> SettlementView {
    let admitted = at(adm, "08:00:00");
    let admit = Command::Admit(Admit {
        adm_bed: None,
        psn_no: psn_no.into(),
        insutype: insutype(psn_no).into(),
        begntime: admitted,
        mdtrt_cert_type: "02".into(),
        mdtrt_cert_no: certno(psn_no).into(),
        med_type: "21".into(),
        ipt_no: format!("IPT-{tag}"),
        atddr_no: "D002".into(),
        chfpdr_name: "主治".into(),
        adm_dept_codg: "A03".into(),
        adm_dept_name: "内科".into(),
        dscg_maindiag_code: dx.into(),
        dscg_maindiag_name: "诊断".into(),
        main_cond_dscr: String::new(),
        diagnoses: vec![],
        transfer_in: false,
    });
    let mdtrt_id = match exec_at(db, inst, &format!("{tag}-2401"), "2401", admit, admitted).await {
        Outcome::VisitOpened { mdtrt_id, .. } => mdtrt_id,
        other => panic!("2401 gave {other:?}"),
    };
    let fees = Command::UploadFees(UploadFees {
        kind: VisitKind::Inpatient,
        lines: vec![one_line(&mdtrt_id, psn_no, at(adm, "12:00:00"))],
    });
    exec_at(
        db,
        inst,
        &format!("{tag}-2301"),
        "2301",
        fees,
        at(adm, "12:00:00"),
    )
    .await;
    let discharged = at(dscg, "10:00:00");
    let discharge = Command::Discharge(Discharge {
        mdtrt_id: mdtrt_id.clone(),
        psn_no: psn_no.into(),
        insutype: insutype(psn_no).into(),
        dscg_dept_codg: "A03".into(),
        dscg_dept_name: "内科".into(),
        die_date: None,
        maternity: Maternity::default(),
        endtime: discharged,
        dscg_way: "1".into(),
        diagnoses: vec![],
    });
    exec_at(
        db,
        inst,
        &format!("{tag}-2402"),
        "2402",
        discharge,
        discharged,
    )
    .await;
    let settle = settle_kind_cmd(
        VisitKind::Inpatient,
        false,
        &mdtrt_id,
        psn_no,
        insutype(psn_no),
        10_000,
        "0",
    );
    settled(
        exec_at(
            db,
            inst,
            &format!("{tag}-2304"),
            "2304",
            settle,
            at(dscg, "11:00:00"),
        )
        .await,
    )
}

/// An outpatient visit (or a pharmacy sale, `med_type` 41) of `psn_no` at `inst` on `day`, one
/// 100-yuan line, settled the same day.
pub async fn visit(
    db: &TestDb,
    inst: &str,
    tag: &str,
    psn_no: &str,
    day: &str,
    med_type: &str,
) -> SettlementView {
    let when = at(day, "09:00:00");
    let register = Command::RegisterOutpatient(RegisterOutpatient {
        psn_no: psn_no.into(),
        insutype: insutype(psn_no).into(),
        begntime: when,
        mdtrt_cert_type: "02".into(),
        mdtrt_cert_no: certno(psn_no).into(),
        ipt_otp_no: format!("OTP{tag}"),
        atddr_no: "D001".into(),
        dr_name: "医生".into(),
        dept_code: "A03".into(),
        dept_name: "内科".into(),
        caty: "A03".into(),
        referral: false,
    });
    let mdtrt_id = match exec_at(db, inst, &format!("{tag}-2201"), "2201", register, when).await {
        Outcome::VisitOpened { mdtrt_id, .. } => mdtrt_id,
        other => panic!("2201 gave {other:?}"),
    };
    let mut info = visit_info(&mdtrt_id, psn_no, med_type, "");
    if let Command::UploadVisitInfo(ref mut i) = info {
        i.begntime = when;
        for d in &mut i.diagnoses {
            d.diag_time = Some(when);
        }
    }
    exec_at(db, inst, &format!("{tag}-2203"), "2203", info, when).await;
    let fees = Command::UploadFees(UploadFees {
        kind: VisitKind::Outpatient,
        lines: vec![one_line(&mdtrt_id, psn_no, when)],
    });
    exec_at(db, inst, &format!("{tag}-2204"), "2204", fees, when).await;
    let settle = settle_cmd(false, &mdtrt_id, psn_no, insutype(psn_no), 10_000, "0");
    settled(exec_at(db, inst, &format!("{tag}-2207"), "2207", settle, when).await)
}

/// Reverses an outpatient settlement (2208) on `day`.
pub async fn reverse(db: &TestDb, inst: &str, s: &SettlementView, psn_no: &str, day: &str) {
    let cmd = Command::ReverseSettlement(ReverseSettlement {
        kind: VisitKind::Outpatient,
        visit: VisitRef {
            psn_no: psn_no.into(),
            mdtrt_id: s.mdtrt_id.clone(),
            ipt_otp_no: None,
        },
        setl_id: s.setl_id.clone(),
    });
    exec_at(
        db,
        inst,
        &format!("R-{}", s.setl_id),
        "2208",
        cmd,
        at(day, "15:00:00"),
    )
    .await;
}

/// A fen amount as the export's decimal yuan text.
pub fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, (fen % 100).abs())
}
