/*-------------------------------------------------------------------------
 *
 * identity.c
 *	  Who the end user of the running statement is, and the STABLE
 *	  functions that expose it (acl.current_user_id() and friends).
 *
 * Identity is read from the settings each time a function runs, never at
 * plan time, so one prepared statement serves every end user of a pooled
 * connection.  A policy's gates and its (SELECT acl.current_user_id()) are
 * read once per execution, as initplans (gates.c).
 *
 * Precedence: acl.token and acl.user_id may both be set (a gateway asserts
 * the user, the client proves it); they must then name the same user, or
 * the statement fails.  Neither set means the public principal.  A user who
 * does not exist or is not active has no identity at all: every function
 * here fails with 42501 rather than falling back to public.
 *
 * A share session token in acl.token makes the share the principal: it has
 * no user, reads through the share's own rules (share.c), and for every
 * other action is the public principal, as in Directus (spec §8).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"

#include "acl.h"

char *
acl_uuid_text(const pg_uuid_t *uuid)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out,
											   UUIDPGetDatum((pg_uuid_t *) uuid)));
}

AclPrincipal
acl_current_principal(void)
{
	AclPrincipal principal = {true, {{0}}, NULL, NULL};
	bool		have_user_id = acl_user_id_setting && acl_user_id_setting[0];
	bool		have_token = acl_token_setting && acl_token_setting[0];
	pg_uuid_t	asserted = {{0}};

	/*
	 * Changes committed by other backends reach this one at lock
	 * acquisition; a read-committed transaction that already holds its
	 * locks would not see them, so ask explicitly.
	 */
	AcceptInvalidationMessages();

	/* The check hook parsed every value it accepted; fail closed regardless. */
	if (have_user_id && acl_user_id_parsed != NULL)
		asserted = *acl_user_id_parsed;
	else if (have_user_id)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid value for acl.user_id: \"%s\"", acl_user_id_setting)));

	if (have_token && acl_is_share_token(acl_token_setting))
	{
		if (have_user_id)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("acl.user_id and a share token cannot be used together"),
					 errdetail("acl.user_id is %s; a share session acts for no user.",
							   acl_user_id_setting),
					 errhint("Reset acl.user_id to read through the share, or reset acl.token.")));
		principal.share = acl_share_session(acl_token_setting);
		principal.source = "acl.token";
	}
	else if (have_token)
	{
		principal.anonymous = false;
		principal.user_id = acl_token_user(acl_token_setting);
		principal.source = "acl.token";
		if (have_user_id &&
			memcmp(asserted.data, principal.user_id.data, UUID_LEN) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("acl.user_id and acl.token name different users"),
					 errdetail("acl.user_id is %s; the token belongs to %s.",
							   acl_uuid_text(&asserted),
							   acl_uuid_text(&principal.user_id)),
					 errhint("Set only one of them, or make them agree.")));
	}
	else if (have_user_id)
	{
		principal.anonymous = false;
		principal.user_id = asserted;
		principal.source = "acl.user_id";
	}
	return principal;
}

/*
 * The access of the current end user; fails closed when the identity
 * cannot be used.  The result is valid until the next acl_access_for().
 */
const AclAccess *
acl_current_access(void)
{
	AclPrincipal principal = acl_current_principal();
	const AclAccess *access;

	if (principal.anonymous)
		return acl_access_for(NULL);

	access = acl_access_for(&principal.user_id);
	if (!access->user_exists)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("end user %s does not exist", acl_uuid_text(&principal.user_id)),
				 errdetail("%s names a user that acl.users does not contain.", principal.source),
				 errhint("Set %s to an existing user, or reset it to act as the public principal.",
						 principal.source)));
	if (strcmp(access->status, "active") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("end user %s is not active", acl_uuid_text(&principal.user_id)),
				 errdetail("The user's status is \"%s\"; only active users have an identity.",
						   access->status),
				 errhint("Set acl.users.status to 'active' to let the user in again.")));
	return access;
}

Datum
acl_uuid_array(const pg_uuid_t *items, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
	{
		pg_uuid_t  *copy = palloc(sizeof(pg_uuid_t));

		*copy = items[i];
		elems[i] = UUIDPGetDatum(copy);
	}
	return PointerGetDatum(construct_array(elems, n, UUIDOID, UUID_LEN, false,
										   TYPALIGN_CHAR));
}

static Datum
uuid_datum(const pg_uuid_t *uuid)
{
	pg_uuid_t  *copy = palloc(sizeof(pg_uuid_t));

	*copy = *uuid;
	return UUIDPGetDatum(copy);
}

PG_FUNCTION_INFO_V1(acl_current_user_id);

