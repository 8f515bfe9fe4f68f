/* acl 0.1: the catalog (users, roles, policies, access, permissions, shares),
 * its validation, the built-in Administrator and Public rows, and the identity
 * and inspection functions implemented in C. */

\echo Use "CREATE EXTENSION acl" to load this file. \quit

SET LOCAL search_path = pg_catalog, pg_temp;

GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

/* ---------------------------------------------------------------------------
 * Helpers used by the catalog checks and by the C code.
 * ------------------------------------------------------------------------- */

-- Validates one ip_access entry when a policy is written: a single address,
-- a CIDR block, or an "a-b" range of one family with a <= b.  NULL when the
-- entry is malformed.
CREATE FUNCTION @extschema@._ip_entry_bounds(entry text, OUT lo inet, OUT hi inet)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    parts text[];
BEGIN
    IF entry ~ '[*]' THEN
        RETURN;                 -- wildcards are refused, as in Directus
    END IF;
    IF strpos(entry, '-') > 0 THEN
        parts := string_to_array(entry, '-');
        IF cardinality(parts) <> 2 THEN
            RETURN;
        END IF;
        BEGIN
            lo := btrim(parts[1])::inet;
            hi := btrim(parts[2])::inet;
        EXCEPTION WHEN invalid_text_representation THEN
            lo := NULL; hi := NULL;
            RETURN;
        END;
        IF family(lo) <> family(hi) OR lo > hi
           OR masklen(lo) <> (CASE family(lo) WHEN 4 THEN 32 ELSE 128 END)
           OR masklen(hi) <> (CASE family(hi) WHEN 4 THEN 32 ELSE 128 END) THEN
            lo := NULL; hi := NULL;
        END IF;
        RETURN;
    END IF;
    IF entry ~ '/' AND split_part(entry, '/', 2) !~ '^[0-9]{1,3}$' THEN
        RETURN;                 -- netmask notation (a.b.c.d/255.0.0.0) is refused
    END IF;
    BEGIN
        lo := btrim(entry)::inet;   -- host bits may be set (192.168.1.0/22), as in Directus
    EXCEPTION WHEN invalid_text_representation THEN
        RETURN;
    END;
    hi := lo;
END
$$;

-- Whether a client address passes a policy's ip_access list (spec §2.5).
-- An empty list restricts nothing; an unknown client address (Unix socket)
-- passes no restricted list.  An IPv4 client seen through a dual-stack
-- listener (::ffff:a.b.c.d) is matched as the IPv4 address it is.
-- Entries were validated when written, so plain casts suffice; no
-- exception handling, which would need a subtransaction and so fail in the
-- parallel-mode leader that evaluates identity InitPlans.  Should a cast
-- fail anyway (triggers disabled during a load), the statement errors:
-- fail closed.
CREATE FUNCTION @extschema@._ip_allowed(ip_access text[], client inet)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN ip_access IS NULL OR cardinality(ip_access) = 0 THEN true
        WHEN client IS NULL THEN false
        ELSE EXISTS (
            SELECT 1
              FROM (SELECT CASE WHEN host(client) ~ '^::ffff:[0-9.]+$'
                                THEN substr(host(client), 8)::inet
                                ELSE host(client)::inet END) AS c(addr),
                   unnest(ip_access) AS e(entry),
                   LATERAL (SELECT btrim(split_part(e.entry, '-', 1))::inet AS lo,
                                   CASE WHEN strpos(e.entry, '-') > 0
                                        THEN btrim(split_part(e.entry, '-', 2))::inet END AS hi) AS b
             WHERE family(b.lo) = family(c.addr)
               AND CASE WHEN b.hi IS NULL THEN c.addr <<= b.lo
                        ELSE c.addr BETWEEN b.lo AND b.hi END)
    END
$$;

/* ---------------------------------------------------------------------------
 * The catalog (Directus v11 shape, PostgreSQL types).
 * ------------------------------------------------------------------------- */

CREATE TABLE @extschema@.roles (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        varchar(100) NOT NULL,
    icon        varchar(64) NOT NULL DEFAULT 'supervised_user_circle',
    description text,
    parent      uuid REFERENCES @extschema@.roles (id) ON DELETE SET NULL,
    CONSTRAINT roles_parent_not_self CHECK (parent IS DISTINCT FROM id)
);
CREATE INDEX roles_parent_idx ON @extschema@.roles (parent);

CREATE TABLE @extschema@.policies (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         varchar(100) NOT NULL,
    icon         varchar(64) NOT NULL DEFAULT 'badge',
    description  text,
    ip_access    text[],
    enforce_tfa  boolean NOT NULL DEFAULT false,
    admin_access boolean NOT NULL DEFAULT false,
    app_access   boolean NOT NULL DEFAULT false
);

CREATE TABLE @extschema@.users (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email        varchar(128) UNIQUE,
    first_name   varchar(50),
    last_name    varchar(50),
    status       varchar(16) NOT NULL DEFAULT 'active',
    role         uuid REFERENCES @extschema@.roles (id) ON DELETE SET NULL,
    token_hash   bytea UNIQUE,
    date_created timestamptz NOT NULL DEFAULT now(),
    date_updated timestamptz,
    CONSTRAINT users_status_known CHECK (status IN ('draft', 'invited', 'unverified',
                                                    'active', 'suspended', 'archived')),
    CONSTRAINT users_token_hash_is_sha256 CHECK (octet_length(token_hash) = 32)
);
CREATE INDEX users_role_idx ON @extschema@.users (role);

CREATE TABLE @extschema@.access (
    id     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    role   uuid REFERENCES @extschema@.roles (id) ON DELETE CASCADE,
    "user" uuid REFERENCES @extschema@.users (id) ON DELETE CASCADE,
    policy uuid NOT NULL REFERENCES @extschema@.policies (id) ON DELETE CASCADE,
    sort   integer,
    CONSTRAINT access_role_or_user CHECK (role IS NULL OR "user" IS NULL)
);
CREATE INDEX access_role_idx ON @extschema@.access (role);
CREATE INDEX access_user_idx ON @extschema@.access ("user");
CREATE INDEX access_policy_idx ON @extschema@.access (policy);

CREATE TABLE @extschema@.permissions (
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    policy      uuid NOT NULL REFERENCES @extschema@.policies (id) ON DELETE CASCADE,
    collection  regclass NOT NULL,
    action      text NOT NULL,
    permissions jsonb,
    validation  jsonb,
    presets     jsonb,
    fields      text[],
    CONSTRAINT permissions_action_known CHECK (action IN ('create', 'read', 'update',
                                                          'delete', 'share'))
);
CREATE INDEX permissions_policy_idx ON @extschema@.permissions (policy);
CREATE INDEX permissions_collection_idx ON @extschema@.permissions (collection, action);

CREATE TABLE @extschema@.shares (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name          varchar(255),
    collection    regclass NOT NULL,
    item          text NOT NULL,
    role          uuid REFERENCES @extschema@.roles (id) ON DELETE CASCADE,
    password      text,
    user_created  uuid REFERENCES @extschema@.users (id) ON DELETE SET NULL,
    date_created  timestamptz NOT NULL DEFAULT now(),
    date_start    timestamptz,
    date_end      timestamptz,
    times_used    integer NOT NULL DEFAULT 0,
    max_uses      integer,
    CONSTRAINT shares_password_is_scram CHECK (password LIKE 'SCRAM-SHA-256$%'),
    CONSTRAINT shares_dates_ordered CHECK (date_end IS NULL OR date_start IS NULL
                                           OR date_start <= date_end),
    CONSTRAINT shares_uses_nonnegative CHECK (times_used >= 0 AND (max_uses IS NULL OR max_uses >= 0))
);

