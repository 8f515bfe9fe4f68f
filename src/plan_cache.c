/*-------------------------------------------------------------------------
 *
 * plan_cache.c
 *	  Reuse of the plans of unprepared statements under row security.
 *
 * acl's plans never depend on the end user: the gates and identity lookups
 * are read when the plan runs, which is why one prepared statement serves
 * every user of a pooled connection.  Under acl an application also stops
 * writing "WHERE owner = <me>" into its SQL, so the same statement text
 * serves every user.  Yet a statement sent without PREPARE is planned each
 * time, and under row security that planning (one branch per policy) costs
 * far more than running a short read.  This file keeps such plans, per
 * backend, as PostgreSQL's plan cache keeps a prepared statement's generic
 * plan, and hands a copy to the next identical statement.
 *
 * A plan is reused only for the same parse tree (equal(), after rewriting,
 * so with the same row security policies), the same cursor options, the
 * same current role and the same planner settings, and only while nothing
 * it depends on changed: the relations and functions PostgreSQL records in
 * the plan (invalidated through the relcache and syscache callbacks, as
 * plancache.c does), the acl catalog generation, and at most
 * PLAN_MAX_AGE_SECS of age, so estimates follow a growing table even where
 * no ANALYZE invalidates them.  Statements with bound parameter values are
 * planned for those values and are never kept.  A statement is kept the
 * second time it is planned, so that statements sent once (literal values
 * that differ each time) cost only a hash probe.
 *
 * A hit hands out the kept plan itself, under a header of its own: copying
 * it would cost a fifth of the planning it saves, and the executor never
 * writes to a plan (plancache.c shares generic plans the same way).  So an
 * entry that is invalidated, too old or evicted is only retired, and
 * retired entries are freed when the top-level transaction ends: by then no
 * executor can be running their plans (a holdable cursor has been
 * materialized, a procedure's COMMIT persists its open loops first), and
 * callers that keep a plan longer (PREPARE, SPI_keepplan, cursors) copy it.
 * Invalidation callbacks only mark entries.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "jit/jit.h"
#include "lib/ilist.h"
#include "miscadmin.h"
#include "optimizer/cost.h"
#include "optimizer/geqo.h"
#include "optimizer/optimizer.h"
#include "optimizer/paths.h"
#include "optimizer/planmain.h"
#include "storage/lmgr.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rls.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "acl.h"

#define PLAN_MAX_AGE_SECS	60
#define SEEN_SLOTS			256

/* Every planner setting a plan can depend on; compared with memcmp. */
typedef struct PlannerSettings
{
	double		seq_page_cost;
	double		random_page_cost;
	double		cpu_tuple_cost;
	double		cpu_index_tuple_cost;
	double		cpu_operator_cost;
	double		parallel_tuple_cost;
	double		parallel_setup_cost;
	double		recursive_worktable_factor;
	double		cursor_tuple_fraction;
	double		hash_mem_multiplier;
	double		geqo_selection_bias;
	double		geqo_seed;
	double		jit_above_cost;
	double		jit_inline_above_cost;
	double		jit_optimize_above_cost;
	int			effective_cache_size;
	int			max_parallel_workers_per_gather;
	int			constraint_exclusion;
	int			geqo_threshold;
	int			geqo_effort;
	int			geqo_pool_size;
	int			geqo_generations;
	int			min_parallel_table_scan_size;
	int			min_parallel_index_scan_size;
	int			from_collapse_limit;
	int			join_collapse_limit;
	int			force_parallel_mode;
	int			work_mem;
	bool		enables[26];
} PlannerSettings;

typedef struct CachedStatement
{
	dlist_node	lru;			/* most recently used first */
	MemoryContext context;		/* holds this struct and everything below */
	uint32		hash;
	int			cursor_options;
	Oid			role;
	PlannerSettings settings;
	char	   *search_path;
	uint64		catalog_generation;
	TimestampTz planned_at;
	bool		valid;			/* cleared by invalidation callbacks */
	bool		retired;
	Query	   *query;
	PlannedStmt *plan;
	int			nlocks;			/* the plan's distinct relation locks */
	Oid		   *lock_relids;
	LOCKMODE   *lock_modes;
} CachedStatement;

