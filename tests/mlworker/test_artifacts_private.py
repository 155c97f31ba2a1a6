"""Trained models are private (finding 8 of issue 10): artifacts live in STORAGES["models"], outside
MEDIA_ROOT, and no URL serves them. A stand-in classifier writes the files (no TensorFlow needed)."""

import json
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.core.management import call_command
from django.test import Client

from mlworker.artifacts import local_classifier_dir, store_classifier
from mlworker.checks import model_files_are_not_in_media
from mlworker.models import ModelVersion
from tests.conftest import models_storage

FILES = {"classifier.json": json.dumps({"format_version": 1}).encode(), "head.keras": b"weights " * 100}


class StandInClassifier:
    """Writes an artifact folder the way mlworker.ml.inference.Classifier.save does."""

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True)
        for name, data in FILES.items():
            (folder / name).write_bytes(data)
        return folder


def test_a_stored_artifact_is_outside_the_media_and_never_served(settings, db):
    name = store_classifier(StandInClassifier(), version_pk=4)
    storage = storages["models"]
    assert storage.exists(f"{name}/head.keras") and not default_storage.exists(f"{name}/head.keras")
    media = Path(settings.MEDIA_ROOT)
    assert not Path(storage.path(f"{name}/head.keras")).is_relative_to(media)
    assert not [p for p in media.rglob("*") if p.is_file()]
    client = Client()
    for url in (
        f"/media/{name}/head.keras",
        f"/media/models/{name}/head.keras",
        "/media/models/v4/head.keras",
    ):
        assert client.get(url).status_code == 404, url
    with pytest.raises(ValueError, match="private storage"):
        storage.url(f"{name}/head.keras")


def test_the_default_settings_keep_models_out_of_the_media():
    from vibes_site.settings import base

    assert base.STORAGES["models"]["OPTIONS"]["location"] == base.MODELS_ROOT
    for private in (base.MODELS_ROOT, base.MODEL_CACHE_DIR):
        assert not Path(private).resolve().is_relative_to(Path(base.MEDIA_ROOT).resolve())


def test_the_check_refuses_model_files_under_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MODEL_CACHE_DIR = tmp_path / "model-cache"
    assert model_files_are_not_in_media() == []
    settings.STORAGES = {**settings.STORAGES, "models": models_storage(tmp_path / "media" / "models")}
    settings.MODEL_CACHE_DIR = tmp_path / "media" / "models"  # what docker-compose used to set
    errors = model_files_are_not_in_media()
    assert [e.id for e in errors] == ["mlworker.E002", "mlworker.E002"]
    assert "MODELS_ROOT" in errors[0].msg and "VIBES_MODEL_CACHE" in errors[1].msg


def legacy_artifact(name: str) -> None:
    """An artifact where an older version stored it: in the public media."""
    for filename, data in FILES.items():
        default_storage.save(f"{name}/{filename}", ContentFile(data))


def test_an_artifact_left_in_the_media_moves_out_on_its_first_load(settings, tmp_path, db):
    settings.MODEL_CACHE_DIR = tmp_path / "model-cache"
    legacy_artifact("models/v3-0a0b0c0d")
    local = local_classifier_dir("models/v3-0a0b0c0d")
    assert (local / "head.keras").read_bytes() == FILES["head.keras"]
    assert storages["models"].exists("models/v3-0a0b0c0d/head.keras")
    assert not default_storage.exists("models/v3-0a0b0c0d/head.keras")
    assert Client().get("/media/models/v3-0a0b0c0d/head.keras").status_code == 404


def test_move_model_artifacts_empties_the_media_of_every_versions_artifact(db, capsys):
    for pk, name in ((1, "models/v1-00000001"), (2, "models/v2-00000002")):
        legacy_artifact(name)
        ModelVersion.objects.create(pk=pk, name=f"v{pk}", backbone="efficientnet_lite0", artifact_path=name)
    assert Client().get("/media/models/v1-00000001/head.keras").status_code == 200  # what finding 8 saw
    call_command("move_model_artifacts")
    assert "2 model artifacts moved out of the media." in capsys.readouterr().out
    for name in ("models/v1-00000001", "models/v2-00000002"):
        assert storages["models"].exists(f"{name}/classifier.json")
        assert Client().get(f"/media/{name}/classifier.json").status_code == 404
