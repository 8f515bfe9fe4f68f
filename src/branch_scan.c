/*-------------------------------------------------------------------------
 *
 * branch_scan.c
 *	  A custom scan that runs only the branch of a managed table's read that
 *	  the end user's policies open.
 *
 * enforce.c turns a managed table's read into a UNION ALL of branches, one
 * per policy and one for two or more open policies, each behind a one-time
 * filter acl._branch_open_gates(k, '{tokens}').  At most one of them runs,
 * but an Append starts every branch (opens its relations and indexes,
 * builds its expressions and initplans) on each execution.  This scan is
 * offered in place of the Append: when first asked for a row, where the
 * Append's branches would evaluate their filters, it decides which branch
 * runs, from the same tokens, and starts that one alone.  So one plan still
 * serves every end user, and a scan that is never run reads no identity.
 *
 * Anything this scan does not recognise keeps the Append, and with it each
 * branch's own filter.
 *
 * The executor starts every initplan of a statement when the statement
 * starts, and the branches' gates and identity lookups are most of them.
 * Once the plan is made, the initplans of each branch move into the scan,
 * which starts those of the branch it runs, when it starts the branch.
 * An initplan that only computes a gate or $CURRENT_USER from constants
 * becomes a parameter the scan sets itself as the branch starts: the
 * scan has just opened the gates, so the value is at hand, and a plan
 * node per value (a Result, its slot and projection) costs more than the
 * rest of starting a short branch.
 *
 * A branch is planned as a subquery scan over the Result that holds its
 * one-time filter, over the plan that reads its rows: two layers that cost
 * a call and a projection per row.  Once the plan is made, the scan takes
 * the filter, checks it once when the branch starts (and at each rescan),
 * and the reading plan projects what the two layers did.  The decision in
 * that filter is the one the scan has just made from the same tokens, so
 * it is not made twice.  Like every gate and identity lookup of a plan,
 * the decision is made once per execution, rescans included: a statement
 * that changes acl.user_id as it runs keeps the identity it started with.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "nodes/extensible.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "miscadmin.h"
#include "parser/parsetree.h"
#include "utils/array.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"
#include "utils/uuid.h"

#include "acl.h"
#include "masked_slot.h"

#define BRANCH_SCAN_NAME "acl branches"

static set_rel_pathlist_hook_type prev_set_rel_pathlist_hook = NULL;

/*
 * custom_private of the path: list_make2(tokens, branch numbers); the plan
 * adds, per branch, the plan ids of its deferred initplans, their plans,
 * the one-time filter this scan checks for the branch (NIL: the branch
 * checks its own), the column masks this scan applies to the branch's
 * rows (NIL, or list_make2(attnos, conditions under which each is shown)),
 * and the parameters this scan sets when it starts the branch
 * (list_make3(Params, per Param the position of its value, the distinct
 * values)).
 */
#define PRIVATE_PLANNED 2
#define PRIVATE_FILTERS 4
#define PRIVATE_MASKS 5
#define PRIVATE_PARAMETERS 6
#define PRIVATE_DEFERRED 7

typedef struct BranchScanState
{
	CustomScanState css;
	int			eflags;
	bool		decided;
	int32		branch;			/* the branch that runs; -1: none */
	PlanState  *chosen;
	ExprState  *filter;			/* the chosen branch's one-time filter */
	bool		filter_checked;
	bool		filter_passed;
	ExecProcNodeMtd exec_custom_scan;	/* the executor's, until the branch runs */
	int			nmasks;			/* masked columns of the chosen branch's rows */
	AttrNumber *mask_attnos;
	int		   *mask_cond;		/* per masked column: which condition shows it */
	int			nconds;			/* the distinct conditions, each evaluated once */
	ExprState **conds;
	struct ColumnTest *tests;	/* per condition, its direct form, if any */
	bool	   *cond_holds;
	int			mask_reads;		/* the last column those conditions read */
	TupleTableSlot *masked_slot;
	bool	   *masked;			/* what the masked slot masks, by attno - 1 */
	struct ColumnTest *only_test;	/* the one condition, if it is direct */
	bool		masked_known;	/* whether masked is set for masked_for */
	uint64		masked_for;		/* which conditions held: bit i for conds[i] */
} BranchScanState;

static Plan *plan_branch_scan(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
							  List *tlist, List *clauses, List *custom_plans);
static Node *create_branch_scan_state(CustomScan *cscan);
static void begin_branch_scan(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *exec_branch_scan(CustomScanState *node);
static void end_branch_scan(CustomScanState *node);
static void rescan_branch_scan(CustomScanState *node);
static void start_deferred_initplans(CustomScanState *node, int index);
static void explain_branch_scan(CustomScanState *node, List *ancestors, ExplainState *es);
static void explain_branch_filters(CustomScan *cscan, List *ancestors, ExplainState *es);
static void explain_branch_masks(CustomScan *cscan, List *ancestors, ExplainState *es);
static void explain_branch_parameters(CustomScan *cscan, List *ancestors, ExplainState *es);
static Expr *initplan_value(SubPlan *initplan, PlannedStmt *stmt);

static const CustomPathMethods branch_path_methods = {
	.CustomName = BRANCH_SCAN_NAME,
	.PlanCustomPath = plan_branch_scan,
};

static const CustomScanMethods branch_scan_methods = {
	.CustomName = BRANCH_SCAN_NAME,
	.CreateCustomScanState = create_branch_scan_state,
};

static const CustomExecMethods branch_exec_methods = {
	.CustomName = BRANCH_SCAN_NAME,
	.BeginCustomScan = begin_branch_scan,
	.ExecCustomScan = exec_branch_scan,
	.EndCustomScan = end_branch_scan,
	.ReScanCustomScan = rescan_branch_scan,
	.ExplainCustomScan = explain_branch_scan,
};

/*
 * acl._branch_open_gates(int, text[]), looked up once per catalog
 * generation (a new one follows the extension's schema being dropped): the
 * planner asks for it for every branch of every managed read.
 */
static Oid
branch_decision_function(void)
{
	static Oid	decision = InvalidOid;
	static uint64 generation = 0;

	if (generation != acl_catalog_generation || !OidIsValid(decision))
	{
		Oid			argtypes[2] = {INT4OID, TEXTARRAYOID};

		decision = acl_function("_branch_open_gates", 2, argtypes);
		generation = acl_catalog_generation;
	}
	return decision;
}

/* The one-time filter this scan checks for its branch at `index`. */
static List *
branch_filter(CustomScan *cscan, int index)
{
	return list_nth(list_nth(cscan->custom_private, PRIVATE_FILTERS), index);
}

/*
 * The branch number of every member of appendrel `parent`, by member relid
 * (0: not a member), when every member is a branch of one table reference:
 * a subquery whose WHERE is _branch_open_gates(k, tokens), alone or first
 * of an AND, with the same tokens and a different k.  NULL otherwise.
 */
static int32 *
branch_numbers(PlannerInfo *root, Index parent, Const **tokens)
{
	int32	   *numbers = palloc0(sizeof(int32) * root->simple_rel_array_size);
	Bitmapset  *seen = NULL;
	Oid			decision = InvalidOid;
	ListCell   *lc;

	*tokens = NULL;
	foreach(lc, root->append_rel_list)
	{
		AppendRelInfo *appinfo = lfirst(lc);
		RangeTblEntry *member;
		FuncExpr   *call;
		Const	   *k;
		Const	   *gates;

		if (appinfo->parent_relid != parent)
			continue;
		member = root->simple_rte_array[appinfo->child_relid];
		if (member->rtekind != RTE_SUBQUERY || strcmp(member->eref->aliasname, ACL_BRANCH_ALIAS) != 0)
			return NULL;
		call = (FuncExpr *) member->subquery->jointree->quals;
		/* The query's WHERE, pushed into the branch, follows the decision. */
		if (call != NULL && is_andclause(call))
			call = linitial(((BoolExpr *) call)->args);
		if (call == NULL || !IsA(call, FuncExpr) || list_length(call->args) != 2)
			return NULL;
		/* Only now: where acl is not installed, there is nothing to look up. */
		if (!OidIsValid(decision))
			decision = branch_decision_function();
		k = linitial(call->args);
		gates = lsecond(call->args);
		if (call->funcid != decision || !IsA(k, Const) || k->constisnull ||
			!IsA(gates, Const) || gates->constisnull ||
			(*tokens != NULL && !equal(*tokens, gates)) ||
			DatumGetInt32(k->constvalue) < 0 || DatumGetInt32(k->constvalue) > ACL_MAX_BRANCHES + 1 ||
			bms_is_member(DatumGetInt32(k->constvalue), seen))
			return NULL;
		*tokens = gates;
		seen = bms_add_member(seen, DatumGetInt32(k->constvalue));
		numbers[appinfo->child_relid] = DatumGetInt32(k->constvalue) + 1;
	}
	return *tokens != NULL ? numbers : NULL;
}

/* A branch scan over an Append or MergeAppend path's members; NULL if unsuited. */
static Path *
branch_path(RelOptInfo *rel, Path *append, List *members, const int32 *numbers, Const *tokens)
{
	CustomPath *path;
	List	   *branches = NIL;
	ListCell   *lc;

	if (list_length(members) < 2)
		return NULL;
	path = makeNode(CustomPath);
	path->path.pathtype = T_CustomScan;
	path->path.parent = rel;
	path->path.pathtarget = append->pathtarget;
	path->path.param_info = append->param_info;
	path->path.parallel_aware = false;
	path->path.parallel_safe = false;
	path->path.parallel_workers = 0;
	path->path.rows = append->rows;
	path->path.pathkeys = append->pathkeys;
	foreach(lc, members)
	{
		Path	   *member = lfirst(lc);
		Index		relid = member->parent->relid;

		if (!IS_SIMPLE_REL(member->parent) || relid == 0 || numbers[relid] == 0)
			return NULL;
		/* A MergeAppend sorts the members that are not sorted; this scan does not. */
		if (!pathkeys_contained_in(append->pathkeys, member->pathkeys))
			return NULL;
		branches = lappend_int(branches, numbers[relid] - 1);
		/* Only one member runs: the dearest is what the scan may cost. */
		path->path.startup_cost = Max(path->path.startup_cost, member->startup_cost);
		path->path.total_cost = Max(path->path.total_cost, member->total_cost);
	}
	path->flags = 0;
	path->custom_paths = members;
	path->custom_private = list_make2(copyObject(tokens), branches);
	path->methods = &branch_path_methods;
	return &path->path;
}

static void
acl_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel, Index rti, RangeTblEntry *rte)
{
	int32	   *numbers;
	Const	   *tokens;
	List	   *added = NIL;
	ListCell   *lc;

	if (prev_set_rel_pathlist_hook)
		prev_set_rel_pathlist_hook(root, rel, rti, rte);
	if (rte->rtekind == RTE_RELATION && IS_SIMPLE_REL(rel))
		acl_order_permission_arms(root, rel, rte);
	if (rte->rtekind != RTE_SUBQUERY || !rte->inh || rel->reloptkind != RELOPT_BASEREL ||
		IS_DUMMY_REL(rel))
		return;
	numbers = branch_numbers(root, rti, &tokens);
	if (numbers == NULL)
		return;
	foreach(lc, rel->pathlist)
	{
		Path	   *path = lfirst(lc);
		Path	   *scan = NULL;

		if (IsA(path, AppendPath))
			scan = branch_path(rel, path, ((AppendPath *) path)->subpaths, numbers, tokens);
		else if (IsA(path, MergeAppendPath))
			scan = branch_path(rel, path, ((MergeAppendPath *) path)->subpaths, numbers, tokens);
		if (scan != NULL)
			added = lappend(added, scan);
	}
	/* add_path may free what rel->pathlist held, so only now. */
	foreach(lc, added)
		add_path(rel, lfirst(lc));
}

