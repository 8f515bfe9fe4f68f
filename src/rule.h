/*-------------------------------------------------------------------------
 *
 * rule.h
 *	  The Directus filter language: a JSON tree, the normalised rule tree,
 *	  the SQL compiler's view of the schema, and the validation evaluator.
 *
 * Everything declared here is frontend-safe (palloc, StringInfo and
 * common/jsonapi only), so the same code runs inside the server and in the
 * fuzz target under test/fuzz.  Errors go through acl_rule_error(), which
 * the server implements with ereport and the fuzz target with longjmp.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ACL_RULE_H
#define ACL_RULE_H

#include "lib/stringinfo.h"

/* ---- JSON ---------------------------------------------------------------- */

typedef enum AclJsonKind
{
	ACL_JSON_NULL,
	ACL_JSON_BOOL,
	ACL_JSON_NUMBER,
	ACL_JSON_STRING,
	ACL_JSON_ARRAY,
	ACL_JSON_OBJECT
} AclJsonKind;

typedef struct AclJson
{
	AclJsonKind kind;
	char	   *text;			/* scalars: string value, number literal,
								 * "true"/"false" */
	int			count;			/* arrays and objects */
	char	  **keys;			/* objects: member names, in document order */
	struct AclJson **items;		/* arrays: elements; objects: member values */
} AclJson;

/* Builds a tree from a stream of values and container ends. */
typedef struct AclJsonBuilder
{
	AclJson    *root;
	AclJson   **stack;			/* the open containers, innermost last */
	int			depth;
	int			capacity;
	char	   *pending_key;	/* the member name of the next value */
} AclJsonBuilder;

extern void acl_json_builder_add(AclJsonBuilder *b, AclJson *node);
extern void acl_json_builder_end(AclJsonBuilder *b);

/* NULL (with *error set) when the text is not one JSON value. */
extern AclJson *acl_json_parse(const char *text, int len, const char **error);
extern AclJson *acl_json_new(AclJsonKind kind, char *text);
extern AclJson *acl_json_object_get(const AclJson *object, const char *key);
extern void acl_json_object_set(AclJson *object, const char *key, AclJson *value);
extern void acl_json_append(StringInfo out, const AclJson *value);

/* ---- errors -------------------------------------------------------------- */

typedef enum AclRuleErrorKind
{
	ACL_RULE_BAD_RULE,			/* 22023: malformed rule or unknown operator */
	ACL_RULE_BAD_VALUE,			/* 22P02: a value the column type rejects */
	ACL_RULE_NO_FIELD,			/* 42703: a field the table lacks */
	ACL_RULE_NOT_SUPPORTED,		/* 0A000: needs something not installed */
	ACL_RULE_TOO_DEEP			/* 54001: nesting past the limit */
} AclRuleErrorKind;

/*
 * path is the JSON path of the offending node, e.g.
 * "permissions._and[1].author.name._eqq".  detail and hint may be NULL.
 */
extern void acl_rule_error(AclRuleErrorKind kind, const char *path,
						   const char *message, const char *detail,
						   const char *hint) pg_attribute_noreturn();

/* Guards every recursion: the server checks its stack, fuzzing a depth. */
extern void acl_rule_check_depth(int depth, const char *path);

/* ---- dynamic variables (spec §7) ----------------------------------------- */

typedef enum AclVariable
{
	ACL_VAR_NONE,
	ACL_VAR_NOW,
	ACL_VAR_CURRENT_USER,
	ACL_VAR_CURRENT_ROLE,
	ACL_VAR_CURRENT_ROLES,
	ACL_VAR_CURRENT_POLICIES
} AclVariable;

typedef struct AclDynamic
{
	AclVariable variable;
	int			npath;			/* $CURRENT_USER.a.b: {"a", "b"} */
	char	  **path;
	char	   *now_offset;		/* $NOW(-1 day): a PostgreSQL interval literal,
								 * NULL for plain $NOW */
} AclDynamic;

/*
 * Recognises a value that starts with a variable prefix.  Returns false for
 * ordinary strings; raises an error for a malformed variable (an unknown
 * unit in $NOW(...), an empty path segment): Directus drops such a
 * condition silently, acl refuses the rule.
 */
extern bool acl_parse_dynamic(const char *value, AclDynamic *out, const char *path);
/* The variable's name as written, e.g. "$CURRENT_USER". */
extern const char *acl_variable_name(AclVariable variable);

/* ---- the normalised rule (spec §6.1) ------------------------------------- */

typedef enum AclRuleKind
{
	ACL_RULE_AND,				/* children; empty means true */
	ACL_RULE_OR,				/* children; empty means false */
	ACL_RULE_CONDITION,			/* field op value */
	ACL_RULE_RELATION			/* a path through a relation */
} AclRuleKind;

typedef enum AclQuantifier
{
	ACL_SOME_IMPLICIT,			/* {rel: {...}}: m2o "is", o2m "some" */
	ACL_SOME,					/* {rel: {_some: {...}}} */
	ACL_NONE					/* {rel: {_none: {...}}} */
} AclQuantifier;

