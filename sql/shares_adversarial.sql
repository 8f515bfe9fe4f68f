-- Shares, adversarial: a share session, an end user and the application role
-- try every path around what a share may read and write.  Each attempt must
-- fail, see nothing, or see NULL.  Secrets are s1..s3 (sha_articles.secret)
-- and e-mails; article 2 is a draft, comments 11 and 12 are hidden.
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE ROLE acl_reg_shadv_app NOLOGIN;
GRANT SET ON PARAMETER acl.user_id TO acl_reg_shadv_app;
GRANT CREATE ON SCHEMA public TO acl_reg_shadv_app;
CREATE TABLE sha_people (id uuid PRIMARY KEY, name text, email text);
CREATE TABLE sha_articles (id int PRIMARY KEY, title text, status text, secret text, author uuid REFERENCES sha_people);
CREATE TABLE sha_comments (id int PRIMARY KEY, article int REFERENCES sha_articles, body text, hidden boolean);
CREATE TABLE sha_replies (id int PRIMARY KEY, comment int REFERENCES sha_comments (id), body text);
CREATE TABLE sha_other (id int PRIMARY KEY, body text);
-- A self-referencing key, a cycle of keys, a composite key, a partitioned table.
CREATE TABLE sha_nodes (id int PRIMARY KEY, parent int REFERENCES sha_nodes (id), label text);
CREATE TABLE sha_ca (id int PRIMARY KEY, b_id int, label text);
CREATE TABLE sha_cb (id int PRIMARY KEY, a_id int REFERENCES sha_ca (id), label text);
ALTER TABLE sha_ca ADD FOREIGN KEY (b_id) REFERENCES sha_cb (id);
CREATE TABLE sha_nopk (a int, b int, PRIMARY KEY (a, b));
CREATE TABLE sha_part (id int PRIMARY KEY, body text) PARTITION BY RANGE (id);
CREATE TABLE sha_part_lo PARTITION OF sha_part FOR VALUES FROM (1) TO (100);
CREATE TABLE sha_part_hi PARTITION OF sha_part FOR VALUES FROM (100) TO (1000);
CREATE TABLE sha_part_notes (id int PRIMARY KEY, part int REFERENCES sha_part (id), body text);
GRANT SELECT, INSERT, UPDATE, DELETE ON sha_people, sha_articles, sha_comments, sha_replies, sha_other,
    sha_nodes, sha_ca, sha_cb, sha_nopk, sha_part, sha_part_lo, sha_part_hi, sha_part_notes
    TO acl_reg_shadv_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON acl.shares TO acl_reg_shadv_app;

INSERT INTO sha_people VALUES ('5f000000-0000-4000-8000-000000000001', 'Ada', 'ada@example.org'), ('5f000000-0000-4000-8000-000000000002', 'Bob', 'bob@example.org');
INSERT INTO sha_articles VALUES
    (1, 'One', 'published', 's1', '5f000000-0000-4000-8000-000000000001'),
    (2, 'Two', 'draft', 's2', '5f000000-0000-4000-8000-000000000002'),
    (3, 'Three', 'published', 's3', '5f000000-0000-4000-8000-000000000002');
INSERT INTO sha_comments VALUES (10, 1, 'on one', false), (11, 1, 'hidden a', true),
                                (12, 1, 'hidden b', true), (13, 3, 'on three', false);
INSERT INTO sha_replies VALUES (100, 10, 'reply on 10'), (101, 12, 'reply under hidden 12'), (102, 13, 'reply on 13');
INSERT INTO sha_other VALUES (1, 'unrelated');
INSERT INTO sha_nodes VALUES (1, NULL, 'root'), (2, 1, 'middle'), (3, 2, 'leaf'), (4, NULL, 'other');
INSERT INTO sha_ca VALUES (1, NULL, 'a1'), (2, NULL, 'a2');
INSERT INTO sha_cb VALUES (1, 1, 'b1'), (2, 2, 'b2');
UPDATE sha_ca SET b_id = id;
INSERT INTO sha_nopk VALUES (1, 1);
INSERT INTO sha_part VALUES (5, 'lo'), (150, 'hi'), (160, 'hi other');
INSERT INTO sha_part_notes VALUES (1, 150, 'note on 150'), (2, 5, 'note on 5');

