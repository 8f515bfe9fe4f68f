/*-------------------------------------------------------------------------
 *
 * dynamic.c
 *	  Run-time values of dynamic variables with a path
 *	  ($CURRENT_USER.department, $CURRENT_ROLES.name, ...), spec §7.
 *
 * Compiled rules call acl.dynamic_value() or acl.dynamic_values(), which
 * the planner hook wraps in (SELECT ...) (gates.c), so each runs once per
 * execution for whoever the end user is then.  Like Directus, the path is read with full privileges (as
 * the owner of the acl schema), whatever the caller may read.  Unlike
 * Directus, one-to-many paths are not cut at 100 values.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

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

/*
 * Whose variables: the end user's, or while acl._share_value() runs, one
 * side of the current share's.
 */
static const AclAccess *side_access = NULL;

/* Where the path starts: the user, the own role, the role tree, the policies. */
static Datum
start_ids(AclVariable variable, bool *empty)
{
	const AclAccess *access = side_access ? side_access : acl_current_access();

	*empty = false;
	switch (variable)
	{
		case ACL_VAR_CURRENT_USER:
			*empty = access->anonymous || access->role_only;
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

/*
 * Paths are read with the acl owner's privileges, so they must not become a
 * way around table privileges: a path is readable only if some permission,
 * validation or preset in the catalog uses it (an administrator wrote it),
 * or the caller may read acl.permissions anyway.  The set is cached until
 * the catalog changes.
 */
static List *authorised_paths = NIL;
static uint64 authorised_generation = 0;

static bool
path_authorised(const char *full)
{
	ListCell   *lc;

	if (pg_class_aclcheck(acl_catalog_relid("permissions"), GetUserId(), ACL_SELECT) == ACLCHECK_OK)
		return true;
	if (authorised_generation != acl_catalog_generation)
	{
		AclCatalogScope scope;
		MemoryContext cxt = acl_cache_context();
		uint64		generation = acl_catalog_generation;
		int			ret;

		list_free_deep(authorised_paths);
		authorised_paths = NIL;
		acl_catalog_enter(&scope);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		ret = SPI_execute("SELECT DISTINCT m[1] FROM acl.permissions p,"
						  " regexp_matches(concat(p.permissions::text, ' ', p.validation::text, ' ',"
						  "                       p.presets::text),"
						  "                '\"(\\$CURRENT_[A-Z]+\\.[^\"]+)\"', 'g') AS m",
						  true, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "could not read the paths permissions use: %s", SPI_result_code_string(ret));
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			authorised_paths = lappend(authorised_paths,
									   SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
			MemoryContextSwitchTo(old);
		}
		SPI_finish();
		acl_catalog_leave(&scope);
		authorised_generation = generation;
	}
	foreach(lc, authorised_paths)
		if (strcmp((char *) lfirst(lc), full) == 0)
			return true;
	return false;
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
	{
		StringInfoData full;

		initStringInfo(&full);
		appendStringInfoString(&full, acl_variable_name(dyn->variable));
		for (int i = 0; i < dyn->npath; i++)
			appendStringInfo(&full, ".%s", dyn->path[i]);
		if (!path_authorised(full.data))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("no permission uses the dynamic variable %s", full.data),
					 errdetail("Paths are read with the acl owner's privileges, so only those an "
							   "administrator wrote into a permission can be read."),
					 errhint("Use the path in a permission, validation or preset first.")));
	}
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

/* The one value of a variable a rule compares with a scalar. */
static Datum
single_value(ArrayType *values, int count, const char *name)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (count > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("dynamic variable %s has %d values where the rule compares with one",
						name, count),
				 errhint("Compare a list-valued variable with _in or _nin.")));
	deconstruct_array(values, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	return elems[0];
}

Datum
acl_dynamic_value(PG_FUNCTION_ARGS)
{
	AclDynamic	dyn = dynamic_from_args(fcinfo);
	int			count;
	ArrayType  *values = read_values(&dyn, &count);

	if (values == NULL)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(single_value(values, count,
								 psprintf("%s.%s", acl_variable_name(dyn.variable), dyn.path[0])));
}

