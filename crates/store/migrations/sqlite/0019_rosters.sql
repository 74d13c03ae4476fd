-- yibao store schema, migration 19 (SQLite; ../postgres/0019_rosters.sql is the same with ALTER
-- TABLE). The education roster (教育, students) and the disability certificates (残联), and the
-- fallback match on name, birth date and sex (spec enrollment.md §8.1, §8.2, §3.5, §5.3;
-- docs/FEEDS.md).
--
-- SQLite cannot change a CHECK constraint in place: the four registry tables whose CHECKs widen
-- are rebuilt with their rows. Three of them are the parent of a foreign key (a batch of its
-- cases and categories, an event of identifiers and categories, a case of its steps), and
-- foreign keys cannot be switched off inside the migration's transaction, so they are deferred
-- to the commit instead: each table's rows are kept aside, the table is dropped (its children
-- then count as orphans), created again under its own name with the wider CHECK, and refilled
-- (which adopts the orphans again). Every reference holds again at the commit, as a last check
-- here verifies.
PRAGMA defer_foreign_keys = ON;

-- Two more kinds of batch.
CREATE TEMP TABLE registry_batch_v18 AS SELECT * FROM registry_batch;
DROP TABLE registry_batch;
CREATE TABLE registry_batch (
    batch_id      TEXT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('police', 'identity', 'education', 'disability')),
    source_dept   TEXT NOT NULL CHECK (source_dept <> ''),
    file_name     TEXT NOT NULL,
    actor         TEXT NOT NULL CHECK (actor <> ''),
    recorded_at   TEXT NOT NULL,
    rows_read     BIGINT NOT NULL CHECK (rows_read >= 0),
    rows_taken    BIGINT NOT NULL CHECK (rows_taken >= 0),
    rows_matched  BIGINT NOT NULL CHECK (rows_matched >= 0),
    rows_refused  BIGINT NOT NULL CHECK (rows_refused >= 0),
    rows_created  BIGINT NOT NULL CHECK (rows_created >= 0),
    cases_opened  BIGINT NOT NULL CHECK (cases_opened >= 0),
    CHECK (rows_read = rows_taken + rows_refused)
);
INSERT INTO registry_batch SELECT * FROM registry_batch_v18;
DROP TABLE registry_batch_v18;

-- The fallback's method and its confidence with the source record (§3.10, §8.2 rule 6); the
-- confidence in permille (below 1000), NULL for the other methods, whose confidence the rule
-- fixes (`id` and `alias` 1.0).
CREATE TEMP TABLE registry_source_record_v18 AS SELECT * FROM registry_source_record;
DROP TABLE registry_source_record;
CREATE TABLE registry_source_record (
    batch_id      TEXT NOT NULL,
    line          BIGINT NOT NULL CHECK (line >= 2),
    source_dept   TEXT NOT NULL,
    record_key    TEXT NOT NULL,
    payload       TEXT NOT NULL,
    psn_no        TEXT NOT NULL,
    match_method  TEXT NOT NULL CHECK (match_method IN ('', 'id', 'alias', 'new', 'name_birth_sex')),
    outcome       TEXT NOT NULL CHECK (outcome IN ('created', 'unchanged', 'joined', 'moved', 'changed', 'assigned', 'recorded', 'case', 'refused')),
    reason        TEXT NOT NULL,
    match_confidence_permille BIGINT
        CHECK (match_confidence_permille IS NULL
               OR (match_confidence_permille >= 0 AND match_confidence_permille < 1000)),
    PRIMARY KEY (batch_id, line)
);
INSERT INTO registry_source_record
    (batch_id, line, source_dept, record_key, payload, psn_no, match_method, outcome, reason)
    SELECT batch_id, line, source_dept, record_key, payload, psn_no, match_method, outcome, reason
    FROM registry_source_record_v18;
DROP TABLE registry_source_record_v18;

-- The segment and certificate events.
CREATE TEMP TABLE registry_event_v18 AS SELECT * FROM registry_event;
DROP TABLE registry_event;
CREATE TABLE registry_event (
    event_id        BIGINT PRIMARY KEY,
    psn_no          TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('register', 'household_join', 'household_move', 'household_change', 'identity_begin', 'identity_change', 'student_begin', 'student_change', 'disability_begin', 'disability_change')),
    effective_date  TEXT NOT NULL,
    recorded_at     TEXT NOT NULL,
    source_dept     TEXT NOT NULL CHECK (source_dept <> ''),
    batch_id        TEXT NOT NULL,
    line            BIGINT NOT NULL,
    actor           TEXT NOT NULL CHECK (actor <> ''),
    payload         TEXT NOT NULL
);
INSERT INTO registry_event SELECT * FROM registry_event_v18;
DROP TABLE registry_event_v18;
CREATE INDEX registry_event_psn ON registry_event (psn_no, effective_date);

-- The clerk's review case a fallback match opens (never applied automatically, §8.2 rule 5).
CREATE TEMP TABLE registry_case_v18 AS SELECT * FROM registry_case;
DROP TABLE registry_case;
CREATE TABLE registry_case (
    case_id      BIGINT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('unmatched', 'data_quality', 'household_conflict', 'fallback_match')),
    psn_no       TEXT NOT NULL,
    certno       TEXT NOT NULL,
    reason       TEXT NOT NULL CHECK (reason <> ''),
    source_dept  TEXT NOT NULL,
    batch_id     TEXT NOT NULL REFERENCES registry_batch (batch_id),
    line         BIGINT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    opened_at    TEXT NOT NULL
);
INSERT INTO registry_case SELECT * FROM registry_case_v18;
DROP TABLE registry_case_v18;
CREATE INDEX registry_case_open ON registry_case (status, kind);

