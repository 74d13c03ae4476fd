-- yibao store schema, migration 16 (the same on SQLite and PostgreSQL but for the append-only
-- triggers). 生育津贴 without a claim (spec enrollment.md §11): for each employee's delivery
-- stay settled in a month, the allowance the enrollment engine computes — the employer's
-- average declared wage ÷ 30 × the leave days the region grants for the delivery type — paid
-- from the employees' pooled fund to the employer, or refused with the unmet condition. One row
-- per stay, never changed.
CREATE TABLE maternity_allowance (
    mdtrt_id           TEXT PRIMARY KEY REFERENCES visit (mdtrt_id),
    setl_id            TEXT NOT NULL REFERENCES settlement (setl_id),
    psn_no             TEXT NOT NULL REFERENCES person (psn_no),
    period             TEXT NOT NULL,
    delivery_date      TEXT NOT NULL,
    -- normal, difficult, miscarriage_under_4_months, miscarriage_from_4_months; '' refused before.
    delivery           TEXT NOT NULL,
    babies             BIGINT NOT NULL CHECK (babies >= 0),
    continuous_months  BIGINT NOT NULL CHECK (continuous_months >= 0),
    emp_no             TEXT NOT NULL,
    base_fen           BIGINT NOT NULL CHECK (base_fen >= 0),
    leave_days         BIGINT NOT NULL CHECK (leave_days >= 0),
    amount_fen         BIGINT NOT NULL CHECK (amount_fen >= 0),
    -- The ledger account paid ('' when refused).
    paid_to            TEXT NOT NULL,
    outcome            TEXT NOT NULL CHECK (outcome IN ('paid', 'refused')),
    reason             TEXT NOT NULL,
    decided_at         TEXT NOT NULL,
    CHECK ((outcome = 'paid') = (amount_fen > 0 AND paid_to <> ''))
);
CREATE INDEX maternity_allowance_period ON maternity_allowance (period);

CREATE TRIGGER maternity_allowance_append_only BEFORE UPDATE OR DELETE ON maternity_allowance
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
