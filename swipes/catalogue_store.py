"""The derived catalogue as a stored, versioned artifact: written by the derive job on the ml worker, read by
every web process (memory-mapped where the storage has local files).

Layout in the private models storage (STORAGES["models"]; S3 in a multi-host deployment):

    catalogues/v<model version>/r<revision>/<array>.npy   one file per array
    catalogues/v<model version>/r<revision>/meta.json     written last: a revision without it is unfinished

A revision's rows are its photos in catalogue order: the photos the derivation was fitted on, then the
photos that joined it later (each batch in ascending id). Joining keeps every earlier row bit for bit, so
profile states stay valid; a full re-derivation (a new model, or the catalogue outgrew its fit) makes them
stale, and the derive job then queues a rescore that replays them in the background.
"""

import io
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from threadpoolctl import threadpool_limits

from mlworker.models import ModelVersion
from mlworker.selectors import (
    city_labels,
    every_photo_has_an_embedding,
    load_catalogue,
    photo_cities_with_vectors,
)

from .recommender.catalogue import PhotoSet
from .recommender.derivation import Derivation, derive, join

ROOT = "catalogues"
# A full re-derivation is due once more photos joined than it was fitted on (the clusters then describe
# under half of the catalogue); until then new photos join the existing clusters.
REDERIVE_AFTER_GROWTH = 1.0
# Revisions kept per model version: a web process still on an older one keeps its mapped pages (a deleted
# file lives on while mapped), and the next check moves it to the newest.
KEEP_REVISIONS = 3
ARRAYS = ("photo_ids", "probabilities", "labels", "queue_keys", "features", "membership", "centres")
PROJECTION = ("mean", "axes")


def _storage():
    return storages["models"]


def _folder(version_pk: int, revision: int) -> str:
    return f"{ROOT}/v{version_pk}/r{revision:06d}"


def revisions(version_pk: int) -> list[int]:
    """Finished revisions of a version's catalogue, oldest first (one directory listing)."""
    storage, folder = _storage(), f"{ROOT}/v{version_pk}"
    if not storage.exists(folder):
        return []
    names, _ = storage.listdir(folder)
    found = sorted(int(n[1:]) for n in names if n.startswith("r") and n[1:].isdigit())
    return [r for r in found if storage.exists(f"{_folder(version_pk, r)}/meta.json")]


def newest_revision(version_pk: int) -> int | None:
    found = revisions(version_pk)
    return found[-1] if found else None


@dataclass(frozen=True, eq=False)
class StoredCatalogue:
    revision: int
    photo_ids: np.ndarray  # int64 [N], catalogue order
    photos: PhotoSet  # with its derivation

    @property
    def n_photos(self) -> int:
        return self.photo_ids.size


def _open_array(storage, name: str) -> np.ndarray:
    try:
        path = storage.path(name)
    except NotImplementedError:  # a remote storage (S3): copy to the local cache, then map that
        local = Path(settings.MODEL_CACHE_DIR) / name
        if not local.exists():
            local.parent.mkdir(parents=True, exist_ok=True)
            with storage.open(name, "rb") as remote, open(local.with_suffix(".part"), "wb") as out:
                out.write(remote.read())
            local.with_suffix(".part").rename(local)
        path = local
    return np.load(path, mmap_mode="r")


def load(version_pk: int, revision: int) -> StoredCatalogue:
    """A stored revision, memory-mapped: pages are read when touched, and shared by the processes."""
    storage, folder = _storage(), _folder(version_pk, revision)
    with storage.open(f"{folder}/meta.json", "rb") as handle:
        meta = json.load(handle)
    arrays = {name: _open_array(storage, f"{folder}/{name}.npy") for name in ARRAYS + PROJECTION}
    derivation = Derivation(
        features=arrays["features"],
        described_by=meta["described_by"],
        mean=arrays["mean"],
        axes=arrays["axes"],
        scale=meta["scale"],
        centres=arrays["centres"],
        membership=arrays["membership"],
        digest=bytes.fromhex(meta["digest"]),
        fitted_photos=meta["fitted_photos"],
        dimensions=meta["dimensions"],
        seed=meta["seed"],
        sharpness=meta["sharpness"],
    )
    photos = PhotoSet(
        probabilities=arrays["probabilities"],
        labels=arrays["labels"],
        queue_keys=arrays["queue_keys"],
        derivation=derivation,
    )
    return StoredCatalogue(revision=revision, photo_ids=arrays["photo_ids"], photos=photos)