-- Sessions opened by acl.share_login(); only the SHA-256 of a token is kept.
-- Not configuration: a dump leaves them out, so a restore logs everyone out.
CREATE TABLE @extschema@.share_sessions (
    token_hash  bytea PRIMARY KEY,
    share       uuid NOT NULL REFERENCES @extschema@.shares (id) ON DELETE CASCADE,
    created     timestamptz NOT NULL DEFAULT now(),
    expires     timestamptz NOT NULL
);
CREATE INDEX share_sessions_share_idx ON @extschema@.share_sessions (share);
REVOKE ALL ON @extschema@.share_sessions FROM PUBLIC;

COMMENT ON TABLE @extschema@.roles IS 'acl roles: a tree through parent; a child inherits the policies of its ancestors';
COMMENT ON TABLE @extschema@.policies IS 'acl policies: hold permissions and the admin/app/tfa flags; ip_access limits where they apply';
COMMENT ON TABLE @extschema@.users IS 'acl end users; identity is acl.user_id or acl.token; extra columns are reachable as $CURRENT_USER.<column>';
COMMENT ON TABLE @extschema@.access IS 'attaches a policy to a role, to one user, or (both null) to the public principal';
COMMENT ON TABLE @extschema@.permissions IS 'per-table CRUDS permissions of a policy: item rule, validation, presets, fields';
COMMENT ON TABLE @extschema@.shares IS 'share links for one item of a collection';
COMMENT ON COLUMN @extschema@.shares.password IS 'a SCRAM-SHA-256 verifier; a clear password written here is hashed on the way in';
COMMENT ON COLUMN @extschema@.users.token_hash IS 'SHA-256 of the static token; set it with acl.set_user_token()';

/* ---------------------------------------------------------------------------
 * Built-in rows.  Their ids are fixed so that dumps, docs and tests can name
 * them; the Public policy id is the one Directus uses.
 * ------------------------------------------------------------------------- */

INSERT INTO @extschema@.roles (id, name, icon, description)
VALUES ('7a0e3c57-5d0e-4a53-9b8e-5f0d6a1b0001', 'Administrator', 'verified',
        'Built in: full access through the Administrator policy');
INSERT INTO @extschema@.policies (id, name, icon, description, admin_access, app_access)
VALUES ('7a0e3c57-5d0e-4a53-9b8e-5f0d6a1b0002', 'Administrator', 'verified',
        'Built in: bypasses every permission rule', true, true),
       ('abf8a154-5b1c-4a46-ac9c-7300570f4f17', 'Public', 'public',
        'Built in: what anonymous callers (and role-less users) may do', false, false);
INSERT INTO @extschema@.access (id, role, "user", policy, sort)
VALUES ('7a0e3c57-5d0e-4a53-9b8e-5f0d6a1b0003', '7a0e3c57-5d0e-4a53-9b8e-5f0d6a1b0001', NULL,
        '7a0e3c57-5d0e-4a53-9b8e-5f0d6a1b0002', 1),
       ('7a0e3c57-5d0e-4a53-9b8e-5f0d6a1b0004', NULL, NULL,
        'abf8a154-5b1c-4a46-ac9c-7300570f4f17', 1);

CREATE FUNCTION @extschema@._is_builtin(id uuid) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT id IN ('7a0e3c57-5d0e-4a53-9b8e-5f0d6a1b0001', '7a0e3c57-5d0e-4a53-9b8e-5f0d6a1b0002',
                  '7a0e3c57-5d0e-4a53-9b8e-5f0d6a1b0003', '7a0e3c57-5d0e-4a53-9b8e-5f0d6a1b0004',
                  'abf8a154-5b1c-4a46-ac9c-7300570f4f17')
$$;

/* ---------------------------------------------------------------------------
 * C functions.
 * ------------------------------------------------------------------------- */

CREATE FUNCTION @extschema@.current_user_id() RETURNS uuid
AS 'MODULE_PATHNAME', 'acl_current_user_id' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.current_user_id() IS
    'the end user of this statement (acl.token or acl.user_id); NULL for the public principal';

CREATE FUNCTION @extschema@.current_role_id() RETURNS uuid
AS 'MODULE_PATHNAME', 'acl_current_role_id' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.current_role_id() IS 'the end user''s own role; NULL when none';

CREATE FUNCTION @extschema@.current_roles() RETURNS uuid[]
AS 'MODULE_PATHNAME', 'acl_current_roles' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.current_roles() IS 'the end user''s role tree, root first, own role last';

CREATE FUNCTION @extschema@.current_policies() RETURNS uuid[]
AS 'MODULE_PATHNAME', 'acl_current_policies' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.current_policies() IS
    'the effective policies in priority order, after ip_access filtering';

CREATE FUNCTION @extschema@.is_admin() RETURNS boolean
AS 'MODULE_PATHNAME', 'acl_is_admin' LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.has_app_access() RETURNS boolean
AS 'MODULE_PATHNAME', 'acl_has_app_access' LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.has_policy(policy uuid) RETURNS boolean
AS 'MODULE_PATHNAME', 'acl_has_policy' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.has_policy(uuid) IS
    'whether the policy is one of the current end user''s effective policies';

CREATE FUNCTION @extschema@.has_policy(policy uuid, action text) RETURNS boolean
AS 'MODULE_PATHNAME', 'acl_has_policy_for' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.has_policy(uuid, text) IS
    'the gate of a generated permission policy: has_policy(policy), except that a share reads only through acl_share';

CREATE FUNCTION @extschema@.share_login(share uuid, password text DEFAULT NULL) RETURNS text
AS 'MODULE_PATHNAME', 'acl_share_login' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.share_login(uuid, text) IS
    'checks a share''s dates, use count and password, counts the use and returns a session token for acl.token';

CREATE FUNCTION @extschema@.current_share() RETURNS uuid
AS 'MODULE_PATHNAME', 'acl_current_share' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.current_share() IS 'the share whose session token is in acl.token; NULL otherwise';

CREATE FUNCTION @extschema@._share_reads(regclass) RETURNS boolean
AS 'MODULE_PATHNAME', 'acl_share_reads' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@._share_field(regclass, text) RETURNS boolean
AS 'MODULE_PATHNAME', 'acl_share_field' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@._share_is_admin(side text) RETURNS boolean
AS 'MODULE_PATHNAME', 'acl_share_is_admin' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@._share_has_policy(side text, policy uuid) RETURNS boolean
AS 'MODULE_PATHNAME', 'acl_share_has_policy' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
-- The gates above, evaluated once per expression: what src/gates.c calls in
-- place of a policy's gate(constants) or (SELECT gate(constants)).
CREATE FUNCTION @extschema@._is_admin_once() RETURNS boolean
AS 'MODULE_PATHNAME', 'acl_is_admin_once' LANGUAGE C STABLE PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@._has_policy_once(policy uuid) RETURNS boolean
AS 'MODULE_PATHNAME', 'acl_has_policy_once' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@._has_policy_once(policy uuid, action text) RETURNS boolean
AS 'MODULE_PATHNAME', 'acl_has_policy_for_once' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@._share_reads_once(regclass) RETURNS boolean
AS 'MODULE_PATHNAME', 'acl_share_reads_once' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@._share_field_once(regclass, text) RETURNS boolean
AS 'MODULE_PATHNAME', 'acl_share_field_once' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@._share_is_admin_once(side text) RETURNS boolean
AS 'MODULE_PATHNAME', 'acl_share_is_admin_once' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@._share_has_policy_once(side text, policy uuid) RETURNS boolean
AS 'MODULE_PATHNAME', 'acl_share_has_policy_once' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@._share_keys(anyelement, regclass, text) RETURNS anyarray
AS 'MODULE_PATHNAME', 'acl_share_keys' LANGUAGE C STABLE PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@._share_value(side text, variable text, path text[]) RETURNS text
AS 'MODULE_PATHNAME', 'acl_share_value' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@._share_values(side text, variable text, path text[]) RETURNS text[]
AS 'MODULE_PATHNAME', 'acl_share_values' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@._compile_for_share(collection regclass, rule jsonb, side text) RETURNS text
AS 'MODULE_PATHNAME', 'acl_compile_for_share' LANGUAGE C STABLE;
REVOKE ALL ON FUNCTION @extschema@._compile_for_share(regclass, jsonb, text) FROM PUBLIC;

