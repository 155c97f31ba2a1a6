"""/classify/ is bounded (finding 6 of issue 10): refused by Content-Length before the body is read, capped
while the photo streams in, and rate-limited per IP and per session, each with a friendly answer."""

import re

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from jobs.models import Job
from mlworker.upload_limits import MULTIPART_ALLOWANCE
from tests.helpers import jpeg_bytes

HX = {"HTTP_HX_REQUEST": "true"}


class UnreadBody:
    """A request body that records every attempt to read it."""

    def __init__(self):
        self.reads = []

    def read(self, size=-1):
        self.reads.append(size)
        return b""

    readline = read


def csrf_client() -> tuple[Client, str]:
    """A browser that keeps the CSRF check on, with the token its classify form carries."""
    client = Client(enforce_csrf_checks=True)
    page = client.get("/classify/").content.decode()
    return client, re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def photo(size: int = 0, name="me.jpg") -> SimpleUploadedFile:
    data = jpeg_bytes()
    return SimpleUploadedFile(name, data + b"\0" * max(0, size - len(data)), "image/jpeg")


def test_a_body_declared_too_large_is_refused_unread(trained_model):
    client, token = csrf_client()
    body = UnreadBody()
    response = client.generic(
        "POST",
        "/classify/",
        b"--x--",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(300 * 2**20),
        **{"wsgi.input": body, "HTTP_X_CSRFTOKEN": token},
    )
    assert response.status_code == 413 and body.reads == []
    page = response.content.decode()
    assert "That photo is too large: the limit is 20.0 MB" in page and "<html" in page
    assert not Job.objects.filter(kind="classify").exists()


def test_a_photo_over_the_cap_is_stopped_while_it_streams(trained_model, settings, caplog):
    """The Content-Length passes (the cap plus the multipart allowance), the photo does not: the handler stops
    it at the first chunk past the cap, before the CSRF check's read of the form hands it to a file."""
    settings.MAX_IMAGE_BYTES = 50_000
    client, token = csrf_client()
    response = client.post("/classify/", {"csrfmiddlewaretoken": token, "photo": photo(size=100_000)})
    assert response.status_code == 413 and "the limit is 0.0 MB" in response.content.decode()
    (stopped,) = [r for r in caplog.records if r.name == "mlworker.upload_limits"]
    received, cap = map(int, re.findall(r"\d+", stopped.getMessage()))
    assert cap == 50_000 and cap < received <= cap + 64 * 1024  # one chunk past the cap, no more
    assert not Job.objects.filter(kind="classify").exists()
    assert not default_storage.exists("classify") or default_storage.listdir("classify") == ([], [])


def test_a_photo_within_the_cap_still_passes_the_csrf_check(trained_model, settings):
    settings.MAX_IMAGE_BYTES = 50_000
    client, token = csrf_client()
    response = client.post("/classify/", {"csrfmiddlewaretoken": token, "photo": photo(size=40_000)})
    job = Job.objects.get(kind="classify")
    assert response.status_code == 302 and response["Location"] == f"/classify/{job.pk}/"
    refused = Client(enforce_csrf_checks=True).post("/classify/", {"photo": photo()})
    assert refused.status_code == 403  # no token: the CSRF check still runs
    assert MULTIPART_ALLOWANCE >= 4096


def test_five_posts_a_minute_per_session(trained_model):
    client = Client()
    for _ in range(5):
        assert client.post("/classify/", {"photo": photo()}).status_code == 302
    refused = client.post("/classify/", {"photo": photo()})
    assert refused.status_code == 429 and refused["Retry-After"] == "60"
    assert "Wait a minute, then try again." in refused.content.decode()
    assert Job.objects.filter(kind="classify").count() == 5
    assert Client().post("/classify/", {"photo": photo()}).status_code == 302  # another visitor


def test_ten_posts_a_minute_per_address(trained_model):
    for _ in range(10):  # a new session each time: a client that drops its cookies
        assert Client(REMOTE_ADDR="203.0.113.9").post("/classify/", {}).status_code == 400
    refused = Client(REMOTE_ADDR="203.0.113.9").post("/classify/", {"photo": photo()}, **HX)
    assert refused.status_code == 429
    fragment = refused.content.decode()
    assert "<html" not in fragment and 'id="classify-error"' in fragment and "Wait a minute" in fragment
    assert Client(REMOTE_ADDR="203.0.113.10").post("/classify/", {"photo": photo()}).status_code == 302
    assert Job.objects.filter(kind="classify").count() == 1


def test_the_page_itself_is_never_limited(trained_model):
    client = Client()
    for _ in range(20):
        assert client.get("/classify/").status_code == 200


def test_behind_a_proxy_each_client_address_has_its_own_limit(trained_model, settings):
    settings.PROXY_COUNT = 1  # the address comes from X-Forwarded-For, as for login throttling
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for _ in range(10):
        assert Client(**proxy).post("/classify/", {}, HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 400
    assert Client(**proxy).post("/classify/", {}, HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429
    assert Client(**proxy).post("/classify/", {}, HTTP_X_FORWARDED_FOR="203.0.113.10").status_code == 400
