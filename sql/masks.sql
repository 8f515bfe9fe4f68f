-- Column masks, the "cases" rule (spec §3.3): a column's value on a row is
-- visible only when a read permission whose rule matches that row lists the
-- column.  Every path that can observe a value sees the mask.
\set VERBOSITY terse

CREATE ROLE acl_reg_mask_app NOLOGIN;
GRANT SET ON PARAMETER acl.user_id TO acl_reg_mask_app;
GRANT CREATE ON SCHEMA public TO acl_reg_mask_app;
CREATE TABLE mask_notes (id int PRIMARY KEY, owner uuid, status text NOT NULL DEFAULT 'draft',
                         body text, secret text);
GRANT SELECT, INSERT, UPDATE, DELETE ON mask_notes TO acl_reg_mask_app;
INSERT INTO mask_notes VALUES
    (1, 'b1000000-0000-4000-8000-000000000001', 'draft', 'mine', 's1'),
    (2, 'b1000000-0000-4000-8000-000000000002', 'published', 'hers, public', 's2'),
    (3, 'b1000000-0000-4000-8000-000000000002', 'draft', 'hers, private', 's3'),
    (4, NULL, 'published', 'nobody''s', 's4');
INSERT INTO acl.policies (id, name) VALUES
    ('b0000000-0000-4000-8000-0000000000a1', 'own notes'),
    ('b0000000-0000-4000-8000-0000000000a2', 'public notes');
INSERT INTO acl.users (id, email) VALUES
    ('b1000000-0000-4000-8000-000000000001', 'mia@example.org'),
    ('b1000000-0000-4000-8000-000000000002', 'max@example.org'),
    ('b1000000-0000-4000-8000-000000000003', 'root@example.org');
INSERT INTO acl.access ("user", policy) VALUES
    ('b1000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-0000000000a1'),
    ('b1000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-0000000000a1'),
    ('b1000000-0000-4000-8000-000000000003', '7a0e3c57-5d0e-4a53-9b8e-5f0d6a1b0002');
INSERT INTO acl.access (policy) VALUES ('b0000000-0000-4000-8000-0000000000a2');
-- Owners see all of their rows; everyone sees published rows without owner
-- and secret.
INSERT INTO acl.permissions (policy, collection, action, permissions, fields) VALUES
    ('b0000000-0000-4000-8000-0000000000a1', 'mask_notes', 'read', '{"owner": {"_eq": "$CURRENT_USER"}}', '{*}'),
    ('b0000000-0000-4000-8000-0000000000a2', 'mask_notes', 'read', '{"status": {"_eq": "published"}}', '{id,status,body}');

