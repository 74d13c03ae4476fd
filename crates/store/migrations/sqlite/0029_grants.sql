-- Grants to third parties and the data service (spec data-authorization.md §5, §6, §8): the
-- registered grantees with their SM2 keys, the grants people gave them, one row per data call
-- (the stored answer a retried request id gets back), and the nonces seen per grantee.

-- A registered organisation (insurer, bank, TPA) with the public key its requests are signed with.
CREATE TABLE grantee (
    grantee_id      TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('insurer', 'bank', 'tpa')),
    -- The SM2 public key, hex of the 65-byte uncompressed point.
    public_key_hex  TEXT NOT NULL,
    -- Purposes approved for it (with a PIIA), comma-separated codes (P01,P03).
    purposes        TEXT NOT NULL,
    active          BIGINT NOT NULL CHECK (active IN (0, 1)),
    created_at_ms   BIGINT NOT NULL
);

-- A grant (§5.3). The grantee's handle is never stored: only HMAC-SM3 of it under a key kept
-- outside the database (token_mac).
CREATE TABLE data_grant (
    grant_id            TEXT PRIMARY KEY,
    token_mac           TEXT NOT NULL UNIQUE,
    subject             TEXT NOT NULL,
    subject_age_years   BIGINT,
    grantor             TEXT NOT NULL CHECK (grantor IN ('self')),
    grantee_id          TEXT NOT NULL REFERENCES grantee (grantee_id),
    product_id          TEXT NOT NULL,
    purpose             TEXT NOT NULL,
    items               TEXT NOT NULL,
    confirmed_items     TEXT NOT NULL,
    separate_level3     BIGINT NOT NULL CHECK (separate_level3 IN (0, 1)),
    scope_from          TEXT,
    scope_to            TEXT,
    scope_event         TEXT,
    output_form         TEXT NOT NULL,
    mode                TEXT NOT NULL CHECK (mode IN ('ONCE', 'LIMITED', 'MULTI')),
    uses_total          BIGINT,
    uses_left           BIGINT,
    uses_count          BIGINT NOT NULL CHECK (uses_count >= 0),
    not_before_ms       BIGINT NOT NULL,
    not_after_ms        BIGINT NOT NULL,
    policy_end_ms       BIGINT,
    notice_version      TEXT NOT NULL,
    notice_digest       TEXT NOT NULL,
    notice_retention    TEXT NOT NULL,
    -- The factors behind the consent, as a JSON array of {kind, verified_at_ms, evidence_ref}.
    factors             TEXT NOT NULL,
    consented_at_ms     BIGINT NOT NULL,
    status              TEXT NOT NULL
        CHECK (status IN ('ACTIVE', 'EXHAUSTED', 'EXPIRED', 'REVOKED', 'SUSPENDED')),
    created_leaf        BIGINT NOT NULL,
    ended_leaf          BIGINT,
    ended_at_ms         BIGINT,
    CHECK ((scope_event IS NULL) <> (scope_from IS NULL)),
    CHECK ((mode = 'MULTI') = (uses_total IS NULL)),
    CHECK ((uses_total IS NULL) = (uses_left IS NULL)),
    CHECK (uses_left IS NULL OR (uses_left >= 0 AND uses_left <= uses_total)),
    CHECK (uses_left IS NULL OR uses_left + uses_count = uses_total),
    CHECK (not_after_ms > not_before_ms)
);
CREATE INDEX data_grant_subject ON data_grant (subject);

-- One data call of a grantee (§6.3): its request id, the digest of its body, the decision and
-- the answer given, and the log leaf recorded with it. Append-only.
CREATE TABLE grant_call (
    grantee_id      TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    request_digest  TEXT NOT NULL,
    grant_id        TEXT REFERENCES data_grant (grant_id),
    subject         TEXT,
    decision        TEXT NOT NULL CHECK (decision IN ('permit', 'deny')),
    code            TEXT NOT NULL,
    consumed        BIGINT NOT NULL CHECK (consumed IN (0, 1)),
    leaf_idx        BIGINT NOT NULL,
    response        TEXT NOT NULL,
    at_ms           BIGINT NOT NULL,
    PRIMARY KEY (grantee_id, request_id)
);
CREATE INDEX grant_call_grant ON grant_call (grant_id, at_ms);
CREATE INDEX grant_call_subject ON grant_call (subject, at_ms);
CREATE INDEX grant_call_time ON grant_call (grantee_id, at_ms);

-- Request nonces seen per grantee; rows older than the replay window are pruned.
CREATE TABLE grantee_nonce (
    grantee_id   TEXT NOT NULL,
    nonce        TEXT NOT NULL,
    seen_at_ms   BIGINT NOT NULL,
    PRIMARY KEY (grantee_id, nonce)
);
CREATE INDEX grantee_nonce_seen ON grantee_nonce (seen_at_ms);

-- An insurer's direct-claim rule for one product (§8.3 rules-in), filed as data: its share of
-- the personal cash part left after the basic funds, in basis points, capped per claim.
CREATE TABLE claim_rule (
    grantee_id    TEXT NOT NULL REFERENCES grantee (grantee_id),
    product_id    TEXT NOT NULL,
    rule_version  TEXT NOT NULL,
    share_bp      BIGINT NOT NULL CHECK (share_bp BETWEEN 0 AND 10000),
    cap_fen       BIGINT NOT NULL CHECK (cap_fen >= 0),
    filed_at_ms   BIGINT NOT NULL,
    PRIMARY KEY (grantee_id, product_id)
);

-- A direct claim computed inside the bureau: at most one per grant and settlement; the payout
-- is posted in the ledger under ref_id = claim_id. Append-only.
CREATE TABLE direct_claim (
    claim_id      TEXT PRIMARY KEY,
    grant_id      TEXT NOT NULL REFERENCES data_grant (grant_id),
    setl_id       TEXT NOT NULL REFERENCES settlement (setl_id),
    rule_version  TEXT NOT NULL,
    base_fen      BIGINT NOT NULL CHECK (base_fen >= 0),
    payable_fen   BIGINT NOT NULL CHECK (payable_fen >= 0 AND payable_fen <= base_fen),
    at_ms         BIGINT NOT NULL,
    UNIQUE (grant_id, setl_id)
);

CREATE TRIGGER grant_call_no_update BEFORE UPDATE ON grant_call
BEGIN
    SELECT RAISE(ABORT, 'grant_call is append-only');
END;
CREATE TRIGGER grant_call_no_delete BEFORE DELETE ON grant_call
BEGIN
    SELECT RAISE(ABORT, 'grant_call is append-only');
END;
CREATE TRIGGER direct_claim_no_update BEFORE UPDATE ON direct_claim
BEGIN
    SELECT RAISE(ABORT, 'direct_claim is append-only');
END;
CREATE TRIGGER direct_claim_no_delete BEFORE DELETE ON direct_claim
BEGIN
    SELECT RAISE(ABORT, 'direct_claim is append-only');
END;
