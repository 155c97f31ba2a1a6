"""The CNN on the Django side: training jobs, inference, activation and the swipe loop on CNN vectors.

Small runs use tiny random-weight backbones (32 px); the worker test uses the real offline Lite0 weights.
"""

import json
import time

import numpy as np
import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.storage import default_storage, storages
from django.core.management import call_command
from django.test import Client

from cities.models import Photo
from cities.postcards import DEMO_STYLES, draw_postcard
from jobs.models import Job
from mlworker import quality, tasks, training
from mlworker.models import ModelVersion, PhotoEmbedding, PhotoPrediction
from swipes import services as swipe_services
from swipes.models import UserProfile
from tests.helpers import run_queued_jobs
from tests.swipes.test_swipe_loop import replayed_from_db, stored_state

pytestmark = pytest.mark.ml

TINY = {"backbones": ["mobilenet_v2"], "weights": None, "input_size": 32, "epochs": 3}
STYLES = ["kyoto", "miami", "reykjavik"]


def postcards(tmp_path, per_city=5, styles=STYLES, first=0):
    """Postcards `first`.. of each style; the same numbers draw near-duplicates, which imports skip."""
    for c, slug in enumerate(styles):
        (tmp_path / slug).mkdir(parents=True, exist_ok=True)
        for i in range(first, first + per_city):
            draw_postcard(DEMO_STYLES[slug], seed=c * 100 + i).resize((160, 200)).save(
                tmp_path / slug / f"{i}.jpg"
            )
    return tmp_path


@pytest.fixture
def imported(db, tmp_path, make_city):
    for slug in STYLES:
        make_city(slug)
    call_command("import_photos", str(postcards(tmp_path / "set")))
    run_queued_jobs("predict")  # the label-only baseline takes the new photos in
    return ModelVersion.objects.get(is_active=True)


def train_job(params) -> Job:
    job = Job.objects.create(kind="train", params=params)
    tasks.train_model.apply(args=[job.pk])
    job.refresh_from_db()
    return job


def test_training_writes_metrics_an_artifact_and_a_vector_per_photo(imported):
    job = train_job(TINY)
    assert job.status == Job.Status.SUCCEEDED
    version = ModelVersion.objects.get(pk=job.result["best_version"])
    assert version.status == ModelVersion.Status.READY and not version.is_active  # not asked to activate
    assert set(version.metrics) >= {
        "top1",
        "top5",
        "macro_f1",
        "val_macro_f1",
        "per_class_accuracy",
        "confusion_matrix",
        "history",
    }
    assert len(version.metrics["confusion_matrix"]) == 3 and version.metrics["history"]["loss"]
    assert version.metrics["device"] == "CPU" or version.metrics["device"].startswith("GPU x")
    assert version.metrics["fine_tuned_blocks"] == 0 and version.metrics["train_seconds"] > 0
    assert storages["models"].exists(f"{version.artifact_path}/classifier.json")  # in the storage, not a path
    assert not default_storage.exists(f"{version.artifact_path}/classifier.json")  # and not in public media
    vectors = [p.vector for p in PhotoPrediction.objects.filter(model_version=version)]
    assert len(vectors) == 15 and all(v.shape == (3,) and abs(v.sum() - 1) < 1e-4 for v in vectors)
    assert PhotoEmbedding.objects.filter(backbone=version.params["embedding_key"]).count() == 15
    assert ModelVersion.objects.get(is_active=True) == imported  # the baseline stays active
    assert "epoch" in job.message or "Trained" in job.message


def test_several_backbones_keep_the_best_by_validation_macro_f1(imported):
    job = train_job(TINY | {"backbones": ["mobilenet_v2", "efficientnet_lite0"]})
    trained = {v.pk: v for v in ModelVersion.objects.trained()}
    assert [v["backbone"] for v in job.result["versions"]] == ["mobilenet_v2", "efficientnet_lite0"]
    best_score = max(v.metrics["val_macro_f1"] for v in trained.values())
    # the first of the backbones (in the order asked) that reaches the best validation macro-F1
    expected = next(
        v["id"] for v in job.result["versions"] if trained[v["id"]].metrics["val_macro_f1"] == best_score
    )
    assert job.result["best_version"] == expected


@pytest.mark.parametrize(
    "params, message",
    [
        (TINY | {"backbones": ["vgg99"]}, "unknown backbone vgg99"),
        (TINY | {"color": "blue"}, "unknown training options: color"),
    ],
)
def test_bad_requests_fail_the_job_and_activate_nothing(imported, params, message):
    job = train_job(params | {"activate": True})
    assert job.status == Job.Status.FAILED and message in job.message
    assert ModelVersion.objects.get(is_active=True) == imported


def test_too_few_cities_or_photos_is_a_clear_error(imported):
    Photo.objects.filter(city__slug="miami").delete()
    Photo.objects.filter(city__slug="reykjavik").exclude(
        pk=Photo.objects.filter(city__slug="reykjavik").first().pk
    ).delete()
    with pytest.raises(training.TrainingRejected, match="at least 5 photos; too few for: Reykjavik"):
        training.training_photos()
    with pytest.raises(training.TrainingRejected, match="at least 2 cities"):
        training.training_photos(skip_small_cities=True)


