"""Wikimedia Commons: keyless, through the MediaWiki API, freely licensed files only, by Wikimedia's bot rules.

One API call per batch: a full-text search in the File namespace as a generator, with `imageinfo` (URL, a
scaled copy at a standard width, size, MIME type, and the licence and author from `extmetadata`) for every
hit. Continuation follows the API's `continue` protocol (`gsroffset` for more hits, `iicontinue` when the
image info of one batch comes in several answers). Every call sends `maxlag=5`; a `maxlag` error is waited
out (its Retry-After) and the call repeated. The client (safe_http) adds the rest of the rules: at most 2
requests in flight per Wikimedia host, Retry-After on 429, and a User-Agent that names a real contact.
"""

import html
import logging
import time
from collections import Counter

from django.conf import settings
from django.utils.html import strip_tags

from cities.licences import licence_kind

from ..politeness import contact_problem, parse_retry_after
from ..safe_http import FetchError, SafeFetcher, unreachable_because
from .base import IMAGE_TYPES, NOT_FREE, Candidate, ProviderError, ProviderNotConfigured, http_url

log = logging.getLogger(__name__)

PAGE_SIZE = 50  # the API's maximum for a client without the bot right
MAX_CALLS = 20  # per query: hits and their image info, continuation included
MAXLAG_SECONDS = 5  # Wikimedia asks non-interactive clients to back off when replicas lag more than this
MAXLAG_RETRIES = 3
METADATA_FIELDS = "Artist|Credit|License|LicenseShortName|LicenseUrl|NonFree|Restrictions"
# The widths Commons renders scaled copies at; others are refused or slow (Wikimedia's thumbnail steps).
THUMB_STEPS = (20, 40, 60, 120, 250, 330, 500, 960, 1280, 1920, 3840)
RESTRICTED = "carries a non-copyright restriction (personality rights, trademark...)"


def standard_thumb_width(width: int) -> int:
    """The largest standard step not above `width` (the smallest step for anything below it)."""
    return max((step for step in THUMB_STEPS if step <= width), default=THUMB_STEPS[0])


def plain_text(fragment: str, limit: int = 300) -> str:
    """Commons returns Artist/Credit as HTML (links, spans); keep the words."""
    text = " ".join(html.unescape(strip_tags(fragment or "")).split())
    return text[:limit]


def _meta(extmetadata: dict, key: str) -> str:
    value = (extmetadata.get(key) or {}).get("value", "")
    return value if isinstance(value, str) else str(value)


def check_commons_contact() -> None:
    """Raises ProviderNotConfigured while SCRAPE_USER_AGENT has no contact of this install's."""
    problem = contact_problem(settings.SCRAPE_USER_AGENT)
    if problem:
        raise ProviderNotConfigured(f"Wikimedia Commons is off: {problem}")


