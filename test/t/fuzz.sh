#!/usr/bin/env bash
# Fuzzes the shared rule code (src/rule_parse.c, src/rule_validate.c) with
# libFuzzer for ${ACL_FUZZ_SECONDS:-60} seconds, then replays the seed corpus
# once.  No cluster needed.  Prints TAP; run from the repository root by
# `prove -v --exec bash test/t/*.sh`.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

SECS=${ACL_FUZZ_SECONDS:-60}
WORK=$(mktemp -d /tmp/acl-fuzz-tap.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

echo "1..2"
if ! test/fuzz/build.sh "$WORK/fuzz_rules" >"$WORK/build.log" 2>&1; then
    echo "not ok 1 - fuzz the rule parser and validator for $SECS s (build failed)"
    sed -e 's/^/# /' "$WORK/build.log"
    echo "not ok 2 - replay the seed corpus (build failed)"
    exit 1
fi

status=0
if out=$(ACL_FUZZ_BIN="$WORK/fuzz_rules" test/fuzz/run.sh "$SECS" 2>&1); then
    echo "ok 1 - $(echo "$out" | tail -1)"
else
    echo "not ok 1 - fuzz the rule parser and validator for $SECS s"
    echo "$out" | sed -e 's/^/# /'
    status=1
fi

n=$(ls test/fuzz/corpus | wc -l)
if "$WORK/fuzz_rules" -runs=0 -timeout=10 test/fuzz/corpus >"$WORK/replay.log" 2>&1 &&
   ! grep -qE 'ERROR: |runtime error:|fuzz_rules: ' "$WORK/replay.log"; then
    echo "ok 2 - replay the $n seed corpus files"
else
    echo "not ok 2 - replay the $n seed corpus files"
    grep -vE '^#[0-9]+|^INFO' "$WORK/replay.log" | tail -40 | sed -e 's/^/# /'
    status=1
fi
exit $status
