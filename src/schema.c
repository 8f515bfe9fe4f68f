/*-------------------------------------------------------------------------
 *
 * schema.c
 *	  The live schema as the rule compiler sees it (AclSchema): column
 *	  types from the syscache, relations from foreign keys, values checked
 *	  by the type's own input function.
 *
 * Relations: a many-to-one is followed through a single-column foreign-key
 * column ({"author": {...}}); a one-to-many through the name of the table
 * that references this one ({"comments": {...}}), or "table.column" when
 * that table has several keys to this one.  Composite and ambiguous keys
 * are refused with a hint.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "parser/parse_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

#include "acl.h"
#include "rule.h"

static Oid
table_oid(const char *table_key)
{
	return (Oid) strtoul(table_key, NULL, 10);
}

static char *
key_of(Oid relid)
{
	return psprintf("%u", relid);
}

static char *
qualified_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

static char *
type_name_of(Oid typid)
{
	HeapTuple	tp = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	char	   *name;

	if (!HeapTupleIsValid(tp))
		elog(ERROR, "cache lookup failed for type %u", typid);
	name = pstrdup(NameStr(((Form_pg_type) GETSTRUCT(tp))->typname));
	ReleaseSysCache(tp);
	return name;
}

static void
classify_type(Oid typid, AclColumn *out)
{
	Oid			base = getBaseType(typid);
	char		category;
	bool		preferred;
	char	   *typname = type_name_of(base);

	out->sql_type = format_type_be_qualified(base);
	out->element_type = NULL;
	out->is_enum = false;
	out->not_null = false;
	get_type_category_preferred(base, &category, &preferred);

	if (base == UUIDOID)
		out->type = ACL_FT_UUID;
	else if (base == JSONOID || base == JSONBOID)
		out->type = ACL_FT_JSON;
	else if (base == BYTEAOID)
		out->type = ACL_FT_BINARY;
	else if (base == DATEOID)
		out->type = ACL_FT_DATE;
	else if (base == TIMEOID || base == TIMETZOID)
		out->type = ACL_FT_TIME;
	else if (base == TIMESTAMPOID || base == TIMESTAMPTZOID)
		out->type = ACL_FT_DATETIME;
	else if (strcmp(typname, "geometry") == 0 || strcmp(typname, "geography") == 0)
		out->type = ACL_FT_GEOMETRY;
	else if (category == TYPCATEGORY_STRING)
		out->type = ACL_FT_STRING;
	else if (category == TYPCATEGORY_NUMERIC)
		out->type = ACL_FT_NUMBER;
	else if (category == TYPCATEGORY_BOOLEAN)
		out->type = ACL_FT_BOOLEAN;
	else if (category == TYPCATEGORY_ENUM)
	{
		out->type = ACL_FT_STRING;
		out->is_enum = true;
	}
	else if (category == TYPCATEGORY_ARRAY)
	{
		out->type = ACL_FT_ARRAY;
		out->element_type = format_type_be_qualified(get_element_type(base));
	}
	else
		out->type = ACL_FT_OTHER;
}

static bool
schema_column(void *arg, const char *table_key, const char *name, AclColumn *out)
{
	HeapTuple	tp = SearchSysCacheAttName(table_oid(table_key), name);
	Form_pg_attribute att;

	if (!HeapTupleIsValid(tp))
		return false;
	att = (Form_pg_attribute) GETSTRUCT(tp);
	if (att->attnum <= 0)
	{
		ReleaseSysCache(tp);
		return false;			/* system columns are not fields */
	}
	out->name = pstrdup(name);
	classify_type(att->atttypid, out);
	out->not_null = att->attnotnull;
	ReleaseSysCache(tp);
	return true;
}

/* Many-to-one: name is a column of relid with a single-column foreign key. */
static bool
many_to_one(Oid relid, const char *name, const char *path, AclRelation *out)
{
	AttrNumber	attnum = get_attnum(relid, name);
	Relation	rel;
	List	   *fkeys;
	ListCell   *lc;
	int			found = 0;
	bool		composite = false;

	if (attnum <= 0)
		return false;
	rel = table_open(relid, AccessShareLock);
	fkeys = RelationGetFKeyList(rel);
	foreach(lc, fkeys)
	{
		ForeignKeyCacheInfo *fk = lfirst(lc);
		bool		uses = false;

		for (int i = 0; i < fk->nkeys; i++)
			uses |= (fk->conkey[i] == attnum);
		if (!uses)
			continue;
		if (fk->nkeys > 1)
		{
			composite = true;
			continue;
		}
		if (found > 0 && (table_oid(out->table_key) != fk->confrelid ||
						  strcmp(out->remote_column, get_attname(fk->confrelid, fk->confkey[0], false)) != 0))
			acl_rule_error(ACL_RULE_BAD_RULE, path,
						   psprintf("column \"%s\" has several foreign keys to different tables", name),
						   NULL, "Keep one foreign key on the column, so that the path has one meaning.");
		out->kind = ACL_REL_MANY_TO_ONE;
		out->table = qualified_name(fk->confrelid);
		out->table_key = key_of(fk->confrelid);
		out->local_column = pstrdup(name);
		out->remote_column = get_attname(fk->confrelid, fk->confkey[0], false);
		found++;
	}
	table_close(rel, AccessShareLock);
	if (found == 0 && composite)
		acl_rule_error(ACL_RULE_BAD_RULE, path,
					   psprintf("column \"%s\" is part of a composite foreign key", name),
					   NULL, "Rules follow single-column foreign keys only; add a single-column key "
					   "(for example on a surrogate id) to follow this relation.");
	return found > 0;
}

