-- Reuse of the plans of unprepared statements under row security
-- (src/plan_cache.c): the same SQL serves every end user, and a plan is
-- never reused once anything it depends on changed.
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE ROLE acl_reg_cache_app NOLOGIN;
CREATE ROLE acl_reg_cache_other NOLOGIN;
GRANT SET ON PARAMETER acl.user_id TO acl_reg_cache_app, acl_reg_cache_other;
CREATE TABLE pc_notes (id int PRIMARY KEY, owner uuid, status text NOT NULL, body text);
GRANT SELECT, INSERT, UPDATE ON pc_notes TO acl_reg_cache_app, acl_reg_cache_other;
INSERT INTO acl.roles (id, name) VALUES ('c0000000-0000-4000-8000-000000000001', 'Cache writer');
INSERT INTO acl.policies (id, name) VALUES
    ('c0000000-0000-4000-8000-0000000000a1', 'cache writers'),
    ('c0000000-0000-4000-8000-0000000000a2', 'cache readers');
INSERT INTO acl.access (role, policy) VALUES
    ('c0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-0000000000a1');
INSERT INTO acl.users (id, email, role) VALUES
    ('c1000000-0000-4000-8000-000000000001', 'cora@example.org', 'c0000000-0000-4000-8000-000000000001'),
    ('c1000000-0000-4000-8000-000000000002', 'cid@example.org', 'c0000000-0000-4000-8000-000000000001');
INSERT INTO pc_notes SELECT g, CASE WHEN g % 2 = 0 THEN 'c1000000-0000-4000-8000-000000000001'::uuid
                                    ELSE 'c1000000-0000-4000-8000-000000000002'::uuid END,
                            CASE WHEN g % 5 = 0 THEN 'published' ELSE 'draft' END, 'note ' || g
  FROM generate_series(1, 20) g;
INSERT INTO acl.permissions (policy, collection, action, permissions, fields) VALUES
    ('c0000000-0000-4000-8000-0000000000a1', 'pc_notes', 'read', '{"owner": {"_eq": "$CURRENT_USER"}}', '{*}'),
    ('c0000000-0000-4000-8000-0000000000a1', 'pc_notes', 'create', NULL, '{*}'),
    ('c0000000-0000-4000-8000-0000000000a1', 'pc_notes', 'update', '{"owner": {"_eq": "$CURRENT_USER"}}', '{body}'),
    ('c0000000-0000-4000-8000-0000000000a2', 'pc_notes', 'read', '{"status": "published"}', '{id,status}');
ANALYZE pc_notes;
CREATE SEQUENCE pc_ids START 100;
GRANT USAGE ON SEQUENCE pc_ids TO acl_reg_cache_app;

-- hits since the last call, and how many statements are kept
CREATE FUNCTION pc_hits() RETURNS TABLE (new_hits bigint, entries bigint) LANGUAGE plpgsql AS $$
DECLARE
    now_hits bigint;
BEGIN
    SELECT s.hits, s.entries INTO now_hits, entries FROM acl.plan_cache_stats() s;
    new_hits := now_hits - coalesce(current_setting('pc.hits', true), '0')::bigint;
    PERFORM set_config('pc.hits', now_hits::text, false);
    RETURN NEXT;
END $$;
-- The same text, run the way an application sends it: parsed and planned each time.
CREATE FUNCTION pc_read(sql text DEFAULT 'SELECT id FROM pc_notes ORDER BY id')
RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE
    ids int[];
BEGIN
    EXECUTE 'SELECT coalesce(array_agg(id), ''{}'') FROM (' || sql || ') s' INTO ids;
    RETURN ids;
