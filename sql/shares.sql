-- Shares (spec §8, cases 103-106): creating a share needs a share
-- permission matching the item and create on acl.shares; acl.share_login()
-- checks dates, uses and password; a share session reads only the shared
-- item and rows reachable from it, through the intersection of the share
-- role's and the creator's read permissions; for other actions it is the
-- public principal.
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE ROLE acl_reg_share_app NOLOGIN;
GRANT SET ON PARAMETER acl.user_id TO acl_reg_share_app;
CREATE TABLE sh_people (id uuid PRIMARY KEY, name text, email text);
CREATE TABLE sh_articles (
    id     int PRIMARY KEY,
    title  text,
    status text,
    secret text,
    author uuid REFERENCES sh_people (id)
);
CREATE TABLE sh_comments (
    id      int PRIMARY KEY,
    article int REFERENCES sh_articles (id),
    body    text,
    hidden  boolean NOT NULL DEFAULT false,
    author  uuid
);
CREATE TABLE sh_replies (id int PRIMARY KEY, comment int REFERENCES sh_comments (id), body text, author uuid);
CREATE TABLE sh_other (id int PRIMARY KEY, body text);
GRANT SELECT, INSERT, UPDATE, DELETE ON sh_people, sh_articles, sh_comments, sh_replies, sh_other
    TO acl_reg_share_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON acl.shares TO acl_reg_share_app;

INSERT INTO sh_people VALUES
    ('5e000000-0000-4000-8000-000000000001', 'Ada', 'ada@example.org'),
    ('5e000000-0000-4000-8000-000000000002', 'Bob', 'bob@example.org');
INSERT INTO sh_articles VALUES
    (1, 'Published one', 'published', 's1', '5e000000-0000-4000-8000-000000000001'),
    (2, 'Draft two', 'draft', 's2', '5e000000-0000-4000-8000-000000000002'),
    (3, 'Published three', 'published', 's3', '5e000000-0000-4000-8000-000000000002');
INSERT INTO sh_comments VALUES
    (10, 1, 'on one', false, '5e100000-0000-4000-8000-000000000001'),
    (11, 1, 'hidden on one', true, '5e100000-0000-4000-8000-000000000001'),
    (12, 3, 'on three', false, '5e100000-0000-4000-8000-000000000001');
INSERT INTO sh_replies VALUES
    (100, 10, 'reply by the editor', '5e100000-0000-4000-8000-000000000001'),
    (101, 10, 'reply by someone else', '5e100000-0000-4000-8000-000000000002'),
    (102, 12, 'reply on three', '5e100000-0000-4000-8000-000000000001');
INSERT INTO sh_other VALUES (1, 'public note');

INSERT INTO acl.roles (id, name) VALUES
    ('5e200000-0000-4000-8000-000000000001', 'Share editor'),
    ('5e200000-0000-4000-8000-000000000002', 'Share viewer');
INSERT INTO acl.policies (id, name) VALUES
    ('5e300000-0000-4000-8000-000000000001', 'share editors'),
    ('5e300000-0000-4000-8000-000000000002', 'share viewers'),
    ('5e300000-0000-4000-8000-000000000003', 'sharers without create');
INSERT INTO acl.users (id, email, role) VALUES
    ('5e100000-0000-4000-8000-000000000001', 'editor@example.org', '5e200000-0000-4000-8000-000000000001'),
    ('5e100000-0000-4000-8000-000000000002', 'nocreate@example.org', NULL);
INSERT INTO acl.access (role, "user", policy, sort) VALUES
    ('5e200000-0000-4000-8000-000000000001', NULL, '5e300000-0000-4000-8000-000000000001', 1),
    ('5e200000-0000-4000-8000-000000000002', NULL, '5e300000-0000-4000-8000-000000000002', 1),
    (NULL, '5e100000-0000-4000-8000-000000000002', '5e300000-0000-4000-8000-000000000003', 1);
