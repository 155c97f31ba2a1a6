"""Site-wide middleware that is not an app's."""

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.utils.cache import patch_vary_headers


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's, except that an answer never deletes a session cookie only because the session it names
    has gone.

    Django deletes the cookie of a request whose session no longer exists. With server-side sessions that
    is any request in flight while a login in another request replaced the session (login() cycles the
    key): its answer arrives after the login's and would delete the browser's new cookie, logging the
    person out again (issue 10, finding 10). An answer to a request that did not change its session now
    leaves the cookie alone; a logout (a flush changes the session) still deletes it.
    """

    def process_response(self, request, response):
        session = getattr(request, "session", None)
        stale = (
            session is not None
            and settings.SESSION_COOKIE_NAME in request.COOKIES
            and session.accessed
            and not session.modified
            and session.is_empty()
        )
        if stale:
            patch_vary_headers(response, ("Cookie",))
            return response
        return super().process_response(request, response)
