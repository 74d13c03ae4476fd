-- yibao store schema, migration 18 (the same on SQLite and PostgreSQL but for the append-only
-- triggers). Payments from the tax bureau (缴费到账, spec enrollment.md §4.3, §5.5) and the
-- residents' benefit periods they buy (待遇享受期 and 待遇等待期, §4.2, §5.3).
--
-- A tax payment file is one batch, identified by the SHA-256 of its bytes: a replayed file is
-- recognised and writes nothing; its refused lines are kept so the replay reports them again.
-- The payments themselves are `contribution_payment` rows (migration 11), read by assessment
-- (settlement sums an assessment's payments).
CREATE INDEX contribution_payment_assessment ON contribution_payment (assessment_id);

CREATE TABLE tax_batch (
    batch_id         TEXT PRIMARY KEY,
    file_name        TEXT NOT NULL,
    actor            TEXT NOT NULL CHECK (actor <> ''),
    recorded_at      TEXT NOT NULL,
    rows_read        BIGINT NOT NULL CHECK (rows_read >= 0),
    rows_taken       BIGINT NOT NULL CHECK (rows_taken >= 0),
    rows_matched     BIGINT NOT NULL CHECK (rows_matched >= 0),
    rows_refused     BIGINT NOT NULL CHECK (rows_refused >= 0),
    payments         BIGINT NOT NULL CHECK (payments >= 0),
    amount_fen       BIGINT NOT NULL CHECK (amount_fen >= 0),
    benefit_periods  BIGINT NOT NULL CHECK (benefit_periods >= 0),
    waiting          BIGINT NOT NULL CHECK (waiting >= 0 AND waiting <= benefit_periods),
    CHECK (rows_read = rows_taken + rows_refused)
);

CREATE TABLE tax_refusal (
    batch_id  TEXT NOT NULL REFERENCES tax_batch (batch_id),
    line      BIGINT NOT NULL CHECK (line >= 2),
    reason    TEXT NOT NULL CHECK (reason <> ''),
    PRIMARY KEY (batch_id, line)
);

-- A resident's benefit period for a year (§4.2: separate from the relation's status), decided
-- once when the year's assessment became paid (payments reach its individual part; a fully
-- subsidised assessment is paid when assessed). start_date > visit date: the person waits
-- (待遇等待期); start_date > end_date: the payment bought no benefit days that year. `trace`
-- is the arithmetic in words; one row per person and year. Settlement reads it. No foreign
-- key: like the contribution tables it is written in bulk from assessments just read.
CREATE TABLE benefit_period (
    psn_no          TEXT NOT NULL,
    insutype        TEXT NOT NULL CHECK (insutype = '390'),
    year            BIGINT NOT NULL,
    assessment_id   TEXT NOT NULL,
    paid_on         TEXT NOT NULL,
    start_date      TEXT NOT NULL,
    end_date        TEXT NOT NULL,
    waiting_months  BIGINT NOT NULL CHECK (waiting_months >= 0),
    trace           TEXT NOT NULL CHECK (trace <> ''),
    decided_at      TEXT NOT NULL,
    PRIMARY KEY (psn_no, insutype, year)
);

CREATE TRIGGER tax_batch_append_only BEFORE UPDATE OR DELETE ON tax_batch
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER tax_refusal_append_only BEFORE UPDATE OR DELETE ON tax_refusal
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER benefit_period_append_only BEFORE UPDATE OR DELETE ON benefit_period
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
