from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cities.ingest.providers import PROVIDER_NAMES
from cities.ingest.scrape import DEFAULT_QUERIES, ScrapeError, build_request, parse_queries, scrape


class Command(BaseCommand):
    help = (
        "Scrape photos for some cities, here and now (the admin action runs the same service as a job). "
        "Reruns top each city up to --per-city photos from that provider."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cities", required=True, help="Comma-separated city slugs, e.g. berlin,paris")
        parser.add_argument("--per-city", type=int, default=20, help="Target photos per city (default 20).")
        parser.add_argument(
            "--provider",
            default="wikimedia",
            help=f"One of {', '.join(PROVIDER_NAMES)} (default wikimedia).",
        )
        parser.add_argument(
            "--urls", type=Path, help='For --provider urls: a file of "url" or "url,city-slug".'
        )
        parser.add_argument(
            "--queries",
            default=",".join(DEFAULT_QUERIES),
            help='Comma-separated templates; {city} becomes the city name (default "%(default)s").',
        )
        parser.add_argument("--concurrency", type=int, default=8, help="Parallel downloads (default 8).")

    def handle(self, *args, cities, per_city, provider, urls, queries, concurrency, verbosity, **options):
        urls_text = ""
        if urls is not None:
            if provider != "urls":
                raise CommandError("--urls goes with --provider urls")
            try:
                urls_text = urls.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"cannot read the URL list {urls}: {exc}") from None
        elif provider == "urls":
            raise CommandError("--provider urls needs --urls FILE")
        try:
            request = build_request(
                city_slugs=cities.split(","),
                provider=provider,
                per_city=per_city,
                queries=parse_queries(queries),
                urls=urls_text,
                concurrency=concurrency,
            )
        except ScrapeError as exc:
            raise CommandError(str(exc)) from None

        last = [None]

        def progress(done, total, message=""):
            line = f"[{done}/{total}] {message}"
            if line != last[0] and verbosity >= 1:
                self.stdout.write(line)
                last[0] = line

        report = scrape(request, progress=progress)
        for rejected in report.rejected:
            self.stderr.write(f"rejected {rejected}")
        for error in report.errors:
            self.stderr.write(f"failed {error}")
        if verbosity >= 2:
            for duplicate in report.duplicates:
                self.stdout.write(f"skipped {duplicate}")
        self.stdout.write(self.style.SUCCESS(f"{report.summary()}."))
