/*-------------------------------------------------------------------------
 *
 * inspect.c
 *	  acl.effective_permissions(): the permission rows that apply to a user,
 *	  in priority order.
 *
 * Anyone may inspect their own identity (Directus's /permissions/me).
 * Inspecting another user needs either an admin identity or a database role
 * that may read acl.permissions, i.e. a DBA.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "acl.h"

static bool
same_principal(const pg_uuid_t *target, const AclPrincipal *current)
{
	if (target == NULL || current->anonymous)
		return target == NULL && current->anonymous;
	return memcmp(target->data, current->user_id.data, UUID_LEN) == 0;
}

static void
check_may_inspect(const pg_uuid_t *target)
{
	AclPrincipal current;

	/* A DBA may inspect anyone, whatever identity the session carries. */
	if (pg_class_aclcheck(acl_catalog_relid("permissions"), GetUserId(), ACL_SELECT) == ACLCHECK_OK)
		return;
	current = acl_current_principal();
	if (same_principal(target, &current) || acl_current_access()->admin)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to inspect the permissions of another user"),
			 errdetail("The caller may inspect only its own identity (%s).",
					   current.anonymous ? "the public principal" : acl_uuid_text(&current.user_id)),
			 errhint("Call acl.effective_permissions() without an argument, or ask for SELECT on acl.permissions.")));
}

PG_FUNCTION_INFO_V1(acl_effective_permissions);

Datum
acl_effective_permissions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pg_uuid_t	target_storage;
	pg_uuid_t  *target = NULL;
	const AclAccess *access;
	Datum		policies;
	Oid			argtypes[1] = {UUIDARRAYOID};
	Datum		args[1];
	AclCatalogScope scope;
	int			ret;

	InitMaterializedSRF(fcinfo, 0);

	if (!PG_ARGISNULL(0))
	{
		target_storage = *PG_GETARG_UUID_P(0);
		target = &target_storage;
	}
	check_may_inspect(target);

	access = acl_access_for(target);
	if (!access->anonymous && !access->user_exists)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("user %s does not exist", acl_uuid_text(target)),
				 errhint("Pass the id of a row of acl.users, or NULL for the public principal.")));
	if (!access->anonymous && strcmp(access->status, "active") != 0)
	{
		ereport(NOTICE,
				(errmsg("user %s is %s, so no permission applies",
						acl_uuid_text(target), access->status)));
		return (Datum) 0;
	}
	/* Copy out before the cache can move under us. */
	policies = acl_uuid_array(access->policies, access->npolicies);

	acl_catalog_enter(&scope);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = policies;
	ret = SPI_execute_with_args("SELECT e.ord::integer, p.collection, p.action, p.policy,"
								"       pol.name::text, p.permissions, p.validation, p.presets,"
								"       p.fields, p.id"
								"  FROM unnest($1) WITH ORDINALITY AS e(policy, ord)"
								"  JOIN acl.permissions p ON p.policy = e.policy"
								"  JOIN acl.policies pol ON pol.id = p.policy"
								" ORDER BY e.ord, p.id",
								1, argtypes, args, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "permission lookup failed: %s", SPI_result_code_string(ret));

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		values[10];
		bool		nulls[10];

		for (int col = 0; col < 10; col++)
			values[col] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
										col + 1, &nulls[col]);
		/* tuplestore_putvalues copies the datums into the result's memory. */
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	acl_catalog_leave(&scope);
	return (Datum) 0;
}
