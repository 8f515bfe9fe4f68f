/*-------------------------------------------------------------------------
 *
 * fuzz_rules.c
 *	  libFuzzer target for the shared rule code: src/rule_parse.c (JSON
 *	  parser, normaliser, dynamic variables) and src/rule_validate.c (the
 *	  payload evaluator), compiled from the very same files as the server.
 *
 * Each input is used twice:
 *	  1. as one JSON text: parsed, printed and re-parsed (the round trip must
 *		 be stable), normalised as "permissions" and as "validation", and the
 *		 validation rule evaluated against fixed payloads, against payloads
 *		 built from the rule's own fields and values (with metamorphic checks:
 *		 _eq/_neq are complements, _gt and _lte never both hold, ...), and
 *		 against itself;
 *	  2. split on its first byte: "<sep><rule JSON><sep><payload JSON>" (the
 *		 part before the first later occurrence of the first byte is the rule,
 *		 the rest the payload) -- the format of the pair seeds in corpus/.
 *
 * acl_rule_error longjmps back here; acl_rule_check_depth stops at
 * FUZZ_MAX_DEPTH.  Frontend palloc is malloc and is never freed by the code
 * under test, so this file replaces every function of libpgcommon's
 * fe_memutils.o (build.sh also removes that member from the archive) with an
 * arena that frees everything at the end of each input, also after a
 * longjmp: LeakSanitizer then reports only real leaks (e.g. a regcomp()
 * without regfree()).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include "rule.h"

#define FUZZ_MAX_DEPTH 100
#define FUZZ_MAX_ALLOC ((size_t) 256 * 1024 * 1024)
#define FUZZ_MAX_CONDITIONS 24

/* ---- the arena ----------------------------------------------------------- */

typedef struct Chunk
{
	struct Chunk *prev;
	struct Chunk *next;
	size_t		size;
	size_t		pad;			/* keeps the payload 16-byte aligned */
} Chunk;

static Chunk *chunks;
static size_t live_chunks;

static void
fuzz_oom(size_t size)
{
	fprintf(stderr, "fuzz_rules: allocation of %zu bytes requested\n", size);
	abort();
}

static void *
arena_alloc(size_t size, bool zero)
{
	Chunk	   *c;

	if (size > FUZZ_MAX_ALLOC)
		fuzz_oom(size);
	c = zero ? calloc(1, sizeof(Chunk) + size) : malloc(sizeof(Chunk) + size);
	if (c == NULL)
		fuzz_oom(size);
	c->size = size;
	c->prev = NULL;
	c->next = chunks;
	if (chunks)
		chunks->prev = c;
	chunks = c;
	live_chunks++;
	return c + 1;
}

static void
arena_unlink(Chunk *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		chunks = c->next;
	if (c->next)
		c->next->prev = c->prev;
	live_chunks--;
}

static void
arena_free(void *p)
{
	Chunk	   *c;

	if (p == NULL)
		return;
	c = (Chunk *) p - 1;
	arena_unlink(c);
	free(c);
}

static void *
arena_realloc(void *p, size_t size)
{
	Chunk	   *c;
	Chunk	   *n;

	if (p == NULL)
		return arena_alloc(size, false);
	if (size > FUZZ_MAX_ALLOC)
		fuzz_oom(size);
	c = (Chunk *) p - 1;
	arena_unlink(c);
	n = realloc(c, sizeof(Chunk) + size);
	if (n == NULL)
		fuzz_oom(size);
	n->size = size;
	n->prev = NULL;
	n->next = chunks;
	if (chunks)
		chunks->prev = n;
	chunks = n;
	live_chunks++;
	return n + 1;
}

static void
arena_reset(void)
{
	while (chunks)
	{
		Chunk	   *next = chunks->next;

		free(chunks);
		chunks = next;
	}
	live_chunks = 0;
}

static size_t
checked_mul(size_t a, size_t b)
{
	if (b != 0 && a > SIZE_MAX / b)
		fuzz_oom(SIZE_MAX);
	return a * b;
}

