"""Trained classifiers live in their own private storage, STORAGES["models"] (a folder outside MEDIA_ROOT
here, a private bucket in production): never in the public media, so no URL serves them. Every machine that
runs the ml or classify worker reaches it. Keras reads and writes local folders, so a classifier is saved to
a local folder and uploaded, and downloaded once per machine into MODEL_CACHE_DIR before loading.

Artifacts that older versions put in default_storage under models/ are moved out of the media by
`manage.py move_model_artifacts` (docker-compose runs it on start), or on their first load.
"""

import secrets
import shutil
import tempfile
from pathlib import Path

from django.core.files import File
from django.core.files.storage import Storage, default_storage, storages

from .embeddings import model_cache_dir


def model_storage() -> Storage:
    return storages["models"]


def artifact_name(version_pk: int) -> str:
    # A random part: a restored or rebuilt database can hand out a version id again, and a machine's local
    # copy of the old artifact under the same name would be loaded in its place.
    return f"v{version_pk}-{secrets.token_hex(4)}"


def store_classifier(classifier, version_pk: int) -> str:
    """Save `classifier` and upload its files; returns the artifact's storage name (its folder)."""
    name = artifact_name(version_pk)
    storage = model_storage()
    with tempfile.TemporaryDirectory(prefix="artifact-") as staging:
        local = classifier.save(Path(staging) / "classifier")
        for path in sorted(local.iterdir()):
            target = f"{name}/{path.name}"
            if storage.exists(target):
                storage.delete(target)
            with path.open("rb") as handle:
                storage.save(target, File(handle, name=path.name))
    return name


def _files(storage: Storage, folder: str) -> list[str]:
    try:
        return storage.listdir(folder)[1]
    except FileNotFoundError:  # FileSystemStorage, for a folder that does not exist
        return []


def move_out_of_media(artifact_path: str) -> bool:
    """Move an artifact that an older version stored in the public media (default_storage) into the model
    storage under the same name. True if there was one to move."""
    files = _files(default_storage, artifact_path)
    storage = model_storage()
    for filename in files:
        name = f"{artifact_path}/{filename}"
        if not storage.exists(name):
            with default_storage.open(name, "rb") as source:
                storage.save(name, File(source, name=filename))
        default_storage.delete(name)
    return bool(files)


def local_classifier_dir(artifact_path: str) -> Path:
    """A local folder holding the artifact, downloaded from the model storage the first time on this machine.

    Absolute paths are artifacts saved before they moved into a storage; they are used where they are.
    """
    if Path(artifact_path).is_absolute():
        return Path(artifact_path)
    local = model_cache_dir() / "artifacts" / artifact_path
    if local.is_dir():
        return local
    storage = model_storage()
    files = _files(storage, artifact_path)
    if not files and move_out_of_media(artifact_path):
        files = _files(storage, artifact_path)
    if not files:
        raise FileNotFoundError(f"no trained model files under {artifact_path!r} in the model storage")
    staging = Path(tempfile.mkdtemp(prefix=".download-", dir=_ensure_dir(local.parent)))
    try:
        for filename in files:
            with storage.open(f"{artifact_path}/{filename}", "rb") as source:
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
