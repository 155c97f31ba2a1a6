"""Outbound HTTP for scraping: public addresses only, polite, and never more bytes than we can swallow.

Every request the scraper makes (API calls and image downloads alike) goes through a `SafeFetcher`:

- SSRF guard (ssrf.py): http and https only, and every address the host resolves to must be public. The
  connection then goes to the address that was checked, so a second DNS answer cannot swap in an internal
  one (DNS rebinding). Redirects are followed by hand, a bounded number of hops, each one checked the same way.
- Politeness (politeness.py): per host, a cap on requests in flight (2 for Wikimedia) and a minimum interval
  between starts, across threads; Wikimedia hosts only with a User-Agent naming a real contact. Connect and
  read timeouts plus an overall deadline; bounded retries for connection errors, timeouts, 5xx and 429
  answers, after the host's Retry-After (seconds or an HTTP date) when it sends one, else with exponential
  backoff, and never past the deadline. Any other 4xx answer is final.
- Size: the body is streamed and dropped as soon as it crosses the limit; Content-Length is only a hint.
- Secrets: log lines name a URL without its query string (where API keys travel); tokens go in headers.
"""

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urljoin, urlsplit

import urllib3
from django.conf import settings
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from .politeness import HostRateLimiter, contact_problem, is_wikimedia_host, parse_retry_after
from .ssrf import FetchError, Target, TooLarge, TransientFetchError, UnsafeURL, check_url, classify_address

__all__ = [
    "FetchError",
    "HostRateLimiter",
    "SafeFetcher",
    "TooLarge",
    "TransientFetchError",
    "UnsafeURL",
    "check_url",
    "classify_address",
]

log = logging.getLogger(__name__)

REDIRECT_STATUSES = {301, 302, 303, 307, 308}
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content_type: str  # lower case, without parameters
    body: bytes
    headers: dict = field(default_factory=dict)  # names in lower case


def loggable(url: str) -> str:
    """`url` without its query string, for log lines: keys and tokens travel there."""
    parts = urlsplit(url)
    return parts._replace(query="…" if parts.query else "", fragment="").geturl()


@dataclass(frozen=True)
class _Redirect:
    location: str


def with_params(url: str, params: dict | None) -> str:
    if not params:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


