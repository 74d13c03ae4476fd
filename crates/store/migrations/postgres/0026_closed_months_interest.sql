-- yibao store schema, migration 26 (postgres; ../sqlite/0026_closed_months_interest.sql is the same
-- but for the triggers' language). Two month-end additions (issue 14, docs/FUNDS.md).
--
-- A month closed for payment: a region whose `[funds] late_settlements` is "refuse" closes each
-- month its payment run pays; from the approval on, the database itself refuses a settlement or
-- a reversal dated in that month at one of the region's institutions, so the hot path needs no
-- extra round trip and no settlement can slip in between a check and its insert.
--
-- Interest credited to the funds, recorded from the bank's statement.

-- The setting a run was prepared under ('carry' for the runs before this migration).
ALTER TABLE payment_run ADD COLUMN late_settlements TEXT NOT NULL DEFAULT 'carry'
    CHECK (late_settlements IN ('carry', 'refuse'));

-- Written with the approval of a run prepared under 'refuse'; never changed.
CREATE TABLE payment_closed_month (
    admdvs  TEXT NOT NULL,
    month   TEXT NOT NULL,
    run_id  TEXT NOT NULL REFERENCES payment_run (run_id),
    PRIMARY KEY (admdvs, month)
);
CREATE TRIGGER payment_closed_month_append_only BEFORE UPDATE OR DELETE ON payment_closed_month
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();

-- The message is matched by the store (tx/settle.rs, CLOSED_MONTH_MARK) and turned into a
-- refusal naming setl_date.
CREATE FUNCTION settlement_month_open() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM payment_closed_month c JOIN institution i ON i.admdvs = c.admdvs
               WHERE i.fixmedins_code = NEW.fixmedins_code
                 AND c.month = substr(NEW.setl_date, 1, 7)) THEN
        RAISE EXCEPTION 'yibao: setl_date in a month closed for payment';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER settlement_month_open BEFORE INSERT ON settlement
    FOR EACH ROW EXECUTE FUNCTION settlement_month_open();

-- Interest the bank credited to a fund's special account (财政专户利息) for a month, recorded by
-- a finance officer from the bank's statement and posted in the ledger under
-- `int:FUND:ADMDVS:YYYY-MM` (kind `interest`, from the counter-account `interest:FUND:ADMDVS`).
-- One per fund, region and month; never changed.
CREATE TABLE fund_interest (
    fund         TEXT NOT NULL,
    admdvs       TEXT NOT NULL,
    month        TEXT NOT NULL,
    amount_fen   BIGINT NOT NULL CHECK (amount_fen > 0),
    recorded_by  TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    PRIMARY KEY (fund, admdvs, month)
);
CREATE TRIGGER fund_interest_append_only BEFORE UPDATE OR DELETE ON fund_interest
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