INSERT INTO acl.roles (id, name) VALUES ('5f200000-0000-4000-8000-000000000001', 'shadv editor'),
                                        ('5f200000-0000-4000-8000-000000000002', 'shadv other');
INSERT INTO acl.policies (id, name) VALUES ('5f300000-0000-4000-8000-000000000001', 'shadv editors');
INSERT INTO acl.users (id, email, role) VALUES
    ('5f100000-0000-4000-8000-000000000001', 'shadv-editor@example.org', '5f200000-0000-4000-8000-000000000001'),
    ('5f100000-0000-4000-8000-000000000002', 'shadv-other@example.org', '5f200000-0000-4000-8000-000000000002');
INSERT INTO acl.access (role, policy, sort) VALUES
    ('5f200000-0000-4000-8000-000000000001', '5f300000-0000-4000-8000-000000000001', 1);
SELECT setval(pg_get_serial_sequence('acl.permissions', 'id'), 3000) AS first_id_minus_one;
INSERT INTO acl.permissions (policy, collection, action, permissions, fields)
SELECT '5f300000-0000-4000-8000-000000000001'::uuid, t::regclass, 'read', NULL::jsonb, '{*}'::text[]
  FROM unnest('{sha_people,sha_articles,sha_replies,sha_other,sha_nodes,sha_ca,sha_cb,sha_nopk,sha_part,sha_part_notes}'::text[]) t
UNION ALL
SELECT 'abf8a154-5b1c-4a46-ac9c-7300570f4f17'::uuid, t::regclass, 'read', NULL::jsonb, '{*}'::text[]
  FROM unnest('{sha_replies,sha_other,sha_nodes,sha_ca,sha_cb,sha_part,sha_part_notes}'::text[]) t;
INSERT INTO acl.permissions (policy, collection, action, permissions, fields) VALUES
    ('5f300000-0000-4000-8000-000000000001', 'sha_comments', 'read', '{"hidden": {"_eq": false}}', '{*}'),
    ('5f300000-0000-4000-8000-000000000001', 'sha_articles', 'share', '{"status": {"_eq": "published"}}', NULL),
    ('5f300000-0000-4000-8000-000000000001', 'sha_nopk', 'share', NULL, NULL),
    ('5f300000-0000-4000-8000-000000000001', 'acl.shares', 'create', NULL, '{*}'),
    ('5f300000-0000-4000-8000-000000000001', 'acl.shares', 'update', '{"user_created": {"_eq": "$CURRENT_USER"}}', '{*}'),
    ('5f300000-0000-4000-8000-000000000001', 'acl.shares', 'read', '{"user_created": {"_eq": "$CURRENT_USER"}}', '{*}'),
    -- The public (a share's role side): no secret, no e-mail, every comment.
    ('abf8a154-5b1c-4a46-ac9c-7300570f4f17', 'sha_articles', 'read', NULL, '{id,title,status,author}'),
    ('abf8a154-5b1c-4a46-ac9c-7300570f4f17', 'sha_comments', 'read', NULL, '{*}'),
    ('abf8a154-5b1c-4a46-ac9c-7300570f4f17', 'sha_people', 'read', NULL, '{id,name}');
-- The first share permission gives every managed table with a key acl_share,
-- not only the tables its statement names (sha_nopk has no usable key).
SELECT c.relname AS without_acl_share FROM pg_class c
 WHERE c.relname LIKE 'sha\_%' AND c.relkind IN ('r', 'p')
   AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'acl_share') ORDER BY 1;
