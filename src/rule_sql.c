/*-------------------------------------------------------------------------
 *
 * rule_sql.c
 *	  A normalised item rule to a boolean SQL expression (spec §6.2-6.5,
 *	  §7), against the schema as AclSchema describes it.
 *
 * What the generated SQL guarantees:
 *	- every identifier is quoted, every value is a quoted literal cast to
 *	  the column's type, checked when the rule is compiled;
 *	- identity appears only as a call acl.fn(constants), which the planner
 *	  hook makes an InitPlan (gates.c): computed once per execution, never
 *	  while planning, never folded into a cached plan.  Not (SELECT ...):
 *	  row security copies and rewrites a policy's sublinks into every
 *	  query, and that cost more than the rest of a cached read;
 *	- NULL behaves as in Directus: _eq null is IS NULL, and a dynamic
 *	  variable that is NULL (an anonymous caller's $CURRENT_USER) compares
 *	  like a literal null would, in a form an index can still serve;
 *	- relational rules are uncorrelated subqueries; those anchored on the
 *	  current user become "= ANY (ARRAY(SELECT ...))", an InitPlan whose
 *	  array an index on the outer column serves.
 *
 * Deviations from Directus, all fail-closed: LIKE wildcards in values are
 * matched literally; a _between list without exactly two values is refused
 * rather than dropped; an unreadable $NOW(...) is refused (rule_parse.c).
 *
 * Frontend-safe: shared by the server and the fuzz target.
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include "rule.h"

typedef struct SqlContext
{
	const AclSchema *schema;
	int			next_alias;
	const char *share_side;		/* variables of this side of a share, or NULL */
} SqlContext;

/* What a compiled value is: a literal, a scalar expression, or a list. */
typedef struct SqlValue
{
	char	   *sql;
	bool		is_null;		/* the JSON null literal */
	bool		dynamic;		/* reads identity at run time */
	bool		is_list;
} SqlValue;

static void emit_rule(SqlContext *cx, StringInfo out, const AclRule *rule,
					  const char *table_key, const char *alias, bool *dynamic, int depth);

/* ---- quoting ------------------------------------------------------------- */

static char *
quote_ident_always(const char *ident)
{
	StringInfoData out;

	initStringInfo(&out);
	appendStringInfoChar(&out, '"');
	for (; *ident; ident++)
	{
		if (*ident == '"')
			appendStringInfoChar(&out, '"');
		appendStringInfoChar(&out, *ident);
	}
	appendStringInfoChar(&out, '"');
	return out.data;
}

/* E'...' with quotes and backslashes doubled: safe whatever the settings. */
static char *
quote_literal_always(const char *value)
{
	StringInfoData out;

	initStringInfo(&out);
	appendStringInfoString(&out, "E'");
	for (; *value; value++)
	{
		if (*value == '\'' || *value == '\\')
			appendStringInfoChar(&out, *value);
		appendStringInfoChar(&out, *value);
	}
	appendStringInfoChar(&out, '\'');
	return out.data;
}

/* LIKE matches the user's text literally: %, _ and \ are escaped. */
static char *
like_escape(const char *value)
{
	StringInfoData out;

	initStringInfo(&out);
	for (; *value; value++)
	{
		if (*value == '%' || *value == '_' || *value == '\\')
			appendStringInfoChar(&out, '\\');
		appendStringInfoChar(&out, *value);
	}
	return out.data;
}

/* ---- operators per field type (spec §6.2) -------------------------------- */

static const char *
type_name(AclFieldType type)
{
	switch (type)
	{
		case ACL_FT_STRING:
			return "string";
		case ACL_FT_UUID:
			return "uuid";
		case ACL_FT_BOOLEAN:
			return "boolean";
		case ACL_FT_NUMBER:
			return "number";
		case ACL_FT_DATE:
			return "date";
		case ACL_FT_TIME:
			return "time";
		case ACL_FT_DATETIME:
			return "timestamp";
		case ACL_FT_JSON:
			return "json";
		case ACL_FT_GEOMETRY:
			return "geometry";
		case ACL_FT_ARRAY:
			return "array";
		case ACL_FT_BINARY:
			return "binary";
		default:
			return "other";
	}
}

