#!/usr/bin/env bash
# make bench: the benchmarks. Each prints a markdown table and writes it to bench/results/<name>.md
# (git-ignored). Timings are reported for a person to judge; they are never asserted in tests.
#
# Knobs (environment): BENCH_ONLY (run only the benchmarks whose name contains this), RECOMMEND_PEOPLE
# (simulated people per taste, default 200), DATABASE_URL (when set, recommend_sim reads the active
# model's photos and embeddings from it, falling back on a synthetic catalogue if it has none).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-vibes_site.settings}
# One BLAS thread, as a web worker should run: the per-request maths is small, and on a busy machine a
# second BLAS thread waits for a core (a 0.1 ms choose measured 8 ms with two threads on 2 loaded cores).
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

failed=()
run_bench() { # run_bench NAME COMMAND...: run one benchmark, keep going if it fails
  local name=$1
  shift
  if [[ -n ${BENCH_ONLY:-} && $name != *"$BENCH_ONLY"* ]]; then return 0; fi
  echo
  echo "== bench: $name"
  "$@" || failed+=("$name")
}

# ---------------------------------------------------------------------------------------------------------
# The benchmarks. One `run_bench <name> <command…>` line each.
# ---------------------------------------------------------------------------------------------------------
# Scorers x next-photo policies against simulated people (NDCG@5, hit@5, swipes to match the original).
run_bench recommend_sim "$PY" -m bench.recommend_sim --people "${RECOMMEND_PEOPLE:-200}" \
  ${DATABASE_URL:+--from-db}
# (append further benchmarks here)
# ---------------------------------------------------------------------------------------------------------

echo
if ((${#failed[@]})); then
  echo "== bench: FAILED: ${failed[*]} (tables for the others are in bench/results/)"
  exit 1
fi
echo "== bench: done; tables in bench/results/"
