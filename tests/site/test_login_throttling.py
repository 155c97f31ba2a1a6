"""Login throttling (django-axes) on the admin's login and the site's: after AXES_FAILURE_LIMIT wrong
passwords for one username from one address, even the right password is refused with a plain page, until
the cool-off passes or an admin resets the lockout. Before throttling, 100 wrong passwords in 32 s and then
the right one worked."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, RequestFactory

from vibes_site.security import client_ip

PASSWORD = "pw-for-tests-only"
LOGINS = {"admin": "/admin/login/", "site": "/accounts/login/"}


@pytest.fixture
def throttled(settings, db):
    settings.AXES_ENABLED = True  # off in the test settings, so that other tests log in freely
    get_user_model().objects.create_superuser("boss", password=PASSWORD)
    return settings


def log_in(url, password, address="10.0.0.1"):
    client = Client(REMOTE_ADDR=address)
    response = client.post(url, {"username": "boss", "password": password})
    return response, client


def assert_logged_in(response, client):
    assert response.status_code == 302, response.status_code
    assert client.get("/admin/").status_code == 200


def assert_locked_out(response):
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many tries" in page and "Please wait 15 minutes" in page and "<html" in page


@pytest.mark.parametrize("login", LOGINS)
def test_the_right_password_is_refused_after_five_wrong_ones_until_the_cool_off_ends(throttled, login):
    url = LOGINS[login]
    for attempt in range(1, settings.AXES_FAILURE_LIMIT + 1):
        response, _ = log_in(url, f"wrong-{attempt}")
        if attempt < settings.AXES_FAILURE_LIMIT:
            assert response.status_code == 200  # the form again, with its error
    assert_locked_out(response)  # the fifth wrong password already says so

    response, client = log_in(url, PASSWORD)
    assert_locked_out(response)
    assert client.get("/admin/").status_code == 302  # not logged in

    # Another address may still log in as the same user: a stranger cannot lock them out everywhere.
    assert_logged_in(*log_in(url, PASSWORD, address="10.0.0.2"))

    # Fifteen minutes later the pair is free again.
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    assert_logged_in(*log_in(url, PASSWORD))


def test_an_admin_can_lift_a_lockout_at_once(throttled):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        log_in(LOGINS["site"], f"wrong-{attempt}")
    assert_locked_out(log_in(LOGINS["admin"], PASSWORD)[0])  # one lockout for both logins
    call_command("axes_reset_username", "boss")
    assert_logged_in(*log_in(LOGINS["admin"], PASSWORD))


def test_a_few_wrong_passwords_then_the_right_one_work_and_reset_the_count(throttled):
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(LOGINS["site"], f"wrong-{attempt}")
    assert_logged_in(*log_in(LOGINS["site"], PASSWORD))
    assert not AccessAttempt.objects.exists()


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "6.6.6.6", "10.0.0.1"),  # no proxy: the header is the client's own words, ignored
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # what the proxy saw, not what the client wrote
        (2, "203.0.113.7, 172.18.0.5", "203.0.113.7"),
        (1, "", "10.0.0.1"),
    ],
)
def test_the_client_address_trusts_only_the_configured_proxies(settings, proxies, forwarded, expected):
    settings.PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
