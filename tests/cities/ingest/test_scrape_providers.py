"""The providers on their own: credit text, paging, URL lists (the licence rule: tests/cities/test_licences.py)."""

import pytest

from cities.ingest.providers import ProviderError, make_provider
from cities.ingest.providers.urllist import parse_url_list
from cities.ingest.providers.wikimedia import plain_text, standard_thumb_width
from cities.ingest.safe_http import SafeFetcher
from tests.fakeweb import encode, photo_like


def test_the_artist_html_is_reduced_to_its_words():
    html = (
        '<a href="//commons.wikimedia.org/wiki/User:A" title="User:A">Anna&nbsp;B.</a>\n <span>(talk)</span>'
    )
    assert plain_text(html) == "Anna B. (talk)"
    assert plain_text("<b>x</b>" * 200, limit=10) == "x" * 10


def test_commons_results_are_paged_until_the_limit(scrape_settings, fake_web):
    for i in range(7):
        fake_web.add_commons_file(f"oslo-{i}.jpg", encode(photo_like(i, size=(64, 48))), topic="Oslo")
    fake_web.add_commons_file(
        "oslo.svg", b"<svg/>", topic="Oslo", mime="image/svg+xml"
    )  # not raster: skipped
    with SafeFetcher() as fetcher:
        provider = make_provider("wikimedia", fetcher)
        provider_params = provider._params("x", 3, {})
        assert provider_params["gsrnamespace"] == "6" and "extmetadata" in provider_params["iiprop"]
        found = provider.search("Oslo harbour", limit=5)
    assert [c.title for c in found] == [f"oslo-{i}.jpg" for i in range(5)]
    assert fake_web.hits["/w/api.php"] >= 1


def test_a_commons_api_error_is_a_provider_error(scrape_settings, fake_web):
    fake_web.serve(
        "/broken-api", b'{"error": {"code": "badvalue", "info": "bad gsrsearch"}}', "application/json"
    )
    scrape_settings.WIKIMEDIA_API_URL = fake_web.url("/broken-api")
    with SafeFetcher() as fetcher, pytest.raises(ProviderError, match="refused the search.*bad gsrsearch"):
        make_provider("wikimedia", fetcher).search("x")


def test_unknown_providers_are_named():
    with pytest.raises(ProviderError, match="unknown provider 'bing'"):
        make_provider("bing", None)
    with pytest.raises(ProviderError, match="Google Custom Search provider was removed.*1 January 2027"):
        make_provider("google", None)


@pytest.mark.parametrize(("asked", "sent"), [(1280, 1280), (1000, 960), (4000, 3840), (10, 20), (330, 330)])
def test_commons_is_asked_for_its_standard_thumbnail_widths_only(asked, sent):
    assert standard_thumb_width(asked) == sent


def test_url_lists_take_one_url_per_line_with_an_optional_city():
    lines = parse_url_list("# comment\nhttps://a.org/1.jpg\n\nhttps://a.org/2.jpg, paris ,Ann,CC0\n")
    assert [(line.number, line.url, line.city_slug, line.author) for line in lines] == [
        (2, "https://a.org/1.jpg", "", ""),
        (4, "https://a.org/2.jpg", "paris", "Ann"),
    ]
    provider = make_provider("urls", None, urls="https://a.org/1.jpg\nhttps://a.org/2.jpg,paris\n")
    assert [c.url for c in provider.search(city_slug="paris")] == [
        "https://a.org/1.jpg",
        "https://a.org/2.jpg",
    ]
    assert [c.url for c in provider.search(city_slug="rome")] == ["https://a.org/1.jpg"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "holds no URL"),
        ("javascript:alert(1)", "line 1: 'javascript:alert\\(1\\)' is not an http"),
        ("https://a.org/1.jpg,a,b,c,d", "line 1: expected url"),
    ],
)
def test_bad_url_lists_name_the_line(text, message):
    with pytest.raises(ProviderError, match=message):
        parse_url_list(text)
