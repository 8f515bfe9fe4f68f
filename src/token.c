/*-------------------------------------------------------------------------
 *
 * token.c
 *	  Proof of identity through acl.token: a user's static token (stored as
 *	  its SHA-256 only), a JWT signed with HS256 by acl.jwt_secret, or a
 *	  share session token from acl.share_login() (stored as its SHA-256 in
 *	  acl.share_sessions).
 *
 * A token is only ever an error or a user: a malformed, unsigned, tampered,
 * expired, not-yet-valid or unknown token fails the statement that needs
 * the identity (SQLSTATE 28000), and nothing is assumed from it.  Crypto is
 * PostgreSQL's own (common/hmac, common/cryptohash, common/base64), and JSON
 * goes through its parser and jsonb.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/base64.h"
#include "common/cryptohash.h"
#include "common/hmac.h"
#include "common/jsonapi.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "libpq/crypt.h"
#include "mb/pg_wchar.h"
#include "port.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "acl.h"

#define STATIC_TOKEN_MIN_LENGTH 16
#define GENERATED_TOKEN_BYTES 32
#define SHARE_TOKEN_PREFIX "share."

int			acl_share_session_ttl = 86400;

/*
 * One verified token, kept so that the many calls of one statement (and
 * the statements of one transaction) verify it once.  Expiry is checked
 * again on every use.
 */
typedef struct VerifiedToken
{
	char	   *token;
	char	   *jwt_secret;
	char	   *user_claim;
	AclCacheScope scope;
	pg_uuid_t	user_id;
	bool		has_exp;
	double		exp;
	bool		has_nbf;
	double		nbf;
} VerifiedToken;

static VerifiedToken verified = {NULL};
static SPIPlanPtr token_plan = NULL;

static void
token_error(const char *message, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("%s", message),
			 detail ? errdetail("%s", detail) : 0,
			 errhint("Set acl.token to a valid static token or JWT, or reset it.")));
}

static void
sha256(const uint8 *data, size_t len, uint8 *digest)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, data, len) < 0 ||
		pg_cryptohash_final(ctx, digest, PG_SHA256_DIGEST_LENGTH) < 0)
	{
		const char *reason = pg_cryptohash_error(ctx);

		pg_cryptohash_free(ctx);
		elog(ERROR, "could not compute SHA-256: %s", reason);
	}
	pg_cryptohash_free(ctx);
}

static void
hmac_sha256(const char *key, size_t keylen, const char *data, size_t len, uint8 *mac)
{
	pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);

	if (ctx == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (pg_hmac_init(ctx, (const uint8 *) key, keylen) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) data, len) < 0 ||
		pg_hmac_final(ctx, mac, PG_SHA256_DIGEST_LENGTH) < 0)
	{
		const char *reason = pg_hmac_error(ctx);

		pg_hmac_free(ctx);
		elog(ERROR, "could not compute HMAC-SHA256: %s", reason);
	}
	pg_hmac_free(ctx);
}

/* RFC 7515 base64url without padding; NULL when not valid. */
static char *
base64url_decode(const char *src, int len, int *outlen)
{
	int			padded = len + (4 - len % 4) % 4;
	char	   *buf;
	char	   *out;
	int			n;

	if (len == 0 || len % 4 == 1)
		return NULL;
	buf = palloc(padded + 1);
	for (int i = 0; i < len; i++)
	{
		char		c = src[i];

		if (c == '+' || c == '/' || c == '=')
			return NULL;
		buf[i] = (c == '-') ? '+' : (c == '_') ? '/' : c;
	}
	for (int i = len; i < padded; i++)
		buf[i] = '=';
	out = palloc(pg_b64_dec_len(padded) + 1);
	n = pg_b64_decode(buf, padded, out, pg_b64_dec_len(padded));
	pfree(buf);
	if (n < 0)
		return NULL;
	out[n] = '\0';
	*outlen = n;
	return out;
}

static char *
base64url_encode(const uint8 *src, int len)
{
	int			cap = pg_b64_enc_len(len) + 1;
	char	   *out = palloc(cap);
	int			n = pg_b64_encode((const char *) src, len, out, cap);

	if (n < 0)
		elog(ERROR, "could not encode token");
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (int i = 0; i < n; i++)
		out[i] = (out[i] == '+') ? '-' : (out[i] == '/') ? '_' : out[i];
	return out;
}

