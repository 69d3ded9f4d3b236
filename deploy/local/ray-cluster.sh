#!/usr/bin/env bash
# A multi-node Ray cluster on one machine (and, optionally, PostgreSQL): the test suite's cluster, and
# the way to try archscale's cluster path on a laptop before paying for GPUs.
#
#   deploy/local/ray-cluster.sh start DIR [--workers N] [--cpus-per-node C] [--gpus-per-node G]
#                                         [--memory-mb M] [--object-store-mb S] [--postgres]
#   deploy/local/ray-cluster.sh stop DIR      stop this cluster's processes (only these), and its PostgreSQL
#   deploy/local/ray-cluster.sh status DIR    the nodes Ray sees; exit 0 when every node is up
#   deploy/local/ray-cluster.sh env DIR       `export` lines for clients (eval "$(... env DIR)")
#
# One head node and N worker nodes (default 1), each a separate `ray start` with C CPUs (default 1),
# M MiB of Ray memory (default 2048) and S MiB of object store (default 300); the worker nodes get
# G GPUs each (default 0; the head none: all nodes would see the same devices). Each node has its
# own temp dir and its own ports: the GCS, dashboard and Ray Client ports, each node's dashboard-agent
# port and a disjoint worker-port range are picked free on this machine; the node-manager,
# object-manager and other agent ports are left to the OS (Ray's default, port 0). Token
# authentication is on: a random token is written to DIR/token (mode 600) and every node and client
# reads it through RAY_AUTH_TOKEN_PATH. The dashboard (and Jobs API) listens on 127.0.0.1 only.
#
# Ray's unix sockets live under each node's temp dir, and socket paths are limited to ~107 bytes, so
# the temp dirs go to a short directory made with mktemp (/tmp/asr.XXXXXX, linked as DIR/nodes); the
# token, the state file and the start-up logs stay in DIR. Every Ray process of this cluster carries
# ARCHSCALE_LOCAL_RAY=<that short directory> in its environment (Ray passes its environment on to
# workers and job drivers), which is how `stop` finds exactly this cluster's processes and no other
# Ray on the machine; `ray stop` cannot be scoped and is never used.
#
# The head node keeps ARCHSCALE_DB from your environment (job drivers run there and write to it);
# --postgres instead starts PostgreSQL in DIR/postgres (deploy/local/postgres.sh) on a free port, gives
# its URL to the head as ARCHSCALE_DB, and `env` prints it for clients. As everywhere in archscale,
# worker nodes never see database credentials: ARCHSCALE_DB is removed from their environment.
#
# RAY (default: ray on PATH) and PYTHON (default: python3) choose the programs; the cluster's job
# drivers run the `archscale` and `python` found on the PATH you start the cluster with.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RAY=${RAY:-ray}
PYTHON=${PYTHON:-python3}
GRACE=${GRACE:-3}        # seconds between SIGTERM and SIGKILL when stopping
START_TIMEOUT=${START_TIMEOUT:-90}
MARKER=ARCHSCALE_LOCAL_RAY

die() { echo "ray-cluster.sh: $*" >&2; exit 2; }
log() { echo "ray-cluster.sh: $*" >&2; }

usage() {  # the synopsis at the top of this file
    sed -n '5,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,3\}//' >&2
    exit "${1:-2}"
}

abspath() { (cd "$1" 2>/dev/null && pwd) || die "no directory $1"; }

load_state() {  # DIR -> the variables of DIR/cluster.env
    [ -f "$1/cluster.env" ] || return 1
    # shellcheck disable=SC1091
    . "$1/cluster.env"
}

# The pids of every process started for the cluster whose short dir is $1 (read from environments).
cluster_pids() {
    local short=$1 file pid self=" $$ ${BASHPID:-} "
    # ancestors of this script are spared: `stop` may be called from a job running on the cluster
    local p=$$
    while [ "$p" -gt 1 ] 2>/dev/null; do
        p=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f2)  # the ppid, after "(comm) state"
        p=${p:-1}
        self+="$p "
    done
    for file in $(grep -lasxz -- "$MARKER=$short" /proc/[0-9]*/environ 2>/dev/null || true); do
        pid=${file#/proc/}
        pid=${pid%/environ}
        case "$self" in *" $pid "*) continue ;; esac
        [ -d "/proc/$pid" ] && echo "$pid"
    done
    return 0
}

