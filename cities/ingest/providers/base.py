"""What every photo provider returns: candidate image URLs with the metadata needed to credit them."""

from collections import Counter
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from ..report import NOT_FREE  # noqa: F401 (the providers' reason for a licence they leave out)

# What we download and store; anything else (SVG, TIFF, GIF, video) is not offered as a candidate.
IMAGE_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


class ProviderError(Exception):
    """A provider that cannot be used or did not answer; the message is for people. `reason` is the cause
    alone ("cannot resolve commons.wikimedia.org"), without the query, so a report can group alike failures."""

    def __init__(self, message: str, *, reason: str = ""):
        super().__init__(message)
        self.reason = reason or message


class ProviderNotConfigured(ProviderError):
    pass


@dataclass(frozen=True)
class Candidate:
    url: str  # the image file to download
    page_url: str = ""  # the page that describes it: stored as Photo.source_url, linked from the credit
    title: str = ""
    author: str = ""
    licence: str = ""
    licence_url: str = ""
    mime: str = ""  # as the provider reports it; the download's own Content-Type is checked again
    size: int | None = None  # bytes, when the provider reports it
    city_slug: str = ""  # only URL lists name a city per line


class Provider(Protocol):
    name: str  # stored as Photo.source; reruns top up per (city, source)
    uses_queries: bool  # False: one search per city, the query templates do not apply

    # Candidates found but left out before any download, by reason ("not freely licensed": n).
    left_out: Counter[str]

    def search(self, query: str, *, city_slug: str, limit: int) -> list[Candidate]: ...


def http_url(value: str) -> str:
    """`value` if it is an absolute http(s) URL (protocol-relative ones get https), else ""."""
    value = (value or "").strip()
    if value.startswith("//"):
        value = f"https:{value}"
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc else ""
