"""Registry of image feature extractors ("backbones").

Every backbone is built as one flat Keras model that takes RGB float images in
0..255 (NHWC) and returns globally pooled features ``[batch, feature_dim]``.
Preprocessing is part of the model so callers never have to know which
normalisation a backbone expects.

``efficientnet_lite0`` (the default), ``efficientnet_lite1`` and ``efficientnet_lite2`` work offline from
the weights shipped in pip packages. ``resnet50`` and ``mobilenet_v2`` use the
keras.applications ImageNet weights: a file given explicitly, in
``VIBES_WEIGHTS_<NAME>``, or already in the Keras cache is used; otherwise we
only let Keras download when its host answers quickly, and otherwise raise
:class:`BackboneUnavailable` instead of hanging on a dead network.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from . import efficientnet_lite

__all__ = [
    "DEFAULT_BACKBONE",
    "Backbone",
    "BackboneSpec",
    "BackboneUnavailable",
    "UnknownBackbone",
    "build_backbone",
    "get_spec",
    "known_backbones",
]

DEFAULT_BACKBONE = "efficientnet_lite0"
KERAS_WEIGHTS_HOST = ("storage.googleapis.com", 443)
REACHABILITY_TIMEOUT_S = 3.0


class BackboneUnavailable(RuntimeError):
    """The backbone's pretrained weights are not available on this machine."""


class UnknownBackbone(ValueError):
    """No backbone is registered under that name."""


# A block key orders layers by network depth for fine-tuning; None = not in a block.
BlockKey = tuple[int, ...]


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    input_size: int
    feature_dim: int
    preprocessing: str  # what the built model does to its 0..255 input (documentation)
    # build(weights, input_size, weights_path, cache_dir) -> keras.Model (0..255 RGB -> features)
    build: Callable[..., keras.Model]
    block_key: Callable[[str], BlockKey | None]
    offline: bool  # True when the pretrained weights need no download


@dataclass
class Backbone:
    """A built feature extractor plus what callers need to feed it."""

    spec: BackboneSpec
    model: keras.Model
    input_size: int
    weights: str | None  # "imagenet" or None (random init)
    fine_tuned: bool = False  # set by training.fine_tune: weights no longer match the registry's
    _infer: Callable | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def feature_dim(self) -> int:
        return self.spec.feature_dim

    def features(self, images) -> np.ndarray:
        """Pooled features of a batch of RGB images (uint8 or float 0..255, NHWC)."""
        if self._infer is None:
            # One traced graph reused for every batch size (batch dim is None), far
            # faster than eager model calls in a long-running worker.
            model = self.model
            spec = tf.TensorSpec([None, self.input_size, self.input_size, 3], tf.float32)
            self._infer = tf.function(lambda x: model(x, training=False), input_signature=[spec])
        return self._infer(tf.cast(images, tf.float32)).numpy()


# --- EfficientNet-Lite -----------------------------------------------------------------------


def _lite_builder(variant: str) -> Callable[..., keras.Model]:
    def build(weights, input_size, weights_path, cache_dir):
        return efficientnet_lite.build_efficientnet_lite(
            variant,
            include_top=False,
            weights=weights,
            weights_path=weights_path,
            input_size=input_size,
            cache_dir=cache_dir,
        )

    return build


def _lite_block_key(layer_name: str) -> BlockKey | None:
    if m := re.match(r"block(\d+)_", layer_name):
        return (int(m.group(1)),)
    if layer_name.startswith("head_"):
        return (10_000,)
    return None


# --- keras.applications ------------------------------------------------------------------------


def _keras_cache_file(file_name: str) -> Path:
    keras_home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    return keras_home / "models" / file_name


def _host_reachable(address: tuple[str, int], timeout: float) -> bool:
    # DNS lookups ignore socket timeouts, so probe in a daemon thread and give up
    # after `timeout` whatever it is doing.
    result = []

    def probe():
        try:
            socket.create_connection(address, timeout=timeout).close()
            result.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(result)


def _resolve_keras_weights(name: str, file_name: str, weights_path) -> str:
    """A weights argument for keras.applications: a local file path or 'imagenet'."""
    explicit = weights_path or os.environ.get(f"VIBES_WEIGHTS_{name.upper()}")
    if explicit:
        if not Path(explicit).is_file():
            raise BackboneUnavailable(f"weights file for {name} not found: {explicit}")
        return str(explicit)
    cached = _keras_cache_file(file_name)
    if cached.is_file():
        return str(cached)
    if _host_reachable(KERAS_WEIGHTS_HOST, REACHABILITY_TIMEOUT_S):
        return "imagenet"  # Keras downloads into its cache and checks the hash
    raise BackboneUnavailable(
        f"ImageNet weights for backbone {name!r} are not available offline. Download "
        f"{file_name} (keras.applications, include_top=False) on a machine with internet and "
        f"either put it at {cached} or set VIBES_WEIGHTS_{name.upper()}=/path/to/{file_name}. "
        f"The default backbone {DEFAULT_BACKBONE!r} works offline."
    )


