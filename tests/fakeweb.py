"""A local stand-in for the web the scraper talks to: Wikimedia Commons, Openverse and the image hosts.

A real HTTP server (ThreadingHTTPServer on 127.0.0.1, a random port): the scraper talks to it exactly as it
would to the Internet. Under the `fake_web` fixture a resolver at the network edge (FakeDNS) sends the real
names (commons.wikimedia.org, upload.wikimedia.org, api.openverse.org, live.staticflickr.com) to it, so the
client's per-host rules apply as they would for real. It answers like the MediaWiki API (fake_commons.py)
and the Openverse API (fake_openverse.py), serves files with whatever status, type and pacing a test asks
for, and records every request: what was asked, with which headers, and how many were in flight at once.
"""

import json
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

from tests.fake_commons import COMMONS_HOST, UPLOAD_HOST, FakeCommons
from tests.fake_openverse import FLICKR_HOST, OPENVERSE_HOST, FakeOpenverse
from tests.helpers import encode, photo_like  # noqa: F401  (re-exported for the scrape tests)

FAKE_HOSTS = (COMMONS_HOST, UPLOAD_HOST, OPENVERSE_HOST, FLICKR_HOST)


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "image/jpeg"
    status: int = 200
    headers: dict | None = None
    handler: Callable | None = None  # handler(request) -> None writes its own answer
    delay: float = 0.0  # seconds before answering (to see how many requests a client keeps in flight)


@dataclass
class Seen:
    """One request as the server saw it."""

    method: str
    host: str  # from the Host header, without the port
    path: str
    query: dict
    headers: dict  # names in lower case
    at: float = field(default_factory=time.monotonic)
    body: bytes = b""
    answered: bool = False


