#!/usr/bin/env bash
# make bench: the benchmarks, against the real stack (Postgres, gunicorn, Redis as the broker). Each one
# prints a markdown table and writes it to bench/results/<name>.md (git-ignored). Timings are reported for
# a person to judge; they are never asserted in tests.
#
# Knobs (environment): BENCH_DB (default cityvibes_bench), BENCH_REDIS_DB (4), BENCH_PHOTOS (5000),
# BENCH_CITIES (266), BENCH_CONCURRENCY (8), BENCH_WARMUP (3 s), BENCH_DURATION (15 s),
# BENCH_FAULT_CLIENTS (50), BENCH_FAULT_DURATION (45 s), BENCH_FAULT_KILLS (4),
# BENCH_ONLY (run only the benchmarks whose name contains this).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"

export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
BENCH_DB=${BENCH_DB:-cityvibes_bench}
export DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$BENCH_DB"
export CELERY_BROKER_URL="redis://127.0.0.1:6379/${BENCH_REDIS_DB:-4}"
export CONN_MAX_AGE=${CONN_MAX_AGE:-60}
export DEBUG=0
export DJANGO_SETTINGS_MODULE=vibes_site.settings.local
export MEDIA_ROOT=${MEDIA_ROOT:-$(pwd)/var/bench-media}
export STATIC_ROOT=${STATIC_ROOT:-$(pwd)/var/bench-static}
# The bench database's model artifacts (derived catalogues) apart from the dev database's var/models.
export MODELS_ROOT=${MODELS_ROOT:-$(pwd)/var/bench-models}
mkdir -p "$MEDIA_ROOT" "$STATIC_ROOT" "$MODELS_ROOT"

echo "== bench database $BENCH_DB on $PGHOST:$PGPORT"
createdb "$BENCH_DB" 2>/dev/null || true # already there is fine
"$PY" manage.py migrate --noinput -v0
"$PY" -m bench.data --photos "${BENCH_PHOTOS:-5000}" --cities "${BENCH_CITIES:-266}"

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
# The benchmarks. One `run_bench <name> <command…>` line each; every command prints its table and writes
# bench/results/<name>.md. New benchmarks (ML inference, ingest, …) are appended in this section.
# ---------------------------------------------------------------------------------------------------------
run_bench swipe_roundtrip "$PY" -m bench.swipe_roundtrip $(command -v wrk >/dev/null && echo --wrk) \
  --concurrency "${BENCH_CONCURRENCY:-8}" --warmup "${BENCH_WARMUP:-3}" --duration "${BENCH_DURATION:-15}"
# The swipe loop under load while the database drops connections (issue 10): acknowledged swipes vs rows,
# replay equality for every profile, the 5xx count. About a minute.
run_bench swipe_faults "$PY" -m bench.swipe_faults --clients "${BENCH_FAULT_CLIENTS:-50}" \
  --duration "${BENCH_FAULT_DURATION:-45}" --kills "${BENCH_FAULT_KILLS:-4}"
# Scorers x next-photo policies against simulated people (NDCG@5, hit@5, swipes to match the original).
# --from-db uses the active model's photos when they have CNN vectors and embeddings; otherwise it says why
# and runs on a synthetic catalogue shaped like a real one (266 cities, uneven photo counts).
run_bench recommend_sim "$PY" -m bench.recommend_sim --people "${RECOMMEND_PEOPLE:-200}" --from-db
run_bench ingest_rate "$PY" bench/ingest_rate.py
run_bench ml_pipeline "$PY" bench/ml_pipeline.py
# Training variants on real photos (REAL_PHOTOS=<folder of <city-slug>/*.jpg>; REAL_PHOTOS_VARIANTS,
# REAL_PHOTOS_LIMIT), scored on a seeded hold-out; without REAL_PHOTOS it says so and skips.
run_bench real_photos "$PY" bench/real_photos.py
# Growth: 5k/20k/50k photos under a synthetic CNN (BENCH_SCALE_SIZES), engine load, worker RSS, swipes vs
# the P1 anchor view, open loop, swipes while vectors are added; the rescore job over 10k and 100k profiles
# (BENCH_SCALE_PROFILES), query plans. ~15 minutes. It rebuilds the bench set as a CNN catalogue: run it
# last (BENCH_ONLY=scale make bench).
run_bench scale "$PY" -m bench.scale
# (append further benchmarks here)
# ---------------------------------------------------------------------------------------------------------

echo
if ((${#failed[@]})); then
  echo "== bench: FAILED: ${failed[*]} (tables for the others are in bench/results/)"
  exit 1
fi
echo "== bench: done; tables in bench/results/"
