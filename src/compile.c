/*-------------------------------------------------------------------------
 *
 * compile.c
 *	  The server side of the rule language: errors as ereport, and the
 *	  SQL-callable entry points (acl.compile, acl.validation_errors,
 *	  acl.check_rule).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/resowner.h"

#include "acl.h"
#include "rule.h"

/* Rules deeper than this are refused even when the stack would allow them. */
#define ACL_RULE_MAX_DEPTH 1000

void
acl_rule_error(AclRuleErrorKind kind, const char *path, const char *message,
			   const char *detail, const char *hint)
{
	int			code;

	switch (kind)
	{
		case ACL_RULE_BAD_VALUE:
			code = ERRCODE_INVALID_TEXT_REPRESENTATION;
			break;
		case ACL_RULE_NO_FIELD:
			code = ERRCODE_UNDEFINED_COLUMN;
			break;
		case ACL_RULE_NOT_SUPPORTED:
			code = ERRCODE_FEATURE_NOT_SUPPORTED;
			break;
		case ACL_RULE_TOO_DEEP:
			code = ERRCODE_STATEMENT_TOO_COMPLEX;
			break;
		default:
			code = ERRCODE_INVALID_PARAMETER_VALUE;
			break;
	}
	ereport(ERROR,
			(errcode(code),
			 errmsg("%s: %s", path, message),
			 detail ? errdetail("%s", detail) : 0,
			 hint ? errhint("%s", hint) : 0));
	pg_unreachable();
}

void
acl_rule_check_depth(int depth, const char *path)
{
	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	if (depth > ACL_RULE_MAX_DEPTH)
		acl_rule_error(ACL_RULE_TOO_DEEP, path,
					   psprintf("rule is nested deeper than %d levels", ACL_RULE_MAX_DEPTH),
					   NULL, "Flatten the rule: _and and _or take any number of members.");
}

static AclJson *
json_scalar(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return acl_json_new(ACL_JSON_STRING, pnstrdup(v->val.string.val, v->val.string.len));
		case jbvNumeric:
			return acl_json_new(ACL_JSON_NUMBER,
								DatumGetCString(DirectFunctionCall1(numeric_out,
																	NumericGetDatum(v->val.numeric))));
		case jbvBool:
			return acl_json_new(ACL_JSON_BOOL, pstrdup(v->val.boolean ? "true" : "false"));
		case jbvNull:
			return acl_json_new(ACL_JSON_NULL, pstrdup("null"));
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
	return NULL;				/* keep compiler quiet */
}

/*
 * A jsonb value as the shared code's tree; NULL stays NULL.  Read with
 * jsonb's iterator, which yields what JsonbToCString would print (numbers
 * by numeric_out, members in jsonb's order) without printing and parsing
 * it again: this runs for every written row.
 */
