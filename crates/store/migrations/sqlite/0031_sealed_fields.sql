-- yibao store schema, migration 31 (SQLite; ../postgres/0031_sealed_fields.sql does the same).
-- Encryption at rest of level-3 items (docs/PRIVACY.md, "Encryption at rest"). The e-voucher
-- token (医保电子凭证, item AU03) is no longer kept: ec_token holds its blind index, HMAC-SM3
-- under a key outside the database, which is all 1101 needs to find the person. Tokens of an
-- older database wait in ec_token_clear until `yibao keys rewrap` indexes and deletes them (1101
-- still finds them there meanwhile). visit.mdtrt_cert_no keeps its column and holds a sealed
-- value (SM4-GCM, `v<version>:<hex>`) from now on; rewrap seals the older clear ones.
ALTER TABLE ec_token RENAME TO ec_token_clear;
DROP INDEX ec_token_psn;
CREATE INDEX ec_token_clear_psn ON ec_token_clear (psn_no);

CREATE TABLE ec_token (
    token_index TEXT PRIMARY KEY,
    psn_no      TEXT NOT NULL REFERENCES person (psn_no),
    begndate    TEXT NOT NULL,
    enddate     TEXT NOT NULL
);
CREATE INDEX ec_token_psn ON ec_token (psn_no);
