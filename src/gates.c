/*-------------------------------------------------------------------------
 *
 * gates.c
 *	  The policies' gates, (SELECT acl.has_policy(...)) and the like, planned
 *	  cheaply and read once per execution.
 *
 * The planner plans every sublink as a subquery of its own.  A read of a
 * table with ten permissions carries some thirty gates across its branches,
 * and planning them was a third of planning the read.  So once a query is
 * enforced (enforce.c and the branch scan recognise gates by their sublink
 * form), each gate whose arguments are constants becomes a call of its
 * twin, acl._has_policy_once(...) and so on, which the planner treats as
 * any stable function call.
 *
 * A call would be evaluated for every row.  Once the plan is made, each
 * twin call in a plan node's expressions becomes a parameter set by an
 * initplan of that node, as the planner would have made it: evaluated when
 * first read, once per execution, and deferred with its branch by the
 * branch scan.  A call this pass does not reach stays a call, which is
 * still right: the twin keeps its first answer with its expression
 * (identity.c), so the gate is read once per execution either way.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "parser/parse_func.h"

#include "acl.h"

typedef struct OnceGate
{
	const char *gate;
	int			nargs;
	Oid			argtypes[2];
	const char *once;
} OnceGate;

static const OnceGate once_gates[] = {
	{"is_admin", 0, {InvalidOid, InvalidOid}, "_is_admin_once"},
	{"has_policy", 2, {UUIDOID, TEXTOID}, "_has_policy_once"},
	{"_share_reads", 1, {REGCLASSOID, InvalidOid}, "_share_reads_once"},
	{"_share_field", 2, {REGCLASSOID, TEXTOID}, "_share_field_once"},
	{"_share_is_admin", 1, {TEXTOID, InvalidOid}, "_share_is_admin_once"},
	{"_share_has_policy", 2, {TEXTOID, UUIDOID}, "_share_has_policy_once"},
};

#define NUM_ONCE_GATES lengthof(once_gates)

/*
 * Looked up again after acl.* changes, which include DROP and CREATE
 * EXTENSION.  InvalidOid where acl is not installed: nothing is replaced.
 */
static Oid	gate_oid[NUM_ONCE_GATES];
static Oid	once_oid[NUM_ONCE_GATES];
static uint64 oids_generation = 0;
static bool oids_known = false;

static void
look_up_gates(void)
{
	if (oids_known && oids_generation == acl_catalog_generation)
		return;
	for (int i = 0; i < (int) NUM_ONCE_GATES; i++)
	{
		const OnceGate *g = &once_gates[i];

		gate_oid[i] = LookupFuncName(list_make2(makeString("acl"), makeString((char *) g->gate)),
									 g->nargs, g->argtypes, true);
		once_oid[i] = LookupFuncName(list_make2(makeString("acl"), makeString((char *) g->once)),
									 g->nargs, g->argtypes, true);
		if (!OidIsValid(once_oid[i]))
			gate_oid[i] = InvalidOid;
	}
	oids_generation = acl_catalog_generation;
	oids_known = true;
}

static bool
is_once_call(Node *node)
{
	if (!IsA(node, FuncExpr))
		return false;
	for (int i = 0; i < (int) NUM_ONCE_GATES; i++)
	{
		if (((FuncExpr *) node)->funcid == once_oid[i] && OidIsValid(once_oid[i]))
			return true;
	}
	return false;
}

/* ------------------------------------------------------------------------
 * The query: sublinks become calls.
 * ---------------------------------------------------------------------- */

/* The twin call for node, a gate sublink whose arguments are constants; or NULL. */
static Node *
once_call(Node *node)
{
	FuncExpr   *call = (FuncExpr *) acl_selected_expr(node);
	ListCell   *lc;

	if (call == NULL || !IsA(call, FuncExpr))
		return NULL;
	foreach(lc, call->args)
	{
		if (!IsA(lfirst(lc), Const))
			return NULL;
	}
	for (int i = 0; i < (int) NUM_ONCE_GATES; i++)
	{
		if (call->funcid == gate_oid[i] && OidIsValid(gate_oid[i]))
		{
			FuncExpr   *twin = copyObject(call);

			twin->funcid = once_oid[i];
			return (Node *) twin;
		}
	}
	return NULL;
}

