/*-------------------------------------------------------------------------
 *
 * enforce.c
 *	  What row-level security cannot express: column masks (the "cases"
 *	  rule, spec §3.3), field checks on writes, presets and validation.
 *
 * Rows are enforced by the generated policies (sql/acl--0.1.sql).  The rest
 * is done by two hooks:
 *
 * - The planner hook sees every query after rewriting, so views are expanded
 *   and SQL function bodies, plpgsql statements and COPY TO queries pass
 *   through it too.  A managed table read by a query becomes a subquery that
 *   selects each column as CASE WHEN <OR of the read rules granting it> THEN
 *   col END, so whatever observes a value (select list, WHERE, ORDER BY,
 *   whole-row references, joins) sees the masked one.  The target of an
 *   INSERT, UPDATE, DELETE or MERGE cannot become a subquery, so its column
 *   references are masked in place (WHERE, RETURNING, SET sources).  Writes
 *   get the row-dependent update field check, presets and a validation
 *   check option.
 * - The executor's permission hook runs the row-independent checks at the
 *   start of every execution: a create/update/delete permission at all, and
 *   the union of the permissions' fields against the columns written.
 *
 * Identity is never read while planning.  Every inserted expression gates
 * on acl.has_policy(...) (a once-read call after enforcement, gates.c) or
 * calls an acl function at run time, so a plan serves every
 * end user; the plan depends only on the permission rows,
 * and regenerating policies invalidates it.  Masks follow the row policies:
 * they apply exactly where PostgreSQL applies row-level security (not to
 * superusers, BYPASSRLS roles, or referential-integrity queries).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "common/int.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "optimizer/planner.h"
#include "optimizer/tlist.h"
#include "parser/analyze.h"
#include "parser/parse_func.h"
#include "parser/parsetree.h"
#include "port/pg_bitutils.h"
#include "rewrite/rewriteHandler.h"
#include "rewrite/rewriteManip.h"
#include "rewrite/rowsecurity.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/timestamp.h"

#include "acl.h"
#include "rule.h"

/* ------------------------------------------------------------------------
 * Loading: the hooks must be in place before a session plans anything.
 * ---------------------------------------------------------------------- */

static bool acl_preloaded = false;
static planner_hook_type prev_planner_hook = NULL;
static ExecutorCheckPerms_hook_type prev_check_perms_hook = NULL;

/*
 * Called by the policy gates.  A library loaded on first use came too late
 * for statements already planned without masks or write checks, so managed
 * tables refuse service in such a session rather than serve it half-checked.
 */
void
acl_require_preloaded(void)
{
	if (!acl_preloaded)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("acl must be preloaded to enforce permissions"),
				 errdetail("This session loaded the acl library after it started, so statements "
						   "planned before then carry no column masks or write checks."),
				 errhint("Add acl to shared_preload_libraries and restart, or run "
						 "ALTER DATABASE ... SET session_preload_libraries = 'acl'; then reconnect.")));
}

/* ------------------------------------------------------------------------
 * The permissions of a managed table, cached per backend.
 * ---------------------------------------------------------------------- */

typedef struct TablePermission
{
	char		action;			/* 'c', 'r', 'u', 'd' */
	int64		id;
	pg_uuid_t	policy;
	bool		all_fields;
	int			nfields;
	char	  **fields;
	Jsonb	   *presets;		/* NULL: none */
	Jsonb	   *validation;		/* NULL: none */
	/* parsed on first use by a write, variables unresolved */
	AclJson    *parsed_presets;
	AclRule    *parsed_validation;
	char	   *id_text;
} TablePermission;

typedef struct TableEntry
{
	Oid			relid;			/* hash key */
	AclCacheScope scope;
	MemoryContext context;		/* what the entry holds; emptied on reload */
	int			npermissions;
	TablePermission *permissions;
} TableEntry;

static HTAB *table_cache = NULL;
static MemoryContext table_cache_context = NULL;
static uint64 table_cache_generation = 0;
static SPIPlanPtr table_plan = NULL;

static void *
copy_into(MemoryContext cxt, const void *src, Size size)
{
	void	   *dst = MemoryContextAlloc(cxt, size);

	memcpy(dst, src, size);
	return dst;
}

static Jsonb *
nonempty_jsonb(HeapTuple tuple, TupleDesc desc, int attno, MemoryContext target)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, desc, attno, &isnull);
	Jsonb	   *j;

	if (isnull)
		return NULL;
	j = DatumGetJsonbP(d);
	if (JB_ROOT_IS_OBJECT(j) && JB_ROOT_COUNT(j) == 0)
		return NULL;
	return (Jsonb *) copy_into(target, j, VARSIZE(j));
}

/*
 * Permissions of the table and of its inheritance ancestors: a partition or
 * child read directly is governed by the permissions of its parent.
 */
static void
load_table(TableEntry *entry, MemoryContext target)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	AclCatalogScope scope;

	acl_catalog_enter(&scope);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = ObjectIdGetDatum(entry->relid);
	acl_spi_select_kept(&table_plan,
								"WITH RECURSIVE up(rel) AS ("
								"  SELECT $1::regclass"
								"  UNION SELECT i.inhparent::regclass FROM pg_catalog.pg_inherits i JOIN up ON i.inhrelid = up.rel)"
								" SELECT p.id, p.policy, left(p.action, 1), p.fields, p.presets, p.validation"
								"   FROM acl.permissions p"
								"  WHERE p.collection IN (SELECT rel FROM up)"
								"    AND p.action IN ('create', 'read', 'update', 'delete')"
								"  ORDER BY p.id",
						1, argtypes, args, NULL, 0);

	entry->npermissions = (int) SPI_processed;
	entry->permissions = MemoryContextAllocZero(target, sizeof(TablePermission) * Max(SPI_processed, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		TablePermission *p = &entry->permissions[i];
		bool		isnull;
		Datum		fields;

		p->id = DatumGetInt64(SPI_getbinval(tuple, desc, 1, &isnull));
		p->policy = acl_spi_uuid(tuple, desc, 2, &isnull);
		p->action = TextDatumGetCString(SPI_getbinval(tuple, desc, 3, &isnull))[0];
		fields = SPI_getbinval(tuple, desc, 4, &isnull);
		if (!isnull)
		{
			Datum	   *items;
			bool	   *nulls;
			int			n;

			deconstruct_array(DatumGetArrayTypeP(fields), TEXTOID, -1, false, TYPALIGN_INT,
							  &items, &nulls, &n);
			p->fields = MemoryContextAlloc(target, sizeof(char *) * Max(n, 1));
			for (int f = 0; f < n; f++)
			{
				char	   *name;

				if (nulls[f])
					continue;
				name = TextDatumGetCString(items[f]);
				if (strcmp(name, "*") == 0)
					p->all_fields = true;
				p->fields[p->nfields++] = MemoryContextStrdup(target, name);
			}
		}
		p->presets = nonempty_jsonb(tuple, desc, 5, target);
		p->validation = nonempty_jsonb(tuple, desc, 6, target);
	}
	SPI_finish();
	acl_catalog_leave(&scope);
}

static TableEntry *
table_permissions(Oid relid)
{
	TableEntry *entry;
	bool		found;
	AclCacheScope scope;

	if (table_cache == NULL || table_cache_generation != acl_catalog_generation)
	{
		HASHCTL		ctl;

		if (table_cache_context == NULL)
			table_cache_context = AllocSetContextCreate(CacheMemoryContext, "acl table cache",
														ALLOCSET_SMALL_SIZES);
		MemoryContextReset(table_cache_context);
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(TableEntry);
		ctl.hcxt = table_cache_context;
		table_cache = hash_create("acl table cache", 32, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		table_cache_generation = acl_catalog_generation;
	}
	entry = hash_search(table_cache, &relid, HASH_ENTER, &found);
	if (found && acl_cache_scope_valid(&entry->scope))
		return entry;
	scope = acl_cache_scope_now();
	entry->scope.generation = 0;	/* unusable should the load fail */

	/*
	 * An entry whose scope is one transaction or statement (REPEATABLE READ,
	 * or a recent invalidation) is reloaded by the next one: its own context
	 * keeps the reloads from piling up until the next catalog change.
	 * Callers hold entries only within a statement, and a reload happens
	 * only at the next, so emptying it here frees nothing still in use.
	 */
	if (!found)
		entry->context = NULL;
	if (entry->context == NULL)
		entry->context = AllocSetContextCreate(table_cache_context, "acl table entry",
											   ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(entry->context);
	load_table(entry, entry->context);
	entry->scope = scope;
	return entry;
}

static bool
grants_column(const TablePermission *p, const char *column)
{
	if (p->all_fields)
		return true;
	for (int i = 0; i < p->nfields; i++)
		if (strcmp(p->fields[i], column) == 0)
			return true;
	return false;
}

/* Whether access holds a permission of action on relid granting column (NULL: any). */
bool
acl_table_grants(Oid relid, char action, const AclAccess *access, const char *column)
{
	const TableEntry *table = table_permissions(relid);

	for (int i = 0; i < table->npermissions; i++)
	{
		const TablePermission *p = &table->permissions[i];

		if (p->action == action && acl_access_holds(access, &p->policy) &&
			(column == NULL || grants_column(p, column)))
			return true;
	}
	return false;
}

static char
action_letter(const char *action)
{
	if (strcmp(action, "create") == 0 || strcmp(action, "read") == 0 ||
		strcmp(action, "update") == 0 || strcmp(action, "delete") == 0)
		return action[0];
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown action \"%s\"", action),
			 errhint("Use create, read, update or delete.")));
	return 0;					/* keep compiler quiet */
}

static const char *
action_name(char action)
{
	switch (action)
	{
		case 'c':
			return "create";
		case 'r':
			return "read";
		case 'u':
			return "update";
		default:
			return "delete";
	}
}

static int
policy_id_cmp(const void *a, const void *b)
{
	return memcmp(((const pg_uuid_t *) a)->data, ((const pg_uuid_t *) b)->data, UUID_LEN);
}

static char *
principal_name(const AclAccess *access)
{
	return access->anonymous ? pstrdup("the public principal")
		: psprintf("user %s", acl_uuid_text(&access->user_id));
}

/* The current end user and its policies, sorted, for error details. */
static char *
principal_text(const AclAccess *access)
{
	StringInfoData out;
	pg_uuid_t  *sorted = palloc(sizeof(pg_uuid_t) * Max(access->npolicies, 1));

	memcpy(sorted, access->policies, sizeof(pg_uuid_t) * access->npolicies);
	qsort(sorted, access->npolicies, sizeof(pg_uuid_t), policy_id_cmp);
	initStringInfo(&out);
	if (access->anonymous)
		appendStringInfoString(&out, "the public principal");
	else
		appendStringInfo(&out, "user %s", acl_uuid_text(&access->user_id));
	appendStringInfoString(&out, " (policies: ");
	for (int i = 0; i < access->npolicies; i++)
		appendStringInfo(&out, "%s%s", i ? ", " : "", acl_uuid_text(&sorted[i]));
	appendStringInfoString(&out, access->npolicies ? ")" : "none)");
	return out.data;
}

/* The permissions of an action that apply to the user: "3 (policy …), 7 (policy …)". */
static char *
held_permissions_text(const TableEntry *table, char action, const AclAccess *access)
{
	StringInfoData out;
	int			n = 0;

	initStringInfo(&out);
	for (int i = 0; i < table->npermissions; i++)
	{
		const TablePermission *p = &table->permissions[i];

		if (p->action != action || !acl_access_holds(access, &p->policy))
			continue;
		appendStringInfo(&out, "%s" INT64_FORMAT " (policy %s)", n++ ? ", " : "", p->id,
						 acl_uuid_text(&p->policy));
	}
	return out.data;
}

/* ------------------------------------------------------------------------
 * Building expressions for the planner hook.
 * ---------------------------------------------------------------------- */

/*
 * A managed table: row security with generated acl_* policies.  Any of
 * them counts, not just acl_admin, so that a DBA dropping acl_admin by hand
 * cannot leave read policies in force without their masks and write checks.
 */
bool
acl_relation_is_managed(Relation rel)
{
	ListCell   *lc;

	if (!rel->rd_rel->relrowsecurity || rel->rd_rsdesc == NULL)
		return false;
	foreach(lc, rel->rd_rsdesc->policies)
		if (strncmp(((RowSecurityPolicy *) lfirst(lc))->policy_name, "acl_", 4) == 0)
			return true;
	return false;
}

static bool
has_policy_named(Relation rel, const char *name)
{
	ListCell   *lc;

	foreach(lc, rel->rd_rsdesc->policies)
		if (strcmp(((RowSecurityPolicy *) lfirst(lc))->policy_name, name) == 0)
			return true;
	return false;
}

static Expr *
policy_qual(Relation rel, const char *name)
{
	ListCell   *lc;

	foreach(lc, rel->rd_rsdesc->policies)
	{
		RowSecurityPolicy *policy = lfirst(lc);

		if (strcmp(policy->policy_name, name) == 0)
			return copyObject(policy->qual);
	}
	return NULL;
}

Oid
acl_function(const char *name, int nargs, Oid *argtypes)
{
	return LookupFuncName(list_make2(makeString("acl"), makeString((char *) name)),
						  nargs, argtypes, false);
}

static Const *
text_const(const char *value)
{
	return makeConst(TEXTOID, -1, DEFAULT_COLLATION_OID, -1,
					 PointerGetDatum(cstring_to_text(value)), false, false);
}

static Const *
regclass_const(Oid relid)
{
	return makeConst(REGCLASSOID, -1, InvalidOid, sizeof(Oid), ObjectIdGetDatum(relid), false, true);
}

/* (SELECT expr): evaluated once per execution, as an initplan. */
Expr *
acl_initplan_of(Expr *expr)
{
	Query	   *sub = makeNode(Query);
	SubLink    *link = makeNode(SubLink);

	sub->commandType = CMD_SELECT;
	sub->querySource = QSRC_ORIGINAL;
	sub->canSetTag = true;
	sub->jointree = makeFromExpr(NIL, NULL);
	sub->targetList = list_make1(makeTargetEntry(expr, 1, pstrdup("value"), false));
	link->subLinkType = EXPR_SUBLINK;
	link->subselect = (Node *) sub;
	link->location = -1;
	return (Expr *) link;
}

