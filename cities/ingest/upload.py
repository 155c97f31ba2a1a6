"""The admin upload: many files and zips of them for one city, all or nothing."""

import io
import zipfile
import zlib
from pathlib import PurePosixPath

from django.conf import settings
from django.db import transaction

from ..models import City
from .report import IngestReport
from .store import announce_new_photos, ingest_one
from .validation import EXTENSION_FORMATS, ImageRejected, ValidImage, validate_image

# Members are inflated this much at a time, so the caps below are checked on bytes actually inflated and a
# member whose header lies about its size never costs more memory than the cap (zipfile's read() of a whole
# member inflates it in one call, whatever the header says).
INFLATE_CHUNK_BYTES = 64 * 1024
# Stored and deflate are what every zip tool writes by default, and zlib's output per call is bounded. The
# others are refused: Deflate64 has no decoder here, and bzip2 and LZMA inflate without a bound per call.
READABLE_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
COMPRESSION_NAMES = {9: "Deflate64", 12: "bzip2", 14: "LZMA", 93: "Zstandard", 98: "PPMd", 99: "AES"}
ENCRYPTED_FLAG = 0x1


class ArchiveTooLarge(Exception):
    """The archive as a whole inflates past MAX_ZIP_BYTES: nothing more is read from it."""


class InflateBudget:
    """What an archive may still inflate to, refused members' bytes included (inflating them cost too)."""

    def __init__(self, total: int):
        self.left = total

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise ArchiveTooLarge


def _is_junk(name: str) -> bool:
    path = PurePosixPath(name)
    return any(part.startswith(".") or part == "__MACOSX" for part in path.parts)


def _megabytes(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def _refuse_unreadable(member: str, info: zipfile.ZipInfo) -> None:
    if info.flag_bits & ENCRYPTED_FLAG:
        raise ImageRejected(member, "encrypted (password-protected); zip it again without a password")
    if info.compress_type not in READABLE_COMPRESSION:
        method = COMPRESSION_NAMES.get(info.compress_type, "an unusual method")
        raise ImageRejected(
            member,
            f"compressed with {method} (zip method {info.compress_type}), which is not supported; "
            "zip it again with the standard (deflate) compression",
        )
    if info.file_size > settings.MAX_IMAGE_BYTES:  # an honest header: refused before anything is inflated
        raise ImageRejected(
            member,
            f"{_megabytes(info.file_size)} uncompressed; the limit is {_megabytes(settings.MAX_IMAGE_BYTES)}",
        )


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, member: str, budget: InflateBudget) -> bytes:
    """The member's bytes, counted as they are inflated: past the per-image cap the member is refused,
    past the archive's budget the whole archive is (ArchiveTooLarge)."""
    _refuse_unreadable(member, info)
    chunks, size = [], 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(INFLATE_CHUNK_BYTES):
                size += len(chunk)
                budget.spend(len(chunk))
                if size > settings.MAX_IMAGE_BYTES:
                    raise ImageRejected(
                        member,
                        f"inflates past the limit of {_megabytes(settings.MAX_IMAGE_BYTES)} "
                        f"(its header said {_megabytes(info.file_size)})",
                    )
                chunks.append(chunk)
    except zipfile.BadZipFile as exc:  # a bad CRC, a bad local header, overlapping members...
        raise ImageRejected(member, f"damaged in the archive ({exc})") from None
    except zlib.error as exc:
        raise ImageRejected(member, f"damaged compressed data ({exc})") from None
    except EOFError:
        raise ImageRejected(member, "the archive ends in the middle of this file") from None
    except (NotImplementedError, RuntimeError, OSError, ValueError) as exc:
        raise ImageRejected(member, f"cannot be read from the archive ({exc})") from None
    return b"".join(chunks)


def read_zip(name: str, data: bytes) -> tuple[list[tuple[str, bytes]], list[ImageRejected]]:
    """The image members of a zip, and one rejection per member that cannot be read (damaged, encrypted,
    an unsupported compression, too big once inflated). Raises ImageRejected for the archive as a whole: not
    a zip, no images, or more than MAX_ZIP_BYTES inflated in all (counting refused members' bytes too)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, EOFError, OSError, ValueError):
        raise ImageRejected(name, "not a valid zip archive") from None
    members, rejected = [], []
    budget = InflateBudget(settings.MAX_ZIP_BYTES)
    for info in infos:
        if info.is_dir() or _is_junk(info.filename):
            continue
        member = f"{name}/{info.filename}"
        if PurePosixPath(info.filename).suffix.lower() not in EXTENSION_FORMATS:
            members.append((member, b""))  # validate_image names the unsupported type
            continue
        try:
            members.append((member, _inflate(archive, info, member, budget)))
        except ArchiveTooLarge:
            raise ImageRejected(
                name, f"the archive inflates past the upload limit of {_megabytes(settings.MAX_ZIP_BYTES)}"
            ) from None
        except ImageRejected as exc:
            rejected.append(exc)
    if not members and not rejected:
        raise ImageRejected(name, "the archive holds no images")
    return members, rejected


def import_uploads(city: City, files: list[tuple[str, bytes]], **metadata) -> IngestReport:
    """Admin upload: all or nothing. If any file is rejected, nothing is stored and every reason is listed.

    Duplicates are not a reason to refuse the others: they are skipped and counted.
    """
    report = IngestReport()
    expanded: list[tuple[str, bytes]] = []
    for name, data in files:
        if name.lower().endswith(".zip"):
            try:
                members, rejected = read_zip(name, data)
            except ImageRejected as exc:
                report.reject(exc.name, exc.reason)
                continue
            expanded.extend(members)
            for exc in rejected:
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
