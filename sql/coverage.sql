-- Permissions whose rules together match every row (src/coverage.c): an
-- end user holding a set of policies whose bands cover a column's whole
-- domain reads the table with no row filter, through a branch of its own;
-- anything short of a proof keeps the filter.
\set VERBOSITY terse

CREATE ROLE acl_reg_cover_app NOLOGIN;
GRANT SET ON PARAMETER acl.user_id TO acl_reg_cover_app;
CREATE TABLE cover_readings (id int PRIMARY KEY, value int NOT NULL, level numeric NOT NULL,
                             taken date NOT NULL, note text, secret text);
CREATE INDEX cover_readings_value_idx ON cover_readings (value);
GRANT SELECT ON cover_readings TO acl_reg_cover_app;
INSERT INTO cover_readings
SELECT i, i % 250, CASE WHEN i = 7 THEN 'NaN'::numeric ELSE (i % 11) - 5 END,
       date '2024-01-01' + i % 300, CASE WHEN i % 3 = 0 THEN 'checked' END, 's' || i
  FROM generate_series(1, 1000) i;
ANALYZE cover_readings;
INSERT INTO acl.policies (id, name) VALUES
    ('c0000000-0000-4000-8000-000000000001', 'low'),
    ('c0000000-0000-4000-8000-000000000002', 'in range'),
    ('c0000000-0000-4000-8000-000000000003', 'high'),
    ('c0000000-0000-4000-8000-000000000004', 'annotated'),
    ('c0000000-0000-4000-8000-000000000005', 'levels'),
    ('c0000000-0000-4000-8000-000000000006', 'gap'),
    ('c0000000-0000-4000-8000-000000000007', 'dates');
INSERT INTO acl.users (id, email) VALUES
    ('c1000000-0000-4000-8000-000000000001', 'all-bands@example.org'),
    ('c1000000-0000-4000-8000-000000000002', 'two-bands@example.org'),
    ('c1000000-0000-4000-8000-000000000003', 'gap@example.org'),
    ('c1000000-0000-4000-8000-000000000004', 'levels@example.org'),
    ('c1000000-0000-4000-8000-000000000005', 'dates@example.org');
INSERT INTO acl.access ("user", policy) VALUES
    ('c1000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001'),
    ('c1000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000002'),
    ('c1000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000003'),
    ('c1000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000004'),
    ('c1000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-000000000001'),
    ('c1000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-000000000003'),
    ('c1000000-0000-4000-8000-000000000003', 'c0000000-0000-4000-8000-000000000001'),
    ('c1000000-0000-4000-8000-000000000003', 'c0000000-0000-4000-8000-000000000006'),
    ('c1000000-0000-4000-8000-000000000004', 'c0000000-0000-4000-8000-000000000005'),
    ('c1000000-0000-4000-8000-000000000005', 'c0000000-0000-4000-8000-000000000007'),
    ('c1000000-0000-4000-8000-000000000005', 'c0000000-0000-4000-8000-000000000004');
-- Bands of value: < 70, 70..180, > 180; the high band does not show secret.
-- "gap" starts above 70, so with "low" it leaves 70 out.  "levels" covers a
-- numeric column, NaN included, with one policy's two permissions.
-- "dates" splits a date column at June 2024.
INSERT INTO acl.permissions (policy, collection, action, permissions, fields) VALUES
    ('c0000000-0000-4000-8000-000000000001', 'cover_readings', 'read', '{"value": {"_lt": 70}}', '{*}'),
    ('c0000000-0000-4000-8000-000000000002', 'cover_readings', 'read', '{"value": {"_between": [70, 180]}}', '{*}'),
    ('c0000000-0000-4000-8000-000000000003', 'cover_readings', 'read', '{"value": {"_gt": 180}}', '{id,value,level,taken,note}'),
    ('c0000000-0000-4000-8000-000000000004', 'cover_readings', 'read', '{"note": {"_nnull": true}}', '{*}'),
    ('c0000000-0000-4000-8000-000000000005', 'cover_readings', 'read', '{"level": {"_lt": 0}}', '{*}'),
    ('c0000000-0000-4000-8000-000000000005', 'cover_readings', 'read', '{"level": {"_gte": 0}}', '{*}'),
    ('c0000000-0000-4000-8000-000000000006', 'cover_readings', 'read', '{"value": {"_gt": 70}}', '{*}'),
    ('c0000000-0000-4000-8000-000000000007', 'cover_readings', 'read', '{"taken": {"_lt": "2024-06-01"}}', '{*}'),
    ('c0000000-0000-4000-8000-000000000007', 'cover_readings', 'read', '{"taken": {"_gte": "2024-06-01"}}', '{*}');

-- The branch that ran, and the filters of the scan under it.
CREATE FUNCTION cover_run(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    ran boolean := false;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query LOOP
        IF line ~ 'Branch Run|Scan on|Filter|Gates' AND line !~ 'never executed' THEN
            RETURN NEXT regexp_replace(regexp_replace(line, ' \(actual.*', ''),
                                       'policy c0000000-0000-4000-8000-00000000000', 'p', 'g');
        END IF;
    END LOOP;
END
$$;

SET ROLE acl_reg_cover_app;
-- Every band and "annotated": the cover "low, in range, high" opens the
-- branch with no filter, whose count is every row.
SET acl.user_id = 'c1000000-0000-4000-8000-000000000001';
SELECT cover_run('SELECT count(*) FROM cover_readings');
SELECT count(*) AS all_bands FROM cover_readings;
-- A count reads no column: the branch's scan hands on its tuples as they
-- are (its own columns) instead of projecting empty rows.
DO $$
DECLARE
    line text;
BEGIN
    FOR line IN EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*) FROM cover_readings LOOP
        IF line ~ 'Output' AND line !~ 'acl\.' THEN
            RAISE NOTICE '%', line;
        END IF;
    END LOOP;
