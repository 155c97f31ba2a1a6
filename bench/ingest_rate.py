"""Photos ingested per second by the scraper, end to end, over real HTTP on loopback.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cityvibes python bench/ingest_rate.py

A local server (tests/fakeweb.py) plays Wikimedia Commons: it answers the search + imageinfo API and serves
200 distinct generated JPEGs of 800x600 (shapes plus noise, ~100 KB each, like a photo). The scrape service then
does everything it does for real: API calls, downloads through the SSRF-guarded client, validation (Pillow
verify + decode), perceptual and sha256 hashing, dedupe, the 1600 px copy and the thumbnail, the database
writes and the baseline vectors. Only the per-host politeness delay is off: it measures Wikimedia's patience,
not our pipeline. The database is its own (cityvibes_bench_ingest on the server of DATABASE_URL; a temporary
SQLite file when DATABASE_URL is not Postgres); media go to a temporary folder.

Prints a markdown table and writes it to bench/results/ingest_rate.md. Target: at least 20 photos/s with 8
parallel downloads.
"""

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from bench import publish, use_own_database  # noqa: E402
from tests.fakeweb import FakeWeb, encode, photo_like  # noqa: E402

PHOTOS = 200
CITIES = 4
CONCURRENCY = (1, 8)
TARGET_PER_SECOND = 20.0
TARGET_CONCURRENCY = 8
BENCH_DB = "cityvibes_bench_ingest"


def photo_jpeg(seed: int) -> bytes:
    """An 800x600 JPEG with shapes (distinct perceptual hashes) and noise (a photo's file size and entropy)."""
    image = photo_like(seed)
    noise = Image.effect_noise(image.size, 48).convert("RGB")
    return encode(Image.blend(image, noise, 0.18), quality=88)


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    web = FakeWeb().start()
    use_own_database(scratch, BENCH_DB)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="vibes_site.settings.local",
        MEDIA_ROOT=str(scratch / "media"),
        WIKIMEDIA_API_URL=web.url("/w/api.php"),
        SCRAPE_ALLOW_LOOPBACK="true",  # the stand-in server is on 127.0.0.1
        # Commons is scraped only by a client that names a contact (the stand-in is not a Wikimedia host, so
        # its two-connection cap does not apply here).
        SCRAPE_USER_AGENT="CityVibesBench/1.0 (https://cityvibes.test/bench; bench@cityvibes.test)",
        SCRAPE_HOST_INTERVAL_SECONDS="0",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from cities.ingest.scrape import build_request, scrape
    from cities.models import City, Photo
    from mlworker.models import ModelVersion

    call_command("migrate", verbosity=0)
    cities = [
        City.objects.update_or_create(slug=f"bench-{i}", defaults={"name": f"Benchville {i}"})[0]
        for i in range(1, CITIES + 1)
    ]
    print(f"Generating {PHOTOS} JPEGs of 800x600…", file=sys.stderr)
    total_bytes = 0
    for n in range(PHOTOS):
        body = photo_jpeg(n)
        total_bytes += len(body)
        web.add_commons_file(f"photo-{n:03d}.jpg", body, topic=cities[n % CITIES].name)

    rows = []
    for concurrency in CONCURRENCY:
        Photo.objects.filter(city__in=cities).delete()
        ModelVersion.objects.all().delete()
        request = build_request(
            city_slugs=[c.slug for c in cities],
            per_city=PHOTOS // CITIES,
            queries=["{city}"],
            concurrency=concurrency,
        )
        started = time.perf_counter()
        report = scrape(request)
        seconds = time.perf_counter() - started
        stored = len(report.stored)
        if stored != PHOTOS or report.problems:
            print(f"unexpected: {report.summary()} {[str(p) for p in report.problems[:3]]}", file=sys.stderr)
        rate = stored / seconds
        verdict = (
            ("PASS" if rate >= TARGET_PER_SECOND else "MISS") if concurrency == TARGET_CONCURRENCY else "—"
        )
        rows.append((stored, seconds, rate, concurrency, verdict))
    web.stop()
    shutil.rmtree(scratch, ignore_errors=True)  # the stored photos and thumbnails

    table = [
        f"Ingest rate: generated 800x600 JPEGs (avg {total_bytes / PHOTOS / 1024:.0f} KB) scraped from a local "
        f"Commons stand-in over HTTP on loopback; {CITIES} cities; {os.cpu_count()} CPUs; "
        f"database {connection.vendor}.",
        "",
        "| photos | seconds | photos/s | concurrency | target ≥ 20/s at 8 |",
        "|---:|---:|---:|---:|:---:|",
        *(f"| {p} | {s:.2f} | {r:.1f} | {c} | {v} |" for p, s, r, c, v in rows),
    ]
    publish("ingest_rate", "\n".join(table) + "\n")
    return 0  # a MISS is reported in the table, not as a failure of the bench run


if __name__ == "__main__":
    sys.exit(main())
