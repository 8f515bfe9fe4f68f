-- Adversarial: an application role tries every path it has to a masked value
-- or a hidden row.  Each attempt must fail or see NULL.
--
-- ann (f1...01) holds "adv own" (her rows, every field) and "adv published"
-- (published rows: id, status, body, note).  On adv_notes she sees row 1
-- whole, rows 2 and 4 without owner and secret, and never row 3
-- ('bob private', 's3').  The secrets of rows 2, 3 and 4 are s2, s3, s4.
\set VERBOSITY terse

CREATE ROLE acl_reg_adv_app NOLOGIN;
GRANT SET ON PARAMETER acl.user_id TO acl_reg_adv_app;
GRANT CREATE ON SCHEMA public TO acl_reg_adv_app;

CREATE TABLE adv_notes (id int PRIMARY KEY, owner uuid, status text NOT NULL DEFAULT 'draft',
                        body text, secret text DEFAULT 'sdefault', note text);
INSERT INTO adv_notes (id, owner, status, body, secret) VALUES
    (1, 'f1000000-0000-4000-8000-000000000001', 'draft', 'ann draft', 's1'),
    (2, 'f1000000-0000-4000-8000-000000000002', 'published', 'bob public', 's2'),
    (3, 'f1000000-0000-4000-8000-000000000002', 'draft', 'bob private', 's3'),
    (4, 'f1000000-0000-4000-8000-000000000002', 'published', 'bob public 2', 's4');
-- Presets and validation: MERGE is refused here.
CREATE TABLE adv_checked (id int PRIMARY KEY, owner uuid, v text);
INSERT INTO adv_checked VALUES (1, 'f1000000-0000-4000-8000-000000000001', 'c1'),
                               (2, 'f1000000-0000-4000-8000-000000000002', 'c2');
-- Partitions made before and after the permissions, and an inheritance child.
CREATE TABLE adv_part (id int, owner uuid, region text, secret text) PARTITION BY LIST (region);
CREATE TABLE adv_part_eu PARTITION OF adv_part FOR VALUES IN ('eu');
CREATE TABLE adv_part_us PARTITION OF adv_part FOR VALUES IN ('us');
INSERT INTO adv_part VALUES
    (1, 'f1000000-0000-4000-8000-000000000001', 'eu', 'p1'),
    (2, 'f1000000-0000-4000-8000-000000000002', 'eu', 'p2'),
    (3, 'f1000000-0000-4000-8000-000000000002', 'us', 'p3'),
    (4, 'f1000000-0000-4000-8000-000000000001', 'us', 'p4');
CREATE TABLE adv_inh (id int, owner uuid, secret text);
CREATE TABLE adv_inh_child (child_secret text) INHERITS (adv_inh);
INSERT INTO adv_inh VALUES (1, 'f1000000-0000-4000-8000-000000000001', 'i1'),
                           (2, 'f1000000-0000-4000-8000-000000000002', 'i2');
INSERT INTO adv_inh_child VALUES (3, 'f1000000-0000-4000-8000-000000000001', 'i3', 'c3'),
                                 (4, 'f1000000-0000-4000-8000-000000000002', 'i4', 'c4'),
                                 (5, 'f1000000-0000-4000-8000-000000000002', 'i5', 'c5');
-- An enum and a NOT NULL domain.
CREATE TYPE adv_level AS ENUM ('low', 'high', 'top');
CREATE DOMAIN adv_code AS text NOT NULL CHECK (VALUE LIKE 'C-%');
CREATE TABLE adv_typed (id int PRIMARY KEY, owner uuid, level adv_level, code adv_code);
INSERT INTO adv_typed VALUES (1, 'f1000000-0000-4000-8000-000000000001', 'low', 'C-ann'),
                             (2, 'f1000000-0000-4000-8000-000000000002', 'top', 'C-bob');
-- A dropped column before the permissions.
CREATE TABLE adv_dropped (id int PRIMARY KEY, gone text, owner uuid, secret text, tail text, extra text);
INSERT INTO adv_dropped VALUES (1, 'g1', 'f1000000-0000-4000-8000-000000000001', 'd1', 't1', 'e1'),
                               (2, 'g2', 'f1000000-0000-4000-8000-000000000002', 'd2', 't2', 'e2');
ALTER TABLE adv_dropped DROP COLUMN gone;
-- A partition key masked on a visible row.
CREATE TABLE adv_zone (id int, owner uuid, zone text) PARTITION BY LIST (zone);
CREATE TABLE adv_zone_a PARTITION OF adv_zone FOR VALUES IN ('a');
CREATE TABLE adv_zone_b PARTITION OF adv_zone FOR VALUES IN ('b');
INSERT INTO adv_zone VALUES (1, 'f1000000-0000-4000-8000-000000000001', 'a'),
                            (2, 'f1000000-0000-4000-8000-000000000002', 'b');
ALTER TABLE adv_notes ADD CONSTRAINT adv_notes_note_check CHECK (note IS DISTINCT FROM 'forbidden');
GRANT SELECT, INSERT, UPDATE, DELETE ON adv_notes, adv_checked, adv_part, adv_part_eu, adv_part_us,
    adv_inh, adv_inh_child, adv_typed, adv_dropped, adv_zone TO acl_reg_adv_app;

INSERT INTO acl.policies (id, name) VALUES
    ('f0000000-0000-4000-8000-0000000000a1', 'adv own'),
    ('f0000000-0000-4000-8000-0000000000a2', 'adv published');
INSERT INTO acl.users (id, email) VALUES
    ('f1000000-0000-4000-8000-000000000001', 'ann.adv@example.org'),
    ('f1000000-0000-4000-8000-000000000002', 'bob.adv@example.org'),
    ('f1000000-0000-4000-8000-000000000003', 'adm.adv@example.org');
INSERT INTO acl.access ("user", policy, sort) VALUES
    ('f1000000-0000-4000-8000-000000000001', 'f0000000-0000-4000-8000-0000000000a1', 1),
    ('f1000000-0000-4000-8000-000000000001', 'f0000000-0000-4000-8000-0000000000a2', 2),
    ('f1000000-0000-4000-8000-000000000002', 'f0000000-0000-4000-8000-0000000000a1', 1),
    ('f1000000-0000-4000-8000-000000000002', 'f0000000-0000-4000-8000-0000000000a2', 2),
    ('f1000000-0000-4000-8000-000000000003', '7a0e3c57-5d0e-4a53-9b8e-5f0d6a1b0002', 1);
