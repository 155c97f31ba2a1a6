"""In a real browser, under the Content-Security-Policy (every e2e test also fails on a CSP refusal, see
conftest.py): the server's htmx error fragment is shown, and the reset form still asks first without an
inline handler."""

import pytest
from playwright.sync_api import expect

from cities.models import City

from .helpers import shown_photo_id, swipe_log, the_profile

pytestmark = pytest.mark.e2e


def test_a_missing_fragment_shows_the_servers_plain_words_in_the_error_area(page, photo_set):
    photo_set(slugs=("alpha", "beta"), per_city=1)

    def city_gone_meanwhile(route):
        City.objects.filter(slug="alpha").delete()  # between the page and its htmx section
        route.continue_()  # the real server answers: 404, with its fragment for htmx

    page.route("**/cities/alpha/look-alikes/", city_gone_meanwhile)
    page.goto("/cities/alpha/")
    expect(page.locator("#htmx-error")).to_be_visible()
    expect(page.locator("#htmx-error #error-404")).to_have_text(
        "That is no longer here. Reload the page to see what is."
    )


def test_reset_asks_first_and_only_a_yes_forgets_the_swipes(page, photo_set):
    photo_set(slugs=("alpha", "beta"), per_city=2)
    page.goto("/")
    page.locator("#btn-like").click()
    expect(page.locator("#swipe-count")).to_have_text("1")
    assert shown_photo_id(page)
    page.goto("/recommendations/")

    questions = []

    def answer(dialog, accept):
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    page.locator("#btn-reset").click()
    expect(page.locator("#btn-reset")).to_be_visible()  # still here: nothing was sent
    assert [live for _, _, live in swipe_log(the_profile(page))] == [True]

    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    page.locator("#btn-reset").click()
    expect(page.locator(".messages")).to_contain_text("Your taste profile was reset")
    assert questions == ["Forget all your swipes and start over?"] * 2
    assert [live for _, _, live in swipe_log(the_profile(page))] == [False]


ADMIN_PAGES = [
    "/admin/",
    "/admin/cities/photo/",
    "/admin/cities/photo/upload/",
    "/admin/cities/city/",
    "/admin/mlworker/modelversion/",
    "/admin/mlworker/modelversion/train/",
    "/admin/swipes/userprofile/",
    "/admin/jobs/job/",
    "/admin/auth/user/add/",
]


def test_the_admin_works_under_the_policy(page, photo_set):
    """Django's admin and our additions (thumbnails, bars, charts) need nothing the policy refuses."""
    from django.contrib.auth import get_user_model

    from cities.models import Photo
    from jobs.models import Job

    photos = photo_set(slugs=("alpha", "beta"), per_city=2)
    Job.objects.create(kind="rescore", status=Job.Status.RUNNING, progress_done=1, progress_total=4)
    get_user_model().objects.create_superuser("boss", password="pw-for-tests-only")
    page.goto("/admin/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "pw-for-tests-only")
    page.locator("input[type=submit]").click()
    expect(page.locator("#site-name")).to_be_visible()
    photo = Photo.objects.get(pk=photos["alpha"][0].pk)
    for path in [*ADMIN_PAGES, f"/admin/cities/photo/{photo.pk}/change/"]:
        response = page.goto(path)
        assert response.ok, f"{path}: {response.status}"
        assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator("img.photo-preview")).to_be_visible()