static Plan *
plan_branch_scan(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
				 List *tlist, List *clauses, List *custom_plans)
{
	CustomScan *scan = makeNode(CustomScan);
	List	   *scan_tlist = NIL;
	ListCell   *lc;

	/*
	 * The members return tlist (with the same parameters for outer
	 * references), as an Append's do, so the scan returns their rows as they
	 * are; and they apply every qual (clauses are the appendrel's, pushed
	 * into them).
	 */
	if (tlist != NIL)
		scan_tlist = copyObject(tlist);
	else
	{
		foreach(lc, best_path->path.pathtarget->exprs)
			scan_tlist = lappend(scan_tlist, makeTargetEntry(copyObject(lfirst(lc)),
															 list_length(scan_tlist) + 1, NULL, false));
	}
	scan->scan.plan.targetlist = tlist != NIL ? tlist : scan_tlist;
	scan->scan.plan.qual = NIL;
	scan->scan.scanrelid = 0;
	scan->flags = best_path->flags;
	scan->custom_plans = custom_plans;
	scan->custom_exprs = NIL;
	scan->custom_private = best_path->custom_private;
	scan->custom_scan_tlist = scan_tlist;
	scan->methods = &branch_scan_methods;
	return &scan->scan.plan;
}

static Node *
create_branch_scan_state(CustomScan *cscan)
{
	BranchScanState *state = palloc0(sizeof(BranchScanState));

	NodeSetTag(state, T_CustomScanState);
	state->css.methods = &branch_exec_methods;
	state->branch = -1;
	return (Node *) state;
}

