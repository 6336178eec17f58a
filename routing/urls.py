"""Console URLs for providers and the model catalog."""

from __future__ import annotations

app_name = "routing"
urlpatterns: list = []
