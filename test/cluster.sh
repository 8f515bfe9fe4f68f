# Shared by test/run.sh and test/demo.sh: install what acl needs, build and
# install it, and run a throwaway PostgreSQL 15 cluster on a loopback port.
# Source it; it defines functions and changes nothing by itself.
#
# initdb and postgres refuse to run as root, so the cluster runs as the
# postgres user; clients (psql, pg_regress, pg_prove) run as the caller with
# PGUSER=postgres.

ACL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGBIN=/usr/lib/postgresql/15/bin
export PATH="$PGBIN:$PATH"

acl_install_packages() {
    local need=()
    [ -x "$PGBIN/postgres" ] || need+=(postgresql-15)
    [ -f /usr/lib/postgresql/15/lib/pgxs/src/makefiles/pgxs.mk ] || need+=(postgresql-server-dev-15)
    [ -f /usr/share/postgresql/15/extension/pgtap.control ] || need+=(postgresql-15-pgtap)
    command -v pg_prove >/dev/null || need+=(libtap-parser-sourcehandler-pgtap-perl)
    command -v make >/dev/null || need+=(make)
    command -v gcc >/dev/null || need+=(gcc)
    if [ ${#need[@]} -gt 0 ]; then
        echo "== installing ${need[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq "${need[@]}" >/dev/null
    fi
}

acl_build_install() {
    echo "== building and installing acl"
    make -C "$ACL_ROOT" -s clean >/dev/null
    make -C "$ACL_ROOT" -s all
    make -C "$ACL_ROOT" -s install >/dev/null
}

# acl_start_cluster NAME PORT [extra postgres -c options...]
acl_start_cluster() {
    local name=$1 port=$2; shift 2
    ACL_PGDATA=/tmp/acl-$name-data
    ACL_SOCKDIR=/tmp/acl-$name-sock
    ACL_PORT=$port
    if [ -f "$ACL_PGDATA/postmaster.pid" ]; then
        runuser -u postgres -- "$PGBIN/pg_ctl" -D "$ACL_PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$ACL_PGDATA" "$ACL_SOCKDIR"
    install -d -o postgres -g postgres "$ACL_PGDATA" "$ACL_SOCKDIR"
    runuser -u postgres -- "$PGBIN/initdb" -D "$ACL_PGDATA" -A trust -U postgres \
        --no-sync --no-instructions -E UTF8 --locale=C.UTF-8 >/dev/null
    local opts="-p $port -k $ACL_SOCKDIR -c listen_addresses=127.0.0.1 -c fsync=off"
    opts+=" -c log_min_messages=warning"
    # Masks and write checks are planner and executor hooks: acl must be
    # loaded before a session plans its first statement.
    opts+=" -c shared_preload_libraries=acl"
    for o in "$@"; do opts+=" -c $o"; done
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$ACL_PGDATA" -l "$ACL_PGDATA/server.log" -w \
        -o "$opts" start >/dev/null
    trap acl_stop_cluster EXIT
    export PGHOST=$ACL_SOCKDIR PGPORT=$port PGUSER=postgres
    echo "== PostgreSQL $(postgres --version | awk '{print $3}') running on 127.0.0.1:$port (data $ACL_PGDATA)"
}

acl_stop_cluster() {
    if [ -n "${ACL_PGDATA:-}" ] && [ -f "$ACL_PGDATA/postmaster.pid" ]; then
        runuser -u postgres -- "$PGBIN/pg_ctl" -D "$ACL_PGDATA" -m fast -w stop >/dev/null 2>&1 || true
        echo "== cluster stopped"
    fi
}