def test_small_cities_can_be_left_out(imported):
    extra = Photo.objects.filter(city__slug="reykjavik")
    extra.exclude(pk__in=list(extra.values_list("pk", flat=True)[:2])).delete()
    photos, skipped = training.training_photos(skip_small_cities=True)
    assert skipped == ["Reykjavik"] and {p.city_id for p in photos} == set(
        Photo.objects.filter(city__slug__in=["kyoto", "miami"]).values_list("city_id", flat=True)
    )


def test_an_unreadable_image_is_skipped_and_reported(imported, tmp_path):
    call_command("import_photos", str(postcards(tmp_path / "sixth", per_city=6)))  # one spare photo per city
    broken = Photo.objects.filter(city__slug="kyoto").first()
    with open(broken.image.path, "wb") as handle:
        handle.write(b"not a jpeg any more")
    job = train_job(TINY)
    version = ModelVersion.objects.get(pk=job.result["best_version"])
    assert any(f"photo {broken.pk}" in error for error in version.metrics["skipped_photos"])
    assert not PhotoPrediction.objects.filter(model_version=version, photo=broken).exists()
    assert PhotoPrediction.objects.filter(model_version=version).count() == Photo.objects.count() - 1
    # Activating it says which photo has no vector (it leaves the swipe queue): not a clean success.
    activate = Job.objects.create(kind="activate", params={"version": version.pk})
    tasks.activate_model.apply(args=[activate.pk])
    activate.refresh_from_db()
    assert activate.status == Job.Status.PARTIAL and ModelVersion.objects.get(is_active=True) == version
    (error,) = activate.result["errors"]
    assert error.startswith(f"photo {broken.pk}:")


@pytest.mark.parametrize("stop", [SoftTimeLimitExceeded, RuntimeError], ids=["stopped", "failed"])
def test_a_stopped_or_failed_training_leaves_the_active_model_untouched(imported, stop):
    train_job(TINY | {"activate": True})
    active = ModelVersion.objects.get(is_active=True)
    vectors = dict(
        PhotoPrediction.objects.filter(model_version=active).values_list("photo_id", "probabilities")
    )

    def progress(done, total, message=""):
        if "epoch" in message:  # half-way: the new version has a head being trained
            raise stop("stopped by the time limit" if stop is SoftTimeLimitExceeded else "disk full")

    with pytest.raises(stop):
        training.train(training.TrainingOptions.from_params(TINY | {"activate": True}), progress)
    assert ModelVersion.objects.get(is_active=True) == active
    failed = ModelVersion.objects.exclude(pk__in=[active.pk, imported.pk]).get()
    assert failed.status == ModelVersion.Status.FAILED and stop.__name__ in failed.metrics["error"]
    after = dict(
        PhotoPrediction.objects.filter(model_version=active).values_list("photo_id", "probabilities")
    )
    assert {k: bytes(v) for k, v in after.items()} == {k: bytes(v) for k, v in vectors.items()}


def test_fine_tuning_is_automatic_once_the_set_is_big_enough():
    auto = training.TrainingOptions()
    assert auto.blocks_to_fine_tune(training.FINE_TUNE_MIN_PHOTOS - 1) == 0
    assert auto.blocks_to_fine_tune(training.FINE_TUNE_MIN_PHOTOS) == training.FINE_TUNE_BLOCKS > 0
    assert training.TrainingOptions(fine_tune_blocks=0).blocks_to_fine_tune(10_000) == 0
    assert training.TrainingOptions(fine_tune_blocks=2).blocks_to_fine_tune(10) == 2
    # Random-weight test backbones have nothing to fine-tune from.
    assert training.TrainingOptions(weights=None).blocks_to_fine_tune(10_000) == 0


def test_training_leaves_suspects_out_and_scores_every_photo(imported, tmp_path):
    # Nine postcards per city, and a Miami postcard filed under Kyoto: the odd one out. (With six per city
    # the cross-validated noise detector sat close to its threshold, and one CI run missed the odd one.)
    call_command("import_photos", str(postcards(tmp_path / "more", per_city=4, first=5)))
    (tmp_path / "wrong" / "kyoto").mkdir(parents=True)
    draw_postcard(DEMO_STYLES["miami"], seed=177).resize((160, 200)).save(
        tmp_path / "wrong" / "kyoto" / "m.jpg"
    )
    before = set(Photo.objects.values_list("pk", flat=True))
    call_command("import_photos", str(tmp_path / "wrong"))
    (odd,) = Photo.objects.exclude(pk__in=before)
    Photo.objects.filter(pk=Photo.objects.order_by("pk").first().pk).update(status=Photo.Status.HIDDEN)
    job = train_job(TINY | {"drop_suspects": True})
    assert job.status == Job.Status.SUCCEEDED, job.message
    odd.refresh_from_db()
    suspects = list(Photo.objects.filter(suspect=True).values_list("pk", "city__slug", "city_fit"))
    assert odd.suspect and job.result["suspects_left_out"] >= 1, (odd.pk, odd.city_fit, suspects)
    version = ModelVersion.objects.get(pk=job.result["best_version"])
    n_trainable = Photo.objects.filter(status=Photo.Status.ACTIVE).count()
    assert version.metrics["n_photos"] == n_trainable - job.result["suspects_left_out"]
    # Every photo, hidden ones included, has a quality in [0, 1]; the odd one hardly fits its city.
    qualities = dict(Photo.objects.values_list("pk", "quality"))
    assert len(qualities) == 28 and all(q is not None and 0 <= q <= 1 for q in qualities.values())
    assert odd.city_fit <= quality.SUSPECT_MAX_FIT
    assert job.result["quality"]["assessed"] == 28