CREATE FUNCTION @extschema@.effective_permissions(user_id uuid DEFAULT @extschema@.current_user_id())
RETURNS TABLE (priority integer, collection regclass, action text, policy uuid, policy_name text,
               permissions jsonb, validation jsonb, presets jsonb, fields text[],
               permission_id bigint)
AS 'MODULE_PATHNAME', 'acl_effective_permissions' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.effective_permissions(uuid) IS
    'every permission row that applies to a user (NULL = public), in priority order';

CREATE FUNCTION @extschema@.set_user_token(user_id uuid, token text DEFAULT NULL) RETURNS text
AS 'MODULE_PATHNAME', 'acl_set_user_token' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.set_user_token(uuid, text) IS
    'stores the SHA-256 of a static token for a user (a new random token when none is given) and returns the token';
REVOKE ALL ON FUNCTION @extschema@.set_user_token(uuid, text) FROM PUBLIC;

CREATE FUNCTION @extschema@._check_permission(collection regclass, permissions jsonb,
                                               validation jsonb, presets jsonb) RETURNS void
AS 'MODULE_PATHNAME', 'acl_check_permission' LANGUAGE C VOLATILE;

CREATE FUNCTION @extschema@.compile(collection regclass, rule jsonb) RETURNS text
AS 'MODULE_PATHNAME', 'acl_compile' LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.compile(regclass, jsonb) IS
    'the SQL boolean expression an item rule compiles to over the table';

CREATE FUNCTION @extschema@.lint()
RETURNS TABLE (permission_id bigint, policy text, collection regclass, action text,
               finding text, rule_path text, message text, suggestion text)
AS 'MODULE_PATHNAME', 'acl_lint' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.lint() IS
    'advice on permissions: unindexed conditions and keys, non-leakproof operators, anonymous NULL matches, stale rules';
REVOKE ALL ON FUNCTION @extschema@.lint() FROM PUBLIC;

CREATE FUNCTION @extschema@.plan_cache_stats(OUT entries bigint, OUT bytes bigint,
                                             OUT hits bigint, OUT misses bigint)
AS 'MODULE_PATHNAME', 'acl_plan_cache_stats' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.plan_cache_stats() IS
    'this backend''s reuse of the plans of unprepared statements under row security (acl.plan_cache_size)';

CREATE FUNCTION @extschema@.dynamic_value(variable text, path text[]) RETURNS text
AS 'MODULE_PATHNAME', 'acl_dynamic_value' LANGUAGE C STABLE PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@.dynamic_values(variable text, path text[]) RETURNS text[]
AS 'MODULE_PATHNAME', 'acl_dynamic_values' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.dynamic_value(text, text[]) IS
    'the value of $CURRENT_USER.<path> (and $CURRENT_ROLE..., $CURRENT_ROLES..., $CURRENT_POLICIES...) for the current end user';

CREATE FUNCTION @extschema@.resolve(value jsonb) RETURNS jsonb
AS 'MODULE_PATHNAME', 'acl_resolve' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.resolve(jsonb) IS
    'a JSON document (presets, rule values) with every dynamic variable replaced by its value for the current end user';

CREATE FUNCTION @extschema@.validation_errors(rule jsonb, payload jsonb) RETURNS jsonb
AS 'MODULE_PATHNAME', 'acl_validation_errors' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.validation_errors(jsonb, jsonb) IS
    'the failures of a payload against a validation rule (Directus payload semantics); [] when it passes';
CREATE FUNCTION @extschema@.check_validation(rule jsonb, payload jsonb, collection text DEFAULT NULL) RETURNS void
AS 'MODULE_PATHNAME', 'acl_check_validation' LANGUAGE C STABLE PARALLEL RESTRICTED;

-- Inserted into queries by the planner hook (src/enforce.c); each acts for
-- the current end user at run time, so every role may call them.
-- Which branch of a managed table's read runs (src/enforce.c).
CREATE FUNCTION @extschema@._branch_open(branch integer, VARIADIC gates boolean[]) RETURNS boolean
AS 'MODULE_PATHNAME', 'acl_branch_open' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@._branch_open_gates(branch integer, gates text[]) RETURNS boolean
AS 'MODULE_PATHNAME', 'acl_branch_open_gates' LANGUAGE C STABLE PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@._denied_field(anyelement, regclass, text, text) RETURNS anyelement
AS 'MODULE_PATHNAME', 'acl_denied_field' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@._has_preset(regclass, text, text) RETURNS boolean
AS 'MODULE_PATHNAME', 'acl_has_preset' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@._preset(anyelement, regclass, text, text) RETURNS anyelement
AS 'MODULE_PATHNAME', 'acl_preset' LANGUAGE C STABLE PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@._validate(regclass, text, jsonb, jsonb, text[]) RETURNS boolean
AS 'MODULE_PATHNAME', 'acl_validate_write' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@._share_password(password text) RETURNS text
AS 'MODULE_PATHNAME', 'acl_share_password' LANGUAGE C VOLATILE STRICT;
-- End users' share rows are hashed by their own trigger: everyone may hash.

CREATE FUNCTION @extschema@._catalog_changed() RETURNS trigger
AS 'MODULE_PATHNAME', 'acl_catalog_changed' LANGUAGE C;

/* ---------------------------------------------------------------------------
 * Catalog checks.  Each refuses a bad row with a house-style error; nothing
 * is stored.
 * ------------------------------------------------------------------------- */

CREATE FUNCTION @extschema@._roles_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cursor_id uuid;
    steps     integer := 0;