/* Every function fe_memutils.o defines (nm libpgcommon.a), so it is never linked. */
void *palloc(Size size) { return arena_alloc(size, false); }
void *palloc0(Size size) { return arena_alloc(size, true); }
void *palloc_extended(Size size, int flags) { return arena_alloc(size, (flags & MCXT_ALLOC_ZERO) != 0); }
void *repalloc(void *pointer, Size size) { return arena_realloc(pointer, size); }
void pfree(void *pointer) { arena_free(pointer); }
void *palloc_mul(Size s1, Size s2) { return arena_alloc(checked_mul(s1, s2), false); }
void *palloc0_mul(Size s1, Size s2) { return arena_alloc(checked_mul(s1, s2), true); }
void *palloc_mul_extended(Size s1, Size s2, int flags) { return palloc_extended(checked_mul(s1, s2), flags); }
void *repalloc_mul(void *p, Size s1, Size s2) { return arena_realloc(p, checked_mul(s1, s2)); }
void *pg_malloc(size_t size) { return arena_alloc(size, false); }
void *pg_malloc0(size_t size) { return arena_alloc(size, true); }
void *pg_malloc_extended(size_t size, int flags) { return palloc_extended(size, flags); }
void *pg_realloc(void *pointer, size_t size) { return arena_realloc(pointer, size); }
void pg_free(void *pointer) { arena_free(pointer); }
void *pg_malloc_mul(Size s1, Size s2) { return palloc_mul(s1, s2); }
void *pg_malloc0_mul(Size s1, Size s2) { return palloc0_mul(s1, s2); }
void *pg_malloc_mul_extended(Size s1, Size s2, int flags) { return palloc_mul_extended(s1, s2, flags); }
void *pg_realloc_mul(void *p, Size s1, Size s2) { return repalloc_mul(p, s1, s2); }
Size add_size(Size s1, Size s2) { if (s1 + s2 < s1) fuzz_oom(SIZE_MAX); return s1 + s2; }
Size mul_size(Size s1, Size s2) { return checked_mul(s1, s2); }

char *
pstrdup(const char *in)
{
	size_t		len = strlen(in);
	char	   *out = arena_alloc(len + 1, false);

	memcpy(out, in, len + 1);
	return out;
}

char *
pg_strdup(const char *in)
{
	return pstrdup(in);
}

char *
pnstrdup(const char *in, Size size)
{
	size_t		len = strnlen(in, size);
	char	   *out = arena_alloc(len + 1, false);

	memcpy(out, in, len);
	out[len] = '\0';
	return out;
}

/* ---- errors -------------------------------------------------------------- */

static jmp_buf *error_jump;
static int	error_count;
static AclRuleErrorKind last_error;

void
acl_rule_error(AclRuleErrorKind kind, const char *path, const char *message,
			   const char *detail, const char *hint)
{
	/* Touch every string: a dangling or unterminated one trips ASan here. */
	if (path == NULL || message == NULL || (int) kind < ACL_RULE_BAD_RULE ||
		(int) kind > ACL_RULE_TOO_DEEP)
		abort();
	(void) (strlen(path) + strlen(message) + (detail ? strlen(detail) : 0) +
			(hint ? strlen(hint) : 0));
	if (error_jump == NULL)
		abort();
	error_count++;
	last_error = kind;
	longjmp(*error_jump, 1);
}

void
acl_rule_check_depth(int depth, const char *path)
{
	if (depth > FUZZ_MAX_DEPTH)
		acl_rule_error(ACL_RULE_TOO_DEEP, path, "rule is nested too deeply", NULL, NULL);
}

/*
 * Runs fn(arg); false when it raised an error.  Allocations stay in the
 * arena either way.
 */
static bool
guarded(void (*fn) (void *), void *arg)
{
	jmp_buf		jump;
	jmp_buf    *saved = error_jump;

	error_jump = &jump;
	if (setjmp(jump) == 0)
	{
		fn(arg);
		error_jump = saved;
		return true;
	}
	error_jump = saved;
	return false;
}

#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "fuzz_rules: check failed at line %d: %s\n", __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

/* ---- a fake schema, for acl_rule_to_sql ---------------------------------- */

typedef struct FakeTable
{
	const char *key;
	const AclColumn *columns;
} FakeTable;