class FakeWeb:
    def __init__(self, tls: tuple[str, str] | None = None):
        """`tls`: (certificate, key) files to serve HTTPS as "localhost" instead of HTTP."""
        self.tls = tls
        self.named_hosts = False  # True once FakeDNS sends FAKE_HOSTS here (the fake_web fixture)
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.bytes_sent: Counter[str] = Counter()
        self.requests: list[Seen] = []
        # Per host: requests that arrived and are not answered yet, now and at most. Counted until the answer
        # starts, a span inside the client's (which ends once it has read the body), so never more than it.
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        self.searches: list[str] = []  # the search text of every API search, in order
        self._lock = threading.Lock()
        self.commons = FakeCommons(self)
        self.openverse = FakeOpenverse(self)
        self.apis = {
            "/w/api.php": self.commons.answer,
            "/v1/images/": self.openverse.search,
            "/v1/auth_tokens/token/": self.openverse.token,
        }
        web = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                web._dispatch(self, "GET")

            def do_POST(self):
                web._dispatch(self, "POST")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.server.handle_error = lambda request, address: None  # a client hanging up is expected
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- life cycle ------------------------------------------------------------------------------------------
    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"https://localhost:{port}" if self.tls else f"http://{host}:{port}"

    def url(self, path: str, host: str | None = None) -> str:
        """Where `path` is served; under `host`'s name once FakeDNS resolves it here."""
        if host and self.named_hosts:
            return f"http://{host}:{self.port}{path}"
        return f"{self.base}{path}"

    # -- what it serves --------------------------------------------------------------------------------------
    def serve(
        self,
        path: str,
        body: bytes = b"",
        content_type: str = "image/jpeg",
        *,
        host: str | None = None,
        **options,
    ) -> str:
        self.routes[path] = Route(body=body, content_type=content_type, **options)
        return self.url(path, host)

    def add_commons_file(self, title: str, body: bytes, **options) -> str:
        """A file on Commons (see FakeCommons.add_file); returns the path its original is served at."""
        return self.commons.add_file(title, body, **options)

    def add_openverse_image(self, title: str, body: bytes, **options) -> str:
        return self.openverse.add_image(title, body, **options)

    def seen(self, path: str) -> list[Seen]:
        return [request for request in self.requests if request.path == path]

    # -- request handling ------------------------------------------------------------------------------------
    def _dispatch(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        host = (request.headers.get("Host") or "").rsplit(":", 1)[0]
        length = int(request.headers.get("Content-Length") or 0)
        seen = Seen(
            method=method,
            host=host,
            path=parts.path,
            query={k: v[0] for k, v in parse_qs(parts.query).items()},
            headers={name.lower(): value for name, value in request.headers.items()},
            body=request.rfile.read(length) if length else b"",
        )
        with self._lock:
            self.hits[parts.path] += 1
            self.requests.append(seen)
            self.in_flight[host] += 1
            self.max_in_flight[host] = max(self.max_in_flight[host], self.in_flight[host])
        try:
            self._answer(request, seen)
        finally:
            self._answering(seen)

    def _answering(self, seen: Seen) -> None:
        with self._lock:
            if not seen.answered:
                seen.answered = True
                self.in_flight[seen.host] -= 1

    def _answer(self, request: BaseHTTPRequestHandler, seen: Seen) -> None:
        route = self.routes.get(seen.path)
        if route and route.delay:
            time.sleep(route.delay)
        self._answering(seen)
        api = self.apis.get(seen.path)
        if api:
            return api(request, seen)
        if route is None:
            return self.send(request, seen.path, 404, "text/plain", b"not found")
        if route.handler:
            return route.handler(request)
        self.send(request, seen.path, route.status, route.content_type, route.body, route.headers)

    def send(self, request, path, status, content_type, body: bytes, headers=None) -> None:
        try:
            request.send_response(status)
            request.send_header("Content-Type", content_type)
            request.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                request.send_header(name, value)
            request.end_headers()
            request.wfile.write(body)
        except OSError:
            return  # the client hung up
        with self._lock:
            self.bytes_sent[path] += len(body)

    def send_json(self, request, payload, status: int = 200, headers=None) -> None:
        body = json.dumps(payload).encode()
        self.send(request, urlsplit(request.path).path, status, "application/json", body, headers)


def http_date_in(seconds: float) -> str:
    """A Retry-After value in its HTTP-date form, `seconds` from now."""
    return format_datetime(datetime.fromtimestamp(time.time() + seconds, UTC), usegmt=True)


class FakeDNS:
    """A resolver at the network edge (socket.getaddrinfo, which our client and urllib3 both ask).

    `answers[host]` is one answer per question, the last one repeating; names in `unresolvable` fail like a
    name with no DNS record. Numeric addresses and other names go to the real resolver. Only loopback
    addresses are ever connected to: private ones in answers are only ever checked."""

    def __init__(self, monkeypatch):
        self.answers: dict[str, list[list[str]]] = {}
        self.unresolvable: set[str] = set()
        self.asked: Counter[str] = Counter()
        real = socket.getaddrinfo

        def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
            if host in self.unresolvable:
                self.asked[host] += 1
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            if host not in self.answers:
                return real(host, port, family, type, proto, flags)
            self.asked[host] += 1
            answers = self.answers[host]
            addresses = answers[min(self.asked[host], len(answers)) - 1]
            port = int(port or 0)
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port, 0, 0))
                if ":" in a
                else (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port))
                for a in addresses
            ]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    def point_at_fake_web(self, web: FakeWeb) -> None:
        for host in FAKE_HOSTS:
            self.answers[host] = [["127.0.0.1"]]
        web.named_hosts = True


def stream_forever(total_bytes: int, counter: Counter, path: str, content_type="image/jpeg"):
    """A handler that sends `total_bytes` of JPEG-ish bytes in chunks, with no Content-Length, counting them."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", content_type)
        request.end_headers()
        chunk = b"\xff\xd8\xff\xe0" + b"\0" * (64 * 1024 - 4)
        sent = 0
        try:
            while sent < total_bytes:
                request.wfile.write(chunk)
                sent += len(chunk)
                counter[path] += len(chunk)
        except OSError:
            pass  # the client stopped reading and closed: what we want

    return handler


def sleep_then(seconds: float, body: bytes, content_type="image/jpeg"):
    def handler(request: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        try:
            request.send_response(200)
            request.send_header("Content-Type", content_type)
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        except OSError:
            pass

    return handler


def fail_first(times: int, body: bytes, content_type="image/jpeg", status: int = 500, headers=None):
    """Answers `status` (with `headers`, e.g. a Retry-After) the first `times` requests, then the file."""
    calls = SimpleNamespace(n=0)
    lock = threading.Lock()

    def handler(request: BaseHTTPRequestHandler) -> None:
        with lock:
            calls.n += 1
            failing = calls.n <= times
        answer = (status, "text/plain", b"try again") if failing else (200, content_type, body)
        request.send_response(answer[0])
        request.send_header("Content-Type", answer[1])
        request.send_header("Content-Length", str(len(answer[2])))
        for name, value in (headers or {}).items() if failing else ():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(answer[2])

    return handler