/* A JWT segment as a jsonb object, or NULL when it is not one. */
static Jsonb *
segment_object(const char *segment, int len)
{
	int			jsonlen;
	char	   *json = base64url_decode(segment, len, &jsonlen);
	JsonLexContext *lex;
	Jsonb	   *result;

	if (json == NULL || !pg_verifymbstr(json, jsonlen, true))
		return NULL;
	/* Validate first with the non-throwing parser: a bad token is not bad SQL. */
	lex = makeJsonLexContextCstringLen(json, jsonlen, GetDatabaseEncoding(), false);
	if (pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
		return NULL;
	result = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
	if (!JB_ROOT_IS_OBJECT(result) || JB_ROOT_IS_SCALAR(result))
		return NULL;
	return result;
}

static JsonbValue *
claim(Jsonb *object, const char *name, JsonbValue *out)
{
	return getKeyJsonValueFromContainer(&object->root, name, strlen(name), out);
}

static bool
numeric_claim(Jsonb *payload, const char *name, double *value)
{
	JsonbValue	v;

	if (claim(payload, name, &v) == NULL)
		return false;
	if (v.type != jbvNumeric)
	{
		char	   *detail = psprintf("Claim \"%s\" must be a number of seconds since 1970.", name);

		token_error("JWT has a malformed time claim", detail);
	}
	*value = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
												NumericGetDatum(v.val.numeric)));
	return true;
}

static void
verify_jwt(const char *token, VerifiedToken *out)
{
	const char *dot1 = strchr(token, '.');
	const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	const char *signature = dot2 ? dot2 + 1 : NULL;
	Jsonb	   *header;
	Jsonb	   *payload;
	JsonbValue	v;
	uint8		expected[PG_SHA256_DIGEST_LENGTH];
	char	   *given;
	int			givenlen;
	char	   *user_text;

	if (signature == NULL || strchr(signature, '.') != NULL)
		token_error("acl.token is not a valid JWT", "A JWT has three dot-separated parts.");

	header = segment_object(token, dot1 - token);
	if (header == NULL)
		token_error("acl.token is not a valid JWT", "Its header is not base64url-encoded JSON.");
	if (claim(header, "alg", &v) == NULL || v.type != jbvString ||
		v.val.string.len != 5 || strncmp(v.val.string.val, "HS256", 5) != 0)
		token_error("JWT algorithm is not accepted", "acl accepts HS256-signed tokens only.");
	if (claim(header, "crit", &v) != NULL)
		token_error("JWT has critical header extensions acl does not understand", NULL);

	if (acl_jwt_secret == NULL || acl_jwt_secret[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("acl.token is a JWT but acl.jwt_secret is not set"),
				 errhint("A superuser sets acl.jwt_secret in postgresql.conf or with ALTER SYSTEM.")));

	/* Check the signature before trusting anything in the payload. */
	hmac_sha256(acl_jwt_secret, strlen(acl_jwt_secret), token, dot2 - token, expected);
	given = base64url_decode(signature, strlen(signature), &givenlen);
	if (given == NULL || givenlen != PG_SHA256_DIGEST_LENGTH ||
		timingsafe_bcmp(given, expected, PG_SHA256_DIGEST_LENGTH) != 0)
		token_error("JWT signature does not match", "The token was not signed with acl.jwt_secret, or it was altered.");

	payload = segment_object(dot1 + 1, dot2 - dot1 - 1);
	if (payload == NULL)
		token_error("acl.token is not a valid JWT", "Its payload is not base64url-encoded JSON.");

	out->has_exp = numeric_claim(payload, "exp", &out->exp);
	out->has_nbf = numeric_claim(payload, "nbf", &out->nbf);

	if (claim(payload, acl_jwt_user_claim, &v) == NULL || v.type != jbvString)
	{
		char	   *detail = psprintf("Claim \"%s\" must hold the id of a row of acl.users.",
									  acl_jwt_user_claim);

		token_error("JWT does not name a user", detail);
	}
	user_text = pnstrdup(v.val.string.val, v.val.string.len);
	if (!acl_parse_uuid(user_text, &out->user_id))
	{
		char	   *detail = psprintf("Claim \"%s\" is \"%s\", not a uuid.",
									  acl_jwt_user_claim, user_text);

		token_error("JWT does not name a user", detail);
	}
}

