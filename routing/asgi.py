"""A Django ASGI handler for /v1 with no middleware: the key is the only identity there."""

from __future__ import annotations

from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response


class GatewayASGIHandler(ASGIHandler):
    """Serves /v1 without session, CSRF, auth or message middleware, which cost thread hops."""

    def load_middleware(self, is_async: bool = False) -> None:
        """Build a middleware chain that is just the view call."""
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        get_response = self._get_response_async if is_async else self._get_response
        self._middleware_chain = convert_exception_to_response(get_response)
