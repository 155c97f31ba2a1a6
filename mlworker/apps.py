from django.apps import AppConfig


class MlworkerConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "mlworker"
    verbose_name = "Photo models"

    def ready(self):
        from . import checks  # noqa: F401 (registers the checks)
