"""Is this file a whole, sane image of the type its name claims? And the renditions we store of it.

Pure functions of the bytes: no database, no storage. The scraper runs them on its download threads.
"""

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from imagehash import phash
from PIL import Image, ImageOps, UnidentifiedImageError

# The formats we accept, by file extension, and the Pillow format each must really be.
EXTENSION_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}
# The only decoders Pillow may run on an untrusted file. Image.open otherwise tries every plugin it has
# (TIFF, PSD, EPS through Ghostscript...), and each is attack surface for a format we would refuse anyway.
ACCEPTED_FORMATS = tuple(sorted(set(EXTENSION_FORMATS.values())))
ACCEPTED_FORMATS_TEXT = "JPEG, PNG or WebP"
STORED_MAX_SIDE = 1600
THUMBNAIL_MAX_SIDE = 480


class ImageRejected(Exception):
    """A file that will not become a Photo, with a reason a person can act on.

    `plain` is for visitors (/classify/); `reason` adds the technical detail, if any, for the admin's reports.
    """

    def __init__(self, name: str, plain: str, detail: str = ""):
        self.name = name
        self.plain = plain
        self.reason = f"{plain} ({detail})" if detail else plain
        super().__init__(f"{name}: {self.reason}")


@dataclass(frozen=True)
class ValidImage:
    name: str
    sha256: str
    image: Image.Image  # decoded, EXIF-oriented, RGB
    perceptual_hash: str  # 64-bit pHash of `image`, 16 hex digits


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def validate_image(name: str, data: bytes) -> ValidImage:
    """Check that `data` is a whole, sane image of the type its name claims; return it decoded."""
    extension = Path(name).suffix.lower()
    if extension not in EXTENSION_FORMATS:
        allowed = ", ".join(sorted(EXTENSION_FORMATS))
        raise ImageRejected(name, f"unsupported file type '{extension or 'none'}' (allowed: {allowed})")
    if not data:
        raise ImageRejected(name, "the file is empty")
    if len(data) > settings.MAX_IMAGE_BYTES:
        raise ImageRejected(
            name, f"the file is {_megabytes(len(data))}; the limit is {_megabytes(settings.MAX_IMAGE_BYTES)}"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
            pixels = probe.width * probe.height
            if pixels > settings.MAX_IMAGE_PIXELS:
                raise ImageRejected(
                    name,
                    f"{probe.width}×{probe.height} pixels is over the limit of {settings.MAX_IMAGE_PIXELS:,}",
                    detail="a possible decompression bomb",
                )
            actual = probe.format
            probe.verify()
            # verify() does not decode the pixels; a full load catches truncated files.
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
            image.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(name, "too many pixels", detail="a possible decompression bomb") from None
    except UnidentifiedImageError:
        raise ImageRejected(name, f"not an image in an accepted format ({ACCEPTED_FORMATS_TEXT})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(name, "damaged or truncated image", detail=str(exc)) from None
    expected = EXTENSION_FORMATS[extension]
    if actual != expected:
        raise ImageRejected(name, f"the file is {actual} but its name says {expected}")
    ImageOps.exif_transpose(image, in_place=True)  # our own decoded copy: no need for another
    if image.mode != "RGB":
        background = Image.new("RGB", image.size, "white")
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    return ValidImage(
        name=name, sha256=hashlib.sha256(data).hexdigest(), image=image, perceptual_hash=str(phash(image))
    )


def _jpeg_bytes(image: Image.Image, max_side: int, quality: int) -> tuple[bytes, tuple[int, int]]:
    if max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue(), image.size


@dataclass(frozen=True)
class Renditions:
    """What is stored for a photo: the downscaled JPEG (and its size) and the thumbnail."""

    stored: bytes
    size: tuple[int, int]
    thumbnail: bytes


def render(valid: ValidImage) -> Renditions:
    """The stored JPEG and the thumbnail. Pure CPU, no database: callers may run it on other threads."""
    stored, size = _jpeg_bytes(valid.image, STORED_MAX_SIDE, 88)
    thumbnail, _ = _jpeg_bytes(valid.image, THUMBNAIL_MAX_SIDE, 80)
    return Renditions(stored=stored, size=size, thumbnail=thumbnail)
