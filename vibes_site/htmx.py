"""The htmx conventions of every view (see templates/base.html and static/js/htmx-errors.js).

- A URL that answers htmx with a fragment and a browser with a page renders through `render_htmx`, which
  marks the response `Vary: HX-Request` so no cache hands a fragment to a browser or a page to htmx.
- A 4xx fragment is swapped in visibly: into the element the server names with HX-Retarget (`retarget_to`),
  or else into the page's error area, #htmx-error. htmx alone would drop every 4xx body silently.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django_htmx.http import reswap, retarget

HTMX_HEADER = "HX-Request"


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, (HTMX_HEADER,))
    return response


def render_htmx(
    request: HttpRequest,
    template: str,
    context: dict | None = None,
    *,
    partial_template: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """`partial_template` for an htmx request (when given), else the page `template`; Vary: HX-Request."""
    chosen = partial_template if partial_template and request.htmx else template
    return vary_on_htmx(render(request, chosen, context, status=status))


def retarget_to(response: HttpResponse, target: str, swap: str = "outerHTML") -> HttpResponse:
    """Tell htmx where this (error) fragment goes, instead of the error area."""
    return reswap(retarget(response, target), swap)
