-- Whole rows with masked columns (src/masked_slot.c): where a branch reads
-- a table's rows whole, the branch scan masks the stored rows itself, and
-- whatever keeps them (a client, SPI, a sort, a hash, INSERT ... SELECT,
-- CREATE TABLE AS, a cursor) must get exactly the rows a CASE per column
-- gives.  The columns cover every way a value is stored: by value, fixed
-- length by reference, short, 4-byte header, compressed inline
-- and TOASTed varlenas, NULLs, and columns masked first, last and between.
\set VERBOSITY terse

CREATE ROLE acl_reg_mrow_app NOLOGIN;
GRANT SET ON PARAMETER acl.user_id TO acl_reg_mrow_app;
CREATE TABLE mrow (id int PRIMARY KEY, owner uuid, small int2, flag bool, amount numeric,
                   at timestamptz, score float8, code char(3), label name, tags text[],
                   short_note text, long_note text, big text, plain_note text, raw bytea);
ALTER TABLE mrow ALTER COLUMN big SET STORAGE EXTERNAL;
GRANT SELECT, INSERT ON mrow TO acl_reg_mrow_app;
INSERT INTO mrow
SELECT g, ('d1000000-0000-4000-8000-00000000000' || (g % 3 + 1))::uuid,
       CASE WHEN g % 5 <> 0 THEN g END, g % 2 = 0, CASE WHEN g % 4 <> 1 THEN g * 1.5 END,
       timestamptz '2026-01-01 00:00+00' + g * interval '1 hour', g / 3.0,
       CASE WHEN g % 6 <> 2 THEN 'c' || g % 10 END, 'label ' || g,
       CASE WHEN g % 3 <> 0 THEN ARRAY['t' || g, 'u'] END,
       'n' || g, CASE WHEN g % 2 = 1 THEN repeat('long ' || g, 400) END,
       CASE WHEN g % 3 = 1 THEN (SELECT string_agg(md5(g::text || i), '') FROM generate_series(1, 80) i) END,
       CASE WHEN g % 7 <> 3 THEN 'plain ' || g || repeat('.', g * 10) END, CASE WHEN g % 2 = 0 THEN decode(md5(g::text), 'hex') END
  FROM generate_series(1, 30) g;
-- Every kind of stored value is there.
SELECT pg_relation_size((SELECT reltoastrelid FROM pg_class WHERE oid = 'mrow'::regclass)) > 0 AS big_toasted,
       count(*) FILTER (WHERE pg_column_size(long_note) < length(long_note)) AS long_compressed,
       count(*) FILTER (WHERE pg_column_size(plain_note) = length(plain_note) + 4) AS with_4_byte_header
  FROM mrow;

INSERT INTO acl.policies (id, name) VALUES
    ('d0000000-0000-4000-8000-0000000000a1', 'own rows'),
    ('d0000000-0000-4000-8000-0000000000a2', 'some columns of every row');
INSERT INTO acl.users (id, email) VALUES
    ('d1000000-0000-4000-8000-000000000001', 'mrow-ada@example.org'),
    ('d1000000-0000-4000-8000-000000000002', 'mrow-bo@example.org');
INSERT INTO acl.access ("user", policy) VALUES
    ('d1000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-0000000000a1'),
    ('d1000000-0000-4000-8000-000000000002', 'd0000000-0000-4000-8000-0000000000a1');
INSERT INTO acl.access (policy) VALUES ('d0000000-0000-4000-8000-0000000000a2');
INSERT INTO acl.permissions (policy, collection, action, permissions, fields) VALUES
    ('d0000000-0000-4000-8000-0000000000a1', 'mrow', 'read', '{"owner": {"_eq": "$CURRENT_USER"}}', '{*}'),
    ('d0000000-0000-4000-8000-0000000000a2', 'mrow', 'read', NULL,
     '{id,small,flag,at,score,label,short_note,plain_note}');

