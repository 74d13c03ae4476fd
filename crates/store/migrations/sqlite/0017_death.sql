-- yibao store schema, migration 17 (the same on SQLite and PostgreSQL but for the append-only
-- triggers). Deaths, the dangerous feed (spec enrollment.md §8.3): every report a department
-- sends is kept; a death is acted on only when the police report it (deregistration), when two
-- different departments do, or when a single report has stood for the confirmation window.
-- Acting ends the person's relations at the death date and makes the death date what smart
-- audit reads; settlements dated after it go to audit, never to an automatic reversal.
CREATE TABLE death_report (
    psn_no       TEXT NOT NULL REFERENCES person (psn_no),
    source_dept  TEXT NOT NULL CHECK (source_dept IN ('police', 'health', 'civil_affairs')),
    death_date   TEXT NOT NULL,
    -- The file the report came in (its SHA-256) and its line.
    source_ref   TEXT NOT NULL,
    line         BIGINT NOT NULL,
    recorded_at  TEXT NOT NULL,
    PRIMARY KEY (psn_no, source_dept, death_date)
);

CREATE TABLE death_confirmed (
    psn_no        TEXT PRIMARY KEY REFERENCES person (psn_no),
    death_date    TEXT NOT NULL,
    -- police, two_sources or window.
    basis         TEXT NOT NULL CHECK (basis IN ('police', 'two_sources', 'window')),
    confirmed_at  TEXT NOT NULL
);

CREATE TRIGGER death_report_no_update BEFORE UPDATE ON death_report
BEGIN
    SELECT RAISE(ABORT, 'death_report is append-only');
END;
CREATE TRIGGER death_report_no_delete BEFORE DELETE ON death_report
BEGIN
    SELECT RAISE(ABORT, 'death_report is append-only');
END;
CREATE TRIGGER death_confirmed_no_update BEFORE UPDATE ON death_confirmed
BEGIN
    SELECT RAISE(ABORT, 'death_confirmed is append-only');
END;
CREATE TRIGGER death_confirmed_no_delete BEFORE DELETE ON death_confirmed
BEGIN
    SELECT RAISE(ABORT, 'death_confirmed is append-only');
END;
