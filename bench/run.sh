#!/usr/bin/env bash
# The benchmark command (README, bench/README.md): what acl costs against no
# access control and against hand-written row-level security.
#
#   bash bench/run.sh [--quick] [--no-build]
#
# Runs as root on Debian 12: installs what it needs, builds and installs acl
# (unless --no-build), starts a throwaway cluster, loads the data, runs every
# workload, prints the table and writes $BENCH_RESULTS/latest.json and
# latest.png (default bench/results).  --quick: small data and few repeats, to
# prove the suite works; its figures mean little.  BENCH_PORT (default 55492)
# picks the cluster's port.
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$BENCH/../test/cluster.sh"

quick=false
build=true
for arg in "$@"; do
    case $arg in
        --quick) quick=true ;;
        --no-build) build=false ;;
        *) echo "usage: bash bench/run.sh [--quick] [--no-build]" >&2; exit 2 ;;
    esac
done
PORT=${BENCH_PORT:-55492}
RESULTS=${BENCH_RESULTS:-$BENCH/results}
CLIENTS=$(nproc)
if $quick; then
    MODE=quick USERS=500 READINGS=50000 SAMPLES=5 SAMPLE_MS=20
    PGB_WARMUP=1 PGB_ROUNDS=3 W7_ROUNDS=3 PGB_SECS=2 SYNC_REPS=3 W8_TABLES=10 W8_ROLES=20 W8_USERS=1000
else
    MODE=full USERS=10000 READINGS=1000000 SAMPLES=11 SAMPLE_MS=100
    PGB_WARMUP=3 PGB_ROUNDS=5 W7_ROUNDS=7 PGB_SECS=10 SYNC_REPS=5 W8_TABLES=50 W8_ROLES=100 W8_USERS=10000
fi
PATIENTS=$((USERS * 90 / 100))		# users 1..PATIENTS are patients (bench/data.sql)
PATIENT=1
COORDINATOR=$((USERS * 97 / 100 + 1))
DB=bench
started=$SECONDS

step() { printf '== %s [%ds]\n' "$*" $((SECONDS - started)); }
sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

# attempt WORKLOAD COMMAND...: a failing step records its error, verbatim,
# as the workload's result, and the suite goes on.  (set -e does not apply
# inside the command, so the functions below return on failure themselves.)
attempt() {
    local w=$1 err; shift
    if ! err=$("$@" 2>&1 >/dev/null); then
        err=$(grep -E 'ERROR|FATAL|error|aborted' <<<"$err" | head -3)
        echo "   $w failed: ${err:-see above}"
        sql -v w="$w" -v msg="${err:-failed}" \
            <<<"INSERT INTO bench.errors VALUES (:'w', :'msg') ON CONFLICT (workload) DO NOTHING"
    fi
}

measure() { sql -c "SELECT bench.measure('$1', $SAMPLES, $SAMPLE_MS)"; }