def test_activation_switches_the_swipe_loop_and_replays_every_profile(imported, original_scoring):
    profile = UserProfile.objects.create()
    first, second = Photo.objects.order_by("pk")[:2]
    swipe_services.record_swipe(profile, first.pk, True)
    job = train_job(TINY | {"activate": True})
    version = ModelVersion.objects.get(is_active=True)
    assert version.pk == job.result["best_version"] and version.backbone == "mobilenet_v2"
    (rescore,) = run_queued_jobs("rescore")  # activation queued it
    assert rescore.status == Job.Status.SUCCEEDED
    profile.refresh_from_db()
    assert profile.scores_model == version
    assert np.array_equal(stored_state(profile), replayed_from_db(profile))
    swipe_services.record_swipe(profile, second.pk, False)
    profile.refresh_from_db()
    cnn = [
        PhotoPrediction.objects.get(model_version=version, photo=p).vector.astype(np.float64)
        for p in (first, second)
    ]
    assert np.array_equal(stored_state(profile), cnn[0] - cnn[1])


def test_photos_added_under_a_trained_model_are_queued_for_inference(imported, tmp_path):
    train_job(TINY | {"activate": True})
    call_command("import_photos", str(postcards(tmp_path / "more", per_city=1, styles=["kyoto"], first=50)))
    job = Job.objects.get(kind="predict", status=Job.Status.QUEUED)
    new = Photo.objects.order_by("-pk").first()
    assert job.params == {"photo_ids": [new.pk]}  # asked by kind: cities does not know which model is active
    assert not PhotoPrediction.objects.filter(photo=new, model_version__is_active=True).exists()
    (done,) = run_queued_jobs("predict")
    assert done.status == Job.Status.SUCCEEDED and done.result["predicted"] == 1
    assert PhotoPrediction.objects.filter(photo=new, model_version__is_active=True).exists()


def test_management_commands_train_classify_and_evaluate(imported, tmp_path, capsys):
    call_command("train", "--backbone", "efficientnet_lite0", "--epochs", "5", "--activate")
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["activated"] and summary["versions"][0]["backbone"] == "efficientnet_lite0"
    probe = postcards(tmp_path / "probe", per_city=2)
    call_command("classify", str(probe / "kyoto" / "0.jpg"), "--top", "3")
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and all(line.endswith(" %") for line in lines)
    assert lines[0].startswith("Kyoto ")
    call_command("evaluate", str(probe), "--json")
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert metrics["n_images"] == 6 and metrics["top1"] >= 0.8 and 0 <= metrics["macro_f1"] <= 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_import_train_on_the_ml_worker_activate_and_swipe(
    celery_worker_process, worker_media, tmp_path, make_city, staff_client
):
    for slug in STYLES:
        make_city(slug)
    call_command("import_photos", str(postcards(tmp_path / "set")))
    predict = Job.objects.get(kind="predict")  # the worker gives the new photos their baseline vectors
    deadline = time.monotonic() + 60
    while not predict.is_finished and time.monotonic() < deadline:
        time.sleep(0.2)
        predict.refresh_from_db()
    assert predict.status == Job.Status.SUCCEEDED, predict.message
    client = Client()
    client.post("/swipe/", {"photo": Photo.objects.order_by("queue_key").first().pk, "liked": "1"})
    response = staff_client.post(
        "/admin/mlworker/modelversion/train/",
        {"backbones": ["efficientnet_lite0"], "epochs": 20, "fine_tune_blocks": 0, "activate": "on"},
    )
    job = Job.objects.get(kind="train")
    assert response.status_code == 302 and job.params["activate"] is True
    deadline = time.monotonic() + 240
    while not job.is_finished and time.monotonic() < deadline:
        time.sleep(0.5)
        job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, (
        job.message + celery_worker_process.log_path.read_text()[-3000:]
    )
    version = ModelVersion.objects.get(is_active=True)
    assert version.backbone == "efficientnet_lite0" and version.metrics["top1"] >= 0.5
    for liked in ("0", "1", "1"):
        page = client.get("/").content.decode()
        photo_id = int(page.split('name="photo" value="')[1].split('"')[0])
        assert client.post("/swipe/", {"photo": photo_id, "liked": liked}).status_code == 302
    profile = UserProfile.objects.get()
    assert profile.scores_model == version and profile.swipe_count == 4
    assert np.array_equal(stored_state(profile), replayed_from_db(profile))
