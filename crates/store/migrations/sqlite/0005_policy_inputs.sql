-- yibao store schema, migration 5: registry facts the policy language's conditions read
-- (docs/POLICY.md, "Conditions"). The same on SQLite and PostgreSQL.

-- 缴费档次: a person's contribution tier (一档 '1', 二档 '2' …) for an insurance type over a
-- period; a policy's ratios and serious-illness rules may depend on it.
CREATE TABLE contribution_tier (
    psn_no     TEXT NOT NULL REFERENCES person (psn_no),
    insutype   TEXT NOT NULL,
    clct_tier  TEXT NOT NULL,
    begndate   TEXT NOT NULL,
    enddate    TEXT NOT NULL,
    PRIMARY KEY (psn_no, insutype, begndate)
);

-- 机构类别: the kinds of an institution a policy may name (village, community, township, tcm,
-- dual_channel, specialist, rehabilitation, private).
CREATE TABLE institution_kind (
    fixmedins_code  TEXT NOT NULL REFERENCES institution (fixmedins_code),
    kind            TEXT NOT NULL,
    PRIMARY KEY (fixmedins_code, kind)
);

-- 年度累计期初: the accumulators a person brought in at the start of the store's life (a bureau
-- migrating mid-year, or the demo city's earlier care). They are also added to ytd; the ledger
-- check counts them beside what the settlements added.
CREATE TABLE ytd_opening (
    psn_no                 TEXT NOT NULL REFERENCES person (psn_no),
    year                   BIGINT NOT NULL,
    inpatient_admissions   BIGINT NOT NULL CHECK (inpatient_admissions >= 0),
    hifp_inpatient         BIGINT NOT NULL CHECK (hifp_inpatient >= 0),
    hifp_outpatient        BIGINT NOT NULL CHECK (hifp_outpatient >= 0),
    outpatient_deductible  BIGINT NOT NULL CHECK (outpatient_deductible >= 0),
    hifmi_base             BIGINT NOT NULL CHECK (hifmi_base >= 0),
    PRIMARY KEY (psn_no, year)
);

-- 转诊 / 转院: a visit that came by referral (2201 exp_content OTP_ER_REFL_FLAG 2 or 3) and an
-- admission transferred in from another hospital (2401 exp_content IPT_TYPE 3), which policy
-- conditions and deductible rules read.
ALTER TABLE visit ADD COLUMN referral BIGINT NOT NULL DEFAULT 0 CHECK (referral IN (0, 1));
ALTER TABLE visit ADD COLUMN transfer_in BIGINT NOT NULL DEFAULT 0 CHECK (transfer_in IN (0, 1));
