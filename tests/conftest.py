import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.cache import cache

from cities.models import City
from mlworker.services import sync_label_only_model
from swipes.engine import forget_engine
from tests.helpers import ingest_photo, jpeg_bytes  # noqa: F401 (used by fixtures)

ROOT = Path(__file__).resolve().parent.parent
WORKER_MEDIA_ROOT = Path(tempfile.gettempdir()) / f"cityvibes-test-{os.getpid()}" / "media"
WORKER_MODELS_ROOT = WORKER_MEDIA_ROOT.parent / "models"  # beside the media, never inside it


def models_storage(location: Path) -> dict:
    return {"BACKEND": "vibes_site.storages.PrivateFileSystemStorage", "OPTIONS": {"location": location}}


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path_factory):
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")
    # Trained artifacts go to a fresh private folder too, not the checkout's var/models.
    settings.STORAGES = {**settings.STORAGES, "models": models_storage(tmp_path_factory.mktemp("models"))}


@pytest.fixture(autouse=True)
def _empty_cache():
    """Cached reads (city similarity, the recommendation engine) are keyed by database ids, which a
    rolled-back test may reuse."""
    cache.clear()
    forget_engine()
    yield
    forget_engine()


@pytest.fixture
def original_scoring(settings):
    """The first write-up's arithmetic (add/subtract) and its global queue, for tests of exactly that."""
    settings.VIBES_SCORER = "original"
    settings.VIBES_POLICY = "global_queue"
    forget_engine()
    return settings


@pytest.fixture
def make_city(db):
    def make(slug, name=None, country="Testland"):
        return City.objects.get_or_create(
            slug=slug, defaults={"name": name or slug.title(), "country": country}
        )[0]

    return make


@pytest.fixture
def photo_set(db, make_city):
    """Three cities with four photos each, under the label-only baseline. Returns {slug: [photos]}."""

    def make(slugs=("alpha", "beta", "gamma"), per_city=4):
        photos = {}
        for c, slug in enumerate(slugs):
            city = make_city(slug)
            photos[slug] = [
                ingest_photo(
                    city, f"{slug}-{i}.jpg", jpeg_bytes((40 * c, 100, 200 - 40 * c), seed=c * 100 + i)
                )
                for i in range(per_city)
            ]
        sync_label_only_model()
        return photos

    return make


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real `celery worker` subprocess on the test database, serving private default, ml and classify queues of the
    real Redis broker (so a developer's own worker on the same Redis never steals the tests' jobs)."""
    broker = settings.CELERY_BROKER_URL
    if not broker.startswith("redis://"):
        pytest.fail(
            f"the worker tests need the Redis broker (CELERY_BROKER_URL={broker!r}); run them via make test"
        )
    db = settings.DATABASES["default"]
    suffix = uuid.uuid4().hex[:8]
    queues = {
        "CELERY_TASK_DEFAULT_QUEUE": f"test-default-{suffix}",
        "CELERY_ML_QUEUE": f"test-ml-{suffix}",
        "CELERY_CLASSIFY_QUEUE": f"test-classify-{suffix}",
    }
    env = {
        **os.environ,
        **queues,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": broker,
        "MEDIA_ROOT": str(WORKER_MEDIA_ROOT),
        "MODELS_ROOT": str(WORKER_MODELS_ROOT),
    }
    command = [sys.executable, "-m", "celery", "-A", "vibes_site", "worker", "-Q", ",".join(queues.values()),
               "--concurrency", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
               "--without-heartbeat"]  # fmt: skip
    log_path = WORKER_MEDIA_ROOT.parent / f"worker-{suffix}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "w+")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while " ready." not in log_path.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("celery worker did not become ready:\n" + log_path.read_text())
        time.sleep(0.2)
    previous = {name: getattr(settings, name) for name in queues}
    for name, value in queues.items():
        setattr(settings, name, value)
    yield SimpleNamespace(process=process, log_path=log_path)
    for name, value in previous.items():
        setattr(settings, name, value)
    process.terminate()
    process.wait(timeout=30)
    log.close()


@pytest.fixture
def worker_media(settings, celery_worker_process):
    """Tests that share files with the worker must use the worker's MEDIA_ROOT (and its model storage)."""
    settings.MEDIA_ROOT = WORKER_MEDIA_ROOT
    settings.STORAGES = {**settings.STORAGES, "models": models_storage(WORKER_MODELS_ROOT)}
    return WORKER_MEDIA_ROOT


@pytest.fixture
def staff_client(db):
    from django.contrib.auth import get_user_model
    from django.test import Client

    admin = get_user_model().objects.create_superuser("admin", password="pw-for-tests-only")
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def fake_dns(monkeypatch):
    """A resolver at the network edge that answers made-up names (see tests/fakeweb.py FakeDNS)."""
    from tests.fakeweb import FakeDNS

    return FakeDNS(monkeypatch)


@pytest.fixture
def fake_web(fake_dns):
    """A local HTTP server standing in for Commons, Openverse and image hosts (see tests/fakeweb.py), under
    their real names: commons.wikimedia.org, upload.wikimedia.org... resolve to it."""
    from tests.fakeweb import FakeWeb

    web = FakeWeb().start()
    fake_dns.point_at_fake_web(web)
    yield web
    web.stop()


# What the tests send as their contact; Wikimedia hosts are refused with the placeholder.
TEST_USER_AGENT = "CityVibesTests/1.0 (https://cityvibes.test/about; scraper-tests@cityvibes.test)"


@pytest.fixture
def scrape_settings(settings, fake_web):
    """Point the providers at the fake web, allow loopback (only for it), and keep every wait short."""
    from tests.fakeweb import COMMONS_HOST, OPENVERSE_HOST

    settings.SCRAPE_ALLOW_LOOPBACK = True
    settings.SCRAPE_USER_AGENT = TEST_USER_AGENT
    settings.WIKIMEDIA_API_URL = fake_web.url("/w/api.php", COMMONS_HOST)
    settings.OPENVERSE_API_URL = fake_web.url("/v1/", OPENVERSE_HOST)
    settings.OPENVERSE_CLIENT_ID = settings.OPENVERSE_CLIENT_SECRET = ""
    settings.OPENVERSE_API_INTERVAL_SECONDS = 0
    settings.SCRAPE_CONNECT_TIMEOUT = 2.0
    settings.SCRAPE_READ_TIMEOUT = 2.0
    settings.SCRAPE_DEADLINE_SECONDS = 20.0
    settings.SCRAPE_RETRIES = 2
    settings.SCRAPE_BACKOFF_SECONDS = 0.01
    settings.SCRAPE_HOST_INTERVAL_SECONDS = 0
    return settings