SELECT acl.sync() > 0 AS synced;
-- DBA-made shares: articles 1 and 3, node 2, cycle row a1, partition row 150,
-- and one of article 3 created by the other user.
INSERT INTO acl.shares (id, collection, item, user_created, password) VALUES
    ('5f400000-0000-4000-8000-000000000001', 'sha_articles', '1', '5f100000-0000-4000-8000-000000000001', 'pw1'),
    ('5f400000-0000-4000-8000-000000000002', 'sha_articles', '3', '5f100000-0000-4000-8000-000000000001', NULL),
    ('5f400000-0000-4000-8000-000000000003', 'sha_nodes', '2', '5f100000-0000-4000-8000-000000000001', NULL),
    ('5f400000-0000-4000-8000-000000000004', 'sha_ca', '1', '5f100000-0000-4000-8000-000000000001', NULL),
    ('5f400000-0000-4000-8000-000000000005', 'sha_part', '150', '5f100000-0000-4000-8000-000000000001', NULL),
    ('5f400000-0000-4000-8000-000000000006', 'sha_articles', '3', '5f100000-0000-4000-8000-000000000002', NULL);

-- End user forging shares.
SET ROLE acl_reg_shadv_app;
SET acl.user_id = '5f100000-0000-4000-8000-000000000001';
INSERT INTO acl.shares (id, collection, item, user_created, times_used, date_created)
VALUES ('5f400000-0000-4000-8000-000000000010', 'sha_articles', '1', '5f100000-0000-4000-8000-000000000002',
        99, '2000-01-01') RETURNING user_created, times_used, date_created > '2001-01-01' AS date_forced;