BEGIN
    -- A dump carries the built-in row, which CREATE EXTENSION already made:
    -- restoring it means applying its edits.
    IF TG_OP = 'INSERT' AND @extschema@._is_builtin(NEW.id)
       AND EXISTS (SELECT 1 FROM @extschema@.roles r WHERE r.id = NEW.id) THEN
        UPDATE @extschema@.roles SET name = NEW.name, icon = NEW.icon,
               description = NEW.description, parent = NEW.parent
         WHERE id = NEW.id;
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        IF @extschema@._is_builtin(OLD.id) THEN
            RAISE EXCEPTION 'cannot delete the built-in Administrator role'
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = format('Role %s is created by CREATE EXTENSION acl.', OLD.id),
                      HINT = 'Detach users from it instead (UPDATE acl.users SET role = ...).';
        END IF;
        -- Directus semantics (spec §1.8): the role's users lose it and are suspended.
        UPDATE @extschema@.users SET status = 'suspended', role = NULL WHERE role = OLD.id;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.id <> OLD.id AND @extschema@._is_builtin(OLD.id) THEN
        RAISE EXCEPTION 'cannot change the id of the built-in Administrator role'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.parent IS NULL THEN
        RETURN NEW;
    END IF;
    -- Serialise parent changes so that two concurrent writes cannot close a cycle.
    LOCK TABLE @extschema@.roles IN SHARE ROW EXCLUSIVE MODE;
    cursor_id := NEW.parent;
    WHILE cursor_id IS NOT NULL LOOP
        IF cursor_id = NEW.id THEN
            RAISE EXCEPTION 'role "%" cannot have "%" as parent', NEW.name, NEW.parent
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = CASE WHEN NEW.parent = NEW.id
                                    THEN format('Role %s would be its own parent.', NEW.id)
                                    ELSE format('Role %s is already an ancestor of role %s; the role tree would contain a cycle.',
                                                NEW.id, NEW.parent) END,
                      HINT = 'Choose a parent that is not the role itself or one of its descendants.';
        END IF;
        steps := steps + 1;
        IF steps > 10000 THEN
            RAISE EXCEPTION 'role tree above "%" is deeper than 10000 levels', NEW.name
                USING ERRCODE = 'program_limit_exceeded';
        END IF;
        SELECT r.parent INTO cursor_id FROM @extschema@.roles r WHERE r.id = cursor_id;
    END LOOP;
    RETURN NEW;
END
$$;

CREATE TRIGGER roles_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.roles
    FOR EACH ROW EXECUTE FUNCTION @extschema@._roles_check();

CREATE FUNCTION @extschema@._policies_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    entry text;
BEGIN
    -- Restoring a dumped built-in policy applies its edits (see _roles_check).
    IF TG_OP = 'INSERT' AND @extschema@._is_builtin(NEW.id)
       AND EXISTS (SELECT 1 FROM @extschema@.policies p WHERE p.id = NEW.id) THEN
        UPDATE @extschema@.policies SET name = NEW.name, icon = NEW.icon,
               description = NEW.description, ip_access = NEW.ip_access,
               enforce_tfa = NEW.enforce_tfa, admin_access = NEW.admin_access,
               app_access = NEW.app_access
         WHERE id = NEW.id;
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        IF @extschema@._is_builtin(OLD.id) THEN
            RAISE EXCEPTION 'cannot delete the built-in % policy', OLD.name
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = format('Policy %s is created by CREATE EXTENSION acl.', OLD.id),
                      HINT = 'Remove its permissions or access rows instead.';
        END IF;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND @extschema@._is_builtin(OLD.id) THEN
        IF NEW.id <> OLD.id THEN
            RAISE EXCEPTION 'cannot change the id of the built-in % policy', OLD.name
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF OLD.id = '7a0e3c57-5d0e-4a53-9b8e-5f0d6a1b0002' AND NOT NEW.admin_access THEN
            RAISE EXCEPTION 'the built-in Administrator policy must keep admin_access'
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Create another policy for restricted administrators.';
        END IF;
    END IF;
    IF NEW.ip_access IS NOT NULL THEN
        FOREACH entry IN ARRAY NEW.ip_access LOOP
            IF entry IS NULL OR (SELECT b.lo FROM @extschema@._ip_entry_bounds(entry) b) IS NULL THEN
                RAISE EXCEPTION 'invalid ip_access entry "%" in policy "%"', entry, NEW.name
                    USING ERRCODE = 'invalid_parameter_value',
                          DETAIL = format('ip_access is %s.', NEW.ip_access),
                          HINT = 'Use single addresses (10.0.0.1, ::1), CIDR blocks (192.168.0.0/24) or ranges (10.0.0.1-10.0.0.9); wildcards and netmasks are not accepted.';
            END IF;
        END LOOP;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER policies_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.policies
    FOR EACH ROW EXECUTE FUNCTION @extschema@._policies_check();

CREATE FUNCTION @extschema@._users_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.status IS NULL OR NEW.status NOT IN ('draft', 'invited', 'unverified', 'active',
                                                 'suspended', 'archived') THEN
        RAISE EXCEPTION 'invalid status "%" for user %', NEW.status, coalesce(NEW.email::text, NEW.id::text)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Valid statuses are draft, invited, unverified, active, suspended and archived.';
    END IF;
    IF NEW.token_hash IS NOT NULL AND octet_length(NEW.token_hash) <> 32 THEN
        RAISE EXCEPTION 'token_hash of user % is not a SHA-256 digest', coalesce(NEW.email::text, NEW.id::text)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Set static tokens with acl.set_user_token(user_id, token); the token itself is never stored.';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        NEW.date_updated := now();
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER users_check BEFORE INSERT OR UPDATE ON @extschema@.users
    FOR EACH ROW EXECUTE FUNCTION @extschema@._users_check();

CREATE FUNCTION @extschema@._access_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- Built-in access rows never change, so restoring one is a no-op.
    IF TG_OP = 'INSERT' AND @extschema@._is_builtin(NEW.id)
       AND EXISTS (SELECT 1 FROM @extschema@.access a WHERE a.id = NEW.id) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') AND @extschema@._is_builtin(OLD.id) THEN
        RAISE EXCEPTION 'cannot % the built-in access row %', lower(TG_OP), OLD.id
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'It attaches a built-in policy (Administrator or Public) to its principal.',
                  HINT = 'Attach or detach other policies instead.';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF NEW.role IS NOT NULL AND NEW."user" IS NOT NULL THEN
        RAISE EXCEPTION 'an access row cannot name both a role and a user'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('role = %s, user = %s.', NEW.role, NEW."user"),
                  HINT = 'Set role to attach the policy to a role, user to attach it to one user, or neither for the public principal.';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER access_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.access
    FOR EACH ROW EXECUTE FUNCTION @extschema@._access_check();

CREATE FUNCTION @extschema@._permissions_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    relkind  "char";
    field    text;
BEGIN
    IF NEW.action IS NULL OR NEW.action NOT IN ('create', 'read', 'update', 'delete', 'share') THEN
        RAISE EXCEPTION 'unknown action "%" in permission on %', NEW.action, NEW.collection
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Policy %s.', NEW.policy),
                  HINT = 'Valid actions are create, read, update, delete and share.';
    END IF;

    SELECT c.relkind INTO relkind FROM pg_class c WHERE c.oid = NEW.collection;
    IF relkind IS NULL OR relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'collection % is not a table', NEW.collection
            USING ERRCODE = 'wrong_object_type',
                  DETAIL = format('Permission for action %s of policy %s.', NEW.action, NEW.policy),
                  HINT = 'Permissions apply to ordinary or partitioned tables.';
    END IF;

    -- Checked when written, so that a later column rename or drop does not
    -- block unrelated edits of the row (the lifecycle of stale rows is the
    -- enforcement layer's business).
    IF NEW.fields IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.fields IS DISTINCT FROM OLD.fields
                                   OR NEW.collection IS DISTINCT FROM OLD.collection) THEN
        FOREACH field IN ARRAY NEW.fields LOOP
            IF field IS NULL THEN
                RAISE EXCEPTION 'fields of a permission on % contains NULL', NEW.collection
                    USING ERRCODE = 'null_value_not_allowed',
                          HINT = 'List column names, or ''*'' for all columns.';
            END IF;
            IF field <> '*' AND NOT EXISTS (
                    SELECT 1 FROM pg_attribute a
                     WHERE a.attrelid = NEW.collection AND a.attname = field
                       AND a.attnum > 0 AND NOT a.attisdropped) THEN
                RAISE EXCEPTION 'column "%" of relation % does not exist', field, NEW.collection
                    USING ERRCODE = 'undefined_column',
                          DETAIL = format('fields of the %s permission of policy %s is %s.',
                                          NEW.action, NEW.policy, NEW.fields),
                          HINT = 'List existing column names, or ''*'' for all columns.';
            END IF;
        END LOOP;
    END IF;

    -- Parsed, type-checked against the live table and compiled (C).
    PERFORM @extschema@._check_permission(NEW.collection, NEW.permissions, NEW.validation,
                                          NEW.presets);
    IF NEW.action NOT IN ('create', 'update') AND
       (NEW.validation IS NOT NULL OR NEW.presets IS NOT NULL) THEN
        RAISE EXCEPTION 'a % permission cannot carry validation or presets', NEW.action
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Permission on %s of policy %s.', NEW.collection, NEW.policy),
                  HINT = 'Validation and presets apply to create and update permissions only; set them to NULL.';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER permissions_check BEFORE INSERT OR UPDATE ON @extschema@.permissions
    FOR EACH ROW EXECUTE FUNCTION @extschema@._permissions_check();