static const char *
operators_for(AclFieldType type)
{
	switch (type)
	{
		case ACL_FT_STRING:
			return "_eq _neq _in _nin _null _nnull _empty _nempty _contains _ncontains _icontains "
				"_nicontains _starts_with _nstarts_with _istarts_with _nistarts_with _ends_with "
				"_nends_with _iends_with _niends_with";
		case ACL_FT_UUID:
			return "_eq _neq _in _nin _null _nnull";
		case ACL_FT_BOOLEAN:
			return "_eq _neq _null _nnull";
		case ACL_FT_NUMBER:
		case ACL_FT_DATE:
		case ACL_FT_TIME:
		case ACL_FT_DATETIME:
			return "_eq _neq _lt _lte _gt _gte _between _nbetween _in _nin _null _nnull";
		case ACL_FT_JSON:
			return "_null _nnull";
		case ACL_FT_GEOMETRY:
			return "_eq _neq _null _nnull _intersects _nintersects _intersects_bbox _nintersects_bbox";
		case ACL_FT_ARRAY:
			return "_eq _neq _null _nnull _empty _nempty _contains _ncontains";
		case ACL_FT_BINARY:
			return "_eq _neq _in _nin _null _nnull _empty _nempty";
		default:
			return "_eq _neq _lt _lte _gt _gte _between _nbetween _in _nin _null _nnull _empty "
				"_nempty _contains _ncontains";
	}
}

static bool
operator_allowed(AclFieldType type, const char *op)
{
	const char *list = operators_for(type);
	size_t		len = strlen(op);

	for (const char *p = list; (p = strstr(p, op)) != NULL; p += len)
		if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
			return true;
	return false;
}

/* ---- values -------------------------------------------------------------- */

/* The SQL of a dynamic variable, typed for the column it is compared with. */
static SqlValue
dynamic_sql(SqlContext *cx, const AclDynamic *dyn, const AclColumn *column,
			const char *path)
{
	SqlValue	v = {0};
	bool		list_variable = (dyn->variable == ACL_VAR_CURRENT_ROLES ||
								 dyn->variable == ACL_VAR_CURRENT_POLICIES);
	const char *target = column->type == ACL_FT_ARRAY && column->element_type
		? column->element_type : column->sql_type;

	v.dynamic = true;
	if (dyn->variable == ACL_VAR_NOW)
	{
		v.sql = dyn->now_offset
			? psprintf("CAST((SELECT pg_catalog.now() + %s::pg_catalog.interval) AS %s)",
					   quote_literal_always(dyn->now_offset), target)
			: psprintf("CAST((SELECT pg_catalog.now()) AS %s)", target);
		return v;
	}
	if (dyn->npath == 0 && cx->share_side == NULL)
	{
		const char *fn = dyn->variable == ACL_VAR_CURRENT_USER ? "current_user_id"
			: dyn->variable == ACL_VAR_CURRENT_ROLE ? "current_role_id"
			: dyn->variable == ACL_VAR_CURRENT_ROLES ? "current_roles" : "current_policies";

		v.is_list = list_variable;
		v.sql = psprintf("CAST(acl.%s() AS %s%s)", fn, target, list_variable ? "[]" : "");
		return v;
	}

	/*
	 * A path (checked now, read at run time as the acl owner), or any
	 * variable of one side of a share.
	 */
	{
		AclColumn	vartype = {0};
		StringInfoData arr;

		if (dyn->npath > 0 &&
			(cx->schema->variable_type == NULL ||
			 !cx->schema->variable_type(cx->schema->arg, dyn, path, &vartype)))
			acl_rule_error(ACL_RULE_NO_FIELD, path,
						   psprintf("dynamic variable %s has no path \"%s\"",
									acl_variable_name(dyn->variable), dyn->path[0]),
						   NULL, "Name a column of acl.users, acl.roles or acl.policies, or a "
						   "foreign-key path from there (e.g. $CURRENT_USER.department).");
		initStringInfo(&arr);
		if (cx->share_side != NULL)
			appendStringInfo(&arr, "%s, ", quote_literal_always(cx->share_side));
		appendStringInfo(&arr, "%s, ARRAY[", quote_literal_always(acl_variable_name(dyn->variable)));
		for (int i = 0; i < dyn->npath; i++)
			appendStringInfo(&arr, "%s%s", i ? ", " : "", quote_literal_always(dyn->path[i]));
		appendStringInfoString(&arr, "]::pg_catalog.text[]");
		v.is_list = list_variable || (dyn->npath > 0 && vartype.type == ACL_FT_ARRAY);
		v.sql = psprintf("CAST(acl.%s%s(%s) AS %s%s)",
						 cx->share_side ? "_share_" : "dynamic_",
						 v.is_list ? "values" : "value", arr.data,
						 target, v.is_list ? "[]" : "");
		return v;
	}
}

