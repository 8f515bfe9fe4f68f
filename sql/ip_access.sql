-- ip_access: a policy whose list does not match the client address is
-- dropped (spec §2.5); with no client address (Unix socket) restricted
-- policies are dropped, for the flags too.
\set VERBOSITY default
\set SHOW_CONTEXT never

-- Matching rules, one entry kind at a time.
SELECT entry, client, acl._ip_allowed(ARRAY[entry], client::inet) AS allowed
  FROM (VALUES ('127.0.0.1', '127.0.0.1'), ('127.0.0.1', '127.0.0.2'),
               ('127.0.0.0/8', '127.200.1.1'), ('192.168.1.0/22', '192.168.1.25'),
               ('192.168.1.0/22', '192.168.4.1'), ('10.0.0.1-10.0.0.9', '10.0.0.9'),
               ('10.0.0.1-10.0.0.9', '10.0.0.10'), ('::1', '::1'), ('::1', '127.0.0.1'),
               ('2001:db8::/32', '2001:db8:1::5'), ('2001:db8::1-2001:db8::ff', '2001:db8::80'),
               ('10.0.0.0/8', '::ffff:10.0.0.1')) AS t(entry, client);
SELECT acl._ip_allowed(NULL, '10.0.0.1') AS null_list, acl._ip_allowed('{}', '10.0.0.1') AS empty_list,
       acl._ip_allowed('{}', NULL) AS empty_list_no_client, acl._ip_allowed('{10.0.0.1}', NULL) AS restricted_no_client,
       acl._ip_allowed('{10.0.0.1,127.0.0.1}', '127.0.0.1') AS any_entry_matches;

INSERT INTO acl.roles (id, name) VALUES ('40000000-0000-4000-8000-000000000001', 'Remote worker');
INSERT INTO acl.policies (id, name, ip_access, admin_access) VALUES
    ('40000000-0000-4000-8000-0000000000a1', 'anywhere', NULL, false),
    ('40000000-0000-4000-8000-0000000000a2', 'loopback only', '{127.0.0.1}', false),
    ('40000000-0000-4000-8000-0000000000a3', 'loopback range', '{127.0.0.0-127.0.0.255}', false),
    ('40000000-0000-4000-8000-0000000000a4', 'loopback block', '{127.0.0.0/8}', false),
    ('40000000-0000-4000-8000-0000000000a5', 'office only', '{10.0.0.0/8,192.168.0.0/16}', false),
    ('40000000-0000-4000-8000-0000000000a6', 'ipv6 loopback only', '{::1}', false),
    ('40000000-0000-4000-8000-0000000000a7', 'admin from the office', '{10.0.0.0/8}', true),
    ('40000000-0000-4000-8000-0000000000a8', 'admin from loopback', '{127.0.0.1}', true),
    ('40000000-0000-4000-8000-0000000000a9', 'no restriction, empty list', '{}', false);
INSERT INTO acl.access (role, policy, sort)
SELECT '40000000-0000-4000-8000-000000000001', id, row_number() OVER (ORDER BY id)
  FROM acl.policies WHERE id::text LIKE '40000000-%';
INSERT INTO acl.users (id, email, role) VALUES
    ('40000000-0000-4000-8000-000000000101', 'remote@example.org', '40000000-0000-4000-8000-000000000001');

CREATE FUNCTION effective() RETURNS TABLE (client inet, policies text[], admin boolean)
LANGUAGE sql AS $$
    SELECT inet_client_addr(),
           (SELECT array_agg(p.name::text ORDER BY o)
              FROM unnest(acl.current_policies()) WITH ORDINALITY u(id, o)
              JOIN acl.policies p ON p.id = u.id),
           acl.is_admin()
$$;

-- Over the Unix socket: no client address, only unrestricted policies.
SET acl.user_id = '40000000-0000-4000-8000-000000000101';
SELECT * FROM effective();

-- Over TCP from 127.0.0.1: loopback policies apply, office ones do not;
-- admin only through the loopback-restricted admin policy.
\c - - 127.0.0.1
SET acl.user_id = '40000000-0000-4000-8000-000000000101';
SELECT * FROM effective();
-- Narrowing the admin policy to the office drops admin at once.
UPDATE acl.policies SET ip_access = '{10.0.0.0/8}' WHERE name = 'admin from loopback';
SELECT * FROM effective();
-- A user whose only policies are restricted elsewhere keeps nothing.
UPDATE acl.access SET policy = '40000000-0000-4000-8000-0000000000a5'
 WHERE role = '40000000-0000-4000-8000-000000000001';
SELECT * FROM effective();
-- The public principal is filtered the same way.
RESET acl.user_id;
UPDATE acl.policies SET ip_access = '{127.0.0.1}' WHERE name = 'Public';
SELECT * FROM effective();
UPDATE acl.policies SET ip_access = '{10.0.0.1}' WHERE name = 'Public';
SELECT * FROM effective();
UPDATE acl.policies SET ip_access = NULL WHERE name = 'Public';
\c

-- Identity InitPlans run in the leader of a parallel plan, in parallel mode;
-- ip_access matching must work there too.
\c - - 127.0.0.1
CREATE TABLE parallel_probe AS SELECT g AS id FROM generate_series(1, 50000) g;
ANALYZE parallel_probe;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
UPDATE acl.access SET policy = '40000000-0000-4000-8000-0000000000a2'
 WHERE role = '40000000-0000-4000-8000-000000000001' AND sort = 1;
SET acl.user_id = '40000000-0000-4000-8000-000000000101';
EXPLAIN (COSTS OFF) SELECT count(*) FROM parallel_probe WHERE id > cardinality((SELECT acl.current_policies()));
SELECT count(*) FROM parallel_probe WHERE id > cardinality((SELECT acl.current_policies()));
RESET acl.user_id;
DROP TABLE parallel_probe;
\c
