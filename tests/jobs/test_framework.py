"""The job framework: the registry and its routing, the run_job decorator's outcomes and retries, stale
detection, and a job page whose parts always agree. Tasks run through Celery's `.apply()`."""

import re
from datetime import timedelta

import pytest
from celery import current_app
from django.db import OperationalError
from django.utils import timezone

from jobs import registry
from jobs.models import Job
from jobs.services import WORKER_DIED, start_job, sweep_stale_jobs
from jobs.tasks import sweep_stale_jobs_task

# Test-only kinds: real Celery tasks declared through the real registry.
calls: list[str] = []
script: list[object] = []  # what each run of the scripted job does, in order


@registry.job_task(
    "test-scripted", label="Scripted test job", autoretry_for=(OperationalError,), max_retries=2
)
def scripted_job(job, progress):
    step = script.pop(0)
    calls.append(step if isinstance(step, str) else type(step).__name__)
    progress(1, 2, "half way")
    if isinstance(step, BaseException):
        raise step
    return step if isinstance(step, dict) else {"message": f"did {step}"}


@pytest.fixture(autouse=True)
def _fresh_script():
    calls.clear()
    script.clear()


def scripted(*steps) -> Job:
    script.extend(steps)
    return Job.objects.create(kind="test-scripted")


@pytest.mark.django_db
def test_a_database_blip_is_retried_and_the_job_ends_as_the_retry_ends():
    """The retry bug: the task must reach run_job, or the first failure marks the job failed for good and the
    retry finds a finished job (while Celery reports success)."""
    job = scripted(OperationalError("server closed the connection"), "the work")
    result = scripted_job.apply(args=[job.pk])
    job.refresh_from_db()
    assert calls == ["OperationalError", "the work"]
    assert result.successful() and job.status == Job.Status.SUCCEEDED and job.message == "did the work"


@pytest.mark.django_db
def test_a_job_fails_once_its_retries_run_out():
    job = scripted(*[OperationalError("down")] * 3)
    result = scripted_job.apply(args=[job.pk])
    job.refresh_from_db()
    assert len(calls) == 3 and result.failed()
    assert job.status == Job.Status.FAILED and job.message == "OperationalError: down"
    assert "Traceback" in job.result["traceback"] and job.finished_at