SELECT setval(pg_get_serial_sequence('acl.permissions', 'id'), 2000) AS first_id_minus_one;
INSERT INTO acl.permissions (policy, collection, action, permissions, fields) VALUES
    -- The editor reads everything but hidden comments, and other people's replies.
    ('5e300000-0000-4000-8000-000000000001', 'sh_articles', 'read', NULL, '{*}'),
    ('5e300000-0000-4000-8000-000000000001', 'sh_comments', 'read', '{"hidden": {"_eq": false}}', '{*}'),
    ('5e300000-0000-4000-8000-000000000001', 'sh_replies', 'read', '{"author": {"_eq": "$CURRENT_USER"}}', '{*}'),
    ('5e300000-0000-4000-8000-000000000001', 'sh_people', 'read', NULL, '{*}'),
    ('5e300000-0000-4000-8000-000000000001', 'sh_other', 'read', NULL, '{*}'),
    ('5e300000-0000-4000-8000-000000000001', 'sh_articles', 'share', '{"status": {"_eq": "published"}}', NULL),
    ('5e300000-0000-4000-8000-000000000001', 'acl.shares', 'create', NULL, '{id,collection,item,role,password,max_uses,date_end,user_created,times_used}'),
    ('5e300000-0000-4000-8000-000000000001', 'acl.shares', 'update', '{"user_created": {"_eq": "$CURRENT_USER"}}', '{name,item,times_used,date_end}'),
    ('5e300000-0000-4000-8000-000000000001', 'acl.shares', 'read', '{"user_created": {"_eq": "$CURRENT_USER"}}', '{*}'),
    -- A viewer (a share role) sees no secrets and no e-mail addresses.
    ('5e300000-0000-4000-8000-000000000002', 'sh_articles', 'read', NULL, '{id,title,status,author}'),
    ('5e300000-0000-4000-8000-000000000002', 'sh_comments', 'read', NULL, '{id,article,body}'),
    ('5e300000-0000-4000-8000-000000000002', 'sh_replies', 'read', NULL, '{*}'),
    ('5e300000-0000-4000-8000-000000000002', 'sh_people', 'read', NULL, '{id,name}'),
    -- May share, but not create shares.
    ('5e300000-0000-4000-8000-000000000003', 'sh_articles', 'share', NULL, NULL),
    -- The public: published articles' titles, a note table, and creating notes.
    ('abf8a154-5b1c-4a46-ac9c-7300570f4f17', 'sh_articles', 'read', '{"status": {"_eq": "published"}}', '{id,title}'),
    ('abf8a154-5b1c-4a46-ac9c-7300570f4f17', 'sh_other', 'read', NULL, '{*}'),
    ('abf8a154-5b1c-4a46-ac9c-7300570f4f17', 'sh_other', 'create', NULL, '{*}');
-- The first share permission put every managed table under acl_share.
SELECT polrelid::regclass AS table_with_share_policy FROM pg_policy
 WHERE polname = 'acl_share' AND polrelid::regclass::text LIKE 'sh\_%' ORDER BY 1;

SET ROLE acl_reg_share_app;
SET acl.user_id = '5e100000-0000-4000-8000-000000000001';

-- Case 103: the share rule must match the item.
INSERT INTO acl.shares (collection, item) VALUES ('sh_articles', '2');
-- A published item: created, as the editor, whatever the statement says.
INSERT INTO acl.shares (id, collection, item, user_created, times_used, max_uses, password)
VALUES ('5e400000-0000-4000-8000-000000000001', 'sh_articles', '1', '5e100000-0000-4000-8000-000000000002', 7, 2, 'pw')
RETURNING collection, item, user_created, times_used, max_uses, password LIKE 'SCRAM-SHA-256$%' AS hashed;
-- Only the user's own role, or none.
INSERT INTO acl.shares (collection, item, role) VALUES ('sh_articles', '3', '5e200000-0000-4000-8000-000000000002');
-- The user may not forge the creator or the use count afterwards.
UPDATE acl.shares SET times_used = 5 WHERE id = '5e400000-0000-4000-8000-000000000001';
-- Nor move the share to an item the share rule does not match.
UPDATE acl.shares SET item = '2' WHERE id = '5e400000-0000-4000-8000-000000000001';
-- Without a create permission on acl.shares: refused even for a matching item.
SET acl.user_id = '5e100000-0000-4000-8000-000000000002';
INSERT INTO acl.shares (collection, item) VALUES ('sh_articles', '1');
-- The public principal cannot share.
RESET acl.user_id;
INSERT INTO acl.shares (collection, item) VALUES ('sh_articles', '1');
RESET ROLE;