static void
check_token_times(const VerifiedToken *token)
{
	TimestampTz now = GetCurrentStatementStartTimestamp();
	double		unix_now = (double) now / USECS_PER_SEC +
		(double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;

	if (token->has_exp && !(unix_now < token->exp))
	{
		char	   *detail = psprintf("Its exp claim is %.0f; it is now %.0f (seconds since 1970).",
									  token->exp, floor(unix_now));

		token_error("JWT has expired", detail);
	}
	if (token->has_nbf && unix_now < token->nbf)
	{
		char	   *detail = psprintf("Its nbf claim is %.0f; it is now %.0f (seconds since 1970).",
									  token->nbf, floor(unix_now));

		token_error("JWT is not valid yet", detail);
	}
}

static pg_uuid_t
static_token_user(const char *token)
{
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	bytea	   *hash = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	Oid			argtypes[1] = {BYTEAOID};
	Datum		args[1];
	AclCatalogScope scope;
	pg_uuid_t	user_id;
	bool		found;

	sha256((const uint8 *) token, strlen(token), digest);
	SET_VARSIZE(hash, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	memcpy(VARDATA(hash), digest, PG_SHA256_DIGEST_LENGTH);
	args[0] = PointerGetDatum(hash);

	acl_catalog_enter(&scope);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	acl_spi_select_kept(&token_plan, "SELECT id FROM acl.users WHERE token_hash = $1",
						1, argtypes, args, NULL, 1);
	found = (SPI_processed == 1);
	if (found)
	{
		bool		isnull;

		memcpy(&user_id,
			   DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)),
			   sizeof(user_id));
	}
	SPI_finish();
	acl_catalog_leave(&scope);

	if (!found)
		token_error("acl.token matches no user's static token", NULL);
	return user_id;
}

static bool
looks_like_jwt(const char *token)
{
	const char *dot = strchr(token, '.');

	return dot != NULL && strchr(dot + 1, '.') != NULL;
}

/* The user a token proves; errors on anything short of proof. */
pg_uuid_t
acl_token_user(const char *token)
{
	VerifiedToken fresh = {NULL};
	MemoryContext old;

	if (verified.token != NULL &&
		acl_cache_scope_valid(&verified.scope) &&
		strcmp(verified.token, token) == 0 &&
		strcmp(verified.jwt_secret, acl_jwt_secret ? acl_jwt_secret : "") == 0 &&
		strcmp(verified.user_claim, acl_jwt_user_claim ? acl_jwt_user_claim : "") == 0)
	{
		check_token_times(&verified);
		return verified.user_id;
	}

	fresh.scope = acl_cache_scope_now();
	if (looks_like_jwt(token))
	{
		verify_jwt(token, &fresh);
		check_token_times(&fresh);
	}
	else
		fresh.user_id = static_token_user(token);

	/* Remember it only once fully verified. */
	if (verified.token != NULL)
	{
		pfree(verified.token);
		pfree(verified.jwt_secret);
		pfree(verified.user_claim);
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	fresh.token = pstrdup(token);
	fresh.jwt_secret = pstrdup(acl_jwt_secret ? acl_jwt_secret : "");
	fresh.user_claim = pstrdup(acl_jwt_user_claim ? acl_jwt_user_claim : "");
	MemoryContextSwitchTo(old);
	verified = fresh;
	return verified.user_id;
}

PG_FUNCTION_INFO_V1(acl_set_user_token);

Datum
acl_set_user_token(PG_FUNCTION_ARGS)
{
	char	   *token;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	bytea	   *hash;
	Oid			argtypes[2] = {UUIDOID, BYTEAOID};
	Datum		args[2];
	int			ret;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("user_id must not be NULL")));

	if (PG_ARGISNULL(1))
	{
		uint8		random[GENERATED_TOKEN_BYTES];

		if (!pg_strong_random(random, sizeof(random)))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate a random token")));
		token = base64url_encode(random, sizeof(random));
	}
	else
	{
		token = text_to_cstring(PG_GETARG_TEXT_PP(1));
		if (strlen(token) < STATIC_TOKEN_MIN_LENGTH)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("static token is too short"),
					 errdetail("A static token needs at least %d characters.", STATIC_TOKEN_MIN_LENGTH),
					 errhint("Call acl.set_user_token(user_id) to have a random token generated.")));
		if (looks_like_jwt(token))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("static token must not contain two dots"),
					 errdetail("Tokens of the form a.b.c are read as JWTs.")));
		if (acl_is_share_token(token))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("static token must not begin with \"%s\"", SHARE_TOKEN_PREFIX),
					 errdetail("Tokens beginning with \"%s\" are read as share session tokens.",
							   SHARE_TOKEN_PREFIX)));
	}

	sha256((const uint8 *) token, strlen(token), digest);
	hash = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	SET_VARSIZE(hash, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	memcpy(VARDATA(hash), digest, PG_SHA256_DIGEST_LENGTH);
	args[0] = PG_GETARG_DATUM(0);
	args[1] = PointerGetDatum(hash);

	/* Runs with the caller's own privileges on acl.users. */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute_with_args("UPDATE acl.users SET token_hash = $2"
								" WHERE id OPERATOR(pg_catalog.=) $1",
								2, argtypes, args, NULL, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "could not store token: %s", SPI_result_code_string(ret));
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("user %s does not exist", acl_uuid_text(DatumGetUUIDP(args[0]))),
				 errhint("Pass the id of a row of acl.users.")));
	SPI_finish();

	PG_RETURN_TEXT_P(cstring_to_text(token));
}