typedef struct AclRule
{
	AclRuleKind kind;
	char	   *path;			/* JSON path, for errors */
	/* AND / OR */
	int			nchildren;
	struct AclRule **children;
	/* CONDITION and RELATION */
	char	   *field;			/* column, relation, or function argument */
	char	   *function;		/* year, month, ..., count; NULL for none */
	/* CONDITION */
	char	   *op;				/* "_eq", "_in", ... */
	AclJson    *value;			/* normalised: coerced scalars, split lists */
	/* RELATION */
	AclQuantifier quantifier;
	struct AclRule *inner;
} AclRule;

/*
 * Parses and normalises a rule written as JSON text.  what names the rule
 * in paths ("permissions" or "validation").  A NULL or {} rule yields an
 * empty AND (every row).
 */
extern AclRule *acl_rule_from_json(const AclJson *json, const char *what);
extern bool acl_operator_known(const char *op);
extern const char *acl_operator_list(void);

/* ---- the schema, as the compiler sees it --------------------------------- */

/* Field types, as Directus groups them for operators (spec §6.2). */
typedef enum AclFieldType
{
	ACL_FT_STRING,
	ACL_FT_UUID,
	ACL_FT_BOOLEAN,
	ACL_FT_NUMBER,
	ACL_FT_DATE,
	ACL_FT_TIME,
	ACL_FT_DATETIME,
	ACL_FT_JSON,
	ACL_FT_GEOMETRY,
	ACL_FT_ARRAY,
	ACL_FT_BINARY,
	ACL_FT_OTHER
} AclFieldType;

typedef struct AclColumn
{
	const char *name;
	const char *sql_type;		/* format_type() of the column, for casts */
	const char *element_type;	/* arrays: the element's format_type() */
	AclFieldType type;
	bool		is_enum;
	bool		not_null;		/* lets "_eq $VARIABLE" drop its IS NULL arm */
} AclColumn;

typedef enum AclRelationKind
{
	ACL_REL_MANY_TO_ONE,		/* this table's column references another's key */
	ACL_REL_ONE_TO_MANY			/* another table's column references this key */
} AclRelationKind;

typedef struct AclRelation
{
	AclRelationKind kind;
	const char *table;			/* the related table, quoted and qualified */
	const char *table_key;		/* opaque handle for further lookups */
	const char *local_column;	/* column of this table in the join */
	const char *remote_column;	/* column of the related table in the join */
} AclRelation;

typedef struct AclSchema
{
	void	   *arg;
	/* Looks up a column of table (a handle from the caller or a relation). */
	bool		(*column) (void *arg, const char *table_key, const char *name,
						   AclColumn *out);
	/*
	 * Looks up a relation named name on table: a many-to-one through a
	 * single-column foreign key column, or a one-to-many named after the
	 * referencing table (or "table.column" when several keys qualify).
	 * Reports ambiguity and composite keys itself, through acl_rule_error.
	 */
	bool		(*relation) (void *arg, const char *table_key, const char *name,
							 const char *path, AclRelation *out);
	/*
	 * Whether text is a valid input for the SQL type (cast-checks values);
	 * the pseudo-type "geojson" asks whether PostGIS can read a shape.
	 */
	bool		(*accepts) (void *arg, const char *sql_type, const char *text);
	/* PostGIS's schema, quoted, or NULL when it is not installed. */
	const char *(*postgis_schema) (void *arg);
	/* The type of a dynamic variable path, e.g. $CURRENT_USER.department. */
	bool		(*variable_type) (void *arg, const AclDynamic *dynamic,
								  const char *path, AclColumn *out);
} AclSchema;

/* ---- SQL ----------------------------------------------------------------- */

/*
 * Compiles a normalised item rule into a boolean SQL expression over
 * table_key, whose columns are qualified with outer_alias (already quoted).
 * Identity appears only as (SELECT acl.fn(...)) so plans stay user-neutral.
 */
extern char *acl_rule_to_sql(const AclRule *rule, const AclSchema *schema,
							 const char *table_key, const char *outer_alias);
extern char *acl_rule_to_sql_for(const AclRule *rule, const AclSchema *schema,
								 const char *table_key, const char *outer_alias,
								 const char *share_side);

/* ---- validation (spec §5) ------------------------------------------------ */

typedef struct AclValidationFailure
{
	char	   *field;			/* first path segment */
	char	   *type;			/* Directus error type: eq, gt, required, ... */
	char	   *path;			/* JSON path of the rule node */
	char	   *expected;		/* JSON text of the rule's value, or NULL */
	char	   *message;		/* "Value has to be greater than \"0\"." */
} AclValidationFailure;

/*
 * Evaluates a validation rule against a payload object (written columns
 * plus presets) with Directus's payload semantics.  Returns the number of
 * failures and sets *failures; zero means the payload passes.  Dynamic
 * variables must already be resolved to values in the rule.
 */
extern int	acl_validate(const AclRule *rule, const AclJson *payload,
						 AclValidationFailure **failures);

#endif							/* ACL_RULE_H */
