"""Console URLs for usage and spend."""

from __future__ import annotations

app_name = "billing"
urlpatterns: list = []
