"""htmx conventions: one helper picks page or fragment and says Vary: HX-Request; refused swipes are 4xx
fragments that the page's error hook swaps in visibly (the browser side: tests/e2e/test_swipe_errors.py)."""

import json
import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client, RequestFactory
from django_htmx.middleware import HtmxDetails

from cities.models import Photo
from jobs.models import Job
from mlworker.views import VISITOR_KEY
from swipes.models import Swipe, UserProfile
from swipes.views import ALREADY_RATED, OTHER_ANSWER, PHOTO_GONE
from vibes_site.htmx import render_htmx

HX = {"HTTP_HX_REQUEST": "true"}


def shown_photo_id(response) -> int:
    return int(re.search(r'name="photo" value="(\d+)"', response.content.decode()).group(1))


def is_page(response) -> bool:
    return "<html" in response.content.decode()


def varies_on_htmx(response) -> bool:
    return "HX-Request" in [v.strip() for v in response.get("Vary", "").split(",")]


CHART = {"chart": {"width": 10, "height": 10, "axis_x": 0, "bars": []}}


@pytest.mark.parametrize("htmx", [False, True])
def test_render_htmx_picks_the_fragment_only_for_htmx_and_always_varies(htmx):
    request = RequestFactory().get("/", **(HX if htmx else {}))
    request.htmx = HtmxDetails(request)
    response = render_htmx(
        request, "registration/login.html", CHART, partial_template="swipes/partials/chart.html", status=409
    )
    assert response.status_code == 409
    assert is_page(response) is not htmx
    assert ('id="score-chart"' in response.content.decode()) is htmx
    assert varies_on_htmx(response)


def test_render_htmx_without_a_partial_serves_the_page_to_htmx_too():
    request = RequestFactory().get("/", **HX)
    request.htmx = HtmxDetails(request)
    response = render_htmx(request, "registration/login.html", {})
    assert is_page(response) and varies_on_htmx(response)


@pytest.fixture
def swiping(photo_set):
    photos = photo_set()
    client = Client()
    return client, photos, shown_photo_id(client.get("/"))


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/swipe/", "/undo/", "/reshuffle/"])
def test_the_card_actions_vary_on_htmx_fragment_and_redirect_alike(swiping, path):
    client, _, photo_id = swiping
    data = {"photo": photo_id, "liked": "1", "swipe": 1}  # undo names a swipe (none of this visitor's)
    fragment = client.post(path, data, **HX)
    assert fragment.status_code == 200 and not is_page(fragment) and 'id="deck"' in fragment.content.decode()
    page = client.post(path, data)
    assert page.status_code == 302
    assert varies_on_htmx(fragment) and varies_on_htmx(page)


@pytest.mark.django_db
def test_show_all_cities_varies_on_htmx_ranking_and_page_alike(swiping):
    client, _, photo_id = swiping
    client.post("/swipe/", {"photo": photo_id, "liked": "1"}, **HX)
    ranking = client.get("/recommendations/?all=1", **HX)
    page = client.get("/recommendations/?all=1")
    assert ranking.content.decode().lstrip().startswith('<div id="ranking">') and is_page(page)
    assert varies_on_htmx(ranking) and varies_on_htmx(page)
    assert varies_on_htmx(client.get("/recommendations/", **HX))


@pytest.mark.django_db
def test_a_classification_result_varies_on_htmx_fragment_and_page_alike(client):
    session = client.session  # signed cookies: the cookie is the session, so it is set again after saving
    session[VISITOR_KEY] = "visitor-token"
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    job = Job.objects.create(kind="classify", params={"visitor": "visitor-token"})
    fragment = client.get(f"/classify/{job.pk}/", **HX)
    page = client.get(f"/classify/{job.pk}/")
    assert not is_page(fragment) and is_page(page)
    assert varies_on_htmx(fragment) and varies_on_htmx(page)


@pytest.mark.django_db
def test_a_citys_look_alikes_vary_on_htmx_fragment_and_page_alike(swiping):
    client = swiping[0]
    fragment = client.get("/cities/alpha/look-alikes/", **HX)
    page = client.get("/cities/alpha/look-alikes/")
    assert not is_page(fragment) and is_page(page)
    assert varies_on_htmx(fragment) and varies_on_htmx(page)


@pytest.mark.django_db
def test_job_progress_varies_on_htmx_which_alone_is_told_to_stop_polling(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("staff", password="x", is_staff=True))
    job = Job.objects.create(kind="rescore", status=Job.Status.SUCCEEDED)
    polled = client.get(f"/jobs/{job.pk}/progress/", **HX)
    plain = client.get(f"/jobs/{job.pk}/progress/")
    assert (polled.status_code, plain.status_code) == (286, 200)
    assert varies_on_htmx(polled) and varies_on_htmx(plain)