static void
replace_gate(Node **slot, bool *replaced)
{
	Node	   *twin = *slot != NULL ? once_call(*slot) : NULL;

	if (twin != NULL)
	{
		*slot = twin;
		*replaced = true;
	}
}

/*
 * Replaces in place wherever a gate stands: an AND/OR/NOT argument, a list
 * element (security quals, array elements), a WHERE, a join's ON, a CASE's
 * WHEN, a target or a check option.  The walker passes a BoolExpr's
 * arguments on without showing it their list.
 */
static bool
sublinks_to_calls(Node *node, void *context)
{
	bool	   *replaced = context;

	if (node == NULL)
		return false;
	check_stack_depth();
	switch (nodeTag(node))
	{
		case T_List:
		case T_BoolExpr:
			{
				List	   *items = IsA(node, List) ? (List *) node : ((BoolExpr *) node)->args;
				ListCell   *lc;

				foreach(lc, items)
					replace_gate((Node **) &lfirst(lc), replaced);
				break;
			}
		case T_FromExpr:
			replace_gate(&((FromExpr *) node)->quals, replaced);
			break;
		case T_JoinExpr:
			replace_gate(&((JoinExpr *) node)->quals, replaced);
			break;
		case T_CaseWhen:
			replace_gate((Node **) &((CaseWhen *) node)->expr, replaced);
			break;
		case T_TargetEntry:
			replace_gate((Node **) &((TargetEntry *) node)->expr, replaced);
			break;
		case T_WithCheckOption:
			replace_gate(&((WithCheckOption *) node)->qual, replaced);
			break;
		case T_Query:
			replace_gate(&((Query *) node)->havingQual, replaced);
			return query_tree_walker((Query *) node, sublinks_to_calls, context, 0);
		default:
			break;
	}
	return expression_tree_walker(node, sublinks_to_calls, context);
}

/* Whether any gate was replaced: if none was, the plan has no call to turn. */
bool
acl_gates_to_once_calls(Query *query)
{
	bool		replaced = false;

	look_up_gates();
	if (OidIsValid(once_oid[0]))	/* acl is installed here */
		(void) sublinks_to_calls((Node *) query, &replaced);
	return replaced;
}

/* ------------------------------------------------------------------------
 * The plan: calls become initplan parameters.
 * ---------------------------------------------------------------------- */

typedef struct InitplanContext
{
	PlannedStmt *stmt;
	Bitmapset  *deferred;		/* plan ids the branch scan will take */
	int			next_node_id;
	List	   *calls;			/* of the plan node at hand */
	List	   *params;
} InitplanContext;

static bool
note_node_id(Plan *plan, void *context)
{
	InitplanContext *cxt = context;

	cxt->next_node_id = Max(cxt->next_node_id, plan->plan_node_id + 1);
	return false;
}

static Node *
calls_to_params(Node *node, InitplanContext *cxt)
{
	ListCell   *lc;
	ListCell   *lp;
	Param	   *param;

	if (node == NULL)
		return NULL;
	check_stack_depth();
	if (!is_once_call(node))
		return expression_tree_mutator(node, calls_to_params, cxt);
	forboth(lc, cxt->calls, lp, cxt->params)
	{
		if (equal(lfirst(lc), node))
			return copyObject(lfirst(lp));
	}
	param = makeNode(Param);
	param->paramkind = PARAM_EXEC;
	param->paramid = list_length(cxt->stmt->paramExecTypes);
	param->paramtype = BOOLOID;
	param->paramtypmod = -1;
	param->paramcollid = InvalidOid;
	param->location = -1;
	cxt->stmt->paramExecTypes = lappend_oid(cxt->stmt->paramExecTypes, BOOLOID);
	cxt->calls = lappend(cxt->calls, node);
	cxt->params = lappend(cxt->params, param);
	return copyObject((Node *) param);
}

