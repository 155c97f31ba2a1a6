"""The Celery app. Settings come from Django's (CELERY_* names); tasks are found in each app's tasks.py.

TensorFlow is never imported here or at task-module import time: a prefork parent must stay free of it.
"""

import os
from pathlib import Path

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vibes_site.settings.local")

app = Celery("vibes_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

FILESYSTEM_BROKER_FOLDERS = ("data_folder_in", "data_folder_out", "control_folder", "processed_folder")


def make_broker_folders(broker_url: str, transport_options: dict) -> None:
    """kombu's filesystem transport writes into its folders but never creates them; nothing else needs
    them, so they are made here, just before the first message is sent or the first worker listens."""
    if not broker_url.startswith("filesystem://"):
        return
    for key in FILESYSTEM_BROKER_FOLDERS:
        if transport_options.get(key):
            Path(transport_options[key]).mkdir(parents=True, exist_ok=True)


@signals.before_task_publish.connect
@signals.worker_init.connect
def _make_broker_folders(**_):
    make_broker_folders(app.conf.broker_url or "", app.conf.broker_transport_options or {})
