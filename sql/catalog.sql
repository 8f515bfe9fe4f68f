-- The catalog: its shape, its built-in rows, and every bad row it refuses.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE EXTENSION acl;

-- Not relocatable, schema acl, configuration tables dumped by pg_dump.
SELECT extname, extrelocatable, extnamespace::regnamespace,
       (SELECT array_agg(c::regclass::text ORDER BY c::regclass::text) FROM unnest(extconfig) c) AS config
  FROM pg_extension WHERE extname = 'acl';

-- Ordinary roles cannot read the catalog.
CREATE ROLE acl_reg_nobody NOLOGIN;
SET ROLE acl_reg_nobody;
SELECT count(*) FROM acl.users;
SELECT count(*) FROM acl.permissions;
RESET ROLE;

-- Built-in rows.
SELECT id, name FROM acl.roles ORDER BY name;
SELECT id, name, admin_access, app_access FROM acl.policies ORDER BY name;
SELECT role, "user", policy FROM acl.access ORDER BY policy;

-- Built-ins cannot be deleted or weakened; nothing changes.
DELETE FROM acl.roles WHERE name = 'Administrator';
DELETE FROM acl.policies WHERE name = 'Public';
DELETE FROM acl.policies WHERE name = 'Administrator';
UPDATE acl.policies SET admin_access = false WHERE name = 'Administrator';
DELETE FROM acl.access;
UPDATE acl.access SET policy = policy;
SELECT count(*) AS built_in_rows FROM acl.roles, acl.policies, acl.access;

-- A table to hold permissions.
CREATE TABLE public.notes (id int PRIMARY KEY, owner uuid, body text, secret text);
CREATE VIEW public.notes_view AS SELECT * FROM public.notes;
CREATE SEQUENCE public.some_seq;

INSERT INTO acl.policies (id, name) VALUES ('00000000-0000-4000-8000-0000000000a1', 'Editors');

-- Good permission rows.
INSERT INTO acl.permissions (policy, collection, action, permissions, fields)
VALUES ('00000000-0000-4000-8000-0000000000a1', 'notes', 'read',
        '{"owner": {"_eq": "$CURRENT_USER"}}', '{id,body}'),
       ('00000000-0000-4000-8000-0000000000a1', 'notes', 'create', NULL, '{*}'),
       ('00000000-0000-4000-8000-0000000000a1', 'notes', 'delete', '{}', NULL);
INSERT INTO acl.permissions (policy, collection, action, validation, presets, fields)
VALUES ('00000000-0000-4000-8000-0000000000a1', 'notes', 'update',
        '{"_and": [{"body": {"_nempty": true}}, {"_or": [{"id": {"_gt": 0}}, {"id": {"_null": true}}]}]}',
        '{"owner": "$CURRENT_USER"}', '{body}');
SELECT collection, action, fields FROM acl.permissions ORDER BY id;

-- Bad permission rows: each refused, nothing stored.
INSERT INTO acl.permissions (policy, collection, action) VALUES ('00000000-0000-4000-8000-0000000000a1', 'notes', 'destroy');
INSERT INTO acl.permissions (policy, collection, action) VALUES ('00000000-0000-4000-8000-0000000000a1', 'notes', NULL);
INSERT INTO acl.permissions (policy, collection, action) VALUES ('00000000-0000-4000-8000-0000000000a1', 'no_such_table', 'read');
INSERT INTO acl.permissions (policy, collection, action) VALUES ('00000000-0000-4000-8000-0000000000a1', 'notes_view', 'read');
INSERT INTO acl.permissions (policy, collection, action) VALUES ('00000000-0000-4000-8000-0000000000a1', 'some_seq', 'read');
INSERT INTO acl.permissions (policy, collection, action, fields) VALUES ('00000000-0000-4000-8000-0000000000a1', 'notes', 'read', '{id,nope}');
INSERT INTO acl.permissions (policy, collection, action, fields) VALUES ('00000000-0000-4000-8000-0000000000a1', 'notes', 'read', ARRAY['id', NULL]);
INSERT INTO acl.permissions (policy, collection, action, permissions) VALUES ('00000000-0000-4000-8000-0000000000a1', 'notes', 'read', '[1,2]');
INSERT INTO acl.permissions (policy, collection, action, permissions) VALUES ('00000000-0000-4000-8000-0000000000a1', 'notes', 'read', '"owner"');
INSERT INTO acl.permissions (policy, collection, action, permissions) VALUES ('00000000-0000-4000-8000-0000000000a1', 'notes', 'read', '{"_and": {"id": 1}}');
INSERT INTO acl.permissions (policy, collection, action, permissions) VALUES ('00000000-0000-4000-8000-0000000000a1', 'notes', 'read', '{"_or": [{"id": 1}, 5]}');
INSERT INTO acl.permissions (policy, collection, action, permissions) VALUES ('00000000-0000-4000-8000-0000000000a1', 'notes', 'read', '{"_and": [{"_or": [{"owner": {"": 1}}]}]}');
INSERT INTO acl.permissions (policy, collection, action, validation) VALUES ('00000000-0000-4000-8000-0000000000a1', 'notes', 'create', '{"body": {"_and": 3}}');
INSERT INTO acl.permissions (policy, collection, action, presets) VALUES ('00000000-0000-4000-8000-0000000000a1', 'notes', 'create', '["owner"]');
INSERT INTO acl.permissions (policy, collection, action, validation) VALUES ('00000000-0000-4000-8000-0000000000a1', 'notes', 'read', '{"id": {"_gt": 1}}');
INSERT INTO acl.permissions (policy, collection, action, presets) VALUES ('00000000-0000-4000-8000-0000000000a1', 'notes', 'delete', '{"owner": null}');
INSERT INTO acl.permissions (policy, collection, action) VALUES ('00000000-0000-4000-8000-0000000000ff', 'notes', 'read');
UPDATE acl.permissions SET fields = '{ghost}' WHERE action = 'read';
SELECT count(*) AS permissions_after_bad_input FROM acl.permissions;

