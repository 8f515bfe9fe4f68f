#!/usr/bin/env bash
# The demo command (README): builds acl, starts a throwaway cluster, loads the
# diabetes-network demo (test/demo.sql) and prints who may do what.  Run it as
# root on Debian 12; it leaves nothing running.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"

acl_install_packages
acl_build_install
acl_start_cluster demo 55490

DB=acl_demo

# Every query goes over TCP to 127.0.0.1, because ip_access is matched
# against the client address and a Unix-socket client has none: over the
# socket, IP-restricted policies would silently drop out.  The one socket
# connection below is there to show exactly that.
sql() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -d "$DB" "$@"; }

# as_principal ID PSQL-ARGS...: run queries as an end user ('' = public).
# A fresh session each time, so no identity leaks from one to the next.
as_principal() {
    local id=$1; shift
    sql -c "SET acl.user_id = '$id'" "$@"
}

section() {
    printf '\n%s\n %s\n%s\n' "$(printf '=%.0s' {1..78})" "$1" "$(printf '=%.0s' {1..78})"
}

section "Loading the demo: database $DB, CREATE EXTENSION acl, test/demo.sql"
createdb -h 127.0.0.1 "$DB"
sql -c 'CREATE EXTENSION acl'
sql -f "$ACL_ROOT/test/demo.sql"
echo "loaded; every query below connects over TCP to 127.0.0.1:$ACL_PORT as the superuser postgres"

section "Role tree (a role inherits the policies of every role above it)"
sql <<'SQL'
WITH RECURSIVE tree AS (
    SELECT id, name, 0 AS depth, ARRAY[name::text] AS path
      FROM acl.roles WHERE parent IS NULL
    UNION ALL
    SELECT r.id, r.name, t.depth + 1, t.path || r.name::text
      FROM acl.roles r JOIN tree t ON r.parent = t.id
)
SELECT repeat('    ', t.depth) || t.name AS role,
       coalesce((SELECT string_agg(p.name, ', ' ORDER BY a.sort, p.name)
                   FROM acl.access a JOIN acl.policies p ON p.id = a.policy
                  WHERE a.role = t.id), '') AS "policies attached",
       (SELECT count(*) FROM acl.users u WHERE u.role = t.id) AS users
  FROM tree t
 ORDER BY t.path;
SQL

section "Users"
sql <<'SQL'
SELECT u.email, u.first_name || ' ' || u.last_name AS name,
       coalesce(r.name, '(no role)') AS role, u.status,
       coalesce((SELECT string_agg(p.name, ', ' ORDER BY a.sort)
                   FROM acl.access a JOIN acl.policies p ON p.id = a.policy
                  WHERE a."user" = u.id), '') AS "policies attached to the user"
  FROM acl.users u LEFT JOIN acl.roles r ON r.id = u.role
 ORDER BY u.id;
SQL

section "Policies and their permission rows"
sql -At <<'SQL'
SELECT line
  FROM (SELECT p.id AS policy, 0 AS n,
               format('%s (for %s)%s%s', p.name,
                      (SELECT string_agg(CASE WHEN a.role IS NOT NULL THEN 'role ' || r.name
                                              WHEN a."user" IS NOT NULL THEN 'user ' || u.email
                                              ELSE 'the public principal' END, ', ' ORDER BY a.sort, a.id)
                         FROM acl.access a
                         LEFT JOIN acl.roles r ON r.id = a.role
                         LEFT JOIN acl.users u ON u.id = a."user"
                        WHERE a.policy = p.id),
                      CASE WHEN p.admin_access THEN ' [admin_access: skips every permission check]' ELSE '' END,
                      CASE WHEN cardinality(p.ip_access) > 0
                           THEN format(' [ip_access %s]', array_to_string(p.ip_access, ', ')) ELSE '' END)
          FROM acl.policies p
        UNION ALL
        SELECT pm.policy, pm.id,
               rtrim(format('    %-6s %-17s', pm.action, pm.collection)
               || concat_ws('  ',
                     'rule ' || pm.permissions::text,
                     'fields ' || array_to_string(pm.fields, ','),
                     'validation ' || pm.validation::text,
                     'presets ' || pm.presets::text))
          FROM acl.permissions pm) AS l(policy, n, line)
 -- Public first: it is what everybody starts from.
 ORDER BY l.policy = 'abf8a154-5b1c-4a46-ac9c-7300570f4f17' DESC, l.policy, l.n;
