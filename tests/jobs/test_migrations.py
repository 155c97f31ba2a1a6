"""The redesign moved Job into `jobs` and ModelVersion, PhotoPrediction and PhotoEmbedding into `mlworker`.
A database filled under the old schema must migrate without losing a row (and back again)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

OLD_SCHEMA = [
    ("cities", "0003_photo_quality"),
    ("mlworker", "0001_initial"),
    ("swipes", "0002_profile_without_session_key"),
    ("jobs", None),
]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([t for t in targets if t[1]]).apps


def latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def fill_old_schema(apps) -> dict:
    city = apps.get_model("cities", "City").objects.create(slug="kyoto", name="Kyoto")
    photos = [
        apps.get_model("cities", "Photo").objects.create(
            city=city, image=f"photos/{i}.jpg", sha256=f"{i:064d}", queue_key=i + 1
        )
        for i in range(3)
    ]
    version_model = apps.get_model("cities", "ModelVersion")
    old = version_model.objects.create(name="old", backbone="label-only", city_ids=[city.pk], status="ready")
    active = version_model.objects.create(
        name="cnn", backbone="efficientnet_lite0", city_ids=[city.pk], status="ready", is_active=True
    )
    for photo in photos:
        apps.get_model("cities", "PhotoPrediction").objects.create(
            model_version=active, photo=photo, probabilities=b"\x00\x00\x80\x3f"
        )
        apps.get_model("cities", "PhotoEmbedding").objects.create(
            photo=photo, backbone="efficientnet_lite0", vector=b"\x00" * 8
        )
    jobs = [
        apps.get_model("mlworker", "Job").objects.create(kind=kind, status="succeeded", params={"n": i})
        for i, kind in enumerate(["train", "scrape", "rescore"])
    ]
    profile = apps.get_model("swipes", "UserProfile").objects.create(scores_model=active, scores=b"abc")
    apps.get_model("swipes", "Swipe").objects.create(profile=profile, photo=photos[0], liked=True)
    return {
        "versions": sorted([old.pk, active.pk]),
        "active": active.pk,
        "jobs": {j.pk: (j.kind, j.params) for j in jobs},
        "profile": profile.pk,
    }


@pytest.mark.django_db(transaction=True)
def test_an_old_database_migrates_forward_and_back_without_losing_a_row():
    from django.contrib.contenttypes.models import ContentType

    head = latest()
    try:
        before = fill_old_schema(migrate(OLD_SCHEMA))
        ContentType.objects.get_or_create(app_label="mlworker", model="job")
        ContentType.objects.filter(app_label="jobs").delete()
        ContentType.objects.filter(app_label="mlworker", model="modelversion").delete()
        ContentType.objects.get_or_create(app_label="cities", model="modelversion")

        apps = migrate(head)
        versions = apps.get_model("mlworker", "ModelVersion").objects
        assert sorted(versions.values_list("pk", flat=True)) == before["versions"]
        assert versions.get(is_active=True).pk == before["active"]
        assert (
            apps.get_model("mlworker", "PhotoPrediction")
            .objects.filter(model_version=before["active"])
            .count()
            == 3
        )
        assert apps.get_model("mlworker", "PhotoEmbedding").objects.count() == 3
        jobs = apps.get_model("jobs", "Job").objects
        assert {j.pk: (j.kind, j.params) for j in jobs.all()} == before["jobs"]
        new_job = jobs.create(kind="train")  # ids carry on after the copied rows
        assert new_job.pk > max(before["jobs"])
        profile = apps.get_model("swipes", "UserProfile").objects.get(pk=before["profile"])
        assert profile.scores_model_id == before["active"] and bytes(profile.scores) == b"abc"
        assert ContentType.objects.filter(app_label="jobs", model="job").exists()
        assert ContentType.objects.filter(app_label="mlworker", model="modelversion").exists()
        new_job.delete()

        old_apps = migrate(OLD_SCHEMA)  # and back: the move is reversible
        assert old_apps.get_model("cities", "ModelVersion").objects.count() == 2
        assert old_apps.get_model("mlworker", "Job").objects.count() == 3
    finally:
        migrate(head)
