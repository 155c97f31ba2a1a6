"""Site-level views that belong to no app."""

from django.http import HttpResponse
from django.views.decorators.http import require_safe


@require_safe
def healthz(request):
    """Liveness probe: the process is up and Django answers. Touches no database, session or template."""
    return HttpResponse("ok", content_type="text/plain")
