from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from .models import Job
from .services import start_job


def _require_staff(request):
    if not (request.user.is_authenticated and request.user.is_staff):
        raise PermissionDenied("Only staff can start jobs.")


@require_POST
def start_rescore(request):
    _require_staff(request)
    job = start_job(Job.Kind.RESCORE, user=request.user)
    return redirect("admin:mlworker_job_change", job.pk)


@require_GET
@staff_member_required
def job_progress(request, pk: int):
    """The progress bar fragment; htmx polls it every second and stops (HTTP 286) when the job ends."""
    job = get_object_or_404(Job, pk=pk)
    response = render(request, "mlworker/partials/job_progress.html", {"job": job})
    if job.is_finished and request.htmx:
        response.status_code = HttpResponseStopPolling.status_code
    return response
