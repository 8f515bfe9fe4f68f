# acl: PGXS build.  `make && make install`, then see README.md for the tests.
EXTENSION  = acl
EXTVERSION = 0.1
MODULE_big = acl
OBJS       = src/acl.o src/catalog.o src/identity.o src/access.o src/token.o src/inspect.o \
             src/rule_parse.o src/rule_sql.o src/rule_validate.o src/schema.o src/compile.o \
             src/dynamic.o src/lint.o src/enforce.o src/gates.o src/branch_scan.o src/share.o \
             src/plan_cache.o src/coverage.o src/masked_slot.o
DATA       = sql/acl--$(EXTVERSION).sql
PGFILEDESC = "acl - Directus-style permissions enforced inside PostgreSQL"

# -Wno-unused-parameter: PostgreSQL's own headers (bufpage.h) and every
# GUC hook signature have parameters a body need not use.
PG_CFLAGS  = -Wall -Wextra -Werror -Wno-unused-parameter

# pg_regress files in sql/ + expected/; isolation specs in test/specs with
# their expected output in test/expected.
REGRESS        = catalog identity tokens ip_access inspect compile lint validation enforce masks masked_rows coverage writes shares shares_adversarial adversarial plan_cache
ISOLATION      = cache_invalidation enforce_concurrency
ISOLATION_OPTS = --inputdir=test

EXTRA_CLEAN = results regression.diffs regression.out output_iso

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Run one kind of test at a time (test/run.sh counts them separately).
.PHONY: installcheck-regress-only installcheck-isolation-only
installcheck-regress-only:
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)
installcheck-isolation-only:
	$(pg_isolation_regress_installcheck) $(ISOLATION_OPTS) $(ISOLATION)