-- Deep nesting is bounded by the stack, not by a crash.
DO $$
DECLARE
    rule text := '{"id": {"_eq": 1}}';
BEGIN
    FOR i IN 1..200 LOOP
        rule := '{"_and": [' || rule || ']}';
    END LOOP;
    INSERT INTO acl.permissions (policy, collection, action, permissions)
    VALUES ('00000000-0000-4000-8000-0000000000a1', 'notes', 'share', rule::jsonb);
    RAISE NOTICE 'a rule nested 200 deep is accepted';
END
$$;
SET max_stack_depth = '200kB';
DO $$
DECLARE
    rule text := '{"id": {"_eq": 1}}';
BEGIN
    FOR i IN 1..20000 LOOP
        rule := '{"_and": [' || rule || ']}';
    END LOOP;
    INSERT INTO acl.permissions (policy, collection, action, permissions)
    VALUES ('00000000-0000-4000-8000-0000000000a1', 'notes', 'share', rule::jsonb);
EXCEPTION WHEN statement_too_complex OR program_limit_exceeded THEN
    RAISE NOTICE 'a rule nested 20000 deep is refused: %', SQLERRM;
END
$$;
RESET max_stack_depth;

-- Roles: a tree; cycles refused.
INSERT INTO acl.roles (id, name) VALUES
    ('00000000-0000-4000-8000-000000000001', 'Member'),
    ('00000000-0000-4000-8000-000000000002', 'Patient'),
    ('00000000-0000-4000-8000-000000000003', 'Flagged patient');
UPDATE acl.roles SET parent = '00000000-0000-4000-8000-000000000001' WHERE name = 'Patient';
UPDATE acl.roles SET parent = '00000000-0000-4000-8000-000000000002' WHERE name = 'Flagged patient';
UPDATE acl.roles SET parent = id WHERE name = 'Member';
UPDATE acl.roles SET parent = '00000000-0000-4000-8000-000000000003' WHERE name = 'Member';
INSERT INTO acl.roles (id, name, parent) VALUES ('00000000-0000-4000-8000-000000000009', 'Orphan', '00000000-0000-4000-8000-0000000000ee');
SELECT name, (SELECT p.name FROM acl.roles p WHERE p.id = r.parent) AS parent
  FROM acl.roles r ORDER BY name;

-- Policies: ip_access validated (spec case 19).
INSERT INTO acl.policies (name, ip_access) VALUES ('Office', '{10.0.0.1-10.0.0.9,::1,192.168.0.0/24,192.168.1.0/22,2001:db8::/32,10.1.1.1}');
INSERT INTO acl.policies (name, ip_access) VALUES ('Wildcard', '{10.0.0.*}');
INSERT INTO acl.policies (name, ip_access) VALUES ('Netmask', '{10.0.0.0/255.0.0.0}');
INSERT INTO acl.policies (name, ip_access) VALUES ('Backwards', '{10.0.0.9-10.0.0.1}');
INSERT INTO acl.policies (name, ip_access) VALUES ('Mixed', '{10.0.0.1-::1}');
INSERT INTO acl.policies (name, ip_access) VALUES ('Empty entry', '{""}');
INSERT INTO acl.policies (name, ip_access) VALUES ('Null entry', ARRAY[NULL]::text[]);
INSERT INTO acl.policies (name, ip_access) VALUES ('Host name', '{localhost}');
INSERT INTO acl.policies (name, ip_access) VALUES ('Range of blocks', '{10.0.0.0/8-11.0.0.0/8}');
SELECT name, ip_access FROM acl.policies WHERE name NOT IN ('Administrator', 'Public') ORDER BY name;

