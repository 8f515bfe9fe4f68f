-- Identity: the protected acl.user_id setting, the current_* functions,
-- statuses, and identity read at run time (prepared statements reused
-- across end users).
\set VERBOSITY default
\set SHOW_CONTEXT never

-- Fixtures: Member <- Patient <- Flagged patient, one policy each.
INSERT INTO acl.roles (id, name) VALUES ('10000000-0000-4000-8000-000000000001', 'Member');
INSERT INTO acl.roles (id, name, parent) VALUES
    ('10000000-0000-4000-8000-000000000002', 'Patient', '10000000-0000-4000-8000-000000000001');
INSERT INTO acl.roles (id, name, parent) VALUES
    ('10000000-0000-4000-8000-000000000003', 'Flagged patient', '10000000-0000-4000-8000-000000000002');
INSERT INTO acl.policies (id, name, app_access) VALUES
    ('20000000-0000-4000-8000-000000000001', 'member policy', true),
    ('20000000-0000-4000-8000-000000000002', 'patient policy', false),
    ('20000000-0000-4000-8000-000000000003', 'flagged policy', false),
    ('20000000-0000-4000-8000-000000000004', 'personal policy', false),
    ('20000000-0000-4000-8000-000000000005', 'public extra', false);
INSERT INTO acl.access (role, "user", policy, sort) VALUES
    ('10000000-0000-4000-8000-000000000003', NULL, '20000000-0000-4000-8000-000000000003', 1),
    ('10000000-0000-4000-8000-000000000001', NULL, '20000000-0000-4000-8000-000000000001', 1),
    ('10000000-0000-4000-8000-000000000002', NULL, '20000000-0000-4000-8000-000000000002', 1),
    (NULL, NULL, '20000000-0000-4000-8000-000000000005', 2);
INSERT INTO acl.users (id, email, role, status) VALUES
    ('30000000-0000-4000-8000-000000000001', 'flagged@example.org', '10000000-0000-4000-8000-000000000003', 'active'),
    ('30000000-0000-4000-8000-000000000002', 'roleless@example.org', NULL, 'active'),
    ('30000000-0000-4000-8000-000000000003', 'admin@example.org', '7a0e3c57-5d0e-4a53-9b8e-5f0d6a1b0001', 'active'),
    ('30000000-0000-4000-8000-000000000004', 'suspended@example.org', '10000000-0000-4000-8000-000000000002', 'suspended'),
    ('30000000-0000-4000-8000-000000000005', 'draft@example.org', NULL, 'draft'),
    ('30000000-0000-4000-8000-000000000006', 'invited@example.org', NULL, 'invited'),
    ('30000000-0000-4000-8000-000000000007', 'unverified@example.org', NULL, 'unverified'),
    ('30000000-0000-4000-8000-000000000008', 'archived@example.org', NULL, 'archived');
INSERT INTO acl.access ("user", policy) VALUES
    ('30000000-0000-4000-8000-000000000002', '20000000-0000-4000-8000-000000000004'),
    ('30000000-0000-4000-8000-000000000001', '20000000-0000-4000-8000-000000000004');

-- Names make the arrays readable.
CREATE FUNCTION role_names(uuid[]) RETURNS text[] LANGUAGE sql STABLE AS
$$ SELECT array_agg(r.name::text ORDER BY o) FROM unnest($1) WITH ORDINALITY u(id, o) JOIN acl.roles r ON r.id = u.id $$;
CREATE FUNCTION policy_names(uuid[]) RETURNS text[] LANGUAGE sql STABLE AS
$$ SELECT array_agg(p.name::text ORDER BY o) FROM unnest($1) WITH ORDINALITY u(id, o) JOIN acl.policies p ON p.id = u.id $$;
CREATE VIEW whoami AS
SELECT acl.current_user_id() AS user_id, role_names(acl.current_roles()) AS roles,
       policy_names(acl.current_policies()) AS policies,
       acl.is_admin() AS admin, acl.has_app_access() AS app;

