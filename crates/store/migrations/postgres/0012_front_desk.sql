-- yibao store schema, migration 12 (PostgreSQL; ../sqlite/0012_front_desk.sql does the same by
-- rebuilding the table). The enrollment front desk (窗口经办) joins the staff roles: it registers
-- persons, opens and files registry cases and starts corrections; a reviewer (初审) decides them.
ALTER TABLE staff_role DROP CONSTRAINT staff_role_role_check;
ALTER TABLE staff_role ADD CONSTRAINT staff_role_role_check
    CHECK (role IN ('reviewer', 'senior_reviewer', 'final_reviewer', 'auditor', 'admin',
                    'finance', 'institution', 'front_desk'));