-- DBA-made shares: with the viewer role, with a password, used up, expired.
INSERT INTO acl.shares (id, collection, item, role, user_created, password, max_uses, date_end) VALUES
    ('5e400000-0000-4000-8000-000000000002', 'sh_articles', '1', '5e200000-0000-4000-8000-000000000002',
     '5e100000-0000-4000-8000-000000000001', 'open sesame', NULL, NULL),
    ('5e400000-0000-4000-8000-000000000003', 'sh_articles', '3', NULL,
     '5e100000-0000-4000-8000-000000000001', NULL, 1, NULL),
    ('5e400000-0000-4000-8000-000000000004', 'sh_articles', '3', NULL,
     '5e100000-0000-4000-8000-000000000001', NULL, NULL, '2020-01-01 00:00+00'),
    ('5e400000-0000-4000-8000-000000000005', 'sh_articles', '3', NULL, NULL, NULL, NULL, NULL);

SET ROLE acl_reg_share_app;
RESET acl.user_id;
-- Case 104: wrong or missing password, unknown share, expired, used up, no creator.
SELECT acl.share_login('5e400000-0000-4000-8000-000000000002', 'wrong');
SELECT acl.share_login('5e400000-0000-4000-8000-000000000002');
SELECT acl.share_login('5e400000-0000-4000-8000-0000000000ff');
SELECT acl.share_login('5e400000-0000-4000-8000-000000000004');
SELECT acl.share_login('5e400000-0000-4000-8000-000000000003') LIKE 'share.%' AS first_login;
SELECT acl.share_login('5e400000-0000-4000-8000-000000000003');
SELECT acl.share_login('5e400000-0000-4000-8000-000000000005');
RESET ROLE;
SELECT id, times_used FROM acl.shares WHERE id IN ('5e400000-0000-4000-8000-000000000002',
                                                   '5e400000-0000-4000-8000-000000000003') ORDER BY id;
SET ROLE acl_reg_share_app;

-- Case 105: the editor's share of article 1, role none (the public).
SELECT acl.share_login('5e400000-0000-4000-8000-000000000001', 'pw') AS token \gset public_
SELECT acl.share_login('5e400000-0000-4000-8000-000000000002', 'open sesame') AS token \gset viewer_
SET acl.token = :'public_token';
SELECT acl.current_share(), acl.current_user_id(), acl.is_admin();
-- The item only; the public grants {id,title}, the editor *: the intersection.
SELECT * FROM sh_articles ORDER BY id;
-- Reachable rows: no public read on comments, replies or people, so none.
SELECT count(*) AS comments FROM sh_comments;
-- Not reachable, though the public reads it: a share reads only through the share.
SELECT count(*) AS others FROM sh_other;

