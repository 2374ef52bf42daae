"""WSGI entry point of the standalone REST API (``gunicorn lc_runtime.wsgi``)."""
from __future__ import annotations

from django.core.wsgi import get_wsgi_application

from . import bootstrap

bootstrap.setup()
application = get_wsgi_application()
