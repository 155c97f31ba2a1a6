from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.http import require_POST

from jobs.services import start_job

from .models import Swipe, UserProfile


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    list_display = ["__str__", "swipe_count", "round", "scores_model", "updated_at"]
    readonly_fields = ["scores", "scores_model", "queue_salt", "swipe_count", "round"]
    search_fields = ["user__username"]
    change_list_template = "admin/swipes/userprofile/change_list.html"

    def get_urls(self):
        rescore = path(
            "rescore/", self.admin_site.admin_view(self.start_rescore), name="swipes_userprofile_rescore"
        )
        return [rescore, *super().get_urls()]

    def has_rescore_permission(self, request):
        return request.user.has_perm("swipes.rescore_profiles")  # UserProfile.Meta.permissions

    def start_rescore(self, request):
        """Replay every profile's swipe log under the active model, as a job (its page shows the progress)."""
        return _start_rescore(request, self.has_rescore_permission(request))


@require_POST
def _start_rescore(request, allowed: bool):
    if not allowed:
        raise PermissionDenied("Recomputing scores needs the permission to recompute them.")
    job = start_job("rescore", user=request.user)
    return redirect("admin:jobs_job_change", job.pk)


@admin.register(Swipe)
class SwipeAdmin(admin.ModelAdmin):
    """The swipe log, to read: an edit would bypass the score rebuild and a delete would lose history (the
    log is the source of truth; undo and reset stamp rows, they never change or remove them)."""

    list_display = ["profile", "photo", "liked", "round", "created_at", "undone_at"]
    list_filter = ["liked", "round"]
    list_select_related = ["profile__user", "photo__city"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
