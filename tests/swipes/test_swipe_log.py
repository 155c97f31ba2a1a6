"""The swipe log stays the source of truth (issue 10, findings 3 and 4): no admin delete or edit loses or
changes a row, undo and reset replay in the transaction that stamps them, and undo names its swipe."""

import threading

import numpy as np
import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.db import connection
from django.db.models import ProtectedError
from django.test import Client

from cities.models import Photo
from mlworker.models import PhotoPrediction
from swipes import services
from swipes.models import Swipe, UserProfile

from .cards import (
    HX,
    card_form,
    replayed_from_db,
    shown_photo_id,
    stored_state,
    swipe_count,
    undo_target,
)


@pytest.fixture
def photos(photo_set):
    return [photo for city in photo_set().values() for photo in city]


def swiped_by_many(photos, people=3):
    """`people` anonymous profiles, each of whom rated the first three photos (the first one liked)."""
    profiles = [UserProfile.objects.create() for _ in range(people)]
    for profile in profiles:
        for i, photo in enumerate(photos[:3]):
            services.record_swipe(profile, photo.pk, i == 0)
    return profiles


def assert_logs_intact(profiles, rows_each=3):
    for profile in profiles:
        profile.refresh_from_db()
        assert Swipe.objects.filter(profile=profile).count() == rows_each
        assert profile.swipe_count == profile.swipes.live().count() == rows_each
        assert np.array_equal(stored_state(profile), replayed_from_db(profile))


# --- finding 4: photos with swipes are retired, never deleted ----------------------------------------


def test_a_photo_with_swipes_cannot_be_deleted_at_all(photos):
    swiped_by_many(photos, people=1)
    with pytest.raises(ProtectedError):
        photos[0].delete()
    with pytest.raises(ProtectedError):
        photos[0].city.delete()  # nor through its city
    assert Swipe.objects.count() == 3


def test_the_admin_delete_of_a_photo_with_swipes_retires_it_and_keeps_every_swipe(photos, staff_client):
    profiles = swiped_by_many(photos)
    target = photos[0]
    confirm = staff_client.get(f"/admin/cities/photo/{target.pk}/delete/")
    assert confirm.status_code == 200 and 'id="retire-note"' in confirm.content.decode()

    response = staff_client.post(f"/admin/cities/photo/{target.pk}/delete/", {"post": "yes"}, follow=True)
    assert response.status_code == 200
    said = [str(m) for m in response.context["messages"]]
    assert said == ["1 photo has swipes, so it was retired (hidden) instead of deleted."]
    target.refresh_from_db()
    assert target.status == Photo.Status.HIDDEN  # out of the queue
    assert_logs_intact(profiles)
    # The history tells the truth too: a change, not a deletion.
    entry = LogEntry.objects.get(object_id=str(target.pk))
    assert entry.action_flag == CHANGE and "Retired" in entry.get_change_message()
    # Its swipes keep counting in a rebuild (the replay the next model switch would do).
    for profile in profiles:
        before = stored_state(profile)
        assert np.array_equal(stored_state(services.rebuild_scores(profile)), before)


def test_delete_selected_retires_the_photos_with_swipes_and_deletes_the_rest(photos, staff_client):
    profiles = swiped_by_many(photos)
    with_swipes, without = photos[:2], photos[5:7]
    selected = [p.pk for p in with_swipes + without]
    form = {"action": "delete_selected", "_selected_action": selected}
    confirm = staff_client.post("/admin/cities/photo/", form)
    assert confirm.status_code == 200
    assert "2 of the selected photos have swipes" in confirm.content.decode()

    response = staff_client.post("/admin/cities/photo/", {**form, "post": "yes"}, follow=True)
    said = [str(m) for m in response.context["messages"]]
    assert said == [
        "2 photos have swipes, so they were retired (hidden) instead of deleted; 2 photos deleted."
    ]
    assert set(Photo.objects.filter(pk__in=selected).values_list("pk", "status")) == {
        (p.pk, Photo.Status.HIDDEN) for p in with_swipes
    }
    assert not PhotoPrediction.objects.filter(photo_id__in=[p.pk for p in without]).exists()
    assert_logs_intact(profiles)
    assert LogEntry.objects.filter(action_flag=DELETION).count() == 2


def test_a_photo_without_swipes_is_still_deleted(photos, staff_client):
    target = photos[4]
    response = staff_client.post(f"/admin/cities/photo/{target.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Photo.objects.filter(pk=target.pk).exists()


def test_swipes_are_read_only_in_the_admin(photos, staff_client):
    swiped_by_many(photos, people=1)
    swipe = Swipe.objects.first()
    assert staff_client.get("/admin/swipes/swipe/").status_code == 200  # to read
    assert staff_client.get("/admin/swipes/swipe/add/").status_code == 403
    assert staff_client.post(f"/admin/swipes/swipe/{swipe.pk}/delete/", {"post": "yes"}).status_code == 403
    edit = staff_client.post(f"/admin/swipes/swipe/{swipe.pk}/change/", {"liked": "", "round": "7"})
    assert edit.status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [swipe.pk], "post": "yes"}
    staff_client.post("/admin/swipes/swipe/", bulk)
    swipe.refresh_from_db()
    assert Swipe.objects.count() == 3 and swipe.liked and swipe.round == 1


# --- finding 3: undo and reset replay in the locked transaction that stamps them ---------------------


