import numpy as np
import pytest

from mlworker.ml import backbones
from mlworker.ml.backbones import BackboneUnavailable, UnknownBackbone, build_backbone, known_backbones

pytestmark = pytest.mark.ml


def test_registry_lists_the_supported_backbones():
    assert set(known_backbones()) == {
        "efficientnet_lite0",
        "efficientnet_lite1",
        "efficientnet_lite2",
        "resnet50",
        "mobilenet_v2",
    }
    assert backbones.DEFAULT_BACKBONE == "efficientnet_lite0"
    assert backbones.get_spec("efficientnet_lite2").input_size == 260


def test_unknown_backbone_lists_known_ones():
    with pytest.raises(UnknownBackbone, match="efficientnet_lite0.*mobilenet_v2.*resnet50"):
        build_backbone("vgg16", weights=None)


@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v2"])
def test_missing_imagenet_weights_fail_fast_offline(name, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv(f"VIBES_WEIGHTS_{name.upper()}", raising=False)
    monkeypatch.setattr(backbones, "_host_reachable", lambda *a: False)
    with pytest.raises(BackboneUnavailable, match=f"VIBES_WEIGHTS_{name.upper()}"):
        build_backbone(name)


def test_configured_weights_file_must_exist(tmp_path, monkeypatch):
    monkeypatch.setenv("VIBES_WEIGHTS_RESNET50", str(tmp_path / "nope.h5"))
    with pytest.raises(BackboneUnavailable, match="not found"):
        build_backbone("resnet50")


def test_weights_file_from_keras_cache_is_used(tmp_path, monkeypatch):
    # Save a tiny random MobileNetV2's weights where Keras caches downloads, then
    # check the imagenet build picks them up without touching the network.
    source = build_backbone("mobilenet_v2", weights=None, input_size=32)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(backbones, "_host_reachable", lambda *a: pytest.fail("network probed"))
    cache_file = backbones._keras_cache_file(
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
    )
    cache_file.parent.mkdir(parents=True)
    _save_legacy_h5(source.model, cache_file)
    loaded = build_backbone("mobilenet_v2", input_size=32)
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(loaded.features(x), source.features(x), rtol=1e-5, atol=1e-5)


def _save_legacy_h5(model, path):
    """keras.applications weight files are legacy Keras-2 h5 files (by layer name)."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)


@pytest.mark.parametrize(
    "name,size,dim", [("mobilenet_v2", 32, 1280), ("resnet50", 32, 2048), ("efficientnet_lite0", 64, 1280)]
)
def test_tiny_random_backbones_build(name, size, dim):
    bb = build_backbone(name, weights=None, input_size=size)
    assert bb.input_size == size and bb.feature_dim == dim
    feats = bb.features(np.zeros((3, size, size, 3), np.uint8))
    assert feats.shape == (3, dim) and feats.dtype == np.float32
    assert not bb.model.trainable
