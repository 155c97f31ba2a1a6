"""The benchmarks' server (bench/scale.py): the local settings plus bench.urls, which adds the P1 anchor
view. Never used in production: production.py does not import it and the production URLs lack the view."""

from .local import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
