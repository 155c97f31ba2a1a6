"""Sessions live on the server, so logging out ends them: the old cookie, replayed, opens nothing.

Both engines in use are run for real: the database (development, tests) and production's cached_db on the
Redis cache. (With signed-cookie sessions, the replayed cookie opened the admin again.)
"""

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from jobs.tasks import clear_expired_sessions_task
from vibes_site.settings.base import cache_settings

PASSWORD = "pw-for-tests-only"


@pytest.fixture(params=["as configured", "cached_db on Redis"])
def session_engine(request, settings):
    """The engine of these settings (the database, as in development), or production's (its choice is
    tests/site/test_settings.py's)."""
    if request.param == "cached_db on Redis":
        redis = cache_settings(settings.CELERY_BROKER_URL)
        assert redis["BACKEND"].endswith("RedisCache"), "these tests need the Redis broker (make test)"
        settings.CACHES = {"default": redis | {"KEY_PREFIX": f"test-sessions-{uuid.uuid4().hex[:8]}"}}
        settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
        settings.SESSION_COOKIE_AGE = 300  # whatever a failed test leaves in Redis expires soon
    return request.param


@pytest.mark.django_db
def test_a_session_cookie_replayed_after_logout_opens_nothing(session_engine):
    get_user_model().objects.create_superuser("boss", password=PASSWORD)
    client = Client()
    login = client.post("/admin/login/?next=/admin/", {"username": "boss", "password": PASSWORD})
    assert login.status_code == 302 and login["Location"] == "/admin/"
    stolen = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get("/admin/").status_code == 200

    assert client.post("/accounts/logout/").status_code == 302

    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = stolen
    response = replay.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert not Session.objects.filter(session_key=stolen).exists()


@pytest.mark.django_db
def test_expired_sessions_are_swept_on_the_beat():
    Session.objects.create(session_key="old", session_data="", expire_date=timezone.now() - timedelta(days=1))
    Session.objects.create(
        session_key="live", session_data="", expire_date=timezone.now() + timedelta(days=1)
    )
    clear_expired_sessions_task.apply()
    assert list(Session.objects.values_list("session_key", flat=True)) == ["live"]
    assert "jobs.clear_expired_sessions" in {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