/*
 * arms, those that reference no column first.  An OR stops at its first
 * true argument, and PostgreSQL keeps the order it is given: so when an
 * open permission grants the column on every row (its gate alone), each
 * row costs one parameter, not every restricted arm before it.  (The row
 * filters' arms are ordered once estimated: acl_order_permission_arms().)
 */
static List *
unconditional_arms_first(List *arms)
{
	List	   *unconditional = NIL;
	List	   *conditional = NIL;
	ListCell   *lc;

	foreach(lc, arms)
	{
		if (contain_vars_of_level(lfirst(lc), 0))
			conditional = lappend(conditional, lfirst(lc));
		else
			unconditional = lappend(unconditional, lfirst(lc));
	}
	return list_concat(unconditional, conditional);
}

/*
 * When a column of a row is usable for an action: some permission of that
 * action whose rule matches the row grants it, or the user is an admin.
 * NULL when every permission of the action grants the column, since the row
 * policies have then decided already.  Each arm is the generated policy's
 * own USING expression (gate AND rule), Vars of varno 1.
 */
static Expr *
column_condition(Relation rel, const TableEntry *table, char action, const char *column)
{
	Expr	   *admin = policy_qual(rel, "acl_admin");
	List	   *arms = admin != NULL ? list_make1(admin) : NIL;
	bool		all = true;

	for (int i = 0; i < table->npermissions; i++)
	{
		const TablePermission *p = &table->permissions[i];
		Expr	   *qual;

		if (p->action != action)
			continue;
		if (!grants_column(p, column))
		{
			all = false;
			continue;
		}
		qual = policy_qual(rel, psprintf("acl_%s_" INT64_FORMAT, action_name(action), p->id));
		if (qual != NULL)		/* not generated (a restore in progress): grants nothing */
			arms = lappend(arms, qual);
	}
	if (all)
		return NULL;
	/* A share's fields do not depend on the row (share.c). */
	if (action == 'r' && has_policy_named(rel, "acl_share"))
	{
		Oid			argtypes[2] = {REGCLASSOID, TEXTOID};

		arms = lappend(arms, acl_initplan_of((Expr *) makeFuncExpr(acl_function("_share_field", 2, argtypes),
															   BOOLOID,
															   list_make2(regclass_const(RelationGetRelid(rel)),
																		  text_const(column)),
															   InvalidOid, InvalidOid,
															   COERCE_EXPLICIT_CALL)));
	}
	/* acl_admin dropped by hand, say: no arm left grants the column to anyone. */
	if (arms == NIL)
		return (Expr *) makeBoolConst(false, false);
	return list_length(arms) == 1 ? linitial(arms) : makeBoolExpr(OR_EXPR, unconditional_arms_first(arms), -1);
}

static Expr *
case_when(Expr *condition, Expr *then, Expr *otherwise, Oid type, int32 typmod, Oid collation)
{
	CaseExpr   *c = makeNode(CaseExpr);
	CaseWhen   *w = makeNode(CaseWhen);

	w->expr = condition;
	w->result = then;
	w->location = -1;
	c->casetype = type;
	c->casecollid = collation;
	c->args = list_make1(w);
	c->defresult = otherwise ? otherwise : (Expr *) makeNullConst(type, typmod, collation);
	c->location = -1;
	return (Expr *) c;
}

static Var *
column_var(Form_pg_attribute att, Index varno)
{
	return makeVar(varno, att->attnum, att->atttypid, att->atttypmod, att->attcollation, 0);
}

/*
 * SELECT <tlist> FROM ONLY rel, rewritten: expressions taken from policies
 * get what the parser and rewriter give any query (locks, expanded views,
 * the row security of the tables their sublinks read).
 */
static Query *
rewritten_select(RangeTblEntry *template, List *tlist)
{
	Query	   *q = makeNode(Query);
	RangeTblEntry *rte = copyObject(template);
	RangeTblRef *ref = makeNode(RangeTblRef);
	List	   *rewritten;

	rte->securityQuals = NIL;
	q->commandType = CMD_SELECT;
	q->querySource = QSRC_ORIGINAL;
	q->canSetTag = true;
	q->rtable = list_make1(rte);
	ref->rtindex = 1;
	q->jointree = makeFromExpr(list_make1(ref), NULL);
	q->targetList = tlist;
	q->hasSubLinks = checkExprHasSubLink((Node *) tlist);
	AcquireRewriteLocks(q, true, false);
	rewritten = QueryRewrite(q);
	if (list_length(rewritten) != 1)
		elog(ERROR, "acl: rewriting a mask query produced %d queries", list_length(rewritten));
	return linitial_node(Query, rewritten);
}

static RangeTblEntry *
plain_rte(Relation rel)
{
	RangeTblEntry *rte = makeNode(RangeTblEntry);

	rte->rtekind = RTE_RELATION;
	rte->relid = RelationGetRelid(rel);
	rte->relkind = rel->rd_rel->relkind;
	rte->rellockmode = AccessShareLock;
	rte->inh = false;
	rte->eref = makeAlias(RelationGetRelationName(rel), NIL);
	return rte;
}

/* The masked value of every column of rel: NULL where no mask is needed. */
typedef struct ColumnMasks
{
	int			natts;
	bool		any;
	Expr	  **masked;			/* by attno - 1: rewritten, Vars of varno 1 */
} ColumnMasks;

static List *
masked_tlist(Relation rel, const TableEntry *table, char action, bool *any)
{
	TupleDesc	desc = RelationGetDescr(rel);
	List	   *tlist = NIL;

	*any = false;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Expr	   *e;

		if (att->attisdropped)
			e = (Expr *) makeNullConst(INT4OID, -1, InvalidOid);
		else
		{
			Expr	   *cond = column_condition(rel, table, action, NameStr(att->attname));

			e = (Expr *) column_var(att, 1);
			if (cond != NULL)
			{
				e = case_when(cond, e, NULL, att->atttypid, att->atttypmod, att->attcollation);
				*any = true;
			}
		}
		tlist = lappend(tlist, makeTargetEntry(e, i + 1,
											   att->attisdropped ? NULL : pstrdup(NameStr(att->attname)),
											   false));
	}
	return tlist;
}

/* The masked columns of a rewritten mask query's target list. */
static ColumnMasks
masks_of(List *tlist, int natts)
{
	ColumnMasks masks;
	ListCell   *lc;

	masks.natts = natts;
	masks.any = false;
	masks.masked = palloc0(sizeof(Expr *) * Max(natts, 1));
	foreach(lc, tlist)
	{
		TargetEntry *tle = lfirst(lc);

		if (!tle->resjunk && tle->resno <= natts && IsA(tle->expr, CaseExpr))
		{
			masks.masked[tle->resno - 1] = tle->expr;
			masks.any = true;
		}
	}
	return masks;
}

static ColumnMasks
column_masks(Relation rel, const TableEntry *table, char action)
{
	bool		any;
	List	   *tlist = masked_tlist(rel, table, action, &any);

	if (!any)
		return masks_of(NIL, RelationGetDescr(rel)->natts);
	return masks_of(rewritten_select(plain_rte(rel), tlist)->targetList, RelationGetDescr(rel)->natts);
}

/* An expression of varno 1 moved to varno `varno`, `depth` query levels down. */
static Expr *
relocated(Expr *expr, Index varno, int depth)
{
	Expr	   *e = copyObject(expr);

	ChangeVarNodes((Node *) e, 1, varno, 0);
	if (depth > 0)
		IncrementVarSublevelsUp((Node *) e, depth, 0);
	return e;
}

/* ------------------------------------------------------------------------
 * A managed table read by a query becomes a masked subquery.
 * ---------------------------------------------------------------------- */

/* Column references of one table, replaced by their masked values. */
typedef struct ResultMaskContext
{
	int			varno;
	Index		depth;
	Relation	rel;
	ColumnMasks *masks;
} ResultMaskContext;

static Node *mask_result_vars(Node *node, ResultMaskContext *cxt);

typedef struct SystemVarContext
{
	int			rti;
	Index		depth;
	Query	   *sub;
} SystemVarContext;

static AttrNumber
system_column_resno(Query *sub, Var *var)
{
	ListCell   *lc;
	Var		   *inner;

	foreach(lc, sub->targetList)
	{
		TargetEntry *tle = lfirst(lc);

		if (tle->resjunk && IsA(tle->expr, Var) && ((Var *) tle->expr)->varattno == var->varattno)
			return tle->resno;
	}
	inner = makeVar(1, var->varattno, var->vartype, var->vartypmod, var->varcollid, 0);
	sub->targetList = lappend(sub->targetList,
							  makeTargetEntry((Expr *) inner, list_length(sub->targetList) + 1,
											  NULL, true));
	return list_length(sub->targetList);
}

/*
 * References to ctid, tableoid and the like: with cxt->sub set, they now
 * come from the subquery's junk columns; without, the walk only reports
 * whether there are any.
 */
static bool
remap_system_vars(Node *node, SystemVarContext *cxt)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		if (var->varno != cxt->rti || var->varlevelsup != cxt->depth || var->varattno >= 0)
			return false;
		if (cxt->sub == NULL)
			return true;
		var->varattno = system_column_resno(cxt->sub, var);
		return false;
	}
	if (IsA(node, Query))
	{
		bool		result;

		cxt->depth++;
		result = query_tree_walker((Query *) node, remap_system_vars, cxt, 0);
		cxt->depth--;
		return result;
	}
	return expression_tree_walker(node, remap_system_vars, cxt);
}

/* Policies beyond these are read by one scan: branches would cost more planning. */
#define ACL_MAX_POLICIES 64

/*
 * The arms of the reference's permissive policies (acl_admin and one per
 * permission, each "gate AND rule"), when reading it as a UNION ALL of
 * branches is possible; NIL otherwise.
 *
 * PostgreSQL ORs permissive policies into one expression whose gates are
 * only known when the plan runs, so one arm no index serves (acl_admin, or
 * another role's unindexed rule) makes every reader scan the whole table.
 * As branches, each is planned on its own, with its gates as a one-time
 * filter: a branch the end user's policies do not open is never executed,
 * and the open one uses its indexes.
 */
static List *
policy_arms(Query *q, Index rti, RangeTblEntry *rte, int npolicy)
{
	Expr	   *permissive;
	SystemVarContext cxt = {(int) rti, 0, NULL};

	if (npolicy < 1 || npolicy != list_length(rte->securityQuals) || rte->tablesample != NULL ||
		get_parse_rowmark(q, rti) != NULL)
		return NIL;
	permissive = list_nth(rte->securityQuals, npolicy - 1);
	if (!is_orclause(permissive) || list_length(((BoolExpr *) permissive)->args) > ACL_MAX_POLICIES)
		return NIL;
	if (query_tree_walker(q, remap_system_vars, &cxt, 0))
		return NIL;
	return ((BoolExpr *) permissive)->args;
}

static bool
is_gate(Node *conjunct)
{
	return !contain_vars_of_level(conjunct, 0) && !contain_volatile_functions(conjunct);
}

/*
 * The arms of one gate (the permissions of one policy, or acl_admin):
 * open for an end user when every gate conjunct is true, and then matching
 * the rows of any of its rules.
 */
typedef struct ArmGroup
{
	List	   *gate;			/* conjuncts without column references */
	List	   *rules;			/* one per arm; NULL element: every row */
} ArmGroup;

static List *
arms_by_gate(List *arms)
{
	List	   *groups = NIL;
	ListCell   *lc;

	foreach(lc, arms)
	{
		Expr	   *arm = lfirst(lc);
		List	   *conjuncts = is_andclause(arm) ? ((BoolExpr *) arm)->args : list_make1(arm);
		List	   *gate = NIL;
		List	   *rule = NIL;
		ArmGroup   *group = NULL;
		ListCell   *lc2;

		foreach(lc2, conjuncts)
		{
			Node	   *c = lfirst(lc2);

			/* "gate AND true", an unrestricted permission: the gate alone */
			if (IsA(c, Const) && !((Const *) c)->constisnull && DatumGetBool(((Const *) c)->constvalue))
				continue;
			if (is_gate(c))
				gate = lappend(gate, c);
			else
				rule = lappend(rule, c);
		}
		foreach(lc2, groups)
		{
			if (equal(((ArmGroup *) lfirst(lc2))->gate, gate))
				group = lfirst(lc2);
		}
		if (group == NULL)
		{
			group = palloc0(sizeof(ArmGroup));
			group->gate = gate;
			groups = lappend(groups, group);
		}
		group->rules = lappend(group->rules, rule == NIL ? NULL : make_ands_explicit(rule));
	}
	return groups;
}

/* The rows a group matches once open; NULL for every row. */
static Expr *
group_rule(const ArmGroup *group)
{
	if (list_member_ptr(group->rules, NULL))
		return NULL;
	return list_length(group->rules) == 1 ? linitial(group->rules) : make_orclause(group->rules);
}

static Expr *
group_arm(const ArmGroup *group)
{
	Expr	   *rule = group_rule(group);
	List	   *conjuncts = list_copy(group->gate);

	if (rule != NULL)
		conjuncts = lappend(conjuncts, rule);
	return conjuncts == NIL ? (Expr *) makeBoolConst(true, false) : make_ands_explicit(conjuncts);
}

/* expr of a (SELECT expr) sublink that reads no table; NULL otherwise. */
Node *
acl_selected_expr(Node *node)
{
	Query	   *sub;

	if (!IsA(node, SubLink) || ((SubLink *) node)->subLinkType != EXPR_SUBLINK)
		return NULL;
	sub = (Query *) ((SubLink *) node)->subselect;
	if (sub->rtable != NIL || sub->jointree->quals != NULL || list_length(sub->targetList) != 1 ||
		sub->hasAggs || sub->hasWindowFuncs || sub->hasTargetSRFs || sub->hasSubLinks ||
		sub->groupClause != NIL || sub->havingQual != NULL || sub->limitCount != NULL)
		return NULL;
	return (Node *) linitial_node(TargetEntry, sub->targetList)->expr;
}

