-- yibao store schema, migration 28 (SQLite; ../postgres/0028_staff_access.sql is the same with
-- ALTER TABLE and its own trigger syntax). Staff access to persons' records (spec
-- data-authorization.md §11): the 三员 security posts and the inspector join the roles; counter
-- service sessions, break-glass grants, the security alarms raised by them and the reveals
-- (unmasked reads) counted against the daily cap. Times are UTC milliseconds since the epoch.

-- SQLite cannot change a CHECK constraint in place: the role table is rebuilt with its rows.
CREATE TABLE staff_role_v28 (
    staff_id  BIGINT NOT NULL REFERENCES staff_account (staff_id),
    role      TEXT NOT NULL CHECK (role IN ('reviewer', 'senior_reviewer', 'final_reviewer',
                                            'auditor', 'admin', 'finance', 'institution',
                                            'front_desk', 'system_admin', 'security_admin',
                                            'security_auditor', 'inspector')),
    PRIMARY KEY (staff_id, role)
);
INSERT INTO staff_role_v28 (staff_id, role) SELECT staff_id, role FROM staff_role;
DROP TABLE staff_role;
ALTER TABLE staff_role_v28 RENAME TO staff_role;

-- A counter service session (窗口服务会话): opened by a staff member for a person present, who
-- showed their ID (the certno must match), with a reason; it opens that one person's record to
-- that one staff member until until_ms (30 minutes). Append-only.
CREATE TABLE service_session (
    session_id     INTEGER PRIMARY KEY,
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
    glass_id       INTEGER PRIMARY KEY,
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
    alarm_id     INTEGER PRIMARY KEY,
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

CREATE TRIGGER service_session_no_update BEFORE UPDATE ON service_session
BEGIN
    SELECT RAISE(ABORT, 'service_session is append-only');
END;
CREATE TRIGGER service_session_no_delete BEFORE DELETE ON service_session
BEGIN
    SELECT RAISE(ABORT, 'service_session is append-only');
END;
CREATE TRIGGER break_glass_no_update BEFORE UPDATE ON break_glass
BEGIN
    SELECT RAISE(ABORT, 'break_glass is append-only');
END;
CREATE TRIGGER break_glass_no_delete BEFORE DELETE ON break_glass
BEGIN
    SELECT RAISE(ABORT, 'break_glass is append-only');
END;
CREATE TRIGGER security_alarm_no_update BEFORE UPDATE ON security_alarm
BEGIN
    SELECT RAISE(ABORT, 'security_alarm is append-only');
END;
CREATE TRIGGER security_alarm_no_delete BEFORE DELETE ON security_alarm
BEGIN
    SELECT RAISE(ABORT, 'security_alarm is append-only');
END;
CREATE TRIGGER staff_reveal_no_update BEFORE UPDATE ON staff_reveal
BEGIN
    SELECT RAISE(ABORT, 'staff_reveal is append-only');
END;
CREATE TRIGGER staff_reveal_no_delete BEFORE DELETE ON staff_reveal
BEGIN
    SELECT RAISE(ABORT, 'staff_reveal is append-only');
END;
