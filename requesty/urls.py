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


def _api_error(request, status: int, message: str) -> JsonResponse | None:
    """The APIs' own error shapes: OpenAI's on /v1, DRF's on /api; None for console paths."""
    if request.path == "/v1" or request.path.startswith("/v1/"):
        code = "unknown_url" if status == 404 else "internal_error"
        kind = "invalid_request_error" if status == 404 else "api_error"
        return JsonResponse({"error": {"message": message, "type": kind, "param": None, "code": code}}, status=status)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return None


def not_found(request, exception=None):
    """404: JSON on the APIs, the console's page elsewhere."""
    return _api_error(request, 404, "Not found.") or defaults.page_not_found(request, exception)


def server_error(request):
    """500: JSON on the APIs, a static page elsewhere; never a traceback."""
    return _api_error(request, 500, "Internal server error.") or defaults.server_error(request)


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
