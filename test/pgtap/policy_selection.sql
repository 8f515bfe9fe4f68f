-- Policy selection, identity and the admin/app flags (spec §1, §2; behaviour
-- cases 1-5, 8, 13, 15-17, 21), the ip_access deviation for clients without
-- an address, the privileged acl.user_id setting, and cache freshness inside
-- one transaction.
--
-- Run by pg_prove as superuser "postgres" over the Unix socket, so
-- inet_client_addr() is NULL.  Every fixture lives in this transaction and
-- disappears with the final ROLLBACK (roles and the parameter GRANT included:
-- CREATE ROLE and pg_parameter_acl are transactional).
--
-- Results compare policy and role *names* (unique in this file) rather than
-- uuids, so a failure shows which policy is missing or misplaced.

\set ON_ERROR_STOP 1

BEGIN;
SELECT plan(96);

-- ---------------------------------------------------------------------------
-- Fixture ids
-- ---------------------------------------------------------------------------
\set builtin_admin_role '7a0e3c57-5d0e-4a53-9b8e-5f0d6a1b0001'
\set builtin_public     'abf8a154-5b1c-4a46-ac9c-7300570f4f17'
\set missing            'eeeeeeee-0000-4000-8000-000000000000'

-- roles
\set rA      'aaaaaaaa-0000-4000-8000-000000000001'
\set rB      'aaaaaaaa-0000-4000-8000-000000000002'
\set rC      'aaaaaaaa-0000-4000-8000-000000000003'
\set rAdm    'aaaaaaaa-0000-4000-8000-000000000004'
\set rAdmKid 'aaaaaaaa-0000-4000-8000-000000000005'
\set rApp    'aaaaaaaa-0000-4000-8000-000000000006'
\set rIp     'aaaaaaaa-0000-4000-8000-000000000007'
\set rDel    'aaaaaaaa-0000-4000-8000-000000000008'
\set rDelKid 'aaaaaaaa-0000-4000-8000-000000000009'
\set rM2     'aaaaaaaa-0000-4000-8000-00000000000a'
\set rM3     'aaaaaaaa-0000-4000-8000-00000000000b'
\set rB2     'aaaaaaaa-0000-4000-8000-00000000000c'
\set rK      'aaaaaaaa-0000-4000-8000-00000000000d'

-- policies
\set pA1      'bbbbbbbb-0000-4000-8000-000000000001'
\set pA2      'bbbbbbbb-0000-4000-8000-000000000002'
\set pB       'bbbbbbbb-0000-4000-8000-000000000003'
\set pB2      'bbbbbbbb-0000-4000-8000-000000000004'
\set pC1      'bbbbbbbb-0000-4000-8000-000000000005'
\set pC2      'bbbbbbbb-0000-4000-8000-000000000006'
\set pC3      'bbbbbbbb-0000-4000-8000-000000000007'
\set pU1      'bbbbbbbb-0000-4000-8000-000000000008'
\set pU2      'bbbbbbbb-0000-4000-8000-000000000009'
\set p0       'bbbbbbbb-0000-4000-8000-00000000000a'
\set pV       'bbbbbbbb-0000-4000-8000-00000000000b'
\set pAdm     'bbbbbbbb-0000-4000-8000-00000000000c'
\set pApp     'bbbbbbbb-0000-4000-8000-00000000000d'
\set pUAdm    'bbbbbbbb-0000-4000-8000-00000000000e'
\set pIpR     'bbbbbbbb-0000-4000-8000-00000000000f'
\set pIpAdm   'bbbbbbbb-0000-4000-8000-000000000010'
\set pIpNull  'bbbbbbbb-0000-4000-8000-000000000011'
\set pIpEmpty 'bbbbbbbb-0000-4000-8000-000000000012'
\set pIpRange 'bbbbbbbb-0000-4000-8000-000000000013'
\set pDup     'bbbbbbbb-0000-4000-8000-000000000014'
\set pLate    'bbbbbbbb-0000-4000-8000-000000000015'
\set pDel     'bbbbbbbb-0000-4000-8000-000000000016'
\set pM       'bbbbbbbb-0000-4000-8000-000000000017'
\set pK       'bbbbbbbb-0000-4000-8000-000000000018'