/*
 * A gate as a plain call, for a one-time filter: (SELECT f(constants))
 * becomes f(constants), so that no branch needs an initplan per gate just
 * to decide whether it runs.  Any other gate, a plain call included, stays
 * as it is.
 */
static Node *
gate_call(Node *gate)
{
	Node	   *expr = acl_selected_expr(gate);
	ListCell   *lc;

	if (expr == NULL || !IsA(expr, FuncExpr) || contain_volatile_functions(expr))
		return copyObject(gate);
	foreach(lc, ((FuncExpr *) expr)->args)
	{
		if (!IsA(lfirst(lc), Const))
			return copyObject(gate);
	}
	return copyObject(expr);
}

static Node *
group_gate_call(const ArmGroup *group)
{
	List	   *calls = NIL;
	ListCell   *lc;

	foreach(lc, group->gate)
		calls = lappend(calls, gate_call(lfirst(lc)));
	if (calls == NIL)
		return (Node *) makeBoolConst(true, false);
	return list_length(calls) == 1 ? linitial(calls) : (Node *) make_andclause(calls);
}

/*
 * A group's gate as a token of acl._branch_open_gates: "admin",
 * "policy <uuid> <action>" or "share <relation oid>"; NULL for any other
 * gate.  Constants cost nothing to start, where a call per gate in every
 * branch made starting the plan cost more than running it.
 */
typedef struct GateFunctions
{
	Oid			is_admin;
	Oid			has_policy;
	Oid			share_reads;
} GateFunctions;

static char *
gate_token(const ArmGroup *group, const GateFunctions *fn)
{
	FuncExpr   *call;
	List	   *args;

	if (list_length(group->gate) != 1)
		return NULL;
	call = (FuncExpr *) gate_call(linitial(group->gate));
	if (!IsA(call, FuncExpr))
		return NULL;
	args = call->args;
	if (call->funcid == fn->is_admin && args == NIL)
		return pstrdup("admin");
	if (call->funcid == fn->has_policy &&
		!castNode(Const, linitial(args))->constisnull && !castNode(Const, lsecond(args))->constisnull)
		return psprintf("policy %s %s",
						acl_uuid_text(DatumGetUUIDP(castNode(Const, linitial(args))->constvalue)),
						TextDatumGetCString(castNode(Const, lsecond(args))->constvalue));
	if (call->funcid == fn->share_reads &&
		!castNode(Const, linitial(args))->constisnull)
		return psprintf("share %u", DatumGetObjectId(castNode(Const, linitial(args))->constvalue));
	return NULL;
}

/* Groups with bands beyond these are not combined: each set tried is a sweep. */
#define ACL_MAX_COVER_CANDIDATES 8
#define ACL_MAX_COVERS 8

/*
 * The sets of groups (bitmasks of their positions) whose rules together
 * match every row of relid, smallest first: a group with an unrestricted
 * permission, or whose own rules' bands cover, alone; then sets of the
 * groups with bands, when all of those together cover.  A set that holds
 * a smaller one is not listed.  NIL unless bands prove some set: a group
 * with an unrestricted permission is cheap enough in the branch of two or
 * more open groups, first in its OR, to be worth no branch of its own.
 */
static List *
covering_sets(List *groups, Oid relid)
{
	List	   *covers = NIL;
	List	   *bands[ACL_MAX_BRANCHES];
	int			candidates[ACL_MAX_COVER_CANDIDATES];
	int			ncandidates = 0;
	List	   *all = NIL;
	List	   *found = NIL;	/* masks over candidates */
	bool		proven = false;
	ListCell   *lc;

	foreach(lc, groups)
	{
		int			i = foreach_current_index(lc);
		Expr	   *rule = group_rule(lfirst(lc));

		if (rule == NULL)
		{
			covers = lappend_int(covers, 1 << i);
			continue;
		}
		bands[i] = acl_rule_bands(rule, 1);
		if (bands[i] == NIL)
			continue;
		if (acl_bands_cover(bands[i], relid))
		{
			covers = lappend_int(covers, 1 << i);
			proven = true;
		}
		else if (ncandidates < ACL_MAX_COVER_CANDIDATES)
		{
			candidates[ncandidates++] = i;
			all = list_concat(all, bands[i]);
		}
	}
	if (ncandidates < 2 || !acl_bands_cover(all, relid))
		return proven ? list_truncate(covers, ACL_MAX_COVERS) : NIL;
	for (int size = 2; size <= ncandidates; size++)
	{
		for (uint32 mask = 3; mask < (1U << ncandidates); mask++)
		{
			List	   *union_bands = NIL;
			bool		holds_found = false;
			int			groups_mask = 0;

			if (pg_popcount32(mask) != size)
				continue;
			foreach(lc, found)
				holds_found |= (mask & (uint32) lfirst_int(lc)) == (uint32) lfirst_int(lc);
			if (holds_found)
				continue;
			for (int c = 0; c < ncandidates; c++)
			{
				if (mask & (1U << c))
				{
					union_bands = list_concat(union_bands, bands[candidates[c]]);
					groups_mask |= 1 << candidates[c];
				}
			}
			if (!acl_bands_cover(union_bands, relid))
				continue;
			found = lappend_int(found, (int) mask);
			covers = lappend_int(covers, groups_mask);
			if (list_length(covers) >= ACL_MAX_COVERS)
				return covers;
		}
	}
	return found != NIL || proven ? list_truncate(covers, ACL_MAX_COVERS) : NIL;
}

/* "cover p q ...": the 1-based positions of a cover's groups among the gates. */
static char *
cover_token(int groups_mask)
{
	StringInfoData token;

	initStringInfo(&token);
	appendStringInfoString(&token, "cover");
	for (int i = 0; i < ACL_MAX_BRANCHES; i++)
	{
		if (groups_mask & (1 << i))
			appendStringInfo(&token, " %d", i + 1);
	}
	return token.data;
}

/*
 * Whether a branch runs, given every group's gate:
 * acl._branch_open_gates(branch, '{tokens}') when every gate has a token,
 * with a "cover" token after them for each of covers, else
 * acl._branch_open(branch, VARIADIC gates), and covers becomes NIL.  Built
 * once per table reference with branch 0; decision_for() numbers each
 * branch's copy.
 */
static Node *
branch_open_call(List *groups, List **covers)
{
	Const	   *number = makeConst(INT4OID, -1, InvalidOid, sizeof(int32), Int32GetDatum(0),
								   false, true);
	Datum	   *tokens = palloc(sizeof(Datum) * (list_length(groups) + list_length(*covers)));
	int			ntokens = 0;
	Oid			has_policy_args[2] = {UUIDOID, TEXTOID};
	Oid			share_reads_arg = REGCLASSOID;
	GateFunctions fn;
	ListCell   *lc;

	fn.is_admin = acl_function("is_admin", 0, NULL);
	fn.has_policy = acl_function("has_policy", 2, has_policy_args);
	fn.share_reads = acl_function("_share_reads", 1, &share_reads_arg);
	foreach(lc, groups)
	{
		char	   *token = gate_token(lfirst(lc), &fn);

		if (token == NULL)
			break;
		tokens[ntokens++] = CStringGetTextDatum(token);
	}
	if (ntokens == list_length(groups))
	{
		Oid			argtypes[2] = {INT4OID, TEXTARRAYOID};
		ArrayType  *array;

		foreach(lc, *covers)
			tokens[ntokens++] = CStringGetTextDatum(cover_token(lfirst_int(lc)));
		array = construct_array(tokens, ntokens, TEXTOID, -1, false, TYPALIGN_INT);

		return (Node *) makeFuncExpr(acl_function("_branch_open_gates", 2, argtypes), BOOLOID,
									 list_make2(number,
												makeConst(TEXTARRAYOID, -1, InvalidOid, -1,
														  PointerGetDatum(array), false, false)),
									 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
	}
	else
	{
		Oid			argtypes[2] = {INT4OID, BOOLARRAYOID};
		ArrayExpr  *gates = makeNode(ArrayExpr);
		FuncExpr   *call;

		/* Booleans cannot say which gates make a cover: no branch for one. */
		*covers = NIL;
		gates->array_typeid = BOOLARRAYOID;
		gates->element_typeid = BOOLOID;
		gates->multidims = false;
		gates->location = -1;
		foreach(lc, groups)
			gates->elements = lappend(gates->elements, group_gate_call(lfirst(lc)));
		call = makeFuncExpr(acl_function("_branch_open", 2, argtypes), BOOLOID,
							list_make2(number, gates), InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
		call->funcvariadic = true;
		return (Node *) call;
	}
}

/* What every branch of one table reference shares, looked up once. */
typedef struct BranchSet
{
	List	   *restrictive;	/* the reference's restrictive quals */
	List	   *groups;			/* ArmGroup per policy */
	Node	   *decision;		/* branch_open_call(); NULL for one group */
	Oid			share_reads;	/* acl._share_reads */
	Oid			share_field;	/* acl._share_field */
} BranchSet;

static Node *
decision_for(const BranchSet *set, int branch)
{
	FuncExpr   *call = copyObject(castNode(FuncExpr, set->decision));

	castNode(Const, linitial(call->args))->constvalue = Int32GetDatum(branch);
	return (Node *) call;
}

/*
 * What is known inside the branch of group `open`: that group's gate
 * conjuncts are true, the single-conjunct gates of the others false, and
 * unless it is the share's group, the principal is no share session.
 */
typedef struct AssumedGates
{
	List	   *true_gates;
	List	   *false_gates;
	Oid			share_field;	/* acl._share_field, known false; or InvalidOid */
	bool		nested;			/* into sublinks' queries too */
} AssumedGates;

static bool
is_call_to(Node *node, Oid funcid)
{
	Node	   *selected = acl_selected_expr(node);

	if (selected != NULL)
		node = selected;
	return IsA(node, FuncExpr) && ((FuncExpr *) node)->funcid == funcid;
}

static Node *
assume_gates_mutator(Node *node, AssumedGates *known)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Query))
	{
		/*
		 * A gate is a fact about the principal, the same in a policy of a
		 * table a rule's sublink reads: so its initplans go too.  Which
		 * relation a share field belongs to is not known there.
		 */
		AssumedGates nested = *known;

		if (!known->nested)
			return node;
		nested.share_field = InvalidOid;
		/* Shared with the expression assumed from: the planner scribbles on its copy. */
		return (Node *) query_tree_mutator(copyObject((Query *) node), assume_gates_mutator, &nested, 0);
	}
	if (list_member(known->true_gates, node))
		return (Node *) makeBoolConst(true, false);
	if (list_member(known->false_gates, node) ||
		(OidIsValid(known->share_field) && is_call_to(node, known->share_field)))
		return (Node *) makeBoolConst(false, false);
	return expression_tree_mutator(node, assume_gates_mutator, known);
}

static AssumedGates
assumed_gates(const BranchSet *set, const ArmGroup *open)
{
	AssumedGates known = {list_copy(open->gate), NIL, InvalidOid, false};
	bool		share_group = false;
	ListCell   *lc;

	foreach(lc, open->gate)
		share_group |= is_call_to(lfirst(lc), set->share_reads);
	if (!share_group)
		known.share_field = set->share_field;
	foreach(lc, set->groups)
	{
		ArmGroup   *other = lfirst(lc);

		if (other != open && list_length(other->gate) == 1 &&
			!list_member(known.true_gates, linitial(other->gate)))
			known.false_gates = lappend(known.false_gates, linitial(other->gate));
	}
	return known;
}

/*
 * expr in the branch of known's group, in two steps: the gates outside
 * sublinks, and what folds away with them; then the gates in the sublinks
 * that remain, whose queries are copied then.  The first step shares the
 * queries with expr (neither step changes its input), so a sublink that
 * folds away is never copied.
 */
static Expr *
assume_outside_sublinks(Expr *expr, AssumedGates *known)
{
	return (Expr *) eval_const_expressions(NULL, assume_gates_mutator((Node *) expr, known));
}

static Expr *
assume_in_sublinks(Expr *expr, AssumedGates *known)
{
	Node	   *e;

	known->nested = true;
	e = assume_gates_mutator((Node *) expr, known);
	known->nested = false;
	return (Expr *) e;
}

static List *
disjuncts(Expr *expr)
{
	return is_orclause(expr) ? ((BoolExpr *) expr)->args : list_make1(expr);
}

/*
 * A mask in the branch of one group: a column its rules always grant is
 * plain, one they never grant is NULL, and only a partial grant keeps a
 * CASE.  `rule` is the branch's own row filter, as assumed outside
 * sublinks: a mask condition that contains every disjunct of it holds for
 * each row the branch returns.  Compared before the sublinks are visited,
 * a condition that goes costs no copy of its sublinks.
 */
static Expr *
assumed_mask(Expr *value, AssumedGates *known, Expr *rule, Oid relid)
{
	Expr	   *e = assume_outside_sublinks(value, known);
	CaseWhen   *w;
	List	   *condition;
	ListCell   *lc;

	if (!IsA(e, CaseExpr) || list_length(((CaseExpr *) e)->args) != 1)
		return assume_in_sublinks(e, known);
	w = linitial_node(CaseWhen, ((CaseExpr *) e)->args);
	if (acl_bands_cover(acl_rule_bands(w->expr, 1), relid))
		return assume_in_sublinks(w->result, known);
	if (rule == NULL)
		return assume_in_sublinks(e, known);
	condition = disjuncts(w->expr);
	foreach(lc, disjuncts(rule))
	{
		if (!list_member(condition, lfirst(lc)))
			return assume_in_sublinks(e, known);
	}
	return assume_in_sublinks(w->result, known);
}

/*
 * The branch of group `open` (or, for NULL, of two or more open groups):
 * leaf's query with the group's rule as its last security qual, and the
 * decision whether it runs as its WHERE, which the planner makes a
 * one-time filter.  (As a security qual it would be a filter on every row.)
 * With every_row, the branch of two or more open groups that together
 * cover every row: no rule at all.
 */
