-- yibao store schema, migration 12 (SQLite; ../postgres/0012_front_desk.sql does the same with
-- ALTER TABLE). The enrollment front desk (窗口经办) joins the staff roles: it registers persons,
-- opens and files registry cases and starts corrections; a reviewer (初审) decides them.
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt with its rows.
CREATE TABLE staff_role_v12 (
    staff_id  BIGINT NOT NULL REFERENCES staff_account (staff_id),
    role      TEXT NOT NULL CHECK (role IN ('reviewer', 'senior_reviewer', 'final_reviewer',
                                            'auditor', 'admin', 'finance', 'institution',
                                            'front_desk')),
    PRIMARY KEY (staff_id, role)
);
INSERT INTO staff_role_v12 (staff_id, role) SELECT staff_id, role FROM staff_role;
DROP TABLE staff_role;
ALTER TABLE staff_role_v12 RENAME TO staff_role;
