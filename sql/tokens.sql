-- Proof of identity through acl.token: static tokens (stored hashed) and
-- HS256 JWTs verified with PostgreSQL's own HMAC.  The JWTs below were signed
-- once, outside the database, with the secret set here; they expire in 2100.
\set VERBOSITY default
\set SHOW_CONTEXT never
INSERT INTO acl.users (id, email, status) VALUES
    ('30000000-0000-4000-8000-000000000009', 'suspended-token@example.org', 'suspended');
CREATE FUNCTION try(token text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('acl.token', token, true);
    RETURN 'user ' || coalesce(acl.current_user_id()::text, 'public');
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- Static tokens: only their SHA-256 is stored.
SELECT acl.set_user_token('30000000-0000-4000-8000-000000000001', 'static-token-of-the-flagged-user');
SELECT encode(token_hash, 'hex') = encode(sha256('static-token-of-the-flagged-user'), 'hex') AS stored_as_sha256,
       position('static' in encode(token_hash, 'escape')) = 0 AS no_clear_text
  FROM acl.users WHERE id = '30000000-0000-4000-8000-000000000001';
SELECT length(acl.set_user_token('30000000-0000-4000-8000-000000000002')) AS generated_length;
SELECT count(DISTINCT token_hash) AS distinct_hashes FROM acl.users WHERE token_hash IS NOT NULL;
SELECT acl.set_user_token('30000000-0000-4000-8000-000000000009', 'static-token-of-the-suspended-one');
SELECT acl.set_user_token('30000000-0000-4000-8000-000000000001', 'short');
SELECT acl.set_user_token('30000000-0000-4000-8000-000000000001', 'looks.like.a-jwt-token');
SELECT acl.set_user_token('30000000-0000-4000-8000-0000000000ff', 'static-token-for-nobody-at-all');
SELECT acl.set_user_token(NULL, 'static-token-for-nobody-at-all');
CREATE ROLE acl_reg_tokens NOLOGIN;
SET ROLE acl_reg_tokens;
SELECT acl.set_user_token('30000000-0000-4000-8000-000000000001', 'static-token-chosen-by-an-intruder');
RESET ROLE;
DROP ROLE acl_reg_tokens;

BEGIN;
SELECT try('static-token-of-the-flagged-user');
SELECT try('static-token-of-the-flagged-user-but-wrong');
SELECT try('static-token-of-the-suspended-one');
ROLLBACK;
-- The token is an error when used, never a fallback to public.
SET acl.token = 'no-such-static-token-anywhere';
SELECT acl.current_user_id();
SELECT acl.current_policies();
RESET acl.token;
-- Changing a user's token revokes the old one at once.
SET acl.token = 'static-token-of-the-flagged-user';
SELECT acl.current_user_id();
SELECT acl.set_user_token('30000000-0000-4000-8000-000000000001', 'static-token-of-the-flagged-user-v2');
SELECT acl.current_user_id();
RESET acl.token;

-- JWTs need acl.jwt_secret.
SET acl.token = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEiLCJleHAiOjQxMDI0NDQ4MDB9.V1akjRPleZMW9AvLPVhAiX-mJQdJ2ohS2JA2hkYeE5k';
SELECT acl.current_user_id();
RESET acl.token;
SET acl.jwt_secret = 'too-short';
SET acl.jwt_secret = 'acl-regression-secret-0123456789abcdef';

BEGIN;
SELECT 'valid' AS jwt, try('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEiLCJleHAiOjQxMDI0NDQ4MDB9.V1akjRPleZMW9AvLPVhAiX-mJQdJ2ohS2JA2hkYeE5k');
SELECT 'no exp' AS jwt, try('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDIifQ.m-xjLeEpA8Zc23HB7iiOf0MNLuPVsudl9LDKK2mvRbw');
SELECT 'fractional times' AS jwt, try('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEiLCJleHAiOjQxMDI0NDQ4MDAuNSwibmJmIjoxMDAwMDAwMDAwLjI1fQ.cGkSYes8O2WTdiUZcNKA9DJFtDIBfaJQm4kfPZ3Sko4');
SELECT 'expired' AS jwt, try('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEiLCJleHAiOjEwMDAwMDAwMDB9.LfEPe5qc9-VazUKE1V7pKz8lWFNiAl2RTMJinlw_b0Y');
SELECT 'not yet valid' AS jwt, try('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEiLCJuYmYiOjQxMDI0NDQ4MDB9.dp2H_KTyZ_FKsS-oqfui7bz5Pfq9UxXc2mYCVtY-7tU');
SELECT 'signed with another key' AS jwt, try('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEifQ.dQwhzyNfHWU76lGjMpT4TE3vevr3ltD8wrvZNHK6nvw');
SELECT 'payload altered' AS jwt, try('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDMiLCJleHAiOjQxMDI0NDQ4MDB9.V1akjRPleZMW9AvLPVhAiX-mJQdJ2ohS2JA2hkYeE5k');
SELECT 'alg none' AS jwt, try('eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIzMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEiLCJleHAiOjQxMDI0NDQ4MDB9.');
SELECT 'alg HS512' AS jwt, try('eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEifQ.escJ56eYy5OMJCSlmlfENsnrompwL9wbAl5Nr6YJTEQ');
SELECT 'crit header' AS jwt, try('eyJhbGciOiJIUzI1NiIsImNyaXQiOlsiYjY0Il19.eyJzdWIiOiIzMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEifQ.7urHFw6uNUWKVhDL1xpEC_1dMVxdakNxZV7IA5L-Jn4');
SELECT 'unknown user' AS jwt, try('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwZmYifQ.8nF7iaIKeBJES3VSO_ZDl4K1qyDZL_1VdZtEycL0kyU');
SELECT 'suspended user' AS jwt, try('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDkifQ.87LNtUfuAfc1r6b3a55Ga_tPH72MtfpPs4Ipj1NHWug');
SELECT 'sub not a uuid' AS jwt, try('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.sSj_G4Ebm7Dko0FzNa8n8gK1CmEZ3OjGYR7SdV0q7z4');
SELECT 'sub a number' AS jwt, try('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOjQyfQ.CoGi3hHhZiJ3hLUg9dDchHVH-9ArvRaYo5t7VT_motg');
SELECT 'exp a string' AS jwt, try('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEiLCJleHAiOiJ0b21vcnJvdyJ9.VAhMevKCnvADbBMwlxJWqmBNxqXW_ZDBKxTdJ5JsPDk');
SELECT 'payload an array' AS jwt, try('eyJhbGciOiJIUzI1NiJ9.WzEsMl0.Lysqb4NXsQBmmU-gpHWFCuEzAWjOg02aC5anVxb9OUY');
SELECT 'payload bad json' AS jwt, try('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiAieCI.Rt35eWhZkvDrgKWmYueSZ5ZhdJu5NFGyjGhbrp5Rbgg');
SELECT 'two parts' AS jwt, try('abc.def');
SELECT 'four parts' AS jwt, try('a.b.c.d');
SELECT 'not base64url' AS jwt, try('e30=.e30=.e30=');
SELECT 'empty parts' AS jwt, try('..');
SELECT 'binary garbage' AS jwt, try('/w.AA.AA');
ROLLBACK;
-- A truncated signature, character by character, never passes.
DO $$
DECLARE
    token text := 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEiLCJleHAiOjQxMDI0NDQ4MDB9.V1akjRPleZMW9AvLPVhAiX-mJQdJ2ohS2JA2hkYeE5k';
    accepted integer := 0;
BEGIN
    FOR i IN 1..length(token) - 1 LOOP
        IF try(left(token, i)) LIKE 'user%' THEN
            accepted := accepted + 1;
        END IF;
    END LOOP;
    RAISE NOTICE '% of % prefixes accepted', accepted, length(token) - 1;
END
$$;

-- The claim that names the user is configurable.
SET acl.jwt_user_claim = 'uid';
SELECT try('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1aWQiOiIzMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDMiLCJzdWIiOiJpZ25vcmVkIn0.utSCHOgzL-dwtexliemLNzR2zI9P85-RxIlGKpwthmI');
SELECT try('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEiLCJleHAiOjQxMDI0NDQ4MDB9.V1akjRPleZMW9AvLPVhAiX-mJQdJ2ohS2JA2hkYeE5k');
RESET acl.jwt_user_claim;
SELECT try('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1aWQiOiIzMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDMiLCJzdWIiOiJpZ25vcmVkIn0.utSCHOgzL-dwtexliemLNzR2zI9P85-RxIlGKpwthmI');
SET acl.jwt_user_claim = '';

-- Changing the secret invalidates tokens signed with the old one at once.
SET acl.token = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEiLCJleHAiOjQxMDI0NDQ4MDB9.V1akjRPleZMW9AvLPVhAiX-mJQdJ2ohS2JA2hkYeE5k';
SELECT acl.current_user_id();
SET acl.jwt_secret = 'a-completely-different-secret-0123456789';
SELECT acl.current_user_id();
SET acl.jwt_secret = 'acl-regression-secret-0123456789abcdef';

-- Precedence: with both set, they must name the same user.
SET acl.user_id = '30000000-0000-4000-8000-000000000001';
SELECT acl.current_user_id();
SET acl.user_id = '30000000-0000-4000-8000-000000000002';
SELECT acl.current_user_id();
RESET acl.user_id;
RESET acl.token;
RESET acl.jwt_secret;

-- A token longer than any real one is refused when set.
DO $$
BEGIN
    PERFORM set_config('acl.token', repeat('x', 20000), false);
EXCEPTION WHEN invalid_parameter_value THEN
    RAISE NOTICE 'refused (%)', SQLSTATE;
END
$$;
SELECT current_setting('acl.token') = '' AS token_unchanged;
