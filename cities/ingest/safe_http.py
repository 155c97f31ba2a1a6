"""Outbound HTTP for scraping: public addresses only, polite, and never more bytes than we can swallow.

Every request the scraper makes (API calls and image downloads alike) goes through `SafeFetcher.get`:

- SSRF guard: http and https only. The host is resolved and every address it resolves to must be public
  (not loopback, private, link-local, multicast, reserved, unspecified...). The connection then goes to the
  address that was checked, so a second DNS answer cannot swap in an internal one (DNS rebinding). Redirects
  are followed by hand, a bounded number of hops, each one checked the same way.
- Politeness: a minimum interval between two requests to one host (across threads), connect and read
  timeouts plus an overall deadline, and bounded retries with exponential backoff for connection errors,
  timeouts and 5xx answers. A 4xx answer is final.
- Size: the body is streamed and dropped as soon as it crosses the limit; Content-Length is only a hint.
"""

import ipaddress
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit

import urllib3
from django.conf import settings
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

log = logging.getLogger(__name__)

REDIRECT_STATUSES = {301, 302, 303, 307, 308}
CHUNK_BYTES = 64 * 1024
# NAT64 gateways map this prefix onto IPv4, so an address in it is only as public as the IPv4 inside.
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")


class FetchError(Exception):
    """A request that gave no usable answer. `reason` is for people; `retryable` for the retry loop."""

    retryable = False

    def __init__(self, url: str, reason: str):
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class TransientFetchError(FetchError):
    """Worth another try: a connection error, a timeout or a 5xx answer."""

    retryable = True


class UnsafeURL(FetchError):
    """Refused before connecting: not http(s), or a host that is (or resolves to) a non-public address."""


class TooLarge(FetchError):
    """The body crossed the size limit; we stopped reading there."""


def classify_address(address: str, *, allow_loopback: bool = False) -> str | None:
    """Why we must not connect to this IP address ("private", "link-local"...), or None if it is public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id ("fe80::1%eth0")
    if ip.version == 6:
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in NAT64_PREFIX:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return classify_address(str(embedded), allow_loopback=allow_loopback)
    if ip.is_loopback:
        return None if allow_loopback else "loopback"
    for reason, hit in (
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("not globally routable", not ip.is_global),
    ):
        if hit:
            return reason
    return None


@dataclass(frozen=True)
class Target:
    """One checked hop: where the URL points and the address we will connect to."""

    url: str
    scheme: str
    host: str
    port: int
    address: str
    request_target: str  # path and query, as sent on the request line
    host_header: str


def resolve(url: str, host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        error = TransientFetchError if exc.errno == socket.EAI_AGAIN else FetchError
        raise error(url, f"cannot resolve {host} ({exc.strerror})") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def check_url(url: str, *, allow_loopback: bool) -> Target:
    """The Target for `url`, or UnsafeURL. Every address the host resolves to must be public."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeURL(url, f"only http and https URLs are fetched, not '{scheme or 'none'}'")
    try:
        host, port = parts.hostname, parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise UnsafeURL(url, "the port is not a number") from None
    if not host:
        raise UnsafeURL(url, "the URL has no host")
    addresses = resolve(url, host, port)
    for address in addresses:
        reason = classify_address(address, allow_loopback=allow_loopback)
        if reason:
            raise UnsafeURL(url, f"{host} resolves to {address}, a {reason} address")
    if not addresses:
        raise FetchError(url, f"{host} resolves to no address")
    bracketed = f"[{host}]" if ":" in host else host
    default_port = port == (443 if scheme == "https" else 80)
    return Target(
        url=url,
        scheme=scheme,
        host=host,
        port=port,
        address=addresses[0],
        request_target=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        host_header=bracketed if default_port else f"{bracketed}:{port}",
    )


class HostRateLimiter:
    """At most one request per `interval` seconds to each host, shared by all threads of a fetcher."""

    def __init__(self, interval: float):
        self.interval = interval
        self._next_slot: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, host: str) -> None:
        if self.interval <= 0:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content_type: str  # lower case, without parameters
    body: bytes


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
        self.limiter = HostRateLimiter(settings.SCRAPE_HOST_INTERVAL_SECONDS)
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
        self, url: str, *, accept: tuple[str, ...], max_bytes: int, params: dict | None = None
    ) -> Fetched:
        """GET `url`, following up to SCRAPE_MAX_REDIRECTS checked redirects. Raises FetchError."""
        deadline = time.monotonic() + self.deadline_seconds
        current = with_params(url, params)
        for _hop in range(self.max_redirects + 1):
            target = check_url(current, allow_loopback=self.allow_loopback)
            answer = self._with_retries(target, accept, max_bytes, deadline)
            if isinstance(answer, Fetched):
                return answer
            current = urljoin(current, answer.location)
        raise FetchError(url, f"more than {self.max_redirects} redirects")

    def get_json(self, url: str, params: dict | None = None, *, max_bytes: int = 5 * 1024 * 1024):
        fetched = self.get(url, params=params, accept=("application/json",), max_bytes=max_bytes)
        try:
            return json.loads(fetched.body)
        except ValueError as exc:
            raise FetchError(url, f"the answer is not valid JSON ({exc})") from None

    def _with_retries(self, target: Target, accept, max_bytes: int, deadline: float):
        for attempt in range(self.retries + 1):
            try:
                return self._request(target, accept, max_bytes, deadline)
            except TransientFetchError as exc:
                pause = self.backoff * 2**attempt
                if attempt == self.retries or time.monotonic() + pause > deadline:
                    raise
                log.info("retrying %s in %.1f s: %s", target.url, pause, exc.reason)
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

    def _request(self, target: Target, accept, max_bytes: int, deadline: float):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(target.url, f"gave up after {self.deadline_seconds:g} s")
        self.limiter.wait(target.host)
        headers = {
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
                "GET",
                target.request_target,
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
        if status >= 500:
            raise TransientFetchError(target.url, f"HTTP {status}")
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
        return Fetched(url=target.url, content_type=content_type, body=b"".join(chunks))
