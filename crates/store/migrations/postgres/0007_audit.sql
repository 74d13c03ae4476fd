-- Smart audit before and during settlement (3101/3102) and the hospital's answers (3103).
-- Append-only: a finding, its lines and a disposition are written once and never updated.

-- One finding (违规结果) as answered to the hospital; `setl_id` is set when a settlement
-- (2207/2304) recorded it.
CREATE TABLE audit_finding (
    jr_id           TEXT PRIMARY KEY,
    fixmedins_code  TEXT NOT NULL REFERENCES institution (fixmedins_code),
    msgid           TEXT NOT NULL,
    infno           TEXT NOT NULL,
    task_id         TEXT NOT NULL,
    warn_type       BIGINT NOT NULL CHECK (warn_type IN (1, 2)),
    trig_scen       TEXT NOT NULL,
    patn_id         TEXT NOT NULL,
    mdtrt_id        TEXT NOT NULL,
    setl_id         TEXT,
    rule_id         TEXT NOT NULL,
    rule_version    BIGINT NOT NULL,
    category        TEXT NOT NULL,
    sev_deg         BIGINT NOT NULL CHECK (sev_deg IN (1, 2, 3)),
    money_kind      TEXT NOT NULL,
    vola_cont       TEXT NOT NULL,
    vola_amt_fen    BIGINT NOT NULL CHECK (vola_amt_fen >= 0),
    evidence        TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX audit_finding_mdtrt ON audit_finding (mdtrt_id);
CREATE INDEX audit_finding_patn ON audit_finding (patn_id);
CREATE INDEX audit_finding_inst ON audit_finding (fixmedins_code, created_at);

-- The lines a finding names (judge_result_detail_dtos).
CREATE TABLE audit_finding_line (
    jrd_id          TEXT PRIMARY KEY,
    jr_id           TEXT NOT NULL REFERENCES audit_finding (jr_id),
    mdtrt_id        TEXT NOT NULL,
    rx_id           TEXT NOT NULL,
    feedetl_sn      TEXT,
    vola_item_type  BIGINT NOT NULL CHECK (vola_item_type IN (1, 2)),
    vola_amt_fen    BIGINT NOT NULL CHECK (vola_amt_fen >= 0)
);
CREATE INDEX audit_finding_line_jr ON audit_finding_line (jr_id);

-- 3103: what the hospital did with a warning, once per warning.
CREATE TABLE audit_disposition (
    jr_id           TEXT PRIMARY KEY REFERENCES audit_finding (jr_id),
    fixmedins_code  TEXT NOT NULL,
    msgid           TEXT NOT NULL,
    warn_type       BIGINT NOT NULL CHECK (warn_type IN (1, 2)),
    dspo_way        BIGINT NOT NULL CHECK (dspo_way IN (1, 2)),
    dspo_way_rea    TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
