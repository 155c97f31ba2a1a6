"""The benchmarks import our code inside functions (they set Django up first), so a renamed module or
function breaks `make bench` without failing any import at collection time. This reads every import in
bench/*.py, lazy ones too, and checks that each names something that exists."""

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = ("jobs", "cities", "mlworker", "swipes", "vibes_site", "bench")


def our_imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith(OURS):
            yield node.lineno, node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(OURS):
                    yield node.lineno, alias.name, []


def _has(module, name: str) -> bool:
    """`from package import name` finds an attribute or a submodule (one not imported yet is no attribute)."""
    if hasattr(module, name):
        return True
    try:
        importlib.import_module(f"{module.__name__}.{name}")
    except ModuleNotFoundError:
        return False
    return True


@pytest.mark.parametrize("path", sorted((ROOT / "bench").glob("*.py")), ids=lambda p: p.name)
def test_every_import_in_the_benchmarks_resolves(path):
    missing = []
    for line, module, names in our_imports(path):
        if module.startswith("mlworker.ml"):
            continue  # TensorFlow: the ml tests cover that package; importing it here would cost seconds
        try:
            imported = importlib.import_module(module)
        except ImportError as exc:
            missing.append(f"{path.name}:{line} {module}: {exc}")
            continue
        missing += [f"{path.name}:{line} {module}.{name}" for name in names if not _has(imported, name)]
    assert not missing, "\n".join(missing)
