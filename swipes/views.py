"""Thin views for the swipe loop, recommendations and accounts. Writes go through services and profiles.

Looking at a card never creates a profile; the first swipe does (profiles.py). No swipe-loop view writes the
session, so an answer that races a login cannot log the person out (swipes/visitors.py).
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.views import LoginView
from django.db import InterfaceError, OperationalError, connection
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vibes_site.htmx import render_htmx, retarget_to, vary_on_htmx

from . import profiles, selectors, services
from .engine import active_version
from .forms import SwipeForm, UndoForm
from .visitors import ensure_visitor_token, forget_visitor, visitor_token, with_visitor_cookie

CARD_PAGE, CARD_PARTIAL = "swipes/home.html", "swipes/partials/card.html"
PHOTO_GONE = "That photo is no longer available, so it was not counted. Here is the next one."
ALREADY_RATED = (
    "You had already rated that photo (in another tab?), so it counted once. Here is the next one."
)
OTHER_ANSWER = (
    "You had already rated that photo as a {earlier} in another tab, so that answer stands and this "
    "{now} did not count. Here is the next one."
)
OLD_ROUND = (
    "That card was from before you reshuffled or reset in another tab, so it did not count. "
    "Here is the next one."
)
OVERTAKEN = "Counted. You swiped in another tab meanwhile, so the count includes those swipes too."
UNDO_NOTICES = {
    services.UNDONE: "",
    services.ALREADY_UNDONE: "That swipe was already undone (a second click?), so nothing more was undone.",
    services.NOTHING: "Nothing to undo in this round.",
}
UNDO_NOT_LAST = (
    "You swiped again since (in another tab?), so that undo did not apply: undo takes back your latest "
    "swipe only. Here is where you are now."
)


def _word(liked: bool) -> str:
    return "like" if liked else "nope"


def _reading(request):
    return profiles.profile_for_reading(request.user, visitor_token(request))


def _writing(request):
    return profiles.profile_for_writing(request.user, ensure_visitor_token(request))


def _card_context(profile, version=None, notice="", error="", last_swipe=None, revealed="", dealt_after=None):
    """What the card needs. Callers that already know the active model or the latest swipe (right after a
    swipe it is that one) pass them in, which saves a query each; right after a swipe, `dealt_after` is its
    SwipeOutcome, which knows the round's swiped photos and the new state."""
    version = version or active_version()
    last_swipe = selectors.last_swipe_id(profile) if last_swipe is None else last_swipe
    known = (
        {"seen_this_round": dealt_after.seen_this_round, "state": dealt_after.state} if dealt_after else {}
    )
    return {
        "profile": profile,
        "photo": selectors.next_photo(profile, version, **known),
        "queue_size": selectors.queue_size(version),
        "last_swipe": last_swipe,
        "model": version,
        "notice": notice,
        "error": error,
        "revealed": revealed,
    }


def _card_response(request, profile, notice="", revealed="", **known):
    """htmx gets the card fragment; a plain form POST gets redirected back to the page (PRG)."""
    if request.htmx:
        context = _card_context(profile, notice=notice, revealed=revealed, **known)
        return render_htmx(request, CARD_PAGE, context, partial_template=CARD_PARTIAL)
    if revealed:
        messages.info(request, f"That was {revealed}.")
    if notice:
        messages.info(request, notice)
    return vary_on_htmx(redirect("swipes:home"))


def _card_refused(request, profile, error: str, status: int, **known):
    """A request that changed nothing: the current card with the reason on it, as a 4xx that htmx swaps
    into the deck (a browser without JavaScript gets the whole page)."""
    context = _card_context(profile, error=error, **known)
    response = render_htmx(request, CARD_PAGE, context, partial_template=CARD_PARTIAL, status=status)
    return retarget_to(response, "#deck") if request.htmx else response


def retried_if_the_connection_dies(view):
    """Run the view once more after a database error of the operational kind: its connection died under
    it (a failover, a restart, an administrator ending connections), or a deadlock or lock wait gave up.
    Only for views that name what they change (a swipe its photo and round, an undo its swipe), so the
    second run either does it or finds it done and says so. (After a connection died inside a transaction,
    Django has already opened a new one; closing it again costs one reconnect.)"""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block:
                raise  # inside a caller's transaction, which is the caller's to retry
            connection.close()
            return view(request, *args, **kwargs)

    return wrapped