PG_FUNCTION_INFO_V1(acl_share_password);

/*
 * A share password as stored: a SCRAM-SHA-256 verifier, the same format
 * PostgreSQL keeps for role passwords.  A value that already is a verifier
 * (a restored dump) is kept.
 */
Datum
acl_share_password(PG_FUNCTION_ARGS)
{
	char	   *password = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (password[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("share password must not be empty"),
				 errhint("Set password to NULL for a share without a password.")));
	if (get_password_type(password) == PASSWORD_TYPE_SCRAM_SHA_256)
		PG_RETURN_TEXT_P(cstring_to_text(password));
	/* The role name only salts MD5; SCRAM draws a random salt. */
	PG_RETURN_TEXT_P(cstring_to_text(encrypt_password(PASSWORD_TYPE_SCRAM_SHA_256,
													  "", password)));
}

/* ------------------------------------------------------------------------
 * Share links (spec §8).  acl.share_login() is Directus's POST /shares/auth:
 * it checks the share's dates, use count and password, counts the use, and
 * returns a session token for acl.token.  The share id is the link, so it
 * alone proves nothing once a password is set, and a SCRAM verification
 * (thousands of hash rounds) is paid once per login, not per statement.
 * ---------------------------------------------------------------------- */

bool
acl_is_share_token(const char *token)
{
	return strncmp(token, SHARE_TOKEN_PREFIX, strlen(SHARE_TOKEN_PREFIX)) == 0;
}

static bytea *
token_digest(const char *text)
{
	bytea	   *hash = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);

	sha256((const uint8 *) text, strlen(text), (uint8 *) VARDATA(hash));
	SET_VARSIZE(hash, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	return hash;
}

static void
share_login_error(const char *message, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("%s", message),
			 detail ? errdetail("%s", detail) : 0,
			 errhint("%s", hint)));
}

/* The date window of a share, checked at login and again on every use. */
static void
check_share_window(const char *share, bool start_null, TimestampTz start,
				   bool end_null, TimestampTz end)
{
	TimestampTz now = GetCurrentStatementStartTimestamp();

	if (!start_null && now < start)
		share_login_error(psprintf("share %s is not valid yet", share),
						  psprintf("Its date_start is %s.", timestamptz_to_str(start)),
						  "Wait until date_start, or ask its creator to change it.");
	if (!end_null && now > end)
		share_login_error(psprintf("share %s has expired", share),
						  psprintf("Its date_end was %s.", timestamptz_to_str(end)),
						  "Ask its creator for a new share or a later date_end.");
}

PG_FUNCTION_INFO_V1(acl_share_login);

/*
 * acl.share_login(share uuid, password text DEFAULT NULL) returns text.
 * Unknown shares and wrong passwords get the same error, so the function is
 * no oracle for share ids; only a caller who knows the password learns that
 * a share expired or was used up.
 */
