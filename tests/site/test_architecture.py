"""The house rules that a reviewer would otherwise have to check by eye: dependencies between the apps point
one way (jobs <- cities <- mlworker <- swipes), lazy imports included, and no app file grows past ~400 lines."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # tests/<app>/this file
APPS = ["jobs", "cities", "mlworker", "swipes"]
# Each app may import the apps before it in this order, never one after it.
ALLOWED = {app: set(APPS[:i]) for i, app in enumerate(APPS)}
MAX_LINES = 420


def app_sources(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def imported_apps(path: Path) -> set[tuple[str, int]]:
    """(app, line) for every import of one of our apps in the file, at any depth (functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in APPS:
                found.add((top, node.lineno))
    return found


@pytest.mark.parametrize("app", APPS)
def test_dependencies_point_one_way(app):
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {other}"
        for path in app_sources(app)
        for other, line in sorted(imported_apps(path))
        if other != app and other not in ALLOWED[app]
    ]
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_lazy_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f():\n    from swipes.services import rescore_all_profiles\n    import mlworker.ml\n"
    )
    assert imported_apps(sample) == {("swipes", 2), ("mlworker", 3)}


@pytest.mark.parametrize("app", APPS)
def test_no_app_file_is_over_about_400_lines(app):
    long = [
        f"{path.relative_to(ROOT)}: {n} lines"
        for path in app_sources(app)
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    ]
    assert not long, "\n".join(long)