-- users
\set uC       'cccccccc-0000-4000-8000-000000000001'
\set uB       'cccccccc-0000-4000-8000-000000000002'
\set uA       'cccccccc-0000-4000-8000-000000000003'
\set uV       'cccccccc-0000-4000-8000-000000000004'
\set uN       'cccccccc-0000-4000-8000-000000000005'
\set uAdm     'cccccccc-0000-4000-8000-000000000006'
\set uAdmKid  'cccccccc-0000-4000-8000-000000000007'
\set uBuiltin 'cccccccc-0000-4000-8000-000000000008'
\set uApp     'cccccccc-0000-4000-8000-000000000009'
\set uVadm    'cccccccc-0000-4000-8000-00000000000a'
\set uIp      'cccccccc-0000-4000-8000-00000000000b'
\set uDraft   'cccccccc-0000-4000-8000-00000000000c'
\set uInv     'cccccccc-0000-4000-8000-00000000000d'
\set uUnv     'cccccccc-0000-4000-8000-00000000000e'
\set uSusp    'cccccccc-0000-4000-8000-00000000000f'
\set uArch    'cccccccc-0000-4000-8000-000000000010'
\set uDel     'cccccccc-0000-4000-8000-000000000011'
\set uDelKid  'cccccccc-0000-4000-8000-000000000012'
\set uM       'cccccccc-0000-4000-8000-000000000013'
\set uK       'cccccccc-0000-4000-8000-000000000014'
\set uGhost   'cccccccc-0000-4000-8000-0000000000ff'

-- ---------------------------------------------------------------------------
-- Helpers: uuid arrays -> names, order kept ('{}' for an empty array).
-- ---------------------------------------------------------------------------
CREATE FUNCTION pg_temp.pnames(ids uuid[]) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(coalesce(p.name::text, t.id::text) ORDER BY t.ord), '{}')
      FROM unnest(ids) WITH ORDINALITY AS t(id, ord)
      LEFT JOIN acl.policies p ON p.id = t.id
$$;
CREATE FUNCTION pg_temp.rnames(ids uuid[]) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(coalesce(r.name::text, t.id::text) ORDER BY t.ord), '{}')
      FROM unnest(ids) WITH ORDINALITY AS t(id, ord)
      LEFT JOIN acl.roles r ON r.id = t.id
$$;

