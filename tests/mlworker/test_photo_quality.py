"""Photo quality in the app: the swipe queue skips hidden and low-quality photos; suspects, scene tags,
the admin's filters and bulk actions (generated images and synthetic embeddings only)."""

import numpy as np
import pytest
from django.contrib.auth.models import User

from cities import selectors as city_selectors
from cities.models import Photo
from cities.services import set_photo_status
from mlworker.photo_quality import suspect_photo_ids
from mlworker.selectors import active_model
from swipes import selectors
from swipes.engine import forget_engine
from swipes.models import UserProfile


def served_ids(profile, limit=50) -> list[int]:
    """Photo ids the configured policy serves, swiping 'like' on each, until the round ends."""
    from swipes.services import record_swipe

    shown = []
    for _ in range(limit):
        photo = selectors.next_photo(profile)
        if photo is None:
            break
        shown.append(photo.pk)
        record_swipe(profile, photo.pk, True)
        profile.refresh_from_db()
    return shown


@pytest.mark.django_db
@pytest.mark.parametrize("policy", ["adaptive", "global_queue"])
def test_hidden_and_low_quality_photos_leave_the_swipe_queue(photo_set, settings, policy):
    settings.VIBES_POLICY = policy
    settings.VIBES_MIN_PHOTO_QUALITY = 0.4
    forget_engine()
    photos = photo_set()
    low, hidden, good, unassessed = (
        photos["alpha"][0],
        photos["beta"][0],
        photos["gamma"][0],
        photos["gamma"][1],
    )
    Photo.objects.all().update(quality=0.9)
    Photo.objects.filter(pk=low.pk).update(quality=0.1)
    Photo.objects.filter(pk=unassessed.pk).update(quality=None)
    set_photo_status([hidden.pk], Photo.Status.HIDDEN)
    servable = set(Photo.objects.servable().values_list("pk", flat=True))
    assert low.pk not in servable and hidden.pk not in servable
    assert {good.pk, unassessed.pk} <= servable and len(servable) == 10
    version = active_model()
    assert set(selectors.queue_photos(version).values_list("pk", flat=True)) == servable
    assert selectors.queue_size(version) == 10
    shown = served_ids(UserProfile.objects.create())
    assert sorted(shown) == sorted(servable)


@pytest.mark.django_db
def test_a_photo_rated_low_after_the_engine_was_built_is_skipped(photo_set, settings, client):
    settings.VIBES_MIN_PHOTO_QUALITY = 0.5
    photos = photo_set()
    profile = UserProfile.objects.create()
    assert selectors.next_photo(profile) is not None  # the engine is built now
    everything_but_one = [p.pk for ps in photos.values() for p in ps][1:]
    Photo.objects.filter(pk__in=everything_but_one).update(quality=0.2)
    shown = served_ids(profile)
    assert shown == [photos["alpha"][0].pk]
    # A swipe on a low-quality photo is refused like one on a hidden photo.
    response = client.post("/swipe/", {"photo": everything_but_one[0], "liked": "1"})
    assert response.status_code == 404


@pytest.mark.django_db
def test_the_threshold_setting_moves_photos_in_and_out(photo_set, settings):
    photos = photo_set(per_city=2)
    Photo.objects.filter(pk=photos["alpha"][0].pk).update(quality=0.3)
    settings.VIBES_MIN_PHOTO_QUALITY = 0.2
    assert Photo.objects.servable().count() == 6
    settings.VIBES_MIN_PHOTO_QUALITY = 0.35
    assert Photo.objects.servable().count() == 5


@pytest.mark.django_db
def test_set_photo_status_records_the_decision(photo_set):
    photos = photo_set(per_city=1)
    target = photos["alpha"][0]
    assert Photo.objects.get(pk=target.pk).status_decided_at is None
    assert set_photo_status([target.pk], Photo.Status.HIDDEN) == 1
    target.refresh_from_db()
    assert target.status == Photo.Status.HIDDEN and target.status_decided_at is not None


def test_suspects_are_the_photos_filed_under_the_wrong_city():
    rng = np.random.default_rng(0)
    city_ids = np.repeat([11, 22, 33], 40)
    # Like real embeddings: many dimensions, each carrying a little of the city.
    centres = dict(zip([11, 22, 33], rng.normal(0, 1, (3, 256)), strict=True))
    vectors = np.array([centres[c] for c in city_ids]) + rng.normal(0, 1, (120, 256))
    photo_ids = list(range(1000, 1120))
    filed = city_ids.copy()
    filed[[3, 50, 90]] = [22, 33, 11]  # three photos filed under another city
    suspects = suspect_photo_ids(photo_ids, filed.tolist(), vectors.astype(np.float32))
    assert {1003, 1050, 1090} <= suspects
    assert suspects == {1003, 1050, 1090}
    assert suspect_photo_ids(photo_ids[:5], [11] * 5, vectors[:5]) == set()
    with pytest.raises(ValueError):
        suspect_photo_ids(photo_ids, filed.tolist()[:-1], vectors)


@pytest.mark.django_db
def test_scene_tag_counts_and_the_city_page(photo_set, client):
    photos = photo_set(per_city=3)
    alpha = [p.pk for p in photos["alpha"]]
    Photo.objects.filter(pk=alpha[0]).update(scene_tags=["bridge", "coast"])
    Photo.objects.filter(pk=alpha[1]).update(scene_tags=["coast"])
    Photo.objects.filter(pk=alpha[2]).update(scene_tags=["church"], status=Photo.Status.HIDDEN)
    assert city_selectors.scene_tag_counts(alpha) == [("coast", 2), ("bridge", 1), ("church", 1)]
    assert city_selectors.scene_tag_counts([]) == []
    page = client.get("/cities/alpha/").content.decode()
    assert 'id="scene-tags"' in page and "coast" in page and "bridge" in page
    assert "church" not in page  # only photos that are served count for the city page


