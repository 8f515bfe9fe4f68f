#!/usr/bin/env bash
# Builds the libFuzzer target for the shared rule code.
#
#   test/fuzz/build.sh [OUT]        (default: /tmp/acl-fuzz/fuzz_rules)
#
# The target is compiled from the same files as the server (src/rule_parse.c,
# src/rule_validate.c) with -DFRONTEND, and linked against libpgcommon and
# libpgport.  fuzz_rules.c brings its own palloc & co. (an arena freed after
# every input); to be sure the archive's fe_memutils.o is never linked, it is
# removed from a private copy of libpgcommon.a.
#
# Needs clang-14 with its compiler-rt (Debian: libclang-rt-14-dev, which
# postgresql-server-dev-15 pulls in on Debian 12); installs it with apt-get
# only when -fsanitize=fuzzer cannot link.
#
# The SQL compiler (src/rule_sql.c) is compiled in too, and the target calls
# acl_rule_to_sql against a fake schema; ACL_FUZZ_SQL=0 leaves it out.
set -euo pipefail

cd "$(dirname "$0")/../.."
OUT=${1:-/tmp/acl-fuzz/fuzz_rules}
CC=${CC_FUZZ:-clang-14}
PG_CONFIG=${PG_CONFIG:-$( [ -x /usr/lib/postgresql/15/bin/pg_config ] && echo /usr/lib/postgresql/15/bin/pg_config || echo pg_config )}
PGLIB=$("$PG_CONFIG" --pkglibdir)
PGINC_SERVER=$("$PG_CONFIG" --includedir-server)
PGINC_INTERNAL=$("$PG_CONFIG" --includedir)/internal

mkdir -p "$(dirname "$OUT")"
WORK=$(mktemp -d /tmp/acl-fuzz-build.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# Can clang link a fuzzer?  If not, install compiler-rt (CI machines).
probe() {
    printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t s) { return 0; }\n' \
        > "$WORK/probe.c"
    "$CC" -fsanitize=fuzzer,address,undefined "$WORK/probe.c" -o "$WORK/probe" >"$WORK/probe.log" 2>&1
}
if ! probe; then
    echo "build.sh: $CC cannot link -fsanitize=fuzzer; installing libclang-rt-14-dev" >&2
    SUDO=
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get install -y libclang-rt-14-dev >&2 || { $SUDO apt-get update >&2 && $SUDO apt-get install -y libclang-rt-14-dev >&2; }
    probe || { cat "$WORK/probe.log" >&2; exit 1; }
fi

# libpgcommon.a without fe_memutils.o: every allocation goes to the arena.
cp "$PGLIB/libpgcommon.a" "$WORK/libpgcommon.a"
ar d "$WORK/libpgcommon.a" fe_memutils.o

SOURCES=(src/rule_parse.c src/rule_validate.c test/fuzz/fuzz_rules.c)
DEFINES=(-DFRONTEND)
if [ "${ACL_FUZZ_SQL:-1}" = 1 ]; then
    SOURCES+=(src/rule_sql.c)
    DEFINES+=(-DACL_FUZZ_SQL)
fi

"$CC" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Wall -Wno-unused-function -Wno-ignored-attributes \
    "${DEFINES[@]}" -I src -I "$PGINC_SERVER" -I "$PGINC_INTERNAL" \
    "${SOURCES[@]}" \
    "$WORK/libpgcommon.a" "$PGLIB/libpgport.a" -lm \
    -o "$OUT"
echo "$OUT"
