"""Model admin permissions: training, activating and running inference each take their own permission.

Staff with no permissions and view-only staff are refused (403, or no action offered) and start no Job; a
user holding the permission does.
"""

import pytest

from jobs.models import Job
from mlworker.models import ModelVersion
from tests.helpers import staff_client_with

TRAIN_URL = "/admin/mlworker/modelversion/train/"
CHANGELIST = "/admin/mlworker/modelversion/"
TRAIN_FORM = {"backbones": ["efficientnet_lite0"], "epochs": 3}
REFUSED = {"no permissions": (), "view-only": ("view_modelversion",)}


@pytest.fixture
def versions(photo_set):
    """The active label-only baseline and a ready, trained version that is not live."""
    photo_set()
    baseline = ModelVersion.objects.get(is_active=True)
    trained = ModelVersion.objects.create(
        name="trained", backbone="efficientnet_lite0", city_ids=baseline.city_ids, status="ready"
    )
    return baseline, trained


def run_action(client, action, version):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [version.pk]})


@pytest.mark.django_db
@pytest.mark.parametrize("who", REFUSED)
def test_staff_without_the_train_permission_cannot_train(who):
    client = staff_client_with(*REFUSED[who])
    assert client.get(TRAIN_URL).status_code == 403
    assert client.post(TRAIN_URL, TRAIN_FORM).status_code == 403
    assert not Job.objects.exclude(kind="derive").exists()
    if who == "view-only":
        assert 'id="train-model"' not in client.get(CHANGELIST).content.decode()


@pytest.mark.django_db
def test_the_train_permission_alone_is_enough_to_train():
    client = staff_client_with("train_model", "view_modelversion")
    assert 'id="train-model"' in client.get(CHANGELIST).content.decode()
    response = client.post(TRAIN_URL, TRAIN_FORM)
    job = Job.objects.get(kind="train")
    assert response.status_code == 302 and response["Location"] == f"/admin/jobs/job/{job.pk}/change/"
    # They follow their own job without the right to read every job; another trainer cannot.
    assert client.get(response["Location"]).status_code == 200
    other = staff_client_with("train_model", username="other")
    assert other.get(response["Location"]).status_code == 403


@pytest.mark.parametrize(("action", "kind"), [("activate", "activate"), ("run_inference", "predict")])
@pytest.mark.parametrize("who", REFUSED)
def test_staff_without_the_permission_get_no_model_action(versions, who, action, kind):
    _, trained = versions
    client = staff_client_with(*REFUSED[who])
    response = run_action(client, action, trained)
    # No permissions: the model list itself is closed. View-only: the action is not offered, so the admin
    # shows the list again (or "no action selected") and runs nothing.
    assert response.status_code in ((403,) if who == "no permissions" else (200, 302))
    assert not Job.objects.exclude(kind="derive").exists()
    assert ModelVersion.objects.get(is_active=True) != trained
    if who == "view-only":
        assert f'value="{action}"' not in client.get(CHANGELIST).content.decode()


@pytest.mark.parametrize(
    ("action", "kind", "codename"),
    [("activate", "activate", "activate_model"), ("run_inference", "predict", "run_inference")],
)
def test_the_model_action_runs_for_its_permission_only(versions, action, kind, codename):
    _, trained = versions
    other = {"activate_model": "run_inference", "run_inference": "activate_model"}[codename]
    client = staff_client_with("view_modelversion", other)
    run_action(client, action, trained)
    assert not Job.objects.exclude(
        kind="derive"
    ).exists()  # the other model permission does not grant this one

    client = staff_client_with("view_modelversion", codename, username="granted")
    response = run_action(client, action, trained)
    job = Job.objects.exclude(kind="derive").get()
    assert job.kind == kind and job.params == {"version": trained.pk}
    assert response.status_code == 302
