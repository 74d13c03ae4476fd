-- Fund operations (issue 14, docs/FUNDS.md): the booking date of every ledger transfer, the
-- month's payment run per region (prepared by one finance officer, approved by another), what
-- it paid (each settlement once), the DRG cases it priced, the lines of each institution's
-- payment order, and the funds' annual budgets. Append-only: approving a run is a new row.

-- The local date (YYYY-MM-DD, the region's time) a transfer belongs to: a settlement's
-- setl_date, a run's month end, a contribution run's date. Fund statements are cut by it.
-- Opening balances loaded at import have '' (before every month). Transfers written before this
-- migration get their settlement's date where they have one, else ''.
ALTER TABLE ledger_transfer ADD COLUMN booked_on TEXT NOT NULL DEFAULT '';
UPDATE ledger_transfer SET booked_on = s.setl_date FROM settlement s WHERE s.setl_id = ledger_transfer.ref_id;

-- One run per region (institution.admdvs, the treating region) and month. The ledger transfers
-- of the payment are posted only with its approval (ref_id = run_id).
CREATE TABLE payment_run (
    run_id          TEXT PRIMARY KEY,
    admdvs          TEXT NOT NULL,
    month           TEXT NOT NULL,
    prepared_by     TEXT NOT NULL,
    prepared_at     TEXT NOT NULL,
    pay_by          TEXT NOT NULL,
    method          TEXT NOT NULL CHECK (method IN ('drg', 'dip', 'ffs')),
    pool_fen        BIGINT NOT NULL,
    points_e4       BIGINT NOT NULL CHECK (points_e4 >= 0),
    n_settlements   BIGINT NOT NULL CHECK (n_settlements >= 0),
    n_cases         BIGINT NOT NULL CHECK (n_cases >= 0),
    n_held          BIGINT NOT NULL CHECK (n_held >= 0),
    total_fen       BIGINT NOT NULL,
    year_end        BIGINT NOT NULL CHECK (year_end IN (0, 1)),
    UNIQUE (admdvs, month)
);

CREATE TABLE payment_approval (
    run_id       TEXT PRIMARY KEY REFERENCES payment_run (run_id),
    approved_by  TEXT NOT NULL,
    approved_at  TEXT NOT NULL
);

-- Each settlement (and each reversal) is paid by exactly one run.
CREATE TABLE payment_item (
    setl_id         TEXT PRIMARY KEY REFERENCES settlement (setl_id),
    run_id          TEXT NOT NULL REFERENCES payment_run (run_id),
    fixmedins_code  TEXT NOT NULL
);
CREATE INDEX payment_item_run ON payment_item (run_id, fixmedins_code);

-- A DRG/DIP case priced by a run (a reversal of a priced case: its negation). adjustment_fen is
-- what the points pay beyond the fee-for-service amount the fund already paid at settlement
-- (negative: less), charged to fund_account.
CREATE TABLE payment_case (
    setl_id            TEXT PRIMARY KEY REFERENCES settlement (setl_id),
    run_id             TEXT NOT NULL REFERENCES payment_run (run_id),
    fixmedins_code     TEXT NOT NULL,
    setl_list_id       TEXT NOT NULL,
    grp                TEXT NOT NULL,
    kind               TEXT NOT NULL,
    points_e4          BIGINT NOT NULL,
    cost_fen           BIGINT NOT NULL,
    fund_paid_fen      BIGINT NOT NULL,
    payment_fen        BIGINT NOT NULL,
    adjustment_fen     BIGINT NOT NULL,
    fund_account       TEXT NOT NULL,
    CHECK (adjustment_fen = payment_fen - cost_fen)
);
CREATE INDEX payment_case_run ON payment_case (run_id, fixmedins_code);

-- The lines of an institution's payment order: kind ffs (what settlements owe it per payer),
-- drg (points minus fee-for-service), true_up (year end), recovery (confirmed audit cases
-- deducted), holdback (quality guarantee withheld) and holdback_release (year end), counter
-- (cash the institution took at its counter: cleared, not paid), and bank / clearing (what is
-- paid, per fund bank account or per region owing it). trace says where the amount comes from.
CREATE TABLE payment_line (
    run_id          TEXT NOT NULL REFERENCES payment_run (run_id),
    fixmedins_code  TEXT NOT NULL,
    seq             BIGINT NOT NULL CHECK (seq >= 1),
    kind            TEXT NOT NULL CHECK (kind IN ('ffs', 'drg', 'true_up', 'recovery', 'holdback',
                        'holdback_release', 'counter', 'bank', 'clearing', 'reimburse')),
    account         TEXT NOT NULL,
    amount_fen      BIGINT NOT NULL,
    trace           TEXT NOT NULL,
    PRIMARY KEY (run_id, fixmedins_code, seq)
);

-- A fund's annual expenditure budget (for the budget execution rate); a later version wins.
CREATE TABLE fund_budget (
    fund        TEXT NOT NULL,
    admdvs      TEXT NOT NULL,
    year        BIGINT NOT NULL,
    version     BIGINT NOT NULL CHECK (version >= 1),
    amount_fen  BIGINT NOT NULL CHECK (amount_fen > 0),
    set_by      TEXT NOT NULL,
    set_at      TEXT NOT NULL,
    PRIMARY KEY (fund, admdvs, year, version)
);

-- A region reimbursing another for its insured's care there (异地清算): what the debtor owed the
-- creditor for one fund when it paid, prepared and approved by two finance officers.
CREATE TABLE region_clearing (
    clearing_id   TEXT PRIMARY KEY,
    month         TEXT NOT NULL,
    debtor        TEXT NOT NULL,
    creditor      TEXT NOT NULL,
    fund          TEXT NOT NULL,
    amount_fen    BIGINT NOT NULL CHECK (amount_fen > 0),
    prepared_by   TEXT NOT NULL,
    approved_by   TEXT NOT NULL,
    posted_at     TEXT NOT NULL,
    CHECK (debtor <> creditor),
    CHECK (prepared_by <> approved_by)
);

-- Append-only.
CREATE TRIGGER payment_run_append_only BEFORE UPDATE OR DELETE ON payment_run
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER payment_approval_append_only BEFORE UPDATE OR DELETE ON payment_approval
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER payment_item_append_only BEFORE UPDATE OR DELETE ON payment_item
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER payment_case_append_only BEFORE UPDATE OR DELETE ON payment_case
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER payment_line_append_only BEFORE UPDATE OR DELETE ON payment_line
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER fund_budget_append_only BEFORE UPDATE OR DELETE ON fund_budget
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER region_clearing_append_only BEFORE UPDATE OR DELETE ON region_clearing
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
