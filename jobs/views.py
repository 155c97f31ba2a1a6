from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseStopPolling

from vibes_site.htmx import vary_on_htmx

from .models import Job
from .selectors import job_summary
from .services import sweep_stale_jobs


@require_GET
@staff_member_required
def job_progress(request, pk: int):
    """The job's status block (status, duration, bar, message); htmx polls it every second and stops
    (HTTP 286) when the job ends, so every part of the block changes together."""
    sweep_stale_jobs(job_id=pk)
    job = get_object_or_404(Job, pk=pk)
    response = render(request, "jobs/partials/job_status.html", job_summary(job))
    if job.is_finished and request.htmx:
        response.status_code = HttpResponseStopPolling.status_code
    return vary_on_htmx(response)  # the same body, but only htmx is told to stop polling
