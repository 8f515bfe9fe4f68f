/*
 * Demo data for test/demo.sh: a community network for people living with
 * diabetes, their caregivers and the professionals who support them.
 *
 * Load it into a database where CREATE EXTENSION acl has run.  Ids are fixed
 * so that the demo output is the same on every run; the first hex digit says
 * what an id names: a = role, b = policy, c = access row, d = user (and the
 * user's profile).
 *
 * Every permission below is enforced as soon as it is inserted: rows, column
 * masks, field checks, presets, validation and shares.
 */

BEGIN;

/* ---------------------------------------------------------------------------
 * The application's tables.
 * ------------------------------------------------------------------------- */

-- A profile is the public face of an acl user, so it shares the user's id;
-- the foreign key keeps the two from drifting apart.
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
-- The primary key serves lookups by caregiver; rules that start from the
-- patient ("who looks after this person?") need the other direction.
CREATE INDEX care_links_patient_idx ON public.care_links (patient);

CREATE TABLE public.glucose_readings (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient     uuid NOT NULL REFERENCES public.profiles (id) ON DELETE CASCADE,
    value       integer NOT NULL CHECK (value > 0),          -- mg/dL
    measured_at timestamptz NOT NULL DEFAULT now(),
    note        text
);
-- Every rule and every chart reads one patient's series in time order.
CREATE INDEX glucose_readings_patient_time_idx ON public.glucose_readings (patient, measured_at DESC);

CREATE TABLE public.recipes (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title   varchar(200) NOT NULL,
    body    text NOT NULL,
    carbs_g numeric(5,1) CHECK (carbs_g >= 0),               -- per serving
    status  text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    -- Recipes outlive a departing author.
    author  uuid REFERENCES public.profiles (id) ON DELETE SET NULL
);
CREATE INDEX recipes_author_idx ON public.recipes (author);
-- Most readers only ever see published recipes.
CREATE INDEX recipes_published_idx ON public.recipes (id) WHERE status = 'published';

