-- yibao store schema, migration 15 (the same on SQLite and PostgreSQL). 转移接续 (spec
-- enrollment.md §3.9, §12): a relation moved between pooling regions. The sending region ends
-- the relation, builds the information sheet (参保人员基本医疗保险信息表: contribution months
-- by region, deemed months, last month paid, account balance) and sends the balance; the
-- receiving region loads the sheet, credits the months and the balance, and opens the relation
-- where the sending one ended. One row per direction and sheet; rows are never changed.
CREATE TABLE relation_transfer (
    transfer_id    TEXT NOT NULL,
    direction      TEXT NOT NULL CHECK (direction IN ('out', 'in')),
    psn_no         TEXT NOT NULL REFERENCES person (psn_no),
    certno         TEXT NOT NULL,
    insutype       TEXT NOT NULL CHECK (insutype IN ('310', '390')),
    from_admdvs    TEXT NOT NULL,
    to_admdvs      TEXT NOT NULL,
    -- Sending: the day the application was accepted; receiving: the day the sheet arrived.
    accepted_on    TEXT NOT NULL,
    -- The last day allowed (10 working days to send, 5 to load), over the holiday calendar.
    due_on         TEXT NOT NULL,
    done_on        TEXT NOT NULL,
    months_actual  BIGINT NOT NULL CHECK (months_actual >= 0),
    months_deemed  BIGINT NOT NULL CHECK (months_deemed >= 0),
    balance_fen    BIGINT NOT NULL CHECK (balance_fen >= 0),
    -- The information sheet as sent or received (JSON).
    sheet          TEXT NOT NULL,
    recorded_at    TEXT NOT NULL,
    PRIMARY KEY (transfer_id, direction)
);
CREATE INDEX relation_transfer_psn ON relation_transfer (psn_no);
