"""The /v1 gateway URLs."""

from __future__ import annotations

urlpatterns: list = []
