"""Settings shared by every environment, read from the environment (12-factor, django-environ).

The modules beside this one pick what differs: `local` (development and `make demo`), `test` (pytest) and
`production` (docker-compose). With nothing set, the app runs self-contained: a SQLite file, a filesystem
message broker and media under ./media; production requires DATABASE_URL, CELERY_BROKER_URL and SECRET_KEY.

Importing settings has no side effects: it creates no folder and changes no environment variable. Folders
are made where they are written to (the broker's in vibes_site/celery.py, media by the storage).
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent


class _Env(environ.Env):
    # A copy of the process environment: reading .env into it must not change os.environ (django-environ's
    # read_env writes into whatever ENVIRON is), so child processes see only what their parent set.
    ENVIRON = dict(os.environ)


env = _Env()
if (BASE_DIR / ".env").exists():
    _Env.read_env(BASE_DIR / ".env", overwrite=False)

# Run-time files that are not media: the filesystem broker's folders, the model weight cache, scratch.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="insecure-dev-key-change-me-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "csp",
    "jobs",
    "cities",
    "swipes",
    "mlworker",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "vibes_site.middleware.SessionMiddleware",  # Django's, minus logging out a login that raced a request
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "vibes_site.urls"
WSGI_APPLICATION = "vibes_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_settings(config: dict) -> dict:
    """The per-engine tuning, applied to whatever DATABASE_URL names."""
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE makes a write transaction take the lock when it starts, so two concurrent swipes
        # queue up instead of failing with "database is locked" half-way through.
        config.setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
    else:
        config["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
        config["CONN_HEALTH_CHECKS"] = True
        # An unreachable database fails a request (and /healthz/) in seconds instead of hanging a worker.
        config.setdefault("OPTIONS", {}).setdefault(
            "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
        )
    return config


DATABASES = {
    "default": database_settings(env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"))
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Sessions live on the server (the database here; production puts a Redis cache in front of it), so logging
# out ends a session for good: an old cookie names a session that no longer exists. The cookie holds only
# the random session key. Expired rows are swept on the beat schedule (jobs.clear_expired_sessions).
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 365 * 24 * 3600  # a taste profile is worth keeping for a year

# Login throttling (django-axes), for the admin's login and the site's alike: after AXES_FAILURE_LIMIT wrong
# passwords for one username from one address, that pair is refused for AXES_COOLOFF_TIME, even with the
# right password (vibes_site/security.py's lockout page says so). By the pair, so a stranger cannot lock a user out
# everywhere; an admin can lift a lockout (Axes' "access attempts" in the admin, or `manage.py axes_reset`).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out pair before any password check
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "vibes_site.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "vibes_site.security.client_ip"
# How many reverse proxies that append to X-Forwarded-For stand in front of the app (0: none, as with
# docker-compose's web on :8000; the header is then ignored, since any client can write it).
PROXY_COUNT = env.int("PROXY_COUNT", default=0)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "swipes:home"
LOGOUT_REDIRECT_URL = "swipes:home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = env.str("MEDIA_URL", default="/media/")  # or the media host's URL (S3, a CDN)
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Trained model artifacts (mlworker/artifacts.py) are private: their own storage, outside MEDIA_ROOT (a check
# refuses one inside it) and without a URL. Every machine that runs an ml or classify worker must reach it:
# a shared volume here, or in production a private S3 bucket or prefix via django-storages (README).
MODELS_ROOT = Path(env.str("MODELS_ROOT", default=str(VAR_DIR / "models")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    "models": {
        "BACKEND": "vibes_site.storages.PrivateFileSystemStorage",
        "OPTIONS": {"location": MODELS_ROOT},
    },
}
# Django serves MEDIA itself unless a front proxy does (set SERVE_MEDIA=false behind nginx/S3).
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=True)


# Content-Security-Policy (django-csp): scripts, styles and everything else from this site only; no inline
# script, style attribute or eval (the templates use none: bars are SVG, confirmations are static/js/confirm.js,
# htmx is told not to add its indicator styles). Images may also come from the media host when MEDIA_URL
# names one (S3 or a CDN), and from data: URLs (the admin's icons).
def media_origin(media_url: str) -> list[str]:
    parts = urlsplit(media_url)
    return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme and parts.netloc else []


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *media_origin(MEDIA_URL)],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Uploads: each image at most 20 MB; a zip of many inflates to at most 200 MB.
MAX_IMAGE_BYTES = env.int("MAX_IMAGE_BYTES", default=20 * 1024 * 1024)
MAX_ZIP_BYTES = env.int("MAX_ZIP_BYTES", default=200 * 1024 * 1024)
# /classify/ (public): POSTs per client address and per browser session (django-ratelimit, on the cache).
CLASSIFY_RATE_PER_IP = env.str("CLASSIFY_RATE_PER_IP", default="10/m")
CLASSIFY_RATE_PER_SESSION = env.str("CLASSIFY_RATE_PER_SESSION", default="5/m")
# The client's address as login throttling reads it (REMOTE_ADDR, or X-Forwarded-For behind PROXY_COUNT proxies).
RATELIMIT_IP_META_KEY = "vibes_site.security.client_ip"
MAX_IMAGE_PIXELS = env.int("MAX_IMAGE_PIXELS", default=40_000_000)
# Two photos of one city whose perceptual hashes (64-bit pHash) differ in at most this many bits are
# the same picture (re-encoded, resized, lightly edited); the second is skipped as a near-duplicate.
NEAR_DUPLICATE_MAX_DISTANCE = env.int("NEAR_DUPLICATE_MAX_DISTANCE", default=6)
DATA_UPLOAD_MAX_NUMBER_FILES = 1000
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Photo scraping (cities/ingest/providers, cities/ingest/scrape.py; see docs/ingestion.md).
# Wikimedia serves bots only when their User-Agent names a real contact: the scraper refuses Commons (and any
# Wikimedia host) while this is still the placeholder. The HTTP library and its version are appended.
SCRAPE_USER_AGENT = env.str("SCRAPE_USER_AGENT", default="") or (
    "CityVibes/1.0 (https://github.com/city-vibes/city-vibes; cityvibes-admin@example.org)"
)
# Tests only: lets the scraper fetch from 127.0.0.1 (their stand-in server). Private, link-local and
# other non-public addresses stay refused either way.
SCRAPE_ALLOW_LOOPBACK = env.bool("SCRAPE_ALLOW_LOOPBACK", default=False)
SCRAPE_CONNECT_TIMEOUT = env.float("SCRAPE_CONNECT_TIMEOUT", default=5.0)
SCRAPE_READ_TIMEOUT = env.float("SCRAPE_READ_TIMEOUT", default=15.0)
# One request, all retries, redirects and Retry-After waits included.
SCRAPE_DEADLINE_SECONDS = env.float("SCRAPE_DEADLINE_SECONDS", default=60.0)
SCRAPE_MAX_DOWNLOAD_BYTES = env.int("SCRAPE_MAX_DOWNLOAD_BYTES", default=MAX_IMAGE_BYTES)
SCRAPE_MAX_REDIRECTS = env.int("SCRAPE_MAX_REDIRECTS", default=5)
SCRAPE_RETRIES = env.int("SCRAPE_RETRIES", default=3)  # after the first try; 5xx, 429 and connection errors
SCRAPE_BACKOFF_SECONDS = env.float("SCRAPE_BACKOFF_SECONDS", default=1.0)  # doubled after each retry
SCRAPE_HOST_INTERVAL_SECONDS = env.float("SCRAPE_HOST_INTERVAL_SECONDS", default=0.25)  # per host
# Requests in flight to one host; Wikimedia hosts get at most 2 whatever this says (their Robot policy).
SCRAPE_HOST_MAX_IN_FLIGHT = env.int("SCRAPE_HOST_MAX_IN_FLIGHT", default=8)
WIKIMEDIA_API_URL = env.str("WIKIMEDIA_API_URL", default="") or "https://commons.wikimedia.org/w/api.php"
# Commons serves scaled copies at standard widths only (20, 40, 60, 120, 250, 330, 500, 960, 1280, 1920, 3840);
# another value is rounded down to one of them.
WIKIMEDIA_THUMB_WIDTH = env.int("WIKIMEDIA_THUMB_WIDTH", default=1280)
# Openverse (openly licensed images from Flickr, Wikimedia and more). Anonymous use works; a client id and
# secret (OAuth2 client credentials, https://api.openverse.org/v1/#tag/auth) raise the rate limits.
OPENVERSE_API_URL = env.str("OPENVERSE_API_URL", default="") or "https://api.openverse.org/v1/"
OPENVERSE_CLIENT_ID = env.str("OPENVERSE_CLIENT_ID", default="")
OPENVERSE_CLIENT_SECRET = env.str("OPENVERSE_CLIENT_SECRET", default="")
# About one API call a second is what Openverse grants anonymous clients.
OPENVERSE_API_INTERVAL_SECONDS = env.float("OPENVERSE_API_INTERVAL_SECONDS", default=1.0)

# Celery. With no broker configured, kombu's filesystem transport needs no server; a real worker
# process (make demo) still runs every job.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")


def broker_transport_options(broker_url: str) -> dict:
    """kombu's options for the broker: its folders for the filesystem transport (created on first publish
    or worker start, see vibes_site/celery.py), a redelivery timeout longer than any job for the others."""
    if broker_url.startswith("filesystem://"):
        folder = VAR_DIR / "broker"
        return {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"),
            "processed_folder": str(folder / "processed"),
            "store_processed": False,
        }
    return {"visibility_timeout": 6 * 3600}


CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(CELERY_BROKER_URL)


def cache_settings(url: str) -> dict:
    """Django's Redis cache for a redis:// URL (shared by every process), else this process's own memory."""
    if url.startswith(("redis://", "rediss://")):
        return {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            # Apart from the broker's keys when both share a Redis database (the default below).
            "KEY_PREFIX": "cityvibes",
            # A Redis outage makes a cache read fail fast (cached_db sessions then read the database).
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}


def cache_url(broker_url: str) -> str:
    """CACHE_URL, else REDIS_URL, else the broker when it is Redis; anything else means per-process memory."""
    return env.str("CACHE_URL", default="") or env.str("REDIS_URL", default="") or broker_url


CACHES = {"default": cache_settings(cache_url(CELERY_BROKER_URL))}
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="default")
CELERY_ML_QUEUE = env.str("CELERY_ML_QUEUE", default="ml")
# Visitors' /classify/ jobs: a queue of their own, so they never wait behind a training (docker-compose runs
# a small worker for it; make demo's one worker serves all three queues).
CELERY_CLASSIFY_QUEUE = env.str("CELERY_CLASSIFY_QUEUE", default="classify")
CELERY_TASK_IGNORE_RESULT = True  # the Job row is the result
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False
# Every job task is routed by its declared kind (jobs/registry.py); undeclared tasks use the default queue.
CELERY_TASK_ROUTES = ("jobs.registry.route_task",)
# Housekeeping on the beat schedule (`celery worker -B` in make demo, the beat service in docker-compose).
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-jobs": {"task": "jobs.sweep_stale_jobs", "schedule": 60.0},
    "fail-abandoned-trainings": {"task": "mlworker.fail_abandoned_trainings", "schedule": 300.0},
    "clear-expired-sessions": {"task": "jobs.clear_expired_sessions", "schedule": 24 * 3600.0},
    # Classify Jobs and visitors' photos older than a day (mlworker.services.CLASSIFICATIONS_KEPT_FOR).
    "purge-old-classifications": {"task": "mlworker.purge_old_classifications", "schedule": 3600.0},
    "remove-empty-anonymous-profiles": {"task": "swipes.remove_empty_anonymous_profiles", "schedule": 3600.0},
}

# A Job still "running" after this many seconds without a progress report is treated as abandoned.
JOB_STALE_AFTER_SECONDS = env.int("JOB_STALE_AFTER_SECONDS", default=15 * 60)
# A job still "queued" after this long was lost on the way to a worker (or no worker serves its queue).
JOB_QUEUED_GIVE_UP_AFTER_SECONDS = env.int("JOB_QUEUED_GIVE_UP_AFTER_SECONDS", default=24 * 3600)

# Recommendations: which scorer turns swipes into city scores and which policy picks the next photo
# (see docs/recommendations.md and `make bench`'s simulation). "original" + "global_queue" is the
# add/subtract arithmetic and fixed shuffled queue of the first City Vibes write-up.
VIBES_SCORER = env.str("VIBES_SCORER", default="city_and_look")
VIBES_POLICY = env.str("VIBES_POLICY", default="adaptive")
# How a web process picks up a new catalogue revision: "background" (a thread loads it while the current
# engine answers requests) or "inline" (checked in the request; the tests, which need to see it at once).
VIBES_ENGINE_RELOAD = env.str("VIBES_ENGINE_RELOAD", default="background")

# Photo quality (docs/quality.md): the swipe queue skips photos whose quality (0..1, set after every
# training) is below this; never-assessed photos stay. Scene words are tagged above the second threshold.
VIBES_MIN_PHOTO_QUALITY = env.float("VIBES_MIN_PHOTO_QUALITY", default=0.5)
VIBES_SCENE_TAG_THRESHOLD = env.float("VIBES_SCENE_TAG_THRESHOLD", default=0.3)

# Label-only baseline: how much probability mass is spread over the other cities.
BASELINE_SMOOTHING = 0.1

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # urllib3's DEBUG lines carry whole URLs, query strings (where API keys travel) included.
    "loggers": {"urllib3": {"level": "INFO"}},
}
WHITENOISE_USE_FINDERS = (
    True  # serve static without collectstatic (tests, bench); production runs collectstatic
)

# Ported ImageNet weights (EfficientNet-Lite) are cached here on first use, and each machine's local copies of
# trained artifacts (from STORAGES["models"]). Never under MEDIA_ROOT (a check refuses it). The ML code is
# handed this folder (mlworker.ml never reads Django settings); it is created when written.
MODEL_CACHE_DIR = env.path("VIBES_MODEL_CACHE", default=VAR_DIR / "model-cache")
