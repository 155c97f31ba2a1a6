"""swipes.recommender is pure NumPy: no Django, nothing of the app, so the bench and the unit tests use it
as they find it and its maths cannot start reading the database."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # tests/<app>/this file
PACKAGE = ROOT / "swipes" / "recommender"
ALLOWED_TOP_LEVEL = {"numpy", "hashlib", "dataclasses", "functools", "typing", "collections"}


def imported_modules(path: Path) -> set[str]:
    """Every absolute module name an import statement in the file names, at any depth (lazy ones too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


def test_every_module_imports_only_numpy_and_the_standard_library():
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 6  # base, catalogue, scoring, scorers, policies, registry
    for path in modules:
        outside = {name for name in imported_modules(path) if name.split(".")[0] not in ALLOWED_TOP_LEVEL}
        assert not outside, f"{path.name} imports {sorted(outside)}"


def test_the_package_imports_and_scores_with_django_made_unimportable():
    script = """
import importlib.abc, sys

class NoDjango(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "django" or name.startswith("django."):
            raise ImportError("django is blocked in this test")

sys.meta_path.insert(0, NoDjango())
import numpy as np
from swipes.recommender import base, catalogue, embedding_scorers, policies, registry, scorers, scoring

labels = np.repeat(np.arange(3), 4)
photos = catalogue.PhotoSet(np.eye(3, dtype=np.float32)[labels], labels)
for name in registry.SCORERS:
    scorer = registry.make_scorer(name, photos)
    state = scorer.update(scorer.initial_state(), 0, True)
    for policy_name in registry.POLICIES:
        registry.make_policy(policy_name, photos).choose(scorer, state, np.zeros(12, bool), np.random.default_rng(0))
assert not any(m == "django" or m.startswith("django.") for m in sys.modules)
print("pure")
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.strip() == "pure", result.stderr


def test_a_misspelt_scorer_or_policy_setting_fails_the_system_check(settings):
    from swipes.checks import recommender_names

    assert recommender_names(None) == []
    settings.VIBES_SCORER, settings.VIBES_POLICY = "astrology", "horoscope"
    assert [error.id for error in recommender_names(None)] == ["swipes.E001", "swipes.E002"]
