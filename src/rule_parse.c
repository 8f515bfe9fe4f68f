/*-------------------------------------------------------------------------
 *
 * rule_parse.c
 *	  JSON text to a tree, and a filter tree to its normalised rule
 *	  (spec §6.1): scalars mean _eq, several keys mean _and, field-level
 *	  _and/_or are hoisted, comma strings are split for list operators,
 *	  'true'/'false'/'null' are coerced, dynamic variables are recognised.
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

#include <ctype.h>

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"

#include "rule.h"

/* ---- JSON text to a tree ------------------------------------------------- */

AclJson *
acl_json_new(AclJsonKind kind, char *text)
{
	AclJson    *node = palloc0(sizeof(AclJson));

	node->kind = kind;
	node->text = text;
	return node;
}

static void
json_attach(AclJsonBuilder *b, AclJson *node)
{
	AclJson    *parent;

	if (b->depth == 0)
	{
		b->root = node;
		return;
	}
	parent = b->stack[b->depth - 1];
	if (parent->count % 8 == 0)
	{
		int			cap = parent->count + 8;

		parent->items = parent->items ? repalloc(parent->items, sizeof(AclJson *) * cap)
			: palloc(sizeof(AclJson *) * cap);
		if (parent->kind == ACL_JSON_OBJECT)
			parent->keys = parent->keys ? repalloc(parent->keys, sizeof(char *) * cap)
				: palloc(sizeof(char *) * cap);
	}
	if (parent->kind == ACL_JSON_OBJECT)
		parent->keys[parent->count] = b->pending_key;
	parent->items[parent->count++] = node;
}

/*
 * Adds a node where the builder stands: the root, the next element of an
 * array or the value of pending_key in an object.  A container becomes
 * where the next nodes go, until acl_json_builder_end().
 */
void
acl_json_builder_add(AclJsonBuilder *b, AclJson *node)
{
	json_attach(b, node);
	if (node->kind != ACL_JSON_ARRAY && node->kind != ACL_JSON_OBJECT)
		return;
	if (b->depth == b->capacity)
	{
		b->capacity = b->capacity ? b->capacity * 2 : 16;
		b->stack = b->stack ? repalloc(b->stack, sizeof(AclJson *) * b->capacity)
			: palloc(sizeof(AclJson *) * b->capacity);
	}
	b->stack[b->depth++] = node;
}

void
acl_json_builder_end(AclJsonBuilder *b)
{
	b->depth--;
}

static void
on_object_start(void *state)
{
	acl_json_builder_add(state, acl_json_new(ACL_JSON_OBJECT, NULL));
}

static void
on_array_start(void *state)
{
	acl_json_builder_add(state, acl_json_new(ACL_JSON_ARRAY, NULL));
}

static void
on_end(void *state)
{
	acl_json_builder_end(state);
}

static void
on_field(void *state, char *fname, bool isnull)
{
	((AclJsonBuilder *) state)->pending_key = fname;
}

static void
on_scalar(void *state, char *token, JsonTokenType type)
{
	AclJson    *node;

	switch (type)
	{
		case JSON_TOKEN_STRING:
			node = acl_json_new(ACL_JSON_STRING, NULL);
			break;
		case JSON_TOKEN_NUMBER:
			node = acl_json_new(ACL_JSON_NUMBER, NULL);
			break;
		case JSON_TOKEN_TRUE:
		case JSON_TOKEN_FALSE:
			node = acl_json_new(ACL_JSON_BOOL, NULL);
			break;
		default:
			node = acl_json_new(ACL_JSON_NULL, NULL);
			break;
	}
	node->text = token;
	acl_json_builder_add(state, node);
}

AclJson *
acl_json_parse(const char *text, int len, const char **error)
{
	AclJsonBuilder builder = {0};
	JsonSemAction sem = {0};
	JsonLexContext *lex;
	JsonParseErrorType result;

#ifdef FRONTEND
	lex = makeJsonLexContextCstringLen(unconstify(char *, text), len, PG_UTF8, true);
#else
	lex = makeJsonLexContextCstringLen(unconstify(char *, text), len,
									   GetDatabaseEncoding(), true);
#endif
	sem.semstate = &builder;
	sem.object_start = on_object_start;
	sem.object_end = on_end;
	sem.array_start = on_array_start;
	sem.array_end = on_end;
	sem.object_field_start = on_field;
	sem.scalar = on_scalar;
	result = pg_parse_json(lex, &sem);
	if (result != JSON_SUCCESS)
	{
		/* json_errdetail() is not in every frontend libpgcommon. */
		*error = psprintf("invalid JSON (parser error %d)", (int) result);
		return NULL;
	}
	return builder.root;
}

