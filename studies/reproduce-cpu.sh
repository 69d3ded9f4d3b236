#!/usr/bin/env bash
# Run every CPU study of the paper's claims into one SQLite database, then render docs/reproduction.md,
# docs/reproduction.json and the figures from it. About 11 minutes on 2 cores.
#
#   bash studies/reproduce-cpu.sh [DATABASE_FILE]        (default: ./reproduction.db)
set -euo pipefail
cd "$(dirname "$0")/.."
db="sqlite:///$(realpath -m "${1:-reproduction.db}")"
archscale=${ARCHSCALE:-.venv/bin/archscale}
studies=(paper-mlp-depth-cpu paper-mlp-topology-cpu paper-cnn-kernels-cpu paper-gelu-mlp-depth-cpu
         paper-gelu-mlp-topology-cpu paper-gelu-cnn-cpu paper-nb201-proxy-cpu)
for study in "${studies[@]}"; do
    echo "== $study" >&2
    "$archscale" run "studies/$study.yaml" --db "$db" --no-compare
    "$archscale" compare "$study" --db "$db" --format html --out "docs/figures/$study" >/dev/null
done
.venv/bin/python -m archscale.report.reproduction --db "$db" --figures docs/figures --out docs