END $$;
CREATE FUNCTION pc_plan(sql text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || sql;
END $$;
CREATE FUNCTION pc_churn(n int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('acl.plan_cache_size', '0', false);
    PERFORM set_config('acl.plan_cache_size', '4MB', false);
    PERFORM pc_read(), pc_read(), pc_read('SELECT id FROM pc_notes WHERE id <> ' || n);
    RETURN n;
END $$;
CREATE FUNCTION pc_churned() RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE
    ids int[];
BEGIN
    EXECUTE 'SELECT array_agg(pc_churn(id) ORDER BY id) FROM pc_notes' INTO ids;
    RETURN ids;
END $$;
CREATE FUNCTION pc_update() RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE
    ids int[];
BEGIN
    EXECUTE 'WITH u AS (UPDATE pc_notes SET body = body || ''!'' WHERE id <= 6 RETURNING id) SELECT array_agg(id ORDER BY id) FROM u' INTO ids;
    RETURN ids;
END $$;
CREATE FUNCTION pc_insert() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'INSERT INTO pc_notes VALUES (nextval(''pc_ids''), acl.current_user_id(), ''draft'', ''new'')';
END $$;
GRANT EXECUTE ON FUNCTION pc_hits(), pc_read(text), pc_plan(text), pc_churn(int), pc_churned(), pc_update(), pc_insert() TO PUBLIC;

SHOW acl.plan_cache_size;
SET ROLE acl_reg_cache_app;
SELECT * FROM pc_hits() \gset
-- Alternating end users on one connection: each gets their own rows from one
-- plan.  The first run is planned, the second is planned and kept, the rest
-- reuse it.
SET acl.user_id = 'c1000000-0000-4000-8000-000000000001';
SELECT pc_read() AS cora;
SET acl.user_id = 'c1000000-0000-4000-8000-000000000002';
SELECT pc_read() AS cid;
SET acl.user_id = 'c1000000-0000-4000-8000-000000000001';
SELECT pc_read() AS cora;
SET acl.user_id = 'c1000000-0000-4000-8000-000000000002';
SELECT pc_read() AS cid;
RESET acl.user_id;
SELECT pc_read() AS anonymous;
SELECT * FROM pc_hits();

-- A statement sent once is not kept.
SET acl.user_id = 'c1000000-0000-4000-8000-000000000001';
SELECT pc_read('SELECT id FROM pc_notes WHERE id > 3') AS once;
SELECT * FROM pc_hits();

-- A grant to the public principal changes acl.*, so the plan is made again
-- (who holds which policy is read when a plan runs, kept or not).
RESET ROLE;
INSERT INTO acl.access (role, "user", policy) VALUES (NULL, NULL, 'c0000000-0000-4000-8000-0000000000a2');
SET ROLE acl_reg_cache_app;
RESET acl.user_id;
SELECT pc_read() AS anonymous, pc_read() AS again, pc_read() AS and_again;
SELECT * FROM pc_hits();

-- A changed rule: the next run reads the new one.
RESET ROLE;
UPDATE acl.permissions SET permissions = '{"status": "draft"}'
 WHERE policy = 'c0000000-0000-4000-8000-0000000000a2';
SET ROLE acl_reg_cache_app;
SELECT pc_read('SELECT id FROM pc_notes WHERE id < 8 ORDER BY id') AS anonymous;
RESET ROLE;
UPDATE acl.permissions SET permissions = '{"status": "published"}'
 WHERE policy = 'c0000000-0000-4000-8000-0000000000a2';
SET ROLE acl_reg_cache_app;
SELECT pc_read() AS anonymous, pc_read() AS again, pc_read() AS and_again;

-- Another PostgreSQL role never gets this role's plan.
SET ROLE acl_reg_cache_other;
SELECT * FROM pc_hits() \gset
SELECT pc_read() AS other_role;
SELECT new_hits FROM pc_hits();
SET ROLE acl_reg_cache_app;

-- Planner settings are part of what a plan was made for.
SET acl.user_id = 'c1000000-0000-4000-8000-000000000001';
SELECT count(*) > 0 AS planned FROM pc_plan('SELECT * FROM pc_notes WHERE id = 4') a, pc_plan('SELECT * FROM pc_notes WHERE id = 4') b;
SELECT * FROM pc_plan('SELECT * FROM pc_notes WHERE id = 4') p WHERE p ~ 'Scan';
SET enable_seqscan = off;
SELECT * FROM pc_plan('SELECT * FROM pc_notes WHERE id = 4') p WHERE p ~ 'Scan';
RESET enable_seqscan;
SELECT * FROM pc_plan('SELECT * FROM pc_notes WHERE id = 4') p WHERE p ~ 'Scan';

-- DDL: a new index is used, a dropped one is not looked for, and an index
-- created in a transaction that rolls back is gone with it.
RESET ROLE;
CREATE INDEX pc_notes_body_idx ON pc_notes (body);
SET ROLE acl_reg_cache_app;
SET enable_seqscan = off;
SELECT pc_read('SELECT id FROM pc_notes WHERE body = ''note 4''') AS by_body,
       pc_read('SELECT id FROM pc_notes WHERE body = ''note 4''') AS again,
       pc_read('SELECT id FROM pc_notes WHERE body = ''note 4''') AS and_again;
SELECT * FROM pc_plan('SELECT id FROM pc_notes WHERE body = ''note 4''') p WHERE p ~ 'Index';
RESET ROLE;
DROP INDEX pc_notes_body_idx;
SET ROLE acl_reg_cache_app;
SELECT pc_read('SELECT id FROM pc_notes WHERE body = ''note 4''') AS after_drop;
RESET ROLE;
BEGIN;
CREATE INDEX pc_notes_body_idx ON pc_notes (body);
SET LOCAL ROLE acl_reg_cache_app;
SELECT pc_read('SELECT id FROM pc_notes WHERE body = ''note 6''') AS in_transaction,
       pc_read('SELECT id FROM pc_notes WHERE body = ''note 6''') AS again,
       pc_read('SELECT id FROM pc_notes WHERE body = ''note 6''') AS and_again;
ROLLBACK;
SET ROLE acl_reg_cache_app;
SET acl.user_id = 'c1000000-0000-4000-8000-000000000001';
SELECT pc_read('SELECT id FROM pc_notes WHERE body = ''note 6''') AS after_rollback;
SELECT * FROM pc_plan('SELECT id FROM pc_notes WHERE body = ''note 6''') p WHERE p ~ 'Index';
RESET enable_seqscan;

-- A function the plan inlined is replaced: the plan is made again.
RESET ROLE;
CREATE FUNCTION pc_label(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT upper(t) $$;
GRANT EXECUTE ON FUNCTION pc_label(text) TO PUBLIC;
CREATE FUNCTION pc_labels() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r text;
BEGIN
    EXECUTE 'SELECT string_agg(pc_label(body), '','' ORDER BY id) FROM pc_notes WHERE id < 5' INTO r;
    RETURN r;
END $$;
GRANT EXECUTE ON FUNCTION pc_labels() TO PUBLIC;
SET ROLE acl_reg_cache_app;
SELECT pc_labels(), pc_labels(), pc_labels();
RESET ROLE;
CREATE OR REPLACE FUNCTION pc_label(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'label ' || t $$;
SET ROLE acl_reg_cache_app;
SELECT pc_labels();

-- Plans retired while they run (here by emptying the cache from inside the
-- statement, and planning others) stay intact until the transaction ends.
SELECT pc_churned() AS cora, pc_churned() AS again, pc_churned() AS and_again;

-- Writes: the same UPDATE, kept, changes each end user's own rows only.
SELECT * FROM pc_hits() \gset
SELECT pc_update() AS cora, pc_update() AS again, pc_update() AS and_again;
SET acl.user_id = 'c1000000-0000-4000-8000-000000000002';
SELECT pc_update() AS cid;
SELECT new_hits AS reused FROM pc_hits();
RESET ROLE;
SELECT id, body FROM pc_notes WHERE id <= 6 ORDER BY id;
SET ROLE acl_reg_cache_app;
-- An INSERT checks the end user of each run.  (Nothing of its row security
-- is planned per policy, so it is planned each time.)
SET acl.user_id = 'c1000000-0000-4000-8000-000000000001';
SELECT pc_insert(), pc_insert(), pc_insert();
RESET acl.user_id;
\set VERBOSITY terse
SELECT pc_insert();
\set VERBOSITY default
SET acl.user_id = 'c1000000-0000-4000-8000-000000000002';
SELECT pc_insert();
SELECT count(*) AS cid_new FROM pc_notes WHERE body = 'new';
RESET ROLE;
SELECT owner, count(*) FROM pc_notes WHERE body = 'new' GROUP BY owner ORDER BY owner;
SET ROLE acl_reg_cache_app;

-- Turned off: nothing is kept or reused.
SET acl.plan_cache_size = 0;
SELECT entries, bytes FROM acl.plan_cache_stats();
SELECT * FROM pc_hits() \gset
SELECT pc_read(), pc_read(), pc_read();
SELECT * FROM pc_hits();
RESET acl.plan_cache_size;
SET acl.plan_cache_size = -1;

RESET ROLE;
RESET acl.user_id;
DELETE FROM acl.permissions WHERE collection = 'pc_notes'::regclass;
DELETE FROM acl.access WHERE policy IN ('c0000000-0000-4000-8000-0000000000a1', 'c0000000-0000-4000-8000-0000000000a2');
DELETE FROM acl.users WHERE id::text LIKE 'c1000000-%';
DELETE FROM acl.policies WHERE id IN ('c0000000-0000-4000-8000-0000000000a1', 'c0000000-0000-4000-8000-0000000000a2');
DELETE FROM acl.roles WHERE id = 'c0000000-0000-4000-8000-000000000001';
DROP TABLE pc_notes;
DROP SEQUENCE pc_ids;
DROP FUNCTION pc_hits(), pc_read(text), pc_plan(text), pc_label(text), pc_labels(), pc_churn(int), pc_churned(), pc_update(), pc_insert();
DROP OWNED BY acl_reg_cache_app, acl_reg_cache_other;
DROP ROLE acl_reg_cache_app, acl_reg_cache_other;
