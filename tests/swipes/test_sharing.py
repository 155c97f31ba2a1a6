"""Share tokens and the Open Graph picture (no database)."""

import io
import time

import pytest
from PIL import Image

from swipes import sharing


def test_a_token_names_its_profile_and_cannot_be_altered_or_outlive_its_age():
    token = sharing.share_token(42)
    assert sharing.profile_id_from_token(token) == 42
    with pytest.raises(sharing.BadShareLink):
        sharing.profile_id_from_token(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    with pytest.raises(sharing.BadShareLink):
        sharing.profile_id_from_token("garbage")
    time.sleep(1.1)
    with pytest.raises(sharing.BadShareLink):
        sharing.profile_id_from_token(token, max_age=1)


def test_the_open_graph_picture_is_a_1200x630_png_with_the_bars_drawn():
    png = sharing.og_image(
        "My top cities", [("San Francisco Bay Area", 100), ("Kyoto", 50)], "You go for coast."
    )
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (1200, 630)
    green = (34, 197, 94)
    first_bar_row = [image.getpixel((x, 180 + 56)) for x in range(60, 1140)]
    second_bar_row = [image.getpixel((x, 180 + 88 + 56)) for x in range(60, 1140)]
    assert first_bar_row.count(green) > 1.9 * second_bar_row.count(green) > 0
