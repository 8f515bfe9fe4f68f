/*-------------------------------------------------------------------------
 *
 * share.c
 *	  What a share session may read (spec §8): the shared item and the rows
 *	  reachable from it, through the intersection of the share role's and
 *	  the creator's read permissions.
 *
 * Each managed table carries one generated policy, acl_share (see
 * _sync_one() in sql/acl--0.1.sql):
 *
 *	 acl._share_reads(t) AND <reach> AND <role side> AND <creator side>
 *
 * where a side is "acl._share_is_admin(side) OR" the table's read rules,
 * each gated by acl._share_has_policy(side, policy) and
 * compiled with the side's dynamic variables.  As in Directus, each side's
 * permissions are OR-merged and the two sides ANDed, so a share has one
 * rule and one field list per table: fields are the intersection of the two
 * sides' unions, a row-independent test (acl._share_field) that the column
 * masks of enforce.c add.
 *
 * Reach is structural: the item's row in the shared table, rows of tables
 * whose foreign key points at a reachable row (one-to-many, followed to any
 * depth without visiting a table twice on one path), and rows a reachable
 * row points at (many-to-one, a leaf: Directus follows those further only
 * through alias fields SQL does not have).  Only tables and key columns the
 * share may read are followed, as Directus reduces its schema first.  The
 * reachable key values are computed once per statement, as the acl owner
 * so that no table's row security is consulted inside another's (which
 * would otherwise recurse).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "acl.h"

/* Paths longer than this, or more of them, are not followed (fail closed). */
#define SHARE_MAX_DEPTH 5
#define SHARE_MAX_PATHS 256

/* The two sides of a share, built once per statement. */
static struct
{
	bool		valid;
	AclCacheScope scope;
	pg_uuid_t	share;
	MemoryContext cxt;
	AclAccess	role;
	AclAccess	creator;
}			sides = {false};

static const AclShareSession *
current_share(void)
{
	return acl_current_principal().share;
}

static void
build_sides(const AclShareSession *session)
{
	AclAccess	creator_copy;

	if (sides.valid && acl_cache_scope_valid(&sides.scope) &&
		acl_uuid_equal(&sides.share, &session->share))
		return;
	sides.valid = false;
	if (sides.cxt == NULL)
		sides.cxt = AllocSetContextCreate(TopMemoryContext, "acl share sides",
										  ALLOCSET_SMALL_SIZES);
	MemoryContextReset(sides.cxt);
	sides.scope = acl_cache_scope_now();
	acl_load_role_access(session->has_role ? &session->role : NULL, &sides.role, sides.cxt);
	acl_copy_access(acl_access_for(&session->creator), &creator_copy, sides.cxt);
	sides.creator = creator_copy;
	sides.share = session->share;
	sides.valid = true;
}

/* The access of one side of the current share; NULL without a share. */
const AclAccess *
acl_share_side_access(const char *side)
{
	const AclShareSession *session = current_share();

	if (session == NULL)
		return NULL;
	build_sides(session);
	if (strcmp(side, "role") == 0)
		return &sides.role;
	if (strcmp(side, "creator") == 0)
		return &sides.creator;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown share side \"%s\"", side),
			 errhint("The sides of a share are \"role\" and \"creator\".")));
	return NULL;				/* keep compiler quiet */
}

static bool
side_grants(const AclAccess *access, Oid relid, const char *column)
{
	return access->admin || acl_table_grants(relid, 'r', access, column);
}

/* Both sides, already built, read relid (and column, unless NULL). */
static bool
sides_grant(Oid relid, const char *column)
{
	return side_grants(&sides.role, relid, column) && side_grants(&sides.creator, relid, column);
}

/* The same for the current share; false without one. */
static bool
share_grants(Oid relid, const char *column)
{
	const AclShareSession *session = current_share();

	if (session == NULL)
		return false;
	build_sides(session);
	return sides_grant(relid, column);
}

PG_FUNCTION_INFO_V1(acl_share_reads);

