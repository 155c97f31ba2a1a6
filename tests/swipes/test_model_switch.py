"""A model switch as the web process sees it: the new model's engine loads in the background while the
previous model keeps serving, and a swipe that lands on a model deleted meanwhile still counts."""

import threading
import time

import numpy as np
import pytest

from cities.models import Photo
from mlworker.models import ModelVersion
from mlworker.selectors import active_model
from mlworker.services import sync_label_only_model, write_predictions
from swipes import engine, services
from swipes.models import Swipe, UserProfile
from tests.helpers import ingest_photo, jpeg_bytes


@pytest.mark.django_db(transaction=True)  # the background load reads on a connection of its own
def test_a_new_model_loads_in_the_background_while_the_previous_one_serves(photo_set, settings, monkeypatch):
    photo_set()
    settings.VIBES_ENGINE_RELOAD = "background"
    old = engine.active_version()
    assert engine.engine_for(old).version == old
    new = ModelVersion.objects.create(
        name="uniform", backbone="test", city_ids=old.city_ids, status=ModelVersion.Status.READY
    )
    ids = list(Photo.objects.values_list("pk", flat=True))
    write_predictions(new, ids, np.full((len(ids), 3), 1 / 3, dtype=np.float32))
    ModelVersion.objects.filter(pk=old.pk).update(is_active=False)  # the switch, on the ml worker
    ModelVersion.objects.filter(pk=new.pk).update(is_active=True)

    built_on, may_finish, real_build = [], threading.Event(), engine._build

    def slow_build(version, stamp):
        built_on.append((version.pk, threading.current_thread().name))
        assert may_finish.wait(10)
        return real_build(version, stamp)

    monkeypatch.setattr(engine, "_build", slow_build)
    monkeypatch.setattr(engine, "FRESHNESS_SECONDS", 0.0)
    started = time.monotonic()
    assert engine.active_version() == old  # the switch is seen, and the previous model serves meanwhile
    assert engine.engine_for(old).version == old
    assert time.monotonic() - started < 1.0  # nobody waited for the load
    may_finish.set()
    deadline = time.monotonic() + 10
    while engine.active_version() != new and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.active_version() == new
    assert engine.engine_for(new).version == new
    assert built_on == [(new.pk, "engine-refresh")]  # built once, and never in a request


@pytest.mark.django_db(transaction=True)  # foreign keys are checked when a transaction commits
def test_a_swipe_on_a_model_deleted_meanwhile_counts_under_the_active_one(photo_set, make_city):
    photos = photo_set()
    old = active_model()
    profile = UserProfile.objects.create()
    services.record_swipe(profile, photos["alpha"][0].pk, True, old)
    # A new city's photo replaces the label-only baseline; the old version and its vectors are deleted.
    ingest_photo(make_city("delta"), "delta.jpg", jpeg_bytes((10, 200, 10), seed=7))
    new = sync_label_only_model()
    assert new.pk != old.pk and not ModelVersion.objects.filter(pk=old.pk).exists()
    # This process still serves the old model (its engine is cached) when the next swipe comes in.
    outcome = services.record_swipe(profile, photos["beta"][0].pk, False, old)
    assert outcome.counted and outcome.version == new
    profile.refresh_from_db()
    assert profile.scores_model_id == new.pk and profile.swipe_count == 2
    assert Swipe.objects.filter(profile=profile).count() == 2
