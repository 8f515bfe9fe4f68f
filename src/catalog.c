/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  How the C code reaches the acl.* tables, and how it learns that they
 *	  changed.
 *
 * The tables are readable by their owner only, so lookups made on behalf
 * of any caller run as the owner of the acl schema, with search_path pinned
 * so that a caller's objects can never be resolved inside them.
 *
 * Renaming a column of a managed table renames it in the permissions too
 * (acl._ddl_rename), so that they keep granting what they granted.
 *
 * Every statement that writes acl.* fires acl._catalog_changed(), which
 * queues a relcache invalidation of that table.  PostgreSQL delivers it to
 * this backend at the next command boundary and to every other backend once
 * the transaction commits; the callback below then bumps
 * acl_catalog_generation, and caches keyed by it are dropped (the pg_cron
 * pattern).  Nothing else is needed for "never stale after commit".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_namespace.h"
#include "commands/defrem.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "acl.h"
#include "rule.h"

#define ACL_SCHEMA "acl"

static const char *const acl_catalog_tables[] = {
	"roles", "policies", "users", "access", "permissions", "shares", "share_sessions"
};
#define ACL_CATALOG_NTABLES lengthof(acl_catalog_tables)

uint64		acl_catalog_generation = 1;
static TimestampTz last_invalidation = 0;

/* Resolved lazily; forgotten whenever any acl.* relation is invalidated. */
static bool catalog_resolved = false;
static Oid	catalog_namespace = InvalidOid;
static Oid	catalog_owner = InvalidOid;
static Oid	catalog_relids[ACL_CATALOG_NTABLES];

static MemoryContext cache_context = NULL;

static void
resolve_catalog(void)
{
	HeapTuple	tuple;

	if (catalog_resolved)
		return;

	catalog_namespace = get_namespace_oid(ACL_SCHEMA, true);
	if (!OidIsValid(catalog_namespace))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"acl\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION acl.")));

	tuple = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(catalog_namespace));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for namespace %u", catalog_namespace);
	catalog_owner = ((Form_pg_namespace) GETSTRUCT(tuple))->nspowner;
	ReleaseSysCache(tuple);

	for (int i = 0; i < (int) ACL_CATALOG_NTABLES; i++)
	{
		catalog_relids[i] = get_relname_relid(acl_catalog_tables[i], catalog_namespace);
		if (!OidIsValid(catalog_relids[i]))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("table acl.%s is missing", acl_catalog_tables[i]),
					 errhint("Reinstall the extension: DROP EXTENSION acl; CREATE EXTENSION acl.")));
	}
	catalog_resolved = true;
}

Oid
acl_catalog_relid(const char *relname)
{
	resolve_catalog();
	for (int i = 0; i < (int) ACL_CATALOG_NTABLES; i++)
		if (strcmp(acl_catalog_tables[i], relname) == 0)
			return catalog_relids[i];
	elog(ERROR, "acl.%s is not a catalog table", relname);
	return InvalidOid;			/* keep compiler quiet */
}

