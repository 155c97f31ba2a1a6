"""/classify/ and the model-version admin (train form, actions, metrics charts). No TensorFlow needed here:
the classify job itself is exercised in tests/mlworker/test_modeling.py."""

import base64
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from PIL import Image

from jobs.models import Job
from mlworker import charts
from mlworker.models import ModelVersion
from mlworker.training import TrainingOptions
from tests.helpers import jpeg_bytes


def test_classify_explains_that_a_model_must_be_trained_first(photo_set):
    photo_set()
    page = Client().get("/classify/").content.decode()
    assert 'id="classify-unavailable"' in page and 'id="classify-form"' not in page


def test_a_valid_upload_queues_a_job_visible_only_to_its_session(trained_model, settings):
    client = Client()
    response = client.post("/classify/", {"photo": SimpleUploadedFile("me.jpg", jpeg_bytes(), "image/jpeg")})
    job = Job.objects.get(kind="classify")
    assert response.status_code == 302 and response["Location"] == f"/classify/{job.pk}/"
    assert default_storage.exists(job.params["name"]) and job.status == Job.Status.QUEUED
    waiting = client.get(f"/classify/{job.pk}/", HTTP_HX_REQUEST="true")
    assert waiting.status_code == 200 and 'hx-trigger="every 1s"' in waiting.content.decode()
    assert Client().get(f"/classify/{job.pk}/").status_code == 404  # another browser

    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.SUCCEEDED,
        result={"top": [{"slug": "beta", "name": "Beta", "country": "X", "percent": 71.25}]},
    )
    done = client.get(f"/classify/{job.pk}/", HTTP_HX_REQUEST="true")
    assert done.status_code == 286 and "71.25 %" in done.content.decode()
    result_page = client.get(f"/classify/{job.pk}/").content.decode()
    assert 'data-slug="beta"' in result_page
    # The photo itself is deleted once classified; its small preview stays on the result page.
    assert job.params["preview"].startswith("data:image/jpeg;base64,") and len(job.params["preview"]) < 40_000
    assert f'src="{job.params["preview"]}"' in result_page
    preview = Image.open(io.BytesIO(base64.b64decode(job.params["preview"].split(",", 1)[1])))
    assert preview.format == "JPEG" and max(preview.size) <= 320


@pytest.mark.parametrize(
    "upload, message",
    [
        (SimpleUploadedFile("notes.txt", b"hello"), "unsupported file type"),
        (SimpleUploadedFile("fake.jpg", b"<html></html>"), "not an image"),
    ],
)
def test_bad_uploads_get_a_clear_message_and_no_job(trained_model, upload, message):
    response = Client().post("/classify/", {"photo": upload})
    assert response.status_code == 400 and message in response.content.decode()
    assert not Job.objects.filter(kind="classify").exists()


def test_an_oversize_upload_is_refused(trained_model, settings):
    settings.MAX_IMAGE_BYTES = 1000
    response = Client().post(
        "/classify/", {"photo": SimpleUploadedFile("big.jpg", jpeg_bytes() + b"\0" * 2000)}
    )
    assert response.status_code == 413 and "the limit is" in response.content.decode()


def test_the_train_form_starts_a_job_with_the_chosen_options(staff_client, photo_set):
    photo_set()
    assert "efficientnet_lite0" in staff_client.get("/admin/mlworker/modelversion/train/").content.decode()
    response = staff_client.post(
        "/admin/mlworker/modelversion/train/",
        {"backbones": ["efficientnet_lite0", "mobilenet_v2"], "epochs": 30, "fine_tune_blocks": 1},
    )
    job = Job.objects.get(kind="train")
    assert response.status_code == 302 and response["Location"] == f"/admin/jobs/job/{job.pk}/change/"
    assert job.params == {
        "backbones": ["efficientnet_lite0", "mobilenet_v2"], "epochs": 30, "fine_tune_blocks": 1,
        "drop_suspects": False, "activate": False, "skip_small_cities": False,
    }  # fmt: skip
    # A blank block count means the default (fine-tune once the set is big enough).
    Job.objects.all().delete()
    staff_client.post(
        "/admin/mlworker/modelversion/train/",
        {"backbones": ["efficientnet_lite0"], "epochs": 30, "activate": "on"},
    )
    options = TrainingOptions.from_params(Job.objects.get(kind="train").params)
    assert options.fine_tune_blocks is None and not options.drop_suspects and options.activate
    bad = staff_client.post("/admin/mlworker/modelversion/train/", {"backbones": ["vgg99"], "epochs": 5})
    assert bad.status_code == 200 and "Select a valid choice" in bad.content.decode()


