"""The image and the compose stack: what goes in, what is passed through, and the TensorFlow that installs."""

import json
import re
import subprocess

from tests.site.test_settings import ROOT, production_env, run_python

DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = (ROOT / "docker-compose.yml").read_text()


def test_env_files_never_go_into_the_image():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".env.*" in ignored


def test_the_image_installs_tensorflow_of_the_pinned_version_for_arm64_and_x86_64():
    """tensorflow-cpu has no aarch64 wheel; `tensorflow` of the same version has both. The Dockerfile swaps the
    name with sed; run that very command on requirements.txt and check what pip would be given."""
    command = re.search(r"RUN (sed -E '[^']+' requirements\.txt) > /tmp/requirements-image\.txt", DOCKERFILE)
    assert command, "the Dockerfile no longer swaps tensorflow-cpu"
    swapped = subprocess.run(
        command[1], shell=True, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    pinned = re.search(r"^tensorflow-cpu==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert pinned, "requirements.txt pins tensorflow-cpu for `make install`"
    lines = [line for line in swapped.splitlines() if line.startswith("tensorflow")]
    assert lines == [f"tensorflow=={pinned[1]}"]


def test_compose_passes_the_scrape_and_openverse_settings_through():
    for name in ("SCRAPE_USER_AGENT", "OPENVERSE_API_URL", "OPENVERSE_CLIENT_ID", "OPENVERSE_CLIENT_SECRET"):
        assert re.search(rf"^\s+{name}: \$\{{{name}:-\}}$", COMPOSE, re.MULTILINE), name


def test_unset_settings_that_compose_passes_as_empty_fall_back_to_their_defaults():
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps([settings.SCRAPE_USER_AGENT, settings.OPENVERSE_API_URL, settings.WIKIMEDIA_API_URL]))"
    )
    env = production_env(
        SECRET_KEY="s" * 50, SCRAPE_USER_AGENT="", OPENVERSE_API_URL="", OPENVERSE_CLIENT_ID=""
    )
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    user_agent, openverse, commons = json.loads(result.stdout.strip().splitlines()[-1])
    assert "example.org" in user_agent  # the placeholder, which Commons scraping then refuses
    assert (
        openverse == "https://api.openverse.org/v1/" and commons == "https://commons.wikimedia.org/w/api.php"
    )


def test_the_workers_keep_keras_weights_on_a_volume():
    assert "ENV KERAS_HOME=/app/var/keras" in DOCKERFILE
    shared = COMPOSE[COMPOSE.index("x-app: &app") : COMPOSE.index("\nservices:\n")]
    assert "- keras:/app/var/keras" in shared  # every app service (the ml and classify workers load Keras)
    assert "volumes:" not in COMPOSE[COMPOSE.index("\n  ml-worker:\n") : COMPOSE.index("\n  postgres:\n")]
    assert re.search(r"^volumes:\n(  [\w-]+:\n)*  keras:\n", COMPOSE, re.MULTILINE)
