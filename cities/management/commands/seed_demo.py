import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand

from cities.importing import import_folder
from cities.models import Photo
from cities.postcards import DEMO_STYLES, draw_postcard
from cities.services import seed_cities


class Command(BaseCommand):
    help = "Load the catalogue and draw a synthetic postcard set for about 12 cities (no network needed)."

    def add_arguments(self, parser):
        parser.add_argument("--per-city", type=int, default=16)

    def handle(self, *args, per_city: int, **options):
        seed_cities()
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
