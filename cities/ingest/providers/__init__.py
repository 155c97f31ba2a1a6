"""Photo providers: each turns a query ("Berlin skyline") into candidate image URLs with credit metadata.

`make_provider` and `check_configured` are the only places that know their names. (Google's Custom Search
JSON API was removed: it takes no new customers and ends for everyone on 1 January 2027.)
"""

from ..safe_http import SafeFetcher
from .base import IMAGE_TYPES, NOT_FREE, Candidate, Provider, ProviderError, ProviderNotConfigured
from .openverse import OpenverseProvider, check_openverse_configured
from .urllist import UrlListProvider
from .wikimedia import WikimediaProvider, check_commons_contact

PROVIDER_NAMES = ("wikimedia", "openverse", "urls")

__all__ = [
    "IMAGE_TYPES",
    "NOT_FREE",
    "PROVIDER_NAMES",
    "Candidate",
    "Provider",
    "ProviderError",
    "ProviderNotConfigured",
    "check_configured",
    "make_provider",
    "unknown_provider",
]


def unknown_provider(name: str) -> ProviderError:
    if name == "google":
        return ProviderError(
            "the Google Custom Search provider was removed: Google closed its Custom Search JSON API to new "
            "customers and ends it on 1 January 2027; use openverse (or wikimedia) instead"
        )
    return ProviderError(f"unknown provider '{name}' (choose from {', '.join(PROVIDER_NAMES)})")


def check_configured(name: str) -> None:
    """Raises ProviderError if `name` is unknown or cannot run with the current settings, saying which."""
    if name not in PROVIDER_NAMES:
        raise unknown_provider(name)
    if name == "wikimedia":
        check_commons_contact()
    if name == "openverse":
        check_openverse_configured()


def make_provider(name: str, fetcher: SafeFetcher, *, urls: str = "") -> Provider:
    """The provider called `name`. Raises ProviderError for an unknown name, or one not configured."""
    if name == "wikimedia":
        return WikimediaProvider(fetcher)
    if name == "openverse":
        return OpenverseProvider(fetcher)
    if name == "urls":
        return UrlListProvider(urls)
    raise unknown_provider(name)