static const AclColumn article_columns[] = {
	{"id", "integer", NULL, ACL_FT_NUMBER, false, true},
	{"title", "text", NULL, ACL_FT_STRING, false, true},
	{"status", "article_status", NULL, ACL_FT_STRING, true, false},
	{"slug", "character varying(64)", NULL, ACL_FT_STRING, false, false},
	{"uid", "uuid", NULL, ACL_FT_UUID, false, false},
	{"published", "boolean", NULL, ACL_FT_BOOLEAN, false, false},
	{"price", "numeric(10,2)", NULL, ACL_FT_NUMBER, false, false},
	{"likes", "bigint", NULL, ACL_FT_NUMBER, false, false},
	{"date", "date", NULL, ACL_FT_DATE, false, false},
	{"time", "time without time zone", NULL, ACL_FT_TIME, false, false},
	{"created", "timestamp with time zone", NULL, ACL_FT_DATETIME, false, false},
	{"meta", "jsonb", NULL, ACL_FT_JSON, false, false},
	{"geom", "geometry", NULL, ACL_FT_GEOMETRY, false, false},
	{"tags", "text[]", "text", ACL_FT_ARRAY, false, false},
	{"blob", "bytea", NULL, ACL_FT_BINARY, false, false},
	{"span", "interval", NULL, ACL_FT_OTHER, false, false},
	{"author", "integer", NULL, ACL_FT_NUMBER, false, false},
	{NULL}
};

static const AclColumn user_columns[] = {
	{"id", "integer", NULL, ACL_FT_NUMBER, false, true},
	{"name", "text", NULL, ACL_FT_STRING, false, false},
	{"email", "text", NULL, ACL_FT_STRING, false, false},
	{NULL}
};

static const AclColumn comment_columns[] = {
	{"id", "integer", NULL, ACL_FT_NUMBER, false, true},
	{"article", "integer", NULL, ACL_FT_NUMBER, false, true},
	{"body", "text", NULL, ACL_FT_STRING, false, false},
	{"created", "timestamp with time zone", NULL, ACL_FT_DATETIME, false, false},
	{NULL}
};

static const FakeTable fake_tables[] = {
	{"articles", article_columns},
	{"users", user_columns},
	{"comments", comment_columns},
	{NULL, NULL}
};

static bool
fake_column(void *arg, const char *table_key, const char *name, AclColumn *out)
{
	for (const FakeTable *t = fake_tables; t->key; t++)
	{
		if (strcmp(t->key, table_key) != 0)
			continue;
		for (const AclColumn *c = t->columns; c->name; c++)
			if (strcmp(c->name, name) == 0)
			{
				*out = *c;
				return true;
			}
	}
	return false;
}

static bool
fake_relation(void *arg, const char *table_key, const char *name, const char *path,
			  AclRelation *out)
{
	if (strcmp(table_key, "articles") == 0 && strcmp(name, "author") == 0)
	{
		/* many-to-one: articles.author -> users.id */
		out->kind = ACL_REL_MANY_TO_ONE;
		out->table = "\"public\".\"users\"";
		out->table_key = "users";
		out->local_column = "author";
		out->remote_column = "id";
		return true;
	}
	if (strcmp(table_key, "articles") == 0 && strcmp(name, "comments") == 0)
	{
		/* one-to-many: comments.article -> articles.id */
		out->kind = ACL_REL_ONE_TO_MANY;
		out->table = "\"public\".\"comments\"";
		out->table_key = "comments";
		out->local_column = "id";
		out->remote_column = "article";
		return true;
	}
	return false;
}

static bool
fake_accepts(void *arg, const char *sql_type, const char *text)
{
	if (strcmp(sql_type, "integer") == 0 || strcmp(sql_type, "bigint") == 0)
	{
		const char *p = text;

		if (*p == '-' || *p == '+')
			p++;
		if (*p == '\0')
			return false;
		for (; *p; p++)
			if (*p < '0' || *p > '9')
				return false;
		return true;
	}
	if (strcmp(sql_type, "boolean") == 0)
		return strcmp(text, "true") == 0 || strcmp(text, "false") == 0;
	if (strcmp(sql_type, "uuid") == 0)
		return strlen(text) == 36;
	if (strcmp(sql_type, "article_status") == 0)
		return strcmp(text, "draft") == 0 || strcmp(text, "published") == 0;
	return true;
}

static bool fake_postgis;

static const char *
fake_postgis_schema(void *arg)
{
	return "\"gis\"";
}

