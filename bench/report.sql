/*
 * bench/report.sql: ratios, pass/fail and plans from bench.measurements;
 * prints the table, writes the JSON and the chart's data.  psql variables:
 * json_file, chart_file, mode, nproc, cpu, duration_s, clients, samples,
 * sample_ms, pgbench_rounds, w7_rounds, pgbench_seconds, acl_build (a digest of the
 * installed library and script), acl_changed (whether it changed meanwhile).
 */
\set ON_ERROR_STOP on

CREATE TABLE bench.results AS
SELECT t.*, a.value AS acl, coalesce(b.value, t.limit_value) AS baseline,
       a.value / nullif(coalesce(b.value, t.limit_value), 0) AS ratio,
       e.message AS error, a.samples AS acl_samples, b.samples AS baseline_samples,
       a.result_rows AS acl_rows, b.result_rows AS baseline_rows,
       a.digest IS NOT DISTINCT FROM b.digest AS same_result,
       c.result AS checks, NULL::text AS plan, false AS plan_analyzed, NULL::text AS baseline_plan,
       NULL::boolean AS pass, NULL::text AS notes
  FROM bench.targets t
  LEFT JOIN bench.measurements a ON a.workload = t.workload AND a.arm = 'acl'
  LEFT JOIN bench.measurements b ON b.workload = t.workload AND b.arm = t.base_arm
  LEFT JOIN bench.errors e ON e.workload = t.workload
  LEFT JOIN bench.checks c ON c.workload = t.workload;

UPDATE bench.results SET pass = error IS NULL AND ratio IS NOT NULL AND CASE op
    WHEN '<=' THEN ratio <= target WHEN '>=' THEN ratio >= target ELSE ratio < target END;
-- Conditions beyond the ratio.
UPDATE bench.results SET pass = pass AND (SELECT plan ~ 'glucose_readings_patient_time_idx' FROM bench.plans
                                           WHERE (workload, arm, analyzed) = ('W3', 'acl', false))
 WHERE id = 'W3';
UPDATE bench.results SET pass = pass AND coalesce((checks->>'no_replanning')::boolean, false) WHERE id = 'W7';
-- Plans: EXPLAIN (VERBOSE), with ANALYZE where the target is missed.
UPDATE bench.results r SET plan_analyzed = NOT pass,
       plan = (SELECT plan FROM bench.plans p WHERE (p.workload, p.arm, p.analyzed) = (r.workload, 'acl', NOT r.pass)),
       baseline_plan = (SELECT plan FROM bench.plans p
                         WHERE (p.workload, p.arm, p.analyzed) = (r.workload, r.base_arm, NOT r.pass));
UPDATE bench.results SET plan = checks->>'memory_growth_by_context', plan_analyzed = NULL WHERE id = 'W8.memory';

-- CPU microseconds per transaction of each arm of a pgbench workload: the
-- pgbench process and the backends that served it (bench/run.sh).
CREATE FUNCTION bench.cpu(w text) RETURNS jsonb LANGUAGE sql STABLE
RETURN (SELECT jsonb_object_agg(split_part(c.arm, '.', 1),
                                jsonb_build_object('client', round(c.value::numeric, 1), 'server', round(s.value::numeric, 1),
                                                   'total', round((c.value + s.value)::numeric, 1)))
          FROM bench.measurements c
          JOIN bench.measurements s ON s.workload = c.workload AND s.arm = split_part(c.arm, '.', 1) || '.server_cpu'
         WHERE c.workload = w AND c.arm LIKE '%.client_cpu');
-- A second pgbench pair of a workload, as the checks record it (NULL if it did not run).
CREATE FUNCTION bench.pair(w text) RETURNS jsonb LANGUAGE sql STABLE
RETURN (SELECT jsonb_build_object('acl_tps', round(a.value::numeric, 1), 'baseline_tps', round(b.value::numeric, 1),
                                  'ratio', round((a.value / b.value)::numeric, 3),
                                  'samples', jsonb_build_object('acl', a.samples, 'baseline', b.samples),
                                  'cpu_us_per_transaction', bench.cpu(w))
          FROM bench.measurements a, bench.measurements b
         WHERE (a.workload, a.arm, b.workload, b.arm) = (w, 'acl', w, 'baseline'));