void
acl_catalog_enter(AclCatalogScope *scope)
{
	resolve_catalog();
	GetUserIdAndSecContext(&scope->saved_userid, &scope->saved_sec_context);
	SetUserIdAndSecContext(catalog_owner,
						   scope->saved_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	scope->saved_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

void
acl_catalog_leave(AclCatalogScope *scope)
{
	AtEOXact_GUC(true, scope->saved_nestlevel);
	SetUserIdAndSecContext(scope->saved_userid, scope->saved_sec_context);
}

/*
 * A btree index of rel whose leading column is attnum and compares it
 * with uuid's default equality; InvalidOid if there is none, and the probe
 * reads the table instead.  Partial and not-yet-valid indexes do not count.
 */
static Oid
uuid_index_on(Relation rel, AttrNumber attnum)
{
	Oid			uuid_family = get_opclass_family(GetDefaultOpClass(UUIDOID, BTREE_AM_OID));
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			found = InvalidOid;

	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		HeapTuple	tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
		Form_pg_index index;
		bool		usable;

		if (!HeapTupleIsValid(tuple))
			continue;
		index = (Form_pg_index) GETSTRUCT(tuple);
		usable = index->indisvalid && index->indnkeyatts >= 1 &&
			index->indkey.values[0] == attnum &&
			heap_attisnull(tuple, Anum_pg_index_indpred, NULL);
		if (usable)
		{
			bool		isnull;
			oidvector  *opclasses = (oidvector *) DatumGetPointer(SysCacheGetAttr(INDEXRELID, tuple,
																				 Anum_pg_index_indclass,
																				 &isnull));

			usable = !isnull && get_opclass_family(opclasses->values[0]) == uuid_family;
		}
		ReleaseSysCache(tuple);
		if (usable)
		{
			HeapTuple	classtup = SearchSysCache1(RELOID, ObjectIdGetDatum(indexoid));

			if (HeapTupleIsValid(classtup))
			{
				usable = ((Form_pg_class) GETSTRUCT(classtup))->relam == BTREE_AM_OID;
				ReleaseSysCache(classtup);
				if (usable)
				{
					found = indexoid;
					break;
				}
			}
		}
	}
	list_free(indexes);
	return found;
}

/* Which index serves a probe; kept for one catalog generation. */
typedef struct UuidProbe
{
	const char *table;
	const char *key_column;
	uint64		generation;
	AttrNumber	key_attnum;
	Oid			index;
} UuidProbe;

static UuidProbe uuid_probes[4];

static AttrNumber
column_attnum(Relation rel, const char *column, Oid expected_type)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), column) != 0)
			continue;
		if (att->atttypid != expected_type)
			break;
		return att->attnum;
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("column %s of acl.%s is missing or has the wrong type",
					column, RelationGetRelationName(rel)),
			 errdetail("acl reads it as type %s.", format_type_be(expected_type)),
			 errhint("Reinstall the extension: DROP EXTENSION acl; CREATE EXTENSION acl.")));
	return InvalidAttrNumber;	/* keep compiler quiet */
}

/* What SPI's read-only lookups saw: the running statement's snapshot. */
static Snapshot
statement_snapshot(void)
{
	return ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
}

/*
 * The row of acl.<table> whose uuid column key_column equals key, as the
 * statement's snapshot sees it, read through an index when one serves the
 * column.  Returns false if there is none; otherwise fills values/isnull
 * with the ncolumns columns named in columns (of the types in types),
 * copied into the current memory context.
 *
 * Why not SPI: this runs for every end user a pooled backend has not seen
 * yet, and a parsed, planned and executed statement cost several times the
 * index probe.  Like the owner's SPI lookups it checks no privileges and
 * applies no row security: it reads on the extension's behalf.
 */
bool
acl_catalog_row_by_uuid(const char *table, const char *key_column, const pg_uuid_t *key,
						int ncolumns, const char *const *columns, const Oid *types,
						Datum *values, bool *isnull)
{
	UuidProbe  *probe = NULL;
	Relation	rel;
	ScanKeyData scankey;
	SysScanDesc scan;
	HeapTuple	tuple;
	Snapshot	snapshot;
	bool		found = false;

	for (int i = 0; i < (int) lengthof(uuid_probes) && probe == NULL; i++)
		if (uuid_probes[i].table == NULL ||
			(strcmp(uuid_probes[i].table, table) == 0 &&
			 strcmp(uuid_probes[i].key_column, key_column) == 0))
			probe = &uuid_probes[i];
	if (probe == NULL)
		elog(ERROR, "too many kinds of acl catalog probe");

	rel = table_open(acl_catalog_relid(table), AccessShareLock);
	if (probe->table == NULL || probe->generation != acl_catalog_generation)
	{
		probe->key_attnum = column_attnum(rel, key_column, UUIDOID);
		probe->index = uuid_index_on(rel, probe->key_attnum);
		probe->table = table;
		probe->key_column = key_column;
		probe->generation = acl_catalog_generation;
	}

	snapshot = statement_snapshot();
	ScanKeyInit(&scankey, probe->key_attnum, BTEqualStrategyNumber, F_UUID_EQ,
				UUIDPGetDatum(key));
	scan = systable_beginscan(rel, probe->index, OidIsValid(probe->index), snapshot, 1, &scankey);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		TupleDesc	desc = RelationGetDescr(rel);

		found = true;
		for (int i = 0; i < ncolumns; i++)
		{
			AttrNumber	attnum = column_attnum(rel, columns[i], types[i]);
			Form_pg_attribute att = TupleDescAttr(desc, attnum - 1);
			Datum		d = heap_getattr(tuple, attnum, desc, &isnull[i]);

			values[i] = isnull[i] ? (Datum) 0 : datumCopy(d, att->attbyval, att->attlen);
		}
	}
	systable_endscan(scan);
	table_close(rel, NoLock);
	return found;
}

