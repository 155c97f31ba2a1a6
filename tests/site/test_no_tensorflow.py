"""The web process never imports TensorFlow: it renders every page in a fresh interpreter, then checks."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # tests/<app>/this file

SCRIPT = r"""
import sys
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import get_resolver
from tests.helpers import ingest_photo, jpeg_bytes
from cities.models import City
from mlworker.services import sync_label_only_model
import mlworker.tasks, mlworker.admin, cities.admin, swipes.admin  # everything the web process loads

city = City.objects.create(slug="oslo", name="Oslo")
photo = ingest_photo(city, "a.jpg", jpeg_bytes())
sync_label_only_model()
get_resolver().url_patterns  # import every view module
client = Client()
pages = ["/", "/recommendations/", "/accounts/login/", "/accounts/signup/", "/classify/", "/cities/oslo/",
         "/cities/similarity/"]
assert all(client.get(url).status_code == 200 for url in pages)
assert client.post("/swipe/", {"photo": photo.pk, "liked": "1"}).status_code == 302
assert client.get("/recommendations/").status_code == 200
admin = get_user_model().objects.create_superuser("root", password="x")
client.force_login(admin)
admin_pages = ["/admin/", "/admin/cities/photo/", "/admin/mlworker/modelversion/", "/admin/jobs/job/",
               "/admin/cities/photo/upload/", "/admin/cities/city/", "/admin/mlworker/modelversion/train/"]
for url in admin_pages:
    assert client.get(url).status_code == 200, url
loaded = sorted(name for name in sys.modules if name == "tensorflow" or name.startswith(("tensorflow.", "keras")))
print("LOADED:", loaded)
sys.exit(1 if loaded else 0)
"""


def test_rendering_every_page_does_not_import_tensorflow(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vibes_site.settings.test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'web.sqlite3'}",
        "CELERY_BROKER_URL": "memory://",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "MODELS_ROOT": str(tmp_path / "models"),  # not the checkout's var/models (a bench may have filled it)
    }
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "LOADED: []" in result.stdout
