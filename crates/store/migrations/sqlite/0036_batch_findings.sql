-- Batch findings into review (事后, `yibao audit batch --db`; docs/AUDIT.md "Batch findings into
-- review"). A batch run's hits about a settlement become rows of audit_finding (infno and
-- trig_scen 'batch', msgid and task_id the run, the person and visit read from the settlement
-- here: the export never held psn_no) with a case each in audit_case. A hit that names no
-- settlement (a model about an institution as a whole) has no person, no visit and no money:
-- audit_case needs all three (the upheld amount is bounded by the money flagged), so such a hit
-- is kept here as a lead for inspection, never as a case. Append-only: a run and a lead are
-- written once and never updated.

-- One batch run as first recorded: the year, the export it read (the SM3 of its manifest: the
-- input snapshot), the engine, and every rule it ran with its version and parameters (JSON).
-- `run_id` is a digest of these, so the same run recorded again is this one row; the counts
-- are those of the first recording.
CREATE TABLE audit_batch_run (
    run_id          TEXT PRIMARY KEY,
    year            BIGINT NOT NULL,
    input_hash      TEXT NOT NULL,
    engine          TEXT NOT NULL,
    rules           TEXT NOT NULL,
    findings        BIGINT NOT NULL CHECK (findings >= 0),
    new_findings    BIGINT NOT NULL CHECK (new_findings >= 0 AND new_findings <= findings),
    cases_opened    BIGINT NOT NULL CHECK (cases_opened >= 0 AND cases_opened <= new_findings),
    leads           BIGINT NOT NULL CHECK (leads >= 0),
    new_leads       BIGINT NOT NULL CHECK (new_leads >= 0 AND new_leads <= leads),
    recorded_by     TEXT NOT NULL,
    recorded_at     TEXT NOT NULL
);

-- An institution-level hit: `lead_id` is a digest of the rule, its parameters, the institution,
-- the period and the code, so the same hit recorded again adds nothing. `evidence` is JSON: the
-- run, the export's digest, the parameters and the model's statistics.
CREATE TABLE audit_batch_lead (
    lead_id         TEXT PRIMARY KEY,
    run_id          TEXT NOT NULL REFERENCES audit_batch_run (run_id),
    fixmedins_code  TEXT NOT NULL REFERENCES institution (fixmedins_code),
    rule_id         TEXT NOT NULL,
    rule_version    BIGINT NOT NULL,
    sev_deg         BIGINT NOT NULL CHECK (sev_deg IN (1, 2, 3)),
    begin_date      TEXT NOT NULL,
    end_date        TEXT,
    code            TEXT,
    measure         BIGINT NOT NULL,
    vola_cont       TEXT NOT NULL,
    evidence        TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX audit_batch_lead_inst ON audit_batch_lead (fixmedins_code, rule_id);

-- A settlement is flagged once per rule, whatever flagged it first (its own audit at
-- settlement, 事中, or a batch run with other parameters): the lookup by settlement.
CREATE INDEX audit_finding_setl ON audit_finding (setl_id, rule_id);

CREATE TRIGGER audit_batch_run_no_update BEFORE UPDATE ON audit_batch_run
BEGIN
    SELECT RAISE(ABORT, 'audit_batch_run is append-only');
END;
CREATE TRIGGER audit_batch_run_no_delete BEFORE DELETE ON audit_batch_run
BEGIN
    SELECT RAISE(ABORT, 'audit_batch_run is append-only');
END;
CREATE TRIGGER audit_batch_lead_no_update BEFORE UPDATE ON audit_batch_lead
BEGIN
    SELECT RAISE(ABORT, 'audit_batch_lead is append-only');
END;
CREATE TRIGGER audit_batch_lead_no_delete BEFORE DELETE ON audit_batch_lead
BEGIN
    SELECT RAISE(ABORT, 'audit_batch_lead is append-only');
END;