# The given pids and all their descendants: Ray's dashboard and runtime-env agents rename themselves
# and drop the marker from their environment, and would outlive a killed raylet as orphans.
with_descendants() {
    local pids=" $* " added=1 pid ppid table stat
    table=$(for stat in /proc/[0-9]*/stat; do
        pid=${stat#/proc/}
        ppid=$(sed 's/.*) //' "$stat" 2>/dev/null | cut -d' ' -f2)
        [ -n "$ppid" ] && echo "${pid%/stat} $ppid"
    done)
    while [ "$added" = 1 ]; do
        added=0
        while read -r pid ppid; do
            case "$pids" in *" $ppid "*) case "$pids" in *" $pid "*) ;; *) pids+="$pid " added=1 ;; esac ;; esac
        done <<<"$table"
    done
    # shellcheck disable=SC2086  # word splitting trims the list
    echo $pids
}

# Free TCP ports and worker-port ranges, as shell assignments. Listening sockets stay open until all
# ports are chosen, so no port is handed out twice; worker ranges come from 20000-32767, below Linux's
# ephemeral range (where bound-then-closed ports of other programs would otherwise land).
pick_ports() {  # NODES
    "$PYTHON" - "$1" <<'EOF'
import random, socket, sys

nodes = int(sys.argv[1])
held = []
def free_port():
    s = socket.socket()
    s.bind(("", 0))
    held.append(s)
    return s.getsockname()[1]

def bindable(port):
    for family, host in ((socket.AF_INET, ""), (socket.AF_INET6, "::")):
        try:
            s = socket.socket(family)
        except OSError:  # no IPv6 on this machine
            continue
        try:
            s.bind((host, port))
        except OSError:
            return False
        finally:
            s.close()
    return True

named = {name: free_port() for name in ("GCS_PORT", "DASHBOARD_PORT", "CLIENT_PORT", "PG_PORT")}
agents = [free_port() for _ in range(nodes)]
width, ranges, used = 200, [], set()
rng = random.Random()
for _ in range(nodes):
    for _attempt in range(200):
        start = rng.randrange(20000, 32768 - width, width)
        if start not in used and all(bindable(p) for p in range(start, start + width)):
            used.add(start)
            ranges.append(f"{start}-{start + width - 1}")
            break
    else:
        sys.exit("ray-cluster.sh: no free range of worker ports in 20000-32767")
for name, port in named.items():
    print(f"{name}={port}")
print(f'AGENT_PORTS="{" ".join(map(str, agents))}"')
print(f'WORKER_RANGES="{" ".join(ranges)}"')
EOF
}

ray_env() {  # the environment of every Ray process of this cluster
    env -u RAY_ADDRESS -u RAY_AUTH_TOKEN -u RAY_API_SERVER_ADDRESS \
        RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH="$DIR/token" RAY_USAGE_STATS_ENABLED=0 \
        "$MARKER=$SHORT" "$@"
}

start() {
    local workers=1 cpus=1 gpus=0 memory_mb=2048 store_mb=300 postgres=0
    mkdir -p "$1"
    DIR=$(abspath "$1"); shift
    while [ $# -gt 0 ]; do
        case "$1" in
            --workers) workers=${2:?}; shift 2 ;;
            --cpus-per-node) cpus=${2:?}; shift 2 ;;
            --gpus-per-node) gpus=${2:?}; shift 2 ;;
            --memory-mb) memory_mb=${2:?}; shift 2 ;;
            --object-store-mb) store_mb=${2:?}; shift 2 ;;
            --postgres) postgres=1; shift ;;
            *) die "unknown option $1 (see: $0 --help)" ;;
        esac
    done
    for value in "$workers" "$cpus" "$gpus" "$memory_mb" "$store_mb"; do
        [[ "$value" =~ ^[0-9]+$ ]] || die "expected a whole number, got '$value'"
    done
    command -v "$RAY" >/dev/null || die "no '$RAY' on PATH (activate the virtualenv or set RAY)"

    if load_state "$DIR"; then
        if [ -n "$(cluster_pids "$SHORT")" ]; then
            die "a cluster is already running from $DIR: stop it first ($0 stop $DIR)"
        fi
        stop_cluster "$DIR" >/dev/null 2>&1 || true  # leftovers of a cluster that died
    fi
    mkdir -p "$DIR/logs"
    local began=$SECONDS ports
    ports=$(pick_ports $((workers + 1))) || die "could not pick free ports"
    eval "$ports"

    SHORT=$(mktemp -d /tmp/asr.XXXXXX)
    chmod 755 "$SHORT"
    ln -sfn "$SHORT" "$DIR/nodes"
    local agents ranges
    read -ra agents <<<"$AGENT_PORTS"
    read -ra ranges <<<"$WORKER_RANGES"
    local nodes="h" i
    for ((i = 1; i <= workers; i++)); do nodes+=" w$i"; done
    # The state is written before anything starts, so that `stop` can clean up a half-started cluster.
    cat >"$DIR/cluster.env" <<EOF
