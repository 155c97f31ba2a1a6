"""Who an anonymous swiper is: a random token in a cookie of its own, never in the session.

- Looking at a card sets the cookie (when it is missing) and writes nothing to the database: the profile is
  created by the first swipe, get-or-created by this token, so one visitor's parallel first requests (two
  tabs, a double click) share one profile.
- No swipe request ever writes the session. A session write (or, with server-side sessions, the deletion
  of a session cookie that names a replaced session) in the answer to a swipe that raced a login would
  replace the browser's fresh login cookie and log the person out again.
- The token is 256 random bits: unlike a profile id, it cannot be guessed or enumerated.
"""

import re
import secrets
from functools import wraps

from django.conf import settings

VISITOR_COOKIE = "vibes_visitor_token"
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)


def new_visitor_token() -> str:
    return secrets.token_urlsafe(32)


def visitor_token(request) -> str | None:
    """The visitor's token from its cookie, or the one this request issued; None for a signed-in user or
    a visitor without a (well-formed) cookie."""
    if request.user.is_authenticated:
        return None
    issued = getattr(request, "_issued_visitor_token", None)
    if issued:
        return issued
    token = request.COOKIES.get(VISITOR_COOKIE, "")
    return token if _TOKEN_RE.match(token) else None


def ensure_visitor_token(request) -> str | None:
    """The visitor's token, issuing one (sent with the answer by @with_visitor_cookie) if it has none."""
    if request.user.is_authenticated:
        return None
    token = visitor_token(request)
    if token is None:
        token = request._issued_visitor_token = new_visitor_token()
    return token


def forget_visitor(response) -> None:
    """After a login: the anonymous profile now belongs to the account, so the browser drops its token (a
    later logout starts a fresh anonymous visitor)."""
    response.delete_cookie(VISITOR_COOKIE, samesite="Lax")


def with_visitor_cookie(view):
    """Send the visitor cookie with the answer when this request issued a token."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        token = getattr(request, "_issued_visitor_token", None)
        if token:
            response.set_cookie(
                VISITOR_COOKIE,
                token,
                max_age=settings.SESSION_COOKIE_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    return wrapped