AclJson *
acl_json_object_get(const AclJson *object, const char *key)
{
	if (object == NULL || object->kind != ACL_JSON_OBJECT)
		return NULL;
	for (int i = 0; i < object->count; i++)
		if (strcmp(object->keys[i], key) == 0)
			return object->items[i];
	return NULL;
}

/* Sets a member, replacing one of the same name (JavaScript's Object.assign). */
void
acl_json_object_set(AclJson *object, const char *key, AclJson *value)
{
	for (int i = 0; i < object->count; i++)
		if (strcmp(object->keys[i], key) == 0)
		{
			object->items[i] = value;
			return;
		}
	object->items = object->count ? repalloc(object->items, sizeof(AclJson *) * (object->count + 1))
		: palloc(sizeof(AclJson *));
	object->keys = object->count ? repalloc(object->keys, sizeof(char *) * (object->count + 1))
		: palloc(sizeof(char *));
	object->keys[object->count] = pstrdup(key);
	object->items[object->count++] = value;
}

static void
append_json_string(StringInfo out, const char *s)
{
	appendStringInfoChar(out, '"');
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c == '"' || c == '\\')
			appendStringInfo(out, "\\%c", c);
		else if (c < 0x20)
			appendStringInfo(out, "\\u%04x", c);
		else
			appendStringInfoChar(out, c);
	}
	appendStringInfoChar(out, '"');
}

void
acl_json_append(StringInfo out, const AclJson *value)
{
	switch (value->kind)
	{
		case ACL_JSON_NULL:
			appendStringInfoString(out, "null");
			break;
		case ACL_JSON_BOOL:
		case ACL_JSON_NUMBER:
			appendStringInfoString(out, value->text);
			break;
		case ACL_JSON_STRING:
			append_json_string(out, value->text);
			break;
		case ACL_JSON_ARRAY:
			appendStringInfoChar(out, '[');
			for (int i = 0; i < value->count; i++)
			{
				if (i > 0)
					appendStringInfoString(out, ", ");
				acl_json_append(out, value->items[i]);
			}
			appendStringInfoChar(out, ']');
			break;
		case ACL_JSON_OBJECT:
			appendStringInfoChar(out, '{');
			for (int i = 0; i < value->count; i++)
			{
				if (i > 0)
					appendStringInfoString(out, ", ");
				append_json_string(out, value->keys[i]);
				appendStringInfoString(out, ": ");
				acl_json_append(out, value->items[i]);
			}
			appendStringInfoChar(out, '}');
			break;
	}
}

/* ---- operators ----------------------------------------------------------- */

static const char *const filter_operators[] = {
	"_eq", "_neq", "_lt", "_lte", "_gt", "_gte", "_in", "_nin", "_null", "_nnull",
	"_empty", "_nempty", "_contains", "_ncontains", "_icontains", "_nicontains",
	"_starts_with", "_nstarts_with", "_istarts_with", "_nistarts_with",
	"_ends_with", "_nends_with", "_iends_with", "_niends_with",
	"_between", "_nbetween", "_intersects", "_nintersects",
	"_intersects_bbox", "_nintersects_bbox", NULL
};

/* Meaningful only against a payload (spec §5.2). */
static const char *const validation_only_operators[] = {"_regex", "_submitted", NULL};

static const char *const functions[] = {
	"year", "month", "week", "day", "weekday", "hour", "minute", "second", "count", NULL
};