static void
begin_branch_scan(CustomScanState *node, EState *estate, int eflags)
{
	BranchScanState *state = (BranchScanState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	ListCell   *lc;

	state->eflags = eflags;
	/* Nothing runs: show every branch, and read no identity. */
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
	{
		foreach(lc, cscan->custom_plans)
		{
			start_deferred_initplans(node, foreach_current_index(lc));
			node->custom_ps = lappend(node->custom_ps, ExecInitNode(lfirst(lc), estate, eflags));
			/* So that EXPLAIN shows the subplans a filter holds. */
			if (list_length(cscan->custom_private) == PRIVATE_DEFERRED)
				(void) ExecInitQual(branch_filter(cscan, foreach_current_index(lc)), &node->ss.ps);
		}
		state->decided = true;
	}
	/* Returns its branch's slots as they are, like an Append. */
	if (node->ss.ps.ps_ProjInfo == NULL)
	{
		node->ss.ps.resultopsset = true;
		node->ss.ps.resultopsfixed = false;
	}
}

/*
 * Starts the initplans deferred to branch `index` (a list position), where
 * the executor would have started them, unless they already are.
 */
static void
start_deferred_initplans(CustomScanState *node, int index)
{
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	EState	   *estate = node->ss.ps.state;
	List	   *ids;
	List	   *plans;
	ListCell   *li;
	ListCell   *lp;

	if (list_length(cscan->custom_private) < PRIVATE_DEFERRED)
		return;
	ids = list_nth(lthird(cscan->custom_private), index);
	plans = list_nth(lfourth(cscan->custom_private), index);
	forboth(li, ids, lp, plans)
	{
		int			plan_id = lfirst_int(li);
		ListCell   *slot = list_nth_cell(estate->es_subplanstates, plan_id - 1);
		int			eflags = ((BranchScanState *) node)->eflags & (EXEC_FLAG_EXPLAIN_ONLY | EXEC_FLAG_REWIND);

		if (lfirst(slot) != NULL)
			continue;
		if (bms_is_member(plan_id, estate->es_plannedstmt->rewindPlanIDs))
			eflags |= EXEC_FLAG_REWIND;
		lfirst(slot) = ExecInitNode(lfirst(lp), estate, eflags);
	}
}

/*
 * A mask's condition of the form "column op value", value a constant or a
 * parameter ($CURRENT_USER's, say), is tested with a direct call of the
 * operator's function: the expression's interpreted steps, the parameter
 * read among them, cost a row more than the call.  The value is read once
 * per scan, as a rescan is what changes parameters.  uuid equality, what
 * "column = $CURRENT_USER" is, compares the 16 bytes in place.
 */
typedef struct ColumnTest
{
	AttrNumber	attno;
	bool		column_first;
	bool		uuid_equality;
	FmgrInfo	flinfo;
	FunctionCallInfo fcinfo;	/* set up once; the arguments per row */
	ExprState  *value;
	bool		value_read;
	Datum		value_datum;
	bool		value_isnull;
} ColumnTest;

static bool
column_test_of(Expr *cond, Index scanrelid, ColumnTest *test, PlanState *parent)
{
	OpExpr	   *op = (OpExpr *) cond;
	Node	   *left;
	Node	   *right;
	Var		   *column;

	memset(test, 0, sizeof(ColumnTest));
	if (!IsA(cond, OpExpr) || list_length(op->args) != 2 || op->opretset)
		return false;
	left = linitial(op->args);
	right = lsecond(op->args);
	test->column_first = IsA(left, Var);
	column = (Var *) (test->column_first ? left : right);
	if (!IsA(column, Var) || column->varno != (int) scanrelid || column->varattno <= 0 ||
		column->varlevelsup != 0)
		return false;
	if (test->column_first ? !(IsA(right, Param) || IsA(right, Const)) :
		!(IsA(left, Param) || IsA(left, Const)))
		return false;
	set_opfuncid(op);
	if (!func_strict(op->opfuncid))
		return false;
	test->uuid_equality = op->opfuncid == F_UUID_EQ;
	fmgr_info(op->opfuncid, &test->flinfo);
	fmgr_info_set_expr((Node *) op, &test->flinfo);
	test->fcinfo = palloc(SizeForFunctionCallInfo(2));
	InitFunctionCallInfoData(*test->fcinfo, &test->flinfo, 2, op->inputcollid, NULL, NULL);
	test->fcinfo->args[0].isnull = false;
	test->fcinfo->args[1].isnull = false;
	test->attno = column->varattno;
	test->value = ExecInitExpr((Expr *) (test->column_first ? right : left), parent);
	return true;
}

/* Whether the row in slot, deformed up to the column, passes: NULL does not. */
static pg_attribute_always_inline bool
column_test_holds(ColumnTest *test, TupleTableSlot *slot, ExprContext *econtext)
{
	FunctionCallInfo fcinfo = test->fcinfo;
	Datum		result;

	if (!test->value_read)
	{
		/* A constant's, or a parameter's, which lives as long as the scan. */
		test->value_datum = ExecEvalExpr(test->value, econtext, &test->value_isnull);
		test->value_read = true;
	}
	if (test->value_isnull || slot->tts_isnull[test->attno - 1])
		return false;
	if (test->uuid_equality)
		return memcmp(DatumGetPointer(slot->tts_values[test->attno - 1]),
					  DatumGetPointer(test->value_datum), UUID_LEN) == 0;
	fcinfo->args[0].value = test->column_first ? slot->tts_values[test->attno - 1] : test->value_datum;
	fcinfo->args[1].value = test->column_first ? test->value_datum : slot->tts_values[test->attno - 1];
	fcinfo->isnull = false;
	result = FunctionCallInvoke(fcinfo);
	return !fcinfo->isnull && DatumGetBool(result);
}

/*
 * The masks this scan applies to the rows of the branch that runs.  Columns
 * masked alike (a rule's field list masks several at once) share one
 * condition, evaluated once per row.
 */
static void
start_masks(BranchScanState *state, List *masks)
{
	List	   *distinct = NIL;
	ListCell   *la;
	ListCell   *lc;

	if (masks == NIL)
		return;
	state->nmasks = list_length(linitial(masks));
	state->mask_attnos = palloc(sizeof(AttrNumber) * state->nmasks);
	state->mask_cond = palloc(sizeof(int) * state->nmasks);
	state->conds = palloc(sizeof(ExprState *) * state->nmasks);
	state->tests = palloc(sizeof(ColumnTest) * state->nmasks);
	state->cond_holds = palloc(sizeof(bool) * state->nmasks);
	forboth(la, linitial(masks), lc, lsecond(masks))
	{
		int			cond = list_length(distinct);
		ListCell   *ld;
		Bitmapset  *read = NULL;
		int			column = -1;

		foreach(ld, distinct)
		{
			if (equal(lfirst(ld), lfirst(lc)))
			{
				cond = foreach_current_index(ld);
				break;
			}
		}
		state->mask_attnos[foreach_current_index(la)] = lfirst_int(la);
		state->mask_cond[foreach_current_index(la)] = cond;
		if (cond < list_length(distinct))
			continue;
		distinct = lappend(distinct, lfirst(lc));
		if (column_test_of(lfirst(lc), ((Scan *) state->chosen->plan)->scanrelid, &state->tests[cond],
						   &state->css.ss.ps))
			state->conds[cond] = NULL;
		else
			state->conds[cond] = ExecInitExpr(lfirst(lc), &state->css.ss.ps);
		pull_varattnos(lfirst(lc), ((Scan *) state->chosen->plan)->scanrelid, &read);
		while ((column = bms_next_member(read, column)) >= 0)
			state->mask_reads = Max(state->mask_reads, column + FirstLowInvalidHeapAttributeNumber);
	}
	state->nconds = list_length(distinct);
	state->only_test = state->nconds == 1 && state->conds[0] == NULL ? &state->tests[0] : NULL;
	state->masked_slot = ExecAllocTableSlot(&state->css.ss.ps.state->es_tupleTable,
											ExecGetResultType(state->chosen), &AclMaskedSlotOps);
	state->masked = palloc0(sizeof(bool) * Max(ExecGetResultType(state->chosen)->natts, 1));
}

/* The branch's row, with the columns it may not show masked. */
static pg_attribute_always_inline TupleTableSlot *
mask_row(BranchScanState *state, TupleTableSlot *slot)
{
	ExprContext *econtext = state->css.ss.ps.ps_ExprContext;
	bool	   *masked = state->masked;
	bool		all_shown = true;
	uint64		held = 0;

	/* Most conditions allocate nothing: a reset of nothing is a call saved. */
	if (!econtext->ecxt_per_tuple_memory->isReset || econtext->ecxt_per_tuple_memory->firstchild != NULL)
		ResetExprContext(econtext);
	/* Built for this scan's virtual slot, the conditions deform nothing. */
	slot_getsomeattrs(slot, state->mask_reads);
	econtext->ecxt_scantuple = slot;
	if (state->only_test != NULL)
	{
		/* One direct condition, the usual case: no loop, no evaluator. */
		MemoryContext old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);

		all_shown = state->cond_holds[0] = column_test_holds(state->only_test, slot, econtext);
		held = all_shown;
		MemoryContextSwitchTo(old);
	}
	else
	{
		for (int i = 0; i < state->nconds; i++)
		{
			bool		isnull;

			if (state->conds[i] == NULL)
			{
				MemoryContext old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);

				state->cond_holds[i] = column_test_holds(&state->tests[i], slot, econtext);
				MemoryContextSwitchTo(old);
			}
			else
			{
				Datum		shown = ExecEvalExprSwitchContext(state->conds[i], econtext, &isnull);

				state->cond_holds[i] = !isnull && DatumGetBool(shown);
			}
			all_shown &= state->cond_holds[i];
			held |= (uint64) state->cond_holds[i] << (i % 64);
		}
	}
	if (all_shown)
		return slot;
	/* Rows masked alike follow each other: most keep the last row's columns. */
	if (!state->masked_known || held != state->masked_for)
	{
		for (int i = 0; i < state->nmasks; i++)
			masked[state->mask_attnos[i] - 1] = !state->cond_holds[state->mask_cond[i]];
		acl_masked_slot_set_masked(state->masked_slot, masked);
		state->masked_known = state->nconds <= 64;
		state->masked_for = held;
	}
	return acl_masked_slot_store(state->masked_slot, slot);
}

/*
 * Sets the parameters of the branch at `index` (a list position) that this
 * scan computes in place of their initplans, each distinct value once.
 * Evaluated in the caller's memory, the query's, where by-reference values
 * stay for the execution.
 */
static void
set_branch_parameters(BranchScanState *state, int index)
{
	CustomScan *cscan = (CustomScan *) state->css.ss.ps.plan;
	EState	   *estate = state->css.ss.ps.state;
	List	   *parameters = list_nth(list_nth(cscan->custom_private, PRIVATE_PARAMETERS), index);
	List	   *values = lthird(parameters);
	int			nvalues = list_length(values);
	ParamExecData *computed;
	ListCell   *lp;
	ListCell   *li;

	if (nvalues == 0)
		return;
	computed = palloc(sizeof(ParamExecData) * nvalues);
	for (int i = 0; i < nvalues; i++)
	{
		ExprState  *value = ExecInitExpr(list_nth(values, i), &state->css.ss.ps);

		computed[i].execPlan = NULL;
		computed[i].value = ExecEvalExpr(value, state->css.ss.ps.ps_ExprContext, &computed[i].isnull);
	}
	forboth(lp, linitial(parameters), li, lsecond(parameters))
		estate->es_param_exec_vals[lfirst_node(Param, lp)->paramid] = computed[lfirst_int(li)];
}

/* Which branch runs, for the end user of this execution; start it. */
static void
decide_branch(BranchScanState *state)
{
	CustomScan *cscan = (CustomScan *) state->css.ss.ps.plan;
	EState	   *estate = state->css.ss.ps.state;
	Const	   *tokens = linitial_node(Const, cscan->custom_private);
	List	   *branches = lsecond(cscan->custom_private);
	MemoryContext old;
	AclOpenGates gates;
	ListCell   *lp;
	ListCell   *lb;

	acl_require_preloaded();
	gates = acl_open_gates(DatumGetArrayTypeP(tokens->constvalue), TEXTOID);
	state->decided = true;
	forboth(lp, cscan->custom_plans, lb, branches)
	{
		if (!acl_branch_runs(lfirst_int(lb), &gates))
			continue;
		old = MemoryContextSwitchTo(estate->es_query_cxt);
		if (list_length(cscan->custom_private) == PRIVATE_DEFERRED)
			set_branch_parameters(state, foreach_current_index(lp));
		start_deferred_initplans(&state->css, foreach_current_index(lp));
		state->chosen = ExecInitNode(lfirst(lp), estate, state->eflags);
		state->css.custom_ps = list_make1(state->chosen);
		if (list_length(cscan->custom_private) == PRIVATE_DEFERRED)
		{
			state->filter = ExecInitQual(branch_filter(cscan, foreach_current_index(lp)), &state->css.ss.ps);
			start_masks(state, list_nth(list_nth(cscan->custom_private, PRIVATE_MASKS),
										foreach_current_index(lp)));
		}
		MemoryContextSwitchTo(old);
		state->branch = lfirst_int(lb);
		break;
	}
}

/*
 * Once the branch runs and its rows need nothing from this scan, each row
 * comes straight from it: no per-row call of the executor's custom scan
 * dispatch and of the checks above.  A rescan, which checks the filter
 * again, restores them.
 */
static TupleTableSlot *
exec_chosen_branch(PlanState *pstate)
{
	TupleTableSlot *slot = ExecProcNode(((BranchScanState *) pstate)->chosen);

	return TupIsNull(slot) ? ExecClearTuple(pstate->ps_ResultTupleSlot) : slot;
}

