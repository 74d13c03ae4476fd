-- yibao store schema, migration 13 (PostgreSQL; ../sqlite/0013_registry_casework.sql is the same
-- but for the triggers). The work on a registry case (migration 10's `registry_case`): the front
-- desk (窗口经办) files notes, a reviewer (初审) resolves it, and each step is a row that is only
-- ever added; the case's `status` follows the last step.
CREATE TABLE registry_case_step (
    case_id   BIGINT NOT NULL REFERENCES registry_case (case_id),
    seq       BIGINT NOT NULL CHECK (seq >= 1),
    staff_id  BIGINT NOT NULL REFERENCES staff_account (staff_id),
    action    TEXT NOT NULL CHECK (action IN ('note', 'resolve')),
    -- '' for a note; a resolution's outcome.
    outcome   TEXT NOT NULL CHECK ((action = 'note' AND outcome = '')
                                   OR (action = 'resolve'
                                       AND outcome IN ('matched', 'corrected', 'rejected', 'no_action'))),
    -- The person a reviewer matched an unmatched record to ('' otherwise).
    psn_no    TEXT NOT NULL,
    reason    TEXT NOT NULL CHECK (reason <> ''),
    at        TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
);

CREATE TRIGGER registry_case_step_append_only BEFORE UPDATE OR DELETE ON registry_case_step
    FOR EACH ROW EXECUTE FUNCTION registry_append_only();
