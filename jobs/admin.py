from django.contrib import admin
from django.template.loader import render_to_string

from . import registry
from .models import Job
from .selectors import job_summary
from .services import sweep_stale_jobs


class KindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(k.kind, k.label) for k in registry.all_kinds()]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    # Status, duration, bar and message are one block that htmx refreshes as a whole, so no column or
    # field can disagree with another.
    list_display = ["id", "kind_label", "status_block", "created_by", "created_at"]
    list_filter = [KindFilter, "status"]
    readonly_fields = [
        "kind_label",
        "status_block",
        "params",
        "result",
        "celery_task_id",
        "created_by",
        "created_at",
    ]
    fields = readonly_fields

    def changelist_view(self, request, extra_context=None):
        sweep_stale_jobs()
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        sweep_stale_jobs(job_id=int(object_id) if str(object_id).isdigit() else None)
        return super().change_view(request, object_id, form_url, extra_context)

    def has_add_permission(self, request):
        return False  # jobs are started by actions, never typed in

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        # Whoever started a job follows it on its page (the admin sends them there), even without the
        # right to read every job: the right to train, say, need not come with the job list.
        mine = obj is not None and obj.created_by_id is not None and obj.created_by_id == request.user.pk
        return mine or super().has_view_permission(request, obj)

    @admin.display(description="kind", ordering="kind")
    def kind_label(self, obj):
        return registry.label_of(obj.kind)

    @admin.display(description="status")
    def status_block(self, obj):
        return render_to_string("jobs/partials/job_status.html", job_summary(obj))
