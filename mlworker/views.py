"""Public pages that show what the model learnt: "which city does my photo look like?" (/classify/; the ml
worker answers and htmx polls for the result), a city's look-alikes and the similarity heatmap."""

import secrets

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseStopPolling

from cities.ingest.validation import ImageRejected, validate_image
from cities.models import City
from jobs.models import Job
from vibes_site.htmx import render_htmx

from . import similarity
from .selectors import active_model, city_similarity
from .services import start_classification
from .upload_limits import capped_upload, declared_too_large, over_rate_limit

VISITOR_KEY = "vibes_visitor"


def _visitor_token(request) -> str:
    """A random token in the session: only the browser that uploaded a photo sees its result."""
    if VISITOR_KEY not in request.session:
        request.session[VISITOR_KEY] = secrets.token_urlsafe(16)
    return request.session[VISITOR_KEY]


def _classify_page(request, model, error: str = "", status: int = 200, retry_after: int | None = None):
    """The classify page, or for htmx its error fragment (a refused upload: 413, 429, 503)."""
    context = {
        "model": model,
        "trained": model is not None and not model.is_label_only,
        "error": error,
        "max_megabytes": f"{settings.MAX_IMAGE_BYTES / 2**20:g}",
    }
    partial = "mlworker/partials/classify_error.html" if error else None
    response = render_htmx(
        request, "mlworker/classify.html", context, partial_template=partial, status=status
    )
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _too_large() -> str:
    return (
        f"That photo is too large: the limit is {settings.MAX_IMAGE_BYTES / 2**20:.1f} MB. "
        "Choose a smaller copy and try again."
    )


TOO_MANY = "You have sent a lot of photos in a short time. Wait a minute, then try again."
NOT_QUEUED = (
    "Classification is not available right now: our job queue could not be reached. Your photo was not "
    "kept. Please try again in a few minutes."
)


@csrf_exempt  # for now: the CSRF check reads the body, and the upload cap must be in place first
@require_http_methods(["GET", "POST"])
def classify(request):
    """Upload a photo, get its look-alike cities. A POST is refused by its Content-Length before the body is
    read, then rate-limited, then its photo is capped while it streams in (mlworker.upload_limits); only then
    is the CSRF token checked."""
    if request.method != "POST":
        return _classify_page(request, active_model())
    if declared_too_large(request):
        return _classify_page(request, active_model(), _too_large(), status=413)
    if over_rate_limit(request, _visitor_token(request)):
        return _classify_page(request, active_model(), TOO_MANY, status=429, retry_after=60)
    upload_cap = capped_upload(request, settings.MAX_IMAGE_BYTES)
    return _classify_upload(request, upload_cap)


@csrf_protect
def _classify_upload(request, upload_cap):
    model = active_model()
    upload = request.FILES.get("photo")  # the body is read here (if the CSRF check has not read it yet)
    if upload_cap.stopped:
        return _classify_page(request, model, _too_large(), status=413)
    if model is None or model.is_label_only:
        return _classify_page(request, model)
    if upload is None:
        return _classify_page(request, model, "Choose a photo first.", status=400)
    try:
        valid = validate_image(upload.name, upload.read())
    except ImageRejected as exc:
        return _classify_page(request, model, f"{exc.name}: {exc.plain}", status=400)
    job = start_classification(_visitor_token(request), valid)
    if job.status == Job.Status.FAILED:  # the broker could not be reached; the photo is gone already
        return _classify_page(request, model, NOT_QUEUED, status=503)
    return redirect("mlworker:classify_result", job.pk)


@require_GET
def classify_result(request, pk: int):
    job = get_object_or_404(Job, pk=pk, kind="classify")
    if not job.params.get("visitor") or job.params.get("visitor") != request.session.get(VISITOR_KEY):
        raise Http404("No such classification in this browser session.")
    preview = job.params.get("preview", "")
    context = {
        "job": job,
        "top": job.result.get("top", []),
        "preview": preview if preview.startswith("data:image/jpeg;base64,") else "",
    }
    response = render_htmx(
        request,
        "mlworker/classify_result.html",
        context,
        partial_template="mlworker/partials/classify_result.html",
    )
    if request.htmx and job.is_finished:
        response.status_code = HttpResponseStopPolling.status_code  # the result is final: stop polling
    return response


SIMILAR_SHOWN = 6
HEATMAP_MAX_CITIES = 40
HEATMAP_CELL = 28  # px per city pair
HEATMAP_MARGIN = 130  # room for the city names left of and above the grid
HEATMAP_TOP_PAIRS = 10  # the most alike pairs, listed under the map


@require_GET
def lookalikes(request, slug: str):
    """A city's look-alikes. The city page loads this section with htmx (cities cannot read the model);
    without JavaScript its link opens it as a page of its own."""
    city = get_object_or_404(City, slug=slug)
    sim = city_similarity()
    baseline = sim is None or sim.version.is_label_only
    context = {
        "city": city,
        "similar": []
        if baseline
        else [
            {"city": other, "percent": similarity.as_percent(score), "bar": round(100 * score, 1)}
            for other, score in sim.most_similar(city.pk, SIMILAR_SHOWN)
        ],
        "baseline": baseline,
        "has_photos": city.photos.servable().exists(),
    }
    return render_htmx(
        request, "mlworker/lookalikes.html", context, partial_template="mlworker/partials/lookalikes.html"
    )


@require_GET
def similarity_heatmap(request):
    sim = city_similarity()
    cells, labels = [], []
    baseline = sim is None or sim.version.is_label_only
    if not baseline:
        with_photos = [i for i in range(len(sim.city_ids)) if sim.photo_counts[i] > 0]
        with_photos = sorted(with_photos, key=lambda i: -sim.photo_counts[i])[:HEATMAP_MAX_CITIES]
        sub = sim.matrix[with_photos][:, with_photos]
        order = [with_photos[i] for i in similarity.heatmap_order(sub)]
        cities = City.objects.in_bulk([sim.city_ids[i] for i in order])
        labels = [cities[sim.city_ids[i]] for i in order]
        cells = [
            {"row": r, "col": c, "value": float(sim.matrix[a, b]), "a": labels[r], "b": labels[c]}
            for r, a in enumerate(order)
            for c, b in enumerate(order)
            if a != b
        ]
    # The colour is relative to the most alike pair (else a well-trained model's map is all white); the
    # legend and every tooltip give the raw mean probability.
    peak = max((c["value"] for c in cells), default=0.0)
    cell, margin = HEATMAP_CELL, HEATMAP_MARGIN
    for c in cells:
        c["x"], c["y"] = margin + c["col"] * cell, margin + c["row"] * cell
        c["shade"] = c["value"] / peak if peak > 0 else 0.0
        c["percent"] = similarity.as_percent(c["value"])
    # Each pair once (the map shows it twice), most alike first: the list a phone reads without scrolling.
    pairs = sorted((c for c in cells if c["row"] < c["col"]), key=lambda c: -c["value"])[:HEATMAP_TOP_PAIRS]
    context = {
        "rows": [{"city": city, "y": margin + i * cell + cell * 0.7} for i, city in enumerate(labels)],
        "columns": [{"city": city, "x": margin + i * cell + cell * 0.7} for i, city in enumerate(labels)],
        "cells": cells,
        "cell": cell,
        "margin": margin,
        # Room on the right for the last rotated column names.
        "extent": margin + cell * max(1, len(labels)) + 90,
        "baseline": baseline,
        "peak": similarity.as_percent(peak),
        "pairs": pairs,
    }
    return render(request, "mlworker/similarity.html", context)