SQL

IDENTITY_SQL=$(cat <<'SQL'
SELECT format('  %-9s %s', k, v)
  FROM (VALUES
    (1, 'who', coalesce((SELECT format('%s %s <%s>', u.first_name, u.last_name, u.email)
                           FROM acl.users u WHERE u.id = acl.current_user_id()),
                        'the public principal (acl.current_user_id() is NULL)')),
    (2, 'roles', coalesce((SELECT string_agg(r.name, ' > ' ORDER BY t.ord)
                             FROM unnest(acl.current_roles()) WITH ORDINALITY AS t(id, ord)
                             JOIN acl.roles r ON r.id = t.id), '(none)')),
    (3, 'policies', coalesce((SELECT string_agg(p.name, ', ' ORDER BY t.ord)
                                FROM unnest(acl.current_policies()) WITH ORDINALITY AS t(id, ord)
                                JOIN acl.policies p ON p.id = t.id), '(none)')),
    (4, 'is_admin', acl.is_admin()::text)
  ) AS line(n, k, v)
 ORDER BY n;
SQL
)

# Markers appear only where they mean something for the action: Directus
# gives create no item rule, and delete and share touch no columns.
MATRIX_SQL=$(cat <<'SQL'
WITH ep AS (
    SELECT * FROM acl.effective_permissions(acl.current_user_id())
), marks AS (
    SELECT collection, action,
           CASE WHEN action <> 'create'
                     AND bool_and(coalesce(permissions, '{}') <> '{}') THEN 'R' ELSE '' END
           -- A row without an item rule that grants '*' shows every column
           -- everywhere, whatever narrower rows say (spec 3.3, "Always").
        || CASE WHEN action IN ('create', 'read', 'update')
                     AND bool_or(NOT coalesce('*' = ANY (fields), false))
                     AND NOT coalesce(bool_or((action = 'create' OR coalesce(permissions, '{}') = '{}')
                                              AND '*' = ANY (fields)), false)
                THEN 'C' ELSE '' END
        || CASE WHEN bool_or(coalesce(validation, '{}') <> '{}') THEN 'V' ELSE '' END
        || CASE WHEN bool_or(coalesce(presets, '{}') <> '{}') THEN 'P' ELSE '' END AS mark
      FROM ep
     GROUP BY collection, action
), cells AS (
    SELECT c.relname, x.action,
           CASE WHEN acl.is_admin() THEN 'admin'
                WHEN m.mark IS NULL THEN '.'
                WHEN m.mark = '' THEN 'all'
                ELSE m.mark END AS cell
      FROM pg_class c
     CROSS JOIN unnest(ARRAY['create', 'read', 'update', 'delete', 'share']) AS x(action)
      LEFT JOIN marks m ON m.collection = c.oid AND m.action = x.action
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
)
SELECT relname AS collection,
       max(cell) FILTER (WHERE action = 'create') AS "create",
       max(cell) FILTER (WHERE action = 'read')   AS "read",
       max(cell) FILTER (WHERE action = 'update') AS "update",
       max(cell) FILTER (WHERE action = 'delete') AS "delete",
       max(cell) FILTER (WHERE action = 'share')  AS "share"
  FROM cells
 GROUP BY relname
 ORDER BY relname;
SQL
)

show_principal() {	# ID LABEL
    printf '\n--- %s\n' "$2"
    as_principal "$1" -At -c "$IDENTITY_SQL"
    as_principal "$1" -c "$MATRIX_SQL"
}

section "Who may do what"
cat <<'EOF'
Each principal acts through SET acl.user_id = '<uuid>' ('' = public) and
reads its identity back with acl.current_roles(), acl.current_policies() and
acl.is_admin(); the matrix comes from acl.effective_permissions().
  all    every row, every column      R  only rows matching an item rule
  .      no permission                C  only some columns (on some rows)
  admin  admin_access: no checks      V  payload must pass a validation
                                      P  presets fill in columns
EOF

