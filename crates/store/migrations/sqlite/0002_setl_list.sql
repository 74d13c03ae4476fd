-- yibao store schema, migration 2 (SQLite; ../postgres/0002_setl_list.sql is the same).
-- 4101A 医疗保障基金结算清单 (settlement list) uploads and their DRG groups.
--
-- A list is never edited in place: every accepted upload for a settlement (setl_id) by its
-- institution is a new row with the next version number, and the latest version wins. Earlier
-- versions stay as they were sent (what the hospital declared, and when). Amounts are BIGINT
-- fen; dates and times are ISO text; absent optional values are '' (text) or NULL (numbers).
CREATE TABLE setl_list (
    setl_list_id      TEXT PRIMARY KEY,
    fixmedins_code    TEXT NOT NULL REFERENCES institution (fixmedins_code),
    setl_id           TEXT NOT NULL REFERENCES settlement (setl_id),
    version           BIGINT NOT NULL CHECK (version >= 1),
    mdtrt_id          TEXT NOT NULL REFERENCES visit (mdtrt_id),
    psn_no            TEXT NOT NULL REFERENCES person (psn_no),
    msgid             TEXT NOT NULL,
    uploaded_at       TEXT NOT NULL,
    medcasno          TEXT NOT NULL,
    gend              TEXT NOT NULL,
    age_years         BIGINT CHECK (age_years >= 0),
    nwb_age_days      BIGINT CHECK (nwb_age_days >= 0),
    nwb_bir_wt_g      BIGINT CHECK (nwb_bir_wt_g >= 0),
    nwb_adm_wt_g      BIGINT CHECK (nwb_adm_wt_g >= 0),
    ntly              TEXT NOT NULL,
    prfs              TEXT NOT NULL,
    adm_way           TEXT NOT NULL,
    trt_type          TEXT NOT NULL,
    adm_time          TEXT NOT NULL,
    adm_caty          TEXT NOT NULL,
    dscg_time         TEXT NOT NULL,
    dscg_caty         TEXT NOT NULL,
    dscg_way          TEXT NOT NULL,
    los_days          BIGINT NOT NULL CHECK (los_days >= 0),
    vent_used_dura    TEXT NOT NULL,
    setl_begn_date    TEXT NOT NULL,
    setl_end_date     TEXT NOT NULL,
    hi_paymtd         TEXT NOT NULL,
    bill_code         TEXT NOT NULL,
    bill_no           TEXT NOT NULL,
    biz_sn            TEXT NOT NULL,
    chfpdr_code       TEXT NOT NULL,
    medins_fill_dept  TEXT NOT NULL,
    medins_fill_psn   TEXT NOT NULL,
    UNIQUE (fixmedins_code, setl_id, version),
    CHECK (setl_begn_date <= setl_end_date),
    CHECK (adm_time = '' OR dscg_time = '' OR adm_time <= dscg_time)
);
CREATE INDEX setl_list_psn ON setl_list (fixmedins_code, psn_no);
CREATE INDEX setl_list_mdtrt ON setl_list (mdtrt_id);

-- diseinfo[]: seq is the row's position in the upload (0-based).
CREATE TABLE setl_list_diagnosis (
    setl_list_id   TEXT NOT NULL REFERENCES setl_list (setl_list_id),
    seq            BIGINT NOT NULL CHECK (seq >= 0),
    diag_type      TEXT NOT NULL,
    diag_code      TEXT NOT NULL,
    diag_name      TEXT NOT NULL,
    adm_cond_type  TEXT NOT NULL,
    maindiag_flag  BIGINT NOT NULL CHECK (maindiag_flag IN (0, 1)),
    PRIMARY KEY (setl_list_id, seq)
);

-- oprninfo[].
CREATE TABLE setl_list_operation (
    setl_list_id        TEXT NOT NULL REFERENCES setl_list (setl_list_id),
    seq                 BIGINT NOT NULL CHECK (seq >= 0),
    oprn_oprt_type      TEXT NOT NULL,
    oprn_oprt_code      TEXT NOT NULL,
    oprn_oprt_name      TEXT NOT NULL,
    oprn_oprt_date      TEXT NOT NULL,
    anst_way            TEXT NOT NULL,
    oper_dr_code        TEXT NOT NULL,
    anst_dr_code        TEXT NOT NULL,
    main_oprn_flag      BIGINT NOT NULL CHECK (main_oprn_flag IN (0, 1)),
    PRIMARY KEY (setl_list_id, seq)
);

-- icuinfo[].
CREATE TABLE setl_list_icu (
    setl_list_id          TEXT NOT NULL REFERENCES setl_list (setl_list_id),
    seq                   BIGINT NOT NULL CHECK (seq >= 0),
    scs_cutd_ward_type    TEXT NOT NULL,
    scs_cutd_inpool_time  TEXT NOT NULL,
    scs_cutd_exit_time    TEXT NOT NULL,
    scs_cutd_sum_dura     TEXT NOT NULL,
    PRIMARY KEY (setl_list_id, seq),
    CHECK (scs_cutd_inpool_time <= scs_cutd_exit_time)
);

-- payinfo[]: what the hospital declares each fund paid (fen).
CREATE TABLE setl_list_payment (
    setl_list_id     TEXT NOT NULL REFERENCES setl_list (setl_list_id),
    seq              BIGINT NOT NULL CHECK (seq >= 0),
    fund_pay_type    TEXT NOT NULL,
    fund_payamt_fen  BIGINT NOT NULL,
    PRIMARY KEY (setl_list_id, seq)
);

-- The CHS-DRG group of one list version, computed when it was accepted. status is the grouper's
-- outcome (grouped, ungroupable, ambiguous, invalid); codes are the reference grouper's
-- ('0000'/'00' when none); trace is the grouper's compact account of how it got there.
CREATE TABLE setl_list_group (
    setl_list_id  TEXT PRIMARY KEY REFERENCES setl_list (setl_list_id),
    scheme        TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('grouped', 'ungroupable', 'ambiguous', 'invalid')),
    mdc           TEXT NOT NULL,
    adrg          TEXT NOT NULL,
    drg           TEXT NOT NULL,
    drg_name      TEXT NOT NULL,
    cc_level      TEXT NOT NULL CHECK (cc_level IN ('none', 'CC', 'MCC')),
    trace         TEXT NOT NULL
);

-- bldinfo[]: blood transfused (bld_amt in the unit bld_unt).
CREATE TABLE setl_list_blood (
    setl_list_id  TEXT NOT NULL REFERENCES setl_list (setl_list_id),
    seq           BIGINT NOT NULL CHECK (seq >= 0),
    bld_cat       TEXT NOT NULL,
    bld_amt       BIGINT CHECK (bld_amt >= 0),
    bld_unt       TEXT NOT NULL,
    PRIMARY KEY (setl_list_id, seq)
);

-- opspdiseinfo[]: outpatient chronic and special disease diagnoses (门诊慢特病).
CREATE TABLE setl_list_opsp_diagnosis (
    setl_list_id    TEXT NOT NULL REFERENCES setl_list (setl_list_id),
    seq             BIGINT NOT NULL CHECK (seq >= 0),
    diag_code       TEXT NOT NULL,
    diag_name       TEXT NOT NULL,
    oprn_oprt_code  TEXT NOT NULL,
    oprn_oprt_name  TEXT NOT NULL,
    PRIMARY KEY (setl_list_id, seq)
);
