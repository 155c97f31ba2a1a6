import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vibes_site.settings.production")
# The scorers' small matrix products run inside requests: BLAS threads would only fight the web workers
# for the cores (measured: a 0.1 ms next-photo choice took 8 ms with two threads on a busy machine).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
application = get_wsgi_application()
