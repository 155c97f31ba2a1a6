import tempfile
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cities.ingest.folder import import_folder
from cities.ingest.providers.openverse import openverse_unavailable
from cities.ingest.providers.wikimedia import commons_unavailable
from cities.ingest.scrape import build_request, scrape
from cities.models import Photo
from cities.postcards import DEMO_STYLES, draw_postcard
from cities.services import seed_cities

# Tried in this order by --real-photos: (provider, name for people, why it cannot be used now or None).
REAL_PHOTO_SOURCES = (
    ("wikimedia", "Wikimedia Commons", commons_unavailable),
    ("openverse", "Openverse", openverse_unavailable),
)


class Command(BaseCommand):
    help = (
        "Load the catalogue and a demo photo set for about 12 cities: synthetic postcards drawn here (no "
        "network), or with --real-photos, freely licensed photos from Wikimedia Commons or else Openverse."
    )

    def add_arguments(self, parser):
        parser.add_argument("--per-city", type=int, default=16)
        parser.add_argument(
            "--real-photos",
            choices=["no", "auto", "yes"],
            default="no",
            help="auto: scrape Commons, else Openverse, else draw postcards; yes: scrape one of them or fail.",
        )

    def handle(self, *args, per_city: int, real_photos: str, **options):
        seed_cities()
        if real_photos != "no" and self.load_real_photos(per_city, required=real_photos == "yes"):
            return
        if Photo.objects.filter(source="synthetic").exists():
            self.stdout.write("Demo photos already present; nothing to draw.")
            return
        with tempfile.TemporaryDirectory() as tmp:
            for slug_index, (slug, style) in enumerate(DEMO_STYLES.items()):
                folder = Path(tmp) / slug
                folder.mkdir()
                for i in range(per_city):
                    draw_postcard(style, seed=slug_index * 1000 + i).save(
                        folder / f"{slug}-{i:02d}.jpg", quality=90
                    )
            report = import_folder(Path(tmp), source="synthetic", author="City Vibes", licence="CC0")
        self.stdout.write(
            self.style.SUCCESS(f"Synthetic postcards for {len(DEMO_STYLES)} cities: {report.summary()}.")
        )

    def load_real_photos(self, per_city: int, *, required: bool) -> bool:
        """Scrape the demo cities from Commons, else from Openverse (topping up an earlier run). False: use
        the postcards."""
        reasons = []
        for provider, label, unavailable in REAL_PHOTO_SOURCES:
            why_not = unavailable()
            if why_not:
                self.stdout.write(f"{label} cannot be used ({why_not}).")
                reasons.append(f"{label}: {why_not}")
                continue
            self.stdout.write(f"{label} is reachable: scraping {per_city} photos for each demo city…")
            if self.scrape_demo_cities(provider, per_city):
                return True
            self.stdout.write(f"No photo from {label} could be stored.")
            reasons.append(f"{label}: no photo could be stored")
        if required:
            raise CommandError(f"No source of real photos worked. {'; '.join(reasons)}")
        self.stdout.write("Using the synthetic postcards instead.")
        return False

    def scrape_demo_cities(self, provider: str, per_city: int) -> bool:
        request = build_request(city_slugs=list(DEMO_STYLES), provider=provider, per_city=per_city)
        last_line = [0.0]

        def progress(done, total, message=""):
            if done >= total or time.monotonic() - last_line[0] > 2:
                last_line[0] = time.monotonic()
                self.stdout.write(f"  [{done}/{total}] {message}")

        report = scrape(request, progress=progress)
        self.stdout.write(f"Real photos: {report.summary()}.")
        return Photo.objects.filter(source=provider, city__slug__in=DEMO_STYLES).exists()