static bool
fake_variable_type(void *arg, const AclDynamic *dynamic, const char *path, AclColumn *out)
{
	static const AclColumn uuid_column = {"id", "uuid", NULL, ACL_FT_UUID, false, true};
	static const AclColumn uuid_array = {"ids", "uuid[]", "uuid", ACL_FT_ARRAY, false, false};
	static const AclColumn now_column = {"now", "timestamp with time zone", NULL, ACL_FT_DATETIME, false, true};

	switch (dynamic->variable)
	{
		case ACL_VAR_NOW:
			*out = now_column;
			return true;
		case ACL_VAR_CURRENT_ROLES:
		case ACL_VAR_CURRENT_POLICIES:
			*out = uuid_array;
			return true;
		case ACL_VAR_CURRENT_USER:
			if (dynamic->npath == 1)
				return fake_column(arg, "users", dynamic->path[0], out);
			*out = uuid_column;
			return dynamic->npath == 0;
		case ACL_VAR_CURRENT_ROLE:
			*out = uuid_column;
			return dynamic->npath == 0;
		default:
			return false;
	}
}

static const AclSchema fake_schema pg_attribute_unused() = {
	NULL, fake_column, fake_relation, fake_accepts, fake_postgis_schema, fake_variable_type
};

/* ---- invariants ---------------------------------------------------------- */

static void
check_json(const AclJson *json, int depth)
{
	CHECK(depth < 100000);
	switch (json->kind)
	{
		case ACL_JSON_NULL:
			break;
		case ACL_JSON_BOOL:
		case ACL_JSON_NUMBER:
		case ACL_JSON_STRING:
			CHECK(json->text != NULL);
			(void) strlen(json->text);
			break;
		case ACL_JSON_ARRAY:
		case ACL_JSON_OBJECT:
			CHECK(json->count >= 0);
			for (int i = 0; i < json->count; i++)
			{
				if (json->kind == ACL_JSON_OBJECT)
					(void) strlen(json->keys[i]);
				check_json(json->items[i], depth + 1);
			}
			break;
		default:
			CHECK(!"bad JSON kind");
	}
}

/* Collects the condition nodes of a rule (for metamorphic checks). */
typedef struct Conditions
{
	const AclRule *items[FUZZ_MAX_CONDITIONS];
	int			count;
} Conditions;

static void
check_rule(const AclRule *rule, bool validation, Conditions *conds, int depth)
{
	CHECK(rule != NULL && rule->path != NULL);
	CHECK(depth <= 4 * FUZZ_MAX_DEPTH + 10);
	(void) strlen(rule->path);
	switch (rule->kind)
	{
		case ACL_RULE_AND:
		case ACL_RULE_OR:
			CHECK(rule->nchildren >= 0);
			for (int i = 0; i < rule->nchildren; i++)
				check_rule(rule->children[i], validation, conds, depth + 1);
			break;
		case ACL_RULE_CONDITION:
			CHECK(rule->field != NULL && rule->op != NULL && rule->value != NULL);
			(void) strlen(rule->field);
			CHECK(acl_operator_known(rule->op));
			if (!validation)
				CHECK(strcmp(rule->op, "_regex") != 0 && strcmp(rule->op, "_submitted") != 0);
			check_json(rule->value, 0);
			if (conds && conds->count < FUZZ_MAX_CONDITIONS)
				conds->items[conds->count++] = rule;
			break;
		case ACL_RULE_RELATION:
			CHECK(rule->field != NULL && rule->inner != NULL);
			CHECK(rule->function == NULL);
			check_rule(rule->inner, validation, conds, depth + 1);
			break;
		default:
			CHECK(!"bad rule kind");
	}
}

static void
check_failures(const AclValidationFailure *failures, int count)
{
	CHECK(count >= 0);
	for (int i = 0; i < count; i++)
	{
		const AclValidationFailure *f = &failures[i];

		CHECK(f->field && f->type && f->path && f->message);
		CHECK(f->message[0] != '\0' && f->type[0] != '\0');
		if (f->expected != NULL)
		{
			/* expected is JSON text */
			const char *error = NULL;

			CHECK(acl_json_parse(f->expected, strlen(f->expected), &error) != NULL);
		}
	}
}

/* ---- validation ---------------------------------------------------------- */

typedef struct ValidateArgs
{
	const AclRule *rule;
	const AclJson *payload;
	int			count;
} ValidateArgs;

static void
do_validate(void *arg)
{
	ValidateArgs *a = arg;
	AclValidationFailure *failures = NULL;

	a->count = acl_validate(a->rule, a->payload, &failures);
	check_failures(failures, a->count);
}

/* The failure count, or -1 when the rule raised an error. */
static int
validate(const AclRule *rule, const AclJson *payload)
{
	ValidateArgs a = {rule, payload, 0};

	if (!guarded(do_validate, &a))
	{
		/* the normaliser bounds the depth; the evaluator must accept it */
		CHECK(last_error != ACL_RULE_TOO_DEEP || strcmp(rule->path, "fuzz") == 0);
		return -1;
	}
	return a.count;
}

