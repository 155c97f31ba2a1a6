"""Untrusted images are decoded only by the plugins of the formats we accept (finding 12 of issue 10): a
valid TIFF or EPS, whatever its name says, is refused without its Pillow plugin ever parsing it."""

import io

import pytest
from PIL import EpsImagePlugin, Image, TiffImagePlugin

from cities.ingest.validation import ACCEPTED_FORMATS, EXTENSION_FORMATS, ImageRejected, validate_image


def encoded(format: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 12), (200, 30, 30)).save(out, format=format)
    return out.getvalue()


@pytest.fixture
def plugin_calls(monkeypatch):
    """Records every time the TIFF or EPS plugin starts to parse a file (and lets it carry on)."""
    calls = []
    for plugin in (TiffImagePlugin.TiffImageFile, EpsImagePlugin.EpsImageFile):
        original = plugin._open

        def spy(self, original=original, plugin=plugin):
            calls.append(plugin.format)
            return original(self)

        monkeypatch.setattr(plugin, "_open", spy)
    return calls


@pytest.mark.parametrize("format", ["TIFF", "EPS"])
@pytest.mark.parametrize("name", ["photo.jpg", "photo.png"])
def test_a_valid_file_of_another_format_is_refused_unparsed(plugin_calls, format, name):
    data = encoded(format)
    assert Image.open(io.BytesIO(data)).format == format and plugin_calls == [format]  # a real one
    plugin_calls.clear()
    with pytest.raises(ImageRejected) as caught:
        validate_image(name, data)
    assert "not an image in an accepted format (JPEG, PNG or WebP)" in caught.value.reason
    assert plugin_calls == []


def test_the_accepted_formats_are_the_ones_the_extensions_name():
    assert set(ACCEPTED_FORMATS) == set(EXTENSION_FORMATS.values()) == {"JPEG", "PNG", "WEBP"}
    for format in ACCEPTED_FORMATS:
        extension = next(ext for ext, f in EXTENSION_FORMATS.items() if f == format)
        assert validate_image(f"ok{extension}", encoded(format)).image.size == (16, 12)
