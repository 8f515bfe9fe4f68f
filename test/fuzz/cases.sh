#!/usr/bin/env bash
# Builds test/fuzz/validate_cases.c (the validation behaviour cases, run
# through the same src/rule_parse.c and src/rule_validate.c as the server)
# and runs it; its output is TAP.
#
#   test/fuzz/cases.sh
set -uo pipefail

cd "$(dirname "$0")/../.."
CC=${CC_CASES:-$(command -v clang-14 || command -v cc)}
PG_CONFIG=${PG_CONFIG:-$( [ -x /usr/lib/postgresql/15/bin/pg_config ] && echo /usr/lib/postgresql/15/bin/pg_config || echo pg_config )}
PGLIB=$("$PG_CONFIG" --pkglibdir)
WORK=$(mktemp -d /tmp/acl-cases.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# Sanitizers when the compiler has them; plain otherwise.
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
echo 'int main(void){return 0;}' > "$WORK/probe.c"
"$CC" "${SAN[@]}" "$WORK/probe.c" -o "$WORK/probe" 2>/dev/null || SAN=()

if ! "$CC" -g -O1 "${SAN[@]}" -Wall -Wno-ignored-attributes -Wno-unknown-warning-option -DFRONTEND \
    -I src -I "$("$PG_CONFIG" --includedir-server)" -I "$("$PG_CONFIG" --includedir)/internal" \
    src/rule_parse.c src/rule_validate.c test/fuzz/validate_cases.c \
    "$PGLIB/libpgcommon.a" "$PGLIB/libpgport.a" -lm -o "$WORK/validate_cases" 2>"$WORK/build.log"; then
    echo "1..1"
    echo "not ok 1 - build test/fuzz/validate_cases.c"
    sed -e 's/^/# /' "$WORK/build.log"
    exit 1
fi
# frontend palloc is never freed: leaks are expected here (the fuzzer checks them)
ASAN_OPTIONS=detect_leaks=0 "$WORK/validate_cases"
