"""The Openverse API (v1) as the scraper uses it, answered the way the real one answers.

`GET /v1/images/?q=…&license=…&page_size=…&page=…`: `result_count`, `page_count`, `page_size`, `page` and
`results` with Openverse's field names; anonymous clients may ask for 20 a page (401 above that) and 20 pages
(400 past them). Every answer carries the throttle headers (`X-RateLimit-Limit-<scope>` "60/min",
`X-RateLimit-Available-<scope>`); past the burst (a sliding window) it answers 429 with a Retry-After that says
when the oldest call leaves the window. `POST
/v1/auth_tokens/token/` (client credentials) hands out Bearer tokens for the registered `clients`.
"""

import io
import math
import threading
import time
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs

from PIL import Image

OPENVERSE_HOST = "api.openverse.org"
FLICKR_HOST = "live.staticflickr.com"
ANONYMOUS_PAGE_SIZE = 20
MAX_PAGES = 20
LICENCE_URLS = {
    "cc0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "pdm": "https://creativecommons.org/publicdomain/mark/1.0/",
}
LICENCE_NAMES = {"cc0": "CC0", "pdm": "Public Domain Mark"}


@dataclass
class OpenverseImage:
    id: str
    title: str
    path: str
    host: str
    topic: str
    license: str
    license_version: str
    creator: str | None
    source: str
    filetype: str | None
    mature: bool
    width: int
    height: int
    filesize: int | None


class FakeOpenverse:
    def __init__(self, web):
        self.web = web
        self.images: list[OpenverseImage] = []
        self.honours_licence_filter = True  # False: answer as if the filter were lost on the way
        self.burst = (60, 60)  # (requests, seconds) per client, a sliding window as Django REST framework's
        self.clients: dict[str, str] = {}  # client_id -> client_secret
        self.tokens: set[str] = set()
        self._calls: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def add_image(
        self,
        title: str,
        body: bytes,
        *,
        topic: str,
        license: str = "by",
        license_version: str = "2.0",
        creator: str | None = "Jane Doe",
        source: str = "flickr",
        filetype: str | None = "jpg",
        host: str = FLICKR_HOST,
        mature: bool = False,
        content_type: str = "image/jpeg",
        **route_options,
    ) -> str:
        path = f"/{source}/{len(self.images)}/{title.replace(' ', '_')}"
        self.web.serve(path, body, content_type, **route_options)
        try:
            with Image.open(io.BytesIO(body)) as image:
                width, height = image.size
        except Exception:
            width, height = 1024, 768
        image_id = str(uuid.UUID(int=len(self.images) + 1))
        self.images.append(
            OpenverseImage(
                image_id, title, path, host, topic, license, license_version, creator, source, filetype,
                mature, width, height, len(body) or None,
            )
        )  # fmt: skip
        return path

    # -- the API ---------------------------------------------------------------------------------------------
    def token(self, request, seen) -> None:
        form = {k: v[0] for k, v in parse_qs(seen.body.decode()).items()}
        client_id = form.get("client_id", "")
        known = client_id in self.clients and self.clients[client_id] == form.get("client_secret")
        if form.get("grant_type") != "client_credentials" or not known:
            return self.web.send_json(request, {"error": "invalid_client"}, 401)
        token = uuid.uuid4().hex
        self.tokens.add(token)
        answer = {
            "access_token": token,
            "scope": "read write groups",
            "expires_in": 36000,
            "token_type": "Bearer",
        }
        self.web.send_json(request, answer)

    def search(self, request, seen) -> None:
        authorization = seen.headers.get("authorization", "")
        authenticated = authorization.removeprefix("Bearer ") in self.tokens
        if authorization and not authenticated:
            return self.web.send_json(request, {"detail": "Invalid token."}, 401)
        scope = "oauth2_client_credentials_burst" if authenticated else "anon_burst"
        limit, period = self.burst
        with self._lock:
            now = time.monotonic()
            calls = [t for t in self._calls.get(scope, []) if now - t < period]
            if len(calls) >= limit:
                wait = max(1, math.ceil(period - (now - calls[0])))  # until the oldest call leaves the window
                detail = f"Request was throttled. Expected available in {wait} seconds."
                return self.web.send_json(request, {"detail": detail}, 429, {"Retry-After": str(wait)})
            calls.append(now)
            self._calls[scope] = calls
        headers = {
            f"X-RateLimit-Limit-{scope}": f"{limit}/min" if period == 60 else f"{limit}/{period}s",
            f"X-RateLimit-Available-{scope}": str(limit - len(calls)),
        }
        query = seen.query
        page, page_size = int(query.get("page", 1)), int(query.get("page_size", 20))
        if page_size > ANONYMOUS_PAGE_SIZE and not authenticated:
            detail = "Authentication is required to access page_size > 20."
            return self.web.send_json(request, {"detail": detail}, 401, headers)
        if page > MAX_PAGES:
            return self.web.send_json(request, {"detail": "Invalid page: must be 20 or fewer."}, 400, headers)
        q = query.get("q", "")
        self.web.searches.append(q)
        found = [i for i in self.images if i.topic.lower() in q.lower() and not i.mature]
        wanted = set(filter(None, query.get("license", "").lower().split(",")))
        if wanted and self.honours_licence_filter:
            found = [i for i in found if i.license in wanted]
        results = found[(page - 1) * page_size : page * page_size]
        answer = {
            "result_count": len(found),
            "page_count": min(MAX_PAGES, math.ceil(len(found) / page_size)),
            "page_size": page_size,
            "page": page,
            "results": [self._result(i, q) for i in results],
            "warnings": [],
        }
        self.web.send_json(request, answer, 200, headers)

    def _result(self, image: OpenverseImage, q: str) -> dict:
        api = self.web.url("/v1/", OPENVERSE_HOST)
        licence_url = LICENCE_URLS.get(image.license) or (
            f"https://creativecommons.org/licenses/{image.license}/{image.license_version}/"
        )
        licence_name = (
            f"{LICENCE_NAMES.get(image.license) or 'CC ' + image.license.upper()} {image.license_version}"
        )
        creator = image.creator or "Unknown"
        return {
            "id": image.id,
            "title": image.title,
            "indexed_on": "2024-05-01T12:00:00Z",
            "foreign_landing_url": f"https://www.flickr.com/photos/{creator.lower().replace(' ', '')}/{image.id[-6:]}",
            "url": self.web.url(image.path, image.host),
            "creator": image.creator,
            "creator_url": f"https://www.flickr.com/photos/{creator.lower().replace(' ', '')}",
            "license": image.license,
            "license_version": image.license_version,
            "license_url": licence_url,
            "provider": image.source,
            "source": image.source,
            "category": "photograph",
            "filesize": image.filesize,
            "filetype": image.filetype,
            "tags": [{"accuracy": None, "name": image.topic.lower(), "unstable__provider": image.source}],
            "attribution": (
                f'"{image.title}" by {creator} is licensed under {licence_name}. To view a copy of this '
                f"license, visit {licence_url}."
            ),
            "fields_matched": ["title"] if q.lower() in image.title.lower() else ["tags.name"],
            "mature": image.mature,
            "height": image.height,
            "width": image.width,
            "thumbnail": f"{api}images/{image.id}/thumb/",
            "detail_url": f"{api}images/{image.id}/",
            "related_url": f"{api}images/{image.id}/related/",
            "unstable__sensitivity": [],
        }