static Query *
arm_branch(Query *leaf, const BranchSet *set, ArmGroup *open, bool every_row, int branch)
{
	RangeTblEntry *leaf_table = linitial_node(RangeTblEntry, leaf->rtable);
	List	   *leaf_quals = leaf_table->securityQuals;
	List	   *leaf_tlist = leaf->targetList;
	Query	   *q;
	RangeTblEntry *table;
	Expr	   *rule;

	/*
	 * Every branch replaces the quals and derives its masks: copying them
	 * with the rest was most of planning's copying.
	 */
	leaf_table->securityQuals = NIL;
	leaf->targetList = NIL;
	q = copyObject(leaf);
	leaf_table->securityQuals = leaf_quals;
	leaf->targetList = leaf_tlist;
	table = linitial_node(RangeTblEntry, q->rtable);
	table->securityQuals = copyObject(set->restrictive);
	if (open == NULL)
	{
		List	   *arms = NIL;
		ListCell   *lc;

		foreach(lc, set->groups)
			arms = lappend(arms, group_arm(lfirst(lc)));
		/* acl_order_permission_arms() orders the arms once they are estimated. */
		if (!every_row)
			table->securityQuals = lappend(table->securityQuals, make_orclause(arms));
		q->targetList = copyObject(leaf_tlist);
	}
	else
	{
		AssumedGates known = assumed_gates(set, open);
		ListCell   *lc;

		rule = group_rule(open);
		if (rule != NULL)
		{
			rule = assume_outside_sublinks(rule, &known);
			if (acl_bands_cover(acl_rule_bands(rule, 1), table->relid))
				rule = NULL;
			else
				table->securityQuals = lappend(table->securityQuals, assume_in_sublinks(rule, &known));
		}
		foreach(lc, leaf_tlist)
		{
			TargetEntry *tle = flatCopyTargetEntry(lfirst(lc));

			if (!tle->resjunk && IsA(tle->expr, CaseExpr))
				tle->expr = assumed_mask(tle->expr, &known, rule, table->relid);
			else
				tle->expr = copyObject(tle->expr);
			q->targetList = lappend(q->targetList, tle);
		}
	}
	q->jointree->quals = set->decision == NULL ? group_gate_call(open) : decision_for(set, branch);
	q->hasSubLinks = true;
	return q;
}

/*
 * SELECT * FROM branch_1 UNION ALL ... over copies of leaf: one branch per
 * group, run when its gate is the only open one (the usual case: an end
 * user's policies seldom overlap on one table), and one for two or more
 * open groups that reads their OR'd arms in one scan, as PostgreSQL would;
 * and when some sets of groups together match every row, one more that
 * reads without a rule, for two or more open groups holding such a set.
 */
static Query *
union_of_arms(Query *leaf, List *restrictive, List *groups)
{
	Query	   *u = makeNode(Query);
	Node	   *setop = NULL;
	List	   *colnames = NIL;
	List	   *types = NIL;
	List	   *typmods = NIL;
	List	   *collations = NIL;
	int			ngroups = list_length(groups);
	int			nbranches;
	List	   *covers = NIL;
	Oid			share_reads_arg = REGCLASSOID;
	Oid			share_field_args[2] = {REGCLASSOID, TEXTOID};
	BranchSet	set;
	ListCell   *lc;

	u->commandType = CMD_SELECT;
	u->querySource = QSRC_ORIGINAL;
	u->canSetTag = true;
	u->jointree = makeFromExpr(NIL, NULL);
	foreach(lc, leaf->targetList)
	{
		TargetEntry *tle = lfirst(lc);
		Var		   *var = makeVar(1, tle->resno, exprType((Node *) tle->expr),
								  exprTypmod((Node *) tle->expr), exprCollation((Node *) tle->expr), 0);

		u->targetList = lappend(u->targetList, makeTargetEntry((Expr *) var, tle->resno,
															   tle->resname ? pstrdup(tle->resname) : NULL,
															   false));
		colnames = lappend(colnames, makeString(pstrdup(tle->resname ? tle->resname : "")));
		types = lappend_oid(types, var->vartype);
		typmods = lappend_int(typmods, var->vartypmod);
		collations = lappend_oid(collations, var->varcollid);
	}
	set.restrictive = restrictive;
	set.groups = groups;
	set.decision = NULL;
	if (ngroups > 1)
	{
		covers = covering_sets(groups, linitial_node(RangeTblEntry, leaf->rtable)->relid);
		set.decision = branch_open_call(groups, &covers);
	}
	nbranches = ngroups == 1 ? 1 : ngroups + 1 + (covers != NIL ? 1 : 0);
	set.share_reads = acl_function("_share_reads", 1, &share_reads_arg);
	set.share_field = acl_function("_share_field", 2, share_field_args);
	for (int i = 0; i < nbranches; i++)
	{
		ArmGroup   *open = i < ngroups ? list_nth(groups, i) : NULL;
		RangeTblEntry *member = makeNode(RangeTblEntry);
		RangeTblRef *ref = makeNode(RangeTblRef);

		/* Numbered as acl_branch_runs() counts: groups 1..n, 0, cover n + 1. */
		int			number = i < ngroups ? i + 1 : i == ngroups ? 0 : ngroups + 1;

		member->rtekind = RTE_SUBQUERY;
		member->subquery = arm_branch(leaf, &set, open, i > ngroups, number);
		member->eref = makeAlias(ACL_BRANCH_ALIAS, colnames);
		member->inFromCl = true;
		u->rtable = lappend(u->rtable, member);
		ref->rtindex = i + 1;
		if (setop == NULL)
			setop = (Node *) ref;
		else
		{
			SetOperationStmt *op = makeNode(SetOperationStmt);

			op->op = SETOP_UNION;
			op->all = true;
			op->larg = setop;
			op->rarg = (Node *) ref;
			op->colTypes = types;
			op->colTypmods = typmods;
			op->colCollations = collations;
			setop = (Node *) op;
		}
	}
	u->setOperations = setop;
	u->hasSubLinks = true;
	u->hasRowSecurity = true;
	return u;
}

/*
 * Whether every Var of node is a user column of rti at this query level,
 * so that the branch's target list can stand in for it.
 */
static bool
not_branch_column_walker(Node *node, Index *rti)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		return var->varno != (int) *rti || var->varlevelsup != 0 || var->varattno <= 0;
	}
	return expression_tree_walker(node, not_branch_column_walker, rti);
}

/* A LIMIT expression each branch can evaluate as the outer query would. */
static bool
row_independent(Node *expr)
{
	return !contain_vars_of_level(expr, 0) && !contain_volatile_functions(expr) &&
		!checkExprHasSubLink(expr);
}

/* The rows each branch must return for LIMIT count OFFSET offset; NULL: unknown. */
static Node *
branch_row_limit(Node *count, Node *offset)
{
	int64		rows;
	int64		skip = 0;

	if (count == NULL || !row_independent(count) ||
		(IsA(count, Const) && ((Const *) count)->constisnull))
		return NULL;
	if (offset != NULL)
	{
		if (!IsA(offset, Const) || exprType(offset) != INT8OID)
			return NULL;
		if (!((Const *) offset)->constisnull)
			skip = DatumGetInt64(((Const *) offset)->constvalue);
	}
	if (skip == 0)
		return copyObject(count);
	if (!IsA(count, Const) || exprType(count) != INT8OID || skip < 0)
		return NULL;
	rows = DatumGetInt64(((Const *) count)->constvalue);
	if (rows < 0 || pg_add_s64_overflow(rows, skip, &rows))
		return NULL;
	return (Node *) makeConst(INT8OID, -1, InvalidOid, sizeof(int64), Int64GetDatum(rows),
							  false, FLOAT8PASSBYVAL);
}

/*
 * SELECT ... FROM t [WHERE ...] ORDER BY <columns> LIMIT n, where t's read
 * became branches: each branch gets the WHERE (over its own, masked,
 * columns), the ORDER BY and a LIMIT of n plus the offset.  The branch that
 * runs then returns its first rows in order, from an index where there is
 * one, and the query's Limit stops it, where otherwise it would read every
 * row it may see and sort them.  The planner cannot do this itself: it
 * plans a subquery without the order or row count its caller wants.
 *
 * The query keeps its ORDER BY and LIMIT, so the result is the same when
 * two or more branches would run.  Anything else (joins, grouping, DISTINCT,
 * locking, WITH TIES, a WHERE with sublinks or volatile functions, an order
 * on an expression) is left as it was.
 */
static void
push_limit_into_branches(Query *q, Index rti, Query *u)
{
	Node	   *row_limit;
	Node	   *quals = q->jointree->quals;
	ListCell   *lc;

	if (q->commandType != CMD_SELECT || q->setOperations != NULL || q->hasAggs ||
		q->hasWindowFuncs || q->hasTargetSRFs || q->groupClause != NIL ||
		q->groupingSets != NIL || q->havingQual != NULL || q->distinctClause != NIL ||
		q->rowMarks != NIL || q->sortClause == NIL || q->limitOption != LIMIT_OPTION_COUNT ||
		list_length(q->jointree->fromlist) != 1 ||
		!IsA(linitial(q->jointree->fromlist), RangeTblRef) ||
		((RangeTblRef *) linitial(q->jointree->fromlist))->rtindex != (int) rti ||
		u->setOperations == NULL)
		return;
	row_limit = branch_row_limit(q->limitCount, q->limitOffset);
	if (row_limit == NULL)
		return;
	if (quals != NULL &&
		(contain_volatile_functions(quals) || checkExprHasSubLink(quals) ||
		 not_branch_column_walker(quals, &rti)))
		return;
	foreach(lc, q->sortClause)
	{
		TargetEntry *tle = get_sortgroupclause_tle(lfirst(lc), q->targetList);

		if (!IsA(tle->expr, Var) || not_branch_column_walker((Node *) tle->expr, &rti))
			return;
	}
	foreach(lc, u->rtable)
	{
		Query	   *branch = lfirst_node(RangeTblEntry, lc)->subquery;

		if (branch == NULL || branch->rowMarks != NIL || branch->sortClause != NIL ||
			branch->limitCount != NULL)
			return;
	}

	foreach(lc, u->rtable)
	{
		Query	   *branch = lfirst_node(RangeTblEntry, lc)->subquery;
		ListCell   *ls;

		foreach(ls, q->sortClause)
		{
			SortGroupClause *sort = copyObject(lfirst(ls));
			Var		   *column = (Var *) get_sortgroupclause_tle(sort, q->targetList)->expr;
			TargetEntry *tle = list_nth(branch->targetList, column->varattno - 1);

			Assert(tle->resno == column->varattno && !tle->resjunk);
			if (tle->ressortgroupref == 0)
				tle->ressortgroupref = list_length(branch->sortClause) + 1;
			sort->tleSortGroupRef = tle->ressortgroupref;
			branch->sortClause = lappend(branch->sortClause, sort);
		}
		branch->limitCount = copyObject(row_limit);
		branch->limitOption = LIMIT_OPTION_COUNT;
		if (quals != NULL)
		{
			Node	   *own = ReplaceVarsFromTargetList(copyObject(quals), rti, 0,
														 rt_fetch(rti, q->rtable),
														 branch->targetList,
														 REPLACEVARS_REPORT_ERROR, 0,
														 &branch->hasSubLinks);

			branch->jointree->quals = make_and_qual(branch->jointree->quals, own);
		}
	}
	/* Every branch applies it now, to the values the query would have seen. */
	q->jointree->quals = NULL;
}

static void
mask_relation(Query *q, Index rti, RangeTblEntry *rte, Relation rel, const TableEntry *table,
			  int npolicy)
{
	bool		any;
	List	   *tlist = masked_tlist(rel, table, 'r', &any);
	List	   *arms = policy_arms(q, rti, rte, npolicy);
	Query	   *sub;
	RangeTblEntry *inner;
	RowMarkClause *mark;
	SystemVarContext cxt;

	if (!any && arms == NIL)
		return;

	sub = rewritten_select(rte, tlist);
	/* The policies PostgreSQL chose for this reference, not a fresh choice. */
	inner = linitial_node(RangeTblEntry, sub->rtable);
	inner->securityQuals = rte->securityQuals;
	ChangeVarNodes((Node *) inner->securityQuals, rti, 1, 0);
	if (list_length(inner->securityQuals) > npolicy)
	{
		ColumnMasks masks = masks_of(sub->targetList, RelationGetDescr(rel)->natts);
		ResultMaskContext cxt = {1, 0, rel, &masks};

		for (int i = npolicy; i < list_length(inner->securityQuals); i++)
			list_nth_cell(inner->securityQuals, i)->ptr_value =
				mask_result_vars(list_nth(inner->securityQuals, i), &cxt);
	}
	mark = get_parse_rowmark(q, rti);
	if (mark != NULL)
	{
		q->rowMarks = list_delete_ptr(q->rowMarks, mark);
		applyLockingClause(sub, 1, mark->strength, mark->waitPolicy, true);
	}
	if (arms != NIL)
	{
		List	   *quals = inner->securityQuals;
		List	   *groups = arms_by_gate(((BoolExpr *) llast(quals))->args);

		if (list_length(groups) <= ACL_MAX_BRANCHES)
		{
			sub = union_of_arms(sub, list_truncate(list_copy(quals), list_length(quals) - 1), groups);
			push_limit_into_branches(q, rti, sub);
		}
	}

	rte->rtekind = RTE_SUBQUERY;
	rte->subquery = sub;
	rte->security_barrier = false;
	rte->relid = InvalidOid;
	rte->relkind = 0;
	rte->rellockmode = 0;
	rte->tablesample = NULL;
	rte->inh = false;
	rte->requiredPerms = 0;
	rte->checkAsUser = InvalidOid;
	rte->selectedCols = NULL;
	rte->insertedCols = NULL;
	rte->updatedCols = NULL;
	rte->extraUpdatedCols = NULL;
	rte->securityQuals = NIL;

	cxt.rti = rti;
	cxt.depth = 0;
	cxt.sub = sub;
	(void) query_tree_walker(q, remap_system_vars, &cxt, QTW_IGNORE_RT_SUBQUERIES);
	/* Lateral subqueries may refer to it too. */
	cxt.depth = 0;
	{
		ListCell   *lc;

		foreach(lc, q->rtable)
		{
			RangeTblEntry *other = lfirst(lc);

			if (other->rtekind == RTE_SUBQUERY && other != rte)
				(void) remap_system_vars((Node *) other->subquery, &cxt);
		}
	}
}

