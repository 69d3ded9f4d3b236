#!/usr/bin/env bash
# A local PostgreSQL server for archscale: the test suite's throwaway database, or a small cluster
# database on one machine.
#
#   deploy/local/postgres.sh start DIR [PORT]   create DIR (initdb) if needed and start the server
#   deploy/local/postgres.sh stop DIR           stop it (fast shutdown); DIR and its data stay
#   deploy/local/postgres.sh url DIR            print the archscale URL (password included: keep it private)
#
# The server listens on 127.0.0.1:PORT (default 5432) and on a Unix socket inside DIR. It has a role
# and a database both named `archscale`; the role may create databases (the tests make one per test)
# and logs in with a random password kept in DIR/archscale.env. Run as root, the server runs as the
# `postgres` user (pg_ctl refuses root), so DIR's parent must be enterable by that user.
# PG_BIN overrides where the server binaries are (default: /usr/lib/postgresql/15/bin);
# PG_SERVER_OPTIONS adds server settings, e.g. "-c fsync=off" for a throwaway test server.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

die() { echo "postgres.sh: $*" >&2; exit 2; }

as_owner() {  # run a server binary as the account that owns the data directory
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

load_env() {
    [ -f "$1/archscale.env" ] || die "$1 is not a database directory made by this script (no archscale.env)"
    # shellcheck disable=SC1091
    . "$1/archscale.env"
}

start() {
    local dir=$1 port=$2
    [ -x "$PG_BIN/initdb" ] || die "no PostgreSQL server binaries in $PG_BIN (set PG_BIN)"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ ! -f "$dir/PG_VERSION" ]; then
        [ -z "$(ls -A "$dir")" ] || die "$dir is neither empty nor a PostgreSQL data directory"
        if [ "$(id -u)" = 0 ]; then
            chown postgres: "$dir"
            runuser -u postgres -- test -x "$dir" || die "user postgres cannot enter $dir; make its parents world-executable"
        fi
        chmod 700 "$dir"
        as_owner "$PG_BIN/initdb" -D "$dir" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
            --encoding=UTF8 --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 \
            || { cat "$dir.initdb.log" >&2; die "initdb failed"; }
        rm -f "$dir.initdb.log"
        port=${port:-5432}
        local password
        password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
        printf 'PORT=%s\nPASSWORD=%s\n' "$port" "$password" >"$dir/archscale.env"
        chmod 600 "$dir/archscale.env"
        if [ "$(id -u)" = 0 ]; then chown postgres: "$dir/archscale.env"; fi
        server_start "$dir" "$port"
        as_owner "$PG_BIN/psql" -h "$dir" -p "$port" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 \
            -c "CREATE ROLE archscale LOGIN CREATEDB PASSWORD '$password'" \
            -c "CREATE DATABASE archscale OWNER archscale" >/dev/null
    else
        load_env "$dir"
        port=${port:-$PORT}
        sed -i "s/^PORT=.*/PORT=$port/" "$dir/archscale.env"
        server_start "$dir" "$port"
    fi
    echo "PostgreSQL is running on 127.0.0.1:$port (data in $dir); URL: $0 url $dir" >&2
}

server_start() {
    as_owner "$PG_BIN/pg_ctl" -D "$1" -l "$1/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $2 -c unix_socket_directories='$1' ${PG_SERVER_OPTIONS:-}" start >/dev/null \
        || { tail -n 20 "$1/server.log" >&2; die "the server in $1 did not start (port $2 taken?)"; }
}

stop() {
    [ -f "$1/PG_VERSION" ] || die "$1 is not a PostgreSQL data directory"
    if [ -f "$1/postmaster.pid" ]; then
        as_owner "$PG_BIN/pg_ctl" -D "$1" -m fast -w stop >/dev/null
    fi
}

url() {
    load_env "$1"
    echo "postgresql+psycopg://archscale:${PASSWORD}@127.0.0.1:${PORT}/archscale"
}

case "${1:-}" in
    start) [ $# -ge 2 ] || die "usage: $0 start DIR [PORT]"; start "$2" "${3:-}" ;;
    stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
    url) [ $# -eq 2 ] || die "usage: $0 url DIR"; url "$2" ;;
    *) die "usage: $0 start DIR [PORT] | stop DIR | url DIR" ;;
esac
