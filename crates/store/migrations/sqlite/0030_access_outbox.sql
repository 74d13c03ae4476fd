-- The access log's outbox (spec data-authorization.md §9.3): a hospital's or pharmacy's call on
-- the national interface that reads or writes a person's data (1101, 5203, 5206, every
-- settlement call …) records its leaf here, in the call's own transaction for a write and
-- committed before the answer is released for a read ("no log, no data"). The sequencer
-- (`Store::sequence_outbox`) takes rows in id order, appends them to `access_log` as leaves with
-- contiguous indexes and deletes them in the same transaction. A row holds no person number:
-- `subject` is the person's designation (psn: + SM3 of the number), which becomes a per-leaf
-- pseudonym in the leaf.
CREATE TABLE access_outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ms            INTEGER NOT NULL,
    event            TEXT NOT NULL,
    -- Who called: 'inst:' + fixmedins_code.
    actor            TEXT NOT NULL,
    -- The transaction and the institution ('1101 H14050200001').
    action           TEXT NOT NULL,
    subject          TEXT NOT NULL,
    purpose          TEXT NOT NULL,
    -- Comma-separated item codes of the classification (ID01,IN01 …).
    item_codes       TEXT NOT NULL,
    request_digest   BLOB,
    response_digest  BLOB
);
