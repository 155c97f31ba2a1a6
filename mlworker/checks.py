"""Start-up checks (manage.py check, and every command that runs checks): trained models stay private."""

from pathlib import Path

from django.conf import settings
from django.core import checks
from django.core.files.storage import InvalidStorageError, storages


@checks.register(checks.Tags.security)
def model_files_are_not_in_media(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Anything under MEDIA_ROOT is served to anyone; trained artifacts and their local copies must not be."""
    try:
        storage = storages["models"]
    except InvalidStorageError:
        return [
            checks.Error('STORAGES has no "models" storage for trained model artifacts', id="mlworker.E001")
        ]
    media = Path(settings.MEDIA_ROOT).resolve()
    places = {
        'STORAGES["models"] (MODELS_ROOT)': getattr(storage, "location", None),
        "MODEL_CACHE_DIR (VIBES_MODEL_CACHE)": settings.MODEL_CACHE_DIR,
    }
    return [
        checks.Error(
            f"{label} is {location}, inside MEDIA_ROOT ({media}), which is served publicly",
            hint="Point it at a folder outside MEDIA_ROOT (see README, Configuration).",
            id="mlworker.E002",
        )
        for label, location in places.items()
        if location and Path(location).resolve().is_relative_to(media)
    ]
