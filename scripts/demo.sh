#!/usr/bin/env bash
# make demo: migrate, load the catalogue and a demo photo set, create an admin, start a worker and the web app.
# With no DATABASE_URL / CELERY_BROKER_URL it is self-contained: SQLite + kombu's filesystem broker.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PORT=${PORT:-8000}
export DJANGO_SETTINGS_MODULE=vibes_site.settings.local
export DEBUG=${DEBUG:-1}
# The swipe queue skips photos whose quality (scored after each training) is below this. The demo's drawn
# postcards look like graphics to the junk detector, so the demo shows them all; a real gallery keeps 0.5.
export VIBES_MIN_PHOTO_QUALITY=${VIBES_MIN_PHOTO_QUALITY:-0}

"$VENV/bin/python" manage.py migrate --noinput -v0
# Real, freely licensed photos: from Wikimedia Commons when it answers and SCRAPE_USER_AGENT names your contact
# (Wikimedia's rule for bots), else from Openverse, else synthetic postcards (DEMO_REAL_PHOTOS=no always draws
# the postcards). E.g. SCRAPE_USER_AGENT="CityVibes/1.0 (https://your.site; you@your.site)" make demo
"$VENV/bin/python" manage.py seed_demo --real-photos "${DEMO_REAL_PHOTOS:-auto}"
ADMIN_LINE=$("$VENV/bin/python" manage.py ensure_admin --username admin ${ADMIN_PASSWORD:+--password "$ADMIN_PASSWORD"})

# A real worker process runs every job (never inline in a web request); it serves all three queues here, and
# -B runs the housekeeping schedule in it too (stale jobs end failed; see CELERY_BEAT_SCHEDULE).
mkdir -p var
"$VENV/bin/celery" -A vibes_site worker -Q default,ml,classify --concurrency 1 --loglevel WARNING \
  -B --schedule var/celerybeat-schedule &
WORKER_PID=$!
trap 'kill $WORKER_PID 2>/dev/null || true' EXIT INT TERM

# The first CNN is trained on the worker (about a minute here) and activated when done; until then the
# label-only baseline serves the swipe loop. Progress: Admin -> Jobs.
"$VENV/bin/python" manage.py train --enqueue --activate --skip-small-cities --if-untrained

cat <<MSG

  City Vibes is running:   http://127.0.0.1:$PORT/
  Admin:                   http://127.0.0.1:$PORT/admin/   ($ADMIN_LINE)
  Demo photos: from Wikimedia Commons or Openverse, or synthetic postcards drawn here (see above).
  Ctrl-C stops the web app and the worker.

MSG
exec_gunicorn() {
  "$VENV/bin/gunicorn" vibes_site.wsgi:application --bind "0.0.0.0:$PORT" --workers 2 --threads 4 \
    --access-logfile - --log-level warning
}
exec_gunicorn