AclJson *
acl_json_from_jsonb(Jsonb *jsonb)
{
	AclJsonBuilder builder = {0};
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken token;
	bool		raw_scalar = false;

	if (jsonb == NULL)
		return NULL;
	it = JsonbIteratorInit(&jsonb->root);
	while ((token = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		switch (token)
		{
			case WJB_BEGIN_ARRAY:
				/* a scalar document is stored as a one-element array */
				if (v.val.array.rawScalar)
					raw_scalar = true;
				else
					acl_json_builder_add(&builder, acl_json_new(ACL_JSON_ARRAY, NULL));
				break;
			case WJB_BEGIN_OBJECT:
				acl_json_builder_add(&builder, acl_json_new(ACL_JSON_OBJECT, NULL));
				break;
			case WJB_END_ARRAY:
				if (!raw_scalar)
					acl_json_builder_end(&builder);
				break;
			case WJB_END_OBJECT:
				acl_json_builder_end(&builder);
				break;
			case WJB_KEY:
				builder.pending_key = pnstrdup(v.val.string.val, v.val.string.len);
				break;
			case WJB_VALUE:
			case WJB_ELEM:
				acl_json_builder_add(&builder, json_scalar(&v));
				break;
			case WJB_DONE:
				break;
		}
	}
	return builder.root;
}

static AclJson
json_string(char *text)
{
	AclJson		value;

	memset(&value, 0, sizeof(value));
	value.kind = ACL_JSON_STRING;
	value.text = text ? text : "";
	return value;
}

static char *
failures_json(AclValidationFailure *failures, int count)
{
	StringInfoData out;

	initStringInfo(&out);
	appendStringInfoChar(&out, '[');
	for (int i = 0; i < count; i++)
	{
		AclJson		field = json_string(failures[i].field);
		AclJson		type = json_string(failures[i].type);
		AclJson		path = json_string(failures[i].path);
		AclJson		message = json_string(failures[i].message);

		if (i > 0)
			appendStringInfoString(&out, ", ");
		appendStringInfoString(&out, "{\"field\": ");
		acl_json_append(&out, &field);
		appendStringInfoString(&out, ", \"type\": ");
		acl_json_append(&out, &type);
		appendStringInfoString(&out, ", \"expected\": ");
		appendStringInfoString(&out, failures[i].expected ? failures[i].expected : "null");
		appendStringInfoString(&out, ", \"rule\": ");
		acl_json_append(&out, &path);
		appendStringInfoString(&out, ", \"message\": ");
		acl_json_append(&out, &message);
		appendStringInfoChar(&out, '}');
	}
	appendStringInfoChar(&out, ']');
	return out.data;
}

/* Validation compares the payload with values: variables become values first. */
static void
resolve_rule_values(AclRule *rule)
{
	acl_rule_check_depth(0, rule->path);
	switch (rule->kind)
	{
		case ACL_RULE_AND:
		case ACL_RULE_OR:
			for (int i = 0; i < rule->nchildren; i++)
				resolve_rule_values(rule->children[i]);
			break;
		case ACL_RULE_CONDITION:
			if (rule->value)
				rule->value = acl_resolve_dynamic(rule->value, rule->path);
			break;
		case ACL_RULE_RELATION:
			resolve_rule_values(rule->inner);
			break;
	}
}

PG_FUNCTION_INFO_V1(acl_validation_errors);

/*
 * acl.validation_errors(rule jsonb, payload jsonb) returns jsonb: the
 * failures of a payload against a validation rule, [] when it passes.
 */
Datum
acl_validation_errors(PG_FUNCTION_ARGS)
{
	AclJson    *payload;
	AclRule    *rule;
	AclValidationFailure *failures = NULL;
	int			count;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("payload must not be NULL")));
	rule = acl_rule_from_json(PG_ARGISNULL(0) ? NULL : acl_json_from_jsonb(PG_GETARG_JSONB_P(0)),
							  "validation");
	payload = acl_json_from_jsonb(PG_GETARG_JSONB_P(1));
	if (payload->kind != ACL_JSON_OBJECT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("payload must be a JSON object")));
	resolve_rule_values(rule);
	count = acl_validate(rule, payload, &failures);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(failures_json(failures, count))));
}

/* A validation rule parsed, with its variables resolved for the current end user. */
AclRule *
acl_validation_rule(Jsonb *validation)
{
	AclRule    *rule = acl_rule_from_json(acl_json_from_jsonb(validation), "validation");

	resolve_rule_values(rule);
	return rule;
}

/* Resolves a rule's variables in place, for the current end user. */
void
acl_resolve_rule(AclRule *rule)
{
	resolve_rule_values(rule);
}

static char *
copy_string(const char *s)
{
	return s ? pstrdup(s) : NULL;
}

/*
 * Deep copies, into the current memory context: a cached tree stays as
 * parsed while a copy of it is resolved in place for one end user.
 */
