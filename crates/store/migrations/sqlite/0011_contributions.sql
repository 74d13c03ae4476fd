-- Contributions (缴费, spec enrollment.md §3.3, §3.6, §3.7, §5): employers, the wages they
-- declare, assessments (核定) with their payer lines, payments from the tax bureau (实缴), the
-- contribution-years ledger, the runs that assess a month or a year and the cases a run opens.
-- Append-only: a refund, a write-off or a correction is a new row linked to the original
-- (`orig_assessment_id`, `revs_of_payment_id`), never an update. The ledger transfers of an
-- assessment are under ref_id = assessment_id; a run's pooled income under ref_id = run_id:chunk.
-- The high-volume tables carry no foreign keys: the run writes them from rows it has just read.

CREATE TABLE employer (
    emp_no       TEXT PRIMARY KEY,
    emp_name     TEXT NOT NULL,
    insu_admdvs  TEXT NOT NULL
);

-- A person's declared wage for a contribution year (last year's average monthly wage), from
-- the employer's declaration. One per person and year; a different second declaration is refused.
CREATE TABLE payroll_base (
    psn_no       TEXT NOT NULL,
    year         BIGINT NOT NULL,
    emp_no       TEXT NOT NULL REFERENCES employer (emp_no),
    wage_fen     BIGINT NOT NULL CHECK (wage_fen >= 0),
    source       TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    PRIMARY KEY (psn_no, year)
);

-- One run per kind and period ('employee', 'YYYY-MM') or ('resident', 'YYYY'). finished_at is
-- NULL while a run is incomplete (a crash between chunks); the next run resumes it.
CREATE TABLE contribution_run (
    run_id       TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('employee', 'resident')),
    period       TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    chunks       BIGINT NOT NULL CHECK (chunks >= 0),
    UNIQUE (kind, period)
);

-- An assessment (核定/应缴). clct_type: 'normal' (an in-service month or a resident year),
-- 'retiree_credit' (a retiree's fixed monthly account credit), 'refund' (sign -1, linked).
-- clct_sum = employer + employee + the other payer lines = into_acct + into_pool for a
-- contribution; a retiree credit moves into_acct from the pooled fund and has clct_sum 0.
CREATE TABLE contribution_assessment (
    assessment_id       TEXT PRIMARY KEY,
    psn_no              TEXT NOT NULL,
    insutype            TEXT NOT NULL,
    insu_admdvs         TEXT NOT NULL,
    period              TEXT NOT NULL,
    clct_type           TEXT NOT NULL CHECK (clct_type IN ('normal', 'retiree_credit', 'refund')),
    psn_type            TEXT NOT NULL,
    base_fen            BIGINT NOT NULL CHECK (base_fen >= 0),
    emp_clct_fen        BIGINT NOT NULL,
    psn_clct_fen        BIGINT NOT NULL,
    oth_clct_fen        BIGINT NOT NULL,
    into_acct_fen       BIGINT NOT NULL,
    into_pool_fen       BIGINT NOT NULL,
    clct_sum_fen        BIGINT NOT NULL,
    sign                BIGINT NOT NULL CHECK (sign IN (1, -1)),
    params_id           TEXT NOT NULL,
    run_id              TEXT,
    orig_assessment_id  TEXT REFERENCES contribution_assessment (assessment_id),
    assessed_at         TEXT NOT NULL,
    CHECK (clct_sum_fen = emp_clct_fen + psn_clct_fen + oth_clct_fen),
    CHECK (clct_type = 'retiree_credit' OR clct_sum_fen = into_acct_fen + into_pool_fen),
    CHECK (sign * emp_clct_fen >= 0 AND sign * psn_clct_fen >= 0 AND sign * oth_clct_fen >= 0),
    CHECK ((sign = -1) = (orig_assessment_id IS NOT NULL))
);
-- One assessment of a kind per relation and period: what makes a run idempotent.
CREATE UNIQUE INDEX contribution_assessment_once
    ON contribution_assessment (psn_no, insutype, period, clct_type);
CREATE INDEX contribution_assessment_run ON contribution_assessment (run_id);

-- Who pays a resident assessment (spec §3.6 subsidy lines): individual, finance_base,
-- assistance_fund, finance_special …; they add up to the assessment's clct_sum.
CREATE TABLE contribution_payer_line (
    assessment_id  TEXT NOT NULL REFERENCES contribution_assessment (assessment_id),
    payer          TEXT NOT NULL,
    amount_fen     BIGINT NOT NULL,
    PRIMARY KEY (assessment_id, payer)
);

-- A payment from the tax bureau (实缴); a write-off is a new row with revs_of_payment_id.
CREATE TABLE contribution_payment (
    payment_id          TEXT PRIMARY KEY,
    assessment_id       TEXT NOT NULL REFERENCES contribution_assessment (assessment_id),
    amount_fen          BIGINT NOT NULL,
    elec_taxrpt_no      TEXT NOT NULL,
    clct_time           TEXT NOT NULL,
    revs_of_payment_id  TEXT REFERENCES contribution_payment (payment_id),
    recorded_at         TEXT NOT NULL,
    UNIQUE (elec_taxrpt_no, assessment_id, amount_fen)
);

-- Contribution years (缴费年限) brought from elsewhere: one row per person, region and source
-- ('transfer_in', 'deemed', 'one_off_backpay', 'opening'). Local months actually paid are not
-- copied here: they are the person's 'normal' employee assessments.
CREATE TABLE contribution_years (
    psn_no         TEXT NOT NULL,
    insutype       TEXT NOT NULL,
    admdvs         TEXT NOT NULL,
    source         TEXT NOT NULL CHECK (source IN ('transfer_in', 'deemed', 'one_off_backpay', 'opening')),
    months_actual  BIGINT NOT NULL CHECK (months_actual >= 0),
    months_deemed  BIGINT NOT NULL CHECK (months_deemed >= 0),
    recorded_at    TEXT NOT NULL,
    PRIMARY KEY (psn_no, insutype, admdvs, source)
);

-- What a run could not assess (a case for a clerk, never a guess): 'no_wage' (no declaration
-- for the year), 'no_params' (no parameter set for the region and year), 'no_tier' … One per
-- relation, period and reason.
CREATE TABLE contribution_case (
    period       TEXT NOT NULL,
    psn_no       TEXT NOT NULL,
    insutype     TEXT NOT NULL,
    reason       TEXT NOT NULL,
    detail       TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    opened_at    TEXT NOT NULL,
    PRIMARY KEY (period, psn_no, insutype, reason)
);