END $$;
-- Masks still apply there: secret only where a permission listing it
-- matches, so not on a high reading without a note.
SELECT count(secret) AS secrets_shown,
       count(*) FILTER (WHERE value > 180 AND note IS NULL AND secret IS NOT NULL) AS high_leaks,
       count(*) FILTER (WHERE value > 180 AND note IS NOT NULL AND secret IS NOT NULL) AS high_annotated
  FROM cover_readings;
-- Two bands, not the middle: the branch of two or more open policies,
-- with the OR of their rules.
SET acl.user_id = 'c1000000-0000-4000-8000-000000000002';
SELECT count(*) AS two_bands, count(*) FILTER (WHERE value BETWEEN 70 AND 180) AS middle
  FROM cover_readings;
-- < 70 and > 70 leave 70 out: no cover, and value 70 is not read.
SET acl.user_id = 'c1000000-0000-4000-8000-000000000003';
SELECT count(*) AS gap, count(*) FILTER (WHERE value = 70) AS seventy FROM cover_readings;
-- One policy whose two permissions cover a numeric column, NaN included
-- (NaN sorts above every number, so "_gte 0" holds it): its own branch
-- reads with no filter.
SET acl.user_id = 'c1000000-0000-4000-8000-000000000004';
SELECT cover_run('SELECT count(*) FROM cover_readings');
SELECT count(*) AS levels, count(*) FILTER (WHERE level = 'NaN') AS nan FROM cover_readings;
-- Dates split at June, with another policy open: the cover branch.
SET acl.user_id = 'c1000000-0000-4000-8000-000000000005';
SELECT cover_run('SELECT count(*) FROM cover_readings');
SELECT count(*) AS dates FROM cover_readings;
RESET ROLE;

-- One prepared statement, reused by end users on one connection: each
-- gets its own branch from the same generic plan.
SET plan_cache_mode = force_generic_plan;
SET ROLE acl_reg_cover_app;
PREPARE cover_count AS SELECT count(*) FROM cover_readings WHERE id > $1;
SET acl.user_id = 'c1000000-0000-4000-8000-000000000001';
EXECUTE cover_count(0);
SET acl.user_id = 'c1000000-0000-4000-8000-000000000002';
EXECUTE cover_count(0);
SET acl.user_id = 'c1000000-0000-4000-8000-000000000003';
EXECUTE cover_count(0);
SET acl.user_id = 'c1000000-0000-4000-8000-000000000001';
EXECUTE cover_count(0);
SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'cover_count';
RESET ROLE;

-- The proof rests on NOT NULL: dropping it replans, and a NULL value is
-- then read by no band.
ALTER TABLE cover_readings ALTER COLUMN value DROP NOT NULL;
INSERT INTO cover_readings VALUES (1001, NULL, 0, '2024-02-01', NULL, 's1001');
SET ROLE acl_reg_cover_app;
SET acl.user_id = 'c1000000-0000-4000-8000-000000000001';
EXECUTE cover_count(0);
SELECT cover_run('SELECT count(*) FROM cover_readings') AS without_not_null;
RESET ROLE;
-- A rule for the NULLs makes the cover whole again.
INSERT INTO acl.permissions (policy, collection, action, permissions, fields) VALUES
    ('c0000000-0000-4000-8000-000000000001', 'cover_readings', 'read', '{"value": {"_null": true}}', '{*}');
SET ROLE acl_reg_cover_app;
EXECUTE cover_count(0);
SELECT cover_run('SELECT count(*) FROM cover_readings') AS with_null_rule;
DEALLOCATE cover_count;
RESET plan_cache_mode;
RESET acl.user_id;
RESET ROLE;

-- The decision's tokens are checked: a cover names gates listed before it.
SELECT acl._branch_open_gates(2, '{admin,"cover 2"}');
SELECT acl._branch_open_gates(2, '{"cover 1",admin}');
SELECT acl._branch_open_gates(2, '{admin,"cover"}');
SELECT acl._branch_open_gates(2, '{admin,"cover 1x"}');
-- An open cover wins over the branch of two or more only when two or more
-- gates are open; one open gate runs its own branch.
INSERT INTO acl.users (id, email) VALUES ('c1000000-0000-4000-8000-000000000009', 'cover-root@example.org');
INSERT INTO acl.access ("user", policy) VALUES
    ('c1000000-0000-4000-8000-000000000009', '7a0e3c57-5d0e-4a53-9b8e-5f0d6a1b0002');
SET acl.user_id = 'c1000000-0000-4000-8000-000000000009';
SELECT acl._branch_open_gates(3, '{admin,admin,"cover 1 2"}') AS cover_branch,
       acl._branch_open_gates(0, '{admin,admin,"cover 1 2"}') AS two_or_more,
       acl._branch_open_gates(1, '{admin,"policy c0000000-0000-4000-8000-000000000001 read","cover 1 2"}') AS own_branch,
       acl._branch_open_gates(3, '{admin,"policy c0000000-0000-4000-8000-000000000001 read","cover 1 2"}') AS cover_closed;
RESET acl.user_id;

DROP FUNCTION cover_run(text);
DELETE FROM acl.permissions WHERE collection = 'cover_readings'::regclass;
DELETE FROM acl.access WHERE policy::text LIKE 'c0000000-%';
DELETE FROM acl.users WHERE id::text LIKE 'c1000000-%';
DELETE FROM acl.policies WHERE id::text LIKE 'c0000000-%';
DROP TABLE cover_readings;
REVOKE SET ON PARAMETER acl.user_id FROM acl_reg_cover_app;
DROP ROLE acl_reg_cover_app;
