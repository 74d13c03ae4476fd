-- yibao store schema (SQLite). The PostgreSQL schema in ../postgres is the same logical schema.
-- Money is BIGINT fen; prices are BIGINT micro-yuan (6 decimals); counts are BIGINT 1/10000;
-- ratios are BIGINT millionths (ppm). Dates and times are ISO text. Flags are BIGINT 0/1.

-- ---------------------------------------------------------------- registry
CREATE TABLE person (
    psn_no      TEXT PRIMARY KEY,
    certno      TEXT NOT NULL UNIQUE,
    psn_name    TEXT NOT NULL,
    gend        TEXT NOT NULL,
    brdy        TEXT NOT NULL,
    naty        TEXT NOT NULL,
    tel         TEXT NOT NULL
);

CREATE TABLE insurance (
    psn_no          TEXT NOT NULL REFERENCES person (psn_no),
    insutype        TEXT NOT NULL,
    psn_type        TEXT NOT NULL,
    insuplc_admdvs  TEXT NOT NULL,
    emp_name        TEXT NOT NULL,
    begndate        TEXT NOT NULL,
    enddate         TEXT NOT NULL,
    psn_insu_stas   TEXT NOT NULL CHECK (psn_insu_stas IN ('1', '2', '4')),
    PRIMARY KEY (psn_no, insutype, begndate)
);

CREATE TABLE identity (
    psn_no       TEXT NOT NULL REFERENCES person (psn_no),
    sp_psn_type  TEXT NOT NULL,
    begndate     TEXT NOT NULL,
    enddate      TEXT NOT NULL,
    source_dept  TEXT NOT NULL,
    PRIMARY KEY (psn_no, sp_psn_type, begndate)
);

CREATE TABLE family_binding (
    psn_no         TEXT NOT NULL REFERENCES person (psn_no),
    family_psn_no  TEXT NOT NULL REFERENCES person (psn_no),
    bind_order     BIGINT NOT NULL CHECK (bind_order >= 1),
    begndate       TEXT NOT NULL,
    enddate        TEXT NOT NULL,
    PRIMARY KEY (psn_no, bind_order),
    CHECK (psn_no <> family_psn_no)
);

CREATE TABLE institution (
    fixmedins_code  TEXT PRIMARY KEY,
    fixmedins_name  TEXT NOT NULL,
    fixmedins_type  TEXT NOT NULL CHECK (fixmedins_type IN ('1', '2')),
    hosp_lv         TEXT NOT NULL,
    hi_setl_lv      TEXT NOT NULL CHECK (hi_setl_lv IN ('1', '2', '3')),
    admdvs          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('0', '1')),
    access_key      TEXT NOT NULL UNIQUE,
    secret_key      TEXT NOT NULL
);

CREATE TABLE filing (
    trt_dcla_detl_sn  TEXT PRIMARY KEY,
    psn_no            TEXT NOT NULL REFERENCES person (psn_no),
    dcla_type         TEXT NOT NULL,
    insuplc_admdvs    TEXT NOT NULL,
    mdtrtarea_admvs   TEXT NOT NULL,
    begndate          TEXT NOT NULL,
    enddate           TEXT NOT NULL
);
CREATE INDEX filing_psn ON filing (psn_no);

-- The catalogue file and the policy files, kept verbatim; parsed once at start by the engine's
-- parsers and cached in memory (they are immutable between imports).
CREATE TABLE registry_document (
    kind  TEXT NOT NULL CHECK (kind IN ('catalogue', 'policy')),
    name  TEXT NOT NULL,
    body  TEXT NOT NULL,
    PRIMARY KEY (kind, name)
);

-- ---------------------------------------------------------------- ledger
-- An account's balance is sum(credits) - sum(debits). It is kept in one or more shard rows of
-- ledger_balance (hot accounts such as a region's fund are spread over shards so that concurrent
-- settlements of different persons do not queue on one row); the balance is the sum of its shards.
-- Personal accounts use shard 0 only, and may never go negative.
CREATE TABLE ledger_account (
    account_code     TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('fund', 'institution', 'personal', 'cash', 'opening')),
    owner            TEXT NOT NULL,
    may_go_negative  BIGINT NOT NULL CHECK (may_go_negative IN (0, 1))
);

CREATE TABLE ledger_balance (
    account_code     TEXT NOT NULL REFERENCES ledger_account (account_code),
    shard            BIGINT NOT NULL CHECK (shard >= 0),
    may_go_negative  BIGINT NOT NULL CHECK (may_go_negative IN (0, 1)),
    balance_fen      BIGINT NOT NULL,
    PRIMARY KEY (account_code, shard),
    CHECK (may_go_negative = 1 OR balance_fen >= 0)
);

