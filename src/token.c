/*-------------------------------------------------------------------------
 *
 * token.c
 *	  Proof of identity through acl.token: a user's static token (stored as
 *	  its SHA-256 only) or a JWT signed with HS256 by acl.jwt_secret.
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
	int			ret;

	sha256((const uint8 *) token, strlen(token), digest);
	SET_VARSIZE(hash, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	memcpy(VARDATA(hash), digest, PG_SHA256_DIGEST_LENGTH);
	args[0] = PointerGetDatum(hash);

	acl_catalog_enter(&scope);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (token_plan == NULL)
	{
		token_plan = SPI_prepare("SELECT id FROM acl.users WHERE token_hash = $1", 1, argtypes);
		if (token_plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(token_plan);
	}
	ret = SPI_execute_plan(token_plan, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "token lookup failed: %s", SPI_result_code_string(ret));
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
