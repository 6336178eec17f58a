"""App config for organizations, teams, members, keys and the audit log."""

from __future__ import annotations

from django.apps import AppConfig


class OrgsConfig(AppConfig):
    """Tenancy: organizations and everything scoped to them."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "orgs"
    verbose_name = "Organizations"
