"""Jobs: started only by staff, run by a real Celery worker process over the real Redis broker."""

import time
from datetime import timedelta

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from mlworker import tasks
from mlworker.models import Job
from mlworker.services import fail_stale_jobs, run_job
from swipes import services as swipe_services
from swipes.models import UserProfile
from tests.test_swipe_loop import replayed_from_db, stored_state


def wait_for(job: Job, timeout: float = 30) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            return job
        time.sleep(0.2)
    pytest.fail(f"job {job.pk} still {job.status} after {timeout}s: {job.message}")


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_user("staff", password="pw-for-tests-only", is_staff=True)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_rescore_job_runs_on_the_worker_and_rebuilds_scores_from_the_log(
    celery_worker_process, photo_set, client, staff_user
):
    photos = [p for city in photo_set().values() for p in city]
    profiles = [UserProfile.objects.create() for _ in range(3)]
    for i, profile in enumerate(profiles):
        for j, photo in enumerate(photos[i : i + 5]):
            swipe_services.record_swipe(profile, photo.pk, liked=(i + j) % 2 == 0)
    UserProfile.objects.update(scores=b"stale")  # a broken cache the job must repair

    client.force_login(staff_user)
    response = client.post("/jobs/rescore/")
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/admin/mlworker/job/{job.pk}/change/"
    job = wait_for(job)

    assert job.status == Job.Status.SUCCEEDED, job.message
    assert job.created_by == staff_user and job.celery_task_id
    assert (job.progress_done, job.progress_total) == (3, 3) and job.percent == 100
    assert job.started_at and job.finished_at >= job.started_at
    for profile in profiles:
        assert np.array_equal(stored_state(profile), replayed_from_db(profile))
    polled = client.get(f"/jobs/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    assert polled.status_code == 286  # htmx stops polling
    assert "Succeeded" in polled.content.decode() and "every 1s" not in polled.content.decode()


@pytest.mark.django_db
def test_a_running_job_keeps_polling(client, staff_user):
    job = Job.objects.create(
        kind=Job.Kind.RESCORE, status=Job.Status.RUNNING, progress_done=2, progress_total=8
    )
    client.force_login(staff_user)
    response = client.get(f"/jobs/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200 and 'hx-trigger="every 1s"' in page
    assert 'aria-valuenow="25"' in page and "2/8" in page


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "member"])
def test_only_staff_can_start_jobs(client, who):
    if who == "member":
        client.force_login(get_user_model().objects.create_user("member", password="pw-for-tests-only"))
    assert client.post("/jobs/rescore/").status_code == 403
    assert client.get("/jobs/rescore/").status_code == 405
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_the_job_page_in_the_admin_shows_the_progress_bar(client, staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    job = Job.objects.create(
        kind=Job.Kind.RESCORE, status=Job.Status.RUNNING, progress_done=1, progress_total=4
    )
    client.force_login(staff_user)
    page = client.get("/admin/mlworker/job/").content.decode()
    assert f'id="job-{job.pk}-progress"' in page and "Recompute all profile scores" in page
    assert 'hx-get="/jobs/' in page and "htmx" in page


@pytest.mark.django_db
def test_a_failing_job_is_marked_failed_with_the_error():
    job = Job.objects.create(kind=Job.Kind.RESCORE)

    def work(job, progress):
        progress(1, 2)
        raise RuntimeError("the disk is full")

    with pytest.raises(RuntimeError):
        run_job(job.pk, work)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.message == "RuntimeError: the disk is full"
    assert job.progress_done == 1 and "Traceback" in job.result["traceback"]


@pytest.mark.django_db
def test_a_job_left_running_by_a_dead_worker_is_marked_failed(settings):
    now = timezone.now()
    stale = Job.objects.create(
        kind=Job.Kind.RESCORE, status=Job.Status.RUNNING, heartbeat_at=now - timedelta(hours=1)
    )
    alive = Job.objects.create(kind=Job.Kind.RESCORE, status=Job.Status.RUNNING, heartbeat_at=now)
    assert fail_stale_jobs(now) == 1
    stale.refresh_from_db()
    alive.refresh_from_db()
    assert stale.status == Job.Status.FAILED and "stopped reporting" in stale.message
    assert alive.status == Job.Status.RUNNING


def test_tasks_carry_time_limits_and_bounded_retries():
    for task in tasks.TASKS_BY_KIND.values():
        assert task.soft_time_limit and task.time_limit > task.soft_time_limit
        assert 0 < task.max_retries <= 5


@pytest.mark.django_db
def test_a_database_blip_puts_the_job_back_in_the_queue_until_retries_run_out():
    from types import SimpleNamespace

    from django.db import OperationalError

    job = Job.objects.create(kind=Job.Kind.RESCORE)
    task = SimpleNamespace(
        autoretry_for=(OperationalError,), max_retries=2, request=SimpleNamespace(retries=0)
    )

    def work(job, progress):
        raise OperationalError("server closed the connection")

    with pytest.raises(OperationalError):
        run_job(job.pk, work, task=task)
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and job.message.startswith("Retrying after OperationalError")
    task.request.retries = 2  # the last try
    with pytest.raises(OperationalError):
        run_job(job.pk, work, task=task)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
