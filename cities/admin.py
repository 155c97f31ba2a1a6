from django.contrib import admin, messages
from django.db.models import Count
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from .forms import PhotoUploadForm
from .importing import import_uploads
from .models import City, Photo, PhotoPrediction
from .services import set_photo_status


@admin.register(City)
class CityAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "slug", "photo_count", "active"]
    list_filter = ["active", "country"]
    search_fields = ["name", "slug", "country"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_photos=Count("photos"))

    @admin.display(ordering="n_photos", description="photos")
    def photo_count(self, obj):
        return obj.n_photos


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ["thumb", "city", "status", "source", "author", "licence", "width", "height", "created_at"]
    list_filter = ["status", "source", "city"]
    search_fields = ["city__name", "author", "source_url", "sha256"]
    list_select_related = ["city"]
    readonly_fields = ["preview", "sha256", "perceptual_hash", "width", "height", "queue_key", "created_at"]
    actions = ["hide_photos", "show_photos"]
    change_list_template = "admin/cities/photo/change_list.html"

    @admin.display(description="photo")
    def thumb(self, obj):
        image = obj.thumbnail or obj.image
        return (
            format_html('<img src="{}" style="height:56px;border-radius:6px" alt="">', image.url)
            if image
            else "—"
        )

    @admin.display(description="preview")
    def preview(self, obj):
        return (
            format_html('<img src="{}" style="max-height:320px" alt="">', obj.image.url) if obj.image else "—"
        )

    @admin.action(description="Hide from the swipe queue")
    def hide_photos(self, request, queryset):
        count = set_photo_status(queryset.values_list("pk", flat=True), Photo.Status.HIDDEN)
        self.message_user(request, f"{count} photos hidden.")

    @admin.action(description="Show in the swipe queue")
    def show_photos(self, request, queryset):
        count = set_photo_status(queryset.values_list("pk", flat=True), Photo.Status.ACTIVE)
        self.message_user(request, f"{count} photos shown.")

    def get_urls(self):
        upload = path("upload/", self.admin_site.admin_view(self.upload_view), name="cities_photo_upload")
        return [upload, *super().get_urls()]

    def upload_view(self, request):
        if not self.has_add_permission(request):
            return redirect("admin:index")
        form = PhotoUploadForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            files = [(f.name, f.read()) for f in form.cleaned_data["files"]]
            metadata = {k: form.cleaned_data[k] for k in ("author", "licence", "source_url")}
            report = import_uploads(form.cleaned_data["city"], files, source="upload", **metadata)
            if not report.rejected:
                self.message_user(
                    request, f"{form.cleaned_data['city']}: {report.summary()}.", messages.SUCCESS
                )
                return redirect(reverse("admin:cities_photo_changelist"))
            self.message_user(request, "Nothing was stored: fix or remove the files below.", messages.ERROR)
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload photos",
            "form": form,
            "report": report,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/cities/photo/upload.html", context)


@admin.register(PhotoPrediction)
class PhotoPredictionAdmin(admin.ModelAdmin):
    list_display = ["photo", "model_version"]
    list_filter = ["model_version"]
    raw_id_fields = ["photo"]
    readonly_fields = ["photo", "model_version", "probabilities"]
