/*-------------------------------------------------------------------------
 *
 * lint.c
 *	  acl.lint(): advice about permissions that compile but will be slow
 *	  or surprising, one row per finding, each with a suggested fix.
 *
 * Findings:
 *	unindexed_condition	a condition on a column no index leads with: in an
 *						OR of policies, one such arm makes every reader's
 *						query scan the table;
 *	unindexed_foreign_key	a relational rule follows a key column with no
 *						index, so each probe scans the related table;
 *	not_leakproof		a rule uses an operator that is not leakproof; the
 *						planner then evaluates it before any user filter;
 *	anonymous_null		"_eq $CURRENT_USER" in a permission the public
 *						principal holds: anonymous callers match the rows
 *						whose column is NULL (Directus's semantics);
 *	stale_permission	the rule no longer compiles against the table;
 *	owner_can_disable	a role other than a superuser owns a managed table:
 *						forced row security binds it, but an owner may
 *						turn row security off or drop acl's policies;
 *	bypasses_row_security	a role that is not a superuser has BYPASSRLS:
 *						it reads every managed table unfiltered, unmasked;
 *	policy_cycle		a read rule follows a relation to a table whose read
 *						rules lead back: row security expands each policy's
 *						reads under their own policies, so PostgreSQL
 *						refuses every read of the table (42P17).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/tuplestore.h"

#include "acl.h"
#include "rule.h"

#define LINT_COLUMNS 8

typedef struct LintContext
{
	ReturnSetInfo *rsinfo;
	int64		permission_id;
	char	   *policy_name;
	Oid			collection;
	char	   *action;
	bool		public_policy;
	List	  **reads;			/* of ReadEdge: what read rules follow to */
} LintContext;

/* A read rule of `from` follows a relation to `to`. */
typedef struct ReadEdge
{
	LintContext permission;
	Oid			from;
	Oid			to;
	char	   *path;
} ReadEdge;

static void
report(LintContext *cx, const char *kind, const char *path, const char *message,
	   const char *suggestion)
{
	Datum		values[LINT_COLUMNS];
	bool		nulls[LINT_COLUMNS] = {false};

	values[0] = Int64GetDatum(cx->permission_id);
	values[1] = CStringGetTextDatum(cx->policy_name);
	values[2] = ObjectIdGetDatum(cx->collection);
	values[3] = CStringGetTextDatum(cx->action);
	values[4] = CStringGetTextDatum(kind);
	values[5] = CStringGetTextDatum(path);
	values[6] = CStringGetTextDatum(message);
	if (suggestion)
		values[7] = CStringGetTextDatum(suggestion);
	else
		nulls[7] = true;
	tuplestore_putvalues(cx->rsinfo->setResult, cx->rsinfo->setDesc, values, nulls);
}

static char *qualified(Oid relid);

/* A finding about a role or a table rather than a permission row. */
static void
report_outside(ReturnSetInfo *rsinfo, Oid collection, const char *kind, const char *message,
			   const char *suggestion)
{
	Datum		values[LINT_COLUMNS] = {0};
	bool		nulls[LINT_COLUMNS] = {true, true, false, true, false, true, false, false};

	values[2] = ObjectIdGetDatum(collection);
	nulls[2] = !OidIsValid(collection);
	values[4] = CStringGetTextDatum(kind);
	values[6] = CStringGetTextDatum(message);
	values[7] = CStringGetTextDatum(suggestion);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

static void
lint_roles(ReturnSetInfo *rsinfo)
{
	int			ret;

	ret = SPI_execute("SELECT c.oid, pg_catalog.quote_ident(r.rolname)"
					  "  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles r ON r.oid = c.relowner"
					  " WHERE NOT r.rolsuper AND EXISTS (SELECT 1 FROM pg_catalog.pg_policy p"
					  "       WHERE p.polrelid = c.oid AND p.polname = 'acl_admin')"
					  " ORDER BY c.oid::regclass::text", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_class: %s", SPI_result_code_string(ret));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		char	   *role = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);

		report_outside(rsinfo, relid, "owner_can_disable",
					   psprintf("role %s owns managed table %s and may turn its row security off", role,
								qualified(relid)),
					   psprintf("Make a role no application connects as the owner: ALTER TABLE %s OWNER TO ...;", qualified(relid)));
	}
	ret = SPI_execute("SELECT pg_catalog.quote_ident(rolname) FROM pg_catalog.pg_roles"
					  " WHERE rolbypassrls AND NOT rolsuper ORDER BY rolname", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_roles: %s", SPI_result_code_string(ret));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *role = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		report_outside(rsinfo, InvalidOid, "bypasses_row_security",
					   psprintf("role %s has BYPASSRLS: it reads every managed table unfiltered and unmasked", role),
					   psprintf("ALTER ROLE %s NOBYPASSRLS;", role));
	}
}

