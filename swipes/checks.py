"""System checks: a misspelt VIBES_SCORER or VIBES_POLICY stops `manage.py check` (and runserver, migrate)
instead of failing on the first swipe."""

from django.conf import settings
from django.core.checks import Error, register

from .recommender.registry import POLICIES, SCORERS


@register()
def recommender_names(app_configs, **kwargs) -> list[Error]:
    errors = []
    for setting, registered, check_id in (
        ("VIBES_SCORER", SCORERS, "swipes.E001"),
        ("VIBES_POLICY", POLICIES, "swipes.E002"),
    ):
        value = getattr(settings, setting)
        if value not in registered:
            errors.append(Error(f"{setting}={value!r} is not one of {sorted(registered)}", id=check_id))
    return errors