/*
 * The non-null values of uuid column `column` of acl.<table>, read in full
 * under the statement's snapshot, into out (duplicates included).  Returns
 * how many, or -1 once there are more than max.
 */
int
acl_catalog_uuid_values(const char *table, const char *column, pg_uuid_t *out, int max)
{
	Relation	rel = table_open(acl_catalog_relid(table), AccessShareLock);
	AttrNumber	attnum = column_attnum(rel, column, UUIDOID);
	SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, statement_snapshot(), 0, NULL);
	HeapTuple	tuple;
	int			n = 0;

	while (n >= 0 && HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d = heap_getattr(tuple, attnum, RelationGetDescr(rel), &isnull);

		if (isnull)
			continue;
		if (n == max)
			n = -1;
		else
			out[n++] = *DatumGetUUIDP(d);
	}
	systable_endscan(scan);
	table_close(rel, NoLock);
	return n;
}

MemoryContext
acl_cache_context(void)
{
	if (cache_context == NULL)
		cache_context = AllocSetContextCreate(CacheMemoryContext,
											  "acl access cache",
											  ALLOCSET_SMALL_SIZES);
	return cache_context;
}

static void
acl_relcache_callback(Datum arg, Oid relid)
{
	bool		ours = !OidIsValid(relid);

	for (int i = 0; !ours && catalog_resolved && i < (int) ACL_CATALOG_NTABLES; i++)
		ours = (catalog_relids[i] == relid);
	if (!ours)
		return;
	/* Only flags here: callbacks may not touch the catalogs or free memory in use. */
	acl_catalog_generation++;
	last_invalidation = GetCurrentTimestamp();
	catalog_resolved = false;
}

static void
acl_namespace_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	/* DROP/CREATE EXTENSION moves the schema; re-resolve everything. */
	acl_catalog_generation++;
	last_invalidation = GetCurrentTimestamp();
	catalog_resolved = false;
}

/*
 * An invalidation is sent only once its transaction is visible as
 * committed, so a snapshot taken after the invalidation arrived sees the
 * change.  A statement that started after the last invalidation therefore
 * reads current data, which may be reused until the next one.  Otherwise
 * the statement's snapshot may predate the change: what it reads is kept
 * for that statement only, or for the transaction under REPEATABLE READ,
 * where every statement shares one snapshot.
 */
AclCacheScope
acl_cache_scope_now(void)
{
	AclCacheScope scope;

	scope.generation = acl_catalog_generation;
	scope.lxid = MyProc->lxid;
	scope.statement_start = 0;
	if (IsolationUsesXactSnapshot())
		scope.global = false;
	else
	{
		scope.statement_start = GetCurrentStatementStartTimestamp();
		scope.global = scope.statement_start > last_invalidation;
	}
	return scope;
}

bool
acl_cache_scope_valid(const AclCacheScope *scope)
{
	if (scope->generation != acl_catalog_generation)
		return false;
	if (scope->global)
		return true;
	return scope->lxid == MyProc->lxid &&
		(scope->statement_start == 0 ||
		 scope->statement_start == GetCurrentStatementStartTimestamp());
}

void
acl_catalog_register_callbacks(void)
{
	CacheRegisterRelcacheCallback(acl_relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, acl_namespace_callback, (Datum) 0);
}

PG_FUNCTION_INFO_V1(acl_catalog_changed);

Datum
acl_catalog_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("acl._catalog_changed() must be called as a trigger")));
	CacheInvalidateRelcache(trigdata->tg_relation);
	PG_RETURN_POINTER(NULL);
}

/*
 * acl.sync() leaves a table's generated policies alone when they are what it
 * would generate; cached plans still embed the permissions' field lists,
 * presets and validation, so a change to those alone must replan them.
 */
PG_FUNCTION_INFO_V1(acl_replan_table);

Datum
acl_replan_table(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);

	if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		CacheInvalidateRelcacheByRelid(relid);
	PG_RETURN_VOID();
}

/*
 * The field keys of a rule's own table renamed: top-level keys and those
 * under _and/_or.  Keys below a field are operators or another table's
 * columns, which this rename does not touch.
 */
