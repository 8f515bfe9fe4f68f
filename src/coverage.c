/*-------------------------------------------------------------------------
 *
 * coverage.c
 *	  Proofs that rules, together, match every row of a table.
 *
 * Permissions often split a table into bands: value < 70, value between 70
 * and 180, value > 180.  A role holding all of them reads every row, but
 * PostgreSQL cannot see that: it evaluates the OR of the bands on each row,
 * and no index serves the read.  When the bands of a set of rules cover
 * the whole domain of a column, and its NULLs, the rules match every row,
 * and enforce.c reads the table without a row filter for an end user whose
 * policies hold all of them.
 *
 * The proof is conservative: a rule it does not understand covers nothing,
 * since it can only add rows, so "not proven" keeps the filter.  A band is
 * a conjunction of comparisons of one column with constants by the default
 * btree operator family of the column's type, whose comparison function
 * orders the bounds exactly as those operators do (NaN and collations
 * included).  NOT NULL is read from the catalog, and a change to it
 * invalidates every plan that read the table.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/stratnum.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "acl.h"

/* Rows of one column between two bounds (either may be open), or its NULLs. */
typedef struct AclBand
{
	AttrNumber	attno;
	Oid			type;
	Oid			collation;
	bool		nulls;			/* "column IS NULL": the NULLs, no values */
	bool		has_lower;
	bool		lower_inclusive;
	Datum		lower;
	bool		has_upper;
	bool		upper_inclusive;
	Datum		upper;
} AclBand;

static int
compare_bounds(TypeCacheEntry *type, Oid collation, Datum a, Datum b)
{
	return DatumGetInt32(FunctionCall2Coll(&type->cmp_proc_finfo, collation, a, b));
}

static TypeCacheEntry *
ordered_type(Oid type)
{
	TypeCacheEntry *entry = lookup_type_cache(type, TYPECACHE_BTREE_OPFAMILY | TYPECACHE_CMP_PROC_FINFO);

	if (!OidIsValid(entry->btree_opf) || !OidIsValid(entry->cmp_proc_finfo.fn_oid))
		return NULL;
	return entry;
}

/*
 * Narrow band by "column <strategy> bound": a lower bound replaces one it
 * is above, an upper bound one it is below.
 */
static void
narrow_band(AclBand *band, TypeCacheEntry *type, int strategy, Datum bound)
{
	bool		lower = strategy == BTGreaterStrategyNumber || strategy == BTGreaterEqualStrategyNumber ||
		strategy == BTEqualStrategyNumber;
	bool		upper = strategy == BTLessStrategyNumber || strategy == BTLessEqualStrategyNumber ||
		strategy == BTEqualStrategyNumber;
	bool		inclusive = strategy == BTGreaterEqualStrategyNumber ||
		strategy == BTLessEqualStrategyNumber || strategy == BTEqualStrategyNumber;

	if (lower)
	{
		int			c = band->has_lower ? compare_bounds(type, band->collation, bound, band->lower) : 1;

		if (c > 0 || (c == 0 && !inclusive))
		{
			band->has_lower = true;
			band->lower = bound;
			band->lower_inclusive = inclusive;
		}
	}
	if (upper)
	{
		int			c = band->has_upper ? compare_bounds(type, band->collation, bound, band->upper) : -1;

		if (c < 0 || (c == 0 && !inclusive))
		{
			band->has_upper = true;
			band->upper = bound;
			band->upper_inclusive = inclusive;
		}
	}
}

/* The strategy of "var op const" from "const op var": the mirror image. */
static int
commuted_strategy(int strategy)
{
	switch (strategy)
	{
		case BTLessStrategyNumber:
			return BTGreaterStrategyNumber;
		case BTLessEqualStrategyNumber:
			return BTGreaterEqualStrategyNumber;
		case BTGreaterEqualStrategyNumber:
			return BTLessEqualStrategyNumber;
		case BTGreaterStrategyNumber:
			return BTLessStrategyNumber;
		default:
			return strategy;
	}
}

static bool
is_column_of(Node *node, Index varno)
{
	return node != NULL && IsA(node, Var) && (Index) ((Var *) node)->varno == varno &&
		((Var *) node)->varlevelsup == 0 && ((Var *) node)->varattno > 0;
}

