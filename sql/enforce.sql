-- Enforcement, rows: every table a permission names is guarded by
-- generated, visible row-level security policies (issue 4, rows part).
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE ROLE acl_reg_writer_app NOLOGIN;
GRANT SET ON PARAMETER acl.user_id TO acl_reg_writer_app;
CREATE TABLE enf_notes (id int PRIMARY KEY, owner uuid, status text NOT NULL DEFAULT 'draft', body text);
GRANT SELECT, INSERT, UPDATE, DELETE ON enf_notes TO acl_reg_writer_app;
INSERT INTO acl.roles (id, name) VALUES ('a0000000-0000-4000-8000-000000000001', 'Writer');
INSERT INTO acl.policies (id, name) VALUES
    ('a0000000-0000-4000-8000-0000000000a1', 'writers'),
    ('a0000000-0000-4000-8000-0000000000a2', 'public enf_notes');
INSERT INTO acl.access (role, policy) VALUES ('a0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-0000000000a1');
INSERT INTO acl.access (role, "user", policy) VALUES (NULL, NULL, 'a0000000-0000-4000-8000-0000000000a2');
INSERT INTO acl.users (id, email, role) VALUES
    ('a1000000-0000-4000-8000-000000000001', 'wanda@example.org', 'a0000000-0000-4000-8000-000000000001'),
    ('a1000000-0000-4000-8000-000000000002', 'walt@example.org', 'a0000000-0000-4000-8000-000000000001'),
    ('a1000000-0000-4000-8000-000000000003', 'rolf@example.org', NULL),
    ('a1000000-0000-4000-8000-000000000004', 'ada@example.org', '7a0e3c57-5d0e-4a53-9b8e-5f0d6a1b0001');
INSERT INTO enf_notes VALUES
    (1, 'a1000000-0000-4000-8000-000000000001', 'published', 'wanda, public'),
    (2, 'a1000000-0000-4000-8000-000000000001', 'draft', 'wanda, private'),
    (3, 'a1000000-0000-4000-8000-000000000002', 'draft', 'walt, private'),
    (4, NULL, 'published', 'nobody''s');

-- Not managed yet: no row security.
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'enf_notes'::regclass;

INSERT INTO acl.permissions (policy, collection, action, permissions, fields) VALUES
    ('a0000000-0000-4000-8000-0000000000a1', 'enf_notes', 'read', '{"_or": [{"owner": {"_eq": "$CURRENT_USER"}}, {"status": "published"}]}', '{*}'),
    ('a0000000-0000-4000-8000-0000000000a1', 'enf_notes', 'update', '{"owner": {"_eq": "$CURRENT_USER"}}', '{body,status,owner}'),
    ('a0000000-0000-4000-8000-0000000000a1', 'enf_notes', 'create', NULL, '{*}'),
    ('a0000000-0000-4000-8000-0000000000a2', 'enf_notes', 'read', '{"status": "published"}', '{id,body}');

-- Managed: forced row security, and the generated policies are ordinary objects.
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'enf_notes'::regclass;
SELECT policyname, cmd, qual IS NOT NULL AS has_using, with_check IS NOT NULL AS has_check
  FROM pg_policies WHERE tablename = 'enf_notes' ORDER BY policyname;
-- The gates are plain calls (cheap for row security to copy into every
-- query); the planner hook reads each once per execution.
SELECT policyname, qual, with_check FROM pg_policies WHERE tablename = 'enf_notes' ORDER BY policyname;

-- Table privileges still bind every branch of a read (acl checks a read
-- entry repeated across branches once): a role granted two columns reads
-- those, and is refused any other, whoever the end user is.
CREATE ROLE acl_reg_narrow NOLOGIN;
GRANT SET ON PARAMETER acl.user_id TO acl_reg_narrow;
GRANT SELECT (id, status) ON enf_notes TO acl_reg_narrow;
SET ROLE acl_reg_narrow;
SET acl.user_id = 'a1000000-0000-4000-8000-000000000001';
DO $$
DECLARE
    line text;
    scans int := 0;
BEGIN
    FOR line IN EXPLAIN (COSTS OFF) SELECT id FROM enf_notes LOOP
        scans := scans + (line ~ 'Scan on enf_notes')::int;
    END LOOP;
    RAISE NOTICE 'scans of enf_notes in the plan: %', scans;
