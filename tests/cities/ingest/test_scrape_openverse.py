"""Scraping Openverse, against a stand-in that answers like its v1 API: credits, licences, throttling, tokens."""

import logging
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from cities.ingest.scrape import ScrapeError, build_request, scrape
from cities.models import Photo
from jobs.models import Job
from tests.fakeweb import OPENVERSE_HOST, UPLOAD_HOST, encode, photo_like
from tests.helpers import run_queued_jobs

SEARCH = "/v1/images/"
PLACEHOLDER = "CityVibes/1.0 (https://github.com/city-vibes/city-vibes; cityvibes-admin@example.org)"


@pytest.fixture
def berlin(make_city):
    return make_city("berlin", "Berlin")


def run(**options):
    return scrape(build_request(city_slugs=["berlin"], provider="openverse", queries=["{city}"], **options))


def test_openverse_photos_are_stored_with_their_credits(scrape_settings, fake_web, berlin):
    fake_web.add_openverse_image(
        "Berlin cathedral", encode(photo_like(300)), topic="Berlin", creator="Ann Lee"
    )
    fake_web.add_openverse_image(
        "Berlin wall", encode(photo_like(301)), topic="Berlin", license="by-sa", license_version="4.0"
    )
    fake_web.add_openverse_image(
        "Berlin at night",
        encode(photo_like(302)),
        topic="Berlin",
        license="cc0",
        license_version="1.0",
        creator=None,
    )
    report = run(per_city=5)
    assert len(report.stored) == 3 and report.problems == []
    credits = {p.licence: (p.author, p.source, p.licence_url) for p in Photo.objects.all()}
    assert credits == {
        "CC BY 2.0": ("Ann Lee", "openverse", "https://creativecommons.org/licenses/by/2.0/"),
        "CC BY-SA 4.0": ("Jane Doe", "openverse", "https://creativecommons.org/licenses/by-sa/4.0/"),
        "CC0 1.0": ("unknown", "openverse", "https://creativecommons.org/publicdomain/zero/1.0/"),
    }
    assert all(p.source_url.startswith("https://www.flickr.com/photos/") for p in Photo.objects.all())
    (call,) = fake_web.seen(SEARCH)
    assert call.host == OPENVERSE_HOST and call.query["license"] == "by,by-sa,cc0,pdm"
    assert call.query["page_size"] == "20" and "authorization" not in call.headers

    run_queued_jobs("predict")
    cc0 = Photo.objects.get(licence="CC0 1.0")
    Photo.objects.exclude(pk=cc0.pk).update(status="hidden")
    credit = Client().get("/").content.decode().split('<footer class="credit">')[1].split("</footer>")[0]
    assert (
        "©" not in credit and f'href="{cc0.licence_url}"' in credit and f'href="{cc0.source_url}"' in credit
    )


def test_nc_and_nd_results_are_never_fetched_even_when_the_api_sends_them(scrape_settings, fake_web, berlin):
    fake_web.openverse.honours_licence_filter = False
    paths = [
        fake_web.add_openverse_image(
            f"Berlin {code}", encode(photo_like(310 + i)), topic="Berlin", license=code
        )
        for i, code in enumerate(["by-nc", "by-nd", "by-nc-sa", "by-nc-nd", "nc-sampling+"])
    ]
    fake_web.add_openverse_image(
        "Berlin free", encode(photo_like(320)), topic="Berlin", license="pdm", license_version="1.0"
    )
    report = run(per_city=6)
    assert [p.licence for p in Photo.objects.all()] == ["Public Domain Mark 1.0"]
    assert [fake_web.hits[p] for p in paths] == [0] * 5 and report.skipped_unfree == 5


def test_throttling_headers_and_429s_are_honoured(scrape_settings, fake_web, berlin):
    fake_web.openverse.burst = (2, 2)  # two calls in any two seconds
    for i in range(3):
        fake_web.add_openverse_image(f"Berlin {i}", encode(photo_like(330 + i)), topic=f"Berlin q{i}")
    report = scrape(
        build_request(
            city_slugs=["berlin"],
            provider="openverse",
            per_city=3,
            queries=["{city} q0", "{city} q1", "{city} q2"],
        )
    )
    assert len(report.stored) == 3 and report.problems == []
    calls = fake_web.seen(SEARCH)
    # The second answer says none is left: the next call waits. The window is longer still, so it meets one
    # 429, whose Retry-After is waited out; the third search goes through two seconds after the first.
    assert calls[2].at - calls[1].at >= 0.95 and len(calls) == 4
    assert calls[-1].at - calls[0].at >= 1.95


