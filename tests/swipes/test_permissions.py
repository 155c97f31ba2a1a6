"""Recomputing every profile's scores takes its own permission, not the right to change profiles."""

import pytest

from jobs.models import Job
from tests.helpers import staff_client_with

RESCORE_URL = "/admin/swipes/userprofile/rescore/"
PROFILES = "/admin/swipes/userprofile/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "codenames",
    [(), ("view_userprofile",), ("view_userprofile", "change_userprofile")],
    ids=["no permissions", "view-only", "change without rescore"],
)
def test_staff_without_the_rescore_permission_get_403_and_no_job(codenames):
    client = staff_client_with(*codenames)
    assert client.post(RESCORE_URL).status_code == 403
    assert not Job.objects.exists()
    if codenames:
        assert 'id="start-rescore"' not in client.get(PROFILES).content.decode()


@pytest.mark.django_db
def test_the_rescore_permission_starts_a_rescore():
    client = staff_client_with("view_userprofile", "rescore_profiles")
    assert 'id="start-rescore"' in client.get(PROFILES).content.decode()
    response = client.post(RESCORE_URL)
    job = Job.objects.get(kind="rescore")
    assert response.status_code == 302 and response["Location"] == f"/admin/jobs/job/{job.pk}/change/"
