from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.static import serve

from swipes.views import VibesLoginView, signup

from .views import healthz, livez


def serve_media(request, path):
    """Serve an uploaded file from MEDIA_ROOT as it is at request time, not as it was at import time.

    (Binding document_root when this module is imported froze the first value: a test that moved
    MEDIA_ROOT to a fresh folder was served files from an earlier test's folder, or got 404s.)
    """
    return serve(request, path, document_root=settings.MEDIA_ROOT)


handler404 = "vibes_site.views.page_not_found"
handler500 = "vibes_site.views.server_error"

urlpatterns = [
    path("livez/", livez, name="livez"),
    path("healthz/", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/login/", VibesLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", signup, name="signup"),
    path("jobs/", include("jobs.urls")),
    path("", include("mlworker.urls")),  # /classify/, /cities/similarity/, /cities/<slug>/look-alikes/
    path("cities/", include("cities.urls")),
    path("", include("swipes.urls")),
]

if settings.SERVE_MEDIA:
    prefix = settings.MEDIA_URL.lstrip("/")
    urlpatterns.append(re_path(rf"^{prefix}(?P<path>.*)$", serve_media))
