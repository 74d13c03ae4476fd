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

CREATE FUNCTION clearing_application_lock_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'clearing_application is append-only';
    END IF;
    IF OLD.locked_by_run IS NOT NULL OR NEW.locked_by_run IS NULL
       OR (NEW.clr_appy_evt_id, NEW.fixmedins_code, NEW.clr_ym, NEW.insutype, NEW.clr_type,
           NEW.setl_optins, NEW.attempt, NEW.medfee_sumamt, NEW.fund_pay_sumamt, NEW.acct_pay,
           NEW.cash_payamt, NEW.fixmedins_setl_cnt, NEW.msgid, NEW.opter, NEW.opter_name,
           NEW.created_at)
          IS DISTINCT FROM
          (OLD.clr_appy_evt_id, OLD.fixmedins_code, OLD.clr_ym, OLD.insutype, OLD.clr_type,
           OLD.setl_optins, OLD.attempt, OLD.medfee_sumamt, OLD.fund_pay_sumamt, OLD.acct_pay,
           OLD.cash_payamt, OLD.fixmedins_setl_cnt, OLD.msgid, OLD.opter, OLD.opter_name,
           OLD.created_at) THEN
        RAISE EXCEPTION 'clearing_application is append-only (only locked_by_run is set, once)';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER clearing_application_append_only BEFORE UPDATE OR DELETE ON clearing_application
    FOR EACH ROW EXECUTE FUNCTION clearing_application_lock_only();
CREATE TRIGGER clearing_withdrawal_append_only BEFORE UPDATE OR DELETE ON clearing_withdrawal
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER exchange_file_append_only BEFORE UPDATE OR DELETE ON exchange_file
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
