import numpy as np
import pytest
from PIL import Image

from mlworker.ml.backbones import build_backbone
from mlworker.ml.pipeline import embed_paths, image_dataset, load_image

from .conftest import nearest_colour, write_image, write_quadrants

pytestmark = pytest.mark.ml


@pytest.fixture(scope="module")
def tiny_mobilenet():
    return build_backbone("mobilenet_v2", weights=None, input_size=32)


@pytest.fixture
def image_files(tmp_path):
    """Five readable images (JPEG, PNG, a large landscape) and one corrupt JPEG at index 2."""
    paths = [
        write_image(tmp_path / "a.jpg", "red"),
        write_image(tmp_path / "b.png", "green", size=(30, 50)),
        tmp_path / "corrupt.jpg",
        write_image(tmp_path / "c.jpg", "blue", size=(640, 320), seed=1),
        write_image(tmp_path / "d.jpg", "white", seed=2),
        write_quadrants(tmp_path / "rotated.jpg", exif_orientation=6),
    ]
    paths[2].write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    return paths


def _quadrant_colours(image: np.ndarray) -> tuple[str, str, str, str]:
    """Nearest palette colour of the centre of each quadrant: TL, TR, BL, BR."""
    s = image.shape[0]
    q1, q3 = s // 4, 3 * s // 4
    return tuple(nearest_colour(image[r, c]) for r, c in ((q1, q1), (q1, q3), (q3, q1), (q3, q3)))


def test_exif_orientation_6_is_applied(tmp_path):
    # Orientation 6 = "rotate 90 degrees clockwise to display": the stored left column becomes the top row.
    plain = load_image(write_quadrants(tmp_path / "plain.jpg"), 32)
    rotated = load_image(write_quadrants(tmp_path / "rot.jpg", exif_orientation=6), 32)
    assert _quadrant_colours(plain) == ("red", "green", "blue", "white")
    assert _quadrant_colours(rotated) == ("blue", "red", "white", "green")


def test_centre_crop_keeps_the_middle(tmp_path):
    pixels = np.zeros((20, 60, 3), np.uint8)
    pixels[:, :20], pixels[:, 20:40], pixels[:, 40:] = (220, 30, 30), (30, 200, 40), (30, 40, 220)
    Image.fromarray(pixels).save(tmp_path / "wide.png")
    out = load_image(tmp_path / "wide.png", 16)
    assert out.shape == (16, 16, 3) and out.dtype == np.uint8
    assert nearest_colour(out.reshape(-1, 3).mean(axis=0)) == "green"


def test_dataset_keeps_order_and_reports_bad_files(image_files):
    rows = list(image_dataset(image_files, 32).as_numpy_iterator())
    assert [int(i) for i, _, _ in rows] == list(range(len(image_files)))
    errors = {int(i): e.decode() for i, _, e in rows if e}
    assert list(errors) == [2] and "Error" in errors[2]
    # The EXIF rotation also holds when decoding runs inside tf.data.
    assert _quadrant_colours(rows[5][1]) == ("blue", "red", "white", "green")
    assert nearest_colour(rows[3][1].reshape(-1, 3).mean(axis=0)) == "blue"


def test_embed_paths_skips_and_reports_corrupt_file(tiny_mobilenet, image_files):
    calls = []
    result = embed_paths(
        tiny_mobilenet, image_files, batch_size=4, progress=lambda d, t: calls.append((d, t))
    )
    emb, ok, errors = result  # also unpacks as a plain tuple
    assert emb.shape == (5, 1280) and emb.dtype == np.float32
    assert ok.tolist() == [0, 1, 3, 4, 5]
    assert [(e.index, e.path) for e in errors] == [(2, str(image_files[2]))]
    assert calls == [(4, 6), (6, 6)]
    # Each readable image's embedding equals embedding it alone (batching changes nothing).
    alone = embed_paths(tiny_mobilenet, [image_files[3]]).embeddings
    np.testing.assert_allclose(alone[0], emb[2], rtol=1e-4, atol=1e-4)


def test_embed_paths_with_resnet50_and_empty_input(tmp_path):
    resnet = build_backbone("resnet50", weights=None, input_size=32)
    paths = [write_image(tmp_path / f"{i}.jpg", c, seed=i) for i, c in enumerate(["red", "blue", "green"])]
    result = embed_paths(resnet, paths, batch_size=2)
    assert result.embeddings.shape == (3, 2048) and not result.errors
    empty = embed_paths(resnet, [])
    assert empty.embeddings.shape == (0, 2048) and empty.ok_indices.shape == (0,)