# Lists are read into variables first: a failing query inside < <(...)
# would go unnoticed by set -e and silently shorten the demo.
active_users=$(sql -At -F $'\t' -c "
    SELECT u.id, format('%s %s <%s>, role %s', u.first_name, u.last_name, u.email,
                        coalesce(r.name, '(none)'))
      FROM acl.users u LEFT JOIN acl.roles r ON r.id = u.role
     WHERE u.status = 'active'
     ORDER BY u.id")
show_principal '' "anonymous visitor (public principal)"
while IFS=$'\t' read -r id label; do
    [ -n "$id" ] || continue
    show_principal "$id" "$label"
done <<<"$active_users"

inactive_users=$(sql -At -F $'\t' -c "
    SELECT u.id, format('%s %s <%s>, role %s, status %s', u.first_name, u.last_name, u.email,
                        coalesce(r.name, '(none)'), u.status)
      FROM acl.users u LEFT JOIN acl.roles r ON r.id = u.role
     WHERE u.status <> 'active'
     ORDER BY u.id")
section "Users who are not active have no identity at all"
echo "They do not fall back to the public principal: every identity function fails."
while IFS=$'\t' read -r id label; do
    [ -n "$id" ] || continue
    printf '\n--- %s\n' "$label"
    sql -v uid="$id" <<'SQL'
-- Each call runs in its own exception block, so one failure does not hide
-- the others and the script goes on.
CREATE FUNCTION pg_temp.attempt(expr text) RETURNS TABLE (call text, outcome text)
LANGUAGE plpgsql AS $$
BEGIN
    call := expr;
    BEGIN
        EXECUTE format('SELECT (%s)::text', expr) INTO outcome;
        outcome := 'returned ' || coalesce(outcome, 'NULL');
    EXCEPTION WHEN OTHERS THEN
        outcome := format('ERROR %s: %s', SQLSTATE, SQLERRM);
    END;
    RETURN NEXT;
END
$$;
SET acl.user_id = :'uid';
SELECT a.*
  FROM unnest(ARRAY['acl.current_user_id()', 'acl.current_roles()', 'acl.current_policies()',
                    'acl.is_admin()',
                    '(SELECT count(*) FROM acl.effective_permissions())']) AS e(expr),
       LATERAL pg_temp.attempt(e.expr) AS a;
RESET acl.user_id;
\echo 'A DBA inspecting the same user sees no permissions (the NOTICE says why):'
SELECT count(*) AS effective_permissions FROM acl.effective_permissions(:'uid');
SQL
done <<<"$inactive_users"

restricted_users=$(sql -At -F $'\t' -c "
    SELECT DISTINCT u.id, format('%s %s <%s>', u.first_name, u.last_name, u.email)
      FROM acl.users u
      JOIN acl.access a ON a.\"user\" = u.id
      JOIN acl.policies p ON p.id = a.policy
     WHERE cardinality(p.ip_access) > 0 AND u.status = 'active'
     ORDER BY 1")
section "ip_access: the same user over the Unix socket"
echo "A socket client has no address, so policies limited by ip_access drop out."
while IFS=$'\t' read -r id label; do
    [ -n "$id" ] || continue
    printf '\n--- %s\n' "$label"
    printf '  over TCP 127.0.0.1: '
    as_principal "$id" -At -c 'SELECT string_agg(p.name, $$, $$ ORDER BY t.ord)
        FROM unnest(acl.current_policies()) WITH ORDINALITY AS t(id, ord)
        JOIN acl.policies p ON p.id = t.id'
    printf '  over the socket:    '
    psql -X -q -v ON_ERROR_STOP=1 -h "$ACL_SOCKDIR" -d "$DB" -At \
        -c "SET acl.user_id = '$id'" \
        -c 'SELECT string_agg(p.name, $$, $$ ORDER BY t.ord)
        FROM unnest(acl.current_policies()) WITH ORDINALITY AS t(id, ord)
        JOIN acl.policies p ON p.id = t.id'
done <<<"$restricted_users"

section "What the rules compile to (acl.compile), and what acl.lint() advises"
echo "The caregiver's rule, as SQL: identity is an InitPlan, the related set an array"
echo "an index on glucose_readings.patient serves:"
sql -At -c "SELECT acl.compile('public.glucose_readings', permissions)
              FROM acl.permissions WHERE collection = 'public.glucose_readings'::regclass
               AND permissions::text LIKE '%care_links%'"
echo
echo "A patient's validation, run against two payloads (acl.validation_errors):"
sql -c "SELECT payload, acl.validation_errors(validation, payload) AS failures
          FROM acl.permissions,
               (VALUES ('{\"value\": 120}'::jsonb), ('{\"value\": 900}')) AS p(payload)
         WHERE collection = 'public.glucose_readings'::regclass AND action = 'create'"
echo "acl.lint():"
sql -c "SELECT policy, collection, finding, rule_path, suggestion FROM acl.lint()
         ORDER BY policy, collection::text, finding"

section "Rows are enforced: plain SQL as an application role, per end user"
echo "demo_app is an ordinary role (not the table owner, not a superuser) trusted to set acl.user_id."
sql -c "DO \$\$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'demo_app') THEN CREATE ROLE demo_app; END IF;
        END \$\$;
        GRANT SET ON PARAMETER acl.user_id TO demo_app;
        GRANT USAGE ON SCHEMA public TO demo_app;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO demo_app;
        GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO demo_app;
        GRANT SELECT, INSERT ON acl.shares TO demo_app;" >/dev/null
sql -c "CREATE OR REPLACE FUNCTION pg_temp.visible_rows(who uuid) RETURNS TABLE (collection text, rows bigint)
        LANGUAGE plpgsql AS \$\$
        DECLARE t text;
        BEGIN
          PERFORM set_config('acl.user_id', coalesce(who::text, ''), true);
          FOR t IN SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
                    AND c.relkind = 'r' AND c.relforcerowsecurity ORDER BY 1 LOOP
            collection := t;
            EXECUTE format('SELECT count(*) FROM public.%I', t) INTO rows;
            RETURN NEXT;
          END LOOP;
        END \$\$;
        -- The catalog is private: the list of end users is read as the superuser.
        CREATE TEMP TABLE end_users AS
          SELECT NULL::uuid AS id, '(anonymous)'::text AS email UNION ALL
          SELECT id, email FROM acl.users WHERE status = 'active';
        GRANT SELECT ON end_users TO demo_app;
        SET ROLE demo_app;
        SELECT u.email AS end_user, string_agg(v.collection || ' ' || v.rows, ', ' ORDER BY v.collection) AS visible_rows
          FROM end_users u, LATERAL pg_temp.visible_rows(u.id) v
         GROUP BY u.email ORDER BY 1;" 2>&1 | grep -v "^SET$\|^SELECT [0-9]*$\|^GRANT$"

# as_app ID PSQL-ARGS...: statements of an end user ('' = public) through
# the application role, each in a session of its own.  Errors are shown, not
# fatal: refused statements are part of the demo.
as_app() {
    local id=$1; shift
    { psql -X -q -v SHOW_CONTEXT=never -h 127.0.0.1 -d "$DB" -c "SET ROLE demo_app" -c "SET acl.user_id = '$id'" "$@" 2>&1 || true; } |
        grep -v '^SET$'
}

section "Columns are masked per row: the same SELECT * for three end users"
echo "Published profiles show the person (id, display_name, bio, city); only one's own"
echo "profile shows diabetes_type.  Coordinators see every column of every profile."
for who in d4000000-0000-4000-8000-000000000005 d4000000-0000-4000-8000-000000000002 ''; do
    label=$(sql -At -c "SELECT coalesce((SELECT email FROM acl.users WHERE id = NULLIF('$who', '')::uuid), '(anonymous)')")
    printf '\n--- %s\n' "$label"
    as_app "$who" -c "SELECT display_name, city, diabetes_type, published FROM public.profiles ORDER BY display_name"
done
printf '\n--- %s\n' "nina.patel@example.org (nutritionist): glucose values, not the patients' notes"
as_app d4000000-0000-4000-8000-000000000003 -c "SELECT patient, value, note FROM public.glucose_readings ORDER BY measured_at LIMIT 3"
printf '\n--- %s\n' "the same nutritionist cannot get the notes by filtering, sorting or whole-row tricks"
as_app d4000000-0000-4000-8000-000000000003 -c "SELECT count(*) AS readings_with_a_note FROM public.glucose_readings WHERE note IS NOT NULL" \
    -c "SELECT row_to_json(g) ->> 'note' AS note_via_row_to_json FROM public.glucose_readings g LIMIT 1"

section "Writes: presets, the field check and validation"
printf '\n--- %s\n' "priya.shah@example.org records a reading: the preset fills in patient"
as_app d4000000-0000-4000-8000-000000000005 -c "INSERT INTO public.glucose_readings (value, note) VALUES (132, 'after lunch')
    RETURNING patient = acl.current_user_id() AS patient_is_me, value, note"
printf '\n--- %s\n' "she tries to file a reading for someone else: patient is not in her create fields"
as_app d4000000-0000-4000-8000-000000000005 -c "INSERT INTO public.glucose_readings (patient, value)
    VALUES ('d4000000-0000-4000-8000-000000000004', 140)"
printf '\n--- %s\n' "a typo: 1320 mg/dL fails the 20-600 validation"
as_app d4000000-0000-4000-8000-000000000005 -c "INSERT INTO public.glucose_readings (value) VALUES (1320)"
printf '\n--- %s\n' "a member may edit their own profile, but not its id"
as_app d4000000-0000-4000-8000-000000000005 -c "UPDATE public.profiles SET city = 'Utrecht' WHERE id = acl.current_user_id() RETURNING display_name, city" \
    -c "UPDATE public.profiles SET id = gen_random_uuid() WHERE id = acl.current_user_id()"
printf '\n--- %s\n' "nobody but a moderator or an admin deletes forum posts"
as_app d4000000-0000-4000-8000-000000000005 -c "DELETE FROM public.forum_posts"

section "Shares: a link for someone without an account"
echo "carmen.ortiz@example.org (coordinator) shares Priya's profile with her endocrinologist:"
echo "her own role, a password, two logins at most."
printf '\n--- %s\n' "sharing Ada's profile is refused: the share rule only matches patients' profiles"
as_app d4000000-0000-4000-8000-000000000002 -c "INSERT INTO acl.shares (collection, item, role)
    VALUES ('public.profiles', 'd4000000-0000-4000-8000-000000000001', 'a1000000-0000-4000-8000-000000000002')"
share_id=$(as_app d4000000-0000-4000-8000-000000000002 -At -c "INSERT INTO acl.shares (name, collection, item, role, password, max_uses)
    VALUES ('for Dr. Weber', 'public.profiles', 'd4000000-0000-4000-8000-000000000005',
            'a1000000-0000-4000-8000-000000000002', 'endo-2024', 2) RETURNING id" | head -1)
as_app d4000000-0000-4000-8000-000000000002 -c "SELECT name, item, user_created, times_used, max_uses FROM acl.shares"
printf '\n--- %s\n' "the doctor logs in with the share id and password, and gets a session token"
as_share() {
    local token=$1; shift
    { psql -X -q -v SHOW_CONTEXT=never -h 127.0.0.1 -d "$DB" -c "SET ROLE demo_app" -c "SET acl.token = '$token'" "$@" 2>&1 || true; } |
        grep -v '^SET$'
}
as_app '' -c "SELECT acl.share_login('$share_id', 'wrong password')"
token=$(as_app '' -At -c "SELECT acl.share_login('$share_id', 'endo-2024')" | head -1)
echo "token: ${token:0:12}..."
printf '\n--- %s\n' "through the share: Priya's profile and her readings, nothing else"
as_share "$token" -c "SELECT display_name, city, diabetes_type FROM public.profiles" \
    -c "SELECT value, measured_at, note FROM public.glucose_readings ORDER BY measured_at" \
    -c "SELECT count(*) AS events_through_the_share FROM public.events"
printf '\n--- %s\n' "a second login works, a third is refused (max_uses 2)"
as_app '' -At -c "SELECT acl.share_login('$share_id', 'endo-2024') IS NOT NULL AS second_login"
as_app '' -c "SELECT acl.share_login('$share_id', 'endo-2024')"

# Stopped here rather than by the trap, so that the note below is the last
# thing the demo prints.
acl_stop_cluster
trap - EXIT

section "Done"
cat <<'EOF'
acl 0.1 enforces rows, column masks, field checks, presets, validation and
shares, for every client of the database.
EOF