/* A scalar JSON value (or variable) as SQL of the column's type. */
static SqlValue
scalar_sql(SqlContext *cx, const AclJson *value, const AclColumn *column, const char *path)
{
	SqlValue	v = {0};
	AclDynamic	dyn;
	const char *target = column->type == ACL_FT_ARRAY && column->element_type
		? column->element_type : column->sql_type;

	if (value->kind == ACL_JSON_NULL)
	{
		v.is_null = true;
		v.sql = psprintf("CAST(NULL AS %s)", target);
		return v;
	}
	if (value->kind == ACL_JSON_STRING && acl_parse_dynamic(value->text, &dyn, path))
		return dynamic_sql(cx, &dyn, column, path);
	if (value->kind == ACL_JSON_ARRAY || value->kind == ACL_JSON_OBJECT)
		acl_rule_error(ACL_RULE_BAD_RULE, path, "a single value is needed here", NULL, NULL);

	if (cx->schema->accepts && !cx->schema->accepts(cx->schema->arg, target, value->text))
		acl_rule_error(ACL_RULE_BAD_VALUE, path,
					   psprintf("value \"%s\" is not a valid %s for column \"%s\"",
								value->text, target, column->name),
					   NULL, psprintf("Write a value of type %s.", target));
	v.sql = psprintf("CAST(%s AS %s)", quote_literal_always(value->text), target);
	return v;
}

/* A list for _in/_nin/_between: literals, variables, and list variables. */
static SqlValue
list_sql(SqlContext *cx, const AclJson *value, const AclColumn *column, const char *path,
		 int *count)
{
	SqlValue	v = {0};
	StringInfoData sql;
	const char *target = column->type == ACL_FT_ARRAY && column->element_type
		? column->element_type : column->sql_type;
	bool		open = false;

	*count = -1;				/* unknown until run time */
	if (value->kind == ACL_JSON_STRING || value->kind == ACL_JSON_NULL)
	{
		/* A whole-list variable such as $CURRENT_ROLES, or null. */
		SqlValue	one = scalar_sql(cx, value, column, path);

		v.dynamic = one.dynamic;
		v.is_list = true;
		v.sql = one.is_list ? one.sql : psprintf("ARRAY[%s]", one.sql);
		if (!one.dynamic)
			*count = 1;
		return v;
	}
	initStringInfo(&sql);
	*count = 0;
	appendStringInfoString(&sql, "(");
	for (int i = 0; i < value->count; i++)
	{
		char	   *elem_path = psprintf("%s[%d]", path, i);
		SqlValue	one = scalar_sql(cx, value->items[i], column, elem_path);

		v.dynamic |= one.dynamic;
		if (one.is_list)
		{
			if (open)
				appendStringInfoString(&sql, "]");
			appendStringInfo(&sql, "%s%s", sql.len > 1 ? " || " : "", one.sql);
			open = false;
			*count = -1;
		}
		else
		{
			if (!open)
				appendStringInfo(&sql, "%sARRAY[", sql.len > 1 ? " || " : "");
			else
				appendStringInfoString(&sql, ", ");
			appendStringInfoString(&sql, one.sql);
			open = true;
			if (*count >= 0)
				(*count)++;
		}
	}
	if (open)
		appendStringInfoString(&sql, "]");
	if (sql.len == 1)
		appendStringInfo(&sql, "CAST(ARRAY[] AS %s[])", target);
	appendStringInfoString(&sql, ")");
	v.is_list = true;
	v.sql = sql.data;
	return v;
}

static bool
is_false(const AclJson *value)
{
	return value->kind == ACL_JSON_BOOL && strcmp(value->text, "false") == 0;
}

/* ---- conditions ---------------------------------------------------------- */

static const char *
date_part(const char *function)
{
	if (strcmp(function, "weekday") == 0)
		return "dow";			/* 0 = Sunday, as JavaScript's getDay() */
	return function;			/* year, month, week (ISO), day, hour, minute, second */
}

