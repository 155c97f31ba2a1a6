"""A list of image URLs, one per line: "URL" or "URL,city-slug" (CSV; optional author and licence columns).

Blank lines and lines starting with # are ignored. A line without a city belongs to the one city being
scraped; the scrape service refuses such a list for several cities at once.
"""

import csv
import io
from collections import Counter
from dataclasses import dataclass

from .base import Candidate, ProviderError, http_url

MAX_LINES = 5000


@dataclass(frozen=True)
class UrlLine:
    number: int
    url: str
    city_slug: str = ""
    author: str = ""
    licence: str = ""


def parse_url_list(text: str) -> list[UrlLine]:
    """The lines of a URL list. Raises ProviderError naming the first bad line."""
    lines = []
    rows = csv.reader(io.StringIO(text))
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not cells or not cells[0] or cells[0].startswith("#"):
            continue
        if len(cells) > 4:
            raise ProviderError(f"URL list line {number}: expected url[,city-slug[,author[,licence]]]")
        url = http_url(cells[0])
        if not url:
            raise ProviderError(f"URL list line {number}: '{cells[0][:80]}' is not an http(s) URL")
        cells += [""] * (4 - len(cells))
        lines.append(UrlLine(number, url, cells[1], cells[2][:300], cells[3][:120]))
        if len(lines) > MAX_LINES:
            raise ProviderError(f"the URL list has more than {MAX_LINES} URLs; split it")
    if not lines:
        raise ProviderError("the URL list holds no URL")
    return lines


class UrlListProvider:
    name = "urls"
    uses_queries = False

    def __init__(self, text: str):
        self.lines = parse_url_list(text)
        self.left_out: Counter[str] = Counter()  # a list is taken as it is: nothing is left out

    def search(self, query: str = "", *, city_slug: str, limit: int = 20) -> list[Candidate]:
        matching = [line for line in self.lines if line.city_slug in ("", city_slug)]
        return [
            Candidate(
                url=line.url,
                page_url=line.url,
                title=line.url.rsplit("/", 1)[-1],
                author=line.author,
                licence=line.licence,
                city_slug=line.city_slug or city_slug,
            )
            for line in matching[:limit]
        ]
