-- acl.effective_permissions(): every permission row that applies to a user,
-- in priority order (spec §2.4), and who may ask.
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE TABLE public.readings (id int PRIMARY KEY, patient uuid, value int, note text);
INSERT INTO acl.permissions (policy, collection, action, permissions, fields, validation, presets) VALUES
    -- flagged policy (own role), member policy (root), patient policy (middle)
    ('20000000-0000-4000-8000-000000000003', 'readings', 'read', '{"value": {"_gt": 300}}', '{id,value}', NULL, NULL),
    ('20000000-0000-4000-8000-000000000001', 'readings', 'read', '{"patient": {"_eq": "$CURRENT_USER"}}', '{*}', NULL, NULL),
    ('20000000-0000-4000-8000-000000000002', 'readings', 'create', NULL, '{value,note}',
     '{"value": {"_between": [20, 600]}}', '{"patient": "$CURRENT_USER"}'),
    ('20000000-0000-4000-8000-000000000002', 'readings', 'read', NULL, '{id}', NULL, NULL),
    -- personal policy (attached to users), public extra (public principal)
    ('20000000-0000-4000-8000-000000000004', 'readings', 'update', '{"patient": {"_eq": "$CURRENT_USER"}}', '{note}', NULL, '{"value": null}'),
    ('20000000-0000-4000-8000-000000000005', 'readings', 'read', '{"id": {"_lt": 10}}', '{id}', NULL, NULL);

-- The anonymous caller sees the public principal's rows.
SELECT priority, collection, action, policy_name, permissions, fields FROM acl.effective_permissions();
SELECT priority, action, policy_name FROM acl.effective_permissions(NULL);

-- A user in a role tree: root role first, own role, then user-attached.
SET acl.user_id = '30000000-0000-4000-8000-000000000001';
SELECT priority, collection, action, policy_name, permissions, validation, presets, fields
  FROM acl.effective_permissions();
-- A role-less user: public policies, then their own.
SELECT priority, action, policy_name, fields
  FROM acl.effective_permissions('30000000-0000-4000-8000-000000000002');
-- An administrator: admin bypasses rules; only rows attached to its policies are listed.
SELECT count(*) FROM acl.effective_permissions('30000000-0000-4000-8000-000000000003');
-- Inactive and unknown users.
UPDATE acl.users SET status = 'suspended' WHERE id = '30000000-0000-4000-8000-000000000004';
SELECT count(*) FROM acl.effective_permissions('30000000-0000-4000-8000-000000000004');
SELECT count(*) FROM acl.effective_permissions('30000000-0000-4000-8000-0000000000ff');
RESET acl.user_id;

-- Who may ask: oneself always; another user only as an admin identity or a
-- database role that can read acl.permissions.
CREATE ROLE acl_reg_inspector NOLOGIN;
GRANT SET ON PARAMETER acl.user_id TO acl_reg_inspector;
SET ROLE acl_reg_inspector;
SET acl.user_id = '30000000-0000-4000-8000-000000000002';
SELECT count(*) AS own_rows FROM acl.effective_permissions();
SELECT count(*) FROM acl.effective_permissions('30000000-0000-4000-8000-000000000001');
SELECT count(*) FROM acl.effective_permissions(NULL);
RESET acl.user_id;
SELECT count(*) AS public_rows FROM acl.effective_permissions();
SELECT count(*) FROM acl.effective_permissions('30000000-0000-4000-8000-000000000001');
SET acl.user_id = '30000000-0000-4000-8000-000000000003';
SELECT count(*) AS as_admin FROM acl.effective_permissions('30000000-0000-4000-8000-000000000001');
RESET acl.user_id;
RESET ROLE;
GRANT SELECT ON acl.permissions TO acl_reg_inspector;
SET ROLE acl_reg_inspector;
SELECT count(*) AS as_dba FROM acl.effective_permissions('30000000-0000-4000-8000-000000000001');
RESET ROLE;
REVOKE SELECT ON acl.permissions FROM acl_reg_inspector;
REVOKE SET ON PARAMETER acl.user_id FROM acl_reg_inspector;
DROP ROLE acl_reg_inspector;

-- Changes show at once, in this transaction and after rollback.
SET acl.user_id = '30000000-0000-4000-8000-000000000002';
BEGIN;
DELETE FROM acl.access WHERE "user" = '30000000-0000-4000-8000-000000000002';
SELECT priority, action, policy_name FROM acl.effective_permissions();
ROLLBACK;
SELECT priority, action, policy_name FROM acl.effective_permissions();
RESET acl.user_id;

-- A DBA may inspect anyone, even while the session carries an identity
-- that cannot be used.
SET acl.user_id = '30000000-0000-4000-8000-000000000004';
SELECT count(*) AS dba_despite_suspended_identity FROM acl.effective_permissions('30000000-0000-4000-8000-000000000001');
SELECT count(*) FROM acl.effective_permissions();
RESET acl.user_id;
