-- The rule compiler: Directus filters to SQL (spec §6, §7, cases 68-94).
-- Behaviour is tested by running compiled rules against rows with NULLs,
-- empty strings and LIKE metacharacters; a few compiled texts are shown.
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE TABLE teams (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE authors (id uuid PRIMARY KEY, name text, team int REFERENCES teams(id), role uuid);
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE articles (
    id int PRIMARY KEY,
    title text,
    code varchar(20),
    status text NOT NULL DEFAULT 'draft',
    likes int,
    price numeric,
    created timestamptz,
    day date,
    published boolean,
    owner uuid REFERENCES acl.users(id),
    author uuid REFERENCES authors(id),
    tags text[],
    data jsonb,
    feeling mood
);
CREATE TABLE links (id int PRIMARY KEY, article_id int REFERENCES articles(id), name text);
CREATE TABLE article_tags (article int REFERENCES articles(id), tag int REFERENCES teams(id));
CREATE TABLE reviews (id int PRIMARY KEY, article int REFERENCES articles(id),
                      second_article int REFERENCES articles(id), score int);

INSERT INTO acl.users (id, email, department) VALUES
    ('60000000-0000-4000-8000-000000000001', 'ann@example.org', 'north'),
    ('60000000-0000-4000-8000-000000000002', 'bob@example.org', NULL);
INSERT INTO teams VALUES (1, 'red'), (2, 'blue');
INSERT INTO authors VALUES
    ('61000000-0000-4000-8000-000000000001', 'username', 1, NULL),
    ('61000000-0000-4000-8000-000000000002', 'other', 2, NULL);
INSERT INTO articles (id, title, code, status, likes, price, created, day, published, owner, author, tags, data, feeling) VALUES
    (1, 'abc', 'x', 'published', 10, 9.5, '2024-03-01 10:00+00', '2024-03-01', true,
        '60000000-0000-4000-8000-000000000001', '61000000-0000-4000-8000-000000000001', '{a,b}', '[1,2]', 'happy'),
    (2, 'ABC def', '', 'draft', 0, 0, '2023-10-15 10:00+00', '2023-10-15', false,
        '60000000-0000-4000-8000-000000000002', '61000000-0000-4000-8000-000000000002', '{}', '[]', 'sad'),
    (3, NULL, NULL, 'draft', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (4, '50%_off \ sale', 'y', 'archived', 5, 100, '2023-10-31 23:00+00', '2023-10-31', true,
        NULL, '61000000-0000-4000-8000-000000000001', '{b}', '{}', 'happy'),
    (5, '', 'z', 'published', 123, 1, '2025-01-01 00:00+00', '2025-01-01', false,
        '60000000-0000-4000-8000-000000000001', NULL, '{c}', NULL, NULL);
INSERT INTO links VALUES (1, 1, '2'), (2, 1, 'x'), (3, 2, 'x'), (4, NULL, '2');
INSERT INTO article_tags VALUES (1, 1), (2, 2), (4, 1);
INSERT INTO reviews VALUES (1, 1, 2, 5);

-- The ids of the rows a rule matches, run through the compiled SQL.
CREATE FUNCTION matches(rule jsonb) RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE result int[];
BEGIN
    EXECUTE 'SELECT coalesce(array_agg(id ORDER BY id), ''{}'') FROM articles WHERE '
            || acl.compile('articles', rule) INTO result;
    RETURN result;
END
$$;

-- Normalisation (§6.1, cases 76, 82-84).
SELECT matches('{"status": "published"}') AS scalar_is_eq,
       matches('{"status": "published", "likes": {"_gt": 50}}') AS keys_are_and,
       matches('{"created": {"_and": [{"_gte": "2023-10-01"}, {"_lt": "2023-11-01"}]}}') AS hoisted_and,
       matches('{"likes": {"_or": [{"_eq": 0}, {"_eq": 123}]}}') AS hoisted_or;
SELECT matches('{"status": {"_in": "published,draft"}}') AS comma_list,
       matches('{"status": {"_in": "published"}}') AS comma_one,
       matches('{"likes": {"_eq": "123"}}') AS numeric_string,
       matches('{"published": {"_eq": "true"}}') AS true_string,
       matches('{"title": {"_eq": "null"}}') AS null_string,
       matches('{"likes": {"_in": {"0": 10, "1": 5}}}') AS object_list;

-- Operators and NULL behaviour (§6.3, cases 68-70, 78-81).
SELECT matches('{"title": {"_null": true}}') AS null_true, matches('{"title": {"_null": false}}') AS null_false,
       matches('{"title": {"_null": ""}}') AS null_empty, matches('{"title": {"_nnull": true}}') AS nnull,
       matches('{"title": {"_nnull": false}}') AS nnull_false;
SELECT matches('{"code": {"_empty": true}}') AS empty, matches('{"code": {"_empty": false}}') AS empty_false,
       matches('{"code": {"_nempty": true}}') AS nempty, matches('{"tags": {"_empty": true}}') AS array_empty;
SELECT matches('{"title": {"_eq": null}}') AS eq_null, matches('{"title": {"_neq": null}}') AS neq_null,
       matches('{"title": {"_neq": "abc"}}') AS neq_excludes_null, matches('{"likes": {"_nin": [10]}}') AS nin_excludes_null,
       matches('{"likes": {"_in": []}}') AS in_empty, matches('{"likes": {"_nin": []}}') AS nin_empty;
SELECT matches('{"likes": {"_lt": 10}}') AS lt, matches('{"likes": {"_lte": 10}}') AS lte,
       matches('{"price": {"_gt": 1}}') AS gt, matches('{"price": {"_gte": 1}}') AS gte,
       matches('{"likes": {"_between": [1, 10]}}') AS between, matches('{"likes": {"_nbetween": [1, 10]}}') AS nbetween,
       matches('{"created": {"_between": ["2024-01-01", "2024-12-31"]}}') AS date_between,
       matches('{"day": {"_lt": "2023-11-01"}}') AS date_lt;
SELECT matches('{"title": {"_contains": "abc"}}') AS contains, matches('{"title": {"_ncontains": "abc"}}') AS ncontains,
       matches('{"title": {"_icontains": "abc"}}') AS icontains, matches('{"title": {"_nicontains": "abc"}}') AS nicontains,
       matches('{"title": {"_starts_with": "ABC"}}') AS starts, matches('{"title": {"_nstarts_with": "ABC"}}') AS nstarts,
       matches('{"title": {"_istarts_with": "abc"}}') AS istarts, matches('{"title": {"_nistarts_with": "abc"}}') AS nistarts;
SELECT matches('{"title": {"_ends_with": "def"}}') AS ends, matches('{"title": {"_nends_with": "def"}}') AS nends,
       matches('{"title": {"_iends_with": "DEF"}}') AS iends, matches('{"title": {"_niends_with": "DEF"}}') AS niends;
-- LIKE values are literal: % and _ and \ match themselves (a documented deviation).
SELECT matches('{"title": {"_contains": "%"}}') AS percent, matches('{"title": {"_contains": "_"}}') AS underscore,
       matches('{"title": {"_contains": "\\"}}') AS backslash, matches('{"title": {"_starts_with": "50%_"}}') AS literal_prefix,
       matches('{"title": {"_contains": "a_c"}}') AS no_wildcard;
-- Arrays, enums, booleans, uuids, json.
SELECT matches('{"tags": {"_contains": "b"}}') AS array_contains, matches('{"tags": {"_ncontains": "b"}}') AS array_ncontains,
       matches('{"feeling": {"_eq": "happy"}}') AS enum_eq, matches('{"feeling": {"_contains": "ap"}}') AS enum_contains,
       matches('{"published": false}') AS bool_false, matches('{"owner": "60000000-0000-4000-8000-000000000002"}') AS uuid_eq,
       matches('{"data": {"_nnull": true}}') AS json_nnull;

-- Functions (§6.5, case 75): dates and count.
SELECT matches('{"year(created)": 2023}') AS year, matches('{"month(day)": {"_in": [3, 10]}}') AS month,
       matches('{"weekday(day)": 5}') AS friday, matches('{"count(links)": {"_gte": 1}}') AS with_links,
       matches('{"count(links)": 0}') AS without_links, matches('{"count(tags)": 2}') AS two_tags,
       matches('{"count(data)": 0}') AS empty_json_array;

-- Relations from foreign keys (§6.4, cases 71-73): many-to-one at depth,
-- one-to-many implicit/_some/_none, many-to-many through the junction.
SELECT matches('{"author": {"name": {"_eq": "username"}}}') AS m2o,
       matches('{"author": {"team": {"name": {"_eq": "blue"}}}}') AS m2o_depth_2,
       matches('{"author": {"_null": true}}') AS m2o_column_null,
       matches('{"links": {"name": {"_eq": "2"}}}') AS o2m_implicit,
       matches('{"links": {"_some": {"name": {"_eq": "x"}}}}') AS o2m_some,
       matches('{"links": {"_none": {"name": {"_eq": "x"}}}}') AS o2m_none,
       matches('{"links": {"name": "2", "id": 2}}') AS same_child_both;
SELECT matches('{"article_tags": {"_some": {"tag": {"name": {"_eq": "red"}}}}}') AS m2m,
       matches('{"reviews.second_article": {"_some": {"score": {"_gt": 1}}}}') AS disambiguated;

-- Dynamic variables (§7, cases 85-93), read at run time.
SELECT acl.compile('articles', '{"owner": {"_eq": "$CURRENT_USER"}}');
SELECT acl.compile('articles', '{"status": {"_eq": "$CURRENT_USER"}}') LIKE '%CAST(acl.current_user_id() AS pg_catalog.text)%' AS cast_to_column;
SELECT matches('{"owner": {"_eq": "$CURRENT_USER"}}') AS anonymous_sees_ownerless;
SET acl.user_id = '60000000-0000-4000-8000-000000000001';
SELECT matches('{"owner": {"_eq": "$CURRENT_USER"}}') AS ann_owns,
       matches('{"owner": {"_neq": "$CURRENT_USER"}}') AS not_ann,
       matches('{"code": {"_eq": "$CURRENT_USER.email"}}') AS no_such_code,
       matches('{"owner": {"_in": ["$CURRENT_USER", "60000000-0000-4000-8000-000000000002"]}}') AS in_with_variable,
       matches('{"author": {"_nnull": true}, "owner": {"_nin": "$CURRENT_ROLES"}}') AS nin_empty_roles;
UPDATE articles SET code = 'north' WHERE id = 2;
SELECT matches('{"code": {"_eq": "$CURRENT_USER.department"}}') AS department,
       matches('{"created": {"_gte": "$NOW(-1000 years)"}}') AS now_minus,
       matches('{"created": {"_gte": "$NOW"}}') AS future_only,
       matches('{"created": {"_lt": "$NOW(+1.5 d)"}}') AS before_tomorrow;
SET acl.user_id = '60000000-0000-4000-8000-000000000002';
SELECT matches('{"code": {"_eq": "$CURRENT_USER.department"}}') AS null_department_is_null;
RESET acl.user_id;
SELECT matches('{"code": {"_eq": "$CURRENT_USER.department"}}') AS anonymous_department;

-- Role and policy variables, and paths through foreign keys (cases 87-91).
INSERT INTO acl.roles (id, name) VALUES ('63000000-0000-4000-8000-000000000001', 'editors');
INSERT INTO acl.roles (id, name, parent) VALUES ('63000000-0000-4000-8000-000000000002', 'copy', '63000000-0000-4000-8000-000000000001');
INSERT INTO acl.policies (id, name) VALUES ('63000000-0000-4000-8000-0000000000a1', 'pol-a'), ('63000000-0000-4000-8000-0000000000a2', 'pol-b');
INSERT INTO acl.access (role, policy) VALUES ('63000000-0000-4000-8000-000000000001', '63000000-0000-4000-8000-0000000000a1'),
                                             ('63000000-0000-4000-8000-000000000002', '63000000-0000-4000-8000-0000000000a2');
INSERT INTO acl.users (id, email, role) VALUES ('60000000-0000-4000-8000-000000000003', 'cy@example.org', '63000000-0000-4000-8000-000000000002');
UPDATE articles SET code = CASE id WHEN 1 THEN 'copy' WHEN 2 THEN 'editors' WHEN 4 THEN 'pol-a' WHEN 5 THEN 'pol-b' END;
UPDATE authors SET role = '63000000-0000-4000-8000-000000000001' WHERE name = 'username';
SET acl.user_id = '60000000-0000-4000-8000-000000000003';
SELECT matches('{"code": {"_eq": "$CURRENT_ROLE.name"}}') AS own_role_name,
       matches('{"code": {"_in": "$CURRENT_ROLES.name"}}') AS tree_names,
       matches('{"code": {"_in": "$CURRENT_POLICIES.name"}}') AS policy_names,
       matches('{"code": {"_eq": "$CURRENT_USER.role.name"}}') AS user_role_name,
       matches('{"author": {"role": {"_in": "$CURRENT_ROLES"}}}') AS author_role_in_tree,
       matches('{"author": {"role": {"_eq": "$CURRENT_ROLE"}}}') AS author_role_is_own;
SELECT matches('{"code": {"_eq": "$CURRENT_ROLES.name"}}') AS list_needs_in;
RESET acl.user_id;
SELECT matches('{"code": {"_in": "$CURRENT_ROLES.name"}}') AS anonymous_roles,
       matches('{"code": {"_eq": "$CURRENT_ROLE.name"}}') AS anonymous_role_is_null;
UPDATE articles SET code = 'north' WHERE id = 2;

-- One-to-many paths from the user (case 89), not cut at 100 values (case 94).
CREATE TABLE user_topics (user_id uuid NOT NULL REFERENCES acl.users(id), topic text);
INSERT INTO user_topics SELECT '60000000-0000-4000-8000-000000000001', 'topic-' || g FROM generate_series(1, 150) g;
INSERT INTO user_topics VALUES ('60000000-0000-4000-8000-000000000001', 'copy');
SET acl.user_id = '60000000-0000-4000-8000-000000000001';
SELECT matches('{"code": {"_in": "$CURRENT_USER.user_topics.topic"}}') AS topic_151_of_151;
SELECT acl.compile('articles', '{"code": {"_eq": "$CURRENT_USER.user_topics.topic"}}');
RESET acl.user_id;
-- $NOW units (case 92): each adjustment moves the clock as Directus's does.
SELECT u AS adjustment,
       (acl.resolve(jsonb_build_object('t', '$NOW(' || u || ')')) ->> 't')::timestamptz = now() + expected AS moved_as_expected
  FROM (VALUES ('-1 day', '-1 day'::interval), ('-1.0y', '-1 year'), ('-1.0mo', '-1 month'),
               ('-1.0weeks', '-7 days'), ('-1.0', '-1 day'), ('-1.0h', '-1 hour'), ('-1.0minutes', '-1 minute'),
               ('-1.0secs', '-1 second'), ('+2 hours', '2 hours'), ('3 ms', '0.003 seconds'), ('-1.5d', '-1.5 days')) v(u, expected);
-- Many-to-any paths have no foreign key to follow (case 74).
SELECT acl.compile('articles', '{"header:image": {"id": {"_eq": 1}}}');

-- A prepared statement stays correct across end users under generic plans.
DO $$ BEGIN
    EXECUTE 'PREPARE mine AS SELECT array_agg(id ORDER BY id) FROM articles WHERE '
            || acl.compile('articles', '{"_or": [{"owner": {"_eq": "$CURRENT_USER"}}, {"code": {"_eq": "$CURRENT_USER.department"}}]}');
END $$;
SET plan_cache_mode = force_generic_plan;
SET acl.user_id = '60000000-0000-4000-8000-000000000001';
EXECUTE mine;
SET acl.user_id = '60000000-0000-4000-8000-000000000002';
EXECUTE mine;
RESET acl.user_id;
EXECUTE mine;
RESET plan_cache_mode;
DEALLOCATE mine;

-- Refused rules name the JSON path of the offending node.
SELECT acl.compile('articles', '{"_and": [{"title": 1}, {"author": {"name": {"_eqq": "x"}}}]}');
SELECT acl.compile('articles', '{"likes": {"_contains": "1"}}');
SELECT acl.compile('articles', '{"likes": {"_eq": "not-a-number"}}');
SELECT acl.compile('articles', '{"created": {"_gt": "yesterday-ish"}}');
SELECT acl.compile('articles', '{"owner": {"_eq": "not-a-uuid"}}');
SELECT acl.compile('articles', '{"nope": {"_eq": 1}}');
SELECT acl.compile('articles', '{"title": {"name": {"_eq": 1}}}');
SELECT acl.compile('articles', '{"reviews": {"_some": {"score": 1}}}');
SELECT acl.compile('articles', '{"author": {"_some": {"name": "x"}}}');
SELECT acl.compile('articles', '{"likes": {"_between": [1]}}');
SELECT acl.compile('articles', '{"likes": {"_between": "1,2,3"}}');
SELECT acl.compile('articles', '{"created": {"_gt": "$NOW(-1 fortnight)"}}');
SELECT acl.compile('articles', '{"created": {"_gt": "$NOW(yesterday)"}}');
SELECT acl.compile('articles', '{"code": {"_eq": "$CURRENT_USER.nope"}}');
SELECT acl.compile('articles', '{"code": {"_eq": "$CURRENT_USERS"}}');
SELECT acl.compile('articles', '{"owner": {"_eq": "$CURRENT_ROLES"}}');
SELECT acl.compile('articles', '{"geo": {"_intersects": {"type": "Point", "coordinates": [1, 2]}}}');
SELECT acl.compile('articles', '{"title": {"_intersects": {"type": "Point", "coordinates": [1, 2]}}}');
SELECT acl.compile('articles', '{"title": {"_regex": "^a"}}');
SELECT acl.compile('articles', '{"_some": {"title": 1}}');
SELECT acl.compile('articles', '{"title": [1, 2]}');
SELECT acl.compile('articles', '{"sum(likes)": 1}');
SELECT acl.compile('articles', '{"year(title)": 2024}');
SELECT acl.compile('articles', '{"likes": {"_in": [[1]]}}');
SELECT acl.compile('articles', '{"_or": []}');
SELECT acl.compile('articles', '{"likes": {"_or": []}}');
SELECT matches('{"_and": []}') AS empty_and_is_every_row;
CREATE TABLE versions (article int, rev int, PRIMARY KEY (article, rev));
CREATE TABLE version_notes (id int PRIMARY KEY, article int, rev int,
                            FOREIGN KEY (article, rev) REFERENCES versions);
SELECT acl.compile('version_notes', '{"article": {"rev": {"_eq": 1}}}');

-- The compiler is what checks permissions when they are written.
INSERT INTO acl.policies (id, name) VALUES ('62000000-0000-4000-8000-000000000001', 'compiled');
INSERT INTO acl.permissions (policy, collection, action, permissions)
VALUES ('62000000-0000-4000-8000-000000000001', 'articles', 'read', '{"author": {"name": {"_eqq": "x"}}}');
INSERT INTO acl.permissions (policy, collection, action, validation)
VALUES ('62000000-0000-4000-8000-000000000001', 'articles', 'create', '{"nope": {"_eq": 1}}');
INSERT INTO acl.permissions (policy, collection, action, validation)
VALUES ('62000000-0000-4000-8000-000000000001', 'articles', 'create', '{"title": {"_regex": "^a"}, "created": {"_gte": "$NOW(-1 eon)"}}');
INSERT INTO acl.permissions (policy, collection, action, presets)
VALUES ('62000000-0000-4000-8000-000000000001', 'articles', 'create', '{"likes": "many"}');
INSERT INTO acl.permissions (policy, collection, action, presets)
VALUES ('62000000-0000-4000-8000-000000000001', 'articles', 'create', '{"ghost": 1}');
INSERT INTO acl.permissions (policy, collection, action, permissions, validation, presets)
VALUES ('62000000-0000-4000-8000-000000000001', 'articles', 'update',
        '{"owner": {"_eq": "$CURRENT_USER"}}', '{"likes": {"_between": [0, 1000]}}',
        '{"owner": "$CURRENT_USER", "likes": 0}');
SELECT action, permissions, validation, presets FROM acl.permissions
 WHERE policy = '62000000-0000-4000-8000-000000000001';
DELETE FROM acl.permissions WHERE policy = '62000000-0000-4000-8000-000000000001';
DELETE FROM acl.policies WHERE id = '62000000-0000-4000-8000-000000000001';

-- Paths are read with the acl owner's privileges, so an ordinary role may
-- read only the paths some permission uses; a DBA may read any.
CREATE TABLE vaults (id int PRIMARY KEY, api_key text);
INSERT INTO vaults VALUES (1, 'sekrit');
ALTER TABLE acl.users ADD COLUMN vault int REFERENCES vaults(id);
UPDATE acl.users SET vault = 1 WHERE id = '60000000-0000-4000-8000-000000000001';
INSERT INTO acl.policies (id, name) VALUES ('64000000-0000-4000-8000-000000000001', 'paths');
INSERT INTO acl.permissions (policy, collection, action, permissions)
VALUES ('64000000-0000-4000-8000-000000000001', 'articles', 'read', '{"code": {"_eq": "$CURRENT_USER.department"}}');
CREATE ROLE acl_reg_paths NOLOGIN;
GRANT SET ON PARAMETER acl.user_id TO acl_reg_paths;
SET ROLE acl_reg_paths;
SET acl.user_id = '60000000-0000-4000-8000-000000000001';
SELECT acl.dynamic_value('$CURRENT_USER', '{department}') AS used_by_a_permission;
SELECT acl.dynamic_value('$CURRENT_USER', '{vault,api_key}') AS not_used;
SELECT acl.resolve('{"k": "$CURRENT_USER.vault.api_key"}');
RESET acl.user_id;
RESET ROLE;
SET acl.user_id = '60000000-0000-4000-8000-000000000001';
SELECT acl.dynamic_value('$CURRENT_USER', '{vault,api_key}') AS dba_reads_any;
RESET acl.user_id;
REVOKE SET ON PARAMETER acl.user_id FROM acl_reg_paths;
DROP ROLE acl_reg_paths;
DELETE FROM acl.permissions WHERE policy = '64000000-0000-4000-8000-000000000001';
DELETE FROM acl.policies WHERE id = '64000000-0000-4000-8000-000000000001';
