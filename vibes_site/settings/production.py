"""Production (docker-compose, any real deployment): secrets and services are required, cookies are secure.

Missing SECRET_KEY, DATABASE_URL or CELERY_BROKER_URL stops the process at start with ImproperlyConfigured,
rather than serving with a published key, a SQLite file inside the container, or a broker no worker shares.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import broker_transport_options, cache_settings, cache_url, database_settings, env

DEBUG = False


def _required(name: str, why: str) -> str:
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in the environment for production settings ({why}).")
    return value


SECRET_KEY = _required("SECRET_KEY", "it signs sessions and CSRF tokens; generate a long random one")
DATABASES = {"default": database_settings(env.db_url_config(_required("DATABASE_URL", "e.g. postgres://…")))}
CELERY_BROKER_URL = _required("CELERY_BROKER_URL", "e.g. redis://host:6379/0")
CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(CELERY_BROKER_URL)
CACHES = {"default": cache_settings(cache_url(CELERY_BROKER_URL))}
# Sessions: read from the Redis cache, written through to the database (which alone survives a Redis flush);
# the database alone when no Redis cache is configured.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if CACHES["default"]["BACKEND"].endswith("RedisCache")
    else "django.contrib.sessions.backends.db"
)

# HTTPS: the app sits behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz/$", r"^livez/$"]  # health probes talk plain HTTP to the container
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True  # no script reads the session cookie
CSRF_COOKIE_SECURE = True
# Start low and raise (to 31536000, a year) once every page is known to work over HTTPS: browsers remember it.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preloading is a promise to browser vendors that is slow to take back, so it is opt-in.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]  # `check --deploy`: chosen above
SECURE_CONTENT_TYPE_NOSNIFF = True