Datum
acl_current_user_id(PG_FUNCTION_ARGS)
{
	const AclAccess *access = acl_current_access();

	if (access->anonymous)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(uuid_datum(&access->user_id));
}

PG_FUNCTION_INFO_V1(acl_current_role_id);

Datum
acl_current_role_id(PG_FUNCTION_ARGS)
{
	const AclAccess *access = acl_current_access();

	if (!access->has_role)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(uuid_datum(&access->role_id));
}

PG_FUNCTION_INFO_V1(acl_current_roles);

Datum
acl_current_roles(PG_FUNCTION_ARGS)
{
	const AclAccess *access = acl_current_access();

	PG_RETURN_DATUM(acl_uuid_array(access->roles, access->nroles));
}

PG_FUNCTION_INFO_V1(acl_current_policies);

Datum
acl_current_policies(PG_FUNCTION_ARGS)
{
	const AclAccess *access = acl_current_access();

	PG_RETURN_DATUM(acl_uuid_array(access->policies, access->npolicies));
}

PG_FUNCTION_INFO_V1(acl_is_admin);

Datum
acl_is_admin(PG_FUNCTION_ARGS)
{
	acl_require_preloaded();
	PG_RETURN_BOOL(acl_current_access()->admin);
}

PG_FUNCTION_INFO_V1(acl_has_app_access);

Datum
acl_has_app_access(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(acl_current_access()->app);
}

PG_FUNCTION_INFO_V1(acl_has_policy);

/*
 * acl.has_policy(policy uuid): whether the policy is among the current end
 * user's effective policies.  The gate of generated write policies, read
 * once per execution (gates.c).
 */
Datum
acl_has_policy(PG_FUNCTION_ARGS)
{
	acl_require_preloaded();
	PG_RETURN_BOOL(acl_access_holds(acl_current_access(), PG_GETARG_UUID_P(0)));
}

PG_FUNCTION_INFO_V1(acl_has_policy_for);

/*
 * acl.has_policy(policy uuid, action text): the gate of a generated
 * permission policy.  A share reads only through its own policy (acl_share),
 * never through the public read permissions it holds for other actions.
 */
Datum
acl_has_policy_for(PG_FUNCTION_ARGS)
{
	acl_require_preloaded();
	PG_RETURN_BOOL(acl_holds_policy_for(PG_GETARG_UUID_P(0), text_to_cstring(PG_GETARG_TEXT_PP(1))));
}

/*
 * A gate evaluated once per expression.  gates.c calls these in place of a
 * policy's gate(constants), plain or as a (SELECT ...) sublink: a plain
 * call would be evaluated for every row, and the planner plans every
 * sublink as a subquery of its own.  The answer is kept with
 * the expression's FmgrInfo, which lives as long as the plan's execution
 * (through rescans), so the gate is read once per execution, as an initplan
 * is.  Boolean results only: they are passed by value.
 */
typedef struct OnceValue
{
	Datum		value;
	bool		isnull;
} OnceValue;

Datum
acl_evaluate_once(FunctionCallInfo fcinfo, PGFunction gate)
{
	OnceValue  *once = fcinfo->flinfo->fn_extra;

	if (once == NULL)
	{
		Datum		value = gate(fcinfo);

		once = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(OnceValue));
		once->value = value;
		once->isnull = fcinfo->isnull;
		fcinfo->flinfo->fn_extra = once;
	}
	fcinfo->isnull = once->isnull;
	return once->value;
}

PG_FUNCTION_INFO_V1(acl_is_admin_once);

Datum
acl_is_admin_once(PG_FUNCTION_ARGS)
{
	return acl_evaluate_once(fcinfo, acl_is_admin);
}

PG_FUNCTION_INFO_V1(acl_has_policy_once);

Datum
acl_has_policy_once(PG_FUNCTION_ARGS)
{
	return acl_evaluate_once(fcinfo, acl_has_policy);
}

PG_FUNCTION_INFO_V1(acl_has_policy_for_once);

Datum
acl_has_policy_for_once(PG_FUNCTION_ARGS)
{
	return acl_evaluate_once(fcinfo, acl_has_policy_for);
}

bool
acl_holds_policy_for(const pg_uuid_t *policy, const char *action)
{
	return acl_principal_holds(acl_current_principal().share != NULL, acl_current_access(),
							   policy, action);
}

/*
 * For callers that resolve the principal once for many policies: a share
 * session reads through its share only, never through a policy.
 */
bool
acl_principal_holds(bool share_session, const AclAccess *access, const pg_uuid_t *policy,
					const char *action)
{
	if (strcmp(action, "read") == 0 && share_session)
		return false;
	return acl_access_holds(access, policy);
}