/*
 * One conjunct of a band into band: false when it is not a comparison the
 * proof understands, or names another column than the band's first.
 */
static bool
add_conjunct(AclBand *band, Node *conjunct, Index varno, bool *first)
{
	Var		   *var;
	Const	   *bound;
	int			strategy;
	Oid			lefttype;
	Oid			righttype;
	TypeCacheEntry *type;

	if (IsA(conjunct, NullTest))
	{
		NullTest   *test = (NullTest *) conjunct;

		if (!is_column_of((Node *) test->arg, varno) || test->argisrow)
			return false;
		var = (Var *) test->arg;
		if (!*first && var->varattno != band->attno)
			return false;
		if (test->nulltesttype == IS_NULL)
		{
			/* Only alone: "x IS NULL AND x > 1" matches nothing, which covers nothing. */
			if (!*first)
				return false;
			band->nulls = true;
		}
		else if (band->nulls)
			return false;
		band->attno = var->varattno;
		band->type = var->vartype;
		band->collation = var->varcollid;
		*first = false;
		return true;
	}
	if (!IsA(conjunct, OpExpr) || list_length(((OpExpr *) conjunct)->args) != 2 || band->nulls)
		return false;
	if (is_column_of(linitial(((OpExpr *) conjunct)->args), varno) &&
		IsA(lsecond(((OpExpr *) conjunct)->args), Const))
	{
		var = linitial(((OpExpr *) conjunct)->args);
		bound = lsecond(((OpExpr *) conjunct)->args);
	}
	else if (is_column_of(lsecond(((OpExpr *) conjunct)->args), varno) &&
			 IsA(linitial(((OpExpr *) conjunct)->args), Const))
	{
		var = lsecond(((OpExpr *) conjunct)->args);
		bound = linitial(((OpExpr *) conjunct)->args);
	}
	else
		return false;
	if (bound->constisnull || bound->consttype != var->vartype ||
		((OpExpr *) conjunct)->inputcollid != var->varcollid ||
		(!*first && (var->varattno != band->attno)))
		return false;
	type = ordered_type(var->vartype);
	if (type == NULL)
		return false;
	strategy = get_op_opfamily_strategy(((OpExpr *) conjunct)->opno, type->btree_opf);
	if (strategy == 0)
		return false;
	get_op_opfamily_properties(((OpExpr *) conjunct)->opno, type->btree_opf, false,
							   &strategy, &lefttype, &righttype);
	if (lefttype != var->vartype || righttype != var->vartype)
		return false;
	if (var != linitial(((OpExpr *) conjunct)->args))
		strategy = commuted_strategy(strategy);
	band->attno = var->varattno;
	band->type = var->vartype;
	band->collation = var->varcollid;
	*first = false;
	narrow_band(band, type, strategy, bound->constvalue);
	return true;
}

static void
collect_bands(Node *rule, Index varno, List **bands)
{
	List	   *conjuncts;
	AclBand    *band;
	bool		first = true;
	ListCell   *lc;

	check_stack_depth();
	if (is_orclause(rule))
	{
		foreach(lc, ((BoolExpr *) rule)->args)
			collect_bands(lfirst(lc), varno, bands);
		return;
	}
	conjuncts = is_andclause(rule) ? ((BoolExpr *) rule)->args : list_make1(rule);
	band = palloc0(sizeof(AclBand));
	foreach(lc, conjuncts)
	{
		if (!add_conjunct(band, lfirst(lc), varno, &first))
		{
			pfree(band);
			return;
		}
	}
	*bands = lappend(*bands, band);
}

/*
 * The bands among a rule's disjuncts (columns of range table entry varno):
 * rows of one column each, which the rule matches whatever else it does.
 */
List *
acl_rule_bands(Expr *rule, Index varno)
{
	List	   *bands = NIL;

	if (rule != NULL)
		collect_bands((Node *) rule, varno, &bands);
	return bands;
}

typedef struct BandOrder
{
	TypeCacheEntry *type;
	Oid			collation;
} BandOrder;

