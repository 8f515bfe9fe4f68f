-- W4 as a client receives it, acl: the patient reads every profile it may,
-- two columns masked on other people's rows; the rows go over the wire and
-- libpq parses them, where bench.measure() keeps them in the backend.
-- -D patient_uid=UUID
BEGIN;
SELECT set_config('acl.user_id', :patient_uid, true);
SELECT * FROM public.profiles;
COMMIT;
