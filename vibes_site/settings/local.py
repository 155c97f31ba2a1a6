"""Development and `make demo`: DEBUG on unless DEBUG=false; SQLite and the filesystem broker unless
DATABASE_URL / CELERY_BROKER_URL say otherwise (the defaults in base)."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
