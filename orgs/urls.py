"""Console URLs for tenancy."""

from __future__ import annotations

app_name = "orgs"
urlpatterns: list = []