UPDATE bench.results SET checks = checks || jsonb_build_object('cpu_us_per_transaction', bench.cpu('W5'))
 WHERE id = 'W5' AND bench.cpu('W5') IS NOT NULL;
UPDATE bench.results SET checks = checks || jsonb_build_object('pooled_random_patient', bench.pair('W5.pooled'))
 WHERE id = 'W5' AND bench.pair('W5.pooled') IS NOT NULL;
-- W4 as a client receives it: tps, so its time ratio is baseline / acl.
UPDATE bench.results SET checks = checks || jsonb_build_object('sent_to_a_client', bench.pair('W4.client')
           || jsonb_build_object('time_ratio', round((SELECT b.value / a.value FROM bench.measurements a, bench.measurements b
                                                       WHERE (a.workload, a.arm, b.workload, b.arm)
                                                             = ('W4.client', 'acl', 'W4.client', 'baseline'))::numeric, 3)))
 WHERE id = 'W4' AND bench.pair('W4.client') IS NOT NULL;
-- W7's identity arm ran in the same rounds as the other two: the strict
-- baseline plus the identity statement the workload requires, a setting
-- nothing reads.  Its tps over the strict baseline's is what acl would score
-- if it cost nothing; acl over it is what acl itself costs.  By CPU time per
-- transaction (client and server), the same two ratios, which the machine's
-- drift moves less than tps.
UPDATE bench.results r SET checks = checks || jsonb_build_object(
           'baseline_with_identity_statement', jsonb_build_object(
               'tps', round(i.value::numeric, 1), 'samples', i.samples,
               'acl_ratio', round((r.acl / i.value)::numeric, 3),
               'acl_if_it_cost_nothing', round((i.value / r.baseline)::numeric, 3)),
           'per_round', jsonb_build_object(
               'acl_ratio', (SELECT jsonb_agg(round((x / y)::numeric, 3) ORDER BY n)
                               FROM unnest(r.acl_samples, r.baseline_samples) WITH ORDINALITY u(x, y, n)),
               'acl_if_it_cost_nothing', (SELECT jsonb_agg(round((x / y)::numeric, 3) ORDER BY n)
                                            FROM unnest(i.samples, r.baseline_samples) WITH ORDINALITY u(x, y, n))),
           'cpu_us_per_transaction', bench.cpu('W7'),
           'by_cpu_time', jsonb_build_object(
               'acl_ratio', round(((c->'baseline'->>'total')::numeric / (c->'acl'->>'total')::numeric), 3),
               'acl_if_it_cost_nothing', round(((c->'baseline'->>'total')::numeric / (c->'identity'->>'total')::numeric), 3)))
  FROM bench.measurements i, bench.cpu('W7') c
 WHERE r.id = 'W7' AND (i.workload, i.arm) = ('W7', 'identity');

CREATE FUNCTION bench.plan_times(w text, which text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT format('%s + %s ms', substring(plan FROM 'Planning Time: ([0-9.]+) ms'),
                      substring(plan FROM 'Execution Time: ([0-9.]+) ms'))
          FROM bench.plans WHERE (workload, arm, analyzed) = (w, which, true));

