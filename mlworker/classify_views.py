"""/classify/: "Which city does my photo look like?" The ml worker answers; htmx polls for the result."""

from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseStopPolling

from cities.ingest import ImageRejected, validate_image
from cities.models import ModelVersion
from cities.selectors import active_model

from .models import Job
from .services import start_classification


def _session_key(request) -> str:
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key


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
                job = start_classification(_session_key(request), valid)
                return redirect("classify_result", job.pk)
    status = 400 if error else 200
    return render(
        request, "mlworker/classify.html", {"model": model, "trained": trained, "error": error}, status=status
    )


@require_GET
def classify_result(request, pk: int):
    job = get_object_or_404(Job, pk=pk, kind=Job.Kind.CLASSIFY)
    if job.params.get("session") != request.session.session_key:
        raise Http404("No such classification in this browser session.")
    context = {"job": job, "top": job.result.get("top", [])}
    if request.htmx:
        response = render(request, "mlworker/partials/classify_result.html", context)
        if job.is_finished:
            response.status_code = HttpResponseStopPolling.status_code
        return response
    return render(request, "mlworker/classify_result.html", context)
