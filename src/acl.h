/*-------------------------------------------------------------------------
 *
 * acl.h
 *	  Declarations shared by the acl extension's C files.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ACL_EXTENSION_H
#define ACL_EXTENSION_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "nodes/pathnodes.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

/* acl.c: settings */
extern char *acl_user_id_setting;
extern const pg_uuid_t *acl_user_id_parsed;
extern char *acl_token_setting;
extern char *acl_jwt_secret;
extern char *acl_jwt_user_claim;

extern bool acl_parse_uuid(const char *text, pg_uuid_t *out);

/* catalog.c: access to the acl.* tables */
typedef struct AclCatalogScope
{
	Oid			saved_userid;
	int			saved_sec_context;
	int			saved_nestlevel;
} AclCatalogScope;

extern void acl_catalog_enter(AclCatalogScope *scope);
extern void acl_catalog_leave(AclCatalogScope *scope);
extern Oid	acl_catalog_relid(const char *relname);
extern bool acl_catalog_row_by_uuid(const char *table, const char *key_column, const pg_uuid_t *key,
									int ncolumns, const char *const *columns, const Oid *types,
									Datum *values, bool *isnull);
extern int	acl_catalog_uuid_values(const char *table, const char *column, pg_uuid_t *out, int max);
extern uint64 acl_catalog_generation;

/*
 * How long data read from acl.* may be reused.  Data read under a snapshot
 * that may predate an invalidation already received is only good for the
 * statement (or, under REPEATABLE READ, the transaction) that read it.
 */
typedef struct AclCacheScope
{
	uint64		generation;
	bool		global;
	uint32		lxid;			/* LocalTransactionId */
	TimestampTz statement_start;	/* 0: the whole transaction */
} AclCacheScope;

extern AclCacheScope acl_cache_scope_now(void);
extern bool acl_cache_scope_valid(const AclCacheScope *scope);
extern void acl_catalog_register_callbacks(void);
extern MemoryContext acl_cache_context(void);

/* token.c: proof of identity */
extern pg_uuid_t acl_token_user(const char *token);
extern int	acl_share_session_ttl;

/* A live share session: the share link's row (spec §1.6, §8). */
typedef struct AclShareSession
{
	pg_uuid_t	share;
	Oid			collection;
	char	   *item;
	bool		has_role;
	pg_uuid_t	role;
	pg_uuid_t	creator;
	bool		start_null;
	TimestampTz start;
	bool		end_null;
	TimestampTz end;
	TimestampTz expires;		/* of the session */
} AclShareSession;

extern bool acl_is_share_token(const char *token);
extern const AclShareSession *acl_share_session(const char *token);

/* access.c: the effective access of a principal */
typedef struct AclAccess
{
	bool		anonymous;		/* the public principal */
	bool		role_only;		/* a role with no user: a share's role side */
	pg_uuid_t	user_id;
	bool		user_exists;
	char		status[17];
	bool		has_role;
	pg_uuid_t	role_id;
	int			nroles;			/* role tree, root first */
	pg_uuid_t  *roles;
	int			npolicies;		/* effective policies, priority order */
	pg_uuid_t  *policies;
	bool		admin;
	bool		app;
} AclAccess;

extern const AclAccess *acl_access_for(const pg_uuid_t *user_id);
extern bool acl_access_holds(const AclAccess *access, const pg_uuid_t *policy);
extern bool acl_uuid_equal(const pg_uuid_t *a, const pg_uuid_t *b);
extern void acl_load_role_access(const pg_uuid_t *role_id, AclAccess *out, MemoryContext target);
extern void acl_copy_access(const AclAccess *access, AclAccess *out, MemoryContext target);

/* SPI plans kept for the life of the backend, and uuid columns of results */
extern void acl_spi_select_kept(SPIPlanPtr *slot, const char *sql, int nargs, Oid *argtypes,
								Datum *args, const char *nulls, long limit);
extern pg_uuid_t acl_spi_uuid(HeapTuple tuple, TupleDesc desc, int attno, bool *isnull);

/* compile.c: the rule language inside the server */
struct AclJson;
extern struct AclJson *acl_json_from_jsonb(Jsonb *jsonb);
extern Datum acl_compile(PG_FUNCTION_ARGS);
struct AclRule;
extern struct AclRule *acl_validation_rule(Jsonb *validation);
extern List *acl_validation_fields(const struct AclRule *rule);
extern void acl_resolve_rule(struct AclRule *rule);
extern struct AclJson *acl_json_copy(const struct AclJson *src);
extern struct AclRule *acl_rule_copy(const struct AclRule *src);
extern void acl_check_validation_rule(struct AclRule *rule, struct AclJson *payload,
									  const char *collection, const char *permission);

