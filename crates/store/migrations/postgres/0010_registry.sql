-- yibao store schema, migration 10 (PostgreSQL; ../sqlite/0010_registry.sql is the same but for
-- the append-only triggers). The registry as the source of truth (spec enrollment.md §3, §3.10,
-- §8): department feeds (docs/FEEDS.md) land here as batches of source records; every change
-- they make is an event with its source and who made it; identifiers, household membership and
-- identity categories are kept as dated rows that are only ever added, so "as of date D" reads
-- what was true then. Dates are `YYYY-MM-DD`, times `YYYY-MM-DD HH:MM:SS` (UTC).

-- The bulk tables (registry_source_record, registry_event, household_member: a row or two per
-- feed row, millions per file) carry no foreign keys: a foreign-key check costs about as much
-- as the insert itself (measured: 1,000,000 source records in 9.9 s with the key to
-- registry_batch, 3.3 s without). They are written only by a feed import, in the transaction
-- that writes the rows they name; `Store::check_feed_references` checks that every reference holds.

-- One imported file: its SHA-256 (the batch id, so a replayed file is recognised and writes
-- nothing), its kind and department, and the counts the import reported.
CREATE TABLE registry_batch (
    batch_id      TEXT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('police', 'identity')),
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

-- Every data row of a batch, by its line in the file, with the decision taken on it (§3.10):
-- whom it matched and how (`id`, `alias`, `new`, or '' when it matched nobody), the outcome and
-- the reason of a refusal or a case.
CREATE TABLE registry_source_record (
    batch_id      TEXT NOT NULL,
    line          BIGINT NOT NULL CHECK (line >= 2),
    source_dept   TEXT NOT NULL,
    record_key    TEXT NOT NULL,
    payload       TEXT NOT NULL,
    psn_no        TEXT NOT NULL,
    match_method  TEXT NOT NULL CHECK (match_method IN ('', 'id', 'alias', 'new')),
    outcome       TEXT NOT NULL CHECK (outcome IN ('created', 'unchanged', 'joined', 'moved', 'changed', 'assigned', 'case', 'refused')),
    reason        TEXT NOT NULL,
    PRIMARY KEY (batch_id, line)
);

-- The event log: what changed for whom, true in the world from `effective_date`, learned at
-- `recorded_at`, from which department's batch and line, by whom.
CREATE TABLE registry_event (
    event_id        BIGINT PRIMARY KEY,
    psn_no          TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('register', 'household_join', 'household_move', 'household_change', 'identity_begin', 'identity_change')),
    effective_date  TEXT NOT NULL,
    recorded_at     TEXT NOT NULL,
    source_dept     TEXT NOT NULL CHECK (source_dept <> ''),
    batch_id        TEXT NOT NULL,
    line            BIGINT NOT NULL,
    actor           TEXT NOT NULL CHECK (actor <> ''),
    payload         TEXT NOT NULL
);
CREATE INDEX registry_event_psn ON registry_event (psn_no, effective_date);

-- A person's identifiers (§3.1): the canonical 18-character number as `primary`, the 15-digit
-- legacy form as an `alias`. `person.certno` stays the primary number.
CREATE TABLE person_identifier (
    certno         TEXT PRIMARY KEY,
    psn_no         TEXT NOT NULL REFERENCES person (psn_no),
    psn_cert_type  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('primary', 'alias')),
    valid_from     TEXT NOT NULL,
    recorded_at    TEXT NOT NULL,
    event_id       BIGINT NOT NULL REFERENCES registry_event (event_id)
);
CREATE INDEX person_identifier_psn ON person_identifier (psn_no);

-- Household membership segments (§3.2): from `valid_from` the person belongs to household
-- `hh_id` with relationship `hh_rel` (GB/T 4761) in region `admdvs`, until a later segment.
CREATE TABLE household_member (
    seq          BIGINT PRIMARY KEY,
    psn_no       TEXT NOT NULL,
    hh_id        TEXT NOT NULL,
    hh_rel       TEXT NOT NULL,
    admdvs       TEXT NOT NULL,
    valid_from   TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    event_id     BIGINT NOT NULL
);
CREATE INDEX household_member_psn ON household_member (psn_no, valid_from);
CREATE INDEX household_member_hh ON household_member (hh_id);

-- Identity categories (§3.5): the department's raw code (`idet_type`), our category key, the
-- settlement's `sp_psn_type` ('' when the category has none), the period and the source. A
-- later row for the same (person, code, start) supersedes an earlier one (`identity_current`).
CREATE TABLE identity_assignment (
    seq          BIGINT PRIMARY KEY,
    psn_no       TEXT NOT NULL REFERENCES person (psn_no),
    idet_type    TEXT NOT NULL,
    category     TEXT NOT NULL,
    sp_psn_type  TEXT NOT NULL,
    begn_date    TEXT NOT NULL,
    end_date     TEXT NOT NULL,
    source_dept  TEXT NOT NULL CHECK (source_dept <> ''),
    batch_id     TEXT NOT NULL REFERENCES registry_batch (batch_id),
    line         BIGINT NOT NULL,
    recorded_at  TEXT NOT NULL,
    event_id     BIGINT NOT NULL REFERENCES registry_event (event_id),
    CHECK (end_date = '' OR end_date >= begn_date)
);
CREATE INDEX identity_assignment_psn ON identity_assignment (psn_no, idet_type, begn_date);

CREATE VIEW identity_current AS
    SELECT a.* FROM identity_assignment a
    WHERE NOT EXISTS (
        SELECT 1 FROM identity_assignment b
        WHERE b.psn_no = a.psn_no AND b.idet_type = a.idet_type AND b.begn_date = a.begn_date
          AND b.seq > a.seq
    );

-- Work for a clerk (§3.10, §8.2): a record that matched nobody, a data-quality finding (the
-- department's value is kept, never fixed silently) or a household conflict.
CREATE TABLE registry_case (
    case_id      BIGINT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('unmatched', 'data_quality', 'household_conflict')),
    psn_no       TEXT NOT NULL,
    certno       TEXT NOT NULL,
    reason       TEXT NOT NULL CHECK (reason <> ''),
    source_dept  TEXT NOT NULL,
    batch_id     TEXT NOT NULL REFERENCES registry_batch (batch_id),
    line         BIGINT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    opened_at    TEXT NOT NULL
);
CREATE INDEX registry_case_open ON registry_case (status, kind);

CREATE FUNCTION registry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER registry_batch_append_only BEFORE UPDATE OR DELETE ON registry_batch
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER registry_source_record_append_only BEFORE UPDATE OR DELETE ON registry_source_record
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER registry_event_append_only BEFORE UPDATE OR DELETE ON registry_event
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER person_identifier_append_only BEFORE UPDATE OR DELETE ON person_identifier
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER household_member_append_only BEFORE UPDATE OR DELETE ON household_member
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER identity_assignment_append_only BEFORE UPDATE OR DELETE ON identity_assignment
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