AclJson *
acl_json_copy(const AclJson *src)
{
	AclJson    *dst;

	if (src == NULL)
		return NULL;
	check_stack_depth();
	dst = palloc(sizeof(AclJson));
	*dst = *src;
	dst->text = copy_string(src->text);
	if (src->count > 0)
	{
		dst->items = palloc(sizeof(AclJson *) * src->count);
		for (int i = 0; i < src->count; i++)
			dst->items[i] = acl_json_copy(src->items[i]);
		if (src->keys != NULL)
		{
			dst->keys = palloc(sizeof(char *) * src->count);
			for (int i = 0; i < src->count; i++)
				dst->keys[i] = copy_string(src->keys[i]);
		}
	}
	else
	{
		dst->items = NULL;
		dst->keys = NULL;
	}
	return dst;
}

AclRule *
acl_rule_copy(const AclRule *src)
{
	AclRule    *dst;

	if (src == NULL)
		return NULL;
	check_stack_depth();
	dst = palloc(sizeof(AclRule));
	*dst = *src;
	dst->path = copy_string(src->path);
	dst->field = copy_string(src->field);
	dst->function = copy_string(src->function);
	dst->op = copy_string(src->op);
	dst->value = acl_json_copy(src->value);
	dst->inner = acl_rule_copy(src->inner);
	if (src->nchildren > 0)
	{
		dst->children = palloc(sizeof(AclRule *) * src->nchildren);
		for (int i = 0; i < src->nchildren; i++)
			dst->children[i] = acl_rule_copy(src->children[i]);
	}
	return dst;
}

/*
 * Raises 23514 naming the first failing field and rule when the payload
 * fails the validation rule; the detail lists every failure as JSON, for
 * gateways to show per field.
 */
void
acl_check_validation_rule(AclRule *rule, AclJson *payload, const char *collection,
						  const char *permission)
{
	AclValidationFailure *failures = NULL;
	int			count = acl_validate(rule, payload, &failures);

	if (count > 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("validation failed for field \"%s\" of %s: %s",
						failures[0].field, collection, failures[0].message),
				 errdetail("%s", failures_json(failures, count)),
				 permission ? errcontext("validation of permission %s", permission) : 0,
				 errhint("The detail lists every failing field as JSON: field, type, expected, rule, message.")));
}

static void
collect_validation_fields(const AclRule *rule, List **fields)
{
	/* a stored rule is within the nesting limit; only the stack needs care */
	check_stack_depth();
	switch (rule->kind)
	{
		case ACL_RULE_AND:
		case ACL_RULE_OR:
			for (int i = 0; i < rule->nchildren; i++)
				collect_validation_fields(rule->children[i], fields);
			break;
		case ACL_RULE_CONDITION:
		case ACL_RULE_RELATION:
			if (rule->field != NULL && !list_member(*fields, makeString(rule->field)))
				*fields = lappend(*fields, makeString(pstrdup(rule->field)));
			break;
	}
}

/*
 * The payload members a validation rule reads (String nodes): the fields
 * of its conditions and relations, which acl_validate() looks up in the
 * payload by name and nothing else.
 */
List *
acl_validation_fields(const AclRule *rule)
{
	List	   *fields = NIL;

	collect_validation_fields(rule, &fields);
	return fields;
}

PG_FUNCTION_INFO_V1(acl_check_validation);

/* acl.check_validation(rule jsonb, payload jsonb, collection text) */
Datum
acl_check_validation(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_VOID();
	acl_check_validation_rule(acl_validation_rule(PG_GETARG_JSONB_P(0)),
							  acl_json_from_jsonb(PG_GETARG_JSONB_P(1)),
							  PG_ARGISNULL(2) ? "?" : text_to_cstring(PG_GETARG_TEXT_PP(2)), NULL);
	PG_RETURN_VOID();
}

static char *
table_key_of(Oid relid)
{
	return psprintf("%u", relid);
}

static void
compiled_sql_context(void *arg)
{
	errcontext("while checking the SQL compiled from the rule: %s", (const char *) arg);
}

/*
 * Proves the compiled expression is valid SQL over the table (types,
 * functions, relations) by preparing a query around it; nothing runs.
 */
