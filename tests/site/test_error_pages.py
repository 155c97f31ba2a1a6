"""Friendly error pages, for browsers and for htmx, and the Content-Security-Policy on every page.

The database outage is real: a fresh interpreter (the test settings) whose DATABASE_URL names a port where
nothing listens. Before, it gave a bare "Server Error (500)" while /healthz/ said 200.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
HX = {"HTTP_HX_REQUEST": "true"}

DATABASE_DOWN = """
import json
import django
django.setup()
from django.test import Client

client = Client(raise_request_exception=False)
page, fragment = client.get("/"), client.get("/", HTTP_HX_REQUEST="true")
health, live = client.get("/healthz/"), client.get("/livez/")
print(json.dumps({
    "page": [page.status_code, page.content.decode(), page.get("Content-Security-Policy", "")],
    "fragment": [fragment.status_code, fragment.content.decode()],
    "health": [health.status_code, health.json()],
    "live": live.status_code,
}))
"""


@pytest.fixture(scope="module")
def database_down() -> dict:
    env = {**os.environ, "DATABASE_URL": "postgres://postgres@127.0.0.1:1/nothing", "LOG_LEVEL": "CRITICAL"}
    result = subprocess.run(
        [sys.executable, "-c", DATABASE_DOWN], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_database_outage_gives_the_friendly_500_page(database_down):
    status, page, policy = database_down["page"]
    assert status == 500
    assert "Something went wrong on our side" in page and 'id="error-500"' in page
    assert "Server Error (500)" not in page and "Traceback" not in page
    assert 'href="/static/css/vibes.css"' in page  # in the site's style
    assert "script-src 'self'" in policy


def test_a_database_outage_gives_htmx_a_fragment_its_error_hook_shows(database_down):
    status, fragment = database_down["fragment"]
    assert status == 500 and 'id="error-500"' in fragment and "<html" not in fragment


def test_healthz_is_503_and_names_the_database_when_it_is_down_while_livez_stays_200(database_down):
    status, body = database_down["health"]
    assert status == 503 and body["status"] == "unavailable"
    assert body["database"].startswith("unreachable") and body["broker"] == "ok"
    assert database_down["live"] == 200


@pytest.mark.django_db
def test_a_missing_page_is_friendly_for_browsers_and_a_fragment_for_htmx():
    page = Client().get("/no-such-page/")
    assert page.status_code == 404 and "We could not find that page" in page.content.decode()
    assert 'href="/"' in page.content.decode()  # a way back
    fragment = Client().get("/no-such-page/", **HX)
    body = fragment.content.decode()
    assert fragment.status_code == 404 and 'id="error-404"' in body and "<html" not in body
    assert "HX-Request" in fragment["Vary"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/recommendations/", "/accounts/login/", "/admin/login/", "/nope/"])
def test_every_page_carries_the_content_security_policy(path):
    policy = Client().get(path)["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'" and directives["img-src"] == "'self' data:"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "unsafe" not in policy


def test_the_media_host_may_serve_images():
    from vibes_site.settings.base import media_origin

    assert media_origin("https://cdn.example.org/media/") == ["https://cdn.example.org"]
    assert media_origin(settings.MEDIA_URL) == []  # same origin: 'self' covers it


INLINE_CODE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE), "an inline <script>"),
    (re.compile(r"<style\b", re.IGNORECASE), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.IGNORECASE), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.IGNORECASE), "an inline event handler"),
    (re.compile(r"javascript:", re.IGNORECASE), "a javascript: URL"),
]


def test_no_template_or_admin_markup_needs_what_the_policy_forbids():
    """The policy allows no inline script, style attribute or handler: none may be written."""
    sources = [*(ROOT / "templates").rglob("*.html"), *ROOT.glob("*/admin.py"), *ROOT.glob("*/views.py")]
    found = [
        f"{path.relative_to(ROOT)}: {what}"
        for path in sources
        for pattern, what in INLINE_CODE
        if pattern.search(path.read_text())
    ]
    assert found == []
