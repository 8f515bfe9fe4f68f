-- W7, identity arm: W7's baseline plus the statement an application behind
-- a pooler sends to name its end user, here a setting nothing reads
-- (bench.user_id).  Its tps over the baseline's is what acl would score if
-- it cost nothing: the price of the statement the workload requires.
-- -D patients=N
\set n random(1, :patients)
BEGIN;
SELECT set_config('bench.user_id', '00000000-0000-4000-8000-' || lpad(:n::text, 12, '0'), true);
SELECT * FROM public.glucose_readings
 WHERE patient = ('00000000-0000-4000-8000-' || lpad(:n::text, 12, '0'))::uuid
 ORDER BY measured_at DESC LIMIT 50;
COMMIT;
