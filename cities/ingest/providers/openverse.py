"""Openverse (WordPress's search engine for openly licensed media: Flickr, Wikimedia Commons and more).

`GET {OPENVERSE_API_URL}images/?q=…&license=by,by-sa,cc0,pdm`, 20 results a page, 20 pages a query at most.
Anonymous use works (about one call a second); with OPENVERSE_CLIENT_ID and OPENVERSE_CLIENT_SECRET we get an
OAuth2 token (client credentials, `POST auth_tokens/token/`) and send it as a Bearer header, never in a URL.

Its terms forbid bulk crawling of the catalogue, so calls are spaced (OPENVERSE_API_INTERVAL_SECONDS), a
rate limit its headers say is spent (`X-RateLimit-Available-<scope>: 0`) is waited out before the next call,
and a 429's Retry-After is honoured by the client. Licences are checked here too, by the one rule in
cities/licences.py; the credit is the API's: creator, licence and version, licence URL, the source's page.
"""

import re
import time
from collections import Counter
from urllib.parse import urlsplit

from django.conf import settings

from cities.licences import licence_kind, openverse_licence_name

from ..politeness import contact_problem, is_wikimedia_host
from ..safe_http import FetchError, SafeFetcher, unreachable_because
from .base import NOT_FREE, Candidate, ProviderError, ProviderNotConfigured, http_url

LICENCES = "by,by-sa,cc0,pdm"  # what we take; the results are checked again all the same
PAGE_SIZE = 20  # the most an anonymous client may ask for
MAX_PAGES = 20  # Openverse serves no page past the 20th of a query
FILE_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
TOKEN_MARGIN_SECONDS = 60  # renew a token this long before it expires
ON_WIKIMEDIA = "hosted on Wikimedia, which needs SCRAPE_USER_AGENT with your contact"
NOT_A_PHOTO_TYPE = "not a JPEG, PNG or WebP file"
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])", re.IGNORECASE)  # "20/min", "200/day", "5/10s"
_PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def check_openverse_configured() -> None:
    if bool(settings.OPENVERSE_CLIENT_ID) != bool(settings.OPENVERSE_CLIENT_SECRET):
        raise ProviderNotConfigured(
            "Openverse needs both OPENVERSE_CLIENT_ID and OPENVERSE_CLIENT_SECRET, or neither (anonymous use)"
        )


def seconds_per_request(rate: str) -> float | None:
    """ "20/min" -> 3.0: how long one more request takes to become available again."""
    match = _RATE.match(rate or "")
    if not match or not int(match[1]):
        return None
    period = int(match[2] or 1) * _PERIOD_SECONDS[match[3].lower()]
    return period / int(match[1])


