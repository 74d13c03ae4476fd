-- The review of findings (初审 → 申诉 → 复审 → 终审) and the receivables it confirms.
-- Append-only: a case is opened once per finding of a settlement; its history is a list of
-- events, never updated; its state is computed from them (crates/audit/src/review.rs).

CREATE TABLE audit_case (
    case_id         TEXT PRIMARY KEY,
    jr_id           TEXT NOT NULL UNIQUE REFERENCES audit_finding (jr_id),
    fixmedins_code  TEXT NOT NULL,
    patn_id         TEXT NOT NULL,
    setl_id         TEXT NOT NULL,
    rule_id         TEXT NOT NULL,
    sev_deg         BIGINT NOT NULL,
    flagged_fen     BIGINT NOT NULL CHECK (flagged_fen >= 0),
    opened_by       TEXT NOT NULL,
    opened_at       TEXT NOT NULL
);
CREATE INDEX audit_case_inst ON audit_case (fixmedins_code);
CREATE INDEX audit_case_rule ON audit_case (rule_id);

-- kind: 'first' | 'second' | 'final' (a decision: verdict 'uphold' with amount_fen, or
-- 'dismiss') or 'appeal' (the institution's, verdict 'appeal'). One of each kind per case.
CREATE TABLE audit_case_event (
    case_id     TEXT NOT NULL REFERENCES audit_case (case_id),
    seq         BIGINT NOT NULL CHECK (seq >= 1),
    kind        TEXT NOT NULL CHECK (kind IN ('first', 'second', 'final', 'appeal')),
    actor       TEXT NOT NULL,
    verdict     TEXT NOT NULL CHECK (verdict IN ('uphold', 'dismiss', 'appeal')),
    amount_fen  BIGINT NOT NULL CHECK (amount_fen >= 0),
    reason      TEXT NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (case_id, seq),
    UNIQUE (case_id, kind)
);

-- A confirmed case: what the institution owes (recovered from its next payment) and the
-- penalty; the ledger transfers are under ref_id = case_id.
CREATE TABLE audit_receivable (
    case_id         TEXT PRIMARY KEY REFERENCES audit_case (case_id),
    fixmedins_code  TEXT NOT NULL,
    admdvs          TEXT NOT NULL,
    amount_fen      BIGINT NOT NULL CHECK (amount_fen > 0),
    penalty_fen     BIGINT NOT NULL CHECK (penalty_fen >= 0),
    posted_at       TEXT NOT NULL
);