def test_non_staff_cannot_open_the_train_form(client, db):
    client.force_login(get_user_model().objects.create_user("m", password="pw-for-tests-only"))
    response = client.post(
        "/admin/mlworker/modelversion/train/", {"backbones": ["efficientnet_lite0"], "epochs": 5}
    )
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not Job.objects.exists()


def test_activating_a_cnn_from_the_admin_runs_as_a_job(staff_client, trained_model):
    other = ModelVersion.objects.create(
        name="cnn 2", backbone="mobilenet_v2", city_ids=trained_model.city_ids, status="ready"
    )
    response = staff_client.post(
        "/admin/mlworker/modelversion/", {"action": "activate", "_selected_action": [other.pk]}
    )
    job = Job.objects.get(kind="activate")
    assert response.status_code == 302 and job.params == {"version": other.pk}
    assert ModelVersion.objects.get(is_active=True) == trained_model  # the worker switches it, not the web


def test_the_version_page_shows_metrics_curves_and_the_confusion_matrix(staff_client, trained_model):
    page = staff_client.get(f"/admin/mlworker/modelversion/{trained_model.pk}/change/").content.decode()
    assert "90.0%" in page and 'id="training-curves"' in page and page.count("<polyline") == 3
    matrix = page.split('id="confusion-matrix"')[1].split("</svg>")[0]
    assert matrix.count("<rect") == 4 + 1  # the 4 non-zero cells of the 3×3 matrix, and the frame
    assert "Alpha predicted as Beta: 1" in matrix and ">Gamma</text>" in matrix


def test_training_curves_share_one_scale():
    curves = charts.training_curves(
        {"loss": [2.0, 1.0], "accuracy": [0.5, 1.0], "lr": [0.1]}, width=100, height=50
    )
    assert [c.name for c in curves] == ["loss", "accuracy"]
    assert curves[0].points == "0.0,0.0 100.0,25.0" and curves[1].points == "0.0,37.5 100.0,25.0"
    assert charts.training_curves({}) == []


def test_confusion_cells_are_shares_of_each_true_city():
    cells = charts.confusion_cells([[3, 1], [0, 0]])
    assert [(c.row, c.col, c.count, c.opacity) for c in cells] == [(0, 0, 3, 0.75), (0, 1, 1, 0.25)]


def test_make_demos_train_command_queues_one_training_only(photo_set, capsys):

    photo_set()
    call_command("train", "--enqueue", "--activate", "--skip-small-cities", "--if-untrained")
    call_command("train", "--enqueue", "--activate", "--skip-small-cities", "--if-untrained")
    out = capsys.readouterr().out
    job = Job.objects.get(kind="train")
    assert job.params["activate"] and job.params["skip_small_cities"]
    assert f"Queued train job #{job.pk}" in out and "not starting another" in out


def test_the_classify_page_names_no_model_to_visitors(trained_model, staff_client):
    page = Client().get("/classify/").content.decode()
    assert 'id="classify-form"' in page
    for word in ("efficientnet", "CNN", "softmax", "label-only", trained_model.label):
        assert word not in page
    assert trained_model.label in staff_client.get("/classify/").content.decode()


def test_two_versions_of_the_same_name_carry_different_labels(trained_model, staff_client):
    twin = ModelVersion.objects.create(
        name=trained_model.name, backbone=trained_model.backbone, city_ids=trained_model.city_ids
    )
    assert str(twin) != str(trained_model) and str(twin).startswith(f"#{twin.pk} ")
    listing = staff_client.get("/admin/mlworker/modelversion/").content.decode()
    assert f"#{twin.pk} {twin.name}" in listing and f"#{trained_model.pk} {trained_model.name}" in listing


def test_the_demo_admin_keeps_its_password_across_restarts(db, tmp_path, capsys):
    kept = tmp_path / "admin-password"
    call_command("ensure_admin", "--password-file", str(kept))
    first = capsys.readouterr().out
    call_command("ensure_admin", "--password-file", str(kept))
    assert capsys.readouterr().out == first  # the same password, not a new one on every start
    password = kept.read_text().strip()
    assert f"admin / {password}" in first and Client().login(username="admin", password=password)
    call_command("ensure_admin", "--password-file", str(kept), "--password", "chosen by ADMIN_PASSWORD")
    assert "from ADMIN_PASSWORD" in capsys.readouterr().out
    assert Client().login(username="admin", password="chosen by ADMIN_PASSWORD")


def test_a_damaged_upload_is_refused_in_plain_words(trained_model):
    cut = SimpleUploadedFile("cut.jpg", jpeg_bytes(size=(300, 300))[:700], "image/jpeg")
    page = Client().post("/classify/", {"photo": cut}).content.decode()
    error = page.split('id="classify-error"')[1].split("</p>")[0]
    assert "cut.jpg: damaged or truncated image" in error
    assert "(" not in error and "Pillow" not in error and "truncated (" not in error  # no decoder's detail