static void
verify_sql(Oid relid, const char *alias, const char *sql)
{
	ErrorContextCallback callback;
	char	   *query = psprintf("SELECT %s FROM %s AS %s", sql,
								 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
															get_rel_name(relid)),
								 alias);

	callback.callback = compiled_sql_context;
	callback.arg = (void *) sql;
	callback.previous = error_context_stack;
	error_context_stack = &callback;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_prepare(query, 0, NULL) == NULL)
		elog(ERROR, "could not prepare compiled rule: %s", SPI_result_code_string(SPI_result));
	SPI_finish();
	error_context_stack = callback.previous;
}

/*
 * The item rule of a permission on relid as SQL; columns qualified by
 * alias; variables of one side of a share when share_side is set.
 */
static char *
compile_item_rule(Oid relid, Jsonb *rule, const char *what, const char *alias,
				  const char *share_side)
{
	AclRule    *normalised = acl_rule_from_json(acl_json_from_jsonb(rule), what);
	char	   *sql = acl_rule_to_sql_for(normalised, acl_backend_schema(), table_key_of(relid),
										  alias, share_side);

	verify_sql(relid, alias, sql);
	return sql;
}

static char *
acl_compile_item_rule(Oid relid, Jsonb *rule, const char *what, const char *alias)
{
	return compile_item_rule(relid, rule, what, alias, NULL);
}

PG_FUNCTION_INFO_V1(acl_compile);

/* acl.compile(collection regclass, rule jsonb) returns text */
Datum
acl_compile(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *relname = get_rel_name(relid);

	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	PG_RETURN_TEXT_P(cstring_to_text(acl_compile_item_rule(relid,
														   PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1),
														   "permissions",
														   quote_identifier(relname))));
}

PG_FUNCTION_INFO_V1(acl_compile_for_share);

/* acl._compile_for_share(collection regclass, rule jsonb, side text) returns text */
Datum
acl_compile_for_share(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *relname = get_rel_name(relid);
	char	   *side = text_to_cstring(PG_GETARG_TEXT_PP(2));

	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (strcmp(side, "role") != 0 && strcmp(side, "creator") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown share side \"%s\"", side),
				 errhint("The sides of a share are \"role\" and \"creator\".")));
	PG_RETURN_TEXT_P(cstring_to_text(compile_item_rule(relid,
													   PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1),
													   "permissions", quote_identifier(relname),
													   side)));
}

/*
 * A _regex is compiled when the permission is written, so that a bad
 * pattern is refused then, with its JSON path, rather than on some write.
 */
static void
check_regex(AclRule *rule)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	AclJson    *payload;
	AclJson    *probe;
	AclValidationFailure *failures;
	ErrorData  *volatile error = NULL;

	payload = acl_json_new(ACL_JSON_OBJECT, NULL);
	probe = acl_json_new(ACL_JSON_STRING, "");
	payload->count = 1;
	payload->keys = palloc(sizeof(char *));
	payload->items = palloc(sizeof(AclJson *));
	payload->keys[0] = rule->field;
	payload->items[0] = probe;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		(void) acl_validate(rule, payload, &failures);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcontext);
		error = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcontext);
	CurrentResourceOwner = oldowner;
	if (error)
		acl_rule_error(ACL_RULE_BAD_RULE, rule->path,
					   psprintf("cannot use the regular expression %s", rule->value && rule->value->text
								? rule->value->text : "?"),
					   error->message, "Write a JavaScript-style pattern without backreferences or lookaround.");
}