@pytest.mark.django_db
def test_other_errors_fail_at_once_with_the_error():
    job = scripted(RuntimeError("the disk is full"))
    scripted_job.apply(args=[job.pk])
    job.refresh_from_db()
    assert calls == ["RuntimeError"] and job.status == Job.Status.FAILED
    assert job.message == "RuntimeError: the disk is full" and job.progress_done == 1


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Job.Status.SUCCEEDED, Job.Status.PARTIAL, Job.Status.FAILED])
def test_a_finished_job_never_runs_again(status):
    job = scripted("again")
    Job.objects.filter(pk=job.pk).update(status=status, message="done before")
    scripted_job.apply(args=[job.pk])
    job.refresh_from_db()
    assert calls == [] and job.status == status and job.message == "done before"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("result", "status"),
    [
        ({"achieved": 3}, Job.Status.SUCCEEDED),
        ({"achieved": 3, "errors": ["one download failed"]}, Job.Status.PARTIAL),
        ({"achieved": 0, "errors": ["every download failed"]}, Job.Status.FAILED),
        ({"errors": ["photo 7: unreadable"]}, Job.Status.PARTIAL),
    ],
)
def test_a_job_that_achieved_nothing_is_never_green(result, status, staff_client):
    job = scripted(result)
    scripted_job.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == status and job.result == result
    block = staff_client.get(f"/jobs/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    page = block.content.decode()
    assert block.status_code == 286 and job.get_status_display() in page
    assert f"job-{ {'succeeded': 'good', 'partial': 'warning', 'failed': 'bad'}[status] }" in page
    for error in result.get("errors", []):
        assert error in page


def test_every_kind_is_routed_to_its_queue_by_the_router(settings):
    settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_ML_QUEUE = "q-default", "q-ml"
    settings.CELERY_CLASSIFY_QUEUE = "q-classify"
    expected = {
        "scrape": "q-default",
        "rescore": "q-default",
        "train": "q-ml",
        "predict": "q-ml",
        "activate": "q-ml",
        "classify": "q-classify",  # never behind a training
    }
    router = current_app.amqp.router
    for kind, queue in expected.items():
        declared = registry.kind(kind)
        assert router.route({}, declared.task_name)["queue"].name == queue, kind
        assert declared.task.soft_time_limit and declared.task.time_limit > declared.task.soft_time_limit
        # Bounded retries; classify has none (the visitor's photo is gone after one try).
        assert 0 < declared.task.max_retries <= 5 if kind != "classify" else declared.task.max_retries == 0
        assert bool(getattr(declared.task, "autoretry_for", ())) == (kind != "classify")
    assert router.route({}, "jobs.sweep_stale_jobs")["queue"].name == "q-default"


@pytest.mark.django_db(transaction=True)
def test_start_job_sends_to_the_kinds_queue_on_the_real_broker(settings):
    import uuid

    settings.CELERY_TASK_DEFAULT_QUEUE = f"test-route-default-{uuid.uuid4().hex[:8]}"
    settings.CELERY_ML_QUEUE = f"test-route-ml-{uuid.uuid4().hex[:8]}"
    settings.CELERY_CLASSIFY_QUEUE = f"test-route-classify-{uuid.uuid4().hex[:8]}"
    queues = (settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_ML_QUEUE, settings.CELERY_CLASSIFY_QUEUE)
    with current_app.connection_for_write() as connection:
        client = connection.default_channel.client  # the Redis client: queues are lists
        try:
            scrape, train = start_job("scrape", params={}), start_job("train", params={})
            start_job("classify", params={})
            assert [client.llen(queue) for queue in queues] == [1, 1, 1]
        finally:
            client.delete(*queues)
    scrape.refresh_from_db()
    assert scrape.status == Job.Status.QUEUED and scrape.celery_task_id and train.kind == "train"


@pytest.mark.django_db
def test_an_unknown_kind_is_refused_before_a_row_exists():
    with pytest.raises(registry.UnknownJobKind, match="no job kind 'trian'"):
        start_job("trian")
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_a_job_the_broker_never_got_ends_failed_saying_so(django_capture_on_commit_callbacks):
    app = registry.kind("rescore").task.app
    previous = app.conf.broker_write_url
    # Publish to a port where nothing listens (a fresh producer pool); the working broker comes back after.
    app.conf.broker_write_url, app.amqp._producer_pool = "redis://127.0.0.1:1/0", None
    try:
        with django_capture_on_commit_callbacks(execute=True):
            job = start_job("rescore")
    finally:
        app.conf.broker_write_url, app.amqp._producer_pool = previous, None
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "Is the broker running?" in job.message


@pytest.mark.django_db
def test_a_job_left_running_by_a_dead_worker_fails_on_the_beat_and_on_read(staff_client):
    now = timezone.now()
    stale = Job.objects.create(
        kind="rescore",
        status=Job.Status.RUNNING,
        started_at=now - timedelta(hours=2),
        heartbeat_at=now - timedelta(hours=1),
    )
    alive = Job.objects.create(kind="rescore", status=Job.Status.RUNNING, started_at=now, heartbeat_at=now)
    assert sweep_stale_jobs_task.apply().get() == 1
    stale.refresh_from_db()
    alive.refresh_from_db()
    assert stale.status == Job.Status.FAILED and stale.message == WORKER_DIED
    assert alive.status == Job.Status.RUNNING
    # No beat: reading the job's page is enough.
    Job.objects.filter(pk=alive.pk).update(heartbeat_at=now - timedelta(hours=1))
    page = staff_client.get(f"/admin/jobs/job/{alive.pk}/change/").content.decode()
    assert "Failed" in page and "stopped reporting" in page
    assert sweep_stale_jobs() == 0


@pytest.mark.django_db
def test_a_job_no_worker_picked_up_for_a_day_ends_failed(settings):
    old = Job.objects.create(kind="rescore")
    fresh = Job.objects.create(kind="rescore")
    Job.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    assert sweep_stale_jobs() == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == Job.Status.FAILED and "No worker picked the job up for 24 hours" in old.message
    assert fresh.status == Job.Status.QUEUED


@pytest.mark.django_db
def test_the_job_page_shows_one_status_block_that_polls_as_a_whole(staff_client):
    job = Job.objects.create(
        kind="rescore",
        status=Job.Status.RUNNING,
        progress_done=1,
        progress_total=4,
        started_at=timezone.now() - timedelta(seconds=75),
        heartbeat_at=timezone.now(),
    )
    for url in ("/admin/jobs/job/", f"/admin/jobs/job/{job.pk}/change/"):
        page = staff_client.get(url).content.decode()
        assert page.count(f'id="job-{job.pk}-progress"') == 1, url
        assert f'hx-get="/jobs/{job.pk}/progress/"' in page and "Running" in page
        # Started 75 s before the row was made; the page may be read a few seconds later on a busy machine.
        assert re.search(r"running for 1 min 1[5-9] s", page) and "Recompute profile scores" in page
    polled = staff_client.get(f"/jobs/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    assert polled.status_code == 200 and 'aria-valuenow="25"' in polled.content.decode()
    assert "1/4" in polled.content.decode()


@pytest.mark.django_db
def test_only_staff_read_job_progress(client):
    job = Job.objects.create(kind="rescore")
    response = client.get(f"/jobs/{job.pk}/progress/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
