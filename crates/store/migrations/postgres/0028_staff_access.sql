-- yibao store schema, migration 28 (PostgreSQL; ../sqlite/0028_staff_access.sql is the same,
-- rebuilding the role table and with its own trigger syntax). Staff access to persons' records (spec
-- data-authorization.md §11): the 三员 security posts and the inspector join the roles; counter
-- service sessions, break-glass grants, the security alarms raised by them and the reveals
-- (unmasked reads) counted against the daily cap. Times are UTC milliseconds since the epoch.

ALTER TABLE staff_role DROP CONSTRAINT staff_role_role_check;
ALTER TABLE staff_role ADD CONSTRAINT staff_role_role_check
    CHECK (role IN ('reviewer', 'senior_reviewer', 'final_reviewer', 'auditor', 'admin',
                    'finance', 'institution', 'front_desk', 'system_admin', 'security_admin',
                    'security_auditor', 'inspector'));

-- A counter service session (窗口服务会话): opened by a staff member for a person present, who
-- showed their ID (the certno must match), with a reason; it opens that one person's record to
-- that one staff member until until_ms (30 minutes). Append-only.
CREATE TABLE service_session (
    session_id     BIGSERIAL PRIMARY KEY,
    staff_id       BIGINT NOT NULL REFERENCES staff_account (staff_id),
    psn_no         TEXT NOT NULL REFERENCES person (psn_no),
    reason         TEXT NOT NULL CHECK (reason <> ''),
    started_at_ms  BIGINT NOT NULL,
    until_ms       BIGINT NOT NULL CHECK (until_ms > started_at_ms)
);
CREATE INDEX service_session_staff ON service_session (staff_id, psn_no);

-- Break-glass (紧急访问, §11.5): read access to one person without a case, for two hours, with
-- a reason category and text. Shown in the person's safe box. Append-only.
CREATE TABLE break_glass (
    glass_id       BIGSERIAL PRIMARY KEY,
    staff_id       BIGINT NOT NULL REFERENCES staff_account (staff_id),
    psn_no         TEXT NOT NULL REFERENCES person (psn_no),
    category       TEXT NOT NULL CHECK (category IN ('urgent_medical', 'fraud_in_progress',
                                                     'court_or_police')),
    document_no    TEXT NOT NULL,
    reason         TEXT NOT NULL CHECK (reason <> ''),
    started_at_ms  BIGINT NOT NULL,
    until_ms       BIGINT NOT NULL CHECK (until_ms > started_at_ms)
);
CREATE INDEX break_glass_person ON break_glass (psn_no);

-- An alarm for the security auditor (安全审计员), written in the transaction of what raised it.
-- subject_ref names no person in clear. Append-only.
CREATE TABLE security_alarm (
    alarm_id     BIGSERIAL PRIMARY KEY,
    at_ms        BIGINT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('break_glass')),
    staff_id     BIGINT NOT NULL REFERENCES staff_account (staff_id),
    subject_ref  TEXT NOT NULL,
    ref_id       BIGINT NOT NULL,
    detail       TEXT NOT NULL
);

-- An unmasked read (reveal), counted against the staff member's daily cap. Append-only.
CREATE TABLE staff_reveal (
    staff_id     BIGINT NOT NULL REFERENCES staff_account (staff_id),
    at_ms        BIGINT NOT NULL,
    subject_ref  TEXT NOT NULL,
    reason       TEXT NOT NULL CHECK (reason <> '')
);
CREATE INDEX staff_reveal_staff ON staff_reveal (staff_id, at_ms);

CREATE TRIGGER service_session_append_only BEFORE UPDATE OR DELETE ON service_session
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER break_glass_append_only BEFORE UPDATE OR DELETE ON break_glass
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER security_alarm_append_only BEFORE UPDATE OR DELETE ON security_alarm
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER staff_reveal_append_only BEFORE UPDATE OR DELETE ON staff_reveal
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
