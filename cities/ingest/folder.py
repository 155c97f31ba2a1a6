"""`manage.py import_photos`: a folder tree ROOT/<city-slug>/*.jpg|jpeg|png|webp, read from local disk."""

from pathlib import Path

from ..models import City
from .report import IngestReport
from .store import announce_new_photos, ingest_one


def import_folder(root: Path, *, source: str = "import", progress=None, **metadata) -> IngestReport:
    """Bad files are skipped and reported, good ones stored. `progress(done, total)` after each file."""
    report = IngestReport()
    folders = sorted(p for p in Path(root).iterdir() if p.is_dir())
    cities = City.objects.in_bulk([p.name for p in folders], field_name="slug")
    files = [(city_dir, f) for city_dir in folders for f in sorted(city_dir.iterdir()) if f.is_file()]
    for done, (city_dir, path) in enumerate(files, start=1):
        city = cities.get(city_dir.name)
        if city is None:
            report.reject(str(path), f"no city with slug '{city_dir.name}'")
        else:
            try:
                data = path.read_bytes()
            except OSError as exc:
                report.error(str(path), f"cannot read it ({exc.strerror or exc})", city.slug)
            else:
                ingest_one(report, city, path.name, data, label=str(path), source=source, **metadata)
        if progress:
            progress(done, len(files))
    announce_new_photos(report)
    return report