-- What each end user must read: the masked columns NULL outside their rows
-- (every row has an owner, so a shown owner marks the reader's own rows).
CREATE TABLE mrow_expected AS
SELECT u.uid AS reader, id, CASE WHEN owner = u.uid THEN owner END AS owner, small, flag,
       CASE WHEN owner = u.uid THEN amount END AS amount, at, score,
       CASE WHEN owner = u.uid THEN code END AS code, label,
       CASE WHEN owner = u.uid THEN tags END AS tags, short_note,
       CASE WHEN owner = u.uid THEN long_note END AS long_note,
       CASE WHEN owner = u.uid THEN big END AS big, plain_note,
       CASE WHEN owner = u.uid THEN raw END AS raw
  FROM mrow, (VALUES ('d1000000-0000-4000-8000-000000000001'::uuid),
                     ('d1000000-0000-4000-8000-000000000002'::uuid)) u(uid);
CREATE VIEW mrow_expected_now AS
SELECT id, owner, small, flag, amount, at, score, code, label, tags, short_note, long_note, big,
       plain_note, raw
  FROM mrow_expected WHERE reader = current_setting('acl.user_id')::uuid;
GRANT SELECT ON mrow_expected, mrow_expected_now TO acl_reg_mrow_app;
CREATE TABLE mrow_copy (LIKE mrow);
GRANT SELECT, INSERT, DELETE ON mrow_copy TO acl_reg_mrow_app;

-- Rows kept by SPI: a query's result, a cursor's rows, RETURN QUERY.
CREATE FUNCTION mrow_spi_rows(how text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    r record;
    rows text[];
BEGIN
    IF how = 'loop' THEN
        FOR r IN SELECT * FROM mrow LOOP
            RETURN NEXT r::text;
        END LOOP;
    ELSIF how = 'execute' THEN
        FOR r IN EXECUTE 'SELECT * FROM mrow' LOOP
            RETURN NEXT r::text;
        END LOOP;
    ELSIF how = 'array' THEN
        SELECT array_agg(m::text) INTO rows FROM mrow m;
        RETURN QUERY SELECT unnest(rows);
    ELSE
        RETURN QUERY SELECT m::text FROM mrow m;
    END IF;
END
$$;
-- Differences between what a reader reads and mrow_expected_now, by path.
CREATE FUNCTION mrow_differences() RETURNS TABLE (path text, differences bigint) LANGUAGE sql AS $$
    SELECT 'select', count(*) FROM ((SELECT * FROM mrow EXCEPT ALL SELECT * FROM mrow_expected_now)
                                    UNION ALL
                                    (SELECT * FROM mrow_expected_now EXCEPT ALL SELECT * FROM mrow)) d
    UNION ALL
    SELECT 'spi ' || how, (SELECT count(*) FROM ((SELECT mrow_spi_rows(how) EXCEPT ALL SELECT e::text FROM mrow_expected_now e)
                                                 UNION ALL
                                                 (SELECT e::text FROM mrow_expected_now e EXCEPT ALL SELECT mrow_spi_rows(how))) d)
      FROM unnest(ARRAY['loop', 'execute', 'array', 'return query']) how
$$;
-- Where the plan masks: by the branch scan (its "Masks" lines, each
-- shortened) or by a CASE per column in the branch.
CREATE FUNCTION mrow_plan() RETURNS TABLE (masks text, case_columns int) LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    case_columns := 0;
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF, VERBOSE) SELECT * FROM mrow' LOOP
        case_columns := case_columns + (SELECT count(*) FROM regexp_matches(line, 'CASE WHEN', 'g'));
        IF line ~ 'Masks:' THEN
            masks := left(ltrim(line), 80);
            RETURN NEXT;
        END IF;
    END LOOP;
    masks := 'case columns';
    RETURN NEXT;
END
$$;
GRANT EXECUTE ON FUNCTION mrow_spi_rows(text), mrow_differences(), mrow_plan() TO acl_reg_mrow_app;

SET ROLE acl_reg_mrow_app;
SET acl.user_id = 'd1000000-0000-4000-8000-000000000001';
-- The branch scan masks the rows the branch reads whole.
SELECT * FROM mrow_plan();
SELECT id, owner, amount, code, tags, left(long_note, 12) AS long_note, left(big, 8) AS big, raw IS NOT NULL AS raw
  FROM mrow WHERE id <= 6 ORDER BY id;
SELECT * FROM mrow_differences();
-- INSERT ... SELECT and CREATE TABLE AS keep what was read.
INSERT INTO mrow_copy SELECT * FROM mrow;
SELECT count(*) AS differences
  FROM ((TABLE mrow_copy EXCEPT ALL TABLE mrow_expected_now) UNION ALL (TABLE mrow_expected_now EXCEPT ALL TABLE mrow_copy)) d;
DELETE FROM mrow_copy;
CREATE TEMP TABLE mrow_as AS SELECT * FROM mrow;
SELECT count(*) AS differences
  FROM ((TABLE mrow_as EXCEPT ALL TABLE mrow_expected_now) UNION ALL (TABLE mrow_expected_now EXCEPT ALL TABLE mrow_as)) d;
DROP TABLE mrow_as;
-- A scrollable cursor read backwards and again.
BEGIN;
DECLARE mrow_cursor SCROLL CURSOR FOR SELECT * FROM mrow;
MOVE FORWARD ALL IN mrow_cursor;
FETCH BACKWARD 2 FROM mrow_cursor;
FETCH ABSOLUTE 1 FROM mrow_cursor;
COMMIT;

-- One prepared statement, its plan reused, for each end user in turn.
PREPARE mrow_read AS SELECT * FROM mrow;
SELECT count(*) AS differences
  FROM ((SELECT * FROM mrow_expected_now EXCEPT ALL SELECT * FROM mrow) UNION ALL (SELECT * FROM mrow EXCEPT ALL SELECT * FROM mrow_expected_now)) d;
CREATE TEMP TABLE mrow_prepared AS EXECUTE mrow_read;
SELECT count(*) AS differences
  FROM ((TABLE mrow_prepared EXCEPT ALL TABLE mrow_expected_now) UNION ALL (TABLE mrow_expected_now EXCEPT ALL TABLE mrow_prepared)) d;
DROP TABLE mrow_prepared;
SET acl.user_id = 'd1000000-0000-4000-8000-000000000002';
CREATE TEMP TABLE mrow_prepared AS EXECUTE mrow_read;
SELECT count(*) AS differences
  FROM ((TABLE mrow_prepared EXCEPT ALL TABLE mrow_expected_now) UNION ALL (TABLE mrow_expected_now EXCEPT ALL TABLE mrow_prepared)) d;
DROP TABLE mrow_prepared;
SELECT * FROM mrow_differences();
SELECT generic_plans > 0 AS generic FROM pg_prepared_statements WHERE name = 'mrow_read';
DEALLOCATE mrow_read;
-- Rows of the reader's own show every column.
SELECT id, owner IS NOT NULL AS owner, big = (SELECT big FROM mrow_expected_now e WHERE e.id = m.id) AS big
  FROM mrow m WHERE id IN (1, 4) ORDER BY id;
RESET acl.user_id;
RESET ROLE;

-- Where the current reader's rows are masked, and whether they read as
-- expected, after each change to the table below.
\set check_as_reader 'SET ROLE acl_reg_mrow_app; SELECT * FROM mrow_plan(); SELECT * FROM mrow_differences(); RESET ROLE;'

-- A column added without a default: the rows stored before it have fewer
-- columns than the table, and read it as NULL.  The scan still masks; a
-- row stored since, which has the column, is copied from its bytes, and an
-- older one is formed from its values.
ALTER TABLE mrow ADD COLUMN late text;
UPDATE mrow SET late = 'late ' || id WHERE id % 4 = 0;
CREATE TABLE mrow_late AS SELECT id, late FROM mrow;
DROP VIEW mrow_expected_now;
CREATE VIEW mrow_expected_now AS
SELECT id, owner, small, flag, amount, at, score, code, label, tags, short_note, long_note, big,
       plain_note, raw, CASE WHEN owner IS NOT NULL THEN late END AS late
  FROM mrow_expected JOIN mrow_late USING (id) WHERE reader = current_setting('acl.user_id')::uuid;
GRANT SELECT ON mrow_expected_now TO acl_reg_mrow_app;
SET acl.user_id = 'd1000000-0000-4000-8000-000000000001';
:check_as_reader
SET ROLE acl_reg_mrow_app;
SELECT count(*) FILTER (WHERE late IS NOT NULL) AS late_shown FROM mrow;
RESET acl.user_id;
RESET ROLE;

-- A column added with a default the stored rows lack, or dropped: the
-- branch masks its rows itself (a CASE per column), with the same result.
ALTER TABLE mrow ADD COLUMN extra int DEFAULT 7;
DROP VIEW mrow_expected_now;
CREATE VIEW mrow_expected_now AS
SELECT id, owner, small, flag, amount, at, score, code, label, tags, short_note, long_note, big,
       plain_note, raw, CASE WHEN owner IS NOT NULL THEN late END AS late,
       CASE WHEN owner IS NOT NULL THEN 7 END AS extra
  FROM mrow_expected JOIN mrow_late USING (id) WHERE reader = current_setting('acl.user_id')::uuid;
GRANT SELECT ON mrow_expected_now TO acl_reg_mrow_app;
SET acl.user_id = 'd1000000-0000-4000-8000-000000000001';
:check_as_reader
RESET acl.user_id;
ALTER TABLE mrow DROP COLUMN small;
DROP VIEW mrow_expected_now;
CREATE VIEW mrow_expected_now AS
SELECT id, owner, flag, amount, at, score, code, label, tags, short_note, long_note, big,
       plain_note, raw, CASE WHEN owner IS NOT NULL THEN late END AS late,
       CASE WHEN owner IS NOT NULL THEN 7 END AS extra
  FROM mrow_expected JOIN mrow_late USING (id) WHERE reader = current_setting('acl.user_id')::uuid;
GRANT SELECT ON mrow_expected_now TO acl_reg_mrow_app;
SET acl.user_id = 'd1000000-0000-4000-8000-000000000002';
:check_as_reader
RESET acl.user_id;

-- Layouts: tables of random column sequences (every alignment, by value
-- and by reference, short, 4-byte-header and compressed varlenas, NULLs
-- in random places) with random columns masked, so that the copy of a
-- masked row meets kept columns that lie as stored and ones that must be
-- placed again, and leading columns at fixed offsets that it skips.  Rows
-- kept by SPI must read as a CASE per column gives.
SELECT setseed(0.42);
CREATE TABLE mlay_types (n int PRIMARY KEY, type text, value text);
INSERT INTO mlay_types VALUES
    (1, 'int2', '(g * 7 % 300)::int2'), (2, 'int4', 'g * 1001'), (3, 'int8', 'g::int8 * 100000000007'),
    (4, 'bool', 'g % 2 = 0'), (5, '"char"', 'chr(65 + g % 26)::"char"'), (6, 'char(3)', '''c'' || g % 10'),
    (7, 'float4', 'g / 7.0'), (8, 'float8', 'g / 3.0'), (9, 'numeric', 'g * 1.5'),
    (10, 'timestamptz', 'timestamptz ''2026-01-01 00:00+00'' + g * interval ''1 hour'''),
    (11, 'date', 'date ''2026-01-01'' + g'), (12, 'text', '''n'' || g'),
    (13, 'text', 'repeat(''x'', 130 + g)'), (14, 'text', 'repeat(''long '' || g, 400)'),
    (15, 'name', '''label '' || g'), (16, 'uuid', 'md5(g::text)::uuid'), (17, 'int4[]', 'ARRAY[g, g + 1]'),
    (18, 'interval', 'g * interval ''1 minute'''), (19, 'point', 'point(g, g)'),
    (20, 'bytea', 'decode(md5(g::text), ''hex'')');
CREATE TABLE mlay_expected (tab text, reader uuid, row_text text);
DO $$
DECLARE
    columns text;
    shown text;
    values_sql text;
    expected text;
    unpacked text;
    pick int;
    t record;
BEGIN
    FOR n IN 1..24 LOOP
        columns := 'id int PRIMARY KEY, owner uuid';
        values_sql := 'g, (''d1000000-0000-4000-8000-00000000000'' || (g % 3 + 1))::uuid';
        -- Half the tables show owner, so that masked columns start further in.
        IF random() < 0.5 THEN
            shown := 'id,owner';
            expected := 'id, owner';
        ELSE
            shown := 'id';
            expected := 'id, CASE WHEN owner = u THEN owner END';
        END IF;
        unpacked := '';
        FOR c IN 1..3 + floor(random() * 8)::int LOOP
            pick := 1 + floor(random() * 20)::int;
            SELECT * INTO t FROM mlay_types WHERE mlay_types.n = pick;
            columns := columns || format(', c%s %s', c, t.type);
            values_sql := values_sql || format(', CASE WHEN (g + %s) %% 5 <> 0 THEN %s END', c, t.value);
            IF random() < 0.5 THEN
                shown := shown || format(',c%s', c);
                expected := expected || format(', c%s', c);
            ELSE
                expected := expected || format(', CASE WHEN owner = u THEN c%s END', c);
            END IF;
            IF t.n = 13 THEN
                unpacked := unpacked || format(', ALTER c%s SET STORAGE EXTERNAL', c);
            END IF;
        END LOOP;
        EXECUTE format('CREATE TABLE mlay_%s (%s)', n, columns);
        IF unpacked <> '' THEN
            EXECUTE format('ALTER TABLE mlay_%s %s', n, substr(unpacked, 2));
        END IF;
        EXECUTE format('INSERT INTO mlay_%s SELECT %s FROM generate_series(1, 40) g', n, values_sql);
        EXECUTE format('GRANT SELECT ON mlay_%s TO acl_reg_mrow_app', n);
        INSERT INTO acl.permissions (policy, collection, action, permissions, fields) VALUES
            ('d0000000-0000-4000-8000-0000000000a1', 'mlay_' || n, 'read', '{"owner": {"_eq": "$CURRENT_USER"}}', '{*}'),
            ('d0000000-0000-4000-8000-0000000000a2', 'mlay_' || n, 'read', NULL, ('{' || shown || '}')::text[]);
        EXECUTE format('INSERT INTO mlay_expected SELECT %L, r.u, x::text FROM mlay_%s, '
                       '(VALUES (''d1000000-0000-4000-8000-000000000001''::uuid), '
                       '(''d1000000-0000-4000-8000-000000000002''::uuid)) r(u), LATERAL (SELECT %s) x',
                       'mlay_' || n, n, replace(expected, ' u ', ' r.u '));
    END LOOP;
END
$$;
-- Reads every layout through SPI, whose rows are copies of the masked rows.
CREATE FUNCTION mlay_differences() RETURNS TABLE (layouts bigint, masked_by_the_scan bigint, differences bigint)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    line text;
    got text[];
    lifted bigint := 0;
    total bigint := 0;
BEGIN
    FOR n IN 1..24 LOOP
        got := '{}';
        FOR r IN EXECUTE format('SELECT * FROM mlay_%s', n) LOOP
            got := got || r::text;
        END LOOP;
        total := total + (SELECT count(*) FROM ((SELECT unnest(got) EXCEPT ALL
                                                  SELECT row_text FROM mlay_expected
                                                   WHERE tab = 'mlay_' || n AND reader = current_setting('acl.user_id')::uuid)
                                                 UNION ALL
                                                 (SELECT row_text FROM mlay_expected
                                                   WHERE tab = 'mlay_' || n AND reader = current_setting('acl.user_id')::uuid
                                                  EXCEPT ALL SELECT unnest(got))) d);
        FOR line IN EXECUTE format('EXPLAIN (COSTS OFF, VERBOSE) SELECT * FROM mlay_%s', n) LOOP
            IF line ~ 'Masks:' THEN
                lifted := lifted + 1;
                EXIT;
            END IF;
        END LOOP;
    END LOOP;
    RETURN QUERY SELECT 24::bigint, lifted, total;
END
$$;
GRANT SELECT ON mlay_expected TO acl_reg_mrow_app;
GRANT EXECUTE ON FUNCTION mlay_differences() TO acl_reg_mrow_app;
SET ROLE acl_reg_mrow_app;
SET acl.user_id = 'd1000000-0000-4000-8000-000000000001';
SELECT * FROM mlay_differences();
SET acl.user_id = 'd1000000-0000-4000-8000-000000000002';
SELECT * FROM mlay_differences();
RESET acl.user_id;
RESET ROLE;
DO $$
BEGIN
    FOR n IN 1..24 LOOP
        EXECUTE format('DELETE FROM acl.permissions WHERE collection = %L::regclass', 'mlay_' || n);
        EXECUTE format('DROP TABLE mlay_%s', n);
    END LOOP;
END
$$;
DROP FUNCTION mlay_differences();
DROP TABLE mlay_types, mlay_expected;

-- One policy, two reads of a table: published rows with some columns, the
-- reader's own rows with all (the demo's profiles).  The mask is one
-- condition, "column = value" on a NOT NULL column: by $CURRENT_USER (uuid,
-- compared in place) or by $CURRENT_USER.email (text, by the operator's
-- function).  Both are
-- read through SPI and by a prepared statement reused by both readers.
INSERT INTO acl.policies (id, name) VALUES ('d0000000-0000-4000-8000-0000000000a3', 'published and own');
INSERT INTO acl.access ("user", policy) VALUES
    ('d1000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-0000000000a3'),
    ('d1000000-0000-4000-8000-000000000002', 'd0000000-0000-4000-8000-0000000000a3');
CREATE TABLE mpub_expected (tab text, reader uuid, row_text text);
DO $$
DECLARE
    own jsonb;
    tab text;
    mine text;
BEGIN
    FOREACH own IN ARRAY ARRAY['{"owner": {"_eq": "$CURRENT_USER"}}', '{"email": {"_eq": "$CURRENT_USER.email"}}']::jsonb[] LOOP
        tab := CASE WHEN own ? 'email' THEN 'mpub_email' ELSE 'mpub_owner' END;
        mine := CASE WHEN own ? 'email' THEN 'm.email = r.email' ELSE 'm.owner = r.u' END;
        EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, owner uuid NOT NULL, email text NOT NULL, title text, secret text,
                        points int8, published bool, at timestamptz)', tab);
        EXECUTE format($i$INSERT INTO %I
            SELECT g, u, e, 'title ' || g,
                   CASE WHEN g %% 4 <> 1 THEN repeat('secret ' || g, g %% 7 + 1) END,
                   CASE WHEN g %% 5 <> 2 THEN g * 1000 END, g %% 3 <> 0, timestamptz '2026-01-01 00:00+00' + g * interval '1 day'
              FROM generate_series(1, 60) g,
                   LATERAL (SELECT id AS u, email AS e FROM acl.users
                             WHERE id = ('d1000000-0000-4000-8000-00000000000' || (g %% 2 + 1))::uuid) x$i$,
                       tab);
        INSERT INTO acl.permissions (policy, collection, action, permissions, fields) VALUES
            ('d0000000-0000-4000-8000-0000000000a3', tab::regclass, 'read',
             '{"published": {"_eq": true}}', '{id,title,published,at}'),
            ('d0000000-0000-4000-8000-0000000000a3', tab::regclass, 'read', own, '{*}');
        EXECUTE format($i$INSERT INTO mpub_expected SELECT %L, r.u, x::text FROM %I m, acl.users r(u),
            LATERAL (SELECT m.id, CASE WHEN %s THEN m.owner END, CASE WHEN %s THEN m.email END, m.title,
                            CASE WHEN %s THEN m.secret END, CASE WHEN %s THEN m.points END, m.published, m.at) x
            WHERE r.u IN ('d1000000-0000-4000-8000-000000000001', 'd1000000-0000-4000-8000-000000000002')
              AND (m.published OR %s)$i$,
            tab, tab, mine, mine, mine, mine, mine);
    END LOOP;