/* ------------------------------------------------------------------------
 * The target of a write: masks in place, field checks, presets, validation.
 * ---------------------------------------------------------------------- */


static Expr *
masked_whole_row(Var *var, ResultMaskContext *cxt)
{
	TupleDesc	desc = RelationGetDescr(cxt->rel);
	RowExpr    *row = makeNode(RowExpr);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Var		   *col;

		if (att->attisdropped)
		{
			row->args = lappend(row->args, makeNullConst(INT4OID, -1, InvalidOid));
			row->colnames = lappend(row->colnames, makeString(pstrdup("")));
			continue;
		}
		col = column_var(att, var->varno);
		col->varlevelsup = var->varlevelsup;
		row->args = lappend(row->args, mask_result_vars((Node *) col, cxt));
		row->colnames = lappend(row->colnames, makeString(pstrdup(NameStr(att->attname))));
	}
	row->row_typeid = var->vartype;
	row->row_format = COERCE_IMPLICIT_CAST;
	row->location = var->location;
	return (Expr *) row;
}

static Node *
mask_result_vars(Node *node, ResultMaskContext *cxt)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		if (var->varno != cxt->varno || var->varlevelsup != cxt->depth)
			return node;
		if (var->varattno > 0 && var->varattno <= cxt->masks->natts &&
			cxt->masks->masked[var->varattno - 1] != NULL)
			return (Node *) relocated(cxt->masks->masked[var->varattno - 1], cxt->varno, cxt->depth);
		if (var->varattno == 0)
			return (Node *) masked_whole_row(var, cxt);
		return node;
	}
	if (IsA(node, Query))
	{
		Node	   *result;

		cxt->depth++;
		result = (Node *) query_tree_mutator((Query *) node, mask_result_vars, cxt, 0);
		cxt->depth--;
		return result;
	}
	return expression_tree_mutator(node, mask_result_vars, cxt);
}

/* acl.<name>(NULL::<type of att>, rel, action, column) */
static Expr *
typed_call(const char *name, Form_pg_attribute att, Oid relid, char action)
{
	Oid			argtypes[4] = {ANYELEMENTOID, REGCLASSOID, TEXTOID, TEXTOID};
	List	   *args = list_make4(makeNullConst(att->atttypid, att->atttypmod, att->attcollation),
								  regclass_const(relid), text_const(action_name(action)),
								  text_const(NameStr(att->attname)));

	return (Expr *) makeFuncExpr(acl_function(name, 4, argtypes), att->atttypid, args,
								 att->attcollation, InvalidOid, COERCE_EXPLICIT_CALL);
}

static bool
action_has(const TableEntry *table, char action, bool (*test) (const TablePermission *, const char *),
		   const char *column)
{
	for (int i = 0; i < table->npermissions; i++)
		if (table->permissions[i].action == action && test(&table->permissions[i], column))
			return true;
	return false;
}

static bool
presets_column(const TablePermission *p, const char *column)
{
	JsonbValue	key;

	if (p->presets == NULL)
		return false;
	key.type = jbvString;
	key.val.string.val = (char *) column;
	key.val.string.len = strlen(column);
	return findJsonbValueFromContainer(&p->presets->root, JB_FOBJECT, &key) != NULL;
}

static bool
validates(const TablePermission *p, const char *column)
{
	return p->validation != NULL;
}

static bool
presettable(Form_pg_attribute att)
{
	return !att->attisdropped && att->attgenerated == '\0' &&
		att->attidentity != ATTRIBUTE_IDENTITY_ALWAYS;
}

static TargetEntry *
tlist_entry(List *tlist, AttrNumber attno)
{
	ListCell   *lc;

	foreach(lc, tlist)
	{
		TargetEntry *tle = lfirst(lc);

		if (!tle->resjunk && tle->resno == attno)
			return tle;
	}
	return NULL;
}

/* Keeps the target list in attribute order, as the rewriter leaves it. */
static List *
tlist_insert(List *tlist, TargetEntry *tle)
{
	ListCell   *lc;
	int			pos = 0;

	foreach(lc, tlist)
	{
		TargetEntry *other = lfirst(lc);

		if (other->resjunk || other->resno > tle->resno)
			break;
		pos++;
	}
	return list_insert_nth(tlist, pos, tle);
}

/*
 * Presets fill the columns the statement does not write (spec §4.1 step 4,
 * §4.2 step 4): CASE WHEN (SELECT acl._has_preset(...)) THEN (SELECT
 * acl._preset(...)) ELSE <what the column gets otherwise> END.  Which user's
 * presets, and in which policy order, is decided when the statement runs.
 */
static List *
apply_presets(List *tlist, Relation rel, const TableEntry *table, char action,
			  Bitmapset *written, Index varno, bool *changed)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			argtypes[3] = {REGCLASSOID, TEXTOID, TEXTOID};

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		TargetEntry *tle;
		Expr	   *otherwise;
		Expr	   *has;

		if (!presettable(att) ||
			bms_is_member(att->attnum - FirstLowInvalidHeapAttributeNumber, written) ||
			!action_has(table, action, presets_column, NameStr(att->attname)))
			continue;
		tle = tlist_entry(tlist, att->attnum);
		if (tle != NULL)
			otherwise = tle->expr;
		else if (action == 'u')
			otherwise = (Expr *) column_var(att, varno);
		else
			otherwise = NULL;
		has = (Expr *) makeFuncExpr(acl_function("_has_preset", 3, argtypes), BOOLOID,
									list_make3(regclass_const(RelationGetRelid(rel)),
											   text_const(action_name(action)),
											   text_const(NameStr(att->attname))),
									InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
		otherwise = case_when(acl_initplan_of(has), acl_initplan_of(typed_call("_preset", att, RelationGetRelid(rel), action)),
							  otherwise, att->atttypid, att->atttypmod, att->attcollation);
		if (tle != NULL)
			tle->expr = otherwise;
		else
			tlist = tlist_insert(tlist, makeTargetEntry(otherwise, att->attnum,
														pstrdup(NameStr(att->attname)), false));
		*changed = true;
	}
	return tlist;
}

/*
 * The update field check that depends on the row (spec §4.2 step 2): each
 * SET column whose update permissions do not all grant it is written only
 * where a granting permission's rule matches the old row; elsewhere the
 * statement fails with 42501 before anything is changed.
 */
static void
check_update_fields(List *tlist, Relation rel, const TableEntry *table, Index varno, bool *changed)
{
	TupleDesc	desc = RelationGetDescr(rel);
	List	   *conditions = NIL;
	List	   *columns = NIL;
	ListCell   *lc;
	ListCell   *lc2;

	foreach(lc, tlist)
	{
		TargetEntry *tle = lfirst(lc);
		Form_pg_attribute att;
		Expr	   *cond;

		if (tle->resjunk || tle->resno <= 0 || tle->resno > desc->natts)
			continue;
		att = TupleDescAttr(desc, tle->resno - 1);
		cond = column_condition(rel, table, 'u', NameStr(att->attname));
		if (cond == NULL)
			continue;
		conditions = lappend(conditions, makeTargetEntry(cond, list_length(conditions) + 1, NULL, false));
		columns = lappend(columns, tle);
	}
	if (conditions == NIL)
		return;
	conditions = rewritten_select(plain_rte(rel), conditions)->targetList;
	forboth(lc, conditions, lc2, columns)
	{
		TargetEntry *cond = lfirst(lc);
		TargetEntry *tle = lfirst(lc2);
		Form_pg_attribute att = TupleDescAttr(desc, tle->resno - 1);

		tle->expr = case_when(relocated(cond->expr, varno, 0), tle->expr,
							  typed_call("_denied_field", att, RelationGetRelid(rel), 'u'),
							  att->atttypid, att->atttypmod, att->attcollation);
	}
	*changed = true;
}

static Expr *
jsonb_object_of(List *columns, Relation rel, Index varno)
{
	TupleDesc	desc = RelationGetDescr(rel);
	List	   *args = NIL;
	ListCell   *lc;

	foreach(lc, columns)
	{
		Form_pg_attribute att = TupleDescAttr(desc, lfirst_int(lc) - 1);

		args = lappend(args, text_const(NameStr(att->attname)));
		args = lappend(args, column_var(att, varno));
	}
	if (args == NIL)
		return (Expr *) makeFuncExpr(F_JSONB_BUILD_OBJECT_, JSONBOID, NIL, InvalidOid, InvalidOid,
									 COERCE_EXPLICIT_CALL);
	return (Expr *) makeFuncExpr(F_JSONB_BUILD_OBJECT_ANY, JSONBOID, args, InvalidOid, InvalidOid,
								 COERCE_EXPLICIT_CALL);
}

/*
 * A permission's presets and validation rule as parsed, kept with the
 * table's permissions: a write copies them and resolves the copy.
 */
static void
parse_write_rules(TableEntry *table, TablePermission *p)
{
	MemoryContext old;

	if (p->id_text != NULL)
		return;
	old = MemoryContextSwitchTo(table->context);
	if (p->presets != NULL)
		p->parsed_presets = acl_json_from_jsonb(p->presets);
	if (p->validation != NULL)
		p->parsed_validation = acl_rule_from_json(acl_json_from_jsonb(p->validation), "validation");
	p->id_text = psprintf(INT64_FORMAT, p->id);
	MemoryContextSwitchTo(old);
}

/*
 * The payload members the validation rules of (table, action) read, over
 * every permission whatever its policy, since one plan serves every end
 * user.  A change of any rule replans the table (acl._sync_table).
 */
static List *
validated_fields(TableEntry *table, char action)
{
	List	   *fields = NIL;

	for (int i = 0; i < table->npermissions; i++)
	{
		TablePermission *p = &table->permissions[i];

		if (p->action != action || p->validation == NULL)
			continue;
		parse_write_rules(table, p);
		fields = list_concat_unique(fields, acl_validation_fields(p->parsed_validation));
	}
	return fields;
}

/*
 * Validation (spec §5) runs on the new row as a check option, after BEFORE
 * triggers, on the columns the statement wrote plus those a preset may
 * have filled: acl._validate(rel, action, written, presettable, read).
 * Only the columns some rule reads go into the payload, converting a
 * column to JSON being most of the check's cost; read lists them, so that
 * a rule that reads another column, which this plan would have left out,
 * fails the write instead of passing on a missing member.
 */
static void
add_validation(Query *q, Relation rel, TableEntry *table, char action,
			   Bitmapset *written, WCOKind kind)
{
	TupleDesc	desc = RelationGetDescr(rel);
	List	   *written_cols = NIL;
	List	   *preset_cols = NIL;
	List	   *read;
	Datum	   *read_names;
	int			nread = 0;
	ListCell   *lc;
	Oid			argtypes[5] = {REGCLASSOID, TEXTOID, JSONBOID, JSONBOID, TEXTARRAYOID};
	WithCheckOption *wco;

	if (!action_has(table, action, validates, NULL))
		return;
	read = validated_fields(table, action);
	read_names = palloc(sizeof(Datum) * Max(list_length(read), 1));
	foreach(lc, read)
		read_names[nread++] = CStringGetTextDatum(strVal(lfirst(lc)));
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || !list_member(read, makeString(NameStr(att->attname))))
			continue;
		if (bms_is_member(att->attnum - FirstLowInvalidHeapAttributeNumber, written))
			written_cols = lappend_int(written_cols, att->attnum);
		else if (presettable(att) && action_has(table, action, presets_column, NameStr(att->attname)))
			preset_cols = lappend_int(preset_cols, att->attnum);
	}
	wco = makeNode(WithCheckOption);
	wco->kind = kind;
	wco->relname = pstrdup(RelationGetRelationName(rel));
	wco->polname = pstrdup("acl validation");
	wco->qual = (Node *) makeFuncExpr(acl_function("_validate", 5, argtypes), BOOLOID,
									  list_make5(regclass_const(RelationGetRelid(rel)),
												 text_const(action_name(action)),
												 jsonb_object_of(written_cols, rel, q->resultRelation),
												 jsonb_object_of(preset_cols, rel, q->resultRelation),
												 makeConst(TEXTARRAYOID, -1, InvalidOid, -1,
														   PointerGetDatum(construct_array(read_names, nread, TEXTOID,
																						   -1, false, TYPALIGN_INT)),
														   false, false)),
									  InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
	wco->cascaded = false;
	q->withCheckOptions = lappend(q->withCheckOptions, wco);
}

static Bitmapset *
tlist_columns(List *tlist)
{
	Bitmapset  *cols = NULL;
	ListCell   *lc;

	foreach(lc, tlist)
	{
		TargetEntry *tle = lfirst(lc);

		if (!tle->resjunk)
			cols = bms_add_member(cols, tle->resno - FirstLowInvalidHeapAttributeNumber);
	}
	return cols;
}

static bool
has_view_check(Query *q)
{
	ListCell   *lc;

	foreach(lc, q->withCheckOptions)
		if (((WithCheckOption *) lfirst(lc))->kind == WCO_VIEW_CHECK)
			return true;
	return false;
}