/* One-to-many: name is "table" or "table.column" of a table referencing relid. */
static bool
one_to_many(Oid relid, const char *name, const char *path, AclRelation *out)
{
	Relation	conrel = table_open(ConstraintRelationId, AccessShareLock);
	SysScanDesc scan = systable_beginscan(conrel, InvalidOid, false, NULL, 0, NULL);
	HeapTuple	tup;
	const char *dot = strrchr(name, '.');
	char	   *want_table = dot ? pnstrdup(name, dot - name) : pstrdup(name);
	const char *want_column = dot ? dot + 1 : NULL;
	int			found = 0;
	bool		composite = false;
	StringInfoData candidates;

	initStringInfo(&candidates);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);
		Datum		conkey;
		Datum		confkey;
		bool		isnull;
		Datum	   *cols;
		Datum	   *fcols;
		int			ncols;
		int			nfcols;
		char	   *colname;

		if (con->contype != CONSTRAINT_FOREIGN || con->confrelid != relid)
			continue;
		if (strcmp(get_rel_name(con->conrelid), want_table) != 0)
			continue;
		conkey = heap_getattr(tup, Anum_pg_constraint_conkey, RelationGetDescr(conrel), &isnull);
		confkey = heap_getattr(tup, Anum_pg_constraint_confkey, RelationGetDescr(conrel), &isnull);
		deconstruct_array(DatumGetArrayTypeP(conkey), INT2OID, 2, true, TYPALIGN_SHORT,
						  &cols, NULL, &ncols);
		deconstruct_array(DatumGetArrayTypeP(confkey), INT2OID, 2, true, TYPALIGN_SHORT,
						  &fcols, NULL, &nfcols);
		if (ncols != 1)
		{
			composite = true;
			continue;
		}
		colname = get_attname(con->conrelid, DatumGetInt16(cols[0]), false);
		if (want_column && strcmp(colname, want_column) != 0)
			continue;
		appendStringInfo(&candidates, "%s\"%s.%s\"", found ? ", " : "", want_table, colname);
		out->kind = ACL_REL_ONE_TO_MANY;
		out->table = qualified_name(con->conrelid);
		out->table_key = key_of(con->conrelid);
		out->remote_column = colname;
		out->local_column = get_attname(relid, DatumGetInt16(fcols[0]), false);
		found++;
	}
	systable_endscan(scan);
	table_close(conrel, AccessShareLock);

	if (found > 1)
		acl_rule_error(ACL_RULE_BAD_RULE, path,
					   psprintf("\"%s\" references this table through several foreign keys", name),
					   psprintf("Candidates: %s.", candidates.data),
					   "Name the relation as \"table.column\" to say which key to follow.");
	if (found == 0 && composite)
		acl_rule_error(ACL_RULE_BAD_RULE, path,
					   psprintf("\"%s\" references this table through a composite foreign key", name),
					   NULL, "Rules follow single-column foreign keys only.");
	return found == 1;
}

static bool
schema_relation(void *arg, const char *table_key, const char *name, const char *path,
				AclRelation *out)
{
	Oid			relid = table_oid(table_key);

	if (many_to_one(relid, name, path, out))
		return true;
	if (get_attnum(relid, name) > 0)
		acl_rule_error(ACL_RULE_BAD_RULE, path,
					   psprintf("column \"%s\" has no foreign key, so the rule cannot follow it", name),
					   NULL, psprintf("Compare the column itself: {\"%s\": {\"_eq\": ...}}.", name));
	return one_to_many(relid, name, path, out);
}

static const char *schema_postgis_schema(void *arg);

