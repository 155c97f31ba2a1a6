"""Thin views for the swipe loop, recommendations and accounts. Writes go through services."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.views import LoginView
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mlworker.selectors import active_model
from vibes_site.htmx import render_htmx, retarget_to, vary_on_htmx

from . import charts, selectors, services
from .forms import SwipeForm
from .recommender.registry import describe_scorer

CARD_PAGE, CARD_PARTIAL = "swipes/home.html", "swipes/partials/card.html"
PHOTO_GONE = "That photo is no longer available, so it was not counted. Here is the next one."
ALREADY_RATED = (
    "You had already rated that photo (in another tab?), so it counted once. Here is the next one."
)


def _card_context(profile, version=None, notice="", error="", can_undo=None):
    """What the card needs. Callers that already know the active model or whether undo is possible (right
    after a swipe it always is) pass them in, which saves a query each."""
    version = version or active_model()
    return {
        "profile": profile,
        "photo": selectors.next_photo(profile, version),
        "queue_size": selectors.queue_size(version),
        "can_undo": selectors.can_undo(profile) if can_undo is None else can_undo,
        "model": version,
        "notice": notice,
        "error": error,
    }


def _card_response(request, profile, notice="", **known):
    """htmx gets the card fragment; a plain form POST gets redirected back to the page (PRG)."""
    if request.htmx:
        context = _card_context(profile, notice=notice, **known)
        return render_htmx(request, CARD_PAGE, context, partial_template=CARD_PARTIAL)
    if notice:
        messages.info(request, notice)
    return vary_on_htmx(redirect("swipes:home"))


def _card_refused(request, profile, error: str, status: int, **known):
    """A swipe that was not counted: the next card with the reason on it, as a 4xx that htmx swaps into
    the deck (a browser without JavaScript gets the whole page)."""
    context = _card_context(profile, error=error, **known)
    response = render_htmx(request, CARD_PAGE, context, partial_template=CARD_PARTIAL, status=status)
    return retarget_to(response, "#deck") if request.htmx else response


@require_GET
def home(request):
    profile = services.profile_for_request(request)
    return render(request, CARD_PAGE, _card_context(profile))


@require_POST
def swipe(request):
    profile = services.profile_for_request(request)
    form = SwipeForm(request.POST)
    if not form.is_valid():
        return _card_refused(request, profile, form.first_error(), status=400)
    version = active_model()
    try:
        outcome = services.record_swipe(
            profile, form.cleaned_data["photo"], form.cleaned_data["liked"], version=version
        )
    except services.PhotoUnavailable:
        return _card_refused(request, profile, PHOTO_GONE, status=404, version=version)
    # The swipe just recorded (or found again) is live in this round, so undo is possible.
    notice = "" if outcome.counted else ALREADY_RATED
    return _card_response(request, outcome.profile, notice=notice, version=version, can_undo=True)


@require_POST
def undo(request):
    profile = services.profile_for_request(request)
    undone = services.undo_last_swipe(profile)
    profile.refresh_from_db()
    return _card_response(request, profile, notice="" if undone else "Nothing to undo in this round.")


@require_POST
def reshuffle(request):
    profile = services.reshuffle(services.profile_for_request(request))
    return _card_response(request, profile, notice="Reshuffled: a new round over every photo.")


@require_GET
def recommendations(request):
    profile = services.ensure_current_scores(services.profile_for_request(request))
    show_all = request.GET.get("all") == "1"
    recs = selectors.recommendations(profile, limit=None if show_all else selectors.TOP_CITIES)
    top = recs.cities[: selectors.TOP_CITIES]
    chart = charts.bar_chart([c.city.name for c in top], [c.bar for c in top], [c.score for c in top])
    context = {
        "recs": recs,
        "chart": chart,
        "show_all": show_all,
        "profile": profile,
        "how_scored": describe_scorer(settings.VIBES_SCORER),
    }
    # "Show all" swaps in the whole ranking; any other htmx request gets the page like a browser does.
    partial = "swipes/partials/ranking.html" if show_all else None
    return render_htmx(request, "swipes/recommendations.html", context, partial_template=partial)


@require_POST
def reset(request):
    services.reset_profile(services.profile_for_request(request))
    messages.success(request, "Your taste profile was reset. Start swiping again!")
    return redirect("swipes:home")


class VibesLoginView(LoginView):
    """Logging in keeps what the visitor swiped anonymously: the session's profile merges into the account's."""

    def form_valid(self, form):
        anonymous_profile_id = self.request.session.get(services.SESSION_PROFILE_KEY)
        response = super().form_valid(form)
        services.attach_session_profile_to_user(anonymous_profile_id, form.get_user())
        return response


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("swipes:home")
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        anonymous_profile_id = request.session.get(services.SESSION_PROFILE_KEY)
        user = form.save()
        # Two authentication backends (axes first, which holds no accounts): name the one that does.
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        services.attach_session_profile_to_user(anonymous_profile_id, user)
        messages.success(request, f"Welcome, {user.username}! Your swipes are saved to your account.")
        return redirect("swipes:home")
    return render(request, "registration/signup.html", {"form": form})