class WikimediaProvider:
    name = "wikimedia"
    uses_queries = True

    def __init__(self, fetcher: SafeFetcher):
        check_commons_contact()
        self.fetcher = fetcher
        self.api_url = settings.WIKIMEDIA_API_URL
        self.thumb_width = standard_thumb_width(settings.WIKIMEDIA_THUMB_WIDTH)
        self.left_out: Counter[str] = Counter()

    def _params(self, query: str, limit: int, continuation: dict) -> dict:
        return {
            "action": "query",
            "format": "json",
            "formatversion": "2",
            "maxlag": str(MAXLAG_SECONDS),
            "generator": "search",
            "gsrsearch": f"{query} filetype:bitmap",
            "gsrnamespace": "6",
            "gsrlimit": str(limit),
            "prop": "imageinfo",
            "iiprop": "url|size|mime|thumbmime|extmetadata",
            "iiurlwidth": str(self.thumb_width),
            "iiextmetadatafilter": METADATA_FIELDS,
            **continuation,
        }

    def search(self, query: str, *, city_slug: str = "", limit: int = 20) -> list[Candidate]:
        candidates: list[Candidate] = []
        continuation: dict = {}
        for _call in range(MAX_CALLS):
            answer = self._call(query, self._params(query, min(PAGE_SIZE, max(1, limit)), continuation))
            pages = (answer.get("query") or {}).get("pages") or []
            for page in sorted(pages, key=lambda p: p.get("index", 0)):
                candidate = self._candidate(page)
                if candidate:
                    candidates.append(candidate)
            continuation = answer.get("continue") or {}
            # Stop between batches only: an `iicontinue` still owes image info for hits already found.
            batch_done = "iicontinue" not in continuation
            if not continuation or (batch_done and len(candidates) >= limit):
                break
        return candidates[:limit]

    def _call(self, query: str, params: dict) -> dict:
        """One API call; a `maxlag` answer is waited out (as its Retry-After says) and the call repeated."""
        for attempt in range(MAXLAG_RETRIES + 1):
            try:
                answer, headers = self.fetcher.get_json_answer(self.api_url, params)
            except FetchError as exc:
                raise ProviderError(
                    f"Wikimedia Commons search for '{query}' failed: {exc.reason}", reason=exc.reason
                ) from None
            error = answer.get("error") or {}
            if error.get("code") != "maxlag":
                break
            pause = parse_retry_after(headers.get("retry-after"))
            pause = MAXLAG_SECONDS if pause is None else pause
            if attempt == MAXLAG_RETRIES or pause > self.fetcher.deadline_seconds:
                reason = f"Commons is lagging ({error.get('lag', '?')} s behind); try again later"
                raise ProviderError(f"Wikimedia Commons search for '{query}' failed: {reason}", reason=reason)
            log.info("Commons lags (%s); waiting %.0f s as asked", error.get("info", "maxlag"), pause)
            time.sleep(pause)
        if error:
            info = error.get("info") or error.get("code", "unknown error")
            raise ProviderError(f"Wikimedia Commons refused the search for '{query}': {info}", reason=info)
        return answer

    def _candidate(self, page: dict) -> Candidate | None:
        info = (page.get("imageinfo") or [None])[0]
        if not info:
            return None  # its image info comes in a later answer of this batch (iicontinue)
        meta = info.get("extmetadata") or {}
        licence = plain_text(_meta(meta, "LicenseShortName"), 120)
        # The machine-readable code decides when Commons gives one; NC/ND anywhere refuses the file.
        free = licence_kind(
            _meta(meta, "License"), licence, non_free=_meta(meta, "NonFree").strip().lower() in ("true", "1")
        )
        if not free:
            self.left_out[NOT_FREE] += 1
            return None
        if _meta(meta, "Restrictions").strip():
            self.left_out[RESTRICTED] += 1
            return None
        # The scaled copy when Commons offers one (its type may differ from the original's, e.g. TIFF).
        url, mime = info.get("thumburl"), info.get("thumbmime")
        if not url:
            url, mime = info.get("url"), info.get("mime")
        url = http_url(url or "")
        if not url or mime not in IMAGE_TYPES:
            return None
        return Candidate(
            url=url,
            page_url=http_url(info.get("descriptionurl", "")),
            title=page.get("title", "").removeprefix("File:"),
            author=plain_text(_meta(meta, "Artist")) or plain_text(_meta(meta, "Credit")) or "unknown",
            licence=licence or _meta(meta, "License"),
            licence_url=http_url(_meta(meta, "LicenseUrl")),
            mime=mime,
            size=info.get("size") if url == http_url(info.get("url", "")) else None,
        )


def commons_unavailable(timeout: float = 4.0) -> str | None:
    """None if Commons may be scraped now; otherwise why not (no contact configured, or no answer)."""
    problem = contact_problem(settings.SCRAPE_USER_AGENT)
    if problem:
        return problem
    return unreachable_because(
        settings.WIKIMEDIA_API_URL,
        {"action": "query", "meta": "siteinfo", "format": "json", "maxlag": str(MAXLAG_SECONDS)},
        timeout=timeout,
    )
