"""Storage backends of our own (STORAGES in settings names them)."""

from django.core.files.storage import FileSystemStorage


class PrivateFileSystemStorage(FileSystemStorage):
    """Files that are never served: no URL, whatever MEDIA_URL says (FileSystemStorage falls back to it).

    STORAGES["models"] (trained model artifacts) uses it; its location must lie outside MEDIA_ROOT, which
    `mlworker` checks at start (manage.py check).
    """

    def url(self, name):
        raise ValueError(f"{name!r} is in private storage: it has no URL and is never served")