-- The compiled rules of the current end user's share permissions on a
-- table: what _shares_check() evaluates, with the end user's own rights.
CREATE FUNCTION @extschema@._share_rules(collection regclass)
RETURNS TABLE (permission bigint, policy uuid, rule text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.id, p.policy, @extschema@.compile(p.collection, p.permissions)
      FROM @extschema@.permissions p
     WHERE p.collection = _share_rules.collection AND p.action = 'share'
       AND @extschema@.has_policy(p.policy)
     ORDER BY p.id
$$;

-- Row checks.  An end user's session (a role that row security binds) may
-- create a share only through a managed acl.shares, with a create
-- permission on it, a share permission matching the item, as itself, and
-- with its own role or none (Directus PR #25777).
CREATE FUNCTION @extschema@._shares_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    end_user boolean := NOT coalesce((SELECT r.rolsuper OR r.rolbypassrls FROM pg_roles r
                                       WHERE r.rolname = current_user), false);
    pk       name;
    pktype   text;
    found    boolean;
    matched  boolean;
    held     text[] := '{}';
    perm     record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = NEW.collection AND c.relkind IN ('r', 'p')) THEN
        RAISE EXCEPTION 'collection % is not a table', NEW.collection
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'Shares point at one row of an ordinary or partitioned table.';
    END IF;
    IF NEW.date_start IS NOT NULL AND NEW.date_end IS NOT NULL AND NEW.date_end < NEW.date_start THEN
        RAISE EXCEPTION 'share of % item % ends before it starts', NEW.collection, NEW.item
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('date_start is %s, date_end is %s.', NEW.date_start, NEW.date_end),
                  HINT = 'Set date_end after date_start, or leave either NULL for an open end.';
    END IF;
    IF NEW.max_uses < 0 OR NEW.times_used < 0 THEN
        RAISE EXCEPTION 'share of % item % has a negative use count', NEW.collection, NEW.item
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('max_uses is %s, times_used is %s.', NEW.max_uses, NEW.times_used),
                  HINT = 'max_uses is NULL (unlimited) or at least 0.';
    END IF;
    IF end_user THEN
        IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = '@extschema@.shares'::regclass
                                                 AND polname = 'acl_admin') THEN
            RAISE EXCEPTION 'permission denied to write acl.shares: it is not managed'
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = format('Role %s is bound by row security, and no permission governs acl.shares yet.', current_user),
                      HINT = 'Add create (and read) permissions on acl.shares for the policies that may share, or write shares as a DBA.';
        END IF;
        IF TG_OP = 'INSERT' THEN
            IF @extschema@.current_user_id() IS NULL THEN
                RAISE EXCEPTION 'permission denied to create a share without an end user'
                    USING ERRCODE = 'insufficient_privilege',
                          DETAIL = 'A share borrows its creator''s permissions; the public principal and shares have none to lend.',
                          HINT = 'Set acl.user_id or acl.token to the user who shares.';
            END IF;
            NEW.user_created := @extschema@.current_user_id();
            NEW.times_used := 0;
            NEW.date_created := now();
        ELSIF NEW.user_created IS DISTINCT FROM OLD.user_created OR NEW.times_used <> OLD.times_used
              OR NEW.date_created <> OLD.date_created THEN
            RAISE EXCEPTION 'permission denied to change user_created, times_used or date_created of share %', OLD.id
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Only a DBA may change these columns; create a new share instead.';
        END IF;
        IF NEW.role IS NOT NULL AND NEW.role IS DISTINCT FROM @extschema@.current_role_id()
           AND NOT @extschema@.is_admin() THEN
            RAISE EXCEPTION 'permission denied to share with role %', NEW.role
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = format('User %s has role %s.', @extschema@.current_user_id(),
                                      coalesce(@extschema@.current_role_id()::text, 'none')),
                      HINT = 'Share with the user''s own role, or with none (the public policies).';
        END IF;
    END IF;
    -- The item: a row of a table with a one-column primary key.  Checked
    -- with the writer's own rights, so an end user can share only what
    -- they can read, and learns nothing about other rows.  A restore
    -- (row_security off, only for those who bypass it) may load acl.shares
    -- before the shared table's rows.
    IF (TG_OP = 'INSERT' OR NEW.collection IS DISTINCT FROM OLD.collection OR NEW.item IS DISTINCT FROM OLD.item)
       AND (end_user OR current_setting('row_security') <> 'off') THEN
        SELECT a.attname, format_type(a.atttypid, a.atttypmod) INTO pk, pktype
          FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
         WHERE i.indrelid = NEW.collection AND i.indisprimary AND i.indnatts = 1;
        IF pk IS NULL THEN
            RAISE EXCEPTION 'table % cannot be shared', NEW.collection
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'A share names one row by its primary key, and the table has no one-column primary key.',
                      HINT = 'Add a one-column primary key to the table.';
        END IF;
        -- Each share rule is compiled once: held lists them, matched says
        -- whether one matches the item (as the end user sees it).
        matched := false;
        IF end_user AND NOT @extschema@.is_admin() THEN
            FOR perm IN SELECT * FROM @extschema@._share_rules(NEW.collection) LOOP
                held := held || format('%s (policy %s)', perm.permission, perm.policy);
                IF NOT matched THEN
                    BEGIN
                        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I = CAST($1 AS %s) AND %s)',
                                       NEW.collection, pk, pktype, perm.rule)
                           INTO matched USING NEW.item;
                    EXCEPTION WHEN data_exception THEN
                        matched := false;   -- a bad item is reported below
                    END;
                END IF;
            END LOOP;
            IF cardinality(held) = 0 THEN
                RAISE EXCEPTION 'permission denied to share % item %', NEW.collection, NEW.item
                    USING ERRCODE = 'insufficient_privilege',
                          DETAIL = format('User %s holds no share permission on %s.',
                                          @extschema@.current_user_id(), NEW.collection),
                          HINT = 'Add a share permission on the table to one of the user''s policies.';
            END IF;
        END IF;
        BEGIN
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I = CAST($1 AS %s))', NEW.collection, pk, pktype)
               INTO found USING NEW.item;
        EXCEPTION WHEN data_exception THEN
            RAISE EXCEPTION 'share item % is not a valid % for %.%', quote_literal(NEW.item), pktype, NEW.collection, pk
                USING ERRCODE = 'invalid_text_representation',
                      HINT = 'item is the primary key of the shared row, as text.';
        END;
        IF NOT found THEN
            RAISE EXCEPTION 'table % has no row with % = %', NEW.collection, pk, quote_literal(NEW.item)
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = CASE WHEN end_user THEN 'Only rows the end user can read can be shared.'
                                    ELSE 'The table has no such row.' END,
                      HINT = 'Share an existing row.';
        END IF;
        IF end_user AND NOT @extschema@.is_admin() THEN
            IF NOT matched THEN
                RAISE EXCEPTION 'permission denied to share % item %', NEW.collection, NEW.item
                    USING ERRCODE = 'insufficient_privilege',
                          DETAIL = format('No share rule of user %s matches the item; share permissions held: %s.',
                                          @extschema@.current_user_id(), array_to_string(held, ', ')),
                          HINT = 'Share an item the rules match, or widen a share permission''s rule.';
            END IF;
        END IF;
    END IF;
    IF NEW.password IS NOT NULL AND
       (TG_OP = 'INSERT' OR NEW.password IS DISTINCT FROM OLD.password) THEN
        NEW.password := @extschema@._share_password(NEW.password);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER shares_check BEFORE INSERT OR UPDATE ON @extschema@.shares
    FOR EACH ROW EXECUTE FUNCTION @extschema@._shares_check();