static char *
qualified(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/* Whether some valid index on relid has column as its first key. */
static bool
has_leading_index(Oid relid, const char *column)
{
	AttrNumber	attnum = get_attnum(relid, column);
	Oid			argtypes[2] = {OIDOID, INT2OID};
	Datum		args[2];
	int			ret;

	if (attnum <= 0)
		return false;
	args[0] = ObjectIdGetDatum(relid);
	args[1] = Int16GetDatum(attnum);
	ret = SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_index i"
								" WHERE i.indrelid = $1 AND i.indisvalid AND i.indkey[0] = $2",
								2, argtypes, args, NULL, true, 1);
	return ret == SPI_OK_SELECT && SPI_processed > 0;
}

/* Whether the type's equality (or LIKE) support function is leakproof. */
static bool
operator_leakproof(const char *sql_type, const char *oprname)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	int			ret;

	args[0] = CStringGetTextDatum(sql_type);
	args[1] = CStringGetTextDatum(oprname);
	ret = SPI_execute_with_args("SELECT p.proleakproof FROM pg_catalog.pg_operator o"
								" JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode"
								" WHERE o.oprname = $2"
								"   AND o.oprleft = $1::pg_catalog.regtype"
								"   AND o.oprright = $1::pg_catalog.regtype",
								2, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed == 0)
		return false;
	{
		bool		isnull;

		return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
}

static bool
is_like_operator(const char *op)
{
	return strstr(op, "contains") || strstr(op, "starts_with") || strstr(op, "ends_with");
}

static bool
mentions_current_user(const AclJson *value)
{
	return value && value->kind == ACL_JSON_STRING &&
		strcmp(value->text, "$CURRENT_USER") == 0;
}

