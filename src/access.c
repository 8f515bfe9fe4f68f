/*-------------------------------------------------------------------------
 *
 * access.c
 *	  What a principal may reach: its role tree, its effective policies in
 *	  priority order, and the admin/app flags (spec §2.2-2.6), with a
 *	  per-backend cache.
 *
 * Selection follows Directus's fetch-policies: the policies attached to the
 * user's role tree and to the user; the public policies only for anonymous
 * callers and role-less users; a policy whose ip_access list does not match
 * the client address is dropped.  The flags are computed from role and user
 * attachments only, so the public principal is never admin.
 *
 * Deviation, fail closed: Directus keeps IP-restricted policies for the
 * flags when the client address is unknown (its internal calls).  Here an
 * unknown address means a Unix-socket client, an ordinary client, so a
 * restricted policy counts for nothing.
 *
 * The client address is fixed for the life of a backend, so cache entries
 * are keyed by the user alone and dropped whenever acl.* changes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "acl.h"

/*
 * Past this many users a backend starts its cache afresh.  A pooled
 * connection serves thousands of end users in turn, and an entry is about
 * 200 bytes, so this bounds the cache near 3 MB; with 4096 a pool of 9000
 * users missed three lookups in four.
 */
#define ACL_CACHE_MAX_ENTRIES 16384

/*
 * An entry of access_cache (key: a user) or of role_cache (key: a role,
 * access: what a user of that role with no attachments of their own
 * reaches: one entry serves them all, so a user the backend has not seen
 * costs one lookup, not three).
 */
typedef struct AclCacheEntry
{
	pg_uuid_t	key;
	AclCacheScope scope;
	AclAccess	access;
} AclCacheEntry;

/*
 * Past this many users with attachments of their own, attached_users is
 * not kept and each new user costs a second probe instead.
 */
#define ACL_ATTACHED_USERS_MAX 4096

static HTAB *access_cache = NULL;
static HTAB *role_cache = NULL;
static AclCacheEntry *anonymous_entry = NULL;	/* the public principal */
static AclCacheEntry *roleless_entry = NULL;	/* role-less users */
static uint64 cache_generation = 0;
static int	cache_builds = 0;	/* bounds what rebuilt entries leave behind */

/*
 * The users acl.access attaches policies to directly (keys only), read
 * whole, so that a new end user, who usually has none, costs one probe of
 * acl.users.  NULL with attached_scope valid: too many; probe each user.
 */
static HTAB *attached_users = NULL;
static AclCacheScope attached_scope;

static SPIPlanPtr tree_plan = NULL;
static SPIPlanPtr attach_plan = NULL;

/*
 * Runs a read-only query whose plan is prepared once and kept for the life
 * of the backend; the rows are in SPI_tuptable.  The plan is generic: these
 * run for every new end user, and the default (a custom plan while it
 * looks cheaper) would plan them again at each call.
 */
void
acl_spi_select_kept(SPIPlanPtr *slot, const char *sql, int nargs, Oid *argtypes,
					Datum *args, const char *nulls, long limit)
{
	int			ret;

	if (*slot == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		*slot = plan;
	}
	ret = SPI_execute_plan(*slot, args, nulls, true, limit);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "acl catalog lookup failed: %s", SPI_result_code_string(ret));
}

pg_uuid_t
acl_spi_uuid(HeapTuple tuple, TupleDesc desc, int attno, bool *isnull)
{
	pg_uuid_t	result;
	Datum		d = SPI_getbinval(tuple, desc, attno, isnull);

	if (*isnull)
		memset(&result, 0, sizeof(result));
	else
		memcpy(&result, DatumGetUUIDP(d), sizeof(result));
	return result;
}

bool
acl_uuid_equal(const pg_uuid_t *a, const pg_uuid_t *b)
{
	return memcmp(a->data, b->data, UUID_LEN) == 0;
}

bool
acl_access_holds(const AclAccess *access, const pg_uuid_t *policy)
{
	for (int i = 0; i < access->npolicies; i++)
		if (acl_uuid_equal(&access->policies[i], policy))
			return true;
	return false;
}

