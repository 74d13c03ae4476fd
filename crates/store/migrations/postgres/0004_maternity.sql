-- yibao store schema, migration 4 (PostgreSQL; ../sqlite/0004_maternity.sql is the same).
-- The maternity facts of an outpatient visit (2203/2203A mdtrtinfo), kept for the settlement's
-- maternity benefit: at most one row per visit, replaced by each 2203/2203A that carries any of
-- them and removed by one that carries none. Absent text is ''; absent numbers are NULL.
CREATE TABLE visit_maternity (
    mdtrt_id           TEXT PRIMARY KEY REFERENCES visit (mdtrt_id),
    -- 生育类别: 1 正常产, 2 助娩产, 3 剖宫产, 4 难产, 5 流产, 6 引产, 7 产前检查, 9 其他.
    matn_type          TEXT NOT NULL CHECK (matn_type IN ('', '1', '2', '3', '4', '5', '6', '7', '9')),
    -- 计划生育手术类别: 1 … 9.
    birctrl_type       TEXT NOT NULL CHECK (birctrl_type IN ('', '1', '2', '3', '4', '5', '6', '7', '8', '9')),
    -- 计划生育手术或生育日期, yyyy-MM-dd.
    birctrl_matn_date  TEXT NOT NULL,
    -- 孕周数 (N 2).
    geso_val           BIGINT CHECK (geso_val BETWEEN 0 AND 99),
    -- 胎次 (N 3).
    fetts              BIGINT CHECK (fetts BETWEEN 1 AND 999),
    -- 胎儿数 (N 3).
    fetus_cnt          BIGINT CHECK (fetus_cnt BETWEEN 1 AND 999),
    -- 早产标志, 晚育标志, 伴有并发症标志: '0', '1' or ''.
    pret_flag          TEXT NOT NULL CHECK (pret_flag IN ('', '0', '1')),
    latechb_flag       TEXT NOT NULL CHECK (latechb_flag IN ('', '0', '1')),
    cop_flag           TEXT NOT NULL CHECK (cop_flag IN ('', '0', '1')),
    -- 计划生育服务证号.
    fpsc_no            TEXT NOT NULL
);

-- A correction to the comment on `idempotency` in 0001, which cannot change (every database it
-- migrated keeps its checksum): a 2601 for an msgid never seen leaves a row whose effect_kind is
-- 'barred' (not 'revoked'), with effect_ref the 2601's msgid, so that the late original is
-- refused. effect_kind is one of 'none' (nothing to undo: queries, pre-settlements, a 2601),
-- 'visit', 'fees', 'settlement', 'setl_list' (effect_ref names what was made) and 'barred';
-- a row whose effect was undone by 2601 keeps its kind and gets revoked_by.
