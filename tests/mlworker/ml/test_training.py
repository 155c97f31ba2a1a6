import numpy as np
import pytest

from mlworker.ml.backbones import build_backbone
from mlworker.ml.pipeline import embed_paths
from mlworker.ml.training import (
    TrainingDataError,
    class_weights,
    compute_metrics,
    fine_tune,
    split_indices,
    train_head,
    unfreeze_top_blocks,
    warmup_cosine,
)

from .conftest import write_image

pytestmark = pytest.mark.ml

METRIC_KEYS = {
    "n_test",
    "top1",
    "top5",
    "top5_k",
    "macro_f1",
    "per_class_accuracy",
    "confusion_matrix",
    "classes",
}


def _clusters(n_per_class=(60, 40, 20), dim=16, seed=0):
    """Three well separated Gaussian clusters (imbalanced) with string labels."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (len(n_per_class), dim))
    x = np.concatenate([rng.normal(c, 1.0, (n, dim)) for c, n in zip(centres, n_per_class, strict=True)])
    labels = np.repeat(["paris", "rome", "oslo"], n_per_class).tolist()
    return x.astype(np.float32), labels


def test_head_learns_separable_clusters():
    x, labels = _clusters()
    epochs_seen = []
    result = train_head(
        x, labels, seed=1, epochs=40, on_epoch=lambda k, n, logs: epochs_seen.append((k, n, set(logs)))
    )
    assert result.classes == ["oslo", "paris", "rome"]
    assert set(result.metrics) == METRIC_KEYS
    assert result.metrics["top1"] >= 0.95
    assert result.metrics["top5"] == 1.0 and result.metrics["top5_k"] == 3
    assert result.metrics["macro_f1"] >= 0.9
    assert set(result.metrics["per_class_accuracy"]) == {"oslo", "paris", "rome"}
    cm = np.array(result.metrics["confusion_matrix"])
    assert cm.shape == (3, 3) and cm.sum() == result.metrics["n_test"] == len(result.split.test)
    assert {"loss", "val_loss", "accuracy", "val_accuracy", "best_epoch"} <= set(result.history)
    assert epochs_seen[0][:2] == (1, 40) and {"loss", "val_loss"} <= epochs_seen[0][2]
    assert len(epochs_seen) == len(result.history["loss"])
    probs = result.head.predict(x[:4], verbose=0)
    assert probs.shape == (4, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_early_stopping_on_validation_loss():
    # Random labels: validation loss stops improving almost at once.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 32)).astype(np.float32)
    labels = rng.permutation(np.repeat([0, 1, 2], 30)).tolist()
    result = train_head(x, labels, epochs=100, patience=3)
    n_epochs = len(result.history["loss"])
    assert n_epochs < 100
    assert result.history["best_epoch"] == n_epochs - 3  # restore_best_weights kept that epoch


def test_training_is_deterministic_under_the_seed():
    x, labels = _clusters(n_per_class=(20, 20, 20))
    a = train_head(x, labels, seed=3, epochs=5)
    b = train_head(x, labels, seed=3, epochs=5)
    np.testing.assert_allclose(a.head.predict(x, verbose=0), b.head.predict(x, verbose=0), rtol=1e-6)


def test_split_is_stratified_disjoint_and_deterministic():
    y = np.repeat([0, 1, 2], [60, 40, 20])
    a, b = split_indices(y, seed=7), split_indices(y, seed=7)
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(a, part), getattr(b, part))
    assert not np.array_equal(a.test, split_indices(y, seed=8).test)
    all_idx = np.concatenate([a.train, a.val, a.test])
    assert sorted(all_idx.tolist()) == list(range(len(y)))
    # Class proportions are kept (60:40:20 -> 9:6:3 in an 18-example test split).
    assert np.bincount(y[a.test]).tolist() == [9, 6, 3]


def test_tiny_classes_appear_in_every_split():
    y = np.repeat([0, 1, 2, 3], [5, 5, 5, 40])
    split = split_indices(y, seed=0)
    for part in (split.train, split.val, split.test):
        assert set(y[part]) == {0, 1, 2, 3}


def test_class_weights_favour_rare_classes():
    w = class_weights(np.repeat([0, 1], [30, 10]), 2)
    assert w[1] == pytest.approx(3 * w[0])


@pytest.mark.parametrize(
    "labels,match",
    [(["a"] * 10, "at least 2 classes"), (["a"] * 10 + ["b"] * 4, "at least 5 examples")],
)
def test_too_little_data_raises(labels, match):
    x = np.zeros((len(labels), 4), np.float32)
    with pytest.raises(TrainingDataError, match=match):
        train_head(x, labels)
    assert issubclass(TrainingDataError, ValueError)


def test_metrics_on_a_known_prediction():
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7]])
    m = compute_metrics(probs, np.array([0, 0, 1]), ["x", "y"])
    assert m["top1"] == pytest.approx(2 / 3)
    assert m["confusion_matrix"] == [[1, 1], [0, 1]]
    assert m["per_class_accuracy"] == {"x": 0.5, "y": 1.0}


def _red_and_blue_cities(folder, size):
    """Six red photos of redville and six blue ones of blueton: (paths, labels)."""
    paths, labels = [], []
    for colour, city in {"red": "redville", "blue": "blueton"}.items():
        for i in range(6):
            paths.append(write_image(folder / f"{colour}{i}.jpg", colour, size=size, seed=i))
            labels.append(city)
    return paths, labels


def test_fine_tune_small_backbone(tmp_path, model_cache_dir):
    # Ported weights at 64 px: random-init backbones give ~0 activations and hence ~0 gradients.
    backbone = build_backbone("efficientnet_lite0", input_size=64, cache_dir=model_cache_dir)
    paths, labels = _red_and_blue_cities(tmp_path, size=(80, 70))
    head = train_head(embed_paths(backbone, paths).embeddings, labels, epochs=3).head
    # An unreadable file must not break fine-tuning (it gets zero weight / is skipped).
    paths.append(tmp_path / "corrupt.jpg")
    paths[-1].write_bytes(b"not an image")
    labels.append("redville")
    conv_before = backbone.model.get_layer("block15_project_conv").get_weights()[0].copy()
    bn_before = [w.copy() for w in backbone.model.get_layer("block15_project_bn").get_weights()]
    epochs_seen, batches_seen = [], []
    result = fine_tune(
        backbone,
        head,
        paths,
        labels,
        classes=["blueton", "redville"],
        unfreeze_blocks=2,
        epochs=1,
        batch_size=4,
        learning_rate=1e-3,
        on_epoch=lambda k, n, logs: epochs_seen.append((k, n)),
        on_batch=lambda k, n: batches_seen.append((k, n)),
    )
    assert result.unfrozen_layers == [
        "block15_expand_conv",
        "block15_dw_conv",
        "block15_project_conv",
        "head_conv",
    ]
    assert not np.allclose(conv_before, backbone.model.get_layer("block15_project_conv").get_weights()[0])
    for a, b in zip(bn_before, backbone.model.get_layer("block15_project_bn").get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # BatchNorm stays frozen
    assert backbone.fine_tuned and not backbone.model.trainable
    assert epochs_seen == [(1, 1)]
    # Per-batch progress: every training batch is reported once, in order.
    n_batches = -(-len(result.split.train) // 4)
    assert batches_seen == [(k, n_batches) for k in range(1, n_batches + 1)]
    assert len(result.history["loss"]) == 1 and set(result.metrics) == METRIC_KEYS | {"val_macro_f1"}
    assert result.metrics["n_test"] == len(set(result.split.test) - {12})


def test_unfreeze_zero_blocks_freezes_everything():
    backbone = build_backbone("efficientnet_lite0", weights=None, input_size=32)
    assert unfreeze_top_blocks(backbone, 0) == []
    assert not backbone.model.trainable_weights
    names = unfreeze_top_blocks(backbone, 1)
    assert names == ["head_conv"]


def test_learning_rate_warms_up_then_decays():
    schedule = warmup_cosine(1e-3, total_steps=100, warmup_fraction=0.1)
    rates = [float(schedule(step)) for step in range(100)]
    assert rates[0] < 1e-4 and max(rates) == pytest.approx(1e-3, rel=1e-3)
    peak = int(np.argmax(rates))
    assert 8 <= peak <= 11
    assert all(a <= b + 1e-12 for a, b in zip(rates[:peak], rates[1 : peak + 1], strict=True))
    assert all(a >= b - 1e-12 for a, b in zip(rates[peak:], rates[peak + 1 :], strict=False))
    assert rates[-1] < 5e-5


def test_fine_tune_keeps_a_given_split(tmp_path, model_cache_dir):
    backbone = build_backbone("efficientnet_lite0", input_size=32, cache_dir=model_cache_dir)
    paths, labels = _red_and_blue_cities(tmp_path, size=(40, 40))
    head_result = train_head(embed_paths(backbone, paths).embeddings, labels, epochs=2, seed=5)
    result = fine_tune(
        backbone,
        head_result.head,
        paths,
        labels,
        classes=head_result.classes,
        split=head_result.split,
        epochs=1,
    )
    assert result.split == head_result.split  # the head's test photos stay out of fine-tuning
    assert result.metrics["n_test"] == len(head_result.split.test)