def make_score_writes_fail():
    """A real database fault: from now on the database refuses to write any profile's scores. (The
    test's transaction is rolled back at its end, and the trigger with it.)"""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_score_write() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'the database refused the score write'; END $$;"
            "CREATE TRIGGER refuse_score_write BEFORE UPDATE OF scores ON swipes_userprofile "
            "FOR EACH ROW EXECUTE FUNCTION refuse_score_write();"
        )


def swiped(client, n=3):
    card = client.get("/")
    for i in range(n):
        card = client.post("/swipe/", {"photo": shown_photo_id(card), "liked": str(i % 2)}, **HX)
    return card


def log_and_scores(profile):
    profile.refresh_from_db()
    rows = list(Swipe.objects.filter(profile=profile).values_list("pk", "undone_at", "round"))
    return rows, bytes(profile.scores), profile.swipe_count, profile.round


@pytest.mark.parametrize("action", ["undo", "reset"])
def test_an_undo_or_reset_whose_rebuild_fails_commits_nothing(photos, action):
    client = Client(raise_request_exception=False)
    swiped(client)
    profile = UserProfile.objects.get()
    before = log_and_scores(profile)
    make_score_writes_fail()
    if action == "undo":
        response = client.post("/undo/", {"swipe": Swipe.objects.last().pk}, **HX)
    else:
        response = client.post("/recommendations/reset/", {"confirmed": "yes"})
    assert response.status_code == 500
    assert log_and_scores(profile) == before  # no stamp without its rebuild, no stale "current" scores


def test_a_replayed_undo_undoes_once_and_says_so(photos):
    client = Client()
    card = swiped(client)
    named = undo_target(card)
    first = client.post("/undo/", {"swipe": named}, **HX)
    again = client.post("/undo/", {"swipe": named}, **HX)  # the same POST again (a double click)
    assert first.status_code == again.status_code == 200
    assert swipe_count(first) == swipe_count(again) == 2
    assert "already undone" in again.content.decode()
    profile = UserProfile.objects.get()
    assert list(Swipe.objects.filter(undone_at__isnull=False).values_list("pk", flat=True)) == [named]
    assert np.array_equal(stored_state(profile), replayed_from_db(profile))


def test_an_undo_from_a_card_another_tab_has_overtaken_undoes_nothing(photos):
    client = Client()
    card = swiped(client, n=2)
    stale_undo = undo_target(card)
    swiped_elsewhere = client.post("/swipe/", {"photo": shown_photo_id(card), "liked": "1"}, **HX)
    response = client.post("/undo/", {"swipe": stale_undo}, **HX)
    assert response.status_code == 409 and response["HX-Retarget"] == "#deck"
    assert "undo takes back your latest swipe only" in response.content.decode()
    assert undo_target(response) == undo_target(swiped_elsewhere)  # the button now names the latest
    assert not Swipe.objects.filter(undone_at__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_two_undo_posts_at_once_undo_one_swipe(photo_set):
    photo_set()
    client = Client()
    card = swiped(client)
    named = undo_target(card) or Swipe.objects.order_by("pk").last().pk
    barrier = threading.Barrier(2)
    statuses, errors = [], []

    def click():
        try:
            barrier.wait(timeout=10)
            statuses.append(client.post("/undo/", {"swipe": named}, **HX).status_code)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and statuses == [200, 200]
    profile = UserProfile.objects.get()
    assert list(Swipe.objects.filter(undone_at__isnull=False).values_list("pk", flat=True)) == [named]
    assert profile.swipe_count == 2 == profile.swipes.live().count()
    assert np.array_equal(stored_state(profile), replayed_from_db(profile))


# --- a second tab's swipe that conflicts with the first tab's says so --------------------------------


def test_a_card_dealt_before_a_reshuffle_in_another_tab_does_not_count(photos):
    client = Client()
    tab_one = swiped(client, n=1)
    client.post("/reshuffle/", **HX)  # in the other tab
    response = client.post("/swipe/", card_form(tab_one, "1"), **HX)
    assert response.status_code == 409 and response["HX-Retarget"] == "#deck"
    assert "from before you reshuffled or reset in another tab" in response.content.decode()
    assert Swipe.objects.count() == 1


def test_a_photo_the_other_tab_rated_the_other_way_keeps_that_answer_and_says_so(photos):
    client = Client()  # one browser, two tabs: one cookie jar
    tab_one = tab_two = client.get("/")
    client.post("/swipe/", card_form(tab_one, "1"), **HX)
    response = client.post("/swipe/", card_form(tab_two, "0"), **HX)  # the same card, the other answer
    assert response.status_code == 409 and response["HX-Retarget"] == "#deck"
    assert "You had already rated that photo as a like in another tab" in response.content.decode()
    assert list(Swipe.objects.values_list("liked", flat=True)) == [True]


def test_a_card_overtaken_by_an_undo_in_another_tab_counts_and_says_so(photos):
    client = Client()
    tab_one = swiped(client, n=1)
    tab_two = client.get("/")  # dealt after the same swipe
    tab_one = client.post("/undo/", {"swipe": undo_target(tab_one)}, **HX)
    response = client.post("/swipe/", card_form(tab_two, "1"), **HX)
    assert response.status_code == 200 and swipe_count(response) == 1
    assert "You swiped in another tab meanwhile" in response.content.decode()
