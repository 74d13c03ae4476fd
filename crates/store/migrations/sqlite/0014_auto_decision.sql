-- yibao store schema, migration 14 (the same on SQLite and PostgreSQL but for the append-only
-- triggers). 免申即享 (spec enrollment.md §3.10, §11): the decisions the registry takes by
-- itself when a department's record shows a person qualifies — the rule, the record that
-- triggered it (a feed's batch and line, or a settlement list), the data in words and the
-- result — their reversals and the confirmations a proposal needs, each with who and why. The
-- tables are only ever added to.
CREATE TABLE auto_decision (
    decision_id  BIGINT PRIMARY KEY,
    psn_no       TEXT NOT NULL REFERENCES person (psn_no),
    rule_id      TEXT NOT NULL CHECK (rule_id <> ''),
    -- The record that triggered it: a feed batch (the file's SHA-256) and its line, or
    -- `setl_list:` and a settlement list's id (line 0).
    source_ref   TEXT NOT NULL,
    line         BIGINT NOT NULL,
    -- The triggering data, in words (the category, its dates).
    trigger_text TEXT NOT NULL,
    -- subsidy, assistance, enroll (an identity list's category), newborn (a birth the police
    -- feed registered), chronic_proposal (a settlement list's diagnosis in the chronic list,
    -- for a reviewer to confirm), retirement or backpay_notice (a human-resources approval).
    result_kind  TEXT NOT NULL CHECK (result_kind IN ('subsidy', 'assistance', 'enroll', 'newborn',
                                                      'chronic_proposal', 'retirement',
                                                      'backpay_notice')),
    -- The result as JSON (amounts in fen).
    result       TEXT NOT NULL,
    decided_at   TEXT NOT NULL,
    UNIQUE (rule_id, source_ref, line)
);
CREATE INDEX auto_decision_psn ON auto_decision (psn_no);

-- A reviewer's confirmation of a proposal (a chronic recognition proposed from a settlement
-- list becomes a recognition).
CREATE TABLE auto_decision_confirm (
    decision_id   BIGINT PRIMARY KEY REFERENCES auto_decision (decision_id),
    staff_id      BIGINT NOT NULL REFERENCES staff_account (staff_id),
    reason        TEXT NOT NULL CHECK (reason <> ''),
    confirmed_at  TEXT NOT NULL
);

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
CREATE TRIGGER auto_decision_confirm_no_update BEFORE UPDATE ON auto_decision_confirm
BEGIN
    SELECT RAISE(ABORT, 'auto_decision_confirm is append-only');
END;
CREATE TRIGGER auto_decision_confirm_no_delete BEFORE DELETE ON auto_decision_confirm
BEGIN
    SELECT RAISE(ABORT, 'auto_decision_confirm is append-only');
END;