-- Any committed change to the catalog drops every backend's cached access.
CREATE TRIGGER roles_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.roles
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._catalog_changed();
CREATE TRIGGER policies_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.policies
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._catalog_changed();
CREATE TRIGGER users_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.users
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._catalog_changed();
CREATE TRIGGER access_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.access
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._catalog_changed();
CREATE TRIGGER permissions_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.permissions
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._catalog_changed();
CREATE TRIGGER shares_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.shares
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._catalog_changed();

CREATE TRIGGER share_sessions_changed AFTER UPDATE OR DELETE OR TRUNCATE ON @extschema@.share_sessions
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._catalog_changed();

-- Logical replication applies changes with session_replication_role =
-- replica, where ordinary triggers stay silent; caches must still be dropped.
ALTER TABLE @extschema@.roles ENABLE ALWAYS TRIGGER roles_changed;
ALTER TABLE @extschema@.policies ENABLE ALWAYS TRIGGER policies_changed;
ALTER TABLE @extschema@.users ENABLE ALWAYS TRIGGER users_changed;
ALTER TABLE @extschema@.access ENABLE ALWAYS TRIGGER access_changed;
ALTER TABLE @extschema@.permissions ENABLE ALWAYS TRIGGER permissions_changed;
ALTER TABLE @extschema@.shares ENABLE ALWAYS TRIGGER shares_changed;

/* ---------------------------------------------------------------------------
 * Enforcement: every table named by a permission is managed.  Its rows are
 * guarded by ordinary, visible row-level security policies named acl_...:
 * acl_admin for administrators, and one acl_<action>_<permission id> per
 * permission row, gated by acl.has_policy(<policy>), which src/gates.c
 * turns into an initplan: the end user is read when a plan runs, once.  A
 * gate is a plain call, not (SELECT ...): row security copies and rewrites
 * every policy expression for every query, and a sublink is a whole query
 * to copy.  Generated inside the transaction that changes acl.permissions,
 * so a rollback restores them.
 * ------------------------------------------------------------------------- */

-- What acl.sync() generated for each managed table: the statement behind
-- each policy and a fingerprint of the pg_policy row it produced, and the
-- permission rows the table's plans were built from.  A sync that would
-- generate the same statement for a policy whose row still has that
-- fingerprint leaves it alone: DROP/CREATE POLICY takes ACCESS EXCLUSIVE on
-- the table and rebuilds its row-security descriptor.  Anything that does
-- not match (a policy edited or dropped by hand, a restore, an OID reused)
-- is regenerated.  Not configuration: a dump leaves it out, and the first
-- sync after a restore regenerates everything.
CREATE TABLE @extschema@._synced_tables (
    relid  oid PRIMARY KEY,
    inputs text NOT NULL            -- md5 of the permission rows behind the table's plans
);
CREATE TABLE @extschema@._synced_policies (
    relid       oid NOT NULL,
    polname     name NOT NULL,
    definition  text NOT NULL,      -- the CREATE POLICY statement
    fingerprint text NOT NULL,      -- of the pg_policy row it produced
    PRIMARY KEY (relid, polname)
);
REVOKE ALL ON @extschema@._synced_tables, @extschema@._synced_policies FROM PUBLIC;

