"""Visitors' classify jobs (findings 5 and 6 of issue 10): old Jobs and leftover photos are purged on the
beat schedule, and a job the broker never got leaves no photo behind and a friendly answer."""

import os
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from jobs.models import Job
from mlworker import tasks
from mlworker.services import CLASSIFY_FOLDER


def stored_photo(name: str, age: timedelta) -> str:
    name = default_storage.save(f"{CLASSIFY_FOLDER}/{name}", ContentFile(b"jpeg"))
    stamp = (timezone.now() - age).timestamp()
    os.utime(default_storage.path(name), (stamp, stamp))
    return name


def job(kind: str, age: timedelta, **fields) -> Job:
    row = Job.objects.create(kind=kind, params={"visitor": "v"}, **fields)
    Job.objects.filter(pk=row.pk).update(created_at=timezone.now() - age)
    return row


@pytest.mark.django_db
def test_the_beat_purges_classify_jobs_and_photos_older_than_a_day():
    day = timedelta(days=1)
    old_done = job("classify", day + timedelta(minutes=1), status=Job.Status.SUCCEEDED)
    old_stuck = job("classify", 3 * day)  # queued for ever: its worker is long gone
    fresh = job("classify", timedelta(hours=23))
    old_training = job("train", 30 * day, status=Job.Status.SUCCEEDED)  # not ours to purge
    leftover = stored_photo("leftover.jpg", day + timedelta(minutes=1))
    waiting = stored_photo("waiting.jpg", timedelta(minutes=5))

    assert "purge-old-classifications" in {
        name
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
        if entry["task"] == tasks.purge_old_classifications.name
    }
    tasks.purge_old_classifications.apply()

    assert set(Job.objects.values_list("pk", flat=True)) == {fresh.pk, old_training.pk}
    assert not Job.objects.filter(pk__in=[old_done.pk, old_stuck.pk]).exists()
    assert not default_storage.exists(leftover) and default_storage.exists(waiting)


@pytest.mark.django_db
def test_the_purge_copes_with_no_classify_folder_yet():
    assert not default_storage.exists(CLASSIFY_FOLDER)
    assert tasks.purge_old_classifications.apply().get() == {"jobs": 0, "files": 0}
