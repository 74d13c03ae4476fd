-- yibao store schema, migration 19 (PostgreSQL; ../sqlite/0019_rosters.sql is the same but for
-- how the CHECK constraints change and the append-only triggers). The education roster (教育,
-- students) and the disability certificates (残联), and the fallback match on name, birth date
-- and sex (spec enrollment.md §8.1, §8.2, §3.5, §5.3; docs/FEEDS.md).

-- Two more kinds of batch, the fallback's method and its confidence with the source record
-- (§3.10, §8.2 rule 6), the segment and certificate events, and the clerk's review case a
-- fallback match opens (it is never applied automatically, §8.2 rule 5).
ALTER TABLE registry_batch DROP CONSTRAINT registry_batch_kind_check;
ALTER TABLE registry_batch ADD CONSTRAINT registry_batch_kind_check
    CHECK (kind IN ('police', 'identity', 'education', 'disability'));

ALTER TABLE registry_source_record DROP CONSTRAINT registry_source_record_match_method_check;
ALTER TABLE registry_source_record ADD CONSTRAINT registry_source_record_match_method_check
    CHECK (match_method IN ('', 'id', 'alias', 'new', 'name_birth_sex'));
ALTER TABLE registry_source_record DROP CONSTRAINT registry_source_record_outcome_check;
ALTER TABLE registry_source_record ADD CONSTRAINT registry_source_record_outcome_check
    CHECK (outcome IN ('created', 'unchanged', 'joined', 'moved', 'changed', 'assigned',
                       'recorded', 'case', 'refused'));
-- The confidence of a fallback match in permille (below 1000); NULL for the other methods,
-- whose confidence the rule fixes (`id` and `alias` 1.0).
ALTER TABLE registry_source_record ADD COLUMN match_confidence_permille BIGINT
    CHECK (match_confidence_permille IS NULL
           OR (match_confidence_permille >= 0 AND match_confidence_permille < 1000));

ALTER TABLE registry_event DROP CONSTRAINT registry_event_kind_check;
ALTER TABLE registry_event ADD CONSTRAINT registry_event_kind_check
    CHECK (kind IN ('register', 'household_join', 'household_move', 'household_change',
                    'identity_begin', 'identity_change', 'student_begin', 'student_change',
                    'disability_begin', 'disability_change'));

ALTER TABLE registry_case DROP CONSTRAINT registry_case_kind_check;
ALTER TABLE registry_case ADD CONSTRAINT registry_case_kind_check
    CHECK (kind IN ('unmatched', 'data_quality', 'household_conflict', 'fallback_match'));

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

CREATE TRIGGER student_segment_append_only BEFORE UPDATE OR DELETE ON student_segment
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER disability_certificate_append_only BEFORE UPDATE OR DELETE ON disability_certificate
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
