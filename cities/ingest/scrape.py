"""The scrape service: N photos per city from a provider, each stored through `ingest_one`.

`build_request` checks the input (the admin form and `manage.py scrape` call it before starting anything);
`scrape` does the work, for the Celery task and the command alike. Downloads, validation and rendering (the
CPU work) run on a pool of threads; storing (dedupe and database writes) stays on the calling thread, one
photo at a time.

A rerun tops up: each city needs N minus the photos it already has from that provider, and candidates whose
page is already stored are not fetched again. One bad candidate never fails the run: it is counted and listed
in the IngestReport (refused files as rejected; downloads and searches that failed as errors).
"""

import logging
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from itertools import chain, zip_longest

from django.conf import settings
from django.utils.text import slugify

from ..models import City, Photo
from .providers import (
    IMAGE_TYPES,
    PROVIDER_NAMES,
    Candidate,
    Provider,
    ProviderError,
    check_configured,
    make_provider,
    unknown_provider,
)
from .providers.urllist import parse_url_list
from .report import IngestReport
from .safe_http import FetchError, SafeFetcher, TooLarge, UnsafeURL
from .store import announce_new_photos, ingest_one
from .validation import ImageRejected, Renditions, ValidImage, render, validate_image

log = logging.getLogger(__name__)

DEFAULT_QUERIES = ("{city} skyline", "{city} street")
MAX_PER_CITY = 200
MAX_QUERIES = 10
MAX_CONCURRENCY = 16


class ScrapeError(ValueError):
    """Bad input to a scrape, said so a person can fix it."""


@dataclass(frozen=True)
class ScrapeRequest:
    city_slugs: tuple[str, ...]
    provider: str = "wikimedia"
    per_city: int = 20
    queries: tuple[str, ...] = DEFAULT_QUERIES
    urls: str = ""  # the text of a URL list (provider "urls")
    concurrency: int = 8

    def as_params(self) -> dict:
        params = asdict(self)
        return {**params, "city_slugs": list(self.city_slugs), "queries": list(self.queries)}


def parse_queries(text: str) -> tuple[str, ...]:
    """ "{city} skyline, {city} street" (commas or new lines) -> the templates."""
    return tuple(q.strip() for q in text.replace("\n", ",").split(",") if q.strip())


