-- Follow-up of the uninsured (spec enrollment.md §9.2 step 5): each person the registry check
-- finds uninsured in a year becomes one follow-up for the grid worker of the person's county,
-- with the reason the check gave; the worker's outcome closes it, and an outcome is mandatory
-- (Guangdong: missing lapse reasons were the main obstacle). Append-only: an outcome is a new
-- row, a follow-up is opened once per person and year.

CREATE TABLE coverage_followup (
    followup_id  BIGINT PRIMARY KEY,
    year         BIGINT NOT NULL,
    psn_no       TEXT NOT NULL REFERENCES person (psn_no),
    admdvs       TEXT NOT NULL,
    reason       TEXT NOT NULL CHECK (reason <> ''),
    reference    TEXT NOT NULL,
    opened_at    TEXT NOT NULL,
    UNIQUE (year, psn_no)
);
CREATE INDEX coverage_followup_county ON coverage_followup (year, admdvs);

CREATE TABLE coverage_followup_outcome (
    followup_id  BIGINT PRIMARY KEY REFERENCES coverage_followup (followup_id),
    outcome      TEXT NOT NULL CHECK (outcome IN ('enrolled', 'insured_elsewhere', 'refused',
                     'working_abroad', 'commercial_only', 'moved', 'dead', 'other')),
    note         TEXT NOT NULL,
    staff_id     BIGINT NOT NULL,
    recorded_at  TEXT NOT NULL,
    CHECK (outcome <> 'other' OR note <> '')
);

CREATE TRIGGER coverage_followup_no_update BEFORE UPDATE ON coverage_followup
BEGIN
    SELECT RAISE(ABORT, 'coverage_followup is append-only');
END;
CREATE TRIGGER coverage_followup_no_delete BEFORE DELETE ON coverage_followup
BEGIN
    SELECT RAISE(ABORT, 'coverage_followup is append-only');
END;
CREATE TRIGGER coverage_followup_outcome_no_update BEFORE UPDATE ON coverage_followup_outcome
BEGIN
    SELECT RAISE(ABORT, 'coverage_followup_outcome is append-only');
END;
CREATE TRIGGER coverage_followup_outcome_no_delete BEFORE DELETE ON coverage_followup_outcome
BEGIN
    SELECT RAISE(ABORT, 'coverage_followup_outcome is append-only');
END;
