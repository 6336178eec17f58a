"""App config for providers, the model catalog and the /v1 gateway."""

from __future__ import annotations

from django.apps import AppConfig


class RoutingConfig(AppConfig):
    """Providers, catalog and the /v1 gateway."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "routing"
