"""The scraper's SSRF guard: which URLs and addresses it may connect to, and the errors of a fetch.

http and https only; the host is resolved and every address it resolves to must be public (not loopback,
private, link-local, multicast, reserved, unspecified...), also when wrapped in IPv6. `check_url` returns the
Target to connect to: the address that was checked, so a second DNS answer cannot swap in another one.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

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
    """Worth another try: a connection error, a timeout, a 5xx or 429 answer. `retry_after`: the seconds the
    server asked us to wait (Retry-After), if it said."""

    retryable = True

    def __init__(self, url: str, reason: str, retry_after: float | None = None):
        super().__init__(url, reason)
        self.retry_after = retry_after


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
