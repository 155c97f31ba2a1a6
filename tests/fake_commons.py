"""The MediaWiki API of Wikimedia Commons as the scraper uses it, answered the way the real one answers.

`action=query&generator=search&prop=imageinfo` with `iiprop=url|size|mime|thumbmime|extmetadata` and
`iiurlwidth`: formatversion 2 gives `pages` as a list and true booleans (1 a dict by page id and "" flags);
image info comes at most `info_batch` files per answer with `continue.iicontinue` for the rest of the batch,
then `continue.gsroffset` for the next batch (`batchcomplete` only once a batch is whole). Files wider than
`iiurlwidth` get a real scaled copy (`thumburl`/`thumbwidth`/`thumbheight`/`thumbmime`), TIFFs always a JPEG
one. `filetype:bitmap` leaves out drawings (SVG). `meta=siteinfo` answers a probe. Set `maxlag_answers` to
answer that many calls with the maxlag error (HTTP 200, Retry-After), `throttled_answers` for HTTP 429s.
"""

import io
from dataclasses import dataclass

from PIL import Image

COMMONS_HOST = "commons.wikimedia.org"
UPLOAD_HOST = "upload.wikimedia.org"
BITMAP_TYPES = {"image/jpeg", "image/png", "image/gif", "image/tiff", "image/webp"}
THUMB_TYPES = {"image/tiff": ("image/jpeg", "JPEG", ".jpg")}  # rendered to another type even at full size
PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}
LICENCE_CODES = {
    "CC BY-SA 4.0": "cc-by-sa-4.0",
    "CC BY 2.0": "cc-by-2.0",
    "CC BY 4.0": "cc-by-4.0",
    "CC0": "cc0",
}


@dataclass
class CommonsFile:
    title: str
    path: str  # where the server serves the original
    mime: str
    licence: str  # LicenseShortName
    licence_code: str | None  # License (the machine-readable code); None: Commons gives none
    artist: str
    licence_url: str
    non_free: bool
    restrictions: str
    topic: str  # the file turns up in searches containing this text
    width: int
    height: int


