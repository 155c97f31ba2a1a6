"""The swipe log stays the source of truth (issue 10, finding 4): no admin delete or edit loses or changes
a row."""

import numpy as np
import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.db.models import ProtectedError

from cities.models import Photo
from mlworker.models import PhotoPrediction
from swipes import services
from swipes.models import Swipe, UserProfile

from .cards import (
    replayed_from_db,
    stored_state,
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
