"""The ImageNet head applied to cached pooled features gives the full classifier's probabilities."""

import numpy as np
import pytest

pytestmark = pytest.mark.ml


def test_head_on_pooled_features_matches_the_full_model(lite0_model, model_cache_dir):
    import keras

    from mlworker.ml.imagenet_head import imagenet_probabilities

    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (3, 224, 224, 3)).astype(np.float32)
    images[1] = np.linspace(0, 255, 224)[None, :, None]  # a gradient, unlike noise
    pooled = keras.Model(lite0_model.input, lite0_model.get_layer("avg_pool").output).predict(
        images, verbose=0
    )
    expected = lite0_model.predict(images, verbose=0)
    probs = imagenet_probabilities(pooled, cache_dir=model_cache_dir)
    assert probs.shape == (3, 1000)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert np.allclose(probs, expected, atol=1e-5)
    with pytest.raises(ValueError):
        imagenet_probabilities(pooled, backbone_name="resnet50")