/*
 * acl._share_value[s](side, variable, path): a variable of one side of the
 * current share (the share role's, with no user, or the creator's), for
 * the share's copies of read rules.  Without a share, NULL.
 */
static ArrayType *
share_values(FunctionCallInfo fcinfo, int *count)
{
	const AclAccess *access = acl_share_side_access(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	char	   *variable = text_to_cstring(PG_GETARG_TEXT_PP(1));
	ArrayType  *path = PG_GETARG_ARRAYTYPE_P(2);
	ArrayType  *result = NULL;

	*count = 0;
	if (access == NULL)
		return NULL;
	if (ArrayGetNItems(ARR_NDIM(path), ARR_DIMS(path)) == 0)
	{
		AclDynamic	dyn;
		bool		empty;
		Datum		ids;

		if (!acl_parse_dynamic(variable, &dyn, variable) || dyn.variable == ACL_VAR_NOW)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"%s\" is not a dynamic variable of a share", variable)));
		side_access = access;
		PG_TRY();
		{
			ids = start_ids(dyn.variable, &empty);
		}
		PG_FINALLY();
		{
			side_access = NULL;
		}
		PG_END_TRY();
		if (empty)
			return NULL;
		{
			Datum	   *elems;
			bool	   *nulls;

			deconstruct_array(DatumGetArrayTypeP(ids), UUIDOID, UUID_LEN, false, TYPALIGN_CHAR,
							  &elems, &nulls, count);
			for (int i = 0; i < *count; i++)
				elems[i] = DirectFunctionCall1(textin, DirectFunctionCall1(uuid_out, elems[i]));
			return construct_array(elems, *count, TEXTOID, -1, false, TYPALIGN_INT);
		}
	}
	{
		LOCAL_FCINFO(inner, 2);
		AclDynamic	dyn;

		InitFunctionCallInfoData(*inner, NULL, 2, InvalidOid, NULL, NULL);
		inner->args[0] = fcinfo->args[1];
		inner->args[1] = fcinfo->args[2];
		dyn = dynamic_from_args(inner);
		side_access = access;
		PG_TRY();
		{
			result = read_values(&dyn, count);
		}
		PG_FINALLY();
		{
			side_access = NULL;
		}
		PG_END_TRY();
	}
	return result;
}

PG_FUNCTION_INFO_V1(acl_share_values);

Datum
acl_share_values(PG_FUNCTION_ARGS)
{
	int			count;
	ArrayType  *values = share_values(fcinfo, &count);

	if (values == NULL)
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(values);
}

PG_FUNCTION_INFO_V1(acl_share_value);

Datum
acl_share_value(PG_FUNCTION_ARGS)
{
	int			count;
	ArrayType  *values = share_values(fcinfo, &count);

	if (values == NULL)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(single_value(values, count, text_to_cstring(PG_GETARG_TEXT_PP(1))));
}

static AclJson *
json_from_uuids(const pg_uuid_t *ids, int n)
{
	AclJson    *array = acl_json_new(ACL_JSON_ARRAY, NULL);

	array->count = n;
	array->items = palloc(sizeof(AclJson *) * Max(n, 1));
	for (int i = 0; i < n; i++)
		array->items[i] = acl_json_new(ACL_JSON_STRING, acl_uuid_text(&ids[i]));
	return array;
}

/* $NOW as ISO 8601 in UTC, the form payload validation compares. */
static char *
now_text(const char *offset)
{
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	struct pg_tm tm;
	fsec_t		fsec;

	if (offset)
		now = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
													  TimestampTzGetDatum(now),
													  DirectFunctionCall3(interval_in,
																		  CStringGetDatum(offset),
																		  ObjectIdGetDatum(InvalidOid),
																		  Int32GetDatum(-1))));
	if (timestamp2tm(now, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("$NOW(%s) is out of range", offset ? offset : "")));
	return psprintf("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year, tm.tm_mon, tm.tm_mday,
					tm.tm_hour, tm.tm_min, tm.tm_sec, (int) fsec);
}

