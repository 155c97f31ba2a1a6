"""Bulk imports: a folder tree (manage.py import_photos), or files and zips uploaded in the admin.

Both go through cities.ingest for every single file.
"""

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import transaction

from .ingest import EXTENSION_FORMATS, DuplicatePhoto, ImageRejected, ValidImage, create_photo, validate_image
from .models import City, Photo
from .services import after_photos_added


@dataclass
class ImportReport:
    created: list[Photo] = field(default_factory=list)
    duplicates: list[DuplicatePhoto] = field(default_factory=list)
    rejected: list[ImageRejected] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.created)} stored, {len(self.duplicates)} duplicate{'s' if len(self.duplicates) != 1 else ''}"
            f" skipped, {len(self.rejected)} rejected"
        )


def _is_junk(name: str) -> bool:
    path = PurePosixPath(name)
    return any(part.startswith(".") or part == "__MACOSX" for part in path.parts)


def read_zip(name: str, data: bytes) -> list[tuple[str, bytes]]:
    """The image members of a zip, each checked against the per-image size limit before it is inflated."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ImageRejected(name, "not a valid zip archive") from None
    members = []
    total = 0
    for info in archive.infolist():
        if info.is_dir() or _is_junk(info.filename):
            continue
        member = f"{name}/{info.filename}"
        if PurePosixPath(info.filename).suffix.lower() not in EXTENSION_FORMATS:
            members.append((member, b""))  # validate_image names the unsupported type
            continue
        if info.file_size > settings.MAX_IMAGE_BYTES:
            raise ImageRejected(
                member,
                f"{info.file_size / 2**20:.1f} MB uncompressed; the limit is "
                f"{settings.MAX_IMAGE_BYTES / 2**20:.1f} MB",
            )
        total += info.file_size
        if total > settings.MAX_ZIP_BYTES:
            raise ImageRejected(name, "the archive inflates past the upload limit")
        members.append((member, archive.read(info)))
    if not members:
        raise ImageRejected(name, "the archive holds no images")
    return members


def validate_all(files: list[tuple[str, bytes]]) -> tuple[list[ValidImage], list[ImageRejected]]:
    valid, rejected = [], []
    for name, data in files:
        try:
            valid.append(validate_image(name, data))
        except ImageRejected as exc:
            rejected.append(exc)
    return valid, rejected


def store_all(city: City, valid: list[ValidImage], report: ImportReport, **metadata) -> ImportReport:
    for image in valid:
        try:
            report.created.append(create_photo(city, image, **metadata))
        except DuplicatePhoto as dup:
            report.duplicates.append(dup)
    return report


def import_uploads(city: City, files: list[tuple[str, bytes]], **metadata) -> ImportReport:
    """Admin upload: all or nothing. If any file is rejected, nothing is stored and every reason is listed."""
    report = ImportReport()
    expanded: list[tuple[str, bytes]] = []
    for name, data in files:
        if name.lower().endswith(".zip"):
            try:
                expanded.extend(read_zip(name, data))
            except ImageRejected as exc:
                report.rejected.append(exc)
        else:
            expanded.append((name, data))
    valid, rejected = validate_all(expanded)
    report.rejected.extend(rejected)
    if report.rejected:
        return report
    with transaction.atomic():
        store_all(city, valid, report, **metadata)
        after_photos_added([p.pk for p in report.created])
    return report


def import_folder(root: Path, *, source: str = "import", progress=None, **metadata) -> ImportReport:
    """Read ROOT/<city-slug>/*.jpg|jpeg|png|webp. Bad files are skipped and reported, good ones stored."""
    report = ImportReport()
    folders = sorted(p for p in Path(root).iterdir() if p.is_dir())
    cities = City.objects.in_bulk([p.name for p in folders], field_name="slug")
    files = [(city_dir, f) for city_dir in folders for f in sorted(city_dir.iterdir()) if f.is_file()]
    for done, (city_dir, path) in enumerate(files, start=1):
        city = cities.get(city_dir.name)
        if city is None:
            report.rejected.append(ImageRejected(str(path), f"no city with slug '{city_dir.name}'"))
            continue
        try:
            valid = validate_image(path.name, path.read_bytes())
            report.created.append(create_photo(city, valid, source=source, **metadata))
        except DuplicatePhoto as dup:
            report.duplicates.append(dup)
        except ImageRejected as exc:
            exc.name = str(path)
            report.rejected.append(exc)
        if progress:
            progress(done, len(files))
    after_photos_added([p.pk for p in report.created])
    return report
