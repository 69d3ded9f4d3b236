#!/usr/bin/env bash
# The test command (README; `make test`; CI runs it with CI=true): lint, the import contracts, then the whole
# pytest suite, against SQLite and a throwaway PostgreSQL server that this script starts on a free loopback port
# and stops on exit, failure or interrupt. Extra arguments go to pytest (`bash tests/run.sh -k store`).
# An existing server can be used instead: export ARCHSCALE_TEST_PG_URL (it must allow CREATE DATABASE).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

"$VENV/bin/ruff" check platform tests bench db examples
"$VENV/bin/lint-imports" --no-logo --no-cache  # pyproject.toml's import contracts: floors, no circles

# NAS-Bench-201's reference implementation (for tests/test_nn_nb201_reference.py), pinned in requirements.lock.
# --no-deps: xautodl declares numpy<=1.19.5 and fvcore, which its model files do not import.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -c requirements.lock xautodl \
    || echo "tests/run.sh: could not install xautodl: the NAS-Bench-201 reference tests will be skipped (and fail under CI=true)" >&2

# NATS-Bench's official API (the `benchmarks` extra, for tests/test_benchmark_import.py), pinned in requirements.lock.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -c requirements.lock nats_bench \
    || echo "tests/run.sh: could not install nats_bench: its file-format tests will be skipped (and fail under CI=true)" >&2

# The HTML report test opens the report in a real headless browser: Debian's chromium, installed when missing.
if ! command -v chromium >/dev/null 2>&1; then
    echo "tests/run.sh: installing chromium (for tests/test_report_html.py)" >&2
    sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo -n"
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -q chromium >/dev/null 2>&1 \
        || { $sudo_ apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -q chromium >/dev/null; } \
        || echo "tests/run.sh: could not install chromium: the browser test will be skipped (and fail under CI=true)" >&2
fi

# The PostgreSQL half of the suite needs the server binaries (Debian's postgresql), installed when missing.
if [ -z "${ARCHSCALE_TEST_PG_URL:-}" ] && [ ! -x "$PG_BIN/initdb" ]; then
    echo "tests/run.sh: installing PostgreSQL server binaries" >&2
    sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo -n"
    { $sudo_ apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -q postgresql >/dev/null 2>&1; } \
        || echo "tests/run.sh: could not install postgresql" >&2
fi

pg_dir=""
cleanup() {
    if [ -n "$pg_dir" ]; then
        bash deploy/local/postgres.sh stop "$pg_dir/data" >/dev/null 2>&1 || true
        rm -rf "$pg_dir"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "${ARCHSCALE_TEST_PG_URL:-}" ]; then
    if [ -x "$PG_BIN/initdb" ]; then
        pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/archscale-test-pg.XXXXXX")
        chmod 755 "$pg_dir"  # the server may run as the postgres user
        port=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        bash deploy/local/postgres.sh start "$pg_dir/data" "$port"
        ARCHSCALE_TEST_PG_URL=$(bash deploy/local/postgres.sh url "$pg_dir/data")
        export ARCHSCALE_TEST_PG_URL
    elif [ "${CI:-}" = true ]; then
        echo "tests/run.sh: no PostgreSQL server binaries in $PG_BIN (set PG_BIN); CI needs them" >&2
        exit 1
    else
        echo "tests/run.sh: no PostgreSQL server binaries in $PG_BIN: the PostgreSQL tests will be skipped" >&2
    fi
fi

status=0
"$VENV/bin/pytest" "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "tests/run.sh: pytest collected no tests" >&2
    status=1
fi
exit "$status"
