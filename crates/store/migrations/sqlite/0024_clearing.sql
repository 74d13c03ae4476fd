-- Monthly clearing (清算) with institutions, and the file exchange of the national interface
-- (9101 upload, 3202 detail reconciliation, 9102 download). Append-only: an application is
-- withdrawn by a withdrawal row; the payment run marks an application it paid in
-- `locked_by_run`, the one column ever set after insert (from NULL, once).

-- A file exchanged with an institution: what it uploaded (9101) or a 3202 result. The bytes are
-- kept as base64 text (the schema uses BIGINT and TEXT only); a file is readable by its owner
-- until `dld_endtime`.
CREATE TABLE exchange_file (
    file_qury_no    TEXT PRIMARY KEY,
    fixmedins_code  TEXT NOT NULL REFERENCES institution (fixmedins_code),
    kind            TEXT NOT NULL CHECK (kind IN ('upload', 'stmt_detail_result')),
    filename        TEXT NOT NULL CHECK (filename <> ''),
    size_bytes      BIGINT NOT NULL CHECK (size_bytes >= 0),
    sha256          TEXT NOT NULL,
    content_base64  TEXT NOT NULL,
    msgid           TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    dld_endtime     TEXT NOT NULL
);
CREATE INDEX exchange_file_owner ON exchange_file (fixmedins_code, created_at);

-- 3203 清算申请: an institution's declared month totals for one scheme and clearing type,
-- accepted only when they equal the bureau's. `attempt` numbers the applications of one key
-- (0, 1, …): a new one is allowed only when every earlier one is withdrawn, and the unique key
-- makes two concurrent applications collide instead of both being accepted.
CREATE TABLE clearing_application (
    clr_appy_evt_id     TEXT PRIMARY KEY,
    fixmedins_code      TEXT NOT NULL REFERENCES institution (fixmedins_code),
    clr_ym              TEXT NOT NULL CHECK (length(clr_ym) = 7),
    insutype            TEXT NOT NULL,
    clr_type            TEXT NOT NULL,
    setl_optins         TEXT NOT NULL,
    attempt             BIGINT NOT NULL CHECK (attempt >= 0),
    medfee_sumamt       BIGINT NOT NULL,
    fund_pay_sumamt     BIGINT NOT NULL,
    acct_pay            BIGINT NOT NULL,
    cash_payamt         BIGINT NOT NULL,
    fixmedins_setl_cnt  BIGINT NOT NULL,
    msgid               TEXT NOT NULL,
    opter               TEXT NOT NULL,
    opter_name          TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    -- Set by the payment run that paid this month (NULL until then); a locked application can
    -- no longer be withdrawn.
    locked_by_run       TEXT,
    UNIQUE (fixmedins_code, clr_ym, insutype, clr_type, attempt)
);
CREATE INDEX clearing_application_month ON clearing_application (clr_ym, fixmedins_code);

-- 3204 撤销清算申请: one withdrawal per application.
CREATE TABLE clearing_withdrawal (
    clr_appy_evt_id  TEXT PRIMARY KEY REFERENCES clearing_application (clr_appy_evt_id),
    msgid            TEXT NOT NULL,
    opter            TEXT NOT NULL,
    opter_name       TEXT NOT NULL,
    created_at       TEXT NOT NULL
);

-- Append-only, but the payment run sets `locked_by_run` once, from NULL.
CREATE TRIGGER clearing_application_no_delete BEFORE DELETE ON clearing_application
BEGIN
    SELECT RAISE(ABORT, 'clearing_application is append-only');
END;
CREATE TRIGGER clearing_application_no_update BEFORE UPDATE OF clr_appy_evt_id, fixmedins_code,
    clr_ym, insutype, clr_type, setl_optins, attempt, medfee_sumamt, fund_pay_sumamt, acct_pay,
    cash_payamt, fixmedins_setl_cnt, msgid, opter, opter_name, created_at ON clearing_application
BEGIN
    SELECT RAISE(ABORT, 'clearing_application is append-only (only locked_by_run is set, once)');
END;
CREATE TRIGGER clearing_application_lock_once BEFORE UPDATE OF locked_by_run ON clearing_application
    WHEN OLD.locked_by_run IS NOT NULL OR NEW.locked_by_run IS NULL
BEGIN
    SELECT RAISE(ABORT, 'clearing_application is append-only (only locked_by_run is set, once)');
END;
CREATE TRIGGER clearing_withdrawal_no_update BEFORE UPDATE ON clearing_withdrawal
BEGIN
    SELECT RAISE(ABORT, 'clearing_withdrawal is append-only');
END;
CREATE TRIGGER clearing_withdrawal_no_delete BEFORE DELETE ON clearing_withdrawal
BEGIN
    SELECT RAISE(ABORT, 'clearing_withdrawal is append-only');
END;
CREATE TRIGGER exchange_file_no_update BEFORE UPDATE ON exchange_file
BEGIN
    SELECT RAISE(ABORT, 'exchange_file is append-only');
END;
CREATE TRIGGER exchange_file_no_delete BEFORE DELETE ON exchange_file
BEGIN
    SELECT RAISE(ABORT, 'exchange_file is append-only');
END;