/* Whether the type's input function takes text; errors are caught in a subtransaction. */
static bool
schema_accepts(void *arg, const char *sql_type, const char *text)
{
	Oid			typid;
	int32		typmod;
	Oid			input;
	Oid			ioparam;
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool ok = true;

	bool		geojson = strcmp(sql_type, "geojson") == 0;

	if (!geojson)
	{
		parseTypeString(sql_type, &typid, &typmod, false);
		getTypeInputInfo(typid, &input, &ioparam);
	}
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		if (geojson)
		{
			Oid			argtypes[1] = {TEXTOID};
			Datum		args[1] = {CStringGetTextDatum(text)};

			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "SPI_connect failed");
			(void) SPI_execute_with_args(psprintf("SELECT %s.ST_GeomFromGeoJSON($1)",
												  schema_postgis_schema(arg)),
										 1, argtypes, args, NULL, true, 1);
			SPI_finish();
		}
		else
			(void) OidInputFunctionCall(input, unconstify(char *, text), ioparam, typmod);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcontext);
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcontext);
	CurrentResourceOwner = oldowner;
	return ok;
}

static const char *
schema_postgis_schema(void *arg)
{
	Oid			ext = get_extension_oid("postgis", true);
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			nsp = InvalidOid;

	if (!OidIsValid(ext))
		return NULL;
	/* get_extension_schema() is static before PostgreSQL 16. */
	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(ext));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		nsp = ((Form_pg_extension) GETSTRUCT(tuple))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return OidIsValid(nsp) ? quote_identifier(get_namespace_name(nsp)) : NULL;
}

/*
 * Walks a dynamic variable's path from acl.users, acl.roles or
 * acl.policies; the last segment must be a column.  Crossing a
 * one-to-many makes the value a list (reported as ACL_FT_ARRAY).
 */
static bool
schema_variable_type(void *arg, const AclDynamic *dyn, const char *path, AclColumn *out)
{
	const char *table = dyn->variable == ACL_VAR_CURRENT_USER ? "users"
		: dyn->variable == ACL_VAR_CURRENT_POLICIES ? "policies" : "roles";
	char	   *key = key_of(acl_catalog_relid(table));
	bool		list = false;

	for (int i = 0; i < dyn->npath - 1; i++)
	{
		AclRelation rel;

		if (!schema_relation(arg, key, dyn->path[i], path, &rel))
			return false;
		list |= (rel.kind == ACL_REL_ONE_TO_MANY);
		key = (char *) rel.table_key;
	}
	if (!schema_column(arg, key, dyn->path[dyn->npath - 1], out))
		return false;
	if (list && out->type != ACL_FT_ARRAY)
	{
		out->element_type = out->sql_type;
		out->type = ACL_FT_ARRAY;
	}
	return true;
}

static const AclSchema backend_schema = {
	NULL, schema_column, schema_relation, schema_accepts, schema_postgis_schema,
	schema_variable_type
};

const AclSchema *
acl_backend_schema(void)
{
	return &backend_schema;
}

/*
 * The query that reads a dynamic variable's path for the given start ids
 * ($1, a uuid[]): joins along the same relations the compiler checked.
 */
char *
acl_dynamic_query(const AclDynamic *dyn)
{
	const char *table = dyn->variable == ACL_VAR_CURRENT_USER ? "users"
		: dyn->variable == ACL_VAR_CURRENT_POLICIES ? "policies" : "roles";
	Oid			relid = acl_catalog_relid(table);
	char	   *key = key_of(relid);
	StringInfoData from;
	AclColumn	last;
	const char *path = psprintf("%s path", acl_variable_name(dyn->variable));

	initStringInfo(&from);
	appendStringInfo(&from, "%s t0", qualified_name(relid));
	for (int i = 0; i < dyn->npath - 1; i++)
	{
		AclRelation rel;

		if (!schema_relation(NULL, key, dyn->path[i], path, &rel))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("dynamic variable %s has no relation \"%s\"",
							acl_variable_name(dyn->variable), dyn->path[i]),
					 errhint("The schema changed since the rule was written; write the permission again.")));
		appendStringInfo(&from, " JOIN %s t%d ON t%d.%s = t%d.%s", rel.table, i + 1,
						 i + 1, quote_identifier(rel.remote_column), i, quote_identifier(rel.local_column));
		key = (char *) rel.table_key;
	}
	if (!schema_column(NULL, key, dyn->path[dyn->npath - 1], &last))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("dynamic variable %s has no column \"%s\"",
						acl_variable_name(dyn->variable), dyn->path[dyn->npath - 1]),
				 errhint("The schema changed since the rule was written; write the permission again.")));
	if (last.type == ACL_FT_ARRAY)
		return psprintf("SELECT CAST(v AS pg_catalog.text) FROM %s, LATERAL pg_catalog.unnest(t%d.%s) AS u(v)"
						" WHERE t0.id = ANY ($1) AND v IS NOT NULL",
						from.data, dyn->npath - 1, quote_identifier(last.name));
	return psprintf("SELECT CAST(t%d.%s AS pg_catalog.text) FROM %s WHERE t0.id = ANY ($1) AND t%d.%s IS NOT NULL",
					dyn->npath - 1, quote_identifier(last.name), from.data,
					dyn->npath - 1, quote_identifier(last.name));
}
