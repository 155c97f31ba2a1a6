"""The probes: /livez/ says the process answers and touches nothing; /healthz/ says whether the database and
the broker can be reached, and which one cannot (503). The database outage runs in a fresh interpreter whose
DATABASE_URL points at a port where nothing listens (see test_error_pages.py)."""

import pytest
from django.test import Client

from vibes_site.celery import app as celery_app


def test_livez_answers_ok_in_plain_text_without_a_database():
    response = Client().get("/livez/")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("path", ["/livez/", "/healthz/"])
def test_the_probes_are_read_only(path):
    assert Client().post(path).status_code == 405


@pytest.mark.django_db
def test_healthz_is_ok_when_the_database_and_the_broker_answer():
    response = Client().get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_and_names_the_broker_when_the_broker_is_unreachable():
    previous = celery_app.conf.broker_write_url
    # A port where nothing listens, and a fresh producer pool; the working broker comes back after.
    celery_app.conf.broker_write_url, celery_app.amqp._producer_pool = "redis://127.0.0.1:1/0", None
    try:
        response = Client().get("/healthz/")
    finally:
        celery_app.conf.broker_write_url, celery_app.amqp._producer_pool = previous, None
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["database"] == "ok"
    assert body["broker"].startswith("unreachable") and "127.0.0.1" not in body["broker"]  # details: the log
