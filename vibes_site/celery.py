"""The Celery app. Settings come from Django's (CELERY_* names); tasks are found in each app's tasks.py.

TensorFlow is never imported here or at task-module import time: a prefork parent must stay free of it.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vibes_site.settings")

app = Celery("vibes_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