class OpenverseProvider:
    name = "openverse"
    uses_queries = True

    def __init__(self, fetcher: SafeFetcher):
        check_openverse_configured()
        self.fetcher = fetcher
        self.api_url = settings.OPENVERSE_API_URL.rstrip("/") + "/"
        self.interval = settings.OPENVERSE_API_INTERVAL_SECONDS
        # Wikimedia serves only clients that name a contact: without one, its files are left out here
        # rather than failing one by one at download.
        self.wikimedia_allowed = contact_problem(settings.SCRAPE_USER_AGENT) is None
        self.left_out: Counter[str] = Counter()
        self._token, self._token_expires = "", 0.0
        self._next_call = 0.0

    def search(self, query: str, *, city_slug: str = "", limit: int = 20) -> list[Candidate]:
        candidates: list[Candidate] = []
        for page in range(1, MAX_PAGES + 1):
            params = {"q": query, "license": LICENCES, "page_size": str(PAGE_SIZE), "page": str(page)}
            answer = self._call("images/", params, query)
            candidates.extend(c for c in map(self._candidate, answer.get("results") or []) if c)
            if len(candidates) >= limit or page >= int(answer.get("page_count") or 0):
                break
        return candidates[:limit]

    def _call(self, path: str, params: dict, query: str) -> dict:
        self._wait_turn(query)
        try:
            answer, headers = self.fetcher.get_json_answer(
                self.api_url + path, params, headers=self._auth_headers()
            )
        except FetchError as exc:
            raise ProviderError(
                f"Openverse search for '{query}' failed: {exc.reason}", reason=exc.reason
            ) from None
        self._note_rate_limits(headers)
        return answer

    def _wait_turn(self, query: str) -> None:
        pause = self._next_call - time.monotonic()
        if pause > self.fetcher.deadline_seconds:
            reason = (
                f"Openverse's rate limit is spent for the next {pause:.0f} s; try later, or set "
                "OPENVERSE_CLIENT_ID and OPENVERSE_CLIENT_SECRET for a higher one"
            )
            raise ProviderError(f"Openverse search for '{query}' not sent: {reason}", reason=reason)
        if pause > 0:
            time.sleep(pause)
        self._next_call = time.monotonic() + self.interval

    def _note_rate_limits(self, headers: dict) -> None:
        """A scope whose available count is 0: the next call waits until one request frees up."""
        for name, value in headers.items():
            if not name.startswith("x-ratelimit-available-") or value.strip() != "0":
                continue
            scope = name.removeprefix("x-ratelimit-available-")
            wait = seconds_per_request(headers.get(f"x-ratelimit-limit-{scope}", ""))
            if wait:
                self._next_call = max(self._next_call, time.monotonic() + wait)

    def _auth_headers(self) -> dict:
        if not settings.OPENVERSE_CLIENT_ID:
            return {}
        if not self._token or time.monotonic() > self._token_expires:
            fields = {
                "grant_type": "client_credentials",
                "client_id": settings.OPENVERSE_CLIENT_ID,
                "client_secret": settings.OPENVERSE_CLIENT_SECRET,
            }
            try:
                answer = self.fetcher.post_form(self.api_url + "auth_tokens/token/", fields)
            except FetchError as exc:
                reason = f"no token for OPENVERSE_CLIENT_ID ({exc.reason})"
                raise ProviderError(f"Openverse: {reason}", reason=reason) from None
            if not answer.get("access_token"):
                raise ProviderError("Openverse: its token endpoint answered without an access_token")
            self._token = str(answer["access_token"])
            lifetime = float(answer.get("expires_in") or 0)
            self._token_expires = time.monotonic() + max(0.0, lifetime - TOKEN_MARGIN_SECONDS)
        return {"Authorization": f"Bearer {self._token}"}

    def _candidate(self, result: dict) -> Candidate | None:
        code = str(result.get("license") or "")
        if not licence_kind(code) or result.get("mature"):
            self.left_out[NOT_FREE if not licence_kind(code) else "marked mature"] += 1
            return None
        file_type = str(result.get("filetype") or "").lower()
        mime = FILE_TYPES.get(file_type, "")
        url = http_url(result.get("url") or "")
        if (file_type and not mime) or not url:
            self.left_out[NOT_A_PHOTO_TYPE] += 1
            return None
        if not self.wikimedia_allowed and is_wikimedia_host(urlsplit(url).hostname or ""):
            self.left_out[ON_WIKIMEDIA] += 1
            return None
        size = result.get("filesize")
        return Candidate(
            url=url,
            page_url=http_url(result.get("foreign_landing_url") or ""),
            title=str(result.get("title") or "")[:200],
            author=" ".join(str(result.get("creator") or "").split())[:300] or "unknown",
            licence=openverse_licence_name(code, str(result.get("license_version") or "")),
            licence_url=http_url(result.get("license_url") or ""),
            mime=mime,
            size=size if isinstance(size, int) else None,
        )


def openverse_unavailable(timeout: float = 4.0) -> str | None:
    """None if the Openverse API answers a one-result search now; otherwise why not."""
    url = settings.OPENVERSE_API_URL.rstrip("/") + "/images/"
    return unreachable_because(url, {"q": "skyline", "page_size": "1"}, timeout=timeout)
