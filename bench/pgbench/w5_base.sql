-- W5, baseline: the same transaction, identity included, into a copy of the
-- table that acl does not manage; the application states the patient
-- itself.  -D patients=N -D pooled=0|1 (see w5_acl.sql)
\if :pooled
\set n random(1, :patients)
\else
\set n :client_id + 1
\endif
\set v random(40, 400)
BEGIN;
SELECT set_config('acl.user_id', '00000000-0000-4000-8000-' || lpad(:n::text, 12, '0'), true);
INSERT INTO plain.glucose_readings (patient, value, measured_at, note)
    VALUES (('00000000-0000-4000-8000-' || lpad(:n::text, 12, '0'))::uuid, :v, now(), 'pgbench');
COMMIT;