/* Role tree upward from the user's role (spec §2.2), stored root first. */
static void
load_role_tree(AclAccess *access, MemoryContext target)
{
	Oid			argtypes[1] = {UUIDOID};
	Datum		args[1];

	args[0] = UUIDPGetDatum(&access->role_id);
	acl_spi_select_kept(&tree_plan,
						"WITH RECURSIVE tree(id, parent, depth, path, cycle) AS ("
						"  SELECT r.id, r.parent, 1, ARRAY[r.id], false"
						"    FROM acl.roles r WHERE r.id = $1"
						"  UNION ALL"
						"  SELECT r.id, r.parent, t.depth + 1, t.path || r.id, r.id = ANY (t.path)"
						"    FROM acl.roles r JOIN tree t ON r.id = t.parent"
						"   WHERE NOT t.cycle)"
						" SELECT id, cycle FROM tree ORDER BY depth DESC",
						1, argtypes, args, NULL, 0);

	access->nroles = 0;
	access->roles = MemoryContextAlloc(target, sizeof(pg_uuid_t) * Max(SPI_processed, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		bool		isnull;
		pg_uuid_t	id = acl_spi_uuid(tuple, SPI_tuptable->tupdesc, 1, &isnull);

		if (DatumGetBool(SPI_getbinval(tuple, SPI_tuptable->tupdesc, 2, &isnull)))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("role tree of role %s contains a cycle",
							acl_uuid_text(&access->role_id)),
					 errdetail("Role %s is its own ancestor.", acl_uuid_text(&id)),
					 errhint("Set acl.roles.parent so that the roles form a tree.")));
		access->roles[access->nroles++] = id;
	}
}

typedef struct Attachment
{
	pg_uuid_t	policy;
	int			rank;			/* position of its role in the tree; user and
								 * public rows come last */
	int			seq;			/* order by access.sort, for a stable sort */
	bool		ip_ok;
	bool		counts_for_flags;
	bool		admin;
	bool		app;
} Attachment;