/* The current value of one dynamic variable, as JSON. */
static AclJson *
resolve_variable(AclDynamic *dyn)
{
	const AclAccess *access;

	if (dyn->variable == ACL_VAR_NOW)
		return acl_json_new(ACL_JSON_STRING, now_text(dyn->now_offset));
	if (dyn->npath > 0)
	{
		int			count;
		ArrayType  *values = read_values(dyn, &count);
		Datum	   *elems;
		bool	   *nulls;
		int			n;
		AclJson    *array;

		if (values == NULL)
			return acl_json_new(ACL_JSON_NULL, NULL);
		deconstruct_array(values, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
		if (n == 1 && dyn->variable != ACL_VAR_CURRENT_ROLES &&
			dyn->variable != ACL_VAR_CURRENT_POLICIES)
			return acl_json_new(ACL_JSON_STRING, TextDatumGetCString(elems[0]));
		array = acl_json_new(ACL_JSON_ARRAY, NULL);
		array->count = n;
		array->items = palloc(sizeof(AclJson *) * n);
		for (int i = 0; i < n; i++)
			array->items[i] = acl_json_new(ACL_JSON_STRING, TextDatumGetCString(elems[i]));
		return array;
	}
	access = acl_current_access();
	switch (dyn->variable)
	{
		case ACL_VAR_CURRENT_USER:
			return access->anonymous ? acl_json_new(ACL_JSON_NULL, NULL)
				: acl_json_new(ACL_JSON_STRING, acl_uuid_text(&access->user_id));
		case ACL_VAR_CURRENT_ROLE:
			return !access->has_role ? acl_json_new(ACL_JSON_NULL, NULL)
				: acl_json_new(ACL_JSON_STRING, acl_uuid_text(&access->role_id));
		case ACL_VAR_CURRENT_ROLES:
			return json_from_uuids(access->roles, access->nroles);
		default:
			/* Directus: null when there are no policies. */
			return access->npolicies == 0 ? acl_json_new(ACL_JSON_NULL, NULL)
				: json_from_uuids(access->policies, access->npolicies);
	}
}

/*
 * Replaces every dynamic variable in a JSON document (a validation rule's
 * values, a presets object) by its value for the current end user.  In an
 * array, list values are flattened in (spec §6.1).
 */
AclJson *
acl_resolve_dynamic(AclJson *value, const char *path)
{
	AclDynamic	dyn;

	switch (value->kind)
	{
		case ACL_JSON_STRING:
			if (acl_parse_dynamic(value->text, &dyn, path))
				return resolve_variable(&dyn);
			return value;
		case ACL_JSON_ARRAY:
			{
				AclJson    *out = acl_json_new(ACL_JSON_ARRAY, NULL);
				int			cap = Max(value->count, 1);

				out->items = palloc(sizeof(AclJson *) * cap);
				for (int i = 0; i < value->count; i++)
				{
					AclJson    *item = acl_resolve_dynamic(value->items[i], path);

					if (item->kind == ACL_JSON_ARRAY && value->items[i]->kind == ACL_JSON_STRING)
					{
						cap += item->count;
						out->items = repalloc(out->items, sizeof(AclJson *) * cap);
						for (int j = 0; j < item->count; j++)
							out->items[out->count++] = item->items[j];
					}
					else
						out->items[out->count++] = item;
				}
				return out;
			}
		case ACL_JSON_OBJECT:
			for (int i = 0; i < value->count; i++)
				value->items[i] = acl_resolve_dynamic(value->items[i],
													  psprintf("%s.%s", path, value->keys[i]));
			return value;
		default:
			return value;
	}
}

PG_FUNCTION_INFO_V1(acl_resolve);

/* acl.resolve(value jsonb) returns jsonb: dynamic variables replaced. */
Datum
acl_resolve(PG_FUNCTION_ARGS)
{
	AclJson    *json = acl_json_from_jsonb(PG_GETARG_JSONB_P(0));
	StringInfoData out;

	initStringInfo(&out);
	acl_json_append(&out, acl_resolve_dynamic(json, "value"));
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(out.data)));
}