-- The public principal: no identity set.
SELECT * FROM whoami;

-- A user in a three-level role tree, plus a policy attached to the user.
SET acl.user_id = '30000000-0000-4000-8000-000000000001';
SELECT * FROM whoami;
SELECT acl.current_role_id();
-- A role-less user: public policies plus their own (spec §2.3).
SET acl.user_id = '30000000-0000-4000-8000-000000000002';
SELECT * FROM whoami;
-- An administrator.
SET acl.user_id = '30000000-0000-4000-8000-000000000003';
SELECT * FROM whoami;

-- Users who are not active have no identity: 42501, never public.
\set VERBOSITY verbose
SET acl.user_id = '30000000-0000-4000-8000-000000000004';
SELECT acl.current_user_id();
\set VERBOSITY default
\set SHOW_CONTEXT never
SET acl.user_id = '30000000-0000-4000-8000-000000000005';
SELECT acl.current_policies();
SET acl.user_id = '30000000-0000-4000-8000-000000000006';
SELECT acl.is_admin();
SET acl.user_id = '30000000-0000-4000-8000-000000000007';
SELECT acl.current_roles();
SET acl.user_id = '30000000-0000-4000-8000-000000000008';
SELECT acl.has_app_access();
-- An id that names nobody.
SET acl.user_id = '30000000-0000-4000-8000-0000000000ff';
SELECT acl.current_role_id();
-- Reactivating the user restores the identity at once (cache dropped).
SET acl.user_id = '30000000-0000-4000-8000-000000000004';
UPDATE acl.users SET status = 'active' WHERE id = '30000000-0000-4000-8000-000000000004';
SELECT role_names(acl.current_roles());
RESET acl.user_id;

-- Malformed values are refused when set, and change nothing.
SET acl.user_id = 'not-a-uuid';
SET acl.user_id = '30000000-0000-4000-8000-00000000000';
SET acl.user_id = '{30000000-0000-4000-8000-000000000001}';
SET acl.user_id = '3000000-00000-4000-8000-000000000001';
SET acl.user_id = '3000000g-0000-4000-8000-000000000001';
SET acl.user_id = '30000000-0000-4000-8000-00000000000-';
SHOW acl.user_id;
-- Upper-case digits are the same uuid (the error names it as uuid_out does).
SET acl.user_id = '30000000-0000-4000-8000-0000000000AB';
SELECT acl.current_user_id();
SET acl.user_id = '300000000000400080000000000000001';
SET acl.user_id = '30000000000040008000000000000001';
SELECT acl.current_user_id();
RESET acl.user_id;
-- The prefix is reserved.
SET acl.current_user_name = 'x';
SELECT set_config('acl.anything', 'x', false);

-- The setting is privileged: an unprivileged role cannot set it, a role
-- granted SET ON PARAMETER can, and the value survives SET ROLE.
CREATE ROLE acl_reg_app NOLOGIN;
CREATE ROLE acl_reg_web NOLOGIN;
GRANT acl_reg_web TO acl_reg_app;
SET ROLE acl_reg_web;
SET acl.user_id = '30000000-0000-4000-8000-000000000001';
SELECT set_config('acl.user_id', '30000000-0000-4000-8000-000000000001', true);
SET acl.jwt_secret = 'a secret that is long enough to sign tokens with';
SHOW acl.jwt_secret;
SET acl.jwt_user_claim = 'uid';
SET acl.token = 'anyone may offer a token';
SELECT current_setting('acl.token');
RESET acl.token;
RESET ROLE;
GRANT SET ON PARAMETER acl.user_id TO acl_reg_app;
SET ROLE acl_reg_app;
BEGIN;
SELECT set_config('acl.user_id', '30000000-0000-4000-8000-000000000001', true);
SET LOCAL ROLE acl_reg_web;
SELECT acl.current_user_id(), acl.current_roles();
-- Still cannot change it after switching to the web role.
SET LOCAL acl.user_id = '30000000-0000-4000-8000-000000000003';
ROLLBACK;
-- Transaction-local values end with the transaction (safe behind poolers).
BEGIN;
SET LOCAL acl.user_id = '30000000-0000-4000-8000-000000000002';
SELECT acl.current_user_id();
COMMIT;
SELECT acl.current_user_id() IS NULL AS public_again;
-- Session-level SET also works.
SET acl.user_id = '30000000-0000-4000-8000-000000000002';
SELECT acl.current_user_id();
RESET acl.user_id;
RESET ROLE;
REVOKE SET ON PARAMETER acl.user_id FROM acl_reg_app;