static void
lint_rule(LintContext *cx, const AclRule *rule, Oid relid, int depth)
{
	const AclSchema *schema = acl_backend_schema();
	char	   *key = psprintf("%u", relid);

	acl_rule_check_depth(depth, rule->path);
	switch (rule->kind)
	{
		case ACL_RULE_AND:
		case ACL_RULE_OR:
			for (int i = 0; i < rule->nchildren; i++)
				lint_rule(cx, rule->children[i], relid, depth + 1);
			return;
		case ACL_RULE_CONDITION:
			{
				AclColumn	column;

				if (rule->function || !schema->column(schema->arg, key, rule->field, &column))
					return;
				if (is_like_operator(rule->op) && !strstr(rule->op, "starts_with"))
				{
					/* LIKE '%x' never uses a btree; only trigrams serve it. */
					bool		insensitive = strstr(rule->op, "_i") == rule->op ||
						strstr(rule->op, "_ni") == rule->op;

					report(cx, "unindexed_condition", rule->path,
						   psprintf("%s on \"%s\" compiles to LIKE '%%...': no btree index serves it, "
									"so readers holding an OR of policies scan the table for this arm",
									rule->op, rule->field),
						   psprintf("CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE INDEX ON %s USING gin (%s gin_trgm_ops);",
									qualified(relid),
									insensitive ? psprintf("lower(%s)", quote_identifier(rule->field))
									: quote_identifier(rule->field)));
				}
				else if (strcmp(rule->op, "_null") != 0 && strcmp(rule->op, "_nnull") != 0 &&
						 !has_leading_index(relid, rule->field))
					report(cx, "unindexed_condition", rule->path,
						   psprintf("no index on %s leads with column \"%s\"; readers holding an OR "
									"of policies scan the table for this arm",
									qualified(relid), rule->field),
						   strstr(rule->op, "starts_with")
						   ? psprintf("CREATE INDEX ON %s (%s text_pattern_ops);", qualified(relid),
									  quote_identifier(rule->field))
						   : psprintf("CREATE INDEX ON %s (%s);", qualified(relid),
									  quote_identifier(rule->field)));
				if (is_like_operator(rule->op))
					report(cx, "not_leakproof", rule->path,
						   psprintf("%s compiles to LIKE, which is not leakproof", rule->op),
						   "Prefer _eq, _in or _starts_with on an indexed column where the rule allows it.");
				else if ((strcmp(rule->op, "_eq") == 0 || strcmp(rule->op, "_neq") == 0 ||
						  strcmp(rule->op, "_in") == 0 || strcmp(rule->op, "_nin") == 0) &&
						 column.type != ACL_FT_ARRAY &&
						 !operator_leakproof(column.sql_type, "="))
					report(cx, "not_leakproof", rule->path,
						   psprintf("equality on %s is not leakproof", column.sql_type), NULL);
				if (cx->public_policy && strcmp(rule->op, "_eq") == 0 &&
					mentions_current_user(rule->value))
					report(cx, "anonymous_null", rule->path,
						   psprintf("the public principal holds this rule: for anonymous callers "
									"$CURRENT_USER is NULL, so rows whose \"%s\" is NULL match",
									rule->field),
						   psprintf("Add {\"%s\": {\"_nnull\": true}} to the rule, or move it to a "
									"policy attached to a role.", rule->field));
				return;
			}
		case ACL_RULE_RELATION:
			{
				AclRelation rel;

				if (!schema->relation(schema->arg, key, rule->field, rule->path, &rel))
					return;
				if (rel.kind == ACL_REL_ONE_TO_MANY)
				{
					Oid			child = (Oid) strtoul(rel.table_key, NULL, 10);

					if (!has_leading_index(child, rel.remote_column))
						report(cx, "unindexed_foreign_key", rule->path,
							   psprintf("the rule follows %s.%s, which has no index",
										qualified(child), rel.remote_column),
							   psprintf("CREATE INDEX ON %s (%s);", qualified(child),
										quote_identifier(rel.remote_column)));
				}
				else if (!has_leading_index(relid, rel.local_column))
					report(cx, "unindexed_foreign_key", rule->path,
						   psprintf("the rule follows %s.%s, which has no index",
									qualified(relid), rel.local_column),
						   psprintf("CREATE INDEX ON %s (%s);", qualified(relid),
									quote_identifier(rel.local_column)));
				if (strcmp(cx->action, "read") == 0)
				{
					ReadEdge   *edge = palloc(sizeof(ReadEdge));

					edge->permission = *cx;
					edge->from = relid;
					edge->to = (Oid) strtoul(rel.table_key, NULL, 10);
					edge->path = pstrdup(rule->path);
					*cx->reads = lappend(*cx->reads, edge);
				}
				lint_rule(cx, rule->inner, (Oid) strtoul(rel.table_key, NULL, 10), depth + 1);
				return;
			}
	}
}

/* Compiles one rule; an error becomes a stale_permission finding. */
static bool
still_compiles(LintContext *cx, Jsonb *rule)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		(void) DirectFunctionCall2(acl_compile, ObjectIdGetDatum(cx->collection),
								   PointerGetDatum(rule));
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *error;

		MemoryContextSwitchTo(oldcontext);
		error = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		report(cx, "stale_permission", "permissions", error->message,
			   "The table changed since the permission was written; rewrite or delete it.");
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcontext);
	CurrentResourceOwner = oldowner;
	return ok;
}