static AclJson *
parse_text(const char *text)
{
	const char *error = NULL;

	return acl_json_parse(text, strlen(text), &error);
}

static const char *const fixed_payloads[] = {
	"{}",
	"{\"a\": 1, \"b\": \"x\"}",
	"{\"a\": null, \"b\": null, \"title\": null, \"status\": null, \"date\": null, \"price\": null, "
	"\"tags\": null, \"value\": null, \"field\": null, \"f\": null}",
	"{\"status\": \"published\", \"title\": \"Hello World\", \"price\": 10, "
	"\"date\": \"2022-03-30T09:36:27Z\", \"tags\": [\"a\", \"MATCH-EXACT\"], "
	"\"author\": {\"name\": \"x\", \"role\": {\"name\": \"Editor\"}}, \"count\": \"5\", \"flag\": true}",
	"{\"value\": \"substring-MATCH-EXACT\", \"a\": 0, \"b\": 0, \"field\": \"2.0\", \"price\": -1, "
	"\"date\": \"2024-02-29\", \"time\": \"12:30:00\", \"links\": [1, 2, 3], \"f\": \"abc\"}",
	"{\"a\": \"\", \"b\": [], \"c\": {}, \"d\": [123, \"match\"], \"e\": \"2021-13-45\", "
	"\"f\": \"1e400\", \"g\": \"-0\", \"h\": \"  7  \", \"date\": \"2021-01-03T23:59:59.999-05:30\"}",
	NULL
};

/* Values each condition's field is set to in turn. */
static const char *const probe_values[] = {
	"null", "\"\"", "0", "1", "-1", "2.5", "\"2\"", "\"abc\"", "\"ABC-match-xyz\"", "true", "false",
	"[]", "[\"x\", 1]", "{}", "{\"name\": \"x\"}", "\"2022-03-30T09:36:27Z\"", "\"2024-01-01\"",
	"\"12:00\"", "1e308", "\"$NOW\"", NULL
};

static AclJson *
object_of(const char *key, const AclJson *value)
{
	AclJson    *o = palloc0(sizeof(AclJson));

	o->kind = ACL_JSON_OBJECT;
	o->count = 1;
	o->keys = palloc(sizeof(char *));
	o->items = palloc(sizeof(AclJson *));
	o->keys[0] = (char *) key;
	o->items[0] = (AclJson *) value;
	return o;
}

static AclRule *
with_op(const AclRule *rule, const char *op)
{
	AclRule    *copy = palloc(sizeof(AclRule));

	*copy = *rule;
	copy->op = (char *) op;
	return copy;
}

static bool
is_string_op(const char *op)
{
	return strstr(op, "contains") != NULL || strstr(op, "starts_with") != NULL ||
		strstr(op, "ends_with") != NULL;
}

/*
 * Metamorphic checks of one condition against {field: value}: pairs of
 * operators that are complements (exactly one holds) or exclusive (never
 * both hold).
 */