def _keras_app_builder(name: str, app: Callable, preprocess: Callable, file_name: str):
    def build(weights, input_size, weights_path, cache_dir):
        if weights not in ("imagenet", None):
            raise ValueError("weights must be 'imagenet' or None")
        resolved = _resolve_keras_weights(name, file_name, weights_path) if weights == "imagenet" else None
        inputs = keras.Input((input_size, input_size, 3), name="rgb_0_255")
        # Passing the preprocessed tensor as input_tensor yields one flat graph, so
        # fine-tuning can address the application's own layers by name.
        base = app(include_top=False, weights=resolved, input_tensor=preprocess(inputs), pooling="avg")
        return keras.Model(inputs, base.output, name=f"{name}_features")

    return build


def _mobilenet_v2_block_key(layer_name: str) -> BlockKey | None:
    if layer_name.startswith("expanded_conv_"):
        return (0,)
    if m := re.match(r"block_(\d+)_", layer_name):
        return (int(m.group(1)),)
    if layer_name.startswith("Conv_1"):
        return (10_000,)
    return None


def _resnet_block_key(layer_name: str) -> BlockKey | None:
    if m := re.match(r"conv(\d)_block(\d+)_", layer_name):
        return (int(m.group(1)), int(m.group(2)))
    return None


_REGISTRY: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        BackboneSpec(
            "efficientnet_lite0",
            224,
            efficientnet_lite.FEATURE_DIM,
            "(x - 127) / 128",
            _lite_builder("lite0"),
            _lite_block_key,
            offline=True,
        ),
        BackboneSpec(
            "efficientnet_lite1",
            240,
            efficientnet_lite.FEATURE_DIM,
            "(x - 127) / 128",
            _lite_builder("lite1"),
            _lite_block_key,
            offline=True,
        ),
        BackboneSpec(
            "efficientnet_lite2",
            260,
            efficientnet_lite.FEATURE_DIM,
            "(x - 127) / 128",
            _lite_builder("lite2"),
            _lite_block_key,
            offline=True,
        ),
        BackboneSpec(
            "resnet50",
            224,
            2048,
            "caffe: RGB->BGR, minus ImageNet channel means",
            _keras_app_builder(
                "resnet50",
                keras.applications.ResNet50,
                keras.applications.resnet50.preprocess_input,
                "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
            ),
            _resnet_block_key,
            offline=False,
        ),
        BackboneSpec(
            "mobilenet_v2",
            224,
            1280,
            "x / 127.5 - 1",
            _keras_app_builder(
                "mobilenet_v2",
                keras.applications.MobileNetV2,
                keras.applications.mobilenet_v2.preprocess_input,
                "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
            ),
            _mobilenet_v2_block_key,
            offline=False,
        ),
    )
}


def known_backbones() -> list[str]:
    return sorted(_REGISTRY)


def get_spec(name: str) -> BackboneSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownBackbone(
            f"unknown backbone {name!r}; known backbones: {', '.join(known_backbones())}"
        ) from None


def build_backbone(
    name: str = DEFAULT_BACKBONE,
    weights: str | None = "imagenet",
    input_size: int | None = None,
    weights_path: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Backbone:
    """Build a registered backbone as a feature extractor.

    ``weights=None`` gives random weights (any ``input_size``; handy for tests).
    ``weights_path`` overrides where the pretrained file is read from (for the
    EfficientNet-Lite backbones: the torch ``.pth``), as does ``VIBES_WEIGHTS_<NAME>``.
    ``cache_dir`` is where ported EfficientNet-Lite weights are cached.
    Raises :class:`UnknownBackbone` or :class:`BackboneUnavailable`.
    """
    spec = get_spec(name)
    size = int(input_size or spec.input_size)
    if spec.offline and weights_path is None:
        weights_path = os.environ.get(f"VIBES_WEIGHTS_{name.upper()}") or None
    model = spec.build(weights, size, weights_path, cache_dir)
    model.trainable = False  # feature extraction by default; training.fine_tune unfreezes blocks
    return Backbone(spec=spec, model=model, input_size=size, weights=weights)
