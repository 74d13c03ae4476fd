-- yibao store schema, migration 25 (the same on SQLite and PostgreSQL but for the append-only
-- triggers). Personal-account payouts (spec enrollment.md §3.8, §6): a withdrawal (支取) of a
-- person settling abroad, the estate's payout after a death, and inheritance (继承) by heirs by
-- share. Each payout is one row with its lines (one per heir, or one for a withdrawal), posted in
-- the ledger under the payout's id in the same transaction; rows are never changed.
CREATE TABLE personal_account_payout (
    -- `W:PSN_NO:N` for a withdrawal, `I:PSN_NO` for the one inheritance of a person.
    payout_id     TEXT PRIMARY KEY,
    psn_no        TEXT NOT NULL REFERENCES person (psn_no),
    kind          TEXT NOT NULL CHECK (kind IN ('withdrawal', 'inheritance')),
    -- abroad, death or moved_without_transfer (a withdrawal); death (an inheritance).
    reason        TEXT NOT NULL,
    -- The parameter that allowed it, and the parameter set.
    rule          TEXT NOT NULL,
    params_id     TEXT NOT NULL,
    amount_fen    BIGINT NOT NULL CHECK (amount_fen > 0),
    -- The bank account the cash part is paid to, as the clerk recorded it ('' when none).
    bank_account  TEXT NOT NULL,
    -- The document the payout rests on (a deregistration or death certificate number …).
    evidence      TEXT NOT NULL,
    decided_by    TEXT NOT NULL,
    decided_at    TEXT NOT NULL,
    -- The local day the ledger books it on (YYYY-MM-DD).
    booked_on     TEXT NOT NULL
);

CREATE INDEX personal_account_payout_psn ON personal_account_payout (psn_no);

CREATE TABLE personal_account_payout_line (
    payout_id     TEXT NOT NULL REFERENCES personal_account_payout (payout_id),
    seq           BIGINT NOT NULL CHECK (seq >= 1),
    -- The heir (an inheritance) or NULL (a withdrawal, paid to the person or the estate).
    heir_psn_no   TEXT REFERENCES person (psn_no),
    -- The heir's share in parts (1 for a withdrawal).
    share         BIGINT NOT NULL CHECK (share >= 1),
    -- May be 0: a fen split among more heirs than it has fen leaves some with nothing.
    amount_fen    BIGINT NOT NULL CHECK (amount_fen >= 0),
    -- The ledger account credited: the heir's personal account or a payout account.
    paid_to       TEXT NOT NULL,
    PRIMARY KEY (payout_id, seq)
);

-- A person's statement reads the transfers touching one personal account; only those rows are
-- indexed, so settlements without an account payment pay nothing for it.
CREATE INDEX ledger_transfer_personal_debit ON ledger_transfer (debit_account)
    WHERE debit_account LIKE 'personal:%';
CREATE INDEX ledger_transfer_personal_credit ON ledger_transfer (credit_account)
    WHERE credit_account LIKE 'personal:%';

CREATE TRIGGER personal_account_payout_append_only BEFORE UPDATE OR DELETE ON personal_account_payout
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER personal_account_payout_line_append_only BEFORE UPDATE OR DELETE ON personal_account_payout_line
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
