"""The admin upload: many files and zips of them for one city, all or nothing."""

import io
import zipfile
from pathlib import PurePosixPath

from django.conf import settings
from django.db import transaction

from ..models import City
from .report import IngestReport
from .store import announce_new_photos, ingest_one
from .validation import EXTENSION_FORMATS, ImageRejected, ValidImage, validate_image


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


def import_uploads(city: City, files: list[tuple[str, bytes]], **metadata) -> IngestReport:
    """Admin upload: all or nothing. If any file is rejected, nothing is stored and every reason is listed.

    Duplicates are not a reason to refuse the others: they are skipped and counted.
    """
    report = IngestReport()
    expanded: list[tuple[str, bytes]] = []
    for name, data in files:
        if name.lower().endswith(".zip"):
            try:
                expanded.extend(read_zip(name, data))
            except ImageRejected as exc:
                report.reject(exc.name, exc.reason)
        else:
            expanded.append((name, data))
    valid: list[ValidImage] = []
    for name, data in expanded:
        try:
            valid.append(validate_image(name, data))
        except ImageRejected as exc:
            report.reject(exc.name, exc.reason)
    if report.rejected:
        return report
    with transaction.atomic():
        for image in valid:
            ingest_one(report, city, image.name, image, **metadata)
        announce_new_photos(report)
    return report
