/*
 * bench/data.sql: the demo's diabetes network (test/demo.sql), scaled up.
 * psql variables: users, readings.
 *
 * Users 1..users (bench.uid(n)), in blocks: 90% patients, then caregivers
 * (5%), nutritionists (2%), coordinators, and the last one an administrator.
 * Every user has a profile (even-numbered ones are published) and
 * readings/users glucose readings.  All values are computed, not random, so
 * every run loads the same data.
 *
 * Three copies of the tables:
 *   public   managed by acl: the demo's roles and policies, plus review
 *            policies so that glucose_readings carries 10 permissions;
 *   handrls  the same rows and the same permission matrix, written by hand
 *            as Supabase-style policies (W6);
 *   plain    glucose_readings only, not managed by acl (W5's baseline).
 */
\set ON_ERROR_STOP on
BEGIN;

CREATE TABLE public.profiles (
    id            uuid PRIMARY KEY REFERENCES acl.users (id) ON DELETE CASCADE,
    display_name  varchar(80) NOT NULL,
    bio           text,
    city          varchar(80),
    diabetes_type text CHECK (diabetes_type IN ('type 1', 'type 2', 'gestational', 'other')),
    published     boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.care_links (
    caregiver uuid NOT NULL REFERENCES public.profiles (id) ON DELETE CASCADE,
    patient   uuid NOT NULL REFERENCES public.profiles (id) ON DELETE CASCADE,
    since     date NOT NULL DEFAULT current_date,
    PRIMARY KEY (caregiver, patient),
    CHECK (caregiver <> patient)
);
CREATE TABLE public.glucose_readings (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient     uuid NOT NULL REFERENCES public.profiles (id) ON DELETE CASCADE,
    value       integer NOT NULL CHECK (value > 0),          -- mg/dL
    measured_at timestamptz NOT NULL DEFAULT now(),
    note        text
);

-- Roles and policies: the demo's ids and names.
INSERT INTO acl.roles (id, name, parent) VALUES
    ('a1000000-0000-4000-8000-000000000001', 'Member', NULL),
    ('a1000000-0000-4000-8000-000000000002', 'Coordinator', 'a1000000-0000-4000-8000-000000000001'),
    ('a1000000-0000-4000-8000-000000000003', 'Nutritionist', 'a1000000-0000-4000-8000-000000000001'),
    ('a1000000-0000-4000-8000-000000000004', 'Patient', 'a1000000-0000-4000-8000-000000000001'),
    ('a1000000-0000-4000-8000-000000000005', 'Caregiver', 'a1000000-0000-4000-8000-000000000001');
INSERT INTO acl.policies (id, name, app_access) VALUES
    ('b2000000-0000-4000-8000-000000000001', 'Member', true),
    ('b2000000-0000-4000-8000-000000000002', 'Coordinator', true),
    ('b2000000-0000-4000-8000-000000000003', 'Nutritionist', true),
    ('b2000000-0000-4000-8000-000000000004', 'Patient', true),
    ('b2000000-0000-4000-8000-000000000005', 'Caregiver', true),
    -- Added for the benchmark: coordinators review readings by band.
    ('b2000000-0000-4000-8000-000000000007', 'Hypo review', false),
    ('b2000000-0000-4000-8000-000000000008', 'Hyper review', false),
    ('b2000000-0000-4000-8000-000000000009', 'In-range audit', false),
    -- W3 gives it a permission no index serves, for the time of W3.
    ('b2000000-0000-4000-8000-00000000000a', 'Carb research', false);
INSERT INTO acl.access (role, policy, sort) VALUES
    ('a1000000-0000-4000-8000-000000000001', 'b2000000-0000-4000-8000-000000000001', 1),
    ('a1000000-0000-4000-8000-000000000002', 'b2000000-0000-4000-8000-000000000002', 1),
    ('a1000000-0000-4000-8000-000000000002', 'b2000000-0000-4000-8000-000000000007', 2),
    ('a1000000-0000-4000-8000-000000000002', 'b2000000-0000-4000-8000-000000000008', 3),
    ('a1000000-0000-4000-8000-000000000002', 'b2000000-0000-4000-8000-000000000009', 4),
    ('a1000000-0000-4000-8000-000000000003', 'b2000000-0000-4000-8000-000000000003', 1),
    ('a1000000-0000-4000-8000-000000000003', 'b2000000-0000-4000-8000-00000000000a', 2),
    ('a1000000-0000-4000-8000-000000000004', 'b2000000-0000-4000-8000-000000000004', 1),
    ('a1000000-0000-4000-8000-000000000005', 'b2000000-0000-4000-8000-000000000005', 1);

INSERT INTO acl.users (id, email, first_name, last_name, role)
SELECT bench.uid(n), format('user%s@bench.example', n), 'User', n::text,
       CASE WHEN n <= :users * 90 / 100 THEN 'a1000000-0000-4000-8000-000000000004'::uuid   -- Patient
            WHEN n <= :users * 95 / 100 THEN 'a1000000-0000-4000-8000-000000000005'::uuid   -- Caregiver
            WHEN n <= :users * 97 / 100 THEN 'a1000000-0000-4000-8000-000000000003'::uuid   -- Nutritionist
            WHEN n < :users THEN 'a1000000-0000-4000-8000-000000000002'::uuid               -- Coordinator
            ELSE '7a0e3c57-5d0e-4a53-9b8e-5f0d6a1b0001'::uuid END                          -- Administrator
  FROM generate_series(1, :users) n;

INSERT INTO public.profiles (id, display_name, bio, city, diabetes_type, published, created_at)
SELECT bench.uid(n), 'Member ' || n, 'About member ' || n,
       (ARRAY['Leipzig', 'Halle', 'Dresden', 'Chemnitz', 'Jena'])[1 + n % 5],
       (ARRAY['type 1', 'type 2', 'gestational', 'other', NULL])[1 + n % 5],
       n % 2 = 0, timestamptz '2024-01-01 00:00+00' + n * interval '1 minute'
  FROM generate_series(1, :users) n;

-- Each caregiver looks after two patients.
INSERT INTO public.care_links (caregiver, patient, since)
SELECT DISTINCT bench.uid(c), bench.uid(1 + (c * k) % (:users * 90 / 100)), date '2024-02-01'
  FROM generate_series(:users * 90 / 100 + 1, :users * 95 / 100) c, (VALUES (7), (13)) v(k);

-- Readings round-robin over all users, every 7 hours back from June 2024.
INSERT INTO public.glucose_readings (patient, value, measured_at, note)
SELECT bench.uid(1 + (i - 1) % :users),
       40 + (hashint4(i) & 2147483647) % 320,
       timestamptz '2024-06-30 00:00+00' - ((i - 1) / :users) * interval '7 hours'
                                         - ((i - 1) % :users) * interval '1 second',
       (ARRAY['fasting', 'after lunch, 45 g carbs', 'before bed', 'low-carb dinner',
              'after a run', NULL, NULL, NULL, NULL, NULL])[1 + i % 10]
  FROM generate_series(1, :readings) i;

-- The demo's index on care_links, and acl.lint()'s advice for the Member
-- rule on profiles.  glucose_readings gets its indexes below, with its copies.
CREATE INDEX care_links_patient_idx ON public.care_links (patient);
CREATE INDEX profiles_published_idx ON public.profiles (published);

/*
 * The permission matrix.  glucose_readings: a coordinator reads through five
 * permissions from four policies, whose union is every reading.
 */
INSERT INTO acl.permissions (policy, collection, action, permissions, validation, presets, fields) VALUES
    ('b2000000-0000-4000-8000-000000000001', 'public.profiles', 'read',
     '{"published": {"_eq": true}}', NULL, NULL, '{id,display_name,city,published,created_at}'),
    ('b2000000-0000-4000-8000-000000000001', 'public.profiles', 'read',
     '{"id": {"_eq": "$CURRENT_USER"}}', NULL, NULL, '{*}'),
    ('b2000000-0000-4000-8000-000000000001', 'public.profiles', 'update',
     '{"id": {"_eq": "$CURRENT_USER"}}', NULL, NULL, '{display_name,bio,city,diabetes_type,published}'),
    ('b2000000-0000-4000-8000-000000000002', 'public.profiles', 'read', NULL, NULL, NULL, '{*}'),
    ('b2000000-0000-4000-8000-000000000002', 'public.care_links', 'read', NULL, NULL, NULL, '{*}'),
    ('b2000000-0000-4000-8000-000000000002', 'public.glucose_readings', 'read',
     '{"patient": {"_eq": "$CURRENT_USER"}}', NULL, NULL, '{*}'),
    ('b2000000-0000-4000-8000-000000000002', 'public.glucose_readings', 'read',
     '{"note": {"_nnull": true}}', NULL, NULL, '{*}'),
    ('b2000000-0000-4000-8000-000000000007', 'public.glucose_readings', 'read',
     '{"value": {"_lt": 70}}', NULL, NULL, '{*}'),
    ('b2000000-0000-4000-8000-000000000008', 'public.glucose_readings', 'read',
     '{"value": {"_gt": 180}}', NULL, NULL, '{*}'),
    ('b2000000-0000-4000-8000-000000000009', 'public.glucose_readings', 'read',
     '{"value": {"_between": [70, 180]}}', NULL, NULL, '{*}'),
    ('b2000000-0000-4000-8000-000000000003', 'public.glucose_readings', 'read',
     NULL, NULL, NULL, '{id,patient,value,measured_at}'),
    ('b2000000-0000-4000-8000-000000000004', 'public.glucose_readings', 'read',
     '{"patient": {"_eq": "$CURRENT_USER"}}', NULL, NULL, '{*}'),
    ('b2000000-0000-4000-8000-000000000004', 'public.glucose_readings', 'create',
     NULL, '{"value": {"_between": [20, 600]}}', '{"patient": "$CURRENT_USER"}', '{value,measured_at,note}'),
    ('b2000000-0000-4000-8000-000000000004', 'public.glucose_readings', 'update',
     '{"patient": {"_eq": "$CURRENT_USER"}}', '{"value": {"_between": [20, 600]}}', NULL, '{value,measured_at,note}'),
    ('b2000000-0000-4000-8000-000000000005', 'public.glucose_readings', 'read',
     '{"patient": {"care_links.patient": {"_some": {"caregiver": {"_eq": "$CURRENT_USER"}}}}}', NULL, NULL, '{*}'),
    ('b2000000-0000-4000-8000-000000000005', 'public.care_links', 'read',
     '{"caregiver": {"_eq": "$CURRENT_USER"}}', NULL, NULL, '{*}');

/* ---------------------------------------------------------------------------
 * handrls: the same rows, and the same matrix by hand, as Supabase documents
 * it: helpers wrapped in (select ...) so they run once per statement, one
 * policy per permission, TO the application role.
 * ------------------------------------------------------------------------- */
CREATE SCHEMA handrls;
CREATE TABLE handrls.members (id uuid PRIMARY KEY, role text NOT NULL);
INSERT INTO handrls.members SELECT u.id, r.name FROM acl.users u JOIN acl.roles r ON r.id = u.role;
CREATE FUNCTION handrls.uid() RETURNS uuid LANGUAGE sql STABLE
RETURN nullif(current_setting('acl.user_id', true), '')::uuid;
-- Supabase's advice: a SECURITY DEFINER helper returning a boolean, wrapped
-- in (select ...) so that it runs once per statement, not once per row.
CREATE FUNCTION handrls.has_role(VARIADIC roles text[]) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog
AS $$ SELECT EXISTS (SELECT 1 FROM handrls.members WHERE id = handrls.uid() AND role = ANY (roles)) $$;

CREATE TABLE handrls.profiles (LIKE public.profiles INCLUDING ALL);
CREATE TABLE handrls.care_links (LIKE public.care_links INCLUDING ALL);
CREATE TABLE handrls.glucose_readings (LIKE public.glucose_readings INCLUDING ALL EXCLUDING INDEXES);
INSERT INTO handrls.profiles SELECT * FROM public.profiles;
INSERT INTO handrls.care_links SELECT * FROM public.care_links;
INSERT INTO handrls.glucose_readings OVERRIDING SYSTEM VALUE SELECT * FROM public.glucose_readings ORDER BY id;
ALTER TABLE handrls.glucose_readings ADD PRIMARY KEY (id);

ALTER TABLE handrls.glucose_readings ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin ON handrls.glucose_readings TO bench_app
    USING ((select handrls.has_role('Administrator')));
CREATE POLICY coordinator_own ON handrls.glucose_readings FOR SELECT TO bench_app
    USING ((select handrls.has_role('Coordinator')) AND patient = (select handrls.uid()));
CREATE POLICY coordinator_annotated ON handrls.glucose_readings FOR SELECT TO bench_app
    USING ((select handrls.has_role('Coordinator')) AND note IS NOT NULL);
CREATE POLICY hypo_review ON handrls.glucose_readings FOR SELECT TO bench_app
    USING ((select handrls.has_role('Coordinator')) AND value < 70);
CREATE POLICY hyper_review ON handrls.glucose_readings FOR SELECT TO bench_app
    USING ((select handrls.has_role('Coordinator')) AND value > 180);
CREATE POLICY in_range_audit ON handrls.glucose_readings FOR SELECT TO bench_app
    USING ((select handrls.has_role('Coordinator')) AND value BETWEEN 70 AND 180);
CREATE POLICY nutritionist ON handrls.glucose_readings FOR SELECT TO bench_app
    USING ((select handrls.has_role('Nutritionist')));
CREATE POLICY patient_own ON handrls.glucose_readings FOR SELECT TO bench_app
    USING ((select handrls.has_role('Patient')) AND patient = (select handrls.uid()));
CREATE POLICY caregiver ON handrls.glucose_readings FOR SELECT TO bench_app
    USING ((select handrls.has_role('Caregiver'))
           AND patient IN (SELECT cl.patient FROM handrls.care_links cl WHERE cl.caregiver = (select handrls.uid())));

ALTER TABLE handrls.profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin ON handrls.profiles TO bench_app
    USING ((select handrls.has_role('Administrator')));
CREATE POLICY member_published ON handrls.profiles FOR SELECT TO bench_app
    USING ((select handrls.has_role('Coordinator', 'Nutritionist', 'Patient', 'Caregiver')) AND published);
CREATE POLICY member_own ON handrls.profiles FOR SELECT TO bench_app
    USING ((select handrls.has_role('Coordinator', 'Nutritionist', 'Patient', 'Caregiver'))
           AND id = (select handrls.uid()));
CREATE POLICY coordinator ON handrls.profiles FOR SELECT TO bench_app
    USING ((select handrls.has_role('Coordinator')));
-- Row-dependent columns: bio and diabetes_type only where a permission
-- listing them matches the row (one's own profile; a coordinator's all).
CREATE VIEW handrls.profiles_masked WITH (security_invoker = true) AS
SELECT p.id, p.display_name,
       CASE WHEN p.id = (select handrls.uid()) OR (select handrls.has_role('Coordinator', 'Administrator'))
            THEN p.bio END AS bio,
       p.city,
       CASE WHEN p.id = (select handrls.uid()) OR (select handrls.has_role('Coordinator', 'Administrator'))
            THEN p.diabetes_type END AS diabetes_type,
       p.published, p.created_at
  FROM handrls.profiles p;

/* plain: W5 inserts here without acl; same columns, constraints, keys. */
CREATE SCHEMA plain;
CREATE TABLE plain.glucose_readings (LIKE public.glucose_readings INCLUDING ALL EXCLUDING INDEXES);
INSERT INTO plain.glucose_readings OVERRIDING SYSTEM VALUE SELECT * FROM public.glucose_readings ORDER BY id;
ALTER TABLE plain.glucose_readings ADD PRIMARY KEY (id),
    ADD FOREIGN KEY (patient) REFERENCES public.profiles (id) ON DELETE CASCADE;
SELECT setval(pg_get_serial_sequence('plain.glucose_readings', 'id'), :readings) \gset

/*
 * The indexes a DBA would create on every copy of glucose_readings: the
 * demo's (one patient's series in time order), and the one acl.lint() asks
 * for the coordinators' value bands.  None serves note _icontains, which is
 * the point of W3.
 */
CREATE INDEX glucose_readings_patient_time_idx ON public.glucose_readings (patient, measured_at DESC);
CREATE INDEX glucose_readings_value_idx ON public.glucose_readings (value);
CREATE INDEX glucose_readings_patient_time_idx ON handrls.glucose_readings (patient, measured_at DESC);
CREATE INDEX glucose_readings_value_idx ON handrls.glucose_readings (value);
CREATE INDEX glucose_readings_patient_time_idx ON plain.glucose_readings (patient, measured_at DESC);
CREATE INDEX glucose_readings_value_idx ON plain.glucose_readings (value);

GRANT USAGE ON SCHEMA public, handrls, plain TO bench_app, bench_base;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public, handrls, plain TO bench_app, bench_base;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public, handrls, plain TO bench_app, bench_base;
COMMIT;

VACUUM (ANALYZE, FREEZE) public.profiles, public.care_links, public.glucose_readings,
    handrls.members, handrls.profiles, handrls.care_links, handrls.glucose_readings, plain.glucose_readings;
