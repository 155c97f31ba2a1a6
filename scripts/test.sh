#!/usr/bin/env bash
# The whole suite on the real services of this machine: Postgres for the database, Redis for the broker.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/cityvibes}
export CELERY_BROKER_URL=${TEST_BROKER_URL:-redis://127.0.0.1:6379/0}
export DJANGO_SETTINGS_MODULE=vibes_site.settings.test
export MEDIA_ROOT=${MEDIA_ROOT:-$(pwd)/var/test-media}

echo "== ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
# The database itself (pytest makes test_cityvibes): makemigrations checks the migration history against it.
createdb -h 127.0.0.1 -U postgres cityvibes 2>/dev/null || true
echo "== makemigrations --check"
"$VENV/bin/python" manage.py makemigrations --check --dry-run
echo "== pytest"
"$VENV/bin/pytest" "$@"