int			acl_plan_cache_kb = 4096;

static MemoryContext plan_cache_context = NULL;
static dlist_head cached_statements = DLIST_STATIC_INIT(cached_statements);
static dlist_head retired_statements = DLIST_STATIC_INIT(retired_statements);
static Size cached_bytes = 0;
static Size retired_bytes = 0;
static uint32 seen_once[SEEN_SLOTS];
static int64 plan_cache_hits = 0;
static int64 plan_cache_misses = 0;

/*
 * Bumped by every invalidation this file hears of, even with nothing kept:
 * a message that arrives while a statement is being planned (the planner
 * takes locks, and so reads messages) concerns a plan no entry holds yet.
 */
static uint64 invalidations_heard = 0;

static void
current_planner_settings(PlannerSettings *s)
{
	int			i = 0;

	/* Zeroed first: memcmp must not compare padding. */
	memset(s, 0, sizeof(*s));
	s->seq_page_cost = seq_page_cost;
	s->random_page_cost = random_page_cost;
	s->cpu_tuple_cost = cpu_tuple_cost;
	s->cpu_index_tuple_cost = cpu_index_tuple_cost;
	s->cpu_operator_cost = cpu_operator_cost;
	s->parallel_tuple_cost = parallel_tuple_cost;
	s->parallel_setup_cost = parallel_setup_cost;
	s->recursive_worktable_factor = recursive_worktable_factor;
	s->cursor_tuple_fraction = cursor_tuple_fraction;
	s->hash_mem_multiplier = hash_mem_multiplier;
	s->geqo_selection_bias = Geqo_selection_bias;
	s->geqo_seed = Geqo_seed;
	s->jit_above_cost = jit_above_cost;
	s->jit_inline_above_cost = jit_inline_above_cost;
	s->jit_optimize_above_cost = jit_optimize_above_cost;
	s->effective_cache_size = effective_cache_size;
	s->max_parallel_workers_per_gather = max_parallel_workers_per_gather;
	s->constraint_exclusion = constraint_exclusion;
	s->geqo_threshold = geqo_threshold;
	s->geqo_effort = Geqo_effort;
	s->geqo_pool_size = Geqo_pool_size;
	s->geqo_generations = Geqo_generations;
	s->min_parallel_table_scan_size = min_parallel_table_scan_size;
	s->min_parallel_index_scan_size = min_parallel_index_scan_size;
	s->from_collapse_limit = from_collapse_limit;
	s->join_collapse_limit = join_collapse_limit;
	s->force_parallel_mode = force_parallel_mode;
	s->work_mem = work_mem;
	s->enables[i++] = enable_seqscan;
	s->enables[i++] = enable_indexscan;
	s->enables[i++] = enable_indexonlyscan;
	s->enables[i++] = enable_bitmapscan;
	s->enables[i++] = enable_tidscan;
	s->enables[i++] = enable_sort;
	s->enables[i++] = enable_incremental_sort;
	s->enables[i++] = enable_hashagg;
	s->enables[i++] = enable_nestloop;
	s->enables[i++] = enable_material;
	s->enables[i++] = enable_memoize;
	s->enables[i++] = enable_mergejoin;
	s->enables[i++] = enable_hashjoin;
	s->enables[i++] = enable_gathermerge;
	s->enables[i++] = enable_partitionwise_join;
	s->enables[i++] = enable_partitionwise_aggregate;
	s->enables[i++] = enable_parallel_append;
	s->enables[i++] = enable_parallel_hash;
	s->enables[i++] = enable_partition_pruning;
	s->enables[i++] = enable_async_append;
	s->enables[i++] = enable_geqo;
	s->enables[i++] = parallel_leader_participation;
	s->enables[i++] = jit_enabled;
	s->enables[i++] = jit_expressions;
	s->enables[i++] = jit_tuple_deforming;
	s->enables[i++] = row_security;
	Assert(i == lengthof(s->enables));
}

