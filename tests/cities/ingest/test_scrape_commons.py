"""Scraping Commons by Wikimedia's rules for bots, against a stand-in that answers like the MediaWiki API."""

import pytest

from cities.ingest.providers import ProviderError, make_provider
from cities.ingest.safe_http import SafeFetcher
from cities.ingest.scrape import ScrapeError, build_request, scrape
from cities.models import Photo
from tests.conftest import TEST_USER_AGENT
from tests.fakeweb import COMMONS_HOST, UPLOAD_HOST, encode, fail_first, photo_like

API = "/w/api.php"


@pytest.fixture
def berlin(make_city):
    return make_city("berlin", "Berlin")


def run(**options):
    return scrape(build_request(city_slugs=["berlin"], queries=["{city}"], **options))


def test_never_more_than_two_downloads_in_flight_to_a_wikimedia_host(scrape_settings, fake_web, berlin):
    for i in range(8):
        fake_web.add_commons_file(f"b{i}.jpg", encode(photo_like(200 + i)), topic="Berlin", delay=0.25)
    report = run(per_city=8, concurrency=8)
    assert len(report.stored) == 8
    assert fake_web.max_in_flight[UPLOAD_HOST] == 2  # eight download threads, two connections


def test_a_429_from_the_image_host_is_waited_out(scrape_settings, fake_web, berlin):
    body = encode(photo_like(210))
    busy = fail_first(1, body, status=429, headers={"Retry-After": "1"})
    path = fake_web.add_commons_file("busy.jpg", body, topic="Berlin", handler=busy)
    report = run(per_city=1)
    assert len(report.stored) == 1 and report.problems == []
    first, second = fake_web.seen(path)
    assert second.at - first.at >= 0.95


def test_a_429_from_the_api_is_waited_out(scrape_settings, fake_web, berlin):
    fake_web.add_commons_file("a.jpg", encode(photo_like(211)), topic="Berlin")
    fake_web.commons.throttled_answers = 1
    assert len(run(per_city=1).stored) == 1
    first, second = fake_web.seen(API)[:2]
    assert second.at - first.at >= 0.95


def test_maxlag_is_sent_and_its_error_waited_out(scrape_settings, fake_web, berlin):
    fake_web.add_commons_file("a.jpg", encode(photo_like(212)), topic="Berlin")
    fake_web.commons.maxlag_answers = 2
    report = run(per_city=1)
    assert len(report.stored) == 1 and report.problems == []
    calls = fake_web.seen(API)
    assert [c.query["maxlag"] for c in calls] == ["5", "5", "5"]  # two lag answers, then the search
    assert calls[1].at - calls[0].at >= 0.95 and calls[2].at - calls[1].at >= 0.95


def test_a_lag_that_does_not_pass_ends_the_search_in_words(scrape_settings, fake_web, berlin):
    fake_web.commons.maxlag_answers = 99
    fake_web.commons.retry_after = "0"  # a lagging replica that asks for no pause; we still give up
    with SafeFetcher() as fetcher, pytest.raises(ProviderError, match="Commons is lagging \\(7 s behind\\)"):
        make_provider("wikimedia", fetcher).search("Berlin")
    assert len(fake_web.seen(API)) == 4  # the first try and three more


def test_every_request_carries_the_configured_contact(scrape_settings, fake_web, berlin):
    fake_web.add_commons_file("a.jpg", encode(photo_like(213)), topic="Berlin")
    run(per_city=1)
    hosts = {r.host for r in fake_web.requests}
    assert hosts == {COMMONS_HOST, UPLOAD_HOST}
    assert all(r.headers["user-agent"].startswith(f"{TEST_USER_AGENT} urllib3/") for r in fake_web.requests)


def test_commons_is_refused_with_the_placeholder_contact(scrape_settings, fake_web, berlin):
    scrape_settings.SCRAPE_USER_AGENT = (
        "CityVibes/1.0 (https://github.com/city-vibes/city-vibes; cityvibes-admin@example.org)"
    )
    with pytest.raises(
        ScrapeError, match="Wikimedia Commons is off: SCRAPE_USER_AGENT still names the placeholder"
    ):
        build_request(city_slugs=["berlin"])
    assert fake_web.requests == []


def test_nc_and_nd_files_are_never_fetched_whatever_their_spelling(scrape_settings, fake_web, berlin):
    unfree = [
        {"licence": "CC BY-NC-SA 4.0"},
        {"licence": "CC BY-ND 2.0"},
        {"licence": "Attribution-NonCommercial-ShareAlike 2.0", "licence_code": None},
        {"licence": "Attribution-NoDerivs 2.0", "licence_code": None},
        {"licence": "CC BY 2.0", "licence_code": "cc-by-nc-2.0"},  # the machine code decides
        {"licence": "CC BY 4.0", "non_free": True},
        {"licence": "CC BY-SA 4.0", "restrictions": "personality"},
    ]
    paths = [
        fake_web.add_commons_file(f"unfree-{i}.jpg", encode(photo_like(220 + i)), topic="Berlin", **options)
        for i, options in enumerate(unfree)
    ]
    fake_web.add_commons_file("free.jpg", encode(photo_like(230)), topic="Berlin", licence="CC BY 2.0")
    fake_web.add_commons_file(
        "free-code.jpg",
        encode(photo_like(231)),
        topic="Berlin",
        licence="odd name",
        licence_code="cc-by-sa-3.0",
    )
    report = run(per_city=9)
    assert sorted(p.licence for p in Photo.objects.all()) == ["CC BY 2.0", "odd name"]
    assert [fake_web.hits[p] for p in paths] == [0] * len(unfree)
    assert report.skipped_unfree == 6 and "6 not freely licensed, 1 left out (carries a non-copyright" in (
        report.summary()
    )


def test_image_info_split_over_several_answers_is_followed_with_iicontinue(scrape_settings, fake_web, berlin):
    fake_web.commons.info_batch = 2
    for i in range(5):
        fake_web.add_commons_file(f"c{i}.jpg", encode(photo_like(240 + i)), topic="Berlin")
    with SafeFetcher() as fetcher:
        found = make_provider("wikimedia", fetcher).search("Berlin", limit=5)
    assert [c.title for c in found] == [f"c{i}.jpg" for i in range(5)]
    calls = [c.query for c in fake_web.seen(API)]
    assert [c.get("iicontinue", "").split("|")[0] for c in calls] == ["", "c2.jpg", "c4.jpg"]
    assert all(c["formatversion"] == "2" and c["iiurlwidth"] == "1280" for c in calls)


def test_more_hits_than_a_batch_are_paged_with_gsroffset(scrape_settings, fake_web, berlin):
    for i in range(7):
        licence = "CC BY-NC 2.0" if i < 3 else "CC BY 2.0"  # the first batch gives nothing we take
        fake_web.add_commons_file(
            f"d{i}.jpg", encode(photo_like(250 + i, (64, 48))), topic="Berlin", licence=licence
        )
    with SafeFetcher() as fetcher:
        found = make_provider("wikimedia", fetcher).search("Berlin", limit=3)
    assert [c.title for c in found] == ["d3.jpg", "d4.jpg", "d5.jpg"]
    assert [c.query.get("gsroffset") for c in fake_web.seen(API)] == [None, "3"]