static TupleTableSlot *
exec_masked_branch(PlanState *pstate)
{
	BranchScanState *state = (BranchScanState *) pstate;
	TupleTableSlot *slot = ExecProcNode(state->chosen);

	return TupIsNull(slot) ? ExecClearTuple(pstate->ps_ResultTupleSlot) : mask_row(state, slot);
}

static TupleTableSlot *
exec_branch_scan(CustomScanState *node)
{
	BranchScanState *state = (BranchScanState *) node;
	TupleTableSlot *slot;

	if (!state->decided)
		decide_branch(state);
	if (state->chosen == NULL)
		return ExecClearTuple(node->ss.ps.ps_ResultTupleSlot);
	if (!state->filter_checked)
	{
		/* After the branch starts: the filter may read its initplans. */
		ResetExprContext(node->ss.ps.ps_ExprContext);
		state->filter_passed = ExecQual(state->filter, node->ss.ps.ps_ExprContext);
		state->filter_checked = true;
	}
	if (!state->filter_passed)
		return ExecClearTuple(node->ss.ps.ps_ResultTupleSlot);
	if (node->ss.ps.ps_ProjInfo == NULL)
	{
		state->exec_custom_scan = node->ss.ps.ExecProcNodeReal;
		ExecSetExecProcNode(&node->ss.ps, state->nmasks > 0 ? exec_masked_branch : exec_chosen_branch);
	}
	slot = ExecProcNode(state->chosen);
	if (TupIsNull(slot))
		return ExecClearTuple(node->ss.ps.ps_ResultTupleSlot);
	if (state->nmasks > 0)
		slot = mask_row(state, slot);
	if (node->ss.ps.ps_ProjInfo == NULL)
		return slot;

	/*
	 * Only were the planner to list one output twice.  The projection was
	 * built for a virtual scan slot, which needs no deforming step.
	 */
	slot_getallattrs(slot);
	ResetExprContext(node->ss.ps.ps_ExprContext);
	node->ss.ps.ps_ExprContext->ecxt_scantuple = slot;
	return ExecProject(node->ss.ps.ps_ProjInfo);
}

static void
end_branch_scan(CustomScanState *node)
{
	ListCell   *lc;

	foreach(lc, node->custom_ps)
		ExecEndNode(lfirst(lc));
}

static void
rescan_branch_scan(CustomScanState *node)
{
	BranchScanState *state = (BranchScanState *) node;

	/* Not started yet: it starts with the parameters as they are then. */
	if (state->chosen == NULL)
		return;
	if (node->ss.ps.chgParam != NULL)
		UpdateChangedParamSet(state->chosen, node->ss.ps.chgParam);

	/*
	 * Now, not lazily at the next call: the rescan marks the initplans whose
	 * parameters changed, and the filter, checked before that call, may read
	 * them.
	 */
	ExecReScan(state->chosen);
	state->filter_checked = false;
	for (int i = 0; i < state->nconds; i++)
		state->tests[i].value_read = false;
	if (state->exec_custom_scan != NULL)
		ExecSetExecProcNode(&node->ss.ps, state->exec_custom_scan);
}

static void
explain_branch_scan(CustomScanState *node, List *ancestors, ExplainState *es)
{
	BranchScanState *state = (BranchScanState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;

	ExplainPropertyInteger("Branches", NULL, list_length(cscan->custom_plans), es);
	if (es->analyze)
	{
		if (state->chosen != NULL)
			ExplainPropertyInteger("Branch Run", NULL, state->branch, es);
		else
			ExplainPropertyText("Branch Run", state->decided ? "none" : "never executed", es);
	}
	if (list_length(cscan->custom_private) == PRIVATE_DEFERRED)
	{
		explain_branch_filters(cscan, ancestors, es);
		explain_branch_masks(cscan, ancestors, es);
		explain_branch_parameters(cscan, ancestors, es);
	}
}

/*
 * The parameters this scan sets as it starts a branch, with their values
 * (VERBOSE: like an initplan's output); "$1, $4 = value" where several
 * share one.
 */
static void
explain_branch_parameters(CustomScan *cscan, List *ancestors, ExplainState *es)
{
	List	   *context = NIL;
	List	   *set = NIL;
	ListCell   *lb;

	if (!es->verbose)
		return;
	foreach(lb, list_nth(cscan->custom_private, PRIVATE_PARAMETERS))
	{
		List	   *parameters = lfirst(lb);
		ListCell   *lv;

		if (context == NIL && lthird(parameters) != NIL)
			context = set_deparse_context_plan(es->deparse_cxt, &cscan->scan.plan, ancestors);
		foreach(lv, lthird(parameters))
		{
			StringInfoData buf;
			ListCell   *lp;
			ListCell   *li;

			initStringInfo(&buf);
			forboth(lp, linitial(parameters), li, lsecond(parameters))
			{
				if (lfirst_int(li) == foreach_current_index(lv))
					appendStringInfo(&buf, "%s$%d", buf.len > 0 ? ", " : "",
									 lfirst_node(Param, lp)->paramid);
			}
			appendStringInfo(&buf, " = %s", deparse_expression(lfirst(lv), context, false, false));
			set = lappend(set, buf.data);
		}
	}
	if (set != NIL)
		ExplainPropertyList("Branch Parameters", set, es);
}

/* The masks this scan applies, by branch: which column shows when. */
static void
explain_branch_masks(CustomScan *cscan, List *ancestors, ExplainState *es)
{
	List	   *context = NIL;
	ListCell   *lm;
	ListCell   *lb;

	forboth(lm, list_nth(cscan->custom_private, PRIVATE_MASKS), lb, lsecond(cscan->custom_private))
	{
		List	   *masks = lfirst(lm);
		List	   *shown = NIL;
		ListCell   *la;
		ListCell   *lc;

		if (masks == NIL)
			continue;
		if (context == NIL)
			context = set_deparse_context_plan(es->deparse_cxt, &cscan->scan.plan, ancestors);
		forboth(la, linitial(masks), lc, lsecond(masks))
		{
			Plan	   *branch = list_nth(cscan->custom_plans, foreach_current_index(lm));
			Expr	   *column = list_nth_node(TargetEntry, branch->targetlist, lfirst_int(la) - 1)->expr;

			shown = lappend(shown, psprintf("%s shown when %s",
											deparse_expression((Node *) column, context, true, false),
											deparse_expression(lfirst(lc), context, true, false)));
		}
		ExplainPropertyList(psprintf("Branch %d Masks", lfirst_int(lb)), shown, es);
	}
}

/*
 * Whether qual is _branch_open_gates(branch, tokens): the decision this
 * scan makes itself before it runs the branch.
 */
static bool
is_branch_decision(Node *qual, Const *tokens, int32 branch)
{
	FuncExpr   *call = (FuncExpr *) qual;
	Const	   *k;

	if (!IsA(call, FuncExpr) || list_length(call->args) != 2 || !IsA(linitial(call->args), Const))
		return false;
	k = linitial_node(Const, call->args);
	return !k->constisnull && DatumGetInt32(k->constvalue) == branch &&
		equal(lsecond(call->args), tokens) &&
		call->funcid == branch_decision_function();
}

/*
 * The filters this scan checks for its branches, which EXPLAIN would
 * otherwise show nowhere: the gate tokens it decides from, and what else
 * the filters hold (conditions of the query that do not depend on the
 * row): once when every branch has the same, else by branch.
 */
static void
explain_branch_filters(CustomScan *cscan, List *ancestors, ExplainState *es)
{
	Const	   *tokens = linitial_node(Const, cscan->custom_private);
	List	   *rests = NIL;
	bool		same = true;
	Oid			output;
	bool		varlena;
	List	   *context;
	ListCell   *lf;
	ListCell   *lb;

	getTypeOutputInfo(tokens->consttype, &output, &varlena);
	ExplainPropertyText("Gates", OidOutputFunctionCall(output, tokens->constvalue), es);
	foreach(lf, list_nth(cscan->custom_private, PRIVATE_FILTERS))
	{
		same &= rests == NIL || equal(lfirst(lf), linitial(rests));
		rests = lappend(rests, lfirst(lf));
	}
	context = set_deparse_context_plan(es->deparse_cxt, &cscan->scan.plan, ancestors);
	forboth(lf, rests, lb, lsecond(cscan->custom_private))
	{
		if (lfirst(lf) == NIL)
			continue;
		ExplainPropertyText(same ? "Branch Filter" : psprintf("Branch %d Filter", lfirst_int(lb)),
							deparse_expression((Node *) make_ands_explicit(lfirst(lf)), context,
											   es->verbose, false), es);
		if (same)
			break;
	}
}

/* ------------------------------------------------------------------------
 * Deferring the branches' initplans, once the plan is made.
 * ---------------------------------------------------------------------- */

/* Calls visit on plan and every plan below it, not entering subplans. */
void
acl_walk_plan(Plan *plan, AclPlanVisitor visit, void *context)
{
	List	   *children = NIL;
	ListCell   *lc;

	if (plan == NULL)
		return;
	check_stack_depth();
	if (visit(plan, context))
		return;
	acl_walk_plan(plan->lefttree, visit, context);
	acl_walk_plan(plan->righttree, visit, context);
	switch (nodeTag(plan))
	{
		case T_Append:
			children = ((Append *) plan)->appendplans;
			break;
		case T_MergeAppend:
			children = ((MergeAppend *) plan)->mergeplans;
			break;
		case T_BitmapAnd:
			children = ((BitmapAnd *) plan)->bitmapplans;
			break;
		case T_BitmapOr:
			children = ((BitmapOr *) plan)->bitmapplans;
			break;
		case T_SubqueryScan:
			acl_walk_plan(((SubqueryScan *) plan)->subplan, visit, context);
			break;
		case T_CustomScan:
			children = ((CustomScan *) plan)->custom_plans;
			break;
		default:
			break;
	}
	foreach(lc, children)
		acl_walk_plan(lfirst(lc), visit, context);
}

typedef struct DeferContext
{
	PlannedStmt *stmt;
	bool		only_note;		/* note the ids, take nothing */
	Bitmapset  *noted;
	List	   *ids;			/* of one branch */
	List	   *plans;
	List	   *params;			/* of one branch, set by the scan */
	List	   *positions;		/* per param, its value in values */
	List	   *values;			/* distinct */
} DeferContext;

/*
 * Takes a branch's initplans out of the statement's subplans: the executor
 * leaves a NULL entry alone, as it does for a parallel worker's.  Only the
 * SubPlan in the initPlan list refers to an initplan.  A CTE's is also
 * referred to by its CTE scans, and correlated subplans are started with
 * the statement whatever holds them, so those stay where they are.
 */
static bool
take_initplans(Plan *plan, void *context)
{
	DeferContext *cxt = context;
	ListCell   *lc;

	foreach(lc, plan->initPlan)
	{
		SubPlan    *initplan = lfirst_node(SubPlan, lc);
		ListCell   *entry = list_nth_cell(cxt->stmt->subplans, initplan->plan_id - 1);

		Plan	   *taken = lfirst(entry);
		Expr	   *value;

		if (initplan->subLinkType == CTE_SUBLINK || taken == NULL ||
			bms_is_member(initplan->plan_id, cxt->noted))
			continue;
		if (cxt->only_note)
			cxt->noted = bms_add_member(cxt->noted, initplan->plan_id);
		else
		{
			value = initplan_value(initplan, cxt->stmt);
			lfirst(entry) = NULL;
			if (value != NULL && acl_is_settled_call(value))
			{
				int			position = list_length(cxt->values);
				ListCell   *lv;

				foreach(lv, cxt->values)
				{
					if (equal(lfirst(lv), value))
					{
						position = foreach_current_index(lv);
						break;
					}
				}
				if (position == list_length(cxt->values))
					cxt->values = lappend(cxt->values, value);
				cxt->params = lappend(cxt->params,
									  acl_exec_param(linitial_int(initplan->setParam),
													 initplan->firstColType,
													 initplan->firstColTypmod,
													 initplan->firstColCollation));
				cxt->positions = lappend_int(cxt->positions, position);
				plan->initPlan = foreach_delete_current(plan->initPlan, lc);
				continue;
			}
		}
		/* Its own initplans come first: they are started before it. */
		acl_walk_plan(taken, take_initplans, cxt);
		cxt->ids = lappend_int(cxt->ids, initplan->plan_id);
		cxt->plans = lappend(cxt->plans, taken);
	}
	return false;
}

/*
 * Replaces, in expr, each Var of varno with the expression of the matching
 * entry of tlist.  An entry whose expression is not a plain value may be
 * used once: twice would evaluate it twice per row.
 */
typedef struct ComposeContext
{
	int			varno;
	List	   *tlist;
	int		   *uses;			/* per tlist entry */
	bool		failed;
} ComposeContext;

static Node *
compose_mutator(Node *node, ComposeContext *cxt)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;
		Expr	   *expr;

		if (var->varno != cxt->varno || var->varlevelsup != 0 ||
			var->varattno < 1 || var->varattno > list_length(cxt->tlist))
		{
			cxt->failed = true;
			return node;
		}
		expr = list_nth_node(TargetEntry, cxt->tlist, var->varattno - 1)->expr;
		if (++cxt->uses[var->varattno - 1] > 1 &&
			!IsA(expr, Var) && !IsA(expr, Const) && !IsA(expr, Param))
			cxt->failed = true;
		return copyObject((Node *) expr);
	}
	return expression_tree_mutator(node, compose_mutator, (void *) cxt);
}