static Size
entry_bytes(CachedStatement *entry)
{
	return MemoryContextMemAllocated(entry->context, true);
}

/* Out of the cache; freed when the transaction ends. */
static void
retire_statement(CachedStatement *entry)
{
	/* Planned again, it was worth keeping: keep it then without waiting. */
	seen_once[entry->hash % SEEN_SLOTS] = entry->hash;
	entry->retired = true;
	dlist_delete(&entry->lru);
	cached_bytes -= entry_bytes(entry);
	retired_bytes += entry_bytes(entry);
	dlist_push_head(&retired_statements, &entry->lru);
}

static void
free_retired(XactEvent event, void *arg)
{
	dlist_mutable_iter iter;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PREPARE)
		return;
	dlist_foreach_modify(iter, &retired_statements)
	{
		CachedStatement *entry = dlist_container(CachedStatement, lru, iter.cur);

		dlist_delete(&entry->lru);
		MemoryContextDelete(entry->context);
	}
	retired_bytes = 0;
}

/* Retires what invalidation marked. */
static void
sweep_invalid(void)
{
	dlist_mutable_iter iter;

	dlist_foreach_modify(iter, &cached_statements)
	{
		CachedStatement *entry = dlist_container(CachedStatement, lru, iter.cur);

		if (!entry->valid || entry->catalog_generation != acl_catalog_generation)
			retire_statement(entry);
	}
}

static bool
plan_reads_relation(PlannedStmt *plan, Oid relid)
{
	return list_member_oid(plan->relationOids, relid);
}

static void
plan_cache_relcache_callback(Datum arg, Oid relid)
{
	dlist_iter	iter;

	invalidations_heard++;
	dlist_foreach(iter, &cached_statements)
	{
		CachedStatement *entry = dlist_container(CachedStatement, lru, iter.cur);

		if (!OidIsValid(relid) || plan_reads_relation(entry->plan, relid))
			entry->valid = false;
	}
}

/* Functions and types: the plan's own invalItems, as plancache.c reads them. */
static void
plan_cache_object_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	dlist_iter	iter;

	invalidations_heard++;
	dlist_foreach(iter, &cached_statements)
	{
		CachedStatement *entry = dlist_container(CachedStatement, lru, iter.cur);
		ListCell   *lc;

		foreach(lc, entry->plan->invalItems)
		{
			PlanInvalItem *item = lfirst(lc);

			if (item->cacheId == cacheid &&
				(hashvalue == 0 || item->hashValue == hashvalue))
				entry->valid = false;
		}
	}
}

/* Namespaces, operators, roles and the like: anything may depend on them. */
static void
plan_cache_reset_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	dlist_iter	iter;

	invalidations_heard++;
	dlist_foreach(iter, &cached_statements)
		dlist_container(CachedStatement, lru, iter.cur)->valid = false;
}

static uint32
statement_hash(const char *query_string, int cursor_options)
{
	uint32		hash = hash_bytes((const unsigned char *) query_string, strlen(query_string));

	hash = hash_combine(hash, hash_uint32((uint32) cursor_options));
	return hash_combine(hash, hash_uint32((uint32) GetUserId()));
}

static bool
plan_cache_enabled(const char *query_string, ParamListInfo bound_params)
{
	return acl_plan_cache_kb > 0 && query_string != NULL && bound_params == NULL;
}

static bool
entry_matches(CachedStatement *entry, Query *parse, const PlannerSettings *settings)
{
	return memcmp(&entry->settings, settings, sizeof(*settings)) == 0 &&
		strcmp(entry->search_path, namespace_search_path) == 0 &&
		equal(entry->query, parse);
}

/*
 * The locks planning takes, and the executor of a kept plan expects held
 * (AcquireExecutorLocks).  Listed once, without repeats: a plan's range
 * table names each branch's relation again, and walking it cost more than
 * taking the locks.
 */