-- The generated policies of a table as stored: stored node trees change with
-- any ALTER POLICY, and are the same for the same statement.
CREATE FUNCTION @extschema@._installed_policies(tbl regclass)
RETURNS TABLE (polname name, fingerprint text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.polname, md5(concat_ws('|', p.polcmd, p.polpermissive, p.polroles::text,
                                    p.polqual::text, p.polwithcheck::text))
      FROM pg_policy p
     WHERE p.polrelid = tbl AND p.polname LIKE 'acl\_%'
$$;
REVOKE ALL ON FUNCTION @extschema@._installed_policies(regclass) FROM PUBLIC;

CREATE FUNCTION @extschema@._replan_table(tbl regclass) RETURNS void
AS 'MODULE_PATHNAME', 'acl_replan_table' LANGUAGE C STRICT;
REVOKE ALL ON FUNCTION @extschema@._replan_table(regclass) FROM PUBLIC;

CREATE FUNCTION @extschema@._sync_one(tbl regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    perm       record;
    gate       text;
    rule       text;
    reach      text;
    role_arms  text := '';
    owner_arms text := '';
    sharing    boolean := @extschema@._shares_in_use();
    plan_inputs text := sharing::text;
    policy_name name;
    stale       name[];
    missing     integer;
    -- acl_admin first: it marks the table managed for _ddl_sync(), which
    -- the ALTER TABLEs below fire.
    names      name[] := '{acl_admin}';
    statements text[] := ARRAY[format('CREATE POLICY acl_admin ON %s AS PERMISSIVE FOR ALL TO PUBLIC'
                                      ' USING (@extschema@.is_admin()) WITH CHECK (@extschema@.is_admin())', tbl)];
    i          integer;
    changed    boolean := false;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = tbl AND c.relkind IN ('r', 'p')) THEN
        DELETE FROM @extschema@._synced_tables WHERE relid = tbl;
        DELETE FROM @extschema@._synced_policies WHERE relid = tbl;
        RETURN;                 -- dropped: its policies went with it
    END IF;
    -- A partition or inheritance child read directly is governed by its
    -- ancestors' permissions (src/enforce.c reads the same set).
    FOR perm IN WITH RECURSIVE up(rel) AS (
                    SELECT tbl::oid
                    UNION SELECT i.inhparent FROM pg_inherits i JOIN up ON i.inhrelid = up.rel)
                SELECT p.* FROM @extschema@.permissions p
                 WHERE p.collection IN (SELECT rel FROM up) AND p.action IN ('create', 'read', 'update', 'delete')
                 ORDER BY p.id LOOP
        plan_inputs := plan_inputs || E'\n' || row(perm.id, perm.collection::oid, perm.policy, perm.action, perm.permissions,
                                          perm.fields, perm.presets, perm.validation)::text;
        gate := format('@extschema@.has_policy(%L::uuid)', perm.policy);
        BEGIN
            -- Create rules are not evaluated, as in Directus (spec §4.1).
            rule := CASE WHEN perm.action = 'create' THEN 'true'
                         ELSE @extschema@.compile(tbl, perm.permissions) END;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'permission % (% on %) no longer compiles, so it grants nothing', perm.id, perm.action, tbl
                USING DETAIL = SQLERRM,
                      HINT = 'See SELECT * FROM acl.lint(); rewrite or delete the permission.';
            rule := 'false';
        END;
        policy_name := 'acl_' || perm.action || '_' || perm.id;
        names := names || policy_name;
        CASE perm.action
            WHEN 'read' THEN
                statements := statements || format('CREATE POLICY %I ON %s AS PERMISSIVE FOR SELECT TO PUBLIC USING (%s AND %s)',
                               policy_name, tbl,
                               format('@extschema@.has_policy(%L::uuid, ''read'')', perm.policy), rule);
                IF sharing AND rule <> 'false' THEN
                    role_arms := role_arms || format(' OR (@extschema@._share_has_policy(''role'', %L::uuid) AND %s)',
                                                     perm.policy, @extschema@._compile_for_share(tbl, perm.permissions, 'role'));
                    owner_arms := owner_arms || format(' OR (@extschema@._share_has_policy(''creator'', %L::uuid) AND %s)',
                                                       perm.policy, @extschema@._compile_for_share(tbl, perm.permissions, 'creator'));
                END IF;
            WHEN 'update' THEN
                -- No check of the row after the update (spec §4.2 step 6).
                statements := statements || format('CREATE POLICY %I ON %s AS PERMISSIVE FOR UPDATE TO PUBLIC USING (%s AND %s) WITH CHECK (%s)',
                               policy_name, tbl, gate, rule, gate);
            WHEN 'delete' THEN
                statements := statements || format('CREATE POLICY %I ON %s AS PERMISSIVE FOR DELETE TO PUBLIC USING (%s AND %s)',
                               policy_name, tbl, gate, rule);
            WHEN 'create' THEN
                statements := statements || format('CREATE POLICY %I ON %s AS PERMISSIVE FOR INSERT TO PUBLIC WITH CHECK (%s)',
                               policy_name, tbl, gate);
        END CASE;
    END LOOP;
    -- What a share session reads (src/share.c): rows reachable from the
    -- shared item through the key columns below, matched by both the share
    -- role's and the creator's read rules.  Only once shares are in use, so
    -- that databases without them plan nothing extra.
    IF sharing THEN
        -- CAST keeps ANY on the array: ANY ((SELECT ...)) would compare rows.
        SELECT string_agg(format('%I = ANY (CAST((SELECT @extschema@._share_keys(NULL::%s, %L::regclass, %L)) AS %s[]))',
                                 a.attname, format_type(a.atttypid, a.atttypmod), tbl, a.attname,
                                 format_type(a.atttypid, a.atttypmod)),
                          ' OR ' ORDER BY a.attnum)
          INTO reach
          FROM pg_attribute a
         WHERE a.attrelid = tbl AND NOT a.attisdropped
           AND a.attnum IN (SELECT i.indkey[0] FROM pg_index i
                             WHERE i.indrelid = tbl AND i.indisprimary AND i.indnatts = 1
                            UNION SELECT c.conkey[1] FROM pg_constraint c
                             WHERE c.conrelid = tbl AND c.contype = 'f' AND cardinality(c.conkey) = 1
                            UNION SELECT c.confkey[1] FROM pg_constraint c
                             WHERE c.confrelid = tbl AND c.contype = 'f' AND cardinality(c.confkey) = 1);
        IF reach IS NOT NULL THEN
            names := names || 'acl_share'::name;
            statements := statements || format('CREATE POLICY acl_share ON %s AS PERMISSIVE FOR SELECT TO PUBLIC USING ('
                           '@extschema@._share_reads(%L::regclass) AND (%s)'
                           ' AND (@extschema@._share_is_admin(''role'')%s)'
                           ' AND (@extschema@._share_is_admin(''creator'')%s))',
                           tbl, tbl, reach, role_arms, owner_arms);
        END IF;
    END IF;

    -- Drop what is not wanted, or not as generated; create what is missing.
    stale := ARRAY(SELECT ip.polname FROM @extschema@._installed_policies(tbl) ip
                     LEFT JOIN @extschema@._synced_policies sp ON sp.relid = tbl AND sp.polname = ip.polname
                     LEFT JOIN unnest(names, statements) AS want(polname, statement) ON want.polname = ip.polname
                    WHERE want.statement IS DISTINCT FROM sp.definition OR ip.fingerprint IS DISTINCT FROM sp.fingerprint);
    missing := cardinality(names) - (SELECT count(*) FROM pg_policy p
                                      WHERE p.polrelid = tbl AND p.polname = ANY (names) AND p.polname <> ALL (stale));
    -- Every policy command rebuilds the table's row-security descriptor,
    -- which parses all its policies: a whole table's worth of commands is
    -- quadratic.  With row security off there is no descriptor to build.
    -- It is back on below, before anyone can see it was off: other sessions
    -- see this transaction's catalog changes only once it commits.  Only
    -- while acl_admin is in place, which keeps _ddl_sync() from syncing the
    -- table again when the ALTER TABLE fires it.
    IF cardinality(stale) + missing > 4
       AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = tbl AND c.relrowsecurity)
       AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = tbl AND p.polname = 'acl_admin') THEN
        EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', tbl);
    END IF;
    FOREACH policy_name IN ARRAY stale LOOP
        EXECUTE format('DROP POLICY %I ON %s', policy_name, tbl);
    END LOOP;
    FOR i IN 1 .. cardinality(names) LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = tbl AND p.polname = names[i]) THEN
            EXECUTE statements[i];
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = tbl AND c.relrowsecurity AND c.relforcerowsecurity) THEN
        -- Forced: table owners are bound too; only superusers and BYPASSRLS
        -- roles pass.  A table keeps this after its last permission goes:
        -- removing access must not reopen the table.
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', tbl);
    END IF;
    changed := cardinality(stale) + missing > 0;
    IF changed THEN
        DELETE FROM @extschema@._synced_policies WHERE relid = tbl;
        INSERT INTO @extschema@._synced_policies (relid, polname, definition, fingerprint)
        SELECT tbl, want.polname, want.statement, ip.fingerprint
          FROM unnest(names, statements) AS want(polname, statement)
          JOIN @extschema@._installed_policies(tbl) ip ON ip.polname = want.polname;
    END IF;
    plan_inputs := md5(plan_inputs);
    IF NOT EXISTS (SELECT 1 FROM @extschema@._synced_tables st WHERE st.relid = tbl AND st.inputs = plan_inputs) THEN
        -- Regenerated policies replan the table's plans; field lists,
        -- presets and validation are in those plans too.
        IF NOT changed THEN
            PERFORM @extschema@._replan_table(tbl);
        END IF;
        INSERT INTO @extschema@._synced_tables AS st (relid, inputs) VALUES (tbl, plan_inputs)
            ON CONFLICT (relid) DO UPDATE SET inputs = excluded.inputs;
    END IF;
END
$$;

-- Shares are in use once a share permission or a share exists.
CREATE FUNCTION @extschema@._shares_in_use() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM @extschema@.permissions WHERE action = 'share')
        OR EXISTS (SELECT 1 FROM @extschema@.shares)
$$;

