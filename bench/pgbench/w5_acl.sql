-- W5, acl: a patient logs a reading.  acl fills in patient (preset), checks
-- value (validation) and the columns written (fields).  -D patients=N
-- -D pooled=0: connection k always acts as patient k+1; pooled=1: a random
-- patient per transaction, as behind a transaction pooler.
\if :pooled
\set n random(1, :patients)
\else
\set n :client_id + 1
\endif
\set v random(40, 400)
BEGIN;
SELECT set_config('acl.user_id', '00000000-0000-4000-8000-' || lpad(:n::text, 12, '0'), true);
INSERT INTO public.glucose_readings (value, measured_at, note) VALUES (:v, now(), 'pgbench');
COMMIT;