CREATE TABLE ledger_transfer (
    ref_id          TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    debit_account   TEXT NOT NULL REFERENCES ledger_account (account_code),
    credit_account  TEXT NOT NULL REFERENCES ledger_account (account_code),
    amount_fen      BIGINT NOT NULL CHECK (amount_fen > 0),
    kind            TEXT NOT NULL,
    PRIMARY KEY (ref_id, seq),
    CHECK (debit_account <> credit_account)
);

-- ---------------------------------------------------------------- visits
CREATE TABLE sign_in (
    sign_no         TEXT PRIMARY KEY,
    fixmedins_code  TEXT NOT NULL REFERENCES institution (fixmedins_code),
    opter_no        TEXT NOT NULL,
    mac             TEXT NOT NULL,
    ip              TEXT NOT NULL,
    sign_time       TEXT NOT NULL,
    sign_out_time   TEXT
);

-- kind 'otp' outpatient/pharmacy (2201), 'ipt' inpatient (2401).
-- status: 'open', 'discharged' (ipt), 'settled', 'cancelled'.
CREATE TABLE visit (
    mdtrt_id         TEXT PRIMARY KEY,
    fixmedins_code   TEXT NOT NULL REFERENCES institution (fixmedins_code),
    psn_no           TEXT NOT NULL REFERENCES person (psn_no),
    insutype         TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('otp', 'ipt')),
    status           TEXT NOT NULL CHECK (status IN ('open', 'discharged', 'settled', 'cancelled')),
    med_type         TEXT NOT NULL,
    ipt_otp_no       TEXT NOT NULL,
    begntime         TEXT NOT NULL,
    endtime          TEXT NOT NULL,
    mdtrt_cert_type  TEXT NOT NULL,
    mdtrt_cert_no    TEXT NOT NULL,
    dept_code        TEXT NOT NULL,
    dept_name        TEXT NOT NULL,
    atddr_no         TEXT NOT NULL,
    dr_name          TEXT NOT NULL,
    dise_codg        TEXT NOT NULL,
    dise_name        TEXT NOT NULL,
    main_cond_dscr   TEXT NOT NULL,
    dscg_way         TEXT NOT NULL,
    mdtrtarea_admvs  TEXT NOT NULL,
    n_fee_lines      BIGINT NOT NULL DEFAULT 0 CHECK (n_fee_lines >= 0),
    created_at       TEXT NOT NULL
);
CREATE INDEX visit_psn ON visit (psn_no, status);
CREATE INDEX visit_inst ON visit (fixmedins_code);

CREATE TABLE diagnosis (
    mdtrt_id       TEXT NOT NULL REFERENCES visit (mdtrt_id),
    diag_type      TEXT NOT NULL,
    diag_srt_no    BIGINT NOT NULL,
    diag_code      TEXT NOT NULL,
    diag_name      TEXT NOT NULL,
    diag_dept      TEXT NOT NULL,
    dise_dor_no    TEXT NOT NULL,
    dise_dor_name  TEXT NOT NULL,
    diag_time      TEXT NOT NULL,
    maindiag_flag  TEXT NOT NULL,
    vali_flag      TEXT NOT NULL,
    PRIMARY KEY (mdtrt_id, diag_type, diag_srt_no)
);

-- One uploaded fee line with its classification (spec settlement.md section 3).
CREATE TABLE fee_line (
    mdtrt_id             TEXT NOT NULL REFERENCES visit (mdtrt_id),
    feedetl_sn           TEXT NOT NULL,
    chrg_bchno           TEXT NOT NULL,
    upload_msgid         TEXT NOT NULL,
    med_list_codg        TEXT NOT NULL,
    medins_list_codg     TEXT NOT NULL,
    fee_ocur_time        TEXT NOT NULL,
    hosp_appr_flag       TEXT NOT NULL,
    pric_micro           BIGINT NOT NULL CHECK (pric_micro >= 0),
    cnt_e4               BIGINT NOT NULL,
    amount_fen           BIGINT NOT NULL,
    in_catalogue         BIGINT NOT NULL CHECK (in_catalogue IN (0, 1)),
    chrgitm_lv           TEXT NOT NULL,
    med_chrgitm_type     TEXT NOT NULL,
    selfpay_prop_ppm     BIGINT NOT NULL CHECK (selfpay_prop_ppm BETWEEN 0 AND 1000000),
    pric_uplmt_micro     BIGINT,
    lmt_used_flag        TEXT NOT NULL,
    fulamt_ownpay_fen    BIGINT NOT NULL,
    overlmt_selfpay_fen  BIGINT NOT NULL,
    preselfpay_fen       BIGINT NOT NULL,
    inscp_scp_fen        BIGINT NOT NULL,
    setl_id              TEXT,
    PRIMARY KEY (mdtrt_id, feedetl_sn),
    CHECK (amount_fen = fulamt_ownpay_fen + overlmt_selfpay_fen + preselfpay_fen + inscp_scp_fen)
);
CREATE INDEX fee_line_setl ON fee_line (setl_id);

