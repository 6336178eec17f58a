"""Top-level URLs: console, accounts, management API, schema and the /v1 gateway."""

from __future__ import annotations

from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from orgs.api import api_urlpatterns


def healthz(request):
    """Liveness probe for the load balancer."""
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="orgs:dashboard", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("console/", include("orgs.urls")),
    path("console/", include("billing.urls")),
    path("console/", include("routing.urls")),
    path("api/v1/", include(api_urlpatterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
    path("v1/", include("routing.v1_urls")),
    path("admin/", admin.site.urls),
]
