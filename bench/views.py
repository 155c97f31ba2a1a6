"""The P1 anchor: the least a transactional write on this stack costs, to measure the swipe against.

Same stack as POST /swipe/ (gunicorn, Django middleware, session, CSRF, Postgres): lock the visitor's
profile row, insert one row, update it, render a small partial. No catalogue, no scorer.
"""

from django.db import transaction
from django.http import HttpResponse
from django.template import engines
from django.utils import timezone
from django.views.decorators.http import require_POST

from jobs.models import Job
from swipes.models import UserProfile
from swipes.profiles import profile_for_writing
from swipes.visitors import ensure_visitor_token, with_visitor_cookie

PARTIAL = engines["django"].from_string('<div id="anchor" data-job="{{ job.pk }}">ok {{ job.status }}</div>')


@require_POST
@with_visitor_cookie
def anchor_write(request):
    profile = profile_for_writing(request.user, ensure_visitor_token(request))  # as POST /swipe/ does
    with transaction.atomic():
        UserProfile.objects.select_for_update().filter(pk=profile.pk).first()
        job = Job.objects.create(kind="bench_anchor", params={"profile": profile.pk})
        job.status, job.finished_at = Job.Status.SUCCEEDED, timezone.now()
        job.save(update_fields=["status", "finished_at"])
    return HttpResponse(PARTIAL.render({"job": job}, request))