/* acl._share_reads(tbl regclass): the gate of acl_share. */
Datum
acl_share_reads(PG_FUNCTION_ARGS)
{
	acl_require_preloaded();
	PG_RETURN_BOOL(acl_share_reads_relation(PG_GETARG_OID(0)));
}

PG_FUNCTION_INFO_V1(acl_share_reads_once);

Datum
acl_share_reads_once(PG_FUNCTION_ARGS)
{
	return acl_evaluate_once(fcinfo, acl_share_reads);
}

bool
acl_share_reads_relation(Oid relid)
{
	return share_grants(relid, NULL);
}

PG_FUNCTION_INFO_V1(acl_share_field);

/* acl._share_field(tbl regclass, column text): a share's column mask. */
Datum
acl_share_field(PG_FUNCTION_ARGS)
{
	char	   *column = text_to_cstring(PG_GETARG_TEXT_PP(1));

	PG_RETURN_BOOL(share_grants(PG_GETARG_OID(0), column));
}

PG_FUNCTION_INFO_V1(acl_share_field_once);

Datum
acl_share_field_once(PG_FUNCTION_ARGS)
{
	return acl_evaluate_once(fcinfo, acl_share_field);
}

PG_FUNCTION_INFO_V1(acl_share_is_admin);

Datum
acl_share_is_admin(PG_FUNCTION_ARGS)
{
	const AclAccess *access = acl_share_side_access(text_to_cstring(PG_GETARG_TEXT_PP(0)));

	PG_RETURN_BOOL(access != NULL && access->admin);
}

PG_FUNCTION_INFO_V1(acl_share_is_admin_once);

Datum
acl_share_is_admin_once(PG_FUNCTION_ARGS)
{
	return acl_evaluate_once(fcinfo, acl_share_is_admin);
}

PG_FUNCTION_INFO_V1(acl_share_has_policy);

Datum
acl_share_has_policy(PG_FUNCTION_ARGS)
{
	const AclAccess *access = acl_share_side_access(text_to_cstring(PG_GETARG_TEXT_PP(0)));

	PG_RETURN_BOOL(access != NULL && acl_access_holds(access, PG_GETARG_UUID_P(1)));
}

PG_FUNCTION_INFO_V1(acl_share_has_policy_once);

Datum
acl_share_has_policy_once(PG_FUNCTION_ARGS)
{
	return acl_evaluate_once(fcinfo, acl_share_has_policy);
}

PG_FUNCTION_INFO_V1(acl_current_share);

/* acl.current_share(): the share of this session's token, or NULL. */
Datum
acl_current_share(PG_FUNCTION_ARGS)
{
	const AclShareSession *session = current_share();
	pg_uuid_t  *copy;

	if (session == NULL)
		PG_RETURN_NULL();
	copy = palloc(sizeof(pg_uuid_t));
	*copy = session->share;
	PG_RETURN_UUID_P(copy);
}

/* ------------------------------------------------------------------------
 * Reach.
 * ---------------------------------------------------------------------- */

typedef struct ForeignKey
{
	Oid			child;			/* the referencing table */
	char	   *column;
	Oid			parent;			/* the referenced table */
	char	   *key;
} ForeignKey;

typedef struct Reach
{
	int			nkeys;
	ForeignKey *keys;
	Oid			target;			/* the table and column asked about */
	const char *column;
	int			paths;
	int			alias;
	StringInfoData values;		/* UNION of queries of the column's values */
} Reach;

