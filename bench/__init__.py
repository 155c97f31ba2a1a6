"""Benchmarks for City Vibes. Each entry point prints a markdown table and writes it to bench/results/.

They run against a real stack (Postgres, gunicorn) configured through the environment; see scripts/bench.sh.
Timings are never asserted in unit tests: a benchmark reports, a person judges.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"


def publish(name: str, table: str) -> Path:
    """Print a benchmark's table and keep it as bench/results/<name>.md (git-ignored)."""
    print(table)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.md"
    path.write_text(table, encoding="utf-8")
    print(f"(written to {path.relative_to(ROOT)})")
    return path


def use_own_database(scratch: Path, name: str) -> None:
    """Point DATABASE_URL at a benchmark's own Postgres database `name`, creating it if need be (or at a
    SQLite file in `scratch` when no Postgres is configured), so a run never touches another's data."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(os.environ.get("DATABASE_URL", ""))
    if not parts.scheme.startswith("postgres"):
        os.environ["DATABASE_URL"] = f"sqlite:///{scratch / 'bench.sqlite3'}"
        return
    import psycopg2

    admin = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cursor.fetchone():
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vibes_site.settings.local")
    import django

    django.setup()
