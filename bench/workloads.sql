/*
 * bench/workloads.sql: every workload's statements (arms) and targets.
 * psql variables: patient, coordinator (user numbers).
 *
 * Arms: acl = the application role and an end user, through acl's policies;
 * baseline = the same result without access control (bench_base, the
 * application's grants with row-level security bypassed, stating the filter
 * itself; for W5 an unmanaged copy of the table); hand = the hand-written
 * policies (W6).
 * W5 and W7 are timed by pgbench (bench/pgbench/); their arms give the plans.
 */
\set ON_ERROR_STOP on
SELECT bench.uid(:patient) AS patient_uid \gset

INSERT INTO bench.arms (workload, arm, role, end_user, sql) VALUES
    ('W1', 'acl', 'bench_app', :patient,
     'SELECT * FROM public.glucose_readings ORDER BY measured_at DESC LIMIT 50'),
    ('W1', 'baseline', 'bench_base', NULL,
     format('SELECT * FROM public.glucose_readings WHERE patient = %L ORDER BY measured_at DESC LIMIT 50', :'patient_uid')),
    ('W1', 'hand', 'bench_app', :patient,
     'SELECT * FROM handrls.glucose_readings ORDER BY measured_at DESC LIMIT 50'),
    ('W2', 'acl', 'bench_app', :coordinator, 'SELECT count(*) FROM public.glucose_readings'),
    ('W2', 'baseline', 'bench_base', NULL, 'SELECT count(*) FROM public.glucose_readings'),
    ('W2', 'hand', 'bench_app', :coordinator, 'SELECT count(*) FROM handrls.glucose_readings'),
    ('W4', 'acl', 'bench_app', :patient, 'SELECT * FROM public.profiles'),
    ('W4', 'baseline', 'bench_base', NULL,
     format('SELECT * FROM public.profiles WHERE published OR id = %L', :'patient_uid')),
    ('W4', 'hand', 'bench_app', :patient, 'SELECT * FROM handrls.profiles_masked'),
    ('W5', 'acl', 'bench_app', :patient,
     'INSERT INTO public.glucose_readings (value, measured_at, note) VALUES (120, now(), ''pgbench'')'),
    ('W5', 'baseline', 'bench_app', NULL,
     format('INSERT INTO plain.glucose_readings (patient, value, measured_at, note) VALUES (%L, 120, now(), ''pgbench'')',
            :'patient_uid'));
-- W3 is W1's query while another role holds a permission no index serves;
-- W7 is W1's query, prepared, behind a pool.
INSERT INTO bench.arms SELECT w, arm, role, end_user, sql
  FROM bench.arms, (VALUES ('W3'), ('W7')) v(w) WHERE workload = 'W1' AND arm <> 'hand';

INSERT INTO bench.targets (id, sort, description, workload, base_arm, limit_value, unit, op, target, target_text) VALUES
    ('W1', 1, 'a patient reads their latest 50 readings', 'W1', 'baseline', NULL, 'ms', '<=', 1.10, '<= 1.10x'),
    ('W2', 2, 'a coordinator counts all readings through 5 OR''d permissions', 'W2', 'baseline', NULL, 'ms', '<=', 1.25, '<= 1.25x'),
    ('W3', 3, 'W1 while another role holds note _icontains (no index serves it)', 'W3', 'baseline', NULL, 'ms', '<=', 1.50,
     '<= 1.50x, index used'),
    ('W4', 4, 'SELECT * on profiles, 2 row-dependent masked columns', 'W4', 'baseline', NULL, 'ms', '<=', 1.30, '<= 1.30x'),
    ('W5', 5, 'INSERT with presets + validation + field check (pgbench)', 'W5', 'baseline', NULL, 'tps', '>=', 0.80, '>= 0.80x'),
    ('W6.W1', 6, 'W1 against hand-written Supabase-style policies', 'W1', 'hand', NULL, 'ms', '<=', 1.00, '<= 1.00x'),
    ('W6.W2', 7, 'W2 against hand-written Supabase-style policies', 'W2', 'hand', NULL, 'ms', '<=', 1.00, '<= 1.00x'),
    ('W6.W4', 8, 'W4 against a hand-written policies + CASE view', 'W4', 'hand', NULL, 'ms', '<=', 1.00, '<= 1.00x'),
    ('W7', 9, 'pooled: SET LOCAL acl.user_id per transaction, prepared W1 (pgbench)', 'W7', 'baseline', NULL, 'tps', '>=', 0.85,
     '>= 0.85x, no replanning'),
    ('W8.sync', 10, 'acl.sync() with the W8 catalog', 'W8.sync', NULL, 1000, 'ms', '<', 1.00, '< 1000 ms'),
    ('W8.sync_all', 11, 'acl.sync() regenerating all W8 policies (as after a restore)', 'W8.sync_all', NULL, 1000, 'ms', '<', 1.00,
     '< 1000 ms'),
    ('W8.memory', 12, 'one backend''s memory growth after touching every W8 table', 'W8.memory', NULL, 10, 'MB', '<', 1.00, '< 10 MB');

-- W3's permission: Carb research (attached to Nutritionist) reads what
-- mentions carbs.  On for the time of W3 only.
CREATE FUNCTION bench.w3_permission(present boolean) RETURNS void LANGUAGE sql AS $$
    DELETE FROM acl.permissions WHERE policy = 'b2000000-0000-4000-8000-00000000000a';
    INSERT INTO acl.permissions (policy, collection, action, permissions, fields)
    SELECT 'b2000000-0000-4000-8000-00000000000a', 'public.glucose_readings', 'read',
           '{"note": {"_icontains": "carb"}}', '{*}'
     WHERE present;
$$;

-- W4: are bio and diabetes_type of other people's profiles masked?
CREATE FUNCTION bench.check_w4(patient int) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'other_rows_showing_masked_columns', bench.attempt('bench_app', patient, format(
            'SELECT count(*) FROM public.profiles WHERE id <> %L AND (bio IS NOT NULL OR diabetes_type IS NOT NULL)',
            bench.uid(patient))),
        'own_row_shows_them', bench.attempt('bench_app', patient,
            'SELECT bio IS NOT NULL FROM public.profiles WHERE id = ' || quote_literal(bench.uid(patient))));
$$;

-- W5: does acl apply the create permission's presets, validation and fields?
CREATE FUNCTION bench.check_w5(patient int) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'preset_fills_patient', bench.attempt('bench_app', patient,
            'INSERT INTO public.glucose_readings (value, measured_at, note) VALUES (120, now(), ''check'')'
            ' RETURNING patient = ' || quote_literal(bench.uid(patient)) || '::uuid'),
        'validation_refuses_value_900', bench.attempt('bench_app', patient,
            'INSERT INTO public.glucose_readings (value, measured_at, note) VALUES (900, now(), ''check'') RETURNING id'),
        'field_check_refuses_patient', bench.attempt('bench_app', patient, format(
            'INSERT INTO public.glucose_readings (patient, value, measured_at) VALUES (%L, 120, now()) RETURNING id',
            bench.uid(patient + 1))));
$$;
