"""The one module of test helpers and factories: small images (solid, or with real structure for perceptual
hashes), a photo through the one ingestion path, and running queued jobs as a worker would (`.apply()`)."""

import io
import random

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from PIL import Image, ImageDraw

from cities.ingest.report import IngestReport
from cities.ingest.store import ingest_one
from cities.models import City, Photo
from jobs import registry
from jobs.models import Job


def jpeg_bytes(colour=(200, 80, 40), size=(64, 80), seed=0, fmt="JPEG") -> bytes:
    """A small, unique image: a solid colour with a seed-dependent pixel pattern (so sha256 differs)."""
    image = Image.new("RGB", size, colour)
    for i in range(8):
        image.putpixel(
            ((seed * 7 + i * 3) % size[0], (seed * 3 + i) % size[1]), (seed % 256, i * 30, 255 - i)
        )
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def ingest_photo(city: City, name: str, data: bytes, **metadata) -> Photo:
    """One image through the one ingestion path (ingest_one); the test fails if it is not stored."""
    report = IngestReport()
    photo = ingest_one(report, city, name, data, **metadata)
    assert photo is not None, f"{name} was not stored: {report.duplicates + report.problems}"
    return photo


def photo_like(seed: int, size=(800, 600)) -> Image.Image:
    """A picture with structure (overlapping shapes), so perceptual hashes of two seeds differ widely."""
    rng = random.Random(seed)
    width, height = size
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(width // 8, width // 2), y0 + rng.randrange(height // 8, height // 2)
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape([x0, y0, x1, y1], fill=tuple(rng.randrange(256) for _ in range(3)))
    return image


def encode(image: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def staff_client_with(*codenames: str, username: str = "staff") -> Client:
    """A client logged in as a staff user (not a superuser) holding exactly these permissions (codenames,
    e.g. "view_photo"); none when called without any."""
    user = get_user_model().objects.create_user(username, password="pw-for-tests-only", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    assert user.user_permissions.count() == len(set(codenames)), f"unknown codename in {codenames}"
    client = Client()
    client.force_login(user)
    return client


def run_queued_jobs(kind: str | None = None, *, rounds: int = 5) -> list[Job]:
    """Run every queued job (of `kind`, or all) in this process with its real task, as the worker would,
    including the jobs those jobs queue (up to `rounds` deep). Returns the finished jobs, oldest first.

    Tests that run in a transaction never send jobs to the broker (Django runs on_commit callbacks only
    after a real commit), so this is how they see a job's effect without a worker process.
    """
    finished: list[Job] = []
    for _ in range(rounds):
        queued = Job.objects.filter(status=Job.Status.QUEUED).order_by("pk")
        if kind is not None:
            queued = queued.filter(kind=kind)
        batch = list(queued)
        if not batch:
            break
        for job in batch:
            registry.kind(job.kind).task.apply(args=[job.pk])
            job.refresh_from_db()
            finished.append(job)
    return finished
