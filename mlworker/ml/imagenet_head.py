"""The backbone's own ImageNet classifier, applied to cached pooled features.

EfficientNet-Lite's top is GlobalAveragePooling2D ("avg_pool") -> Dropout -> Dense(1000, softmax)
("predictions"). At inference the dropout is the identity, so the 1000 ImageNet probabilities of a photo
are softmax(features @ W + b) on the stock pooled features that are already cached as embeddings. The
weights come with the ported ImageNet checkpoint, so this needs no download and no image decoding.
"""

from __future__ import annotations

import os
import threading

import numpy as np

HEAD_VARIANTS = {"efficientnet_lite0": "lite0", "efficientnet_lite2": "lite2"}

_lock = threading.Lock()
_heads: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}


def head_weights(
    backbone_name: str = "efficientnet_lite0", cache_dir: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(W [features, 1000], b [1000]) of the ImageNet "predictions" layer, cached per process."""
    if backbone_name not in HEAD_VARIANTS:
        raise ValueError(f"no ImageNet head for {backbone_name!r}; known: {sorted(HEAD_VARIANTS)}")
    key = (backbone_name, str(cache_dir or ""))
    with _lock:
        if key not in _heads:
            from .efficientnet_lite import build_efficientnet_lite

            model = build_efficientnet_lite(
                HEAD_VARIANTS[backbone_name], include_top=True, weights="imagenet", cache_dir=cache_dir
            )
            kernel, bias = model.get_layer("predictions").get_weights()
            _heads[key] = (np.asarray(kernel, np.float32), np.asarray(bias, np.float32))
            del model
        return _heads[key]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def imagenet_probabilities(
    embeddings: np.ndarray,
    backbone_name: str = "efficientnet_lite0",
    cache_dir: str | os.PathLike | None = None,
) -> np.ndarray:
    """ImageNet class probabilities [N, 1000] of stock pooled features [N, D] of `backbone_name`."""
    kernel, bias = head_weights(backbone_name, cache_dir)
    x = np.asarray(embeddings, np.float32).reshape(-1, kernel.shape[0])
    return softmax(x @ kernel + bias).astype(np.float32)
