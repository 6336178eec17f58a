"""The Celery application; tasks run eagerly when no broker is configured."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "requesty.settings")

app = Celery("requesty")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
