"""Profiles (issue 10, findings 10 and 11): made by the first swipe, not by a look; shared by one visitor's
parallel first requests; a swipe that races a login neither logs out nor goes astray; empty ones are swept;
and logging in keeps every swipe, the newest answer of each photo winning."""

import threading
from datetime import timedelta

import numpy as np
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone

from swipes import services
from swipes.models import Swipe, UserProfile

from .cards import HX, replayed_from_db, shown_photo_id, stored_state, swipe_count

PASSWORD = "a-long-passphrase"


@pytest.fixture
def photos(photo_set):
    return [photo for city in photo_set().values() for photo in city]


def logged_in(client) -> bool:
    return client.get("/").wsgi_request.user.is_authenticated


# --- finding 10: profiles --------------------------------------------------------------------------------


def test_looking_at_cards_creates_no_profile_and_the_first_swipe_does(photos):
    for _ in range(5):  # cookie-less visitors, crawlers
        page = Client().get("/")
        assert page.status_code == 200 and 'name="photo"' in page.content.decode()
        assert swipe_count(page) == 0
    client = Client()
    card = client.get("/")
    for url in ("/", "/recommendations/"):
        assert client.get(url).status_code == 200
    assert client.post("/undo/", {"swipe": 1}, **HX).status_code == 200
    assert not UserProfile.objects.exists()

    client.post("/swipe/", {"photo": shown_photo_id(card), "liked": "1"}, **HX)
    profile = UserProfile.objects.get()
    assert profile.user is None and profile.swipe_count == 1


@pytest.mark.django_db(transaction=True)
def test_one_visitors_parallel_first_requests_share_one_profile(photo_set):
    photo_set()
    browser = Client()  # one cookie jar: two tabs of one browser, opened at once

    def at_once(request):
        barrier, errors = threading.Barrier(2), []

        def tab(i):
            try:
                barrier.wait(timeout=10)
                request(i)
            except Exception as exc:  # surfaced below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=tab, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors

    cards = {}
    at_once(lambda i: cards.setdefault(i, browser.get("/")))
    card = browser.get("/")  # the cookie the browser kept
    first = shown_photo_id(card)
    at_once(lambda i: browser.post("/swipe/", {"photo": first, "liked": "1"}, **HX))
    second = shown_photo_id(browser.get("/"))
    at_once(lambda i: browser.post("/swipe/", {"photo": [first, second][i], "liked": "0"}, **HX))
    profile = UserProfile.objects.get()
    assert sorted(profile.swipes.values_list("photo_id", "liked")) == sorted([(first, True), (second, False)])


@pytest.mark.parametrize("engine", ["db", "signed_cookies"])
def test_a_swipe_that_races_a_login_keeps_the_login_and_lands_in_the_account(photos, settings, engine):
    """The swipe leaves the browser before the login and is answered after it: its request carries the
    cookies of before, and whatever cookies its answer sets, the browser keeps."""
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{engine}"
    user = get_user_model().objects.create_user("ana", password=PASSWORD)
    browser = Client()
    session = browser.session  # a visitor who already has a session (an earlier visit, say)
    session["seen_the_intro"] = True
    session.save()
    browser.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    card = browser.post("/swipe/", {"photo": shown_photo_id(browser.get("/")), "liked": "1"}, **HX)
    in_flight = Client()
    in_flight.cookies.update(browser.cookies)

    assert browser.post("/accounts/login/", {"username": "ana", "password": PASSWORD}).status_code == 302
    assert logged_in(browser)
    racing = in_flight.post("/swipe/", {"photo": shown_photo_id(card), "liked": "0"}, **HX)
    assert racing.status_code == 200
    browser.cookies.update(racing.cookies)  # a deleted cookie arrives as an empty one

    assert logged_in(browser)
    account = UserProfile.objects.get(user=user)
    assert account.swipes.live().count() == 2 == account.swipe_count  # the racing swipe too
    assert UserProfile.objects.filter(user=None, swipes__isnull=False).count() == 0  # none went astray


def test_a_token_from_before_a_login_leads_nowhere_after_the_grace_period(photos):
    get_user_model().objects.create_user("ana", password=PASSWORD)
    browser = Client()
    browser.post("/swipe/", {"photo": shown_photo_id(browser.get("/")), "liked": "1"}, **HX)
    old = Client()
    old.cookies.update(browser.cookies)
    browser.post("/accounts/login/", {"username": "ana", "password": PASSWORD})
    UserProfile.objects.filter(user=None).update(updated_at=timezone.now() - timedelta(minutes=5))
    assert swipe_count(old.get("/")) == 0  # the account's profile is not shown to the old token
    old.post("/swipe/", {"photo": shown_photo_id(old.get("/")), "liked": "0"}, **HX)
    assert UserProfile.objects.get(user__username="ana").swipe_count == 1
    assert UserProfile.objects.get(user=None).swipe_count == 1  # a fresh anonymous profile


def test_logging_out_starts_a_fresh_anonymous_visitor(photos):
    get_user_model().objects.create_user("ana", password=PASSWORD)
    browser = Client()
    browser.post("/swipe/", {"photo": shown_photo_id(browser.get("/")), "liked": "1"}, **HX)
    browser.post("/accounts/login/", {"username": "ana", "password": PASSWORD})
    browser.post("/accounts/logout/")
    assert swipe_count(browser.get("/")) == 0


