"""Settings modules: pick one with DJANGO_SETTINGS_MODULE.

- vibes_site.settings.local: development and `make demo` (manage.py and the Celery app default to it)
- vibes_site.settings.test: pytest (pyproject.toml)
- vibes_site.settings.production: docker-compose (wsgi/asgi default to it); requires SECRET_KEY
"""
