/*
 * bench/w8.sql: W8's catalog, in its own database: tables tables (w8.t01...)
 * of 100 rows, roles roles (a tenth of them roots, the others their
 * children), one policy per role, users users, and 20 permissions per table
 * (so 1,000 over 50 tables): reads, updates, deletes with varied rules, and
 * creates with validation, presets and fields.  psql variables: tables,
 * roles, users.
 */
\set ON_ERROR_STOP on
BEGIN;
CREATE SCHEMA w8;
SELECT format('CREATE TABLE w8.t%s (id int PRIMARY KEY, owner uuid, grp int NOT NULL, status text NOT NULL,'
              ' value int NOT NULL, note text, created_at timestamptz NOT NULL DEFAULT now());'
              ' INSERT INTO w8.t%1$s SELECT i, (''00000000-0000-4000-8000-'' || lpad((1 + i %% %s)::text, 12, ''0''))::uuid,'
              ' i %% 10, (ARRAY[''draft'', ''published''])[1 + i %% 2], i * 7 %% 1000, ''note '' || i,'
              ' timestamptz ''2024-06-01'' - i * interval ''1 hour'' FROM generate_series(1, 100) i',
              lpad(t::text, 2, '0'), :users)
  FROM generate_series(1, :tables) t \gexec

INSERT INTO acl.roles (id, name, parent)
SELECT md5('role' || r)::uuid, 'Role ' || r,
       CASE WHEN r > :roles / 10 THEN md5('role' || (1 + r % (:roles / 10)))::uuid END
  FROM generate_series(1, :roles) r ORDER BY r;
INSERT INTO acl.policies (id, name, app_access)
SELECT md5('policy' || r)::uuid, 'Policy ' || r, true FROM generate_series(1, :roles) r;
INSERT INTO acl.access (role, policy, sort)
SELECT md5('role' || r)::uuid, md5('policy' || r)::uuid, 1 FROM generate_series(1, :roles) r;
INSERT INTO acl.users (id, email, role)
SELECT ('00000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid, format('w8user%s@bench.example', n),
       md5('role' || (1 + n % :roles))::uuid
  FROM generate_series(1, :users) n;

INSERT INTO acl.permissions (policy, collection, action, permissions, validation, presets, fields)
SELECT md5('policy' || (1 + ((t - 1) * 20 + j) % :roles))::uuid, format('w8.t%s', lpad(t::text, 2, '0'))::regclass,
       (ARRAY['read', 'read', 'update', 'delete', 'create'])[1 + j % 5],
       CASE WHEN j % 5 = 4 THEN NULL
            ELSE (ARRAY['{"owner": {"_eq": "$CURRENT_USER"}}',
                        '{"status": {"_eq": "published"}}',
                        '{"_or": [{"grp": {"_in": [1, 2, 3]}}, {"value": {"_gt": 500}}]}',
                        '{"_and": [{"created_at": {"_gte": "$NOW(-30 days)"}}, {"note": {"_icontains": "urgent"}}]}'])[1 + j % 4]::jsonb
       END,
       CASE WHEN j % 5 = 4 THEN '{"value": {"_between": [0, 1000]}}'::jsonb END,
       CASE WHEN j % 5 = 4 THEN '{"owner": "$CURRENT_USER"}'::jsonb END,
       CASE WHEN j % 5 IN (2, 4) THEN '{grp,status,value,note}'
            WHEN j % 3 = 0 THEN '{id,grp,status,value}' ELSE '{*}' END::text[]
  FROM generate_series(1, :tables) t, generate_series(0, 19) j;

GRANT USAGE ON SCHEMA w8 TO bench_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA w8 TO bench_app;
COMMIT;
VACUUM ANALYZE;

-- One acl.sync(), in its own transaction: milliseconds.
CREATE FUNCTION w8.timed_sync() RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    PERFORM acl.sync();
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END
$$;