def test_client_credentials_get_a_token_that_is_sent_and_never_logged(
    scrape_settings, fake_web, berlin, caplog
):
    scrape_settings.OPENVERSE_CLIENT_ID, scrape_settings.OPENVERSE_CLIENT_SECRET = (
        "vibes-client",
        "s3cret-value",
    )
    fake_web.openverse.clients["vibes-client"] = "s3cret-value"
    fake_web.add_openverse_image("Berlin tower", encode(photo_like(340)), topic="Berlin")
    caplog.set_level(logging.DEBUG)
    job = Job.objects.create(kind="scrape", params=build_request(
        city_slugs=["berlin"], provider="openverse", per_city=1, queries=["{city}", "{city} old"]
    ).as_params())  # fmt: skip
    run_queued_jobs("scrape")
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.result["achieved"] == 1
    (token_call,) = fake_web.seen("/v1/auth_tokens/token/")
    searches = fake_web.seen(SEARCH)
    assert len(searches) == 2  # one token for both
    assert {s.headers["authorization"] for s in searches} == {
        f"Bearer {next(iter(fake_web.openverse.tokens))}"
    }
    token = next(iter(fake_web.openverse.tokens))
    for secret in ("s3cret-value", token):
        assert secret not in caplog.text and secret not in str(job.result) and secret not in job.message
        assert not any(secret in str(s.query) for s in fake_web.requests)


def test_wrong_client_credentials_fail_the_search_in_words(scrape_settings, fake_web, berlin):
    scrape_settings.OPENVERSE_CLIENT_ID, scrape_settings.OPENVERSE_CLIENT_SECRET = "vibes-client", "wrong"
    fake_web.openverse.clients["vibes-client"] = "right"
    report = run(per_city=1)
    assert report.stored == [] and report.errors[0].reason == "no token for OPENVERSE_CLIENT_ID (HTTP 401)"
    assert fake_web.seen(SEARCH) == []


def test_half_configured_credentials_are_refused_before_anything_starts(scrape_settings, berlin):
    scrape_settings.OPENVERSE_CLIENT_ID = "vibes-client"
    with pytest.raises(ScrapeError, match="needs both OPENVERSE_CLIENT_ID and OPENVERSE_CLIENT_SECRET"):
        build_request(city_slugs=["berlin"], provider="openverse")


def test_pages_stay_at_twenty_results_and_stop_when_enough_are_found(scrape_settings, fake_web, berlin):
    for i in range(45):
        fake_web.add_openverse_image(f"Berlin {i}", encode(photo_like(400 + i, (64, 48))), topic="Berlin")
    report = run(per_city=12)  # asks for 2 x 12 + 10 = 34 candidates: two pages
    assert len(report.stored) == 12
    assert [(c.query["page"], c.query["page_size"]) for c in fake_web.seen(SEARCH)] == [
        ("1", "20"),
        ("2", "20"),
    ]


def test_without_a_contact_its_wikimedia_files_are_left_out_and_with_one_capped(
    scrape_settings, fake_web, berlin
):
    for i in range(4):
        fake_web.add_openverse_image(
            f"Berlin {i}",
            encode(photo_like(500 + i)),
            topic="Berlin",
            source="wikimedia",
            host=UPLOAD_HOST,
            delay=0.2,
        )
    scrape_settings.SCRAPE_USER_AGENT = PLACEHOLDER
    report = run(per_city=4)
    assert report.stored == [] and report.left_out == {
        "hosted on Wikimedia, which needs SCRAPE_USER_AGENT with your contact": 4
    }
    assert not [r for r in fake_web.requests if r.host == UPLOAD_HOST]
    scrape_settings.SCRAPE_USER_AGENT = "CityVibesTests/1.0 (https://cityvibes.test; ops@cityvibes.test)"
    assert len(run(per_city=4, concurrency=8).stored) == 4
    assert fake_web.max_in_flight[UPLOAD_HOST] == 2


def test_the_command_takes_openverse(scrape_settings, fake_web, berlin):
    fake_web.add_openverse_image("Berlin gate", encode(photo_like(600)), topic="Berlin")
    out = StringIO()
    call_command("scrape", cities="berlin", provider="openverse", per_city=1, queries="{city}", stdout=out)
    assert "1 photo stored" in out.getvalue() and Photo.objects.get().source == "openverse"