static void
enforce_result_relation(Query *q, RangeTblEntry *rte, Relation rel, TableEntry *table,
						int npolicy)
{
	/* A plain INSERT observes no value of the table: nothing to mask. */
	bool		observes = q->commandType != CMD_INSERT || q->returningList != NIL ||
		q->onConflict != NULL || has_view_check(q);
	ColumnMasks masks = observes ? column_masks(rel, table, 'r')
		: masks_of(NIL, RelationGetDescr(rel)->natts);
	bool		changed = masks.any;

	if (masks.any)
	{
		ResultMaskContext cxt = {q->resultRelation, 0, rel, &masks};

		if (q->commandType != CMD_INSERT)
			q->targetList = (List *) mask_result_vars((Node *) q->targetList, &cxt);
		q->returningList = (List *) mask_result_vars((Node *) q->returningList, &cxt);
		q->jointree = (FromExpr *) mask_result_vars((Node *) q->jointree, &cxt);
		q->mergeActionList = (List *) mask_result_vars((Node *) q->mergeActionList, &cxt);
		if (q->onConflict != NULL)
		{
			q->onConflict->onConflictSet = (List *) mask_result_vars((Node *) q->onConflict->onConflictSet, &cxt);
			q->onConflict->onConflictWhere = mask_result_vars(q->onConflict->onConflictWhere, &cxt);
		}
		/* Quals and check options of views written through. */
		for (int i = npolicy; i < list_length(rte->securityQuals); i++)
			list_nth_cell(rte->securityQuals, i)->ptr_value =
				mask_result_vars(list_nth(rte->securityQuals, i), &cxt);
		{
			ListCell   *lc;

			foreach(lc, q->withCheckOptions)
			{
				WithCheckOption *wco = lfirst(lc);

				if (wco->kind == WCO_VIEW_CHECK)
					wco->qual = mask_result_vars(wco->qual, &cxt);
			}
		}
	}

	switch (q->commandType)
	{
		case CMD_INSERT:
			q->targetList = apply_presets(q->targetList, rel, table, 'c', rte->insertedCols,
										  q->resultRelation, &changed);
			add_validation(q, rel, table, 'c', rte->insertedCols, WCO_RLS_INSERT_CHECK);
			if (q->onConflict != NULL && q->onConflict->action == ONCONFLICT_UPDATE)
			{
				Bitmapset  *set = tlist_columns(q->onConflict->onConflictSet);

				check_update_fields(q->onConflict->onConflictSet, rel, table, q->resultRelation, &changed);
				q->onConflict->onConflictSet = apply_presets(q->onConflict->onConflictSet, rel, table, 'u',
															 set, q->resultRelation, &changed);
				add_validation(q, rel, table, 'u', set, WCO_RLS_UPDATE_CHECK);
			}
			break;
		case CMD_UPDATE:
			check_update_fields(q->targetList, rel, table, q->resultRelation, &changed);
			q->targetList = apply_presets(q->targetList, rel, table, 'u', rte->updatedCols,
										  q->resultRelation, &changed);
			add_validation(q, rel, table, 'u', rte->updatedCols, WCO_RLS_UPDATE_CHECK);
			break;
		case CMD_MERGE:
			{
				ListCell   *lc;

				/* Presets and validation of MERGE actions are not built: refuse rather than skip. */
				for (int i = 0; i < table->npermissions; i++)
					if ((table->permissions[i].action == 'c' || table->permissions[i].action == 'u') &&
						(table->permissions[i].presets || table->permissions[i].validation))
						ereport(ERROR,
								(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
								 errmsg("MERGE into table \"%s\" is not supported by acl",
										RelationGetRelationName(rel)),
								 errdetail("Permission " INT64_FORMAT " on the table has presets or validation, which acl applies only to INSERT and UPDATE.",
										   table->permissions[i].id),
								 errhint("Use INSERT ... ON CONFLICT or separate INSERT and UPDATE statements.")));
				foreach(lc, q->mergeActionList)
				{
					MergeAction *action = lfirst(lc);

					if (action->commandType == CMD_UPDATE)
						check_update_fields(action->targetList, rel, table, q->resultRelation, &changed);
				}
			}
			break;
		default:
			break;
	}
	if (changed)
		q->hasSubLinks = true;
}

/* ------------------------------------------------------------------------
 * The walk over a query and everything nested in it.
 * ---------------------------------------------------------------------- */

static void enforce_query(Query *q, PlannerInfo *root);

/*
 * How many of a reference's security quals are its table's row-level
 * security policies, which the rewriter puts first.  The rest come from
 * security-barrier views written through: the caller's expressions, which
 * must see masks like any other part of the query.
 */
static int
policy_qual_count(Query *q, RangeTblEntry *rte, Index rti)
{
	List	   *quals = NIL;
	List	   *check_options = NIL;
	bool		has_row_security = false;
	bool		has_sublinks = false;

	get_row_security_policies(q, rte, rti, &quals, &check_options, &has_row_security,
							  &has_sublinks);
	return Min(list_length(quals), list_length(rte->securityQuals));
}

static bool
enforce_sublinks(Node *node, PlannerInfo *root)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubLink))
		enforce_query(castNode(Query, ((SubLink *) node)->subselect), root);
	return expression_tree_walker(node, enforce_sublinks, root);
}

/*
 * The planner would inline a SQL set-returning function's body after this
 * hook has run, out of its reach; so inline it here, as the planner does
 * (preprocess_function_rtes), and mask the body like any subquery.  The
 * plan's dependency on the function is carried over by acl_planner.
 */
static bool
inline_function_rte(RangeTblEntry *rte, PlannerInfo *root)
{
	Query	   *body;

	rte->functions = (List *) eval_const_expressions(NULL, (Node *) rte->functions);
	body = inline_set_returning_function(root, rte);
	if (body == NULL)
		return false;
	rte->rtekind = RTE_SUBQUERY;
	rte->subquery = body;
	rte->security_barrier = false;
	rte->functions = NIL;
	rte->funcordinality = false;
	enforce_query(body, root);
	return true;
}

/* Whether row security applies to this reference; the rewriter asked the same. */
static bool
row_security_applies(RangeTblEntry *rte)
{
	return check_enable_rls(rte->relid, rte->checkAsUser, true) == RLS_ENABLED;
}

static void
enforce_query(Query *q, PlannerInfo *root)
{
	ListCell   *lc;
	Index		rti = 0;
	bool		result_unmanaged = false;

	check_stack_depth();
	foreach(lc, q->cteList)
		enforce_query(castNode(Query, ((CommonTableExpr *) lfirst(lc))->ctequery), root);

	/* Expressions the query itself wrote. */
	(void) enforce_sublinks((Node *) q->targetList, root);
	(void) enforce_sublinks((Node *) q->returningList, root);
	(void) enforce_sublinks((Node *) q->jointree, root);
	(void) enforce_sublinks(q->havingQual, root);
	(void) enforce_sublinks(q->limitOffset, root);
	(void) enforce_sublinks(q->limitCount, root);
	(void) enforce_sublinks((Node *) q->onConflict, root);
	(void) enforce_sublinks((Node *) q->mergeActionList, root);
	(void) enforce_sublinks((Node *) q->windowClause, root);

	foreach(lc, q->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);
		Relation	rel;

		rti++;
		switch (rte->rtekind)
		{
			case RTE_SUBQUERY:
				enforce_query(rte->subquery, root);
				continue;
			case RTE_FUNCTION:
				if (!inline_function_rte(rte, root))
					(void) enforce_sublinks((Node *) rte->functions, root);
				continue;
			case RTE_VALUES:
				(void) enforce_sublinks((Node *) rte->values_lists, root);
				continue;
			case RTE_TABLEFUNC:
				(void) enforce_sublinks((Node *) rte->tablefunc, root);
				continue;
			case RTE_RELATION:
				break;
			default:
				continue;
		}
		if (q->onConflict != NULL && rti == (Index) q->onConflict->exclRelIndex)
			continue;			/* EXCLUDED: the statement's own values */
		(void) enforce_sublinks((Node *) rte->tablesample, root);
		/* Locked by the parser; on error, the resource owner lets it go. */
		rel = RelationIdGetRelation(rte->relid);
		if (!RelationIsValid(rel))
			elog(ERROR, "could not open relation with OID %u", rte->relid);
		if (acl_relation_is_managed(rel) && row_security_applies(rte))
		{
			TableEntry *table = table_permissions(rte->relid);
			int			npolicy = policy_qual_count(q, rte, rti);

			(void) enforce_sublinks((Node *) list_copy_tail(rte->securityQuals, npolicy), root);
			if (rti == (Index) q->resultRelation)
				enforce_result_relation(q, rte, rel, table, npolicy);
			else
				mask_relation(q, rti, rte, rel, table, npolicy);
		}
		else
		{
			/*
			 * The policies of a table acl does not manage are its owner's
			 * expressions, as untrusted as the query's own.
			 */
			(void) enforce_sublinks((Node *) rte->securityQuals, root);
			if (rti == (Index) q->resultRelation)
				result_unmanaged = true;
		}
		RelationClose(rel);
	}

	/*
	 * Check options: a view's are the caller's; a managed table's policies
	 * are acl's (or its DBA's) and read what they must.
	 */
	foreach(lc, q->withCheckOptions)
	{
		WithCheckOption *wco = lfirst(lc);

		if (wco->kind == WCO_VIEW_CHECK || result_unmanaged)
			(void) enforce_sublinks(wco->qual, root);
	}
}

/*
 * The executor checks the privileges of every range table entry at each
 * start, and a managed table read as branches has a copy of its entry,
 * and of the entries its rules' reads need, in every branch: W1's plan
 * asked the same question a dozen times (4 % of a prepared read).  A read
 * entry identical in everything the check looks at (relation, user,
 * columns) to one checked already is left out of the check.
 */
static void
check_each_read_once(List *rtable)
{
	List	   *checked = NIL;
	ListCell   *lc;

	foreach(lc, rtable)
	{
		RangeTblEntry *rte = lfirst(lc);
		ListCell   *lc2;

		if (rte->rtekind != RTE_RELATION || rte->requiredPerms != ACL_SELECT)
			continue;
		foreach(lc2, checked)
		{
			RangeTblEntry *other = lfirst(lc2);

			if (other->relid == rte->relid && other->checkAsUser == rte->checkAsUser &&
				bms_equal(other->selectedCols, rte->selectedCols))
			{
				rte->requiredPerms = 0;
				break;
			}
		}
		if (rte->requiredPerms != 0)
			checked = lappend(checked, rte);
	}
	list_free(checked);
}

static PlannedStmt *
plan_enforced(Query *parse, const char *query_string, int cursorOptions, ParamListInfo boundParams)
{
	PlannerGlobal *glob = makeNode(PlannerGlobal);
	PlannerInfo *root = makeNode(PlannerInfo);
	PlannedStmt *result;
	bool		gates_replaced = false;

	/* Only what inline_set_returning_function records: its dependencies. */
	root->glob = glob;
	root->query_level = 1;
	root->planner_cxt = CurrentMemoryContext;
	if (parse->commandType != CMD_UTILITY)
	{
		enforce_query(parse, root);
		gates_replaced = acl_gates_to_once_calls(parse);
	}
	if (prev_planner_hook)
		result = prev_planner_hook(parse, query_string, cursorOptions, boundParams);
	else
		result = standard_planner(parse, query_string, cursorOptions, boundParams);
	if (gates_replaced)
		acl_once_calls_to_initplans(result);
	acl_defer_branch_initplans(result);
	check_each_read_once(result->rtable);
	result->invalItems = list_concat(result->invalItems, glob->invalItems);
	result->dependsOnRole |= glob->dependsOnRole;
	return result;
}

/*
 * Planning a statement under row security plans one branch per policy and
 * allocates megabytes, all garbage once the plan is made.  Freed with the
 * statement's context, that much memory makes glibc return the top of its
 * heap to the kernel, and the next statement faults it back in page by
 * page: in a loop of such statements the faults cost more than planning.
 * These statements are therefore planned in a context the backend keeps,
 * whose first block grows to what planning has needed (up to
 * PLANNING_BLOCK_MAX) and is reused rather than freed.
 *
 * Nothing outside may point into that context once planning returns.  The
 * planner rewrites its query in place, and callers read their query after
 * planning (CREATE TABLE AS hands it to event triggers), so the planner gets
 * a copy; the plan is copied out.  Planning nested inside planning (SPI
 * lookups, functions folded as constants) uses its caller's context as usual.
 */
#define PLANNING_BLOCK_MIN	(256 * 1024)
#define PLANNING_BLOCK_MAX	(8 * 1024 * 1024)

static MemoryContext planning_context = NULL;
static Size planning_block = PLANNING_BLOCK_MIN;
static int	planning_depth = 0;

static bool
has_row_security_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
		return ((RangeTblEntry *) node)->securityQuals != NIL;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, has_row_security_walker, context,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, has_row_security_walker, context);
}

/* Empty the context, first growing its kept block to what was used. */
static void
reset_planning_context(void)
{
	Size		used;

	if (planning_context == NULL)
		return;
	used = MemoryContextMemAllocated(planning_context, false);
	if (used > planning_block && planning_block < PLANNING_BLOCK_MAX)
	{
		MemoryContextDelete(planning_context);
		planning_context = NULL;
		planning_block = Min(PLANNING_BLOCK_MAX, pg_nextpower2_size_t(used));
	}
	else
		MemoryContextReset(planning_context);
}

static MemoryContext
enter_planning_context(void)
{
	reset_planning_context();	/* after an error, what that planning left */
	if (planning_context == NULL)
		planning_context = AllocSetContextCreate(TopMemoryContext, "acl planning",
												 planning_block, planning_block,
												 ALLOCSET_DEFAULT_MAXSIZE);
	return MemoryContextSwitchTo(planning_context);
}

/* plan_enforced(), counted as nested planning; restores `caller` on error too. */
static PlannedStmt *
plan_counted(Query *query, const char *query_string, int cursorOptions,
			 ParamListInfo boundParams, MemoryContext caller)
{
	PlannedStmt *volatile result = NULL;

	planning_depth++;
	PG_TRY();
	{
		result = plan_enforced(query, query_string, cursorOptions, boundParams);
	}
	PG_FINALLY();
	{
		planning_depth--;
		MemoryContextSwitchTo(caller);
	}
	PG_END_TRY();
	return result;
}

/* Plans a copy of parse in the kept context; the plan is copied out. */
static PlannedStmt *
plan_in_kept_context(Query *parse, const char *query_string, int cursorOptions,
					 ParamListInfo boundParams)
{
	MemoryContext caller = CurrentMemoryContext;
	PlannedStmt *result;

	(void) enter_planning_context();
	result = plan_counted(copyObject(parse), query_string, cursorOptions, boundParams, caller);
	result = copyObject(result);
#ifdef ACL_PLANNING_CONTEXT_CHECK
	/* Tests: with MALLOC_PERTURB_, a stray pointer reads garbage. */
	MemoryContextDelete(planning_context);
	planning_context = NULL;
#else
	reset_planning_context();
#endif
	return result;
}