static void
list_plan_locks(CachedStatement *entry)
{
	ListCell   *lc;

	entry->lock_relids = palloc(sizeof(Oid) * list_length(entry->plan->rtable));
	entry->lock_modes = palloc(sizeof(LOCKMODE) * list_length(entry->plan->rtable));
	entry->nlocks = 0;
	foreach(lc, entry->plan->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);
		bool		listed = false;

		if (rte->rtekind != RTE_RELATION)
			continue;
		for (int i = 0; i < entry->nlocks && !listed; i++)
			listed = entry->lock_relids[i] == rte->relid &&
				entry->lock_modes[i] == rte->rellockmode;
		if (listed)
			continue;
		entry->lock_relids[entry->nlocks] = rte->relid;
		entry->lock_modes[entry->nlocks] = rte->rellockmode;
		entry->nlocks++;
	}
}

/*
 * A copy of the kept plan for this statement, or NULL.  The parse tree is
 * the caller's, untouched.
 */
PlannedStmt *
acl_plan_cache_lookup(Query *parse, const char *query_string, int cursor_options,
					  ParamListInfo bound_params)
{
	PlannerSettings settings;
	bool		have_settings = false;
	uint32		hash;
	dlist_iter	iter;
	CachedStatement *found = NULL;
	PlannedStmt *plan;

	if (!plan_cache_enabled(query_string, bound_params) || dlist_is_empty(&cached_statements))
		return NULL;
	sweep_invalid();
	hash = statement_hash(query_string, cursor_options);
	dlist_foreach(iter, &cached_statements)
	{
		CachedStatement *entry = dlist_container(CachedStatement, lru, iter.cur);

		if (entry->hash != hash || entry->cursor_options != cursor_options ||
			entry->role != GetUserId())
			continue;
		/* Read only once a statement matches: most lookups of one-off texts miss. */
		if (!have_settings)
			current_planner_settings(&settings);
		have_settings = true;
		if (entry_matches(entry, parse, &settings))
		{
			found = entry;
			break;
		}
	}
	if (found == NULL)
		return NULL;
	if (GetCurrentTimestamp() - found->planned_at >
		(TimestampTz) PLAN_MAX_AGE_SECS * USECS_PER_SEC)
	{
		retire_statement(found);
		return NULL;
	}

	/* Taking the locks may deliver invalidations that concern this plan. */
	for (int i = 0; i < found->nlocks; i++)
		LockRelationOid(found->lock_relids[i], found->lock_modes[i]);
	if (!found->valid || found->retired || found->catalog_generation != acl_catalog_generation)
		return NULL;

	dlist_move_head(&cached_statements, &found->lru);
	plan = palloc(sizeof(PlannedStmt));
	memcpy(plan, found->plan, sizeof(PlannedStmt));
	plan->queryId = parse->queryId;
	plan->canSetTag = parse->canSetTag;
	plan->stmt_location = parse->stmt_location;
	plan->stmt_len = parse->stmt_len;
	plan_cache_hits++;
	return plan;
}

/*
 * Before planning: what the plan will be made from.  A plan is not kept if
 * what planning reads from acl.* may predate an invalidation already
 * received (acl_cache_scope_now), or if any invalidation arrives while it
 * is made.
 */
AclPlanTicket
acl_plan_cache_ticket(void)
{
	AclCacheScope scope = acl_cache_scope_now();
	AclPlanTicket ticket;

	ticket.catalog_generation = scope.global ? scope.generation : 0;
	ticket.invalidations = invalidations_heard;
	return ticket;
}

