"""Uploaded files are served from MEDIA_ROOT as configured at request time."""

from django.test import Client


def test_media_follows_media_root_after_the_urlconf_is_loaded(settings, tmp_path):
    client = Client()
    for name, content in (("first", b"old bytes"), ("second", b"new bytes")):
        root = tmp_path / name
        (root / "photos").mkdir(parents=True)
        (root / "photos" / "same.jpg").write_bytes(content)
        settings.MEDIA_ROOT = root
        response = client.get("/media/photos/same.jpg")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == content


def test_media_does_not_escape_media_root(settings, tmp_path):
    (tmp_path / "secret.txt").write_text("no")
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "media").mkdir()
    response = Client().get("/media/../secret.txt")
    assert response.status_code in (400, 404)  # SuspiciousFileOperation or not found, never the file