-- ---------------------------------------------------------------- settlements
-- setl_sign 1: a settlement; -1: a reversal (every amount negated, orig_setl_id set).
CREATE TABLE settlement (
    setl_id              TEXT PRIMARY KEY,
    setl_sign            BIGINT NOT NULL CHECK (setl_sign IN (1, -1)),
    orig_setl_id         TEXT UNIQUE REFERENCES settlement (setl_id),
    refd_setl_flag       BIGINT NOT NULL DEFAULT 0 CHECK (refd_setl_flag IN (0, 1)),
    mdtrt_id             TEXT NOT NULL REFERENCES visit (mdtrt_id),
    psn_no               TEXT NOT NULL REFERENCES person (psn_no),
    fixmedins_code       TEXT NOT NULL REFERENCES institution (fixmedins_code),
    medins_setl_id       TEXT NOT NULL,
    infno                TEXT NOT NULL,
    setl_time            TEXT NOT NULL,
    setl_date            TEXT NOT NULL,
    year                 BIGINT NOT NULL,
    insutype             TEXT NOT NULL,
    psn_type             TEXT NOT NULL,
    med_type             TEXT NOT NULL,
    clr_type             TEXT NOT NULL,
    insuplc_admdvs       TEXT NOT NULL,
    mdtrtarea_admvs      TEXT NOT NULL,
    hi_setl_lv           TEXT NOT NULL,
    acct_used_flag       TEXT NOT NULL,
    chrg_bchno           TEXT NOT NULL,
    invono               TEXT NOT NULL,
    medfee_sumamt        BIGINT NOT NULL,
    fulamt_ownpay_amt    BIGINT NOT NULL,
    overlmt_selfpay      BIGINT NOT NULL,
    preselfpay_amt       BIGINT NOT NULL,
    inscp_scp_amt        BIGINT NOT NULL,
    act_pay_dedc         BIGINT NOT NULL,
    pool_prop_selfpay_ppm BIGINT NOT NULL CHECK (pool_prop_selfpay_ppm BETWEEN 0 AND 1000000),
    hifp_pay             BIGINT NOT NULL,
    cvlserv_pay          BIGINT NOT NULL,
    hifes_pay            BIGINT NOT NULL,
    hifmi_pay            BIGINT NOT NULL,
    hifob_pay            BIGINT NOT NULL,
    maf_pay              BIGINT NOT NULL,
    oth_pay              BIGINT NOT NULL,
    fund_pay_sumamt      BIGINT NOT NULL,
    psn_part_amt         BIGINT NOT NULL,
    acct_pay             BIGINT NOT NULL,
    acct_mulaid_pay      BIGINT NOT NULL,
    psn_cash_pay         BIGINT NOT NULL,
    hosp_part_amt        BIGINT NOT NULL,
    balc                 BIGINT NOT NULL,
    -- What this settlement added to the person's year-to-date accumulators (negated on a reversal).
    ytd_inpatient_admissions  BIGINT NOT NULL,
    ytd_hifp_inpatient        BIGINT NOT NULL,
    ytd_hifp_outpatient       BIGINT NOT NULL,
    ytd_outpatient_deductible BIGINT NOT NULL,
    ytd_hifob                 BIGINT NOT NULL,
    ytd_hifmi_base            BIGINT NOT NULL,
    ytd_hifmi                 BIGINT NOT NULL,
    ytd_maf                   BIGINT NOT NULL,
    ytd_maf_deductible        BIGINT NOT NULL,
    setl_proc_info       TEXT NOT NULL,
    -- spec settlement.md section 6, backed here whatever the code does.
    CHECK (medfee_sumamt = fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt),
    CHECK (medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt),
    CHECK (fund_pay_sumamt = hifp_pay + cvlserv_pay + hifes_pay + hifmi_pay + hifob_pay + maf_pay + oth_pay),
    CHECK (psn_part_amt = acct_pay + psn_cash_pay),
    CHECK (setl_sign * (acct_pay - acct_mulaid_pay) >= 0),
    CHECK (setl_sign * (inscp_scp_amt - hifp_pay - hifob_pay - hifmi_pay - maf_pay) >= 0),
    CHECK (setl_sign * medfee_sumamt >= 0 AND setl_sign * fulamt_ownpay_amt >= 0
       AND setl_sign * overlmt_selfpay >= 0 AND setl_sign * preselfpay_amt >= 0
       AND setl_sign * inscp_scp_amt >= 0 AND setl_sign * act_pay_dedc >= 0
       AND setl_sign * hifp_pay >= 0 AND setl_sign * cvlserv_pay >= 0 AND setl_sign * hifes_pay >= 0
       AND setl_sign * hifmi_pay >= 0 AND setl_sign * hifob_pay >= 0 AND setl_sign * maf_pay >= 0
       AND setl_sign * oth_pay >= 0 AND setl_sign * fund_pay_sumamt >= 0
       AND setl_sign * psn_part_amt >= 0 AND setl_sign * acct_pay >= 0
       AND setl_sign * acct_mulaid_pay >= 0 AND setl_sign * psn_cash_pay >= 0
       AND setl_sign * hosp_part_amt >= 0),
    CHECK ((setl_sign = 1 AND orig_setl_id IS NULL) OR (setl_sign = -1 AND orig_setl_id IS NOT NULL)),
    CHECK (setl_sign = 1 OR refd_setl_flag = 0)
);
CREATE INDEX settlement_inst_date ON settlement (fixmedins_code, setl_date);
CREATE INDEX settlement_psn ON settlement (psn_no);
CREATE INDEX settlement_mdtrt ON settlement (mdtrt_id);

