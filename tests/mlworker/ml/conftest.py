"""Shared fixtures for the TensorFlow tests (plain pytest: no Django, no database)."""

from __future__ import annotations

import os

# Quiet TensorFlow's C++ start-up logging; must be set before tensorflow is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

# Solid-ish colours with a little texture so JPEG compression keeps them recognisable.
PALETTE = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220), "white": (245, 245, 245)}


@pytest.fixture(scope="session")
def model_cache_dir(tmp_path_factory):
    """Port cache for the session, so tests never write to the user's ~/.cache."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def lite0_model(model_cache_dir):
    """The ported EfficientNet-Lite0 classifier (1000 classes), built once per session."""
    from mlworker.ml.efficientnet_lite import build_efficientnet_lite

    return build_efficientnet_lite("lite0", include_top=True, cache_dir=model_cache_dir)


def write_image(path, colour, size=(48, 40), seed=0, fmt=None, exif_orientation=None):
    rng = np.random.default_rng(seed)
    base = np.array(PALETTE[colour] if isinstance(colour, str) else colour, dtype=np.float32)
    pixels = np.clip(base + rng.normal(0, 8, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    img = Image.fromarray(pixels)
    kwargs = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif
    img.save(path, format=fmt, **kwargs)
    return path


def write_quadrants(path, size=64, exif_orientation=None):
    """Stored image with red top-left, green top-right, blue bottom-left, white bottom-right."""
    h = size // 2
    pixels = np.zeros((size, size, 3), np.uint8)
    pixels[:h, :h], pixels[:h, h:] = PALETTE["red"], PALETTE["green"]
    pixels[h:, :h], pixels[h:, h:] = PALETTE["blue"], PALETTE["white"]
    exif = Image.Exif()
    if exif_orientation is not None:
        exif[0x0112] = exif_orientation
    Image.fromarray(pixels).save(path, quality=95, exif=exif)
    return path


def nearest_colour(rgb) -> str:
    rgb = np.asarray(rgb, np.float32)
    return min(PALETTE, key=lambda name: float(np.sum((rgb - np.array(PALETTE[name])) ** 2)))
