"""Trained classifiers live in the storage (default_storage, under models/v<id>/), so every machine that
runs the ml worker can load them. Keras reads and writes local folders, so a classifier is saved to a local
folder and uploaded, and downloaded once per machine into MODEL_CACHE_DIR before loading."""

import secrets
import shutil
import tempfile
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage

from .embeddings import model_cache_dir


def artifact_name(version_pk: int) -> str:
    # A random part: a restored or rebuilt database can hand out a version id again, and a machine's local
    # copy of the old artifact under the same name would be loaded in its place.
    return f"models/v{version_pk}-{secrets.token_hex(4)}"


def store_classifier(classifier, version_pk: int) -> str:
    """Save `classifier` and upload its files; returns the artifact's storage name (its folder)."""
    name = artifact_name(version_pk)
    with tempfile.TemporaryDirectory(prefix="artifact-") as staging:
        local = classifier.save(Path(staging) / "classifier")
        for path in sorted(local.iterdir()):
            target = f"{name}/{path.name}"
            if default_storage.exists(target):
                default_storage.delete(target)
            with path.open("rb") as handle:
                default_storage.save(target, File(handle, name=path.name))
    return name


def local_classifier_dir(artifact_path: str) -> Path:
    """A local folder holding the artifact, downloaded from the storage the first time on this machine.

    Absolute paths are artifacts saved before they moved into the storage; they are used where they are.
    """
    if Path(artifact_path).is_absolute():
        return Path(artifact_path)
    local = model_cache_dir() / "artifacts" / artifact_path
    if local.is_dir():
        return local
    staging = Path(tempfile.mkdtemp(prefix=".download-", dir=_ensure_dir(local.parent)))
    try:
        _, files = default_storage.listdir(artifact_path)
        if not files:
            raise FileNotFoundError(f"no trained model files under {artifact_path!r} in the storage")
        for filename in files:
            with default_storage.open(f"{artifact_path}/{filename}", "rb") as source:
                with (staging / filename).open("wb") as target:
                    shutil.copyfileobj(source, target)
        staging.chmod(0o755)
        try:
            staging.rename(local)  # atomic: another process sees the whole folder or none
        except OSError:
            if not local.is_dir():  # else another process downloaded it first
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return local


def _ensure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
