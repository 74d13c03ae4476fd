-- yibao store schema, migration 23 (SQLite; ../postgres/0023_setl_list_qc.sql is the same).
-- Settlement lists (4101A): the quality checks (质控) run on every accepted version, and the
-- list's status (4102 stas_type: 0 未提交, 1 已提交, 2 审核通过, 3 审核不通过).
--
-- Everything here is append-only. A version's checks are written once, with the version, and
-- never changed: a correction is a new 4101A version with its own checks. A status change is a
-- new row; a version's status is its last row's to_stas (0 when it has none), so a new version
-- starts unsubmitted.

-- One row per list version: passed = 1 iff no problem of severity 'blocking' was found. The
-- payment run pays a DRG case only when the latest version of its list has passed = 1.
CREATE TABLE setl_list_qc (
    setl_list_id  TEXT PRIMARY KEY REFERENCES setl_list (setl_list_id),
    passed        BIGINT NOT NULL CHECK (passed IN (0, 1)),
    checked_at    TEXT NOT NULL
);

-- The problems found, in the order the rules ran (seq 0-based). code is the rule's (QC01 …),
-- field names the list's field as the interface does (diseinfo[2].diag_code).
CREATE TABLE setl_list_qc_problem (
    setl_list_id  TEXT NOT NULL REFERENCES setl_list_qc (setl_list_id),
    seq           BIGINT NOT NULL CHECK (seq >= 0),
    code          TEXT NOT NULL,
    field         TEXT NOT NULL,
    severity      TEXT NOT NULL CHECK (severity IN ('blocking', 'warning')),
    message       TEXT NOT NULL,
    PRIMARY KEY (setl_list_id, seq)
);

-- Status changes of a list version (4102 by its institution; 2/3 by a bureau reviewer). actor is
-- 'inst:' + fixmedins_code or 'staff:' + staff id; msgid is the 4102 message's ('' for staff).
CREATE TABLE setl_list_status (
    setl_list_id    TEXT NOT NULL REFERENCES setl_list (setl_list_id),
    seq             BIGINT NOT NULL CHECK (seq >= 0),
    from_stas       TEXT NOT NULL CHECK (from_stas IN ('0', '1', '2', '3')),
    to_stas         TEXT NOT NULL CHECK (to_stas IN ('0', '1', '2', '3')),
    actor           TEXT NOT NULL,
    fixmedins_code  TEXT NOT NULL REFERENCES institution (fixmedins_code),
    msgid           TEXT NOT NULL,
    reason          TEXT NOT NULL,
    changed_at      TEXT NOT NULL,
    PRIMARY KEY (setl_list_id, seq),
    CHECK (from_stas <> to_stas)
);
CREATE INDEX setl_list_status_msgid ON setl_list_status (fixmedins_code, msgid);

-- Append-only, as the access log: nothing in the code updates or deletes these rows, and the
-- database refuses it.
CREATE TRIGGER setl_list_qc_no_update BEFORE UPDATE ON setl_list_qc
BEGIN
    SELECT RAISE(ABORT, 'setl_list_qc is append-only');
END;
CREATE TRIGGER setl_list_qc_no_delete BEFORE DELETE ON setl_list_qc
BEGIN
    SELECT RAISE(ABORT, 'setl_list_qc is append-only');
END;
CREATE TRIGGER setl_list_qc_problem_no_update BEFORE UPDATE ON setl_list_qc_problem
BEGIN
    SELECT RAISE(ABORT, 'setl_list_qc_problem is append-only');
END;
CREATE TRIGGER setl_list_qc_problem_no_delete BEFORE DELETE ON setl_list_qc_problem
BEGIN
    SELECT RAISE(ABORT, 'setl_list_qc_problem is append-only');
END;
CREATE TRIGGER setl_list_status_no_update BEFORE UPDATE ON setl_list_status
BEGIN
    SELECT RAISE(ABORT, 'setl_list_status is append-only');
END;
CREATE TRIGGER setl_list_status_no_delete BEFORE DELETE ON setl_list_status
BEGIN
    SELECT RAISE(ABORT, 'setl_list_status is append-only');
END;