END $$;
SELECT array_agg(id ORDER BY id) AS narrow_reads_id FROM enf_notes;
SELECT body FROM enf_notes;
SELECT status FROM enf_notes WHERE body IS NOT NULL;
RESET acl.user_id;
SELECT body FROM enf_notes;
RESET ROLE;
REVOKE SET ON PARAMETER acl.user_id FROM acl_reg_narrow;
REVOKE ALL ON enf_notes FROM acl_reg_narrow;
DROP ROLE acl_reg_narrow;

CREATE FUNCTION visible() RETURNS int[] LANGUAGE sql AS $$ SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM enf_notes $$;

SET ROLE acl_reg_writer_app;
-- The public principal: published rows only.
SELECT visible() AS anonymous;
-- A writer: own rows and published ones.
SET acl.user_id = 'a1000000-0000-4000-8000-000000000001';
SELECT visible() AS wanda;
-- Updates touch only the rows an update rule matches; others are untouched.
UPDATE enf_notes SET body = body || ' (edited)' WHERE id IN (1, 2, 3) RETURNING id;
-- Deviation (README): Directus lets an update move a row out of what the
-- user may read (spec case 64).  PostgreSQL checks a row an UPDATE reads
-- (WHERE or RETURNING on its columns) against the read policies, before and
-- after, so the move is refused and nothing changes.
UPDATE enf_notes SET owner = 'a1000000-0000-4000-8000-000000000002' WHERE id = 2;
RESET ROLE;
SELECT owner = 'a1000000-0000-4000-8000-000000000001' AS unchanged FROM enf_notes WHERE id = 2;
SET ROLE acl_reg_writer_app;
-- No delete permission: refused with 42501, nothing is deleted.
DELETE FROM enf_notes WHERE id = 1 RETURNING id;
-- Create permission: inserts are allowed, whatever the row holds (create rules are not evaluated).
INSERT INTO enf_notes VALUES (5, 'a1000000-0000-4000-8000-000000000002', 'draft', 'for walt');
SET acl.user_id = 'a1000000-0000-4000-8000-000000000002';
SELECT visible() AS walt;
-- A role-less user: public policies plus their own (none): published only, no insert.
SET acl.user_id = 'a1000000-0000-4000-8000-000000000003';
SELECT visible() AS rolf;
INSERT INTO enf_notes VALUES (6, NULL, 'draft', 'rolf tries');
-- An administrator sees and changes everything.
SET acl.user_id = 'a1000000-0000-4000-8000-000000000004';
SELECT visible() AS ada;
DELETE FROM enf_notes WHERE id = 5 RETURNING id;
-- A plain gate call outside row security stays a call.  PL/pgSQL keeps a
-- simple expression's state for the whole transaction, so a gate read once
-- there would outlive an identity change.
RESET ROLE;
CREATE FUNCTION enf_am_admin() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN RETURN acl.is_admin(); END $$;
CREATE FUNCTION enf_visible_plpgsql() RETURNS int[] LANGUAGE plpgsql
AS $$ BEGIN RETURN (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM enf_notes); END $$;
SET ROLE acl_reg_writer_app;
BEGIN;
SET LOCAL acl.user_id = 'a1000000-0000-4000-8000-000000000004';
SELECT enf_am_admin() AS ada_is_admin, enf_visible_plpgsql() AS ada_reads;
SET LOCAL acl.user_id = 'a1000000-0000-4000-8000-000000000001';
SELECT enf_am_admin() AS wanda_is_admin, enf_visible_plpgsql() AS wanda_reads;
SET LOCAL acl.user_id = 'a1000000-0000-4000-8000-000000000004';
SELECT enf_am_admin() AS ada_again, enf_visible_plpgsql() AS ada_reads_again;
COMMIT;
SET acl.user_id = 'a1000000-0000-4000-8000-000000000004';
-- A suspended user has no identity: every statement fails.
RESET ROLE;
UPDATE acl.users SET status = 'suspended' WHERE id = 'a1000000-0000-4000-8000-000000000002';
SET ROLE acl_reg_writer_app;
SET acl.user_id = 'a1000000-0000-4000-8000-000000000002';
SELECT visible();
RESET ROLE;
UPDATE acl.users SET status = 'active' WHERE id = 'a1000000-0000-4000-8000-000000000002';

-- The table owner is bound too (FORCE); a superuser is not.
CREATE ROLE acl_reg_table_owner NOLOGIN;
ALTER TABLE enf_notes OWNER TO acl_reg_table_owner;
GRANT SET ON PARAMETER acl.user_id TO acl_reg_table_owner;
SET ROLE acl_reg_table_owner;
RESET acl.user_id;
SELECT visible() AS owner_as_anonymous;
RESET ROLE;
SELECT visible() AS superuser;
ALTER TABLE enf_notes OWNER TO postgres;

