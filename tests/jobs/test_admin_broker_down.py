"""Starting a job from the admin while the broker is unreachable: the person lands on the job's page, which
says in plain words that the job failed and why, never a bare 500; the Job is failed, not "queued" for ever.

The broker is really unreachable: the task app publishes to a port where nothing listens (a fresh producer
pool), and the working broker comes back after. Transactional tests, so the job is sent on commit as in
production (inside start_job, before the redirect).
"""

import pytest

from jobs import registry
from jobs.models import Job
from jobs.services import BROKER_DOWN
from mlworker.models import ModelVersion
from tests.helpers import staff_client_with

PLAIN_WORDS = BROKER_DOWN.split("(")[0].strip()  # "Could not hand the job to the job queue"


@pytest.fixture
def broker_down():
    app = registry.kind("rescore").task.app
    previous = app.conf.broker_write_url
    app.conf.broker_write_url, app.amqp._producer_pool = "redis://127.0.0.1:1/0", None
    yield
    app.conf.broker_write_url, app.amqp._producer_pool = previous, None


def assert_failed_job_page(client, response, kind):
    job = Job.objects.get(kind=kind)
    assert response.status_code == 302 and response["Location"] == f"/admin/jobs/job/{job.pk}/change/"
    assert job.status == Job.Status.FAILED and job.message.startswith(PLAIN_WORDS) and job.finished_at
    page = client.get(response["Location"])
    body = page.content.decode()
    assert page.status_code == 200
    assert "Failed" in body and PLAIN_WORDS in body and "Is the broker running?" in body
    assert 'hx-trigger="every 1s"' not in body  # finished: the page does not poll


@pytest.mark.django_db(transaction=True)
def test_training_started_while_the_broker_is_down_shows_a_failed_job(broker_down):
    client = staff_client_with("train_model", "view_modelversion")  # no right to the job list: their own job
    response = client.post(
        "/admin/mlworker/modelversion/train/", {"backbones": ["efficientnet_lite0"], "epochs": 3}
    )
    assert_failed_job_page(client, response, "train")


@pytest.mark.django_db(transaction=True)
def test_an_admin_action_while_the_broker_is_down_shows_a_failed_job(broker_down, photo_set):
    photo_set()
    baseline = ModelVersion.objects.get(is_active=True)
    trained = ModelVersion.objects.create(
        name="trained", backbone="efficientnet_lite0", city_ids=baseline.city_ids, status="ready"
    )
    client = staff_client_with("view_modelversion", "activate_model")
    response = client.post(
        "/admin/mlworker/modelversion/", {"action": "activate", "_selected_action": [trained.pk]}
    )
    assert_failed_job_page(client, response, "activate")
    assert ModelVersion.objects.get(is_active=True) == baseline  # nothing switched


@pytest.mark.django_db(transaction=True)
def test_a_rescore_while_the_broker_is_down_shows_a_failed_job(broker_down):
    client = staff_client_with("view_userprofile", "rescore_profiles")
    assert_failed_job_page(client, client.post("/admin/swipes/userprofile/rescore/"), "rescore")
