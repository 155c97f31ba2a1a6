"""Small security helpers the settings name: login throttling's client address and its lockout page."""

import math

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_ip(request: HttpRequest) -> str | None:
    """The visitor's address: REMOTE_ADDR, or, behind PROXY_COUNT proxies, the address the outermost proxy
    saw. Each proxy appends the address it was reached from to X-Forwarded-For, so that one is the
    PROXY_COUNT-th entry from the right; the entries left of it are whatever the client wrote."""
    if settings.PROXY_COUNT:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= settings.PROXY_COUNT:
            return hops[-settings.PROXY_COUNT]
    return request.META.get("REMOTE_ADDR")


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """The page a locked-out login gets (AXES_LOCKOUT_CALLABLE), from the admin's login and the site's."""
    cool_off = get_cool_off(request)
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": math.ceil(cool_off.total_seconds() / 60) if cool_off else None,
    }
    return render(request, "registration/locked_out.html", context, status=429)