def build_request(
    *,
    city_slugs,
    provider: str = "wikimedia",
    per_city: int = 20,
    queries=DEFAULT_QUERIES,
    urls: str = "",
    concurrency: int = 8,
) -> ScrapeRequest:
    """A checked ScrapeRequest, or ScrapeError saying what is wrong."""
    slugs = tuple(dict.fromkeys(s.strip() for s in city_slugs if s and s.strip()))
    if not slugs:
        raise ScrapeError("choose at least one city")
    known = set(City.objects.filter(slug__in=slugs).values_list("slug", flat=True))
    unknown = [s for s in slugs if s not in known]
    if unknown:
        raise ScrapeError(f"unknown city slug{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
    if provider not in PROVIDER_NAMES:
        raise ScrapeError(str(unknown_provider(provider)))
    if not isinstance(per_city, int) or not 1 <= per_city <= MAX_PER_CITY:
        raise ScrapeError(f"photos per city must be between 1 and {MAX_PER_CITY}, not {per_city}")
    if not isinstance(concurrency, int) or not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ScrapeError(f"concurrency must be between 1 and {MAX_CONCURRENCY}, not {concurrency}")
    queries = tuple(q.strip() for q in queries if q.strip())
    if provider != "urls":
        if not 1 <= len(queries) <= MAX_QUERIES:
            raise ScrapeError(f"give between 1 and {MAX_QUERIES} query templates")
        for query in queries:
            if "{city}" not in query or len(query) > 120:
                raise ScrapeError(
                    f"query template '{query[:120]}' must contain {{city}} (120 characters at most)"
                )
    try:
        check_configured(provider)  # after the input: a settings problem is for whoever deploys
        if provider == "urls":
            _check_url_list(urls, slugs)
    except ProviderError as exc:
        raise ScrapeError(str(exc)) from None
    return ScrapeRequest(slugs, provider, per_city, queries, urls if provider == "urls" else "", concurrency)


def _check_url_list(text: str, slugs: tuple[str, ...]) -> None:
    lines = parse_url_list(text)
    named = {line.city_slug for line in lines if line.city_slug}
    unknown = named - set(City.objects.filter(slug__in=named).values_list("slug", flat=True))
    if unknown:
        raise ProviderError(f"the URL list names unknown cities: {', '.join(sorted(unknown))}")
    if len(slugs) > 1 and any(not line.city_slug for line in lines):
        first = next(line.number for line in lines if not line.city_slug)
        raise ProviderError(
            f"URL list line {first} names no city; add a city column or scrape one city at a time"
        )


def request_from_params(params: dict) -> ScrapeRequest:
    """The ScrapeRequest stored in a Job's params, checked again (cities may have gone since)."""
    return build_request(
        city_slugs=params.get("city_slugs") or [],
        provider=params.get("provider", "wikimedia"),
        per_city=params.get("per_city", 20),
        queries=params.get("queries") or DEFAULT_QUERIES,
        urls=params.get("urls", ""),
        concurrency=params.get("concurrency", 8),
    )


Progress = Callable[..., None]


def download_and_prepare(
    fetcher: SafeFetcher, candidate: Candidate, city: City
) -> tuple[ValidImage, Renditions]:
    """Runs on a pool thread: download, validate and render (all the CPU work), no database access."""
    fetched = fetcher.get(
        candidate.url, accept=tuple(IMAGE_TYPES), max_bytes=settings.SCRAPE_MAX_DOWNLOAD_BYTES
    )
    stem = slugify(candidate.title.rsplit(".", 1)[0])[:60] or city.slug
    valid = validate_image(f"{stem}{IMAGE_TYPES[fetched.content_type]}", fetched.body)
    return valid, render(valid)


def _fitting_url(max_length: int, *urls: str) -> str:
    """The first URL that fits the column; a cut URL would be a wrong link."""
    return next((url for url in urls if url and len(url) <= max_length), "")


class _CityRun:
    """Scraping one city: gather candidates, download a few at a time, store the good ones."""

    def __init__(self, request, provider, fetcher, pool, report, city, need, on_progress):
        self.request, self.provider, self.fetcher, self.pool = request, provider, fetcher, pool
        self.report, self.city, self.need, self.on_progress = report, city, need, on_progress
        self.stored = 0

    def candidates(self) -> list[Candidate]:
        known = set(Photo.objects.filter(city=self.city).values_list("source_url", flat=True))
        queries = self.request.queries if self.provider.uses_queries else ("",)
        # Ask for spares: some will be duplicates, unfree or broken.
        limit = min(2 * self.need + 10, MAX_PER_CITY)
        per_query = []
        for template in queries:
            query = template.replace("{city}", self.city.name)
            try:
                per_query.append(self.provider.search(query, city_slug=self.city.slug, limit=limit))
            except ProviderError as exc:
                self.report.error(f"the search '{query}'", exc.reason, self.city.slug)
        seen, ordered = set(), []
        # Alternate between the queries ("skyline", "street", "skyline"...) for variety.
        for candidate in chain.from_iterable(zip_longest(*per_query)):
            if candidate is None or candidate.url in seen or (candidate.page_url or candidate.url) in known:
                continue
            seen.add(candidate.url)
            if candidate.size and candidate.size > settings.SCRAPE_MAX_DOWNLOAD_BYTES:
                # The provider says so: no need to start the download to find out.
                limit = settings.SCRAPE_MAX_DOWNLOAD_BYTES
                self.report.reject(
                    candidate.url, f"{candidate.size:,} bytes; the limit is {limit:,}", self.city.slug
                )
                continue
            ordered.append(candidate)
        return ordered

    def run(self) -> None:
        waiting = iter(self.candidates())
        pending: dict[Future, Candidate] = {}
        while True:
            # Never more downloads in flight than photos still missing: no overshoot past N.
            while len(pending) < self.request.concurrency and self.stored + len(pending) < self.need:
                candidate = next(waiting, None)
                if candidate is None:
                    break
                pending[self.pool.submit(download_and_prepare, self.fetcher, candidate, self.city)] = (
                    candidate
                )
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                self.store(pending.pop(future), future)
                self.on_progress(self)

    def store(self, candidate: Candidate, future: Future) -> None:
        city = self.city.slug
        try:
            valid, renditions = future.result()
            photo = ingest_one(
                self.report,
                self.city,
                valid.name,
                valid,
                renditions=renditions,
                label=candidate.url,
                source=self.provider.name,
                source_url=_fitting_url(1000, candidate.page_url, candidate.url),
                author=candidate.author[:300],
                licence=candidate.licence[:120],
                licence_url=_fitting_url(500, candidate.licence_url),
            )
        except (ImageRejected, TooLarge, UnsafeURL) as exc:  # refused on the download thread
            self.report.reject(candidate.url, exc.reason, city)
        except FetchError as exc:
            self.report.error(candidate.url, exc.reason, city)
        except Exception as exc:  # one odd file (a Pillow plugin bug...) must not end the whole run
            log.exception("candidate %s failed unexpectedly", candidate.url)
            self.report.error(candidate.url, f"unexpected {type(exc).__name__}: {exc}", city)
        else:
            self.stored += photo is not None


def scrape(request: ScrapeRequest, *, progress: Progress | None = None) -> IngestReport:
    """Top every requested city up to `per_city` photos from the provider. Returns what happened."""
    report = IngestReport()
    cities = list(City.objects.filter(slug__in=request.city_slugs))
    cities.sort(key=lambda c: request.city_slugs.index(c.slug))
    needs = {}
    for city in cities:
        had = Photo.objects.filter(city=city, source=request.provider).count()
        needs[city.slug] = max(0, request.per_city - had)
        report.cities[city.slug] = {"had": had, "target": request.per_city, "stored": 0}
    total = sum(needs.values())
    settled = 0  # the needs of the cities already finished

    def on_progress(run: _CityRun) -> None:
        if progress:
            message = f"{run.city.name}: {run.stored}/{run.need} new; {len(report.rejected) + len(report.errors)} failed so far"
            progress(settled + run.stored, total, message)

    with (
        SafeFetcher(pool_size=request.concurrency) as fetcher,
        ThreadPoolExecutor(request.concurrency, thread_name_prefix="scrape") as pool,
    ):
        provider: Provider = make_provider(request.provider, fetcher, urls=request.urls)
        for city in cities:
            if needs[city.slug]:
                run = _CityRun(request, provider, fetcher, pool, report, city, needs[city.slug], on_progress)
                run.run()
                report.cities[city.slug]["stored"] = run.stored
                announce_new_photos(report)  # this city's photos get their vectors now, not at the end
            settled += needs[city.slug]
            if progress:
                progress(settled, total, f"{city.name} done; {len(report.stored)} photos stored so far")
        report.left_out = dict(provider.left_out)
    return report