static PlannedStmt *
acl_planner(Query *parse, const char *query_string, int cursorOptions, ParamListInfo boundParams)
{
	PlannedStmt *result;
	AclPlanTicket ticket;

	if (planning_depth > 0 || parse->commandType == CMD_UTILITY ||
		!has_row_security_walker((Node *) parse, NULL))
		return plan_counted(parse, query_string, cursorOptions, boundParams,
							CurrentMemoryContext);

	result = acl_plan_cache_lookup(parse, query_string, cursorOptions, boundParams);
	if (result != NULL)
		return result;
	ticket = acl_plan_cache_ticket();
	result = plan_in_kept_context(parse, query_string, cursorOptions, boundParams);
	acl_plan_cache_store(parse, query_string, cursorOptions, boundParams, &ticket, result);
	return result;
}

/* ------------------------------------------------------------------------
 * Row-independent checks, at the start of every execution.
 * ---------------------------------------------------------------------- */

static void
deny_action(Relation rel, char action, const AclAccess *access)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s rows of table \"%s\"", action_name(action),
					RelationGetRelationName(rel)),
			 errdetail("No %s permission on table \"%s\" belongs to a policy of %s.",
					   action_name(action), RelationGetRelationName(rel), principal_text(access)),
			 errhint("Add a row to acl.permissions with collection '%s' and action '%s' for one of these policies.",
					 RelationGetRelationName(rel), action_name(action))));
}

/* The written columns must all be in the union of the held permissions' fields. */
static void
check_columns(Relation rel, const TableEntry *table, char action, Bitmapset *columns,
			  const AclAccess *access)
{
	TupleDesc	desc = RelationGetDescr(rel);
	StringInfoData denied;
	int			col = -1;
	int			ndenied = 0;

	initStringInfo(&denied);
	while ((col = bms_next_member(columns, col)) >= 0)
	{
		AttrNumber	attno = col + FirstLowInvalidHeapAttributeNumber;
		const char *name;
		bool		granted = false;

		if (attno <= 0 || attno > desc->natts)
			continue;
		name = NameStr(TupleDescAttr(desc, attno - 1)->attname);
		for (int i = 0; i < table->npermissions && !granted; i++)
			granted = table->permissions[i].action == action &&
				acl_access_holds(access, &table->permissions[i].policy) &&
				grants_column(&table->permissions[i], name);
		if (!granted)
			appendStringInfo(&denied, "%s\"%s\"", ndenied++ ? ", " : "", name);
	}
	if (ndenied > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s column%s %s of table \"%s\"",
						action == 'c' ? "write" : "update", ndenied > 1 ? "s" : "", denied.data,
						RelationGetRelationName(rel)),
				 errdetail("The %s permissions of %s on this table, %s, do not list %s in their fields.",
						   action_name(action), principal_name(access),
						   held_permissions_text(table, action, access), ndenied > 1 ? "them" : "it"),
				 errhint("Leave the column%s out of the statement, or add %s to the fields of one of these %s permissions.",
						 ndenied > 1 ? "s" : "", ndenied > 1 ? "them" : "it", action_name(action))));
}

static bool
holds_action(const TableEntry *table, char action, const AclAccess *access)
{
	for (int i = 0; i < table->npermissions; i++)
		if (table->permissions[i].action == action &&
			acl_access_holds(access, &table->permissions[i].policy))
			return true;
	return false;
}

static bool
acl_check_perms(List *rangeTable, bool ereport_on_violation)
{
	ListCell   *lc;

	if (prev_check_perms_hook && !prev_check_perms_hook(rangeTable, ereport_on_violation))
		return false;
	foreach(lc, rangeTable)
	{
		RangeTblEntry *rte = lfirst(lc);
		bool		writes;
		Relation	rel;

		if (rte->rtekind != RTE_RELATION)
			continue;
		writes = (rte->requiredPerms & (ACL_INSERT | ACL_DELETE)) ||
			!bms_is_empty(rte->updatedCols);
		if (!writes)
			continue;
		rel = RelationIdGetRelation(rte->relid);
		if (!RelationIsValid(rel))
			elog(ERROR, "could not open relation with OID %u", rte->relid);
		if (acl_relation_is_managed(rel) && row_security_applies(rte))
		{
			const AclAccess *access;
			const TableEntry *table;

			acl_require_preloaded();
			access = acl_current_access();
			table = table_permissions(rte->relid);
			if (!access->admin)
			{
				if ((rte->requiredPerms & ACL_INSERT) && !holds_action(table, 'c', access))
					deny_action(rel, 'c', access);
				if (!bms_is_empty(rte->updatedCols) && !holds_action(table, 'u', access))
					deny_action(rel, 'u', access);
				if ((rte->requiredPerms & ACL_DELETE) && !holds_action(table, 'd', access))
					deny_action(rel, 'd', access);
				if (rte->requiredPerms & ACL_INSERT)
					check_columns(rel, table, 'c', rte->insertedCols, access);
				check_columns(rel, table, 'u', rte->updatedCols, access);
			}
		}
		RelationClose(rel);
	}
	return true;
}

void
acl_enforce_init(void)
{
	/*
	 * Loaded by shared_preload_libraries in the postmaster, or by
	 * session_preload_libraries before the first transaction, or by a
	 * parallel worker for a leader that had it: early enough.
	 */
	acl_preloaded = process_shared_preload_libraries_in_progress ||
		!IsTransactionState() || IsParallelWorker();
	prev_planner_hook = planner_hook;
	planner_hook = acl_planner;
	prev_check_perms_hook = ExecutorCheckPerms_hook;
	ExecutorCheckPerms_hook = acl_check_perms;
	acl_branch_scan_init();
}

/* ------------------------------------------------------------------------
 * Run-time helpers the planner hook inserts.
 * ---------------------------------------------------------------------- */

/*
 * Branch k of n gates runs when gate k is the only open one, branch 0 when
 * two or more are; but branch n + 1, which reads every row, when two or
 * more are and every gate of a "cover" token is: their rules together
 * match every row.
 */
bool
acl_branch_runs(int32 branch, const AclOpenGates *gates)
{
	int			nopen = 0;

	for (int i = 0; i < gates->ngates; i++)
		nopen += gates->open[i] ? 1 : 0;
	if (nopen == 1)
		return branch >= 1 && branch <= gates->ngates && gates->open[branch - 1];
	if (nopen >= 2 && gates->covered)
		return branch == gates->ngates + 1;
	return nopen >= 2 && branch == 0;
}

/*
 * The current end user, resolved once for the gates of one decision:
 * resolving parses the settings and looks the user up, and one decision
 * reads up to ACL_MAX_BRANCHES gates.  The access points into the access
 * cache, valid until the next lookup of another user.
 */
typedef struct GateReader
{
	bool		resolved;
	bool		share_session;
	const AclAccess *access;
} GateReader;

static const AclAccess *
gate_reader_access(GateReader *reader)
{
	if (!reader->resolved)
	{
		reader->share_session = acl_current_principal().share != NULL;
		reader->access = acl_current_access();
		reader->resolved = true;
	}
	return reader->access;
}

/*
 * "policy <uuid> <action>": read for every gate of every execution, so not
 * with sscanf, which cost as much as the rest of the decision.
 */
static bool
parse_policy_gate(const char *token, pg_uuid_t *policy, char *action, size_t action_size)
{
	const char *rest;
	char		uuid[UUID_LEN * 2 + 5];
	size_t		len;

	if (strncmp(token, "policy ", 7) != 0)
		return false;
	token += 7;
	rest = strchr(token, ' ');
	if (rest == NULL || rest - token != sizeof(uuid) - 1)
		return false;
	memcpy(uuid, token, sizeof(uuid) - 1);
	uuid[sizeof(uuid) - 1] = '\0';
	rest++;
	len = strlen(rest);
	if (len == 0 || len >= action_size || strchr(rest, ' ') != NULL ||
		!acl_parse_uuid(uuid, policy))
		return false;
	memcpy(action, rest, len + 1);
	return true;
}

/*
 * The tokens of one gate array, parsed.  The same arrays are read at every
 * execution of every managed read, so the last few are kept parsed: a hit
 * costs a comparison of the array's bytes instead of parsing each token.
 */
typedef enum GateKind
{
	GATE_CLOSED,				/* a NULL token */
	GATE_ADMIN,
	GATE_POLICY,
	GATE_SHARE
} GateKind;

typedef struct ParsedGate
{
	GateKind	kind;
	pg_uuid_t	policy;
	char		action[16];
	Oid			relid;
} ParsedGate;

typedef struct ParsedGates
{
	MemoryContext context;		/* holds all of the entry; NULL: unused */
	Size		size;			/* the array's bytes, the key */
	char	   *bytes;
	int			ngates;
	ParsedGate *gates;
	int			ncovers;
	uint64	   *covers;			/* per cover, its gates' bits (position - 1) */
} ParsedGates;

/* Gates per array: a table's policy groups are far fewer (ACL_MAX_BRANCHES). */
#define GATE_MAX 64

#define GATE_CACHE_SIZE 8
static ParsedGates gate_cache[GATE_CACHE_SIZE];
static int	gate_cache_next = 0;

static void
parse_gate_token(const char *token, ParsedGate *gate)
{
	unsigned int relid;
	char		extra;

	memset(gate, 0, sizeof(ParsedGate));
	if (token == NULL)
		gate->kind = GATE_CLOSED;
	else if (strcmp(token, "admin") == 0)
		gate->kind = GATE_ADMIN;
	else if (parse_policy_gate(token, &gate->policy, gate->action, sizeof(gate->action)))
		gate->kind = GATE_POLICY;
	else if (sscanf(token, "share %u %c", &relid, &extra) == 1)
	{
		gate->kind = GATE_SHARE;
		gate->relid = (Oid) relid;
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid gate \"%s\"", token),
				 errdetail("A gate is \"admin\", \"policy <uuid> <action>\" or \"share <relation oid>\"."),
				 errhint("acl generates these calls; plans made by another acl version need the statement prepared again.")));
}

/*
 * A "cover p q ..." token: the positions (1-based, among the n gates
 * before it) of gates whose rules together match every row.
 */
static uint64
parse_cover_token(const char *token, int n)
{
	const char *p = token + strlen("cover");
	uint64		positions = 0;

	while (*p == ' ')
	{
		char	   *end;
		long		position;

		p++;
		errno = 0;
		position = strtol(p, &end, 10);
		if (end == p || errno != 0 || position < 1 || position > n || (*end != ' ' && *end != '\0'))
			break;
		positions |= UINT64CONST(1) << (position - 1);
		p = end;
	}
	if (*p != '\0' || positions == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid cover \"%s\"", token),
				 errdetail("A cover is \"cover\" followed by the positions of gates listed before it."),
				 errhint("acl generates these calls; plans made by another acl version need the statement prepared again.")));
	return positions;
}

/*
 * The parsed form of a text[] of gate tokens, "cover" tokens last; from
 * the cache, or parsed and validated (raising on a bad token) and kept.
 */
static const ParsedGates *
parsed_gates(ArrayType *array)
{
	Size		size = VARSIZE(array);
	ParsedGates parsed = {0};
	ParsedGates *entry;
	Datum	   *values;
	bool	   *nulls;
	int			n;
	MemoryContext old;

	for (int i = 0; i < GATE_CACHE_SIZE; i++)
		if (gate_cache[i].context != NULL && gate_cache[i].size == size &&
			memcmp(gate_cache[i].bytes, array, size) == 0)
			return &gate_cache[i];

	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &values, &nulls, &n);
	parsed.gates = palloc(sizeof(ParsedGate) * Max(n, 1));
	parsed.covers = palloc(sizeof(uint64) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		char	   *token = nulls[i] ? NULL : TextDatumGetCString(values[i]);

		if (token != NULL && strncmp(token, "cover", strlen("cover")) == 0)
			parsed.covers[parsed.ncovers++] = parse_cover_token(token, parsed.ngates);
		else if (parsed.ngates == GATE_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("more than %d acl branch gates", GATE_MAX),
					 errhint("acl generates these calls; plans made by another acl version need the statement prepared again.")));
		else if (i > parsed.ngates)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("acl branch gate \"%s\" follows a cover", token ? token : "NULL"),
					 errhint("acl generates these calls; plans made by another acl version need the statement prepared again.")));
		else
			parse_gate_token(token, &parsed.gates[parsed.ngates++]);
	}

	/* Valid: keep it, in place of the oldest entry. */
	entry = &gate_cache[gate_cache_next];
	gate_cache_next = (gate_cache_next + 1) % GATE_CACHE_SIZE;
	if (entry->context != NULL)
		MemoryContextDelete(entry->context);
	entry->context = AllocSetContextCreate(TopMemoryContext, "acl parsed gates",
										   ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(entry->context);
	entry->size = size;
	entry->bytes = palloc(size);
	memcpy(entry->bytes, array, size);
	entry->ngates = parsed.ngates;
	entry->gates = palloc(sizeof(ParsedGate) * Max(parsed.ngates, 1));
	memcpy(entry->gates, parsed.gates, sizeof(ParsedGate) * parsed.ngates);
	entry->ncovers = parsed.ncovers;
	entry->covers = palloc(sizeof(uint64) * Max(parsed.ncovers, 1));
	memcpy(entry->covers, parsed.covers, sizeof(uint64) * parsed.ncovers);
	MemoryContextSwitchTo(old);
	return entry;
}

/* A gate, evaluated for the current end user as acl.is_admin() and acl.has_policy() would. */
static bool
parsed_gate_open(const ParsedGate *gate, GateReader *reader)
{
	switch (gate->kind)
	{
		case GATE_CLOSED:
			return false;
		case GATE_ADMIN:
			return gate_reader_access(reader)->admin;
		case GATE_POLICY:
			{
				const AclAccess *access = gate_reader_access(reader);

				return acl_principal_holds(reader->share_session, access, &gate->policy, gate->action);
			}
		case GATE_SHARE:
			/* It may look up other users: the access kept may be freed. */
			reader->resolved = false;
			return acl_share_reads_relation(gate->relid);
	}
	return false;				/* keep compiler quiet */
}

/*
 * Which gates of an array are open: booleans as they are, tokens of
 * gate_token() evaluated.  NULL counts as closed, so an unresolvable gate
 * opens nothing.  "cover" tokens follow the gates.
 */
