/*-------------------------------------------------------------------------
 *
 * acl.c
 *	  Module entry point and the acl.* settings.
 *
 * acl.user_id is the identity an application asserts for its end user.  It
 * is PGC_SUSET so that only superusers, and roles a DBA trusts with
 * GRANT SET ON PARAMETER, can set it; the whole "acl." prefix is reserved so
 * that no placeholder can shadow it.  acl.token is the identity a client
 * proves: anyone may set it, and it only counts once verified (token.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "fmgr.h"
#include "utils/guc.h"

#include "acl.h"

PG_MODULE_MAGIC;

char	   *acl_user_id_setting = NULL;
char	   *acl_token_setting = NULL;
char	   *acl_jwt_secret = NULL;
char	   *acl_jwt_user_claim = NULL;

/* Tokens longer than this are not tokens; refusing them bounds the work. */
#define ACL_TOKEN_MAX_LENGTH 16384
/* RFC 7518 §3.2: an HS256 key must be at least as long as the hash output. */
#define ACL_JWT_SECRET_MIN_LENGTH 32

void		_PG_init(void);

/*
 * Accepts the canonical 8-4-4-4-12 form and the 32-digit form, the spellings
 * applications and gateways produce.  Written out rather than calling
 * uuid_in because GUC check hooks must not throw.
 */
bool
acl_parse_uuid(const char *text, pg_uuid_t *out)
{
	/*
	 * hex digit values, -1 for anything else; and where each byte's two
	 * digits start in the hyphenated form.  The gates of every execution
	 * parse uuids, so this avoids per-character arithmetic.
	 */
	static int8 hex_value[256];
	static bool hex_ready = false;
	static const uint8 hyphenated_at[UUID_LEN] = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};
	size_t		len = strlen(text);
	bool		hyphenated = (len == 36);
	pg_uuid_t	uuid;

	if (!hex_ready)
	{
		memset(hex_value, -1, sizeof(hex_value));
		for (int i = 0; i < 10; i++)
			hex_value['0' + i] = i;
		for (int i = 0; i < 6; i++)
			hex_value['a' + i] = hex_value['A' + i] = 10 + i;
		hex_ready = true;
	}
	if (len != 36 && len != 32)
		return false;
	if (hyphenated &&
		(text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-'))
		return false;
	for (int i = 0; i < UUID_LEN; i++)
	{
		const unsigned char *digits = (const unsigned char *) text + (hyphenated ? hyphenated_at[i] : 2 * i);
		int			high = hex_value[digits[0]];
		int			low = hex_value[digits[1]];

		if ((high | low) < 0)
			return false;
		uuid.data[i] = (unsigned char) ((high << 4) | low);
	}
	if (out)
		*out = uuid;
	return true;
}

/*
 * acl.user_id parsed once, when it is set: the value of the setting in
 * force, or NULL when it is empty.  GUC keeps the parsed form (the hook's
 * "extra") with each value it saves, so SET LOCAL, RESET and function SET
 * clauses restore the right one.
 */
const pg_uuid_t *acl_user_id_parsed = NULL;

static bool
check_user_id(char **newval, void **extra, GucSource source)
{
	pg_uuid_t	parsed;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (acl_parse_uuid(*newval, &parsed))
	{
		/* GUC frees it with free() (PostgreSQL 16 adds guc_malloc for this) */
		pg_uuid_t  *copy = malloc(sizeof(pg_uuid_t));

		if (copy == NULL)
		{
			GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
			return false;
		}
		*copy = parsed;
		*extra = copy;
		return true;
	}
	GUC_check_errcode(ERRCODE_INVALID_TEXT_REPRESENTATION);
	GUC_check_errmsg("invalid value for acl.user_id: \"%s\"", *newval);
	GUC_check_errdetail("acl.user_id takes the uuid of a row of acl.users.");
	GUC_check_errhint("Use the form 6f1c2e3a-8b7d-4c5e-9f00-1a2b3c4d5e6f, or an empty string for the public principal.");
	return false;
}

static void
assign_user_id(const char *newval, void *extra)
{
	acl_user_id_parsed = (const pg_uuid_t *) extra;
}

static bool
check_token(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || strlen(*newval) <= ACL_TOKEN_MAX_LENGTH)
		return true;
	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errdetail("acl.token is longer than %d bytes.", ACL_TOKEN_MAX_LENGTH);
	return false;
}

static bool
check_jwt_secret(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' ||
		strlen(*newval) >= ACL_JWT_SECRET_MIN_LENGTH)
		return true;
	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errdetail("acl.jwt_secret must be at least %d bytes long for HS256.",
						ACL_JWT_SECRET_MIN_LENGTH);
	return false;
}

static bool
check_jwt_user_claim(char **newval, void **extra, GucSource source)
{
	if (*newval != NULL && (*newval)[0] != '\0')
		return true;
	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errdetail("acl.jwt_user_claim must name a claim, for example \"sub\".");
	return false;
}

void
_PG_init(void)
{
	DefineCustomStringVariable("acl.user_id",
							   "The end user (a uuid from acl.users) the statements of this session act for.",
							   "Only superusers and roles granted SET ON PARAMETER acl.user_id may set it. "
							   "Empty means the public principal.",
							   &acl_user_id_setting,
							   "",
							   PGC_SUSET,
							   GUC_NOT_IN_SAMPLE,
							   check_user_id, assign_user_id, NULL);

	DefineCustomStringVariable("acl.token",
							   "A static token or HS256 JWT proving the end user's identity.",
							   "Any role may set it; it is verified when a statement needs the identity.",
							   &acl_token_setting,
							   "",
							   PGC_USERSET,
							   GUC_NOT_IN_SAMPLE | GUC_NO_SHOW_ALL,
							   check_token, NULL, NULL);

	DefineCustomStringVariable("acl.jwt_secret",
							   "The HS256 secret that signs JWTs accepted in acl.token.",
							   "Set it in postgresql.conf or with ALTER SYSTEM; role and database "
							   "settings are readable by every role.",
							   &acl_jwt_secret,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE | GUC_NO_SHOW_ALL,
							   check_jwt_secret, NULL, NULL);

	DefineCustomStringVariable("acl.jwt_user_claim",
							   "The JWT claim that holds the acl.users id.",
							   NULL,
							   &acl_jwt_user_claim,
							   "sub",
							   PGC_SUSET,
							   GUC_NOT_IN_SAMPLE,
							   check_jwt_user_claim, NULL, NULL);

	DefineCustomIntVariable("acl.share_session_ttl",
							"How long a session from acl.share_login() lasts.",
							"A session also ends when its share is deleted or its date_end passes.",
							&acl_share_session_ttl,
							86400, 1, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	acl_plan_cache_init();

	MarkGUCPrefixReserved("acl");

	acl_catalog_register_callbacks();
	acl_enforce_init();
}
