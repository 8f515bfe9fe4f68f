/*-------------------------------------------------------------------------
 *
 * gates.c
 *	  The policies' gates, acl.has_policy(...) and the like, planned cheaply
 *	  and read once per execution.
 *
 * A gate is a call whose arguments are constants, written plainly (the
 * generated policies) or as a (SELECT ...) sublink (the usual advice for
 * hand-written policies).  A plain call would be evaluated for every row;
 * a sublink is planned as a subquery of its own, and a read of a table
 * with ten permissions carries some thirty gates across its branches.  So
 * once a query is enforced (enforce.c and the branch scan recognise gates
 * in either form), each gate becomes a call of its twin,
 * acl._has_policy_once(...) and so on, which the planner treats as any
 * stable function call.  The compiled rules' dynamic variables, plain calls
 * too, become (SELECT ...) sublinks instead (see dynamic_functions).
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

#include "access/table.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "parser/parse_func.h"

#include "acl.h"

typedef struct OnceGate
{
	const char *gate;
	int			nargs;
	Oid			argtypes[3];
	const char *once;
	bool		settled;		/* its value follows from the open gates */
} OnceGate;

static const OnceGate once_gates[] = {
	{"is_admin", 0, {InvalidOid, InvalidOid}, "_is_admin_once", true},
	{"has_policy", 1, {UUIDOID, InvalidOid}, "_has_policy_once", true},
	{"has_policy", 2, {UUIDOID, TEXTOID}, "_has_policy_once", true},
	{"_share_reads", 1, {REGCLASSOID, InvalidOid}, "_share_reads_once", false},
	{"_share_field", 2, {REGCLASSOID, TEXTOID}, "_share_field_once", false},
	{"_share_is_admin", 1, {TEXTOID, InvalidOid}, "_share_is_admin_once", false},
	{"_share_has_policy", 2, {TEXTOID, UUIDOID}, "_share_has_policy_once", false},
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

/*
 * The functions behind dynamic variables ($CURRENT_USER, paths, a share's
 * sides), which compiled rules call plainly.  Unlike a gate, such a call
 * is often the operand of an indexed comparison, where the planner's
 * selectivity estimate would evaluate a call, reading the identity while
 * planning.  So it becomes (SELECT call), an initplan, instead.
 */
static const OnceGate dynamic_functions[] = {
	{"current_user_id", 0, {InvalidOid, InvalidOid}, NULL, true},
	{"current_role_id", 0, {InvalidOid, InvalidOid}, NULL, true},
	{"current_roles", 0, {InvalidOid, InvalidOid}, NULL, true},
	{"current_policies", 0, {InvalidOid, InvalidOid}, NULL, true},
	{"dynamic_value", 2, {TEXTOID, TEXTARRAYOID}, NULL, false},
	{"dynamic_values", 2, {TEXTOID, TEXTARRAYOID}, NULL, false},
	{"_share_value", 3, {TEXTOID, TEXTOID, TEXTARRAYOID}, NULL, false},
	{"_share_values", 3, {TEXTOID, TEXTOID, TEXTARRAYOID}, NULL, false},
};

#define NUM_DYNAMIC_FUNCTIONS lengthof(dynamic_functions)

static Oid	dynamic_oid[NUM_DYNAMIC_FUNCTIONS];

static Oid
look_up(const char *name, const OnceGate *g)
{
	return LookupFuncName(list_make2(makeString("acl"), makeString((char *) name)),
						  g->nargs, g->argtypes, true);
}

static void
look_up_gates(void)
{
	if (oids_known && oids_generation == acl_catalog_generation)
		return;
	for (int i = 0; i < (int) NUM_ONCE_GATES; i++)
	{
		gate_oid[i] = look_up(once_gates[i].gate, &once_gates[i]);
		once_oid[i] = look_up(once_gates[i].once, &once_gates[i]);
		if (!OidIsValid(once_oid[i]))
			gate_oid[i] = InvalidOid;
	}
	for (int i = 0; i < (int) NUM_DYNAMIC_FUNCTIONS; i++)
		dynamic_oid[i] = look_up(dynamic_functions[i].gate, &dynamic_functions[i]);
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
 * The query: gates become twin calls.
 * ---------------------------------------------------------------------- */

/*
 * A query with grouping sets matches its target list and HAVING against
 * the grouped expressions with equal(), so that rollup rows null them:
 * rewriting some occurrences of a call and not others would break that.
 * There the calls are left as they are written (read per row, still right);
 * the queries of their sublinks are rewritten as any other.
 */
typedef struct TwinContext
{
	bool		plain;			/* plain calls are gates too */
	bool		frozen;			/* a grouping-sets query's target list or HAVING */
	bool		replaced;
} TwinContext;

/* A constant, or an ARRAY[...] of them (a variable's path) */
static bool
is_constant(Node *node)
{
	ListCell   *lc;

	if (IsA(node, Const))
		return true;
	if (!IsA(node, ArrayExpr) || ((ArrayExpr *) node)->multidims)
		return false;
	foreach(lc, ((ArrayExpr *) node)->elements)
	{
		if (!IsA(lfirst(lc), Const))
			return false;
	}
	return true;
}

static bool
is_call_of_constants(Node *node)
{
	ListCell   *lc;

	if (!IsA(node, FuncExpr))
		return false;
	foreach(lc, ((FuncExpr *) node)->args)
	{
		if (!is_constant(lfirst(lc)))
			return false;
	}
	return true;
}

/*
 * Whether expr is a call, with constant arguments, of a function whose
 * answer follows from the end user's access alone: the twins of the
 * non-share gates and $CURRENT_USER, $CURRENT_ROLE and the like.  Once a
 * branch scan has opened its gates it holds that access, so such a call
 * cannot fail and may be read before anything asks for it.  A path into
 * the user's row (dynamic_value) may read more, and a share's functions
 * resolve the share: those are read only when asked for.
 */
bool
acl_is_settled_call(Expr *expr)
{
	Oid			funcid;

	if (!is_call_of_constants((Node *) expr))
		return false;
	look_up_gates();
	funcid = ((FuncExpr *) expr)->funcid;
	for (int i = 0; i < (int) NUM_ONCE_GATES; i++)
	{
		if (once_gates[i].settled && funcid == once_oid[i] && OidIsValid(funcid))
			return true;
	}
	for (int i = 0; i < (int) NUM_DYNAMIC_FUNCTIONS; i++)
	{
		if (dynamic_functions[i].settled && funcid == dynamic_oid[i] && OidIsValid(funcid))
			return true;
	}
	return false;
}

/* The twin call for node, a gate whose arguments are constants; or NULL. */
static Node *
once_call(Node *node, bool plain)
{
	FuncExpr   *call = (FuncExpr *) acl_selected_expr(node);

	if (call == NULL && plain)
		call = (FuncExpr *) node;
	if (call == NULL || !is_call_of_constants((Node *) call))
		return NULL;
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
replace_gate(Node **slot, TwinContext *cxt)
{
	Node	   *twin = *slot != NULL && !cxt->frozen ? once_call(*slot, cxt->plain) : NULL;

	if (twin != NULL)
	{
		*slot = twin;
		cxt->replaced = true;
	}
}

/*
 * Replaces in place wherever a gate stands: an AND/OR/NOT argument, a list
 * element (security quals, array elements), a WHERE, a join's ON, a CASE's
 * WHEN, a target or a check option.  The walker passes a BoolExpr's
 * arguments on without showing it their list.
 */
static bool
gates_to_twins(Node *node, void *context)
{
	TwinContext *cxt = context;

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
					replace_gate((Node **) &lfirst(lc), cxt);
				break;
			}
		case T_FromExpr:
			replace_gate(&((FromExpr *) node)->quals, cxt);
			break;
		case T_JoinExpr:
			replace_gate(&((JoinExpr *) node)->quals, cxt);
			break;
		case T_CaseWhen:
			replace_gate((Node **) &((CaseWhen *) node)->expr, cxt);
			break;
		case T_TargetEntry:
			replace_gate((Node **) &((TargetEntry *) node)->expr, cxt);
			break;
		case T_WithCheckOption:
			replace_gate(&((WithCheckOption *) node)->qual, cxt);
			break;
		case T_Query:
			{
				Query	   *query = (Query *) node;
				bool		outer_frozen = cxt->frozen;
				List	   *tlist;
				Node	   *having;

				cxt->frozen = query->groupingSets != NIL;
				replace_gate(&query->havingQual, cxt);
				(void) gates_to_twins((Node *) query->targetList, cxt);
				(void) gates_to_twins(query->havingQual, cxt);
				cxt->frozen = false;
				tlist = query->targetList;
				having = query->havingQual;
				query->targetList = NIL;
				query->havingQual = NULL;
				(void) query_tree_walker(query, gates_to_twins, context, 0);
				query->targetList = tlist;
				query->havingQual = having;
				cxt->frozen = outer_frozen;
				return false;
			}
		default:
			break;
	}
	return expression_tree_walker(node, gates_to_twins, context);
}

static bool
is_dynamic_call(Node *node)
{
	FuncExpr   *call = (FuncExpr *) node;

	if (!is_call_of_constants(node))
		return false;
	for (int i = 0; i < (int) NUM_DYNAMIC_FUNCTIONS; i++)
	{
		if (call->funcid == dynamic_oid[i] && OidIsValid(dynamic_oid[i]))
			return true;
	}
	return false;
}

typedef struct WrapContext
{
	bool		frozen;			/* as TwinContext's */
	bool		wrapped;
} WrapContext;

/* Each query that gets a sublink is marked, or the planner would not look for it. */
static Node *
dynamic_calls_to_sublinks(Node *node, WrapContext *cxt)
{
	Node	   *selected;

	if (node == NULL)
		return NULL;
	check_stack_depth();
	if (IsA(node, Query))
	{
		Query	   *query = (Query *) node;
		WrapContext inner = {query->groupingSets != NIL, false};
		List	   *tlist = (List *) dynamic_calls_to_sublinks((Node *) query->targetList, &inner);
		Node	   *having = dynamic_calls_to_sublinks(query->havingQual, &inner);

		inner.frozen = false;
		query->targetList = NIL;
		query->havingQual = NULL;
		query = query_tree_mutator(query, dynamic_calls_to_sublinks, &inner, QTW_DONT_COPY_QUERY);
		query->targetList = tlist;
		query->havingQual = having;
		query->hasSubLinks |= inner.wrapped;
		return (Node *) query;
	}
	selected = acl_selected_expr(node);
	if (selected != NULL && is_dynamic_call(selected))
		return node;			/* (SELECT call) already */
	if (!cxt->frozen && is_dynamic_call(node))
	{
		cxt->wrapped = true;
		return (Node *) acl_initplan_of((Expr *) copyObject(node));
	}
	return expression_tree_mutator(node, dynamic_calls_to_sublinks, cxt);
}

static bool
row_security_applied(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return ((Query *) node)->hasRowSecurity ||
			query_tree_walker((Query *) node, row_security_applied, context, 0);
	return expression_tree_walker(node, row_security_applied, context);
}

/*
 * Whether any gate was replaced: if none was, the plan has no call to turn.
 *
 * Plain calls, of gates and of dynamic variables, are taken only in a
 * statement under row security, where policies put them.  Elsewhere they
 * are the caller's own and stay calls, read at each evaluation as written.
 * A PL/pgSQL "IF NOT acl.is_admin()", for one, is a simple expression,
 * whose state lives for the whole transaction (a twin would keep its
 * answer across an identity change) and whose initplans are never run.
 */
bool
acl_gates_to_once_calls(Query *query)
{
	TwinContext cxt = {false, false, false};

	look_up_gates();
	if (!OidIsValid(once_oid[0]))	/* acl is not installed here */
		return false;
	cxt.plain = row_security_applied((Node *) query, NULL);
	if (cxt.plain)
	{
		WrapContext wrap = {false, false};

		(void) dynamic_calls_to_sublinks((Node *) query, &wrap);
	}
	(void) gates_to_twins((Node *) query, &cxt);
	return cxt.replaced;
}

/* ------------------------------------------------------------------------
 * Planning: the arms of a table's permissions, cheapest match first.
 * ---------------------------------------------------------------------- */

static bool
contains_gate(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (is_once_call(node))
		return true;
	return expression_tree_walker(node, contains_gate, context);
}

typedef struct RankedArm
{
	Node	   *clause;
	Node	   *restricted;		/* its RestrictInfo form, for the estimate */
	bool		unconditional;	/* no column: the gate alone */
	double		cost_per_match; /* evaluating it, over the rows it matches */
	Selectivity selectivity;
	int			position;
} RankedArm;

static int
arm_rank_cmp(const void *a, const void *b)
{
	const RankedArm *x = a;
	const RankedArm *y = b;

	if (x->unconditional != y->unconditional)
		return x->unconditional ? -1 : 1;
	if (x->cost_per_match != y->cost_per_match)
		return x->cost_per_match < y->cost_per_match ? -1 : 1;
	if (x->selectivity != y->selectivity)
		return x->selectivity > y->selectivity ? -1 : 1;
	return x->position - y->position;
}

/*
 * A row passes an OR of permission arms at its first true arm, and
 * PostgreSQL evaluates an OR in the order it is written: a permission's
 * "_or" as its author wrote it, "id = $CURRENT_USER OR published" say,
 * tests the rare match on every row first.  So the arms of the ORs in a
 * managed table's permissions (its row security quals, or any OR with
 * acl's gates in it) are put in the order that costs a row least: a gate
 * alone first (one parameter), then by what an arm costs to evaluate over
 * the share of rows it matches, the order that minimises the expected
 * cost of independent arms.  Called once a base relation's paths are
 * made, so no estimate or path depends on the order; never the caller's
 * own ORs.
 */
void
acl_order_permission_arms(PlannerInfo *root, RelOptInfo *rel, RangeTblEntry *rte)
{
	bool		managed = false;
	bool		managed_known = false;
	ListCell   *lc;

	foreach(lc, rel->baserestrictinfo)
	{
		RestrictInfo *rinfo = lfirst(lc);
		BoolExpr   *or = (BoolExpr *) rinfo->clause;
		BoolExpr   *restricted = (BoolExpr *) rinfo->orclause;
		RankedArm  *arms;
		int			n;
		ListCell   *la;
		ListCell   *lr;
		QualCost	cost;

		if (restricted == NULL || !is_orclause(or) ||
			list_length(or->args) != list_length(restricted->args))
			continue;
		if (!contains_gate((Node *) or, NULL))
		{
			if (rinfo->security_level >= root->qual_security_level)
				continue;
			if (!managed_known)
			{
				Relation	table = table_open(rte->relid, NoLock);

				managed = acl_relation_is_managed(table);
				table_close(table, NoLock);
				managed_known = true;
			}
			if (!managed)
				continue;
		}
		n = list_length(or->args);
		arms = palloc(sizeof(RankedArm) * n);
		forboth(la, or->args, lr, restricted->args)
		{
			RankedArm  *arm = &arms[foreach_current_index(la)];

			arm->clause = lfirst(la);
			arm->restricted = lfirst(lr);
			arm->unconditional = !contain_vars_of_level(arm->clause, 0);
			arm->selectivity = clause_selectivity(root, arm->restricted, 0, JOIN_INNER, NULL);
			cost_qual_eval_node(&cost, arm->clause, root);
			/* Reading a column is not free, though costed so. */
			arm->cost_per_match = (cost.per_tuple + 0.1 * cpu_operator_cost) / Max(arm->selectivity, 1e-10);
			arm->position = foreach_current_index(la);
		}
		qsort(arms, n, sizeof(RankedArm), arm_rank_cmp);
		or->args = NIL;
		restricted->args = NIL;
		for (int i = 0; i < n; i++)
		{
			or->args = lappend(or->args, arms[i].clause);
			restricted->args = lappend(restricted->args, arms[i].restricted);
		}
		pfree(arms);
	}
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
	param = acl_exec_param(list_length(cxt->stmt->paramExecTypes), BOOLOID, -1, InvalidOid);
	cxt->stmt->paramExecTypes = lappend_oid(cxt->stmt->paramExecTypes, BOOLOID);
	cxt->calls = lappend(cxt->calls, node);
	cxt->params = lappend(cxt->params, param);
	return copyObject((Node *) param);
}

#define CALLS_TO_PARAMS(field) \
	((field) = (void *) calls_to_params((Node *) (field), cxt))

/* A reference to the executor parameter paramid, of the given type. */
Param *
acl_exec_param(int paramid, Oid type, int32 typmod, Oid collation)
{
	Param	   *param = makeNode(Param);

	param->paramkind = PARAM_EXEC;
	param->paramid = paramid;
	param->paramtype = type;
	param->paramtypmod = typmod;
	param->paramcollid = collation;
	param->location = -1;
	return param;
}

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
