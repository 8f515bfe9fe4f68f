-- Validation rules: Directus payload semantics (spec §5, cases 95-102),
-- run-time dynamic variables, and the 23514 error a gateway can parse.
\set VERBOSITY default
\set SHOW_CONTEXT never

-- Cases 95-97, 99-101 through the SQL entry point.
SELECT p AS payload, jsonb_array_length(acl.validation_errors('{"value": {"_contains": "MATCH-EXACT"}}', p)) AS errors
  FROM (VALUES ('{"value": "substring-MATCH-EXACT"}'::jsonb), ('{"value": "match-exact"}'), ('{"value": null}'),
               ('{"value": 123}'), ('{"value": [123, "MATCH-EXACT"]}'), ('{"value": []}'), ('{"value": {}}')) v(p);
SELECT p AS payload, jsonb_array_length(acl.validation_errors(
           '{"_or": [{"_and": [{"a": 1}, {"b": 1}]}, {"_and": [{"a": 2}, {"b": 2}]}]}', p)) AS errors
  FROM (VALUES ('{"a": 0, "b": 0}'::jsonb), ('{"a": 0, "b": 1}'), ('{"a": 1, "b": 2}'), ('{"a": 1, "b": 1}'),
               ('{"a": 2, "b": 2}')) v(p);
SELECT acl.validation_errors('{"field": {"_eq": "field"}}', '{}') AS absent_field_passes,
       acl.validation_errors('{"field": {"_submitted": true}}', '{}') AS submitted,
       acl.validation_errors('{"field": {"_regex": "/.*field$/"}}', '{"field": "myfield"}') AS regex_slashes,
       acl.validation_errors('{"field": {"_regex": ".*field$"}}', '{"field": "other"}') AS regex;
SELECT acl.validation_errors('{"price": {"_gt": 0}}', '{"price": -1}') AS case_101;
SELECT acl.validation_errors('{"year(date)": {"_eq": 2022}}', '{"date": "2022-03-30T09:36:27Z"}') AS case_102,
       acl.validation_errors('{"year(date)": {"_eq": 2023}}', '{"date": "2022-03-30T09:36:27Z"}') AS case_102_fails;
SELECT acl.validation_errors('{"value": {"_between": [20, 600]}}', '{"value": 20}') AS low_edge,
       acl.validation_errors('{"value": {"_between": [20, 600]}}', '{"value": 601}') AS above;

-- Dynamic variables take the current user's values at run time.
INSERT INTO acl.users (id, email, department) VALUES ('80000000-0000-4000-8000-000000000001', 'val@example.org', 'south');
SET acl.user_id = '80000000-0000-4000-8000-000000000001';
SELECT acl.resolve('{"owner": "$CURRENT_USER", "dept": "$CURRENT_USER.department", "roles": ["x", "$CURRENT_ROLES"], "n": 1}');
SELECT acl.resolve('{"at": "$NOW(-1 day)"}') ->> 'at' < (now() AT TIME ZONE 'UTC')::text AS now_is_in_the_past;
SELECT acl.validation_errors('{"owner": {"_eq": "$CURRENT_USER"}}', '{"owner": "80000000-0000-4000-8000-000000000001"}') AS own,
       jsonb_array_length(acl.validation_errors('{"owner": {"_eq": "$CURRENT_USER"}}', '{"owner": "someone-else"}')) AS other;
RESET acl.user_id;
SELECT acl.validation_errors('{"owner": {"_eq": "$CURRENT_USER"}}', '{"owner": null}') AS anonymous_null_matches;

-- The error: 23514, the first failing field in the message, every failure
-- as JSON in the detail.
-- (The SQLSTATE alone, then the message; verbose would add the source line.)
\set VERBOSITY sqlstate
SELECT acl.check_validation('{"_and": [{"value": {"_between": [20, 600]}}, {"note": {"_nempty": true}}]}',
                            '{"value": 700, "note": ""}', 'glucose_readings');
\set VERBOSITY default
SELECT acl.check_validation('{"_and": [{"value": {"_between": [20, 600]}}, {"note": {"_nempty": true}}]}',
                            '{"value": 700, "note": ""}', 'glucose_readings');
SELECT 'passes' AS valid FROM (SELECT acl.check_validation('{"value": {"_between": [20, 600]}}', '{"value": 100}', 'glucose_readings')) s;
DO $$
BEGIN
    PERFORM acl.check_validation('{"a": {"_gt": 1}, "b": {"_in": ["x", "y"]}}', '{"a": 0, "b": "z"}', 't');
EXCEPTION WHEN check_violation THEN
    DECLARE detail text;
    BEGIN
        GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
        RAISE NOTICE 'failing fields: %', (SELECT string_agg(f ->> 'field' || ':' || (f ->> 'type'), ', ' ORDER BY f ->> 'field')
                                             FROM jsonb_array_elements(detail::jsonb) f);
    END;
END
$$;

-- Bad input is refused.
SELECT acl.validation_errors('{"value": {"_bogus": 1}}', '{}');
SELECT acl.validation_errors('{"value": {"_gt": 1}}', '[1]');
SELECT acl.validation_errors('{"value": {"_regex": "("}}', '{"value": "x"}');
CREATE TABLE val_notes (id int PRIMARY KEY, body text);
INSERT INTO acl.permissions (policy, collection, action, validation)
VALUES ('abf8a154-5b1c-4a46-ac9c-7300570f4f17', 'val_notes', 'create', '{"body": {"_regex": "(unclosed"}}');
INSERT INTO acl.permissions (policy, collection, action, validation)
VALUES ('abf8a154-5b1c-4a46-ac9c-7300570f4f17', 'val_notes', 'create', '{"body": {"_regex": "(a)\\1"}}');
INSERT INTO acl.permissions (policy, collection, action, validation)
VALUES ('abf8a154-5b1c-4a46-ac9c-7300570f4f17', 'val_notes', 'create', '{"body": {"_regex": "/^\\d{3}-\\w+$/"}}');
SELECT acl.validation_errors(validation, '{"body": "123-abc"}') AS ok,
       jsonb_array_length(acl.validation_errors(validation, '{"body": "12-abc"}')) AS bad
  FROM acl.permissions WHERE collection = 'val_notes'::regclass;
DELETE FROM acl.permissions WHERE collection = 'val_notes'::regclass;
