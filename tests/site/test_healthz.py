from django.test import Client
from django.urls import reverse


def test_healthz_answers_ok_in_plain_text_without_a_database():
    response = Client().get(reverse("healthz"))
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")


def test_healthz_is_read_only():
    assert Client().post("/healthz/").status_code == 405
