-- yibao store schema, migration 3 (SQLite; ../postgres/0003_registry.sql is the same).
-- Registry additions: the credentials 1101 resolves besides psn_no and the resident id, and the
-- chronic disease recognitions 5301 answers.

-- 医保电子凭证 (mdtrt_cert_type 01): the token a person's app shows, valid over a period.
CREATE TABLE ec_token (
    ec_token  TEXT PRIMARY KEY,
    psn_no    TEXT NOT NULL REFERENCES person (psn_no),
    begndate  TEXT NOT NULL,
    enddate   TEXT NOT NULL
);
CREATE INDEX ec_token_psn ON ec_token (psn_no);

-- 社会保障卡 (mdtrt_cert_type 03): card number, chip identification code (card_sn), holder and
-- the period the card is in force (a replaced card ends).
CREATE TABLE ss_card (
    card_no   TEXT PRIMARY KEY,
    card_sn   TEXT NOT NULL,
    psn_no    TEXT NOT NULL REFERENCES person (psn_no),
    begndate  TEXT NOT NULL,
    enddate   TEXT NOT NULL
);
CREATE INDEX ss_card_psn ON ss_card (psn_no);

-- 门诊慢特病认定 (recognition for chronic and special outpatient diseases, 5301): a person is
-- recognised for a disease over a period, to be treated at a designated institution ('' when
-- any designated institution may treat it).
CREATE TABLE chronic_recognition (
    psn_no          TEXT NOT NULL REFERENCES person (psn_no),
    opsp_dise_code  TEXT NOT NULL,
    opsp_dise_name  TEXT NOT NULL,
    begndate        TEXT NOT NULL,
    enddate         TEXT NOT NULL,
    fixmedins_code  TEXT NOT NULL,
    PRIMARY KEY (psn_no, opsp_dise_code, begndate)
);