-- Year-to-date accumulators per person and calendar year (spec settlement.md section 5).
CREATE TABLE ytd (
    psn_no                 TEXT NOT NULL REFERENCES person (psn_no),
    year                   BIGINT NOT NULL,
    inpatient_admissions   BIGINT NOT NULL DEFAULT 0 CHECK (inpatient_admissions >= 0),
    hifp_inpatient         BIGINT NOT NULL DEFAULT 0 CHECK (hifp_inpatient >= 0),
    hifp_outpatient        BIGINT NOT NULL DEFAULT 0 CHECK (hifp_outpatient >= 0),
    outpatient_deductible  BIGINT NOT NULL DEFAULT 0 CHECK (outpatient_deductible >= 0),
    hifob                  BIGINT NOT NULL DEFAULT 0 CHECK (hifob >= 0),
    hifmi_base             BIGINT NOT NULL DEFAULT 0 CHECK (hifmi_base >= 0),
    hifmi                  BIGINT NOT NULL DEFAULT 0 CHECK (hifmi >= 0),
    maf                    BIGINT NOT NULL DEFAULT 0 CHECK (maf >= 0),
    maf_deductible         BIGINT NOT NULL DEFAULT 0 CHECK (maf_deductible >= 0),
    PRIMARY KEY (psn_no, year)
);

-- Keyed accumulators: `chronic:<disease key>` (basic fund paid per chronic disease) and
-- `other:<name>` (policy-named accumulators of extra layers and special outpatient benefits).
CREATE TABLE ytd_keyed (
    psn_no      TEXT NOT NULL REFERENCES person (psn_no),
    year        BIGINT NOT NULL,
    key         TEXT NOT NULL,
    amount_fen  BIGINT NOT NULL CHECK (amount_fen >= 0),
    PRIMARY KEY (psn_no, year, key)
);

-- What one settlement added to the keyed accumulators (negated on its reversal).
CREATE TABLE settlement_ytd_keyed (
    setl_id    TEXT NOT NULL REFERENCES settlement (setl_id),
    key        TEXT NOT NULL,
    delta_fen  BIGINT NOT NULL,
    PRIMARY KEY (setl_id, key)
);

-- ---------------------------------------------------------------- idempotency
-- One row per (institution, msgid) that changed something, written in the same transaction as
-- the change. effect_kind/effect_ref say what it did so that 2601 can undo it. A 2601 for an
-- msgid never seen leaves a 'revoked' row so that the late original is refused.
CREATE TABLE idempotency (
    fixmedins_code  TEXT NOT NULL,
    msgid           TEXT NOT NULL,
    infno           TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    response        TEXT NOT NULL,
    effect_kind     TEXT NOT NULL,
    effect_ref      TEXT NOT NULL,
    revoked_by      TEXT,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (fixmedins_code, msgid)
);
