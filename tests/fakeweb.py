"""A local stand-in for Wikimedia Commons, Google Custom Search and the image hosts behind them.

A real HTTP server (ThreadingHTTPServer on 127.0.0.1, a random port): the scraper talks to it exactly as it
would to the Internet. It answers the MediaWiki API (generator=search + imageinfo/extmetadata, formatversion
2) and the Custom Search JSON API, and serves files with whatever status, type and pacing a test asks for.
"""

import json
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.helpers import encode, photo_like  # noqa: F401  (re-exported for the scrape tests)


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "image/jpeg"
    status: int = 200
    headers: dict | None = None
    handler: Callable | None = None  # handler(request) -> None writes its own answer


@dataclass
class CommonsFile:
    title: str
    path: str  # where the server serves it
    mime: str
    licence: str
    artist: str
    licence_url: str
    non_free: bool
    topic: str  # the file turns up in searches containing this text


class FakeWeb:
    def __init__(self, tls: tuple[str, str] | None = None):
        """`tls`: (certificate, key) files to serve HTTPS as "localhost" instead of HTTP."""
        self.tls = tls
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.bytes_sent: Counter[str] = Counter()
        self.searches: list[str] = []
        self.commons: list[CommonsFile] = []
        self.google: list[dict] = []
        self._lock = threading.Lock()
        web = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                web._dispatch(self)

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
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"https://localhost:{port}" if self.tls else f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    # -- what it serves --------------------------------------------------------------------------------------
    def serve(self, path: str, body: bytes = b"", content_type: str = "image/jpeg", **options) -> str:
        self.routes[path] = Route(body=body, content_type=content_type, **options)
        return self.url(path)

    def add_commons_file(
        self,
        title: str,
        body: bytes,
        *,
        topic: str,
        mime: str = "image/jpeg",
        licence: str = "CC BY-SA 4.0",
        artist: str = '<a href="//commons.wikimedia.org/wiki/User:Jane">Jane &amp; Co</a>',
        licence_url: str = "https://creativecommons.org/licenses/by-sa/4.0",
        non_free: bool = False,
        **route_options,
    ) -> str:
        path = f"/upload/{len(self.commons)}/{title}"
        self.serve(path, body, route_options.pop("content_type", mime), **route_options)
        self.commons.append(CommonsFile(title, path, mime, licence, artist, licence_url, non_free, topic))
        return path

    def add_google_item(self, title: str, body: bytes, *, mime: str = "image/jpeg", **route_options) -> str:
        path = f"/google-img/{len(self.google)}/{title}"
        self.serve(path, body, route_options.pop("content_type", mime), **route_options)
        self.google.append({"title": title, "path": path, "mime": mime})
        return path

    # -- request handling ------------------------------------------------------------------------------------
    def _dispatch(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        with self._lock:
            self.hits[parts.path] += 1
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/w/api.php":
            return self._json(request, self._commons_answer(query))
        if parts.path == "/customsearch/v1":
            return self._json(request, *self._google_answer(query))
        route = self.routes.get(parts.path)
        if route is None:
            return self._send(request, parts.path, 404, "text/plain", b"not found")
        if route.handler:
            return route.handler(request)
        self._send(request, parts.path, route.status, route.content_type, route.body, route.headers)

    def _send(self, request, path, status, content_type, body: bytes, headers=None) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(body)
        with self._lock:
            self.bytes_sent[path] += len(body)

    def _json(self, request, payload: dict, status: int = 200) -> None:
        self._send(
            request, urlsplit(request.path).path, status, "application/json", json.dumps(payload).encode()
        )

    def _commons_answer(self, query: dict) -> dict:
        search = query.get("gsrsearch", "")
        self.searches.append(search)
        found = [f for f in self.commons if f.topic.lower() in search.lower()]
        offset, limit = int(query.get("gsroffset", 0)), int(query.get("gsrlimit", 10))
        page = found[offset : offset + limit]
        pages = [
            {
                "pageid": 1000 + i,
                "ns": 6,
                "title": f"File:{f.title}",
                "index": offset + i + 1,
                "imageinfo": [
                    {
                        "url": self.url(f.path),
                        "descriptionurl": f"https://commons.wikimedia.org/wiki/File:{f.title}",
                        "mime": f.mime,
                        "size": len(self.routes[f.path].body),
                        "width": 800,
                        "height": 600,
                        "extmetadata": {
                            "Artist": {"value": f.artist, "source": "commons-desc-page"},
                            "LicenseShortName": {"value": f.licence, "source": "commons-desc-page"},
                            "LicenseUrl": {"value": f.licence_url, "source": "commons-desc-page"},
                            "NonFree": {"value": "true" if f.non_free else "false"},
                        },
                    }
                ],
            }
            for i, f in enumerate(page)
        ]
        answer: dict = (
            {"batchcomplete": True, "query": {"pages": pages}} if pages else {"batchcomplete": True}
        )
        if offset + limit < len(found):
            answer["continue"] = {"gsroffset": offset + limit, "continue": "gsroffset||"}
        return answer

    def _google_answer(self, query: dict) -> tuple[dict, int]:
        if not query.get("key") or not query.get("cx"):
            return {"error": {"code": 400, "message": "API key not valid."}}, 400
        self.searches.append(query.get("q", ""))
        start, num = int(query.get("start", 1)), int(query.get("num", 10))
        items = [
            {
                "kind": "customsearch#result",
                "title": item["title"],
                "link": self.url(item["path"]),
                "displayLink": "photos.example.org",
                "mime": item["mime"],
                "image": {"contextLink": f"https://photos.example.org/p/{item['title']}", "byteSize": 1000},
            }
            for item in self.google[start - 1 : start - 1 + num]
        ]
        return {"kind": "customsearch#search", "items": items}, 200


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


def fail_first(times: int, body: bytes, content_type="image/jpeg", status: int = 500):
    """Answers `status` the first `times` requests, then the file."""
    calls = Counter()

    def handler(request: BaseHTTPRequestHandler) -> None:
        calls["n"] += 1
        answer = (status, "text/plain", b"try again") if calls["n"] <= times else (200, content_type, body)
        request.send_response(answer[0])
        request.send_header("Content-Type", answer[1])
        request.send_header("Content-Length", str(len(answer[2])))
        request.end_headers()
        request.wfile.write(answer[2])

    return handler
