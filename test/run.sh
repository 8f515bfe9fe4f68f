#!/usr/bin/env bash
# The test command (README): builds acl, starts a throwaway cluster and runs
# every test: pg_regress (sql/, expected/), isolation specs (test/specs/),
# pgTAP files (test/pgtap/) and shell TAP scripts (test/t/).  The last line
# is "N passed, N failed"; the exit status is non-zero when anything failed.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"

acl_install_packages
# Test-only: the geometry operators are tested against real PostGIS.
if [ ! -f /usr/share/postgresql/15/extension/postgis.control ]; then
    echo "== installing postgresql-15-postgis-3 (for the geometry operator tests)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15-postgis-3 >/dev/null
fi
acl_build_install || { echo "0 passed, 1 failed"; exit 1; }
acl_start_cluster test "${PGTEST_PORT:-55491}"

LOGDIR=$(mktemp -d /tmp/acl-test-logs.XXXXXX)
passed=0
failed=0

count_regress() {	# pg_regress/pg_isolation_regress log -> counts
    local log=$1 ok bad
    ok=$(grep -cE '^(test | )?\s*\S+\s+\.\.\. ok' "$log")
    bad=$(grep -cE '\.\.\. FAILED|\.\.\. failed' "$log")
    passed=$((passed + ok)); failed=$((failed + bad))
    if ! grep -qE 'All [0-9]+ tests passed' "$log" && [ "$bad" -eq 0 ]; then
        failed=$((failed + 1))		# the runner itself broke
    fi
}

count_tap() {	# verbose prove/pg_prove log -> counts
    local log=$1 status=$2 ok bad
    ok=$(grep -cE '^\s*ok [0-9]+' "$log")
    bad=$(grep -cE '^\s*not ok [0-9]+' "$log")
    passed=$((passed + ok)); failed=$((failed + bad))
    if [ "$status" -ne 0 ] && [ "$bad" -eq 0 ]; then
        failed=$((failed + 1))		# a plan mismatch or a script that died
    fi
}

echo "== pg_regress"
make -C "$ACL_ROOT" -s installcheck-regress-only >"$LOGDIR/regress.log" 2>&1 \
    || true
cat "$LOGDIR/regress.log"
count_regress "$LOGDIR/regress.log"
[ -f "$ACL_ROOT/regression.diffs" ] && cat "$ACL_ROOT/regression.diffs"

echo "== isolation"
make -C "$ACL_ROOT" -s installcheck-isolation-only >"$LOGDIR/isolation.log" 2>&1 || true
cat "$LOGDIR/isolation.log"
count_regress "$LOGDIR/isolation.log"
[ -f "$ACL_ROOT/output_iso/regression.diffs" ] && cat "$ACL_ROOT/output_iso/regression.diffs"

echo "== pgTAP"
dropdb --if-exists acl_pgtap >/dev/null 2>&1
createdb acl_pgtap
psql -X -q -d acl_pgtap -c 'CREATE EXTENSION pgtap; CREATE EXTENSION acl;'
pg_prove -v -d acl_pgtap "$ACL_ROOT"/test/pgtap/*.sql >"$LOGDIR/pgtap.log" 2>&1
status=$?
cat "$LOGDIR/pgtap.log"
count_tap "$LOGDIR/pgtap.log" $status

echo "== shell TAP"
( cd "$ACL_ROOT" && prove -v --exec bash test/t/*.sh ) >"$LOGDIR/shell.log" 2>&1
status=$?
cat "$LOGDIR/shell.log"
count_tap "$LOGDIR/shell.log" $status

acl_stop_cluster
trap - EXIT
rm -rf "$LOGDIR"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
