/*
 * bench/setup.sql: the measuring kit, in schema bench of the benchmark
 * database.  Loaded first, as the superuser, by bench/run.sh.
 *
 * A workload has arms: one SQL statement, run as a database role ('' = the
 * session's superuser) and an end user (acl.user_id; NULL = none).  bench.measure() times all arms of a
 * workload in this one session, interleaved; pgbench workloads (W5, W7) are
 * timed by bench/run.sh and stored in the same table.
 */
\set ON_ERROR_STOP on

-- The application role: not a superuser, not the table owner, trusted to
-- say who the end user is.
CREATE ROLE bench_app LOGIN;
GRANT SET ON PARAMETER acl.user_id TO bench_app;
-- W8 reads its own memory contexts.
GRANT pg_read_all_stats TO bench_app;
-- The baselines' role: the application's grants, and row-level security
-- does not apply to it (BYPASSRLS), so neither does acl.  Not a superuser:
-- a superuser skips the privilege checks of tables and functions that the
-- application role pays with or without acl.
CREATE ROLE bench_base LOGIN BYPASSRLS;

CREATE EXTENSION acl;
CREATE EXTENSION pg_stat_statements;
CREATE SCHEMA bench;
GRANT USAGE ON SCHEMA bench TO bench_app, bench_base;

