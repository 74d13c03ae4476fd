-- yibao store schema, migration 34 (the same on SQLite and PostgreSQL but for the append-only
-- triggers). Pharmacy inventory on the national interface (3501–3507): every uploaded record of
-- a stocktake, stock change, purchase, purchase return, sale or sale return is one movement row,
-- its drug traceability codes (`drug_trac_codg`) one row each; a 3507 deletion is a recorded
-- cancellation of the earlier rows, never a DELETE. The message (institution, msgid) is the
-- idempotency key: a replay answers from these rows and writes nothing.
CREATE TABLE inventory_message (
    fixmedins_code  TEXT NOT NULL,
    msgid           TEXT NOT NULL,
    -- 3501 … 3507.
    infno           TEXT NOT NULL CHECK (infno IN ('3501', '3502', '3503', '3504', '3505', '3506', '3507')),
    -- SHA-256 (hex) of the parsed request: the same msgid with another hash is refused.
    request_hash    TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    PRIMARY KEY (fixmedins_code, msgid)
);

-- One uploaded record: what moved, in which batch, how much (ten-thousandths of the unit, always
-- positive; `direction` says which way the balance moves: 0 for a stocktake, which sets it).
CREATE TABLE inventory_movement (
    fixmedins_code         TEXT NOT NULL,
    msgid                  TEXT NOT NULL,
    seq                    BIGINT NOT NULL CHECK (seq >= 0),
    infno                  TEXT NOT NULL CHECK (infno IN ('3501', '3502', '3503', '3504', '3505', '3506')),
    -- 进销存数据类型 as 3507 names it: 1 stocktake, 2 stock change, 3 purchase/return, 4 sale/return.
    inv_data_type          TEXT NOT NULL CHECK (inv_data_type IN ('1', '2', '3', '4')),
    direction              BIGINT NOT NULL CHECK (direction IN (-1, 0, 1)),
    med_list_codg          TEXT NOT NULL,
    fixmedins_hilist_id    TEXT NOT NULL,
    fixmedins_hilist_name  TEXT NOT NULL,
    fixmedins_bchno        TEXT NOT NULL,
    -- 生产批号: the batch the balance is kept by (a return's is its original's).
    manu_lotnum            TEXT NOT NULL,
    manu_date              TEXT,
    expy_end               TEXT,
    rx_flag                TEXT NOT NULL CHECK (rx_flag IN ('0', '1')),
    cnt_e4                 BIGINT NOT NULL CHECK (cnt_e4 > 0),
    -- 3502 库存变更类型.
    inv_chg_type           TEXT,
    -- Unit price in micro-yuan (finl_trns_pric / pric), when sent.
    pric_e6                BIGINT CHECK (pric_e6 IS NULL OR pric_e6 >= 0),
    spler_name             TEXT,
    purc_invo_no           TEXT,
    opter_name             TEXT,
    setl_id                TEXT,
    mdtrt_sn               TEXT,
    psn_no                 TEXT,
    rxno                   TEXT,
    -- A return's original record (3504: the purchase, 3506: the sale).
    orig_msgid             TEXT,
    orig_seq               BIGINT,
    memo                   TEXT,
    -- invdate, inv_chg_time, purc_retn_stoin_time or sel_retn_time.
    happened_at            TEXT NOT NULL,
    PRIMARY KEY (fixmedins_code, msgid, seq),
    FOREIGN KEY (fixmedins_code, msgid) REFERENCES inventory_message (fixmedins_code, msgid),
    CHECK ((infno IN ('3504', '3506')) = (orig_msgid IS NOT NULL AND orig_seq IS NOT NULL))
);
CREATE INDEX inventory_movement_batch ON inventory_movement (fixmedins_code, med_list_codg, manu_lotnum);
CREATE INDEX inventory_movement_bchno ON inventory_movement (fixmedins_code, fixmedins_bchno, inv_data_type);
CREATE INDEX inventory_movement_time ON inventory_movement (fixmedins_code, happened_at);
CREATE INDEX inventory_movement_orig ON inventory_movement (fixmedins_code, orig_msgid, orig_seq);

-- 药品追溯码: one row per code per movement; by code, so a code sold twice is found.
CREATE TABLE inventory_trace_code (
    fixmedins_code  TEXT NOT NULL,
    msgid           TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    code_seq        BIGINT NOT NULL CHECK (code_seq >= 0),
    drug_trac_codg  TEXT NOT NULL,
    PRIMARY KEY (fixmedins_code, msgid, seq, code_seq),
    UNIQUE (fixmedins_code, msgid, seq, drug_trac_codg),
    FOREIGN KEY (fixmedins_code, msgid, seq) REFERENCES inventory_movement (fixmedins_code, msgid, seq)
);
CREATE INDEX inventory_trace_code_code ON inventory_trace_code (drug_trac_codg);

-- 3507: each movement it cancelled, once.
CREATE TABLE inventory_cancellation (
    fixmedins_code   TEXT NOT NULL,
    cancelled_msgid  TEXT NOT NULL,
    cancelled_seq    BIGINT NOT NULL,
    -- The 3507 message.
    msgid            TEXT NOT NULL,
    cancelled_at     TEXT NOT NULL,
    PRIMARY KEY (fixmedins_code, cancelled_msgid, cancelled_seq),
    FOREIGN KEY (fixmedins_code, cancelled_msgid, cancelled_seq)
        REFERENCES inventory_movement (fixmedins_code, msgid, seq),
    FOREIGN KEY (fixmedins_code, msgid) REFERENCES inventory_message (fixmedins_code, msgid)
);
CREATE INDEX inventory_cancellation_msgid ON inventory_cancellation (fixmedins_code, msgid);

CREATE TRIGGER inventory_message_append_only BEFORE UPDATE OR DELETE ON inventory_message
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER inventory_movement_append_only BEFORE UPDATE OR DELETE ON inventory_movement
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER inventory_trace_code_append_only BEFORE UPDATE OR DELETE ON inventory_trace_code
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER inventory_cancellation_append_only BEFORE UPDATE OR DELETE ON inventory_cancellation
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
