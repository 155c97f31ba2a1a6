"""How the scraper behaves towards the hosts it asks: the rules that do not depend on one request.

- Every host: at most SCRAPE_HOST_MAX_IN_FLIGHT requests in flight, starts at least
  SCRAPE_HOST_INTERVAL_SECONDS apart, and a pause for everyone when the host says "Retry-After".
- Wikimedia hosts (*.wikimedia.org, *.wikipedia.org): at most 2 requests in flight, as its Robot policy asks,
  and only with a User-Agent that names a real contact (https://meta.wikimedia.org/wiki/User-Agent_policy).
"""

import re
import threading
import time
from contextlib import contextmanager
from datetime import UTC
from email.utils import parsedate_to_datetime

WIKIMEDIA_DOMAINS = ("wikimedia.org", "wikipedia.org")
WIKIMEDIA_MAX_IN_FLIGHT = 2  # Wikimedia's Robot policy (2025): at most 2 concurrent connections

# The contact every install starts with (settings.SCRAPE_USER_AGENT's default) and any other example domain.
_PLACEHOLDER_CONTACT = re.compile(r"[@./]example\.(?:org|com|net)\b", re.IGNORECASE)
_ANY_CONTACT = re.compile(r"@|https?://", re.IGNORECASE)


def is_wikimedia_host(host: str) -> bool:
    host = (host or "").lower().rstrip(".")
    return any(host == domain or host.endswith(f".{domain}") for domain in WIKIMEDIA_DOMAINS)


def contact_problem(user_agent: str) -> str | None:
    """Why `user_agent` does not name a contact of this install (for people), or None if it does."""
    if _PLACEHOLDER_CONTACT.search(user_agent or ""):
        why = "still names the placeholder contact at example.org"
    elif not _ANY_CONTACT.search(user_agent or ""):
        why = "names no contact"
    else:
        return None
    return (
        f"SCRAPE_USER_AGENT {why}. Wikimedia serves bots only when they name a real contact: set it to e.g. "
        '"CityVibes/1.0 (https://your.site; you@your.site)"'
    )


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date. None if unusable."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


class HostRateLimiter:
    """Per host, shared by all threads of a fetcher: requests in flight, the gap between starts, and pauses."""

    def __init__(self, interval: float, max_in_flight: int = 8):
        self.interval = interval
        self.max_in_flight = max(1, max_in_flight)
        self._next_slot: dict[str, float] = {}
        self._in_flight: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def cap(self, host: str) -> int:
        if is_wikimedia_host(host):
            return min(WIKIMEDIA_MAX_IN_FLIGHT, self.max_in_flight)
        return self.max_in_flight

    def wait(self, host: str) -> None:
        """Sleep until this host's next start slot (the interval, or a pause it asked for)."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = slot + self.interval
        if slot > now:
            time.sleep(slot - now)

    def pause(self, host: str, seconds: float) -> None:
        """No request to `host` starts in the next `seconds` (it said Retry-After), from any thread."""
        with self._lock:
            until = time.monotonic() + seconds
            self._next_slot[host] = max(self._next_slot.get(host, until), until)

    @contextmanager
    def slot(self, host: str, timeout: float):
        """Hold one of the host's in-flight places for a whole request (until its body is read or dropped).
        Raises TimeoutError if none frees up within `timeout` seconds."""
        with self._lock:
            semaphore = self._in_flight.get(host)
            if semaphore is None:
                semaphore = self._in_flight[host] = threading.BoundedSemaphore(self.cap(host))
        if not semaphore.acquire(timeout=max(0.0, timeout)):
            raise TimeoutError(host)
        try:
            self.wait(host)
            yield
        finally:
            semaphore.release()
