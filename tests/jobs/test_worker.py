"""Jobs on a real Celery worker process over the real Redis broker, started only by staff."""

import time

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from jobs.models import Job
from swipes import services as swipe_services
from swipes.models import UserProfile
from tests.swipes.test_swipe_loop import replayed_from_db, stored_state

RESCORE_URL = "/admin/swipes/userprofile/rescore/"


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
    user = get_user_model().objects.create_user("staff", password="pw-for-tests-only", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_userprofile"),
        Permission.objects.get(codename="rescore_profiles"),
    )
    return user


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
    assert "Recompute all profile scores" in client.get("/admin/swipes/userprofile/").content.decode()
    response = client.post(RESCORE_URL)
    job = Job.objects.get(kind="rescore")
    assert response.status_code == 302 and response["Location"] == f"/admin/jobs/job/{job.pk}/change/"
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
@pytest.mark.parametrize("who", ["anonymous", "member", "staff without the permission"])
def test_only_staff_allowed_to_change_profiles_can_start_a_rescore(client, who):
    if who != "anonymous":
        client.force_login(
            get_user_model().objects.create_user(
                "someone", password="pw-for-tests-only", is_staff=who != "member"
            )
        )
    response = client.post(RESCORE_URL)
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert "/admin/login/" in response["Location"]
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_a_rescore_is_only_started_by_a_post(client, staff_user):
    client.force_login(staff_user)
    assert client.get(RESCORE_URL).status_code == 405
    assert not Job.objects.exists()