AclOpenGates
acl_open_gates(ArrayType *array, Oid elemtype)
{
	AclOpenGates gates = {0, NULL, false};
	GateReader	reader = {false, false, NULL};
	const ParsedGates *cached;
	ParsedGate	local[GATE_MAX];
	int			ngates;
	uint64		open = 0;
	bool		ran_queries = false;

	if (ARR_ELEMTYPE(array) != elemtype)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("acl branch gates must be of type %s", format_type_be(elemtype))));
	if (elemtype == BOOLOID)
	{
		Datum	   *values;
		bool	   *nulls;
		int			n;

		deconstruct_array(array, BOOLOID, 1, true, TYPALIGN_CHAR, &values, &nulls, &n);
		gates.open = palloc(sizeof(bool) * Max(n, 1));
		for (int i = 0; i < n; i++)
			gates.open[gates.ngates++] = !nulls[i] && DatumGetBool(values[i]);
		return gates;
	}

	/*
	 * Evaluated from a copy: a share gate runs queries, whose own gates may
	 * push this entry out of the cache, so after one it is looked up again.
	 */
	cached = parsed_gates(array);
	ngates = cached->ngates;
	memcpy(local, cached->gates, sizeof(ParsedGate) * ngates);
	gates.open = palloc(sizeof(bool) * Max(ngates, 1));
	for (int i = 0; i < ngates; i++)
	{
		gates.open[gates.ngates++] = parsed_gate_open(&local[i], &reader);
		if (gates.open[i])
			open |= UINT64CONST(1) << i;
		ran_queries |= (local[i].kind == GATE_SHARE);
	}
	if (ran_queries)
		cached = parsed_gates(array);
	for (int i = 0; i < cached->ncovers; i++)
		gates.covered |= (cached->covers[i] & open) == cached->covers[i];
	return gates;
}

PG_FUNCTION_INFO_V1(acl_branch_open);

/* acl._branch_open(branch, VARIADIC gates): whether a branch of a managed table's read runs. */
Datum
acl_branch_open(PG_FUNCTION_ARGS)
{
	AclOpenGates gates;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_BOOL(false);
	gates = acl_open_gates(PG_GETARG_ARRAYTYPE_P(1), BOOLOID);
	PG_RETURN_BOOL(acl_branch_runs(PG_GETARG_INT32(0), &gates));
}

PG_FUNCTION_INFO_V1(acl_branch_open_gates);

/* acl._branch_open_gates(branch, gates text[]): the same, gates as tokens. */
Datum
acl_branch_open_gates(PG_FUNCTION_ARGS)
{
	AclOpenGates gates;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_BOOL(false);
	acl_require_preloaded();
	gates = acl_open_gates(PG_GETARG_ARRAYTYPE_P(1), TEXTOID);
	PG_RETURN_BOOL(acl_branch_runs(PG_GETARG_INT32(0), &gates));
}

PG_FUNCTION_INFO_V1(acl_denied_field);

/* acl._denied_field(NULL::type, rel, action, column): always raises 42501. */
Datum
acl_denied_field(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(1);
	char	   *action = text_to_cstring(PG_GETARG_TEXT_PP(2));
	char	   *column = text_to_cstring(PG_GETARG_TEXT_PP(3));
	const AclAccess *access = acl_current_access();
	const TableEntry *table = table_permissions(relid);
	StringInfoData granting;
	int			n = 0;

	initStringInfo(&granting);
	for (int i = 0; i < table->npermissions; i++)
	{
		const TablePermission *p = &table->permissions[i];

		if (p->action == action_letter(action) && acl_access_holds(access, &p->policy) &&
			grants_column(p, column))
			appendStringInfo(&granting, "%s" INT64_FORMAT, n++ ? ", " : "", p->id);
	}
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s column \"%s\" of table \"%s\" on this row",
					action, column, get_rel_name(relid)),
			 errdetail("The rules of the %s permissions of %s that list \"%s\" (%s) do not match the row.",
					   action, principal_name(access), column, n ? granting.data : "none"),
			 errhint("Narrow the WHERE clause to rows such a permission matches, or leave \"%s\" out of the SET list.",
					 column)));
	PG_RETURN_NULL();
}

/*
 * What a write needs of the current end user's permissions for (rel,
 * action), kept for the statement since every row and preset column asks:
 * the presets merged in policy priority order (later wins, spec §3.2) and
 * the validation rules, all with variables resolved.
 */
typedef struct WriteRules
{
	Oid			relid;
	char		action;
	pg_uuid_t	user;
	bool		anonymous;
	uint32		lxid;
	TimestampTz statement_start;
	uint64		generation;
	AclJson    *presets;
	int			nvalidations;
	AclRule   **validations;
	char	  **validation_ids;
	List	  **validation_fields;	/* what each rule reads (String nodes) */
	char	   *relname;		/* for errors */
	ArrayType  *verified_read;	/* the last plan's column list found to cover
								 * validation_fields */
} WriteRules;

static WriteRules write_memo;
static MemoryContext write_memo_context = NULL;

static const WriteRules *
write_rules(Oid relid, char action)
{
	const AclAccess *access = acl_current_access();
	TableEntry *table;
	WriteRules	built;
	MemoryContext old;

	if (write_memo.presets != NULL && write_memo.relid == relid && write_memo.action == action &&
		write_memo.anonymous == access->anonymous && acl_uuid_equal(&write_memo.user, &access->user_id) &&
		write_memo.lxid == MyProc->lxid &&
		write_memo.statement_start == GetCurrentStatementStartTimestamp() &&
		write_memo.generation == acl_catalog_generation)
		return &write_memo;

	if (write_memo_context == NULL)
		write_memo_context = AllocSetContextCreate(TopMemoryContext, "acl write rules",
												   ALLOCSET_SMALL_SIZES);
	/* Unusable until complete: an error below must not leave half a memo. */
	write_memo.presets = NULL;
	MemoryContextReset(write_memo_context);
	memset(&built, 0, sizeof(built));
	built.relid = relid;
	built.action = action;
	built.user = access->user_id;
	built.anonymous = access->anonymous;
	built.lxid = MyProc->lxid;
	built.statement_start = GetCurrentStatementStartTimestamp();
	built.generation = acl_catalog_generation;
	table = table_permissions(relid);
	old = MemoryContextSwitchTo(write_memo_context);
	built.presets = acl_json_new(ACL_JSON_OBJECT, NULL);
	built.validations = palloc(sizeof(AclRule *) * Max(table->npermissions, 1));
	built.validation_ids = palloc(sizeof(char *) * Max(table->npermissions, 1));
	built.validation_fields = palloc(sizeof(List *) * Max(table->npermissions, 1));
	built.relname = get_rel_name(relid);

	/*
	 * First copy what applies, then resolve the copies: resolving may run
	 * SPI, which may reload the table cache that table and p point into.
	 * Administrators skip permission rows, presets and validation included
	 * (spec §2.5).
	 */
	if (!access->admin)
	{
		for (int pol = 0; pol < access->npolicies; pol++)
			for (int i = 0; i < table->npermissions; i++)
			{
				TablePermission *p = &table->permissions[i];

				if (p->action != action || !acl_uuid_equal(&p->policy, &access->policies[pol]))
					continue;
				parse_write_rules(table, p);
				if (p->parsed_presets != NULL)
					for (int k = 0; k < p->parsed_presets->count; k++)
						acl_json_object_set(built.presets, p->parsed_presets->keys[k],
											acl_json_copy(p->parsed_presets->items[k]));
				if (p->parsed_validation != NULL)
				{
					built.validations[built.nvalidations] = acl_rule_copy(p->parsed_validation);
					built.validation_ids[built.nvalidations++] = pstrdup(p->id_text);
				}
			}
	}
	for (int i = 0; i < built.nvalidations; i++)
	{
		acl_resolve_rule(built.validations[i]);
		built.validation_fields[i] = acl_validation_fields(built.validations[i]);
	}
	built.presets = acl_resolve_dynamic(built.presets, "presets");
	MemoryContextSwitchTo(old);
	write_memo = built;
	return &write_memo;
}

static AclJson *
preset_for(Oid relid, const char *action, const char *column)
{
	AclJson    *merged = write_rules(relid, action_letter(action))->presets;

	for (int k = 0; k < merged->count; k++)
		if (strcmp(merged->keys[k], column) == 0)
			return merged->items[k];
	return NULL;
}

PG_FUNCTION_INFO_V1(acl_has_preset);

/* acl._has_preset(rel, action, column) */
Datum
acl_has_preset(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(preset_for(PG_GETARG_OID(0), text_to_cstring(PG_GETARG_TEXT_PP(1)),
							  text_to_cstring(PG_GETARG_TEXT_PP(2))) != NULL);
}

/* A JSON value as the text a type's input function reads. */
static char *
preset_text(AclJson *value, Oid type, const char *column)
{
	Oid			element = get_element_type(type);
	StringInfoData out;

	if (value->kind == ACL_JSON_NULL)
		return NULL;
	if (type == JSONOID || type == JSONBOID || value->kind == ACL_JSON_OBJECT ||
		(value->kind == ACL_JSON_ARRAY && !OidIsValid(element)))
	{
		if (type != JSONOID && type != JSONBOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("preset for column \"%s\" is JSON, but the column is of type %s",
							column, format_type_be(type)),
					 errhint("Change the preset in acl.permissions to a value of the column's type.")));
		initStringInfo(&out);
		acl_json_append(&out, value);
		return out.data;
	}
	if (value->kind != ACL_JSON_ARRAY)
		return pstrdup(value->text);
	/* An array literal whose elements are the JSON array's scalars. */
	initStringInfo(&out);
	appendStringInfoChar(&out, '{');
	for (int i = 0; i < value->count; i++)
	{
		AclJson    *item = value->items[i];

		if (i > 0)
			appendStringInfoChar(&out, ',');
		if (item->kind == ACL_JSON_NULL)
		{
			appendStringInfoString(&out, "NULL");
			continue;
		}
		if (item->kind == ACL_JSON_ARRAY || item->kind == ACL_JSON_OBJECT)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("preset for column \"%s\" nests arrays or objects", column),
					 errhint("Array presets hold scalars.")));
		appendStringInfoChar(&out, '"');
		for (const char *c = item->text; *c; c++)
		{
			if (*c == '"' || *c == '\\')
				appendStringInfoChar(&out, '\\');
			appendStringInfoChar(&out, *c);
		}
		appendStringInfoChar(&out, '"');
	}
	appendStringInfoChar(&out, '}');
	return out.data;
}

PG_FUNCTION_INFO_V1(acl_preset);

/* acl._preset(NULL::type, rel, action, column): the preset, as the column's type. */
Datum
acl_preset(PG_FUNCTION_ARGS)
{
	Oid			type = get_fn_expr_argtype(fcinfo->flinfo, 0);
	Node	   *expr = fcinfo->flinfo->fn_expr;
	int32		typmod = -1;
	char	   *column = text_to_cstring(PG_GETARG_TEXT_PP(3));
	AclJson    *value = preset_for(PG_GETARG_OID(1), text_to_cstring(PG_GETARG_TEXT_PP(2)), column);
	char	   *text;
	Oid			input;
	Oid			ioparam;

	if (!OidIsValid(type) || value == NULL)
		PG_RETURN_NULL();
	if (expr != NULL && IsA(expr, FuncExpr))
		typmod = exprTypmod(linitial(((FuncExpr *) expr)->args));
	text = preset_text(value, type, column);
	if (text == NULL)
		PG_RETURN_NULL();
	getTypeInputInfo(type, &input, &ioparam);
	PG_RETURN_DATUM(OidInputFunctionCall(input, text, ioparam, typmod));
}

PG_FUNCTION_INFO_V1(acl_validate_write);

/*
 * Every column the current rules read must be among those the plan hands
 * validation (read): a rule changed since the plan was made fails the
 * write.  Checked when the rules or the plan's list change, not per row.
 */
static void
check_planned_fields(const WriteRules *rules, ArrayType *read)
{
	Datum	   *names;
	int			nnames;

	Assert(rules == &write_memo);
	if (rules->verified_read != NULL && VARSIZE(rules->verified_read) == VARSIZE(read) &&
		memcmp(rules->verified_read, read, VARSIZE(read)) == 0)
		return;
	deconstruct_array(read, TEXTOID, -1, false, TYPALIGN_INT, &names, NULL, &nnames);
	for (int i = 0; i < rules->nvalidations; i++)
	{
		ListCell   *lc;

		foreach(lc, rules->validation_fields[i])
		{
			const char *field = strVal(lfirst(lc));
			bool		planned = false;

			for (int k = 0; k < nnames && !planned; k++)
				planned = strcmp(TextDatumGetCString(names[k]), field) == 0;
			if (!planned)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("validation of %s reads column \"%s\", which this statement's plan does not give it",
								rules->relname, field),
						 errdetail("The validation rule of permission %s reads \"%s\"; the plan hands validation only the columns the rules read when it was made (a rule changed since).",
								   rules->validation_ids[i], field),
						 errhint("Run the statement again; acl.sync() replans the table's statements when its rules change.")));
		}
	}
	write_memo.verified_read = copy_into(write_memo_context, read, VARSIZE(read));
}

/*
 * acl._validate(rel, action, written, presettable, read): the AND of the
 * validation rules of the current user's permissions for (rel, action)
 * over the written columns and the preset ones (spec §4.1 step 5); true, or
 * 23514 listing every failure.  The payload holds only the columns in
 * read, those the rules read when the statement was planned.
 */
Datum
acl_validate_write(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char		action = action_letter(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	AclJson    *payload = acl_json_from_jsonb(PG_GETARG_JSONB_P(2));
	AclJson    *presettable = acl_json_from_jsonb(PG_GETARG_JSONB_P(3));
	const WriteRules *rules = write_rules(relid, action);
	AclJson    *merged = rules->presets;

	check_planned_fields(rules, PG_GETARG_ARRAYTYPE_P(4));
	for (int k = 0; k < presettable->count; k++)
		for (int m = 0; m < merged->count; m++)
			if (strcmp(presettable->keys[k], merged->keys[m]) == 0)
				acl_json_object_set(payload, presettable->keys[k], presettable->items[k]);
	for (int i = 0; i < rules->nvalidations; i++)
		acl_check_validation_rule(rules->validations[i], payload, rules->relname,
								  rules->validation_ids[i]);
	PG_RETURN_BOOL(true);
}
