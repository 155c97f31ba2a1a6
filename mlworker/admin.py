"""Admin for model versions: train (a job on the ml worker), activate, run inference, read the metrics."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path

from cities.models import City
from jobs.services import start_job

from .charts import confusion_chart, training_curves
from .forms import TrainModelForm
from .models import ModelVersion, PhotoPrediction
from .services import fail_abandoned_trainings


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["label", "backbone", "status", "is_active", "cities", "top1", "macro_f1", "created_at"]
    list_filter = ["status", "backbone", "is_active"]
    readonly_fields = [
        "name", "backbone", "status", "is_active", "metrics_summary", "curves", "confusion", "params",
        "artifact_path", "created_at", "activated_at",
    ]  # fmt: skip
    fields = readonly_fields
    actions = ["activate", "run_inference"]
    change_list_template = "admin/mlworker/modelversion/change_list.html"

    def changelist_view(self, request, extra_context=None):
        # Where no beat runs, reading the list is enough to end versions whose training job died.
        fail_abandoned_trainings()
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        return False  # versions come from training (or the label-only baseline), never typed in

    # The custom permissions (ModelVersion.Meta.permissions); the admin offers each action only to those
    # who hold its permission, and the train view answers 403 to the others.
    def has_train_permission(self, request):
        return request.user.has_perm("mlworker.train_model")

    def has_activate_permission(self, request):
        return request.user.has_perm("mlworker.activate_model")

    def has_run_inference_permission(self, request):
        return request.user.has_perm("mlworker.run_inference")

    @admin.display(description="cities")
    def cities(self, obj):
        return obj.n_cities

    @admin.display(description="top-1")
    def top1(self, obj):
        return _percent(obj.metrics.get("top1"))

    @admin.display(description="macro-F1")
    def macro_f1(self, obj):
        value = obj.metrics.get("macro_f1")
        return f"{value:.3f}" if isinstance(value, int | float) else "—"

    @admin.display(description="metrics")
    def metrics_summary(self, obj):
        m = obj.metrics or {}
        names = dict(City.objects.filter(pk__in=obj.city_ids).values_list("pk", "name"))
        per_city = sorted(
            (
                (names.get(int(k), k), v)
                for k, v in (m.get("per_class_accuracy") or {}).items()
                if v is not None
            ),
            key=lambda item: item[1],
        )
        return render_to_string(
            "admin/mlworker/modelversion/metrics.html",
            {"m": m, "per_city": per_city, "top1": _percent(m.get("top1")), "top5": _percent(m.get("top5"))},
        )

    @admin.display(description="training curves")
    def curves(self, obj):
        history = (obj.metrics or {}).get("history") or {}
        history = history.get("head", history)  # fine-tuned versions keep both phases
        return render_to_string(
            "admin/mlworker/modelversion/curves.html", {"curves": training_curves(history)}
        )

    @admin.display(description="confusion matrix")
    def confusion(self, obj):
        matrix = (obj.metrics or {}).get("confusion_matrix")
        if not matrix:
            return "—"
        names = City.objects.in_bulk(obj.city_ids)
        labels = [names[c].name if c in names else str(c) for c in obj.city_ids]
        return render_to_string(
            "admin/mlworker/modelversion/confusion.html", {"chart": confusion_chart(matrix, labels)}
        )

    @admin.action(description="Activate (the swipe loop switches to this model)", permissions=["activate"])
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one model version to activate.", messages.ERROR)
            return None
        version = queryset.get()
        if version.status != ModelVersion.Status.READY:
            self.message_user(request, f"{version} is {version.status}, not ready.", messages.ERROR)
            return None
        job = start_job("activate", user=request.user, params={"version": version.pk})
        return redirect("admin:jobs_job_change", job.pk)

    @admin.action(description="Run inference (write vectors for every photo)", permissions=["run_inference"])
    def run_inference(self, request, queryset):
        trained = queryset.trained().filter(status=ModelVersion.Status.READY)
        jobs = [start_job("predict", user=request.user, params={"version": v.pk}) for v in trained]
        if not jobs:
            self.message_user(request, "Choose trained, ready versions.", messages.ERROR)
            return None
        self.message_user(request, f"Started {len(jobs)} inference job(s).")
        return redirect("admin:jobs_job_changelist")

    def get_urls(self):
        train = path(
            "train/", self.admin_site.admin_view(self.train_view), name="mlworker_modelversion_train"
        )
        return [train, *super().get_urls()]

    def train_view(self, request):
        if not self.has_train_permission(request):
            raise PermissionDenied("Training a model needs the permission to train.")
        form = TrainModelForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            job = start_job("train", user=request.user, params=dict(form.cleaned_data))
            return redirect("admin:jobs_job_change", job.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "Train a new model",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/mlworker/modelversion/train.html", context)


def _percent(value):
    return f"{value:.1%}" if isinstance(value, int | float) else "—"


@admin.register(PhotoPrediction)
class PhotoPredictionAdmin(admin.ModelAdmin):
    list_display = ["photo", "model_version"]
    list_filter = ["model_version"]
    raw_id_fields = ["photo"]
    readonly_fields = ["photo", "model_version", "probabilities"]