CREATE TABLE public.forum_posts (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author     uuid REFERENCES public.profiles (id) ON DELETE SET NULL,
    title      varchar(200) NOT NULL,
    body       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX forum_posts_author_idx ON public.forum_posts (author);
CREATE INDEX forum_posts_created_at_idx ON public.forum_posts (created_at DESC);

CREATE TABLE public.events (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title     varchar(200) NOT NULL,
    starts_at timestamptz NOT NULL,
    location  text,
    status    text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published'))
);
-- The calendar lists upcoming published events.
CREATE INDEX events_published_starts_at_idx ON public.events (starts_at) WHERE status = 'published';

CREATE TABLE public.medical_notes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient    uuid NOT NULL REFERENCES public.profiles (id) ON DELETE CASCADE,
    -- A note stays in the patient's record when its author leaves.
    author     uuid REFERENCES public.profiles (id) ON DELETE SET NULL,
    body       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX medical_notes_patient_idx ON public.medical_notes (patient);
CREATE INDEX medical_notes_author_idx ON public.medical_notes (author);

/* ---------------------------------------------------------------------------
 * Roles.  Everyone who belongs to the network is a Member; the Member role
 * carries what all members share (published content, the forum, their own
 * profile), and each child role adds only what sets it apart.  A child
 * inherits its ancestors' policies, never the other way round, so a
 * Patient's glucose rights do not leak to a Nutritionist.
 * Administrator stays outside the tree: its policy bypasses every rule.
 * ------------------------------------------------------------------------- */

INSERT INTO acl.roles (id, name, icon, description, parent) VALUES
    ('a1000000-0000-4000-8000-000000000001', 'Member', 'groups',
     'Everyone in the network', NULL),
    ('a1000000-0000-4000-8000-000000000002', 'Coordinator', 'event',
     'Runs the community: events, the forum, overview of members', 'a1000000-0000-4000-8000-000000000001'),
    ('a1000000-0000-4000-8000-000000000003', 'Nutritionist', 'restaurant',
     'Writes recipes, advises on diets', 'a1000000-0000-4000-8000-000000000001'),
    ('a1000000-0000-4000-8000-000000000004', 'Patient', 'favorite',
     'Lives with diabetes and logs their glucose', 'a1000000-0000-4000-8000-000000000001'),
    ('a1000000-0000-4000-8000-000000000005', 'Caregiver', 'family_restroom',
     'Looks after one or more patients', 'a1000000-0000-4000-8000-000000000001');

/* ---------------------------------------------------------------------------
 * Policies: one per role, and one attached straight to a user.
 * ------------------------------------------------------------------------- */

INSERT INTO acl.policies (id, name, icon, description, ip_access, app_access) VALUES
    ('b2000000-0000-4000-8000-000000000001', 'Member', 'groups',
     'Published recipes and events, the forum, one''s own profile', NULL, true),
    ('b2000000-0000-4000-8000-000000000002', 'Coordinator', 'event',
     'Reads everything but medical notes; creates events and forum posts', NULL, true),
    ('b2000000-0000-4000-8000-000000000003', 'Nutritionist', 'restaurant',
     'Writes recipes; sees glucose values without patients'' notes', NULL, true),
    ('b2000000-0000-4000-8000-000000000004', 'Patient', 'favorite',
     'Logs and reads one''s own glucose readings; posts in the forum', NULL, true),
    ('b2000000-0000-4000-8000-000000000005', 'Caregiver', 'family_restroom',
     'Follows the glucose readings of the patients one looks after', NULL, true),
    -- Moderation is a duty a few trusted members take on, not a role of its
    -- own, so the policy goes to the person.  It only counts from the
    -- association's office network (and this machine, for the demo).
    ('b2000000-0000-4000-8000-000000000006', 'Forum moderator', 'gavel',
     'Edits and removes forum posts', ARRAY['10.20.0.0/16', '127.0.0.1'], false);

INSERT INTO acl.access (id, role, "user", policy, sort) VALUES
    ('c3000000-0000-4000-8000-000000000001', 'a1000000-0000-4000-8000-000000000001', NULL,
     'b2000000-0000-4000-8000-000000000001', 1),
    ('c3000000-0000-4000-8000-000000000002', 'a1000000-0000-4000-8000-000000000002', NULL,
     'b2000000-0000-4000-8000-000000000002', 1),
    ('c3000000-0000-4000-8000-000000000003', 'a1000000-0000-4000-8000-000000000003', NULL,
     'b2000000-0000-4000-8000-000000000003', 1),
    ('c3000000-0000-4000-8000-000000000004', 'a1000000-0000-4000-8000-000000000004', NULL,
     'b2000000-0000-4000-8000-000000000004', 1),
    ('c3000000-0000-4000-8000-000000000005', 'a1000000-0000-4000-8000-000000000005', NULL,
     'b2000000-0000-4000-8000-000000000005', 1);
-- The user-attached row comes after the users below.

/* ---------------------------------------------------------------------------
 * Permissions.  Rules use Directus's filter language; "$CURRENT_USER" is the
 * acting user's id, which is also their profile id.
 * ------------------------------------------------------------------------- */

INSERT INTO acl.permissions (policy, collection, action, permissions, validation, presets, fields) VALUES
    -- Public: anonymous visitors see what the network does, nothing else.
    ('abf8a154-5b1c-4a46-ac9c-7300570f4f17', 'public.events', 'read',
     '{"status": {"_eq": "published"}}', NULL, NULL, '{*}'),

    -- Member.  Published profiles show the person, not their health data;
    -- one's own profile shows everything.  Two rows on one table is how
    -- Directus lets the visible columns depend on the row.
    ('b2000000-0000-4000-8000-000000000001', 'public.recipes', 'read',
     '{"status": {"_eq": "published"}}', NULL, NULL, '{*}'),
    ('b2000000-0000-4000-8000-000000000001', 'public.events', 'read',
     '{"status": {"_eq": "published"}}', NULL, NULL, '{*}'),
    ('b2000000-0000-4000-8000-000000000001', 'public.forum_posts', 'read',
     NULL, NULL, NULL, '{*}'),
    ('b2000000-0000-4000-8000-000000000001', 'public.profiles', 'read',
     '{"published": {"_eq": true}}', NULL, NULL, '{id,display_name,bio,city}'),
    ('b2000000-0000-4000-8000-000000000001', 'public.profiles', 'read',
     '{"id": {"_eq": "$CURRENT_USER"}}', NULL, NULL, '{*}'),
    -- id and created_at are not listed: nobody re-keys or back-dates a profile.
    ('b2000000-0000-4000-8000-000000000001', 'public.profiles', 'update',
     '{"id": {"_eq": "$CURRENT_USER"}}', NULL, NULL, '{display_name,bio,city,diabetes_type,published}'),

    -- Coordinator: an overview of the community, but medical notes are
    -- between a patient and their clinicians.  Deleting is left to admins.
    ('b2000000-0000-4000-8000-000000000002', 'public.profiles', 'read', NULL, NULL, NULL, '{*}'),
    ('b2000000-0000-4000-8000-000000000002', 'public.care_links', 'read', NULL, NULL, NULL, '{*}'),
    ('b2000000-0000-4000-8000-000000000002', 'public.glucose_readings', 'read', NULL, NULL, NULL, '{*}'),
    ('b2000000-0000-4000-8000-000000000002', 'public.recipes', 'read', NULL, NULL, NULL, '{*}'),
    ('b2000000-0000-4000-8000-000000000002', 'public.events', 'read', NULL, NULL, NULL, '{*}'),
    ('b2000000-0000-4000-8000-000000000002', 'public.events', 'create',
     NULL, NULL, NULL, '{title,starts_at,location,status}'),
    ('b2000000-0000-4000-8000-000000000002', 'public.forum_posts', 'create',
     NULL, NULL, '{"author": "$CURRENT_USER"}', '{title,body}'),
    -- Coordinators may share a patient's profile (and so their readings)
    -- with a clinician who has no account, and list the shares they made.
    ('b2000000-0000-4000-8000-000000000002', 'public.profiles', 'share',
     '{"diabetes_type": {"_nnull": true}}', NULL, NULL, NULL),
    ('b2000000-0000-4000-8000-000000000002', 'acl.shares', 'create',
     NULL, NULL, NULL, '{name,collection,item,role,password,max_uses,date_end}'),
    ('b2000000-0000-4000-8000-000000000002', 'acl.shares', 'read',
     '{"user_created": {"_eq": "$CURRENT_USER"}}', NULL, NULL, '{*}'),

    -- Nutritionist.  Drafts are visible so colleagues can review them.
    -- Glucose values inform advice, but a patient's notes are private.
    ('b2000000-0000-4000-8000-000000000003', 'public.recipes', 'read', NULL, NULL, NULL, '{*}'),
    ('b2000000-0000-4000-8000-000000000003', 'public.recipes', 'create',
     NULL, NULL, '{"author": "$CURRENT_USER"}', '{title,body,carbs_g,status}'),
    ('b2000000-0000-4000-8000-000000000003', 'public.recipes', 'update',
     '{"author": {"_eq": "$CURRENT_USER"}}', NULL, NULL, '{title,body,carbs_g,status}'),
    ('b2000000-0000-4000-8000-000000000003', 'public.glucose_readings', 'read',
     NULL, NULL, NULL, '{id,patient,value,measured_at}'),

    -- Patient.  Published recipes and events, the forum and one's own
    -- profile come from Member.  A patient never sets "patient" or
    -- "author": the preset fills it in, and the fields list keeps it out
    -- of the payload.  20-600 mg/dL is what home meters report.
    ('b2000000-0000-4000-8000-000000000004', 'public.glucose_readings', 'read',
     '{"patient": {"_eq": "$CURRENT_USER"}}', NULL, NULL, '{*}'),
    ('b2000000-0000-4000-8000-000000000004', 'public.glucose_readings', 'create',
     NULL, '{"value": {"_between": [20, 600]}}', '{"patient": "$CURRENT_USER"}',
     '{value,measured_at,note}'),
    ('b2000000-0000-4000-8000-000000000004', 'public.glucose_readings', 'update',
     '{"patient": {"_eq": "$CURRENT_USER"}}', '{"value": {"_between": [20, 600]}}', NULL,
     '{value,measured_at,note}'),
    ('b2000000-0000-4000-8000-000000000004', 'public.forum_posts', 'create',
     NULL, NULL, '{"author": "$CURRENT_USER"}', '{title,body}'),

    -- Caregiver.  glucose_readings has no many-to-one path to care_links,
    -- so the rule hops patient -> profiles (many-to-one, through the
    -- foreign key) and then back along care_links (one-to-many).  acl names
    -- a one-to-many after the referencing table; care_links references
    -- profiles twice (caregiver and patient), so the key is named:
    -- "care_links.patient".  Anchored on $CURRENT_USER, it compiles to
    -- patient = ANY (ARRAY(SELECT ...)), an InitPlan the index on
    -- glucose_readings.patient serves; and unlike "$CURRENT_USER.<list>" in
    -- Directus it has no 100-link cap (directus/docs#332).
    ('b2000000-0000-4000-8000-000000000005', 'public.glucose_readings', 'read',
     '{"patient": {"care_links.patient": {"_some": {"caregiver": {"_eq": "$CURRENT_USER"}}}}}',
     NULL, NULL, '{*}'),
    ('b2000000-0000-4000-8000-000000000005', 'public.care_links', 'read',
     '{"caregiver": {"_eq": "$CURRENT_USER"}}', NULL, NULL, '{*}'),

    -- Forum moderator: may fix or remove any post, but not rewrite who
    -- wrote it or when.
    ('b2000000-0000-4000-8000-000000000006', 'public.forum_posts', 'update',
     NULL, NULL, NULL, '{title,body}'),
    ('b2000000-0000-4000-8000-000000000006', 'public.forum_posts', 'delete',
     NULL, NULL, NULL, NULL);

/* ---------------------------------------------------------------------------
 * Users, and their profiles.
 * ------------------------------------------------------------------------- */

INSERT INTO acl.users (id, email, first_name, last_name, status, role) VALUES
    ('d4000000-0000-4000-8000-000000000001', 'ada.fischer@example.org', 'Ada', 'Fischer',
     'active', '7a0e3c57-5d0e-4a53-9b8e-5f0d6a1b0001'),                      -- Administrator
    ('d4000000-0000-4000-8000-000000000002', 'carmen.ortiz@example.org', 'Carmen', 'Ortiz',
     'active', 'a1000000-0000-4000-8000-000000000002'),                      -- Coordinator
    ('d4000000-0000-4000-8000-000000000003', 'nina.patel@example.org', 'Nina', 'Patel',
     'active', 'a1000000-0000-4000-8000-000000000003'),                      -- Nutritionist
    ('d4000000-0000-4000-8000-000000000004', 'paul.meyer@example.org', 'Paul', 'Meyer',
     'active', 'a1000000-0000-4000-8000-000000000004'),                      -- Patient, moderator
    ('d4000000-0000-4000-8000-000000000005', 'priya.shah@example.org', 'Priya', 'Shah',
     'active', 'a1000000-0000-4000-8000-000000000004'),                      -- Patient
    ('d4000000-0000-4000-8000-000000000006', 'claire.meyer@example.org', 'Claire', 'Meyer',
     'active', 'a1000000-0000-4000-8000-000000000005'),                      -- Caregiver of Paul
    -- Signed up, not yet given a role: sees what the public sees.
    ('d4000000-0000-4000-8000-000000000007', 'victor.lang@example.org', 'Victor', 'Lang',
     'active', NULL),
    -- Locked out after too many failed logins; keeps the Patient role.
    ('d4000000-0000-4000-8000-000000000008', 'sam.brooks@example.org', 'Sam', 'Brooks',
     'suspended', 'a1000000-0000-4000-8000-000000000004');

INSERT INTO acl.access (id, role, "user", policy, sort) VALUES
    ('c3000000-0000-4000-8000-000000000006', NULL, 'd4000000-0000-4000-8000-000000000004',
     'b2000000-0000-4000-8000-000000000006', 1);

INSERT INTO public.profiles (id, display_name, bio, city, diabetes_type, published, created_at) VALUES
    ('d4000000-0000-4000-8000-000000000001', 'Ada (admin)', 'Keeps the lights on.', 'Leipzig',
     NULL, false, '2024-01-08 09:00+01'),
    ('d4000000-0000-4000-8000-000000000002', 'Carmen Ortiz', 'Community coordinator. Ask me about meet-ups!',
     'Leipzig', NULL, true, '2024-01-10 10:15+01'),
    ('d4000000-0000-4000-8000-000000000003', 'Nina Patel, RD', 'Registered dietitian; low-carb baking fan.',
     'Halle', NULL, true, '2024-02-01 14:30+01'),
    ('d4000000-0000-4000-8000-000000000004', 'Paul M.', 'T1D since age 9. Runner, forum moderator.',
     'Leipzig', 'type 1', true, '2024-02-12 18:45+01'),
    ('d4000000-0000-4000-8000-000000000005', 'Priya', NULL, 'Dresden', 'type 2', false,
     '2024-03-03 08:20+01'),
    ('d4000000-0000-4000-8000-000000000006', 'Claire Meyer', 'Paul''s mum.', 'Leipzig', NULL, true,
     '2024-02-12 19:05+01'),
    ('d4000000-0000-4000-8000-000000000007', 'Victor', NULL, NULL, NULL, false,
     '2024-05-20 21:10+02'),
    ('d4000000-0000-4000-8000-000000000008', 'Sam B.', 'Newly diagnosed.', 'Chemnitz', 'type 2', false,
     '2024-04-02 11:00+02');

INSERT INTO public.care_links (caregiver, patient, since) VALUES
    ('d4000000-0000-4000-8000-000000000006', 'd4000000-0000-4000-8000-000000000004', '2024-02-12');

INSERT INTO public.glucose_readings (patient, value, measured_at, note) VALUES
    ('d4000000-0000-4000-8000-000000000004', 112, '2024-06-03 07:05+02', 'fasting'),
    ('d4000000-0000-4000-8000-000000000004', 186, '2024-06-03 13:40+02', 'after pasta, bolused late'),
    ('d4000000-0000-4000-8000-000000000004',  64, '2024-06-03 17:55+02', 'low after 10k run, 15 g glucose'),
    ('d4000000-0000-4000-8000-000000000004', 131, '2024-06-04 07:10+02', NULL),
    ('d4000000-0000-4000-8000-000000000005', 148, '2024-06-03 08:00+02', 'fasting'),
    ('d4000000-0000-4000-8000-000000000005', 201, '2024-06-03 20:30+02', 'birthday cake'),
    ('d4000000-0000-4000-8000-000000000005', 139, '2024-06-04 08:05+02', 'fasting'),
    ('d4000000-0000-4000-8000-000000000008', 230, '2024-04-02 09:30+02', 'first reading after diagnosis');

INSERT INTO public.recipes (title, body, carbs_g, status, author) VALUES
    ('Overnight oats with berries', 'Oats, skyr, chia and a handful of raspberries; soak overnight.',
     38.0, 'published', 'd4000000-0000-4000-8000-000000000003'),
    ('Cauliflower crust pizza', 'Grated cauliflower, egg and mozzarella as the base; bake twice.',
     12.5, 'published', 'd4000000-0000-4000-8000-000000000003'),
    ('Lentil and spinach dal', 'Red lentils, spinach, cumin, turmeric; serve with a little rice.',
     41.0, 'published', 'd4000000-0000-4000-8000-000000000003'),
    ('Almond flour brownies', 'Work in progress: sweetener ratio still too high.',
     9.0, 'draft', 'd4000000-0000-4000-8000-000000000003');

INSERT INTO public.forum_posts (author, title, body, created_at) VALUES
    ('d4000000-0000-4000-8000-000000000004', 'Running with a pump',
     'How do you all handle basal rates on long runs? I drop to 50% an hour before.',
     '2024-06-01 19:20+02'),
    ('d4000000-0000-4000-8000-000000000005', 'Newly on metformin',
     'Stomach trouble the first week; does it settle?', '2024-06-02 08:45+02'),
    ('d4000000-0000-4000-8000-000000000006', 'Night-time lows (parent here)',
     'Which CGM alarms wake you reliably? Ours sleeps through the phone.', '2024-06-02 22:10+02'),
    ('d4000000-0000-4000-8000-000000000002', 'June meet-up announced',
     'Picnic in Clara-Zetkin-Park on 15 June, details in Events.', '2024-06-03 12:00+02');

INSERT INTO public.events (title, starts_at, location, status) VALUES
    ('Summer picnic', '2024-06-15 14:00+02', 'Clara-Zetkin-Park, Leipzig', 'published'),
    ('Carb counting workshop', '2024-06-27 18:30+02', 'Community centre, Halle', 'published'),
    ('Diabetes walk', '2024-09-14 10:00+02', 'Leipzig city centre', 'draft');

-- Imported from the partner clinic, whose doctors have no account here.
INSERT INTO public.medical_notes (patient, author, body, created_at) VALUES
    ('d4000000-0000-4000-8000-000000000004', NULL,
     'Pump settings reviewed; temporary basal 50% from 1 h before long runs.',
     '2024-05-28 16:00+02'),
    ('d4000000-0000-4000-8000-000000000005', NULL,
     'HbA1c 7.4%; metformin 500 mg twice daily, review in 3 months.', '2024-05-30 10:30+02');

COMMIT;

-- No permission names medical_notes: only administrators may read it.  A
-- table is managed once a permission names it; this closes it before that.
SELECT acl.manage('public.medical_notes');