static bool
compose_tlist(List *outer, int varno, List *inner, List **composed)
{
	ComposeContext cxt = {varno, inner, palloc0(sizeof(int) * (list_length(inner) + 1)), false};
	ListCell   *lc;

	*composed = NIL;
	foreach(lc, outer)
	{
		TargetEntry *entry = flatCopyTargetEntry(lfirst_node(TargetEntry, lc));

		entry->expr = (Expr *) compose_mutator((Node *) entry->expr, &cxt);
		*composed = lappend(*composed, entry);
	}
	return !cxt.failed;
}

/*
 * Whether plan can return a branch's rows projected for it: a scan or a
 * join, whose quals read its input, not its output (a WindowAgg's run
 * condition reads its output, for one).
 */
static bool
reads_rows(Plan *plan)
{
	switch (nodeTag(plan))
	{
		case T_SeqScan:
		case T_SampleScan:
		case T_IndexScan:
		case T_IndexOnlyScan:
		case T_BitmapHeapScan:
		case T_TidScan:
		case T_TidRangeScan:
		case T_FunctionScan:
		case T_TableFuncScan:
		case T_ValuesScan:
		case T_CteScan:
		case T_NamedTuplestoreScan:
		case T_WorkTableScan:
		case T_SubqueryScan:
		case T_NestLoop:
		case T_MergeJoin:
		case T_HashJoin:
			return true;
		default:
			return false;
	}
}

/*
 * A branch is planned as a subquery scan over a Result that holds the
 * branch's one-time filter, over the plan that reads its rows; the two
 * layers cost a call and a projection per row.  Under this scan, which
 * checks the filter once itself, the reading plan can return the rows
 * directly, projecting what the two layers did.  Returns the plan to run
 * in place of branch, appending to *filter what the scan must check and to
 * *layers the layers that went; branch itself where its shape is not that
 * one.
 */
static Plan *
collapse_layers(Plan *branch, List **filter, List **layers)
{
	SubqueryScan *subquery = NULL;
	Result	   *result;
	Plan	   *reader;
	List	   *tlist;

	if (IsA(branch, SubqueryScan))
	{
		subquery = (SubqueryScan *) branch;
		if (subquery->scan.plan.qual != NIL || !IsA(subquery->subplan, Result))
			return branch;
		result = (Result *) subquery->subplan;
	}
	else if (IsA(branch, Result))
		result = (Result *) branch;
	else
		return branch;
	reader = result->plan.lefttree;
	if (result->plan.qual != NIL || result->resconstantqual == NULL || reader == NULL ||
		!reads_rows(reader) || contain_volatile_functions((Node *) result->plan.targetlist))
		return branch;
	if (!compose_tlist(result->plan.targetlist, OUTER_VAR, reader->targetlist, &tlist) ||
		(subquery != NULL &&
		 !compose_tlist(subquery->scan.plan.targetlist, subquery->scan.scanrelid, tlist, &tlist)))
		return branch;
	reader->targetlist = tlist;
	if (subquery != NULL)
		*layers = lappend(*layers, subquery);
	*layers = lappend(*layers, result);
	*filter = list_concat(*filter, (List *) result->resconstantqual);
	return reader;
}

/*
 * The initplans of the layers that went move to the top of the branch, so
 * that a rescan of the branch marks them before the scan checks the filter
 * (a Limit or Sort rescans what is below it only when next asked for a
 * row).  Their parameters are set at the top now and outside every node
 * below it on the way down to the readers, which may read them; allParam
 * decides what a rescan passes down.
 */
static void
move_layer_initplans(List *spine, List *layers)
{
	Plan	   *top = linitial(spine);
	List	   *initplans = NIL;
	Bitmapset  *set = NULL;
	Bitmapset  *ext = NULL;
	Bitmapset  *all = NULL;
	ListCell   *lc;

	foreach(lc, layers)
	{
		Plan	   *layer = lfirst(lc);
		ListCell   *li;

		initplans = list_concat(initplans, layer->initPlan);
		ext = bms_add_members(ext, layer->extParam);
		all = bms_add_members(all, layer->allParam);
		foreach(li, layer->initPlan)
		{
			ListCell   *lp;

			foreach(lp, lfirst_node(SubPlan, li)->setParam)
				set = bms_add_member(set, lfirst_int(lp));
		}
	}
	top->initPlan = list_concat(initplans, top->initPlan);
	foreach(lc, spine)
	{
		Plan	   *node = lfirst(lc);

		node->allParam = bms_add_members(bms_add_members(node->allParam, all), set);
		node->extParam = bms_add_members(node->extParam, ext);
		if (node == top)
			node->extParam = bms_del_members(node->extParam, set);
		else
			node->extParam = bms_add_members(node->extParam, set);
	}
}

