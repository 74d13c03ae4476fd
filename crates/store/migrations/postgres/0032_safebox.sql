-- The person's safe box (数字保险箱, spec data-authorization.md §7) and proxies (§5.7): the
-- person's sessions (only an HMAC of the session token is stored), the delegations people give
-- (P06), the guardianships staff verified, what proxies did, and paused third-party sharing.

-- A safe-box session, opened with the person's e-voucher. The token is shown once; the row is
-- found by HMAC-SM3 of it under a key kept outside the database.
CREATE TABLE safebox_session (
    session_mac      TEXT PRIMARY KEY,
    psn_no           TEXT NOT NULL REFERENCES person (psn_no),
    started_at_ms    BIGINT NOT NULL,
    last_seen_ms     BIGINT NOT NULL,
    -- The last fresh authentication (the e-voucher presented again), for level-3 items and
    -- consents; its evidence is an HMAC of the credential, never the credential.
    factor_kind      TEXT NOT NULL,
    factor_at_ms     BIGINT NOT NULL,
    factor_ref       TEXT NOT NULL,
    ended_at_ms      BIGINT,
    CHECK (last_seen_ms >= started_at_ms)
);
CREATE INDEX safebox_session_psn ON safebox_session (psn_no);

-- A P06 delegation: the subject lets the proxy act for them on these items until not_after_ms,
-- confirmed with a fresh factor. Ended by the subject or the proxy, never deleted.
CREATE TABLE delegation (
    delegation_id     TEXT PRIMARY KEY,
    subject           TEXT NOT NULL REFERENCES person (psn_no),
    proxy             TEXT NOT NULL REFERENCES person (psn_no),
    items             TEXT NOT NULL,
    level3_ticked     BIGINT NOT NULL CHECK (level3_ticked IN (0, 1)),
    not_before_ms     BIGINT NOT NULL,
    not_after_ms      BIGINT NOT NULL,
    factor_kind       TEXT NOT NULL,
    factor_at_ms      BIGINT NOT NULL,
    created_leaf      BIGINT NOT NULL,
    ended_at_ms       BIGINT,
    ended_by          TEXT,
    ended_leaf        BIGINT,
    CHECK (subject <> proxy),
    CHECK (not_after_ms > not_before_ms),
    CHECK ((ended_at_ms IS NULL) = (ended_leaf IS NULL))
);
CREATE INDEX delegation_subject ON delegation (subject);
CREATE INDEX delegation_proxy ON delegation (proxy);

-- A guardianship staff checked: a parent or guardian of a minor (from the household register or
-- a birth certificate) or a court-appointed guardian of an adult. The minor's age always comes
-- from the registry's birth date, so a parent's guardianship lapses at 18 by itself.
CREATE TABLE guardianship (
    subject          TEXT NOT NULL REFERENCES person (psn_no),
    guardian         TEXT NOT NULL REFERENCES person (psn_no),
    kind             TEXT NOT NULL CHECK (kind IN ('minor', 'court')),
    document_no      TEXT NOT NULL,
    verified_by      BIGINT NOT NULL,
    recorded_at_ms   BIGINT NOT NULL,
    recorded_leaf    BIGINT NOT NULL,
    PRIMARY KEY (subject, guardian),
    CHECK (subject <> guardian)
);

-- What a proxy did for a subject: the access-log leaf (actor = proxy, subject = subject), so the
-- action shows in both safe boxes.
CREATE TABLE proxy_action (
    leaf_idx     BIGINT PRIMARY KEY,
    proxy        TEXT NOT NULL,
    subject      TEXT NOT NULL,
    relation     TEXT NOT NULL,
    action       TEXT NOT NULL,
    at_ms        BIGINT NOT NULL
);
CREATE INDEX proxy_action_proxy ON proxy_action (proxy);
CREATE INDEX proxy_action_subject ON proxy_action (subject);

-- A person's pause of all third-party sharing: while a row has no resumed_at_ms, every call
-- under the person's grants is refused (GRANT_INVALID); grants are left as they are.
CREATE TABLE sharing_pause (
    psn_no          TEXT NOT NULL REFERENCES person (psn_no),
    paused_at_ms    BIGINT NOT NULL,
    paused_leaf     BIGINT NOT NULL,
    resumed_at_ms   BIGINT,
    resumed_leaf    BIGINT,
    PRIMARY KEY (psn_no, paused_at_ms)
);