/* Keep the plan just made from parse (untouched by planning), if worth it. */
void
acl_plan_cache_store(Query *parse, const char *query_string, int cursor_options,
					 ParamListInfo bound_params, const AclPlanTicket *ticket,
					 PlannedStmt *plan)
{
	uint32		hash;
	uint32	   *seen;
	MemoryContext context;
	MemoryContext old;
	CachedStatement *entry;
	Size		budget = (Size) acl_plan_cache_kb * 1024;

	if (!plan_cache_enabled(query_string, bound_params))
		return;
	plan_cache_misses++;
	/* Retired plans wait for the transaction's end: bound them too. */
	if (ticket->catalog_generation == 0 ||
		ticket->catalog_generation != acl_catalog_generation ||
		ticket->invalidations != invalidations_heard ||
		plan->transientPlan || retired_bytes > budget)
		return;
	hash = statement_hash(query_string, cursor_options);
	seen = &seen_once[hash % SEEN_SLOTS];
	if (*seen != hash)
	{
		*seen = hash;
		return;
	}
	*seen = 0;

	if (plan_cache_context == NULL)
		plan_cache_context = AllocSetContextCreate(CacheMemoryContext, "acl plan cache",
												   ALLOCSET_SMALL_SIZES);
	/* Under the caller's context until complete: an error frees it. */
	context = AllocSetContextCreate(CurrentMemoryContext, "acl cached statement",
									ALLOCSET_DEFAULT_SIZES);
	MemoryContextCopyAndSetIdentifier(context, query_string);
	old = MemoryContextSwitchTo(context);
	entry = palloc0(sizeof(CachedStatement));
	entry->context = context;
	entry->hash = hash;
	entry->cursor_options = cursor_options;
	entry->role = GetUserId();
	current_planner_settings(&entry->settings);
	entry->search_path = pstrdup(namespace_search_path);
	entry->catalog_generation = ticket->catalog_generation;
	entry->planned_at = GetCurrentTimestamp();
	entry->valid = true;
	entry->query = copyObject(parse);
	entry->plan = copyObject(plan);
	list_plan_locks(entry);
	MemoryContextSwitchTo(old);

	if (entry_bytes(entry) > budget)
	{
		MemoryContextDelete(context);
		return;
	}
	MemoryContextSetParent(context, plan_cache_context);
	cached_bytes += entry_bytes(entry);
	dlist_push_head(&cached_statements, &entry->lru);
	while (cached_bytes > budget)
		retire_statement(dlist_container(CachedStatement, lru,
										 dlist_tail_node(&cached_statements)));
}

static void
assign_plan_cache_kb(int newval, void *extra)
{
	/* Shrinking takes effect at the next store; 0 empties the cache now. */
	if (newval == 0)
		while (!dlist_is_empty(&cached_statements))
			retire_statement(dlist_container(CachedStatement, lru,
											 dlist_head_node(&cached_statements)));
}

PG_FUNCTION_INFO_V1(acl_plan_cache_stats);

/* acl.plan_cache_stats(): how the cache of this backend is doing. */
Datum
acl_plan_cache_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	int64		entries = 0;
	dlist_iter	iter;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "acl.plan_cache_stats must return a composite type");
	dlist_foreach(iter, &cached_statements)
		entries++;
	values[0] = Int64GetDatum(entries);
	values[1] = Int64GetDatum((int64) cached_bytes);
	values[2] = Int64GetDatum(plan_cache_hits);
	values[3] = Int64GetDatum(plan_cache_misses);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

void
acl_plan_cache_init(void)
{
	DefineCustomIntVariable("acl.plan_cache_size",
							"Memory for the plans of unprepared statements under row security that this backend reuses.",
							"0 turns the reuse off.",
							&acl_plan_cache_kb,
							4096, 0, 1024 * 1024,
							PGC_USERSET,
							GUC_UNIT_KB,
							NULL, assign_plan_cache_kb, NULL);

	RegisterXactCallback(free_retired, NULL);
	CacheRegisterRelcacheCallback(plan_cache_relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(PROCOID, plan_cache_object_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(TYPEOID, plan_cache_object_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, plan_cache_reset_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(OPEROID, plan_cache_reset_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AMOPOPID, plan_cache_reset_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(FOREIGNSERVEROID, plan_cache_reset_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(FOREIGNDATAWRAPPEROID, plan_cache_reset_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, plan_cache_reset_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, plan_cache_reset_callback, (Datum) 0);
}