/*
 * Where plan passes on the rows of the plan below it, all or the first
 * ones, maybe sorted or projected, the link to that plan: the layers may
 * sit below it.  NULL elsewhere.
 */
static Plan **
rows_come_from(Plan *plan)
{
	switch (nodeTag(plan))
	{
		case T_Result:
			if (((Result *) plan)->resconstantqual != NULL || plan->qual != NIL || plan->lefttree == NULL)
				return NULL;
			return &plan->lefttree;
		case T_SubqueryScan:
			return &((SubqueryScan *) plan)->subplan;
		case T_Limit:
		case T_Sort:
		case T_IncrementalSort:
			return &plan->lefttree;
		default:
			return NULL;
	}
}

/*
 * The layers may sit below a Limit or Sort, a Result that projects after
 * them (a branch's masks, computed for the rows a Limit keeps) or a subquery
 * scan that projects the branch's columns; and a condition of the query
 * may add a gating Result above the branch's.  The scan's own decision,
 * which chose the branch, is not checked twice.
 */
static Plan *
collapse_branch(Plan *branch, Const *tokens, int32 number, List **filter)
{
	Plan	  **at = &branch;
	List	   *spine = NIL;
	List	   *checked = NIL;
	List	   *layers = NIL;
	ListCell   *lc;

	while (at != NULL)
	{
		Plan	   *reader = collapse_layers(*at, &checked, &layers);

		if (reader != *at)
		{
			*at = reader;
			continue;
		}
		spine = lappend(spine, *at);
		at = rows_come_from(*at);
	}
	if (layers != NIL)
		move_layer_initplans(spine, layers);
	*filter = NIL;
	foreach(lc, checked)
	{
		if (!is_branch_decision(lfirst(lc), tokens, number))
			*filter = lappend(*filter, lfirst(lc));
	}
	return branch;
}

static bool
index_is_btree(Oid indexid)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(indexid));
	bool		btree;

	if (!HeapTupleIsValid(tuple))
		return false;
	btree = ((Form_pg_class) GETSTRUCT(tuple))->relam == BTREE_AM_OID;
	ReleaseSysCache(tuple);
	return btree;
}

/*
 * A branch of a read that gives the query no column (count(*), EXISTS)
 * projects an empty row from each row it reads.  A scan whose target list
 * is its tuple's own columns returns the tuple as it is, as PostgreSQL's
 * scans do wherever no exact target list is asked for: nothing above reads
 * a column of it.  Only scans of a table or an index with plain columns,
 * and only where the rows stream into a plain aggregate: a Material, Hash
 * or CTE above keeps what it is given, and asks for the smallest rows.
 */
static void
return_scanned_tuples(Plan *reader, List *rtable)
{
	List	   *tlist = NIL;
	ListCell   *lc;

	if (reader->targetlist != NIL)
		return;
	switch (nodeTag(reader))
	{
		case T_IndexOnlyScan:
			/* btree returns every column; other methods may not (canreturn). */
			if (!index_is_btree(((IndexOnlyScan *) reader)->indexid))
				return;
			foreach(lc, ((IndexOnlyScan *) reader)->indextlist)
			{
				TargetEntry *column = lfirst(lc);

				if (!IsA(column->expr, Var))
					return;
				tlist = lappend(tlist, makeTargetEntry((Expr *) makeVar(INDEX_VAR, column->resno,
																		exprType((Node *) column->expr),
																		exprTypmod((Node *) column->expr),
																		exprCollation((Node *) column->expr),
																		0),
													   column->resno, NULL, false));
			}
			break;
		case T_SeqScan:
		case T_IndexScan:
		case T_BitmapHeapScan:
			{
				Index		scanrelid = ((Scan *) reader)->scanrelid;
				Relation	rel = relation_open(rt_fetch(scanrelid, rtable)->relid, NoLock);
				TupleDesc	desc = RelationGetDescr(rel);

				for (int i = 0; i < desc->natts; i++)
				{
					Form_pg_attribute att = TupleDescAttr(desc, i);

					/* The executor would project all of them instead. */
					if (att->attisdropped || att->atthasmissing)
					{
						relation_close(rel, NoLock);
						return;
					}
					tlist = lappend(tlist, makeTargetEntry((Expr *) makeVar(scanrelid, i + 1, att->atttypid,
																			att->atttypmod, att->attcollation, 0),
														   i + 1, NULL, false));
				}
				relation_close(rel, NoLock);
			}
			break;
		default:
			return;
	}
	reader->targetlist = tlist;
}

/*
 * The condition under which a branch's column shows: expr is its value,
 * either the column itself (NULL: no mask), a NULL (always masked) or
 * CASE WHEN c1 THEN column [WHEN c2 THEN column ...] END, shown where c1 OR
 * c2 ... holds (CASE tries them in that order, as OR does).  *ok is cleared
 * for any other expression, and for conditions this scan does not
 * evaluate in the branch's place: ones with subplans, which belong to the
 * branch's plan, or volatile ones.
 */
static bool
is_column(Expr *expr, Var *column)
{
	return IsA(expr, Var) && ((Var *) expr)->varno == column->varno &&
		((Var *) expr)->varattno == column->varattno && ((Var *) expr)->varlevelsup == 0;
}

static Expr *
shown_when(Expr *expr, Var *column, bool *ok)
{
	CaseExpr   *mask = (CaseExpr *) expr;
	List	   *conds = NIL;
	ListCell   *lc;

	if (is_column(expr, column))
		return NULL;
	if (IsA(expr, Const) && ((Const *) expr)->constisnull &&
		((Const *) expr)->consttype == column->vartype)
		return (Expr *) makeBoolConst(false, false);
	if (!IsA(expr, CaseExpr) || mask->arg != NULL || mask->casetype != column->vartype ||
		(mask->defresult != NULL &&
		 !(IsA(mask->defresult, Const) && ((Const *) mask->defresult)->constisnull)))
	{
		*ok = false;
		return NULL;
	}
	foreach(lc, mask->args)
	{
		CaseWhen   *when = lfirst_node(CaseWhen, lc);

		if (!is_column(when->result, column))
		{
			*ok = false;
			return NULL;
		}
		conds = lappend(conds, when->expr);
	}
	expr = list_length(conds) == 1 ? linitial(conds) : make_orclause(conds);
	if (contain_subplans((Node *) expr) || contain_volatile_functions((Node *) expr))
		*ok = false;
	return expr;
}

/*
 * Each use of a dynamic variable in a rule is a sublink, and so an
 * initplan, of its own, as is a gate's twin in each expression that reads
 * it: a branch's masks read $CURRENT_USER through as many parameters as
 * there are masked columns.  Initplans of the branch that compute equal
 * expressions of nothing but constants give equal values, so the masks
 * read the first of them throughout; equal conditions are then seen as
 * such, and evaluated once per row.
 */
typedef struct SameValues
{
	int			nparams;
	int		   *first;			/* by parameter id: the one read instead */
} SameValues;

/* The expression of an initplan that computes one from constants, or NULL. */
static Expr *
initplan_value(SubPlan *initplan, PlannedStmt *stmt)
{
	Plan	   *plan = list_nth(stmt->subplans, initplan->plan_id - 1);
	Expr	   *value;

	if (initplan->subLinkType != EXPR_SUBLINK || list_length(initplan->setParam) != 1 ||
		plan == NULL || !IsA(plan, Result) || plan->lefttree != NULL || plan->qual != NIL ||
		plan->initPlan != NIL || ((Result *) plan)->resconstantqual != NULL ||
		list_length(plan->targetlist) != 1)
		return NULL;
	value = linitial_node(TargetEntry, plan->targetlist)->expr;
	if (contain_var_clause((Node *) value) || contain_exec_param((Node *) value, NIL) ||
		contain_subplans((Node *) value) || contain_volatile_functions((Node *) value))
		return NULL;
	return value;
}

static Node *
read_first_of_same_values(Node *node, SameValues *same)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXEC &&
		((Param *) node)->paramid < same->nparams)
	{
		Param	   *param = (Param *) copyObject(node);

		param->paramid = same->first[param->paramid];
		return (Node *) param;
	}
	return expression_tree_mutator(node, read_first_of_same_values, same);
}

static List *
conditions_on_first_of_same_values(List *conds, Plan *branch, PlannedStmt *stmt)
{
	SameValues	same;
	List	   *values = NIL;
	List	   *firsts = NIL;
	ListCell   *lc;

	same.nparams = list_length(stmt->paramExecTypes);
	same.first = palloc(sizeof(int) * Max(same.nparams, 1));
	for (int i = 0; i < same.nparams; i++)
		same.first[i] = i;
	foreach(lc, branch->initPlan)
	{
		SubPlan    *initplan = lfirst_node(SubPlan, lc);
		Expr	   *value = initplan_value(initplan, stmt);
		int			param = linitial_int(initplan->setParam);
		ListCell   *lv;
		ListCell   *lf;

		if (value == NULL)
			continue;
		forboth(lv, values, lf, firsts)
		{
			if (equal(lfirst(lv), value))
			{
				same.first[param] = lfirst_int(lf);
				break;
			}
		}
		if (same.first[param] == param)
		{
			values = lappend(values, value);
			firsts = lappend_int(firsts, param);
		}
	}
	conds = (List *) read_first_of_same_values((Node *) conds, &same);
	pfree(same.first);
	return conds;
}