@require_GET
@with_visitor_cookie
def home(request):
    # The cookie goes out with the first card, so the visitor's first swipes (two tabs, a double click)
    # all carry the same token and share one profile; no row is written until then.
    ensure_visitor_token(request)
    return render(request, CARD_PAGE, _card_context(_reading(request)))


@require_POST
@with_visitor_cookie
@retried_if_the_connection_dies
def swipe(request):
    form = SwipeForm(request.POST)
    if not form.is_valid():
        return _card_refused(request, _reading(request), form.first_error(), status=400)
    version = active_version()
    data = form.cleaned_data
    profile = _writing(request)
    try:
        outcome = services.record_swipe(
            profile,
            data["photo"],
            data["liked"],
            version,
            shown_round=data["round"],
            shown_after=data["after"],
        )
    except services.PhotoUnavailable:
        return _card_refused(request, profile, PHOTO_GONE, status=404, version=version)
    if outcome.conflict == services.OTHER_ANSWER:
        error = OTHER_ANSWER.format(earlier=_word(outcome.swipe.liked), now=_word(data["liked"]))
        return _card_refused(request, outcome.profile, error, status=409, version=version)
    if outcome.conflict == services.OLD_ROUND:
        return _card_refused(request, outcome.profile, OLD_ROUND, status=409, version=version)
    if outcome.counted:
        notice, last = (OVERTAKEN if outcome.overtaken else ""), outcome.swipe.pk
    else:
        notice, last = ALREADY_RATED, None
    # The city comes with the swipe's own queue check (no extra query); the profile says whether to tell.
    revealed = outcome.city_name if outcome.counted and outcome.profile.reveal_city else ""
    return _card_response(
        request,
        outcome.profile,
        notice=notice,
        revealed=revealed,
        version=outcome.version or version,
        last_swipe=last,
        dealt_after=outcome if outcome.counted else None,
    )


@require_POST
@retried_if_the_connection_dies
def undo(request):
    profile = _reading(request)
    form = UndoForm(request.POST)
    if not form.is_valid():
        return _card_refused(request, profile, form.first_error(), status=400)
    outcome = services.undo_swipe(profile, form.cleaned_data["swipe"])
    if outcome.status == services.NOT_LAST:
        return _card_refused(request, outcome.profile, UNDO_NOT_LAST, status=409)
    return _card_response(request, outcome.profile, notice=UNDO_NOTICES[outcome.status])


@require_POST
@with_visitor_cookie
def reshuffle(request):
    profile = services.reshuffle(_writing(request))
    return _card_response(request, profile, notice="Reshuffled: a new round over every photo.")


@require_http_methods(["GET", "POST"])
def reset(request):
    """Reset asks first. With JavaScript the form's confirm dialog adds `confirmed` (static/js/confirm.js);
    without it, a GET or an unconfirmed POST gets the "Are you sure?" page, whose form says yes."""
    if request.method == "GET" or request.POST.get("confirmed") != "yes":
        return render(request, "swipes/reset_confirm.html")
    profile = _reading(request)
    if profile.pk is not None:
        services.reset_profile(profile)
    messages.success(request, "Your taste profile was reset. Start swiping again!")
    return redirect("swipes:home")


def _welcome(request, token, user, greeting: str = "") -> None:
    """Merge what the visitor swiped into the account, and say what was kept."""
    outcome = profiles.attach_visitor_to_user(token, user)
    said = " ".join(part for part in (greeting, outcome.message() if outcome else "") if part)
    if said:
        messages.success(request, said)


class VibesLoginView(LoginView):
    """Logging in keeps what the visitor swiped anonymously: its profile merges into the account's, the
    newest answer of each photo winning, and the message says what was kept."""

    def form_valid(self, form):
        token = visitor_token(self.request)
        response = super().form_valid(form)
        _welcome(self.request, token, form.get_user())
        forget_visitor(response)
        return response


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("swipes:home")
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token = visitor_token(request)
        user = form.save()
        # Two authentication backends (axes first, which holds no accounts): name the one that does.
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        _welcome(request, token, user, greeting=f"Welcome, {user.username}!")
        response = redirect("swipes:home")
        forget_visitor(response)
        return response
    return render(request, "registration/signup.html", {"form": form})