static char *
qualified(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/* Single-column foreign keys between tables a share may read, by columns it may read. */
static void
load_keys(Reach *reach)
{
	MemoryContext caller = CurrentMemoryContext;
	int			ret;

	ret = SPI_execute("SELECT c.conrelid, a.attname, c.confrelid, fa.attname"
					  "  FROM pg_catalog.pg_constraint c"
					  "  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
					  "  JOIN pg_catalog.pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1]"
					  " WHERE c.contype = 'f' AND pg_catalog.cardinality(c.conkey) = 1 AND c.conparentid = 0"
					  "   AND EXISTS (SELECT 1 FROM pg_catalog.pg_policy p"
					  "                WHERE p.polrelid = c.conrelid AND p.polname = 'acl_share')"
					  "   AND EXISTS (SELECT 1 FROM pg_catalog.pg_policy p"
					  "                WHERE p.polrelid = c.confrelid AND p.polname = 'acl_share')"
					  " ORDER BY c.oid", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read foreign keys: %s", SPI_result_code_string(ret));
	reach->nkeys = 0;
	reach->keys = MemoryContextAlloc(caller, sizeof(ForeignKey) * Max(SPI_processed, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		ForeignKey *fk = &reach->keys[reach->nkeys];
		MemoryContext spi = MemoryContextSwitchTo(caller);

		fk->child = DatumGetObjectId(SPI_getbinval(tuple, desc, 1, &isnull));
		fk->column = SPI_getvalue(tuple, desc, 2);
		fk->parent = DatumGetObjectId(SPI_getbinval(tuple, desc, 3, &isnull));
		fk->key = SPI_getvalue(tuple, desc, 4);
		MemoryContextSwitchTo(spi);
		if (sides_grant(fk->child, fk->column) && sides_grant(fk->parent, fk->key))
			reach->nkeys++;
	}
}

static void
add_values(Reach *reach, const char *query)
{
	if (reach->paths >= SHARE_MAX_PATHS)
		return;
	appendStringInfo(&reach->values, "%s(%s)", reach->paths ? " UNION " : "", query);
	reach->paths++;
}

/*
 * Visits table, whose reachable rows are "FROM <table> <alias> WHERE
 * <where>", and the tables reachable from it.
 */
static void
visit(Reach *reach, Oid table, const char *alias, const char *where, List *path)
{
	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	if (list_length(path) > SHARE_MAX_DEPTH || reach->paths >= SHARE_MAX_PATHS)
		return;
	path = lappend_oid(list_copy(path), table);
	for (int i = 0; i < reach->nkeys; i++)
	{
		const ForeignKey *fk = &reach->keys[i];

		/* Many-to-one: the rows this table's reachable rows point at. */
		if (fk->child == table && fk->parent == reach->target &&
			strcmp(fk->key, reach->column) == 0)
			add_values(reach, psprintf("SELECT %s.%s FROM %s %s WHERE %s", alias,
									   quote_identifier(fk->column), qualified(table), alias, where));
		/* One-to-many: rows pointing at this table's reachable rows. */
		if (fk->parent == table && !list_member_oid(path, fk->child))
		{
			char	   *values = psprintf("SELECT %s.%s FROM %s %s WHERE %s", alias,
										  quote_identifier(fk->key), qualified(table), alias, where);
			char	   *child_alias = psprintf("r%d", ++reach->alias);

			if (fk->child == reach->target && strcmp(fk->column, reach->column) == 0)
				add_values(reach, values);
			visit(reach, fk->child, child_alias,
				  psprintf("%s.%s IN (%s)", child_alias, quote_identifier(fk->column), values),
				  path);
		}
	}
}

/* The single-column primary key of relid, or NULL. */
static char *
primary_key(Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};
	char	   *result = NULL;
	int			ret;

	ret = SPI_execute_with_args("SELECT a.attname FROM pg_catalog.pg_index i"
								"  JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid"
								"   AND a.attnum = i.indkey[0]"
								" WHERE i.indrelid = $1 AND i.indisprimary AND i.indnatts = 1",
								1, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read the primary key: %s", SPI_result_code_string(ret));
	if (SPI_processed == 1)
		result = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	return result;
}

PG_FUNCTION_INFO_V1(acl_share_keys);

/* A type whose casts could run someone else's code: a domain's checks. */
static const char *
base_type_name(Oid type)
{
	return format_type_be(getBaseType(type));
}

/*
 * acl._share_keys(NULL::type, tbl regclass, column text) returns type[]:
 * the values of tbl.column that rows reachable from the current share's
 * item hold; empty without a share.
 *
 * The reach query runs as the acl owner, so nothing in it may run code the
 * caller chose: it compares and casts only base types (a domain's CHECK
 * could call any function) and returns text.  The values become the
 * column's type afterwards, with the caller's own rights.
 */
Datum
acl_share_keys(PG_FUNCTION_ARGS)
{
	Oid			elemtype = get_fn_expr_argtype(fcinfo->flinfo, 0);
	const AclShareSession *session = current_share();
	Reach		reach = {0};
	AclCatalogScope scope;
	Datum	   *texts = NULL;
	int			ntexts = 0;
	Datum	   *values;
	Oid			input;
	Oid			ioparam;
	AttrNumber	attnum;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(elemtype));
	reach.target = PG_GETARG_OID(1);
	reach.column = text_to_cstring(PG_GETARG_TEXT_PP(2));
	attnum = get_attnum(reach.target, reach.column);
	if (attnum == InvalidAttrNumber || get_atttype(reach.target, attnum) != elemtype)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("acl._share_keys needs the type of column \"%s\" of table %s",
						reach.column, get_rel_name(reach.target) ? get_rel_name(reach.target) : "?"),
				 errhint("It is called by generated acl_share policies; do not call it directly.")));
	if (session == NULL)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(elemtype));
	build_sides(session);
	if (!sides_grant(session->collection, NULL))
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(elemtype));
	initStringInfo(&reach.values);

	acl_catalog_enter(&scope);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		char	   *pk = primary_key(session->collection);
		Oid			argtypes[1] = {TEXTOID};
		Datum		args[1];
		int			ret;

		if (pk != NULL && sides_grant(session->collection, pk))
		{
			char	   *pktype = pstrdup(base_type_name(get_atttype(session->collection,
																	  get_attnum(session->collection, pk))));
			char	   *where = psprintf("r0.%s = CAST($1 AS %s)", quote_identifier(pk), pktype);

			load_keys(&reach);
			if (session->collection == reach.target && strcmp(pk, reach.column) == 0)
				add_values(&reach, psprintf("SELECT CAST($1 AS %s)", pktype));
			visit(&reach, session->collection, "r0", where, NIL);
		}
		if (reach.paths > 0)
		{
			args[0] = CStringGetTextDatum(session->item);
			ret = SPI_execute_with_args(psprintf("SELECT DISTINCT CAST(v AS %s)::pg_catalog.text"
												 "  FROM (%s) s(v) WHERE v IS NOT NULL",
												 base_type_name(elemtype), reach.values.data),
										1, argtypes, args, NULL, true, 0);
			if (ret != SPI_OK_SELECT)
				elog(ERROR, "could not read the rows a share reaches: %s", SPI_result_code_string(ret));
			/* SPI_palloc and SPI_datumTransfer copy out of SPI's memory. */
			ntexts = (int) SPI_processed;
			texts = SPI_palloc(sizeof(Datum) * Max(ntexts, 1));
			for (int i = 0; i < ntexts; i++)
			{
				bool		isnull;

				texts[i] = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
														   1, &isnull), false, -1);
			}
		}
	}
	SPI_finish();
	acl_catalog_leave(&scope);

	/* Back in the caller's memory and rights: the column's own type. */
	getTypeInputInfo(elemtype, &input, &ioparam);
	values = palloc(sizeof(Datum) * Max(ntexts, 1));
	for (int i = 0; i < ntexts; i++)
		values[i] = OidInputFunctionCall(input, TextDatumGetCString(texts[i]), ioparam, -1);
	{
		int16		typlen;
		bool		typbyval;
		char		typalign;

		get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
		PG_RETURN_ARRAYTYPE_P(construct_array(values, ntexts, elemtype, typlen, typbyval, typalign));
	}
}