-- The viewer share of article 1: role side = viewers, creator = editor.
SET acl.token = :'viewer_token';
SELECT * FROM sh_articles ORDER BY id;
-- One-to-many: comments of article 1, minus the hidden one (editor's rule).
SELECT * FROM sh_comments ORDER BY id;
-- Two hops: replies to those comments, only the editor's own ($CURRENT_USER is the creator).
SELECT * FROM sh_replies ORDER BY id;
-- Many-to-one: the article's author, without the e-mail the viewer may not read.
SELECT * FROM sh_people ORDER BY id;
-- Whole-row and JSON paths see the same masks.
SELECT row_to_json(a) FROM sh_articles a;
SELECT a.title, c.body FROM sh_articles a JOIN sh_comments c ON c.article = a.id ORDER BY c.id;

-- Case 106: other actions are the public's.
INSERT INTO sh_other VALUES (2, 'written through a share');
INSERT INTO sh_comments (id, article, body) VALUES (13, 1, 'not allowed');
UPDATE sh_articles SET title = 'changed';
-- No identity to combine with.
SET acl.user_id = '5e100000-0000-4000-8000-000000000001';
SELECT count(*) FROM sh_articles;
RESET acl.user_id;

-- Prepared statements reused across a share, a user and the public.
PREPARE titles AS SELECT id, title, secret FROM sh_articles ORDER BY id;
PREPARE comment_count AS SELECT count(*) FROM sh_comments;
EXECUTE titles;
EXECUTE comment_count;
RESET acl.token;
SET acl.user_id = '5e100000-0000-4000-8000-000000000001';
EXECUTE titles;
EXECUTE comment_count;
RESET acl.user_id;
EXECUTE titles;
EXECUTE comment_count;
SET plan_cache_mode = force_generic_plan;
SET acl.token = :'viewer_token';
EXECUTE titles;
EXECUTE comment_count;
SET acl.token = :'public_token';
EXECUTE titles;
RESET acl.token;
EXECUTE titles;
RESET plan_cache_mode;
DEALLOCATE titles;
DEALLOCATE comment_count;
RESET ROLE;

-- The editor reads back their own shares only (read permission on acl.shares).
SET ROLE acl_reg_share_app;
SET acl.user_id = '5e100000-0000-4000-8000-000000000001';
SELECT id, item, times_used FROM acl.shares ORDER BY id;
RESET acl.user_id;
RESET ROLE;

-- A share ends with its dates, its session, its creator or its row.
UPDATE acl.shares SET date_end = '2021-06-01 12:00+00' WHERE id = '5e400000-0000-4000-8000-000000000002';
SET ROLE acl_reg_share_app;
SET acl.token = :'viewer_token';
SELECT count(*) FROM sh_articles;
RESET acl.token;
RESET ROLE;
UPDATE acl.shares SET date_end = NULL WHERE id = '5e400000-0000-4000-8000-000000000002';
UPDATE acl.share_sessions SET expires = '2021-06-01 12:00+00'
 WHERE share = '5e400000-0000-4000-8000-000000000002';
SET ROLE acl_reg_share_app;
SET acl.token = :'viewer_token';
SELECT count(*) FROM sh_articles;
SET acl.token = :'public_token';
SELECT count(*) FROM sh_articles;
RESET ROLE;
UPDATE acl.users SET status = 'suspended' WHERE id = '5e100000-0000-4000-8000-000000000001';
SET ROLE acl_reg_share_app;
SELECT count(*) FROM sh_articles;
RESET ROLE;
UPDATE acl.users SET status = 'active' WHERE id = '5e100000-0000-4000-8000-000000000001';
DELETE FROM acl.shares WHERE id = '5e400000-0000-4000-8000-000000000001';
SET ROLE acl_reg_share_app;
SELECT count(*) FROM sh_articles;
RESET acl.token;
-- A static token cannot pose as a share session.
RESET ROLE;
SELECT acl.set_user_token('5e100000-0000-4000-8000-000000000001', 'share.not-a-static-token');

-- An administrator creator and role: the share's reach alone, all columns.
INSERT INTO acl.users (id, email) VALUES ('5e100000-0000-4000-8000-000000000009', 'share-admin@example.org');
INSERT INTO acl.access ("user", policy, sort)
VALUES ('5e100000-0000-4000-8000-000000000009', '7a0e3c57-5d0e-4a53-9b8e-5f0d6a1b0002', 1);
INSERT INTO acl.shares (id, collection, item, role, user_created) VALUES
    ('5e400000-0000-4000-8000-000000000006', 'sh_comments', '12', '7a0e3c57-5d0e-4a53-9b8e-5f0d6a1b0001',
     '5e100000-0000-4000-8000-000000000009');
SET ROLE acl_reg_share_app;
SELECT acl.share_login('5e400000-0000-4000-8000-000000000006') AS token \gset admin_
SET acl.token = :'admin_token';
SELECT * FROM sh_comments ORDER BY id;
SELECT * FROM sh_replies ORDER BY id;
SELECT id, title, secret FROM sh_articles ORDER BY id;
SELECT count(*) AS other_articles_comments FROM sh_comments WHERE article <> 3;
RESET acl.token;
RESET ROLE;

DELETE FROM acl.permissions WHERE collection::text LIKE 'sh\_%' OR collection = 'acl.shares'::regclass;
DELETE FROM acl.shares;
SELECT acl.sync() > 0 AS synced;
DROP TABLE sh_replies, sh_comments, sh_articles, sh_people, sh_other;
REVOKE ALL ON acl.shares FROM acl_reg_share_app;
REVOKE SET ON PARAMETER acl.user_id FROM acl_reg_share_app;
DROP ROLE acl_reg_share_app;