/*
 * A branch that reads a table's rows whole, with some columns masked,
 * returns the stored rows instead, and this scan masks them (masked_slot.c):
 * whatever keeps the rows then copies most of each stored tuple, where
 * from the branch's projection it formed a new one from every column.
 * Only a scan of a table whose target list is its columns in order, plain
 * or masked, with none dropped or added since its rows were stored, so
 * that the scan, left without a projection, returns the stored rows.
 * Returns the masks (see PRIVATE_MASKS), NIL where the branch stays as it
 * is.
 */
static List *
lift_masks(Plan *branch, PlannedStmt *stmt)
{
	Index		scanrelid;
	RangeTblEntry *rte;
	Relation	rel;
	TupleDesc	desc;
	List	   *columns = NIL;
	List	   *attnos = NIL;
	List	   *conds = NIL;
	bool		ok = true;

	switch (nodeTag(branch))
	{
		case T_SeqScan:
		case T_SampleScan:
		case T_IndexScan:
		case T_BitmapHeapScan:
		case T_TidScan:
		case T_TidRangeScan:
			break;
		default:
			return NIL;
	}
	scanrelid = ((Scan *) branch)->scanrelid;
	rte = rt_fetch(scanrelid, stmt->rtable);
	if (rte->rtekind != RTE_RELATION)
		return NIL;
	rel = relation_open(rte->relid, NoLock);
	desc = RelationGetDescr(rel);
	if (list_length(branch->targetlist) != desc->natts)
		ok = false;
	for (int i = 0; ok && i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		TargetEntry *tle = list_nth_node(TargetEntry, branch->targetlist, i);
		Var		   *column;
		Expr	   *shown;

		if (att->attisdropped || att->atthasmissing || tle->resjunk)
		{
			ok = false;
			break;
		}
		column = makeVar(scanrelid, i + 1, att->atttypid, att->atttypmod, att->attcollation, 0);
		shown = shown_when(tle->expr, column, &ok);
		columns = lappend(columns, flatCopyTargetEntry(tle));
		((TargetEntry *) llast(columns))->expr = (Expr *) column;
		if (shown != NULL)
		{
			attnos = lappend_int(attnos, i + 1);
			conds = lappend(conds, shown);
		}
	}
	relation_close(rel, NoLock);
	if (!ok || attnos == NIL)
		return NIL;
	branch->targetlist = columns;
	return list_make2(attnos, conditions_on_first_of_same_values(conds, branch, stmt));
}

static bool
defer_in_branch_scans(Plan *plan, void *context)
{
	CustomScan *cscan = (CustomScan *) plan;
	DeferContext *cxt = context;
	List	   *ids = NIL;
	List	   *plans = NIL;
	List	   *filters = NIL;
	List	   *masks = NIL;
	List	   *parameters = NIL;
	ListCell   *lc;

	if (!IsA(plan, CustomScan) || cscan->methods != &branch_scan_methods ||
		list_length(cscan->custom_private) != PRIVATE_PLANNED)
		return false;
	foreach(lc, cscan->custom_plans)
	{
		List	   *filter;

		if (!cxt->only_note)
		{
			lfirst(lc) = collapse_branch(lfirst(lc), linitial_node(Const, cscan->custom_private),
										 list_nth_int(lsecond(cscan->custom_private),
													  foreach_current_index(lc)),
										 &filter);
			filters = lappend(filters, filter);
			masks = lappend(masks, lift_masks(lfirst(lc), cxt->stmt));
		}
		cxt->ids = NIL;
		cxt->plans = NIL;
		cxt->params = NIL;
		cxt->positions = NIL;
		cxt->values = NIL;
		acl_walk_plan(lfirst(lc), take_initplans, cxt);
		ids = lappend(ids, cxt->ids);
		plans = lappend(plans, cxt->plans);
		parameters = lappend(parameters, list_make3(cxt->params, cxt->positions, cxt->values));
	}
	if (!cxt->only_note)
		cscan->custom_private = lappend(lappend(lappend(lappend(lappend(cscan->custom_private, ids), plans),
															filters), masks), parameters);
	return false;
}

/*
 * The ids of the initplans that the branch scans of the statement's own
 * plan will take, and start once the statement's subplans are started.
 */
Bitmapset *
acl_branch_initplan_ids(PlannedStmt *stmt)
{
	DeferContext cxt = {stmt, true, NULL, NIL, NIL, NIL, NIL, NIL};

	acl_walk_plan(stmt->planTree, defer_in_branch_scans, &cxt);
	return cxt.noted;
}

/* Branch scans whose rows stream, columnless, into a plain aggregate. */
static bool
stream_into_aggregates(Plan *plan, void *context)
{
	Plan	   *below = plan->lefttree;
	ListCell   *lc;

	if (!IsA(plan, Agg) || ((Agg *) plan)->aggstrategy != AGG_PLAIN || below == NULL ||
		!IsA(below, CustomScan) || ((CustomScan *) below)->methods != &branch_scan_methods ||
		below->targetlist != NIL)
		return false;
	foreach(lc, ((CustomScan *) below)->custom_plans)
		return_scanned_tuples(lfirst(lc), context);
	return false;
}

/* ------------------------------------------------------------------------
 * One range-table entry per table that a branch scan's branches read.
 * ---------------------------------------------------------------------- */

/*
 * Each branch reads its table through an entry of the range table of its
 * own, and so does each rule's subquery within it: a read of a table with
 * ten permissions names the table ten times.  PostgreSQL locks every
 * relation entry each time it reuses a cached plan (AcquireExecutorLocks)
 * and checks each one's privileges each time the plan starts, though only
 * one branch runs.  So once the plan is made, the scans under one branch
 * scan that read a table the same way read it through one entry (the
 * first), which is granted the columns all of them select; the others
 * become empty RTE_RESULT entries, which nothing locks or checks.  The
 * executor opens a relation once per entry, however many scans read it.
 *
 * Only in a SELECT without row marks: the executor tracks rows locked or
 * written by entry (EvalPlanQual).  An entry that a scan outside the branch
 * scan reads, or that an appendrel names, stays; and a plan holding a node
 * this pass does not know stays as it is.
 */
typedef struct ShareContext
{
	PlannedStmt *stmt;
	int			nrtes;
	bool		rewriting;		/* false: the census; true: the rewrite */
	bool		unknown;		/* a plan node this pass does not know */
	CustomScan *current;		/* the outermost branch scan walked, or NULL */
	CustomScan **owner;			/* by RT index: the branch scan reading it */
	bool	   *kept;			/* by RT index: not to be shared */
	int		   *target;			/* by RT index: the entry its scans read */
} ShareContext;

static Node *
share_vars_mutator(Node *node, ShareContext *cxt)
{
	Var		   *var = (Var *) node;

	if (node == NULL)
		return NULL;
	if (IsA(node, Var) && var->varno > 0 && var->varno <= cxt->nrtes && var->varlevelsup == 0 &&
		cxt->target[var->varno] != var->varno)
	{
		var = (Var *) copyObject(node);
		if ((int) var->varnosyn == var->varno)
			var->varnosyn = cxt->target[var->varno];
		var->varno = cxt->target[var->varno];
		return (Node *) var;
	}
	return expression_tree_mutator(node, share_vars_mutator, cxt);
}

#define SHARE_VARS(field) \
	((field) = (void *) share_vars_mutator((Node *) (field), cxt))

/* The scan's expressions that may read its relation's columns. */
static void
share_scan_vars(Plan *plan, ShareContext *cxt)
{
	SHARE_VARS(plan->targetlist);
	SHARE_VARS(plan->qual);
	switch (nodeTag(plan))
	{
		case T_SampleScan:
			SHARE_VARS(((SampleScan *) plan)->tablesample);
			break;
		case T_IndexScan:
			SHARE_VARS(((IndexScan *) plan)->indexqual);
			SHARE_VARS(((IndexScan *) plan)->indexqualorig);
			SHARE_VARS(((IndexScan *) plan)->indexorderby);
			SHARE_VARS(((IndexScan *) plan)->indexorderbyorig);
			break;
		case T_IndexOnlyScan:
			SHARE_VARS(((IndexOnlyScan *) plan)->indexqual);
			SHARE_VARS(((IndexOnlyScan *) plan)->recheckqual);
			SHARE_VARS(((IndexOnlyScan *) plan)->indexorderby);
			SHARE_VARS(((IndexOnlyScan *) plan)->indextlist);
			break;
		case T_BitmapIndexScan:
			SHARE_VARS(((BitmapIndexScan *) plan)->indexqual);
			SHARE_VARS(((BitmapIndexScan *) plan)->indexqualorig);
			break;
		case T_BitmapHeapScan:
			SHARE_VARS(((BitmapHeapScan *) plan)->bitmapqualorig);
			break;
		case T_TidScan:
			SHARE_VARS(((TidScan *) plan)->tidquals);
			break;
		case T_TidRangeScan:
			SHARE_VARS(((TidRangeScan *) plan)->tidrangequals);
			break;
		default:
			break;
	}
}

