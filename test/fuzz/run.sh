#!/usr/bin/env bash
# Fuzzes the shared rule code for SECONDS (default 60).
#
#   test/fuzz/run.sh [SECONDS]
#
# Builds test/fuzz/fuzz_rules.c into a scratch directory under /tmp (or uses
# $ACL_FUZZ_BIN when set), copies the seed corpus (test/fuzz/corpus) there and
# runs libFuzzer with -max_len=4096.  Fails (exit 1) on any crash, sanitizer
# report, leak, timeout or out-of-memory; the reproducer is then printed in
# base64 and kept under the scratch directory.  Ends with one line:
#   fuzz: N runs in S s, 0 crashes
# New corpus entries stay in the scratch copy, never in the repository.
set -uo pipefail

cd "$(dirname "$0")/../.."
SECONDS_TO_RUN=${1:-60}
WORK=$(mktemp -d /tmp/acl-fuzz-run.XXXXXX)
KEEP=0
cleanup() { [ "$KEEP" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT

BIN=${ACL_FUZZ_BIN:-}
if [ -z "$BIN" ]; then
    BIN=$WORK/fuzz_rules
    if ! test/fuzz/build.sh "$BIN" >"$WORK/build.log" 2>&1; then
        cat "$WORK/build.log" >&2
        echo "fuzz: build failed" >&2
        exit 1
    fi
fi

mkdir -p "$WORK/corpus" "$WORK/artifacts"
cp test/fuzz/corpus/* "$WORK/corpus/"

start=$(date +%s)
"$BIN" -max_len=4096 -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 \
    -dict=test/fuzz/rules.dict -print_final_stats=1 \
    -artifact_prefix="$WORK/artifacts/" "$WORK/corpus" >"$WORK/fuzz.log" 2>&1
rc=$?
elapsed=$(( $(date +%s) - start ))

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/fuzz.log" | tail -1)
runs=${runs:-0}
crashes=$(find "$WORK/artifacts" -type f | wc -l)
reports=$(grep -cE 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:|fuzz_rules: ' "$WORK/fuzz.log")

if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ] || [ "$reports" -ne 0 ]; then
    KEEP=1
    grep -vE '^#[0-9]+' "$WORK/fuzz.log" | tail -60 >&2
    for f in "$WORK"/artifacts/*; do
        [ -f "$f" ] || continue
        echo "reproducer $(basename "$f") (base64): $(base64 -w0 "$f")" >&2
    done
    echo "fuzz: $runs runs in $elapsed s, $((crashes > 0 ? crashes : 1)) crashes (exit $rc; log and artifacts in $WORK)"
    exit 1
fi
echo "fuzz: $runs runs in $elapsed s, 0 crashes"