-- End user n is 00000000-0000-4000-8000-<n in 12 digits>, so that pgbench
-- can build ids from \set integers.
CREATE FUNCTION bench.uid(n int) RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ('00000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid;
GRANT EXECUTE ON FUNCTION bench.uid(int) TO bench_app;

CREATE TABLE bench.arms (
    workload text NOT NULL,
    arm      text NOT NULL,          -- acl | baseline | hand
    role     text NOT NULL DEFAULT '',
    end_user int,
    sql      text NOT NULL,
    PRIMARY KEY (workload, arm)
);

-- What is compared with what, and the target (bench/workloads.sql).
CREATE TABLE bench.targets (
    id          text PRIMARY KEY,
    sort        int NOT NULL,
    description text NOT NULL,
    workload    text NOT NULL,       -- the arms / measurements it reads
    base_arm    text,                -- NULL: compared with limit_value
    limit_value float8,
    unit        text NOT NULL,       -- ms | tps | MB
    op          text NOT NULL CHECK (op IN ('<=', '>=', '<')),
    target      float8 NOT NULL,
    target_text text NOT NULL
);

CREATE TABLE bench.measurements (
    workload    text NOT NULL,
    arm         text NOT NULL,
    value       float8 NOT NULL,     -- median
    unit        text NOT NULL,
    samples     float8[],
    iterations  int,                 -- statements per sample
    result_rows bigint,
    digest      text,                -- md5 of the sorted result
    PRIMARY KEY (workload, arm)
);

-- Each arm's EXPLAIN, plain and with ANALYZE, taken right after the
-- workload ran (bench.explain_all), so on the data it was measured on.
CREATE TABLE bench.plans (
    workload text, arm text, analyzed boolean, plan text,
    PRIMARY KEY (workload, arm, analyzed)
);

-- Evidence beyond the figures (masks, write checks, plan cache, memory).
CREATE TABLE bench.checks (workload text PRIMARY KEY, result jsonb NOT NULL);
-- A workload that could not run: the error, verbatim.
CREATE TABLE bench.errors (workload text PRIMARY KEY, message text NOT NULL);

CREATE FUNCTION bench.ms_since(t0 timestamptz) RETURNS float8 LANGUAGE sql VOLATILE
RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;

-- Act as ROLE ('' = the session user) and END_USER for the rest of the session.
CREATE FUNCTION bench.become(role text, end_user int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('role', 'none', false);
    PERFORM set_config('acl.user_id', coalesce(bench.uid(end_user)::text, ''), false);
    IF role <> '' THEN
        PERFORM set_config('role', role, false);
    END IF;
END
$$;

/*
 * The one timing function of every read workload.  Each statement is run
 * with EXECUTE, so each run is parsed, planned and executed, like a query an
 * application sends.  Warm-up: each arm runs for at least sample_ms (and 3
 * times), which also tells how many runs make one sample of about sample_ms.
 * Then `samples` rounds; in each, every arm takes one sample, in an order
 * that rotates so that no arm always goes first.  Stores the median time of
 * one run per arm, every sample, and the result's row count and digest.
 */
CREATE FUNCTION bench.measure(w text, samples int, sample_ms float8) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    a     bench.arms[] := ARRAY(SELECT x FROM bench.arms x WHERE x.workload = w ORDER BY x.arm);
    na    int := cardinality(a);
    iters int[] := array_fill(0, ARRAY[na]);
    t     float8[] := array_fill(0::float8, ARRAY[na * samples]);
    k int; s int; i int; n int; t0 timestamptz; nrows bigint; dig text;
BEGIN
    IF na = 0 THEN
        RAISE EXCEPTION 'workload % has no arms', w;
    END IF;
    FOR k IN 1..na LOOP
        PERFORM bench.become(a[k].role, a[k].end_user);
        n := 0;
        t0 := clock_timestamp();
        LOOP
            EXECUTE a[k].sql;
            n := n + 1;
            EXIT WHEN n >= 3 AND bench.ms_since(t0) >= sample_ms;
        END LOOP;
        iters[k] := greatest(1, round(sample_ms * n / bench.ms_since(t0)))::int;
    END LOOP;
    FOR s IN 1..samples LOOP
        FOR i IN 0..na - 1 LOOP
            k := (s + i) % na + 1;
            PERFORM bench.become(a[k].role, a[k].end_user);
            t0 := clock_timestamp();
            FOR n IN 1..iters[k] LOOP
                EXECUTE a[k].sql;
            END LOOP;
            t[(k - 1) * samples + s] := bench.ms_since(t0) / iters[k];
        END LOOP;
    END LOOP;
    FOR k IN 1..na LOOP
        PERFORM bench.become(a[k].role, a[k].end_user);
        EXECUTE format('SELECT count(*), md5(coalesce(string_agg(q::text, E''\n'' ORDER BY q::text), ''''))'
                       ' FROM (%s) q', a[k].sql) INTO nrows, dig;
        PERFORM bench.become('', NULL);
        INSERT INTO bench.measurements
        SELECT w, a[k].arm, percentile_cont(0.5) WITHIN GROUP (ORDER BY x), 'ms',
               t[(k - 1) * samples + 1 : k * samples], iters[k], nrows, dig
          FROM unnest(t[(k - 1) * samples + 1 : k * samples]) x;
    END LOOP;
    PERFORM bench.explain_all(w);
END
$$;

-- EXPLAIN (VERBOSE, which shows the masks) an arm as its role and end user.
-- With ANALYZE the statement runs
-- in a subtransaction that is then rolled back, so writes leave nothing.
CREATE FUNCTION bench.plan(w text, which text, with_analyze boolean) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    a    bench.arms;
    line text;
    res  text := '';
BEGIN
    SELECT * INTO a FROM bench.arms x WHERE x.workload = w AND x.arm = which;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    BEGIN
        PERFORM bench.become(a.role, a.end_user);
        FOR line IN EXECUTE 'EXPLAIN (VERBOSE' || CASE WHEN with_analyze THEN ', ANALYZE, BUFFERS' ELSE '' END || ') ' || a.sql LOOP
            res := res || line || E'\n';
        END LOOP;
        RAISE EXCEPTION 'undo' USING ERRCODE = 'BE000';
    EXCEPTION
        WHEN SQLSTATE 'BE000' THEN NULL;
        WHEN OTHERS THEN res := res || format('ERROR %s: %s', SQLSTATE, SQLERRM);
    END;
    RETURN rtrim(res, E'\n');
END
$$;

-- Run STMT as ROLE and END_USER in a subtransaction rolled back afterwards:
-- 'ok: <first column>' or 'ERROR <sqlstate>: <message>'.  For checks.
CREATE FUNCTION bench.attempt(role text, end_user int, stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    res text;
BEGIN
    BEGIN
        PERFORM bench.become(role, end_user);
        EXECUTE stmt INTO res;
        res := 'ok: ' || coalesce(res, 'NULL');
        RAISE EXCEPTION 'undo' USING ERRCODE = 'BE000';
    EXCEPTION
        WHEN SQLSTATE 'BE000' THEN NULL;
        WHEN OTHERS THEN res := format('ERROR %s: %s', SQLSTATE, SQLERRM);
    END;
    RETURN res;
END
$$;

CREATE FUNCTION bench.explain_all(w text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO bench.plans
    SELECT a.workload, a.arm, v.x, bench.plan(a.workload, a.arm, v.x)
      FROM bench.arms a, (VALUES (false), (true)) v(x)
     WHERE a.workload = w;
$$;

-- A plan for the terminal: without VERBOSE's Output lines and the InitPlans
-- that only compute a gate or an identity (the full plan is in the JSON).
CREATE FUNCTION bench.condensed(plan text) RETURNS text LANGUAGE sql IMMUTABLE
RETURN regexp_replace(regexp_replace(plan,
           '\n *InitPlan \d+ \(returns \$\d+\)\n *->  Result  \([^\n]*\)(\n *(Output|Buffers): [^\n]*)*', '', 'g'),
           '\n *Output: [^\n]*', '', 'g');
