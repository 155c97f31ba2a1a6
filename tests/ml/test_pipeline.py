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
