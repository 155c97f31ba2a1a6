"""Photo providers: each turns a query ("Berlin skyline") into candidate image URLs with credit metadata.

`make_provider` is the one place that knows their names.
"""

from ..safe_http import SafeFetcher
from .base import IMAGE_TYPES, Candidate, Provider, ProviderError, ProviderNotConfigured
from .google import GoogleProvider
from .urllist import UrlListProvider
from .wikimedia import WikimediaProvider

PROVIDER_NAMES = ("wikimedia", "google", "urls")

__all__ = [
    "IMAGE_TYPES",
    "PROVIDER_NAMES",
    "Candidate",
    "Provider",
    "ProviderError",
    "ProviderNotConfigured",
    "make_provider",
]


def make_provider(name: str, fetcher: SafeFetcher, *, urls: str = "") -> Provider:
    """The provider called `name`. Raises ProviderError for an unknown name, or one not configured."""
    if name == "wikimedia":
        return WikimediaProvider(fetcher)
    if name == "google":
        return GoogleProvider(fetcher)
    if name == "urls":
        return UrlListProvider(urls)
    raise ProviderError(f"unknown provider '{name}' (choose from {', '.join(PROVIDER_NAMES)})")