static void
check_condition(const AclRule *cond, const AclJson *value)
{
	static const char *const exact[][2] = {
		{"_eq", "_neq"}, {"_in", "_nin"}, {"_null", "_nnull"}, {"_empty", "_nempty"}, {NULL, NULL}
	};
	static const char *const exclusive[][2] = {
		{"_gt", "_lte"}, {"_gte", "_lt"}, {"_between", "_nbetween"},
		{"_contains", "_ncontains"}, {"_starts_with", "_nstarts_with"},
		{"_istarts_with", "_nistarts_with"}, {"_ends_with", "_nends_with"},
		{"_iends_with", "_niends_with"}, {NULL, NULL}
	};
	AclJson    *payload = object_of(cond->field, value);
	int			n = validate(cond, payload);

	CHECK(n >= -1 && n <= 1);
	if (strcmp(cond->op, "_submitted") == 0)
		CHECK(n == 0);
	/* absent keys pass everything but _submitted */
	if (n >= 0)
	{
		int			absent = validate(cond, object_of("\x01 no such key", value));

		CHECK(absent == (strcmp(cond->op, "_submitted") == 0 ? 1 : 0));
	}
	if (n < 0)
		return;
	for (int i = 0; exact[i][0]; i++)
		for (int side = 0; side < 2; side++)
			if (strcmp(cond->op, exact[i][side]) == 0)
			{
				int			m = validate(with_op(cond, exact[i][1 - side]), payload);

				CHECK(m >= 0 && m + n == 1);
			}
	for (int i = 0; exclusive[i][0]; i++)
		for (int side = 0; side < 2; side++)
			if (strcmp(cond->op, exclusive[i][side]) == 0)
			{
				int			m = validate(with_op(cond, exclusive[i][1 - side]), payload);

				CHECK(m >= 0);
				/*
				 * On strings, complements; a function's result (count() of
				 * an array is a number, of a string null) is no string.
				 */
				if (is_string_op(cond->op) && cond->value->kind == ACL_JSON_STRING &&
					cond->function == NULL &&
					(value->kind == ACL_JSON_STRING ||
					 (strstr(cond->op, "contains") && value->kind == ACL_JSON_ARRAY)))
					CHECK(m + n == 1);
				else if (!(is_string_op(cond->op) && cond->value->kind != ACL_JSON_STRING))
					CHECK(m + n >= 1);	/* never both hold */
			}
	/* a condition compared with its own value */
	if (value == cond->value && cond->function == NULL)
	{
		if (strcmp(cond->op, "_eq") == 0)
			CHECK(n == 0);
		if (strcmp(cond->op, "_neq") == 0)
			CHECK(n == 1);
	}
}

static void
exercise_validation(const AclRule *rule, const AclJson *self)
{
	Conditions conds = {{0}, 0};
	int			n;

	check_rule(rule, true, &conds, 0);

	for (int i = 0; fixed_payloads[i]; i++)
	{
		AclJson    *payload = parse_text(fixed_payloads[i]);

		CHECK(payload != NULL);
		n = validate(rule, payload);
		if (n >= 0)
		{
			/* AND [R, R] fails twice as often; OR [R, R] likewise or passes */
			AclRule		both = {0};
			AclRule    *children[2] = {(AclRule *) rule, (AclRule *) rule};
			int			m;

			both.kind = ACL_RULE_AND;
			both.path = "fuzz";
			both.nchildren = 2;
			both.children = children;
			m = validate(&both, payload);
			CHECK(m == 2 * n || (m == -1 && last_error == ACL_RULE_TOO_DEEP));
			both.kind = ACL_RULE_OR;
			m = validate(&both, payload);
			CHECK(m == 2 * n || (m == -1 && last_error == ACL_RULE_TOO_DEEP));
		}
	}
	if (self != NULL)
		(void) validate(rule, self);

	for (int c = 0; c < conds.count; c++)
	{
		const AclRule *cond = conds.items[c];

		for (int i = 0; probe_values[i]; i++)
			check_condition(cond, parse_text(probe_values[i]));
		/* the condition's own value, and each member of a list */
		check_condition(cond, cond->value);
		if (cond->value->kind == ACL_JSON_ARRAY)
			for (int i = 0; i < cond->value->count && i < 8; i++)
			{
				int			m = validate(cond, object_of(cond->field, cond->value->items[i]));

				if (cond->function == NULL && strcmp(cond->op, "_in") == 0)
					CHECK(m == 0);
				if (cond->function == NULL && strcmp(cond->op, "_nin") == 0)
					CHECK(m == 1);
			}
	}
}

/* ---- the stages of one input --------------------------------------------- */

typedef struct RuleArgs
{
	const AclJson *json;
	const char *what;
	AclRule    *rule;
} RuleArgs;

static void
do_normalise(void *arg)
{
	RuleArgs   *a = arg;

	a->rule = acl_rule_from_json(a->json, a->what);
}

static AclRule *
normalise(const AclJson *json, const char *what)
{
	RuleArgs	a = {json, what, NULL};

	if (!guarded(do_normalise, &a))
		return NULL;
	CHECK(a.rule != NULL);
	return a.rule;
}

typedef struct DynamicArgs
{
	const char *value;
} DynamicArgs;

static void
do_dynamic(void *arg)
{
	DynamicArgs *a = arg;
	AclDynamic	d;

	if (acl_parse_dynamic(a->value, &d, "fuzz"))
	{
		CHECK(d.variable != ACL_VAR_NONE);
		CHECK(acl_variable_name(d.variable)[0] == '$');
		for (int i = 0; i < d.npath; i++)
			CHECK(d.path[i][0] != '\0');
		if (d.now_offset)
			(void) strlen(d.now_offset);
	}
	else
		CHECK(d.variable == ACL_VAR_NONE);
}