def save(version_pk: int, revision: int, photo_ids: np.ndarray, photos: PhotoSet) -> None:
    storage, folder = _storage(), _folder(version_pk, revision)
    derivation = photos.derivation
    arrays = {
        "photo_ids": np.asarray(photo_ids, dtype=np.int64),
        "probabilities": photos.probabilities,
        "labels": photos.labels,
        "queue_keys": photos.queue_keys,
        "features": derivation.features,
        "membership": derivation.membership,
        "centres": derivation.centres,
        "mean": derivation.mean,
        "axes": derivation.axes,
    }
    for name, array in arrays.items():
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(array))
        storage.save(f"{folder}/{name}.npy", ContentFile(buffer.getvalue()))
    meta = {
        "described_by": derivation.described_by,
        "scale": derivation.scale,
        "digest": derivation.digest.hex(),
        "fitted_photos": derivation.fitted_photos,
        "dimensions": derivation.dimensions,
        "seed": derivation.seed,
        "sharpness": derivation.sharpness,
        "photos": int(photos.n_photos),
    }
    storage.save(f"{folder}/meta.json", ContentFile(json.dumps(meta).encode()))  # last: marks it finished


def prune(version_pk: int, keep: int = KEEP_REVISIONS) -> int:
    """Delete all but the newest `keep` finished revisions; returns how many went."""
    storage, old = _storage(), revisions(version_pk)[:-keep]
    for revision in old:
        folder = _folder(version_pk, revision)
        storage.delete(f"{folder}/meta.json")  # first: a half-deleted revision is never loaded
        for name in ARRAYS + PROJECTION:
            storage.delete(f"{folder}/{name}.npy")
    return len(old)


def derive_and_store(version: ModelVersion) -> dict:
    """A new revision of `version`'s derived catalogue: photos added since the newest revision join it, or,
    when there is none or the catalogue outgrew it, a full derivation. Returns what it did.

    A join reads from the database only which photos have a vector (and the city each is filed under), and
    the new photos' rows: the kept rows are the previous revision's, copied bit for bit (so stored states
    replay), not read again. A photo filed under another city since takes a full derivation.
    """
    started = time.perf_counter()
    previous_revision = newest_revision(version.pk)
    previous = load(version.pk, previous_revision) if previous_revision is not None else None
    full_reason, keep, joining = _joinable(version, previous, photo_cities_with_vectors(version))
    with threadpool_limits(limits=1, user_api="blas"):  # the same bits in every process (engine.derive)
        if full_reason is None:
            new_source = joining.embeddings if joining.embeddings is not None else joining.probabilities
            derivation = join(previous.photos.derivation, keep, new_source)
            kept = previous.photos
            photos = PhotoSet(
                probabilities=np.concatenate([kept.probabilities[keep], joining.probabilities]),
                labels=np.concatenate([kept.labels[keep], joining.labels]),
                queue_keys=np.concatenate([kept.queue_keys[keep], joining.queue_keys]),
                derivation=derivation,
            )
            ids = np.concatenate([previous.photo_ids[keep], joining.photo_ids])
            joined = joining.n_photos
        else:
            catalogue = load_catalogue(version)
            fitted = PhotoSet(catalogue.probabilities, catalogue.labels, catalogue.embeddings)
            photos = replace(fitted, queue_keys=catalogue.queue_keys, derivation=derive(fitted))
            ids, joined = catalogue.photo_ids, 0
    revision = (previous_revision or 0) + 1
    save(version.pk, revision, ids, photos)
    prune(version.pk)
    return {
        "revision": revision,
        "photos": photos.n_photos,
        "joined": joined,
        "full": full_reason,
        "seconds": round(time.perf_counter() - started, 2),
        "stale_states": full_reason is not None and previous is not None,
    }


def _joinable(version, previous: StoredCatalogue | None, photo_cities: list[tuple[int, int]]):
    """(None, the previous rows to keep, the joining photos' catalogue) when the photos new since `previous`
    can join it; otherwise (why the catalogue is derived afresh, None, None)."""
    if previous is None:
        return "first derivation of this model's catalogue", None, None
    derivation = previous.photos.derivation
    filed_under = dict(photo_cities)  # photo id -> filed city id, ascending by photo id
    if len(filed_under) - derivation.fitted_photos > REDERIVE_AFTER_GROWTH * derivation.fitted_photos:
        return f"the catalogue grew from {derivation.fitted_photos} to {len(filed_under)} photos", None, None
    known = previous.photo_ids.tolist()
    keep = np.array([i for i, p in enumerate(known) if p in filed_under], dtype=np.int64)
    # A photo an admin filed under another city changes its label, and with it the states of the people
    # who swiped it: that takes a full derivation and a rescore, not a copy of the old row.
    labels_now = city_labels(
        version, [filed_under[known[i]] for i in keep], previous.photos.probabilities[keep]
    )
    refiled = int(np.count_nonzero(labels_now != previous.photos.labels[keep]))
    if refiled:
        return f"{refiled} photo(s) were filed under another city", None, None
    new_ids = sorted(filed_under.keys() - set(known))
    by_embeddings = derivation.described_by == "embeddings"
    if not by_embeddings and every_photo_has_an_embedding(version):
        return "the photos are now described by their embeddings", None, None
    # (A vector deleted since photo_ids were listed is simply not among the joining rows.)
    joining = load_catalogue(version, with_embeddings=by_embeddings, photo_ids=new_ids)
    if by_embeddings and joining.n_photos and joining.embeddings is None:
        return "some new photos have no embedding", None, None
    return None, keep, joining