INSERT INTO acl.permissions (policy, collection, action, permissions, fields, presets, validation) VALUES
    ('f0000000-0000-4000-8000-0000000000a1', 'adv_notes', 'read', '{"owner": {"_eq": "$CURRENT_USER"}}', '{*}', NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a1', 'adv_notes', 'update', '{"owner": {"_eq": "$CURRENT_USER"}}', '{body,note}', NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a1', 'adv_notes', 'delete', '{"owner": {"_eq": "$CURRENT_USER"}}', NULL, NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a1', 'adv_notes', 'create', NULL, '{id,status,body,note}', NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a2', 'adv_notes', 'read', '{"status": {"_eq": "published"}}', '{id,status,body,note}', NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a2', 'adv_notes', 'update', '{"status": {"_eq": "published"}}', '{note}', NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a2', 'adv_notes', 'delete', '{"status": {"_eq": "published"}}', NULL, NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a1', 'adv_checked', 'read', '{"owner": {"_eq": "$CURRENT_USER"}}', '{*}', NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a2', 'adv_checked', 'read', '{"id": {"_nnull": true}}', '{id}', NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a1', 'adv_checked', 'create', NULL, '{id,v}', '{"owner": "$CURRENT_USER"}', '{"v": {"_nempty": true}}'),
    ('f0000000-0000-4000-8000-0000000000a1', 'adv_checked', 'update', '{"owner": {"_eq": "$CURRENT_USER"}}', '{v}', NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a1', 'adv_part', 'read', '{"owner": {"_eq": "$CURRENT_USER"}}', '{*}', NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a2', 'adv_part', 'read', '{"region": {"_eq": "eu"}}', '{id,region}', NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a1', 'adv_part', 'update', '{"owner": {"_eq": "$CURRENT_USER"}}', '{secret}', NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a2', 'adv_part', 'update', '{"region": {"_eq": "eu"}}', '{region}', NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a2', 'adv_part', 'delete', '{"region": {"_eq": "eu"}}', NULL, NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a1', 'adv_inh', 'read', '{"owner": {"_eq": "$CURRENT_USER"}}', '{*}', NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a2', 'adv_inh', 'read', '{"id": {"_lt": 5}}', '{id}', NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a2', 'adv_inh', 'delete', '{"id": {"_lt": 5}}', NULL, NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a1', 'adv_typed', 'read', '{"owner": {"_eq": "$CURRENT_USER"}}', '{*}', NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a2', 'adv_typed', 'read', '{"id": {"_nnull": true}}', '{id}', NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a1', 'adv_dropped', 'read', '{"owner": {"_eq": "$CURRENT_USER"}}', '{*}', NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a2', 'adv_dropped', 'read', '{"id": {"_nnull": true}}', '{id,tail}', NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a2', 'adv_dropped', 'update', '{"id": {"_nnull": true}}', '{tail}', NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a1', 'adv_zone', 'read', '{"owner": {"_eq": "$CURRENT_USER"}}', '{*}', NULL, NULL),
    ('f0000000-0000-4000-8000-0000000000a2', 'adv_zone', 'read', '{"id": {"_nnull": true}}', '{id}', NULL, NULL);
-- A partition made after the permissions.
CREATE TABLE adv_part_asia PARTITION OF adv_part FOR VALUES IN ('asia');
INSERT INTO adv_part VALUES (5, 'f1000000-0000-4000-8000-000000000002', 'asia', 'p5'),
                            (6, 'f1000000-0000-4000-8000-000000000001', 'asia', 'p6');
-- And one attached after them, with its columns in another order and a
-- dropped column.
CREATE TABLE adv_part_odd (secret text, region text, dropme int, owner uuid, id int);
ALTER TABLE adv_part_odd DROP COLUMN dropme;
INSERT INTO adv_part_odd (id, owner, region, secret) VALUES
    (7, 'f1000000-0000-4000-8000-000000000002', 'odd', 'p7'),
    (8, 'f1000000-0000-4000-8000-000000000001', 'odd', 'p8');
ALTER TABLE adv_part ATTACH PARTITION adv_part_odd FOR VALUES IN ('odd');
GRANT SELECT, INSERT, UPDATE, DELETE ON adv_part_asia, adv_part_odd TO acl_reg_adv_app;

SET ROLE acl_reg_adv_app;
SET acl.user_id = 'f1000000-0000-4000-8000-000000000001';
-- The application role's own tables and tools.
CREATE TABLE adv_own (id int, v text, body text);
CREATE FUNCTION adv_leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
    RAISE NOTICE 'leak: %', $1;
    RETURN true;
END $$;
-- The baseline.
SELECT * FROM adv_notes ORDER BY id;

-- 1. A leaky function in WHERE (the classic row-level security leak): it
-- sees only visible rows, and masked values as NULL.
SELECT id FROM adv_notes WHERE adv_leak(secret) ORDER BY id;
SELECT id FROM adv_notes WHERE adv_leak(body) ORDER BY id;
SELECT id FROM adv_notes WHERE adv_leak(owner::text) ORDER BY id;
SELECT id FROM adv_notes WHERE adv_leak(id || ':' || coalesce(secret, '-')) AND id = 3;
SELECT id FROM adv_notes WHERE id = 3 OR adv_leak(secret) ORDER BY id;
SELECT n.id FROM adv_notes n JOIN adv_notes m ON adv_leak(m.secret) AND m.id = n.id ORDER BY 1;
SELECT id FROM adv_notes ORDER BY adv_leak(secret), id;
SELECT adv_leak(secret), adv_leak(owner::text) FROM adv_notes WHERE id = 2;
-- With ORDER BY and LIMIT the WHERE moves into each branch of the read,
-- behind the branch's policies: still only visible rows and masked values.
SELECT id FROM adv_notes WHERE adv_leak(secret) ORDER BY id LIMIT 2;
SELECT id FROM adv_notes WHERE adv_leak(id || ':' || coalesce(secret, '-')) ORDER BY id DESC LIMIT 1 OFFSET 1;

-- 2. tableoid and ctid: a hidden row is not reached by its ctid either.
SELECT tableoid::regclass, ctid, id, secret FROM adv_notes WHERE ctid = '(0,3)';
SELECT tableoid::regclass, ctid, id, secret FROM adv_notes WHERE ctid = '(0,2)';
SELECT id, secret FROM adv_notes WHERE ctid = ANY ('{"(0,1)","(0,2)","(0,3)","(0,4)"}'::tid[]) ORDER BY id;

-- 3. Row comparison tricks.
SELECT id FROM adv_notes t WHERE (t.*)::text LIKE '%s2%';
SELECT id FROM adv_notes t WHERE (t.*)::text LIKE '%private%';
SELECT id FROM adv_notes t WHERE row_to_json(t)::text ~ 's2';
SELECT id FROM adv_notes t WHERE to_jsonb(t) @> '{"secret": "s4"}';
SELECT id FROM adv_notes t WHERE t = ROW(2, 'f1000000-0000-4000-8000-000000000002', 'published', 'bob public', 's2', NULL)::adv_notes;
SELECT id FROM adv_notes WHERE (id, secret) = (2, 's2');
SELECT id FROM adv_notes WHERE secret > 's1' OR secret < 's1';
SELECT id FROM adv_notes WHERE md5(secret) = md5('s2') OR hashtext(secret) = hashtext('s4');
SELECT id, secret IS NULL AS masked FROM adv_notes ORDER BY secret DESC NULLS LAST, id LIMIT 2;
SELECT id FROM adv_notes ORDER BY secret DESC NULLS FIRST, id DESC LIMIT 1;
SELECT id FROM adv_notes ORDER BY owner NULLS LAST, id LIMIT 1;

-- 4. Aggregates.
SELECT count(*) AS rows, count(secret) AS secrets, count(owner) AS owners, min(secret), max(secret),
       count(DISTINCT secret) AS distinct_secrets FROM adv_notes;
SELECT array_agg(secret ORDER BY id) AS secrets, string_agg(body, '|' ORDER BY id) AS bodies,
       bool_or(secret = 's3') AS saw_s3, bool_or(body = 'bob private') AS saw_private FROM adv_notes;
SELECT json_agg(t ORDER BY id) FROM adv_notes t;
SELECT jsonb_object_agg(id, secret ORDER BY id) FROM adv_notes;
SELECT mode() WITHIN GROUP (ORDER BY secret) AS mode, percentile_disc(1) WITHIN GROUP (ORDER BY secret) AS top FROM adv_notes;
SELECT status, count(*), max(secret) FROM adv_notes GROUP BY status HAVING max(secret) IS NOT NULL OR count(*) > 0 ORDER BY 1;

-- 5. Window functions over a masked column.
SELECT id, rank() OVER (ORDER BY secret NULLS LAST) AS rnk, lag(secret) OVER (ORDER BY id),
       lead(secret) OVER (ORDER BY id), first_value(secret) OVER (PARTITION BY status ORDER BY id DESC),
       max(secret) OVER () AS max_all, count(*) OVER () AS visible
  FROM adv_notes ORDER BY id;
SELECT id, count(secret) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING),
       nth_value(secret, 2) OVER (ORDER BY secret NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
  FROM adv_notes ORDER BY id;

-- 6. Subqueries in the select list, EXISTS, LATERAL.
SELECT (SELECT secret FROM adv_notes WHERE id = 2) AS s2, (SELECT body FROM adv_notes WHERE id = 3) AS hidden_body,
       (SELECT max(secret) FROM adv_notes) AS max_secret,
       EXISTS (SELECT 1 FROM adv_notes WHERE secret = 's3') AS s3_exists,
       EXISTS (SELECT 1 FROM adv_notes WHERE id = 3) AS row3_exists;
SELECT g, (SELECT n.secret FROM adv_notes n WHERE n.id = g), (SELECT n.body FROM adv_notes n WHERE n.id = g)
  FROM generate_series(1, 4) g ORDER BY g;
SELECT g, l.* FROM generate_series(1, 4) g, LATERAL (SELECT id, body, secret FROM adv_notes n WHERE n.id = g) l ORDER BY g;
SELECT g, l.* FROM generate_series(1, 4) g LEFT JOIN LATERAL (SELECT body, secret FROM adv_notes n WHERE n.id = g) l ON true ORDER BY g;
SELECT n.id, x FROM adv_notes n, LATERAL unnest(ARRAY[n.secret, n.owner::text]) x ORDER BY 1, 2;
VALUES ((SELECT secret FROM adv_notes WHERE id = 4), (SELECT string_agg(secret, ',') FROM adv_notes));
SELECT id FROM adv_notes ORDER BY (SELECT secret FROM adv_notes m WHERE m.id = 5 - adv_notes.id) NULLS LAST, id;
WITH RECURSIVE r(id, s) AS (SELECT id, secret FROM adv_notes WHERE id = 1
                            UNION ALL SELECT n.id, n.secret FROM adv_notes n JOIN r ON n.id = r.id + 1)
SELECT * FROM r;

-- 7. GROUPING SETS and DISTINCT ON.
SELECT status, secret, count(*) FROM adv_notes GROUP BY GROUPING SETS ((status), (secret), ()) ORDER BY 1, 2, 3;
SELECT owner IS NULL AS owner_masked, secret, count(*) FROM adv_notes GROUP BY ROLLUP (owner IS NULL, secret) ORDER BY 1, 2, 3;
SELECT status, secret, count(*) FROM adv_notes GROUP BY CUBE (status, secret) ORDER BY 1, 2, 3;
SELECT DISTINCT ON (secret) id, secret FROM adv_notes ORDER BY secret, id;
SELECT DISTINCT secret FROM adv_notes ORDER BY 1;

-- 8. Functions: plpgsql, SQL (inlined, not inlined, BEGIN ATOMIC), dynamic
-- SQL, DO, and SECURITY DEFINER functions the application role owns.
CREATE FUNCTION adv_plpgsql(i int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text;
BEGIN
    SELECT secret || '/' || body INTO s FROM adv_notes WHERE id = i;
    RETURN coalesce(s, 'nothing');
END $$;
SELECT adv_plpgsql(1) AS own, adv_plpgsql(2) AS masked, adv_plpgsql(3) AS hidden;
CREATE FUNCTION adv_plpgsql_rows() RETURNS SETOF adv_notes LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT * FROM adv_notes ORDER BY id;
END $$;
SELECT id, owner, secret FROM adv_plpgsql_rows();
CREATE FUNCTION adv_loop() RETURNS void LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    FOR r IN SELECT * FROM adv_notes ORDER BY id LOOP
        RAISE NOTICE 'row %', r;
    END LOOP;
END $$;
SELECT adv_loop();
CREATE FUNCTION adv_dynamic(col text, i int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text;
BEGIN
    EXECUTE format('SELECT %I::text FROM adv_notes WHERE id = $1', col) INTO s USING i;
    RETURN s;
END $$;
SELECT adv_dynamic('secret', 2) AS secret2, adv_dynamic('body', 3) AS body3, adv_dynamic('owner', 4) AS owner4;
CREATE FUNCTION adv_sql_scalar(i int) RETURNS text LANGUAGE sql STABLE AS 'SELECT secret FROM adv_notes WHERE id = i';
SELECT adv_sql_scalar(1) AS own, adv_sql_scalar(2) AS masked, adv_sql_scalar(3) AS hidden;
CREATE FUNCTION adv_sql_rows() RETURNS SETOF adv_notes LANGUAGE sql STABLE AS 'SELECT * FROM adv_notes';
SELECT id, owner, secret FROM adv_sql_rows() ORDER BY id;
SELECT id, secret FROM adv_sql_rows() WHERE adv_leak(secret) ORDER BY id;
CREATE FUNCTION adv_sql_table(i int) RETURNS TABLE (id int, secret text, body text) LANGUAGE sql STABLE
    AS 'SELECT id, secret, body FROM adv_notes WHERE id >= i';
SELECT * FROM adv_sql_table(1) ORDER BY id;
SELECT * FROM ROWS FROM (adv_sql_table(1), generate_series(1, 4)) ORDER BY 1;
SELECT (adv_sql_table(2)).* ORDER BY 1;
CREATE FUNCTION adv_atomic(i int) RETURNS text LANGUAGE sql STABLE BEGIN ATOMIC
    SELECT secret FROM adv_notes WHERE id = i;
END;
SELECT adv_atomic(1) AS own, adv_atomic(2) AS masked, adv_atomic(3) AS hidden;
CREATE FUNCTION adv_atomic_rows() RETURNS SETOF adv_notes LANGUAGE sql STABLE BEGIN ATOMIC
    SELECT * FROM adv_notes;
END;
SELECT id, secret FROM adv_atomic_rows() ORDER BY id;
CREATE FUNCTION adv_row_secret(adv_notes) RETURNS text LANGUAGE sql AS 'SELECT $1.secret';
SELECT n.id, n.adv_row_secret FROM adv_notes n ORDER BY id;
CREATE FUNCTION adv_definer(i int) RETURNS text LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE s text;
BEGIN
    SELECT string_agg(id || '=' || coalesce(secret, '-'), ',' ORDER BY id) INTO s FROM adv_notes WHERE id >= i;
    RETURN s;
END $$;
SELECT adv_definer(1);
CREATE FUNCTION adv_definer_sql() RETURNS SETOF adv_notes LANGUAGE sql STABLE SECURITY DEFINER AS 'SELECT * FROM adv_notes';
SELECT id, secret FROM adv_definer_sql() ORDER BY id;
DO $$
DECLARE s text;
BEGIN
    SELECT string_agg(coalesce(secret, '-'), ',' ORDER BY id) INTO s FROM adv_notes;
    RAISE NOTICE 'do block saw %', s;
END $$;
-- Turning row security off is refused, not a way around it; so is lifting
-- it from the table.
SET row_security = off;
SELECT id, secret FROM adv_notes ORDER BY id;
RESET row_security;
ALTER TABLE adv_notes NO FORCE ROW LEVEL SECURITY;
ALTER TABLE adv_notes DISABLE ROW LEVEL SECURITY;

-- 9. Views the application role makes: plain, security_barrier,
-- security_invoker, a view over a view, and a materialized view.
CREATE VIEW adv_v AS SELECT * FROM adv_notes;
SELECT id, owner, secret FROM adv_v ORDER BY id;
SELECT id FROM adv_v WHERE adv_leak(secret) ORDER BY id;
CREATE VIEW adv_v_sb WITH (security_barrier) AS SELECT id, body, secret FROM adv_notes WHERE id > 1;
SELECT * FROM adv_v_sb ORDER BY id;
SELECT id FROM adv_v_sb WHERE adv_leak(body || '/' || coalesce(secret, '-')) ORDER BY id;
CREATE VIEW adv_v_inv WITH (security_invoker) AS SELECT id, secret FROM adv_notes;
SELECT * FROM adv_v_inv ORDER BY id;
CREATE VIEW adv_vv AS SELECT id, secret, (SELECT max(secret) FROM adv_v) AS max_secret FROM adv_v_sb;
SELECT * FROM adv_vv ORDER BY id;
SELECT * FROM adv_vv WHERE secret = 's2' OR id = 3;
CREATE MATERIALIZED VIEW adv_mv AS SELECT id, owner, secret FROM adv_notes;
SELECT * FROM adv_mv ORDER BY id;
REFRESH MATERIALIZED VIEW adv_mv;
SELECT id, secret FROM adv_mv ORDER BY id;

-- 10. Copying values out: INSERT ... SELECT, CREATE TABLE AS, SELECT INTO,
-- COPY (query) TO, and a cursor.
INSERT INTO adv_own SELECT id, secret, body FROM adv_notes;
INSERT INTO adv_own (id, v) SELECT id, owner::text FROM adv_notes WHERE id <> 1;
SELECT * FROM adv_own ORDER BY id, v;
CREATE TABLE adv_ctas AS SELECT * FROM adv_notes;
SELECT id, owner, secret FROM adv_ctas ORDER BY id;
SELECT * INTO adv_into FROM adv_notes;
SELECT id, owner, secret FROM adv_into ORDER BY id;
CREATE TABLE adv_rows (r adv_notes);
INSERT INTO adv_rows SELECT n FROM adv_notes n;
SELECT (r).id, (r).secret FROM adv_rows ORDER BY 1;
COPY (SELECT id, owner, secret, body FROM adv_notes ORDER BY id) TO STDOUT;
COPY adv_notes TO STDOUT;
COPY adv_notes (secret) TO STDOUT;
COPY (SELECT t FROM adv_notes t ORDER BY id) TO STDOUT;
BEGIN;
DECLARE adv_cur SCROLL CURSOR FOR SELECT id, owner, secret FROM adv_notes ORDER BY id;
FETCH ALL FROM adv_cur;
FETCH BACKWARD ALL FROM adv_cur;
DECLARE adv_cur2 CURSOR FOR SELECT n FROM adv_notes n WHERE adv_leak(secret) ORDER BY id;
FETCH ALL FROM adv_cur2;
COMMIT;
BEGIN;
DECLARE adv_hold CURSOR WITH HOLD FOR SELECT id, secret FROM adv_notes ORDER BY id;
COMMIT;
FETCH ALL FROM adv_hold;
CLOSE adv_hold;

-- 11. EXPLAIN ANALYZE shows plans, never values: no value of the table that
-- the query does not spell out appears in its output.
CREATE FUNCTION adv_explain(q text) RETURNS TABLE (analyzed boolean, shows_data boolean) LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    analyzed := false;
    shows_data := false;
    FOR line IN EXECUTE 'EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
        analyzed := analyzed OR line LIKE '%actual rows=%';
        shows_data := shows_data OR line ~ '(s1|s2|s4|ann draft|bob public|f1000000)';
    END LOOP;
    RETURN NEXT;
END $$;
SELECT * FROM adv_explain($$SELECT id, secret FROM adv_notes WHERE secret = 's3'$$);
SELECT * FROM adv_explain($$SELECT * FROM adv_notes WHERE body = 'bob private' OR secret > 's0' ORDER BY secret$$);
SELECT * FROM adv_explain($$UPDATE adv_notes SET note = note WHERE secret IS NULL RETURNING *$$);

-- 12. Triggers and rules on the application role's own tables that copy
-- values out of the managed table.
CREATE TABLE adv_src (id int);
CREATE TABLE adv_log (id int, v text, body text, who text);
CREATE FUNCTION adv_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO adv_log (id, v, body, who) SELECT n.id, n.secret, n.body, TG_NAME FROM adv_notes n WHERE n.id = NEW.id;
    INSERT INTO adv_log (id, v, who) VALUES (NEW.id, (SELECT string_agg(secret, ',') FROM adv_notes), TG_NAME || ' agg');
    RETURN NEW;
END $$;
CREATE TRIGGER adv_src_copy AFTER INSERT ON adv_src FOR EACH ROW EXECUTE FUNCTION adv_copy();
CREATE FUNCTION adv_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.body := coalesce(NEW.body, (SELECT body FROM adv_notes WHERE id = NEW.id));
    NEW.v := coalesce(NEW.v, (SELECT secret FROM adv_notes WHERE id = NEW.id));
    RETURN NEW;
END $$;
CREATE TRIGGER adv_log_fill BEFORE INSERT ON adv_log FOR EACH ROW EXECUTE FUNCTION adv_fill();
INSERT INTO adv_src VALUES (1), (2), (3), (4);
INSERT INTO adv_log (id, who) VALUES (3, 'direct'), (4, 'direct');
CREATE TABLE adv_src2 (id int);
CREATE RULE adv_src2_copy AS ON INSERT TO adv_src2
    DO ALSO INSERT INTO adv_log (id, v, body, who) SELECT n.id, n.secret, n.body, 'rule' FROM adv_notes n WHERE n.id = NEW.id;
INSERT INTO adv_src2 VALUES (2), (3);
CREATE CONSTRAINT TRIGGER adv_src_deferred AFTER INSERT ON adv_src DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION adv_copy();
BEGIN;
INSERT INTO adv_src VALUES (4);
COMMIT;
SELECT id, v, body, who FROM adv_log ORDER BY who, id, v;

-- 13. Whole-row references and system columns through a view and a join.
SELECT t FROM adv_notes t ORDER BY id;
SELECT (t).* FROM adv_notes t ORDER BY id;
SELECT v FROM adv_v v ORDER BY id;
SELECT a.id, b FROM adv_notes a JOIN adv_notes b USING (id) ORDER BY 1;
SELECT a.id, b.tableoid::regclass, b.secret FROM adv_own a JOIN adv_notes b ON a.id = b.id AND a.v IS NULL ORDER BY 1;
SELECT id, secret FROM ONLY adv_notes ORDER BY id;
TABLE adv_notes ORDER BY id;
SELECT id, secret FROM adv_notes TABLESAMPLE SYSTEM (100) ORDER BY id;

-- 14. SELECT ... FOR UPDATE / FOR SHARE: update permissions apply too, and
-- the locked rows are masked.
SELECT id, owner, secret FROM adv_notes ORDER BY id FOR UPDATE;
SELECT id, owner, secret FROM adv_notes ORDER BY id FOR SHARE;
SELECT id, secret FROM adv_notes WHERE id = 3 FOR KEY SHARE;
SELECT a.id, a.secret FROM adv_notes a JOIN adv_own o ON o.id = a.id AND o.v IS NOT NULL ORDER BY 1 FOR UPDATE OF a;
BEGIN;
DECLARE adv_upd_cur CURSOR FOR SELECT id, secret FROM adv_notes WHERE id = 2 FOR UPDATE;
FETCH adv_upd_cur;
UPDATE adv_notes SET note = 'via cursor' WHERE CURRENT OF adv_upd_cur RETURNING id, owner, secret, note;
ROLLBACK;

-- 15. Writes: UPDATE SET visible = masked copies NULL; RETURNING is masked;
-- hidden rows are silently skipped.
BEGIN;
UPDATE adv_notes SET note = secret WHERE id IN (2, 4) RETURNING id, owner, secret, note;
UPDATE adv_notes SET note = owner::text || '/' || secret WHERE id = 2 RETURNING note;
UPDATE adv_notes SET note = (SELECT secret FROM adv_notes m WHERE m.id = 3) WHERE id = 2 RETURNING note;
UPDATE adv_notes n SET note = n::text WHERE id = 4 RETURNING note;
UPDATE adv_notes n SET note = 'x' WHERE n::text LIKE '%s2%' RETURNING id;
UPDATE adv_notes n SET note = 'x' WHERE EXISTS (SELECT 1 FROM (VALUES ('s2')) v(s) WHERE v.s = n.secret) RETURNING id;
UPDATE adv_notes SET note = 'x' WHERE id = 2 AND secret = 's2' RETURNING id;
UPDATE adv_notes SET note = 'x' WHERE id = 3 RETURNING *;
UPDATE adv_notes SET (note) = (SELECT coalesce(string_agg(secret, ','), '-') || '/' || coalesce(max(owner::text), '-') FROM adv_notes WHERE id > 1)
    WHERE id = 2 RETURNING note;
WITH u AS (UPDATE adv_notes SET note = note RETURNING id, secret, adv_notes) SELECT * FROM u ORDER BY id;
UPDATE adv_notes SET note = 'returned' WHERE id = 4
    RETURNING (SELECT secret FROM adv_notes m WHERE m.id = 3) AS hidden, (SELECT secret FROM adv_notes m WHERE m.id = 4) AS same_row;
WITH u AS (UPDATE adv_own o SET v = n.secret, body = n.body FROM adv_notes n WHERE n.id = o.id RETURNING o.id, o.v, o.body)
SELECT * FROM u ORDER BY id, v;
UPDATE adv_notes SET note = 'stolen' WHERE id = 2 AND adv_leak(secret) RETURNING id;
SELECT id, note FROM adv_notes ORDER BY id;
ROLLBACK;
UPDATE adv_notes SET secret = 'mine now' WHERE id = 2;
UPDATE adv_notes SET owner = 'f1000000-0000-4000-8000-000000000001' WHERE id = 2;
-- A failed constraint reports no row values.
\set VERBOSITY default
UPDATE adv_notes SET note = 'forbidden' WHERE id = 2;
\set VERBOSITY terse
BEGIN;
DELETE FROM adv_notes WHERE id IN (2, 3) RETURNING *;
DELETE FROM adv_notes RETURNING id, owner, secret, body;
ROLLBACK;
BEGIN;
DELETE FROM adv_notes WHERE secret = 's4' RETURNING id;
DELETE FROM adv_notes WHERE adv_leak(body) AND id = 3 RETURNING id;
DELETE FROM adv_notes n WHERE n.id = 4 RETURNING n, (SELECT max(secret) FROM adv_notes);
ROLLBACK;
BEGIN;
INSERT INTO adv_notes (id, status, body) VALUES (10, 'published', 'ann published') RETURNING id, owner, secret, body;
INSERT INTO adv_notes (id, status, body) SELECT id + 20, 'published', secret FROM adv_notes WHERE id < 10 RETURNING id, body, secret;
INSERT INTO adv_notes (id, status, body) VALUES (11, 'published', (SELECT secret FROM adv_notes WHERE id = 3)) RETURNING body;
ROLLBACK;
-- Refused: RETURNING a row the user cannot read; writing a column no
-- create permission lists.
INSERT INTO adv_notes (id, status, body) VALUES (11, 'draft', 'invisible') RETURNING id, secret;
INSERT INTO adv_notes (id, status, body, secret) VALUES (12, 'published', 'x', 'forged');

-- 16. Data-modifying CTEs.
BEGIN;
WITH u AS (UPDATE adv_notes SET note = note WHERE id IN (2, 3) RETURNING id, owner, secret, body)
SELECT * FROM u;
WITH u AS (UPDATE adv_notes SET note = 'cte' RETURNING *)
INSERT INTO adv_own (id, v, body) SELECT id, secret, owner::text FROM u ORDER BY id RETURNING *;
WITH d AS (DELETE FROM adv_notes RETURNING *) SELECT id, owner, secret, body FROM d ORDER BY id;
ROLLBACK;
BEGIN;
WITH d AS (DELETE FROM adv_notes WHERE id = 4 RETURNING *) SELECT d FROM d;
WITH d AS (DELETE FROM adv_notes WHERE id = 3 RETURNING *) SELECT count(*) FROM d;
WITH i AS (INSERT INTO adv_notes (id, status, body) VALUES (30, 'published', 'b30') RETURNING *) SELECT id, secret FROM i;
WITH u AS (UPDATE adv_notes SET note = 'x' WHERE id = 2 RETURNING secret)
UPDATE adv_own SET v = (SELECT secret FROM u) WHERE id = 2 RETURNING id, v;
ROLLBACK;

-- 17. INSERT ... ON CONFLICT.
BEGIN;
INSERT INTO adv_notes (id, status, body) VALUES (2, 'published', 'x') ON CONFLICT (id)
    DO UPDATE SET note = adv_notes.secret RETURNING id, owner, secret, note;
INSERT INTO adv_notes (id, status, body) VALUES (4, 'published', 'x') ON CONFLICT (id)
    DO UPDATE SET note = adv_notes.owner::text || adv_notes.body RETURNING note;
INSERT INTO adv_notes (id, status, body) VALUES (2, 'published', 'x') ON CONFLICT (id)
    DO UPDATE SET note = 'guessed' WHERE adv_notes.secret = 's2' RETURNING id, note;
INSERT INTO adv_notes (id, status, body) VALUES (2, 'published', 'x') ON CONFLICT (id)
    DO UPDATE SET note = excluded.body || adv_notes::text RETURNING note;
INSERT INTO adv_notes (id, status, body) VALUES (2, 'published', 'x') ON CONFLICT (id)
    DO UPDATE SET note = (SELECT secret FROM adv_notes m WHERE m.id = 3) RETURNING note;
INSERT INTO adv_notes (id, status, body) VALUES (2, 'published', 'x') ON CONFLICT (id) DO NOTHING RETURNING *;
ROLLBACK;
INSERT INTO adv_notes (id, status, body) VALUES (2, 'published', 'x') ON CONFLICT (id) DO UPDATE SET secret = 'mine';
-- A conflict with a hidden row fails; it does not update or return it.
INSERT INTO adv_notes (id, status, body) VALUES (3, 'published', 'x') ON CONFLICT (id)
    DO UPDATE SET note = adv_notes.secret RETURNING *;

-- 18. MERGE: allowed where no presets or validation apply, and masked.
BEGIN;
MERGE INTO adv_notes t USING (VALUES (2), (3), (4)) s(id) ON t.id = s.id
    WHEN MATCHED THEN UPDATE SET note = t.secret || t.owner::text;
MERGE INTO adv_notes t USING (VALUES (2)) s(id) ON t.id = s.id AND t.secret = 's2'
    WHEN MATCHED THEN UPDATE SET note = 'secret is s2';
MERGE INTO adv_notes t USING (VALUES (4)) s(id) ON t.id = s.id
    WHEN MATCHED AND t.secret = 's4' THEN UPDATE SET note = 'secret is s4'
    WHEN MATCHED THEN UPDATE SET note = 'secret unknown';
MERGE INTO adv_own o USING adv_notes n ON o.id = n.id + 100
    WHEN NOT MATCHED THEN INSERT (id, v, body) VALUES (n.id + 100, n.secret, n.body);
MERGE INTO adv_own o USING (SELECT * FROM adv_notes) n ON o.id = n.id + 100
    WHEN MATCHED THEN UPDATE SET v = n.owner::text;
SELECT id, v, body FROM adv_own WHERE id > 100 ORDER BY id;
SELECT id, note FROM adv_notes ORDER BY id;
ROLLBACK;
MERGE INTO adv_notes t USING (VALUES (2)) s(id) ON t.id = s.id WHEN MATCHED THEN UPDATE SET secret = 'mine';
-- A hidden row does not match; it is neither updated nor deleted.  (Its key
-- still takes part in the unique index, as with any row-level security.)
MERGE INTO adv_notes t USING (VALUES (3)) s(id) ON t.id = s.id
    WHEN MATCHED THEN DELETE;
MERGE INTO adv_notes t USING (VALUES (3)) s(id) ON t.id = s.id
    WHEN MATCHED THEN UPDATE SET note = 'found';
MERGE INTO adv_notes t USING (VALUES (3)) s(id) ON t.id = s.id
    WHEN NOT MATCHED THEN INSERT (id, status, body) VALUES (3, 'published', 'row 3 looks free');
-- Refused: presets and validation apply to adv_checked.
MERGE INTO adv_checked t USING (VALUES (2)) s(id) ON t.id = s.id
    WHEN MATCHED THEN UPDATE SET v = 'x';
MERGE INTO adv_checked t USING (VALUES (9)) s(id) ON t.id = s.id
    WHEN NOT MATCHED THEN INSERT (id, v) VALUES (9, 'x');
SELECT id, owner, v FROM adv_checked ORDER BY id;

-- 19. Partitioned table: through the parent, and each partition directly,
-- including one made after the permissions and one attached after them
-- with its columns in another order.
SELECT tableoid::regclass, id, owner, region, secret FROM adv_part ORDER BY id;
SELECT id FROM adv_part WHERE adv_leak(secret) ORDER BY id;
SELECT t FROM adv_part t ORDER BY id;
SELECT id, owner, region, secret FROM adv_part_eu ORDER BY id;
SELECT id, owner, region, secret FROM adv_part_us ORDER BY id;
SELECT id, owner, region, secret FROM adv_part_asia ORDER BY id;
SELECT id, owner, region, secret FROM adv_part_odd ORDER BY id;
SELECT t FROM adv_part_odd t ORDER BY id;
SELECT id FROM adv_part_us WHERE adv_leak(secret) ORDER BY id;
SELECT id FROM adv_part_odd WHERE adv_leak(secret) ORDER BY id;
SELECT count(*), string_agg(secret, ',' ORDER BY id) FROM adv_part_eu;
COPY adv_part_us TO STDOUT;
COPY adv_part_odd TO STDOUT;
BEGIN;
UPDATE adv_part_us SET secret = secret RETURNING id, secret;
UPDATE adv_part_eu SET region = 'eu' RETURNING id, owner, secret;
WITH u AS (UPDATE adv_part SET secret = secret WHERE owner IS NOT NULL RETURNING tableoid::regclass, adv_part)
SELECT * FROM u ORDER BY 2;
UPDATE adv_part_odd SET secret = 'mine' WHERE id = 7 RETURNING *;
WITH d AS (DELETE FROM adv_part_eu RETURNING *) SELECT * FROM d ORDER BY id;
DELETE FROM adv_part_us RETURNING *;
ROLLBACK;
-- The application role cannot add a partition or a child of its own.
CREATE TABLE adv_part_evil PARTITION OF adv_part FOR VALUES IN ('evil');
CREATE TABLE adv_inh_evil () INHERITS (adv_inh);
-- Deviation (README): which partition holds a visible row is not masked.
-- Row 2's zone is masked, but tableoid (and querying adv_zone_b directly)
-- tells that it is in the partition for zone 'b'.  Do not mask partition
-- keys.
SELECT tableoid::regclass, id, zone FROM adv_zone ORDER BY id;
SELECT id FROM adv_zone WHERE tableoid = 'adv_zone_b'::regclass;

-- 20. Inheritance: through the parent, and the child directly.
SELECT tableoid::regclass, id, owner, secret FROM adv_inh ORDER BY id;
SELECT id, owner, secret FROM ONLY adv_inh ORDER BY id;
SELECT id, owner, secret, child_secret FROM adv_inh_child ORDER BY id;
SELECT id FROM adv_inh_child WHERE adv_leak(child_secret) ORDER BY id;
SELECT t FROM adv_inh_child t ORDER BY id;
BEGIN;
DELETE FROM adv_inh_child RETURNING *;
ROLLBACK;

-- 21. An enum and a NOT NULL domain: masked to NULL, never an error.
SELECT * FROM adv_typed ORDER BY id;
SELECT id FROM adv_typed WHERE level = 'top' OR level > 'low' OR code = 'C-bob' OR code::text LIKE 'C-b%';
SELECT id, level, code, code IS NULL AS code_null FROM adv_typed ORDER BY level NULLS FIRST, id;
SELECT max(level), min(code), array_agg(level ORDER BY id) FROM adv_typed;
SELECT t FROM adv_typed t ORDER BY id;
SELECT row_to_json(t) FROM adv_typed t ORDER BY id;
CREATE TABLE adv_own_typed (id int, code adv_code);
INSERT INTO adv_own_typed SELECT id, code FROM adv_typed;
INSERT INTO adv_own_typed SELECT id, code FROM adv_typed WHERE id = 1;
SELECT * FROM adv_own_typed;

-- 22. A dropped column and whole-row references.
SELECT * FROM adv_dropped ORDER BY id;
SELECT t FROM adv_dropped t ORDER BY id;
SELECT row_to_json(t), to_jsonb(t) ->> 'secret' AS secret FROM adv_dropped t ORDER BY id;
SELECT (t).* FROM adv_dropped t ORDER BY id;
SELECT id FROM adv_dropped t WHERE t::text LIKE '%d2%' OR t::text LIKE '%g2%' OR t::text LIKE '%e2%';
SELECT id FROM adv_dropped t WHERE adv_leak(t::text) ORDER BY id;
CREATE TABLE adv_own_dropped AS SELECT t FROM adv_dropped t;
SELECT * FROM adv_own_dropped ORDER BY 1;
BEGIN;
UPDATE adv_dropped t SET tail = t::text RETURNING t, tail;
UPDATE adv_dropped SET tail = secret WHERE id = 2 RETURNING adv_dropped;
DELETE FROM adv_dropped RETURNING *;
ROLLBACK;
COPY adv_dropped TO STDOUT;
-- Columns added and dropped after the permissions.
DROP TABLE adv_own_dropped;
RESET ROLE;
ALTER TABLE adv_dropped ADD COLUMN added text DEFAULT 'a-secret';
ALTER TABLE adv_dropped DROP COLUMN extra;
SET ROLE acl_reg_adv_app;
SELECT * FROM adv_dropped ORDER BY id;
SELECT t FROM adv_dropped t ORDER BY id;

-- 23. Prepared statements reused across end users with generic plans:
-- reads, masks and writes.
SET plan_cache_mode = force_generic_plan;
PREPARE adv_read AS SELECT id, owner IS NOT NULL AS owner_shown, secret FROM adv_notes ORDER BY id;
PREPARE adv_one(int) AS SELECT id, body, secret FROM adv_notes WHERE id = $1;
PREPARE adv_note(int, text) AS UPDATE adv_notes SET note = $2 WHERE id = $1 RETURNING id, owner IS NOT NULL AS owner_shown, secret, note;
PREPARE adv_steal(int) AS UPDATE adv_notes SET secret = 'stolen' WHERE id = $1 RETURNING id, secret;
PREPARE adv_add(int) AS INSERT INTO adv_notes (id, status, body) VALUES ($1, 'published', 'added') RETURNING id, owner, secret;
PREPARE adv_copy_secret(int) AS UPDATE adv_notes SET note = secret WHERE id = $1 RETURNING note;
PREPARE adv_del(int) AS DELETE FROM adv_notes WHERE id = $1 RETURNING id, owner IS NOT NULL AS owner_shown, secret;
PREPARE adv_merge(int) AS MERGE INTO adv_notes t USING (VALUES ($1)) s(id) ON t.id = s.id
    WHEN MATCHED THEN UPDATE SET note = coalesce(t.secret, 'masked');
-- As the administrator first: a plan must not remember what it saw.
SET acl.user_id = 'f1000000-0000-4000-8000-000000000003';
EXECUTE adv_read;
EXECUTE adv_one(3);
BEGIN;
EXECUTE adv_steal(3);
EXECUTE adv_copy_secret(4);
EXECUTE adv_merge(2);
SELECT id, note FROM adv_notes WHERE id IN (2, 4) ORDER BY id;
EXECUTE adv_del(3);
ROLLBACK;
SET acl.user_id = 'f1000000-0000-4000-8000-000000000001';
EXECUTE adv_read;
EXECUTE adv_one(3);
EXECUTE adv_one(2);
BEGIN;
EXECUTE adv_note(2, 'ann on 2');
EXECUTE adv_note(3, 'ann on 3');
EXECUTE adv_copy_secret(4);
EXECUTE adv_merge(2);
EXECUTE adv_merge(3);
SELECT id, note FROM adv_notes ORDER BY id;
EXECUTE adv_del(3);
EXECUTE adv_del(4);
EXECUTE adv_add(40);
ROLLBACK;
EXECUTE adv_steal(1);
SET acl.user_id = 'f1000000-0000-4000-8000-000000000002';
EXECUTE adv_read;
EXECUTE adv_one(1);
BEGIN;
EXECUTE adv_copy_secret(3);
ROLLBACK;
RESET acl.user_id;
EXECUTE adv_read;
EXECUTE adv_one(2);
EXECUTE adv_note(2, 'anonymous');
EXECUTE adv_add(41);
EXECUTE adv_del(2);
SET acl.user_id = 'f1000000-0000-4000-8000-000000000001';
EXECUTE adv_read;
EXECUTE adv_steal(2);
RESET plan_cache_mode;
SELECT name, generic_plans > 0 AS generic, custom_plans FROM pg_prepared_statements
 WHERE name LIKE 'adv\_%' ORDER BY name;
DEALLOCATE ALL;
-- A statement prepared while the table was not yet managed is planned again
-- once a permission names it.
RESET ROLE;
CREATE TABLE adv_late (id int, owner uuid, secret text);
INSERT INTO adv_late VALUES (1, 'f1000000-0000-4000-8000-000000000001', 'l1'),
                            (2, 'f1000000-0000-4000-8000-000000000002', 'l2');
GRANT SELECT ON adv_late TO acl_reg_adv_app;
SET ROLE acl_reg_adv_app;
SET plan_cache_mode = force_generic_plan;
PREPARE adv_late_read AS SELECT id, secret FROM adv_late ORDER BY id;
EXECUTE adv_late_read;
RESET ROLE;
INSERT INTO acl.permissions (policy, collection, action, permissions, fields) VALUES
    ('f0000000-0000-4000-8000-0000000000a1', 'adv_late', 'read', '{"owner": {"_eq": "$CURRENT_USER"}}', '{*}'),
    ('f0000000-0000-4000-8000-0000000000a2', 'adv_late', 'read', '{"id": {"_nnull": true}}', '{id}');
SET ROLE acl_reg_adv_app;
EXECUTE adv_late_read;
RESET plan_cache_mode;
DEALLOCATE adv_late_read;

-- 24. Expressions the rewriter adds rather than the query: TABLESAMPLE
-- arguments, row-level security policies the application role puts on its
-- own tables, CHECK OPTIONs of its views, and the quals of its
-- security_barrier views when written through.  They read masked values.
SELECT count(*) FROM adv_own TABLESAMPLE SYSTEM ((SELECT secret::float8 FROM adv_notes WHERE id = 2));
SELECT count(*) FROM adv_notes TABLESAMPLE SYSTEM ((SELECT secret::float8 FROM adv_notes WHERE id = 4));
SELECT count(*) > 0 AS s2_guessed FROM adv_own
    TABLESAMPLE BERNOULLI ((SELECT CASE WHEN secret = 's2' THEN 100 ELSE 0 END FROM adv_notes WHERE id = 2));
CREATE TABLE adv_probe (id int, guess text);
ALTER TABLE adv_probe ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY adv_probe_read ON adv_probe FOR SELECT
    USING (guess IN (SELECT n.secret FROM adv_notes n WHERE n.id = adv_probe.id));
CREATE POLICY adv_probe_write ON adv_probe FOR INSERT WITH CHECK (true);
INSERT INTO adv_probe VALUES (1, 's1'), (2, 's2'), (2, 'sX'), (3, 's3'), (4, 's4');
SELECT * FROM adv_probe ORDER BY id, guess;
CREATE TABLE adv_probe2 (id int);
INSERT INTO adv_probe2 VALUES (1);
ALTER TABLE adv_probe2 ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY adv_probe2_leak ON adv_probe2 FOR SELECT
    USING (adv_leak((SELECT string_agg(coalesce(secret, '-'), ',' ORDER BY id) FROM adv_notes)));
SELECT count(*) FROM adv_probe2;
CREATE TABLE adv_probe4 (id int, guess text);
ALTER TABLE adv_probe4 ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY adv_probe4_write ON adv_probe4 FOR INSERT
    WITH CHECK (guess IN (SELECT n.secret FROM adv_notes n WHERE n.id = adv_probe4.id));
INSERT INTO adv_probe4 VALUES (1, 's1');
INSERT INTO adv_probe4 VALUES (2, 's2');
INSERT INTO adv_probe4 VALUES (2, 'sX');
CREATE TABLE adv_probe3 (id int, v text, body text);
CREATE VIEW adv_probe3_wco AS SELECT * FROM adv_probe3 WHERE v IN (SELECT secret FROM adv_notes) WITH CHECK OPTION;
INSERT INTO adv_probe3_wco (id, v) VALUES (1, 's1');
INSERT INTO adv_probe3_wco (id, v) VALUES (2, 's2');
INSERT INTO adv_probe3 (id, v) VALUES (2, 's2'), (4, 's4'), (4, 'sX');
CREATE VIEW adv_probe3_sb WITH (security_barrier) AS SELECT * FROM adv_probe3 WHERE v IN (SELECT secret FROM adv_notes);
BEGIN;
UPDATE adv_probe3_sb SET body = 'matched' RETURNING id, v;
ROLLBACK;
CREATE VIEW adv_sb_guess WITH (security_barrier) AS SELECT * FROM adv_notes WHERE secret = 's2';
CREATE VIEW adv_sb_leak WITH (security_barrier) AS SELECT * FROM adv_notes WHERE adv_leak(secret);
BEGIN;
UPDATE adv_sb_guess SET note = 'guessed' RETURNING id;
DELETE FROM adv_sb_guess RETURNING id;
ROLLBACK;
BEGIN;
UPDATE adv_sb_leak SET note = 'leaked' RETURNING id;
ROLLBACK;
CREATE VIEW adv_wco_guess AS SELECT * FROM adv_notes WHERE secret IS NULL OR secret <> 's2' WITH CHECK OPTION;
BEGIN;
UPDATE adv_wco_guess SET note = 'x' WHERE id = 2 RETURNING id;
ROLLBACK;
BEGIN;
UPDATE adv_wco_guess SET note = 'x' WHERE id = 4 RETURNING id;
ROLLBACK;

-- Statistics are not a side door either.
RESET acl.user_id;
RESET ROLE;
ANALYZE adv_notes;
SET ROLE acl_reg_adv_app;
SELECT attname, most_common_vals, histogram_bounds FROM pg_stats WHERE tablename = 'adv_notes' ORDER BY attname;
RESET ROLE;

-- What the refused and masked writes left behind (as superuser).
SELECT id, owner, status, body, secret, note FROM adv_notes ORDER BY id;
SELECT id, owner, v FROM adv_checked ORDER BY id;
SELECT id, region, secret FROM adv_part ORDER BY id;
SELECT count(*) AS inh_rows FROM adv_inh;