@pytest.fixture
def admin_client_(client, db):
    user = User.objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_admin_filters_sorts_and_bulk_hides_and_shows(photo_set, make_city, admin_client_, client, settings):
    settings.VIBES_MIN_PHOTO_QUALITY = 0.5
    photos = photo_set(per_city=2)
    make_city("omega", "Omega")  # no photos: not worth a line in the city filter
    first, second = photos["alpha"]
    Photo.objects.filter(pk=first.pk).update(suspect=True, quality=0.1, scene_tags=["harbour"])
    Photo.objects.filter(pk=second.pk).update(quality=0.8)
    url = "/admin/cities/photo/"
    page = admin_client_.get(url + "?suspect__exact=1").content.decode()
    assert f"/admin/cities/photo/{first.pk}/change/" in page and "harbour" in page
    assert f"/admin/cities/photo/{second.pk}/change/" not in page
    below = admin_client_.get(url + "?quality_band=below").content.decode()
    assert f"/{first.pk}/change/" in below and f"/{second.pk}/change/" not in below
    top = admin_client_.get(url + "?quality_band=top").content.decode()
    assert f"/{second.pk}/change/" in top and f"/{first.pk}/change/" not in top
    assert admin_client_.get(url + "?o=4").status_code == 200  # sorted by quality
    listing = admin_client_.get(url).content.decode()
    assert 'id="suspect-photos"' in listing and "⚠ suspect" in listing and "· skipped" in listing
    assert listing.count("⚠ suspect") == 1  # no red cross on every photo that is fine
    city_filter = listing.split('id="changelist-filter"')[1]
    assert "city__id__exact=" in city_filter and "Alpha" in city_filter and "Omega" not in city_filter
    change = admin_client_.get(f"{url}{first.pk}/change/").content.decode()
    assert "0.10, below the swipe queue" in change and "harbour" in change and '["harbour"]' not in change
    assert "Yes: probably junk" in change
    for field in ("quality", "junk", "city_fit", "suspect", "scene_tags"):
        assert f'name="{field}"' not in change  # set by the assessment, not typed in
    saved = {"city": first.city_id, "source": "upload", "status": "active", "_save": "Save"}
    assert admin_client_.post(f"{url}{first.pk}/change/", saved).status_code == 302
    kept = Photo.objects.get(pk=first.pk)
    assert (kept.quality, kept.suspect, kept.scene_tags) == (0.1, True, ["harbour"])
    Photo.objects.update(suspect=False)
    empty = admin_client_.get(url + "?suspect__exact=1").content.decode()
    assert 'id="no-suspects"' in empty
    ids = [str(first.pk), str(second.pk)]
    admin_client_.post(url, {"action": "hide_photos", "_selected_action": ids})
    assert set(Photo.objects.filter(pk__in=ids).values_list("status", flat=True)) == {Photo.Status.HIDDEN}
    admin_client_.post(url, {"action": "show_photos", "_selected_action": [str(first.pk)]})
    assert Photo.objects.get(pk=first.pk).status == Photo.Status.ACTIVE


@pytest.mark.django_db
def test_bulk_hide_needs_the_change_permission(photo_set, client):
    photos = photo_set(per_city=1)
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_photo"))
    client.force_login(viewer)
    target = photos["alpha"][0]
    client.post("/admin/cities/photo/", {"action": "hide_photos", "_selected_action": [str(target.pk)]})
    assert Photo.objects.get(pk=target.pk).status == Photo.Status.ACTIVE


@pytest.mark.ml
@pytest.mark.django_db
def test_assess_photos_stores_quality_tags_and_suspects(photo_set, settings, tmp_path):
    from mlworker.ml.imagenet_head import head_weights
    from mlworker.photo_quality import assess_photos

    settings.MODEL_CACHE_DIR = tmp_path
    photos = photo_set(per_city=8)
    kernel, _ = head_weights(cache_dir=tmp_path)
    # Synthetic "embeddings" along the head's own class directions: a palace, a map, a bridge.
    palace, jigsaw, bridge = (kernel[:, i] / np.linalg.norm(kernel[:, i]) * 60 for i in (698, 611, 821))
    rng = np.random.default_rng(0)
    vectors, kinds = {}, {}
    for c, (slug, ps) in enumerate(photos.items()):
        for i, p in enumerate(ps):
            kind = "map" if i == 0 else ("bridge" if slug == "beta" else "palace")
            base = {"map": jigsaw, "bridge": bridge, "palace": palace}[kind]
            vectors[p.pk] = (base + rng.normal(0, 0.05, base.shape) + c * 0.3).astype(np.float32)
            kinds[p.pk] = kind
    seen = []
    summary = assess_photos(vectors, progress=lambda d, t, m: seen.append((d, t)), min_quality=0.5)
    assert summary["assessed"] == 24 and seen[-1] == (4, 4)
    stored = {p.pk: p for p in Photo.objects.all()}
    for pk, kind in kinds.items():
        photo = stored[pk]
        assert 0.0 <= photo.quality <= 1.0
        if kind == "map":
            assert photo.junk > 0.5 and photo.quality < 0.5 and photo.scene_tags == []
        else:
            assert photo.junk < 0.1
            assert photo.scene_tags[:1] == [kind]
    assert summary["below_threshold"] == 3
    assert not set(Photo.objects.servable().values_list("pk", flat=True)) & {
        pk for pk, kind in kinds.items() if kind == "map"
    }