static int
attachment_cmp(const void *a, const void *b)
{
	const Attachment *x = a;
	const Attachment *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/* Effective policies and flags (spec §2.3-2.6). */
static void
load_policies(AclAccess *access, bool own_rows, MemoryContext target)
{
	Oid			argtypes[2] = {UUIDOID, UUIDARRAYOID};
	Datum		args[2];
	char		nulls[2] = {' ', ' '};
	int			n;
	Attachment *rows;

	if (!own_rows)
		nulls[0] = 'n';
	else
		args[0] = UUIDPGetDatum(&access->user_id);
	args[1] = acl_uuid_array(access->roles, access->nroles);

	/*
	 * _ip_allowed is a SQL function with its own search_path, so every call
	 * parses and plans it: called only for policies that have a list.
	 */
	acl_spi_select_kept(&attach_plan,
						"SELECT a.policy, a.role, a.\"user\" IS NOT NULL,"
						"       CASE WHEN pg_catalog.cardinality(p.ip_access) > 0"
						"            THEN acl._ip_allowed(p.ip_access, pg_catalog.inet_client_addr())"
						"            ELSE true END,"
						"       p.admin_access, p.app_access"
						"  FROM acl.access a JOIN acl.policies p ON p.id = a.policy"
						" WHERE a.\"user\" = $1"
						"    OR CASE WHEN cardinality($2) = 0"
						"            THEN a.role IS NULL AND a.\"user\" IS NULL"
						"            ELSE a.role = ANY ($2) END"
						" ORDER BY a.sort NULLS LAST, a.id",
						2, argtypes, args, nulls, 0);

	n = (int) SPI_processed;
	rows = palloc0(sizeof(Attachment) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		bool		role_isnull;
		bool		is_user_row;
		pg_uuid_t	role;

		rows[i].policy = acl_spi_uuid(tuple, desc, 1, &isnull);
		role = acl_spi_uuid(tuple, desc, 2, &role_isnull);
		is_user_row = DatumGetBool(SPI_getbinval(tuple, desc, 3, &isnull));
		rows[i].ip_ok = DatumGetBool(SPI_getbinval(tuple, desc, 4, &isnull)) && !isnull;
		rows[i].admin = DatumGetBool(SPI_getbinval(tuple, desc, 5, &isnull));
		rows[i].app = DatumGetBool(SPI_getbinval(tuple, desc, 6, &isnull));
		rows[i].seq = i;
		rows[i].rank = access->nroles;
		for (int r = 0; !role_isnull && r < access->nroles; r++)
			if (acl_uuid_equal(&role, &access->roles[r]))
				rows[i].rank = r;
		/* Public attachments never make anyone admin (spec §2.6). */
		rows[i].counts_for_flags = !access->anonymous && (is_user_row || !role_isnull);
	}
	qsort(rows, n, sizeof(Attachment), attachment_cmp);

	access->npolicies = 0;
	access->policies = MemoryContextAlloc(target, sizeof(pg_uuid_t) * Max(n, 1));
	access->admin = access->app = false;
	for (int i = 0; i < n; i++)
	{
		bool		seen = false;

		if (!rows[i].ip_ok)
			continue;
		if (rows[i].counts_for_flags)
		{
			access->admin |= rows[i].admin;
			access->app |= rows[i].app || rows[i].admin;
		}
		/* A policy reached twice keeps its first, highest-priority place. */
		for (int j = 0; j < access->npolicies && !seen; j++)
			seen = acl_uuid_equal(&access->policies[j], &rows[i].policy);
		if (!seen)
			access->policies[access->npolicies++] = rows[i].policy;
	}
	pfree(rows);
}

/*
 * Role tree, policies and flags of access, whose principal fields are set;
 * as_user: of an existing user, whose own attachments count when own_rows.
 */
static void
load_reach(AclAccess *access, bool as_user, bool own_rows, MemoryContext target)
{
	access->nroles = 0;
	access->roles = MemoryContextAlloc(target, sizeof(pg_uuid_t));
	if (access->has_role)
		load_role_tree(access, target);

	if (access->anonymous || as_user || access->has_role)
		load_policies(access, own_rows, target);
	else
	{
		access->npolicies = 0;
		access->policies = MemoryContextAlloc(target, sizeof(pg_uuid_t));
		access->admin = access->app = false;
	}
}

/*
 * The entry of key in table, or for NULL the single keyless one; a new
 * entry has generation 0, which no valid scope has.
 */
static AclCacheEntry *
cache_entry(HTAB *table, AclCacheEntry **keyless, const pg_uuid_t *key)
{
	AclCacheEntry *entry;
	bool		found;

	if (key != NULL)
	{
		entry = hash_search(table, key, HASH_ENTER, &found);
		if (!found)
			entry->scope.generation = 0;
		return entry;
	}
	if (*keyless == NULL)
		*keyless = MemoryContextAllocZero(acl_cache_context(), sizeof(AclCacheEntry));
	return *keyless;
}

/* SPI as the catalog's owner, for the lookups that are queries. */
static void
catalog_spi_begin(AclCatalogScope *scope)
{
	acl_catalog_enter(scope);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

static void
catalog_spi_end(AclCatalogScope *scope)
{
	SPI_finish();
	acl_catalog_leave(scope);
}

/*
 * The reach of a role (NULL: of role-less users) for users with no
 * attachments of their own, from role_cache.  The arrays are never freed
 * before the cache context is reset, so users' entries may share them.
 */
static const AclAccess *
role_reach(const pg_uuid_t *role_id)
{
	AclCacheEntry *entry = cache_entry(role_cache, &roleless_entry, role_id);
	AclCacheScope scope;
	AclCatalogScope catalog;

	if (acl_cache_scope_valid(&entry->scope))
		return &entry->access;

	scope = acl_cache_scope_now();
	entry->scope.generation = 0;	/* unusable should the build fail */
	memset(&entry->access, 0, sizeof(AclAccess));
	entry->access.has_role = (role_id != NULL);
	if (role_id != NULL)
		entry->access.role_id = *role_id;
	/* A user of this role with no attachments: only role rows (or public ones) match. */
	catalog_spi_begin(&catalog);
	load_reach(&entry->access, true, false, acl_cache_context());
	catalog_spi_end(&catalog);
	entry->scope = scope;
	cache_builds++;
	return &entry->access;
}

static bool
user_has_attachments(const pg_uuid_t *user_id)
{
	if (!acl_cache_scope_valid(&attached_scope))
	{
		AclCacheScope scope = acl_cache_scope_now();
		pg_uuid_t  *users = palloc(sizeof(pg_uuid_t) * ACL_ATTACHED_USERS_MAX);
		int			n = acl_catalog_uuid_values("access", "user", users, ACL_ATTACHED_USERS_MAX);

		if (attached_users != NULL)
			hash_destroy(attached_users);
		attached_users = NULL;
		if (n >= 0)
		{
			HASHCTL		ctl;

			ctl.keysize = sizeof(pg_uuid_t);
			ctl.entrysize = sizeof(pg_uuid_t);
			ctl.hcxt = acl_cache_context();
			attached_users = hash_create("acl users with attachments", Max(n, 16), &ctl,
										 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
			for (int i = 0; i < n; i++)
				(void) hash_search(attached_users, &users[i], HASH_ENTER, NULL);
		}
		pfree(users);
		attached_scope = scope;
	}
	if (attached_users == NULL)
		return acl_catalog_row_by_uuid("access", "user", user_id, 0, NULL, NULL, NULL, NULL);
	return hash_search(attached_users, user_id, HASH_FIND, NULL) != NULL;
}

/*
 * The user's row: status and role; and whether acl.access attaches
 * policies to the user directly.  False if there is no such user.  Index
 * probes, not SPI: a pooled backend does this for every end user it has
 * not seen, and most of them share their role's cached reach.
 */
static bool
read_user(AclAccess *access, bool *own_attachments)
{
	static const char *const columns[] = {"status", "role"};
	static const Oid types[] = {VARCHAROID, UUIDOID};
	Datum		values[2];
	bool		isnull[2];

	if (!acl_catalog_row_by_uuid("users", "id", &access->user_id,
								 2, columns, types, values, isnull))
		return false;
	if (isnull[0])
		access->status[0] = '\0';
	else
		text_to_cstring_buffer(DatumGetTextPP(values[0]), access->status, sizeof(access->status));
	access->has_role = !isnull[1];
	if (!isnull[1])
		access->role_id = *DatumGetUUIDP(values[1]);
	*own_attachments = user_has_attachments(&access->user_id);
	return true;
}

static void
load_access(AclAccess *access, MemoryContext target)
{
	bool		own_attachments = true;

	access->user_exists = false;
	access->has_role = access->role_only;
	access->status[0] = '\0';
	if (!access->anonymous && !access->role_only)
		access->user_exists = read_user(access, &own_attachments);

	if (access->user_exists && !own_attachments && target == acl_cache_context())
	{
		const AclAccess *reach = role_reach(access->has_role ? &access->role_id : NULL);

		access->nroles = reach->nroles;
		access->roles = reach->roles;
		access->npolicies = reach->npolicies;
		access->policies = reach->policies;
		access->admin = reach->admin;
		access->app = reach->app;
	}
	else
	{
		AclCatalogScope catalog;

		catalog_spi_begin(&catalog);
		load_reach(access, access->user_exists, access->user_exists, target);
		catalog_spi_end(&catalog);
	}
}

static void
reset_cache_if_stale(void)
{
	HASHCTL		ctl;
	MemoryContext cxt = acl_cache_context();

	if (access_cache != NULL && cache_generation == acl_catalog_generation &&
		cache_builds < ACL_CACHE_MAX_ENTRIES)
		return;

	MemoryContextReset(cxt);
	anonymous_entry = NULL;
	roleless_entry = NULL;
	attached_users = NULL;
	attached_scope.generation = 0;
	ctl.keysize = sizeof(pg_uuid_t);
	ctl.entrysize = sizeof(AclCacheEntry);
	ctl.hcxt = cxt;
	access_cache = hash_create("acl access cache", 64, &ctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	role_cache = hash_create("acl role cache", 16, &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	cache_generation = acl_catalog_generation;
	cache_builds = 0;
}

/*
 * The access of a user (NULL: the public principal).  The result lives in
 * the cache and stays valid until the next call.
 */
const AclAccess *
acl_access_for(const pg_uuid_t *user_id)
{
	AclCacheEntry *entry;
	AclCacheScope scope;

	reset_cache_if_stale();
	entry = cache_entry(access_cache, &anonymous_entry, user_id);
	if (acl_cache_scope_valid(&entry->scope))
		return &entry->access;

	/*
	 * Build in place.  The scope is taken before reading, so an
	 * invalidation that arrives meanwhile makes the result stale at once.
	 */
	scope = acl_cache_scope_now();
	memset(&entry->access, 0, sizeof(AclAccess));
	entry->scope.generation = 0;	/* unusable should the build fail */
	entry->access.anonymous = (user_id == NULL);
	if (user_id != NULL)
		entry->access.user_id = *user_id;
	load_access(&entry->access, acl_cache_context());
	entry->scope = scope;
	cache_builds++;
	return &entry->access;
}

/*
 * The access of a role with no user (a share's role, spec §8): the role
 * tree's policies, flags from them; NULL means the public principal.  Not
 * cached: a share computes it once per statement at most.
 */
void
acl_load_role_access(const pg_uuid_t *role_id, AclAccess *out, MemoryContext target)
{
	memset(out, 0, sizeof(AclAccess));
	out->anonymous = (role_id == NULL);
	if (role_id != NULL)
	{
		out->role_only = true;
		out->role_id = *role_id;
	}
	load_access(out, target);
}

/* A copy of access whose arrays live in target. */
void
acl_copy_access(const AclAccess *access, AclAccess *out, MemoryContext target)
{
	*out = *access;
	out->roles = MemoryContextAlloc(target, sizeof(pg_uuid_t) * Max(access->nroles, 1));
	memcpy(out->roles, access->roles, sizeof(pg_uuid_t) * access->nroles);
	out->policies = MemoryContextAlloc(target, sizeof(pg_uuid_t) * Max(access->npolicies, 1));
	memcpy(out->policies, access->policies, sizeof(pg_uuid_t) * access->npolicies);
}
