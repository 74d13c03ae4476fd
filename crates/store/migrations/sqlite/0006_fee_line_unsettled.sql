-- Issue 11: the index of fee lines by settlement holds settled lines only. With every unsettled
-- line under NULL, a planner whose statistics are stale (a table grown since its last ANALYZE)
-- combined it with the primary key for `mdtrt_id = $1 AND setl_id IS NULL` and walked every
-- unsettled line's entry — milliseconds per settlement on a busy table. Without NULL entries it
-- cannot serve that condition, and a visit's lines are found by the primary key
-- (mdtrt_id, feedetl_sn) alone; lookups by settlement (`setl_id = $1`) still use it.
DROP INDEX fee_line_setl;
CREATE INDEX fee_line_setl ON fee_line (setl_id) WHERE setl_id IS NOT NULL;
