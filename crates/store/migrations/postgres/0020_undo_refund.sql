-- yibao store schema, migration 20 (the same on SQLite and PostgreSQL but for the append-only
-- triggers). Undoing an automatic decision withdraws its effect (spec enrollment.md §11), and
-- contributions are refunded by command (§5.6, §10.3).

-- What an undone 免申即享 decision withdrew from the identity record it came from (the record
-- of `identity_current`: person, department code and start): `assistance` stops the record's
-- `sp_psn_type` at settlement and in 1101 from `effective_from` (the undo day; `last_day` is the
-- day before, the end 1101 shows); `subsidy` stops the resident contribution run from counting
-- the record for a subsidy. The record itself stays: it is the department's word, and a
-- settlement before the undo keeps what it was given.
CREATE TABLE identity_withdrawal (
    decision_id     BIGINT PRIMARY KEY REFERENCES auto_decision (decision_id),
    psn_no          TEXT NOT NULL,
    idet_type       TEXT NOT NULL,
    begn_date       TEXT NOT NULL,
    effect          TEXT NOT NULL CHECK (effect IN ('assistance', 'subsidy')),
    effective_from  TEXT NOT NULL,
    last_day        TEXT NOT NULL,
    recorded_at     TEXT NOT NULL
);
CREATE INDEX identity_withdrawal_record ON identity_withdrawal (psn_no, idet_type, begn_date);

-- An assessment may come in parts: the run's (`part` ''), and the parts a correction adds
-- beside it without touching it. Undoing a subsidy decision adds, under `part`
-- `undo:DECISION`, a `refund` row (sign -1, linked to the run's assessment) that reverses the
-- subsidy payer line between the funds, and a `normal` row that makes the same amount due from
-- the individual; a refund by command is the `refund` row of `part` `refund`, one per relation
-- and period. The once-per-kind index now reads the part too.
ALTER TABLE contribution_assessment ADD COLUMN part TEXT NOT NULL DEFAULT '';
DROP INDEX contribution_assessment_once;
CREATE UNIQUE INDEX contribution_assessment_once
    ON contribution_assessment (psn_no, insutype, period, clct_type, part);

-- A refund (退费) by command: the `refund` assessment it wrote, what went back to the person
-- (`to_person_fen`, to `paid_to`) and what was reversed between funds, why, on whose word
-- (`source`: `clerk`, or `duplicate:` and the duplicate decision) and who did it.
CREATE TABLE contribution_refund (
    assessment_id   TEXT PRIMARY KEY REFERENCES contribution_assessment (assessment_id),
    psn_no          TEXT NOT NULL,
    insutype        TEXT NOT NULL,
    period          TEXT NOT NULL,
    to_person_fen   BIGINT NOT NULL CHECK (to_person_fen >= 0),
    reversed_fen    BIGINT NOT NULL CHECK (reversed_fen >= 0),
    paid_to         TEXT NOT NULL,
    reason          TEXT NOT NULL CHECK (reason <> ''),
    source          TEXT NOT NULL CHECK (source <> ''),
    actor           TEXT NOT NULL CHECK (actor <> ''),
    refunded_at     TEXT NOT NULL,
    UNIQUE (psn_no, insutype, period)
);

CREATE TRIGGER identity_withdrawal_append_only BEFORE UPDATE OR DELETE ON identity_withdrawal
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER contribution_refund_append_only BEFORE UPDATE OR DELETE ON contribution_refund
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
