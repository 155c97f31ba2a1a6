"""The settings modules, each imported in a fresh interpreter with an environment the test controls.

Importing settings must have no side effects (no folder made, no environment variable set), and production
must refuse to start without its secret.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # tests/<app>/this file
MODULES = ["base", "local", "test", "production"]


def clean_env(**extra) -> dict:
    """Only what an interpreter needs, plus `extra`: nothing from the developer's or pytest's settings."""
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "SYSTEMROOT") if name in os.environ}
    return {**keep, "PYTHONDONTWRITEBYTECODE": "1", **extra}


def run_python(code: str, env: dict, cwd: Path = ROOT, args=()) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def production_env(**extra) -> dict:
    defaults = {"DATABASE_URL": "sqlite://:memory:", "CELERY_BROKER_URL": "memory://"}
    return clean_env(DJANGO_SETTINGS_MODULE="vibes_site.settings.production", **(defaults | extra))


def test_production_without_a_secret_key_refuses_to_start_and_says_why():
    result = run_python("import django; django.setup()", production_env())
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be set in the environment" in result.stderr


def test_production_without_a_database_url_refuses_to_start():
    env = production_env(SECRET_KEY="x" * 50)
    del env["DATABASE_URL"]
    result = run_python("import django; django.setup()", env)
    assert result.returncode != 0 and "DATABASE_URL must be set" in result.stderr


PRODUCTION_REQUESTS = """
import json
import django
django.setup()
from django.conf import settings
from django.test import Client

client = Client()
plain = client.get("/accounts/login/")
secure = client.get("/accounts/login/", secure=True)
probe = client.get("/healthz/")
live = client.get("/livez/")
print(json.dumps({
    "debug": settings.DEBUG,
    "plain": [plain.status_code, plain.get("Location", "")],
    "secure": secure.status_code,
    "csrf_cookie_secure": bool(secure.cookies["csrftoken"]["secure"]),
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "hsts": secure.get("Strict-Transport-Security", ""),
    "nosniff": secure.get("X-Content-Type-Options", ""),
    "probe": probe.status_code,
    "live": live.status_code,
    "behind_proxy": client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https").status_code,
}))
"""


def test_production_with_a_secret_key_serves_only_https_with_secure_cookies():
    result = run_python(PRODUCTION_REQUESTS, production_env(SECRET_KEY="s" * 50))
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["debug"] is False
    assert seen["plain"] == [301, "https://testserver/accounts/login/"]
    assert seen["secure"] == 200 and seen["behind_proxy"] == 200  # X-Forwarded-Proto from the TLS proxy
    assert seen["csrf_cookie_secure"] and seen["session_cookie_secure"]
    assert seen["hsts"] == "max-age=60; includeSubDomains"
    assert seen["nosniff"] == "nosniff"
    assert seen["probe"] == 200 and seen["live"] == 200  # health probes over plain HTTP are not redirected


def test_production_hsts_and_redirect_follow_the_environment():
    env = production_env(
        SECRET_KEY="s" * 50,
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="false",
        SECURE_HSTS_PRELOAD="true",
        SECURE_SSL_REDIRECT="false",
    )
    result = run_python(PRODUCTION_REQUESTS, env)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["plain"][0] == 200
    assert seen["hsts"] == "max-age=31536000; preload"


IMPORT_EVERY_MODULE = """
import importlib, json, os, sys
before = dict(os.environ)
seen = {}
for name in sys.argv[1:]:
    module = importlib.import_module(f"vibes_site.settings.{name}")
    seen[name] = {"debug": module.DEBUG, "var_dir": str(module.VAR_DIR), "broker": module.CELERY_BROKER_URL}
changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
print(json.dumps({"changed": changed, "seen": seen}))
"""


def listing(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


def test_importing_any_settings_module_creates_no_folder_and_sets_no_variable(tmp_path):
    # A copy of the project package in an empty folder: every default path (var/, media/, the broker's
    # folders, the model cache) then points inside it, and a .env there is read.
    project = tmp_path / "project"
    shutil.copytree(ROOT / "vibes_site", project / "vibes_site", ignore=shutil.ignore_patterns("__pycache__"))
    (project / ".env").write_text("LOG_LEVEL=WARNING\nVIBES_ONLY_IN_DOTENV=1\n")
    before = listing(project)
    env = clean_env(
        PYTHONPATH=str(project),
        DJANGO_SETTINGS_MODULE="vibes_site.settings.production",
        SECRET_KEY="s" * 50,
        DATABASE_URL=f"sqlite:///{project / 'db.sqlite3'}",
        CELERY_BROKER_URL="filesystem://",
    )
    result = run_python(IMPORT_EVERY_MODULE, env, cwd=project, args=MODULES)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["changed"] == []  # not even the variables .env names
    assert listing(project) == before
    assert set(report["seen"]) == set(MODULES)
    assert report["seen"]["local"]["debug"] is True and report["seen"]["production"]["debug"] is False
    assert report["seen"]["base"]["var_dir"] == str(project / "var")  # the defaults point inside the copy


SEND_A_TASK = """
import django
django.setup()
from vibes_site.celery import app
app.send_task("settings_test.nothing", queue="default")
"""

START_A_WORKER = """
import django
django.setup()
from celery import signals
from vibes_site.celery import app
signals.worker_init.send(sender=None)
"""


def test_the_filesystem_broker_makes_its_folders_when_the_first_message_is_sent(tmp_path):
    var = tmp_path / "var"
    env = clean_env(DJANGO_SETTINGS_MODULE="vibes_site.settings.local", VAR_DIR=str(var))
    result = run_python(SEND_A_TASK, env)
    assert result.returncode == 0, result.stderr
    assert len(list((var / "broker" / "queue").iterdir())) == 1  # the message, written where a worker reads
    assert (var / "broker" / "control").is_dir()


def test_the_filesystem_broker_makes_its_folders_when_a_worker_starts_first(tmp_path):
    var = tmp_path / "var"
    env = clean_env(DJANGO_SETTINGS_MODULE="vibes_site.settings.local", VAR_DIR=str(var))
    result = run_python(START_A_WORKER, env)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (var / "broker").iterdir()) == ["control", "processed", "queue"]


PRODUCTION_SESSIONS = """
import json
import django
django.setup()
from django.conf import settings
cache = settings.CACHES["default"]
print(json.dumps({
    "engine": settings.SESSION_ENGINE.rsplit(".", 1)[-1],
    "cache": cache["BACKEND"].rsplit(".", 1)[-1],
    "location": cache.get("LOCATION"),
    "cookie": [settings.SESSION_COOKIE_SECURE, settings.SESSION_COOKIE_HTTPONLY, settings.CSRF_COOKIE_SECURE],
}))
"""


@pytest.mark.parametrize(
    ("extra", "engine", "location"),
    [
        ({"CELERY_BROKER_URL": "redis://redis:6379/0"}, "cached_db", "redis://redis:6379/0"),
        (
            {"CELERY_BROKER_URL": "redis://redis:6379/0", "REDIS_URL": "redis://r:6379/2"},
            "cached_db",
            "redis://r:6379/2",
        ),
        ({"REDIS_URL": "redis://r:6379/2", "CACHE_URL": "redis://c:6379/3"}, "cached_db", "redis://c:6379/3"),
        ({}, "db", None),  # a broker that is not Redis (memory://): no shared cache, the database alone
    ],
)
def test_production_sessions_live_in_the_database_behind_the_redis_cache(extra, engine, location):
    result = run_python(PRODUCTION_SESSIONS, production_env(SECRET_KEY="s" * 50, **extra))
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["engine"] == engine and seen["location"] == location
    assert seen["cache"] == ("RedisCache" if location else "LocMemCache")
    assert seen["cookie"] == [True, True, True]  # Secure and HttpOnly session cookie, Secure CSRF cookie


def test_compose_refuses_to_start_without_a_secret_key():
    """`${SECRET_KEY:?…}` makes `docker compose up` stop with that message when SECRET_KEY is unset or empty;
    a `${SECRET_KEY:-default}` would serve with a published key."""
    compose = (ROOT / "docker-compose.yml").read_text()
    uses = re.findall(r"\$\{SECRET_KEY([^}]*)\}", compose)
    assert uses and all(use.startswith(":?") for use in uses), uses
    assert re.search(r"^\s+SECRET_KEY: \$\{SECRET_KEY:\?", compose, re.MULTILINE)
