import json

import numpy as np
import pytest

from mlworker.ml import inference
from mlworker.ml.backbones import build_backbone
from mlworker.ml.inference import CityClassifier, get_classifier, top_k
from mlworker.ml.pipeline import embed_paths
from mlworker.ml.training import train_head

from .conftest import write_image

pytestmark = pytest.mark.ml


@pytest.fixture(scope="module")
def trained(tmp_path_factory, model_cache_dir):
    """Ported Lite0 at 64 px plus a head trained on 3 colour "cities"."""
    tmp = tmp_path_factory.mktemp("images")
    cache_dir = model_cache_dir
    backbone = build_backbone("efficientnet_lite0", input_size=64, cache_dir=cache_dir)
    paths, labels = [], []
    for colour in ("red", "green", "blue"):
        for i in range(6):
            paths.append(write_image(tmp / f"{colour}{i}.jpg", colour, seed=i))
            labels.append(f"{colour}-city")
    head = train_head(embed_paths(backbone, paths).embeddings, labels, epochs=20).head
    return CityClassifier(backbone, head, ["blue-city", "green-city", "red-city"]), paths, cache_dir


def _round_trip(classifier, paths, artifact, cache_dir):
    query = [*paths[::4], artifact.parent / "missing.jpg"]
    before = classifier.predict_paths(query)
    classifier.save(artifact)
    loaded = CityClassifier.load(artifact, cache_dir=cache_dir)
    after = loaded.predict_paths(query)
    assert loaded.classes == classifier.classes
    np.testing.assert_array_equal(after.probabilities, before.probabilities)
    np.testing.assert_array_equal(after.embeddings, before.embeddings)
    n_ok = len(query) - 1
    assert before.probabilities.shape == (n_ok, 3) and before.embeddings.shape == (n_ok, 1280)
    assert after.ok_indices.tolist() == list(range(n_ok)) and [e.index for e in after.errors] == [n_ok]
    return before, json.loads((artifact / "classifier.json").read_text())


def test_round_trip_with_stock_backbone(trained, tmp_path):
    classifier, paths, cache_dir = trained
    before, config = _round_trip(classifier, paths, tmp_path / "artifact", cache_dir)
    # Stock ImageNet backbones are rebuilt from the registry, not copied into the artifact.
    assert config["backbone_weights"] == "imagenet" and config["backbone"] == "efficientnet_lite0"
    assert not (tmp_path / "artifact" / "backbone.weights.h5").exists()
    # The head separates the colours it was trained on.
    assert [row[0][0] for row in classifier.top_k(before.probabilities, 1)] == [
        "red-city",
        "red-city",
        "green-city",
        "blue-city",
        "blue-city",
    ]


def test_round_trip_with_modified_backbone(trained, tmp_path):
    _, paths, cache_dir = trained
    backbone = build_backbone("efficientnet_lite0", input_size=64, cache_dir=cache_dir)
    layer = backbone.model.get_layer("head_conv")
    layer.set_weights([w * 1.5 for w in layer.get_weights()])  # stands in for fine-tuning
    backbone.fine_tuned = True
    classifier = CityClassifier(backbone, trained[0].head, trained[0].classes)
    _, config = _round_trip(classifier, paths, tmp_path / "artifact", cache_dir)
    assert config["backbone_weights"] == "saved" and (tmp_path / "artifact" / "backbone.weights.h5").is_file()


def test_save_replaces_existing_artifact(trained, tmp_path):
    classifier = trained[0]
    target = tmp_path / "artifact"
    classifier.save(target)
    (target / "stale.txt").write_text("old")
    classifier.save(target)
    assert not (target / "stale.txt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging leftovers


def test_get_classifier_loads_once_per_process(trained, tmp_path, monkeypatch):
    classifier, _, cache_dir = trained
    monkeypatch.setenv("VIBES_MODEL_CACHE", str(cache_dir))  # keep the test out of ~/.cache
    artifact = classifier.save(tmp_path / "cached")
    inference.clear_classifier_cache()
    first = get_classifier(artifact)
    assert get_classifier(str(artifact)) is first
    inference.clear_classifier_cache()
    assert get_classifier(artifact) is not first


def test_top_k():
    probs = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
    assert top_k(probs, 2) == [[(1, 0.6), (2, 0.3)], [(0, 0.5), (2, 0.3)]]
    assert top_k(probs, 5, ["a", "b", "c"])[0] == [("b", 0.6), ("c", 0.3), ("a", 0.1)]


def test_mismatched_head_is_rejected(trained):
    classifier = trained[0]
    with pytest.raises(ValueError, match="classes"):
        CityClassifier(classifier.backbone, classifier.head, ["only-one"])