/* enforce.c: masks and write checks through the planner and executor */
extern void acl_enforce_init(void);
extern Oid	acl_function(const char *name, int nargs, Oid *argtypes);
extern bool acl_relation_is_managed(Relation rel);
typedef struct AclOpenGates
{
	int			ngates;
	bool	   *open;			/* per gate */
	bool		covered;		/* every gate of some "cover" token is open */
} AclOpenGates;
extern AclOpenGates acl_open_gates(ArrayType *array, Oid elemtype);
extern bool acl_branch_runs(int32 branch, const AclOpenGates *gates);
extern Node *acl_selected_expr(Node *node);
extern Expr *acl_initplan_of(Expr *expr);

/* plan_cache.c: reuse of unprepared statements' plans */
extern int	acl_plan_cache_kb;
extern void acl_plan_cache_init(void);
extern PlannedStmt *acl_plan_cache_lookup(Query *parse, const char *query_string,
										  int cursor_options, ParamListInfo bound_params);
typedef struct AclPlanTicket
{
	uint64		catalog_generation; /* 0: not to be kept */
	uint64		invalidations;
} AclPlanTicket;
extern AclPlanTicket acl_plan_cache_ticket(void);
extern void acl_plan_cache_store(Query *parse, const char *query_string, int cursor_options,
								 ParamListInfo bound_params, const AclPlanTicket *ticket,
								 PlannedStmt *plan);

/* coverage.c: proofs that rules together match every row */
extern List *acl_rule_bands(Expr *rule, Index varno);
extern bool acl_bands_cover(List *bands, Oid relid);

/* branch_scan.c: run only the branch of a managed table's read that is open */
#define ACL_BRANCH_ALIAS "acl_arm"
#define ACL_MAX_BRANCHES 16		/* policy groups per table reference */
extern void acl_branch_scan_init(void);
extern void acl_defer_branch_initplans(PlannedStmt *stmt);
typedef bool (*AclPlanVisitor) (Plan *plan, void *context);
extern void acl_walk_plan(Plan *plan, AclPlanVisitor visit, void *context);
extern Bitmapset *acl_branch_initplan_ids(PlannedStmt *stmt);

/* gates.c: the policies' gates, planned cheaply and read once per execution */
extern bool acl_gates_to_once_calls(Query *query);
extern void acl_once_calls_to_initplans(PlannedStmt *stmt);
extern bool acl_is_settled_call(Expr *expr);
extern Param *acl_exec_param(int paramid, Oid type, int32 typmod, Oid collation);
extern void acl_order_permission_arms(PlannerInfo *root, RelOptInfo *rel, RangeTblEntry *rte);
extern void acl_require_preloaded(void);
extern bool acl_table_grants(Oid relid, char action, const AclAccess *access, const char *column);

/* share.c: what a share session reads */
extern const AclAccess *acl_share_side_access(const char *side);
extern bool acl_share_reads_relation(Oid relid);

/* dynamic.c: run-time values of dynamic variables */
extern struct AclJson *acl_resolve_dynamic(struct AclJson *value, const char *path);

/* schema.c: the live schema for the rule compiler */
struct AclSchema;
struct AclDynamic;
extern const struct AclSchema *acl_backend_schema(void);
extern char *acl_dynamic_query(const struct AclDynamic *dyn);

/* identity.c: who the end user of this statement is */
typedef struct AclPrincipal
{
	bool		anonymous;
	pg_uuid_t	user_id;
	const char *source;			/* "acl.user_id", "acl.token" or NULL */
	const AclShareSession *share;	/* a share session (anonymous otherwise) */
} AclPrincipal;

extern AclPrincipal acl_current_principal(void);
extern bool acl_principal_holds(bool share_session, const AclAccess *access,
								const pg_uuid_t *policy, const char *action);
extern const AclAccess *acl_current_access(void);
extern bool acl_holds_policy_for(const pg_uuid_t *policy, const char *action);
extern Datum acl_evaluate_once(FunctionCallInfo fcinfo, PGFunction gate);
extern char *acl_uuid_text(const pg_uuid_t *uuid);
extern Datum acl_uuid_array(const pg_uuid_t *items, int n);

#endif							/* ACL_EXTENSION_H */