def test_empty_anonymous_profiles_idle_for_a_day_are_removed_on_the_beat(photos):
    from swipes.tasks import remove_empty_anonymous_profiles_task

    old = timezone.now() - timedelta(days=1, minutes=1)
    empty_old = UserProfile.objects.create(visitor_token="a" * 43)
    empty_new = UserProfile.objects.create(visitor_token="b" * 43)
    undone_old = UserProfile.objects.create(visitor_token="c" * 43)  # swiped, then undid: a log
    swipe = services.record_swipe(undone_old, photos[0].pk, True).swipe
    services.undo_swipe(undone_old, swipe.pk)
    account_old = UserProfile.objects.create(user=get_user_model().objects.create_user("bo"))
    UserProfile.objects.exclude(pk=empty_new.pk).update(updated_at=old)

    assert remove_empty_anonymous_profiles_task.apply().get() == 1
    assert not UserProfile.objects.filter(pk=empty_old.pk).exists()
    assert set(UserProfile.objects.values_list("pk", flat=True)) == {
        empty_new.pk,
        undone_old.pk,
        account_old.pk,
    }
    assert Swipe.objects.filter(profile=undone_old).count() == 1
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "swipes.remove_empty_anonymous_profiles" in schedule


# --- finding 11: logging in keeps every swipe, the newest answer winning --------------------------------


def account_with_older_swipes(photos, user, liked_by_photo: dict[int, bool]) -> UserProfile:
    account = UserProfile.objects.create(user=user)
    for photo_id, liked in liked_by_photo.items():
        services.record_swipe(account, photo_id, liked)
    account.swipes.update(created_at=timezone.now() - timedelta(days=2))
    return account


def test_logging_in_keeps_all_swipes_and_the_newest_answer_of_each_photo_wins(photos):
    """The issue's numbers: the visitor liked 4 photos; the account had 8 swipes, among them older
    dislikes of 3 of the same photos. Before, the account kept 9 rows and its older dislikes won."""
    user = get_user_model().objects.create_user("ana", password=PASSWORD)
    ids = [p.pk for p in photos]
    account = account_with_older_swipes(
        photos, user, {pid: i >= 3 and i % 2 == 0 for i, pid in enumerate(ids[:8])}
    )
    visitor = Client()
    visitor.get("/")
    liked_now = [ids[0], ids[1], ids[2], ids[8]]
    for photo_id in liked_now:
        assert visitor.post("/swipe/", {"photo": photo_id, "liked": "1"}, **HX).status_code == 200

    response = visitor.post("/accounts/login/", {"username": "ana", "password": PASSWORD}, follow=True)
    said = [str(m) for m in response.context["messages"]]
    assert said == ["Kept all 4 of your swipes; 3 photos you had rated before now have your newer answer."]

    account.refresh_from_db()
    assert Swipe.objects.filter(profile=account).count() == 12  # every row of both logs
    live = dict(account.swipes.live().values_list("photo_id", "liked"))
    assert len(live) == 9 == account.swipe_count
    assert all(live[photo_id] for photo_id in liked_now)  # the visitor's newer likes won
    assert np.array_equal(stored_state(account), replayed_from_db(account))


def test_an_account_answer_newer_than_the_visitors_stands_and_the_message_says_so(photos):
    user = get_user_model().objects.create_user("ana", password=PASSWORD)
    ids = [p.pk for p in photos]
    visitor = Client()
    visitor.get("/")
    for photo_id in ids[:2]:
        visitor.post("/swipe/", {"photo": photo_id, "liked": "1"}, **HX)
    account = UserProfile.objects.create(user=user)
    services.record_swipe(account, ids[0], False)  # rated later, on another device

    response = visitor.post("/accounts/login/", {"username": "ana", "password": PASSWORD}, follow=True)
    said = [str(m) for m in response.context["messages"]]
    assert said == ["Kept 1 of your 2 swipes; for 1 photo your account's answer was newer, so it stands."]
    account.refresh_from_db()
    assert dict(account.swipes.live().values_list("photo_id", "liked")) == {ids[0]: False, ids[1]: True}
    assert np.array_equal(stored_state(account), replayed_from_db(account))


def test_a_visitor_further_along_in_rounds_merges_without_a_clash(photos):
    """The visitor rated the same photos in three rounds and is in its fourth; the account is in its
    first. The two current rounds become one, and no two live swipes of a photo share a round."""
    user = get_user_model().objects.create_user("ana", password=PASSWORD)
    ids = [p.pk for p in photos]
    account_with_older_swipes(photos, user, {ids[0]: False, ids[1]: True})
    visitor = Client()
    visitor.get("/")
    for _ in range(3):
        visitor.post("/swipe/", {"photo": ids[1], "liked": "1"}, **HX)
        visitor.post("/swipe/", {"photo": ids[2], "liked": "0"}, **HX)
        visitor.post("/reshuffle/", **HX)
    visitor.post("/swipe/", {"photo": ids[3], "liked": "1"}, **HX)

    assert visitor.post("/accounts/login/", {"username": "ana", "password": PASSWORD}).status_code == 302
    account = UserProfile.objects.get(user=user)
    assert account.round == 4
    live = list(account.swipes.live().values_list("photo_id", "round", "liked"))
    assert sorted(live) == sorted(
        [(ids[0], 4, False)]  # the account's current round, now the merged profile's
        + [(ids[1], r, True) for r in (1, 2, 3)]
        + [(ids[2], r, False) for r in (1, 2, 3)]
        + [(ids[3], 4, True)]
    )
    assert np.array_equal(stored_state(account), replayed_from_db(account))
    assert shown_photo_id(visitor.get("/")) != ids[3]  # the visitor's round carries on
