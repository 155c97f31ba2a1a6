"""/classify/: "Which city does my photo look like?" The ml worker answers; htmx polls for the result."""

import secrets

from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseStopPolling

from cities.ingest import ImageRejected, validate_image
from cities.models import ModelVersion
from cities.selectors import active_model

from .models import Job
from .services import start_classification

VISITOR_KEY = "vibes_visitor"


def _visitor_token(request) -> str:
    """A random token in the signed session: only the browser that uploaded a photo sees its result."""
    if VISITOR_KEY not in request.session:
        request.session[VISITOR_KEY] = secrets.token_urlsafe(16)
    return request.session[VISITOR_KEY]


@require_http_methods(["GET", "POST"])
def classify(request):
    model = active_model()
    trained = model is not None and model.backbone != ModelVersion.LABEL_ONLY
    error = ""
    if request.method == "POST" and trained:
        upload = request.FILES.get("photo")
        if upload is None:
            error = "Choose a photo first."
        else:
            try:
                valid = validate_image(upload.name, upload.read())
            except ImageRejected as exc:
                error = f"{exc.name}: {exc.reason}"
            else:
                job = start_classification(_visitor_token(request), valid)
                return redirect("classify_result", job.pk)
    status = 400 if error else 200
    return render(
        request, "mlworker/classify.html", {"model": model, "trained": trained, "error": error}, status=status
    )


@require_GET
def classify_result(request, pk: int):
    job = get_object_or_404(Job, pk=pk, kind=Job.Kind.CLASSIFY)
    if not job.params.get("visitor") or job.params.get("visitor") != request.session.get(VISITOR_KEY):
        raise Http404("No such classification in this browser session.")
    context = {"job": job, "top": job.result.get("top", [])}
    if request.htmx:
        response = render(request, "mlworker/partials/classify_result.html", context)
        if job.is_finished:
            response.status_code = HttpResponseStopPolling.status_code
        return response
    return render(request, "mlworker/classify_result.html", context)