INSERT INTO acl.shares (collection, item, role) VALUES ('sha_articles', '1', '5f200000-0000-4000-8000-000000000002');
INSERT INTO acl.shares (collection, item) VALUES ('sha_articles', '2');
INSERT INTO acl.shares (collection, item) VALUES ('sha_articles', '42');
INSERT INTO acl.shares (collection, item) VALUES ('sha_comments', '10');
INSERT INTO acl.shares (collection, item) VALUES ('sha_nopk', '1');
INSERT INTO acl.shares (collection, item) VALUES ('sha_articles', '1 OR true');
UPDATE acl.shares SET user_created = '5f100000-0000-4000-8000-000000000002' WHERE id = '5f400000-0000-4000-8000-000000000010';
UPDATE acl.shares SET times_used = 0 WHERE id = '5f400000-0000-4000-8000-000000000010';
UPDATE acl.shares SET role = '5f200000-0000-4000-8000-000000000002' WHERE id = '5f400000-0000-4000-8000-000000000010';
UPDATE acl.shares SET collection = 'sha_comments', item = '10' WHERE id = '5f400000-0000-4000-8000-000000000010';
UPDATE acl.shares SET item = '2' WHERE id = '5f400000-0000-4000-8000-000000000010';
-- Another user's share: invisible, so neither updated nor taken over by upsert.
UPDATE acl.shares SET item = '1' WHERE id = '5f400000-0000-4000-8000-000000000006';
INSERT INTO acl.shares (id, collection, item) VALUES ('5f400000-0000-4000-8000-000000000006', 'sha_articles', '1')
ON CONFLICT (id) DO UPDATE SET item = '1';
SELECT id, item, user_created, times_used FROM acl.shares ORDER BY id;
RESET acl.user_id;
-- The public cannot share (terse: the errors list the public's policies).
\set VERBOSITY terse
INSERT INTO acl.shares (collection, item) VALUES ('sha_articles', '1');
\set VERBOSITY default

-- Logging in: unknown id, wrong and missing password all answer alike.
SELECT acl.share_login('5f400000-0000-4000-8000-0000000000ff', 'pw1');
SELECT acl.share_login('5f400000-0000-4000-8000-000000000001', 'pw2');
SELECT acl.share_login('5f400000-0000-4000-8000-000000000001');
SELECT acl.share_login('5f400000-0000-4000-8000-000000000001', ''' OR ''1''=''1');
SELECT acl.share_login(NULL);
SELECT acl.share_login('5f400000-0000-4000-8000-000000000001', 'pw1') AS token \gset one_
SELECT acl.share_login('5f400000-0000-4000-8000-000000000002') AS token \gset three_
SELECT acl.share_login('5f400000-0000-4000-8000-000000000003') AS token \gset node_
SELECT acl.share_login('5f400000-0000-4000-8000-000000000004') AS token \gset cyc_
SELECT acl.share_login('5f400000-0000-4000-8000-000000000005') AS token \gset part_
SELECT acl.share_login('5f400000-0000-4000-8000-000000000001', 'pw1') AS token \gset old_
-- Forged tokens.
SET acl.token = 'share.';
SELECT count(*) FROM sha_articles;
SET acl.token = 'share.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
SELECT count(*) FROM sha_articles;
SELECT set_config('acl.token', :'one_token' || 'x', false) IS NOT NULL AS set;
SELECT count(*) FROM sha_articles;
RESET acl.token;
CREATE VIEW sha_app_view AS SELECT a.id, a.title, a.secret, c.id AS cid, c.body
  FROM sha_articles a LEFT JOIN sha_comments c ON c.article = a.id;
CREATE FUNCTION sha_sql_f() RETURNS SETOF sha_articles LANGUAGE sql STABLE AS 'SELECT * FROM sha_articles';
CREATE FUNCTION sha_plpgsql_f() RETURNS text LANGUAGE plpgsql AS $$
BEGIN RETURN (SELECT string_agg(id || ':' || coalesce(secret, '-'), ',' ORDER BY id) FROM sha_articles); END $$;
CREATE FUNCTION sha_explain(q text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE l text; leaked boolean := false;
BEGIN
    FOR l IN EXECUTE 'EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF) ' || q LOOP
        leaked := leaked OR l ~ '(s[123]\y|Two|hidden [ab]|@example)';
    END LOOP;
    RETURN leaked;
END $$;
-- Runs a probe; any refusal counts as nothing learnt.
CREATE FUNCTION sha_probe(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN EXECUTE q INTO r; RETURN coalesce(r, 'NULL');
EXCEPTION WHEN OTHERS THEN RETURN 'refused'; END $$;
-- Code the acl owner would run: a domain check that notes a superuser caller.
CREATE SEQUENCE sha_priv_seq;
CREATE FUNCTION sha_note_caller(v int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF v IS NOT NULL AND (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        PERFORM nextval('public.sha_priv_seq');
    END IF;
    RETURN true;
END $$;
CREATE DOMAIN sha_dom AS int CHECK (public.sha_note_caller(VALUE));

-- The share of article 1 (role side: the public; creator: the editor).
SET acl.token = :'one_token';
SELECT acl.current_share(), acl.current_user_id(), acl.is_admin();
SELECT * FROM sha_articles ORDER BY id;
SELECT * FROM sha_comments ORDER BY id;
-- Structural reach: a reply under a hidden comment is reachable (as documented).
SELECT * FROM sha_replies ORDER BY id;
SELECT * FROM sha_people ORDER BY id;
SELECT count(*) AS others FROM sha_other;
SELECT count(*) AS shares FROM acl.shares;
SELECT count(*) FROM acl.share_sessions;
-- Around the reach and the masks.
SELECT a.id, o.id FROM sha_articles a CROSS JOIN sha_other o;
SELECT id FROM sha_articles WHERE id IN (SELECT article FROM sha_comments) OR secret = 's2' ORDER BY id;
SELECT (SELECT count(*) FROM sha_articles WHERE status = 'draft') AS drafts,
       (SELECT count(*) FROM sha_articles WHERE secret IS NOT NULL) AS secrets;
WITH x AS (SELECT * FROM sha_articles) SELECT id, secret FROM x;
WITH RECURSIVE up(id) AS (SELECT id FROM sha_nodes UNION SELECT n.parent FROM sha_nodes n JOIN up ON n.id = up.id)
SELECT count(*) AS nodes FROM up;
SELECT * FROM sha_app_view ORDER BY cid;
SELECT id, secret FROM sha_sql_f() ORDER BY id;
SELECT sha_plpgsql_f();
SELECT row_to_json(a) FROM sha_articles a;
SELECT count(*), string_agg(secret, ','), max(email) FROM sha_articles, sha_people;
SELECT id FROM sha_articles ORDER BY secret DESC, id;
SELECT id FROM sha_articles WHERE secret = 's1' OR secret LIKE 's%';
SELECT id, 1 / (CASE WHEN secret = 's1' THEN 0 ELSE 1 END) AS probe FROM sha_articles;
COPY sha_articles TO STDOUT;
COPY (SELECT a.secret, p.email FROM sha_articles a JOIN sha_people p ON p.id = a.author) TO STDOUT;
SELECT sha_explain('SELECT * FROM sha_articles') AS explain_leaks,
       sha_explain('SELECT * FROM sha_comments c JOIN sha_people p ON true') AS explain_join_leaks;
BEGIN;
DECLARE c SCROLL CURSOR FOR SELECT id, secret FROM sha_articles ORDER BY id;
FETCH ALL FROM c;
FETCH FIRST FROM c;
COMMIT;
-- Internals called directly.
SELECT t, c, acl._share_keys(NULL::int, t::regclass, c) AS keys FROM (VALUES ('sha_other', 'id'),
    ('sha_nodes', 'id'), ('sha_part', 'id')) v(t, c);
-- Only with the column's own type: a caller-chosen type (a domain whose
-- CHECK runs a function) must never be cast to as the acl owner.
SELECT acl._share_keys(NULL::int, 'sha_articles', 'title');
SELECT acl._share_keys(NULL::uuid, 'acl.shares', 'id') AS share_keys;
-- Keys of rows the share's rules hide (comment 11) must not come back.
SELECT sha_probe($$SELECT 11 = ANY (acl._share_keys(NULL::int, 'sha_comments', 'id'))$$) AS hidden_key_leaks;
-- A caller-chosen type must not run caller code as the acl owner.
SELECT sha_probe($$SELECT acl._share_keys(NULL::public.sha_dom, 'sha_articles', 'id')::text$$) IS NOT NULL AS probed;
SELECT is_called AS ran_as_superuser FROM sha_priv_seq;
SELECT acl._share_field('sha_articles', 'secret') AS secret_field, acl._share_field('sha_people', 'email') AS email_field;
SELECT acl._share_value('creator', '$CURRENT_USER', '{email}');
SELECT acl._share_value('creator', '$CURRENT_USER', '{token_hash}');
SELECT acl._share_values('role', '$CURRENT_USER', '{}') AS role_side_user;
-- The item check runs with the writer's own rights: there is no
-- privileged function to probe rows with.
SELECT count(*) AS item_check_functions FROM pg_proc
 WHERE pronamespace = 'acl'::regnamespace AND proname LIKE '%item_check%';
SELECT sha_probe($$SELECT acl._compile_for_share('sha_articles', '{}', 'creator')$$) AS compile_for_share;
-- No user beside a share; no shares made by a share.
SET acl.user_id = '5f100000-0000-4000-8000-000000000001';
SELECT count(*) FROM sha_articles;
RESET acl.user_id;
-- Writes where the public has none.
\set VERBOSITY terse
INSERT INTO acl.shares (collection, item) VALUES ('sha_articles', '1');
INSERT INTO sha_articles (id, title) VALUES (9, 'x');
INSERT INTO sha_articles (id, title) VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET title = 'x';
UPDATE sha_articles SET title = 'x' WHERE id = 1;
DELETE FROM sha_comments WHERE article = 1;
MERGE INTO sha_articles t USING (VALUES (1)) v(id) ON t.id = v.id WHEN MATCHED THEN UPDATE SET title = 'x';
DELETE FROM sha_other;
\set VERBOSITY default

-- Self-referencing keys, a cycle and a partitioned table stay bounded.
SET acl.token = :'node_token';
SELECT * FROM sha_nodes ORDER BY id;
SET acl.token = :'cyc_token';
SELECT * FROM sha_ca ORDER BY id;
SELECT * FROM sha_cb ORDER BY id;
SET acl.token = :'part_token';
SELECT * FROM sha_part ORDER BY id;
SELECT (SELECT count(*) FROM sha_part_lo) AS lo, (SELECT count(*) FROM sha_part_hi) AS hi;
SELECT * FROM sha_part_notes ORDER BY id;
SELECT count(*) FROM sha_articles;
RESET acl.token;

-- An expired session of a live share.
RESET ROLE;
UPDATE acl.share_sessions SET expires = '2021-01-01 00:00+00'
 WHERE token_hash = sha256(convert_to(:'old_token', 'UTF8'));
SET ROLE acl_reg_shadv_app;
SET acl.token = :'old_token';
SELECT count(*) FROM sha_articles;
RESET acl.token;

-- Generic plans switched between two shares, a user and the public, in one transaction.
SET plan_cache_mode = force_generic_plan;
PREPARE arts AS SELECT id, secret FROM sha_articles ORDER BY id;
PREPARE coms AS SELECT string_agg(id::text, ',' ORDER BY id) FROM sha_comments;
BEGIN;
SET LOCAL acl.token = :'one_token';
EXECUTE arts;
EXECUTE coms;
SET LOCAL acl.token = :'three_token';
EXECUTE arts;
EXECUTE coms;
RESET acl.token;
SET LOCAL acl.user_id = '5f100000-0000-4000-8000-000000000001';
EXECUTE arts;
EXECUTE coms;
RESET acl.user_id;
EXECUTE arts;
EXECUTE coms;
SET LOCAL acl.token = :'one_token';
EXECUTE arts;
COMMIT;
EXECUTE coms;
DEALLOCATE arts;
DEALLOCATE coms;
RESET plan_cache_mode;
-- Several key sets in one row: each must survive the calls after it.
SET acl.token = :'one_token';
SELECT acl._share_keys(NULL::int, 'sha_other', 'id') AS a, acl._share_keys(NULL::int, 'sha_comments', 'id') AS b,
       acl._share_keys(NULL::int, 'sha_articles', 'id') AS c, acl._share_keys(NULL::uuid, 'sha_people', 'id') AS d;
RESET acl.token;
RESET ROLE;

-- Nothing was written through the share sessions.
SELECT id, title, secret FROM sha_articles ORDER BY id;
SELECT count(*) AS comments, (SELECT count(*) FROM sha_other) AS others FROM sha_comments;

DROP VIEW sha_app_view;
DROP FUNCTION sha_sql_f(), sha_plpgsql_f(), sha_explain(text), sha_probe(text);
DROP DOMAIN sha_dom;
DROP FUNCTION sha_note_caller(int);
DROP SEQUENCE sha_priv_seq;
DELETE FROM acl.shares WHERE collection::text LIKE 'sha\_%';
DELETE FROM acl.permissions WHERE collection::text LIKE 'sha\_%'
    OR policy = '5f300000-0000-4000-8000-000000000001';
DELETE FROM acl.users WHERE id::text LIKE '5f100000-%';
DELETE FROM acl.policies WHERE id = '5f300000-0000-4000-8000-000000000001';
DELETE FROM acl.roles WHERE id::text LIKE '5f200000-%';
SELECT acl.sync() > 0 AS synced;
DROP TABLE sha_part_notes, sha_part, sha_replies, sha_comments, sha_articles, sha_people, sha_other,
    sha_nodes, sha_cb, sha_ca, sha_nopk;
REVOKE ALL ON acl.shares FROM acl_reg_shadv_app;
REVOKE CREATE ON SCHEMA public FROM acl_reg_shadv_app;
REVOKE SET ON PARAMETER acl.user_id FROM acl_reg_shadv_app;
DROP ROLE acl_reg_shadv_app;
