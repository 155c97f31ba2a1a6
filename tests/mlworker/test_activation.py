"""The one activation contract: predict what is missing, switch atomically, re-check for photos added
meanwhile, queue the rescore. Label-only versions go through the same `activate` as a CNN (no TensorFlow)."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from cities.models import Photo
from jobs.models import Job
from mlworker import services
from mlworker.models import ModelVersion, PhotoPrediction
from swipes import services as swipe_services
from swipes.models import UserProfile
from tests.helpers import ingest_photo, jpeg_bytes, run_queued_jobs


@pytest.fixture
def baseline(photo_set):
    photo_set()
    return ModelVersion.objects.get(is_active=True)


def candidate(baseline, status=ModelVersion.Status.READY) -> ModelVersion:
    """Another version over the same cities, with no vectors yet."""
    return ModelVersion.objects.create(
        name="candidate", backbone=ModelVersion.LABEL_ONLY, city_ids=baseline.city_ids, status=status
    )


def test_activation_predicts_every_photo_that_has_no_vector_first(baseline):
    version = candidate(baseline)
    assert not PhotoPrediction.objects.filter(model_version=version).exists()
    seen = []

    def progress(done, total, message=""):
        vectors = PhotoPrediction.objects.filter(model_version=version).count()
        seen.append((ModelVersion.objects.get(pk=version.pk).is_active, vectors))

    result = services.activate(version, progress)
    assert seen[0] == (False, 12)  # every vector was written before the swipe loop could use it
    version.refresh_from_db()
    assert version.is_active and ModelVersion.objects.filter(is_active=True).count() == 1
    assert PhotoPrediction.objects.filter(model_version=version).count() == Photo.objects.count() == 12
    assert result["predicted"] == 12


def test_photos_added_while_it_predicted_get_a_vector_too(baseline, make_city):
    version = candidate(baseline)
    added = []

    def progress(done, total, message=""):
        if not added:  # a photo arrives while the old model is still the active one
            added.append(ingest_photo(Photo.objects.first().city, "late.jpg", jpeg_bytes(seed=999)))

    services.activate(version, progress)
    assert added and PhotoPrediction.objects.filter(model_version=version, photo=added[0]).exists()


@pytest.mark.parametrize("status", [ModelVersion.Status.TRAINING, ModelVersion.Status.FAILED])
def test_a_version_that_is_not_ready_is_refused(baseline, status):
    version = candidate(baseline, status)
    with pytest.raises(services.ModelUnavailable, match="not ready"):
        services.activate(version)
    assert ModelVersion.objects.get(is_active=True) == baseline
    assert not PhotoPrediction.objects.filter(model_version=version).exists()


def test_the_switch_is_atomic_the_old_model_stays_if_it_fails(baseline):
    version = candidate(baseline)
    # It fails in the switch itself: the row stopped being ready after the caller read it.
    ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.FAILED)
    with pytest.raises(services.ModelUnavailable, match="no longer ready"):
        services.activate(version)
    assert list(ModelVersion.objects.filter(is_active=True)) == [baseline]


def test_switching_models_queues_a_rescore_that_rebuilds_every_profile(baseline):
    profile = UserProfile.objects.create()
    photo = Photo.objects.order_by("queue_key").first()
    swipe_services.record_swipe(profile, photo.pk, liked=True)
    version = candidate(baseline)
    result = services.activate(version)
    job = Job.objects.get(pk=result["rescore_job"])
    assert job.kind == "rescore" and job.status == Job.Status.QUEUED
    (done,) = run_queued_jobs("rescore")
    profile.refresh_from_db()
    assert done.status == Job.Status.SUCCEEDED and profile.scores_model == version
    assert np.asarray(PhotoPrediction.objects.get(model_version=version, photo=photo).vector).sum() > 0.99


def test_the_first_model_has_no_profiles_to_rescore(db, make_city):
    ingest_photo(make_city("alpha"), "a.jpg", jpeg_bytes(seed=1))
    services.sync_label_only_model()
    assert ModelVersion.objects.filter(is_active=True).exists()
    assert list(Job.objects.values_list("kind", flat=True)) == ["derive"]  # the catalogue, no rescore


def test_a_training_left_behind_by_a_dead_job_is_marked_failed(baseline):
    dead = Job.objects.create(kind="train", status=Job.Status.FAILED)
    alive = Job.objects.create(kind="train", status=Job.Status.RUNNING)
    ModelVersion.objects.create(name="a", backbone="efficientnet_lite0", params={"job": dead.pk})
    ModelVersion.objects.create(name="b", backbone="efficientnet_lite0", params={"job": alive.pk})
    old_cli = ModelVersion.objects.create(name="c", backbone="efficientnet_lite0", params={"job": None})
    ModelVersion.objects.filter(pk=old_cli.pk).update(created_at=timezone.now() - timedelta(hours=5))
    assert services.fail_abandoned_trainings() == 2
    statuses = dict(ModelVersion.objects.values_list("name", "status"))
    assert statuses["a"] == statuses["c"] == ModelVersion.Status.FAILED
    assert statuses["b"] == ModelVersion.Status.TRAINING


def test_reading_the_model_list_ends_a_training_whose_job_died(db, staff_client):
    dead = Job.objects.create(kind="train", status=Job.Status.FAILED)
    version = ModelVersion.objects.create(name="a", backbone="efficientnet_lite0", params={"job": dead.pk})
    page = staff_client.get("/admin/mlworker/modelversion/").content.decode()
    version.refresh_from_db()
    assert version.status == ModelVersion.Status.FAILED and "Failed" in page
