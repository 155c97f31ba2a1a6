#!/usr/bin/env bash
# make demo: migrate, load the catalogue and a demo photo set, create an admin, start a worker and the web app.
# With no DATABASE_URL / CELERY_BROKER_URL it is self-contained: SQLite + kombu's filesystem broker.
#   PORT (8000), HOST (127.0.0.1: this machine only; HOST=0.0.0.0 opens it to the network),
#   ADMIN_PASSWORD (default: generated once and kept in var/admin-password), DEMO_REAL_PHOTOS (auto|yes|no).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PORT=${PORT:-8000}
HOST=${HOST:-127.0.0.1}
export DJANGO_SETTINGS_MODULE=vibes_site.settings.local
# DEBUG off: no debug pages listing every URL; whitenoise serves the static files (WHITENOISE_USE_FINDERS).
export DEBUG=${DEBUG:-0}
if [ "$HOST" != 127.0.0.1 ] && [ "$HOST" != localhost ] && [ -z "${ALLOWED_HOSTS:-}" ]; then
  export ALLOWED_HOSTS="*"  # reached by whatever address the network uses for this machine
fi
# The swipe queue skips photos whose quality (scored after each training) is below this. The demo's drawn
# postcards look like graphics to the junk detector, so the demo shows them all; a real gallery keeps 0.5.
export VIBES_MIN_PHOTO_QUALITY=${VIBES_MIN_PHOTO_QUALITY:-0}
PY="$VENV/bin/python"

"$PY" manage.py migrate --noinput -v0
# Real, freely licensed photos: from Wikimedia Commons when it answers and SCRAPE_USER_AGENT names your contact
# (Wikimedia's rule for bots), else from Openverse, else synthetic postcards (DEMO_REAL_PHOTOS=no always draws
# the postcards). E.g. SCRAPE_USER_AGENT="CityVibes/1.0 (https://your.site; you@your.site)" make demo
"$PY" manage.py seed_demo --real-photos "${DEMO_REAL_PHOTOS:-auto}"
ADMIN_LINE=$("$PY" manage.py ensure_admin --username admin ${ADMIN_PASSWORD:+--password "$ADMIN_PASSWORD"})
PHOTOS_LINE=$("$PY" manage.py shell -v0 -c "
from collections import Counter
from cities.models import Photo
sources = Counter(Photo.objects.servable().values_list('source', flat=True))
synthetic = sources.pop('synthetic', 0)
parts = [f'{n} real ({source})' for source, n in sources.most_common()]
parts += [f'{synthetic} synthetic postcards (no real photos could be fetched)' if not sources and synthetic
          else f'{synthetic} synthetic postcards' if synthetic else '']
print(' and '.join(p for p in parts if p))
")

# A real worker process runs every job (never inline in a web request); it serves all three queues here, and
# -B runs the housekeeping schedule in it too (stale jobs end failed; see CELERY_BEAT_SCHEDULE). Its log goes
# to a file, so its banner does not scroll the summary below away.
mkdir -p var
"$VENV/bin/celery" -A vibes_site worker -Q default,ml,classify --concurrency 1 --loglevel INFO \
  -B --schedule var/celerybeat-schedule --logfile var/worker.log >>var/worker.log 2>&1 &
WORKER_PID=$!
trap 'kill $WORKER_PID 2>/dev/null || true' EXIT INT TERM

# The first CNN is trained on the worker (see the README for how long) and activated when done; until then
# the label-only baseline serves the swipe loop. Progress: Admin -> Jobs.
"$PY" manage.py train --enqueue --activate --skip-small-cities --if-untrained

# gunicorn in the background first, so the summary is the last thing printed once it listens.
mkdir -p staticfiles  # whitenoise serves from the finders (no collectstatic) but warns without STATIC_ROOT
"$VENV/bin/gunicorn" vibes_site.wsgi:application --bind "$HOST:$PORT" --workers 2 --threads 4 \
  --access-logfile var/access.log --log-level warning >>var/web.log 2>&1 &
WEB_PID=$!
trap 'kill $WEB_PID $WORKER_PID 2>/dev/null || true' EXIT INT TERM
PROBE_HOST=$([ "$HOST" = 0.0.0.0 ] && echo 127.0.0.1 || echo "$HOST")
up=""
for _ in $(seq 100); do
  if "$PY" -c "import urllib.request; urllib.request.urlopen('http://$PROBE_HOST:$PORT/livez/', timeout=1)" \
    2>/dev/null; then up=1; break; fi
  sleep 0.2
done
if [ -z "$up" ]; then
  echo "The web app did not answer on $HOST:$PORT; the end of var/web.log:"; tail -n 20 var/web.log; exit 1
fi
sleep 1  # the second gunicorn worker finishes loading; its log goes to var/web.log anyway
SHOWN_HOST=$PROBE_HOST
cat <<MSG

  ================================================================================
  City Vibes is running:  http://$SHOWN_HOST:$PORT/   (listening on $HOST:$PORT)
  Admin:                  http://$SHOWN_HOST:$PORT/admin/
  Admin login:            $ADMIN_LINE
  Demo photos:            ${PHOTOS_LINE:-none}
  Logs:                   var/worker.log (jobs, the first training), var/web.log, var/access.log
  Ctrl-C stops the web app and the worker.
  ================================================================================

MSG
wait $WEB_PID