static void
emit_like(StringInfo out, const char *col, const AclRule *rule, SqlValue *v,
		  const char *value_text, bool prefix, bool suffix, bool insensitive, bool negate)
{
	char	   *pattern;

	if (v->dynamic)
		pattern = psprintf("%s%s%s",
						   prefix ? "'%' || " : "",
						   psprintf("pg_catalog.replace(pg_catalog.replace(pg_catalog.replace("
									"CAST(%s AS pg_catalog.text), '\\', '\\\\'), '%%', '\\%%'), '_', '\\_')",
									v->sql),
						   suffix ? " || '%'" : "");
	else
		pattern = quote_literal_always(psprintf("%s%s%s", prefix ? "%" : "",
												like_escape(value_text), suffix ? "%" : ""));
	if (insensitive)
		appendStringInfo(out, "%s(pg_catalog.lower(CAST(%s AS pg_catalog.text)) LIKE pg_catalog.lower(%s))",
						 negate ? "NOT " : "", col, pattern);
	else
		appendStringInfo(out, "%s(CAST(%s AS pg_catalog.text) LIKE %s)",
						 negate ? "NOT " : "", col, pattern);
}

static void
emit_condition(SqlContext *cx, StringInfo out, const AclRule *rule, const char *table_key,
			   const char *alias, bool *dynamic)
{
	AclColumn	column;
	AclColumn	effective;
	const char *op = rule->op;
	char	   *col;
	SqlValue	v;

	/* count(relation) and date functions turn the field into a number. */
	if (rule->function && strcmp(rule->function, "count") == 0)
	{
		AclRelation rel;

		if (cx->schema->column(cx->schema->arg, table_key, rule->field, &column) &&
			(column.type == ACL_FT_JSON || column.type == ACL_FT_ARRAY))
			col = column.type == ACL_FT_JSON
				? psprintf("CASE WHEN pg_catalog.jsonb_typeof(CAST(%s.%s AS pg_catalog.jsonb)) = 'array'"
						   " THEN pg_catalog.jsonb_array_length(CAST(%s.%s AS pg_catalog.jsonb)) END",
						   alias, quote_ident_always(rule->field), alias, quote_ident_always(rule->field))
				: psprintf("pg_catalog.cardinality(%s.%s)", alias, quote_ident_always(rule->field));
		else if (cx->schema->relation(cx->schema->arg, table_key, rule->field, rule->path, &rel) &&
				 rel.kind == ACL_REL_ONE_TO_MANY)
		{
			char	   *a = psprintf("\"r%d\"", cx->next_alias++);

			col = psprintf("(SELECT pg_catalog.count(*) FROM %s %s WHERE %s.%s = %s.%s)",
						   rel.table, a, a, quote_ident_always(rel.remote_column),
						   alias, quote_ident_always(rel.local_column));
		}
		else
			acl_rule_error(ACL_RULE_NO_FIELD, rule->path,
						   psprintf("count(%s) needs a one-to-many relation, a json or an array column",
									rule->field), NULL, NULL);
		effective.name = rule->field;
		effective.sql_type = "pg_catalog.int8";
		effective.element_type = NULL;
		effective.type = ACL_FT_NUMBER;
		effective.is_enum = false;
		effective.not_null = true;	/* count(*) is never NULL */
	}
	else
	{
		if (!cx->schema->column(cx->schema->arg, table_key, rule->field, &column))
			acl_rule_error(ACL_RULE_NO_FIELD, rule->path,
						   psprintf("column \"%s\" does not exist", rule->field), NULL,
						   "Name a column of the table, or a relation followed by a nested rule.");
		col = psprintf("%s.%s", alias, quote_ident_always(rule->field));
		effective = column;
		if (rule->function)
		{
			if (column.type != ACL_FT_DATE && column.type != ACL_FT_DATETIME &&
				column.type != ACL_FT_TIME)
				acl_rule_error(ACL_RULE_BAD_RULE, rule->path,
							   psprintf("%s() needs a date or time column; \"%s\" is %s",
										rule->function, rule->field, type_name(column.type)),
							   NULL, NULL);
			col = psprintf("CAST(pg_catalog.date_part(%s, %s) AS pg_catalog.int4)",
						   quote_literal_always(date_part(rule->function)), col);
			effective.sql_type = "pg_catalog.int4";
			effective.type = ACL_FT_NUMBER;
		}
	}

	/* Without PostGIS no column can take these: say what is missing. */
	if (strstr(op, "intersects") != NULL &&
		(cx->schema->postgis_schema == NULL || cx->schema->postgis_schema(cx->schema->arg) == NULL))
		acl_rule_error(ACL_RULE_NOT_SUPPORTED, rule->path,
					   psprintf("operator %s needs PostGIS", op), NULL,
					   "Run CREATE EXTENSION postgis, give the field a geometry type, then write "
					   "the permission again.");
	if (!operator_allowed(effective.type, op))
		acl_rule_error(ACL_RULE_BAD_RULE, rule->path,
					   psprintf("operator %s does not apply to field \"%s\" of type %s",
								op, rule->field, effective.sql_type),
					   psprintf("A %s field accepts: %s.", type_name(effective.type),
								operators_for(effective.type)),
					   NULL);

	if (strcmp(op, "_null") == 0 || strcmp(op, "_nnull") == 0)
	{
		bool		want_null = (strcmp(op, "_null") == 0) != is_false(rule->value);

		appendStringInfo(out, "(%s IS %sNULL)", col, want_null ? "" : "NOT ");
		return;
	}
	if (strcmp(op, "_empty") == 0 || strcmp(op, "_nempty") == 0)
	{
		bool		want_empty = (strcmp(op, "_empty") == 0) != is_false(rule->value);
		const char *empty = effective.type == ACL_FT_ARRAY
			? psprintf("pg_catalog.cardinality(%s) = 0", col)
			: effective.type == ACL_FT_BINARY ? psprintf("pg_catalog.length(%s) = 0", col)
			: psprintf("CAST(%s AS pg_catalog.text) = ''", col);

		if (want_empty)
			appendStringInfo(out, "(%s IS NULL OR %s)", col, empty);
		else
			appendStringInfo(out, "(%s IS NOT NULL AND NOT (%s))", col, empty);
		return;
	}
	if (strstr(op, "intersects") != NULL)
	{
		StringInfoData geojson;
		bool		negate = op[1] == 'n';
		bool		bbox = strstr(op, "bbox") != NULL;
		char	   *shape;

		const char *gis = cx->schema->postgis_schema(cx->schema->arg);

		initStringInfo(&geojson);
		if (rule->value->kind == ACL_JSON_STRING)
			appendStringInfoString(&geojson, rule->value->text);
		else
			acl_json_append(&geojson, rule->value);
		if (cx->schema->accepts && !cx->schema->accepts(cx->schema->arg, "geojson", geojson.data))
			acl_rule_error(ACL_RULE_BAD_VALUE, rule->path,
						   psprintf("PostGIS cannot read the shape %s", geojson.data), NULL,
						   "Write a GeoJSON geometry, e.g. {\"type\": \"Point\", \"coordinates\": [1, 2]}.");
		/* Qualified: policies run under whatever search_path the caller has. */
		shape = psprintf("%s.ST_SetSRID(%s.ST_GeomFromGeoJSON(%s), 4326)", gis, gis,
						 quote_literal_always(geojson.data));
		if (bbox)
			appendStringInfo(out, "%s(%s OPERATOR(%s.&&) %s)", negate ? "NOT " : "", col, gis, shape);
		else
			appendStringInfo(out, "%s%s.ST_Intersects(%s, %s)", negate ? "NOT " : "", gis, col, shape);
		return;
	}
	if (strcmp(op, "_in") == 0 || strcmp(op, "_nin") == 0)
	{
		int			count;
		bool		negate = strcmp(op, "_nin") == 0;

		v = list_sql(cx, rule->value, &effective, rule->path, &count);
		*dynamic |= v.dynamic;
		if (count == 0)
			appendStringInfoString(out, negate ? "true" : "false");
		else
			appendStringInfo(out, "%s(%s = ANY (%s))", negate ? "NOT " : "", col, v.sql);
		return;
	}
	if (strcmp(op, "_between") == 0 || strcmp(op, "_nbetween") == 0)
	{
		SqlValue	lo;
		SqlValue	hi;

		if (rule->value->kind != ACL_JSON_ARRAY || rule->value->count != 2)
			acl_rule_error(ACL_RULE_BAD_RULE, rule->path,
						   psprintf("operator %s takes exactly two values", op),
						   "Directus drops such a condition and matches every row; acl refuses it.",
						   psprintf("Write {\"%s\": [low, high]}.", op));
		lo = scalar_sql(cx, rule->value->items[0], &effective, psprintf("%s[0]", rule->path));
		hi = scalar_sql(cx, rule->value->items[1], &effective, psprintf("%s[1]", rule->path));
		*dynamic |= lo.dynamic || hi.dynamic;
		appendStringInfo(out, "%s(%s BETWEEN %s AND %s)", op[1] == 'n' ? "NOT " : "",
						 col, lo.sql, hi.sql);
		return;
	}

	/* Comparisons and string matching against one value. */
	if (effective.type == ACL_FT_ARRAY &&
		(strcmp(op, "_contains") == 0 || strcmp(op, "_ncontains") == 0))
	{
		v = scalar_sql(cx, rule->value, &effective, rule->path);
		*dynamic |= v.dynamic;
		appendStringInfo(out, "%s(%s = ANY (%s))", op[1] == 'n' ? "NOT " : "", v.sql, col);
		return;
	}
	{
		bool		like = strstr(op, "contains") != NULL || strstr(op, "starts_with") != NULL ||
			strstr(op, "ends_with") != NULL;

		if (like)
		{
			AclColumn	text_column = effective;
			bool		negate = op[1] == 'n';
			const char *base = op + (negate ? 2 : 1);
			bool		insensitive = base[0] == 'i';

			if (insensitive)
				base++;
			text_column.sql_type = "pg_catalog.text";
			text_column.type = ACL_FT_STRING;
			if (rule->value->kind == ACL_JSON_NULL)
			{
				/* LIKE NULL is never true; so is NOT LIKE NULL. */
				appendStringInfoString(out, "(CAST(NULL AS pg_catalog.bool))");
				return;
			}
			v = scalar_sql(cx, rule->value, &text_column, rule->path);
			*dynamic |= v.dynamic;
			emit_like(out, col, rule, &v, rule->value->text,
					  strcmp(base, "contains") == 0 || strcmp(base, "ends_with") == 0,
					  strcmp(base, "contains") == 0 || strcmp(base, "starts_with") == 0,
					  insensitive, negate);
			return;
		}
	}

	v = scalar_sql(cx, rule->value, &effective, rule->path);
	*dynamic |= v.dynamic;
	if (v.is_list)
		acl_rule_error(ACL_RULE_BAD_RULE, rule->path,
					   psprintf("operator %s compares with one value, but the variable is a list", op),
					   NULL, "Use _in or _nin with list variables such as $CURRENT_ROLES.");
	if (strcmp(op, "_eq") == 0)
	{
		if (v.is_null)
			appendStringInfo(out, "(%s IS NULL)", col);
		else if (v.dynamic && !effective.not_null)
			/*
			 * NULL variable: Directus's "_eq null" is IS NULL; both arms
			 * indexable.  On a NOT NULL column that arm can never match, and
			 * the plain comparison is exactly the same rule.
			 */
			appendStringInfo(out, "(%s = %s OR (%s IS NULL AND %s IS NULL))", col, v.sql, v.sql, col);
		else
			appendStringInfo(out, "(%s = %s)", col, v.sql);
		return;
	}
	if (strcmp(op, "_neq") == 0)
	{
		if (v.is_null)
			appendStringInfo(out, "(%s IS NOT NULL)", col);
		else if (v.dynamic)
			/* Not shortened for NOT NULL columns: a NULL variable matches every row. */
			appendStringInfo(out, "(NOT (%s = %s) OR (%s IS NULL AND %s IS NOT NULL))",
							 col, v.sql, v.sql, col);
		else
			appendStringInfo(out, "(NOT (%s = %s))", col, v.sql);
		return;
	}
	{
		const char *sqlop = strcmp(op, "_lt") == 0 ? "<" : strcmp(op, "_lte") == 0 ? "<="
			: strcmp(op, "_gt") == 0 ? ">" : strcmp(op, "_gte") == 0 ? ">=" : NULL;

		if (sqlop == NULL)
			acl_rule_error(ACL_RULE_BAD_RULE, rule->path,
						   psprintf("operator %s cannot be used in an item rule", op), NULL, NULL);
		appendStringInfo(out, "(%s %s %s)", col, sqlop, v.sql);
	}
}

