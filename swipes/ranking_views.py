"""The recommendations page and what hangs off it: narrowing the ranking, the cities you have been to, the
reveal setting, and the read-only shared ranking with its Open Graph picture. Thin: reads go through
selectors, writes through services, drawing through charts, geo and sharing."""

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cities.models import City
from vibes_site.htmx import render_htmx, vary_on_htmx

from . import charts, geo, profiles, selectors, services, sharing
from .forms import NarrowForm
from .models import UserProfile
from .recommender.registry import describe_scorer
from .visitors import ensure_visitor_token, visitor_token, with_visitor_cookie

PAGE, RANKING = "swipes/recommendations.html", "swipes/partials/ranking.html"
NARROW_FIELDS = ("continent", "country", "hide_visited")


def _reading(request) -> UserProfile:
    """The person's profile; unsaved (no swipes yet) when they have none: reading never creates one."""
    return profiles.profile_for_reading(request.user, visitor_token(request))


def _writing(request) -> UserProfile:
    return profiles.profile_for_writing(request.user, ensure_visitor_token(request))


def _ranking_context(profile, narrowing=None, show_all=False, subject="you") -> dict:
    """Everything the ranking shows: taste, chart, map and the ranked cities."""
    taste = selectors.taste_in_words(profile, subject)
    recs = selectors.recommendations(
        profile,
        limit=None if show_all else selectors.TOP_CITIES,
        narrowing=narrowing,
        taste_words=taste.taste.goes_for,
    )
    top = recs.cities[: selectors.TOP_CITIES]
    return {
        "recs": recs,
        "taste": taste,
        "chart": charts.bar_chart([c.city.name for c in top], [c.bar for c in top], [c.score for c in top]),
        "world": geo.world_map([(c.city.name, c.rank, c.city.latitude, c.city.longitude) for c in top]),
        "show_all": show_all,
        "profile": profile,
    }


def _narrow_query(data) -> str:
    """The narrowing part of a query string, to come back to after a POST."""
    query = data.copy()
    for key in list(query):
        if key not in NARROW_FIELDS:
            del query[key]
    return query.urlencode()


@require_GET
def recommendations(request):
    profile = services.ensure_current_scores(_reading(request))
    show_all = request.GET.get("all") == "1"
    narrowing = NarrowForm(request.GET).narrowing()
    context = _ranking_context(profile, narrowing, show_all)
    context.update(
        how_scored=describe_scorer(settings.VIBES_SCORER),
        narrow_query=_narrow_query(request.GET),
        share_url=request.build_absolute_uri(reverse("swipes:shared", args=[sharing.share_token(profile.pk)]))
        if profile.pk
        else "",
    )
    # "Show all" and the narrowing form swap in the ranking; any other htmx request gets the whole page.
    partial = RANKING if show_all or "narrow" in request.GET else None
    return render_htmx(request, PAGE, context, partial_template=partial)


@require_POST
@with_visitor_cookie
def visited(request):
    """Mark or unmark a city as one the person has been to, then show the ranking as it was narrowed."""
    profile = _writing(request)
    city = get_object_or_404(City, pk=request.POST.get("city") or 0)
    been = request.POST.get("been") == "1"
    services.set_visited(profile, city.pk, been)
    if request.htmx:
        context = _ranking_context(profile, NarrowForm(request.POST).narrowing())
        context["narrow_query"] = _narrow_query(request.POST)
        return render_htmx(request, PAGE, context, partial_template=RANKING)
    messages.info(request, f"Noted: you have {'been' if been else 'not been'} to {city.name}.")
    query = _narrow_query(request.POST)
    return vary_on_htmx(redirect(reverse("swipes:recommendations") + (f"?{query}" if query else "")))


@require_POST
@with_visitor_cookie
def reveal_setting(request):
    reveal = request.POST.get("reveal") == "1"
    services.set_reveal_city(_writing(request), reveal)
    messages.success(
        request,
        "After each swipe you will see which city the photo was filed under."
        if reveal
        else "Cities stay a mystery: no more reveal after each swipe.",
    )
    return redirect("swipes:recommendations")


def _shared_profile(token: str) -> UserProfile:
    try:
        profile_id = sharing.profile_id_from_token(token)
    except sharing.BadShareLink as error:
        raise Http404("This shared link is not valid (or has expired).") from error
    return services.ensure_current_scores(get_object_or_404(UserProfile, pk=profile_id))


@require_GET
def shared(request, token):
    """Someone's ranking, read-only, for anyone with the link: no forms, no login, no way to change it."""
    context = _ranking_context(_shared_profile(token), subject="they")
    context.update(
        read_only=True,
        token=token,
        og_image_url=request.build_absolute_uri(reverse("swipes:shared_image", args=[token])),
        page_url=request.build_absolute_uri(),
    )
    return render_htmx(request, "swipes/shared.html", context)


OG_CACHE_SECONDS = 3600


@require_GET
def shared_image(request, token):
    """The Open Graph picture of a shared ranking: drawn once per state of the ranking, then cached."""
    profile = _shared_profile(token)
    key = f"og:{profile.pk}:{profile.scores_model_id}:{profile.swipe_count}:{profile.updated_at.timestamp()}"
    png = cache.get(key)
    if png is None:
        taste = selectors.taste_in_words(profile, "they")
        recs = selectors.recommendations(profile, limit=5)
        rows = [(c.city.name, c.percent) for c in recs.cities]
        subtitle = taste.taste.sentence if taste.taste.goes_for or taste.taste.skips else ""
        png = sharing.og_image("My top cities on City Vibes", rows, subtitle)
        cache.set(key, png, OG_CACHE_SECONDS)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = f"public, max-age={OG_CACHE_SECONDS}"
    return response