static void share_walk(Plan *plan, ShareContext *cxt);

static bool
share_visit(Plan *plan, void *context)
{
	ShareContext *cxt = context;
	Index		rti;

	switch (nodeTag(plan))
	{
		case T_SeqScan:
		case T_SampleScan:
		case T_IndexScan:
		case T_IndexOnlyScan:
		case T_BitmapIndexScan:
		case T_BitmapHeapScan:
		case T_TidScan:
		case T_TidRangeScan:
			rti = ((Scan *) plan)->scanrelid;
			if (rti == 0 || (int) rti > cxt->nrtes)
				cxt->unknown = true;
			else if (cxt->rewriting)
			{
				/* A scan's expressions name its own entry only. */
				if (cxt->target[rti] != (int) rti)
				{
					((Scan *) plan)->scanrelid = cxt->target[rti];
					share_scan_vars(plan, cxt);
				}
			}
			else if (cxt->current == NULL ||
					 (cxt->owner[rti] != NULL && cxt->owner[rti] != cxt->current))
				cxt->kept[rti] = true;
			else
				cxt->owner[rti] = cxt->current;
			return false;
		case T_CustomScan:
			if (((CustomScan *) plan)->methods != &branch_scan_methods ||
				list_length(((CustomScan *) plan)->custom_private) != PRIVATE_DEFERRED)
			{
				cxt->unknown = true;
				return true;
			}
			else
			{
				CustomScan *cscan = (CustomScan *) plan;
				CustomScan *outer = cxt->current;
				ListCell   *lc;

				if (cxt->rewriting)
				{
					List	   *masks = list_nth(cscan->custom_private, PRIVATE_MASKS);

					SHARE_VARS(list_nth_cell(cscan->custom_private, PRIVATE_FILTERS)->ptr_value);
					foreach(lc, masks)
					{
						if (lfirst(lc) != NIL)
							SHARE_VARS(list_nth_cell(lfirst(lc), 1)->ptr_value);
					}
				}
				if (outer == NULL)
					cxt->current = cscan;
				foreach(lc, cscan->custom_plans)
					share_walk(lfirst(lc), cxt);
				foreach(lc, lfourth(cscan->custom_private))
				{
					ListCell   *lp;

					foreach(lp, lfirst(lc))
						share_walk(lfirst(lp), cxt);
				}
				cxt->current = outer;
				return true;
			}
		case T_SubqueryScan:
		case T_FunctionScan:
		case T_ValuesScan:
		case T_CteScan:
		case T_WorkTableScan:
		case T_NamedTuplestoreScan:
		case T_TableFuncScan:
		case T_Result:
		case T_ProjectSet:
		case T_Sort:
		case T_IncrementalSort:
		case T_Group:
		case T_Agg:
		case T_WindowAgg:
		case T_Unique:
		case T_SetOp:
		case T_Limit:
		case T_Material:
		case T_Memoize:
		case T_Hash:
		case T_NestLoop:
		case T_MergeJoin:
		case T_HashJoin:
		case T_BitmapAnd:
		case T_BitmapOr:
		case T_RecursiveUnion:
			/* Read no relation entry, or read it through their own scan. */
			return false;
		case T_Append:
			if (((Append *) plan)->part_prune_info != NULL)
				cxt->unknown = true;
			return cxt->unknown;
		case T_MergeAppend:
			if (((MergeAppend *) plan)->part_prune_info != NULL)
				cxt->unknown = true;
			return cxt->unknown;
		default:
			cxt->unknown = true;
			return true;
	}
}

static void
share_walk(Plan *plan, ShareContext *cxt)
{
	if (!cxt->unknown)
		acl_walk_plan(plan, share_visit, cxt);
}

/* Every plan of the statement, each once; deferred initplans with their scan. */
static void
share_walk_statement(ShareContext *cxt)
{
	ListCell   *lc;

	share_walk(cxt->stmt->planTree, cxt);
	foreach(lc, cxt->stmt->subplans)
	{
		if (lfirst(lc) != NULL)
			share_walk(lfirst(lc), cxt);
	}
}

/* Whether rte, a branch's read, may share an entry with another like it. */
static bool
sharable_entry(RangeTblEntry *rte)
{
	return rte->rtekind == RTE_RELATION && !rte->inh && rte->tablesample == NULL &&
		(rte->relkind == RELKIND_RELATION || rte->relkind == RELKIND_MATVIEW) &&
		(rte->requiredPerms & ~ACL_SELECT) == 0 && rte->securityQuals == NIL &&
		bms_is_empty(rte->insertedCols) && bms_is_empty(rte->updatedCols) &&
		bms_is_empty(rte->extraUpdatedCols);
}

/*
 * Whether first may stand for rte, and if so makes it do so: the shared
 * entry is checked for every read either was checked for (enforce.c leaves
 * a read repeated across branches checked once, the others unchecked).
 */
static bool
share_entry(RangeTblEntry *first, RangeTblEntry *rte)
{
	if (first->relid != rte->relid || first->rellockmode != rte->rellockmode)
		return false;
	if (rte->requiredPerms != 0)
	{
		if (first->requiredPerms == 0)
		{
			first->requiredPerms = rte->requiredPerms;
			first->checkAsUser = rte->checkAsUser;
			first->selectedCols = bms_copy(rte->selectedCols);
		}
		else if (first->checkAsUser != rte->checkAsUser)
			return false;
		else
			first->selectedCols = bms_union(first->selectedCols, rte->selectedCols);
	}
	return true;
}

static void
share_branch_relations(PlannedStmt *stmt)
{
	ShareContext cxt;
	bool		shared = false;
	ListCell   *lc;

	if (stmt->commandType != CMD_SELECT || stmt->rowMarks != NIL || stmt->hasModifyingCTE ||
		stmt->resultRelations != NIL)
		return;
	memset(&cxt, 0, sizeof(cxt));
	cxt.stmt = stmt;
	cxt.nrtes = list_length(stmt->rtable);
	cxt.owner = palloc0(sizeof(CustomScan *) * (cxt.nrtes + 1));
	cxt.kept = palloc0(sizeof(bool) * (cxt.nrtes + 1));
	cxt.target = palloc(sizeof(int) * (cxt.nrtes + 1));
	share_walk_statement(&cxt);
	if (cxt.unknown)
		return;
	foreach(lc, stmt->appendRelations)
	{
		AppendRelInfo *appinfo = lfirst_node(AppendRelInfo, lc);

		if ((int) appinfo->parent_relid <= cxt.nrtes)
			cxt.kept[appinfo->parent_relid] = true;
		if ((int) appinfo->child_relid <= cxt.nrtes)
			cxt.kept[appinfo->child_relid] = true;
	}
	for (int r = 1; r <= cxt.nrtes; r++)
	{
		RangeTblEntry *rte = rt_fetch(r, stmt->rtable);

		cxt.target[r] = r;
		if (cxt.owner[r] == NULL || cxt.kept[r] || !sharable_entry(rte))
			continue;
		for (int q = 1; q < r; q++)
		{
			RangeTblEntry *first = rt_fetch(q, stmt->rtable);

			if (cxt.target[q] != q || cxt.owner[q] != cxt.owner[r] || cxt.kept[q] ||
				!sharable_entry(first) || !share_entry(first, rte))
				continue;
			cxt.target[r] = q;
			rte->rtekind = RTE_RESULT;
			rte->relid = InvalidOid;
			rte->requiredPerms = 0;
			shared = true;
			break;
		}
	}
	if (!shared)
		return;
	cxt.rewriting = true;
	share_walk_statement(&cxt);
}

/*
 * Called on every finished plan.  Not in parallel plans: a worker is sent
 * the statement's subplans, not the scan's.
 */
void
acl_defer_branch_initplans(PlannedStmt *stmt)
{
	DeferContext cxt = {stmt, false, NULL, NIL, NIL, NIL, NIL, NIL};
	ListCell   *lc;

	if (stmt->commandType == CMD_UTILITY || stmt->parallelModeNeeded)
		return;
	acl_walk_plan(stmt->planTree, defer_in_branch_scans, &cxt);
	foreach(lc, stmt->subplans)
		acl_walk_plan(lfirst(lc), defer_in_branch_scans, &cxt);
	acl_walk_plan(stmt->planTree, stream_into_aggregates, stmt->rtable);
	foreach(lc, stmt->subplans)
		acl_walk_plan(lfirst(lc), stream_into_aggregates, stmt->rtable);
	share_branch_relations(stmt);
}

void
acl_branch_scan_init(void)
{
	RegisterCustomScanMethods(&branch_scan_methods);
	prev_set_rel_pathlist_hook = set_rel_pathlist_hook;
	set_rel_pathlist_hook = acl_set_rel_pathlist;
}
