"""Visitors' classify jobs (findings 5 and 6 of issue 10): old Jobs and leftover photos are purged on the
beat schedule, and a job the broker never got leaves no photo behind and a friendly answer."""

import os
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from cities.ingest.validation import validate_image
from jobs import registry
from jobs.models import Job
from mlworker import tasks
from mlworker.services import CLASSIFY_FOLDER, start_classification
from tests.helpers import jpeg_bytes


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


@pytest.fixture
def broker_down():
    """Publishing goes to a port where nothing listens (as in tests/jobs/test_framework.py)."""
    app = registry.kind("classify").task.app
    previous = app.conf.broker_write_url
    app.conf.broker_write_url, app.amqp._producer_pool = "redis://127.0.0.1:1/0", None
    yield
    app.conf.broker_write_url, app.amqp._producer_pool = previous, None


def visitor_photos() -> list[str]:
    return default_storage.listdir(CLASSIFY_FOLDER)[1] if default_storage.exists(CLASSIFY_FOLDER) else []


@pytest.mark.django_db(transaction=True)  # no transaction around the view: start_job sends at once
def test_with_the_broker_down_the_visitor_is_told_and_no_photo_is_left(trained_model, broker_down):
    response = Client().post(
        "/classify/", {"photo": SimpleUploadedFile("me.jpg", jpeg_bytes(), "image/jpeg")}
    )
    assert response.status_code == 503
    assert "our job queue could not be reached. Your photo was not kept." in response.content.decode()
    job = Job.objects.get(kind="classify")
    assert job.status == Job.Status.FAILED and "Is the broker running?" in job.message
    assert visitor_photos() == []


def test_inside_a_transaction_the_photo_goes_when_the_send_fails_on_commit(
    db, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = start_classification("visitor", validate_image("me.jpg", jpeg_bytes()))
        assert job.status == Job.Status.QUEUED and visitor_photos()  # not sent yet
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and visitor_photos() == []


def test_a_photo_that_was_sent_stays_for_its_worker(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = start_classification("visitor", validate_image("me.jpg", jpeg_bytes()))
    job.refresh_from_db()
    try:
        assert job.status == Job.Status.QUEUED and job.celery_task_id
        assert default_storage.exists(job.params["name"])
    finally:
        with registry.kind("classify").task.app.connection_for_write() as connection:
            connection.default_channel.client.delete(settings.CELERY_CLASSIFY_QUEUE)