/* Fields named by a validation rule must exist; relations are followed. */
static void
check_validation_fields(const AclRule *rule, const char *table_key)
{
	const AclSchema *schema = acl_backend_schema();
	AclColumn	column;
	AclRelation rel;

	acl_rule_check_depth(0, rule->path);
	switch (rule->kind)
	{
		case ACL_RULE_AND:
		case ACL_RULE_OR:
			for (int i = 0; i < rule->nchildren; i++)
				check_validation_fields(rule->children[i], table_key);
			break;
		case ACL_RULE_CONDITION:
			if (!schema->column(schema->arg, table_key, rule->field, &column) &&
				!(rule->function && strcmp(rule->function, "count") == 0 &&
				  schema->relation(schema->arg, table_key, rule->field, rule->path, &rel)))
				acl_rule_error(ACL_RULE_NO_FIELD, rule->path,
							   psprintf("column \"%s\" does not exist", rule->field), NULL,
							   "Validation rules test the columns a write sets.");
			if (rule->value && rule->value->kind == ACL_JSON_STRING)
			{
				AclDynamic	dyn;

				(void) acl_parse_dynamic(rule->value->text, &dyn, rule->path);
			}
			if (strcmp(rule->op, "_regex") == 0)
				check_regex((AclRule *) rule);
			break;
		case ACL_RULE_RELATION:
			if (!schema->relation(schema->arg, table_key, rule->field, rule->path, &rel))
				acl_rule_error(ACL_RULE_NO_FIELD, rule->path,
							   psprintf("\"%s\" is not a relation of this table", rule->field),
							   NULL, NULL);
			check_validation_fields(rule->inner, rel.table_key);
			break;
	}
}

/* Preset keys must be columns; literal values must suit the column's type. */
static void
check_presets(Oid relid, Jsonb *presets)
{
	const AclSchema *schema = acl_backend_schema();
	AclJson    *json = acl_json_from_jsonb(presets);
	char	   *key = table_key_of(relid);

	if (json->kind != ACL_JSON_OBJECT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("presets of a permission on %s must be a JSON object", get_rel_name(relid)),
				 errhint("Write presets as {\"column\": value, ...}.")));
	for (int i = 0; i < json->count; i++)
	{
		AclColumn	column;
		AclJson    *value = json->items[i];
		char	   *path = psprintf("presets.%s", json->keys[i]);
		AclDynamic	dyn;

		if (!schema->column(schema->arg, key, json->keys[i], &column))
			acl_rule_error(ACL_RULE_NO_FIELD, path,
						   psprintf("column \"%s\" does not exist", json->keys[i]), NULL,
						   "Presets fill columns of the table.");
		if (value->kind == ACL_JSON_STRING && acl_parse_dynamic(value->text, &dyn, path))
			continue;
		if ((value->kind == ACL_JSON_STRING || value->kind == ACL_JSON_NUMBER ||
			 value->kind == ACL_JSON_BOOL) && column.type != ACL_FT_JSON &&
			!schema->accepts(schema->arg, column.sql_type, value->text))
			acl_rule_error(ACL_RULE_BAD_VALUE, path,
						   psprintf("value \"%s\" is not a valid %s for column \"%s\"",
									value->text, column.sql_type, column.name),
						   NULL, NULL);
	}
}

PG_FUNCTION_INFO_V1(acl_check_permission);

/*
 * acl._check_permission(collection, permissions, validation, presets):
 * every rule of a permission row is parsed, type-checked against the live
 * table and compiled when the row is written; errors name the JSON path.
 */
Datum
acl_check_permission(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);

	if (!PG_ARGISNULL(1))
		(void) acl_compile_item_rule(relid, PG_GETARG_JSONB_P(1), "permissions",
									 quote_identifier(get_rel_name(relid)));
	if (!PG_ARGISNULL(2))
	{
		AclRule    *rule = acl_rule_from_json(acl_json_from_jsonb(PG_GETARG_JSONB_P(2)),
											  "validation");

		check_validation_fields(rule, table_key_of(relid));
	}
	if (!PG_ARGISNULL(3))
		check_presets(relid, PG_GETARG_JSONB_P(3));
	PG_RETURN_VOID();
}

/* ------------------------------------------------------------------------
 * Renames inside relational rules.  ALTER TABLE ... RENAME of a column or a
 * table another table's rule reaches through a relation would leave the
 * rule naming what no longer exists; acl._ddl_rename() rewrites it.
 * ---------------------------------------------------------------------- */

typedef struct RenameTarget
{
	Oid			renamed;		/* the table renamed, or whose column was */
	const char *from;
	const char *to;
	bool		table;			/* a table rename (else a column rename) */
} RenameTarget;

