-- A direct claim (理赔直付) undone because its settlement was reversed (2208 and the like): the
-- payout goes back from the person's claim account to the insurer in the reversal's own
-- transaction, recorded once per claim. The claim row itself stays as it was (append-only).
CREATE TABLE direct_claim_reversal (
    claim_id         TEXT PRIMARY KEY REFERENCES direct_claim (claim_id),
    -- The reversal settlement that undid the claim's settlement.
    reversal_setl_id TEXT NOT NULL,
    payable_fen      BIGINT NOT NULL CHECK (payable_fen >= 0),
    at_ms            BIGINT NOT NULL
);
-- A reversal finds the claims on the settlement it reverses.
CREATE INDEX direct_claim_setl ON direct_claim (setl_id);

CREATE TRIGGER direct_claim_reversal_append_only BEFORE UPDATE OR DELETE ON direct_claim_reversal
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
