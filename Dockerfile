# One image for the web app and both kinds of worker; docker-compose.yml picks the command.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=vibes_site.settings.production
WORKDIR /app

RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
# tensorflow-cpu has no aarch64 wheel, so the image installs the `tensorflow` package of the same version, which
# has wheels for x86_64 and aarch64 (Apple Silicon, Graviton) and runs on the CPU without CUDA. requirements.txt
# keeps tensorflow-cpu, the smaller wheel, for `make install`; the swap happens here only.
RUN sed -E 's/^tensorflow-cpu==/tensorflow==/' requirements.txt > /tmp/requirements-image.txt \
    && grep -q '^tensorflow==' /tmp/requirements-image.txt \
    && pip install -r /tmp/requirements-image.txt \
    && rm /tmp/requirements-image.txt

COPY . .
# Production settings require their secrets and services; collectstatic touches none of them.
RUN SECRET_KEY=build-only DATABASE_URL=sqlite://:memory: CELERY_BROKER_URL=memory:// \
    python manage.py collectstatic --noinput \
    && useradd --create-home --uid 1000 vibes \
    && mkdir -p /app/media /app/var/models /app/var/model-cache /app/var/keras \
    && chown -R vibes /app/media /app/var
# Keras keeps downloaded ImageNet weights here; compose mounts a volume so a new container does not fetch them
# again.
ENV KERAS_HOME=/app/var/keras
USER vibes

EXPOSE 8000
CMD ["gunicorn", "vibes_site.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