-- One prepared statement, many end users, generic plans.
SET ROLE acl_reg_writer_app;
PREPARE mine AS SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM enf_notes;
SET plan_cache_mode = force_generic_plan;
SET acl.user_id = 'a1000000-0000-4000-8000-000000000001';
EXECUTE mine;
SET acl.user_id = 'a1000000-0000-4000-8000-000000000002';
EXECUTE mine;
RESET acl.user_id;
EXECUTE mine;
SET acl.user_id = 'a1000000-0000-4000-8000-000000000004';
EXECUTE mine;
RESET plan_cache_mode;
RESET acl.user_id;
RESET ROLE;

-- acl.sync() leaves policies that are what it would generate: DROP/CREATE
-- POLICY locks the table and replans its queries.  It names the generated
-- policies whose pg_policy row is new since the last call.
CREATE TABLE policies_seen AS SELECT polname, oid FROM pg_policy WHERE polrelid = 'enf_notes'::regclass;
CREATE FUNCTION regenerated() RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    names text[];
BEGIN
    SELECT coalesce(array_agg(n ORDER BY n), '{}') INTO names
      FROM (SELECT coalesce(pol.name || ' ' || pm.action, p.polname::text) AS n
              FROM pg_policy p
              LEFT JOIN policies_seen s ON s.polname = p.polname
              LEFT JOIN acl.permissions pm ON p.polname = 'acl_' || pm.action || '_' || pm.id
              LEFT JOIN acl.policies pol ON pol.id = pm.policy
             WHERE p.polrelid = 'enf_notes'::regclass AND p.oid IS DISTINCT FROM s.oid) changed;
    TRUNCATE policies_seen;
    INSERT INTO policies_seen SELECT polname, oid FROM pg_policy WHERE polrelid = 'enf_notes'::regclass;
    RETURN names;
END
$$;
SELECT acl.sync() > 0 AS synced, regenerated();
-- A changed rule regenerates its own policy only.
UPDATE acl.permissions SET permissions = '{"_and": [{"status": "published"}, {"id": {"_lt": 4}}]}'
 WHERE policy = 'a0000000-0000-4000-8000-0000000000a2' AND collection = 'enf_notes'::regclass;
SELECT regenerated();
SET ROLE acl_reg_writer_app;
SELECT visible() AS anonymous_after_rule_change;
-- A change to fields alone regenerates nothing, yet a prepared statement's
-- generic plan is replanned and masks the column at once.
PREPARE bodies AS SELECT id, body FROM enf_notes ORDER BY id;
SET plan_cache_mode = force_generic_plan;
EXECUTE bodies;
RESET ROLE;
UPDATE acl.permissions SET fields = '{id}'
 WHERE policy = 'a0000000-0000-4000-8000-0000000000a2' AND collection = 'enf_notes'::regclass;
SELECT regenerated();
SET ROLE acl_reg_writer_app;
EXECUTE bodies;
RESET ROLE;
UPDATE acl.permissions SET fields = '{id,body}', permissions = '{"status": "published"}'
 WHERE policy = 'a0000000-0000-4000-8000-0000000000a2' AND collection = 'enf_notes'::regclass;
SELECT regenerated();
SET ROLE acl_reg_writer_app;
EXECUTE bodies;
DEALLOCATE bodies;
RESET plan_cache_mode;
RESET ROLE;
-- A generated policy edited or dropped by hand, or row security turned
-- down, is put back by the next sync.
ALTER POLICY acl_admin ON enf_notes USING (true);
DO $$ BEGIN
    EXECUTE (SELECT format('DROP POLICY %I ON enf_notes', polname) FROM pg_policy
              WHERE polrelid = 'enf_notes'::regclass AND polname LIKE 'acl\_create\_%');
END $$;
ALTER TABLE enf_notes NO FORCE ROW LEVEL SECURITY;
SELECT regenerated();
SELECT acl.sync() > 0 AS synced, regenerated();
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'enf_notes'::regclass;
SET ROLE acl_reg_writer_app;
SELECT visible() AS anonymous_after_repair;
RESET ROLE;
-- Without its record of what it generated (as after a restore), a sync
-- regenerates every policy; row security is on again when it returns.
TRUNCATE acl._synced_tables, acl._synced_policies;
BEGIN;
SELECT acl.sync() > 0 AS synced, regenerated();
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'enf_notes'::regclass;
SET LOCAL ROLE acl_reg_writer_app;
SELECT visible() AS anonymous_in_the_syncing_transaction;
COMMIT;
SELECT acl.sync() > 0 AS synced, regenerated();
DROP FUNCTION regenerated();
DROP TABLE policies_seen;