/* ---- relations (spec §6.4) ----------------------------------------------- */

static void
emit_relation(SqlContext *cx, StringInfo out, const AclRule *rule, const char *table_key,
			  const char *alias, bool *dynamic, int depth)
{
	AclRelation rel;
	StringInfoData inner;
	bool		inner_dynamic = false;
	char	   *a;
	const char *local;

	if (!cx->schema->relation(cx->schema->arg, table_key, rule->field, rule->path, &rel))
		acl_rule_error(ACL_RULE_NO_FIELD, rule->path,
					   psprintf("\"%s\" is neither a foreign-key column nor a table referencing this one",
								rule->field),
					   NULL, "Follow a many-to-one through its foreign-key column, or a one-to-many "
					   "through the referencing table's name (\"table.column\" when it has several "
					   "keys to this table).");
	if (rel.kind == ACL_REL_MANY_TO_ONE && rule->quantifier != ACL_SOME_IMPLICIT)
		acl_rule_error(ACL_RULE_BAD_RULE, rule->path,
					   psprintf("%s applies to one-to-many relations; \"%s\" is many-to-one",
								rule->quantifier == ACL_SOME ? "_some" : "_none", rule->field),
					   NULL, psprintf("Write {\"%s\": {\"column\": {...}}} for a many-to-one.", rule->field));

	a = psprintf("\"r%d\"", cx->next_alias++);
	initStringInfo(&inner);
	emit_rule(cx, &inner, rule->inner, rel.table_key, a, &inner_dynamic, depth + 1);
	*dynamic |= inner_dynamic;
	local = psprintf("%s.%s", alias, quote_ident_always(rel.local_column));

	/*
	 * Anchored on the current user, the related set is small and known once
	 * per execution: an array InitPlan lets an index on the outer column
	 * serve the rule.  Otherwise a hashed subplan probes per row.
	 */
	if (inner_dynamic)
		/* ARRAY(...) of no rows is '{}', not NULL, so _none holds there. */
		appendStringInfo(out, "%s(%s = ANY (ARRAY(SELECT %s.%s FROM %s %s WHERE %s.%s IS NOT NULL AND %s)))",
						 rule->quantifier == ACL_NONE ? "NOT " : "",
						 local, a, quote_ident_always(rel.remote_column), rel.table, a,
						 a, quote_ident_always(rel.remote_column), inner.data);
	else
		appendStringInfo(out, "%s(%s IN (SELECT %s.%s FROM %s %s WHERE %s.%s IS NOT NULL AND %s))",
						 rule->quantifier == ACL_NONE ? "NOT " : "",
						 local, a, quote_ident_always(rel.remote_column), rel.table, a,
						 a, quote_ident_always(rel.remote_column), inner.data);
}

