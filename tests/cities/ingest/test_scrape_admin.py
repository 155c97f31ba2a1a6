"""Starting a scrape from the admin (a Job, run by the Celery task) and from `manage.py scrape`."""

from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.test import Client

from cities.models import City, Photo
from cities.tasks import scrape_photos
from jobs import registry
from jobs.models import Job
from tests.fakeweb import encode, photo_like
from tests.helpers import run_queued_jobs
from vibes_site.celery import app

CHANGELIST = "/admin/cities/city/"


@pytest.fixture
def cities_with_photos(scrape_settings, fake_web, make_city):
    for c, (slug, name) in enumerate([("berlin", "Berlin"), ("paris", "Paris")]):
        make_city(slug, name)
        for i in range(3):
            fake_web.add_commons_file(f"{slug}-{i}.jpg", encode(photo_like(100 * c + i)), topic=name)
    return City.objects.filter(slug__in=["berlin", "paris"])


def client_for(**flags):
    user = get_user_model().objects.create_user(username="u", password="pw-123-long", **flags)
    client = Client()
    client.force_login(user)
    return client, user


def scrape_post(cities, **fields):
    data = {"action": "scrape_photos", "_selected_action": [c.pk for c in cities]}
    if fields:
        data |= {"apply": "1", "provider": "wikimedia", "per_city": "2", "queries": "{city} skyline"} | fields
    return data


def test_the_admin_action_starts_a_job_that_the_task_runs(
    cities_with_photos, django_capture_on_commit_callbacks
):
    client, admin_user = client_for(is_staff=True, is_superuser=True)
    form = client.post(CHANGELIST, scrape_post(cities_with_photos))
    assert form.status_code == 200 and b'id="scrape-form"' in form.content
    assert b"Scrape photos for 2 cities" in form.content and b"Paris" in form.content
    assert Job.objects.count() == 0

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(CHANGELIST, scrape_post(cities_with_photos, per_city="2"))
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/admin/jobs/job/{job.pk}/change/"
    assert job.kind == "scrape" and job.status == Job.Status.QUEUED and job.created_by == admin_user
    assert job.params["city_slugs"] == ["berlin", "paris"] and job.params["per_city"] == 2
    assert len(callbacks) == 1  # the task is sent once the transaction commits

    scrape_photos(job.pk)  # what the worker does with it

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert job.result["achieved"] == 4 and job.result["errors"] == [] and job.result["failed"] == 0
    assert job.message.startswith("4 photos stored") and (job.progress_done, job.progress_total) == (4, 4)
    assert Photo.objects.filter(source="wikimedia").count() == 4
    page = client.get(response["Location"])
    assert b"Succeeded" in page.content and b"hx-get" not in page.content  # finished: no more polling


def test_a_running_job_page_polls_its_progress(cities_with_photos):
    client, _ = client_for(is_staff=True, is_superuser=True)
    client.post(CHANGELIST, scrape_post(cities_with_photos, per_city="2"))
    page = client.get(f"/admin/jobs/job/{Job.objects.get().pk}/change/")
    assert b'hx-trigger="every 1s"' in page.content


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"per_city": "0"}, b"Ensure this value is greater than or equal to 1"),
        ({"queries": "skyline"}, b"must contain {city}"),
        ({"provider": "urls", "urls": "https://a.org/x.jpg"}, b"line 1 names no city"),
    ],
)
def test_bad_input_in_the_form_starts_nothing(cities_with_photos, fields, error):
    client, _ = client_for(is_staff=True, is_superuser=True)
    response = client.post(CHANGELIST, scrape_post(cities_with_photos, **fields))
    assert response.status_code == 200 and error in response.content
    assert Job.objects.count() == 0


def test_commons_with_the_placeholder_contact_is_refused_naming_the_setting(cities_with_photos, settings):
    settings.SCRAPE_USER_AGENT = (
        "CityVibes/1.0 (https://github.com/city-vibes/city-vibes; cityvibes-admin@example.org)"
    )
    client, _ = client_for(is_staff=True, is_superuser=True)
    response = client.post(CHANGELIST, scrape_post(cities_with_photos, per_city="2"))
    assert b"SCRAPE_USER_AGENT still names the placeholder contact" in response.content
    assert Job.objects.count() == 0
    response = client.post(CHANGELIST, scrape_post(cities_with_photos, per_city="2", provider="openverse"))
    assert response.status_code == 302 and Job.objects.get().params["provider"] == "openverse"