SET ROLE acl_reg_mask_app;
SET acl.user_id = 'b1000000-0000-4000-8000-000000000001';
-- The select list: max's published row shows without owner and secret.
SELECT * FROM mask_notes ORDER BY id;
-- WHERE, ORDER BY, GROUP BY and aggregates see the masked value.
SELECT id FROM mask_notes WHERE secret = 's2';
SELECT id FROM mask_notes WHERE secret IS NULL ORDER BY id;
SELECT id, secret FROM mask_notes ORDER BY secret NULLS LAST, id;
SELECT secret, count(*) FROM mask_notes GROUP BY secret ORDER BY secret;
SELECT count(secret) AS counted, string_agg(secret, ',') AS secrets FROM mask_notes;
-- Whole-row references.
SELECT n FROM mask_notes n ORDER BY id;
SELECT row_to_json(n) FROM mask_notes n ORDER BY id;
SELECT to_jsonb(n) ->> 'secret' AS secret FROM mask_notes n ORDER BY id;
-- System columns still work.
SELECT ctid IS NOT NULL AS has_ctid, tableoid::regclass, id, secret FROM mask_notes ORDER BY id;
-- Joins, subqueries, CTEs, set operations, lateral.
SELECT a.id, b.id FROM mask_notes a JOIN mask_notes b ON a.secret = b.secret ORDER BY 1;
SELECT (SELECT secret FROM mask_notes WHERE id = 2) AS scalar_subquery;
SELECT id FROM mask_notes WHERE id IN (SELECT id FROM mask_notes WHERE secret LIKE 's%') ORDER BY id;
WITH c AS MATERIALIZED (SELECT * FROM mask_notes) SELECT id, secret FROM c ORDER BY id;
SELECT secret FROM mask_notes UNION SELECT secret FROM mask_notes ORDER BY 1;
SELECT x.id, l.s FROM (VALUES (2), (1)) x(id), LATERAL (SELECT secret FROM mask_notes WHERE id = x.id) l(s) ORDER BY 1;
-- A view the application role made, SQL functions (inlined or not), plpgsql,
-- and a SECURITY DEFINER function the application role owns.
CREATE VIEW mask_view AS SELECT * FROM mask_notes;
SELECT id, secret FROM mask_view ORDER BY id;
CREATE FUNCTION mask_srf() RETURNS SETOF mask_notes LANGUAGE sql STABLE AS 'SELECT * FROM mask_notes';
SELECT id, secret FROM mask_srf() ORDER BY id;
CREATE FUNCTION mask_scalar(i int) RETURNS text LANGUAGE sql AS 'SELECT secret FROM mask_notes WHERE id = i';
SELECT mask_scalar(2) AS sql_function, mask_scalar(1) AS own;
CREATE FUNCTION mask_plpgsql(i int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text;
BEGIN
    SELECT secret INTO s FROM mask_notes WHERE id = i;
    RETURN s;
END $$;
SELECT mask_plpgsql(2) AS plpgsql, mask_plpgsql(1) AS own;
CREATE FUNCTION mask_definer(i int) RETURNS text LANGUAGE sql SECURITY DEFINER AS 'SELECT secret FROM mask_notes WHERE id = i';
SELECT mask_definer(2) AS definer;
CREATE FUNCTION mask_dynamic(i int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text;
BEGIN
    EXECUTE 'SELECT secret FROM mask_notes WHERE id = $1' INTO s USING i;
    RETURN s;
END $$;
SELECT mask_dynamic(2) AS dynamic_sql;
-- COPY TO runs a query too.
COPY mask_notes TO STDOUT;
COPY (SELECT id, secret FROM mask_notes ORDER BY id) TO STDOUT;
-- A cursor.
BEGIN;
DECLARE mask_cursor CURSOR FOR SELECT id, secret FROM mask_notes ORDER BY id;
FETCH ALL FROM mask_cursor;
COMMIT;

-- Prepared statements, reused across end users, custom and generic plans.
PREPARE mask_all AS SELECT id, owner IS NOT NULL AS owner_shown, secret FROM mask_notes ORDER BY id;
EXECUTE mask_all;
SET acl.user_id = 'b1000000-0000-4000-8000-000000000002';
EXECUTE mask_all;
RESET acl.user_id;
EXECUTE mask_all;
SET plan_cache_mode = force_generic_plan;
PREPARE mask_generic(int) AS SELECT id, secret FROM mask_notes WHERE id >= $1 ORDER BY id;
SET acl.user_id = 'b1000000-0000-4000-8000-000000000001';
EXECUTE mask_generic(1);
SET acl.user_id = 'b1000000-0000-4000-8000-000000000002';
EXECUTE mask_generic(1);
SET acl.user_id = 'b1000000-0000-4000-8000-000000000003';
EXECUTE mask_generic(1);
RESET acl.user_id;
EXECUTE mask_generic(1);
RESET plan_cache_mode;
SELECT name, generic_plans > 0 AS generic, custom_plans FROM pg_prepared_statements
 WHERE name = 'mask_generic';
-- An administrator sees everything.
SET acl.user_id = 'b1000000-0000-4000-8000-000000000003';
SELECT id, secret FROM mask_notes ORDER BY id;
RESET acl.user_id;
RESET ROLE;

-- The plan shows the masks: one branch per policy, run when that policy is
-- the end user's only one, where a mask its rules decide is plain (owner's
-- branch) or NULL (published branch); and a branch for two or more
-- policies that keeps the full CASE over the gates.
SET ROLE acl_reg_mask_app;
EXPLAIN (COSTS OFF, VERBOSE) SELECT id, secret FROM mask_notes;
RESET ROLE;

-- A field every read permission grants costs nothing: no mask at all.
UPDATE acl.permissions SET fields = '{*}' WHERE collection = 'mask_notes'::regclass;
SET ROLE acl_reg_mask_app;
EXPLAIN (COSTS OFF, VERBOSE) SELECT id, secret FROM mask_notes;
RESET ROLE;
-- A change to fields takes effect in the same session and invalidates plans.
SET ROLE acl_reg_mask_app;
SET acl.user_id = 'b1000000-0000-4000-8000-000000000001';
EXECUTE mask_all;
RESET ROLE;
UPDATE acl.permissions SET fields = '{id,status}' WHERE collection = 'mask_notes'::regclass
   AND permissions ? 'status';
SET ROLE acl_reg_mask_app;
EXECUTE mask_all;
-- A column no permission lists reads as NULL, never an error.
RESET ROLE;
UPDATE acl.permissions SET fields = '{id}' WHERE collection = 'mask_notes'::regclass;
SET ROLE acl_reg_mask_app;
SELECT * FROM mask_notes ORDER BY id;
RESET ROLE;
-- Superusers and the table owner... the owner is bound (FORCE), superusers are not.
SELECT count(secret) AS superuser_sees FROM mask_notes;
RESET acl.user_id;

-- Partitions and inheritance children are governed by their parent's
-- permissions, also when read directly, and also when created later.
CREATE TABLE mask_parted (id int, owner uuid, secret text) PARTITION BY RANGE (id);
CREATE TABLE mask_parted_1 PARTITION OF mask_parted FOR VALUES FROM (0) TO (10);
GRANT SELECT ON mask_parted, mask_parted_1 TO acl_reg_mask_app;
INSERT INTO acl.permissions (policy, collection, action, permissions, fields) VALUES
    ('b0000000-0000-4000-8000-0000000000a1', 'mask_parted', 'read', '{"owner": {"_eq": "$CURRENT_USER"}}', '{*}'),
    ('b0000000-0000-4000-8000-0000000000a2', 'mask_parted', 'read', NULL, '{id}');
CREATE TABLE mask_parted_2 PARTITION OF mask_parted FOR VALUES FROM (10) TO (20);
CREATE TABLE mask_parted_3 (id int, owner uuid, secret text);
ALTER TABLE mask_parted ATTACH PARTITION mask_parted_3 FOR VALUES FROM (20) TO (30);
GRANT SELECT ON mask_parted_2, mask_parted_3 TO acl_reg_mask_app;
INSERT INTO mask_parted VALUES (1, 'b1000000-0000-4000-8000-000000000001', 'p1'), (2, NULL, 'p2'),
    (11, 'b1000000-0000-4000-8000-000000000001', 'p11'), (12, NULL, 'p12'), (21, NULL, 'p21');
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, count(p.polname) AS policies
  FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid
 WHERE c.relname LIKE 'mask_parted%' GROUP BY 1, 2, 3 ORDER BY 1;
SET ROLE acl_reg_mask_app;
SET acl.user_id = 'b1000000-0000-4000-8000-000000000001';
SELECT id, secret FROM mask_parted ORDER BY id;
SELECT id, secret FROM mask_parted_1 ORDER BY id;
SELECT id, secret FROM mask_parted_2 ORDER BY id;
SELECT id, secret FROM mask_parted_3 ORDER BY id;
RESET acl.user_id;
SELECT id, secret FROM mask_parted_2 ORDER BY id;
RESET ROLE;
CREATE TABLE mask_child (extra int) INHERITS (mask_notes);
INSERT INTO mask_child VALUES (5, NULL, 'published', 'child', 's5', 0);
GRANT SELECT ON mask_child TO acl_reg_mask_app;
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'mask_child';
SET ROLE acl_reg_mask_app;
SELECT id, secret FROM mask_child;
RESET ROLE;

-- The lint names what can get around row security: a managed table owned by
-- a role other than a superuser, and roles with BYPASSRLS.
CREATE ROLE acl_reg_mask_bypass BYPASSRLS;
CREATE TABLE mask_owned (id int);
ALTER TABLE mask_owned OWNER TO acl_reg_mask_app;
SELECT acl.manage('mask_owned');
SELECT collection, finding, message, suggestion FROM acl.lint()
 WHERE finding IN ('owner_can_disable', 'bypasses_row_security');
DROP TABLE mask_owned;
DROP ROLE acl_reg_mask_bypass;

-- Which branch runs: a policy's own when it is the end user's only one on
-- the table, the combined branch for two or more, none for none.  One
-- generic plan serves every mix, and what a branch decides about masks
-- matches the combined answer.  Policy A has two permissions that grant
-- different fields (its rows: group a, or owned; secret only where owned),
-- B reads group b whole, C reads every row's id only.
CREATE TABLE mask_branches (id int PRIMARY KEY, grp text NOT NULL, owner uuid, secret text);
GRANT SELECT ON mask_branches TO acl_reg_mask_app;
INSERT INTO mask_branches
SELECT g, (ARRAY['b', 'c', 'a'])[g % 3 + 1],
       CASE WHEN g % 4 = 0 THEN 'b1000000-0000-4000-8000-000000000011'::uuid END, 's' || g
  FROM generate_series(1, 12) g;
INSERT INTO acl.policies (id, name) VALUES
    ('b0000000-0000-4000-8000-0000000000b1', 'branch A'),
    ('b0000000-0000-4000-8000-0000000000b2', 'branch B'),
    ('b0000000-0000-4000-8000-0000000000b3', 'branch C');
INSERT INTO acl.roles (id, name) VALUES
    ('b3000000-0000-4000-8000-000000000001', 'A'), ('b3000000-0000-4000-8000-000000000002', 'B'),
    ('b3000000-0000-4000-8000-000000000003', 'A and B'), ('b3000000-0000-4000-8000-000000000004', 'A, B and C'),
    ('b3000000-0000-4000-8000-000000000005', 'nothing');
INSERT INTO acl.access (role, policy) VALUES
    ('b3000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-0000000000b1'),
    ('b3000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-0000000000b2'),
    ('b3000000-0000-4000-8000-000000000003', 'b0000000-0000-4000-8000-0000000000b1'),
    ('b3000000-0000-4000-8000-000000000003', 'b0000000-0000-4000-8000-0000000000b2'),
    ('b3000000-0000-4000-8000-000000000004', 'b0000000-0000-4000-8000-0000000000b1'),
    ('b3000000-0000-4000-8000-000000000004', 'b0000000-0000-4000-8000-0000000000b2'),
    ('b3000000-0000-4000-8000-000000000004', 'b0000000-0000-4000-8000-0000000000b3');
INSERT INTO acl.users (id, email, role) VALUES
    ('b1000000-0000-4000-8000-000000000011', 'a@example.org', 'b3000000-0000-4000-8000-000000000001'),
    ('b1000000-0000-4000-8000-000000000012', 'b@example.org', 'b3000000-0000-4000-8000-000000000002'),
    ('b1000000-0000-4000-8000-000000000013', 'ab@example.org', 'b3000000-0000-4000-8000-000000000003'),
    ('b1000000-0000-4000-8000-000000000014', 'abc@example.org', 'b3000000-0000-4000-8000-000000000004'),
    ('b1000000-0000-4000-8000-000000000015', 'none@example.org', 'b3000000-0000-4000-8000-000000000005');
INSERT INTO acl.permissions (policy, collection, action, permissions, fields) VALUES
    ('b0000000-0000-4000-8000-0000000000b1', 'mask_branches', 'read', '{"grp": {"_eq": "a"}}', '{id,grp}'),
    ('b0000000-0000-4000-8000-0000000000b1', 'mask_branches', 'read', '{"owner": {"_eq": "$CURRENT_USER"}}', '{*}'),
    ('b0000000-0000-4000-8000-0000000000b2', 'mask_branches', 'read', '{"grp": {"_eq": "b"}}', '{*}'),
    ('b0000000-0000-4000-8000-0000000000b3', 'mask_branches', 'read', NULL, '{id}');
-- The branch scan and the branch it ran, from EXPLAIN ANALYZE.
CREATE FUNCTION branch_run(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query LOOP
        IF line ~ 'acl branches|Branch|Scan on' THEN
            RETURN NEXT regexp_replace(line, ' \(actual.*', '');
        END IF;
    END LOOP;
END
$$;
-- A statement's result for each mix of policies, one session; 'public' is
-- the public principal (no end user).
CREATE FUNCTION pg_temp.as_each_reader(statement text) RETURNS TABLE (reader text, got text)
LANGUAGE plpgsql AS $$
BEGIN
    FOR reader IN SELECT unnest(ARRAY['A', 'B', 'A and B', 'A, B and C', 'nothing', 'public', 'admin']) LOOP
        PERFORM set_config('acl.user_id', CASE reader
            WHEN 'A' THEN 'b1000000-0000-4000-8000-000000000011'
            WHEN 'B' THEN 'b1000000-0000-4000-8000-000000000012'
            WHEN 'A and B' THEN 'b1000000-0000-4000-8000-000000000013'
            WHEN 'A, B and C' THEN 'b1000000-0000-4000-8000-000000000014'
            WHEN 'nothing' THEN 'b1000000-0000-4000-8000-000000000015'
            WHEN 'public' THEN ''
            ELSE 'b1000000-0000-4000-8000-000000000003' END, false);
        EXECUTE statement INTO got;
        RETURN NEXT;
    END LOOP;
    PERFORM set_config('acl.user_id', '', false);
END
$$;
SET ROLE acl_reg_mask_app;
SET plan_cache_mode = force_generic_plan;
PREPARE mask_branch_rows AS
    SELECT string_agg(format('%s:%s:%s', id, coalesce(grp, '-'), coalesce(secret, '-')), ' ' ORDER BY id)
      FROM mask_branches;
PREPARE mask_branch_secret(int) AS SELECT secret FROM mask_branches WHERE id = $1;
-- A alone: group a and its own rows 4, 8, 12; the secret only where owned.
-- B alone: group b, whole.  A and B: both groups; group a's secrets masked
-- (owns nothing).  A, B and C: every row; group c shows only its id.  No
-- policy on the table, the public principal, an administrator (every row,
-- whole), then A alone again.
SELECT * FROM pg_temp.as_each_reader('EXECUTE mask_branch_rows');
SET acl.user_id = 'b1000000-0000-4000-8000-000000000011';
EXECUTE mask_branch_rows;
EXECUTE mask_branch_secret(12);
EXECUTE mask_branch_secret(2);
RESET acl.user_id;
RESET plan_cache_mode;
SELECT name, generic_plans, custom_plans FROM pg_prepared_statements
 WHERE name LIKE 'mask_branch%' ORDER BY name;
DEALLOCATE mask_branch_rows;
DEALLOCATE mask_branch_secret;
-- Only the open branch is started, and EXPLAIN ANALYZE names it; with no
-- policy open, none is.
SET acl.user_id = 'b1000000-0000-4000-8000-000000000012';
SELECT branch_run('SELECT id, secret FROM mask_branches');
SET acl.user_id = 'b1000000-0000-4000-8000-000000000015';
SELECT branch_run('SELECT id, secret FROM mask_branches');
-- The branch scan is rescanned with new parameters: a correlated subquery
-- and a lateral join, for A alone (rows of group a, and its own 4, 8, 12).
SET acl.user_id = 'b1000000-0000-4000-8000-000000000011';
SELECT g, (SELECT format('%s:%s', grp, coalesce(secret, '-')) FROM mask_branches m WHERE m.id = g)
  FROM generate_series(1, 12) g ORDER BY g;
SELECT g, m.secret FROM generate_series(1, 12) g
  JOIN LATERAL (SELECT secret FROM mask_branches WHERE id = g OFFSET 0) m ON true ORDER BY g;
-- The scan checks the branch's one-time filter itself, and again at each
-- rescan: a condition on the outer row alone (g even), and a row condition
-- on an initplan of the outer row (ids up to 2g), for every reader, with a
-- generic plan.
RESET acl.user_id;
SET plan_cache_mode = force_generic_plan;
PREPARE mask_branch_rescans AS
    SELECT string_agg(format('%s:%s/%s', g,
                             (SELECT count(*) FROM mask_branches m WHERE g % 2 = 0),
                             (SELECT string_agg(id || '=' || coalesce(secret, '-'), ',' ORDER BY id)
                                FROM mask_branches m WHERE m.id <= (SELECT g * 2))), ' ' ORDER BY g)
      FROM generate_series(1, 4) g;
SELECT * FROM pg_temp.as_each_reader('EXECUTE mask_branch_rescans');
DEALLOCATE mask_branch_rescans;
RESET plan_cache_mode;
-- The scan shows the gates it decides from, and a filter beyond them.
EXPLAIN (COSTS OFF) SELECT (SELECT count(*) FROM mask_branches WHERE g > 1) FROM generate_series(1, 2) g;
SET acl.user_id = 'b1000000-0000-4000-8000-000000000011';
-- Two reads of the table in one UNION ALL each run their own branch.
SELECT count(*) FROM (SELECT id FROM mask_branches UNION ALL SELECT id FROM mask_branches) s;
-- A scrollable cursor reads backwards.
BEGIN;
DECLARE mask_branch_cursor SCROLL CURSOR FOR SELECT id FROM mask_branches;
FETCH 3 FROM mask_branch_cursor;
FETCH BACKWARD 2 FROM mask_branch_cursor;
COMMIT;
-- The branch is chosen when the first row is asked for, as the Append's
-- filters were: a cursor declared for A and read as B reads B's rows, and
-- a scan never run reads no identity, not even an unknown one.
BEGIN;
DECLARE mask_branch_cursor CURSOR FOR SELECT id FROM mask_branches;
SET LOCAL acl.user_id = 'b1000000-0000-4000-8000-000000000012';
FETCH ALL FROM mask_branch_cursor;
COMMIT;
SET acl.user_id = 'b1000000-0000-4000-8000-0000000000ff';
SELECT branch_run('SELECT g FROM generate_series(1, 0) g WHERE EXISTS (SELECT FROM mask_branches WHERE id = g)');
SELECT count(*) FROM mask_branches;
-- Sorted reads: the scan keeps an order only when every branch has it.
SET acl.user_id = 'b1000000-0000-4000-8000-000000000014';
SET enable_sort = off;
SELECT string_agg(id::text, ' ') FROM (SELECT id FROM mask_branches ORDER BY id DESC) s;
SELECT id FROM mask_branches ORDER BY id LIMIT 3;
RESET enable_sort;
RESET acl.user_id;
RESET ROLE;
-- ORDER BY ... LIMIT over the table alone: every branch gets the query's
-- WHERE (over its own masked columns), order and row count, so the branch
-- that runs stops after the rows the query needs, and no Sort is left over
-- the scan.  Each read is compared with the same read behind an OFFSET 0
-- fence, which nothing is pushed through, for every mix of policies.
CREATE FUNCTION pg_temp.explained(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query;
END
$$;
CREATE FUNCTION pg_temp.explained_plan(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || query;
END
$$;
CREATE FUNCTION pg_temp.verbose_plan(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || query;
END
$$;
CREATE FUNCTION limited_reads(tail text) RETURNS TABLE (reader text, got text) LANGUAGE plpgsql AS $$
DECLARE
    fenced text;
    cols CONSTANT text := 'string_agg(format(''%s:%s:%s'', id, coalesce(grp, ''-''), coalesce(secret, ''-'')), '' '')';
BEGIN
    FOR reader, got, fenced IN
        SELECT p.reader, p.got, f.got
          FROM pg_temp.as_each_reader(format('SELECT %s FROM (SELECT * FROM mask_branches %s) r', cols, tail))
               WITH ORDINALITY p (reader, got, n)
          JOIN pg_temp.as_each_reader(format('SELECT %s FROM (SELECT * FROM (SELECT * FROM mask_branches OFFSET 0) mask_branches %s) r',
                                             cols, tail)) f USING (reader)
         ORDER BY p.n LOOP
        IF got IS DISTINCT FROM fenced THEN
            RAISE EXCEPTION 'read % as %: % where the fenced read gives %', tail, reader, got, fenced;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
SET ROLE acl_reg_mask_app;
SELECT * FROM limited_reads('ORDER BY id DESC LIMIT 3');
-- A WHERE on a masked column sees the masked value in every branch: A sees
-- secrets of its own rows 4, 8 and 12 only.
SELECT * FROM limited_reads('WHERE secret IS NOT NULL ORDER BY id LIMIT 2 OFFSET 1');
SELECT * FROM limited_reads('WHERE grp <> ''b'' ORDER BY secret DESC NULLS LAST, id LIMIT 4');
-- Not pushed, and still right: a volatile WHERE, WITH TIES, an order on an
-- expression, LIMIT ALL.
SELECT * FROM limited_reads('WHERE random() < 2 ORDER BY id LIMIT 2');
SELECT * FROM limited_reads('ORDER BY grp FETCH FIRST 1 ROW WITH TIES');
SELECT * FROM limited_reads('ORDER BY id % 5, id LIMIT 3');
SELECT * FROM limited_reads('ORDER BY id DESC LIMIT ALL');
-- Inherited and partitioned tables: each branch orders its members itself.
SET acl.user_id = 'b1000000-0000-4000-8000-000000000001';
SELECT (SELECT array_agg(id) FROM (SELECT id FROM mask_notes ORDER BY id DESC LIMIT 2) s) AS pushed,
       (SELECT array_agg(id) FROM (SELECT id FROM (SELECT * FROM mask_notes OFFSET 0) m ORDER BY id DESC LIMIT 2) s) AS fenced;
SET acl.user_id = 'b1000000-0000-4000-8000-000000000002';
SELECT (SELECT array_agg(id) FROM (SELECT id FROM mask_parted WHERE secret IS NULL ORDER BY id DESC LIMIT 3) s) AS pushed,
       (SELECT array_agg(id) FROM (SELECT id FROM (SELECT * FROM mask_parted OFFSET 0) m WHERE secret IS NULL
                                    ORDER BY id DESC LIMIT 3) s) AS fenced;
-- The plan: a Limit over the branch scan and no Sort; the branch that ran
-- has a Limit of its own over the primary key, read backwards.
SET acl.user_id = 'b1000000-0000-4000-8000-000000000012';
SELECT regexp_replace(line, ' \((actual|never).*', '') AS plan
  FROM (SELECT * FROM pg_temp.explained('SELECT id FROM mask_branches WHERE id > 2 ORDER BY id DESC LIMIT 2')) e(line)
 WHERE line ~ 'Limit|Sort|acl branches|Branch Run|Index|Scan' AND line !~ 'never executed';
-- One generic plan with LIMIT $1 serves every end user.
SET plan_cache_mode = force_generic_plan;
PREPARE mask_branch_latest(bigint) AS
    SELECT string_agg(format('%s:%s', id, coalesce(secret, '-')), ' ')
      FROM (SELECT id, secret FROM mask_branches WHERE grp <> 'c' ORDER BY id DESC LIMIT $1) r;
SELECT * FROM pg_temp.as_each_reader('EXECUTE mask_branch_latest(3)');
SELECT * FROM pg_temp.as_each_reader('EXECUTE mask_branch_latest(1)');
RESET plan_cache_mode;
SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'mask_branch_latest';
DEALLOCATE mask_branch_latest;
RESET acl.user_id;
RESET ROLE;
-- A branch's initplans start with the branch, nested ones first: policy A
-- reads mask_linked through mask_links, itself read under its policies
-- (an initplan whose plan has initplans of its own).  B reads ids below 3.
CREATE TABLE mask_linked (id int PRIMARY KEY, secret text);
CREATE TABLE mask_links (id int PRIMARY KEY, item int REFERENCES mask_linked, reader uuid);
GRANT SELECT ON mask_linked, mask_links TO acl_reg_mask_app;
INSERT INTO mask_linked SELECT g, 'k' || g FROM generate_series(1, 6) g;
INSERT INTO mask_links VALUES (1, 2, 'b1000000-0000-4000-8000-000000000011'),
    (2, 5, 'b1000000-0000-4000-8000-000000000011'), (3, 6, 'b1000000-0000-4000-8000-000000000012'),
    (4, 4, 'b1000000-0000-4000-8000-000000000013');
INSERT INTO acl.permissions (policy, collection, action, permissions, fields) VALUES
    ('b0000000-0000-4000-8000-0000000000b1', 'mask_linked', 'read',
     '{"mask_links": {"_some": {"reader": {"_eq": "$CURRENT_USER"}}}}', '{*}'),
    ('b0000000-0000-4000-8000-0000000000b2', 'mask_linked', 'read', '{"id": {"_lt": 3}}', '{id}'),
    ('b0000000-0000-4000-8000-0000000000b1', 'mask_links', 'read', '{"reader": {"_eq": "$CURRENT_USER"}}', '{*}'),
    ('b0000000-0000-4000-8000-0000000000b2', 'mask_links', 'read', '{"item": {"_lt": 3}}', '{*}');
SET ROLE acl_reg_mask_app;
SET plan_cache_mode = force_generic_plan;
PREPARE mask_linked_rows AS
    SELECT string_agg(id || ':' || coalesce(secret, '-'), ' ' ORDER BY id) FROM mask_linked;
-- A: rows 2 and 5; B: ids 1 and 2; A and B: row 4 and ids 1, 2; A, B and
-- C the same (C reads no mask_linked); nothing; an administrator.
SELECT * FROM pg_temp.as_each_reader('EXECUTE mask_linked_rows');
SET acl.user_id = 'b1000000-0000-4000-8000-000000000011';
RESET plan_cache_mode;
SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'mask_linked_rows';
DEALLOCATE mask_linked_rows;
-- EXPLAIN starts every branch with its initplans; EXPLAIN ANALYZE the one
-- that ran.  The gates and $CURRENT_USER are no initplans: the scan sets
-- them as parameters when it starts a branch, each distinct value read once
-- (VERBOSE lists them).
SELECT count(*) FILTER (WHERE line ~ 'InitPlan') AS initplans,
       sum((SELECT count(*) FROM regexp_matches(line, '\$\d+', 'g'))) FILTER (WHERE line ~ 'Branch Parameters') AS parameters,
       count(*) FILTER (WHERE line ~ 'Branches') AS scans
  FROM pg_temp.verbose_plan('SELECT id FROM mask_linked') line;
SELECT regexp_replace(line, ' \((actual|never).*', '') AS plan
  FROM pg_temp.explained('SELECT id FROM mask_linked') line
 WHERE line ~ 'InitPlan|Branch Run';
-- The branches, and the rules' subqueries within them, read each table
-- through one range-table entry, which PostgreSQL locks and checks once
-- when it reuses and starts the plan, not once per branch.  Each reference
-- to the table in the query keeps its own.
SELECT count(DISTINCT substring(line from 'Scan on public\.mask_linked (\S+)')) AS linked_entries,
       count(*) FILTER (WHERE line ~ 'Scan on public\.mask_linked ') AS linked_scans,
       count(DISTINCT substring(line from 'Scan on public\.mask_links (\S+)')) AS links_entries,
       count(*) FILTER (WHERE line ~ 'Scan on public\.mask_links ') AS links_scans
  FROM pg_temp.verbose_plan('SELECT id FROM mask_linked') line;
SELECT count(DISTINCT substring(line from 'Scan on public\.mask_linked (\S+)')) AS entries,
       count(*) FILTER (WHERE line ~ 'Scan on public\.mask_linked ') AS scans
  FROM pg_temp.verbose_plan('SELECT k.id FROM mask_linked k JOIN mask_linked m USING (id)') line;
-- A parameter the scan sets is evaluated with the querying role's rights,
-- as the initplan it replaces was: without EXECUTE on acl.current_user_id()
-- the read fails (42501), it does not read past the missing value.
RESET ROLE;
BEGIN;
REVOKE EXECUTE ON FUNCTION acl.current_user_id() FROM PUBLIC;
SET LOCAL ROLE acl_reg_mask_app;
SELECT id FROM mask_linked;
ROLLBACK;
SET ROLE acl_reg_mask_app;
RESET acl.user_id;
RESET ROLE;
-- Gates are calls of their twins (acl._has_policy_once) once enforced, and
-- the plan turns those calls into initplans where the executor can start
-- them in time: in the statement's plan and in the initplans the branch
-- scan starts; within the branches, the scan sets them as parameters.  A
-- correlated subplan is started with the statement, before any initplan
-- made then, so there the calls stay, each keeping its first answer.  Both
-- must give every reader what the other form gives.
PREPARE mask_linked_counts AS
    SELECT c || CASE WHEN c = j THEN ' (as joined)' ELSE ' (joined: ' || j || ')' END
      FROM (SELECT string_agg(l.id || ':' || (SELECT count(*) FROM mask_linked k WHERE k.id = l.item), ' '
                              ORDER BY l.id) FROM mask_links l) a(c),
           (SELECT string_agg(id || ':' || n, ' ' ORDER BY id)
              FROM (SELECT l.id, count(k.id) n FROM mask_links l LEFT JOIN mask_linked k ON k.id = l.item
                     GROUP BY l.id) s) b(j);
SET ROLE acl_reg_mask_app;
SET plan_cache_mode = force_generic_plan;
SELECT * FROM pg_temp.as_each_reader('EXECUTE mask_linked_counts');
RESET plan_cache_mode;
SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'mask_linked_counts';
DEALLOCATE mask_linked_counts;
SELECT count(*) FILTER (WHERE line ~ 'SubPlan') AS correlated,
       count(*) FILTER (WHERE line ~ 'Filter: .*acl\._(has_policy|is_admin)_once\(') AS filters_calling_gates,
       count(*) FILTER (WHERE line ~ 'Output: acl\._(has_policy|is_admin)_once\(') AS gate_initplans,
       sum((SELECT count(*) FROM regexp_matches(line, 'acl\._(has_policy|is_admin)_once\(', 'g')))
           FILTER (WHERE line ~ 'Branch Parameters') AS gate_parameters,
       count(*) FILTER (WHERE line ~ 'acl\.(has_policy|is_admin)\(') AS gate_sublinks
  FROM pg_temp.verbose_plan('SELECT l.id, (SELECT count(*) FROM mask_linked k WHERE k.id = l.item) FROM mask_links l') line;
-- Under the branch scan no branch keeps its gating Result, also below the
-- Limit of an ordered, limited read; the subquery scan above that Limit,
-- which projects the two columns read, stays (a Limit cannot project).
SELECT count(*) FILTER (WHERE line ~ 'One-Time Filter|Branch Filter') AS gating,
       count(*) FILTER (WHERE line ~ 'Subquery Scan') AS projecting,
       count(*) FILTER (WHERE line ~ 'Branches') AS scans, count(*) FILTER (WHERE line ~ '->  Limit') AS limits
  FROM pg_temp.verbose_plan('SELECT id, secret FROM mask_branches ORDER BY id DESC LIMIT 2') line;
RESET ROLE;

-- The branch decision itself: branch k runs when gate k is the only open
-- one, branch 0 when two or more are; a NULL gate opens nothing.  Gates as
-- tokens are checked, and a malformed one is refused, not taken as closed.
SELECT acl._branch_open(1, true, false) AS only_first, acl._branch_open(2, true, false) AS second,
       acl._branch_open(0, true, false) AS combined_one, acl._branch_open(0, true, true) AS combined_two,
       acl._branch_open(1, true, true) AS first_of_two, acl._branch_open(2, NULL, true) AS null_closed,
       acl._branch_open(3, true, false) AS out_of_range;
SET acl.user_id = 'b1000000-0000-4000-8000-000000000011';
SELECT acl._branch_open_gates(1, '{"policy b0000000-0000-4000-8000-0000000000b1 read",admin}') AS a_alone,
       acl._branch_open_gates(2, '{"policy b0000000-0000-4000-8000-0000000000b1 read",admin}') AS admin_branch,
       acl._branch_open_gates(0, '{"policy b0000000-0000-4000-8000-0000000000b1 read","policy b0000000-0000-4000-8000-0000000000b2 read"}') AS combined,
       acl._branch_open_gates(1, '{"share 1259"}') AS share_gate;
SELECT acl._branch_open_gates(1, '{"policy b0000000-0000-4000-8000-0000000000b1 read",root}');
SELECT acl._branch_open_gates(1, '{"policy not-a-uuid-at-all-but-36-chars-long read"}');
SELECT acl._branch_open_gates(1, '{"policy b0000000-0000-4000-8000-0000000000b1 read extra"}');
SELECT acl._branch_open_gates(1, '{"policy b0000000-0000-4000-8000-0000000000b1"}');
SELECT acl._branch_open_gates(1, '{"policy b0000000-0000-4000-8000-0000000000b1 "}');
SELECT acl._branch_open_gates(1, '{"policy b0000000-0000-4000-8000-0000000000b1 a-sixteen-chars!"}');
SELECT acl._branch_open_gates(1, '{"policy  b0000000-0000-4000-8000-0000000000b1 read"}');
RESET acl.user_id;

-- Statements under row security are planned in a memory context the
-- backend keeps (src/enforce.c).  The planner works on a copy of the
-- query, so a caller that reads its query after planning reads it intact:
-- CREATE TABLE AS hands it to event triggers.  The copied-out plan keeps
-- the masks.  The context's kept block is bounded.
CREATE FUNCTION mask_note_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT command_tag, object_identity FROM pg_event_trigger_ddl_commands() LOOP
        RAISE NOTICE 'ddl: % %', r.command_tag, r.object_identity;
    END LOOP;
END
$$;
CREATE EVENT TRIGGER mask_note_ddl ON ddl_command_end WHEN TAG IN ('CREATE TABLE AS', 'SELECT INTO')
    EXECUTE FUNCTION mask_note_ddl();
SET ROLE acl_reg_mask_app;
SET acl.user_id = 'b1000000-0000-4000-8000-000000000001';
SELECT id, owner, secret FROM mask_notes ORDER BY id;
CREATE TABLE mask_copy AS SELECT id, owner, secret FROM mask_notes;
SELECT * INTO mask_copy_2 FROM mask_notes WHERE id IN (SELECT id FROM mask_notes);
SELECT (SELECT array_agg(c::text ORDER BY id) FROM mask_copy c)
       = (SELECT array_agg(row(id, owner, secret)::text ORDER BY id) FROM mask_notes) AS copy_as_read,
       (SELECT array_agg(row(c.id, c.owner, c.secret)::text ORDER BY id) FROM mask_copy_2 c)
       = (SELECT array_agg(c::text ORDER BY id) FROM mask_copy c) AS select_into_as_read;
RESET acl.user_id;
RESET ROLE;
-- (The test command's check build drops it after each plan: none then.)
SELECT count(*) <= 1 AS at_most_one, coalesce(max(total_bytes), 0) <= 8 * 1024 * 1024 AS bounded
  FROM pg_backend_memory_contexts WHERE name = 'acl planning';
DROP TABLE mask_copy, mask_copy_2;
DROP EVENT TRIGGER mask_note_ddl;
DROP FUNCTION mask_note_ddl();