/* The table a relation key of context leads to, or InvalidOid. */
static Oid
related_table(Oid context, const char *key)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile Oid result = InvalidOid;

	/* The lookup reports ambiguity by raising; here that just means "none". */
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		AclRelation rel;
		const AclSchema *schema = acl_backend_schema();

		if (schema->relation(schema->arg, table_key_of(context), key, key, &rel))
			result = (Oid) strtoul(rel.table_key, NULL, 10);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcontext);
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcontext);
	CurrentResourceOwner = oldowner;
	return result;
}

/* key with the rename applied in context, or NULL when it does not apply. */
static char *
renamed_key(const char *key, Oid context, const RenameTarget *target)
{
	const char *open = strchr(key, '(');
	size_t		len = strlen(key);

	if (target->table)
	{
		size_t		n = strlen(target->from);

		/* A one-to-many names the referencing table: "t" or "t.column". */
		if (get_attnum(context, key) == InvalidAttrNumber &&
			strncmp(key, target->from, n) == 0 && (key[n] == '\0' || key[n] == '.'))
			return psprintf("%s%s", target->to, key + n);
		return NULL;
	}
	if (context != target->renamed)
		return NULL;
	if (strcmp(key, target->from) == 0)
		return pstrdup(target->to);
	/* A function field: year(date), count(comments). */
	if (open != NULL && len > 0 && key[len - 1] == ')' &&
		strncmp(open + 1, target->from, len - (open - key) - 2) == 0 &&
		strlen(target->from) == len - (open - key) - 2)
		return psprintf("%.*s(%s)", (int) (open - key), key, target->to);
	return NULL;
}

static bool
rename_in_rule(AclJson *json, Oid context, const RenameTarget *target)
{
	bool		changed = false;

	check_stack_depth();
	if (json == NULL || json->kind != ACL_JSON_OBJECT)
		return false;
	for (int i = 0; i < json->count; i++)
	{
		const char *key = json->keys[i];
		AclJson    *item = json->items[i];
		char	   *renamed;
		Oid			next;

		if (strcmp(key, "_and") == 0 || strcmp(key, "_or") == 0)
		{
			if (item->kind == ACL_JSON_ARRAY)
				for (int j = 0; j < item->count; j++)
					changed |= rename_in_rule(item->items[j], context, target);
			continue;
		}
		if (strcmp(key, "_some") == 0 || strcmp(key, "_none") == 0)
		{
			changed |= rename_in_rule(item, context, target);
			continue;
		}
		if (key[0] == '_')
			continue;			/* an operator */
		renamed = renamed_key(key, context, target);
		if (renamed != NULL)
		{
			json->keys[i] = renamed;
			key = renamed;
			changed = true;
		}
		if (item->kind == ACL_JSON_OBJECT && strchr(key, '(') == NULL &&
			OidIsValid(next = related_table(context, key)))
			changed |= rename_in_rule(item, next, target);
	}
	return changed;
}

PG_FUNCTION_INFO_V1(acl_rename_in_rule);

/*
 * acl._rename_in_rule(collection regclass, rule jsonb, renamed regclass,
 * old text, new text, is_table boolean) returns jsonb: the item rule of a
 * permission on collection with the rename applied at every depth.
 */
Datum
acl_rename_in_rule(PG_FUNCTION_ARGS)
{
	AclJson    *json = acl_json_from_jsonb(PG_GETARG_JSONB_P(1));
	RenameTarget target;
	StringInfoData out;

	target.renamed = PG_GETARG_OID(2);
	target.from = text_to_cstring(PG_GETARG_TEXT_PP(3));
	target.to = text_to_cstring(PG_GETARG_TEXT_PP(4));
	target.table = PG_GETARG_BOOL(5);
	if (!rename_in_rule(json, PG_GETARG_OID(0), &target))
		PG_RETURN_DATUM(PG_GETARG_DATUM(1));
	initStringInfo(&out);
	acl_json_append(&out, json);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(out.data)));
}
