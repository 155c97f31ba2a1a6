"""Photo admin permissions: uploading and scraping take their own permission; hiding and showing photos
take the right to change them. Staff with no permissions and view-only staff get a 403 or no action."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cities.models import Photo
from jobs.models import Job
from tests.helpers import jpeg_bytes, staff_client_with

UPLOAD_URL = "/admin/cities/photo/upload/"
PHOTOS = "/admin/cities/photo/"
CITIES = "/admin/cities/city/"
REFUSED = {"no permissions": (), "view-only": ("view_photo", "view_city")}


def upload(client, city):
    files = [SimpleUploadedFile("a.jpg", jpeg_bytes(seed=5), content_type="image/jpeg")]
    return client.post(UPLOAD_URL, {"city": city.pk, "files": files})


def scrape(client, city):
    data = {"action": "scrape_photos", "_selected_action": [city.pk], "apply": "1", "provider": "openverse"}
    return client.post(CITIES, data | {"per_city": "2", "queries": "{city} skyline"})


@pytest.mark.django_db
@pytest.mark.parametrize("who", REFUSED)
def test_staff_without_the_upload_permission_get_403_and_store_nothing(make_city, who):
    client = staff_client_with(*REFUSED[who])
    assert client.get(UPLOAD_URL).status_code == 403
    assert upload(client, make_city("oslo")).status_code == 403
    assert not Photo.objects.exists()
    if who == "view-only":
        assert 'id="upload-photos"' not in client.get(PHOTOS).content.decode()


@pytest.mark.django_db
def test_the_upload_permission_alone_is_enough_to_upload(make_city):
    client = staff_client_with("upload_photos")
    assert client.get(UPLOAD_URL).status_code == 200
    response = upload(client, make_city("oslo"))
    assert response.status_code == 302 and Photo.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("who", REFUSED)
def test_staff_without_the_scrape_permission_start_no_scrape(make_city, who):
    client = staff_client_with(*REFUSED[who])
    response = scrape(client, make_city("oslo"))
    assert response.status_code in ((403,) if who == "no permissions" else (200, 302))
    assert not Job.objects.exists()
    if who == "view-only":
        assert 'value="scrape_photos"' not in client.get(CITIES).content.decode()


@pytest.mark.django_db
def test_the_scrape_permission_starts_a_scrape(make_city):
    client = staff_client_with("view_city", "scrape_photos")
    response = scrape(client, make_city("oslo"))
    job = Job.objects.get(kind="scrape")
    assert response.status_code == 302 and response["Location"] == f"/admin/jobs/job/{job.pk}/change/"


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["hide_photos", "show_photos"])
@pytest.mark.parametrize("who", REFUSED)
def test_hiding_and_showing_photos_take_the_change_permission(photo_set, who, action):
    photo = photo_set(slugs=("alpha",), per_city=1)["alpha"][0]
    before = "hidden" if action == "show_photos" else "active"
    Photo.objects.filter(pk=photo.pk).update(status=before)
    data = {"action": action, "_selected_action": [photo.pk]}

    response = staff_client_with(*REFUSED[who]).post(PHOTOS, data)
    assert response.status_code in ((403,) if who == "no permissions" else (200, 302))
    assert Photo.objects.get(pk=photo.pk).status == before

    staff_client_with("view_photo", "change_photo", username="editor").post(PHOTOS, data)
    assert Photo.objects.get(pk=photo.pk).status != before