END
$$;
CREATE FUNCTION mpub_differences(tab text) RETURNS TABLE (masks text, spi bigint, prepared bigint)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    got text[] := '{}';
    prepared_got text[] := '{}';
BEGIN
    FOR masks IN EXECUTE format('EXPLAIN (COSTS OFF, VERBOSE) SELECT * FROM %I', tab) LOOP
        EXIT WHEN masks ~ 'Masks:';
    END LOOP;
    masks := substring(masks FROM 'Masks: ([^,]*),');
    FOR r IN EXECUTE format('SELECT * FROM %I', tab) LOOP
        got := got || r::text;
    END LOOP;
    FOR r IN EXECUTE format('EXECUTE %I', tab || '_read') LOOP
        prepared_got := prepared_got || r::text;
    END LOOP;
    SELECT count(*) INTO spi FROM ((SELECT unnest(got) EXCEPT ALL SELECT row_text FROM mpub_expected e
                                     WHERE e.tab = $1 AND reader = current_setting('acl.user_id')::uuid)
                                    UNION ALL
                                    (SELECT row_text FROM mpub_expected e
                                     WHERE e.tab = $1 AND reader = current_setting('acl.user_id')::uuid
                                     EXCEPT ALL SELECT unnest(got))) d;
    SELECT count(*) INTO prepared FROM ((SELECT unnest(prepared_got) EXCEPT ALL SELECT unnest(got))
                                        UNION ALL (SELECT unnest(got) EXCEPT ALL SELECT unnest(prepared_got))) d;
    RETURN NEXT;