@pytest.mark.django_db
def test_an_htmx_swipe_on_a_hidden_photo_is_a_404_fragment_with_the_next_card_and_the_reason(swiping):
    client, _, photo_id = swiping
    Photo.objects.filter(pk=photo_id).update(status=Photo.Status.HIDDEN)
    response = client.post("/swipe/", {"photo": photo_id, "liked": "1"}, **HX)
    assert response.status_code == 404
    body = response.content.decode()
    assert PHOTO_GONE in body and 'role="alert"' in body and not is_page(response)
    assert shown_photo_id(response) != photo_id  # here is the next one
    # htmx drops 4xx bodies unless told where they go: the deck, which the fragment replaces.
    assert (response["HX-Retarget"], response["HX-Reswap"]) == ("#deck", "outerHTML")
    assert varies_on_htmx(response)
    assert not Swipe.objects.exists()


@pytest.mark.django_db
def test_without_javascript_a_swipe_on_a_hidden_photo_shows_the_page_with_the_reason(swiping):
    client, _, photo_id = swiping
    Photo.objects.filter(pk=photo_id).update(status=Photo.Status.HIDDEN)
    response = client.post("/swipe/", {"photo": photo_id, "liked": "0"})
    assert response.status_code == 404 and is_page(response) and PHOTO_GONE in response.content.decode()
    assert "HX-Retarget" not in response


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data, message",
    [
        ({"photo": "x", "liked": "1"}, "named no valid photo"),
        ({"liked": "1"}, "did not say which photo"),
        ({"photo": "1", "liked": "maybe"}, "either a like or a nope"),
    ],
)
def test_a_malformed_htmx_swipe_is_a_400_fragment_with_the_forms_error(swiping, data, message):
    client, _, photo_id = swiping
    response = client.post("/swipe/", data, **HX)
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body and 'id="deck-error"' in body
    assert shown_photo_id(response) == photo_id  # the same card, still to be rated
    assert response["HX-Retarget"] == "#deck"
    assert not Swipe.objects.exists()


@pytest.mark.django_db
def test_a_photo_already_rated_in_another_tab_counts_once_and_says_so(swiping):
    client, _, photo_id = swiping
    first = client.post("/swipe/", {"photo": photo_id, "liked": "1"}, **HX)
    again = client.post("/swipe/", {"photo": photo_id, "liked": "1"}, **HX)  # the other tab's stale card
    assert ALREADY_RATED not in first.content.decode()
    assert again.status_code == 200 and ALREADY_RATED in again.content.decode()
    assert list(Swipe.objects.values_list("photo_id", "liked")) == [(photo_id, True)]
    assert UserProfile.objects.get().swipe_count == 1


@pytest.mark.django_db
def test_the_other_answer_from_another_tab_is_a_409_fragment_that_says_which_answer_stands(swiping):
    client, _, photo_id = swiping
    client.post("/swipe/", {"photo": photo_id, "liked": "1"}, **HX)
    other = client.post("/swipe/", {"photo": photo_id, "liked": "0"}, **HX)  # the other tab said nope
    assert other.status_code == 409 and other["HX-Retarget"] == "#deck"
    said = OTHER_ANSWER.format(earlier="like", now="nope").replace("'", "&#x27;")
    assert said in other.content.decode() and 'id="deck-error"' in other.content.decode()
    assert list(Swipe.objects.values_list("photo_id", "liked")) == [(photo_id, True)]


@pytest.mark.django_db
def test_every_page_carries_the_error_area_the_error_hook_and_history_config(swiping):
    client, _, _ = swiping
    body = client.get("/").content.decode()
    assert '<div id="htmx-error" class="error-area" role="alert" hidden></div>' in body
    assert re.search(r'<script src="[^"]*js/htmx-errors\.js"', body)
    config = json.loads(re.search(r"""<meta name="htmx-config" content='([^']*)'>""", body).group(1))
    # Restoring history after a miss must fetch the page, not the fragment the same URL gives htmx.
    assert config["historyRestoreAsHxRequest"] is False
    # The Content-Security-Policy refuses inline styles and eval: htmx must not need them.
    assert config["includeIndicatorStyles"] is False and config["allowEval"] is False
    assert "style" not in config["attributesToSettle"]
    hook = open(finders.find("js/htmx-errors.js"), encoding="utf-8").read()
    assert 'addEventListener("htmx:beforeSwap"' in hook and "shouldSwap = true" in hook
    assert 'getResponseHeader("HX-Retarget")' in hook and 'getElementById("htmx-error")' in hook
