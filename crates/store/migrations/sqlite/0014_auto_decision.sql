-- yibao store schema, migration 14 (the same on SQLite and PostgreSQL but for the append-only
-- triggers). 免申即享 (spec enrollment.md §3.10, §11): the decisions the registry takes by
-- itself when a department's record shows a person qualifies — the rule, the record that
-- triggered it (batch and line of migration 10's source records), the data in words and the
-- result — and their reversals, each with who and why. Both tables are only ever added to.
CREATE TABLE auto_decision (
    decision_id  BIGINT PRIMARY KEY,
    psn_no       TEXT NOT NULL REFERENCES person (psn_no),
    rule_id      TEXT NOT NULL CHECK (rule_id <> ''),
    batch_id     TEXT NOT NULL REFERENCES registry_batch (batch_id),
    line         BIGINT NOT NULL,
    -- The triggering data, in words (the category, its dates).
    trigger_text TEXT NOT NULL,
    -- subsidy, assistance, enroll (an identity list's category) or newborn (a birth the police
    -- feed registered).
    result_kind  TEXT NOT NULL CHECK (result_kind IN ('subsidy', 'assistance', 'enroll', 'newborn')),
    -- The result as JSON (amounts in fen).
    result       TEXT NOT NULL,
    decided_at   TEXT NOT NULL,
    UNIQUE (rule_id, batch_id, line)
);
CREATE INDEX auto_decision_psn ON auto_decision (psn_no);

CREATE TABLE auto_decision_undo (
    decision_id  BIGINT PRIMARY KEY REFERENCES auto_decision (decision_id),
    staff_id     BIGINT NOT NULL REFERENCES staff_account (staff_id),
    reason       TEXT NOT NULL CHECK (reason <> ''),
    undone_at    TEXT NOT NULL
);

CREATE TRIGGER auto_decision_no_update BEFORE UPDATE ON auto_decision
BEGIN
    SELECT RAISE(ABORT, 'auto_decision is append-only');
END;
CREATE TRIGGER auto_decision_no_delete BEFORE DELETE ON auto_decision
BEGIN
    SELECT RAISE(ABORT, 'auto_decision is append-only');
END;
CREATE TRIGGER auto_decision_undo_no_update BEFORE UPDATE ON auto_decision_undo
BEGIN
    SELECT RAISE(ABORT, 'auto_decision_undo is append-only');
END;
CREATE TRIGGER auto_decision_undo_no_delete BEFORE DELETE ON auto_decision_undo
BEGIN
    SELECT RAISE(ABORT, 'auto_decision_undo is append-only');
END;
