"""Training on cached embeddings (a small softmax head), and optional fine-tuning.

Everything takes and returns plain numpy / Python values plus Keras models, so
the Django side can store embeddings once and retrain heads cheaply.
Labels can be any sortable hashables (city slugs, ids); ``classes`` is the
sorted list of distinct labels and class index ``i`` means ``classes[i]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from sklearn.metrics import confusion_matrix, f1_score
from sklearn.model_selection import train_test_split
from sklearn.utils.class_weight import compute_class_weight

from .pipeline import FileOpener, embed_paths, image_dataset, open_local_file

__all__ = [
    "MIN_EXAMPLES_PER_CLASS",
    "FineTuneResult",
    "HeadTrainingResult",
    "Split",
    "TrainingDataError",
    "build_head",
    "class_weights",
    "compute_device",
    "compute_metrics",
    "encode_labels",
    "fine_tune",
    "split_indices",
    "train_head",
    "unfreeze_top_blocks",
    "validate_labels",
    "warmup_cosine",
]

MIN_EXAMPLES_PER_CLASS = 5
EpochCallback = Callable[[int, int, dict], None]  # (epoch 1-based, max epochs, logs)
BatchCallback = Callable[[int, int], None]  # (batches done, batches planned)


class TrainingDataError(ValueError):
    """The labelled data cannot train a classifier (too few classes or examples)."""


@dataclass(frozen=True)
class Split:
    train: np.ndarray  # indices into the input arrays
    val: np.ndarray
    test: np.ndarray


@dataclass
class HeadTrainingResult:
    head: keras.Model  # embeddings [N, D] -> class probabilities [N, C]
    classes: list
    history: dict  # per-epoch lists ("loss", "val_loss", ...) plus "best_epoch"
    metrics: dict  # see compute_metrics; on the test split
    split: Split


@dataclass
class FineTuneResult:
    history: dict
    metrics: dict
    split: Split
    unfrozen_layers: list[str]


def compute_device() -> str:
    """Where Keras trains: "GPU" when TensorFlow sees one (nothing here pins the CPU), else "CPU"."""
    gpus = tf.config.list_physical_devices("GPU")
    return f"GPU x{len(gpus)}" if gpus else "CPU"


def encode_labels(labels: Sequence, classes: Sequence | None = None) -> tuple[np.ndarray, list]:
    """Labels -> (int64 class indices, classes). ``classes`` defaults to the sorted distinct labels."""
    labels = list(labels)
    classes = sorted(set(labels)) if classes is None else list(classes)
    index = {c: i for i, c in enumerate(classes)}
    unknown = {lab for lab in labels if lab not in index}
    if unknown:
        raise TrainingDataError(f"labels not in classes: {sorted(map(str, unknown))}")
    return np.array([index[lab] for lab in labels], dtype=np.int64), classes


def validate_labels(y: np.ndarray, classes: Sequence, min_per_class: int = MIN_EXAMPLES_PER_CLASS) -> None:
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=len(classes))
    if len(classes) < 2 or np.count_nonzero(counts) < 2:
        raise TrainingDataError(f"need at least 2 classes with examples, got {np.count_nonzero(counts)}")
    small = {str(classes[i]): int(n) for i, n in enumerate(counts) if n < min_per_class}
    if small:
        raise TrainingDataError(f"every class needs at least {min_per_class} examples; too few: {small}")


def split_indices(
    y: np.ndarray, seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.15
) -> Split:
    """Stratified, seed-deterministic train/val/test split of indices.

    Validation and test each get at least one example per class (sizes are
    raised to the number of classes), so tiny classes still show up in every
    split; with >= 5 examples per class at least 3 stay for training.
    """
    y = np.asarray(y)
    n, n_classes = len(y), len(np.unique(y))
    all_idx = np.arange(n)
    n_test = max(math.ceil(test_fraction * n), n_classes)
    trainval, test = train_test_split(all_idx, test_size=n_test, stratify=y, random_state=seed)
    n_val = max(math.ceil(val_fraction * n), n_classes)
    train, val = train_test_split(trainval, test_size=n_val, stratify=y[trainval], random_state=seed)
    return Split(np.sort(train), np.sort(val), np.sort(test))


def class_weights(y_train: np.ndarray, n_classes: int) -> dict[int, float]:
    """'Balanced' weights n / (k * count): rare cities count as much as common ones."""
    present = np.unique(y_train)
    weights = compute_class_weight("balanced", classes=present, y=y_train)
    result = dict.fromkeys(range(n_classes), 1.0)
    result.update({int(c): float(w) for c, w in zip(present, weights, strict=True)})
    return result


def build_head(feature_dim: int, n_classes: int, dropout: float = 0.3, train_embeddings=None) -> keras.Model:
    """Standardise -> dropout -> softmax. Standardisation statistics come from the
    training embeddings (so backbones with very different feature scales train alike)."""
    inputs = keras.Input((feature_dim,), name="embedding")
    norm = keras.layers.Normalization(name="standardize")
    if train_embeddings is not None:
        norm.adapt(np.asarray(train_embeddings, np.float32))
        mean, var, count = norm.get_weights()
        # Features that are constant in training (dead ReLUs) would otherwise be
        # divided by ~0 at inference time and blow up.
        norm.set_weights([mean, np.maximum(var, 1e-4 * max(float(var.mean()), 1e-6)), count])
        norm.finalize_state()  # call() uses a snapshot of the variables taken here
    else:
        norm.build((None, feature_dim))
    x = norm(inputs)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    # Zero init = start from uniform predictions: with a single linear layer there is no
    # symmetry to break, and it avoids confidently wrong random logits on small data.
    outputs = keras.layers.Dense(
        n_classes, activation="softmax", kernel_initializer="zeros", name="probabilities"
    )(x)
    return keras.Model(inputs, outputs, name="city_head")


def compute_metrics(probs: np.ndarray, y_true: np.ndarray, classes: Sequence) -> dict:
    """JSON-friendly evaluation: top-1, top-5, macro-F1, per-class accuracy, confusion matrix."""
    probs, y_true = np.asarray(probs), np.asarray(y_true, dtype=np.int64)
    n_classes = len(classes)
    labels = np.arange(n_classes)
    k = min(5, n_classes)
    if len(y_true) == 0:
        raise TrainingDataError("no test examples to evaluate")
    y_pred = probs.argmax(axis=1)
    top_k = np.argsort(-probs, axis=1)[:, :k]
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    support = cm.sum(axis=1)
    per_class = {
        str(c): (float(cm[i, i] / support[i]) if support[i] else None) for i, c in enumerate(classes)
    }
    return {
        "n_test": int(len(y_true)),
        "top1": float(np.mean(y_pred == y_true)),
        "top5": float(np.mean((top_k == y_true[:, None]).any(axis=1))),
        "top5_k": k,  # < 5 when there are fewer than 5 classes
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "per_class_accuracy": per_class,
        "confusion_matrix": cm.tolist(),  # rows: true class, columns: predicted class
        "classes": [str(c) for c in classes],
    }


class _EpochProgress(keras.callbacks.Callback):
    def __init__(self, on_epoch: EpochCallback | None, max_epochs: int):
        super().__init__()
        self._on_epoch, self._max_epochs = on_epoch, max_epochs

    def on_epoch_end(self, epoch, logs=None):
        if self._on_epoch is not None:
            self._on_epoch(epoch + 1, self._max_epochs, {k: float(v) for k, v in (logs or {}).items()})


def _fit_callbacks(patience: int, on_epoch: EpochCallback | None, epochs: int) -> list:
    return [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
        _EpochProgress(on_epoch, epochs),
    ]


def _history_dict(history: keras.callbacks.History) -> dict:
    curves = {k: [float(v) for v in values] for k, values in history.history.items()}
    val_loss = curves.get("val_loss") or [0.0]
    curves["best_epoch"] = int(np.argmin(val_loss)) + 1
    return curves


def train_head(
    embeddings: np.ndarray,
    labels: Sequence,
    *,
    classes: Sequence | None = None,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    epochs: int = 200,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    dropout: float = 0.3,
    patience: int = 10,
    on_epoch: EpochCallback | None = None,
) -> HeadTrainingResult:
    """Train a softmax head on cached embeddings with early stopping on validation loss.

    Raises :class:`TrainingDataError` for < 2 classes or a class with < 5 examples.
    Seeds Python/NumPy/TF globally (keras.utils.set_random_seed) for reproducibility.
    """
    x = np.asarray(embeddings, dtype=np.float32)
    y, classes = encode_labels(labels, classes)
    if x.ndim != 2 or len(x) != len(y):
        raise TrainingDataError(f"embeddings {x.shape} do not match {len(y)} labels")
    validate_labels(y, classes)
    split = split_indices(y, seed, val_fraction, test_fraction)

    keras.utils.set_random_seed(seed)
    head = build_head(x.shape[1], len(classes), dropout, train_embeddings=x[split.train])
    head.compile(
        keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    history = head.fit(
        x[split.train],
        y[split.train],
        validation_data=(x[split.val], y[split.val]),
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
        class_weight=class_weights(y[split.train], len(classes)),
        callbacks=_fit_callbacks(patience, on_epoch, epochs),
    )
    probs = head.predict(x[split.test], verbose=0)
    return HeadTrainingResult(
        head, classes, _history_dict(history), compute_metrics(probs, y[split.test], classes), split
    )


# --- fine-tuning ---------------------------------------------------------------------------------


def unfreeze_top_blocks(backbone, n_blocks: int) -> list[str]:
    """Make the weights of the last ``n_blocks`` blocks of ``backbone`` trainable.

    BatchNormalization layers stay frozen: with small batches their statistics
    would drift away from the pretrained ones. Returns the unfrozen layer names.
    """
    block_key = backbone.spec.block_key
    keys = sorted({k for layer in backbone.model.layers if (k := block_key(layer.name)) is not None})
    chosen = set(keys[-n_blocks:]) if n_blocks > 0 else set()
    backbone.model.trainable = True
    unfrozen = []
    for layer in backbone.model.layers:
        layer.trainable = block_key(layer.name) in chosen and not isinstance(
            layer, keras.layers.BatchNormalization
        )
        if layer.trainable and layer.weights:
            unfrozen.append(layer.name)
    return unfrozen


def _labelled_images(
    paths,
    y,
    idx,
    size,
    batch_size,
    n_classes,
    weights,
    train_seed=None,
    open_file: FileOpener = open_local_file,
):
    """(image, one-hot label, sample weight) batches; shuffled and augmented with ``train_seed``.
    The weight carries the class weight, and is 0 for unreadable files: filtering them out
    instead would make the dataset's length unknown, which Keras handles poorly. One-hot labels
    because label smoothing needs them."""
    ds = image_dataset([paths[i] for i in idx], size, train_seed=train_seed, open_file=open_file)
    labels = tf.one_hot(tf.constant(y[idx], dtype=tf.int64), n_classes)
    label_weights = tf.constant([weights[int(c)] for c in y[idx]], dtype=tf.float32)

    def to_example(i, image, error):
        ok = tf.cast(tf.equal(error, b""), tf.float32)
        return tf.cast(image, tf.float32), tf.gather(labels, i), ok * tf.gather(label_weights, i)

    return ds.map(to_example).batch(batch_size).prefetch(2)


def warmup_cosine(peak: float, total_steps: int, warmup_fraction: float = 0.1):
    """Linear warm-up to ``peak`` over the first steps, then cosine decay towards zero: the
    pretrained weights are not thrown about by the first, noisiest gradients."""
    warmup = max(1, int(total_steps * warmup_fraction))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak / 100,
        decay_steps=max(1, total_steps - warmup),
        alpha=0.01,
        warmup_target=peak,
        warmup_steps=warmup,
    )


class _BatchProgress(keras.callbacks.Callback):
    """Reports (batches done, batches planned) after every training batch."""

    def __init__(self, on_batch: BatchCallback | None, steps_per_epoch: int, epochs: int):
        super().__init__()
        self._on_batch, self._steps, self._epochs = on_batch, steps_per_epoch, epochs
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._on_batch is not None:
            self._on_batch(self._epoch * self._steps + batch + 1, self._steps * self._epochs)


def fine_tune(
    backbone,
    head: keras.Model,
    paths: Sequence[str],
    labels: Sequence,
    *,
    classes: Sequence,
    split: Split | None = None,
    unfreeze_blocks: int = 3,
    epochs: int = 8,
    batch_size: int = 32,
    learning_rate: float = 3e-4,
    label_smoothing: float = 0.1,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    patience: int = 2,
    tta: bool = False,
    on_epoch: EpochCallback | None = None,
    on_batch: BatchCallback | None = None,
    open_file: FileOpener = open_local_file,
) -> FineTuneResult:
    """Fine-tune the last ``unfreeze_blocks`` backbone blocks together with ``head`` on images.

    Uses the same seeded split as :func:`train_head` unless ``split`` is given (same labels and
    seed give the same test set), augmentation (random crop, flip and colour jitter while decoding:
    :func:`pipeline.load_image`), label smoothing, and a
    learning rate that warms up and decays (:func:`warmup_cosine`). Early stopping on the
    validation loss restores the best epoch. Updates ``backbone`` and ``head`` in place and
    marks the backbone ``fine_tuned`` (so CityClassifier saves its weights); metrics are on the
    test split (plus ``val_macro_f1``), with flip test-time augmentation when ``tta``.
    """
    paths = list(paths)
    y, classes = encode_labels(labels, classes)
    validate_labels(y, classes)
    split = split or split_indices(y, seed, val_fraction, test_fraction)
    keras.utils.set_random_seed(seed)

    size, n_classes = backbone.input_size, len(classes)
    inputs = keras.Input((size, size, 3), name="rgb_0_255")
    # training=False keeps every BatchNormalization of the backbone in inference mode: with
    # batches of 32 their statistics would drift away from the pretrained ones.
    features = backbone.model(inputs, training=False)
    model = keras.Model(inputs, head(features), name="fine_tune")
    unfrozen = unfreeze_top_blocks(backbone, unfreeze_blocks)
    steps = math.ceil(len(split.train) / batch_size)
    try:
        model.compile(
            keras.optimizers.Adam(warmup_cosine(learning_rate, steps * epochs)),
            loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
            metrics=["accuracy"],
        )
        weights = class_weights(y[split.train], n_classes)
        history = model.fit(
            _labelled_images(
                paths,
                y,
                split.train,
                size,
                batch_size,
                n_classes,
                weights,
                train_seed=seed,
                open_file=open_file,
            ),
            validation_data=_labelled_images(
                paths, y, split.val, size, batch_size, n_classes, weights, open_file=open_file
            ),
            epochs=epochs,
            verbose=0,
            shuffle=False,  # the dataset shuffles itself
            callbacks=[
                *_fit_callbacks(patience, on_epoch, epochs),
                _BatchProgress(on_batch, steps, epochs),
            ],
        )
    finally:
        backbone.model.trainable = False
        backbone.fine_tuned = True
    # Validation and test photos through the tuned backbone in one pass.
    held_out = np.concatenate([split.val, split.test])
    embedded = embed_paths(backbone, [paths[i] for i in held_out], batch_size, tta=tta, open_file=open_file)
    probs = head.predict(embedded.embeddings, verbose=0)
    rows = held_out[embedded.ok_indices]
    is_test = np.isin(rows, split.test)
    metrics = compute_metrics(probs[is_test], y[rows[is_test]], classes)
    metrics["val_macro_f1"] = compute_metrics(probs[~is_test], y[rows[~is_test]], classes)["macro_f1"]
    return FineTuneResult(_history_dict(history), metrics, split, unfrozen)
