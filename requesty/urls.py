"""Top-level URLs: console, accounts, management API, schema and the /v1 gateway."""

from __future__ import annotations

from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views import defaults
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from orgs.api import api_urlpatterns


def healthz(request):
    """Liveness probe for the load balancer."""
    return JsonResponse({"status": "ok"})


def _wants_json(request) -> bool:
    return request.path.startswith(("/api/", "/v1/"))


def not_found(request, exception=None):
    """404: JSON on the APIs, the console's page elsewhere."""
    if _wants_json(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """500: JSON on the APIs, a static page elsewhere; never a traceback."""
    if _wants_json(request):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return defaults.server_error(request)


handler404 = not_found
handler500 = server_error

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
