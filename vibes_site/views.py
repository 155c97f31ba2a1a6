"""Site-level views that belong to no app: the probes and the error pages."""

import logging

from django.db import connection
from django.http import HttpResponse, HttpResponseNotFound, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.http import require_safe

from .celery import app as celery_app
from .htmx import vary_on_htmx

log = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 3


@require_safe
def livez(request):
    """Liveness: the process is up and Django answers. Touches no database, broker, session or template,
    so an outage elsewhere never gets a healthy web process restarted."""
    return HttpResponse("ok", content_type="text/plain")


def database_problem() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure to reach or use the database
        log.warning("health check: database unreachable: %s", exc)
        return f"unreachable ({type(exc).__name__})"
    return None


def broker_problem() -> str | None:
    try:
        with celery_app.connection_for_write(connect_timeout=BROKER_TIMEOUT_SECONDS) as broker:
            broker.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as exc:  # kombu's OperationalError, a refused connection, a DNS failure...
        log.warning("health check: broker unreachable: %s", exc)
        return f"unreachable ({type(exc).__name__})"
    return None


@require_safe
def healthz(request):
    """Readiness: the database answers a SELECT 1 and the job broker accepts a connection. 503 names the one
    that failed (the details go to the log, not to whoever asks)."""
    problems = {"database": database_problem(), "broker": broker_problem()}
    checks = {name: problem or "ok" for name, problem in problems.items()}
    healthy = not any(problems.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
    )


def page_not_found(request, exception):
    """handler404: the friendly page, or for htmx a fragment its error hook shows."""
    if request.headers.get("HX-Request") == "true":
        return vary_on_htmx(HttpResponseNotFound(loader.render_to_string("partials/404.html")))
    return vary_on_htmx(render(request, "404.html", status=404))


def server_error(request):
    """handler500: rendered without the request's context processors, so it works with the database down."""
    template = "partials/500.html" if request.headers.get("HX-Request") == "true" else "500.html"
    return vary_on_htmx(HttpResponseServerError(loader.get_template(template).render()))