-- Users: status, email, token hash.
INSERT INTO acl.users (id, email, role) VALUES ('00000000-0000-4000-8000-000000000101', 'pat@example.org', '00000000-0000-4000-8000-000000000002');
SELECT status, date_created IS NOT NULL AS has_created, date_updated FROM acl.users;
INSERT INTO acl.users (email, status) VALUES ('ghost@example.org', 'deleted');
INSERT INTO acl.users (email) VALUES ('pat@example.org');
UPDATE acl.users SET token_hash = 'plain-token'::bytea;
UPDATE acl.users SET first_name = 'Pat';
SELECT first_name, status, date_updated IS NOT NULL AS has_updated FROM acl.users;

-- DBAs may add columns to users (reachable later as $CURRENT_USER.department).
ALTER TABLE acl.users ADD COLUMN department text;
UPDATE acl.users SET department = 'north';

-- Access: role xor user xor public.
INSERT INTO acl.access (role, "user", policy) VALUES ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000101', '00000000-0000-4000-8000-0000000000a1');
INSERT INTO acl.access (role, policy) VALUES ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-0000000000a1');
INSERT INTO acl.access ("user", policy) VALUES ('00000000-0000-4000-8000-000000000101', '00000000-0000-4000-8000-0000000000a1');
SELECT count(*) AS access_rows FROM acl.access;

-- Shares: of an existing row, by its one-column primary key.
INSERT INTO public.notes (id) VALUES (1), (2);
INSERT INTO acl.shares (collection, item) VALUES ('notes', '3');
INSERT INTO acl.shares (collection, item) VALUES ('notes', 'one');
INSERT INTO acl.shares (collection, item, password) VALUES ('notes', '1', '');
INSERT INTO acl.shares (id, collection, item, password) VALUES ('00000000-0000-4000-8000-0000000005a1', 'notes', '2', 'correct horse');
SELECT password LIKE 'SCRAM-SHA-256$4096:%' AS hashed, password NOT LIKE '%correct horse%' AS no_clear_text FROM acl.shares;
UPDATE acl.shares SET name = 'renamed';
SELECT count(DISTINCT password) AS verifier_kept_on_update FROM acl.shares;
INSERT INTO acl.shares (collection, item) VALUES ('notes_view', '1');
INSERT INTO acl.shares (collection, item, date_start, date_end) VALUES ('notes', '1', '2026-01-02 10:00+00', '2026-01-01 10:00+00');
INSERT INTO acl.shares (collection, item, max_uses) VALUES ('notes', '1', -1);
INSERT INTO acl.shares (collection, item, max_uses) VALUES ('notes', '1', 3);
SELECT collection, item, times_used, max_uses FROM acl.shares ORDER BY item;

-- Deleting a role suspends its users and re-parents its children (spec §1.8).
DELETE FROM acl.roles WHERE name = 'Patient';
SELECT email, status, role FROM acl.users;
SELECT name, parent FROM acl.roles WHERE name = 'Flagged patient';
SELECT count(*) AS access_rows_left FROM acl.access WHERE role = '00000000-0000-4000-8000-000000000002';

-- fields are checked when written: a later rename does not block other edits.
ALTER TABLE public.notes RENAME COLUMN body TO content;
UPDATE acl.permissions SET permissions = '{"id": {"_gt": 0}}' WHERE action = 'read' AND collection = 'notes'::regclass;
UPDATE acl.permissions SET fields = '{id,body,secret}' WHERE action = 'read' AND collection = 'notes'::regclass;
ALTER TABLE public.notes RENAME COLUMN content TO body;
DROP ROLE acl_reg_nobody;

-- Once no share permission or share is left, a sync drops the acl_share policies.
DELETE FROM acl.permissions WHERE action = 'share';
DELETE FROM acl.shares;
SELECT acl.sync() > 0 AS synced;
SELECT count(*) AS share_policies_left FROM pg_policy WHERE polname = 'acl_share';
