"""pytest (pyproject.toml): fast and self-contained. Tests get the database and broker from DATABASE_URL and
CELERY_BROKER_URL (scripts/test.sh points them at Postgres and Redis); their worker subprocesses inherit
this module through DJANGO_SETTINGS_MODULE."""

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "test-only-secret-key-not-for-any-deployment"
# MD5 makes creating users (admin and login tests) cheap; never use it outside tests.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Each test process keeps its own cache (tests clear it between tests; a Redis cache would be flushed under
# the broker's feet). tests/site/test_sessions.py runs the Redis-backed sessions of production explicitly.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Login throttling is off, so tests may log in freely; tests/site/test_login_throttling.py turns it on.
AXES_ENABLED = False

VIBES_ENGINE_RELOAD = "inline"  # a test sees a new catalogue at once