# pgbench_run USER SCRIPT SECONDS [PGBENCH-OPTIONS...]: one pgbench run
# (prepared statements, CLIENTS connections).  Prints its tps and the CPU
# time per transaction, in microseconds, of the pgbench process (user +
# system) and of the backends that served it (the postmaster's reaped
# children, read once they have exited); on an error, pgbench's output and
# status 1.  On 2 cores client and server share the CPUs, so the client's
# share is part of what tps measures.
pgbench_run() {
    local TIMEFORMAT='%3U %3S' client tps n server0 server1 i
    server0=$(backend_cpu_ticks)
    client=$( { time pgbench -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$3" -U "$1"                     -D patients="$PATIENTS" "${@:4}" -f "$BENCH/pgbench/$2" "$DB"                     >"$WORK/pgbench.out" 2>&1; } 2>&1 ) || true
    tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$WORK/pgbench.out")
    n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/pgbench.out")
    if [ -z "$tps" ] || [ -z "$n" ] || [ "$n" = 0 ] || grep -qE 'aborted|ERROR|FATAL' "$WORK/pgbench.out"; then
        cat "$WORK/pgbench.out" >&2
        return 1
    fi
    for ((i = 0; i < 100; i++)); do
        pgrep -P "$POSTMASTER" -f "^postgres: $1 $DB " >/dev/null || break
        sleep 0.05
    done
    server1=$(backend_cpu_ticks)
    awk -v tps="$tps" -v n="$n" -v c="$client" -v s=$((server1 - server0)) -v hz="$(getconf CLK_TCK)" \
        'BEGIN { split(c, t, " "); printf "%s %.1f %.1f\n", tps, (t[1] + t[2]) * 1e6 / n, s / hz * 1e6 / n }'
}

# CPU ticks (user + system) of the postmaster's exited children.
backend_cpu_ticks() { awk '{ print $16 + $17 }' "/proc/$POSTMASTER/stat"; }

# pgbench_arms WORKLOAD ROUNDS NAME USER SCRIPT [NAME USER SCRIPT...] [--
# PGBENCH-OPTIONS...]: a warm-up of each arm, then ROUNDS rounds in which
# every arm runs once, the order rotating from round to round so that no
# arm always follows another.  Stores each arm's median tps (arm NAME) and
# its median CPU microseconds per transaction (arms NAME.client_cpu and
# NAME.server_cpu), with the samples in round order.
pgbench_arms() {
    local w=$1 rounds=$2 names=() users=() scripts=() opts=() r k a out
    shift 2
    while (($#)) && [ "$1" != -- ]; do
        names+=("$1"); users+=("$2"); scripts+=("$3"); shift 3
    done
    (($#)) && { shift; opts=("$@"); }
    local -A tps client server
    sql -c CHECKPOINT || return 1
    for ((a = 0; a < ${#names[@]}; a++)); do
        pgbench_run "${users[a]}" "${scripts[a]}" "$PGB_WARMUP" "${opts[@]}" >/dev/null || return 1
    done
    for ((r = 0; r < rounds; r++)); do
        for ((k = 0; k < ${#names[@]}; k++)); do
            a=$(((r + k) % ${#names[@]}))
            out=($(pgbench_run "${users[a]}" "${scripts[a]}" "$PGB_SECS" "${opts[@]}")) || return 1
            tps[$a]+=${tps[$a]:+,}${out[0]}
            client[$a]+=${client[$a]:+,}${out[1]}
            server[$a]+=${server[$a]:+,}${out[2]}
        done
    done
    local values=()
    for ((a = 0; a < ${#names[@]}; a++)); do
        values+=("('${names[a]}', 'tps', '{${tps[$a]}}'), ('${names[a]}.client_cpu', 'us', '{${client[$a]}}'),
                  ('${names[a]}.server_cpu', 'us', '{${server[$a]}}')")
    done
    sql -c "INSERT INTO bench.measurements (workload, arm, value, unit, samples)
            SELECT '$w', arm, percentile_cont(0.5) WITHIN GROUP (ORDER BY x), unit, s::float8[]
              FROM (VALUES $(IFS=,; echo "${values[*]}")) v(arm, unit, s), unnest(s::float8[]) x
             GROUP BY arm, unit, s"
}

# pgbench_pair WORKLOAD ACL_USER ACL_SCRIPT BASE_USER BASE_SCRIPT
# [PGBENCH-OPTIONS...]: arms acl and baseline, PGB_ROUNDS rounds.
pgbench_pair() {
    pgbench_arms "$1" "$PGB_ROUNDS" acl "$2" "$3" baseline "$4" "$5" -- "${@:6}"
}

# w7_prepared USERS NAME VAR SETUP PREPARE EXECUTE: psql that runs a
# prepared statement as each of USERS patients and stores its plan counts
# in :VAR.
w7_prepared() {
    local users=$1 name=$2 var=$3 setup=$4 prepare=$5 execute=$6 n
    echo "SELECT pg_stat_statements_reset() \\g /dev/null"
    echo "SET ROLE bench_app;"
    echo "$setup"
    echo "PREPARE $name$prepare;"
    for ((n = 1; n <= users; n++)); do
        echo "SELECT set_config('acl.user_id', bench.uid($n)::text, false) \\g /dev/null"
        echo "EXECUTE $name$execute \\g /dev/null"
    done
    echo "RESET ROLE;"
    echo "SELECT jsonb_build_object('executions', $users, 'generic_plans', generic_plans,
              'custom_plans', custom_plans, 'planner_runs', (SELECT sum(plans) FROM pg_stat_statements
               WHERE query ~* 'public.glucose_readings ORDER BY measured_at DESC')) AS $var
            FROM pg_prepared_statements WHERE name = '$name' \\gset"
}

# W7's evidence that switching identity never replans: a prepared W1, run
# as 20 different patients, under the default plan_cache_mode and under
# force_generic_plan (with the LIMIT as a parameter); pg_prepared_statements
# counts the generic and custom plans, pg_stat_statements the planner runs.
w7_replanning() {
    local users=$((PATIENTS < 20 ? PATIENTS : 20)) pgbench_json=$1
    {
        w7_prepared "$users" w7_auto auto "" \
            " AS SELECT * FROM public.glucose_readings ORDER BY measured_at DESC LIMIT 50" ""
        w7_prepared "$users" w7_generic generic "SET plan_cache_mode = force_generic_plan;" \
            "(int) AS SELECT * FROM public.glucose_readings ORDER BY measured_at DESC LIMIT \$1" "(50)"
        echo "INSERT INTO bench.checks
              SELECT 'W7', jsonb_build_object('pgbench', p, 'prepared_auto', a, 'prepared_force_generic', g,
                  'no_replanning', (p->>'planner_runs')::int <= (p->>'connections')::int
                                   AND (a->>'planner_runs')::int = 1 AND (a->>'custom_plans')::int = 0
                                   AND (g->>'planner_runs')::int = 1 AND (g->>'custom_plans')::int = 0)
                FROM (VALUES ('$pgbench_json'::jsonb, :'auto'::jsonb, :'generic'::jsonb)) v(p, a, g);"
    } >"$WORK/w7.sql"
    sql -f "$WORK/w7.sql"
}

w7() {
    sql -c "SELECT bench.explain_all('W7'), pg_stat_statements_reset()" || return 1
    # A third arm, in the same rounds: the baseline plus the identity
    # statement, a setting nothing reads.  What acl would score if it cost
    # nothing is that arm's tps over the strict baseline's.
    pgbench_arms W7 "$W7_ROUNDS" acl bench_app w7_acl.sql baseline bench_base w7_base.sql \
        identity bench_base w7_base_identity.sql || return 1
    # Every pgbench connection prepares the statement once.
    local stats
    stats=$(sql -At -c "SELECT jsonb_build_object('planner_runs', sum(plans), 'executions', sum(calls),
                            'connections', $CLIENTS * ($W7_ROUNDS + 1))
                          FROM pg_stat_statements
                         WHERE query ~* '^SELECT \\* FROM public.glucose_readings ORDER BY measured_at DESC'") || return 1
    w7_replanning "$stats"
}

w8() {
    local ms=() i t
    createdb w8 && psql -X -q -v ON_ERROR_STOP=1 -d w8 -c 'CREATE EXTENSION acl' || return 1
    psql -X -q -v ON_ERROR_STOP=1 -d w8 -v tables="$W8_TABLES" -v roles="$W8_ROLES" -v users="$W8_USERS" \
        -f "$BENCH/w8.sql" || return 1
    # A first sync warms up; then the median of SYNC_REPS, each its own
    # transaction.  W8.sync: the catalog as it is, as a DBA re-syncs.
    # W8.sync_all: every policy regenerated, as after a restore (acl.sync()
    # regenerates what it has no record of).
    local all=()
    for ((i = 0; i <= SYNC_REPS; i++)); do
        t=$(psql -X -At -v ON_ERROR_STOP=1 -d w8 -c 'SELECT w8.timed_sync()') || return 1
        ms+=("$t")
        t=$(psql -X -q -At -v ON_ERROR_STOP=1 -d w8 -c 'TRUNCATE acl._synced_tables, acl._synced_policies' \
                -c 'SELECT w8.timed_sync()') || return 1
        all+=("$t")
    done
    local facts
    facts=$(psql -X -At -v ON_ERROR_STOP=1 -d w8 -c "SELECT jsonb_build_object(
            'tables', $W8_TABLES, 'roles', (SELECT count(*) FROM acl.roles), 'users', (SELECT count(*) FROM acl.users),
            'permissions', (SELECT count(*) FROM acl.permissions),
            'policies', (SELECT count(*) FROM pg_policy WHERE polname LIKE 'acl%'))") || return 1
    sql -c "INSERT INTO bench.measurements (workload, arm, value, unit, samples)
            SELECT w, 'acl', percentile_cont(0.5) WITHIN GROUP (ORDER BY x), 'ms', s
              FROM (VALUES ('W8.sync', '{$(IFS=,; echo "${ms[*]:1}")}'::float8[]),
                           ('W8.sync_all', '{$(IFS=,; echo "${all[*]:1}")}'::float8[])) v(w, s), unnest(s) x GROUP BY w, s;
            INSERT INTO bench.checks VALUES ('W8.sync', '$facts'), ('W8.sync_all', '$facts')" || return 1
}

# One application-role backend, one end user: memory before and after it
# reads every W8 table once.
w8_memory() {
    local t
    {
        echo "SELECT set_config('acl.user_id', '00000000-0000-4000-8000-000000000001', false) \\g /dev/null"
        echo "SELECT sum(b) AS before, json_object_agg(name, b) AS before_ctx
                FROM (SELECT name, sum(total_bytes) b FROM pg_backend_memory_contexts GROUP BY name) s \\gset"
        for ((t = 1; t <= W8_TABLES; t++)); do
            printf 'SELECT count(*) FROM w8.t%02d \\g /dev/null\n' "$t"
        done
        echo "SELECT jsonb_build_object('before_mb', round(:before / 1048576.0, 2),
                  'after_mb', round(sum(total_bytes) / 1048576.0, 2),
                  'growth_mb', (sum(total_bytes) - :before) / 1048576.0,
                  'memory_growth_by_context', (SELECT string_agg(format('%-28s %8s kB', name, round(grew / 1024)), E'\\n' ORDER BY grew DESC)
                      FROM (SELECT name, sum(total_bytes) - coalesce((:'before_ctx'::json->>name)::bigint, 0) AS grew
                              FROM pg_backend_memory_contexts GROUP BY name) g WHERE grew <> 0))
                FROM pg_backend_memory_contexts"
    } >"$WORK/w8mem.sql"
    local res
    res=$(psql -X -q -At -v ON_ERROR_STOP=1 -U bench_app -d w8 -f "$WORK/w8mem.sql") || return 1
    sql -v res="$res" <<<"INSERT INTO bench.measurements (workload, arm, value, unit)
                          SELECT 'W8.memory', 'acl', (:'res'::jsonb->>'growth_mb')::float8, 'MB';
                          INSERT INTO bench.checks VALUES ('W8.memory', :'res')"
}

step "mode $MODE: $READINGS readings over $USERS users; W8: $W8_TABLES tables"
acl_install_packages
if ! command -v gnuplot >/dev/null; then
    echo "== installing gnuplot-nox (for the chart)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null
fi
if $build; then
    acl_build_install
elif [ ! -f /usr/share/postgresql/15/extension/acl.control ]; then
    echo "acl is not installed: run 'make install' (or bash test/run.sh) first, or drop --no-build" >&2
    exit 1
fi
# Which acl is measured: the cluster preloads the library when it starts, so
# a reinstall during the run would mix builds (the report says so).
acl_build_id() {
    cat "$(pg_config --pkglibdir)/acl.so" "$(pg_config --sharedir)/extension/acl--0.1.sql" | md5sum | cut -c1-12
}
ACL_BUILD=$(acl_build_id)
# pg_stat_statements counts planner runs for W7.  No checkpoint or
# autovacuum in the middle of a measurement: the data is vacuumed and
# checkpointed once loaded, and before each pgbench workload.
acl_start_cluster "bench-$PORT" "$PORT" shared_buffers=512MB max_parallel_workers_per_gather=0 jit=off \
    shared_preload_libraries=acl,pg_stat_statements pg_stat_statements.track_planning=on \
    autovacuum=off max_wal_size=8GB checkpoint_timeout=1h
POSTMASTER=$(head -1 "$ACL_PGDATA/postmaster.pid")
WORK=$(mktemp -d /tmp/acl-bench.XXXXXX)
trap 'acl_stop_cluster; rm -rf "$WORK"' EXIT
mkdir -p "$RESULTS"

step "loading data"
createdb "$DB"
sql -f "$BENCH/setup.sql"
sql -v users="$USERS" -v readings="$READINGS" -f "$BENCH/data.sql"
sql -v patient="$PATIENT" -v coordinator="$COORDINATOR" -f "$BENCH/workloads.sql"
sql -c "INSERT INTO bench.checks SELECT 'data', jsonb_build_object(
          'users', (SELECT count(*) FROM acl.users), 'profiles', (SELECT count(*) FROM public.profiles),
          'care_links', (SELECT count(*) FROM public.care_links),
          'glucose_readings', (SELECT count(*) FROM public.glucose_readings),
          'glucose_readings_permissions', (SELECT count(*) FROM acl.permissions
                                            WHERE collection = 'public.glucose_readings'::regclass),
          'glucose_readings_MB', pg_total_relation_size('public.glucose_readings') / 1048576,
          'copies', 'handrls.* (W6), plain.glucose_readings (W5)'); CHECKPOINT"

step "W1 and W6.W1: a patient's latest 50 readings (acl, RLS off, hand-written)"
attempt W1 measure W1
step "W2 and W6.W2: a coordinator counts every reading"
attempt W2 measure W2
step "W4 and W6.W4: SELECT * on profiles with masked columns"
attempt W4 measure W4
attempt W4 sql -c "INSERT INTO bench.checks SELECT 'W4', bench.check_w4($PATIENT)"
# The same rows sent to a client: SPI's copying of each computed row, which
# no client path has, is most of what W4 measures in the backend.
attempt W4 pgbench_pair W4.client bench_app w4_acl.sql bench_base w4_base.sql \
    -D patient_uid="$(sql -Atc "SELECT bench.uid($PATIENT)")"
step "W3: W1 while Carb research holds note _icontains"
attempt W3 sql -c "SELECT bench.w3_permission(true)"
attempt W3 measure W3
attempt W3 sql -c "SELECT bench.w3_permission(false)"
step "W7: pooled connections, SET LOCAL acl.user_id per transaction (pgbench, $CLIENTS clients)"
attempt W7 w7
step "W5: INSERT with presets, validation, field check (pgbench, $CLIENTS clients; then pooled)"
attempt W5 sql -c "INSERT INTO bench.checks SELECT 'W5', bench.check_w5($PATIENT); SELECT bench.explain_all('W5')"
attempt W5 pgbench_pair W5 bench_app w5_acl.sql bench_app w5_base.sql -D pooled=0
# The same behind a transaction pooler: a random patient per transaction, so
# each backend keeps meeting users it has not resolved yet (W5's notes).
attempt W5 pgbench_pair W5.pooled bench_app w5_acl.sql bench_app w5_base.sql -D pooled=1
step "W8: acl.sync() and one backend's memory ($W8_TABLES tables)"
attempt W8.sync w8
attempt W8.memory w8_memory

step "report"
acl_changed=false
if [ "$(acl_build_id)" != "$ACL_BUILD" ]; then
    acl_changed=true
    echo "WARNING: acl was reinstalled during the run; the figures may mix two builds. Run again."
fi
sql -v acl_build="$ACL_BUILD" -v acl_changed="$acl_changed" -v json_file="$RESULTS/latest.json" -v chart_file="$WORK/chart.dat" -v mode="$MODE" \
    -v nproc="$CLIENTS" -v cpu="$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" \
    -v duration_s=$((SECONDS - started)) -v clients="$CLIENTS" -v samples="$SAMPLES" -v sample_ms="$SAMPLE_MS" \
    -v pgbench_rounds="$PGB_ROUNDS" -v w7_rounds="$W7_ROUNDS" -v pgbench_seconds="$PGB_SECS" -f "$BENCH/report.sql"
gnuplot -e "data='$WORK/chart.dat'; out='$RESULTS/latest.png'; subtitle='$MODE run, $(date -u +%F), $CLIENTS cores'" \
    "$BENCH/chart.gp"
echo
echo "wrote $RESULTS/latest.json and $RESULTS/latest.png"
step "done"