class FakeCommons:
    def __init__(self, web):
        self.web = web
        self.files: list[CommonsFile] = []
        self.info_batch = 4  # image infos per answer; the rest of a batch follows with iicontinue
        self.scaled_copies = True  # False: every thumburl is the original (to test what originals do)
        self.maxlag_answers = 0
        self.throttled_answers = 0
        self.retry_after = "1"  # seconds, as Commons sends it (it says 5 or more; tests wait less)

    def add_file(
        self,
        title: str,
        body: bytes,
        *,
        topic: str,
        mime: str = "image/jpeg",
        licence: str = "CC BY-SA 4.0",
        licence_code: str | None = "",
        artist: str = '<a href="//commons.wikimedia.org/wiki/User:Jane">Jane &amp; Co</a>',
        licence_url: str = "https://creativecommons.org/licenses/by-sa/4.0",
        non_free: bool = False,
        restrictions: str = "",
        **route_options,
    ) -> str:
        """`licence_code` "" derives the `License` code from the short name where we know it."""
        path = f"/upload/{len(self.files)}/{title}"
        self.web.serve(path, body, route_options.pop("content_type", mime), **route_options)
        width, height = _size_of(body)
        code = LICENCE_CODES.get(licence) if licence_code == "" else licence_code
        self.files.append(
            CommonsFile(
                title,
                path,
                mime,
                licence,
                code,
                artist,
                licence_url,
                non_free,
                restrictions,
                topic,
                width,
                height,
            )
        )
        return path

    # -- the API ---------------------------------------------------------------------------------------------
    def answer(self, request, seen) -> None:
        query = seen.query
        if self.throttled_answers > 0:
            self.throttled_answers -= 1
            body = {"error": {"code": "too-many-requests", "info": "You are making too many requests."}}
            return self.web.send_json(request, body, 429, {"Retry-After": self.retry_after})
        if query.get("maxlag") and self.maxlag_answers > 0:
            self.maxlag_answers -= 1
            return self.web.send_json(request, self._maxlag_error(query), 200, {
                "Retry-After": self.retry_after, "X-Database-Lag": "7"
            })  # fmt: skip
        if query.get("meta") == "siteinfo":
            general = {"sitename": "Wikimedia Commons", "generator": "MediaWiki 1.45.0-wmf.1"}
            return self.web.send_json(request, {"batchcomplete": True, "query": {"general": general}})
        self.web.send_json(request, self._search_answer(query))

    def _maxlag_error(self, query: dict) -> dict:
        error = {
            "code": "maxlag",
            "info": "Waiting for 10.64.48.35: 7 seconds lagged.",
            "host": "10.64.48.35",
            "lag": 7,
            "type": "db",
            "docref": "See https://commons.wikimedia.org/w/api.php for API usage.",
        }
        if query.get("formatversion") != "2":
            error["*"] = error.pop("docref")
        return {"error": error, "servedby": "mw-api-ext.eqiad.main-7d9c8b"}

    def _search_answer(self, query: dict) -> dict:
        search = query.get("gsrsearch", "")
        self.web.searches.append(search)
        found = [f for f in self.files if f.topic.lower() in search.lower()]
        if "filetype:bitmap" in search:
            found = [f for f in found if f.mime in BITMAP_TYPES]
        offset, limit = int(query.get("gsroffset", 0)), int(query.get("gsrlimit", 10))
        batch = found[offset : offset + limit]
        start = 0
        if query.get("iicontinue"):
            title = query["iicontinue"].split("|", 1)[0]
            start = next(i for i, f in enumerate(batch) if f.title.replace(" ", "_") == title)
        with_info = set(range(start, start + self.info_batch))
        pages = [self._page(f, offset + i, query, i in with_info) for i, f in enumerate(batch)]
        answer: dict = {}
        if start + self.info_batch < len(batch):
            following = batch[start + self.info_batch]
            generator = {"gsroffset": offset} if "gsroffset" in query else {}
            answer["continue"] = {
                "iicontinue": f"{following.title.replace(' ', '_')}|20240101120000",
                **generator,
                "continue": f"{'|'.join(generator)}||",
            }
        else:
            answer["batchcomplete"] = True
            if offset + limit < len(found):
                answer["continue"] = {"gsroffset": offset + limit, "continue": "gsroffset||"}
        if pages:
            answer["query"] = {"pages": pages}
        return self._as_format_version(answer, query.get("formatversion"))

    def _page(self, f: CommonsFile, index: int, query: dict, with_info: bool) -> dict:
        page = {"pageid": 1000 + self.files.index(f), "ns": 6, "title": f"File:{f.title}", "index": index + 1}
        if not with_info:
            return page
        url = self.web.url(f.path, UPLOAD_HOST)
        route = self.web.routes[f.path]
        info = {
            "size": len(route.body),
            "width": f.width,
            "height": f.height,
            "url": url,
            "descriptionurl": f"https://commons.wikimedia.org/wiki/File:{f.title.replace(' ', '_')}",
            "descriptionshorturl": f"https://commons.wikimedia.org/w/index.php?curid={page['pageid']}",
            "mime": f.mime,
        }
        if query.get("iiurlwidth"):
            info.update(self._thumb(f, int(query["iiurlwidth"]), "thumbmime" in query.get("iiprop", "")))
        wanted = set(query.get("iiextmetadatafilter", "").split("|"))
        info["extmetadata"] = {k: v for k, v in self._metadata(f).items() if not wanted - {""} or k in wanted}
        return {**page, "imagerepository": "local", "imageinfo": [info]}

    def _metadata(self, f: CommonsFile) -> dict:
        def field(value, source="commons-desc-page"):
            return {"value": value, "source": source, "hidden": ""}

        meta = {
            "Artist": field(f.artist),
            "Credit": field('<span class="int-own-work" lang="en">Own work</span>'),
            "LicenseShortName": field(f.licence),
            "LicenseUrl": field(f.licence_url),
            "Restrictions": field(f.restrictions),
        }
        if f.licence_code:
            meta["License"] = field(f.licence_code, "commons-templates")
        if f.non_free:
            meta["NonFree"] = field("true")
        return meta

    def _thumb(self, f: CommonsFile, width: int, with_mime: bool) -> dict:
        """The scaled copy's fields; Commons never upscales a bitmap, so a narrow file is its own copy."""
        route = self.web.routes[f.path]
        renders_as = THUMB_TYPES.get(f.mime)
        thumb = {
            "thumburl": self.web.url(f.path, UPLOAD_HOST),
            "thumbwidth": f.width,
            "thumbheight": f.height,
        }
        mime = f.mime
        if (width < f.width or renders_as) and self.scaled_copies and not route.handler:
            mime, pil_format, suffix = renders_as or (f.mime, PIL_FORMATS.get(f.mime, "JPEG"), "")
            size = (min(width, f.width), max(1, round(f.height * min(width, f.width) / f.width)))
            path = f"/upload/thumb/{self.files.index(f)}/{f.title}/{size[0]}px-{f.title}{suffix}"
            if path not in self.web.routes:
                with Image.open(io.BytesIO(route.body)) as original:
                    scaled = original.convert("RGB").resize(size)
                out = io.BytesIO()
                scaled.save(out, pil_format)
                self.web.serve(path, out.getvalue(), mime)
            thumb = {
                "thumburl": self.web.url(path, UPLOAD_HOST),
                "thumbwidth": size[0],
                "thumbheight": size[1],
            }
        if with_mime:
            thumb["thumbmime"] = mime
        return thumb

    @staticmethod
    def _as_format_version(answer: dict, version: str | None) -> dict:
        if version == "2":
            return answer
        # formatversion 1: pages keyed by page id, flags as empty strings.
        if "batchcomplete" in answer:
            answer["batchcomplete"] = ""
        if "query" in answer:
            answer["query"]["pages"] = {str(p["pageid"]): p for p in answer["query"]["pages"]}
        return answer


def _size_of(body: bytes) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(body)) as image:
            return image.size
    except Exception:  # not an image (the tests' broken files): what the real file page would not say
        return 800, 600