SHORT=$SHORT
NODES="$nodes"
GCS_PORT=$GCS_PORT
DASHBOARD_PORT=$DASHBOARD_PORT
CLIENT_PORT=$CLIENT_PORT
POSTGRES=$postgres
EOF
    (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$DIR/token")

    local db_env=()
    if [ "$postgres" = 1 ]; then
        bash "$HERE/postgres.sh" start "$DIR/postgres" "$PG_PORT" 2>"$DIR/logs/postgres.log" \
            || { cat "$DIR/logs/postgres.log" >&2; fail_start "PostgreSQL did not start"; }
        db_env=("ARCHSCALE_DB=$(bash "$HERE/postgres.sh" url "$DIR/postgres")")
    fi

    local common=(--disable-usage-stats --num-cpus="$cpus"
        --memory=$((memory_mb * 1024 * 1024)) --object-store-memory=$((store_mb * 1024 * 1024)))
    log "starting the head node (GCS port $GCS_PORT, dashboard http://127.0.0.1:$DASHBOARD_PORT)"
    ray_env env "${db_env[@]}" "$RAY" start --head \
        --temp-dir="$SHORT/h" --port="$GCS_PORT" \
        --include-dashboard=true --dashboard-host=127.0.0.1 --dashboard-port="$DASHBOARD_PORT" \
        --ray-client-server-port="$CLIENT_PORT" --dashboard-agent-listen-port="${agents[0]}" \
        --min-worker-port="${ranges[0]%-*}" --max-worker-port="${ranges[0]#*-}" \
        --num-gpus=0 "${common[@]}" >"$DIR/logs/h.log" 2>&1 &
    local head=$!
    # Worker nodes can join as soon as the GCS listens: they start while the head's dashboard does.
    until (exec 3<>"/dev/tcp/127.0.0.1/$GCS_PORT") 2>/dev/null; do
        kill -0 "$head" 2>/dev/null || { wait "$head" || true; fail_start "the head node did not start"; }
        [ $((SECONDS - began)) -lt "$START_TIMEOUT" ] || fail_start "the GCS did not listen within ${START_TIMEOUT}s"
        sleep 0.2
    done
    local pids=() node
    for ((i = 1; i <= workers; i++)); do
        node=w$i
        ray_env env -u ARCHSCALE_DB "$RAY" start --address="127.0.0.1:$GCS_PORT" --temp-dir="$SHORT/$node" \
            --dashboard-agent-listen-port="${agents[$i]}" \
            --min-worker-port="${ranges[$i]%-*}" --max-worker-port="${ranges[$i]#*-}" \
            --num-gpus="$gpus" "${common[@]}" >"$DIR/logs/$node.log" 2>&1 &
        pids+=($!)
    done
    wait "$head" || fail_start "the head node did not start"
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || fail_start "worker node w$((i + 1)) did not start"
    done
    local address
    address=$(cat "$SHORT/h/ray_current_cluster" 2>/dev/null || echo "127.0.0.1:$GCS_PORT")
    echo "ADDRESS=$address" >>"$DIR/cluster.env"

    wait_for_nodes $((workers + 1)) || fail_start "the cluster did not come up within ${START_TIMEOUT}s"
    log "$((workers + 1)) nodes up in $((SECONDS - began))s; clients: eval \"\$($0 env $DIR)\""
}

