"""WSGI entry point (the console works under WSGI; /v1 wants ASGI)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "requesty.settings")
application = get_wsgi_application()
