"""Management REST API for tenancy."""

from __future__ import annotations

api_urlpatterns: list = []