-- Identity is read when a plan runs, never baked into it: one prepared
-- statement, reused across end users, custom and generic plans alike.
PREPARE who AS SELECT acl.current_user_id() AS user_id,
                      policy_names(acl.current_policies()) AS policies;
SET plan_cache_mode = force_generic_plan;
SET acl.user_id = '30000000-0000-4000-8000-000000000001';
EXECUTE who;
SET acl.user_id = '30000000-0000-4000-8000-000000000002';
EXECUTE who;
RESET acl.user_id;
EXECUTE who;
SET plan_cache_mode = auto;
DO $$
DECLARE
    users uuid[] := ARRAY['30000000-0000-4000-8000-000000000001',
                          '30000000-0000-4000-8000-000000000002',
                          '30000000-0000-4000-8000-000000000003']::uuid[];
    got uuid;
BEGIN
    -- More executions than the custom-plan threshold (5), alternating users.
    FOR i IN 1..12 LOOP
        PERFORM set_config('acl.user_id', users[1 + i % 3]::text, false);
        EXECUTE 'EXECUTE who' INTO got;
        IF got IS DISTINCT FROM users[1 + i % 3] THEN
            RAISE EXCEPTION 'execution % returned % for user %', i, got, users[1 + i % 3];
        END IF;
    END LOOP;
    RAISE NOTICE '12 executions across 3 users each saw their own identity';
END
$$;
SELECT generic_plans + custom_plans >= 13 AS reused FROM pg_prepared_statements WHERE name = 'who';
DEALLOCATE who;
RESET acl.user_id;

-- A value set before the library is loaded by a role that may not set it
-- is discarded when the library loads: identity is never spoofed through a
-- placeholder.
\c
SET ROLE acl_reg_web;
SET acl.user_id = '30000000-0000-4000-8000-000000000003';
SELECT acl.current_user_id() IS NULL AS spoof_discarded, acl.is_admin();
RESET ROLE;
\c
-- A superuser's placeholder value is kept.
SET acl.user_id = '30000000-0000-4000-8000-000000000003';
SELECT acl.current_user_id(), acl.is_admin();
RESET acl.user_id;

-- Changes applied by logical replication (replica mode, where ordinary
-- triggers are silent) still drop cached access.
SET acl.user_id = '30000000-0000-4000-8000-000000000002';
SELECT policy_names(acl.current_policies());
SET session_replication_role = replica;
DELETE FROM acl.access WHERE "user" = '30000000-0000-4000-8000-000000000002';
RESET session_replication_role;
SELECT policy_names(acl.current_policies());
INSERT INTO acl.access ("user", policy) VALUES
    ('30000000-0000-4000-8000-000000000002', '20000000-0000-4000-8000-000000000004');
RESET acl.user_id;

-- Users of one role share what the role reaches; a user's own attachment
-- adds to theirs alone, in whichever order the backend meets them, and
-- attaching or detaching one is seen at once.
INSERT INTO acl.users (id, email, role, status) VALUES
    ('30000000-0000-4000-8000-000000000011', 'flagged2@example.org', '10000000-0000-4000-8000-000000000003', 'active'),
    ('30000000-0000-4000-8000-000000000012', 'flagged3@example.org', '10000000-0000-4000-8000-000000000003', 'active'),
    ('30000000-0000-4000-8000-000000000013', 'roleless2@example.org', NULL, 'active');
