"""Google Custom Search JSON API (searchType=image). Needs GOOGLE_CSE_KEY and GOOGLE_CSE_ID.

Google reports no licence per result: we ask for its rights filter (GOOGLE_CSE_RIGHTS) and mark the licence
as unverified, so an admin checks the source page before relying on it.
"""

from django.conf import settings

from ..safe_http import FetchError, SafeFetcher
from .base import IMAGE_TYPES, Candidate, ProviderError, ProviderNotConfigured, http_url

PAGE_SIZE = 10  # the API's maximum per call
MAX_RESULTS = 100  # the API serves no result past the 100th


def check_google_configured() -> None:
    missing = [name for name in ("GOOGLE_CSE_KEY", "GOOGLE_CSE_ID") if not getattr(settings, name)]
    if missing:
        raise ProviderNotConfigured(
            f"Google Custom Search is not configured: set {' and '.join(missing)} in the environment "
            "(an API key and a search engine id with image search on)"
        )


def unverified_licence() -> str:
    return f"unverified (Google rights filter: {settings.GOOGLE_CSE_RIGHTS})"[:120]


class GoogleProvider:
    name = "google"
    uses_queries = True

    def __init__(self, fetcher: SafeFetcher):
        check_google_configured()
        self.fetcher = fetcher

    def search(self, query: str, *, city_slug: str = "", limit: int = 20) -> list[Candidate]:
        candidates: list[Candidate] = []
        for start in range(1, min(limit, MAX_RESULTS) + 1, PAGE_SIZE):
            params = {
                "key": settings.GOOGLE_CSE_KEY,
                "cx": settings.GOOGLE_CSE_ID,
                "q": query,
                "searchType": "image",
                "num": str(PAGE_SIZE),
                "start": str(start),
                "safe": "active",
                "rights": settings.GOOGLE_CSE_RIGHTS,
            }
            try:
                answer = self.fetcher.get_json(settings.GOOGLE_CSE_URL, params)
            except FetchError as exc:
                # The key is in the URL: report the reason only.
                raise ProviderError(f"Google Custom Search for '{query}' failed: {exc.reason}") from None
            items = answer.get("items") or []
            candidates.extend(c for c in map(self._candidate, items) if c)
            if len(items) < PAGE_SIZE:
                break
        return candidates[:limit]

    def _candidate(self, item: dict) -> Candidate | None:
        url, mime = http_url(item.get("link", "")), item.get("mime", "")
        if not url or mime not in IMAGE_TYPES:
            return None
        image = item.get("image") or {}
        return Candidate(
            url=url,
            page_url=http_url(image.get("contextLink", "")),
            title=item.get("title", "")[:200],
            author=item.get("displayLink", "")[:300],
            licence=unverified_licence(),
            mime=mime,
            size=image.get("byteSize"),
        )
