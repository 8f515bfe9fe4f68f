-- W4 as a client receives it, baseline: the same rows with RLS off, and the
-- same identity statement, to a setting nothing reads.  -D patient_uid=UUID
BEGIN;
SELECT set_config('bench.user_id', :patient_uid, true);
SELECT * FROM public.profiles WHERE published OR id = :patient_uid;
COMMIT;
