"""The derived catalogue as a stored artifact: round trip, the same engine as one built from scratch,
new photos joining without a rebuild (stored states replay bit for bit), and a stale engine answering
while the next one loads."""

import threading
import time

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench import data as bench_data
from bench.cnn_data import add_vectors
from cities.models import Photo, new_queue_key
from jobs.services import start_job
from mlworker.models import ModelVersion
from mlworker.selectors import load_catalogue
from swipes import catalogue_store, engine
from swipes.engine import engine_for, forget_engine, photo_set
from swipes.recommender.derivation import derive
from tests.helpers import run_queued_jobs

LOG = [(0, True), (3, False), (7, True), (11, True), (20, False), (42, True)]


@pytest.fixture
def cnn(db, settings):
    settings.VIBES_SCORER, settings.VIBES_POLICY = "city_and_look", "adaptive"
    bench_data.build(photos=240, cities=12, cnn=True, log=lambda *_: None)
    forget_engine()
    return ModelVersion.objects.get(is_active=True)


def add_photos(version, count, seed=1):
    """`count` new photos of the first cities, with vectors and embeddings under `version`."""
    rows = Photo.objects.bulk_create(
        Photo(
            city_id=version.city_ids[i % 3],
            image=bench_data.SHARED_IMAGE,
            sha256=f"{seed:04d}{i:060d}",
            queue_key=new_queue_key(),
            source="test",
        )
        for i in range(count)
    )
    add_vectors(version, [p.pk for p in rows], np.arange(count) % 3, seed=seed)
    return [p.pk for p in rows]


def log_of(engine_, pairs=LOG):
    return [(int(engine_.photo_ids[i]), liked) for i, liked in pairs]


def test_the_stored_catalogue_round_trips_and_matches_a_derivation_from_scratch(cnn):
    stored = catalogue_store.load(cnn.pk, catalogue_store.newest_revision(cnn.pk))
    catalogue = load_catalogue(cnn)
    fresh = derive(photo_set(catalogue))
    assert np.array_equal(stored.photo_ids, catalogue.photo_ids)
    for name in ("features", "membership", "centres", "mean", "axes"):
        assert np.array_equal(getattr(stored.photos.derivation, name), getattr(fresh, name)), name
    assert isinstance(stored.photos.derivation.membership, np.memmap)  # mapped, not read into memory
    assert stored.photos.digest == photo_set(catalogue).digest
    assert np.array_equal(stored.photos.probabilities, catalogue.probabilities)


def test_the_engine_from_the_artifact_scores_and_chooses_as_one_built_from_scratch(cnn, settings):
    from_artifact = engine_for(cnn)
    assert from_artifact.stamp[0] == "revision"
    catalogue = load_catalogue(cnn)
    scorer, policy = engine.derive(photo_set(catalogue))  # the old way: everything derived in process
    state = from_artifact.replay(log_of(from_artifact))
    assert from_artifact.scorer.fingerprint == scorer.fingerprint
    assert np.array_equal(state, scorer.replay([i for i, _ in LOG], [liked for _, liked in LOG]))
    assert np.array_equal(from_artifact.scorer.city_scores(state), scorer.city_scores(state))
    seen = np.zeros(catalogue.n_photos, dtype=bool)
    seen[[i for i, _ in LOG]] = True
    for seed in range(5):
        assert from_artifact.policy.choose(
            from_artifact.scorer, state, seen, np.random.default_rng(seed)
        ) == policy.choose(scorer, state, seen, np.random.default_rng(seed))


def test_new_photos_join_the_clusters_and_stored_states_replay_bit_for_bit(cnn):
    before = engine_for(cnn)
    stored = before.scorer.state_to_bytes(before.replay(log_of(before)))
    new_ids = add_photos(cnn, 30)
    start_job("derive", params={"version": cnn.pk})
    (job,) = run_queued_jobs("derive")
    assert job.status == job.Status.SUCCEEDED and job.result["joined"] == 30 and not job.result["full"]
    after = engine.refresh_engine(cnn)  # (this process would reload it within FRESHNESS_SECONDS)
    assert after.stamp[1] == before.stamp[1] + 1 and all(p in after.index_of for p in new_ids)
    assert np.array_equal(after.photo_ids[: before.photo_ids.size], before.photo_ids)
    state = after.load_state(stored)  # not stale: the same fingerprint
    assert np.array_equal(state, after.replay(log_of(before)))
    grown = after.replay(log_of(before) + [(new_ids[0], True)])
    assert np.array_equal(grown, after.scorer.update(state, after.index_of[new_ids[0]], True))