class SafeFetcher:
    """Thread-safe; one per scrape run. Settings are read once, when it is made."""

    def __init__(
        self,
        *,
        pool_size: int = 8,
        timeout: float | None = None,
        retries: int | None = None,
        ca_certs: str | None = None,
    ):
        """`timeout` and `retries` override the settings, e.g. for a quick "is it reachable?" probe;
        `ca_certs` is a CA bundle to trust instead of the system's (tests of the TLS path)."""
        self.ca_certs = ca_certs
        self.allow_loopback = settings.SCRAPE_ALLOW_LOOPBACK
        self.connect_timeout = timeout or settings.SCRAPE_CONNECT_TIMEOUT
        self.read_timeout = timeout or settings.SCRAPE_READ_TIMEOUT
        self.deadline_seconds = timeout or settings.SCRAPE_DEADLINE_SECONDS
        self.max_redirects = settings.SCRAPE_MAX_REDIRECTS
        self.retries = settings.SCRAPE_RETRIES if retries is None else retries
        self.backoff = settings.SCRAPE_BACKOFF_SECONDS
        self.user_agent = f"{settings.SCRAPE_USER_AGENT} urllib3/{urllib3.__version__}"
        self.contact_problem = contact_problem(settings.SCRAPE_USER_AGENT)
        self.limiter = HostRateLimiter(
            settings.SCRAPE_HOST_INTERVAL_SECONDS, max_in_flight=settings.SCRAPE_HOST_MAX_IN_FLIGHT
        )
        self.pool_size = pool_size
        self._pools: dict[tuple, urllib3.HTTPConnectionPool] = {}
        self._lock = threading.Lock()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    def get(
        self,
        url: str,
        *,
        accept: tuple[str, ...],
        max_bytes: int,
        params: dict | None = None,
        headers: dict | None = None,
    ) -> Fetched:
        """GET `url`, following up to SCRAPE_MAX_REDIRECTS checked redirects. Raises FetchError."""
        deadline = time.monotonic() + self.deadline_seconds
        current = with_params(url, params)
        for _hop in range(self.max_redirects + 1):
            target = self._target(current)
            answer = self._with_retries("GET", target, accept, max_bytes, deadline, headers or {})
            if isinstance(answer, Fetched):
                return answer
            current = urljoin(current, answer.location)
        raise FetchError(url, f"more than {self.max_redirects} redirects")

    def post_form(self, url: str, fields: dict, *, max_bytes: int = 1024 * 1024) -> dict:
        """POST `fields` as a form to a JSON API (e.g. an OAuth2 token endpoint); no redirects. The JSON."""
        target = self._target(url)
        body = urlencode(fields).encode()
        extra = {"Content-Type": "application/x-www-form-urlencoded"}
        answer = self._with_retries(
            "POST",
            target,
            ("application/json",),
            max_bytes,
            time.monotonic() + self.deadline_seconds,
            extra,
            body,
        )
        if not isinstance(answer, Fetched):
            raise FetchError(url, "answered a POST with a redirect")
        return self._json(answer)

    def get_json(
        self, url: str, params: dict | None = None, *, headers: dict | None = None, max_bytes=5 << 20
    ):
        return self.get_json_answer(url, params, headers=headers, max_bytes=max_bytes)[0]

    def get_json_answer(
        self, url: str, params: dict | None = None, *, headers: dict | None = None, max_bytes: int = 5 << 20
    ) -> tuple[dict, dict]:
        """The JSON and the response headers (lower-case names): APIs say "slow down" in headers."""
        fetched = self.get(
            url, params=params, headers=headers, accept=("application/json",), max_bytes=max_bytes
        )
        return self._json(fetched), fetched.headers

    @staticmethod
    def _json(fetched: Fetched):
        try:
            return json.loads(fetched.body)
        except ValueError as exc:
            raise FetchError(fetched.url, f"the answer is not valid JSON ({exc})") from None

    def _target(self, url: str) -> Target:
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            host = ""
        if self.contact_problem and is_wikimedia_host(host):
            raise FetchError(url, self.contact_problem)  # before anything reaches Wikimedia
        return check_url(url, allow_loopback=self.allow_loopback)

    def _with_retries(
        self, method, target: Target, accept, max_bytes: int, deadline: float, headers, body=None
    ):
        for attempt in range(self.retries + 1):
            try:
                return self._request(method, target, accept, max_bytes, deadline, headers, body)
            except TransientFetchError as exc:
                if attempt == self.retries:
                    raise
                asked = exc.retry_after is not None
                pause = exc.retry_after if asked else self.backoff * 2**attempt
                if time.monotonic() + pause > deadline:
                    if asked:  # waiting would outlast this request's deadline: stop now, say why
                        raise FetchError(
                            target.url, f"{exc.reason}; asked to retry after {pause:g} s, past the deadline"
                        ) from None
                    raise
                log.info("retrying %s in %.1f s: %s", loggable(target.url), pause, exc.reason)
                if asked:
                    self.limiter.pause(target.host, pause)  # every thread waits for this host, not only us
                else:
                    time.sleep(pause)
        raise AssertionError("unreachable")

    def _pool(self, target: Target) -> urllib3.HTTPConnectionPool:
        key = (target.scheme, target.address, target.port, target.host)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                options = {"maxsize": self.pool_size, "block": False, "retries": False}
                if target.scheme == "https":
                    # Connect to the checked address; the certificate must still match the host name.
                    pool = urllib3.HTTPSConnectionPool(
                        target.address,
                        target.port,
                        server_hostname=target.host,
                        assert_hostname=target.host,
                        cert_reqs="CERT_REQUIRED",
                        ca_certs=self.ca_certs,
                        **options,
                    )
                else:
                    pool = urllib3.HTTPConnectionPool(target.address, target.port, **options)
                self._pools[key] = pool
        return pool

    def _request(self, method, target: Target, accept, max_bytes: int, deadline: float, extra, body):
        try:
            with self.limiter.slot(target.host, timeout=deadline - time.monotonic()):
                return self._request_in_slot(method, target, accept, max_bytes, deadline, extra, body)
        except TimeoutError:
            raise FetchError(
                target.url, f"no free connection to {target.host} within {self.deadline_seconds:g} s"
            ) from None

    def _request_in_slot(self, method, target: Target, accept, max_bytes: int, deadline: float, extra, body):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(target.url, f"gave up after {self.deadline_seconds:g} s")
        headers = {
            **extra,
            "Host": target.host_header,
            "User-Agent": self.user_agent,
            "Accept": ", ".join(accept),
            # Images arrive as they are; only JSON may come compressed (small, and bounded below).
            "Accept-Encoding": "gzip" if accept == ("application/json",) else "identity",
        }
        timeout = urllib3.Timeout(
            connect=min(self.connect_timeout, remaining), read=min(self.read_timeout, remaining)
        )
        try:
            response = self._pool(target).urlopen(
                method,
                target.request_target,
                body=body,
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
                timeout=timeout,
            )
        except SSLError as exc:
            raise FetchError(target.url, f"TLS error ({exc})") from None
        except NewConnectionError as exc:  # a subclass of the timeout error in urllib3: test it first
            raise TransientFetchError(target.url, f"connection failed ({exc.__cause__ or exc})") from None
        except Urllib3Timeout:
            raise TransientFetchError(target.url, "timed out") from None
        except Urllib3Error as exc:
            raise TransientFetchError(target.url, f"connection failed ({type(exc).__name__})") from None
        try:
            return self._answer(target, response, accept, max_bytes, deadline)
        finally:
            # Close rather than drain: an abandoned body (too big, too slow) must not be read to its end.
            response.close()
            response.release_conn()

    def _answer(self, target: Target, response, accept, max_bytes: int, deadline: float):
        status = response.status
        if status in REDIRECT_STATUSES and response.headers.get("Location"):
            return _Redirect(response.headers["Location"])
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            words = " (too many requests)" if status == 429 else ""
            raise TransientFetchError(target.url, f"HTTP {status}{words}", retry_after)
        if status != 200:
            raise FetchError(target.url, f"HTTP {status}")
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type not in accept:
            raise FetchError(
                target.url, f"content type '{content_type or 'none'}' is not one of {', '.join(accept)}"
            )
        announced = response.headers.get("Content-Length", "")
        if announced.isdigit() and int(announced) > max_bytes:
            raise TooLarge(target.url, f"announces {int(announced):,} bytes; the limit is {max_bytes:,}")
        chunks, total = [], 0
        try:
            for chunk in response.stream(CHUNK_BYTES):
                total += len(chunk)
                if total > max_bytes:
                    raise TooLarge(
                        target.url, f"the body passed the limit of {max_bytes:,} bytes; stopped there"
                    )
                if time.monotonic() > deadline:
                    raise FetchError(target.url, f"still downloading after {self.deadline_seconds:g} s")
                chunks.append(chunk)
        except Urllib3Timeout:
            raise TransientFetchError(target.url, "timed out while reading") from None
        except Urllib3Error as exc:
            raise TransientFetchError(target.url, f"the download broke off ({type(exc).__name__})") from None
        headers = {name.lower(): value for name, value in response.headers.items()}
        return Fetched(url=target.url, content_type=content_type, body=b"".join(chunks), headers=headers)


def unreachable_because(url: str, params: dict | None = None, *, timeout: float = 4.0) -> str | None:
    """None if the JSON API at `url` answers within about `timeout` seconds; otherwise why not (for people).

    The probe runs on a thread so that a resolver that hangs cannot hold the caller past the timeout.
    """
    outcome: dict[str, str] = {}

    def probe():
        try:
            with SafeFetcher(timeout=timeout, retries=0) as fetcher:
                fetcher.get_json(url, params)
            outcome["ok"] = "yes"
        except FetchError as exc:
            outcome["why"] = exc.reason

    thread = threading.Thread(target=probe, name="api-probe", daemon=True)
    thread.start()
    thread.join(timeout + 1)
    if thread.is_alive():
        return f"no answer within {timeout:g} s"
    return None if outcome.get("ok") else outcome.get("why", "unknown error")
