"""The site's URLs plus the benchmark-only anchor view (vibes_site.settings.bench; never in production)."""

from django.urls import path

from bench.views import anchor_write
from vibes_site.urls import urlpatterns as site_urlpatterns

urlpatterns = [path("bench/write/", anchor_write, name="bench-write"), *site_urlpatterns]