-- The fallback looks persons up by birth date and sex.
CREATE INDEX person_brdy_gend ON person (brdy, gend);

-- Student segments (入学/毕业, §4.3, §5.3): from `entry_date` the person is a student of
-- `psn_type` (1402 preschool, 1403 primary/secondary, 1404 university) at the school, until the
-- end of the graduation year (`valid_to`, '' while no graduation date is known). A later row for
-- the same (person, school, entry date) supersedes an earlier one (`student_current`). Like the
-- other bulk feed tables it carries no key to its batch and event (written in the same
-- transaction as they are).
CREATE TABLE student_segment (
    seq            BIGINT PRIMARY KEY,
    psn_no         TEXT NOT NULL REFERENCES person (psn_no),
    psn_type       TEXT NOT NULL CHECK (psn_type IN ('1402', '1403', '1404')),
    school_code    TEXT NOT NULL CHECK (school_code <> ''),
    school_admdvs  TEXT NOT NULL,
    entry_date     TEXT NOT NULL,
    grad_date      TEXT NOT NULL,
    valid_to       TEXT NOT NULL,
    batch_id       TEXT NOT NULL,
    line           BIGINT NOT NULL,
    recorded_at    TEXT NOT NULL,
    event_id       BIGINT NOT NULL,
    CHECK (grad_date = '' OR grad_date >= entry_date),
    CHECK ((grad_date = '') = (valid_to = ''))
);
CREATE INDEX student_segment_psn ON student_segment (psn_no, school_code, entry_date);

CREATE VIEW student_current AS
    SELECT s.* FROM student_segment s
    WHERE NOT EXISTS (
        SELECT 1 FROM student_segment t
        WHERE t.psn_no = s.psn_no AND t.school_code = s.school_code
          AND t.entry_date = s.entry_date AND t.seq > s.seq
    );

-- Disability certificates (残联, §3.5 `level`): type (GB/T 26341: 1 visual … 7 multiple),
-- level 1–4 and period. Levels 1–2 also give the 重度残疾 category (`identity_assignment`,
-- `psn_idet_type` 2308); 3–4 are recorded only. A later row for the same (person, type, start)
-- supersedes an earlier one (`disability_current`).
CREATE TABLE disability_certificate (
    seq          BIGINT PRIMARY KEY,
    psn_no       TEXT NOT NULL REFERENCES person (psn_no),
    dsab_type    TEXT NOT NULL CHECK (dsab_type IN ('1', '2', '3', '4', '5', '6', '7')),
    dsab_lv      TEXT NOT NULL CHECK (dsab_lv IN ('1', '2', '3', '4')),
    begn_date    TEXT NOT NULL,
    end_date     TEXT NOT NULL,
    batch_id     TEXT NOT NULL,
    line         BIGINT NOT NULL,
    recorded_at  TEXT NOT NULL,
    event_id     BIGINT NOT NULL,
    CHECK (end_date = '' OR end_date >= begn_date)
);
CREATE INDEX disability_certificate_psn ON disability_certificate (psn_no, dsab_type, begn_date);

CREATE VIEW disability_current AS
    SELECT d.* FROM disability_certificate d
    WHERE NOT EXISTS (
        SELECT 1 FROM disability_certificate e
        WHERE e.psn_no = d.psn_no AND e.dsab_type = d.dsab_type
          AND e.begn_date = d.begn_date AND e.seq > d.seq
    );

CREATE TRIGGER registry_batch_no_update BEFORE UPDATE ON registry_batch
BEGIN
    SELECT RAISE(ABORT, 'registry_batch is append-only');
END;
CREATE TRIGGER registry_batch_no_delete BEFORE DELETE ON registry_batch
BEGIN
    SELECT RAISE(ABORT, 'registry_batch is append-only');
END;
CREATE TRIGGER registry_source_record_no_update BEFORE UPDATE ON registry_source_record
BEGIN
    SELECT RAISE(ABORT, 'registry_source_record is append-only');
END;
CREATE TRIGGER registry_source_record_no_delete BEFORE DELETE ON registry_source_record
BEGIN
    SELECT RAISE(ABORT, 'registry_source_record is append-only');
END;
CREATE TRIGGER registry_event_no_update BEFORE UPDATE ON registry_event
BEGIN
    SELECT RAISE(ABORT, 'registry_event is append-only');
END;
CREATE TRIGGER registry_event_no_delete BEFORE DELETE ON registry_event
BEGIN
    SELECT RAISE(ABORT, 'registry_event is append-only');
END;
CREATE TRIGGER student_segment_no_update BEFORE UPDATE ON student_segment
BEGIN
    SELECT RAISE(ABORT, 'student_segment is append-only');
END;
CREATE TRIGGER student_segment_no_delete BEFORE DELETE ON student_segment
BEGIN
    SELECT RAISE(ABORT, 'student_segment is append-only');
END;
CREATE TRIGGER disability_certificate_no_update BEFORE UPDATE ON disability_certificate
BEGIN
    SELECT RAISE(ABORT, 'disability_certificate is append-only');
END;
CREATE TRIGGER disability_certificate_no_delete BEFORE DELETE ON disability_certificate
BEGIN
    SELECT RAISE(ABORT, 'disability_certificate is append-only');
END;

-- Nothing may point nowhere after the rebuild: the CHECK refuses a count above zero.
CREATE TEMP TABLE v19_fk_check (broken BIGINT NOT NULL CHECK (broken = 0));
INSERT INTO v19_fk_check SELECT COUNT(*) FROM pragma_foreign_key_check;
DROP TABLE v19_fk_check;