/* Every string in the JSON goes through acl_parse_dynamic. */
static void
exercise_dynamic(const AclJson *json, int budget)
{
	if (json->kind == ACL_JSON_STRING)
	{
		DynamicArgs a = {json->text};

		(void) guarded(do_dynamic, &a);
	}
	else if (json->kind == ACL_JSON_ARRAY || json->kind == ACL_JSON_OBJECT)
		for (int i = 0; i < json->count && i < budget; i++)
			exercise_dynamic(json->items[i], budget / 2);
}

#ifdef ACL_FUZZ_SQL
/* acl_rule_to_sql over the fake schema; arg is the permissions rule. */
static void
fuzz_sql(void *arg)
{
	const AclRule *rule = arg;
	char	   *sql = acl_rule_to_sql(rule, &fake_schema, "articles", "\"t\"");

	CHECK(sql != NULL);
	(void) strlen(sql);
}
#endif

static void
exercise_json(const char *text, size_t len)
{
	const char *error = NULL;
	AclJson    *json = acl_json_parse(text, (int) len, &error);
	AclRule    *permissions;
	AclRule    *validation;

	if (json == NULL)
	{
		CHECK(error != NULL);
		return;
	}
	check_json(json, 0);

	/* printing and re-reading is stable */
	{
		StringInfoData once;
		StringInfoData twice;
		AclJson    *again;

		initStringInfo(&once);
		acl_json_append(&once, json);
		again = acl_json_parse(once.data, once.len, &error);
		CHECK(again != NULL);
		initStringInfo(&twice);
		acl_json_append(&twice, again);
		CHECK(once.len == twice.len && memcmp(once.data, twice.data, once.len) == 0);
	}
	(void) acl_json_object_get(json, "_and");
	(void) acl_json_object_get(json, "");

	exercise_dynamic(json, 64);

	permissions = normalise(json, "permissions");
	if (permissions != NULL)
		check_rule(permissions, false, NULL, 0);

	/* ---- acl_rule_to_sql: the lead adds src/rule_sql.c here ----------------
	 * Build with -DACL_FUZZ_SQL and src/rule_sql.c (see build.sh).  The fake
	 * schema above has a column of every AclFieldType on "articles", a
	 * many-to-one "author" (-> users) and a one-to-many "comments".
	 */
#ifdef ACL_FUZZ_SQL
	if (permissions != NULL)
	{
		fake_postgis = (len % 2) == 0;
		(void) guarded(fuzz_sql, permissions);
	}
#endif

	validation = normalise(json, "validation");
	if (validation != NULL)
		exercise_validation(validation, json->kind == ACL_JSON_OBJECT ? json : NULL);
}


static void
exercise_pair(const char *data, size_t size)
{
	const char *sep;
	const char *rule_text;
	size_t		rule_len;
	const char *error = NULL;
	AclJson    *rule_json;
	AclJson    *payload;
	AclRule    *rule;

	if (size < 2)
		return;
	sep = memchr(data + 1, data[0], size - 1);
	if (sep == NULL)
		return;
	rule_text = data + 1;
	rule_len = sep - rule_text;
	rule_json = acl_json_parse(rule_text, (int) rule_len, &error);
	if (rule_json == NULL)
		return;
	payload = acl_json_parse(sep + 1, (int) (size - (sep + 1 - data)), &error);
	if (payload == NULL)
		return;
	check_json(payload, 0);
	rule = normalise(rule_json, "validation");
	if (rule == NULL)
		return;
	check_rule(rule, true, NULL, 0);
	(void) validate(rule, payload);
	/* nested objects of the payload as payloads of their own */
	if (payload->kind == ACL_JSON_OBJECT)
		for (int i = 0; i < payload->count && i < 16; i++)
			if (payload->items[i]->kind == ACL_JSON_OBJECT)
				(void) validate(rule, payload->items[i]);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so that reading past the end trips ASan */
	char	   *copy = malloc(size ? size : 1);

	if (size > 1 << 20)
	{
		free(copy);
		return 0;
	}
	memcpy(copy, data, size);
	error_jump = NULL;
	error_count = 0;

	exercise_json(copy, size);
	exercise_pair(copy, size);

	CHECK(error_jump == NULL);
	arena_reset();
	free(copy);
	return 0;
}
