-- yibao store schema, migration 27 (sqlite; ../postgres/0027_merkle_log.sql is the same but for
-- the types and the triggers). The access log becomes the tamper-evident Merkle log of spec
-- data-authorization.md §9: RFC 6962 over SM3, signed checkpoints (SM2), witness cosignatures.
-- The leaf encoding and the tree are yibao-translog's; the store keeps the rows (access_log.rs).
--
-- The chain-era log of migration 8 is kept, not converted: its tables are renamed to
-- access_log_chain and access_log_chain_head with their rows, triggers and chain untouched, so
-- `Store::verify_chain_era` still checks them by the rule of migration 8. Converting them would
-- need the HMAC keys (kept outside the database) inside a migration and would re-sign history
-- nobody signed; the Merkle log starts empty at index 0.
ALTER TABLE access_log RENAME TO access_log_chain;
ALTER TABLE access_log_head RENAME TO access_log_chain_head;

-- The spec's log_leaf: one row per leaf, idx from 0 without gaps. `leaf` is the canonical
-- translog encoding (it records its own idx, so a moved row no longer fits its place) and
-- leaf_hash = SM3(0x00 ‖ leaf). People appear in the leaf only as HMAC-SM3 pseudonyms keyed per
-- leaf by its nonce. The other columns are the leaf's details, bound to it by its
-- detail_commitment = SM3(detail_salt ‖ details) (access_log.rs, `detail_bytes`): the acting
-- staff account, the endpoint, and the subject when it is a record rather than a person
-- (`case:12`; a person's subject is only `psn`, never a number).
CREATE TABLE access_log (
    idx            BIGINT PRIMARY KEY CHECK (idx >= 0),
    leaf           BLOB NOT NULL,
    leaf_hash      BLOB NOT NULL,
    staff_id       BIGINT,
    action         TEXT NOT NULL,
    subject_label  TEXT NOT NULL,
    -- A reason that is not a code (free text: an unmask reason, a refusal's message): the leaf's
    -- reason_code is then `text` and the words are here, committed like the other details.
    reason_text    TEXT NOT NULL,
    detail_salt    BLOB NOT NULL
);

-- The log's size and right edge (the roots of its complete subtrees, largest first, each as a
-- level byte and 32 hash bytes), moved by every append in the same transaction. The edge gives
-- the next subtrees and the current root without reading anything else; a checkpoint is signed
-- only when it agrees with log_subtree.
CREATE TABLE access_log_head (
    id     BIGINT PRIMARY KEY CHECK (id = 1),
    size   BIGINT NOT NULL CHECK (size >= 0),
    edge   BLOB NOT NULL
);
INSERT INTO access_log_head (id, size, edge) VALUES (1, 0, X'');

-- Per-level hashes of the complete, aligned subtrees: (level, idx) covers leaves
-- idx·2^level .. (idx+1)·2^level. Level 0 holds the leaf hashes. Written as they complete (an
-- append completes one on average, at most log2 n); never changed. Any proof reads O(log n)
-- of them in one query (translog `inclusion_proof_reads`).
CREATE TABLE log_subtree (
    level  BIGINT NOT NULL CHECK (level >= 0 AND level < 63),
    idx    BIGINT NOT NULL CHECK (idx >= 0),
    hash   BLOB NOT NULL,
    PRIMARY KEY (level, idx)
);

-- The person index (§9.2): HMAC-SM3(k_idx, person) → the leaves about that person. The key is
-- outside the database, so the table links nobody without it.
CREATE TABLE log_person (
    person_key  BLOB NOT NULL,
    leaf_idx    BIGINT NOT NULL,
    PRIMARY KEY (person_key, leaf_idx)
);

-- Signed checkpoints (§9.4): the C2SP note text, its size and root, the log's origin and the
-- SM2 public key (hex, uncompressed SEC1) that signed it, so a verifier finds the keys it needs
-- here. One per size.
CREATE TABLE log_checkpoint (
    size        BIGINT PRIMARY KEY CHECK (size >= 0),
    root        BLOB NOT NULL,
    note        TEXT NOT NULL,
    origin      TEXT NOT NULL,
    public_key  TEXT NOT NULL
);

-- Witness cosignatures (§9.5), one per witness key and checkpoint size: the cosignature line,
-- the root the witness saw, the log key it checked, and its time. A witness's latest row is the
-- checkpoint it next requires a consistency proof from.
CREATE TABLE log_cosignature (
    witness_key_id  TEXT NOT NULL,
    size            BIGINT NOT NULL,
    witness_name    TEXT NOT NULL,
    witness_key     TEXT NOT NULL,
    log_key         TEXT NOT NULL,
    root            BLOB NOT NULL,
    line            TEXT NOT NULL,
    cosigned_at_s   BIGINT NOT NULL,
    PRIMARY KEY (witness_key_id, size)
);

CREATE TRIGGER log_leaf_no_update BEFORE UPDATE ON access_log
BEGIN
    SELECT RAISE(ABORT, 'access_log is append-only');
END;
CREATE TRIGGER log_leaf_no_delete BEFORE DELETE ON access_log
BEGIN
    SELECT RAISE(ABORT, 'access_log is append-only');
END;
CREATE TRIGGER log_subtree_no_update BEFORE UPDATE ON log_subtree
BEGIN
    SELECT RAISE(ABORT, 'log_subtree is append-only');
END;
CREATE TRIGGER log_subtree_no_delete BEFORE DELETE ON log_subtree
BEGIN
    SELECT RAISE(ABORT, 'log_subtree is append-only');
END;
CREATE TRIGGER log_checkpoint_no_update BEFORE UPDATE ON log_checkpoint
BEGIN
    SELECT RAISE(ABORT, 'log_checkpoint is append-only');
END;
CREATE TRIGGER log_checkpoint_no_delete BEFORE DELETE ON log_checkpoint
BEGIN
    SELECT RAISE(ABORT, 'log_checkpoint is append-only');
END;
CREATE TRIGGER log_cosignature_no_update BEFORE UPDATE ON log_cosignature
BEGIN
    SELECT RAISE(ABORT, 'log_cosignature is append-only');
END;
CREATE TRIGGER log_cosignature_no_delete BEFORE DELETE ON log_cosignature
BEGIN
    SELECT RAISE(ABORT, 'log_cosignature is append-only');
END;
