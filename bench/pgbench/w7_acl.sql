-- W7, acl: a pooled connection serves a random patient per transaction and
-- reads their latest 50 readings with a prepared statement.  -D patients=N
\set n random(1, :patients)
BEGIN;
SELECT set_config('acl.user_id', '00000000-0000-4000-8000-' || lpad(:n::text, 12, '0'), true);
SELECT * FROM public.glucose_readings ORDER BY measured_at DESC LIMIT 50;
COMMIT;
