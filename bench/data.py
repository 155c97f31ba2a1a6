"""Build (or reuse) the benchmark photo set fast, straight through the ORM.

    python -m bench.data [--photos 5000] [--cities 266] [--cnn]

P photos spread round-robin over the first N catalogue cities. Every row points at ONE small shared JPEG
(saved once under MEDIA_ROOT): the swipe card only links to the image, so the benchmark needs rows, not
pixels. Each row gets a unique sha256 (of its index and the city count) and a random queue_key, as real
photos do. The label-only model then gives every photo its vector (mlworker.services.sync_label_only_model).

With --cnn the photos are spread unevenly over the cities instead, and a synthetic CNN-like version
(bench.cnn_data: probability vectors and 1,280-d embeddings clustered by city) becomes the active model;
then its swipe catalogue is derived and stored, as the ml worker's derive job would.

Idempotent: photos already there are kept, so a second run only checks. Changing --cities rebuilds the set.
"""

import argparse
import hashlib
import io
import time

import numpy as np

from bench import setup_django
from bench.cnn_data import city_counts, install

SHARED_IMAGE = "bench/shared.jpg"
SOURCE = "bench"
BATCH = 1000


def _shared_jpeg() -> tuple[bytes, int, int]:
    from PIL import Image, ImageDraw

    width, height = 320, 240
    image = Image.new("RGB", (width, height), (70, 110, 160))
    ImageDraw.Draw(image).rectangle((0, 150, width, height), fill=(60, 60, 70))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue(), width, height


def _sha(n_cities: int, index: int, cnn: bool = False) -> str:
    kind = "cnn:" if cnn else ""
    return hashlib.sha256(f"city-vibes-bench:{kind}{n_cities}:{index}".encode()).hexdigest()


def build(photos: int = 5000, cities: int = 266, cnn: bool = False, log=print) -> dict:
    """Make the bench set exist; returns what it found or made, with the time each step took."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.db import connection, transaction

    from cities.models import City, Photo, new_queue_key
    from cities.services import seed_cities
    from mlworker.models import ModelVersion, PhotoEmbedding, PhotoPrediction
    from mlworker.services import sync_label_only_model
    from swipes.models import Swipe

    timings = {}
    started = time.perf_counter()
    seed_cities()
    city_ids = list(City.objects.order_by("id").values_list("id", flat=True)[:cities])
    if len(city_ids) < cities:
        raise SystemExit(f"the catalogue has only {len(city_ids)} cities; asked for {cities}")
    timings["seed_cities"] = time.perf_counter() - started

    data, width, height = _shared_jpeg()
    if not default_storage.exists(SHARED_IMAGE):
        saved = default_storage.save(SHARED_IMAGE, ContentFile(data))
        assert saved == SHARED_IMAGE, saved

    started = time.perf_counter()
    wanted = {_sha(cities, i, cnn): i for i in range(photos)}
    if cnn:  # uneven counts, in a shuffled order so that ids do not follow the cities
        rng = np.random.default_rng(0)
        city_of = rng.permutation(np.repeat(np.arange(cities), city_counts(photos, cities, rng)))
    else:
        city_of = np.arange(photos) % cities
    with transaction.atomic():
        stale = Photo.objects.filter(source=SOURCE).exclude(sha256__in=list(wanted))
        removed = stale.count()
        if removed:
            # Benchmark swipes on them (an earlier bench run's profiles) would protect them: they go first.
            Swipe.objects.filter(photo__in=stale).delete()
            stale.delete()
        have = set(Photo.objects.filter(source=SOURCE).values_list("sha256", flat=True))
        rows = [
            Photo(
                city_id=city_ids[city_of[i]],
                image=SHARED_IMAGE,
                width=width,
                height=height,
                sha256=sha,
                queue_key=new_queue_key(),
                source=SOURCE,
                author="City Vibes benchmark",
                licence="CC0",
            )
            for sha, i in wanted.items()
            if sha not in have
        ]
        Photo.objects.bulk_create(rows, batch_size=BATCH)
    timings["photos"] = time.perf_counter() - started

    started = time.perf_counter()
    if cnn:
        from swipes.catalogue_store import derive_and_store

        by_sha = dict(Photo.objects.filter(source=SOURCE).values_list("sha256", "id"))
        photo_ids = [by_sha[sha] for sha in wanted]
        labels = [int(city_of[i]) for i in wanted.values()]
        version = install(photo_ids, np.asarray(labels), city_ids)
        timings["cnn_vectors"] = time.perf_counter() - started
        started = time.perf_counter()
        derive_and_store(version)
        timings["derive"] = time.perf_counter() - started
    else:
        version = sync_label_only_model()
        timings["sync_label_only_model"] = time.perf_counter() - started

    # Fresh bulk rows have no planner statistics until autovacuum gets to them: without this, Postgres
    # guesses "1 row" and picks nested loops that cost 50 ms instead of 0.3 ms, which a live site never sees.
    started = time.perf_counter()
    if connection.vendor == "postgresql" and not connection.in_atomic_block:  # (tests build inside one)
        with connection.cursor() as cursor:
            for model in (City, Photo, PhotoPrediction, PhotoEmbedding):
                cursor.execute(f'VACUUM ANALYZE "{model._meta.db_table}"')
    timings["vacuum_analyze"] = time.perf_counter() - started

    others = Photo.objects.exclude(source=SOURCE).count()
    if others:
        log(f"note: the database also holds {others} photos that are not the bench set")
    summary = {
        "photos": Photo.objects.filter(source=SOURCE).count(),
        "created": len(rows),
        "removed": removed,
        "cities": len(set(Photo.objects.filter(source=SOURCE).values_list("city_id", flat=True))),
        "model": str(version),
        "vectors": PhotoPrediction.objects.filter(model_version=version).count(),
        "label_only_versions": ModelVersion.objects.label_only().count(),
        "timings": timings,
    }
    return summary


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=5000)
    parser.add_argument("--cities", type=int, default=266)
    parser.add_argument("--cnn", action="store_true", help="a synthetic CNN with 1,280-d embeddings")
    args = parser.parse_args(argv)
    setup_django()
    summary = build(args.photos, args.cities, cnn=args.cnn)
    t = summary.pop("timings")
    print(
        f"bench data: {summary['photos']} photos over {summary['cities']} cities "
        f"({summary['created']} created, {summary['removed']} removed), {summary['vectors']} vectors "
        f"under {summary['model']}"
    )
    print("  " + ", ".join(f"{step} {seconds:.2f} s" for step, seconds in t.items()))


if __name__ == "__main__":
    main()
