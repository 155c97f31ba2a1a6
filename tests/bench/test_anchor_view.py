"""The P1 anchor view (bench/views.py): served only under the bench URLs, and it does the write it claims."""

import pytest
from django.test import Client
from django.urls import Resolver404, resolve

from jobs.models import Job
from swipes.models import UserProfile


def test_the_anchor_is_not_in_the_production_urls():
    with pytest.raises(Resolver404):
        resolve("/bench/write/", urlconf="vibes_site.urls")
    assert resolve("/bench/write/", urlconf="bench.urls").url_name == "bench-write"


@pytest.mark.django_db
def test_the_anchor_writes_one_finished_row_for_the_visitor_and_answers_a_partial(settings):
    settings.ROOT_URLCONF = "bench.urls"
    client = Client()
    first = client.post("/bench/write/", HTTP_HX_REQUEST="true")
    second = client.post("/bench/write/", HTTP_HX_REQUEST="true")
    assert first.status_code == second.status_code == 200
    assert b"ok succeeded" in second.content
    (profile,) = UserProfile.objects.all()  # the visitor's cookie names one profile for both requests
    jobs = Job.objects.filter(kind="bench_anchor")
    assert jobs.count() == 2
    assert all(j.params == {"profile": profile.pk} and j.finished_at for j in jobs)
    assert client.get("/bench/write/").status_code == 405  # a write: POST only