#define CALLS_TO_PARAMS(field) \
	((field) = (void *) calls_to_params((Node *) (field), cxt))

/* The initplan that sets param to call's value: a Result of one column. */
static SubPlan *
initplan_for(InitplanContext *cxt, FuncExpr *call, Param *param)
{
	Result	   *result = makeNode(Result);
	SubPlan    *subplan = makeNode(SubPlan);

	result->plan.targetlist = list_make1(makeTargetEntry((Expr *) call, 1, NULL, false));
	result->plan.plan_rows = 1;
	result->plan.plan_width = 1;
	result->plan.plan_node_id = cxt->next_node_id++;
	cxt->stmt->subplans = lappend(cxt->stmt->subplans, result);

	subplan->subLinkType = EXPR_SUBLINK;
	subplan->plan_id = list_length(cxt->stmt->subplans);
	subplan->plan_name = psprintf("InitPlan %d (returns $%d)", subplan->plan_id, param->paramid);
	subplan->firstColType = BOOLOID;
	subplan->firstColTypmod = -1;
	subplan->firstColCollation = InvalidOid;
	subplan->setParam = list_make1_int(param->paramid);
	subplan->per_call_cost = 0.01;
	return subplan;
}

/*
 * The expressions a plan node evaluates per row or per execution; any other
 * (a bitmap scan's recheck, say) keeps its calls.
 */
static bool
plan_calls_to_params(Plan *plan, void *context)
{
	InitplanContext *cxt = context;
	ListCell   *lc;
	ListCell   *lp;

	cxt->calls = NIL;
	cxt->params = NIL;
	CALLS_TO_PARAMS(plan->targetlist);
	CALLS_TO_PARAMS(plan->qual);
	switch (nodeTag(plan))
	{
		case T_Result:
			CALLS_TO_PARAMS(((Result *) plan)->resconstantqual);
			break;
		case T_NestLoop:
		case T_MergeJoin:
		case T_HashJoin:
			CALLS_TO_PARAMS(((Join *) plan)->joinqual);
			break;
		case T_ModifyTable:
			CALLS_TO_PARAMS(((ModifyTable *) plan)->withCheckOptionLists);
			CALLS_TO_PARAMS(((ModifyTable *) plan)->returningLists);
			CALLS_TO_PARAMS(((ModifyTable *) plan)->onConflictWhere);
			break;
		default:
			break;
	}
	forboth(lc, cxt->calls, lp, cxt->params)
		plan->initPlan = lappend(plan->initPlan, initplan_for(cxt, lfirst(lc), lfirst(lp)));
	return false;
}

/*
 * Called on every finished plan, before the branch scan takes its
 * branches' initplans.  The executor starts a statement's subplans in the
 * order of their ids, and an initplan must be started before the plan
 * that holds it: so the subplans that stay with the statement, started
 * before the initplans made here, keep their calls.  So do the initplans
 * of branch scans within them: under EXPLAIN, such a scan starts its
 * branches while the statement's subplans are still being started.  The
 * branch scans of the statement's own plan start what they take once all
 * of those are, in their own order, which puts a plan's initplans first.
 * Not in parallel plans, whose workers are sent the values of the
 * parameters the planner knew of only.
 */
void
acl_once_calls_to_initplans(PlannedStmt *stmt)
{
	InitplanContext cxt = {stmt, NULL, 0, NIL, NIL};
	int			nsubplans = list_length(stmt->subplans);

	if (stmt->commandType == CMD_UTILITY || stmt->parallelModeNeeded)
		return;
	acl_walk_plan(stmt->planTree, note_node_id, &cxt);
	for (int i = 0; i < nsubplans; i++)
		acl_walk_plan(list_nth(stmt->subplans, i), note_node_id, &cxt);
	cxt.deferred = acl_branch_initplan_ids(stmt);

	acl_walk_plan(stmt->planTree, plan_calls_to_params, &cxt);
	for (int i = 0; i < nsubplans; i++)
	{
		if (bms_is_member(i + 1, cxt.deferred))
			acl_walk_plan(list_nth(stmt->subplans, i), plan_calls_to_params, &cxt);
	}
}