UPDATE bench.results SET notes = concat_ws('; ',
    CASE WHEN error IS NOT NULL THEN 'ERROR: ' || error END,
    CASE WHEN base_arm IS NOT NULL AND acl_rows IS NOT NULL AND id <> 'W4' THEN
         CASE WHEN same_result THEN format('same result as %s (%s rows)', base_arm, acl_rows)
              ELSE format('RESULT DIFFERS: acl %s rows, %s %s rows', acl_rows, base_arm, baseline_rows) END END,
    CASE WHEN unit = 'ms' AND base_arm IS NOT NULL THEN
         format('EXPLAIN ANALYZE planning + execution: acl %s, %s %s',
                bench.plan_times(workload, 'acl'), base_arm, bench.plan_times(workload, base_arm))
    END,
    CASE WHEN checks IS NULL AND id <> 'W3' THEN NULL ELSE
    CASE id WHEN 'W3' THEN CASE WHEN (SELECT plan ~ 'glucose_readings_patient_time_idx' FROM bench.plans
                                       WHERE (workload, arm, analyzed) = ('W3', 'acl', false))
                                THEN 'index used' ELSE 'INDEX NOT USED' END
            WHEN 'W4' THEN format('acl %s rows, baseline %s; other rows showing masked columns: %s; own row shows them: %s; '
                                  'sent to a client (pgbench): acl %s tps, baseline %s tps, time ratio %sx',
                                  acl_rows, baseline_rows, regexp_replace(checks->>'other_rows_showing_masked_columns', '^ok: ', ''),
                                  regexp_replace(checks->>'own_row_shows_them', '^ok: ', ''),
                                  coalesce(checks#>>'{sent_to_a_client,acl_tps}', '-'),
                                  coalesce(checks#>>'{sent_to_a_client,baseline_tps}', '-'),
                                  coalesce(checks#>>'{sent_to_a_client,time_ratio}', '-'))
            WHEN 'W5' THEN format('one patient per connection; pooled, a random patient per transaction: '
                                  'acl %s tps, baseline %s tps, ratio %sx; '
                                  'preset fills patient: %s; validation refuses value 900: %s; field check refuses patient: %s',
                                  checks#>>'{pooled_random_patient,acl_tps}', checks#>>'{pooled_random_patient,baseline_tps}',
                                  checks#>>'{pooled_random_patient,ratio}',
                                  regexp_replace(checks->>'preset_fills_patient', '^ok: ', ''), regexp_replace(checks->>'validation_refuses_value_900', '^ok: ', ''),
                                  regexp_replace(checks->>'field_check_refuses_patient', '^ok: ', ''))
            WHEN 'W7' THEN format('pgbench: %s planner runs for %s executions over %s connections; '
                                  'PREPARE + %s EXECUTEs as %s users: generic/custom plans %s/%s, planner runs %s; '
                                  'force_generic_plan: %s/%s, planner runs %s; '
                                  'the baseline plus the identity statement, in the same rounds: %s tps, '
                                  'so acl at no cost would score %sx; acl against it %sx; '
                                  'by CPU time per transaction (client + server): acl %s us, baseline %s us, '
                                  'with the identity statement %s us: ratio %sx, at no cost %sx',
                                  checks#>>'{pgbench,planner_runs}', checks#>>'{pgbench,executions}',
                                  checks#>>'{pgbench,connections}', checks#>>'{prepared_auto,executions}',
                                  checks#>>'{prepared_auto,executions}',
                                  checks#>>'{prepared_auto,generic_plans}', checks#>>'{prepared_auto,custom_plans}',
                                  checks#>>'{prepared_auto,planner_runs}',
                                  checks#>>'{prepared_force_generic,generic_plans}',
                                  checks#>>'{prepared_force_generic,custom_plans}',
                                  checks#>>'{prepared_force_generic,planner_runs}',
                                  checks#>>'{baseline_with_identity_statement,tps}',
                                  checks#>>'{baseline_with_identity_statement,acl_if_it_cost_nothing}',
                                  checks#>>'{baseline_with_identity_statement,acl_ratio}',
                                  checks#>>'{cpu_us_per_transaction,acl,total}',
                                  checks#>>'{cpu_us_per_transaction,baseline,total}',
                                  checks#>>'{cpu_us_per_transaction,identity,total}',
                                  checks#>>'{by_cpu_time,acl_ratio}', checks#>>'{by_cpu_time,acl_if_it_cost_nothing}')
            WHEN 'W8.sync' THEN format('%s tables, %s roles, %s users, %s permissions -> %s policies',
                                       checks->>'tables', checks->>'roles', checks->>'users',
                                       checks->>'permissions', checks->>'policies')
            WHEN 'W8.sync_all' THEN format('all %s policies dropped and created', checks->>'policies')
            WHEN 'W8.memory' THEN format('%s MB before, %s MB after', checks->>'before_mb', checks->>'after_mb')
    END END);

\pset footer off
\echo
\echo 'acl ÷ baseline, medians of repeated runs (ms: lower is better; tps: higher is better; W8: figure and limit)'
SELECT id, description AS workload,
       CASE unit WHEN 'tps' THEN round(acl::numeric, 1) WHEN 'MB' THEN round(acl::numeric, 2) ELSE round(acl::numeric, 3) END
           || ' ' || unit AS acl,
       CASE unit WHEN 'tps' THEN round(baseline::numeric, 1) WHEN 'MB' THEN round(baseline::numeric, 2)
                 ELSE round(baseline::numeric, 3) END || ' ' || unit
           || CASE WHEN base_arm IS NULL THEN ' (limit)' WHEN base_arm = 'hand' THEN ' (hand)' ELSE '' END AS baseline,
       round(ratio::numeric, 3) || 'x' AS ratio, target_text AS target,
       CASE WHEN error IS NOT NULL THEN 'ERROR' WHEN pass THEN 'pass' ELSE 'FAIL' END AS result
  FROM bench.results ORDER BY sort;

\pset format unaligned
\pset tuples_only on
\echo
\echo 'Notes'
SELECT format('  %-9s %s', id, notes) FROM bench.results WHERE notes <> '' ORDER BY sort;
\echo
SELECT format(E'Missed targets: %s of %s. Their plans: the acl side, EXPLAIN (VERBOSE, ANALYZE, BUFFERS),\n'
              'without Output lines and the InitPlans that only compute a gate (latest.json has them whole):',
              count(*) FILTER (WHERE NOT pass), count(*))
  FROM bench.results;
SELECT format(E'\n--- %s: %s (%s, target %s)\n%s', id, description,
              coalesce(round(ratio::numeric, 3) || 'x', 'no figure'), target_text,
              CASE WHEN first_id <> id THEN format('(the statement of %s; its plan is above)', first_id)
                   ELSE coalesce(bench.condensed(plan), error, '(no plan)') END)
  FROM (SELECT r.*, first_value(id) OVER (PARTITION BY workload ORDER BY sort) AS first_id
          FROM bench.results r WHERE NOT pass) missed
 ORDER BY sort;

\o :json_file
SELECT jsonb_pretty(jsonb_build_object(
    'date', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    'mode', :'mode',
    'duration_s', :duration_s,
    'machine', jsonb_build_object('nproc', :nproc, 'cpu', :'cpu', 'postgresql', version()),
    'acl', jsonb_build_object('build', :'acl_build', 'reinstalled_during_run', :acl_changed),
    'settings', jsonb_build_object(
        'shared_buffers', current_setting('shared_buffers'),
        'max_parallel_workers_per_gather', current_setting('max_parallel_workers_per_gather'),
        'jit', current_setting('jit'), 'read_samples', :samples, 'read_sample_ms', :sample_ms,
        'pgbench_clients', :clients, 'pgbench_rounds', :pgbench_rounds, 'w7_rounds', :w7_rounds,
        'pgbench_seconds', :pgbench_seconds),
    'data', (SELECT result FROM bench.checks WHERE workload = 'data'),
    'workloads', (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
        'id', id, 'workload', description, 'unit', unit,
        'acl', acl, 'baseline', baseline,
        'baseline_kind', coalesce(base_arm, 'limit'),
        'ratio', ratio, 'target', target_text, 'target_ratio', target, 'target_op', op,
        'pass', pass, 'status', CASE WHEN error IS NOT NULL THEN 'error' WHEN pass THEN 'pass' ELSE 'fail' END,
        'error', error, 'notes', nullif(notes, ''),
        'samples', jsonb_build_object('acl', acl_samples, 'baseline', baseline_samples),
        'rows', jsonb_build_object('acl', acl_rows, 'baseline', baseline_rows),
        'checks', checks, 'plan', plan, 'plan_analyzed', plan_analyzed, 'baseline_plan', baseline_plan))
        ORDER BY sort) FROM bench.results)));
\o :chart_file
SELECT format('%s %s%s%s %s %s %s', sort, id, op, target,
              coalesce(ratio, 0), target, CASE WHEN pass THEN 1 ELSE 0 END)
  FROM bench.results ORDER BY sort;
\o