static bool
in_list(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

bool
acl_operator_known(const char *op)
{
	return in_list(filter_operators, op) || in_list(validation_only_operators, op);
}

const char *
acl_operator_list(void)
{
	return "_eq, _neq, _lt, _lte, _gt, _gte, _in, _nin, _null, _nnull, _empty, _nempty, "
		"_contains, _ncontains, _icontains, _nicontains, _starts_with, _nstarts_with, "
		"_istarts_with, _nistarts_with, _ends_with, _nends_with, _iends_with, _niends_with, "
		"_between, _nbetween, _intersects, _nintersects, _intersects_bbox, _nintersects_bbox, "
		"_some, _none, _and, _or (validation also: _regex, _submitted)";
}

static bool
is_list_operator(const char *op)
{
	return strcmp(op, "_in") == 0 || strcmp(op, "_nin") == 0 ||
		strcmp(op, "_between") == 0 || strcmp(op, "_nbetween") == 0;
}

/* ---- dynamic variables --------------------------------------------------- */

typedef struct VariablePrefix
{
	const char *name;
	AclVariable variable;
} VariablePrefix;

/* Longest first: $CURRENT_ROLES must not be read as $CURRENT_ROLE + "S". */
static const VariablePrefix variable_prefixes[] = {
	{"$CURRENT_POLICIES", ACL_VAR_CURRENT_POLICIES},
	{"$CURRENT_ROLES", ACL_VAR_CURRENT_ROLES},
	{"$CURRENT_ROLE", ACL_VAR_CURRENT_ROLE},
	{"$CURRENT_USER", ACL_VAR_CURRENT_USER},
	{"$NOW", ACL_VAR_NOW},
	{NULL, ACL_VAR_NONE}
};

const char *
acl_variable_name(AclVariable variable)
{
	for (const VariablePrefix *p = variable_prefixes; p->name; p++)
		if (p->variable == variable)
			return p->name;
	return "?";
}

typedef struct NowUnit
{
	const char *spelling;
	const char *unit;			/* PostgreSQL interval unit */
} NowUnit;

/* Directus's adjust-date units (spec §7); days when none is given. */
static const NowUnit now_units[] = {
	{"ms", "milliseconds"}, {"msec", "milliseconds"}, {"msecs", "milliseconds"},
	{"millisecond", "milliseconds"}, {"milliseconds", "milliseconds"},
	{"s", "seconds"}, {"sec", "seconds"}, {"secs", "seconds"}, {"second", "seconds"},
	{"seconds", "seconds"},
	{"m", "minutes"}, {"min", "minutes"}, {"mins", "minutes"}, {"minute", "minutes"},
	{"minutes", "minutes"},
	{"h", "hours"}, {"hr", "hours"}, {"hrs", "hours"}, {"hour", "hours"}, {"hours", "hours"},
	{"d", "days"}, {"day", "days"}, {"days", "days"},
	{"w", "weeks"}, {"week", "weeks"}, {"weeks", "weeks"},
	{"mo", "months"}, {"mth", "months"}, {"mths", "months"}, {"month", "months"},
	{"months", "months"},
	{"y", "years"}, {"yr", "years"}, {"yrs", "years"}, {"year", "years"}, {"years", "years"},
	{NULL, NULL}
};

static char *
parse_now_offset(const char *inside, const char *value, const char *path)
{
	const char *p = inside;
	StringInfoData number;
	StringInfoData unit;
	bool		digits = false;

	initStringInfo(&number);
	initStringInfo(&unit);
	while (*p == ' ')
		p++;
	if (*p == '+' || *p == '-')
		appendStringInfoChar(&number, *p++);
	while (*p == ' ')
		p++;
	while (isdigit((unsigned char) *p))
	{
		appendStringInfoChar(&number, *p++);
		digits = true;
	}
	if (*p == '.')
	{
		appendStringInfoChar(&number, *p++);
		while (isdigit((unsigned char) *p))
		{
			appendStringInfoChar(&number, *p++);
			digits = true;
		}
	}
	while (*p == ' ')
		p++;
	while (isalpha((unsigned char) *p))
		appendStringInfoChar(&unit, pg_tolower((unsigned char) *p++));
	while (*p == ' ')
		p++;

	if (digits && *p == '\0')
	{
		const char *pgunit = unit.len == 0 ? "days" : NULL;

		for (const NowUnit *u = now_units; pgunit == NULL && u->spelling; u++)
			if (strcmp(u->spelling, unit.data) == 0)
				pgunit = u->unit;
		if (pgunit != NULL)
			return psprintf("%s %s", number.data, pgunit);
	}
	acl_rule_error(ACL_RULE_BAD_RULE, path,
				   psprintf("cannot read the date adjustment in \"%s\"", value),
				   "Directus would silently drop this condition; acl refuses the rule instead.",
				   "Write $NOW(<number> <unit>), e.g. $NOW(-1 day) or $NOW(+2 hours); units are "
				   "ms, s, m, h, d (the default), w, mo and y, or their long forms.");
	return NULL;				/* keep compiler quiet */
}

bool
acl_parse_dynamic(const char *value, AclDynamic *out, const char *path)
{
	memset(out, 0, sizeof(*out));
	if (value == NULL || value[0] != '$')
		return false;
	for (const VariablePrefix *p = variable_prefixes; p->name; p++)
	{
		size_t		len = strlen(p->name);
		const char *rest = value + len;

		if (strncmp(value, p->name, len) != 0)
			continue;
		out->variable = p->variable;
		if (p->variable == ACL_VAR_NOW)
		{
			size_t		restlen = strlen(rest);

			if (*rest == '\0')
				return true;
			if (*rest == '(' && restlen >= 2 && rest[restlen - 1] == ')')
			{
				char	   *inside = pnstrdup(rest + 1, restlen - 2);

				out->now_offset = parse_now_offset(inside, value, path);
				return true;
			}
			break;				/* "$NOWADAYS" and the like */
		}
		if (*rest == '\0')
			return true;
		if (*rest != '.')
			break;
		/* a.b.c: every segment non-empty */
		{
			char	   *copy = pstrdup(rest + 1);
			char	   *segment = copy;

			out->path = palloc(sizeof(char *) * (strlen(copy) + 1));
			for (;;)
			{
				char	   *dot = strchr(segment, '.');

				if (dot)
					*dot = '\0';
				if (*segment == '\0')
					acl_rule_error(ACL_RULE_BAD_RULE, path,
								   psprintf("dynamic variable \"%s\" has an empty path segment", value),
								   NULL, "Write $CURRENT_USER.column or $CURRENT_USER.relation.column.");
				out->path[out->npath++] = segment;
				if (!dot)
					break;
				segment = dot + 1;
			}
			return true;
		}
	}
	if (strncmp(value, "$CURRENT_", 9) == 0 || strncmp(value, "$NOW", 4) == 0)
		acl_rule_error(ACL_RULE_BAD_RULE, path,
					   psprintf("unknown dynamic variable \"%s\"", value), NULL,
					   "Dynamic variables are $CURRENT_USER, $CURRENT_ROLE, $CURRENT_ROLES, "
					   "$CURRENT_POLICIES (each optionally followed by .path) and $NOW or $NOW(<adjustment>).");
	memset(out, 0, sizeof(*out));
	return false;				/* an ordinary string that starts with $ */
}

/* ---- normalisation ------------------------------------------------------- */

static AclRule *normalise_object(const AclJson *object, const char *path, bool validation,
								 int depth);

static AclRule *
rule_new(AclRuleKind kind, const char *path)
{
	AclRule    *rule = palloc0(sizeof(AclRule));

	rule->kind = kind;
	rule->path = pstrdup(path);
	return rule;
}

static void
rule_add(AclRule *parent, AclRule *child)
{
	if (parent->nchildren % 8 == 0)
	{
		int			cap = parent->nchildren + 8;

		parent->children = parent->children
			? repalloc(parent->children, sizeof(AclRule *) * cap)
			: palloc(sizeof(AclRule *) * cap);
	}
	parent->children[parent->nchildren++] = child;
}

/* A single child stands for itself. */
static AclRule *
rule_simplify(AclRule *rule)
{
	if ((rule->kind == ACL_RULE_AND || rule->kind == ACL_RULE_OR) && rule->nchildren == 1)
		return rule->children[0];
	return rule;
}

/* 'true', 'false', 'null' and 'NULL' as written in Directus filters. */
static AclJson *
coerce_scalar(const AclJson *value)
{
	AclJson    *copy;

	if (value->kind != ACL_JSON_STRING)
		return (AclJson *) value;
	if (strcmp(value->text, "true") == 0 || strcmp(value->text, "false") == 0)
	{
		copy = acl_json_new(ACL_JSON_BOOL, NULL);
		copy->text = value->text;
		return copy;
	}
	if (strcmp(value->text, "null") == 0 || strcmp(value->text, "NULL") == 0)
		return acl_json_new(ACL_JSON_NULL, NULL);
	return (AclJson *) value;
}

static bool
is_numeric_key(const char *key)
{
	if (*key == '\0')
		return false;
	for (; *key; key++)
		if (!isdigit((unsigned char) *key))
			return false;
	return true;
}

static AclJson *
normalise_value(const char *op, const AclJson *value, const char *path)
{
	AclJson    *list;

	if (!is_list_operator(op))
	{
		if (value->kind == ACL_JSON_ARRAY || value->kind == ACL_JSON_OBJECT)
		{
			/* _intersects and friends take GeoJSON objects. */
			if (strstr(op, "intersects") != NULL && value->kind == ACL_JSON_OBJECT)
				return (AclJson *) value;
			acl_rule_error(ACL_RULE_BAD_RULE, path,
						   psprintf("operator %s takes a single value, not a JSON %s", op,
									value->kind == ACL_JSON_ARRAY ? "array" : "object"),
						   NULL, "Use _in or _nin to compare with a list.");
		}
		return coerce_scalar(value);
	}

	/* List operators. */
	if (value->kind == ACL_JSON_STRING)
	{
		AclDynamic dynamic;

		if (acl_parse_dynamic(value->text, &dynamic, path))
			return (AclJson *) value;	/* resolved to a list at run time */
		list = acl_json_new(ACL_JSON_ARRAY, NULL);
		{
			char	   *copy = pstrdup(value->text);
			char	   *item = copy;

			for (;;)
			{
				char	   *comma = strchr(item, ',');
				AclJson    *elem = acl_json_new(ACL_JSON_STRING, NULL);

				if (comma)
					*comma = '\0';
				elem->text = item;
				list->items = list->items
					? repalloc(list->items, sizeof(AclJson *) * (list->count + 1))
					: palloc(sizeof(AclJson *));
				list->items[list->count++] = coerce_scalar(elem);
				if (!comma)
					break;
				item = comma + 1;
			}
		}
		return list;
	}
	if (value->kind == ACL_JSON_OBJECT)
	{
		for (int i = 0; i < value->count; i++)
			if (!is_numeric_key(value->keys[i]))
				acl_rule_error(ACL_RULE_BAD_RULE, path,
							   psprintf("operator %s takes a list", op),
							   psprintf("The object has the key \"%s\", which is not an index.",
										value->keys[i]),
							   "Write a JSON array, or a comma-separated string.");
		list = acl_json_new(ACL_JSON_ARRAY, NULL);
		list->count = value->count;
		list->items = palloc(sizeof(AclJson *) * Max(value->count, 1));
		for (int i = 0; i < value->count; i++)
			list->items[i] = coerce_scalar(value->items[i]);
		return list;
	}
	if (value->kind == ACL_JSON_ARRAY)
	{
		list = acl_json_new(ACL_JSON_ARRAY, NULL);
		list->count = value->count;
		list->items = palloc(sizeof(AclJson *) * Max(value->count, 1));
		for (int i = 0; i < value->count; i++)
		{
			if (value->items[i]->kind == ACL_JSON_ARRAY || value->items[i]->kind == ACL_JSON_OBJECT)
				acl_rule_error(ACL_RULE_BAD_RULE, psprintf("%s[%d]", path, i),
							   psprintf("the list of operator %s holds a nested JSON value", op),
							   NULL, "List plain values: strings, numbers, booleans or null.");
			list->items[i] = coerce_scalar(value->items[i]);
		}
		return list;
	}
	if (value->kind == ACL_JSON_NULL)
		return (AclJson *) value;
	acl_rule_error(ACL_RULE_BAD_RULE, path, psprintf("operator %s takes a list", op),
				   NULL, "Write a JSON array, or a comma-separated string.");
	return NULL;				/* keep compiler quiet */
}

/* "year(date_created)" -> function "year", argument "date_created". */
static void
split_function(const char *key, char **function, char **field, const char *path)
{
	const char *open = strchr(key, '(');
	size_t		len = strlen(key);

	*function = NULL;
	*field = pstrdup(key);
	if (open == NULL)
		return;
	if (open == key || key[len - 1] != ')' || open + 1 >= key + len - 1)
		acl_rule_error(ACL_RULE_BAD_RULE, path,
					   psprintf("cannot read the field \"%s\"", key), NULL,
					   "A function field is written name(field), e.g. year(date_created) or count(comments).");
	*function = pnstrdup(key, open - key);
	*field = pnstrdup(open + 1, key + len - 1 - (open + 1));
	if (!in_list(functions, *function))
		acl_rule_error(ACL_RULE_BAD_RULE, path,
					   psprintf("unknown function \"%s\"", *function), NULL,
					   "Functions are year, month, week, day, weekday, hour, minute, second and count.");
}

static AclRule *
normalise_logical(const char *key, const AclJson *value, const char *path, bool validation,
				  int depth, const char *field)
{
	AclRule    *node = rule_new(strcmp(key, "_and") == 0 ? ACL_RULE_AND : ACL_RULE_OR, path);

	if (value->kind != ACL_JSON_ARRAY)
		acl_rule_error(ACL_RULE_BAD_RULE, path,
					   psprintf("%s must be an array of rules", key), NULL,
					   psprintf("Write {\"%s\": [{...}, {...}]}.", key));
	if (value->count == 0 && node->kind == ACL_RULE_OR)
		acl_rule_error(ACL_RULE_BAD_RULE, path, "_or has no rules",
					   "Directus adds no condition for an empty _or, so it would match every row; "
					   "acl refuses it rather than widen access.",
					   "Write {} for every row, or list the alternatives.");
	for (int i = 0; i < value->count; i++)
	{
		char	   *elem_path = psprintf("%s[%d]", path, i);
		AclJson    *elem = value->items[i];

		if (elem->kind != ACL_JSON_OBJECT)
			acl_rule_error(ACL_RULE_BAD_RULE, elem_path, "a rule must be a JSON object", NULL,
						   "Write {\"column\": {\"_operator\": value}}.");
		if (field != NULL)
		{
			/* {f: {_and: [A, B]}} is {_and: [{f: A}, {f: B}]} */
			AclJson    *wrapped = acl_json_new(ACL_JSON_OBJECT, NULL);

			wrapped->count = 1;
			wrapped->keys = palloc(sizeof(char *));
			wrapped->items = palloc(sizeof(AclJson *));
			wrapped->keys[0] = (char *) field;
			wrapped->items[0] = elem;
			rule_add(node, normalise_object(wrapped, elem_path, validation, depth + 1));
		}
		else
			rule_add(node, normalise_object(elem, elem_path, validation, depth + 1));
	}
	return node;
}

static AclRule *
normalise_field(const char *key, const AclJson *value, const char *path, bool validation,
				int depth)
{
	AclRule    *all = rule_new(ACL_RULE_AND, path);
	AclJson    *nested = NULL;
	char	   *function;
	char	   *field;

	acl_rule_check_depth(depth, path);
	if (strchr(key, ':') != NULL)
		acl_rule_error(ACL_RULE_NOT_SUPPORTED, path,
					   psprintf("\"%s\" is a many-to-any path, which acl does not support", key),
					   "Directus scopes many-to-any relations with field:collection; a PostgreSQL "
					   "foreign key always names one table.",
					   "Follow a foreign-key column or a referencing table instead.");
	split_function(key, &function, &field, path);

	if (value->kind != ACL_JSON_OBJECT)
	{
		AclRule    *cond;

		if (value->kind == ACL_JSON_ARRAY)
			acl_rule_error(ACL_RULE_BAD_RULE, path,
						   psprintf("field \"%s\" is compared with a list but no operator", key),
						   NULL, "Use {\"_in\": [...]} to match any of several values.");
		cond = rule_new(ACL_RULE_CONDITION, psprintf("%s._eq", path));
		cond->field = field;
		cond->function = function;
		cond->op = "_eq";
		cond->value = coerce_scalar(value);
		return cond;
	}

	for (int i = 0; i < value->count; i++)
	{
		const char *k = value->keys[i];
		AclJson    *v = value->items[i];
		char	   *kpath = psprintf("%s.%s", path, k);

		if (strcmp(k, "_and") == 0 || strcmp(k, "_or") == 0)
			rule_add(all, normalise_logical(k, v, kpath, validation, depth, key));
		else if (strcmp(k, "_some") == 0 || strcmp(k, "_none") == 0)
		{
			AclRule    *rel = rule_new(ACL_RULE_RELATION, kpath);

			if (function != NULL)
				acl_rule_error(ACL_RULE_BAD_RULE, kpath,
							   psprintf("%s cannot follow the function field \"%s\"", k, key),
							   NULL, "Use _some and _none directly under a one-to-many relation.");
			if (v->kind != ACL_JSON_OBJECT)
				acl_rule_error(ACL_RULE_BAD_RULE, kpath, psprintf("%s must hold a rule object", k),
							   NULL, psprintf("Write {\"%s\": {\"%s\": {\"column\": {...}}}}.", key, k));
			rel->field = field;
			rel->quantifier = strcmp(k, "_some") == 0 ? ACL_SOME : ACL_NONE;
			rel->inner = normalise_object(v, kpath, validation, depth + 1);
			rule_add(all, rel);
		}
		else if (k[0] == '_')
		{
			AclRule    *cond;

			if (!acl_operator_known(k))
				acl_rule_error(ACL_RULE_BAD_RULE, kpath, psprintf("unknown operator %s", k),
							   psprintf("Known operators: %s.", acl_operator_list()), NULL);
			if (!validation && in_list(validation_only_operators, k))
				acl_rule_error(ACL_RULE_BAD_RULE, kpath,
							   psprintf("operator %s applies to validation rules only", k),
							   "It tests the payload of a write, which an item rule does not see.",
							   NULL);
			cond = rule_new(ACL_RULE_CONDITION, kpath);
			cond->field = field;
			cond->function = function;
			cond->op = pstrdup(k);
			cond->value = normalise_value(k, v, kpath);
			rule_add(all, cond);
		}
		else
		{
			/* Nested fields all describe the same related row. */
			if (nested == NULL)
				nested = acl_json_new(ACL_JSON_OBJECT, NULL);
			nested->keys = nested->keys ? repalloc(nested->keys, sizeof(char *) * (nested->count + 1))
				: palloc(sizeof(char *));
			nested->items = nested->items ? repalloc(nested->items, sizeof(AclJson *) * (nested->count + 1))
				: palloc(sizeof(AclJson *));
			nested->keys[nested->count] = (char *) k;
			nested->items[nested->count++] = v;
		}
	}
	if (nested != NULL)
	{
		AclRule    *rel = rule_new(ACL_RULE_RELATION, path);

		if (function != NULL)
			acl_rule_error(ACL_RULE_BAD_RULE, path,
						   psprintf("the function field \"%s\" has no nested fields", key), NULL,
						   "Compare a function field with an operator, e.g. {\"year(date)\": {\"_eq\": 2024}}.");
		rel->field = field;
		rel->quantifier = ACL_SOME_IMPLICIT;
		rel->inner = normalise_object(nested, path, validation, depth + 1);
		rule_add(all, rel);
	}
	if (all->nchildren == 0)
		acl_rule_error(ACL_RULE_BAD_RULE, path,
					   psprintf("field \"%s\" has an empty condition", key), NULL,
					   "Write {\"column\": {\"_operator\": value}}.");
	return rule_simplify(all);
}

static AclRule *
normalise_object(const AclJson *object, const char *path, bool validation, int depth)
{
	AclRule    *all;

	acl_rule_check_depth(depth, path);
	if (object->kind != ACL_JSON_OBJECT)
		acl_rule_error(ACL_RULE_BAD_RULE, path, "a rule must be a JSON object", NULL,
					   "Write {\"column\": {\"_operator\": value}}; NULL or {} means every row.");
	all = rule_new(ACL_RULE_AND, path);
	for (int i = 0; i < object->count; i++)
	{
		const char *k = object->keys[i];
		char	   *kpath = psprintf("%s.%s", path, k);

		if (k[0] == '\0')
			acl_rule_error(ACL_RULE_BAD_RULE, kpath, "a rule has an empty key", NULL,
						   "Keys are column names, relation names or operators such as \"_eq\".");
		if (strcmp(k, "_and") == 0 || strcmp(k, "_or") == 0)
			rule_add(all, normalise_logical(k, object->items[i], kpath, validation, depth, NULL));
		else if (k[0] == '_')
			acl_rule_error(ACL_RULE_BAD_RULE, kpath,
						   acl_operator_known(k) || strcmp(k, "_some") == 0 || strcmp(k, "_none") == 0
						   ? psprintf("operator %s must follow a field", k)
						   : psprintf("unknown operator %s", k),
						   psprintf("Known operators: %s.", acl_operator_list()),
						   "Write {\"column\": {\"_operator\": value}}.");
		else
			rule_add(all, normalise_field(k, object->items[i], kpath, validation, depth + 1));
	}
	return rule_simplify(all);
}

AclRule *
acl_rule_from_json(const AclJson *json, const char *what)
{
	bool		validation = strcmp(what, "validation") == 0;

	if (json == NULL || json->kind == ACL_JSON_NULL)
		return rule_new(ACL_RULE_AND, what);
	return normalise_object(json, what, validation, 0);
}
