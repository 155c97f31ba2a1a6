from django.contrib import admin

from .models import Swipe, UserProfile


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    list_display = ["__str__", "swipe_count", "round", "scores_model", "updated_at"]
    readonly_fields = ["scores", "scores_model", "queue_salt", "queue_position", "swipe_count", "round"]
    search_fields = ["user__username"]


@admin.register(Swipe)
class SwipeAdmin(admin.ModelAdmin):
    list_display = ["profile", "photo", "liked", "round", "created_at", "undone_at"]
    list_filter = ["liked", "round"]
    raw_id_fields = ["profile", "photo"]