fail_start() {
    log "$1; start-up logs in $DIR/logs:"
    tail -n 15 "$DIR"/logs/*.log >&2 2>/dev/null || true
    stop_cluster "$DIR" >&2 || true
    exit 1
}

# Poll the dashboard until the Jobs API answers (with the token) and Ray reports N alive nodes.
wait_for_nodes() {
    "$PYTHON" - "$1" "http://127.0.0.1:$DASHBOARD_PORT" "$DIR/token" "$START_TIMEOUT" <<'EOF'
import json, sys, time, urllib.request

want, url, token_path, timeout = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
headers = {"Authorization": "Bearer " + open(token_path).read().strip()}
deadline, alive = time.monotonic() + timeout, None
while time.monotonic() < deadline:
    try:
        urllib.request.urlopen(urllib.request.Request(url + "/api/jobs/", headers=headers), timeout=5).read()
        request = urllib.request.Request(url + "/api/v0/nodes?limit=1000", headers=headers)
        nodes = json.load(urllib.request.urlopen(request, timeout=5))["data"]["result"]["result"]
        alive = sum(node["state"] == "ALIVE" for node in nodes)
        if alive >= want:
            sys.exit(0)
    except (OSError, ValueError, KeyError):
        pass
    time.sleep(0.5)
print(f"ray-cluster.sh: {alive} of {want} nodes alive after {timeout:.0f}s", file=sys.stderr)
sys.exit(1)
EOF
}

stop_cluster() {  # DIR: stop the Ray processes of the cluster in DIR, then its PostgreSQL
    local dir=$1 pids i
    load_state "$dir" || { log "nothing to stop in $dir (no cluster.env)"; return 0; }
    if [ -n "${SHORT:-}" ]; then
        # shellcheck disable=SC2046
        pids=$(with_descendants $(cluster_pids "$SHORT"))
        if [ -n "$pids" ]; then
            # shellcheck disable=SC2086
            kill -TERM $pids 2>/dev/null || true
            for ((i = 0; i < GRACE * 10; i++)); do
                [ -z "$(cluster_pids "$SHORT")" ] && break
                sleep 0.1
            done
            # the GCS server can hang on SIGTERM while flushing metrics; everything left gets SIGKILL
            for ((i = 0; i < 50; i++)); do
                # shellcheck disable=SC2086
                kill -KILL $pids 2>/dev/null || true
                [ -z "$(cluster_pids "$SHORT")" ] && break
                sleep 0.1
            done
            [ -z "$(cluster_pids "$SHORT")" ] || log "some processes of $SHORT survived SIGKILL"
        fi
        case "$SHORT" in /tmp/asr.*) rm -rf "$SHORT" ;; esac
    fi
    rm -f "$dir/nodes"
    if [ "${POSTGRES:-0}" = 1 ] && [ -f "$dir/postgres/PG_VERSION" ]; then
        bash "$HERE/postgres.sh" stop "$dir/postgres" || log "PostgreSQL in $dir/postgres did not stop"
    fi
    rm -f "$dir/cluster.env"
    log "stopped the cluster of $dir"
}

status() {
    DIR=$(abspath "$1")
    load_state "$DIR" || { echo "no cluster in $DIR"; return 3; }
    local want=0 node up
    # shellcheck disable=SC2153  # NODES comes from cluster.env
    for node in $NODES; do
        want=$((want + 1))
        up=down
        for pid in $(cluster_pids "$SHORT"); do
            if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "raylet.*$SHORT/$node/"; then up="up (raylet pid $pid)"; fi
        done
        echo "node $node: $up"
    done
    echo "GCS: ${ADDRESS:-?}  dashboard/Jobs API: http://127.0.0.1:$DASHBOARD_PORT  Ray Client: ray://127.0.0.1:$CLIENT_PORT"
    START_TIMEOUT=0.1 wait_for_nodes "$want" 2>/dev/null && { echo "Ray reports $want alive nodes"; return 0; }
    echo "Ray does not report $want alive nodes"
    return 1
}

print_env() {
    DIR=$(abspath "$1")
    load_state "$DIR" || die "no cluster in $DIR (start one first)"
    echo "unset RAY_AUTH_TOKEN"
    printf 'export RAY_ADDRESS=%q\n' "${ADDRESS:-127.0.0.1:$GCS_PORT}"
    printf 'export RAY_API_SERVER_ADDRESS=%q\n' "http://127.0.0.1:$DASHBOARD_PORT"
    printf 'export RAY_AUTH_MODE=%q\n' token
    printf 'export RAY_AUTH_TOKEN_PATH=%q\n' "$DIR/token"
    if [ "${POSTGRES:-0}" = 1 ]; then
        printf 'export ARCHSCALE_DB=%q\n' "$(bash "$HERE/postgres.sh" url "$DIR/postgres")"
    fi
}

case "${1:-}" in
    start) [ $# -ge 2 ] || usage; shift; start "$@" ;;
    stop)
        [ $# -eq 2 ] || usage
        if [ -d "$2" ]; then stop_cluster "$(abspath "$2")"; else log "nothing to stop: no directory $2"; fi ;;
    status) [ $# -eq 2 ] || usage; status "$2" ;;
    env) [ $# -eq 2 ] || usage; print_env "$2" ;;
    -h | --help) usage 0 ;;
    *) usage ;;
esac