-- A permission takes effect when it commits, and rolls back with its transaction.
BEGIN;
INSERT INTO acl.permissions (policy, collection, action, permissions, fields)
VALUES ('a0000000-0000-4000-8000-0000000000a2', 'enf_notes', 'read', '{"status": "draft"}', '{*}');
SET LOCAL ROLE acl_reg_writer_app;
SELECT visible() AS anonymous_with_drafts;
ROLLBACK;
SET ROLE acl_reg_writer_app;
SELECT visible() AS anonymous_after_rollback;
RESET ROLE;
-- Removing a permission removes its effect at once.
DELETE FROM acl.permissions WHERE policy = 'a0000000-0000-4000-8000-0000000000a2';
SET ROLE acl_reg_writer_app;
SELECT visible() AS anonymous_without_permission;
RESET ROLE;

-- Renaming a column renames it in the permissions: they keep working.
ALTER TABLE enf_notes RENAME COLUMN status TO state;
SELECT acl.sync() AS tables_synced;
SET ROLE acl_reg_writer_app;
SET acl.user_id = 'a1000000-0000-4000-8000-000000000002';
SELECT visible() AS walt_after_rename;
RESET acl.user_id;
RESET ROLE;
ALTER TABLE enf_notes RENAME COLUMN state TO status;

-- Renames reach relational rules too: another table's column named through
-- a many-to-one, and a table named as a one-to-many, at any depth.
CREATE TABLE enf_authors (id int PRIMARY KEY, name text);
CREATE TABLE enf_books (id int PRIMARY KEY, author int REFERENCES enf_authors (id), title text);
INSERT INTO acl.permissions (policy, collection, action, permissions, fields) VALUES
    ('a0000000-0000-4000-8000-0000000000a1', 'enf_books', 'read',
     '{"_or": [{"author": {"name": {"_eq": "Ann"}}}, {"title": {"_eq": "Open"}}]}', '{*}'),
    ('a0000000-0000-4000-8000-0000000000a1', 'enf_authors', 'read',
     '{"enf_books": {"_some": {"author": {"name": {"_starts_with": "A"}}, "title": {"_nnull": true}}}}', '{*}');
ALTER TABLE enf_authors RENAME COLUMN name TO full_name;
ALTER TABLE enf_books RENAME TO enf_volumes;
ALTER TABLE enf_volumes RENAME COLUMN title TO heading;
SELECT collection, permissions FROM acl.permissions
 WHERE collection IN ('enf_volumes'::regclass, 'enf_authors'::regclass) ORDER BY id;
SELECT acl.sync() > 0 AS synced_without_warnings;
SELECT count(*) AS stale FROM acl.lint() WHERE finding = 'stale_permission';
DELETE FROM acl.permissions WHERE collection IN ('enf_volumes'::regclass, 'enf_authors'::regclass);
DROP TABLE enf_volumes, enf_authors;

-- A permission whose rule no longer compiles (its column dropped) grants
-- nothing, with a warning, and the lint reports it.
ALTER TABLE enf_notes ADD COLUMN flagged boolean;
INSERT INTO acl.permissions (policy, collection, action, permissions, fields)
VALUES ('a0000000-0000-4000-8000-0000000000a1', 'enf_notes', 'read', '{"flagged": {"_eq": true}}', '{*}');
ALTER TABLE enf_notes DROP COLUMN flagged CASCADE;
SELECT acl.sync() AS tables_synced;
SET ROLE acl_reg_writer_app;
SET acl.user_id = 'a1000000-0000-4000-8000-000000000002';
SELECT visible() AS walt_after_drop;
RESET acl.user_id;
RESET ROLE;
SELECT finding FROM acl.lint() WHERE collection = 'enf_notes'::regclass AND finding = 'stale_permission';
DELETE FROM acl.permissions WHERE permissions ? 'flagged';

-- With no permission left, the table stays closed (only administrators).
DELETE FROM acl.permissions WHERE collection = 'enf_notes'::regclass;
SELECT relforcerowsecurity, (SELECT array_agg(policyname) FROM pg_policies WHERE tablename = 'enf_notes') AS policies
  FROM pg_class WHERE oid = 'enf_notes'::regclass;