-- ---------------------------------------------------------------------------
-- Fixtures
--
--   A <- B <- C          (C.parent = B, B.parent = A)
--   A <- B2              (sibling of B)
--   A <- Del <- DelKid   (deleted below, case 21)
--   Adm <- AdmKid        (Adm carries an admin policy)
--   App, Ip, K           (single roles)
--   (missing) <- M2 <- M3 (M2's parent made dangling below, case 5)
-- ---------------------------------------------------------------------------
INSERT INTO acl.roles (id, name, parent) VALUES
    (:'rA', 'A', NULL),
    (:'rB', 'B', :'rA'),
    (:'rC', 'C', :'rB'),
    (:'rB2', 'B2', :'rA'),
    (:'rDel', 'Del', :'rA'),
    (:'rDelKid', 'DelKid', :'rDel'),
    (:'rAdm', 'Adm', NULL),
    (:'rAdmKid', 'AdmKid', :'rAdm'),
    (:'rApp', 'App', NULL),
    (:'rIp', 'Ip', NULL),
    (:'rK', 'K', NULL),
    (:'rM2', 'M2', NULL),
    (:'rM3', 'M3', :'rM2');

INSERT INTO acl.policies (id, name, ip_access, admin_access, app_access) VALUES
    (:'pA1', 'pA1', NULL, false, false),
    (:'pA2', 'pA2', NULL, false, false),
    (:'pB', 'pB', NULL, false, false),
    (:'pB2', 'pB2', NULL, false, false),
    (:'pC1', 'pC1', NULL, false, false),
    (:'pC2', 'pC2', NULL, false, false),
    (:'pC3', 'pC3', NULL, false, false),
    (:'pU1', 'pU1', NULL, false, false),
    (:'pU2', 'pU2', NULL, false, false),
    (:'p0', 'p0', NULL, false, false),
    (:'pV', 'pV', NULL, false, false),
    (:'pAdm', 'pAdm', NULL, true, false),          -- admin without app_access
    (:'pApp', 'pApp', NULL, false, '1'),           -- case 17: "1" is true
    (:'pUAdm', 'pUAdm', NULL, true, false),
    (:'pIpR', 'pIpR', '{127.0.0.1}', false, false),
    (:'pIpAdm', 'pIpAdm', '{127.0.0.0/8,::1}', true, true),
    (:'pIpNull', 'pIpNull', NULL, false, false),
    (:'pIpEmpty', 'pIpEmpty', '{}', false, false),
    (:'pIpRange', 'pIpRange', '{10.0.0.1-10.0.0.9}', false, false),
    (:'pDup', 'pDup', NULL, false, false),
    (:'pLate', 'pLate', NULL, false, false),
    (:'pDel', 'pDel', NULL, false, false),
    (:'pM', 'pM', NULL, false, false),
    (:'pK', 'pK', NULL, false, false);

INSERT INTO acl.users (id, email, status, role) VALUES
    (:'uC', 'c@example.test', 'active', :'rC'),
    (:'uB', 'b@example.test', 'active', :'rB'),
    (:'uA', 'a@example.test', 'active', :'rA'),
    (:'uV', 'v@example.test', 'active', NULL),
    (:'uN', 'n@example.test', 'active', NULL),
    (:'uAdm', 'adm@example.test', 'active', :'rAdm'),
    (:'uAdmKid', 'admkid@example.test', 'active', :'rAdmKid'),
    (:'uBuiltin', 'builtin@example.test', 'active', :'builtin_admin_role'),
    (:'uApp', 'app@example.test', 'active', :'rApp'),
    (:'uVadm', 'vadm@example.test', 'active', NULL),
    (:'uIp', 'ip@example.test', 'active', :'rIp'),
    (:'uDraft', 'draft@example.test', 'draft', :'rA'),
    (:'uInv', 'invited@example.test', 'invited', :'rA'),
    (:'uUnv', 'unverified@example.test', 'unverified', :'rA'),
    (:'uSusp', 'suspended@example.test', 'suspended', :'rA'),
    (:'uArch', 'archived@example.test', 'archived', :'rA'),
    (:'uDel', 'del@example.test', 'active', :'rDel'),
    (:'uDelKid', 'delkid@example.test', 'active', :'rDelKid'),
    (:'uM', 'm@example.test', 'active', :'rM3'),
    (:'uK', 'k@example.test', 'active', :'rK');

-- Access rows.  Inserted out of priority order on purpose, and with sort
-- values that would invert the levels if sort were compared across levels
-- (ancestor pA1 has sort 100, user-attached pU2 has sort 1).
INSERT INTO acl.access (role, "user", policy, sort) VALUES
    (NULL, :'uC', :'pU1', 2),
    (NULL, :'uC', :'pU2', 1),
    (:'rC', NULL, :'pC2', NULL),      -- NULL sort: last within its level
    (:'rC', NULL, :'pC1', 7),
    (:'rC', NULL, :'pC3', 3),
    (:'rB', NULL, :'pB', NULL),
    (:'rB2', NULL, :'pB2', 1),
    (:'rA', NULL, :'pA1', 100),
    (:'rA', NULL, :'pA2', 50),
    (NULL, NULL, :'p0', 3),           -- public; the built-in Public row has sort 1
    (NULL, :'uV', :'pV', 2),
    (:'rAdm', NULL, :'pAdm', 1),
    (:'rApp', NULL, :'pApp', 1),
    (NULL, :'uVadm', :'pUAdm', 4),
    (:'rIp', NULL, :'pIpNull', 1),
    (:'rIp', NULL, :'pIpEmpty', 2),
    (:'rIp', NULL, :'pIpAdm', 3),
    (NULL, :'uIp', :'pIpR', 1),
    (NULL, :'uIp', :'pIpRange', 2),
    (:'rDel', NULL, :'pDel', 1),
    (:'rM2', NULL, :'pM', 1),
    (:'rK', NULL, :'pK', 1);

SELECT is(inet_client_addr(), NULL,
          'precondition: connected over the Unix socket, so the client address is unknown');

-- ---------------------------------------------------------------------------
-- Case 3: anonymous
-- ---------------------------------------------------------------------------
SET LOCAL acl.user_id = '';
SELECT is(acl.current_user_id(), NULL, 'case 3: empty acl.user_id is the public principal (current_user_id() is NULL)');
SELECT is(acl.current_roles(), '{}'::uuid[], 'case 3: the public principal has no role tree');
SELECT is(pg_temp.pnames(acl.current_policies()), ARRAY['Public', 'p0'],
          'case 3: anonymous gets exactly the public policies (built-in Public and p0), by access.sort');

-- ---------------------------------------------------------------------------
-- Cases 1, 4, 8: user in C (A <- B <- C) with two user-attached policies
-- ---------------------------------------------------------------------------
SET LOCAL acl.user_id = :'uC';
SELECT is(acl.current_user_id(), :'uC'::uuid, 'acl.user_id names the end user');
SELECT is(acl.current_role_id(), :'rC'::uuid, 'current_role_id() is the user''s own role');
SELECT is(pg_temp.rnames(acl.current_roles()), ARRAY['A', 'B', 'C'],
          'case 4: role tree of a user in C is [A, B, C], root first, own role last');
SELECT is(pg_temp.pnames(acl.current_policies()),
          ARRAY['pA2', 'pA1', 'pB', 'pC3', 'pC1', 'pC2', 'pU2', 'pU1'],
          'case 8: ancestors first, then own role, then user-attached; access.sort within a level, NULL sort last');
SELECT ok(NOT (acl.current_policies() && ARRAY[:'builtin_public', :'p0']::uuid[]),
          'case 1: a user with a role does not get the public policies');
SELECT ok(NOT (:'pB2'::uuid = ANY (acl.current_policies())),
          'case 4: the policy of a sibling role (B2) is not inherited');

SET LOCAL acl.user_id = :'uB';
SELECT is(pg_temp.rnames(acl.current_roles()), ARRAY['A', 'B'], 'case 4: role tree of a user in B is [A, B]');
SELECT is(pg_temp.pnames(acl.current_policies()), ARRAY['pA2', 'pA1', 'pB'],
          'case 4: inheritance is upward only: a user in B gets none of C''s policies');

SET LOCAL acl.user_id = :'uA';
SELECT is(pg_temp.rnames(acl.current_roles()), ARRAY['A'], 'case 4: role tree of a user in the root A is [A]');
SELECT is(pg_temp.pnames(acl.current_policies()), ARRAY['pA2', 'pA1'],
          'case 4: a user in A gets only A''s policies');

-- Within a level the order follows access.sort (not insertion order): move
-- pC2 (NULL sort) to the front of C's level.
UPDATE acl.access SET sort = 0 WHERE role = :'rC' AND policy = :'pC2';
SET LOCAL acl.user_id = :'uC';
SELECT is(pg_temp.pnames(acl.current_policies()),
          ARRAY['pA2', 'pA1', 'pB', 'pC2', 'pC3', 'pC1', 'pU2', 'pU1'],
          'case 8: changing access.sort reorders policies within the own-role level only');

-- A policy reached through several paths appears once, at its first place:
-- attached to A (sort 200), to C (sort 1) and to the user (sort 0).
INSERT INTO acl.access (role, "user", policy, sort) VALUES
    (NULL, :'uC', :'pDup', 0),
    (:'rC', NULL, :'pDup', 1),
    (:'rA', NULL, :'pDup', 200);
SELECT is(pg_temp.pnames(acl.current_policies()),
          ARRAY['pA2', 'pA1', 'pDup', 'pB', 'pC2', 'pC3', 'pC1', 'pU2', 'pU1'],
          'a policy reached three times appears once, at its first (ancestor-level) position');

-- ---------------------------------------------------------------------------
-- Case 2: role-less users get the public policies plus their own
-- ---------------------------------------------------------------------------
SET LOCAL acl.user_id = :'uV';
SELECT is(acl.current_role_id(), NULL, 'case 2: a role-less user has no role');
SELECT is(acl.current_roles(), '{}'::uuid[], 'case 2: a role-less user has an empty role tree');
SELECT is(pg_temp.pnames(acl.current_policies()), ARRAY['Public', 'pV', 'p0'],
          'case 2: role-less user gets public + own policies, interleaved by access.sort (1, 2, 3)');

-- The built-in Public policy also attached to the user directly: still once.
INSERT INTO acl.access (role, "user", policy, sort) VALUES (NULL, :'uV', :'builtin_public', 5);
SELECT is(pg_temp.pnames(acl.current_policies()), ARRAY['Public', 'pV', 'p0'],
          'a public policy also attached to the role-less user appears once, at its first position');

DELETE FROM acl.access WHERE "user" = :'uV' AND policy = :'builtin_public';

SET LOCAL acl.user_id = :'uN';
SELECT is(pg_temp.pnames(acl.current_policies()), ARRAY['Public', 'p0'],
          'case 2: a role-less user without own policies gets exactly the public policies');

-- ---------------------------------------------------------------------------
-- Case 5: the tree stops at a missing parent
--
-- acl.roles.parent is a foreign key (ON DELETE SET NULL), so an ordinary
-- write cannot leave a dangling parent: inserts and updates naming a missing
-- role are refused, and deleting a parent clears the children's parent.  A
-- dangling parent is still reachable where foreign keys are not enforced
-- (session_replication_role = replica: logical replication apply, data-only
-- restores with --disable-triggers); that state is built here directly.
-- ---------------------------------------------------------------------------
SELECT throws_ok(format('INSERT INTO acl.roles (name, parent) VALUES (%L, %L)', 'Orphan', :'missing'),
                 '23503', NULL,
                 'case 5: the catalog refuses a new role whose parent does not exist (FK)');
SELECT throws_ok(format('UPDATE acl.roles SET parent = %L WHERE id = %L', :'missing', :'rB'),
                 '23503', NULL,
                 'case 5: the catalog refuses re-parenting a role to a missing role (FK)');

SET LOCAL session_replication_role = replica;
UPDATE acl.roles SET parent = :'missing' WHERE id = :'rM2';
SET LOCAL session_replication_role = origin;
-- uM has not been looked up yet in this session, so nothing about it is cached
-- (the replica-mode UPDATE fires no acl trigger).
SET LOCAL acl.user_id = :'uM';
SELECT is(pg_temp.rnames(acl.current_roles()), ARRAY['M2', 'M3'],
          'case 5: a parent id without a row ends the tree there ([second, start])');
SELECT is(pg_temp.pnames(acl.current_policies()), ARRAY['pM'],
          'case 5: the truncated tree still yields the policies of the roles it reached');
UPDATE acl.roles SET parent = NULL WHERE id = :'rM2';

-- ---------------------------------------------------------------------------
-- Case 21 (spec §1.8): deleting a role suspends its users, clears their
-- role, removes its access rows and re-parents its children to NULL
-- ---------------------------------------------------------------------------
SET LOCAL acl.user_id = :'uDelKid';
SELECT is(pg_temp.rnames(acl.current_roles()), ARRAY['A', 'Del', 'DelKid'],
          'before deletion: tree of a user in DelKid is [A, Del, DelKid]');
SELECT is(pg_temp.pnames(acl.current_policies()), ARRAY['pA2', 'pA1', 'pDup', 'pDel'],
          'before deletion: DelKid inherits pDel from Del');
SET LOCAL acl.user_id = '';

DELETE FROM acl.roles WHERE id = :'rDel';

SELECT is((SELECT status || '/' || coalesce(role::text, 'NULL') FROM acl.users WHERE id = :'uDel'),
          'suspended/NULL',
          'case 21: the users of a deleted role are suspended and lose the role');
SELECT is((SELECT parent FROM acl.roles WHERE id = :'rDelKid'), NULL,
          'case 21: the children of a deleted role are re-parented to NULL');
SELECT is((SELECT count(*)::int FROM acl.access WHERE role = :'rDel'), 0,
          'case 21: the access rows of a deleted role are removed');
SELECT is((SELECT status FROM acl.users WHERE id = :'uDelKid')::text, 'active',
          'case 21: users of the child role keep their status');
SET LOCAL acl.user_id = :'uDelKid';
SELECT is(pg_temp.rnames(acl.current_roles()), ARRAY['DelKid'],
          'case 5/21: after the parent is deleted the tree of a DelKid user stops at DelKid');
SELECT is(pg_temp.pnames(acl.current_policies()), '{}'::text[],
          'case 21: the DelKid user no longer reaches the policies of Del or A');
SET LOCAL acl.user_id = :'uDel';
SELECT throws_ok('SELECT acl.current_user_id()', '42501', NULL,
                 'case 21: a user suspended by the deletion of its role has no identity (42501)');

-- ---------------------------------------------------------------------------
-- Statuses: only active users have an identity (spec §1.8, case 20)
-- ---------------------------------------------------------------------------
SET LOCAL acl.user_id = :'uSusp';
SELECT throws_ok('SELECT acl.current_user_id()', '42501', NULL, 'suspended user: current_user_id() fails with 42501');
SELECT throws_ok('SELECT acl.current_policies()', '42501', NULL, 'suspended user: current_policies() fails with 42501');
SELECT throws_ok('SELECT acl.is_admin()', '42501', NULL, 'suspended user: is_admin() fails with 42501');
SET LOCAL acl.user_id = :'uDraft';
SELECT throws_ok('SELECT acl.current_user_id()', '42501', NULL, 'draft user: current_user_id() fails with 42501');
SELECT throws_ok('SELECT acl.current_policies()', '42501', NULL, 'draft user: current_policies() fails with 42501');
SELECT throws_ok('SELECT acl.is_admin()', '42501', NULL, 'draft user: is_admin() fails with 42501');
SET LOCAL acl.user_id = :'uArch';
SELECT throws_ok('SELECT acl.current_user_id()', '42501', NULL, 'archived user: current_user_id() fails with 42501');
SELECT throws_ok('SELECT acl.current_policies()', '42501', NULL, 'archived user: current_policies() fails with 42501');
SELECT throws_ok('SELECT acl.is_admin()', '42501', NULL, 'archived user: is_admin() fails with 42501');
SET LOCAL acl.user_id = :'uInv';
SELECT throws_ok('SELECT acl.current_user_id()', '42501', NULL, 'invited user: current_user_id() fails with 42501');
SET LOCAL acl.user_id = :'uUnv';
SELECT throws_ok('SELECT acl.current_user_id()', '42501', NULL, 'unverified user: current_user_id() fails with 42501');
SET LOCAL acl.user_id = :'uGhost';
SELECT throws_ok('SELECT acl.current_user_id()', '42501', NULL, 'unknown user id: current_user_id() fails with 42501');
SELECT throws_ok('SELECT acl.current_policies()', '42501', NULL, 'unknown user id: current_policies() fails with 42501 (no fallback to public)');
SELECT throws_ok('SELECT acl.is_admin()', '42501', NULL, 'unknown user id: is_admin() fails with 42501');
SELECT throws_ok($$SELECT set_config('acl.user_id', 'not-a-uuid', true)$$, '22P02', NULL,
                 'acl.user_id refuses a value that is not a uuid');

-- ---------------------------------------------------------------------------
-- Cases 13, 15, 16, 17: admin and app flags
-- ---------------------------------------------------------------------------
SET LOCAL acl.user_id = :'uC';
SELECT is(acl.is_admin(), false, 'a user whose policies have no flags is not admin');
SELECT is(acl.has_app_access(), false, 'a user whose policies have no flags has no app access');
SET LOCAL acl.user_id = :'uAdm';
SELECT is(acl.is_admin(), true, 'case 13: an admin_access policy on the user''s role makes the user admin');
SELECT is(acl.has_app_access(), true, 'case 13: admin implies app access even when the policy''s app_access is false');
SET LOCAL acl.user_id = :'uAdmKid';
SELECT is(acl.is_admin(), true, 'case 13: an admin policy on an ancestor role makes the user admin');
SET LOCAL acl.user_id = :'uBuiltin';
SELECT is(acl.is_admin(), true, 'a user in the built-in Administrator role is admin');
SELECT is(acl.has_app_access(), true, 'a user in the built-in Administrator role has app access');
SET LOCAL acl.user_id = :'uApp';
SELECT is(acl.has_app_access(), true, 'case 17: app_access written as ''1'' counts as true');
SELECT is(acl.is_admin(), false, 'case 17: app access alone does not make admin');

-- Case 15: public policies with admin_access never make anyone admin.
UPDATE acl.policies SET admin_access = true, app_access = true WHERE id IN (:'builtin_public', :'p0');
SET LOCAL acl.user_id = '';
SELECT is(acl.is_admin(), false, 'case 15: anonymous is not admin even when the public policies have admin_access');
SELECT is(acl.has_app_access(), false, 'case 15: anonymous has no app access even when the public policies have it');
SELECT is(pg_temp.pnames(acl.current_policies()), ARRAY['Public', 'p0'],
          'case 15: the admin public policies still apply to anonymous as ordinary policies');
SET LOCAL acl.user_id = :'uN';
SELECT is(acl.is_admin(), false, 'case 15: a role-less user reaching only admin public policies is not admin');
SELECT is(acl.has_app_access(), false, 'case 15: ... and has no app access');
SET LOCAL acl.user_id = :'uV';
SELECT is(acl.is_admin(), false, 'case 15: a role-less user with an own non-admin policy is not admin through the public ones');
-- Case 16
SET LOCAL acl.user_id = :'uVadm';
SELECT is(acl.is_admin(), true, 'case 16: a role-less user with a user-attached admin policy is admin');
SELECT is(acl.has_app_access(), true, 'case 16: ... and has app access');
-- Only public *rows* are ignored for the flags: the same admin Public policy
-- attached to a user by a user row counts (spec §2.6).
INSERT INTO acl.access (role, "user", policy, sort) VALUES (NULL, :'uV', :'builtin_public', 5);
SET LOCAL acl.user_id = :'uV';
SELECT is(acl.is_admin(), true,
          'spec 2.6: the admin Public policy attached to a role-less user by a user row makes that user admin');
DELETE FROM acl.access WHERE "user" = :'uV' AND policy = :'builtin_public';
UPDATE acl.policies SET admin_access = false, app_access = false WHERE id IN (:'builtin_public', :'p0');

-- ---------------------------------------------------------------------------
-- ip_access without a client address (Unix socket): fail closed
-- ---------------------------------------------------------------------------
SET LOCAL acl.user_id = :'uIp';
SELECT is(pg_temp.pnames(acl.current_policies()), ARRAY['pIpNull', 'pIpEmpty'],
          'case 10: unknown client address: policies with a non-empty ip_access are dropped; NULL and {} are kept');
SELECT is(acl.is_admin(), false,
          'documented deviation: an IP-restricted admin policy does not make admin when the client address is unknown');
SELECT is(acl.has_app_access(), false,
          'documented deviation: an IP-restricted app policy gives no app access when the client address is unknown');
UPDATE acl.policies SET ip_access = '{}' WHERE id = :'pIpAdm';
SELECT is(pg_temp.pnames(acl.current_policies()), ARRAY['pIpNull', 'pIpEmpty', 'pIpAdm'],
          'the same admin policy with ip_access {} is kept');
SELECT is(acl.is_admin(), true, 'the same admin policy with ip_access {} makes the user admin');
UPDATE acl.policies SET ip_access = NULL WHERE id = :'pIpR';
SELECT is(pg_temp.pnames(acl.current_policies()), ARRAY['pIpNull', 'pIpEmpty', 'pIpAdm', 'pIpR'],
          'a user-attached policy whose ip_access becomes NULL is kept');

-- ---------------------------------------------------------------------------
-- The cache is never stale inside a transaction: each change to acl.* is
-- seen by the next statement.
-- ---------------------------------------------------------------------------
SET LOCAL acl.user_id = :'uK';
SELECT is(pg_temp.pnames(acl.current_policies()), ARRAY['pK'], 'cache: initial policies of the K user');
INSERT INTO acl.access (role, policy, sort) VALUES (:'rK', :'pLate', 2);
SELECT is(pg_temp.pnames(acl.current_policies()), ARRAY['pK', 'pLate'],
          'cache: a policy attached in the previous statement is visible');
UPDATE acl.policies SET admin_access = true WHERE id = :'pLate';
SELECT is(acl.is_admin(), true, 'cache: a flag set on an attached policy in the previous statement is visible');
UPDATE acl.policies SET ip_access = '{192.0.2.1}' WHERE id = :'pLate';
SELECT is(pg_temp.pnames(acl.current_policies()), ARRAY['pK'],
          'cache: restricting ip_access in the previous statement drops the policy');
SELECT is(acl.is_admin(), false, 'cache: ... and its admin flag');
DELETE FROM acl.access WHERE role = :'rK' AND policy = :'pK';
SELECT is(pg_temp.pnames(acl.current_policies()), '{}'::text[],
          'cache: a policy detached in the previous statement is gone');
UPDATE acl.users SET status = 'suspended' WHERE id = :'uK';
SELECT throws_ok('SELECT acl.current_user_id()', '42501', NULL,
                 'cache: suspending the current user takes effect at the next statement');
UPDATE acl.users SET status = 'active', role = :'rA' WHERE id = :'uK';
SELECT is(pg_temp.rnames(acl.current_roles()), ARRAY['A'],
          'cache: reactivating the user and moving it to A takes effect at the next statement');
SELECT is(pg_temp.pnames(acl.current_policies()), ARRAY['pA2', 'pA1', 'pDup'],
          'cache: the moved user gets A''s policies');
UPDATE acl.roles SET parent = :'rA' WHERE id = :'rK';
UPDATE acl.users SET role = :'rK' WHERE id = :'uK';
SELECT is(pg_temp.rnames(acl.current_roles()), ARRAY['A', 'K'],
          'cache: re-parenting a role is visible in the next statement');

-- ---------------------------------------------------------------------------
-- The privileged setting: acl.user_id needs superuser or SET ON PARAMETER;
-- acl.token may be set by anyone.
-- ---------------------------------------------------------------------------
SET LOCAL acl.user_id = '';
CREATE ROLE acl_test_app NOLOGIN;
CREATE ROLE acl_test_web NOLOGIN;
SELECT is(acl.set_user_token(:'uC', 'policy-selection-static-token-uc'), 'policy-selection-static-token-uc',
          'set_user_token stores and returns the given static token');

SET LOCAL ROLE acl_test_web;
SELECT throws_ok(format('SELECT set_config(%L, %L, true)', 'acl.user_id', :'uC'),
                 '42501', 'permission denied to set parameter "acl.user_id"',
                 'an ordinary role cannot set acl.user_id with set_config()');
SELECT throws_ok(format('SET LOCAL acl.user_id = %L', :'uC'),
                 '42501', 'permission denied to set parameter "acl.user_id"',
                 'an ordinary role cannot SET LOCAL acl.user_id');
SELECT is(acl.current_user_id(), NULL, 'the refused attempts leave the identity at the public principal');
SELECT lives_ok($$SELECT set_config('acl.token', 'policy-selection-static-token-uc', true)$$,
                'any role may set acl.token');
SELECT is(acl.current_user_id(), :'uC'::uuid, 'an ordinary role proves an identity with a static token');
RESET ROLE;
SET LOCAL acl.token = '';

SELECT ok(NOT has_parameter_privilege('acl_test_app', 'acl.user_id', 'SET'),
          'before the GRANT the app role may not set acl.user_id');

-- Assertions between SAVEPOINT and ROLLBACK TO still print their TAP line,
-- but a failure among them would not be counted in finish()'s summary.
SAVEPOINT parameter_grant;
GRANT SET ON PARAMETER acl.user_id TO acl_test_app;
SELECT ok(EXISTS (SELECT 1 FROM pg_parameter_acl, aclexplode(paracl) a
                 WHERE parname = 'acl.user_id' AND a.grantee = 'acl_test_app'::regrole),
          'GRANT SET ON PARAMETER records the grant in pg_parameter_acl');
SET LOCAL ROLE acl_test_app;
SELECT lives_ok(format('SELECT set_config(%L, %L, true)', 'acl.user_id', :'uC'),
                'after GRANT SET ON PARAMETER the app role may set acl.user_id');
SELECT is(acl.current_user_id(), :'uC'::uuid, 'the identity asserted by the app role is used');
RESET ROLE;
SET LOCAL ROLE acl_test_web;
SELECT throws_ok(format('SELECT set_config(%L, %L, true)', 'acl.user_id', :'uB'),
                 '42501', 'permission denied to set parameter "acl.user_id"',
                 'the grant is per role: the web role still cannot set acl.user_id');
RESET ROLE;
ROLLBACK TO SAVEPOINT parameter_grant;

-- Other test files grant the parameter to their own roles; only this role's
-- privilege is this test's business.
SELECT ok(NOT EXISTS (SELECT 1 FROM pg_parameter_acl, aclexplode(paracl) a
                     WHERE parname = 'acl.user_id' AND a.grantee = 'acl_test_app'::regrole),
          'rolling back the GRANT removes it from pg_parameter_acl (it is transactional)');
SET LOCAL ROLE acl_test_app;
SELECT throws_ok(format('SELECT set_config(%L, %L, true)', 'acl.user_id', :'uC'),
                 '42501', 'permission denied to set parameter "acl.user_id"',
                 'after the rollback the app role can no longer set acl.user_id');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
