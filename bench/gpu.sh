#!/usr/bin/env bash
# The GPU check of issue 15, ready to run as is on a machine with an NVIDIA GPU (no network, no Ray):
# the test suite's CUDA paths (tests/test_packed_cuda.py: bf16, channels_last, device-resident data,
# packed models) and NAS-Bench-201 C=16 N=5 throughput on CIFAR-shaped synthetic data, packed at
# K = 1, 4, 8, 16 with bf16 and channels_last. Under 8 minutes; figures go under $OUT (default: a new
# temporary folder): env.txt, pytest.log, throughput.log, throughput.json, throughput.md.
#
#   bash bench/gpu.sh              # on the GPU machine (python3 with torch, numpy, scikit-learn, pytest)
#   bash bench/gpu.sh --dry-run    # the same code paths on the CPU at tiny sizes (CI), well under a minute
#
# The package is imported from platform/ (PYTHONPATH); $PYTHON picks the interpreter (default python3).
set -uo pipefail

dry_run=0
case "${1:-}" in
  --dry-run) dry_run=1 ;;
  "") ;;
  *) echo "usage: bash bench/gpu.sh [--dry-run]" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
python=${PYTHON:-python3}
export PYTHONPATH="$root/platform${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
cd "$root" || exit 2

if ((dry_run)); then
  export CUDA_VISIBLE_DEVICES="" ARCHSCALE_CUDA_TESTS_ON_CPU=1
  bench=(--device cpu --ks 1 2 --width 4 --cells 1 --image 16 --batch 8 --steps 2 --epochs 2 --threads 1)
  test_budget=120 bench_budget=60
else
  bench=(--device cuda --ks 1 4 8 16 --bf16 --channels-last --steps 30 --epochs 3)
  test_budget=240 bench_budget=180
fi

{
  date -u +"%Y-%m-%dT%H:%M:%SZ"
  echo "dry run: $dry_run"
  "$python" -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__,
"cuda", torch.cuda.is_available() and torch.cuda.get_device_name())'
  command -v nvidia-smi >/dev/null && ((!dry_run)) && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

failed=0
echo "== CUDA tests (pytest, at most ${test_budget}s)"
timeout "$test_budget" "$python" -m pytest -q -p no:cacheprovider -o addopts="" -rs tests/test_packed_cuda.py \
  2>&1 | tee "$OUT/pytest.log" || failed=1

echo "== NAS-Bench-201 packed throughput (at most ${bench_budget}s)"
timeout "$bench_budget" "$python" bench/bench_pack.py throughput "${bench[@]}" --out "$OUT" \
  2>&1 | tee "$OUT/throughput.log" || failed=1

echo "figures in $OUT"
exit "$failed"