static void
emit_rule(SqlContext *cx, StringInfo out, const AclRule *rule, const char *table_key,
		  const char *alias, bool *dynamic, int depth)
{
	acl_rule_check_depth(depth, rule->path);
	switch (rule->kind)
	{
		case ACL_RULE_AND:
		case ACL_RULE_OR:
			if (rule->nchildren == 0)
			{
				appendStringInfoString(out, rule->kind == ACL_RULE_AND ? "true" : "false");
				return;
			}
			appendStringInfoChar(out, '(');
			for (int i = 0; i < rule->nchildren; i++)
			{
				if (i > 0)
					appendStringInfoString(out, rule->kind == ACL_RULE_AND ? " AND " : " OR ");
				emit_rule(cx, out, rule->children[i], table_key, alias, dynamic, depth + 1);
			}
			appendStringInfoChar(out, ')');
			return;
		case ACL_RULE_CONDITION:
			emit_condition(cx, out, rule, table_key, alias, dynamic);
			return;
		case ACL_RULE_RELATION:
			emit_relation(cx, out, rule, table_key, alias, dynamic, depth);
			return;
	}
}

char *
acl_rule_to_sql(const AclRule *rule, const AclSchema *schema, const char *table_key,
				const char *outer_alias)
{
	return acl_rule_to_sql_for(rule, schema, table_key, outer_alias, NULL);
}

/* The same, with variables read from one side of a share (share.c). */
char *
acl_rule_to_sql_for(const AclRule *rule, const AclSchema *schema, const char *table_key,
					const char *outer_alias, const char *share_side)
{
	SqlContext	cx = {schema, 1, share_side};
	StringInfoData out;
	bool		dynamic = false;

	initStringInfo(&out);
	emit_rule(&cx, &out, rule, table_key, outer_alias, &dynamic, 0);
	return out.data;
}
