from django.apps import AppConfig


class SwipesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "swipes"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
