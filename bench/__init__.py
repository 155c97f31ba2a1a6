"""Benchmarks for City Vibes. Each entry point prints a markdown table and writes it to bench/results/.

They run against a real stack (Postgres, gunicorn) configured through the environment; see scripts/bench.sh.
Timings are never asserted in unit tests: a benchmark reports, a person judges.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vibes_site.settings")
    import django

    django.setup()