Datum
acl_share_login(PG_FUNCTION_ARGS)
{
	Oid			argtypes[3] = {UUIDOID, BYTEAOID, INT4OID};
	Datum		args[3];
	char	   *share;
	char	   *password = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	AclCatalogScope scope;
	HeapTuple	row;
	TupleDesc	desc;
	bool		isnull;
	bool		start_null,
				end_null,
				max_null;
	TimestampTz start,
				end;
	int32		used,
				max_uses;
	char	   *verifier;
	char	   *creator_status;
	uint8		random[GENERATED_TOKEN_BYTES];
	char	   *token;
	int			ret;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("share must not be NULL")));
	args[0] = PG_GETARG_DATUM(0);
	share = acl_uuid_text(PG_GETARG_UUID_P(0));

	acl_catalog_enter(&scope);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* The row lock makes concurrent logins count one after another. */
	ret = SPI_execute_with_args("SELECT s.password, s.date_start, s.date_end, s.times_used, s.max_uses,"
								"       CASE WHEN s.user_created IS NULL THEN 'missing'"
								"            ELSE coalesce(u.status, 'missing') END"
								"  FROM acl.shares s LEFT JOIN acl.users u ON u.id = s.user_created"
								" WHERE s.id = $1 FOR NO KEY UPDATE OF s",
								1, argtypes, args, NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "share lookup failed: %s", SPI_result_code_string(ret));
	if (SPI_processed != 1)
		share_login_error("share login failed", "No share has this id, or the password is wrong.",
						  "Check the share id and its password.");
	row = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	verifier = SPI_getvalue(row, desc, 1);
	start = DatumGetTimestampTz(SPI_getbinval(row, desc, 2, &start_null));
	end = DatumGetTimestampTz(SPI_getbinval(row, desc, 3, &end_null));
	used = DatumGetInt32(SPI_getbinval(row, desc, 4, &isnull));
	max_uses = DatumGetInt32(SPI_getbinval(row, desc, 5, &max_null));
	creator_status = SPI_getvalue(row, desc, 6);

	if (verifier != NULL)
	{
		const char *logdetail = NULL;

		if (password == NULL ||
			plain_crypt_verify("", verifier, password, &logdetail) != STATUS_OK)
			share_login_error("share login failed", "No share has this id, or the password is wrong.",
							  "Check the share id and its password.");
	}
	check_share_window(share, start_null, start, end_null, end);
	/* Deviation: Directus compares times_used <= max_uses, one use too many. */
	if (!max_null && used >= max_uses)
		share_login_error(psprintf("share %s has been used up", share),
						  psprintf("It has been used %d of %d times.", used, max_uses),
						  "Ask its creator to raise max_uses, or for a new share.");
	if (strcmp(creator_status, "active") != 0)
		share_login_error(psprintf("share %s has no active creator", share),
						  strcmp(creator_status, "missing") == 0
						  ? "Its user_created is NULL or names no user; a share borrows its creator's permissions."
						  : psprintf("Its creator's status is \"%s\".", creator_status),
						  "Set acl.shares.user_created to an active user, or create a new share.");

	if (!pg_strong_random(random, sizeof(random)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random token")));
	token = psprintf("%s%s", SHARE_TOKEN_PREFIX, base64url_encode(random, sizeof(random)));
	args[1] = PointerGetDatum(token_digest(token));
	args[2] = Int32GetDatum(acl_share_session_ttl);
	ret = SPI_execute_with_args("WITH used AS (UPDATE acl.shares SET times_used = times_used + 1"
								"               WHERE id = $1 RETURNING id),"
								"     expired AS (DELETE FROM acl.share_sessions"
								"                  WHERE share = $1 AND expires < pg_catalog.now())"
								" INSERT INTO acl.share_sessions (token_hash, share, expires)"
								" SELECT $2, id, pg_catalog.now() + pg_catalog.make_interval(secs => $3) FROM used",
								3, argtypes, args, NULL, false, 0);
	if (ret != SPI_OK_INSERT || SPI_processed != 1)
		elog(ERROR, "could not record the share login: %s", SPI_result_code_string(ret));
	SPI_finish();
	acl_catalog_leave(&scope);
	PG_RETURN_TEXT_P(cstring_to_text(token));
}

/*
 * The share a session token stands for; errors on anything short of a live
 * session of a share in its date window.  Cached like user tokens.
 */
static struct
{
	char	   *token;
	AclCacheScope scope;
	AclShareSession session;
}			verified_share = {NULL};

const AclShareSession *
acl_share_session(const char *token)
{
	Oid			argtypes[1] = {BYTEAOID};
	Datum		args[1];
	AclCatalogScope scope;
	AclShareSession fresh;
	AclCacheScope fresh_scope;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext old;
	HeapTuple	row;
	TupleDesc	desc;
	bool		isnull;
	bool		role_null;
	bool		creator_null;
	TimestampTz expires;
	char	   *creator_status;
	char	   *share;
	int			ret;

	if (verified_share.token != NULL && acl_cache_scope_valid(&verified_share.scope) &&
		strcmp(verified_share.token, token) == 0)
	{
		check_share_window(acl_uuid_text(&verified_share.session.share),
						   verified_share.session.start_null, verified_share.session.start,
						   verified_share.session.end_null, verified_share.session.end);
		if (GetCurrentStatementStartTimestamp() > verified_share.session.expires)
			share_login_error("share session has expired", NULL,
							  "Log in again with acl.share_login(), or reset acl.token.");
		return &verified_share.session;
	}

	memset(&fresh, 0, sizeof(fresh));
	fresh_scope = acl_cache_scope_now();
	args[0] = PointerGetDatum(token_digest(token));
	acl_catalog_enter(&scope);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute_with_args("SELECT s.id, s.collection, s.item, s.role, s.user_created,"
								"       s.date_start, s.date_end, x.expires, u.status"
								"  FROM acl.share_sessions x JOIN acl.shares s ON s.id = x.share"
								"  LEFT JOIN acl.users u ON u.id = s.user_created"
								" WHERE x.token_hash = $1",
								1, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "share session lookup failed: %s", SPI_result_code_string(ret));
	if (SPI_processed != 1)
		share_login_error("acl.token is not a live share session",
						  "The session is unknown, or its share was deleted.",
						  "Log in again with acl.share_login(), or reset acl.token.");
	row = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	fresh.share = acl_spi_uuid(row, desc, 1, &isnull);
	fresh.collection = DatumGetObjectId(SPI_getbinval(row, desc, 2, &isnull));
	/* SPI_finish() frees SPI's memory: copy the strings out. */
	old = MemoryContextSwitchTo(caller);
	fresh.item = SPI_getvalue(row, desc, 3);
	creator_status = SPI_getvalue(row, desc, 9);
	MemoryContextSwitchTo(old);
	fresh.role = acl_spi_uuid(row, desc, 4, &role_null);
	fresh.has_role = !role_null;
	fresh.creator = acl_spi_uuid(row, desc, 5, &creator_null);
	fresh.start = DatumGetTimestampTz(SPI_getbinval(row, desc, 6, &fresh.start_null));
	fresh.end = DatumGetTimestampTz(SPI_getbinval(row, desc, 7, &fresh.end_null));
	expires = DatumGetTimestampTz(SPI_getbinval(row, desc, 8, &isnull));
	fresh.expires = expires;
	SPI_finish();
	acl_catalog_leave(&scope);

	share = acl_uuid_text(&fresh.share);
	if (GetCurrentStatementStartTimestamp() > expires)
		share_login_error("share session has expired",
						  psprintf("The session of share %s ended at %s.", share,
								   timestamptz_to_str(expires)),
						  "Log in again with acl.share_login(), or reset acl.token.");
	check_share_window(share, fresh.start_null, fresh.start, fresh.end_null, fresh.end);
	if (creator_null || creator_status == NULL || strcmp(creator_status, "active") != 0)
		share_login_error(psprintf("share %s has no active creator", share),
						  "A share borrows its creator's permissions.",
						  "Set acl.shares.user_created to an active user, or create a new share.");

	if (verified_share.token != NULL)
	{
		pfree(verified_share.token);
		pfree(verified_share.session.item);
	}
	/* Kept only once fully verified, so a refused token leaves nothing behind. */
	fresh.item = MemoryContextStrdup(TopMemoryContext, fresh.item);
	verified_share.token = MemoryContextStrdup(TopMemoryContext, token);
	verified_share.scope = fresh_scope;
	verified_share.session = fresh;
	return &verified_share.session;
}
