-- acl.lint(), and the plans compiled rules get: anchored on the current
-- user, relational rules are served by indexes, not scans.
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE TABLE lint_profiles (id uuid PRIMARY KEY, name text);
CREATE TABLE lint_readings (id int PRIMARY KEY, patient uuid NOT NULL REFERENCES lint_profiles(id),
                            value int, note text, owner uuid);
CREATE TABLE lint_care (caregiver uuid NOT NULL, patient uuid NOT NULL REFERENCES lint_profiles(id));
INSERT INTO acl.users (id, email) VALUES ('70000000-0000-4000-8000-000000000001', 'carer@example.org');
INSERT INTO lint_profiles SELECT ('71000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'p' || g
  FROM generate_series(1, 1000) g;
INSERT INTO lint_readings SELECT g, ('71000000-0000-4000-8000-' || lpad((1 + g % 1000)::text, 12, '0'))::uuid, g % 400, 'n', NULL
  FROM generate_series(1, 20000) g;
INSERT INTO lint_care VALUES ('70000000-0000-4000-8000-000000000001', '71000000-0000-4000-8000-000000000007'),
                             ('70000000-0000-4000-8000-000000000001', '71000000-0000-4000-8000-000000000009');
CREATE INDEX ON lint_readings (patient);
CREATE INDEX ON lint_care (caregiver);
ANALYZE lint_profiles, lint_readings, lint_care;

-- A caregiver's rule: readings of linked patients, through a many-to-one
-- and a one-to-many; the InitPlan's array feeds the index on patient.
-- Used by hand, outside row security, $CURRENT_USER stays the plain call
-- the rule is written with (in a policy, acl reads it once, as an InitPlan:
-- see the plans in masks).
DO $$ BEGIN
    EXECUTE 'PREPARE carer AS SELECT count(*) FROM lint_readings WHERE '
            || acl.compile('lint_readings', '{"patient": {"lint_care": {"_some": {"caregiver": {"_eq": "$CURRENT_USER"}}}}}');
END $$;
SET plan_cache_mode = force_generic_plan;
SET acl.user_id = '70000000-0000-4000-8000-000000000001';
EXPLAIN (COSTS OFF) EXECUTE carer;
EXECUTE carer;
RESET acl.user_id;
EXECUTE carer;
RESET plan_cache_mode;
DEALLOCATE carer;

-- Lint findings, each with a fix.
INSERT INTO acl.permissions (policy, collection, action, permissions, fields) VALUES
 ('abf8a154-5b1c-4a46-ac9c-7300570f4f17', 'lint_readings', 'read', '{"owner": {"_eq": "$CURRENT_USER"}}', '{*}'),
 ('abf8a154-5b1c-4a46-ac9c-7300570f4f17', 'lint_readings', 'read', '{"note": {"_icontains": "x"}}', '{*}'),
 ('abf8a154-5b1c-4a46-ac9c-7300570f4f17', 'lint_readings', 'read', '{"patient": {"lint_care": {"_some": {"caregiver": {"_eq": "$CURRENT_USER"}}}}}', '{*}'),
 ('abf8a154-5b1c-4a46-ac9c-7300570f4f17', 'lint_readings', 'read', '{"note": {"_starts_with": "n"}, "value": {"_gt": 10}}', '{id}');
SELECT finding, rule_path, suggestion FROM acl.lint() WHERE collection = 'lint_readings'::regclass
 ORDER BY permission_id, finding, rule_path;
CREATE INDEX ON lint_readings (owner);
CREATE INDEX ON lint_care (patient);
SELECT finding, rule_path FROM acl.lint() WHERE collection = 'lint_readings'::regclass AND finding LIKE 'unindexed%'
 ORDER BY permission_id, rule_path;
-- A rule the table no longer supports shows as stale (its generated
-- policies depend on the column, so only CASCADE drops it, and them).
ALTER TABLE lint_readings DROP COLUMN note CASCADE;
SELECT finding, message FROM acl.lint() WHERE finding = 'stale_permission';
-- A read rule that leads back to its own table, directly or through
-- another table's read rules: row security expands each policy's reads
-- under their own tables' policies, so PostgreSQL refuses every read of the
-- table (42P17).  acl.lint() names each rule in the cycle.
CREATE TABLE lint_tree (id int PRIMARY KEY, parent int REFERENCES lint_tree, owner uuid);
CREATE TABLE lint_teams (id int PRIMARY KEY, lead int);
CREATE TABLE lint_members (id int PRIMARY KEY, team int REFERENCES lint_teams, owner uuid);
ALTER TABLE lint_teams ADD FOREIGN KEY (lead) REFERENCES lint_members;
INSERT INTO acl.permissions (policy, collection, action, permissions, fields) VALUES
 ('abf8a154-5b1c-4a46-ac9c-7300570f4f17', 'lint_tree', 'read', '{"parent": {"owner": {"_eq": "$CURRENT_USER"}}}', '{*}'),
 ('abf8a154-5b1c-4a46-ac9c-7300570f4f17', 'lint_teams', 'read', '{"lead": {"owner": {"_eq": "$CURRENT_USER"}}}', '{*}'),
 ('abf8a154-5b1c-4a46-ac9c-7300570f4f17', 'lint_members', 'read', '{"team": {"id": {"_gt": 0}}}', '{*}'),
 ('abf8a154-5b1c-4a46-ac9c-7300570f4f17', 'lint_readings', 'read', '{"patient": {"name": {"_eq": "p1"}}}', '{*}');
SELECT collection, rule_path, message FROM acl.lint() WHERE finding = 'policy_cycle'
 ORDER BY collection::text, rule_path;
CREATE ROLE acl_reg_cycle NOLOGIN;
GRANT SELECT ON lint_tree, lint_teams, lint_members TO acl_reg_cycle;
SET ROLE acl_reg_cycle;
SELECT count(*) FROM lint_tree;
SELECT count(*) FROM lint_members;
RESET ROLE;
DELETE FROM acl.permissions WHERE collection IN ('lint_tree'::regclass, 'lint_teams'::regclass, 'lint_members'::regclass)
    OR permissions = '{"patient": {"name": {"_eq": "p1"}}}';
SELECT count(*) AS cycles FROM acl.lint() WHERE finding = 'policy_cycle';
REVOKE ALL ON lint_tree, lint_teams, lint_members FROM acl_reg_cycle;
DROP ROLE acl_reg_cycle;
DROP TABLE lint_tree, lint_members, lint_teams CASCADE;
-- Only a DBA may see every rule.
CREATE ROLE acl_reg_linter NOLOGIN;
SET ROLE acl_reg_linter;
SELECT count(*) FROM acl.lint();
RESET ROLE;
DROP ROLE acl_reg_linter;
DELETE FROM acl.permissions WHERE collection = 'lint_readings'::regclass;
