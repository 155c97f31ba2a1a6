from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cities.ingest.folder import import_folder


class Command(BaseCommand):
    help = "Import photos from PATH/<city-slug>/*.jpg|jpeg|png|webp (validated, de-duplicated by sha256)."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--source", default="import", help="Recorded on each photo (e.g. import, synthetic)."
        )
        parser.add_argument("--author", default="")
        parser.add_argument("--licence", default="")

    def handle(self, *args, path: Path, source: str, author: str, licence: str, **options):
        if not path.is_dir():
            raise CommandError(f"{path} is not a folder of <city-slug>/ sub-folders")
        report = import_folder(path, source=source, author=author, licence=licence)
        for rejected in report.rejected:
            self.stderr.write(f"rejected {rejected.name}: {rejected.reason}")
        for error in report.errors:
            self.stderr.write(f"failed {error.name}: {error.reason}")
        self.stdout.write(self.style.SUCCESS(f"Photos: {report.summary()}."))