static void
rename_field_keys(AclJson *json, const char *from, const char *to)
{
	check_stack_depth();
	if (json == NULL || json->kind != ACL_JSON_OBJECT)
		return;
	for (int i = 0; i < json->count; i++)
	{
		if ((strcmp(json->keys[i], "_and") == 0 || strcmp(json->keys[i], "_or") == 0) &&
			json->items[i]->kind == ACL_JSON_ARRAY)
		{
			for (int j = 0; j < json->items[i]->count; j++)
				rename_field_keys(json->items[i]->items[j], from, to);
		}
		else if (strcmp(json->keys[i], from) == 0)
			json->keys[i] = pstrdup(to);
	}
}

PG_FUNCTION_INFO_V1(acl_rename_field);

/* acl._rename_field(rule jsonb, old text, new text) returns jsonb */
Datum
acl_rename_field(PG_FUNCTION_ARGS)
{
	AclJson    *json = acl_json_from_jsonb(PG_GETARG_JSONB_P(0));
	StringInfoData out;

	rename_field_keys(json, text_to_cstring(PG_GETARG_TEXT_PP(1)), text_to_cstring(PG_GETARG_TEXT_PP(2)));
	initStringInfo(&out);
	acl_json_append(&out, json);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(out.data)));
}

PG_FUNCTION_INFO_V1(acl_ddl_rename);

/*
 * Event trigger on ALTER TABLE: ALTER TABLE t RENAME COLUMN a TO b renames a
 * in the fields, rules, validation and presets of t's permissions, and in
 * the relational rules of any permission that reaches t; ALTER TABLE t
 * RENAME TO u renames t where a relational rule names it (a one-to-many).
 * Only rules the rename changes are written, and each write regenerates its
 * table's policies like any other change to acl.permissions.
 */
Datum
acl_ddl_rename(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	RenameStmt *stmt;
	Oid			relid;
	Oid			argtypes[4] = {REGCLASSOID, TEXTOID, TEXTOID, BOOLOID};
	Datum		args[4];
	AclCatalogScope scope;
	bool		table;
	int			ret;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "acl._ddl_rename() must be called as an event trigger");
	trigdata = (EventTriggerData *) fcinfo->context;
	if (!IsA(trigdata->parsetree, RenameStmt))
		PG_RETURN_NULL();
	stmt = (RenameStmt *) trigdata->parsetree;
	if ((stmt->renameType != OBJECT_COLUMN && stmt->renameType != OBJECT_TABLE) ||
		stmt->relation == NULL)
		PG_RETURN_NULL();
	table = (stmt->renameType == OBJECT_TABLE);
	/* The statement names the table as it was; look it up by its new name. */
	relid = table
		? RangeVarGetRelid(makeRangeVar(stmt->relation->schemaname, stmt->newname, -1), NoLock, true)
		: RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid))
		PG_RETURN_NULL();

	args[0] = ObjectIdGetDatum(relid);
	args[1] = CStringGetTextDatum(table ? stmt->relation->relname : stmt->subname);
	args[2] = CStringGetTextDatum(stmt->newname);
	args[3] = BoolGetDatum(table);
	acl_catalog_enter(&scope);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* One UPDATE, so that the check of each row sees it wholly renamed. */
	ret = SPI_execute_with_args("UPDATE acl.permissions p"
								"   SET fields = r.fields, validation = r.validation, presets = r.presets,"
								"       permissions = r.permissions"
								"  FROM (SELECT id,"
								"               CASE WHEN own THEN pg_catalog.array_replace(fields, $2, $3) ELSE fields END,"
								"               CASE WHEN own THEN acl._rename_field(validation, $2, $3) ELSE validation END,"
								"               CASE WHEN own THEN acl._rename_field(presets, $2, $3) ELSE presets END,"
								"               acl._rename_in_rule(collection, permissions, $1, $2, $3, $4)"
								"          FROM (SELECT *, collection = $1 AND NOT $4 AS own FROM acl.permissions) q"
								"         WHERE own OR pg_catalog.strpos(permissions::text, $2) > 0)"
								"       AS r(id, fields, validation, presets, permissions)"
								" WHERE p.id = r.id"
								"   AND (r.fields, r.validation, r.presets, r.permissions)"
								"       IS DISTINCT FROM (p.fields, p.validation, p.presets, p.permissions)",
								4, argtypes, args, NULL, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "could not apply the rename to acl.permissions: %s", SPI_result_code_string(ret));
	SPI_finish();
	acl_catalog_leave(&scope);
	PG_RETURN_NULL();
}
