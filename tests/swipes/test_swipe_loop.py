"""The swipe loop through its views and services, on the real database."""

import re
import threading

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from cities.models import Photo
from mlworker.label_only import smoothed_one_hot
from mlworker.models import ModelVersion, PhotoPrediction
from mlworker.selectors import active_model
from swipes import services
from swipes.engine import engine_for
from swipes.models import Swipe, UserProfile

from .cards import (
    HX,
    card_form,
    replayed_from_db,
    shown_photo_id,
    stored_state,
    swipe_count,
    undo_target,
    visitor_profile,
)


@pytest.fixture
def client_with_photos(photo_set):
    photos = photo_set()
    return Client(), photos


def test_a_swipe_applies_the_original_arithmetic_and_serves_the_next_card(
    client_with_photos, original_scoring
):
    client, _ = client_with_photos
    first = client.get("/")
    photo_id = shown_photo_id(first)
    response = client.post("/swipe/", {"photo": photo_id, "liked": "1"}, **HX)
    assert response.status_code == 200
    assert swipe_count(response) == 1
    assert shown_photo_id(response) != photo_id
    assert "<html" not in response.content.decode()  # an htmx partial, not the page
    profile = UserProfile.objects.get()
    version = ModelVersion.objects.get(is_active=True)
    expected = PhotoPrediction.objects.get(photo_id=photo_id, model_version=version).vector.astype(np.float64)
    assert np.array_equal(stored_state(profile), expected)


def test_a_repeated_post_for_the_same_photo_counts_once(client_with_photos):
    client, _ = client_with_photos
    photo_id = shown_photo_id(client.get("/"))
    client.post("/swipe/", {"photo": photo_id, "liked": "1"}, **HX)
    again = client.post("/swipe/", {"photo": photo_id, "liked": "1"}, **HX)
    assert again.status_code == 200 and swipe_count(again) == 1
    profile = UserProfile.objects.get()
    assert Swipe.objects.filter(profile=profile).count() == 1
    assert np.array_equal(stored_state(profile), replayed_from_db(profile))