def test_a_join_reads_only_the_new_photos_vectors_and_equals_what_the_whole_catalogue_gives(cnn):
    new_ids = add_photos(cnn, 12, seed=3)
    with CaptureQueriesContext(connection) as queries:
        result = catalogue_store.derive_and_store(cnn)
    assert result["joined"] == 12 and not result["full"]
    # Probability vectors and embeddings are read for the 12 joining photos only: 240 photos were known.
    reads = [q["sql"] for q in queries if '"probabilities"' in q["sql"] or '"vector"' in q["sql"]]
    assert reads and all(str(new_ids[0]) in sql and str(new_ids[-1]) in sql for sql in reads)
    joined = catalogue_store.load(cnn.pk, result["revision"])
    whole = load_catalogue(cnn)  # the whole catalogue, read afresh: the same rows, in the same order
    assert np.array_equal(joined.photo_ids, whole.photo_ids)
    assert np.array_equal(joined.photos.probabilities, whole.probabilities)
    assert np.array_equal(joined.photos.labels, whole.labels)
    assert np.array_equal(joined.photos.queue_keys, whole.queue_keys)


def test_a_catalogue_that_outgrew_its_fit_is_derived_afresh_and_profiles_replay_in_a_job(cnn):
    add_photos(cnn, 250)
    start_job("derive", params={"version": cnn.pk})
    jobs = run_queued_jobs()
    assert [j.kind for j in jobs] == ["derive", "rescore"]
    assert "grew from 240 to 490" in jobs[0].result["full"]


def test_a_photo_filed_under_another_city_is_derived_afresh_and_profiles_replay_in_a_job(cnn):
    stored = catalogue_store.load(cnn.pk, catalogue_store.newest_revision(cnn.pk))
    photo_id = int(stored.photo_ids[5])
    other_city = next(c for c in cnn.city_ids if cnn.city_ids.index(c) != stored.photos.labels[5])
    Photo.objects.filter(pk=photo_id).update(city_id=other_city)  # an admin re-files it
    add_photos(cnn, 4)
    start_job("derive", params={"version": cnn.pk})
    jobs = run_queued_jobs()
    assert [j.kind for j in jobs] == ["derive", "rescore"]
    assert "1 photo(s) were filed under another city" in jobs[0].result["full"]
    derived = catalogue_store.load(cnn.pk, jobs[0].result["revision"])
    row = int(np.flatnonzero(derived.photo_ids == photo_id)[0])
    assert derived.photos.labels[row] == cnn.city_ids.index(other_city)


@pytest.mark.django_db(transaction=True)
def test_a_request_with_a_stale_engine_answers_from_the_old_one_while_the_next_loads(settings, monkeypatch):
    settings.VIBES_ENGINE_RELOAD = "background"
    bench_data.build(photos=240, cities=12, cnn=True, log=lambda *_: None)
    version = ModelVersion.objects.get(is_active=True)
    forget_engine()
    old = engine_for(version)
    add_photos(version, 10)
    catalogue_store.derive_and_store(version)
    loading = threading.Event()
    build = engine._build

    def slow_build(*args):
        loading.set()
        time.sleep(0.5)  # the request below must not wait for this
        return build(*args)

    monkeypatch.setattr(engine, "_build", slow_build)
    monkeypatch.setattr(engine, "FRESHNESS_SECONDS", 0.0)
    started = time.monotonic()
    assert engine_for(version) is old  # answered at once by the current engine
    assert time.monotonic() - started < 0.4
    assert loading.wait(5)
    for _ in range(100):
        if not engine._current["refreshing"]:
            break
        time.sleep(0.05)
    new = engine_for(version)
    assert new is not old and new.photo_ids.size == old.photo_ids.size + 10


def test_only_the_newest_revisions_are_kept(cnn):
    for _ in range(catalogue_store.KEEP_REVISIONS + 1):
        catalogue_store.derive_and_store(cnn)
    kept = catalogue_store.revisions(cnn.pk)
    assert kept == list(range(3, 3 + catalogue_store.KEEP_REVISIONS))
    assert engine.refresh_engine(cnn).stamp[1] == kept[-1]