def test_all_files_bad(tiny_mobilenet, tmp_path):
    bad = [tmp_path / "missing.jpg", tmp_path / "empty.png"]
    bad[1].write_bytes(b"")
    result = embed_paths(tiny_mobilenet, bad)
    assert result.embeddings.shape == (0, 1280)
    assert [e.index for e in result.errors] == [0, 1]
    assert "FileNotFoundError" in result.errors[0].message


def test_augmented_decoding_crops_flips_and_jitters_repeatably(tmp_path):
    path = write_quadrants(tmp_path / "q.jpg", size=96)
    plain = load_image(path, 32)
    views = [load_image(path, 32, np.random.default_rng(seed)) for seed in range(12)]
    assert all(v.shape == (32, 32, 3) and v.dtype == np.uint8 for v in views)
    # The same seed gives the same view; different seeds give different crops.
    np.testing.assert_array_equal(views[3], load_image(path, 32, np.random.default_rng(3)))
    assert len({v.tobytes() for v in views}) == len(views)
    assert not any(np.array_equal(v, plain) for v in views)
    # Some views are mirror images: red (top-left) moves to the right. None is upside down.
    tops = {_quadrant_colours(v)[:2] for v in views if len(set(_quadrant_colours(v))) == 4}
    assert ("red", "green") in tops and ("green", "red") in tops
    assert all("blue" not in top and "white" not in top for top in tops)


def test_training_dataset_reshuffles_and_draws_new_views_each_pass(tmp_path):
    paths = [write_image(tmp_path / f"{i}.jpg", "blue", size=(64, 48), seed=i) for i in range(24)]

    def one_pass(dataset):
        return [(int(index), image.numpy()) for index, image, _ in dataset]

    dataset = image_dataset(paths, 16, train_seed=7)
    first, second = one_pass(dataset), one_pass(dataset)
    # Every photo once per pass, in a new order each pass (not the input order, in which callers list
    # photos city by city).
    for order in ([i for i, _ in first], [i for i, _ in second]):
        assert sorted(order) == list(range(24)) and order != list(range(24))
    assert [i for i, _ in first] != [i for i, _ in second]
    # A new random view of the same photo in the next pass; the same seed repeats the first pass.
    views = dict(first)
    assert not np.array_equal(views[5], dict(second)[5])
    repeat = one_pass(image_dataset(paths, 16, train_seed=7))
    assert [i for i, _ in repeat] == [i for i, _ in first]
    np.testing.assert_array_equal(views[5], dict(repeat)[5])
    # Without a seed: input order and the centre crop, every pass.
    plain = one_pass(image_dataset(paths, 16))
    assert [i for i, _ in plain] == list(range(24))
    np.testing.assert_array_equal(plain[5][1], load_image(paths[5], 16))


def test_flip_tta_averages_a_photo_and_its_mirror_image(tmp_path, model_cache_dir):
    # Ported weights: a random-init backbone's features are ~0 whatever the image.
    backbone = build_backbone("efficientnet_lite0", input_size=32, cache_dir=model_cache_dir)
    path = write_quadrants(tmp_path / "q.jpg", size=64)
    mirror = tmp_path / "mirror.png"
    Image.fromarray(load_image(path, 32)[:, ::-1]).save(mirror)
    plain = embed_paths(backbone, [path, mirror]).embeddings
    tta = embed_paths(backbone, [path, mirror], tta=True).embeddings
    assert not np.allclose(plain[0], plain[1])  # the backbone tells them apart
    np.testing.assert_allclose(tta[0], (plain[0] + plain[1]) / 2, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(tta[0], tta[1], rtol=1e-4, atol=1e-5)  # a photo and its mirror agree


def test_only_the_accepted_formats_are_decoded(tmp_path):
    """A TIFF (any format cities.ingest.validation refuses) fails as unreadable, its plugin never run."""
    Image.new("RGB", (20, 20), "red").save(tmp_path / "x.tif", format="TIFF")
    with pytest.raises(Image.UnidentifiedImageError):
        load_image(tmp_path / "x.tif", 16)