def test_a_user_who_is_not_staff_cannot_start_a_scrape(cities_with_photos):
    client, _ = client_for()
    response = client.post(CHANGELIST, scrape_post(cities_with_photos, per_city="2"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert Job.objects.count() == 0


def test_staff_without_the_scrape_permission_do_not_get_the_action(cities_with_photos):
    client, user = client_for(is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_city"),
        Permission.objects.get(codename="change_city"),
        Permission.objects.get(codename="add_photo"),  # adding photos by hand is not scraping
    )
    response = client.post(CHANGELIST, scrape_post(cities_with_photos, per_city="2"))
    assert Job.objects.count() == 0
    assert response.status_code in (200, 302)
    assert b"Scrape photos" not in client.get(CHANGELIST).content
    user.user_permissions.add(Permission.objects.get(codename="scrape_photos"))
    assert b"Scrape photos" in client.get(CHANGELIST).content


def test_a_job_whose_cities_are_gone_fails_with_a_clear_message(cities_with_photos):
    job = Job.objects.create(kind="scrape", params={"city_slugs": ["atlantis"], "per_city": 2})
    assert scrape_photos.apply(args=[job.pk]).failed()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "unknown city slug: atlantis" in job.message


def scrape_job(slugs, per_city):
    params = {"city_slugs": slugs, "per_city": per_city, "queries": ["{city}"]}
    job = Job.objects.create(kind="scrape", params=params)
    scrape_photos.apply(args=[job.pk])
    job.refresh_from_db()
    return job


def test_a_scrape_that_stored_nothing_says_so_in_its_result(scrape_settings, fake_web, make_city):
    make_city("berlin", "Berlin")
    for i in range(2):
        fake_web.add_commons_file(f"gone-{i}.jpg", encode(photo_like(300 + i)), topic="Berlin", status=404)
    job = scrape_job(["berlin"], 2)
    assert job.status == Job.Status.FAILED  # not green: nothing useful happened
    assert job.result["achieved"] == 0 and job.result["failed"] == 2
    *downloads, shortfall = job.result["errors"]
    assert [e.split(": ", 1)[0] for e in downloads] == ["berlin", "berlin"]
    assert all(e.endswith("HTTP 404") and "/gone-" in e for e in downloads)
    assert shortfall.startswith("berlin: 0 of the 2 photos asked for")
    assert job.message == (
        "Nothing stored: HTTP 404 (2). 0 photos stored, 0 duplicates skipped, 0 rejected, 2 failed (berlin 0/2)."
    )


def test_a_scrape_whose_every_request_failed_says_why_in_words_on_its_page(
    scrape_settings, fake_web, fake_dns, make_city
):
    make_city("berlin", "Berlin")
    fake_dns.unresolvable.add("commons.wikimedia.org")
    client, _ = client_for(is_staff=True, is_superuser=True)
    job = scrape_job(["berlin"], 2)
    assert job.status == Job.Status.FAILED and job.result["achieved"] == 0
    reason = "cannot resolve commons.wikimedia.org (Name or service not known)"
    assert job.message.startswith(f"Nothing stored: {reason}. 0 photos stored")
    assert job.result["errors"][0] == f"berlin: the search 'Berlin': {reason}"
    page = client.get(f"/admin/jobs/job/{job.pk}/change/").content.decode()
    status = page[page.index('class="job-progress') : page.index("</details>")]
    assert "Failed" in status and f'<span class="job-message">Nothing stored: {reason}.' in status
    assert f"<li>berlin: the search &#x27;Berlin&#x27;: {reason}</li>" in status and "{" not in status


def test_a_scrape_that_stored_some_lists_what_went_wrong(scrape_settings, fake_web, make_city):
    make_city("berlin", "Berlin")
    fake_web.add_commons_file("good.jpg", encode(photo_like(310)), topic="Berlin")
    fake_web.add_commons_file("page.jpg", b"<html>not an image</html>", topic="Berlin")
    job = scrape_job(["berlin"], 2)
    assert job.status == Job.Status.PARTIAL and job.get_status_display() == "Finished with errors"
    assert job.result["achieved"] == 1 and job.result["photo_ids"] == [Photo.objects.get().pk]
    error, shortfall = job.result["errors"]
    assert error.startswith("berlin: http://") and "page.jpg: not an image" in error
    assert job.message.startswith("1 photo stored; 1 other not: not an image")
    assert shortfall.startswith("berlin: 1 of the 2 photos asked for")
    assert job.result["rejected"] == 1 and job.result["failed"] == 0


def test_a_scrape_that_found_nothing_at_all_is_not_green(scrape_settings, fake_web, make_city):
    make_city("berlin", "Berlin")  # the fake Commons has no Berlin photos: no candidates, no download errors
    job = scrape_job(["berlin"], 3)
    assert job.status == Job.Status.FAILED and job.result["achieved"] == 0
    assert job.result["errors"] == [
        "berlin: 0 of the 3 photos asked for; the source had no more that we could use"
    ]


def test_the_task_is_registered_for_scrape_jobs_on_the_default_queue():
    assert registry.kind("scrape").task is scrape_photos
    route = app.amqp.router.route({}, scrape_photos.name, args=(1,), kwargs={})
    assert route["queue"].name == settings.CELERY_TASK_DEFAULT_QUEUE != settings.CELERY_ML_QUEUE
    assert scrape_photos.soft_time_limit < scrape_photos.time_limit and scrape_photos.max_retries == 3


def test_the_command_scrapes_and_prints_a_summary(cities_with_photos):
    out = StringIO()
    call_command("scrape", cities="berlin,paris", per_city=2, queries="{city} skyline", stdout=out)
    text = out.getvalue()
    assert (
        "[4/4]" in text
        and "4 photos stored, 0 duplicates skipped, 0 rejected, 0 failed (berlin 2/2, paris 2/2)." in text
    )
    again = StringIO()
    call_command("scrape", cities="berlin", per_city=3, stdout=again)
    assert "1 photo stored" in again.getvalue() and "berlin 3/3" in again.getvalue()


def test_the_command_reads_a_url_list(cities_with_photos, fake_web, tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_text(f"{fake_web.serve('/mine.jpg', encode(photo_like(999)))},paris\n")
    out = StringIO()
    call_command("scrape", cities="paris", per_city=5, provider="urls", urls=listing, stdout=out)
    assert Photo.objects.get().source == "urls" and "1 photo stored" in out.getvalue()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cities": "atlantis"}, "unknown city slug: atlantis"),
        ({"cities": "berlin", "provider": "flickr"}, "unknown provider 'flickr'"),
        ({"cities": "berlin", "provider": "google"}, "Google Custom Search provider was removed"),
        ({"cities": "berlin", "per_city": 0}, "between 1 and 200"),
        ({"cities": "berlin", "per_city": 201}, "between 1 and 200"),
        ({"cities": "berlin", "provider": "urls"}, "needs --urls FILE"),
    ],
)
def test_the_command_rejects_bad_input_clearly(cities_with_photos, options, message):
    with pytest.raises(CommandError, match=message):
        call_command("scrape", **options)


def test_the_credit_links_to_the_source_page_on_the_card_and_in_the_admin(cities_with_photos):
    call_command("scrape", cities="berlin", per_city=1, queries="{city}", stdout=StringIO())
    run_queued_jobs("predict")  # the new photo joins the swipe queue once it has a vector
    photo = Photo.objects.get()
    card = Client().get("/").content.decode()
    credit = card[card.index('<footer class="credit">') : card.index("</footer>")]
    assert f'href="{photo.source_url}"' in credit and ">© Jane &amp; Co</a> · " in credit
    assert f'<a href="{photo.licence_url}"' in credit and ">CC BY-SA 4.0</a> · wikimedia" in credit
    assert 'rel="license' in credit
    client, _ = client_for(is_staff=True, is_superuser=True)
    listing = client.get("/admin/cities/photo/").content.decode()
    assert f'href="{photo.source_url}"' in listing and f'href="{photo.licence_url}"' in listing
    assert (
        f'href="{photo.source_url}"' in client.get(f"/admin/cities/photo/{photo.pk}/change/").content.decode()
    )


def test_a_photo_without_a_source_page_has_a_plain_credit(photo_set):
    photo_set(("alpha",), per_city=1)
    card = Client().get("/").content.decode()
    assert 'class="credit-link"' not in card and 'class="credit"' in card