def test_without_javascript_a_plain_post_redirects_back(client_with_photos):
    client, _ = client_with_photos
    photo_id = shown_photo_id(client.get("/"))
    response = client.post("/swipe/", {"photo": photo_id, "liked": "0"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert swipe_count(client.get("/")) == 1


def test_undo_reverses_the_score_change_exactly(client_with_photos):
    client, _ = client_with_photos
    for liked in ("1", "0", "1"):
        card = client.post("/swipe/", {"photo": shown_photo_id(client.get("/")), "liked": liked}, **HX)
    profile = UserProfile.objects.get()
    before_last = replayed_from_db(profile)  # recomputed below after the undo
    last = Swipe.objects.filter(profile=profile).last()
    assert undo_target(card) == last.pk  # the undo button names the swipe it takes back
    response = client.post("/undo/", {"swipe": last.pk}, **HX)
    assert swipe_count(response) == 2
    assert shown_photo_id(response) == last.photo_id  # the undone photo comes back
    profile.refresh_from_db()
    two = profile.swipes.live()
    assert two.count() == 2 and Swipe.objects.filter(profile=profile).count() == 3  # the log keeps it
    assert np.array_equal(stored_state(profile), replayed_from_db(profile))
    assert not np.array_equal(stored_state(profile), before_last)


def test_undo_never_reaches_into_a_previous_round(client_with_photos):
    """A reshuffle starts a new round; undo takes back swipes of this round only, however often it is
    pressed, and the earlier rounds' swipes keep counting."""
    client, _ = client_with_photos
    for liked in ("1", "0"):
        client.post("/swipe/", {"photo": shown_photo_id(client.get("/")), "liked": liked}, **HX)
    reshuffled = client.post("/reshuffle/", **HX)
    assert undo_target(reshuffled) is None and 'id="btn-undo" disabled' in reshuffled.content.decode()
    profile = UserProfile.objects.get()
    round_one = list(profile.swipes.live().values_list("pk", flat=True))
    before = bytes(profile.scores)

    response = client.post("/undo/", {"swipe": round_one[-1]}, **HX)  # a stale card of round one
    assert "Nothing to undo in this round." in response.content.decode()
    profile.refresh_from_db()
    assert list(profile.swipes.live().values_list("pk", flat=True)) == round_one
    assert bytes(profile.scores) == before and profile.swipe_count == 2

    this_round = shown_photo_id(client.get("/"))
    swiped = client.post("/swipe/", {"photo": this_round, "liked": "1"}, **HX)
    undone = services.undo_swipe(profile, undo_target(swiped))
    assert (undone.status, undone.swipe.photo_id) == (services.UNDONE, this_round)
    # No further back than the round's start, whichever swipe is named.
    assert services.undo_swipe(profile, round_one[-1]).status == services.NOTHING
    profile.refresh_from_db()
    assert list(profile.swipes.live().values_list("pk", flat=True)) == round_one
    assert profile.swipe_count == 2
    assert np.array_equal(stored_state(profile), replayed_from_db(profile))


@pytest.mark.parametrize("make_bad", ["unknown", "hidden"])
def test_a_swipe_for_an_unknown_or_hidden_photo_is_404_and_changes_nothing(client_with_photos, make_bad):
    client, photos = client_with_photos
    client.post("/swipe/", {"photo": shown_photo_id(client.get("/")), "liked": "1"}, **HX)
    profile = UserProfile.objects.get()
    before = bytes(profile.scores)
    if make_bad == "hidden":
        target = photos["beta"][0]
        Photo.objects.filter(pk=target.pk).update(status=Photo.Status.HIDDEN)
        photo_id = target.pk
    else:
        photo_id = 10**9
    response = client.post("/swipe/", {"photo": photo_id, "liked": "1"}, **HX)
    assert response.status_code == 404
    profile.refresh_from_db()
    assert bytes(profile.scores) == before and profile.swipe_count == 1


def test_malformed_swipes_get_400(client_with_photos):
    client, _ = client_with_photos
    assert client.post("/swipe/", {"photo": "x", "liked": "1"}).status_code == 400
    assert client.post("/swipe/", {"photo": "1", "liked": "maybe"}).status_code == 400


def test_get_on_swipe_is_405_and_post_without_csrf_is_403(client_with_photos):
    client, _ = client_with_photos
    assert client.get("/swipe/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    photo_id = shown_photo_id(strict.get("/"))
    assert strict.post("/swipe/", {"photo": photo_id, "liked": "1"}).status_code == 403
    assert not Swipe.objects.exists()


def test_only_photos_with_a_vector_under_the_active_model_are_served(client_with_photos):
    client, photos = client_with_photos
    served = set()
    without_vector = photos["gamma"][0]
    PhotoPrediction.objects.filter(photo=without_vector).delete()
    for _ in range(20):
        response = client.get("/")
        if 'name="photo"' not in response.content.decode():
            break
        photo_id = shown_photo_id(response)
        served.add(photo_id)
        client.post("/swipe/", {"photo": photo_id, "liked": "1"})
    assert len(served) == 11 and without_vector.pk not in served


@pytest.mark.parametrize("scorer", ["original", "default"])
def test_end_of_queue_offers_a_reshuffle_that_starts_a_new_round(client_with_photos, settings, scorer):
    if scorer == "original":
        settings.VIBES_SCORER, settings.VIBES_POLICY = "original", "global_queue"
    client, _ = client_with_photos
    for _ in range(12):
        client.post("/swipe/", {"photo": shown_photo_id(client.get("/")), "liked": "1"})
    end = client.get("/").content.decode()
    assert 'id="end-state"' in end and "all 12 photos" in end
    response = client.post("/reshuffle/", **HX)
    assert 'name="photo"' in response.content.decode()
    profile = UserProfile.objects.get()
    assert profile.round == 2 and profile.swipe_count == 12
    seen_round_2 = []
    for _ in range(12):
        photo_id = shown_photo_id(client.get("/"))
        seen_round_2.append(photo_id)
        client.post("/swipe/", {"photo": photo_id, "liked": "0"})
    assert len(set(seen_round_2)) == 12  # every photo once more, none twice
    profile.refresh_from_db()
    assert profile.swipe_count == 24
    if scorer == "original":  # 12 likes then 12 dislikes of the same photos cancel out
        assert np.allclose(stored_state(profile), 0, atol=1e-6)
    assert np.array_equal(stored_state(profile), replayed_from_db(profile))


def test_empty_state_when_there_are_no_photos(db):
    page = Client().get("/").content.decode()
    assert 'id="empty-state"' in page and "No photos yet" in page


def test_recommendations_rank_liked_cities_first_and_explain_why(client_with_photos, original_scoring):
    client, photos = client_with_photos
    empty = client.get("/recommendations/").content.decode()
    assert "Nothing to rank yet" in empty and "Ranked from" not in empty  # no "ranked from 0 swipes"
    profile = visitor_profile(client)
    for photo in photos["beta"][:3]:
        services.record_swipe(profile, photo.pk, True)
    services.record_swipe(profile, photos["alpha"][0].pk, False)
    page = client.get("/recommendations/").content.decode()
    ranked = re.findall(r'data-slug="([\w-]+)" data-score="([-\d.]+)"', page)
    assert [slug for slug, _ in ranked] == ["beta", "gamma", "alpha"]
    assert float(ranked[0][1]) == pytest.approx(3 * 0.9 - 0.05, abs=1e-5)
    assert page.split('id="score-chart"')[1].split("</svg>")[0].count("<rect") == 3  # one bar per city
    why = page.split('data-slug="beta"')[1].split("</li>")[0]
    assert why.count("<img") == 3  # the three liked beta photos
    for other in ("gamma", "alpha"):  # a liked beta photo is no reason for another city
        assert "Because you liked" not in page.split(f'data-slug="{other}"')[1].split("</li>")[0]


def test_recommendations_show_the_top_ten_then_the_rest_on_demand(photo_set):
    photo_set(slugs=[f"city{i:02d}" for i in range(12)], per_city=1)
    client = Client()
    client.post("/swipe/", {"photo": shown_photo_id(client.get("/")), "liked": "1"})
    page = client.get("/recommendations/").content.decode()
    assert page.count('class="ranked-city"') == 10 and "Show all 12 cities" in page
    rest = client.get("/recommendations/?all=1", **HX).content.decode()
    assert rest.count('class="ranked-city"') == 12 and "<html" not in rest


def test_reset_forgets_the_taste_but_keeps_the_log(client_with_photos):
    client, _ = client_with_photos
    client.post("/swipe/", {"photo": shown_photo_id(client.get("/")), "liked": "1"})
    # Without JavaScript's confirm dialog the form arrives unconfirmed: a page asks first, and nothing changes.
    for ask in (client.get("/recommendations/reset/"), client.post("/recommendations/reset/")):
        assert ask.status_code == 200 and "Are you sure?" in ask.content.decode()
        assert 'name="confirmed" value="yes"' in ask.content.decode()
    assert UserProfile.objects.get().swipe_count == 1
    assert client.post("/recommendations/reset/", {"confirmed": "yes"}).status_code == 302
    profile = UserProfile.objects.get()
    assert profile.swipe_count == 0
    assert np.array_equal(stored_state(profile), engine_for(profile.scores_model).scorer.initial_state())
    assert Swipe.objects.filter(profile=profile, undone_at__isnull=False).count() == 1
    assert "Nothing to rank yet" in client.get("/recommendations/").content.decode()


def test_logging_in_merges_the_anonymous_profile_into_the_account(client_with_photos):
    client, photos = client_with_photos
    user = get_user_model().objects.create_user("ana", password="a-long-passphrase")
    account = UserProfile.objects.create(user=user)
    services.record_swipe(account, photos["alpha"][0].pk, True)
    for _ in range(2):
        client.post("/swipe/", {"photo": shown_photo_id(client.get("/")), "liked": "1"})
    anonymous = UserProfile.objects.get(user__isnull=True)
    response = client.post("/accounts/login/", {"username": "ana", "password": "a-long-passphrase"})
    assert response.status_code == 302
    anonymous.refresh_from_db()  # left behind empty, pointing at the account (see profiles.merge_profiles)
    assert anonymous.merged_into == account and not anonymous.swipes.exists()
    account.refresh_from_db()
    live = account.swipes.live()
    assert account.swipe_count == live.count() >= 2
    assert np.array_equal(stored_state(account), replayed_from_db(account))


def test_signing_up_keeps_what_was_swiped(client_with_photos):
    client, _ = client_with_photos
    client.post("/swipe/", {"photo": shown_photo_id(client.get("/")), "liked": "1"})
    response = client.post(
        "/accounts/signup/",
        {"username": "bo", "password1": "pa55-phrase-long", "password2": "pa55-phrase-long"},
    )
    assert response.status_code == 302
    assert UserProfile.objects.get(user__username="bo").swipe_count == 1


def test_scores_follow_a_model_switch_by_replaying_the_log(client_with_photos, original_scoring):
    client, photos = client_with_photos
    profile = visitor_profile(client)
    services.record_swipe(profile, photos["alpha"][0].pk, True)
    old = ModelVersion.objects.get(is_active=True)
    new = ModelVersion.objects.create(
        name="uniform", backbone="test", city_ids=old.city_ids, status=ModelVersion.Status.READY
    )
    from mlworker.services import activate, write_predictions

    all_photos = list(Photo.objects.values_list("pk", flat=True))
    write_predictions(new, all_photos, np.full((len(all_photos), 3), 1 / 3, dtype=np.float32))
    activate(new)
    client.get("/recommendations/")
    profile.refresh_from_db()
    assert profile.scores_model_id == new.pk
    assert np.allclose(stored_state(profile), 1 / 3)


@pytest.mark.django_db(transaction=True)
def test_two_tabs_swiping_at_once_lose_nothing(photo_set):
    photos = [p for city in photo_set().values() for p in city]
    client = Client()
    client.get("/")
    barrier = threading.Barrier(2)
    errors = []

    def tab(batch, liked):
        try:
            for photo in batch:
                barrier.wait(timeout=10)
                response = client.post("/swipe/", {"photo": photo.pk, "liked": liked}, **HX)
                assert response.status_code == 200
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=tab, args=(photos[0::2], "1")),
        threading.Thread(target=tab, args=(photos[1::2], "0")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    profile = UserProfile.objects.get()  # the first swipes of the two tabs made one profile
    assert profile.swipe_count == 12 == Swipe.objects.filter(profile=profile).count()
    assert np.array_equal(stored_state(profile), replayed_from_db(profile))


def test_the_recommendations_page_explains_every_scorer(photo_set, settings):
    from swipes.recommender.registry import SCORERS

    photos = photo_set()
    client = Client()
    client.post("/swipe/", {"photo": shown_photo_id(client.get("/")), "liked": "1"})
    descriptions = set()
    for name, scorer in SCORERS.items():
        settings.VIBES_SCORER = name
        descriptions.add(scorer.description)
        page = client.get("/recommendations/").content.decode().replace("&#x27;", "'")
        assert scorer.description and scorer.description in page, name
    assert len(descriptions) == len(SCORERS)  # each scorer says how it differs
    assert photos


def test_the_model_name_is_for_staff_only(photo_set):
    photo_set()
    model = active_model()
    client = Client()
    client.post("/swipe/", {"photo": shown_photo_id(client.get("/")), "liked": "1"})
    for url in ("/", "/recommendations/"):
        assert model.name not in client.get(url).content.decode()
    staff = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    client.post("/swipe/", {"photo": shown_photo_id(client.get("/")), "liked": "1"})
    for url in ("/", "/recommendations/"):
        assert model.name in client.get(url).content.decode()


def test_a_replay_in_another_process_rebuilds_the_state_bit_for_bit():
    """States are stored by one process and replayed by others (a worker, another web process): the
    catalogue they are built on must not depend on how many BLAS threads a process happens to use. (At this
    size, 5,000 photos x 266 cities, two BLAS threads do change the last bits of the cluster memberships.)"""
    from threadpoolctl import threadpool_limits

    from swipes.engine import derive
    from swipes.recommender.catalogue import PhotoSet

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 266, 5000)
    probabilities = np.array([smoothed_one_hot(266, c, 0.1) for c in labels])
    # Two catalogues, as two processes would have (a PhotoSet caches its projection).
    with threadpool_limits(limits=2, user_api="blas"):
        scorer_two, _ = derive(PhotoSet(probabilities=probabilities, labels=labels))
    with threadpool_limits(limits=1, user_api="blas"):
        scorer_one, _ = derive(PhotoSet(probabilities=probabilities, labels=labels))
    log = rng.integers(0, 5000, 60)
    liked = rng.random(60) < 0.4
    state = scorer_one.replay(log, liked)
    assert np.array_equal(scorer_two.replay(log, liked), state)
    # The same state must also rank the cities identically everywhere.
    assert np.array_equal(scorer_two.city_scores(state), scorer_one.city_scores(state))


def test_the_card_dealt_after_a_swipe_is_the_card_a_reload_deals(photo_set):
    """Right after a swipe the next card is chosen from what the swipe itself read and computed (this
    round's swiped photos, the new state); a reload reads both from the database. They must agree, or a
    swipe would deal a card the page would not, or deal the photo just rated again."""
    photo_set(slugs=("alpha", "beta", "gamma", "delta", "eps"), per_city=6)
    client = Client()
    response = client.get("/")
    for n in range(1, 21):
        response = client.post("/swipe/", card_form(response, "1" if n % 3 else "0"), **HX)
        assert response.status_code == 200 and swipe_count(response) == n
        reloaded = client.get("/", **HX)
        assert shown_photo_id(response) == shown_photo_id(reloaded)
        rated = set(Swipe.objects.values_list("photo_id", flat=True))
        assert shown_photo_id(response) not in rated


@pytest.mark.django_db
def test_the_swipe_loop_asks_for_the_active_model_at_most_every_few_seconds(
    photo_set, settings, monkeypatch, django_assert_num_queries
):
    from swipes import engine

    photo_set()
    settings.VIBES_ENGINE_RELOAD = "background"
    first = engine.active_version()
    with django_assert_num_queries(0):
        assert engine.active_version() == first
    ModelVersion.objects.update(is_active=False)  # as a switch on the ml worker would, unseen here
    with django_assert_num_queries(0):
        assert engine.active_version() == first  # for up to FRESHNESS_SECONDS
    monkeypatch.setattr(engine, "FRESHNESS_SECONDS", 0.0)
    assert engine.active_version() is None
    settings.VIBES_ENGINE_RELOAD = "inline"  # the tests' setting: every call asks
    ModelVersion.objects.filter(pk=first.pk).update(is_active=True)
    monkeypatch.setattr(engine, "FRESHNESS_SECONDS", 3600.0)
    assert engine.active_version() == first