SELECT u AS user_no, policy_names(acl.current_policies()) AS policies
  FROM unnest('{11,1,12,13,2,11}'::int[]) WITH ORDINALITY AS t(u, o),
       LATERAL (SELECT set_config('acl.user_id', '30000000-0000-4000-8000-0000000000' || lpad(u::text, 2, '0'), false)) s
 ORDER BY o;
INSERT INTO acl.access ("user", policy) VALUES
    ('30000000-0000-4000-8000-000000000012', '20000000-0000-4000-8000-000000000004');
SET acl.user_id = '30000000-0000-4000-8000-000000000012';
SELECT policy_names(acl.current_policies());
SET acl.user_id = '30000000-0000-4000-8000-000000000011';
SELECT policy_names(acl.current_policies());
DELETE FROM acl.access WHERE "user" = '30000000-0000-4000-8000-000000000012';
SET acl.user_id = '30000000-0000-4000-8000-000000000012';
SELECT policy_names(acl.current_policies());
RESET acl.user_id;
DELETE FROM acl.users WHERE id IN ('30000000-0000-4000-8000-000000000011',
    '30000000-0000-4000-8000-000000000012', '30000000-0000-4000-8000-000000000013');

-- The setting is parsed once, when set; every way PostgreSQL restores a
-- value (a function's SET clause, a savepoint, a rejected value, the end
-- of the transaction) restores the parsed user with it.
CREATE FUNCTION user_in_function() RETURNS uuid LANGUAGE sql
    SET acl.user_id = '30000000-0000-4000-8000-000000000002'
    AS 'SELECT acl.current_user_id()';
SET acl.user_id = '30000000-0000-4000-8000-000000000001';
SELECT user_in_function() AS in_function, acl.current_user_id() AS after;
BEGIN;
SET LOCAL acl.user_id = '30000000000040008000000000000003';
SAVEPOINT s;
SET LOCAL acl.user_id = '30000000-0000-4000-8000-000000000002';
SELECT acl.current_user_id() AS in_savepoint;
ROLLBACK TO s;
SELECT acl.current_user_id() AS after_rollback_to;
COMMIT;
SELECT acl.current_user_id() AS after_commit;
SET acl.user_id = 'not-a-uuid';
SELECT acl.current_user_id() AS after_rejected_value;
RESET acl.user_id;
SELECT acl.current_user_id() IS NULL AS public_after_reset;
DROP FUNCTION user_in_function();

-- Users are found by index probes; whether a user has attachments of
-- their own comes from the set of such users, or, past 4096 of them, from
-- a probe of each.  Both give the same answer, as does a table with no
-- index to probe.
BEGIN;
INSERT INTO acl.users (id, email, role, status)
SELECT ('31000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid, 'many' || n || '@example.org',
       '10000000-0000-4000-8000-000000000002', 'active'
  FROM generate_series(1, 4200) n;
INSERT INTO acl.access ("user", policy)
SELECT ('31000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid, '20000000-0000-4000-8000-000000000004'
  FROM generate_series(1, 4100) n;
SELECT u AS user_no, policy_names(acl.current_policies()) AS policies
  FROM unnest('{1,4100,4101,4200}'::int[]) WITH ORDINALITY AS t(u, o),
       LATERAL (SELECT set_config('acl.user_id', '31000000-0000-4000-8000-' || lpad(u::text, 12, '0'), true)) s
 ORDER BY o;
ROLLBACK;
BEGIN;
ALTER TABLE acl.users DROP CONSTRAINT users_pkey CASCADE;
SET LOCAL acl.user_id = '30000000-0000-4000-8000-000000000001';
SELECT role_names(acl.current_roles()) AS roles, policy_names(acl.current_policies()) AS policies;
SET LOCAL acl.user_id = '30000000-0000-4000-8000-0000000000fe';
SELECT acl.current_user_id();
ROLLBACK;

DROP ROLE acl_reg_app;
DROP ROLE acl_reg_web;
