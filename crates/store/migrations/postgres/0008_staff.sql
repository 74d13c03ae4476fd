-- yibao store schema, migration 8 (postgres; ../sqlite/0008_staff.sql is the same but for the key).
-- Staff accounts, their roles and sessions, and the access log (spec data-authorization.md §9,
-- §11). Times are UTC milliseconds since the Unix epoch. (Migration 7 is the audit findings'.)

-- A bureau staff member or an institution's user. Never deleted: deactivated (active = 0).
CREATE TABLE staff_account (
    staff_id        BIGSERIAL PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    -- Argon2id, as a PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
    password_hash   TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    -- The institution of a user with the institution role; NULL for bureau staff.
    fixmedins_code  TEXT REFERENCES institution (fixmedins_code),
    admdvs          TEXT NOT NULL,
    active          BIGINT NOT NULL CHECK (active IN (0, 1)),
    -- Failed logins in a row; reset by a login and by a lock.
    failed_logins   BIGINT NOT NULL CHECK (failed_logins >= 0),
    -- Logins are refused until then (0: not locked).
    locked_until_ms BIGINT NOT NULL,
    created_at_ms   BIGINT NOT NULL
);

CREATE TABLE staff_role (
    staff_id  BIGINT NOT NULL REFERENCES staff_account (staff_id),
    role      TEXT NOT NULL CHECK (role IN ('reviewer', 'senior_reviewer', 'final_reviewer',
                                            'auditor', 'admin', 'finance', 'institution')),
    PRIMARY KEY (staff_id, role)
);

-- A login. Only the SHA-256 of the bearer token is kept (hex); ended_at_ms is set by logout,
-- deactivation or expiry.
CREATE TABLE staff_session (
    token_hash     TEXT PRIMARY KEY,
    staff_id       BIGINT NOT NULL REFERENCES staff_account (staff_id),
    created_at_ms  BIGINT NOT NULL,
    last_seen_ms   BIGINT NOT NULL,
    ended_at_ms    BIGINT
);
CREATE INDEX staff_session_staff ON staff_session (staff_id);

-- Append-only. Each row's leaf_hash = SM3(0x00 ‖ leaf) over the canonical encoding of its fields
-- (store/src/staff.rs, leaf_bytes) and chain = SM3(previous chain ‖ leaf_hash), the previous
-- chain of idx 1 being 32 zero bytes (hex here). staff_id is the actor (NULL: unknown, such as a
-- login with an unknown username); subject_ref names no person in clear.
CREATE TABLE access_log (
    idx          BIGINT PRIMARY KEY CHECK (idx >= 1),
    ts_ms        BIGINT NOT NULL,
    event        TEXT NOT NULL,
    staff_id     BIGINT,
    action       TEXT NOT NULL,
    subject_ref  TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    decision     TEXT NOT NULL,
    reason       TEXT NOT NULL,
    leaf_hash    TEXT NOT NULL,
    chain        TEXT NOT NULL
);

-- The log's size and last chain, moved by every append in the same transaction: removing rows
-- at the end of the log shows as a head that no longer matches.
CREATE TABLE access_log_head (
    id     BIGINT PRIMARY KEY CHECK (id = 1),
    size   BIGINT NOT NULL,
    chain  TEXT NOT NULL
);
INSERT INTO access_log_head (id, size, chain)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Append-only in the database too: an UPDATE or DELETE of a log row is refused. Someone who can
-- drop this trigger can still edit rows; the chain and the head are what detect that.
CREATE FUNCTION access_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'access_log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION access_log_append_only();
