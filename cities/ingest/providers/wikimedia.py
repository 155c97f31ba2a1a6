"""Wikimedia Commons, the default provider: keyless, through the MediaWiki API, freely licensed files only.

One API call per page of results: a full-text search in the File namespace as a generator, with
`imageinfo` (URL, size, MIME type, and the licence and author from `extmetadata`) for every hit.
"""

import html
import re
import threading

from django.conf import settings
from django.utils.html import strip_tags

from ..safe_http import FetchError, SafeFetcher
from .base import IMAGE_TYPES, Candidate, ProviderError, http_url

PAGE_SIZE = 50  # the API's maximum for a client without the bot right
MAX_PAGES = 6
METADATA_FIELDS = "Artist|Credit|LicenseShortName|LicenseUrl|UsageTerms|NonFree|Restrictions"

# Free licences, matched on the normalised short name ("cc by-sa 4.0" -> "cc by sa 4.0").
FREE_LICENCE = re.compile(r"^(cc0|cc zero|cc by\b|public domain|pd\b|no restrictions|attribution\b|fal\b)")
# Non-commercial, no-derivatives and non-free terms rule a file out whatever else its name says.
UNFREE_TERMS = re.compile(r"\b(nc|nd|non ?free|fair use|all rights reserved|copyrighted)\b")


def normalise_licence(short_name: str) -> str:
    return " ".join(re.sub(r"[-_/]", " ", short_name.lower()).split())


def is_free_licence(short_name: str, *, non_free_flag: str = "") -> bool:
    """CC0, public domain, CC BY and CC BY-SA (any version/port) and a few equivalents; no NC/ND/non-free."""
    if non_free_flag.strip().lower() in ("true", "1", "yes"):
        return False
    name = normalise_licence(short_name)
    return bool(name) and bool(FREE_LICENCE.match(name)) and not UNFREE_TERMS.search(name)


def plain_text(fragment: str, limit: int = 300) -> str:
    """Commons returns Artist/Credit as HTML (links, spans); keep the words."""
    text = " ".join(html.unescape(strip_tags(fragment or "")).split())
    return text[:limit]


def _meta(extmetadata: dict, key: str) -> str:
    value = (extmetadata.get(key) or {}).get("value", "")
    return value if isinstance(value, str) else str(value)


class WikimediaProvider:
    name = "wikimedia"
    uses_queries = True

    def __init__(self, fetcher: SafeFetcher):
        self.fetcher = fetcher
        self.api_url = settings.WIKIMEDIA_API_URL
        self.thumb_width = settings.WIKIMEDIA_THUMB_WIDTH
        self.skipped_unfree = 0  # files found but not freely licensed, for the job's report

    def _params(self, query: str, limit: int, continuation: dict) -> dict:
        return {
            "action": "query",
            "format": "json",
            "formatversion": "2",
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
        for _page in range(MAX_PAGES):
            params = self._params(query, min(PAGE_SIZE, max(1, limit)), continuation)
            try:
                answer = self.fetcher.get_json(self.api_url, params)
            except FetchError as exc:
                raise ProviderError(f"Wikimedia Commons search for '{query}' failed: {exc.reason}") from None
            if "error" in answer:
                info = answer["error"].get("info") or answer["error"].get("code", "unknown error")
                raise ProviderError(f"Wikimedia Commons refused the search for '{query}': {info}")
            pages = (answer.get("query") or {}).get("pages") or []
            for page in sorted(pages, key=lambda p: p.get("index", 0)):
                candidate = self._candidate(page)
                if candidate:
                    candidates.append(candidate)
            continuation = answer.get("continue") or {}
            if len(candidates) >= limit or not continuation:
                break
        return candidates[:limit]

    def _candidate(self, page: dict) -> Candidate | None:
        info = (page.get("imageinfo") or [None])[0]
        if not info:
            return None
        meta = info.get("extmetadata") or {}
        licence = plain_text(_meta(meta, "LicenseShortName"), 120)
        if not is_free_licence(licence, non_free_flag=_meta(meta, "NonFree")):
            self.skipped_unfree += 1
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
            licence=licence,
            licence_url=http_url(_meta(meta, "LicenseUrl")),
            mime=mime,
            size=info.get("size") if url == info.get("url") else None,
        )


def commons_reachable(timeout: float = 4.0) -> str | None:
    """None if the Commons API answers within about `timeout` seconds; otherwise why not (for people).

    The probe runs on a thread so that a resolver that hangs cannot hold the caller past the timeout.
    """
    outcome: dict[str, str] = {}

    def probe():
        try:
            with SafeFetcher(timeout=timeout, retries=0) as fetcher:
                fetcher.get_json(
                    settings.WIKIMEDIA_API_URL, {"action": "query", "meta": "siteinfo", "format": "json"}
                )
            outcome["ok"] = "yes"
        except FetchError as exc:
            outcome["why"] = exc.reason

    thread = threading.Thread(target=probe, name="commons-probe", daemon=True)
    thread.start()
    thread.join(timeout + 1)
    if thread.is_alive():
        return f"no answer within {timeout:g} s"
    return None if outcome.get("ok") else outcome.get("why", "unknown error")
