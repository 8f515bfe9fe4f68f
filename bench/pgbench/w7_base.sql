-- W7, baseline: the same transaction without acl; row-level security does
-- not apply (bench_base: BYPASSRLS) and the query states the patient.
-- -D patients=N
\set n random(1, :patients)
BEGIN;
SELECT * FROM public.glucose_readings
 WHERE patient = ('00000000-0000-4000-8000-' || lpad(:n::text, 12, '0'))::uuid
 ORDER BY measured_at DESC LIMIT 50;
COMMIT;
