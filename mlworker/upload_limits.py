"""Bounds on the public photo upload, /classify/: a body declared too large is refused before a byte of it is
read, files are capped while they stream in, and POSTs are rate-limited per IP and per session.

Django's DATA_UPLOAD_MAX_MEMORY_SIZE and FILE_UPLOAD_MAX_MEMORY_SIZE do not cap file uploads (a big file is
spooled to a temporary file, whole), hence the upload handler below.
"""

import logging

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django_ratelimit.core import is_ratelimited

log = logging.getLogger(__name__)

# Room for the form's other fields and the multipart framing around the photo.
MULTIPART_ALLOWANCE = 64 * 1024


def max_request_bytes() -> int:
    return settings.MAX_IMAGE_BYTES + MULTIPART_ALLOWANCE


def declared_too_large(request) -> bool:
    """Whether the request's Content-Length alone rules it out; reads nothing. (A missing or invalid
    Content-Length is no reason: Django then reads the body as empty.)"""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > max_request_bytes()
    except ValueError:
        return False


class CappedUploadHandler(FileUploadHandler):
    """Counts uploaded files' bytes as they stream in, ahead of the handlers that keep them (memory or a
    temporary file), and stops the upload once they pass `max_bytes`: no file is kept, nothing past the cap
    is handed on. The rest of the body, bounded by the Content-Length check, is read and dropped, so the
    browser gets our answer rather than a reset connection."""

    def __init__(self, request=None, max_bytes: int = 0):
        super().__init__(request)
        self.max_bytes = max_bytes
        self.received = 0
        self.stopped = False

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self.stopped = True
            log.warning("upload stopped at %d bytes, past the cap of %d", self.received, self.max_bytes)
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler makes the file


def capped_upload(request, max_bytes: int) -> CappedUploadHandler:
    """Put a CappedUploadHandler first; only possible before anything read request.POST or FILES (hence
    the view's csrf_exempt + csrf_protect: the CSRF check reads POST)."""
    handler = CappedUploadHandler(request, max_bytes)
    request.upload_handlers = [handler, *request.upload_handlers]
    return handler


def over_rate_limit(request, session_key: str) -> bool:
    """Count this request against the per-IP and the per-session limits (both, always); True if it is over
    either. The counters live in the cache (CACHES["default"]), so every web process shares them."""
    per_ip = is_ratelimited(
        request,
        group="classify-ip",
        key="ip",
        rate=settings.CLASSIFY_RATE_PER_IP,
        method="POST",
        increment=True,
    )
    per_session = is_ratelimited(
        request,
        group="classify-session",
        key=lambda group, request: session_key,
        rate=settings.CLASSIFY_RATE_PER_SESSION,
        method="POST",
        increment=True,
    )
    return per_ip or per_session
