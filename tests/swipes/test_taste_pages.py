"""The recommendations page's taste, map, narrowing, sharing and the reveal, through the Django test client."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cities.models import City, Photo
from swipes import services, sharing
from swipes.models import UserProfile, VisitedCity

from .cards import HX, visitor_profile

PLACES = {  # slug: (country, code, latitude, longitude, scene tags of its photos)
    "kyoto": ("Japan", "JP", 35.01, 135.77, ["temple", "old town"]),
    "lisbon": ("Portugal", "PT", 38.72, -9.14, ["coast", "tram", "old town"]),
    "porto": ("Portugal", "PT", 41.15, -8.61, ["coast", "bridge"]),
    "dubai": ("United Arab Emirates", "AE", 25.2, 55.27, ["skyline"]),
}


@pytest.fixture
def world(photo_set, original_scoring):
    photos = photo_set(slugs=tuple(PLACES), per_city=3)
    for slug, (country, code, lat, lon, tags) in PLACES.items():
        City.objects.filter(slug=slug).update(country=country, country_code=code, latitude=lat, longitude=lon)
        Photo.objects.filter(city__slug=slug).update(scene_tags=tags)
    return photos


def swiped(world, likes=("lisbon", "porto"), dislikes=("dubai",)) -> tuple[Client, UserProfile]:
    client = Client()
    profile = visitor_profile(client)
    for slug in likes:
        for photo in world[slug]:
            services.record_swipe(profile, photo.pk, True)
    for slug in dislikes:
        for photo in world[slug]:
            services.record_swipe(profile, photo.pk, False)
    profile.refresh_from_db()
    return client, profile


def ranked_slugs(page: str) -> list[str]:
    return re.findall(r'class="ranked-city" data-slug="([\w-]+)"', page)


def test_the_page_says_the_taste_in_words_with_a_liked_photo_per_taste(world):
    client, _ = swiped(world)
    page = client.get("/recommendations/").content.decode()
    sentence = re.search(r'id="taste-sentence">([^<]+)<', page).group(1)
    assert sentence == "You go for coast, bridges and old towns; you skip skylines."
    photos = page.split('class="taste-photos"')[1].split("</ul>")[0]
    assert photos.count("<img") == 3 and "with coast" in photos and "with bridge" in photos
    porto = page.split('data-slug="porto"')[1].split("</li>")[0]
    assert "They have in common: coast, bridge." in porto  # the why names the shared scene words


def test_too_few_swipes_say_so_instead_of_guessing(world):
    client, _ = swiped(world, likes=("lisbon",), dislikes=())
    page = client.get("/recommendations/").content.decode()
    assert "Not enough swipes yet" in page and 'class="taste-photos"' not in page


def test_the_map_places_the_ranked_cities_by_latitude_and_longitude(world):
    client, _ = swiped(world)
    page = client.get("/recommendations/").content.decode()
    world_map = page.split('id="world-map"')[1].split("</svg>")[0]
    pins = re.findall(r'data-city="([^"]+)".*?cx="([\d.]+)" cy="([\d.]+)"', world_map, re.S)
    where = {name: (float(x), float(y)) for name, x, y in pins}
    assert set(where) == {"Kyoto", "Lisbon", "Porto", "Dubai"}
    assert where["Kyoto"] == pytest.approx(((135.77 + 180) / 360 * 720, (90 - 35.01) / 180 * 360), abs=0.1)
    assert where["Lisbon"][0] < where["Dubai"][0] < where["Kyoto"][0]
    assert "style=" not in page.split("<main")[1] and "<script>" not in page.split("<main")[1]  # CSP-safe


def test_narrowing_by_continent_or_country_without_javascript_and_with_htmx(world):
    client, _ = swiped(world)
    page = client.get("/recommendations/?continent=Europe").content.decode()
    assert ranked_slugs(page) == ["lisbon", "porto"] or ranked_slugs(page) == ["porto", "lisbon"]
    assert '<option value="Europe" selected>' in page
    fragment = client.get("/recommendations/?narrow=1&country=AE", **HX)
    assert ranked_slugs(fragment.content.decode()) == ["dubai"] and "<html" not in fragment.content.decode()
    assert "HX-Request" in fragment["Vary"]
    nowhere = client.get("/recommendations/?continent=Oceania").content.decode()
    assert ranked_slugs(nowhere) == [] and 'id="narrowed-empty"' in nowhere
    assert ranked_slugs(client.get("/recommendations/?continent=Atlantis&country=123").content.decode())


def test_hide_cities_i_have_been_to(world):
    client, profile = swiped(world)
    lisbon = City.objects.get(slug="lisbon")
    response = client.post(
        "/recommendations/visited/", {"city": lisbon.pk, "been": "1", "hide_visited": "on"}
    )
    assert response.status_code == 302 and response["Location"] == "/recommendations/?hide_visited=on"
    assert list(VisitedCity.objects.filter(profile=profile).values_list("city__slug", flat=True)) == [
        "lisbon"
    ]
    assert "lisbon" not in ranked_slugs(client.get(response["Location"]).content.decode())
    assert "lisbon" in ranked_slugs(
        client.get("/recommendations/").content.decode()
    )  # only hidden on request
    fragment = client.post(
        "/recommendations/visited/", {"city": lisbon.pk, "been": "0"}, **HX
    ).content.decode()
    assert "lisbon" in ranked_slugs(fragment) and "<html" not in fragment
    assert not VisitedCity.objects.filter(profile=profile).exists()


def test_a_shared_link_shows_the_ranking_read_only_without_login(world):
    client, profile = swiped(world)
    page = client.get("/recommendations/").content.decode()
    url = re.search(r'id="share-url"[^>]* value="http://testserver(/shared/[^"]+)"', page).group(1)
    stranger = Client()
    shared = stranger.get(url).content.decode()
    assert ranked_slugs(shared)[:2] in (["lisbon", "porto"], ["porto", "lisbon"])
    assert "They go for coast" in shared and "<form" not in shared.split("<main")[1]
    assert re.search(r'<meta property="og:image" content="http://testserver/shared/[^"]+/og.png">', shared)
    assert '<meta property="og:title"' in shared
    assert stranger.get(url.replace("/shared/", "/shared/x")).status_code == 404
    assert UserProfile.objects.count() == 1  # a stranger reading it makes no profile


def test_the_open_graph_picture_is_a_png_drawn_once(world):
    _, profile = swiped(world)
    url = f"/shared/{sharing.share_token(profile.pk)}/og.png"
    first = Client().get(url)
    assert first.status_code == 200 and first["Content-Type"] == "image/png"
    assert first.content.startswith(b"\x89PNG")
    with CaptureQueriesContext(connection) as queries:
        again = Client().get(url)
    assert (
        again.content == first.content and len(queries) <= 3
    )  # the profile; the picture comes from the cache


def test_after_a_swipe_the_city_is_revealed_unless_turned_off(world):
    client = Client()
    photo_id = int(re.search(r'name="photo" value="(\d+)"', client.get("/").content.decode()).group(1))
    city = Photo.objects.get(pk=photo_id).city.name
    with CaptureQueriesContext(connection) as with_reveal:
        card = client.post("/swipe/", {"photo": photo_id, "liked": "1"}, **HX).content.decode()
    assert f'id="reveal">That was {city}.<' in card
    assert client.post("/settings/reveal/", {"reveal": "0"}).status_code == 302
    photo_id = int(re.search(r'name="photo" value="(\d+)"', card).group(1))
    with CaptureQueriesContext(connection) as without:
        card = client.post("/swipe/", {"photo": photo_id, "liked": "0"}, **HX).content.decode()
    assert 'id="reveal"' not in card
    assert len(with_reveal) == len(without)  # the reveal costs no query
    page = client.post(
        "/swipe/", {"photo": re.search(r'name="photo" value="(\d+)"', card).group(1), "liked": "1"}
    )
    assert page.status_code == 302  # without JavaScript, too: no reveal once turned off
    assert "That was" not in client.get("/").content.decode()


def test_logging_in_keeps_the_cities_the_visitor_has_been_to(world):
    from django.contrib.auth import get_user_model

    client, visitor = swiped(world)
    user = get_user_model().objects.create_user("ana", password="a-long-passphrase")
    account = UserProfile.objects.create(user=user)
    lisbon, porto = City.objects.get(slug="lisbon"), City.objects.get(slug="porto")
    services.set_visited(account, porto.pk, True)
    for city in (lisbon, porto):  # porto is on both lists: kept once
        client.post("/recommendations/visited/", {"city": city.pk, "been": "1"})
    assert (
        client.post("/accounts/login/", {"username": "ana", "password": "a-long-passphrase"}).status_code
        == 302
    )
    assert set(account.visited.values_list("city__slug", flat=True)) == {"lisbon", "porto"}
    assert not visitor.visited.exists()
    assert "lisbon" not in ranked_slugs(client.get("/recommendations/?hide_visited=on").content.decode())


def test_with_a_scorer_that_knows_looks_the_page_shows_a_liked_photo_per_look(world, settings):
    from swipes.engine import forget_engine

    settings.VIBES_SCORER, settings.VIBES_POLICY = "city_and_look", "global_queue"
    forget_engine()
    client, _ = swiped(world)
    page = client.get("/recommendations/").content.decode()
    looks = page.split('id="taste-looks"')[1].split("</ul>")[0]
    liked = {
        (p.thumbnail or p.image).url
        for slug in ("lisbon", "porto")
        for p in Photo.objects.filter(city__slug=slug)
    }
    shown = re.findall(r'<img src="([^"]+)"', looks)
    assert 1 <= len(shown) <= 3 and set(shown) <= liked  # liked photos only, never a disliked look