END
$$;
GRANT SELECT ON mpub_owner, mpub_email, mpub_expected TO acl_reg_mrow_app;
GRANT EXECUTE ON FUNCTION mpub_differences(text) TO acl_reg_mrow_app;
SET ROLE acl_reg_mrow_app;
PREPARE mpub_owner_read AS SELECT * FROM mpub_owner;
PREPARE mpub_email_read AS SELECT * FROM mpub_email;
SET acl.user_id = 'd1000000-0000-4000-8000-000000000001';
SELECT * FROM mpub_differences('mpub_owner');
SELECT * FROM mpub_differences('mpub_email');
SELECT count(*) AS rows, count(secret) AS secrets_shown FROM mpub_owner;
SET acl.user_id = 'd1000000-0000-4000-8000-000000000002';
SELECT * FROM mpub_differences('mpub_owner');
SELECT * FROM mpub_differences('mpub_email');
SELECT count(*) AS rows, count(secret) AS secrets_shown FROM mpub_email;
SELECT name, generic_plans > 0 AS generic FROM pg_prepared_statements WHERE name LIKE 'mpub%' ORDER BY name;
DEALLOCATE mpub_owner_read;
DEALLOCATE mpub_email_read;
RESET acl.user_id;
RESET ROLE;
DELETE FROM acl.permissions WHERE policy = 'd0000000-0000-4000-8000-0000000000a3';
DROP FUNCTION mpub_differences(text);
DROP TABLE mpub_owner, mpub_email, mpub_expected;
DELETE FROM acl.access WHERE policy = 'd0000000-0000-4000-8000-0000000000a3';
DELETE FROM acl.policies WHERE id = 'd0000000-0000-4000-8000-0000000000a3';

DELETE FROM acl.permissions WHERE collection = 'mrow'::regclass;
DROP FUNCTION mrow_differences(), mrow_plan();
DROP FUNCTION mrow_spi_rows(text);
DROP VIEW mrow_expected_now;
DROP TABLE mrow, mrow_copy, mrow_expected, mrow_late;
DELETE FROM acl.access WHERE policy IN ('d0000000-0000-4000-8000-0000000000a1', 'd0000000-0000-4000-8000-0000000000a2');
DELETE FROM acl.users WHERE id IN ('d1000000-0000-4000-8000-000000000001', 'd1000000-0000-4000-8000-000000000002');
DELETE FROM acl.policies WHERE id IN ('d0000000-0000-4000-8000-0000000000a1', 'd0000000-0000-4000-8000-0000000000a2');
DROP OWNED BY acl_reg_mrow_app;
DROP ROLE acl_reg_mrow_app;
