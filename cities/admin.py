from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from jobs.services import start_job

from .ingest.forms import PhotoUploadForm, ScrapeForm
from .ingest.upload import import_uploads
from .models import City, Photo
from .services import delete_or_retire_photos, photos_with_history, set_photo_status


def _n_cities(n: int) -> str:
    return f"{n} city" if n == 1 else f"{n} cities"


def _n_photos(n: int) -> str:
    return f"{n} photo" if n == 1 else f"{n} photos"


RETIRED_LOG = "Retired (hidden) instead of deleted: it has swipes."


def retire_message(deleted: int, retired: int) -> str:
    """What an admin's delete did, in words: photos with swipes are retired, never deleted."""
    parts = []
    if retired:
        have, them = ("has", "it was") if retired == 1 else ("have", "they were")
        parts.append(f"{_n_photos(retired)} {have} swipes, so {them} retired (hidden) instead of deleted")
    if deleted or not retired:
        parts.append(f"{_n_photos(deleted)} deleted")
    return "; ".join(parts) + "."


@admin.register(City)
class CityAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "slug", "photo_count", "active"]
    list_filter = ["active", "country"]
    search_fields = ["name", "slug", "country"]
    prepopulated_fields = {"slug": ["name"]}
    actions = ["scrape_photos"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_photos=Count("photos"))

    @admin.display(ordering="n_photos", description="photos")
    def photo_count(self, obj):
        return obj.n_photos

    def has_scrape_permission(self, request):
        return request.user.has_perm("cities.scrape_photos")  # Photo.Meta.permissions

    @admin.action(description="Scrape photos…", permissions=["scrape"])
    def scrape_photos(self, request, queryset):
        """First a small form (provider, photos per city, queries); on submit, a Job and its page."""
        cities = list(queryset.order_by("name"))
        form = ScrapeForm(
            request.POST if "apply" in request.POST else None, city_slugs=[c.slug for c in cities]
        )
        if form.is_valid():
            job = start_job("scrape", user=request.user, params=form.scrape_request.as_params())
            self.message_user(request, f"Scrape job #{job.pk} started for {_n_cities(len(cities))}.")
            return redirect("admin:jobs_job_change", job.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Scrape photos for {_n_cities(len(cities))}",
            "form": form,
            "cities": cities,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/cities/city/scrape.html", context)


class QualityBandFilter(admin.SimpleListFilter):
    """Quality bands around the swipe queue's threshold (VIBES_MIN_PHOTO_QUALITY)."""

    title = "quality"
    parameter_name = "quality_band"

    def lookups(self, request, model_admin):
        threshold = settings.VIBES_MIN_PHOTO_QUALITY
        return [
            ("below", f"below the queue's threshold ({threshold:g})"),
            ("low", "0 – 0.25"),
            ("mid", "0.25 – 0.5"),
            ("good", "0.5 – 0.75"),
            ("top", "0.75 – 1"),
            ("none", "not assessed"),
        ]

    def queryset(self, request, queryset):
        bands = {"low": (0.0, 0.25), "mid": (0.25, 0.5), "good": (0.5, 0.75), "top": (0.75, 1.01)}
        value = self.value()
        if value == "below":
            return queryset.filter(quality__lt=settings.VIBES_MIN_PHOTO_QUALITY)
        if value == "none":
            return queryset.filter(quality__isnull=True)
        if value in bands:
            low, high = bands[value]
            return queryset.filter(quality__gte=low, quality__lt=high)
        return queryset


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = [
        "thumb",
        "city",
        "status",
        "quality_shown",
        "suspect_shown",
        "tags",
        "source",
        "credit",
        "created_at",
    ]
    # Only the cities that have photos (the catalogue lists 266).
    list_filter = [
        "status",
        "suspect",
        QualityBandFilter,
        "source",
        "licence",
        ("city", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["city__name", "author", "source_url", "sha256"]
    list_select_related = ["city"]
    readonly_fields = [
        "preview",
        "credit",
        "sha256",
        "perceptual_hash",
        "width",
        "height",
        "queue_key",
        "quality_detail",
        "junk_shown",
        "city_fit_shown",
        "suspect_detail",
        "tags",
        "status_decided_at",
        "created_at",
    ]
    # Set by the quality assessment, shown read-only in words above (quality_detail, ..., tags).
    exclude = ["quality", "junk", "city_fit", "suspect", "scene_tags"]
    actions = ["hide_photos", "show_photos", "delete_selected"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # Django 6's default, now
    change_list_template = "admin/cities/photo/change_list.html"

    @admin.display(description="photo")
    def thumb(self, obj):
        image = obj.thumbnail or obj.image
        return format_html('<img src="{}" class="photo-thumb" alt="">', image.url) if image else "—"

    @admin.display(description="quality", ordering="quality")
    def quality_shown(self, obj):
        if obj.quality is None:
            return "—"
        if obj.quality < settings.VIBES_MIN_PHOTO_QUALITY:
            return format_html(
                '{} <small title="Below the swipe queue\'s threshold ({}): not shown to swipers">'
                "· skipped</small>",
                f"{obj.quality:.2f}",
                f"{settings.VIBES_MIN_PHOTO_QUALITY:g}",
            )
        return f"{obj.quality:.2f}"

    @admin.display(description="quality")
    def quality_detail(self, obj):
        """The score and what it means for the swipe queue (the list column's words, spelled out)."""
        if obj.quality is None:
            return "Not assessed yet (assessed after each training); the swipe queue shows it meanwhile."
        threshold = settings.VIBES_MIN_PHOTO_QUALITY
        verdict = (
            f"below the swipe queue's threshold ({threshold:g}): swipers do not see it"
            if obj.quality < threshold
            else f"at or above the swipe queue's threshold ({threshold:g})"
        )
        return f"{obj.quality:.2f}, {verdict}. 0 to 1, higher is better."

    @admin.display(description="junk")
    def junk_shown(self, obj):
        return "—" if obj.junk is None else f"{obj.junk:.2f} (how likely it is not a photo of a place)"

    @admin.display(description="city fit")
    def city_fit_shown(self, obj):
        return "—" if obj.city_fit is None else f"{obj.city_fit:.2f} (how well it fits its city)"

    @admin.display(description="suspect", ordering="suspect")
    def suspect_shown(self, obj):
        # Django's boolean icons would show a red cross for every photo that is fine.
        return "⚠ suspect" if obj.suspect else ""

    @admin.display(description="suspect")
    def suspect_detail(self, obj):
        if obj.suspect:
            return "Yes: probably junk or filed under the wrong city; left out of training."
        return "No"

    @admin.display(description="scene")
    def tags(self, obj):
        return ", ".join(obj.scene_tags or []) or "—"

    @admin.display(description="credit")
    def credit(self, obj):
        """Author and licence, linked to the source page and the licence text when they are known."""
        author = obj.author or "—"
        licence = (
            format_html(
                '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>', obj.licence_url, obj.licence
            )
            if obj.licence_url and obj.licence
            else obj.licence or "no licence recorded"
        )
        if obj.source_url:
            author = format_html(
                '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>', obj.source_url, author
            )
        return format_html("{} · {}", author, licence)

    @admin.display(description="preview")
    def preview(self, obj):
        return format_html('<img src="{}" class="photo-preview" alt="">', obj.image.url) if obj.image else "—"

    @admin.action(description="Hide from the swipe queue", permissions=["change"])
    def hide_photos(self, request, queryset):
        count = set_photo_status(queryset.values_list("pk", flat=True), Photo.Status.HIDDEN)
        self.message_user(request, f"{count} photos hidden.")

    @admin.action(description="Show in the swipe queue", permissions=["change"])
    def show_photos(self, request, queryset):
        count = set_photo_status(queryset.values_list("pk", flat=True), Photo.Status.ACTIVE)
        self.message_user(request, f"{count} photos shown.")

    # --- delete: photos with swipes are retired instead (the swipe log never loses a row) ---------------

    def get_deleted_objects(self, objs, request):
        """The swipes that protect a photo do not block its delete: such a photo is retired (hidden)
        instead, and the confirmation page says so (templates/admin/cities/photo/delete_*.html)."""
        deleted, model_count, perms_needed, _protected = super().get_deleted_objects(objs, request)
        # Django asks for the right to delete the protecting rows too, which are never deleted here.
        protecting = {
            str(relation.related_model._meta.verbose_name)
            for relation in Photo._meta.related_objects
            if relation.on_delete is models.PROTECT
        }
        return deleted, model_count, {name for name in perms_needed if name not in protecting}, []

    def render_delete_form(self, request, context):
        context["retire_count"] = len(photos_with_history([context["object"].pk]))
        return super().render_delete_form(request, context)

    def log_deletions(self, request, queryset):
        """The history says "deleted" only of photos that are; a retired one gets a change entry."""
        photos = list(queryset)
        retiring = photos_with_history(p.pk for p in photos)
        for photo in photos:
            if photo.pk in retiring:
                self.log_change(request, photo, RETIRED_LOG)
        return super().log_deletions(request, [p for p in photos if p.pk not in retiring])

    def delete_model(self, request, obj):
        request.photo_delete = delete_or_retire_photos([obj.pk])

    def delete_queryset(self, request, queryset):
        request.photo_delete = delete_or_retire_photos(queryset.values_list("pk", flat=True))

    def response_delete(self, request, obj_display, obj_id):
        deleted, retired = getattr(request, "photo_delete", (1, 0))
        if not retired:
            return super().response_delete(request, obj_display, obj_id)
        self.message_user(request, retire_message(deleted, retired), messages.WARNING)
        return redirect("admin:cities_photo_changelist")

    @admin.action(
        description="Delete selected photos (those with swipes are retired)", permissions=["delete"]
    )
    def delete_selected(self, request, queryset):
        """Django's delete_selected, except that the photos with swipes are retired and the message says
        so (Django's would be refused by the protected swipes, or report every photo deleted)."""
        if request.POST.get("post"):  # confirmed: as Django's does it, with the true message
            if self.get_deleted_objects(queryset, request)[2]:
                raise PermissionDenied
            self.log_deletions(request, queryset)
            self.delete_queryset(request, queryset)
            deleted, retired = request.photo_delete
            level = messages.WARNING if retired else messages.SUCCESS
            self.message_user(request, retire_message(deleted, retired), level)
            return None
        response = django_delete_selected(self, request, queryset)
        response.context_data["retire_count"] = len(
            photos_with_history(queryset.values_list("pk", flat=True))
        )
        return response

    def get_urls(self):
        upload = path("upload/", self.admin_site.admin_view(self.upload_view), name="cities_photo_upload")
        return [upload, *super().get_urls()]

    def has_upload_permission(self, request):
        return request.user.has_perm("cities.upload_photos")  # Photo.Meta.permissions

    def upload_view(self, request):
        if not self.has_upload_permission(request):
            raise PermissionDenied("Uploading photos needs the permission to upload.")
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
