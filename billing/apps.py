"""App config for usage, spend and analytics."""

from __future__ import annotations

from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Usage ledger, spend and analytics."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "billing"