-- The first share permission or share gives every managed table acl_share.
-- Returns whether it synced.  Callers run it before syncing single tables,
-- which would otherwise create the first acl_share and hide the need.
CREATE FUNCTION @extschema@._shares_begin() RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF @extschema@._shares_in_use()
       AND NOT EXISTS (SELECT 1 FROM pg_policy WHERE polname = 'acl_share') THEN
        PERFORM @extschema@.sync();
        RETURN true;
    END IF;
    RETURN false;
END
$$;
REVOKE ALL ON FUNCTION @extschema@._shares_begin() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._sync_one(regclass) FROM PUBLIC;

-- A table and every partition and inheritance child below it.
CREATE FUNCTION @extschema@._sync_table(tbl regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    target regclass;
BEGIN
    FOR target IN WITH RECURSIVE down(rel) AS (
                      SELECT tbl::oid
                      UNION SELECT i.inhrelid FROM pg_inherits i JOIN down ON i.inhparent = down.rel)
                  SELECT rel::regclass FROM down LOOP
        PERFORM @extschema@._sync_one(target);
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION @extschema@._sync_table(regclass) FROM PUBLIC;

-- Every managed table: named by a permission, or still carrying acl_admin.
CREATE FUNCTION @extschema@.sync() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbl regclass;
    n   integer := 0;
BEGIN
    FOR tbl IN SELECT p.collection FROM @extschema@.permissions p
               UNION
               SELECT pol.polrelid::regclass FROM pg_policy pol WHERE pol.polname = 'acl_admin' LOOP
        PERFORM @extschema@._sync_table(tbl);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.sync() IS
    'regenerates the row-level security policies of every managed table; returns how many';
REVOKE ALL ON FUNCTION @extschema@.sync() FROM PUBLIC;

-- A table no permission names yet is not managed; this closes it now (only
-- administrators), as Directus closes a collection without permissions.
CREATE FUNCTION @extschema@.manage(tbl regclass) RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT @extschema@._sync_table(tbl) $$;
COMMENT ON FUNCTION @extschema@.manage(regclass) IS
    'puts a table under acl (forced row-level security) before any permission names it';
REVOKE ALL ON FUNCTION @extschema@.manage(regclass) FROM PUBLIC;

-- pg_dump output runs with row_security = off and recreates the generated
-- policies itself (they are ordinary policies of the user's tables), after
-- the catalog rows; regenerating them then would collide.
CREATE FUNCTION @extschema@._sync_skipped() RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF current_setting('row_security') = 'off' THEN
        RAISE NOTICE 'acl: row_security is off (a restore?), so generated policies were not refreshed'
            USING HINT = 'Run SELECT acl.sync() once the load is done.';
        RETURN true;
    END IF;
    RETURN false;
END
$$;

-- One function for all four triggers: each branch reads only the transition
-- tables its event has (plpgsql plans a statement when it first runs it).
CREATE FUNCTION @extschema@._permissions_sync() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tables regclass[] := '{}';
    tbl    regclass;
BEGIN
    -- Only additions wait for the restore's own policies: skipping a
    -- removal would leave its policy granting what was revoked.
    IF TG_OP = 'INSERT' AND @extschema@._sync_skipped() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM @extschema@.sync();
        RETURN NULL;
    END IF;
    IF @extschema@._shares_begin() THEN
        RETURN NULL;            -- synced every table already
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        tables := tables || ARRAY(SELECT DISTINCT collection FROM changed_new);
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        tables := tables || ARRAY(SELECT DISTINCT collection FROM changed_old);
    END IF;
    FOR tbl IN SELECT DISTINCT t FROM unnest(tables) AS u(t) LOOP
        PERFORM @extschema@._sync_table(tbl);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER permissions_sync_insert AFTER INSERT ON @extschema@.permissions
    REFERENCING NEW TABLE AS changed_new
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._permissions_sync();
CREATE TRIGGER permissions_sync_update AFTER UPDATE ON @extschema@.permissions
    REFERENCING NEW TABLE AS changed_new OLD TABLE AS changed_old
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._permissions_sync();
CREATE TRIGGER permissions_sync_delete AFTER DELETE ON @extschema@.permissions
    REFERENCING OLD TABLE AS changed_old
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._permissions_sync();
CREATE TRIGGER permissions_sync_truncate AFTER TRUNCATE ON @extschema@.permissions
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._permissions_sync();

-- A partition or child created under, or attached to, a managed table is
-- managed at once: read directly, it would otherwise bypass its parent.
CREATE FUNCTION @extschema@._ddl_sync() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    obj record;
BEGIN
    -- ATTACH PARTITION names the parent: look below every table touched.
    FOR obj IN WITH RECURSIVE down(rel) AS (
                   SELECT c.objid FROM pg_event_trigger_ddl_commands() c
                    WHERE c.classid = 'pg_class'::regclass AND c.object_type = 'table'
                   UNION SELECT i.inhrelid FROM pg_inherits i JOIN down ON i.inhparent = down.rel)
               SELECT d.rel FROM down d
                WHERE NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = d.rel AND polname = 'acl_admin') LOOP
        IF EXISTS (WITH RECURSIVE up(rel) AS (
                       SELECT i.inhparent FROM pg_inherits i WHERE i.inhrelid = obj.rel
                       UNION SELECT i.inhparent FROM pg_inherits i JOIN up ON i.inhrelid = up.rel)
                   SELECT 1 FROM up JOIN pg_policy p ON p.polrelid = up.rel AND p.polname = 'acl_admin') THEN
            PERFORM @extschema@._sync_table(obj.rel::regclass);
        END IF;
    END LOOP;
END
$$;
CREATE EVENT TRIGGER acl_ddl_sync ON ddl_command_end WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
    EXECUTE FUNCTION @extschema@._ddl_sync();

-- ALTER TABLE ... RENAME [COLUMN] renames the column or table in the permissions
-- that name it: the table's own fields and keys, and relational rules of any table.
CREATE FUNCTION @extschema@._rename_field(rule jsonb, old_name text, new_name text) RETURNS jsonb
AS 'MODULE_PATHNAME', 'acl_rename_field' LANGUAGE C IMMUTABLE STRICT;
CREATE FUNCTION @extschema@._rename_in_rule(collection regclass, rule jsonb, renamed regclass,
                                            old_name text, new_name text, is_table boolean) RETURNS jsonb
AS 'MODULE_PATHNAME', 'acl_rename_in_rule' LANGUAGE C STABLE STRICT;
CREATE FUNCTION @extschema@._ddl_rename() RETURNS event_trigger
AS 'MODULE_PATHNAME', 'acl_ddl_rename' LANGUAGE C;
CREATE EVENT TRIGGER acl_ddl_rename ON ddl_command_end WHEN TAG IN ('ALTER TABLE')
    EXECUTE FUNCTION @extschema@._ddl_rename();

CREATE FUNCTION @extschema@._shares_sync() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT @extschema@._sync_skipped() THEN
        PERFORM @extschema@._shares_begin();
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER shares_sync AFTER INSERT ON @extschema@.shares
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._shares_sync();

/* ---------------------------------------------------------------------------
 * pg_dump: the catalog is configuration.  Built-in rows are dumped too, so
 * that their edits survive; the checks above turn their restore into an
 * update of the rows CREATE EXTENSION made.
 * ------------------------------------------------------------------------- */

SELECT pg_catalog.pg_extension_config_dump('@extschema@.roles', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.policies', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.access', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.users', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.permissions', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.permissions_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.shares', '');
