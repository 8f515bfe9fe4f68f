/*-------------------------------------------------------------------------
 *
 * dynamic.c
 *	  Run-time values of dynamic variables with a path
 *	  ($CURRENT_USER.department, $CURRENT_ROLES.name, ...), spec §7.
 *
 * Compiled rules call acl.dynamic_value() or acl.dynamic_values() wrapped
 * in (SELECT ...), so each runs once per execution for whoever the end
 * user is then.  Like Directus, the path is read with full privileges (as
 * the owner of the acl schema), whatever the caller may read.  Unlike
 * Directus, one-to-many paths are not cut at 100 values.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "acl.h"
#include "rule.h"

/* The variable and path as the compiler wrote them. */
static AclDynamic
dynamic_from_args(FunctionCallInfo fcinfo)
{
	char	   *variable = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ArrayType  *path = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	StringInfoData full;
	AclDynamic	dyn;

	deconstruct_array(path, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	initStringInfo(&full);
	appendStringInfoString(&full, variable);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("dynamic variable path must not contain NULL")));
		appendStringInfo(&full, ".%s", TextDatumGetCString(elems[i]));
	}
	if (!acl_parse_dynamic(full.data, &dyn, full.data) || dyn.npath == 0 ||
		dyn.variable == ACL_VAR_NOW)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a dynamic variable with a path", full.data)));
	return dyn;
}

/* Where the path starts: the user, the own role, the role tree, the policies. */
static Datum
start_ids(AclVariable variable, bool *empty)
{
	const AclAccess *access = acl_current_access();

	*empty = false;
	switch (variable)
	{
		case ACL_VAR_CURRENT_USER:
			*empty = access->anonymous;
			return *empty ? (Datum) 0 : acl_uuid_array(&access->user_id, 1);
		case ACL_VAR_CURRENT_ROLE:
			*empty = !access->has_role;
			return *empty ? (Datum) 0 : acl_uuid_array(&access->role_id, 1);
		case ACL_VAR_CURRENT_ROLES:
			*empty = access->nroles == 0;
			return acl_uuid_array(access->roles, access->nroles);
		default:
			*empty = access->npolicies == 0;
			return acl_uuid_array(access->policies, access->npolicies);
	}
}

/* All values of the path, NULL when there are none (Directus: empty is null). */
static ArrayType *
read_values(AclDynamic *dyn, int *count)
{
	bool		empty;
	Datum		ids = start_ids(dyn->variable, &empty);
	char	   *sql;
	Oid			argtypes[1] = {UUIDARRAYOID};
	Datum		args[1];
	AclCatalogScope scope;
	MemoryContext caller = CurrentMemoryContext;
	Datum	   *values = NULL;
	ArrayType  *result = NULL;
	int			ret;

	*count = 0;
	if (empty)
		return NULL;
	sql = acl_dynamic_query(dyn);
	args[0] = ids;

	acl_catalog_enter(&scope);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute_with_args(sql, 1, argtypes, args, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "dynamic variable lookup failed: %s", SPI_result_code_string(ret));
	*count = (int) SPI_processed;
	if (*count > 0)
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);

		values = palloc(sizeof(Datum) * *count);
		for (int i = 0; i < *count; i++)
		{
			bool		isnull;

			values[i] = PointerGetDatum(DatumGetTextPCopy(SPI_getbinval(SPI_tuptable->vals[i],
																		 SPI_tuptable->tupdesc, 1,
																		 &isnull)));
		}
		result = construct_array(values, *count, TEXTOID, -1, false, TYPALIGN_INT);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	acl_catalog_leave(&scope);
	return result;
}

PG_FUNCTION_INFO_V1(acl_dynamic_values);

Datum
acl_dynamic_values(PG_FUNCTION_ARGS)
{
	AclDynamic	dyn = dynamic_from_args(fcinfo);
	int			count;
	ArrayType  *values = read_values(&dyn, &count);

	if (values == NULL)
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(values);
}

PG_FUNCTION_INFO_V1(acl_dynamic_value);

Datum
acl_dynamic_value(PG_FUNCTION_ARGS)
{
	AclDynamic	dyn = dynamic_from_args(fcinfo);
	int			count;
	ArrayType  *values = read_values(&dyn, &count);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (values == NULL)
		PG_RETURN_NULL();
	if (count > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("dynamic variable %s.%s has %d values where the rule compares with one",
						acl_variable_name(dyn.variable), dyn.path[0], count),
				 errhint("Compare a list-valued variable with _in or _nin.")));
	deconstruct_array(values, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	PG_RETURN_DATUM(elems[0]);
}
