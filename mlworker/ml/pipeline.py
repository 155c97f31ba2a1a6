"""tf.data input pipeline: image files -> square RGB tensors -> backbone embeddings.

Decoding uses Pillow inside ``tf.numpy_function`` because TensorFlow's decoders
ignore EXIF orientation, and phone photos are very often stored sideways with
an orientation tag. Pillow releases the GIL while decoding and resizing, so the
``num_parallel_calls=AUTOTUNE`` map plus ``prefetch`` keep decoding running in
background threads while the model works on the previous batch.

An unreadable file never stops the pipeline: its slot carries a blank image and
an error message, and it is dropped from the results and reported instead.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from typing import BinaryIO, NamedTuple

import numpy as np
import tensorflow as tf
from PIL import Image, ImageEnhance, ImageOps

__all__ = ["EmbeddingResult", "ImageError", "embed_paths", "image_dataset", "load_image"]

ProgressCallback = Callable[[int, int], None]  # (images_done, images_total)
# Opens an image by name for reading. The default reads local files; the Django side passes its storage's
# `open` (default_storage.open), so photos on S3 or in memory need no local path. It is called from
# tf.data's decoding threads, so it must be thread-safe (Django's storages are, for reading).
FileOpener = Callable[[str], BinaryIO]
# The only decoders Pillow may run (the formats cities.ingest.validation accepts; this package reads no Django
# code): a file of another format fails as unreadable without its plugin ever parsing it.
DECODED_FORMATS = ("JPEG", "PNG", "WEBP")


def open_local_file(name: str) -> BinaryIO:
    return open(name, "rb")  # noqa: SIM115 - the caller closes it


class ImageError(NamedTuple):
    index: int  # position in the input list
    path: str
    message: str


class EmbeddingResult(NamedTuple):
    embeddings: np.ndarray  # float32 [n_ok, feature_dim], in input order
    ok_indices: np.ndarray  # int64 [n_ok]: input positions of the rows of `embeddings`
    errors: list[ImageError]  # the skipped files


def load_image(
    path: str | os.PathLike,
    size: int,
    rng: np.random.Generator | None = None,
    open_file: FileOpener = open_local_file,
) -> np.ndarray:
    """Decode ``path`` (opened with ``open_file``) upright (EXIF orientation applied), crop it square and resize it to
    ``size`` x ``size``. Returns uint8 RGB [size, size, 3]; raises on bad files.

    Without ``rng`` the crop is the centre square. With ``rng`` (training) the image is augmented:
    a random square of 60-100% of the short side anywhere in the picture, a mirror image half of
    the time, and brightness, contrast and saturation each within +-10%.
    """
    with open_file(os.fspath(path)) as handle, Image.open(handle, formats=DECODED_FORMATS) as img:
        # JPEG draft mode decodes at a reduced scale that still leaves both sides
        # >= size: large camera photos decode several times faster.
        img.draft("RGB", (size, size))
        img = ImageOps.exif_transpose(img)
        img = img.convert("RGB")
        w, h = img.size
        side = min(w, h)
        if rng is None:
            left, top = (w - side) // 2, (h - side) // 2
        else:
            side = max(1, int(side * rng.uniform(0.6, 1.0)))
            left, top = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
        img = img.resize((size, size), Image.Resampling.BICUBIC, box=(left, top, left + side, top + side))
        if rng is None:
            return np.asarray(img, dtype=np.uint8)
        if rng.random() < 0.5:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
            img = enhancer(img).enhance(rng.uniform(0.9, 1.1))
        return np.asarray(img, dtype=np.uint8)


def _decode_or_blank(
    path: bytes, size: np.int64, seed: np.int64, open_file: FileOpener = open_local_file
) -> tuple[np.ndarray, bytes]:
    # Runs inside tf.numpy_function: it must return, never raise, or the whole
    # dataset iteration would fail on one bad file. seed < 0 means "no augmentation".
    try:
        rng = np.random.default_rng(int(seed)) if seed >= 0 else None
        return load_image(os.fsdecode(path), int(size), rng, open_file), b""
    except Exception as exc:  # noqa: BLE001 - any decoder failure means "skip this file"
        message = f"{type(exc).__name__}: {exc}"
        return np.zeros((int(size), int(size), 3), np.uint8), message.encode("utf-8", "replace")


def image_dataset(
    paths: Sequence[str | os.PathLike],
    size: int,
    batch_size: int | None = None,
    train_seed: int | None = None,
    open_file: FileOpener = open_local_file,
) -> tf.data.Dataset:
    """Dataset of ``(index, image uint8 [size,size,3], error string)``, in input order.

    ``error`` is empty for good images; bad ones carry a blank image and the reason.
    Batched and prefetched when ``batch_size`` is given.

    With ``train_seed`` (training) every pass (epoch) visits the images in a new random order and
    draws a new random crop, flip and colour jitter for each (see :func:`load_image`); the same
    seed gives the same sequence of passes. The whole list is shuffled before decoding: callers
    list photos city by city, and a shuffle buffer smaller than the list would feed the model one
    city after another, dragging it towards the last cities of each pass. Augmenting while
    decoding costs next to nothing beside the model, where Keras' image layers cost a third of
    each training step on a CPU.
    """
    str_paths = [os.fspath(p) for p in paths]
    ds = tf.data.Dataset.from_tensor_slices(
        (
            tf.range(len(str_paths), dtype=tf.int64),
            tf.constant(str_paths, dtype=tf.string, shape=[len(str_paths)]),
        )
    )
    if train_seed is None:
        ds = ds.map(lambda index, path: (index, path, tf.constant(-1, tf.int64)))
    else:
        ds = ds.shuffle(max(1, len(str_paths)), seed=train_seed, reshuffle_each_iteration=True)
        # A stateless random op would repeat its numbers in every pass; this stream moves on.
        seeds = tf.data.Dataset.random(seed=train_seed, rerandomize_each_iteration=True)
        ds = tf.data.Dataset.zip(ds, seeds).map(lambda pair, seed: (pair[0], pair[1], tf.math.abs(seed // 2)))

    def decode(index, path, seed):
        image, error = tf.numpy_function(
            functools.partial(_decode_or_blank, open_file=open_file),
            [path, tf.constant(size, tf.int64), seed],
            [tf.uint8, tf.string],
        )
        image.set_shape([size, size, 3])
        error.set_shape([])
        return index, image, error

    # deterministic=True (the default) keeps the output in input order.
    ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE)
    if batch_size:
        ds = ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    # No autotuning model: its background thread waits 10 ms, 20 ms, ... 5.12 s, 10.24 s between rounds, and
    # destroying the iterator often blocks until the current wait ends, so a 5.5 s pass took 10.25 s about half
    # the time (TF 2.21). Without it AUTOTUNE means one decode per core, and prefetch still sizes its buffer.
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)


def embed_paths(
    backbone,
    paths: Sequence[str | os.PathLike],
    batch_size: int = 32,
    progress: ProgressCallback | None = None,
    tta: bool = False,
    open_file: FileOpener = open_local_file,
) -> EmbeddingResult:
    """Embed image files with ``backbone`` (a :class:`backbones.Backbone`).

    Returns the embeddings of the readable files, their input positions and the
    errors of the skipped ones. ``progress(done, total)`` is called after each batch.
    With ``tta`` each embedding is the mean of the image's and its mirror image's features
    (test-time augmentation; twice the work).
    """
    paths = [os.fspath(p) for p in paths]
    total = len(paths)
    chunks, ok_chunks, errors, done = [], [], [], 0
    if total:
        for index, images, error in image_dataset(
            paths, backbone.input_size, batch_size, open_file=open_file
        ):
            # Blank images of bad files go through the model too: keeping every batch
            # the same shape is cheaper than reshuffling, and bad files are rare.
            feats = backbone.features(images)
            if tta:
                feats = (feats + backbone.features(images[:, :, ::-1, :])) / 2
            error = error.numpy()
            ok = error == b""
            chunks.append(feats[ok])
            ok_chunks.append(index.numpy()[ok])
            for i, msg in zip(index.numpy()[~ok], error[~ok], strict=True):
                errors.append(ImageError(int(i), paths[int(i)], msg.decode("utf-8", "replace")))
            done += len(error)
            if progress is not None:
                progress(done, total)
    dim = backbone.feature_dim
    embeddings = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros((0, dim), np.float32)
    ok_indices = np.concatenate(ok_chunks).astype(np.int64) if ok_chunks else np.zeros((0,), np.int64)
    return EmbeddingResult(embeddings, ok_indices, errors)
