"""Photos, trained models and visitors' uploads go through the storage API, so the app runs on storages
that have no local paths (S3 in production; Django's InMemoryStorage here)."""

import pytest
from django.core.files.storage import default_storage, storages

from cities.ingest.validation import validate_image
from cities.services import after_photos_added
from jobs.models import Job
from mlworker import services, tasks
from mlworker.models import ModelVersion, PhotoPrediction
from tests.helpers import ingest_photo, jpeg_bytes, run_queued_jobs

pytestmark = pytest.mark.ml

COLOURS = {"alpha": (220, 40, 40), "beta": (40, 200, 60), "gamma": (40, 60, 220)}


@pytest.fixture
def memory_storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
        "models": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    settings.MEDIA_ROOT = tmp_path / "media-must-stay-empty"
    settings.MODEL_CACHE_DIR = tmp_path / "model-cache"
    default_storage.exists("x")  # sets up the lazy default storage
    assert type(default_storage._wrapped).__name__ == "InMemoryStorage"
    return settings.MEDIA_ROOT


def test_ingest_train_predict_and_classify_without_a_filesystem(memory_storage, make_city):
    for slug, colour in COLOURS.items():
        city = make_city(slug)
        for i in range(6):
            ingest_photo(city, f"{slug}-{i}.jpg", jpeg_bytes(colour, size=(48, 48), seed=10 * i + len(slug)))
    run_queued_jobs("predict")
    job = Job.objects.create(
        kind="train",
        params={
            "backbones": ["mobilenet_v2"],
            "weights": None,
            "input_size": 32,
            "epochs": 3,
            "activate": True,
        },
    )
    tasks.train_model.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.message
    version = ModelVersion.objects.get(is_active=True)
    assert not version.is_label_only and not version.artifact_path.startswith("/")
    assert storages["models"].exists(f"{version.artifact_path}/classifier.json")
    assert not default_storage.exists(f"{version.artifact_path}/classifier.json")  # not in the media
    assert PhotoPrediction.objects.filter(model_version=version).count() == 18

    # A new photo is predicted by the predict job, reading it from the storage.
    new = ingest_photo(make_city("alpha"), "late.jpg", jpeg_bytes(COLOURS["alpha"], size=(48, 48), seed=999))
    after_photos_added([new.pk])
    run_queued_jobs("predict")
    assert PhotoPrediction.objects.filter(model_version=version, photo=new).exists()

    # A visitor's photo: stored, classified, then deleted from the storage.
    job = services.start_classification(
        "visitor", validate_image("me.jpg", jpeg_bytes(COLOURS["beta"], size=(48, 48)))
    )
    name = job.params["name"]
    assert default_storage.exists(name)
    (done,) = run_queued_jobs("classify")
    assert done.status == Job.Status.SUCCEEDED and len(done.result["top"]) == 3
    assert not default_storage.exists(name)
    assert not memory_storage.exists()  # nothing was written under MEDIA_ROOT
