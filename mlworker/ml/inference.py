"""CityClassifier: backbone + trained head, saved to and loaded from one directory.

Artifact layout (``artifact_dir/``)::

    classifier.json        backbone name, input size, classes, test-time augmentation, format version
    head.keras             the trained head (standardisation + dropout + softmax)
    backbone.weights.h5    only when the backbone differs from the registry's
                           pretrained weights (fine-tuned, or random-init tests)

Stock pretrained backbones are rebuilt from the registry instead of being
copied into every artifact (tens of MB each).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import keras
import numpy as np

from .backbones import Backbone, build_backbone
from .pipeline import FileOpener, ImageError, ProgressCallback, embed_paths, open_local_file

__all__ = ["CityClassifier", "Predictions", "clear_classifier_cache", "get_classifier", "top_k"]

FORMAT_VERSION = 1
CONFIG_FILE = "classifier.json"
HEAD_FILE = "head.keras"
BACKBONE_WEIGHTS_FILE = "backbone.weights.h5"


class Predictions(NamedTuple):
    probabilities: np.ndarray  # float32 [n_ok, n_classes]
    embeddings: np.ndarray  # float32 [n_ok, feature_dim]
    ok_indices: np.ndarray  # input positions of the rows above
    errors: list[ImageError]  # unreadable files, skipped


def top_k(probs: np.ndarray, k: int = 5, classes: Sequence | None = None) -> list[list[tuple]]:
    """Per row, the ``k`` most probable ``(class, probability)`` pairs, best first.
    ``class`` is ``classes[i]`` when given, else the class index ``i``."""
    probs = np.atleast_2d(np.asarray(probs))
    k = min(k, probs.shape[1])
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return [
        [((classes[i] if classes is not None else int(i)), float(row[i])) for i in idx]
        for row, idx in zip(probs, order, strict=True)
    ]


class CityClassifier:
    """Predicts city probabilities (and embeddings) for image files."""

    def __init__(self, backbone: Backbone, head: keras.Model, classes: Sequence, tta: bool = False):
        if head.output_shape[-1] != len(classes):
            raise ValueError(f"head predicts {head.output_shape[-1]} classes, got {len(classes)} class names")
        if head.input_shape[-1] != backbone.feature_dim:
            raise ValueError(
                f"head expects {head.input_shape[-1]}-d embeddings, "
                f"backbone {backbone.name} gives {backbone.feature_dim}"
            )
        self.backbone, self.head, self.classes = backbone, head, list(classes)
        # Test-time augmentation: a photo's embedding is the mean of it and its mirror image.
        self.tta = tta

    def predict_embeddings(self, embeddings: np.ndarray) -> np.ndarray:
        if len(embeddings) == 0:
            return np.zeros((0, len(self.classes)), np.float32)
        return np.asarray(self.head.predict_on_batch(np.asarray(embeddings, np.float32)), np.float32)

    def predict_paths(
        self,
        paths: Sequence[str | os.PathLike],
        batch_size: int = 32,
        progress: ProgressCallback | None = None,
        open_file: FileOpener = open_local_file,
    ) -> Predictions:
        emb = embed_paths(
            self.backbone, paths, batch_size=batch_size, progress=progress, tta=self.tta, open_file=open_file
        )
        return Predictions(
            self.predict_embeddings(emb.embeddings), emb.embeddings, emb.ok_indices, emb.errors
        )

    def top_k(self, probs: np.ndarray, k: int = 5) -> list[list[tuple]]:
        return top_k(probs, k, self.classes)

    # --- persistence ------------------------------------------------------------------------------

    def _backbone_is_stock(self) -> bool:
        return self.backbone.weights == "imagenet" and not self.backbone.fine_tuned

    def save(self, artifact_dir: str | os.PathLike) -> Path:
        """Write the artifact directory (replacing it atomically if it exists)."""
        target = Path(artifact_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            stock = self._backbone_is_stock()
            config = {
                "format_version": FORMAT_VERSION,
                "backbone": self.backbone.name,
                "input_size": self.backbone.input_size,
                "feature_dim": self.backbone.feature_dim,
                "backbone_weights": "imagenet" if stock else "saved",
                "classes": self.classes,
                "tta": self.tta,
            }
            self.head.save(staging / HEAD_FILE)
            if not stock:
                self.backbone.model.save_weights(staging / BACKBONE_WEIGHTS_FILE)
            (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2))
            staging.chmod(0o755)  # mkdtemp makes it private; other processes must read artifacts
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
        return target

    @classmethod
    def load(
        cls, artifact_dir: str | os.PathLike, cache_dir: str | os.PathLike | None = None
    ) -> CityClassifier:
        artifact_dir = Path(artifact_dir)
        config = json.loads((artifact_dir / CONFIG_FILE).read_text())
        if config.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"{artifact_dir}: unsupported classifier format {config.get('format_version')!r}"
            )
        stock = config["backbone_weights"] == "imagenet"
        backbone = build_backbone(
            config["backbone"],
            weights="imagenet" if stock else None,
            input_size=config["input_size"],
            cache_dir=cache_dir,
        )
        if not stock:
            backbone.model.load_weights(artifact_dir / BACKBONE_WEIGHTS_FILE)
            backbone.fine_tuned = True
        head = keras.saving.load_model(artifact_dir / HEAD_FILE, compile=False)
        return cls(backbone, head, config["classes"], tta=config.get("tta", False))


# --- per-process cache ------------------------------------------------------------------------------

_cache: dict[tuple[str, int], CityClassifier] = {}
_cache_lock = threading.Lock()


def get_classifier(
    artifact_path: str | os.PathLike, cache_dir: str | os.PathLike | None = None
) -> CityClassifier:
    """The classifier stored at ``artifact_path``, loaded once per process (``cache_dir``: ported weights).

    Keyed on the resolved path and the config file's mtime, so re-saving an
    artifact in place is picked up on the next call.
    """
    path = Path(artifact_path).resolve()
    key = (str(path), (path / CONFIG_FILE).stat().st_mtime_ns)
    with _cache_lock:  # one load at a time: loading twice concurrently would double memory
        classifier = _cache.get(key)
        if classifier is None:
            for old in [k for k in _cache if k[0] == key[0]]:
                del _cache[old]
            classifier = _cache[key] = CityClassifier.load(path, cache_dir=cache_dir)
        return classifier


def clear_classifier_cache() -> None:
    with _cache_lock:
        _cache.clear()
