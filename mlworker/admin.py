from django.contrib import admin
from django.template.loader import render_to_string

from .models import Job
from .services import fail_stale_jobs


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "progress_bar", "duration_display", "created_by", "created_at"]
    list_filter = ["kind", "status"]
    readonly_fields = [
        "kind",
        "status",
        "progress_bar",
        "message",
        "params",
        "result",
        "celery_task_id",
        "created_by",
        "created_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
        "duration_display",
    ]
    fields = readonly_fields
    change_list_template = "admin/mlworker/job/change_list.html"

    def changelist_view(self, request, extra_context=None):
        fail_stale_jobs()  # a worker that died mid-job leaves its row "running"; show it as failed
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        return False  # jobs are started by actions, never typed in

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="progress")
    def progress_bar(self, obj):
        return render_to_string("mlworker/partials/job_progress.html", {"job": obj})

    @admin.display(description="duration")
    def duration_display(self, obj):
        duration = obj.duration
        return f"{duration.total_seconds():.1f} s" if duration is not None else "—"


from . import admin_models  # noqa: E402,F401  (registers ModelVersionAdmin)