/* By lower bound, an open one first, an inclusive one before an exclusive. */
static int
band_lower_cmp(const ListCell *a, const ListCell *b, void *arg)
{
	const AclBand *x = lfirst(a);
	const AclBand *y = lfirst(b);
	BandOrder  *order = arg;
	int			c;

	if (!x->has_lower || !y->has_lower)
		return (int) x->has_lower - (int) y->has_lower;
	c = compare_bounds(order->type, order->collation, x->lower, y->lower);
	if (c != 0)
		return c;
	return (int) y->lower_inclusive - (int) x->lower_inclusive;
}

/*
 * Whether bands of one column, every one ordered by the same collation,
 * leave no value out: swept in order of lower bound, each must start at or
 * before where the ones before it reach, and the last reach past every
 * value.
 */
static bool
values_covered(List *bands, TypeCacheEntry *type, Oid collation)
{
	BandOrder	order = {type, collation};
	List	   *sorted = list_copy(bands);
	bool		reached = false;	/* every value up to reach is covered */
	Datum		reach = (Datum) 0;
	bool		reach_inclusive = false;
	ListCell   *lc;

	/* list_sort() passes no argument: sort by insertion, bands are few. */
	for (int i = 1; i < list_length(sorted); i++)
	{
		for (int j = i; j > 0 && band_lower_cmp(list_nth_cell(sorted, j - 1),
												list_nth_cell(sorted, j), &order) > 0; j--)
		{
			void	   *swap = list_nth(sorted, j);

			lfirst(list_nth_cell(sorted, j)) = list_nth(sorted, j - 1);
			lfirst(list_nth_cell(sorted, j - 1)) = swap;
		}
	}
	foreach(lc, sorted)
	{
		AclBand    *band = lfirst(lc);

		if (band->has_lower)
		{
			int			c;

			if (!reached)
				return false;
			c = compare_bounds(type, collation, band->lower, reach);
			if (c > 0 || (c == 0 && !band->lower_inclusive && !reach_inclusive))
				return false;
		}
		if (!band->has_upper)
			return true;
		if (!reached)
		{
			reached = true;
			reach = band->upper;
			reach_inclusive = band->upper_inclusive;
		}
		else
		{
			int			c = compare_bounds(type, collation, band->upper, reach);

			if (c > 0 || (c == 0 && band->upper_inclusive))
			{
				reach = band->upper;
				reach_inclusive = band->upper_inclusive;
			}
		}
	}
	return false;
}

static bool
column_not_null(Oid relid, AttrNumber attno)
{
	HeapTuple	tuple = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid), Int16GetDatum(attno));
	bool		not_null;

	if (!HeapTupleIsValid(tuple))
		return false;
	not_null = ((Form_pg_attribute) GETSTRUCT(tuple))->attnotnull;
	ReleaseSysCache(tuple);
	return not_null;
}

/*
 * Whether bands (of acl_rule_bands(), over relation relid) together match
 * every row: for one column, every value and, unless it is NOT NULL, its
 * NULLs.
 */
bool
acl_bands_cover(List *bands, Oid relid)
{
	ListCell   *lc;

	foreach(lc, bands)
	{
		AclBand    *first = lfirst(lc);
		List	   *values = NIL;
		bool		nulls = false;
		bool		comparable = true;
		TypeCacheEntry *type;
		ListCell   *lc2;

		/* Each column once: at its first band. */
		for (ListCell *earlier = list_head(bands); earlier != lc; earlier = lnext(bands, earlier))
		{
			if (((AclBand *) lfirst(earlier))->attno == first->attno)
				comparable = false;
		}
		if (!comparable)
			continue;
		for_each_cell(lc2, bands, lc)
		{
			AclBand    *band = lfirst(lc2);

			if (band->attno != first->attno)
				continue;
			if (band->nulls)
				nulls = true;
			else if (band->type != first->type || band->collation != first->collation)
				comparable = false;
			else
				values = lappend(values, band);
		}
		if (!comparable || values == NIL)
			continue;
		if (!nulls && !column_not_null(relid, first->attno))
			continue;
		type = ordered_type(first->type);
		if (type != NULL && values_covered(values, type, first->collation))
			return true;
	}
	return false;
}
