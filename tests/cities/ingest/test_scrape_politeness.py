"""The client's manners (cities/ingest/politeness.py, safe_http.py): in-flight caps, Retry-After, contact, logs."""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from cities.ingest.politeness import HostRateLimiter, contact_problem, is_wikimedia_host, parse_retry_after
from cities.ingest.safe_http import FetchError, SafeFetcher
from tests.conftest import TEST_USER_AGENT
from tests.fakeweb import UPLOAD_HOST, encode, fail_first, http_date_in, photo_like

JPEG = ("image/jpeg",)
PLACEHOLDER = "CityVibes/1.0 (https://github.com/city-vibes/city-vibes; cityvibes-admin@example.org)"


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470) == 10  # 07:27:50 GMT
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490) == 0  # already past
    assert (
        parse_retry_after("soon") is None
        and parse_retry_after("") is None
        and parse_retry_after(None) is None
    )


@pytest.mark.parametrize(
    ("host", "wikimedia"),
    [
        ("upload.wikimedia.org", True),
        ("commons.wikimedia.org", True),
        ("en.wikipedia.org", True),
        ("UPLOAD.WIKIMEDIA.ORG.", True),
        ("wikimedia.org.evil.test", False),
        ("notwikimedia.org", False),
        ("live.staticflickr.com", False),
    ],
)
def test_wikimedia_hosts_are_known_by_their_domain(host, wikimedia):
    assert is_wikimedia_host(host) is wikimedia
    assert HostRateLimiter(0, max_in_flight=8).cap(host) == (2 if wikimedia else 8)


@pytest.mark.parametrize(
    ("user_agent", "problem"),
    [
        (PLACEHOLDER, "placeholder contact at example.org"),
        ("MyVibes/2.0 (https://example.com/bot)", "placeholder"),
        ("python-urllib3", "names no contact"),
        (TEST_USER_AGENT, None),
        ("MyVibes/2.0 (ops@myvibes.fr)", None),
    ],
)
def test_a_user_agent_must_name_a_real_contact(user_agent, problem):
    found = contact_problem(user_agent)
    assert (found is None) if problem is None else (problem in found and "SCRAPE_USER_AGENT" in found)


def test_the_in_flight_cap_holds_across_threads():
    limiter = HostRateLimiter(0, max_in_flight=3)
    now, most = {"n": 0}, {"n": 0}
    lock = threading.Lock()

    def request(host):
        with limiter.slot(host, timeout=5):
            with lock:
                now["n"] += 1
                most["n"] = max(most["n"], now["n"])
            time.sleep(0.05)
            with lock:
                now["n"] -= 1

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(request, ["upload.wikimedia.org"] * 12))
    assert most["n"] == 2
    most["n"] = 0
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(request, ["photos.example.org"] * 12))
    assert most["n"] == 3


def test_the_client_keeps_two_requests_in_flight_to_a_wikimedia_host_at_most(scrape_settings, fake_web):
    urls = [
        fake_web.serve(f"/w/{i}.jpg", encode(photo_like(i)), host=UPLOAD_HOST, delay=0.2) for i in range(6)
    ]
    others = [fake_web.serve(f"/o/{i}.jpg", encode(photo_like(i)), delay=0.2) for i in range(6)]
    with SafeFetcher(pool_size=8) as fetcher, ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda url: fetcher.get(url, accept=JPEG, max_bytes=10**6), urls + others))
    assert fake_web.max_in_flight[UPLOAD_HOST] == 2
    assert fake_web.max_in_flight["127.0.0.1"] > 2  # the cap is Wikimedia's, not everyone's


@pytest.mark.parametrize("retry_after", ["1", "date"])
def test_a_429_is_waited_out_as_its_retry_after_says(scrape_settings, fake_web, retry_after):
    value = http_date_in(2) if retry_after == "date" else retry_after  # a date has 1 s resolution
    body = encode(photo_like(1))
    url = fake_web.serve("/busy.jpg", handler=fail_first(1, body, status=429, headers={"Retry-After": value}))
    with SafeFetcher() as fetcher:
        assert fetcher.get(url, accept=JPEG, max_bytes=10**6).body == body
    first, second = fake_web.seen("/busy.jpg")
    assert second.at - first.at >= 0.95


def test_a_503_with_retry_after_is_waited_out_too(scrape_settings, fake_web):
    body = encode(photo_like(2))
    url = fake_web.serve("/down.jpg", handler=fail_first(1, body, status=503, headers={"Retry-After": "1"}))
    with SafeFetcher() as fetcher:
        assert fetcher.get(url, accept=JPEG, max_bytes=10**6).body == body
    first, second = fake_web.seen("/down.jpg")
    assert second.at - first.at >= 0.95


def test_a_retry_after_past_the_deadline_gives_up_at_once(scrape_settings, fake_web):
    url = fake_web.serve(
        "/later.jpg", handler=fail_first(9, b"", status=429, headers={"Retry-After": "3600"})
    )
    started = time.monotonic()
    with (
        SafeFetcher() as fetcher,
        pytest.raises(FetchError, match="HTTP 429.*retry after 3600 s, past the deadline"),
    ):
        fetcher.get(url, accept=JPEG, max_bytes=10**6)
    assert time.monotonic() - started < 1 and fake_web.hits["/later.jpg"] == 1


def test_a_wikimedia_host_is_never_asked_without_a_real_contact(scrape_settings, fake_web):
    scrape_settings.SCRAPE_USER_AGENT = PLACEHOLDER
    url = fake_web.serve("/w/x.jpg", encode(photo_like(3)), host=UPLOAD_HOST)
    with (
        SafeFetcher() as fetcher,
        pytest.raises(FetchError, match="SCRAPE_USER_AGENT still names the placeholder"),
    ):
        fetcher.get(url, accept=JPEG, max_bytes=10**6)
    assert fake_web.requests == []
    other = fake_web.serve("/o/x.jpg", encode(photo_like(3)))
    with SafeFetcher() as fetcher:  # elsewhere the placeholder is only unhelpful
        fetcher.get(other, accept=JPEG, max_bytes=10**6)
    assert fake_web.requests[0].headers["user-agent"].startswith(PLACEHOLDER)


def test_query_strings_never_reach_a_log_line(scrape_settings, fake_web, caplog):
    url = fake_web.serve("/api.json", handler=fail_first(1, b"{}", "application/json", status=500))
    caplog.set_level(logging.DEBUG)
    with SafeFetcher() as fetcher:
        fetcher.get_json(url, {"key": "sekrit-api-key", "q": "Berlin"})
    assert fake_web.hits["/api.json"] == 2 and "retrying" in caplog.text
    assert "sekrit-api-key" not in caplog.text and "/api.json?…" in caplog.text


def test_a_form_is_posted_and_its_json_returned(scrape_settings, fake_web):
    fake_web.openverse.clients["id-1"] = "secret-1"
    with SafeFetcher() as fetcher:
        answer = fetcher.post_form(
            fake_web.url("/v1/auth_tokens/token/"),
            {"grant_type": "client_credentials", "client_id": "id-1", "client_secret": "secret-1"},
        )
        assert answer["token_type"] == "Bearer" and answer["access_token"] in fake_web.openverse.tokens
        with pytest.raises(FetchError, match="HTTP 401"):
            fetcher.post_form(fake_web.url("/v1/auth_tokens/token/"), {"grant_type": "client_credentials"})
    (seen, _) = fake_web.seen("/v1/auth_tokens/token/")
    assert seen.method == "POST" and seen.query == {} and b"client_secret=secret-1" in seen.body