/* Whether the read rules lead from `from` to `to`, through any tables. */
static bool
reads_lead_to(List *reads, Oid from, Oid to)
{
	List	   *reached = list_make1_oid(from);
	ListCell   *lr;

	foreach(lr, reached)
	{
		ListCell   *le;

		if (lfirst_oid(lr) == to)
			return true;
		foreach(le, reads)
		{
			ReadEdge   *edge = lfirst(le);

			if (edge->from == lfirst_oid(lr) && !list_member_oid(reached, edge->to))
				reached = lappend_oid(reached, edge->to);
		}
	}
	return false;
}

static void
lint_read_cycles(List *reads)
{
	ListCell   *le;

	foreach(le, reads)
	{
		ReadEdge   *edge = lfirst(le);

		if (!reads_lead_to(reads, edge->to, edge->from))
			continue;
		report(&edge->permission, "policy_cycle", edge->path,
			   edge->to == edge->from
			   ? psprintf("the rule follows a relation from %s back to %s: row security reads it "
						  "under the table's own policies, so every read of %s fails with "
						  "\"infinite recursion detected in policy\" (42P17)",
						  qualified(edge->from), qualified(edge->to), qualified(edge->from))
			   : psprintf("the rule reads %s, whose read rules lead back to %s: row security "
						  "reads each under the other's policies, so every read of %s fails with "
						  "\"infinite recursion detected in policy\" (42P17)",
						  qualified(edge->to), qualified(edge->from), qualified(edge->from)),
			   "Reach the rows through a column of the row itself, or drop the relation from "
			   "one of the rules that form the cycle.");
	}
}

PG_FUNCTION_INFO_V1(acl_lint);

Datum
acl_lint(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AclCatalogScope scope;
	SPITupleTable *rows;
	uint64		nrows;
	int			ret;
	List	   *reads = NIL;

	InitMaterializedSRF(fcinfo, 0);
	acl_catalog_enter(&scope);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute("SELECT p.id, pol.name::text, p.collection, p.action, p.permissions,"
					  "       EXISTS (SELECT 1 FROM acl.access a WHERE a.policy = p.policy"
					  "                 AND a.role IS NULL AND a.\"user\" IS NULL)"
					  "  FROM acl.permissions p JOIN acl.policies pol ON pol.id = p.policy"
					  " WHERE p.permissions IS NOT NULL"
					  " ORDER BY p.id", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read acl.permissions: %s", SPI_result_code_string(ret));
	rows = SPI_tuptable;
	nrows = SPI_processed;
	for (uint64 i = 0; i < nrows; i++)
	{
		HeapTuple	tuple = rows->vals[i];
		bool		isnull;
		LintContext cx;
		Jsonb	   *rule;

		cx.rsinfo = rsinfo;
		cx.reads = &reads;
		cx.permission_id = DatumGetInt64(SPI_getbinval(tuple, rows->tupdesc, 1, &isnull));
		cx.policy_name = TextDatumGetCString(SPI_getbinval(tuple, rows->tupdesc, 2, &isnull));
		cx.collection = DatumGetObjectId(SPI_getbinval(tuple, rows->tupdesc, 3, &isnull));
		cx.action = TextDatumGetCString(SPI_getbinval(tuple, rows->tupdesc, 4, &isnull));
		rule = DatumGetJsonbPCopy(SPI_getbinval(tuple, rows->tupdesc, 5, &isnull));
		cx.public_policy = DatumGetBool(SPI_getbinval(tuple, rows->tupdesc, 6, &isnull));
		if (get_rel_name(cx.collection) == NULL)
		{
			report(&cx, "stale_permission", "collection",
				   psprintf("table with OID %u no longer exists", cx.collection),
				   "Delete the permission, or point it at the table that replaced it.");
			continue;
		}
		if (!still_compiles(&cx, rule))
			continue;
		lint_rule(&cx, acl_rule_from_json(acl_json_from_jsonb(rule), "permissions"),
				  cx.collection, 0);
	}
	lint_read_cycles(reads);
	lint_roles(rsinfo);
	SPI_finish();
	acl_catalog_leave(&scope);
	return (Datum) 0;
}