SET ROLE acl_reg_writer_app;
SET acl.user_id = 'a1000000-0000-4000-8000-000000000001';
SELECT visible() AS wanda_without_permissions;
RESET acl.user_id;
RESET ROLE;
-- TRUNCATE of the catalog closes every managed table the same way.
INSERT INTO acl.permissions (policy, collection, action) VALUES ('a0000000-0000-4000-8000-0000000000a1', 'enf_notes', 'read');
TRUNCATE acl.permissions;
SELECT array_agg(policyname) AS after_truncate FROM pg_policies WHERE tablename = 'enf_notes';

-- acl.manage() closes a table no permission names yet: administrators only.
CREATE TABLE enf_secrets (id int PRIMARY KEY, body text);
INSERT INTO enf_secrets VALUES (1, 'only admins');
GRANT SELECT ON enf_secrets TO acl_reg_writer_app;
SET ROLE acl_reg_writer_app;
SELECT count(*) AS before_manage FROM enf_secrets;
SELECT acl.manage('enf_secrets');
RESET ROLE;
SELECT acl.manage('enf_secrets');
SET ROLE acl_reg_writer_app;
SET acl.user_id = 'a1000000-0000-4000-8000-000000000001';
SELECT count(*) AS writer_after_manage FROM enf_secrets;
SET acl.user_id = 'a1000000-0000-4000-8000-000000000004';
SELECT count(*) AS admin_after_manage FROM enf_secrets;
RESET acl.user_id;
RESET ROLE;
DROP TABLE enf_secrets;

-- A variable with a path ($CURRENT_USER.department) is read once per
-- execution as well, in writes too; and grouping sets see the calls a
-- query groups by as written, so rollup rows null them.
CREATE TABLE enf_desks (id int PRIMARY KEY, department text, note text);
GRANT SELECT, UPDATE ON enf_desks TO acl_reg_writer_app;
INSERT INTO enf_desks VALUES (1, 'north', 'n'), (2, 'south', 's');
UPDATE acl.users SET department = 'north' WHERE id = 'a1000000-0000-4000-8000-000000000001';
INSERT INTO acl.permissions (policy, collection, action, permissions, fields) VALUES
    ('a0000000-0000-4000-8000-0000000000a1', 'enf_desks', 'read', NULL, '{id,note}'),
    ('a0000000-0000-4000-8000-0000000000a1', 'enf_desks', 'update',
     '{"department": {"_eq": "$CURRENT_USER.department"}}', '{note}');
SET ROLE acl_reg_writer_app;
SET acl.user_id = 'a1000000-0000-4000-8000-000000000001';
DO $$
DECLARE
    line text;
BEGIN
    FOR line IN EXPLAIN (VERBOSE, COSTS OFF) UPDATE enf_desks SET note = note || '!' LOOP
        IF line ~ 'dynamic_value|InitPlan|Filter' THEN
            RAISE NOTICE '%', regexp_replace(line, '^\s+', '');
        END IF;
    END LOOP;
END $$;
UPDATE enf_desks SET note = note || '!' RETURNING id, note;
SELECT acl.is_admin() AS admin, count(*) FROM enf_desks
 GROUP BY ROLLUP (acl.is_admin()) HAVING acl.is_admin() IS NULL;
SELECT acl.current_user_id() = 'a1000000-0000-4000-8000-000000000001' AS me, count(*) FROM enf_desks
 GROUP BY ROLLUP (acl.current_user_id()) ORDER BY 1 NULLS LAST;
-- With acl_admin dropped by hand, columns stay masked (nobody is admin),
-- until a sync puts it back.
RESET ROLE;
DROP POLICY acl_admin ON enf_desks;
SET ROLE acl_reg_writer_app;
SELECT id, department, note FROM enf_desks ORDER BY id;
RESET ROLE;
SELECT acl.sync() > 0 AS resynced;
SELECT count(*) AS admin_policies FROM pg_policy WHERE polrelid = 'enf_desks'::regclass AND polname = 'acl_admin';
RESET acl.user_id;
DELETE FROM acl.permissions WHERE collection = 'enf_desks'::regclass;
DROP TABLE enf_desks;

DROP TABLE enf_notes;
DROP FUNCTION visible(), enf_am_admin(), enf_visible_plpgsql();
REVOKE SET ON PARAMETER acl.user_id FROM acl_reg_writer_app, acl_reg_table_owner;
DROP ROLE acl_reg_writer_app;
DROP ROLE acl_reg_table_owner;
