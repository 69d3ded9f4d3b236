#!/usr/bin/env bash
# Run every CPU study of the paper's claims into one SQLite database, then render docs/reproduction.md,
# docs/reproduction.json and the figures from it (`archscale reproduce`). About 15 minutes on 2 cores.
#
#   bash studies/reproduce-cpu.sh [DATABASE_FILE]           (default: ./reproduction.db)
#   bash studies/reproduce-cpu.sh --check [DATABASE_FILE]   re-run every study into a new database (default:
#        a temporary file) and list every claim whose numbers or verdict differ from the committed
#        docs/reproduction.json; exit status 1 when any does. Nothing under docs/ is written.
set -euo pipefail
cd "$(dirname "$0")/.."
check=false
if [ "${1:-}" = "--check" ]; then check=true; shift; fi
archscale=${ARCHSCALE:-.venv/bin/archscale}
if $check; then
    file=${1:-$(mktemp -u "${TMPDIR:-/tmp}/reproduction-check.XXXXXX.db")}
    if [ -e "$file" ]; then echo "reproduce-cpu.sh: --check needs a new database, and $file exists" >&2; exit 2; fi
else
    file=${1:-reproduction.db}
fi
db="sqlite:///$(realpath -m "$file")"
studies=(paper-mlp-depth-cpu paper-mlp-topology-cpu paper-cnn-kernels-cpu paper-gelu-mlp-depth-cpu
         paper-gelu-mlp-topology-cpu paper-gelu-cnn-cpu paper-nb201-proxy-cpu)
for study in "${studies[@]}"; do
    echo "== $study" >&2
    "$archscale" run "studies/$study.yaml" --db "$db" --no-compare
    if ! $check; then
        "$archscale" compare "$study" --db "$db" --format html --out "docs/figures/$study" >/dev/null
    fi
done
if $check; then
    echo "== checking every claim against docs/reproduction.json (results in $file)" >&2
    exec "$archscale" reproduce --db "$db" --check docs/reproduction.json
fi
"$archscale" reproduce --db "$db" --figures docs/figures --out docs
