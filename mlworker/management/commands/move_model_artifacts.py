"""Move trained artifacts that older versions stored in the public media into the private model storage."""

from pathlib import Path

from django.core.management.base import BaseCommand

from mlworker.artifacts import move_out_of_media
from mlworker.models import ModelVersion


class Command(BaseCommand):
    help = "Move model artifacts out of MEDIA (default_storage) into STORAGES['models'], where nothing serves them."

    def handle(self, *args, **options):
        paths = ModelVersion.objects.exclude(artifact_path="").values_list("artifact_path", flat=True)
        moved = [path for path in paths if not Path(path).is_absolute() and move_out_of_media(path)]
        for path in moved:
            self.stdout.write(f"moved {path}")
        self.stdout.write(f"{len(moved)} model artifacts moved out of the media.")
