"""Console URLs for usage and spend."""

from __future__ import annotations

from django.urls import path

from billing import views

app_name = "billing"
urlpatterns = [
    path("usage/", views.usage, name="usage"),
    path("usage/<str:request_id>/", views.usage_detail, name="usage-detail"),
]
